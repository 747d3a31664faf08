//! The page benchmark: seeds cases (10,000 by default) through the service on a temporary SQLite store — every
//! bundle of the demo catalogue, in every state (draft, submitted, returned, accepted, in progress, concluded),
//! filed in three waves so that open tasks are green, yellow and red — serves the real router on 127.0.0.1, and
//! measures each server-rendered page over HTTP/1.1 keep-alive: median, p90 and p99 latency of many requests.
//! It prints a table and asserts nothing about time.
//!
//! ```sh
//! cargo run --release -p onething-web --example page_bench            # 10,000 cases, 300 requests per page
//! cargo run --release -p onething-web --example page_bench -- 2000 100
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use onething_core::calendar::WorkClock;
use onething_core::case::TaskState;
use onething_core::catalog::{Catalog, FieldType};
use onething_core::plan;
use onething_core::source::SourceFile;
use onething_service::{
    ApplicantInput, ApproveRequest, CreateCase, ReasonInput, Role, Service, ServiceConfig, TimeSource, User,
};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// A settable clock: seeding runs in waves at chosen instants, measuring at a later one.
struct BenchTime(AtomicI64);

impl TimeSource for BenchTime {
    fn now(&self) -> Timestamp {
        Timestamp::from_millisecond(self.0.load(Ordering::Relaxed)).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

impl BenchTime {
    fn set(&self, at: &str) -> Result<(), Error> {
        let ts: Timestamp = at.parse()?;
        self.0.store(ts.as_millisecond(), Ordering::Relaxed);
        Ok(())
    }
}

fn catalog_files() -> Result<Vec<SourceFile>, Error> {
    fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let p = e?.path();
            if p.is_dir() {
                collect(&p, out)?;
            } else if p.extension().is_some_and(|x| x == "toml") {
                out.push(p);
            }
        }
        Ok(())
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../catalog");
    let mut paths = Vec::new();
    collect(&root, &mut paths)?;
    paths.sort();
    paths.into_iter().map(|p| Ok(SourceFile::new(p.display().to_string(), std::fs::read_to_string(&p)?))).collect()
}

/// A valid value for a field type.
fn value_for(ty: FieldType, options: &[String]) -> Value {
    match ty {
        FieldType::Number => Value::from(3),
        FieldType::Date => Value::from("2025-03-01"),
        FieldType::Enum => Value::from(options.first().cloned().unwrap_or_default()),
        FieldType::Bool => Value::Bool(true),
        FieldType::Phone => Value::from("13806351234"),
        FieldType::CreditCode => Value::from("91440300708461136T"),
        FieldType::IdNumber => Value::from("11010519491231002X"),
        FieldType::Email => Value::from("office@example.cn"),
        FieldType::Text => Value::from("聊城市东昌府区建设路1号"),
    }
}

/// How far a seeded case goes.
#[derive(Clone, Copy, Debug)]
enum Target {
    Draft,
    Submitted,
    Returned,
    Accepted,
    InProgress,
    Concluded,
}

fn target_of(i: usize) -> Target {
    match i % 20 {
        0 | 1 => Target::Draft,
        2 | 3 => Target::Submitted,
        4 => Target::Returned,
        5 | 6 => Target::Accepted,
        7 => Target::InProgress,
        _ => Target::Concluded,
    }
}

struct Seeder {
    service: Arc<Service>,
    catalog: Arc<Catalog>,
    applicant: User,
    clerk: User,
    officers: HashMap<String, User>,
}

impl Seeder {
    async fn case(&self, i: usize) -> Result<String, Error> {
        let bundles: Vec<&String> = self.catalog.bundles.keys().collect();
        let bundle = bundles[(i / 20) % bundles.len()].clone();
        let plan = plan::compile(&self.catalog, &bundle, &BTreeMap::new())?;
        let form: BTreeMap<String, Value> =
            plan.form.iter().map(|f| (f.code.clone(), value_for(f.field_type, &f.options))).collect();
        let req = CreateCase {
            bundle,
            applicant: ApplicantInput {
                kind: "company".into(),
                name: format!("聊城市测试{i}有限公司"),
                credit_code: Some("91440300708461136T".into()),
                id_number: None,
            },
            answers: BTreeMap::new(),
            form,
        };
        let s = &self.service;
        let id = s.create_case(&self.applicant, req, None).await?.view.row.id;
        let pdf = b"%PDF-1.4\n% seeded\n%%EOF\n";
        for m in &plan.materials {
            s.upload_material(&self.applicant, &id, &m.code, pdf).await?;
        }
        let target = target_of(i);
        if matches!(target, Target::Draft) {
            return Ok(id);
        }
        s.submit(&self.applicant, &id).await?;
        if matches!(target, Target::Submitted) {
            return Ok(id);
        }
        if matches!(target, Target::Returned) {
            let first = plan.materials.first().map(|m| m.code.clone());
            let reason = ReasonInput { material: first, field: None, reason: "请提供清晰的扫描件".into() };
            s.return_case(&self.clerk, &id, vec![reason]).await?;
            return Ok(id);
        }
        let mut view = s.accept(&self.clerk, &id).await?;
        let rounds = match target {
            Target::Accepted => 0,
            Target::InProgress => 1,
            _ => usize::MAX,
        };
        let mut round = 0;
        while round < rounds {
            let ready: Vec<(String, String, Option<String>)> = view
                .case
                .tasks
                .iter()
                .filter(|t| t.state == TaskState::Ready)
                .map(|t| (t.id.clone(), t.department.clone(), t.licence.clone()))
                .collect();
            if ready.is_empty() {
                break;
            }
            for (task, dept, licence) in ready {
                let officer = self.officers.get(&dept).ok_or("no officer")?;
                let fields =
                    licence.and_then(|l| self.catalog.licences.get(&l)).map(|l| l.fields.clone()).unwrap_or_default();
                let result = fields
                    .iter()
                    .map(|f| {
                        let options: Vec<String> = f.options.iter().map(|c| c.value.clone()).collect();
                        (f.code.clone(), value_for(f.field_type, &options))
                    })
                    .collect();
                s.approve(officer, &task, ApproveRequest { result, number: None, valid_to: None }).await?;
            }
            view = s.get_case(&self.applicant, &id).await?;
            round += 1;
        }
        Ok(id)
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Client {
    reader: BufReader<tokio::net::TcpStream>,
    host: String,
}

impl Client {
    async fn connect(addr: std::net::SocketAddr) -> Result<Client, Error> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Client { reader: BufReader::new(stream), host: addr.to_string() })
    }

