//! What people do with supervision: supervisors open escalations (督办) by hand, record supervision and
//! interview (约谈) notes and outcomes, and close them when the work is done; everyone reads an inbox of notices
//! with an unread count; applicants rate a concluded case (好差评) and a poor rating opens a review the
//! department must answer. Every change is one changeset with its event, and every record is written over the
//! version it was read at: two supervisors writing notes at once both land (the loser reads again).

use onething_core::case::CaseState;
use onething_store::{Changeset, RecordFilter, StoreError};
use serde::{Deserialize, Serialize};

use crate::auth::{Role, User};
use crate::cases::parse_case;
use crate::errors::{BadInput, ErrorCode, OversightError};
use crate::events::{Event, ServiceEvent};
use crate::records::{Escalation, Interview, Note, Notice, NoticeKind, Rating, Record, RecordDoc, Review, Supervision};
use crate::supervision::{notice, record_writes};
use crate::{Service, new_id};

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
    /// The case's id or its number (办件编号), or the receipt's number.
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
    /// When a window clerk records the applicant's rating for them: how the applicant agreed (e.g. "当面口头
    /// 同意"). Required for a clerk, refused for the applicant.
    #[serde(default)]
    pub consent: Option<String>,
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

fn text_required(field: &str, text: &str, max: usize) -> Result<(), BadInput> {
    if text.trim().is_empty() {
        Err(BadInput::new(ErrorCode::Required, field, format!("{field} is required")))
    } else if text.chars().count() > max {
        Err(BadInput::new(ErrorCode::TooLong, field, format!("{field} is longer than {max} characters")))
    } else {
        Ok(())
    }
}

/// The two kinds of supervision record a note goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupervisionKind {
    Escalation,
    Interview,
}

impl SupervisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SupervisionKind::Escalation => Escalation::KIND,
            SupervisionKind::Interview => Interview::KIND,
        }
    }

    pub fn parse(s: &str) -> Option<SupervisionKind> {
        match s {
            "escalation" => Some(SupervisionKind::Escalation),
            "interview" => Some(SupervisionKind::Interview),
            _ => None,
        }
    }
}

impl Service {
    fn supervisor_only(user: &User) -> Result<(), OversightError> {
        if user.has(Role::Supervisor) {
            Ok(())
        } else {
            Err(OversightError::Forbidden("only a supervisor escalates and interviews"))
        }
    }

