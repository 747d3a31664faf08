//! The documents of records, as types: escalations (督办单) and interviews (约谈), notices (通知), ratings
//! (好差评) and the reviews they open (差评整改), daily colour snapshots, projects (技改项目). The store keeps
//! a record as an indexed row with its document as JSON text; [`Record`] is that row with its document parsed,
//! written back over the version it was read at.

use jiff::Timestamp;
use onething_store::{RecordRow, RecordWrite};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::errors::json_fault;

/// A kind of record and its document type.
pub trait RecordDoc: Serialize + DeserializeOwned + Clone {
    /// The `kind` of its rows.
    const KIND: &'static str;
}

/// A record: the indexed columns of its row and its typed document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record<T> {
    pub id: String,
    pub case_id: Option<String>,
    /// The user or recipient key it belongs to (a notice's recipient), if any.
    pub owner: Option<String>,
    pub department: Option<String>,
    /// Kind-specific: `open`/`closed`, `unread`/`read`, …
    pub state: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// As read: a write names it; 0 for a record not stored yet.
    pub version: i64,
    pub doc: T,
}

impl<T> Record<T> {
    /// The same record with its document changed into another type (e.g. the [`Supervision`] inside an
    /// [`Escalation`]).
    pub fn map_doc<U>(self, f: impl FnOnce(T) -> U) -> Record<U> {
        Record {
            id: self.id,
            case_id: self.case_id,
            owner: self.owner,
            department: self.department,
            state: self.state,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
            doc: f(self.doc),
        }
    }
}

impl<T: RecordDoc> Record<T> {
    /// A new record, not stored yet.
    pub fn new(id: impl Into<String>, state: &str, now: Timestamp, doc: T) -> Record<T> {
        Record {
            id: id.into(),
            case_id: None,
            owner: None,
            department: None,
            state: state.to_string(),
            created_at: now,
            updated_at: now,
            version: 0,
            doc,
        }
    }

    pub fn case(mut self, case_id: Option<&str>) -> Self {
        self.case_id = case_id.map(str::to_string);
        self
    }

    pub fn owner(mut self, owner: Option<&str>) -> Self {
        self.owner = owner.map(str::to_string);
        self
    }

    pub fn department(mut self, department: Option<&str>) -> Self {
        self.department = department.map(str::to_string);
        self
    }

    /// The record of a stored row of its kind.
    pub fn from_row(row: RecordRow) -> Result<Record<T>, String> {
        if row.kind != T::KIND {
            return Err(format!("a {} row is not a {}", row.kind, T::KIND));
        }
        let doc = serde_json::from_str(&row.doc).map_err(json_fault)?;
        Ok(Record {
            id: row.id,
            case_id: row.case_id,
            owner: row.owner,
            department: row.department,
            state: row.state,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
            doc,
        })
    }

    /// The row to store.
    pub fn to_row(&self) -> Result<RecordRow, String> {
        Ok(RecordRow {
            kind: T::KIND.to_string(),
            id: self.id.clone(),
            case_id: self.case_id.clone(),
            owner: self.owner.clone(),
            department: self.department.clone(),
            state: self.state.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
            doc: serde_json::to_string(&self.doc).map_err(json_fault)?,
        })
    }

    /// The write of this record: an insert when it was never stored, else an update over the version read.
    pub fn write(&self) -> Result<RecordWrite, String> {
        Ok(RecordWrite { row: self.to_row()?, expected_version: (self.version > 0).then_some(self.version) })
    }
}

/// A note on an escalation or interview (督办记录/约谈记录).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub at: Timestamp,
    /// The user id of who wrote it.
    pub by: String,
    pub text: String,
    pub outcome: Option<String>,
}

/// An escalation (督办单) or an interview (约谈): what is late, why, the notes, the outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supervision {
    /// The watch subject it is about (`task:…`, `case:…`, `milestone:…`).
    pub subject: String,
    /// What people read: the case number and item, or the project and milestone.
    pub what: String,
    pub department: Option<String>,
    /// Since when the work is late (the deadline), for escalations.
    #[serde(default)]
    pub since: Option<Timestamp>,
    /// `system` or the supervisor's user id.
    #[serde(default)]
    pub opened_by: String,
    /// `overdue`, `repeat`, or a supervisor's own words.
    pub reason: String,
    #[serde(default)]
    pub notes: Vec<Note>,
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub closed_at: Option<Timestamp>,
}

/// An escalation (督办单).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Escalation(pub Supervision);

impl RecordDoc for Escalation {
    const KIND: &'static str = "escalation";
}

/// An interview of a department's head (约谈).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Interview(pub Supervision);

impl RecordDoc for Interview {
    const KIND: &'static str = "interview";
}

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A deadline changed colour.
    Colour,
    Escalation,
    Interview,
    Review,
}

/// A notice in someone's inbox (通知): the recipient is the record's owner (a user id or a key such as
/// `dept:<d>`, `head:<d>`, `role:<r>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub kind: NoticeKind,
    /// The case number, or the project and milestone.
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub subject: Option<String>,
    /// A colour change: from and to.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub due_at: Option<Timestamp>,
    #[serde(default)]
    pub reason: Option<String>,
    /// The review a poor rating opened.
    #[serde(default)]
    pub review: Option<String>,
}

impl RecordDoc for Notice {
    const KIND: &'static str = "notice";
}

/// A rating of a concluded case (好差评), by its applicant; the record's id is the case id (one per case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// 1 (非常不满意) to 5 (非常满意).
    pub level: u8,
    pub label: String,
    pub comment: String,
    pub bundle: String,
    pub departments: Vec<String>,
    pub items: Vec<String>,
    /// A clerk who recorded the applicant's rating for them, with their consent, if not the applicant.
    #[serde(default)]
    pub recorded_by: Option<String>,
}

impl RecordDoc for Rating {
    const KIND: &'static str = "rating";
}

/// The review a poor rating opens (差评整改): the department answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub level: u8,
    pub label: String,
    pub comment: String,
    pub case_number: String,
    #[serde(default)]
    pub answer: Option<String>,
    #[serde(default)]
    pub answered_at: Option<Timestamp>,
    #[serde(default)]
    pub answered_by: Option<String>,
}

impl RecordDoc for Review {
    const KIND: &'static str = "review";
}

/// Open items counted by department and colour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub department: Option<String>,
    pub colour: String,
    pub count: i64,
}

impl From<onething_store::ColourCount> for Count {
    fn from(c: onething_store::ColourCount) -> Count {
        Count { department: c.department, colour: c.colour, count: c.count }
    }
}

/// The colour mix of one China date (for the dashboard's trend); the record's id is the date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColourSnapshot {
    pub date: String,
    pub tasks: Vec<Count>,
    pub milestones: Vec<Count>,
}

impl RecordDoc for ColourSnapshot {
    const KIND: &'static str = "colour_snapshot";
}

impl RecordDoc for crate::projects::Project {
    const KIND: &'static str = "project";
}
