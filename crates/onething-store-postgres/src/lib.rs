//! onething-store-postgres: the scale-out backend of onething. It implements [`onething_store::Store`] on a
//! PostgreSQL database through sqlx, and owns that database's schema (the migrations in `migrations/`, numbered
//! and named like the SQLite backend's).
//!
//! # Several nodes, one database
//!
//! Unlike SQLite, PostgreSQL may be written by several `onething serve` processes at once, so this backend keeps
//! no truth in process memory. Every check — the case version, the case number, the idempotency key, the place
//! of the event in the hash chain — is made by the database inside a transaction (READ COMMITTED), under row
//! locks that hold across connections and nodes.
//!
//! Commits go through a group writer (see the `commit` module): a few writer tasks per node take whatever
//! changesets are queued and apply each batch in ONE transaction, one savepoint per changeset, then take the
//! chain head's lock once, number the batch's new cases, append all its events in one statement and move the
//! head once. The lock that orders the whole cluster's events is thus taken once per batch instead of once per
//! changeset, and held only for the closing statements and the COMMIT. A batch PostgreSQL aborts to break a
//! deadlock is run again, a few times.
//!
//! A commit's outcome is decided by its writer, never by the caller's cancellation (a dropped request).
//! [`Store::close`] lets the writers finish what is queued and refuses later commits; reads keep working until
//! the store is dropped, as on SQLite.
//!
//! # Claims
//!
//! [`Store::claim_watches`] is one statement, `UPDATE watches SET lease… WHERE subject IN (SELECT subject …
//! ORDER BY next_check_at LIMIT $n FOR UPDATE SKIP LOCKED) RETURNING …`: a watch another node is claiming (or
//! writing) right now is skipped rather than waited for, and one it has just claimed fails the lease condition
//! when PostgreSQL re-checks the row it locks, so two nodes never get the same watch. Like a commit, a claim
//! holds a permit of the gate, so [`Store::close`] waits for it and refuses later ones.
//!
//! # Schemas
//!
//! [`PostgresOptions::schema`] puts the store in a schema of its own (created if missing): every pooled
//! connection sets its `search_path` to it when it connects, and the migrations and their `_sqlx_migrations`
//! table land there too. The tests use a fresh schema per test and [`PostgresOptions::drop_schema`] afterwards.
//!
//! # Moving an installation
//!
//! [`Store::dump`] reads a table in key order (text keys in the "C" collation, as SQLite orders them);
//! [`Store::restore`] inserts rows verbatim in one transaction that locks the table against other writers.
//! Like a commit, a restore holds a permit of the gate and runs in a task of its own.
//!
//! # Types
//!
//! Instants are BIGINT unix milliseconds (UTC); JSON documents and lists are TEXT, so that they — and the event
//! payload, whose hash covers its exact bytes — come back exactly as written. Keys that lists are ordered by
//! use the "C" collation, so lists come in the same order as on SQLite.

mod commit;
mod rows;
mod transfer;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use jiff::Timestamp;
use onething_store::{
    CaseBundle, CaseFilter, CaseRow, CatalogVersionRow, Changeset, ColourCount, Committed, EventRow, IdempotencyRow,
    Probe, RecordFilter, RecordRow, Store, StoreError, Table, TaskFilter, TaskRow, TokenRow, UserFilter, UserRow,
    WatchRow,
};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, Executor, Postgres, QueryBuilder};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::rows::{
    case_columns, db_error, event_columns, material_columns, millis, record_columns, task_columns, user_columns,
    watch_columns,
};

/// The schema, embedded at compile time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The number of rows a list returns when its filter asks for none (a limit of 0 or less).
const DEFAULT_LIMIT: i64 = 1000;

/// The permits of the commit gate: one per commit under way, all of them for [`Store::close`]. Far more than
/// commits can ever run at once (each needs a connection).
const GATE_PERMITS: u32 = 1 << 30;

/// The longest name PostgreSQL keeps for an identifier (NAMEDATALEN - 1); it would silently cut a longer one.
const MAX_IDENTIFIER_BYTES: usize = 63;

