//! The Bitstring Status List: bits, encoding, the signed list credential and revocation in verification.

use onething_licence::status::MIN_BITS;
use onething_licence::{StatusCheck, StatusEntry, StatusList, StatusListError, VerifyError, issue_credential, verify};

use crate::fixtures::*;

#[test]
fn bits_and_their_encoding() {
    assert_eq!(StatusList::new(1000).unwrap_err(), StatusListError::TooShort(1000));
    let mut list = StatusList::new(MIN_BITS).unwrap();
    assert_eq!(list.len(), 131_072);
    for i in [0, 7, 8, 42, 131_071] {
        list.set(i, true).unwrap();
    }
    list.set(8, false).unwrap();
    assert!(list.get(0).unwrap() && list.get(7).unwrap() && list.get(42).unwrap() && list.get(131_071).unwrap());
    assert!(!list.get(8).unwrap() && !list.get(1).unwrap());
    assert_eq!(list.get(131_072).unwrap_err().code(), "status_list_index_out_of_range");

    let encoded = list.encode().unwrap();
    assert!(encoded.starts_with("uH4sI"), "u + base64url of the GZIP magic 1f 8b: {}", &encoded[..8]);
    assert!(encoded.len() < 400, "a sparse list compresses well: {}", encoded.len());
    assert_eq!(StatusList::decode(&encoded).unwrap(), list);
    assert_eq!(StatusList::decode("zabc").unwrap_err().code(), "status_list_encoding");
    assert_eq!(StatusList::decode("uAAAA").unwrap_err().code(), "status_list_encoding");
    // Index 0 is the most significant bit of the first byte (the specification's order).
    let mut first = StatusList::new(MIN_BITS).unwrap();
    first.set(0, true).unwrap();
    let short = StatusList::decode(&first.encode().unwrap()).unwrap();
    assert!(short.get(0).unwrap());
}

#[test]
fn the_list_credential_and_the_entry() {
    let keys = keys();
    let list = StatusList::new(MIN_BITS).unwrap();
    let credential = list.to_credential(&keys, LIST_URL, signed_at()).unwrap();
    let value = credential.as_value();
    assert_eq!(value["type"][1], "BitstringStatusListCredential");
    assert_eq!(value["credentialSubject"]["type"], "BitstringStatusList");
    assert_eq!(value["credentialSubject"]["statusPurpose"], "revocation");
    assert_eq!(value["proof"]["cryptosuite"], "eddsa-jcs-2022");
    let entry = StatusEntry { list_url: LIST_URL.into(), index: 4711 };
    let json = entry.to_json();
    assert_eq!(json["type"], "BitstringStatusListEntry");
    assert_eq!(json["statusListIndex"], "4711");
    assert_eq!(json["id"], format!("{LIST_URL}#4711"));
    assert_eq!(StatusEntry::from_json(&json).unwrap(), entry);
}

#[test]
fn a_revoked_licence_fails_and_a_clear_bit_passes() {
    let keys = keys();
    let public = keys.public_keys();
    let entry = StatusEntry { list_url: LIST_URL.into(), index: 4711 };
    let credential = issue_credential(&licence(), &keys, Some(&entry), signed_at()).unwrap().to_json_pretty();

    let mut list = StatusList::new(MIN_BITS).unwrap();
    list.set(4710, true).unwrap();
    let clear = list.to_credential(&keys, LIST_URL, signed_at()).unwrap().to_json_pretty();
    assert_eq!(verify(&credential, &public, now(), Some(&clear)).unwrap().status, StatusCheck::NotRevoked);
    assert_eq!(verify(&credential, &public, now(), None).unwrap().status, StatusCheck::NotChecked);

    list.set(4711, true).unwrap();
    let revoked = list.to_credential(&keys, LIST_URL, signed_at()).unwrap().to_json_pretty();
    let err = verify(&credential, &public, now(), Some(&revoked)).unwrap_err();
    assert_eq!(err, VerifyError::Revoked { list: LIST_URL.into(), index: 4711 });
    assert!(err.to_string().starts_with("the licence is no longer valid"), "{err}");

    // A list whose bits were changed after signing is not trusted.
    let mut forged: serde_json::Value = serde_json::from_str(&revoked).unwrap();
    forged["credentialSubject"]["encodedList"] = StatusList::new(MIN_BITS).unwrap().encode().unwrap().into();
    let err = verify(&credential, &public, now(), Some(&forged.to_string())).unwrap_err();
    assert_eq!(err.code(), "status_list_invalid");

    // Another list than the licence's is refused.
    let other = list.to_credential(&keys, "https://licence.example.gov.cn/status/other", signed_at()).unwrap();
    let err = verify(&credential, &public, now(), Some(&other.to_json_pretty())).unwrap_err();
    assert_eq!(err.code(), "status_list_mismatch");
}
