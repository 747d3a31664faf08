//! The market-entity registry (市场主体登记), as the shared data source (数据共享) the deregistration rules read:
//! one [`MarketEntity`] per credit code, with what the registry, the tax and social-insurance offices and the
//! courts know about it — its status, the abnormal-operations list (经营异常名录), the serious-violation list
//! (严重违法失信名单), arrears, pending cases, encumbered equity, a stock listing and the licences it holds.
//!
//! Where the data comes from (an exchange with the registration authority, a nightly export, a file) is the
//! service's business; the core gives the types and [`Registry::parse_csv`], which reads the CSV exchange
//! format described there from a [`SourceFile`] and reports every bad row at once, located by file, line and
//! column name.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::codes::{CodeError, CreditCode};
use crate::source::SourceFile;

/// The legal form of a market entity (市场主体类型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    /// 公司 (有限责任公司、股份有限公司).
    Company,
    /// 个体工商户: an individual business; deregisters without public notice (a 10-day departmental window).
    IndividualBusiness,
    /// 农民专业合作社: a farmers' specialised cooperative.
    FarmersCooperative,
    /// 分支机构: a branch (分公司) of another entity.
    Branch,
    /// 合伙企业: a partnership.
    Partnership,
    /// 个人独资企业: a sole proprietorship.
    SoleProprietorship,
}

impl EntityType {
    pub const ALL: [EntityType; 6] = [
        EntityType::Company,
        EntityType::IndividualBusiness,
        EntityType::FarmersCooperative,
        EntityType::Branch,
        EntityType::Partnership,
        EntityType::SoleProprietorship,
    ];

    /// The stable snake_case name (the CSV value).
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::Company => "company",
            EntityType::IndividualBusiness => "individual_business",
            EntityType::FarmersCooperative => "farmers_cooperative",
            EntityType::Branch => "branch",
            EntityType::Partnership => "partnership",
            EntityType::SoleProprietorship => "sole_proprietorship",
        }
    }

    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            EntityType::Company => "公司",
            EntityType::IndividualBusiness => "个体工商户",
            EntityType::FarmersCooperative => "农民专业合作社",
            EntityType::Branch => "分支机构",
            EntityType::Partnership => "合伙企业",
            EntityType::SoleProprietorship => "个人独资企业",
        }
    }

    /// Character 2 of the credit code of an entity of this type registered by market regulation (character 1
    /// `9`): `1` 企业, `2` 个体工商户, `3` 农民专业合作社 (GB 32100, DOMAIN.md §5.1).
    pub fn credit_code_kind(self) -> char {
        match self {
            EntityType::IndividualBusiness => '2',
            EntityType::FarmersCooperative => '3',
            _ => '1',
        }
    }

    fn parse(s: &str) -> Option<EntityType> {
        EntityType::ALL.into_iter().find(|t| t.as_str() == s || t.name_zh() == s)
    }
}

/// The registration status (登记状态).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityStatus {
    /// 存续（在业）: registered and in business.
    InBusiness,
    /// 吊销: the business licence was revoked; the entity still exists and must liquidate and deregister.
    Revoked,
    /// 责令关闭: ordered closed; like a revocation, it must still liquidate and deregister.
    OrderedClosed,
    /// 撤销: the registration itself was annulled (撤销登记); there is nothing left to deregister.
    Annulled,
    /// 注销: deregistered.
    Deregistered,
}

impl EntityStatus {
    pub const ALL: [EntityStatus; 5] = [
        EntityStatus::InBusiness,
        EntityStatus::Revoked,
        EntityStatus::OrderedClosed,
        EntityStatus::Annulled,
        EntityStatus::Deregistered,
    ];

    /// The stable snake_case name (the CSV value).
    pub fn as_str(self) -> &'static str {
        match self {
            EntityStatus::InBusiness => "in_business",
            EntityStatus::Revoked => "revoked",
            EntityStatus::OrderedClosed => "ordered_closed",
            EntityStatus::Annulled => "annulled",
            EntityStatus::Deregistered => "deregistered",
        }
    }

    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            EntityStatus::InBusiness => "存续（在业）",
            EntityStatus::Revoked => "吊销",
            EntityStatus::OrderedClosed => "责令关闭",
            EntityStatus::Annulled => "撤销",
            EntityStatus::Deregistered => "注销",
        }
    }

    fn parse(s: &str) -> Option<EntityStatus> {
        match s {
            "存续" | "在业" => Some(EntityStatus::InBusiness),
            _ => EntityStatus::ALL.into_iter().find(|t| t.as_str() == s || t.name_zh() == s),
        }
    }
}

