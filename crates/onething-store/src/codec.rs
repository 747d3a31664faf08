//! How both SQL backends encode rows: the column lists of the tables (macros, so that `concat!` builds static
//! SQL), instants as INTEGER unix milliseconds (UTC) and JSON documents as TEXT. One definition, so the two
//! backends cannot drift apart.

use jiff::Timestamp;

use crate::StoreError;

/// The columns of `cases`, in the order the backends read them (a macro, so that `concat!` can build static SQL).
#[macro_export]
macro_rules! case_columns {
    () => {
        "id, number, bundle, catalog_version, state, owner, applicant_name, applicant_code, due_at, created_at, updated_at, version, doc"
    };
}
/// The columns of `tasks`.
#[macro_export]
macro_rules! task_columns {
    () => {
        "id, case_id, item, department, state, due_at, updated_at, doc"
    };
}
/// The columns of `events`.
#[macro_export]
macro_rules! event_columns {
    () => {
        "seq, id, case_id, kind, actor, at, payload, prev_hash, case_prev_hash, hash"
    };
}
/// The columns of `users`.
#[macro_export]
macro_rules! user_columns {
    () => {
        "id, username, display_name, password_hash, roles, department, disabled, must_change_password, id_number, external_id, profile, created_at, updated_at, version"
    };
}
/// The columns of `tokens`.
#[macro_export]
macro_rules! token_columns {
    () => {
        "token_hash, user_id, kind, created_at, expires_at, revoked_at"
    };
}
/// The columns of `materials`.
#[macro_export]
macro_rules! material_columns {
    () => {
        "case_id, material, sha256, size, media_type, uploaded_at"
    };
}
/// The columns of `watches`.
#[macro_export]
macro_rules! watch_columns {
    () => {
        "subject, case_id, department, colour, next_check_at, due_at, version, lease_owner, lease_until"
    };
}
/// The columns of `records`.
#[macro_export]
macro_rules! record_columns {
    () => {
        "kind, id, case_id, owner, department, state, created_at, updated_at, version, doc"
    };
}

/// An instant as stored: unix milliseconds. Sub-millisecond precision is dropped, as [`onething_store::to_millis`]
/// does, so an instant read back equals `to_millis` of the one written.
pub fn millis(ts: Timestamp) -> i64 {
    ts.as_millisecond()
}

/// An optional instant as stored.
pub fn millis_opt(ts: Option<Timestamp>) -> Option<i64> {
    ts.map(millis)
}

pub fn timestamp(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms)
        .map_err(|e| StoreError::Backend(format!("stored instant {ms} is out of range: {e}")))
}

pub fn timestamp_opt(ms: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    ms.map(timestamp).transpose()
}

/// A JSON value as stored (TEXT).
pub fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(format!("cannot encode JSON: {e}")))
}

pub fn parse_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Backend(format!("stored {what} is not valid JSON: {e}")))
}
