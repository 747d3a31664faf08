//! 企业注销 as the law has it (市场主体登记管理条例 §31–34, DOMAIN.md §2): the [`precheck`] of a market entity
//! against every rule of simple deregistration (简易注销) and general deregistration (一般注销), the "+N" items
//! its licences add to the `close-company` bundle, and the [`Deregistration`] procedure as an event-sourced
//! aggregate linked to the case (办件) that carries the department tasks.
//!
//! The procedure, path by path:
//!
//! | path | steps |
//! | --- | --- |
//! | simple (简易注销) | opened → public notice (公示) of 20 calendar days on the national credit-information publicity system → no objection: notice closed, the tasks may start → deregistered (准予注销) → announcement (注销公告) published |
//! | simple, objection | … → an objection (异议) during the notice stops the simple path, with the advice to use the general procedure → switched to general → the general path |
//! | simple, 个体工商户 | opened → a departmental window of 10 days, not public, in which only departments object → as the simple path |
//! | general (一般注销) | opened → liquidation group filed (清算组备案) → creditor notice (债权人公告) of 45 days → closed, the tasks may start → deregistered → announcement published |
//!
//! Every step is a command that checks and returns one [`DeregistrationEvent`] without changing anything;
//! [`Deregistration::apply`] applies it and cannot fail; [`replay`] rebuilds the aggregate from its events.
//! Events carry everything decided (ids, computed dates), so applying needs no clock and no catalogue.
//!
//! Periods are calendar days (日), not working days, in China time (+08:00): per 民法典 §201 the day of
//! publication is not counted, so a notice published on day D runs from D+1 to D+20 and closes at 00:00 of
//! D+21. Holidays do not move the end (DOMAIN.md §2 [M]; 民法典 §203 would move a last day that falls on a
//! holiday, which the registry's practice for the 公示 is not known to follow).

use jiff::civil::Date;
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};

use crate::calendar::china_tz;
use crate::catalog::Catalog;
use crate::codes::{CodeError, CreditCode, IdNumber};
use crate::registry::{EntityStatus, EntityType, HeldLicence, MarketEntity, PendingMatter};

/// The public notice (公示) of a simple deregistration: 20 days (条例 §33).
pub const PUBLIC_NOTICE_DAYS: i16 = 20;
/// The departmental objection window of a 个体工商户's simple deregistration: 10 days (条例 §33).
pub const DEPARTMENT_WINDOW_DAYS: i16 = 10;
/// The creditor notice (债权人公告) of a general deregistration: creditors who received no notice declare their
/// claims within 45 days of the announcement (公司法 §235).
pub const CREDITOR_NOTICE_DAYS: i16 = 45;
/// After a public notice without objection, the entity applies within 20 days (条例 §33).
pub const APPLY_WITHIN_DAYS: i16 = 20;

// ---------------------------------------------------------------------------------------------------------
// Precheck
// ---------------------------------------------------------------------------------------------------------

/// 注销程序: the deregistration procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Procedure {
    /// 简易注销: no debts (or all settled), a 20-day public notice instead of a liquidation.
    Simple,
    /// 一般注销: liquidation, a liquidation group and a 45-day creditor notice.
    General,
}

impl Procedure {
    pub fn as_str(self) -> &'static str {
        match self {
            Procedure::Simple => "simple",
            Procedure::General => "general",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Procedure::Simple => "简易注销",
            Procedure::General => "一般注销",
        }
    }
}

/// A rule of the precheck, by its stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrecheckRule {
    /// 已注销: nothing to deregister.
    AlreadyDeregistered,
    /// 登记已被撤销: the registration was annulled; nothing to deregister.
    RegistrationAnnulled,
    /// 营业执照被吊销: the simple procedure is excluded; liquidate and use the general one.
    LicenceRevoked,
    /// 被责令关闭: as a revocation.
    OrderedClosed,
    /// 列入经营异常名录: the simple procedure is excluded (条例 §33).
    AbnormalOperationsList,
    /// 列入严重违法失信名单: the simple procedure is excluded (企业注销指引 2025).
    SeriousViolationList,
    /// 欠税: taxes, late fees or fines unpaid; the simple procedure needs them settled (条例 §33).
    TaxArrears,
    /// 欠缴社会保险费: social-insurance contributions unpaid (条例 §33).
    SocialInsuranceArrears,
    /// 被立案调查或者被采取行政强制措施 (实施细则 §48).
    PendingInvestigation,
    /// 正在诉讼或者仲裁 (实施细则 §48).
    PendingLitigation,
    /// 罚款未执行完毕 (实施细则 §48).
    UnpaidFine,
    /// 股权（财产份额）被冻结 (实施细则 §48).
    EquityFrozen,
    /// 股权出质 (实施细则 §48).
    EquityPledged,
    /// 上市股份有限公司: excluded from the simple procedure (企业注销指引 2025).
    ListedCompany,
    /// 个体工商户: no public notice; a 10-day departmental objection window instead. Blocks nothing.
    IndividualBusiness,
    /// A licence the registry lists has a type whose cancellation item the catalogue does not name: the
    /// officer cancels it by hand. Blocks nothing.
    LicenceWithoutCancellationItem,
}

impl PrecheckRule {
    /// The stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            PrecheckRule::AlreadyDeregistered => "already_deregistered",
            PrecheckRule::RegistrationAnnulled => "registration_annulled",
            PrecheckRule::LicenceRevoked => "licence_revoked",
            PrecheckRule::OrderedClosed => "ordered_closed",
            PrecheckRule::AbnormalOperationsList => "abnormal_operations_list",
            PrecheckRule::SeriousViolationList => "serious_violation_list",
            PrecheckRule::TaxArrears => "tax_arrears",
            PrecheckRule::SocialInsuranceArrears => "social_insurance_arrears",
            PrecheckRule::PendingInvestigation => "pending_investigation",
            PrecheckRule::PendingLitigation => "pending_litigation",
            PrecheckRule::UnpaidFine => "unpaid_fine",
            PrecheckRule::EquityFrozen => "equity_frozen",
            PrecheckRule::EquityPledged => "equity_pledged",
            PrecheckRule::ListedCompany => "listed_company",
            PrecheckRule::IndividualBusiness => "individual_business",
            PrecheckRule::LicenceWithoutCancellationItem => "licence_without_cancellation_item",
        }
    }

    /// Which procedures a finding of this rule refuses.
    pub fn blocks(self) -> Blocks {
        match self {
            PrecheckRule::AlreadyDeregistered | PrecheckRule::RegistrationAnnulled => Blocks::Both,
            PrecheckRule::IndividualBusiness | PrecheckRule::LicenceWithoutCancellationItem => Blocks::Nothing,
            _ => Blocks::Simple,
        }
    }
}