/// Why an entity is on the abnormal-operations list (列入经营异常名录的事由, 企业信息公示暂行条例).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbnormalReason {
    /// 未按照规定的期限公示年度报告: the annual report is overdue.
    AnnualReportOverdue,
    /// 未在责令的期限内公示有关企业信息: information not published when ordered.
    InformationNotPublished,
    /// 公示企业信息隐瞒真实情况、弄虚作假: published information was false.
    FalseInformation,
    /// 通过登记的住所或者经营场所无法联系: unreachable at the registered address.
    Unreachable,
}

impl AbnormalReason {
    pub const ALL: [AbnormalReason; 4] = [
        AbnormalReason::AnnualReportOverdue,
        AbnormalReason::InformationNotPublished,
        AbnormalReason::FalseInformation,
        AbnormalReason::Unreachable,
    ];

    /// The stable snake_case name (the CSV value).
    pub fn as_str(self) -> &'static str {
        match self {
            AbnormalReason::AnnualReportOverdue => "annual_report_overdue",
            AbnormalReason::InformationNotPublished => "information_not_published",
            AbnormalReason::FalseInformation => "false_information",
            AbnormalReason::Unreachable => "unreachable",
        }
    }

    /// The Chinese wording of the reason.
    pub fn name_zh(self) -> &'static str {
        match self {
            AbnormalReason::AnnualReportOverdue => "未按照规定的期限公示年度报告",
            AbnormalReason::InformationNotPublished => "未在责令的期限内公示有关企业信息",
            AbnormalReason::FalseInformation => "公示企业信息隐瞒真实情况、弄虚作假",
            AbnormalReason::Unreachable => "通过登记的住所或者经营场所无法联系",
        }
    }

    /// The English wording of the reason.
    pub fn name_en(self) -> &'static str {
        match self {
            AbnormalReason::AnnualReportOverdue => "the annual report was not published in time",
            AbnormalReason::InformationNotPublished => "information was not published within the period ordered",
            AbnormalReason::FalseInformation => "published information concealed the facts or was false",
            AbnormalReason::Unreachable => "the entity cannot be reached at its registered address",
        }
    }

    fn parse(s: &str) -> Option<AbnormalReason> {
        AbnormalReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A listing on the abnormal-operations list (经营异常名录).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbnormalListing {
    pub reason: AbnormalReason,
    pub listed_on: Date,
}

/// A listing on the market-regulation serious-violation list (严重违法失信名单).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriousViolationListing {
    pub reason: String,
    pub listed_on: Date,
}

/// A matter still open against the entity (实施细则 §48: 立案调查、行政强制、诉讼、仲裁、罚款未执行完毕).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingMatter {
    /// 被立案调查: under investigation by a regulator.
    Investigation,
    /// 被采取行政强制措施: under an administrative compulsory measure.
    Enforcement,
    /// 涉及诉讼: a party to litigation.
    Litigation,
    /// 涉及仲裁: a party to arbitration.
    Arbitration,
    /// 行政处罚（罚款）未执行完毕: a fine not fully paid.
    UnpaidFine,
}

impl PendingMatter {
    pub const ALL: [PendingMatter; 5] = [
        PendingMatter::Investigation,
        PendingMatter::Enforcement,
        PendingMatter::Litigation,
        PendingMatter::Arbitration,
        PendingMatter::UnpaidFine,
    ];

