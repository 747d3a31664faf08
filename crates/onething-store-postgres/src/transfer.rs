//! Moving an installation: [`onething_store::Store::dump`] and [`onething_store::Store::restore`] on
//! PostgreSQL.
//!
//! Both work on any table through its column list ([`Table::columns`]), reading and writing the stored values
//! as they are: TEXT as text, integers as BIGINT, nothing decoded or recomputed. Text keys are ordered and
//! compared in the "C" collation — byte order, as SQLite compares them — so both backends dump in the same
//! order. The SQL is built from the static table and column names only; every value is a bound parameter.

use onething_store::{Cell, ColumnType, GENESIS, StoreError, Table};
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::query_builder::Separated;
use sqlx::{AssertSqlSafe, Executor, Postgres, QueryBuilder, Row};

use crate::rows::db_error;

/// Rows per INSERT statement (PostgreSQL takes at most 65535 parameters in one; the widest table has 11
/// columns).
const ROWS_PER_STATEMENT: usize = 200;

/// A key column as it is ordered and compared: text in byte order.
fn key_expression(column: &onething_store::Column) -> String {
    match column.ty {
        ColumnType::Text => format!("{} COLLATE \"C\"", column.name),
        ColumnType::Integer | ColumnType::Bytes => column.name.to_string(),
    }
}

/// `SELECT <columns> FROM <table> [WHERE (<key>) > (<after>)] ORDER BY <key> [DESC] LIMIT <limit>`; integer
/// columns are read as BIGINT (`chain_head.id` is an INTEGER).
pub(crate) fn select(table: Table, after: Option<Vec<Cell>>, limit: i64, descending: bool) -> QueryBuilder<Postgres> {
    let columns: Vec<String> = table
        .columns()
        .iter()
        .map(|c| match c.ty {
            ColumnType::Text | ColumnType::Bytes => c.name.to_string(),
            ColumnType::Integer => format!("CAST({0} AS BIGINT) AS {0}", c.name),
        })
        .collect();
    let key: Vec<String> = table.key().iter().map(key_expression).collect();
    let mut q = QueryBuilder::<Postgres>::new(format!("SELECT {} FROM {}", columns.join(", "), table.name()));
    if let Some(after) = after {
        q.push(format!(" WHERE ({}) > (", key.join(", ")));
        let mut values = q.separated(", ");
        for cell in after {
            bind(&mut values, cell);
        }
        q.push(")");
    }
    let direction = if descending { " DESC" } else { "" };
    let order: Vec<String> = key.iter().map(|k| format!("{k}{direction}")).collect();
    q.push(format!(" ORDER BY {} LIMIT ", order.join(", "))).push_bind(limit);
    q
}

/// A row as [`Table::row`] wants it: every column, typed after the schema.
pub(crate) fn row(table: Table, row: &PgRow) -> Result<serde_json::Value, StoreError> {
    let cells = table
        .columns()
        .iter()
        .enumerate()
        .map(|(i, column)| match column.ty {
            ColumnType::Text => row.try_get::<Option<String>, _>(i).map(Cell::Text),
            ColumnType::Integer => row.try_get::<Option<i64>, _>(i).map(Cell::Integer),
            ColumnType::Bytes => row.try_get::<Option<Vec<u8>>, _>(i).map(Cell::Bytes),
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(db_error)?;
    Ok(table.row(cells))
}

fn bind(values: &mut Separated<'_, Postgres, &'static str>, cell: Cell) {
    match cell {
        Cell::Text(v) => values.push_bind(v),
        Cell::Integer(v) => values.push_bind(v),
        Cell::Bytes(v) => values.push_bind(v),
    };
}

/// The key of the table's greatest row, as a cursor; `None` when the table is empty.
async fn last_key(conn: &mut PgConnection, table: Table) -> Result<Option<String>, StoreError> {
    let found = select(table, None, 1, true).build().fetch_optional(&mut *conn).await.map_err(db_error)?;
    match found {
        Some(found) => Ok(Some(table.cursor(&row(table, &found)?)?)),
        None => Ok(None),
    }
}

/// Inserts rows verbatim in one transaction, refusing a table that holds rows unless they are exactly those
/// of this store's earlier batches (its greatest key is still `previous`). The table is locked against other
/// writers for the check and the inserts. Returns the greatest key afterwards, for the next batch's check.
pub(crate) async fn restore(
    pool: &PgPool,
    table: Table,
    previous: Option<&str>,
    rows: &[Vec<Cell>],
) -> Result<Option<String>, StoreError> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    match restore_on(&mut tx, table, previous, rows).await {
        Ok(last) => {
            tx.commit().await.map_err(db_error)?;
            Ok(last)
        }
        Err(e) => {
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(error = %rollback, "rolling back a failed restore failed");
            }
            Err(e)
        }
    }
}

async fn restore_on(
    conn: &mut PgConnection,
    table: Table,
    previous: Option<&str>,
    rows: &[Vec<Cell>],
) -> Result<Option<String>, StoreError> {
    // SHARE ROW EXCLUSIVE: readers go on, every other writer of the table (a commit, another import) waits.
    let lock = format!("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE", table.name());
    conn.execute(AssertSqlSafe(lock)).await.map_err(db_error)?;
    if table == Table::ChainHead {
        restore_head(conn, rows).await?;
        return Ok(None);
    }
    let last = last_key(conn, table).await?;
    if last.is_some() && last.as_deref() != previous {
        return Err(StoreError::NotEmpty { table: table.name().to_string() });
    }
    let columns: Vec<&str> = table.columns().iter().map(|c| c.name).collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Postgres>::new(format!("INSERT INTO {} ({}) ", table.name(), columns.join(", ")));
        q.push_values(chunk, |mut values, row| {
            for cell in row.iter().cloned() {
                bind(&mut values, cell);
            }
        });
        q.build().execute(&mut *conn).await.map_err(db_error)?;
    }
    last_key(conn, table).await
}

/// The chain head is one row that always exists: it is "empty" at genesis, and restoring it sets it.
async fn restore_head(conn: &mut PgConnection, rows: &[Vec<Cell>]) -> Result<(), StoreError> {
    let [row] = rows else {
        return match rows.len() {
            0 => Ok(()),
            n => Err(StoreError::Backend(format!("chain_head holds one row, not {n}"))),
        };
    };
    let (seq, hash) = match row.as_slice() {
        [Cell::Integer(Some(1)), Cell::Integer(Some(seq)), Cell::Text(Some(hash))] => (*seq, hash),
        _ => return Err(StoreError::Backend("the chain_head row must have id 1, a seq and a hash".to_string())),
    };
    let stored: (i64, String) = sqlx::query_as("SELECT seq, hash FROM chain_head WHERE id = 1 FOR UPDATE")
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?
        .ok_or_else(|| StoreError::Backend("the chain_head row is missing".to_string()))?;
    if stored != (0, GENESIS.to_string()) {
        return Err(StoreError::NotEmpty { table: Table::ChainHead.name().to_string() });
    }
    sqlx::query("UPDATE chain_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(hash)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Empties every table and puts the chain head back at genesis, in one transaction that locks them all.
pub(crate) async fn wipe(pool: &PgPool) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    let tables: Vec<&str> = Table::ALL.iter().filter(|t| **t != Table::ChainHead).map(|t| t.name()).collect();
    tx.execute(AssertSqlSafe(format!("TRUNCATE {}", tables.join(", ")))).await.map_err(db_error)?;
    sqlx::query("UPDATE chain_head SET seq = 0, hash = $1 WHERE id = 1")
        .bind(GENESIS)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    tx.commit().await.map_err(db_error)
}
