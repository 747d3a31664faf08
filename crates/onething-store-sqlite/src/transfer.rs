//! Moving an installation: [`onething_store::Store::dump`], [`onething_store::Store::restore`] and
//! [`onething_store::Store::wipe`] on SQLite.
//!
//! Dump and restore work on any table through its column list ([`Table::columns`]), reading and writing the
//! stored values as they are: TEXT as text, INTEGER as integers, BLOB as bytes, nothing decoded or recomputed.
//! The SQL is built from those static table and column names only; every value is a bound parameter.

use onething_store::{Cell, ColumnType, GENESIS, StoreError, Table};
use rusqlite::types::Value;
use rusqlite::{Connection, Row};

use crate::rows::{db_error, exec};
use crate::writer::{Ctx, read_head};

/// `SELECT <columns> FROM <table> [WHERE (<key>) > (<after>)] ORDER BY <key> [DESC] LIMIT <limit>`, with its
/// parameters.
fn select(table: Table, after: Option<Vec<Cell>>, limit: i64, descending: bool) -> (String, Vec<Value>) {
    let key: Vec<&str> = table.key().iter().map(|c| c.name).collect();
    let mut sql = format!("SELECT {} FROM {}", table.column_list(), table.name());
    let mut params = Vec::new();
    if let Some(after) = after {
        let marks: Vec<String> = (1..=after.len()).map(|i| format!("?{i}")).collect();
        sql.push_str(&format!(" WHERE ({}) > ({})", key.join(", "), marks.join(", ")));
        params.extend(after.into_iter().map(value));
    }
    let direction = if descending { " DESC" } else { "" };
    let order: Vec<String> = key.iter().map(|k| format!("{k}{direction}")).collect();
    sql.push_str(&format!(" ORDER BY {} LIMIT ?{}", order.join(", "), params.len() + 1));
    params.push(Value::Integer(limit));
    (sql, params)
}

fn value(cell: Cell) -> Value {
    match cell {
        Cell::Text(v) => v.map_or(Value::Null, Value::Text),
        Cell::Integer(v) => v.map_or(Value::Null, Value::Integer),
        Cell::Bytes(v) => v.map_or(Value::Null, Value::Blob),
    }
}

/// A row as [`Table::row`] wants it: every column, typed after the schema.
fn row(table: Table, row: &Row<'_>) -> Result<serde_json::Value, StoreError> {
    let cells = table
        .columns()
        .iter()
        .enumerate()
        .map(|(i, column)| match column.ty {
            ColumnType::Text => row.get::<_, Option<String>>(i).map(Cell::Text),
            ColumnType::Integer => row.get::<_, Option<i64>>(i).map(Cell::Integer),
            ColumnType::Bytes => row.get::<_, Option<Vec<u8>>>(i).map(Cell::Bytes),
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(db_error)?;
    Ok(table.row(cells))
}

/// A page of a table, in key order.
pub(crate) fn dump(
    conn: &Connection,
    table: Table,
    after: Option<Vec<Cell>>,
    limit: i64,
) -> Result<Vec<serde_json::Value>, StoreError> {
    let (sql, params) = select(table, after, limit, false);
    let mut stmt = conn.prepare(&sql).map_err(db_error)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params)).map_err(db_error)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(db_error)? {
        out.push(row(table, r)?);
    }
    Ok(out)
}

/// The key of the table's greatest row, as a cursor; `None` when the table is empty.
fn last_key(conn: &Connection, table: Table) -> Result<Option<String>, StoreError> {
    let (sql, params) = select(table, None, 1, true);
    let mut stmt = conn.prepare(&sql).map_err(db_error)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params)).map_err(db_error)?;
    match rows.next().map_err(db_error)? {
        Some(r) => Ok(Some(table.cursor(&row(table, r)?)?)),
        None => Ok(None),
    }
}

/// Rows to insert verbatim into one table, checked against the table's columns already.
pub(crate) struct Restore {
    pub(crate) table: Table,
    pub(crate) rows: Vec<Vec<Cell>>,
}

/// Inserts rows verbatim on the writer's open transaction, refusing a table that holds rows unless they are
/// exactly those of this store's earlier batches (its greatest key is still the one the last batch left).
pub(crate) fn restore(ctx: &mut Ctx<'_>, restore: &Restore) -> Result<(), StoreError> {
    let table = restore.table;
    if table == Table::ChainHead {
        restore_head(ctx.conn, &restore.rows)?;
        ctx.state.head = read_head(ctx.conn)?;
        return Ok(());
    }
    let last = last_key(ctx.conn, table)?;
    if last.is_some() && last.as_ref() != ctx.state.restored.get(&table) {
        return Err(StoreError::NotEmpty { table: table.name().to_string() });
    }
    let marks: Vec<String> = (1..=table.columns().len()).map(|i| format!("?{i}")).collect();
    let sql = format!("INSERT INTO {} ({}) VALUES ({})", table.name(), table.column_list(), marks.join(", "));
    let mut stmt = ctx.conn.prepare(&sql).map_err(db_error)?;
    for r in &restore.rows {
        stmt.execute(rusqlite::params_from_iter(r.iter().cloned().map(value))).map_err(db_error)?;
    }
    match last_key(ctx.conn, table)? {
        Some(last) => ctx.state.restored.insert(table, last),
        None => ctx.state.restored.remove(&table),
    };
    Ok(())
}

/// The chain head is one row that always exists: it is "empty" at genesis, and restoring it sets it.
fn restore_head(conn: &Connection, rows: &[Vec<Cell>]) -> Result<(), StoreError> {
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
    if read_head(conn)? != (0, GENESIS.to_string()) {
        return Err(StoreError::NotEmpty { table: Table::ChainHead.name().to_string() });
    }
    exec(conn, "UPDATE chain_head SET seq = ?1, hash = ?2 WHERE id = 1", rusqlite::params![seq, hash])?;
    Ok(())
}

/// Empties every table and puts the chain head back at genesis.
pub(crate) fn wipe(ctx: &mut Ctx<'_>, _: &()) -> Result<(), StoreError> {
    for table in Table::ALL.iter().rev() {
        if *table == Table::ChainHead {
            continue;
        }
        ctx.conn.execute_batch(&format!("DELETE FROM {}", table.name())).map_err(db_error)?;
    }
    exec(ctx.conn, "UPDATE chain_head SET seq = 0, hash = ?1 WHERE id = 1", rusqlite::params![GENESIS])?;
    ctx.state.head = (0, GENESIS.to_string());
    ctx.state.restored.clear();
    Ok(())
}
