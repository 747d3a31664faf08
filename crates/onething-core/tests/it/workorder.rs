//! The 12345 work order (工单): intake parsing, the category code list, every transition and refusal, the
//! deadlines on both clocks, the colours, Open311 status, the assessment rates, replay equality, and random
//! command sequences.

use jiff::Timestamp;
use onething_core::calendar::{WorkClock, china_tz};
use onething_core::colour::{self, Colour, Thresholds};
use onething_core::duration::WorkingDuration;
use onething_core::source::SourceFile;
use onething_core::workorder::{
    Actor, Basis, Category, CategoryList, Channel, ExtensionStatus, Intake, PhoneKind, PhoneNumber, ReplayError,
    ReturnDecision, Route, Satisfaction, Unit, Urgency, WorkOrder, WorkOrderCommand as C, WorkOrderError,
    WorkOrderEvent, WorkOrderState as S, assessment, limit_colour, merge,
};
use proptest::prelude::*;

/// An instant written as `YYYY-MM-DD HH:MM` in +08:00.
pub(crate) fn at(s: &str) -> Timestamp {
    let dt: jiff::civil::DateTime = s.parse().unwrap();
    china_tz().to_timestamp(dt).unwrap()
}

pub(crate) fn show(t: Option<Timestamp>) -> String {
    t.map_or("-".to_string(), |t| china_tz().to_datetime(t).strftime("%Y-%m-%d %H:%M").to_string())
}

fn clock() -> WorkClock {
    WorkClock::official()
}

fn list() -> CategoryList {
    CategoryList::defaults()
}

fn category(code: &str) -> Category {
    list().require(code).unwrap().clone()
}

fn centre() -> Actor {
    Actor::centre("op-7")
}

fn dept(code: &str) -> Actor {
    Actor::new("u-1", Unit::Department(code.into()))
}

fn water() -> Unit {
    Unit::Department("water".into())
}

fn committee() -> Unit {
    Unit::Committee("registration-dispute-committee".into())
}

pub(crate) fn intake(description: &str) -> Intake {
    Intake {
        channel: Channel::Phone,
        caller_name: Some("王女士".into()),
        phone: "138-0635-1234".into(),
        address: Some("聊城市东昌府区柳园街道花园路 12 号".into()),
        lat_long: Some((36.4567, 115.9854)),
        description: description.into(),
        confidential: false,
    }
}

/// An order under construction together with its history, so that every test can check replay equality.
pub(crate) struct Story {
    pub order: WorkOrder,
    pub history: Vec<(WorkOrderEvent, Timestamp)>,
}

impl Story {
    pub fn open(code: &str, now: &str) -> Story {
        let now = at(now);
        let event = WorkOrder::open("wo-1", &intake("停水三天了"), &category(code), &centre(), now).unwrap();
        let order = WorkOrder::from_created(&event, now).unwrap();
        Story { order, history: vec![(event, now)] }
    }

    pub fn act(&mut self, command: C, by: &Actor, now: &str) -> Result<WorkOrderEvent, WorkOrderError> {
        let before = self.order.clone();
        let result = self.order.act(&command, by, at(now), &clock());
        match &result {
            Ok(event) => self.history.push((event.clone(), at(now))),
            Err(_) => assert_eq!(self.order, before, "a refused command changed the order"),
        }
        result
    }

    pub fn ok(&mut self, command: C, by: &Actor, now: &str) -> &mut Story {
        if let Err(e) = self.act(command.clone(), by, now) {
            panic!("{command:?} by {by:?} at {now}: {e}");
        }
        self
    }

    pub fn refused(&mut self, command: C, by: &Actor, now: &str) -> &'static str {
        match self.act(command.clone(), by, now) {
            Ok(e) => panic!("{command:?} should be refused but gave {e:?}"),
            Err(e) => e.code(),
        }
    }

    /// The history, through JSON and back, replays to the order built step by step.
    pub fn check_replay(&self) {
        let json = serde_json::to_string(&self.history).unwrap();
        let history: Vec<(WorkOrderEvent, Timestamp)> = serde_json::from_str(&json).unwrap();
        assert_eq!(WorkOrder::replay(&history).unwrap(), self.order);
        assert_eq!(self.order.version, self.history.len() as u64);
        let back: WorkOrder = serde_json::from_str(&serde_json::to_string(&self.order).unwrap()).unwrap();
        assert_eq!(back, self.order);
    }
}

fn dispatched(code: &str, to: Unit, now: &str) -> Story {
    let mut s = Story::open(code, now);
    s.ok(C::Dispatch { to }, &centre(), now);
    s
}

// ---------------------------------------------------------------------------------------------------------
// Intake

#[test]
fn phone_numbers_are_normalised() {
    for (input, digits, kind) in [
        ("138-0635-1234", "13806351234", PhoneKind::Mobile),
        (" 138 0635 1234 ", "13806351234", PhoneKind::Mobile),
        ("+86 138 0635 1234", "13806351234", PhoneKind::Mobile),
        ("008613806351234", "13806351234", PhoneKind::Mobile),
        ("8613806351234", "13806351234", PhoneKind::Mobile),
        ("１３８０６３５１２３４", "13806351234", PhoneKind::Mobile),
        ("0635-8321234", "06358321234", PhoneKind::Landline),
        ("(0635) 83212345", "063583212345", PhoneKind::Landline),
        ("010-87654321", "01087654321", PhoneKind::Landline),
        ("+86 10 8765 4321", "01087654321", PhoneKind::Landline),
        ("+86 635 832 1234", "06358321234", PhoneKind::Landline),
        ("０２１－６２３４５６７８", "02162345678", PhoneKind::Landline),
    ] {
        let p = PhoneNumber::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!((p.as_str(), p.kind()), (digits, kind), "{input}");
    }
    assert_eq!(PhoneNumber::parse("0635-8321234").unwrap().area_code(), Some("0635"));
    assert_eq!(PhoneNumber::parse("010-87654321").unwrap().area_code(), Some("010"));
    assert_eq!(PhoneNumber::parse("13806351234").unwrap().area_code(), None);
}

#[test]
fn bad_phone_numbers_are_refused_with_a_code() {
    for (input, code) in [
        ("", "empty"),
        ("  -  ", "empty"),
        ("138-0635-123a", "bad_character"),
        ("12806351234", "not_mobile_or_landline"), // 12x is not a mobile prefix
        ("1380635123", "not_mobile_or_landline"),  // 10 digits
        ("138063512345", "not_mobile_or_landline"),
        ("8321234", "not_mobile_or_landline"), // no area code
        ("0635-0321234", "not_mobile_or_landline"),
        ("011-87654321", "not_mobile_or_landline"),
        ("+1 415 555 0100", "not_mobile_or_landline"),
        ("110", "not_mobile_or_landline"),
    ] {
        let e = PhoneNumber::parse(input).unwrap_err();
        assert_eq!(e.code(), code, "{input}: {e}");
    }
    let p: PhoneNumber = serde_json::from_str("\"138-0635-1234\"").unwrap();
    assert_eq!(serde_json::to_string(&p).unwrap(), "\"13806351234\"");
    assert!(serde_json::from_str::<PhoneNumber>("\"12345\"").is_err());
}

