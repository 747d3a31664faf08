//! Form values against fields (表单校验): every problem code, every problem at once in field order, the national
//! code checks inside the form, the integrated form of a demo plan, and missing materials.

// In tests a panic is the failure report, helpers included.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, date};
use onething_core::catalog::{Choice, FieldDef, FieldType};
use onething_core::form::{FieldProblem, FieldSpec, missing_materials, validate_values};
use serde_json::{Value, json};

use crate::case::plans;

const TODAY: Date = date(2025, 3, 3);

fn field(code: &str, field_type: FieldType, required: bool) -> FieldDef {
    let options = if field_type == FieldType::Enum {
        ["freight", "passenger"]
            .iter()
            .map(|v| Choice { value: v.to_string(), label: v.to_string(), label_en: v.to_string() })
            .collect()
    } else {
        Vec::new()
    };
    FieldDef { code: code.into(), label: code.into(), label_en: code.into(), field_type, required, options }
}

/// One required field of each type, named after its type.
fn every_type() -> Vec<FieldDef> {
    [
        FieldType::Text,
        FieldType::Number,
        FieldType::Date,
        FieldType::Enum,
        FieldType::Bool,
        FieldType::Phone,
        FieldType::Email,
        FieldType::CreditCode,
        FieldType::IdNumber,
    ]
    .into_iter()
    .map(|t| field(t.as_str(), t, true))
    .collect()
}

fn valid() -> BTreeMap<String, Value> {
    values(&[
        ("text", json!("顺达运输有限公司")),
        ("number", json!(12)),
        ("date", json!("2024-02-29")),
        ("enum", json!("freight")),
        ("bool", json!(true)),
        ("phone", json!("13812345678")),
        ("email", json!("office@shunda.cn")),
        ("credit_code", json!("91440300708461136T")),
        ("id_number", json!("11010519491231002X")),
    ])
}

fn values(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn check(fields: &[FieldDef], values: &BTreeMap<String, Value>) -> Vec<(String, &'static str)> {
    validate_values(fields, values, TODAY).into_iter().map(|p| (p.field, p.code)).collect()
}

/// The problems of one field of the given type holding `value`.
fn codes_for(ty: FieldType, value: Value) -> Vec<&'static str> {
    let fields = [field("f", ty, true)];
    validate_values(&fields, &values(&[("f", value)]), TODAY).into_iter().map(|p| p.code).collect()
}

fn ok(ty: FieldType, value: Value) {
    assert_eq!(codes_for(ty, value.clone()), Vec::<&str>::new(), "{value} should be a valid {}", ty.as_str());
}

fn bad(ty: FieldType, value: Value, code: &str) {
    assert_eq!(codes_for(ty, value.clone()), [code], "{value} as {}", ty.as_str());
}

#[test]
fn a_complete_valid_form_has_no_problems() {
    assert_eq!(check(&every_type(), &valid()), []);
}

#[test]
fn every_problem_is_reported_at_once_in_field_order() {
    let mut v = values(&[
        ("text", json!({"a": 1})),
        ("number", json!("12 apples")),
        ("date", json!("2025-02-29")),
        ("enum", json!("ship")),
        ("bool", json!("yes")),
        ("phone", json!("12345")),
        ("email", json!("office@")),
        ("credit_code", json!("91440300708461136A")),
        ("id_number", json!("110105194912310021")),
        ("colour", json!("red")),
    ]);
    let expected = [
        ("text", "bad_type"),
        ("number", "bad_number"),
        ("date", "bad_date"),
        ("enum", "bad_enum"),
        ("bool", "bad_bool"),
        ("phone", "bad_phone"),
        ("email", "bad_email"),
        ("credit_code", "bad_credit_code"),
        ("id_number", "bad_id_number"),
        ("colour", "unknown_field"),
    ];
    let got = check(&every_type(), &v);
    assert_eq!(got, expected.map(|(f, c)| (f.to_string(), c)));

    // Absent, null and blank values of required fields.
    v = values(&[("text", json!("  ")), ("number", Value::Null)]);
    let got = check(&every_type(), &v);
    assert_eq!(got.len(), 9);
    assert!(got.iter().all(|(_, c)| *c == "required"), "{got:?}");
}

