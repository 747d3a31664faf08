//! The write path: a group writer per node. Changesets queue to a few writer tasks; each takes whatever is
//! queued (up to the batch size) and applies it in ONE transaction — one savepoint per changeset, so a failed
//! check fails that changeset alone — then chains the batch's events and commits once.
//!
//! Nothing is kept in process memory as truth. Every check is made by the database inside the transaction:
//!
//! - a case update is `UPDATE … WHERE id = $ AND version = $`: under READ COMMITTED a concurrent writer of the
//!   same row makes this one wait, then re-check the condition against the committed row, so exactly one of
//!   two updates of the same version wins and the other finds no row ([`StoreError::Conflict`]); users, records
//!   and the worker's watches are written the same way;
//! - an idempotency key (and a case id on insert) is `INSERT … ON CONFLICT DO NOTHING`, which waits for a
//!   concurrent insert of the same key and then reports it.
//!
//! Two things are ordered across the whole cluster, and both are done last, in the batch's closing phase, so
//! that their locks are held as briefly as possible and by one transaction per batch rather than per changeset:
//!
//! - the global event chain, serialised by the row lock on `chain_head` (`SELECT … FOR UPDATE`): the closing
//!   phase takes it, reads each stream's latest hash (READ COMMITTED takes a new snapshot per statement, so it
//!   sees the events of whoever held the lock before), inserts every event of the batch in one statement with
//!   `seq = head.seq + 1, + 2, …` and moves the head once; the lock is held until COMMIT, so `seq` has no gaps
//!   and a rolled-back batch takes its events and its head with it;
//! - case numbers: a new case is inserted under a provisional number (its id) and numbered in the closing phase
//!   — one `number_sequences` update per prefix per batch, after the head lock, so filings never queue on the
//!   day's number row longer than the chain already makes them — and a rolled-back batch consumes no number.
//!
//! Locks are always taken in the same order — the rows of the changesets, then `chain_head`, then
//! `number_sequences` — so batches of different nodes do not deadlock over the closing phase. A batch that
//! PostgreSQL aborts anyway (a deadlock over the changesets' own rows, a serialization failure) is run again as a
//! whole, a few times.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use onething_store::{
    BlobRow, CaseRow, CaseWrite, Changeset, Committed, EventRow, GENESIS, NewEvent, Probe, RecordWrite, Revocation,
    StoreError, UserWrite, WatchWrite, event_hash, to_millis,
};
use sqlx::postgres::{PgConnection, PgPool};
use sqlx::{Connection, Postgres, QueryBuilder, Row};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::rows::{db_error, is_retryable, json_text, millis, millis_opt, timestamp};

/// How many times a batch is run when PostgreSQL aborts it to break a deadlock or a serialization conflict.
const MAX_ATTEMPTS: u32 = 5;

/// What one job of a batch is.
pub(crate) enum Work {
    Commit(Box<Changeset>),
    Probe(Probe),
}

/// A job and where its answer goes.
pub(crate) struct Job {
    pub(crate) work: Work,
    pub(crate) reply: oneshot::Sender<Result<Committed, StoreError>>,
}

/// Why a batch attempt failed as a whole.
enum BatchError {
    /// PostgreSQL gave up the transaction to let others on (deadlock, serialization): run it again.
    Retry(sqlx::Error),
    /// Anything else: every job of the batch fails.
    Fatal(StoreError),
}

impl From<sqlx::Error> for BatchError {
    fn from(e: sqlx::Error) -> BatchError {
        if is_retryable(&e) { BatchError::Retry(e) } else { BatchError::Fatal(db_error(e)) }
    }
}

impl From<StoreError> for BatchError {
    fn from(e: StoreError) -> BatchError {
        BatchError::Fatal(e)
    }
}

/// Why one job failed inside its savepoint.
enum JobError {
    /// A check of the changeset failed (version, duplicate key): this job alone.
    Check(StoreError),
    /// The database failed: the batch.
    Db(sqlx::Error),
}

impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> JobError {
        JobError::Db(e)
    }
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> JobError {
        JobError::Check(e)
    }
}

/// A job that passed its savepoint, waiting for the closing phase.
struct Applied {
    /// The case as written, with its provisional number when it was filed.
    case: Option<CaseRow>,
    /// The prefix to number a filed case with.
    numbering: Option<String>,
    event: Option<NewEvent>,
}

