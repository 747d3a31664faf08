//! Catalogue checks on broken catalogues (each kind of mistake, located by file:line:column) and the bundle
//! compiler on the demo catalogue (the newspaper's figures come out of the item data).

use std::collections::BTreeMap;

use onething_core::catalog::Catalog;
use onething_core::plan::{self, DropReason, PlanError};
use onething_core::source::{SourceError, SourceFile};

const DEPARTMENTS: &str = r#"
[[department]]
code = "a"
name = "甲局"
name_en = "Bureau A"

[[department]]
code = "b"
name = "乙局"
name_en = "Bureau B"
"#;

const MATERIALS: &str = r#"
[[material]]
code = "form"
name = "申请表"
name_en = "Form"

[[material]]
code = "permit-copy"
name = "许可证"
name_en = "Permit"
licence = "permit"
"#;

const LICENCES: &str = r#"
[[licence]]
code = "permit"
name = "许可证"
name_en = "Permit"
"#;

const ITEMS: &str = r#"
[[item]]
code = "x"
name = "事项X"
name_en = "Item X"
department = "a"
kind = "licensing"
legal_basis = "law"
statutory_limit = "20d"
promised_limit = "2d"
result = "permit"
[[item.material]]
code = "form"
[[item.field]]
code = "name"
label = "名称"
label_en = "Name"
type = "text"

[[item]]
code = "y"
name = "事项Y"
name_en = "Item Y"
department = "b"
kind = "filing"
legal_basis = "law"
statutory_limit = "5d"
promised_limit = "1d"
[[item.material]]
code = "form"
[[item.material]]
code = "permit-copy"
[[item.field]]
code = "name"
label = "名称"
label_en = "Name"
type = "text"
"#;

const BUNDLE: &str = r#"
[[bundle]]
code = "xy"
name = "XY一件事"
name_en = "XY"
lead_department = "a"
promised_limit = "2d"

[[bundle.item]]
code = "x"
limit = "1d"

[[bundle.item]]
code = "y"
limit = "1d"
needs = ["x"]
"#;