#[test]
fn optional_fields_may_be_absent_null_or_blank_but_not_wrong() {
    let fields: Vec<FieldDef> = every_type().into_iter().map(|f| FieldDef { required: false, ..f }).collect();
    assert_eq!(check(&fields, &BTreeMap::new()), []);
    assert_eq!(check(&fields, &values(&[("text", json!("")), ("date", Value::Null), ("phone", json!(" "))])), []);
    assert_eq!(check(&fields, &values(&[("date", json!("tomorrow"))])), [("date".to_string(), "bad_date")]);
}

#[test]
fn messages_say_what_is_wrong() {
    let problems = validate_values(
        &every_type(),
        &values(&[
            ("enum", json!("ship")),
            ("credit_code", json!("91440300708461136A")),
            ("id_number", json!("11010519491231002X")),
            ("extra", json!(1)),
        ]),
        date(1940, 1, 1),
    );
    let message = |f: &str| problems.iter().find(|p| p.field == f).map(|p| p.message.clone()).unwrap();
    assert_eq!(message("enum"), "\"ship\" is not one of the choices: freight, passenger");
    assert!(message("credit_code").contains("check character"), "{}", message("credit_code"));
    assert!(message("credit_code").contains("'T'"), "{}", message("credit_code"));
    assert!(message("id_number").contains("future"), "{}", message("id_number"));
    assert_eq!(message("text"), "a value is required");
    assert!(message("extra").contains("no field"));
    let p: &FieldProblem = problems.first().unwrap();
    let v = serde_json::to_value(p).unwrap();
    assert_eq!(v, json!({"field": "text", "code": "required", "message": "a value is required"}));
}

#[test]
fn numbers() {
    for v in [json!(0), json!(-3), json!(2.5), json!("12"), json!(" 3.25 "), json!("-0.5"), json!("+7")] {
        ok(FieldType::Number, v);
    }
    for v in [json!("1e3"), json!("NaN"), json!("inf"), json!("1."), json!(".5"), json!("1,000"), json!(true)] {
        bad(FieldType::Number, v, "bad_number");
    }
    bad(FieldType::Number, json!([1]), "bad_type");
}

#[test]
fn dates() {
    for v in ["2024-02-29", "2025-12-31", "1949-10-01"] {
        ok(FieldType::Date, json!(v));
    }
    for v in [json!("2025-02-29"), json!("2025-13-01"), json!("2025-3-1"), json!("20250301"), json!(20250301)] {
        bad(FieldType::Date, v, "bad_date");
    }
    bad(FieldType::Date, json!("2025-03-01T10:00"), "bad_date");
}

#[test]
fn enums_and_bools() {
    ok(FieldType::Enum, json!("passenger"));
    bad(FieldType::Enum, json!("Passenger"), "bad_enum");
    bad(FieldType::Enum, json!(1), "bad_enum");
    for v in [json!(true), json!(false), json!("true"), json!("false")] {
        ok(FieldType::Bool, v);
    }
    for v in [json!("yes"), json!(1), json!("1")] {
        bad(FieldType::Bool, v, "bad_bool");
    }
}

#[test]
fn phone_numbers() {
    for v in ["13812345678", "19912345678", "0635-1234567", "06351234567", "010-12345678", "01012345678"] {
        ok(FieldType::Phone, json!(v));
    }
    ok(FieldType::Phone, json!(13812345678u64));
    for v in ["12812345678", "1381234567", "138123456789", "0635-123456", "635-1234567", "0635 1234567", "电话"] {
        bad(FieldType::Phone, json!(v), "bad_phone");
    }
}

