//! The writer: one tokio task that owns the only write connection and applies changesets with group commit.
//!
//! A batch is whatever is queued when the writer gets to it (at most `max_batch` jobs). It runs in one
//! `BEGIN IMMEDIATE … COMMIT`; each job runs inside its own `SAVEPOINT`, so a job that fails a check (stale
//! version, duplicate key) is rolled back alone and the others go on. Replies to successful jobs are sent only
//! after `COMMIT` returned: nothing is acknowledged that is not durable.
//!
//! A job is a changeset or a claim of due watches (a claim writes leases, so it is a write like any other: it
//! runs in the batch, in queue order, and its claimed rows are only returned once the leases are durable). Jobs
//! run one after another on the one connection, inside a transaction that holds SQLite's write lock, so a claim
//! is atomic against every other writer, in this process or another.
//!
//! A restore (`onething import`) is a job too: it inserts a batch of rows verbatim — events and the chain head
//! included — so it takes the same lock and the same savepoint, and the head in memory is re-read from the
//! database after it.
//!
//! The head of the global event chain lives in writer memory. A job works on a tentative head that becomes the
//! batch's head only when the job's savepoint is released, and the batch's head becomes the writer's only when
//! the batch is committed, so a rolled-back job or batch never leaves a hole in `seq` or a wrong head.

use std::collections::HashMap;

use onething_store::{
    CaseRow, CaseWrite, Cell, Changeset, Committed, EventRow, GENESIS, NewEvent, RecordRow, StoreError, Table,
    WatchRow, WatchWrite, event_hash, to_millis,
};
use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, Row};
use tokio::sync::{mpsc, oneshot};

use crate::Pragmas;
use crate::rows::{self, db_error, json_text, millis, millis_opt, timestamp, watch_columns};

/// The reply to one commit.
pub(crate) type Reply = oneshot::Sender<Result<Committed, StoreError>>;

/// The reply to one claim.
pub(crate) type ClaimReply = oneshot::Sender<Result<Vec<WatchRow>, StoreError>>;

/// The reply to one restore.
pub(crate) type RestoreReply = oneshot::Sender<Result<(), StoreError>>;

/// Rows to insert verbatim into one table (see [`onething_store::Store::restore`]), checked against the
/// table's columns already.
pub(crate) struct Restore {
    pub(crate) table: Table,
    pub(crate) rows: Vec<Vec<Cell>>,
}

/// A claim of due watches (see [`onething_store::Store::claim_watches`]); instants in unix milliseconds.
pub(crate) struct Claim {
    pub(crate) owner: String,
    pub(crate) now: i64,
    pub(crate) lease_until: i64,
    /// At least 0 (0 claims nothing).
    pub(crate) limit: i64,
}

/// What the store asks of the writer.
pub(crate) enum Message {
    /// Apply a changeset and answer when it is durable (or failed). Boxed: the queue holds pointers, not
    /// changesets.
    Commit(Box<Changeset>, Reply),
    /// Claim due watches and answer with them when their leases are durable (or the claim failed).
    Claim(Claim, ClaimReply),
    /// Insert rows verbatim and answer when they are durable (or refused).
    Restore(Restore, RestoreReply),
    /// Report the settings of the write connection.
    Pragmas(oneshot::Sender<Result<Pragmas, StoreError>>),
}

/// The (seq, hash) of the newest event of the global chain.
type Head = (i64, String);

/// A job of a batch (a changeset stays boxed, as it came).
enum Job {
    Commit(Box<Changeset>, Reply),
    Claim(Claim, ClaimReply),
    Restore(Restore, RestoreReply),
}

/// Where the answer to a job goes.
enum Answer {
    Commit(Reply),
    Claim(ClaimReply),
    Restore(RestoreReply),
}

