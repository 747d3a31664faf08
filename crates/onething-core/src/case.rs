//! The case (办件): one application of one bundle, and its tasks (部门审批环节), as a pure state machine.
//!
//! | from | action | to |
//! | --- | --- | --- |
//! | (none) | [`file`](Case::file) (立案) | draft |
//! | draft, returned | [`update`](Case::update), [`upload`](Case::upload) | the same |
//! | draft | [`submit`](Case::submit) | submitted |
//! | submitted | [`return_for_correction`](Case::return_for_correction) (window clerk, 补正) | returned |
//! | returned by the clerk | [`submit`](Case::submit) | submitted |
//! | submitted | [`accept`](Case::accept) (受理) | accepted: the tasks exist, the clock runs |
//! | accepted, in progress | [`approve`](Case::approve) / [`reject`](Case::reject) a ready task | in progress |
//! | in progress | the last task is decided | concluded (办结) with an [`Outcome`] |
//! | accepted, in progress | [`return_by_task`](Case::return_by_task) (a department's 补正) | returned: clocks stop |
//! | returned by a task | [`submit`](Case::submit) | accepted or in progress: the clocks run again |
//! | anything but concluded, withdrawn | [`withdraw`](Case::withdraw) | withdrawn |
//!
//! Every operation takes the time as an argument (`now`) and, where a deadline moves, the hall's [`WorkClock`].
//! An operation either succeeds or returns a [`CaseError`] and leaves the case exactly as it was.
//!
//! Decide, then apply: an operation checks and computes — deadlines on the clock, the tasks of the plan — and
//! returns the [`CaseEvent`] that records it, which [`Case::apply`] (the one place a case changes) applies. An
//! event carries everything that was decided, so applying it needs no clock and no catalogue, and a case's
//! history rebuilds it exactly ([`Case::replay`]): the log proves the state.
//!
//! Corrections are tracked item by item: a material or field a correction names must be uploaded again or
//! changed before the case can be resubmitted ([`CaseError::CorrectionUnresolved`]).
//!
//! Task states: a task waits (`waiting`) until every task it needs is approved, then is `ready` for its
//! department, which approves it with a result, rejects it with a reason or returns the case for correction.
//! While a department's correction (补正) is open, a [`Pause`] is open and every clock of the case stands still;
//! no task can be decided until the applicant resubmits.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarError, Pause, WorkClock};
use crate::catalog::ConclusionRule;
use crate::duration::WorkingDuration;
use crate::plan::Plan;

/// The reason given to the tasks that need a rejected task.
pub const REASON_NEEDED_TASK_REJECTED: &str = "前序事项未获批准 / a task it needs was rejected";
/// The reason given to the open tasks of an all-or-nothing bundle when one task is rejected.
pub const REASON_BUNDLE_REJECTED: &str = "一件事整体不予办理 / the bundle is rejected as a whole";

/// The state of a case (办件状态).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// 草稿: being filled in by the applicant or a clerk.
    Draft,
    /// 已提交: waiting for the window's completeness check.
    Submitted,
    /// 补正: returned for correction, by the window clerk (before acceptance) or by a department (after it).
    Returned,
    /// 已受理: accepted (受理); the tasks exist and the clock runs, no task decided yet.
    Accepted,
    /// 办理中: at least one task decided.
    InProgress,
    /// 已办结: every task decided; see the [`Outcome`].
    Concluded,
    /// 已撤回: withdrawn by the applicant.
    Withdrawn,
}

impl CaseState {
    pub const ALL: [CaseState; 7] = [
        CaseState::Draft,
        CaseState::Submitted,
        CaseState::Returned,
        CaseState::Accepted,
        CaseState::InProgress,
        CaseState::Concluded,
        CaseState::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Draft => "draft",
            CaseState::Submitted => "submitted",
            CaseState::Returned => "returned",
            CaseState::Accepted => "accepted",
            CaseState::InProgress => "in_progress",
            CaseState::Concluded => "concluded",
            CaseState::Withdrawn => "withdrawn",
        }
    }

    /// The state in words, for messages.
    fn words(self) -> &'static str {
        match self {
            CaseState::Returned => "returned for correction",
            CaseState::InProgress => "in progress",
            other => other.as_str(),
        }
    }
}

/// The outcome of a concluded case (办结结果).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 准予办理: every task approved.
    Approved,
    /// 部分准予: some tasks approved, some rejected (only under [`ConclusionRule::Partial`]).
    PartlyApproved,
    /// 不予办理: no task approved, or any rejected under [`ConclusionRule::AllOrNothing`].
    Rejected,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Approved => "approved",
            Outcome::PartlyApproved => "partly_approved",
            Outcome::Rejected => "rejected",
        }
    }
}

