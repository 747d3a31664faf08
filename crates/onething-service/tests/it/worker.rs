//! The deadline worker, stepped by a fake clock: each crossing exactly once (even with two nodes sweeping),
//! an escalation at red, an interview after N working days overdue, notices to whoever must act; a paused
//! clock fires nothing.

use std::collections::BTreeMap;

use onething_service::{ReasonInput, Role};
use onething_store::RecordFilter;

use super::{World, china, close_form};

/// The colour crossings recorded per subject, in order.
async fn crossings(w: &World, case_id: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for e in w.store.case_events(case_id).await.unwrap() {
        if e.kind == "colour_changed" {
            let p: serde_json::Value = serde_json::from_str(&e.payload).unwrap();
            out.entry(p["subject"].as_str().unwrap().to_string())
                .or_default()
                .push((p["from"].as_str().unwrap().to_string(), p["to"].as_str().unwrap().to_string()));
        }
    }
    out
}

/// Steps the clock by `minutes` until `until`, sweeping as two nodes at each step.
async fn run_until(w: &World, until: &str, minutes: i64) {
    let end = china(until);
    while w.time.get() < end {
        w.time.advance_minutes(minutes);
        w.service.sweep("node-a").await.unwrap();
        w.service.sweep("node-b").await.unwrap();
    }
}

