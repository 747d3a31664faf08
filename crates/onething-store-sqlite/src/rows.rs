//! Rows: turning SQLite rows into the store's rows, and rusqlite errors into [`StoreError`]. Timestamps are
//! INTEGER unix milliseconds (UTC); JSON documents and lists are TEXT; flags are INTEGER 0/1; file contents BLOB.

use onething_store::{
    CaseRow, CatalogVersionRow, EventRow, IdempotencyRow, MaterialRow, RecordRow, StoreError, TaskRow, TokenRow,
    UserRow, WatchRow,
};
use rusqlite::Row;

pub(crate) use onething_store::codec::{json_text, millis, millis_opt, parse_json, timestamp, timestamp_opt};
pub(crate) use onething_store::{
    case_columns, event_columns, material_columns, record_columns, task_columns, user_columns, watch_columns,
};

/// Any rusqlite failure. Unique violations become [`StoreError::Duplicate`] named after the key, a full disk
/// [`StoreError::Full`]; everything else is a backend failure (never a panic).
pub(crate) fn db_error(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(code, message) = &e {
        let message = message.as_deref().unwrap_or("");
        match code.code {
            rusqlite::ErrorCode::DiskFull => return StoreError::Full(e.to_string()),
            rusqlite::ErrorCode::ConstraintViolation
                if code.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || code.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                // SQLite says "UNIQUE constraint failed: users.username" (or "t.a, t.b" for a composite key).
                let what = [
                    ("users.username", "username"),
                    ("users.id_number", "ID number"),
                    ("users.external_id", "external identity"),
                    ("users.id", "user id"),
                    ("cases.number", "case number"),
                    ("cases.id", "case id"),
                    ("idempotency.", "idempotency key"),
                    ("tokens.", "token"),
                    ("events.id", "event id"),
                    ("records.", "record"),
                ]
                .iter()
                .find(|(needle, _)| message.contains(needle))
                .map(|(_, what)| *what);
                if let Some(what) = what {
                    return StoreError::Duplicate { what: what.to_string() };
                }
            }
            _ => {}
        }
    }
    StoreError::Backend(e.to_string())
}

/// Reads column `i`, mapping a type mismatch to a backend failure.
pub(crate) fn get<T: rusqlite::types::FromSql>(row: &Row<'_>, i: usize) -> Result<T, StoreError> {
    row.get(i).map_err(db_error)
}

fn flag(row: &Row<'_>, i: usize) -> Result<bool, StoreError> {
    Ok(get::<i64>(row, i)? != 0)
}

/// A row of `case_columns!()`.
pub(crate) fn case(row: &Row<'_>) -> Result<CaseRow, StoreError> {
    Ok(CaseRow {
        id: get(row, 0)?,
        number: get(row, 1)?,
        bundle: get(row, 2)?,
        catalog_version: get(row, 3)?,
        state: get(row, 4)?,
        owner: get(row, 5)?,
        applicant_name: get(row, 6)?,
        applicant_code: get(row, 7)?,
        due_at: timestamp_opt(get(row, 8)?)?,
        created_at: timestamp(get(row, 9)?)?,
        updated_at: timestamp(get(row, 10)?)?,
        version: get(row, 11)?,
        doc: get(row, 12)?,
    })
}

/// A row of `task_columns!()`.
pub(crate) fn task(row: &Row<'_>) -> Result<TaskRow, StoreError> {
    Ok(TaskRow {
        id: get(row, 0)?,
        case_id: get(row, 1)?,
        item: get(row, 2)?,
        department: get(row, 3)?,
        state: get(row, 4)?,
        due_at: timestamp_opt(get(row, 5)?)?,
        updated_at: timestamp(get(row, 6)?)?,
        doc: get(row, 7)?,
    })
}

/// A row of `material_columns!()`.
pub(crate) fn material(row: &Row<'_>) -> Result<MaterialRow, StoreError> {
    Ok(MaterialRow {
        case_id: get(row, 0)?,
        material: get(row, 1)?,
        sha256: get(row, 2)?,
        size: get(row, 3)?,
        media_type: get(row, 4)?,
        uploaded_at: timestamp(get(row, 5)?)?,
    })
}

