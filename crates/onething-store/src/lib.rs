//! onething-store: the storage contract. The [`Store`] trait, the rows it reads and writes, [`StoreError`], the
//! event hash chain ([`event_hash`], [`ChainVerifier`], [`verify_chain`]), the tables for moving an installation
//! ([`Table`]) and, behind the `testing` feature, the conformance suite every backend must pass.
//!
//! The store knows rows, not rules: a case is an indexed row plus a JSON document the service owns. The one
//! write operation is [`Store::commit`]: a [`Changeset`] — everything one use case changes, with exactly one
//! event for a state change — applied atomically and durably. Every row a changeset updates names the version
//! it was read at (cases, users, records, watches of the worker); a stale version fails the whole changeset with
//! [`StoreError::Conflict`] and changes nothing. The service decides what goes into a changeset (the
//! transaction boundary); the backend only executes it.
//!
//! Reads are shaped by the use cases, one call each: [`Store::case_bundle`] gives a case with its materials and
//! watches, [`Store::task_bundle`] a task with its case, so that a use case reads once and writes once.

mod chain;
pub mod codec;
#[cfg(feature = "testing")]
pub mod conformance;
mod table;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use chain::{BrokenLink, ChainReport, ChainVerifier, event_hash, hex, to_millis, verify_chain};
pub use table::{Cell, Column, ColumnType, Table};

/// The hash before the first event of a chain (global or per case).
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A row changed since it was read (its version is not the expected one), or a row to insert exists.
    #[error("{what} was changed by someone else: reload and try again")]
    Conflict { what: String },
    /// A unique key (username, idempotency key, ID number) already exists.
    #[error("{what} already exists")]
    Duplicate { what: String },
    /// The disk (or the database's quota) is full: nothing of the changeset was written.
    #[error("the storage is full: {0}")]
    Full(String),
    /// The backend failed (IO, connection, corrupt data). Never caused by user input.
    #[error("storage failure: {0}")]
    Backend(String),
    /// The store is shutting down and takes no more writes.
    #[error("the store is closed")]
    Closed,
    /// [`Store::restore`] was asked to write into a table that already holds rows (or a chain head that is not
    /// at [`GENESIS`]): an import never mixes two installations.
    #[error("the table {table} already holds rows: restore only into a new, empty installation")]
    NotEmpty { table: String },
}

impl StoreError {
    /// A conflict on a row described by `what` (e.g. `case 0193…`).
    pub fn conflict(what: impl Into<String>) -> StoreError {
        StoreError::Conflict { what: what.into() }
    }
}

/// A case row (办件): indexed columns for queries plus the service's document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRow {
    /// UUID v7, text.
    pub id: String,
    /// Human-facing case number (办件编号), unique; allocated by the store on insert (see [`CaseWrite`]).
    pub number: String,
    pub bundle: String,
    pub catalog_version: String,
    /// `draft`, `submitted`, `returned`, `accepted`, `in_progress`, `concluded`, `withdrawn`.
    pub state: String,
    /// The user who owns the case (an applicant), if any; an assisted filing by a clerk may have none.
    pub owner: Option<String>,
    /// The applicant's name and code (credit code or ID number), for the queue's search.
    pub applicant_name: String,
    pub applicant_code: Option<String>,
    /// The bundle deadline once accepted.
    pub due_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Incremented by every commit that writes the case; starts at 1.
    pub version: i64,
    /// The aggregate as the service defines it, as JSON text.
    pub doc: String,
}

/// How the case of a changeset is written.
#[derive(Debug, Clone)]
pub struct CaseWrite {
    /// The row to write. On insert, `number` is ignored and allocated as `number_prefix` + a six-digit
    /// sequence per prefix (e.g. `YJS20261130` → `YJS20261130000001`); `version` is ignored and set to 1.
    /// On update, `number` is ignored (it never changes) and `version` is set to `expected_version + 1`.
    pub row: CaseRow,
    /// `None`: insert a new case (a case with the same id is a [`StoreError::Conflict`]).
    /// `Some(v)`: update, only if the stored version is `v` (else [`StoreError::Conflict`]).
    pub expected_version: Option<i64>,
    /// The prefix of the number to allocate on insert.
    pub number_prefix: String,
}

