//! `onething bench kill`: proof that nothing acknowledged is lost. A real `onething serve` (spawned here) takes
//! a burst of idempotent filings, uploads, submissions, acceptances and approvals from many clients; once a
//! given number of operations were acknowledged (counted, not timed) it is SIGKILLed mid-burst, restarted on
//! the same data, and every acknowledged operation is checked to be there exactly once, a replayed filing to
//! find its case, and the event chain (`onething audit verify`) to be intact.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::Target;
use super::backend::{self, Backend};
use super::life;
use super::progress::Progress;
use super::server::{Client, Server, approve_body};
use super::stats::thousands;

#[derive(Args, Debug)]
pub struct KillArgs {
    #[command(flatten)]
    target: Target,
    /// Concurrent clients of the burst.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// SIGKILL the server once this many operations were acknowledged.
    #[arg(long, default_value_t = 1000)]
    kill_after: usize,
}

/// An operation the server acknowledged (answered with success).
#[derive(Debug, Clone)]
pub enum Ack {
    Filed { key: String, id: String },
    Replayed { id: String },
    Uploaded { id: String, material: String, sha256: String },
    Submitted { id: String },
    Accepted { id: String },
    Approved { id: String, task: String },
}

/// The tokens of the people of a lifecycle.
#[derive(Clone)]
pub struct Tokens {
    pub applicant: String,
    pub clerk: String,
    /// department → officer token.
    pub officers: HashMap<String, String>,
}

impl Tokens {
    pub async fn login(api: &Client, catalog: &onething_core::catalog::Catalog) -> anyhow::Result<Tokens> {
        let plan = onething_core::plan::compile(catalog, life::BUNDLE, &BTreeMap::new())?;
        let mut officers = HashMap::new();
        for t in &plan.tasks {
            if !officers.contains_key(&t.department) {
                officers.insert(t.department.clone(), api.login(&format!("officer-{}", t.department)).await?);
            }
        }
        Ok(Tokens { applicant: api.login("applicant").await?, clerk: api.login("clerk").await?, officers })
    }
}

/// The filing body of a key: the transport company, named after the key so that bodies differ.
pub fn filing(key: &str) -> Value {
    json!({
        "bundle": life::BUNDLE,
        "applicant": { "kind": "company", "name": format!("鸿运物流 {key}"), "credit_code": "91440300708461136T" },
        "answers": {},
        "form": life::transport_form(),
    })
}

/// Why a lifecycle over HTTP stopped.
pub enum Stop {
    /// The server is gone (connection refused or reset): expected after the kill.
    Gone,
    /// The server answered something unexpected.
    Unexpected(String),
}

fn unexpected(what: &str, status: u16, body: &Value) -> Stop {
    Stop::Unexpected(format!("{what}: {status} {body}"))
}

