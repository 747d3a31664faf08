//! Offline verification of a licence: a credential (JSON) or the signed QR payload, with only the published
//! public keys, the instant of the check and, optionally, the issuer's status list credential.
//!
//! The checks, in order: the input is readable; the licence identifier's structure and check character
//! (GB/T 36904); the signature (`eddsa-jcs-2022` for a credential, Ed25519 for a QR payload) with a published key;
//! that the key belongs to the licence's claimed issuer; the validity dates against `now`; the revocation bit
//! when a status list is given (its own proof is checked with the same keys). Every failure is a
//! [`VerifyError`] whose message a person can act on and whose [`VerifyError::code`] is stable.

use std::collections::BTreeMap;
use std::fmt;

use ed25519_dalek::Signature;
use jiff::Timestamp;
use jiff::civil::Date;
use onething_core::codes::{CodeError, CreditCode, LicenceId};
use serde_json::Value;

use crate::credential::{
    LICENCE_CREDENTIAL_TYPE, SECTION_DIGESTS, parse_instant, section_digests, valid_from_string, valid_until_string,
};
use crate::integrity::{self, ProofError};
use crate::keys::{PublicKey, PublicKeys};
use crate::qr::{self, QR_PREFIX, QrParseError};
use crate::record::{Holder, HolderCode, Issuer};
use crate::status::{StatusEntry, StatusList};

/// The part of a credential that was changed after signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TamperedPart {
    /// The holder or the licence facts (`credentialSubject`).
    CredentialSubject,
    /// The issuer (`issuer`).
    Issuer,
    /// The validity dates (`validFrom`, `validUntil`).
    Validity,
    /// The status list entry (`credentialStatus`).
    CredentialStatus,
    /// Other properties (`id`, `type`, `name`, `@context`, or an added property).
    Envelope,
    /// The proof itself (its options or its value), since every part matches its digest.
    Proof,
    /// The section digests, so the changed part cannot be named.
    SectionDigests,
    /// The QR payload or its signature.
    QrPayload,
    /// The SM2 second signature.
    Sm2Signature,
}

impl TamperedPart {
    /// A stable snake_case name.
    pub fn code(self) -> &'static str {
        match self {
            TamperedPart::CredentialSubject => "credential_subject",
            TamperedPart::Issuer => "issuer",
            TamperedPart::Validity => "validity",
            TamperedPart::CredentialStatus => "credential_status",
            TamperedPart::Envelope => "envelope",
            TamperedPart::Proof => "proof",
            TamperedPart::SectionDigests => "section_digests",
            TamperedPart::QrPayload => "qr_payload",
            TamperedPart::Sm2Signature => "sm2_signature",
        }
    }
}

impl fmt::Display for TamperedPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TamperedPart::CredentialSubject => "the holder or licence details (credentialSubject)",
            TamperedPart::Issuer => "the issuer",
            TamperedPart::Validity => "the validity dates",
            TamperedPart::CredentialStatus => "the status list entry (credentialStatus)",
            TamperedPart::Envelope => "the credential's id, type, name or context",
            TamperedPart::Proof => "the proof or its signature value",
            TamperedPart::SectionDigests => "the section digests (the changed part cannot be named)",
            TamperedPart::QrPayload => "the QR code's content or signature",
            TamperedPart::Sm2Signature => "the SM2 signature",
        })
    }
}

fn list_parts(parts: &[TamperedPart]) -> String {
    parts.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// Why a licence does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The input is not a licence credential or QR payload.
    #[error("this is not a readable licence: {reason}")]
    Malformed { reason: String },
    /// The proof is of a kind this verifier does not check.
    #[error("the licence's proof is not supported: {reason}")]
    UnsupportedProof { reason: String },
    /// The licence identifier is wrong (its check character, most often): a typing error or a forgery.
    #[error("the licence identifier is wrong: {0}")]
    BadIdentifier(CodeError),
    /// The signing key is not among the published keys.
    #[error("the licence was signed with the key {key}, which is not among the published keys of any issuer")]
    UnknownKey { key: String },
    /// The key that signed belongs to another department than the licence names.
    #[error("the licence names the issuer {claimed}, but it was signed with a key of {key_owner}")]
    IssuerMismatch { claimed: String, key_owner: String },
    /// The signature does not match: something was changed after signing.
    #[error("the licence was changed after it was signed: {}", list_parts(.parts))]
    Tampered { parts: Vec<TamperedPart> },
    /// The licence is not valid yet.
    #[error("the licence is not valid yet: it becomes valid on {valid_from}")]
    NotYetValid { valid_from: Date },
    /// The licence's validity has ended.
    #[error("the licence has expired: it was valid until {valid_until}")]
    Expired { valid_until: Date },
    /// The issuer's status list marks the licence as no longer valid.
    #[error(
        "the licence is no longer valid: the issuer's status list marks it as revoked, cancelled or superseded \
         (entry {index} of {list})"
    )]
    Revoked { list: String, index: usize },
    /// The status list given is not the licence's.
    #[error("the status list given is {found}, but the licence's status is kept in {expected}")]
    StatusListMismatch { expected: String, found: String },
    /// The status list given does not verify.
    #[error("the status list cannot be trusted: {reason}")]
    StatusListInvalid { reason: String },
}