/// A task row (部门审批环节): one item of a case for its department.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRow {
    pub id: String,
    pub case_id: String,
    pub item: String,
    pub department: String,
    /// `waiting`, `ready`, `returned`, `approved`, `rejected`.
    pub state: String,
    pub due_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    /// The task as JSON text.
    pub doc: String,
}

/// A material of a case (材料): which stored file answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaterialRow {
    pub case_id: String,
    pub material: String,
    /// The [`BlobRow`] holding the file.
    pub sha256: String,
    pub size: i64,
    pub media_type: String,
    pub uploaded_at: Timestamp,
}

/// The content of a file, addressed by its SHA-256 (hex): kept in the database, so that it is durable with the
/// commit that records it and every node reads the same bytes. Inserted if absent (the same content twice is
/// one row).
#[derive(Debug, Clone, PartialEq)]
pub struct BlobRow {
    pub sha256: String,
    pub size: i64,
    pub bytes: Vec<u8>,
    pub created_at: Timestamp,
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: String,
    /// Unique.
    pub username: String,
    pub display_name: String,
    /// An Argon2id PHC string (empty for an account that signs in only through an identity provider).
    pub password_hash: String,
    /// `applicant`, `clerk`, `officer`, `head`, `supervisor`, `mediator`, `admin`.
    pub roles: Vec<String>,
    pub department: Option<String>,
    /// A disabled account cannot sign in and its tokens stop working.
    pub disabled: bool,
    /// The password was set by someone else: it must be changed at the next sign-in.
    pub must_change_password: bool,
    /// The resident ID number of a person (unique when present).
    pub id_number: Option<String>,
    /// The identity at an OpenID provider, `issuer|subject` (unique when present).
    pub external_id: Option<String>,
    /// The service's profile document (phone, company link, …), JSON text.
    pub profile: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Incremented by every write; starts at 1.
    pub version: i64,
}

/// How a user is written.
#[derive(Debug, Clone)]
pub struct UserWrite {
    /// The row; `version` is ignored (1 on insert, `expected_version + 1` on update).
    pub row: UserRow,
    /// `None`: insert (an existing username, ID number or external id is [`StoreError::Duplicate`]).
    /// `Some(v)`: update, only if the stored version is `v`.
    pub expected_version: Option<i64>,
}

/// A bearer token, stored by the SHA-256 of its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRow {
    pub token_hash: String,
    pub user_id: String,
    /// `session` (a web sign-in), `api` (a bearer token from `POST /sessions`), `key` (a system's API key).
    pub kind: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Set when the token was revoked (sign-out, password change, account disabled).
    pub revoked_at: Option<Timestamp>,
}

/// Which tokens a changeset revokes (sets `revoked_at` on those not revoked yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// One token, by its hash.
    Token { token_hash: String, at: Timestamp },
    /// Every token of a user (by user id).
    User { user_id: String, at: Timestamp },
}

/// An idempotency record: the same key with the same body returns the same case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotencyRow {
    /// Who sent the key (user id): keys are scoped per user.
    pub scope: String,
    pub key: String,
    pub body_sha256: String,
    pub case_id: String,
    pub created_at: Timestamp,
}

/// A catalogue version: the texts a case was filed under, so it can be compiled again later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogVersionRow {
    pub version: String,
    /// `[(file name, text)]`.
    pub files: Vec<(String, String)>,
    pub loaded_at: Timestamp,
}

/// An event to append (the store assigns `seq` and the hashes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// UUID v7; consumers drop duplicates by it.
    pub id: String,
    /// The stream the event belongs to: the case, work order or mediation case it changes or concerns. Each
    /// stream has a chain of its own besides the global one.
    pub case_id: Option<String>,
    /// snake_case, e.g. `case_filed`, `case_submitted`, `task_approved`: the `type` of the payload.
    pub kind: String,
    /// The user id, or `system`.
    pub actor: String,
    pub at: Timestamp,
    /// JSON text, stored verbatim (the hash covers these exact bytes).
    pub payload: String,
}

