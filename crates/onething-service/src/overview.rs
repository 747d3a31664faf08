//! Read-only views for the pages: the lists of cases a role may see (limited, newest or oldest first, one
//! indexed query), a department's queue of open tasks by urgency, and the supervisor's overview — open tasks by
//! department × colour and the red and yellow list with how late each is, in working time.
//!
//! One source of truth for colours: a deadline's colour is `onething_core::colour::colour` of its clock, and the
//! overview counts the colours the deadline worker recorded on the watches (each crossing is recorded once, at
//! the instant it happens), so the counts, the red list and the trend all read the same rows.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use onething_core::case::{Case, Task, TaskState};
use onething_core::colour::Colour;
use onething_store::{CaseFilter, CaseRow, TaskFilter, TaskRow, WatchRow};

use crate::Service;
use crate::auth::{Role, User};
use crate::cases::parse_case;
use crate::errors::ReadError;

/// A case as a list shows it.
#[derive(Debug, Clone)]
pub struct CaseSummary {
    pub row: CaseRow,
    pub case: Case,
    pub colour: Option<Colour>,
    /// The colour of each task, in the order of `case.tasks`.
    pub task_colours: Vec<Option<Colour>>,
}

/// Which cases a list shows.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    pub state: Option<String>,
    /// A case number, or a part of the applicant's name or code.
    pub search: Option<String>,
    pub oldest_first: bool,
    pub limit: i64,
}

/// An open task (ready, returned, or waiting for another) with its colour and the working time left or past
/// its deadline.
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
    pub case_number: String,
    pub applicant: String,
    /// True while the case waits for a correction (clock stopped).
    pub paused: bool,
    /// For a waiting task: the items it waits for that are not approved yet.
    pub waiting_for: Vec<String>,
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

/// A recorded colour by its name.
fn colour_named(name: &str) -> Option<Colour> {
    match name {
        "green" => Some(Colour::Green),
        "blue" => Some(Colour::Blue),
        "yellow" => Some(Colour::Yellow),
        "red" => Some(Colour::Red),
        _ => None,
    }
}

/// Urgency order: red before yellow before blue before green, then the earliest deadline.
fn urgency(a: &OpenTask, b: &OpenTask) -> std::cmp::Ordering {
    b.colour.cmp(&a.colour).then(a.row.due_at.cmp(&b.row.due_at)).then(a.row.id.cmp(&b.row.id))
}

impl Service {
    fn summary(&self, row: CaseRow, now: Timestamp) -> Result<CaseSummary, ReadError> {
        let case = parse_case(&row).map_err(ReadError::Internal)?;
        let t = &self.config.thresholds;
        let clock = self.clock();
        let colour = case.colour(&clock, now, t);
        let task_colours = case.tasks.iter().map(|k| k.colour(&case.pauses, &clock, now, t)).collect();
        Ok(CaseSummary { row, case, colour, task_colours })
    }

    /// A page of the cases the user may see: applicants their own, clerks, supervisors and administrators all.
    /// One indexed query; at most 500 rows.
    pub async fn case_list(&self, user: &User, q: CaseQuery) -> Result<Vec<CaseSummary>, ReadError> {
        let mut filter = CaseFilter {
            state: q.state,
            search: q.search,
            oldest_first: q.oldest_first,
            limit: q.limit.clamp(1, 500),
            ..CaseFilter::default()
        };
        if !user.reads_all() {
            if user.has(Role::Applicant) {
                filter.owner = Some(user.id.clone());
            } else {
                return Err(ReadError::Forbidden("officers work tasks, not cases"));
            }
        }
        let now = self.now();
        self.store.cases(&filter).await?.into_iter().map(|r| self.summary(r, now)).collect()
    }

    fn item_names(&self, item: &str) -> (String, String) {
        self.catalog()
            .items
            .get(item)
            .map_or_else(|| (item.to_string(), item.to_string()), |i| (i.name.clone(), i.name_en.clone()))
    }

