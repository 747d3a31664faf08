//! People's mediation (人民调解): the hotline story from the call to the archived agreement, every refusal, the
//! agreement's effective date and the judicial-confirmation window, the one-month target, replay equality, and
//! random command sequences.

use jiff::Timestamp;
use jiff::civil::date;
use onething_core::calendar::WorkClock;
use onething_core::colour::{Colour, Thresholds};
use onething_core::mediation::{
    AgentInput, AgreementContent, AgreementForm, AuthorisationScope, ChosenBy, Committee, Dispute, IdType, Identity,
    Initiation, Mark, MediationCase, MediationCommand as M, MediationError, MediationEvent, MediationState as S,
    Mediator, OtherRoute, PartyInput, Performance, PerformanceStatus, RecordInput, RecordKind, Responsibility, Signer,
    Term, TerminationReason, confirmation_deadline,
};
use onething_core::workorder::{Actor, CategoryList, Satisfaction, Unit, WorkOrder, WorkOrderCommand as C};
use proptest::prelude::*;

use crate::workorder::{at, intake, show};

const SHA_ARCHIVE: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const SHA_PHOTO: &str = "60303AE22B998861BCE3B28F33EEC1BE758A213C86C93C076DBE9F558C11C752";
const SHA_LETTER: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

fn committee() -> Committee {
    Committee {
        code: "registration-dispute-committee".into(),
        name: "东昌府区涉企登记纠纷人民调解委员会".into(),
        credit_code: Some("11370800MB28559184".parse().unwrap()),
    }
}

fn person(id: &str, name: &str, number: &str) -> PartyInput {
    PartyInput {
        id: id.into(),
        name: name.into(),
        id_type: IdType::ResidentId,
        id_number: number.into(),
        id_kind: None,
        address: "聊城市东昌府区古楼街道".into(),
        contact: Some("138-0635-1234".into()),
        agent: None,
    }
}

/// The resident whose identity was used, and the company registered with it, represented by an agent with a
/// special authorisation.
fn parties() -> Vec<PartyInput> {
    let company = PartyInput {
        id: "p2".into(),
        name: "聊城市顺达商贸有限公司".into(),
        id_type: IdType::CreditCode,
        id_number: "91440300708461136T".into(),
        id_kind: None,
        address: "聊城市东昌府区花园路 8 号".into(),
        contact: Some("0635-8321234".into()),
        agent: Some(AgentInput {
            name: "李律师".into(),
            id_type: IdType::ResidentId,
            id_number: "110101199003074477".into(),
            id_kind: None,
            contact: Some("+86 139 0635 0000".into()),
            scope: AuthorisationScope::Special,
            authorisation_sha256: SHA_LETTER.into(),
        }),
    };
    vec![person("p1", "王芳", "11010519491231002X"), company]
}

fn dispute(facts: &str) -> Dispute {
    Dispute { kind: "company-registration-dispute".into(), facts: facts.into() }
}

fn mediator(id: &str) -> Mediator {
    Mediator { id: id.into(), name: format!("调解员{id}") }
}

fn content() -> AgreementContent {
    AgreementContent {
        number: "东调〔2025〕12号".into(),
        facts: "2024年5月，顺达公司使用王芳遗失的身份证将其登记为股东。".into(),
        issues: vec!["王芳是否为公司股东".into(), "股东登记的撤销".into()],
        responsibilities: vec![
            Responsibility { party: "p1".into(), text: "无责任".into() },
            Responsibility { party: "p2".into(), text: "未核实身份，负全部责任".into() },
        ],
        terms: vec![
            Term {
                text: "顺达公司向登记机关申请撤销王芳的股东登记".into(),
                performance: Some(Performance {
                    method: "提交变更登记申请".into(),
                    place: "东昌府区政务服务中心".into(),
                    deadline: date(2025, 4, 15),
                }),
            },
            Term {
                text: "顺达公司向王芳支付交通误工费 800 元".into(),
                performance: Some(Performance {
                    method: "银行转账".into(),
                    place: "聊城市".into(),
                    deadline: date(2025, 3, 31),
                }),
            },
        ],
    }
}

fn record(kind: RecordKind, held: &str, findings: &str) -> RecordInput {
    RecordInput {
        kind,
        held_at: at(held),
        place: "顺达公司经营场所".into(),
        mediator: "m1".into(),
        participants: vec!["调解员m1".into(), "王芳".into()],
        findings: findings.into(),
        attachments: vec![SHA_PHOTO.into()],
    }
}

struct Story {
    case: MediationCase,
    history: Vec<(MediationEvent, Timestamp)>,
}

impl Story {
    fn open(now: &str) -> Story {
        let now = at(now);
        let e = MediationCase::open(
            "md-1",
            &committee(),
            Initiation::Application { party: "p1".into() },
            &dispute("冒用身份证登记为股东"),
            &parties(),
            "clerk-1",
            now,
        )
        .unwrap();
        Story { case: MediationCase::from_registered(&e, now).unwrap(), history: vec![(e, now)] }
    }

    fn act(&mut self, command: M, now: &str) -> Result<MediationEvent, MediationError> {
        let before = self.case.clone();
        let result = self.case.act(&command, "clerk-1", at(now));
        match &result {
            Ok(e) => self.history.push((e.clone(), at(now))),
            Err(_) => assert_eq!(self.case, before, "a refused command changed the case"),
        }
        result
    }

    fn ok(&mut self, command: M, now: &str) -> &mut Story {
        if let Err(e) = self.act(command.clone(), now) {
            panic!("{command:?} at {now}: {e}");
        }
        self
    }

    fn refused(&mut self, command: M, now: &str) -> &'static str {
        match self.act(command.clone(), now) {
            Ok(e) => panic!("{command:?} should be refused, gave {e:?}"),
            Err(e) => e.code(),
        }
    }

    fn check_replay(&self) {
        let json = serde_json::to_string(&self.history).unwrap();
        let history: Vec<(MediationEvent, Timestamp)> = serde_json::from_str(&json).unwrap();
        assert_eq!(MediationCase::replay(&history).unwrap(), self.case);
        assert_eq!(self.case.version, self.history.len() as u64);
        let back: MediationCase = serde_json::from_str(&serde_json::to_string(&self.case).unwrap()).unwrap();
        assert_eq!(back, self.case);
    }

    /// Registered, mediator m1 assigned, both parties notified, one session held.
    fn in_mediation(now: &str) -> Story {
        let mut s = Story::open(now);
        s.ok(M::AssignMediator { mediator: mediator("m1"), chosen_by: ChosenBy::Committee }, now);
        s.ok(M::NotifyRights { party: "p1".into() }, now).ok(M::NotifyRights { party: "p2".into() }, now);
        s.ok(M::Record(record(RecordKind::Session, now, "双方陈述")), now);
        s
    }
}

