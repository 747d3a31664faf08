//! The whole life of a case over HTTP against the real server: file, upload, submit, return for correction,
//! correct, accept, every department approves, conclusion with results, and the event chain verifies.

use serde_json::{Value, json};

use super::server::{Api, TestServer, pdf, png};

pub fn transport_form() -> Value {
    json!({
        "company_name": "聊城市鸿运物流有限公司",
        "credit_code": "91440300708461136T",
        "legal_rep_name": "王建国",
        "legal_rep_id": "11010519491231002X",
        "contact_phone": "13806351234",
        "agent_name": "李敏",
        "agent_id": "110101199003074477",
        "business_address": "聊城市东昌府区建设路1号",
        "business_scope": "ordinary_cargo",
        "vehicle_count": 3,
        "parking_address": "聊城市东昌府区物流园",
        "plate_number": "鲁P12345",
        "vehicle_type": "truck"
    })
}

pub fn close_form() -> Value {
    json!({
        "company_name": "聊城市旧时光商贸有限公司",
        "credit_code": "91330100799655058B",
        "legal_rep_name": "白先生",
        "legal_rep_id": "440524188001010014",
        "contact_phone": "0635-8231234",
        "deregistration_reason": "经营期满，股东决定解散",
        "has_seals_on_file": true
    })
}

pub fn company(name: &str, code: &str) -> Value {
    json!({ "kind": "company", "name": name, "credit_code": code })
}

/// Files a case as `token` and uploads every material the plan asks for. Returns the case JSON.
pub async fn file_complete(api: &Api, token: &str, bundle: &str, form: Value, applicant: Value) -> Value {
    let r = api
        .post("/api/v1/cases", token, json!({ "bundle": bundle, "applicant": applicant, "answers": {}, "form": form }))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["state"], "draft");
    let id = r.body["id"].as_str().expect("id").to_string();
    for m in r.body["materials"].as_array().expect("materials") {
        let code = m["code"].as_str().expect("code");
        let up =
            api.put_file(&format!("/api/v1/cases/{id}/materials/{code}"), token, pdf(&format!("{id}/{code}"))).await;
        assert_eq!(up.status, 201, "{code}: {}", up.body);
        assert_eq!(up.body["media_type"], "application/pdf");
        assert_eq!(up.body["sha256"].as_str().map(str::len), Some(64));
    }
    api.get(&format!("/api/v1/cases/{id}"), token).await.body
}

