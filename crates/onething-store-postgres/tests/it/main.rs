//! The integration tests of the PostgreSQL store, in one binary: the backend-neutral conformance suite, each
//! case in a scratch schema of its own, then what only PostgreSQL has — several nodes (pools) writing to one
//! database at once, tampering with the tables behind the store's back, reopening.
//!
//! They need a server: set `ONETHING_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`).
//! Without it every test here is reported as ignored (the build script marks them), so that `cargo test` needs
//! nothing installed and never counts a test that did not run as passed.

// Test helpers outside `#[test]` functions unwrap too: a failure here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use onething_store::{
    CaseRow, CaseWrite, Changeset, Committed, NewEvent, Store, StoreError, TaskRow, UserRow, UserWrite, verify_chain,
};
use onething_store_postgres::{PostgresOptions, PostgresStore};
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection, Executor};

/// The variable naming the server the tests may use.
const URL_VARIABLE: &str = "ONETHING_TEST_POSTGRES_URL";

/// Drops its scratch schema when it goes out of scope, after the store is closed (the conformance macro drops
/// it last). `Drop` cannot await, so the drop runs on a runtime of its own in a thread of its own.
struct Scratch {
    options: PostgresOptions,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let options = self.options.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime: {e}"))?;
            runtime.block_on(options.drop_schema()).map_err(|e| e.to_string())
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("cannot drop the scratch schema {:?}: {e}", self.options.schema),
            Err(_) => eprintln!("dropping the scratch schema {:?} panicked", self.options.schema),
        }
    }
}

/// A new schema name, `t_` and 16 hex digits: random per process, and distinct within it.
fn scratch_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    format!("t_{:016x}", h.finish())
}

/// Options for a fresh scratch schema on the test server, with the guard that drops it.
fn scratch() -> (PostgresOptions, Scratch) {
    let url = std::env::var(URL_VARIABLE)
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| panic!("{URL_VARIABLE} names no PostgreSQL server (it was set when the tests were built)"));
    // Small pools: tests run in parallel, and some open two stores each.
    let options = PostgresOptions { max_connections: 6, schema: Some(scratch_name()), ..PostgresOptions::new(url) };
    (options.clone(), Scratch { options })
}

/// A store on a fresh, empty schema.
async fn fresh() -> (PostgresStore, Scratch) {
    let (options, guard) = scratch();
    let store = PostgresStore::open(options).await.expect("open the store");
    (store, guard)
}

onething_store::conformance_tests!(
    [#[cfg_attr(not(onething_pg), ignore = "needs PostgreSQL: set ONETHING_TEST_POSTGRES_URL")]] fresh()
);

/// Two stores — two pools, as two `onething serve` processes would have — on one fresh schema, opened at the
/// same time (so their migrations race too).
async fn two_nodes() -> (Arc<PostgresStore>, Arc<PostgresStore>, Scratch) {
    let (options, guard) = scratch();
    let (a, b) = tokio::join!(PostgresStore::open(options.clone()), PostgresStore::open(options));
    (Arc::new(a.expect("open node a")), Arc::new(b.expect("open node b")), guard)
}

/// An instant `s` seconds after 2026-11-30T00:00:00Z.
fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_796_083_200 + s).unwrap()
}

fn case_row(id: &str) -> CaseRow {
    CaseRow {
        id: id.to_string(),
        number: String::new(),
        bundle: "open-restaurant".into(),
        catalog_version: "cv-1".into(),
        state: "draft".into(),
        owner: None,
        applicant_name: String::new(),
        applicant_code: None,
        due_at: None,
        created_at: at(0),
        updated_at: at(0),
        version: 0,
        doc: serde_json::json!({ "count": 0 }).to_string(),
    }
}

