//! `onething export` / `onething import`: moving a whole installation — catalogue versions, users, cases,
//! tasks, the files' index, events with their hash chain, supervision records — between SQLite and PostgreSQL
//! (or to a new machine on the same backend).
//!
//! The export is JSON Lines: a header, one line per row, and an end line with the counts and the chain head, so
//! that a truncated file is refused before anything is written:
//!
//! ```text
//! {"format":"onething-export","version":1,"source":"sqlite","tables":["catalog_versions",…],"exported_at":"…"}
//! {"table":"cases","row":{"id":"…","number":"YJS20261130000001",…,"doc":"{…}"}}
//! …
//! {"end":true,"rows":1234,"counts":{"cases":12,…},"chain_head":{"seq":345,"hash":"…"}}
//! ```
//!
//! Rows are the stored columns verbatim ([`Store::dump`]), restored verbatim ([`Store::restore`]): events keep
//! their seq, payload text and hashes, so the chain verifies on the target exactly as on the source. The
//! material files travel in the `blobs` table (their bytes base64 in the line); the export and the import
//! both check that every material names a blob that is in the file.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use onething_store::{ChainVerifier, EventRow, GENESIS, Store, Table};
use serde_json::{Value, json};

use crate::{DatabaseArgs, open_store};

/// The `format` of the header line.
const FORMAT: &str = "onething-export";
/// The version of the format this build writes and reads.
const VERSION: u64 = 1;
/// Rows read per [`Store::dump`] call.
const DUMP_PAGE: i64 = 1_000;
/// Rows written per [`Store::restore`] call (one transaction each).
const RESTORE_BATCH: usize = 1_000;
/// How many missing files are named one by one before the rest are only counted.
const MISSING_SHOWN: usize = 20;

/// Which backend the arguments name, for the header.
fn backend_name(database: &DatabaseArgs) -> &'static str {
    match database.database_url.as_deref() {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => "postgres",
        _ => "sqlite",
    }
}

/// The materials whose blob is not among the blobs (sha256s, named one by one up to [`MISSING_SHOWN`]).
fn missing_blobs(indexed: &BTreeSet<String>, blobs: &BTreeSet<String>) -> Vec<String> {
    indexed.difference(blobs).cloned().collect()
}

fn report_missing(missing: &[String]) {
    for m in missing.iter().take(MISSING_SHOWN) {
        eprintln!("  missing: {m}");
    }
    if missing.len() > MISSING_SHOWN {
        eprintln!("  … and {} more", missing.len() - MISSING_SHOWN);
    }
    eprintln!("{} material file(s) named by a material but not stored as a blob", missing.len());
}

/// A JSON object with its members in the given order.
fn ordered(members: &[(&str, &Value)]) -> anyhow::Result<String> {
    let mut text = String::from("{");
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&serde_json::to_string(name)?);
        text.push(':');
        text.push_str(&serde_json::to_string(value)?);
    }
    text.push('}');
    Ok(text)
}

/// A row line: `{"table":…,"row":{…}}`, the row's columns in the order of the schema.
fn row_line(table: Table, row: &Value) -> anyhow::Result<String> {
    let columns: Vec<(&str, &Value)> = table.columns().iter().map(|c| (c.name, &row[c.name])).collect();
    Ok(format!("{{\"table\":{},\"row\":{}}}", serde_json::to_string(table.name())?, ordered(&columns)?))
}

/// Where the export goes: a file, written under a temporary name and renamed once complete, or stdout.
enum Output {
    File { out: BufWriter<File>, partial: PathBuf, path: PathBuf },
    Stdout(BufWriter<std::io::Stdout>),
}

impl Output {
    fn open(path: Option<&Path>) -> anyhow::Result<Output> {
        let Some(path) = path else { return Ok(Output::Stdout(BufWriter::new(std::io::stdout()))) };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "export".into());
        let partial = path.with_file_name(format!(".{name}.partial"));
        let file = File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
        Ok(Output::File { out: BufWriter::new(file), partial, path: path.to_path_buf() })
    }

    /// Writes one line (its members ordered for people reading the file: the header's `format` first, a row's
    /// `table` before the row, a row's columns in the order of the schema).
    fn line(&mut self, text: &str) -> anyhow::Result<()> {
        let out: &mut dyn Write = match self {
            Output::File { out, .. } => out,
            Output::Stdout(out) => out,
        };
        out.write_all(text.as_bytes()).context("writing the export")?;
        out.write_all(b"\n").context("writing the export")
    }

    /// Flushes (and syncs, and renames a file into place).
    fn finish(self) -> anyhow::Result<String> {
        match self {
            Output::File { out, partial, path } => {
                let file = out.into_inner().map_err(|e| e.into_error()).context("writing the export")?;
                file.sync_all().context("syncing the export")?;
                std::fs::rename(&partial, &path).with_context(|| format!("renaming to {}", path.display()))?;
                Ok(path.display().to_string())
            }
            Output::Stdout(mut out) => {
                out.flush().context("writing the export")?;
                Ok("stdout".to_string())
            }
        }
    }

    /// Removes a partial file after a failure.
    fn abandon(self) {
        if let Output::File { out, partial, .. } = self {
            drop(out);
            let _ = std::fs::remove_file(partial);
        }
    }
}