impl VerifyError {
    /// A stable snake_case code for the web layer and the CLI's exit report.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Malformed { .. } => "malformed",
            VerifyError::UnsupportedProof { .. } => "unsupported_proof",
            VerifyError::BadIdentifier(_) => "bad_identifier",
            VerifyError::UnknownKey { .. } => "unknown_key",
            VerifyError::IssuerMismatch { .. } => "issuer_mismatch",
            VerifyError::Tampered { .. } => "tampered",
            VerifyError::NotYetValid { .. } => "not_yet_valid",
            VerifyError::Expired { .. } => "expired",
            VerifyError::Revoked { .. } => "revoked",
            VerifyError::StatusListMismatch { .. } => "status_list_mismatch",
            VerifyError::StatusListInvalid { .. } => "status_list_invalid",
        }
    }
}

/// What was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifiedFrom {
    /// A full Verifiable Credential.
    Credential,
    /// The compact QR payload.
    QrCode,
}

/// Whether the status was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusCheck {
    /// The status list was given and the licence's bit is clear.
    NotRevoked,
    /// The licence has a status entry, but no status list was given: the result says nothing about revocation.
    NotChecked,
    /// The licence has no status entry.
    NoStatusEntry,
}

/// Whether the optional SM2 second signature was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sm2Check {
    /// There is none.
    Absent,
    /// It verified with a published SM2 key.
    Verified,
    /// It is there, but this verifier was built without SM2 or has no SM2 key for it.
    NotChecked,
}

/// The licence facts a verification vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLicence {
    /// The identifier.
    pub id: LicenceId,
    /// The type name.
    pub type_name: String,
    /// The catalogue's type code (credentials only).
    pub kind: Option<String>,
    /// The licence number as printed.
    pub number: String,
    /// The holder.
    pub holder: Holder,
    /// The issuer, with the name from its key document.
    pub issuer: Issuer,
    /// The date of issue.
    pub issue_date: Date,
    /// The first day of validity.
    pub valid_from: Date,
    /// The last day of validity (`None`: 长期).
    pub valid_until: Option<Date>,
    /// The surface fields (credentials only; empty for a QR payload).
    pub surface: BTreeMap<String, String>,
    /// The superseded licence (credentials only).
    pub supersedes: Option<LicenceId>,
}

/// A successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The licence facts.
    pub licence: VerifiedLicence,
    /// What was verified.
    pub from: VerifiedFrom,
    /// The verification method (key URL) that signed.
    pub verification_method: String,
    /// When the proof says it was made (credentials only).
    pub signed_at: Option<Timestamp>,
    /// The status check.
    pub status: StatusCheck,
    /// The SM2 check.
    pub sm2: Sm2Check,
}

fn malformed(reason: impl Into<String>) -> VerifyError {
    VerifyError::Malformed { reason: reason.into() }
}

/// Verifies a licence credential (JSON) or a QR payload (`OTL1.…`) at `now` with the published `keys`, and
/// against the issuer's status list credential (JSON) when one is given.
pub fn verify(
    input: &str,
    keys: &PublicKeys,
    now: Timestamp,
    status_list: Option<&str>,
) -> Result<Verified, VerifyError> {
    let trimmed = input.trim();
    if trimmed.starts_with(QR_PREFIX) {
        verify_qr(trimmed, keys, now, status_list)
    } else if trimmed.starts_with('{') {
        verify_credential(trimmed, keys, now, status_list)
    } else {
        Err(malformed(format!("it is neither a credential (JSON) nor a QR payload ({QR_PREFIX}.…)")))
    }
}

