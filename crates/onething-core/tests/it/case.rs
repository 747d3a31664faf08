//! The case (办件) state machine on the demo catalogue's bundles: the newspaper's transport company from draft
//! to a concluded case with three results, a department's correction that pauses every clock, company
//! closure with its all-or-nothing rule, a partial bundle, every illegal transition, random action sequences,
//! and the supervision colours (督办颜色).

// In tests a panic is the failure report, helpers included.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use jiff::Timestamp;
use onething_core::calendar::{Pause, WorkClock, china_tz};
use onething_core::case::{
    Applicant, ApplicantKind, Case, CaseError, CaseEvent, CaseState, Outcome, REASON_BUNDLE_REJECTED,
    REASON_NEEDED_TASK_REJECTED, Reason, ReturnedBy, TaskResult, TaskState, Upload,
};
use onething_core::catalog::Catalog;
use onething_core::colour::{Colour, Thresholds, colour};
use onething_core::duration::WorkingDuration;
use onething_core::plan::{self, Plan};
use onething_core::source::SourceFile;
use proptest::prelude::*;

/// The demo catalogue of the repository (`catalog/`).
pub(crate) fn demo() -> Catalog {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog");
    let mut files = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.map(|e| e.path()).unwrap_or_default();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                files.push(SourceFile::new(path.strip_prefix(&dir).unwrap_or(&path).display().to_string(), text));
            }
        }
    }
    Catalog::load(&files).unwrap_or_else(|e| panic!("demo catalogue: {e:?}"))
}

/// The demo plans of the two newspaper bundles with default answers, compiled once.
pub(crate) fn plans() -> &'static (Plan, Plan) {
    static PLANS: OnceLock<(Plan, Plan)> = OnceLock::new();
    PLANS.get_or_init(|| {
        let c = demo();
        let compile = |b: &str| plan::compile(&c, b, &BTreeMap::new()).unwrap_or_else(|e| panic!("{b}: {e}"));
        (compile("open-transport-company"), compile("close-company"))
    })
}

fn transport() -> &'static Plan {
    &plans().0
}

fn closing() -> &'static Plan {
    &plans().1
}

fn clock() -> WorkClock {
    WorkClock::official()
}

/// An instant written as `YYYY-MM-DD HH:MM` in +08:00.
fn at(s: &str) -> Timestamp {
    let dt: jiff::civil::DateTime = s.parse().unwrap();
    china_tz().to_timestamp(dt).unwrap()
}

fn show(t: Option<Timestamp>) -> String {
    t.map_or("-".to_string(), |t| china_tz().to_datetime(t).strftime("%Y-%m-%d %H:%M").to_string())
}

fn company() -> Applicant {
    Applicant {
        kind: ApplicantKind::Company,
        name: "聊城市东昌府区顺达运输有限公司".into(),
        credit_code: Some("91440300708461136T".into()),
        id_number: None,
    }
}

fn new_case(plan: &Plan, now: Timestamp) -> Case {
    let form = BTreeMap::from([("company_name".to_string(), serde_json::json!("顺达运输"))]);
    Case::file("c1", plan, company(), plan.answers.clone(), form, "u-applicant", now).0
}

/// A file as the case records it.
fn file(sha: &str) -> Upload {
    Upload {
        sha256: sha.repeat(64 / sha.len()),
        size: 1_024,
        media_type: "application/pdf".into(),
        uploaded_at: at("2025-01-01 00:00"),
    }
}

fn ids(plan: &Plan) -> Vec<String> {
    (1..=plan.tasks.len()).map(|i| format!("t{i}")).collect()
}

fn result(licence: &str, now: Timestamp) -> TaskResult {
    TaskResult {
        licence: licence.into(),
        number: format!("{licence}-0001"),
        holder: "顺达运输".into(),
        valid_from: china_tz().to_datetime(now).date(),
        valid_to: None,
        fields: BTreeMap::new(),
        issued_at: now,
    }
}

fn reasons(text: &str) -> Vec<Reason> {
    vec![Reason { material: Some("safety-rules".into()), field: None, reason: text.into() }]
}

/// The id of the task of an item.
fn task_of(case: &Case, item: &str) -> String {
    case.tasks.iter().find(|t| t.item == item).map(|t| t.id.clone()).unwrap()
}

fn state_of(case: &Case, item: &str) -> TaskState {
    case.tasks.iter().find(|t| t.item == item).unwrap().state
}

fn approve(case: &mut Case, item: &str, now: &str) {
    let id = task_of(case, item);
    let licence = case.task(&id).unwrap().licence.clone().unwrap_or_else(|| "none".into());
    case.approve(&id, at(now), &clock(), result(&licence, at(now))).unwrap();
}

fn json(case: &Case) -> serde_json::Value {
    serde_json::to_value(case).unwrap()
}

const VERIFY: &str = "business-licence-verification";
const PERMIT: &str = "road-transport-operating-permit";
const CERT: &str = "road-transport-certificate";

// ---------------------------------------------------------------------------------------------------------
// Walkthroughs

