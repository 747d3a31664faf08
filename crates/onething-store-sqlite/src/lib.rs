//! onething-store-sqlite: the embedded default backend of onething. It implements [`onething_store::Store`] on
//! one SQLite file through sqlx, and owns that file's schema (the migrations in `migrations/`, numbered and
//! named like the PostgreSQL backend's).
//!
//! # Writes: one writer, group commit
//!
//! SQLite allows one writer at a time, and with `synchronous=FULL` every commit costs an fsync of the WAL — a few
//! milliseconds on real disks. One transaction per changeset would cap the whole platform at a few hundred
//! commits per second, and concurrent writers would only queue up on the database lock (or fail with `BUSY`).
//!
//! So [`SqliteStore::commit`] does not write: it sends the changeset, with a reply channel, to a single writer
//! task that owns the only write connection. The writer takes the first queued job, then everything else already
//! queued (up to [`SqliteOptions::max_batch`]), and applies them all in ONE `BEGIN IMMEDIATE … COMMIT`: one fsync
//! for the batch, so durability does not cost throughput — the busier the store, the bigger the batches. Each
//! job runs inside its own `SAVEPOINT`, so one job's failed check (a stale version, a duplicate key) is rolled
//! back alone and never affects the others. Replies to successful jobs are sent only after `COMMIT` returned:
//! nothing is acknowledged that is not durable. If the `COMMIT` fails, every job of the batch fails.
//! A changeset once queued is applied even if its caller stops waiting (a dropped request): the outcome is
//! decided by the writer, never by the caller's cancellation.
//!
//! A claim of due watches ([`Store::claim_watches`]) writes leases, so it goes through the writer too: it is a
//! job of a batch like a changeset, atomic because the batch's transaction holds SQLite's write lock, and its
//! watches are returned only once their leases are durable.
//!
//! The writer also keeps the head of the hash-chained event log in memory (read from the database at start),
//! and advances it only when a job's savepoint is released and its batch committed, so `seq` has no gaps.
//!
//! # Reads
//!
//! Reads go through a separate pool of read-only connections; in WAL mode they run beside the writer and see
//! every committed batch.
//!
//! # Moving an installation
//!
//! [`Store::dump`] reads a table in key order through the readers; [`Store::restore`] inserts rows verbatim as
//! a job of the writer (see the `writer` module), so that the chain head it keeps in memory follows.
//!
//! # Settings
//!
//! `journal_mode=WAL`, `synchronous=FULL` (NORMAL only when asked: it may lose the last commits on power loss,
//! never corrupt), a busy timeout, `foreign_keys=ON`. Instants are INTEGER unix milliseconds (UTC); JSON
//! documents are TEXT.

mod rows;
mod transfer;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use onething_store::{
    CaseFilter, CaseRow, CatalogVersionRow, Changeset, ColourCount, Committed, EventRow, IdempotencyRow, MaterialRow,
    RecordFilter, RecordRow, Store, StoreError, Table, TaskFilter, TaskRow, TokenRow, UserRow, WatchRow,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, QueryBuilder, Sqlite};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::rows::{
    case_columns, db_error, event_columns, millis, record_columns, task_columns, user_columns, watch_columns,
};
use crate::writer::{Claim, Message, Restore, Writer};

/// The schema, embedded at compile time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a connection waits for a lock held by another connection (another process, a backup) before it
/// fails with `BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The number of rows a list returns when its filter asks for none (a limit of 0 or less).
const DEFAULT_LIMIT: i64 = 1000;

/// How to open a [`SqliteStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// The database file; created (with its directory) if missing.
    pub path: PathBuf,
    /// `synchronous=FULL` when true (the default): a commit survives power loss. False means NORMAL: faster, and
    /// the last commits may be lost on power loss (never corrupted).
    pub synchronous_full: bool,
    /// The most changesets one transaction (one fsync) takes. Default 256.
    pub max_batch: usize,
    /// The size of the read-only connection pool. Default 4.
    pub read_connections: u32,
}

