//! The test vectors of "Data Integrity EdDSA Cryptosuites v1.0" (W3C), eddsa-jcs-2022 (§A, "Representation:
//! eddsa-jcs-2022"): the key pair, the canonical document, both hashes and the proofValue, reproduced byte for
//! byte (Ed25519 is deterministic, so a correct implementation signs to the very same value).

use jiff::Timestamp;
use onething_licence::IssuerKey;
use onething_licence::integrity::{self, ProofError};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const SECRET: &str = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq";
const PUBLIC: &str = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
const DID_KEY_VM: &str =
    "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
const CANONICAL_DOCUMENT: &str = r#"{"@context":["https://www.w3.org/ns/credentials/v2","https://www.w3.org/ns/credentials/examples/v2"],"credentialSubject":{"alumniOf":"The School of Examples","id":"did:example:abcdefgh"},"description":"A minimum viable example of an Alumni Credential.","id":"urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33","issuer":"https://vc.example/issuers/5678","name":"Alumni Credential","type":["VerifiableCredential","AlumniCredential"],"validFrom":"2023-01-01T00:00:00Z"}"#;
const CANONICAL_PROOF_CONFIG: &str = r#"{"@context":["https://www.w3.org/ns/credentials/v2","https://www.w3.org/ns/credentials/examples/v2"],"created":"2023-02-24T23:36:38Z","cryptosuite":"eddsa-jcs-2022","proofPurpose":"assertionMethod","type":"DataIntegrityProof","verificationMethod":"did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"}"#;
const DOCUMENT_HASH: &str = "59b7cb6251b8991add1ce0bc83107e3db9dbbab5bd2c28f687db1a03abc92f19";
const PROOF_CONFIG_HASH: &str = "66ab154f5c2890a140cb8388a22a160454f80575f6eae09e5a097cabe539a1db";
const PROOF_VALUE: &str = "z2HnFSSPPBzR36zdDgK8PbEHeXbR56YF24jwMpt3R1eHXQzJDMWS93FCzpvJpwTWd3GAVFuUfjoJdcnTMuVor51aX";

fn unsigned() -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
        "type": ["VerifiableCredential", "AlumniCredential"],
        "name": "Alumni Credential",
        "description": "A minimum viable example of an Alumni Credential.",
        "issuer": "https://vc.example/issuers/5678",
        "validFrom": "2023-01-01T00:00:00Z",
        "credentialSubject": { "id": "did:example:abcdefgh", "alumniOf": "The School of Examples" }
    })
}

fn created() -> Timestamp {
    "2023-02-24T23:36:38Z".parse().unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn key_pair() {
    let key = IssuerKey::from_secret_multibase(SECRET).unwrap();
    assert_eq!(key.public_key_multibase(), PUBLIC);
}

#[test]
fn canonical_forms_and_hashes() {
    assert_eq!(String::from_utf8(integrity::jcs(&unsigned()).unwrap()).unwrap(), CANONICAL_DOCUMENT);
    assert_eq!(hex(&Sha256::digest(CANONICAL_DOCUMENT)), DOCUMENT_HASH);
    assert_eq!(hex(&Sha256::digest(CANONICAL_PROOF_CONFIG)), PROOF_CONFIG_HASH);

    let options = json!({
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": "2023-02-24T23:36:38Z",
        "verificationMethod": DID_KEY_VM,
        "proofPurpose": "assertionMethod",
    });
    let data = integrity::hash_data(unsigned().as_object().unwrap(), options.as_object().unwrap()).unwrap();
    assert_eq!(hex(&data), format!("{PROOF_CONFIG_HASH}{DOCUMENT_HASH}"));
}

#[test]
fn proof_value_is_reproduced_and_verifies() {
    let key = IssuerKey::from_secret_multibase(SECRET).unwrap();
    let signed = integrity::add_proof(&unsigned(), &key, DID_KEY_VM, created()).unwrap();
    assert_eq!(signed["proof"]["proofValue"], PROOF_VALUE);
    assert_eq!(signed["proof"]["@context"], unsigned()["@context"]);
    let info = integrity::verify_proof(&signed, |vm| (vm == DID_KEY_VM).then(|| key.verifying_key())).unwrap();
    assert_eq!(info.verification_method, DID_KEY_VM);
    assert_eq!(info.created, Some(created()));
}

/// The secured document exactly as the specification prints it (member order and all) verifies.
#[test]
fn the_specifications_secured_document_verifies() {
    let secured = r#"{
      "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
      "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
      "type": ["VerifiableCredential", "AlumniCredential"],
      "name": "Alumni Credential",
      "description": "A minimum viable example of an Alumni Credential.",
      "issuer": "https://vc.example/issuers/5678",
      "validFrom": "2023-01-01T00:00:00Z",
      "credentialSubject": { "id": "did:example:abcdefgh", "alumniOf": "The School of Examples" },
      "proof": {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": "2023-02-24T23:36:38Z",
        "verificationMethod": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "proofPurpose": "assertionMethod",
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "proofValue": "z2HnFSSPPBzR36zdDgK8PbEHeXbR56YF24jwMpt3R1eHXQzJDMWS93FCzpvJpwTWd3GAVFuUfjoJdcnTMuVor51aX"
      }
    }"#;
    let secured: Value = serde_json::from_str(secured).unwrap();
    let key = IssuerKey::from_secret_multibase(SECRET).unwrap().verifying_key();
    integrity::verify_proof(&secured, |_| Some(key)).unwrap();

    // One changed character in the subject breaks it.
    let mut changed = secured.clone();
    changed["credentialSubject"]["alumniOf"] = "The School of Exampels".into();
    assert_eq!(integrity::verify_proof(&changed, |_| Some(key)).unwrap_err(), ProofError::BadSignature);
    // A proof context that is not the start of the document's is refused.
    let mut changed = secured;
    changed["@context"] = json!(["https://www.w3.org/ns/credentials/v2"]);
    assert_eq!(integrity::verify_proof(&changed, |_| Some(key)).unwrap_err(), ProofError::ContextMismatch);
}

/// The vector of the specification's repository with an https verification method (TestVectors/eddsa-jcs-2022/
/// signedJCS.json): the same key and document, another verification method, hence another signature.
#[test]
fn repository_vector_with_an_https_verification_method() {
    let vm = "https://vc.example/issuers/5678#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
    let key = IssuerKey::from_secret_multibase(SECRET).unwrap();
    let signed = integrity::add_proof(&unsigned(), &key, vm, created()).unwrap();
    assert_eq!(
        signed["proof"]["proofValue"],
        "z63t83Y53KfzJ5ZosfKTnqfMcKB2dmTrfjSaQjeNNjAD5srBowQfmWqeRb8rRjmeEuCBEsddF9LsVogtuTsijJKh4"
    );
}
