//! Rows: turning PostgreSQL rows into the store's records and records into column values, and sqlx errors into
//! [`StoreError`]. Timestamps are BIGINT unix milliseconds (UTC); JSON documents and lists are TEXT.

use onething_store::{
    CaseRow, CatalogVersionRow, EventRow, IdempotencyRow, MaterialRow, RecordRow, StoreError, TaskRow, TokenRow,
    UserRow, WatchRow,
};
use sqlx::Row;
use sqlx::postgres::PgRow;

pub(crate) use onething_store::codec::{json_text, millis, millis_opt, parse_json, timestamp, timestamp_opt};
pub(crate) use onething_store::{
    case_columns, event_columns, material_columns, record_columns, task_columns, user_columns, watch_columns,
};

/// What a unique constraint protects, in the words the SQLite backend uses for [`StoreError::Duplicate`].
/// PostgreSQL names the constraints `<table>_pkey` and `<table>_<column>_key` (see the migrations).
fn unique_key(constraint: &str) -> Option<&'static str> {
    Some(match constraint {
        "users_username_key" => "username",
        "users_id_number_key" => "ID number",
        "users_external_id_key" => "external identity",
        "records_pkey" => "record",
        "users_pkey" => "user id",
        "cases_number_key" => "case number",
        "cases_pkey" => "case id",
        "idempotency_pkey" => "idempotency key",
        "tokens_pkey" => "token",
        "events_id_key" => "event id",
        _ => return None,
    })
}

/// Whether a failure is PostgreSQL giving up one transaction to let others go on — a serialization failure
/// (40001) or a deadlock (40P01) — so that running the same transaction again may well succeed.
pub(crate) fn is_retryable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("40001") | Some("40P01")),
        _ => false,
    }
}

/// Any sqlx failure. Unique violations become [`StoreError::Duplicate`] named after the key; a closed pool is
/// [`StoreError::Closed`]; everything else is a backend failure (never a panic).
pub(crate) fn db_error(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::PoolClosed = e {
        return StoreError::Closed;
    }
    if let sqlx::Error::Database(db) = &e
        && matches!(db.code().as_deref(), Some("53100") | Some("53200") | Some("54000"))
    {
        // disk_full, out_of_memory, program_limit_exceeded: the server could not take the write.
        return StoreError::Full(db.message().to_string());
    }
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
        && let Some(what) = db.constraint().and_then(unique_key)
    {
        return StoreError::Duplicate { what: what.to_string() };
    }
    StoreError::Backend(e.to_string())
}

/// Reads a column, mapping a missing column or a type mismatch to a backend failure.
fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column).map_err(db_error)
}

pub(crate) fn case(row: &PgRow) -> Result<CaseRow, StoreError> {
    Ok(CaseRow {
        id: get(row, "id")?,
        number: get(row, "number")?,
        bundle: get(row, "bundle")?,
        catalog_version: get(row, "catalog_version")?,
        state: get(row, "state")?,
        owner: get(row, "owner")?,
        applicant_name: get(row, "applicant_name")?,
        applicant_code: get(row, "applicant_code")?,
        due_at: timestamp_opt(get(row, "due_at")?)?,
        created_at: timestamp(get(row, "created_at")?)?,
        updated_at: timestamp(get(row, "updated_at")?)?,
        version: get(row, "version")?,
        doc: get(row, "doc")?,
    })
}

pub(crate) fn task(row: &PgRow) -> Result<TaskRow, StoreError> {
    Ok(TaskRow {
        id: get(row, "id")?,
        case_id: get(row, "case_id")?,
        item: get(row, "item")?,
        department: get(row, "department")?,
        state: get(row, "state")?,
        due_at: timestamp_opt(get(row, "due_at")?)?,
        updated_at: timestamp(get(row, "updated_at")?)?,
        doc: get(row, "doc")?,
    })
}

pub(crate) fn material(row: &PgRow) -> Result<MaterialRow, StoreError> {
    Ok(MaterialRow {
        case_id: get(row, "case_id")?,
        material: get(row, "material")?,
        sha256: get(row, "sha256")?,
        size: get(row, "size")?,
        media_type: get(row, "media_type")?,
        uploaded_at: timestamp(get(row, "uploaded_at")?)?,
    })
}

