//! The licence as a W3C Verifiable Credential 2.0, secured with an `eddsa-jcs-2022` Data Integrity proof.
//!
//! ```json
//! { "@context": ["https://www.w3.org/ns/credentials/v2"],
//!   "id": "{issuer url}/licences/{identifier}",
//!   "type": ["VerifiableCredential", "ElectronicLicenceCredential"],
//!   "name": "道路运输证",
//!   "issuer": { "id": "{issuer url}", "name": "…交通运输局", "creditCode": "11370800MB28559184" },
//!   "validFrom": "2026-12-01T00:00:00+08:00", "validUntil": "2030-11-30T23:59:59+08:00",
//!   "credentialSubject": { "type": "LicenceHolder", "name": "…", "holderCodeType": "credit_code",
//!     "holderCode": "…", "licence": { "type": "ElectronicLicence", "identifier": "1.2.156.3005.2.…",
//!     "typeCode": "…", "kind": "road-transport-certificate", "typeName": "道路运输证", "number": "…",
//!     "issueDate": "2026-12-01", "validFrom": "2026-12-01", "validUntil": "2030-11-30", "version": 1,
//!     "caseId": "…", "taskId": "…", "surface": { "plate_number": "鲁H12345" } } },
//!   "credentialStatus": { "type": "BitstringStatusListEntry", "statusPurpose": "revocation", … },
//!   "sectionDigests": { "credentialSubject": "u…", "issuer": "u…", "validity": "u…", … },
//!   "proof": { "type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", … } }
//! ```
//!
//! The validity dates are China dates: `validFrom` is the first day at 00:00 and `validUntil` the last day at
//! 23:59:59, both at +08:00; a licence valid indefinitely (长期) has no `validUntil`. Only the JSON-LD context of
//! VC 2.0 is used (its `@vocab` covers the licence terms), so a verifier needs no other context document.
//!
//! `sectionDigests` holds the SHA-256 (multibase base64url) of the JCS form of each part of the credential. The
//! proof covers it like every other property; it exists so that a verifier whose signature check failed can say
//! *which* part was changed ([`crate::verify::TamperedPart`]). It adds no trust of its own.

use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::integrity::{self, ProofError};
use crate::keys::{IssuerKeys, KeyError};
use crate::multibase;
use crate::record::{Licence, LicenceStatus};
use crate::status::{StatusEntry, StatusListError};

/// The JSON-LD context of Verifiable Credentials 2.0.
pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// The credential type of a licence.
pub const LICENCE_CREDENTIAL_TYPE: &str = "ElectronicLicenceCredential";
/// The name of the diagnostic digests property.
pub(crate) const SECTION_DIGESTS: &str = "sectionDigests";
/// The name of the optional SM2 signature property.
pub(crate) const SM2_SIGNATURE: &str = "sm2Signature";
/// China time, as the validity dates are meant.
const CHINA_OFFSET: &str = "+08:00";

/// Why a credential could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// Only a licence in force is issued as a credential.
    #[error("the licence is {0}; only a valid licence can be issued as a credential")]
    NotValid(LicenceStatus),
    /// The licence's issuer is not the department whose keys sign.
    #[error("the licence is issued by {licence}, but the keys belong to {keys}")]
    IssuerMismatch { licence: String, keys: String },
    /// A key problem (no current key, …).
    #[error(transparent)]
    Key(KeyError),
    /// The proof could not be made.
    #[error(transparent)]
    Proof(ProofError),
    /// The status list could not be encoded.
    #[error(transparent)]
    StatusList(StatusListError),
    /// The SM2 signature could not be made.
    #[error("the SM2 signature could not be made: {0}")]
    Sm2(String),
}

impl IssueError {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            IssueError::NotValid(_) => "licence_not_valid",
            IssueError::IssuerMismatch { .. } => "licence_issuer_mismatch",
            IssueError::Key(e) => e.code(),
            IssueError::Proof(e) => e.code(),
            IssueError::StatusList(e) => e.code(),
            IssueError::Sm2(_) => "sm2_failed",
        }
    }
}

/// A signed credential (a licence or a status list) as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Credential(Value);

impl Credential {
    pub(crate) fn from_value(value: Value) -> Credential {
        Credential(value)
    }

    /// The JSON value.
    pub fn as_value(&self) -> &Value {
        &self.0
    }

    /// The JSON value, owned.
    pub fn into_value(self) -> Value {
        self.0
    }

    /// Pretty-printed JSON, to save or serve.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(&self.0).unwrap_or_default()
    }

    /// The credential's `id`.
    pub fn id(&self) -> Option<&str> {
        self.0.get("id").and_then(Value::as_str)
    }
}

/// The `validFrom` instant of a first day of validity.
pub(crate) fn valid_from_string(date: Date) -> String {
    format!("{date}T00:00:00{CHINA_OFFSET}")
}

/// The `validUntil` instant of a last day of validity.
pub(crate) fn valid_until_string(date: Date) -> String {
    format!("{date}T23:59:59{CHINA_OFFSET}")
}