#[test]
fn intake_is_parsed_once() {
    let now = at("2025-03-03 09:00");
    let event = WorkOrder::open("wo-1", &intake("  停水  "), &category("utilities"), &centre(), now).unwrap();
    let order = WorkOrder::from_created(&event, now).unwrap();
    assert_eq!(order.caller.phone.as_str(), "13806351234");
    assert_eq!(order.description, "停水");
    assert_eq!(order.state, S::Created);
    assert_eq!(order.category.code, "utilities");

    let refuse = |i: Intake| WorkOrder::open("wo-1", &i, &category("utilities"), &centre(), now).unwrap_err().code();
    assert_eq!(refuse(Intake { phone: "12".into(), ..intake("x") }), "bad_phone");
    assert_eq!(refuse(intake("   ")), "empty_text");
    assert_eq!(refuse(Intake { address: None, lat_long: None, ..intake("x") }), "bad_location");
    assert_eq!(refuse(Intake { address: Some("  ".into()), lat_long: None, ..intake("x") }), "bad_location");
    assert_eq!(refuse(Intake { lat_long: Some((95.0, 115.0)), ..intake("x") }), "bad_location");
    assert_eq!(refuse(Intake { lat_long: Some((f64::NAN, 115.0)), ..intake("x") }), "bad_location");
    let by_dept = WorkOrder::open("wo-1", &intake("x"), &category("utilities"), &dept("water"), now);
    assert_eq!(by_dept.unwrap_err().code(), "centre_only");
    assert_eq!(list().require("nope").unwrap_err().code(), "unknown_category");
    // A point alone is enough.
    assert!(
        WorkOrder::open("wo-1", &Intake { address: None, ..intake("x") }, &category("urgent"), &centre(), now).is_ok()
    );
}

// ---------------------------------------------------------------------------------------------------------
// The category code list

#[test]
fn the_default_list_has_the_domain_limits() {
    let l = list();
    let row = |code: &str| {
        let c = l.require(code).unwrap();
        format!(
            "{} {} {} {} {}",
            c.limit.amount,
            c.limit.counts.as_str(),
            c.urgency.as_str(),
            c.extendable,
            c.route.as_str()
        )
    };
    assert_eq!(row("urgent"), "2h calendar urgent false department");
    assert_eq!(row("utilities"), "24h calendar high false department");
    assert_eq!(row("ordinary"), "7d calendar normal true department");
    assert_eq!(row("complex"), "15d calendar normal true department");
    assert_eq!(row("consultation"), "3d working normal true department");
    for code in ["suggestion", "complaint", "report"] {
        assert_eq!(row(code), "13d working normal true department");
    }
    assert_eq!(row("company-registration-dispute"), "30d calendar normal true mediation");
    assert_eq!(l.by_service_code("12345-009").unwrap().code, "company-registration-dispute");
    assert_eq!(l.len(), 9);
    assert!(l.iter().all(|c| c.urgency != Urgency::Urgent || !c.extendable));
}

#[test]
fn a_bad_list_reports_every_error_located() {
    let text = r#"
[[category]]
code = "Water"
name = ""
name_en = "Water"
service_code = "a b"
urgency = "soon"
limit = "24x"
counts = "weekly"
sign_within = "1h"
route = "court"

[[category]]
code = "ok"
name = "一般"
name_en = "Ordinary"
service_code = "s1"
urgency = "normal"
limit = "2h"
counts = "working"
sign_within = "3h"

[[category]]
code = "ok"
name = "一般"
name_en = "Ordinary"
service_code = "s1"
urgency = "normal"
limit = "0d"
counts = "calendar"
sign_within = "1h"
unit = "Bad Unit"
"#;
    let errors = CategoryList::from_toml(&SourceFile::new("categories.txt", text)).unwrap_err();
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let expected = [
        "categories.txt:3:8: bad category code \"Water\": use lowercase letters, digits, '-' and '_', starting with a letter",
        "categories.txt:4:8: the name is empty",
        "categories.txt:6:16: bad service_code \"a b\": use ASCII letters, digits, '-' and '_'",
        "categories.txt:7:11: unknown urgency \"soon\": expected urgent, high or normal",
        "categories.txt:8:9: bad duration \"24x\": the unit must be d, h or m (write e.g. 20d, 0.5d, 3h, 45m or 3h15m)",
        "categories.txt:9:10: unknown counts \"weekly\": expected working or calendar",
        "categories.txt:11:9: unknown route \"court\": expected department or mediation",
        "categories.txt:21:15: sign_within 3h is longer than the limit 2h: a unit signs for an order before it handles it",
        "categories.txt:24:8: the category code \"ok\" is used twice (first on line 14)",
        "categories.txt:27:16: the service_code \"s1\" is used twice (first on line 17)",
        "categories.txt:29:9: the limit is zero: give a time, e.g. 24h or 5d",
        "categories.txt:32:8: bad unit code \"Bad Unit\": use lowercase letters, digits, '-' and '_'",
    ];
    assert_eq!(lines, expected);

    let syntax = CategoryList::from_toml(&SourceFile::new("c.txt", "[[category]]\ncode = \n")).unwrap_err();
    assert_eq!(syntax.len(), 1);
    assert!(syntax[0].to_string().starts_with("c.txt:2:"), "{}", syntax[0]);
    let unknown = CategoryList::from_toml(&SourceFile::new("c.txt", "[[category]]\ncolour = 1\n")).unwrap_err();
    assert!(unknown[0].to_string().contains("unknown field"), "{}", unknown[0]);
    let empty = CategoryList::from_toml(&SourceFile::new("c.txt", "# nothing\n")).unwrap_err();
    assert_eq!(empty[0].to_string(), "c.txt:1:1: the file defines no category: add a [[category]] table");
}

#[test]
fn the_data_file_in_the_repository_is_the_embedded_one() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog/hotline/categories.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let from_file = CategoryList::from_toml(&SourceFile::new("categories.txt", text)).unwrap();
    assert_eq!(from_file, CategoryList::defaults());
}

// ---------------------------------------------------------------------------------------------------------
// Deadlines