/// What a precheck finding refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Blocks {
    /// The simple procedure only; the general one stays open.
    Simple,
    /// Both procedures.
    Both,
    /// Nothing: the finding says how the procedure runs or what the officer does by hand.
    Nothing,
}

/// A step that removes an obstacle or goes round it, by a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WayOutAction {
    /// 申请移出经营异常名录 (after filing the overdue annual report, publishing the information …).
    LeaveAbnormalList,
    /// 信用修复: apply to be removed from the serious-violation list.
    CreditRepair,
    /// 清缴欠税 / 社保费.
    PayArrears,
    /// Wait for the investigation, enforcement, litigation or arbitration to conclude, or pay the fine.
    ConcludeMatter,
    /// 解除冻结.
    LiftFreeze,
    /// 解除出质 (注销出质登记).
    ReleasePledge,
    /// 一般注销: liquidate and use the general procedure.
    GeneralProcedure,
    /// The departmental window replaces the public notice; nothing to do.
    DepartmentWindow,
    /// The officer cancels the licence outside the plan.
    CancelByHand,
    /// Nothing can or need be done.
    None,
}

/// The way out of a finding: machine-readable actions and the sentence the officer reads out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WayOut {
    pub actions: Vec<WayOutAction>,
    pub zh: String,
    pub en: String,
}

/// One finding of the precheck: the rule, what it refuses, why, and the way out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrecheckReason {
    pub code: PrecheckRule,
    pub blocks: Blocks,
    pub message_zh: String,
    pub message_en: String,
    pub way_out: WayOut,
}

/// A "+N" item: the cancellation item a licence type names, with the licences of that type it cancels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddedItem {
    pub item: String,
    pub name: String,
    pub name_en: String,
    pub department: String,
    pub licences: Vec<HeldLicence>,
}

/// The outcome of the precheck of one market entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Precheck {
    pub credit_code: CreditCode,
    pub entity_type: EntityType,
    /// 简易注销 may be used.
    pub simple_allowed: bool,
    /// 一般注销 may be used.
    pub general_allowed: bool,
    /// What the simple path publishes: a public notice, or a departmental window for a 个体工商户.
    pub simple_notice: NoticeKind,
    /// Every finding, in rule order.
    pub reasons: Vec<PrecheckReason>,
    /// The cancellation items of the licences held (the "+N"), in the order of the licences, one per item.
    pub added_items: Vec<AddedItem>,
}

impl Precheck {
    /// Whether the procedure may be used.
    pub fn allows(&self, procedure: Procedure) -> bool {
        match procedure {
            Procedure::Simple => self.simple_allowed,
            Procedure::General => self.general_allowed,
        }
    }

    /// The codes of the findings that refuse the procedure.
    pub fn refusals(&self, procedure: Procedure) -> Vec<PrecheckRule> {
        self.reasons
            .iter()
            .filter(|r| match (r.blocks, procedure) {
                (Blocks::Both, _) | (Blocks::Simple, Procedure::Simple) => true,
                (Blocks::Simple, Procedure::General) | (Blocks::Nothing, _) => false,
            })
            .map(|r| r.code)
            .collect()
    }

    /// The item codes to add to the plan: [`crate::plan::compile_with_extra_items`].
    pub fn added_item_codes(&self) -> Vec<String> {
        self.added_items.iter().map(|a| a.item.clone()).collect()
    }
}

fn reason(
    code: PrecheckRule,
    zh: String,
    en: String,
    actions: &[WayOutAction],
    way_zh: &str,
    way_en: &str,
) -> PrecheckReason {
    PrecheckReason {
        code,
        blocks: code.blocks(),
        message_zh: zh,
        message_en: en,
        way_out: WayOut { actions: actions.to_vec(), zh: way_zh.to_string(), en: way_en.to_string() },
    }
}

const GENERAL_ZH: &str = "成立清算组，按一般注销程序办理（清算组备案、债权人公告45日）。";
const GENERAL_EN: &str =
    "Form a liquidation group and use the general procedure (group filing, a 45-day creditor notice).";

