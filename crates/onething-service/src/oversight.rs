//! What people do with supervision: supervisors open escalations (督办) by hand, record supervision and
//! interview (约谈) notes and outcomes, and close them when the work is done; everyone reads an inbox of notices
//! with an unread count; applicants rate a concluded case (好差评) and a poor rating opens a review the
//! department must answer. Every change is one changeset with its event.

use onething_core::case::CaseState;
use onething_store::{Changeset, NewEvent, RecordFilter, RecordRow};
use serde::{Deserialize, Serialize};

use crate::auth::{Role, User};
use crate::cases::CaseDoc;
use crate::{Service, ServiceError, new_id};

/// The five levels of 好差评 (国办发〔2019〕51号).
pub const RATING_LEVELS: [(u8, &str); 5] =
    [(5, "非常满意"), (4, "满意"), (3, "基本满意"), (2, "不满意"), (1, "非常不满意")];

/// A note on an escalation or interview.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    pub text: String,
    pub outcome: Option<String>,
}

/// A manual escalation.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationInput {
    pub case_id: String,
    pub task_id: Option<String>,
    pub reason: String,
}

/// A rating of a concluded case.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    pub level: u8,
    pub comment: Option<String>,
}

/// The recipient keys a user's inbox collects: the user, their department (and its head), their roles.
pub fn recipient_keys(user: &User) -> Vec<String> {
    let mut keys = vec![user.id.clone()];
    if let Some(d) = &user.department {
        keys.push(format!("dept:{d}"));
        if user.has(Role::Head) {
            keys.push(format!("head:{d}"));
        }
    }
    for r in &user.roles {
        keys.push(format!("role:{}", r.as_str()));
    }
    keys
}

fn text_required(field: &str, text: &str) -> Result<(), ServiceError> {
    if text.trim().is_empty() {
        Err(ServiceError::bad("required", field, format!("{field} is required")))
    } else if text.chars().count() > 4000 {
        Err(ServiceError::bad("too_long", field, format!("{field} is longer than 4000 characters")))
    } else {
        Ok(())
    }
}

