//! The assessment's figures against a small data set computed by hand.

use onething_service::{Period, RatingInput, Role, User};

use super::{World, china, close_form};

async fn approve_all(w: &World, officers: &[(&str, User)], case_id: &str) {
    for (_, officer) in officers {
        for t in w
            .service
            .list_tasks(officer, Some("ready".into()))
            .await
            .unwrap()
            .into_iter()
            .filter(|t| t.case_id == case_id)
        {
            let result = serde_json::from_value(serde_json::json!({ "result": {} })).unwrap();
            w.service.approve(officer, &t.task.id, result).await.unwrap();
        }
    }
}

#[tokio::test]
async fn assessment_matches_a_hand_computed_period() {
    // Two close-company cases accepted on Monday 3 March 2025 at 09:00.
    let w = World::new("2025-03-03T09:00").await;
    let a = w.accepted_case("close-company", close_form()).await;
    let b = w.accepted_case("close-company", close_form()).await;
    let depts = ["tax", "customs", "hrss", "medical-insurance", "housing-fund", "pboc", "public-security", "approval"];
    let mut officers = Vec::new();
    for d in depts {
        officers.push((d, w.user(&format!("officer-{d}"), &[Role::Officer], Some(d)).await));
    }
    // Case A: every department decides at 12:00 on Monday (3 working hours after acceptance; deregistration
    // becomes ready at 12:00 and is decided at 15:30: 2 working hours).
    w.time.set(china("2025-03-03T12:00"));
    approve_all(&w, &officers[..7], &a).await;
    let approval = &officers[7].1;
    // Case B's tax task first asks for a correction at 12:00 (1 working hour paused until 13:30? no: the
    // applicant resubmits at 14:30, 1 working hour after 13:30), then everything is decided on Wednesday
    // 5 March at 12:00 — after the tasks' deadline (Tuesday 17:00): late.
    let tax = &officers[0].1;
    let b_tax: Vec<_> =
        w.service.list_tasks(tax, Some("ready".into())).await.unwrap().into_iter().filter(|t| t.case_id == b).collect();
    assert_eq!(b_tax.len(), 1);
    w.service
        .return_task(
            tax,
            &b_tax[0].task.id,
            vec![onething_service::ReasonInput {
                material: None,
                field: Some("company_name".into()),
                reason: "名称有误".into(),
            }],
        )
        .await
        .unwrap();
    w.time.set(china("2025-03-03T14:30"));
    let applicant = w.user("applicant", &[Role::Applicant], None).await;
    // The correction names the company name: it is changed first.
    let mut form: std::collections::BTreeMap<String, serde_json::Value> =
        serde_json::from_value(super::close_form()).unwrap();
    form.insert("company_name".into(), serde_json::json!("旧时光商贸有限公司"));
    w.service.update_case(&applicant, &b, None, Some(form)).await.unwrap();
    w.service.submit(&applicant, &b).await.unwrap();
    w.time.set(china("2025-03-03T15:30"));
    // Case A's deregistration: ready since 12:00, decided 15:30 = 2 working hours (12:00–12:00 is the lunch
    // break start; 13:30–15:30).
    approve_all(&w, &officers[7..], &a).await;
    w.time.set(china("2025-03-05T12:00"));
    approve_all(&w, &officers[..7], &b).await;
    approve_all(&w, &officers[7..], &b).await;
    let _ = approval;
    // Case A is rated 非常不满意 (1): a review opens for the lead department; case B is not rated.
    let rated = w
        .service
        .rate_case(&applicant, &a, RatingInput { level: 1, comment: Some("太慢".into()), consent: None })
        .await
        .unwrap();
    assert_eq!(rated.doc.label, "非常不满意");
    let reviews = w.service.list_reviews(&officers[7].1, Some("open".into())).await.unwrap();
    assert_eq!(reviews.len(), 1);

    let sup = w.user("supervisor", &[Role::Supervisor], None).await;
    let report = w.service.assessment(&sup, &Period::parse("2025-03").unwrap()).await.unwrap();
    // Tax: A decided after 3 working hours (on time); B ready 09:00, paused 12:00–14:30, decided Wednesday
    // 12:00: working minutes 09:00–12:00 (180) + 14:30–17:00 (150) + Tuesday (390) + Wednesday 09:00–12:00
    // (180) = 900 min = 15 h. Mean (3 + 15) / 2 = 9.0 h; p90 (nearest rank of 2) = 15.0 h.
    // B's tax task is due Tuesday 17:00 moved by the 60 paused working minutes (12:00–12:00 is 0, 13:30–14:30
    // is 60): Wednesday 10:00 — decided at 12:00, late.
    let tax = &report.departments["tax"];
    assert_eq!(tax.handled, 2);
    assert_eq!(tax.cases, 2);
    assert_eq!(tax.on_time, 1);
    assert_eq!(tax.on_time_rate, Some(50.0));
    assert_eq!(tax.mean_hours, Some(9.0));
    assert_eq!(tax.p90_hours, Some(15.0));
    assert_eq!(tax.corrected, 1);
    assert_eq!(tax.correction_rate, Some(50.0));
    assert_eq!(tax.overdue, 1);
    assert_eq!(tax.satisfaction, Some(1.0));
    assert_eq!(tax.ratings, 1);
    // Customs: A 3 h; B ready 09:00, paused 12:00–14:30 (all its clocks stop too), decided Wednesday 12:00 =
    // 15 h as well, due Wednesday 10:00: late.
    let customs = &report.departments["customs"];
    assert_eq!((customs.handled, customs.on_time, customs.corrected), (2, 1, 0));
    assert_eq!(customs.mean_hours, Some(9.0));
    // Approval (deregistration): A ready 12:00 decided 15:30 = 2 h; B ready Wednesday 12:00, decided at once.
    let approval = &report.departments["approval"];
    assert_eq!(approval.handled, 2);
    assert_eq!(approval.mean_hours, Some(1.0));
    assert_eq!(approval.on_time, 2);
    // Per item equals per department here (one item each).
    assert_eq!(report.items["tax-deregistration"], report.departments["tax"]);
    // The bundle: baseline 39 working days = 39 × 6.5 h = 253.5 h. A took 09:00–15:30 = 5 h (lunch excluded);
    // B took Monday 09:00–12:00 (180 min), the pause to 14:30, 14:30–17:00 (150), Tuesday (390) and Wednesday
    // 09:00–12:00 (180): 900 min = 15 h. The mean is 10.0 h: a realised cut of 1 − 10 / 253.5 = 96.1 %.
    let bundle = &report.bundles["close-company"];
    assert_eq!(bundle.concluded, 2);
    assert_eq!(bundle.baseline_hours, Some(253.5));
    let a_hours = 5.0;
    let b_hours = (180.0 + 150.0 + 390.0 + 180.0) / 60.0;
    assert_eq!(bundle.mean_hours, Some((a_hours + b_hours) / 2.0));
    assert_eq!(bundle.realised_cut_percent, Some(96.1));
    // The CSV carries the same figures.
    let csv = onething_service::assessment_csv(&report);
    assert!(csv.lines().any(|l| l.starts_with("department,tax,2,2,1,50.0,9.0,15.0,1,50.0,1,")), "{csv}");
}