/// How to open a [`PostgresStore`].
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// A libpq-style URL, e.g. `postgres://onething@127.0.0.1:5432/onething`.
    pub url: String,
    /// The size of the connection pool (commits and reads share it). Default 16.
    pub max_connections: u32,
    /// The schema to keep the tables in, created if missing; `None` uses the server's default `search_path`
    /// (normally `public`).
    pub schema: Option<String>,
    /// The group writers of this node (each one transaction at a time). Default 4.
    pub writers: usize,
    /// The most changesets one writer's transaction takes. Default 256.
    pub max_batch: usize,
}

impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("url", &redacted(&self.url))
            .field("max_connections", &self.max_connections)
            .field("schema", &self.schema)
            .field("writers", &self.writers)
            .field("max_batch", &self.max_batch)
            .finish()
    }
}

impl PostgresOptions {
    /// The defaults for a URL: 16 connections, the server's default schema.
    pub fn new(url: impl Into<String>) -> PostgresOptions {
        PostgresOptions { url: url.into(), max_connections: 16, schema: None, writers: 4, max_batch: 256 }
    }

    /// Drops [`Self::schema`] with everything in it, through a connection of its own (so it works after the
    /// store was closed). Refuses when no schema is set or it is `public`: this is for scratch schemas (tests),
    /// never for a deployment's data.
    pub async fn drop_schema(&self) -> Result<(), StoreError> {
        let schema = match self.schema.as_deref() {
            Some(schema) if schema != "public" => quote_identifier(schema)?,
            _ => return Err(StoreError::Backend("only a scratch schema of its own can be dropped".to_string())),
        };
        let mut conn = self.connect_one().await?;
        let dropped = conn.execute(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))).await;
        close_quietly(conn).await;
        dropped.map(|_| ()).map_err(db_error)
    }

    fn connect_options(&self) -> Result<PgConnectOptions, StoreError> {
        PgConnectOptions::from_str(&self.url)
            .map(|o| o.application_name("onething"))
            .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL {}: {e}", redacted(&self.url))))
    }

    async fn connect_one(&self) -> Result<PgConnection, StoreError> {
        PgConnection::connect_with(&self.connect_options()?)
            .await
            .map_err(|e| StoreError::Backend(format!("cannot connect to {}: {e}", redacted(&self.url))))
    }
}

/// The PostgreSQL store: a connection pool, and a few group writers fed from one queue (see the `commit`
/// module). Cheap to share behind an `Arc`; open one per process, any number of processes per database.
pub struct PostgresStore {
    options: PostgresOptions,
    pool: PgPool,
    /// The way to the writers; `None` once closed.
    queue: std::sync::Mutex<Option<mpsc::Sender<commit::Job>>>,
    /// The writer tasks, awaited by [`Store::close`].
    writers: tokio::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Claims and restores hold a permit while they run; `close` takes them all, then closes the gate.
    gate: Arc<Semaphore>,
    /// The greatest key of each table this store restored rows into, as the last restore left it: a further
    /// batch of the same table is accepted only while the table still ends there. Held for a whole restore, so
    /// restores through one store run one at a time.
    restored: Arc<tokio::sync::Mutex<HashMap<Table, String>>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("options", &self.options).finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects, creates the schema if one is asked for and missing, and brings the tables up to date. Several
    /// nodes may open the same database at once: sqlx serialises the migrations with an advisory lock.
    pub async fn open(options: PostgresOptions) -> Result<PostgresStore, StoreError> {
        let connect = options.connect_options()?;
        let search_path = match options.schema.as_deref() {
            Some(schema) => {
                let quoted = quote_identifier(schema)?;
                create_schema(&options, &quoted, schema).await?;
                Some(Arc::<str>::from(format!("SET search_path TO {quoted}")))
            }
            None => None,
        };
        let mut pool = PgPoolOptions::new().max_connections(options.max_connections.max(1));
        if let Some(sql) = search_path {
            pool = pool.after_connect(move |conn, _meta| {
                let sql = Arc::clone(&sql);
                Box::pin(async move { conn.execute(AssertSqlSafe(sql)).await.map(|_| ()) })
            });
        }
        let shown = redacted(&options.url);
        let pool = pool
            .connect_with(connect)
            .await
            .map_err(|e| StoreError::Backend(format!("cannot connect to {shown}: {e}")))?;
        if let Err(e) = MIGRATOR.run(&pool).await {
            pool.close().await;
            return Err(StoreError::Backend(format!("cannot migrate {shown}: {e}")));
        }
        tracing::info!(url = %shown, schema = ?options.schema, "postgres store open");
        let (sender, receiver) = mpsc::channel(options.max_batch.max(1) * 4);
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let writers = (0..options.writers.max(1))
            .map(|_| tokio::spawn(commit::writer(pool.clone(), Arc::clone(&receiver), options.max_batch.max(1))))
            .collect();
        Ok(PostgresStore {
            options,
            pool,
            queue: std::sync::Mutex::new(Some(sender)),
            writers: tokio::sync::Mutex::new(writers),
            gate: Arc::new(Semaphore::new(GATE_PERMITS as usize)),
            restored: Arc::new(tokio::sync::Mutex::new(HashMap::new())),
        })
    }

