//! The service answers `/healthz` and the plan endpoint over real HTTP on a port of its own.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn() -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_onething"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(super::root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning onething serve: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap_or_else(|e| panic!("{e}"));
    let addr = line.trim().rsplit("http://").next().unwrap_or_default().to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{line}");
    Server { child, addr }
}

/// One HTTP/1.1 request; returns the status code and the body.
fn http(addr: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap_or_else(|e| panic!("{e}"));
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap_or_else(|e| panic!("{e}"));
    let status = resp.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

#[test]
fn healthz_and_plan_answer_over_http() {
    let server = spawn();
    let (status, body) = http(&server.addr, "GET", "/healthz", None);
    assert_eq!(status, 200);
    assert_eq!(body, "ok");

    let (status, body) =
        http(&server.addr, "POST", "/api/v1/bundles/open-transport-company/plan", Some(r#"{"answers":{}}"#));
    assert_eq!(status, 200, "{body}");
    let plan: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(plan["reduction"]["materials"]["after"], 12);

    let (status, body) =
        http(&server.addr, "POST", "/api/v1/bundles/close-company/plan", Some(r#"{"answers":{"procedure":"fast"}}"#));
    assert_eq!(status, 422, "{body}");
    let err: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(err["code"], "bad_answer");
    assert_eq!(err["details"]["field"], "answers.procedure");

    let (status, body) = http(&server.addr, "POST", "/api/v1/bundles/close-company/plan", Some("{not json"));
    assert_eq!(status, 400, "{body}");
    let (status, _) = http(&server.addr, "POST", "/api/v1/bundles/nothing/plan", Some("{}"));
    assert_eq!(status, 404);
}
