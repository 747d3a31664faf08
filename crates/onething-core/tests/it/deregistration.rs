//! 企业注销 as the law has it: every precheck rule on the demo registry (and on variants of its clean company),
//! the "+N" items of the licences held in the `close-company` plan, the notice periods in calendar days, the
//! simple path from precheck to announcement, an objection that stops it, the general path, a 个体工商户's
//! departmental window, the public page, and replay equal to the aggregate built step by step.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use onething_core::catalog::Catalog;
use onething_core::deregistration::{
    Advice, Blocks, Deregistration, DeregistrationError, DeregistrationEvent, MemberDraft, NoticeKind, ObjectionDraft,
    ObjectorKind, PartyId, PartyIdKind, PrecheckRule, Procedure, ReplayError, Stage, WayOutAction, notice_period,
    precheck, public_page, replay,
};
use onething_core::plan::{self, PlanError};
use onething_core::registry::{EntityStatus, HeldLicence, MarketEntity, PendingMatter};
use onething_core::source::SourceFile;

use crate::registry::{code, demo_registry};

fn demo_catalog() -> Catalog {
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

fn entity(credit_code: &str) -> MarketEntity {
    demo_registry().get(&code(credit_code)).cloned().unwrap_or_else(|| panic!("{credit_code} not in the demo"))
}

const BAI: &str = "91371502MA3C7B1K1E";
const SHUNDA: &str = "91371502MA3D2F8L9Q";
const HENGCHANG: &str = "91371502MA3E4H2N4R";
const LI: &str = "92371502MA3F6J4P00";
const JINDING: &str = "91371502MA3G8K6Q6B";
const TONGDA: &str = "91371502MA3H1L8R2Y";
const JIUCHENG: &str = "91371502MA3J3M1TX5";
const LULU: &str = "913700001630012354";
const HONGYUAN: &str = "91371502MA3K5N3U5G";
const LVYE: &str = "93371502MA3L7P5W1K";
const BRANCH: &str = "91371502MA3M9Q7X72";
const SUTONG: &str = "91371502MA3N2R9Y3M";

/// The tax bureau's credit code (a fictional 11… code of an organ of state).
const TAX_BUREAU: &str = "11371502MB2841639D";

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A deregistration driven command by command, keeping its history, so a test can replay it.
struct Run {
    d: Deregistration,
    history: Vec<(DeregistrationEvent, Timestamp)>,
}

impl Run {
    fn open(id: &str, e: &MarketEntity, c: &Catalog, procedure: Procedure, at: Timestamp) -> Run {
        let ev = Deregistration::open(id, &format!("case-{id}"), e, c, procedure).unwrap_or_else(|e| panic!("{e}"));
        let d = Deregistration::start(&ev, at).unwrap();
        Run { d, history: vec![(ev, at)] }
    }

    fn step(
        &mut self,
        at: &str,
        command: impl FnOnce(&Deregistration, Timestamp) -> Result<DeregistrationEvent, DeregistrationError>,
    ) -> &Deregistration {
        let at = ts(at);
        let before = self.d.clone();
        let ev = command(&self.d, at).unwrap_or_else(|e| panic!("{}: {e}", e.code()));
        assert_eq!(self.d, before, "a command changes nothing");
        self.d.apply(&ev, at);
        self.history.push((ev, at));
        &self.d
    }

    fn refused(
        &self,
        at: &str,
        command: impl FnOnce(&Deregistration, Timestamp) -> Result<DeregistrationEvent, DeregistrationError>,
    ) -> DeregistrationError {
        match command(&self.d, ts(at)) {
            Ok(ev) => panic!("accepted: {ev:?}"),
            Err(e) => e,
        }
    }

    /// Replays the history after a JSON round trip, as the store would give it back.
    fn assert_replays(&self) {
        let json = serde_json::to_string(&self.history).unwrap();
        let back: Vec<(DeregistrationEvent, Timestamp)> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, self.history);
        assert_eq!(replay(&back).unwrap(), self.d);
        assert_eq!(self.d.version, self.history.len() as u64);
        let doc: Deregistration = serde_json::from_str(&serde_json::to_string(&self.d).unwrap()).unwrap();
        assert_eq!(doc, self.d);
    }
}

