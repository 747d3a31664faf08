//! (b) Full case lifecycles of `open-transport-company` through the service layer (no HTTP): file → upload the
//! twelve materials (distinct small PDFs: each a durable file write and a commit) → submit → accept (clerk) →
//! three approvals in dependency order (officers) → concluded. Every change is committed durably before the
//! next step. Many clients run lifecycles at once; the users are created once up front (Argon2 is not part of a
//! lifecycle), and the service acts for them directly.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use onething_core::calendar::WorkClock;
use onething_core::catalog::{Catalog, FieldType};
use onething_core::source::SourceFile;
use onething_service::{ApproveRequest, CreateCase, Role, Service, ServiceConfig, TimeSource, User};
use onething_store::{CaseRow, Store, TaskFilter, TaskRow};
use serde_json::{Value, json};

use super::progress::Progress;
use super::stats::{CpuMark, CpuUse, Latency};

/// The bundle every lifecycle files.
pub const BUNDLE: &str = "open-transport-company";

/// The commits (events) of one lifecycle: filed, 12 uploads, submitted, accepted, 3 approvals.
pub const OPERATIONS: [&str; 5] = ["create", "upload", "submit", "accept", "approve"];

/// "Now" for the bench: a fixed working-day morning inside the official calendar (2024–2026), advanced by the
/// real time elapsed since the bench started, so deadlines and colours compute as they would in the hall.
pub struct BenchTime {
    base: Timestamp,
    start: Instant,
}

impl BenchTime {
    pub fn new() -> anyhow::Result<BenchTime> {
        let base: Timestamp = "2026-03-02T09:00:00+08:00".parse().context("the bench's base instant")?;
        Ok(BenchTime { base, start: Instant::now() })
    }

    pub fn base(&self) -> Timestamp {
        self.base
    }
}

impl TimeSource for BenchTime {
    fn now(&self) -> Timestamp {
        let elapsed = SignedDuration::try_from(self.start.elapsed()).unwrap_or(SignedDuration::ZERO);
        self.base.checked_add(elapsed).unwrap_or(self.base)
    }
}

/// The service and the people acting in it.
pub struct Setup {
    pub service: Arc<Service>,
    /// The store under the service (for the counts the bench reads around it).
    pub store: Arc<dyn Store>,
    applicant: User,
    clerk: User,
    /// department → officer.
    officers: HashMap<String, User>,
    /// item → the result (licence surface fields) an officer approves it with.
    results: HashMap<String, BTreeMap<String, Value>>,
}

/// The form of the transport company, as the HTTP life test files it.
pub fn transport_form() -> BTreeMap<String, Value> {
    let v = json!({
        "company_name": "聊城市鸿运物流有限公司",
        "credit_code": "91440300708461136T",
        "legal_rep_name": "王建国",
        "legal_rep_id": "11010519491231002X",
        "contact_phone": "13806351234",
        "agent_name": "李敏",
        "agent_id": "110101199003074477",
        "business_address": "聊城市东昌府区建设路1号",
        "business_scope": "ordinary_cargo",
        "vehicle_count": 3,
        "parking_address": "聊城市东昌府区物流园",
        "plate_number": "鲁P12345",
        "vehicle_type": "truck"
    });
    v.as_object().map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}

/// The filing request of one lifecycle.
pub fn transport_case() -> anyhow::Result<CreateCase> {
    let req = json!({
        "bundle": BUNDLE,
        "applicant": { "kind": "company", "name": "聊城市鸿运物流有限公司", "credit_code": "91440300708461136T" },
        "answers": {},
        "form": transport_form(),
    });
    serde_json::from_value(req).context("the bench's filing request")
}

/// A small, valid-looking PDF (about 4 KiB), distinct per label so that every upload is a new file on disk.
pub fn pdf(label: &str) -> Vec<u8> {
    let mut s = format!("%PDF-1.4\n% {label}\n1 0 obj << /Length 3900 >> stream\n");
    while s.len() < 4000 {
        s.push_str("0 0 0 rg 72 720 m 540 720 l S\n");
    }
    s.push_str("endstream endobj\ntrailer << >>\n%%EOF\n");
    s.into_bytes()
}