/// A list with a 5-working-day ordinary category, as some provinces use.
fn five_working_days() -> Category {
    let text = r#"
[[category]]
code = "ordinary-5"
name = "一般诉求"
name_en = "Ordinary request"
service_code = "x-1"
urgency = "normal"
limit = "5d"
counts = "working"
sign_within = "2h"
"#;
    CategoryList::from_toml(&SourceFile::new("c.txt", text)).unwrap().require("ordinary-5").unwrap().clone()
}

#[test]
fn a_calendar_day_limit_runs_through_the_weekend_and_working_days_do_not() {
    // Friday 2025-03-07 16:00.
    let burst = dispatched("utilities", water(), "2025-03-07 16:00");
    assert_eq!(show(burst.order.due_at), "2025-03-08 16:00", "24 hours, Saturday included");
    assert_eq!(show(burst.order.assignment().map(|a| a.sign_due_at)), "2025-03-07 17:00");

    let now = at("2025-03-07 16:00");
    let ev = WorkOrder::open("wo-2", &intake("路灯不亮"), &five_working_days(), &centre(), now).unwrap();
    let mut order = WorkOrder::from_created(&ev, now).unwrap();
    order.act(&C::Dispatch { to: water() }, &centre(), now, &clock()).unwrap();
    // Mon 10, Tue 11, Wed 12, Thu 13, Fri 14: the close of the fifth working day after the Friday.
    assert_eq!(show(order.due_at), "2025-03-14 17:00");
    // 2 working hours from 16:00 Friday: one hour on Friday, one on Monday morning.
    assert_eq!(show(order.assignment().map(|a| a.sign_due_at)), "2025-03-10 10:00");
}

#[test]
fn working_days_skip_the_national_day_holiday_and_count_the_exchanged_saturday() {
    let now = at("2025-09-30 10:00");
    let ev = WorkOrder::open("wo-3", &intake("噪音扰民"), &five_working_days(), &centre(), now).unwrap();
    let mut order = WorkOrder::from_created(&ev, now).unwrap();
    order.act(&C::Dispatch { to: water() }, &centre(), now, &clock()).unwrap();
    // 10-01..10-08 off; Thu 10-09, Fri 10-10, Sat 10-11 (调休上班), Mon 10-13, Tue 10-14.
    assert_eq!(show(order.due_at), "2025-10-14 17:00");
    // A complaint: 13 working days from Friday 2026-02-13, across the 2026 Spring Festival (02-15..02-23) with
    // 02-14 and 02-28 worked.
    let s = dispatched("complaint", water(), "2026-02-13 11:00");
    s.check_replay();
    // 02-14 Sat(1), 02-24(2) 25(3) 26(4) 27(5) 28 Sat(6), 03-02(7) 03(8) 04(9) 05(10) 06(11), 09(12), 10(13).
    assert_eq!(show(s.order.due_at), "2026-03-10 17:00");
}

#[test]
fn an_approved_extension_moves_the_deadline_the_limit_s_way() {
    let mut s = dispatched("complex", water(), "2025-03-03 09:00");
    assert_eq!(show(s.order.due_at), "2025-03-18 09:00");
    s.ok(C::SignFor, &dept("water"), "2025-03-03 09:30").ok(C::Start, &dept("water"), "2025-03-03 10:00");
    s.ok(
        C::RequestExtension { amount: "10d".parse().unwrap(), reason: "需要现场勘验".into() },
        &dept("water"),
        "2025-03-10 10:00",
    );
    assert_eq!(s.order.pending_extension().map(|e| e.status), Some(ExtensionStatus::Pending));
    assert_eq!(
        s.refused(
            C::RequestExtension { amount: "1d".parse().unwrap(), reason: "x".into() },
            &dept("water"),
            "2025-03-10 11:00"
        ),
        "extension_pending"
    );
    assert_eq!(
        s.refused(C::DecideExtension { approve: true, reason: String::new() }, &dept("water"), "2025-03-11 09:00"),
        "centre_only"
    );
    s.ok(C::DecideExtension { approve: true, reason: String::new() }, &centre(), "2025-03-11 09:00");
    assert_eq!(show(s.order.due_at), "2025-03-28 09:00", "ten calendar days more");
    assert_eq!(s.order.limit, Some("25d".parse().unwrap()));
    assert_eq!(s.order.extensions[0].status, ExtensionStatus::Approved);
    assert_eq!(
        s.refused(C::DecideExtension { approve: false, reason: "x".into() }, &centre(), "2025-03-11 09:30"),
        "no_extension_pending"
    );
    // A second request, denied: the deadline stays.
    s.ok(
        C::RequestExtension { amount: "5d".parse().unwrap(), reason: "再延".into() },
        &dept("water"),
        "2025-03-20 10:00",
    );
    assert_eq!(
        s.refused(C::DecideExtension { approve: false, reason: "  ".into() }, &centre(), "2025-03-20 11:00"),
        "empty_text"
    );
    s.ok(C::DecideExtension { approve: false, reason: "理由不充分".into() }, &centre(), "2025-03-20 11:00");
    assert_eq!(show(s.order.due_at), "2025-03-28 09:00");
    assert_eq!(s.order.extensions[1].denial.as_deref(), Some("理由不充分"));
    // Too late for a third.
    assert_eq!(
        s.refused(
            C::RequestExtension { amount: "1d".parse().unwrap(), reason: "x".into() },
            &dept("water"),
            "2025-03-28 09:01"
        ),
        "deadline_passed"
    );
    s.check_replay();

    // Hours added to calendar days count 24-hour days, not the nominal working day.
    let mut h = dispatched("ordinary", water(), "2025-03-03 09:00");
    h.ok(C::SignFor, &dept("water"), "2025-03-03 09:30");
    h.ok(
        C::RequestExtension { amount: "12h".parse().unwrap(), reason: "等待配件".into() },
        &dept("water"),
        "2025-03-05 10:00",
    );
    h.ok(C::DecideExtension { approve: true, reason: String::new() }, &centre(), "2025-03-05 11:00");
    assert_eq!(show(h.order.due_at), "2025-03-10 21:00");
    assert_eq!(h.order.limit, Some(WorkingDuration::minutes(7 * 1440 + 720)));
    h.check_replay();

    // Working time: a complaint extended by 5 working days, from the close of its 13th.
    let mut w = dispatched("complaint", water(), "2025-03-03 09:00");
    assert_eq!(show(w.order.due_at), "2025-03-20 17:00");
    w.ok(C::SignFor, &dept("water"), "2025-03-03 09:30");
    w.ok(
        C::RequestExtension { amount: "5d".parse().unwrap(), reason: "需协调".into() },
        &dept("water"),
        "2025-03-18 10:00",
    );
    w.ok(C::DecideExtension { approve: true, reason: String::new() }, &centre(), "2025-03-18 11:00");
    assert_eq!(show(w.order.due_at), "2025-03-27 17:00");
    w.check_replay();
}

