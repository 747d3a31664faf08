//! The conformance suite: what every [`Store`] backend must do, written once against the trait and run by each
//! backend crate on fresh stores of its own (feature `testing`).
//!
//! Each case is an async function taking a fresh, empty store as `Arc<dyn Store>` (an `Arc` rather than a
//! reference because some cases commit from spawned tasks, which need `'static` handles). A backend runs them
//! all, one `#[tokio::test]` per case, with one line in its integration tests:
//!
//! ```ignore
//! // `fresh()` is an async fn returning (store, guard); the guard (a temp dir, a scratch database…) lives until
//! // the case is over and the store is closed.
//! onething_store::conformance_tests!(fresh());
//! // A backend that needs a server nobody may have (PostgreSQL) returns Option<(store, guard)> and skips on None:
//! onething_store::conformance_tests!(optional: fresh_or_skip());
//! ```
//!
//! The test crate needs `tokio` (with `macros` and `rt-multi-thread`) among its dev-dependencies. [`ALL`] lists
//! the same cases by name for a runner of its own.

use std::collections::BTreeSet;
use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use jiff::Timestamp;

use crate::{
    CaseFilter, CaseRow, CaseWrite, CatalogVersionRow, Changeset, Committed, EventRow, GENESIS, IdempotencyRow,
    MaterialRow, NewEvent, Store, StoreError, TaskFilter, TaskRow, TokenRow, UserRow, event_hash, to_millis,
    verify_chain,
};

/// One case of the suite, as a plain function pointer.
pub type Case = fn(Arc<dyn Store>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs one case on a store, then closes the store (so that a backend's files can be removed safely).
pub async fn run<S, F, Fut>(store: S, case: F)
where
    S: Store,
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let store: Arc<dyn Store> = Arc::new(store);
    case(Arc::clone(&store)).await;
    store.close().await;
}

/// Expands into one `#[tokio::test]` per case of the suite. The argument is an expression evaluating to a future
/// of `(store, guard)`; with `optional:` in front, of `Option<(store, guard)>`, and `None` skips the case.
#[macro_export]
macro_rules! conformance_tests {
    // The one list of cases, handed to a callback macro after the tokens in brackets.
    (@names $callback:path [$($args:tt)*]) => {
        $callback!($($args)*
            empty_store,
            case_insert_allocates_numbers,
            case_insert_with_existing_id_conflicts,
            case_update_checks_version,
            failed_changeset_persists_nothing,
            failed_check_rolls_back_the_whole_changeset,
            instants_keep_milliseconds,
            idempotency_key_is_unique_per_scope,
            users_upsert_by_username,
            tokens_resolve_to_their_user,
            case_filters,
            task_filters,
            events_form_global_and_case_chains,
            materials_upsert,
            catalog_version_insert_if_absent,
            concurrent_commits_all_succeed,
            concurrent_failures_are_isolated,
            closed_store_refuses_commits,
        );
    };
    (@cases [$mode:ident] $make:expr) => {
        $crate::conformance_tests!(@names $crate::conformance_tests [@each [$mode] $make;]);
    };
    (@each [$mode:ident] $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $crate::conformance_tests!(@run [$mode] $make, $name);
            }
        )*
    };
    (@run [required] $make:expr, $name:ident) => {{
        let (store, guard) = $make.await;
        $crate::conformance::run(store, $crate::conformance::$name).await;
        drop(guard);
    }};
    (@run [optional] $make:expr, $name:ident) => {{
        let Some((store, guard)) = $make.await else {
            eprintln!("skipped: no store to run {} on", stringify!($name));
            return;
        };
        $crate::conformance::run(store, $crate::conformance::$name).await;
        drop(guard);
    }};
    (optional: $make:expr) => {
        $crate::conformance_tests!(@cases [optional] $make);
    };
    ($make:expr) => {
        $crate::conformance_tests!(@cases [required] $make);
    };
}

macro_rules! all_cases {
    ($($name:ident),* $(,)?) => {
        /// Every case by name, in the order [`conformance_tests!`](crate::conformance_tests) runs them.
        pub const ALL: &[(&str, Case)] = &[$((stringify!($name), |store| Box::pin($name(store)))),*];
    };
}

crate::conformance_tests!(@names all_cases []);

// ---------------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------------

/// Unwraps a result or fails the case with what was being done.
trait Must<T> {
    fn must(self, doing: &str) -> T;
}

impl<T, E: Display> Must<T> for Result<T, E> {
    #[track_caller]
    fn must(self, doing: &str) -> T {
        match self {
            Ok(value) => value,
            Err(e) => panic!("{doing}: {e}"),
        }
    }
}

