//! People's mediation (人民调解, 人民调解法 2010; DOMAIN.md §4): a mediation case (调解案件) of a people's
//! mediation committee (人民调解委员会) as a pure, event-sourced state machine, from registration to archive,
//! with the mediation agreement (调解协议书) and its effect.
//!
//! | from | command | event | to |
//! | --- | --- | --- | --- |
//! | — | [`open`](MediationCase::open), [`open_from_work_order`](MediationCase::open_from_work_order) (受理登记) | `registered` | registered |
//! | registered | [`decline`](MediationCase::decline): a party clearly refuses (§17) | `declined` | declined |
//! | registered, in mediation | [`assign_mediator`](MediationCase::assign_mediator) (§19) | `mediator_assigned` | same |
//! | registered, in mediation | [`request_recusal`](MediationCase::request_recusal) / [`decide_recusal`](MediationCase::decide_recusal) (回避) | `recusal_requested` / `recusal_decided` | same |
//! | registered, in mediation | [`notify_rights`](MediationCase::notify_rights) (告知) | `rights_notified` | same |
//! | registered, in mediation | [`record`](MediationCase::record): an investigation (调查) or a session (调解) | `recorded` | a session: in mediation |
//! | in mediation | [`draft_agreement`](MediationCase::draft_agreement) (调解协议书) | `agreement_drafted` | awaiting signatures |
//! | awaiting signatures | [`sign`](MediationCase::sign) (签名、盖章、按指印; 调解员签名; 调委会印章) | `signed` | the last mark: effective |
//! | in mediation | [`record_oral_agreement`](MediationCase::record_oral_agreement) (口头协议, §28, §30) | `oral_agreement_recorded` | effective |
//! | registered to awaiting signatures | [`terminate`](MediationCase::terminate) (终止调解, §26) | `terminated` | terminated |
//! | registered to awaiting signatures | [`extend_target`](MediationCase::extend_target) with every party's consent | `target_extended` | same |
//! | effective (written) | [`deliver_copy`](MediationCase::deliver_copy) (送达) | `copy_delivered` | same |
//! | effective | [`follow_up`](MediationCase::follow_up) (回访, §31) | `followed_up` | same |
//! | effective, archived | [`apply_for_confirmation`](MediationCase::apply_for_confirmation) / [`record_ruling`](MediationCase::record_ruling) (司法确认, §33) | `confirmation_applied` / `confirmation_ruled` | same |
//! | effective, terminated, declined | [`archive`](MediationCase::archive) (归档, §27) | `archived` | archived |
//!
//! Mediation is free (§4): the only fee is [`Free`], which is 0 and cannot be anything else. Time: the target
//! is one calendar month from registration (司法部《人民调解工作若干规定》§33, 一般在一个月内调结), moved
//! only with every party's consent; the judicial-confirmation window is 30 calendar days from the effective
//! date (§33).

mod agreement;
mod party;

pub use crate::workorder::ReplayError;
pub use agreement::{
    Agreement, AgreementContent, AgreementForm, Mark, Mediator, Performance, Responsibility, Signature, Signer, Term,
};
pub use party::{Agent, AgentInput, AuthorisationScope, IdType, Identity, IdentityError, Party, PartyInput, Sha256};

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::calendar::{WorkClock, china_tz};
use crate::codes::CreditCode;
use crate::colour::{Colour, Thresholds};
use crate::duration::WorkingDuration;
use crate::workorder::{Basis, PhoneError, Route, Unit, WorkOrder, WorkOrderState, limit_colour};

/// The days after the effective date within which the parties may jointly apply for judicial confirmation.
pub const CONFIRMATION_WINDOW_DAYS: i32 = 30;

// ---------------------------------------------------------------------------------------------------------
// Values

/// The state of a mediation case.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum MediationState {
    /// 受理登记: registered; mediators are assigned, rights notified, facts investigated.
    Registered,
    /// 调解中: the first session has been held.
    InMediation,
    /// 协议书待签: the written agreement is drafted and waits for its marks.
    AwaitingSignatures,
    /// 协议生效: the agreement is in effect; performance is followed up.
    Effective,
    /// 终止调解: mediation failed or a party asked to end it (§26).
    Terminated,
    /// 不予调解: a party clearly refused mediation (§17).
    Declined,
    /// 已归档.
    Archived,
}

impl MediationState {
    pub fn as_str(self) -> &'static str {
        match self {
            MediationState::Registered => "registered",
            MediationState::InMediation => "in_mediation",
            MediationState::AwaitingSignatures => "awaiting_signatures",
            MediationState::Effective => "effective",
            MediationState::Terminated => "terminated",
            MediationState::Declined => "declined",
            MediationState::Archived => "archived",
        }
    }

    /// Before an outcome: the one-month target runs.
    pub fn is_open(self) -> bool {
        matches!(self, MediationState::Registered | MediationState::InMediation | MediationState::AwaitingSignatures)
    }

    fn words(self) -> &'static str {
        match self {
            MediationState::InMediation => "in mediation",
            MediationState::AwaitingSignatures => "awaiting signatures",
            other => other.as_str(),
        }
    }
}

/// The fee of a mediation: none (§4 不收取任何费用). Serialises as `0` and refuses any other number, so a
/// stored case cannot carry a fee.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub struct Free;

impl Free {
    pub fn yuan(self) -> u32 {
        0
    }
}

impl Serialize for Free {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(0)
    }
}

impl<'de> Deserialize<'de> for Free {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match u64::deserialize(deserializer)? {
            0 => Ok(Free),
            n => Err(serde::de::Error::custom(format!("mediation is free (人民调解法 §4): the fee is 0, not {n}"))),
        }
    }
}

/// The committee (人民调解委员会) that mediates.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Committee {
    pub code: String,
    pub name: String,
    pub credit_code: Option<CreditCode>,
}

/// The dispute as registered: its kind and facts.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Dispute {
    /// E.g. the hotline category `company-registration-dispute` (涉企登记纠纷).
    pub kind: String,
    pub facts: String,
}

/// How the case began (§17).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Initiation {
    /// 当事人申请: a party applied.
    Application { party: String },
    /// 主动调解: the committee acted on its own initiative.
    OwnInitiative,
    /// 转办: referred by the hotline (the work order is in `source_work_order`).
    Referral,
}

/// Who chose a mediator (§19).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ChosenBy {
    /// 指定: appointed by the committee.
    Committee,
    /// 选定: chosen by the parties.
    Parties,
}

