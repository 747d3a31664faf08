//! Shared fixtures: a road transport certificate of a Jining transport bureau and its keys.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::date;
use onething_core::codes::{CreditCode, IdNumber, LicenceId};
use onething_licence::{Holder, HolderCode, Issuer, IssuerKey, IssuerKeys, Licence, LicenceDraft, LicenceStatus};

pub const ISSUER_CODE: &str = "11370800MB28559184";
pub const ISSUER_NAME: &str = "济宁市交通运输局";
pub const ISSUER_URL: &str = "https://licence.example.gov.cn/issuers/11370800MB28559184";
pub const TYPE_CODE: &str = "11100000000013338W087";
pub const HOLDER_NAME: &str = "济宁顺达物流有限公司";
pub const HOLDER_CODE: &str = "91440300708461136T";
pub const LIST_URL: &str = "https://licence.example.gov.cn/status/11370800MB28559184/1";

pub fn issuer_code() -> CreditCode {
    CreditCode::parse(ISSUER_CODE).unwrap()
}

/// Keys with one deterministic key (seed 1), so failures are reproducible.
pub fn keys() -> IssuerKeys {
    let mut keys = IssuerKeys::new(ISSUER_URL, ISSUER_NAME, issuer_code());
    keys.add(IssuerKey::from_seed(&[1; 32]), true);
    keys
}

pub fn draft() -> LicenceDraft {
    LicenceDraft {
        id: LicenceId::new(TYPE_CODE, &issuer_code(), "37080001202612010001", 1).unwrap(),
        kind: "road-transport-certificate".into(),
        type_name: "道路运输证".into(),
        number: "鲁交运管济字370800123456号".into(),
        holder: Holder {
            name: HOLDER_NAME.into(),
            code: HolderCode::CreditCode(CreditCode::parse(HOLDER_CODE).unwrap()),
        },
        issuer: Issuer { name: ISSUER_NAME.into(), credit_code: issuer_code() },
        issue_date: date(2026, 12, 1),
        valid_from: date(2026, 12, 1),
        valid_until: Some(date(2030, 11, 30)),
        status: LicenceStatus::Valid,
        surface: BTreeMap::from([
            ("plate_number".into(), "鲁H12345".into()),
            ("vehicle_type".into(), "truck".into()),
            ("tonnage".into(), "18".into()),
        ]),
        case_id: "case-0193a7d2".into(),
        task_id: "task-0193a7d3".into(),
        supersedes: None,
    }
}

pub fn licence() -> Licence {
    Licence::new(draft()).unwrap()
}

/// A licence held by a person (ID number), valid indefinitely.
pub fn person_licence() -> Licence {
    let mut d = draft();
    d.holder =
        Holder { name: "王小明".into(), code: HolderCode::IdNumber(IdNumber::parse("11010519491231002X").unwrap()) };
    d.valid_until = None;
    Licence::new(d).unwrap()
}

/// When credentials are signed.
pub fn signed_at() -> Timestamp {
    "2026-12-01T02:30:00Z".parse().unwrap()
}

/// When they are checked (inside the validity).
pub fn now() -> Timestamp {
    "2027-03-15T08:00:00Z".parse().unwrap()
}