fn sign(party: &str) -> M {
    M::Sign { signer: Signer::Party { party: party.into(), by_agent: false }, mark: Mark::Signature }
}

fn mediator_signs(id: &str) -> M {
    M::Sign { signer: Signer::Mediator { mediator: id.into() }, mark: Mark::Signature }
}

fn seal() -> M {
    M::Sign { signer: Signer::Committee, mark: Mark::Seal }
}

// ---------------------------------------------------------------------------------------------------------
// The story

#[test]
fn from_the_hotline_call_to_the_archived_agreement() {
    let clock = WorkClock::official();
    let centre = Actor::centre("op-7");
    let unit = Unit::Committee("registration-dispute-committee".into());
    let committee_user = Actor::new("c-1", unit.clone());
    // The call: someone registered a company with the caller's lost ID card.
    let cat = CategoryList::defaults().require("company-registration-dispute").unwrap().clone();
    let t0 = at("2025-03-03 09:00");
    let created =
        WorkOrder::open("wo-9", &intake("有人用我遗失的身份证把我登记成了公司股东"), &cat, &centre, t0).unwrap();
    let mut order = WorkOrder::from_created(&created, t0).unwrap();
    let mut order_history = vec![(created, t0)];
    let mut step = |order: &mut WorkOrder, cmd: C, by: &Actor, now: &str| {
        let e = order.act(&cmd, by, at(now), &clock).unwrap();
        order_history.push((e, at(now)));
    };
    step(&mut order, C::Dispatch { to: unit.clone() }, &centre, "2025-03-03 09:10");
    // Not signed for yet: no mediation case can come from it.
    let early =
        MediationCase::open_from_work_order("md-1", &order, &committee(), &parties(), "c-1", at("2025-03-03 09:20"));
    assert_eq!(early.unwrap_err().code(), "not_with_committee");
    step(&mut order, C::SignFor, &committee_user, "2025-03-03 09:30");
    step(&mut order, C::Start, &committee_user, "2025-03-03 09:40");

    // The committee registers the case from the order: the link and the facts are kept.
    let now = at("2025-03-03 10:00");
    let registered = MediationCase::open_from_work_order("md-1", &order, &committee(), &parties(), "c-1", now).unwrap();
    let mut s =
        Story { case: MediationCase::from_registered(&registered, now).unwrap(), history: vec![(registered, now)] };
    assert_eq!(s.case.source_work_order.as_deref(), Some("wo-9"));
    assert_eq!(s.case.facts, "有人用我遗失的身份证把我登记成了公司股东");
    assert_eq!(s.case.initiation, Initiation::Referral);
    assert_eq!(s.case.dispute_type, "company-registration-dispute");
    assert_eq!(s.case.fee(), 0);
    assert_eq!(show(Some(s.case.target_at)), "2025-04-03 10:00", "one calendar month");
    assert!(matches!(s.case.parties[1].identity, Identity::CreditCode { .. }));
    assert_eq!(s.case.parties[1].contact.as_ref().unwrap().as_str(), "06358321234");
    assert_eq!(s.case.parties[1].agent.as_ref().unwrap().authorisation.as_str(), SHA_LETTER);

    // The company's registration archive is pulled, a mediator is assigned and goes to the site.
    s.ok(M::AssignMediator { mediator: mediator("m1"), chosen_by: ChosenBy::Committee }, "2025-03-03 10:30");
    let mut archive = record(RecordKind::Investigation, "2025-03-03 14:00", "登记档案中王芳的签名与本人笔迹明显不符");
    archive.place = "区市场监管局登记档案室".into();
    archive.attachments = vec![SHA_ARCHIVE.into()];
    s.ok(M::Record(archive), "2025-03-03 15:00");
    s.ok(
        M::Record(record(RecordKind::Investigation, "2025-03-04 10:00", "公司实际经营者为张某，王芳从未参与经营")),
        "2025-03-04 11:00",
    );
    assert_eq!(s.case.state, S::Registered, "investigations do not begin the mediation");
    // Rights first, then the session.
    assert_eq!(
        s.refused(M::Record(record(RecordKind::Session, "2025-03-05 09:00", "x")), "2025-03-05 11:00"),
        "rights_not_notified"
    );
    s.ok(M::NotifyRights { party: "p1".into() }, "2025-03-05 09:00");
    s.ok(M::NotifyRights { party: "p2".into() }, "2025-03-05 09:00");
    s.ok(M::Record(record(RecordKind::Session, "2025-03-05 09:30", "双方同意撤销股东登记并补偿")), "2025-03-05 11:00");
    assert_eq!(s.case.state, S::InMediation);
    assert_eq!(s.case.records[2].attachments[0].as_str(), SHA_PHOTO.to_lowercase());

    // The agreement, then the marks over two days: effective at the last one, the committee's seal.
    s.ok(M::DraftAgreement(content()), "2025-03-05 11:30");
    assert_eq!(s.case.state, S::AwaitingSignatures);
    s.ok(sign("p1"), "2025-03-05 11:40");
    s.ok(
        M::Sign { signer: Signer::Party { party: "p2".into(), by_agent: true }, mark: Mark::Seal },
        "2025-03-05 11:45",
    );
    s.ok(mediator_signs("m1"), "2025-03-05 11:50");
    assert_eq!(s.case.state, S::AwaitingSignatures);
    assert_eq!(s.case.agreement.as_ref().unwrap().missing(), [Signer::Committee]);
    assert_eq!(s.case.effective_date(), None);
    assert_eq!(s.case.judicial_confirmation_deadline(), None);
    s.ok(seal(), "2025-03-06 09:00");
    assert_eq!(s.case.state, S::Effective);
    assert_eq!(s.case.agreement.as_ref().unwrap().effective_at, Some(at("2025-03-06 09:00")));
    assert_eq!(s.case.effective_date(), Some(date(2025, 3, 6)));
    assert_eq!(s.case.judicial_confirmation_deadline().unwrap(), date(2025, 4, 5));
    assert_eq!(s.case.target_colour(&clock, at("2025-03-06 10:00"), &Thresholds::default()), None);

    // One copy each, performance followed up, confirmation applied for jointly, archived.
    assert_eq!(s.refused(M::Archive, "2025-03-06 10:00"), "copies_not_delivered");
    s.ok(M::DeliverCopy { party: "p1".into() }, "2025-03-06 10:00")
        .ok(M::DeliverCopy { party: "p2".into() }, "2025-03-06 10:00");
    s.ok(
        M::FollowUp {
            performance: PerformanceStatus::PartlyPerformed, note: "补偿已支付，撤销登记办理中".into()
        },
        "2025-04-01 10:00",
    );
    s.ok(
        M::ApplyForConfirmation {
            court: "聊城市东昌府区人民法院".into(), applicants: vec!["p1".into(), "p2".into()]
        },
        "2025-04-02 10:00",
    );
    assert_eq!(s.case.confirmation.as_ref().unwrap().deadline, date(2025, 4, 5));
    s.ok(M::RecordRuling { confirmed: true, note: "裁定调解协议有效".into() }, "2025-04-10 10:00");
    s.ok(M::FollowUp { performance: PerformanceStatus::Performed, note: "已全部履行".into() }, "2025-04-16 10:00");
    s.ok(M::Archive, "2025-04-16 11:00");
    assert_eq!(s.case.state, S::Archived);
    s.check_replay();

    // Back on the hotline: the committee replies, the caller is satisfied, the order closes.
    step(&mut order, C::Reply { answer: "经调解达成协议，股东登记将撤销".into() }, &committee_user, "2025-03-06 10:00");
    step(
        &mut order,
        C::Callback { satisfaction: Satisfaction::Satisfied, note: String::new() },
        &centre,
        "2025-03-07 10:00",
    );
    assert_eq!(order.open311_status(), "closed");
    assert_eq!(WorkOrder::replay(&order_history).unwrap(), order);
}

