//! Issuer keys: the Ed25519 signing keys of one issuing department (颁发机构), with rotation, PKCS#8 PEM storage
//! and the public key document verifiers use.
//!
//! A department has several keys and one *current* key. New credentials are signed with the current key;
//! older keys stay published, so credentials signed before a rotation still verify. A key's id is derived from
//! its public key (`ed-` and the first 6 bytes of its SHA-256 in hex), so ids never collide between departments
//! and the compact QR payload can name a key in 15 characters.
//!
//! The published form is a controlled identifier document (W3C Controlled Identifiers v1.0) served at the
//! department's controller URL (by convention [`well_known_controller`]:
//! `https://{platform}/.well-known/licence-issuers/{credit code}`), with one `Multikey` verification method per key (`publicKeyMultibase` =
//! `z6Mk…`) listed under `assertionMethod`, plus the department's `name` and `creditCode` so that a verifier
//! can check that a licence's claimed issuer is the owner of the key that signed it:
//!
//! ```json
//! { "@context": ["https://www.w3.org/ns/cid/v1"],
//!   "id": "https://licence.example.gov.cn/issuers/11370800MB28559184",
//!   "name": "济宁市交通运输局", "creditCode": "11370800MB28559184",
//!   "verificationMethod": [{ "id": "https://…/issuers/11370800MB28559184#ed-3f1c0a9b2d4e", "type": "Multikey",
//!     "controller": "https://…/issuers/11370800MB28559184", "publicKeyMultibase": "z6Mk…" }],
//!   "assertionMethod": ["https://…/issuers/11370800MB28559184#ed-3f1c0a9b2d4e"] }
//! ```

use std::fmt;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use onething_core::codes::CreditCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::multibase::{self, ED25519_PRIV, ED25519_PUB};

/// The JSON-LD context of a controlled identifier document.
pub const CID_CONTEXT: &str = "https://www.w3.org/ns/cid/v1";
/// The well-known path under which a platform serves the key documents of its issuing departments, one per
/// credit code: `{base}/.well-known/licence-issuers/{credit code}` (see [`well_known_controller`]).
pub const WELL_KNOWN_ISSUERS: &str = "/.well-known/licence-issuers/";

/// The controller URL of a department on a platform at `base_url` (e.g. `https://zwfw.example.gov.cn`): where
/// its key document is served and what its credentials name as `issuer.id`.
pub fn well_known_controller(base_url: &str, credit_code: &CreditCode) -> String {
    format!("{}{WELL_KNOWN_ISSUERS}{credit_code}", base_url.trim_end_matches('/'))
}

/// What went wrong with a key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The operating system's random number generator failed while generating a key.
    #[error("could not generate a key: the operating system's random number generator failed ({0})")]
    Randomness(String),
    /// A PEM text is not an Ed25519 PKCS#8 private key.
    #[error("the text is not an Ed25519 private key in PKCS#8 PEM form: {0}")]
    Pem(String),
    /// The key set has no key to sign with.
    #[error("the issuer has no signing key; generate one first")]
    NoCurrentKey,
    /// No key of the set has this id.
    #[error("the issuer has no key {0}")]
    UnknownKey(String),
    /// A published key document could not be read.
    #[error("the key document is not valid: {0}")]
    Document(String),
}

impl KeyError {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            KeyError::Randomness(_) => "key_randomness",
            KeyError::Pem(_) => "key_pem_invalid",
            KeyError::NoCurrentKey => "key_none_current",
            KeyError::UnknownKey(_) => "key_unknown",
            KeyError::Document(_) => "key_document_invalid",
        }
    }
}

/// The id of a key derived from its public key bytes.
pub(crate) fn key_id_for(public: &[u8]) -> String {
    let digest = Sha256::digest(public);
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("ed-{hex}")
}

/// One Ed25519 signing key of an issuer.
#[derive(Clone)]
pub struct IssuerKey {
    id: String,
    signing: SigningKey,
}

