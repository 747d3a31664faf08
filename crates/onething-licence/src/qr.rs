//! The compact signed payload printed as the licence's QR code, verifiable offline with the published keys.
//!
//! A full credential (about 3 KB) does not fit a QR code that a phone reads from paper, so the QR code carries the
//! facts a person checks against the printout, signed by the issuer's key:
//!
//! ```text
//! OTL1.<base64url(JCS(payload))>.<base64url(Ed25519 signature)>
//! ```
//!
//! - `OTL1` names the format and its version (onething licence, 1).
//! - The payload is a JSON object in JCS form (RFC 8785) with short member names:
//!   `id` the licence identifier (GB/T 36904, which also holds the issuer's credit code, the national type code,
//!   the number segment and the version), `k` the key id of the signing key, `t` the type name, `n` the licence
//!   number as printed, `h` the holder's name, `hk` the kind of the holder's code (`c` credit code, `p` resident
//!   ID number), `hc` the holder's code, `d` the date of issue, `f` the first and `u` the last day of validity
//!   (`u` absent for 长期), `s` the index of the licence's bit in the issuer's status list (absent without one).
//!   Dates are `YYYY-MM-DD`.
//! - The signature is Ed25519 over the ASCII bytes of `OTL1.<payload segment>` (as JWS signs its header and
//!   payload), made with the same key as the credential.
//! - base64url is without padding; the whole text is ASCII, so QR readers cannot mangle it.
//!
//! The issuer's name is not in the payload: the verifier takes it from the key document of the key `k`, whose
//! credit code must be the identifier's issuer segment. A typical payload is 490–560 characters (the fixture's
//! road transport certificate: 490), QR version 17–18 at error-correction level M; the PDF prints it 55 mm wide,
//! about 0.6 mm a module, which phones and `zbarimg` read from a 200 dpi scan.

use jiff::civil::Date;
use onething_core::codes::{CodeError, LicenceId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::credential::IssueError;
use crate::integrity;
use crate::keys::IssuerKeys;
use crate::multibase;
use crate::record::{HolderCode, Licence, LicenceStatus};
use crate::status::StatusEntry;

/// The format prefix of the QR text.
pub const QR_PREFIX: &str = "OTL1";

/// The facts of a licence in the QR payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrPayload {
    /// The licence identifier.
    pub id: LicenceId,
    /// The id of the key that signed.
    #[serde(rename = "k")]
    pub key_id: String,
    /// The licence type name.
    #[serde(rename = "t")]
    pub type_name: String,
    /// The licence number as printed.
    #[serde(rename = "n")]
    pub number: String,
    /// The holder's name.
    #[serde(rename = "h")]
    pub holder_name: String,
    /// `c` (credit code) or `p` (resident ID number).
    #[serde(rename = "hk")]
    pub holder_code_kind: String,
    /// The holder's code.
    #[serde(rename = "hc")]
    pub holder_code: String,
    /// The date of issue.
    #[serde(rename = "d")]
    pub issue_date: Date,
    /// The first day of validity.
    #[serde(rename = "f")]
    pub valid_from: Date,
    /// The last day of validity; absent for 长期.
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
    /// The index of the licence's bit in the issuer's status list.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub status_index: Option<usize>,
}

impl QrPayload {
    /// The holder's code, parsed with its kind.
    pub fn holder(&self) -> Option<HolderCode> {
        match self.holder_code_kind.as_str() {
            "c" => HolderCode::parse("credit_code", &self.holder_code),
            "p" => HolderCode::parse("id_number", &self.holder_code),
            _ => None,
        }
    }
}

/// The signed QR text of `licence`, signed with the current key of `keys`.
pub fn qr_payload(licence: &Licence, keys: &IssuerKeys, status: Option<&StatusEntry>) -> Result<String, IssueError> {
    if licence.status() != LicenceStatus::Valid {
        return Err(IssueError::NotValid(licence.status()));
    }
    if &licence.issuer().credit_code != keys.credit_code() {
        return Err(IssueError::IssuerMismatch {
            licence: licence.issuer().credit_code.to_string(),
            keys: keys.credit_code().to_string(),
        });
    }
    let key = keys.current().map_err(IssueError::Key)?;
    let holder = licence.holder();
    let payload = QrPayload {
        id: licence.id().clone(),
        key_id: key.id().to_owned(),
        type_name: licence.type_name().to_owned(),
        number: licence.number().to_owned(),
        holder_name: holder.name.clone(),
        holder_code_kind: match holder.code {
            HolderCode::CreditCode(_) => "c".into(),
            HolderCode::IdNumber(_) => "p".into(),
        },
        holder_code: holder.code.as_str().to_owned(),
        issue_date: licence.issue_date(),
        valid_from: licence.valid_from(),
        valid_until: licence.valid_until(),
        status_index: status.map(|s| s.index),
    };
    let value = serde_json::to_value(&payload)
        .map_err(|e| IssueError::Proof(integrity::ProofError::Canonicalisation(e.to_string())))?;
    let bytes = integrity::jcs(&value).map_err(IssueError::Proof)?;
    let signing_input = format!("{QR_PREFIX}.{}", multibase::b64url(&bytes));
    let signature = key.sign(signing_input.as_bytes());
    Ok(format!("{signing_input}.{}", multibase::b64url(&signature)))
}

/// The parts of a QR text: the payload, the signature and the signed bytes.
pub(crate) struct ParsedQr {
    pub(crate) payload: QrPayload,
    pub(crate) signature: [u8; 64],
    pub(crate) signing_input: String,
}

/// Why a QR text could not be read.
pub(crate) enum QrParseError {
    /// The text is not laid out as the format requires; the reason is for a person.
    Malformed(String),
    /// The identifier in it does not parse (its check character, most often).
    Identifier(CodeError),
}

/// Splits and decodes a QR text.
pub(crate) fn parse_qr(text: &str) -> Result<ParsedQr, QrParseError> {
    let malformed = |s: &str| QrParseError::Malformed(s.to_owned());
    let text = text.trim();
    let mut parts = text.split('.');
    let (Some(prefix), Some(segment), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("a QR payload has three parts OTL1.<payload>.<signature>"));
    };
    if prefix != QR_PREFIX {
        return Err(QrParseError::Malformed(format!("the QR payload format is {prefix:?}, not {QR_PREFIX}")));
    }
    let payload_bytes =
        multibase::unb64url(segment).ok_or_else(|| malformed("the QR payload segment is not base64url"))?;
    let json: Value = serde_json::from_slice(&payload_bytes)
        .map_err(|e| QrParseError::Malformed(format!("the QR payload is not JSON: {e}")))?;
    let id =
        json.get("id").and_then(Value::as_str).ok_or_else(|| malformed("the QR payload has no licence identifier"))?;
    LicenceId::parse(id).map_err(QrParseError::Identifier)?;
    let payload: QrPayload = serde_json::from_value(json)
        .map_err(|e| QrParseError::Malformed(format!("the QR payload's fields are not valid: {e}")))?;
    let signature = multibase::unb64url(signature)
        .and_then(|s| <[u8; 64]>::try_from(s).ok())
        .ok_or_else(|| malformed("the QR signature is not a base64url 64-byte Ed25519 signature"))?;
    Ok(ParsedQr { payload, signature, signing_input: format!("{QR_PREFIX}.{segment}") })
}