/// A mediator on the case, from assignment until a granted recusal removes them.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct MediatorAssignment {
    pub mediator: Mediator,
    pub chosen_by: ChosenBy,
    pub assigned_at: Timestamp,
    pub removed_at: Option<Timestamp>,
}

/// A request that a mediator step aside (回避申请) and its decision.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Recusal {
    pub party: String,
    pub mediator: String,
    pub reason: String,
    pub requested_at: Timestamp,
    pub granted: Option<bool>,
    pub note: String,
    pub decided_at: Option<Timestamp>,
}

/// The notice to a party of the nature, principles and effect of mediation and of its rights and duties (告知).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Notice {
    pub party: String,
    pub at: Timestamp,
    pub by: String,
}

/// What a record is of.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// 调查 / 现场勘查: a site investigation or a look at the company's archive.
    Investigation,
    /// 调解 (调解笔录): a mediation session.
    Session,
}

/// A record (调解工作记录, §27): when, where, who, what was found, with attachments by SHA-256.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Record {
    pub kind: RecordKind,
    /// When it took place (it may be recorded later).
    pub held_at: Timestamp,
    pub place: String,
    /// The mediator who held it.
    pub mediator: String,
    pub participants: Vec<String>,
    pub findings: String,
    pub attachments: Vec<Sha256>,
}

/// A record as typed in; [`MediationCase::record`] checks it.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct RecordInput {
    pub kind: RecordKind,
    pub held_at: Timestamp,
    pub place: String,
    pub mediator: String,
    pub participants: Vec<String>,
    pub findings: String,
    pub attachments: Vec<String>,
}

/// Where the parties can turn when mediation ends without agreement (§26).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum OtherRoute {
    /// 仲裁
    Arbitration,
    /// 行政途径, e.g. asking the registration authority to revoke a registration made with a false identity.
    Administrative,
    /// 诉讼
    Litigation,
}

/// Why mediation ended without agreement.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TerminationReason {
    /// 调解不成.
    Failed,
    /// A party asked to end the mediation (§23).
    PartyWithdrew { party: String },
}

/// The end of a mediation without agreement, with the advice given.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Termination {
    pub reason: TerminationReason,
    pub advice: Vec<OtherRoute>,
    pub note: String,
    pub at: Timestamp,
    pub by: String,
}

/// A party's clear refusal of mediation (§17).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Refusal {
    pub party: String,
    pub reason: String,
    pub at: Timestamp,
}

/// A move of the one-month target with the parties' consent.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct TargetExtension {
    pub from: Timestamp,
    pub to: Timestamp,
    pub consents: Vec<String>,
    pub at: Timestamp,
    pub by: String,
}

/// How the agreement is being performed (履行情况).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum PerformanceStatus {
    /// 已履行
    Performed,
    /// 部分履行
    PartlyPerformed,
    /// 未履行
    NotPerformed,
}

/// A follow-up visit (回访) on performance.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct FollowUp {
    pub performance: PerformanceStatus,
    pub note: String,
    pub at: Timestamp,
    pub by: String,
}

/// A joint application for judicial confirmation (司法确认, §33) and the court's ruling.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Confirmation {
    pub court: String,
    pub applied_at: Timestamp,
    /// The last day of the window, for the record.
    pub deadline: Date,
    /// `Some(true)`: confirmed (enforceable); `Some(false)`: confirmed invalid or refused.
    pub confirmed: Option<bool>,
    pub ruling_note: String,
    pub ruled_at: Option<Timestamp>,
}

// ---------------------------------------------------------------------------------------------------------
// The aggregate

/// A mediation case (调解案件).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct MediationCase {
    pub id: String,
    /// The number of events applied.
    pub version: u64,
    pub state: MediationState,
    pub committee: Committee,
    pub initiation: Initiation,
    /// The hotline work order the case came from.
    pub source_work_order: Option<String>,
    /// The kind of dispute, e.g. the hotline category `company-registration-dispute` (涉企登记纠纷).
    pub dispute_type: String,
    /// The facts as registered.
    pub facts: String,
    pub parties: Vec<Party>,
    pub registered_at: Timestamp,
    pub registered_by: String,
    pub updated_at: Timestamp,
    pub mediators: Vec<MediatorAssignment>,
    pub recusals: Vec<Recusal>,
    pub notices: Vec<Notice>,
    pub records: Vec<Record>,
    pub refusal: Option<Refusal>,
    pub agreement: Option<Agreement>,
    pub termination: Option<Termination>,
    /// The target (一个月内调结), moved by consented extensions.
    pub target_at: Timestamp,
    pub target_extensions: Vec<TargetExtension>,
    pub follow_ups: Vec<FollowUp>,
    pub confirmation: Option<Confirmation>,
    pub archived_at: Option<Timestamp>,
    pub fee: Free,
}

/// An event of a mediation case: what was decided, with everything [`MediationCase::apply`] needs.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MediationEvent {
    Registered {
        id: String,
        committee: Committee,
        initiation: Initiation,
        source_work_order: Option<String>,
        dispute_type: String,
        facts: String,
        parties: Vec<Party>,
        target_at: Timestamp,
        by: String,
    },
    Declined {
        party: String,
        reason: String,
        by: String,
    },
    MediatorAssigned {
        mediator: Mediator,
        chosen_by: ChosenBy,
        by: String,
    },
    RecusalRequested {
        party: String,
        mediator: String,
        reason: String,
        by: String,
    },
    RecusalDecided {
        granted: bool,
        note: String,
        by: String,
    },
    RightsNotified {
        party: String,
        by: String,
    },
    Recorded {
        record: Record,
        by: String,
    },
    AgreementDrafted {
        content: AgreementContent,
        by: String,
    },
    Signed {
        signer: Signer,
        mark: Mark,
        /// When the agreement takes effect with this mark: the latest mark, once this one completes them.
        effective_at: Option<Timestamp>,
        by: String,
    },
    /// An oral agreement (§28), in effect from this event (§30).
    OralAgreementRecorded {
        content: AgreementContent,
        by: String,
    },
    Terminated {
        reason: TerminationReason,
        advice: Vec<OtherRoute>,
        note: String,
        by: String,
    },
    TargetExtended {
        target_at: Timestamp,
        consents: Vec<String>,
        by: String,
    },
    CopyDelivered {
        party: String,
        by: String,
    },
    FollowedUp {
        performance: PerformanceStatus,
        note: String,
        by: String,
    },
    ConfirmationApplied {
        court: String,
        deadline: Date,
        by: String,
    },
    ConfirmationRuled {
        confirmed: bool,
        note: String,
        by: String,
    },
    Archived {
        by: String,
    },
}

