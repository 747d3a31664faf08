//! Read-only views for the web pages: web sessions (a bearer token in a cookie, with a shorter life and a
//! sign-out), the lists of cases a role may see (limited, newest or oldest first, one indexed query), a
//! department's queue of open tasks by urgency, and the supervisor's overview — open tasks by department ×
//! colour and the red and yellow list with how late each is, in working time.
//!
//! The overview counts every open task without loading every case: a ready task's row holds its start, limit
//! and deadline, and the deadline already includes the working time the case spent paused (corrections
//! resolved since the task became ready), so the task's colour is computed from its own row with one
//! equivalent pause. Only the cases paused right now (returned by a department) are read in full.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{LazyLock, Mutex};

use jiff::{SignedDuration, Timestamp};
use onething_core::calendar::Pause;
use onething_core::case::{Task, TaskState};
use onething_core::colour::{Colour, colour};
use onething_core::duration::WorkingDuration;
use onething_store::{CaseFilter, CaseRow, Changeset, NewEvent, TaskFilter, TaskRow};
use sha2::{Digest, Sha256};

use crate::auth::{Role, User};
use crate::cases::CaseDoc;
use crate::{Service, ServiceError, new_id};

/// Web sessions revoked on this node (token hash → when the token would have expired). The store has no way
/// to delete a token yet, so sign-out is remembered here until the token's own expiry; on other nodes the
/// session ends with its (short) web lifetime.
static REVOKED: LazyLock<Mutex<HashMap<String, Timestamp>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn token_hash(token: &str) -> String {
    onething_store::hex(&Sha256::digest(token.as_bytes()))
}

/// A case as a list shows it.
#[derive(Debug, Clone)]
pub struct CaseSummary {
    pub row: CaseRow,
    pub doc: CaseDoc,
    pub colour: Option<Colour>,
    /// The colour of each task, in the order of `doc.case.tasks`.
    pub task_colours: Vec<Option<Colour>>,
}

/// Which cases a list shows.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    pub state: Option<String>,
    pub oldest_first: bool,
    pub limit: i64,
}

/// An open task (ready or returned) with its colour and the working time left or past its deadline.
#[derive(Debug, Clone)]
pub struct OpenTask {
    pub row: TaskRow,
    pub task: Task,
    /// The item's name (事项名称) in the current catalogue.
    pub item_name: String,
    pub item_name_en: String,
    pub colour: Option<Colour>,
    /// Working minutes past the deadline (red), or `None`.
    pub late_minutes: Option<u64>,
    /// Working minutes left before the deadline (not red), or `None`.
    pub left_minutes: Option<u64>,
    /// The case's number and applicant, when the list reads them (queues and alerts).
    pub case_number: String,
    pub applicant: String,
    /// True while the case waits for a correction (clock stopped).
    pub paused: bool,
}

/// The supervisor's overview (电子监察).
#[derive(Debug, Clone, Default)]
pub struct Supervision {
    /// Open tasks by department, counted by colour: green, blue, yellow, red, none (clock cannot tell).
    pub counts: BTreeMap<String, [u64; 5]>,
    /// Red and yellow tasks, the latest first (red by lateness, then yellow by time left).
    pub alerts: Vec<OpenTask>,
    /// All open tasks counted.
    pub open_tasks: u64,
}

fn colour_index(c: Option<Colour>) -> usize {
    match c {
        Some(Colour::Green) => 0,
        Some(Colour::Blue) => 1,
        Some(Colour::Yellow) => 2,
        Some(Colour::Red) => 3,
        None => 4,
    }
}

/// Urgency order: red before yellow before blue before green, then the earliest deadline.
fn urgency(a: &OpenTask, b: &OpenTask) -> std::cmp::Ordering {
    b.colour.cmp(&a.colour).then(a.row.due_at.cmp(&b.row.due_at)).then(a.row.id.cmp(&b.row.id))
}

impl Service {
    /// The user of a web session: the token must be valid, not signed out on this node, and younger than
    /// `max_age` (web sessions end sooner than API tokens).
    pub async fn authenticate_session(&self, token: &str, max_age: SignedDuration) -> Result<User, ServiceError> {
        let hash = token_hash(token);
        if REVOKED.lock().map(|m| m.contains_key(&hash)).unwrap_or(false) {
            return Err(ServiceError::Unauthenticated);
        }
        let (row, _) = self.store.token(&hash).await?.ok_or(ServiceError::Unauthenticated)?;
        let young = row.created_at.checked_add(max_age).map(|end| end > self.now()).unwrap_or(false);
        if !young {
            return Err(ServiceError::Unauthenticated);
        }
        self.authenticate(token).await
    }

