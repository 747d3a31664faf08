//! Supervision (电子监察/督办): colours that act. Every running clock — a task, a case, a project milestone — has
//! a watch recording its last colour and when it can next change. The deadline worker ([`Service::sweep`])
//! claims only the watches whose time has come (an index range scan under a lease, so several nodes share the
//! work and a node that dies mid-claim only delays it), records each crossing once as an event with the notices
//! to whoever must act — the handler at blue, the handler and the department head at yellow — opens an
//! escalation (督办单) at red, and raises it to an interview (约谈) of the department's head when the work is
//! overdue by more than N working days or the department went red again within the configured period.

use jiff::Timestamp;
use onething_core::calendar::{Pause, WorkClock};
use onething_core::case::{CaseState, TaskState};
use onething_core::colour::{self, Colour};
use onething_core::duration::WorkingDuration;
use onething_store::{Changeset, NewEvent, RecordFilter, RecordRow, StoreError, WatchRow, WatchWrite};
use serde::{Deserialize, Serialize};

use crate::cases::CaseDoc;
use crate::{Service, ServiceError, new_id};

/// Settings of supervision, validated at start-up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SupervisionConfig {
    /// Overdue by more than this many working days raises an escalation to an interview (约谈).
    pub interview_after_days: u64,
    /// A department that goes red again within this many working days of an earlier escalation is interviewed.
    pub repeat_within_days: u64,
    /// How long a node's claim on a watch lasts before another node may take it over.
    pub lease_seconds: i64,
    /// How many watches one sweep claims at most.
    pub batch: i64,
}

impl Default for SupervisionConfig {
    fn default() -> Self {
        Self { interview_after_days: 5, repeat_within_days: 20, lease_seconds: 60, batch: 500 }
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub claimed: usize,
    /// Colour crossings recorded (one event each).
    pub crossings: usize,
    pub escalations: usize,
    pub interviews: usize,
    /// Watches another writer changed meanwhile (nothing recorded twice).
    pub skipped: usize,
}

/// A running clock of a case, as a watch sees it.
struct Clock {
    subject: String,
    department: Option<String>,
    start: Option<Timestamp>,
    limit: WorkingDuration,
    running: bool,
}

fn clocks(doc: &CaseDoc) -> Vec<Clock> {
    let c = &doc.case;
    let case_running = matches!(c.state, CaseState::Accepted | CaseState::InProgress | CaseState::Returned);
    let mut out = vec![Clock {
        subject: format!("case:{}", c.id),
        department: None,
        start: c.accepted_at,
        limit: c.promised_limit,
        running: case_running && c.accepted_at.is_some(),
    }];
    for t in &c.tasks {
        out.push(Clock {
            subject: format!("task:{}", t.id),
            department: Some(t.department.clone()),
            start: t.ready_at,
            limit: t.limit,
            running: case_running && matches!(t.state, TaskState::Ready | TaskState::Returned) && t.ready_at.is_some(),
        });
    }
    out
}

/// The watch of one clock at `now`: its colour, when it can next change, its deadline.
fn watch_of(
    svc: &Service,
    case_id: &str,
    c: &Clock,
    pauses: &[Pause],
    now: Timestamp,
    recorded: Option<&str>,
) -> WatchRow {
    let (clock, t, cfg) = (&svc.clock, &svc.config.thresholds, &svc.config.supervision);
    let mut row = WatchRow {
        subject: c.subject.clone(),
        case_id: Some(case_id.to_string()),
        department: c.department.clone(),
        colour: "none".into(),
        next_check_at: None,
        due_at: None,
        version: 0,
        lease_owner: None,
        lease_until: None,
    };
    let Some(start) = c.start.filter(|_| c.running) else { return row };
    let paused = pauses.iter().any(|p| p.to.is_none());
    row.due_at = if paused { None } else { clock.deadline_with_pauses(start, c.limit, pauses).ok() };
    let Ok(now_colour) = colour::colour(clock, start, c.limit, pauses, now, t) else { return row };
    // A watch keeps the colour the worker recorded: the crossing is the worker's to record, once.
    row.colour = recorded.filter(|r| *r != "none").unwrap_or(now_colour.as_str()).to_string();
    row.next_check_at = if recorded.is_some_and(|r| r != now_colour.as_str() && r != "none") {
        Some(now)
    } else if now_colour == Colour::Red {
        // Red: the next thing to check is whether it stays overdue long enough for an interview.
        row.due_at.and_then(|due| clock.add(due, interview_delay(clock, cfg)).ok())
    } else {
        colour::next_change(clock, start, c.limit, pauses, now, t).ok().flatten()
    };
    row
}

fn interview_delay(clock: &WorkClock, cfg: &SupervisionConfig) -> WorkingDuration {
    WorkingDuration::Minutes(cfg.interview_after_days * clock.day_minutes())
}

fn notice(
    owner: &str,
    case_id: Option<&str>,
    department: Option<&str>,
    now: Timestamp,
    doc: serde_json::Value,
) -> RecordRow {
    RecordRow {
        kind: "notice".into(),
        id: new_id(),
        case_id: case_id.map(str::to_string),
        owner: Some(owner.to_string()),
        department: department.map(str::to_string),
        state: "unread".into(),
        created_at: now,
        updated_at: now,
        doc,
    }
}

impl Service {
    /// The watches of a case's clocks after a change, replacing what is stored (a use case recomputing its
    /// clocks wins over a concurrent sweep, which then skips).
    pub(crate) async fn watch_writes(&self, doc: &CaseDoc, now: Timestamp) -> Result<Vec<WatchWrite>, ServiceError> {
        let stored = self.store.case_watches(&doc.case.id).await?;
        Ok(clocks(doc)
            .iter()
            .map(|c| {
                let recorded = stored.iter().find(|w| w.subject == c.subject).map(|w| w.colour.as_str());
                let row = watch_of(self, &doc.case.id, c, &doc.case.pauses, now, recorded);
                WatchWrite { row, expected_version: None }
            })
            .collect())
    }

