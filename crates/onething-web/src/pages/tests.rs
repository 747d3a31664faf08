//! Page tests against the real router, service and a SQLite store in a temporary directory: sign-in and
//! sign-out, CSRF, role redirects, the language switch, field errors next to fields, error pages (never raw
//! JSON), and that every message key exists in both languages.

use std::collections::BTreeSet;
use std::path::PathBuf;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use super::i18n::{EN_SOURCE, ZH_SOURCE, flatten};
use super::test_support::*;
use onething_service::Role;

#[tokio::test]
async fn sign_in_sets_a_safe_cookie_and_goes_to_the_role_home() {
    let app = app().await;
    for (user, home) in
        [("applicant", "/"), ("clerk", "/clerk"), ("officer-approval", "/officer"), ("supervisor", "/supervisor")]
    {
        let (_, to) = sign_in(&app, user).await;
        assert_eq!(to, home, "{user}");
    }
    // The cookie flags: HttpOnly, SameSite=Lax, Path=/; Secure except for plain http on loopback.
    let page = send(&app, get("/login", "")).await;
    let pre = pair(&page.cookie("ot_pre").unwrap());
    let form = [("_csrf", page.csrf()), ("username", "clerk".into()), ("password", PASSWORD.into())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = send(&app, post("/login", &pre, &form)).await;
    let c = r.cookie("ot_session").unwrap();
    assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Path=/"), "{c}");
    assert!(!c.contains("Secure"), "plain http on loopback: {c}");
    let mut req = post("/login", &pre, &form);
    req.headers_mut().insert(header::HOST, "onething.example.cn".parse().unwrap());
    let r = send(&app, req).await;
    assert!(r.cookie("ot_session").unwrap().contains("Secure"));
    // The token is stored hashed: the cookie value is not in the database as such, and works as a bearer token.
    let token = pair(&c).trim_start_matches("ot_session=").to_string();
    assert!(app.service.authenticate(&token).await.is_ok());
    // Wrong password: the form again, with the message next to the field.
    let r = send(&app, post("/login", &pre, &[("_csrf", form[0].1), ("username", "clerk"), ("password", "nope-nope")]))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("用户名或密码不正确") && r.body.contains("aria-invalid=\"true\""), "{}", r.body);
}