#[test]
fn open_transport_company_from_draft_to_three_results() {
    let plan = transport();
    let c = clock();
    assert_eq!(plan.tasks.len(), 3);
    let mut case = new_case(plan, at("2025-03-03 08:50"));
    assert_eq!(case.state, CaseState::Draft);
    assert_eq!(case.bundle, "open-transport-company");
    assert_eq!(case.promised_limit.to_string(), "0.5d");
    assert_eq!(case.colour(&c, at("2025-03-03 09:00"), &Thresholds::default()), None);

    case.submit(at("2025-03-03 09:00"), &c).unwrap();
    assert_eq!(case.state, CaseState::Submitted);
    assert_eq!(case.submitted_at, Some(at("2025-03-03 09:00")));

    // The window clerk returns it for correction (补正): no clock runs yet, so nothing pauses.
    case.return_for_correction(at("2025-03-03 09:05"), reasons("安全生产管理制度未盖章")).unwrap();
    assert_eq!(case.state, CaseState::Returned);
    assert_eq!(case.open_correction().map(|c| c.by.clone()), Some(ReturnedBy::Clerk));
    assert!(!case.is_paused());
    // Resubmitting before the flagged material is replaced is refused, with what is left to do.
    let err = case.submit(at("2025-03-03 09:12"), &c).unwrap_err();
    assert_eq!(err, CaseError::CorrectionUnresolved { materials: vec!["safety-rules".into()], fields: vec![] });
    assert_eq!(err.code(), "correction_unresolved");
    case.update(Some(plan.answers.clone()), Some(case.form.clone()), at("2025-03-03 09:10")).unwrap();
    case.upload("safety-rules", file("ab"), at("2025-03-03 09:15")).unwrap();
    assert_eq!(case.open_correction().unwrap().replaced_materials, ["safety-rules"]);
    assert_eq!(case.materials["safety-rules"].uploaded_at, at("2025-03-03 09:15"));
    case.submit(at("2025-03-03 09:20"), &c).unwrap();
    assert_eq!(case.state, CaseState::Submitted);
    assert_eq!(case.corrections[0].resolved_at, Some(at("2025-03-03 09:20")));
    assert_eq!(case.open_correction(), None);

    // 受理 at 09:30: the 0.5-day case is due at 14:15 (150 minutes this morning, 45 after 13:30).
    case.accept(at("2025-03-03 09:30"), &c, plan, &ids(plan), "SL1").unwrap();
    assert_eq!(case.state, CaseState::Accepted);
    assert_eq!(show(case.due_at), "2025-03-03 14:15");
    assert_eq!(state_of(&case, VERIFY), TaskState::Ready);
    assert_eq!(state_of(&case, PERMIT), TaskState::Waiting);
    assert_eq!(state_of(&case, CERT), TaskState::Waiting);
    let verify = case.task(&task_of(&case, VERIFY)).unwrap();
    assert_eq!(show(verify.due_at), "2025-03-03 10:30");
    // A 1-hour task starts green: the "2 hours left" rule would cover all of it, so only the shares apply.
    assert_eq!(verify.colour(&case.pauses, &c, at("2025-03-03 09:31"), &Thresholds::default()), Some(Colour::Green));
    assert_eq!(verify.colour(&case.pauses, &c, at("2025-03-03 10:18"), &Thresholds::default()), Some(Colour::Yellow));
    assert_eq!(case.task(&task_of(&case, PERMIT)).unwrap().due_at, None);

    approve(&mut case, VERIFY, "2025-03-03 10:00");
    assert_eq!(case.state, CaseState::InProgress);
    let permit = case.task(&task_of(&case, PERMIT)).unwrap();
    assert_eq!(permit.state, TaskState::Ready);
    assert_eq!(permit.ready_at, Some(at("2025-03-03 10:00")));
    assert_eq!(show(permit.due_at), "2025-03-03 11:30");

    // The transport bureau asks for correction at 10:30: every clock stops.
    let permit_id = task_of(&case, PERMIT);
    case.return_by_task(&permit_id, at("2025-03-03 10:30"), reasons("停车场地证明不清晰")).unwrap();
    assert_eq!(case.state, CaseState::Returned);
    assert_eq!(state_of(&case, PERMIT), TaskState::Returned);
    assert!(case.is_paused());
    assert_eq!(case.open_correction().unwrap().by, ReturnedBy::Task { task_id: permit_id.clone() });
    let t = Thresholds::default();
    let frozen = case.colour(&c, at("2025-03-03 10:31"), &t);
    assert!(frozen.is_some());
    assert_eq!(case.colour(&c, at("2025-03-05 16:00"), &t), frozen, "a paused clock keeps its colour");
    let permit_colour = case.task(&permit_id).unwrap().colour(&case.pauses, &c, at("2025-03-03 10:31"), &t);
    assert_eq!(case.task(&permit_id).unwrap().colour(&case.pauses, &c, at("2025-03-06 10:00"), &t), permit_colour);
    // While returned by a department the form may change, the situation answers may not.
    let mut form = case.form.clone();
    form.insert("parking_address".into(), serde_json::json!("聊城市东昌府区物流园2号"));
    let changed = case.update(None, Some(form), at("2025-03-03 11:00")).unwrap();
    assert_eq!(
        changed,
        CaseEvent::CaseUpdated {
            answers: None,
            set: BTreeMap::from([("parking_address".into(), serde_json::json!("聊城市东昌府区物流园2号"))]),
            removed: vec![],
        },
        "an update records what changed, not the whole form"
    );
    let mut other = plan.answers.clone();
    other.insert("agent".into(), "no".into());
    let err = case.update(Some(other), None, at("2025-03-03 11:00")).unwrap_err();
    assert_eq!(err.code(), "illegal_transition");
    case.upload("safety-rules", file("cd"), at("2025-03-03 11:05")).unwrap();

    // Resubmitted at 14:00: 120 working minutes were paused (10:30–12:00, 13:30–14:00).
    let (case_due, permit_due) = (case.due_at.unwrap(), case.task(&permit_id).unwrap().due_at.unwrap());
    case.submit(at("2025-03-03 14:00"), &c).unwrap();
    assert_eq!(case.state, CaseState::InProgress);
    assert!(!case.is_paused());
    assert_eq!(case.pauses, [Pause { from: at("2025-03-03 10:30"), to: Some(at("2025-03-03 14:00")) }]);
    assert_eq!(case.corrections[1].resolved_at, Some(at("2025-03-03 14:00")));
    let permit = case.task(&permit_id).unwrap();
    assert_eq!(permit.state, TaskState::Ready);
    assert_eq!(show(permit.due_at), "2025-03-03 15:00");
    assert_eq!(show(case.due_at), "2025-03-03 16:15");
    assert_eq!(c.between(permit_due, permit.due_at.unwrap()).unwrap(), 120);
    assert_eq!(c.between(case_due, case.due_at.unwrap()).unwrap(), 120);

    approve(&mut case, PERMIT, "2025-03-03 14:30");
    let cert = case.task(&task_of(&case, CERT)).unwrap();
    assert_eq!(cert.state, TaskState::Ready);
    assert_eq!(show(cert.due_at), "2025-03-03 15:00");
    approve(&mut case, CERT, "2025-03-03 14:45");

    assert_eq!(case.state, CaseState::Concluded);
    assert_eq!(case.outcome, Some(Outcome::Approved));
    assert_eq!(case.concluded_at, Some(at("2025-03-03 14:45")));
    assert_eq!(case.results().len(), 3);
    let licences: Vec<&str> = case.results().iter().map(|r| r.licence.as_str()).collect();
    let expected: Vec<String> = plan.tasks.iter().map(|t| t.result.clone().unwrap_or_else(|| "none".into())).collect();
    assert_eq!(licences, expected);
    assert_eq!(case.colour(&c, at("2025-03-03 15:00"), &t), None);

    // The case is a JSON document: it comes back as it went.
    let text = serde_json::to_string(&case).unwrap();
    let back: Case = serde_json::from_str(&text).unwrap();
    assert_eq!(back, case);
    let v = json(&case);
    assert_eq!(v["promised_limit"], "0.5d");
    assert_eq!(v["conclusion"], "partial");
    assert_eq!(v["state"], "concluded");
    assert_eq!(v["corrections"][1]["by"], serde_json::json!({"kind": "task", "task_id": permit_id}));
    assert_eq!(v["corrections"][0]["by"], serde_json::json!({"kind": "clerk"}));
}

