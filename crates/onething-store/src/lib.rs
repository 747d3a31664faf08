//! onething-store: the storage contract. The [`Store`] trait, the records it reads and writes, [`StoreError`],
//! the event hash chain ([`event_hash`], [`verify_chain`]) and, behind the `testing` feature, the conformance
//! suite every backend must pass.
//!
//! The store knows rows, not rules: a case is an indexed row plus a JSON document the service owns. The one
//! write operation is [`Store::commit`]: a [`Changeset`] — everything one use case changes, with exactly one
//! event for a state change — applied atomically and durably, with an optimistic version check on the case.
//! The service decides what goes into a changeset (the transaction boundary); the backend only executes it.

pub mod codec;
#[cfg(feature = "testing")]
pub mod conformance;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash before the first event of a chain (global or per case).
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The case changed since it was read (its version is not the expected one), or a case with this id exists.
    #[error("the case {case_id} was changed by someone else: reload and try again")]
    Conflict { case_id: String },
    /// A unique key (username, idempotency key, case number) already exists.
    #[error("{what} already exists")]
    Duplicate { what: String },
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

/// A case row: indexed columns for queries plus the service's document.
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
    /// The bundle deadline once accepted.
    pub due_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Incremented by every commit that writes the case; starts at 1.
    pub version: i64,
    /// The aggregate as the service defines it (answers, form, materials, pauses, results…).
    pub doc: serde_json::Value,
}

/// How the case of a changeset is written.
#[derive(Debug, Clone)]
pub struct CaseWrite {
    /// The row to write. On insert, `number` is ignored and allocated as `number_prefix` + a six-digit
    /// sequence per prefix (e.g. `YJS20261130` → `YJS20261130000001`); `version` is ignored and set to 1.
    /// On update, `version` is ignored and set to `expected_version + 1`.
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
    pub doc: serde_json::Value,
}

/// A material file attached to a case: the file itself is content-addressed on disk by its sha256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaterialRow {
    pub case_id: String,
    pub material: String,
    pub sha256: String,
    pub size: i64,
    pub media_type: String,
    pub uploaded_at: Timestamp,
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    /// An Argon2id PHC string.
    pub password_hash: String,
    /// `applicant`, `clerk`, `officer`, `supervisor`, `admin`.
    pub roles: Vec<String>,
    pub department: Option<String>,
    pub created_at: Timestamp,
}

/// A bearer token, stored by the SHA-256 of its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRow {
    pub token_hash: String,
    pub user_id: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
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
    pub case_id: Option<String>,
    /// snake_case, e.g. `case_filed`, `case_submitted`, `task_approved`.
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
    /// The hash of the previous event of the same case ([`GENESIS`] for its first, or when `case_id` is None).
    pub case_prev_hash: String,
    pub hash: String,
}

impl EventRow {
    /// An event from a row of [`Table::Events`] as [`Store::dump`] gives it (to check a chain being exported).
    pub fn from_dump(row: &serde_json::Value) -> Result<EventRow, StoreError> {
        // `cells` checked every column against its type, in the order of the schema.
        let mut cells = Table::Events.cells(row)?.into_iter();
        let mut next = || cells.next().unwrap_or(Cell::Text(None));
        let seq = integer(next())?;
        let id = required(next())?;
        let case_id = optional(next())?;
        let kind = required(next())?;
        let actor = required(next())?;
        let at_ms = integer(next())?;
        let at = Timestamp::from_millisecond(at_ms)
            .map_err(|e| StoreError::Backend(format!("event {seq}: instant {at_ms} is out of range: {e}")))?;
        Ok(EventRow {
            seq,
            id,
            case_id,
            kind,
            actor,
            at,
            payload: required(next())?,
            prev_hash: required(next())?,
            case_prev_hash: required(next())?,
            hash: required(next())?,
        })
    }
}

fn integer(cell: Cell) -> Result<i64, StoreError> {
    match cell {
        Cell::Integer(Some(n)) => Ok(n),
        _ => Err(StoreError::Backend("an event row: expected an integer".to_string())),
    }
}

fn required(cell: Cell) -> Result<String, StoreError> {
    optional(cell)?.ok_or_else(|| StoreError::Backend("an event row: expected a string".to_string()))
}

