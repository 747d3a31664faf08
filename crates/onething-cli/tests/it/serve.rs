//! The service answers `/healthz`, `/metrics`, the OpenAPI description and the public plan endpoint over real
//! HTTP on a port of its own.

use serde_json::json;

use super::server::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_metrics_openapi_and_plan_answer_over_http() {
    let server = TestServer::start();
    let api = server.api();
    let r = api.send(api.req(reqwest::Method::GET, "/healthz", None)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "ok");

    let r = api
        .send(
            api.req(reqwest::Method::POST, "/api/v1/bundles/open-transport-company/plan", None)
                .json(&json!({"answers": {}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["reduction"]["materials"]["after"], 12);

    let r = api
        .send(
            api.req(reqwest::Method::POST, "/api/v1/bundles/close-company/plan", None)
                .json(&json!({"answers": {"procedure": "fast"}})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.code(), "bad_answer");
    assert_eq!(r.body["details"]["field"], "answers.procedure");

    let r = api
        .send(
            api.req(reqwest::Method::POST, "/api/v1/bundles/close-company/plan", None)
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.code(), "bad_request_body");
    let r = api.send(api.req(reqwest::Method::POST, "/api/v1/bundles/nothing/plan", None).json(&json!({}))).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.code(), "unknown_bundle");

    let r = api.send(api.req(reqwest::Method::GET, "/api/v1/bundles", None)).await;
    assert_eq!(r.body.as_array().map(Vec::len), Some(5));
    assert_eq!(r.body[0]["reduction"]["submissions"]["after"], 1);

    let r = api.send(api.req(reqwest::Method::GET, "/api/v1/openapi.json", None)).await;
    assert_eq!(r.status, 200);
    assert!(r.body["paths"]["/api/v1/cases"].is_object(), "{}", r.body);

    let r = api.send(api.req(reqwest::Method::GET, "/metrics", None)).await;
    let text = r.body.as_str().unwrap_or_default().to_string();
    assert!(
        text.contains(
            "onething_http_requests_total{method=\"POST\",route=\"/api/v1/bundles/{code}/plan\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("onething_cases 0"), "{text}");
}