#[tokio::test]
async fn every_crossing_is_recorded_once_with_escalation_interview_and_notices() {
    let w = World::new("2025-03-03T09:00").await;
    let id = w.accepted_case("close-company", close_form()).await;
    // Monday to the Wednesday of the next week: every running clock goes green → blue → yellow → red, and
    // stays overdue for more than 5 working days.
    run_until(&w, "2025-03-13T12:00", 15).await;
    let seen = crossings(&w, &id).await;
    let expected = vec![
        ("green".to_string(), "blue".to_string()),
        ("blue".to_string(), "yellow".to_string()),
        ("yellow".to_string(), "red".to_string()),
    ];
    let tasks: Vec<&String> = seen.keys().filter(|k| k.starts_with("task:")).collect();
    assert_eq!(tasks.len(), 7, "the seven ready tasks (deregistration waits): {seen:?}");
    for (subject, list) in &seen {
        assert_eq!(list, &expected, "{subject}");
    }
    assert!(seen.contains_key(&format!("case:{id}")), "the case's own deadline too");

    // One escalation per red subject, opened by the system.
    let escalations = w
        .store
        .records(&RecordFilter { kind: "escalation".into(), case_id: Some(id.clone()), ..RecordFilter::default() })
        .await
        .unwrap();
    assert_eq!(escalations.len(), 8);
    assert!(escalations.iter().all(|e| e.doc.contains(r#""opened_by":"system""#) && e.state == "open"));
    // Overdue by more than 5 working days: an interview for each.
    let interviews = w
        .store
        .records(&RecordFilter { kind: "interview".into(), case_id: Some(id.clone()), ..RecordFilter::default() })
        .await
        .unwrap();
    assert_eq!(interviews.len(), 8, "{interviews:?}");
    let events = w.store.case_events(&id).await.unwrap();
    let interview_at = events.iter().find(|e| e.kind == "interview_opened").map(|e| e.at).unwrap();
    assert!(interview_at >= china("2025-03-11T17:00"), "5 working days after Tuesday 4 March's close");

    // Notices reached whoever must act.
    let officer = w.user("officer-tax", &[Role::Officer], Some("tax")).await;
    let head = w.user("head-tax", &[Role::Officer, Role::Head], Some("tax")).await;
    let supervisor = w.user("supervisor", &[Role::Supervisor], None).await;
    let kinds = |rows: &[onething_service::records::Record<onething_service::records::Notice>]| -> Vec<String> {
        rows.iter()
            .map(|r| {
                let kind = serde_json::to_value(r.doc.kind).unwrap();
                format!("{}:{}", kind.as_str().unwrap_or(""), r.doc.to.as_deref().unwrap_or(""))
            })
            .collect()
    };
    let (inbox, unread) = w.service.inbox(&officer).await.unwrap();
    let k = kinds(&inbox);
    for expect in ["colour:blue", "colour:yellow", "colour:red"] {
        assert!(k.iter().any(|x| x == expect), "officer gets {expect}: {k:?}");
    }
    assert_eq!(unread as usize, inbox.len());
    let (head_inbox, _) = w.service.inbox(&head).await.unwrap();
    let k = kinds(&head_inbox);
    assert!(k.iter().any(|x| x == "interview:"), "the head is called to the interview: {k:?}");
    assert!(k.iter().filter(|x| *x == "colour:yellow").count() >= 2, "as handler and as head");
    let (sup_inbox, _) = w.service.inbox(&supervisor).await.unwrap();
    assert!(kinds(&sup_inbox).iter().any(|x| x == "colour:red"));
    // Reading a notice lowers the unread count.
    let (_, before) = w.service.inbox(&officer).await.unwrap();
    w.service.mark_read(&officer, &inbox[0].id).await.unwrap();
    let (_, after) = w.service.inbox(&officer).await.unwrap();
    assert_eq!(after, before - 1);

    // Sweeping again changes nothing: everything was recorded once.
    let total = w.store.case_events(&id).await.unwrap().len();
    run_until(&w, "2025-03-20T12:00", 60).await;
    assert_eq!(w.store.case_events(&id).await.unwrap().len(), total);
    let report = onething_store::verify_chain(w.store.as_ref()).await.unwrap();
    assert!(report.broken.is_none(), "{report:?}");
}

#[tokio::test]
async fn a_paused_clock_fires_nothing() {
    let w = World::new("2025-03-03T09:00").await;
    let id = w.accepted_case("close-company", close_form()).await;
    let officer = w.user("officer-customs", &[Role::Officer], Some("customs")).await;
    let tasks = w.service.list_tasks(&officer, Some("ready".into())).await.unwrap();
    // At 10:00 customs asks for a correction: every clock of the case stops.
    w.time.set(china("2025-03-03T10:00"));
    w.service
        .return_task(
            &officer,
            &tasks[0].task.id,
            vec![ReasonInput { material: Some("customs-record".into()), field: None, reason: "请补充".into() }],
        )
        .await
        .unwrap();
    run_until(&w, "2025-03-14T17:00", 30).await;
    assert!(crossings(&w, &id).await.is_empty(), "nothing fires while the applicant corrects");

    // The applicant resubmits on Monday 17 March at 09:00: the clocks resume where they stopped (1 working
    // hour used) and cross again from there.
    w.time.set(china("2025-03-17T09:00"));
    let applicant = w.user("applicant", &[Role::Applicant], None).await;
    // The correction names the customs record: it is uploaded again first.
    w.service.upload_material(&applicant, &id, "customs-record", b"%PDF-1.4 again").await.unwrap();
    w.service.submit(&applicant, &id).await.unwrap();
    run_until(&w, "2025-03-17T17:30", 15).await;
    let seen = crossings(&w, &id).await;
    assert!(seen.values().all(|l| l.first() == Some(&("green".to_string(), "blue".to_string()))), "{seen:?}");
}

/// Two nodes share the deadline work through leases: a node that dies mid-claim (it claimed, then vanished)
/// delays its items only until the lease runs out; nothing is recorded twice, nothing is missed.
#[tokio::test]
async fn two_nodes_share_the_work_and_a_dead_node_only_delays_it() {
    let w = World::new("2025-03-03T09:00").await;
    let id = w.accepted_case("close-company", close_form()).await;
    // A second node on the same store, with its own clock set to the same time.
    let other = super::FakeTime::at("2025-03-03T09:00");
    let node_b = onething_service::Service::start(
        w.store.clone(),
        super::catalog_files(),
        onething_core::calendar::WorkClock::official(),
        std::sync::Arc::new(other.clone()),
        onething_service::ServiceConfig::default(),
    )
    .await
    .unwrap();
    // Monday 17:00: the seven tasks' clocks turn blue. Node A claims them all and dies before recording.
    let t = super::china("2025-03-03T17:00");
    w.time.set(t);
    other.set(t);
    let lease = t + jiff::SignedDuration::from_secs(60);
    let stolen = w.store.claim_watches("node-a", t, lease, 100).await.unwrap();
    assert_eq!(stolen.len(), 7, "{stolen:?}");
    // While the lease holds, node B finds nothing to do.
    let r = node_b.sweep("node-b").await.unwrap();
    assert_eq!(r.claimed, 0);
    assert!(crossings(&w, &id).await.is_empty());
    // After the lease runs out node B takes the work over and records each crossing once.
    other.set(t + jiff::SignedDuration::from_secs(61));
    let r = node_b.sweep("node-b").await.unwrap();
    assert_eq!((r.claimed, r.crossings), (7, 7));
    // Both nodes sweeping at the same instants from here on never record anything twice.
    for step in 0..200 {
        let now = t + jiff::SignedDuration::from_mins(61 + 15 * step);
        w.time.set(now);
        other.set(now);
        let (a, b) = tokio::join!(w.service.sweep("node-a"), node_b.sweep("node-b"));
        a.unwrap();
        b.unwrap();
    }
    for (subject, list) in crossings(&w, &id).await {
        let mut dedup = list.clone();
        dedup.dedup();
        assert_eq!(list, dedup, "{subject} recorded a crossing twice");
        assert_eq!(list.last().map(|x| x.1.as_str()), Some("red"), "{subject} reached red: nothing missed");
    }
}
