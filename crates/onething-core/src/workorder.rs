//! The 12345 hotline work order (工单, GB/T 33358-2016: the record of a request from intake to callback) as a
//! pure, event-sourced state machine (DOMAIN.md §3.3).
//!
//! | from | command | event | to |
//! | --- | --- | --- | --- |
//! | — | [`open`](WorkOrder::open) (受理/登记) | `created` | created |
//! | created | [`answer_directly`](WorkOrder::answer_directly) (直办) | `answered_directly` | closed |
//! | created | [`dispatch`](WorkOrder::dispatch) (派单) | `dispatched` | dispatched: the clocks run |
//! | dispatched | [`sign_for`](WorkOrder::sign_for) (签收) | `signed_for` | signed for |
//! | signed for, reopened | [`start`](WorkOrder::start) (办理) | `started` | in progress |
//! | dispatched, signed for | [`return_order`](WorkOrder::return_order) (退单) | `returned` | returned |
//! | returned | [`redispatch`](WorkOrder::redispatch) (审核通过, 改派) | `redispatched` | dispatched to another unit |
//! | returned | [`refuse_return`](WorkOrder::refuse_return) (退单不予通过) | `return_refused` | back to the unit |
//! | in progress | [`reply`](WorkOrder::reply) (答复) | `replied` | replied |
//! | replied | [`callback`](WorkOrder::callback) (回访): 满意 / 基本满意 | `called_back` | closed (办结) |
//! | replied | [`callback`](WorkOrder::callback): 不满意 | `reopened` (重办) | reopened |
//! | signed for, in progress, reopened | [`request_extension`](WorkOrder::request_extension) (延期) | `extension_requested` | same |
//! | same, with a request pending | [`decide_extension`](WorkOrder::decide_extension) | `extension_approved` / `extension_denied` | same |
//! | any open state | [`merge`] (并单), with the master | `merged_into` / `duplicate_absorbed` | merged (terminal) |
//!
//! A command checks and computes and returns the event without changing anything; [`WorkOrder::apply`] changes
//! the order and needs no clock, no category list and cannot fail; [`WorkOrder::replay`] rebuilds an order
//! from its history. Who may act: the hotline centre ([`Unit::Centre`]) opens, dispatches, reviews returns,
//! decides extensions, calls back and merges; the assigned unit signs for, starts, returns, replies and asks
//! for extensions.
//!
//! Clocks: the handling limit (办理时限) and the sign-for limit (签收时限) of the category count from the
//! dispatch (派单) to the current unit; a re-dispatch (改派) restarts both for the new unit, a refused return
//! keeps the running ones (the time spent arguing is the unit's), a reopening (重办) restarts the handling
//! limit, and an approved extension moves the deadline by its amount, counted the same way as the limit.

mod assessment;
mod category;
mod limit;
mod phone;

pub use assessment::{Rate, UnitFigures, assessment};
pub use category::{Category, CategoryList, Route, Urgency};
pub use limit::{Basis, CALENDAR_DAY_MINUTES, MAX_CALENDAR_DAYS, TimeLimit, colour as limit_colour, deadline, sum};
pub use phone::{PhoneError, PhoneKind, PhoneNumber};

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarError, WorkClock, china_tz};
use crate::colour::{Colour, Thresholds};
use crate::duration::WorkingDuration;

// ---------------------------------------------------------------------------------------------------------
// Values

/// The state of a work order (工单状态).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum WorkOrderState {
    /// 已受理/登记: recorded by the centre, not yet dispatched.
    Created,
    /// 已派单: sent to a unit, waiting for it to sign for the order.
    Dispatched,
    /// 已签收: the unit took the order.
    SignedFor,
    /// 办理中: the unit is working on it.
    InProgress,
    /// 已退单: the unit sent it back as not its own; the centre reviews the return (派单异议审核).
    Returned,
    /// 已答复: the unit answered the caller; the centre calls back.
    Replied,
    /// 重办: the caller was not satisfied; the unit handles it again.
    Reopened,
    /// 已办结/归档: closed after a satisfied callback, or answered at intake.
    Closed,
    /// 已并单: merged into another order as a duplicate.
    Merged,
}

impl WorkOrderState {
    pub const ALL: [WorkOrderState; 9] = [
        WorkOrderState::Created,
        WorkOrderState::Dispatched,
        WorkOrderState::SignedFor,
        WorkOrderState::InProgress,
        WorkOrderState::Returned,
        WorkOrderState::Replied,
        WorkOrderState::Reopened,
        WorkOrderState::Closed,
        WorkOrderState::Merged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkOrderState::Created => "created",
            WorkOrderState::Dispatched => "dispatched",
            WorkOrderState::SignedFor => "signed_for",
            WorkOrderState::InProgress => "in_progress",
            WorkOrderState::Returned => "returned",
            WorkOrderState::Replied => "replied",
            WorkOrderState::Reopened => "reopened",
            WorkOrderState::Closed => "closed",
            WorkOrderState::Merged => "merged",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            WorkOrderState::Created => "已受理",
            WorkOrderState::Dispatched => "已派单",
            WorkOrderState::SignedFor => "已签收",
            WorkOrderState::InProgress => "办理中",
            WorkOrderState::Returned => "已退单",
            WorkOrderState::Replied => "已答复",
            WorkOrderState::Reopened => "重办",
            WorkOrderState::Closed => "已办结",
            WorkOrderState::Merged => "已并单",
        }
    }

    /// Closed or merged: nothing can happen any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, WorkOrderState::Closed | WorkOrderState::Merged)
    }

    /// The states in which the handling clock of the current unit runs.
    pub fn clock_runs(self) -> bool {
        matches!(
            self,
            WorkOrderState::Dispatched
                | WorkOrderState::SignedFor
                | WorkOrderState::InProgress
                | WorkOrderState::Returned
                | WorkOrderState::Reopened
        )
    }

    fn words(self) -> &'static str {
        match self {
            WorkOrderState::SignedFor => "signed for",
            WorkOrderState::InProgress => "in progress",
            other => other.as_str(),
        }
    }
}