#[test]
fn urgent_orders_cannot_be_extended_and_extensions_are_non_zero() {
    let mut s = dispatched("urgent", water(), "2025-03-03 09:00");
    s.ok(C::SignFor, &dept("water"), "2025-03-03 09:05");
    assert_eq!(
        s.refused(
            C::RequestExtension { amount: "1h".parse().unwrap(), reason: "x".into() },
            &dept("water"),
            "2025-03-03 09:10"
        ),
        "not_extendable"
    );
    let mut c = dispatched("complex", water(), "2025-03-03 09:00");
    c.ok(C::SignFor, &dept("water"), "2025-03-03 09:05");
    assert_eq!(
        c.refused(
            C::RequestExtension { amount: WorkingDuration::ZERO, reason: "x".into() },
            &dept("water"),
            "2025-03-03 09:10"
        ),
        "zero_extension"
    );
    assert_eq!(
        c.refused(
            C::RequestExtension { amount: "1d".parse().unwrap(), reason: "".into() },
            &dept("water"),
            "2025-03-03 09:10"
        ),
        "empty_text"
    );
    assert_eq!(
        c.refused(
            C::RequestExtension { amount: "1d".parse().unwrap(), reason: "x".into() },
            &dept("gas"),
            "2025-03-03 09:10"
        ),
        "not_assignee"
    );
}

#[test]
fn a_pending_extension_lapses_when_the_unit_replies() {
    let mut s = dispatched("complex", water(), "2025-03-03 09:00");
    s.ok(C::SignFor, &dept("water"), "2025-03-03 09:05").ok(C::Start, &dept("water"), "2025-03-03 09:10");
    s.ok(C::RequestExtension { amount: "3d".parse().unwrap(), reason: "x".into() }, &dept("water"), "2025-03-04 09:00");
    s.ok(C::Reply { answer: "已修复".into() }, &dept("water"), "2025-03-05 09:00");
    assert_eq!(s.order.extensions[0].status, ExtensionStatus::Lapsed);
    assert_eq!(
        s.refused(C::DecideExtension { approve: true, reason: String::new() }, &centre(), "2025-03-05 10:00"),
        "illegal_transition"
    );
    s.check_replay();
}

// ---------------------------------------------------------------------------------------------------------
// Walkthroughs

#[test]
fn from_call_to_satisfied_callback_through_a_reopening() {
    let mut s = Story::open("utilities", "2025-03-03 08:10");
    assert_eq!(s.order.open311_status(), "open");
    assert_eq!(s.order.status_notes(), "Received; waiting to be dispatched.");
    s.ok(C::Dispatch { to: water() }, &centre(), "2025-03-03 08:15");
    assert_eq!(s.order.state, S::Dispatched);
    assert_eq!(s.order.status_notes(), "Dispatched to department water; due 2025-03-04 08:15 (+08:00).");
    s.ok(C::SignFor, &dept("water"), "2025-03-03 08:40");
    assert_eq!(s.order.state, S::SignedFor);
    s.ok(C::Start, &dept("water"), "2025-03-03 09:00");
    assert_eq!(s.order.state, S::InProgress);
    s.ok(C::Reply { answer: "管道已抢修，供水恢复".into() }, &dept("water"), "2025-03-03 15:00");
    assert_eq!(s.order.state, S::Replied);
    assert_eq!(s.order.status_notes(), "Department water replied; the hotline centre will call back.");
    assert_eq!(s.order.colour(&clock(), at("2025-03-03 16:00"), &Thresholds::default()), None);
    // Unsatisfied: reopened, 24 hours from the callback.
    s.ok(
        C::Callback { satisfaction: Satisfaction::Unsatisfied, note: "水压仍然很低".into() },
        &centre(),
        "2025-03-04 10:00",
    );
    assert_eq!(s.order.state, S::Reopened);
    assert_eq!(show(s.order.due_at), "2025-03-05 10:00");
    assert_eq!(s.order.satisfaction(), Some(Satisfaction::Unsatisfied));
    s.ok(C::Start, &dept("water"), "2025-03-04 10:30");
    s.ok(C::Reply { answer: "更换减压阀，水压正常".into() }, &dept("water"), "2025-03-04 16:00");
    s.ok(
        C::Callback { satisfaction: Satisfaction::BasicallySatisfied, note: String::new() },
        &centre(),
        "2025-03-05 09:00",
    );
    assert_eq!(s.order.state, S::Closed);
    assert_eq!(s.order.closed_at, Some(at("2025-03-05 09:00")));
    assert_eq!(s.order.open311_status(), "closed");
    assert_eq!(s.order.status_notes(), "Closed after the callback (basically satisfied).");
    assert_eq!(s.order.replies.len(), 2);
    assert_eq!(s.order.callbacks.len(), 2);
    s.check_replay();
    // Nothing happens to a closed order.
    for (cmd, by) in [
        (C::Start, dept("water")),
        (C::Reply { answer: "x".into() }, dept("water")),
        (C::Callback { satisfaction: Satisfaction::Satisfied, note: String::new() }, centre()),
        (C::Dispatch { to: water() }, centre()),
    ] {
        assert_eq!(s.refused(cmd, &by, "2025-03-06 09:00"), "illegal_transition");
    }
}

#[test]
fn a_direct_answer_closes_at_intake() {
    let mut s = Story::open("consultation", "2025-03-03 09:00");
    assert_eq!(s.refused(C::AnswerDirectly { answer: " ".into() }, &centre(), "2025-03-03 09:05"), "empty_text");
    assert_eq!(s.refused(C::AnswerDirectly { answer: "x".into() }, &dept("water"), "2025-03-03 09:05"), "centre_only");
    s.ok(C::AnswerDirectly { answer: "营业执照可在政务服务网申领".into() }, &centre(), "2025-03-03 09:05");
    assert_eq!(s.order.state, S::Closed);
    assert_eq!(s.order.status_notes(), "Closed: answered at intake.");
    assert_eq!(s.order.assignee, None);
    assert_eq!(s.refused(C::Dispatch { to: water() }, &centre(), "2025-03-03 09:10"), "illegal_transition");
    s.check_replay();
}