    /// The stable snake_case name (the CSV value).
    pub fn as_str(self) -> &'static str {
        match self {
            PendingMatter::Investigation => "investigation",
            PendingMatter::Enforcement => "enforcement",
            PendingMatter::Litigation => "litigation",
            PendingMatter::Arbitration => "arbitration",
            PendingMatter::UnpaidFine => "unpaid_fine",
        }
    }

    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            PendingMatter::Investigation => "被立案调查",
            PendingMatter::Enforcement => "被采取行政强制措施",
            PendingMatter::Litigation => "正在诉讼",
            PendingMatter::Arbitration => "正在仲裁",
            PendingMatter::UnpaidFine => "罚款未执行完毕",
        }
    }

    fn parse(s: &str) -> Option<PendingMatter> {
        PendingMatter::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// A sum of money in fen (分), never negative: 1 yuan (元) = 100 fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fen(pub u64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

    /// Parses yuan with at most two decimals: `0`, `1200`, `12345.6`, `12345.67`.
    pub fn parse_yuan(s: &str) -> Option<Fen> {
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        if whole.is_empty()
            || whole.len() > 15
            || frac.len() > 2
            || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
            || (s.contains('.') && frac.is_empty())
        {
            return None;
        }
        let whole: u64 = whole.parse().ok()?;
        let frac: u64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
        whole.checked_mul(100)?.checked_add(frac).map(Fen)
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Fen {
    /// Yuan with two decimals: `12345.67`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// A licence the registry lists for the entity (涉企经营许可): its type code, as in the catalogue's
/// `licences.toml`, and its number (证照编号).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldLicence {
    pub licence_type: String,
    pub number: String,
}

/// 市场主体: a registered market entity, as the deregistration rules see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketEntity {
    /// 统一社会信用代码.
    pub credit_code: CreditCode,
    /// 名称.
    pub name: String,
    pub entity_type: EntityType,
    /// 法定代表人 (for a 个体工商户 the operator 经营者, for a branch its 负责人).
    pub legal_representative: String,
    pub status: EntityStatus,
    /// 登记机关.
    pub registration_authority: String,
    /// 经营异常名录: `Some` while listed.
    pub abnormal: Option<AbnormalListing>,
    /// 严重违法失信名单: `Some` while listed.
    pub serious_violation: Option<SeriousViolationListing>,
    /// 欠税: open tax arrears (税款、滞纳金、罚款).
    pub tax_arrears: Fen,
    /// 欠缴社会保险费: open social-insurance arrears.
    pub social_insurance_arrears: Fen,
    /// Open investigations, enforcement, litigation, arbitration, unpaid fines.
    pub pending: Vec<PendingMatter>,
    /// 股权（财产份额）被冻结.
    pub equity_frozen: bool,
    /// 股权出质.
    pub equity_pledged: bool,
    /// 上市: a listed company (上市股份有限公司).
    pub listed: bool,
    /// 涉企经营许可: the licences it holds.
    pub licences: Vec<HeldLicence>,
}

/// The registry: market entities by credit code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    entities: BTreeMap<CreditCode, MarketEntity>,
}

/// A column of the CSV format, in the order the demo file writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Col {
    CreditCode,
    Name,
    EntityType,
    LegalRepresentative,
    Status,
    RegistrationAuthority,
    AbnormalListed,
    AbnormalReason,
    AbnormalListedOn,
    SeriousViolationListed,
    SeriousViolationReason,
    SeriousViolationListedOn,
    TaxArrears,
    SocialInsuranceArrears,
    Pending,
    EquityFrozen,
    EquityPledged,
    Listed,
    Licences,
}

impl Col {
    const ALL: [Col; 19] = [
        Col::CreditCode,
        Col::Name,
        Col::EntityType,
        Col::LegalRepresentative,
        Col::Status,
        Col::RegistrationAuthority,
        Col::AbnormalListed,
        Col::AbnormalReason,
        Col::AbnormalListedOn,
        Col::SeriousViolationListed,
        Col::SeriousViolationReason,
        Col::SeriousViolationListedOn,
        Col::TaxArrears,
        Col::SocialInsuranceArrears,
        Col::Pending,
        Col::EquityFrozen,
        Col::EquityPledged,
        Col::Listed,
        Col::Licences,
    ];

    fn name(self) -> &'static str {
        match self {
            Col::CreditCode => "credit_code",
            Col::Name => "name",
            Col::EntityType => "entity_type",
            Col::LegalRepresentative => "legal_representative",
            Col::Status => "status",
            Col::RegistrationAuthority => "registration_authority",
            Col::AbnormalListed => "abnormal_listed",
            Col::AbnormalReason => "abnormal_reason",
            Col::AbnormalListedOn => "abnormal_listed_on",
            Col::SeriousViolationListed => "serious_violation_listed",
            Col::SeriousViolationReason => "serious_violation_reason",
            Col::SeriousViolationListedOn => "serious_violation_listed_on",
            Col::TaxArrears => "tax_arrears",
            Col::SocialInsuranceArrears => "social_insurance_arrears",
            Col::Pending => "pending",
            Col::EquityFrozen => "equity_frozen",
            Col::EquityPledged => "equity_pledged",
            Col::Listed => "listed",
            Col::Licences => "licences",
        }
    }

    /// The first six columns must be in the header; the others default to "not listed", zero, none, no.
    fn required(self) -> bool {
        matches!(
            self,
            Col::CreditCode
                | Col::Name
                | Col::EntityType
                | Col::LegalRepresentative
                | Col::Status
                | Col::RegistrationAuthority
        )
    }
}