fn get_str<'a>(value: &'a Value, path: &[&str]) -> Result<&'a str, VerifyError> {
    let mut current = value;
    for name in path {
        current = current.get(name).ok_or_else(|| malformed(format!("{} is missing", path.join("."))))?;
    }
    current.as_str().ok_or_else(|| malformed(format!("{} is not a string", path.join("."))))
}

fn get_date(value: &Value, path: &[&str]) -> Result<Date, VerifyError> {
    let text = get_str(value, path)?;
    text.parse::<Date>().map_err(|_| malformed(format!("{} is not a date: {text:?}", path.join("."))))
}

fn verify_credential(
    text: &str,
    keys: &PublicKeys,
    now: Timestamp,
    status_list: Option<&str>,
) -> Result<Verified, VerifyError> {
    let document: Value = serde_json::from_str(text).map_err(|e| malformed(format!("it is not JSON: {e}")))?;
    let types = document.get("type").and_then(Value::as_array).ok_or_else(|| malformed("it has no type"))?;
    if !types.iter().any(|t| t.as_str() == Some(LICENCE_CREDENTIAL_TYPE)) {
        return Err(malformed(format!("it is not an {LICENCE_CREDENTIAL_TYPE}")));
    }
    let id = LicenceId::parse(get_str(&document, &["credentialSubject", "licence", "identifier"])?)
        .map_err(VerifyError::BadIdentifier)?;

    let info =
        integrity::verify_proof(&document, |vm| keys.by_verification_method(vm).and_then(PublicKey::verifying_key))
            .map_err(|e| proof_error(e, &document))?;
    let key = keys
        .by_verification_method(&info.verification_method)
        .ok_or_else(|| VerifyError::UnknownKey { key: info.verification_method.clone() })?;

    // The key must belong to the department the licence names, in all three places it is named.
    let issuer_id = get_str(&document, &["issuer", "id"])?;
    let issuer_code = get_str(&document, &["issuer", "creditCode"])?;
    if issuer_id != key.controller || issuer_code != key.credit_code.as_str() || id.issuer() != &key.credit_code {
        return Err(VerifyError::IssuerMismatch {
            claimed: format!("{issuer_code} ({issuer_id})"),
            key_owner: format!("{} {} ({})", key.issuer_name, key.credit_code, key.controller),
        });
    }

    fn field(name: &str) -> [&str; 3] {
        ["credentialSubject", "licence", name]
    }
    let valid_from = get_date(&document, &field("validFrom"))?;
    let valid_until = match document.pointer("/credentialSubject/licence/validUntil") {
        None => None,
        Some(_) => Some(get_date(&document, &field("validUntil"))?),
    };
    // The VC's own validity instants are what the proof covers; check them against the dates shown.
    let vc_from = get_str(&document, &["validFrom"])?;
    let vc_until = document.get("validUntil").and_then(Value::as_str);
    if vc_from != valid_from_string(valid_from) || vc_until != valid_until.map(valid_until_string).as_deref() {
        return Err(malformed("the credential's validFrom/validUntil do not match the licence's dates"));
    }
    check_dates(valid_from, valid_until, now)?;

    let holder_code = HolderCode::parse(
        get_str(&document, &["credentialSubject", "holderCodeType"])?,
        get_str(&document, &["credentialSubject", "holderCode"])?,
    )
    .ok_or_else(|| malformed("the holder's code is not a valid credit code or ID number"))?;
    let surface = match document.pointer("/credentialSubject/licence/surface") {
        Some(Value::Object(map)) => {
            map.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned))).collect()
        }
        _ => BTreeMap::new(),
    };
    let supersedes = match document.pointer("/credentialSubject/licence/supersedes").and_then(Value::as_str) {
        Some(s) => Some(LicenceId::parse(s).map_err(VerifyError::BadIdentifier)?),
        None => None,
    };
    let licence = VerifiedLicence {
        type_name: get_str(&document, &field("typeName"))?.to_owned(),
        kind: Some(get_str(&document, &field("kind"))?.to_owned()),
        number: get_str(&document, &field("number"))?.to_owned(),
        holder: Holder { name: get_str(&document, &["credentialSubject", "name"])?.to_owned(), code: holder_code },
        issuer: Issuer { name: key.issuer_name.clone(), credit_code: key.credit_code.clone() },
        issue_date: get_date(&document, &field("issueDate"))?,
        valid_from,
        valid_until,
        surface,
        supersedes,
        id,
    };

    let status = match document.get("credentialStatus") {
        None => StatusCheck::NoStatusEntry,
        Some(entry) => {
            let entry = StatusEntry::from_json(entry).map_err(|e| malformed(e.to_string()))?;
            match status_list {
                None => StatusCheck::NotChecked,
                Some(list) => {
                    check_status(list, keys, key, Some(&entry.list_url), entry.index, now)?;
                    StatusCheck::NotRevoked
                }
            }
        }
    };
    let sm2 = check_sm2(&document, keys)?;
    Ok(Verified {
        licence,
        from: VerifiedFrom::Credential,
        verification_method: info.verification_method,
        signed_at: info.created,
        status,
        sm2,
    })
}