/// Checks a market entity against every rule of DOMAIN.md §2 and lists the cancellation items its licences
/// add ("+N"). Pure: the registry data and the catalogue are all it reads.
pub fn precheck(entity: &MarketEntity, catalog: &Catalog) -> Precheck {
    use WayOutAction as A;
    let mut reasons = Vec::new();
    match entity.status {
        EntityStatus::Deregistered => reasons.push(reason(
            PrecheckRule::AlreadyDeregistered,
            format!("{}已注销，无需再办理注销。", entity.name),
            format!("{} is already deregistered.", entity.name),
            &[A::None],
            "无需办理。",
            "Nothing to do.",
        )),
        EntityStatus::Annulled => reasons.push(reason(
            PrecheckRule::RegistrationAnnulled,
            format!("{}的登记已被撤销，无可注销的登记。", entity.name),
            format!("The registration of {} was annulled: there is no registration left to deregister.", entity.name),
            &[A::None],
            "无需办理；对撤销决定有异议的，可依法申请行政复议或提起行政诉讼。",
            "Nothing to do; an objection to the annulment goes to administrative review or court.",
        )),
        EntityStatus::Revoked => reasons.push(reason(
            PrecheckRule::LicenceRevoked,
            "营业执照已被吊销，不适用简易注销程序。".to_string(),
            "The business licence was revoked: the simple procedure does not apply.".to_string(),
            &[A::GeneralProcedure],
            "依法清算后按一般注销程序办理；吊销满3年未申请注销的，登记机关可依法强制注销。",
            "Liquidate and use the general procedure; after 3 years without an application the registrar may \
             deregister it by force.",
        )),
        EntityStatus::OrderedClosed => reasons.push(reason(
            PrecheckRule::OrderedClosed,
            "已被责令关闭，不适用简易注销程序。".to_string(),
            "The entity was ordered closed: the simple procedure does not apply.".to_string(),
            &[A::GeneralProcedure],
            GENERAL_ZH,
            GENERAL_EN,
        )),
        EntityStatus::InBusiness => {}
    }
    if let Some(a) = &entity.abnormal {
        reasons.push(reason(
            PrecheckRule::AbnormalOperationsList,
            format!("因“{}”于{}被列入经营异常名录，不适用简易注销程序。", a.reason.name_zh(), a.listed_on),
            format!(
                "On the abnormal-operations list since {} ({}): the simple procedure does not apply.",
                a.listed_on,
                a.reason.name_en()
            ),
            &[A::LeaveAbnormalList, A::GeneralProcedure],
            "先纠正列入事由（如补报并公示未报年度报告）并申请移出经营异常名录，再申请简易注销；或按一般注销程序办理。",
            "First put right what caused the listing (e.g. file and publish the overdue annual report) and apply to \
             be removed from the list, then apply for simple deregistration; or use the general procedure.",
        ));
    }
    if let Some(s) = &entity.serious_violation {
        reasons.push(reason(
            PrecheckRule::SeriousViolationList,
            format!("因“{}”于{}被列入严重违法失信名单，不适用简易注销程序。", s.reason, s.listed_on),
            format!(
                "On the serious-violation list since {} ({}): the simple procedure does not apply.",
                s.listed_on, s.reason
            ),
            &[A::CreditRepair, A::GeneralProcedure],
            "履行相关义务后申请信用修复、移出严重违法失信名单，再申请简易注销；或按一般注销程序办理。",
            "Fulfil the obligations and apply for credit repair to leave the list, then apply for simple \
             deregistration; or use the general procedure.",
        ));
    }
    if !entity.tax_arrears.is_zero() {
        reasons.push(reason(
            PrecheckRule::TaxArrears,
            format!("尚有欠缴税款（含滞纳金、罚款）{}元，不符合简易注销条件。", entity.tax_arrears),
            format!(
                "{} yuan of taxes, late fees or fines are unpaid: simple deregistration needs them settled.",
                entity.tax_arrears
            ),
            &[A::PayArrears, A::GeneralProcedure],
            "结清欠税后申请简易注销；或在一般注销的清算中清缴。",
            "Pay the arrears, then apply for simple deregistration; or settle them in the liquidation of the \
             general procedure.",
        ));
    }
    if !entity.social_insurance_arrears.is_zero() {
        reasons.push(reason(
            PrecheckRule::SocialInsuranceArrears,
            format!("尚有欠缴社会保险费{}元，不符合简易注销条件。", entity.social_insurance_arrears),
            format!(
                "{} yuan of social-insurance contributions are unpaid: simple deregistration needs them settled.",
                entity.social_insurance_arrears
            ),
            &[A::PayArrears, A::GeneralProcedure],
            "结清社会保险费后申请简易注销；或在一般注销的清算中清缴。",
            "Pay the contributions, then apply for simple deregistration; or settle them in the liquidation of \
             the general procedure.",
        ));
    }
    let has = |m: PendingMatter| entity.pending.contains(&m);
    if has(PendingMatter::Investigation) || has(PendingMatter::Enforcement) {
        reasons.push(reason(
            PrecheckRule::PendingInvestigation,
            "正被立案调查或者被采取行政强制措施，不适用简易注销程序。".to_string(),
            "Under investigation or an administrative compulsory measure: the simple procedure does not apply."
                .to_string(),
            &[A::ConcludeMatter, A::GeneralProcedure],
            "待调查终结或强制措施解除后申请简易注销；或按一般注销程序办理。",
            "Apply for simple deregistration once the investigation is closed or the measure lifted; or use the \
             general procedure.",
        ));
    }
    if has(PendingMatter::Litigation) || has(PendingMatter::Arbitration) {
        reasons.push(reason(
            PrecheckRule::PendingLitigation,
            "正在诉讼或者仲裁程序中，不适用简易注销程序。".to_string(),
            "A party to litigation or arbitration: the simple procedure does not apply.".to_string(),
            &[A::ConcludeMatter, A::GeneralProcedure],
            "待诉讼或仲裁终结后申请简易注销；或按一般注销程序办理。",
            "Apply for simple deregistration once the litigation or arbitration has ended; or use the general \
             procedure.",
        ));
    }
    if has(PendingMatter::UnpaidFine) {
        reasons.push(reason(
            PrecheckRule::UnpaidFine,
            "行政处罚（罚款）尚未执行完毕，不适用简易注销程序。".to_string(),
            "A fine is not fully paid: the simple procedure does not apply.".to_string(),
            &[A::ConcludeMatter, A::GeneralProcedure],
            "缴清罚款后申请简易注销；或按一般注销程序办理。",
            "Pay the fine, then apply for simple deregistration; or use the general procedure.",
        ));
    }
    if entity.equity_frozen {
        reasons.push(reason(
            PrecheckRule::EquityFrozen,
            "股权（财产份额）被冻结，不适用简易注销程序。".to_string(),
            "Equity (or partnership shares) is frozen: the simple procedure does not apply.".to_string(),
            &[A::LiftFreeze, A::GeneralProcedure],
            "冻结解除后申请简易注销；或按一般注销程序办理。",
            "Apply for simple deregistration once the freeze is lifted; or use the general procedure.",
        ));
    }
    if entity.equity_pledged {
        reasons.push(reason(
            PrecheckRule::EquityPledged,
            "股权已出质，不适用简易注销程序。".to_string(),
            "Equity is pledged: the simple procedure does not apply.".to_string(),
            &[A::ReleasePledge, A::GeneralProcedure],
            "办理股权出质注销登记后申请简易注销；或按一般注销程序办理。",
            "Have the pledge registration cancelled, then apply for simple deregistration; or use the general \
             procedure.",
        ));
    }
    if entity.listed {
        reasons.push(reason(
            PrecheckRule::ListedCompany,
            "上市股份有限公司不适用简易注销程序。".to_string(),
            "A listed company cannot use the simple procedure.".to_string(),
            &[A::GeneralProcedure],
            GENERAL_ZH,
            GENERAL_EN,
        ));
    }
    if entity.entity_type == EntityType::IndividualBusiness {
        reasons.push(reason(
            PrecheckRule::IndividualBusiness,
            format!(
                "个体工商户简易注销无需公示：登记机关将申请推送税务等部门，{DEPARTMENT_WINDOW_DAYS}日内无异议的即可办理注销。"
            ),
            format!(
                "An individual business needs no public notice: the registrar sends the application to tax and the \
                 other departments, and deregisters when none objects within {DEPARTMENT_WINDOW_DAYS} days."
            ),
            &[A::DepartmentWindow],
            "无需办理公示。",
            "No public notice to publish.",
        ));
    }

    // "+N": one cancellation item per item, listing the licences it cancels, in the order the licences come.
    let mut added_items: Vec<AddedItem> = Vec::new();
    let mut by_hand: Vec<&HeldLicence> = Vec::new();
    for held in &entity.licences {
        let item = catalog
            .licences
            .get(&held.licence_type)
            .and_then(|l| l.cancellation.as_ref())
            .and_then(|code| catalog.items.get(code));
        match item {
            Some(item) => match added_items.iter_mut().find(|a| a.item == item.code) {
                Some(a) => a.licences.push(held.clone()),
                None => added_items.push(AddedItem {
                    item: item.code.clone(),
                    name: item.name.clone(),
                    name_en: item.name_en.clone(),
                    department: item.department.clone(),
                    licences: vec![held.clone()],
                }),
            },
            None => by_hand.push(held),
        }
    }
    if !by_hand.is_empty() {
        let list: Vec<String> = by_hand.iter().map(|l| format!("{} {}", l.licence_type, l.number)).collect();
        reasons.push(reason(
            PrecheckRule::LicenceWithoutCancellationItem,
            format!("以下许可证件在目录中没有对应的注销事项，需另行办理注销：{}。", list.join("、")),
            format!(
                "No cancellation item in the catalogue for these licences; cancel them by hand: {}.",
                list.join(", ")
            ),
            &[A::CancelByHand],
            "服务专员联系发证部门另行办理注销。",
            "The service officer has the issuing department cancel them outside the plan.",
        ));
    }

    let blocked = |p: Procedure| {
        reasons.iter().any(|r| matches!((r.blocks, p), (Blocks::Both, _) | (Blocks::Simple, Procedure::Simple)))
    };
    Precheck {
        credit_code: entity.credit_code.clone(),
        entity_type: entity.entity_type,
        simple_allowed: !blocked(Procedure::Simple),
        general_allowed: !blocked(Procedure::General),
        simple_notice: if entity.entity_type == EntityType::IndividualBusiness {
            NoticeKind::DepartmentWindow
        } else {
            NoticeKind::PublicNotice
        },
        reasons,
        added_items,
    }
}