impl fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerKey").field("id", &self.id).field("public", &self.public_key_multibase()).finish()
    }
}

impl IssuerKey {
    /// Generates a new key from the operating system's randomness.
    pub fn generate() -> Result<IssuerKey, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| KeyError::Randomness(e.to_string()))?;
        Ok(IssuerKey::from_seed(&seed))
    }

    /// The key with this 32-byte Ed25519 secret seed (tests and test vectors).
    pub fn from_seed(seed: &[u8; 32]) -> IssuerKey {
        let signing = SigningKey::from_bytes(seed);
        let id = key_id_for(signing.verifying_key().as_bytes());
        IssuerKey { id, signing }
    }

    /// Reads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(pem: &str) -> Result<IssuerKey, KeyError> {
        let signing = SigningKey::from_pkcs8_pem(pem).map_err(|e| KeyError::Pem(e.to_string()))?;
        let id = key_id_for(signing.verifying_key().as_bytes());
        Ok(IssuerKey { id, signing })
    }

    /// Reads a Multikey secret key (`z3u2…`, multicodec `ed25519-priv`), the form the W3C test vectors use.
    pub fn from_secret_multibase(text: &str) -> Result<IssuerKey, KeyError> {
        let bytes = multibase::from_multikey(ED25519_PRIV, text)
            .ok_or_else(|| KeyError::Pem("not a base58btc ed25519-priv multikey".into()))?;
        let seed: [u8; 32] =
            bytes.try_into().map_err(|_| KeyError::Pem("an Ed25519 secret key has 32 bytes".into()))?;
        Ok(IssuerKey::from_seed(&seed))
    }

    /// The secret key as a Multikey value (`z3u2…`, multicodec `ed25519-priv`), for the issuer's key store.
    /// Keep it secret.
    pub fn to_secret_multibase(&self) -> Result<Zeroizing<String>, KeyError> {
        Ok(Zeroizing::new(multibase::multikey(ED25519_PRIV, self.signing.as_bytes())))
    }

    /// The private key as PKCS#8 PEM, for the issuer's key store. Keep it secret.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        self.signing.to_pkcs8_pem(LineEnding::LF).map_err(|e| KeyError::Pem(e.to_string()))
    }

    /// The key id (the fragment of its verification method).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The public key as a Multikey value (`z6Mk…`).
    pub fn public_key_multibase(&self) -> String {
        multibase::multikey(ED25519_PUB, self.signing.verifying_key().as_bytes())
    }

    /// The Ed25519 public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// Signs bytes (deterministic Ed25519, RFC 8032).
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

/// The signing keys of one issuing department, one of them current; see the module documentation.
#[derive(Debug, Clone)]
pub struct IssuerKeys {
    controller: String,
    name: String,
    credit_code: CreditCode,
    keys: Vec<IssuerKey>,
    current: Option<usize>,
    #[cfg(feature = "sm2")]
    sm2: Option<crate::gm::Sm2Key>,
}

impl IssuerKeys {
    /// An empty key set for the department `name` with `credit_code`, published at `controller` (an `https` URL
    /// that serves [`IssuerKeys::key_document`]; it is also the credentials' `issuer.id`).
    pub fn new(controller: impl Into<String>, name: impl Into<String>, credit_code: CreditCode) -> IssuerKeys {
        IssuerKeys {
            controller: controller.into(),
            name: name.into(),
            credit_code,
            keys: Vec::new(),
            current: None,
            #[cfg(feature = "sm2")]
            sm2: None,
        }
    }

    /// Adds a key; `make_current` makes it the key new credentials are signed with. A key already in the set
    /// (same id) is not added twice.
    pub fn add(&mut self, key: IssuerKey, make_current: bool) {
        let index = match self.keys.iter().position(|k| k.id == key.id) {
            Some(index) => index,
            None => {
                self.keys.push(key);
                self.keys.len() - 1
            }
        };
        if make_current || self.current.is_none() {
            self.current = Some(index);
        }
    }

