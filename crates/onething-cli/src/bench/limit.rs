//! (a) The physical limit of the storage: durable commits per second of a trivial row, through the store's own
//! commit path — single (one client, one commit at a time: the commit latency) and grouped (many clients at
//! once: what group commit makes of the disk) — and the raw `fdatasync` latency of the disk under the data
//! directory, below any database.
//!
//! Two trivial rows are measured: a supervision record (one upserted row, no event) and a bare event (one row of
//! the hash-chained log, which every state change also writes). The record is the floor the storage itself
//! sets; the event adds the chain (on PostgreSQL, a row lock held until COMMIT that orders all appenders).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use onething_store::{Probe, Store};

use super::progress::Progress;
use super::stats::{CpuMark, CpuUse, Latency};

/// Commits counted over a time, with their latency.
#[derive(Clone)]
pub struct Rate {
    pub clients: usize,
    pub commits: u64,
    pub seconds: f64,
    pub latency: Latency,
    pub cpu: CpuUse,
}

impl Rate {
    pub fn per_sec(&self) -> f64 {
        if self.seconds > 0.0 { self.commits as f64 / self.seconds } else { 0.0 }
    }
}

/// What (a) measured on one backend.
#[derive(Clone)]
pub struct LimitResult {
    /// Raw `write(8 KiB) + fdatasync` on a file in the data directory.
    pub fsync: Latency,
    pub single_record: Rate,
    pub grouped_record: Rate,
    pub single_event: Rate,
    pub grouped_event: Rate,
}

impl LimitResult {
    /// The grouped limit the lifecycle ratio is taken against: the faster of the two trivial rows (the more
    /// demanding yardstick).
    pub fn grouped_limit(&self) -> f64 {
        self.grouped_record.per_sec().max(self.grouped_event.per_sec())
    }
}

#[derive(Clone, Copy)]
enum Trivial {
    Record,
    Event,
}

/// Runs `clients` loops of commits for `seconds`.
async fn measure(
    store: &Arc<dyn Store>,
    kind: Trivial,
    clients: usize,
    seconds: f64,
    progress: &Progress,
    label: &str,
) -> anyhow::Result<Rate> {
    let bar = progress.timed(seconds, label);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let counter = Arc::new(AtomicU64::new(0));
    let cpu = CpuMark::now();
    let start = Instant::now();
    let mut joins = Vec::with_capacity(clients);
    for client in 0..clients {
        let store = store.clone();
        let counter = counter.clone();
        joins.push(tokio::spawn(async move {
            let mut latency = Latency::new();
            while Instant::now() < deadline {
                let probe = match kind {
                    Trivial::Record => Probe::Record { client: u32::try_from(client).unwrap_or(u32::MAX) },
                    Trivial::Event => Probe::Event,
                };
                let t = Instant::now();
                store.probe(probe).await?;
                latency.record(t.elapsed());
                counter.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, onething_store::StoreError>(latency)
        }));
    }
    let ticker = {
        let bar = bar.clone();
        let counter = counter.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                bar.inc(1);
                let n = counter.load(Ordering::Relaxed);
                bar.set_message(format!("{} commits", super::stats::thousands(n)));
            }
        })
    };
    let mut latency = Latency::new();
    let mut first_error = None;
    for j in joins {
        match j.await {
            Ok(Ok(l)) => latency.merge(&l),
            Ok(Err(e)) => first_error = first_error.or(Some(anyhow::Error::from(e))),
            Err(e) => first_error = first_error.or(Some(anyhow::Error::from(e))),
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu.since();
    ticker.abort();
    bar.finish_and_clear();
    if let Some(e) = first_error {
        return Err(e.context(format!("{label}: a commit failed")));
    }
    Ok(Rate { clients, commits: latency.count(), seconds, latency, cpu })
}

/// `write(8 KiB) + fdatasync` in a loop for `seconds`, on a file in `dir` (then removed).
fn fsync_probe(dir: &Path, seconds: f64) -> anyhow::Result<Latency> {
    let path = dir.join("fsync-probe.bin");
    let mut file = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let block = vec![0x5au8; 8192];
    let mut latency = Latency::new();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut written = 0u64;
    while Instant::now() < deadline {
        let t = Instant::now();
        file.write_all(&block)?;
        file.sync_data()?;
        latency.record(t.elapsed());
        written += block.len() as u64;
        // Keep the file small: start over every 64 MiB, like a recycled WAL segment.
        if written >= 64 << 20 {
            file.set_len(0)?;
            file.sync_all()?;
            written = 0;
        }
    }
    drop(file);
    std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    Ok(latency)
}

/// Runs (a) on an open store.
pub async fn run(
    store: &Arc<dyn Store>,
    dir: &Path,
    grouped_clients: usize,
    seconds: f64,
    progress: &Progress,
    backend: &str,
) -> anyhow::Result<LimitResult> {
    let fsync_dir = dir.to_path_buf();
    let fsync_seconds = seconds.min(2.0);
    let fsync = tokio::task::spawn_blocking(move || fsync_probe(&fsync_dir, fsync_seconds))
        .await
        .context("the fsync probe")??;
    let single_record =
        measure(store, Trivial::Record, 1, seconds, progress, &format!("{backend} (a) record single")).await?;
    let grouped_record =
        measure(store, Trivial::Record, grouped_clients, seconds, progress, &format!("{backend} (a) record grouped"))
            .await?;
    let single_event =
        measure(store, Trivial::Event, 1, seconds, progress, &format!("{backend} (a) event single")).await?;
    let grouped_event =
        measure(store, Trivial::Event, grouped_clients, seconds, progress, &format!("{backend} (a) event grouped"))
            .await?;
    Ok(LimitResult { fsync, single_record, grouped_record, single_event, grouped_event })
}