impl<T> Must<T> for Option<T> {
    #[track_caller]
    fn must(self, doing: &str) -> T {
        match self {
            Some(value) => value,
            None => panic!("{doing}: nothing found"),
        }
    }
}

/// An instant `s` seconds after 2026-11-30T00:00:00Z.
fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_796_083_200 + s).must("a fixture instant")
}

fn case_row(id: &str, bundle: &str, state: &str, owner: Option<&str>, created: i64) -> CaseRow {
    CaseRow {
        id: id.to_string(),
        number: String::new(),
        bundle: bundle.to_string(),
        catalog_version: "cv-1".to_string(),
        state: state.to_string(),
        owner: owner.map(str::to_string),
        due_at: None,
        created_at: at(created),
        updated_at: at(created),
        version: 0,
        doc: serde_json::json!({ "answers": { "employees": 3 }, "note": "申请人材料齐全" }),
    }
}

fn event(id: &str, case_id: Option<&str>, kind: &str, when: i64) -> NewEvent {
    NewEvent {
        id: id.to_string(),
        case_id: case_id.map(str::to_string),
        kind: kind.to_string(),
        actor: "user-1".to_string(),
        at: at(when),
        payload: format!(r#"{{"kind":"{kind}","n":{when}}}"#),
    }
}

/// A changeset that files a new case (with its `case_filed` event).
fn file_case(row: CaseRow, prefix: &str) -> Changeset {
    let filed = event(&format!("ev-{}-filed", row.id), Some(&row.id), "case_filed", 0);
    Changeset {
        case: Some(CaseWrite { row, expected_version: None, number_prefix: prefix.to_string() }),
        event: Some(filed),
        ..Changeset::default()
    }
}

/// A changeset that writes `row` over version `expected`, with an event.
fn update_case(row: CaseRow, expected: i64, event_id: &str) -> Changeset {
    let changed = event(event_id, Some(&row.id), "case_changed", 1);
    Changeset {
        case: Some(CaseWrite { row, expected_version: Some(expected), number_prefix: String::new() }),
        event: Some(changed),
        ..Changeset::default()
    }
}

fn task(id: &str, case_id: &str, department: &str, state: &str, due: Option<i64>) -> TaskRow {
    TaskRow {
        id: id.to_string(),
        case_id: case_id.to_string(),
        item: format!("item-{id}"),
        department: department.to_string(),
        state: state.to_string(),
        due_at: due.map(at),
        updated_at: at(0),
        doc: serde_json::json!({ "opinion": null }),
    }
}

fn material(case_id: &str, name: &str, sha256: &str, size: i64) -> MaterialRow {
    MaterialRow {
        case_id: case_id.to_string(),
        material: name.to_string(),
        sha256: sha256.to_string(),
        size,
        media_type: "application/pdf".to_string(),
        uploaded_at: at(size),
    }
}

fn user(id: &str, username: &str, roles: &[&str], department: Option<&str>, created: i64) -> UserRow {
    UserRow {
        id: id.to_string(),
        username: username.to_string(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1${username}"),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        department: department.map(str::to_string),
        created_at: at(created),
    }
}

fn idempotency(scope: &str, key: &str, case_id: &str) -> IdempotencyRow {
    IdempotencyRow {
        scope: scope.to_string(),
        key: key.to_string(),
        body_sha256: "b0d7".to_string(),
        case_id: case_id.to_string(),
        created_at: at(0),
    }
}

async fn commit(store: &Arc<dyn Store>, change: Changeset) -> Committed {
    store.commit(change).await.must("commit")
}

async fn filed(store: &Arc<dyn Store>, row: CaseRow, prefix: &str) -> CaseRow {
    commit(store, file_case(row, prefix)).await.case.must("the filed case")
}

fn ids(cases: &[CaseRow]) -> Vec<&str> {
    cases.iter().map(|c| c.id.as_str()).collect()
}

fn task_ids(tasks: &[TaskRow]) -> Vec<&str> {
    tasks.iter().map(|t| t.id.as_str()).collect()
}

async fn assert_chain_ok(store: &Arc<dyn Store>, events: i64) {
    let report = verify_chain(&**store).await.must("verify the chain");
    assert_eq!(report.broken, None, "the chain is broken");
    assert_eq!(report.events, events, "events in the chain");
}

// ---------------------------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------------------------

/// A new store is empty and its chain is the genesis.
pub async fn empty_store(store: Arc<dyn Store>) {
    assert_eq!(store.count_cases().await.must("count"), 0);
    assert_eq!(store.chain_head().await.must("head"), (0, GENESIS.to_string()));
    assert!(store.case("nope").await.must("case").is_none());
    assert!(store.task("nope").await.must("task").is_none());
    assert!(store.cases(&CaseFilter::default()).await.must("cases").is_empty());
    assert!(store.tasks(&TaskFilter::default()).await.must("tasks").is_empty());
    assert!(store.events_after(0, 10).await.must("events").is_empty());
    assert!(store.case_events("nope").await.must("case events").is_empty());
    assert_chain_ok(&store, 0).await;
}

/// Inserting cases allocates `prefix + 000001, 000002, …` per prefix, independently, at version 1.
pub async fn case_insert_allocates_numbers(store: Arc<dyn Store>) {
    let mut first = case_row("case-1", "open-restaurant", "draft", Some("user-1"), 0);
    first.number = "ignored".to_string();
    first.version = 42;
    let a = filed(&store, first, "YJS20261130").await;
    let b = filed(&store, case_row("case-2", "open-restaurant", "draft", None, 1), "YJS20261130").await;
    let c = filed(&store, case_row("case-3", "open-restaurant", "draft", None, 2), "QY20261130").await;
    let d = filed(&store, case_row("case-4", "open-restaurant", "draft", None, 3), "YJS20261130").await;
    assert_eq!(a.number, "YJS20261130000001");
    assert_eq!(b.number, "YJS20261130000002");
    assert_eq!(c.number, "QY20261130000001");
    assert_eq!(d.number, "YJS20261130000003");
    assert_eq!((a.version, b.version, c.version, d.version), (1, 1, 1, 1));
    for stored in [&a, &b, &c, &d] {
        assert_eq!(store.case(&stored.id).await.must("read back").as_ref(), Some(stored), "as stored");
    }
    assert_eq!(store.count_cases().await.must("count"), 4);
}

/// Inserting a case whose id exists is a conflict, and nothing of that changeset is kept (no event, no number).
pub async fn case_insert_with_existing_id_conflicts(store: Arc<dyn Store>) {
    let original = filed(&store, case_row("case-1", "b", "draft", None, 0), "N").await;
    let mut again = file_case(case_row("case-1", "other", "submitted", None, 5), "N");
    again.event = Some(event("ev-again", Some("case-1"), "case_filed", 5));
    match store.commit(again).await {
        Err(StoreError::Conflict { case_id }) => assert_eq!(case_id, "case-1"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.case("case-1").await.must("read").as_ref(), Some(&original));
    assert_eq!(store.chain_head().await.must("head").0, 1, "the failed changeset appended no event");
    assert_eq!(store.case_events("case-1").await.must("events").len(), 1);
    let next = filed(&store, case_row("case-2", "b", "draft", None, 1), "N").await;
    assert_eq!(next.number, "N000002", "a failed insert consumes no number");
    assert_chain_ok(&store, 2).await;
}

/// An update applies only over the expected version, sets `version = expected + 1`, and keeps the number and the
/// creation time; a stale version is a conflict.
pub async fn case_update_checks_version(store: Arc<dyn Store>) {
    let v1 = filed(&store, case_row("case-1", "b", "draft", Some("user-1"), 0), "P").await;
    let mut row = v1.clone();
    row.state = "submitted".to_string();
    row.number = String::new();
    row.updated_at = at(60);
    row.due_at = Some(at(86_400));
    row.doc = serde_json::json!({ "answers": { "employees": 4 } });
    let v2 = commit(&store, update_case(row.clone(), 1, "ev-2")).await.case.must("updated case");
    assert_eq!(v2.version, 2);
    assert_eq!(v2.number, "P000001", "the number is the case's for life");
    assert_eq!(v2.created_at, v1.created_at);
    assert_eq!(v2.state, "submitted");
    assert_eq!(v2.due_at, Some(at(86_400)));
    assert_eq!(store.case("case-1").await.must("read").as_ref(), Some(&v2));

    let mut stale = row.clone();
    stale.state = "withdrawn".to_string();
    match store.commit(update_case(stale, 1, "ev-stale")).await {
        Err(StoreError::Conflict { case_id }) => assert_eq!(case_id, "case-1"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.case("case-1").await.must("read").as_ref(), Some(&v2), "the stale write changed nothing");

    let mut missing = row.clone();
    missing.id = "case-unknown".to_string();
    assert!(matches!(store.commit(update_case(missing, 1, "ev-missing")).await, Err(StoreError::Conflict { .. })));

    row.state = "accepted".to_string();
    let v3 = commit(&store, update_case(row, 2, "ev-3")).await.case.must("updated case");
    assert_eq!((v3.version, v3.state.as_str()), (3, "accepted"));
    let events = store.case_events("case-1").await.must("events");
    assert_eq!(events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["ev-case-1-filed", "ev-2", "ev-3"]);
    assert_chain_ok(&store, 3).await;
}

/// A changeset that fails its version check leaves no trace: no task, material, idempotency key, user, token,
/// catalogue version or event.
pub async fn failed_changeset_persists_nothing(store: Arc<dyn Store>) {
    let v1 = filed(&store, case_row("case-1", "b", "draft", None, 0), "F").await;
    let head = store.chain_head().await.must("head");
    let mut change = update_case(v1.clone(), 7, "ev-stale");
    change.tasks = vec![task("task-1", "case-1", "market", "ready", Some(10))];
    change.materials = vec![material("case-1", "id_card", "aa", 10)];
    change.idempotency = Some(idempotency("user-1", "key-1", "case-1"));
    change.users = vec![user("user-9", "zhang.san", &["clerk"], Some("market"), 0)];
    change.tokens = vec![TokenRow {
        token_hash: "tok-1".to_string(),
        user_id: "user-9".to_string(),
        created_at: at(0),
        expires_at: at(3600),
    }];
    change.catalog_version = Some(CatalogVersionRow { version: "cv-9".to_string(), files: vec![], loaded_at: at(0) });
    assert!(matches!(store.commit(change).await, Err(StoreError::Conflict { .. })));

    assert_eq!(store.case("case-1").await.must("read").as_ref(), Some(&v1));
    assert!(store.task("task-1").await.must("task").is_none());
    assert!(store.materials("case-1").await.must("materials").is_empty());
    assert!(store.idempotency("user-1", "key-1").await.must("idempotency").is_none());
    assert!(store.user_by_name("zhang.san").await.must("user").is_none());
    assert!(store.token("tok-1").await.must("token").is_none());
    assert!(store.catalog_version("cv-9").await.must("catalogue").is_none());
    assert_eq!(store.chain_head().await.must("head"), head);
    assert!(store.events_after(1, 10).await.must("events").is_empty());
    assert_chain_ok(&store, 1).await;
}

/// A check that fails late in a changeset (a duplicate idempotency key) undoes what the changeset already wrote
/// (its case update, its tasks), and the next commit continues the chain without a gap.
pub async fn failed_check_rolls_back_the_whole_changeset(store: Arc<dyn Store>) {
    let mut first = file_case(case_row("case-1", "b", "draft", None, 0), "R");
    first.idempotency = Some(idempotency("user-1", "key-1", "case-1"));
    let v1 = commit(&store, first).await.case.must("case");

    let mut row = v1.clone();
    row.state = "submitted".to_string();
    let mut change = update_case(row.clone(), 1, "ev-dup");
    change.tasks = vec![task("task-1", "case-1", "market", "ready", None)];
    change.idempotency = Some(idempotency("user-1", "key-1", "case-1"));
    match store.commit(change).await {
        Err(StoreError::Duplicate { what }) => assert_eq!(what, "idempotency key"),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    assert_eq!(store.case("case-1").await.must("read").as_ref(), Some(&v1), "the case update was undone");
    assert!(store.task("task-1").await.must("task").is_none(), "the task was undone");
    assert_eq!(store.chain_head().await.must("head").0, 1);

    let ok = commit(&store, update_case(row, 1, "ev-ok")).await;
    assert_eq!(ok.case.must("case").version, 2);
    assert_eq!(ok.event.must("event").seq, 2, "no hole where the failed changeset was");
    assert_chain_ok(&store, 2).await;
}

/// Instants are kept to the millisecond: what a commit returns is what a read returns.
pub async fn instants_keep_milliseconds(store: Arc<dyn Store>) {
    let precise = Timestamp::from_nanosecond(1_796_083_200_123_456_789).must("an instant");
    let mut row = case_row("case-1", "b", "draft", None, 0);
    row.created_at = precise;
    row.updated_at = precise;
    row.due_at = Some(precise);
    let mut change = file_case(row, "T");
    change.tasks =
        vec![TaskRow { due_at: Some(precise), updated_at: precise, ..task("task-1", "case-1", "m", "ready", None) }];
    if let Some(e) = change.event.as_mut() {
        e.at = precise;
    }
    let done = commit(&store, change).await;
    let case = done.case.must("case");
    let ev = done.event.must("event");
    let millis = to_millis(precise);
    assert_eq!((case.created_at, case.updated_at, case.due_at), (millis, millis, Some(millis)));
    assert_eq!(ev.at, millis);
    assert_eq!(store.case("case-1").await.must("read").as_ref(), Some(&case));
    assert_eq!(store.case_events("case-1").await.must("events"), vec![ev]);
    let stored_task = store.task("task-1").await.must("task").must("the task");
    assert_eq!((stored_task.due_at, stored_task.updated_at), (Some(millis), millis));
    assert_chain_ok(&store, 1).await;
}

/// An idempotency key is unique per (scope, key): the second use is a duplicate; another scope may use it.
pub async fn idempotency_key_is_unique_per_scope(store: Arc<dyn Store>) {
    let mut first = file_case(case_row("case-1", "b", "draft", None, 0), "I");
    first.idempotency = Some(idempotency("user-1", "key-1", "case-1"));
    commit(&store, first).await;
    assert_eq!(
        store.idempotency("user-1", "key-1").await.must("lookup"),
        Some(idempotency("user-1", "key-1", "case-1"))
    );
    assert!(store.idempotency("user-2", "key-1").await.must("lookup").is_none());

    let mut second = file_case(case_row("case-2", "b", "draft", None, 1), "I");
    second.idempotency = Some(idempotency("user-1", "key-1", "case-2"));
    match store.commit(second).await {
        Err(StoreError::Duplicate { what }) => assert_eq!(what, "idempotency key"),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    assert!(store.case("case-2").await.must("read").is_none(), "the duplicate filed no case");

    let mut other_scope = file_case(case_row("case-3", "b", "draft", None, 2), "I");
    other_scope.idempotency = Some(idempotency("user-2", "key-1", "case-3"));
    commit(&store, other_scope).await;
    assert_eq!(store.idempotency("user-2", "key-1").await.must("lookup").must("row").case_id, "case-3");
}

/// Users are upserted by username (an existing one keeps its id and creation time) and found by name and id.
/// A changeset without case or event commits and returns neither.
pub async fn users_upsert_by_username(store: Arc<dyn Store>) {
    let alice = user("user-1", "alice", &["applicant"], None, 0);
    let done = commit(
        &store,
        Changeset { users: vec![alice.clone(), user("user-2", "bob", &[], None, 1)], ..Changeset::default() },
    )
    .await;
    assert_eq!(done, Committed { case: None, event: None });
    assert_eq!(store.chain_head().await.must("head"), (0, GENESIS.to_string()));
    assert_eq!(store.user_by_name("alice").await.must("lookup").as_ref(), Some(&alice));
    assert_eq!(store.user("user-1").await.must("lookup").as_ref(), Some(&alice));
    assert!(store.user_by_name("carol").await.must("lookup").is_none());
    assert!(store.user("user-9").await.must("lookup").is_none());

    let changed = user("user-3", "alice", &["clerk", "officer"], Some("market"), 99);
    commit(&store, Changeset { users: vec![changed], ..Changeset::default() }).await;
    let stored = store.user_by_name("alice").await.must("lookup").must("alice");
    assert_eq!(stored.id, "user-1", "the stored id is kept");
    assert_eq!(stored.created_at, alice.created_at, "the creation time is kept");
    assert_eq!(stored.roles, ["clerk", "officer"]);
    assert_eq!(stored.department.as_deref(), Some("market"));
    assert_eq!(stored.password_hash, user("x", "alice", &[], None, 0).password_hash);
    assert!(store.user("user-3").await.must("lookup").is_none());
    assert_eq!(store.user_by_name("bob").await.must("lookup").must("bob").roles, Vec::<String>::new());
}

/// A token resolves to itself and its user; an unknown token to nothing; a token hash is unique.
pub async fn tokens_resolve_to_their_user(store: Arc<dyn Store>) {
    let officer = user("user-1", "officer.li", &["officer"], Some("tax"), 0);
    let token = TokenRow {
        token_hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".to_string(),
        user_id: "user-1".to_string(),
        created_at: at(0),
        expires_at: at(86_400),
    };
    commit(&store, Changeset { users: vec![officer.clone()], tokens: vec![token.clone()], ..Changeset::default() })
        .await;
    assert_eq!(store.token(&token.token_hash).await.must("lookup"), Some((token.clone(), officer)));
    assert!(store.token("unknown").await.must("lookup").is_none());
    let again = store.commit(Changeset { tokens: vec![token], ..Changeset::default() }).await;
    assert!(matches!(again, Err(StoreError::Duplicate { .. })), "got {again:?}");
}

/// `cases()` filters by state, bundle, owner and department (a task of it), orders by creation, and limits.
pub async fn case_filters(store: Arc<dyn Store>) {
    /// (id, bundle, state, owner, departments of its tasks)
    type Spec = (&'static str, &'static str, &'static str, Option<&'static str>, &'static [&'static str]);
    let specs: [Spec; 4] = [
        ("case-1", "restaurant", "draft", Some("alice"), &[]),
        ("case-2", "restaurant", "submitted", Some("bob"), &["market"]),
        ("case-3", "hotel", "submitted", Some("alice"), &["market", "tax"]),
        ("case-4", "hotel", "accepted", None, &["tax"]),
    ];
    for (n, (id, bundle, state, owner, departments)) in specs.iter().enumerate() {
        let mut change = file_case(case_row(id, bundle, state, *owner, n as i64 * 60), "C");
        change.tasks = departments.iter().map(|d| task(&format!("{id}-{d}"), id, d, "ready", None)).collect::<Vec<_>>();
        commit(&store, change).await;
    }
    let list = |filter: CaseFilter| {
        let store = Arc::clone(&store);
        async move { store.cases(&filter).await.must("list cases") }
    };
    assert_eq!(ids(&list(CaseFilter::default()).await), ["case-4", "case-3", "case-2", "case-1"]);
    assert_eq!(
        ids(&list(CaseFilter { oldest_first: true, ..CaseFilter::default() }).await),
        ["case-1", "case-2", "case-3", "case-4"]
    );
    let by_state = CaseFilter { state: Some("submitted".into()), ..CaseFilter::default() };
    assert_eq!(ids(&list(by_state).await), ["case-3", "case-2"]);
    let by_bundle = CaseFilter { bundle: Some("restaurant".into()), oldest_first: true, ..CaseFilter::default() };
    assert_eq!(ids(&list(by_bundle).await), ["case-1", "case-2"]);
    let by_owner = CaseFilter { owner: Some("alice".into()), ..CaseFilter::default() };
    assert_eq!(ids(&list(by_owner).await), ["case-3", "case-1"]);
    let by_department = CaseFilter { department: Some("market".into()), ..CaseFilter::default() };
    assert_eq!(ids(&list(by_department).await), ["case-3", "case-2"], "each case once, however many tasks");
    let combined =
        CaseFilter { department: Some("tax".into()), state: Some("accepted".into()), ..CaseFilter::default() };
    assert_eq!(ids(&list(combined).await), ["case-4"]);
    let nobody = CaseFilter { department: Some("police".into()), ..CaseFilter::default() };
    assert!(list(nobody).await.is_empty());
    assert_eq!(ids(&list(CaseFilter { limit: 2, ..CaseFilter::default() }).await), ["case-4", "case-3"]);
    let oldest_two = CaseFilter { limit: 2, oldest_first: true, ..CaseFilter::default() };
    assert_eq!(ids(&list(oldest_two).await), ["case-1", "case-2"]);
    assert_eq!(list(CaseFilter { limit: -1, ..CaseFilter::default() }).await.len(), 4, "no limit means the cap");
}

/// `tasks()` filters by department, state and case, orders by due time (none last) then id, and limits; tasks
/// are upserted by id.
pub async fn task_filters(store: Arc<dyn Store>) {
    let mut one = file_case(case_row("case-1", "b", "accepted", None, 0), "T");
    one.tasks = vec![
        task("t-a", "case-1", "market", "ready", Some(100)),
        task("t-b", "case-1", "market", "ready", None),
        task("t-c", "case-1", "market", "waiting", Some(50)),
    ];
    commit(&store, one).await;
    let mut two = file_case(case_row("case-2", "b", "accepted", None, 1), "T");
    two.tasks = vec![task("t-d", "case-2", "tax", "ready", Some(10)), task("t-0", "case-2", "market", "ready", None)];
    commit(&store, two).await;

    let list = |filter: TaskFilter| {
        let store = Arc::clone(&store);
        async move { store.tasks(&filter).await.must("list tasks") }
    };
    assert_eq!(task_ids(&list(TaskFilter::default()).await), ["t-d", "t-c", "t-a", "t-0", "t-b"]);
    let market = TaskFilter { department: Some("market".into()), ..TaskFilter::default() };
    assert_eq!(task_ids(&list(market).await), ["t-c", "t-a", "t-0", "t-b"]);
    let market_ready =
        TaskFilter { department: Some("market".into()), state: Some("ready".into()), ..TaskFilter::default() };
    assert_eq!(task_ids(&list(market_ready).await), ["t-a", "t-0", "t-b"]);
    let of_case = TaskFilter { case_id: Some("case-2".into()), ..TaskFilter::default() };
    assert_eq!(task_ids(&list(of_case).await), ["t-d", "t-0"]);
    assert_eq!(task_ids(&list(TaskFilter { limit: 2, ..TaskFilter::default() }).await), ["t-d", "t-c"]);

    let mut approved = task("t-a", "case-1", "market", "approved", Some(100));
    approved.doc = serde_json::json!({ "opinion": "同意" });
    approved.updated_at = at(500);
    commit(&store, Changeset { tasks: vec![approved.clone()], ..Changeset::default() }).await;
    assert_eq!(store.task("t-a").await.must("task").as_ref(), Some(&approved));
    assert_eq!(list(TaskFilter::default()).await.len(), 5, "an upsert adds no row");
}

/// Events get `seq` from 1 without gaps, link to the previous event of the log and of their case, hash as
/// [`event_hash`] says, and the whole log verifies.
pub async fn events_form_global_and_case_chains(store: Arc<dyn Store>) {
    for (n, id) in ["case-1", "case-2", "case-3"].iter().enumerate() {
        commit(
            &store,
            Changeset { case: file_case(case_row(id, "b", "draft", None, n as i64), "E").case, ..Changeset::default() },
        )
        .await;
    }
    let plan: [(&str, Option<&str>); 7] = [
        ("e1", Some("case-1")),
        ("e2", Some("case-2")),
        ("e3", Some("case-1")),
        ("e4", None),
        ("e5", Some("case-3")),
        ("e6", Some("case-2")),
        ("e7", Some("case-1")),
    ];
    let mut appended: Vec<EventRow> = Vec::new();
    for (n, (id, case_id)) in plan.iter().enumerate() {
        let change = Changeset { event: Some(event(id, *case_id, "noted", n as i64)), ..Changeset::default() };
        appended.push(commit(&store, change).await.event.must("the event"));
    }
    let mut prev = GENESIS.to_string();
    for (n, e) in appended.iter().enumerate() {
        assert_eq!(e.seq, n as i64 + 1, "seq from 1 without gaps");
        assert_eq!(e.prev_hash, prev, "event {} links to the one before", e.seq);
        let case_prev = appended[..n]
            .iter()
            .rev()
            .find(|earlier| e.case_id.is_some() && earlier.case_id == e.case_id)
            .map_or_else(|| GENESIS.to_string(), |earlier| earlier.hash.clone());
        assert_eq!(e.case_prev_hash, case_prev, "event {} links to its case's event before", e.seq);
        let expected = event_hash(
            e.seq,
            &e.id,
            e.case_id.as_deref(),
            &e.kind,
            &e.actor,
            e.at,
            &e.payload,
            &e.prev_hash,
            &e.case_prev_hash,
        );
        assert_eq!(e.hash, expected);
        prev = e.hash.clone();
    }
    let of_case_1: Vec<EventRow> = [0, 2, 6].iter().map(|&i| appended[i].clone()).collect();
    assert_eq!(store.case_events("case-1").await.must("case events"), of_case_1);
    assert_eq!(store.events_after(0, 3).await.must("page"), appended[..3].to_vec());
    assert_eq!(store.events_after(3, 100).await.must("page"), appended[3..].to_vec());
    assert!(store.events_after(7, 100).await.must("page").is_empty());
    assert_eq!(store.chain_head().await.must("head"), (7, appended[6].hash.clone()));
    assert_chain_ok(&store, 7).await;
}

/// Materials are upserted by (case, material) and listed by material name.
pub async fn materials_upsert(store: Arc<dyn Store>) {
    let mut change = file_case(case_row("case-1", "b", "draft", None, 0), "M");
    change.materials = vec![material("case-1", "licence", "bb", 20), material("case-1", "id_card", "aa", 10)];
    commit(&store, change).await;
    let replaced = material("case-1", "id_card", "cc", 30);
    commit(&store, Changeset { materials: vec![replaced.clone()], ..Changeset::default() }).await;
    assert_eq!(
        store.materials("case-1").await.must("materials"),
        vec![replaced, material("case-1", "licence", "bb", 20)]
    );
    assert!(store.materials("case-2").await.must("materials").is_empty());
}

/// A catalogue version is inserted once; inserting it again keeps the first texts and is not an error.
pub async fn catalog_version_insert_if_absent(store: Arc<dyn Store>) {
    let first = CatalogVersionRow {
        version: "2026-11-30.1".to_string(),
        files: vec![
            ("departments.toml".to_string(), "[market]\nname = \"市场监管局\"\n".to_string()),
            ("bundles.toml".to_string(), "".to_string()),
        ],
        loaded_at: at(0),
    };
    commit(&store, Changeset { catalog_version: Some(first.clone()), ..Changeset::default() }).await;
    let second = CatalogVersionRow {
        files: vec![("other.toml".to_string(), "x".to_string())],
        loaded_at: at(9),
        ..first.clone()
    };
    commit(&store, Changeset { catalog_version: Some(second), ..Changeset::default() }).await;
    assert_eq!(store.catalog_version("2026-11-30.1").await.must("lookup"), Some(first));
    assert!(store.catalog_version("2026-12-01.1").await.must("lookup").is_none());
}

/// Fifty commits from concurrent tasks all succeed, with distinct numbers and one valid chain (on SQLite this is
/// group commit at work).
pub async fn concurrent_commits_all_succeed(store: Arc<dyn Store>) {
    let mut running = tokio::task::JoinSet::new();
    for n in 0..50 {
        let store = Arc::clone(&store);
        running.spawn(async move {
            let row = case_row(&format!("case-{n:02}"), "b", "draft", None, n);
            store.commit(file_case(row, "CC")).await
        });
    }
    let mut numbers = BTreeSet::new();
    let mut seqs = BTreeSet::new();
    while let Some(joined) = running.join_next().await {
        let done = joined.must("join a committing task").must("a concurrent commit");
        numbers.insert(done.case.must("case").number);
        seqs.insert(done.event.must("event").seq);
    }
    let expected: BTreeSet<String> = (1..=50).map(|n| format!("CC{n:06}")).collect();
    assert_eq!(numbers, expected);
    assert_eq!(seqs, (1..=50).collect::<BTreeSet<i64>>());
    assert_eq!(store.count_cases().await.must("count"), 50);
    assert_chain_ok(&store, 50).await;
}

/// Concurrent commits where some fail their checks: the failures change nothing and the others all land.
pub async fn concurrent_failures_are_isolated(store: Arc<dyn Store>) {
    let base = filed(&store, case_row("case-base", "b", "draft", None, 0), "X").await;
    let mut running = tokio::task::JoinSet::new();
    for n in 0..30 {
        let store = Arc::clone(&store);
        let base = base.clone();
        running.spawn(async move {
            let change = match n % 3 {
                // A new case: always succeeds.
                0 => file_case(case_row(&format!("case-{n:02}"), "b", "draft", None, n), "X"),
                // The same update of version 1: exactly one of these wins.
                1 => {
                    let mut row = base;
                    row.state = format!("state-{n}");
                    update_case(row, 1, &format!("ev-update-{n}"))
                }
                // The same idempotency key: exactly one of these wins.
                _ => {
                    let mut change = file_case(case_row(&format!("case-{n:02}"), "b", "draft", None, n), "X");
                    change.idempotency = Some(idempotency("user-1", "same-key", &format!("case-{n:02}")));
                    change
                }
            };
            (n % 3, store.commit(change).await)
        });
    }
    let (mut filed_ok, mut updates_ok, mut keyed_ok) = (0, 0, 0);
    while let Some(joined) = running.join_next().await {
        match joined.must("join a committing task") {
            (0, result) => {
                result.must("a plain insert");
                filed_ok += 1;
            }
            (1, Ok(_)) => updates_ok += 1,
            (1, Err(StoreError::Conflict { .. })) => {}
            (_, Ok(_)) => keyed_ok += 1,
            (_, Err(StoreError::Duplicate { .. })) => {}
            (kind, Err(e)) => panic!("unexpected failure of a kind-{kind} commit: {e}"),
        }
    }
    assert_eq!((filed_ok, updates_ok, keyed_ok), (10, 1, 1));
    assert_eq!(store.case("case-base").await.must("read").must("base").version, 2);
    assert_eq!(store.count_cases().await.must("count"), 1 + 10 + 1);
    let events = 1 + 10 + 1 + 1;
    assert_eq!(store.chain_head().await.must("head").0, events);
    assert_chain_ok(&store, events).await;
}

/// After `close`, commits are refused with [`StoreError::Closed`]; what was committed before stays.
pub async fn closed_store_refuses_commits(store: Arc<dyn Store>) {
    let kept = filed(&store, case_row("case-1", "b", "draft", None, 0), "Z").await;
    store.close().await;
    let refused = store.commit(file_case(case_row("case-2", "b", "draft", None, 1), "Z")).await;
    assert!(matches!(refused, Err(StoreError::Closed)), "got {refused:?}");
    // Closing twice is harmless.
    store.close().await;
    assert_eq!(kept.number, "Z000001");
}
