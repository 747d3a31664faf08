//! The writer: one tokio task that owns the only write connection and applies changesets with group commit.
//!
//! A batch is whatever is queued when the writer gets to it (at most `max_batch` jobs). It runs in one
//! `BEGIN IMMEDIATE … COMMIT`; each job runs inside its own `SAVEPOINT`, so a job that fails a check (stale
//! version, duplicate key) is rolled back alone and the others go on. Replies to successful jobs are sent only
//! after `COMMIT` returned: nothing is acknowledged that is not durable.
//!
//! The head of the global event chain lives in writer memory. A job works on a tentative head that becomes the
//! batch's head only when the job's savepoint is released, and the batch's head becomes the writer's only when
//! the batch is committed, so a rolled-back job or batch never leaves a hole in `seq` or a wrong head.

use onething_store::{
    CaseRow, CaseWrite, Changeset, Committed, EventRow, GENESIS, NewEvent, StoreError, event_hash, to_millis,
};
use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, Row};
use tokio::sync::{mpsc, oneshot};

use crate::Pragmas;
use crate::rows::{db_error, json_text, millis, millis_opt, timestamp};

/// The reply to one commit.
pub(crate) type Reply = oneshot::Sender<Result<Committed, StoreError>>;

/// What the store asks of the writer.
pub(crate) enum Message {
    /// Apply a changeset and answer when it is durable (or failed). Boxed: the queue holds pointers, not
    /// changesets.
    Commit(Box<Changeset>, Reply),
    /// Report the settings of the write connection.
    Pragmas(oneshot::Sender<Result<Pragmas, StoreError>>),
}

/// The (seq, hash) of the newest event of the global chain.
type Head = (i64, String);

/// A job of the current batch that succeeded so far: its reply waits for the batch's COMMIT.
struct Pending {
    reply: Reply,
    committed: Committed,
}

pub(crate) struct Writer {
    conn: SqliteConnection,
    rx: mpsc::Receiver<Message>,
    head: Head,
    max_batch: usize,
}

impl Writer {
    pub(crate) async fn new(
        mut conn: SqliteConnection,
        rx: mpsc::Receiver<Message>,
        max_batch: usize,
    ) -> Result<Writer, StoreError> {
        let head = read_head(&mut conn).await?;
        Ok(Writer { conn, rx, head, max_batch: max_batch.max(1) })
    }

    /// Runs until every sender is gone (the store was closed or dropped) and the queue is drained.
    pub(crate) async fn run(mut self) {
        while let Some(first) = self.rx.recv().await {
            let mut jobs = Vec::new();
            let mut others = Vec::new();
            let mut next = Some(first);
            while let Some(message) = next.take() {
                match message {
                    Message::Commit(change, reply) => jobs.push((*change, reply)),
                    Message::Pragmas(reply) => others.push(reply),
                }
                if jobs.len() < self.max_batch {
                    next = self.rx.try_recv().ok();
                }
            }
            if !jobs.is_empty() {
                self.batch(jobs).await;
            }
            for reply in others {
                let _ = reply.send(pragmas(&mut self.conn).await);
            }
        }
        if let Err(e) = self.conn.close().await {
            tracing::warn!(error = %e, "closing the write connection failed");
        }
    }