fn optional(cell: Cell) -> Result<Option<String>, StoreError> {
    match cell {
        Cell::Text(v) => Ok(v),
        Cell::Integer(_) => Err(StoreError::Backend("an event row: expected a string".to_string())),
    }
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
    /// `None`: insert or replace whatever is stored (a use case recomputing its clocks wins). `Some(v)`: only if
    /// the stored version is `v`, else [`StoreError::Conflict`] (the worker lost a race: skip the item).
    pub expected_version: Option<i64>,
}

/// A supervision record (督办/约谈/通知/评价/项目…): an indexed row with a JSON document, for the kinds of
/// record that need no table of their own. Upserted by (kind, id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordRow {
    /// e.g. `escalation`, `interview`, `notice`, `rating`, `review`, `project`, `milestone`.
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
    pub doc: serde_json::Value,
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
    /// Upserted by id.
    pub tasks: Vec<TaskRow>,
    /// Upserted by (case_id, material).
    pub materials: Vec<MaterialRow>,
    /// Inserted; an existing (scope, key) is [`StoreError::Duplicate`].
    pub idempotency: Option<IdempotencyRow>,
    /// Upserted by username.
    pub users: Vec<UserRow>,
    /// Inserted.
    pub tokens: Vec<TokenRow>,
    /// Inserted unless the version exists.
    pub catalog_version: Option<CatalogVersionRow>,
    /// Watched deadlines, written with their version rule.
    pub watches: Vec<WatchWrite>,
    /// Supervision records, upserted by (kind, id).
    pub records: Vec<RecordRow>,
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

/// Which cases to list.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub state: Option<String>,
    pub bundle: Option<String>,
    pub owner: Option<String>,
    /// Only cases with a task of this department.
    pub department: Option<String>,
    /// Oldest first when true, newest first otherwise.
    pub oldest_first: bool,
    pub limit: i64,
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub department: Option<String>,
    pub state: Option<String>,
    pub case_id: Option<String>,
    pub limit: i64,
}

/// The outcome of checking the event chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub events: i64,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

/// Where and how the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: String,
}

/// The storage backend. Every method is safe to call concurrently.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies a changeset atomically. Returns only after the transaction that holds it is durably committed
    /// (on SQLite, concurrent commits share one transaction and one fsync: group commit). A failed check
    /// (version, duplicate) fails this changeset alone and changes nothing of it.
    async fn commit(&self, change: Changeset) -> Result<Committed, StoreError>;

    async fn case(&self, id: &str) -> Result<Option<CaseRow>, StoreError>;
    async fn cases(&self, filter: &CaseFilter) -> Result<Vec<CaseRow>, StoreError>;
    async fn count_cases(&self) -> Result<i64, StoreError>;
    async fn task(&self, id: &str) -> Result<Option<TaskRow>, StoreError>;
    async fn tasks(&self, filter: &TaskFilter) -> Result<Vec<TaskRow>, StoreError>;
    async fn materials(&self, case_id: &str) -> Result<Vec<MaterialRow>, StoreError>;
    async fn idempotency(&self, scope: &str, key: &str) -> Result<Option<IdempotencyRow>, StoreError>;
    async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, StoreError>;
    async fn user(&self, id: &str) -> Result<Option<UserRow>, StoreError>;
    /// The token and its user, if the token exists (expiry is the caller's to check).
    async fn token(&self, token_hash: &str) -> Result<Option<(TokenRow, UserRow)>, StoreError>;
    async fn catalog_version(&self, version: &str) -> Result<Option<CatalogVersionRow>, StoreError>;
    /// The events of one case, in order.
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
    /// The watches of one case, by subject.
    async fn case_watches(&self, case_id: &str) -> Result<Vec<WatchRow>, StoreError>;
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
    /// Tasks updated in [since, until) — for the performance assessment of a period.
    async fn tasks_updated_between(&self, since: Timestamp, until: Timestamp) -> Result<Vec<TaskRow>, StoreError>;
    /// Rows of one table, verbatim, for moving an installation (`onething export`): at most `limit` rows (0 or
    /// less: the default cap of the lists) in the order of the table's key ([`Table::key`], text compared byte
    /// by byte), starting after the key `after` (a [`Table::cursor`] of the last row of the previous page;
    /// `None` from the start). Each row is a JSON object with every column of [`Table::columns`]: TEXT as a
    /// string (JSON documents and event payloads as their stored text), INTEGER as a number (instants are unix
    /// milliseconds), NULL as null.
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
    /// Flushes and stops taking writes; pending commits finish first.
    async fn close(&self);
}