fn event(id: &str, case_id: Option<&str>, kind: &str) -> NewEvent {
    NewEvent {
        id: id.to_string(),
        case_id: case_id.map(str::to_string),
        kind: kind.to_string(),
        actor: "system".into(),
        at: at(1),
        payload: format!(r#"{{"kind":"{kind}","id":"{id}"}}"#),
    }
}

fn file_case(id: &str, prefix: &str) -> Changeset {
    Changeset {
        case: Some(CaseWrite { row: case_row(id), expected_version: None, number_prefix: prefix.to_string() }),
        event: Some(event(&format!("ev-{id}"), Some(id), "case_filed")),
        ..Changeset::default()
    }
}

fn update_case(row: CaseRow, expected: i64, event_id: &str) -> Changeset {
    let case_id = row.id.clone();
    Changeset {
        case: Some(CaseWrite { row, expected_version: Some(expected), number_prefix: String::new() }),
        event: Some(event(event_id, Some(&case_id), "case_changed")),
        ..Changeset::default()
    }
}

/// Files `cases` cases with one event each, then adds `extra` events to the first case.
async fn seed(store: &PostgresStore, cases: usize, extra: usize) {
    for n in 0..cases {
        store.commit(file_case(&format!("case-{n}"), "S")).await.unwrap();
    }
    for n in 0..extra {
        let change = Changeset {
            event: Some(event(&format!("ev-extra-{n}"), Some("case-0"), "note_added")),
            ..Default::default()
        };
        store.commit(change).await.unwrap();
    }
}

/// A connection of its own to the store's schema, as an operator with psql (or an attacker) would have.
async fn raw(options: &PostgresOptions) -> PgConnection {
    let mut conn = PgConnection::connect(&options.url).await.unwrap();
    let schema = options.schema.as_deref().unwrap();
    conn.execute(AssertSqlSafe(format!("SET search_path TO \"{schema}\""))).await.unwrap();
    conn
}

async fn tamper(options: &PostgresOptions, sql: &'static str) {
    let mut conn = raw(options).await;
    let done = sqlx::query(sql).execute(&mut conn).await.unwrap();
    assert_eq!(done.rows_affected(), 1, "{sql}");
    conn.close().await.unwrap();
}

async fn assert_chain_ok(store: &PostgresStore, events: i64) {
    let report = verify_chain(store).await.unwrap();
    assert_eq!(report.broken, None, "the chain is broken");
    assert_eq!(report.events, events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(onething_pg), ignore = "needs PostgreSQL: set ONETHING_TEST_POSTGRES_URL")]
async fn two_nodes_filing_at_once_share_one_chain_and_one_numbering() {
    let (a, b, _guard) = two_nodes().await;
    let mut running = tokio::task::JoinSet::new();
    for n in 0..50 {
        for (node, store) in [("a", &a), ("b", &b)] {
            let store = Arc::clone(store);
            running.spawn(async move { store.commit(file_case(&format!("case-{node}-{n:02}"), "N")).await });
        }
    }
    let mut numbers = BTreeSet::new();
    let mut seqs = BTreeSet::new();
    while let Some(joined) = running.join_next().await {
        let done = joined.unwrap().expect("every filing commits");
        numbers.insert(done.case.unwrap().number);
        seqs.insert(done.event.unwrap().seq);
    }
    assert_eq!(numbers, (1..=100).map(|n| format!("N{n:06}")).collect::<BTreeSet<_>>(), "numbers without gaps");
    assert_eq!(seqs, (1..=100).collect::<BTreeSet<i64>>(), "one seq each, without gaps");
    for store in [&a, &b] {
        assert_eq!(store.count_cases().await.unwrap(), 100);
        assert_eq!(store.chain_head().await.unwrap().0, 100);
        assert_chain_ok(store, 100).await;
    }
    assert_eq!(a.events_after(0, 1000).await.unwrap(), b.events_after(0, 1000).await.unwrap());
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(onething_pg), ignore = "needs PostgreSQL: set ONETHING_TEST_POSTGRES_URL")]
async fn two_nodes_claiming_at_once_never_share_a_watch() {
    let (a, b, _guard) = two_nodes().await;
    let nodes: [Arc<dyn Store>; 2] = [a.clone(), b.clone()];
    onething_store::conformance::claims_from_stores_are_disjoint(&nodes).await;
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(onething_pg), ignore = "needs PostgreSQL: set ONETHING_TEST_POSTGRES_URL")]
async fn two_nodes_updating_one_case_lose_no_update() {
    let (a, b, _guard) = two_nodes().await;
    let base = a.commit(file_case("case-hot", "H")).await.unwrap().case.unwrap();

    // Round one: 2 × 20 updates of the same version 1. Exactly one wins, on whichever node.
    let mut running = tokio::task::JoinSet::new();
    for n in 0..20 {
        for (node, store) in [("a", &a), ("b", &b)] {
            let store = Arc::clone(store);
            let mut row = base.clone();
            row.state = format!("state-{node}-{n}");
            running.spawn(async move { store.commit(update_case(row, 1, &format!("ev-race-{node}-{n}"))).await });
        }
    }
    let (mut won, mut conflicts) = (0, 0);
    while let Some(joined) = running.join_next().await {
        match joined.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::Conflict { what }) => {
                assert!(what.contains("case-hot"), "{what}");
                conflicts += 1;
            }
            Err(e) => panic!("unexpected failure: {e}"),
        }
    }
    assert_eq!((won, conflicts), (1, 39));

    // Round two: 2 × 20 read-modify-write increments that retry on conflict. All land, none is lost.
    let mut running = tokio::task::JoinSet::new();
    for n in 0..20 {
        for (node, store) in [("a", &a), ("b", &b)] {
            let store = Arc::clone(store);
            running.spawn(async move {
                for attempt in 0..1000 {
                    let mut row = store.case_bundle("case-hot").await.unwrap().map(|b| b.case).unwrap();
                    let expected = row.version;
                    let mut doc: serde_json::Value = serde_json::from_str(&row.doc).unwrap();
                    let count = doc["count"].as_i64().unwrap();
                    doc["count"] = serde_json::json!(count + 1);
                    row.doc = doc.to_string();
                    match store.commit(update_case(row, expected, &format!("ev-inc-{node}-{n}-{attempt}"))).await {
                        Ok(done) => return done,
                        Err(StoreError::Conflict { .. }) => continue,
                        Err(e) => panic!("unexpected failure: {e}"),
                    }
                }
                panic!("no increment landed in 1000 attempts");
            });
        }
    }
    let mut seqs = BTreeSet::new();
    while let Some(joined) = running.join_next().await {
        let done: Committed = joined.unwrap();
        seqs.insert(done.event.unwrap().seq);
    }
    assert_eq!(seqs, (3..=42).collect::<BTreeSet<i64>>(), "the increments took seq 3 to 42, one each");
    let stored = b.case_bundle("case-hot").await.unwrap().map(|b| b.case).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&stored.doc).unwrap();
    assert_eq!((stored.version, doc["count"].as_i64()), (42, Some(40)));
    let history = a.case_events("case-hot").await.unwrap();
    assert_eq!(history.len(), 42);
    assert_eq!(history.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=42).collect::<Vec<i64>>());
    assert_chain_ok(&a, 42).await;
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(onething_pg), ignore = "needs PostgreSQL: set ONETHING_TEST_POSTGRES_URL")]
async fn altering_an_event_is_detected_at_its_seq() {
    let (store, guard) = fresh().await;
    seed(&store, 3, 2).await;
    assert_chain_ok(&store, 5).await;
    tamper(&guard.options, r#"UPDATE events SET payload = '{"n":99}' WHERE seq = 4"#).await;
    let broken = verify_chain(&store).await.unwrap().broken.expect("the alteration is detected");
    assert_eq!(broken.seq, 4);
    assert!(broken.reason.contains("altered"), "{}", broken.reason);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(onething_pg), ignore = "needs PostgreSQL: set ONETHING_TEST_POSTGRES_URL")]
