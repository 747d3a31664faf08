//! The engine's promises, on whichever backend the world runs (SQLite, or PostgreSQL when
//! ONETHING_TEST_POSTGRES_URL is set): the log rebuilds every case, account and record; a material cannot
//! change once its case is submitted, however the upload races the submission; concurrent writers of one
//! record — on one node or two — lose nothing.

use std::sync::Arc;

use futures_util::future::join_all;
use onething_core::calendar::WorkClock;
use onething_service::errors::{ErrorCode, Failure};
use onething_service::oversight::SupervisionKind;
use onething_service::{
    CreateCase, NoteInput, RatingInput, ReasonInput, Role, Service, ServiceConfig, User, audit_state,
};
use onething_store::{CaseWrite, Changeset, RecordFilter};
use serde_json::json;

use super::{World, catalog_files, china, close_form};

const DEPARTMENTS: [&str; 8] =
    ["tax", "customs", "hrss", "medical-insurance", "housing-fund", "pboc", "public-security", "approval"];

async fn officers(w: &World) -> Vec<User> {
    let mut out = Vec::new();
    for d in DEPARTMENTS {
        out.push(w.user(&format!("officer-{d}"), &[Role::Officer], Some(d)).await);
    }
    out
}

/// Approves every ready task of a case until none is left.
async fn conclude(w: &World, officers: &[User], case_id: &str) {
    loop {
        let mut decided = 0;
        for officer in officers {
            for t in w.service.list_tasks(officer, Some("ready".into())).await.unwrap() {
                if t.case_id == case_id {
                    let result = serde_json::from_value(json!({ "result": {} })).unwrap();
                    w.service.approve(officer, &t.task.id, result).await.unwrap();
                    decided += 1;
                }
            }
        }
        if decided == 0 {
            break;
        }
    }
}

/// A filed close-company case with every material uploaded, not yet submitted.
async fn complete_draft(w: &World, applicant: &User) -> String {
    let req: CreateCase = serde_json::from_value(json!({
        "bundle": "close-company",
        "applicant": { "kind": "company", "name": "测试公司", "credit_code": "91330100799655058B" },
        "form": close_form(),
    }))
    .unwrap();
    let created = w.service.create_case(applicant, req, None).await.unwrap();
    let id = created.view.row.id.clone();
    for m in &created.view.plan.materials {
        w.service.upload_material(applicant, &id, &m.code, format!("%PDF-1.4 {}", m.code).as_bytes()).await.unwrap();
    }
    id
}

