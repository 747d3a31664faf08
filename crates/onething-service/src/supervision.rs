//! Supervision (电子监察/督办): colours that act. Every running clock — a task, a case, a project milestone — has
//! a watch recording its last colour and when it can next change. The deadline worker ([`Service::sweep`])
//! claims only the watches whose time has come (an index range scan under a lease, so several nodes share the
//! work and a node that dies mid-claim only delays it), records each crossing once as an event with the notices
//! to whoever must act — the handler at blue, the handler and the department head at yellow — opens an
//! escalation (督办单) at red, and raises it to an interview (约谈) of the department's head when the work is
//! overdue by more than N working days or the department went red again within the configured period.

use jiff::Timestamp;
use onething_core::calendar::{Pause, WorkClock};
use onething_core::case::{Case, CaseState, TaskState};
use onething_core::colour::{self, Colour};
use onething_core::duration::WorkingDuration;
use onething_store::{Changeset, RecordFilter, RecordWrite, StoreError, WatchRow, WatchWrite};
use serde::{Deserialize, Serialize};

use crate::cases::parse_case;
use crate::errors::{CaseActionError, OversightError};
use crate::events::{Event, RecordState, ServiceEvent};
use crate::records::{
    ColourSnapshot, Count, Escalation, Interview, Notice, NoticeKind, Record, RecordDoc, Supervision,
};
use crate::{Service, new_id};

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