async fn deleting_events_is_detected() {
    let (store, guard) = fresh().await;
    seed(&store, 3, 2).await;
    tamper(&guard.options, "DELETE FROM events WHERE seq = 5").await;
    let report = verify_chain(&store).await.unwrap();
    assert_eq!(report.events, 4);
    let broken = report.broken.expect("deleting the newest event is detected against the head");
    assert!(broken.reason.contains("events were deleted"), "{}", broken.reason);
    tamper(&guard.options, "DELETE FROM events WHERE seq = 2").await;
    let broken = verify_chain(&store).await.unwrap().broken.expect("the gap is detected");
    assert_eq!(broken.seq, 3);
    assert!(broken.reason.contains("expected event 2 next, found 3"), "{}", broken.reason);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(onething_pg), ignore = "needs PostgreSQL: set ONETHING_TEST_POSTGRES_URL")]
async fn data_survives_close_and_reopen() {
    let (store, guard) = fresh().await;
    seed(&store, 4, 3).await;
    let head = store.chain_head().await.unwrap();
    let case = store.case_bundle("case-2").await.unwrap().map(|b| b.case);
    store.close().await;
    assert!(matches!(store.commit(file_case("case-late", "S")).await, Err(StoreError::Closed)));
    assert_eq!(store.case_bundle("case-2").await.unwrap().map(|b| b.case), case, "reads go on after close");
    drop(store);

    // Opening again runs no migration twice and picks the chain and the numbers up where they were.
    let store = PostgresStore::open(guard.options.clone()).await.unwrap();
    assert_eq!(store.chain_head().await.unwrap(), head);
    assert_eq!(store.case_bundle("case-2").await.unwrap().map(|b| b.case), case);
    let done = store.commit(file_case("case-after-reopen", "S")).await.unwrap();
    assert_eq!(done.case.unwrap().number, "S000005");
    assert_eq!(done.event.unwrap().seq, head.0 + 1);
    assert_chain_ok(&store, head.0 + 1).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(onething_pg), ignore = "needs PostgreSQL: set ONETHING_TEST_POSTGRES_URL")]