/// An event of the append-only log, with its place in both chains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRow {
    /// Global order, from 1, without gaps.
    pub seq: i64,
    pub id: String,
    pub case_id: Option<String>,
    pub kind: String,
    pub actor: String,
    pub at: Timestamp,
    pub payload: String,
    /// The hash of the previous event of the whole log ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// The hash of the previous event of the same stream ([`GENESIS`] for its first, or when `case_id` is None).
    pub case_prev_hash: String,
    pub hash: String,
}

/// A watched deadline (督办监控): the colour last recorded for a running clock (a task, a case, a project
/// milestone) and when it can next change. The deadline worker claims the watches whose `next_check_at` has
/// come — an index range scan, so open items that cross nothing cost nothing — under a lease, so that several
/// nodes never process one twice and a node that dies mid-claim only delays it until the lease runs out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchRow {
    /// `task:<id>`, `case:<id>` or `milestone:<id>`: unique.
    pub subject: String,
    pub case_id: Option<String>,
    pub department: Option<String>,
    /// `green`, `blue`, `yellow`, `red`, or `none` for a clock that does not run (paused, decided).
    pub colour: String,
    /// When the colour can next change; `None` while nothing can (paused, red, decided).
    pub next_check_at: Option<Timestamp>,
    /// The deadline itself, for "how late" lists (`None` when unknown or paused).
    pub due_at: Option<Timestamp>,
    /// Incremented by every write; starts at 1.
    pub version: i64,
    /// The node holding a claim, and until when. Cleared by every write.
    pub lease_owner: Option<String>,
    pub lease_until: Option<Timestamp>,
}

/// How a watch is written.
#[derive(Debug, Clone)]
pub struct WatchWrite {
    /// The row; `version` and the lease fields are ignored (the store sets version and clears the lease).
    pub row: WatchRow,
    /// `None`: insert or replace whatever is stored — a watch is a projection of its case, written in the same
    /// changeset as the case's versioned write, which is what guards it. `Some(v)`: only if the stored version
    /// is `v`, else [`StoreError::Conflict`] (the worker lost a race: skip the item).
    pub expected_version: Option<i64>,
}

/// A record (督办/约谈/通知/评价/项目…): an indexed row with a JSON document, for the kinds that need no table of
/// their own. Keyed by (kind, id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordRow {
    /// e.g. `escalation`, `interview`, `notice`, `rating`, `review`, `project`.
    pub kind: String,
    pub id: String,
    pub case_id: Option<String>,
    /// The user it belongs to or is addressed to (a notice's recipient), if any.
    pub owner: Option<String>,
    pub department: Option<String>,
    /// Kind-specific: `open`/`closed`, `unread`/`read`, …
    pub state: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Incremented by every write; starts at 1.
    pub version: i64,
    /// The record's document, JSON text (a type of the service's).
    pub doc: String,
}

/// How a record is written.
#[derive(Debug, Clone)]
pub struct RecordWrite {
    /// The row; `version` is ignored (1 on insert, `expected_version + 1` on update), and on update
    /// `created_at` is kept as stored.
    pub row: RecordRow,
    /// `None`: insert (an existing (kind, id) is [`StoreError::Duplicate`]). `Some(v)`: update, only if the
    /// stored version is `v` (else [`StoreError::Conflict`]).
    pub expected_version: Option<i64>,
}

/// Which records to list (newest first, by created_at then id).
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    pub kind: String,
    pub case_id: Option<String>,
    pub owner: Option<String>,
    pub department: Option<String>,
    pub state: Option<String>,
    /// created_at >= since.
    pub since: Option<Timestamp>,
    /// created_at < until.
    pub until: Option<Timestamp>,
    pub limit: i64,
}

/// Open watches counted by department and colour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColourCount {
    pub department: Option<String>,
    pub colour: String,
    pub count: i64,
}