/// Parses a `validFrom`/`validUntil` value.
pub(crate) fn parse_instant(text: &str) -> Option<Timestamp> {
    text.parse::<Timestamp>().ok()
}

/// The sections whose digests `sectionDigests` holds, and the properties each covers. Everything else except the
/// proof, the digests themselves and the SM2 signature is the "envelope".
pub(crate) const SECTIONS: [(&str, &[&str]); 4] = [
    ("credentialSubject", &["credentialSubject"]),
    ("issuer", &["issuer"]),
    ("validity", &["validFrom", "validUntil"]),
    ("credentialStatus", &["credentialStatus"]),
];

/// The digests of the sections of a credential (without its proof).
pub(crate) fn section_digests(document: &Map<String, Value>) -> Result<Map<String, Value>, ProofError> {
    let mut digests = Map::new();
    let mut covered: Vec<&str> = vec!["proof", SECTION_DIGESTS, SM2_SIGNATURE];
    for (name, properties) in SECTIONS {
        let mut part = Map::new();
        for &p in properties {
            covered.push(p);
            if let Some(v) = document.get(p) {
                part.insert(p.into(), v.clone());
            }
        }
        digests.insert(name.into(), digest(&Value::Object(part))?.into());
    }
    let envelope: Map<String, Value> =
        document.iter().filter(|(k, _)| !covered.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    digests.insert("envelope".into(), digest(&Value::Object(envelope))?.into());
    Ok(digests)
}

fn digest(value: &Value) -> Result<String, ProofError> {
    Ok(multibase::encode_base64url(&Sha256::digest(integrity::jcs(value)?)))
}

/// The unsigned credential of a licence.
fn unsecured_credential(licence: &Licence, keys: &IssuerKeys, status: Option<&StatusEntry>) -> Value {
    let id = licence.id().as_str();
    let mut facts = Map::new();
    facts.insert("type".into(), "ElectronicLicence".into());
    facts.insert("identifier".into(), id.into());
    facts.insert("typeCode".into(), licence.type_code().into());
    facts.insert("kind".into(), licence.kind().into());
    facts.insert("typeName".into(), licence.type_name().into());
    facts.insert("number".into(), licence.number().into());
    facts.insert("issueDate".into(), licence.issue_date().to_string().into());
    facts.insert("validFrom".into(), licence.valid_from().to_string().into());
    if let Some(until) = licence.valid_until() {
        facts.insert("validUntil".into(), until.to_string().into());
    }
    facts.insert("version".into(), licence.version().into());
    if let Some(supersedes) = licence.supersedes() {
        facts.insert("supersedes".into(), supersedes.as_str().into());
    }
    facts.insert("caseId".into(), licence.case_id().into());
    facts.insert("taskId".into(), licence.task_id().into());
    facts.insert("surface".into(), json!(licence.surface()));

    let holder = licence.holder();
    let mut document = Map::new();
    document.insert("@context".into(), json!([VC_CONTEXT]));
    document.insert("id".into(), format!("{}/licences/{id}", keys.controller()).into());
    document.insert("type".into(), json!(["VerifiableCredential", LICENCE_CREDENTIAL_TYPE]));
    document.insert("name".into(), licence.type_name().into());
    document.insert(
        "issuer".into(),
        json!({ "id": keys.controller(), "name": licence.issuer().name, "creditCode": licence.issuer().credit_code }),
    );
    document.insert("validFrom".into(), valid_from_string(licence.valid_from()).into());
    if let Some(until) = licence.valid_until() {
        document.insert("validUntil".into(), valid_until_string(until).into());
    }
    document.insert(
        "credentialSubject".into(),
        json!({
            "type": "LicenceHolder",
            "name": holder.name,
            "holderCodeType": holder.code.kind(),
            "holderCode": holder.code.as_str(),
            "licence": facts,
        }),
    );
    if let Some(status) = status {
        document.insert("credentialStatus".into(), status.to_json());
    }
    Value::Object(document)
}

/// Issues `licence` as a Verifiable Credential signed with the current key of `keys` at `created`, with its
/// revocation bit at `status` when given. With the `sm2` feature and an SM2 key in `keys`, the credential also
/// carries the second signature (see [`crate::gm`]).
pub fn issue_credential(
    licence: &Licence,
    keys: &IssuerKeys,
    status: Option<&StatusEntry>,
    created: Timestamp,
) -> Result<Credential, IssueError> {
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
    let Value::Object(mut document) = unsecured_credential(licence, keys, status) else {
        return Err(IssueError::Proof(ProofError::NotAnObject));
    };
    let digests = section_digests(&document).map_err(IssueError::Proof)?;
    document.insert(SECTION_DIGESTS.into(), Value::Object(digests));
    #[cfg(feature = "sm2")]
    if let Some(sm2) = keys.sm2() {
        let signature = crate::gm::sign_document(&document, sm2, keys.controller()).map_err(IssueError::Sm2)?;
        document.insert(SM2_SIGNATURE.into(), signature);
    }
    let secured = integrity::add_proof(&Value::Object(document), key, &keys.verification_method(key), created)
        .map_err(IssueError::Proof)?;
    Ok(Credential(secured))
}