async fn a_database_error_fails_its_changeset_alone() {
    let (store, _guard) = fresh().await;
    let store = Arc::new(store);
    let mut running = tokio::task::JoinSet::new();
    for n in 0..20_i64 {
        let store = Arc::clone(&store);
        running.spawn(async move {
            let tick = event(&format!("ev-{n}"), None, "tick");
            if n % 4 == 0 {
                // A task of a case that does not exist: the foreign key refuses it, and its event with it.
                let orphan = TaskRow {
                    id: format!("orphan-{n}"),
                    case_id: "no-such-case".into(),
                    item: "i".into(),
                    department: "market".into(),
                    state: "ready".into(),
                    due_at: None,
                    updated_at: at(0),
                    doc: "{}".to_string(),
                };
                let change = Changeset { tasks: vec![orphan], event: Some(tick), ..Changeset::default() };
                let refused = store.commit(change).await;
                assert!(matches!(refused, Err(StoreError::Backend(_))), "got {refused:?}");
                false
            } else {
                store.commit(Changeset { event: Some(tick), ..Changeset::default() }).await.unwrap();
                true
            }
        });
    }
    let mut landed = 0;
    while let Some(joined) = running.join_next().await {
        landed += i64::from(joined.unwrap());
    }
    assert_eq!(landed, 15);
    assert!(store.task_bundle("orphan-0").await.unwrap().is_none());
    assert_chain_ok(&store, 15).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(onething_pg), ignore = "needs PostgreSQL: set ONETHING_TEST_POSTGRES_URL")]
async fn unique_keys_are_named_like_on_sqlite() {
    let (store, _guard) = fresh().await;
    let user = |id: &str, username: &str| UserWrite {
        row: UserRow {
            id: id.into(),
            username: username.into(),
            display_name: username.into(),
            password_hash: "$argon2id$x".into(),
            roles: vec!["clerk".into()],
            department: None,
            disabled: false,
            must_change_password: false,
            id_number: None,
            external_id: None,
            profile: "{}".into(),
            created_at: at(0),
            updated_at: at(0),
            version: 0,
        },
        expected_version: None,
    };
    store.commit(Changeset { users: vec![user("user-1", "alice")], ..Changeset::default() }).await.unwrap();
    let same_id = store.commit(Changeset { users: vec![user("user-1", "bob")], ..Changeset::default() }).await;
    assert!(matches!(&same_id, Err(StoreError::Duplicate { what }) if what == "user id"), "got {same_id:?}");

    store.commit(Changeset { event: Some(event("ev-once", None, "tick")), ..Changeset::default() }).await.unwrap();
    let again = store.commit(Changeset { event: Some(event("ev-once", None, "tick")), ..Changeset::default() }).await;
    assert!(matches!(&again, Err(StoreError::Duplicate { what }) if what == "event id"), "got {again:?}");
    let next = store.commit(Changeset { event: Some(event("ev-next", None, "tick")), ..Changeset::default() }).await;
    assert_eq!(next.unwrap().event.unwrap().seq, 2, "the refused event left no hole");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(onething_pg), ignore = "needs PostgreSQL: set ONETHING_TEST_POSTGRES_URL")]
