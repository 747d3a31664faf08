//! Tables and columns, for moving a whole installation between backends ([`crate::Store::dump`] and
//! [`crate::Store::restore`]). Both backends have the same tables with the same columns (TEXT, INTEGER and, for
//! file contents, BLOB/BYTEA), so a row dumped from one restores into the other unchanged.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::{EventRow, StoreError};

/// A table of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    CatalogVersions,
    Users,
    Tokens,
    Cases,
    Tasks,
    Blobs,
    Materials,
    Idempotency,
    NumberSequences,
    Events,
    ChainHead,
    Watches,
    Records,
}

/// The type of a column, as both backends store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// TEXT: names, ids, hashes, JSON documents as text.
    Text,
    /// INTEGER (BIGINT on PostgreSQL): counters, versions, flags (0/1), instants as unix milliseconds.
    Integer,
    /// BLOB (BYTEA on PostgreSQL): the contents of a file. Base64 (standard alphabet, padded) in a dump.
    Bytes,
}

/// A column of a [`Table`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
}

/// One value of a row, typed after its column; `None` is NULL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(Option<String>),
    Integer(Option<i64>),
    Bytes(Option<Vec<u8>>),
}

const fn text(name: &'static str) -> Column {
    Column { name, ty: ColumnType::Text, nullable: false }
}
const fn text_null(name: &'static str) -> Column {
    Column { name, ty: ColumnType::Text, nullable: true }
}
const fn int(name: &'static str) -> Column {
    Column { name, ty: ColumnType::Integer, nullable: false }
}
const fn int_null(name: &'static str) -> Column {
    Column { name, ty: ColumnType::Integer, nullable: true }
}
const fn bytes(name: &'static str) -> Column {
    Column { name, ty: ColumnType::Bytes, nullable: false }
}

// The columns of every table, in the order of the migrations; the key columns come first (see `Table::key`).
const CATALOG_VERSIONS: &[Column] = &[text("version"), text("files"), int("loaded_at")];
const USERS: &[Column] = &[
    text("id"),
    text("username"),
    text("display_name"),
    text("password_hash"),
    text("roles"),
    text_null("department"),
    int("disabled"),
    int("must_change_password"),
    text_null("id_number"),
    text_null("external_id"),
    text("profile"),
    int("created_at"),
    int("updated_at"),
    int("version"),
];
const TOKENS: &[Column] =
    &[text("token_hash"), text("user_id"), text("kind"), int("created_at"), int("expires_at"), int_null("revoked_at")];
const CASES: &[Column] = &[
    text("id"),
    text("number"),
    text("bundle"),
    text("catalog_version"),
    text("state"),
    text_null("owner"),
    text("applicant_name"),
    text_null("applicant_code"),
    int_null("due_at"),
    int("created_at"),
    int("updated_at"),
    int("version"),
    text("doc"),
];
const TASKS: &[Column] = &[
    text("id"),
    text("case_id"),
    text("item"),
    text("department"),
    text("state"),
    int_null("due_at"),
    int("updated_at"),
    text("doc"),
];
const BLOBS: &[Column] = &[text("sha256"), int("size"), bytes("bytes"), int("created_at")];
const MATERIALS: &[Column] =
    &[text("case_id"), text("material"), text("sha256"), int("size"), text("media_type"), int("uploaded_at")];
const IDEMPOTENCY: &[Column] = &[text("scope"), text("key"), text("body_sha256"), text("case_id"), int("created_at")];
const NUMBER_SEQUENCES: &[Column] = &[text("prefix"), int("last")];
const EVENTS: &[Column] = &[
    int("seq"),
    text("id"),
    text_null("case_id"),
    text("kind"),
    text("actor"),
    int("at"),
    text("payload"),
    text("prev_hash"),
    text("case_prev_hash"),
    text("hash"),
];
const CHAIN_HEAD: &[Column] = &[int("id"), int("seq"), text("hash")];
const WATCHES: &[Column] = &[
    text("subject"),
    text_null("case_id"),
    text_null("department"),
    text("colour"),
    int_null("next_check_at"),
    int_null("due_at"),
    int("version"),
    text_null("lease_owner"),
    int_null("lease_until"),
];
const RECORDS: &[Column] = &[
    text("kind"),
    text("id"),
    text_null("case_id"),
    text_null("owner"),
    text_null("department"),
    text("state"),
    int("created_at"),
    int("updated_at"),
    int("version"),
    text("doc"),
];