#[test]
fn close_company_runs_seven_departments_at_once() {
    let plan = closing();
    let c = clock();
    assert_eq!(plan.tasks.len(), 8);
    let mut case = new_case(plan, at("2025-03-03 09:00"));
    case.submit(at("2025-03-03 09:00"), &c).unwrap();
    case.accept(at("2025-03-03 09:30"), &c, plan, &ids(plan), "SL1").unwrap();
    let ready: Vec<&str> = case.tasks.iter().filter(|t| t.state == TaskState::Ready).map(|t| t.item.as_str()).collect();
    assert_eq!(ready.len(), 7);
    assert_eq!(state_of(&case, "company-deregistration"), TaskState::Waiting);
    // 1 working day from Monday 09:30: the close of Tuesday. The 2-day case: the close of Wednesday.
    assert!(case.tasks.iter().filter(|t| t.state == TaskState::Ready).all(|t| show(t.due_at) == "2025-03-04 17:00"));
    assert_eq!(show(case.due_at), "2025-03-05 17:00");

    approve(&mut case, "tax-deregistration", "2025-03-03 10:00");
    assert_eq!(state_of(&case, "company-deregistration"), TaskState::Ready);
    for t in plan.tasks.iter().map(|t| t.item.clone()).collect::<Vec<_>>() {
        if t != "tax-deregistration" {
            approve(&mut case, &t, "2025-03-03 11:00");
        }
    }
    assert_eq!(case.state, CaseState::Concluded);
    assert_eq!(case.outcome, Some(Outcome::Approved));
    assert_eq!(case.results().len(), 8);
}

#[test]
fn a_rejection_under_all_or_nothing_rejects_the_whole_bundle() {
    let plan = closing();
    let c = clock();
    let mut case = new_case(plan, at("2025-03-03 09:00"));
    case.submit(at("2025-03-03 09:00"), &c).unwrap();
    case.accept(at("2025-03-03 09:30"), &c, plan, &ids(plan), "SL1").unwrap();
    approve(&mut case, "seal-deregistration", "2025-03-03 10:00");
    let tax = task_of(&case, "tax-deregistration");
    let err = case.reject(&tax, at("2025-03-03 10:30"), "  ".into()).unwrap_err();
    assert_eq!(err, CaseError::EmptyReasons);
    case.reject(&tax, at("2025-03-03 10:30"), "存在未结清税款 / unpaid taxes".into()).unwrap();

    assert_eq!(case.state, CaseState::Concluded);
    assert_eq!(case.outcome, Some(Outcome::Rejected), "one approval does not make it partly approved");
    assert_eq!(case.concluded_at, Some(at("2025-03-03 10:30")));
    let tax = case.task(&tax).unwrap();
    assert_eq!(tax.reasons[0].reason, "存在未结清税款 / unpaid taxes");
    let dereg = case.task(&task_of(&case, "company-deregistration")).unwrap();
    assert_eq!(dereg.state, TaskState::Rejected);
    assert_eq!(dereg.reasons[0].reason, REASON_NEEDED_TASK_REJECTED);
    let customs = case.task(&task_of(&case, "customs-filing-deregistration")).unwrap();
    assert_eq!(customs.state, TaskState::Rejected);
    assert_eq!(customs.reasons[0].reason, REASON_BUNDLE_REJECTED);
    assert_eq!(customs.decided_at, Some(at("2025-03-03 10:30")));
    assert_eq!(state_of(&case, "seal-deregistration"), TaskState::Approved);
    assert_eq!(case.results().len(), 1);
}