/// Everything one use case changes, applied in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Changeset {
    pub case: Option<CaseWrite>,
    /// Upserted by id (the case's versioned write guards them).
    pub tasks: Vec<TaskRow>,
    /// Upserted by (case_id, material) (the case's versioned write guards them).
    pub materials: Vec<MaterialRow>,
    /// Inserted unless the content is stored already.
    pub blobs: Vec<BlobRow>,
    /// Deleted by hash, only while no material refers to them (file clean-up; no state change).
    pub blob_deletions: Vec<String>,
    /// Inserted; an existing (scope, key) is [`StoreError::Duplicate`].
    pub idempotency: Option<IdempotencyRow>,
    pub users: Vec<UserWrite>,
    /// Inserted.
    pub tokens: Vec<TokenRow>,
    pub revocations: Vec<Revocation>,
    /// Inserted unless the version exists.
    pub catalog_version: Option<CatalogVersionRow>,
    /// Watched deadlines, written with their version rule.
    pub watches: Vec<WatchWrite>,
    pub records: Vec<RecordWrite>,
    /// Appended. Every state change carries exactly one.
    pub event: Option<NewEvent>,
}

/// What a commit produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    /// The case as stored (number and version filled in), when the changeset wrote one.
    pub case: Option<CaseRow>,
    /// The event as appended.
    pub event: Option<EventRow>,
}

/// A case with what a use case reads beside it, in one call.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseBundle {
    pub case: CaseRow,
    /// By material code.
    pub materials: Vec<MaterialRow>,
    /// By subject.
    pub watches: Vec<WatchRow>,
}

/// Which cases to list.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub state: Option<String>,
    pub bundle: Option<String>,
    pub owner: Option<String>,
    /// Only cases with a task of this department.
    pub department: Option<String>,
    /// A case number, or a part of the applicant's name or code (case-insensitive for ASCII).
    pub search: Option<String>,
    /// Oldest first when true, newest first otherwise.
    pub oldest_first: bool,
    pub limit: i64,
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub department: Option<String>,
    /// Any of these states (none: every state).
    pub states: Vec<String>,
    pub case_id: Option<String>,
    pub limit: i64,
}

/// Which users to list (by username).
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub role: Option<String>,
    pub department: Option<String>,
    /// A part of the username or display name.
    pub search: Option<String>,
    pub limit: i64,
}

/// A trivial write through the store's own commit path, to measure the floor the storage sets (`onething
/// bench`). For scratch stores: a probe writes a `probe` record or appends a `probe` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Upserts one small record (`kind = probe`, one per client): a row, no event.
    Record { client: u32 },
    /// Appends one event to the hash-chained log (no other row).
    Event,
}