#[tokio::test]
async fn sign_out_revokes_the_session_and_bearer_tokens_keep_working() {
    let app = app().await;
    let (cookie, _) = sign_in(&app, "clerk").await;
    let page = send(&app, get("/clerk", &cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    // An API token of the same user, from the JSON API.
    let login = Request::post("/api/v1/sessions")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(format!(r#"{{"username":"clerk","password":"{PASSWORD}"}}"#)))
        .unwrap();
    let r = send(&app, login).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let token: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let bearer = format!("Bearer {}", token["token"].as_str().unwrap());

    let r = send(&app, post("/logout", &cookie, &[("_csrf", &csrf)])).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/login"));
    assert!(r.cookie("ot_session").unwrap().contains("Max-Age=0"));
    // The old cookie no longer signs in.
    let r = send(&app, get("/clerk", &cookie)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().starts_with("/login?next=/clerk"), "{}", r.location());
    // The API's bearer token still works.
    let r =
        send(&app, Request::get("/api/v1/cases").header(header::AUTHORIZATION, &bearer).body(Body::empty()).unwrap())
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn posts_without_the_right_csrf_token_are_refused() {
    let app = app().await;
    let (cookie, _) = sign_in(&app, "applicant").await;
    for form in [vec![], vec![("_csrf", "0".repeat(64))]] {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = send(&app, post("/bundles/open-transport-company", &cookie, &form)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.body.contains("<!doctype html>") && r.body.contains("页面已过期"), "{}", r.body);
    }
    // The login form too (a pre-session token).
    let r = send(&app, post("/login", "", &[("username", "clerk"), ("password", PASSWORD)])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.cookie("ot_session").is_none());
    // The htmx header is accepted in place of the field.
    let page = send(&app, get("/", &cookie)).await;
    let csrf = page.csrf();
    let mut req = post("/logout", &cookie, &[]);
    req.headers_mut().insert("x-csrf-token", csrf.parse().unwrap());
    assert_eq!(send(&app, req).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn roles_are_sent_where_they_belong() {
    let app = app().await;
    let r = send(&app, get("/clerk", "")).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/login?next=/clerk"));
    let (applicant, _) = sign_in(&app, "applicant").await;
    let r = send(&app, get("/clerk", &applicant)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("您的角色无权进行此操作"), "{}", r.body);
    let r = send(&app, get("/supervisor", &applicant)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let (officer, _) = sign_in(&app, "officer-approval").await;
    let r = send(&app, get("/officer", &officer)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("部门审批") && r.body.contains("aria-current=\"page\""));
    // Navigation is role-aware.
    let r = send(&app, get("/", &applicant)).await;
    assert!(r.body.contains("href=\"/cases\"") && !r.body.contains("href=\"/clerk\""));
    let (supervisor, _) = sign_in(&app, "supervisor").await;
    let r = send(&app, get("/supervisor", &supervisor)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("电子监察") && r.body.contains("超期") && r.body.contains("预警"));
    // Signed in, the sign-in page sends one home.
    let r = send(&app, get("/login", &supervisor)).await;
    assert_eq!(r.location(), "/supervisor");
}

#[tokio::test]
async fn the_language_follows_accept_language_and_the_switch_sticks() {
    let app = app().await;
    let r = send(&app, get("/", "")).await;
    assert!(r.body.contains("lang=\"zh-CN\"") && r.body.contains("办事大厅"));
    let mut req = get("/", "");
    req.headers_mut().insert(header::ACCEPT_LANGUAGE, "en-US,en;q=0.9".parse().unwrap());
    let r = send(&app, req).await;
    assert!(r.body.contains("lang=\"en\"") && r.body.contains("Opening a road transport company"), "{}", r.body);
    // The switch sets a cookie that wins over the header, and goes back where it was.
    let r = send(&app, get("/lang/zh-CN?next=/bundles/close-company", "")).await;
    assert_eq!(r.location(), "/bundles/close-company");
    let lang = pair(&r.cookie("ot_lang").unwrap());
    let mut req = get("/", &lang);
    req.headers_mut().insert(header::ACCEPT_LANGUAGE, "en".parse().unwrap());
    assert!(send(&app, req).await.body.contains("lang=\"zh-CN\""));
    // Never to another site.
    let r = send(&app, get("/lang/en?next=//evil.example/", "")).await;
    assert_eq!(r.location(), "/");
}

#[tokio::test]
async fn errors_are_pages_never_json_and_field_errors_sit_next_to_fields() {
    let app = app().await;
    let r = send(&app, get("/no/such/page", "")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.starts_with("<!doctype html>") && !r.body.contains("\"code\":"), "{}", r.body);
    assert!(r.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    // The API keeps its JSON.
    let r = send(&app, get("/api/v1/no-such", "")).await;
    assert!(r.body.starts_with('{'), "{}", r.body);

    let (cookie, _) = sign_in(&app, "applicant").await;
    let mut en = get("/cases/0000", &cookie);
    en.headers_mut().insert(header::ACCEPT_LANGUAGE, "en".parse().unwrap());
    let r = send(&app, en).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("does not exist") && !r.body.contains("\"code\""), "{}", r.body);

    // Filing: a bad credit code comes back next to its field.
    let page = send(&app, get("/bundles/open-transport-company", &cookie)).await;
    let csrf = page.csrf();
    let r = send(
        &app,
        post(
            "/bundles/open-transport-company",
            &cookie,
            &[("_csrf", &csrf), ("kind", "company"), ("name", "鸿运"), ("credit_code", "91440300708461136X")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"credit_code-err\"") && r.body.contains("统一社会信用代码不正确"), "{}", r.body);
    let r = send(
        &app,
        post(
            "/bundles/open-transport-company",
            &cookie,
            &[("_csrf", &csrf), ("kind", "company"), ("name", "鸿运"), ("credit_code", "91440300708461136T")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let form_path = r.location().to_string();
    assert!(form_path.ends_with("/form"));
    // The credit code given on the first step is already in the form.
    let r = send(&app, get(&form_path, &cookie)).await;
    assert!(r.body.contains("value=\"91440300708461136T\""), "{}", r.body);
    let r = send(&app, post(&form_path, &cookie, &[("_csrf", &csrf), ("f_contact_phone", "12345")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let at = r.body.find("id=\"f_contact_phone-err\"").expect("the phone's error");
    assert!(r.body[at..at + 300].contains("电话号码不正确"), "{}", &r.body[at..at + 300]);
}

#[tokio::test]
async fn assets_are_served_from_the_binary_with_long_caching() {
    let app = app().await;
    let r = send(&app, get("/assets/htmx.min.js", "")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.starts_with("var htmx=function()"));
    assert!(r.headers[header::CACHE_CONTROL].to_str().unwrap().contains("immutable"));
    let r = send(&app, get("/assets/app.css", "")).await;
    assert!(r.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/css"));
}

// ---------------------------------------------------------------------------------------------------------
// Message keys.

/// Every literal key used by the templates and the page code: `.s("…")`, `.f1("…"`, `.f2("…"`.
fn used_keys() -> BTreeSet<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut texts = Vec::new();
    for sub in ["templates", "src/pages"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().is_some_and(|n| n != "tests.rs") {
                texts.push(std::fs::read_to_string(p).unwrap());
            }
        }
    }
    let mut keys = BTreeSet::new();
    for text in &texts {
        for pat in [".s(\"", ".f1(\"", ".f2(\"", "push(\"/\", \"", "\", \""] {
            let mut rest = text.as_str();
            while let Some(i) = rest.find(pat) {
                rest = &rest[i + pat.len()..];
                let end = rest.find('"').unwrap_or(0);
                let key = &rest[..end];
                if key.contains('.') && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_') {
                    keys.insert(key.to_string());
                }
            }
        }
    }
    keys
}

#[test]
fn every_key_used_exists_in_both_languages() {
    let (zh, en) = (flatten(ZH_SOURCE), flatten(EN_SOURCE));
    let used = used_keys();
    assert!(used.len() > 150, "{}", used.len());
    let mut missing: Vec<String> =
        used.iter().filter(|k| !zh.contains_key(*k) || !en.contains_key(*k)).cloned().collect();
    // Keys built from values: states, colours, roles, events, outcomes, problems, kinds.
    use onething_core::case::{CaseState, Outcome, TaskState};
    let mut dynamic: Vec<String> = Vec::new();
    dynamic.extend(CaseState::ALL.iter().map(|s| format!("state.{}", s.as_str())));
    for s in [TaskState::Waiting, TaskState::Ready, TaskState::Returned, TaskState::Approved, TaskState::Rejected] {
        dynamic.push(format!("task_state.{}", s.as_str()));
    }
    for o in [Outcome::Approved, Outcome::PartlyApproved, Outcome::Rejected] {
        dynamic.push(format!("outcome.{}", o.as_str()));
    }
    for c in ["green", "blue", "yellow", "red", "none"] {
        dynamic.push(format!("colour.{c}"));
    }
    for r in [Role::Applicant, Role::Clerk, Role::Officer, Role::Supervisor, Role::Admin] {
        dynamic.push(format!("role.{}", r.as_str()));
    }
    for k in ["company", "person"] {
        dynamic.push(format!("kind.{k}"));
    }
    for p in [
        "required",
        "unknown_field",
        "bad_type",
        "bad_number",
        "bad_date",
        "bad_enum",
        "bad_bool",
        "bad_phone",
        "bad_email",
        "bad_credit_code",
        "bad_id_number",
    ] {
        dynamic.push(format!("problem.{p}"));
    }
    for e in [
        "case_filed",
        "case_updated",
        "material_uploaded",
        "case_submitted",
        "case_resubmitted",
        "case_returned",
        "case_accepted",
        "task_approved",
        "task_rejected",
        "task_returned",
        "case_withdrawn",
    ] {
        dynamic.push(format!("event.{e}"));
    }
    for n in ["nav.portal", "nav.my_cases", "nav.clerk", "nav.assisted", "nav.officer", "nav.supervisor"] {
        dynamic.push(n.to_string());
    }
    missing.extend(dynamic.into_iter().filter(|k| !zh.contains_key(k) || !en.contains_key(k)));
    assert!(missing.is_empty(), "keys missing from a locale: {missing:?}");
}

#[test]
fn every_api_error_code_has_a_message_in_both_languages() {
    let (zh, en) = (flatten(ZH_SOURCE), flatten(EN_SOURCE));
    let mut codes: Vec<&str> = crate::error_codes().iter().map(|(c, _, _)| *c).collect();
    codes.push("csrf");
    for code in codes {
        let key = format!("error.{code}");
        assert!(zh.get(&key).is_some_and(|m| !m.is_empty()), "zh-CN lacks {key}");
        assert!(en.get(&key).is_some_and(|m| !m.is_empty()), "en lacks {key}");
        assert_ne!(zh[&key], en[&key], "{key} is not translated");
    }
}

#[tokio::test]
async fn the_supervision_index_follows_every_change() {
    use onething_service::{ApplicantInput, ApproveRequest, CreateCase, ReasonInput};
    let app = app().await;
    let s = &app.service;
    let user = |name: &str| {
        let s = s.clone();
        let name = name.to_string();
        async move { s.login(&name, PASSWORD).await.unwrap().1 }
    };
    let (applicant, clerk, officer, supervisor) =
        (user("applicant").await, user("clerk").await, user("officer-approval").await, user("supervisor").await);
    let open = |o: &onething_service::Supervision| o.counts.values().map(|c| c.iter().sum::<u64>()).sum::<u64>();
    assert_eq!(s.supervision(&supervisor, 10).await.unwrap().open_tasks, 0);
    let req = CreateCase {
        bundle: "open-transport-company".into(),
        applicant: ApplicantInput {
            kind: "company".into(),
            name: "鸿运".into(),
            credit_code: Some("91440300708461136T".into()),
            id_number: None,
        },
        answers: Default::default(),
        form: Default::default(),
    };
    let id = s.create_case(&applicant, req, None).await.unwrap().view.row.id;
    let plan = s.get_case(&applicant, &id).await.unwrap().plan;
    let mut form = std::collections::BTreeMap::new();
    for (k, v) in [
        ("company_name", "鸿运"),
        ("credit_code", "91440300708461136T"),
        ("legal_rep_name", "王建国"),
        ("legal_rep_id", "11010519491231002X"),
        ("contact_phone", "13806351234"),
        ("agent_name", "李敏"),
        ("agent_id", "110101199003074477"),
        ("business_address", "聊城市"),
        ("business_scope", "ordinary_cargo"),
        ("vehicle_count", "3"),
        ("parking_address", "聊城市"),
        ("plate_number", "鲁P12345"),
        ("vehicle_type", "truck"),
    ] {
        if plan.form.iter().any(|f| f.code == k) {
            form.insert(k.to_string(), serde_json::Value::from(v));
        }
    }
    s.update_case(&applicant, &id, None, Some(form)).await.unwrap();
    for m in &plan.materials {
        s.upload_material(&applicant, &id, &m.code, b"%PDF-1.4\n%%EOF\n").await.unwrap();
    }
    s.submit(&applicant, &id).await.unwrap();
    // Built before acceptance, then brought up to date from the events.
    assert_eq!(s.supervision(&supervisor, 10).await.unwrap().open_tasks, 0);
    let v = s.accept(&clerk, &id).await.unwrap();
    let o = s.supervision(&supervisor, 10).await.unwrap();
    assert_eq!((o.open_tasks, open(&o)), (1, 1));
    assert_eq!(o.counts["approval"][0], 1, "green: {:?}", o.counts);
    // A department's correction pauses the case: the task stays open, its colour stands still.
    let task = v.case.tasks[0].id.clone();
    let why = ReasonInput { material: None, field: None, reason: "请补充".into() };
    s.return_task(&officer, &task, vec![why]).await.unwrap();
    let o = s.supervision(&supervisor, 10).await.unwrap();
    assert_eq!(o.open_tasks, 1);
    s.submit(&applicant, &id).await.unwrap();
    let view = s.get_task(&officer, &task).await.unwrap();
    let result = view
        .result_fields
        .iter()
        .map(|f| (f.code.clone(), serde_json::Value::from(f.options.first().map_or("x", |c| c.value.as_str()))))
        .collect();
    s.approve(&officer, &task, ApproveRequest { result, number: None, valid_to: None }).await.unwrap();
    let o = s.supervision(&supervisor, 10).await.unwrap();
    assert_eq!(o.open_tasks, 1, "the permit is ready now: {:?}", o.counts);
    assert!(o.counts.contains_key("transport") && !o.counts.contains_key("approval"), "{:?}", o.counts);
    assert!(s.supervision(&applicant, 10).await.is_err(), "only supervisors");
}