/// The state of a task (部门审批环节).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// 等待前序: waiting for the tasks it needs.
    Waiting,
    /// 待办: ready for its department; its clock runs.
    Ready,
    /// 补正: the department asked for correction; the case's clocks stop.
    Returned,
    /// 准予: approved with a result.
    Approved,
    /// 不予: rejected with a reason.
    Rejected,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Waiting => "waiting",
            TaskState::Ready => "ready",
            TaskState::Returned => "returned",
            TaskState::Approved => "approved",
            TaskState::Rejected => "rejected",
        }
    }

    /// Approved or rejected: the department has decided (办结).
    pub fn is_decided(self) -> bool {
        matches!(self, TaskState::Approved | TaskState::Rejected)
    }
}

/// Who applies (申请人): a company (企业) or a person (自然人).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ApplicantKind {
    Company,
    Person,
}

impl ApplicantKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicantKind::Company => "company",
            ApplicantKind::Person => "person",
        }
    }
}

/// The applicant (申请人): a company with its unified social credit code (统一社会信用代码), or a person with
/// the resident ID number (居民身份证号码).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Applicant {
    pub kind: ApplicantKind,
    pub name: String,
    pub credit_code: Option<String>,
    pub id_number: Option<String>,
}

/// One reason of a return for correction (补正理由) or of a rejection (不予办理理由), optionally about one
/// material or one form field.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Reason {
    pub material: Option<String>,
    pub field: Option<String>,
    pub reason: String,
}

impl Reason {
    /// A reason about the case as a whole.
    pub fn general(reason: impl Into<String>) -> Reason {
        Reason { material: None, field: None, reason: reason.into() }
    }
}

/// Who returned the case for correction: the window clerk (综合窗口, before acceptance) or a department's task.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReturnedBy {
    Clerk,
    Task { task_id: String },
}

/// A return for correction (补正): who asked, when, why, what the applicant has replaced or changed since, and
/// when the applicant resubmitted.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Correction {
    pub by: ReturnedBy,
    pub at: Timestamp,
    pub reasons: Vec<Reason>,
    pub resolved_at: Option<Timestamp>,
    /// The materials uploaded again while the correction was open, in the order of their first upload.
    #[serde(default)]
    pub replaced_materials: Vec<String>,
    /// The form fields changed while the correction was open.
    #[serde(default)]
    pub changed_fields: Vec<String>,
}

impl Correction {
    /// The flagged materials not uploaded again yet, and the flagged fields not changed yet.
    pub fn unresolved(&self) -> (Vec<String>, Vec<String>) {
        let mut materials = Vec::new();
        let mut fields = Vec::new();
        for r in &self.reasons {
            if let Some(m) = &r.material
                && !self.replaced_materials.contains(m)
                && !materials.contains(m)
            {
                materials.push(m.clone());
            }
            if let Some(f) = &r.field
                && !self.changed_fields.contains(f)
                && !fields.contains(f)
            {
                fields.push(f.clone());
            }
        }
        (materials, fields)
    }
}

/// A material file as the case knows it (材料): content-addressed, with its type as sniffed from its bytes.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Upload {
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
    pub uploaded_at: Timestamp,
}

/// The result of an approved task (办理结果/电子证照): the licence issued, with its number, holder and validity.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct TaskResult {
    /// The licence type code of the catalogue.
    pub licence: String,
    /// The licence number (证照编号).
    pub number: String,
    /// The holder (持证主体).
    pub holder: String,
    pub valid_from: jiff::civil::Date,
    /// `None`: valid indefinitely (长期有效).
    pub valid_to: Option<jiff::civil::Date>,
    /// The licence's surface fields (照面信息).
    pub fields: BTreeMap<String, serde_json::Value>,
    pub issued_at: Timestamp,
}

/// A task (部门审批环节): one item of the bundle for its department.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct Task {
    pub id: String,
    /// The item code (事项).
    pub item: String,
    pub department: String,
    /// The in-bundle time limit (环节时限).
    pub limit: WorkingDuration,
    /// The item codes of the tasks it waits for (前序事项).
    pub needs: Vec<String>,
    /// The licence type the item issues, if any.
    pub licence: Option<String>,
    pub state: TaskState,
    /// When it became ready; its clock starts here.
    pub ready_at: Option<Timestamp>,
    /// Its deadline (环节办理期限), moved by the case's pauses.
    pub due_at: Option<Timestamp>,
    pub decided_at: Option<Timestamp>,
    pub result: Option<TaskResult>,
    /// The reasons of a rejection, or of a correction while the task is returned.
    pub reasons: Vec<Reason>,
}

