//! `onething bench http`: a real `onething serve --demo` (spawned here, loopback only) under an HTTP load tool,
//! each run bounded in time: status reads (GET a concluded case), submissions at full speed (POST a filing
//! with a unique Idempotency-Key each, through a wrk Lua script) and writes at a fixed rate (POST a filing,
//! `oha -q`, for the p99 of a write at 1,000 req/s). The tool is `oha` when installed, else `wrk`; without a
//! fixed-rate tool the fixed-rate run is an open-loop client of our own, timed from each request's scheduled
//! start (no coordinated omission).

use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde_json::Value;

use super::Target;
use super::backend::{self, Backend};
use super::kill::{Tokens, filing, http_lifecycle};
use super::life;
use super::progress::Progress;
use super::server::{Client, Server};
use super::stats::{CpuMark, Latency, ms, per_sec, thousands};

#[derive(Args, Debug)]
pub struct HttpArgs {
    #[command(flatten)]
    target: Target,
    /// Seconds each load run lasts.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent connections of the full-speed runs.
    #[arg(long, default_value_t = 64)]
    connections: u32,
    /// The fixed rate of the write-latency run, in requests per second.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// The load tool (default: oha when installed, else wrk).
    #[arg(long, value_enum)]
    tool: Option<Tool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Tool {
    Oha,
    Wrk,
}

/// The figures of one load run.
struct Run {
    what: String,
    tool: String,
    requests: u64,
    per_sec: f64,
    p50_us: u64,
    p99_us: u64,
    failed: u64,
    /// The server's CPU (cores) and the machine's busy share during the run.
    cpu: Option<super::stats::CpuUse>,
}

impl Run {
    fn line(&self) -> String {
        let cpu = self.cpu.map_or_else(String::new, |c| {
            format!("; server {:.2} cores, machine {:.0} % busy", c.process_cores, c.machine_busy * 100.0)
        });
        format!(
            "{}: {} ({} requests, {} not 2xx), p50 {}, p99 {}{cpu}  [{}]",
            self.what,
            per_sec(self.per_sec),
            thousands(self.requests),
            thousands(self.failed),
            ms(self.p50_us),
            ms(self.p99_us),
            self.tool
        )
    }
}

async fn installed(tool: &str) -> bool {
    tokio::process::Command::new(tool)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .is_ok()
}

/// A wrk/oha duration like `1.23ms`, `456.78us`, `1.02s` in microseconds.
fn wrk_duration_us(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, unit) = s.find(|c: char| c.is_ascii_alphabetic()).map(|i| s.split_at(i))?;
    let v: f64 = num.parse().ok()?;
    let us = match unit {
        "us" => v,
        "ms" => v * 1e3,
        "s" => v * 1e6,
        "m" => v * 60e6,
        _ => return None,
    };
    Some(us.round() as u64)
}

/// Parses `wrk --latency` output.
fn parse_wrk(what: &str, out: &str) -> anyhow::Result<Run> {
    let mut run = Run {
        what: what.into(),
        tool: "wrk".into(),
        requests: 0,
        per_sec: 0.0,
        p50_us: 0,
        p99_us: 0,
        failed: 0,
        cpu: None,
    };
    for line in out.lines() {
        let l = line.trim();
        if let Some(v) = l.strip_prefix("Requests/sec:") {
            run.per_sec = v.trim().parse().unwrap_or(0.0);
        } else if let Some(v) = l.strip_prefix("50%") {
            run.p50_us = wrk_duration_us(v).unwrap_or(0);
        } else if let Some(v) = l.strip_prefix("99%") {
            run.p99_us = wrk_duration_us(v).unwrap_or(0);
        } else if l.contains("requests in") {
            run.requests = l.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
        } else if let Some(v) = l.strip_prefix("Non-2xx or 3xx responses:") {
            run.failed += v.trim().parse().unwrap_or(0);
        } else if let Some(v) = l.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 12"
            run.failed += v.split(',').filter_map(|p| p.split_whitespace().nth(1)?.parse::<u64>().ok()).sum::<u64>();
        }
    }
    if run.requests == 0 {
        anyhow::bail!("wrk printed no result:\n{out}");
    }
    Ok(run)
}

