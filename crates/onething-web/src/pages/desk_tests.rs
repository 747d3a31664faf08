//! The window's and the public's pages as their users need them: the clerk's item-by-item check after a
//! correction, the receipt with its QR code, window, clerk and the materials received, the public progress
//! lookup (a wrong second factor reads as an unknown number), the applicant's withdrawal, the upload counter
//! that follows each upload, and list tables that become cards on a phone.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use onething_service::{CreateCase, ReasonInput, User};
use serde_json::json;

use super::test_support::*;

const CREDIT_CODE: &str = "91330100799655058B";

fn close_form() -> serde_json::Value {
    json!({
        "company_name": "旧时光商贸", "credit_code": CREDIT_CODE, "legal_rep_name": "白先生",
        "legal_rep_id": "440524188001010014", "contact_phone": "13806351234", "deregistration_reason": "解散",
        "has_seals_on_file": true
    })
}

async fn user(app: &App, name: &str) -> User {
    app.service.login(name, PASSWORD).await.unwrap().1
}

/// A complete close-company draft of the applicant; returns (id, number, first material code).
async fn draft(app: &App) -> (String, String, String) {
    let applicant = user(app, "applicant").await;
    let req: CreateCase = serde_json::from_value(json!({
        "bundle": "close-company",
        "applicant": { "kind": "company", "name": "聊城市旧时光商贸有限公司", "credit_code": CREDIT_CODE },
        "form": close_form(),
    }))
    .unwrap();
    let created = app.service.create_case(&applicant, req, None).await.unwrap();
    let id = created.view.row.id.clone();
    for m in &created.view.plan.materials {
        let bytes = format!("%PDF-1.4\n% {}\n%%EOF\n", m.code);
        app.service.upload_material(&applicant, &id, &m.code, bytes.as_bytes()).await.unwrap();
    }
    (id, created.view.row.number.clone(), created.view.plan.materials[0].code.clone())
}

fn api_get(path: &str) -> Request<Body> {
    Request::get(path).header(header::HOST, "127.0.0.1:8080").body(Body::empty()).unwrap()
}