#[tokio::test]
async fn the_log_rebuilds_every_case_account_and_record() {
    let w = World::new("2025-03-03T09:00").await;
    let officers = officers(&w).await;
    let applicant = w.user("applicant", &[Role::Applicant], None).await;
    let clerk = w.user("clerk", &[Role::Clerk], None).await;
    let supervisor = w.user("supervisor", &[Role::Supervisor], None).await;

    // A: accepted and concluded, then rated poorly (a review and a notice).
    let a = w.accepted_case("close-company", close_form()).await;
    w.time.advance_minutes(60);
    conclude(&w, &officers, &a).await;
    w.service
        .rate_case(&applicant, &a, RatingInput { level: 1, comment: Some("慢".into()), consent: None })
        .await
        .unwrap();

    // B: returned by the window, corrected, resubmitted, accepted; a department asks for a correction of a
    // field, the applicant changes it, the case runs on, one task is rejected.
    let b = complete_draft(&w, &applicant).await;
    w.service.submit(&applicant, &b).await.unwrap();
    let material = w.service.get_case(&applicant, &b).await.unwrap().plan.materials[0].code.clone();
    w.service
        .return_case(
            &clerk,
            &b,
            vec![ReasonInput { material: Some(material.clone()), field: None, reason: "不清晰".into() }],
        )
        .await
        .unwrap();
    w.service.upload_material(&applicant, &b, &material, b"%PDF-1.4 clearer").await.unwrap();
    w.service.submit(&applicant, &b).await.unwrap();
    w.service.accept(&clerk, &b).await.unwrap();
    let tax = &officers[0];
    let task = w.service.list_tasks(tax, Some("ready".into())).await.unwrap().into_iter().find(|t| t.case_id == b);
    let task = task.unwrap();
    w.service
        .return_task(
            tax,
            &task.task.id,
            vec![ReasonInput { material: None, field: Some("company_name".into()), reason: "名称有误".into() }],
        )
        .await
        .unwrap();
    let mut form: std::collections::BTreeMap<String, serde_json::Value> = serde_json::from_value(close_form()).unwrap();
    form.insert("company_name".into(), json!("旧时光商贸有限公司"));
    w.service.update_case(&applicant, &b, None, Some(form)).await.unwrap();
    w.service.submit(&applicant, &b).await.unwrap();
    let customs = &officers[1];
    let task = w.service.list_tasks(customs, Some("ready".into())).await.unwrap();
    let task = task.into_iter().find(|t| t.case_id == b).unwrap();
    w.service.reject(customs, &task.task.id, "有未结清的税款".into()).await.unwrap();

    // C: withdrawn by its applicant.
    let c = complete_draft(&w, &applicant).await;
    w.service.withdraw(&applicant, &c).await.unwrap();

    // D: accepted and left running until its clocks go red: crossings, escalations, interviews, notices.
    let d = w.accepted_case("close-company", close_form()).await;
    let end = china("2025-03-14T17:00");
    while w.time.get() < end {
        w.time.advance_minutes(120);
        w.service.sweep("node").await.unwrap();
    }
    let escalations = w
        .store
        .records(&RecordFilter { kind: "escalation".into(), case_id: Some(d.clone()), ..RecordFilter::default() })
        .await
        .unwrap();
    assert!(!escalations.is_empty(), "D's deadlines passed");
    let note = NoteInput { text: "已电话督促".into(), outcome: None };
    w.service.add_note(&supervisor, SupervisionKind::Escalation, &escalations[0].id, note).await.unwrap();
    w.service
        .close_record(&supervisor, SupervisionKind::Escalation, &escalations[0].id, "已办结".into())
        .await
        .unwrap();
    // A project with a milestone completed.
    let csv = "name,enterprise,credit_code,template,start_date,completed\n\
        智能产线改造,聊城甲机械有限公司,91440300708461136T,tech-upgrade,2025-03-03,\n";
    w.service.import_projects(&supervisor, csv).await.unwrap();
    let project = w.service.list_projects(&supervisor, 1).await.unwrap().remove(0);
    w.service.complete_milestone(&supervisor, &project.id, &project.milestones[0].code).await.unwrap();

    let report = audit_state(w.store.as_ref()).await.unwrap();
    assert!(report.is_clean(), "{:#?}", report.mismatches);
    assert_eq!((report.cases, report.legacy_cases), (4, 0));
    assert!(report.users >= 11, "{report:?}");
    assert!(report.records >= 10, "escalations, interviews, notices, the rating, its review, the project: {report:?}");
    let states: Vec<String> = {
        let mut s = Vec::new();
        for id in [&a, &b, &c, &d] {
            s.push(w.service.get_case(&applicant, id).await.unwrap().case.state.as_str().to_string());
        }
        s
    };
    assert_eq!(states, ["concluded", "concluded", "withdrawn", "accepted"], "the workload did what it says");

    // A row changed behind the log no longer matches it.
    let bundle = w.store.case_bundle(&a).await.unwrap().unwrap();
    let mut row = bundle.case.clone();
    row.state = "withdrawn".into();
    w.store
        .commit(Changeset {
            case: Some(CaseWrite { row, expected_version: Some(bundle.case.version), number_prefix: String::new() }),
            ..Changeset::default()
        })
        .await
        .unwrap();
    let report = audit_state(w.store.as_ref()).await.unwrap();
    assert_eq!(report.mismatches.len(), 1, "{:#?}", report.mismatches);
    assert_eq!(report.mismatches[0].id, bundle.case.number);
}

