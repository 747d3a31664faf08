//! The licence record (电子证照): what an approved task issues, with the metadata of GB/T 36903 that the platform
//! keeps (identifier, type, number, holder, issuer, dates, status, surface fields, where it came from and what it
//! replaces).
//!
//! A [`Licence`] can only be built from a [`LicenceDraft`] that passes [`Licence::new`], so every value of it is
//! consistent: the identifier's issuer segment is the issuing department's credit code, the validity does not end
//! before it starts, names are not empty and a licence does not supersede itself. Deserialising goes through the
//! same check.

use std::collections::BTreeMap;
use std::fmt;

use jiff::civil::Date;
use onething_core::codes::{CreditCode, IdNumber, LicenceId};
use serde::{Deserialize, Serialize};

/// Why a [`LicenceDraft`] is not a valid licence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenceError {
    /// A required text (a name, the number, the type) is empty.
    #[error("the {field} of the licence is empty")]
    Empty { field: &'static str },
    /// The identifier names another issuing authority than the issuing department.
    #[error(
        "the licence identifier names the issuer {in_identifier}, but the issuing department's credit code is \
         {issuer}"
    )]
    IssuerMismatch { in_identifier: String, issuer: String },
    /// The validity ends before it starts.
    #[error("the licence is valid until {valid_until}, which is before it becomes valid on {valid_from}")]
    ValidityReversed { valid_from: Date, valid_until: Date },
    /// The licence names itself as the licence it supersedes.
    #[error("the licence {id} cannot supersede itself")]
    SupersedesItself { id: String },
}

impl LicenceError {
    /// A stable snake_case code for the web layer.
    pub fn code(&self) -> &'static str {
        match self {
            LicenceError::Empty { .. } => "licence_field_empty",
            LicenceError::IssuerMismatch { .. } => "licence_issuer_mismatch",
            LicenceError::ValidityReversed { .. } => "licence_validity_reversed",
            LicenceError::SupersedesItself { .. } => "licence_supersedes_itself",
        }
    }
}

/// The code that identifies a holder (持证主体代码) together with its kind (持证主体代码类型).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "code", rename_all = "snake_case")]
pub enum HolderCode {
    /// An organisation identified by its unified social credit code (统一社会信用代码).
    CreditCode(CreditCode),
    /// A person identified by a resident ID number (居民身份证号码).
    IdNumber(IdNumber),
}

impl HolderCode {
    /// The code as written.
    pub fn as_str(&self) -> &str {
        match self {
            HolderCode::CreditCode(c) => c.as_str(),
            HolderCode::IdNumber(n) => n.as_str(),
        }
    }

    /// The stable name of the kind of code: `credit_code` or `id_number`.
    pub fn kind(&self) -> &'static str {
        match self {
            HolderCode::CreditCode(_) => "credit_code",
            HolderCode::IdNumber(_) => "id_number",
        }
    }

    /// The Chinese label printed in front of the code.
    pub fn label(&self) -> &'static str {
        match self {
            HolderCode::CreditCode(_) => "统一社会信用代码",
            HolderCode::IdNumber(_) => "公民身份号码",
        }
    }

    /// Parses a code of the named kind (`credit_code` or `id_number`).
    pub fn parse(kind: &str, code: &str) -> Option<HolderCode> {
        match kind {
            "credit_code" => CreditCode::parse(code).ok().map(HolderCode::CreditCode),
            "id_number" => IdNumber::parse(code).ok().map(HolderCode::IdNumber),
            _ => None,
        }
    }
}

/// The holder (持证主体) of a licence: a name and the code that identifies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The holder's name (持证主体名称): an organisation's registered name or a person's name.
    pub name: String,
    /// The holder's code and its kind.
    pub code: HolderCode,
}

/// The issuing department (颁发机构) of a licence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issuer {
    /// The department's name (颁发机构名称).
    pub name: String,
    /// The department's credit code (颁发机构代码); it is also the issuer segment of the licence identifier.
    pub credit_code: CreditCode,
}

/// The status (证照状态) of a licence as the issuing platform records it.
///
/// The status is live data: a credential or a printout does not carry it, because a licence cancelled after it
/// was printed still has a good signature. Verifiers learn it from the Bitstring Status List (see
/// [`crate::status`]), where every status other than [`LicenceStatus::Valid`] and [`LicenceStatus::Expired`] sets
/// the licence's revocation bit; expiry follows from the validity dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenceStatus {
    /// In force (有效).
    Valid,
    /// Cancelled (注销), e.g. on the holder's deregistration.
    Cancelled,
    /// Revoked (吊销) as a sanction.
    Revoked,
    /// Past its validity (过期).
    Expired,
    /// Replaced by a newer version (变更/延续) that names it in its `supersedes`.
    Superseded,
}

impl LicenceStatus {
    /// Whether the status list should mark the licence as no longer valid.
    pub fn sets_revocation_bit(self) -> bool {
        matches!(self, LicenceStatus::Cancelled | LicenceStatus::Revoked | LicenceStatus::Superseded)
    }

    /// The stable snake_case name.
    pub fn code(self) -> &'static str {
        match self {
            LicenceStatus::Valid => "valid",
            LicenceStatus::Cancelled => "cancelled",
            LicenceStatus::Revoked => "revoked",
            LicenceStatus::Expired => "expired",
            LicenceStatus::Superseded => "superseded",
        }
    }
}