/// Runs one writer until the queue is closed and drained.
pub(crate) async fn writer(pool: PgPool, queue: Arc<Mutex<mpsc::Receiver<Job>>>, max_batch: usize) {
    loop {
        let jobs = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else { break };
            let mut jobs = vec![first];
            while jobs.len() < max_batch {
                match queue.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            jobs
        };
        run_batch(&pool, jobs).await;
    }
}

/// Applies a batch (again after a deadlock, a few times) and answers every job.
async fn run_batch(pool: &PgPool, jobs: Vec<Job>) {
    let mut attempt = 1;
    let outcome = loop {
        match attempt_batch(pool, &jobs).await {
            Ok(outcomes) => break Ok(outcomes),
            Err(BatchError::Retry(e)) if attempt < MAX_ATTEMPTS => {
                tracing::debug!(attempt, error = %e, "a write batch was aborted by the database; running it again");
                // A short, growing pause lets the transaction that won go first.
                tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(BatchError::Retry(e)) => {
                tracing::warn!(attempts = attempt, error = %e, "a write batch was aborted by the database every time");
                break Err(db_error(e));
            }
            Err(BatchError::Fatal(e)) => break Err(e),
        }
    };
    match outcome {
        Ok(outcomes) => {
            for (job, outcome) in jobs.into_iter().zip(outcomes) {
                // A caller that stopped waiting has no one to tell.
                let _ = job.reply.send(outcome);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, jobs = jobs.len(), "a write batch failed");
            for job in jobs {
                let _ = job.reply.send(Err(e.clone()));
            }
        }
    }
}

/// One attempt at a batch: every job in its savepoint, then the closing phase, then COMMIT. Returns each job's
/// outcome, in order; nothing is answered before the COMMIT returned.
async fn attempt_batch(pool: &PgPool, jobs: &[Job]) -> Result<Vec<Result<Committed, StoreError>>, BatchError> {
    let mut conn = pool.acquire().await.map_err(db_error)?;
    let mut tx = conn.begin().await?;
    let mut applied: Vec<Result<Applied, StoreError>> = Vec::with_capacity(jobs.len());
    for job in jobs {
        sqlx::query("SAVEPOINT job").execute(&mut *tx).await?;
        match apply(&mut tx, &job.work).await {
            Ok(done) => {
                sqlx::query("RELEASE SAVEPOINT job").execute(&mut *tx).await?;
                applied.push(Ok(done));
            }
            Err(JobError::Check(e)) => {
                sqlx::query("ROLLBACK TO SAVEPOINT job").execute(&mut *tx).await?;
                sqlx::query("RELEASE SAVEPOINT job").execute(&mut *tx).await?;
                applied.push(Err(e));
            }
            Err(JobError::Db(e)) if is_retryable(&e) => return Err(BatchError::Retry(e)),
            Err(JobError::Db(e)) => {
                // A statement the database refused (a foreign key, a bad value): this job alone.
                sqlx::query("ROLLBACK TO SAVEPOINT job").execute(&mut *tx).await?;
                sqlx::query("RELEASE SAVEPOINT job").execute(&mut *tx).await?;
                applied.push(Err(db_error(e)));
            }
        }
    }
    let outcomes = close_batch(&mut tx, applied).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// The closing phase: numbers for the filed cases and the chain for the events, under the head lock.
async fn close_batch(
    conn: &mut PgConnection,
    applied: Vec<Result<Applied, StoreError>>,
) -> Result<Vec<Result<Committed, StoreError>>, BatchError> {
    let needs_lock = applied.iter().any(|a| a.as_ref().is_ok_and(|a| a.event.is_some() || a.numbering.is_some()));
    if !needs_lock {
        return Ok(applied.into_iter().map(|a| a.map(|a| Committed { case: a.case, event: None })).collect());
    }
    let head =
        sqlx::query("SELECT seq, hash FROM chain_head WHERE id = 1 FOR UPDATE").fetch_optional(&mut *conn).await?;
    let Some(head) = head else {
        return Err(StoreError::Backend("the chain_head row is missing".to_string()).into());
    };
    let mut seq: i64 = head.try_get("seq")?;
    let mut prev: String = head.try_get("hash")?;

    // Case numbers, one sequence update per prefix, in job order.
    let mut per_prefix: BTreeMap<&str, i64> = BTreeMap::new();
    for a in applied.iter().flatten() {
        if let Some(prefix) = &a.numbering {
            *per_prefix.entry(prefix.as_str()).or_default() += 1;
        }
    }
    let mut next_number: HashMap<String, i64> = HashMap::new();
    for (prefix, count) in &per_prefix {
        let last: i64 = sqlx::query_scalar(
            "INSERT INTO number_sequences (prefix, last) VALUES ($1, $2) \
             ON CONFLICT (prefix) DO UPDATE SET last = number_sequences.last + $2 RETURNING last",
        )
        .bind(prefix)
        .bind(count)
        .fetch_one(&mut *conn)
        .await?;
        next_number.insert((*prefix).to_string(), last - count + 1);
    }
    let mut numbered: Vec<(String, String)> = Vec::new();

    // The latest hash of every stream the batch appends to, read under the lock.
    let streams: Vec<String> =
        applied.iter().flatten().filter_map(|a| a.event.as_ref().and_then(|e| e.case_id.clone())).collect();
    let mut stream_heads: HashMap<String, String> = HashMap::new();
    if !streams.is_empty() {
        let found = sqlx::query(
            "SELECT DISTINCT ON (case_id) case_id, hash FROM events WHERE case_id = ANY($1) ORDER BY case_id, seq DESC",
        )
        .bind(&streams)
        .fetch_all(&mut *conn)
        .await?;
        for row in found {
            stream_heads.insert(row.try_get("case_id")?, row.try_get("hash")?);
        }
    }

    let mut outcomes = Vec::with_capacity(applied.len());
    let mut events: Vec<EventRow> = Vec::new();
    for a in applied {
        let a = match a {
            Ok(a) => a,
            Err(e) => {
                outcomes.push(Err(e));
                continue;
            }
        };
        let mut case = a.case;
        if let (Some(prefix), Some(row)) = (&a.numbering, case.as_mut()) {
            let n = next_number.get(prefix).copied().unwrap_or(1);
            next_number.insert(prefix.clone(), n + 1);
            row.number = format!("{prefix}{n:06}");
            numbered.push((row.id.clone(), row.number.clone()));
        }
        let event = a.event.map(|mut e| {
            seq += 1;
            if e.id.is_empty() {
                e.id = format!("probe-{seq}");
            }
            let case_prev_hash =
                e.case_id.as_ref().and_then(|c| stream_heads.get(c).cloned()).unwrap_or_else(|| GENESIS.to_string());
            let at = to_millis(e.at);
            let hash =
                event_hash(seq, &e.id, e.case_id.as_deref(), &e.kind, &e.actor, at, &e.payload, &prev, &case_prev_hash);
            if let Some(c) = &e.case_id {
                stream_heads.insert(c.clone(), hash.clone());
            }
            let row = EventRow {
                seq,
                id: e.id,
                case_id: e.case_id,
                kind: e.kind,
                actor: e.actor,
                at,
                payload: e.payload,
                prev_hash: std::mem::replace(&mut prev, hash.clone()),
                case_prev_hash,
                hash,
            };
            events.push(row.clone());
            row
        });
        outcomes.push(Ok(Committed { case, event }));
    }
    if !numbered.is_empty() {
        let mut q = QueryBuilder::<Postgres>::new("UPDATE cases SET number = v.number FROM (");
        q.push_values(&numbered, |mut b, (id, number)| {
            b.push_bind(id).push_bind(number);
        });
        q.push(") AS v (id, number) WHERE cases.id = v.id");
        q.build().execute(&mut *conn).await?;
    }
    for chunk in events.chunks(500) {
        let mut q = QueryBuilder::<Postgres>::new(
            "INSERT INTO events (seq, id, case_id, kind, actor, at, payload, prev_hash, case_prev_hash, hash) ",
        );
        q.push_values(chunk, |mut b, e| {
            b.push_bind(e.seq)
                .push_bind(&e.id)
                .push_bind(&e.case_id)
                .push_bind(&e.kind)
                .push_bind(&e.actor)
                .push_bind(millis(e.at))
                .push_bind(&e.payload)
                .push_bind(&e.prev_hash)
                .push_bind(&e.case_prev_hash)
                .push_bind(&e.hash);
        });
        q.build().execute(&mut *conn).await?;
    }
    if !events.is_empty() {
        sqlx::query("UPDATE chain_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&prev)
            .execute(&mut *conn)
            .await?;
    }
    Ok(outcomes)
}

/// Applies one job's rows on the open transaction (inside its savepoint); its event waits for the closing phase.
async fn apply(conn: &mut PgConnection, work: &Work) -> Result<Applied, JobError> {
    match work {
        Work::Commit(change) => apply_changeset(conn, change).await,
        Work::Probe(Probe::Record { client }) => {
            sqlx::query(
                "INSERT INTO records (kind, id, case_id, owner, department, state, created_at, updated_at, version, \
                 doc) VALUES ('probe', $1, NULL, NULL, NULL, 'probe', 0, 0, 1, '{}') \
                 ON CONFLICT (kind, id) DO UPDATE SET version = records.version + 1",
            )
            .bind(client.to_string())
            .execute(&mut *conn)
            .await?;
            Ok(Applied { case: None, numbering: None, event: None })
        }
        Work::Probe(Probe::Event) => Ok(Applied {
            case: None,
            numbering: None,
            event: Some(NewEvent {
                // Named in the closing phase, after its place in the chain.
                id: String::new(),
                case_id: None,
                kind: "probe".to_string(),
                actor: "system".to_string(),
                at: jiff::Timestamp::UNIX_EPOCH,
                payload: "{}".to_string(),
            }),
        }),
    }
}

async fn apply_changeset(conn: &mut PgConnection, change: &Changeset) -> Result<Applied, JobError> {
    let (case, numbering) = match &change.case {
        Some(write) => {
            let row = write_case(conn, write).await?;
            (Some(row), write.expected_version.is_none().then(|| write.number_prefix.clone()))
        }
        None => (None, None),
    };
    for t in &change.tasks {
        sqlx::query(
            "INSERT INTO tasks (id, case_id, item, department, state, due_at, updated_at, doc) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
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
        .bind(&t.doc)
        .execute(&mut *conn)
        .await?;
    }
    for b in &change.blobs {
        write_blob(conn, b).await?;
    }
    for m in &change.materials {
        sqlx::query(
            "INSERT INTO materials (case_id, material, sha256, size, media_type, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
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
        .await?;
    }
    for sha in &change.blob_deletions {
        sqlx::query("DELETE FROM blobs WHERE sha256 = $1 AND NOT EXISTS (SELECT 1 FROM materials WHERE sha256 = $1)")
            .bind(sha)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(i) = &change.idempotency {
        let done = sqlx::query(
            "INSERT INTO idempotency (scope, key, body_sha256, case_id, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (scope, key) DO NOTHING",
        )
        .bind(&i.scope)
        .bind(&i.key)
        .bind(&i.body_sha256)
        .bind(&i.case_id)
        .bind(millis(i.created_at))
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            return Err(JobError::Check(StoreError::Duplicate { what: "idempotency key".to_string() }));
        }
    }
    for u in &change.users {
        write_user(conn, u).await?;
    }
    for t in &change.tokens {
        sqlx::query(
            "INSERT INTO tokens (token_hash, user_id, kind, created_at, expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&t.token_hash)
        .bind(&t.user_id)
        .bind(&t.kind)
        .bind(millis(t.created_at))
        .bind(millis(t.expires_at))
        .bind(millis_opt(t.revoked_at))
        .execute(&mut *conn)
        .await?;
    }
    for r in &change.revocations {
        match r {
            Revocation::Token { token_hash, at } => {
                sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
                    .bind(millis(*at))
                    .bind(token_hash)
                    .execute(&mut *conn)
                    .await?
            }
            Revocation::User { user_id, at } => {
                sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                    .bind(millis(*at))
                    .bind(user_id)
                    .execute(&mut *conn)
                    .await?
            }
        };
    }
    if let Some(c) = &change.catalog_version {
        sqlx::query(
            "INSERT INTO catalog_versions (version, files, loaded_at) VALUES ($1, $2, $3) \
             ON CONFLICT (version) DO NOTHING",
        )
        .bind(&c.version)
        .bind(json_text(&c.files)?)
        .bind(millis(c.loaded_at))
        .execute(&mut *conn)
        .await?;
    }
    for w in &change.watches {
        write_watch(conn, w).await?;
    }
    for r in &change.records {
        write_record(conn, r).await?;
    }
    Ok(Applied { case, numbering, event: change.event.clone() })
}

/// Stores a file's contents unless they are stored already.
async fn write_blob(conn: &mut PgConnection, b: &BlobRow) -> Result<(), JobError> {
    sqlx::query(
        "INSERT INTO blobs (sha256, size, bytes, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(&b.sha256)
    .bind(b.size)
    .bind(&b.bytes)
    .bind(millis(b.created_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Inserts (under a provisional number, its id) or updates the case of a changeset; returns it as stored.
async fn write_case(conn: &mut PgConnection, write: &CaseWrite) -> Result<CaseRow, JobError> {
    let mut row = write.row.clone();
    row.due_at = row.due_at.map(to_millis);
    row.created_at = to_millis(row.created_at);
    row.updated_at = to_millis(row.updated_at);
    match write.expected_version {
        None => {
            row.number = row.id.clone();
            row.version = 1;
            let inserted = sqlx::query(
                "INSERT INTO cases (id, number, bundle, catalog_version, state, owner, applicant_name, \
                 applicant_code, due_at, created_at, updated_at, version, doc) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING",
            )
            .bind(&row.id)
            .bind(&row.number)
            .bind(&row.bundle)
            .bind(&row.catalog_version)
            .bind(&row.state)
            .bind(&row.owner)
            .bind(&row.applicant_name)
            .bind(&row.applicant_code)
            .bind(millis_opt(row.due_at))
            .bind(millis(row.created_at))
            .bind(millis(row.updated_at))
            .bind(row.version)
            .bind(&row.doc)
            .execute(&mut *conn)
            .await?;
            if inserted.rows_affected() == 0 {
                return Err(JobError::Check(StoreError::conflict(format!("case {}", row.id))));
            }
        }
        Some(expected) => {
            // The number and the creation time are the case's for life: an update never changes them.
            let stored = sqlx::query(
                "UPDATE cases SET bundle = $1, catalog_version = $2, state = $3, owner = $4, applicant_name = $5, \
                 applicant_code = $6, due_at = $7, updated_at = $8, version = $9, doc = $10 \
                 WHERE id = $11 AND version = $12 RETURNING number, created_at",
            )
            .bind(&row.bundle)
            .bind(&row.catalog_version)
            .bind(&row.state)
            .bind(&row.owner)
            .bind(&row.applicant_name)
            .bind(&row.applicant_code)
            .bind(millis_opt(row.due_at))
            .bind(millis(row.updated_at))
            .bind(expected + 1)
            .bind(&row.doc)
            .bind(&row.id)
            .bind(expected)
            .fetch_optional(&mut *conn)
            .await?;
            let Some(stored) = stored else {
                return Err(JobError::Check(StoreError::conflict(format!("case {}", row.id))));
            };
            row.number = stored.try_get("number")?;
            let created_at: i64 = stored.try_get("created_at")?;
            row.created_at = timestamp(created_at)?;
            row.version = expected + 1;
        }
    }
    Ok(row)
}

/// Inserts a user, or updates one over the version it was read at.
async fn write_user(conn: &mut PgConnection, write: &UserWrite) -> Result<(), JobError> {
    let u = &write.row;
    let roles = json_text(&u.roles)?;
    match write.expected_version {
        None => {
            sqlx::query(
                "INSERT INTO users (id, username, display_name, password_hash, roles, department, disabled, \
                 must_change_password, id_number, external_id, profile, created_at, updated_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1)",
            )
            .bind(&u.id)
            .bind(&u.username)
            .bind(&u.display_name)
            .bind(&u.password_hash)
            .bind(&roles)
            .bind(&u.department)
            .bind(i64::from(u.disabled))
            .bind(i64::from(u.must_change_password))
            .bind(&u.id_number)
            .bind(&u.external_id)
            .bind(&u.profile)
            .bind(millis(u.created_at))
            .bind(millis(u.updated_at))
            .execute(&mut *conn)
            .await?;
        }
        Some(expected) => {
            let done = sqlx::query(
                "UPDATE users SET username = $1, display_name = $2, password_hash = $3, roles = $4, \
                 department = $5, disabled = $6, must_change_password = $7, id_number = $8, external_id = $9, \
                 profile = $10, updated_at = $11, version = $12 WHERE id = $13 AND version = $14",
            )
            .bind(&u.username)
            .bind(&u.display_name)
            .bind(&u.password_hash)
            .bind(&roles)
            .bind(&u.department)
            .bind(i64::from(u.disabled))
            .bind(i64::from(u.must_change_password))
            .bind(&u.id_number)
            .bind(&u.external_id)
            .bind(&u.profile)
            .bind(millis(u.updated_at))
            .bind(expected + 1)
            .bind(&u.id)
            .bind(expected)
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() == 0 {
                return Err(JobError::Check(StoreError::conflict(format!("user {}", u.username))));
            }
        }
    }
    Ok(())
}

/// Writes a watch: inserted or replaced without an expected version, else updated only over that version. Every
/// write bumps the version and clears the lease.
async fn write_watch(conn: &mut PgConnection, write: &WatchWrite) -> Result<(), JobError> {
    let w = &write.row;
    let written = match write.expected_version {
        None => {
            sqlx::query(
                "INSERT INTO watches (subject, case_id, department, colour, next_check_at, due_at, version, \
                 lease_owner, lease_until) VALUES ($1, $2, $3, $4, $5, $6, 1, NULL, NULL) \
                 ON CONFLICT (subject) DO UPDATE SET case_id = excluded.case_id, \
                 department = excluded.department, colour = excluded.colour, \
                 next_check_at = excluded.next_check_at, due_at = excluded.due_at, \
                 version = watches.version + 1, lease_owner = NULL, lease_until = NULL",
            )
            .bind(&w.subject)
            .bind(&w.case_id)
            .bind(&w.department)
            .bind(&w.colour)
            .bind(millis_opt(w.next_check_at))
            .bind(millis_opt(w.due_at))
            .execute(&mut *conn)
            .await?
        }
        Some(expected) => {
            sqlx::query(
                "UPDATE watches SET case_id = $1, department = $2, colour = $3, next_check_at = $4, due_at = $5, \
                 version = $6, lease_owner = NULL, lease_until = NULL WHERE subject = $7 AND version = $8",
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
            .await?
        }
    };
    if written.rows_affected() == 0 {
        return Err(JobError::Check(StoreError::conflict(format!("watch {}", w.subject))));
    }
    Ok(())
}

/// Inserts a record, or updates one over the version it was read at (keeping its creation time).
async fn write_record(conn: &mut PgConnection, write: &RecordWrite) -> Result<(), JobError> {
    let r = &write.row;
    match write.expected_version {
        None => {
            let inserted = sqlx::query(
                "INSERT INTO records (kind, id, case_id, owner, department, state, created_at, updated_at, \
                 version, doc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9) ON CONFLICT (kind, id) DO NOTHING",
            )
            .bind(&r.kind)
            .bind(&r.id)
            .bind(&r.case_id)
            .bind(&r.owner)
            .bind(&r.department)
            .bind(&r.state)
            .bind(millis(r.created_at))
            .bind(millis(r.updated_at))
            .bind(&r.doc)
            .execute(&mut *conn)
            .await?;
            if inserted.rows_affected() == 0 {
                return Err(JobError::Check(StoreError::Duplicate { what: format!("{} {}", r.kind, r.id) }));
            }
        }
        Some(expected) => {
            let done = sqlx::query(
                "UPDATE records SET case_id = $1, owner = $2, department = $3, state = $4, updated_at = $5, \
                 version = $6, doc = $7 WHERE kind = $8 AND id = $9 AND version = $10",
            )
            .bind(&r.case_id)
            .bind(&r.owner)
            .bind(&r.department)
            .bind(&r.state)
            .bind(millis(r.updated_at))
            .bind(expected + 1)
            .bind(&r.doc)
            .bind(&r.kind)
            .bind(&r.id)
            .bind(expected)
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() == 0 {
                return Err(JobError::Check(StoreError::conflict(format!("{} {}", r.kind, r.id))));
            }
        }
    }
    Ok(())
}
