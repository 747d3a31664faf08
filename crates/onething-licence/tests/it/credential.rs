//! Sign → verify, and every kind of tampering fails with its reason.

use onething_core::codes::{CreditCode, LicenceId};
use onething_licence::integrity;
use onething_licence::verify::Sm2Check;
use onething_licence::{
    IssueError, IssuerKey, IssuerKeys, LicenceStatus, StatusCheck, TamperedPart, VerifiedFrom, VerifyError,
    issue_credential, verify,
};
use serde_json::Value;

use crate::fixtures::*;

fn credential_json() -> Value {
    issue_credential(&licence(), &keys(), None, signed_at()).unwrap().into_value()
}

fn check(value: &Value) -> Result<onething_licence::Verified, VerifyError> {
    verify(&value.to_string(), &keys().public_keys(), now(), None)
}

fn tampered(value: &Value) -> Vec<TamperedPart> {
    match check(value) {
        Err(VerifyError::Tampered { parts }) => parts,
        other => panic!("expected tampering, got {other:?}"),
    }
}

#[test]
fn sign_then_verify() {
    let credential = issue_credential(&licence(), &keys(), None, signed_at()).unwrap();
    let value = credential.as_value();
    assert_eq!(value["@context"][0], "https://www.w3.org/ns/credentials/v2");
    assert_eq!(value["type"][1], "ElectronicLicenceCredential");
    assert_eq!(value["validFrom"], "2026-12-01T00:00:00+08:00");
    assert_eq!(value["validUntil"], "2030-11-30T23:59:59+08:00");
    assert_eq!(value["proof"]["cryptosuite"], "eddsa-jcs-2022");
    assert_eq!(value["proof"]["created"], "2026-12-01T02:30:00Z");
    assert!(value["proof"]["proofValue"].as_str().unwrap().starts_with('z'));
    assert_eq!(
        value["proof"]["verificationMethod"].as_str().unwrap(),
        format!("{ISSUER_URL}#{}", keys().current().unwrap().id())
    );
    assert_eq!(credential.id().unwrap(), format!("{ISSUER_URL}/licences/{}", licence().id()));

    let verified = verify(&credential.to_json_pretty(), &keys().public_keys(), now(), None).unwrap();
    assert_eq!(verified.from, VerifiedFrom::Credential);
    assert_eq!(verified.licence.id, *licence().id());
    assert_eq!(verified.licence.holder, licence().holder().clone());
    assert_eq!(verified.licence.issuer.name, ISSUER_NAME);
    assert_eq!(verified.licence.surface.get("plate_number").unwrap(), "鲁H12345");
    assert_eq!(verified.licence.kind.as_deref(), Some("road-transport-certificate"));
    assert_eq!(verified.status, StatusCheck::NoStatusEntry);
    assert_eq!(verified.sm2, Sm2Check::Absent);
    assert_eq!(verified.signed_at, Some(signed_at()));
}

#[test]
fn a_person_holder_and_an_indefinite_validity() {
    let credential = issue_credential(&person_licence(), &keys(), None, signed_at()).unwrap().into_value();
    assert!(credential.get("validUntil").is_none());
    assert_eq!(credential["credentialSubject"]["holderCodeType"], "id_number");
    let far_future = "2090-01-01T00:00:00Z".parse().unwrap();
    let verified = verify(&credential.to_string(), &keys().public_keys(), far_future, None).unwrap();
    assert_eq!(verified.licence.valid_until, None);
    assert_eq!(verified.licence.holder.code.kind(), "id_number");
}

#[test]
fn only_valid_licences_of_the_keys_department_are_issued() {
    let err =
        issue_credential(&licence().with_status(LicenceStatus::Cancelled), &keys(), None, signed_at()).unwrap_err();
    assert_eq!(err.code(), "licence_not_valid");
    let other = IssuerKeys::new(ISSUER_URL, "别的局", CreditCode::parse(HOLDER_CODE).unwrap());
    let err = issue_credential(&licence(), &other, None, signed_at()).unwrap_err();
    assert!(matches!(err, IssueError::IssuerMismatch { .. }), "{err}");
    let empty = IssuerKeys::new(ISSUER_URL, ISSUER_NAME, issuer_code());
    assert_eq!(issue_credential(&licence(), &empty, None, signed_at()).unwrap_err().code(), "key_none_current");
}