    /// GETs a path; returns the status and the body length.
    async fn get(&mut self, path: &str, cookie: &str) -> Result<(u16, usize), Error> {
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\nAccept: text/html\r\nAccept-Language: zh-CN\r\n\r\n",
            self.host
        );
        self.reader.get_mut().write_all(req.as_bytes()).await?;
        let mut line = String::new();
        self.reader.read_line(&mut line).await?;
        let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or("bad status line")?;
        let mut length = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse()?;
            }
        }
        let mut body = vec![0u8; length];
        self.reader.read_exact(&mut body).await?;
        Ok((status, length))
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let cases: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let requests: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(300);
    // Under target/ when run from the workspace: other tools may clean the system's temporary directory.
    let dir = match tempfile::Builder::new().prefix("page-bench-").tempdir_in("target") {
        Ok(d) => d,
        Err(_) => tempfile::tempdir()?,
    };
    let store = onething_store_sqlite::SqliteStore::open(onething_store_sqlite::SqliteOptions::new(
        dir.path().join("bench.db"),
    ))
    .await?;
    let time = Arc::new(BenchTime(AtomicI64::new(0)));
    time.set("2026-11-20T10:00:00+08:00")?;
    let service = Arc::new(
        Service::start(
            Arc::new(store),
            catalog_files()?,
            WorkClock::official(),
            time.clone(),
            ServiceConfig::default(),
        )
        .await?,
    );
    let password = "bench-password";
    let applicant = service.save_user("applicant", password, &[Role::Applicant], None).await?;
    let clerk = service.save_user("clerk", password, &[Role::Clerk], None).await?;
    service.save_user("supervisor", password, &[Role::Supervisor], None).await?;
    let mut officers = HashMap::new();
    let departments: Vec<String> = service.catalog().departments.keys().cloned().collect();
    for d in &departments {
        officers
            .insert(d.clone(), service.save_user(&format!("officer-{d}"), password, &[Role::Officer], Some(d)).await?);
    }
    let seeder =
        Arc::new(Seeder { service: service.clone(), catalog: service.catalog().clone(), applicant, clerk, officers });

    // Three waves: five working days ago (its open tasks are overdue now), this morning, and just now.
    let started = Instant::now();
    let waves =
        [("2026-11-18T10:00:00+08:00", 0.3), ("2026-11-25T09:10:00+08:00", 0.3), ("2026-11-25T10:40:00+08:00", 0.4)];
    let mut ids: Vec<(usize, String)> = Vec::with_capacity(cases);
    let mut next = 0usize;
    for (at, share) in waves {
        time.set(at)?;
        let end = (next + (cases as f64 * share).ceil() as usize).min(cases);
        let workers = 32;
        let mut joins = Vec::new();
        for w in 0..workers {
            let seeder = seeder.clone();
            let range: Vec<usize> = (next..end).filter(|i| i % workers == w).collect();
            joins.push(tokio::spawn(async move {
                let mut out = Vec::new();
                for i in range {
                    out.push((i, seeder.case(i).await?));
                }
                Ok::<_, Error>(out)
            }));
        }
        for j in joins {
            ids.extend(j.await??);
        }
        eprintln!("seeded {end} cases ({:.1} s)", started.elapsed().as_secs_f64());
        next = end;
    }
    ids.sort();
    let seed_secs = started.elapsed().as_secs_f64();

    // Measure at 11:00 the same day.
    time.set("2026-11-25T11:00:00+08:00")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let state = onething_web::AppState::new(service.clone());
    tokio::spawn(async move { onething_web::serve(listener, state, std::future::pending()).await });
    let cookie = |user: &str| {
        let service = service.clone();
        let user = user.to_string();
        async move { service.login(&user, password).await.map(|(t, _)| format!("ot_session={t}")) }
    };
    let applicant = cookie("applicant").await?;
    let clerk = cookie("clerk").await?;
    let supervisor = cookie("supervisor").await?;
    let officer = cookie("officer-transport").await?;
    let find = |t: Target| {
        ids.iter()
            .find(|(i, _)| std::mem::discriminant(&target_of(*i)) == std::mem::discriminant(&t))
            .map(|(_, id)| id.clone())
    };
    let concluded = find(Target::Concluded).ok_or("no concluded case")?;
    let draft = find(Target::Draft).ok_or("no draft")?;
    let submitted = find(Target::Submitted).ok_or("no submitted case")?;
    let officer_user = service.authenticate(officer.trim_start_matches("ot_session=")).await?;
    let task =
        service.department_queue(&officer_user, 1).await?.first().map(|t| t.row.id.clone()).ok_or("no open task")?;

    let pages: Vec<(&str, String, &str)> = vec![
        ("portal", "/".into(), ""),
        ("bundle", "/bundles/open-transport-company".into(), &applicant),
        ("sign-in", "/login".into(), ""),
        ("my cases", "/cases".into(), &applicant),
        ("case (concluded)", format!("/cases/{concluded}"), &applicant),
        ("form (draft)", format!("/cases/{draft}/form"), &applicant),
        ("materials (draft)", format!("/cases/{draft}/materials"), &applicant),
        ("review (draft)", format!("/cases/{draft}/review"), &applicant),
        ("clerk queue", "/clerk".into(), &clerk),
        ("clerk case", format!("/cases/{submitted}"), &clerk),
        ("officer queue", "/officer".into(), &officer),
        ("officer task", format!("/officer/tasks/{task}"), &officer),
        ("supervisor", "/supervisor".into(), &supervisor),
        // The same, with a write (an upload: one event) before each request, so each one catches up first.
        ("supervisor (writes)", "/supervisor".into(), &supervisor),
    ];
    let applicant_user = service.authenticate(applicant.trim_start_matches("ot_session=")).await?;
    let draft_plan = service.get_case(&applicant_user, &draft).await?.plan;
    let material = draft_plan.materials.first().map(|m| m.code.clone()).ok_or("no material")?;
    let total = service.count_cases().await?;
    println!(
        "page latency over HTTP/1.1 keep-alive on 127.0.0.1, {total} cases (seeded in {seed_secs:.0} s), {requests} requests per page"
    );
    println!("{:<20} {:>6} {:>9} {:>10} {:>10} {:>10}", "page", "status", "bytes", "median ms", "p90 ms", "p99 ms");
    let mut client = Client::connect(addr).await?;
    for (name, path, cookie) in &pages {
        let mut times = Vec::with_capacity(requests);
        let mut last = (0, 0);
        for n in 0..requests + 10 {
            if name.ends_with("(writes)") {
                let bytes = format!("%PDF-1.4\n% {n}\n%%EOF\n");
                service.upload_material(&applicant_user, &draft, &material, bytes.as_bytes()).await?;
            }
            let t0 = Instant::now();
            last = client.get(path, cookie).await?;
            if n >= 10 {
                times.push(t0.elapsed());
            }
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{name:<20} {:>6} {:>9} {:>10.2} {:>10.2} {:>10.2}",
            last.0,
            last.1,
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.9)),
            ms(percentile(&times, 0.99))
        );
    }
    Ok(())
}