/// One whole lifecycle over HTTP (file with an idempotency key and replay it, 12 uploads, submit, accept, three
/// approvals), reporting each acknowledged operation to `ack`. Returns the case id.
pub async fn http_lifecycle(
    api: &Client,
    tokens: &Tokens,
    results: &HashMap<String, BTreeMap<String, Value>>,
    key: &str,
    mut ack: impl FnMut(Ack),
) -> Result<String, Stop> {
    let gone = |_| Stop::Gone;
    let body = filing(key);
    let file = || {
        api.send(
            api.req(reqwest::Method::POST, "/api/v1/cases", Some(&tokens.applicant))
                .header("Idempotency-Key", key)
                .json(&body),
        )
    };
    let r = file().await.map_err(gone)?;
    if r.status != 201 {
        return Err(unexpected("file", r.status, &r.body));
    }
    let id = r.body["id"].as_str().unwrap_or_default().to_string();
    ack(Ack::Filed { key: key.to_string(), id: id.clone() });
    // The client "did not hear" the answer and sends the same request again: the same case comes back.
    let again = file().await.map_err(gone)?;
    if again.status != 200 || again.body["id"].as_str() != Some(id.as_str()) {
        return Err(unexpected("replay", again.status, &again.body));
    }
    ack(Ack::Replayed { id: id.clone() });
    let materials: Vec<String> = r.body["materials"]
        .as_array()
        .map(|m| m.iter().filter_map(|x| x["code"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    for m in materials {
        let up = api
            .put(&format!("/api/v1/cases/{id}/materials/{m}"), &tokens.applicant, life::pdf(&format!("{key}/{m}")))
            .await
            .map_err(gone)?;
        if up.status != 201 {
            return Err(unexpected("upload", up.status, &up.body));
        }
        let sha256 = up.body["sha256"].as_str().unwrap_or_default().to_string();
        ack(Ack::Uploaded { id: id.clone(), material: m, sha256 });
    }
    let r = api.post(&format!("/api/v1/cases/{id}/submit"), &tokens.applicant, &json!({})).await.map_err(gone)?;
    if r.status != 200 {
        return Err(unexpected("submit", r.status, &r.body));
    }
    ack(Ack::Submitted { id: id.clone() });
    let r = api.post(&format!("/api/v1/cases/{id}/accept"), &tokens.clerk, &json!({})).await.map_err(gone)?;
    if r.status != 200 {
        return Err(unexpected("accept", r.status, &r.body));
    }
    ack(Ack::Accepted { id: id.clone() });
    let tasks = r.body["tasks"].as_array().cloned().unwrap_or_default();
    for t in tasks {
        let (task, item, dept) =
            (t["id"].as_str().unwrap_or(""), t["item"].as_str().unwrap_or(""), t["department"].as_str().unwrap_or(""));
        let Some(officer) = tokens.officers.get(dept) else {
            return Err(Stop::Unexpected(format!("no officer for {dept}")));
        };
        let r = api
            .post(&format!("/api/v1/tasks/{task}/approve"), officer, &approve_body(results, item))
            .await
            .map_err(gone)?;
        if r.status != 200 {
            return Err(unexpected("approve", r.status, &r.body));
        }
        ack(Ack::Approved { id: id.clone(), task: task.to_string() });
    }
    Ok(id)
}

/// What one kill run found.
struct Outcome {
    acked: usize,
    counts: BTreeMap<&'static str, usize>,
    keys_sent: usize,
    cases_after: usize,
    problems: Vec<String>,
    chain: String,
    client_errors: Vec<String>,
}

fn kind(a: &Ack) -> &'static str {
    match a {
        Ack::Filed { .. } => "filings",
        Ack::Replayed { .. } => "replayed filings",
        Ack::Uploaded { .. } => "uploads",
        Ack::Submitted { .. } => "submissions",
        Ack::Accepted { .. } => "acceptances",
        Ack::Approved { .. } => "approvals",
    }
}

async fn once(args: &KillArgs, backend: &Backend, progress: &Progress) -> anyhow::Result<Outcome> {
    let name = backend.name();
    let scratch = args.target.scratch(&format!("kill-{name}"))?;
    let schema = Backend::scratch_schema("kill");
    let db_args = backend.serve_args(&schema);
    let result = burst_and_check(args, &scratch.dir, &db_args, progress, name).await;
    if let Backend::Postgres(url) = backend {
        backend::drop_schema(url, &schema).await;
    }
    result
}

async fn burst_and_check(
    args: &KillArgs,
    dir: &std::path::Path,
    db_args: &[String],
    progress: &Progress,
    name: &str,
) -> anyhow::Result<Outcome> {
    let catalog = crate::catalog_dir::load(&args.target.catalog)?;
    let results = Arc::new(life::results_by_item(&catalog));
    let mut server = Server::start(dir, db_args, &args.target.catalog, true).await?;
    let api = server.client()?;
    let tokens = Tokens::login(&api, &catalog).await?;

    let acks: Arc<Mutex<Vec<Ack>>> = Arc::new(Mutex::new(Vec::new()));
    let enough = Arc::new(Notify::new());
    let keys_sent = Arc::new(AtomicUsize::new(0));
    let bar = progress.bar(args.kill_after as u64, &format!("{name} kill: burst"));
    let run = jiff::Timestamp::now().as_millisecond();
    let mut workers = Vec::new();
    for w in 0..args.clients.max(1) {
        let (api, tokens, results, acks, enough, keys_sent, bar) = (
            api.clone(),
            tokens.clone(),
            results.clone(),
            acks.clone(),
            enough.clone(),
            keys_sent.clone(),
            bar.clone(),
        );
        let kill_after = args.kill_after;
        workers.push(tokio::spawn(async move {
            for i in 0.. {
                let key = format!("kill-{run}-w{w}-{i}");
                keys_sent.fetch_add(1, Ordering::Relaxed);
                let record = |a: Ack| {
                    if let Ok(mut v) = acks.lock() {
                        v.push(a);
                        bar.set_position(v.len() as u64);
                        if v.len() >= kill_after {
                            enough.notify_one();
                        }
                    }
                };
                match http_lifecycle(&api, &tokens, &results, &key, record).await {
                    Ok(_) => {}
                    Err(Stop::Gone) => return None,
                    Err(Stop::Unexpected(e)) => {
                        // A client that stops early must not keep the kill from coming.
                        enough.notify_one();
                        return Some(e);
                    }
                }
            }
            None
        }));
    }
    // Kill once enough was acknowledged (or after 10 minutes, whatever was acknowledged by then).
    let _ = tokio::time::timeout(Duration::from_secs(600), enough.notified()).await;
    server.kill().await;
    bar.finish_and_clear();
    let mut client_errors = Vec::new();
    for w in workers {
        if let Some(e) = w.await.context("a burst client failed")? {
            client_errors.push(e);
        }
    }
    let acks = acks.lock().map(|v| v.clone()).unwrap_or_default();
    let keys_sent = keys_sent.load(Ordering::Relaxed);

    // Restart on the same data and check every acknowledged operation.
    let spinner = progress.spinner(&format!("{name} kill: checking"));
    let mut server = Server::start(dir, db_args, &args.target.catalog, false).await?;
    let api = server.client()?;
    let applicant = api.login("applicant").await?;
    let clerk = api.login("clerk").await?;
    let mut problems = Vec::new();
    let listed = api.get("/api/v1/cases", &clerk).await?;
    let listed: Vec<String> = listed
        .body
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["id"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let mut cases: HashMap<String, Value> = HashMap::new();
    let mut seen_keys = HashSet::new();
    for a in &acks {
        let id = match a {
            Ack::Filed { id, .. }
            | Ack::Replayed { id }
            | Ack::Uploaded { id, .. }
            | Ack::Submitted { id }
            | Ack::Accepted { id }
            | Ack::Approved { id, .. } => id.clone(),
        };
        if !cases.contains_key(&id) {
            let r = api.get(&format!("/api/v1/cases/{id}"), &applicant).await?;
            if r.status != 200 {
                problems.push(format!("case {id} was acknowledged but is not there: {} {}", r.status, r.body));
                continue;
            }
            cases.insert(id.clone(), r.body);
        }
        let Some(case) = cases.get(&id) else { continue };
        let state = case["state"].as_str().unwrap_or("");
        match a {
            Ack::Filed { key, id } => {
                if !seen_keys.insert(key.clone()) {
                    continue;
                }
                let n = listed.iter().filter(|x| *x == id).count();
                if n != 1 {
                    problems.push(format!("case {id} is listed {n} times"));
                }
                let r = api
                    .send(
                        api.req(reqwest::Method::POST, "/api/v1/cases", Some(&applicant))
                            .header("Idempotency-Key", key)
                            .json(&filing(key)),
                    )
                    .await?;
                if r.status != 200 || r.body["id"].as_str() != Some(id.as_str()) {
                    problems
                        .push(format!("replaying key {key} gave {} {} instead of case {id}", r.status, r.body["id"]));
                }
            }
            Ack::Replayed { .. } => {}
            Ack::Uploaded { id, material, sha256 } => {
                let stored = case["materials"]
                    .as_array()
                    .and_then(|m| m.iter().find(|m| m["code"] == material.as_str()))
                    .and_then(|m| m["uploaded"]["sha256"].as_str());
                // A later acknowledged upload of the same material may replace it; the bench uploads each once.
                if stored != Some(sha256.as_str()) {
                    problems.push(format!("{material} of {id}: stored {stored:?}, acknowledged {sha256}"));
                }
                let (status, bytes) =
                    api.bytes(&format!("/api/v1/cases/{id}/materials/{material}"), &applicant).await?;
                if status != 200 || sha256_hex(&bytes) != *sha256 {
                    problems.push(format!("the file of {material} of {id} is missing or differs ({status})"));
                }
            }
            Ack::Submitted { id } => {
                if !matches!(state, "submitted" | "accepted" | "in_progress" | "concluded") {
                    problems.push(format!("case {id} was submitted but is {state}"));
                }
            }
            Ack::Accepted { id } => {
                if !matches!(state, "accepted" | "in_progress" | "concluded") || case["receipt_number"].is_null() {
                    problems.push(format!("case {id} was accepted but is {state}"));
                }
            }
            Ack::Approved { id, task } => {
                let t = case["tasks"].as_array().and_then(|t| t.iter().find(|t| t["id"] == task.as_str()));
                if t.map(|t| t["state"].as_str()) != Some(Some("approved")) {
                    problems.push(format!("task {task} of {id} was approved but is not"));
                }
            }
        }
    }
    let filed = seen_keys.len();
    if listed.len() < filed || listed.len() > keys_sent {
        problems.push(format!(
            "{} cases after the restart for {filed} acknowledged and {keys_sent} sent keys",
            listed.len()
        ));
    }
    server.stop().await;
    // The chain, checked by the real binary as an operator would.
    let exe = std::env::current_exe()?;
    let out = tokio::process::Command::new(exe)
        .args(["audit", "verify", "--data-dir"])
        .arg(dir)
        .args(db_args)
        .output()
        .await
        .context("running onething audit verify")?;
    let chain = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        problems.push(format!("audit verify failed: {chain} {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    spinner.finish_and_clear();
    let mut counts = BTreeMap::new();
    for a in &acks {
        *counts.entry(kind(a)).or_insert(0) += 1;
    }
    Ok(Outcome { acked: acks.len(), counts, keys_sent, cases_after: listed.len(), problems, chain, client_errors })
}

/// `onething bench kill`.
pub async fn run(args: KillArgs) -> anyhow::Result<ExitCode> {
    let progress = Progress::new(args.target.quiet);
    let mut failed = false;
    for backend in args.target.backends()? {
        let name = backend.name();
        println!("kill — {name}: {} clients, SIGKILL after {} acknowledged operations", args.clients, args.kill_after);
        match once(&args, &backend, &progress).await {
            Ok(o) => {
                let counts: Vec<String> =
                    o.counts.iter().map(|(k, n)| format!("{} {k}", thousands(*n as u64))).collect();
                println!(
                    "  acknowledged before the kill: {} operations ({})",
                    thousands(o.acked as u64),
                    counts.join(", ")
                );
                println!("  filings sent: {}; cases after the restart: {}", o.keys_sent, o.cases_after);
                for e in &o.client_errors {
                    println!("  a client stopped on an unexpected answer: {e}");
                }
                println!("  audit verify: {}", o.chain);
                if o.problems.is_empty() && o.client_errors.is_empty() {
                    println!(
                        "  verdict: PASS — every acknowledged operation is there exactly once, replays find their case, the chain verifies"
                    );
                } else {
                    failed = true;
                    for p in o.problems.iter().take(20) {
                        println!("  problem: {p}");
                    }
                    println!("  verdict: FAIL — {} problem(s)", o.problems.len() + o.client_errors.len());
                }
            }
            Err(e) => {
                failed = true;
                println!("  verdict: FAIL — the run did not complete: {e:#}");
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// The SHA-256 (hex) of some bytes, as the store names a file.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    onething_store::hex(&sha2::Sha256::digest(bytes))
}