    /// The recorded colours of open tasks, counted by department (supervisors and administrators).
    pub async fn colour_overview(&self, user: &crate::User) -> Result<Vec<onething_store::ColourCount>, ServiceError> {
        Self::supervisor_view(user)?;
        Ok(self.store.colour_counts("task:").await?)
    }

    /// Red (overdue) tasks, most overdue first, optionally of one department.
    pub async fn red_list(
        &self,
        user: &crate::User,
        department: Option<&str>,
        limit: i64,
    ) -> Result<Vec<WatchRow>, ServiceError> {
        Self::supervisor_view(user)?;
        Ok(self.store.watches_by_colour("task:", "red", department, limit).await?)
    }

    fn supervisor_view(user: &crate::User) -> Result<(), ServiceError> {
        use crate::Role;
        if user.has(Role::Supervisor) || user.has(Role::Admin) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden("only supervisors see the overview"))
        }
    }

    /// One step of the deadline worker as node `node`: claims the watches whose time has come and records
    /// each colour crossing once. Time comes from the service's time source, so tests step it.
    pub async fn sweep(&self, node: &str) -> Result<SweepReport, ServiceError> {
        let now = self.now();
        let lease = now
            .checked_add(jiff::SignedDuration::from_secs(self.config.supervision.lease_seconds))
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        self.snapshot_colours(now).await?;
        let claimed = self.store.claim_watches(node, now, lease, self.config.supervision.batch).await?;
        let mut report = SweepReport { claimed: claimed.len(), ..SweepReport::default() };
        for w in claimed {
            match self.process_watch(w, now).await {
                Ok(Outcome::Crossed { escalation, interview }) => {
                    report.crossings += 1;
                    report.escalations += usize::from(escalation);
                    report.interviews += usize::from(interview);
                }
                Ok(Outcome::Interview) => report.interviews += 1,
                Ok(Outcome::Quiet) => {}
                Err(ServiceError::Conflict) => report.skipped += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// Once a day, the colour mix of open tasks and milestones by department (`colour_snapshot` records, one
    /// per China date), so the dashboard can show trends without replaying the log. Derived data, like an index:
    /// it changes no state, so it carries no event; two nodes writing the same day write the same row.
    async fn snapshot_colours(&self, now: Timestamp) -> Result<(), ServiceError> {
        let day = now.to_zoned(onething_core::calendar::china_tz()).date().to_string();
        if self.store.record("colour_snapshot", &day).await?.is_some() {
            return Ok(());
        }
        let tasks = self.store.colour_counts("task:").await?;
        let milestones = self.store.colour_counts("milestone:").await?;
        let record = RecordRow {
            kind: "colour_snapshot".into(),
            id: day.clone(),
            case_id: None,
            owner: None,
            department: None,
            state: "taken".into(),
            created_at: now,
            updated_at: now,
            doc: serde_json::json!({ "date": day, "tasks": tasks, "milestones": milestones }),
        };
        self.store.commit(Changeset { records: vec![record], ..Changeset::default() }).await?;
        Ok(())
    }

    /// The daily colour mixes of the last `days` snapshots, oldest first (for trend charts).
    pub async fn colour_trend(&self, user: &crate::User, days: i64) -> Result<Vec<serde_json::Value>, ServiceError> {
        Self::supervisor_view(user)?;
        let mut rows = self
            .store
            .records(&RecordFilter { kind: "colour_snapshot".into(), limit: days, ..RecordFilter::default() })
            .await?;
        rows.reverse();
        Ok(rows.into_iter().map(|r| r.doc).collect())
    }

    async fn process_watch(&self, w: WatchRow, now: Timestamp) -> Result<Outcome, ServiceError> {
        let Some(case_id) = w.case_id.clone() else {
            return self.process_project_watch(w, now).await;
        };
        let row = self.store.case(&case_id).await?.ok_or(ServiceError::NotFound("case"))?;
        let doc: CaseDoc =
            serde_json::from_value(row.doc.clone()).map_err(|e| ServiceError::Internal(format!("case doc: {e}")))?;
        let Some(clock) = clocks(&doc).into_iter().find(|c| c.subject == w.subject) else {
            return self.write_quiet(w, None, now).await;
        };
        let fresh = watch_of(self, &case_id, &clock, &doc.case.pauses, now, None);
        let label = format!("{} {}", row.number, clock.subject);
        self.record_crossing(w, fresh, &case_id, clock.department.as_deref(), &label, now).await
    }

    /// Writes the fresh watch and, when its colour differs from the recorded one, the crossing: one event,
    /// the notices, an escalation at red; an interview when a red item stays overdue or its department went
    /// red again within the period.
    pub(crate) async fn record_crossing(
        &self,
        old: WatchRow,
        fresh: WatchRow,
        case_id: &str,
        department: Option<&str>,
        label: &str,
        now: Timestamp,
    ) -> Result<Outcome, ServiceError> {
        let case_ref = (!case_id.is_empty()).then_some(case_id);
        if fresh.colour == old.colour || fresh.colour == "none" {
            // No crossing. A red watch that comes due again has stayed overdue: interview time.
            if old.colour == "red" && fresh.colour == "red" && old.next_check_at.is_some_and(|t| t <= now) {
                return self.open_interview(old, fresh, case_ref, department, label, "overdue", now).await;
            }
            return self.write_quiet(old, Some(fresh), now).await;
        }
        let mut records = Vec::new();
        let who_acts: Vec<String> = match (fresh.colour.as_str(), department) {
            ("blue", Some(d)) => vec![format!("dept:{d}")],
            ("yellow", Some(d)) => vec![format!("dept:{d}"), format!("head:{d}")],
            ("red", Some(d)) => vec![format!("dept:{d}"), format!("head:{d}"), "role:supervisor".into()],
            ("red", None) => vec!["role:supervisor".into(), "role:clerk".into()],
            _ => Vec::new(),
        };
        let message = serde_json::json!({
            "subject": fresh.subject, "label": label, "from": old.colour, "to": fresh.colour,
            "due_at": fresh.due_at, "department": department,
        });
        for owner in &who_acts {
            records.push(notice(
                owner,
                case_ref,
                department,
                now,
                serde_json::json!({ "kind": "colour", "detail": message }),
            ));
        }
        let mut escalation_id = None;
        let mut interview = false;
        if fresh.colour == "red" {
            let id = new_id();
            // A department already escalated within the period goes straight to an interview.
            let repeat = match department {
                Some(d) => self.recent_escalations(d, now).await? > 0,
                None => false,
            };
            records.push(RecordRow {
                kind: "escalation".into(),
                id: id.clone(),
                case_id: case_ref.map(str::to_string),
                owner: None,
                department: department.map(str::to_string),
                state: "open".into(),
                created_at: now,
                updated_at: now,
                doc: serde_json::json!({
                    "subject": fresh.subject, "what": label, "department": department, "since": fresh.due_at,
                    "opened_by": "system", "reason": "overdue", "notes": [],
                }),
            });
            if repeat {
                interview = true;
                records.push(self.interview_record(case_ref, department, label, &fresh.subject, "repeat", now));
                if let Some(d) = department {
                    records.push(notice(
                        &format!("head:{d}"),
                        case_ref,
                        department,
                        now,
                        serde_json::json!({ "kind": "interview", "detail": message }),
                    ));
                }
            }
            escalation_id = Some(id);
        }
        let event = NewEvent {
            id: new_id(),
            case_id: case_ref.map(str::to_string),
            kind: "colour_changed".into(),
            actor: "system".into(),
            at: now,
            payload: serde_json::json!({
                "subject": fresh.subject, "from": old.colour, "to": fresh.colour, "due_at": fresh.due_at,
                "notified": who_acts, "escalation": escalation_id, "interview": interview,
            })
            .to_string(),
        };
        let change = Changeset {
            watches: vec![WatchWrite { row: fresh, expected_version: Some(old.version) }],
            records,
            event: Some(event),
            ..Changeset::default()
        };
        self.commit_watch(change).await?;
        Ok(Outcome::Crossed { escalation: escalation_id.is_some(), interview })
    }

    fn interview_record(
        &self,
        case_id: Option<&str>,
        department: Option<&str>,
        label: &str,
        subject: &str,
        reason: &str,
        now: Timestamp,
    ) -> RecordRow {
        RecordRow {
            kind: "interview".into(),
            id: new_id(),
            case_id: case_id.map(str::to_string),
            owner: None,
            department: department.map(str::to_string),
            state: "open".into(),
            created_at: now,
            updated_at: now,
            doc: serde_json::json!({ "subject": subject, "what": label, "department": department, "reason": reason, "notes": [] }),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn open_interview(
        &self,
        old: WatchRow,
        mut fresh: WatchRow,
        case_id: Option<&str>,
        department: Option<&str>,
        label: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<Outcome, ServiceError> {
        // Once interviewed, nothing further to check for this item.
        fresh.next_check_at = None;
        let mut records = vec![self.interview_record(case_id, department, label, &fresh.subject, reason, now)];
        if let Some(d) = department {
            records.push(notice(&format!("head:{d}"), case_id, department, now, serde_json::json!({ "kind": "interview", "detail": { "subject": fresh.subject, "label": label, "reason": reason } })));
        }
        records.push(notice("role:supervisor", case_id, department, now, serde_json::json!({ "kind": "interview", "detail": { "subject": fresh.subject, "label": label, "reason": reason } })));
        let event = NewEvent {
            id: new_id(),
            case_id: case_id.map(str::to_string),
            kind: "interview_opened".into(),
            actor: "system".into(),
            at: now,
            payload: serde_json::json!({ "subject": fresh.subject, "department": department, "reason": reason })
                .to_string(),
        };
        let change = Changeset {
            watches: vec![WatchWrite { row: fresh, expected_version: Some(old.version) }],
            records,
            event: Some(event),
            ..Changeset::default()
        };
        self.commit_watch(change).await?;
        Ok(Outcome::Interview)
    }

    /// Rewrites a watch without a crossing (a new next-check time, or a released lease). Not a state change of
    /// anything a person sees, so it carries no event.
    async fn write_quiet(
        &self,
        old: WatchRow,
        fresh: Option<WatchRow>,
        now: Timestamp,
    ) -> Result<Outcome, ServiceError> {
        let mut row = fresh.unwrap_or_else(|| WatchRow { colour: "none".into(), next_check_at: None, ..old.clone() });
        if row.next_check_at.is_some_and(|t| t <= now) {
            row.next_check_at = None;
        }
        let change = Changeset {
            watches: vec![WatchWrite { row, expected_version: Some(old.version) }],
            ..Changeset::default()
        };
        self.commit_watch(change).await?;
        Ok(Outcome::Quiet)
    }

    async fn commit_watch(&self, change: Changeset) -> Result<(), ServiceError> {
        match self.store.commit(change).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict { .. }) => Err(ServiceError::Conflict),
            Err(e) => Err(e.into()),
        }
    }

    async fn recent_escalations(&self, department: &str, now: Timestamp) -> Result<i64, ServiceError> {
        // The period counts back in working days; a calendar gap (no data) counts from the epoch of the data.
        let days = self.config.supervision.repeat_within_days;
        let since = self.working_days_before(now, days);
        let filter = RecordFilter {
            kind: "escalation".into(),
            department: Some(department.to_string()),
            since: Some(since),
            limit: 1,
            ..RecordFilter::default()
        };
        Ok(self.store.count_records(&filter).await?)
    }

    /// The instant `days` working days before `now` (found by stepping back calendar days).
    pub(crate) fn working_days_before(&self, now: Timestamp, days: u64) -> Timestamp {
        let tz = onething_core::calendar::china_tz();
        let mut date = now.to_zoned(tz.clone()).date();
        let mut left = days;
        let mut guard = 0;
        while left > 0 && guard < 4000 {
            guard += 1;
            let Ok(prev) = date.yesterday() else { break };
            date = prev;
            if self.clock.calendar().is_working_day(date).unwrap_or(true) {
                left -= 1;
            }
        }
        date.to_zoned(tz).map(|z| z.timestamp()).unwrap_or(now)
    }
}

/// What processing one watch did.
pub(crate) enum Outcome {
    Crossed { escalation: bool, interview: bool },
    Interview,
    Quiet,
}