/// A case (办件): one application of one bundle, with the applicant, the situation answers (情形), the
/// integrated form (一表申请), the materials (材料), the clock, the corrections and the tasks.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct Case {
    pub id: String,
    pub bundle: String,
    pub catalog_version: String,
    #[serde(with = "conclusion_rule")]
    pub conclusion: ConclusionRule,
    pub state: CaseState,
    pub outcome: Option<Outcome>,
    pub applicant: Applicant,
    pub answers: BTreeMap<String, String>,
    pub form: BTreeMap<String, serde_json::Value>,
    /// The uploaded materials, by material code.
    #[serde(default)]
    pub materials: BTreeMap<String, Upload>,
    /// The bundle's promised limit (承诺时限), counted from acceptance.
    pub promised_limit: WorkingDuration,
    /// The user who filed it: the applicant, or a clerk filing for one (帮办代办).
    #[serde(default)]
    pub filed_by: String,
    /// 受理编号 (the receipt's number), once accepted.
    #[serde(default)]
    pub receipt_number: Option<String>,
    pub created_at: Timestamp,
    pub submitted_at: Option<Timestamp>,
    /// 受理时间.
    pub accepted_at: Option<Timestamp>,
    /// 办结时间.
    pub concluded_at: Option<Timestamp>,
    /// The case's deadline (办理期限), moved by its pauses.
    pub due_at: Option<Timestamp>,
    pub corrections: Vec<Correction>,
    /// Clock pauses (暂停计时), one per department correction; at most one is open.
    pub pauses: Vec<Pause>,
    pub tasks: Vec<Task>,
}

/// The schema version of [`CaseEvent`] payloads as the log stores them.
pub const CASE_EVENT_VERSION: u32 = 1;

/// What a filing decided (立案): everything the draft starts from.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct Filed {
    pub bundle: String,
    pub catalog_version: String,
    #[serde(with = "conclusion_rule")]
    pub conclusion: ConclusionRule,
    pub promised_limit: WorkingDuration,
    pub applicant: Applicant,
    pub answers: BTreeMap<String, String>,
    pub form: BTreeMap<String, serde_json::Value>,
    pub filed_by: String,
}

/// A task's new deadline.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct TaskDue {
    pub task_id: String,
    pub due_at: Timestamp,
}

/// What a resubmission after a department's correction decided: the clocks run again, every running deadline
/// moved by the working time paused.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Resumed {
    pub due_at: Timestamp,
    pub tasks: Vec<TaskDue>,
}

/// What happened to a case (办件事件): one value per transition, carrying everything that was decided — ids,
/// deadlines computed on the clock, results — so that [`Case::apply`] needs no clock and no catalogue, and the
/// case's log rebuilds it ([`Case::replay`]). The `type` of each is the event kind of the log.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CaseEvent {
    /// 立案: a draft is filed.
    CaseFiled(Filed),
    /// The answers or the form changed (only what changed).
    CaseUpdated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answers: Option<BTreeMap<String, String>>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        set: BTreeMap<String, serde_json::Value>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        removed: Vec<String>,
    },
    /// A material file is uploaded (or replaced).
    MaterialUploaded { material: String, sha256: String, size: u64, media_type: String },
    /// 提交.
    CaseSubmitted {},
    /// Resubmitted after a correction: after the clerk's, `resumed` is none; after a department's, the clocks
    /// run again.
    CaseResubmitted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resumed: Option<Resumed>,
    },
    /// 补正: the window clerk returns the case.
    CaseReturned { reasons: Vec<Reason> },
    /// 受理: the tasks exist, the clock runs.
    CaseAccepted { receipt_number: String, due_at: Timestamp, tasks: Vec<Task> },
    /// A department approves a task with its result; the tasks it unlocks become ready.
    TaskApproved { task_id: String, result: TaskResult, unlocked: Vec<TaskDue> },
    /// A department rejects a task (不予办理).
    TaskRejected { task_id: String, reason: String },
    /// A department returns the case for correction from its task: the clocks stop.
    TaskReturned { task_id: String, reasons: Vec<Reason> },
    /// 撤回.
    CaseWithdrawn {},
}

impl CaseEvent {
    /// Every kind, as the log names them.
    pub const KINDS: [&'static str; 11] = [
        "case_filed",
        "case_updated",
        "material_uploaded",
        "case_submitted",
        "case_resubmitted",
        "case_returned",
        "case_accepted",
        "task_approved",
        "task_rejected",
        "task_returned",
        "case_withdrawn",
    ];

    /// The kind of the event (its `type`).
    pub fn kind(&self) -> &'static str {
        match self {
            CaseEvent::CaseFiled(_) => "case_filed",
            CaseEvent::CaseUpdated { .. } => "case_updated",
            CaseEvent::MaterialUploaded { .. } => "material_uploaded",
            CaseEvent::CaseSubmitted {} => "case_submitted",
            CaseEvent::CaseResubmitted { .. } => "case_resubmitted",
            CaseEvent::CaseReturned { .. } => "case_returned",
            CaseEvent::CaseAccepted { .. } => "case_accepted",
            CaseEvent::TaskApproved { .. } => "task_approved",
            CaseEvent::TaskRejected { .. } => "task_rejected",
            CaseEvent::TaskReturned { .. } => "task_returned",
            CaseEvent::CaseWithdrawn {} => "case_withdrawn",
        }
    }
}