    /// Rotation: generates a new key and makes it current. Older keys stay in the set and in the published
    /// document, so what they signed still verifies.
    pub fn rotate(&mut self) -> Result<&IssuerKey, KeyError> {
        let key = IssuerKey::generate()?;
        self.add(key, true);
        self.current()
    }

    /// Makes the key with this id current.
    pub fn set_current(&mut self, key_id: &str) -> Result<(), KeyError> {
        let index = self.keys.iter().position(|k| k.id == key_id).ok_or_else(|| KeyError::UnknownKey(key_id.into()))?;
        self.current = Some(index);
        Ok(())
    }

    /// The key new credentials are signed with.
    pub fn current(&self) -> Result<&IssuerKey, KeyError> {
        self.current.and_then(|i| self.keys.get(i)).ok_or(KeyError::NoCurrentKey)
    }

    /// All keys, oldest first.
    pub fn keys(&self) -> &[IssuerKey] {
        &self.keys
    }

    /// The controller URL (the issuer's id in credentials).
    pub fn controller(&self) -> &str {
        &self.controller
    }

    /// The department's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The department's credit code.
    pub fn credit_code(&self) -> &CreditCode {
        &self.credit_code
    }

    /// The verification method URL of a key: the controller URL and `#key-id`.
    pub fn verification_method(&self, key: &IssuerKey) -> String {
        format!("{}#{}", self.controller, key.id)
    }

    /// Sets the optional SM2 key of the second signature.
    #[cfg(feature = "sm2")]
    pub fn set_sm2(&mut self, key: crate::gm::Sm2Key) {
        self.sm2 = Some(key);
    }

    /// The optional SM2 key.
    #[cfg(feature = "sm2")]
    pub fn sm2(&self) -> Option<&crate::gm::Sm2Key> {
        self.sm2.as_ref()
    }

    /// The public key document to serve at the controller URL (see the module documentation).
    pub fn key_document(&self) -> Value {
        #[allow(unused_mut)]
        let mut methods: Vec<Value> = self
            .keys
            .iter()
            .map(|k| {
                json!({
                    "id": self.verification_method(k),
                    "type": "Multikey",
                    "controller": self.controller,
                    "publicKeyMultibase": k.public_key_multibase(),
                })
            })
            .collect();
        #[cfg(feature = "sm2")]
        if let Some(sm2) = &self.sm2 {
            methods.push(json!({
                "id": format!("{}#{}", self.controller, sm2.id()),
                "type": "Multikey",
                "controller": self.controller,
                "publicKeyMultibase": sm2.public_key_multibase(),
            }));
        }
        let assertion: Vec<Value> = methods.iter().filter_map(|m| m.get("id").cloned()).collect();
        json!({
            "@context": [CID_CONTEXT],
            "id": self.controller,
            "name": self.name,
            "creditCode": self.credit_code,
            "verificationMethod": methods,
            "assertionMethod": assertion,
        })
    }

    /// The public keys only, as a verifier holds them after reading the key document.
    pub fn public_keys(&self) -> PublicKeys {
        let mut keys = PublicKeys::default();
        // The document is built from valid keys, so reading it back cannot fail.
        let _ = keys.add_document(&self.key_document());
        keys
    }
}

/// One published Ed25519 public key, with the department that controls it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKey {
    /// The verification method URL (`controller#key-id`).
    pub verification_method: String,
    /// The key id (the URL's fragment).
    pub key_id: String,
    /// The controller URL (the issuer's id).
    pub controller: String,
    /// The controlling department's name.
    pub issuer_name: String,
    /// The controlling department's credit code.
    pub credit_code: CreditCode,
    /// The Multikey value (`z6Mk…`).
    pub public_key_multibase: String,
    #[serde(skip)]
    pub(crate) key: Option<VerifyingKey>,
}

impl PublicKey {
    pub(crate) fn verifying_key(&self) -> Option<VerifyingKey> {
        self.key.or_else(|| decode_ed25519_multikey(&self.public_key_multibase))
    }
}