async fn schemas_keep_stores_apart() {
    let ((one, one_guard), (two, _two_guard)) = (fresh().await, fresh().await);
    one.commit(file_case("case-1", "A")).await.unwrap();
    assert_eq!((one.count_cases().await.unwrap(), two.count_cases().await.unwrap()), (1, 0));
    assert_eq!(two.chain_head().await.unwrap().0, 0);
    // The tables, and sqlx's record of the migrations, are in the store's own schema.
    let mut conn = raw(&one_guard.options).await;
    let schema = one_guard.options.schema.clone().unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name",
    )
    .bind(&schema)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for table in ["_sqlx_migrations", "cases", "chain_head", "events", "number_sequences", "tasks"] {
        assert!(tables.iter().any(|t| t == table), "{table} is missing from {tables:?}");
    }
    conn.close().await.unwrap();
    one.close().await;
    two.close().await;

    // Dropping a scratch schema leaves nothing behind; the default schema is never dropped.
    one_guard.options.drop_schema().await.unwrap();
    let mut conn = PgConnection::connect(&one_guard.options.url).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_namespace WHERE nspname = $1")
        .bind(&schema)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 0);
    conn.close().await.unwrap();
    let public = PostgresOptions::new(one_guard.options.url.clone());
    assert!(matches!(public.drop_schema().await, Err(StoreError::Backend(_))));
}

/// A commit that PostgreSQL aborts to break a deadlock is run again and lands. The deadlock is staged: another
/// connection holds task t2 and, once the commit holds t1 and waits for t2, asks for t1. That connection waits
/// a minute before looking for deadlocks, the store's backend the server's default second, so the store's
/// transaction is the one PostgreSQL aborts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(onething_pg), ignore = "needs PostgreSQL: set ONETHING_TEST_POSTGRES_URL")]
async fn a_deadlocked_commit_is_retried() {
    let (store, guard) = fresh().await;
    let store = Arc::new(store);
    let task = |id: &str, note: &str| TaskRow {
        id: id.into(),
        case_id: "case-1".into(),
        item: "i".into(),
        department: "market".into(),
        state: "ready".into(),
        due_at: None,
        updated_at: at(0),
        doc: serde_json::json!({ "note": note }).to_string(),
    };
    let mut first = file_case("case-1", "D");
    first.tasks = vec![task("t1", "filed"), task("t2", "filed")];
    store.commit(first).await.unwrap();

    let mut other = raw(&guard.options).await;
    other.execute("BEGIN").await.unwrap();
    if let Err(e) = other.execute("SET LOCAL deadlock_timeout = '60s'").await {
        // Only a superuser may change it; without it the staging is not deterministic.
        panic!("the test needs a superuser connection to set deadlock_timeout: {e}");
    }
    other.execute(r#"UPDATE tasks SET doc = '{"note":"other"}' WHERE id = 't2'"#).await.unwrap();

    let committing = {
        let store = Arc::clone(&store);
        let mut change =
            Changeset { event: Some(event("ev-both", Some("case-1"), "tasks_changed")), ..Default::default() };
        change.tasks = vec![task("t1", "store"), task("t2", "store")];
        tokio::spawn(async move { store.commit(change).await })
    };
    // Wait until the store's transaction holds t1 and waits for t2 (which this connection holds).
    let mut waiting = 0_i64;
    for _ in 0..10_000 {
        waiting = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))",
        )
        .fetch_one(&mut other)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(waiting, 1, "the store's transaction waits for this connection");
    // Close the cycle. PostgreSQL aborts the store's transaction, which lets this update through.
    other.execute(r#"UPDATE tasks SET doc = '{"note":"other"}' WHERE id = 't1'"#).await.unwrap();
    other.execute("COMMIT").await.unwrap();
    other.close().await.unwrap();

    let done = committing.await.unwrap().expect("the deadlocked commit was run again and landed");
    assert_eq!(done.event.unwrap().seq, 2);
    for id in ["t1", "t2"] {
        assert_eq!(
            store.task_bundle(id).await.unwrap().unwrap().0.doc,
            serde_json::json!({ "note": "store" }).to_string()
        );
    }
    assert_chain_ok(&store, 2).await;
    store.close().await;
}
