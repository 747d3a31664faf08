//! Each role sees and does only what is theirs; bad input gets its 4xx and code; an idempotent retry creates
//! no second case.

use serde_json::json;

use super::life::{close_form, company, file_complete, ready_tasks, transport_form};
use super::server::{TestServer, pdf};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_see_and_act_only_on_what_is_theirs() {
    let server = TestServer::start();
    let api = server.api();
    let applicant = api.login("applicant").await;
    let clerk = api.login("clerk").await;
    let customs = api.login("officer-customs").await;
    let transport = api.login("officer-transport").await;
    let supervisor = api.login("supervisor").await;

    // No token, a bad token.
    let r = api.send(api.req(reqwest::Method::GET, "/api/v1/cases", None)).await;
    assert_eq!((r.status, r.code()), (401, "unauthenticated"));
    let r = api.get("/api/v1/cases", "not-a-token").await;
    assert_eq!((r.status, r.code()), (401, "unauthenticated"));
    let r = api
        .send(
            api.req(reqwest::Method::POST, "/api/v1/sessions", None)
                .json(&json!({"username": "clerk", "password": "wrong-password"})),
        )
        .await;
    assert_eq!((r.status, r.code()), (401, "bad_credentials"));

    // A case the clerk files for a company at the window belongs to no applicant account.
    let assisted =
        file_complete(&api, &clerk, "close-company", close_form(), company("旧时光", "91330100799655058B")).await;
    let assisted_id = assisted["id"].as_str().unwrap().to_string();
    let r = api.get(&format!("/api/v1/cases/{assisted_id}"), &applicant).await;
    assert_eq!((r.status, r.code()), (404, "not_found"), "an applicant does not see others' cases");
    let r = api.get(&format!("/api/v1/cases/{assisted_id}/events"), &applicant).await;
    assert_eq!(r.status, 404);
    let r = api.put_file(&format!("/api/v1/cases/{assisted_id}/materials/seal-list"), &applicant, pdf("x")).await;
    assert_eq!(r.status, 404);

    // The applicant's own case.
    let own = file_complete(
        &api,
        &applicant,
        "open-transport-company",
        transport_form(),
        company("鸿运", "91440300708461136T"),
    )
    .await;
    let id = own["id"].as_str().unwrap().to_string();
    let listed = api.get("/api/v1/cases", &applicant).await.body;
    let ids: Vec<&str> = listed.as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, [id.as_str()], "an applicant lists only their own cases");
    assert_eq!(api.get("/api/v1/cases", &clerk).await.body.as_array().map(Vec::len), Some(2));
    assert_eq!(api.get("/api/v1/cases", &supervisor).await.body.as_array().map(Vec::len), Some(2));

    // Only clerks accept and return; applicants cannot.
    assert_eq!(api.post(&format!("/api/v1/cases/{id}/submit"), &applicant, json!({})).await.status, 200);
    let r = api.post(&format!("/api/v1/cases/{id}/accept"), &applicant, json!({})).await;
    assert_eq!((r.status, r.code()), (403, "forbidden"));
    let r = api.post(&format!("/api/v1/cases/{id}/return"), &applicant, json!({"reasons": [{"reason": "x"}]})).await;
    assert_eq!(r.status, 403);
    let r = api.post(&format!("/api/v1/cases/{id}/accept"), &customs, json!({})).await;
    assert_eq!(r.status, 403);
    assert_eq!(api.post(&format!("/api/v1/cases/{id}/accept"), &clerk, json!({})).await.status, 200);

    // Officers do not read cases, only their department's tasks.
    let r = api.get(&format!("/api/v1/cases/{id}"), &customs).await;
    assert_eq!(r.status, 404);
    let r = api.get("/api/v1/cases", &customs).await;
    assert_eq!((r.status, r.code()), (403, "forbidden"));
    assert!(ready_tasks(&api, &customs).await.is_empty(), "customs has no task in this case");
    let all = api.get(&format!("/api/v1/cases/{id}"), &clerk).await.body;
    let verify_task = all["tasks"][0]["id"].as_str().unwrap().to_string();
    let r = api.get(&format!("/api/v1/tasks/{verify_task}"), &transport).await;
    assert_eq!(r.status, 404, "another department's task is not visible");
    let r = api
        .post(
            &format!("/api/v1/tasks/{verify_task}/approve"),
            &transport,
            json!({"result": {"registry_status": "in_business"}}),
        )
        .await;
    assert_eq!(r.status, 404, "nor can it be approved");
    let r = api.post(&format!("/api/v1/tasks/{verify_task}/approve"), &applicant, json!({"result": {}})).await;
    assert_eq!(r.status, 403);
    let r = api.get("/api/v1/tasks", &applicant).await;
    assert_eq!(r.status, 403);
    // A supervisor reads everything.
    assert_eq!(api.get(&format!("/api/v1/cases/{id}"), &supervisor).await.status, 200);
    assert_eq!(api.get(&format!("/api/v1/cases/{id}/events"), &supervisor).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_its_status_and_code() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(tmp.path(), &["--max-upload-bytes", "4096"]);
    let api = server.api();
    let applicant = api.login("applicant").await;
    let clerk = api.login("clerk").await;
    let new_case = |applicant: serde_json::Value| json!({ "bundle": "open-transport-company", "applicant": applicant, "form": {} });

    let r = api.post("/api/v1/cases", &applicant, new_case(company("X", "91440300708461136A"))).await;
    assert_eq!((r.status, r.code()), (422, "bad_credit_code"), "{}", r.body);
    assert_eq!(r.body["details"]["field"], "applicant.credit_code");
    let r = api
        .post(
            "/api/v1/cases",
            &applicant,
            new_case(json!({"kind": "person", "name": "张三", "id_number": "310104198001011238"})),
        )
        .await;
    assert_eq!((r.status, r.code()), (422, "bad_id_number"), "{}", r.body);
    let r = api.post("/api/v1/cases", &applicant, new_case(json!({"kind": "robot", "name": "R2"}))).await;
    assert_eq!((r.status, r.code()), (422, "bad_enum"));
    let r = api
        .post(
            "/api/v1/cases",
            &applicant,
            json!({"bundle": "nothing", "applicant": company("X", "91440300708461136T")}),
        )
        .await;
    assert_eq!((r.status, r.code()), (422, "unknown_bundle"));
    let r = api.post("/api/v1/cases", &applicant, json!({"bundle": "close-company", "applicant": company("X", "91440300708461136T"), "answers": {"procedure": "fast"}})).await;
    assert_eq!((r.status, r.code()), (422, "bad_answer"));
    let r = api.post("/api/v1/cases", &applicant, json!({"bundle": "close-company"})).await;
    assert_eq!((r.status, r.code()), (400, "bad_request_body"), "{}", r.body);
    let r = api.send(api.req(reqwest::Method::POST, "/api/v1/cases", Some(&applicant)).body("{}")).await;
    assert_eq!((r.status, r.code()), (415, "unsupported_media_type"));

    // A draft with an invalid form and no materials: submit lists everything at once.
    let mut form = transport_form();
    form["legal_rep_id"] = json!("310104198001011238");
    form["business_scope"] = json!("spaceships");
    form.as_object_mut().unwrap().remove("company_name");
    let r = api.post("/api/v1/cases", &applicant, json!({"bundle": "open-transport-company", "applicant": company("鸿运", "91440300708461136T"), "form": form})).await;
    assert_eq!(r.status, 201);
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = api.post(&format!("/api/v1/cases/{id}/submit"), &applicant, json!({})).await;
    assert_eq!((r.status, r.code()), (422, "validation_failed"), "{}", r.body);
    assert_eq!(r.body["details"]["missing_materials"].as_array().map(Vec::len), Some(12));
    let problems: Vec<(String, String)> = r.body["details"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["field"].as_str().unwrap().to_string(), p["code"].as_str().unwrap().to_string()))
        .collect();
    for expected in [("company_name", "required"), ("legal_rep_id", "bad_id_number"), ("business_scope", "bad_enum")] {
        assert!(problems.contains(&(expected.0.to_string(), expected.1.to_string())), "{expected:?} in {problems:?}");
    }

    // Uploads: type sniffed from the content, size limited, material must be asked for.
    let path = format!("/api/v1/cases/{id}/materials/safety-rules");
    let r = api.put_file(&path, &applicant, b"MZ\x90\x00 an executable".to_vec()).await;
    assert_eq!((r.status, r.code()), (415, "unsupported_media_type"));
    let r = api
        .send(
            api.req(reqwest::Method::PUT, &path, Some(&applicant))
                .header("content-type", "application/pdf")
                .body(b"<html>not a pdf</html>".to_vec()),
        )
        .await;
    assert_eq!(r.status, 415, "the Content-Type header is not trusted");
    let mut big = pdf("big");
    big.resize(10_000, b' ');
    let r = api.put_file(&path, &applicant, big).await;
    assert_eq!((r.status, r.code()), (413, "payload_too_large"), "{}", r.body);
    let r = api.put_file(&format!("/api/v1/cases/{id}/materials/business-licence"), &applicant, pdf("x")).await;
    assert_eq!((r.status, r.code()), (422, "unknown_material"), "shared data answers the business licence");

    // Illegal transitions and empty reasons.
    let r = api.post(&format!("/api/v1/cases/{id}/accept"), &clerk, json!({})).await;
    assert_eq!((r.status, r.code()), (409, "illegal_transition"), "a draft cannot be accepted");
    let r = api.post(&format!("/api/v1/cases/{id}/return"), &clerk, json!({"reasons": []})).await;
    assert_eq!((r.status, r.code()), (422, "empty_reasons"));
    let r = api
        .post(
            &format!("/api/v1/cases/{id}/return"),
            &clerk,
            json!({"reasons": [{"material": "x", "reason": "y", "extra": 1}]}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = api.get("/api/v1/cases/not-a-case", &applicant).await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let r = api.get("/api/v1/nothing-here", &applicant).await;
    assert_eq!((r.status, r.code()), (404, "not_found"));

    // Approve with a missing result field.
    let ok = file_complete(
        &api,
        &applicant,
        "open-transport-company",
        transport_form(),
        company("鸿运", "91440300708461136T"),
    )
    .await;
    let ok_id = ok["id"].as_str().unwrap().to_string();
    assert_eq!(api.post(&format!("/api/v1/cases/{ok_id}/submit"), &applicant, json!({})).await.status, 200);
    assert_eq!(api.post(&format!("/api/v1/cases/{ok_id}/accept"), &clerk, json!({})).await.status, 200);
    let approval = api.login("officer-approval").await;
    let task = &ready_tasks(&api, &approval).await[0];
    let tid = task["id"].as_str().unwrap();
    let r = api
        .post(&format!("/api/v1/tasks/{tid}/approve"), &approval, json!({"result": {"registry_status": "bankrupt"}}))
        .await;
    assert_eq!((r.status, r.code()), (422, "validation_failed"), "{}", r.body);
    assert_eq!(r.body["details"]["problems"][0]["field"], "registry_status");
    let r = api.post(&format!("/api/v1/tasks/{tid}/reject"), &approval, json!({"reason": "  "})).await;
    assert_eq!((r.status, r.code()), (422, "empty_reasons"));
    // Nothing failed above changed the case.
    let after = api.get(&format!("/api/v1/cases/{ok_id}"), &applicant).await.body;
    assert_eq!(after["state"], "accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_retry_creates_no_second_case() {
    let server = TestServer::start();
    let api = server.api();
    let applicant = api.login("applicant").await;
    let body =
        json!({"bundle": "close-company", "applicant": company("旧时光", "91330100799655058B"), "form": close_form()});
    let send = |body: serde_json::Value, key: &'static str| {
        let api = api.clone();
        let token = applicant.clone();
        async move {
            api.send(
                api.req(reqwest::Method::POST, "/api/v1/cases", Some(&token))
                    .header("Idempotency-Key", key)
                    .json(&body),
            )
            .await
        }
    };
    let first = send(body.clone(), "order-1").await;
    assert_eq!(first.status, 201);
    let again = send(body.clone(), "order-1").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.body["number"], first.body["number"]);
    let mut other = body.clone();
    other["form"]["company_name"] = json!("另一家公司");
    let clash = send(other, "order-1").await;
    assert_eq!((clash.status, clash.code()), (409, "idempotency_key_reused"));
    // Ten concurrent retries of a new key make one case.
    let mut joins = Vec::new();
    for _ in 0..10 {
        joins.push(tokio::spawn(send(body.clone(), "order-2")));
    }
    let mut ids = std::collections::BTreeSet::new();
    for j in joins {
        let r = j.await.unwrap();
        assert!(r.status == 200 || r.status == 201, "{}", r.body);
        ids.insert(r.body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(api.get("/api/v1/cases", &applicant).await.body.as_array().map(Vec::len), Some(2));
}