// ---------------------------------------------------------------------------------------------------------
// Notices and periods
// ---------------------------------------------------------------------------------------------------------

/// A period the procedure waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// 简易注销公告 (公示): 20 days, public, open to objections (异议留言).
    PublicNotice,
    /// 个体工商户: 10 days in which departments may object; not public.
    DepartmentWindow,
    /// 债权人公告: 45 days in which creditors declare their claims; public.
    CreditorNotice,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::PublicNotice => "public_notice",
            NoticeKind::DepartmentWindow => "department_window",
            NoticeKind::CreditorNotice => "creditor_notice",
        }
    }

    /// Its length in calendar days.
    pub fn days(self) -> i16 {
        match self {
            NoticeKind::PublicNotice => PUBLIC_NOTICE_DAYS,
            NoticeKind::DepartmentWindow => DEPARTMENT_WINDOW_DAYS,
            NoticeKind::CreditorNotice => CREDITOR_NOTICE_DAYS,
        }
    }

    /// Whether the national credit-information publicity system shows it.
    pub fn is_public(self) -> bool {
        !matches!(self, NoticeKind::DepartmentWindow)
    }
}

/// A notice or window: when it was published and the calendar days it runs, in China time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub kind: NoticeKind,
    pub published_at: Timestamp,
    /// The first day counted: the day after publication.
    pub starts_on: Date,
    /// The last day: `starts_on` + days − 1.
    pub ends_on: Date,
    /// 00:00 China time of the day after `ends_on`: from then on the period is over.
    pub closes_at: Timestamp,
}

/// The China-time date of an instant.
pub fn china_date(at: Timestamp) -> Date {
    at.to_zoned(china_tz()).date()
}

fn add_days(d: Date, days: i16) -> Result<Date, DeregistrationError> {
    d.checked_add(Span::new().days(days)).map_err(|_| DeregistrationError::DateOutOfRange)
}

/// The period of a notice of this kind published at `published_at`: the publication day is not counted, the
/// period runs `kind.days()` calendar days from the next day, holidays included, and closes at 00:00 China time
/// after its last day.
pub fn notice_period(kind: NoticeKind, published_at: Timestamp) -> Result<Notice, DeregistrationError> {
    let day = china_date(published_at);
    let starts_on = add_days(day, 1)?;
    let ends_on = add_days(day, kind.days())?;
    let closes_at =
        add_days(ends_on, 1)?.to_zoned(china_tz()).map_err(|_| DeregistrationError::DateOutOfRange)?.timestamp();
    Ok(Notice { kind, published_at, starts_on, ends_on, closes_at })
}

// ---------------------------------------------------------------------------------------------------------
// Parties: objectors and liquidation-group members
// ---------------------------------------------------------------------------------------------------------

/// Who objects (异议人).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectorKind {
    /// 相关部门: a government department (tax, social insurance, …).
    Department,
    /// 债权人: a creditor.
    Creditor,
    /// 其他利害关系人: another interested party.
    InterestedParty,
}

impl ObjectorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectorKind::Department => "department",
            ObjectorKind::Creditor => "creditor",
            ObjectorKind::InterestedParty => "interested_party",
        }
    }
}

/// Which identifier a party gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyIdKind {
    /// 居民身份证号码: a person.
    IdNumber,
    /// 统一社会信用代码: an organisation (company, department, law firm …).
    CreditCode,
}

/// A party's validated identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum PartyId {
    IdNumber(IdNumber),
    CreditCode(CreditCode),
}