    /// Queues a job to the writers and awaits its durable outcome.
    async fn write(&self, work: commit::Work) -> Result<Committed, StoreError> {
        let sender = self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let sender = sender.ok_or(StoreError::Closed)?;
        let (reply, answer) = oneshot::channel();
        sender.send(commit::Job { work, reply }).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Backend("the writer stopped before answering".to_string()))?
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &PostgresOptions {
        &self.options
    }

    /// Drops the store's schema with everything in it (see [`PostgresOptions::drop_schema`]); works after
    /// [`Store::close`].
    pub async fn drop_schema(&self) -> Result<(), StoreError> {
        self.options.drop_schema().await
    }
}

/// Creates a schema unless it exists. Two nodes creating it at once may both pass `IF NOT EXISTS` and one then
/// fails on the catalogue's unique index: that is fine as long as the schema exists afterwards.
async fn create_schema(options: &PostgresOptions, quoted: &str, schema: &str) -> Result<(), StoreError> {
    let mut conn = options.connect_one().await?;
    let created = conn.execute(AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {quoted}"))).await;
    let outcome = match created {
        Ok(_) => Ok(()),
        Err(e) => {
            let exists = sqlx::query("SELECT 1 FROM pg_namespace WHERE nspname = $1")
                .bind(schema)
                .fetch_optional(&mut conn)
                .await
                .map_err(db_error)?;
            if exists.is_some() { Ok(()) } else { Err(StoreError::Backend(format!("cannot create schema: {e}"))) }
        }
    };
    close_quietly(conn).await;
    outcome
}

async fn close_quietly(conn: PgConnection) {
    if let Err(e) = conn.close().await {
        tracing::debug!(error = %e, "closing a connection failed");
    }
}

/// A schema name as a quoted SQL identifier; names PostgreSQL would cut or cannot hold are refused.
fn quote_identifier(name: &str) -> Result<String, StoreError> {
    if name.is_empty() || name.len() > MAX_IDENTIFIER_BYTES || name.contains('\0') {
        return Err(StoreError::Backend(format!("{name:?} is not a usable schema name (1 to 63 bytes)")));
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// A URL without its password, for messages and logs.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<an unparsable URL>".to_string();
    };
    let (authority, tail) = rest.find(['/', '?']).map_or((rest, ""), |at| rest.split_at(at));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) if query.contains("password") => format!("{path}?***"),
        _ => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// A list's limit: the filter's, or [`DEFAULT_LIMIT`] when it asks for none.
fn limit(asked: i64) -> i64 {
    if asked <= 0 { DEFAULT_LIMIT } else { asked }
}

/// Adds the conditions of a record filter (after a `WHERE kind = …`).
fn push_record_filter(q: &mut QueryBuilder<Postgres>, filter: &RecordFilter) {
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

/// A LIKE pattern matching `text` anywhere, with `\` escaping the pattern characters.
fn contains_pattern(text: &str) -> String {
    let escaped: String =
        text.chars().flat_map(|c| if matches!(c, '%' | '_' | '\\') { vec!['\\', c] } else { vec![c] }).collect();
    format!("%{escaped}%")
}

/// A case with its materials and watches, on one connection.
async fn bundle_of(conn: &mut PgConnection, case: CaseRow) -> Result<CaseBundle, StoreError> {
    let materials = sqlx::query(concat!(
        "SELECT ",
        material_columns!(),
        " FROM materials WHERE case_id = $1 ORDER BY material COLLATE \"C\""
    ))
    .bind(&case.id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?
    .iter()
    .map(rows::material)
    .collect::<Result<Vec<_>, _>>()?;
    let watches =
        sqlx::query(concat!("SELECT ", watch_columns!(), " FROM watches WHERE case_id = $1 ORDER BY subject"))
            .bind(&case.id)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?
            .iter()
            .map(rows::watch)
            .collect::<Result<Vec<_>, _>>()?;
    Ok(CaseBundle { case, materials, watches })
}

async fn case_by_id(conn: &mut PgConnection, id: &str) -> Result<Option<CaseRow>, StoreError> {
    sqlx::query(concat!("SELECT ", case_columns!(), " FROM cases WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?
        .as_ref()
        .map(rows::case)
        .transpose()
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    async fn commit(&self, change: Changeset) -> Result<Committed, StoreError> {
        self.write(commit::Work::Commit(Box::new(change))).await
    }

    async fn probe(&self, probe: Probe) -> Result<(), StoreError> {
        self.write(commit::Work::Probe(probe)).await.map(|_| ())
    }

    async fn case_bundle(&self, id: &str) -> Result<Option<CaseBundle>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        match case_by_id(&mut conn, id).await? {
            Some(case) => Ok(Some(bundle_of(&mut conn, case).await?)),
            None => Ok(None),
        }
    }

    async fn task_bundle(&self, task_id: &str) -> Result<Option<(TaskRow, CaseBundle)>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        let task = sqlx::query(concat!("SELECT ", task_columns!(), " FROM tasks WHERE id = $1"))
            .bind(task_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?
            .as_ref()
            .map(rows::task)
            .transpose()?;
        let Some(task) = task else { return Ok(None) };
        let Some(case) = case_by_id(&mut conn, &task.case_id).await? else { return Ok(None) };
        Ok(Some((task, bundle_of(&mut conn, case).await?)))
    }

    async fn case_by_number(&self, number: &str) -> Result<Option<CaseRow>, StoreError> {
        sqlx::query(concat!("SELECT ", case_columns!(), " FROM cases WHERE number = $1"))
            .bind(number)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .as_ref()
            .map(rows::case)
            .transpose()
    }

    async fn cases(&self, filter: &CaseFilter) -> Result<Vec<CaseRow>, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(concat!("SELECT ", case_columns!(), " FROM cases WHERE 1 = 1"));
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
        if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let pattern = contains_pattern(search);
            q.push(" AND (number ILIKE ").push_bind(pattern.clone());
            q.push(" OR applicant_code ILIKE ").push_bind(pattern.clone());
            q.push(" OR applicant_name ILIKE ").push_bind(pattern).push(")");
        }
        q.push(if filter.oldest_first {
            " ORDER BY created_at ASC, id ASC"
        } else {
            " ORDER BY created_at DESC, id DESC"
        });
        q.push(" LIMIT ").push_bind(limit(filter.limit));
        let found = q.build().fetch_all(&self.pool).await.map_err(db_error)?;
        found.iter().map(rows::case).collect()
    }

    async fn cases_by_ids(&self, ids: &[String]) -> Result<Vec<CaseRow>, StoreError> {
        let found = sqlx::query(concat!("SELECT ", case_columns!(), " FROM cases WHERE id = ANY($1)"))
            .bind(ids)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        found.iter().map(rows::case).collect()
    }

    async fn count_cases(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM cases").fetch_one(&self.pool).await.map_err(db_error)
    }

    async fn tasks(&self, filter: &TaskFilter) -> Result<Vec<TaskRow>, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(concat!("SELECT ", task_columns!(), " FROM tasks WHERE 1 = 1"));
        if let Some(department) = &filter.department {
            q.push(" AND department = ").push_bind(department.clone());
        }
        if !filter.states.is_empty() {
            q.push(" AND state = ANY(").push_bind(filter.states.clone()).push(")");
        }
        if let Some(case_id) = &filter.case_id {
            q.push(" AND case_id = ").push_bind(case_id.clone());
        }
        q.push(" ORDER BY due_at ASC NULLS LAST, id ASC LIMIT ").push_bind(limit(filter.limit));
        let found = q.build().fetch_all(&self.pool).await.map_err(db_error)?;
        found.iter().map(rows::task).collect()
    }

    async fn tasks_updated_between(&self, since: Timestamp, until: Timestamp) -> Result<Vec<TaskRow>, StoreError> {
        let found = sqlx::query(concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks WHERE updated_at >= $1 AND updated_at < $2 ORDER BY updated_at, id"
        ))
        .bind(millis(since))
        .bind(millis(until))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        found.iter().map(rows::task).collect()
    }

    async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query_scalar("SELECT bytes FROM blobs WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)
    }

    async fn unreferenced_blobs(&self, limit_: i64) -> Result<Vec<(String, i64)>, StoreError> {
        sqlx::query_as(
            "SELECT sha256, size FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM materials m WHERE m.sha256 = b.sha256) \
             ORDER BY sha256 LIMIT $1",
        )
        .bind(limit(limit_))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)
    }

    async fn idempotency(&self, scope: &str, key: &str) -> Result<Option<IdempotencyRow>, StoreError> {
        let found = sqlx::query(
            "SELECT scope, key, body_sha256, case_id, created_at FROM idempotency WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        found.as_ref().map(rows::idempotency).transpose()
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        self.user_where("username", username).await
    }

    async fn user(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        self.user_where("id", id).await
    }

    async fn user_by_external_id(&self, external_id: &str) -> Result<Option<UserRow>, StoreError> {
        self.user_where("external_id", external_id).await
    }

    async fn users(&self, filter: &UserFilter) -> Result<Vec<UserRow>, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(concat!("SELECT ", user_columns!(), " FROM users WHERE 1 = 1"));
        if let Some(role) = &filter.role {
            // Roles are a JSON array of names; a name is quoted in it.
            q.push(" AND strpos(roles, ").push_bind(format!("\"{role}\"")).push(") > 0");
        }
        if let Some(department) = &filter.department {
            q.push(" AND department = ").push_bind(department.clone());
        }
        if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let pattern = contains_pattern(search);
            q.push(" AND (username ILIKE ").push_bind(pattern.clone());
            q.push(" OR display_name ILIKE ").push_bind(pattern).push(")");
        }
        q.push(" ORDER BY username COLLATE \"C\" LIMIT ").push_bind(limit(filter.limit));
        let found = q.build().fetch_all(&self.pool).await.map_err(db_error)?;
        found.iter().map(rows::user).collect()
    }

    async fn token(&self, token_hash: &str) -> Result<Option<(TokenRow, UserRow)>, StoreError> {
        let found = sqlx::query(
            "SELECT t.token_hash, t.user_id, t.kind, t.created_at AS token_created_at, t.expires_at, t.revoked_at, \
             u.id, u.username, u.display_name, u.password_hash, u.roles, u.department, u.disabled, \
             u.must_change_password, u.id_number, u.external_id, u.profile, u.created_at, u.updated_at, u.version \
             FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        match found {
            Some(row) => Ok(Some((rows::token(&row)?, rows::user(&row)?))),
            None => Ok(None),
        }
    }

    async fn catalog_version(&self, version: &str) -> Result<Option<CatalogVersionRow>, StoreError> {
        sqlx::query("SELECT version, files, loaded_at FROM catalog_versions WHERE version = $1")
            .bind(version)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .as_ref()
            .map(rows::catalog_version)
            .transpose()
    }

    async fn case_events(&self, case_id: &str) -> Result<Vec<EventRow>, StoreError> {
        let found = sqlx::query(concat!("SELECT ", event_columns!(), " FROM events WHERE case_id = $1 ORDER BY seq"))
            .bind(case_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        found.iter().map(rows::event).collect()
    }

    async fn events_after(&self, after: i64, limit_: i64) -> Result<Vec<EventRow>, StoreError> {
        let found =
            sqlx::query(concat!("SELECT ", event_columns!(), " FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"))
                .bind(after)
                .bind(limit(limit_))
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
        found.iter().map(rows::event).collect()
    }

    async fn chain_head(&self) -> Result<(i64, String), StoreError> {
        let row: Option<(i64, String)> = sqlx::query_as("SELECT seq, hash FROM chain_head WHERE id = 1")
            .fetch_optional(&self.pool)
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
        // A claim is a write: refused once closed, waited for by close.
        let _permit = self.gate.acquire().await.map_err(|_| StoreError::Closed)?;
        let found = sqlx::query(concat!(
            "UPDATE watches SET lease_owner = $1, lease_until = $2 WHERE subject IN (SELECT subject FROM watches \
             WHERE next_check_at <= $3 AND (lease_until IS NULL OR lease_until < $3) \
             ORDER BY next_check_at, subject LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING ",
            watch_columns!()
        ))
        .bind(owner)
        .bind(millis(lease_until))
        .bind(millis(now))
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let mut claimed = found.iter().map(rows::watch).collect::<Result<Vec<_>, _>>()?;
        // RETURNING comes in no promised order.
        claimed.sort_by(|a, b| (a.next_check_at, &a.subject).cmp(&(b.next_check_at, &b.subject)));
        Ok(claimed)
    }

    async fn watch(&self, subject: &str) -> Result<Option<WatchRow>, StoreError> {
        sqlx::query(concat!("SELECT ", watch_columns!(), " FROM watches WHERE subject = $1"))
            .bind(subject)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .as_ref()
            .map(rows::watch)
            .transpose()
    }

    async fn colour_counts(&self, subject_prefix: &str) -> Result<Vec<ColourCount>, StoreError> {
        // A prefix compared as a prefix, not a LIKE pattern: `_` and `%` are plain characters.
        let found: Vec<(Option<String>, String, i64)> = sqlx::query_as(
            "SELECT department, colour, COUNT(*) FROM watches \
             WHERE colour <> 'none' AND substr(subject, 1, length($1)) = $1 \
             GROUP BY department, colour ORDER BY department ASC NULLS LAST, colour ASC",
        )
        .bind(subject_prefix)
        .fetch_all(&self.pool)
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
        let mut q =
            QueryBuilder::<Postgres>::new(concat!("SELECT ", watch_columns!(), " FROM watches WHERE colour = "));
        q.push_bind(colour.to_string());
        q.push(" AND substr(subject, 1, length(").push_bind(subject_prefix.to_string()).push(")) = ");
        q.push_bind(subject_prefix.to_string());
        if let Some(department) = department {
            q.push(" AND department = ").push_bind(department.to_string());
        }
        q.push(" ORDER BY due_at ASC NULLS LAST, subject ASC LIMIT ").push_bind(limit(limit_));
        let found = q.build().fetch_all(&self.pool).await.map_err(db_error)?;
        found.iter().map(rows::watch).collect()
    }

    async fn record(&self, kind: &str, id: &str) -> Result<Option<RecordRow>, StoreError> {
        sqlx::query(concat!("SELECT ", record_columns!(), " FROM records WHERE kind = $1 AND id = $2"))
            .bind(kind)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .as_ref()
            .map(rows::record)
            .transpose()
    }

    async fn records(&self, filter: &RecordFilter) -> Result<Vec<RecordRow>, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(concat!("SELECT ", record_columns!(), " FROM records WHERE kind = "));
        q.push_bind(filter.kind.clone());
        push_record_filter(&mut q, filter);
        q.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(limit(filter.limit));
        let found = q.build().fetch_all(&self.pool).await.map_err(db_error)?;
        found.iter().map(rows::record).collect()
    }

    async fn count_records(&self, filter: &RecordFilter) -> Result<i64, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM records WHERE kind = ");
        q.push_bind(filter.kind.clone());
        push_record_filter(&mut q, filter);
        q.build_query_scalar().fetch_one(&self.pool).await.map_err(db_error)
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
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        found.iter().map(|row| transfer::row(table, row)).collect()
    }

    async fn restore(&self, table: Table, rows: Vec<serde_json::Value>) -> Result<(), StoreError> {
        let rows = rows.iter().map(|row| table.cells(row)).collect::<Result<Vec<_>, _>>()?;
        let permit = Arc::clone(&self.gate).acquire_owned().await.map_err(|_| StoreError::Closed)?;
        let mut restored = Arc::clone(&self.restored).lock_owned().await;
        let pool = self.pool.clone();
        // In a task of its own, as a commit: the outcome and the key it leaves are decided together.
        tokio::spawn(async move {
            let previous = restored.get(&table).cloned();
            let done = transfer::restore(&pool, table, previous.as_deref(), &rows).await;
            if let Ok(last) = &done {
                match last {
                    Some(last) => restored.insert(table, last.clone()),
                    None => restored.remove(&table),
                };
            }
            drop(permit);
            done.map(|_| ())
        })
        .await
        .map_err(|e| StoreError::Backend(format!("the restore task failed: {e}")))?
    }

    async fn wipe(&self) -> Result<(), StoreError> {
        let _permit = self.gate.acquire().await.map_err(|_| StoreError::Closed)?;
        transfer::wipe(&self.pool).await?;
        self.restored.lock().await.clear();
        Ok(())
    }

    async fn close(&self) {
        // Dropping the queue's sender ends every writer once the jobs already queued have been applied.
        drop(self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take());
        for writer in self.writers.lock().await.drain(..) {
            if let Err(e) = writer.await {
                tracing::error!(error = %e, "a postgres writer task failed");
            }
        }
        // Claims and restores: the semaphore is fair, so later ones queue behind this and are refused once it
        // has waited for those under way. A second close finds the gate closed and returns at once.
        if let Ok(all) = self.gate.acquire_many(GATE_PERMITS).await {
            self.gate.close();
            drop(all);
        }
        // Reads go on working, as on SQLite; the connections close when the store is dropped.
    }
}