#[test]
fn a_work_order_of_another_category_is_not_for_mediation() {
    let clock = WorkClock::official();
    let centre = Actor::centre("op-7");
    let cat = CategoryList::defaults().require("complaint").unwrap().clone();
    let t = at("2025-03-03 09:00");
    let mut order =
        WorkOrder::from_created(&WorkOrder::open("wo-1", &intake("x"), &cat, &centre, t).unwrap(), t).unwrap();
    order.act(&C::Dispatch { to: Unit::Department("market-regulation".into()) }, &centre, t, &clock).unwrap();
    let e = MediationCase::open_from_work_order("md-1", &order, &committee(), &parties(), "c-1", t).unwrap_err();
    assert_eq!(e.code(), "not_for_mediation");
}

// ---------------------------------------------------------------------------------------------------------
// Registration

#[test]
fn registration_checks_the_parties() {
    let now = at("2025-03-03 09:00");
    let open = |parties: Vec<PartyInput>, initiation: Initiation, facts: &str| {
        MediationCase::open("md-1", &committee(), initiation, &dispute(facts), &parties, "c-1", now)
            .map_err(|e| e.code())
    };
    let app = || Initiation::Application { party: "p1".into() };
    assert!(open(parties(), app(), "x").is_ok());
    assert_eq!(open(parties()[..1].to_vec(), app(), "x").unwrap_err(), "too_few_parties");
    assert_eq!(open(vec![parties()[0].clone(), parties()[0].clone()], app(), "x").unwrap_err(), "duplicate_party");
    assert_eq!(open(parties(), Initiation::Application { party: "p9".into() }, "x").unwrap_err(), "unknown_party");
    assert_eq!(open(parties(), app(), "  ").unwrap_err(), "empty_text");
    let mut bad = parties();
    bad[0].id_number = "310104198001011238".into(); // check character wrong
    let identity_error = |parties: &[PartyInput]| match MediationCase::open(
        "md-1",
        &committee(),
        app(),
        &dispute("x"),
        parties,
        "c-1",
        now,
    )
    .unwrap_err()
    {
        MediationError::BadIdentity { party, error } => format!("{party}: {}", error.code()),
        other => panic!("{other}"),
    };
    assert_eq!(identity_error(&bad), "p1: check_character_mismatch");
    let mut future = parties();
    future[0].id_number = "110101203001010014".into();
    assert_eq!(identity_error(&future), "p1: future_birth_date", "born in 2030");
    let mut company = parties();
    company[1].id_number = "91350203M0001QAY9B".into();
    assert_eq!(open(company, app(), "x").unwrap_err(), "bad_identity");
    let mut phone = parties();
    phone[0].contact = Some("12345".into());
    assert_eq!(open(phone, app(), "x").unwrap_err(), "bad_contact");
    let mut letter = parties();
    letter[1].agent.as_mut().unwrap().authorisation_sha256 = "abc".into();
    assert_eq!(open(letter, app(), "x").unwrap_err(), "bad_attachment");
    let mut passport = parties();
    passport[0].id_type = IdType::Passport;
    passport[0].id_number = "E12345678".into();
    assert!(open(passport.clone(), app(), "x").is_ok());
    passport[0].id_type = IdType::Other;
    assert_eq!(identity_error(&passport), "p1: missing_kind", "an Other document is named");
    passport[0].id_kind = Some("港澳居民来往内地通行证".into());
    assert!(open(passport, app(), "x").is_ok());
    let mut no_address = parties();
    no_address[0].address = " ".into();
    assert_eq!(open(no_address, app(), "x").unwrap_err(), "empty_text");
    assert!(open(parties(), Initiation::OwnInitiative, "x").is_ok());
}

