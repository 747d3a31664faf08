//! (c) Supervision at scale: bulk-load cases with a realistic mix — most concluded, about a tenth open with
//! their tasks in every department's queue, coloured, some overdue — through many concurrent commits (so that
//! group commit packs them), then time the supervision queries: open tasks by department × colour, a
//! department's overdue (red) list, and a case's history.
//!
//! The rows are synthetic but shaped like real ones: every case and task carries the document of a concluded
//! lifecycle case from (b) (so rows have a real size), each open task has a watch with its colour and deadline,
//! and the tasks follow each bundle's compiled plan (its departments and dependencies). With `--load-events`
//! each case also gets one `case_imported` event; without (the default), the load is an import of fixtures
//! without history — on PostgreSQL every event is serialised by the chain-head lock, which would make the load
//! itself a measure of that lock (see (a)) and take most of an hour. The history query reads the lifecycle
//! cases of (b), whose histories are real.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use onething_core::plan::PlanTask;
use onething_service::Service;
use onething_store::{CaseRow, CaseWrite, Changeset, NewEvent, Store, TaskRow, WatchRow, WatchWrite};
use serde_json::json;

use super::progress::Progress;
use super::stats::{CpuMark, CpuUse, Latency};

/// A tiny deterministic generator (SplitMix64): the same mix on every run and backend.
struct Mix(u64);

impl Mix {
    fn new(seed: u64) -> Mix {
        Mix(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5851_F42D_4C95_7F2D)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n.
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    /// A duration uniform in [lo, hi) minutes.
    fn minutes(&mut self, lo: i64, hi: i64) -> SignedDuration {
        let span = u64::try_from((hi - lo).max(1)).unwrap_or(1);
        SignedDuration::from_mins(lo + i64::try_from(self.below(span)).unwrap_or(0))
    }
}

/// A bundle's tasks, as its default plan compiles them.
struct BundleShape {
    code: String,
    tasks: Vec<PlanTask>,
}

/// Everything one loaded case needs that does not change per case.
struct Shapes {
    bundles: Vec<BundleShape>,
    catalog_version: String,
    base: Timestamp,
    case_doc: String,
    task_doc: String,
}

/// The colours of open task clocks, with their share (percent): most on track, some late.
const COLOURS: [(&str, u64); 4] = [("green", 55), ("blue", 20), ("yellow", 13), ("red", 12)];

fn pick_colour(mix: &mut Mix) -> &'static str {
    let mut r = mix.below(100);
    for (c, share) in COLOURS {
        if r < share {
            return c;
        }
        r -= share;
    }
    "green"
}

/// A deadline and next check for a colour, relative to now: red is past due, yellow close, others later.
fn deadline(mix: &mut Mix, colour: &str, now: Timestamp) -> (Option<Timestamp>, Option<Timestamp>) {
    let add = |d: SignedDuration| now.checked_add(d).ok();
    match colour {
        "red" => (add(-mix.minutes(10, 20 * 24 * 60)), None),
        "yellow" => {
            let due = add(mix.minutes(10, 120));
            (due, due)
        }
        _ => {
            let due = add(mix.minutes(120, 5 * 24 * 60));
            (due, due.and_then(|d| d.checked_sub(SignedDuration::from_hours(1)).ok()))
        }
    }
}

/// What one loaded case turned out to be.
#[derive(Default)]
struct Loaded {
    open_task_watches: u64,
    red_task_watches: u64,
}

