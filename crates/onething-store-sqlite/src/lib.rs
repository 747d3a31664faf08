//! onething-store-sqlite: the embedded default backend of onething. It implements [`onething_store::Store`] on
//! one SQLite file through rusqlite, on storage threads that own their connections, and owns that file's schema
//! (the migrations in `migrations/`, numbered and named like the PostgreSQL backend's).
//!
//! # Threads, not a thread per statement
//!
//! SQLite's API is synchronous. Every call into it runs on a thread of this store — one writer, a few readers —
//! that owns its connection; an async caller hands a whole operation (a changeset, or every query of one read
//! such as [`Store::case_bundle`]) to that thread and awaits one reply. One hand-off per operation, never one
//! per statement; readers never queue behind the writer (WAL mode lets them read beside it).
//!
//! # Writes: one writer, group commit
//!
//! With `synchronous=FULL` every commit costs an fsync of the WAL. One transaction per changeset would cap the
//! platform at a few hundred commits per second, and concurrent writers would only queue on the database lock.
//! So [`SqliteStore::commit`] does not write: it queues the changeset, with a reply channel, to the writer
//! thread, which takes the first queued job, then everything else already queued (up to
//! [`SqliteOptions::max_batch`]), and applies them all in ONE `BEGIN IMMEDIATE … COMMIT`: one fsync for the
//! batch. Each job runs inside its own `SAVEPOINT`, so one job's failed check is rolled back alone. Replies are
//! sent only after `COMMIT` returned: nothing is acknowledged that is not durable. A changeset once queued is
//! applied even if its caller stops waiting: the outcome is decided by the writer, never by a cancellation.
//! See the `writer` module.
//!
//! Files (uploaded materials) are rows of `blobs`, written in the changeset that records them: they are durable
//! with its commit, in the same fsync, and a backup of the database holds them.
//!
//! # Settings
//!
//! `journal_mode=WAL`, `synchronous=FULL` (NORMAL only when asked: it may lose the last commits on power loss,
//! never corrupt), a busy timeout, `foreign_keys=ON`. Instants are INTEGER unix milliseconds (UTC); JSON
//! documents are TEXT.

mod migrate;
mod rows;
mod transfer;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

use jiff::Timestamp;
use onething_store::{
    CaseBundle, CaseFilter, CaseRow, CatalogVersionRow, Changeset, ColourCount, Committed, EventRow, IdempotencyRow,
    Probe, RecordFilter, RecordRow, Store, StoreError, Table, TaskFilter, TaskRow, TokenRow, UserFilter, UserRow,
    WatchRow,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, params};
use tokio::sync::oneshot;

use crate::rows::{
    case_columns, db_error, event_columns, material_columns, millis, record_columns, task_columns, user_columns,
    watch_columns,
};
use crate::writer::{Claim, Ctx, Job, Task, Writer};

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
    /// The number of reader threads (each with its read-only connection). Default 4.
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

/// A read to run on a reader thread.
type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// The SQLite store: one writer thread with group commit, reader threads. Cheap to share behind an `Arc`.
pub struct SqliteStore {
    path: PathBuf,
    /// The way to the writer; `None` once closed.
    writer: Mutex<Option<crossbeam_channel::Sender<Box<dyn Job>>>>,
    /// The writer thread, joined by [`Store::close`].
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    /// The way to the readers; they stop when the store is dropped.
    readers: crossbeam_channel::Sender<ReadJob>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

fn open_error(shown: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("cannot open {shown}: {e}"))
}

impl SqliteStore {
    /// Opens (creating if missing) the database file, brings its schema up to date and starts the threads.
    pub async fn open(options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        tokio::task::spawn_blocking(move || SqliteStore::open_blocking(options))
            .await
            .map_err(|e| StoreError::Backend(format!("opening the store failed: {e}")))?
    }