pub(crate) fn decode_ed25519_multikey(text: &str) -> Option<VerifyingKey> {
    let bytes = multibase::from_multikey(ED25519_PUB, text)?;
    let bytes: [u8; 32] = bytes.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// The published public keys a verifier trusts: the key documents of one or more issuing departments. This is
/// all `onething licence verify` needs, offline.
#[derive(Debug, Clone, Default)]
pub struct PublicKeys {
    keys: Vec<PublicKey>,
    #[cfg(feature = "sm2")]
    pub(crate) sm2: Vec<crate::gm::Sm2PublicKey>,
}

impl PublicKeys {
    /// Reads one key document (the JSON of [`IssuerKeys::key_document`]).
    pub fn from_json(text: &str) -> Result<PublicKeys, KeyError> {
        let mut keys = PublicKeys::default();
        keys.add_json(text)?;
        Ok(keys)
    }

    /// Adds the keys of another department's key document.
    pub fn add_json(&mut self, text: &str) -> Result<(), KeyError> {
        let value: Value = serde_json::from_str(text).map_err(|e| KeyError::Document(e.to_string()))?;
        self.add_document(&value)
    }

    /// Adds the keys of a key document already parsed. Only methods listed under `assertionMethod` are taken:
    /// a method that is published but not listed there may not sign credentials.
    pub fn add_document(&mut self, document: &Value) -> Result<(), KeyError> {
        let text = |v: &Value, name: &str| -> Result<String, KeyError> {
            v.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| KeyError::Document(format!("\"{name}\" is missing or not a string")))
        };
        let controller = text(document, "id")?;
        let issuer_name = text(document, "name")?;
        let credit_code = CreditCode::parse(&text(document, "creditCode")?)
            .map_err(|e| KeyError::Document(format!("creditCode: {e}")))?;
        let assertion: Vec<&str> = document
            .get("assertionMethod")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let methods = document
            .get("verificationMethod")
            .and_then(Value::as_array)
            .ok_or_else(|| KeyError::Document("\"verificationMethod\" is missing".into()))?;
        for method in methods {
            let id = text(method, "id")?;
            if !assertion.contains(&id.as_str()) {
                continue;
            }
            if text(method, "controller")? != controller {
                return Err(KeyError::Document(format!("{id} has another controller than the document")));
            }
            if text(method, "type")? != "Multikey" {
                continue;
            }
            let multibase = text(method, "publicKeyMultibase")?;
            let key_id = id.rsplit_once('#').map(|(_, f)| f.to_owned()).unwrap_or_default();
            if let Some(key) = decode_ed25519_multikey(&multibase) {
                self.keys.retain(|k| k.verification_method != id);
                self.keys.push(PublicKey {
                    verification_method: id,
                    key_id,
                    controller: controller.clone(),
                    issuer_name: issuer_name.clone(),
                    credit_code: credit_code.clone(),
                    public_key_multibase: multibase,
                    key: Some(key),
                });
                continue;
            }
            #[cfg(feature = "sm2")]
            if let Some(key) = crate::gm::Sm2PublicKey::from_multibase(&id, &controller, &multibase) {
                self.sm2.retain(|k| k.verification_method != id);
                self.sm2.push(key);
                continue;
            }
            return Err(KeyError::Document(format!("{id}: publicKeyMultibase is not a supported key")));
        }
        Ok(())
    }

    /// The key with this verification method URL.
    pub fn by_verification_method(&self, url: &str) -> Option<&PublicKey> {
        self.keys.iter().find(|k| k.verification_method == url)
    }

    /// The key with this key id (the fragment); key ids are derived from the key, so they are unique.
    pub fn by_key_id(&self, key_id: &str) -> Option<&PublicKey> {
        self.keys.iter().find(|k| k.key_id == key_id)
    }

    /// All keys.
    pub fn iter(&self) -> impl Iterator<Item = &PublicKey> {
        self.keys.iter()
    }

    /// Whether no key is known.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}
