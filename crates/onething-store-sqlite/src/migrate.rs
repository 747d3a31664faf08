//! The schema: numbered migrations embedded at compile time (`migrations/`, numbered and named like the
//! PostgreSQL backend's), applied in order, each in a transaction of its own, and recorded in
//! `schema_migrations`. A database made by an earlier onething, whose migrations were recorded by sqlx in
//! `_sqlx_migrations`, is taken up where it stands.

use onething_store::StoreError;
use rusqlite::Connection;

use crate::rows::db_error;

/// (version, name, SQL).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (2, "supervision", include_str!("../migrations/0002_supervision.sql")),
    (3, "engine", include_str!("../migrations/0003_engine.sql")),
];

/// Brings the schema up to date. Refuses a database that a newer onething migrated further.
pub(crate) fn run(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL)",
    )
    .map_err(db_error)?;
    let sqlx_table: bool = conn
        .query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(db_error)?
        > 0;
    if sqlx_table {
        conn.execute_batch(
            "INSERT OR IGNORE INTO schema_migrations (version, name) \
             SELECT version, description FROM _sqlx_migrations WHERE success = 1",
        )
        .map_err(db_error)?;
    }
    let applied: Vec<i64> = {
        let mut stmt = conn.prepare("SELECT version FROM schema_migrations ORDER BY version").map_err(db_error)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(db_error)?;
        rows.collect::<Result<_, _>>().map_err(db_error)?
    };
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if let Some(newer) = applied.iter().find(|v| **v > known) {
        return Err(StoreError::Backend(format!(
            "the database has schema migration {newer}, newer than this onething knows ({known}): use a newer \
             onething"
        )));
    }
    for (version, name, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        let tx = conn.transaction().map_err(db_error)?;
        tx.execute_batch(sql).map_err(|e| StoreError::Backend(format!("migration {version} ({name}) failed: {e}")))?;
        tx.execute("INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)", rusqlite::params![version, name])
            .map_err(db_error)?;
        tx.commit().map_err(db_error)?;
        tracing::info!(version, name, "sqlite schema migrated");
    }
    Ok(())
}
