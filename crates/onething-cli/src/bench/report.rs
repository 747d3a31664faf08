//! The default run — (a), (b), (c) on each backend, one after the other in this process — and its report:
//! the figures side by side, then each target met or missed.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use super::life::{self, BenchTime, LifeResult};
use super::limit::{self, LimitResult, Rate};
use super::load::{self, LoadResult};
use super::progress::Progress;
use super::stats::{self, Latency, ms, per_sec, thousands};
use super::{Backend, RunArgs};

/// The heading of the CPU rows.
const CPU: &str = "CPU: bench process cores / machine busy / iowait";

/// Everything measured on one backend.
struct BackendRun {
    name: &'static str,
    durability: String,
    limit: Option<LimitResult>,
    life: Option<LifeResult>,
    load: Option<LoadResult>,
    /// Peak RSS of the process during (a), (b) and (c) of this backend, each its own, in MB.
    peak_rss: [Option<f64>; 3],
    /// The RSS when this backend's run started (what earlier runs in this process left allocated), in MB.
    rss_start: Option<f64>,
    error: Option<String>,
}

impl BackendRun {
    fn new(name: &'static str) -> BackendRun {
        BackendRun {
            name,
            durability: String::new(),
            limit: None,
            life: None,
            load: None,
            peak_rss: [None; 3],
            rss_start: None,
            error: None,
        }
    }
}