fn files(overrides: &[(&str, &str)]) -> Vec<SourceFile> {
    let mut base: BTreeMap<&str, String> = [
        ("departments.toml", DEPARTMENTS),
        ("materials.toml", MATERIALS),
        ("licences.toml", LICENCES),
        ("items.toml", ITEMS),
        ("bundle.toml", BUNDLE),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect();
    for (name, text) in overrides {
        base.insert(name, text.to_string());
    }
    base.into_iter().map(|(n, t)| SourceFile::new(n, t)).collect()
}

fn errors(overrides: &[(&str, &str)]) -> Vec<SourceError> {
    match Catalog::load(&files(overrides)) {
        Ok(_) => panic!("the broken catalogue loaded"),
        Err(e) => e,
    }
}

/// The 1-based line and column of the first occurrence of `needle` in `text`.
fn pos(text: &str, needle: &str) -> (usize, usize) {
    let off = text.find(needle).unwrap_or_else(|| panic!("{needle:?} not in text"));
    let f = SourceFile::new("t", text);
    f.line_col(off)
}

fn assert_error(errs: &[SourceError], file: &str, at: (usize, usize), contains: &str) {
    assert!(
        errs.iter().any(|e| e.file == file && (e.line, e.column) == at && e.message.contains(contains)),
        "no error {file}:{}:{} containing {contains:?} in:\n{}",
        at.0,
        at.1,
        errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_base_catalogue_loads() {
    let c = Catalog::load(&files(&[])).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(c.items.len(), 2);
    let p = plan::compile(&c, "xy", &BTreeMap::new()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.reduction.materials.before, 3);
    assert_eq!(p.reduction.materials.after, 1);
    assert_eq!(
        p.dropped.iter().map(|d| d.reason).collect::<Vec<_>>(),
        [DropReason::Duplicate, DropReason::ProducedInBundle]
    );
    assert_eq!(p.form.len(), 1, "the same field is asked once");
}

#[test]
fn unknown_references_are_located() {
    let items = ITEMS.replacen("department = \"b\"", "department = \"nowhere\"", 1);
    let errs = errors(&[("items.toml", &items)]);
    let at = pos(&items, "\"nowhere\"");
    assert_error(&errs, "items.toml", at, "unknown department \"nowhere\"");

    let bundle = BUNDLE.replace("needs = [\"x\"]", "needs = [\"zz\"]");
    let errs = errors(&[("bundle.toml", &bundle)]);
    assert_error(&errs, "bundle.toml", pos(&bundle, "\"zz\""), "not an item of this bundle");
}

#[test]
fn duplicate_codes_name_both_places() {
    let extra = "[[material]]\ncode = \"form\"\nname = \"又一个\"\nname_en = \"Again\"\n";
    let errs = errors(&[("more.toml", extra)]);
    assert_error(&errs, "more.toml", (2, 8), "duplicate material code \"form\" (first defined at materials.toml:3:8)");
}

#[test]
fn dependency_cycles_are_reported() {
    let bundle = BUNDLE.replace(
        "[[bundle.item]]\ncode = \"x\"\nlimit = \"1d\"",
        "[[bundle.item]]\ncode = \"x\"\nlimit = \"1d\"\nneeds = [\"y\"]",
    );
    let errs = errors(&[("bundle.toml", &bundle)]);
    assert!(errs.iter().any(|e| e.file == "bundle.toml" && e.message.contains("dependency cycle")), "{errs:?}");
}

#[test]
fn a_bundle_limit_shorter_than_its_critical_path_is_an_error() {
    let bundle = BUNDLE.replace("promised_limit = \"2d\"", "promised_limit = \"1.5d\"");
    let errs = errors(&[("bundle.toml", &bundle)]);
    assert_error(&errs, "bundle.toml", pos(&bundle, "\"1.5d\""), "shorter than the critical path 2d (x → y)");
}

#[test]
fn bad_durations_and_enum_values_are_all_reported() {
    let items = ITEMS.replacen("promised_limit = \"2d\"", "promised_limit = \"2 days\"", 1).replacen(
        "type = \"text\"",
        "type = \"txt\"",
        1,
    );
    let items = items.replacen("kind = \"filing\"", "kind = \"permit\"", 1);
    let errs = errors(&[("items.toml", &items)]);
    assert_error(&errs, "items.toml", pos(&items, "\"2 days\""), "bad duration");
    assert_error(&errs, "items.toml", pos(&items, "\"txt\""), "unknown field type \"txt\"");
    let (line, column) = pos(&items, "kind = \"permit\"");
    assert_error(&errs, "items.toml", (line, column + "kind = ".len()), "unknown item kind");
    assert!(errs.len() >= 3, "all errors at once: {errs:?}");
}

#[test]
fn toml_syntax_and_unknown_keys_are_located() {
    let errs = errors(&[("departments.toml", "[[department]]\ncode = \"a\nname = 1\n")]);
    assert!(errs.iter().any(|e| e.file == "departments.toml" && e.line == 2), "{errs:?}");
    let deps = DEPARTMENTS.replacen("name_en = \"Bureau A\"", "name_en = \"Bureau A\"\ncolour = \"red\"", 1);
    let errs = errors(&[("departments.toml", &deps)]);
    assert!(
        errs.iter().any(|e| e.message.contains("unknown field `colour`") && e.line == pos(&deps, "colour").0),
        "{errs:?}"
    );
}

#[test]
fn conflicting_field_definitions_are_an_error() {
    // The second item defines `name` as a number.
    let at = ITEMS.rfind("type = \"text\"").unwrap_or(0);
    let items = format!("{}type = \"number\"{}", &ITEMS[..at], &ITEMS[at + "type = \"text\"".len()..]);
    let errs = errors(&[("items.toml", &items)]);
    assert!(
        errs.iter().any(|e| e.file == "bundle.toml" && e.message.contains("field \"name\" is defined differently")),
        "{errs:?}"
    );
}

#[test]
fn errors_come_from_several_files_at_once() {
    let items = ITEMS.replacen("department = \"b\"", "department = \"nowhere\"", 1);
    let bundle = BUNDLE.replace("promised_limit = \"2d\"", "promised_limit = \"-1d\"");
    let errs = errors(&[("items.toml", &items), ("bundle.toml", &bundle)]);
    let files: std::collections::BTreeSet<&str> = errs.iter().map(|e| e.file.as_str()).collect();
    assert!(files.contains("items.toml") && files.contains("bundle.toml"), "{errs:?}");
    let mut sorted = errs.clone();
    sorted.sort();
    assert_eq!(errs, sorted, "errors are sorted by file, line, column");
}

#[test]
fn situation_conditions_must_name_real_questions() {
    let items = ITEMS.replacen(
        "[[item.material]]\ncode = \"form\"",
        "[[item.material]]\ncode = \"form\"\nwhen = \"ghost=yes\"",
        1,
    );
    let errs = errors(&[("items.toml", &items)]);
    assert!(errs.iter().any(|e| e.message.contains("unknown question \"ghost\"")), "{errs:?}");
}

// ---------------------------------------------------------------------------------------------------------
// The demo catalogue.

fn demo() -> Catalog {
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

fn answers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn open_transport_company_reproduces_the_newspaper() {
    let c = demo();
    let p = plan::compile(&c, "open-transport-company", &BTreeMap::new()).unwrap_or_else(|e| panic!("{e}"));
    let r = &p.reduction;
    assert_eq!((r.materials.before, r.materials.after), (18, 12));
    assert_eq!(p.tasks.len(), 3);
    let departments: std::collections::BTreeSet<&str> = p.tasks.iter().map(|t| t.department.as_str()).collect();
    assert_eq!(departments.len(), 2);
    assert!(r.time_limit.before.nominal_days() >= 3.0, "at least 3 working days before");
    assert_eq!(r.time_limit.after.to_string(), "0.5d");
    assert!(r.time_limit.cut_percent >= 86.0, "{}", r.time_limit.cut_percent);
    assert_eq!(p.critical_path.len(), 3);
}

#[test]
fn close_company_reproduces_the_newspaper() {
    let c = demo();
    let p = plan::compile(&c, "close-company", &BTreeMap::new()).unwrap_or_else(|e| panic!("{e}"));
    let r = &p.reduction;
    let departments: std::collections::BTreeSet<&str> = p.tasks.iter().map(|t| t.department.as_str()).collect();
    assert_eq!(departments.len(), 8);
    assert_eq!((r.steps.before, r.steps.after), (9, 1));
    assert_eq!((r.submissions.before, r.submissions.after), (8, 1));
    assert!(r.time_limit.cut_percent >= 93.0, "{}", r.time_limit.cut_percent);
}

#[test]
fn answers_switch_items_materials_and_fields() {
    let c = demo();
    let p = plan::compile(&c, "open-transport-company", &answers(&[("agent", "no"), ("certificates_now", "no")]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.tasks.len(), 2);
    assert!(p.dropped.iter().any(|d| d.code == "agent-authorisation" && d.reason == DropReason::SwitchedOff));
    assert!(!p.form.iter().any(|f| f.code == "agent_id"));
    assert!(!p.materials.iter().any(|m| m.code == "vehicle-photo"));

    let general =
        plan::compile(&c, "close-company", &answers(&[("procedure", "general")])).unwrap_or_else(|e| panic!("{e}"));
    assert!(general.materials.iter().any(|m| m.code == "liquidation-report"));
    assert!(general.form.iter().any(|f| f.code == "liquidation_end_date"));
    let no_customs =
        plan::compile(&c, "close-company", &answers(&[("customs_filed", "no")])).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(no_customs.tasks.len(), 7);
}

#[test]
fn bad_answers_are_clear_errors() {
    let c = demo();
    let e = plan::compile(&c, "close-company", &answers(&[("procedure", "fast")])).err();
    assert!(matches!(e, Some(PlanError::BadAnswer { ref question, .. }) if question == "procedure"), "{e:?}");
    let e = plan::compile(&c, "close-company", &answers(&[("colour", "red")])).err();
    assert!(matches!(e, Some(PlanError::UnknownQuestion { .. })), "{e:?}");
    let e = plan::compile(&c, "no-such-bundle", &BTreeMap::new()).err();
    assert!(matches!(e, Some(PlanError::UnknownBundle(_))), "{e:?}");
}

/// For every bundle and every combination of answers: the dropped list explains exactly the difference, the
/// critical path fits the promised limit, and every task's needs are tasks of the plan.
#[test]
fn every_plan_of_the_demo_catalogue_is_consistent() {
    let c = demo();
    for bundle in c.bundles.values() {
        let mut combos: Vec<BTreeMap<String, String>> = vec![BTreeMap::new()];
        for q in &bundle.questions {
            combos = combos
                .into_iter()
                .flat_map(|base| {
                    q.options.iter().map(move |o| {
                        let mut next = base.clone();
                        next.insert(q.code.clone(), o.value.clone());
                        next
                    })
                })
                .collect();
        }
        for a in combos {
            let p = plan::compile(&c, &bundle.code, &a).unwrap_or_else(|e| panic!("{} {a:?}: {e}", bundle.code));
            let r = &p.reduction;
            assert_eq!(r.materials.before - r.materials.after, p.dropped.len() as u32, "{} {a:?}", bundle.code);
            assert!(p.critical_path_limit.nominal_minutes() <= p.promised_limit.nominal_minutes());
            let codes: Vec<&str> = p.materials.iter().map(|m| m.code.as_str()).collect();
            let unique: std::collections::BTreeSet<&str> = codes.iter().copied().collect();
            assert_eq!(codes.len(), unique.len(), "materials are deduplicated");
            for t in &p.tasks {
                for n in &t.needs {
                    assert!(p.tasks.iter().any(|x| &x.item == n), "{} needs {n}", t.item);
                }
            }
        }
    }
}

#[test]
fn a_licence_type_names_a_cancellation_item_that_exists() {
    let ghost = LICENCES.replace("name_en = \"Permit\"\n", "name_en = \"Permit\"\ncancellation = \"ghost\"\n");
    let errs = errors(&[("licences.toml", &ghost)]);
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["licences.toml:6:16: unknown item \"ghost\""]);
    let real = LICENCES.replace("name_en = \"Permit\"\n", "name_en = \"Permit\"\ncancellation = \"y\"\n");
    let c = Catalog::load(&files(&[("licences.toml", &real)])).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(c.licences["permit"].cancellation.as_deref(), Some("y"));
    assert_eq!(c.licences.len(), 1);
}
