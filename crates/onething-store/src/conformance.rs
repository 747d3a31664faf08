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
//! // A backend that needs a server nobody may have (PostgreSQL) marks the cases ignored without one, so that
//! // they are reported as such, never as passed:
//! onething_store::conformance_tests!([#[cfg_attr(not(has_server), ignore = "needs a server")]] fresh());
//! ```
//!
//! A few cases need two stores — a source and a fresh target, for moving an installation with
//! [`Store::dump`] and [`Store::restore`]: the macro makes both with the same expression (evaluated twice).
//!
//! The test crate needs `tokio` (with `macros` and `rt-multi-thread`) among its dev-dependencies. [`ALL`] lists
//! the same cases by name for a runner of its own ([`ALL_PAIRS`] the two-store cases). [`claims_from_stores_are_disjoint`] is for a backend that can
//! open several stores (nodes) on one database: it checks that their concurrent claims never overlap.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use jiff::Timestamp;

use crate::{
    BlobRow, CaseFilter, CaseRow, CaseWrite, CatalogVersionRow, Changeset, ColourCount, Committed, EventRow, GENESIS,
    IdempotencyRow, MaterialRow, NewEvent, Probe, RecordFilter, RecordRow, RecordWrite, Revocation, Store, StoreError,
    Table, TaskFilter, TaskRow, TokenRow, UserFilter, UserRow, UserWrite, WatchRow, WatchWrite, event_hash, to_millis,
    verify_chain,
};