#[test]
fn a_party_who_clearly_refuses_means_no_mediation() {
    let mut s = Story::open("2025-03-03 09:00");
    assert_eq!(s.refused(M::Decline { party: "p9".into(), reason: "x".into() }, "2025-03-03 10:00"), "unknown_party");
    assert_eq!(s.refused(M::Decline { party: "p2".into(), reason: " ".into() }, "2025-03-03 10:00"), "empty_text");
    s.ok(M::Decline { party: "p2".into(), reason: "公司明确拒绝调解".into() }, "2025-03-03 10:00");
    assert_eq!(s.case.state, S::Declined);
    assert_eq!(s.case.refusal.as_ref().unwrap().party, "p2");
    for cmd in [
        M::AssignMediator { mediator: mediator("m1"), chosen_by: ChosenBy::Committee },
        M::NotifyRights { party: "p1".into() },
        M::Record(record(RecordKind::Session, "2025-03-03 10:00", "x")),
        M::DraftAgreement(content()),
        M::Terminate { reason: TerminationReason::Failed, advice: vec![OtherRoute::Litigation], note: String::new() },
    ] {
        assert_eq!(s.refused(cmd, "2025-03-03 11:00"), "illegal_transition");
    }
    s.ok(M::Archive, "2025-03-03 11:00");
    s.check_replay();
    // Once mediation has begun a refusal is a termination instead.
    let mut m = Story::in_mediation("2025-03-03 09:00");
    assert_eq!(
        m.refused(M::Decline { party: "p2".into(), reason: "x".into() }, "2025-03-03 10:00"),
        "illegal_transition"
    );
    let withdrew = TerminationReason::PartyWithdrew { party: "p2".into() };
    assert_eq!(
        m.refused(M::Terminate { reason: withdrew.clone(), advice: vec![], note: String::new() }, "2025-03-03 10:00"),
        "no_advice"
    );
    let stranger = TerminationReason::PartyWithdrew { party: "p7".into() };
    assert_eq!(
        m.refused(
            M::Terminate { reason: stranger, advice: vec![OtherRoute::Litigation], note: String::new() },
            "2025-03-03 10:00"
        ),
        "unknown_party"
    );
    m.ok(
        M::Terminate {
            reason: withdrew,
            advice: vec![OtherRoute::Administrative, OtherRoute::Litigation],
            note: "公司要求终止调解".into(),
        },
        "2025-03-03 10:00",
    );
    assert_eq!(m.case.state, S::Terminated);
    assert_eq!(m.case.termination.as_ref().unwrap().advice, [OtherRoute::Administrative, OtherRoute::Litigation]);
    m.ok(M::Archive, "2025-03-03 11:00");
    m.check_replay();
}

// ---------------------------------------------------------------------------------------------------------
// Mediators, recusal, notices, records

#[test]
fn a_recused_mediator_leaves_and_cannot_come_back() {
    let mut s = Story::open("2025-03-03 09:00");
    assert_eq!(
        s.refused(
            M::RequestRecusal { party: "p2".into(), mediator: "m1".into(), reason: "x".into() },
            "2025-03-03 09:10"
        ),
        "not_a_mediator"
    );
    s.ok(M::AssignMediator { mediator: mediator("m1"), chosen_by: ChosenBy::Parties }, "2025-03-03 09:10");
    assert_eq!(
        s.refused(M::AssignMediator { mediator: mediator("m1"), chosen_by: ChosenBy::Committee }, "2025-03-03 09:11"),
        "already_assigned"
    );
    assert_eq!(
        s.refused(
            M::AssignMediator {
                mediator: Mediator { id: "m2".into(), name: " ".into() },
                chosen_by: ChosenBy::Committee
            },
            "2025-03-03 09:11"
        ),
        "empty_text"
    );
    s.ok(M::NotifyRights { party: "p1".into() }, "2025-03-03 09:20")
        .ok(M::NotifyRights { party: "p2".into() }, "2025-03-03 09:20");
    assert_eq!(s.refused(M::NotifyRights { party: "p1".into() }, "2025-03-03 09:21"), "already_notified");
    assert_eq!(s.refused(M::NotifyRights { party: "p5".into() }, "2025-03-03 09:21"), "unknown_party");
    assert_eq!(
        s.refused(M::DecideRecusal { granted: true, note: String::new() }, "2025-03-03 09:25"),
        "no_recusal_pending"
    );
    s.ok(
        M::RequestRecusal { party: "p2".into(), mediator: "m1".into(), reason: "调解员与王芳系亲属".into() },
        "2025-03-03 09:30",
    );
    assert_eq!(
        s.refused(
            M::RequestRecusal { party: "p1".into(), mediator: "m1".into(), reason: "y".into() },
            "2025-03-03 09:31"
        ),
        "recusal_pending"
    );
    assert_eq!(
        s.refused(M::Record(record(RecordKind::Session, "2025-03-03 09:35", "x")), "2025-03-03 09:40"),
        "recusal_pending"
    );
    s.ok(M::DecideRecusal { granted: true, note: "理由成立".into() }, "2025-03-03 10:00");
    assert_eq!(s.case.current_mediators().count(), 0);
    assert_eq!(
        s.refused(M::Record(record(RecordKind::Investigation, "2025-03-03 10:05", "x")), "2025-03-03 10:10"),
        "not_a_mediator"
    );
    assert_eq!(
        s.refused(M::AssignMediator { mediator: mediator("m1"), chosen_by: ChosenBy::Committee }, "2025-03-03 10:10"),
        "recused_mediator"
    );
    s.ok(M::AssignMediator { mediator: mediator("m2"), chosen_by: ChosenBy::Committee }, "2025-03-03 10:10");
    // A denied request keeps the mediator.
    s.ok(M::RequestRecusal { party: "p2".into(), mediator: "m2".into(), reason: "不信任".into() }, "2025-03-03 10:20");
    s.ok(M::DecideRecusal { granted: false, note: "理由不成立".into() }, "2025-03-03 10:30");
    assert_eq!(s.case.current_mediators().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["m2"]);
    let mut session = record(RecordKind::Session, "2025-03-03 10:40", "调解");
    session.mediator = "m2".into();
    s.ok(M::Record(session), "2025-03-03 11:00");
    assert_eq!(s.case.state, S::InMediation);
    s.check_replay();
}