#[test]
fn a_partial_bundle_with_a_rejected_permit_is_partly_approved() {
    let plan = transport();
    let c = clock();
    let mut case = new_case(plan, at("2025-03-03 09:00"));
    case.submit(at("2025-03-03 09:00"), &c).unwrap();
    case.accept(at("2025-03-03 09:30"), &c, plan, &ids(plan), "SL1").unwrap();
    approve(&mut case, VERIFY, "2025-03-03 10:00");
    let permit = task_of(&case, PERMIT);
    case.reject(&permit, at("2025-03-03 10:45"), "停车场地不符合要求".into()).unwrap();

    assert_eq!(case.state, CaseState::Concluded);
    assert_eq!(case.outcome, Some(Outcome::PartlyApproved));
    let cert = case.task(&task_of(&case, CERT)).unwrap();
    assert_eq!(cert.state, TaskState::Rejected);
    assert_eq!(cert.reasons[0].reason, REASON_NEEDED_TASK_REJECTED);
    assert_eq!(case.results().len(), 1);

    // Rejecting the first task of a partial bundle rejects every task: nothing approved.
    let mut case = new_case(plan, at("2025-03-03 09:00"));
    case.submit(at("2025-03-03 09:00"), &c).unwrap();
    case.accept(at("2025-03-03 09:30"), &c, plan, &ids(plan), "SL1").unwrap();
    let verify = task_of(&case, VERIFY);
    case.reject(&verify, at("2025-03-03 10:00"), "营业执照已吊销".into()).unwrap();
    assert_eq!(case.outcome, Some(Outcome::Rejected));
    assert!(case.tasks.iter().all(|t| t.state == TaskState::Rejected));
}

#[test]
fn withdrawing_closes_an_open_pause_and_keeps_the_tasks() {
    let plan = transport();
    let c = clock();
    let mut case = new_case(plan, at("2025-03-03 09:00"));
    case.submit(at("2025-03-03 09:00"), &c).unwrap();
    case.accept(at("2025-03-03 09:30"), &c, plan, &ids(plan), "SL1").unwrap();
    let verify = task_of(&case, VERIFY);
    case.return_by_task(&verify, at("2025-03-03 10:00"), reasons("材料不清晰")).unwrap();
    case.withdraw(at("2025-03-03 11:00")).unwrap();
    assert_eq!(case.state, CaseState::Withdrawn);
    assert!(!case.is_paused());
    assert_eq!(case.pauses[0].to, Some(at("2025-03-03 11:00")));
    assert_eq!(state_of(&case, VERIFY), TaskState::Returned);
    assert_eq!(case.outcome, None);
    assert_eq!(case.colour(&c, at("2025-03-03 11:00"), &Thresholds::default()), None);
    assert_eq!(case.withdraw(at("2025-03-03 12:00")).unwrap_err().code(), "illegal_transition");
}

// ---------------------------------------------------------------------------------------------------------
// Errors leave the case unchanged

