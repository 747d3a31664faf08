//! The event log's payloads, as types. Every state change the service commits carries exactly one [`Event`]:
//! a case's transition ([`CaseEvent`], decided by the core) or one of the service's own ([`ServiceEvent`]:
//! accounts, sessions, supervision, records, projects). The log stores it as JSON with its schema version
//! (`{"v": 1, "type": "case_accepted", …}`), its `type` as the event's kind.
//!
//! The log proves the state. A case's events rebuild the stored case ([`onething_core::case::Case::replay`]);
//! an account's events carry its whole state after the change (the password only as the SHA-256 of its hash);
//! an event that writes records carries each record as written ([`RecordState`]), so the last state of every
//! record follows from the log too. `onething audit verify` replays the log against the tables.

use jiff::Timestamp;
use onething_core::case::CaseEvent;
use onething_store::{EventRow, NewEvent, RecordRow, UserRow};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::errors::json_fault;
use crate::records::Note;

/// The schema version of the payloads this service writes.
pub const EVENT_VERSION: u32 = 1;

/// An account as an event records it: everything but the password hash, which only its SHA-256 stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserState {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<String>,
    pub department: Option<String>,
    pub disabled: bool,
    pub must_change_password: bool,
    pub id_number: Option<String>,
    pub external_id: Option<String>,
    pub profile: String,
    /// SHA-256 (hex) of the stored password hash.
    pub password_sha256: String,
}

impl UserState {
    pub fn of(row: &UserRow) -> UserState {
        UserState {
            id: row.id.clone(),
            username: row.username.clone(),
            display_name: row.display_name.clone(),
            roles: row.roles.clone(),
            department: row.department.clone(),
            disabled: row.disabled,
            must_change_password: row.must_change_password,
            id_number: row.id_number.clone(),
            external_id: row.external_id.clone(),
            profile: row.profile.clone(),
            password_sha256: onething_store::hex(&Sha256::digest(row.password_hash.as_bytes())),
        }
    }
}

/// A record as an event wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordState {
    pub kind: String,
    pub id: String,
    pub case_id: Option<String>,
    pub owner: Option<String>,
    pub department: Option<String>,
    pub state: String,
    /// The document as stored (JSON text).
    pub doc: String,
}

impl RecordState {
    pub fn of(row: &RecordRow) -> RecordState {
        RecordState {
            kind: row.kind.clone(),
            id: row.id.clone(),
            case_id: row.case_id.clone(),
            owner: row.owner.clone(),
            department: row.department.clone(),
            state: row.state.clone(),
            doc: row.doc.clone(),
        }
    }
}

/// The service's own events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServiceEvent {
    /// An account was created.
    UserCreated { user: UserState },
    /// An account changed: its state after.
    UserChanged { user: UserState, changed: Vec<String> },
    /// Someone signed in (a web session or an API token).
    SessionCreated { user_id: String, kind: String },
    /// A session or every session of an account ended: sign-out, a password change, a disabled account.
    SessionRevoked { user_id: String, reason: String },
    /// A deadline's colour changed (督办颜色); `records` holds the notices, and at red the escalation.
    ColourChanged {
        subject: String,
        from: String,
        to: String,
        due_at: Option<Timestamp>,
        notified: Vec<String>,
        records: Vec<RecordState>,
    },
    /// An interview was opened by the worker (overdue too long, or red again).
    InterviewOpened { subject: String, department: Option<String>, reason: String, records: Vec<RecordState> },
    /// A supervisor opened an escalation by hand.
    EscalationOpened { subject: String, reason: String, records: Vec<RecordState> },
    /// A note on an escalation or interview.
    NoteAdded { record_kind: String, record_id: String, note: Note, records: Vec<RecordState> },
    /// An escalation or interview closed with its outcome.
    RecordClosed { record_kind: String, record_id: String, outcome: String, records: Vec<RecordState> },
    /// A notice was read.
    NoticeRead { notice: String, records: Vec<RecordState> },
    /// A concluded case was rated (好差评); a poor rating opens a review.
    CaseRated { level: u8, label: String, review: bool, records: Vec<RecordState> },
    /// A department answered a review.
    ReviewAnswered { review: String, records: Vec<RecordState> },
    /// A project was imported (CSV) or seeded (demo).
    ProjectAdded { project: String, name: String, source: String, records: Vec<RecordState> },
    /// A project's milestone was completed.
    MilestoneCompleted { project: String, milestone: String, on_time: bool, records: Vec<RecordState> },
    /// A signing key of the installation was made (at first start, or by a rotation that retired `retired`).
    /// Only the public part: the secrets never enter the log.
    KeyCreated { key_id: String, public_key: String, retired: Option<String> },
}

impl ServiceEvent {
    /// The kind of the event (its `type`).
    pub fn kind(&self) -> &'static str {
        match self {
            ServiceEvent::UserCreated { .. } => "user_created",
            ServiceEvent::UserChanged { .. } => "user_changed",
            ServiceEvent::SessionCreated { .. } => "session_created",
            ServiceEvent::SessionRevoked { .. } => "session_revoked",
            ServiceEvent::ColourChanged { .. } => "colour_changed",
            ServiceEvent::InterviewOpened { .. } => "interview_opened",
            ServiceEvent::EscalationOpened { .. } => "escalation_opened",
            ServiceEvent::NoteAdded { .. } => "note_added",
            ServiceEvent::RecordClosed { .. } => "record_closed",
            ServiceEvent::NoticeRead { .. } => "notice_read",
            ServiceEvent::CaseRated { .. } => "case_rated",
            ServiceEvent::ReviewAnswered { .. } => "review_answered",
            ServiceEvent::ProjectAdded { .. } => "project_added",
            ServiceEvent::MilestoneCompleted { .. } => "milestone_completed",
            ServiceEvent::KeyCreated { .. } => "key_created",
        }
    }

    /// The records the event wrote.
    pub fn records(&self) -> &[RecordState] {
        match self {
            ServiceEvent::ColourChanged { records, .. }
            | ServiceEvent::InterviewOpened { records, .. }
            | ServiceEvent::EscalationOpened { records, .. }
            | ServiceEvent::NoteAdded { records, .. }
            | ServiceEvent::RecordClosed { records, .. }
            | ServiceEvent::NoticeRead { records, .. }
            | ServiceEvent::CaseRated { records, .. }
            | ServiceEvent::ReviewAnswered { records, .. }
            | ServiceEvent::ProjectAdded { records, .. }
            | ServiceEvent::MilestoneCompleted { records, .. } => records,
            ServiceEvent::UserCreated { .. }
            | ServiceEvent::UserChanged { .. }
            | ServiceEvent::SessionCreated { .. }
            | ServiceEvent::SessionRevoked { .. }
            | ServiceEvent::KeyCreated { .. } => &[],
        }
    }
}