/// An upload that races the submission either lands before it (and is part of what was submitted) or is
/// refused; never after. Tried with the upload started before, with, and after the submission.
#[tokio::test]
async fn a_material_never_changes_after_submission() {
    let w = World::new("2025-03-03T09:00").await;
    let applicant = w.user("applicant", &[Role::Applicant], None).await;
    let clerk = w.user("clerk", &[Role::Clerk], None).await;
    let (mut landed, mut refused) = (0, 0);
    for round in 0..12u8 {
        let id = complete_draft(&w, &applicant).await;
        let material = w.service.get_case(&applicant, &id).await.unwrap().plan.materials[0].code.clone();
        let mut big = format!("%PDF-1.4 round {round} ").into_bytes();
        big.resize(2 << 20, b'x');
        let upload = async {
            for _ in 0..(round % 3) {
                tokio::task::yield_now().await;
            }
            w.service.upload_material(&applicant, &id, &material, &big).await
        };
        let submit = async {
            for _ in 0..(round % 4) {
                tokio::task::yield_now().await;
            }
            w.service.submit(&applicant, &id).await.unwrap();
            w.service.accept(&clerk, &id).await.unwrap();
        };
        let (uploaded, ()) = tokio::join!(upload, submit);
        let events = w.store.case_events(&id).await.unwrap();
        let submitted = events.iter().find(|e| e.kind == "case_submitted").unwrap().seq;
        let stored = w.service.material_file(&applicant, &id, &material).await.unwrap();
        match uploaded {
            Ok(_) => {
                landed += 1;
                let last_upload = events.iter().filter(|e| e.kind == "material_uploaded").map(|e| e.seq).max();
                assert!(last_upload.unwrap() < submitted, "round {round}: an upload after submission: {events:?}");
                assert_eq!(stored.1.len(), big.len(), "round {round}: the submitted file is the big one");
            }
            Err(e) => {
                refused += 1;
                assert_eq!(e.code(), ErrorCode::IllegalTransition, "round {round}: {e}");
                assert!(stored.1.len() < 100, "round {round}: the file submitted stayed");
                assert!(events.iter().filter(|e| e.seq > submitted).all(|e| e.kind != "material_uploaded"));
            }
        }
        let report = audit_state(w.store.as_ref()).await.unwrap();
        assert!(report.is_clean(), "round {round}: {:#?}", report.mismatches);
    }
    eprintln!("uploads that landed before the submission: {landed}; refused after it: {refused}");
    assert_eq!(landed + refused, 12);
}

/// Fifty supervisors add a note to one escalation at once, half through a second node on the same store;
/// fifty milestone completions and fifty ratings race the same way. Every note and milestone lands; one
/// rating wins and the others are told it exists.
#[tokio::test]
async fn fifty_concurrent_writers_lose_nothing() {
    let w = World::new("2025-03-03T09:00").await;
    let other = Service::start(
        Arc::clone(&w.store),
        catalog_files(),
        WorkClock::official(),
        Arc::new(w.time.clone()),
        ServiceConfig::default(),
    )
    .await
    .unwrap();
    let nodes = [&w.service, &other];
    let supervisor = w.user("supervisor", &[Role::Supervisor], None).await;
    let officers = officers(&w).await;
    let applicant = w.user("applicant", &[Role::Applicant], None).await;
    let case = w.accepted_case("close-company", close_form()).await;
    let input = onething_service::oversight::EscalationInput {
        case_id: case.clone(),
        task_id: None,
        reason: "群众反映办理缓慢".into(),
    };
    let escalation = w.service.open_escalation(&supervisor, input).await.unwrap();

    let notes = join_all((0..50).map(|i| {
        let (node, supervisor, id) = (nodes[i % 2], &supervisor, &escalation.id);
        async move {
            let note = NoteInput { text: format!("note {i}"), outcome: None };
            node.add_note(supervisor, SupervisionKind::Escalation, id, note).await
        }
    }))
    .await;
    assert!(notes.iter().all(Result::is_ok), "{:?}", notes.iter().find(|r| r.is_err()));
    let row = w.store.record("escalation", &escalation.id).await.unwrap().unwrap();
    let stored = onething_service::records::Record::<onething_service::records::Escalation>::from_row(row).unwrap();
    let mut texts: Vec<String> = stored.doc.0.notes.iter().map(|n| n.text.clone()).collect();
    texts.sort();
    let mut expected: Vec<String> = (0..50).map(|i| format!("note {i}")).collect();
    expected.sort();
    assert_eq!(texts, expected);
    assert_eq!(stored.version, 51);

    // Milestones: ten projects, every milestone completed at once from both nodes.
    let mut csv = String::from("name,enterprise,credit_code,template,start_date,completed\n");
    for i in 0..10 {
        csv.push_str(&format!("项目{i},聊城{i}号机械有限公司,91440300708461136T,tech-upgrade,2025-03-03,\n"));
    }
    assert_eq!(w.service.import_projects(&supervisor, &csv).await.unwrap().imported, 10);
    let projects = w.service.list_projects(&supervisor, 10).await.unwrap();
    let targets: Vec<(String, String)> = projects
        .iter()
        .flat_map(|p| p.milestones.iter().map(move |m| (p.id.clone(), m.code.clone())))
        .take(50)
        .collect();
    assert!(targets.len() >= 30, "enough milestones to race: {}", targets.len());
    let done = join_all(targets.iter().enumerate().map(|(i, (p, m))| {
        let (node, supervisor) = (nodes[i % 2], &supervisor);
        async move { node.complete_milestone(supervisor, p, m).await }
    }))
    .await;
    assert!(done.iter().all(Result::is_ok), "{:?}", done.iter().find(|r| r.is_err()));
    for p in w.service.list_projects(&supervisor, 10).await.unwrap() {
        for m in &p.milestones {
            let raced = targets.iter().any(|(id, code)| *id == p.id && *code == m.code);
            assert_eq!(m.done_at.is_some(), raced, "{} {}", p.name, m.code);
        }
    }

    // Ratings of one concluded case: exactly one is stored.
    conclude(&w, &officers, &case).await;
    let ratings = join_all((0..50u8).map(|i| {
        let (node, applicant, case) = (nodes[usize::from(i) % 2], &applicant, &case);
        async move {
            let input = RatingInput { level: 1 + i % 5, comment: Some(format!("rating {i}")), consent: None };
            node.rate_case(applicant, case, input).await
        }
    }))
    .await;
    let won: Vec<_> = ratings.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "{ratings:?}");
    assert!(ratings.iter().filter_map(|r| r.as_ref().err()).all(|e| e.to_string().contains("rated already")));
    let stored = w.service.case_rating(&applicant, &case).await.unwrap().unwrap();
    assert_eq!(stored.doc.comment, won[0].doc.comment);

    let report = audit_state(w.store.as_ref()).await.unwrap();
    assert!(report.is_clean(), "{:#?}", report.mismatches);
}