#[test]
fn errors_have_codes_and_plain_messages() {
    let plan = transport();
    let c = clock();
    let mut case = new_case(plan, at("2025-03-03 09:00"));
    let before = json(&case);
    let err = case.accept(at("2025-03-03 09:00"), &c, plan, &ids(plan), "SL1").unwrap_err();
    assert_eq!(err.to_string(), "cannot accept a case that is draft");
    assert_eq!(err.code(), "illegal_transition");
    assert_eq!(json(&case), before);

    case.submit(at("2025-03-03 09:00"), &c).unwrap();
    let before = json(&case);
    let err = case.return_for_correction(at("2025-03-03 09:05"), Vec::new()).unwrap_err();
    assert_eq!((err.code(), &err), ("empty_reasons", &CaseError::EmptyReasons));
    let blank = vec![Reason::general(" ")];
    assert_eq!(case.return_for_correction(at("2025-03-03 09:05"), blank).unwrap_err(), CaseError::EmptyReasons);
    let err = case.accept(at("2025-03-03 09:30"), &c, plan, &ids(plan)[..2], "SL1").unwrap_err();
    assert_eq!(err, CaseError::TaskCountMismatch { expected: 3, found: 2 });
    assert_eq!(err.code(), "task_count_mismatch");
    assert_eq!(err.to_string(), "the plan has 3 tasks but 2 task ids were given");
    // A date beyond the calendar's years: the clock cannot tell.
    let err = case.accept(at("2101-03-03 09:30"), &c, plan, &ids(plan), "SL1").unwrap_err();
    assert_eq!(err.code(), "clock");
    assert!(err.to_string().contains("2101"), "{err}");
    assert_eq!(json(&case), before);

    case.accept(at("2025-03-03 09:30"), &c, plan, &ids(plan), "SL1").unwrap();
    let before = json(&case);
    let err = case.approve("t9", at("2025-03-03 10:00"), &c, result("x", at("2025-03-03 10:00"))).unwrap_err();
    assert_eq!((err.code(), err.to_string()), ("unknown_task", "this case has no task \"t9\"".to_string()));
    let permit = task_of(&case, PERMIT);
    let err = case.approve(&permit, at("2025-03-03 10:00"), &c, result("x", at("2025-03-03 10:00"))).unwrap_err();
    assert_eq!(err, CaseError::TaskNotReady { task_id: permit.clone(), state: TaskState::Waiting });
    assert_eq!(err.code(), "task_not_ready");
    assert!(err.to_string().contains("waiting"), "{err}");
    let verify = task_of(&case, VERIFY);
    assert_eq!(case.reject(&verify, at("2025-03-03 10:00"), String::new()).unwrap_err(), CaseError::EmptyReasons);
    assert_eq!(case.return_by_task(&verify, at("2025-03-03 10:00"), vec![]).unwrap_err(), CaseError::EmptyReasons);
    assert_eq!(json(&case), before);

    case.approve(&verify, at("2025-03-03 10:00"), &c, result("x", at("2025-03-03 10:00"))).unwrap();
    case.return_by_task(&permit, at("2025-03-03 10:30"), reasons("x")).unwrap();
    let err = case.approve(&permit, at("2025-03-03 10:40"), &c, result("x", at("2025-03-03 10:40"))).unwrap_err();
    assert_eq!(err.to_string(), "cannot approve a task of a case that is returned for correction");
}

/// A case in each state (returned twice: by the clerk and by a task).
fn case_in_every_state() -> Vec<(&'static str, Case)> {
    let plan = transport();
    let c = clock();
    let draft = new_case(plan, at("2025-03-03 09:00"));
    let mut submitted = draft.clone();
    submitted.submit(at("2025-03-03 09:05"), &c).unwrap();
    let mut by_clerk = submitted.clone();
    by_clerk.return_for_correction(at("2025-03-03 09:10"), reasons("x")).unwrap();
    by_clerk.upload("safety-rules", file("ab"), at("2025-03-03 09:11")).unwrap();
    let mut accepted = submitted.clone();
    accepted.accept(at("2025-03-03 09:30"), &c, plan, &ids(plan), "SL1").unwrap();
    let mut in_progress = accepted.clone();
    approve(&mut in_progress, VERIFY, "2025-03-03 10:00");
    let mut by_task = in_progress.clone();
    by_task.return_by_task(&task_of(&by_task, PERMIT), at("2025-03-03 10:30"), reasons("x")).unwrap();
    by_task.upload("safety-rules", file("ab"), at("2025-03-03 10:31")).unwrap();
    let mut concluded = in_progress.clone();
    approve(&mut concluded, PERMIT, "2025-03-03 10:40");
    approve(&mut concluded, CERT, "2025-03-03 10:50");
    let mut withdrawn = by_task.clone();
    withdrawn.withdraw(at("2025-03-03 11:00")).unwrap();
    let all = vec![
        ("draft", draft),
        ("submitted", submitted),
        ("returned_by_clerk", by_clerk),
        ("accepted", accepted),
        ("in_progress", in_progress),
        ("returned_by_task", by_task),
        ("concluded", concluded),
        ("withdrawn", withdrawn),
    ];
    let states: Vec<&str> = all.iter().map(|(_, c)| c.state.as_str()).collect();
    assert_eq!(
        states,
        ["draft", "submitted", "returned", "accepted", "in_progress", "returned", "concluded", "withdrawn"]
    );
    all
}

const ACTIONS: [&str; 12] = [
    "set_form",
    "set_answers",
    "upload",
    "submit",
    "return_for_correction",
    "accept",
    "approve_ready",
    "approve_other",
    "reject_ready",
    "reject_other",
    "return_ready",
    "withdraw",
];

fn run(case: &mut Case, action: &str, now: Timestamp) -> Result<CaseEvent, CaseError> {
    let c = clock();
    let plan = transport();
    let ready = case.tasks.iter().find(|t| t.state == TaskState::Ready).map(|t| t.id.clone());
    let other = case.tasks.iter().find(|t| t.state != TaskState::Ready).map(|t| t.id.clone());
    let ready = ready.or_else(|| other.clone()).unwrap_or_else(|| "t1".into());
    let other = other.unwrap_or_else(|| "t1".into());
    match action {
        "set_form" => case.update(None, Some(BTreeMap::new()), now),
        "set_answers" => {
            let mut answers = case.answers.clone();
            answers.insert(
                "agent".into(),
                if answers.get("agent").is_some_and(|a| a == "no") { "yes" } else { "no" }.into(),
            );
            case.update(Some(answers), None, now)
        }
        "upload" => case.upload("vehicle-photo", file("ef"), now),
        "submit" => case.submit(now, &c),
        "return_for_correction" => case.return_for_correction(now, reasons("x")),
        "accept" => case.accept(now, &c, plan, &ids(plan), "SL1"),
        "approve_ready" => case.approve(&ready, now, &c, result("x", now)),
        "approve_other" => case.approve(&other, now, &c, result("x", now)),
        "reject_ready" => case.reject(&ready, now, "x".into()),
        "reject_other" => case.reject(&other, now, "x".into()),
        "return_ready" => case.return_by_task(&ready, now, reasons("x")),
        "withdraw" => case.withdraw(now),
        _ => unreachable!(),
    }
}

