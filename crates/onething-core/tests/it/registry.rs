//! The market-entity registry CSV (市场主体登记): the demo file parses and its credit codes add up; a BOM,
//! quotes and comments are read as CSV has them; every bad row and header is reported with file:line, the
//! column and a stable code.

use onething_core::codes::{CreditCode, credit_code_check_char};
use onething_core::registry::{
    AbnormalReason, EntityStatus, EntityType, Fen, PendingMatter, Registry, RegistryError, csv_columns,
};
use onething_core::source::SourceFile;

/// The demo registry extract of the repository (`catalog/registry/market-entities.csv`).
pub(crate) fn demo_registry() -> Registry {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog/registry/market-entities.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Registry::parse_csv(&SourceFile::new("registry/market-entities.csv", text))
        .unwrap_or_else(|e| panic!("demo registry: {}", e.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")))
}

pub(crate) fn code(s: &str) -> CreditCode {
    CreditCode::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn errors(text: &str) -> Vec<RegistryError> {
    match Registry::parse_csv(&SourceFile::new("r.csv", text)) {
        Ok(r) => panic!("the broken CSV parsed: {r:?}"),
        Err(e) => e,
    }
}

/// (line, column, code) of each error, for compact assertions.
fn located(errs: &[RegistryError]) -> Vec<(usize, Option<&str>, &str)> {
    errs.iter().map(|e| (e.line, e.column.as_deref(), e.code())).collect()
}

const HEADER: &str = "credit_code,name,entity_type,legal_representative,status,registration_authority";

#[test]
fn the_demo_registry_parses_and_its_credit_codes_add_up() {
    let r = demo_registry();
    assert_eq!(r.len(), 12);
    for e in r.entities() {
        let s = e.credit_code.as_str();
        let check = credit_code_check_char(&s[..17]).unwrap_or_else(|err| panic!("{s}: {err}"));
        assert_eq!(s.chars().last(), Some(check), "{s}");
        assert!(e.credit_code.inner_check_ok(), "{s}: GB 11714 inner check");
    }
    let bai = r.get(&code("91371502MA3C7B1K1E")).unwrap();
    assert_eq!(bai.name, "聊城市白氏商贸有限公司");
    let abnormal = bai.abnormal.as_ref().unwrap();
    assert_eq!(abnormal.reason, AbnormalReason::AnnualReportOverdue);
    assert_eq!(abnormal.listed_on.to_string(), "2024-07-01");
    assert_eq!(bai.licences.len(), 1);

    let shunda = r.get(&code("91371502MA3D2F8L9Q")).unwrap();
    let types: Vec<&str> = shunda.licences.iter().map(|l| l.licence_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "food-business-permit",
            "road-transport-operating-permit",
            "road-transport-certificate",
            "road-transport-certificate"
        ]
    );
    assert_eq!(shunda.licences[1].number, "鲁交运管许可聊字371502000321号");

    let arrears = r.get(&code("91371502MA3E4H2N4R")).unwrap();
    assert_eq!(arrears.tax_arrears, Fen(1_234_567));
    assert_eq!(arrears.social_insurance_arrears, Fen(320_000));
    let li = r.get(&code("92371502MA3F6J4P00")).unwrap();
    assert_eq!(li.entity_type, EntityType::IndividualBusiness);
    let hongyuan = r.get(&code("91371502MA3K5N3U5G")).unwrap();
    assert_eq!(hongyuan.pending, [PendingMatter::Investigation, PendingMatter::Litigation]);
    assert!(hongyuan.equity_frozen && hongyuan.equity_pledged);
    assert_eq!(r.get(&code("91371502MA3H1L8R2Y")).unwrap().status, EntityStatus::Revoked);
    assert!(r.get(&code("913700001630012354")).unwrap().listed);
}

#[test]
fn bom_quotes_comments_and_chinese_values_are_read() {
    let text = format!(
        "\u{feff}{HEADER},listed\n\
         # a comment line\n\
         91371502MA3C7B1K1E,\"聊城市\"\"白氏\"\"商贸, 有限公司\",公司,白立新,存续,\"聊城市东昌府区\n行政审批服务局\",是\n\
         \n\
         92371502MA3F6J4P00,东昌府区李记小吃店,个体工商户,李秀兰,在业,聊城市东昌府区行政审批服务局,否\n"
    );
    let r = Registry::parse_csv(&SourceFile::new("r.csv", text)).unwrap_or_else(|e| panic!("{e:?}"));
    let bai = r.get(&code("91371502MA3C7B1K1E")).unwrap();
    assert_eq!(bai.name, "聊城市\"白氏\"商贸, 有限公司");
    assert_eq!(bai.registration_authority, "聊城市东昌府区\n行政审批服务局");
    assert!(bai.listed);
    assert_eq!(bai.status, EntityStatus::InBusiness);
    assert_eq!(r.get(&code("92371502MA3F6J4P00")).unwrap().entity_type, EntityType::IndividualBusiness);

    // A record spanning two lines is located where it starts; the next one on its own line.
    let text = format!(
        "{HEADER}\n91371502MA3C7B1K1E,\"two\nlines\",company,白立新,in_business,x\n91371502MA3C7B1K1F,n,company,r,in_business,x\n"
    );
    let errs = errors(&text);
    assert_eq!(located(&errs), [(4, Some("credit_code"), "bad_credit_code")]);
}

#[test]
fn every_bad_row_is_reported_with_its_line_and_column() {
    let text = format!(
        "{HEADER},abnormal_listed,abnormal_reason,abnormal_listed_on,tax_arrears,pending,equity_frozen,licences\n\
         91371502MA3C7B1K1E,ok,company,白立新,in_business,x,yes,annual_report_overdue,2024-07-01,,,no,\n\
         91371502MA3C7B1K1F,bad check,company,r,in_business,x,,,,,,,\n\
         91371502MA3D2F8L9Q,,firm,r,closed,x,maybe,,,12.345,audit;litigation,perhaps,food-business-permit\n\
         92371502MA3F6J4P00,type mismatch,company,r,in_business,x,no,unreachable,2024-01-01,,,,\n\
         91371502MA3E4H2N4R,listed without reason,company,r,in_business,x,yes,,2024-02-30,,,,\n\
         91371502MA3C7B1K1E,duplicate,company,r,in_business,x,,,,,,,\n\
         91371502MA3M9Q7X72,short row\n"
    );
    let errs = errors(&text);
    assert_eq!(
        located(&errs),
        [
            (3, Some("credit_code"), "bad_credit_code"),
            (4, Some("name"), "required"),
            (4, Some("entity_type"), "bad_value"),
            (4, Some("status"), "bad_value"),
            (4, Some("abnormal_listed"), "bad_value"),
            (4, Some("tax_arrears"), "bad_value"),
            (4, Some("pending"), "bad_value"),
            (4, Some("equity_frozen"), "bad_value"),
            (4, Some("licences"), "bad_value"),
            (5, Some("entity_type"), "entity_type_mismatch"),
            (5, Some("abnormal_reason"), "inconsistent_listing"),
            (5, Some("abnormal_listed_on"), "inconsistent_listing"),
            (6, Some("abnormal_reason"), "required"),
            (6, Some("abnormal_listed_on"), "bad_value"),
            (7, Some("credit_code"), "duplicate_entity"),
            (8, None, "field_count"),
        ]
    );
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert!(
        shown[0].starts_with("r.csv:3: column credit_code: the unified social credit code does not add up"),
        "{}",
        shown[0]
    );
    assert!(shown.iter().any(|s| s == "r.csv:4: column pending: \"audit\" is not a list of one of investigation, enforcement, litigation, arbitration, unpaid_fine"), "{shown:#?}");
    assert!(shown.iter().any(|s| s.contains("r.csv:5: column entity_type: a company has character 2 of its credit code '1', but this credit code has '2'")), "{shown:#?}");
    assert!(
        shown
            .iter()
            .any(|s| s
                == "r.csv:7: column credit_code: credit code 91371502MA3C7B1K1E is listed twice (first on line 2)"),
        "{shown:#?}"
    );
    assert_eq!(shown.last().map(String::as_str), Some("r.csv:8: the row has 2 fields but the header names 13 columns"));
}

#[test]
fn header_mistakes_are_reported_before_any_row() {
    let errs = errors("credit_code,name,colour,name,status\n91371502MA3C7B1K1E,a,red,b,in_business\n");
    assert_eq!(
        located(&errs),
        [
            (1, Some("colour"), "unknown_column"),
            (1, Some("name"), "duplicate_column"),
            (1, Some("entity_type"), "missing_column"),
            (1, Some("legal_representative"), "missing_column"),
            (1, Some("registration_authority"), "missing_column"),
        ]
    );
    assert!(errs[0].to_string().contains("the columns are credit_code, name, entity_type"), "{}", errs[0]);
    assert_eq!(located(&errors("")), [(1, None, "empty_file")]);
    assert_eq!(located(&errors("\u{feff}# only a comment\n")), [(1, None, "empty_file")]);
}

#[test]
fn optional_columns_default_to_a_clean_entity() {
    let text = format!("{HEADER}\n91371502MA3D2F8L9Q,聊城市顺达食品配送有限公司,company,王秀英,in_business,x\n");
    let r = Registry::parse_csv(&SourceFile::new("r.csv", text)).unwrap_or_else(|e| panic!("{e:?}"));
    let e = r.get(&code("91371502MA3D2F8L9Q")).unwrap();
    assert!(e.abnormal.is_none() && e.serious_violation.is_none());
    assert!(e.tax_arrears.is_zero() && e.social_insurance_arrears.is_zero());
    assert!(e.pending.is_empty() && e.licences.is_empty());
    assert!(!e.equity_frozen && !e.equity_pledged && !e.listed);
    assert_eq!(csv_columns().len(), 19);
    assert_eq!(&csv_columns()[..6], HEADER.split(',').collect::<Vec<_>>().as_slice());
}