#[test]
fn tampering_names_the_part() {
    let original = credential_json();

    let mut v = original.clone();
    v["credentialSubject"]["name"] = "济宁顺达物流有限责任公司".into();
    assert_eq!(tampered(&v), [TamperedPart::CredentialSubject]);

    let mut v = original.clone();
    v["credentialSubject"]["licence"]["surface"]["tonnage"] = "40".into();
    assert_eq!(tampered(&v), [TamperedPart::CredentialSubject]);

    let mut v = original.clone();
    v["issuer"]["name"] = "山东省交通运输厅".into();
    assert_eq!(tampered(&v), [TamperedPart::Issuer]);

    // The validity is printed twice (VC and licence facts); changing both still fails, naming both parts.
    let mut v = original.clone();
    v["validUntil"] = "2040-11-30T23:59:59+08:00".into();
    v["credentialSubject"]["licence"]["validUntil"] = "2040-11-30".into();
    assert_eq!(tampered(&v), [TamperedPart::CredentialSubject, TamperedPart::Validity]);

    let mut v = original.clone();
    v["name"] = "道路运输经营许可证".into();
    assert_eq!(tampered(&v), [TamperedPart::Envelope]);

    let mut v = original.clone();
    v["proof"]["created"] = "2026-12-02T02:30:00Z".into();
    assert_eq!(tampered(&v), [TamperedPart::Proof]);

    // Another signature that decodes (a signature of the original made with another key).
    let mut v = original.clone();
    let other = IssuerKey::from_seed(&[9; 32]);
    let resigned = integrity::add_proof(&original, &other, "x", signed_at()).unwrap();
    v["proof"]["proofValue"] = resigned["proof"]["proofValue"].clone();
    assert_eq!(tampered(&v), [TamperedPart::Proof]);

    // Changing the subject and its digest: the digests no longer add up to the signature, the part is unknown.
    let mut v = original.clone();
    v["credentialSubject"]["name"] = "某公司".into();
    v.as_object_mut().unwrap().remove("sectionDigests");
    assert_eq!(tampered(&v), [TamperedPart::SectionDigests]);

    let err = check(&v).unwrap_err();
    assert_eq!(err.code(), "tampered");
    assert!(err.to_string().starts_with("the licence was changed after it was signed"), "{err}");
}

#[test]
fn a_wrong_identifier_check_character_is_named() {
    let mut v = credential_json();
    let id = v["credentialSubject"]["licence"]["identifier"].as_str().unwrap().to_owned();
    let last = id.chars().last().unwrap();
    let wrong = format!("{}{}", &id[..id.len() - 1], if last == '7' { '8' } else { '7' });
    v["credentialSubject"]["licence"]["identifier"] = wrong.into();
    let err = check(&v).unwrap_err();
    assert!(matches!(err, VerifyError::BadIdentifier(_)), "{err:?}");
    assert_eq!(err.code(), "bad_identifier");
    assert!(err.to_string().contains("does not add up"), "{err}");

    // Another well-formed identifier (a changed number with its own check character) is tampering.
    let mut v = credential_json();
    let other = LicenceId::new(TYPE_CODE, &issuer_code(), "37080001202612010002", 1).unwrap();
    v["credentialSubject"]["licence"]["identifier"] = other.as_str().into();
    assert_eq!(tampered(&v), [TamperedPart::CredentialSubject]);
}