#[test]
fn every_illegal_transition_is_refused_and_changes_nothing() {
    let legal: &[(&str, &[&str])] = &[
        ("draft", &["set_form", "set_answers", "upload", "submit", "withdraw"]),
        ("submitted", &["return_for_correction", "accept", "withdraw"]),
        ("returned_by_clerk", &["set_form", "set_answers", "upload", "submit", "withdraw"]),
        ("accepted", &["approve_ready", "reject_ready", "return_ready", "withdraw"]),
        ("in_progress", &["approve_ready", "reject_ready", "return_ready", "withdraw"]),
        ("returned_by_task", &["set_form", "upload", "submit", "withdraw"]),
        ("concluded", &[]),
        ("withdrawn", &[]),
    ];
    let mut refused = 0;
    for (name, case) in case_in_every_state() {
        let allowed = legal.iter().find(|(n, _)| *n == name).unwrap().1;
        for action in ACTIONS {
            let mut after = case.clone();
            let outcome = run(&mut after, action, at("2025-03-03 11:30"));
            if allowed.contains(&action) {
                assert!(outcome.is_ok(), "{action} in {name}: {outcome:?}");
                continue;
            }
            let err = outcome.expect_err(&format!("{action} in {name} should be refused"));
            assert!(
                matches!(err, CaseError::IllegalTransition { .. } | CaseError::TaskNotReady { .. }),
                "{action} in {name}: {err:?}"
            );
            if let CaseError::IllegalTransition { state, .. } = err {
                assert_eq!(state, case.state);
            }
            assert_eq!(json(&after), json(&case), "{action} in {name} changed the case");
            refused += 1;
        }
    }
    assert_eq!(refused, 8 * 12 - 25);
}

// ---------------------------------------------------------------------------------------------------------
// Random action sequences

#[derive(Debug, Clone)]
enum Action {
    Submit,
    Return,
    Accept,
    Approve(usize),
    Reject(usize),
    ReturnByTask(usize),
    Withdraw,
    SetForm,
    Upload,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => Just(Action::Submit),
        1 => Just(Action::Return),
        2 => Just(Action::Accept),
        6 => (0usize..8).prop_map(Action::Approve),
        2 => (0usize..8).prop_map(Action::Reject),
        2 => (0usize..8).prop_map(Action::ReturnByTask),
        1 => Just(Action::Withdraw),
        1 => Just(Action::SetForm),
        2 => Just(Action::Upload),
    ]
}

