//! The integration tests of the SQLite store, in one binary: the backend-neutral conformance suite on a fresh
//! database file per test, then what only SQLite has — the file itself (tampering with it behind the store's
//! back, reopening it) and its settings.

// Test helpers outside `#[test]` functions unwrap too: a failure here is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use jiff::Timestamp;
use onething_store::{CaseRow, CaseWrite, Changeset, NewEvent, Store, verify_chain};
use onething_store_sqlite::{SqliteOptions, SqliteStore};
use tempfile::TempDir;

/// A store on a new file in a new temp dir; the dir lives as long as the returned guard.
async fn fresh() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = SqliteStore::open(SqliteOptions::new(dir.path().join("onething.db"))).await.expect("open the store");
    (store, dir)
}

onething_store::conformance_tests!(fresh());

/// Two stores on one file (two processes, say) claim watches at once: the write lock of SQLite keeps their claims
/// apart, so no watch is claimed twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_never_share_a_watch() {
    let (a, dir) = fresh().await;
    let b = SqliteStore::open(SqliteOptions::new(dir.path().join("onething.db"))).await.unwrap();
    let stores: [Arc<dyn Store>; 2] = [Arc::new(a), Arc::new(b)];
    onething_store::conformance::claims_from_stores_are_disjoint(&stores).await;
    for store in &stores {
        store.close().await;
    }
}