/// Why an operation on a case was refused. The case is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    /// The case's state does not allow the action.
    #[error("cannot {action} a case that is {}", state.words())]
    IllegalTransition { action: &'static str, state: CaseState },
    /// The task is not ready, so its department cannot decide or return it.
    #[error("task {task_id:?} is {}: only a ready task can be approved, rejected or returned", state.as_str())]
    TaskNotReady { task_id: String, state: TaskState },
    #[error("this case has no task {0:?}")]
    UnknownTask(String),
    #[error("give at least one reason, and no empty ones")]
    EmptyReasons,
    #[error("the plan has {expected} tasks but {found} task ids were given")]
    TaskCountMismatch { expected: usize, found: usize },
    /// Resubmitting while a flagged material was not uploaded again or a flagged field not changed.
    #[error(
        "the correction is not done: {} still to replace, {} still to change",
        if materials.is_empty() { "no material".to_string() } else { materials.join(", ") },
        if fields.is_empty() { "no field".to_string() } else { fields.join(", ") }
    )]
    CorrectionUnresolved { materials: Vec<String>, fields: Vec<String> },
    /// The working-time clock failed (e.g. a date beyond the holiday calendar's years).
    #[error("the deadline cannot be computed: {0}")]
    Clock(String),
    /// A history that no sequence of transitions can produce (replaying a tampered or foreign log).
    #[error("the history does not fit the case: {0}")]
    Inconsistent(String),
}

impl CaseError {
    /// A stable snake_case code for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            CaseError::IllegalTransition { .. } => "illegal_transition",
            CaseError::TaskNotReady { .. } => "task_not_ready",
            CaseError::UnknownTask(_) => "unknown_task",
            CaseError::EmptyReasons => "empty_reasons",
            CaseError::TaskCountMismatch { .. } => "task_count_mismatch",
            CaseError::CorrectionUnresolved { .. } => "correction_unresolved",
            CaseError::Clock(_) => "clock",
            CaseError::Inconsistent(_) => "inconsistent_history",
        }
    }
}

impl From<CalendarError> for CaseError {
    fn from(e: CalendarError) -> Self {
        CaseError::Clock(e.to_string())
    }
}

fn check_reasons(reasons: &[Reason]) -> Result<(), CaseError> {
    if reasons.is_empty() || reasons.iter().any(|r| r.reason.trim().is_empty()) {
        return Err(CaseError::EmptyReasons);
    }
    Ok(())
}

/// The pauses with an open one closed at `now` (never before its own start).
pub(crate) fn closed_at(pauses: &[Pause], now: Timestamp) -> Vec<Pause> {
    pauses.iter().map(|p| Pause { from: p.from, to: Some(p.to.unwrap_or(now.max(p.from))) }).collect()
}

fn push_once(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_string());
    }
}

impl Case {
    /// Files a new case (立案) in draft for a compiled plan: the case and its first event.
    pub fn file(
        id: impl Into<String>,
        plan: &Plan,
        applicant: Applicant,
        answers: BTreeMap<String, String>,
        form: BTreeMap<String, serde_json::Value>,
        filed_by: impl Into<String>,
        now: Timestamp,
    ) -> (Case, CaseEvent) {
        let filed = Filed {
            bundle: plan.bundle.clone(),
            catalog_version: plan.catalog_version.clone(),
            conclusion: plan.conclusion,
            promised_limit: plan.promised_limit,
            applicant,
            answers,
            form,
            filed_by: filed_by.into(),
        };
        (Case::from_filed(id, &filed, now), CaseEvent::CaseFiled(filed))
    }

    /// The draft a filing starts.
    pub fn from_filed(id: impl Into<String>, filed: &Filed, at: Timestamp) -> Case {
        Case {
            id: id.into(),
            bundle: filed.bundle.clone(),
            catalog_version: filed.catalog_version.clone(),
            conclusion: filed.conclusion,
            state: CaseState::Draft,
            outcome: None,
            applicant: filed.applicant.clone(),
            answers: filed.answers.clone(),
            form: filed.form.clone(),
            materials: BTreeMap::new(),
            promised_limit: filed.promised_limit,
            filed_by: filed.filed_by.clone(),
            receipt_number: None,
            created_at: at,
            submitted_at: None,
            accepted_at: None,
            concluded_at: None,
            due_at: None,
            corrections: Vec::new(),
            pauses: Vec::new(),
            tasks: Vec::new(),
        }
    }

    /// Rebuilds a case from its history, oldest first: a filing, then transitions. A history that does not fit
    /// is an error, never a panic.
    pub fn replay(id: &str, history: &[(CaseEvent, Timestamp)]) -> Result<Case, CaseError> {
        let mut events = history.iter();
        let mut case = match events.next() {
            Some((CaseEvent::CaseFiled(filed), at)) => Case::from_filed(id, filed, *at),
            Some((other, _)) => {
                return Err(CaseError::Inconsistent(format!("the history starts with {}, not a filing", other.kind())));
            }
            None => return Err(CaseError::Inconsistent("the history is empty".to_string())),
        };
        for (event, at) in events {
            case.apply(event, *at)?;
        }
        Ok(case)
    }

