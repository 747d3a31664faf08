//! The log proves the state: [`audit_state`] replays the event log against the tables. Every case is rebuilt
//! from its own events and compared with its row, its task rows and its material rows; every account's last
//! recorded state with its row; every record an event wrote with its row. A row edited behind the service's
//! back — a role, a case's state, a task's decision, a material's file — no longer matches its log, and the
//! hash chain (checked separately) shows whether the log itself was touched.

use std::collections::{BTreeMap, HashMap};

use onething_core::case::Case;
use onething_store::{Store, StoreError, Table};
use serde::Serialize;

use crate::cases::parse_case;
use crate::events::{Event, PayloadError, RecordState, ServiceEvent, UserState};

/// A row that its log does not rebuild.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// `case`, `task`, `material`, `user`, `record`.
    pub what: String,
    pub id: String,
    pub reason: String,
}

/// What the replay checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    pub cases: u64,
    /// Cases whose history began before events were typed: their rows cannot be checked against it.
    pub legacy_cases: u64,
    pub users: u64,
    pub records: u64,
    pub mismatches: Vec<Mismatch>,
}

impl AuditReport {
    pub fn is_clean(&self) -> bool {
        self.mismatches.is_empty()
    }

    fn mismatch(&mut self, what: &str, id: &str, reason: impl Into<String>) {
        self.mismatches.push(Mismatch { what: what.to_string(), id: id.to_string(), reason: reason.into() });
    }
}

/// The kinds of record whose every write an event carries.
const LOGGED_RECORDS: [&str; 6] = ["escalation", "interview", "notice", "rating", "review", "project"];