#[test]
fn a_return_is_reviewed_and_the_order_redispatched_and_reclassified() {
    let mut s = dispatched("ordinary", water(), "2025-03-03 09:00");
    assert_eq!(s.refused(C::Return { reason: " ".into() }, &dept("water"), "2025-03-03 09:30"), "empty_text");
    assert_eq!(s.refused(C::Return { reason: "x".into() }, &dept("gas"), "2025-03-03 09:30"), "not_assignee");
    s.ok(C::Return { reason: "不属于本单位职责，应为燃气公司".into() }, &dept("water"), "2025-03-03 09:30");
    assert_eq!(s.order.state, S::Returned);
    assert_eq!(s.order.status_notes(), "Returned by department water; the dispatch is under review.");
    assert_eq!(
        s.refused(C::Redispatch { to: water(), category: None }, &centre(), "2025-03-03 10:00"),
        "same_assignee"
    );
    assert_eq!(
        s.refused(C::Redispatch { to: Unit::Centre, category: None }, &centre(), "2025-03-03 10:00"),
        "bad_assignee"
    );
    assert_eq!(
        s.refused(C::Redispatch { to: committee(), category: None }, &centre(), "2025-03-03 10:00"),
        "wrong_route"
    );
    assert_eq!(
        s.refused(
            C::Redispatch { to: Unit::Department("gas".into()), category: None },
            &dept("water"),
            "2025-03-03 10:00"
        ),
        "centre_only"
    );
    let gas = Unit::Department("gas".into());
    s.ok(C::Redispatch { to: gas.clone(), category: Some(category("utilities")) }, &centre(), "2025-03-03 10:00");
    assert_eq!(s.order.state, S::Dispatched);
    assert_eq!(s.order.assignee, Some(gas.clone()));
    assert_eq!(s.order.category.code, "utilities");
    assert_eq!(show(s.order.due_at), "2025-03-04 10:00", "the new category's 24 h from the re-dispatch");
    assert_eq!(s.order.returns[0].decision, Some(ReturnDecision::Redispatched { to: gas.clone() }));
    assert_eq!(s.order.assignments.len(), 2);
    assert_eq!(s.order.assignments[0].ended_at, Some(at("2025-03-03 10:00")));
    assert_eq!(s.refused(C::SignFor, &dept("water"), "2025-03-03 10:10"), "not_assignee");
    s.ok(C::SignFor, &dept("gas"), "2025-03-03 10:10");
    s.check_replay();
}

#[test]
fn a_refused_return_goes_back_to_the_same_unit_with_its_deadline() {
    let mut s = dispatched("ordinary", water(), "2025-03-03 09:00");
    s.ok(C::SignFor, &dept("water"), "2025-03-03 09:20");
    let due = s.order.due_at;
    s.ok(C::Return { reason: "不属于本单位".into() }, &dept("water"), "2025-03-03 09:30");
    assert_eq!(s.refused(C::RefuseReturn { reason: "".into() }, &centre(), "2025-03-03 11:00"), "empty_text");
    s.ok(C::RefuseReturn { reason: "属于供水管网维护范围".into() }, &centre(), "2025-03-03 11:00");
    assert_eq!(s.order.state, S::SignedFor, "back in the state it was returned from");
    assert_eq!(s.order.due_at, due);
    assert_eq!(s.order.assignee, Some(water()));
    assert!(matches!(s.order.returns[0].decision, Some(ReturnDecision::Refused { .. })));
    assert_eq!(s.refused(C::RefuseReturn { reason: "x".into() }, &centre(), "2025-03-03 11:05"), "illegal_transition");
    s.ok(C::Start, &dept("water"), "2025-03-03 11:30");
    s.check_replay();
    // Returned before signing for: back to dispatched.
    let mut d = dispatched("ordinary", water(), "2025-03-03 09:00");
    d.ok(C::Return { reason: "x".into() }, &dept("water"), "2025-03-03 09:30");
    d.ok(C::RefuseReturn { reason: "y".into() }, &centre(), "2025-03-03 10:00");
    assert_eq!(d.order.state, S::Dispatched);
    d.check_replay();
    // No return once work started.
    let mut p = dispatched("ordinary", water(), "2025-03-03 09:00");
    p.ok(C::SignFor, &dept("water"), "2025-03-03 09:10").ok(C::Start, &dept("water"), "2025-03-03 09:20");
    assert_eq!(p.refused(C::Return { reason: "x".into() }, &dept("water"), "2025-03-03 09:30"), "illegal_transition");
}

#[test]
fn a_registration_dispute_goes_to_the_mediation_committee_only() {
    let mut s = Story::open("company-registration-dispute", "2025-03-03 09:00");
    assert_eq!(
        s.refused(C::Dispatch { to: Unit::Department("market-regulation".into()) }, &centre(), "2025-03-03 09:10"),
        "wrong_route"
    );
    assert_eq!(s.refused(C::Dispatch { to: Unit::Centre }, &centre(), "2025-03-03 09:10"), "bad_assignee");
    assert_eq!(s.refused(C::Dispatch { to: committee() }, &dept("water"), "2025-03-03 09:10"), "centre_only");
    s.ok(C::Dispatch { to: committee() }, &centre(), "2025-03-03 09:10");
    assert_eq!(s.order.category.route, Route::Mediation);
    assert_eq!(show(s.order.due_at), "2025-04-02 09:10");
    let mut o = Story::open("ordinary", "2025-03-03 09:00");
    assert_eq!(o.refused(C::Dispatch { to: committee() }, &centre(), "2025-03-03 09:10"), "wrong_route");
}

#[test]
fn duplicates_merge_into_a_master() {
    let master = dispatched("utilities", water(), "2025-03-03 09:00");
    let mut dup = Story::open("utilities", "2025-03-03 09:20");
    dup.order.id = "wo-2".into();
    if let (WorkOrderEvent::Created { id, .. }, _) = &mut dup.history[0] {
        *id = "wo-2".into();
    }
    assert_eq!(
        merge(&dup.order, &master.order, &dept("water"), at("2025-03-03 09:25")).unwrap_err().code(),
        "centre_only"
    );
    assert_eq!(
        merge(&master.order, &master.order, &centre(), at("2025-03-03 09:25")).unwrap_err().code(),
        "merge_into_self"
    );
    let (for_dup, for_master) = merge(&dup.order, &master.order, &centre(), at("2025-03-03 09:25")).unwrap();
    let (mut dup_order, mut master_order) = (dup.order.clone(), master.order.clone());
    dup_order.apply(&for_dup, at("2025-03-03 09:25"));
    master_order.apply(&for_master, at("2025-03-03 09:25"));
    assert_eq!(dup_order.state, S::Merged);
    assert_eq!(dup_order.merged_into.as_deref(), Some("wo-1"));
    assert_eq!(dup_order.open311_status(), "closed");
    assert_eq!(dup_order.status_notes(), "Merged into work order wo-1 as a duplicate.");
    assert_eq!(master_order.duplicates, ["wo-2"]);
    assert_eq!(master_order.state, S::Dispatched);
    // Merged is terminal; a closed master takes no duplicates.
    assert_eq!(
        merge(&dup_order, &master_order, &centre(), at("2025-03-03 09:30")).unwrap_err().code(),
        "illegal_transition"
    );
    assert_eq!(
        merge(&master_order, &dup_order, &centre(), at("2025-03-03 09:45")).unwrap_err().code(),
        "master_not_open"
    );
    let mut history = dup.history.clone();
    history.push((for_dup, at("2025-03-03 09:25")));
    assert_eq!(WorkOrder::replay(&history).unwrap(), dup_order);
    let mut history = master.history.clone();
    history.push((for_master, at("2025-03-03 09:25")));
    assert_eq!(WorkOrder::replay(&history).unwrap(), master_order);
}