/// One event of the log.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Case(CaseEvent),
    Service(ServiceEvent),
}

impl From<CaseEvent> for Event {
    fn from(e: CaseEvent) -> Event {
        Event::Case(e)
    }
}

impl From<ServiceEvent> for Event {
    fn from(e: ServiceEvent) -> Event {
        Event::Service(e)
    }
}

/// The payload as the log stores it: the schema version beside the event's own fields.
#[derive(Serialize)]
struct Envelope<'a, E: Serialize> {
    v: u32,
    #[serde(flatten)]
    event: &'a E,
}

/// Why a stored payload is not an event of this version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Written before events were typed (no schema version): an audit trail entry only.
    #[error("event {seq} ({kind}) predates typed events")]
    Legacy { seq: i64, kind: String },
    #[error("event {seq} ({kind}) does not decode: {reason}")]
    Bad { seq: i64, kind: String, reason: String },
}

impl Event {
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Case(e) => e.kind(),
            Event::Service(e) => e.kind(),
        }
    }

    /// The payload text of the event.
    pub fn payload(&self) -> Result<String, String> {
        match self {
            Event::Case(e) => serde_json::to_string(&Envelope { v: EVENT_VERSION, event: e }),
            Event::Service(e) => serde_json::to_string(&Envelope { v: EVENT_VERSION, event: e }),
        }
        .map_err(json_fault)
    }

    /// The event to append: this event, by `actor`, in stream `case_id`, at `at`, with a new id.
    pub fn to_new(&self, case_id: Option<&str>, actor: &str, at: Timestamp) -> Result<NewEvent, String> {
        Ok(NewEvent {
            id: crate::new_id(),
            case_id: case_id.map(str::to_string),
            kind: self.kind().to_string(),
            actor: actor.to_string(),
            at,
            payload: self.payload()?,
        })
    }

    /// The event of a stored row.
    pub fn parse(row: &EventRow) -> Result<Event, PayloadError> {
        let bad = |reason: String| PayloadError::Bad { seq: row.seq, kind: row.kind.clone(), reason };
        let value: serde_json::Value = serde_json::from_str(&row.payload).map_err(|e| bad(e.to_string()))?;
        match value.get("v").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(EVENT_VERSION) => {}
            Some(v) => return Err(bad(format!("schema version {v} is not {EVENT_VERSION}"))),
            None => return Err(PayloadError::Legacy { seq: row.seq, kind: row.kind.clone() }),
        }
        if value.get("type").and_then(serde_json::Value::as_str) != Some(row.kind.as_str()) {
            return Err(bad("its type is not its kind".to_string()));
        }
        let event = if CaseEvent::KINDS.contains(&row.kind.as_str()) {
            Event::Case(serde_json::from_value(value).map_err(|e| bad(e.to_string()))?)
        } else {
            Event::Service(serde_json::from_value(value).map_err(|e| bad(e.to_string()))?)
        };
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn row(kind: &str, payload: String) -> EventRow {
        EventRow {
            seq: 7,
            id: "e".into(),
            case_id: None,
            kind: kind.into(),
            actor: "u".into(),
            at: Timestamp::UNIX_EPOCH,
            payload,
            prev_hash: String::new(),
            case_prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn payloads_carry_their_version_and_come_back() {
        let e = Event::Service(ServiceEvent::SessionRevoked { user_id: "u-1".into(), reason: "sign_out".into() });
        let payload = e.payload().unwrap();
        assert_eq!(payload, r#"{"v":1,"type":"session_revoked","user_id":"u-1","reason":"sign_out"}"#);
        assert_eq!(Event::parse(&row("session_revoked", payload)).unwrap(), e);
        let c = Event::Case(CaseEvent::CaseWithdrawn {});
        assert_eq!(c.payload().unwrap(), r#"{"v":1,"type":"case_withdrawn"}"#);
        assert_eq!(Event::parse(&row("case_withdrawn", c.payload().unwrap())).unwrap(), c);
    }

    #[test]
    fn foreign_payloads_are_named() {
        assert!(matches!(Event::parse(&row("case_filed", "{}".into())), Err(PayloadError::Legacy { .. })));
        let wrong = Event::parse(&row("case_filed", r#"{"v":1,"type":"case_withdrawn"}"#.into()));
        assert!(matches!(wrong, Err(PayloadError::Bad { .. })));
        let later = Event::parse(&row("case_withdrawn", r#"{"v":9,"type":"case_withdrawn"}"#.into()));
        assert!(matches!(later, Err(PayloadError::Bad { reason, .. }) if reason.contains("version 9")));
        assert!(matches!(Event::parse(&row("x", "nonsense".into())), Err(PayloadError::Bad { .. })));
    }
}