/// Files `cases` cases with one event each, then adds `extra` events to the first case.
async fn seed(store: &SqliteStore, cases: usize, extra: usize) {
    for n in 0..cases {
        let id = format!("case-{n}");
        let at = Timestamp::from_second(1_796_083_200 + n as i64).unwrap();
        let row = CaseRow {
            id: id.clone(),
            number: String::new(),
            bundle: "open-restaurant".into(),
            catalog_version: "cv-1".into(),
            state: "draft".into(),
            owner: None,
            applicant_name: String::new(),
            applicant_code: None,
            due_at: None,
            created_at: at,
            updated_at: at,
            version: 0,
            doc: "{}".into(),
        };
        let event = NewEvent {
            id: format!("ev-{id}"),
            case_id: Some(id),
            kind: "case_filed".into(),
            actor: "system".into(),
            at,
            payload: "{}".into(),
        };
        let change = Changeset {
            case: Some(CaseWrite { row, expected_version: None, number_prefix: "S".into() }),
            event: Some(event),
            ..Changeset::default()
        };
        store.commit(change).await.unwrap();
    }
    for n in 0..extra {
        let event = NewEvent {
            id: format!("ev-extra-{n}"),
            case_id: Some("case-0".into()),
            kind: "note_added".into(),
            actor: "user-1".into(),
            at: Timestamp::from_second(1_796_090_000 + n as i64).unwrap(),
            payload: format!(r#"{{"n":{n}}}"#),
        };
        store.commit(Changeset { event: Some(event), ..Changeset::default() }).await.unwrap();
    }
}

/// Runs one statement on the file through a connection of its own, as an attacker with file access would.
async fn tamper(store: &SqliteStore, sql: &'static str) {
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    assert_eq!(conn.execute(sql, []).unwrap(), 1, "{sql}");
}

#[tokio::test]
async fn altering_an_event_is_detected_at_its_seq() {
    let (store, _dir) = fresh().await;
    seed(&store, 3, 2).await;
    assert_eq!(verify_chain(&store).await.unwrap().broken, None);
    tamper(&store, r#"UPDATE events SET payload = '{"n":99}' WHERE seq = 4"#).await;
    let report = verify_chain(&store).await.unwrap();
    let broken = report.broken.expect("the alteration is detected");
    assert_eq!(broken.seq, 4);
    assert!(broken.reason.contains("altered"), "{}", broken.reason);
    store.close().await;
}

#[tokio::test]
async fn deleting_a_middle_event_is_detected_as_a_gap() {
    let (store, _dir) = fresh().await;
    seed(&store, 3, 2).await;
    tamper(&store, "DELETE FROM events WHERE seq = 3").await;
    let broken = verify_chain(&store).await.unwrap().broken.expect("the gap is detected");
    assert_eq!(broken.seq, 4);
    assert!(broken.reason.contains("expected event 3 next, found 4"), "{}", broken.reason);
    store.close().await;
}

#[tokio::test]
async fn deleting_the_last_event_is_detected_against_the_head() {
    let (store, _dir) = fresh().await;
    seed(&store, 3, 2).await;
    tamper(&store, "DELETE FROM events WHERE seq = 5").await;
    let report = verify_chain(&store).await.unwrap();
    assert_eq!(report.events, 4);
    let broken = report.broken.expect("the deletion is detected");
    assert_eq!(broken.seq, 5);
    assert!(broken.reason.contains("events were deleted"), "{}", broken.reason);
    store.close().await;
}

#[tokio::test]
async fn data_survives_close_and_reopen() {
    let (store, dir) = fresh().await;
    seed(&store, 4, 3).await;
    let head = store.chain_head().await.unwrap();
    let case = store.case_bundle("case-2").await.unwrap().unwrap();
    store.close().await;
    drop(store);

    let store = SqliteStore::open(SqliteOptions::new(dir.path().join("onething.db"))).await.unwrap();
    assert_eq!(store.chain_head().await.unwrap(), head);
    assert_eq!(store.case_bundle("case-2").await.unwrap(), Some(case));
    assert_eq!(store.count_cases().await.unwrap(), 4);
    // The writer picks the chain and the numbers up where they were.
    seed_more(&store).await;
    let report = verify_chain(&store).await.unwrap();
    assert_eq!((report.events, report.broken), (head.0 + 1, None));
    store.close().await;
}

/// Files one more case after a reopen and checks its number and seq continue.
async fn seed_more(store: &SqliteStore) {
    let at = Timestamp::from_second(1_796_100_000).unwrap();
    let row = CaseRow {
        id: "case-after-reopen".into(),
        number: String::new(),
        bundle: "b".into(),
        catalog_version: "cv-1".into(),
        state: "draft".into(),
        owner: None,
        applicant_name: String::new(),
        applicant_code: None,
        due_at: None,
        created_at: at,
        updated_at: at,
        version: 0,
        doc: "{}".into(),
    };
    let event = NewEvent {
        id: "ev-after-reopen".into(),
        case_id: Some(row.id.clone()),
        kind: "case_filed".into(),
        actor: "system".into(),
        at,
        payload: "{}".into(),
    };
    let done = store
        .commit(Changeset {
            case: Some(CaseWrite { row, expected_version: None, number_prefix: "S".into() }),
            event: Some(event),
            ..Changeset::default()
        })
        .await
        .unwrap();
    assert_eq!(done.case.unwrap().number, "S000005");
    assert_eq!(done.event.unwrap().seq, 8);
}

#[tokio::test]
async fn the_file_is_wal_with_full_sync_by_default() {
    let (store, _dir) = fresh().await;
    let pragmas = store.pragmas().await.unwrap();
    assert_eq!(pragmas.journal_mode, "wal");
    assert_eq!(pragmas.synchronous, 2, "FULL");
    assert!(pragmas.foreign_keys);
    assert!(pragmas.busy_timeout_ms > 0);
    // The journal mode is a property of the file: a plain connection sees it too.
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    store.close().await;
}

#[tokio::test]
async fn synchronous_normal_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteOptions { synchronous_full: false, ..SqliteOptions::new(dir.path().join("db").join("n.db")) };
    let store = SqliteStore::open(options).await.unwrap();
    assert_eq!(store.pragmas().await.unwrap().synchronous, 1, "NORMAL");
    assert!(store.path().ends_with("db/n.db"), "the missing directory was created");
    store.close().await;
    assert!(matches!(store.pragmas().await, Err(onething_store::StoreError::Closed)));
}

#[tokio::test]
async fn batches_of_one_still_commit_everything() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteOptions { max_batch: 1, read_connections: 1, ..SqliteOptions::new(dir.path().join("one.db")) };
    let store = Arc::new(SqliteStore::open(options).await.unwrap());
    let mut running = tokio::task::JoinSet::new();
    for n in 0..10 {
        let store = Arc::clone(&store);
        running.spawn(async move { seed_one(&store, n).await });
    }
    while let Some(joined) = running.join_next().await {
        joined.unwrap();
    }
    let report = verify_chain(&*store).await.unwrap();
    assert_eq!((report.events, report.broken), (10, None));
    store.close().await;
}

async fn seed_one(store: &SqliteStore, n: i64) {
    let event = NewEvent {
        id: format!("ev-{n}"),
        case_id: None,
        kind: "tick".into(),
        actor: "system".into(),
        at: Timestamp::from_second(1_796_083_200 + n).unwrap(),
        payload: "{}".into(),
    };
    store.commit(Changeset { event: Some(event), ..Changeset::default() }).await.unwrap();
}