/// The changeset of loaded case `i`. Synthetic on purpose: with the trivial rows of (a), the one deliberate
/// exception to "only the service builds changesets" (see the module documentation of `bench`).
fn case_changeset(shapes: &Shapes, i: u64, with_event: bool) -> (Changeset, Loaded) {
    let mut mix = Mix::new(i);
    let bundle = &shapes.bundles[usize::try_from(mix.below(shapes.bundles.len() as u64)).unwrap_or(0)];
    let created = shapes.base.checked_sub(mix.minutes(60, 365 * 24 * 60)).unwrap_or(shapes.base);
    let updated = created.checked_add(mix.minutes(30, 7 * 24 * 60)).unwrap_or(created).min(shapes.base);
    let roll = mix.below(100);
    // 86 % concluded, 2 % withdrawn, 2 % still draft or submitted, 10 % open with tasks.
    let state = match roll {
        0..86 => "concluded",
        86..88 => "withdrawn",
        88..89 => "draft",
        89..90 => "submitted",
        90..95 => "accepted",
        _ => "in_progress",
    };
    let open = matches!(state, "accepted" | "in_progress");
    let id = uuid::Uuid::now_v7().to_string();
    let mut loaded = Loaded::default();
    let mut change = Changeset::default();
    let mut tasks = Vec::new();
    let mut watches = Vec::new();
    if matches!(state, "concluded" | "accepted" | "in_progress") {
        // How many tasks (in plan order) are decided already: all for a concluded case.
        let decided =
            if open { usize::try_from(mix.below(bundle.tasks.len() as u64)).unwrap_or(0) } else { usize::MAX };
        let approved: BTreeSet<&str> = bundle.tasks.iter().take(decided).map(|t| t.item.as_str()).collect();
        for (n, t) in bundle.tasks.iter().enumerate() {
            let task_id = uuid::Uuid::now_v7().to_string();
            let ready = n >= decided && t.needs.iter().all(|need| approved.contains(need.as_str()));
            let task_state = if n < decided {
                "approved"
            } else if ready {
                "ready"
            } else {
                "waiting"
            };
            let mut due_at = None;
            if ready {
                let colour = pick_colour(&mut mix);
                let (due, next_check) = deadline(&mut mix, colour, shapes.base);
                due_at = due;
                loaded.open_task_watches += 1;
                if colour == "red" {
                    loaded.red_task_watches += 1;
                }
                watches.push(WatchWrite {
                    row: WatchRow {
                        subject: format!("task:{task_id}"),
                        case_id: Some(id.clone()),
                        department: Some(t.department.clone()),
                        colour: colour.to_string(),
                        next_check_at: next_check,
                        due_at: due,
                        version: 0,
                        lease_owner: None,
                        lease_until: None,
                    },
                    expected_version: None,
                });
            }
            tasks.push(TaskRow {
                id: task_id,
                case_id: id.clone(),
                item: t.item.clone(),
                department: t.department.clone(),
                state: task_state.to_string(),
                due_at,
                updated_at: updated,
                doc: shapes.task_doc.clone(),
            });
        }
    }
    let case_due = if open {
        let colour = pick_colour(&mut mix);
        let (due, next_check) = deadline(&mut mix, colour, shapes.base);
        watches.push(WatchWrite {
            row: WatchRow {
                subject: format!("case:{id}"),
                case_id: Some(id.clone()),
                department: None,
                colour: colour.to_string(),
                next_check_at: next_check,
                due_at: due,
                version: 0,
                lease_owner: None,
                lease_until: None,
            },
            expected_version: None,
        });
        due
    } else {
        None
    };
    let row = CaseRow {
        id: id.clone(),
        number: String::new(),
        bundle: bundle.code.clone(),
        catalog_version: shapes.catalog_version.clone(),
        state: state.to_string(),
        owner: Some(format!("applicant-{}", mix.below(50_000))),
        applicant_name: "聊城市鸿运物流有限公司".to_string(),
        applicant_code: Some("91440300708461136T".to_string()),
        due_at: case_due,
        created_at: created,
        updated_at: updated,
        version: 0,
        doc: shapes.case_doc.clone(),
    };
    let prefix = format!("YJS{}", created.to_zoned(onething_core::calendar::china_tz()).strftime("%Y%m%d"));
    change.case = Some(CaseWrite { row, expected_version: None, number_prefix: prefix });
    change.tasks = tasks;
    change.watches = watches;
    if with_event {
        change.event = Some(NewEvent {
            id: uuid::Uuid::now_v7().to_string(),
            case_id: Some(id),
            kind: "case_imported".into(),
            actor: "bench-load".into(),
            at: updated,
            payload: json!({ "bundle": bundle.code, "state": state }).to_string(),
        });
    }
    (change, loaded)
}

