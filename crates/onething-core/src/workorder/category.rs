//! The hotline's category code list (诉求分类 / 派单目录) as data: per category its Chinese and English name,
//! urgency, time limits and how they count, whether the limit may be extended, where it is dispatched, and its
//! Open311 `service_code`. Read from TOML ([`CategoryList::from_toml`]) with every error located; the list of
//! the repository (`catalog/hotline/categories.txt`, DOMAIN.md §3.2 defaults) is compiled in as
//! [`CategoryList::defaults`].

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::WorkOrderError;
use super::limit::{Basis, CALENDAR_DAY_MINUTES, MAX_CALENDAR_DAYS, TimeLimit};
use crate::calendar::MAX_WORKING_DAYS;
use crate::duration::{NOMINAL_DAY_MINUTES, WorkingDuration};
use crate::source::{SourceError, SourceFile, toml_error};

const DEFAULTS_NAME: &str = "catalog/hotline/categories.txt";
const DEFAULTS_TEXT: &str = include_str!("../../../../catalog/hotline/categories.txt");

static DEFAULTS: LazyLock<CategoryList> =
    LazyLock::new(|| match CategoryList::from_toml(&SourceFile::new(DEFAULTS_NAME, DEFAULTS_TEXT)) {
        Ok(list) => list,
        // The file is compiled in and read by the tests, so this is a build defect, not bad input.
        Err(errors) => {
            let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("the embedded {DEFAULTS_NAME} is invalid:\n{}", errors.join("\n"))
        }
    });

/// How urgent a category is (紧急程度).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// 紧急: danger to life or property.
    Urgent,
    /// 较急: time-critical, e.g. water, power, gas and heating (水电气热).
    High,
    /// 一般: everything else.
    Normal,
}

impl Urgency {
    pub const ALL: [Urgency; 3] = [Urgency::Urgent, Urgency::High, Urgency::Normal];

    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Urgent => "urgent",
            Urgency::High => "high",
            Urgency::Normal => "normal",
        }
    }
}

/// Where orders of a category go (派单去向): to a department (职能部门), or to a people's mediation committee
/// (人民调解委员会) because the request is a civil dispute (DOMAIN.md §3, last paragraph).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Department,
    Mediation,
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Department => "department",
            Route::Mediation => "mediation",
        }
    }
}

/// One category (诉求类别) of the code list. A work order keeps a copy of its category, so an order's history
/// replays without the list and a later change of the list does not change old orders.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Category {
    pub code: String,
    pub name: String,
    pub name_en: String,
    /// The Open311 GeoReport v2 `service_code`.
    pub service_code: String,
    pub urgency: Urgency,
    /// The handling limit (办理时限), counted from dispatch.
    pub limit: TimeLimit,
    /// The sign-for limit (签收时限), counted from dispatch the same way as the handling limit.
    pub sign_within: TimeLimit,
    /// Whether the unit may ask for an extension (延期), which the hotline centre approves.
    pub extendable: bool,
    pub route: Route,
    /// The unit the dispatch catalogue (派单目录) suggests: a department code, or a committee code for
    /// [`Route::Mediation`].
    pub unit: Option<String>,
}

/// The category code list, in file order.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct CategoryList {
    categories: Vec<Category>,
}

impl CategoryList {
    /// The list shipped with onething (`catalog/hotline/categories.txt`, compiled in): the DOMAIN.md §3.2
    /// defaults.
    pub fn defaults() -> CategoryList {
        DEFAULTS.clone()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Category> {
        self.categories.iter()
    }

    pub fn len(&self) -> usize {
        self.categories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }

    pub fn get(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }

    /// The category of a code, or [`WorkOrderError::UnknownCategory`].
    pub fn require(&self, code: &str) -> Result<&Category, WorkOrderError> {
        self.get(code).ok_or_else(|| WorkOrderError::UnknownCategory(code.to_string()))
    }

    /// The category with an Open311 `service_code`.
    pub fn by_service_code(&self, service_code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.service_code == service_code)
    }