/// The installation's signing keys: one ring however many nodes start at once; a rotation retires the old key
/// and keeps it; no secret ever enters the event log.
#[tokio::test]
async fn one_key_ring_for_every_node_and_no_secret_in_the_log() {
    let w = World::new("2025-03-03T09:00").await;
    let start = || {
        Service::start(
            Arc::clone(&w.store),
            catalog_files(),
            WorkClock::official(),
            Arc::new(w.time.clone()),
            ServiceConfig::default(),
        )
    };
    let nodes = join_all((0..4).map(|_| start())).await;
    let nodes: Vec<Service> = nodes.into_iter().map(Result::unwrap).collect();
    let first = w.service.key_ring().await.unwrap();
    assert_eq!(first.keys.len(), 1);
    for node in &nodes {
        assert_eq!(node.key_ring().await.unwrap(), first, "every node signs with the same key");
    }
    let applicant = w.user("applicant", &[Role::Applicant], None).await;
    assert!(w.service.rotate_keys(&applicant).await.is_err(), "administrators only");
    let admin = w.user("admin", &[Role::Admin], None).await;
    let ring = nodes[1].rotate_keys(&admin).await.unwrap();
    assert_eq!(ring.keys.len(), 2);
    assert!(ring.keys[0].retired_at.is_some());
    assert_eq!(ring.current().unwrap().id, ring.keys[1].id);
    assert_eq!(w.service.signing_key().await.unwrap().id(), ring.keys[1].id);
    assert_ne!(ring.keys[0].id, ring.keys[1].id);

    let events = w.store.events_after(0, 100_000).await.unwrap();
    let created: Vec<_> = events.iter().filter(|e| e.kind == "key_created").collect();
    assert_eq!(created.len(), 2, "one at first start, one rotation");
    let row = w.store.record("installation_keys", "ring").await.unwrap().unwrap();
    let stored: serde_json::Value = serde_json::from_str(&row.doc).unwrap();
    for key in stored["keys"].as_array().unwrap() {
        let secret = key["secret"].as_str().unwrap();
        assert!(secret.starts_with('z') && secret.len() > 40);
        assert!(events.iter().all(|e| !e.payload.contains(secret)), "a secret in the log");
    }
    let report = audit_state(w.store.as_ref()).await.unwrap();
    assert!(report.is_clean(), "{:#?}", report.mismatches);
}

/// Where the hall keeps filing and acceptance apart, the clerk who filed a walk-in's case cannot accept it;
/// another clerk can, and the case records who filed it.
#[tokio::test]
async fn a_hall_can_keep_assisted_filing_and_acceptance_apart() {
    let config = ServiceConfig { separate_filing_and_acceptance: true, ..ServiceConfig::default() };
    let w = World::with_config("2025-03-03T09:00", config).await;
    let front = w.user("clerk-front", &[Role::Clerk], None).await;
    let back = w.user("clerk-back", &[Role::Clerk], None).await;
    let id = complete_draft(&w, &front).await;
    w.service.submit(&front, &id).await.unwrap();
    let refused = w.service.accept(&front, &id).await.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::Forbidden, "{refused}");
    let view = w.service.accept(&back, &id).await.unwrap();
    assert_eq!(view.case.filed_by, front.id);
    assert!(view.case.receipt_number.is_some());
}