    fn open_blocking(options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        let path = options.path.clone();
        let shown = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Backend(format!("cannot create the directory of {shown}: {e}")))?;
        }
        let mut conn = Connection::open(&path).map_err(|e| open_error(&shown, e))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| open_error(&shown, e))?;
        let synchronous = if options.synchronous_full { "FULL" } else { "NORMAL" };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON;"
        ))
        .map_err(|e| open_error(&shown, e))?;
        conn.set_prepared_statement_cache_capacity(64);
        migrate::run(&mut conn).map_err(|e| StoreError::Backend(format!("cannot migrate {shown}: {e}")))?;

        let (readers, queue) = crossbeam_channel::unbounded::<ReadJob>();
        for i in 0..options.read_connections.max(1) {
            let read = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
            )
            .map_err(|e| open_error(&shown, e))?;
            read.busy_timeout(BUSY_TIMEOUT).map_err(|e| open_error(&shown, e))?;
            read.set_prepared_statement_cache_capacity(64);
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("sqlite-read-{i}"))
                .spawn(move || {
                    while let Ok(job) = queue.recv() {
                        job(&read);
                    }
                })
                .map_err(|e| StoreError::Backend(format!("cannot start a reader thread: {e}")))?;
        }

        let (sender, jobs) = crossbeam_channel::unbounded::<Box<dyn Job>>();
        let writer = Writer::new(conn, jobs, options.max_batch)?;
        let writer_thread = std::thread::Builder::new()
            .name("sqlite-write".to_string())
            .spawn(move || writer.run())
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
        tracing::info!(path = %shown, "sqlite store open");
        Ok(SqliteStore {
            path,
            writer: Mutex::new(Some(sender)),
            writer_thread: Mutex::new(Some(writer_thread)),
            readers,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The settings of the write connection (journal mode, synchronous, …), asked of the writer itself.
    pub async fn pragmas(&self) -> Result<Pragmas, StoreError> {
        self.write((), writer::pragmas).await
    }

    /// A consistent copy of the database, taken while serving (`VACUUM INTO`), at `target` (which must not
    /// exist). The copy holds every table, the files included.
    pub async fn backup(&self, target: &Path) -> Result<(), StoreError> {
        let target = target.display().to_string();
        self.read(move |c| {
            c.execute("VACUUM INTO ?1", params![target]).map_err(db_error)?;
            Ok(())
        })
        .await
    }

    /// Runs a job on the writer and awaits its durable outcome.
    async fn write<I, O>(&self, input: I, run: fn(&mut Ctx<'_>, &I) -> Result<O, StoreError>) -> Result<O, StoreError>
    where
        I: Send + 'static,
        O: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let sender = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let sender = sender.ok_or(StoreError::Closed)?;
        sender.send(Task::boxed(input, run, reply)).map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Backend("the writer stopped before answering".to_string()))?
    }

    /// Runs a read on a reader thread and awaits its answer.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            let _ = reply.send(f(conn));
        });
        self.readers.send(job).map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Backend("a reader stopped before answering".to_string()))?
    }
}

/// A list's limit: the filter's, or [`DEFAULT_LIMIT`] when it asks for none.
fn limit(asked: i64) -> i64 {
    if asked <= 0 { DEFAULT_LIMIT } else { asked }
}

/// A LIKE pattern matching `text` anywhere, with `\` escaping the pattern characters.
fn contains_pattern(text: &str) -> String {
    let escaped: String =
        text.chars().flat_map(|c| if matches!(c, '%' | '_' | '\\') { vec!['\\', c] } else { vec![c] }).collect();
    format!("%{escaped}%")
}

/// A query built from a filter: its SQL and its parameters (numbered in order).
struct Query {
    sql: String,
    params: Vec<Value>,
}

impl Query {
    fn new(sql: &str) -> Query {
        Query { sql: sql.to_string(), params: Vec::new() }
    }

    /// Appends `text` with `?` replaced by the next parameter's number.
    fn push(&mut self, text: &str, value: impl Into<Value>) -> &mut Query {
        self.params.push(value.into());
        self.sql.push_str(&text.replace('?', &format!("?{}", self.params.len())));
        self
    }

