//! Moving an installation: a case lives its life on SQLite, `onething export` writes it out, `onething import`
//! puts it into PostgreSQL, and back into a new SQLite data directory, where a server reads the case back as
//! it was — state, results, events with the same hashes, material files. The chain verifies at every stop.
//!
//! The PostgreSQL stop needs `ONETHING_TEST_POSTGRES_URL`; without it the test says so and makes that stop on
//! SQLite instead, so the rest still runs.

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

use super::life::{approve, close_form, company, file_complete, ready_tasks, transport_form};
use super::server::{Api, TestServer};
use super::{assert_clean_failure, onething, stderr, stdout};

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn run(args: Vec<String>) -> Output {
    onething(&strs(&args))
}

fn assert_success(o: &Output) {
    assert!(o.status.success(), "stdout: {}\nstderr: {}", stdout(o), stderr(o));
    assert!(!stderr(o).contains("panicked"), "{}", stderr(o));
}

/// `onething export` of a data directory (and database) to a file.
fn export(dir: &Path, db: &[String], to: &Path) -> Output {
    let mut args = vec!["export".to_string(), "--data-dir".into(), dir.display().to_string()];
    args.extend(db.iter().cloned());
    args.extend(["--output".to_string(), to.display().to_string()]);
    run(args)
}

/// `onething import` of a file into a data directory (and database).
fn import(file: &Path, dir: &Path, db: &[String]) -> Output {
    let mut args =
        vec!["import".to_string(), file.display().to_string(), "--data-dir".into(), dir.display().to_string()];
    args.extend(db.iter().cloned());
    run(args)
}

fn audit_verify(dir: &Path, db: &[String]) -> Output {
    let mut args = vec!["audit".to_string(), "verify".into(), "--data-dir".into(), dir.display().to_string()];
    args.extend(db.iter().cloned());
    run(args)
}

/// The lines of an export after its header (which names the source and the time).
fn body(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file).unwrap().lines().skip(1).map(str::to_string).collect()
}

/// A fresh PostgreSQL schema for the middle stop, or `None` (and a line saying so) without a server.
fn postgres() -> Option<(String, String)> {
    let url = std::env::var("ONETHING_TEST_POSTGRES_URL").ok().filter(|u| !u.trim().is_empty())?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    Some((url, format!("it_transfer_{}_{}", std::process::id(), nanos % 1_000_000_000)))
}

/// What the applicant sees of a case: the case, its events, its first material's bytes.
async fn read_back(api: &Api, token: &str, id: &str) -> (Value, Value, Value) {
    let case = api.get(&format!("/api/v1/cases/{id}"), token).await;
    assert_eq!(case.status, 200, "{}", case.body);
    let material = case.body["materials"][0]["code"].as_str().unwrap().to_string();
    let events = api.get(&format!("/api/v1/cases/{id}/events"), token).await;
    assert_eq!(events.status, 200, "{}", events.body);
    let file = api.get(&format!("/api/v1/cases/{id}/materials/{material}"), token).await;
    assert_eq!(file.status, 200, "{}", file.body);
    (case.body, events.body, file.body)
}