impl MediationEvent {
    pub fn name(&self) -> &'static str {
        match self {
            MediationEvent::Registered { .. } => "registered",
            MediationEvent::Declined { .. } => "declined",
            MediationEvent::MediatorAssigned { .. } => "mediator_assigned",
            MediationEvent::RecusalRequested { .. } => "recusal_requested",
            MediationEvent::RecusalDecided { .. } => "recusal_decided",
            MediationEvent::RightsNotified { .. } => "rights_notified",
            MediationEvent::Recorded { .. } => "recorded",
            MediationEvent::AgreementDrafted { .. } => "agreement_drafted",
            MediationEvent::Signed { .. } => "signed",
            MediationEvent::OralAgreementRecorded { .. } => "oral_agreement_recorded",
            MediationEvent::Terminated { .. } => "terminated",
            MediationEvent::TargetExtended { .. } => "target_extended",
            MediationEvent::CopyDelivered { .. } => "copy_delivered",
            MediationEvent::FollowedUp { .. } => "followed_up",
            MediationEvent::ConfirmationApplied { .. } => "confirmation_applied",
            MediationEvent::ConfirmationRuled { .. } => "confirmation_ruled",
            MediationEvent::Archived { .. } => "archived",
        }
    }
}

/// A command on an existing case, for [`MediationCase::decide`] and [`MediationCase::act`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum MediationCommand {
    Decline { party: String, reason: String },
    AssignMediator { mediator: Mediator, chosen_by: ChosenBy },
    RequestRecusal { party: String, mediator: String, reason: String },
    DecideRecusal { granted: bool, note: String },
    NotifyRights { party: String },
    Record(RecordInput),
    DraftAgreement(AgreementContent),
    Sign { signer: Signer, mark: Mark },
    RecordOralAgreement(AgreementContent),
    Terminate { reason: TerminationReason, advice: Vec<OtherRoute>, note: String },
    ExtendTarget { until: Timestamp, consents: Vec<String> },
    DeliverCopy { party: String },
    FollowUp { performance: PerformanceStatus, note: String },
    ApplyForConfirmation { court: String, applicants: Vec<String> },
    RecordRuling { confirmed: bool, note: String },
    Archive,
}

/// Why a command on a mediation case was refused. The case is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediationError {
    #[error("cannot {action} a mediation case that is {}", state.words())]
    IllegalTransition { action: &'static str, state: MediationState },
    #[error("a dispute has at least two parties")]
    TooFewParties,
    #[error("party {0} is listed twice")]
    DuplicateParty(String),
    #[error("the case has no party {0}")]
    UnknownParty(String),
    /// The document number of a party (or of its agent) is not valid; `error.code()` says why.
    #[error("the identity of party {party} is not valid: {error}")]
    BadIdentity { party: String, error: IdentityError },
    #[error("the contact of party {party} is not valid: {error}")]
    BadContact { party: String, error: PhoneError },
    #[error("{0:?} is not a SHA-256 (64 hexadecimal digits)")]
    BadAttachment(String),
    #[error("the {0} is empty")]
    EmptyText(&'static str),
    /// The work order's category does not route to mediation.
    #[error("work order {0} is not a dispute for mediation")]
    NotForMediation(String),
    /// The work order must be with this committee, signed for.
    #[error("work order {order} is not signed for by committee {committee}")]
    NotWithCommittee { order: String, committee: String },
    #[error("mediator {0} is already on the case")]
    AlreadyAssigned(String),
    #[error("mediator {0} stepped aside on this case (回避) and cannot be assigned again")]
    RecusedMediator(String),
    #[error("{0} is not a mediator on the case")]
    NotAMediator(String),
    #[error("the case has no mediator: assign one first")]
    NoMediator,
    #[error("a recusal request is pending: decide it first")]
    RecusalPending,
    #[error("no recusal request is pending")]
    NoRecusalPending,
    #[error("party {0} has already been notified")]
    AlreadyNotified(String),
    /// Every party is told its rights before the first session.
    #[error("party {0} has not been notified of its rights (告知) yet")]
    RightsNotNotified(String),
    #[error("the record's time is before the registration or in the future")]
    BadRecordTime,
    #[error("the agreement lacks {0}")]
    IncompleteAgreement(String),
    #[error("the agent of party {0} has no special authorisation (特别授权) to sign")]
    AgentNotAuthorised(String),
    /// A mediator signs (签名) and the committee seals (盖章); a party may sign, seal or fingerprint.
    #[error("{0}")]
    WrongMark(&'static str),
    #[error("{0} has already marked the agreement")]
    AlreadySigned(String),
    #[error("tell the parties about arbitration, administrative or judicial routes (§26)")]
    NoAdvice,
    #[error("party {0} has not consented to the extension")]
    ConsentMissing(String),
    #[error("the new target must be later than the current one")]
    TargetNotLater,
    #[error("an oral agreement has no document to deliver")]
    OralAgreement,
    #[error("party {0} already has its copy")]
    AlreadyDelivered(String),
    #[error("party {0} has not received its copy of the agreement (送达)")]
    CopiesNotDelivered(String),
    #[error("judicial confirmation is applied for by the parties jointly (§33): party {0} is missing")]
    JointApplicationRequired(String),
    #[error("the 30-day window for judicial confirmation closed on {0}")]
    ConfirmationWindowClosed(Date),
    #[error("judicial confirmation has already been applied for")]
    AlreadyApplied,
    #[error("no application for judicial confirmation awaits a ruling")]
    NoConfirmationPending,
    #[error("the date cannot be computed: {0}")]
    Clock(String),
}

impl MediationError {
    /// A stable snake_case code for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            MediationError::IllegalTransition { .. } => "illegal_transition",
            MediationError::TooFewParties => "too_few_parties",
            MediationError::DuplicateParty(_) => "duplicate_party",
            MediationError::UnknownParty(_) => "unknown_party",
            MediationError::BadIdentity { .. } => "bad_identity",
            MediationError::BadContact { .. } => "bad_contact",
            MediationError::BadAttachment(_) => "bad_attachment",
            MediationError::EmptyText(_) => "empty_text",
            MediationError::NotForMediation(_) => "not_for_mediation",
            MediationError::NotWithCommittee { .. } => "not_with_committee",
            MediationError::AlreadyAssigned(_) => "already_assigned",
            MediationError::RecusedMediator(_) => "recused_mediator",
            MediationError::NotAMediator(_) => "not_a_mediator",
            MediationError::NoMediator => "no_mediator",
            MediationError::RecusalPending => "recusal_pending",
            MediationError::NoRecusalPending => "no_recusal_pending",
            MediationError::AlreadyNotified(_) => "already_notified",
            MediationError::RightsNotNotified(_) => "rights_not_notified",
            MediationError::BadRecordTime => "bad_record_time",
            MediationError::IncompleteAgreement(_) => "incomplete_agreement",
            MediationError::AgentNotAuthorised(_) => "agent_not_authorised",
            MediationError::WrongMark(_) => "wrong_mark",
            MediationError::AlreadySigned(_) => "already_signed",
            MediationError::NoAdvice => "no_advice",
            MediationError::ConsentMissing(_) => "consent_missing",
            MediationError::TargetNotLater => "target_not_later",
            MediationError::OralAgreement => "oral_agreement",
            MediationError::AlreadyDelivered(_) => "already_delivered",
            MediationError::CopiesNotDelivered(_) => "copies_not_delivered",
            MediationError::JointApplicationRequired(_) => "joint_application_required",
            MediationError::ConfirmationWindowClosed(_) => "confirmation_window_closed",
            MediationError::AlreadyApplied => "already_applied",
            MediationError::NoConfirmationPending => "no_confirmation_pending",
            MediationError::Clock(_) => "clock",
        }
    }
}

