//! What the page tests share: an app on a temporary SQLite store with one user per role, requests through the
//! real router, and sign-in through the login form.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use onething_core::calendar::WorkClock;
use onething_core::source::SourceFile;
use onething_service::{Role, Service, ServiceConfig, TimeSource};
use tower::ServiceExt;

use crate::{AppState, router};

pub(super) const PASSWORD: &str = "page-test-password";

/// The page tests' clock: a Monday morning of a year the official calendar covers, whatever the machine's
/// date, moving with the test's own steps (a second per reading, so that events keep their order).
pub(super) struct TestTime(std::sync::Mutex<jiff::Timestamp>);

impl TestTime {
    pub(super) fn new() -> TestTime {
        let start: jiff::Timestamp = "2026-03-02T01:00:00Z".parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        TestTime(std::sync::Mutex::new(start))
    }
}

impl TimeSource for TestTime {
    fn now(&self) -> jiff::Timestamp {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t = t.checked_add(jiff::SignedDuration::from_secs(1)).unwrap_or(*t);
        *t
    }
}

pub(super) fn catalog_files() -> Vec<SourceFile> {
    fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                collect(&p, out);
            } else if p.extension().is_some_and(|x| x == "toml") {
                out.push(p);
            }
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../catalog");
    let mut paths = Vec::new();
    collect(&root, &mut paths);
    paths.sort();
    paths.into_iter().map(|p| SourceFile::new(p.display().to_string(), std::fs::read_to_string(&p).unwrap())).collect()
}

pub(super) struct App {
    pub(super) router: Router,
    pub(super) service: Arc<Service>,
    _dir: tempfile::TempDir,
}

pub(super) async fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let store =
        onething_store_sqlite::SqliteStore::open(onething_store_sqlite::SqliteOptions::new(dir.path().join("t.db")))
            .await
            .unwrap();
    let service = Service::start(
        Arc::new(store),
        catalog_files(),
        WorkClock::official(),
        Arc::new(TestTime::new()),
        ServiceConfig::default(),
    )
    .await
    .unwrap();
    for (name, role, dept) in [
        ("applicant", Role::Applicant, None),
        ("clerk", Role::Clerk, None),
        ("officer-approval", Role::Officer, Some("approval")),
        ("officer-transport", Role::Officer, Some("transport")),
        ("officer-finance", Role::Officer, Some("finance")),
        ("supervisor", Role::Supervisor, None),
    ] {
        service.save_user(name, PASSWORD, &[role], dept).await.unwrap();
    }
    let service = Arc::new(service);
    App { router: router(AppState::new(service.clone())), service, _dir: dir }
}

pub(super) struct Resp {
    pub(super) status: StatusCode,
    pub(super) headers: axum::http::HeaderMap,
    pub(super) body: String,
}

impl Resp {
    pub(super) fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(str::to_string)
    }

    pub(super) fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The value of the first hidden `_csrf` field.
    pub(super) fn csrf(&self) -> String {
        let at = self.body.find("name=\"_csrf\" value=\"").expect("a CSRF field");
        let rest = &self.body[at + 20..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

pub(super) async fn send(app: &App, req: Request<Body>) -> Resp {
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 10 << 20).await.unwrap();
    Resp { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

pub(super) fn get(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

pub(super) fn post(path: &str, cookie: &str, form: &[(&str, &str)]) -> Request<Body> {
    let body: Vec<String> =
        form.iter().map(|(k, v)| format!("{}={}", super::view::url_encode(k), super::view::url_encode(v))).collect();
    Request::post(path)
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.join("&")))
        .unwrap()
}

/// The `name=value` part of a Set-Cookie.
pub(super) fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or("").to_string()
}

/// Signs in through the login form; returns the session cookie pair and where it redirected.
pub(super) async fn sign_in(app: &App, user: &str) -> (String, String) {
    let page = send(app, get("/login", "")).await;
    assert_eq!(page.status, StatusCode::OK);
    let pre = pair(&page.cookie("ot_pre").expect("pre-session cookie"));
    let csrf = page.csrf();
    let r = send(app, post("/login", &pre, &[("_csrf", &csrf), ("username", user), ("password", PASSWORD)])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let session = r.cookie("ot_session").expect("session cookie");
    (pair(&session), r.location().to_string())
}