/// `onething export`: every table of the store, in [`Table::ALL`] order, to `output` (stdout without).
pub fn export(data_dir: &Path, database: &DatabaseArgs, output: Option<&Path>) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    runtime.block_on(async move {
        let store = open_store(data_dir, database, false).await?;
        let mut out = match Output::open(output) {
            Ok(out) => out,
            Err(e) => {
                store.close().await;
                return Err(e);
            }
        };
        let written = write_export(store.as_ref(), backend_name(database), &mut out).await;
        store.close().await;
        let summary = match written {
            Ok(summary) => summary,
            Err(e) => {
                out.abandon();
                return Err(e);
            }
        };
        let to = out.finish()?;
        eprintln!("exported {} rows to {to}", summary.rows);
        let mut ok = true;
        match &summary.broken {
            None => eprintln!("event chain: {} events, intact", summary.events),
            Some(reason) => {
                ok = false;
                eprintln!(
                    "the exported event chain does not verify: {reason}\n(is a server still writing to the \
                     database? stop it and export again)"
                );
            }
        }
        let missing = missing_blobs(&summary.files, &summary.blobs);
        if missing.is_empty() {
            eprintln!("files: {} material files, all in the export", summary.blobs.len());
        } else {
            ok = false;
            report_missing(&missing);
        }
        Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    })
}

/// What an export wrote.
struct Exported {
    rows: u64,
    events: i64,
    /// Why the chain of the exported events does not verify, if it does not.
    broken: Option<String>,
    /// The sha256s the materials name.
    files: BTreeSet<String>,
    /// The sha256s of the blobs.
    blobs: BTreeSet<String>,
}

async fn write_export(store: &dyn Store, source: &str, out: &mut Output) -> anyhow::Result<Exported> {
    let tables: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
    out.line(&ordered(&[
        ("format", &json!(FORMAT)),
        ("version", &json!(VERSION)),
        ("source", &json!(source)),
        ("tables", &json!(tables)),
        ("exported_at", &json!(jiff::Timestamp::now().to_string())),
    ])?)?;
    let mut rows = 0u64;
    let mut counts = serde_json::Map::new();
    let mut verifier = ChainVerifier::default();
    let mut head = (0, GENESIS.to_string());
    let mut events = 0;
    let mut files = BTreeSet::new();
    let mut blobs = BTreeSet::new();
    for table in Table::ALL {
        let mut count = 0u64;
        let mut after = None;
        loop {
            let page = store.dump(table, after.take(), DUMP_PAGE).await.with_context(|| format!("reading {table}"))?;
            let full = page.len() as i64 == DUMP_PAGE;
            if let Some(last) = page.last() {
                after = Some(table.cursor(last)?);
            }
            for row in &page {
                match table {
                    Table::Events => {
                        let event = EventRow::from_dump(row)?;
                        events = event.seq;
                        verifier.feed(&event);
                    }
                    Table::ChainHead => {
                        head = (row["seq"].as_i64().unwrap_or(0), row["hash"].as_str().unwrap_or(GENESIS).to_string())
                    }
                    Table::Materials => {
                        if let Some(sha256) = row["sha256"].as_str() {
                            files.insert(sha256.to_string());
                        }
                    }
                    Table::Blobs => {
                        if let Some(sha256) = row["sha256"].as_str() {
                            blobs.insert(sha256.to_string());
                        }
                    }
                    _ => {}
                }
                out.line(&row_line(table, row)?)?;
            }
            count += page.len() as u64;
            if !full {
                break;
            }
        }
        eprintln!("{:>18}: {count} rows", table.name());
        counts.insert(table.name().to_string(), count.into());
        rows += count;
    }
    let report = verifier.finish(head.clone());
    let broken = report.broken.map(|b| format!("at event {}: {}", b.seq, b.reason));
    out.line(&ordered(&[
        ("end", &json!(true)),
        ("rows", &json!(rows)),
        ("counts", &Value::Object(counts)),
        ("chain_head", &json!({ "seq": head.0, "hash": head.1 })),
    ])?)?;
    Ok(Exported { rows, events, broken, files, blobs })
}