/// How the request came in (受理渠道).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// 电话
    Phone,
    /// 短信
    Sms,
    /// 网站
    Web,
    /// 移动应用
    App,
    /// 微信
    Wechat,
    /// 电子邮件
    Email,
}

/// A unit that acts on an order: the hotline centre (12345 热线中心), a department (职能部门) or a people's
/// mediation committee (人民调解委员会), the latter two by their codes.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug, Hash, PartialOrd, Ord)]
#[serde(tag = "kind", content = "code", rename_all = "snake_case")]
pub enum Unit {
    Centre,
    Department(String),
    Committee(String),
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unit::Centre => f.write_str("the hotline centre"),
            Unit::Department(code) => write!(f, "department {code}"),
            Unit::Committee(code) => write!(f, "mediation committee {code}"),
        }
    }
}

/// Who acted: a user and the unit they act for.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug, Hash)]
pub struct Actor {
    pub user: String,
    pub unit: Unit,
}

impl Actor {
    pub fn new(user: impl Into<String>, unit: Unit) -> Actor {
        Actor { user: user.into(), unit }
    }

    /// A user of the hotline centre.
    pub fn centre(user: impl Into<String>) -> Actor {
        Actor::new(user, Unit::Centre)
    }
}

/// The caller (诉求人): a name if given (calls may be anonymous) and a telephone number to call back.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Caller {
    pub name: Option<String>,
    pub phone: PhoneNumber,
}

/// A point in WGS 84 (Open311 `lat`/`long`).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Debug)]
pub struct GeoPoint {
    pub lat: f64,
    pub long: f64,
}

/// Where the matter is (诉求地址): an address, a point, or both; never neither.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct Location {
    pub address: Option<String>,
    pub point: Option<GeoPoint>,
}

/// What the centre's operator records at intake, as typed: [`WorkOrder::open`] parses it.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct Intake {
    pub channel: Channel,
    pub caller_name: Option<String>,
    pub phone: String,
    pub address: Option<String>,
    /// Latitude and longitude (WGS 84).
    pub lat_long: Option<(f64, f64)>,
    pub description: String,
    /// The caller asked for confidentiality (保密): Open311 output withholds the description.
    pub confidential: bool,
}

/// The caller's satisfaction at the callback (回访满意度).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    /// 满意
    Satisfied,
    /// 基本满意
    BasicallySatisfied,
    /// 不满意
    Unsatisfied,
}

impl Satisfaction {
    pub fn as_str(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "satisfied",
            Satisfaction::BasicallySatisfied => "basically_satisfied",
            Satisfaction::Unsatisfied => "unsatisfied",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "满意",
            Satisfaction::BasicallySatisfied => "基本满意",
            Satisfaction::Unsatisfied => "不满意",
        }
    }
}

/// One dispatch of the order to a unit (派单记录), for the unit's figures.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Assignment {
    pub unit: Unit,
    pub dispatched_at: Timestamp,
    /// The sign-for deadline (签收时限).
    pub sign_due_at: Timestamp,
    pub signed_at: Option<Timestamp>,
    /// When the unit first sent the order back (退单), if it did.
    pub returned_at: Option<Timestamp>,
    /// When the order left this unit (re-dispatched or merged away).
    pub ended_at: Option<Timestamp>,
}

impl Assignment {
    /// When the unit first reacted: signed for or returned the order.
    pub fn responded_at(&self) -> Option<Timestamp> {
        match (self.signed_at, self.returned_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The centre's decision on a return (退单审核).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum ReturnDecision {
    /// 改派: the return is accepted and the order goes to another unit.
    Redispatched { to: Unit },
    /// 退单不予通过: the order stays with the unit.
    Refused { reason: String },
}

/// A return (退单) by a unit with its reason and the centre's decision.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct ReturnRecord {
    pub unit: Unit,
    pub reason: String,
    pub at: Timestamp,
    pub by: Actor,
    pub decision: Option<ReturnDecision>,
    pub decided_at: Option<Timestamp>,
}

/// Where an extension request stands.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ExtensionStatus {
    /// Waiting for the centre.
    Pending,
    Approved,
    Denied,
    /// Not decided before the order left the unit's hands (replied, returned or merged): moot.
    Lapsed,
}

/// An extension request (延期申请) and the centre's decision.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Extension {
    /// The extra time, counted like the category's limit.
    pub amount: WorkingDuration,
    pub reason: String,
    pub requested_at: Timestamp,
    pub requested_by: Actor,
    pub status: ExtensionStatus,
    pub decided_at: Option<Timestamp>,
    pub decided_by: Option<Actor>,
    /// The deadline after an approval.
    pub due_at: Option<Timestamp>,
    /// Why it was denied.
    pub denial: Option<String>,
}

/// A reply (答复) of the unit to the caller.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Reply {
    pub unit: Unit,
    pub answer: String,
    pub at: Timestamp,
    pub by: Actor,
}

/// A callback (回访) of the centre to the caller.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Callback {
    pub satisfaction: Satisfaction,
    pub note: String,
    pub at: Timestamp,
    pub by: Actor,
}

// ---------------------------------------------------------------------------------------------------------
// The aggregate

/// A work order (工单).
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct WorkOrder {
    pub id: String,
    /// The number of events applied: a write names the version it read.
    pub version: u64,
    pub state: WorkOrderState,
    pub channel: Channel,
    pub caller: Caller,
    pub location: Location,
    pub description: String,
    pub confidential: bool,
    /// The category at intake, or as re-classified at a re-dispatch.
    pub category: Category,
    pub created_at: Timestamp,
    pub created_by: Actor,
    /// When the last event happened.
    pub updated_at: Timestamp,
    /// The unit the order is with now.
    pub assignee: Option<Unit>,
    pub assignments: Vec<Assignment>,
    /// When the running handling limit started: the dispatch to the current unit, or the reopening.
    pub clock_started_at: Option<Timestamp>,
    /// The running handling limit: the category's plus the extensions approved since it started.
    pub limit: Option<WorkingDuration>,
    /// The handling deadline (办理期限).
    pub due_at: Option<Timestamp>,
    pub returns: Vec<ReturnRecord>,
    /// The state the order was returned from, while returned.
    pub returned_from: Option<WorkOrderState>,
    pub extensions: Vec<Extension>,
    pub replies: Vec<Reply>,
    pub callbacks: Vec<Callback>,
    /// The answer given at intake (直办).
    pub direct_answer: Option<String>,
    /// 办结时间.
    pub closed_at: Option<Timestamp>,
    /// The master order a duplicate was merged into.
    pub merged_into: Option<String>,
    /// The duplicates merged into this order.
    pub duplicates: Vec<String>,
}