/// The fields of a case that a move must keep (the rest may be computed from the time of the request).
fn kept(case: &Value) -> Value {
    json!({
        "id": case["id"], "number": case["number"], "state": case["state"], "outcome": case["outcome"],
        "receipt_number": case["receipt_number"], "due_at": case["due_at"], "results": case["results"],
        "materials": case["materials"], "form": case["form"],
        "tasks": case["tasks"].as_array().map(|t| t.iter().map(|t| json!([t["id"], t["state"]])).collect::<Vec<_>>()),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installation_moves_to_postgres_and_back_to_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("c"));

    // A life on SQLite: one case concluded with three results, another left as a draft.
    let mut server = TestServer::start_on(&a, Vec::new(), &[]);
    let api = server.api();
    let applicant = api.login("applicant").await;
    let clerk = api.login("clerk").await;
    let case = file_complete(
        &api,
        &applicant,
        "open-transport-company",
        transport_form(),
        company("聊城市鸿运物流有限公司", "91440300708461136T"),
    )
    .await;
    let id = case["id"].as_str().unwrap().to_string();
    assert_eq!(api.post(&format!("/api/v1/cases/{id}/submit"), &applicant, json!({})).await.status, 200);
    assert_eq!(api.post(&format!("/api/v1/cases/{id}/accept"), &clerk, json!({})).await.status, 200);
    for officer in ["officer-approval", "officer-transport", "officer-transport"] {
        let token = api.login(officer).await;
        let ready = ready_tasks(&api, &token).await;
        assert_eq!(ready.len(), 1, "{officer}");
        approve(&api, &token, &ready[0]).await;
    }
    file_complete(
        &api,
        &clerk,
        "close-company",
        close_form(),
        company("聊城市旧时光商贸有限公司", "91330100799655058B"),
    )
    .await;
    let (before, events, file) = read_back(&api, &applicant, &id).await;
    assert_eq!(before["state"], "concluded");
    assert_eq!(before["results"].as_array().map(Vec::len), Some(3));
    server.kill();
    assert_success(&audit_verify(&a, &[]));

    // Out of SQLite.
    let first = tmp.path().join("from-sqlite.jsonl");
    let o = export(&a, &[], &first);
    assert_success(&o);
    assert!(stderr(&o).contains("intact"), "{}", stderr(&o));
    let text = std::fs::read_to_string(&first).unwrap();
    let header: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!((header["format"].as_str(), header["version"].as_u64()), (Some("onething-export"), Some(1)));
    assert_eq!(header["source"], "sqlite");
    let end: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(end["end"], true);
    assert_eq!(end["rows"].as_u64(), Some(text.lines().count() as u64 - 2));
    assert!(end["chain_head"]["seq"].as_i64().unwrap() >= events.as_array().unwrap().len() as i64);

    // Into PostgreSQL (or a second SQLite directory without a server).
    let pg = postgres();
    let middle: Vec<String> = match &pg {
        Some((url, schema)) => vec!["--database-url".into(), url.clone(), "--database-schema".into(), schema.clone()],
        None => {
            eprintln!("skipped the PostgreSQL stop: ONETHING_TEST_POSTGRES_URL is not set (moving SQLite to SQLite)");
            Vec::new()
        }
    };
    let o = import(&first, &b, &middle);
    assert_success(&o);
    assert!(stdout(&o).contains("the chain is intact"), "{}", stdout(&o));
    assert!(!stderr(&o).contains("missing"), "the files travel in the export: {}", stderr(&o));
    let o = audit_verify(&b, &middle);
    assert_success(&o);
    assert!(stdout(&o).contains("intact"), "{}", stdout(&o));
    // A second import into the same database is refused.
    let o = import(&first, &b, &middle);
    assert_clean_failure(&o);
    assert!(stderr(&o).contains("already holds data"), "{}", stderr(&o));

    // Out again: the same rows, line for line.
    let second = tmp.path().join("from-middle.jsonl");
    assert_success(&export(&b, &middle, &second));
    assert_eq!(body(&second), body(&first), "the rows survive the move verbatim");
    if pg.is_some() {
        let text = std::fs::read_to_string(&second).unwrap();
        let header: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(header["source"], "postgres");
    }

    // Into a new SQLite data directory.
    let o = import(&second, &c, &[]);
    assert_success(&o);
    assert!(stdout(&o).contains("the chain is intact"), "{}", stdout(&o));
    assert!(!stderr(&o).contains("missing"), "{}", stderr(&o));
    assert_success(&audit_verify(&c, &[]));

    // A server on the final copy reads the case back as it was; the applicant's session moved too.
    let server = TestServer::start_on(&c, Vec::new(), &[]);
    let api = server.api();
    let (after, events_after, file_after) = read_back(&api, &applicant, &id).await;
    assert_eq!(kept(&after), kept(&before));
    assert_eq!(events_after, events, "the same events with the same hashes");
    assert_eq!(file_after, file, "the same material bytes");
    // And the installation goes on: a new case gets the next number of its day.
    let token = api.login("clerk").await;
    let next = file_complete(
        &api,
        &token,
        "close-company",
        close_form(),
        company("聊城市新商贸有限公司", "91330100799655058B"),
    )
    .await;
    assert_ne!(next["number"], before["number"]);
    drop(server);

    if let Some((url, schema)) = pg {
        let options = onething_store_postgres::PostgresOptions {
            schema: Some(schema),
            ..onething_store_postgres::PostgresOptions::new(url)
        };
        options.drop_schema().await.unwrap();
    }
}

/// A damaged export is refused before anything is written, naming the line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_exports_are_refused_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("source");
    let mut server = TestServer::start_on(&source, Vec::new(), &[]);
    let api = server.api();
    let clerk = api.login("clerk").await;
    file_complete(
        &api,
        &clerk,
        "close-company",
        close_form(),
        company("聊城市旧时光商贸有限公司", "91330100799655058B"),
    )
    .await;
    server.kill();
    let good = tmp.path().join("good.jsonl");
    assert_success(&export(&source, &[], &good));
    let lines: Vec<String> = std::fs::read_to_string(&good).unwrap().lines().map(str::to_string).collect();

    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        ("truncated", lines[..lines.len() - 1].to_vec(), "truncated"),
        (
            "cut mid-line",
            {
                let mut l = lines[..lines.len() - 1].to_vec();
                let last = l.pop().unwrap();
                l.push(last[..last.len() / 2].to_string());
                l
            },
            "line ",
        ),
        (
            "bad row",
            {
                let mut l = lines.clone();
                l[3] = r#"{"table":"cases","row":{"id":"x"}}"#.to_string();
                l
            },
            "line 4",
        ),
        (
            "unknown table",
            {
                let mut l = lines.clone();
                l[2] = r#"{"table":"secrets","row":{}}"#.to_string();
                l
            },
            "line 3",
        ),
        ("not an export", vec!["{\"hello\":1}".to_string()], "line 1"),
        (
            "counts differ",
            {
                let mut l = lines.clone();
                l.remove(2);
                l
            },
            "damaged",
        ),
        (
            "a blob left out (the counts made to match)",
            {
                let mut l = lines.clone();
                let at = l.iter().position(|line| line.starts_with(r#"{"table":"blobs""#)).expect("a blob line");
                l.remove(at);
                let mut end: Value = serde_json::from_str(l.last().unwrap()).unwrap();
                end["rows"] = json!(end["rows"].as_u64().unwrap() - 1);
                end["counts"]["blobs"] = json!(end["counts"]["blobs"].as_u64().unwrap() - 1);
                *l.last_mut().unwrap() = end.to_string();
                l
            },
            "does not carry",
        ),
    ];
    for (what, content, expected) in cases {
        let file = tmp.path().join(format!("{}.jsonl", what.replace(' ', "-")));
        std::fs::write(&file, content.join("\n") + "\n").unwrap();
        let target = tmp.path().join(format!("target-{}", what.replace(' ', "-")));
        let o = import(&file, &target, &[]);
        assert_clean_failure(&o);
        assert!(stderr(&o).contains(expected), "{what}: {}", stderr(&o));
        assert!(!target.join("onething.db").exists(), "{what}: nothing written");
    }
    // Exports to a file never leave a half-written one under its name.
    let o = run(vec!["export".into(), "--data-dir".into(), tmp.path().join("nothing").display().to_string()]);
    assert_clean_failure(&o);
    assert!(stderr(&o).contains("no database"), "{}", stderr(&o));
}
