//! The W3C Bitstring Status List v1.0 for licence revocation.
//!
//! The issuer keeps one bit per issued credential (at least 131,072 bits, 16 KiB, so that a verifier fetching
//! the list learns nothing about which licence it checks). A set bit means the licence is no longer valid:
//! cancelled (注销), revoked (吊销) or superseded (see [`crate::LicenceStatus::sets_revocation_bit`]). Bit 0 is the
//! most significant bit of the first byte. The list travels as a signed `BitstringStatusListCredential` whose
//! `encodedList` is GZIP of the bits, base64url without padding, with the Multibase prefix `u`; each licence
//! credential points at its bit with a `BitstringStatusListEntry`.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::credential::{Credential, IssueError, VC_CONTEXT};
use crate::integrity;
use crate::keys::IssuerKeys;
use crate::multibase;

/// The smallest list the specification allows: 16 KiB of bits.
pub const MIN_BITS: usize = 131_072;
/// The largest decoded list accepted (a guard against a GZIP bomb): 16 MiB of bits.
const MAX_DECODED_BYTES: u64 = 16 * 1024 * 1024;
/// The status purpose of every list here.
pub const REVOCATION: &str = "revocation";

/// What went wrong with a status list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusListError {
    /// A list must have at least [`MIN_BITS`] bits.
    #[error("a status list must have at least {MIN_BITS} bits, not {0}")]
    TooShort(usize),
    /// The index is not inside the list.
    #[error("the status list index {index} is outside the list of {len} entries")]
    OutOfRange { index: usize, len: usize },
    /// `encodedList` is not GZIP in base64url with the `u` prefix.
    #[error("the encoded status list cannot be decoded: {0}")]
    Encoding(String),
    /// The status list credential is not laid out as the specification requires.
    #[error("the status list credential is malformed: {0}")]
    Malformed(String),
}

impl StatusListError {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            StatusListError::TooShort(_) => "status_list_too_short",
            StatusListError::OutOfRange { .. } => "status_list_index_out_of_range",
            StatusListError::Encoding(_) => "status_list_encoding",
            StatusListError::Malformed(_) => "status_list_malformed",
        }
    }
}

/// A bitstring of revocation flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    bytes: Vec<u8>,
}

impl StatusList {
    /// A list of `bits` clear entries (rounded up to whole bytes); at least [`MIN_BITS`].
    pub fn new(bits: usize) -> Result<StatusList, StatusListError> {
        if bits < MIN_BITS {
            return Err(StatusListError::TooShort(bits));
        }
        Ok(StatusList { bytes: vec![0; bits.div_ceil(8)] })
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.bytes.len() * 8
    }

    /// Whether the list has no entries (never, for a list built here).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn locate(&self, index: usize) -> Result<(usize, u8), StatusListError> {
        if index >= self.len() {
            return Err(StatusListError::OutOfRange { index, len: self.len() });
        }
        Ok((index / 8, 0x80 >> (index % 8)))
    }

    /// Whether the entry is set (revoked).
    pub fn get(&self, index: usize) -> Result<bool, StatusListError> {
        let (byte, mask) = self.locate(index)?;
        Ok(self.bytes.get(byte).is_some_and(|b| b & mask != 0))
    }

    /// Sets or clears the entry.
    pub fn set(&mut self, index: usize, revoked: bool) -> Result<(), StatusListError> {
        let (byte, mask) = self.locate(index)?;
        if let Some(b) = self.bytes.get_mut(byte) {
            if revoked {
                *b |= mask;
            } else {
                *b &= !mask;
            }
        }
        Ok(())
    }

    /// The `encodedList` value: `u` + base64url(GZIP(bits)).
    pub fn encode(&self) -> Result<String, StatusListError> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(&self.bytes).map_err(|e| StatusListError::Encoding(e.to_string()))?;
        let gz = encoder.finish().map_err(|e| StatusListError::Encoding(e.to_string()))?;
        Ok(multibase::encode_base64url(&gz))
    }

    /// Decodes an `encodedList` value.
    pub fn decode(encoded: &str) -> Result<StatusList, StatusListError> {
        let gz = multibase::decode_base64url(encoded)
            .ok_or_else(|| StatusListError::Encoding("it is not base64url with the multibase prefix u".into()))?;
        let mut bytes = Vec::new();
        GzDecoder::new(gz.as_slice())
            .take(MAX_DECODED_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| StatusListError::Encoding(format!("it is not GZIP: {e}")))?;
        if bytes.len() as u64 > MAX_DECODED_BYTES {
            return Err(StatusListError::Encoding("the decoded list is larger than 16 MiB".into()));
        }
        if bytes.len() * 8 < MIN_BITS {
            return Err(StatusListError::TooShort(bytes.len() * 8));
        }
        Ok(StatusList { bytes })
    }

    /// Issues the list as a signed `BitstringStatusListCredential` with the id `list_url`, signed with the
    /// issuer's current key at `created` (also its `validFrom`).
    pub fn to_credential(
        &self,
        keys: &IssuerKeys,
        list_url: &str,
        created: Timestamp,
    ) -> Result<Credential, IssueError> {
        let encoded = self.encode().map_err(IssueError::StatusList)?;
        let unsecured = json!({
            "@context": [VC_CONTEXT],
            "id": list_url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": keys.controller(),
            "validFrom": integrity::created_string(created),
            "credentialSubject": {
                "id": format!("{list_url}#list"),
                "type": "BitstringStatusList",
                "statusPurpose": REVOCATION,
                "encodedList": encoded,
            },
        });
        let key = keys.current().map_err(IssueError::Key)?;
        let secured = integrity::add_proof(&unsecured, key, &keys.verification_method(key), created)
            .map_err(IssueError::Proof)?;
        Ok(Credential::from_value(secured))
    }
}

/// Where a licence's revocation bit is: the list credential's URL and the index in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    /// The URL of the `BitstringStatusListCredential`.
    pub list_url: String,
    /// The index of the licence's bit.
    pub index: usize,
}

impl StatusEntry {
    /// The `credentialStatus` value of a licence credential.
    pub fn to_json(&self) -> Value {
        json!({
            "id": format!("{}#{}", self.list_url, self.index),
            "type": "BitstringStatusListEntry",
            "statusPurpose": REVOCATION,
            "statusListIndex": self.index.to_string(),
            "statusListCredential": self.list_url,
        })
    }

    /// Reads a `credentialStatus` value.
    pub fn from_json(value: &Value) -> Result<StatusEntry, StatusListError> {
        let text = |name: &str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| StatusListError::Malformed(format!("credentialStatus.{name} is missing")))
        };
        if text("type")? != "BitstringStatusListEntry" {
            return Err(StatusListError::Malformed("credentialStatus.type is not BitstringStatusListEntry".into()));
        }
        if text("statusPurpose")? != REVOCATION {
            return Err(StatusListError::Malformed(format!(
                "credentialStatus.statusPurpose is {:?}, only revocation is supported",
                text("statusPurpose")?
            )));
        }
        let index = text("statusListIndex")?
            .parse::<usize>()
            .map_err(|_| StatusListError::Malformed("credentialStatus.statusListIndex is not a number".into()))?;
        Ok(StatusEntry { list_url: text("statusListCredential")?.to_owned(), index })
    }
}