/// Parses `oha --output-format json` output.
fn parse_oha(what: &str, out: &str) -> anyhow::Result<Run> {
    let v: Value = serde_json::from_str(out).with_context(|| format!("oha printed no JSON:\n{out}"))?;
    let secs = |x: &Value| (x.as_f64().unwrap_or(0.0) * 1e6).round() as u64;
    let codes = &v["statusCodeDistribution"];
    let mut ok = 0u64;
    let mut failed = 0u64;
    if let Some(map) = codes.as_object() {
        for (code, n) in map {
            let n = n.as_u64().unwrap_or(0);
            if code.starts_with('2') { ok += n } else { failed += n }
        }
    }
    if let Some(map) = v["errorDistribution"].as_object() {
        // Requests still in flight when the time is up are cut off by oha: not failures of the server.
        failed += map.iter().filter(|(k, _)| !k.contains("deadline")).filter_map(|(_, n)| n.as_u64()).sum::<u64>();
    }
    Ok(Run {
        what: what.into(),
        tool: "oha".into(),
        requests: ok + failed,
        per_sec: v["summary"]["requestsPerSec"].as_f64().unwrap_or(0.0),
        p50_us: secs(&v["latencyPercentiles"]["p50"]),
        p99_us: secs(&v["latencyPercentiles"]["p99"]),
        failed,
        cpu: None,
    })
}