    fn text(&mut self, text: &str) -> &mut Query {
        self.sql.push_str(text);
        self
    }

    fn run<T>(
        self,
        conn: &Connection,
        map: fn(&rusqlite::Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        rows::all_dyn(conn, &self.sql, &self.params, map)
    }
}

/// The conditions of a record filter (after a `WHERE kind = …`).
fn record_filter(q: &mut Query, filter: &RecordFilter) {
    if let Some(case_id) = &filter.case_id {
        q.push(" AND case_id = ?", case_id.clone());
    }
    if let Some(owner) = &filter.owner {
        q.push(" AND owner = ?", owner.clone());
    }
    if let Some(department) = &filter.department {
        q.push(" AND department = ?", department.clone());
    }
    if let Some(state) = &filter.state {
        q.push(" AND state = ?", state.clone());
    }
    if let Some(since) = filter.since {
        q.push(" AND created_at >= ?", millis(since));
    }
    if let Some(until) = filter.until {
        q.push(" AND created_at < ?", millis(until));
    }
}

/// A case with its materials and watches, on one connection.
fn bundle_of(conn: &Connection, case: CaseRow) -> Result<CaseBundle, StoreError> {
    let materials = rows::all(
        conn,
        concat!("SELECT ", material_columns!(), " FROM materials WHERE case_id = ?1 ORDER BY material"),
        params![case.id],
        rows::material,
    )?;
    let watches = rows::all(
        conn,
        concat!("SELECT ", watch_columns!(), " FROM watches WHERE case_id = ?1 ORDER BY subject"),
        params![case.id],
        rows::watch,
    )?;
    Ok(CaseBundle { case, materials, watches })
}

fn case_by_id(conn: &Connection, id: &str) -> Result<Option<CaseRow>, StoreError> {
    rows::one(conn, concat!("SELECT ", case_columns!(), " FROM cases WHERE id = ?1"), params![id], rows::case)
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn commit(&self, change: Changeset) -> Result<Committed, StoreError> {
        self.write(change, writer::commit).await
    }

    async fn probe(&self, probe: Probe) -> Result<(), StoreError> {
        self.write(probe, writer::probe).await
    }

    async fn case_bundle(&self, id: &str) -> Result<Option<CaseBundle>, StoreError> {
        let id = id.to_string();
        self.read(move |c| case_by_id(c, &id)?.map(|case| bundle_of(c, case)).transpose()).await
    }

    async fn task_bundle(&self, task_id: &str) -> Result<Option<(TaskRow, CaseBundle)>, StoreError> {
        let id = task_id.to_string();
        self.read(move |c| {
            let Some(task) = rows::one(
                c,
                concat!("SELECT ", task_columns!(), " FROM tasks WHERE id = ?1"),
                params![id],
                rows::task,
            )?
            else {
                return Ok(None);
            };
            let Some(case) = case_by_id(c, &task.case_id)? else { return Ok(None) };
            Ok(Some((task, bundle_of(c, case)?)))
        })
        .await
    }

    async fn case_by_number(&self, number: &str) -> Result<Option<CaseRow>, StoreError> {
        let number = number.to_string();
        self.read(move |c| {
            rows::one(
                c,
                concat!("SELECT ", case_columns!(), " FROM cases WHERE number = ?1"),
                params![number],
                rows::case,
            )
        })
        .await
    }

    async fn cases(&self, filter: &CaseFilter) -> Result<Vec<CaseRow>, StoreError> {
        let mut q = Query::new(concat!("SELECT ", case_columns!(), " FROM cases WHERE 1 = 1"));
        if let Some(state) = &filter.state {
            q.push(" AND state = ?", state.clone());
        }
        if let Some(bundle) = &filter.bundle {
            q.push(" AND bundle = ?", bundle.clone());
        }
        if let Some(owner) = &filter.owner {
            q.push(" AND owner = ?", owner.clone());
        }
        if let Some(department) = &filter.department {
            // A semi-join (each case once, however many tasks), driven by the department index of tasks.
            q.push(" AND id IN (SELECT case_id FROM tasks WHERE department = ?)", department.clone());
        }
        if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let pattern = contains_pattern(search);
            q.push(" AND (number LIKE ? ESCAPE '\\'", pattern.clone());
            q.push(" OR applicant_code LIKE ? ESCAPE '\\'", pattern.clone());
            q.push(" OR applicant_name LIKE ? ESCAPE '\\')", pattern);
        }
        q.text(if filter.oldest_first {
            " ORDER BY created_at ASC, id ASC"
        } else {
            " ORDER BY created_at DESC, id DESC"
        });
        q.push(" LIMIT ?", limit(filter.limit));
        self.read(move |c| q.run(c, rows::case)).await
    }