fn clocks(c: &Case) -> Vec<Clock> {
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

/// The watch of one clock at `now`: its colour, when it can next change, its deadline. A deadline the clock
/// cannot compute is an error for the caller, never a silently missing watch.
fn watch_of(
    svc: &Service,
    case_id: &str,
    c: &Clock,
    pauses: &[Pause],
    now: Timestamp,
    recorded: Option<&str>,
) -> Result<WatchRow, onething_core::calendar::CalendarError> {
    let (clock, t, cfg) = (&*svc.clock(), &svc.config.thresholds, &svc.config.supervision);
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
    let Some(start) = c.start.filter(|_| c.running) else { return Ok(row) };
    let paused = pauses.iter().any(|p| p.to.is_none());
    row.due_at = if paused { None } else { Some(clock.deadline_with_pauses(start, c.limit, pauses)?) };
    let now_colour = colour::colour(clock, start, c.limit, pauses, now, t)?;
    // A watch keeps the colour the worker recorded: the crossing is the worker's to record, once.
    row.colour = recorded.filter(|r| *r != "none").unwrap_or(now_colour.as_str()).to_string();
    row.next_check_at = if recorded.is_some_and(|r| r != now_colour.as_str() && r != "none") {
        Some(now)
    } else if now_colour == Colour::Red {
        // Red: the next thing to check is whether it stays overdue long enough for an interview.
        match row.due_at {
            Some(due) => Some(clock.add(due, interview_delay(clock, cfg))?),
            None => None,
        }
    } else {
        colour::next_change(clock, start, c.limit, pauses, now, t)?
    };
    Ok(row)
}

pub(crate) fn interview_delay(clock: &WorkClock, cfg: &SupervisionConfig) -> WorkingDuration {
    WorkingDuration::Minutes(cfg.interview_after_days * clock.day_minutes())
}

/// A notice to `owner`, not stored yet.
pub(crate) fn notice(
    owner: &str,
    case_id: Option<&str>,
    department: Option<&str>,
    now: Timestamp,
    doc: Notice,
) -> Record<Notice> {
    Record::new(new_id(), "unread", now, doc).case(case_id).owner(Some(owner)).department(department)
}

/// The writes of records and their states for the event that writes them.
pub(crate) fn record_writes(
    rows: Vec<Result<RecordWrite, String>>,
) -> Result<(Vec<RecordWrite>, Vec<RecordState>), String> {
    let writes = rows.into_iter().collect::<Result<Vec<_>, _>>()?;
    let states = writes.iter().map(|w| RecordState::of(&w.row)).collect();
    Ok((writes, states))
}

impl Service {
    /// The watches of a case's clocks after a change that differ from what is stored (`stored`, as read with
    /// the case), replacing it: a use case recomputing its clocks wins over a concurrent sweep, which skips.
    pub(crate) fn watch_writes(
        &self,
        case: &Case,
        stored: &[WatchRow],
        now: Timestamp,
    ) -> Result<Vec<WatchWrite>, CaseActionError> {
        let mut out = Vec::new();
        for c in clocks(case) {
            let old = stored.iter().find(|w| w.subject == c.subject);
            let row = watch_of(self, &case.id, &c, &case.pauses, now, old.map(|w| w.colour.as_str()))
                .map_err(|e| CaseActionError::Case(e.into()))?;
            let same = old.is_some_and(|w| {
                (&w.case_id, &w.department, &w.colour, w.next_check_at, w.due_at)
                    == (&row.case_id, &row.department, &row.colour, row.next_check_at, row.due_at)
            });
            if !same {
                out.push(WatchWrite { row, expected_version: None });
            }
        }
        Ok(out)
    }

    /// The recorded colours of open tasks, counted by department (supervisors and administrators).
    pub async fn colour_overview(
        &self,
        user: &crate::User,
    ) -> Result<Vec<onething_store::ColourCount>, OversightError> {
        Self::supervisor_view(user)?;
        Ok(self.store.colour_counts("task:").await?)
    }

    /// Red (overdue) tasks, most overdue first, optionally of one department.
    pub async fn red_list(
        &self,
        user: &crate::User,
        department: Option<&str>,
        limit: i64,
    ) -> Result<Vec<WatchRow>, OversightError> {
        Self::supervisor_view(user)?;
        Ok(self.store.watches_by_colour("task:", "red", department, limit).await?)
    }

    pub(crate) fn supervisor_view(user: &crate::User) -> Result<(), OversightError> {
        use crate::Role;
        if user.has(Role::Supervisor) || user.has(Role::Admin) {
            Ok(())
        } else {
            Err(OversightError::Forbidden("only supervisors see the overview"))
        }
    }

    /// One step of the deadline worker as node `node`: claims the watches whose time has come and records
    /// each colour crossing once. Time comes from the service's time source, so tests step it.
    pub async fn sweep(&self, node: &str) -> Result<SweepReport, OversightError> {
        let now = self.now();
        let lease = now
            .checked_add(jiff::SignedDuration::from_secs(self.config.supervision.lease_seconds))
            .map_err(|e| OversightError::Internal(e.to_string()))?;
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
                Err(OversightError::Conflict { .. }) => report.skipped += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// Once a day, the colour mix of open tasks and milestones by department (`colour_snapshot` records, one
    /// per China date), so the dashboard can show trends without replaying the log. Derived data, like an index:
    /// it changes no state, so it carries no event; two nodes writing the same day write the same row, and the
    /// second is refused as a duplicate.
    async fn snapshot_colours(&self, now: Timestamp) -> Result<(), OversightError> {
        let day = now.to_zoned(onething_core::calendar::china_tz()).date().to_string();
        if self.store.record(ColourSnapshot::KIND, &day).await?.is_some() {
            return Ok(());
        }
        let tasks = self.store.colour_counts("task:").await?.into_iter().map(Count::from).collect();
        let milestones = self.store.colour_counts("milestone:").await?.into_iter().map(Count::from).collect();
        let record = Record::new(day.clone(), "taken", now, ColourSnapshot { date: day, tasks, milestones });
        let write = record.write().map_err(OversightError::Internal)?;
        match self.store.commit(Changeset { records: vec![write], ..Changeset::default() }).await {
            Ok(_) | Err(StoreError::Duplicate { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The daily colour mixes of the last `days` snapshots, oldest first (for trend charts).
    pub async fn colour_trend(&self, user: &crate::User, days: i64) -> Result<Vec<ColourSnapshot>, OversightError> {
        Self::supervisor_view(user)?;
        let mut rows = self
            .store
            .records(&RecordFilter { kind: ColourSnapshot::KIND.into(), limit: days, ..RecordFilter::default() })
            .await?;
        rows.reverse();
        rows.into_iter()
            .map(|r| Record::<ColourSnapshot>::from_row(r).map(|r| r.doc).map_err(OversightError::Internal))
            .collect()
    }

    async fn process_watch(&self, w: WatchRow, now: Timestamp) -> Result<Outcome, OversightError> {
        let Some(case_id) = w.case_id.clone() else {
            return self.process_project_watch(w, now).await;
        };
        let bundle = self.store.case_bundle(&case_id).await?.ok_or(OversightError::NotFound("case"))?;
        let case = parse_case(&bundle.case).map_err(OversightError::Internal)?;
        let Some(clock) = clocks(&case).into_iter().find(|c| c.subject == w.subject) else {
            return self.write_quiet(w, None, now).await;
        };
        let fresh = match watch_of(self, &case_id, &clock, &case.pauses, now, None) {
            Ok(fresh) => fresh,
            // The clock cannot tell (no calendar for a date): the watch stays as it is, and the item shows
            // "cannot tell" until the calendar is published; the failure is logged, not swallowed.
            Err(e) => {
                tracing::warn!(subject = %w.subject, error = %e, "a deadline cannot be computed");
                return self.write_quiet(w.clone(), Some(w), now).await;
            }
        };
        let label = format!("{} {}", bundle.case.number, clock.subject);
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
    ) -> Result<Outcome, OversightError> {
        let case_ref = (!case_id.is_empty()).then_some(case_id);
        if fresh.colour == old.colour || fresh.colour == "none" {
            // No crossing. A red watch that comes due again has stayed overdue: interview time.
            if old.colour == "red" && fresh.colour == "red" && old.next_check_at.is_some_and(|t| t <= now) {
                return self.open_interview(old, fresh, case_ref, department, label, "overdue", now).await;
            }
            return self.write_quiet(old, Some(fresh), now).await;
        }
        let who_acts: Vec<String> = match (fresh.colour.as_str(), department) {
            ("blue", Some(d)) => vec![format!("dept:{d}")],
            ("yellow", Some(d)) => vec![format!("dept:{d}"), format!("head:{d}")],
            ("red", Some(d)) => vec![format!("dept:{d}"), format!("head:{d}"), "role:supervisor".into()],
            ("red", None) => vec!["role:supervisor".into(), "role:clerk".into()],
            _ => Vec::new(),
        };
        let detail = Notice {
            kind: NoticeKind::Colour,
            label: label.to_string(),
            subject: Some(fresh.subject.clone()),
            from: Some(old.colour.clone()),
            to: Some(fresh.colour.clone()),
            due_at: fresh.due_at,
            reason: None,
            review: None,
        };
        let mut records = Vec::new();
        for owner in &who_acts {
            records.push(notice(owner, case_ref, department, now, detail.clone()).write());
        }
        let mut escalation = false;
        let mut interview = false;
        if fresh.colour == "red" {
            // A department already escalated within the period goes straight to an interview.
            let repeat = match department {
                Some(d) => self.recent_escalations(d, now).await? > 0,
                None => false,
            };
            let doc = Supervision {
                subject: fresh.subject.clone(),
                what: label.to_string(),
                department: department.map(str::to_string),
                since: fresh.due_at,
                opened_by: "system".into(),
                reason: "overdue".into(),
                notes: Vec::new(),
                outcome: None,
                closed_at: None,
            };
            records.push(
                Record::new(new_id(), "open", now, Escalation(doc)).case(case_ref).department(department).write(),
            );
            escalation = true;
            if repeat {
                interview = true;
                records.push(self.interview_record(case_ref, department, label, &fresh.subject, "repeat", now).write());
                if let Some(d) = department {
                    let n = Notice { kind: NoticeKind::Interview, reason: Some("repeat".into()), ..detail.clone() };
                    records.push(notice(&format!("head:{d}"), case_ref, department, now, n).write());
                }
            }
        }
        let (writes, states) = record_writes(records).map_err(OversightError::Internal)?;
        let event = Event::from(ServiceEvent::ColourChanged {
            subject: fresh.subject.clone(),
            from: old.colour.clone(),
            to: fresh.colour.clone(),
            due_at: fresh.due_at,
            notified: who_acts,
            records: states,
        })
        .to_new(case_ref, "system", now)
        .map_err(OversightError::Internal)?;
        let change = Changeset {
            watches: vec![WatchWrite { row: fresh, expected_version: Some(old.version) }],
            records: writes,
            event: Some(event),
            ..Changeset::default()
        };
        self.commit_watch(change).await?;
        Ok(Outcome::Crossed { escalation, interview })
    }

    fn interview_record(
        &self,
        case_id: Option<&str>,
        department: Option<&str>,
        label: &str,
        subject: &str,
        reason: &str,
        now: Timestamp,
    ) -> Record<Interview> {
        let doc = Supervision {
            subject: subject.to_string(),
            what: label.to_string(),
            department: department.map(str::to_string),
            since: None,
            opened_by: "system".into(),
            reason: reason.to_string(),
            notes: Vec::new(),
            outcome: None,
            closed_at: None,
        };
        Record::new(new_id(), "open", now, Interview(doc)).case(case_id).department(department)
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
    ) -> Result<Outcome, OversightError> {
        // Once interviewed, nothing further to check for this item.
        fresh.next_check_at = None;
        let detail = Notice {
            kind: NoticeKind::Interview,
            label: label.to_string(),
            subject: Some(fresh.subject.clone()),
            from: None,
            to: None,
            due_at: fresh.due_at,
            reason: Some(reason.to_string()),
            review: None,
        };
        let mut records = vec![self.interview_record(case_id, department, label, &fresh.subject, reason, now).write()];
        if let Some(d) = department {
            records.push(notice(&format!("head:{d}"), case_id, department, now, detail.clone()).write());
        }
        records.push(notice("role:supervisor", case_id, department, now, detail).write());
        let (writes, states) = record_writes(records).map_err(OversightError::Internal)?;
        let event = Event::from(ServiceEvent::InterviewOpened {
            subject: fresh.subject.clone(),
            department: department.map(str::to_string),
            reason: reason.to_string(),
            records: states,
        })
        .to_new(case_id, "system", now)
        .map_err(OversightError::Internal)?;
        let change = Changeset {
            watches: vec![WatchWrite { row: fresh, expected_version: Some(old.version) }],
            records: writes,
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
    ) -> Result<Outcome, OversightError> {
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

    async fn commit_watch(&self, change: Changeset) -> Result<(), OversightError> {
        match self.store.commit(change).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict { .. }) => Err(OversightError::Conflict { what: "watch" }),
            Err(e) => Err(e.into()),
        }
    }

    async fn recent_escalations(&self, department: &str, now: Timestamp) -> Result<i64, OversightError> {
        let days = self.config.supervision.repeat_within_days;
        let since = self.working_days_before(now, days);
        let filter = RecordFilter {
            kind: Escalation::KIND.into(),
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
        let clock = self.clock();
        let mut date = now.to_zoned(tz.clone()).date();
        let mut left = days;
        let mut guard = 0;
        while left > 0 && guard < 4000 {
            guard += 1;
            let Ok(prev) = date.yesterday() else { break };
            date = prev;
            if clock.calendar().is_working_day(date).unwrap_or(true) {
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