fn check_invariants(case: &Case) -> Result<(), TestCaseError> {
    let all_decided = case.tasks.iter().all(|t| t.state.is_decided());
    match case.state {
        CaseState::Concluded => prop_assert!(all_decided && !case.tasks.is_empty()),
        CaseState::Accepted | CaseState::InProgress => prop_assert!(!all_decided),
        CaseState::Returned if case.accepted_at.is_some() => prop_assert!(!all_decided),
        _ => {}
    }
    prop_assert_eq!(case.outcome.is_some(), case.state == CaseState::Concluded);
    prop_assert_eq!(case.concluded_at.is_some(), case.state == CaseState::Concluded);
    for t in &case.tasks {
        if t.state == TaskState::Ready {
            prop_assert!(t.ready_at.is_some() && t.due_at.is_some(), "{t:?}");
        }
        if t.state.is_decided() {
            prop_assert!(t.decided_at.is_some());
        }
        prop_assert_eq!(t.result.is_some(), t.state == TaskState::Approved);
    }
    let open = case.pauses.iter().filter(|p| p.to.is_none()).count();
    prop_assert!(open <= 1);
    let by_task = matches!(case.open_correction().map(|c| &c.by), Some(ReturnedBy::Task { .. }));
    prop_assert_eq!(open == 1, case.state == CaseState::Returned && by_task);
    prop_assert_eq!(case.is_paused(), open == 1);
    let returned_tasks = case.tasks.iter().filter(|t| t.state == TaskState::Returned).count();
    if case.state != CaseState::Withdrawn {
        prop_assert_eq!(returned_tasks == 1, by_task);
        prop_assert!(returned_tasks <= 1);
    }
    if let Some(Outcome::Approved) = case.outcome {
        prop_assert_eq!(case.results().len(), case.tasks.len());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_action_sequences_keep_the_invariants(
        which in any::<bool>(),
        steps in prop::collection::vec((action(), 0i64..600), 1..40),
    ) {
        let plan = if which { transport() } else { closing() };
        let c = clock();
        let mut now = at("2025-03-03 08:30");
        let form = BTreeMap::from([("company_name".to_string(), serde_json::json!("顺达运输"))]);
        let (mut case, filed) = Case::file("c1", plan, company(), plan.answers.clone(), form, "u-applicant", now);
        let mut history = vec![(filed, now)];
        let mut n = 0;
        for (action, minutes) in steps {
            now = now.checked_add(jiff::SignedDuration::from_mins(minutes)).unwrap();
            let n_tasks = case.tasks.len().max(1);
            let pick = |i: usize| case.tasks.get(i % n_tasks).map_or("t1".to_string(), |t| t.id.clone());
            let before = json(&case);
            n += 1;
            let ids: Vec<String> = (1..=plan.tasks.len()).map(|i| format!("t{i}")).collect();
            let outcome = match action {
                Action::Submit => case.submit(now, &c),
                Action::Return => case.return_for_correction(now, reasons("x")),
                Action::Accept => case.accept(now, &c, plan, &ids, "SL1"),
                Action::Approve(i) => {
                    let id = pick(i);
                    case.approve(&id, now, &c, result("x", now))
                }
                Action::Reject(i) => {
                    let id = pick(i);
                    case.reject(&id, now, "不予办理".into())
                }
                Action::ReturnByTask(i) => {
                    let id = pick(i);
                    case.return_by_task(&id, now, reasons("补正"))
                }
                Action::Withdraw => case.withdraw(now),
                Action::SetForm => case.update(None, Some(BTreeMap::new()), now),
                Action::Upload => case.upload("safety-rules", file("ab"), now),
            };
            match outcome {
                Err(e) => prop_assert_eq!(&json(&case), &before, "step {} failed with {} and changed the case", n, e),
                Ok(event) => history.push((event, now)),
            }
            check_invariants(&case)?;
            if case.state == CaseState::Concluded
                && case.conclusion == onething_core::catalog::ConclusionRule::AllOrNothing
                && case.tasks.iter().any(|t| t.state == TaskState::Rejected)
            {
                prop_assert_eq!(case.outcome, Some(Outcome::Rejected));
            }
        }
        let back: Case = serde_json::from_str(&serde_json::to_string(&case).unwrap()).unwrap();
        prop_assert_eq!(&back, &case);
        // The log proves the state: the events, through JSON as the store keeps them, rebuild the case.
        let stored: Vec<(CaseEvent, Timestamp)> = history
            .iter()
            .map(|(e, at)| (serde_json::from_str(&serde_json::to_string(e).unwrap()).unwrap(), *at))
            .collect();
        prop_assert_eq!(Case::replay("c1", &stored).unwrap(), case);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Colours (督办颜色)

fn colour_at(start: &str, limit: &str, pauses: &[Pause], now: &str) -> Colour {
    let limit: WorkingDuration = limit.parse().unwrap();
    colour(&clock(), at(start), limit, pauses, at(now), &Thresholds::default()).unwrap()
}

#[test]
fn colours_have_names_and_default_thresholds() {
    let names: Vec<(&str, &str)> =
        [Colour::Green, Colour::Blue, Colour::Yellow, Colour::Red].iter().map(|c| (c.as_str(), c.label_zh())).collect();
    assert_eq!(names, [("green", "正常"), ("blue", "提醒"), ("yellow", "预警"), ("red", "超期")]);
    assert_eq!(serde_json::to_value(Colour::Yellow).unwrap(), "yellow");
    let t = Thresholds::default();
    assert_eq!((t.blue_percent, t.yellow_percent, t.yellow_days_left, t.yellow_minutes_left_short), (50, 80, 1, 120));
    // Configuration may give only some thresholds.
    let t: Thresholds = serde_json::from_str(r#"{"blue_percent": 40}"#).unwrap();
    assert_eq!((t.blue_percent, t.yellow_percent), (40, 80));
}

#[test]
fn a_one_day_task_accepted_monday_morning() {
    // 1 working day from Monday 09:00: due at Tuesday's close, 780 working minutes.
    let start = "2025-03-03 09:00";
    assert_eq!(colour_at(start, "1d", &[], "2025-03-03 09:01"), Colour::Green);
    assert_eq!(colour_at(start, "1d", &[], "2025-03-03 16:59"), Colour::Green);
    assert_eq!(colour_at(start, "1d", &[], "2025-03-03 17:00"), Colour::Blue, "half used");
    assert_eq!(colour_at(start, "1d", &[], "2025-03-04 14:23"), Colour::Blue);
    assert_eq!(colour_at(start, "1d", &[], "2025-03-04 14:24"), Colour::Yellow, "80 % used");
    assert_eq!(colour_at(start, "1d", &[], "2025-03-04 17:00"), Colour::Yellow, "due now, not yet late");
    assert_eq!(colour_at(start, "1d", &[], "2025-03-04 17:01"), Colour::Red);
    assert_eq!(colour_at(start, "1d", &[], "2025-03-10 10:00"), Colour::Red);

    // The same on a real task of the closing bundle, and its 2-day case.
    let plan = closing();
    let c = clock();
    let t = Thresholds::default();
    let mut case = new_case(plan, at("2025-03-03 08:00"));
    case.submit(at("2025-03-03 08:30"), &c).unwrap();
    case.accept(at(start), &c, plan, &ids(plan), "SL1").unwrap();
    let task = case.task(&task_of(&case, "tax-deregistration")).unwrap();
    let waiting = case.task(&task_of(&case, "company-deregistration")).unwrap();
    assert_eq!(task.colour(&case.pauses, &c, at("2025-03-03 09:01"), &t), Some(Colour::Green));
    assert_eq!(task.colour(&case.pauses, &c, at("2025-03-04 15:00"), &t), Some(Colour::Yellow));
    assert_eq!(task.colour(&case.pauses, &c, at("2025-03-05 09:00"), &t), Some(Colour::Red));
    assert_eq!(waiting.colour(&case.pauses, &c, at("2025-03-03 09:01"), &t), None);
    assert_eq!(case.colour(&c, at("2025-03-03 09:01"), &t), Some(Colour::Green));
    // 2 days (1170 minutes) is neither short nor long: only the shares apply.
    assert_eq!(case.colour(&c, at("2025-03-05 09:00"), &t), Some(Colour::Blue));
    assert_eq!(case.colour(&c, at("2025-03-05 12:00"), &t), Some(Colour::Yellow));
    assert_eq!(case.colour(&c, at("2025-03-06 09:00"), &t), Some(Colour::Red));
}

#[test]
fn short_limits_turn_yellow_two_hours_before_their_deadline_when_that_leaves_room() {
    // 6 hours from Monday 09:00 = 360 minutes, due 16:30; yellow once 120 minutes or fewer are left (14:30),
    // before the 80 % share (15:18).
    assert_eq!(colour_at("2025-03-03 09:00", "6h", &[], "2025-03-03 14:29"), Colour::Blue);
    assert_eq!(colour_at("2025-03-03 09:00", "6h", &[], "2025-03-03 14:30"), Colour::Yellow);
    // 0.5 day from 09:30 = 195 minutes, due 14:15: two hours would be most of it, so only the shares apply —
    // blue at 50 % (98 minutes: 11:08), yellow at 80 % (156 minutes: 13:36).
    let start = "2025-03-03 09:30";
    assert_eq!(colour_at(start, "0.5d", &[], "2025-03-03 10:44"), Colour::Green);
    assert_eq!(colour_at(start, "0.5d", &[], "2025-03-03 11:08"), Colour::Blue);
    assert_eq!(colour_at(start, "0.5d", &[], "2025-03-03 13:35"), Colour::Blue);
    assert_eq!(colour_at(start, "0.5d", &[], "2025-03-03 13:36"), Colour::Yellow);
    assert_eq!(colour_at(start, "0.5d", &[], "2025-03-03 14:15"), Colour::Yellow);
    assert_eq!(colour_at(start, "0.5d", &[], "2025-03-03 14:16"), Colour::Red);
    // Between 1 and 3 days only the shares apply: 2 days from Monday 09:00 = 1170 minutes.
    assert_eq!(colour_at("2025-03-03 09:00", "2d", &[], "2025-03-05 09:00"), Colour::Blue);
    assert_eq!(colour_at("2025-03-03 09:00", "2d", &[], "2025-03-05 11:35"), Colour::Blue);
    assert_eq!(colour_at("2025-03-03 09:00", "2d", &[], "2025-03-05 11:36"), Colour::Yellow, "80 % used");
}

#[test]
fn a_twenty_day_case_walks_green_blue_yellow_red() {
    // Accepted Monday 3 March 2025 09:00; 20 working days end at the close of Monday 31 March: 21 × 390 =
    // 8190 working minutes. Half (4095) is used at 13:45 on the 11th working day (17 March), 80 % (6552) at
    // 15:42 on 25 March.
    let start = "2025-03-03 09:00";
    let walk = [
        ("2025-03-03 09:00", Colour::Green),
        ("2025-03-10 12:00", Colour::Green),
        ("2025-03-17 13:44", Colour::Green),
        ("2025-03-17 13:45", Colour::Blue),
        ("2025-03-25 15:41", Colour::Blue),
        ("2025-03-25 15:42", Colour::Yellow),
        ("2025-03-31 17:00", Colour::Yellow),
        ("2025-03-31 17:01", Colour::Red),
        ("2025-04-01 09:00", Colour::Red),
    ];
    for (now, expected) in walk {
        assert_eq!(colour_at(start, "20d", &[], now), expected, "at {now}");
    }
    // With only 1 working day left the share rule has long fired; with a 99 % share it is the day rule:
    // yellow from 09:00 on 31 March (390 minutes left).
    let t = Thresholds { yellow_percent: 99, ..Thresholds::default() };
    let y = |now: &str| colour(&clock(), at(start), "20d".parse().unwrap(), &[], at(now), &t).unwrap();
    assert_eq!(y("2025-03-28 17:00"), Colour::Yellow, "390 minutes left at Friday's close");
    assert_eq!(y("2025-03-28 16:59"), Colour::Blue);
}

#[test]
fn a_paused_clock_keeps_its_colour() {
    let start = "2025-03-03 09:00";
    // Green at 13:00 on 17 March (4080 of 8190 used); the pause holds it green for any length.
    let open = [Pause { from: at("2025-03-17 13:00"), to: None }];
    for now in ["2025-03-17 13:00", "2025-03-17 16:00", "2025-03-31 17:01", "2025-04-30 10:00"] {
        assert_eq!(colour_at(start, "20d", &open, now), Colour::Green, "at {now}");
    }
    // Resumed after two working days: blue 15 working minutes after 13:30 on the resumed day.
    let closed = [Pause { from: at("2025-03-17 13:00"), to: Some(at("2025-03-19 13:00")) }];
    assert_eq!(colour_at(start, "20d", &closed, "2025-03-19 13:44"), Colour::Green);
    assert_eq!(colour_at(start, "20d", &closed, "2025-03-19 13:45"), Colour::Blue);
    // The deadline moved by the two paused days: still yellow at the plain deadline's close + 1 minute.
    assert_eq!(colour_at(start, "20d", &closed, "2025-03-31 17:01"), Colour::Yellow);
    assert_eq!(colour_at(start, "20d", &closed, "2025-04-02 17:00"), Colour::Yellow);
    assert_eq!(colour_at(start, "20d", &closed, "2025-04-02 17:01"), Colour::Red);
}
