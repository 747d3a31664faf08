//! Checking the values of a form (表单校验) against its fields: the integrated form of a plan (一表申请) or the
//! fields of one item or licence, and the materials (材料) still missing. Every problem is reported at once, in
//! field order, each with a stable code and a message a person can act on.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use serde::Serialize;
use serde_json::Value;

use crate::catalog::{FieldDef, FieldType};
use crate::codes::{CreditCode, IdNumber};
use crate::plan::{Plan, PlanField};

/// One problem with one form value (字段错误).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    /// The field code.
    pub field: String,
    /// `required`, `unknown_field`, `bad_type`, `bad_number`, `bad_date`, `bad_enum`, `bad_bool`, `bad_phone`,
    /// `bad_email`, `bad_credit_code` or `bad_id_number`.
    pub code: &'static str,
    pub message: String,
}

/// A field to check (表单字段): implemented for [`PlanField`] and [`FieldDef`].
pub trait FieldSpec {
    fn code(&self) -> &str;
    fn field_type(&self) -> FieldType;
    fn required(&self) -> bool;
    /// The allowed values of an `enum` field.
    fn options(&self) -> Vec<&str>;
}

impl FieldSpec for PlanField {
    fn code(&self) -> &str {
        &self.code
    }
    fn field_type(&self) -> FieldType {
        self.field_type
    }
    fn required(&self) -> bool {
        self.required
    }
    fn options(&self) -> Vec<&str> {
        self.options.iter().map(String::as_str).collect()
    }
}

impl FieldSpec for FieldDef {
    fn code(&self) -> &str {
        &self.code
    }
    fn field_type(&self) -> FieldType {
        self.field_type
    }
    fn required(&self) -> bool {
        self.required
    }
    fn options(&self) -> Vec<&str> {
        self.options.iter().map(|c| c.value.as_str()).collect()
    }
}

impl<T: FieldSpec + ?Sized> FieldSpec for &T {
    fn code(&self) -> &str {
        (**self).code()
    }
    fn field_type(&self) -> FieldType {
        (**self).field_type()
    }
    fn required(&self) -> bool {
        (**self).required()
    }
    fn options(&self) -> Vec<&str> {
        (**self).options()
    }
}

/// Checks form values against fields (表单校验); `today` bounds ID-number birth dates. Returns every problem, in field
/// order, then the values for fields that are not in the list (in key order). Optional fields may be absent,
/// `null` or blank.
pub fn validate_values<F: FieldSpec>(fields: &[F], values: &BTreeMap<String, Value>, today: Date) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    for f in fields {
        let problem = |code: &'static str, message: String| FieldProblem { field: f.code().to_string(), code, message };
        let value = values.get(f.code());
        let blank = match value {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            _ => false,
        };
        if blank {
            if f.required() {
                problems.push(problem("required", "a value is required".to_string()));
            }
            continue;
        }
        let Some(value) = value else {
            continue;
        };
        if let Err((code, message)) = check_value(f, value, today) {
            problems.push(problem(code, message));
        }
    }
    for key in values.keys() {
        if !fields.iter().any(|f| f.code() == key) {
            problems.push(FieldProblem {
                field: key.clone(),
                code: "unknown_field",
                message: format!("the form has no field {key:?}"),
            });
        }
    }
    problems
}

/// The required materials (材料) of the plan that are not uploaded (缺件), by code, in plan order.
pub fn missing_materials(plan: &Plan, uploaded: &BTreeSet<String>) -> Vec<String> {
    plan.materials.iter().filter(|m| m.required && !uploaded.contains(&m.code)).map(|m| m.code.clone()).collect()
}