/// The results (licence surface fields) an officer gives each item, built from the catalogue's field types.
pub fn results_by_item(catalog: &Catalog) -> HashMap<String, BTreeMap<String, Value>> {
    let mut out = HashMap::new();
    for (code, item) in &catalog.items {
        let Some(licence) = item.result.as_ref().and_then(|l| catalog.licences.get(l)) else {
            out.insert(code.clone(), BTreeMap::new());
            continue;
        };
        let fields = licence
            .fields
            .iter()
            .map(|f| {
                let v = match f.field_type {
                    FieldType::Enum => json!(f.options.first().map(|o| o.value.clone()).unwrap_or_default()),
                    FieldType::Number => json!(30),
                    FieldType::Date => json!("2026-01-15"),
                    FieldType::Bool => json!(true),
                    FieldType::Phone => json!("13806351234"),
                    FieldType::CreditCode => json!("91440300708461136T"),
                    FieldType::IdNumber => json!("11010519491231002X"),
                    FieldType::Email => json!("bench@example.invalid"),
                    FieldType::Text => json!(format!("{} value", f.code)),
                };
                (f.code.clone(), v)
            })
            .collect();
        out.insert(code.clone(), fields);
    }
    out
}

/// Starts the service on a store and creates the users of a lifecycle (once: Argon2 is not measured).
pub async fn setup(
    store: Arc<dyn Store>,
    dir: &Path,
    catalog: Vec<SourceFile>,
    time: Arc<BenchTime>,
) -> anyhow::Result<Setup> {
    let _ = dir;
    let service = Service::start(Arc::clone(&store), catalog, WorkClock::official(), time, ServiceConfig::default())
        .await
        .context("starting the service")?;
    let password = "bench-password-not-secret";
    let applicant = service.save_user("bench-applicant", password, &[Role::Applicant], None).await?;
    let clerk = service.save_user("bench-clerk", password, &[Role::Clerk], None).await?;
    let plan = onething_core::plan::compile(&service.catalog(), BUNDLE, &BTreeMap::new())?;
    let mut officers = HashMap::new();
    for t in &plan.tasks {
        if !officers.contains_key(&t.department) {
            let name = format!("bench-officer-{}", t.department);
            let u = service.save_user(&name, password, &[Role::Officer], Some(&t.department)).await?;
            officers.insert(t.department.clone(), u);
        }
    }
    let results = results_by_item(&service.catalog());
    Ok(Setup { service: Arc::new(service), store, applicant, clerk, officers, results })
}

/// Latency per operation of one client (merged at the end).
struct Ops {
    by_op: [Latency; 5],
    lifecycle: Latency,
}

impl Ops {
    fn new() -> Ops {
        Ops { by_op: std::array::from_fn(|_| Latency::new()), lifecycle: Latency::new() }
    }

    fn record(&mut self, op: usize, since: Instant) {
        self.by_op[op].record(since.elapsed());
    }
}

/// One lifecycle; returns the case id.
async fn one(s: &Setup, req: &CreateCase, ops: &mut Ops) -> anyhow::Result<String> {
    let svc = &s.service;
    let t = Instant::now();
    let created = svc.create_case(&s.applicant, req.clone(), None).await.context("create")?;
    ops.record(0, t);
    let id = created.view.row.id.clone();
    for m in &created.view.plan.materials {
        let bytes = pdf(&format!("{id}/{}", m.code));
        let t = Instant::now();
        svc.upload_material(&s.applicant, &id, &m.code, &bytes).await.with_context(|| format!("upload {}", m.code))?;
        ops.record(1, t);
    }
    let t = Instant::now();
    svc.submit(&s.applicant, &id).await.context("submit")?;
    ops.record(2, t);
    let t = Instant::now();
    let accepted = svc.accept(&s.clerk, &id).await.context("accept")?;
    ops.record(3, t);
    let mut state = accepted.row.state.clone();
    // The tasks come in dependency order: each becomes ready when the one before it is approved.
    for task in &accepted.case.tasks {
        let officer =
            s.officers.get(&task.department).with_context(|| format!("no officer for {}", task.department))?;
        let result = s.results.get(&task.item).cloned().unwrap_or_default();
        let req = ApproveRequest { result, number: None, valid_to: None };
        let t = Instant::now();
        let view = svc.approve(officer, &task.id, req).await.with_context(|| format!("approve {}", task.item))?;
        ops.record(4, t);
        state = view.case_state;
    }
    if state != "concluded" {
        anyhow::bail!("case {id} ended {state}, not concluded");
    }
    Ok(id)
}