/// One timed query: a cold first run, then `runs` warm ones.
pub struct QueryResult {
    pub name: String,
    pub first: Duration,
    pub latency: Latency,
    /// Rows the last run returned.
    pub rows: usize,
}

/// What (c) measured on one backend.
pub struct LoadResult {
    pub loaded: u64,
    pub seconds: f64,
    pub cpu: CpuUse,
    pub clients: usize,
    pub cases_in_store: i64,
    /// The length of the event log when the queries ran.
    pub events_in_store: i64,
    pub open_task_watches: u64,
    pub red_task_watches: u64,
    /// The sum of the open-task colour counts the store reports (should equal `open_task_watches` plus any
    /// open tasks of (b)).
    pub counted_open: i64,
    pub queries: Vec<QueryResult>,
    /// The JSON size of the case and task documents each loaded row carries, in bytes.
    pub case_doc_bytes: usize,
    pub task_doc_bytes: usize,
}

impl LoadResult {
    pub fn per_sec(&self) -> f64 {
        if self.seconds > 0.0 { self.loaded as f64 / self.seconds } else { 0.0 }
    }
}

fn shapes(service: &Service, template: Option<&(CaseRow, Vec<TaskRow>)>, base: Timestamp) -> Shapes {
    let catalog = service.catalog();
    let bundles = catalog
        .bundles
        .keys()
        .filter_map(|code| {
            onething_core::plan::compile(&catalog, code, &BTreeMap::new())
                .ok()
                .map(|p| BundleShape { code: code.clone(), tasks: p.tasks })
        })
        .filter(|b| !b.tasks.is_empty())
        .collect();
    let case_doc = template.map_or_else(|| json!({ "imported": true }).to_string(), |(row, _)| row.doc.clone());
    let task_doc = template.and_then(|(_, tasks)| tasks.first().map(|t| t.doc.clone())).unwrap_or_else(|| "{}".into());
    Shapes { bundles, catalog_version: catalog.version.clone(), base, case_doc, task_doc }
}

async fn time_query<F, Fut>(name: String, runs: usize, mut f: F) -> anyhow::Result<QueryResult>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    let t = Instant::now();
    let mut rows = f(0).await?;
    let first = t.elapsed();
    let mut latency = Latency::new();
    for i in 1..=runs {
        let t = Instant::now();
        rows = f(i).await?;
        latency.record(t.elapsed());
    }
    Ok(QueryResult { name, first, latency, rows })
}