#[tokio::test]
async fn a_database_error_fails_its_changeset_alone() {
    let (store, _dir) = fresh().await;
    let store = Arc::new(store);
    let mut running = tokio::task::JoinSet::new();
    for n in 0..20_i64 {
        let store = Arc::clone(&store);
        running.spawn(async move {
            if n % 4 == 0 {
                // A task of a case that does not exist: the foreign key refuses it.
                let task = onething_store::TaskRow {
                    id: format!("orphan-{n}"),
                    case_id: "no-such-case".into(),
                    item: "i".into(),
                    department: "market".into(),
                    state: "ready".into(),
                    due_at: None,
                    updated_at: Timestamp::from_second(1_796_083_200).unwrap(),
                    doc: "{}".into(),
                };
                let event = NewEvent {
                    id: format!("ev-orphan-{n}"),
                    case_id: None,
                    kind: "tick".into(),
                    actor: "system".into(),
                    at: Timestamp::from_second(1_796_083_200).unwrap(),
                    payload: "{}".into(),
                };
                let change = Changeset { tasks: vec![task], event: Some(event), ..Changeset::default() };
                (false, store.commit(change).await.is_ok())
            } else {
                seed_one(&store, n).await;
                (true, true)
            }
        });
    }
    while let Some(joined) = running.join_next().await {
        let (valid, ok) = joined.unwrap();
        assert_eq!(valid, ok);
    }
    assert!(store.task_bundle("orphan-0").await.unwrap().is_none());
    let report = verify_chain(&*store).await.unwrap();
    assert_eq!((report.events, report.broken), (15, None));
    store.close().await;
}

/// A database made by an earlier onething — migrated by sqlx, which recorded its migrations in
/// `_sqlx_migrations` — is taken up where it stands: the later migrations run, its rows stay, the chain verifies.
#[tokio::test]
async fn a_database_of_an_earlier_version_is_migrated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../../migrations/0001_initial.sql")).unwrap();
        conn.execute_batch(include_str!("../../migrations/0002_supervision.sql")).unwrap();
        conn.execute_batch(
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, \
             checksum BLOB NOT NULL, execution_time BIGINT NOT NULL); \
             INSERT INTO _sqlx_migrations VALUES (1, 'initial', 0, 1, x'00', 0), (2, 'supervision', 0, 1, x'00', 0); \
             INSERT INTO cases (id, number, bundle, catalog_version, state, owner, due_at, created_at, updated_at, \
             version, doc) VALUES ('c-1', 'YJS20261130000001', 'b', 'cv', 'draft', NULL, NULL, 0, 0, 1, \
             '{\"case\":{\"applicant\":{\"name\":\"聊城市鸿运物流有限公司\",\"credit_code\":\"91440300708461136T\"}}}'); \
             INSERT INTO users (id, username, password_hash, roles, department, created_at) \
             VALUES ('u-1', 'clerk', 'x', '[\"clerk\"]', NULL, 5);",
        )
        .unwrap();
    }
    let store = SqliteStore::open(SqliteOptions::new(&path)).await.unwrap();
    let case = store.case_bundle("c-1").await.unwrap().unwrap().case;
    assert_eq!(case.applicant_name, "聊城市鸿运物流有限公司", "the new columns are filled from the document");
    assert_eq!(case.applicant_code.as_deref(), Some("91440300708461136T"));
    let user = store.user_by_name("clerk").await.unwrap().unwrap();
    assert_eq!((user.display_name.as_str(), user.version, user.updated_at.as_millisecond()), ("clerk", 1, 5));
    store.close().await;
    drop(store);
    // Opening it again runs nothing twice.
    let store = SqliteStore::open(SqliteOptions::new(&path)).await.unwrap();
    assert_eq!(store.count_cases().await.unwrap(), 1);
    store.close().await;
}

/// A backup taken while the store serves is a database of its own with every row, files included.
#[tokio::test]
async fn a_backup_while_serving_holds_everything() {
    let (store, dir) = fresh().await;
    seed(&store, 3, 2).await;
    let copy = dir.path().join("backup.db");
    store.backup(&copy).await.unwrap();
    seed_one(&store, 99).await;
    let restored = SqliteStore::open(SqliteOptions::new(&copy)).await.unwrap();
    assert_eq!(restored.count_cases().await.unwrap(), 3);
    let report = verify_chain(&restored).await.unwrap();
    assert_eq!((report.events, report.broken), (5, None), "the copy is as it was when taken");
    assert!(store.backup(&copy).await.is_err(), "an existing file is never overwritten");
    restored.close().await;
    store.close().await;
}
