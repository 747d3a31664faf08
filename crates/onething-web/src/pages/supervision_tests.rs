//! Tests of the supervision pages: the dashboard's sections, the escalation board, the assessment (with its
//! CSV), the projects board and its import, the inbox with its badge, rating a concluded case and answering the
//! review. Each page renders for its roles, refuses the others with a page (never JSON), and refuses a POST
//! without the CSRF token. Shared helpers live in `test_support.rs`.

use axum::http::{StatusCode, header};
use onething_service::Role;

use super::i18n::{EN_SOURCE, ZH_SOURCE, flatten};
use super::test_support::*;

/// A signed-in session's cookie and the CSRF token of a page it reads.
async fn csrf_of(app: &App, cookie: &str, path: &str) -> String {
    let page = send(app, get(path, cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
    page.csrf()
}

fn is_html(r: &Resp) -> bool {
    r.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|c| c.starts_with("text/html"))
}

/// A transport-company case filed by `applicant`, accepted and approved by every department: concluded.
async fn concluded_case(app: &App) -> (String, String) {
    use onething_service::{ApplicantInput, ApproveRequest, CreateCase};
    let s = &app.service;
    let applicant = s.login("applicant", PASSWORD).await.unwrap().1;
    let clerk = s.login("clerk", PASSWORD).await.unwrap().1;
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
    s.accept(&clerk, &id).await.unwrap();
    for _ in 0..10 {
        let v = s.get_case(&applicant, &id).await.unwrap();
        let ready: Vec<_> = v
            .case
            .tasks
            .iter()
            .filter(|k| k.state == onething_core::case::TaskState::Ready)
            .map(|k| (k.id.clone(), k.department.clone()))
            .collect();
        if ready.is_empty() {
            break;
        }
        for (task, dept) in ready {
            let name = format!("officer-{dept}");
            if s.login(&name, PASSWORD).await.is_err() {
                s.save_user(&name, PASSWORD, &[Role::Officer], Some(&dept)).await.unwrap();
            }
            let officer = s.login(&name, PASSWORD).await.unwrap().1;
            let view = s.get_task(&officer, &task).await.unwrap();
            let result = view
                .result_fields
                .iter()
                .map(|f| {
                    use onething_core::catalog::FieldType;
                    let v = match (f.options.first(), f.field_type) {
                        (Some(c), _) => serde_json::Value::from(c.value.as_str()),
                        (None, FieldType::Number) => serde_json::Value::from(12),
                        (None, FieldType::Date) => serde_json::Value::from("2026-01-05"),
                        (None, FieldType::Bool) => serde_json::Value::from(true),
                        _ => serde_json::Value::from("x"),
                    };
                    (f.code.clone(), v)
                })
                .collect();
            s.approve(&officer, &task, ApproveRequest { result, number: None, valid_to: None }).await.unwrap();
        }
    }
    let v = s.get_case(&applicant, &id).await.unwrap();
    assert_eq!(v.case.state, onething_core::case::CaseState::Concluded);
    (id, v.row.number)
}

#[tokio::test]
async fn supervisor_pages_render_with_charts_counts_and_the_inbox_badge() {
    let app = app().await;
    let s = &app.service;
    let sup = s.login("supervisor", PASSWORD).await.unwrap().1;
    // 60 demo projects (two pages), then one sweep: a daily snapshot for the trend, crossings with notices.
    assert_eq!(s.seed_demo_projects(&sup, 60).await.unwrap(), 60);
    s.sweep("test-node").await.unwrap();
    let (cookie, _) = sign_in(&app, "supervisor").await;

    let r = send(&app, get("/supervisor", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    for word in ["颜色趋势", "超期清单", "<svg", "正常", "提醒", "预警", "超期", "href=\"/supervisor/escalations\""]
    {
        assert!(r.body.contains(word), "/supervisor lacks {word}");
    }
    assert!(r.body.contains("id=\"unread-count\""), "the inbox badge shows the unread notices");

    let r = send(&app, get("/supervisor/escalations", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("督办与约谈") && r.body.contains("name=\"reason\""), "{}", r.body);

    let r = send(&app, get("/supervisor/assessment?period=2026", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    for word in ["绩效考核", "2026年", "按时办结率", "/supervisor/assessment.csv?period=2026", "<label for=\"period\""]
    {
        assert!(r.body.contains(word), "assessment lacks {word}");
    }
    let r = send(&app, get("/supervisor/assessment?period=2026-Q9", &cookie)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("考核期间不正确"), "the period error sits next to the picker");
    let r = send(&app, get("/supervisor/assessment.csv?period=2026-03", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    assert!(r.body.starts_with("scope,code,handled"), "{}", r.body);

    let r = send(&app, get("/supervisor/projects", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    for word in ["技改项目", "第 1 / 2 页", "/supervisor/projects?page=2", "标记完成", "导入项目"] {
        assert!(r.body.contains(word), "projects lacks {word}");
    }
    assert_eq!(r.body.matches("class=\"card project\"").count(), 50, "50 projects a page");
    let r = send(&app, get("/supervisor/projects?page=2", &cookie)).await;
    assert_eq!(r.body.matches("class=\"card project\"").count(), 10);

    let r = send(&app, get("/inbox", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("标为已读") && r.body.contains("约谈"), "{}", r.body);
    // Mark one read: the unread count drops by one.
    let unread = s.unread_notices(&sup).await.unwrap();
    assert!(unread > 0);
    let at = r.body.find("action=\"/inbox/").unwrap();
    let action = &r.body[at + 8..];
    let action = &action[..action.find('"').unwrap()];
    let csrf = r.csrf();
    let done = send(&app, post(action, &cookie, &[("_csrf", &csrf)])).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(s.unread_notices(&sup).await.unwrap(), unread - 1);

    // English through the locale files.
    let mut req = get("/supervisor/projects", &cookie);
    req.headers_mut().insert(header::ACCEPT_LANGUAGE, "en".parse().unwrap());
    let r = send(&app, req).await;
    assert!(r.body.contains("Upgrade projects") && r.body.contains("Page 1 of 2"));
}

#[tokio::test]
async fn other_roles_are_refused_with_pages_never_json() {
    let app = app().await;
    let (applicant, _) = sign_in(&app, "applicant").await;
    let (officer, _) = sign_in(&app, "officer-approval").await;
    for (cookie, path) in [
        (&applicant, "/supervisor/escalations"),
        (&applicant, "/supervisor/assessment?period=2026"),
        (&applicant, "/supervisor/assessment.csv?period=2026"),
        (&applicant, "/supervisor/projects"),
        (&applicant, "/officer/reviews"),
        (&officer, "/supervisor/escalations"),
        (&officer, "/supervisor/assessment"),
        (&officer, "/supervisor/assessment.csv?period=2026"),
    ] {
        let r = send(&app, get(path, cookie)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert!(is_html(&r) && r.body.contains("无权"), "{path}: {}", r.body);
    }
    for path in
        ["/supervisor/escalations", "/supervisor/assessment", "/supervisor/projects", "/inbox", "/officer/reviews"]
    {
        let r = send(&app, get(path, "")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert!(r.location().starts_with("/login?next="), "{path}");
    }
    // Officers see the projects board, read-only apart from their own milestones, and their reviews.
    let r = send(&app, get("/supervisor/projects", &officer)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.body.contains("导入项目"), "no import form for officers");
    let r = send(&app, get("/officer/reviews", &officer)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("差评整改"));
    // Everyone has an inbox.
    let r = send(&app, get("/inbox", &applicant)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("href=\"/inbox\""));
}

#[tokio::test]
async fn posts_without_the_csrf_token_are_refused() {
    let app = app().await;
    let (cookie, _) = sign_in(&app, "supervisor").await;
    for path in [
        "/supervisor/escalations",
        "/supervisor/escalations/x/note",
        "/supervisor/escalations/x/close",
        "/supervisor/projects",
        "/supervisor/projects/x/milestones/approval/complete",
        "/inbox/x/read",
        "/cases/x/rate",
        "/officer/reviews/x/answer",
    ] {
        let r = send(&app, post(path, &cookie, &[("reason", "x"), ("csv", "x")])).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert!(is_html(&r) && r.body.contains("页面已过期"), "{path}");
    }
}

#[tokio::test]
async fn an_import_with_a_bad_row_shows_its_line_number_and_keeps_the_good_rows() {
    let app = app().await;
    let (cookie, _) = sign_in(&app, "supervisor").await;
    let csrf = csrf_of(&app, &cookie, "/supervisor/projects").await;
    let csv = "name,enterprise,credit_code,template,start_date,completed\n\
               数控车间改造,聊城精工有限公司,91440300708461136T,tech-upgrade,2026-03-02,\n\
               坏行,聊城精工有限公司,123,tech-upgrade,2026-03-02,\n";
    let r = send(&app, post("/supervisor/projects", &cookie, &[("_csrf", &csrf), ("csv", csv)])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("第 3 行") && r.body.contains("credit_code"), "{}", r.body);
    assert!(r.body.contains("已导入 1 个项目"));
    assert!(r.body.contains("数控车间改造"), "the good row is on the board");
    // A CSV without the header's columns: the error sits next to the text area.
    let r = send(&app, post("/supervisor/projects", &cookie, &[("_csrf", &csrf), ("csv", "a,b\n1,2\n")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"csv-err\""), "{}", r.body);
    // All good: redirect with the count.
    let good = "name,enterprise,credit_code,template,start_date\n新线,聊城精工有限公司,91440300708461136T,tech-upgrade,2026-03-02\n";
    let r = send(&app, post("/supervisor/projects", &cookie, &[("_csrf", &csrf), ("csv", good)])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/supervisor/projects?imported=1");
    // The finance officer completes the finance milestone of a project.
    let (finance, _) = sign_in(&app, "officer-finance").await;
    let page = send(&app, get("/supervisor/projects", &finance)).await;
    assert_eq!(page.body.matches("/complete\"").count(), 2, "one own milestone on each of the two projects");
    let at = page.body.find("/milestones/").unwrap();
    let start = page.body[..at].rfind("action=\"").unwrap() + 8;
    let end = at + page.body[at..].find('"').unwrap();
    let action = page.body[start..end].to_string();
    assert!(action.ends_with("/complete"), "{action}");
    let r = send(&app, post(&action, &finance, &[("_csrf", &page.csrf()), ("page", "1")])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = send(&app, get("/supervisor/projects", &finance)).await;
    assert_eq!(page.body.matches("/complete\"").count(), 1);
}

#[tokio::test]
async fn rating_a_case_opens_a_review_the_department_answers_and_supervisors_escalate() {
    let app = app().await;
    let (id, number) = concluded_case(&app).await;
    let (applicant, _) = sign_in(&app, "applicant").await;
    let page = send(&app, get(&format!("/cases/{id}"), &applicant)).await;
    assert_eq!(page.status, StatusCode::OK);
    for word in ["非常满意", "满意", "基本满意", "不满意", "非常不满意", "for=\"rating-comment\""] {
        assert!(page.body.contains(word), "the rating form lacks {word}");
    }
    let csrf = page.csrf();
    let path = format!("/cases/{id}/rate");
    let r = send(&app, post(&path, &applicant, &[("_csrf", &csrf), ("comment", "太慢")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "no level chosen");
    assert!(r.body.contains("id=\"rating-error\"") && r.body.contains("太慢"));
    let r = send(&app, post(&path, &applicant, &[("_csrf", &csrf), ("level", "2"), ("comment", "太慢")])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = send(&app, get(&format!("/cases/{id}"), &applicant)).await;
    assert!(page.body.contains("您的评价") && page.body.contains("不满意") && !page.body.contains("id=\"rate\""));

    // The lead department (transport) answers the review.
    let (officer, _) = sign_in(&app, "officer-transport").await;
    let page = send(&app, get("/officer/reviews", &officer)).await;
    assert!(page.body.contains(&number) && page.body.contains("太慢"), "{}", page.body);
    assert!(page.body.contains("id=\"unread-count\""), "the review notice is unread");
    let review = {
        let at = page.body.find("action=\"/officer/reviews/").unwrap() + 8;
        page.body[at..at + page.body[at..].find('"').unwrap()].to_string()
    };
    let csrf = page.csrf();
    let r = send(&app, post(&review, &officer, &[("_csrf", &csrf), ("answer", " ")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("此项必填"));
    let r = send(&app, post(&review, &officer, &[("_csrf", &csrf), ("answer", "已约谈经办人，缩短流程。")])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = send(&app, get("/officer/reviews", &officer)).await;
    assert!(page.body.contains("已约谈经办人"));

    // A supervisor escalates the case by hand, notes and closes it; errors sit next to the fields.
    let (sup, _) = sign_in(&app, "supervisor").await;
    let csrf = csrf_of(&app, &sup, "/supervisor/escalations").await;
    let r = send(&app, post("/supervisor/escalations", &sup, &[("_csrf", &csrf), ("case", &id), ("reason", "")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"esc-reason-err\""), "{}", r.body);
    let r =
        send(&app, post("/supervisor/escalations", &sup, &[("_csrf", &csrf), ("case", "nope"), ("reason", "x")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"esc-case-err\""));
    let form = [("_csrf", csrf.as_str()), ("case", id.as_str()), ("task", ""), ("reason", "群众反映办理慢")];
    let r = send(&app, post("/supervisor/escalations", &sup, &form)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = send(&app, get("/supervisor/escalations", &sup)).await;
    assert!(page.body.contains("群众反映办理慢"));
    let note = {
        let at = page.body.find("/note\"").unwrap();
        let start = page.body[..at].rfind("action=\"").unwrap() + 8;
        page.body[start..at + 5].to_string()
    };
    let r = send(&app, post(&note, &sup, &[("_csrf", &csrf), ("text", "")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r =
        send(&app, post(&note, &sup, &[("_csrf", &csrf), ("text", "已电话督促"), ("outcome", "部门承诺整改")])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let close = note.replace("/note", "/close");
    let r = send(&app, post(&close, &sup, &[("_csrf", &csrf), ("outcome", "已整改")])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = send(&app, get("/supervisor/escalations", &sup)).await;
    assert!(page.body.contains("已电话督促") && page.body.contains("已整改") && page.body.contains("部门承诺整改"));
}

#[test]
fn the_dynamic_keys_of_the_supervision_pages_exist_in_both_languages() {
    let (zh, en) = (flatten(ZH_SOURCE), flatten(EN_SOURCE));
    let mut keys: Vec<String> = Vec::new();
    keys.extend((0..=5).map(|l| format!("rating.level_{l}")));
    keys.extend(["colour", "escalation", "interview", "review"].iter().map(|k| format!("notice_kind.{k}")));
    keys.extend(["overdue", "repeat"].iter().map(|k| format!("esc_reason.{k}")));
    keys.extend(
        ["inbox", "unread", "reviews", "escalations", "assessment", "projects"].iter().map(|k| format!("nav.{k}")),
    );
    for k in &keys {
        assert!(zh.contains_key(k) && en.contains_key(k), "{k} is missing from a locale");
    }
    // The Chinese level names are the national ones.
    for (level, name) in onething_service::RATING_LEVELS {
        assert_eq!(zh[&format!("rating.level_{level}")], name);
    }
}
