//! Read-only views for the web pages: web sessions (a bearer token in a cookie, with a shorter life and a
//! sign-out), the lists of cases a role may see (limited, newest or oldest first, one indexed query), a
//! department's queue of open tasks by urgency, and the supervisor's overview — open tasks by department ×
//! colour and the red and yellow list with how late each is, in working time.
//!
//! The overview counts every open task without loading every case: a ready task's row holds its start, limit
//! and deadline, and the deadline already includes the working time the case spent paused (corrections
//! resolved since the task became ready), so the task's colour is computed from its own row with one
//! equivalent pause. Only the cases paused right now (returned by a department) are read in full.

use std::collections::{BTreeMap, HashMap};
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

/// What decides an open task's colour, read once from its row.
#[derive(Debug, Clone)]
struct Light {
    id: String,
    case_id: String,
    department: String,
    returned: bool,
    start: Option<Timestamp>,
    due: Option<Timestamp>,
    limit: Option<WorkingDuration>,
}

impl Light {
    fn of(row: &TaskRow) -> Light {
        use serde::Deserialize;
        let ts = |k: &str| row.doc.get(k).and_then(|v| v.as_str()).and_then(|v| v.parse::<Timestamp>().ok());
        Light {
            id: row.id.clone(),
            case_id: row.case_id.clone(),
            department: row.department.clone(),
            returned: row.state == TaskState::Returned.as_str(),
            start: ts("ready_at"),
            due: row.due_at,
            limit: row.doc.get("limit").and_then(|v| WorkingDuration::deserialize(v).ok()),
        }
    }

    fn is_open(row: &TaskRow) -> bool {
        row.state == TaskState::Ready.as_str() || row.state == TaskState::Returned.as_str()
    }
}

/// The open tasks of a store (ready or returned), kept up to date from the event log: every change of a task
/// commits with an event of its case, so after the events since the last look only those cases' tasks are read
/// again. The whole set is read only the first time, after a large gap, or when the log is not the one indexed
/// (its event at the indexed position has another hash).
#[derive(Debug, Default)]
struct OpenIndex {
    seq: i64,
    hash: String,
    tasks: HashMap<String, Light>,
    by_case: HashMap<String, Vec<String>>,
}

impl OpenIndex {
    fn put_case(&mut self, case_id: &str, rows: &[TaskRow]) {
        for id in self.by_case.remove(case_id).unwrap_or_default() {
            self.tasks.remove(&id);
        }
        let open: Vec<Light> = rows.iter().filter(|r| Light::is_open(r)).map(Light::of).collect();
        if !open.is_empty() {
            self.by_case.insert(case_id.to_string(), open.iter().map(|l| l.id.clone()).collect());
        }
        for l in open {
            self.tasks.insert(l.id.clone(), l);
        }
    }
}