impl PartyId {
    /// Parses the identifier of the kind given; an ID number's birth date must not be after `today`.
    pub fn parse(kind: PartyIdKind, value: &str, today: Date) -> Result<PartyId, CodeError> {
        match kind {
            PartyIdKind::IdNumber => IdNumber::parse_at(value, today).map(PartyId::IdNumber),
            PartyIdKind::CreditCode => CreditCode::parse(value).map(PartyId::CreditCode),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            PartyId::IdNumber(i) => i.as_str(),
            PartyId::CreditCode(c) => c.as_str(),
        }
    }
}

/// An objection as lodged through the 异议留言 form, not yet checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectionDraft {
    pub kind: ObjectorKind,
    pub name: String,
    pub id_kind: PartyIdKind,
    pub id: String,
    /// Phone, address or e-mail: how the registrar reaches the objector.
    pub contact: String,
    /// 异议理由.
    pub grounds: String,
}

/// 异议: an objection during the notice, with its objector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objection {
    pub id: String,
    pub kind: ObjectorKind,
    pub name: String,
    pub party_id: PartyId,
    pub contact: String,
    pub grounds: String,
    pub lodged_at: Timestamp,
}

/// A member of a liquidation group as entered, not yet checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberDraft {
    pub name: String,
    pub id_kind: PartyIdKind,
    pub id: String,
    /// 清算组负责人.
    pub leader: bool,
}

/// A member of the liquidation group (清算组成员).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiquidationMember {
    pub name: String,
    pub party_id: PartyId,
    pub leader: bool,
}

/// 清算组: the liquidation group as filed (备案), exactly one member its leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiquidationGroup {
    pub members: Vec<LiquidationMember>,
    pub filed_at: Timestamp,
}

impl LiquidationGroup {
    /// 清算组负责人.
    pub fn leader(&self) -> Option<&LiquidationMember> {
        self.members.iter().find(|m| m.leader)
    }
}

// ---------------------------------------------------------------------------------------------------------
// The aggregate
// ---------------------------------------------------------------------------------------------------------

/// The entity as the procedure was opened for it (names change; the log keeps the one published).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntitySnapshot {
    pub credit_code: CreditCode,
    pub name: String,
    pub entity_type: EntityType,
    pub registration_authority: String,
}

/// Where a deregistration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Simple path: the notice (or a 个体工商户's window) is to be published.
    AwaitingNotice,
    /// Simple path: the notice or window runs; objections are open.
    InNotice,
    /// Simple path stopped by an objection; the advice is the general procedure.
    Stopped,
    /// General path: the liquidation group is to be filed.
    AwaitingLiquidationGroup,
    /// General path: the creditor notice is to be published.
    AwaitingCreditorNotice,
    /// General path: the creditor notice runs.
    InCreditorNotice,
    /// The waiting is over: the department tasks of the case may start.
    TasksMayStart,
    /// 准予注销: the registrar deregistered the entity.
    Deregistered,
    /// 注销公告 published: done.
    Announced,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::AwaitingNotice => "awaiting_notice",
            Stage::InNotice => "in_notice",
            Stage::Stopped => "stopped",
            Stage::AwaitingLiquidationGroup => "awaiting_liquidation_group",
            Stage::AwaitingCreditorNotice => "awaiting_creditor_notice",
            Stage::InCreditorNotice => "in_creditor_notice",
            Stage::TasksMayStart => "tasks_may_start",
            Stage::Deregistered => "deregistered",
            Stage::Announced => "announced",
        }
    }
}

/// What the registrar advises when the simple path stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Advice {
    /// 按一般注销程序办理.
    UseGeneralProcedure,
}

impl Advice {
    pub fn zh(self) -> &'static str {
        match self {
            Advice::UseGeneralProcedure => "公示期内有异议，简易注销程序终止；请依法清算后按一般注销程序办理。",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Advice::UseGeneralProcedure => {
                "An objection was raised during the notice, so the simple procedure stops; liquidate and use the \
                 general procedure."
            }
        }
    }
}

/// Why and when the simple path stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stop {
    pub at: Timestamp,
    pub objection_id: String,
    pub advice: Advice,
}

/// 注销公告: the announcement of the deregistration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    pub id: String,
    pub published_at: Timestamp,
    pub published_on: Date,
}

/// One change of a deregistration; each carries everything decided, so [`Deregistration::apply`] needs no
/// clock, no catalogue and cannot fail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeregistrationEvent {
    /// The procedure was opened for the entity after its precheck.
    Opened { id: String, case_id: String, entity: EntitySnapshot, procedure: Procedure, precheck: Precheck },
    /// A notice or window was published, its period computed.
    NoticePublished { notice: Notice },
    /// An objection during the simple notice; it stops the simple path.
    ObjectionLodged { objection: Objection, advice: Advice },
    /// The notice or window ended (without objection): the tasks may start.
    NoticeClosed { kind: NoticeKind, tasks_may_start_at: Timestamp, apply_by: Option<Date> },
    /// After a stop, the applicant goes on with the general procedure.
    SwitchedToGeneral,
    /// 清算组备案.
    LiquidationGroupFiled { group: LiquidationGroup },
    /// 准予注销, on this China-time date.
    Deregistered { on: Date },
    /// 注销公告 published.
    AnnouncementPublished { announcement: Announcement },
}

impl DeregistrationEvent {
    /// The stable snake_case name of the event (its `type` tag).
    pub fn kind(&self) -> &'static str {
        match self {
            DeregistrationEvent::Opened { .. } => "opened",
            DeregistrationEvent::NoticePublished { .. } => "notice_published",
            DeregistrationEvent::ObjectionLodged { .. } => "objection_lodged",
            DeregistrationEvent::NoticeClosed { .. } => "notice_closed",
            DeregistrationEvent::SwitchedToGeneral => "switched_to_general",
            DeregistrationEvent::LiquidationGroupFiled { .. } => "liquidation_group_filed",
            DeregistrationEvent::Deregistered { .. } => "deregistered",
            DeregistrationEvent::AnnouncementPublished { .. } => "announcement_published",
        }
    }
}