type Check = Result<(), (&'static str, String)>;

/// Checks a present, non-blank value.
fn check_value<F: FieldSpec>(f: &F, value: &Value, today: Date) -> Check {
    let ty = f.field_type();
    if matches!(value, Value::Object(_) | Value::Array(_)) {
        let what = if value.is_object() { "an object" } else { "a list" };
        return Err(("bad_type", format!("expected a single {} value, not {what}", type_words(ty))));
    }
    match ty {
        FieldType::Text => match value {
            Value::String(_) | Value::Number(_) => Ok(()),
            _ => Err(("bad_type", format!("expected text, not {}", json_kind(value)))),
        },
        FieldType::Number => match value {
            Value::Number(_) => Ok(()),
            Value::String(s) if is_decimal(s.trim()) => Ok(()),
            _ => Err(("bad_number", format!("{} is not a number (write e.g. 12 or 3.5)", show(value)))),
        },
        FieldType::Date => match value {
            Value::String(s) if parse_date(s.trim()).is_some() => Ok(()),
            _ => Err(("bad_date", format!("{} is not a date: write YYYY-MM-DD, e.g. 2025-03-01", show(value)))),
        },
        FieldType::Enum => {
            let options = f.options();
            let text = scalar_text(value);
            if text.as_deref().is_some_and(|t| options.contains(&t.trim())) {
                Ok(())
            } else {
                Err(("bad_enum", format!("{} is not one of the choices: {}", show(value), options.join(", "))))
            }
        }
        FieldType::Bool => match value {
            Value::Bool(_) => Ok(()),
            Value::String(s) if matches!(s.trim(), "true" | "false") => Ok(()),
            _ => Err(("bad_bool", format!("{} is not true or false", show(value)))),
        },
        FieldType::Phone => match scalar_text(value) {
            Some(t) if is_phone(t.trim()) => Ok(()),
            _ => Err((
                "bad_phone",
                format!(
                    "{} is not a phone number: write a mobile number of 11 digits (e.g. 13812345678) or a \
                     landline with its area code (e.g. 0635-1234567)",
                    show(value)
                ),
            )),
        },
        FieldType::Email => match value {
            Value::String(s) if is_email(s.trim()) => Ok(()),
            _ => Err(("bad_email", format!("{} is not an e-mail address (write e.g. name@example.cn)", show(value)))),
        },
        FieldType::CreditCode => match value {
            Value::String(s) => CreditCode::parse(s).map(|_| ()).map_err(|e| ("bad_credit_code", e.to_string())),
            _ => Err(("bad_credit_code", "the unified social credit code must be written as text".to_string())),
        },
        FieldType::IdNumber => match value {
            Value::String(s) => IdNumber::parse_at(s, today).map(|_| ()).map_err(|e| ("bad_id_number", e.to_string())),
            _ => Err(("bad_id_number", "the resident ID number must be written as text".to_string())),
        },
    }
}

fn type_words(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Text => "text",
        FieldType::Number => "number",
        FieldType::Date => "date",
        FieldType::Enum => "choice",
        FieldType::Bool => "yes/no",
        FieldType::Phone => "phone number",
        FieldType::CreditCode => "credit code",
        FieldType::IdNumber => "ID number",
        FieldType::Email => "e-mail",
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A value for a message: text quoted, anything else as JSON.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// The text of a string or number value.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A finite decimal: an optional sign, digits, and optionally a point followed by digits.
fn is_decimal(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    match s.split_once('.') {
        Some((int, frac)) => digits(int) && digits(frac),
        None => digits(s),
    }
}

/// A real date written exactly `YYYY-MM-DD`.
fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i16> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    Date::new(y, i8::try_from(m).ok()?, i8::try_from(d).ok()?).ok()
}

/// A mainland mobile number `1[3-9]` + 9 digits, or a landline with its area code: `0` + 2–3 digits, an
/// optional `-`, then 7–8 digits (`0635-1234567`, `06351234567`, `010-12345678`).
fn is_phone(s: &str) -> bool {
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let b = s.as_bytes();
    if b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && digits(s) {
        return true;
    }
    if !s.starts_with('0') {
        return false;
    }
    if let Some((area, number)) = s.split_once('-') {
        return digits(area) && (3..=4).contains(&area.len()) && digits(number) && (7..=8).contains(&number.len());
    }
    // Without a dash: area code of 3 or 4 digits and a number of 7 or 8 → 10 to 12 digits.
    digits(s) && (10..=12).contains(&s.len())
}

/// A plain e-mail address: `local@domain.tld`, no spaces, the domain of non-empty dot-separated labels.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let ok_char = |c: char| !c.is_whitespace() && !c.is_control() && !matches!(c, '@' | '<' | '>' | ',' | ';');
    !local.is_empty()
        && local.chars().all(ok_char)
        && !local.starts_with('.')
        && !local.ends_with('.')
        && domain.contains('.')
        && domain.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}
