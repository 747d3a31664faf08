//! Upgrade projects (技改项目): an enterprise's long-running project with milestones from a catalogue template,
//! each with a deadline in working days from the project's start and an owner department, under the same
//! colours, escalations and assessment as cases. Projects arrive by CSV import (bad rows rejected with their
//! line numbers, good rows kept) or, in demo mode, as a generated set of 699 with plausible progress.

use jiff::Timestamp;
use jiff::civil::Date;
use onething_core::calendar::china_tz;
use onething_core::codes::CreditCode;
use onething_core::colour;
use onething_core::duration::WorkingDuration;
use onething_store::{Changeset, RecordFilter, StoreError, WatchRow, WatchWrite};
use serde::{Deserialize, Serialize};

use crate::auth::{Role, User};
use crate::errors::{BadInput, ErrorCode, OversightError};
use crate::events::{Event, RecordState, ServiceEvent};
use crate::records::{Record, RecordDoc};
use crate::supervision::{Outcome, interview_delay};
use crate::{Service, new_id};

/// A milestone of a project (里程碑).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Milestone {
    pub code: String,
    pub name: String,
    pub department: String,
    pub limit: WorkingDuration,
    pub due_at: Option<Timestamp>,
    pub done_at: Option<Timestamp>,
}

/// A project (技改项目).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub enterprise: String,
    pub credit_code: String,
    pub template: String,
    pub start: Timestamp,
    pub milestones: Vec<Milestone>,
}

/// A rejected row of an import.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RowError {
    pub line: usize,
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ImportReport {
    pub imported: usize,
    pub rejected: Vec<RowError>,
}

/// Splits one CSV line (RFC 4180 quoting: `"a, b"`, `""` for a quote).
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if at_start => quoted = true,
            (true, '"') if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (false, ',') => {
                out.push(std::mem::take(&mut cur));
                at_start = true;
                continue;
            }
            (_, c) => cur.push(c),
        }
        at_start = false;
    }
    if quoted {
        return Err("an unclosed quote".into());
    }
    out.push(cur);
    Ok(out.into_iter().map(|f| f.trim().to_string()).collect())
}

/// The start of a working day at a date, 09:00 China time.
fn morning(date: Date) -> Result<Timestamp, String> {
    date.at(9, 0, 0, 0).to_zoned(china_tz()).map(|z| z.timestamp()).map_err(|e| e.to_string())
}

impl Service {
    fn milestone_subject(project: &str, code: &str) -> String {
        format!("milestone:{project}:{code}")
    }

    /// The watch of a milestone at `now` (colour `none` once done or when the clock cannot tell).
    fn milestone_watch(&self, p: &Project, m: &Milestone, now: Timestamp, recorded: Option<&str>) -> WatchRow {
        let mut row = WatchRow {
            subject: Self::milestone_subject(&p.id, &m.code),
            case_id: None,
            department: Some(m.department.clone()),
            colour: "none".into(),
            next_check_at: None,
            due_at: m.due_at,
            version: 0,
            lease_owner: None,
            lease_until: None,
        };
        if m.done_at.is_some() {
            return row;
        }
        let t = &self.config.thresholds;
        let clock = self.clock();
        let Ok(now_colour) = colour::colour(&clock, p.start, m.limit, &[], now, t) else { return row };
        row.colour = recorded.filter(|r| *r != "none").unwrap_or(now_colour.as_str()).to_string();
        row.next_check_at = if recorded.is_some_and(|r| r != "none" && r != now_colour.as_str()) {
            Some(now)
        } else if now_colour == colour::Colour::Red {
            m.due_at.and_then(|due| clock.add(due, interview_delay(&clock, &self.config.supervision)).ok())
        } else {
            colour::next_change(&clock, p.start, m.limit, &[], now, t).ok().flatten()
        };
        row
    }

    fn project_record(p: &Project, created: Timestamp, now: Timestamp, version: i64) -> Record<Project> {
        let done = p.milestones.iter().all(|m| m.done_at.is_some());
        let mut r = Record::new(p.id.clone(), if done { "done" } else { "open" }, created, p.clone());
        r.updated_at = now;
        r.version = version;
        r
    }