async fn run_backend(
    backend: &Backend,
    args: &RunArgs,
    catalog: &[onething_core::source::SourceFile],
    progress: &Progress,
    out: &mut BackendRun,
) -> anyhow::Result<()> {
    let name = backend.name();
    let scratch = args.target.scratch(name)?;
    stats::reset_peak_rss();
    out.rss_start = stats::peak_rss_mb();
    progress.note(&format!("{name}: scratch storage under {}", scratch.dir.display()));
    let opened = backend.open(&scratch.dir, args.pg_connections).await?;
    out.durability = opened.durability.clone();
    let outcome = async {
        out.limit = Some(
            limit::run(&opened.store, &scratch.dir, args.limit_clients, args.limit_seconds, progress, name).await?,
        );
        out.peak_rss[0] = stats::peak_rss_mb();
        life::settle().await;
        stats::reset_peak_rss();
        let time = Arc::new(BenchTime::new()?);
        let setup = Arc::new(life::setup(opened.store.clone(), &scratch.dir, catalog.to_vec(), time.clone()).await?);
        let life = life::run(&setup, args.clients, args.lifecycles, progress, name).await?;
        out.peak_rss[1] = stats::peak_rss_mb();
        let life = out.life.insert(life);
        if !args.skip_load {
            life::settle().await;
            stats::reset_peak_rss();
            let loaded = load::run(
                &setup.service,
                &setup.store,
                life.template.as_ref(),
                &life.case_ids,
                time.base(),
                args.load_cases,
                args.limit_clients,
                args.load_events,
                progress,
                name,
            )
            .await?;
            out.load = Some(loaded);
            out.peak_rss[2] = stats::peak_rss_mb();
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    opened.dispose().await;
    drop(scratch);
    outcome
}

/// `onething bench`: (a), (b) and (c) on every backend, then the report.
pub async fn run_all(args: RunArgs) -> anyhow::Result<ExitCode> {
    let backends = args.target.backends()?;
    let catalog = crate::catalog_dir::read(&args.target.catalog)
        .with_context(|| format!("reading the catalogue {}", args.target.catalog.display()))?;
    let progress = Progress::new(args.target.quiet);
    // How busy the machine is before we start: other work on it lowers every figure.
    let before = stats::CpuMark::now();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let idle_before = before.since();
    let started = jiff::Timestamp::now();
    let mut runs = Vec::new();
    for backend in &backends {
        let mut run = BackendRun::new(backend.name());
        if let Err(e) = run_backend(backend, &args, &catalog, &progress, &mut run).await {
            run.error = Some(format!("{e:#}"));
        }
        runs.push(run);
    }
    let elapsed = jiff::Timestamp::now().duration_since(started);
    print!("{}", render(&args, &runs, elapsed, idle_before));
    let failed = runs.iter().any(|r| r.error.is_some() || r.life.as_ref().is_some_and(|l| l.errors > 0));
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// A table: a label column and one column per backend.
struct Table {
    names: Vec<&'static str>,
    rows: Vec<(String, Vec<String>)>,
}

impl Table {
    fn new(runs: &[BackendRun]) -> Table {
        Table { names: runs.iter().map(|r| r.name).collect(), rows: Vec::new() }
    }

    fn row(&mut self, label: impl Into<String>, values: Vec<String>) {
        self.rows.push((label.into(), values));
    }

    fn render(&self, out: &mut String) {
        let label_w = self.rows.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(0).max(10);
        let mut widths: Vec<usize> = self.names.iter().map(|n| n.len()).collect();
        for (_, vals) in &self.rows {
            for (w, v) in widths.iter_mut().zip(vals) {
                *w = (*w).max(v.chars().count());
            }
        }
        let _ = write!(out, "  {:label_w$}", "");
        for (n, w) in self.names.iter().zip(&widths) {
            let _ = write!(out, "  {n:>w$}");
        }
        out.push('\n');
        for (label, vals) in &self.rows {
            let pad = label_w - label.chars().count();
            let _ = write!(out, "  {label}{}", " ".repeat(pad));
            for (v, w) in vals.iter().zip(&widths) {
                let pad = w.saturating_sub(v.chars().count());
                let _ = write!(out, "  {}{v}", " ".repeat(pad));
            }
            out.push('\n');
        }
    }
}

fn each<T>(runs: &[BackendRun], f: impl Fn(&BackendRun) -> Option<T>, show: impl Fn(T) -> String) -> Vec<String> {
    runs.iter().map(|r| f(r).map_or_else(|| "–".to_string(), &show)).collect()
}

fn p50_p99(l: &Latency) -> String {
    format!("{} / {}", l.p50(), l.p99())
}

fn rate_rows(t: &mut Table, runs: &[BackendRun], label: &str, pick: fn(&LimitResult) -> &Rate) {
    let clients = runs.iter().find_map(|r| r.limit.as_ref().map(|l| pick(l).clients)).unwrap_or(0);
    let s = if clients == 1 { "" } else { "s" };
    t.row(
        format!("{label}, {clients} client{s}: commits/s"),
        each(runs, |r| r.limit.as_ref().map(|l| pick(l).per_sec()), per_sec),
    );
    t.row(
        format!("{label}, {clients} client{s}: latency p50 / p99"),
        each(runs, |r| r.limit.as_ref().map(|l| p50_p99(&pick(l).latency)), |s| s),
    );
    t.row(
        format!("{label}, {clients} client{s}: {CPU}"),
        each(runs, |r| r.limit.as_ref().map(|l| pick(l).cpu.show()), |s| s),
    );
}

fn render(args: &RunArgs, runs: &[BackendRun], elapsed: jiff::SignedDuration, before: stats::CpuUse) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "onething bench — {}", stats::machine());
    let _ = writeln!(
        out,
        "machine busy in the second before the run: {:.0} %{}",
        before.machine_busy * 100.0,
        if before.machine_busy > 0.1 { " — other work is running: every figure below is lowered by it" } else { "" }
    );
    let _ = writeln!(out, "run took {:.0} s; backends:", elapsed.as_secs_f64());
    for r in runs {
        let _ = writeln!(out, "  {}: {}", r.name, if r.durability.is_empty() { "not opened" } else { &r.durability });
    }
    out.push('\n');

    let _ = writeln!(out, "(a) physical limit: durable commits of a trivial row through Store::commit");
    let mut t = Table::new(runs);
    t.row("raw write 8 KiB + fdatasync: p50 / p99", each(runs, |r| r.limit.as_ref().map(|l| p50_p99(&l.fsync)), |s| s));
    rate_rows(&mut t, runs, "record row", |l| &l.single_record);
    rate_rows(&mut t, runs, "record row", |l| &l.grouped_record);
    rate_rows(&mut t, runs, "event row", |l| &l.single_event);
    rate_rows(&mut t, runs, "event row", |l| &l.grouped_event);
    t.row(
        "grouped limit (the faster row): commits/s",
        each(runs, |r| r.limit.as_ref().map(|l| l.grouped_limit()), per_sec),
    );
    t.render(&mut out);
    out.push('\n');

    let _ = writeln!(
        out,
        "(b) lifecycles: {} through the service ({} clients, {} lifecycles; file, 12 uploads, submit, accept, 3 approvals)",
        life::BUNDLE,
        args.clients,
        args.lifecycles
    );
    let mut t = Table::new(runs);
    t.row("lifecycles/s", each(runs, |r| r.life.as_ref().map(LifeResult::per_sec), |v| format!("{v:.1}/s")));
    t.row(
        "state changes/s (events committed)",
        each(runs, |r| r.life.as_ref().map(LifeResult::events_per_sec), per_sec),
    );
    t.row(
        "commits per lifecycle",
        each(
            runs,
            |r| r.life.as_ref().filter(|l| l.lifecycles > 0).map(|l| l.events as f64 / l.lifecycles as f64),
            |v| format!("{v:.1}"),
        ),
    );
    t.row(
        "ratio: lifecycle commits/s ÷ grouped limit",
        each(
            runs,
            |r| {
                let (life, limit) = (r.life.as_ref()?, r.limit.as_ref()?);
                Some(life.events_per_sec() / limit.grouped_limit().max(1.0))
            },
            |v| format!("{:.0} %", v * 100.0),
        ),
    );
    t.row("lifecycle: p50 / p99", each(runs, |r| r.life.as_ref().map(|l| p50_p99(&l.lifecycle)), |s| s));
    for (i, op) in life::OPERATIONS.iter().enumerate() {
        t.row(
            format!("{op}: p50 / p99"),
            each(runs, |r| r.life.as_ref().and_then(|l| l.ops.get(i)).map(|(_, l)| p50_p99(l)), |s| s),
        );
    }
    t.row(
        "lifecycles done / failed",
        each(runs, |r| r.life.as_ref().map(|l| format!("{} / {}", l.lifecycles, l.errors)), |s| s),
    );
    t.row("wall time", each(runs, |r| r.life.as_ref().map(|l| l.seconds), |v| format!("{v:.1} s")));
    t.row(CPU, each(runs, |r| r.life.as_ref().map(|l| l.cpu.show()), |s| s));
    t.row(
        "CPU time of the bench process per lifecycle",
        each(
            runs,
            |r| {
                r.life
                    .as_ref()
                    .filter(|l| l.lifecycles > 0)
                    .map(|l| l.cpu.process_cores * l.seconds / l.lifecycles as f64)
            },
            |v| format!("{:.1} ms", v * 1000.0),
        ),
    );
    t.render(&mut out);
    for r in runs {
        if let Some(e) = r.life.as_ref().and_then(|l| l.first_error.as_ref()) {
            let _ = writeln!(out, "  {}: first lifecycle error: {e}", r.name);
        }
    }
    out.push('\n');

    if args.skip_load {
        let _ = writeln!(out, "(c) supervision queries: skipped (--skip-load)");
    } else {
        let _ = writeln!(out, "(c) supervision queries at {} loaded cases", thousands(args.load_cases as u64));
        let mut t = Table::new(runs);
        t.row(
            "bulk load: cases/s",
            each(
                runs,
                |r| r.load.as_ref().map(|l| (l.per_sec(), l.clients)),
                |(v, c)| format!("{} ({c} clients)", per_sec(v)),
            ),
        );
        t.row("bulk load: wall time", each(runs, |r| r.load.as_ref().map(|l| l.seconds), |v| format!("{v:.0} s")));
        t.row(format!("bulk load: {CPU}"), each(runs, |r| r.load.as_ref().map(|l| l.cpu.show()), |s| s));
        t.row(
            "row documents: case / task (JSON bytes)",
            each(
                runs,
                |r| r.load.as_ref().map(|l| (l.case_doc_bytes, l.task_doc_bytes)),
                |(c, t)| format!("{c} / {t}"),
            ),
        );
        t.row(
            "events in the log at query time",
            each(runs, |r| r.load.as_ref().map(|l| l.events_in_store), |v| thousands(u64::try_from(v).unwrap_or(0))),
        );
        t.row("cases in the store", each(runs, |r| r.load.as_ref().map(|l| l.cases_in_store), |v| thousands(v as u64)));
        t.row(
            "open task watches loaded (red)",
            each(
                runs,
                |r| r.load.as_ref().map(|l| (l.open_task_watches, l.red_task_watches)),
                |(o, red)| format!("{} ({})", thousands(o), thousands(red)),
            ),
        );
        t.row(
            "open tasks the store counts",
            each(runs, |r| r.load.as_ref().map(|l| l.counted_open), |v| thousands(u64::try_from(v).unwrap_or(0))),
        );
        let names: Vec<String> = runs
            .iter()
            .find_map(|r| r.load.as_ref())
            .map(|l| l.queries.iter().map(|q| q.name.clone()).collect())
            .unwrap_or_default();
        for (i, name) in names.iter().enumerate() {
            fn q(r: &BackendRun, i: usize) -> Option<&load::QueryResult> {
                r.load.as_ref().and_then(|l| l.queries.get(i))
            }
            t.row(format!("{name}: median / p99"), each(runs, |r| q(r, i).map(|q| p50_p99(&q.latency)), |s| s));
            t.row(
                format!("{name}: cold first run, rows"),
                each(
                    runs,
                    |r| q(r, i).map(|q| (q.first, q.rows)),
                    |(d, n)| format!("{} , {n}", ms(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))),
                ),
            );
        }
        t.render(&mut out);
    }
    out.push('\n');
    let mut t = Table::new(runs);
    t.row(
        "RSS of the bench process when the backend's run starts",
        each(runs, |r| r.rss_start, |v| format!("{v:.0} MB")),
    );
    for (i, phase) in ["(a) limit", "(b) lifecycles", "(c) load and queries"].iter().enumerate() {
        t.row(
            format!("peak RSS of the bench process during {phase}"),
            each(runs, |r| r.peak_rss[i], |v| format!("{v:.0} MB")),
        );
    }
    t.render(&mut out);
    for r in runs {
        if let Some(e) = &r.error {
            let _ = writeln!(out, "  {}: FAILED: {e}", r.name);
        }
    }
    out.push('\n');
    out.push_str(&targets(args, runs));
    out
}