impl SqliteOptions {
    /// The defaults for a file: FULL sync, batches of up to 256, four readers.
    pub fn new(path: impl Into<PathBuf>) -> SqliteOptions {
        SqliteOptions { path: path.into(), synchronous_full: true, max_batch: 256, read_connections: 4 }
    }
}

/// The settings of the write connection, as SQLite reports them (for diagnostics and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pragmas {
    /// `wal`.
    pub journal_mode: String,
    /// 2 = FULL, 1 = NORMAL.
    pub synchronous: i64,
    pub foreign_keys: bool,
    pub busy_timeout_ms: i64,
}

/// The SQLite store: one writer task with group commit, a pool of readers. Cheap to share behind an `Arc`.
pub struct SqliteStore {
    path: PathBuf,
    /// The way to the writer; `None` once closed.
    sender: Mutex<Option<mpsc::Sender<Message>>>,
    /// The writer task, awaited by [`Store::close`].
    writer: tokio::sync::Mutex<Option<JoinHandle<()>>>,
    read: SqlitePool,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database file, brings its schema up to date and starts the writer.
    pub async fn open(options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        let path = options.path.clone();
        let shown = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| StoreError::Backend(format!("cannot create the directory of {shown}: {e}")))?;
        }
        let base = SqliteConnectOptions::new().filename(&path).busy_timeout(BUSY_TIMEOUT).foreign_keys(true);
        let synchronous = if options.synchronous_full { SqliteSynchronous::Full } else { SqliteSynchronous::Normal };
        let mut conn = base
            .clone()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .connect()
            .await
            .map_err(|e| StoreError::Backend(format!("cannot open {shown}: {e}")))?;
        MIGRATOR.run(&mut conn).await.map_err(|e| StoreError::Backend(format!("cannot migrate {shown}: {e}")))?;
        // Readers leave the journal mode alone (it is a property of the file, set by the writer above).
        let read = SqlitePoolOptions::new()
            .max_connections(options.read_connections.max(1))
            .connect_with(base.read_only(true))
            .await
            .map_err(|e| StoreError::Backend(format!("cannot open readers on {shown}: {e}")))?;
        let max_batch = options.max_batch.max(1);
        let (sender, receiver) = mpsc::channel(max_batch.saturating_mul(2));
        let writer = Writer::new(conn, receiver, max_batch).await?;
        let handle = tokio::spawn(writer.run());
        tracing::info!(path = %shown, "sqlite store open");
        Ok(SqliteStore { path, sender: Mutex::new(Some(sender)), writer: tokio::sync::Mutex::new(Some(handle)), read })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The settings of the write connection (journal mode, synchronous, …), asked of the writer itself.
    pub async fn pragmas(&self) -> Result<Pragmas, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Message::Pragmas(reply)).await?;
        answer.await.map_err(|_| writer_gone())?
    }

    async fn send(&self, message: Message) -> Result<(), StoreError> {
        let sender = self.sender.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let sender = sender.ok_or(StoreError::Closed)?;
        sender.send(message).await.map_err(|_| StoreError::Closed)
    }
}

fn writer_gone() -> StoreError {
    StoreError::Backend("the writer stopped before answering".to_string())
}

/// A list's limit: the filter's, or [`DEFAULT_LIMIT`] when it asks for none.
fn limit(asked: i64) -> i64 {
    if asked <= 0 { DEFAULT_LIMIT } else { asked }
}