    /// Applies one batch in one transaction and answers every job.
    async fn batch(&mut self, jobs: Vec<(Changeset, Reply)>) {
        let size = jobs.len();
        if let Err(e) = exec(&mut self.conn, "BEGIN IMMEDIATE").await {
            tracing::error!(error = %e, "cannot begin a write transaction");
            for (_, reply) in jobs {
                let _ = reply.send(Err(StoreError::Backend(format!("cannot begin a write transaction: {e}"))));
            }
            return;
        }
        let mut head = self.head.clone();
        let mut pending: Vec<Pending> = Vec::with_capacity(size);
        let mut jobs = jobs.into_iter();
        while let Some((change, reply)) = jobs.next() {
            match self.job(&head, &change).await {
                Ok((committed, new_head)) => {
                    head = new_head;
                    pending.push(Pending { reply, committed });
                }
                Err(JobError::Failed(e)) => {
                    // This job alone failed and was rolled back to its savepoint: the batch goes on.
                    let _ = reply.send(Err(e));
                }
                Err(JobError::Poisoned(e)) => {
                    // The transaction is in an unknown state (SQLite may have rolled it back itself): give up
                    // the whole batch, including the jobs that looked fine so far.
                    tracing::error!(error = %e, "a write batch failed; rolling it back");
                    self.abort().await;
                    let message = format!("the write batch failed: {e}");
                    let _ = reply.send(Err(StoreError::Backend(message.clone())));
                    for p in pending {
                        let _ = p.reply.send(Err(StoreError::Backend(message.clone())));
                    }
                    for (_, reply) in jobs {
                        let _ = reply.send(Err(StoreError::Backend(message.clone())));
                    }
                    return;
                }
            }
        }
        if let Err(e) = exec(&mut self.conn, "COMMIT").await {
            tracing::error!(error = %e, "a write batch failed to commit");
            self.abort().await;
            let message = format!("the write batch failed to commit: {e}");
            for p in pending {
                let _ = p.reply.send(Err(StoreError::Backend(message.clone())));
            }
            return;
        }
        // Durable now: only from here on is anything acknowledged.
        self.head = head;
        tracing::debug!(jobs = size, committed = pending.len(), "write batch committed");
        for p in pending {
            let _ = p.reply.send(Ok(p.committed));
        }
    }

    /// Rolls the open transaction back and re-reads the head, which is then the last committed one.
    async fn abort(&mut self) {
        // The rollback fails when SQLite already rolled back; either way no transaction is open afterwards.
        let _ = exec(&mut self.conn, "ROLLBACK").await;
        match read_head(&mut self.conn).await {
            Ok(head) => self.head = head,
            Err(e) => tracing::error!(error = %e, "cannot re-read the chain head; keeping the last committed one"),
        }
    }

    /// Applies one changeset inside its own savepoint, releasing it on success and rolling it back on failure.
    async fn job(&mut self, head: &Head, change: &Changeset) -> Result<(Committed, Head), JobError> {
        exec(&mut self.conn, "SAVEPOINT job").await.map_err(|e| JobError::Poisoned(db_error(e)))?;
        match apply(&mut self.conn, head, change).await {
            Ok(done) => {
                exec(&mut self.conn, "RELEASE job").await.map_err(|e| JobError::Poisoned(db_error(e)))?;
                Ok(done)
            }
            Err(e) => {
                exec(&mut self.conn, "ROLLBACK TO job").await.map_err(|e| JobError::Poisoned(db_error(e)))?;
                exec(&mut self.conn, "RELEASE job").await.map_err(|e| JobError::Poisoned(db_error(e)))?;
                Err(JobError::Failed(e))
            }
        }
    }
}

enum JobError {
    /// The job failed and was rolled back to its savepoint; the rest of the batch is unaffected.
    Failed(StoreError),
    /// The savepoint could not be set, released or rolled back: the whole batch must be abandoned.
    Poisoned(StoreError),
}

async fn exec(conn: &mut SqliteConnection, sql: &'static str) -> Result<(), sqlx::Error> {
    sqlx::query(sql).execute(&mut *conn).await.map(|_| ())
}