#[cfg(feature = "sm2")]
fn check_sm2(document: &Value, keys: &PublicKeys) -> Result<Sm2Check, VerifyError> {
    crate::gm::check_document(document, keys)
}

#[cfg(not(feature = "sm2"))]
fn check_sm2(document: &Value, _keys: &PublicKeys) -> Result<Sm2Check, VerifyError> {
    Ok(if document.get(crate::credential::SM2_SIGNATURE).is_some() { Sm2Check::NotChecked } else { Sm2Check::Absent })
}

/// Maps a proof failure to a verification error; for a bad signature, names the parts whose digests differ.
fn proof_error(error: ProofError, document: &Value) -> VerifyError {
    match error {
        ProofError::NotAnObject | ProofError::Missing | ProofError::Malformed(_) | ProofError::Canonicalisation(_) => {
            malformed(error.to_string())
        }
        ProofError::Unsupported(reason) => VerifyError::UnsupportedProof { reason },
        ProofError::ContextMismatch => VerifyError::Tampered { parts: vec![TamperedPart::Envelope] },
        ProofError::UnknownKey(key) => VerifyError::UnknownKey { key },
        ProofError::BadSignature => VerifyError::Tampered { parts: tampered_parts(document) },
    }
}

fn tampered_parts(document: &Value) -> Vec<TamperedPart> {
    let Some(Value::Object(stored)) = document.get(SECTION_DIGESTS) else {
        return vec![TamperedPart::SectionDigests];
    };
    let Some(object) = document.as_object() else {
        return vec![TamperedPart::SectionDigests];
    };
    let Ok(actual) = section_digests(object) else {
        return vec![TamperedPart::SectionDigests];
    };
    if stored.len() != actual.len() {
        return vec![TamperedPart::SectionDigests];
    }
    let mut parts = Vec::new();
    for (name, digest) in &actual {
        match stored.get(name) {
            Some(d) if d == digest => {}
            Some(_) => parts.push(match name.as_str() {
                "credentialSubject" => TamperedPart::CredentialSubject,
                "issuer" => TamperedPart::Issuer,
                "validity" => TamperedPart::Validity,
                "credentialStatus" => TamperedPart::CredentialStatus,
                _ => TamperedPart::Envelope,
            }),
            None => return vec![TamperedPart::SectionDigests],
        }
    }
    if parts.is_empty() {
        parts.push(TamperedPart::Proof);
    }
    parts
}

fn check_dates(valid_from: Date, valid_until: Option<Date>, now: Timestamp) -> Result<(), VerifyError> {
    if parse_instant(&valid_from_string(valid_from)).is_some_and(|from| now < from) {
        return Err(VerifyError::NotYetValid { valid_from });
    }
    if let Some(until) = valid_until
        && parse_instant(&valid_until_string(until)).is_some_and(|end| now > end)
    {
        return Err(VerifyError::Expired { valid_until: until });
    }
    Ok(())
}