    /// Reads a code list (see `catalog/hotline/categories.txt` for the format). Returns every problem found,
    /// each with its file, line and column, sorted; a syntax or type error stops the reading, so it comes alone.
    pub fn from_toml(file: &SourceFile) -> Result<CategoryList, Vec<SourceError>> {
        let raw: RawFile = toml::from_str(&file.text).map_err(|e| vec![toml_error(file, &e)])?;
        let mut errors = Vec::new();
        if raw.category.is_empty() {
            errors.push(file.error_at(0, "the file defines no category: add a [[category]] table"));
        }
        let mut codes: BTreeMap<String, usize> = BTreeMap::new();
        let mut service_codes: BTreeMap<String, usize> = BTreeMap::new();
        let mut categories = Vec::new();
        for raw in raw.category {
            let raw = raw.into_inner();
            let mut unique = |seen: &mut BTreeMap<String, usize>, value: &Spanned<String>, what: &str| {
                let at = value.span().start;
                match seen.get(value.get_ref()) {
                    Some(&first) => {
                        let (line, _) = file.line_col(first);
                        let message = format!("{what} {:?} is used twice (first on line {line})", value.get_ref());
                        errors.push(file.error_at(at, message));
                    }
                    None => {
                        seen.insert(value.get_ref().clone(), at);
                    }
                }
            };
            unique(&mut codes, &raw.code, "the category code");
            unique(&mut service_codes, &raw.service_code, "the service_code");
            if let Some(category) = check(file, raw, &mut errors) {
                categories.push(category);
            }
        }
        if errors.is_empty() {
            Ok(CategoryList { categories })
        } else {
            errors.sort();
            errors.dedup();
            Err(errors)
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    category: Vec<Spanned<RawCategory>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    code: Spanned<String>,
    name: Spanned<String>,
    name_en: Spanned<String>,
    service_code: Spanned<String>,
    urgency: Spanned<String>,
    limit: Spanned<String>,
    counts: Spanned<String>,
    sign_within: Spanned<String>,
    #[serde(default = "yes")]
    extendable: bool,
    route: Option<Spanned<String>>,
    unit: Option<Spanned<String>>,
}

fn yes() -> bool {
    true
}

fn code_ok(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && code.as_bytes()[0].is_ascii_lowercase()
}

fn service_code_ok(code: &str) -> bool {
    !code.is_empty() && code.len() <= 64 && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks one `[[category]]` table, pushing its errors; returns the category only if it has none.
fn check(file: &SourceFile, raw: RawCategory, errors: &mut Vec<SourceError>) -> Option<Category> {
    let before = errors.len();
    let mut err = |value_at: usize, message: String| errors.push(file.error_at(value_at, message));
    if !code_ok(raw.code.get_ref()) {
        err(
            raw.code.span().start,
            format!(
                "bad category code {:?}: use lowercase letters, digits, '-' and '_', starting with a letter",
                raw.code.get_ref()
            ),
        );
    }
    if !service_code_ok(raw.service_code.get_ref()) {
        err(
            raw.service_code.span().start,
            format!("bad service_code {:?}: use ASCII letters, digits, '-' and '_'", raw.service_code.get_ref()),
        );
    }
    for (value, what) in [(&raw.name, "name"), (&raw.name_en, "name_en")] {
        if value.get_ref().trim().is_empty() {
            err(value.span().start, format!("the {what} is empty"));
        }
    }
    let urgency = Urgency::ALL.into_iter().find(|u| u.as_str() == raw.urgency.get_ref());
    if urgency.is_none() {
        err(
            raw.urgency.span().start,
            format!("unknown urgency {:?}: expected urgent, high or normal", raw.urgency.get_ref()),
        );
    }
    let counts = Basis::parse(raw.counts.get_ref());
    if counts.is_none() {
        err(
            raw.counts.span().start,
            format!("unknown counts {:?}: expected working or calendar", raw.counts.get_ref()),
        );
    }
    let route = match &raw.route {
        None => Some(Route::Department),
        Some(r) => match r.get_ref().as_str() {
            "department" => Some(Route::Department),
            "mediation" => Some(Route::Mediation),
            other => {
                err(r.span().start, format!("unknown route {other:?}: expected department or mediation"));
                None
            }
        },
    };
    if let Some(unit) = &raw.unit
        && !code_ok(unit.get_ref())
    {
        err(
            unit.span().start,
            format!("bad unit code {:?}: use lowercase letters, digits, '-' and '_'", unit.get_ref()),
        );
    }
    let mut amount = |value: &Spanned<String>, what: &str| -> Option<WorkingDuration> {
        match value.get_ref().parse::<WorkingDuration>() {
            Ok(d) if d.nominal_minutes() == 0 => {
                err(value.span().start, format!("the {what} is zero: give a time, e.g. 24h or 5d"));
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                err(value.span().start, e.to_string());
                None
            }
        }
    };
    let limit = amount(&raw.limit, "limit");
    let sign_within = amount(&raw.sign_within, "sign_within");
    if let (Some(counts), Some(limit), Some(sign_within)) = (counts, limit, sign_within) {
        let limit = TimeLimit { amount: limit, counts };
        let sign_within = TimeLimit { amount: sign_within, counts };
        let max = match counts {
            Basis::Working => MAX_WORKING_DAYS * NOMINAL_DAY_MINUTES,
            Basis::Calendar => MAX_CALENDAR_DAYS * CALENDAR_DAY_MINUTES,
        };
        if limit.nominal_minutes() > max {
            err(raw.limit.span().start, format!("the limit {} is too long: check it", limit.amount));
        }
        if sign_within.nominal_minutes() > limit.nominal_minutes() {
            err(
                raw.sign_within.span().start,
                format!(
                    "sign_within {} is longer than the limit {}: a unit signs for an order before it handles it",
                    sign_within.amount, limit.amount
                ),
            );
        }
    }
    if errors.len() > before {
        return None;
    }
    let counts = counts?;
    Some(Category {
        code: raw.code.into_inner(),
        name: raw.name.into_inner(),
        name_en: raw.name_en.into_inner(),
        service_code: raw.service_code.into_inner(),
        urgency: urgency?,
        limit: TimeLimit { amount: limit?, counts },
        sign_within: TimeLimit { amount: sign_within?, counts },
        extendable: raw.extendable,
        route: route?,
        unit: raw.unit.map(Spanned::into_inner),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_list_reads_cleanly() {
        let file = SourceFile::new(DEFAULTS_NAME, DEFAULTS_TEXT);
        let list = CategoryList::from_toml(&file).unwrap_or_else(|errors| panic!("{errors:?}"));
        assert!(list.iter().any(|c| c.route == Route::Mediation));
    }
}