#[test]
fn every_refusal_leaves_the_order_unchanged_and_names_its_code() {
    let w = dept("water");
    let cases: Vec<(Story, C, Actor, &str)> = vec![
        (Story::open("ordinary", "2025-03-03 09:00"), C::SignFor, w.clone(), "illegal_transition"),
        (Story::open("ordinary", "2025-03-03 09:00"), C::Start, w.clone(), "illegal_transition"),
        (Story::open("ordinary", "2025-03-03 09:00"), C::Reply { answer: "x".into() }, w.clone(), "illegal_transition"),
        (
            Story::open("ordinary", "2025-03-03 09:00"),
            C::Return { reason: "x".into() },
            w.clone(),
            "illegal_transition",
        ),
        (Story::open("ordinary", "2025-03-03 09:00"), C::Dispatch { to: water() }, w.clone(), "centre_only"),
        (dispatched("ordinary", water(), "2025-03-03 09:00"), C::SignFor, dept("gas"), "not_assignee"),
        (dispatched("ordinary", water(), "2025-03-03 09:00"), C::SignFor, centre(), "not_assignee"),
        (dispatched("ordinary", water(), "2025-03-03 09:00"), C::Start, w.clone(), "illegal_transition"),
        (
            dispatched("ordinary", water(), "2025-03-03 09:00"),
            C::Dispatch { to: water() },
            centre(),
            "illegal_transition",
        ),
        (
            dispatched("ordinary", water(), "2025-03-03 09:00"),
            C::Callback { satisfaction: Satisfaction::Satisfied, note: String::new() },
            centre(),
            "illegal_transition",
        ),
        (
            dispatched("ordinary", water(), "2025-03-03 09:00"),
            C::RefuseReturn { reason: "x".into() },
            centre(),
            "illegal_transition",
        ),
        (
            dispatched("ordinary", water(), "2025-03-03 09:00"),
            C::Redispatch { to: Unit::Department("gas".into()), category: None },
            centre(),
            "illegal_transition",
        ),
        (
            dispatched("ordinary", water(), "2025-03-03 09:00"),
            C::DecideExtension { approve: true, reason: String::new() },
            centre(),
            "illegal_transition",
        ),
        (
            dispatched("ordinary", water(), "2025-03-03 09:00"),
            C::RequestExtension { amount: "1d".parse().unwrap(), reason: "x".into() },
            w.clone(),
            "illegal_transition",
        ),
        (
            dispatched("ordinary", water(), "2025-03-03 09:00"),
            C::AnswerDirectly { answer: "x".into() },
            centre(),
            "illegal_transition",
        ),
    ];
    for (mut story, cmd, by, code) in cases {
        assert_eq!(story.refused(cmd.clone(), &by, "2025-03-03 10:00"), code, "{cmd:?} by {by:?}");
    }
    // Signed for: the reply and the callback.
    let mut s = dispatched("ordinary", water(), "2025-03-03 09:00");
    s.ok(C::SignFor, &w, "2025-03-03 09:10").ok(C::Start, &w, "2025-03-03 09:20");
    assert_eq!(s.refused(C::Reply { answer: "".into() }, &w, "2025-03-03 10:00"), "empty_text");
    assert_eq!(s.refused(C::Reply { answer: "x".into() }, &dept("gas"), "2025-03-03 10:00"), "not_assignee");
    assert_eq!(s.refused(C::Start, &w, "2025-03-03 10:00"), "illegal_transition");
    s.ok(C::Reply { answer: "x".into() }, &w, "2025-03-03 10:00");
    assert_eq!(
        s.refused(C::Callback { satisfaction: Satisfaction::Satisfied, note: String::new() }, &w, "2025-03-03 11:00"),
        "centre_only"
    );
    // A date beyond the official calendar is a clock error, not a panic.
    let mut far = Story::open("complaint", "2100-12-30 09:00");
    assert_eq!(far.refused(C::Dispatch { to: water() }, &centre(), "2100-12-30 09:00"), "clock");
}

#[test]
fn replay_refuses_histories_that_cannot_be() {
    let mut s = dispatched("ordinary", water(), "2025-03-03 09:00");
    s.ok(C::SignFor, &dept("water"), "2025-03-03 09:10");
    let h = &s.history;
    assert_eq!(WorkOrder::replay(&[]).unwrap_err(), ReplayError::Empty);
    assert_eq!(WorkOrder::replay(&h[1..]).unwrap_err().code(), "not_created");
    let twice = vec![h[0].clone(), h[0].clone()];
    assert_eq!(WorkOrder::replay(&twice).unwrap_err().code(), "created_twice");
    let skipped = vec![h[0].clone(), h[2].clone()];
    assert_eq!(
        WorkOrder::replay(&skipped).unwrap_err(),
        ReplayError::NotApplicable { index: 1, event: "signed_for", state: "created" }
    );
    let backwards = vec![h[0].clone(), h[1].clone(), (h[2].0.clone(), at("2025-03-03 08:00"))];
    assert_eq!(WorkOrder::replay(&backwards).unwrap_err().code(), "out_of_order");
    let unsatisfied_close = vec![
        h[0].clone(),
        (
            WorkOrderEvent::CalledBack { satisfaction: Satisfaction::Unsatisfied, note: String::new(), by: centre() },
            at("2025-03-03 10:00"),
        ),
    ];
    assert_eq!(WorkOrder::replay(&unsatisfied_close).unwrap_err().code(), "event_not_applicable");
    assert_eq!(ReplayError::Empty.code(), "empty_history");
}

