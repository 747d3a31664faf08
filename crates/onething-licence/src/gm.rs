//! The optional second signature with the Chinese commercial algorithms (国密): SM2 signatures (GB/T 32918) over
//! SM3 hashes (GB/T 32905), from the RustCrypto `sm2` and `sm3` crates (feature `sm2`).
//!
//! **What it is.** Not a second Data Integrity proof but a separate property of the credential,
//! `sm2Signature`, made *before* the Ed25519 proof and therefore covered by it:
//!
//! ```json
//! "sm2Signature": { "type": "SM2Signature", "digest": "SM3", "distid": "1234567812345678",
//!   "verificationMethod": "{issuer url}#sm2-…", "signatureValue": "z…" }
//! ```
//!
//! `signatureValue` is base58btc of r ‖ s (64 bytes), SM2 with the default distinguishing identifier of
//! GM/T 0009 over the JCS form of the credential without `proof` and without `sm2Signature`. The public key is
//! published in the same key document as a `Multikey` whose `publicKeyMultibase` is base58btc of the multicodec
//! `sm2-pub` (0x1206) and the SEC1 point. Verifiers that know nothing of SM2 (every W3C `eddsa-jcs-2022`
//! implementation) verify the credential unchanged and see `sm2Signature` as an ordinary signed property.
//!
//! **Not certified.** The RustCrypto SM2 crate says itself that it has never been independently audited, and it
//! is not a product certified under the commercial cryptography rules (商用密码产品认证). Ed25519 stays the primary
//! signature; this one shows the platform can carry a GM signature, e.g. for a certified signer to replace.

use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm2::dsa::{Signature, SigningKey, VerifyingKey};

use crate::credential::SM2_SIGNATURE;
use crate::integrity;
use crate::keys::{KeyError, PublicKeys};
use crate::multibase::{self, SM2_PUB};
use crate::verify::{Sm2Check, TamperedPart, VerifyError};

/// The distinguishing identifier of GM/T 0009-2012.
pub const DEFAULT_DISTID: &str = "1234567812345678";

/// An SM2 signing key of an issuer.
#[derive(Clone)]
pub struct Sm2Key {
    id: String,
    signing: SigningKey,
}

impl std::fmt::Debug for Sm2Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sm2Key").field("id", &self.id).finish()
    }
}

fn sm2_key_id(public: &[u8]) -> String {
    let digest = Sha256::digest(public);
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("sm2-{hex}")
}

impl Sm2Key {
    /// Generates a key from the operating system's randomness.
    pub fn generate() -> Result<Sm2Key, KeyError> {
        for _ in 0..16 {
            let mut secret = zeroize::Zeroizing::new([0u8; 32]);
            getrandom::fill(secret.as_mut()).map_err(|e| KeyError::Randomness(e.to_string()))?;
            if let Ok(key) = Sm2Key::from_secret(&secret) {
                return Ok(key);
            }
        }
        Err(KeyError::Randomness("no valid SM2 scalar in 16 draws".into()))
    }

    /// The key with this 32-byte secret scalar.
    pub fn from_secret(secret: &[u8; 32]) -> Result<Sm2Key, KeyError> {
        let signing = SigningKey::from_slice(DEFAULT_DISTID, secret)
            .map_err(|_| KeyError::Pem("not a valid SM2 secret scalar".into()))?;
        let id = sm2_key_id(&signing.verifying_key().to_sec1_bytes());
        Ok(Sm2Key { id, signing })
    }

    /// The 32-byte secret scalar, for the issuer's key store. Keep it secret.
    pub fn to_secret(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(self.signing.to_bytes().to_vec())
    }

    /// The key id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The public key as a Multikey value.
    pub fn public_key_multibase(&self) -> String {
        multibase::multikey(SM2_PUB, &self.signing.verifying_key().to_sec1_bytes())
    }
}

/// A published SM2 public key.
#[derive(Debug, Clone)]
pub struct Sm2PublicKey {
    /// The verification method URL.
    pub verification_method: String,
    /// The controller URL.
    pub controller: String,
    key: VerifyingKey,
}

impl Sm2PublicKey {
    pub(crate) fn from_multibase(id: &str, controller: &str, text: &str) -> Option<Sm2PublicKey> {
        let bytes = multibase::from_multikey(SM2_PUB, text)?;
        let key = VerifyingKey::from_sec1_bytes(DEFAULT_DISTID, &bytes).ok()?;
        Some(Sm2PublicKey { verification_method: id.to_owned(), controller: controller.to_owned(), key })
    }
}

/// The bytes SM2 signs: JCS of the document without `proof` and `sm2Signature`.
fn signed_bytes(document: &Map<String, Value>) -> Result<Vec<u8>, String> {
    let mut copy = document.clone();
    copy.remove("proof");
    copy.remove(SM2_SIGNATURE);
    integrity::jcs(&Value::Object(copy)).map_err(|e| e.to_string())
}

/// The `sm2Signature` value for a credential document.
pub(crate) fn sign_document(document: &Map<String, Value>, key: &Sm2Key, controller: &str) -> Result<Value, String> {
    let signature: Signature = key.signing.try_sign(&signed_bytes(document)?).map_err(|e| e.to_string())?;
    Ok(json!({
        "type": "SM2Signature",
        "digest": "SM3",
        "distid": DEFAULT_DISTID,
        "verificationMethod": format!("{controller}#{}", key.id),
        "signatureValue": multibase::encode_base58btc(&signature.to_bytes()),
    }))
}

/// Checks the `sm2Signature` of a credential whose Ed25519 proof has verified.
pub(crate) fn check_document(document: &Value, keys: &PublicKeys) -> Result<Sm2Check, VerifyError> {
    let Some(signature) = document.get(SM2_SIGNATURE) else {
        return Ok(Sm2Check::Absent);
    };
    let tampered = || VerifyError::Tampered { parts: vec![TamperedPart::Sm2Signature] };
    let method = signature.get("verificationMethod").and_then(Value::as_str).ok_or_else(tampered)?;
    let Some(key) = keys.sm2.iter().find(|k| k.verification_method == method) else {
        return Ok(Sm2Check::NotChecked);
    };
    let bytes = signature
        .get("signatureValue")
        .and_then(Value::as_str)
        .and_then(multibase::decode_base58btc)
        .ok_or_else(tampered)?;
    let signature = Signature::from_slice(&bytes).map_err(|_| tampered())?;
    let object = document.as_object().ok_or_else(tampered)?;
    let message = signed_bytes(object).map_err(|_| tampered())?;
    key.key.verify(&message, &signature).map_err(|_| tampered())?;
    Ok(Sm2Check::Verified)
}

/// The SM3 hash (GB/T 32905) of a file in hex, e.g. for the `file_hash_sm3` of a stored licence PDF.
pub fn sm3_hex(bytes: &[u8]) -> String {
    use sm3::Digest as _;
    sm3::Sm3::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