/// The names of the CSV columns, in the demo file's order; the first six are required in the header.
pub fn csv_columns() -> Vec<&'static str> {
    Col::ALL.iter().map(|c| c.name()).collect()
}

/// What is wrong with a row (or the header) of a registry CSV.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryErrorKind {
    /// The file has no header line.
    #[error("the file is empty: the first line must name the columns")]
    Empty,
    /// The CSV itself cannot be read.
    #[error("the CSV cannot be read: {detail}")]
    Csv { detail: String },
    /// A header names a column the format does not have.
    #[error("unknown column: the columns are {}", csv_columns().join(", "))]
    UnknownColumn,
    /// A header names a column twice.
    #[error("the column is named twice in the header")]
    DuplicateColumn,
    /// A required column is not in the header.
    #[error("the column is required but missing from the header")]
    MissingColumn,
    /// A row has more or fewer fields than the header.
    #[error("the row has {found} fields but the header names {expected} columns")]
    FieldCount { expected: usize, found: usize },
    /// A required value is empty.
    #[error("a value is required")]
    Required,
    /// The credit code does not parse.
    #[error("{0}")]
    CreditCode(CodeError),
    /// A value is not one the column allows.
    #[error("{value:?} is not {expected}")]
    BadValue { value: String, expected: String },
    /// The entity type does not match character 2 of a market-regulation credit code.
    #[error(
        "a {entity_type} has character 2 of its credit code {expected:?}, but this credit code has {found:?}: \
         check the type or the code"
    )]
    TypeMismatch { entity_type: &'static str, expected: char, found: char },
    /// A reason or date is given although the list flag says the entity is not listed, or the reverse.
    #[error("{detail}")]
    Inconsistent { detail: String },
    /// A credit code appears in two rows.
    #[error("credit code {credit_code} is listed twice (first on line {first_line})")]
    DuplicateEntity { credit_code: String, first_line: usize },
}

impl RegistryErrorKind {
    /// A stable snake_case code for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryErrorKind::Empty => "empty_file",
            RegistryErrorKind::Csv { .. } => "bad_csv",
            RegistryErrorKind::UnknownColumn => "unknown_column",
            RegistryErrorKind::DuplicateColumn => "duplicate_column",
            RegistryErrorKind::MissingColumn => "missing_column",
            RegistryErrorKind::FieldCount { .. } => "field_count",
            RegistryErrorKind::Required => "required",
            RegistryErrorKind::CreditCode(_) => "bad_credit_code",
            RegistryErrorKind::BadValue { .. } => "bad_value",
            RegistryErrorKind::TypeMismatch { .. } => "entity_type_mismatch",
            RegistryErrorKind::Inconsistent { .. } => "inconsistent_listing",
            RegistryErrorKind::DuplicateEntity { .. } => "duplicate_entity",
        }
    }
}

/// An error in a registry CSV, located by file, line (1-based; where the record starts, for a quoted field
/// spanning lines) and column name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {}{kind}", .column.as_ref().map(|c| format!("column {c}: ")).unwrap_or_default())]
pub struct RegistryError {
    pub file: String,
    pub line: usize,
    pub column: Option<String>,
    pub kind: RegistryErrorKind,
}