    /// Parses and checks one CSV row into a project.
    fn parse_project_row(&self, fields: &[String], header: &[String]) -> Result<Project, String> {
        let get = |name: &str| {
            header.iter().position(|h| h == name).and_then(|i| fields.get(i)).map(String::as_str).unwrap_or("")
        };
        let name = get("name");
        if name.is_empty() {
            return Err("name is empty".into());
        }
        let enterprise = get("enterprise");
        if enterprise.is_empty() {
            return Err("enterprise is empty".into());
        }
        let credit_code = CreditCode::parse(get("credit_code")).map_err(|e| format!("credit_code: {e}"))?;
        let template_code = get("template");
        let catalog = self.catalog();
        let template = catalog
            .project_templates
            .get(template_code)
            .ok_or_else(|| format!("template {template_code:?} is not in the catalogue"))?;
        let start_date: Date = get("start_date")
            .parse()
            .map_err(|_| format!("start_date {:?} is not a date (YYYY-MM-DD)", get("start_date")))?;
        let start = morning(start_date)?;
        let mut milestones = Vec::new();
        for def in &template.milestones {
            // 一企一策: a column `limit:<milestone>` overrides the template's limit for this project.
            let limit = match get(&format!("limit:{}", def.code)) {
                "" => def.limit,
                s => s.parse::<WorkingDuration>().map_err(|e| format!("limit:{}: {e}", def.code))?,
            };
            let due_at = self.clock().add(start, limit).map_err(|e| format!("milestone {}: {e}", def.code))?;
            milestones.push(Milestone {
                code: def.code.clone(),
                name: def.name.clone(),
                department: def.department.clone(),
                limit,
                due_at: Some(due_at),
                done_at: None,
            });
        }
        // Completed milestones: `code@YYYY-MM-DD` separated by ';'.
        for part in get("completed").split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (code, date) =
                part.split_once('@').ok_or_else(|| format!("completed {part:?}: write code@YYYY-MM-DD"))?;
            let m = milestones
                .iter_mut()
                .find(|m| m.code == code.trim())
                .ok_or_else(|| format!("completed {part:?}: no milestone {code:?} in template {template_code}"))?;
            let d: Date = date.trim().parse().map_err(|_| format!("completed {part:?}: bad date"))?;
            if d < start_date {
                return Err(format!("completed {part:?}: before the start date"));
            }
            m.done_at = Some(morning(d)?);
        }
        Ok(Project {
            id: new_id(),
            name: name.to_string(),
            enterprise: enterprise.to_string(),
            credit_code: credit_code.as_str().to_string(),
            template: template_code.to_string(),
            start,
            milestones,
        })
    }

    /// Imports projects from CSV text with a header line (`name,enterprise,credit_code,template,start_date,
    /// completed` and optional `limit:<milestone>` columns). Each good row is stored with its event; each bad row
    /// is reported with its line number and changes nothing.
    pub async fn import_projects(&self, user: &User, csv: &str) -> Result<ImportReport, OversightError> {
        if !(user.has(Role::Supervisor) || user.has(Role::Admin)) {
            return Err(OversightError::Forbidden("only supervisors and administrators import projects"));
        }
        let mut lines = csv.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
        let Some((_, head)) = lines.next() else {
            return Err(BadInput::new(ErrorCode::Required, "body", "the CSV is empty: it needs a header line").into());
        };
        let header = csv_fields(head.trim_start_matches('\u{feff}'))
            .map_err(|e| BadInput::new(ErrorCode::BadCsv, "header", e))?;
        for required in ["name", "enterprise", "credit_code", "template", "start_date"] {
            if !header.iter().any(|h| h == required) {
                return Err(BadInput::new(
                    ErrorCode::BadCsv,
                    "header",
                    format!("the header lacks the column {required:?}"),
                )
                .into());
            }
        }
        let mut report = ImportReport::default();
        for (i, line) in lines {
            let parsed = csv_fields(line).and_then(|fields| self.parse_project_row(&fields, &header));
            match parsed {
                Ok(p) => {
                    self.store_project(user, &p, "import").await?;
                    report.imported += 1;
                }
                Err(message) => report.rejected.push(RowError { line: i + 1, message }),
            }
        }
        Ok(report)
    }

    async fn store_project(&self, user: &User, p: &Project, source: &str) -> Result<(), OversightError> {
        let now = self.now();
        let watches = p
            .milestones
            .iter()
            .map(|m| WatchWrite { row: self.milestone_watch(p, m, now, None), expected_version: None })
            .collect();
        let write = Self::project_record(p, now, now, 0).write().map_err(OversightError::Internal)?;
        let event = Event::from(ServiceEvent::ProjectAdded {
            project: p.id.clone(),
            name: p.name.clone(),
            source: source.to_string(),
            records: vec![RecordState::of(&write.row)],
        })
        .to_new(None, &user.id, now)
        .map_err(OversightError::Internal)?;
        let change = Changeset { records: vec![write], watches, event: Some(event), ..Changeset::default() };
        self.store.commit(change).await?;
        Ok(())
    }

    /// Projects, newest first.
    pub async fn list_projects(&self, user: &User, limit: i64) -> Result<Vec<Project>, OversightError> {
        if !(user.has(Role::Supervisor) || user.has(Role::Admin) || user.has(Role::Officer)) {
            return Err(OversightError::Forbidden("projects are for supervisors and departments"));
        }
        let rows =
            self.store.records(&RecordFilter { kind: Project::KIND.into(), limit, ..RecordFilter::default() }).await?;
        rows.into_iter()
            .map(|r| Record::<Project>::from_row(r).map(|r| r.doc).map_err(OversightError::Internal))
            .collect()
    }

    /// Marks a milestone done (by its department or a supervisor), written over the project's version.
    pub async fn complete_milestone(
        &self,
        user: &User,
        project_id: &str,
        code: &str,
    ) -> Result<Project, OversightError> {
        let _serial = self.write_lock(&format!("{}:{project_id}", Project::KIND)).lock().await;
        for attempt in 0..crate::WRITE_ATTEMPTS {
            if attempt > 0 {
                crate::back_off(attempt).await;
            }
            let row = self.store.record(Project::KIND, project_id).await?.ok_or(OversightError::NotFound("project"))?;
            let record = Record::<Project>::from_row(row).map_err(OversightError::Internal)?;
            let mut p = record.doc.clone();
            let now = self.now();
            let m = p.milestones.iter_mut().find(|m| m.code == code).ok_or(OversightError::NotFound("milestone"))?;
            let allowed = user.has(Role::Supervisor)
                || (user.has(Role::Officer) && user.department.as_deref() == Some(m.department.as_str()));
            if !allowed {
                return Err(OversightError::Forbidden("only the milestone's department or a supervisor completes it"));
            }
            if m.done_at.is_some() {
                return Err(OversightError::IllegalTransition {
                    action: "complete the milestone",
                    state: "done".into(),
                });
            }
            m.done_at = Some(now);
            let m = m.clone();
            let watch = self.milestone_watch(&p, &m, now, None);
            let write = Self::project_record(&p, record.created_at, now, record.version)
                .write()
                .map_err(OversightError::Internal)?;
            let event = Event::from(ServiceEvent::MilestoneCompleted {
                project: p.id.clone(),
                milestone: code.to_string(),
                on_time: m.due_at.is_none_or(|d| now <= d),
                records: vec![RecordState::of(&write.row)],
            })
            .to_new(None, &user.id, now)
            .map_err(OversightError::Internal)?;
            let change = Changeset {
                records: vec![write],
                watches: vec![WatchWrite { row: watch, expected_version: None }],
                event: Some(event),
                ..Changeset::default()
            };
            match self.store.commit(change).await {
                Ok(_) => return Ok(p),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(OversightError::Conflict { what: "project" })
    }

    /// The worker's step for a milestone watch.
    pub(crate) async fn process_project_watch(&self, w: WatchRow, now: Timestamp) -> Result<Outcome, OversightError> {
        let mut parts = w.subject.splitn(3, ':');
        let (Some("milestone"), Some(project_id), Some(code)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(OversightError::Internal(format!("unknown watch subject {}", w.subject)));
        };
        let row = self.store.record(Project::KIND, project_id).await?.ok_or(OversightError::NotFound("project"))?;
        let p = Record::<Project>::from_row(row).map_err(OversightError::Internal)?.doc;
        let m = p.milestones.iter().find(|m| m.code == code).ok_or(OversightError::NotFound("milestone"))?;
        let fresh = self.milestone_watch(&p, m, now, None);
        let label = format!("{} · {}", p.name, m.name);
        let department = m.department.clone();
        self.record_crossing(w, fresh, "", Some(&department), &label, now).await
    }

    /// The demo set: `count` projects of the first template with plausible progress — most milestones done on
    /// time, some late, some still open — all inside the calendar the clock knows.
    pub async fn seed_demo_projects(&self, user: &User, count: usize) -> Result<usize, OversightError> {
        let existing =
            self.store.count_records(&RecordFilter { kind: Project::KIND.into(), ..RecordFilter::default() }).await?;
        if existing > 0 {
            return Ok(0);
        }
        let Some(template) = self.catalog().project_templates.values().next().cloned() else { return Ok(0) };
        let clock = self.clock();
        let now = self.now();
        let today = now.to_zoned(china_tz()).date();
        let names = [
            "智能制造产线升级",
            "新能源电池材料扩产",
            "节能环保设备改造",
            "绿色化工工艺提升",
            "高效农业装备研发",
            "新材料中试基地",
        ];
        let towns = ["东昌府", "临清", "茌平", "阳谷", "莘县", "冠县", "东阿", "高唐"];
        let mut seeded = 0;
        for i in 0..count {
            // A deterministic spread: starts from 40 to 240 calendar days ago.
            let back = 40 + (i * 37) % 200;
            let Ok(start_date) = today.checked_sub(jiff::Span::new().days(i64::try_from(back).unwrap_or(40))) else {
                continue;
            };
            let Ok(start) = morning(start_date) else { continue };
            let mut milestones = Vec::new();
            for (k, def) in template.milestones.iter().enumerate() {
                let Ok(due) = clock.add(start, def.limit) else { continue };
                // Progress: earlier milestones are usually done, a few late; every 7th project lags.
                let lagging = i % 7 == 0 && k >= 2;
                let done_at = if due <= now && !lagging && (i + k) % 11 != 0 {
                    let late = (i + k) % 5 == 0;
                    let offset = if late { 2 } else { -1 };
                    clock
                        .add(due, WorkingDuration::days(0))
                        .ok()
                        .and_then(|d| d.checked_add(jiff::SignedDuration::from_hours(24 * offset)).ok())
                        .map(|d| d.min(now))
                } else {
                    None
                };
                milestones.push(Milestone {
                    code: def.code.clone(),
                    name: def.name.clone(),
                    department: def.department.clone(),
                    limit: def.limit,
                    due_at: Some(due),
                    done_at,
                });
            }
            let p = Project {
                id: new_id(),
                name: format!("{}{}项目（{:03}）", towns[i % towns.len()], names[i % names.len()], i + 1),
                enterprise: format!(
                    "聊城{}{}有限公司",
                    towns[(i / 3) % towns.len()],
                    ["机械", "化工", "材料", "电子", "食品"][i % 5]
                ),
                credit_code: "91330100799655058B".into(),
                template: template.code.clone(),
                start,
                milestones,
            };
            self.store_project(user, &p, "demo").await?;
            seeded += 1;
        }
        Ok(seeded)
    }
}

/// A project on the board with the colour of each milestone at read time (`None` once done).
#[derive(Debug, Clone, Serialize)]
pub struct ProjectLine {
    pub project: Project,
    pub colours: Vec<Option<colour::Colour>>,
}

/// One page of the projects board, with the colours of every open milestone counted over all projects.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectBoard {
    pub total: usize,
    /// Open milestones by colour: green, blue, yellow, red, then those whose clock cannot tell.
    pub counts: [u64; 5],
    /// Milestones done.
    pub done: u64,
    pub projects: Vec<ProjectLine>,
}

