//! `onething bench`: measures the platform against the machine's own limits, in one process and one run.
//!
//! The default run does, on SQLite and (when a PostgreSQL URL is given) on PostgreSQL, one backend after the
//! other, each on scratch storage it removes afterwards:
//!
//! - **(a) the limit** (`limit`): durable commits per second of a trivial row through the store's own commit
//!   path, one client at a time (single) and many at once (grouped), plus the raw `fdatasync` latency of the
//!   disk under the data directory;
//! - **(b) lifecycles** (`life`): full lives of `open-transport-company` through the [`Service`] — file, upload
//!   the twelve materials, submit, accept, three approvals — by many concurrent clients, with per-operation
//!   latency, lifecycles/s, state changes/s, peak RSS and the ratio to the grouped limit;
//! - **(c) supervision at scale** (`load`): a bulk load of (by default) 1,000,000 cases with a realistic mix of
//!   states and open, coloured, partly overdue tasks, then the supervision queries timed.
//!
//! `onething bench kill` SIGKILLs a real `onething serve` during a burst of idempotent filings and transitions
//! and checks, after a restart, that every acknowledged operation is there exactly once and the chain verifies.
//! `onething bench http` drives a real `onething serve --demo` over loopback with `wrk` / `oha`.
//!
//! The bench writes synthetic rows for (a) and (c): the one place outside the service that builds changesets,
//! on purpose — a trivial row is the measure of the storage, and a million cases cannot be filed through the
//! use cases in minutes. It never does so against a deployment's data: only on the scratch storage it creates.
//!
//! [`Service`]: onething_service::Service

mod backend;
mod http;
mod kill;
mod life;
mod limit;
mod load;
mod progress;
mod report;
mod server;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

pub use backend::Backend;

/// `onething bench [OPTIONS] [kill|http]`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    mode: Option<Mode>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// SIGKILL a real `onething serve` during a burst of idempotent filings and transitions, restart it and check
    /// that every acknowledged operation is there exactly once and the event chain verifies.
    Kill(kill::KillArgs),
    /// Load a real `onething serve --demo` over loopback with wrk/oha: status reads and submissions.
    Http(http::HttpArgs),
}

/// Where the bench runs: which backends, which scratch directory, which catalogue.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// Which backends: sqlite, postgres or both. Default: SQLite, and PostgreSQL too when a URL is given.
    #[arg(long, value_enum)]
    backend: Option<BackendChoice>,
    /// A PostgreSQL URL (else ONETHING_DATABASE__URL, else ONETHING_TEST_POSTGRES_URL). The bench works in a
    /// scratch schema of its own and drops it afterwards.
    #[arg(long, env = "ONETHING_DATABASE__URL")]
    database_url: Option<String>,
    /// The directory under which the scratch data (SQLite file, material files) goes, in a fresh subdirectory
    /// removed afterwards. Default: the system's temporary directory.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The catalogue directory.
    #[arg(long, default_value = "catalog", env = "ONETHING_CATALOG")]
    catalog: PathBuf,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BackendChoice {
    Sqlite,
    Postgres,
    Both,
}

/// The default run: (a), (b) and (c).
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    target: Target,
    /// Concurrent clients of the lifecycle phase (b).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Lifecycles to run in (b).
    #[arg(long, default_value_t = 3000)]
    lifecycles: usize,
    /// Concurrent clients of the grouped-commit limit (a) and of the bulk load (c).
    #[arg(long, default_value_t = 256)]
    limit_clients: usize,
    /// Seconds each limit measurement of (a) runs.
    #[arg(long, default_value_t = 3.0)]
    limit_seconds: f64,
    /// Cases to bulk-load for the supervision queries (c).
    #[arg(long, default_value_t = 1_000_000)]
    load_cases: usize,
    /// Skip the bulk load and the supervision queries (c).
    #[arg(long)]
    skip_load: bool,
    /// Give every loaded case a `case_imported` event (one more row of the chained log each; on PostgreSQL the
    /// load is then serialised by the chain-head lock).
    #[arg(long)]
    load_events: bool,
    /// PostgreSQL connection pool size.
    #[arg(long, default_value_t = 32)]
    pg_connections: u32,
}

impl Target {
    /// The backends to run, in order: SQLite first.
    pub fn backends(&self) -> anyhow::Result<Vec<Backend>> {
        let url = self
            .database_url
            .clone()
            .filter(|u| !u.is_empty())
            .or_else(|| std::env::var("ONETHING_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()));
        if let Some(u) = &url
            && !(u.starts_with("postgres://") || u.starts_with("postgresql://"))
        {
            anyhow::bail!("the bench's database URL must be postgres://… (SQLite is always a scratch file)");
        }
        let need_url = || url.clone().context("PostgreSQL needs --database-url (or ONETHING_TEST_POSTGRES_URL)");
        Ok(match self.backend {
            None => {
                let mut v = vec![Backend::Sqlite];
                if let Some(u) = &url {
                    v.push(Backend::Postgres(u.clone()));
                }
                v
            }
            Some(BackendChoice::Sqlite) => vec![Backend::Sqlite],
            Some(BackendChoice::Postgres) => vec![Backend::Postgres(need_url()?)],
            Some(BackendChoice::Both) => vec![Backend::Sqlite, Backend::Postgres(need_url()?)],
        })
    }

    /// A fresh scratch directory for one run (removed by [`Scratch`]'s drop).
    pub fn scratch(&self, what: &str) -> anyhow::Result<Scratch> {
        let parent = self.data_dir.clone().unwrap_or_else(std::env::temp_dir);
        let stamp = jiff::Timestamp::now().as_millisecond();
        let dir = parent.join(format!("onething-bench-{what}-{}-{stamp}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch { dir })
    }
}

/// A scratch directory, removed when dropped.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("warning: could not remove {}: {e}", self.dir.display());
        }
    }
}

/// Runs `onething bench …`.
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(async move {
        match args.mode {
            None => report::run_all(args.run).await,
            Some(Mode::Kill(k)) => kill::run(k).await,
            Some(Mode::Http(h)) => http::run(h).await,
        }
    })
}