/// Loads `cases` cases with `clients` concurrent committers, then times the supervision queries.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    service: &Arc<Service>,
    store: &Arc<dyn Store>,
    template: Option<&(CaseRow, Vec<TaskRow>)>,
    history_ids: &[String],
    base: Timestamp,
    cases: usize,
    clients: usize,
    with_events: bool,
    progress: &Progress,
    backend: &str,
) -> anyhow::Result<LoadResult> {
    let store = store.clone();
    let shapes = Arc::new(shapes(service, template, base));
    if shapes.bundles.is_empty() {
        anyhow::bail!("the catalogue has no bundle with tasks to load");
    }
    let bar = progress.bar(cases as u64, &format!("{backend} (c) load"));
    let next = Arc::new(AtomicUsize::new(0));
    let open = Arc::new(AtomicU64::new(0));
    let red = Arc::new(AtomicU64::new(0));
    let cpu = CpuMark::now();
    let start = Instant::now();
    let mut joins = Vec::new();
    for _ in 0..clients.max(1) {
        let (store, shapes, next, open, red, bar) =
            (store.clone(), shapes.clone(), next.clone(), open.clone(), red.clone(), bar.clone());
        joins.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= cases {
                    return Ok::<_, anyhow::Error>(());
                }
                let (change, loaded) = case_changeset(&shapes, i as u64, with_events);
                store.commit(change).await.with_context(|| format!("loading case {i}"))?;
                open.fetch_add(loaded.open_task_watches, Ordering::Relaxed);
                red.fetch_add(loaded.red_task_watches, Ordering::Relaxed);
                bar.inc(1);
            }
        }));
    }
    for j in joins {
        j.await.context("a loader failed")??;
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu.since();
    bar.finish_and_clear();
    let cases_in_store = store.count_cases().await?;
    let (events_in_store, _) = store.chain_head().await?;

    let spinner = progress.spinner(&format!("{backend} (c) queries"));
    let mut queries = Vec::new();
    spinner.set_message("open tasks by department × colour");
    let s = store.clone();
    let counts = store.colour_counts("task:").await?;
    let counted_open: i64 = counts.iter().map(|c| c.count).sum();
    queries.push(
        time_query("open tasks by department × colour (colour_counts)".into(), 30, |_| {
            let s = s.clone();
            async move { Ok(s.colour_counts("task:").await?.len()) }
        })
        .await?,
    );
    let departments: Vec<String> = {
        let mut d: Vec<String> =
            counts.iter().filter(|c| c.colour == "red").filter_map(|c| c.department.clone()).collect();
        d.sort();
        d.dedup();
        if d.is_empty() { service.catalog().departments.keys().cloned().collect() } else { d }
    };
    spinner.set_message("a department's overdue list");
    let depts = Arc::new(departments);
    queries.push(
        time_query("a department's overdue list, 100 most late (watches_by_colour)".into(), 100, |i| {
            let (s, depts) = (s.clone(), depts.clone());
            async move {
                let d = &depts[i % depts.len().max(1)];
                Ok(s.watches_by_colour("task:", "red", Some(d), 100).await?.len())
            }
        })
        .await?,
    );
    queries.push(
        time_query("all departments' overdue list, 100 most late".into(), 30, |_| {
            let s = s.clone();
            async move { Ok(s.watches_by_colour("task:", "red", None, 100).await?.len()) }
        })
        .await?,
    );
    spinner.set_message("a case's history");
    if !history_ids.is_empty() {
        let ids = Arc::new(history_ids.to_vec());
        queries.push(
            time_query("a case's history (case_events)".into(), 200, |i| {
                let (s, ids) = (s.clone(), ids.clone());
                async move {
                    // Spread over the lifecycle cases: a different case (and index page) each time.
                    let id = &ids[(i.wrapping_mul(7919)) % ids.len()];
                    Ok(s.case_events(id).await?.len())
                }
            })
            .await?,
        );
    }
    spinner.finish_and_clear();
    Ok(LoadResult {
        loaded: cases as u64,
        seconds,
        cpu,
        clients,
        cases_in_store,
        events_in_store,
        open_task_watches: open.load(Ordering::Relaxed),
        red_task_watches: red.load(Ordering::Relaxed),
        counted_open,
        queries,
        case_doc_bytes: shapes.case_doc.len(),
        task_doc_bytes: shapes.task_doc.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_deterministic_and_spread() {
        let a: Vec<u64> = (0..5).map(|i| Mix::new(i).next()).collect();
        let b: Vec<u64> = (0..5).map(|i| Mix::new(i).next()).collect();
        assert_eq!(a, b);
        let mut m = Mix::new(42);
        let mut reds = 0;
        for _ in 0..10_000 {
            if pick_colour(&mut m) == "red" {
                reds += 1;
            }
        }
        assert!((900..1500).contains(&reds), "{reds}");
    }
}