/// An event of a work order: what was decided, with everything [`WorkOrder::apply`] needs.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WorkOrderEvent {
    Created {
        id: String,
        channel: Channel,
        caller: Caller,
        location: Location,
        description: String,
        confidential: bool,
        category: Category,
        by: Actor,
    },
    AnsweredDirectly {
        answer: String,
        by: Actor,
    },
    Dispatched {
        to: Unit,
        sign_due_at: Timestamp,
        due_at: Timestamp,
        by: Actor,
    },
    SignedFor {
        by: Actor,
    },
    Started {
        by: Actor,
    },
    Returned {
        reason: String,
        by: Actor,
    },
    Redispatched {
        to: Unit,
        /// The new category when the centre re-classified the order.
        category: Option<Category>,
        sign_due_at: Timestamp,
        due_at: Timestamp,
        by: Actor,
    },
    ReturnRefused {
        reason: String,
        by: Actor,
    },
    ExtensionRequested {
        amount: WorkingDuration,
        reason: String,
        by: Actor,
    },
    ExtensionApproved {
        due_at: Timestamp,
        by: Actor,
    },
    ExtensionDenied {
        reason: String,
        by: Actor,
    },
    Replied {
        answer: String,
        by: Actor,
    },
    /// A satisfied or basically satisfied callback: the order closes (办结).
    CalledBack {
        satisfaction: Satisfaction,
        note: String,
        by: Actor,
    },
    /// An unsatisfied callback: the order is reopened (重办) with a new handling deadline.
    Reopened {
        note: String,
        due_at: Timestamp,
        by: Actor,
    },
    /// This order, a duplicate, was merged into `master` (并单).
    MergedInto {
        master: String,
        by: Actor,
    },
    /// The duplicate `duplicate` was merged into this order.
    DuplicateAbsorbed {
        duplicate: String,
        by: Actor,
    },
}

impl WorkOrderEvent {
    /// The snake_case name of the event, as in its `type` tag.
    pub fn name(&self) -> &'static str {
        match self {
            WorkOrderEvent::Created { .. } => "created",
            WorkOrderEvent::AnsweredDirectly { .. } => "answered_directly",
            WorkOrderEvent::Dispatched { .. } => "dispatched",
            WorkOrderEvent::SignedFor { .. } => "signed_for",
            WorkOrderEvent::Started { .. } => "started",
            WorkOrderEvent::Returned { .. } => "returned",
            WorkOrderEvent::Redispatched { .. } => "redispatched",
            WorkOrderEvent::ReturnRefused { .. } => "return_refused",
            WorkOrderEvent::ExtensionRequested { .. } => "extension_requested",
            WorkOrderEvent::ExtensionApproved { .. } => "extension_approved",
            WorkOrderEvent::ExtensionDenied { .. } => "extension_denied",
            WorkOrderEvent::Replied { .. } => "replied",
            WorkOrderEvent::CalledBack { .. } => "called_back",
            WorkOrderEvent::Reopened { .. } => "reopened",
            WorkOrderEvent::MergedInto { .. } => "merged_into",
            WorkOrderEvent::DuplicateAbsorbed { .. } => "duplicate_absorbed",
        }
    }
}

/// A command on an existing order, for [`WorkOrder::decide`] and [`WorkOrder::act`]. Merging involves two
/// orders and is the free function [`merge`].
#[derive(Clone, PartialEq, Debug)]
pub enum WorkOrderCommand {
    AnswerDirectly { answer: String },
    Dispatch { to: Unit },
    SignFor,
    Start,
    Return { reason: String },
    Redispatch { to: Unit, category: Option<Category> },
    RefuseReturn { reason: String },
    RequestExtension { amount: WorkingDuration, reason: String },
    DecideExtension { approve: bool, reason: String },
    Reply { answer: String },
    Callback { satisfaction: Satisfaction, note: String },
}