impl RegistryError {
    /// The stable snake_case code of the kind of mistake.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

impl Registry {
    /// Reads the registry's CSV exchange format.
    ///
    /// - UTF-8, an optional byte-order mark, comma-separated, fields quoted with `"` when they hold a comma, a
    ///   quote (doubled) or a line break; surrounding spaces are trimmed; blank lines and lines starting with
    ///   `#` are skipped.
    /// - The first line names the columns ([`csv_columns`]), in any order. `credit_code`, `name`,
    ///   `entity_type`, `legal_representative`, `status` and `registration_authority` are required; a missing
    ///   optional column means "not listed", zero, none or no for every row.
    /// - `entity_type`: `company`, `individual_business`, `farmers_cooperative`, `branch`, `partnership`,
    ///   `sole_proprietorship` (or the Chinese name). For a credit code of market regulation (character 1 `9`),
    ///   character 2 must match the type (`1` enterprise, `2` 个体工商户, `3` 农民专业合作社).
    /// - `status`: `in_business`, `revoked`, `ordered_closed`, `annulled`, `deregistered` (or 存续, 在业, 吊销,
    ///   责令关闭, 撤销, 注销).
    /// - Flags (`abnormal_listed`, `serious_violation_listed`, `equity_frozen`, `equity_pledged`, `listed`):
    ///   `yes`/`no`, `true`/`false`, `1`/`0`, `是`/`否`, or empty for no.
    /// - A listed entity gives the reason and the date (`YYYY-MM-DD`) of its listing; an entity not listed gives
    ///   neither. `abnormal_reason`: `annual_report_overdue`, `information_not_published`, `false_information`,
    ///   `unreachable`; `serious_violation_reason` is free text.
    /// - Arrears in yuan with at most two decimals (`12345.67`), empty for none.
    /// - `pending`: `;`-separated `investigation`, `enforcement`, `litigation`, `arbitration`, `unpaid_fine`.
    /// - `licences`: `;`-separated `type:number`, the type a licence-type code of the catalogue.
    ///
    /// Returns the registry or every error found (a row with several bad values reports each), in line order.
    pub fn parse_csv(file: &SourceFile) -> Result<Registry, Vec<RegistryError>> {
        let text = file.text.strip_prefix('\u{feff}').unwrap_or(&file.text);
        let mut errors = Vec::new();
        let err = |line: usize, column: Option<Col>, kind: RegistryErrorKind| RegistryError {
            file: file.name.clone(),
            line,
            column: column.map(|c| c.name().to_string()),
            kind,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let mut records = reader.records();
        let header = match records.next() {
            None => return Err(vec![err(1, None, RegistryErrorKind::Empty)]),
            Some(Err(e)) => {
                return Err(vec![err(csv_line(&e), None, RegistryErrorKind::Csv { detail: e.to_string() })]);
            }
            Some(Ok(h)) => h,
        };
        let header_line = header.position().map_or(1, |p| usize::try_from(p.line()).unwrap_or(usize::MAX));
        // Which column each field of a row is (None: an unknown column, already reported).
        let mut layout: Vec<Option<Col>> = Vec::with_capacity(header.len());
        let mut seen = BTreeSet::new();
        for name in &header {
            let col = Col::ALL.into_iter().find(|c| c.name() == name);
            match col {
                None => errors.push(RegistryError {
                    file: file.name.clone(),
                    line: header_line,
                    column: Some(name.to_string()),
                    kind: RegistryErrorKind::UnknownColumn,
                }),
                Some(c) if !seen.insert(c) => {
                    errors.push(err(header_line, Some(c), RegistryErrorKind::DuplicateColumn))
                }
                Some(_) => {}
            }
            layout.push(col);
        }
        for c in Col::ALL {
            if c.required() && !seen.contains(&c) {
                errors.push(err(header_line, Some(c), RegistryErrorKind::MissingColumn));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }

        let mut entities: BTreeMap<CreditCode, MarketEntity> = BTreeMap::new();
        let mut first_line: BTreeMap<CreditCode, usize> = BTreeMap::new();
        for record in records {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    errors.push(err(csv_line(&e), None, RegistryErrorKind::Csv { detail: e.to_string() }));
                    continue;
                }
            };
            let line = record.position().map_or(0, |p| usize::try_from(p.line()).unwrap_or(usize::MAX));
            if record.len() != layout.len() {
                errors.push(err(
                    line,
                    None,
                    RegistryErrorKind::FieldCount { expected: layout.len(), found: record.len() },
                ));
                continue;
            }
            let mut values: BTreeMap<Col, &str> = BTreeMap::new();
            for (col, value) in layout.iter().zip(&record) {
                if let Some(c) = col {
                    values.insert(*c, value);
                }
            }
            let mut row = Row { values, problems: Vec::new() };
            if let Some(entity) = row.entity() {
                let code = entity.credit_code.clone();
                if let Some(first) = first_line.get(&code) {
                    row.problem(
                        Col::CreditCode,
                        RegistryErrorKind::DuplicateEntity { credit_code: code.to_string(), first_line: *first },
                    );
                } else {
                    first_line.insert(code.clone(), line);
                    entities.insert(code, entity);
                }
            }
            errors.extend(row.problems.into_iter().map(|(c, k)| err(line, Some(c), k)));
        }
        if errors.is_empty() { Ok(Registry { entities }) } else { Err(errors) }
    }

