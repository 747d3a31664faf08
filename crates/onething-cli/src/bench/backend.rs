//! The backends a bench runs on, opened on scratch storage: a SQLite file in the scratch directory, or a scratch
//! schema of a PostgreSQL database, dropped afterwards.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use onething_store::Store;
use onething_store_postgres::{PostgresOptions, PostgresStore};
use onething_store_sqlite::{SqliteOptions, SqliteStore};

/// A backend to measure.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// The URL.
    Postgres(String),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// A scratch schema name, unique to this process and instant.
    pub fn scratch_schema(what: &str) -> String {
        format!("bench_{what}_{}_{}", std::process::id(), jiff::Timestamp::now().as_millisecond())
    }

    /// The `--database-url`/`--database-schema` arguments of `onething serve` for this backend (none for SQLite:
    /// the data directory's file).
    pub fn serve_args(&self, schema: &str) -> Vec<String> {
        match self {
            Backend::Sqlite => Vec::new(),
            Backend::Postgres(url) => {
                vec!["--database-url".into(), url.clone(), "--database-schema".into(), schema.to_string()]
            }
        }
    }

    /// Opens the backend on scratch storage.
    pub async fn open(&self, dir: &Path, pg_connections: u32) -> anyhow::Result<Opened> {
        match self {
            Backend::Sqlite => {
                let path = dir.join("bench.db");
                let store = SqliteStore::open(SqliteOptions::new(&path))
                    .await
                    .with_context(|| format!("opening {}", path.display()))?;
                let p = store.pragmas().await.context("reading the SQLite settings")?;
                let sync = match p.synchronous {
                    2 => "FULL".to_string(),
                    3 => "EXTRA".to_string(),
                    1 => "NORMAL".to_string(),
                    n => n.to_string(),
                };
                let durability = format!("journal_mode={}, synchronous={sync} (power-safe)", p.journal_mode);
                Ok(Opened { store: Arc::new(store), durability, pg: None })
            }
            Backend::Postgres(url) => {
                let options = PostgresOptions {
                    max_connections: pg_connections,
                    schema: Some(Backend::scratch_schema("run")),
                    ..PostgresOptions::new(url.clone())
                };
                let store = PostgresStore::open(options.clone()).await.context("opening PostgreSQL")?;
                let durability = format!(
                    "group commit ({} writers, batches of up to {}), {pg_connections} connections, scratch schema {} (server settings decide fsync)",
                    options.writers,
                    options.max_batch,
                    options.schema.as_deref().unwrap_or("?")
                );
                Ok(Opened { store: Arc::new(store), durability, pg: Some(options) })
            }
        }
    }
}

/// An open scratch store.
pub struct Opened {
    pub store: Arc<dyn Store>,
    /// How durable a commit is, in words.
    pub durability: String,
    /// For PostgreSQL: the options, to drop the scratch schema afterwards.
    pg: Option<PostgresOptions>,
}

impl Opened {
    /// Closes the store and drops the scratch schema (PostgreSQL); the SQLite file goes with the scratch directory.
    pub async fn dispose(self) {
        self.store.close().await;
        drop(self.store);
        if let Some(options) = self.pg
            && let Err(e) = options.drop_schema().await
        {
            eprintln!("warning: could not drop the scratch schema {:?}: {e}", options.schema);
        }
    }
}

/// Drops a scratch schema that a spawned server used.
pub async fn drop_schema(url: &str, schema: &str) {
    let options = PostgresOptions { max_connections: 1, schema: Some(schema.to_string()), ..PostgresOptions::new(url) };
    if let Err(e) = options.drop_schema().await {
        eprintln!("warning: could not drop the scratch schema {schema}: {e}");
    }
}