/// Why a command on a work order was refused. The order is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkOrderError {
    #[error("cannot {action} a work order that is {}", state.words())]
    IllegalTransition { action: &'static str, state: WorkOrderState },
    /// Only the unit the order is with may do this.
    #[error("{actor} cannot {action}: the order is with {}", assignee.as_ref().map_or("nobody".to_string(), ToString::to_string))]
    NotAssignee { action: &'static str, actor: Unit, assignee: Option<Unit> },
    /// Only the hotline centre may do this.
    #[error("only the hotline centre can {action}, not {actor}")]
    CentreOnly { action: &'static str, actor: Unit },
    /// An order is dispatched to a department or a committee, never to the centre itself.
    #[error("an order is dispatched to a department or a mediation committee, not to the hotline centre")]
    BadAssignee,
    /// The category's route does not match the unit: civil disputes go to a committee, the rest to departments.
    #[error("category {category} goes to a {}, not to {to}", route.as_str())]
    WrongRoute { category: String, route: Route, to: Unit },
    /// A re-dispatch must go to another unit than the one that returned the order.
    #[error("the order was returned by {0}: re-dispatch it to another unit, or refuse the return")]
    SameAssignee(Unit),
    #[error("the {0} is empty")]
    EmptyText(&'static str),
    #[error("bad telephone number: {0}")]
    BadPhone(PhoneError),
    #[error("bad location: {0}")]
    BadLocation(&'static str),
    #[error("unknown category {0:?}")]
    UnknownCategory(String),
    #[error("category {0} allows no extension")]
    NotExtendable(String),
    #[error("an extension request is already pending")]
    ExtensionPending,
    #[error("no extension request is pending")]
    NoExtensionPending,
    #[error("the extension is zero")]
    ZeroExtension,
    /// An extension is asked for before the deadline, not after it.
    #[error("the deadline has passed: an extension must be asked for before it")]
    DeadlinePassed,
    #[error("an order cannot be merged into itself")]
    MergeIntoSelf,
    /// The master of a merge must be open.
    #[error("the master order {0} is closed or merged: merge into an open order")]
    MasterNotOpen(String),
    #[error("the deadline cannot be computed: {0}")]
    Clock(String),
}

impl WorkOrderError {
    /// A stable snake_case code for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            WorkOrderError::IllegalTransition { .. } => "illegal_transition",
            WorkOrderError::NotAssignee { .. } => "not_assignee",
            WorkOrderError::CentreOnly { .. } => "centre_only",
            WorkOrderError::BadAssignee => "bad_assignee",
            WorkOrderError::WrongRoute { .. } => "wrong_route",
            WorkOrderError::SameAssignee(_) => "same_assignee",
            WorkOrderError::EmptyText(_) => "empty_text",
            WorkOrderError::BadPhone(_) => "bad_phone",
            WorkOrderError::BadLocation(_) => "bad_location",
            WorkOrderError::UnknownCategory(_) => "unknown_category",
            WorkOrderError::NotExtendable(_) => "not_extendable",
            WorkOrderError::ExtensionPending => "extension_pending",
            WorkOrderError::NoExtensionPending => "no_extension_pending",
            WorkOrderError::ZeroExtension => "zero_extension",
            WorkOrderError::DeadlinePassed => "deadline_passed",
            WorkOrderError::MergeIntoSelf => "merge_into_self",
            WorkOrderError::MasterNotOpen(_) => "master_not_open",
            WorkOrderError::Clock(_) => "clock",
        }
    }
}

impl From<CalendarError> for WorkOrderError {
    fn from(e: CalendarError) -> Self {
        WorkOrderError::Clock(e.to_string())
    }
}

/// Why a history does not replay into an aggregate (a work order, or a mediation case).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("the history is empty")]
    Empty,
    #[error("event {index} is {event}, but a history begins with its creation")]
    NotCreated { index: usize, event: &'static str },
    #[error("event {index} creates the aggregate again")]
    CreatedTwice { index: usize },
    #[error("event {index} ({event}) cannot follow the state {state}")]
    NotApplicable { index: usize, event: &'static str, state: &'static str },
    #[error("event {index} happened before the event it follows")]
    OutOfOrder { index: usize },
}

impl ReplayError {
    pub fn code(&self) -> &'static str {
        match self {
            ReplayError::Empty => "empty_history",
            ReplayError::NotCreated { .. } => "not_created",
            ReplayError::CreatedTwice { .. } => "created_twice",
            ReplayError::NotApplicable { .. } => "event_not_applicable",
            ReplayError::OutOfOrder { .. } => "out_of_order",
        }
    }
}

fn non_empty(text: &str, what: &'static str) -> Result<(), WorkOrderError> {
    if text.trim().is_empty() { Err(WorkOrderError::EmptyText(what)) } else { Ok(()) }
}

/// The dispatch target must suit the category's route.
fn check_route(category: &Category, to: &Unit) -> Result<(), WorkOrderError> {
    let ok = match (category.route, to) {
        (_, Unit::Centre) => return Err(WorkOrderError::BadAssignee),
        (Route::Department, Unit::Department(_)) | (Route::Mediation, Unit::Committee(_)) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(WorkOrderError::WrongRoute { category: category.code.clone(), route: category.route, to: to.clone() })
    }
}

/// The sign-for and handling deadlines of a category dispatched at `now`.
fn deadlines(category: &Category, now: Timestamp, clock: &WorkClock) -> Result<(Timestamp, Timestamp), WorkOrderError> {
    Ok((category.sign_within.deadline(now, clock)?, category.limit.deadline(now, clock)?))
}

/// The text with its first letter upper-case, to begin a sentence.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn show(t: Timestamp) -> String {
    china_tz().to_datetime(t).strftime("%Y-%m-%d %H:%M").to_string()
}

// ---------------------------------------------------------------------------------------------------------
// Commands

/// Merges a duplicate into a master (并单): the events for the duplicate (`merged_into`, terminal) and for the
/// master (`duplicate_absorbed`), both to be written in one changeset. Only the centre merges; both orders
/// must be open (not closed or merged) and distinct.
pub fn merge(
    duplicate: &WorkOrder,
    master: &WorkOrder,
    by: &Actor,
    now: Timestamp,
) -> Result<(WorkOrderEvent, WorkOrderEvent), WorkOrderError> {
    let _ = now;
    duplicate.centre_only(by, "merge orders")?;
    if duplicate.id == master.id {
        return Err(WorkOrderError::MergeIntoSelf);
    }
    if duplicate.state.is_terminal() {
        return Err(duplicate.illegal("merge"));
    }
    if master.state.is_terminal() {
        return Err(WorkOrderError::MasterNotOpen(master.id.clone()));
    }
    Ok((
        WorkOrderEvent::MergedInto { master: master.id.clone(), by: by.clone() },
        WorkOrderEvent::DuplicateAbsorbed { duplicate: duplicate.id.clone(), by: by.clone() },
    ))
}