    /// An open task of a case, with its colour from the case's own clock.
    fn open_task(&self, row: TaskRow, case_row: &CaseRow, case: &Case, now: Timestamp) -> Option<OpenTask> {
        let task = case.task(&row.id)?.clone();
        let clock = self.clock();
        let colour = task.colour(&case.pauses, &clock, now, &self.config.thresholds);
        // While the case is paused, its clocks stand at the pause's start.
        let paused = case.is_paused();
        let at = case.pauses.iter().find(|p| p.to.is_none()).map_or(now, |p| p.from);
        let (late, left) = match (colour, task.due_at) {
            (Some(Colour::Red), Some(d)) => (clock.between(d, at).ok(), None),
            (Some(_), Some(d)) => (None, clock.between(at, d).ok()),
            _ => (None, None),
        };
        let waiting_for = if task.state == TaskState::Waiting {
            task.needs
                .iter()
                .filter(|n| case.tasks.iter().any(|t| &t.item == *n && t.state != TaskState::Approved))
                .cloned()
                .collect()
        } else {
            Vec::new()
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
            case_number: case_row.number.clone(),
            applicant: case.applicant.name.clone(),
            paused,
            waiting_for,
        })
    }

    /// The cases of some tasks, read in one query.
    async fn cases_of(&self, case_ids: Vec<String>) -> Result<HashMap<String, (CaseRow, Case)>, ReadError> {
        let mut ids = case_ids;
        ids.sort();
        ids.dedup();
        let mut out = HashMap::new();
        for row in self.store.cases_by_ids(&ids).await? {
            let case = parse_case(&row).map_err(ReadError::Internal)?;
            out.insert(row.id.clone(), (row, case));
        }
        Ok(out)
    }

    /// The open tasks (ready, returned, waiting) of the officer's department, the most urgent first, at most
    /// `limit`; waiting tasks last, with what they wait for.
    pub async fn department_queue(&self, user: &User, limit: i64) -> Result<Vec<OpenTask>, ReadError> {
        let department = match user.department.as_deref() {
            Some(d) if user.has(Role::Officer) => d.to_string(),
            _ => return Err(ReadError::Forbidden("only a department officer works tasks")),
        };
        let limit = limit.clamp(1, 500);
        let now = self.now();
        let states = [TaskState::Ready, TaskState::Returned, TaskState::Waiting];
        let rows = self
            .store
            .tasks(&TaskFilter {
                department: Some(department),
                states: states.iter().map(|s| s.as_str().to_string()).collect(),
                case_id: None,
                limit,
            })
            .await?;
        let cases = self.cases_of(rows.iter().map(|r| r.case_id.clone()).collect()).await?;
        let mut out: Vec<OpenTask> = rows
            .into_iter()
            .filter_map(|r| {
                let (case_row, case) = cases.get(&r.case_id)?;
                self.open_task(r, case_row, case, now)
            })
            .collect();
        out.sort_by(|a, b| {
            let waiting = |t: &OpenTask| t.task.state == TaskState::Waiting;
            waiting(a).cmp(&waiting(b)).then_with(|| urgency(a, b))
        });
        Ok(out)
    }

    /// The supervisor's overview: every open task by department × colour as the deadline worker recorded it,
    /// and the red and yellow ones (at most `alert_limit`, the latest first) with their case.
    pub async fn supervision(&self, user: &User, alert_limit: usize) -> Result<Supervision, ReadError> {
        if !(user.has(Role::Supervisor) || user.has(Role::Admin)) {
            return Err(ReadError::Forbidden("only supervisors see the overview"));
        }
        let now = self.now();
        let mut out = Supervision::default();
        for c in self.store.colour_counts("task:").await? {
            let department = c.department.unwrap_or_default();
            let n = u64::try_from(c.count).unwrap_or(0);
            out.counts.entry(department).or_insert([0; 5])[colour_index(colour_named(&c.colour))] += n;
            out.open_tasks += n;
        }
        let limit = i64::try_from(alert_limit).unwrap_or(100);
        let mut watches: Vec<WatchRow> = self.store.watches_by_colour("task:", "red", None, limit).await?;
        watches.extend(self.store.watches_by_colour("task:", "yellow", None, limit).await?);
        watches.truncate(alert_limit);
        let cases = self.cases_of(watches.iter().filter_map(|w| w.case_id.clone()).collect()).await?;
        for w in watches {
            let Some((case_row, case)) = w.case_id.as_ref().and_then(|c| cases.get(c)) else { continue };
            let Some(task_id) = w.subject.strip_prefix("task:") else { continue };
            let Some(task) = case.task(task_id) else { continue };
            let row = TaskRow {
                id: task.id.clone(),
                case_id: case.id.clone(),
                item: task.item.clone(),
                department: task.department.clone(),
                state: task.state.as_str().to_string(),
                due_at: task.due_at,
                updated_at: case_row.updated_at,
                doc: String::new(),
            };
            if let Some(mut t) = self.open_task(row, case_row, case, now) {
                // The list shows the colour recorded, as the counts do.
                t.colour = colour_named(&w.colour);
                out.alerts.push(t);
            }
        }
        Ok(out)
    }
}
