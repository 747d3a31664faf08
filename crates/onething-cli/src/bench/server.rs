//! A real `onething serve --demo` spawned by the bench on loopback (port 0), and a small JSON client for it.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The demo users' password in the bench's servers (scratch data only).
pub const PASSWORD: &str = "bench-demo-password";

/// A running server.
pub struct Server {
    child: Child,
    pub addr: String,
    pub pid: u32,
}

impl Server {
    /// Starts `onething serve --demo` on `dir` (plus the database arguments) and waits until it listens. With
    /// `seed`, the demo users are (re)created with [`PASSWORD`] — fourteen Argon2 hashes at start-up; without, the
    /// users of an earlier start are kept.
    pub async fn start(dir: &Path, db_args: &[String], catalog: &Path, seed: bool) -> anyhow::Result<Server> {
        let exe = std::env::current_exe().context("finding the onething binary")?;
        let log = dir.join(format!("serve-{}.log", jiff::Timestamp::now().as_millisecond()));
        let log_file = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut command = Command::new(exe);
        if seed {
            command.env("ONETHING_DEMO_PASSWORD", PASSWORD);
        } else {
            command.env_remove("ONETHING_DEMO_PASSWORD");
        }
        let mut child = command
            .arg("serve")
            .arg("--demo")
            .args(["--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(dir)
            .arg("--catalog")
            .arg(catalog)
            .args(db_args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true)
            .spawn()
            .context("spawning onething serve")?;
        let pid = child.id().unwrap_or(0);
        let stdout = child.stdout.take().context("the server's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let wait = async {
            while let Some(line) = lines.next_line().await? {
                if let Some(addr) = line.split("listening on http://").nth(1) {
                    return Ok::<_, std::io::Error>(Some(addr.trim().to_string()));
                }
            }
            Ok(None)
        };
        let addr = match tokio::time::timeout(Duration::from_secs(120), wait).await {
            Ok(Ok(Some(addr))) => addr,
            other => {
                let _ = child.start_kill();
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: String =
                    tail.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
                anyhow::bail!(
                    "the server did not start ({}):\n{tail}",
                    match other {
                        Err(_) => "no address within 120 s".to_string(),
                        Ok(Err(e)) => e.to_string(),
                        Ok(Ok(_)) => "it exited".to_string(),
                    }
                );
            }
        };
        // Keep draining stdout so that the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server { child, addr, pid })
    }

    pub fn client(&self) -> anyhow::Result<Client> {
        Client::new(&format!("http://{}", self.addr))
    }

    /// SIGKILL: no shutdown, no flush — what a power cut does to the process.
    pub async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// SIGTERM and wait for the graceful shutdown (at most 30 s, then SIGKILL).
    pub async fn stop(&mut self) {
        if let Ok(pid) = i32::try_from(self.pid) {
            // `kill -TERM` without a libc dependency: the std way to signal is only SIGKILL.
            let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await;
        }
        if tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await.is_err() {
            self.kill().await;
        }
    }
}

/// An answer: status and JSON body (or the text as a JSON string).
pub struct Resp {
    pub status: u16,
    pub body: Value,
}

/// A JSON client of the API.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    pub base: String,
}

impl Client {
    pub fn new(base: &str) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(64)
            .build()
            .context("building the HTTP client")?;
        Ok(Client { http, base: base.to_string() })
    }

    pub fn req(&self, method: reqwest::Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// Sends; a transport error (the server is gone) is an `Err`.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<Resp> {
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok(Resp { status, body })
    }

    pub async fn get(&self, path: &str, token: &str) -> anyhow::Result<Resp> {
        self.send(self.req(reqwest::Method::GET, path, Some(token))).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> anyhow::Result<Resp> {
        self.send(self.req(reqwest::Method::POST, path, Some(token)).json(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, bytes: Vec<u8>) -> anyhow::Result<Resp> {
        self.send(self.req(reqwest::Method::PUT, path, Some(token)).body(bytes)).await
    }

    pub async fn bytes(&self, path: &str, token: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        let resp = self.req(reqwest::Method::GET, path, Some(token)).send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.bytes().await?.to_vec()))
    }

    /// Signs in as a demo user; returns the bearer token.
    pub async fn login(&self, username: &str) -> anyhow::Result<String> {
        let r = self
            .send(
                self.req(reqwest::Method::POST, "/api/v1/sessions", None)
                    .json(&serde_json::json!({ "username": username, "password": PASSWORD })),
            )
            .await?;
        if r.status != 201 {
            anyhow::bail!("signing in as {username}: {} {}", r.status, r.body);
        }
        r.body["token"].as_str().map(str::to_string).context("the session has no token")
    }
}

/// The approval request of a task: the result fields its item's licence asks for.
pub fn approve_body(
    results: &std::collections::HashMap<String, std::collections::BTreeMap<String, Value>>,
    item: &str,
) -> Value {
    serde_json::json!({ "result": results.get(item).cloned().unwrap_or_default() })
}