    /// Commits records written with one event, turning a lost version check into a conflict.
    async fn commit_records(
        &self,
        user: &User,
        case_id: Option<&str>,
        records: Vec<Result<onething_store::RecordWrite, String>>,
        event: impl FnOnce(Vec<crate::events::RecordState>) -> ServiceEvent,
        what: &'static str,
    ) -> Result<(), OversightError> {
        let now = self.now();
        let (writes, states) = record_writes(records).map_err(OversightError::Internal)?;
        let event = Event::from(event(states)).to_new(case_id, &user.id, now).map_err(OversightError::Internal)?;
        match self.store.commit(Changeset { records: writes, event: Some(event), ..Changeset::default() }).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict { .. }) => Err(OversightError::Conflict { what }),
            Err(e) => Err(e.into()),
        }
    }

    /// The case a person names by its id, its number or its receipt's number.
    async fn named_case(&self, named: &str) -> Result<onething_store::CaseBundle, OversightError> {
        let named = named.trim();
        if let Some(b) = self.store.case_bundle(named).await? {
            return Ok(b);
        }
        let number = match named.strip_prefix("SL") {
            Some(rest) => format!("YJS{rest}"),
            None => named.to_string(),
        };
        let row = self.store.case_by_number(&number).await?.ok_or(OversightError::NotFound("case"))?;
        self.store.case_bundle(&row.id).await?.ok_or(OversightError::NotFound("case"))
    }

    /// Opens an escalation (督办单) on a case or one of its tasks by hand.
    pub async fn open_escalation(
        &self,
        user: &User,
        input: EscalationInput,
    ) -> Result<Record<Escalation>, OversightError> {
        Self::supervisor_only(user)?;
        text_required("reason", &input.reason, 4000)?;
        let bundle = self.named_case(&input.case_id).await?;
        let row = bundle.case;
        let case = parse_case(&row).map_err(OversightError::Internal)?;
        let (subject, department, what) = match input.task_id.as_deref().filter(|t| !t.is_empty()) {
            Some(t) => {
                let task =
                    case.tasks.iter().find(|k| k.id == t || k.item == t).ok_or(OversightError::NotFound("task"))?;
                let item = self.catalog().items.get(&task.item).map_or(task.item.clone(), |i| i.name.clone());
                (format!("task:{}", task.id), Some(task.department.clone()), format!("{} {item}", row.number))
            }
            None => (format!("case:{}", row.id), None, row.number.clone()),
        };
        let now = self.now();
        let doc = Supervision {
            subject: subject.clone(),
            what: what.clone(),
            department: department.clone(),
            since: Some(now),
            opened_by: user.id.clone(),
            reason: input.reason.clone(),
            notes: Vec::new(),
            outcome: None,
            closed_at: None,
        };
        let record =
            Record::new(new_id(), "open", now, Escalation(doc)).case(Some(&row.id)).department(department.as_deref());
        let mut records = vec![record.write()];
        if let Some(d) = &department {
            let n = Notice {
                kind: NoticeKind::Escalation,
                label: what,
                subject: Some(subject.clone()),
                from: None,
                to: None,
                due_at: None,
                reason: Some(input.reason.clone()),
                review: None,
            };
            for owner in [format!("dept:{d}"), format!("head:{d}")] {
                records.push(notice(&owner, Some(&row.id), Some(d), now, n.clone()).write());
            }
        }
        let reason = input.reason.clone();
        self.commit_records(
            user,
            Some(&row.id),
            records,
            |records| ServiceEvent::EscalationOpened { subject, reason, records },
            "escalation",
        )
        .await?;
        Ok(Record { version: 1, ..record })
    }

    /// Reads a supervision record and applies `change` to it, written over the version read; retried when
    /// someone else wrote it meanwhile, so concurrent notes all land.
    async fn change_supervision(
        &self,
        user: &User,
        kind: SupervisionKind,
        id: &str,
        mut change: impl FnMut(&mut Record<Supervision>) -> Result<ServiceEvent, OversightError>,
    ) -> Result<Record<Supervision>, OversightError> {
        let _serial = self.write_lock(&format!("{}:{id}", kind.as_str())).lock().await;
        for attempt in 0..crate::WRITE_ATTEMPTS {
            if attempt > 0 {
                crate::back_off(attempt).await;
            }
            let row = self.store.record(kind.as_str(), id).await?.ok_or(OversightError::NotFound("record"))?;
            let mut record: Record<Supervision> = match kind {
                SupervisionKind::Escalation => Record::<Escalation>::from_row(row).map(|r| r.map_doc(|d| d.0)),
                SupervisionKind::Interview => Record::<Interview>::from_row(row).map(|r| r.map_doc(|d| d.0)),
            }
            .map_err(OversightError::Internal)?;
            let event = change(&mut record)?;
            record.updated_at = self.now();
            let write = match kind {
                SupervisionKind::Escalation => record.clone().map_doc(Escalation).write(),
                SupervisionKind::Interview => record.clone().map_doc(Interview).write(),
            };
            let case_id = record.case_id.clone();
            let outcome = self
                .commit_records(user, case_id.as_deref(), vec![write], move |records| attach(event, records), "record")
                .await;
            match outcome {
                Ok(()) => return Ok(Record { version: record.version + 1, ..record }),
                Err(OversightError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(OversightError::Conflict { what: "record" })
    }

    /// Adds a supervision or interview note (and optionally an outcome) to an escalation or interview.
    pub async fn add_note(
        &self,
        user: &User,
        kind: SupervisionKind,
        id: &str,
        input: NoteInput,
    ) -> Result<Record<Supervision>, OversightError> {
        Self::supervisor_only(user)?;
        text_required("text", &input.text, 4000)?;
        if let Some(o) = &input.outcome {
            text_required("outcome", o, 4000)?;
        }
        let note = Note { at: self.now(), by: user.id.clone(), text: input.text, outcome: input.outcome };
        self.change_supervision(user, kind, id, |record| {
            record.doc.notes.push(note.clone());
            Ok(ServiceEvent::NoteAdded {
                record_kind: kind.as_str().into(),
                record_id: record.id.clone(),
                note: note.clone(),
                records: Vec::new(),
            })
        })
        .await
    }

    /// Closes an escalation or interview with its outcome.
    pub async fn close_record(
        &self,
        user: &User,
        kind: SupervisionKind,
        id: &str,
        outcome: String,
    ) -> Result<Record<Supervision>, OversightError> {
        Self::supervisor_only(user)?;
        text_required("outcome", &outcome, 4000)?;
        let now = self.now();
        self.change_supervision(user, kind, id, |record| {
            if record.state == "closed" {
                return Err(OversightError::IllegalTransition { action: "close it", state: "closed".into() });
            }
            record.state = "closed".into();
            record.doc.outcome = Some(outcome.clone());
            record.doc.closed_at = Some(now);
            Ok(ServiceEvent::RecordClosed {
                record_kind: kind.as_str().into(),
                record_id: record.id.clone(),
                outcome: outcome.clone(),
                records: Vec::new(),
            })
        })
        .await
    }

    /// Escalations or interviews, open or all, newest first: supervisors see all, an officer their department's.
    pub async fn list_supervision(
        &self,
        user: &User,
        kind: SupervisionKind,
        state: Option<String>,
    ) -> Result<Vec<Record<Supervision>>, OversightError> {
        let department = if user.has(Role::Supervisor) || user.has(Role::Admin) {
            None
        } else if user.has(Role::Officer) {
            user.department.clone()
        } else {
            return Err(OversightError::Forbidden("supervision records are for supervisors and departments"));
        };
        let filter =
            RecordFilter { kind: kind.as_str().into(), state, department, limit: 500, ..RecordFilter::default() };
        let rows = self.store.records(&filter).await?;
        rows.into_iter()
            .map(|row| {
                let plain = match kind {
                    SupervisionKind::Escalation => Record::<Escalation>::from_row(row).map(|r| r.map_doc(|d| d.0)),
                    SupervisionKind::Interview => Record::<Interview>::from_row(row).map(|r| r.map_doc(|d| d.0)),
                };
                plain.map_err(OversightError::Internal)
            })
            .collect()
    }

    /// The reviews poor ratings opened, open or all: supervisors see all, an officer their department's.
    pub async fn list_reviews(
        &self,
        user: &User,
        state: Option<String>,
    ) -> Result<Vec<Record<Review>>, OversightError> {
        let department = if user.has(Role::Supervisor) || user.has(Role::Admin) {
            None
        } else if user.has(Role::Officer) {
            user.department.clone()
        } else {
            return Err(OversightError::Forbidden("reviews are for supervisors and departments"));
        };
        let filter =
            RecordFilter { kind: Review::KIND.into(), state, department, limit: 500, ..RecordFilter::default() };
        self.store
            .records(&filter)
            .await?
            .into_iter()
            .map(|r| Record::from_row(r).map_err(OversightError::Internal))
            .collect()
    }

    /// The user's notices (newest first) and how many are unread.
    pub async fn inbox(&self, user: &User) -> Result<(Vec<Record<Notice>>, i64), OversightError> {
        let mut all = Vec::new();
        for key in recipient_keys(user) {
            let filter = RecordFilter {
                kind: Notice::KIND.into(),
                owner: Some(key.clone()),
                limit: 200,
                ..RecordFilter::default()
            };
            for row in self.store.records(&filter).await? {
                all.push(Record::<Notice>::from_row(row).map_err(OversightError::Internal)?);
            }
        }
        all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        all.truncate(200);
        let unread = self.unread_notices(user).await?;
        Ok((all, unread))
    }

    /// Marks a notice read (for everyone it was addressed to).
    pub async fn mark_read(&self, user: &User, id: &str) -> Result<Record<Notice>, OversightError> {
        for attempt in 0..crate::WRITE_ATTEMPTS {
            if attempt > 0 {
                crate::back_off(attempt).await;
            }
            let row = self.store.record(Notice::KIND, id).await?.ok_or(OversightError::NotFound("notice"))?;
            let mut record = Record::<Notice>::from_row(row).map_err(OversightError::Internal)?;
            let keys = recipient_keys(user);
            if !record.owner.as_ref().is_some_and(|o| keys.contains(o)) {
                return Err(OversightError::NotFound("notice"));
            }
            if record.state == "read" {
                return Ok(record);
            }
            record.state = "read".into();
            record.updated_at = self.now();
            let notice = id.to_string();
            let case_id = record.case_id.clone();
            match self
                .commit_records(
                    user,
                    case_id.as_deref(),
                    vec![record.write()],
                    |records| ServiceEvent::NoticeRead { notice, records },
                    "notice",
                )
                .await
            {
                Ok(()) => return Ok(Record { version: record.version + 1, ..record }),
                Err(OversightError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(OversightError::Conflict { what: "notice" })
    }

    /// Rates a concluded case (好差评): its applicant, or a window clerk recording the applicant's rating with
    /// their consent; 不满意 or worse opens a review for the bundle's lead department. One rating per case.
    pub async fn rate_case(
        &self,
        user: &User,
        case_id: &str,
        input: RatingInput,
    ) -> Result<Record<Rating>, OversightError> {
        let bundle = self.store.case_bundle(case_id).await?.ok_or(OversightError::NotFound("case"))?;
        let row = bundle.case;
        let own = row.owner.as_deref() == Some(user.id.as_str());
        let recorded_by = match (&input.consent, own, user.has(Role::Clerk)) {
            (None, true, _) => None,
            (Some(_), true, _) => {
                return Err(
                    BadInput::new(ErrorCode::BadEnum, "consent", "the applicant rates in their own name").into()
                );
            }
            (Some(consent), false, true) => {
                text_required("consent", consent, 500)?;
                Some(user.id.clone())
            }
            (None, false, true) => {
                return Err(BadInput::new(
                    ErrorCode::Required,
                    "consent",
                    "a clerk records a rating only with the applicant's consent: say how they agreed",
                )
                .into());
            }
            (_, false, false) => return Err(OversightError::NotFound("case")),
        };
        let case = parse_case(&row).map_err(OversightError::Internal)?;
        if case.state != CaseState::Concluded {
            return Err(OversightError::IllegalTransition {
                action: "rate the case",
                state: case.state.as_str().into(),
            });
        }
        let Some((level, label)) = RATING_LEVELS.iter().find(|(l, _)| *l == input.level).copied() else {
            return Err(
                BadInput::new(ErrorCode::BadEnum, "level", "the level is 1 (非常不满意) to 5 (非常满意)").into()
            );
        };
        let comment = input.comment.unwrap_or_default();
        if comment.chars().count() > 2000 {
            return Err(
                BadInput::new(ErrorCode::TooLong, "comment", "the comment is longer than 2000 characters").into()
            );
        }
        self.ensure_catalog(&case.catalog_version).await.map_err(|e| OversightError::Internal(e.to_string()))?;
        let catalog = self.catalog_of(&case.catalog_version).map_err(OversightError::Internal)?;
        let lead = catalog.bundle(&case.bundle).map(|b| b.lead_department.clone());
        let now = self.now();
        let doc = Rating {
            level,
            label: label.to_string(),
            comment: comment.clone(),
            bundle: case.bundle.clone(),
            departments: case.tasks.iter().map(|t| t.department.clone()).collect(),
            items: case.tasks.iter().map(|t| t.item.clone()).collect(),
            recorded_by,
        };
        let owner = row.owner.clone().unwrap_or_else(|| user.id.clone());
        let rating =
            Record::new(case_id, "rated", now, doc).case(Some(case_id)).owner(Some(&owner)).department(lead.as_deref());
        let mut records = vec![rating.write()];
        if level <= 2 {
            let review_id = new_id();
            let review = Review {
                level,
                label: label.to_string(),
                comment,
                case_number: row.number.clone(),
                answer: None,
                answered_at: None,
                answered_by: None,
            };
            records.push(
                Record::new(review_id.clone(), "open", now, review)
                    .case(Some(case_id))
                    .department(lead.as_deref())
                    .write(),
            );
            if let Some(d) = &lead {
                let n = Notice {
                    kind: NoticeKind::Review,
                    label: row.number.clone(),
                    subject: None,
                    from: None,
                    to: None,
                    due_at: None,
                    reason: Some(label.to_string()),
                    review: Some(review_id),
                };
                records.push(notice(&format!("dept:{d}"), Some(case_id), Some(d), now, n).write());
            }
        }
        let outcome = self
            .commit_records(
                user,
                Some(case_id),
                records,
                |records| ServiceEvent::CaseRated { level, label: label.to_string(), review: level <= 2, records },
                "rating",
            )
            .await;
        match outcome {
            Ok(()) => Ok(Record { version: 1, ..rating }),
            Err(OversightError::Store(StoreError::Duplicate { .. })) => {
                Err(BadInput::new(ErrorCode::Duplicate, "level", "this case is rated already").into())
            }
            Err(e) => Err(e),
        }
    }

    /// A department answers a review opened by a poor rating (差评整改).
    pub async fn answer_review(&self, user: &User, id: &str, answer: String) -> Result<Record<Review>, OversightError> {
        text_required("answer", &answer, 4000)?;
        let row = self.store.record(Review::KIND, id).await?.ok_or(OversightError::NotFound("review"))?;
        let mut record = Record::<Review>::from_row(row).map_err(OversightError::Internal)?;
        let mine = user.has(Role::Officer) && record.department.is_some() && record.department == user.department;
        if !(mine || user.has(Role::Supervisor)) {
            return Err(OversightError::NotFound("review"));
        }
        if record.state != "open" {
            return Err(OversightError::IllegalTransition { action: "answer the review", state: record.state.clone() });
        }
        let now = self.now();
        record.state = "answered".into();
        record.updated_at = now;
        record.doc.answer = Some(answer);
        record.doc.answered_at = Some(now);
        record.doc.answered_by = Some(user.id.clone());
        let review = id.to_string();
        let case_id = record.case_id.clone();
        self.commit_records(
            user,
            case_id.as_deref(),
            vec![record.write()],
            |records| ServiceEvent::ReviewAnswered { review, records },
            "review",
        )
        .await?;
        Ok(Record { version: record.version + 1, ..record })
    }

    /// How many of the user's notices are unread (one indexed count per recipient key; for the navigation badge).
    pub async fn unread_notices(&self, user: &User) -> Result<i64, OversightError> {
        let mut unread = 0;
        for key in recipient_keys(user) {
            unread += self
                .store
                .count_records(&RecordFilter {
                    kind: Notice::KIND.into(),
                    owner: Some(key),
                    state: Some("unread".into()),
                    ..RecordFilter::default()
                })
                .await?;
        }
        Ok(unread)
    }

    /// The rating of a case (好差评), if given: for its applicant, clerks, supervisors and administrators, and
    /// officers of a department that took part.
    pub async fn case_rating(&self, user: &User, case_id: &str) -> Result<Option<Record<Rating>>, OversightError> {
        let Some(row) = self.store.record(Rating::KIND, case_id).await? else { return Ok(None) };
        let r = Record::<Rating>::from_row(row).map_err(OversightError::Internal)?;
        let own = r.owner.as_deref() == Some(user.id.as_str());
        let department = user.has(Role::Officer)
            && user.department.as_deref().is_some_and(|d| r.doc.departments.iter().any(|x| x == d));
        if own || user.reads_all() || department { Ok(Some(r)) } else { Ok(None) }
    }
}

/// An event with the records it wrote.
fn attach(event: ServiceEvent, states: Vec<crate::events::RecordState>) -> ServiceEvent {
    match event {
        ServiceEvent::NoteAdded { record_kind, record_id, note, .. } => {
            ServiceEvent::NoteAdded { record_kind, record_id, note, records: states }
        }
        ServiceEvent::RecordClosed { record_kind, record_id, outcome, .. } => {
            ServiceEvent::RecordClosed { record_kind, record_id, outcome, records: states }
        }
        other => other,
    }
}
