//! The licence record: consistency checks and serde round trip.

use jiff::civil::date;
use onething_core::codes::{CreditCode, LicenceId};
use onething_licence::{Licence, LicenceError, LicenceStatus};

use crate::fixtures::*;

#[test]
fn the_identifier_carries_the_gbt_36904_check_character() {
    let licence = licence();
    let id = licence.id().as_str();
    assert!(
        id.starts_with("1.2.156.3005.2.11100000000013338W087.11370800MB28559184.37080001202612010001.001."),
        "{id}"
    );
    assert_eq!(LicenceId::parse(id).unwrap(), *licence.id());
    // The real identifier of DOMAIN.md §5.3 ends in 3; ours is built the same way.
    let real = LicenceId::new(TYPE_CODE, &issuer_code(), "37080001202411010001", 1).unwrap();
    assert_eq!(real.as_str(), "1.2.156.3005.2.11100000000013338W087.11370800MB28559184.37080001202411010001.001.3");
    // A changed check character is refused.
    let wrong = format!("{}{}", &id[..id.len() - 1], if id.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(LicenceId::parse(&wrong).unwrap_err().code(), "check_character_mismatch");
    assert_eq!(licence.version(), 1);
    assert_eq!(licence.type_code(), TYPE_CODE);
}

#[test]
fn inconsistent_drafts_are_refused() {
    let mut d = draft();
    d.issuer.credit_code = CreditCode::parse(HOLDER_CODE).unwrap();
    let err = Licence::new(d).unwrap_err();
    assert!(matches!(err, LicenceError::IssuerMismatch { .. }), "{err:?}");
    assert_eq!(err.code(), "licence_issuer_mismatch");

    let mut d = draft();
    d.valid_until = Some(date(2026, 11, 30));
    assert_eq!(Licence::new(d).unwrap_err().code(), "licence_validity_reversed");

    let mut d = draft();
    d.holder.name = "  ".into();
    assert_eq!(Licence::new(d).unwrap_err(), LicenceError::Empty { field: "holder name" });

    let mut d = draft();
    d.supersedes = Some(d.id.clone());
    assert_eq!(Licence::new(d).unwrap_err().code(), "licence_supersedes_itself");
}

#[test]
fn serde_round_trip_checks_again() {
    let licence = licence();
    let json = serde_json::to_string(&licence).unwrap();
    assert_eq!(serde_json::from_str::<Licence>(&json).unwrap(), licence);
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["valid_until"] = "2020-01-01".into();
    let err = serde_json::from_value::<Licence>(value).unwrap_err();
    assert!(err.to_string().contains("before it becomes valid"), "{err}");
    assert_eq!(licence.clone().with_status(LicenceStatus::Revoked).status(), LicenceStatus::Revoked);
    assert!(LicenceStatus::Cancelled.sets_revocation_bit());
    assert!(!LicenceStatus::Expired.sets_revocation_bit());
}