fn objection(kind: ObjectorKind, id_kind: PartyIdKind, id: &str) -> ObjectionDraft {
    ObjectionDraft {
        kind,
        name: "聊城市东昌府区某建材商行".into(),
        id_kind,
        id: id.into(),
        contact: "13812345678".into(),
        grounds: "该公司尚欠货款86,000元未结清".into(),
    }
}

fn rules(credit_code: &str, c: &Catalog) -> (bool, bool, Vec<&'static str>) {
    let p = precheck(&entity(credit_code), c);
    (p.simple_allowed, p.general_allowed, p.reasons.iter().map(|r| r.code.code()).collect())
}

// ---------------------------------------------------------------------------------------------------------
// Precheck

#[test]
fn every_demo_entity_meets_its_rules() {
    let c = demo_catalog();
    let cases: [(&str, bool, bool, &[&str]); 12] = [
        (BAI, false, true, &["abnormal_operations_list"]),
        (SHUNDA, true, true, &[]),
        (HENGCHANG, false, true, &["tax_arrears", "social_insurance_arrears"]),
        (LI, true, true, &["individual_business"]),
        (JINDING, false, true, &["serious_violation_list"]),
        (TONGDA, false, true, &["licence_revoked"]),
        (JIUCHENG, false, false, &["already_deregistered"]),
        (LULU, false, true, &["listed_company"]),
        (HONGYUAN, false, true, &["pending_investigation", "pending_litigation", "equity_frozen", "equity_pledged"]),
        (LVYE, true, true, &[]),
        (BRANCH, true, true, &[]),
        (SUTONG, false, false, &["registration_annulled"]),
    ];
    for (cc, simple, general, codes) in cases {
        assert_eq!(rules(cc, &c), (simple, general, codes.to_vec()), "{cc}");
    }
}

#[test]
fn the_other_rules_fire_on_variants_of_the_clean_company() {
    let c = demo_catalog();
    let clean = entity(SHUNDA);
    let check = |e: MarketEntity, expected: &[&str], general: bool| {
        let p = precheck(&e, &c);
        assert!(!p.simple_allowed, "{expected:?}");
        assert_eq!(p.general_allowed, general, "{expected:?}");
        let codes: Vec<&str> = p.reasons.iter().map(|r| r.code.code()).collect();
        assert_eq!(codes, expected);
    };
    check(MarketEntity { status: EntityStatus::OrderedClosed, ..clean.clone() }, &["ordered_closed"], true);
    check(
        MarketEntity { pending: vec![PendingMatter::Enforcement], ..clean.clone() },
        &["pending_investigation"],
        true,
    );
    check(MarketEntity { pending: vec![PendingMatter::Arbitration], ..clean.clone() }, &["pending_litigation"], true);
    check(MarketEntity { pending: vec![PendingMatter::UnpaidFine], ..clean.clone() }, &["unpaid_fine"], true);
    check(MarketEntity { equity_pledged: true, ..clean.clone() }, &["equity_pledged"], true);
    // A deregistered company that was also on the list: refused for both, every finding still listed.
    let mut old = entity(BAI);
    old.status = EntityStatus::Deregistered;
    check(old, &["already_deregistered", "abnormal_operations_list"], false);
}