#[test]
fn records_are_checked() {
    let mut s = Story::open("2025-03-03 09:00");
    s.ok(M::AssignMediator { mediator: mediator("m1"), chosen_by: ChosenBy::Committee }, "2025-03-03 09:10");
    let with = |f: &dyn Fn(&mut RecordInput)| {
        let mut r = record(RecordKind::Investigation, "2025-03-03 10:00", "发现");
        f(&mut r);
        M::Record(r)
    };
    assert_eq!(s.refused(with(&|r| r.held_at = at("2025-03-03 08:00")), "2025-03-03 11:00"), "bad_record_time");
    assert_eq!(s.refused(with(&|r| r.held_at = at("2025-03-03 12:00")), "2025-03-03 11:00"), "bad_record_time");
    assert_eq!(s.refused(with(&|r| r.findings = " ".into()), "2025-03-03 11:00"), "empty_text");
    assert_eq!(s.refused(with(&|r| r.place = String::new()), "2025-03-03 11:00"), "empty_text");
    assert_eq!(s.refused(with(&|r| r.attachments = vec!["xyz".into()]), "2025-03-03 11:00"), "bad_attachment");
    assert_eq!(s.refused(with(&|r| r.mediator = "m9".into()), "2025-03-03 11:00"), "not_a_mediator");
    s.ok(with(&|_| {}), "2025-03-03 11:00");
    assert_eq!(s.case.records.len(), 1);
    assert_eq!(s.refused(M::DraftAgreement(content()), "2025-03-03 11:10"), "illegal_transition");
}

// ---------------------------------------------------------------------------------------------------------
// The agreement

#[test]
fn the_agreement_states_what_section_29_requires() {
    let mut s = Story::in_mediation("2025-03-05 09:00");
    let with = |f: &dyn Fn(&mut AgreementContent)| {
        let mut c = content();
        f(&mut c);
        M::DraftAgreement(c)
    };
    let refused = |s: &mut Story, cmd: M| match s.act(cmd, "2025-03-05 10:00").unwrap_err() {
        MediationError::IncompleteAgreement(what) => what,
        other => panic!("{other}"),
    };
    assert_eq!(refused(&mut s, with(&|c| c.number = " ".into())), "the number");
    assert_eq!(refused(&mut s, with(&|c| c.facts = String::new())), "the main facts of the dispute");
    assert_eq!(refused(&mut s, with(&|c| c.issues.clear())), "the disputed issues");
    assert_eq!(refused(&mut s, with(&|c| c.responsibilities.truncate(1))), "the responsibility of party p2");
    assert_eq!(refused(&mut s, with(&|c| c.terms.clear())), "the agreed terms");
    assert_eq!(refused(&mut s, with(&|c| c.terms[1].performance = None)), "the performance of term 2");
    assert_eq!(
        refused(&mut s, with(&|c| c.terms[0].performance.as_mut().unwrap().place = " ".into())),
        "the performance place of term 1"
    );
    assert_eq!(
        refused(&mut s, with(&|c| c.terms[0].performance.as_mut().unwrap().method = String::new())),
        "the performance method of term 1"
    );
    assert_eq!(refused(&mut s, with(&|c| c.terms[0].text = String::new())), "the text of term 1");
    let stranger = with(&|c| c.responsibilities.push(Responsibility { party: "p8".into(), text: "x".into() }));
    assert_eq!(s.refused(stranger, "2025-03-05 10:00"), "unknown_party");
    s.ok(M::DraftAgreement(content()), "2025-03-05 10:00");
    let a = s.case.agreement.as_ref().unwrap();
    assert_eq!(a.form, AgreementForm::Written);
    assert_eq!(a.parties.len(), 2, "the parties' basic facts are in the agreement");
    assert_eq!(a.mediators, [mediator("m1")]);
    assert_eq!(a.required().len(), 4);
    // No more records or mediators once the text is fixed.
    assert_eq!(
        s.refused(M::AssignMediator { mediator: mediator("m3"), chosen_by: ChosenBy::Committee }, "2025-03-05 10:10"),
        "illegal_transition"
    );
    assert_eq!(s.refused(M::DraftAgreement(content()), "2025-03-05 10:10"), "illegal_transition");
    s.check_replay();
}

#[test]
fn the_agreement_takes_effect_at_its_last_mark_in_any_order() {
    let mut s = Story::in_mediation("2025-01-27 09:00");
    s.ok(M::DraftAgreement(content()), "2025-01-27 10:00");
    // The seal first, the parties last, across the Spring Festival: effective when the last party marks.
    s.ok(seal(), "2025-01-27 10:05");
    s.ok(mediator_signs("m1"), "2025-01-27 10:10");
    s.ok(
        M::Sign { signer: Signer::Party { party: "p1".into(), by_agent: false }, mark: Mark::Fingerprint },
        "2025-01-27 10:15",
    );
    assert_eq!(s.case.state, S::AwaitingSignatures);
    s.ok(
        M::Sign { signer: Signer::Party { party: "p2".into(), by_agent: false }, mark: Mark::Seal },
        "2025-01-31 16:00",
    );
    assert_eq!(s.case.state, S::Effective);
    assert_eq!(s.case.effective_date(), Some(date(2025, 1, 31)));
    // 30 calendar days, holidays and month ends included: 2025-01-31 + 30 = 2025-03-02.
    assert_eq!(s.case.judicial_confirmation_deadline().unwrap(), date(2025, 3, 2));
    let marks: Vec<Mark> = s.case.agreement.as_ref().unwrap().signatures.iter().map(|x| x.mark).collect();
    assert_eq!(marks, [Mark::Seal, Mark::Signature, Mark::Fingerprint, Mark::Seal]);
    s.check_replay();
    assert_eq!(confirmation_deadline(date(2026, 2, 10)).unwrap(), date(2026, 3, 12));
    assert_eq!(confirmation_deadline(date(2024, 2, 1)).unwrap(), date(2024, 3, 2), "a leap February");
}

#[test]
fn marks_follow_the_rules() {
    let mut s = Story::in_mediation("2025-03-05 09:00");
    assert_eq!(s.refused(sign("p1"), "2025-03-05 09:30"), "illegal_transition");
    s.ok(M::DraftAgreement(content()), "2025-03-05 10:00");
    // p1 has no agent at all; p2's agent has a special authorisation.
    assert_eq!(
        s.refused(
            M::Sign { signer: Signer::Party { party: "p1".into(), by_agent: true }, mark: Mark::Signature },
            "2025-03-05 10:01"
        ),
        "agent_not_authorised"
    );
    assert_eq!(s.refused(sign("p3"), "2025-03-05 10:01"), "unknown_party");
    assert_eq!(
        s.refused(
            M::Sign { signer: Signer::Mediator { mediator: "m1".into() }, mark: Mark::Fingerprint },
            "2025-03-05 10:01"
        ),
        "wrong_mark"
    );
    assert_eq!(
        s.refused(M::Sign { signer: Signer::Committee, mark: Mark::Signature }, "2025-03-05 10:01"),
        "wrong_mark"
    );
    assert_eq!(s.refused(mediator_signs("m2"), "2025-03-05 10:01"), "not_a_mediator");
    s.ok(sign("p1"), "2025-03-05 10:02");
    assert_eq!(
        s.refused(
            M::Sign { signer: Signer::Party { party: "p1".into(), by_agent: false }, mark: Mark::Fingerprint },
            "2025-03-05 10:03"
        ),
        "already_signed"
    );
    s.ok(
        M::Sign { signer: Signer::Party { party: "p2".into(), by_agent: true }, mark: Mark::Signature },
        "2025-03-05 10:04",
    );
    assert_eq!(
        s.refused(
            M::Sign { signer: Signer::Party { party: "p2".into(), by_agent: false }, mark: Mark::Seal },
            "2025-03-05 10:05"
        ),
        "already_signed",
        "a party marks once, itself or by its agent"
    );
    s.check_replay();
}