/// Adds the conditions of a record filter (after a `WHERE kind = …`).
fn push_record_filter(q: &mut QueryBuilder<Sqlite>, filter: &RecordFilter) {
    if let Some(case_id) = &filter.case_id {
        q.push(" AND case_id = ").push_bind(case_id.clone());
    }
    if let Some(owner) = &filter.owner {
        q.push(" AND owner = ").push_bind(owner.clone());
    }
    if let Some(department) = &filter.department {
        q.push(" AND department = ").push_bind(department.clone());
    }
    if let Some(state) = &filter.state {
        q.push(" AND state = ").push_bind(state.clone());
    }
    if let Some(since) = filter.since {
        q.push(" AND created_at >= ").push_bind(millis(since));
    }
    if let Some(until) = filter.until {
        q.push(" AND created_at < ").push_bind(millis(until));
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn commit(&self, change: Changeset) -> Result<Committed, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Message::Commit(Box::new(change), reply)).await?;
        answer.await.map_err(|_| writer_gone())?
    }

    async fn case(&self, id: &str) -> Result<Option<CaseRow>, StoreError> {
        sqlx::query(concat!("SELECT ", case_columns!(), " FROM cases WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(db_error)?
            .as_ref()
            .map(rows::case)
            .transpose()
    }

    async fn cases(&self, filter: &CaseFilter) -> Result<Vec<CaseRow>, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new(concat!("SELECT ", case_columns!(), " FROM cases WHERE 1 = 1"));
        if let Some(state) = &filter.state {
            q.push(" AND state = ").push_bind(state.clone());
        }
        if let Some(bundle) = &filter.bundle {
            q.push(" AND bundle = ").push_bind(bundle.clone());
        }
        if let Some(owner) = &filter.owner {
            q.push(" AND owner = ").push_bind(owner.clone());
        }
        if let Some(department) = &filter.department {
            // A semi-join (each case once, however many tasks), driven by the department index of tasks.
            q.push(" AND id IN (SELECT case_id FROM tasks WHERE department = ").push_bind(department.clone()).push(")");
        }
        q.push(if filter.oldest_first {
            " ORDER BY created_at ASC, id ASC"
        } else {
            " ORDER BY created_at DESC, id DESC"
        });
        q.push(" LIMIT ").push_bind(limit(filter.limit));
        let found = q.build().fetch_all(&self.read).await.map_err(db_error)?;
        found.iter().map(rows::case).collect()
    }

    async fn count_cases(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM cases").fetch_one(&self.read).await.map_err(db_error)
    }

    async fn task(&self, id: &str) -> Result<Option<TaskRow>, StoreError> {
        sqlx::query(concat!("SELECT ", task_columns!(), " FROM tasks WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(db_error)?
            .as_ref()
            .map(rows::task)
            .transpose()
    }

    async fn tasks(&self, filter: &TaskFilter) -> Result<Vec<TaskRow>, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new(concat!("SELECT ", task_columns!(), " FROM tasks WHERE 1 = 1"));
        if let Some(department) = &filter.department {
            q.push(" AND department = ").push_bind(department.clone());
        }
        if let Some(state) = &filter.state {
            q.push(" AND state = ").push_bind(state.clone());
        }
        if let Some(case_id) = &filter.case_id {
            q.push(" AND case_id = ").push_bind(case_id.clone());
        }
        q.push(" ORDER BY due_at ASC NULLS LAST, id ASC LIMIT ").push_bind(limit(filter.limit));
        let found = q.build().fetch_all(&self.read).await.map_err(db_error)?;
        found.iter().map(rows::task).collect()
    }

    async fn materials(&self, case_id: &str) -> Result<Vec<MaterialRow>, StoreError> {
        let found = sqlx::query(
            "SELECT case_id, material, sha256, size, media_type, uploaded_at FROM materials \
             WHERE case_id = ? ORDER BY material",
        )
        .bind(case_id)
        .fetch_all(&self.read)
        .await
        .map_err(db_error)?;
        found.iter().map(rows::material).collect()
    }

    async fn idempotency(&self, scope: &str, key: &str) -> Result<Option<IdempotencyRow>, StoreError> {
        let found = sqlx::query(
            "SELECT scope, key, body_sha256, case_id, created_at FROM idempotency WHERE scope = ? AND key = ?",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(&self.read)
        .await
        .map_err(db_error)?;
        found.as_ref().map(rows::idempotency).transpose()
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        sqlx::query(concat!("SELECT ", user_columns!(), " FROM users WHERE username = ?"))
            .bind(username)
            .fetch_optional(&self.read)
            .await
            .map_err(db_error)?
            .as_ref()
            .map(rows::user)
            .transpose()
    }

    async fn user(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        sqlx::query(concat!("SELECT ", user_columns!(), " FROM users WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(db_error)?
            .as_ref()
            .map(rows::user)
            .transpose()
    }

    async fn token(&self, token_hash: &str) -> Result<Option<(TokenRow, UserRow)>, StoreError> {
        let found = sqlx::query(
            "SELECT t.token_hash, t.user_id, t.created_at AS token_created_at, t.expires_at, \
             u.id, u.username, u.password_hash, u.roles, u.department, u.created_at \
             FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await
        .map_err(db_error)?;
        match found {
            Some(row) => Ok(Some((rows::token(&row)?, rows::user(&row)?))),
            None => Ok(None),
        }
    }

    async fn catalog_version(&self, version: &str) -> Result<Option<CatalogVersionRow>, StoreError> {
        sqlx::query("SELECT version, files, loaded_at FROM catalog_versions WHERE version = ?")
            .bind(version)
            .fetch_optional(&self.read)
            .await
            .map_err(db_error)?
            .as_ref()
            .map(rows::catalog_version)
            .transpose()
    }

    async fn case_events(&self, case_id: &str) -> Result<Vec<EventRow>, StoreError> {
        let found = sqlx::query(concat!("SELECT ", event_columns!(), " FROM events WHERE case_id = ? ORDER BY seq"))
            .bind(case_id)
            .fetch_all(&self.read)
            .await
            .map_err(db_error)?;
        found.iter().map(rows::event).collect()
    }

    async fn events_after(&self, after: i64, limit_: i64) -> Result<Vec<EventRow>, StoreError> {
        let found =
            sqlx::query(concat!("SELECT ", event_columns!(), " FROM events WHERE seq > ? ORDER BY seq LIMIT ?"))
                .bind(after)
                .bind(limit(limit_))
                .fetch_all(&self.read)
                .await
                .map_err(db_error)?;
        found.iter().map(rows::event).collect()
    }

    async fn chain_head(&self) -> Result<(i64, String), StoreError> {
        let row: Option<(i64, String)> = sqlx::query_as("SELECT seq, hash FROM chain_head WHERE id = 1")
            .fetch_optional(&self.read)
            .await
            .map_err(db_error)?;
        row.ok_or_else(|| StoreError::Backend("the chain_head row is missing".to_string()))
    }

    async fn claim_watches(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<WatchRow>, StoreError> {
        let claim =
            Claim { owner: owner.to_string(), now: millis(now), lease_until: millis(lease_until), limit: limit.max(0) };
        let (reply, answer) = oneshot::channel();
        self.send(Message::Claim(claim, reply)).await?;
        answer.await.map_err(|_| writer_gone())?
    }

    async fn watch(&self, subject: &str) -> Result<Option<WatchRow>, StoreError> {
        sqlx::query(concat!("SELECT ", watch_columns!(), " FROM watches WHERE subject = ?"))
            .bind(subject)
            .fetch_optional(&self.read)
            .await
            .map_err(db_error)?
            .as_ref()
            .map(rows::watch)
            .transpose()
    }

    async fn case_watches(&self, case_id: &str) -> Result<Vec<WatchRow>, StoreError> {
        let found =
            sqlx::query(concat!("SELECT ", watch_columns!(), " FROM watches WHERE case_id = ? ORDER BY subject"))
                .bind(case_id)
                .fetch_all(&self.read)
                .await
                .map_err(db_error)?;
        found.iter().map(rows::watch).collect()
    }

    async fn colour_counts(&self, subject_prefix: &str) -> Result<Vec<ColourCount>, StoreError> {
        // A prefix compared as a prefix, not a LIKE pattern: `_` and `%` are plain characters, case matters.
        let found: Vec<(Option<String>, String, i64)> = sqlx::query_as(
            "SELECT department, colour, COUNT(*) FROM watches \
             WHERE colour <> 'none' AND substr(subject, 1, length(?)) = ? \
             GROUP BY department, colour ORDER BY department ASC NULLS LAST, colour ASC",
        )
        .bind(subject_prefix)
        .bind(subject_prefix)
        .fetch_all(&self.read)
        .await
        .map_err(db_error)?;
        Ok(found.into_iter().map(|(department, colour, count)| ColourCount { department, colour, count }).collect())
    }

    async fn watches_by_colour(
        &self,
        subject_prefix: &str,
        colour: &str,
        department: Option<&str>,
        limit_: i64,
    ) -> Result<Vec<WatchRow>, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new(concat!("SELECT ", watch_columns!(), " FROM watches WHERE colour = "));
        q.push_bind(colour.to_string());
        q.push(" AND substr(subject, 1, length(").push_bind(subject_prefix.to_string()).push(")) = ");
        q.push_bind(subject_prefix.to_string());
        if let Some(department) = department {
            q.push(" AND department = ").push_bind(department.to_string());
        }
        q.push(" ORDER BY due_at ASC NULLS LAST, subject ASC LIMIT ").push_bind(limit(limit_));
        let found = q.build().fetch_all(&self.read).await.map_err(db_error)?;
        found.iter().map(rows::watch).collect()
    }

    async fn record(&self, kind: &str, id: &str) -> Result<Option<RecordRow>, StoreError> {
        sqlx::query(concat!("SELECT ", record_columns!(), " FROM records WHERE kind = ? AND id = ?"))
            .bind(kind)
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(db_error)?
            .as_ref()
            .map(rows::record)
            .transpose()
    }

    async fn records(&self, filter: &RecordFilter) -> Result<Vec<RecordRow>, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new(concat!("SELECT ", record_columns!(), " FROM records WHERE kind = "));
        q.push_bind(filter.kind.clone());
        push_record_filter(&mut q, filter);
        q.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(limit(filter.limit));
        let found = q.build().fetch_all(&self.read).await.map_err(db_error)?;
        found.iter().map(rows::record).collect()
    }

    async fn count_records(&self, filter: &RecordFilter) -> Result<i64, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM records WHERE kind = ");
        q.push_bind(filter.kind.clone());
        push_record_filter(&mut q, filter);
        q.build_query_scalar().fetch_one(&self.read).await.map_err(db_error)
    }

    async fn tasks_updated_between(&self, since: Timestamp, until: Timestamp) -> Result<Vec<TaskRow>, StoreError> {
        let found = sqlx::query(concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks WHERE updated_at >= ? AND updated_at < ? ORDER BY updated_at, id"
        ))
        .bind(millis(since))
        .bind(millis(until))
        .fetch_all(&self.read)
        .await
        .map_err(db_error)?;
        found.iter().map(rows::task).collect()
    }

    async fn dump(
        &self,
        table: Table,
        after: Option<String>,
        limit_: i64,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        let after = after.map(|a| table.parse_cursor(&a)).transpose()?;
        let found = transfer::select(table, after, limit(limit_), false)
            .build()
            .fetch_all(&self.read)
            .await
            .map_err(db_error)?;
        found.iter().map(|row| transfer::row(table, row)).collect()
    }

    async fn restore(&self, table: Table, rows: Vec<serde_json::Value>) -> Result<(), StoreError> {
        let rows = rows.iter().map(|row| table.cells(row)).collect::<Result<Vec<_>, _>>()?;
        let (reply, answer) = oneshot::channel();
        self.send(Message::Restore(Restore { table, rows }, reply)).await?;
        answer.await.map_err(|_| writer_gone())?
    }

    async fn close(&self) {
        // Dropping our sender ends the writer once every commit already on its way has been applied.
        drop(self.sender.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take());
        let mut writer = self.writer.lock().await;
        if let Some(handle) = writer.take()
            && let Err(e) = handle.await
        {
            tracing::error!(error = %e, "the sqlite writer task failed");
        }
    }
}