#[test]
fn every_reason_says_why_and_gives_a_way_out() {
    let c = demo_catalog();
    let story = precheck(&entity(BAI), &c);
    let r = &story.reasons[0];
    assert_eq!(r.code, PrecheckRule::AbnormalOperationsList);
    assert_eq!(r.blocks, Blocks::Simple);
    assert!(r.message_zh.contains("经营异常名录") && r.message_zh.contains("2024-07-01"), "{}", r.message_zh);
    assert!(r.message_zh.contains("未按照规定的期限公示年度报告"), "{}", r.message_zh);
    assert!(r.message_en.contains("abnormal-operations list"), "{}", r.message_en);
    assert_eq!(r.way_out.actions, [WayOutAction::LeaveAbnormalList, WayOutAction::GeneralProcedure]);
    assert!(r.way_out.zh.contains("年度报告") && r.way_out.zh.contains("一般注销"), "{}", r.way_out.zh);
    assert_eq!(story.refusals(Procedure::Simple), [PrecheckRule::AbnormalOperationsList]);
    assert!(story.refusals(Procedure::General).is_empty());

    let arrears = precheck(&entity(HENGCHANG), &c);
    assert!(arrears.reasons[0].message_zh.contains("12345.67元"), "{}", arrears.reasons[0].message_zh);
    assert!(arrears.reasons[1].message_en.contains("3200.00 yuan"), "{}", arrears.reasons[1].message_en);

    let mut seen = BTreeSet::new();
    for cc in [BAI, HENGCHANG, LI, JINDING, TONGDA, JIUCHENG, LULU, HONGYUAN, SUTONG] {
        for r in precheck(&entity(cc), &c).reasons {
            assert!(!r.message_zh.is_empty() && !r.message_en.is_empty() && !r.way_out.zh.is_empty(), "{r:?}");
            assert!(!r.way_out.actions.is_empty(), "{r:?}");
            let code = r.code.code();
            assert!(code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{code}");
            // The serde name is the code.
            assert_eq!(serde_json::to_value(r.code).unwrap(), serde_json::json!(code));
            seen.insert(code);
        }
    }
    assert_eq!(seen.len(), 13);
}

#[test]
fn licences_held_add_their_cancellation_items() {
    let c = demo_catalog();
    let p = precheck(&entity(SHUNDA), &c);
    let added: Vec<(&str, &str, usize)> =
        p.added_items.iter().map(|a| (a.item.as_str(), a.department.as_str(), a.licences.len())).collect();
    // The operating permit and both vehicles' certificates are handed back in one transport item.
    assert_eq!(
        added,
        [
            ("food-business-permit-cancellation", "market-regulation", 1),
            ("road-transport-permit-cancellation", "transport", 3)
        ]
    );
    assert_eq!(p.added_items[0].name, "食品经营许可注销");

    // A licence type the catalogue cannot cancel is left to the officer, without blocking anything.
    let mut odd = entity(LVYE);
    odd.licences.push(HeldLicence { licence_type: "pesticide-permit".into(), number: "NY-001".into() });
    let p = precheck(&odd, &c);
    assert!(p.simple_allowed && p.added_items.is_empty());
    assert_eq!(p.reasons[0].code, PrecheckRule::LicenceWithoutCancellationItem);
    assert_eq!(p.reasons[0].blocks, Blocks::Nothing);
    assert!(p.reasons[0].message_zh.contains("pesticide-permit NY-001"), "{}", p.reasons[0].message_zh);
}

// ---------------------------------------------------------------------------------------------------------
// "+N" in the plan

#[test]
fn the_close_company_plan_takes_the_licence_items_in_parallel() {
    let c = demo_catalog();
    let base = plan::compile(&c, "close-company", &BTreeMap::new()).unwrap();
    let p = precheck(&entity(SHUNDA), &c);
    let plus = plan::compile_with_extra_items(&c, "close-company", &BTreeMap::new(), &p.added_item_codes()).unwrap();
    assert_eq!(base.tasks.len(), 8);
    assert_eq!(plus.tasks.len(), 10);
    assert_eq!(plus.extra_items, ["food-business-permit-cancellation", "road-transport-permit-cancellation"]);
    let extra: Vec<(&str, &str, String, usize)> = plus.tasks[8..]
        .iter()
        .map(|t| (t.item.as_str(), t.department.as_str(), t.limit.to_string(), t.needs.len()))
        .collect();
    assert_eq!(
        extra,
        [
            ("food-business-permit-cancellation", "market-regulation", "1d".to_string(), 0),
            ("road-transport-permit-cancellation", "transport", "1d".to_string(), 0)
        ]
    );
    // In parallel: the critical path and the promise stay the bundle's.
    assert_eq!(plus.critical_path, base.critical_path);
    assert_eq!(plus.promised_limit, base.promised_limit);
    let departments: BTreeSet<&str> = plus.tasks.iter().map(|t| t.department.as_str()).collect();
    assert_eq!(departments.len(), 10, "8 + N: the permits' departments join");
    assert_eq!(plus.reduction.departments.before, 10);
    assert_eq!(plus.reduction.submissions, onething_core::plan::BeforeAfter { before: 10, after: 1 });
    // The permits themselves are handed back; everything else they ask for is asked once.
    let codes: Vec<&str> = plus.materials.iter().map(|m| m.code.as_str()).collect();
    assert!(codes.contains(&"food-business-permit") && codes.contains(&"operating-permit"), "{codes:?}");
    assert_eq!(plus.reduction.materials.before - plus.reduction.materials.after, plus.dropped.len() as u32);
    assert!(plus.form.iter().any(|f| f.code == "food_permit_number"));
}

#[test]
fn extra_items_are_checked_and_deduplicated() {
    let c = demo_catalog();
    let none = BTreeMap::new();
    let e = plan::compile_with_extra_items(&c, "close-company", &none, &["no-such-item".into()]).err();
    assert_eq!(e, Some(PlanError::UnknownItem { item: "no-such-item".into() }));
    assert_eq!(e.map(|e| e.code()), Some("unknown_item"));
    let twice = [
        "food-business-permit-cancellation".to_string(),
        "tax-deregistration".to_string(),
        "food-business-permit-cancellation".to_string(),
    ];
    let p = plan::compile_with_extra_items(&c, "close-company", &none, &twice).unwrap();
    assert_eq!(p.tasks.len(), 9);
    assert_eq!(p.extra_items, ["food-business-permit-cancellation"]);
    // Without extras the variant is the plain compiler, field for field.
    let plain = plan::compile(&c, "close-company", &none).unwrap();
    let empty = plan::compile_with_extra_items(&c, "close-company", &none, &[]).unwrap();
    assert_eq!(serde_json::to_value(&plain).unwrap(), serde_json::to_value(&empty).unwrap());
    assert!(serde_json::to_value(&plain).unwrap().get("extra_items").is_none());
}

// ---------------------------------------------------------------------------------------------------------
// Periods

#[test]
fn notices_run_in_calendar_days_in_china_time() {
    // Published on 2025-01-20 (China): days 1–20 are 01-21 … 02-09, across the month end and the whole Spring
    // Festival holiday (01-28 … 02-04), which calendar days do not skip.
    let n = notice_period(NoticeKind::PublicNotice, ts("2025-01-20T02:00:00Z")).unwrap();
    assert_eq!((n.starts_on.to_string(), n.ends_on.to_string()), ("2025-01-21".into(), "2025-02-09".into()));
    assert_eq!(n.closes_at, ts("2025-02-10T00:00:00+08:00"));
    // 01:00 China time on the 21st is still the 20th in UTC: the China date counts.
    let late = notice_period(NoticeKind::PublicNotice, ts("2025-01-20T17:00:00Z")).unwrap();
    assert_eq!(late.ends_on.to_string(), "2025-02-10");
    // The newspaper's day, across the year end.
    let n = notice_period(NoticeKind::PublicNotice, ts("2024-12-24T09:30:00+08:00")).unwrap();
    assert_eq!(n.ends_on.to_string(), "2025-01-13");
    let w = notice_period(NoticeKind::DepartmentWindow, ts("2024-09-30T10:00:00+08:00")).unwrap();
    assert_eq!(w.ends_on.to_string(), "2024-10-10", "the National Day holiday does not stop the window");
    let cn = notice_period(NoticeKind::CreditorNotice, ts("2025-03-10T10:00:00+08:00")).unwrap();
    assert_eq!(cn.ends_on.to_string(), "2025-04-24");
    assert!(notice_period(NoticeKind::CreditorNotice, ts("9999-12-30T00:00:00Z")).is_err());
}

// ---------------------------------------------------------------------------------------------------------
// The procedure

#[test]
fn a_clean_company_goes_from_precheck_through_the_notice_to_the_announcement() {
    let c = demo_catalog();
    let shunda = entity(SHUNDA);
    let mut run = Run::open("dereg-1", &shunda, &c, Procedure::Simple, ts("2025-01-20T01:30:00Z"));
    assert_eq!(run.d.stage, Stage::AwaitingNotice);
    assert_eq!(run.d.case_id, "case-dereg-1");
    // The case engine compiles 8+N from what the procedure recorded.
    let p = plan::compile_with_extra_items(&c, "close-company", &BTreeMap::new(), &run.d.precheck.added_item_codes())
        .unwrap();
    assert_eq!(p.tasks.len(), 10);
    assert_eq!(run.d.tasks_may_start_at, None);

    run.step("2025-01-20T02:00:00Z", Deregistration::publish_notice);
    let notice = run.d.notice.clone().unwrap();
    assert_eq!(notice.kind, NoticeKind::PublicNotice);
    assert_eq!(notice.ends_on.to_string(), "2025-02-09");
    assert_eq!(run.d.next_due_at(), Some(ts("2025-02-10T00:00:00+08:00")));

    // On the public page while it runs, with the objection link.
    let page = public_page([&run.d], ts("2025-02-01T12:00:00+08:00"));
    assert_eq!(page.notices.len(), 1);
    let pn = &page.notices[0];
    assert_eq!((pn.company_name.as_str(), pn.credit_code.as_str()), ("聊城市顺达食品配送有限公司", SHUNDA));
    assert_eq!((pn.starts_on.to_string(), pn.ends_on.to_string()), ("2025-01-21".into(), "2025-02-09".into()));
    assert_eq!(pn.objection_target.as_deref(), Some("dereg-1"));
    assert!(page.announcements.is_empty());

    let e = run.refused("2025-02-09T23:59:59+08:00", Deregistration::close_notice);
    assert_eq!(e.code(), "notice_running");
    let e = run.refused("2025-02-09T23:59:59+08:00", Deregistration::record_deregistered);
    assert_eq!(e.code(), "wrong_stage");
    run.step("2025-02-10T00:05:00+08:00", Deregistration::close_notice);
    assert_eq!(run.d.stage, Stage::TasksMayStart);
    assert_eq!(run.d.tasks_may_start_at, Some(ts("2025-02-10T00:00:00+08:00")));
    assert!(run.d.tasks_may_start(ts("2025-02-10T09:00:00+08:00")));
    assert_eq!(run.d.apply_by.map(|d| d.to_string()), Some("2025-03-01".into()));
    assert!(public_page([&run.d], ts("2025-02-10T00:00:00+08:00")).notices.is_empty(), "the notice is over");
    let e = run.refused("2025-02-10T09:00:00+08:00", |d, at| {
        d.lodge_objection(&objection(ObjectorKind::Creditor, PartyIdKind::CreditCode, BAI), at)
    });
    assert_eq!(e.code(), "wrong_stage");

    run.step("2025-02-11T10:00:00+08:00", Deregistration::record_deregistered);
    assert_eq!(run.d.deregistered_on.map(|d| d.to_string()), Some("2025-02-11".into()));
    run.step("2025-02-11T10:30:00+08:00", Deregistration::publish_announcement);
    assert_eq!(run.d.stage, Stage::Announced);
    let page = public_page([&run.d], ts("2025-02-12T00:00:00Z"));
    assert!(page.notices.is_empty());
    let a = &page.announcements[0];
    assert_eq!((a.announcement_id.as_str(), a.procedure), ("dereg-1-announcement", Procedure::Simple));
    assert_eq!(a.deregistered_on.to_string(), "2025-02-11");
    let e = run.refused("2025-02-12T10:00:00+08:00", Deregistration::publish_announcement);
    assert_eq!(e.code(), "wrong_stage");
    run.assert_replays();
}

#[test]
fn an_objection_during_the_notice_stops_the_simple_path_and_the_general_one_follows() {
    let c = demo_catalog();
    let mut run = Run::open("dereg-2", &entity(LVYE), &c, Procedure::Simple, ts("2025-03-03T09:00:00+08:00"));
    run.step("2025-03-03T09:10:00+08:00", Deregistration::publish_notice);

    // Bad objections change nothing.
    let bad_id = objection(ObjectorKind::Creditor, PartyIdKind::IdNumber, "371502198003123615");
    let e = run.refused("2025-03-10T10:00:00+08:00", |d, at| d.lodge_objection(&bad_id, at));
    assert_eq!(e.code(), "bad_party_id");
    assert!(e.to_string().contains("does not add up"), "{e}");
    let dept = objection(ObjectorKind::Department, PartyIdKind::IdNumber, "371502198003123614");
    let e = run.refused("2025-03-10T10:00:00+08:00", |d, at| d.lodge_objection(&dept, at));
    assert_eq!(e.code(), "department_needs_credit_code");
    let mut no_grounds = objection(ObjectorKind::Creditor, PartyIdKind::IdNumber, "371502198003123614");
    no_grounds.grounds = "  ".into();
    let e = run.refused("2025-03-10T10:00:00+08:00", |d, at| d.lodge_objection(&no_grounds, at));
    assert_eq!(e, DeregistrationError::Missing { field: "grounds of the objection" });
    let creditor = objection(ObjectorKind::Creditor, PartyIdKind::IdNumber, "371502198003123614");
    let e = run.refused("2025-03-24T00:00:00+08:00", |d, at| d.lodge_objection(&creditor, at));
    assert_eq!(e.code(), "objection_period_over");

    run.step("2025-03-10T10:00:00+08:00", |d, at| d.lodge_objection(&creditor, at));
    assert_eq!(run.d.stage, Stage::Stopped);
    let o = &run.d.objections[0];
    assert_eq!((o.id.as_str(), o.kind), ("dereg-2-objection-1", ObjectorKind::Creditor));
    assert!(matches!(&o.party_id, PartyId::IdNumber(i) if i.as_str() == "371502198003123614"));
    let stop = run.d.stopped.clone().unwrap();
    assert_eq!(stop.advice, Advice::UseGeneralProcedure);
    assert!(stop.advice.zh().contains("一般注销"));
    assert!(
        public_page([&run.d], ts("2025-03-11T10:00:00+08:00")).notices.is_empty(),
        "a stopped notice is off the page"
    );
    assert_eq!(run.refused("2025-03-24T10:00:00+08:00", Deregistration::close_notice).code(), "wrong_stage");
    let again = objection(ObjectorKind::InterestedParty, PartyIdKind::CreditCode, BAI);
    assert_eq!(run.refused("2025-03-11T10:00:00+08:00", |d, at| d.lodge_objection(&again, at)).code(), "wrong_stage");

    run.step("2025-03-12T10:00:00+08:00", |d, _| d.switch_to_general());
    assert_eq!((run.d.procedure, run.d.stage), (Procedure::General, Stage::AwaitingLiquidationGroup));
    run.step("2025-03-20T10:00:00+08:00", |d, at| d.file_liquidation_group(&group(), at));
    run.step("2025-03-21T10:00:00+08:00", Deregistration::publish_notice);
    let cn = run.d.creditor_notice.clone().unwrap();
    assert_eq!((cn.kind, cn.ends_on.to_string()), (NoticeKind::CreditorNotice, "2025-05-05".to_string()));
    let page = public_page([&run.d], ts("2025-04-01T10:00:00+08:00"));
    assert_eq!(page.notices[0].kind, NoticeKind::CreditorNotice);
    assert_eq!(page.notices[0].objection_target, None, "creditors declare claims, they do not object");
    run.step("2025-05-06T08:00:00+08:00", Deregistration::close_notice);
    assert_eq!(run.d.apply_by, None);
    run.step("2025-05-07T10:00:00+08:00", Deregistration::record_deregistered);
    run.step("2025-05-07T11:00:00+08:00", Deregistration::publish_announcement);
    assert_eq!(public_page([&run.d], ts("2025-05-08T00:00:00Z")).announcements[0].procedure, Procedure::General);
    run.assert_replays();
}

fn group() -> Vec<MemberDraft> {
    vec![
        MemberDraft {
            name: "白立新".into(),
            id_kind: PartyIdKind::IdNumber,
            id: "371502198003123614".into(),
            leader: true,
        },
        MemberDraft {
            name: "聊城某某律师事务所".into(),
            id_kind: PartyIdKind::CreditCode,
            id: "31370000MD123456X0".into(),
            leader: false,
        },
    ]
}

#[test]
fn the_story_company_must_take_the_general_path() {
    let c = demo_catalog();
    let bai = entity(BAI);
    let e = Deregistration::open("dereg-3", "case-3", &bai, &c, Procedure::Simple).err();
    assert_eq!(
        e,
        Some(DeregistrationError::ProcedureNotAllowed {
            procedure: Procedure::Simple,
            refusals: vec!["abnormal_operations_list"]
        })
    );
    assert!(e.unwrap().to_string().contains("abnormal_operations_list"));
    let e = Deregistration::open("dereg-3", "case-3", &entity(JIUCHENG), &c, Procedure::General).err();
    assert_eq!(e.map(|e| e.code()), Some("procedure_not_allowed"));
    assert_eq!(
        Deregistration::open(" ", "case-3", &bai, &c, Procedure::General).err().map(|e| e.code()),
        Some("missing_value")
    );

    let mut run = Run::open("dereg-3", &bai, &c, Procedure::General, ts("2025-06-02T09:00:00+08:00"));
    assert_eq!(run.d.stage, Stage::AwaitingLiquidationGroup);
    assert_eq!(run.d.precheck.added_item_codes(), ["food-business-permit-cancellation"]);
    assert_eq!(run.refused("2025-06-02T09:00:00+08:00", Deregistration::publish_notice).code(), "wrong_stage");
    assert_eq!(
        run.refused("2025-06-02T09:00:00+08:00", |d, at| d.file_liquidation_group(&[], at)).code(),
        "no_liquidation_members"
    );
    let mut two = group();
    two[1].leader = true;
    assert_eq!(
        run.refused("2025-06-02T09:00:00+08:00", |d, at| d.file_liquidation_group(&two, at)),
        DeregistrationError::LeaderCount { found: 2 }
    );
    let mut bad = group();
    bad[1].id = "31370000MD123456X1".into();
    let e = run.refused("2025-06-02T09:00:00+08:00", |d, at| d.file_liquidation_group(&bad, at));
    assert!(matches!(&e, DeregistrationError::BadPartyId { field, .. } if field == "member 2's id"), "{e:?}");

    run.step("2025-06-03T09:00:00+08:00", |d, at| d.file_liquidation_group(&group(), at));
    let g = run.d.liquidation_group.clone().unwrap();
    assert_eq!(g.leader().map(|m| m.name.as_str()), Some("白立新"));
    run.step("2025-06-05T09:00:00+08:00", Deregistration::publish_notice);
    assert_eq!(run.d.creditor_notice.as_ref().map(|n| n.ends_on.to_string()), Some("2025-07-20".into()));
    let claim = objection(ObjectorKind::Creditor, PartyIdKind::CreditCode, SHUNDA);
    assert_eq!(run.refused("2025-06-10T09:00:00+08:00", |d, at| d.lodge_objection(&claim, at)).code(), "wrong_stage");
    assert_eq!(run.refused("2025-07-20T23:00:00+08:00", Deregistration::close_notice).code(), "notice_running");
    run.step("2025-07-21T00:00:00+08:00", Deregistration::close_notice);
    assert_eq!(run.d.tasks_may_start_at, Some(ts("2025-07-21T00:00:00+08:00")));
    run.step("2025-07-22T10:00:00+08:00", Deregistration::record_deregistered);
    run.step("2025-07-22T10:05:00+08:00", Deregistration::publish_announcement);
    run.assert_replays();
}

#[test]
fn an_individual_business_has_a_departmental_window_instead_of_a_public_notice() {
    let c = demo_catalog();
    let li = entity(LI);
    let mut run = Run::open("dereg-4", &li, &c, Procedure::Simple, ts("2025-09-28T09:00:00+08:00"));
    assert_eq!(run.d.precheck.simple_notice, NoticeKind::DepartmentWindow);
    assert_eq!(run.d.precheck.added_item_codes(), ["food-business-permit-cancellation"]);
    run.step("2025-09-28T09:05:00+08:00", Deregistration::publish_notice);
    let w = run.d.notice.clone().unwrap();
    assert_eq!((w.kind, w.ends_on.to_string()), (NoticeKind::DepartmentWindow, "2025-10-08".to_string()));
    assert!(public_page([&run.d], ts("2025-10-01T10:00:00+08:00")).notices.is_empty(), "the window is not public");
    let creditor = objection(ObjectorKind::Creditor, PartyIdKind::IdNumber, "371502197506204825");
    assert_eq!(
        run.refused("2025-10-01T10:00:00+08:00", |d, at| d.lodge_objection(&creditor, at)),
        DeregistrationError::ObjectorNotAllowed { kind: ObjectorKind::Creditor }
    );
    run.step("2025-10-09T08:30:00+08:00", Deregistration::close_notice);
    assert_eq!(run.d.tasks_may_start_at, Some(ts("2025-10-09T00:00:00+08:00")));
    run.step("2025-10-09T09:00:00+08:00", Deregistration::record_deregistered);
    run.step("2025-10-09T09:30:00+08:00", Deregistration::publish_announcement);
    run.assert_replays();

    // A department's objection in the window stops the simple path.
    let mut run = Run::open("dereg-5", &li, &c, Procedure::Simple, ts("2025-09-28T09:00:00+08:00"));
    run.step("2025-09-28T09:05:00+08:00", Deregistration::publish_notice);
    let mut tax = objection(ObjectorKind::Department, PartyIdKind::CreditCode, TAX_BUREAU);
    tax.name = "国家税务总局聊城市东昌府区税务局".into();
    tax.grounds = "尚有未申报的增值税".into();
    run.step("2025-10-02T15:00:00+08:00", |d, at| d.lodge_objection(&tax, at));
    assert_eq!(run.d.stage, Stage::Stopped);
    assert!(matches!(&run.d.objections[0].party_id, PartyId::CreditCode(c) if c.as_str() == TAX_BUREAU));
    run.assert_replays();
}

#[test]
fn the_public_page_lists_notices_and_announcements_newest_first() {
    let c = demo_catalog();
    let mut a = Run::open("a", &entity(SHUNDA), &c, Procedure::Simple, ts("2025-01-02T09:00:00+08:00"));
    a.step("2025-01-02T09:00:00+08:00", Deregistration::publish_notice);
    let mut b = Run::open("b", &entity(BRANCH), &c, Procedure::Simple, ts("2025-01-05T09:00:00+08:00"));
    b.step("2025-01-05T09:00:00+08:00", Deregistration::publish_notice);
    let g = Run::open("g", &entity(BAI), &c, Procedure::General, ts("2025-01-05T09:00:00+08:00"));
    let page = public_page([&a.d, &b.d, &g.d], ts("2025-01-10T12:00:00+08:00"));
    let ids: Vec<&str> = page.notices.iter().map(|n| n.deregistration_id.as_str()).collect();
    assert_eq!(ids, ["b", "a"]);
    let json = serde_json::to_value(&page.notices[0]).unwrap();
    assert_eq!(json["kind"], "public_notice");
    assert_eq!(json["credit_code"], BRANCH);
    assert_eq!(json["ends_on"], "2025-01-25");
    assert_eq!(json["objection_target"], "b");
}

#[test]
fn events_are_tagged_and_a_history_must_open_first() {
    let c = demo_catalog();
    let ev = Deregistration::open("d", "case", &entity(SHUNDA), &c, Procedure::Simple).unwrap();
    let json = serde_json::to_value(&ev).unwrap();
    assert_eq!(json["type"], "opened");
    assert_eq!(json["entity"]["credit_code"], SHUNDA);
    assert_eq!(ev.kind(), "opened");
    assert_eq!(
        serde_json::to_value(DeregistrationEvent::SwitchedToGeneral).unwrap(),
        serde_json::json!({"type": "switched_to_general"})
    );
    assert_eq!(replay(&[]), Err(ReplayError::Empty));
    let e = replay(&[(DeregistrationEvent::SwitchedToGeneral, ts("2025-01-01T00:00:00Z"))]);
    assert_eq!(e, Err(ReplayError::NotOpenedFirst { found: "switched_to_general" }));
    assert_eq!(e.err().map(|e| e.code()), Some("not_opened_first"));
    // A credit code that does not add up cannot come back from the log.
    let mut bad = json.clone();
    bad["entity"]["credit_code"] = serde_json::json!("91371502MA3D2F8L9R");
    assert!(serde_json::from_value::<DeregistrationEvent>(bad).is_err());
}

/// Every cancellation item the demo catalogue names fits the `close-company` bundle under every answer: no
/// field conflict, in parallel, within the bundle's promise.
#[test]
fn every_cancellation_item_fits_the_close_company_bundle() {
    let c = demo_catalog();
    let extras: Vec<String> = c.licences.values().filter_map(|l| l.cancellation.clone()).collect();
    assert_eq!(extras.len(), 3);
    let bundle = c.bundle("close-company").unwrap();
    let promised = bundle.promised_limit;
    for procedure in ["simple", "general"] {
        for customs in ["yes", "no"] {
            for fund in ["yes", "no"] {
                let answers: BTreeMap<String, String> =
                    [("procedure", procedure), ("customs_filed", customs), ("housing_fund", fund)]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                let base = plan::compile(&c, "close-company", &answers).unwrap();
                let p = plan::compile_with_extra_items(&c, "close-company", &answers, &extras)
                    .unwrap_or_else(|e| panic!("{answers:?}: {e}"));
                assert_eq!(p.tasks.len(), base.tasks.len() + 2, "{answers:?}");
                assert_eq!(p.promised_limit, promised);
                assert!(p.critical_path_limit.nominal_minutes() <= promised.nominal_minutes());
            }
        }
    }
}