fn required(text: &str, what: &'static str) -> Result<String, MediationError> {
    let t = text.trim();
    if t.is_empty() { Err(MediationError::EmptyText(what)) } else { Ok(t.to_string()) }
}

/// The date of an instant in China (+08:00).
fn date_of(t: Timestamp) -> Date {
    china_tz().to_datetime(t).date()
}

/// One calendar month after `start` in China time (a 31st runs to the last day of a shorter month).
fn one_month_after(start: Timestamp) -> Result<Timestamp, MediationError> {
    start
        .to_zoned(china_tz())
        .checked_add(1.month())
        .map(|z| z.timestamp())
        .map_err(|e| MediationError::Clock(e.to_string()))
}

/// The last day of the judicial-confirmation window of an agreement effective on `effective`.
pub fn confirmation_deadline(effective: Date) -> Result<Date, MediationError> {
    effective.checked_add(CONFIRMATION_WINDOW_DAYS.days()).map_err(|e| MediationError::Clock(e.to_string()))
}

// ---------------------------------------------------------------------------------------------------------
// Commands

impl MediationCase {
    /// Registers a case (受理登记) directly: at least two distinct parties, each checked ([`Party::parse`]), the
    /// facts, and the one-month target from now. An application names its applicant among the parties.
    pub fn open(
        id: impl Into<String>,
        committee: &Committee,
        initiation: Initiation,
        dispute: &Dispute,
        parties: &[PartyInput],
        by: &str,
        now: Timestamp,
    ) -> Result<MediationEvent, MediationError> {
        Self::register(id.into(), committee, initiation, None, dispute, parties, by, now)
    }