/// Verifies the status list credential `list` (issued by the same department as `key`) and checks `index`.
fn check_status(
    list: &str,
    keys: &PublicKeys,
    key: &PublicKey,
    expected_url: Option<&str>,
    index: usize,
    now: Timestamp,
) -> Result<(), VerifyError> {
    let invalid = |reason: String| VerifyError::StatusListInvalid { reason };
    let document: Value = serde_json::from_str(list).map_err(|e| invalid(format!("it is not JSON: {e}")))?;
    let list_id = document.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    if let Some(expected) = expected_url
        && expected != list_id
    {
        return Err(VerifyError::StatusListMismatch { expected: expected.to_owned(), found: list_id });
    }
    let is_list = document
        .get("type")
        .and_then(Value::as_array)
        .is_some_and(|t| t.iter().any(|t| t.as_str() == Some("BitstringStatusListCredential")));
    if !is_list {
        return Err(invalid("it is not a BitstringStatusListCredential".into()));
    }
    let info =
        integrity::verify_proof(&document, |vm| keys.by_verification_method(vm).and_then(PublicKey::verifying_key))
            .map_err(|e| invalid(e.to_string()))?;
    let list_key = keys
        .by_verification_method(&info.verification_method)
        .ok_or_else(|| invalid(format!("it was signed with the unknown key {}", info.verification_method)))?;
    if list_key.controller != key.controller || document.get("issuer").and_then(Value::as_str) != Some(&key.controller)
    {
        return Err(invalid(format!("it was not issued by {}", key.issuer_name)));
    }
    if let Some(until) = document.get("validUntil").and_then(Value::as_str)
        && parse_instant(until).is_some_and(|end| now > end)
    {
        return Err(invalid(format!("it expired at {until}; fetch a fresh list")));
    }
    let encoded = get_str(&document, &["credentialSubject", "encodedList"]).map_err(|e| invalid(e.to_string()))?;
    let purpose = get_str(&document, &["credentialSubject", "statusPurpose"]).map_err(|e| invalid(e.to_string()))?;
    if purpose != crate::status::REVOCATION {
        return Err(invalid(format!("its purpose is {purpose:?}, not revocation")));
    }
    let bits = StatusList::decode(encoded).map_err(|e| invalid(e.to_string()))?;
    if bits.get(index).map_err(|e| invalid(e.to_string()))? {
        return Err(VerifyError::Revoked { list: list_id, index });
    }
    Ok(())
}

fn verify_qr(
    text: &str,
    keys: &PublicKeys,
    now: Timestamp,
    status_list: Option<&str>,
) -> Result<Verified, VerifyError> {
    let parsed = qr::parse_qr(text).map_err(|e| match e {
        QrParseError::Malformed(reason) => malformed(reason),
        QrParseError::Identifier(error) => VerifyError::BadIdentifier(error),
    })?;
    let payload = parsed.payload;
    let key = keys.by_key_id(&payload.key_id).ok_or_else(|| VerifyError::UnknownKey { key: payload.key_id.clone() })?;
    let verifying = key.verifying_key().ok_or_else(|| VerifyError::UnknownKey { key: payload.key_id.clone() })?;
    verifying
        .verify_strict(parsed.signing_input.as_bytes(), &Signature::from_bytes(&parsed.signature))
        .map_err(|_| VerifyError::Tampered { parts: vec![TamperedPart::QrPayload] })?;
    if payload.id.issuer() != &key.credit_code {
        return Err(VerifyError::IssuerMismatch {
            claimed: payload.id.issuer().to_string(),
            key_owner: format!("{} {} ({})", key.issuer_name, key.credit_code, key.controller),
        });
    }
    check_dates(payload.valid_from, payload.valid_until, now)?;
    let holder = payload.holder().ok_or_else(|| malformed("the holder's code is not valid"))?;
    let status = match (payload.status_index, status_list) {
        (None, _) => StatusCheck::NoStatusEntry,
        (Some(_), None) => StatusCheck::NotChecked,
        (Some(index), Some(list)) => {
            check_status(list, keys, key, None, index, now)?;
            StatusCheck::NotRevoked
        }
    };
    Ok(Verified {
        licence: VerifiedLicence {
            id: payload.id.clone(),
            type_name: payload.type_name,
            kind: None,
            number: payload.number,
            holder: Holder { name: payload.holder_name, code: holder },
            issuer: Issuer { name: key.issuer_name.clone(), credit_code: key.credit_code.clone() },
            issue_date: payload.issue_date,
            valid_from: payload.valid_from,
            valid_until: payload.valid_until,
            surface: BTreeMap::new(),
            supersedes: None,
        },
        from: VerifiedFrom::QrCode,
        verification_method: key.verification_method.clone(),
        signed_at: None,
        status,
        sm2: Sm2Check::Absent,
    })
}

/// The credit code the licence identifier in a credential or QR payload names as its issuer, without verifying
/// anything: lets a verifier pick which issuer's key document to load.
pub fn claimed_issuer(input: &str) -> Option<CreditCode> {
    let trimmed = input.trim();
    let id = if trimmed.starts_with(QR_PREFIX) {
        qr::parse_qr(trimmed).ok().map(|p| p.payload.id)
    } else {
        let value: Value = serde_json::from_str(trimmed).ok()?;
        value
            .pointer("/credentialSubject/licence/identifier")
            .and_then(Value::as_str)
            .and_then(|s| LicenceId::parse(s).ok())
    };
    id.map(|id| id.issuer().clone())
}