impl Service {
    fn supervisor_only(user: &User) -> Result<(), ServiceError> {
        if user.has(Role::Supervisor) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden("only a supervisor escalates and interviews"))
        }
    }

    async fn commit_record(
        &self,
        user: &User,
        record: RecordRow,
        kind: &str,
        payload: serde_json::Value,
        extra: Vec<RecordRow>,
    ) -> Result<RecordRow, ServiceError> {
        let now = self.now();
        let event = NewEvent {
            id: new_id(),
            case_id: record.case_id.clone(),
            kind: kind.into(),
            actor: user.id.clone(),
            at: now,
            payload: payload.to_string(),
        };
        let mut records = vec![record.clone()];
        records.extend(extra);
        self.store.commit(Changeset { records, event: Some(event), ..Changeset::default() }).await?;
        Ok(record)
    }

    /// Opens an escalation (督办单) on a case or one of its tasks by hand.
    pub async fn open_escalation(&self, user: &User, input: EscalationInput) -> Result<RecordRow, ServiceError> {
        Self::supervisor_only(user)?;
        text_required("reason", &input.reason)?;
        let row = self.store.case(&input.case_id).await?.ok_or(ServiceError::NotFound("case"))?;
        let doc: CaseDoc =
            serde_json::from_value(row.doc.clone()).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let (subject, department) = match &input.task_id {
            Some(t) => {
                let task = doc.case.task(t).ok_or(ServiceError::NotFound("task"))?;
                (format!("task:{t}"), Some(task.department.clone()))
            }
            None => (format!("case:{}", row.id), None),
        };
        let now = self.now();
        let record = RecordRow {
            kind: "escalation".into(),
            id: new_id(),
            case_id: Some(row.id.clone()),
            owner: None,
            department: department.clone(),
            state: "open".into(),
            created_at: now,
            updated_at: now,
            doc: serde_json::json!({
                "subject": subject, "what": format!("{} {subject}", row.number), "department": department,
                "since": now, "opened_by": user.id, "reason": input.reason, "notes": [],
            }),
        };
        let mut notices = Vec::new();
        if let Some(d) = &department {
            for owner in [format!("dept:{d}"), format!("head:{d}")] {
                notices.push(RecordRow {
                    kind: "notice".into(),
                    id: new_id(),
                    case_id: Some(row.id.clone()),
                    owner: Some(owner),
                    department: Some(d.clone()),
                    state: "unread".into(),
                    created_at: now,
                    updated_at: now,
                    doc: serde_json::json!({ "kind": "escalation", "detail": { "subject": subject, "reason": input.reason, "label": row.number } }),
                });
            }
        }
        let payload = serde_json::json!({ "escalation": record.id, "subject": subject, "reason": input.reason });
        self.commit_record(user, record, "escalation_opened", payload, notices).await
    }

    /// Adds a supervision or interview note (and optionally an outcome) to an escalation or interview.
    pub async fn add_note(
        &self,
        user: &User,
        kind: &str,
        id: &str,
        note: NoteInput,
    ) -> Result<RecordRow, ServiceError> {
        Self::supervisor_only(user)?;
        text_required("text", &note.text)?;
        let mut record = self.store.record(kind, id).await?.ok_or(ServiceError::NotFound("record"))?;
        let now = self.now();
        let entry = serde_json::json!({ "at": now, "by": user.id, "text": note.text, "outcome": note.outcome });
        if let Some(notes) = record.doc.get_mut("notes").and_then(|n| n.as_array_mut()) {
            notes.push(entry.clone());
        } else {
            record.doc["notes"] = serde_json::json!([entry]);
        }
        record.updated_at = now;
        let payload = serde_json::json!({ "record": id, "kind": kind, "note": entry });
        self.commit_record(user, record, &format!("{kind}_note_added"), payload, Vec::new()).await
    }

    /// Closes an escalation or interview with its outcome.
    pub async fn close_record(
        &self,
        user: &User,
        kind: &str,
        id: &str,
        outcome: String,
    ) -> Result<RecordRow, ServiceError> {
        Self::supervisor_only(user)?;
        text_required("outcome", &outcome)?;
        let mut record = self.store.record(kind, id).await?.ok_or(ServiceError::NotFound("record"))?;
        if record.state == "closed" {
            return Err(ServiceError::bad("illegal_transition", "state", format!("the {kind} is closed already")));
        }
        let now = self.now();
        record.state = "closed".into();
        record.updated_at = now;
        record.doc["outcome"] = serde_json::json!(outcome);
        record.doc["closed_at"] = serde_json::json!(now);
        let payload = serde_json::json!({ "record": id, "kind": kind, "outcome": outcome });
        self.commit_record(user, record, &format!("{kind}_closed"), payload, Vec::new()).await
    }

    /// Escalations or interviews (`kind`), open or all, newest first.
    pub async fn list_records(
        &self,
        user: &User,
        kind: &str,
        state: Option<String>,
    ) -> Result<Vec<RecordRow>, ServiceError> {
        let department = if user.has(Role::Supervisor) || user.has(Role::Admin) {
            None
        } else if user.has(Role::Officer) {
            user.department.clone()
        } else {
            return Err(ServiceError::Forbidden("supervision records are for supervisors and departments"));
        };
        Ok(self
            .store
            .records(&RecordFilter { kind: kind.into(), state, department, limit: 500, ..RecordFilter::default() })
            .await?)
    }

    /// The user's notices (newest first) and how many are unread.
    pub async fn inbox(&self, user: &User) -> Result<(Vec<RecordRow>, i64), ServiceError> {
        let mut all = Vec::new();
        let mut unread = 0;
        for key in recipient_keys(user) {
            let filter =
                RecordFilter { kind: "notice".into(), owner: Some(key.clone()), limit: 200, ..RecordFilter::default() };
            all.extend(self.store.records(&filter).await?);
            unread += self
                .store
                .count_records(&RecordFilter {
                    kind: "notice".into(),
                    owner: Some(key),
                    state: Some("unread".into()),
                    ..RecordFilter::default()
                })
                .await?;
        }
        all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        all.truncate(200);
        Ok((all, unread))
    }

    /// Marks a notice read (for everyone it was addressed to).
    pub async fn mark_read(&self, user: &User, id: &str) -> Result<RecordRow, ServiceError> {
        let mut record = self.store.record("notice", id).await?.ok_or(ServiceError::NotFound("notice"))?;
        let keys = recipient_keys(user);
        if !record.owner.as_ref().is_some_and(|o| keys.contains(o)) {
            return Err(ServiceError::NotFound("notice"));
        }
        if record.state == "read" {
            return Ok(record);
        }
        record.state = "read".into();
        record.updated_at = self.now();
        let payload = serde_json::json!({ "notice": id });
        self.commit_record(user, record, "notice_read", payload, Vec::new()).await
    }

    /// Rates a concluded case (好差评); 不满意 or worse opens a review for the bundle's lead department.
    pub async fn rate_case(&self, user: &User, case_id: &str, input: RatingInput) -> Result<RecordRow, ServiceError> {
        let row = self.store.case(case_id).await?.ok_or(ServiceError::NotFound("case"))?;
        let own = row.owner.as_deref() == Some(user.id.as_str());
        if !(own || user.has(Role::Clerk)) {
            return Err(ServiceError::NotFound("case"));
        }
        let doc: CaseDoc =
            serde_json::from_value(row.doc.clone()).map_err(|e| ServiceError::Internal(e.to_string()))?;
        if doc.case.state != CaseState::Concluded {
            return Err(ServiceError::Case(onething_core::case::CaseError::IllegalTransition {
                action: "rate",
                state: doc.case.state,
            }));
        }
        let Some((level, label)) = RATING_LEVELS.iter().find(|(l, _)| *l == input.level).copied() else {
            return Err(ServiceError::bad("bad_enum", "level", "the level is 1 (非常不满意) to 5 (非常满意)"));
        };
        if self.store.record("rating", case_id).await?.is_some() {
            return Err(ServiceError::bad("duplicate", "level", "this case is rated already"));
        }
        let comment = input.comment.unwrap_or_default();
        if comment.chars().count() > 2000 {
            return Err(ServiceError::bad("too_long", "comment", "the comment is longer than 2000 characters"));
        }
        let catalog = self.catalog_of(&doc.case.catalog_version).await?;
        let lead = catalog.bundle(&doc.case.bundle).map(|b| b.lead_department.clone());
        let now = self.now();
        let rating = RecordRow {
            kind: "rating".into(),
            id: case_id.to_string(),
            case_id: Some(case_id.to_string()),
            owner: Some(user.id.clone()),
            department: lead.clone(),
            state: "rated".into(),
            created_at: now,
            updated_at: now,
            doc: serde_json::json!({ "level": level, "label": label, "comment": comment, "bundle": doc.case.bundle,
                "departments": doc.case.tasks.iter().map(|t| t.department.clone()).collect::<Vec<_>>(),
                "items": doc.case.tasks.iter().map(|t| t.item.clone()).collect::<Vec<_>>() }),
        };
        let mut extra = Vec::new();
        if level <= 2 {
            let review_id = new_id();
            extra.push(RecordRow {
                kind: "review".into(),
                id: review_id.clone(),
                case_id: Some(case_id.to_string()),
                owner: None,
                department: lead.clone(),
                state: "open".into(),
                created_at: now,
                updated_at: now,
                doc: serde_json::json!({ "level": level, "label": label, "comment": comment, "case_number": row.number }),
            });
            if let Some(d) = &lead {
                extra.push(RecordRow {
                    kind: "notice".into(),
                    id: new_id(),
                    case_id: Some(case_id.to_string()),
                    owner: Some(format!("dept:{d}")),
                    department: Some(d.clone()),
                    state: "unread".into(),
                    created_at: now,
                    updated_at: now,
                    doc: serde_json::json!({ "kind": "review", "detail": { "review": review_id, "label": label, "case_number": row.number } }),
                });
            }
        }
        let payload = serde_json::json!({ "level": level, "label": label, "review": level <= 2 });
        self.commit_record(user, rating, "case_rated", payload, extra).await
    }

    /// A department answers a review opened by a poor rating (差评整改).
    pub async fn answer_review(&self, user: &User, id: &str, answer: String) -> Result<RecordRow, ServiceError> {
        text_required("answer", &answer)?;
        let mut record = self.store.record("review", id).await?.ok_or(ServiceError::NotFound("review"))?;
        let mine = user.has(Role::Officer) && record.department.is_some() && record.department == user.department;
        if !(mine || user.has(Role::Supervisor)) {
            return Err(ServiceError::NotFound("review"));
        }
        if record.state != "open" {
            return Err(ServiceError::bad("illegal_transition", "state", "the review is answered already"));
        }
        let now = self.now();
        record.state = "answered".into();
        record.updated_at = now;
        record.doc["answer"] = serde_json::json!(answer);
        record.doc["answered_at"] = serde_json::json!(now);
        record.doc["answered_by"] = serde_json::json!(user.id);
        let payload = serde_json::json!({ "review": id, "answer": answer });
        self.commit_record(user, record, "review_answered", payload, Vec::new()).await
    }
}

impl Service {
    /// How many of the user's notices are unread (one indexed count per recipient key; for the navigation badge).
    pub async fn unread_notices(&self, user: &User) -> Result<i64, ServiceError> {
        let mut unread = 0;
        for key in recipient_keys(user) {
            unread += self
                .store
                .count_records(&RecordFilter {
                    kind: "notice".into(),
                    owner: Some(key),
                    state: Some("unread".into()),
                    ..RecordFilter::default()
                })
                .await?;
        }
        Ok(unread)
    }

    /// The rating of a case (好差评), if given: for whoever rated it, clerks, supervisors and administrators,
    /// and officers of a department that took part.
    pub async fn case_rating(&self, user: &User, case_id: &str) -> Result<Option<RecordRow>, ServiceError> {
        let Some(r) = self.store.record("rating", case_id).await? else { return Ok(None) };
        let own = r.owner.as_deref() == Some(user.id.as_str());
        let department = user.has(Role::Officer)
            && user.department.as_deref().is_some_and(|d| {
                r.doc["departments"].as_array().is_some_and(|a| a.iter().any(|x| x.as_str() == Some(d)))
            });
        if own || user.reads_all() || department { Ok(Some(r)) } else { Ok(None) }
    }
}