/// One index per store (by the store's address; the event hash check catches a reused address).
type Indexes = HashMap<usize, std::sync::Arc<tokio::sync::Mutex<OpenIndex>>>;
static INDEXES: LazyLock<Mutex<Indexes>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The most events applied incrementally; a larger gap reads every open task again.
const MAX_EVENTS: i64 = 20_000;

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

    /// The colour of an open task from what decides it: its start, limit and deadline; with the case's pauses
    /// when the case is paused right now.
    fn light_colour(&self, l: &Light, paused: Option<&[Pause]>, now: Timestamp) -> Option<Colour> {
        let (start, limit) = (l.start?, l.limit?);
        let t = &self.config.thresholds;
        match (paused, l.due) {
            (Some(pauses), _) => colour(&self.clock, start, limit, pauses, now, t).ok(),
            (None, Some(due)) if now > due => Some(Colour::Red),
            (None, due) => {
                let pauses = self.pauses_equivalent(start, limit, due).unwrap_or_default();
                colour(&self.clock, start, limit, &pauses, now, t).ok()
            }
        }
    }

    /// The open-task index of this store, brought up to date.
    async fn open_index(&self) -> Result<std::sync::Arc<tokio::sync::Mutex<OpenIndex>>, ServiceError> {
        let key = std::sync::Arc::as_ptr(&self.store) as *const () as usize;
        let index = match INDEXES.lock() {
            Ok(mut m) => m.entry(key).or_default().clone(),
            Err(_) => return Err(ServiceError::Internal("the open-task index is poisoned".into())),
        };
        {
            let mut ix = index.lock().await;
            let (head_seq, head_hash) = self.store.chain_head().await?;
            if ix.seq == head_seq && ix.hash == head_hash && head_seq > 0 {
                drop(ix);
                return Ok(index);
            }
            let same_log = ix.seq > 0
                && ix.seq <= head_seq
                && head_seq - ix.seq <= MAX_EVENTS
                && self.store.events_after(ix.seq - 1, 1).await?.first().is_some_and(|e| e.hash == ix.hash);
            if same_log {
                let mut cases = std::collections::BTreeSet::new();
                let mut after = ix.seq;
                while after < head_seq {
                    let page = self.store.events_after(after, 5_000).await?;
                    let Some(last) = page.last() else { break };
                    after = last.seq;
                    cases.extend(page.into_iter().filter_map(|e| e.case_id));
                }
                for case_id in cases {
                    let rows = self
                        .store
                        .tasks(&TaskFilter { case_id: Some(case_id.clone()), limit: 1_000, ..TaskFilter::default() })
                        .await?;
                    ix.put_case(&case_id, &rows);
                }
            } else {
                let mut fresh = OpenIndex::default();
                let mut by_case: HashMap<String, Vec<TaskRow>> = HashMap::new();
                for state in [TaskState::Ready, TaskState::Returned] {
                    let f =
                        TaskFilter { state: Some(state.as_str().into()), limit: 10_000_000, ..TaskFilter::default() };
                    for r in self.store.tasks(&f).await? {
                        by_case.entry(r.case_id.clone()).or_default().push(r);
                    }
                }
                for (case_id, rows) in by_case {
                    fresh.put_case(&case_id, &rows);
                }
                *ix = fresh;
            }
            ix.seq = head_seq;
            ix.hash = head_hash;
        }
        Ok(index)
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
    /// `alert_limit`, the latest first) with their case. The open tasks come from an index kept up to date from
    /// the event log (see [`OpenIndex`]); their colours are computed at every call, for now.
    pub async fn supervision(&self, user: &User, alert_limit: usize) -> Result<Supervision, ServiceError> {
        if !(user.has(Role::Supervisor) || user.has(Role::Admin)) {
            return Err(ServiceError::Forbidden("only supervisors see the overview"));
        }
        let now = self.now();
        let index = self.open_index().await?;
        let ix = index.lock().await;
        // A case is paused exactly while one of its tasks is returned: read those few cases for their pauses.
        let mut paused: HashMap<String, Vec<Pause>> = HashMap::new();
        for l in ix.tasks.values().filter(|l| l.returned) {
            if paused.contains_key(&l.case_id) {
                continue;
            }
            if let Some(row) = self.store.case(&l.case_id).await?
                && let Ok(doc) = serde_json::from_value::<CaseDoc>(row.doc)
                && doc.case.is_paused()
            {
                paused.insert(l.case_id.clone(), doc.case.pauses);
            }
        }
        let mut out = Supervision::default();
        let mut candidates = Vec::new();
        for l in ix.tasks.values() {
            let p = paused.get(&l.case_id).map(Vec::as_slice);
            let c = self.light_colour(l, p, now);
            out.open_tasks += 1;
            out.counts.entry(l.department.clone()).or_insert([0; 5])[colour_index(c)] += 1;
            if matches!(c, Some(Colour::Red | Colour::Yellow)) {
                candidates.push((c, l.due, l.id.clone()));
            }
        }
        drop(ix);
        let mut alerts = Vec::new();
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        candidates.truncate(alert_limit);
        for (_, _, id) in candidates {
            let Some(r) = self.store.task(&id).await? else { continue };
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
