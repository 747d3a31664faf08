//! Upgrade projects: CSV import keeps good rows and rejects bad ones with their line numbers; milestones have
//! colours like tasks.

use onething_service::Role;

use super::{World, china};

#[tokio::test]
async fn csv_import_rejects_bad_rows_with_line_numbers_and_keeps_good_ones() {
    let w = World::new("2025-03-03T09:00").await;
    let sup = w.user("supervisor", &[Role::Supervisor], None).await;
    let csv = "\u{feff}name,enterprise,credit_code,template,start_date,completed,limit:rnd\n\
        智能产线改造,聊城甲机械有限公司,91440300708461136T,tech-upgrade,2025-03-03,approval@2025-03-07,\n\
        缺企业,,91440300708461136T,tech-upgrade,2025-03-03,,\n\
        坏代码,聊城乙公司,91440300708461136A,tech-upgrade,2025-03-03,,\n\
        \n\
        坏模板,聊城丙公司,91440300708461136T,no-such,2025-03-03,,\n\
        坏日期,聊城丁公司,91440300708461136T,tech-upgrade,2025-02-30,,\n\
        \"引号, 名称\",聊城戊公司,91440300708461136T,tech-upgrade,2025-03-10,,30d\n\
        坏完成,聊城己公司,91440300708461136T,tech-upgrade,2025-03-03,land@2025-01-01,\n";
    let report = w.service.import_projects(&sup, csv).await.unwrap();
    assert_eq!(report.imported, 2);
    let lines: Vec<usize> = report.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, [3, 4, 6, 7, 9], "{:?}", report.rejected);
    assert!(report.rejected[0].message.contains("enterprise"));
    assert!(report.rejected[1].message.contains("credit_code"));
    assert!(report.rejected[2].message.contains("no-such"));
    let projects = w.service.list_projects(&sup, 10).await.unwrap();
    assert_eq!(projects.len(), 2);
    let quoted = projects.iter().find(|p| p.name == "引号, 名称").unwrap();
    let rnd = quoted.milestones.iter().find(|m| m.code == "rnd").unwrap();
    assert_eq!(rnd.limit.to_string(), "30d", "一企一策: the project's own limit");
    let first = projects.iter().find(|p| p.name == "智能产线改造").unwrap();
    assert!(first.milestones[0].done_at.is_some());

    // A bad header is one clear error; an applicant may not import.
    assert!(w.service.import_projects(&sup, "title,who\nx,y\n").await.is_err());
    let applicant = w.user("applicant", &[Role::Applicant], None).await;
    assert!(w.service.import_projects(&applicant, csv).await.is_err());

    // Milestones turn colours and escalate like tasks.
    let end = china("2025-04-30T17:00");
    while w.time.get() < end {
        w.time.advance_minutes(240);
        w.service.sweep("node").await.unwrap();
    }
    let events = w.store.events_after(0, 100_000).await.unwrap();
    let milestone_reds = events
        .iter()
        .filter(|e| {
            e.kind == "colour_changed" && e.payload.contains("milestone:") && e.payload.contains("\"to\":\"red\"")
        })
        .count();
    assert!(milestone_reds >= 4, "open milestones go red: {milestone_reds}");
}