/// The header and end line of an export, and its rows counted per table, as read by [`scan`].
struct Scanned {
    source: String,
    rows: u64,
    counts: BTreeMap<Table, u64>,
    chain_head: (i64, String),
}

/// One line of an export, parsed.
enum Line {
    Row(Table, Value),
    End(Value),
}

fn parse_line(number: usize, text: &str, allowed: &BTreeSet<Table>) -> anyhow::Result<Line> {
    let value: Value =
        serde_json::from_str(text).with_context(|| format!("line {number}: not a valid line of an export"))?;
    if value.get("end").is_some() {
        if value["end"] != json!(true) {
            bail!("line {number}: a bad end line");
        }
        return Ok(Line::End(value));
    }
    let Some(name) = value.get("table").and_then(Value::as_str) else {
        bail!("line {number}: neither a row (no \"table\") nor the end line");
    };
    let Some(table) = Table::from_name(name).filter(|t| allowed.contains(t)) else {
        bail!("line {number}: the table {name:?} is not one of the header's");
    };
    let Some(row) = value.get("row") else { bail!("line {number}: a row line without its \"row\"") };
    table.cells(row).with_context(|| format!("line {number}"))?;
    Ok(Line::Row(table, row.clone()))
}

/// The header: the tables it announces (every one this build knows).
fn parse_header(text: Option<std::io::Result<String>>) -> anyhow::Result<(String, BTreeSet<Table>)> {
    let Some(text) = text else { bail!("the export is empty") };
    let header: Value = serde_json::from_str(&text.context("reading line 1")?)
        .context("line 1: not the header of an onething export")?;
    if header["format"] != FORMAT {
        bail!("line 1: not an onething export (format {})", header["format"]);
    }
    if header["version"].as_u64() != Some(VERSION) {
        bail!("line 1: an export of version {}; this onething reads version {VERSION}", header["version"]);
    }
    let mut tables = BTreeSet::new();
    for name in header["tables"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let name = name.as_str().unwrap_or_default();
        let table = Table::from_name(name)
            .with_context(|| format!("line 1: the export has a table {name:?} this onething does not know"))?;
        tables.insert(table);
    }
    Ok((header["source"].as_str().unwrap_or("unknown").to_string(), tables))
}

fn open_lines(input: &Path) -> anyhow::Result<std::io::Lines<BufReader<File>>> {
    let file = File::open(input).with_context(|| format!("opening {}", input.display()))?;
    Ok(BufReader::new(file).lines())
}

/// Reads the whole export once without writing anything: every line parses, rows come table by table in
/// [`Table::ALL`] order, and the end line is there with the same counts.
fn scan(input: &Path) -> anyhow::Result<Scanned> {
    let mut lines = open_lines(input)?;
    let (source, allowed) = parse_header(lines.next())?;
    let mut counts: BTreeMap<Table, u64> = BTreeMap::new();
    let mut current: Option<Table> = None;
    let mut files = BTreeSet::new();
    let mut blobs = BTreeSet::new();
    let mut end: Option<(usize, Value)> = None;
    let mut number = 1;
    for text in lines {
        number += 1;
        let text = text.with_context(|| format!("reading line {number}"))?;
        if text.trim().is_empty() {
            continue;
        }
        if let Some((at, _)) = &end {
            bail!("line {number}: more after the end line (line {at})");
        }
        match parse_line(number, &text, &allowed)? {
            Line::End(value) => end = Some((number, value)),
            Line::Row(table, row) => {
                if let Some(previous) = current.filter(|p| *p > table) {
                    bail!("line {number}: a row of {table} after the rows of {previous} (tables come in order)");
                }
                current = Some(table);
                *counts.entry(table).or_default() += 1;
                let sha256 = row["sha256"].as_str().map(str::to_string);
                match (table, sha256) {
                    (Table::Materials, Some(sha256)) => {
                        files.insert(sha256);
                    }
                    (Table::Blobs, Some(sha256)) => {
                        blobs.insert(sha256);
                    }
                    _ => {}
                }
            }
        }
    }
    let Some((at, end)) = end else { bail!("the export ends at line {number} without its end line: it is truncated") };
    let rows: u64 = counts.values().sum();
    if end["rows"].as_u64() != Some(rows) {
        bail!("line {at}: the end line counts {} rows, the file holds {rows}: it is damaged", end["rows"]);
    }
    if let Some(expected) = end["counts"].as_object() {
        for (name, n) in expected {
            let table = Table::from_name(name).with_context(|| format!("line {at}: an unknown table {name:?}"))?;
            let found = counts.get(&table).copied().unwrap_or(0);
            if n.as_u64() != Some(found) {
                bail!("line {at}: the end line counts {n} rows of {name}, the file holds {found}");
            }
        }
    }
    let head = &end["chain_head"];
    let (Some(seq), Some(hash)) = (head["seq"].as_i64(), head["hash"].as_str()) else {
        bail!("line {at}: the end line has no chain head");
    };
    let missing = missing_blobs(&files, &blobs);
    if !missing.is_empty() {
        report_missing(&missing);
        bail!("the export names material files it does not carry: it is damaged");
    }
    Ok(Scanned { source, rows, counts, chain_head: (seq, hash.to_string()) })
}

