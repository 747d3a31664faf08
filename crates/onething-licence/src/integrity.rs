//! Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite, exactly as "Data Integrity EdDSA Cryptosuites
//! v1.0" (W3C Recommendation) §3.3 specifies it, on any JSON document:
//!
//! - *transformation*: the JCS (RFC 8785) canonical form of the unsecured document;
//! - *proof configuration*: the proof options (type `DataIntegrityProof`, cryptosuite `eddsa-jcs-2022`,
//!   `created`, `verificationMethod`, `proofPurpose`) with the document's `@context` copied in, JCS-canonicalised;
//! - *hashing*: SHA-256 of the canonical proof configuration, then SHA-256 of the canonical document,
//!   concatenated (64 bytes);
//! - *serialisation*: Ed25519 over those 64 bytes, `proofValue` = Multibase base58btc (`z…`) of the signature.
//!
//! Verification re-creates both hashes from the secured document (the proof's `@context` must be a prefix of the
//! document's, and replaces it) and checks the signature. The tests reproduce the specification's test vector
//! byte for byte.

use ed25519_dalek::{Signature, VerifyingKey};
use jiff::Timestamp;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::keys::IssuerKey;
use crate::multibase;

/// The cryptosuite identifier.
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";
/// The proof type of every Data Integrity proof.
pub const PROOF_TYPE: &str = "DataIntegrityProof";
/// The proof purpose of credentials.
pub const ASSERTION_METHOD: &str = "assertionMethod";

/// Why a proof could not be created or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The document is not a JSON object.
    #[error("the document is not a JSON object")]
    NotAnObject,
    /// The document has no `proof`.
    #[error("the document has no proof")]
    Missing,
    /// The proof is not laid out as the specification requires.
    #[error("the proof is malformed: {0}")]
    Malformed(String),
    /// The proof is of another type, cryptosuite or purpose.
    #[error("the proof is not supported: {0}")]
    Unsupported(String),
    /// The proof's `@context` is not the start of the document's.
    #[error("the proof's @context is not the start of the document's @context")]
    ContextMismatch,
    /// No trusted key has the proof's verification method.
    #[error("the proof was made with the key {0}, which is not among the published keys")]
    UnknownKey(String),
    /// The signature does not match the document and proof options.
    #[error("the signature does not match the document")]
    BadSignature,
    /// JCS canonicalisation failed (a number JSON cannot represent exactly).
    #[error("the document cannot be canonicalised: {0}")]
    Canonicalisation(String),
}

impl ProofError {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            ProofError::NotAnObject => "proof_document_not_object",
            ProofError::Missing => "proof_missing",
            ProofError::Malformed(_) => "proof_malformed",
            ProofError::Unsupported(_) => "proof_unsupported",
            ProofError::ContextMismatch => "proof_context_mismatch",
            ProofError::UnknownKey(_) => "proof_unknown_key",
            ProofError::BadSignature => "proof_bad_signature",
            ProofError::Canonicalisation(_) => "proof_canonicalisation",
        }
    }
}

/// What a verified proof says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofInfo {
    /// The verification method URL that made it.
    pub verification_method: String,
    /// When it was created, if it says.
    pub created: Option<Timestamp>,
}

/// JCS (RFC 8785) canonical bytes.
pub fn jcs(value: &Value) -> Result<Vec<u8>, ProofError> {
    serde_jcs::to_vec(value).map_err(|e| ProofError::Canonicalisation(e.to_string()))
}

/// `created` in the form the proofs use: whole seconds, UTC, `Z`.
pub(crate) fn created_string(at: Timestamp) -> String {
    Timestamp::from_second(at.as_second()).map_or_else(|_| at.to_string(), |t| t.to_string())
}

/// The specification's *hashing* step, the 64 bytes that are signed: SHA-256(JCS(proof configuration)) ‖
/// SHA-256(JCS(document)), where the proof configuration is `proof_options` with the document's `@context`.
pub fn hash_data(unsecured: &Map<String, Value>, proof_options: &Map<String, Value>) -> Result<[u8; 64], ProofError> {
    let mut config = proof_options.clone();
    if let Some(context) = unsecured.get("@context") {
        config.insert("@context".into(), context.clone());
    }
    let config_hash = Sha256::digest(jcs(&Value::Object(config))?);
    let document_hash = Sha256::digest(jcs(&Value::Object(unsecured.clone()))?);
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&config_hash);
    out[32..].copy_from_slice(&document_hash);
    Ok(out)
}