/// A table of the store, for [`Store::dump`] and [`Store::restore`]: moving a whole installation between
/// backends. Both backends have the same tables with the same columns (TEXT and INTEGER only), so a row dumped
/// from one restores into the other unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    CatalogVersions,
    Users,
    Tokens,
    Cases,
    Tasks,
    Materials,
    Idempotency,
    NumberSequences,
    Events,
    ChainHead,
    Watches,
    Records,
}

/// The type of a column, as both backends store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// TEXT: names, ids, hashes, JSON documents as text.
    Text,
    /// INTEGER (BIGINT on PostgreSQL): counters, versions, instants as unix milliseconds.
    Integer,
}

/// A column of a [`Table`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
}

/// One value of a row, typed after its column; `None` is NULL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(Option<String>),
    Integer(Option<i64>),
}

const fn text(name: &'static str) -> Column {
    Column { name, ty: ColumnType::Text, nullable: false }
}
const fn text_null(name: &'static str) -> Column {
    Column { name, ty: ColumnType::Text, nullable: true }
}
const fn int(name: &'static str) -> Column {
    Column { name, ty: ColumnType::Integer, nullable: false }
}
const fn int_null(name: &'static str) -> Column {
    Column { name, ty: ColumnType::Integer, nullable: true }
}

// The columns of every table, in the order of the migrations; the key columns come first (see `Table::key`).
const CATALOG_VERSIONS: &[Column] = &[text("version"), text("files"), int("loaded_at")];
const USERS: &[Column] =
    &[text("id"), text("username"), text("password_hash"), text("roles"), text_null("department"), int("created_at")];
const TOKENS: &[Column] = &[text("token_hash"), text("user_id"), int("created_at"), int("expires_at")];
const CASES: &[Column] = &[
    text("id"),
    text("number"),
    text("bundle"),
    text("catalog_version"),
    text("state"),
    text_null("owner"),
    int_null("due_at"),
    int("created_at"),
    int("updated_at"),
    int("version"),
    text("doc"),
];
const TASKS: &[Column] = &[
    text("id"),
    text("case_id"),
    text("item"),
    text("department"),
    text("state"),
    int_null("due_at"),
    int("updated_at"),
    text("doc"),
];
const MATERIALS: &[Column] =
    &[text("case_id"), text("material"), text("sha256"), int("size"), text("media_type"), int("uploaded_at")];
const IDEMPOTENCY: &[Column] = &[text("scope"), text("key"), text("body_sha256"), text("case_id"), int("created_at")];
const NUMBER_SEQUENCES: &[Column] = &[text("prefix"), int("last")];
const EVENTS: &[Column] = &[
    int("seq"),
    text("id"),
    text_null("case_id"),
    text("kind"),
    text("actor"),
    int("at"),
    text("payload"),
    text("prev_hash"),
    text("case_prev_hash"),
    text("hash"),
];
const CHAIN_HEAD: &[Column] = &[int("id"), int("seq"), text("hash")];
const WATCHES: &[Column] = &[
    text("subject"),
    text_null("case_id"),
    text_null("department"),
    text("colour"),
    int_null("next_check_at"),
    int_null("due_at"),
    int("version"),
    text_null("lease_owner"),
    int_null("lease_until"),
];
const RECORDS: &[Column] = &[
    text("kind"),
    text("id"),
    text_null("case_id"),
    text_null("owner"),
    text_null("department"),
    text("state"),
    int("created_at"),
    int("updated_at"),
    text("doc"),
];

impl Table {
    /// Every table, in an order that respects the foreign keys (cases before their tasks and materials): the
    /// order to restore in.
    pub const ALL: [Table; 12] = [
        Table::CatalogVersions,
        Table::Users,
        Table::Tokens,
        Table::Cases,
        Table::Tasks,
        Table::Materials,
        Table::Idempotency,
        Table::NumberSequences,
        Table::Events,
        Table::ChainHead,
        Table::Watches,
        Table::Records,
    ];