impl Table {
    /// Every table, in an order that respects the foreign keys (cases before their tasks and materials): the
    /// order to restore in.
    pub const ALL: [Table; 13] = [
        Table::CatalogVersions,
        Table::Users,
        Table::Tokens,
        Table::Cases,
        Table::Tasks,
        Table::Blobs,
        Table::Materials,
        Table::Idempotency,
        Table::NumberSequences,
        Table::Events,
        Table::ChainHead,
        Table::Watches,
        Table::Records,
    ];

    /// The table's name in the database and in export files (snake_case, stable).
    pub const fn name(self) -> &'static str {
        match self {
            Table::CatalogVersions => "catalog_versions",
            Table::Users => "users",
            Table::Tokens => "tokens",
            Table::Cases => "cases",
            Table::Tasks => "tasks",
            Table::Blobs => "blobs",
            Table::Materials => "materials",
            Table::Idempotency => "idempotency",
            Table::NumberSequences => "number_sequences",
            Table::Events => "events",
            Table::ChainHead => "chain_head",
            Table::Watches => "watches",
            Table::Records => "records",
        }
    }

    /// The table of a [`Table::name`].
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Every column, in the order of the schema.
    pub const fn columns(self) -> &'static [Column] {
        match self {
            Table::CatalogVersions => CATALOG_VERSIONS,
            Table::Users => USERS,
            Table::Tokens => TOKENS,
            Table::Cases => CASES,
            Table::Tasks => TASKS,
            Table::Blobs => BLOBS,
            Table::Materials => MATERIALS,
            Table::Idempotency => IDEMPOTENCY,
            Table::NumberSequences => NUMBER_SEQUENCES,
            Table::Events => EVENTS,
            Table::ChainHead => CHAIN_HEAD,
            Table::Watches => WATCHES,
            Table::Records => RECORDS,
        }
    }

    /// The columns of the primary key (the first of [`Table::columns`]): the order of [`crate::Store::dump`].
    pub fn key(self) -> &'static [Column] {
        let n = match self {
            Table::Materials | Table::Idempotency | Table::Records => 2,
            _ => 1,
        };
        &self.columns()[..n]
    }

    /// The column list of the table, comma-separated, for SQL.
    pub fn column_list(self) -> String {
        self.columns().iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
    }

    /// A row as [`crate::Store::dump`] returns it: a JSON object of the columns.
    pub fn row(self, cells: Vec<Cell>) -> serde_json::Value {
        let mut row = serde_json::Map::new();
        for (column, cell) in self.columns().iter().zip(cells) {
            let value = match cell {
                Cell::Text(v) => v.map_or(serde_json::Value::Null, serde_json::Value::String),
                Cell::Integer(v) => v.map_or(serde_json::Value::Null, serde_json::Value::from),
                Cell::Bytes(v) => v.map_or(serde_json::Value::Null, |b| serde_json::Value::String(BASE64.encode(b))),
            };
            row.insert(column.name.to_string(), value);
        }
        serde_json::Value::Object(row)
    }

    /// The cells of a row given to [`crate::Store::restore`], in column order: it must be an object with exactly
    /// the table's columns, each of its type (or null where the column allows it).
    pub fn cells(self, row: &serde_json::Value) -> Result<Vec<Cell>, StoreError> {
        let bad = |why: String| StoreError::Backend(format!("a row of {}: {why}", self.name()));
        let Some(object) = row.as_object() else {
            return Err(bad("not a JSON object".to_string()));
        };
        if let Some(extra) = object.keys().find(|k| !self.columns().iter().any(|c| c.name == k.as_str())) {
            return Err(bad(format!("unknown column {extra:?}")));
        }
        self.columns()
            .iter()
            .map(|column| {
                let value =
                    object.get(column.name).ok_or_else(|| bad(format!("the column {} is missing", column.name)))?;
                cell(*column, value).ok_or_else(|| {
                    let ty = match column.ty {
                        ColumnType::Text => "a string",
                        ColumnType::Integer => "an integer",
                        ColumnType::Bytes => "a base64 string",
                    };
                    let null = if column.nullable { " or null" } else { "" };
                    bad(format!("the column {} must be {ty}{null}, not {value}", column.name))
                })
            })
            .collect()
    }

    /// The cursor for [`crate::Store::dump`]'s `after`: the key of `row`, as a JSON array.
    pub fn cursor(self, row: &serde_json::Value) -> Result<String, StoreError> {
        let key: Vec<serde_json::Value> =
            self.key().iter().map(|c| row.get(c.name).cloned().unwrap_or(serde_json::Value::Null)).collect();
        self.key_cells(&serde_json::Value::Array(key.clone()))?;
        serde_json::to_string(&key).map_err(|e| StoreError::Backend(format!("cannot encode a cursor: {e}")))
    }

    /// The key cells of a [`Table::cursor`].
    pub fn parse_cursor(self, cursor: &str) -> Result<Vec<Cell>, StoreError> {
        let value: serde_json::Value = serde_json::from_str(cursor)
            .map_err(|e| StoreError::Backend(format!("bad cursor {cursor:?} for {}: {e}", self.name())))?;
        self.key_cells(&value)
    }

    fn key_cells(self, key: &serde_json::Value) -> Result<Vec<Cell>, StoreError> {
        let bad = || StoreError::Backend(format!("bad key {key} for {}", self.name()));
        let values = key.as_array().filter(|v| v.len() == self.key().len()).ok_or_else(bad)?;
        self.key().iter().zip(values).map(|(column, value)| cell(*column, value).ok_or_else(bad)).collect()
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A JSON value as a cell of `column`, if it fits.
fn cell(column: Column, value: &serde_json::Value) -> Option<Cell> {
    match (column.ty, value) {
        (ColumnType::Text, serde_json::Value::Null) if column.nullable => Some(Cell::Text(None)),
        (ColumnType::Integer, serde_json::Value::Null) if column.nullable => Some(Cell::Integer(None)),
        (ColumnType::Bytes, serde_json::Value::Null) if column.nullable => Some(Cell::Bytes(None)),
        (ColumnType::Text, serde_json::Value::String(s)) => Some(Cell::Text(Some(s.clone()))),
        (ColumnType::Integer, serde_json::Value::Number(n)) => n.as_i64().map(|n| Cell::Integer(Some(n))),
        (ColumnType::Bytes, serde_json::Value::String(s)) => BASE64.decode(s).ok().map(|b| Cell::Bytes(Some(b))),
        _ => None,
    }
}

impl EventRow {
    /// An event from a row of [`Table::Events`] as [`crate::Store::dump`] gives it (to check a chain being
    /// exported).
    pub fn from_dump(row: &serde_json::Value) -> Result<EventRow, StoreError> {
        // `cells` checked every column against its type, in the order of the schema.
        let mut cells = Table::Events.cells(row)?.into_iter();
        let mut next = || cells.next().unwrap_or(Cell::Text(None));
        let seq = integer(next())?;
        let id = required(next())?;
        let case_id = optional(next())?;
        let kind = required(next())?;
        let actor = required(next())?;
        let at_ms = integer(next())?;
        let at = jiff::Timestamp::from_millisecond(at_ms)
            .map_err(|e| StoreError::Backend(format!("event {seq}: instant {at_ms} is out of range: {e}")))?;
        Ok(EventRow {
            seq,
            id,
            case_id,
            kind,
            actor,
            at,
            payload: required(next())?,
            prev_hash: required(next())?,
            case_prev_hash: required(next())?,
            hash: required(next())?,
        })
    }
}

fn integer(cell: Cell) -> Result<i64, StoreError> {
    match cell {
        Cell::Integer(Some(n)) => Ok(n),
        _ => Err(StoreError::Backend("an event row: expected an integer".to_string())),
    }
}

fn required(cell: Cell) -> Result<String, StoreError> {
    optional(cell)?.ok_or_else(|| StoreError::Backend("an event row: expected a string".to_string()))
}

fn optional(cell: Cell) -> Result<Option<String>, StoreError> {
    match cell {
        Cell::Text(v) => Ok(v),
        _ => Err(StoreError::Backend("an event row: expected a string".to_string())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{GENESIS, event_hash};
    use jiff::Timestamp;

    #[test]
    fn tables_have_stable_unique_names() {
        let names: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
        let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), Table::ALL.len());
        for t in Table::ALL {
            assert_eq!(Table::from_name(t.name()), Some(t));
            assert_eq!(t.to_string(), t.name());
            assert!(!t.key().is_empty() && t.key().iter().all(|c| !c.nullable), "{t}");
        }
        assert_eq!(Table::from_name("sqlite_master"), None);
        // Foreign keys: the cases come before what points at them, blobs before the materials naming them.
        let at = |t: Table| Table::ALL.iter().position(|x| *x == t).unwrap();
        assert!(at(Table::Cases) < at(Table::Tasks) && at(Table::Cases) < at(Table::Materials));
        assert!(at(Table::Blobs) < at(Table::Materials));
        assert!(at(Table::Events) < at(Table::ChainHead));
    }

    #[test]
    fn rows_are_checked_against_the_columns() {
        let row = serde_json::json!({ "prefix": "YJS20261130", "last": 17 });
        let cells = Table::NumberSequences.cells(&row).unwrap();
        assert_eq!(cells, [Cell::Text(Some("YJS20261130".into())), Cell::Integer(Some(17))]);
        assert_eq!(Table::NumberSequences.row(cells), row);
        assert_eq!(Table::NumberSequences.cursor(&row).unwrap(), r#"["YJS20261130"]"#);
        assert_eq!(Table::NumberSequences.parse_cursor(r#"["YJS20261130"]"#).unwrap().len(), 1);

        let refused = |row: serde_json::Value| Table::NumberSequences.cells(&row).unwrap_err().to_string();
        assert!(refused(serde_json::json!({ "prefix": "A" })).contains("last is missing"));
        assert!(refused(serde_json::json!({ "prefix": "A", "last": 1, "x": 2 })).contains("unknown column \"x\""));
        assert!(refused(serde_json::json!({ "prefix": "A", "last": "1" })).contains("must be an integer"));
        assert!(refused(serde_json::json!({ "prefix": null, "last": 1 })).contains("must be a string"));
        assert!(refused(serde_json::json!({ "prefix": "A", "last": 1.5 })).contains("must be an integer"));
        assert!(refused(serde_json::json!(["A", 1])).contains("not a JSON object"));
        // Nullable columns take null.
        let watch = serde_json::json!({
            "subject": "task:1", "case_id": null, "department": null, "colour": "green", "next_check_at": null,
            "due_at": 5, "version": 1, "lease_owner": null, "lease_until": null
        });
        assert_eq!(Table::Watches.cells(&watch).unwrap()[1], Cell::Text(None));
        // Cursors of composite keys, and bad cursors.
        let material = serde_json::json!({ "case_id": "c", "material": "m", "sha256": "s", "size": 1,
            "media_type": "application/pdf", "uploaded_at": 0 });
        assert_eq!(Table::Materials.cursor(&material).unwrap(), r#"["c","m"]"#);
        assert!(Table::Materials.parse_cursor(r#"["c"]"#).is_err());
        assert!(Table::Events.parse_cursor(r#"["1"]"#).is_err());
        assert!(Table::Events.parse_cursor("nonsense").is_err());
    }

    #[test]
    fn file_contents_travel_as_base64() {
        let row = serde_json::json!({ "sha256": "ab", "size": 3, "bytes": "AAEC", "created_at": 0 });
        let cells = Table::Blobs.cells(&row).unwrap();
        assert_eq!(cells[2], Cell::Bytes(Some(vec![0, 1, 2])));
        assert_eq!(Table::Blobs.row(cells), row);
        let bad = serde_json::json!({ "sha256": "ab", "size": 3, "bytes": "not base64!", "created_at": 0 });
        assert!(Table::Blobs.cells(&bad).unwrap_err().to_string().contains("base64"));
    }

    #[test]
    fn events_come_back_from_their_rows() {
        let at = Timestamp::from_millisecond(1_796_083_200_123).unwrap();
        let hash = event_hash(1, "e1", Some("c1"), "case_filed", "u1", at, "{}", GENESIS, GENESIS);
        let row = serde_json::json!({
            "seq": 1, "id": "e1", "case_id": "c1", "kind": "case_filed", "actor": "u1", "at": 1_796_083_200_123_i64,
            "payload": "{}", "prev_hash": GENESIS, "case_prev_hash": GENESIS, "hash": hash
        });
        let event = EventRow::from_dump(&row).unwrap();
        assert_eq!((event.seq, event.at, event.case_id.as_deref()), (1, at, Some("c1")));
        let mut v = crate::ChainVerifier::default();
        assert!(v.feed(&event));
        assert_eq!(v.finish((1, hash)).broken, None);
    }
}