    /// Signs a web session out: the token stops working on this node at once (on every node when its web
    /// lifetime ends), and a `session_revoked` event records it.
    pub async fn logout(&self, token: &str) -> Result<(), ServiceError> {
        let hash = token_hash(token);
        let Some((row, user)) = self.store.token(&hash).await? else { return Ok(()) };
        let now = self.now();
        if let Ok(mut m) = REVOKED.lock() {
            m.retain(|_, expires| *expires > now);
            m.insert(hash, row.expires_at);
        }
        let event = NewEvent {
            id: new_id(),
            case_id: None,
            kind: "session_revoked".into(),
            actor: user.id.clone(),
            at: now,
            payload: serde_json::json!({ "username": user.username }).to_string(),
        };
        self.store.commit(Changeset { event: Some(event), ..Changeset::default() }).await?;
        Ok(())
    }

    fn summary(&self, row: CaseRow, now: Timestamp) -> Result<CaseSummary, ServiceError> {
        let doc: CaseDoc = serde_json::from_value(row.doc.clone())
            .map_err(|e| ServiceError::Internal(format!("case {} doc: {e}", row.id)))?;
        let t = &self.config.thresholds;
        let colour = doc.case.colour(&self.clock, now, t);
        let task_colours = doc.case.tasks.iter().map(|k| k.colour(&doc.case.pauses, &self.clock, now, t)).collect();
        Ok(CaseSummary { row, doc, colour, task_colours })
    }

    /// A page of the cases the user may see: applicants their own, clerks, supervisors and administrators all.
    /// One indexed query; at most 500 rows.
    pub async fn case_list(&self, user: &User, q: CaseQuery) -> Result<Vec<CaseSummary>, ServiceError> {
        let mut filter = CaseFilter {
            state: q.state,
            oldest_first: q.oldest_first,
            limit: q.limit.clamp(1, 500),
            ..CaseFilter::default()
        };
        if !user.reads_all() {
            if user.has(Role::Applicant) {
                filter.owner = Some(user.id.clone());
            } else {
                return Err(ServiceError::Forbidden("officers work tasks, not cases"));
            }
        }
        let now = self.now();
        self.store.cases(&filter).await?.into_iter().map(|r| self.summary(r, now)).collect()
    }

    fn item_names(&self, item: &str) -> (String, String) {
        self.current
            .items
            .get(item)
            .map_or_else(|| (item.to_string(), item.to_string()), |i| (i.name.clone(), i.name_en.clone()))
    }

    /// The open task of a row, its colour from its own row (see the module comment), or from `paused` — the
    /// pauses of its case when the case is paused right now.
    fn open_task(&self, row: TaskRow, paused: Option<&[Pause]>, now: Timestamp) -> Option<OpenTask> {
        use serde::Deserialize;
        let task = Task::deserialize(&row.doc).ok()?;
        let t = &self.config.thresholds;
        let colour = match (paused, task.due_at) {
            (Some(pauses), _) => task.colour(pauses, &self.clock, now, t),
            // Past its deadline (which already counts the pauses): overdue, without walking the clock.
            (None, Some(due)) if now > due && task.ready_at.is_some() => Some(Colour::Red),
            (None, _) => {
                let pauses = self.equivalent_pauses(&task).unwrap_or_default();
                task.colour(&pauses, &self.clock, now, t)
            }
        };
        // While the case is paused, its clocks stand at the pause's start.
        let at = paused.and_then(|p| p.iter().find(|x| x.to.is_none()).map(|x| x.from)).unwrap_or(now);
        let (late, left) = match (colour, task.due_at) {
            (Some(Colour::Red), Some(d)) => (self.clock.between(d, at).ok(), None),
            (Some(_), Some(d)) => (None, self.clock.between(at, d).ok()),
            _ => (None, None),
        };
        let (item_name, item_name_en) = self.item_names(&task.item);
        Some(OpenTask {
            row,
            task,
            item_name,
            item_name_en,
            colour,
            late_minutes: late,
            left_minutes: left,
            case_number: String::new(),
            applicant: String::new(),
            paused: paused.is_some(),
        })
    }

    /// The colour of an open task from the few fields of its row that decide it (no full read of the task):
    /// its start, limit and deadline; with the case's pauses when the case is paused right now.
    fn light_colour(&self, doc: &serde_json::Value, paused: Option<&[Pause]>, now: Timestamp) -> Option<Colour> {
        use serde::Deserialize;
        let ts = |k: &str| doc.get(k).and_then(|v| v.as_str()).and_then(|v| v.parse::<Timestamp>().ok());
        let start = ts("ready_at")?;
        let due = ts("due_at");
        let limit = WorkingDuration::deserialize(doc.get("limit")?).ok()?;
        let t = &self.config.thresholds;
        match (paused, due) {
            (Some(pauses), _) => colour(&self.clock, start, limit, pauses, now, t).ok(),
            (None, Some(due)) if now > due => Some(Colour::Red),
            (None, due) => {
                let pauses = self.pauses_equivalent(start, limit, due).unwrap_or_default();
                colour(&self.clock, start, limit, &pauses, now, t).ok()
            }
        }
    }

    /// One closed pause right after the task's start, as long as the working time its deadline was moved by.
    fn equivalent_pauses(&self, task: &Task) -> Option<Vec<Pause>> {
        self.pauses_equivalent(task.ready_at?, task.limit, task.due_at)
    }