impl PostgresStore {
    async fn user_where(&self, column: &'static str, value: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!(concat!("SELECT ", user_columns!(), " FROM users WHERE {} = $1"), column);
        sqlx::query(AssertSqlSafe(sql))
            .bind(value)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .as_ref()
            .map(rows::user)
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(redacted("postgres://u:secret@db:5432/x"), "postgres://u:***@db:5432/x");
        assert_eq!(redacted("postgres://u@db/x?sslmode=disable"), "postgres://u@db/x?sslmode=disable");
        assert_eq!(redacted("postgres://db/x?user=u&password=secret"), "postgres://db/x?***");
        assert_eq!(redacted("postgres://u:p%40ss@db"), "postgres://u:***@db");
        assert_eq!(redacted("nonsense"), "<an unparsable URL>");
        let options = PostgresOptions::new("postgres://u:secret@db/x");
        assert!(!format!("{options:?}").contains("secret"));
    }

    #[test]
    fn schema_names_are_quoted_or_refused() {
        assert_eq!(quote_identifier("t_00ff").unwrap(), "\"t_00ff\"");
        assert_eq!(quote_identifier("a\"b").unwrap(), "\"a\"\"b\"");
        assert!(quote_identifier("").is_err());
        assert!(quote_identifier(&"x".repeat(64)).is_err());
    }

    #[test]
    fn limits_default_to_the_cap() {
        assert_eq!(limit(0), DEFAULT_LIMIT);
        assert_eq!(limit(-5), DEFAULT_LIMIT);
        assert_eq!(limit(7), 7);
    }
}
