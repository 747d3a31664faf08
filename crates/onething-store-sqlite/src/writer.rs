//! The writer: one thread that owns the only write connection and applies jobs with group commit.
//!
//! A batch is whatever is queued when the writer gets to it (at most `max_batch` jobs). It runs in one
//! `BEGIN IMMEDIATE … COMMIT`; each job runs inside its own `SAVEPOINT`, so a job that fails a check (stale
//! version, duplicate key) is rolled back alone and the others go on. Replies to successful jobs are sent only
//! after `COMMIT` returned: nothing is acknowledged that is not durable. A job that failed its check is answered
//! after the batch ends too: its failure may rest on a row an earlier job of the batch wrote (a duplicate
//! idempotency key, a newer version), and the caller must be able to read that row when it hears why.
//!
//! A job is a changeset, a probe, a claim of due watches (a claim writes leases, so it is a write like any
//! other: atomic because the batch's transaction holds SQLite's write lock, and its watches are returned only
//! once their leases are durable), a restore (`onething import`), a wipe, or a question about the connection's
//! settings. Each is one value of [`Task`]: its input, the function that applies it, and its reply.
//!
//! The head of the global event chain lives in writer memory ([`State`]). A job works on a tentative state that
//! becomes the batch's only when the job's savepoint is released, and the batch's becomes the writer's only when
//! the batch is committed, so a rolled-back job or batch never leaves a hole in `seq` or a wrong head. The stored
//! `chain_head` row is written once per batch, just before COMMIT.
//!
//! Everything here is synchronous rusqlite on the writer's own thread: a batch costs one hand-off in (the queue)
//! and one out per job (its reply), never a round trip per statement.

use std::collections::HashMap;

use onething_store::{
    BlobRow, CaseRow, CaseWrite, Changeset, Committed, EventRow, GENESIS, NewEvent, Probe, RecordWrite, Revocation,
    StoreError, Table, UserWrite, WatchRow, WatchWrite, event_hash, to_millis,
};
use rusqlite::{Connection, params};

use crate::rows::{self, db_error, exec, json_text, millis, millis_opt, watch_columns};

/// The reply to a job.
pub(crate) type Reply<T> = tokio::sync::oneshot::Sender<Result<T, StoreError>>;

/// The (seq, hash) of the newest event of the global chain.
pub(crate) type Head = (i64, String);

/// What the writer keeps between jobs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    pub(crate) head: Head,
    /// The greatest key of each table this writer restored rows into, as it stood after the last committed
    /// restore: a further batch of the same table is accepted only while the table still ends there.
    pub(crate) restored: HashMap<Table, String>,
}

/// A job's view of the open transaction.
pub(crate) struct Ctx<'c> {
    pub(crate) conn: &'c Connection,
    pub(crate) state: State,
}

/// One job of a batch.
pub(crate) trait Job: Send {
    /// Applies the job on the open transaction, inside its savepoint.
    fn apply(&mut self, ctx: &mut Ctx<'_>) -> Result<(), StoreError>;
    /// The batch committed: answer.
    fn succeed(self: Box<Self>);
    /// The job or its batch failed: answer.
    fn fail(self: Box<Self>, e: StoreError);
}

/// A job: its input, what it does, and where its answer goes.
pub(crate) struct Task<I, O> {
    input: I,
    output: Option<O>,
    reply: Reply<O>,
    run: fn(&mut Ctx<'_>, &I) -> Result<O, StoreError>,
}

impl<I, O> Task<I, O> {
    pub(crate) fn boxed(input: I, run: fn(&mut Ctx<'_>, &I) -> Result<O, StoreError>, reply: Reply<O>) -> Box<Self> {
        Box::new(Task { input, output: None, reply, run })
    }
}

impl<I: Send, O: Send> Job for Task<I, O> {
    fn apply(&mut self, ctx: &mut Ctx<'_>) -> Result<(), StoreError> {
        self.output = Some((self.run)(ctx, &self.input)?);
        Ok(())
    }

    fn succeed(self: Box<Self>) {
        // A caller that stopped waiting has no one to tell (a claim's watches stay leased until the lease ends).
        let answer = self.output.ok_or_else(|| StoreError::Backend("a job succeeded without an output".into()));
        let _ = self.reply.send(answer);
    }

