//! Keys: generation, PKCS#8 PEM, the published document and rotation.

use onething_licence::{IssuerKey, IssuerKeys, PublicKeys, VerifyError, issue_credential, verify};

use crate::fixtures::*;

#[test]
fn generated_keys_round_trip_through_pem() {
    let key = IssuerKey::generate().unwrap();
    let other = IssuerKey::generate().unwrap();
    assert_ne!(key.id(), other.id());
    assert!(key.id().starts_with("ed-") && key.id().len() == 15, "{}", key.id());
    assert!(key.public_key_multibase().starts_with("z6Mk"));
    let pem = key.to_pkcs8_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{}", &pem[..30]);
    let back = IssuerKey::from_pkcs8_pem(&pem).unwrap();
    assert_eq!(back.id(), key.id());
    assert_eq!(back.public_key_multibase(), key.public_key_multibase());
    let err = IssuerKey::from_pkcs8_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").unwrap_err();
    assert_eq!(err.code(), "key_pem_invalid");
    assert!(!format!("{key:?}").contains(&pem[28..60]), "Debug must not print the secret");
}

#[test]
fn the_key_document_is_multikey() {
    let keys = keys();
    let doc = keys.key_document();
    assert_eq!(doc["id"], ISSUER_URL);
    assert_eq!(doc["creditCode"], ISSUER_CODE);
    let method = &doc["verificationMethod"][0];
    assert_eq!(method["type"], "Multikey");
    assert_eq!(method["controller"], ISSUER_URL);
    assert!(method["publicKeyMultibase"].as_str().unwrap().starts_with("z6Mk"));
    assert_eq!(doc["assertionMethod"][0], method["id"]);
    let public = PublicKeys::from_json(&doc.to_string()).unwrap();
    let key = public.by_key_id(keys.current().unwrap().id()).unwrap();
    assert_eq!(key.issuer_name, ISSUER_NAME);
    assert_eq!(PublicKeys::from_json("{}").unwrap_err().code(), "key_document_invalid");
    assert_eq!(
        onething_licence::keys::well_known_controller("https://zwfw.example.gov.cn/", &issuer_code()),
        "https://zwfw.example.gov.cn/.well-known/licence-issuers/11370800MB28559184"
    );
}

#[test]
fn rotation_keeps_old_credentials_verifiable() {
    let mut keys = keys();
    let old_id = keys.current().unwrap().id().to_owned();
    let old = issue_credential(&licence(), &keys, None, signed_at()).unwrap();
    let new_id = keys.rotate().unwrap().id().to_owned();
    assert_ne!(old_id, new_id);
    let new = issue_credential(&licence(), &keys, None, signed_at()).unwrap();
    assert!(new.as_value()["proof"]["verificationMethod"].as_str().unwrap().ends_with(&new_id));

    // A verifier holding the published document (both keys) verifies both.
    let published = keys.key_document().to_string();
    let public = PublicKeys::from_json(&published).unwrap();
    assert_eq!(public.iter().count(), 2);
    for credential in [&old, &new] {
        verify(&credential.to_json_pretty(), &public, now(), None).unwrap();
    }
    // Withdrawing the old key from the document makes its credentials unverifiable.
    let mut withdrawn = keys.key_document();
    withdrawn["assertionMethod"].as_array_mut().unwrap().retain(|m| !m.as_str().unwrap().ends_with(&old_id));
    let public = PublicKeys::from_json(&withdrawn.to_string()).unwrap();
    let err = verify(&old.to_json_pretty(), &public, now(), None).unwrap_err();
    assert!(matches!(err, VerifyError::UnknownKey { .. }), "{err:?}");
    verify(&new.to_json_pretty(), &public, now(), None).unwrap();

    // Switching back to the old key signs with it again.
    keys.set_current(&old_id).unwrap();
    assert_eq!(keys.current().unwrap().id(), old_id);
    assert_eq!(keys.set_current("ed-nope").unwrap_err().code(), "key_unknown");
    let _ = IssuerKeys::new(ISSUER_URL, ISSUER_NAME, issuer_code());
}