#[test]
fn email_addresses() {
    for v in ["a@b.cn", "zhang.san@gov.liaocheng.cn", "x+y@mail-1.com"] {
        ok(FieldType::Email, json!(v));
    }
    for v in ["a@b", "@b.cn", "a b@c.cn", "a@@b.cn", "a@b..cn", "a@.cn", "a", "a@-b.cn"] {
        bad(FieldType::Email, json!(v), "bad_email");
    }
}

#[test]
fn credit_codes_and_id_numbers_use_the_check_characters() {
    ok(FieldType::CreditCode, json!("91440300708461136T"));
    ok(FieldType::CreditCode, json!(" 91440300708461136t "));
    for v in ["91440300708461136A", "9144030070846113", "91440300708461136TT", "9144030070846I136T"] {
        bad(FieldType::CreditCode, json!(v), "bad_credit_code");
    }
    bad(FieldType::CreditCode, json!(914403007084611361u64), "bad_credit_code");
    ok(FieldType::IdNumber, json!("11010519491231002X"));
    ok(FieldType::IdNumber, json!("11010519491231002x"));
    for v in ["110105194912310021", "11010519491231002", "110105194913310028"] {
        bad(FieldType::IdNumber, json!(v), "bad_id_number");
    }
}

#[test]
fn text_takes_text_or_numbers_only() {
    ok(FieldType::Text, json!("鲁P12345"));
    ok(FieldType::Text, json!(12345));
    bad(FieldType::Text, json!(true), "bad_type");
    bad(FieldType::Text, json!(["a"]), "bad_type");
    bad(FieldType::Text, json!({"a": "b"}), "bad_type");
    bad(FieldType::Phone, json!({"a": "b"}), "bad_type");
}

/// A valid value for a field of the integrated form.
fn sample(f: &impl FieldSpec) -> Value {
    match f.field_type() {
        FieldType::Text => json!("顺达"),
        FieldType::Number => json!(3),
        FieldType::Date => json!("2025-03-01"),
        FieldType::Enum => json!(f.options()[0]),
        FieldType::Bool => json!(false),
        FieldType::Phone => json!("0635-8241234"),
        FieldType::Email => json!("a@b.cn"),
        FieldType::CreditCode => json!("91440300708461136T"),
        FieldType::IdNumber => json!("11010519491231002X"),
    }
}

#[test]
fn the_integrated_form_of_a_plan_checks_its_fields() {
    for plan in [&plans().0, &plans().1] {
        let filled: BTreeMap<String, Value> = plan.form.iter().map(|f| (f.code.clone(), sample(f))).collect();
        assert_eq!(validate_values(&plan.form, &filled, TODAY), [], "{}", plan.bundle);
        let required = plan.form.iter().filter(|f| f.required).count();
        assert!(required > 0);
        let problems = validate_values(&plan.form, &BTreeMap::new(), TODAY);
        assert_eq!(problems.len(), required);
        let order: Vec<&str> = plan.form.iter().filter(|f| f.required).map(|f| f.code.as_str()).collect();
        assert_eq!(problems.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(), order);
    }
    // References work too (the trait is implemented for &T).
    let fields: Vec<&FieldDef> = Vec::new();
    assert_eq!(validate_values(&fields, &values(&[("x", json!(1))]), TODAY).len(), 1);
}

#[test]
fn missing_materials_are_the_required_ones_not_uploaded_in_plan_order() {
    let plan = &plans().0;
    let required: Vec<String> = plan.materials.iter().filter(|m| m.required).map(|m| m.code.clone()).collect();
    assert!(required.len() >= 2);
    assert_eq!(missing_materials(plan, &BTreeSet::new()), required);
    let all: BTreeSet<String> = plan.materials.iter().map(|m| m.code.clone()).collect();
    assert_eq!(missing_materials(plan, &all), Vec::<String>::new());
    let mut some = all.clone();
    some.remove(&required[1]);
    some.insert("something-else".into());
    assert_eq!(missing_materials(plan, &some), [required[1].clone()]);
}