pub(crate) fn idempotency(row: &PgRow) -> Result<IdempotencyRow, StoreError> {
    Ok(IdempotencyRow {
        scope: get(row, "scope")?,
        key: get(row, "key")?,
        body_sha256: get(row, "body_sha256")?,
        case_id: get(row, "case_id")?,
        created_at: timestamp(get(row, "created_at")?)?,
    })
}

pub(crate) fn user(row: &PgRow) -> Result<UserRow, StoreError> {
    let roles: String = get(row, "roles")?;
    Ok(UserRow {
        id: get(row, "id")?,
        username: get(row, "username")?,
        display_name: get(row, "display_name")?,
        password_hash: get(row, "password_hash")?,
        roles: parse_json(&roles, "role list")?,
        department: get(row, "department")?,
        disabled: get::<i64>(row, "disabled")? != 0,
        must_change_password: get::<i64>(row, "must_change_password")? != 0,
        id_number: get(row, "id_number")?,
        external_id: get(row, "external_id")?,
        profile: get(row, "profile")?,
        created_at: timestamp(get(row, "created_at")?)?,
        updated_at: timestamp(get(row, "updated_at")?)?,
        version: get(row, "version")?,
    })
}

/// A token from the columns `token_hash`, `user_id`, `kind`, `token_created_at`, `expires_at`, `revoked_at`
/// (the creation time renamed so that it can be read from a join with `users`).
pub(crate) fn token(row: &PgRow) -> Result<TokenRow, StoreError> {
    Ok(TokenRow {
        token_hash: get(row, "token_hash")?,
        user_id: get(row, "user_id")?,
        kind: get(row, "kind")?,
        created_at: timestamp(get(row, "token_created_at")?)?,
        expires_at: timestamp(get(row, "expires_at")?)?,
        revoked_at: timestamp_opt(get(row, "revoked_at")?)?,
    })
}

pub(crate) fn catalog_version(row: &PgRow) -> Result<CatalogVersionRow, StoreError> {
    let files: String = get(row, "files")?;
    Ok(CatalogVersionRow {
        version: get(row, "version")?,
        files: parse_json(&files, "catalogue file list")?,
        loaded_at: timestamp(get(row, "loaded_at")?)?,
    })
}

pub(crate) fn event(row: &PgRow) -> Result<EventRow, StoreError> {
    Ok(EventRow {
        seq: get(row, "seq")?,
        id: get(row, "id")?,
        case_id: get(row, "case_id")?,
        kind: get(row, "kind")?,
        actor: get(row, "actor")?,
        at: timestamp(get(row, "at")?)?,
        payload: get(row, "payload")?,
        prev_hash: get(row, "prev_hash")?,
        case_prev_hash: get(row, "case_prev_hash")?,
        hash: get(row, "hash")?,
    })
}

pub(crate) fn watch(row: &PgRow) -> Result<WatchRow, StoreError> {
    Ok(WatchRow {
        subject: get(row, "subject")?,
        case_id: get(row, "case_id")?,
        department: get(row, "department")?,
        colour: get(row, "colour")?,
        next_check_at: timestamp_opt(get(row, "next_check_at")?)?,
        due_at: timestamp_opt(get(row, "due_at")?)?,
        version: get(row, "version")?,
        lease_owner: get(row, "lease_owner")?,
        lease_until: timestamp_opt(get(row, "lease_until")?)?,
    })
}

pub(crate) fn record(row: &PgRow) -> Result<RecordRow, StoreError> {
    Ok(RecordRow {
        kind: get(row, "kind")?,
        id: get(row, "id")?,
        case_id: get(row, "case_id")?,
        owner: get(row, "owner")?,
        department: get(row, "department")?,
        state: get(row, "state")?,
        created_at: timestamp(get(row, "created_at")?)?,
        updated_at: timestamp(get(row, "updated_at")?)?,
        version: get(row, "version")?,
        doc: get(row, "doc")?,
    })
}
