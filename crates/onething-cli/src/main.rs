//! `onething`: the one binary. Subcommands: `serve` (the service), `catalog check` (validate a catalogue
//! directory), `plan` (compile a bundle), `calendar add|between` (the working-time clock).
//! This crate does the IO — reading files, binding sockets, printing — and leaves every rule to the core.

mod bench;
mod catalog_dir;
mod config;
mod transfer;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use onething_core::calendar::{HallHours, HolidayCalendar, WorkClock, china_tz};
use onething_core::duration::WorkingDuration;
use onething_core::plan;
use onething_core::source::SourceFile;
use onething_store::Store;

#[derive(Parser)]
#[command(name = "onething", version, about = "高效办成一件事 — one application, every department, one result")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (HTTP API) on the embedded SQLite database in the data directory.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", env = "ONETHING_LISTEN")]
        listen: SocketAddr,
        /// Where the material files (and, without --database-url, the SQLite database) live.
        #[arg(long, default_value = "data", env = "ONETHING_DATA_DIR")]
        data_dir: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
        /// The catalogue directory.
        #[arg(long, default_value = "catalog", env = "ONETHING_CATALOG")]
        catalog: PathBuf,
        /// Demo mode: the demo catalogue and one user per role (password ONETHING_DEMO_PASSWORD, or generated and
        /// printed once).
        #[arg(long)]
        demo: bool,
        /// The largest material upload, in bytes.
        #[arg(long, default_value_t = 20 * 1024 * 1024, env = "ONETHING_UPLOADS__MAX_BYTES")]
        max_upload_bytes: usize,
        /// Hall sessions of a working day.
        #[arg(long, default_value = "09:00-12:00,13:30-17:00", env = "ONETHING_HALL_HOURS")]
        hours: String,
        /// How often the deadline worker looks for colour crossings, in seconds (0: never, e.g. for a node that
        /// only serves requests).
        #[arg(long, default_value_t = 10, env = "ONETHING_WORKER__INTERVAL_SECONDS")]
        sweep_seconds: u64,
        /// A configuration file (colour thresholds, supervision rules); `onething config print-default`
        /// prints one with every default.
        #[arg(long, env = "ONETHING_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Reports.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Catalogue tools.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// Compile a bundle for a set of situation answers and print the plan.
    Plan {
        /// The bundle code, e.g. open-transport-company.
        bundle: String,
        /// A situation answer, question=value (repeatable).
        #[arg(long = "answer", value_name = "K=V")]
        answers: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The catalogue directory.
        #[arg(long, default_value = "catalog", env = "ONETHING_CATALOG")]
        catalog: PathBuf,
    },
    /// The working-time clock on the official calendar.
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
        /// An extra calendar file (e.g. a new year's holidays), added to the built-in 2024–2026 data.
        #[arg(long = "calendar", global = true, value_name = "FILE")]
        calendars: Vec<PathBuf>,
        /// Hall sessions of a working day.
        #[arg(long, global = true, default_value = "09:00-12:00,13:30-17:00", env = "ONETHING_HALL_HOURS")]
        hours: String,
    },
    /// Measure throughput and latency against the machine's limits
    Bench(bench::BenchArgs),
    /// Export the whole installation (catalogue versions, users, cases, tasks, material files, events with
    /// their hash chain, supervision records) as JSON Lines, to move it to another database (SQLite ⇄
    /// PostgreSQL) with `onething import`. Stop the server first.
    Export {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The data directory (its SQLite database without --database-url).
        #[arg(long, default_value = "data", env = "ONETHING_DATA_DIR")]
        data_dir: PathBuf,
        /// The file to write (written under a temporary name, renamed when complete); stdout when absent.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Import an `onething export` into a new, empty installation, verbatim: the event chain verifies after,
    /// and is checked. Refuses a target that holds any data, and a truncated or damaged export (before
    /// writing anything).
    Import {
        /// The export file.
        input: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
        /// The data directory (its SQLite database without --database-url, created if missing).
        #[arg(long, default_value = "data", env = "ONETHING_DATA_DIR")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Validate a catalogue directory; prints every error as file:line:column.
    Check {
        #[arg(default_value = "catalog")]
        dir: PathBuf,
    },
}

/// Which database to use: the SQLite file of the data directory by default.
#[derive(clap::Args, Clone)]
struct DatabaseArgs {
    /// `postgres://…` (or `postgresql://…`) for PostgreSQL, `sqlite://PATH` for a SQLite file elsewhere.
    /// Any other scheme is an error, never a silent fallback.
    #[arg(long, env = "ONETHING_DATABASE__URL")]
    database_url: Option<String>,
    /// PostgreSQL only: the schema that holds the tables (created if missing).
    #[arg(long, env = "ONETHING_DATABASE__SCHEMA")]
    database_schema: Option<String>,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Prints the configuration file with every default, commented.
    PrintDefault,
}

#[derive(Subcommand)]
enum ReportCommand {
    /// The performance assessment (绩效考核) of a period: per department, per item, per bundle.
    Assessment {
        /// A year (2026), a quarter (2026-Q1) or a month (2026-03).
        #[arg(long)]
        period: String,
        #[arg(long, value_enum, default_value_t = ReportFormat::Csv)]
        format: ReportFormat,
        #[arg(long, default_value = "data", env = "ONETHING_DATA_DIR")]
        data_dir: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
        /// The catalogue directory.
        #[arg(long, default_value = "catalog", env = "ONETHING_CATALOG")]
        catalog: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Text,
    Json,
    Csv,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Checks the whole event hash chain and names the first broken link.
    Verify {
        #[arg(long, default_value = "data", env = "ONETHING_DATA_DIR")]
        data_dir: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// The deadline of a working duration from a start instant (RFC 3339; without an offset, +08:00).
    Add { start: String, duration: String },
    /// The working time between two instants.
    Between { start: String, end: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            listen,
            data_dir,
            database,
            catalog,
            demo,
            max_upload_bytes,
            hours,
            sweep_seconds,
            config,
        } => {
            let file = config::load(config.as_deref())?;
            serve(ServeOptions {
                listen,
                data_dir,
                database,
                catalog,
                demo,
                max_upload_bytes,
                hours,
                sweep_seconds,
                file,
            })
        }
        Command::Config { command: ConfigCommand::PrintDefault } => {
            print!("{}", config::DEFAULT_TOML);
            Ok(ExitCode::SUCCESS)
        }
        Command::Report { command: ReportCommand::Assessment { period, format, data_dir, database, catalog } } => {
            report_assessment(&period, format, &data_dir, &database, &catalog)
        }
        Command::Audit { command: AuditCommand::Verify { data_dir, database } } => audit_verify(&data_dir, &database),
        Command::Bench(args) => bench::run(args),
        Command::Export { database, data_dir, output } => transfer::export(&data_dir, &database, output.as_deref()),
        Command::Import { input, database, data_dir } => transfer::import(&input, &data_dir, &database),
        Command::Catalog { command: CatalogCommand::Check { dir } } => {
            let files = catalog_dir::read(&dir)?;
            match onething_core::catalog::Catalog::load(&files) {
                Ok(c) => {
                    println!(
                        "{}: ok — {} departments, {} materials, {} licence types, {} items, {} bundles, {} batches (version {})",
                        dir.display(),
                        c.departments.len(),
                        c.materials.len(),
                        c.licences.len(),
                        c.items.len(),
                        c.bundles.len(),
                        c.batches.len(),
                        c.version
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(errors) => {
                    for e in &errors {
                        eprintln!("{e}");
                    }
                    eprintln!(
                        "{} error{} in {}",
                        errors.len(),
                        if errors.len() == 1 { "" } else { "s" },
                        dir.display()
                    );
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Plan { bundle, answers, format, catalog } => {
            let catalog = catalog_dir::load(&catalog)?;
            let mut given = BTreeMap::new();
            for a in answers {
                let Some((k, v)) = a.split_once('=') else { bail!("bad --answer {a:?}: write question=value") };
                given.insert(k.trim().to_string(), v.trim().to_string());
            }
            let plan = plan::compile(&catalog, &bundle, &given)?;
            match format {
                Format::Text => print!("{}", plan::render_text(&plan, &catalog)),
                Format::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Calendar { command, calendars, hours } => {
            let clock = work_clock(&calendars, &hours)?;
            match command {
                CalendarCommand::Add { start, duration } => {
                    let start = parse_instant(&start)?;
                    let d: WorkingDuration = duration.parse()?;
                    let deadline = clock.add(start, d)?;
                    println!("{}", rfc3339(deadline));
                }
                CalendarCommand::Between { start, end } => {
                    let (a, b) = (parse_instant(&start)?, parse_instant(&end)?);
                    let minutes = clock.between(a, b)?;
                    println!(
                        "{} ({minutes} working minutes; 1 working day = {} minutes)",
                        as_days(minutes, clock.day_minutes()),
                        clock.day_minutes()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn work_clock(calendars: &[PathBuf], hours: &str) -> anyhow::Result<WorkClock> {
    let mut calendar = HolidayCalendar::official();
    for path in calendars {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading calendar {}", path.display()))?;
        let extra =
            HolidayCalendar::from_toml(&SourceFile::new(path.display().to_string(), text)).map_err(|errors| {
                anyhow::anyhow!("{}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
            })?;
        calendar.extend(extra)?;
    }
    let hours: HallHours = hours.parse().context("parsing --hours")?;
    Ok(WorkClock::new(calendar, hours))
}

/// Working minutes as days and hours, e.g. `2d 1h30m`.
fn as_days(minutes: u64, day_minutes: u64) -> String {
    let days = minutes / day_minutes.max(1);
    let rest = WorkingDuration::Minutes(minutes % day_minutes.max(1));
    match (days, minutes % day_minutes.max(1)) {
        (0, _) => rest.to_string(),
        (d, 0) => format!("{d}d"),
        (d, _) => format!("{d}d {rest}"),
    }
}

/// An instant from RFC 3339; a civil date-time without an offset is read in China time (+08:00).
fn parse_instant(s: &str) -> anyhow::Result<jiff::Timestamp> {
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Ok(ts);
    }
    let civil: jiff::civil::DateTime =
        s.parse().with_context(|| format!("bad instant {s:?}: write e.g. 2025-09-26T10:00:00+08:00"))?;
    Ok(civil.to_zoned(china_tz()).with_context(|| format!("bad instant {s:?}"))?.timestamp())
}

fn rfc3339(ts: jiff::Timestamp) -> String {
    ts.to_zoned(china_tz()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

struct ServeOptions {
    listen: SocketAddr,
    data_dir: PathBuf,
    database: DatabaseArgs,
    catalog: PathBuf,
    demo: bool,
    max_upload_bytes: usize,
    hours: String,
    sweep_seconds: u64,
    file: config::FileConfig,
}

/// Prints the performance assessment of a period, read from the store.
fn report_assessment(
    period: &str,
    format: ReportFormat,
    data_dir: &std::path::Path,
    db: &DatabaseArgs,
    catalog: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let period = onething_service::Period::parse(period)?;
    let files = catalog_dir::read(catalog)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    runtime.block_on(async move {
        let store = open_store(data_dir, db, false).await?;
        let service = onething_service::Service::start(
            store,
            files,
            WorkClock::official(),
            Arc::new(onething_service::SystemTime),
            Default::default(),
        )
        .await?;
        let a = service.assessment(&onething_service::User::system_supervisor(), &period).await?;
        match format {
            ReportFormat::Csv => print!("{}", onething_service::assessment_csv(&a)),
            ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&a)?),
            ReportFormat::Text => {
                println!("绩效考核 performance assessment {} ({} – {})", a.period.label, a.period.from, a.period.until);
                println!(
                    "{:<28}{:>8}{:>10}{:>10}{:>10}{:>9}{:>8}",
                    "department", "handled", "on-time%", "mean h", "p90 h", "overdue", "esc."
                );
                for (d, f) in &a.departments {
                    let o = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.1}"));
                    println!(
                        "{d:<28}{:>8}{:>10}{:>10}{:>10}{:>9}{:>8}",
                        f.handled,
                        o(f.on_time_rate),
                        o(f.mean_hours),
                        o(f.p90_hours),
                        f.overdue,
                        f.escalations
                    );
                }
            }
        }
        service.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Opens the store the arguments name: PostgreSQL for `postgres://`, SQLite otherwise.
async fn open_store(data_dir: &std::path::Path, db: &DatabaseArgs, create: bool) -> anyhow::Result<Arc<dyn Store>> {
    let sqlite_path = match db.database_url.as_deref() {
        None => data_dir.join("onething.db"),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let mut options = onething_store_postgres::PostgresOptions::new(url);
            options.schema = db.database_schema.clone();
            let store = onething_store_postgres::PostgresStore::open(options)
                .await
                .context("opening the PostgreSQL database")?;
            return Ok(Arc::new(store));
        }
        Some(url) => match url.strip_prefix("sqlite://") {
            Some(path) => PathBuf::from(path),
            None => bail!("unsupported database URL {url:?}: use postgres://… or sqlite://PATH"),
        },
    };
    if db.database_schema.is_some() {
        bail!("--database-schema is for PostgreSQL only");
    }
    if !create && !sqlite_path.exists() {
        bail!("no database at {}", sqlite_path.display());
    }
    if let Some(dir) = sqlite_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let store =
        onething_store_sqlite::SqliteStore::open(onething_store_sqlite::SqliteOptions::new(sqlite_path.clone()))
            .await
            .with_context(|| format!("opening the database {}", sqlite_path.display()))?;
    Ok(Arc::new(store))
}

fn audit_verify(data_dir: &std::path::Path, db: &DatabaseArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    runtime.block_on(async move {
        let store = open_store(data_dir, db, false).await?;
        let report = onething_store::verify_chain(store.as_ref()).await?;
        let state = onething_service::audit_state(store.as_ref()).await?;
        store.close().await;
        let mut ok = true;
        match report.broken {
            None => println!("ok: {} events, the chain is intact", report.events),
            Some(b) => {
                println!("broken at event {}: {}", b.seq, b.reason);
                ok = false;
            }
        }
        let legacy = if state.legacy_cases > 0 {
            format!(" ({} older cases predate typed events and were not replayed)", state.legacy_cases)
        } else {
            String::new()
        };
        if state.is_clean() {
            println!(
                "ok: the log rebuilds {} cases, {} accounts and {} records as stored{legacy}",
                state.cases, state.users, state.records
            );
        } else {
            ok = false;
            println!("the log does not rebuild {} rows{legacy}:", state.mismatches.len());
            for m in &state.mismatches {
                println!("  {} {}: {}", m.what, m.id, m.reason);
            }
        }
        Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    })
}

fn serve(o: ServeOptions) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let files = catalog_dir::read(&o.catalog)?;
    let calendar = HolidayCalendar::official();
    let hours: HallHours = o.hours.parse().context("parsing --hours")?;
    let clock = WorkClock::new(calendar, hours);
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    runtime.block_on(async move {
        std::fs::create_dir_all(&o.data_dir).with_context(|| format!("creating {}", o.data_dir.display()))?;
        let store = open_store(&o.data_dir, &o.database, true).await?;
        let config = onething_service::ServiceConfig {
            max_upload_bytes: o.max_upload_bytes,
            thresholds: o.file.colours,
            supervision: o.file.supervision.clone(),
            hall_window: o.file.hall.window.clone(),
            separate_filing_and_acceptance: o.file.hall.separate_filing_and_acceptance,
            ..Default::default()
        };
        let service = onething_service::Service::start(
            store,
            files,
            clock,
            Arc::new(onething_service::SystemTime),
            config,
        )
        .await
        .context("starting the service")?;
        let service = Arc::new(service);
        adopt_legacy_files(&service, &o.data_dir).await?;
        if o.demo {
            seed_demo(&service).await?;
        }
        // The deadline worker: claims due watches under a lease, so any number of nodes can run it.
        if o.sweep_seconds > 0 {
            let worker = service.clone();
            let node = format!("{}-{}", std::process::id(), onething_service::random_password().map_err(anyhow::Error::msg)?);
            let every = std::time::Duration::from_secs(o.sweep_seconds);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tick.tick().await;
                    match worker.sweep(&node).await {
                        Ok(r) if r.claimed > 0 => tracing::info!(?r, "deadline sweep"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "deadline sweep failed"),
                    }
                }
            });
        }
        let listener = tokio::net::TcpListener::bind(o.listen).await.with_context(|| format!("binding {}", o.listen))?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, bundles = service.catalog().bundles.len(), data_dir = %o.data_dir.display(), "onething listening");
        println!("onething listening on http://{addr}");
        let shutdown = async {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            tracing::info!("shutting down: draining in-flight requests");
        };
        onething_web::serve(listener, onething_web::AppState::new(service.clone()), shutdown).await.context("serving")?;
        service.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Demo users: the password comes from ONETHING_DEMO_PASSWORD, or is generated and printed once. A restart
/// without the variable keeps the users (and their passwords) of the first start.
async fn seed_demo(service: &onething_service::Service) -> anyhow::Result<()> {
    let from_env = std::env::var("ONETHING_DEMO_PASSWORD").ok().filter(|p| !p.is_empty());
    let password = match from_env {
        Some(p) => p,
        None if service.demo_users_exist().await? => {
            println!("demo users exist already; their password is unchanged");
            return Ok(());
        }
        None => onething_service::random_password().map_err(anyhow::Error::msg)?,
    };
    let names = service.seed_demo_users(&password).await?;
    let seeded = service.seed_demo_projects(&onething_service::User::system_supervisor(), 699).await?;
    if seeded > 0 {
        println!("demo upgrade projects: {seeded}");
    }
    if std::env::var("ONETHING_DEMO_PASSWORD").is_ok() {
        println!("demo users: {} (password from ONETHING_DEMO_PASSWORD)", names.join(", "));
    } else {
        println!("demo users: {} — password (shown once): {password}", names.join(", "));
    }
    Ok(())
}

/// Material files an earlier onething kept in `DATA_DIR/files/` (content-addressed by SHA-256) move into the
/// database, once: afterwards `files/` holds a marker and is left alone.
async fn adopt_legacy_files(service: &onething_service::Service, data_dir: &std::path::Path) -> anyhow::Result<()> {
    let dir = data_dir.join("files");
    let marker = dir.join(".adopted");
    if !dir.is_dir() || marker.exists() {
        return Ok(());
    }
    let mut stack = vec![dir.clone()];
    let mut adopted = 0;
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            if path.is_dir() {
                stack.push(path);
            } else if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                if service.adopt_file(&name, bytes).await? {
                    adopted += 1;
                }
            }
        }
    }
    std::fs::write(&marker, format!("{adopted} files moved into the database\n"))
        .with_context(|| format!("writing {}", marker.display()))?;
    tracing::info!(adopted, "material files of an earlier version moved into the database");
    Ok(())
}