impl Answer {
    fn fail(self, e: StoreError) {
        // A caller that stopped waiting has no one to tell.
        match self {
            Answer::Commit(reply) => {
                let _ = reply.send(Err(e));
            }
            Answer::Claim(reply) => {
                let _ = reply.send(Err(e));
            }
            Answer::Restore(reply) => {
                let _ = reply.send(Err(e));
            }
        }
    }
}

impl Job {
    fn fail(self, e: StoreError) {
        match self {
            Job::Commit(_, reply) => Answer::Commit(reply).fail(e),
            Job::Claim(_, reply) => Answer::Claim(reply).fail(e),
            Job::Restore(_, reply) => Answer::Restore(reply).fail(e),
        }
    }
}

/// A job of the current batch that succeeded so far: its reply waits for the batch's COMMIT.
enum Pending {
    Commit(Reply, Box<Committed>),
    Claim(ClaimReply, Vec<WatchRow>),
    Restore(RestoreReply),
}

impl Pending {
    fn succeed(self) {
        match self {
            Pending::Commit(reply, committed) => {
                let _ = reply.send(Ok(*committed));
            }
            Pending::Claim(reply, claimed) => {
                // A claimant that stopped waiting leaves its watches leased until the lease runs out.
                let _ = reply.send(Ok(claimed));
            }
            Pending::Restore(reply) => {
                let _ = reply.send(Ok(()));
            }
        }
    }

    fn fail(self, e: StoreError) {
        match self {
            Pending::Commit(reply, _) => Answer::Commit(reply).fail(e),
            Pending::Claim(reply, _) => Answer::Claim(reply).fail(e),
            Pending::Restore(reply) => Answer::Restore(reply).fail(e),
        }
    }
}

pub(crate) struct Writer {
    conn: SqliteConnection,
    rx: mpsc::Receiver<Message>,
    head: Head,
    max_batch: usize,
    /// The greatest key of each table this writer restored rows into, as it stood after the last committed
    /// restore: a further batch of the same table is accepted only while the table still ends there.
    restored: HashMap<Table, String>,
}

impl Writer {
    pub(crate) async fn new(
        mut conn: SqliteConnection,
        rx: mpsc::Receiver<Message>,
        max_batch: usize,
    ) -> Result<Writer, StoreError> {
        let head = read_head(&mut conn).await?;
        Ok(Writer { conn, rx, head, max_batch: max_batch.max(1), restored: HashMap::new() })
    }