/// One case of the suite, as a plain function pointer.
pub type Case = fn(Arc<dyn Store>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// One case on two fresh stores (a source and a target), as a plain function pointer.
pub type PairCase = fn(Arc<dyn Store>, Arc<dyn Store>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

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

/// Runs one two-store case, then closes both stores.
pub async fn run_pair<S, F, Fut>(source: S, target: S, case: F)
where
    S: Store,
    F: FnOnce(Arc<dyn Store>, Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let source: Arc<dyn Store> = Arc::new(source);
    let target: Arc<dyn Store> = Arc::new(target);
    case(Arc::clone(&source), Arc::clone(&target)).await;
    source.close().await;
    target.close().await;
}

/// Expands into one `#[tokio::test]` per case of the suite. The argument is an expression evaluating to a future
/// of `(store, guard)`, optionally preceded by `[attributes]` every generated test carries.
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
            users_insert_once_and_update_over_their_version,
            tokens_resolve_and_revoke,
            case_filters,
            task_filters,
            events_form_global_and_case_chains,
            materials_and_their_files,
            catalog_version_insert_if_absent,
            concurrent_commits_all_succeed,
            concurrent_failures_are_isolated,
            closed_store_refuses_commits,
            watch_insert_replace_and_versioned_update,
            watch_conflict_fails_the_whole_changeset,
            watch_writes_clear_the_lease,
            claims_take_due_watches_earliest_first,
            concurrent_claims_are_disjoint,
            case_watches_by_subject,
            colour_counts_by_department_and_colour,
            watches_by_colour_most_overdue_first,
            records_are_versioned,
            concurrent_versioned_writers_lose_nothing,
            record_filters_and_counts,
            tasks_updated_in_a_period,
            dump_pages_in_key_order,
            restore_refuses_tables_with_rows,
            restore_takes_rows_verbatim_or_not_at_all,
            cases_are_read_whole,
            probes_write_through_the_commit_path,
            wipe_empties_every_table,
        );
    };
    // The cases on two stores.
    (@pair_names $callback:path [$($args:tt)*]) => {
        $callback!($($args)*
            dump_and_restore_round_trip,
        );
    };
    (@cases [$mode:ident] $attrs:tt $make:expr) => {
        $crate::conformance_tests!(@names $crate::conformance_tests [@each [$mode] $attrs $make;]);
        $crate::conformance_tests!(@pair_names $crate::conformance_tests [@each_pair [$mode] $attrs $make;]);
    };
    (@each_pair [$mode:ident] $attrs:tt $make:expr; $($name:ident),* $(,)?) => {
        $( $crate::conformance_tests!(@one_pair $attrs [$mode] $make, $name); )*
    };
    (@one_pair [$($attr:tt)*] [$mode:ident] $make:expr, $name:ident) => {
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $($attr)*
        async fn $name() {
            $crate::conformance_tests!(@run_pair [$mode] $make, $name);
        }
    };
    (@run_pair [required] $make:expr, $name:ident) => {{
        let (source, source_guard) = $make.await;
        let (target, target_guard) = $make.await;
        $crate::conformance::run_pair(source, target, $crate::conformance::$name).await;
        drop((source_guard, target_guard));
    }};
    (@each [$mode:ident] $attrs:tt $make:expr; $($name:ident),* $(,)?) => {
        $( $crate::conformance_tests!(@one $attrs [$mode] $make, $name); )*
    };
    (@one [$($attr:tt)*] [$mode:ident] $make:expr, $name:ident) => {
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $($attr)*
        async fn $name() {
            $crate::conformance_tests!(@run [$mode] $make, $name);
        }
    };
    (@run [required] $make:expr, $name:ident) => {{
        let (store, guard) = $make.await;
        $crate::conformance::run(store, $crate::conformance::$name).await;
        drop(guard);
    }};
    // Attributes for every test (e.g. `#[cfg_attr(not(has_server), ignore = "needs a server")]`, so that a
    // backend whose server is missing reports its cases as ignored, never as passed).
    ([$(#[$attr:meta])*] $make:expr) => {
        $crate::conformance_tests!(@cases [required] [$(#[$attr])*] $make);
    };
    ($make:expr) => {
        $crate::conformance_tests!(@cases [required] [] $make);
    };
}

macro_rules! all_cases {
    ($($name:ident),* $(,)?) => {
        /// Every case by name, in the order [`conformance_tests!`](crate::conformance_tests) runs them.
        pub const ALL: &[(&str, Case)] = &[$((stringify!($name), |store| Box::pin($name(store)))),*];
    };
}

crate::conformance_tests!(@names all_cases []);

macro_rules! all_pairs {
    ($($name:ident),* $(,)?) => {
        /// Every two-store case by name, in the order [`conformance_tests!`](crate::conformance_tests) runs them.
        pub const ALL_PAIRS: &[(&str, PairCase)] =
            &[$((stringify!($name), |source, target| Box::pin($name(source, target)))),*];
    };
}

crate::conformance_tests!(@pair_names all_pairs []);

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
        applicant_name: format!("聊城市{id}物流有限公司"),
        applicant_code: Some("91440300708461136T".to_string()),
        due_at: None,
        created_at: at(created),
        updated_at: at(created),
        version: 0,
        doc: serde_json::json!({ "answers": { "employees": 3 }, "note": "申请人材料齐全" }).to_string(),
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
        doc: serde_json::json!({ "opinion": null }).to_string(),
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

/// A user as the store keeps it after its insert (version 1).
fn user(id: &str, username: &str, roles: &[&str], department: Option<&str>, created: i64) -> UserRow {
    UserRow {
        id: id.to_string(),
        username: username.to_string(),
        display_name: format!("用户 {username}"),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1${username}"),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        department: department.map(str::to_string),
        disabled: false,
        must_change_password: false,
        id_number: None,
        external_id: None,
        profile: r#"{"phone":"13806351234"}"#.to_string(),
        created_at: at(created),
        updated_at: at(created),
        version: 1,
    }
}

/// Users to insert.
fn new_users(rows: Vec<UserRow>) -> Vec<UserWrite> {
    rows.into_iter().map(|row| UserWrite { row, expected_version: None }).collect()
}

/// A token of a user, valid for a day.
fn token_row(hash: &str, user_id: &str, kind: &str, created: i64) -> TokenRow {
    TokenRow {
        token_hash: hash.to_string(),
        user_id: user_id.to_string(),
        kind: kind.to_string(),
        created_at: at(created),
        expires_at: at(created + 86_400),
        revoked_at: None,
    }
}

/// A file's contents as a blob row.
fn blob(bytes: &[u8], created: i64) -> BlobRow {
    use sha2::Digest;
    BlobRow {
        sha256: crate::hex(&sha2::Sha256::digest(bytes)),
        size: bytes.len() as i64,
        bytes: bytes.to_vec(),
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

/// A watch as a use case would write it (no version, no lease).
fn watch(
    subject: &str,
    case_id: Option<&str>,
    department: Option<&str>,
    colour: &str,
    next_check: Option<i64>,
    due: Option<i64>,
) -> WatchRow {
    WatchRow {
        subject: subject.to_string(),
        case_id: case_id.map(str::to_string),
        department: department.map(str::to_string),
        colour: colour.to_string(),
        next_check_at: next_check.map(at),
        due_at: due.map(at),
        version: 0,
        lease_owner: None,
        lease_until: None,
    }
}

/// Insert or replace, whatever is stored.
fn put(row: WatchRow) -> WatchWrite {
    WatchWrite { row, expected_version: None }
}

/// Update over version `expected`.
fn put_over(row: WatchRow, expected: i64) -> WatchWrite {
    WatchWrite { row, expected_version: Some(expected) }
}

/// `row` as the store keeps it after a write: at `version`, without a lease.
fn stored_watch(row: &WatchRow, version: i64) -> WatchRow {
    WatchRow { version, lease_owner: None, lease_until: None, ..row.clone() }
}

fn record(
    kind: &str,
    id: &str,
    case_id: Option<&str>,
    owner: Option<&str>,
    department: Option<&str>,
    state: &str,
    created: i64,
) -> RecordRow {
    RecordRow {
        kind: kind.to_string(),
        id: id.to_string(),
        case_id: case_id.map(str::to_string),
        owner: owner.map(str::to_string),
        department: department.map(str::to_string),
        state: state.to_string(),
        created_at: at(created),
        updated_at: at(created),
        version: 1,
        doc: serde_json::json!({ "text": "请于三日内说明情况", "level": 1 }).to_string(),
    }
}

/// Records to insert.
fn adds(rows: Vec<RecordRow>) -> Vec<RecordWrite> {
    rows.into_iter().map(|row| RecordWrite { row, expected_version: None }).collect()
}

/// A case as stored, if any.
async fn read_case(store: &Arc<dyn Store>, id: &str) -> Option<CaseRow> {
    store.case_bundle(id).await.must("read a case").map(|b| b.case)
}

/// A task as stored, if any.
async fn read_task(store: &Arc<dyn Store>, id: &str) -> Option<TaskRow> {
    store.task_bundle(id).await.must("read a task").map(|(t, _)| t)
}

/// The materials of a case (none for a missing case).
async fn read_materials(store: &Arc<dyn Store>, case_id: &str) -> Vec<MaterialRow> {
    store.case_bundle(case_id).await.must("read a case").map(|b| b.materials).unwrap_or_default()
}

/// The watches of a case (none for a missing case).
async fn read_watches(store: &Arc<dyn Store>, case_id: &str) -> Vec<WatchRow> {
    store.case_bundle(case_id).await.must("read a case").map(|b| b.watches).unwrap_or_default()
}

async fn write_watches(store: &Arc<dyn Store>, watches: Vec<WatchWrite>) {
    commit(store, Changeset { watches, ..Changeset::default() }).await;
}

fn subjects(watches: &[WatchRow]) -> Vec<&str> {
    watches.iter().map(|w| w.subject.as_str()).collect()
}

fn record_ids(records: &[RecordRow]) -> Vec<&str> {
    records.iter().map(|r| r.id.as_str()).collect()
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
    assert!(read_case(&store, "nope").await.is_none());
    assert!(read_task(&store, "nope").await.is_none());
    assert!(store.cases(&CaseFilter::default()).await.must("cases").is_empty());
    assert!(store.tasks(&TaskFilter::default()).await.must("tasks").is_empty());
    assert!(store.events_after(0, 10).await.must("events").is_empty());
    assert!(store.case_events("nope").await.must("case events").is_empty());
    assert!(store.watch("task:nope").await.must("watch").is_none());
    assert!(read_watches(&store, "nope").await.is_empty());
    assert!(store.case_by_number("YJS20261130000001").await.must("by number").is_none());
    assert!(store.cases_by_ids(&["nope".to_string()]).await.must("by ids").is_empty());
    assert!(store.users(&UserFilter::default()).await.must("users").is_empty());
    assert!(store.blob(&"00".repeat(32)).await.must("blob").is_none());
    assert!(store.unreferenced_blobs(10).await.must("unreferenced").is_empty());
    assert!(store.claim_watches("node-a", at(0), at(60), 10).await.must("claim").is_empty());
    assert!(store.colour_counts("").await.must("colour counts").is_empty());
    assert!(store.watches_by_colour("", "red", None, 10).await.must("watches by colour").is_empty());
    assert!(store.record("notice", "nope").await.must("record").is_none());
    let notices = RecordFilter { kind: "notice".to_string(), ..RecordFilter::default() };
    assert!(store.records(&notices).await.must("records").is_empty());
    assert_eq!(store.count_records(&notices).await.must("count records"), 0);
    assert!(store.tasks_updated_between(at(0), at(86_400)).await.must("tasks of a period").is_empty());
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
        assert_eq!(read_case(&store, &stored.id).await.as_ref(), Some(stored), "as stored");
    }
    assert_eq!(store.count_cases().await.must("count"), 4);
}

/// Inserting a case whose id exists is a conflict, and nothing of that changeset is kept (no event, no number).
pub async fn case_insert_with_existing_id_conflicts(store: Arc<dyn Store>) {
    let original = filed(&store, case_row("case-1", "b", "draft", None, 0), "N").await;
    let mut again = file_case(case_row("case-1", "other", "submitted", None, 5), "N");
    again.event = Some(event("ev-again", Some("case-1"), "case_filed", 5));
    match store.commit(again).await {
        Err(StoreError::Conflict { what }) => assert!(what.contains("case-1"), "the conflict names the row: {what}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(read_case(&store, "case-1").await.as_ref(), Some(&original));
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
    row.doc = serde_json::json!({ "answers": { "employees": 4 } }).to_string();
    let v2 = commit(&store, update_case(row.clone(), 1, "ev-2")).await.case.must("updated case");
    assert_eq!(v2.version, 2);
    assert_eq!(v2.number, "P000001", "the number is the case's for life");
    assert_eq!(v2.created_at, v1.created_at);
    assert_eq!(v2.state, "submitted");
    assert_eq!(v2.due_at, Some(at(86_400)));
    assert_eq!(read_case(&store, "case-1").await.as_ref(), Some(&v2));

    let mut stale = row.clone();
    stale.state = "withdrawn".to_string();
    match store.commit(update_case(stale, 1, "ev-stale")).await {
        Err(StoreError::Conflict { what }) => assert!(what.contains("case-1"), "the conflict names the row: {what}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(read_case(&store, "case-1").await.as_ref(), Some(&v2), "the stale write changed nothing");

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
/// catalogue version, watch, record or event.
pub async fn failed_changeset_persists_nothing(store: Arc<dyn Store>) {
    let v1 = filed(&store, case_row("case-1", "b", "draft", None, 0), "F").await;
    let head = store.chain_head().await.must("head");
    let mut change = update_case(v1.clone(), 7, "ev-stale");
    change.tasks = vec![task("task-1", "case-1", "market", "ready", Some(10))];
    change.materials = vec![material("case-1", "id_card", "aa", 10)];
    change.idempotency = Some(idempotency("user-1", "key-1", "case-1"));
    change.users = new_users(vec![user("user-9", "zhang.san", &["clerk"], Some("market"), 0)]);
    change.tokens = vec![token_row("tok-1", "user-9", "api", 0)];
    change.blobs = vec![blob(b"%PDF-1.7 doomed", 0)];
    change.catalog_version = Some(CatalogVersionRow { version: "cv-9".to_string(), files: vec![], loaded_at: at(0) });
    change.watches = vec![put(watch("case:case-1", Some("case-1"), None, "green", Some(10), Some(20)))];
    change.records = adds(vec![record("escalation", "esc-1", Some("case-1"), None, Some("market"), "open", 0)]);
    assert!(matches!(store.commit(change).await, Err(StoreError::Conflict { .. })));

    assert_eq!(read_case(&store, "case-1").await.as_ref(), Some(&v1));
    assert!(read_task(&store, "task-1").await.is_none());
    assert!(read_materials(&store, "case-1").await.is_empty());
    assert!(store.idempotency("user-1", "key-1").await.must("idempotency").is_none());
    assert!(store.user_by_name("zhang.san").await.must("user").is_none());
    assert!(store.token("tok-1").await.must("token").is_none());
    assert!(store.blob(&blob(b"%PDF-1.7 doomed", 0).sha256).await.must("blob").is_none());
    assert!(store.catalog_version("cv-9").await.must("catalogue").is_none());
    assert!(store.watch("case:case-1").await.must("watch").is_none());
    assert!(store.record("escalation", "esc-1").await.must("record").is_none());
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
    assert_eq!(read_case(&store, "case-1").await.as_ref(), Some(&v1), "the case update was undone");
    assert!(read_task(&store, "task-1").await.is_none(), "the task was undone");
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
    assert_eq!(read_case(&store, "case-1").await.as_ref(), Some(&case));
    assert_eq!(store.case_events("case-1").await.must("events"), vec![ev]);
    let stored_task = read_task(&store, "task-1").await.must("the task");
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
    assert!(read_case(&store, "case-2").await.is_none(), "the duplicate filed no case");

    let mut other_scope = file_case(case_row("case-3", "b", "draft", None, 2), "I");
    other_scope.idempotency = Some(idempotency("user-2", "key-1", "case-3"));
    commit(&store, other_scope).await;
    assert_eq!(store.idempotency("user-2", "key-1").await.must("lookup").must("row").case_id, "case-3");
}

/// Users are inserted once — a username, ID number or external identity already taken is a duplicate — and
/// updated only over the version they were read at; they are found by name, id, external identity and filter.
/// A changeset without case or event commits and returns neither.
pub async fn users_insert_once_and_update_over_their_version(store: Arc<dyn Store>) {
    let mut alice = user("user-1", "alice", &["applicant"], None, 0);
    alice.id_number = Some("11010519491231002X".to_string());
    alice.external_id = Some("https://id.example|alice".to_string());
    let done = commit(
        &store,
        Changeset {
            users: new_users(vec![alice.clone(), user("user-2", "bob", &[], None, 1)]),
            ..Changeset::default()
        },
    )
    .await;
    assert_eq!(done, Committed { case: None, event: None });
    assert_eq!(store.chain_head().await.must("head"), (0, GENESIS.to_string()));
    assert_eq!(store.user_by_name("alice").await.must("lookup").as_ref(), Some(&alice));
    assert_eq!(store.user("user-1").await.must("lookup").as_ref(), Some(&alice));
    assert_eq!(store.user_by_external_id("https://id.example|alice").await.must("lookup").as_ref(), Some(&alice));
    assert!(store.user_by_external_id("https://id.example|bob").await.must("lookup").is_none());
    assert!(store.user_by_name("carol").await.must("lookup").is_none());
    assert!(store.user("user-9").await.must("lookup").is_none());

    // Taken keys are refused, and nothing of the changeset is kept.
    for (n, taken) in [
        user("user-3", "alice", &[], None, 2),
        UserRow { id_number: Some("11010519491231002X".into()), ..user("user-4", "carol", &[], None, 2) },
        UserRow { external_id: Some("https://id.example|alice".into()), ..user("user-5", "dave", &[], None, 2) },
    ]
    .into_iter()
    .enumerate()
    {
        let refused = store.commit(Changeset { users: new_users(vec![taken]), ..Changeset::default() }).await;
        assert!(matches!(refused, Err(StoreError::Duplicate { .. })), "case {n}: got {refused:?}");
    }
    assert_eq!(store.users(&UserFilter::default()).await.must("users").len(), 2);

    // An update names the version it read.
    let mut changed = alice.clone();
    changed.roles = vec!["clerk".into(), "officer".into()];
    changed.department = Some("market".into());
    changed.disabled = true;
    changed.must_change_password = true;
    changed.updated_at = at(50);
    commit(
        &store,
        Changeset {
            users: vec![UserWrite { row: changed.clone(), expected_version: Some(1) }],
            ..Changeset::default()
        },
    )
    .await;
    let stored = store.user("user-1").await.must("lookup").must("alice");
    assert_eq!(stored, UserRow { version: 2, ..changed.clone() });
    let stale = store
        .commit(Changeset {
            users: vec![UserWrite { row: alice.clone(), expected_version: Some(1) }],
            ..Changeset::default()
        })
        .await;
    match stale {
        Err(StoreError::Conflict { what }) => assert!(what.contains("alice"), "{what}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.user("user-1").await.must("lookup").must("alice").version, 2, "the stale write changed nothing");

    // Lists: by role, department, a part of the name; by username.
    let list = |filter: UserFilter| {
        let store = Arc::clone(&store);
        async move { store.users(&filter).await.must("users").into_iter().map(|u| u.username).collect::<Vec<_>>() }
    };
    assert_eq!(list(UserFilter::default()).await, ["alice", "bob"]);
    assert_eq!(list(UserFilter { role: Some("officer".into()), ..UserFilter::default() }).await, ["alice"]);
    assert!(
        list(UserFilter { role: Some("office".into()), ..UserFilter::default() }).await.is_empty(),
        "whole role names"
    );
    assert_eq!(list(UserFilter { department: Some("market".into()), ..UserFilter::default() }).await, ["alice"]);
    assert_eq!(list(UserFilter { search: Some("bo".into()), ..UserFilter::default() }).await, ["bob"]);
    assert_eq!(list(UserFilter { search: Some("用户".into()), limit: 1, ..UserFilter::default() }).await, ["alice"]);
}

/// A token resolves to itself and its user; an unknown token to nothing; a token hash is unique. Revoking one
/// token, or every token of a user, stamps them once (a second revocation keeps the first time).
pub async fn tokens_resolve_and_revoke(store: Arc<dyn Store>) {
    let officer = user("user-1", "officer.li", &["officer"], Some("tax"), 0);
    let web = token_row("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "user-1", "session", 0);
    let api = token_row("60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752", "user-1", "api", 1);
    commit(
        &store,
        Changeset {
            users: new_users(vec![officer.clone()]),
            tokens: vec![web.clone(), api.clone()],
            ..Changeset::default()
        },
    )
    .await;
    assert_eq!(store.token(&web.token_hash).await.must("lookup"), Some((web.clone(), officer.clone())));
    assert!(store.token("unknown").await.must("lookup").is_none());
    let again = store.commit(Changeset { tokens: vec![web.clone()], ..Changeset::default() }).await;
    assert!(matches!(again, Err(StoreError::Duplicate { .. })), "got {again:?}");

    let revoke = |r: Revocation| Changeset { revocations: vec![r], ..Changeset::default() };
    commit(&store, revoke(Revocation::Token { token_hash: web.token_hash.clone(), at: at(10) })).await;
    let (found, _) = store.token(&web.token_hash).await.must("lookup").must("the web token");
    assert_eq!(found.revoked_at, Some(at(10)));
    assert_eq!(store.token(&api.token_hash).await.must("lookup").must("api").0.revoked_at, None, "only that one");
    commit(&store, revoke(Revocation::User { user_id: "user-1".into(), at: at(20) })).await;
    assert_eq!(store.token(&web.token_hash).await.must("lookup").must("web").0.revoked_at, Some(at(10)), "kept");
    assert_eq!(store.token(&api.token_hash).await.must("lookup").must("api").0.revoked_at, Some(at(20)));
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
        TaskFilter { department: Some("market".into()), states: vec!["ready".into()], ..TaskFilter::default() };
    assert_eq!(task_ids(&list(market_ready).await), ["t-a", "t-0", "t-b"]);
    let of_case = TaskFilter { case_id: Some("case-2".into()), ..TaskFilter::default() };
    assert_eq!(task_ids(&list(of_case).await), ["t-d", "t-0"]);
    assert_eq!(task_ids(&list(TaskFilter { limit: 2, ..TaskFilter::default() }).await), ["t-d", "t-c"]);

    let mut approved = task("t-a", "case-1", "market", "approved", Some(100));
    approved.doc = serde_json::json!({ "opinion": "同意" }).to_string();
    approved.updated_at = at(500);
    commit(&store, Changeset { tasks: vec![approved.clone()], ..Changeset::default() }).await;
    assert_eq!(read_task(&store, "t-a").await.as_ref(), Some(&approved));
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

/// Materials are upserted by (case, material) and read with their case; the files they name are stored once
/// by content, read back byte for byte, and only files no material names are listed and removed as unreferenced.
pub async fn materials_and_their_files(store: Arc<dyn Store>) {
    let (licence, id_card, replacement) =
        (blob(b"%PDF-1.7 licence", 1), blob(b"\x89PNG id card", 2), blob(b"%PDF-1.7 new", 3));
    let mut change = file_case(case_row("case-1", "b", "draft", None, 0), "M");
    change.blobs = vec![licence.clone(), id_card.clone(), licence.clone()];
    change.materials = vec![
        material("case-1", "licence", &licence.sha256, licence.size),
        material("case-1", "id_card", &id_card.sha256, id_card.size),
    ];
    commit(&store, change).await;
    assert_eq!(store.blob(&licence.sha256).await.must("blob"), Some(licence.bytes.clone()));
    assert!(store.blob(&replacement.sha256).await.must("blob").is_none());
    assert!(store.unreferenced_blobs(10).await.must("unreferenced").is_empty());

    // The same content again is one file; replacing a material leaves its old file unreferenced.
    let replaced = material("case-1", "id_card", &replacement.sha256, replacement.size);
    commit(
        &store,
        Changeset {
            blobs: vec![replacement.clone(), licence.clone()],
            materials: vec![replaced.clone()],
            ..Changeset::default()
        },
    )
    .await;
    assert_eq!(
        read_materials(&store, "case-1").await,
        vec![replaced, material("case-1", "licence", &licence.sha256, licence.size)]
    );
    assert!(read_materials(&store, "case-2").await.is_empty());
    assert_eq!(store.unreferenced_blobs(10).await.must("unreferenced"), vec![(id_card.sha256.clone(), id_card.size)]);

    // Removal takes only what no material names.
    commit(
        &store,
        Changeset { blob_deletions: vec![id_card.sha256.clone(), licence.sha256.clone()], ..Changeset::default() },
    )
    .await;
    assert!(store.blob(&id_card.sha256).await.must("blob").is_none(), "the unreferenced file is gone");
    assert_eq!(store.blob(&licence.sha256).await.must("blob"), Some(licence.bytes), "a referenced file stays");
    assert!(store.unreferenced_blobs(10).await.must("unreferenced").is_empty());
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
    assert_eq!(read_case(&store, "case-base").await.must("base").version, 2);
    assert_eq!(store.count_cases().await.must("count"), 1 + 10 + 1);
    let events = 1 + 10 + 1 + 1;
    assert_eq!(store.chain_head().await.must("head").0, events);
    assert_chain_ok(&store, events).await;
}

/// After `close`, commits and claims are refused with [`StoreError::Closed`]; what was committed before stays.
pub async fn closed_store_refuses_commits(store: Arc<dyn Store>) {
    let kept = filed(&store, case_row("case-1", "b", "draft", None, 0), "Z").await;
    store.close().await;
    let refused = store.commit(file_case(case_row("case-2", "b", "draft", None, 1), "Z")).await;
    assert!(matches!(refused, Err(StoreError::Closed)), "got {refused:?}");
    // A claim writes leases: it is refused too.
    let claim = store.claim_watches("node-a", at(0), at(60), 10).await;
    assert!(matches!(claim, Err(StoreError::Closed)), "got {claim:?}");
    // Closing twice is harmless.
    store.close().await;
    assert_eq!(kept.number, "Z000001");
}

/// A watch written without an expected version is inserted at version 1, then replaced with the version bumped;
/// with one, it is written only over that version (`version + 1`), else it is a conflict named after the subject.
/// The version and the lease of the written row are the store's, never the writer's.
pub async fn watch_insert_replace_and_versioned_update(store: Arc<dyn Store>) {
    let mut first = watch("task:t1", Some("case-1"), Some("market"), "green", Some(100), Some(400));
    first.version = 42;
    first.lease_owner = Some("node-x".to_string());
    first.lease_until = Some(at(999));
    write_watches(&store, vec![put(first.clone())]).await;
    let v1 = stored_watch(&first, 1);
    assert_eq!(store.watch("task:t1").await.must("watch"), Some(v1.clone()), "inserted at version 1, no lease");

    let mut replaced = watch("task:t1", Some("case-1"), Some("tax"), "blue", Some(200), Some(400));
    replaced.version = 7;
    write_watches(&store, vec![put(replaced.clone())]).await;
    let v2 = stored_watch(&replaced, 2);
    assert_eq!(store.watch("task:t1").await.must("watch"), Some(v2.clone()), "replaced at version 2");

    let yellow = watch("task:t1", Some("case-1"), Some("tax"), "yellow", Some(300), Some(400));
    write_watches(&store, vec![put_over(yellow.clone(), 2)]).await;
    let v3 = stored_watch(&yellow, 3);
    assert_eq!(store.watch("task:t1").await.must("watch"), Some(v3.clone()), "updated over version 2");

    let red = watch("task:t1", Some("case-1"), Some("tax"), "red", None, Some(400));
    match store.commit(Changeset { watches: vec![put_over(red.clone(), 2)], ..Changeset::default() }).await {
        Err(StoreError::Conflict { what }) => {
            assert!(what.contains("task:t1"), "the conflict names the subject: {what}")
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.watch("task:t1").await.must("watch"), Some(v3), "the stale write changed nothing");

    let missing = watch("task:nope", None, None, "green", Some(1), None);
    match store.commit(Changeset { watches: vec![put_over(missing, 1)], ..Changeset::default() }).await {
        Err(StoreError::Conflict { what }) => assert!(what.contains("task:nope"), "the conflict names the row: {what}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(store.watch("task:nope").await.must("watch").is_none(), "a versioned write inserts nothing");

    write_watches(&store, vec![put_over(red.clone(), 3)]).await;
    assert_eq!(store.watch("task:t1").await.must("watch"), Some(stored_watch(&red, 4)));

    // Instants are kept to the millisecond, as everywhere.
    let precise = Timestamp::from_nanosecond(1_796_083_200_123_456_789).must("an instant");
    let mut exact = watch("case:case-1", Some("case-1"), None, "green", None, None);
    exact.next_check_at = Some(precise);
    exact.due_at = Some(precise);
    write_watches(&store, vec![put(exact)]).await;
    let stored = store.watch("case:case-1").await.must("watch").must("the watch");
    assert_eq!((stored.next_check_at, stored.due_at), (Some(to_millis(precise)), Some(to_millis(precise))));
}

/// A watch written over a stale version fails its whole changeset like a stale case: the case update, tasks,
/// records and other watches of it are not kept, and no event is appended.
pub async fn watch_conflict_fails_the_whole_changeset(store: Arc<dyn Store>) {
    let v1 = filed(&store, case_row("case-1", "b", "accepted", None, 0), "W").await;
    let kept = watch("task:t1", Some("case-1"), Some("market"), "green", Some(100), Some(400));
    write_watches(&store, vec![put(kept.clone())]).await;
    let head = store.chain_head().await.must("head");

    let mut row = v1.clone();
    row.state = "in_progress".to_string();
    let mut change = update_case(row.clone(), 1, "ev-doomed");
    change.tasks = vec![task("task-1", "case-1", "market", "ready", Some(10))];
    change.records = adds(vec![record("escalation", "esc-1", Some("case-1"), None, Some("market"), "open", 0)]);
    change.watches = vec![
        put(watch("case:case-1", Some("case-1"), None, "green", Some(50), Some(500))),
        put_over(watch("task:t1", Some("case-1"), Some("market"), "red", None, Some(400)), 5),
    ];
    match store.commit(change).await {
        Err(StoreError::Conflict { what }) => assert!(what.contains("task:t1"), "the conflict names the row: {what}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(read_case(&store, "case-1").await.as_ref(), Some(&v1), "the case update was undone");
    assert!(read_task(&store, "task-1").await.is_none(), "the task was undone");
    assert!(store.record("escalation", "esc-1").await.must("record").is_none(), "the record was undone");
    assert!(store.watch("case:case-1").await.must("watch").is_none(), "the other watch was undone");
    assert_eq!(store.watch("task:t1").await.must("watch"), Some(stored_watch(&kept, 1)));
    assert_eq!(store.chain_head().await.must("head"), head, "no event");

    // The same changeset over the right version lands whole, and the chain goes on without a gap.
    let mut change = update_case(row, 1, "ev-ok");
    change.watches = vec![put_over(watch("task:t1", Some("case-1"), Some("market"), "red", None, Some(400)), 1)];
    let done = commit(&store, change).await;
    assert_eq!(done.event.must("event").seq, head.0 + 1);
    assert_eq!(store.watch("task:t1").await.must("watch").must("the watch").version, 2);
    assert_chain_ok(&store, head.0 + 1).await;
}

/// A claim leases a watch without changing its version; any write of the watch, with or without an expected
/// version, clears the lease (so the watch can be claimed again when next due).
pub async fn watch_writes_clear_the_lease(store: Arc<dyn Store>) {
    let w = watch("task:t1", Some("case-1"), Some("market"), "green", Some(10), Some(400));
    write_watches(&store, vec![put(w.clone())]).await;

    let claimed = store.claim_watches("node-a", at(20), at(80), 10).await.must("claim");
    let leased = WatchRow { lease_owner: Some("node-a".to_string()), lease_until: Some(at(80)), ..stored_watch(&w, 1) };
    assert_eq!(claimed, vec![leased.clone()], "claimed with the lease, at the same version");
    assert_eq!(store.watch("task:t1").await.must("watch"), Some(leased));

    // A use case recomputing its clocks replaces the watch: the lease goes with it.
    write_watches(&store, vec![put(w.clone())]).await;
    assert_eq!(store.watch("task:t1").await.must("watch"), Some(stored_watch(&w, 2)));

    let claimed = store.claim_watches("node-b", at(20), at(80), 10).await.must("claim");
    assert_eq!(subjects(&claimed), ["task:t1"], "free again at once");
    assert_eq!(claimed[0].version, 2);
    // The worker's write over the version it claimed clears its lease too.
    let blue = watch("task:t1", Some("case-1"), Some("market"), "blue", Some(300), Some(400));
    write_watches(&store, vec![put_over(blue.clone(), 2)]).await;
    assert_eq!(store.watch("task:t1").await.must("watch"), Some(stored_watch(&blue, 3)));
    assert!(store.claim_watches("node-b", at(20), at(80), 10).await.must("claim").is_empty(), "not due any more");
}

/// A claim takes the due watches (next check at or before now) whose lease is free or ran out (strictly before
/// now), earliest next check first (then by subject), at most `limit`; a watch with no next check is never due.
/// A leased watch is left to its holder until the lease runs out, then another node may claim it.
pub async fn claims_take_due_watches_earliest_first(store: Arc<dyn Store>) {
    write_watches(
        &store,
        vec![
            put(watch("task:a", Some("case-1"), Some("market"), "green", Some(30), Some(900))),
            put(watch("task:b", Some("case-1"), Some("market"), "green", Some(10), Some(900))),
            put(watch("task:d", Some("case-2"), Some("tax"), "blue", Some(20), Some(900))),
            put(watch("task:c", Some("case-2"), Some("tax"), "blue", Some(20), Some(900))),
            put(watch("task:e", None, None, "yellow", Some(100), Some(900))),
            put(watch("task:f", None, None, "red", None, Some(0))),
            put(watch("milestone:g", None, None, "green", Some(50), None)),
        ],
    )
    .await;
    assert!(store.claim_watches("node-a", at(50), at(110), 0).await.must("claim").is_empty(), "limit 0");
    assert!(store.claim_watches("node-a", at(5), at(110), 10).await.must("claim").is_empty(), "nothing due yet");

    let first = store.claim_watches("node-a", at(50), at(110), 3).await.must("claim");
    assert_eq!(subjects(&first), ["task:b", "task:c", "task:d"], "earliest first, ties by subject, at most 3");
    for w in &first {
        assert_eq!((w.lease_owner.as_deref(), w.lease_until), (Some("node-a"), Some(at(110))));
        assert_eq!(w.version, 1);
        assert_eq!(store.watch(&w.subject).await.must("watch").as_ref(), Some(w), "the lease is stored");
    }
    let second = store.claim_watches("node-b", at(50), at(120), 10).await.must("claim");
    assert_eq!(subjects(&second), ["task:a", "milestone:g"], "the leased ones are skipped; due at now is due");
    assert!(store.claim_watches("node-b", at(50), at(120), 10).await.must("claim").is_empty(), "all leased");

    // At 110 node-a's leases end exactly now: still held. task:e has come due.
    let third = store.claim_watches("node-c", at(110), at(200), 10).await.must("claim");
    assert_eq!(subjects(&third), ["task:e"]);
    // At 111 node-a's leases have run out (node-b's run until 120): node-c takes them over.
    let fourth = store.claim_watches("node-c", at(111), at(200), 10).await.must("claim");
    assert_eq!(subjects(&fourth), ["task:b", "task:c", "task:d"]);
    for w in &fourth {
        assert_eq!((w.lease_owner.as_deref(), w.lease_until), (Some("node-c"), Some(at(200))));
    }
    let fifth = store.claim_watches("node-d", at(121), at(300), 10).await.must("claim");
    assert_eq!(subjects(&fifth), ["task:a", "milestone:g"]);
    assert_eq!(store.watch("task:f").await.must("watch").must("task:f").lease_owner, None, "never due, never claimed");
}

/// The number of due watches [`claims_from_stores_are_disjoint`] seeds.
pub const CONCURRENT_WATCHES: usize = 200;

/// Seeds [`CONCURRENT_WATCHES`] due watches through the first store, then claims them from every store at once,
/// two claimants per store, each claiming small batches until nothing is left: every watch is claimed exactly
/// once, and stored with the lease of whoever got it. For backends that can open several stores (nodes) on one
/// database; [`concurrent_claims_are_disjoint`] runs it on one store.
pub async fn claims_from_stores_are_disjoint(stores: &[Arc<dyn Store>]) {
    let first = stores.first().must("a store");
    let all: BTreeSet<String> = (0..CONCURRENT_WATCHES).map(|n| format!("task:{n:03}")).collect();
    let seeded = all
        .iter()
        .enumerate()
        .map(|(n, subject)| put(watch(subject, None, Some("market"), "green", Some(n as i64 % 17), Some(5_000))))
        .collect::<Vec<_>>();
    for chunk in seeded.chunks(50) {
        write_watches(first, chunk.to_vec()).await;
    }
    let mut running = tokio::task::JoinSet::new();
    for (n, store) in stores.iter().enumerate() {
        for claimant in 0..2 {
            let store = Arc::clone(store);
            let owner = format!("node-{n}-{claimant}");
            running.spawn(async move {
                let mut got = Vec::new();
                loop {
                    let claimed = store.claim_watches(&owner, at(100), at(1_000), 7).await.must("a concurrent claim");
                    if claimed.is_empty() {
                        return (owner, got);
                    }
                    for w in claimed {
                        assert_eq!(w.lease_owner.as_deref(), Some(owner.as_str()), "claimed with its owner's lease");
                        got.push(w.subject);
                    }
                    tokio::task::yield_now().await;
                }
            });
        }
    }
    let mut holder: BTreeMap<String, String> = BTreeMap::new();
    while let Some(joined) = running.join_next().await {
        let (owner, got) = joined.must("join a claiming task");
        for subject in got {
            if let Some(other) = holder.insert(subject.clone(), owner.clone()) {
                panic!("{subject} was claimed by both {other} and {owner}");
            }
        }
    }
    assert_eq!(holder.keys().cloned().collect::<BTreeSet<_>>(), all, "every due watch was claimed");
    for (subject, owner) in &holder {
        let stored = first.watch(subject).await.must("watch").must("the watch");
        assert_eq!(stored.lease_owner.as_ref(), Some(owner), "{subject} is stored with its claimant's lease");
    }
}

/// Concurrent claims on one store never return the same watch, and together take every due one.
pub async fn concurrent_claims_are_disjoint(store: Arc<dyn Store>) {
    claims_from_stores_are_disjoint(&[Arc::clone(&store), store]).await;
}

/// The watches of a case, by subject; a watch of no case is nobody's.
pub async fn case_watches_by_subject(store: Arc<dyn Store>) {
    filed(&store, case_row("case-1", "b", "accepted", None, 0), "W").await;
    filed(&store, case_row("case-2", "b", "accepted", None, 1), "W").await;
    write_watches(
        &store,
        vec![
            put(watch("task:z", Some("case-1"), Some("market"), "green", Some(10), Some(100))),
            put(watch("case:case-1", Some("case-1"), None, "green", Some(10), Some(100))),
            put(watch("task:a", Some("case-1"), Some("tax"), "none", None, None)),
            put(watch("task:q", Some("case-2"), Some("tax"), "red", None, Some(5))),
            put(watch("milestone:m", None, Some("tax"), "green", Some(10), Some(100))),
        ],
    )
    .await;
    let of_case_1 = read_watches(&store, "case-1").await;
    assert_eq!(subjects(&of_case_1), ["case:case-1", "task:a", "task:z"]);
    assert_eq!(
        of_case_1[2],
        stored_watch(&watch("task:z", Some("case-1"), Some("market"), "green", Some(10), Some(100)), 1)
    );
    assert_eq!(subjects(&read_watches(&store, "case-2").await), ["task:q"]);
    assert!(read_watches(&store, "case-3").await.is_empty());
}

/// The overview counts watches by department and colour, without `none`, only subjects starting with the prefix
/// (a plain, case-sensitive prefix); ordered by department (none last), then colour.
pub async fn colour_counts_by_department_and_colour(store: Arc<dyn Store>) {
    write_watches(
        &store,
        vec![
            put(watch("task:1", Some("case-1"), Some("market"), "red", None, Some(0))),
            put(watch("task:2", Some("case-1"), Some("market"), "red", None, Some(0))),
            put(watch("task:3", Some("case-2"), Some("market"), "yellow", Some(10), Some(20))),
            put(watch("task:4", Some("case-2"), Some("tax"), "green", Some(10), Some(20))),
            put(watch("task:5", None, None, "blue", Some(10), Some(20))),
            put(watch("task:6", Some("case-3"), Some("market"), "none", None, None)),
            put(watch("case:case-1", Some("case-1"), Some("market"), "red", None, Some(0))),
            put(watch("TASK:7", None, Some("market"), "red", None, Some(0))),
            put(watch("taskx8", None, Some("market"), "red", None, Some(0))),
        ],
    )
    .await;
    let count = |department: Option<&str>, colour: &str, count: i64| ColourCount {
        department: department.map(str::to_string),
        colour: colour.to_string(),
        count,
    };
    assert_eq!(
        store.colour_counts("task:").await.must("counts"),
        vec![
            count(Some("market"), "red", 2),
            count(Some("market"), "yellow", 1),
            count(Some("tax"), "green", 1),
            count(None, "blue", 1),
        ]
    );
    assert_eq!(store.colour_counts("case:").await.must("counts"), vec![count(Some("market"), "red", 1)]);
    assert_eq!(store.colour_counts("task_").await.must("counts"), vec![], "`_` is no wildcard");
    assert!(store.colour_counts("milestone:").await.must("counts").is_empty());
    assert_eq!(
        store.colour_counts("").await.must("counts"),
        vec![
            count(Some("market"), "red", 5),
            count(Some("market"), "yellow", 1),
            count(Some("tax"), "green", 1),
            count(None, "blue", 1),
        ],
        "the empty prefix takes every subject"
    );
}

/// Watches of one colour, optionally of one department, only subjects with the prefix: the earliest deadline
/// first, unknown deadlines last, ties by subject; a limit of 0 or less means the default cap.
pub async fn watches_by_colour_most_overdue_first(store: Arc<dyn Store>) {
    let red = |subject: &str, department: &str, due: Option<i64>| {
        put(watch(subject, Some("case-1"), Some(department), "red", None, due))
    };
    write_watches(
        &store,
        vec![
            red("task:a", "market", Some(30)),
            red("task:e", "market", Some(10)),
            red("task:d", "market", None),
            red("task:c", "tax", Some(10)),
            red("task:b", "market", Some(10)),
            red("case:x", "market", Some(1)),
            put(watch("task:f", Some("case-1"), Some("market"), "yellow", Some(5), Some(0))),
        ],
    )
    .await;
    let list = |prefix: &'static str, colour: &'static str, department: Option<&'static str>, limit: i64| {
        let store = Arc::clone(&store);
        async move { store.watches_by_colour(prefix, colour, department, limit).await.must("watches by colour") }
    };
    let all_red = list("task:", "red", None, 0).await;
    assert_eq!(subjects(&all_red), ["task:b", "task:c", "task:e", "task:a", "task:d"]);
    assert_eq!(all_red[0], stored_watch(&watch("task:b", Some("case-1"), Some("market"), "red", None, Some(10)), 1));
    assert_eq!(subjects(&list("task:", "red", Some("market"), -1).await), ["task:b", "task:e", "task:a", "task:d"]);
    assert_eq!(subjects(&list("task:", "red", Some("tax"), 10).await), ["task:c"]);
    assert_eq!(subjects(&list("task:", "red", None, 2).await), ["task:b", "task:c"]);
    assert!(list("task:", "red", Some("police"), 10).await.is_empty());
    assert_eq!(subjects(&list("task:", "yellow", None, 10).await), ["task:f"]);
    assert_eq!(subjects(&list("case:", "red", None, 10).await), ["case:x"]);
    assert_eq!(
        subjects(&list("", "red", Some("market"), 10).await),
        ["case:x", "task:b", "task:e", "task:a", "task:d"]
    );
}

/// Records are inserted once by (kind, id) — the same id under another kind is another record — and updated
/// only over the version they were read at, keeping their creation time; a stale version is a conflict.
pub async fn records_are_versioned(store: Arc<dyn Store>) {
    let first = record("notice", "n-1", Some("case-1"), Some("user-1"), Some("market"), "unread", 0);
    let other_kind = record("escalation", "n-1", None, None, Some("tax"), "open", 5);
    commit(&store, Changeset { records: adds(vec![first.clone(), other_kind.clone()]), ..Changeset::default() }).await;
    assert_eq!(store.record("notice", "n-1").await.must("record"), Some(first.clone()));
    assert_eq!(store.record("escalation", "n-1").await.must("record"), Some(other_kind.clone()));
    assert!(store.record("rating", "n-1").await.must("record").is_none());
    let twice = store.commit(Changeset { records: adds(vec![first.clone()]), ..Changeset::default() }).await;
    assert!(matches!(twice, Err(StoreError::Duplicate { .. })), "got {twice:?}");

    let mut read = record("notice", "n-1", None, Some("user-2"), None, "read", 99);
    read.updated_at = at(50);
    read.doc = serde_json::json!({ "read_at": "2026-11-30T00:00:50Z" }).to_string();
    let over = |row: RecordRow, v: i64| Changeset {
        records: vec![RecordWrite { row, expected_version: Some(v) }],
        ..Changeset::default()
    };
    commit(&store, over(read.clone(), 1)).await;
    let stored = store.record("notice", "n-1").await.must("record").must("the notice");
    assert_eq!(
        stored,
        RecordRow { created_at: first.created_at, version: 2, ..read.clone() },
        "all but the creation time"
    );
    match store.commit(over(first.clone(), 1)).await {
        Err(StoreError::Conflict { what }) => assert!(what.contains("n-1"), "{what}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let missing = store.commit(over(record("notice", "n-9", None, None, None, "read", 0), 1)).await;
    assert!(matches!(missing, Err(StoreError::Conflict { .. })), "got {missing:?}");
    assert_eq!(store.record("escalation", "n-1").await.must("record"), Some(other_kind), "untouched");
    let notices = RecordFilter { kind: "notice".to_string(), ..RecordFilter::default() };
    assert_eq!(store.count_records(&notices).await.must("count"), 1, "an update adds no row");

    // Instants are kept to the millisecond.
    let precise = Timestamp::from_nanosecond(1_796_083_200_123_456_789).must("an instant");
    let mut exact = record("notice", "n-2", None, None, None, "unread", 0);
    exact.created_at = precise;
    exact.updated_at = precise;
    commit(&store, Changeset { records: adds(vec![exact]), ..Changeset::default() }).await;
    let stored = store.record("notice", "n-2").await.must("record").must("the notice");
    assert_eq!((stored.created_at, stored.updated_at), (to_millis(precise), to_millis(precise)));
}

/// Fifty writers read a record, change it and write it over the version they read, retrying when another won:
/// every change lands, none overwrites another.
pub async fn concurrent_versioned_writers_lose_nothing(store: Arc<dyn Store>) {
    let mut note = record("escalation", "e-1", None, None, Some("tax"), "open", 0);
    note.doc = "[]".to_string();
    commit(&store, Changeset { records: adds(vec![note]), ..Changeset::default() }).await;
    let mut running = tokio::task::JoinSet::new();
    for n in 0..50 {
        let store = Arc::clone(&store);
        running.spawn(async move {
            let mut retries = 0;
            loop {
                let mut row = store.record("escalation", "e-1").await.must("read").must("the record");
                let mut notes: Vec<i64> = serde_json::from_str(&row.doc).must("notes");
                notes.push(n);
                let read = row.version;
                row.doc = serde_json::to_string(&notes).must("encode");
                let change = Changeset {
                    records: vec![RecordWrite { row, expected_version: Some(read) }],
                    ..Changeset::default()
                };
                match store.commit(change).await {
                    Ok(_) => return retries,
                    Err(StoreError::Conflict { .. }) => retries += 1,
                    Err(e) => panic!("writer {n}: {e}"),
                }
            }
        });
    }
    let mut retries = 0;
    while let Some(joined) = running.join_next().await {
        retries += joined.must("join a writer");
    }
    let row = store.record("escalation", "e-1").await.must("read").must("the record");
    let mut notes: Vec<i64> = serde_json::from_str(&row.doc).must("notes");
    notes.sort_unstable();
    assert_eq!(notes, (0..50).collect::<Vec<_>>(), "every writer's note is there ({retries} retries)");
    assert_eq!(row.version, 51);
}

/// `records()` takes one kind and filters by case, owner, department, state and a creation period [since,
/// until), newest first (ties by id, descending), limited (0 or less: the default cap); `count_records()`
/// counts what the same filter lists, without the limit.
pub async fn record_filters_and_counts(store: Arc<dyn Store>) {
    commit(
        &store,
        Changeset {
            records: adds(vec![
                record("notice", "n1", Some("case-1"), Some("alice"), Some("market"), "unread", 10),
                record("notice", "n2", None, Some("alice"), Some("market"), "read", 20),
                record("notice", "n3", Some("case-1"), Some("bob"), Some("tax"), "unread", 30),
                record("notice", "n4", Some("case-2"), Some("alice"), Some("tax"), "unread", 30),
                record("notice", "n5", None, None, None, "unread", 40),
                record("escalation", "e1", Some("case-1"), None, Some("market"), "open", 15),
            ]),
            ..Changeset::default()
        },
    )
    .await;
    let notices = || RecordFilter { kind: "notice".to_string(), ..RecordFilter::default() };
    let check = |filter: RecordFilter, expected: &'static [&'static str], total: i64| {
        let store = Arc::clone(&store);
        async move {
            let listed = store.records(&filter).await.must("records");
            assert_eq!(record_ids(&listed), expected, "{filter:?}");
            assert_eq!(store.count_records(&filter).await.must("count records"), total, "{filter:?}");
            listed
        }
    };
    let all = check(notices(), &["n5", "n4", "n3", "n2", "n1"], 5).await;
    assert_eq!(all[4], record("notice", "n1", Some("case-1"), Some("alice"), Some("market"), "unread", 10));
    check(RecordFilter { kind: "escalation".to_string(), ..RecordFilter::default() }, &["e1"], 1).await;
    check(RecordFilter { kind: "rating".to_string(), ..RecordFilter::default() }, &[], 0).await;
    check(RecordFilter { case_id: Some("case-1".into()), ..notices() }, &["n3", "n1"], 2).await;
    check(RecordFilter { owner: Some("alice".into()), ..notices() }, &["n4", "n2", "n1"], 3).await;
    check(RecordFilter { department: Some("market".into()), ..notices() }, &["n2", "n1"], 2).await;
    check(RecordFilter { state: Some("unread".into()), ..notices() }, &["n5", "n4", "n3", "n1"], 4).await;
    check(RecordFilter { since: Some(at(20)), ..notices() }, &["n5", "n4", "n3", "n2"], 4).await;
    check(RecordFilter { until: Some(at(30)), ..notices() }, &["n2", "n1"], 2).await;
    check(RecordFilter { since: Some(at(20)), until: Some(at(40)), ..notices() }, &["n4", "n3", "n2"], 3).await;
    check(RecordFilter { owner: Some("alice".into()), state: Some("unread".into()), ..notices() }, &["n4", "n1"], 2)
        .await;
    check(RecordFilter { department: Some("tax".into()), case_id: Some("case-1".into()), ..notices() }, &["n3"], 1)
        .await;
    check(RecordFilter { owner: Some("carol".into()), ..notices() }, &[], 0).await;
    check(RecordFilter { limit: 2, ..notices() }, &["n5", "n4"], 5).await;
    check(RecordFilter { limit: -1, ..notices() }, &["n5", "n4", "n3", "n2", "n1"], 5).await;
}

/// The tasks updated in [since, until), by update time then id.
pub async fn tasks_updated_in_a_period(store: Arc<dyn Store>) {
    let updated = |id: &str, when: i64| TaskRow { updated_at: at(when), ..task(id, "case-1", "market", "ready", None) };
    let mut change = file_case(case_row("case-1", "b", "accepted", None, 0), "U");
    change.tasks =
        vec![updated("t-a", 0), updated("t-b", 10), updated("t-0", 10), updated("t-c", 20), updated("t-d", 30)];
    commit(&store, change).await;
    let between = |since: i64, until: i64| {
        let store = Arc::clone(&store);
        async move { store.tasks_updated_between(at(since), at(until)).await.must("tasks of a period") }
    };
    let period = between(10, 30).await;
    assert_eq!(task_ids(&period), ["t-0", "t-b", "t-c"], "since included, until excluded, ties by id");
    assert_eq!(period[2], updated("t-c", 20));
    assert_eq!(task_ids(&between(0, 1_000).await), ["t-a", "t-0", "t-b", "t-c", "t-d"]);
    assert_eq!(task_ids(&between(30, 31).await), ["t-d"]);
    assert!(between(10, 10).await.is_empty());
    assert!(between(31, 1_000).await.is_empty());

    // An update moves a task into the period of its new update time.
    commit(&store, Changeset { tasks: vec![updated("t-a", 25)], ..Changeset::default() }).await;
    assert_eq!(task_ids(&between(10, 30).await), ["t-0", "t-b", "t-c", "t-a"]);
    assert!(between(0, 10).await.is_empty());
}

/// A case is read with its materials and watches in one call, a task with its case; cases are found by number,
/// by a set of ids, and by a search over number, applicant name and code.
pub async fn cases_are_read_whole(store: Arc<dyn Store>) {
    let file = blob(b"%PDF-1.7 form", 0);
    let mut change = file_case(case_row("case-1", "b", "accepted", Some("alice"), 0), "S");
    change.tasks = vec![task("t-1", "case-1", "market", "ready", Some(10))];
    change.materials = vec![material("case-1", "form", &file.sha256, file.size)];
    change.blobs = vec![file.clone()];
    change.watches = vec![put(watch("task:t-1", Some("case-1"), Some("market"), "green", Some(5), Some(10)))];
    let one = commit(&store, change).await.case.must("case-1");
    let mut other = case_row("case-2", "b", "draft", None, 1);
    other.applicant_name = "张三".to_string();
    other.applicant_code = Some("11010519491231002X".to_string());
    let two = filed(&store, other, "S").await;

    let bundle = store.case_bundle("case-1").await.must("bundle").must("case-1");
    assert_eq!(bundle.case, one);
    assert_eq!(bundle.materials, vec![material("case-1", "form", &file.sha256, file.size)]);
    assert_eq!(subjects(&bundle.watches), ["task:t-1"]);
    let (t, of_task) = store.task_bundle("t-1").await.must("task bundle").must("t-1");
    assert_eq!(t, task("t-1", "case-1", "market", "ready", Some(10)));
    assert_eq!(of_task, bundle);
    assert!(store.task_bundle("t-9").await.must("task bundle").is_none());
    assert_eq!(store.case_by_number("S000002").await.must("by number"), Some(two.clone()));
    let mut found = store.cases_by_ids(&["case-2".into(), "nope".into(), "case-1".into()]).await.must("by ids");
    found.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(found, vec![one.clone(), two.clone()]);

    let search = |text: &str| {
        let (store, text) = (Arc::clone(&store), text.to_string());
        async move {
            let filter = CaseFilter { search: Some(text), oldest_first: true, ..CaseFilter::default() };
            store.cases(&filter).await.must("search").into_iter().map(|c| c.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(search("S000002").await, ["case-2"], "a whole case number");
    assert_eq!(search("000001").await, ["case-1"], "a part of a case number");
    assert_eq!(search("张三").await, ["case-2"], "the applicant's name");
    assert_eq!(search("物流").await, ["case-1"], "a part of a company name");
    assert_eq!(search("91440300708461136t").await, ["case-1"], "a credit code, any case");
    assert_eq!(search("S").await, ["case-1", "case-2"]);
    assert!(search("50%").await.is_empty(), "no wildcards");
    assert_eq!(search("  ").await, ["case-1", "case-2"], "blank searches nothing out");
}

/// Probes write through the commit path: a record probe one row per client and no event, an event probe one
/// link of the chain.
pub async fn probes_write_through_the_commit_path(store: Arc<dyn Store>) {
    for _ in 0..3 {
        store.probe(Probe::Record { client: 7 }).await.must("a record probe");
    }
    store.probe(Probe::Record { client: 8 }).await.must("a record probe");
    let probes = RecordFilter { kind: "probe".into(), ..RecordFilter::default() };
    assert_eq!(store.count_records(&probes).await.must("count"), 2, "one row per client");
    assert_eq!(store.record("probe", "7").await.must("record").must("client 7").version, 3);
    assert_eq!(store.chain_head().await.must("head").0, 0, "no event");
    store.probe(Probe::Event).await.must("an event probe");
    store.probe(Probe::Event).await.must("an event probe");
    assert_chain_ok(&store, 2).await;
}

/// `wipe` empties every table and puts the chain back at genesis; the store works on from there.
pub async fn wipe_empties_every_table(store: Arc<dyn Store>) {
    fill_every_table(&store).await;
    store.wipe().await.must("wipe");
    for table in Table::ALL {
        let rows = store.dump(table, None, 10).await.must("dump");
        if table == Table::ChainHead {
            assert_eq!(rows, [serde_json::json!({ "id": 1, "seq": 0, "hash": GENESIS })]);
        } else {
            assert!(rows.is_empty(), "{table} is empty after a wipe");
        }
    }
    let again = filed(&store, case_row("case-a", "b", "draft", None, 0), "X").await;
    assert_eq!(again.number, "X000001", "numbering starts again");
    assert_chain_ok(&store, 1).await;
}

// ---------------------------------------------------------------------------------------------------------------
// Moving an installation: dump and restore
// ---------------------------------------------------------------------------------------------------------------

/// Fills every table through commits: a catalogue version, users and a token, cases under two prefixes (ids
/// whose byte order differs from a locale's), tasks, materials, an idempotency key, events (one without a case,
/// one with a payload whose exact bytes matter), watches (one under a lease) and records. Returns the number of
/// events.
async fn fill_every_table(store: &Arc<dyn Store>) -> i64 {
    commit(
        store,
        Changeset {
            catalog_version: Some(CatalogVersionRow {
                version: "cv-1".to_string(),
                files: vec![("bundles.toml".to_string(), "[bundle]\nname = \"开办运输企业\"\n".to_string())],
                loaded_at: at(0),
            }),
            users: new_users(vec![
                user("u-Z", "zhang.san", &["applicant"], None, 0),
                user("u-a", "officer.li", &["officer", "supervisor"], Some("tax"), 1),
            ]),
            tokens: vec![token_row(
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "u-a",
                "session",
                2,
            )],
            ..Changeset::default()
        },
    )
    .await;
    let mut first = case_row("case-a", "open-transport", "accepted", Some("u-Z"), 10);
    first.due_at = Some(at(86_400 * 5));
    filed(store, first, "X").await;
    filed(store, case_row("case-B", "open-transport", "draft", None, 20), "X").await;
    let mut third = filed(store, case_row("Case-c", "close-company", "draft", Some("u-Z"), 30), "Y").await;
    third.state = "submitted".to_string();
    third.doc = serde_json::json!({ "answers": {}, "note": "引号 \" 与换行 \n 照原样" }).to_string();
    let mut change = update_case(third, 1, "ev-c-submitted");
    if let Some(e) = change.event.as_mut() {
        // Not the canonical form of its JSON: the hash covers these exact bytes.
        e.payload = "{ \"b\": 1,  \"a\": \"é\" }".to_string();
    }
    change.tasks =
        vec![task("t-2", "case-a", "tax", "ready", Some(900)), task("t-1", "case-a", "market", "waiting", None)];
    let file = blob("营业执照 %PDF".as_bytes(), 3);
    change.materials = vec![material("case-a", "licence", &file.sha256, file.size)];
    change.blobs = vec![file];
    change.idempotency = Some(idempotency("u-Z", "key-1", "case-a"));
    commit(store, change).await;
    commit(
        store,
        Changeset {
            materials: vec![material("Case-c", "form", &"cd".repeat(32), 2_048)],
            watches: vec![
                put(watch("task:t-2", Some("case-a"), Some("tax"), "green", Some(10), Some(900))),
                put(watch("case:case-a", Some("case-a"), None, "blue", None, None)),
            ],
            records: adds(vec![
                record("notice", "n-1", Some("case-a"), Some("u-Z"), Some("tax"), "unread", 40),
                record("escalation", "e-1", None, None, Some("tax"), "open", 41),
            ]),
            event: Some(event("ev-system", None, "sweep_ran", 50)),
            ..Changeset::default()
        },
    )
    .await;
    // A watch under a lease: its lease columns are stored values too.
    assert_eq!(store.claim_watches("node-a", at(20), at(80), 1).await.must("claim").len(), 1);
    5
}

/// Every row of a table, read in pages of `page`.
async fn dump_all(store: &Arc<dyn Store>, table: Table, page: i64) -> Vec<serde_json::Value> {
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let found = store.dump(table, after.clone(), page).await.must("dump");
        assert!(found.len() as i64 <= page, "a page of {table} holds at most {page} rows");
        let Some(last) = found.last() else { break };
        after = Some(table.cursor(last).must("a cursor"));
        let full = found.len() as i64 == page;
        rows.extend(found);
        if !full {
            break;
        }
    }
    rows
}

/// The key of a dumped row, comparable: text by bytes, integers by value.
fn key_of(table: Table, row: &serde_json::Value) -> Vec<(Option<i64>, Option<String>)> {
    table.key().iter().map(|c| (row[c.name].as_i64(), row[c.name].as_str().map(str::to_string))).collect()
}

/// Every table of a store, as [`Store::dump`] gives it.
async fn dump_every_table(store: &Arc<dyn Store>) -> BTreeMap<Table, Vec<serde_json::Value>> {
    let mut all = BTreeMap::new();
    for table in Table::ALL {
        all.insert(table, dump_all(store, table, 1_000).await);
    }
    all
}

/// `dump` reads a table in key order — text keys by bytes — page after page from a cursor; every row holds every
/// column with its stored value: TEXT as a string (documents as their text), INTEGER as a number (instants in
/// milliseconds). A new store dumps nothing but its genesis chain head.
pub async fn dump_pages_in_key_order(store: Arc<dyn Store>) {
    for table in Table::ALL {
        let rows = store.dump(table, None, 10).await.must("dump");
        if table == Table::ChainHead {
            assert_eq!(rows, [serde_json::json!({ "id": 1, "seq": 0, "hash": GENESIS })]);
        } else {
            assert!(rows.is_empty(), "a new store has no {table}");
        }
    }
    let events = fill_every_table(&store).await;
    let all = dump_every_table(&store).await;
    for (table, rows) in &all {
        assert!(!rows.is_empty(), "{table} was filled");
        for row in rows {
            table.cells(row).must("a dumped row has exactly the table's columns");
        }
        let keys: Vec<_> = rows.iter().map(|r| key_of(*table, r)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{table} in key order: {keys:?}");
        for page in [1, 2, 3] {
            assert_eq!(&dump_all(&store, *table, page).await, rows, "{table} in pages of {page}");
        }
        // After the last key there is nothing; after the first, all but the first.
        let last = table.cursor(rows.last().must("a last row")).must("cursor");
        assert!(store.dump(*table, Some(last), 10).await.must("dump").is_empty());
        let first = table.cursor(&rows[0]).must("cursor");
        assert_eq!(store.dump(*table, Some(first), 0).await.must("dump"), rows[1..], "a limit of 0: the cap");
    }
    let case_ids: Vec<&str> = all[&Table::Cases].iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(case_ids, ["Case-c", "case-B", "case-a"], "byte order, whatever the database's locale");
    let first = &all[&Table::Cases][2];
    assert_eq!(first["number"], "X000001");
    assert_eq!(first["owner"], "u-Z");
    assert_eq!(first["due_at"], at(86_400 * 5).as_millisecond());
    assert_eq!(first["created_at"], at(10).as_millisecond());
    assert_eq!(first["version"], 1);
    let doc: serde_json::Value = serde_json::from_str(first["doc"].as_str().must("the doc as text")).must("json");
    let expected: serde_json::Value = serde_json::from_str(&case_row("case-a", "", "", None, 0).doc).must("json");
    assert_eq!(doc, expected);
    assert_eq!(all[&Table::Cases][1]["owner"], serde_json::Value::Null);
    let sequences: Vec<(&str, i64)> = all[&Table::NumberSequences]
        .iter()
        .filter_map(|r| Some((r["prefix"].as_str()?, r["last"].as_i64()?)))
        .collect();
    assert_eq!(sequences, [("X", 2), ("Y", 1)]);
    let stored = store.events_after(0, 100).await.must("events");
    assert_eq!(stored.len() as i64, events);
    for (row, e) in all[&Table::Events].iter().zip(&stored) {
        assert_eq!(crate::EventRow::from_dump(row).must("an event from its row"), *e);
    }
    let head = store.chain_head().await.must("head");
    assert_eq!(all[&Table::ChainHead], [serde_json::json!({ "id": 1, "seq": head.0, "hash": head.1 })]);
    let leased = all[&Table::Watches].iter().find(|w| w["lease_owner"] == "node-a").must("the leased watch");
    assert_eq!(leased["lease_until"], at(80).as_millisecond());
    // A cursor that is not one of the table's keys is refused.
    let bad = store.dump(Table::Events, Some(r#"["one"]"#.to_string()), 10).await;
    assert!(matches!(bad, Err(StoreError::Backend(_))), "got {bad:?}");
}

/// `restore` refuses a table that holds rows — the chain head once it left genesis — so an import never mixes
/// two installations; it takes further batches of a table this store is restoring, until anyone else writes to
/// the table.
pub async fn restore_refuses_tables_with_rows(store: Arc<dyn Store>) {
    let notice = |id: &str, created: i64| {
        serde_json::json!({ "kind": "notice", "id": id, "case_id": null, "owner": "u-1", "department": null,
            "state": "unread", "created_at": at(created).as_millisecond(), "updated_at": at(created).as_millisecond(),
            "version": 1, "doc": "{}" })
    };
    // Batches of one table, in key order, from this store: accepted.
    store.restore(Table::Records, vec![notice("r-a", 0), notice("r-b", 1)]).await.must("restore a first batch");
    store.restore(Table::Records, vec![notice("r-c", 2)]).await.must("restore a second batch");
    store.restore(Table::Records, vec![]).await.must("restore nothing");
    assert_eq!(dump_all(&store, Table::Records, 10).await.len(), 3);
    // Someone else writes to the table: the next batch is refused.
    commit(
        &store,
        Changeset { records: adds(vec![record("notice", "r-z", None, None, None, "read", 3)]), ..Changeset::default() },
    )
    .await;
    match store.restore(Table::Records, vec![notice("r-d", 4)]).await {
        Err(StoreError::NotEmpty { table }) => assert_eq!(table, "records"),
        other => panic!("expected the records to be refused, got {other:?}"),
    }
    assert_eq!(dump_all(&store, Table::Records, 10).await.len(), 4, "nothing of the refused batch");

    // A store filled by commits refuses every table, and the refusals change nothing.
    fill_every_table(&store).await;
    let before = dump_every_table(&store).await;
    for table in Table::ALL {
        let row = before[&table].first().must("a row").clone();
        match store.restore(table, vec![row]).await {
            Err(StoreError::NotEmpty { table: refused }) => assert_eq!(refused, table.name()),
            other => panic!("expected {table} to be refused, got {other:?}"),
        }
    }
    // The chain head at genesis takes a head; once moved, it refuses another, even the genesis one.
    let genesis = serde_json::json!({ "id": 1, "seq": 0, "hash": GENESIS });
    let refused = store.restore(Table::ChainHead, vec![genesis]).await;
    assert!(matches!(refused, Err(StoreError::NotEmpty { .. })), "got {refused:?}");
    assert_eq!(dump_every_table(&store).await, before, "refusals change nothing");
    assert_chain_ok(&store, 5).await;
}

/// A batch is restored entirely or not at all: a row that is not exactly the table's columns with their types,
/// or a key that is already there, fails the batch and writes nothing of it. Rows are taken verbatim — the
/// store recomputes nothing — so an event altered in transit is found by the chain check afterwards.
pub async fn restore_takes_rows_verbatim_or_not_at_all(store: Arc<dyn Store>) {
    let sequence = |prefix: &str, last: serde_json::Value| serde_json::json!({ "prefix": prefix, "last": last });
    for bad in [
        serde_json::json!({ "prefix": "B" }),
        serde_json::json!({ "prefix": "B", "last": 1, "extra": true }),
        sequence("B", serde_json::json!("1")),
        sequence("B", serde_json::Value::Null),
        serde_json::json!("B,1"),
    ] {
        let refused = store.restore(Table::NumberSequences, vec![sequence("A", 1.into()), bad.clone()]).await;
        assert!(matches!(refused, Err(StoreError::Backend(_))), "{bad}: got {refused:?}");
    }
    let twice = store.restore(Table::NumberSequences, vec![sequence("A", 1.into()), sequence("A", 2.into())]).await;
    assert!(twice.is_err(), "a key twice in one batch");
    assert!(dump_all(&store, Table::NumberSequences, 10).await.is_empty(), "nothing of a failed batch");

    // Events as they came, even one altered in transit: nothing is recomputed, and the chain check names it.
    let mut rows: Vec<serde_json::Value> = linked_events().iter().map(event_row).collect();
    rows[1]["payload"] = serde_json::json!(r#"{"kind":"case_changed","n":1,"altered":true}"#);
    store.restore(Table::Events, rows.clone()).await.must("restore events");
    let head = serde_json::json!({ "id": 1, "seq": 2, "hash": rows[1]["hash"] });
    store.restore(Table::ChainHead, vec![head]).await.must("restore the head");
    assert_eq!(dump_all(&store, Table::Events, 10).await, rows, "verbatim");
    let report = verify_chain(&*store).await.must("verify");
    let broken = report.broken.must("the altered event");
    assert_eq!(broken.seq, 2);
    assert!(broken.reason.contains("does not match its hash"), "{}", broken.reason);

    // A restored sequence and head go on where they were.
    store.restore(Table::NumberSequences, vec![sequence("X", 41.into())]).await.must("restore a sequence");
    let filed = commit(&store, file_case(case_row("case-2", "b", "draft", None, 0), "X")).await;
    assert_eq!(filed.case.must("the case").number, "X000042");
    let e = filed.event.must("the event");
    assert_eq!((e.seq, e.prev_hash.as_str()), (3, rows[1]["hash"].as_str().must("a hash")));
}

/// Two linked events of one case, as a source store would have stored them.
fn linked_events() -> Vec<EventRow> {
    let mut events: Vec<EventRow> = Vec::new();
    for (seq, (id, kind)) in [(1, ("ev-1", "case_filed")), (2, ("ev-2", "case_changed"))] {
        let prev = events.last().map_or(GENESIS.to_string(), |e| e.hash.clone());
        let e = event(id, Some("case-1"), kind, seq);
        let hash = event_hash(seq, id, Some("case-1"), kind, &e.actor, e.at, &e.payload, &prev, &prev);
        events.push(EventRow {
            seq,
            id: id.to_string(),
            case_id: Some("case-1".to_string()),
            kind: kind.to_string(),
            actor: e.actor,
            at: e.at,
            payload: e.payload,
            prev_hash: prev.clone(),
            case_prev_hash: prev,
            hash,
        });
    }
    events
}

fn event_row(e: &EventRow) -> serde_json::Value {
    serde_json::json!({ "seq": e.seq, "id": e.id, "case_id": e.case_id, "kind": e.kind, "actor": e.actor,
        "at": e.at.as_millisecond(), "payload": e.payload, "prev_hash": e.prev_hash,
        "case_prev_hash": e.case_prev_hash, "hash": e.hash })
}

/// Every table dumped from a store and restored into a fresh one, in [`Table::ALL`] order and in batches, is
/// the same table: the same rows, the same chain (which verifies), the same records read back. The target then
/// goes on where the source stopped: the next event links to the restored head, the next case number follows
/// the restored sequence.
pub async fn dump_and_restore_round_trip(source: Arc<dyn Store>, target: Arc<dyn Store>) {
    let events = fill_every_table(&source).await;
    for table in Table::ALL {
        let rows = dump_all(&source, table, 3).await;
        for batch in rows.chunks(2) {
            target.restore(table, batch.to_vec()).await.must("restore a batch");
        }
    }
    assert_eq!(dump_every_table(&target).await, dump_every_table(&source).await, "every table, row for row");
    assert_chain_ok(&target, events).await;
    assert_eq!(target.chain_head().await.must("head"), source.chain_head().await.must("head"));
    assert_eq!(target.events_after(0, 100).await.must("events"), source.events_after(0, 100).await.must("events"));
    for id in ["case-a", "case-B", "Case-c"] {
        assert_eq!(read_case(&target, id).await, read_case(&source, id).await, "{id}");
        assert_eq!(target.case_events(id).await.must("events"), source.case_events(id).await.must("events"));
        assert_eq!(read_materials(&target, id).await, read_materials(&source, id).await);
        assert_eq!(read_watches(&target, id).await, read_watches(&source, id).await);
    }
    assert_eq!(read_task(&target, "t-1").await, read_task(&source, "t-1").await);
    assert_eq!(
        target.user_by_name("officer.li").await.must("user"),
        source.user_by_name("officer.li").await.must("user")
    );
    let token = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    assert_eq!(target.token(token).await.must("token"), source.token(token).await.must("token"));
    assert_eq!(target.catalog_version("cv-1").await.must("cv"), source.catalog_version("cv-1").await.must("cv"));
    assert_eq!(
        target.idempotency("u-Z", "key-1").await.must("key"),
        source.idempotency("u-Z", "key-1").await.must("key")
    );
    assert_eq!(
        target.record("notice", "n-1").await.must("record"),
        source.record("notice", "n-1").await.must("record")
    );

    // The target goes on from the restored state.
    let (head_seq, head_hash) = target.chain_head().await.must("head");
    let last_of_case = target.case_events("case-a").await.must("events").last().must("an event").hash.clone();
    let case = read_case(&target, "case-a").await.must("case-a");
    let changed = commit(&target, update_case(case, 1, "ev-after-import")).await.event.must("the event");
    assert_eq!((changed.seq, changed.prev_hash, changed.case_prev_hash), (head_seq + 1, head_hash, last_of_case));
    let next = filed(&target, case_row("case-d", "b", "draft", None, 60), "X").await;
    assert_eq!(next.number, "X000003", "the restored sequence goes on");
    assert_chain_ok(&target, events + 2).await;
    assert_chain_ok(&source, events).await;

    // Tables the target holds now refuse another installation's rows.
    let refused = target.restore(Table::ChainHead, dump_all(&source, Table::ChainHead, 1).await).await;
    assert!(matches!(refused, Err(StoreError::NotEmpty { .. })), "got {refused:?}");
}