async fn output(cmd: &mut tokio::process::Command) -> anyhow::Result<String> {
    let out = cmd.output().await.context("running the load tool")?;
    if !out.status.success() {
        anyhow::bail!("the load tool failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The wrk script of the submissions: a unique Idempotency-Key per request.
fn submissions_script(token: &str, body: &str, prefix: &str) -> String {
    format!(
        r#"local counter = 0
local threads = 0
tid = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function request()
  counter = counter + 1
  local headers = {{}}
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer {token}"
  headers["Idempotency-Key"] = "{prefix}-" .. tid .. "-" .. counter
  return wrk.format("POST", "/api/v1/cases", headers, [==[{body}]==])
end
"#
    )
}

/// An open-loop client at a fixed rate: each request is timed from when it was due, not when it was sent.
async fn fixed_rate(api: &Client, token: &str, body: &Value, rate: u32, seconds: u64) -> Run {
    let latency = Arc::new(Mutex::new(Latency::new()));
    let failed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let period = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let start = Instant::now();
    let total = u64::from(rate) * seconds;
    let mut joins = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for _ in 0..total {
        let due = ticker.tick().await;
        let (api, token, body, latency, failed) =
            (api.clone(), token.to_string(), body.clone(), latency.clone(), failed.clone());
        joins.push(tokio::spawn(async move {
            let ok = matches!(api.post("/api/v1/cases", &token, &body).await, Ok(r) if r.status == 201);
            let took = due.elapsed();
            if let Ok(mut l) = latency.lock() {
                l.record(took);
            }
            if !ok {
                failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    for j in joins {
        let _ = j.await;
    }
    let secs = start.elapsed().as_secs_f64();
    let l = latency.lock().map(|l| l.clone()).unwrap_or_else(|_| Latency::new());
    Run {
        what: String::new(),
        tool: "bench open-loop client".into(),
        requests: l.count(),
        per_sec: l.count() as f64 / secs.max(1e-9),
        p50_us: l.quantile_us(0.5),
        p99_us: l.quantile_us(0.99),
        failed: failed.load(std::sync::atomic::Ordering::Relaxed),
        cpu: None,
    }
}

struct HttpOutcome {
    runs: Vec<Run>,
    /// The server's RSS idle after a start without seeding, after the four sign-ins, and its peak, in MB.
    rss_idle: Option<f64>,
    rss_signed_in: Option<f64>,
    server_rss: Option<f64>,
}

async fn once(args: &HttpArgs, backend: &Backend, tool: Tool, progress: &Progress) -> anyhow::Result<HttpOutcome> {
    let name = backend.name();
    let scratch = args.target.scratch(&format!("http-{name}"))?;
    let schema = Backend::scratch_schema("http");
    let db_args = backend.serve_args(&schema);
    let result = load(args, &scratch.dir, &db_args, tool, progress, name).await;
    if let Backend::Postgres(url) = backend {
        backend::drop_schema(url, &schema).await;
    }
    result
}

async fn load(
    args: &HttpArgs,
    dir: &Path,
    db_args: &[String],
    tool: Tool,
    progress: &Progress,
    name: &str,
) -> anyhow::Result<HttpOutcome> {
    let catalog = crate::catalog_dir::load(&args.target.catalog)?;
    let results = life::results_by_item(&catalog);
    // A first start creates the demo users (fourteen Argon2 hashes); the measured server is a restart that keeps
    // them, as a deployment runs.
    let mut seeder = Server::start(dir, db_args, &args.target.catalog, true).await?;
    seeder.stop().await;
    let mut server = Server::start(dir, db_args, &args.target.catalog, false).await?;
    let rss_idle = super::stats::rss_of_mb(server.pid);
    let mut rss_signed_in = None;
    let outcome = async {
        let api = server.client()?;
        let tokens = Tokens::login(&api, &catalog).await?;
        rss_signed_in = super::stats::rss_of_mb(server.pid);
        let id = match http_lifecycle(&api, &tokens, &results, "http-prepared", |_| {}).await {
            Ok(id) => id,
            Err(super::kill::Stop::Gone) => anyhow::bail!("the server went away while preparing a case"),
            Err(super::kill::Stop::Unexpected(e)) => anyhow::bail!("preparing a concluded case: {e}"),
        };
        let url = format!("http://{}/api/v1/cases/{id}", server.addr);
        let auth = format!("Authorization: Bearer {}", tokens.applicant);
        let secs = args.seconds.to_string();
        let conns = args.connections.to_string();
        let body = filing("http-fixed-rate");
        let body_text = body.to_string();
        let mut runs = Vec::new();

        let pid = server.pid;
        let bar = progress.timed(args.seconds as f64, &format!("{name} http: status reads"));
        let mark = CpuMark::of_pid(pid);
        let reads = format!("status reads: GET /api/v1/cases/{{id}}, {} connections", args.connections);
        let mut run = match tool {
            Tool::Oha => parse_oha(
                &reads,
                &output(tokio::process::Command::new("oha").args([
                    "-z",
                    &format!("{secs}s"),
                    "-c",
                    &conns,
                    "--no-tui",
                    "--output-format",
                    "json",
                    "-H",
                    &auth,
                    &url,
                ]))
                .await?,
            )?,
            Tool::Wrk => parse_wrk(
                &reads,
                &output(tokio::process::Command::new("wrk").args([
                    "-t2",
                    "-c",
                    &conns,
                    "-d",
                    &format!("{secs}s"),
                    "--latency",
                    "-H",
                    &auth,
                    &url,
                ]))
                .await?,
            )?,
        };
        bar.finish_and_clear();
        run.cpu = Some(mark.until(CpuMark::of_pid(pid)));
        run.what = reads;
        runs.push(run);

        // Submissions at full speed: each a new case under a unique Idempotency-Key (wrk's Lua script).
        if installed("wrk").await {
            let bar = progress.timed(args.seconds as f64, &format!("{name} http: submissions"));
            let script = dir.join("submissions.lua");
            let prefix = format!("wrk-{}", jiff::Timestamp::now().as_millisecond());
            std::fs::write(&script, submissions_script(&tokens.applicant, &body_text, &prefix))?;
            let what = format!("submissions: POST /api/v1/cases + Idempotency-Key, {} connections", args.connections);
            let base = format!("http://{}", server.addr);
            let script_arg = script.display().to_string();
            let mark = CpuMark::of_pid(pid);
            let out = output(tokio::process::Command::new("wrk").args([
                "-t2",
                "-c",
                &conns,
                "-d",
                &format!("{secs}s"),
                "--latency",
                "-s",
                &script_arg,
                &base,
            ]))
            .await?;
            bar.finish_and_clear();
            let mut run = parse_wrk(&what, &out)?;
            run.cpu = Some(mark.until(CpuMark::of_pid(pid)));
            runs.push(run);
        }

        // Writes at a fixed rate: the p99 of a write at `rate` req/s.
        let bar = progress.timed(args.seconds as f64, &format!("{name} http: fixed-rate writes"));
        let what = format!("writes at a fixed {} req/s: POST /api/v1/cases", thousands(u64::from(args.rate)));
        let mark = CpuMark::of_pid(pid);
        let mut run = if installed("oha").await {
            let post = format!("http://{}/api/v1/cases", server.addr);
            let out = output(tokio::process::Command::new("oha").args([
                "-z",
                &format!("{secs}s"),
                "-q",
                &args.rate.to_string(),
                "-c",
                &conns,
                "--no-tui",
                "--output-format",
                "json",
                "-m",
                "POST",
                "-T",
                "application/json",
                "-H",
                &auth,
                "-d",
                &body_text,
                &post,
            ]))
            .await?;
            parse_oha(&what, &out)?
        } else {
            fixed_rate(&api, &tokens.applicant, &body, args.rate, args.seconds).await
        };
        bar.finish_and_clear();
        run.cpu = Some(mark.until(CpuMark::of_pid(pid)));
        run.what = what;
        runs.push(run);
        Ok::<_, anyhow::Error>(runs)
    }
    .await;
    let server_rss = super::stats::peak_rss_of_mb(server.pid);
    server.stop().await;
    Ok(HttpOutcome { runs: outcome?, rss_idle, rss_signed_in, server_rss })
}

/// `onething bench http`.
pub async fn run(args: HttpArgs) -> anyhow::Result<ExitCode> {
    let tool = match args.tool {
        Some(t) => t,
        None if installed("oha").await => Tool::Oha,
        None if installed("wrk").await => Tool::Wrk,
        None => {
            anyhow::bail!("neither oha nor wrk is installed: `cargo install oha --locked` or `apt-get install wrk`")
        }
    };
    let progress = Progress::new(args.target.quiet);
    let mut failed = false;
    let mut targets = Vec::new();
    for backend in args.target.backends()? {
        let name = backend.name();
        println!("http — {name}: onething serve --demo on loopback, {} s per run", args.seconds);
        match once(&args, &backend, tool, &progress).await {
            Ok(o) => {
                for r in &o.runs {
                    println!("  {}", r.line());
                }
                let show = |v: Option<f64>| v.map_or_else(|| "?".to_string(), |v| format!("{v:.0} MB"));
                println!(
                    "  server RSS: {} idle after start, {} after four sign-ins (Argon2id, 19 MiB each), peak {}",
                    show(o.rss_idle),
                    show(o.rss_signed_in),
                    show(o.server_rss)
                );
                if let Some(reads) = o.runs.first() {
                    targets.push(format!(
                        "  {} {name}: status reads ≥ 10,000 req/s: {}",
                        if reads.per_sec >= 10_000.0 { "[met]   " } else { "[missed]" },
                        per_sec(reads.per_sec)
                    ));
                }
                if let Some(w) = o.runs.last() {
                    targets.push(format!(
                        "  {} {name}: write p99 < 20 ms at {} req/s: {} (achieved {})",
                        if w.p99_us < 20_000 && w.failed == 0 { "[met]   " } else { "[missed]" },
                        thousands(u64::from(args.rate)),
                        ms(w.p99_us),
                        per_sec(w.per_sec)
                    ));
                }
                if let Some(rss) = o.server_rss {
                    targets.push(format!(
                        "  {} {name}: server peak RSS < 150 MB: {rss:.0} MB",
                        if rss < 150.0 { "[met]   " } else { "[missed]" }
                    ));
                }
            }
            Err(e) => {
                failed = true;
                println!("  FAILED: {e:#}");
            }
        }
    }
    println!("targets");
    for t in targets {
        println!("{t}");
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wrk() {
        let out = "Running 10s test @ http://127.0.0.1:1/\n  2 threads and 64 connections\n  Latency Distribution\n     50%    1.10ms\n     75%    2.00ms\n     99%  350.00us\n  123456 requests in 10.00s, 12.34MB read\n  Non-2xx or 3xx responses: 5\nRequests/sec:  12345.67\n";
        let r = parse_wrk("x", out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.requests, 123_456);
        assert_eq!(r.p50_us, 1100);
        assert_eq!(r.p99_us, 350);
        assert_eq!(r.failed, 5);
        assert!((r.per_sec - 12345.67).abs() < 0.01);
        assert_eq!(wrk_duration_us("1.02s"), Some(1_020_000));
    }
}
