//! The write path: one changeset, one transaction, on any connection of any node.
//!
//! Nothing is kept in process memory as truth. Every check is made by the database inside the transaction:
//!
//! - a case update is `UPDATE … WHERE id = $ AND version = $`: under READ COMMITTED a concurrent writer of the
//!   same row makes this one wait, then re-check the condition against the committed row, so exactly one of
//!   two updates of the same version wins and the other finds no row ([`StoreError::Conflict`]);
//! - a case number is `INSERT … ON CONFLICT (prefix) DO UPDATE … RETURNING`: the prefix's row stays locked
//!   until the transaction ends, so a rolled-back filing consumes no number;
//! - an idempotency key (and a case id on insert) is `INSERT … ON CONFLICT DO NOTHING`, which waits for a
//!   concurrent insert of the same key and then reports it;
//! - the global event chain is serialised by the row lock on `chain_head`: the transaction locks it
//!   (`SELECT … FOR UPDATE`) just before appending, reads the previous hashes only once it holds the lock (READ
//!   COMMITTED takes a new snapshot per statement, so it sees the event of whoever held the lock before), and
//!   keeps it until COMMIT. The next appender, on this node or another, waits for that COMMIT; `seq` is
//!   `head.seq + 1`, so it has no gaps, and a rolled-back transaction takes its event and its head back with it.
//!
//! - a watch written over an expected version is `UPDATE … WHERE subject = $ AND version = $`, as a case is;
//!   one written without is `INSERT … ON CONFLICT (subject) DO UPDATE`, which waits for a concurrent writer of
//!   the same watch and then bumps the version past it;
//!
//! The head is locked last, after the case, tasks and keys, so it is held as briefly as possible, and never
//! while waiting for another lock: nothing after it touches a row another transaction can hold.

use onething_store::{
    CaseRow, CaseWrite, Changeset, Committed, EventRow, GENESIS, NewEvent, RecordRow, StoreError, WatchWrite,
    event_hash, to_millis,
};
use sqlx::postgres::{PgConnection, PgPool};
use sqlx::{Postgres, Row, Transaction};

use crate::rows::{json_text, millis, millis_opt, timestamp};

/// Why one attempt at a commit failed.
#[derive(Debug)]
pub(crate) enum TxError {
    /// A check of the changeset failed (version, duplicate key) or a value could not be encoded: final.
    Check(StoreError),
    /// The database failed; [`crate::rows::is_retryable`] tells whether running the transaction again may help.
    Db(sqlx::Error),
}

impl From<sqlx::Error> for TxError {
    fn from(e: sqlx::Error) -> TxError {
        TxError::Db(e)
    }
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> TxError {
        TxError::Check(e)
    }
}

/// Runs a changeset once, in one transaction: committed entirely, or rolled back entirely.
pub(crate) async fn once(pool: &PgPool, change: &Changeset) -> Result<Committed, TxError> {
    let mut tx: Transaction<'_, Postgres> = pool.begin().await?;
    match apply(&mut tx, change).await {
        Ok(done) => {
            tx.commit().await?;
            Ok(done)
        }
        Err(e) => {
            // A failed statement aborts a PostgreSQL transaction: roll it back now, so that the connection goes
            // back to the pool clean (dropping the transaction would too, but later and silently).
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(error = %rollback, "rolling back a failed commit failed");
            }
            Err(e)
        }
    }
}