pub async fn ready_tasks(api: &Api, token: &str) -> Vec<Value> {
    let r = api.get("/api/v1/tasks?state=ready", token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body.as_array().cloned().unwrap_or_default()
}

fn result_for(task: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for f in task["result_fields"].as_array().cloned().unwrap_or_default() {
        let code = f["code"].as_str().unwrap_or_default().to_string();
        let v = match f["type"].as_str() {
            Some("enum") => f["options"][0].clone(),
            Some("number") => json!(30),
            Some("date") => json!("2026-01-15"),
            Some("id_number") => json!("11010519491231002X"),
            _ => json!(format!("{code} value")),
        };
        out.insert(code, v);
    }
    json!({ "result": out })
}

pub async fn approve(api: &Api, token: &str, task: &Value) -> Value {
    let id = task["id"].as_str().expect("task id");
    let r = api.post(&format!("/api/v1/tasks/{id}/approve"), token, result_for(task)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"], "approved");
    r.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_transport_company_from_filing_to_three_results() {
    let server = TestServer::start();
    let api = server.api();
    let applicant = api.login("applicant").await;
    let clerk = api.login("clerk").await;

    let case = file_complete(
        &api,
        &applicant,
        "open-transport-company",
        transport_form(),
        company("聊城市鸿运物流有限公司", "91440300708461136T"),
    )
    .await;
    let id = case["id"].as_str().expect("id").to_string();
    assert_eq!(case["materials"].as_array().map(Vec::len), Some(12));
    assert!(case["number"].as_str().is_some_and(|n| n.starts_with("YJS")), "{}", case["number"]);

    let r = api.post(&format!("/api/v1/cases/{id}/submit"), &applicant, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"], "submitted");

    // The clerk returns it for one material.
    let r = api
        .post(
            &format!("/api/v1/cases/{id}/return"),
            &clerk,
            json!({ "reasons": [{ "material": "vehicle-photo", "reason": "照片不清晰，请重新上传" }] }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"], "returned");
    assert_eq!(r.body["corrections"][0]["reasons"][0]["material"], "vehicle-photo");

    // The applicant corrects and resubmits.
    let up = api.put_file(&format!("/api/v1/cases/{id}/materials/vehicle-photo"), &applicant, png()).await;
    assert_eq!(up.status, 201, "{}", up.body);
    assert_eq!(up.body["media_type"], "image/png");
    let r = api.post(&format!("/api/v1/cases/{id}/submit"), &applicant, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"], "submitted");

    // The clerk accepts: three tasks, a receipt number, deadlines.
    let r = api.post(&format!("/api/v1/cases/{id}/accept"), &clerk, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"], "accepted");
    assert!(r.body["receipt_number"].as_str().is_some_and(|n| n.starts_with("SL")));
    assert!(r.body["due_at"].as_str().is_some_and(|d| d.ends_with("+08:00")), "{}", r.body["due_at"]);
    let tasks = r.body["tasks"].as_array().cloned().unwrap_or_default();
    assert_eq!(tasks.len(), 3);
    let states: Vec<&str> = tasks.iter().map(|t| t["state"].as_str().unwrap_or("")).collect();
    assert_eq!(states, ["ready", "waiting", "waiting"]);

    // Officers approve in dependency order.
    let approval = api.login("officer-approval").await;
    let transport = api.login("officer-transport").await;
    assert!(ready_tasks(&api, &transport).await.is_empty(), "the permit waits for the verification");
    let mine = ready_tasks(&api, &approval).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["item"], "business-licence-verification");
    assert!(mine[0]["result_fields"].as_array().is_some_and(|f| !f.is_empty()));
    // The officer sees only this item's fields.
    let codes: Vec<&str> =
        mine[0]["form"].as_array().map(|f| f.iter().filter_map(|x| x["code"].as_str()).collect()).unwrap_or_default();
    assert!(codes.contains(&"credit_code") && !codes.contains(&"plate_number"), "{codes:?}");
    approve(&api, &approval, &mine[0]).await;

    let next = ready_tasks(&api, &transport).await;
    assert_eq!(next.len(), 1);
    assert_eq!(next[0]["item"], "road-transport-operating-permit");
    approve(&api, &transport, &next[0]).await;
    let last = ready_tasks(&api, &transport).await;
    assert_eq!(last.len(), 1);
    assert_eq!(last[0]["item"], "road-transport-certificate");
    approve(&api, &transport, &last[0]).await;

    let done = api.get(&format!("/api/v1/cases/{id}"), &applicant).await.body;
    assert_eq!(done["state"], "concluded");
    assert_eq!(done["outcome"], "approved");
    assert_eq!(done["results"].as_array().map(Vec::len), Some(3));

    let events = api.get(&format!("/api/v1/cases/{id}/events"), &applicant).await.body;
    let kinds: Vec<&str> =
        events.as_array().map(|e| e.iter().filter_map(|x| x["kind"].as_str()).collect()).unwrap_or_default();
    assert_eq!(kinds.first(), Some(&"case_filed"));
    for k in ["case_submitted", "case_returned", "case_resubmitted", "case_accepted", "task_approved"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    // Each event links to the one before it of the same case.
    let list = events.as_array().cloned().unwrap_or_default();
    for pair in list.windows(2) {
        assert_eq!(pair[1]["case_prev_hash"], pair[0]["hash"]);
    }

    let mut server = server;
    server.kill();
    let o = server.audit_verify();
    assert!(o.status.success(), "{}{}", super::stdout(&o), super::stderr(&o));
    assert!(super::stdout(&o).contains("intact"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_company_runs_eight_departments_in_parallel() {
    let server = TestServer::start();
    let api = server.api();
    let clerk = api.login("clerk").await;
    // Assisted filing (帮办代办): the clerk files for the company at the window.
    let case = file_complete(
        &api,
        &clerk,
        "close-company",
        close_form(),
        company("聊城市旧时光商贸有限公司", "91330100799655058B"),
    )
    .await;
    let id = case["id"].as_str().expect("id").to_string();
    assert_eq!(api.post(&format!("/api/v1/cases/{id}/submit"), &clerk, json!({})).await.status, 200);
    let r = api.post(&format!("/api/v1/cases/{id}/accept"), &clerk, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let tasks = r.body["tasks"].as_array().cloned().unwrap_or_default();
    assert_eq!(tasks.len(), 8);
    assert_eq!(tasks.iter().filter(|t| t["state"] == "ready").count(), 7, "seven departments start at once");

    // Seven departments approve at the same time.
    let mut joins = Vec::new();
    for dept in ["tax", "customs", "hrss", "medical-insurance", "housing-fund", "pboc", "public-security"] {
        let api = api.clone();
        joins.push(tokio::spawn(async move {
            let token = api.login(&format!("officer-{dept}")).await;
            let mine = ready_tasks(&api, &token).await;
            assert_eq!(mine.len(), 1, "{dept}");
            approve(&api, &token, &mine[0]).await;
        }));
    }
    for j in joins {
        j.await.expect("department");
    }
    let approval = api.login("officer-approval").await;
    let reg = ready_tasks(&api, &approval).await;
    assert_eq!(reg.len(), 1);
    assert_eq!(reg[0]["item"], "company-deregistration");
    approve(&api, &approval, &reg[0]).await;

    let done = api.get(&format!("/api/v1/cases/{id}"), &clerk).await.body;
    assert_eq!(done["state"], "concluded");
    assert_eq!(done["outcome"], "approved");
    assert_eq!(done["results"].as_array().map(Vec::len), Some(8));
    let departments: std::collections::BTreeSet<&str> = done["tasks"]
        .as_array()
        .map(|t| t.iter().filter_map(|x| x["department"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(departments.len(), 8);

    let mut server = server;
    server.kill();
    let o = server.audit_verify();
    assert!(o.status.success(), "{}", super::stdout(&o));
}
