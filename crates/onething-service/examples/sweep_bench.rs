//! The deadline worker's cost with many open items: loads N watched deadlines (default 1,000,000) into a
//! SQLite store and times `Service::sweep` when nothing is due (the common case: it must not grow with the
//! number of open items that cross nothing), the claim of a due batch, and the daily colour snapshot.
//!
//!     cargo run --release -p onething-service --example sweep_bench -- [N] [DIR]
//!
//! Figures are printed; nothing passes or fails on time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use onething_core::calendar::{WorkClock, china_tz};
use onething_core::source::SourceFile;
use onething_service::{Service, ServiceConfig, TimeSource, User};
use onething_store::{Changeset, Store, WatchRow, WatchWrite};

struct Fixed(Timestamp);
impl TimeSource for Fixed {
    fn now(&self) -> Timestamp {
        self.0
    }
}

fn catalog() -> Vec<SourceFile> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog");
    let mut out = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                out.push(SourceFile::new(p.display().to_string(), std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let dir = std::env::args()
        .nth(2)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("onething-sweep-bench"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(
        onething_store_sqlite::SqliteStore::open(onething_store_sqlite::SqliteOptions::new(dir.join("db")))
            .await
            .unwrap(),
    );
    let now = "2026-03-02T09:00:00".parse::<jiff::civil::DateTime>().unwrap().to_zoned(china_tz()).unwrap().timestamp();
    let departments = [
        "tax",
        "customs",
        "hrss",
        "medical-insurance",
        "housing-fund",
        "pboc",
        "public-security",
        "approval",
        "transport",
        "health",
    ];
    let colours = ["green", "green", "green", "blue", "yellow"];

    // Load: N open task watches whose next change lies 1 hour to 30 days ahead, in batches of 2,000 committed by
    // 8 concurrent writers (the SQLite writer groups them).
    let started = Instant::now();
    let batch = 2_000;
    let mut joins = Vec::new();
    let chunks: Vec<usize> = (0..n).step_by(batch).collect();
    let per_worker = chunks.len().div_ceil(8);
    for w in 0..8 {
        let store = store.clone();
        let mine: Vec<usize> = chunks.iter().skip(w * per_worker).take(per_worker).copied().collect();
        joins.push(tokio::spawn(async move {
            for start in mine {
                let watches = (start..(start + batch).min(n))
                    .map(|i| WatchWrite {
                        row: WatchRow {
                            subject: format!("task:{i:08}"),
                            case_id: Some(format!("case-{:08}", i / 3)),
                            department: Some(departments[i % departments.len()].to_string()),
                            colour: colours[i % colours.len()].to_string(),
                            next_check_at: Some(
                                now + SignedDuration::from_mins(60 + (i as i64 * 7919) % (30 * 24 * 60)),
                            ),
                            due_at: Some(now + SignedDuration::from_hours(24 * 30)),
                            version: 0,
                            lease_owner: None,
                            lease_until: None,
                        },
                        expected_version: None,
                    })
                    .collect();
                store.commit(Changeset { watches, ..Changeset::default() }).await.unwrap();
            }
        }));
    }
    for j in joins {
        j.await.unwrap();
    }
    let load_secs = started.elapsed().as_secs_f64();
    println!("loaded {n} open task watches in {load_secs:.1} s ({:.0} watches/s)", n as f64 / load_secs);

    let service =
        Service::start(store.clone(), catalog(), WorkClock::official(), Arc::new(Fixed(now)), ServiceConfig::default())
            .await
            .unwrap();
    let node = "bench-node";
    // The first sweep of a day also takes the day's colour snapshot (one GROUP BY over the watches).
    let t = Instant::now();
    let r = service.sweep(node).await.unwrap();
    let first_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(r.claimed, 0);
    println!("first sweep of the day (with the colour snapshot): {first_ms:.1} ms");
    // Sweeps that cross nothing: nothing is due.
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let r = service.sweep(node).await.unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(r.claimed, 0);
    }
    let p99 = {
        let mut v = times.clone();
        v.sort_by(f64::total_cmp);
        v[(v.len() * 99 / 100).min(v.len() - 1)]
    };
    println!(
        "sweep that crosses nothing, {n} open items: median {:.3} ms, p99 {p99:.3} ms (200 sweeps)",
        median(times)
    );
    // A claim of a due batch (500 of the N come due), at the store: the index range scan plus the lease write.
    let later = now + SignedDuration::from_mins(61);
    let t = Instant::now();
    let claimed = store
        .claim_watches(node, later + SignedDuration::from_hours(24), later + SignedDuration::from_hours(25), 500)
        .await
        .unwrap();
    println!("claim of a due batch: {} watches in {:.1} ms", claimed.len(), t.elapsed().as_secs_f64() * 1000.0);
    let t = Instant::now();
    let counts = store.colour_counts("task:").await.unwrap();
    println!(
        "open tasks by department × colour over {n} watches: {} groups in {:.1} ms",
        counts.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    let red = store.watches_by_colour("task:", "yellow", Some("tax"), 100).await.unwrap();
    println!("a department's yellow list (100 of them): {} in {:.1} ms", red.len(), t.elapsed().as_secs_f64() * 1000.0);
    let _ = User::system_supervisor();
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