#[test]
fn a_general_authorisation_does_not_let_the_agent_sign() {
    let now = at("2025-03-03 09:00");
    let mut ps = parties();
    ps[1].agent.as_mut().unwrap().scope = AuthorisationScope::General;
    let e =
        MediationCase::open("md-2", &committee(), Initiation::OwnInitiative, &dispute("x"), &ps, "c-1", now).unwrap();
    let mut s = Story { case: MediationCase::from_registered(&e, now).unwrap(), history: vec![(e, now)] };
    s.ok(M::AssignMediator { mediator: mediator("m1"), chosen_by: ChosenBy::Committee }, "2025-03-03 09:00");
    s.ok(M::NotifyRights { party: "p1".into() }, "2025-03-03 09:00")
        .ok(M::NotifyRights { party: "p2".into() }, "2025-03-03 09:00");
    s.ok(M::Record(record(RecordKind::Session, "2025-03-03 09:30", "x")), "2025-03-03 10:00");
    s.ok(M::DraftAgreement(content()), "2025-03-03 10:00");
    assert_eq!(
        s.refused(
            M::Sign { signer: Signer::Party { party: "p2".into(), by_agent: true }, mark: Mark::Seal },
            "2025-03-03 10:01"
        ),
        "agent_not_authorised"
    );
}

#[test]
fn an_oral_agreement_is_in_effect_the_day_it_is_reached() {
    let mut s = Story::in_mediation("2025-03-05 09:00");
    let mut oral = content();
    oral.terms = vec![Term { text: "当场退还身份证复印件".into(), performance: None }];
    s.ok(M::RecordOralAgreement(oral), "2025-03-05 15:20");
    assert_eq!(s.case.state, S::Effective);
    assert_eq!(s.case.agreement.as_ref().unwrap().form, AgreementForm::Oral);
    assert_eq!(s.case.effective_date(), Some(date(2025, 3, 5)));
    assert_eq!(s.case.judicial_confirmation_deadline().unwrap(), date(2025, 4, 4));
    assert_eq!(s.refused(M::DeliverCopy { party: "p1".into() }, "2025-03-05 15:30"), "oral_agreement");
    assert_eq!(s.refused(sign("p1"), "2025-03-05 15:30"), "illegal_transition");
    s.ok(M::FollowUp { performance: PerformanceStatus::Performed, note: String::new() }, "2025-03-12 10:00");
    s.ok(M::Archive, "2025-03-12 11:00");
    s.check_replay();
}

// ---------------------------------------------------------------------------------------------------------
// Judicial confirmation, the target, the fee

#[test]
fn judicial_confirmation_is_joint_and_within_thirty_days() {
    let mut s = Story::in_mediation("2025-03-05 09:00");
    assert_eq!(
        s.refused(
            M::ApplyForConfirmation { court: "法院".into(), applicants: vec!["p1".into(), "p2".into()] },
            "2025-03-05 10:00"
        ),
        "illegal_transition"
    );
    s.ok(M::DraftAgreement(content()), "2025-03-05 10:00");
    for cmd in [sign("p1"), sign("p2"), mediator_signs("m1"), seal()] {
        s.ok(cmd, "2025-03-05 10:30");
    }
    assert_eq!(s.case.judicial_confirmation_deadline().unwrap(), date(2025, 4, 4));
    assert_eq!(
        s.refused(M::RecordRuling { confirmed: true, note: String::new() }, "2025-03-06 10:00"),
        "no_confirmation_pending"
    );
    assert_eq!(
        s.refused(M::ApplyForConfirmation { court: "法院".into(), applicants: vec!["p1".into()] }, "2025-03-06 10:00"),
        "joint_application_required"
    );
    assert_eq!(
        s.refused(
            M::ApplyForConfirmation { court: "法院".into(), applicants: vec!["p1".into(), "p4".into()] },
            "2025-03-06 10:00"
        ),
        "unknown_party"
    );
    assert_eq!(
        s.refused(
            M::ApplyForConfirmation { court: " ".into(), applicants: vec!["p1".into(), "p2".into()] },
            "2025-03-06 10:00"
        ),
        "empty_text"
    );
    let mut late = Story { case: s.case.clone(), history: s.history.clone() };
    let both = || vec!["p2".to_string(), "p1".to_string()];
    assert_eq!(
        late.refused(M::ApplyForConfirmation { court: "法院".into(), applicants: both() }, "2025-04-05 00:00"),
        "confirmation_window_closed"
    );
    // The last day is still in time.
    s.ok(M::ApplyForConfirmation { court: "东昌府区人民法院".into(), applicants: both() }, "2025-04-04 23:59");
    assert_eq!(
        s.refused(M::ApplyForConfirmation { court: "法院".into(), applicants: both() }, "2025-04-04 23:59"),
        "already_applied"
    );
    s.ok(M::RecordRuling { confirmed: false, note: "协议内容违反法律规定".into() }, "2025-04-10 10:00");
    assert_eq!(s.case.confirmation.as_ref().unwrap().confirmed, Some(false));
    assert_eq!(
        s.refused(M::RecordRuling { confirmed: true, note: String::new() }, "2025-04-11 10:00"),
        "no_confirmation_pending"
    );
    s.check_replay();
}