#[test]
fn events_are_tagged_snake_case() {
    let s = dispatched("utilities", water(), "2025-03-03 09:00");
    let json = serde_json::to_value(&s.history[1].0).unwrap();
    assert_eq!(json["type"], "dispatched");
    assert_eq!(json["to"], serde_json::json!({"kind": "department", "code": "water"}));
    assert_eq!(json["by"], serde_json::json!({"user": "op-7", "unit": {"kind": "centre"}}));
    let created = serde_json::to_value(&s.history[0].0).unwrap();
    assert_eq!(created["type"], "created");
    assert_eq!(created["caller"]["phone"], "13806351234");
    assert_eq!(created["category"]["limit"], serde_json::json!({"amount": "24h", "counts": "calendar"}));
}

// ---------------------------------------------------------------------------------------------------------
// Colours

#[test]
fn a_calendar_limit_turns_blue_yellow_red_on_the_hour() {
    let s = dispatched("utilities", water(), "2025-03-07 16:00");
    let t = Thresholds::default();
    let c = |now: &str| s.order.colour(&clock(), at(now), &t).unwrap();
    assert_eq!(c("2025-03-07 16:00"), Colour::Green);
    assert_eq!(c("2025-03-08 03:59"), Colour::Green);
    assert_eq!(c("2025-03-08 04:00"), Colour::Blue, "12 of 24 hours, on a Saturday night");
    // Yellow at 80 % (19 h 12 m) or 2 hours left (a 1-day limit): 80 % comes first.
    assert_eq!(c("2025-03-08 11:11"), Colour::Blue);
    assert_eq!(c("2025-03-08 11:12"), Colour::Yellow);
    assert_eq!(c("2025-03-08 16:00"), Colour::Yellow);
    assert_eq!(c("2025-03-08 16:01"), Colour::Red);
    // A 7-day limit: yellow at 80 % (5 d 14 h 24 m), before "1 day left" (6 days).
    let o = dispatched("ordinary", water(), "2025-03-03 09:00");
    let c = |now: &str| o.order.colour(&clock(), at(now), &t).unwrap();
    assert_eq!(c("2025-03-06 20:59"), Colour::Green);
    assert_eq!(c("2025-03-06 21:00"), Colour::Blue);
    assert_eq!(c("2025-03-08 23:23"), Colour::Blue);
    assert_eq!(c("2025-03-08 23:24"), Colour::Yellow);
    assert_eq!(c("2025-03-10 09:01"), Colour::Red);
}