    /// Registers a case from a hotline work order: the order's category must route to mediation and the order
    /// must be signed for by this committee (signed for or in progress). The facts are the order's description;
    /// the parties are given (the caller's name and number can seed one: [`PartyInput`] is plain data).
    pub fn open_from_work_order(
        id: impl Into<String>,
        order: &WorkOrder,
        committee: &Committee,
        parties: &[PartyInput],
        by: &str,
        now: Timestamp,
    ) -> Result<MediationEvent, MediationError> {
        if order.category.route != Route::Mediation {
            return Err(MediationError::NotForMediation(order.id.clone()));
        }
        let with_committee = order.assignee == Some(Unit::Committee(committee.code.clone()))
            && matches!(order.state, WorkOrderState::SignedFor | WorkOrderState::InProgress);
        if !with_committee {
            return Err(MediationError::NotWithCommittee {
                order: order.id.clone(),
                committee: committee.code.clone(),
            });
        }
        Self::register(
            id.into(),
            committee,
            Initiation::Referral,
            Some(order.id.clone()),
            &Dispute { kind: order.category.code.clone(), facts: order.description.clone() },
            parties,
            by,
            now,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn register(
        id: String,
        committee: &Committee,
        initiation: Initiation,
        source_work_order: Option<String>,
        dispute: &Dispute,
        inputs: &[PartyInput],
        by: &str,
        now: Timestamp,
    ) -> Result<MediationEvent, MediationError> {
        let id = required(&id, "case id")?;
        required(&committee.code, "committee code")?;
        required(&committee.name, "committee name")?;
        let dispute_type = required(&dispute.kind, "dispute type")?;
        let facts = required(&dispute.facts, "facts")?;
        let today = date_of(now);
        let mut parties: Vec<Party> = Vec::with_capacity(inputs.len());
        for input in inputs {
            let party = Party::parse(input, today)?;
            if parties.iter().any(|p| p.id == party.id) {
                return Err(MediationError::DuplicateParty(party.id));
            }
            parties.push(party);
        }
        if parties.len() < 2 {
            return Err(MediationError::TooFewParties);
        }
        if let Initiation::Application { party } = &initiation
            && !parties.iter().any(|p| &p.id == party)
        {
            return Err(MediationError::UnknownParty(party.clone()));
        }
        Ok(MediationEvent::Registered {
            id,
            committee: committee.clone(),
            initiation,
            source_work_order,
            dispute_type,
            facts,
            parties,
            target_at: one_month_after(now)?,
            by: by.to_string(),
        })
    }

    /// The case a registration event describes; any other event gives `None`.
    pub fn from_registered(event: &MediationEvent, at: Timestamp) -> Option<MediationCase> {
        let MediationEvent::Registered {
            id,
            committee,
            initiation,
            source_work_order,
            dispute_type,
            facts,
            parties,
            target_at,
            by,
        } = event
        else {
            return None;
        };
        Some(MediationCase {
            id: id.clone(),
            version: 1,
            state: MediationState::Registered,
            committee: committee.clone(),
            initiation: initiation.clone(),
            source_work_order: source_work_order.clone(),
            dispute_type: dispute_type.clone(),
            facts: facts.clone(),
            parties: parties.clone(),
            registered_at: at,
            registered_by: by.clone(),
            updated_at: at,
            mediators: Vec::new(),
            recusals: Vec::new(),
            notices: Vec::new(),
            records: Vec::new(),
            refusal: None,
            agreement: None,
            termination: None,
            target_at: *target_at,
            target_extensions: Vec::new(),
            follow_ups: Vec::new(),
            confirmation: None,
            archived_at: None,
            fee: Free,
        })
    }

    /// Rebuilds a case from its history, checking that every event follows the state before it.
    pub fn replay(history: &[(MediationEvent, Timestamp)]) -> Result<MediationCase, ReplayError> {
        let Some(((first, first_at), rest)) = history.split_first() else {
            return Err(ReplayError::Empty);
        };
        let mut case = MediationCase::from_registered(first, *first_at)
            .ok_or(ReplayError::NotCreated { index: 0, event: first.name() })?;
        for (i, (event, at)) in rest.iter().enumerate() {
            let index = i + 1;
            if matches!(event, MediationEvent::Registered { .. }) {
                return Err(ReplayError::CreatedTwice { index });
            }
            if *at < case.updated_at {
                return Err(ReplayError::OutOfOrder { index });
            }
            if !case.accepts(event, *at) {
                return Err(ReplayError::NotApplicable { index, event: event.name(), state: case.state.as_str() });
            }
            case.apply(event, *at);
        }
        Ok(case)
    }

    /// Whether `event`, happening at `at`, can follow the case's current state (the check of
    /// [`replay`](Self::replay)). A signature must carry the effective date its marks imply.
    pub fn accepts(&self, event: &MediationEvent, at: Timestamp) -> bool {
        use MediationState as S;
        let s = self.state;
        let before_outcome = matches!(s, S::Registered | S::InMediation);
        match event {
            MediationEvent::Registered { .. } => false,
            MediationEvent::Declined { .. } => s == S::Registered,
            MediationEvent::MediatorAssigned { .. }
            | MediationEvent::RecusalRequested { .. }
            | MediationEvent::RightsNotified { .. }
            | MediationEvent::Recorded { .. } => before_outcome,
            MediationEvent::RecusalDecided { .. } => before_outcome && self.pending_recusal().is_some(),
            MediationEvent::AgreementDrafted { .. } | MediationEvent::OralAgreementRecorded { .. } => {
                s == S::InMediation
            }
            MediationEvent::Signed { signer, effective_at, .. } => {
                s == S::AwaitingSignatures
                    && self
                        .agreement
                        .as_ref()
                        .is_some_and(|a| !a.has_signed(signer) && a.effective_with(signer, at) == *effective_at)
            }
            MediationEvent::Terminated { .. } | MediationEvent::TargetExtended { .. } => s.is_open(),
            MediationEvent::CopyDelivered { .. } | MediationEvent::FollowedUp { .. } => s == S::Effective,
            MediationEvent::ConfirmationApplied { .. } => {
                matches!(s, S::Effective | S::Archived) && self.agreement.is_some() && self.confirmation.is_none()
            }
            MediationEvent::ConfirmationRuled { .. } => {
                self.confirmation.as_ref().is_some_and(|c| c.confirmed.is_none())
            }
            MediationEvent::Archived { .. } => matches!(s, S::Effective | S::Terminated | S::Declined),
        }
    }

    /// Applies an event that [`accepts`](Self::accepts) says follows; needs no clock and cannot fail.
    pub fn apply(&mut self, event: &MediationEvent, at: Timestamp) {
        self.version += 1;
        self.updated_at = at;
        match event {
            MediationEvent::Registered { .. } => {}
            MediationEvent::Declined { party, reason, .. } => {
                self.refusal = Some(Refusal { party: party.clone(), reason: reason.clone(), at });
                self.state = MediationState::Declined;
            }
            MediationEvent::MediatorAssigned { mediator, chosen_by, .. } => {
                self.mediators.push(MediatorAssignment {
                    mediator: mediator.clone(),
                    chosen_by: *chosen_by,
                    assigned_at: at,
                    removed_at: None,
                });
            }
            MediationEvent::RecusalRequested { party, mediator, reason, .. } => self.recusals.push(Recusal {
                party: party.clone(),
                mediator: mediator.clone(),
                reason: reason.clone(),
                requested_at: at,
                granted: None,
                note: String::new(),
                decided_at: None,
            }),
            MediationEvent::RecusalDecided { granted, note, .. } => {
                let mut removed = None;
                if let Some(r) = self.recusals.last_mut() {
                    r.granted = Some(*granted);
                    r.note = note.clone();
                    r.decided_at = Some(at);
                    removed = granted.then(|| r.mediator.clone());
                }
                if let Some(id) = removed {
                    for m in &mut self.mediators {
                        if m.mediator.id == id && m.removed_at.is_none() {
                            m.removed_at = Some(at);
                        }
                    }
                }
            }
            MediationEvent::RightsNotified { party, by } => {
                self.notices.push(Notice { party: party.clone(), at, by: by.clone() });
            }
            MediationEvent::Recorded { record, .. } => {
                if record.kind == RecordKind::Session {
                    self.state = MediationState::InMediation;
                }
                self.records.push(record.clone());
            }
            MediationEvent::AgreementDrafted { content, .. } => {
                self.agreement = Some(self.new_agreement(AgreementForm::Written, content, at, None));
                self.state = MediationState::AwaitingSignatures;
            }
            MediationEvent::OralAgreementRecorded { content, .. } => {
                self.agreement = Some(self.new_agreement(AgreementForm::Oral, content, at, Some(at)));
                self.state = MediationState::Effective;
            }
            MediationEvent::Signed { signer, mark, effective_at, .. } => {
                if let Some(a) = &mut self.agreement {
                    a.signatures.push(Signature { signer: signer.clone(), mark: *mark, at });
                    if effective_at.is_some() {
                        a.effective_at = *effective_at;
                        self.state = MediationState::Effective;
                    }
                }
            }
            MediationEvent::Terminated { reason, advice, note, by } => {
                self.termination = Some(Termination {
                    reason: reason.clone(),
                    advice: advice.clone(),
                    note: note.clone(),
                    at,
                    by: by.clone(),
                });
                self.state = MediationState::Terminated;
            }
            MediationEvent::TargetExtended { target_at, consents, by } => {
                self.target_extensions.push(TargetExtension {
                    from: self.target_at,
                    to: *target_at,
                    consents: consents.clone(),
                    at,
                    by: by.clone(),
                });
                self.target_at = *target_at;
            }
            MediationEvent::CopyDelivered { party, .. } => {
                if let Some(a) = &mut self.agreement {
                    a.copies_delivered.push(party.clone());
                }
            }
            MediationEvent::FollowedUp { performance, note, by } => {
                self.follow_ups.push(FollowUp { performance: *performance, note: note.clone(), at, by: by.clone() });
            }
            MediationEvent::ConfirmationApplied { court, deadline, .. } => {
                self.confirmation = Some(Confirmation {
                    court: court.clone(),
                    applied_at: at,
                    deadline: *deadline,
                    confirmed: None,
                    ruling_note: String::new(),
                    ruled_at: None,
                });
            }
            MediationEvent::ConfirmationRuled { confirmed, note, .. } => {
                if let Some(c) = &mut self.confirmation {
                    c.confirmed = Some(*confirmed);
                    c.ruling_note = note.clone();
                    c.ruled_at = Some(at);
                }
            }
            MediationEvent::Archived { .. } => {
                self.state = MediationState::Archived;
                self.archived_at = Some(at);
            }
        }
    }

    fn new_agreement(
        &self,
        form: AgreementForm,
        content: &AgreementContent,
        at: Timestamp,
        effective_at: Option<Timestamp>,
    ) -> Agreement {
        Agreement {
            form,
            content: content.clone(),
            parties: self.parties.clone(),
            mediators: self.current_mediators().cloned().collect(),
            made_at: at,
            signatures: Vec::new(),
            effective_at,
            copies_delivered: Vec::new(),
        }
    }

    /// Decides a command: the event it causes, or why it is refused.
    pub fn decide(
        &self,
        command: &MediationCommand,
        by: &str,
        now: Timestamp,
    ) -> Result<MediationEvent, MediationError> {
        use MediationCommand as C;
        match command {
            C::Decline { party, reason } => self.decline(party, reason, by, now),
            C::AssignMediator { mediator, chosen_by } => self.assign_mediator(mediator, *chosen_by, by, now),
            C::RequestRecusal { party, mediator, reason } => self.request_recusal(party, mediator, reason, by, now),
            C::DecideRecusal { granted, note } => self.decide_recusal(*granted, note, by, now),
            C::NotifyRights { party } => self.notify_rights(party, by, now),
            C::Record(input) => self.record(input, by, now),
            C::DraftAgreement(content) => self.draft_agreement(content, by, now),
            C::Sign { signer, mark } => self.sign(signer, *mark, by, now),
            C::RecordOralAgreement(content) => self.record_oral_agreement(content, by, now),
            C::Terminate { reason, advice, note } => self.terminate(reason, advice, note, by, now),
            C::ExtendTarget { until, consents } => self.extend_target(*until, consents, by, now),
            C::DeliverCopy { party } => self.deliver_copy(party, by, now),
            C::FollowUp { performance, note } => self.follow_up(*performance, note, by, now),
            C::ApplyForConfirmation { court, applicants } => self.apply_for_confirmation(court, applicants, by, now),
            C::RecordRuling { confirmed, note } => self.record_ruling(*confirmed, note, by, now),
            C::Archive => self.archive(by, now),
        }
    }

    /// Decides a command and applies its event. A refused command changes nothing.
    pub fn act(
        &mut self,
        command: &MediationCommand,
        by: &str,
        now: Timestamp,
    ) -> Result<MediationEvent, MediationError> {
        let event = self.decide(command, by, now)?;
        self.apply(&event, now);
        Ok(event)
    }

    fn illegal(&self, action: &'static str) -> MediationError {
        MediationError::IllegalTransition { action, state: self.state }
    }

    fn require_state(&self, ok: bool, action: &'static str) -> Result<(), MediationError> {
        if ok { Ok(()) } else { Err(self.illegal(action)) }
    }

    fn before_outcome(&self) -> bool {
        matches!(self.state, MediationState::Registered | MediationState::InMediation)
    }

    fn party(&self, id: &str) -> Result<&Party, MediationError> {
        self.parties.iter().find(|p| p.id == id).ok_or_else(|| MediationError::UnknownParty(id.to_string()))
    }

    /// The mediators on the case now.
    pub fn current_mediators(&self) -> impl Iterator<Item = &Mediator> {
        self.mediators.iter().filter(|m| m.removed_at.is_none()).map(|m| &m.mediator)
    }

    fn require_mediator(&self, id: &str) -> Result<(), MediationError> {
        if self.current_mediators().any(|m| m.id == id) {
            Ok(())
        } else {
            Err(MediationError::NotAMediator(id.to_string()))
        }
    }

    /// The recusal request awaiting a decision.
    pub fn pending_recusal(&self) -> Option<&Recusal> {
        self.recusals.last().filter(|r| r.granted.is_none())
    }

    pub fn is_notified(&self, party: &str) -> bool {
        self.notices.iter().any(|n| n.party == party)
    }

    /// A party clearly refuses mediation (§17): no mediation takes place. Once mediation has begun, a party
    /// ends it with [`terminate`](Self::terminate) instead (§23).
    pub fn decline(
        &self,
        party: &str,
        reason: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<MediationEvent, MediationError> {
        let _ = now;
        self.require_state(self.state == MediationState::Registered, "record a refusal on")?;
        self.party(party)?;
        let reason = required(reason, "reason")?;
        Ok(MediationEvent::Declined { party: party.to_string(), reason, by: by.to_string() })
    }

    /// Assigns a mediator (指定, or 选定 by the parties, §19): not one already on the case, nor one who
    /// stepped aside on it.
    pub fn assign_mediator(
        &self,
        mediator: &Mediator,
        chosen_by: ChosenBy,
        by: &str,
        now: Timestamp,
    ) -> Result<MediationEvent, MediationError> {
        let _ = now;
        self.require_state(self.before_outcome(), "assign a mediator to")?;
        required(&mediator.id, "mediator id")?;
        required(&mediator.name, "mediator name")?;
        if self.current_mediators().any(|m| m.id == mediator.id) {
            return Err(MediationError::AlreadyAssigned(mediator.id.clone()));
        }
        if self.recusals.iter().any(|r| r.mediator == mediator.id && r.granted == Some(true)) {
            return Err(MediationError::RecusedMediator(mediator.id.clone()));
        }
        Ok(MediationEvent::MediatorAssigned { mediator: mediator.clone(), chosen_by, by: by.to_string() })
    }

    /// A party asks that a mediator step aside (回避), one request at a time.
    pub fn request_recusal(
        &self,
        party: &str,
        mediator: &str,
        reason: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<MediationEvent, MediationError> {
        let _ = now;
        self.require_state(self.before_outcome(), "ask for a recusal on")?;
        self.party(party)?;
        self.require_mediator(mediator)?;
        if self.pending_recusal().is_some() {
            return Err(MediationError::RecusalPending);
        }
        let reason = required(reason, "reason")?;
        Ok(MediationEvent::RecusalRequested {
            party: party.to_string(),
            mediator: mediator.to_string(),
            reason,
            by: by.to_string(),
        })
    }

    /// The committee decides the pending recusal request: granted, the mediator leaves the case.
    pub fn decide_recusal(
        &self,
        granted: bool,
        note: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<MediationEvent, MediationError> {
        let _ = now;
        self.require_state(self.before_outcome(), "decide a recusal on")?;
        if self.pending_recusal().is_none() {
            return Err(MediationError::NoRecusalPending);
        }
        Ok(MediationEvent::RecusalDecided { granted, note: note.trim().to_string(), by: by.to_string() })
    }

    /// Records that a party was told the nature, principles and effect of mediation and its rights and duties
    /// (告知), once per party.
    pub fn notify_rights(&self, party: &str, by: &str, now: Timestamp) -> Result<MediationEvent, MediationError> {
        let _ = now;
        self.require_state(self.before_outcome(), "notify a party of")?;
        self.party(party)?;
        if self.is_notified(party) {
            return Err(MediationError::AlreadyNotified(party.to_string()));
        }
        Ok(MediationEvent::RightsNotified { party: party.to_string(), by: by.to_string() })
    }

    /// Records an investigation or a session (§27), held by a mediator on the case, between the registration
    /// and now. A session needs every party notified and no recusal pending; the first one begins the
    /// mediation.
    pub fn record(&self, input: &RecordInput, by: &str, now: Timestamp) -> Result<MediationEvent, MediationError> {
        self.require_state(self.before_outcome(), "record on")?;
        self.require_mediator(&input.mediator)?;
        if input.held_at < self.registered_at || input.held_at > now {
            return Err(MediationError::BadRecordTime);
        }
        if input.kind == RecordKind::Session {
            if self.pending_recusal().is_some() {
                return Err(MediationError::RecusalPending);
            }
            if let Some(p) = self.parties.iter().find(|p| !self.is_notified(&p.id)) {
                return Err(MediationError::RightsNotNotified(p.id.clone()));
            }
        }
        let attachments = input.attachments.iter().map(|a| Sha256::parse(a)).collect::<Result<Vec<_>, _>>()?;
        let record = Record {
            kind: input.kind,
            held_at: input.held_at,
            place: required(&input.place, "place")?,
            mediator: input.mediator.clone(),
            participants: input.participants.iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect(),
            findings: required(&input.findings, "findings")?,
            attachments,
        };
        Ok(MediationEvent::Recorded { record, by: by.to_string() })
    }

    fn check_agreement(&self, content: &AgreementContent, form: AgreementForm) -> Result<(), MediationError> {
        if self.pending_recusal().is_some() {
            return Err(MediationError::RecusalPending);
        }
        if self.current_mediators().next().is_none() {
            return Err(MediationError::NoMediator);
        }
        content.check(form, &self.parties)
    }

    /// The mediator drafts the written agreement (调解协议书) with the content §29 requires; it then waits for
    /// every party's mark, every mediator's signature and the committee's seal.
    pub fn draft_agreement(
        &self,
        content: &AgreementContent,
        by: &str,
        now: Timestamp,
    ) -> Result<MediationEvent, MediationError> {
        let _ = now;
        self.require_state(self.state == MediationState::InMediation, "draft an agreement for")?;
        self.check_agreement(content, AgreementForm::Written)?;
        Ok(MediationEvent::AgreementDrafted { content: content.clone(), by: by.to_string() })
    }

    /// The parties reach an oral agreement (§28) and the mediator records its content: in effect from now (§30).
    pub fn record_oral_agreement(
        &self,
        content: &AgreementContent,
        by: &str,
        now: Timestamp,
    ) -> Result<MediationEvent, MediationError> {
        let _ = now;
        self.require_state(self.state == MediationState::InMediation, "record an oral agreement for")?;
        self.check_agreement(content, AgreementForm::Oral)?;
        Ok(MediationEvent::OralAgreementRecorded { content: content.clone(), by: by.to_string() })
    }

    /// One mark on the written agreement: a party signs, seals or fingerprints (itself, or its agent with a
    /// special authorisation); a mediator signs; the committee seals. The last required mark puts the agreement
    /// in effect at the latest mark's time (§29).
    pub fn sign(
        &self,
        signer: &Signer,
        mark: Mark,
        by: &str,
        now: Timestamp,
    ) -> Result<MediationEvent, MediationError> {
        self.require_state(self.state == MediationState::AwaitingSignatures, "sign the agreement of")?;
        let Some(agreement) = &self.agreement else {
            return Err(self.illegal("sign the agreement of"));
        };
        let name = match signer {
            Signer::Party { party, by_agent } => {
                let p = self.party(party)?;
                if *by_agent && !p.agent_may_sign() {
                    return Err(MediationError::AgentNotAuthorised(party.clone()));
                }
                format!("party {party}")
            }
            Signer::Mediator { mediator } => {
                if !agreement.mediators.iter().any(|m| &m.id == mediator) {
                    return Err(MediationError::NotAMediator(mediator.clone()));
                }
                if mark != Mark::Signature {
                    return Err(MediationError::WrongMark("a mediator signs the agreement (调解员签名)"));
                }
                format!("mediator {mediator}")
            }
            Signer::Committee => {
                if mark != Mark::Seal {
                    return Err(MediationError::WrongMark(
                        "the committee seals the agreement (加盖人民调解委员会印章)",
                    ));
                }
                "the committee".to_string()
            }
        };
        if agreement.has_signed(signer) {
            return Err(MediationError::AlreadySigned(name));
        }
        Ok(MediationEvent::Signed {
            signer: signer.clone(),
            mark,
            effective_at: agreement.effective_with(signer, now),
            by: by.to_string(),
        })
    }

    /// Ends the mediation without agreement (终止调解, §26), telling the parties which other routes are open.
    pub fn terminate(
        &self,
        reason: &TerminationReason,
        advice: &[OtherRoute],
        note: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<MediationEvent, MediationError> {
        let _ = now;
        self.require_state(self.state.is_open(), "terminate")?;
        if let TerminationReason::PartyWithdrew { party } = reason {
            self.party(party)?;
        }
        if advice.is_empty() {
            return Err(MediationError::NoAdvice);
        }
        let mut advice = advice.to_vec();
        advice.dedup();
        Ok(MediationEvent::Terminated {
            reason: reason.clone(),
            advice,
            note: note.trim().to_string(),
            by: by.to_string(),
        })
    }

    /// Moves the one-month target later, with every party's consent, before an outcome.
    pub fn extend_target(
        &self,
        until: Timestamp,
        consents: &[String],
        by: &str,
        now: Timestamp,
    ) -> Result<MediationEvent, MediationError> {
        let _ = now;
        self.require_state(self.state.is_open(), "extend the target of")?;
        for c in consents {
            self.party(c)?;
        }
        if let Some(p) = self.parties.iter().find(|p| !consents.contains(&p.id)) {
            return Err(MediationError::ConsentMissing(p.id.clone()));
        }
        if until <= self.target_at {
            return Err(MediationError::TargetNotLater);
        }
        let mut consents = consents.to_vec();
        consents.sort();
        consents.dedup();
        Ok(MediationEvent::TargetExtended { target_at: until, consents, by: by.to_string() })
    }

    /// Delivers a party its copy of the written agreement (送达).
    pub fn deliver_copy(&self, party: &str, by: &str, now: Timestamp) -> Result<MediationEvent, MediationError> {
        let _ = now;
        self.require_state(self.state == MediationState::Effective, "deliver a copy of")?;
        self.party(party)?;
        let Some(agreement) = &self.agreement else {
            return Err(self.illegal("deliver a copy of"));
        };
        if agreement.form == AgreementForm::Oral {
            return Err(MediationError::OralAgreement);
        }
        if agreement.copies_delivered.iter().any(|p| p == party) {
            return Err(MediationError::AlreadyDelivered(party.to_string()));
        }
        Ok(MediationEvent::CopyDelivered { party: party.to_string(), by: by.to_string() })
    }

    /// Records a follow-up visit on the agreement's performance (回访, §31).
    pub fn follow_up(
        &self,
        performance: PerformanceStatus,
        note: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<MediationEvent, MediationError> {
        let _ = now;
        self.require_state(self.state == MediationState::Effective, "follow up")?;
        Ok(MediationEvent::FollowedUp { performance, note: note.trim().to_string(), by: by.to_string() })
    }

    /// Records the parties' joint application to a court for judicial confirmation (§33), within the 30 days.
    pub fn apply_for_confirmation(
        &self,
        court: &str,
        applicants: &[String],
        by: &str,
        now: Timestamp,
    ) -> Result<MediationEvent, MediationError> {
        let ok = matches!(self.state, MediationState::Effective | MediationState::Archived) && self.agreement.is_some();
        self.require_state(ok, "apply for judicial confirmation of")?;
        if self.confirmation.is_some() {
            return Err(MediationError::AlreadyApplied);
        }
        let court = required(court, "court")?;
        for a in applicants {
            self.party(a)?;
        }
        if let Some(p) = self.parties.iter().find(|p| !applicants.contains(&p.id)) {
            return Err(MediationError::JointApplicationRequired(p.id.clone()));
        }
        let effective = self.effective_date().ok_or_else(|| self.illegal("apply for judicial confirmation of"))?;
        let deadline = confirmation_deadline(effective)?;
        if date_of(now) > deadline {
            return Err(MediationError::ConfirmationWindowClosed(deadline));
        }
        Ok(MediationEvent::ConfirmationApplied { court, deadline, by: by.to_string() })
    }

    /// Records the court's ruling on the application.
    pub fn record_ruling(
        &self,
        confirmed: bool,
        note: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<MediationEvent, MediationError> {
        let _ = now;
        if self.confirmation.as_ref().is_none_or(|c| c.confirmed.is_some()) {
            return Err(MediationError::NoConfirmationPending);
        }
        Ok(MediationEvent::ConfirmationRuled { confirmed, note: note.trim().to_string(), by: by.to_string() })
    }

    /// Files the case (归档, §27): after an agreement in effect (a written one once every party has its copy),
    /// a termination or a refusal.
    pub fn archive(&self, by: &str, now: Timestamp) -> Result<MediationEvent, MediationError> {
        let _ = now;
        use MediationState as S;
        self.require_state(matches!(self.state, S::Effective | S::Terminated | S::Declined), "archive")?;
        if let Some(a) = &self.agreement
            && a.form == AgreementForm::Written
            && let Some(p) = a.parties.iter().find(|p| !a.copies_delivered.contains(&p.id))
        {
            return Err(MediationError::CopiesNotDelivered(p.id.clone()));
        }
        Ok(MediationEvent::Archived { by: by.to_string() })
    }

    // -----------------------------------------------------------------------------------------------------
    // Derived views

    /// The day the agreement took effect, in China.
    pub fn effective_date(&self) -> Option<Date> {
        self.agreement.as_ref()?.effective_at.map(date_of)
    }

    /// The last day on which the parties may jointly apply for judicial confirmation: the effective date plus
    /// 30 calendar days (§33). `None` before an agreement is in effect.
    pub fn judicial_confirmation_deadline(&self) -> Option<Date> {
        self.effective_date().and_then(|d| confirmation_deadline(d).ok())
    }

    /// The fee: 0 (§4).
    pub fn fee(&self) -> u32 {
        self.fee.yuan()
    }

    /// The colour of the one-month target (一个月内调结), in calendar time from the registration: `None` once
    /// there is an outcome.
    pub fn target_colour(&self, clock: &WorkClock, now: Timestamp, t: &Thresholds) -> Option<Colour> {
        if !self.state.is_open() {
            return None;
        }
        let minutes = u64::try_from(self.target_at.duration_since(self.registered_at).as_mins()).ok()?;
        let limit = WorkingDuration::minutes(minutes);
        limit_colour(clock, Basis::Calendar, self.registered_at, limit, self.target_at, now, t).ok()
    }
}
