//! The compact signed QR payload.

use onething_licence::qr::QR_PREFIX;
use onething_licence::{
    IssuerKey, StatusCheck, StatusEntry, StatusList, TamperedPart, VerifiedFrom, VerifyError, qr_payload, verify,
};
use serde_json::Value;

use crate::fixtures::*;

fn decode(segment: &str) -> Value {
    use base64::Engine as _;
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

fn encode(value: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_jcs::to_vec(value).unwrap())
}

#[test]
fn the_payload_verifies_offline() {
    let text = qr_payload(&licence(), &keys(), None).unwrap();
    assert!(text.starts_with("OTL1."), "{text}");
    assert!(text.is_ascii());
    assert!(text.len() < 600, "the QR payload must stay small: {} characters", text.len());
    let parts: Vec<&str> = text.split('.').collect();
    assert_eq!(parts.len(), 3);
    let payload = decode(parts[1]);
    assert_eq!(payload["h"], HOLDER_NAME);
    assert_eq!(payload["hk"], "c");
    assert_eq!(payload["u"], "2030-11-30");
    assert_eq!(payload["k"], keys().current().unwrap().id());
    assert_eq!(parts[1], encode(&payload), "the payload is JCS");

    let verified = verify(&text, &keys().public_keys(), now(), None).unwrap();
    assert_eq!(verified.from, VerifiedFrom::QrCode);
    assert_eq!(verified.licence.holder.name, HOLDER_NAME);
    assert_eq!(verified.licence.issuer.name, ISSUER_NAME, "the issuer's name comes from its key document");
    assert_eq!(verified.licence.id, *licence().id());
    assert_eq!(verified.status, StatusCheck::NoStatusEntry);

    let person = qr_payload(&person_licence(), &keys(), None).unwrap();
    let verified = verify(&person, &keys().public_keys(), now(), None).unwrap();
    assert_eq!(verified.licence.holder.code.kind(), "id_number");
    assert_eq!(verified.licence.valid_until, None);
}

#[test]
fn a_tampered_payload_fails() {
    let text = qr_payload(&licence(), &keys(), None).unwrap();
    let parts: Vec<&str> = text.split('.').collect();
    let keys = keys().public_keys();

    let mut payload = decode(parts[1]);
    payload["h"] = "别的公司".into();
    let forged = format!("{QR_PREFIX}.{}.{}", encode(&payload), parts[2]);
    let err = verify(&forged, &keys, now(), None).unwrap_err();
    assert_eq!(err, VerifyError::Tampered { parts: vec![TamperedPart::QrPayload] });
    assert_eq!(err.to_string(), "the licence was changed after it was signed: the QR code's content or signature");

    let mut payload = decode(parts[1]);
    payload["u"] = "2040-11-30".into();
    assert_eq!(
        verify(&format!("{QR_PREFIX}.{}.{}", encode(&payload), parts[2]), &keys, now(), None).unwrap_err().code(),
        "tampered"
    );

    let mut payload = decode(parts[1]);
    let id = payload["id"].as_str().unwrap().to_owned();
    let wrong = format!("{}{}", &id[..id.len() - 1], if id.ends_with('7') { '8' } else { '7' });
    payload["id"] = wrong.into();
    let err = verify(&format!("{QR_PREFIX}.{}.{}", encode(&payload), parts[2]), &keys, now(), None).unwrap_err();
    assert_eq!(err.code(), "bad_identifier");

    let mut payload = decode(parts[1]);
    payload["k"] = IssuerKey::from_seed(&[5; 32]).id().into();
    let err = verify(&format!("{QR_PREFIX}.{}.{}", encode(&payload), parts[2]), &keys, now(), None).unwrap_err();
    assert_eq!(err.code(), "unknown_key");

    let mut signature = parts[2].to_owned();
    signature.replace_range(0..1, if signature.starts_with('A') { "B" } else { "A" });
    let err = verify(&format!("{QR_PREFIX}.{}.{signature}", parts[1]), &keys, now(), None).unwrap_err();
    assert_eq!(err.code(), "tampered");

    for broken in ["OTL1.", "OTL1.a.b.c", "OTL2.x.y", &format!("{QR_PREFIX}.{}.short", parts[1])] {
        assert_eq!(verify(broken, &keys, now(), None).unwrap_err().code(), "malformed", "{broken}");
    }
    let expired = "2031-01-01T00:00:00Z".parse().unwrap();
    assert_eq!(verify(&text, &keys, expired, None).unwrap_err().code(), "expired");
}

#[test]
fn the_payload_carries_the_status_index() {
    let keys = keys();
    let entry = StatusEntry { list_url: LIST_URL.into(), index: 99 };
    let text = qr_payload(&licence(), &keys, Some(&entry)).unwrap();
    let mut list = StatusList::new(131_072).unwrap();
    let clear = list.to_credential(&keys, LIST_URL, signed_at()).unwrap().to_json_pretty();
    assert_eq!(verify(&text, &keys.public_keys(), now(), Some(&clear)).unwrap().status, StatusCheck::NotRevoked);
    list.set(99, true).unwrap();
    let revoked = list.to_credential(&keys, LIST_URL, signed_at()).unwrap().to_json_pretty();
    assert_eq!(verify(&text, &keys.public_keys(), now(), Some(&revoked)).unwrap_err().code(), "revoked");
}