    /// A registry of these entities (the last of two with one credit code wins).
    pub fn from_entities(entities: impl IntoIterator<Item = MarketEntity>) -> Registry {
        Registry { entities: entities.into_iter().map(|e| (e.credit_code.clone(), e)).collect() }
    }

    /// The entity with this credit code.
    pub fn get(&self, code: &CreditCode) -> Option<&MarketEntity> {
        self.entities.get(code)
    }

    /// Every entity, by credit code.
    pub fn entities(&self) -> impl Iterator<Item = &MarketEntity> {
        self.entities.values()
    }

    pub fn len(&self) -> usize {
        self.entities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }
}

fn csv_line(e: &csv::Error) -> usize {
    e.position().map_or(1, |p| usize::try_from(p.line()).unwrap_or(usize::MAX))
}

/// One data row being read: its values by column and the problems found so far.
struct Row<'a> {
    values: BTreeMap<Col, &'a str>,
    problems: Vec<(Col, RegistryErrorKind)>,
}

impl<'a> Row<'a> {
    fn problem(&mut self, col: Col, kind: RegistryErrorKind) {
        self.problems.push((col, kind));
    }

    fn get(&self, col: Col) -> &'a str {
        self.values.get(&col).copied().unwrap_or("")
    }

    fn bad(&mut self, col: Col, expected: impl Into<String>) {
        let value = self.get(col).to_string();
        self.problem(col, RegistryErrorKind::BadValue { value, expected: expected.into() });
    }

    fn required(&mut self, col: Col) -> Option<String> {
        let v = self.get(col);
        if v.is_empty() {
            self.problem(col, RegistryErrorKind::Required);
            None
        } else {
            Some(v.to_string())
        }
    }

    fn parsed<T>(&mut self, col: Col, parse: impl Fn(&str) -> Option<T>, expected: &str) -> Option<T> {
        let v = self.get(col);
        if v.is_empty() {
            self.problem(col, RegistryErrorKind::Required);
            return None;
        }
        let parsed = parse(v);
        if parsed.is_none() {
            self.bad(col, expected);
        }
        parsed
    }

    fn flag(&mut self, col: Col) -> bool {
        match self.get(col) {
            "" | "no" | "false" | "0" | "否" => false,
            "yes" | "true" | "1" | "是" => true,
            _ => {
                self.bad(col, "yes or no");
                false
            }
        }
    }

    fn money(&mut self, col: Col) -> Fen {
        let v = self.get(col);
        if v.is_empty() {
            return Fen::ZERO;
        }
        Fen::parse_yuan(v).unwrap_or_else(|| {
            self.bad(col, "an amount in yuan with at most two decimals, e.g. 12345.67");
            Fen::ZERO
        })
    }

    fn date(&mut self, col: Col) -> Option<Date> {
        self.parsed(col, |s| s.parse::<Date>().ok(), "a date YYYY-MM-DD")
    }

    /// A listing: the flag, then reason and date required when listed and absent when not.
    fn listing<R>(
        &mut self,
        flag: Col,
        reason_col: Col,
        date_col: Col,
        reason: impl Fn(&str) -> Option<R>,
        expected: &str,
    ) -> Option<(R, Date)> {
        let listed = self.flag(flag);
        if !listed {
            for c in [reason_col, date_col] {
                if !self.get(c).is_empty() {
                    let detail = format!("given, but {} says the entity is not listed", flag.name());
                    self.problem(c, RegistryErrorKind::Inconsistent { detail });
                }
            }
            return None;
        }
        let r = self.parsed(reason_col, reason, expected);
        let d = self.date(date_col);
        r.zip(d)
    }

    fn entity(&mut self) -> Option<MarketEntity> {
        let credit_code = match CreditCode::parse(self.get(Col::CreditCode)) {
            Ok(c) => Some(c),
            Err(e) => {
                self.problem(Col::CreditCode, RegistryErrorKind::CreditCode(e));
                None
            }
        };
        let name = self.required(Col::Name);
        let entity_type = self.parsed(Col::EntityType, EntityType::parse, &one_of(EntityType::ALL.map(|t| t.as_str())));
        if let (Some(code), Some(t)) = (&credit_code, entity_type) {
            let found = code.as_str().chars().nth(1).unwrap_or('0');
            if code.registration_authority() == '9' && found != t.credit_code_kind() {
                self.problem(
                    Col::EntityType,
                    RegistryErrorKind::TypeMismatch { entity_type: t.as_str(), expected: t.credit_code_kind(), found },
                );
            }
        }
        let legal_representative = self.required(Col::LegalRepresentative);
        let status = self.parsed(Col::Status, EntityStatus::parse, &one_of(EntityStatus::ALL.map(|s| s.as_str())));
        let registration_authority = self.required(Col::RegistrationAuthority);
        let abnormal = self.listing(
            Col::AbnormalListed,
            Col::AbnormalReason,
            Col::AbnormalListedOn,
            AbnormalReason::parse,
            &one_of(AbnormalReason::ALL.map(|r| r.as_str())),
        );
        let serious = self.listing(
            Col::SeriousViolationListed,
            Col::SeriousViolationReason,
            Col::SeriousViolationListedOn,
            |s| Some(s.to_string()),
            "a reason",
        );
        let tax_arrears = self.money(Col::TaxArrears);
        let social_insurance_arrears = self.money(Col::SocialInsuranceArrears);
        let mut pending = Vec::new();
        for part in split_list(self.get(Col::Pending)) {
            match PendingMatter::parse(part) {
                Some(m) if !pending.contains(&m) => pending.push(m),
                Some(_) => {}
                None => {
                    let expected = format!("a list of {}", one_of(PendingMatter::ALL.map(|m| m.as_str())));
                    self.problem(Col::Pending, RegistryErrorKind::BadValue { value: part.to_string(), expected });
                }
            }
        }
        let equity_frozen = self.flag(Col::EquityFrozen);
        let equity_pledged = self.flag(Col::EquityPledged);
        let listed = self.flag(Col::Listed);
        let mut licences = Vec::new();
        for part in split_list(self.get(Col::Licences)) {
            let parsed = part.split_once(':').map(|(t, n)| (t.trim(), n.trim())).filter(|(t, n)| {
                !n.is_empty()
                    && t.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
                    && t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            });
            match parsed {
                Some((t, n)) => licences.push(HeldLicence { licence_type: t.to_string(), number: n.to_string() }),
                None => self.problem(
                    Col::Licences,
                    RegistryErrorKind::BadValue {
                        value: part.to_string(),
                        expected: "type:number, the type a licence-type code such as food-business-permit".into(),
                    },
                ),
            }
        }
        if !self.problems.is_empty() {
            return None;
        }
        Some(MarketEntity {
            credit_code: credit_code?,
            name: name?,
            entity_type: entity_type?,
            legal_representative: legal_representative?,
            status: status?,
            registration_authority: registration_authority?,
            abnormal: abnormal.map(|(reason, listed_on)| AbnormalListing { reason, listed_on }),
            serious_violation: serious.map(|(reason, listed_on)| SeriousViolationListing { reason, listed_on }),
            tax_arrears,
            social_insurance_arrears,
            pending,
            equity_frozen,
            equity_pledged,
            listed,
            licences,
        })
    }
}

fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split([';', '；']).map(str::trim).filter(|p| !p.is_empty())
}

fn one_of<const N: usize>(names: [&str; N]) -> String {
    format!("one of {}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_parse_to_fen() {
        assert_eq!(Fen::parse_yuan("0"), Some(Fen(0)));
        assert_eq!(Fen::parse_yuan("12345.67"), Some(Fen(1_234_567)));
        assert_eq!(Fen::parse_yuan("12.5"), Some(Fen(1250)));
        assert_eq!(Fen(1250).to_string(), "12.50");
        for bad in ["", "-1", "1.234", "1.", ".5", "1,000", "１"] {
            assert_eq!(Fen::parse_yuan(bad), None, "{bad}");
        }
    }
}