impl fmt::Display for LicenceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Everything a licence is made of, unchecked: the input of [`Licence::new`] and the serialised form of a
/// [`Licence`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenceDraft {
    /// The electronic-licence identifier (电子证照标识, GB/T 36904).
    pub id: LicenceId,
    /// The catalogue's licence type code, e.g. `road-transport-certificate` (`catalog/licences.toml`).
    pub kind: String,
    /// The licence type name (证照类型名称), e.g. 道路运输证.
    pub type_name: String,
    /// The licence number (证照编号) as printed on the licence; it may differ from the identifier's number
    /// segment, which allows only `0-9A-Z`.
    pub number: String,
    /// The holder (持证主体).
    pub holder: Holder,
    /// The issuing department (颁发机构).
    pub issuer: Issuer,
    /// The date of issue (颁发日期).
    pub issue_date: Date,
    /// The first day of validity (有效期起始).
    pub valid_from: Date,
    /// The last day of validity (有效期截止); `None` means valid indefinitely (长期).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
    /// The status (证照状态).
    pub status: LicenceStatus,
    /// The surface fields (照面信息) particular to the licence type, by the catalogue's field code, as printed.
    #[serde(default)]
    pub surface: BTreeMap<String, String>,
    /// The case (办件) the licence was issued in.
    pub case_id: String,
    /// The task (部门审批环节) whose approval issued it.
    pub task_id: String,
    /// The licence this one replaces (关联证照标识), for a change or renewal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<LicenceId>,
}

/// An electronic licence (电子证照) record, checked for consistency; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "LicenceDraft", into = "LicenceDraft")]
pub struct Licence(LicenceDraft);

impl TryFrom<LicenceDraft> for Licence {
    type Error = LicenceError;

    fn try_from(draft: LicenceDraft) -> Result<Self, Self::Error> {
        Licence::new(draft)
    }
}

impl From<Licence> for LicenceDraft {
    fn from(licence: Licence) -> Self {
        licence.0
    }
}

impl Licence {
    /// Checks a draft and makes it a licence.
    pub fn new(draft: LicenceDraft) -> Result<Licence, LicenceError> {
        for (field, value) in [
            ("kind", &draft.kind),
            ("type name", &draft.type_name),
            ("licence number", &draft.number),
            ("holder name", &draft.holder.name),
            ("issuer name", &draft.issuer.name),
            ("case id", &draft.case_id),
            ("task id", &draft.task_id),
        ] {
            if value.trim().is_empty() {
                return Err(LicenceError::Empty { field });
            }
        }
        if draft.id.issuer() != &draft.issuer.credit_code {
            return Err(LicenceError::IssuerMismatch {
                in_identifier: draft.id.issuer().to_string(),
                issuer: draft.issuer.credit_code.to_string(),
            });
        }
        if let Some(valid_until) = draft.valid_until
            && valid_until < draft.valid_from
        {
            return Err(LicenceError::ValidityReversed { valid_from: draft.valid_from, valid_until });
        }
        if draft.supersedes.as_ref() == Some(&draft.id) {
            return Err(LicenceError::SupersedesItself { id: draft.id.to_string() });
        }
        Ok(Licence(draft))
    }

    /// The electronic-licence identifier (电子证照标识).
    pub fn id(&self) -> &LicenceId {
        &self.0.id
    }

    /// The catalogue's licence type code.
    pub fn kind(&self) -> &str {
        &self.0.kind
    }

    /// The national licence type code (证照类型代码), the identifier's first segment.
    pub fn type_code(&self) -> &str {
        self.0.id.type_code()
    }

    /// The licence type name (证照类型名称).
    pub fn type_name(&self) -> &str {
        &self.0.type_name
    }

    /// The licence number (证照编号) as printed.
    pub fn number(&self) -> &str {
        &self.0.number
    }

    /// The holder (持证主体).
    pub fn holder(&self) -> &Holder {
        &self.0.holder
    }

    /// The issuing department (颁发机构).
    pub fn issuer(&self) -> &Issuer {
        &self.0.issuer
    }

    /// The date of issue (颁发日期).
    pub fn issue_date(&self) -> Date {
        self.0.issue_date
    }

    /// The first day of validity.
    pub fn valid_from(&self) -> Date {
        self.0.valid_from
    }

    /// The last day of validity; `None` is 长期 (indefinite).
    pub fn valid_until(&self) -> Option<Date> {
        self.0.valid_until
    }

    /// The recorded status.
    pub fn status(&self) -> LicenceStatus {
        self.0.status
    }

    /// The surface fields (照面信息).
    pub fn surface(&self) -> &BTreeMap<String, String> {
        &self.0.surface
    }

    /// The case the licence was issued in.
    pub fn case_id(&self) -> &str {
        &self.0.case_id
    }

    /// The task whose approval issued it.
    pub fn task_id(&self) -> &str {
        &self.0.task_id
    }

    /// The licence this one supersedes (关联证照标识).
    pub fn supersedes(&self) -> Option<&LicenceId> {
        self.0.supersedes.as_ref()
    }

    /// The version (版本号), the identifier's version segment.
    pub fn version(&self) -> u16 {
        self.0.id.version()
    }

    /// The same licence with another status (e.g. cancelled or superseded).
    pub fn with_status(mut self, status: LicenceStatus) -> Licence {
        self.0.status = status;
        self
    }

    /// The unchecked parts, e.g. to change one and check again.
    pub fn into_draft(self) -> LicenceDraft {
        self.0
    }
}
