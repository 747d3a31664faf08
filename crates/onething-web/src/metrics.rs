//! Prometheus metrics at `/metrics`: requests by method, route template (never the raw path, to bound the
//! label set) and status, with their total duration.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// (method, route template, status).
type Key = (String, String, u16);
/// (count, total seconds).
type Tally = (u64, f64);

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<Key, Tally>>,
}

pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let route =
        req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let start = Instant::now();
    let resp = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    if let Ok(mut map) = state.metrics.requests.lock() {
        let e = map.entry((method, route, resp.status().as_u16())).or_insert((0, 0.0));
        e.0 += 1;
        e.1 += secs;
    }
    resp
}

pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    out.push_str("# HELP onething_http_requests_total HTTP requests by method, route and status.\n");
    out.push_str("# TYPE onething_http_requests_total counter\n");
    let snapshot: Vec<(Key, Tally)> =
        state.metrics.requests.lock().map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect()).unwrap_or_default();
    for ((m, r, s), (n, _)) in &snapshot {
        let _ = writeln!(out, "onething_http_requests_total{{method=\"{m}\",route=\"{r}\",status=\"{s}\"}} {n}");
    }
    out.push_str("# HELP onething_http_request_seconds_total Time spent answering, by method, route and status.\n");
    out.push_str("# TYPE onething_http_request_seconds_total counter\n");
    for ((m, r, s), (_, secs)) in &snapshot {
        let _ = writeln!(
            out,
            "onething_http_request_seconds_total{{method=\"{m}\",route=\"{r}\",status=\"{s}\"}} {secs:.6}"
        );
    }
    let cases = state.service.count_cases().await.unwrap_or(0);
    out.push_str("# HELP onething_cases Cases stored.\n# TYPE onething_cases gauge\n");
    let _ = writeln!(out, "onething_cases {cases}");
    ([("content-type", "text/plain; version=0.0.4")], out)
}