/// 注销: the deregistration procedure of one market entity, linked to the case that carries its tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deregistration {
    pub id: String,
    pub case_id: String,
    pub entity: EntitySnapshot,
    /// The procedure followed now (simple until an objection and a switch make it general).
    pub procedure: Procedure,
    pub precheck: Precheck,
    pub stage: Stage,
    /// The simple path's public notice, or a 个体工商户's departmental window.
    pub notice: Option<Notice>,
    pub objections: Vec<Objection>,
    pub stopped: Option<Stop>,
    pub liquidation_group: Option<LiquidationGroup>,
    /// The general path's creditor notice.
    pub creditor_notice: Option<Notice>,
    /// After a public notice without objection: the last day to apply (公示期满之日起20日内).
    pub apply_by: Option<Date>,
    /// When the department tasks of the case may start.
    pub tasks_may_start_at: Option<Timestamp>,
    pub deregistered_on: Option<Date>,
    pub deregistered_at: Option<Timestamp>,
    pub announcement: Option<Announcement>,
    pub opened_at: Timestamp,
    pub updated_at: Timestamp,
    /// The number of events applied: the version a write names.
    pub version: u64,
}

/// Why a command was refused. Nothing changes on a refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeregistrationError {
    #[error("the {field} is empty")]
    Missing { field: &'static str },
    #[error("the {} procedure is not open to this entity: {}", .procedure.as_str(), .refusals.join(", "))]
    ProcedureNotAllowed { procedure: Procedure, refusals: Vec<&'static str> },
    #[error("cannot {action} while the deregistration is {}", .stage.as_str())]
    WrongStage { action: &'static str, stage: Stage },
    #[error("the notice runs until {closes_at}")]
    NoticeRunning { closes_at: Timestamp },
    #[error("the objection period closed at {closed_at}")]
    ObjectionPeriodOver { closed_at: Timestamp },
    #[error("only departments may object in the departmental window of an individual business, not a {}", .kind.as_str())]
    ObjectorNotAllowed { kind: ObjectorKind },
    #[error("a department identifies itself by its unified social credit code")]
    DepartmentNeedsCreditCode,
    #[error("{field}: {source}")]
    BadPartyId { field: String, source: CodeError },
    #[error("a liquidation group needs at least one member")]
    NoLiquidationMembers,
    #[error("a liquidation group has exactly one leader, not {found}")]
    LeaderCount { found: usize },
    #[error("the tasks may start only at {tasks_may_start_at}")]
    TooEarly { tasks_may_start_at: Timestamp },
    #[error("the date is outside the range the calendar can represent")]
    DateOutOfRange,
}

impl DeregistrationError {
    /// A stable snake_case code for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            DeregistrationError::Missing { .. } => "missing_value",
            DeregistrationError::ProcedureNotAllowed { .. } => "procedure_not_allowed",
            DeregistrationError::WrongStage { .. } => "wrong_stage",
            DeregistrationError::NoticeRunning { .. } => "notice_running",
            DeregistrationError::ObjectionPeriodOver { .. } => "objection_period_over",
            DeregistrationError::ObjectorNotAllowed { .. } => "objector_not_allowed",
            DeregistrationError::DepartmentNeedsCreditCode => "department_needs_credit_code",
            DeregistrationError::BadPartyId { .. } => "bad_party_id",
            DeregistrationError::NoLiquidationMembers => "no_liquidation_members",
            DeregistrationError::LeaderCount { .. } => "leader_count",
            DeregistrationError::TooEarly { .. } => "tasks_not_yet_startable",
            DeregistrationError::DateOutOfRange => "date_out_of_range",
        }
    }
}

/// Why a history does not make a deregistration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("the history is empty")]
    Empty,
    #[error("the history does not begin with `opened` but with `{found}`")]
    NotOpenedFirst { found: &'static str },
}

impl ReplayError {
    pub fn code(&self) -> &'static str {
        match self {
            ReplayError::Empty => "empty_history",
            ReplayError::NotOpenedFirst { .. } => "not_opened_first",
        }
    }
}

/// Rebuilds a deregistration from its events and their times.
pub fn replay(events: &[(DeregistrationEvent, Timestamp)]) -> Result<Deregistration, ReplayError> {
    let ((first, at), rest) = events.split_first().ok_or(ReplayError::Empty)?;
    let mut d = Deregistration::start(first, *at).ok_or(ReplayError::NotOpenedFirst { found: first.kind() })?;
    for (e, at) in rest {
        d.apply(e, *at);
    }
    Ok(d)
}

fn required(field: &'static str, value: &str) -> Result<String, DeregistrationError> {
    let v = value.trim();
    if v.is_empty() { Err(DeregistrationError::Missing { field }) } else { Ok(v.to_string()) }
}

impl Deregistration {
    /// Opens the procedure for an entity: prechecks it (against the catalogue, for the "+N") and refuses a
    /// procedure the precheck does not allow. `id` names the deregistration, `case_id` the case of its tasks.
    pub fn open(
        id: &str,
        case_id: &str,
        entity: &MarketEntity,
        catalog: &Catalog,
        procedure: Procedure,
    ) -> Result<DeregistrationEvent, DeregistrationError> {
        let id = required("deregistration id", id)?;
        let case_id = required("case id", case_id)?;
        let precheck = precheck(entity, catalog);
        if !precheck.allows(procedure) {
            return Err(DeregistrationError::ProcedureNotAllowed {
                procedure,
                refusals: precheck.refusals(procedure).into_iter().map(PrecheckRule::code).collect(),
            });
        }
        Ok(DeregistrationEvent::Opened {
            id,
            case_id,
            entity: EntitySnapshot {
                credit_code: entity.credit_code.clone(),
                name: entity.name.clone(),
                entity_type: entity.entity_type,
                registration_authority: entity.registration_authority.clone(),
            },
            procedure,
            precheck,
        })
    }

    /// The aggregate an `opened` event starts; `None` for any other event.
    pub fn start(event: &DeregistrationEvent, at: Timestamp) -> Option<Deregistration> {
        let DeregistrationEvent::Opened { id, case_id, entity, procedure, precheck } = event else {
            return None;
        };
        Some(Deregistration {
            id: id.clone(),
            case_id: case_id.clone(),
            entity: entity.clone(),
            procedure: *procedure,
            precheck: precheck.clone(),
            stage: match procedure {
                Procedure::Simple => Stage::AwaitingNotice,
                Procedure::General => Stage::AwaitingLiquidationGroup,
            },
            notice: None,
            objections: Vec::new(),
            stopped: None,
            liquidation_group: None,
            creditor_notice: None,
            apply_by: None,
            tasks_may_start_at: None,
            deregistered_on: None,
            deregistered_at: None,
            announcement: None,
            opened_at: at,
            updated_at: at,
            version: 1,
        })
    }