/// A row of `user_columns!()`, starting at column `at`.
pub(crate) fn user_at(row: &Row<'_>, at: usize) -> Result<UserRow, StoreError> {
    let roles: String = get(row, at + 4)?;
    Ok(UserRow {
        id: get(row, at)?,
        username: get(row, at + 1)?,
        display_name: get(row, at + 2)?,
        password_hash: get(row, at + 3)?,
        roles: parse_json(&roles, "user roles")?,
        department: get(row, at + 5)?,
        disabled: flag(row, at + 6)?,
        must_change_password: flag(row, at + 7)?,
        id_number: get(row, at + 8)?,
        external_id: get(row, at + 9)?,
        profile: get(row, at + 10)?,
        created_at: timestamp(get(row, at + 11)?)?,
        updated_at: timestamp(get(row, at + 12)?)?,
        version: get(row, at + 13)?,
    })
}

pub(crate) fn user(row: &Row<'_>) -> Result<UserRow, StoreError> {
    user_at(row, 0)
}

/// A row of `token_columns!()`.
pub(crate) fn token(row: &Row<'_>) -> Result<TokenRow, StoreError> {
    Ok(TokenRow {
        token_hash: get(row, 0)?,
        user_id: get(row, 1)?,
        kind: get(row, 2)?,
        created_at: timestamp(get(row, 3)?)?,
        expires_at: timestamp(get(row, 4)?)?,
        revoked_at: timestamp_opt(get(row, 5)?)?,
    })
}

pub(crate) fn idempotency(row: &Row<'_>) -> Result<IdempotencyRow, StoreError> {
    Ok(IdempotencyRow {
        scope: get(row, 0)?,
        key: get(row, 1)?,
        body_sha256: get(row, 2)?,
        case_id: get(row, 3)?,
        created_at: timestamp(get(row, 4)?)?,
    })
}

pub(crate) fn catalog_version(row: &Row<'_>) -> Result<CatalogVersionRow, StoreError> {
    let files: String = get(row, 1)?;
    Ok(CatalogVersionRow {
        version: get(row, 0)?,
        files: parse_json(&files, "catalogue files")?,
        loaded_at: timestamp(get(row, 2)?)?,
    })
}

/// A row of `event_columns!()`.
pub(crate) fn event(row: &Row<'_>) -> Result<EventRow, StoreError> {
    Ok(EventRow {
        seq: get(row, 0)?,
        id: get(row, 1)?,
        case_id: get(row, 2)?,
        kind: get(row, 3)?,
        actor: get(row, 4)?,
        at: timestamp(get(row, 5)?)?,
        payload: get(row, 6)?,
        prev_hash: get(row, 7)?,
        case_prev_hash: get(row, 8)?,
        hash: get(row, 9)?,
    })
}

/// A row of `watch_columns!()`.
pub(crate) fn watch(row: &Row<'_>) -> Result<WatchRow, StoreError> {
    Ok(WatchRow {
        subject: get(row, 0)?,
        case_id: get(row, 1)?,
        department: get(row, 2)?,
        colour: get(row, 3)?,
        next_check_at: timestamp_opt(get(row, 4)?)?,
        due_at: timestamp_opt(get(row, 5)?)?,
        version: get(row, 6)?,
        lease_owner: get(row, 7)?,
        lease_until: timestamp_opt(get(row, 8)?)?,
    })
}

/// A row of `record_columns!()`.
pub(crate) fn record(row: &Row<'_>) -> Result<RecordRow, StoreError> {
    Ok(RecordRow {
        kind: get(row, 0)?,
        id: get(row, 1)?,
        case_id: get(row, 2)?,
        owner: get(row, 3)?,
        department: get(row, 4)?,
        state: get(row, 5)?,
        created_at: timestamp(get(row, 6)?)?,
        updated_at: timestamp(get(row, 7)?)?,
        version: get(row, 8)?,
        doc: get(row, 9)?,
    })
}

/// Runs a prepared (cached) query and maps every row.
pub(crate) fn all<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_error)?;
    let mut rows = stmt.query(params).map_err(db_error)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_error)? {
        out.push(map(row)?);
    }
    Ok(out)
}

/// Runs a prepared (cached) query and maps its first row, if any.
pub(crate) fn one<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_error)?;
    let mut rows = stmt.query(params).map_err(db_error)?;
    match rows.next().map_err(db_error)? {
        Some(row) => Ok(Some(map(row)?)),
        None => Ok(None),
    }
}

/// Runs a prepared (cached) statement; returns the rows changed.
pub(crate) fn exec(conn: &rusqlite::Connection, sql: &str, params: impl rusqlite::Params) -> Result<usize, StoreError> {
    conn.prepare_cached(sql).map_err(db_error)?.execute(params).map_err(db_error)
}

/// Runs a query built at run time (a filter's conditions) with its parameters.
pub(crate) fn all_dyn<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[rusqlite::types::Value],
    map: fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    all(conn, sql, rusqlite::params_from_iter(params.iter()), map)
}