fn verdict(met: bool) -> &'static str {
    if met { "[met]   " } else { "[missed]" }
}

fn targets(args: &RunArgs, runs: &[BackendRun]) -> String {
    let mut out = String::from("targets\n");
    let by = |name: &str| runs.iter().find(|r| r.name == name);
    match by("sqlite").and_then(|r| Some((r.life.as_ref()?, r.limit.as_ref()?))) {
        Some((life, limit)) => {
            let ratio = life.events_per_sec() / limit.grouped_limit().max(1.0);
            let _ = writeln!(
                out,
                "  {} SQLite lifecycle commits ≥ 50 % of the grouped-commit limit (power-safe): {:.0} % ({} of {})",
                verdict(ratio >= 0.5),
                ratio * 100.0,
                per_sec(life.events_per_sec()),
                per_sec(limit.grouped_limit())
            );
        }
        None => out.push_str("  [n/a]    SQLite lifecycle ratio: SQLite did not run\n"),
    }
    match by("postgres").and_then(|r| r.life.as_ref()) {
        Some(life) => {
            let _ = writeln!(
                out,
                "  {} PostgreSQL ≥ 1,000 lifecycles/s: {:.1}/s",
                verdict(life.per_sec() >= 1000.0),
                life.per_sec()
            );
        }
        None => out.push_str("  [n/a]    PostgreSQL ≥ 1,000 lifecycles/s: no PostgreSQL URL given\n"),
    }
    if args.skip_load {
        out.push_str("  [n/a]    supervision queries < 100 ms at 1 M cases: skipped\n");
    } else {
        for r in runs {
            let Some(load) = &r.load else { continue };
            let worst = load.queries.iter().map(|q| q.latency.quantile_us(0.99)).max().unwrap_or(0);
            let cold = load.queries.iter().map(|q| q.first.as_micros()).max().unwrap_or(0);
            let at_scale = load.cases_in_store >= 1_000_000;
            let tag = if at_scale { verdict(worst < 100_000) } else { "[n/a]   " };
            let _ = writeln!(
                out,
                "  {tag} {}: supervision queries < 100 ms at 1 M cases: worst p99 {} (worst cold first run {}) at {} cases{}",
                r.name,
                ms(worst),
                ms(u64::try_from(cold).unwrap_or(u64::MAX)),
                thousands(u64::try_from(load.cases_in_store).unwrap_or(0)),
                if at_scale { "" } else { " — load 1,000,000 to judge" }
            );
        }
    }
    for r in runs {
        if let Some(rss) = r.peak_rss.iter().flatten().copied().reduce(f64::max) {
            let _ = writeln!(
                out,
                "  {} {}: peak RSS < 150 MB (service, store and load clients in one process): {rss:.0} MB",
                verdict(rss < 150.0),
                r.name
            );
        }
    }
    out.push_str(
        "  [n/a]    status reads ≥ 10,000 req/s and write p99 < 20 ms at 1,000 req/s: see `onething bench http`\n",
    );
    out
}