#[test]
fn the_one_month_target_moves_only_with_every_party_s_consent() {
    let clock = WorkClock::official();
    let t = Thresholds::default();
    let mut s = Story::open("2025-01-31 10:00");
    assert_eq!(show(Some(s.case.target_at)), "2025-02-28 10:00", "a 31st runs to the end of February");
    let colour = |s: &Story, now: &str| s.case.target_colour(&clock, at(now), &t).unwrap();
    assert_eq!(colour(&s, "2025-02-01 10:00"), Colour::Green);
    assert_eq!(colour(&s, "2025-02-14 10:00"), Colour::Blue, "half of 28 days");
    assert_eq!(colour(&s, "2025-02-23 09:36"), Colour::Yellow, "80 % of 28 days");
    assert_eq!(colour(&s, "2025-02-28 10:01"), Colour::Red);
    let until = at("2025-03-31 10:00");
    assert_eq!(
        s.refused(M::ExtendTarget { until, consents: vec!["p1".into()] }, "2025-02-20 10:00"),
        "consent_missing"
    );
    assert_eq!(
        s.refused(M::ExtendTarget { until, consents: vec!["p1".into(), "p3".into()] }, "2025-02-20 10:00"),
        "unknown_party"
    );
    assert_eq!(
        s.refused(
            M::ExtendTarget { until: at("2025-02-27 10:00"), consents: vec!["p1".into(), "p2".into()] },
            "2025-02-20 10:00"
        ),
        "target_not_later"
    );
    s.ok(M::ExtendTarget { until, consents: vec!["p2".into(), "p1".into(), "p1".into()] }, "2025-02-20 10:00");
    assert_eq!(s.case.target_at, until);
    assert_eq!(s.case.target_extensions[0].consents, ["p1", "p2"]);
    // 59 days now: 28 of them used is under half.
    assert_eq!(colour(&s, "2025-02-28 10:01"), Colour::Green);
    assert_eq!(colour(&s, "2025-03-01 22:00"), Colour::Blue);
    s.check_replay();
}

#[test]
fn mediation_is_free() {
    let s = Story::open("2025-03-03 09:00");
    let mut json = serde_json::to_value(&s.case).unwrap();
    assert_eq!(json["fee"], 0);
    json["fee"] = serde_json::json!(50);
    let e = serde_json::from_value::<MediationCase>(json).unwrap_err();
    assert!(e.to_string().contains("free"), "{e}");
}

#[test]
fn replay_refuses_impossible_histories() {
    let mut s = Story::in_mediation("2025-03-05 09:00");
    s.ok(M::DraftAgreement(content()), "2025-03-05 10:00");
    for cmd in [sign("p1"), sign("p2"), mediator_signs("m1")] {
        s.ok(cmd, "2025-03-05 10:30");
    }
    let mut forged = s.history.clone();
    // A seal claiming another effective time than its marks imply.
    forged.push((
        MediationEvent::Signed { signer: Signer::Committee, mark: Mark::Seal, effective_at: None, by: "x".into() },
        at("2025-03-05 11:00"),
    ));
    assert_eq!(MediationCase::replay(&forged).unwrap_err().code(), "event_not_applicable");
    let mut good = s.history.clone();
    good.push((
        MediationEvent::Signed {
            signer: Signer::Committee,
            mark: Mark::Seal,
            effective_at: Some(at("2025-03-05 11:00")),
            by: "x".into(),
        },
        at("2025-03-05 11:00"),
    ));
    assert_eq!(MediationCase::replay(&good).unwrap().state, S::Effective);
    assert_eq!(MediationCase::replay(&[]).unwrap_err().code(), "empty_history");
    assert_eq!(MediationCase::replay(&s.history[1..]).unwrap_err().code(), "not_created");
    let twice = vec![s.history[0].clone(), s.history[0].clone()];
    assert_eq!(MediationCase::replay(&twice).unwrap_err().code(), "created_twice");
    let archive_early =
        vec![s.history[0].clone(), (MediationEvent::Archived { by: "x".into() }, at("2025-03-05 09:00"))];
    assert_eq!(MediationCase::replay(&archive_early).unwrap_err().code(), "event_not_applicable");
    let back = vec![s.history[0].clone(), (s.history[1].0.clone(), at("2025-03-01 09:00"))];
    assert_eq!(MediationCase::replay(&back).unwrap_err().code(), "out_of_order");
    let json = serde_json::to_value(&s.history[1].0).unwrap();
    assert_eq!(json["type"], "mediator_assigned");
}

// ---------------------------------------------------------------------------------------------------------
// Random command sequences

fn command() -> impl Strategy<Value = M> {
    let party = prop::sample::select(vec!["p1".to_string(), "p2".to_string()]);
    let mediator_id = prop::sample::select(vec!["m1".to_string(), "m2".to_string()]);
    prop_oneof![
        1 => party.clone().prop_map(|party| M::Decline { party, reason: "拒绝".into() }),
        4 => mediator_id.clone().prop_map(|id| M::AssignMediator { mediator: mediator(&id), chosen_by: ChosenBy::Committee }),
        1 => (party.clone(), mediator_id.clone())
            .prop_map(|(party, mediator)| M::RequestRecusal { party, mediator, reason: "回避".into() }),
        2 => any::<bool>().prop_map(|granted| M::DecideRecusal { granted, note: String::new() }),
        4 => party.clone().prop_map(|party| M::NotifyRights { party }),
        5 => (mediator_id.clone(), any::<bool>()).prop_map(|(m, session)| {
            let kind = if session { RecordKind::Session } else { RecordKind::Investigation };
            M::Record(RecordInput { mediator: m, held_at: at("2025-03-03 09:00"), ..record(kind, "2025-03-03 09:00", "x") })
        }),
        4 => Just(M::DraftAgreement(content())),
        6 => (party.clone(), any::<bool>())
            .prop_map(|(party, by_agent)| M::Sign { signer: Signer::Party { party, by_agent }, mark: Mark::Fingerprint }),
        4 => mediator_id.prop_map(|mediator| M::Sign { signer: Signer::Mediator { mediator }, mark: Mark::Signature }),
        3 => Just(seal()),
        1 => Just(M::RecordOralAgreement(content())),
        1 => Just(M::Terminate { reason: TerminationReason::Failed, advice: vec![OtherRoute::Litigation], note: String::new() }),
        1 => Just(M::ExtendTarget { until: at("2025-06-30 10:00"), consents: vec!["p1".into(), "p2".into()] }),
        3 => party.clone().prop_map(|party| M::DeliverCopy { party }),
        2 => Just(M::FollowUp { performance: PerformanceStatus::Performed, note: String::new() }),
        2 => Just(M::ApplyForConfirmation { court: "法院".into(), applicants: vec!["p1".into(), "p2".into()] }),
        2 => any::<bool>().prop_map(|confirmed| M::RecordRuling { confirmed, note: String::new() }),
        1 => Just(M::Archive),
    ]
}