    async fn cases_by_ids(&self, ids: &[String]) -> Result<Vec<CaseRow>, StoreError> {
        let ids = ids.to_vec();
        self.read(move |c| {
            let mut out = Vec::with_capacity(ids.len());
            for id in &ids {
                if let Some(row) = case_by_id(c, id)? {
                    out.push(row);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn count_cases(&self) -> Result<i64, StoreError> {
        self.read(|c| Ok(rows::one(c, "SELECT COUNT(*) FROM cases", [], |r| rows::get(r, 0))?.unwrap_or(0))).await
    }

    async fn tasks(&self, filter: &TaskFilter) -> Result<Vec<TaskRow>, StoreError> {
        let mut q = Query::new(concat!("SELECT ", task_columns!(), " FROM tasks WHERE 1 = 1"));
        if let Some(department) = &filter.department {
            q.push(" AND department = ?", department.clone());
        }
        if !filter.states.is_empty() {
            q.text(" AND state IN (");
            for (i, state) in filter.states.iter().enumerate() {
                q.push(if i == 0 { "?" } else { ", ?" }, state.clone());
            }
            q.text(")");
        }
        if let Some(case_id) = &filter.case_id {
            q.push(" AND case_id = ?", case_id.clone());
        }
        q.push(" ORDER BY due_at ASC NULLS LAST, id ASC LIMIT ?", limit(filter.limit));
        self.read(move |c| q.run(c, rows::task)).await
    }

    async fn tasks_updated_between(&self, since: Timestamp, until: Timestamp) -> Result<Vec<TaskRow>, StoreError> {
        self.read(move |c| {
            rows::all(
                c,
                concat!(
                    "SELECT ",
                    task_columns!(),
                    " FROM tasks WHERE updated_at >= ?1 AND updated_at < ?2 ORDER BY updated_at, id"
                ),
                params![millis(since), millis(until)],
                rows::task,
            )
        })
        .await
    }

    async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let sha = sha256.to_string();
        self.read(move |c| rows::one(c, "SELECT bytes FROM blobs WHERE sha256 = ?1", params![sha], |r| rows::get(r, 0)))
            .await
    }

    async fn unreferenced_blobs(&self, limit_: i64) -> Result<Vec<(String, i64)>, StoreError> {
        self.read(move |c| {
            rows::all(
                c,
                "SELECT sha256, size FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM materials m WHERE m.sha256 = b.sha256) \
                 ORDER BY sha256 LIMIT ?1",
                params![limit(limit_)],
                |r| Ok((rows::get(r, 0)?, rows::get(r, 1)?)),
            )
        })
        .await
    }

    async fn idempotency(&self, scope: &str, key: &str) -> Result<Option<IdempotencyRow>, StoreError> {
        let (scope, key) = (scope.to_string(), key.to_string());
        self.read(move |c| {
            rows::one(
                c,
                "SELECT scope, key, body_sha256, case_id, created_at FROM idempotency WHERE scope = ?1 AND key = ?2",
                params![scope, key],
                rows::idempotency,
            )
        })
        .await
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        let name = username.to_string();
        self.read(move |c| {
            rows::one(
                c,
                concat!("SELECT ", user_columns!(), " FROM users WHERE username = ?1"),
                params![name],
                rows::user,
            )
        })
        .await
    }

    async fn user(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        let id = id.to_string();
        self.read(move |c| {
            rows::one(c, concat!("SELECT ", user_columns!(), " FROM users WHERE id = ?1"), params![id], rows::user)
        })
        .await
    }

    async fn user_by_external_id(&self, external_id: &str) -> Result<Option<UserRow>, StoreError> {
        let id = external_id.to_string();
        self.read(move |c| {
            rows::one(
                c,
                concat!("SELECT ", user_columns!(), " FROM users WHERE external_id = ?1"),
                params![id],
                rows::user,
            )
        })
        .await
    }

    async fn users(&self, filter: &UserFilter) -> Result<Vec<UserRow>, StoreError> {
        let mut q = Query::new(concat!("SELECT ", user_columns!(), " FROM users WHERE 1 = 1"));
        if let Some(role) = &filter.role {
            // Roles are a JSON array of names; a name is quoted in it.
            q.push(" AND instr(roles, ?) > 0", format!("\"{role}\""));
        }
        if let Some(department) = &filter.department {
            q.push(" AND department = ?", department.clone());
        }
        if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let pattern = contains_pattern(search);
            q.push(" AND (username LIKE ? ESCAPE '\\'", pattern.clone());
            q.push(" OR display_name LIKE ? ESCAPE '\\')", pattern);
        }
        q.push(" ORDER BY username LIMIT ?", limit(filter.limit));
        self.read(move |c| q.run(c, rows::user)).await
    }

    async fn token(&self, token_hash: &str) -> Result<Option<(TokenRow, UserRow)>, StoreError> {
        let hash = token_hash.to_string();
        self.read(move |c| {
            rows::one(
                c,
                "SELECT t.token_hash, t.user_id, t.kind, t.created_at, t.expires_at, t.revoked_at, \
                 u.id, u.username, u.display_name, u.password_hash, u.roles, u.department, u.disabled, \
                 u.must_change_password, u.id_number, u.external_id, u.profile, u.created_at, u.updated_at, \
                 u.version FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1",
                params![hash],
                |r| Ok((rows::token(r)?, rows::user_at(r, 6)?)),
            )
        })
        .await
    }

    async fn catalog_version(&self, version: &str) -> Result<Option<CatalogVersionRow>, StoreError> {
        let version = version.to_string();
        self.read(move |c| {
            rows::one(
                c,
                "SELECT version, files, loaded_at FROM catalog_versions WHERE version = ?1",
                params![version],
                rows::catalog_version,
            )
        })
        .await
    }

    async fn case_events(&self, case_id: &str) -> Result<Vec<EventRow>, StoreError> {
        let id = case_id.to_string();
        self.read(move |c| {
            rows::all(
                c,
                concat!("SELECT ", event_columns!(), " FROM events WHERE case_id = ?1 ORDER BY seq"),
                params![id],
                rows::event,
            )
        })
        .await
    }

    async fn events_after(&self, after: i64, limit_: i64) -> Result<Vec<EventRow>, StoreError> {
        self.read(move |c| {
            rows::all(
                c,
                concat!("SELECT ", event_columns!(), " FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2"),
                params![after, limit(limit_)],
                rows::event,
            )
        })
        .await
    }

    async fn chain_head(&self) -> Result<(i64, String), StoreError> {
        self.read(writer::read_head).await
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
        self.write(claim, writer::claim).await
    }

    async fn watch(&self, subject: &str) -> Result<Option<WatchRow>, StoreError> {
        let subject = subject.to_string();
        self.read(move |c| {
            rows::one(
                c,
                concat!("SELECT ", watch_columns!(), " FROM watches WHERE subject = ?1"),
                params![subject],
                rows::watch,
            )
        })
        .await
    }

    async fn colour_counts(&self, subject_prefix: &str) -> Result<Vec<ColourCount>, StoreError> {
        let prefix = subject_prefix.to_string();
        // A prefix compared as a prefix, not a LIKE pattern: `_` and `%` are plain characters, case matters.
        self.read(move |c| {
            rows::all(
                c,
                "SELECT department, colour, COUNT(*) FROM watches \
                 WHERE colour <> 'none' AND substr(subject, 1, length(?1)) = ?1 \
                 GROUP BY department, colour ORDER BY department ASC NULLS LAST, colour ASC",
                params![prefix],
                |r| Ok(ColourCount { department: rows::get(r, 0)?, colour: rows::get(r, 1)?, count: rows::get(r, 2)? }),
            )
        })
        .await
    }

    async fn watches_by_colour(
        &self,
        subject_prefix: &str,
        colour: &str,
        department: Option<&str>,
        limit_: i64,
    ) -> Result<Vec<WatchRow>, StoreError> {
        let mut q = Query::new(concat!("SELECT ", watch_columns!(), " FROM watches WHERE 1 = 1"));
        q.push(" AND colour = ?", colour.to_string());
        q.push(" AND substr(subject, 1, length(?", subject_prefix.to_string());
        q.push(")) = ?", subject_prefix.to_string());
        if let Some(department) = department {
            q.push(" AND department = ?", department.to_string());
        }
        q.push(" ORDER BY due_at ASC NULLS LAST, subject ASC LIMIT ?", limit(limit_));
        self.read(move |c| q.run(c, rows::watch)).await
    }

    async fn record(&self, kind: &str, id: &str) -> Result<Option<RecordRow>, StoreError> {
        let (kind, id) = (kind.to_string(), id.to_string());
        self.read(move |c| {
            rows::one(
                c,
                concat!("SELECT ", record_columns!(), " FROM records WHERE kind = ?1 AND id = ?2"),
                params![kind, id],
                rows::record,
            )
        })
        .await
    }

    async fn records(&self, filter: &RecordFilter) -> Result<Vec<RecordRow>, StoreError> {
        let mut q = Query::new(concat!("SELECT ", record_columns!(), " FROM records WHERE 1 = 1"));
        q.push(" AND kind = ?", filter.kind.clone());
        record_filter(&mut q, filter);
        q.push(" ORDER BY created_at DESC, id DESC LIMIT ?", limit(filter.limit));
        self.read(move |c| q.run(c, rows::record)).await
    }

    async fn count_records(&self, filter: &RecordFilter) -> Result<i64, StoreError> {
        let mut q = Query::new("SELECT COUNT(*) FROM records WHERE 1 = 1");
        q.push(" AND kind = ?", filter.kind.clone());
        record_filter(&mut q, filter);
        self.read(move |c| Ok(q.run(c, |r| rows::get::<i64>(r, 0))?.into_iter().next().unwrap_or(0))).await
    }

    async fn dump(
        &self,
        table: Table,
        after: Option<String>,
        limit_: i64,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        let after = after.map(|a| table.parse_cursor(&a)).transpose()?;
        self.read(move |c| transfer::dump(c, table, after, limit(limit_))).await
    }

    async fn restore(&self, table: Table, rows: Vec<serde_json::Value>) -> Result<(), StoreError> {
        let rows = rows.iter().map(|row| table.cells(row)).collect::<Result<Vec<_>, _>>()?;
        self.write(transfer::Restore { table, rows }, transfer::restore).await
    }

    async fn wipe(&self) -> Result<(), StoreError> {
        self.write((), transfer::wipe).await
    }

    async fn close(&self) {
        // Dropping our sender ends the writer once every commit already on its way has been applied.
        drop(self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take());
        let thread = self.writer_thread.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(thread) = thread {
            let joined = tokio::task::spawn_blocking(move || thread.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::error!("the sqlite writer thread failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn patterns_escape_their_wildcards() {
        assert_eq!(contains_pattern("鸿运"), "%鸿运%");
        assert_eq!(contains_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
    }
}