    fn pauses_equivalent(
        &self,
        start: Timestamp,
        limit: WorkingDuration,
        due: Option<Timestamp>,
    ) -> Option<Vec<Pause>> {
        let due = due?;
        let plain = self.clock.add(start, limit).ok()?;
        let paused = self.clock.between(plain, due).ok()?;
        if paused == 0 {
            return Some(Vec::new());
        }
        let from = start;
        let to = self.clock.add(start, WorkingDuration::Minutes(paused)).ok()?;
        Some(vec![Pause { from, to: Some(to) }])
    }

    /// The pauses of the cases paused right now: a case is paused exactly while one of its tasks is returned
    /// (a department's correction), so only those few cases are read.
    async fn paused_cases(&self, returned: &[TaskRow]) -> Result<HashMap<String, Vec<Pause>>, ServiceError> {
        let mut out = HashMap::new();
        for r in returned {
            if out.contains_key(&r.case_id) {
                continue;
            }
            if let Some(row) = self.store.case(&r.case_id).await?
                && let Ok(doc) = serde_json::from_value::<CaseDoc>(row.doc)
                && doc.case.is_paused()
            {
                out.insert(r.case_id.clone(), doc.case.pauses);
            }
        }
        Ok(out)
    }

    async fn fill_case(&self, t: &mut OpenTask) -> Result<(), ServiceError> {
        if let Some(row) = self.store.case(&t.row.case_id).await? {
            t.case_number = row.number.clone();
            t.applicant = row.doc.pointer("/case/applicant/name").and_then(|v| v.as_str()).unwrap_or("").to_string();
        }
        Ok(())
    }

    /// The open tasks (ready or returned) of the officer's department, the most urgent first, at most `limit`.
    pub async fn department_queue(&self, user: &User, limit: i64) -> Result<Vec<OpenTask>, ServiceError> {
        let department = match user.department.as_deref() {
            Some(d) if user.has(Role::Officer) => d.to_string(),
            _ => return Err(ServiceError::Forbidden("only a department officer works tasks")),
        };
        let limit = limit.clamp(1, 500);
        let now = self.now();
        let filter = |state: TaskState| TaskFilter {
            department: Some(department.clone()),
            state: Some(state.as_str().into()),
            case_id: None,
            limit,
        };
        let returned = self.store.tasks(&filter(TaskState::Returned)).await?;
        let paused = self.paused_cases(&returned).await?;
        let mut rows = self.store.tasks(&filter(TaskState::Ready)).await?;
        rows.extend(returned);
        let mut out: Vec<OpenTask> = rows
            .into_iter()
            .filter_map(|r| {
                let p = paused.get(&r.case_id).map(Vec::as_slice);
                self.open_task(r, p, now)
            })
            .collect();
        out.sort_by(urgency);
        out.truncate(usize::try_from(limit).unwrap_or(50));
        for t in &mut out {
            self.fill_case(t).await?;
        }
        Ok(out)
    }

    /// The supervisor's overview: every open task by department × colour, and the red and yellow ones (at most
    /// `alert_limit`, the latest first) with their case.
    pub async fn supervision(&self, user: &User, alert_limit: usize) -> Result<Supervision, ServiceError> {
        if !(user.has(Role::Supervisor) || user.has(Role::Admin)) {
            return Err(ServiceError::Forbidden("only supervisors see the overview"));
        }
        let now = self.now();
        let filter = |state: TaskState| TaskFilter {
            state: Some(state.as_str().into()),
            limit: 1_000_000,
            ..TaskFilter::default()
        };
        let returned = self.store.tasks(&filter(TaskState::Returned)).await?;
        let paused = self.paused_cases(&returned).await?;
        let mut out = Supervision::default();
        let mut alerts = Vec::new();
        let mut candidates = Vec::new();
        let mut seen = HashSet::new();
        let ready = self.store.tasks(&filter(TaskState::Ready)).await?;
        for batch in [ready, returned] {
            for r in batch {
                if !seen.insert(r.id.clone()) {
                    continue;
                }
                let p = paused.get(&r.case_id).map(Vec::as_slice);
                let c = self.light_colour(&r.doc, p, now);
                out.open_tasks += 1;
                out.counts.entry(r.department.clone()).or_insert([0; 5])[colour_index(c)] += 1;
                if matches!(c, Some(Colour::Red | Colour::Yellow)) {
                    candidates.push((c, r.due_at, r));
                }
            }
        }
        // Red ones the latest first (the earliest deadline is the latest), then yellow ones by deadline; only
        // those shown are read in full.
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.id.cmp(&b.2.id)));
        candidates.truncate(alert_limit);
        for (_, _, r) in candidates {
            let p = paused.get(&r.case_id).map(Vec::as_slice);
            if let Some(t) = self.open_task(r, p, now) {
                alerts.push(t);
            }
        }
        alerts.truncate(alert_limit);
        for t in &mut alerts {
            self.fill_case(t).await?;
        }
        out.alerts = alerts;
        Ok(out)
    }
}
