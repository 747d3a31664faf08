//! SIGKILL during a burst of idempotent filings, uploads and submissions; after a restart every acknowledged
//! operation is there exactly once and the event chain verifies.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::sync::Notify;

use super::life::{close_form, company};
use super::server::{Api, TestServer, pdf};

#[derive(Debug, Clone)]
enum Ack {
    Created { key: String, id: String },
    Uploaded { id: String, material: String, sha256: String },
    Submitted { id: String },
}

fn body_for(key: &str) -> Value {
    json!({ "bundle": "close-company", "applicant": company(&format!("公司 {key}"), "91330100799655058B"), "form": close_form() })
}

const MATERIALS: [&str; 6] = [
    "application-form",
    "customs-record",
    "unit-payment-clearance",
    "bank-account-list",
    "seal-list",
    "investor-commitment",
];

/// One client: file, upload, submit, over and over, recording what the server acknowledged.
async fn client(api: Api, token: String, worker: usize, acks: Arc<Mutex<Vec<Ack>>>, enough: Arc<Notify>) {
    let record = |a: Ack| {
        let mut v = acks.lock().unwrap();
        v.push(a);
        if v.len() >= 60 {
            enough.notify_one();
        }
    };
    for i in 0..100 {
        let key = format!("w{worker}-{i}");
        let req = api
            .req(reqwest::Method::POST, "/api/v1/cases", Some(&token))
            .header("Idempotency-Key", &key)
            .json(&body_for(&key));
        let Ok(resp) = req.send().await else { return };
        if !resp.status().is_success() {
            return;
        }
        let Ok(case) = resp.json::<Value>().await else { return };
        let id = case["id"].as_str().unwrap_or_default().to_string();
        record(Ack::Created { key: key.clone(), id: id.clone() });
        for m in MATERIALS {
            let req = api
                .req(reqwest::Method::PUT, &format!("/api/v1/cases/{id}/materials/{m}"), Some(&token))
                .body(pdf(&format!("{key}/{m}")));
            let Ok(resp) = req.send().await else { return };
            if resp.status().as_u16() != 201 {
                return;
            }
            let Ok(up) = resp.json::<Value>().await else { return };
            record(Ack::Uploaded {
                id: id.clone(),
                material: m.to_string(),
                sha256: up["sha256"].as_str().unwrap_or_default().to_string(),
            });
        }
        let req = api.req(reqwest::Method::POST, &format!("/api/v1/cases/{id}/submit"), Some(&token)).json(&json!({}));
        let Ok(resp) = req.send().await else { return };
        if resp.status().as_u16() != 200 {
            return;
        }
        record(Ack::Submitted { id });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_operation() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = TestServer::start_in(tmp.path(), &[]);
    let api = server.api();
    let token = api.login("applicant").await;
    let acks = Arc::new(Mutex::new(Vec::new()));
    let enough = Arc::new(Notify::new());
    let workers: Vec<_> =
        (0..4).map(|w| tokio::spawn(client(api.clone(), token.clone(), w, acks.clone(), enough.clone()))).collect();
    // Kill once enough work was acknowledged (counted, not timed), while the clients keep sending.
    enough.notified().await;
    server.kill();
    for w in workers {
        w.await.unwrap();
    }
    let acks = acks.lock().unwrap().clone();
    assert!(acks.len() >= 60);

    let server = TestServer::start_in(tmp.path(), &[]);
    let api = server.api();
    let token = api.login("applicant").await;
    let clerk = api.login("clerk").await;
    let listed = api.get("/api/v1/cases", &clerk).await.body;
    let listed: Vec<String> =
        listed.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();
    for ack in &acks {
        match ack {
            Ack::Created { key, id } => {
                assert_eq!(listed.iter().filter(|x| *x == id).count(), 1, "case {id} is there exactly once");
                // The same request again finds the same case: it was stored once.
                let r = api
                    .send(
                        api.req(reqwest::Method::POST, "/api/v1/cases", Some(&token))
                            .header("Idempotency-Key", key)
                            .json(&body_for(key)),
                    )
                    .await;
                assert_eq!(r.status, 200, "{}", r.body);
                assert_eq!(r.body["id"].as_str(), Some(id.as_str()));
            }
            Ack::Uploaded { id, material, sha256 } => {
                let case = api.get(&format!("/api/v1/cases/{id}"), &token).await.body;
                let m = case["materials"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|m| m["code"] == material.as_str())
                    .cloned()
                    .unwrap();
                assert_eq!(m["uploaded"]["sha256"].as_str(), Some(sha256.as_str()), "{material} of {id}");
                let file = api
                    .send(api.req(
                        reqwest::Method::GET,
                        &format!("/api/v1/cases/{id}/materials/{material}"),
                        Some(&token),
                    ))
                    .await;
                assert_eq!(file.status, 200, "the acknowledged file is on disk");
            }
            Ack::Submitted { id } => {
                let case = api.get(&format!("/api/v1/cases/{id}"), &token).await.body;
                assert_eq!(case["state"], "submitted", "{id}");
            }
        }
    }
    // No case appears that no key asked for: at most one per key sent.
    let created_keys = acks.iter().filter(|a| matches!(a, Ack::Created { .. })).count();
    assert!(
        listed.len() >= created_keys && listed.len() <= created_keys + 4,
        "{} cases for {created_keys} acknowledged keys",
        listed.len()
    );

    let mut server = server;
    server.kill();
    let o = server.audit_verify();
    assert!(o.status.success(), "{}{}", super::stdout(&o), super::stderr(&o));
}