#[tokio::test]
async fn the_clerk_sees_what_the_correction_asked_and_what_changed() {
    let app = app().await;
    let (applicant, clerk) = (user(&app, "applicant").await, user(&app, "clerk").await);
    let (id, _, material) = draft(&app).await;
    app.service.submit(&applicant, &id).await.unwrap();
    let reason = ReasonInput { material: Some(material.clone()), field: None, reason: "印章不清晰".into() };
    app.service.return_case(&clerk, &id, vec![reason]).await.unwrap();

    // The applicant's materials page flags the material, then marks it replaced after the upload; the
    // counter of the page comes with every row htmx swaps in.
    let (cookie, _) = sign_in(&app, "applicant").await;
    let page = send(&app, get(&format!("/cases/{id}/materials"), &cookie)).await;
    assert!(page.body.contains("需补正"), "{}", page.body);
    assert!(page.body.contains("id=\"materials-count\""));
    assert!(page.body.contains("<table class=\"cards\">"), "the materials become cards on a phone");
    let boundary = "XBOUNDARYX";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n% again\n%%EOF\n\r\n--{boundary}--\r\n",
        page.csrf()
    );
    let req = Request::post(format!("/cases/{id}/materials/{material}"))
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::COOKIE, &cookie)
        .header("hx-request", "true")
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap();
    let row = send(&app, req).await;
    assert_eq!(row.status, StatusCode::OK, "{}", row.body);
    assert!(row.body.contains("已按补正要求重新上传"), "{}", row.body);
    assert!(row.body.contains("id=\"materials-count\"") && row.body.contains("hx-swap-oob=\"true\""), "{}", row.body);
    app.service.submit(&applicant, &id).await.unwrap();

    // The clerk's desk: item by item, the answers, the checklist with what each material is for.
    let (cookie, _) = sign_in(&app, "clerk").await;
    let page = send(&app, get(&format!("/cases/{id}"), &cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    let resolved = &page.body[page.body.find("id=\"resolved\"").expect("the resolved correction")..];
    assert!(resolved.contains("印章不清晰") && resolved.contains("已更正"), "{resolved}");
    assert!(page.body.contains("id=\"answers\"") && page.body.contains("注销程序"), "the situation answers");
    assert!(page.body.contains("class=\"cards checklist\"") && page.body.contains("税务注销"), "what each is for");
    assert!(page.body.find("id=\"check\"").unwrap() < page.body.find("办理进度").unwrap(), "the desk comes first");
}

#[tokio::test]
async fn the_receipt_names_the_window_the_clerk_the_materials_and_links_the_public_lookup() {
    let app = app().await;
    let (applicant, clerk) = (user(&app, "applicant").await, user(&app, "clerk").await);
    let (id, _, _) = draft(&app).await;
    app.service.submit(&applicant, &id).await.unwrap();
    let view = app.service.accept(&clerk, &id).await.unwrap();
    let receipt = view.case.receipt_number.clone().unwrap();
    let (cookie, _) = sign_in(&app, "clerk").await;
    let page = send(&app, get(&format!("/cases/{id}/receipt"), &cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"receipt-window\"") && page.body.contains("综合窗口"));
    assert!(page.body.contains("id=\"receipt-clerk\">clerk<"), "{}", page.body);
    let received = &page.body[page.body.find("id=\"receipt-materials\"").unwrap()..];
    assert_eq!(received[..received.find("</ol>").unwrap()].matches("<li>").count(), view.materials.len());
    assert!(page.body.contains(&format!("http://127.0.0.1:8080/track?number={receipt}")));
    assert!(page.body.contains("<svg") && page.body.contains("<path"), "the QR code is drawn");
    assert!(!page.body.contains("onclick") && !page.body.contains("style=\""), "no inline script or style");
}

#[tokio::test]
async fn anyone_follows_a_case_with_its_number_and_the_last_four_characters() {
    let app = app().await;
    let (applicant, clerk) = (user(&app, "applicant").await, user(&app, "clerk").await);
    let (id, number, _) = draft(&app).await;
    // A draft is nobody's business.
    assert_eq!(send(&app, api_get(&format!("/api/v1/track?number={number}&check=058B"))).await.status, 404);
    app.service.submit(&applicant, &id).await.unwrap();
    let receipt = app.service.accept(&clerk, &id).await.unwrap().case.receipt_number.unwrap();

    for n in [&receipt, &number] {
        let r = send(&app, api_get(&format!("/api/v1/track?number={n}&check=058b"))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["state"], "accepted");
        assert_eq!(v["receipt_number"], receipt.as_str());
        assert_eq!(v["steps"].as_array().unwrap().len(), 8);
        assert!(!r.body.contains("白先生") && !r.body.contains("440524"), "no personal data: {}", r.body);
    }
    // A wrong second factor and an unknown number answer the same.
    let wrong = send(&app, api_get(&format!("/api/v1/track?number={receipt}&check=0000"))).await;
    let unknown = send(&app, api_get("/api/v1/track?number=SL20990101000001&check=058B")).await;
    assert_eq!((wrong.status, unknown.status), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(wrong.body, unknown.body);
    // A malformed query is a 422 or 400 with the JSON error body, never a 500.
    for q in ["number=&check=058B", "number=SL1&check=05", "number=SL1"] {
        let r = send(&app, api_get(&format!("/api/v1/track?{q}"))).await;
        assert!(r.status.is_client_error(), "{q}: {}", r.status);
        assert!(r.body.contains("\"code\""), "{q}: {}", r.body);
    }
    // The page, without signing in.
    let page = send(&app, get(&format!("/track?number={receipt}&check=058B"), "")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("data-state=\"accepted\"") && page.body.contains("税务局"), "{}", page.body);
    let page = send(&app, get(&format!("/track?number={receipt}&check=1234"), "")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("没有找到"));
}

#[tokio::test]
async fn the_applicant_withdraws_after_confirming() {
    let app = app().await;
    let (id, _, _) = draft(&app).await;
    let (cookie, _) = sign_in(&app, "applicant").await;
    let page = send(&app, get(&format!("/cases/{id}"), &cookie)).await;
    assert!(page.body.contains("id=\"withdraw\""), "the applicant has a withdraw button");
    let csrf = page.csrf();
    let r = send(&app, post(&format!("/cases/{id}/withdraw"), &cookie, &[("_csrf", &csrf)])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "not without the confirmation");
    let r = send(&app, post(&format!("/cases/{id}/withdraw"), &cookie, &[("_csrf", &csrf), ("confirm", "yes")])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = send(&app, get(&format!("/cases/{id}"), &cookie)).await;
    assert!(page.body.contains("data-state=\"withdrawn\""));
    assert!(!page.body.contains("id=\"withdraw\""), "nothing left to withdraw");
    // A supervisor reads the case but has no withdraw button.
    let (id, _, _) = draft(&app).await;
    let (other, _) = sign_in(&app, "supervisor").await;
    let page = send(&app, get(&format!("/cases/{id}"), &other)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("id=\"withdraw\""), "only the applicant withdraws");
}
