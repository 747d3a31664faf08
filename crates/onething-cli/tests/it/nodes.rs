//! Two `onething serve` processes on one PostgreSQL database serve the same cases and the same material
//! files; one is killed during a burst and the other carries on with every acknowledged case. (PostgreSQL only: it runs in CI's
//! PostgreSQL pass, where ONETHING_TEST_POSTGRES_URL is always set.)

use serde_json::json;

use super::life::{approve, company, file_complete, ready_tasks, transport_form};
use super::server::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_serve_the_same_cases_and_survive_one_dying() {
    if std::env::var("ONETHING_TEST_POSTGRES_URL").map_or(true, |u| u.is_empty()) {
        eprintln!("skipped: two nodes need PostgreSQL (set ONETHING_TEST_POSTGRES_URL)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut a = TestServer::start_in(tmp.path(), &["--sweep-seconds", "1"]);
    let b = TestServer::start_in(tmp.path(), &["--sweep-seconds", "1"]);
    let (api_a, api_b) = (a.api(), b.api());

    // One life, each step on whichever node.
    let applicant_a = api_a.login("applicant").await;
    let applicant_b = api_b.login("applicant").await;
    let case = file_complete(
        &api_a,
        &applicant_a,
        "open-transport-company",
        transport_form(),
        company("鸿运", "91440300708461136T"),
    )
    .await;
    let id = case["id"].as_str().unwrap().to_string();
    assert_eq!(api_b.post(&format!("/api/v1/cases/{id}/submit"), &applicant_b, json!({})).await.status, 200);
    let clerk_a = api_a.login("clerk").await;
    assert_eq!(api_a.post(&format!("/api/v1/cases/{id}/accept"), &clerk_a, json!({})).await.status, 200);
    let approval_b = api_b.login("officer-approval").await;
    approve(&api_b, &approval_b, &ready_tasks(&api_b, &approval_b).await[0]).await;
    let transport_a = api_a.login("officer-transport").await;
    approve(&api_a, &transport_a, &ready_tasks(&api_a, &transport_a).await[0]).await;
    let transport_b = api_b.login("officer-transport").await;
    approve(&api_b, &transport_b, &ready_tasks(&api_b, &transport_b).await[0]).await;
    let done = api_a.get(&format!("/api/v1/cases/{id}"), &applicant_a).await.body;
    assert_eq!(done["state"], "concluded");

    // Every material uploaded through A opens through B, byte for byte (the files live in the database).
    let materials = done["materials"].as_array().cloned().unwrap_or_default();
    assert!(!materials.is_empty());
    for m in &materials {
        let path = format!("/api/v1/cases/{id}/materials/{}", m["code"].as_str().unwrap());
        let (via_a, via_b) = (api_a.get(&path, &applicant_a).await, api_b.get(&path, &applicant_b).await);
        assert_eq!((via_a.status, via_b.status), (200, 200), "{path}: {}", via_b.body);
        assert_eq!(via_a.body, via_b.body, "{path}");
    }

    // A burst of filings to node A; A is killed after 20 acknowledgements; node B still answers for all.
    let body = |k: &str| json!({ "bundle": "close-company", "applicant": company(&format!("公司{k}"), "91330100799655058B"), "form": {} });
    let mut acked = Vec::new();
    for i in 0..200 {
        let key = format!("burst-{i}");
        let r = api_a
            .send(
                api_a
                    .req(reqwest::Method::POST, "/api/v1/cases", Some(&applicant_a))
                    .header("Idempotency-Key", &key)
                    .json(&body(&key)),
            )
            .await;
        assert_eq!(r.status, 201);
        acked.push((key, r.body["id"].as_str().unwrap().to_string()));
        if acked.len() == 20 {
            a.kill();
            break;
        }
    }
    for (key, id) in &acked {
        let r = api_b
            .send(
                api_b
                    .req(reqwest::Method::POST, "/api/v1/cases", Some(&applicant_b))
                    .header("Idempotency-Key", key)
                    .json(&body(key)),
            )
            .await;
        assert_eq!(r.status, 200, "the case filed on the dead node is there, once: {}", r.body);
        assert_eq!(r.body["id"].as_str(), Some(id.as_str()));
    }
    let listed = api_b.get("/api/v1/cases", &applicant_b).await.body;
    assert_eq!(listed.as_array().map(Vec::len), Some(21));
    let mut b = b;
    b.kill();
    let o = b.audit_verify();
    assert!(o.status.success(), "{}{}", super::stdout(&o), super::stderr(&o));
}