/// `onething import`: checks the whole export, then restores it into an empty store table by table, and
/// verifies the event chain.
pub fn import(input: &Path, data_dir: &Path, database: &DatabaseArgs) -> anyhow::Result<ExitCode> {
    let scanned = scan(input).with_context(|| format!("checking {}", input.display()))?;
    eprintln!(
        "{}: an export of {} rows from {}; importing into {}",
        input.display(),
        scanned.rows,
        scanned.source,
        backend_name(database)
    );
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    runtime.block_on(async move {
        let store = open_store(data_dir, database, true).await?;
        let done = restore_all(store.as_ref(), input, &scanned).await;
        let verified = match done {
            Ok(()) => onething_store::verify_chain(store.as_ref()).await.context("verifying the event chain"),
            Err(e) => Err(e),
        };
        let head = store.chain_head().await;
        store.close().await;
        let report = verified?;
        let mut ok = true;
        match report.broken {
            None => println!("ok: {} events, the chain is intact", report.events),
            Some(b) => {
                ok = false;
                println!("broken at event {}: {}", b.seq, b.reason);
            }
        }
        if head? != scanned.chain_head {
            ok = false;
            eprintln!("the imported chain head differs from the export's end line");
        }
        Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    })
}

/// Refuses a store that holds anything, then restores every row of the export in batches.
async fn restore_all(store: &dyn Store, input: &Path, scanned: &Scanned) -> anyhow::Result<()> {
    for table in Table::ALL {
        let rows = store.dump(table, None, 1).await.with_context(|| format!("reading {table}"))?;
        let holds = match table {
            Table::ChainHead => rows.first().is_some_and(|r| r["seq"] != json!(0)),
            _ => !rows.is_empty(),
        };
        if holds {
            bail!(
                "the target already holds data ({table}): import only into a new installation (a new --data-dir, \
                 or an empty --database-schema)"
            );
        }
    }
    let bar = ProgressBar::new(scanned.rows).with_style(
        ProgressStyle::with_template("{prefix:>18} [{bar:32}] {human_pos}/{human_len} rows {per_sec}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut lines = open_lines(input)?;
    let (_, allowed) = parse_header(lines.next())?;
    let mut batch: Vec<Value> = Vec::with_capacity(RESTORE_BATCH);
    let mut current: Option<Table> = None;
    let mut restored: BTreeMap<Table, u64> = BTreeMap::new();
    let mut number = 1;
    let flush = |table: Table, batch: Vec<Value>, number: usize| {
        let n = batch.len() as u64;
        let bar = bar.clone();
        async move {
            store.restore(table, batch).await.with_context(|| {
                format!(
                    "restoring the rows of {table} up to line {number} (the target now holds part of the export: \
                     remove it before trying again)"
                )
            })?;
            bar.inc(n);
            anyhow::Ok(n)
        }
    };
    for text in lines {
        number += 1;
        let text = text.with_context(|| format!("reading line {number}"))?;
        if text.trim().is_empty() {
            continue;
        }
        let Line::Row(table, row) = parse_line(number, &text, &allowed)? else { break };
        if current.is_some_and(|c| c != table) || batch.len() >= RESTORE_BATCH {
            let previous = current.unwrap_or(table);
            let n = flush(previous, std::mem::take(&mut batch), number - 1).await?;
            *restored.entry(previous).or_default() += n;
            if previous != table {
                bar.set_prefix(table.name());
            }
        }
        if current.is_none() {
            bar.set_prefix(table.name());
        }
        current = Some(table);
        batch.push(row);
    }
    if let Some(table) = current {
        let n = flush(table, batch, number).await?;
        *restored.entry(table).or_default() += n;
    }
    bar.finish_and_clear();
    for table in Table::ALL {
        let n = restored.get(&table).copied().unwrap_or(0);
        if n != scanned.counts.get(&table).copied().unwrap_or(0) {
            bail!("{table}: restored {n} rows, the export holds {}", scanned.counts.get(&table).copied().unwrap_or(0));
        }
        eprintln!("{:>18}: {n} rows", table.name());
    }
    Ok(())
}