/// Adds an `eddsa-jcs-2022` proof to `unsecured` (a JSON object without `proof`), made with `key` and naming
/// `verification_method`, created at `created`.
pub fn add_proof(
    unsecured: &Value,
    key: &IssuerKey,
    verification_method: &str,
    created: Timestamp,
) -> Result<Value, ProofError> {
    let Value::Object(document) = unsecured else {
        return Err(ProofError::NotAnObject);
    };
    let mut document = document.clone();
    document.remove("proof");
    let mut options = Map::new();
    options.insert("type".into(), PROOF_TYPE.into());
    options.insert("cryptosuite".into(), CRYPTOSUITE.into());
    options.insert("created".into(), created_string(created).into());
    options.insert("verificationMethod".into(), verification_method.into());
    options.insert("proofPurpose".into(), ASSERTION_METHOD.into());
    let signature = key.sign(&hash_data(&document, &options)?);
    let mut proof = options;
    if let Some(context) = document.get("@context") {
        proof.insert("@context".into(), context.clone());
    }
    proof.insert("proofValue".into(), multibase::encode_base58btc(&signature).into());
    document.insert("proof".into(), Value::Object(proof));
    Ok(Value::Object(document))
}

/// Verifies the `eddsa-jcs-2022` proof of `secured`, looking its verification method up with `key_for`.
pub fn verify_proof(secured: &Value, key_for: impl Fn(&str) -> Option<VerifyingKey>) -> Result<ProofInfo, ProofError> {
    let Value::Object(document) = secured else {
        return Err(ProofError::NotAnObject);
    };
    let mut unsecured = document.clone();
    let proof = match unsecured.remove("proof") {
        None => return Err(ProofError::Missing),
        Some(Value::Object(proof)) => proof,
        Some(Value::Array(_)) => {
            return Err(ProofError::Unsupported("a proof set (several proofs) is not supported".into()));
        }
        Some(_) => return Err(ProofError::Malformed("\"proof\" is not an object".into())),
    };
    let field = |name: &str| -> Result<&str, ProofError> {
        proof
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| ProofError::Malformed(format!("\"{name}\" is missing or not a string")))
    };
    if field("type")? != PROOF_TYPE {
        return Err(ProofError::Unsupported(format!("the proof type is {:?}, not {PROOF_TYPE}", field("type")?)));
    }
    if field("cryptosuite")? != CRYPTOSUITE {
        return Err(ProofError::Unsupported(format!(
            "the cryptosuite is {:?}, not {CRYPTOSUITE}",
            field("cryptosuite")?
        )));
    }
    if field("proofPurpose")? != ASSERTION_METHOD {
        return Err(ProofError::Unsupported(format!(
            "the proof purpose is {:?}, not {ASSERTION_METHOD}",
            field("proofPurpose")?
        )));
    }
    let created = match proof.get("created") {
        None => None,
        Some(Value::String(s)) => Some(
            s.parse::<Timestamp>()
                .map_err(|e| ProofError::Malformed(format!("\"created\" is not a date-time: {e}")))?,
        ),
        Some(_) => return Err(ProofError::Malformed("\"created\" is not a string".into())),
    };
    let verification_method = field("verificationMethod")?.to_owned();
    let proof_bytes = multibase::decode_base58btc(field("proofValue")?)
        .ok_or_else(|| ProofError::Malformed("\"proofValue\" is not base58btc (z…)".into()))?;
    let signature = Signature::from_slice(&proof_bytes)
        .map_err(|_| ProofError::Malformed("\"proofValue\" is not a 64-byte Ed25519 signature".into()))?;

    let mut options = proof.clone();
    options.remove("proofValue");
    if let Some(proof_context) = options.get("@context") {
        let document_context = unsecured.get("@context");
        let starts_with = match (proof_context, document_context) {
            (Value::Array(p), Some(Value::Array(d))) => d.starts_with(p),
            (p, Some(Value::Array(d))) => d.first() == Some(p),
            (p, Some(d)) => p == d,
            (_, None) => false,
        };
        if !starts_with {
            return Err(ProofError::ContextMismatch);
        }
        unsecured.insert("@context".into(), proof_context.clone());
    }
    let key = key_for(&verification_method).ok_or_else(|| ProofError::UnknownKey(verification_method.clone()))?;
    let data = hash_data(&unsecured, &options)?;
    key.verify_strict(&data, &signature).map_err(|_| ProofError::BadSignature)?;
    Ok(ProofInfo { verification_method, created })
}