impl WorkOrder {
    /// Records a request (受理/登记): parses the phone number and the location and checks the description. The
    /// id is the caller's; the category comes from the code list ([`CategoryList::require`]).
    pub fn open(
        id: impl Into<String>,
        intake: &Intake,
        category: &Category,
        by: &Actor,
        now: Timestamp,
    ) -> Result<WorkOrderEvent, WorkOrderError> {
        let _ = now;
        if by.unit != Unit::Centre {
            return Err(WorkOrderError::CentreOnly { action: "open a work order", actor: by.unit.clone() });
        }
        let id = id.into();
        non_empty(&id, "id")?;
        non_empty(&intake.description, "description")?;
        let phone = PhoneNumber::parse(&intake.phone).map_err(WorkOrderError::BadPhone)?;
        let address = intake.address.as_ref().map(|a| a.trim().to_string()).filter(|a| !a.is_empty());
        let point = match intake.lat_long {
            None => None,
            Some((lat, long)) => {
                let in_range = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&long);
                if !in_range {
                    return Err(WorkOrderError::BadLocation("latitude or longitude out of range"));
                }
                Some(GeoPoint { lat, long })
            }
        };
        if address.is_none() && point.is_none() {
            return Err(WorkOrderError::BadLocation("give an address or a latitude and longitude"));
        }
        let name = intake.caller_name.as_ref().map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        Ok(WorkOrderEvent::Created {
            id,
            channel: intake.channel,
            caller: Caller { name, phone },
            location: Location { address, point },
            description: intake.description.trim().to_string(),
            confidential: intake.confidential,
            category: category.clone(),
            by: by.clone(),
        })
    }

    /// The order a creation event describes. Any other event gives `None`.
    pub fn from_created(event: &WorkOrderEvent, at: Timestamp) -> Option<WorkOrder> {
        let WorkOrderEvent::Created { id, channel, caller, location, description, confidential, category, by } = event
        else {
            return None;
        };
        Some(WorkOrder {
            id: id.clone(),
            version: 1,
            state: WorkOrderState::Created,
            channel: *channel,
            caller: caller.clone(),
            location: location.clone(),
            description: description.clone(),
            confidential: *confidential,
            category: category.clone(),
            created_at: at,
            created_by: by.clone(),
            updated_at: at,
            assignee: None,
            assignments: Vec::new(),
            clock_started_at: None,
            limit: None,
            due_at: None,
            returns: Vec::new(),
            returned_from: None,
            extensions: Vec::new(),
            replies: Vec::new(),
            callbacks: Vec::new(),
            direct_answer: None,
            closed_at: None,
            merged_into: None,
            duplicates: Vec::new(),
        })
    }

    /// Rebuilds an order from its history: its creation first, then its events in order, each with the instant
    /// it happened. Every event is checked to follow the state before it.
    pub fn replay(history: &[(WorkOrderEvent, Timestamp)]) -> Result<WorkOrder, ReplayError> {
        let Some(((first, first_at), rest)) = history.split_first() else {
            return Err(ReplayError::Empty);
        };
        let mut order = WorkOrder::from_created(first, *first_at)
            .ok_or(ReplayError::NotCreated { index: 0, event: first.name() })?;
        for (i, (event, at)) in rest.iter().enumerate() {
            let index = i + 1;
            if matches!(event, WorkOrderEvent::Created { .. }) {
                return Err(ReplayError::CreatedTwice { index });
            }
            if *at < order.updated_at {
                return Err(ReplayError::OutOfOrder { index });
            }
            if !order.accepts(event) {
                return Err(ReplayError::NotApplicable { index, event: event.name(), state: order.state.as_str() });
            }
            order.apply(event, *at);
        }
        Ok(order)
    }

    /// Whether `event` can follow the order's current state (the check [`replay`](Self::replay) makes).
    pub fn accepts(&self, event: &WorkOrderEvent) -> bool {
        use WorkOrderState as S;
        let s = self.state;
        let pending = self.pending_extension().is_some();
        match event {
            WorkOrderEvent::Created { .. } => false,
            WorkOrderEvent::AnsweredDirectly { .. } | WorkOrderEvent::Dispatched { .. } => s == S::Created,
            WorkOrderEvent::SignedFor { .. } => s == S::Dispatched,
            WorkOrderEvent::Started { .. } => matches!(s, S::SignedFor | S::Reopened),
            WorkOrderEvent::Returned { .. } => matches!(s, S::Dispatched | S::SignedFor),
            WorkOrderEvent::Redispatched { to, .. } => {
                s == S::Returned && *to != Unit::Centre && self.assignee.as_ref() != Some(to)
            }
            WorkOrderEvent::ReturnRefused { .. } => s == S::Returned,
            WorkOrderEvent::ExtensionRequested { .. } => Self::may_extend(s) && !pending,
            WorkOrderEvent::ExtensionApproved { .. } | WorkOrderEvent::ExtensionDenied { .. } => {
                Self::may_extend(s) && pending
            }
            WorkOrderEvent::Replied { .. } => s == S::InProgress,
            WorkOrderEvent::CalledBack { satisfaction, .. } => {
                s == S::Replied && *satisfaction != Satisfaction::Unsatisfied
            }
            WorkOrderEvent::Reopened { .. } => s == S::Replied,
            WorkOrderEvent::MergedInto { .. } | WorkOrderEvent::DuplicateAbsorbed { .. } => !s.is_terminal(),
        }
    }

    fn may_extend(state: WorkOrderState) -> bool {
        matches!(state, WorkOrderState::SignedFor | WorkOrderState::InProgress | WorkOrderState::Reopened)
    }

    /// Applies an event that [`accepts`](Self::accepts) says follows; `at` is when it happened. Needs no clock
    /// and cannot fail.
    pub fn apply(&mut self, event: &WorkOrderEvent, at: Timestamp) {
        self.version += 1;
        self.updated_at = at;
        if matches!(
            event,
            WorkOrderEvent::Replied { .. } | WorkOrderEvent::Returned { .. } | WorkOrderEvent::MergedInto { .. }
        ) && let Some(e) = self.extensions.last_mut()
            && e.status == ExtensionStatus::Pending
        {
            e.status = ExtensionStatus::Lapsed;
        }
        match event {
            WorkOrderEvent::Created { .. } => {}
            WorkOrderEvent::AnsweredDirectly { answer, .. } => {
                self.direct_answer = Some(answer.clone());
                self.state = WorkOrderState::Closed;
                self.closed_at = Some(at);
            }
            WorkOrderEvent::Dispatched { to, sign_due_at, due_at, .. } => {
                self.assign(to, *sign_due_at, *due_at, at);
            }
            WorkOrderEvent::SignedFor { .. } => {
                if let Some(a) = self.assignments.last_mut() {
                    a.signed_at.get_or_insert(at);
                }
                self.state = WorkOrderState::SignedFor;
            }
            WorkOrderEvent::Started { .. } => self.state = WorkOrderState::InProgress,
            WorkOrderEvent::Returned { reason, by } => {
                if let Some(a) = self.assignments.last_mut() {
                    a.returned_at.get_or_insert(at);
                }
                self.returns.push(ReturnRecord {
                    unit: self.assignee.clone().unwrap_or(Unit::Centre),
                    reason: reason.clone(),
                    at,
                    by: by.clone(),
                    decision: None,
                    decided_at: None,
                });
                self.returned_from = Some(self.state);
                self.state = WorkOrderState::Returned;
            }
            WorkOrderEvent::Redispatched { to, category, sign_due_at, due_at, .. } => {
                self.decide_return(ReturnDecision::Redispatched { to: to.clone() }, at);
                if let Some(a) = self.assignments.last_mut() {
                    a.ended_at = Some(at);
                }
                if let Some(category) = category {
                    self.category = category.clone();
                }
                self.assign(to, *sign_due_at, *due_at, at);
            }
            WorkOrderEvent::ReturnRefused { reason, .. } => {
                self.decide_return(ReturnDecision::Refused { reason: reason.clone() }, at);
                self.state = self.returned_from.take().unwrap_or(WorkOrderState::Dispatched);
            }
            WorkOrderEvent::ExtensionRequested { amount, reason, by } => self.extensions.push(Extension {
                amount: *amount,
                reason: reason.clone(),
                requested_at: at,
                requested_by: by.clone(),
                status: ExtensionStatus::Pending,
                decided_at: None,
                decided_by: None,
                due_at: None,
                denial: None,
            }),
            WorkOrderEvent::ExtensionApproved { due_at, by } => {
                let mut amount = WorkingDuration::ZERO;
                if let Some(e) = self.extensions.last_mut() {
                    e.status = ExtensionStatus::Approved;
                    e.decided_at = Some(at);
                    e.decided_by = Some(by.clone());
                    e.due_at = Some(*due_at);
                    amount = e.amount;
                }
                let running = self.limit.unwrap_or(self.category.limit.amount);
                self.limit = Some(limit::sum(self.category.limit.counts, running, amount));
                self.due_at = Some(*due_at);
            }
            WorkOrderEvent::ExtensionDenied { reason, by } => {
                if let Some(e) = self.extensions.last_mut() {
                    e.status = ExtensionStatus::Denied;
                    e.decided_at = Some(at);
                    e.decided_by = Some(by.clone());
                    e.denial = Some(reason.clone());
                }
            }
            WorkOrderEvent::Replied { answer, by } => {
                self.replies.push(Reply {
                    unit: self.assignee.clone().unwrap_or(Unit::Centre),
                    answer: answer.clone(),
                    at,
                    by: by.clone(),
                });
                self.state = WorkOrderState::Replied;
            }
            WorkOrderEvent::CalledBack { satisfaction, note, by } => {
                self.callbacks.push(Callback { satisfaction: *satisfaction, note: note.clone(), at, by: by.clone() });
                self.state = WorkOrderState::Closed;
                self.closed_at = Some(at);
            }
            WorkOrderEvent::Reopened { note, due_at, by } => {
                self.callbacks.push(Callback {
                    satisfaction: Satisfaction::Unsatisfied,
                    note: note.clone(),
                    at,
                    by: by.clone(),
                });
                self.state = WorkOrderState::Reopened;
                self.clock_started_at = Some(at);
                self.limit = Some(self.category.limit.amount);
                self.due_at = Some(*due_at);
            }
            WorkOrderEvent::MergedInto { master, .. } => {
                if let Some(a) = self.assignments.last_mut() {
                    a.ended_at.get_or_insert(at);
                }
                self.merged_into = Some(master.clone());
                self.state = WorkOrderState::Merged;
                self.closed_at = Some(at);
            }
            WorkOrderEvent::DuplicateAbsorbed { duplicate, .. } => self.duplicates.push(duplicate.clone()),
        }
    }

    fn assign(&mut self, to: &Unit, sign_due_at: Timestamp, due_at: Timestamp, at: Timestamp) {
        self.assignee = Some(to.clone());
        self.assignments.push(Assignment {
            unit: to.clone(),
            dispatched_at: at,
            sign_due_at,
            signed_at: None,
            returned_at: None,
            ended_at: None,
        });
        self.clock_started_at = Some(at);
        self.limit = Some(self.category.limit.amount);
        self.due_at = Some(due_at);
        self.returned_from = None;
        self.state = WorkOrderState::Dispatched;
    }

    fn decide_return(&mut self, decision: ReturnDecision, at: Timestamp) {
        if let Some(r) = self.returns.last_mut() {
            r.decision = Some(decision);
            r.decided_at = Some(at);
        }
    }

    /// Decides a command: the event it causes, or why it is refused.
    pub fn decide(
        &self,
        command: &WorkOrderCommand,
        by: &Actor,
        now: Timestamp,
        clock: &WorkClock,
    ) -> Result<WorkOrderEvent, WorkOrderError> {
        match command {
            WorkOrderCommand::AnswerDirectly { answer } => self.answer_directly(answer, by, now),
            WorkOrderCommand::Dispatch { to } => self.dispatch(to, by, now, clock),
            WorkOrderCommand::SignFor => self.sign_for(by, now),
            WorkOrderCommand::Start => self.start(by, now),
            WorkOrderCommand::Return { reason } => self.return_order(reason, by, now),
            WorkOrderCommand::Redispatch { to, category } => self.redispatch(to, category.as_ref(), by, now, clock),
            WorkOrderCommand::RefuseReturn { reason } => self.refuse_return(reason, by, now),
            WorkOrderCommand::RequestExtension { amount, reason } => self.request_extension(*amount, reason, by, now),
            WorkOrderCommand::DecideExtension { approve, reason } => {
                self.decide_extension(*approve, reason, by, now, clock)
            }
            WorkOrderCommand::Reply { answer } => self.reply(answer, by, now),
            WorkOrderCommand::Callback { satisfaction, note } => self.callback(*satisfaction, note, by, now, clock),
        }
    }

    /// Decides a command and applies its event: the step-by-step way to the state [`replay`](Self::replay)
    /// rebuilds. A refused command changes nothing.
    pub fn act(
        &mut self,
        command: &WorkOrderCommand,
        by: &Actor,
        now: Timestamp,
        clock: &WorkClock,
    ) -> Result<WorkOrderEvent, WorkOrderError> {
        let event = self.decide(command, by, now, clock)?;
        self.apply(&event, now);
        Ok(event)
    }

    fn illegal(&self, action: &'static str) -> WorkOrderError {
        WorkOrderError::IllegalTransition { action, state: self.state }
    }

    fn centre_only(&self, by: &Actor, action: &'static str) -> Result<(), WorkOrderError> {
        if by.unit == Unit::Centre {
            Ok(())
        } else {
            Err(WorkOrderError::CentreOnly { action, actor: by.unit.clone() })
        }
    }

    fn assignee_only(&self, by: &Actor, action: &'static str) -> Result<(), WorkOrderError> {
        if self.assignee.as_ref() == Some(&by.unit) {
            Ok(())
        } else {
            Err(WorkOrderError::NotAssignee { action, actor: by.unit.clone(), assignee: self.assignee.clone() })
        }
    }

    /// The centre answers the request at intake (直办, 即时答复): the order closes at once.
    pub fn answer_directly(&self, answer: &str, by: &Actor, now: Timestamp) -> Result<WorkOrderEvent, WorkOrderError> {
        let _ = now;
        if self.state != WorkOrderState::Created {
            return Err(self.illegal("answer directly"));
        }
        self.centre_only(by, "answer an order at intake")?;
        non_empty(answer, "answer")?;
        Ok(WorkOrderEvent::AnsweredDirectly { answer: answer.trim().to_string(), by: by.clone() })
    }

    /// The centre dispatches (派单) the order to a unit that suits its category's route: the sign-for and
    /// handling clocks start.
    pub fn dispatch(
        &self,
        to: &Unit,
        by: &Actor,
        now: Timestamp,
        clock: &WorkClock,
    ) -> Result<WorkOrderEvent, WorkOrderError> {
        if self.state != WorkOrderState::Created {
            return Err(self.illegal("dispatch"));
        }
        self.centre_only(by, "dispatch an order")?;
        check_route(&self.category, to)?;
        let (sign_due_at, due_at) = deadlines(&self.category, now, clock)?;
        Ok(WorkOrderEvent::Dispatched { to: to.clone(), sign_due_at, due_at, by: by.clone() })
    }

    /// The unit signs for (签收) the order.
    pub fn sign_for(&self, by: &Actor, now: Timestamp) -> Result<WorkOrderEvent, WorkOrderError> {
        let _ = now;
        if self.state != WorkOrderState::Dispatched {
            return Err(self.illegal("sign for"));
        }
        self.assignee_only(by, "sign for the order")?;
        Ok(WorkOrderEvent::SignedFor { by: by.clone() })
    }

    /// The unit starts handling (办理) the order, after signing for it or after a reopening.
    pub fn start(&self, by: &Actor, now: Timestamp) -> Result<WorkOrderEvent, WorkOrderError> {
        let _ = now;
        if !matches!(self.state, WorkOrderState::SignedFor | WorkOrderState::Reopened) {
            return Err(self.illegal("start"));
        }
        self.assignee_only(by, "start the order")?;
        Ok(WorkOrderEvent::Started { by: by.clone() })
    }

    /// The unit returns (退单) the order as not its own, with a reason, before starting it.
    pub fn return_order(&self, reason: &str, by: &Actor, now: Timestamp) -> Result<WorkOrderEvent, WorkOrderError> {
        let _ = now;
        if !matches!(self.state, WorkOrderState::Dispatched | WorkOrderState::SignedFor) {
            return Err(self.illegal("return"));
        }
        self.assignee_only(by, "return the order")?;
        non_empty(reason, "reason")?;
        Ok(WorkOrderEvent::Returned { reason: reason.trim().to_string(), by: by.clone() })
    }

    /// The centre accepts a return (派单异议审核通过) and re-dispatches (改派) the order to another unit,
    /// optionally re-classified: both clocks restart for the new unit.
    pub fn redispatch(
        &self,
        to: &Unit,
        category: Option<&Category>,
        by: &Actor,
        now: Timestamp,
        clock: &WorkClock,
    ) -> Result<WorkOrderEvent, WorkOrderError> {
        if self.state != WorkOrderState::Returned {
            return Err(self.illegal("re-dispatch"));
        }
        self.centre_only(by, "re-dispatch an order")?;
        if self.assignee.as_ref() == Some(to) {
            return Err(WorkOrderError::SameAssignee(to.clone()));
        }
        let effective = category.unwrap_or(&self.category);
        check_route(effective, to)?;
        let (sign_due_at, due_at) = deadlines(effective, now, clock)?;
        Ok(WorkOrderEvent::Redispatched {
            to: to.clone(),
            category: category.filter(|c| **c != self.category).cloned(),
            sign_due_at,
            due_at,
            by: by.clone(),
        })
    }

    /// The centre refuses a return (退单不予通过): the order goes back to the same unit, in the state it was
    /// returned from, with its running deadlines.
    pub fn refuse_return(&self, reason: &str, by: &Actor, now: Timestamp) -> Result<WorkOrderEvent, WorkOrderError> {
        let _ = now;
        if self.state != WorkOrderState::Returned {
            return Err(self.illegal("refuse the return of"));
        }
        self.centre_only(by, "review a return")?;
        non_empty(reason, "reason")?;
        Ok(WorkOrderEvent::ReturnRefused { reason: reason.trim().to_string(), by: by.clone() })
    }

    /// The request pending for an extension, if any.
    pub fn pending_extension(&self) -> Option<&Extension> {
        self.extensions.last().filter(|e| e.status == ExtensionStatus::Pending)
    }

    /// The unit asks for an extension (延期申请) before the deadline, for an extendable category, one at a time.
    pub fn request_extension(
        &self,
        amount: WorkingDuration,
        reason: &str,
        by: &Actor,
        now: Timestamp,
    ) -> Result<WorkOrderEvent, WorkOrderError> {
        if !Self::may_extend(self.state) {
            return Err(self.illegal("extend"));
        }
        self.assignee_only(by, "ask for an extension")?;
        if !self.category.extendable {
            return Err(WorkOrderError::NotExtendable(self.category.code.clone()));
        }
        if self.pending_extension().is_some() {
            return Err(WorkOrderError::ExtensionPending);
        }
        if amount.nominal_minutes() == 0 {
            return Err(WorkOrderError::ZeroExtension);
        }
        if self.due_at.is_some_and(|due| now > due) {
            return Err(WorkOrderError::DeadlinePassed);
        }
        non_empty(reason, "reason")?;
        Ok(WorkOrderEvent::ExtensionRequested { amount, reason: reason.trim().to_string(), by: by.clone() })
    }

    /// The centre approves (the deadline moves by the amount, counted like the limit) or denies (with a reason)
    /// the pending extension request.
    pub fn decide_extension(
        &self,
        approve: bool,
        reason: &str,
        by: &Actor,
        now: Timestamp,
        clock: &WorkClock,
    ) -> Result<WorkOrderEvent, WorkOrderError> {
        let _ = now;
        if !Self::may_extend(self.state) {
            return Err(self.illegal("decide an extension of"));
        }
        let Some(pending) = self.pending_extension() else {
            return Err(WorkOrderError::NoExtensionPending);
        };
        self.centre_only(by, "decide an extension")?;
        if !approve {
            non_empty(reason, "reason")?;
            return Ok(WorkOrderEvent::ExtensionDenied { reason: reason.trim().to_string(), by: by.clone() });
        }
        let due = self.due_at.ok_or_else(|| self.illegal("extend"))?;
        let due_at = deadline(self.category.limit.counts, due, pending.amount, clock)?;
        Ok(WorkOrderEvent::ExtensionApproved { due_at, by: by.clone() })
    }

    /// The unit replies (答复) to the caller.
    pub fn reply(&self, answer: &str, by: &Actor, now: Timestamp) -> Result<WorkOrderEvent, WorkOrderError> {
        let _ = now;
        if self.state != WorkOrderState::InProgress {
            return Err(self.illegal("reply to"));
        }
        self.assignee_only(by, "reply")?;
        non_empty(answer, "answer")?;
        Ok(WorkOrderEvent::Replied { answer: answer.trim().to_string(), by: by.clone() })
    }

    /// The centre calls the caller back (回访): satisfied or basically satisfied closes the order (办结);
    /// unsatisfied reopens it (重办) with the category's handling limit from now.
    pub fn callback(
        &self,
        satisfaction: Satisfaction,
        note: &str,
        by: &Actor,
        now: Timestamp,
        clock: &WorkClock,
    ) -> Result<WorkOrderEvent, WorkOrderError> {
        if self.state != WorkOrderState::Replied {
            return Err(self.illegal("call back"));
        }
        self.centre_only(by, "call back")?;
        let note = note.trim().to_string();
        match satisfaction {
            Satisfaction::Unsatisfied => {
                let due_at = self.category.limit.deadline(now, clock)?;
                Ok(WorkOrderEvent::Reopened { note, due_at, by: by.clone() })
            }
            satisfaction => Ok(WorkOrderEvent::CalledBack { satisfaction, note, by: by.clone() }),
        }
    }

    // -----------------------------------------------------------------------------------------------------
    // Derived views

    /// The caller's satisfaction at the last callback.
    pub fn satisfaction(&self) -> Option<Satisfaction> {
        self.callbacks.last().map(|c| c.satisfaction)
    }

    /// The current assignment, while the order is with a unit.
    pub fn assignment(&self) -> Option<&Assignment> {
        self.assignments.last().filter(|a| a.ended_at.is_none())
    }

    /// The supervision colour of the handling deadline, counted the category's way: `None` unless the clock
    /// runs (dispatched to replied, reopened), or when the clock cannot tell.
    pub fn colour(&self, clock: &WorkClock, now: Timestamp, t: &Thresholds) -> Option<Colour> {
        if !self.state.clock_runs() {
            return None;
        }
        let (start, limit, due) = (self.clock_started_at?, self.limit?, self.due_at?);
        limit::colour(clock, self.category.limit.counts, start, limit, due, now, t).ok()
    }

    /// The Open311 GeoReport v2 `status`: `closed` once closed or merged, `open` otherwise.
    pub fn open311_status(&self) -> &'static str {
        if self.state.is_terminal() { "closed" } else { "open" }
    }

    /// The Open311 `status_notes`: the state in a sentence.
    pub fn status_notes(&self) -> String {
        let unit = self.assignee.as_ref().map_or("the hotline centre".to_string(), ToString::to_string);
        let due = self.due_at.map(|d| format!("; due {} (+08:00)", show(d))).unwrap_or_default();
        match self.state {
            WorkOrderState::Created => "Received; waiting to be dispatched.".to_string(),
            WorkOrderState::Dispatched => format!("Dispatched to {unit}{due}."),
            WorkOrderState::SignedFor => format!("Signed for by {unit}{due}."),
            WorkOrderState::InProgress if self.pending_extension().is_some() => {
                format!("In progress at {unit}{due}; an extension is requested.")
            }
            WorkOrderState::InProgress => format!("In progress at {unit}{due}."),
            WorkOrderState::Returned => format!("Returned by {unit}; the dispatch is under review."),
            WorkOrderState::Replied => format!("{} replied; the hotline centre will call back.", capitalised(&unit)),
            WorkOrderState::Reopened => format!("Reopened after an unsatisfied callback; with {unit}{due}."),
            WorkOrderState::Closed => match (&self.direct_answer, self.satisfaction()) {
                (Some(_), _) => "Closed: answered at intake.".to_string(),
                (None, Some(s)) => format!("Closed after the callback ({}).", s.as_str().replace('_', " ")),
                (None, None) => "Closed.".to_string(),
            },
            WorkOrderState::Merged => {
                format!("Merged into work order {} as a duplicate.", self.merged_into.as_deref().unwrap_or("?"))
            }
        }
    }
}