    fn wrong(&self, action: &'static str) -> DeregistrationError {
        DeregistrationError::WrongStage { action, stage: self.stage }
    }

    /// Publishes what the path waits for next: the simple path's public notice (a 个体工商户's departmental
    /// window), or the general path's creditor notice once the liquidation group is filed.
    pub fn publish_notice(&self, now: Timestamp) -> Result<DeregistrationEvent, DeregistrationError> {
        let kind = match self.stage {
            Stage::AwaitingNotice => self.precheck.simple_notice,
            Stage::AwaitingCreditorNotice => NoticeKind::CreditorNotice,
            _ => return Err(self.wrong("publish a notice")),
        };
        Ok(DeregistrationEvent::NoticePublished { notice: notice_period(kind, now)? })
    }

    /// Lodges an objection during the simple notice (异议留言): it stops the simple path. In a 个体工商户's
    /// window only departments object. After the notice closes, online objections are refused; a written
    /// objection then is a matter for the officer's decision, outside this procedure.
    pub fn lodge_objection(
        &self,
        draft: &ObjectionDraft,
        now: Timestamp,
    ) -> Result<DeregistrationEvent, DeregistrationError> {
        let notice = match (&self.notice, self.stage) {
            (Some(n), Stage::InNotice) => n,
            _ => return Err(self.wrong("lodge an objection")),
        };
        if now >= notice.closes_at {
            return Err(DeregistrationError::ObjectionPeriodOver { closed_at: notice.closes_at });
        }
        if notice.kind == NoticeKind::DepartmentWindow && draft.kind != ObjectorKind::Department {
            return Err(DeregistrationError::ObjectorNotAllowed { kind: draft.kind });
        }
        if draft.kind == ObjectorKind::Department && draft.id_kind != PartyIdKind::CreditCode {
            return Err(DeregistrationError::DepartmentNeedsCreditCode);
        }
        let name = required("objector's name", &draft.name)?;
        let party_id = PartyId::parse(draft.id_kind, &draft.id, china_date(now))
            .map_err(|source| DeregistrationError::BadPartyId { field: "objector's id".into(), source })?;
        let contact = required("objector's contact", &draft.contact)?;
        let grounds = required("grounds of the objection", &draft.grounds)?;
        Ok(DeregistrationEvent::ObjectionLodged {
            objection: Objection {
                id: format!("{}-objection-{}", self.id, self.objections.len() + 1),
                kind: draft.kind,
                name,
                party_id,
                contact,
                grounds,
                lodged_at: now,
            },
            advice: Advice::UseGeneralProcedure,
        })
    }

    /// Closes the running notice once its period is over: from its close the tasks may start.
    pub fn close_notice(&self, now: Timestamp) -> Result<DeregistrationEvent, DeregistrationError> {
        let notice = match self.stage {
            Stage::InNotice => self.notice.as_ref(),
            Stage::InCreditorNotice => self.creditor_notice.as_ref(),
            _ => None,
        }
        .ok_or_else(|| self.wrong("close the notice"))?;
        if now < notice.closes_at {
            return Err(DeregistrationError::NoticeRunning { closes_at: notice.closes_at });
        }
        let apply_by = match notice.kind {
            NoticeKind::PublicNotice => Some(add_days(notice.ends_on, APPLY_WITHIN_DAYS)?),
            NoticeKind::DepartmentWindow | NoticeKind::CreditorNotice => None,
        };
        Ok(DeregistrationEvent::NoticeClosed { kind: notice.kind, tasks_may_start_at: notice.closes_at, apply_by })
    }

    /// After an objection stopped the simple path, goes on with the general procedure.
    pub fn switch_to_general(&self) -> Result<DeregistrationEvent, DeregistrationError> {
        if self.stage != Stage::Stopped {
            return Err(self.wrong("switch to the general procedure"));
        }
        if !self.precheck.general_allowed {
            return Err(DeregistrationError::ProcedureNotAllowed {
                procedure: Procedure::General,
                refusals: self.precheck.refusals(Procedure::General).into_iter().map(PrecheckRule::code).collect(),
            });
        }
        Ok(DeregistrationEvent::SwitchedToGeneral)
    }