/// A command that suits the case's state, chosen by `choice`: the guided steps of the random walk.
fn suited(case: &MediationCase, choice: usize) -> M {
    let mediators: Vec<String> = case.current_mediators().map(|m| m.id.clone()).collect();
    let on_case = mediators.first().cloned().unwrap_or_else(|| "m1".into());
    let fresh = if mediators.iter().any(|m| m == "m1") { "m2" } else { "m1" };
    let unnotified: Vec<M> = case
        .parties
        .iter()
        .filter(|p| !case.is_notified(&p.id))
        .map(|p| M::NotifyRights { party: p.id.clone() })
        .collect();
    let session = |kind| M::Record(RecordInput { mediator: on_case.clone(), ..record(kind, "2025-03-03 09:00", "x") });
    // Endings without agreement are rare, so that most walks get to an agreement.
    let rare = choice.is_multiple_of(60);
    let choice = choice / 60;
    let terminate =
        M::Terminate { reason: TerminationReason::Failed, advice: vec![OtherRoute::Litigation], note: String::new() };
    let mut candidates: Vec<M> = match case.state {
        S::Registered | S::InMediation if mediators.is_empty() => {
            let mut c = vec![M::AssignMediator { mediator: mediator(fresh), chosen_by: ChosenBy::Committee }];
            c.extend(unnotified);
            c
        }
        S::Registered | S::InMediation if case.pending_recusal().is_some() => {
            vec![M::DecideRecusal { granted: choice.is_multiple_of(2), note: String::new() }]
        }
        S::Registered | S::InMediation => {
            let mut c = vec![
                M::AssignMediator { mediator: mediator(fresh), chosen_by: ChosenBy::Committee },
                session(RecordKind::Session),
                session(RecordKind::Session),
                session(RecordKind::Investigation),
                M::RequestRecusal { party: "p2".into(), mediator: on_case.clone(), reason: "回避".into() },
                M::ExtendTarget {
                    until: case.target_at + jiff::SignedDuration::from_hours(240),
                    consents: vec!["p1".into(), "p2".into()],
                },
            ];
            c.extend(unnotified.iter().cloned());
            c.extend(unnotified);
            if case.state == S::Registered && rare {
                c = vec![M::Decline { party: "p2".into(), reason: "拒绝".into() }];
            } else if case.state == S::InMediation && rare {
                c = vec![M::RecordOralAgreement(content()), terminate];
            } else if case.state == S::InMediation {
                c.extend([M::DraftAgreement(content()), M::DraftAgreement(content()), M::DraftAgreement(content())]);
            }
            c
        }
        S::AwaitingSignatures => {
            let missing = case.agreement.as_ref().map(|a| a.missing()).unwrap_or_default();
            let mut c: Vec<M> = missing
                .into_iter()
                .map(|signer| match signer {
                    Signer::Party { party, .. } => {
                        let by_agent = party == "p2" && choice.is_multiple_of(3);
                        M::Sign { signer: Signer::Party { party, by_agent }, mark: Mark::Fingerprint }
                    }
                    Signer::Mediator { mediator } => {
                        M::Sign { signer: Signer::Mediator { mediator }, mark: Mark::Signature }
                    }
                    Signer::Committee => seal(),
                })
                .collect();
            if rare {
                c = vec![terminate];
            }
            c
        }
        S::Effective => vec![
            M::DeliverCopy { party: "p1".into() },
            M::DeliverCopy { party: "p2".into() },
            M::FollowUp { performance: PerformanceStatus::PartlyPerformed, note: String::new() },
            M::ApplyForConfirmation { court: "法院".into(), applicants: vec!["p1".into(), "p2".into()] },
            M::RecordRuling { confirmed: true, note: String::new() },
            M::Archive,
        ],
        S::Archived => vec![
            M::ApplyForConfirmation { court: "法院".into(), applicants: vec!["p1".into(), "p2".into()] },
            M::RecordRuling { confirmed: false, note: String::new() },
        ],
        S::Terminated | S::Declined => vec![M::Archive],
    };
    let pick = choice % candidates.len();
    candidates.swap_remove(pick)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn random_command_sequences_replay_to_the_same_case(
        steps in prop::collection::vec((prop::bool::weighted(0.3), 0usize..1_000_000, command(), 0i64..(3 * 1440)), 1..60),
    ) {
        let mut s = Story::open("2025-03-03 09:00");
        let mut now = at("2025-03-03 09:00");
        for (noise, choice, random, minutes) in steps {
            now += jiff::SignedDuration::from_mins(minutes);
            // Most steps suit the state, the rest are random and mostly refused.
            let cmd = if noise { random } else { suited(&s.case, choice) };
            let before = s.case.clone();
            match s.case.act(&cmd, "c-1", now) {
                Ok(e) => {
                    prop_assert!(before.accepts(&e, now), "{:?} from {:?}", e, before.state);
                    s.history.push((e, now));
                }
                Err(e) => prop_assert_eq!(&s.case, &before, "{} changed the case", e.code()),
            }
            // Invariants.
            let effective = s.case.agreement.as_ref().and_then(|a| a.effective_at);
            if s.case.state == S::Effective {
                prop_assert!(effective.is_some());
            }
            if effective.is_some() {
                prop_assert!(matches!(s.case.state, S::Effective | S::Archived));
            }
            if let Some(a) = &s.case.agreement && a.form == AgreementForm::Written && let Some(eff) = a.effective_at {
                prop_assert!(a.missing().is_empty());
                prop_assert_eq!(Some(eff), a.signatures.iter().map(|x| x.at).max());
            }
            prop_assert!(s.case.recusals.iter().filter(|r| r.granted.is_none()).count() <= 1);
            prop_assert_eq!(s.case.fee(), 0);
        }
        prop_assert_eq!(MediationCase::replay(&s.history).unwrap(), s.case.clone());
        let json = serde_json::to_string(&s.history).unwrap();
        let back: Vec<(MediationEvent, Timestamp)> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(MediationCase::replay(&back).unwrap(), s.case);
    }
}