/// The storage backend. Every method is safe to call concurrently.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies a changeset atomically. Returns only after the transaction that holds it is durably committed
    /// (concurrent commits share one transaction and one fsync: group commit). A failed check (version,
    /// duplicate) fails this changeset alone and changes nothing of it.
    async fn commit(&self, change: Changeset) -> Result<Committed, StoreError>;
    /// One trivial write through the same path as [`Store::commit`] (see [`Probe`]).
    async fn probe(&self, probe: Probe) -> Result<(), StoreError>;

    /// A case with its materials and watches.
    async fn case_bundle(&self, id: &str) -> Result<Option<CaseBundle>, StoreError>;
    /// A task with its case's bundle.
    async fn task_bundle(&self, task_id: &str) -> Result<Option<(TaskRow, CaseBundle)>, StoreError>;
    /// The case of a number (办件编号).
    async fn case_by_number(&self, number: &str) -> Result<Option<CaseRow>, StoreError>;
    async fn cases(&self, filter: &CaseFilter) -> Result<Vec<CaseRow>, StoreError>;
    /// The cases of these ids that exist, in no particular order.
    async fn cases_by_ids(&self, ids: &[String]) -> Result<Vec<CaseRow>, StoreError>;
    async fn count_cases(&self) -> Result<i64, StoreError>;
    /// Tasks, earliest deadline first.
    async fn tasks(&self, filter: &TaskFilter) -> Result<Vec<TaskRow>, StoreError>;
    /// Tasks updated in [since, until) — for the performance assessment of a period.
    async fn tasks_updated_between(&self, since: Timestamp, until: Timestamp) -> Result<Vec<TaskRow>, StoreError>;
    /// The contents of a stored file.
    async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stored files no material refers to (hash, size), at most `limit`.
    async fn unreferenced_blobs(&self, limit: i64) -> Result<Vec<(String, i64)>, StoreError>;
    async fn idempotency(&self, scope: &str, key: &str) -> Result<Option<IdempotencyRow>, StoreError>;
    async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, StoreError>;
    async fn user(&self, id: &str) -> Result<Option<UserRow>, StoreError>;
    /// The user of an external identity (`issuer|subject`).
    async fn user_by_external_id(&self, external_id: &str) -> Result<Option<UserRow>, StoreError>;
    async fn users(&self, filter: &UserFilter) -> Result<Vec<UserRow>, StoreError>;
    /// The token and its user, if the token exists (expiry and revocation are the caller's to check).
    async fn token(&self, token_hash: &str) -> Result<Option<(TokenRow, UserRow)>, StoreError>;
    async fn catalog_version(&self, version: &str) -> Result<Option<CatalogVersionRow>, StoreError>;
    /// The events of one stream, in order.
    async fn case_events(&self, case_id: &str) -> Result<Vec<EventRow>, StoreError>;
    /// Events with `seq > after`, in order, at most `limit`.
    async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<EventRow>, StoreError>;
    /// The stored head of the global chain: (last seq, last hash), or (0, GENESIS).
    async fn chain_head(&self) -> Result<(i64, String), StoreError>;
    /// Claims up to `limit` watches whose `next_check_at <= now` and whose lease is free or ran out
    /// (`lease_until < now`), earliest first, setting their lease to (`owner`, `lease_until`); returns them.
    /// One claim is atomic: two nodes claiming at once never get the same watch.
    async fn claim_watches(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<WatchRow>, StoreError>;
    async fn watch(&self, subject: &str) -> Result<Option<WatchRow>, StoreError>;
    /// Watches with a colour other than `none`, counted by department and colour (the supervision overview);
    /// only subjects starting with `subject_prefix` (e.g. `task:`).
    async fn colour_counts(&self, subject_prefix: &str) -> Result<Vec<ColourCount>, StoreError>;
    /// Watches of a colour (e.g. `red`), optionally of one department, most overdue (earliest due) first.
    async fn watches_by_colour(
        &self,
        subject_prefix: &str,
        colour: &str,
        department: Option<&str>,
        limit: i64,
    ) -> Result<Vec<WatchRow>, StoreError>;
    async fn record(&self, kind: &str, id: &str) -> Result<Option<RecordRow>, StoreError>;
    async fn records(&self, filter: &RecordFilter) -> Result<Vec<RecordRow>, StoreError>;
    async fn count_records(&self, filter: &RecordFilter) -> Result<i64, StoreError>;
    /// Rows of one table, verbatim, for moving an installation (`onething export`): at most `limit` rows (0 or
    /// less: the default cap of the lists) in the order of the table's key ([`Table::key`], text compared byte
    /// by byte), starting after the key `after` (a [`Table::cursor`] of the last row of the previous page;
    /// `None` from the start). Each row is a JSON object with every column of [`Table::columns`]: TEXT as a
    /// string (JSON documents and event payloads as their stored text), INTEGER as a number (instants are unix
    /// milliseconds), BLOB as base64, NULL as null.
    async fn dump(&self, table: Table, after: Option<String>, limit: i64)
    -> Result<Vec<serde_json::Value>, StoreError>;
    /// Inserts rows as [`Store::dump`] gave them, verbatim and in one transaction (`onething import`): events
    /// keep their seq, hashes and payload text; `number_sequences` and `chain_head` their stored values. Nothing
    /// is recomputed, so the chain verifies afterwards exactly as it did at the source.
    ///
    /// Refused with [`StoreError::NotEmpty`] when the table already holds rows — `chain_head` when it is not at
    /// genesis — with one exception, so that a large table can be restored in batches: further calls on the
    /// same store handle may add to a table that handle itself restored, as long as nothing else wrote to it
    /// since (its greatest key is still the one the last batch left). A row that is not an object of exactly
    /// the table's columns, with the right types, is a [`StoreError::Backend`] failure and nothing is written.
    async fn restore(&self, table: Table, rows: Vec<serde_json::Value>) -> Result<(), StoreError>;
    /// Empties every table and puts the chain head back at genesis, in one transaction: what a failed import
    /// leaves behind is removed, so the target is as empty as before.
    async fn wipe(&self) -> Result<(), StoreError>;
    /// Flushes and stops taking writes; pending commits finish first.
    async fn close(&self);
}