    /// Files the liquidation group (清算组备案): at least one member, each identified, exactly one leader.
    pub fn file_liquidation_group(
        &self,
        members: &[MemberDraft],
        now: Timestamp,
    ) -> Result<DeregistrationEvent, DeregistrationError> {
        if self.stage != Stage::AwaitingLiquidationGroup {
            return Err(self.wrong("file the liquidation group"));
        }
        if members.is_empty() {
            return Err(DeregistrationError::NoLiquidationMembers);
        }
        let leaders = members.iter().filter(|m| m.leader).count();
        if leaders != 1 {
            return Err(DeregistrationError::LeaderCount { found: leaders });
        }
        let today = china_date(now);
        let members = members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                Ok(LiquidationMember {
                    name: required("member's name", &m.name)?,
                    party_id: PartyId::parse(m.id_kind, &m.id, today).map_err(|source| {
                        DeregistrationError::BadPartyId { field: format!("member {}'s id", i + 1), source }
                    })?,
                    leader: m.leader,
                })
            })
            .collect::<Result<Vec<_>, DeregistrationError>>()?;
        Ok(DeregistrationEvent::LiquidationGroupFiled { group: LiquidationGroup { members, filed_at: now } })
    }

    /// Records the registrar's deregistration (准予注销), once the tasks could start.
    pub fn record_deregistered(&self, now: Timestamp) -> Result<DeregistrationEvent, DeregistrationError> {
        let (Stage::TasksMayStart, Some(may)) = (self.stage, self.tasks_may_start_at) else {
            return Err(self.wrong("record the deregistration"));
        };
        if now < may {
            return Err(DeregistrationError::TooEarly { tasks_may_start_at: may });
        }
        Ok(DeregistrationEvent::Deregistered { on: china_date(now) })
    }

    /// Publishes the deregistration announcement (注销公告) on the publicity system.
    pub fn publish_announcement(&self, now: Timestamp) -> Result<DeregistrationEvent, DeregistrationError> {
        if self.stage != Stage::Deregistered {
            return Err(self.wrong("publish the announcement"));
        }
        Ok(DeregistrationEvent::AnnouncementPublished {
            announcement: Announcement {
                id: format!("{}-announcement", self.id),
                published_at: now,
                published_on: china_date(now),
            },
        })
    }

    /// Applies an event recorded at `at`. Cannot fail; an `opened` event starts the aggregate afresh.
    pub fn apply(&mut self, event: &DeregistrationEvent, at: Timestamp) {
        match event {
            DeregistrationEvent::Opened { .. } => {
                if let Some(fresh) = Deregistration::start(event, at) {
                    *self = fresh;
                }
                return;
            }
            DeregistrationEvent::NoticePublished { notice } => {
                if notice.kind == NoticeKind::CreditorNotice {
                    self.creditor_notice = Some(notice.clone());
                    self.stage = Stage::InCreditorNotice;
                } else {
                    self.notice = Some(notice.clone());
                    self.stage = Stage::InNotice;
                }
            }
            DeregistrationEvent::ObjectionLodged { objection, advice } => {
                self.objections.push(objection.clone());
                self.stopped = Some(Stop { at, objection_id: objection.id.clone(), advice: *advice });
                self.stage = Stage::Stopped;
            }
            DeregistrationEvent::NoticeClosed { tasks_may_start_at, apply_by, .. } => {
                self.tasks_may_start_at = Some(*tasks_may_start_at);
                self.apply_by = *apply_by;
                self.stage = Stage::TasksMayStart;
            }
            DeregistrationEvent::SwitchedToGeneral => {
                self.procedure = Procedure::General;
                self.stage = Stage::AwaitingLiquidationGroup;
            }
            DeregistrationEvent::LiquidationGroupFiled { group } => {
                self.liquidation_group = Some(group.clone());
                self.stage = Stage::AwaitingCreditorNotice;
            }
            DeregistrationEvent::Deregistered { on } => {
                self.deregistered_on = Some(*on);
                self.deregistered_at = Some(at);
                self.stage = Stage::Deregistered;
            }
            DeregistrationEvent::AnnouncementPublished { announcement } => {
                self.announcement = Some(announcement.clone());
                self.stage = Stage::Announced;
            }
        }
        self.updated_at = at;
        self.version += 1;
    }

    /// The instant the waiting of the current stage ends, for a deadline worker: the running notice's close.
    pub fn next_due_at(&self) -> Option<Timestamp> {
        match self.stage {
            Stage::InNotice => self.notice.as_ref().map(|n| n.closes_at),
            Stage::InCreditorNotice => self.creditor_notice.as_ref().map(|n| n.closes_at),
            _ => None,
        }
    }

    /// Whether the department tasks of the case may start at `now`.
    pub fn tasks_may_start(&self, now: Timestamp) -> bool {
        self.tasks_may_start_at.is_some_and(|t| now >= t)
    }

    /// The public notice this deregistration shows at `now`, if one is under way: the simple path's public
    /// notice (not stopped), or the general path's creditor notice. A departmental window is not public.
    pub fn public_notice(&self, now: Timestamp) -> Option<PublicNotice> {
        let simple = self.notice.as_ref().filter(|n| n.kind.is_public() && self.stopped.is_none());
        let notice = [self.creditor_notice.as_ref(), simple]
            .into_iter()
            .flatten()
            .find(|n| n.published_at <= now && now < n.closes_at)?;
        Some(PublicNotice {
            deregistration_id: self.id.clone(),
            kind: notice.kind,
            company_name: self.entity.name.clone(),
            credit_code: self.entity.credit_code.clone(),
            published_on: china_date(notice.published_at),
            starts_on: notice.starts_on,
            ends_on: notice.ends_on,
            objection_target: (notice.kind == NoticeKind::PublicNotice).then(|| self.id.clone()),
        })
    }

    /// The announcement this deregistration shows, once published.
    pub fn public_announcement(&self) -> Option<PublicAnnouncement> {
        let a = self.announcement.as_ref()?;
        Some(PublicAnnouncement {
            announcement_id: a.id.clone(),
            deregistration_id: self.id.clone(),
            company_name: self.entity.name.clone(),
            credit_code: self.entity.credit_code.clone(),
            procedure: self.procedure,
            deregistered_on: self.deregistered_on.unwrap_or(a.published_on),
            published_on: a.published_on,
        })
    }
}

// ---------------------------------------------------------------------------------------------------------
// The public page
// ---------------------------------------------------------------------------------------------------------

/// A notice under way on the publicity system (简易注销公告 / 债权人公告).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicNotice {
    pub deregistration_id: String,
    pub kind: NoticeKind,
    pub company_name: String,
    pub credit_code: CreditCode,
    pub published_on: Date,
    pub starts_on: Date,
    pub ends_on: Date,
    /// Where the 异议留言 link points (the deregistration id); only a simple public notice takes objections.
    pub objection_target: Option<String>,
}

/// A published deregistration announcement (注销公告).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAnnouncement {
    pub announcement_id: String,
    pub deregistration_id: String,
    pub company_name: String,
    pub credit_code: CreditCode,
    pub procedure: Procedure,
    pub deregistered_on: Date,
    pub published_on: Date,
}

/// What the public page shows at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicPage {
    /// Notices under way, the newest first.
    pub notices: Vec<PublicNotice>,
    /// Announcements, the newest first.
    pub announcements: Vec<PublicAnnouncement>,
}

/// The public page of these deregistrations at `now`.
pub fn public_page<'a>(deregistrations: impl IntoIterator<Item = &'a Deregistration>, now: Timestamp) -> PublicPage {
    let mut page = PublicPage::default();
    for d in deregistrations {
        page.notices.extend(d.public_notice(now));
        page.announcements.extend(d.public_announcement());
    }
    page.notices
        .sort_by(|a, b| b.starts_on.cmp(&a.starts_on).then_with(|| a.deregistration_id.cmp(&b.deregistration_id)));
    page.announcements
        .sort_by(|a, b| b.published_on.cmp(&a.published_on).then_with(|| a.announcement_id.cmp(&b.announcement_id)));
    page
}