#[test]
fn a_working_limit_keeps_its_colour_over_the_weekend() {
    let now = at("2025-03-07 09:00");
    let ev = WorkOrder::open("wo-5", &intake("x"), &five_working_days(), &centre(), now).unwrap();
    let mut o = WorkOrder::from_created(&ev, now).unwrap();
    o.act(&C::Dispatch { to: water() }, &centre(), now, &clock()).unwrap();
    let t = Thresholds::default();
    let c = |now: &str| o.colour(&clock(), at(now), &t).unwrap();
    let saturday = c("2025-03-08 12:00");
    assert_eq!(saturday, c("2025-03-09 23:00"));
    assert_eq!(c("2025-03-14 17:00"), Colour::Yellow);
    assert_eq!(c("2025-03-14 17:01"), Colour::Red);
    // The same as the case colour of crate::colour.
    for now in ["2025-03-07 12:00", "2025-03-10 15:00", "2025-03-12 11:00", "2025-03-13 16:00"] {
        let expected =
            colour::colour(&clock(), at("2025-03-07 09:00"), "5d".parse().unwrap(), &[], at(now), &t).unwrap();
        assert_eq!(c(now), expected, "{now}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    /// Without an extension, a working limit's colour is exactly `crate::colour::colour`.
    #[test]
    fn working_colours_agree_with_the_case_colours(
        day in 0i64..600,
        minute in 0i64..1440,
        later in 0i64..(30 * 1440),
        limit in prop::sample::select(vec!["1h", "3h15m", "0.5d", "1d", "2d", "3d", "5d", "13d"]),
    ) {
        let clock = clock();
        let start = at("2025-01-02 00:00") + jiff::SignedDuration::from_mins(day * 1440 + minute);
        let now = start + jiff::SignedDuration::from_mins(later);
        let limit: WorkingDuration = limit.parse().unwrap();
        let t = Thresholds::default();
        let due = clock.add(start, limit).unwrap();
        let ours = limit_colour(&clock, Basis::Working, start, limit, due, now, &t).unwrap();
        let theirs = colour::colour(&clock, start, limit, &[], now, &t).unwrap();
        prop_assert_eq!(ours, theirs);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Assessment

#[test]
fn response_conclusion_and_satisfaction_rates() {
    let w = dept("water");
    // 1: water, signed in time, closed satisfied.
    let mut a = dispatched("utilities", water(), "2025-03-03 09:00");
    a.ok(C::SignFor, &w, "2025-03-03 09:30").ok(C::Start, &w, "2025-03-03 09:40");
    a.ok(C::Reply { answer: "x".into() }, &w, "2025-03-03 12:00");
    a.ok(C::Callback { satisfaction: Satisfaction::Satisfied, note: String::new() }, &centre(), "2025-03-04 09:00");
    // 2: water, signed late, replied, unsatisfied and reopened: due again, not concluded.
    let mut b = dispatched("utilities", water(), "2025-03-03 09:00");
    b.ok(C::SignFor, &w, "2025-03-03 11:00").ok(C::Start, &w, "2025-03-03 11:10");
    b.ok(C::Reply { answer: "x".into() }, &w, "2025-03-03 15:00");
    b.ok(C::Callback { satisfaction: Satisfaction::Unsatisfied, note: String::new() }, &centre(), "2025-03-04 09:00");
    // 3: water returned in time, re-dispatched to gas, which never signs: water responded, gas did not.
    let mut c = dispatched("utilities", water(), "2025-03-03 09:00");
    c.ok(C::Return { reason: "燃气".into() }, &w, "2025-03-03 09:20");
    c.ok(C::Redispatch { to: Unit::Department("gas".into()), category: None }, &centre(), "2025-03-03 09:30");
    // 4: gas, dispatched now, sign-for deadline not reached: not judged yet.
    let d = dispatched("utilities", Unit::Department("gas".into()), "2025-03-06 09:30");
    // 5: answered at intake: nobody's.
    let mut e = Story::open("consultation", "2025-03-03 09:00");
    e.ok(C::AnswerDirectly { answer: "x".into() }, &centre(), "2025-03-03 09:01");

    let orders = [a.order, b.order, c.order, d.order, e.order];
    let figures = assessment(&orders, at("2025-03-06 10:00"));
    let water = &figures[&water()];
    assert_eq!((water.assignments, water.responded), (3, 2));
    assert_eq!(water.response_rate().percent().map(|p| p.round()), Some(67.0));
    // Due: #1 closed, #2 reopened and past its new deadline (2025-03-05 09:00).
    assert_eq!((water.due, water.concluded), (2, 1));
    assert_eq!(water.conclusion_rate().percent(), Some(50.0));
    assert_eq!((water.called_back, water.satisfied, water.unsatisfied), (2, 1, 1));
    assert_eq!(water.satisfaction_rate().percent(), Some(50.0));
    let gas = &figures[&Unit::Department("gas".into())];
    assert_eq!((gas.assignments, gas.responded), (1, 0), "order 4 is not yet due for signing");
    assert_eq!((gas.due, gas.concluded), (1, 0));
    assert_eq!(gas.satisfaction_rate().percent(), None);
    assert_eq!(figures.len(), 2);
}

// ---------------------------------------------------------------------------------------------------------
// Random command sequences

/// Who gives a command: mostly the one who may (the centre, or the unit that has the order), sometimes
/// someone else.
#[derive(Debug, Clone)]
enum Who {
    Right,
    Centre,
    Water,
    Gas,
}

fn centre_command(c: &C) -> bool {
    matches!(
        c,
        C::AnswerDirectly { .. }
            | C::Dispatch { .. }
            | C::Redispatch { .. }
            | C::RefuseReturn { .. }
            | C::DecideExtension { .. }
            | C::Callback { .. }
    )
}

fn command() -> impl Strategy<Value = C> {
    let satisfaction = prop::sample::select(vec![
        Satisfaction::Satisfied,
        Satisfaction::BasicallySatisfied,
        Satisfaction::Unsatisfied,
    ]);
    prop_oneof![
        1 => Just(C::AnswerDirectly { answer: "答复".into() }),
        4 => Just(C::Dispatch { to: Unit::Department("water".into()) }),
        4 => Just(C::SignFor),
        4 => Just(C::Start),
        2 => Just(C::Return { reason: "非本单位".into() }),
        2 => Just(C::Redispatch { to: Unit::Department("gas".into()), category: None }),
        2 => Just(C::Redispatch { to: Unit::Department("water".into()), category: None }),
        2 => Just(C::RefuseReturn { reason: "属本单位".into() }),
        3 => Just(C::RequestExtension { amount: WorkingDuration::days(2), reason: "需协调".into() }),
        3 => any::<bool>().prop_map(|approve| C::DecideExtension { approve, reason: "不予".into() }),
        4 => Just(C::Reply { answer: "已办理".into() }),
        3 => satisfaction.prop_map(|satisfaction| C::Callback { satisfaction, note: String::new() }),
    ]
}

/// A command that suits the order's state, chosen by `choice`: the guided steps of the random walk.
fn suited(order: &WorkOrder, choice: usize) -> C {
    let water = || Unit::Department("water".into());
    let gas = || Unit::Department("gas".into());
    let other = if order.assignee == Some(water()) { gas() } else { water() };
    let extend = || C::RequestExtension { amount: WorkingDuration::days(2), reason: "需协调".into() };
    let decide = |approve| C::DecideExtension { approve, reason: "不予".into() };
    let callback = |satisfaction| C::Callback { satisfaction, note: String::new() };
    let candidates: Vec<C> = match order.state {
        S::Created if choice.is_multiple_of(8) => vec![C::AnswerDirectly { answer: "答复".into() }],
        S::Created => vec![C::Dispatch { to: water() }],
        S::Dispatched => vec![C::SignFor, C::SignFor, C::SignFor, C::Return { reason: "非本单位".into() }],
        S::SignedFor => vec![C::Start, C::Start, C::Return { reason: "非本单位".into() }, extend(), decide(true)],
        S::InProgress => vec![
            C::Reply { answer: "已办理".into() },
            C::Reply { answer: "已办理".into() },
            extend(),
            decide(true),
            decide(false),
        ],
        S::Returned => vec![C::Redispatch { to: other, category: None }, C::RefuseReturn { reason: "属本单位".into() }],
        S::Replied => vec![
            callback(Satisfaction::Satisfied),
            callback(Satisfaction::BasicallySatisfied),
            callback(Satisfaction::Unsatisfied),
        ],
        S::Reopened => vec![C::Start, C::Start, extend()],
        S::Closed | S::Merged => vec![C::Start],
    };
    candidates[choice % candidates.len()].clone()
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![8 => Just(Who::Right), 1 => Just(Who::Centre), 1 => Just(Who::Water), 1 => Just(Who::Gas)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn random_command_sequences_replay_to_the_same_order(
        code in prop::sample::select(vec!["utilities", "complex", "complaint", "consultation"]),
        steps in prop::collection::vec((any::<bool>(), 0usize..1_000_000, command(), who(), 0i64..900), 1..40),
    ) {
        let clock = clock();
        let mut now = at("2025-03-03 08:30");
        let event = WorkOrder::open("wo-1", &intake("x"), &category(code), &centre(), now).unwrap();
        let mut order = WorkOrder::from_created(&event, now).unwrap();
        let mut history = vec![(event, now)];
        for (noise, choice, random, who, minutes) in steps {
            now += jiff::SignedDuration::from_mins(minutes);
            // Half the steps suit the state (done by the one who may), half are random, mostly refused.
            let (cmd, who) = if noise { (random, who) } else { (suited(&order, choice), Who::Right) };
            let by = match who {
                Who::Right if centre_command(&cmd) => centre(),
                Who::Right => Actor::new("u-1", order.assignee.clone().unwrap_or(Unit::Centre)),
                Who::Centre => centre(),
                Who::Water => dept("water"),
                Who::Gas => dept("gas"),
            };
            let before = order.clone();
            match order.act(&cmd, &by, now, &clock) {
                Ok(event) => {
                    prop_assert!(before.accepts(&event), "{:?} from {:?}", event, before.state);
                    history.push((event, now));
                }
                Err(e) => prop_assert_eq!(&order, &before, "{} changed the order", e.code()),
            }
            // Invariants.
            prop_assert_eq!(order.state.is_terminal(), order.closed_at.is_some());
            prop_assert_eq!(order.state.clock_runs(), order.colour(&clock, now, &Thresholds::default()).is_some());
            prop_assert!(order.extensions.iter().filter(|e| e.status == ExtensionStatus::Pending).count() <= 1);
            prop_assert_eq!(order.assignee.is_some(), !order.assignments.is_empty());
            if order.state == S::Returned {
                prop_assert!(order.returned_from.is_some());
            }
        }
        prop_assert_eq!(WorkOrder::replay(&history).unwrap(), order.clone());
        let json = serde_json::to_string(&history).unwrap();
        let back: Vec<(WorkOrderEvent, Timestamp)> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(WorkOrder::replay(&back).unwrap(), order);
    }
}