impl Service {
    /// The projects board (newest first): `limit` projects from `offset`, each milestone's colour computed from
    /// its start and limit at read time, and the counts by colour over all projects. One query; the colours are
    /// arithmetic on the working calendar.
    pub async fn project_board(
        &self,
        user: &User,
        offset: usize,
        limit: usize,
    ) -> Result<ProjectBoard, OversightError> {
        let all = self.list_projects(user, 100_000).await?;
        let now = self.now();
        let clock = self.clock();
        let t = &self.config.thresholds;
        let mut counts = [0u64; 5];
        let mut done = 0u64;
        let mut projects = Vec::new();
        let total = all.len();
        for (i, p) in all.into_iter().enumerate() {
            let colours: Vec<Option<colour::Colour>> = p
                .milestones
                .iter()
                .map(|m| {
                    if m.done_at.is_some() {
                        return None;
                    }
                    colour::colour(&clock, p.start, m.limit, &[], now, t).ok()
                })
                .collect();
            for (m, c) in p.milestones.iter().zip(&colours) {
                match (m.done_at, c) {
                    (Some(_), _) => done += 1,
                    (None, Some(c)) => {
                        let i = match c {
                            colour::Colour::Green => 0,
                            colour::Colour::Blue => 1,
                            colour::Colour::Yellow => 2,
                            colour::Colour::Red => 3,
                        };
                        counts[i] += 1;
                    }
                    (None, None) => counts[4] += 1,
                }
            }
            if i >= offset && projects.len() < limit {
                projects.push(ProjectLine { project: p, colours });
            }
        }
        Ok(ProjectBoard { total, counts, done, projects })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_follow_rfc_4180_quoting() {
        assert_eq!(csv_fields("a, b ,c").unwrap(), ["a", "b", "c"]);
        assert_eq!(csv_fields(r#""a, b","say ""hi""",x"#).unwrap(), ["a, b", r#"say "hi""#, "x"]);
        assert_eq!(csv_fields("").unwrap(), [""]);
        assert!(csv_fields(r#""open"#).is_err());
    }
}