/// Replays the whole log against the tables of a store.
pub async fn audit_state(store: &dyn Store) -> Result<AuditReport, StoreError> {
    let mut report = AuditReport::default();
    // One pass over the log: the last state of every account and record.
    let mut users: HashMap<String, UserState> = HashMap::new();
    let mut records: HashMap<(String, String), (RecordState, i64)> = HashMap::new();
    let mut after = 0;
    loop {
        let page = store.events_after(after, 5_000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for row in &page {
            let Ok(Event::Service(event)) = Event::parse(row) else { continue };
            match &event {
                ServiceEvent::UserCreated { user } | ServiceEvent::UserChanged { user, .. } => {
                    users.insert(user.id.clone(), user.clone());
                }
                _ => {}
            }
            for r in event.records() {
                let entry = records.entry((r.kind.clone(), r.id.clone())).or_insert_with(|| (r.clone(), 0));
                entry.0 = r.clone();
                entry.1 += 1;
            }
        }
    }
    check_users(store, &users, &mut report).await?;
    check_records(store, &records, &mut report).await?;
    check_cases(store, &mut report).await?;
    Ok(report)
}

async fn check_users(
    store: &dyn Store,
    logged: &HashMap<String, UserState>,
    report: &mut AuditReport,
) -> Result<(), StoreError> {
    let mut seen = 0;
    let mut after = None;
    loop {
        let page = store.dump(Table::Users, after.clone(), 1_000).await?;
        let Some(last) = page.last() else { break };
        after = Some(Table::Users.cursor(last)?);
        for row in &page {
            let id = row["id"].as_str().unwrap_or_default().to_string();
            let Some(user) = store.user(&id).await? else { continue };
            report.users += 1;
            seen += 1;
            match logged.get(&id) {
                None => report.mismatch("user", &user.username, "no event created this account"),
                Some(state) if *state != UserState::of(&user) => {
                    report.mismatch(
                        "user",
                        &user.username,
                        "the account differs from its last event (roles, department, password or flags)",
                    );
                }
                Some(_) => {}
            }
        }
    }
    if logged.len() > seen {
        for (id, u) in logged {
            if store.user(id).await?.is_none() {
                report.mismatch("user", &u.username, "the log has this account; the table does not");
            }
        }
    }
    Ok(())
}

async fn check_records(
    store: &dyn Store,
    logged: &HashMap<(String, String), (RecordState, i64)>,
    report: &mut AuditReport,
) -> Result<(), StoreError> {
    let mut stored: BTreeMap<(String, String), ()> = BTreeMap::new();
    let mut after = None;
    loop {
        let page = store.dump(Table::Records, after.clone(), 1_000).await?;
        let Some(last) = page.last() else { break };
        after = Some(Table::Records.cursor(last)?);
        for row in &page {
            let kind = row["kind"].as_str().unwrap_or_default().to_string();
            if !LOGGED_RECORDS.contains(&kind.as_str()) {
                continue;
            }
            let id = row["id"].as_str().unwrap_or_default().to_string();
            let Some(r) = store.record(&kind, &id).await? else { continue };
            report.records += 1;
            stored.insert((kind.clone(), id.clone()), ());
            let what = format!("{kind} {id}");
            match logged.get(&(kind.clone(), id.clone())) {
                None => report.mismatch("record", &what, "no event wrote this record"),
                Some((state, writes)) => {
                    if *state != RecordState::of(&r) {
                        report.mismatch("record", &what, "the record differs from the last event that wrote it");
                    } else if *writes != r.version {
                        report.mismatch(
                            "record",
                            &what,
                            format!("written {writes} times by the log, version {}", r.version),
                        );
                    }
                }
            }
        }
    }
    for (kind, id) in logged.keys() {
        if !stored.contains_key(&(kind.clone(), id.clone())) {
            report.mismatch("record", &format!("{kind} {id}"), "the log wrote this record; the table does not have it");
        }
    }
    Ok(())
}

async fn check_cases(store: &dyn Store, report: &mut AuditReport) -> Result<(), StoreError> {
    let mut after = None;
    loop {
        let page = store.dump(Table::Cases, after.clone(), 500).await?;
        let Some(last) = page.last() else { break };
        after = Some(Table::Cases.cursor(last)?);
        for row in &page {
            let id = row["id"].as_str().unwrap_or_default().to_string();
            check_case(store, &id, report).await?;
        }
    }
    Ok(())
}

/// Replays one case's events and compares the result with its rows.
async fn check_case(store: &dyn Store, id: &str, report: &mut AuditReport) -> Result<(), StoreError> {
    let Some(bundle) = store.case_bundle(id).await? else { return Ok(()) };
    report.cases += 1;
    let mut history = Vec::new();
    for row in store.case_events(id).await? {
        match Event::parse(&row) {
            Ok(Event::Case(e)) => history.push((e, row.at)),
            Ok(Event::Service(_)) => {}
            Err(PayloadError::Legacy { .. }) => {
                report.legacy_cases += 1;
                return Ok(());
            }
            Err(e) => {
                report.mismatch("case", &bundle.case.number, e.to_string());
                return Ok(());
            }
        }
    }
    let replayed = match Case::replay(id, &history) {
        Ok(c) => c,
        Err(e) => {
            report.mismatch("case", &bundle.case.number, format!("its events do not replay: {e}"));
            return Ok(());
        }
    };
    let stored = match parse_case(&bundle.case) {
        Ok(c) => c,
        Err(e) => {
            report.mismatch("case", &bundle.case.number, e);
            return Ok(());
        }
    };
    let number = &bundle.case.number;
    if stored != replayed {
        report.mismatch("case", number, "the stored case differs from its replayed events");
    }
    let row = &bundle.case;
    let columns_fit = row.state == replayed.state.as_str()
        && row.due_at == replayed.due_at
        && row.bundle == replayed.bundle
        && row.applicant_name == replayed.applicant.name
        && row.owner.as_ref().is_none_or(|o| *o == replayed.filed_by);
    if !columns_fit {
        report.mismatch(
            "case",
            number,
            "the case row's columns differ from its events (state, deadline, owner, applicant)",
        );
    }
    let tasks = store
        .tasks(&onething_store::TaskFilter { case_id: Some(id.to_string()), limit: 10_000, ..Default::default() })
        .await?;
    if tasks.len() != replayed.tasks.len() {
        report.mismatch(
            "task",
            number,
            format!("{} task rows, {} tasks in the log", tasks.len(), replayed.tasks.len()),
        );
    }
    for t in &tasks {
        let fits = replayed.task(&t.id).is_some_and(|k| {
            t.state == k.state.as_str()
                && t.due_at == k.due_at
                && t.department == k.department
                && serde_json::from_str::<onething_core::case::Task>(&t.doc).is_ok_and(|d| d == *k)
        });
        if !fits {
            report.mismatch("task", &t.id, format!("the task row of case {number} differs from its events"));
        }
    }
    let materials = &bundle.materials;
    let fits = materials.len() == replayed.materials.len()
        && materials.iter().all(|m| {
            replayed.materials.get(&m.material).is_some_and(|u| {
                u.sha256 == m.sha256 && i64::try_from(u.size).is_ok_and(|s| s == m.size) && u.media_type == m.media_type
            })
        });
    if !fits {
        report.mismatch("material", number, "the material rows differ from the uploads in the log");
    }
    Ok(())
}