#[test]
fn unknown_keys_and_foreign_keys() {
    let original = credential_json();
    let mut v = original.clone();
    v["proof"]["verificationMethod"] = format!("{ISSUER_URL}#ed-000000000000").into();
    let err = check(&v).unwrap_err();
    assert!(matches!(&err, VerifyError::UnknownKey { key } if key.ends_with("#ed-000000000000")), "{err:?}");
    assert_eq!(err.code(), "unknown_key");

    // A key another department published cannot sign for this one.
    let mut other = IssuerKeys::new(
        "https://licence.example.gov.cn/issuers/other",
        "别的局",
        CreditCode::parse(HOLDER_CODE).unwrap(),
    );
    other.add(IssuerKey::from_seed(&[7; 32]), true);
    let key = other.current().unwrap();
    let forged = integrity::add_proof(&original, key, &other.verification_method(key), signed_at()).unwrap();
    let mut trusted = keys().public_keys();
    trusted.add_document(&other.key_document()).unwrap();
    let err = verify(&forged.to_string(), &trusted, now(), None).unwrap_err();
    assert!(matches!(err, VerifyError::IssuerMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("别的局"), "{err}");
}

#[test]
fn dates_are_checked_against_now() {
    let v = credential_json();
    let keys = keys().public_keys();
    let before = "2026-11-30T15:59:59Z".parse().unwrap(); // 23:59:59 on 30 November in China
    let err = verify(&v.to_string(), &keys, before, None).unwrap_err();
    assert_eq!(err.code(), "not_yet_valid");
    assert_eq!(err.to_string(), "the licence is not valid yet: it becomes valid on 2026-12-01");
    assert!(verify(&v.to_string(), &keys, "2026-11-30T16:00:00Z".parse().unwrap(), None).is_ok());
    assert!(verify(&v.to_string(), &keys, "2030-11-30T15:59:59Z".parse().unwrap(), None).is_ok());
    let after = "2030-11-30T16:00:00Z".parse().unwrap();
    let err = verify(&v.to_string(), &keys, after, None).unwrap_err();
    assert_eq!(err, VerifyError::Expired { valid_until: jiff::civil::date(2030, 11, 30) });
    assert_eq!(err.to_string(), "the licence has expired: it was valid until 2030-11-30");
}

#[test]
fn malformed_and_unsupported_inputs() {
    let keys = keys().public_keys();
    for input in ["", "hello", "{", "{}", r#"{"type":["VerifiableCredential"]}"#, "OTL1.x"] {
        let err = verify(input, &keys, now(), None).unwrap_err();
        assert_eq!(err.code(), "malformed", "{input}: {err}");
    }
    let mut v = credential_json();
    v["proof"]["cryptosuite"] = "eddsa-rdfc-2022".into();
    let err = check(&v).unwrap_err();
    assert_eq!(err.code(), "unsupported_proof");
    assert!(err.to_string().contains("eddsa-rdfc-2022"), "{err}");
    let mut v = credential_json();
    v["proof"]["proofValue"] = "not base58".into();
    assert_eq!(check(&v).unwrap_err().code(), "malformed");
    let mut v = credential_json();
    v.as_object_mut().unwrap().remove("proof");
    assert_eq!(check(&v).unwrap_err().to_string(), "this is not a readable licence: the document has no proof");
}

#[cfg(feature = "sm2")]
#[test]
fn the_sm2_second_signature() {
    use onething_licence::gm::{Sm2Key, sm3_hex};
    let mut keys = keys();
    keys.set_sm2(Sm2Key::from_secret(&[3; 32]).unwrap());
    let credential = issue_credential(&licence(), &keys, None, signed_at()).unwrap().into_value();
    assert_eq!(credential["sm2Signature"]["digest"], "SM3");
    let verified = verify(&credential.to_string(), &keys.public_keys(), now(), None).unwrap();
    assert_eq!(verified.sm2, Sm2Check::Verified);
    // Ed25519-only verifiers (keys without the SM2 method) still verify it.
    let mut ed_only = keys.key_document();
    ed_only["verificationMethod"].as_array_mut().unwrap().retain(|m| !m["id"].as_str().unwrap().contains("#sm2-"));
    let ed_keys = onething_licence::PublicKeys::from_json(&ed_only.to_string()).unwrap();
    assert_eq!(verify(&credential.to_string(), &ed_keys, now(), None).unwrap().sm2, Sm2Check::NotChecked);
    // A changed SM2 signature is caught by the Ed25519 proof, which covers it.
    let mut v = credential.clone();
    v["sm2Signature"]["distid"] = "0000".into();
    assert!(matches!(verify(&v.to_string(), &keys.public_keys(), now(), None), Err(VerifyError::Tampered { .. })));
    assert_eq!(sm3_hex(b"abc"), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}
