//! A real `onething serve --demo` on port 0 with its own data directory, and a small JSON client for it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub const PASSWORD: &str = "demo-password-for-tests";

pub struct TestServer {
    child: Child,
    pub addr: String,
    pub data_dir: PathBuf,
    /// The database arguments: none (SQLite in the data directory) or PostgreSQL with a schema of its own.
    pub db_args: Vec<String>,
    _tmp: Option<tempfile::TempDir>,
}

/// When `ONETHING_TEST_POSTGRES_URL` is set, every test server runs on PostgreSQL, in a fresh schema named
/// after its data directory (so a restart on the same directory finds the same data).
pub fn db_args_for(dir: &Path) -> Vec<String> {
    match std::env::var("ONETHING_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            let name = dir.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
            let schema: String =
                format!("it_{name}").chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
            vec!["--database-url".into(), url, "--database-schema".into(), schema]
        }
        _ => Vec::new(),
    }
}

impl TestServer {
    /// A server on a fresh temporary data directory.
    pub fn start() -> TestServer {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut s = TestServer::start_in(tmp.path(), &[]);
        s._tmp = Some(tmp);
        s
    }

    /// A server on a given data directory (to restart on the same data), with extra arguments.
    pub fn start_in(dir: &Path, extra: &[&str]) -> TestServer {
        TestServer::start_on(dir, db_args_for(dir), extra)
    }

    /// A server on a given data directory and database (`db_args` empty: SQLite in the data directory, whatever
    /// `ONETHING_TEST_POSTGRES_URL` says), with extra arguments.
    pub fn start_on(dir: &Path, db_args: Vec<String>, extra: &[&str]) -> TestServer {
        let dir_arg = dir.display().to_string();
        let mut args = vec!["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir", &dir_arg];
        args.extend(db_args.iter().map(String::as_str));
        args.extend_from_slice(extra);
        let mut child = Command::new(env!("CARGO_BIN_EXE_onething"))
            .args(&args)
            .env("ONETHING_DEMO_PASSWORD", PASSWORD)
            .env("RUST_LOG", "warn")
            .current_dir(super::root())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning onething serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines.next().expect("the server stopped before listening").expect("reading stdout");
            if let Some(addr) = line.split("listening on http://").nth(1) {
                break addr.trim().to_string();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        TestServer { child, addr, data_dir: dir.to_path_buf(), db_args, _tmp: None }
    }

    /// `onething audit verify` on this server's data (run it after `kill`).
    pub fn audit_verify(&self) -> std::process::Output {
        let dir = self.data_dir.display().to_string();
        let mut args = vec!["audit", "verify", "--data-dir", &dir];
        args.extend(self.db_args.iter().map(String::as_str));
        super::onething(&args)
    }

    pub fn api(&self) -> Api {
        Api { http: reqwest::Client::new(), base: format!("http://{}", self.addr) }
    }

    /// SIGKILL: no shutdown, no flush — what a power cut does to the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    pub base: String,
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

impl Api {
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Resp { status, body }
    }

    pub fn req(&self, method: reqwest::Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.send(self.req(reqwest::Method::GET, path, Some(token))).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.send(self.req(reqwest::Method::POST, path, Some(token)).json(&body)).await
    }

    pub async fn put_file(&self, path: &str, token: &str, bytes: Vec<u8>) -> Resp {
        self.send(self.req(reqwest::Method::PUT, path, Some(token)).body(bytes)).await
    }

    pub async fn login(&self, username: &str) -> String {
        let r = self
            .send(
                self.req(reqwest::Method::POST, "/api/v1/sessions", None)
                    .json(&serde_json::json!({ "username": username, "password": PASSWORD })),
            )
            .await;
        assert_eq!(r.status, 201, "login {username}: {}", r.body);
        r.body["token"].as_str().expect("token").to_string()
    }
}

/// A small valid PDF-looking file (the type is sniffed from the first bytes), distinct per label.
pub fn pdf(label: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {label}\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n").into_bytes()
}

pub fn png() -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend_from_slice(b"\0\0\0\rIHDR fake image body");
    v
}