    /// The task with this id.
    pub fn task(&self, id: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.id == id)
    }

    fn task_index(&self, id: &str) -> Result<usize, CaseError> {
        self.tasks.iter().position(|t| t.id == id).ok_or_else(|| CaseError::UnknownTask(id.to_string()))
    }

    /// The correction (补正) the case is waiting for, while it is returned.
    pub fn open_correction(&self) -> Option<&Correction> {
        if self.state != CaseState::Returned {
            return None;
        }
        self.corrections.last().filter(|c| c.resolved_at.is_none())
    }

    fn open_correction_mut(&mut self) -> Option<&mut Correction> {
        if self.state != CaseState::Returned {
            return None;
        }
        self.corrections.last_mut().filter(|c| c.resolved_at.is_none())
    }

    /// True while a clock pause is open (a department's correction is pending).
    pub fn is_paused(&self) -> bool {
        self.pauses.iter().any(|p| p.to.is_none())
    }

    /// The results of the approved tasks, in task order.
    pub fn results(&self) -> Vec<&TaskResult> {
        self.tasks.iter().filter_map(|t| t.result.as_ref()).collect()
    }

    fn illegal(&self, action: &'static str) -> CaseError {
        CaseError::IllegalTransition { action, state: self.state }
    }

    /// Who the open correction is by, while returned.
    fn returned_by(&self) -> Option<&ReturnedBy> {
        self.open_correction().map(|c| &c.by)
    }

    /// Applies an event and returns it: the tail of every command, whose checks are already done.
    fn commit(&mut self, event: CaseEvent, now: Timestamp) -> Result<CaseEvent, CaseError> {
        self.apply(&event, now)?;
        Ok(event)
    }

    /// Changes the situation answers (情形) and the form: in draft, or while returned for correction (补正) —
    /// the answers only while returned by the window clerk (a department's correction cannot change which
    /// items apply). The event carries only what changed.
    pub fn update(
        &mut self,
        answers: Option<BTreeMap<String, String>>,
        form: Option<BTreeMap<String, serde_json::Value>>,
        now: Timestamp,
    ) -> Result<CaseEvent, CaseError> {
        let answers = answers.filter(|a| *a != self.answers);
        if answers.is_some() && !self.answers_may_change() {
            return Err(self.illegal("change the answers of"));
        }
        if !matches!(self.state, CaseState::Draft | CaseState::Returned) {
            return Err(self.illegal("change the form of"));
        }
        let (mut set, mut removed) = (BTreeMap::new(), Vec::new());
        if let Some(form) = form {
            for (k, v) in &form {
                if self.form.get(k) != Some(v) {
                    set.insert(k.clone(), v.clone());
                }
            }
            removed = self.form.keys().filter(|k| !form.contains_key(*k)).cloned().collect();
        }
        self.commit(CaseEvent::CaseUpdated { answers, set, removed }, now)
    }

    fn answers_may_change(&self) -> bool {
        match self.state {
            CaseState::Draft => true,
            CaseState::Returned => matches!(self.returned_by(), Some(ReturnedBy::Clerk)),
            _ => false,
        }
    }

    /// Records a material file (上传材料): in draft, or while returned for correction. Whether the material is
    /// one the plan asks for, and the file itself, are the caller's to check.
    pub fn upload(&mut self, material: &str, file: Upload, now: Timestamp) -> Result<CaseEvent, CaseError> {
        if !matches!(self.state, CaseState::Draft | CaseState::Returned) {
            return Err(self.illegal("upload a material to"));
        }
        let Upload { sha256, size, media_type, .. } = file;
        self.commit(CaseEvent::MaterialUploaded { material: material.to_string(), sha256, size, media_type }, now)
    }

    /// Submits (提交) a draft, or resubmits after a correction (补正) once every flagged material was uploaded
    /// again and every flagged field changed. After a department's correction the pause closes, the returned
    /// task is ready again and every running deadline moves by the working time paused. Completeness (materials,
    /// form values) is for the caller to check first, with [`crate::form`].
    pub fn submit(&mut self, now: Timestamp, clock: &WorkClock) -> Result<CaseEvent, CaseError> {
        if let Some(open) = self.open_correction() {
            let (materials, fields) = open.unresolved();
            if !materials.is_empty() || !fields.is_empty() {
                return Err(CaseError::CorrectionUnresolved { materials, fields });
            }
        }
        let event = match (self.state, self.returned_by().cloned()) {
            (CaseState::Draft, _) => CaseEvent::CaseSubmitted {},
            (CaseState::Returned, Some(ReturnedBy::Clerk)) => CaseEvent::CaseResubmitted { resumed: None },
            (CaseState::Returned, Some(ReturnedBy::Task { task_id })) => {
                let pauses = closed_at(&self.pauses, now);
                let accepted_at = self.accepted_at.ok_or_else(|| self.illegal("resubmit"))?;
                let due_at = clock.deadline_with_pauses(accepted_at, self.promised_limit, &pauses)?;
                // Every running task clock moves by the pause, the returned task's included.
                let mut tasks = Vec::new();
                for t in &self.tasks {
                    if t.id == task_id || t.state == TaskState::Ready || t.state == TaskState::Returned {
                        let ready_at = t.ready_at.unwrap_or(accepted_at);
                        let due_at = clock.deadline_with_pauses(ready_at, t.limit, &pauses)?;
                        tasks.push(TaskDue { task_id: t.id.clone(), due_at });
                    }
                }
                CaseEvent::CaseResubmitted { resumed: Some(Resumed { due_at, tasks }) }
            }
            _ => return Err(self.illegal("submit")),
        };
        self.commit(event, now)
    }

    /// The window clerk returns a submitted case for correction (补正) with reasons. No clock runs before
    /// acceptance, so nothing pauses.
    pub fn return_for_correction(&mut self, now: Timestamp, reasons: Vec<Reason>) -> Result<CaseEvent, CaseError> {
        if self.state != CaseState::Submitted {
            return Err(self.illegal("return for correction"));
        }
        check_reasons(&reasons)?;
        self.commit(CaseEvent::CaseReturned { reasons }, now)
    }

    /// Accepts (受理) a submitted case: one task per task of the plan, with the ids given (same order), and the
    /// receipt's number. Tasks that need nothing are ready at once; the case's clock starts. A plan without
    /// tasks concludes at once.
    pub fn accept(
        &mut self,
        now: Timestamp,
        clock: &WorkClock,
        plan: &Plan,
        task_ids: &[String],
        receipt_number: impl Into<String>,
    ) -> Result<CaseEvent, CaseError> {
        if self.state != CaseState::Submitted {
            return Err(self.illegal("accept"));
        }
        if plan.tasks.len() != task_ids.len() {
            return Err(CaseError::TaskCountMismatch { expected: plan.tasks.len(), found: task_ids.len() });
        }
        let due_at = clock.add(now, self.promised_limit)?;
        let present = |code: &str| plan.tasks.iter().any(|t| t.item == code);
        let mut tasks = Vec::with_capacity(plan.tasks.len());
        for (pt, id) in plan.tasks.iter().zip(task_ids) {
            let ready = !pt.needs.iter().any(|n| present(n));
            let task_due = if ready { Some(clock.add(now, pt.limit)?) } else { None };
            tasks.push(Task {
                id: id.clone(),
                item: pt.item.clone(),
                department: pt.department.clone(),
                limit: pt.limit,
                needs: pt.needs.clone(),
                licence: pt.result.clone(),
                state: if ready { TaskState::Ready } else { TaskState::Waiting },
                ready_at: ready.then_some(now),
                due_at: task_due,
                decided_at: None,
                result: None,
                reasons: Vec::new(),
            });
        }
        self.commit(CaseEvent::CaseAccepted { receipt_number: receipt_number.into(), due_at, tasks }, now)
    }

    /// Finds a ready task of a running case (accepted or in progress) by id, for a department's action.
    fn ready_task(&self, task_id: &str, action: &'static str) -> Result<usize, CaseError> {
        if !matches!(self.state, CaseState::Accepted | CaseState::InProgress) {
            return Err(self.illegal(action));
        }
        let i = self.task_index(task_id)?;
        let state = self.tasks[i].state;
        if state != TaskState::Ready {
            return Err(CaseError::TaskNotReady { task_id: task_id.to_string(), state });
        }
        Ok(i)
    }

    /// A department approves a ready task with its result (准予). Tasks waiting for it whose needs are now all
    /// approved become ready; the case concludes when every task is decided.
    pub fn approve(
        &mut self,
        task_id: &str,
        now: Timestamp,
        clock: &WorkClock,
        result: TaskResult,
    ) -> Result<CaseEvent, CaseError> {
        let i = self.ready_task(task_id, "approve a task of")?;
        let approved = |tasks: &[Task], code: &str| {
            code == tasks[i].item || tasks.iter().all(|t| t.item != code || t.state == TaskState::Approved)
        };
        let mut unlocked = Vec::new();
        for t in &self.tasks {
            if t.state == TaskState::Waiting && t.needs.iter().all(|n| approved(&self.tasks, n)) {
                let due_at = clock.deadline_with_pauses(now, t.limit, &self.pauses)?;
                unlocked.push(TaskDue { task_id: t.id.clone(), due_at });
            }
        }
        self.commit(CaseEvent::TaskApproved { task_id: task_id.to_string(), result, unlocked }, now)
    }

    /// A department rejects a ready task with a reason (不予办理). The tasks that need it, directly or not, are
    /// rejected too; under [`ConclusionRule::AllOrNothing`] every open task is, and the case concludes rejected.
    pub fn reject(&mut self, task_id: &str, now: Timestamp, reason: String) -> Result<CaseEvent, CaseError> {
        self.ready_task(task_id, "reject a task of")?;
        if reason.trim().is_empty() {
            return Err(CaseError::EmptyReasons);
        }
        self.commit(CaseEvent::TaskRejected { task_id: task_id.to_string(), reason }, now)
    }

    /// A department returns the case for correction (补正) from its ready task: every clock of the case stops
    /// until the applicant resubmits.
    pub fn return_by_task(
        &mut self,
        task_id: &str,
        now: Timestamp,
        reasons: Vec<Reason>,
    ) -> Result<CaseEvent, CaseError> {
        self.ready_task(task_id, "return a task of")?;
        check_reasons(&reasons)?;
        self.commit(CaseEvent::TaskReturned { task_id: task_id.to_string(), reasons }, now)
    }

    /// The applicant withdraws (撤回) the case; open tasks stay as they are and an open pause closes.
    pub fn withdraw(&mut self, now: Timestamp) -> Result<CaseEvent, CaseError> {
        if matches!(self.state, CaseState::Concluded | CaseState::Withdrawn) {
            return Err(self.illegal("withdraw"));
        }
        self.commit(CaseEvent::CaseWithdrawn {}, now)
    }

    /// Applies an event that happened at `at`: the one place the case changes. The commands above check and
    /// decide, then apply; [`Case::replay`] applies a stored history. An event that does not fit the case's
    /// state is [`CaseError::Inconsistent`] and changes nothing.
    pub fn apply(&mut self, event: &CaseEvent, at: Timestamp) -> Result<(), CaseError> {
        let unfit = |what: &str| CaseError::Inconsistent(format!("{} {what}", event.kind()));
        match event {
            CaseEvent::CaseFiled(_) => return Err(unfit("on a case that exists")),
            CaseEvent::CaseUpdated { answers, set, removed } => {
                if !matches!(self.state, CaseState::Draft | CaseState::Returned)
                    || (answers.is_some() && !self.answers_may_change())
                {
                    return Err(unfit("while the case cannot change"));
                }
                if let Some(a) = answers {
                    self.answers = a.clone();
                }
                for (k, v) in set {
                    self.form.insert(k.clone(), v.clone());
                }
                for k in removed {
                    self.form.remove(k);
                }
                if let Some(open) = self.open_correction_mut() {
                    for k in set.keys().chain(removed) {
                        push_once(&mut open.changed_fields, k);
                    }
                }
            }
            CaseEvent::MaterialUploaded { material, sha256, size, media_type } => {
                if !matches!(self.state, CaseState::Draft | CaseState::Returned) {
                    return Err(unfit("while the case cannot change"));
                }
                let upload =
                    Upload { sha256: sha256.clone(), size: *size, media_type: media_type.clone(), uploaded_at: at };
                self.materials.insert(material.clone(), upload);
                if let Some(open) = self.open_correction_mut() {
                    push_once(&mut open.replaced_materials, material);
                }
            }
            CaseEvent::CaseSubmitted {} => {
                if self.state != CaseState::Draft {
                    return Err(unfit("of a case that is not a draft"));
                }
                self.state = CaseState::Submitted;
                self.submitted_at = Some(at);
            }
            CaseEvent::CaseResubmitted { resumed } => {
                match (resumed, self.returned_by()) {
                    (None, Some(ReturnedBy::Clerk)) => self.state = CaseState::Submitted,
                    (Some(r), Some(ReturnedBy::Task { .. })) => {
                        let mut indices = Vec::with_capacity(r.tasks.len());
                        for d in &r.tasks {
                            indices.push((self.task_index(&d.task_id)?, d.due_at));
                        }
                        self.pauses = closed_at(&self.pauses, at);
                        self.due_at = Some(r.due_at);
                        for (i, due) in indices {
                            let t = &mut self.tasks[i];
                            if t.state == TaskState::Returned {
                                t.state = TaskState::Ready;
                                t.reasons.clear();
                            }
                            t.due_at = Some(due);
                        }
                        self.state = if self.tasks.iter().any(|t| t.state.is_decided()) {
                            CaseState::InProgress
                        } else {
                            CaseState::Accepted
                        };
                    }
                    _ => return Err(unfit("that does not match the open correction")),
                }
                if let Some(c) = self.corrections.last_mut()
                    && c.resolved_at.is_none()
                {
                    c.resolved_at = Some(at);
                }
            }
            CaseEvent::CaseReturned { reasons } => {
                if self.state != CaseState::Submitted {
                    return Err(unfit("of a case that is not submitted"));
                }
                self.corrections.push(Correction {
                    by: ReturnedBy::Clerk,
                    at,
                    reasons: reasons.clone(),
                    resolved_at: None,
                    replaced_materials: Vec::new(),
                    changed_fields: Vec::new(),
                });
                self.state = CaseState::Returned;
            }
            CaseEvent::CaseAccepted { receipt_number, due_at, tasks } => {
                if self.state != CaseState::Submitted {
                    return Err(unfit("of a case that is not submitted"));
                }
                self.tasks = tasks.clone();
                self.state = CaseState::Accepted;
                self.accepted_at = Some(at);
                self.due_at = Some(*due_at);
                self.receipt_number = Some(receipt_number.clone());
                self.conclude_if_done(at);
            }
            CaseEvent::TaskApproved { task_id, result, unlocked } => {
                let i = self.running_ready(task_id, event)?;
                let mut indices = Vec::with_capacity(unlocked.len());
                for d in unlocked {
                    let j = self.task_index(&d.task_id)?;
                    if self.tasks[j].state != TaskState::Waiting {
                        return Err(unfit("unlocking a task that is not waiting"));
                    }
                    indices.push((j, d.due_at));
                }
                let task = &mut self.tasks[i];
                task.state = TaskState::Approved;
                task.decided_at = Some(at);
                task.result = Some(result.clone());
                task.reasons.clear();
                for (j, due) in indices {
                    let t = &mut self.tasks[j];
                    t.state = TaskState::Ready;
                    t.ready_at = Some(at);
                    t.due_at = Some(due);
                }
                self.state = CaseState::InProgress;
                self.conclude_if_done(at);
            }
            CaseEvent::TaskRejected { task_id, reason } => {
                let i = self.running_ready(task_id, event)?;
                self.reject_cascade(i, reason, at);
                self.state = CaseState::InProgress;
                self.conclude_if_done(at);
            }
            CaseEvent::TaskReturned { task_id, reasons } => {
                let i = self.running_ready(task_id, event)?;
                let task = &mut self.tasks[i];
                task.state = TaskState::Returned;
                task.reasons = reasons.clone();
                self.corrections.push(Correction {
                    by: ReturnedBy::Task { task_id: task_id.clone() },
                    at,
                    reasons: reasons.clone(),
                    resolved_at: None,
                    replaced_materials: Vec::new(),
                    changed_fields: Vec::new(),
                });
                self.pauses.push(Pause { from: at, to: None });
                self.state = CaseState::Returned;
            }
            CaseEvent::CaseWithdrawn {} => {
                if matches!(self.state, CaseState::Concluded | CaseState::Withdrawn) {
                    return Err(unfit("of a case that is over"));
                }
                self.pauses = closed_at(&self.pauses, at);
                self.state = CaseState::Withdrawn;
            }
        }
        Ok(())
    }

    /// The index of a ready task of a running case, for applying a department's decision.
    fn running_ready(&self, task_id: &str, event: &CaseEvent) -> Result<usize, CaseError> {
        let i = self.task_index(task_id)?;
        if !matches!(self.state, CaseState::Accepted | CaseState::InProgress) || self.tasks[i].state != TaskState::Ready
        {
            return Err(CaseError::Inconsistent(format!("{} of a task that is not ready", event.kind())));
        }
        Ok(i)
    }

    /// Rejects task `i`, the tasks that need it (transitively) and, under all-or-nothing, every open task.
    fn reject_cascade(&mut self, i: usize, reason: &str, at: Timestamp) {
        let decide = |t: &mut Task, why: &str| {
            t.state = TaskState::Rejected;
            t.decided_at = Some(at);
            t.reasons = vec![Reason::general(why)];
        };
        decide(&mut self.tasks[i], reason);
        // The dependents, transitively: repeat until no open task needs a rejected one.
        loop {
            let rejected: Vec<String> =
                self.tasks.iter().filter(|t| t.state == TaskState::Rejected).map(|t| t.item.clone()).collect();
            let mut changed = false;
            for t in &mut self.tasks {
                if !t.state.is_decided() && t.needs.iter().any(|n| rejected.contains(n)) {
                    decide(t, REASON_NEEDED_TASK_REJECTED);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        if self.conclusion == ConclusionRule::AllOrNothing {
            for t in &mut self.tasks {
                if !t.state.is_decided() {
                    decide(t, REASON_BUNDLE_REJECTED);
                }
            }
        }
    }

    /// Concludes (办结) when every task is decided.
    fn conclude_if_done(&mut self, now: Timestamp) {
        if !self.tasks.iter().all(|t| t.state.is_decided()) {
            return;
        }
        let approved = self.tasks.iter().filter(|t| t.state == TaskState::Approved).count();
        let outcome = if approved == self.tasks.len() {
            Outcome::Approved
        } else if approved == 0 || self.conclusion == ConclusionRule::AllOrNothing {
            Outcome::Rejected
        } else {
            Outcome::PartlyApproved
        };
        self.state = CaseState::Concluded;
        self.outcome = Some(outcome);
        self.concluded_at = Some(now);
    }
}

/// Serde for [`ConclusionRule`] as its snake_case name, in both directions.
mod conclusion_rule {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::catalog::ConclusionRule;

    pub fn serialize<S: Serializer>(rule: &ConclusionRule, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match rule {
            ConclusionRule::AllOrNothing => "all_or_nothing",
            ConclusionRule::Partial => "partial",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ConclusionRule, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "all_or_nothing" => Ok(ConclusionRule::AllOrNothing),
            "partial" => Ok(ConclusionRule::Partial),
            other => Err(serde::de::Error::unknown_variant(other, &["all_or_nothing", "partial"])),
        }
    }
}