    /// The table's name in the database and in export files (snake_case, stable).
    pub const fn name(self) -> &'static str {
        match self {
            Table::CatalogVersions => "catalog_versions",
            Table::Users => "users",
            Table::Tokens => "tokens",
            Table::Cases => "cases",
            Table::Tasks => "tasks",
            Table::Materials => "materials",
            Table::Idempotency => "idempotency",
            Table::NumberSequences => "number_sequences",
            Table::Events => "events",
            Table::ChainHead => "chain_head",
            Table::Watches => "watches",
            Table::Records => "records",
        }
    }

    /// The table of a [`Table::name`].
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Every column, in the order of the schema.
    pub const fn columns(self) -> &'static [Column] {
        match self {
            Table::CatalogVersions => CATALOG_VERSIONS,
            Table::Users => USERS,
            Table::Tokens => TOKENS,
            Table::Cases => CASES,
            Table::Tasks => TASKS,
            Table::Materials => MATERIALS,
            Table::Idempotency => IDEMPOTENCY,
            Table::NumberSequences => NUMBER_SEQUENCES,
            Table::Events => EVENTS,
            Table::ChainHead => CHAIN_HEAD,
            Table::Watches => WATCHES,
            Table::Records => RECORDS,
        }
    }

    /// The columns of the primary key (the first of [`Table::columns`]): the order of [`Store::dump`].
    pub fn key(self) -> &'static [Column] {
        let n = match self {
            Table::Materials | Table::Idempotency | Table::Records => 2,
            _ => 1,
        };
        &self.columns()[..n]
    }

    /// A row as [`Store::dump`] returns it: a JSON object of the columns.
    pub fn row(self, cells: Vec<Cell>) -> serde_json::Value {
        let mut row = serde_json::Map::new();
        for (column, cell) in self.columns().iter().zip(cells) {
            let value = match cell {
                Cell::Text(v) => v.map_or(serde_json::Value::Null, serde_json::Value::String),
                Cell::Integer(v) => v.map_or(serde_json::Value::Null, serde_json::Value::from),
            };
            row.insert(column.name.to_string(), value);
        }
        serde_json::Value::Object(row)
    }

    /// The cells of a row given to [`Store::restore`], in column order: it must be an object with exactly the
    /// table's columns, each of its type (or null where the column allows it).
    pub fn cells(self, row: &serde_json::Value) -> Result<Vec<Cell>, StoreError> {
        let bad = |why: String| StoreError::Backend(format!("a row of {}: {why}", self.name()));
        let Some(object) = row.as_object() else {
            return Err(bad("not a JSON object".to_string()));
        };
        if let Some(extra) = object.keys().find(|k| !self.columns().iter().any(|c| c.name == k.as_str())) {
            return Err(bad(format!("unknown column {extra:?}")));
        }
        self.columns()
            .iter()
            .map(|column| {
                let value =
                    object.get(column.name).ok_or_else(|| bad(format!("the column {} is missing", column.name)))?;
                cell(*column, value).ok_or_else(|| {
                    let ty = match column.ty {
                        ColumnType::Text => "a string",
                        ColumnType::Integer => "an integer",
                    };
                    let null = if column.nullable { " or null" } else { "" };
                    bad(format!("the column {} must be {ty}{null}, not {value}", column.name))
                })
            })
            .collect()
    }

    /// The cursor for [`Store::dump`]'s `after`: the key of `row`, as a JSON array.
    pub fn cursor(self, row: &serde_json::Value) -> Result<String, StoreError> {
        let key: Vec<serde_json::Value> =
            self.key().iter().map(|c| row.get(c.name).cloned().unwrap_or(serde_json::Value::Null)).collect();
        self.key_cells(&serde_json::Value::Array(key.clone()))?;
        serde_json::to_string(&key).map_err(|e| StoreError::Backend(format!("cannot encode a cursor: {e}")))
    }

    /// The key cells of a [`Table::cursor`].
    pub fn parse_cursor(self, cursor: &str) -> Result<Vec<Cell>, StoreError> {
        let value: serde_json::Value = serde_json::from_str(cursor)
            .map_err(|e| StoreError::Backend(format!("bad cursor {cursor:?} for {}: {e}", self.name())))?;
        self.key_cells(&value)
    }

    fn key_cells(self, key: &serde_json::Value) -> Result<Vec<Cell>, StoreError> {
        let bad = || StoreError::Backend(format!("bad key {key} for {}", self.name()));
        let values = key.as_array().filter(|v| v.len() == self.key().len()).ok_or_else(bad)?;
        self.key().iter().zip(values).map(|(column, value)| cell(*column, value).ok_or_else(bad)).collect()
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A JSON value as a cell of `column`, if it fits.
fn cell(column: Column, value: &serde_json::Value) -> Option<Cell> {
    match (column.ty, value) {
        (ColumnType::Text, serde_json::Value::Null) if column.nullable => Some(Cell::Text(None)),
        (ColumnType::Integer, serde_json::Value::Null) if column.nullable => Some(Cell::Integer(None)),
        (ColumnType::Text, serde_json::Value::String(s)) => Some(Cell::Text(Some(s.clone()))),
        (ColumnType::Integer, serde_json::Value::Number(n)) => n.as_i64().map(|n| Cell::Integer(Some(n))),
        _ => None,
    }
}

/// The hash of an event: SHA-256 (hex) over its fields and both previous hashes, each on its own line.
/// `at` is written as RFC 3339 in UTC with the precision the store keeps (milliseconds).
#[allow(clippy::too_many_arguments)]
pub fn event_hash(
    seq: i64,
    id: &str,
    case_id: Option<&str>,
    kind: &str,
    actor: &str,
    at: Timestamp,
    payload: &str,
    prev_hash: &str,
    case_prev_hash: &str,
) -> String {
    let mut h = Sha256::new();
    let at = at.to_string();
    for part in [&seq.to_string(), id, case_id.unwrap_or(""), kind, actor, &at, payload, prev_hash, case_prev_hash] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    hex(&h.finalize())
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Truncates an instant to the millisecond precision the stores keep.
pub fn to_millis(ts: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(ts.as_millisecond()).unwrap_or(ts)
}

/// Checks a run of events (in seq order, from seq 1) against each other and against the stored head: seq
/// without gaps, every hash recomputed, every global and per-case link. Call it on the whole log, streamed in
/// pages by the caller through `state`.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    last_seq: i64,
    last_hash: Option<String>,
    case_heads: std::collections::HashMap<String, String>,
    broken: Option<BrokenLink>,
}

impl ChainVerifier {
    /// Feeds the next event; returns false once a link is broken (the first break is kept).
    pub fn feed(&mut self, e: &EventRow) -> bool {
        if self.broken.is_some() {
            return false;
        }
        let fail = |reason: String| Some(BrokenLink { seq: e.seq, reason });
        let expected_prev = self.last_hash.clone().unwrap_or_else(|| GENESIS.to_string());
        let expected_case_prev =
            e.case_id.as_ref().and_then(|c| self.case_heads.get(c).cloned()).unwrap_or_else(|| GENESIS.to_string());
        if e.seq != self.last_seq + 1 {
            self.broken = fail(format!(
                "expected event {} next, found {} (an event was deleted or inserted)",
                self.last_seq + 1,
                e.seq
            ));
        } else if e.prev_hash != expected_prev {
            self.broken = fail("its previous-event hash does not match the event before it".to_string());
        } else if e.case_prev_hash != expected_case_prev {
            self.broken = fail("its previous-case-event hash does not match the case's event before it".to_string());
        } else {
            let h = event_hash(
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
            if h != e.hash {
                self.broken = fail("its content does not match its hash (the row was altered)".to_string());
            }
        }
        if self.broken.is_some() {
            return false;
        }
        self.last_seq = e.seq;
        self.last_hash = Some(e.hash.clone());
        if let Some(c) = &e.case_id {
            self.case_heads.insert(c.clone(), e.hash.clone());
        }
        true
    }

    /// Ends the check against the stored head (catches deleting the newest events).
    pub fn finish(mut self, head: (i64, String)) -> ChainReport {
        if self.broken.is_none() {
            let last = self.last_hash.clone().unwrap_or_else(|| GENESIS.to_string());
            if head.0 != self.last_seq || head.1 != last {
                self.broken = Some(BrokenLink {
                    seq: self.last_seq + 1,
                    reason: format!(
                        "the log ends at event {} but its head says {} (events were deleted)",
                        self.last_seq, head.0
                    ),
                });
            }
        }
        ChainReport { events: self.last_seq, broken: self.broken }
    }
}

/// Verifies the whole chain of a store, page by page.
pub async fn verify_chain(store: &dyn Store) -> Result<ChainReport, StoreError> {
    let mut v = ChainVerifier::default();
    let mut after = 0;
    loop {
        let page = store.events_after(after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            if !v.feed(e) {
                let head = store.chain_head().await?;
                return Ok(v.finish(head));
            }
        }
    }
    let head = store.chain_head().await?;
    Ok(v.finish(head))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn tables_have_stable_unique_names() {
        let names: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
        let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), Table::ALL.len());
        for t in Table::ALL {
            assert_eq!(Table::from_name(t.name()), Some(t));
            assert_eq!(t.to_string(), t.name());
            assert!(!t.key().is_empty() && t.key().iter().all(|c| !c.nullable), "{t}");
        }
        assert_eq!(Table::from_name("sqlite_master"), None);
        // Foreign keys: the cases come before what points at them.
        let at = |t: Table| Table::ALL.iter().position(|x| *x == t).unwrap();
        assert!(at(Table::Cases) < at(Table::Tasks) && at(Table::Cases) < at(Table::Materials));
        assert!(at(Table::Events) < at(Table::ChainHead));
    }

    #[test]
    fn rows_are_checked_against_the_columns() {
        let row = serde_json::json!({ "prefix": "YJS20261130", "last": 17 });
        let cells = Table::NumberSequences.cells(&row).unwrap();
        assert_eq!(cells, [Cell::Text(Some("YJS20261130".into())), Cell::Integer(Some(17))]);
        assert_eq!(Table::NumberSequences.row(cells), row);
        assert_eq!(Table::NumberSequences.cursor(&row).unwrap(), r#"["YJS20261130"]"#);
        assert_eq!(Table::NumberSequences.parse_cursor(r#"["YJS20261130"]"#).unwrap().len(), 1);

        let refused = |row: serde_json::Value| Table::NumberSequences.cells(&row).unwrap_err().to_string();
        assert!(refused(serde_json::json!({ "prefix": "A" })).contains("last is missing"));
        assert!(refused(serde_json::json!({ "prefix": "A", "last": 1, "x": 2 })).contains("unknown column \"x\""));
        assert!(refused(serde_json::json!({ "prefix": "A", "last": "1" })).contains("must be an integer"));
        assert!(refused(serde_json::json!({ "prefix": null, "last": 1 })).contains("must be a string"));
        assert!(refused(serde_json::json!({ "prefix": "A", "last": 1.5 })).contains("must be an integer"));
        assert!(refused(serde_json::json!(["A", 1])).contains("not a JSON object"));
        // Nullable columns take null.
        let watch = serde_json::json!({
            "subject": "task:1", "case_id": null, "department": null, "colour": "green", "next_check_at": null,
            "due_at": 5, "version": 1, "lease_owner": null, "lease_until": null
        });
        assert_eq!(Table::Watches.cells(&watch).unwrap()[1], Cell::Text(None));
        // Cursors of composite keys, and bad cursors.
        let material = serde_json::json!({ "case_id": "c", "material": "m", "sha256": "s", "size": 1,
            "media_type": "application/pdf", "uploaded_at": 0 });
        assert_eq!(Table::Materials.cursor(&material).unwrap(), r#"["c","m"]"#);
        assert!(Table::Materials.parse_cursor(r#"["c"]"#).is_err());
        assert!(Table::Events.parse_cursor(r#"["1"]"#).is_err());
        assert!(Table::Events.parse_cursor("nonsense").is_err());
    }

    #[test]
    fn events_come_back_from_their_rows() {
        let at = Timestamp::from_millisecond(1_796_083_200_123).unwrap();
        let hash = event_hash(1, "e1", Some("c1"), "case_filed", "u1", at, "{}", GENESIS, GENESIS);
        let row = serde_json::json!({
            "seq": 1, "id": "e1", "case_id": "c1", "kind": "case_filed", "actor": "u1", "at": 1_796_083_200_123_i64,
            "payload": "{}", "prev_hash": GENESIS, "case_prev_hash": GENESIS, "hash": hash
        });
        let event = EventRow::from_dump(&row).unwrap();
        assert_eq!((event.seq, event.at, event.case_id.as_deref()), (1, at, Some("c1")));
        let mut v = ChainVerifier::default();
        assert!(v.feed(&event));
        assert_eq!(v.finish((1, hash)).broken, None);
    }
}