    fn fail(self: Box<Self>, e: StoreError) {
        let _ = self.reply.send(Err(e));
    }
}

pub(crate) struct Writer {
    conn: Connection,
    rx: crossbeam_channel::Receiver<Box<dyn Job>>,
    state: State,
    max_batch: usize,
}

impl Writer {
    pub(crate) fn new(
        conn: Connection,
        rx: crossbeam_channel::Receiver<Box<dyn Job>>,
        max_batch: usize,
    ) -> Result<Writer, StoreError> {
        let head = read_head(&conn)?;
        Ok(Writer { conn, rx, state: State { head, restored: HashMap::new() }, max_batch: max_batch.max(1) })
    }

    /// Runs until every sender is gone (the store was closed or dropped) and the queue is drained.
    pub(crate) fn run(mut self) {
        while let Ok(first) = self.rx.recv() {
            let mut jobs = vec![first];
            while jobs.len() < self.max_batch {
                match self.rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            self.batch(jobs);
        }
        if let Err((_, e)) = self.conn.close() {
            tracing::warn!(error = %e, "closing the write connection failed");
        }
    }

    /// Applies one batch in one transaction and answers every job.
    fn batch(&mut self, jobs: Vec<Box<dyn Job>>) {
        let size = jobs.len();
        if let Err(e) = self.conn.execute_batch("BEGIN IMMEDIATE") {
            let e = db_error(e);
            tracing::error!(error = %e, "cannot begin a write transaction");
            for job in jobs {
                job.fail(e.clone());
            }
            return;
        }
        let mut state = self.state.clone();
        let mut done: Vec<Box<dyn Job>> = Vec::with_capacity(size);
        let mut failed: Vec<(Box<dyn Job>, StoreError)> = Vec::new();
        let mut jobs = jobs.into_iter();
        while let Some(mut job) = jobs.next() {
            let saved = state.clone();
            let outcome = match self.conn.execute_batch("SAVEPOINT job") {
                Ok(()) => {
                    let mut ctx = Ctx { conn: &self.conn, state };
                    let outcome = job.apply(&mut ctx);
                    state = ctx.state;
                    outcome
                }
                Err(e) => Err(db_error(e)),
            };
            let closed = match &outcome {
                // SQLite may roll the whole transaction back itself (a full disk, an I/O error): then there is
                // no savepoint to go back to, and the batch is lost.
                _ if self.conn.is_autocommit() => Err(outcome
                    .as_ref()
                    .err()
                    .cloned()
                    .unwrap_or_else(|| StoreError::Backend("the write transaction ended under a job".to_string()))),
                Ok(()) => self.conn.execute_batch("RELEASE job").map_err(db_error),
                Err(_) => self.conn.execute_batch("ROLLBACK TO job; RELEASE job").map_err(db_error),
            };
            match (outcome, closed) {
                (Ok(()), Ok(())) => done.push(job),
                (Err(e), Ok(())) => {
                    // This job alone failed and was rolled back to its savepoint: the batch goes on.
                    state = saved;
                    failed.push((job, e));
                }
                (_, Err(e)) => {
                    tracing::error!(error = %e, "a write batch failed; rolling it back");
                    self.abort();
                    job.fail(e.clone());
                    for j in done.into_iter().chain(jobs) {
                        j.fail(e.clone());
                    }
                    for (j, f) in failed {
                        j.fail(f);
                    }
                    return;
                }
            }
        }
        let stored = if state.head != self.state.head {
            exec(
                &self.conn,
                "UPDATE chain_head SET seq = ?1, hash = ?2 WHERE id = 1",
                params![state.head.0, state.head.1],
            )
            .map(|_| ())
        } else {
            Ok(())
        };
        if let Err(e) = stored.and_then(|()| self.conn.execute_batch("COMMIT").map_err(db_error)) {
            tracing::error!(error = %e, "a write batch failed to commit");
            self.abort();
            for j in done {
                j.fail(e.clone());
            }
            for (j, f) in failed {
                j.fail(f);
            }
            return;
        }
        // Durable now: only from here on is anything acknowledged.
        self.state = state;
        tracing::debug!(jobs = size, succeeded = done.len(), "write batch committed");
        for j in done {
            j.succeed();
        }
        for (j, e) in failed {
            j.fail(e);
        }
    }

    /// Rolls the open transaction back and re-reads the head, which is then the last committed one.
    fn abort(&mut self) {
        // The rollback fails when SQLite already rolled back; either way no transaction is open afterwards.
        let _ = self.conn.execute_batch("ROLLBACK");
        self.state.restored.clear();
        match read_head(&self.conn) {
            Ok(head) => self.state.head = head,
            Err(e) => tracing::error!(error = %e, "cannot re-read the chain head; keeping the last committed one"),
        }
    }
}

/// The stored head of the global chain.
pub(crate) fn read_head(conn: &Connection) -> Result<Head, StoreError> {
    rows::one(conn, "SELECT seq, hash FROM chain_head WHERE id = 1", [], |r| Ok((rows::get(r, 0)?, rows::get(r, 1)?)))?
        .ok_or_else(|| StoreError::Backend("the chain_head row is missing".to_string()))
}

/// Applies a changeset on the open transaction. Any error leaves the job's savepoint to be rolled back.
pub(crate) fn commit(ctx: &mut Ctx<'_>, change: &Changeset) -> Result<Committed, StoreError> {
    let conn = ctx.conn;
    let case = match &change.case {
        Some(write) => Some(write_case(conn, write)?),
        None => None,
    };
    for t in &change.tasks {
        exec(
            conn,
            "INSERT INTO tasks (id, case_id, item, department, state, due_at, updated_at, doc) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (id) DO UPDATE SET case_id = excluded.case_id, item = excluded.item, \
             department = excluded.department, state = excluded.state, due_at = excluded.due_at, \
             updated_at = excluded.updated_at, doc = excluded.doc",
            params![t.id, t.case_id, t.item, t.department, t.state, millis_opt(t.due_at), millis(t.updated_at), t.doc],
        )?;
    }
    for b in &change.blobs {
        write_blob(conn, b)?;
    }
    for m in &change.materials {
        exec(
            conn,
            "INSERT INTO materials (case_id, material, sha256, size, media_type, uploaded_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (case_id, material) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, \
             media_type = excluded.media_type, uploaded_at = excluded.uploaded_at",
            params![m.case_id, m.material, m.sha256, m.size, m.media_type, millis(m.uploaded_at)],
        )?;
    }
    for sha in &change.blob_deletions {
        exec(
            conn,
            "DELETE FROM blobs WHERE sha256 = ?1 AND NOT EXISTS (SELECT 1 FROM materials WHERE sha256 = ?1)",
            params![sha],
        )?;
    }
    if let Some(i) = &change.idempotency {
        let done = exec(
            conn,
            "INSERT INTO idempotency (scope, key, body_sha256, case_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (scope, key) DO NOTHING",
            params![i.scope, i.key, i.body_sha256, i.case_id, millis(i.created_at)],
        )?;
        if done == 0 {
            return Err(StoreError::Duplicate { what: "idempotency key".to_string() });
        }
    }
    for u in &change.users {
        write_user(conn, u)?;
    }
    for t in &change.tokens {
        exec(
            conn,
            "INSERT INTO tokens (token_hash, user_id, kind, created_at, expires_at, revoked_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                t.token_hash,
                t.user_id,
                t.kind,
                millis(t.created_at),
                millis(t.expires_at),
                millis_opt(t.revoked_at)
            ],
        )?;
    }
    for r in &change.revocations {
        match r {
            Revocation::Token { token_hash, at } => exec(
                conn,
                "UPDATE tokens SET revoked_at = ?1 WHERE token_hash = ?2 AND revoked_at IS NULL",
                params![millis(*at), token_hash],
            )?,
            Revocation::User { user_id, at } => exec(
                conn,
                "UPDATE tokens SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL",
                params![millis(*at), user_id],
            )?,
        };
    }
    if let Some(c) = &change.catalog_version {
        exec(
            conn,
            "INSERT INTO catalog_versions (version, files, loaded_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (version) DO NOTHING",
            params![c.version, json_text(&c.files)?, millis(c.loaded_at)],
        )?;
    }
    for w in &change.watches {
        write_watch(conn, w)?;
    }
    for r in &change.records {
        write_record(conn, r)?;
    }
    let event = match &change.event {
        Some(e) => {
            let row = append_event(conn, &ctx.state.head, e)?;
            ctx.state.head = (row.seq, row.hash.clone());
            Some(row)
        }
        None => None,
    };
    Ok(Committed { case, event })
}

/// Stores a file's contents unless they are stored already.
fn write_blob(conn: &Connection, b: &BlobRow) -> Result<(), StoreError> {
    exec(
        conn,
        "INSERT INTO blobs (sha256, size, bytes, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (sha256) DO NOTHING",
        params![b.sha256, b.size, b.bytes, millis(b.created_at)],
    )?;
    Ok(())
}

/// Inserts or updates the case of a changeset and returns it as stored.
fn write_case(conn: &Connection, write: &CaseWrite) -> Result<CaseRow, StoreError> {
    let mut row = write.row.clone();
    row.due_at = row.due_at.map(to_millis);
    row.created_at = to_millis(row.created_at);
    row.updated_at = to_millis(row.updated_at);
    match write.expected_version {
        None => {
            let last: i64 = rows::one(
                conn,
                "INSERT INTO number_sequences (prefix, last) VALUES (?1, 1) \
                 ON CONFLICT (prefix) DO UPDATE SET last = number_sequences.last + 1 RETURNING last",
                params![write.number_prefix],
                |r| rows::get(r, 0),
            )?
            .ok_or_else(|| StoreError::Backend("no case number was allocated".to_string()))?;
            row.number = format!("{}{last:06}", write.number_prefix);
            row.version = 1;
            let inserted = exec(
                conn,
                "INSERT INTO cases (id, number, bundle, catalog_version, state, owner, applicant_name, \
                 applicant_code, due_at, created_at, updated_at, version, doc) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    row.id,
                    row.number,
                    row.bundle,
                    row.catalog_version,
                    row.state,
                    row.owner,
                    row.applicant_name,
                    row.applicant_code,
                    millis_opt(row.due_at),
                    millis(row.created_at),
                    millis(row.updated_at),
                    row.version,
                    row.doc
                ],
            );
            match inserted {
                Err(StoreError::Duplicate { what }) if what == "case id" => {
                    return Err(StoreError::conflict(format!("case {}", row.id)));
                }
                other => other?,
            };
        }
        Some(expected) => {
            // The number and the creation time are the case's for life: an update never changes them.
            let stored = rows::one(
                conn,
                "UPDATE cases SET bundle = ?1, catalog_version = ?2, state = ?3, owner = ?4, applicant_name = ?5, \
                 applicant_code = ?6, due_at = ?7, updated_at = ?8, version = ?9, doc = ?10 \
                 WHERE id = ?11 AND version = ?12 RETURNING number, created_at",
                params![
                    row.bundle,
                    row.catalog_version,
                    row.state,
                    row.owner,
                    row.applicant_name,
                    row.applicant_code,
                    millis_opt(row.due_at),
                    millis(row.updated_at),
                    expected + 1,
                    row.doc,
                    row.id,
                    expected
                ],
                |r| Ok((rows::get::<String>(r, 0)?, rows::get::<i64>(r, 1)?)),
            )?;
            let Some((number, created_at)) = stored else {
                return Err(StoreError::conflict(format!("case {}", row.id)));
            };
            row.number = number;
            row.created_at = rows::timestamp(created_at)?;
            row.version = expected + 1;
        }
    }
    Ok(row)
}

/// Inserts a user, or updates one over the version it was read at.
fn write_user(conn: &Connection, write: &UserWrite) -> Result<(), StoreError> {
    let u = &write.row;
    let roles = json_text(&u.roles)?;
    match write.expected_version {
        None => {
            exec(
                conn,
                "INSERT INTO users (id, username, display_name, password_hash, roles, department, disabled, \
                 must_change_password, id_number, external_id, profile, created_at, updated_at, version) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 1)",
                params![
                    u.id,
                    u.username,
                    u.display_name,
                    u.password_hash,
                    roles,
                    u.department,
                    u.disabled,
                    u.must_change_password,
                    u.id_number,
                    u.external_id,
                    u.profile,
                    millis(u.created_at),
                    millis(u.updated_at)
                ],
            )?;
        }
        Some(expected) => {
            let done = exec(
                conn,
                "UPDATE users SET username = ?1, display_name = ?2, password_hash = ?3, roles = ?4, \
                 department = ?5, disabled = ?6, must_change_password = ?7, id_number = ?8, external_id = ?9, \
                 profile = ?10, updated_at = ?11, version = ?12 WHERE id = ?13 AND version = ?14",
                params![
                    u.username,
                    u.display_name,
                    u.password_hash,
                    roles,
                    u.department,
                    u.disabled,
                    u.must_change_password,
                    u.id_number,
                    u.external_id,
                    u.profile,
                    millis(u.updated_at),
                    expected + 1,
                    u.id,
                    expected
                ],
            )?;
            if done == 0 {
                return Err(StoreError::conflict(format!("user {}", u.username)));
            }
        }
    }
    Ok(())
}

/// Writes a watch: inserted or replaced without an expected version, else updated only over that version. Every
/// write bumps the version and clears the lease.
fn write_watch(conn: &Connection, write: &WatchWrite) -> Result<(), StoreError> {
    let w = &write.row;
    let written = match write.expected_version {
        None => exec(
            conn,
            "INSERT INTO watches (subject, case_id, department, colour, next_check_at, due_at, version, \
             lease_owner, lease_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, NULL, NULL) \
             ON CONFLICT (subject) DO UPDATE SET case_id = excluded.case_id, department = excluded.department, \
             colour = excluded.colour, next_check_at = excluded.next_check_at, due_at = excluded.due_at, \
             version = watches.version + 1, lease_owner = NULL, lease_until = NULL",
            params![w.subject, w.case_id, w.department, w.colour, millis_opt(w.next_check_at), millis_opt(w.due_at)],
        )?,
        Some(expected) => exec(
            conn,
            "UPDATE watches SET case_id = ?1, department = ?2, colour = ?3, next_check_at = ?4, due_at = ?5, \
             version = ?6, lease_owner = NULL, lease_until = NULL WHERE subject = ?7 AND version = ?8",
            params![
                w.case_id,
                w.department,
                w.colour,
                millis_opt(w.next_check_at),
                millis_opt(w.due_at),
                expected + 1,
                w.subject,
                expected
            ],
        )?,
    };
    if written == 0 {
        return Err(StoreError::conflict(format!("watch {}", w.subject)));
    }
    Ok(())
}

/// Inserts a record, or updates one over the version it was read at (keeping its creation time).
fn write_record(conn: &Connection, write: &RecordWrite) -> Result<(), StoreError> {
    let r = &write.row;
    match write.expected_version {
        None => {
            let inserted = exec(
                conn,
                "INSERT INTO records (kind, id, case_id, owner, department, state, created_at, updated_at, \
                 version, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9) ON CONFLICT (kind, id) DO NOTHING",
                params![
                    r.kind,
                    r.id,
                    r.case_id,
                    r.owner,
                    r.department,
                    r.state,
                    millis(r.created_at),
                    millis(r.updated_at),
                    r.doc
                ],
            )?;
            if inserted == 0 {
                return Err(StoreError::Duplicate { what: format!("{} {}", r.kind, r.id) });
            }
        }
        Some(expected) => {
            let done = exec(
                conn,
                "UPDATE records SET case_id = ?1, owner = ?2, department = ?3, state = ?4, updated_at = ?5, \
                 version = ?6, doc = ?7 WHERE kind = ?8 AND id = ?9 AND version = ?10",
                params![
                    r.case_id,
                    r.owner,
                    r.department,
                    r.state,
                    millis(r.updated_at),
                    expected + 1,
                    r.doc,
                    r.kind,
                    r.id,
                    expected
                ],
            )?;
            if done == 0 {
                return Err(StoreError::conflict(format!("{} {}", r.kind, r.id)));
            }
        }
    }
    Ok(())
}

/// Appends an event after `head`, linking it into the global chain and its stream's chain.
fn append_event(conn: &Connection, head: &Head, e: &NewEvent) -> Result<EventRow, StoreError> {
    let case_prev_hash = match &e.case_id {
        Some(case_id) => rows::one(
            conn,
            "SELECT hash FROM events WHERE case_id = ?1 ORDER BY seq DESC LIMIT 1",
            params![case_id],
            |r| rows::get::<String>(r, 0),
        )?
        .unwrap_or_else(|| GENESIS.to_string()),
        None => GENESIS.to_string(),
    };
    let seq = head.0 + 1;
    let at = to_millis(e.at);
    let hash =
        event_hash(seq, &e.id, e.case_id.as_deref(), &e.kind, &e.actor, at, &e.payload, &head.1, &case_prev_hash);
    exec(
        conn,
        "INSERT INTO events (seq, id, case_id, kind, actor, at, payload, prev_hash, case_prev_hash, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![seq, e.id, e.case_id, e.kind, e.actor, millis(at), e.payload, head.1, case_prev_hash, hash],
    )?;
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

/// A trivial write (see [`Probe`]).
pub(crate) fn probe(ctx: &mut Ctx<'_>, probe: &Probe) -> Result<(), StoreError> {
    match probe {
        Probe::Record { client } => {
            exec(
                ctx.conn,
                "INSERT INTO records (kind, id, case_id, owner, department, state, created_at, updated_at, version, \
                 doc) VALUES ('probe', ?1, NULL, NULL, NULL, 'probe', 0, 0, 1, '{}') \
                 ON CONFLICT (kind, id) DO UPDATE SET version = records.version + 1",
                params![client.to_string()],
            )?;
        }
        Probe::Event => {
            let e = NewEvent {
                id: format!("probe-{}", ctx.state.head.0 + 1),
                case_id: None,
                kind: "probe".to_string(),
                actor: "system".to_string(),
                at: jiff::Timestamp::UNIX_EPOCH,
                payload: "{}".to_string(),
            };
            let row = append_event(ctx.conn, &ctx.state.head, &e)?;
            ctx.state.head = (row.seq, row.hash);
        }
    }
    Ok(())
}

/// A claim of due watches (see [`onething_store::Store::claim_watches`]); instants in unix milliseconds.
pub(crate) struct Claim {
    pub(crate) owner: String,
    pub(crate) now: i64,
    pub(crate) lease_until: i64,
    /// At least 0 (0 claims nothing).
    pub(crate) limit: i64,
}

/// Leases up to `limit` due watches whose lease is free or ran out, earliest next check first, and returns them
/// in that order. Runs inside the writer's transaction, which holds the database's write lock: atomic.
pub(crate) fn claim(ctx: &mut Ctx<'_>, claim: &Claim) -> Result<Vec<WatchRow>, StoreError> {
    let mut claimed = rows::all(
        ctx.conn,
        concat!(
            "UPDATE watches SET lease_owner = ?1, lease_until = ?2 WHERE subject IN (SELECT subject FROM watches \
             WHERE next_check_at <= ?3 AND (lease_until IS NULL OR lease_until < ?3) \
             ORDER BY next_check_at, subject LIMIT ?4) RETURNING ",
            watch_columns!()
        ),
        params![claim.owner, claim.lease_until, claim.now, claim.limit],
        rows::watch,
    )?;
    // RETURNING comes in no promised order.
    claimed.sort_by(|a, b| (a.next_check_at, &a.subject).cmp(&(b.next_check_at, &b.subject)));
    Ok(claimed)
}

/// The settings of the write connection, as SQLite reports them.
pub(crate) fn pragmas(ctx: &mut Ctx<'_>, _: &()) -> Result<crate::Pragmas, StoreError> {
    let text = |sql: &str| ctx.conn.query_row(sql, [], |r| r.get::<_, String>(0)).map_err(db_error);
    let int = |sql: &str| ctx.conn.query_row(sql, [], |r| r.get::<_, i64>(0)).map_err(db_error);
    Ok(crate::Pragmas {
        journal_mode: text("PRAGMA journal_mode")?,
        synchronous: int("PRAGMA synchronous")?,
        foreign_keys: int("PRAGMA foreign_keys")? == 1,
        busy_timeout_ms: int("PRAGMA busy_timeout")?,
    })
}
