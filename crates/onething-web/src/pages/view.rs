//! Small view models and formatting shared by the pages: China-time dates, colour badges with their word,
//! form inputs built from catalogue fields (with the error next to each), names from the catalogue.

use std::collections::BTreeMap;

use jiff::Timestamp;
use onething_core::calendar::china_tz;
use onething_core::catalog::{Catalog, Choice, FieldType};
use onething_core::colour::Colour;
use onething_core::form::FieldProblem;
use serde_json::Value;

use super::i18n::Tr;

/// Percent-encodes a path or query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An instant in China time, to the minute (Asia/Shanghai is +08:00 all year).
pub fn ts(t: Timestamp) -> String {
    t.to_zoned(china_tz()).strftime("%Y-%m-%d %H:%M").to_string()
}

pub fn opt_ts(t: Option<Timestamp>) -> String {
    t.map(ts).unwrap_or_default()
}

/// A colour as a badge: a CSS class and a word (colour is never the only signal).
#[derive(Debug, Clone)]
pub struct Badge {
    pub class: &'static str,
    pub word: String,
}

impl Badge {
    pub fn of(t: &Tr, c: Option<Colour>) -> Badge {
        match c {
            Some(c) => Badge { class: c.as_str(), word: t.key("colour", c.as_str()) },
            None => Badge { class: "none", word: t.s("colour.none").to_string() },
        }
    }
}

/// One input of a form.
#[derive(Debug, Clone)]
pub struct FieldVm {
    /// The form field's name (`f_<code>` or `r_<code>`) and the element id.
    pub name: String,
    pub label: String,
    /// `text`, `number`, `date`, `tel`, `email`, `select`.
    pub input: &'static str,
    /// The catalogue type (`credit_code`, `id_number`, …).
    pub kind: &'static str,
    pub required: bool,
    pub value: String,
    /// For selects: (value, label, selected).
    pub options: Vec<(String, String, bool)>,
    pub hint: String,
    pub error: String,
}

/// The text of a stored form value.
pub fn value_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// An input for a catalogue field.
#[allow(clippy::too_many_arguments)]
pub fn field_vm(
    t: &Tr,
    prefix: &str,
    code: &str,
    label: &str,
    ty: FieldType,
    required: bool,
    choices: &[Choice],
    value: Option<&Value>,
    problems: &[FieldProblem],
) -> FieldVm {
    let value = value_text(value);
    let input = match ty {
        FieldType::Number => "number",
        FieldType::Date => "date",
        FieldType::Phone => "tel",
        FieldType::Email => "email",
        FieldType::Enum | FieldType::Bool => "select",
        _ => "text",
    };
    let mut options = Vec::new();
    if input == "select" {
        options.push((String::new(), t.s("form.choose").to_string(), value.is_empty()));
        if ty == FieldType::Bool {
            for (v, k) in [("true", "form.yes"), ("false", "form.no")] {
                options.push((v.to_string(), t.s(k).to_string(), value == v));
            }
        } else {
            for c in choices {
                options.push((c.value.clone(), t.pick(&c.label, &c.label_en).to_string(), value == c.value));
            }
        }
    }
    let hint = t.key("hint", ty.as_str());
    let hint = if hint.starts_with("hint.") { String::new() } else { hint };
    let error = problems.iter().find(|p| p.field == code).map(|p| problem_text(t, p)).unwrap_or_default();
    FieldVm {
        name: format!("{prefix}{code}"),
        label: label.to_string(),
        input,
        kind: ty.as_str(),
        required,
        value,
        options,
        hint,
        error,
    }
}

/// A field problem in the reader's language (the core's English message stays for the details).
pub fn problem_text(t: &Tr, p: &FieldProblem) -> String {
    let text = t.key("problem", p.code);
    if text.starts_with("problem.") { p.message.clone() } else { text }
}

/// The JSON value of a posted form value for a field type ("" → absent).
pub fn posted_value(ty: FieldType, raw: &str) -> Option<Value> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    Some(match ty {
        FieldType::Number => match raw.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => match raw.parse::<f64>() {
                Ok(f) if f.is_finite() => Value::from(f),
                _ => Value::String(raw.to_string()),
            },
        },
        FieldType::Bool => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => Value::String(other.to_string()),
        },
        _ => Value::String(raw.to_string()),
    })
}

/// Names from the catalogue in the reader's language.
pub struct Names {
    pub catalog: std::sync::Arc<Catalog>,
    pub t: Tr,
}

impl Names {
    pub fn department(&self, code: &str) -> String {
        self.catalog
            .departments
            .get(code)
            .map_or_else(|| code.to_string(), |d| self.t.pick(&d.name, &d.name_en).to_string())
    }

    pub fn item(&self, code: &str) -> String {
        self.catalog.items.get(code).map_or_else(|| code.to_string(), |d| self.t.pick(&d.name, &d.name_en).to_string())
    }

    pub fn material(&self, code: &str) -> String {
        self.catalog
            .materials
            .get(code)
            .map_or_else(|| code.to_string(), |d| self.t.pick(&d.name, &d.name_en).to_string())
    }

    pub fn licence(&self, code: &str) -> String {
        self.catalog
            .licences
            .get(code)
            .map_or_else(|| code.to_string(), |d| self.t.pick(&d.name, &d.name_en).to_string())
    }

    pub fn bundle(&self, code: &str) -> String {
        self.catalog
            .bundles
            .get(code)
            .map_or_else(|| code.to_string(), |d| self.t.pick(&d.name, &d.name_en).to_string())
    }

    pub fn source(&self, code: &str) -> String {
        self.catalog
            .sources
            .get(code)
            .map_or_else(|| code.to_string(), |d| self.t.pick(&d.name, &d.name_en).to_string())
    }

    /// A field label of a bundle's items or of a licence type.
    pub fn field_label(&self, code: &str) -> String {
        for item in self.catalog.items.values() {
            if let Some(f) = item.fields.iter().find(|f| f.def.code == code) {
                return self.t.pick(&f.def.label, &f.def.label_en).to_string();
            }
        }
        for l in self.catalog.licences.values() {
            if let Some(f) = l.fields.iter().find(|f| f.code == code) {
                return self.t.pick(&f.label, &f.label_en).to_string();
            }
        }
        code.to_string()
    }
}

/// Label/value rows (for reviews and results).
pub type Rows = Vec<(String, String)>;

/// The rows of a result's values, labelled, with a choice's label in place of its value, in the licence's field
/// order.
pub fn labelled(names: &Names, licence: &str, values: &BTreeMap<String, Value>) -> Rows {
    let t = &names.t;
    let fields = names.catalog.licences.get(licence).map(|l| l.fields.as_slice()).unwrap_or_default();
    let mut rows: Rows = fields
        .iter()
        .filter_map(|f| {
            let raw = value_text(values.get(&f.code));
            if raw.is_empty() {
                return None;
            }
            let shown = match (f.field_type, raw.as_str()) {
                (FieldType::Bool, "true") => t.s("form.yes").to_string(),
                (FieldType::Bool, "false") => t.s("form.no").to_string(),
                _ => f
                    .options
                    .iter()
                    .find(|c| c.value == raw)
                    .map_or(raw.clone(), |c| t.pick(&c.label, &c.label_en).to_string()),
            };
            Some((t.pick(&f.label, &f.label_en).to_string(), shown))
        })
        .collect();
    rows.extend(
        values
            .iter()
            .filter(|(k, _)| !fields.iter().any(|f| &f.code == *k))
            .map(|(k, v)| (names.field_label(k), value_text(Some(v)))),
    );
    rows
}