/// The stored head of the global chain.
pub(crate) async fn read_head(conn: &mut SqliteConnection) -> Result<Head, StoreError> {
    let row = sqlx::query("SELECT seq, hash FROM chain_head WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?;
    match row {
        Some(row) => Ok((row.try_get("seq").map_err(db_error)?, row.try_get("hash").map_err(db_error)?)),
        None => Err(StoreError::Backend("the chain_head row is missing".to_string())),
    }
}

/// The settings of the write connection, as SQLite reports them.
async fn pragmas(conn: &mut SqliteConnection) -> Result<Pragmas, StoreError> {
    async fn one<T>(conn: &mut SqliteConnection, sql: &'static str) -> Result<T, StoreError>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + Send + Unpin,
    {
        sqlx::query_scalar(sql).fetch_one(&mut *conn).await.map_err(db_error)
    }
    Ok(Pragmas {
        journal_mode: one(conn, "PRAGMA journal_mode").await?,
        synchronous: one(conn, "PRAGMA synchronous").await?,
        foreign_keys: one::<i64>(conn, "PRAGMA foreign_keys").await? == 1,
        busy_timeout_ms: one(conn, "PRAGMA busy_timeout").await?,
    })
}

/// Applies a changeset on the open transaction. Any error leaves the job's savepoint to be rolled back.
async fn apply(conn: &mut SqliteConnection, head: &Head, change: &Changeset) -> Result<(Committed, Head), StoreError> {
    let case = match &change.case {
        Some(write) => Some(write_case(conn, write).await?),
        None => None,
    };
    for t in &change.tasks {
        sqlx::query(
            "INSERT INTO tasks (id, case_id, item, department, state, due_at, updated_at, doc) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET case_id = excluded.case_id, item = excluded.item, \
             department = excluded.department, state = excluded.state, due_at = excluded.due_at, \
             updated_at = excluded.updated_at, doc = excluded.doc",
        )
        .bind(&t.id)
        .bind(&t.case_id)
        .bind(&t.item)
        .bind(&t.department)
        .bind(&t.state)
        .bind(millis_opt(t.due_at))
        .bind(millis(t.updated_at))
        .bind(json_text(&t.doc)?)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    for m in &change.materials {
        sqlx::query(
            "INSERT INTO materials (case_id, material, sha256, size, media_type, uploaded_at) \
             VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (case_id, material) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, \
             media_type = excluded.media_type, uploaded_at = excluded.uploaded_at",
        )
        .bind(&m.case_id)
        .bind(&m.material)
        .bind(&m.sha256)
        .bind(m.size)
        .bind(&m.media_type)
        .bind(millis(m.uploaded_at))
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    if let Some(i) = &change.idempotency {
        let done = sqlx::query(
            "INSERT INTO idempotency (scope, key, body_sha256, case_id, created_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (scope, key) DO NOTHING",
        )
        .bind(&i.scope)
        .bind(&i.key)
        .bind(&i.body_sha256)
        .bind(&i.case_id)
        .bind(millis(i.created_at))
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Duplicate { what: "idempotency key".to_string() });
        }
    }
    for u in &change.users {
        // An existing username keeps its id and creation time; the rest is replaced.
        sqlx::query(
            "INSERT INTO users (id, username, password_hash, roles, department, created_at) \
             VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, \
             roles = excluded.roles, department = excluded.department",
        )
        .bind(&u.id)
        .bind(&u.username)
        .bind(&u.password_hash)
        .bind(json_text(&u.roles)?)
        .bind(&u.department)
        .bind(millis(u.created_at))
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    for t in &change.tokens {
        sqlx::query("INSERT INTO tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
            .bind(&t.token_hash)
            .bind(&t.user_id)
            .bind(millis(t.created_at))
            .bind(millis(t.expires_at))
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
    }
    if let Some(c) = &change.catalog_version {
        sqlx::query(
            "INSERT INTO catalog_versions (version, files, loaded_at) VALUES (?, ?, ?) \
             ON CONFLICT (version) DO NOTHING",
        )
        .bind(&c.version)
        .bind(json_text(&c.files)?)
        .bind(millis(c.loaded_at))
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    let (event, head) = match &change.event {
        Some(e) => {
            let row = append_event(conn, head, e).await?;
            let head = (row.seq, row.hash.clone());
            (Some(row), head)
        }
        None => (None, head.clone()),
    };
    Ok((Committed { case, event }, head))
}

/// Inserts or updates the case of a changeset and returns it as stored.
async fn write_case(conn: &mut SqliteConnection, write: &CaseWrite) -> Result<CaseRow, StoreError> {
    let mut row = write.row.clone();
    row.due_at = row.due_at.map(to_millis);
    row.created_at = to_millis(row.created_at);
    row.updated_at = to_millis(row.updated_at);
    let doc = json_text(&row.doc)?;
    match write.expected_version {
        None => {
            let exists = sqlx::query("SELECT 1 FROM cases WHERE id = ?")
                .bind(&row.id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_error)?;
            if exists.is_some() {
                return Err(StoreError::Conflict { case_id: row.id });
            }
            let last: i64 = sqlx::query_scalar(
                "INSERT INTO number_sequences (prefix, last) VALUES (?, 1) \
                 ON CONFLICT (prefix) DO UPDATE SET last = number_sequences.last + 1 RETURNING last",
            )
            .bind(&write.number_prefix)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_error)?;
            row.number = format!("{}{last:06}", write.number_prefix);
            row.version = 1;
            sqlx::query(
                "INSERT INTO cases (id, number, bundle, catalog_version, state, owner, due_at, created_at, \
                 updated_at, version, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&row.id)
            .bind(&row.number)
            .bind(&row.bundle)
            .bind(&row.catalog_version)
            .bind(&row.state)
            .bind(&row.owner)
            .bind(millis_opt(row.due_at))
            .bind(millis(row.created_at))
            .bind(millis(row.updated_at))
            .bind(row.version)
            .bind(&doc)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
        }
        Some(expected) => {
            // The number and the creation time are the case's for life: an update never changes them.
            let stored = sqlx::query(
                "UPDATE cases SET bundle = ?, catalog_version = ?, state = ?, owner = ?, due_at = ?, \
                 updated_at = ?, version = ?, doc = ? WHERE id = ? AND version = ? RETURNING number, created_at",
            )
            .bind(&row.bundle)
            .bind(&row.catalog_version)
            .bind(&row.state)
            .bind(&row.owner)
            .bind(millis_opt(row.due_at))
            .bind(millis(row.updated_at))
            .bind(expected + 1)
            .bind(&doc)
            .bind(&row.id)
            .bind(expected)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?;
            let Some(stored) = stored else {
                return Err(StoreError::Conflict { case_id: row.id });
            };
            row.number = stored.try_get("number").map_err(db_error)?;
            let created_at: i64 = stored.try_get("created_at").map_err(db_error)?;
            row.created_at = timestamp(created_at)?;
            row.version = expected + 1;
        }
    }
    Ok(row)
}

/// Appends an event after `head`, linking it into the global chain and its case's chain, and moves the stored
/// head.
async fn append_event(conn: &mut SqliteConnection, head: &Head, e: &NewEvent) -> Result<EventRow, StoreError> {
    let case_prev_hash = match &e.case_id {
        Some(case_id) => {
            sqlx::query_scalar::<_, String>("SELECT hash FROM events WHERE case_id = ? ORDER BY seq DESC LIMIT 1")
                .bind(case_id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_error)?
                .unwrap_or_else(|| GENESIS.to_string())
        }
        None => GENESIS.to_string(),
    };
    let seq = head.0 + 1;
    let at = to_millis(e.at);
    let hash =
        event_hash(seq, &e.id, e.case_id.as_deref(), &e.kind, &e.actor, at, &e.payload, &head.1, &case_prev_hash);
    sqlx::query(
        "INSERT INTO events (seq, id, case_id, kind, actor, at, payload, prev_hash, case_prev_hash, hash) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(seq)
    .bind(&e.id)
    .bind(&e.case_id)
    .bind(&e.kind)
    .bind(&e.actor)
    .bind(millis(at))
    .bind(&e.payload)
    .bind(&head.1)
    .bind(&case_prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    sqlx::query("UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1")
        .bind(seq)
        .bind(&hash)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(EventRow {
        seq,
        id: e.id.clone(),
        case_id: e.case_id.clone(),
        kind: e.kind.clone(),
        actor: e.actor.clone(),
        at,
        payload: e.payload.clone(),
        prev_hash: head.1.clone(),
        case_prev_hash,
        hash,
    })
}