/// What (b) measured on one backend.
pub struct LifeResult {
    pub lifecycles: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
    pub cpu: CpuUse,
    /// Events committed during the phase (= commits: each carries exactly one).
    pub events: i64,
    pub ops: Vec<(&'static str, Latency)>,
    pub lifecycle: Latency,
    /// The concluded cases (their ids), for history queries.
    pub case_ids: Vec<String>,
    /// A concluded case and its tasks as stored: the template of the bulk load's rows.
    pub template: Option<(CaseRow, Vec<TaskRow>)>,
}

impl LifeResult {
    pub fn per_sec(&self) -> f64 {
        if self.seconds > 0.0 { self.lifecycles as f64 / self.seconds } else { 0.0 }
    }

    pub fn events_per_sec(&self) -> f64 {
        if self.seconds > 0.0 { self.events as f64 / self.seconds } else { 0.0 }
    }
}

/// Runs `lifecycles` lifecycles with `clients` concurrent clients.
pub async fn run(
    setup: &Arc<Setup>,
    clients: usize,
    lifecycles: usize,
    progress: &Progress,
    backend: &str,
) -> anyhow::Result<LifeResult> {
    let store = setup.store.clone();
    let req = Arc::new(transport_case()?);
    let (head_before, _) = store.chain_head().await?;
    let bar = progress.bar(lifecycles as u64, &format!("{backend} (b) lifecycles"));
    let next = Arc::new(AtomicUsize::new(0));
    let ids = Arc::new(Mutex::new(Vec::with_capacity(lifecycles)));
    let cpu = CpuMark::now();
    let start = Instant::now();
    let mut joins = Vec::new();
    for _ in 0..clients.max(1) {
        let setup = setup.clone();
        let req = req.clone();
        let next = next.clone();
        let ids = ids.clone();
        let bar = bar.clone();
        joins.push(tokio::spawn(async move {
            let mut ops = Ops::new();
            let mut errors = 0u64;
            let mut first_error: Option<String> = None;
            while next.fetch_add(1, Ordering::Relaxed) < lifecycles {
                let t = Instant::now();
                match one(&setup, &req, &mut ops).await {
                    Ok(id) => {
                        ops.lifecycle.record(t.elapsed());
                        if let Ok(mut v) = ids.lock() {
                            v.push(id);
                        }
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
                bar.inc(1);
            }
            (ops, errors, first_error)
        }));
    }
    let mut all = Ops::new();
    let mut errors = 0;
    let mut first_error = None;
    for j in joins {
        let (ops, e, f) = j.await.context("a lifecycle client failed")?;
        for (a, b) in all.by_op.iter_mut().zip(&ops.by_op) {
            a.merge(b);
        }
        all.lifecycle.merge(&ops.lifecycle);
        errors += e;
        first_error = first_error.or(f);
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu.since();
    bar.finish_and_clear();
    let (head_after, _) = store.chain_head().await?;
    let case_ids = ids.lock().map(|v| v.clone()).unwrap_or_default();
    let template = match case_ids.last() {
        Some(id) => {
            let row = store.case_bundle(id).await?.context("the last concluded case is missing")?.case;
            let tasks =
                store.tasks(&TaskFilter { case_id: Some(id.clone()), limit: 100, ..TaskFilter::default() }).await?;
            Some((row, tasks))
        }
        None => None,
    };
    Ok(LifeResult {
        lifecycles: all.lifecycle.count(),
        errors,
        first_error,
        seconds,
        cpu,
        events: head_after - head_before,
        ops: OPERATIONS.iter().copied().zip(all.by_op).collect(),
        lifecycle: all.lifecycle,
        case_ids,
        template,
    })
}

/// A pause to let a store settle between phases (PostgreSQL's background writer, SQLite's checkpoint).
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}