    /// Runs until every sender is gone (the store was closed or dropped) and the queue is drained.
    pub(crate) async fn run(mut self) {
        while let Some(first) = self.rx.recv().await {
            let mut jobs = Vec::new();
            let mut others = Vec::new();
            let mut next = Some(first);
            while let Some(message) = next.take() {
                match message {
                    Message::Commit(change, reply) => jobs.push(Job::Commit(change, reply)),
                    Message::Claim(claim, reply) => jobs.push(Job::Claim(claim, reply)),
                    Message::Restore(restore, reply) => jobs.push(Job::Restore(restore, reply)),
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
    async fn batch(&mut self, jobs: Vec<Job>) {
        let size = jobs.len();
        if let Err(e) = exec(&mut self.conn, "BEGIN IMMEDIATE").await {
            tracing::error!(error = %e, "cannot begin a write transaction");
            for job in jobs {
                job.fail(StoreError::Backend(format!("cannot begin a write transaction: {e}")));
            }
            return;
        }
        let mut head = self.head.clone();
        let mut restored = self.restored.clone();
        let mut pending: Vec<Pending> = Vec::with_capacity(size);
        // A job that failed its check is answered after the batch ends too: its failure may rest on a row that
        // an earlier job of this batch wrote (a duplicate idempotency key, a newer version), and the caller
        // must be able to read that row when it hears why.
        let mut failed: Vec<(StoreError, Answer)> = Vec::new();
        let mut jobs = jobs.into_iter();
        while let Some(job) = jobs.next() {
            let outcome = match job {
                Job::Commit(change, reply) => match self.commit_job(&head, &change).await {
                    Ok((committed, new_head)) => {
                        head = new_head;
                        Ok(Pending::Commit(reply, Box::new(committed)))
                    }
                    Err(e) => Err((e, Answer::Commit(reply))),
                },
                Job::Claim(claim, reply) => match self.claim_job(&claim).await {
                    Ok(claimed) => Ok(Pending::Claim(reply, claimed)),
                    Err(e) => Err((e, Answer::Claim(reply))),
                },
                Job::Restore(restore, reply) => {
                    let previous = restored.get(&restore.table).map(String::as_str);
                    match self.restore_job(&restore, previous).await {
                        Ok((last, new_head)) => {
                            match last {
                                Some(last) => restored.insert(restore.table, last),
                                None => restored.remove(&restore.table),
                            };
                            head = new_head;
                            Ok(Pending::Restore(reply))
                        }
                        Err(e) => Err((e, Answer::Restore(reply))),
                    }
                }
            };
            match outcome {
                Ok(done) => pending.push(done),
                Err((JobError::Failed(e), answer)) => {
                    // This job alone failed and was rolled back to its savepoint: the batch goes on.
                    failed.push((e, answer));
                }
                Err((JobError::Poisoned(e), answer)) => {
                    // The transaction is in an unknown state (SQLite may have rolled it back itself): give up
                    // the whole batch, including the jobs that looked fine so far.
                    tracing::error!(error = %e, "a write batch failed; rolling it back");
                    self.abort().await;
                    let message = format!("the write batch failed: {e}");
                    answer.fail(StoreError::Backend(message.clone()));
                    for p in pending {
                        p.fail(StoreError::Backend(message.clone()));
                    }
                    for job in jobs {
                        job.fail(StoreError::Backend(message.clone()));
                    }
                    for (e, answer) in failed {
                        answer.fail(e);
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
                p.fail(StoreError::Backend(message.clone()));
            }
            for (e, answer) in failed {
                answer.fail(e);
            }
            return;
        }
        // Durable now: only from here on is anything acknowledged.
        self.head = head;
        self.restored = restored;
        tracing::debug!(jobs = size, succeeded = pending.len(), "write batch committed");
        for p in pending {
            p.succeed();
        }
        for (e, answer) in failed {
            answer.fail(e);
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

    /// Applies one changeset inside its own savepoint.
    async fn commit_job(&mut self, head: &Head, change: &Changeset) -> Result<(Committed, Head), JobError> {
        self.open_job().await?;
        let done = apply(&mut self.conn, head, change).await;
        self.close_job(done).await
    }

    /// Claims due watches inside a savepoint of its own.
    async fn claim_job(&mut self, claim: &Claim) -> Result<Vec<WatchRow>, JobError> {
        self.open_job().await?;
        let claimed = claim_watches(&mut self.conn, claim).await;
        self.close_job(claimed).await
    }

    /// Restores rows inside a savepoint of its own; returns the table's greatest key afterwards and the chain
    /// head as it now stands (a restore of `chain_head` moves it).
    async fn restore_job(
        &mut self,
        restore: &Restore,
        previous: Option<&str>,
    ) -> Result<(Option<String>, Head), JobError> {
        self.open_job().await?;
        let done = match crate::transfer::restore(&mut self.conn, restore.table, previous, &restore.rows).await {
            Ok(last) => read_head(&mut self.conn).await.map(|head| (last, head)),
            Err(e) => Err(e),
        };
        self.close_job(done).await
    }

    /// Sets the savepoint of a job.
    async fn open_job(&mut self) -> Result<(), JobError> {
        exec(&mut self.conn, "SAVEPOINT job").await.map_err(|e| JobError::Poisoned(db_error(e)))
    }

    /// Releases the savepoint of a job that succeeded; rolls back to it (then releases it) when the job failed.
    async fn close_job<T>(&mut self, outcome: Result<T, StoreError>) -> Result<T, JobError> {
        match outcome {
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
    for w in &change.watches {
        write_watch(conn, w).await?;
    }
    for r in &change.records {
        write_record(conn, r).await?;
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

/// Writes a watch: inserted or replaced without an expected version, else updated only over that version. Every
/// write bumps the version and clears the lease.
async fn write_watch(conn: &mut SqliteConnection, write: &WatchWrite) -> Result<(), StoreError> {
    let w = &write.row;
    let written = match write.expected_version {
        None => sqlx::query(
            "INSERT INTO watches (subject, case_id, department, colour, next_check_at, due_at, version, \
             lease_owner, lease_until) VALUES (?, ?, ?, ?, ?, ?, 1, NULL, NULL) \
             ON CONFLICT (subject) DO UPDATE SET case_id = excluded.case_id, department = excluded.department, \
             colour = excluded.colour, next_check_at = excluded.next_check_at, due_at = excluded.due_at, \
             version = watches.version + 1, lease_owner = NULL, lease_until = NULL",
        )
        .bind(&w.subject)
        .bind(&w.case_id)
        .bind(&w.department)
        .bind(&w.colour)
        .bind(millis_opt(w.next_check_at))
        .bind(millis_opt(w.due_at))
        .execute(&mut *conn)
        .await
        .map_err(db_error)?,
        Some(expected) => sqlx::query(
            "UPDATE watches SET case_id = ?, department = ?, colour = ?, next_check_at = ?, due_at = ?, \
             version = ?, lease_owner = NULL, lease_until = NULL WHERE subject = ? AND version = ?",
        )
        .bind(&w.case_id)
        .bind(&w.department)
        .bind(&w.colour)
        .bind(millis_opt(w.next_check_at))
        .bind(millis_opt(w.due_at))
        .bind(expected + 1)
        .bind(&w.subject)
        .bind(expected)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?,
    };
    if written.rows_affected() == 0 {
        return Err(StoreError::Conflict { case_id: w.subject.clone() });
    }
    Ok(())
}

/// Upserts a supervision record by (kind, id); an existing record keeps its creation time.
async fn write_record(conn: &mut SqliteConnection, r: &RecordRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO records (kind, id, case_id, owner, department, state, created_at, updated_at, doc) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (kind, id) DO UPDATE SET case_id = excluded.case_id, owner = excluded.owner, \
         department = excluded.department, state = excluded.state, updated_at = excluded.updated_at, \
         doc = excluded.doc",
    )
    .bind(&r.kind)
    .bind(&r.id)
    .bind(&r.case_id)
    .bind(&r.owner)
    .bind(&r.department)
    .bind(&r.state)
    .bind(millis(r.created_at))
    .bind(millis(r.updated_at))
    .bind(json_text(&r.doc)?)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Leases up to `limit` due watches whose lease is free or ran out, earliest next check first, and returns them
/// in that order. Runs inside the writer's transaction, which holds the database's write lock: atomic.
async fn claim_watches(conn: &mut SqliteConnection, claim: &Claim) -> Result<Vec<WatchRow>, StoreError> {
    let found = sqlx::query(concat!(
        "UPDATE watches SET lease_owner = ?, lease_until = ? WHERE subject IN (SELECT subject FROM watches \
         WHERE next_check_at <= ? AND (lease_until IS NULL OR lease_until < ?) \
         ORDER BY next_check_at, subject LIMIT ?) RETURNING ",
        watch_columns!()
    ))
    .bind(&claim.owner)
    .bind(claim.lease_until)
    .bind(claim.now)
    .bind(claim.now)
    .bind(claim.limit)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mut claimed = found.iter().map(rows::watch).collect::<Result<Vec<_>, _>>()?;
    // RETURNING comes in no promised order.
    claimed.sort_by(|a, b| (a.next_check_at, &a.subject).cmp(&(b.next_check_at, &b.subject)));
    Ok(claimed)
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