/// Applies a changeset on the open transaction. Any error leaves the transaction to be rolled back.
async fn apply(conn: &mut PgConnection, change: &Changeset) -> Result<Committed, TxError> {
    let case = match &change.case {
        Some(write) => Some(write_case(conn, write).await?),
        None => None,
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
        .bind(json_text(&t.doc)?)
        .execute(&mut *conn)
        .await?;
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
            return Err(TxError::Check(StoreError::Duplicate { what: "idempotency key".to_string() }));
        }
    }
    for u in &change.users {
        // An existing username keeps its id and creation time; the rest is replaced.
        sqlx::query(
            "INSERT INTO users (id, username, password_hash, roles, department, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
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
        .await?;
    }
    for t in &change.tokens {
        sqlx::query("INSERT INTO tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(&t.token_hash)
            .bind(&t.user_id)
            .bind(millis(t.created_at))
            .bind(millis(t.expires_at))
            .execute(&mut *conn)
            .await?;
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
    let event = match &change.event {
        Some(e) => Some(append_event(conn, e).await?),
        None => None,
    };
    Ok(Committed { case, event })
}

/// Inserts or updates the case of a changeset and returns it as stored.
async fn write_case(conn: &mut PgConnection, write: &CaseWrite) -> Result<CaseRow, TxError> {
    let mut row = write.row.clone();
    row.due_at = row.due_at.map(to_millis);
    row.created_at = to_millis(row.created_at);
    row.updated_at = to_millis(row.updated_at);
    let doc = json_text(&row.doc)?;
    match write.expected_version {
        None => {
            // Checked first so that a doomed insert does not wait on (or lock) the prefix's number; the
            // `ON CONFLICT` below still catches a concurrent insert of the same id.
            let exists =
                sqlx::query("SELECT 1 FROM cases WHERE id = $1").bind(&row.id).fetch_optional(&mut *conn).await?;
            if exists.is_some() {
                return Err(TxError::Check(StoreError::Conflict { case_id: row.id }));
            }
            let last: i64 = sqlx::query_scalar(
                "INSERT INTO number_sequences (prefix, last) VALUES ($1, 1) \
                 ON CONFLICT (prefix) DO UPDATE SET last = number_sequences.last + 1 RETURNING last",
            )
            .bind(&write.number_prefix)
            .fetch_one(&mut *conn)
            .await?;
            row.number = format!("{}{last:06}", write.number_prefix);
            row.version = 1;
            let inserted = sqlx::query(
                "INSERT INTO cases (id, number, bundle, catalog_version, state, owner, due_at, created_at, \
                 updated_at, version, doc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (id) DO NOTHING",
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
            .await?;
            if inserted.rows_affected() == 0 {
                // Another transaction filed the same id meanwhile; rolling back returns the number.
                return Err(TxError::Check(StoreError::Conflict { case_id: row.id }));
            }
        }
        Some(expected) => {
            // The number and the creation time are the case's for life: an update never changes them.
            let stored = sqlx::query(
                "UPDATE cases SET bundle = $1, catalog_version = $2, state = $3, owner = $4, due_at = $5, \
                 updated_at = $6, version = $7, doc = $8 WHERE id = $9 AND version = $10 \
                 RETURNING number, created_at",
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
            .await?;
            let Some(stored) = stored else {
                return Err(TxError::Check(StoreError::Conflict { case_id: row.id }));
            };
            row.number = stored.try_get("number")?;
            let created_at: i64 = stored.try_get("created_at")?;
            row.created_at = timestamp(created_at)?;
            row.version = expected + 1;
        }
    }
    Ok(row)
}

/// Writes a watch: inserted or replaced without an expected version, else updated only over that version. Every
/// write bumps the version and clears the lease.
async fn write_watch(conn: &mut PgConnection, write: &WatchWrite) -> Result<(), TxError> {
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
        return Err(TxError::Check(StoreError::Conflict { case_id: w.subject.clone() }));
    }
    Ok(())
}

/// Upserts a supervision record by (kind, id); an existing record keeps its creation time.
async fn write_record(conn: &mut PgConnection, r: &RecordRow) -> Result<(), TxError> {
    sqlx::query(
        "INSERT INTO records (kind, id, case_id, owner, department, state, created_at, updated_at, doc) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
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
    .await?;
    Ok(())
}

/// Appends an event after the stored head — locked for the rest of the transaction — linking it into the global
/// chain and its case's chain, and moves the head.
async fn append_event(conn: &mut PgConnection, e: &NewEvent) -> Result<EventRow, TxError> {
    let head =
        sqlx::query("SELECT seq, hash FROM chain_head WHERE id = 1 FOR UPDATE").fetch_optional(&mut *conn).await?;
    let Some(head) = head else {
        return Err(TxError::Check(StoreError::Backend("the chain_head row is missing".to_string())));
    };
    let head_seq: i64 = head.try_get("seq")?;
    let head_hash: String = head.try_get("hash")?;
    // Read only now, under the lock: the case's latest event may have been committed by the previous holder.
    let case_prev_hash = match &e.case_id {
        Some(case_id) => {
            sqlx::query_scalar::<_, String>("SELECT hash FROM events WHERE case_id = $1 ORDER BY seq DESC LIMIT 1")
                .bind(case_id)
                .fetch_optional(&mut *conn)
                .await?
                .unwrap_or_else(|| GENESIS.to_string())
        }
        None => GENESIS.to_string(),
    };
    let seq = head_seq + 1;
    let at = to_millis(e.at);
    let hash =
        event_hash(seq, &e.id, e.case_id.as_deref(), &e.kind, &e.actor, at, &e.payload, &head_hash, &case_prev_hash);
    sqlx::query(
        "INSERT INTO events (seq, id, case_id, kind, actor, at, payload, prev_hash, case_prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(seq)
    .bind(&e.id)
    .bind(&e.case_id)
    .bind(&e.kind)
    .bind(&e.actor)
    .bind(millis(at))
    .bind(&e.payload)
    .bind(&head_hash)
    .bind(&case_prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE chain_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
    Ok(EventRow {
        seq,
        id: e.id.clone(),
        case_id: e.case_id.clone(),
        kind: e.kind.clone(),
        actor: e.actor.clone(),
        at,
        payload: e.payload.clone(),
        prev_hash: head_hash,
        case_prev_hash,
        hash,
    })
}
