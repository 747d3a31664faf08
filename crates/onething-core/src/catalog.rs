//! The catalogue (事项目录) as data: departments (部门), materials (材料), licence types (证照类型), shared data
//! sources (数据共享), items (单项事), bundles (一件事) and batches of national key items (重点事项清单).
//!
//! The catalogue arrives as TOML texts ([`SourceFile`]s; the CLI reads the directory). [`Catalog::load`] parses
//! every file, checks every reference and rule, and returns either a validated [`Catalog`] or *all* the errors
//! found, each with `file:line:column`. Past this boundary the catalogue holds no spans and no invalid value.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::duration::WorkingDuration;
use crate::source::{SourceError, SourceFile, toml_error};

/// 部门: a department that owns items and works their tasks.
#[derive(Debug, Clone, Serialize)]
pub struct Department {
    pub code: String,
    pub name: String,
    pub name_en: String,
}

/// How a material is handed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MaterialForm {
    /// 原件
    Original,
    /// 复印件
    Copy,
    /// 电子件 (an upload only)
    Electronic,
}

/// 材料: a material with a catalogue-wide code, so two items asking for it ask for one thing.
#[derive(Debug, Clone, Serialize)]
pub struct Material {
    pub code: String,
    pub name: String,
    pub name_en: String,
    /// The licence type this material is a copy of; an item of the same bundle that issues it produces it.
    pub licence: Option<String>,
}

/// 证照类型: the kind of result an item issues, with its surface fields (照面信息).
#[derive(Debug, Clone, Serialize)]
pub struct LicenceType {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub fields: Vec<FieldDef>,
    /// The item that cancels a licence of this type (注销) when its holder closes: a closing company's
    /// licences add these items to its deregistration plan ("8+N", see [`crate::deregistration`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancellation: Option<String>,
}

/// 数据共享: a shared data source that answers some materials without an upload.
#[derive(Debug, Clone, Serialize)]
pub struct SharedSource {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub answers: Vec<String>,
}

/// The type of a form field; values are checked by the core at submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Number,
    Date,
    Enum,
    Bool,
    Phone,
    CreditCode,
    IdNumber,
    Email,
}

impl FieldType {
    const NAMES: [(&'static str, FieldType); 9] = [
        ("text", FieldType::Text),
        ("number", FieldType::Number),
        ("date", FieldType::Date),
        ("enum", FieldType::Enum),
        ("bool", FieldType::Bool),
        ("phone", FieldType::Phone),
        ("credit_code", FieldType::CreditCode),
        ("id_number", FieldType::IdNumber),
        ("email", FieldType::Email),
    ];

    pub fn as_str(self) -> &'static str {
        Self::NAMES.iter().find(|(_, t)| *t == self).map_or("text", |(n, _)| n)
    }

    fn parse(s: &str) -> Option<FieldType> {
        Self::NAMES.iter().find(|(n, _)| *n == s).map(|(_, t)| *t)
    }
}

/// One allowed value of an `enum` field or a situation question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub label_en: String,
}

/// A form field (表单字段) of an item or the surface field of a licence type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDef {
    pub code: String,
    pub label: String,
    pub label_en: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    pub required: bool,
    pub options: Vec<Choice>,
}

impl FieldDef {
    /// Two definitions of one field conflict when what they accept differs (type or options).
    pub fn conflicts_with(&self, other: &FieldDef) -> bool {
        self.field_type != other.field_type
            || self.options.iter().map(|c| &c.value).ne(other.options.iter().map(|c| &c.value))
    }
}

/// A condition `question=value` on a situation answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Condition {
    pub question: String,
    pub value: String,
}

impl Condition {
    pub fn holds(&self, answers: &BTreeMap<String, String>) -> bool {
        answers.get(&self.question) == Some(&self.value)
    }
}

/// A material an item asks for.
#[derive(Debug, Clone, Serialize)]
pub struct ItemMaterial {
    pub code: String,
    pub required: bool,
    pub form: MaterialForm,
    /// Asked only when this situation answer holds.
    pub when: Option<Condition>,
}

/// A form field an item asks for.
#[derive(Debug, Clone, Serialize)]
pub struct ItemField {
    pub def: FieldDef,
    pub when: Option<Condition>,
}

/// The legal kind of an item (事项类型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// 行政许可
    Licensing,
    /// 行政确认
    Confirmation,
    /// 行政备案
    Filing,
    /// 公共服务
    PublicService,
    /// 其他行政权力
    Other,
}

impl ItemKind {
    const NAMES: [(&'static str, ItemKind); 5] = [
        ("licensing", ItemKind::Licensing),
        ("confirmation", ItemKind::Confirmation),
        ("filing", ItemKind::Filing),
        ("public_service", ItemKind::PublicService),
        ("other", ItemKind::Other),
    ];
}

/// 单项事 / 事项: one administrative service of one department.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub department: String,
    pub kind: ItemKind,
    pub legal_basis: String,
    /// 法定时限
    pub statutory_limit: WorkingDuration,
    /// 承诺时限
    pub promised_limit: WorkingDuration,
    /// Applicant-facing steps when the item is done alone (申请、领证 …).
    pub steps: u32,
    /// The licence type it issues, if any.
    pub result: Option<String>,
    pub materials: Vec<ItemMaterial>,
    pub fields: Vec<ItemField>,
}

/// An item as a member of a bundle.
#[derive(Debug, Clone, Serialize)]
pub struct BundleItem {
    pub item: String,
    /// The item's limit inside the bundle (defaults to its promised limit).
    pub limit: WorkingDuration,
    /// Items whose result this one needs first.
    pub needs: Vec<String>,
}

/// 情形 (引导问题): a situation question whose answer switches items, materials or fields.
#[derive(Debug, Clone, Serialize)]
pub struct Question {
    pub code: String,
    pub label: String,
    pub label_en: String,
    pub options: Vec<Choice>,
    pub default: String,
}

/// What an answer switches off.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub when: Condition,
    pub off_items: Vec<String>,
    pub off_materials: Vec<String>,
    pub off_fields: Vec<String>,
}

/// How a bundle concludes when departments disagree (办结规则).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConclusionRule {
    /// Every task must be approved, else the case is rejected.
    AllOrNothing,
    /// Approved tasks stand on their own: the case may be partly approved.
    Partial,
}

/// 一件事: several items of several departments, applied for once.
#[derive(Debug, Clone, Serialize)]
pub struct Bundle {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub summary: String,
    pub lead_department: String,
    pub promised_limit: WorkingDuration,
    pub conclusion: ConclusionRule,
    /// Applicant-facing steps of the bundle (one application, results pushed: usually 1).
    pub steps: u32,
    pub shared_sources: Vec<String>,
    pub items: Vec<BundleItem>,
    pub questions: Vec<Question>,
    pub rules: Vec<Rule>,
}

/// One key item of a national batch.
#[derive(Debug, Clone, Serialize)]
pub struct BatchEntry {
    pub name: String,
    pub lead: String,
    pub bundle: Option<String>,
}

/// 重点事项清单批次: a batch of national key "one thing" items.
#[derive(Debug, Clone, Serialize)]
pub struct Batch {
    pub code: String,
    pub name: String,
    pub year: i32,
    pub issued_by: String,
    pub entries: Vec<BatchEntry>,
}

/// A milestone of an upgrade-project template.
#[derive(Debug, Clone, Serialize)]
pub struct MilestoneDef {
    pub code: String,
    pub name: String,
    pub name_en: String,
    /// Its deadline, counted from the project's start (working time).
    pub limit: WorkingDuration,
    /// The department that owns it (责任部门).
    pub department: String,
}

/// 技改项目模板: the milestones an upgrade project goes through (project approval, land, resource supply,
/// finance, R&D …). "一企一策": a project may change its own limits.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectTemplate {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub milestones: Vec<MilestoneDef>,
}

/// A validated catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    /// A fingerprint of the catalogue's text; a case is pinned to the version it was filed under.
    pub version: String,
    pub name: String,
    pub departments: BTreeMap<String, Department>,
    pub materials: BTreeMap<String, Material>,
    pub licences: BTreeMap<String, LicenceType>,
    pub sources: BTreeMap<String, SharedSource>,
    pub items: BTreeMap<String, Item>,
    pub bundles: BTreeMap<String, Bundle>,
    pub batches: Vec<Batch>,
    pub project_templates: BTreeMap<String, ProjectTemplate>,
}

// ---------------------------------------------------------------------------------------------------------
// The raw shapes of the files, with spans on everything that is checked after parsing.

type S = Spanned<String>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: Option<S>,
    #[serde(default, rename = "department")]
    departments: Vec<RawDepartment>,
    #[serde(default, rename = "material")]
    materials: Vec<RawMaterial>,
    #[serde(default, rename = "licence")]
    licences: Vec<RawLicence>,
    #[serde(default, rename = "source")]
    sources: Vec<RawSource>,
    #[serde(default, rename = "item")]
    items: Vec<RawItem>,
    #[serde(default, rename = "bundle")]
    bundles: Vec<RawBundle>,
    #[serde(default, rename = "batch")]
    batches: Vec<RawBatch>,
    #[serde(default, rename = "project_template")]
    project_templates: Vec<RawProjectTemplate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMilestone {
    code: S,
    name: String,
    name_en: String,
    limit: S,
    department: S,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProjectTemplate {
    code: S,
    name: String,
    name_en: String,
    #[serde(rename = "milestone")]
    milestones: Vec<RawMilestone>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDepartment {
    code: S,
    name: String,
    name_en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMaterial {
    code: S,
    name: String,
    name_en: String,
    licence: Option<S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLicence {
    code: S,
    name: String,
    name_en: String,
    cancellation: Option<S>,
    #[serde(default, rename = "field")]
    fields: Vec<RawField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    code: S,
    name: String,
    name_en: String,
    answers: Vec<S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChoice {
    value: S,
    label: String,
    label_en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    code: S,
    label: String,
    label_en: String,
    #[serde(rename = "type")]
    field_type: S,
    #[serde(default = "yes")]
    required: bool,
    #[serde(default, rename = "option")]
    options: Vec<RawChoice>,
    when: Option<S>,
}

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItemMaterial {
    code: S,
    #[serde(default = "yes")]
    required: bool,
    form: Option<S>,
    when: Option<S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    code: S,
    name: String,
    name_en: String,
    department: S,
    kind: S,
    legal_basis: String,
    statutory_limit: S,
    promised_limit: S,
    #[serde(default = "one")]
    steps: u32,
    result: Option<S>,
    #[serde(default, rename = "material")]
    materials: Vec<RawItemMaterial>,
    #[serde(default, rename = "field")]
    fields: Vec<RawField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBundleItem {
    code: S,
    limit: Option<S>,
    #[serde(default)]
    needs: Vec<S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    code: S,
    label: String,
    label_en: String,
    default: Option<S>,
    #[serde(rename = "option")]
    options: Vec<RawChoice>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    when: S,
    #[serde(default)]
    off_items: Vec<S>,
    #[serde(default)]
    off_materials: Vec<S>,
    #[serde(default)]
    off_fields: Vec<S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBundle {
    code: S,
    name: String,
    name_en: String,
    #[serde(default)]
    summary: String,
    lead_department: S,
    promised_limit: S,
    conclusion: Option<S>,
    #[serde(default = "one")]
    steps: u32,
    #[serde(default)]
    shared_sources: Vec<S>,
    #[serde(rename = "item")]
    items: Vec<RawBundleItem>,
    #[serde(default, rename = "question")]
    questions: Vec<RawQuestion>,
    #[serde(default, rename = "rule")]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBatchEntry {
    name: String,
    lead: String,
    bundle: Option<S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBatch {
    code: S,
    name: String,
    year: i32,
    issued_by: String,
    #[serde(rename = "entry")]
    entries: Vec<RawBatchEntry>,
}

// ---------------------------------------------------------------------------------------------------------
// Loading and checking.

/// Collects errors against the file they belong to.
struct Checker<'a> {
    files: &'a [SourceFile],
    errors: Vec<SourceError>,
}

impl Checker<'_> {
    fn err(&mut self, file: usize, span: Range<usize>, message: impl Into<String>) {
        self.errors.push(self.files[file].error_at(span.start, message));
    }
}

fn code_ok(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && code.as_bytes()[0].is_ascii_lowercase()
}

fn parse_condition(raw: &S) -> Option<Condition> {
    let (q, v) = raw.get_ref().split_once('=')?;
    let (q, v) = (q.trim(), v.trim());
    (!q.is_empty() && !v.is_empty()).then(|| Condition { question: q.to_string(), value: v.to_string() })
}

impl Catalog {
    /// Parses and checks a whole catalogue. Returns every error found, sorted by file, line and column.
    pub fn load(files: &[SourceFile]) -> Result<Catalog, Vec<SourceError>> {
        let mut ck = Checker { files, errors: Vec::new() };
        let mut raws: Vec<(usize, RawFile)> = Vec::new();
        for (i, file) in files.iter().enumerate() {
            match toml::from_str::<RawFile>(&file.text) {
                Ok(raw) => raws.push((i, raw)),
                Err(e) => ck.errors.push(toml_error(file, &e)),
            }
        }
        let catalog = build(&mut ck, raws);
        let mut errors = ck.errors;
        if errors.is_empty() {
            Ok(catalog)
        } else {
            errors.sort();
            errors.dedup();
            Err(errors)
        }
    }

    /// Bundles in a stable order (by code).
    pub fn bundle(&self, code: &str) -> Option<&Bundle> {
        self.bundles.get(code)
    }
}

/// A fingerprint of the catalogue texts (FNV-1a 64 over names and texts, sorted by name).
fn fingerprint(files: &[SourceFile]) -> String {
    let mut sorted: Vec<&SourceFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for f in sorted {
        for b in f.name.bytes().chain([0u8]).chain(f.text.bytes()).chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// A duration, or `None` after reporting why it does not parse.
fn try_duration(ck: &mut Checker<'_>, file: usize, raw: &S) -> Option<WorkingDuration> {
    match raw.get_ref().parse::<WorkingDuration>() {
        Ok(d) => Some(d),
        Err(e) => {
            ck.err(file, raw.span(), e.to_string());
            None
        }
    }
}

fn duration(ck: &mut Checker<'_>, file: usize, raw: &S) -> WorkingDuration {
    try_duration(ck, file, raw).unwrap_or(WorkingDuration::ZERO)
}

fn check_code(ck: &mut Checker<'_>, file: usize, raw: &S, what: &str) {
    if !code_ok(raw.get_ref()) {
        ck.err(
            file,
            raw.span(),
            format!(
                "bad {what} code {:?}: use lowercase letters, digits, '-' and '_', starting with a letter",
                raw.get_ref()
            ),
        );
    }
}

fn choices(ck: &mut Checker<'_>, file: usize, raw: &[RawChoice]) -> Vec<Choice> {
    let mut seen = BTreeSet::new();
    raw.iter()
        .map(|c| {
            if !seen.insert(c.value.get_ref().clone()) {
                ck.err(file, c.value.span(), format!("duplicate option value {:?}", c.value.get_ref()));
            }
            Choice { value: c.value.get_ref().clone(), label: c.label.clone(), label_en: c.label_en.clone() }
        })
        .collect()
}

fn field(ck: &mut Checker<'_>, file: usize, raw: &RawField) -> FieldDef {
    check_code(ck, file, &raw.code, "field");
    let field_type = FieldType::parse(raw.field_type.get_ref()).unwrap_or_else(|| {
        let names: Vec<&str> = FieldType::NAMES.iter().map(|(n, _)| *n).collect();
        ck.err(
            file,
            raw.field_type.span(),
            format!("unknown field type {:?}: expected one of {}", raw.field_type.get_ref(), names.join(", ")),
        );
        FieldType::Text
    });
    let options = choices(ck, file, &raw.options);
    if field_type == FieldType::Enum && options.is_empty() {
        ck.err(file, raw.field_type.span(), format!("enum field {:?} has no options", raw.code.get_ref()));
    }
    if field_type != FieldType::Enum && !options.is_empty() {
        ck.err(file, raw.field_type.span(), format!("field {:?} has options but is not an enum", raw.code.get_ref()));
    }
    FieldDef {
        code: raw.code.get_ref().clone(),
        label: raw.label.clone(),
        label_en: raw.label_en.clone(),
        field_type,
        required: raw.required,
        options,
    }
}

/// A reference to check once every definition is known.
struct Ref {
    file: usize,
    span: Range<usize>,
    kind: &'static str,
    code: String,
}

fn build(ck: &mut Checker<'_>, raws: Vec<(usize, RawFile)>) -> Catalog {
    let mut catalog = Catalog {
        version: fingerprint(ck.files),
        name: String::new(),
        departments: BTreeMap::new(),
        materials: BTreeMap::new(),
        licences: BTreeMap::new(),
        sources: BTreeMap::new(),
        items: BTreeMap::new(),
        bundles: BTreeMap::new(),
        batches: Vec::new(),
        project_templates: BTreeMap::new(),
    };
    // Where each code was defined, for duplicate reports.
    let mut defined: BTreeMap<(&'static str, String), (usize, Range<usize>)> = BTreeMap::new();
    let mut refs: Vec<Ref> = Vec::new();
    let mut define = |ck: &mut Checker<'_>, kind: &'static str, file: usize, raw: &S| -> bool {
        check_code(ck, file, raw, kind);
        let key = (kind, raw.get_ref().clone());
        if let Some((f0, span0)) = defined.get(&key) {
            let (l, c) = ck.files[*f0].line_col(span0.start);
            let first = format!("{}:{l}:{c}", ck.files[*f0].name);
            ck.err(file, raw.span(), format!("duplicate {kind} code {:?} (first defined at {first})", raw.get_ref()));
            false
        } else {
            defined.insert(key, (file, raw.span()));
            true
        }
    };
    let mut bundle_spans: Vec<(usize, RawBundle)> = Vec::new();
    let mut templates: Vec<(usize, RawProjectTemplate)> = Vec::new();
    let mut item_spans: BTreeMap<String, (usize, Range<usize>)> = BTreeMap::new();

    for (file, raw) in raws {
        if let Some(name) = raw.name {
            catalog.name = name.into_inner();
        }
        for d in raw.departments {
            if define(ck, "department", file, &d.code) {
                let code = d.code.into_inner();
                catalog.departments.insert(code.clone(), Department { code, name: d.name, name_en: d.name_en });
            }
        }
        for m in raw.materials {
            if let Some(l) = &m.licence {
                refs.push(Ref { file, span: l.span(), kind: "licence", code: l.get_ref().clone() });
            }
            if define(ck, "material", file, &m.code) {
                let code = m.code.into_inner();
                catalog.materials.insert(
                    code.clone(),
                    Material { code, name: m.name, name_en: m.name_en, licence: m.licence.map(Spanned::into_inner) },
                );
            }
        }
        for l in raw.licences {
            let fields: Vec<FieldDef> = l.fields.iter().map(|f| field(ck, file, f)).collect();
            let mut seen = BTreeSet::new();
            for f in &l.fields {
                if f.when.is_some() {
                    ck.err(file, f.code.span(), "a licence field cannot depend on a situation answer");
                }
                if !seen.insert(f.code.get_ref().clone()) {
                    ck.err(file, f.code.span(), format!("duplicate field {:?} in licence", f.code.get_ref()));
                }
            }
            if let Some(c) = &l.cancellation {
                refs.push(Ref { file, span: c.span(), kind: "item", code: c.get_ref().clone() });
            }
            if define(ck, "licence", file, &l.code) {
                let code = l.code.into_inner();
                let cancellation = l.cancellation.map(Spanned::into_inner);
                catalog
                    .licences
                    .insert(code.clone(), LicenceType { code, name: l.name, name_en: l.name_en, fields, cancellation });
            }
        }
        for s in raw.sources {
            for a in &s.answers {
                refs.push(Ref { file, span: a.span(), kind: "material", code: a.get_ref().clone() });
            }
            if define(ck, "source", file, &s.code) {
                let code = s.code.into_inner();
                catalog.sources.insert(
                    code.clone(),
                    SharedSource {
                        code,
                        name: s.name,
                        name_en: s.name_en,
                        answers: s.answers.into_iter().map(Spanned::into_inner).collect(),
                    },
                );
            }
        }
        for it in raw.items {
            let item = build_item(ck, file, &it, &mut refs);
            if define(ck, "item", file, &it.code) {
                item_spans.insert(item.code.clone(), (file, it.code.span()));
                catalog.items.insert(item.code.clone(), item);
            }
        }
        for b in raw.bundles {
            if define(ck, "bundle", file, &b.code) {
                bundle_spans.push((file, b));
            }
        }
        for t in raw.project_templates {
            if define(ck, "project template", file, &t.code) {
                templates.push((file, t));
            }
        }
        for b in raw.batches {
            define(ck, "batch", file, &b.code);
            let entries = b
                .entries
                .into_iter()
                .map(|e| {
                    if let Some(bc) = &e.bundle {
                        refs.push(Ref { file, span: bc.span(), kind: "bundle", code: bc.get_ref().clone() });
                    }
                    BatchEntry { name: e.name, lead: e.lead, bundle: e.bundle.map(Spanned::into_inner) }
                })
                .collect();
            catalog.batches.push(Batch {
                code: b.code.into_inner(),
                name: b.name,
                year: b.year,
                issued_by: b.issued_by,
                entries,
            });
        }
    }

    for (file, raw) in &templates {
        let mut seen = BTreeSet::new();
        let milestones: Vec<MilestoneDef> = raw
            .milestones
            .iter()
            .map(|m| {
                check_code(ck, *file, &m.code, "milestone");
                if !seen.insert(m.code.get_ref().clone()) {
                    ck.err(*file, m.code.span(), format!("milestone {:?} listed twice", m.code.get_ref()));
                }
                refs.push(Ref {
                    file: *file,
                    span: m.department.span(),
                    kind: "department",
                    code: m.department.get_ref().clone(),
                });
                MilestoneDef {
                    code: m.code.get_ref().clone(),
                    name: m.name.clone(),
                    name_en: m.name_en.clone(),
                    limit: duration(ck, *file, &m.limit),
                    department: m.department.get_ref().clone(),
                }
            })
            .collect();
        if milestones.is_empty() {
            ck.err(*file, raw.code.span(), "a project template needs at least one milestone");
        }
        catalog.project_templates.insert(
            raw.code.get_ref().clone(),
            ProjectTemplate {
                code: raw.code.get_ref().clone(),
                name: raw.name.clone(),
                name_en: raw.name_en.clone(),
                milestones,
            },
        );
    }

    // Bundles need every item defined first (their limits default to the item's).
    for (file, raw) in &bundle_spans {
        let bundle = build_bundle(ck, *file, raw, &catalog, &mut refs);
        catalog.bundles.insert(bundle.code.clone(), bundle);
    }

    for r in refs {
        let known = match r.kind {
            "department" => catalog.departments.contains_key(&r.code),
            "material" => catalog.materials.contains_key(&r.code),
            "licence" => catalog.licences.contains_key(&r.code),
            "source" => catalog.sources.contains_key(&r.code),
            "item" => catalog.items.contains_key(&r.code),
            "bundle" => {
                catalog.bundles.contains_key(&r.code) || bundle_spans.iter().any(|(_, b)| b.code.get_ref() == &r.code)
            }
            _ => true,
        };
        if !known {
            ck.err(r.file, r.span, format!("unknown {} {:?}", r.kind, r.code));
        }
    }

    // Field conflicts and critical paths are checked per bundle, once every reference is known.
    for (file, raw) in &bundle_spans {
        if let Some(bundle) = catalog.bundles.get(raw.code.get_ref()) {
            check_bundle_semantics(ck, *file, raw, bundle, &catalog);
        }
    }
    catalog
}

fn build_item(ck: &mut Checker<'_>, file: usize, it: &RawItem, refs: &mut Vec<Ref>) -> Item {
    refs.push(Ref { file, span: it.department.span(), kind: "department", code: it.department.get_ref().clone() });
    if let Some(r) = &it.result {
        refs.push(Ref { file, span: r.span(), kind: "licence", code: r.get_ref().clone() });
    }
    let kind = ItemKind::NAMES.iter().find(|(n, _)| n == it.kind.get_ref()).map(|(_, k)| *k).unwrap_or_else(|| {
        let names: Vec<&str> = ItemKind::NAMES.iter().map(|(n, _)| *n).collect();
        ck.err(
            file,
            it.kind.span(),
            format!("unknown item kind {:?}: expected one of {}", it.kind.get_ref(), names.join(", ")),
        );
        ItemKind::Other
    });
    let statutory = try_duration(ck, file, &it.statutory_limit);
    let promised = try_duration(ck, file, &it.promised_limit);
    if let (Some(statutory), Some(promised)) = (statutory, promised)
        && promised.nominal_minutes() > statutory.nominal_minutes()
    {
        ck.err(
            file,
            it.promised_limit.span(),
            format!("promised limit {promised} is longer than the statutory limit {statutory}"),
        );
    }
    let statutory_limit = statutory.unwrap_or_default();
    let promised_limit = promised.unwrap_or_default();
    if it.steps == 0 {
        ck.err(file, it.code.span(), "an item takes at least one applicant step");
    }
    let mut seen = BTreeSet::new();
    let materials = it
        .materials
        .iter()
        .map(|m| {
            refs.push(Ref { file, span: m.code.span(), kind: "material", code: m.code.get_ref().clone() });
            if !seen.insert(m.code.get_ref().clone()) {
                ck.err(file, m.code.span(), format!("material {:?} listed twice in this item", m.code.get_ref()));
            }
            let form = match m.form.as_ref().map(|f| f.get_ref().as_str()) {
                None | Some("original") => MaterialForm::Original,
                Some("copy") => MaterialForm::Copy,
                Some("electronic") => MaterialForm::Electronic,
                Some(other) => {
                    let span = m.form.as_ref().map_or(m.code.span(), Spanned::span);
                    ck.err(
                        file,
                        span,
                        format!("unknown material form {other:?}: expected original, copy or electronic"),
                    );
                    MaterialForm::Original
                }
            };
            ItemMaterial {
                code: m.code.get_ref().clone(),
                required: m.required,
                form,
                when: condition(ck, file, m.when.as_ref()),
            }
        })
        .collect();
    let mut seen = BTreeSet::new();
    let fields = it
        .fields
        .iter()
        .map(|f| {
            if !seen.insert(f.code.get_ref().clone()) {
                ck.err(file, f.code.span(), format!("field {:?} listed twice in this item", f.code.get_ref()));
            }
            ItemField { def: field(ck, file, f), when: condition(ck, file, f.when.as_ref()) }
        })
        .collect();
    Item {
        code: it.code.get_ref().clone(),
        name: it.name.clone(),
        name_en: it.name_en.clone(),
        department: it.department.get_ref().clone(),
        kind,
        legal_basis: it.legal_basis.clone(),
        statutory_limit,
        promised_limit,
        steps: it.steps,
        result: it.result.as_ref().map(|r| r.get_ref().clone()),
        materials,
        fields,
    }
}

fn condition(ck: &mut Checker<'_>, file: usize, raw: Option<&S>) -> Option<Condition> {
    let raw = raw?;
    let c = parse_condition(raw);
    if c.is_none() {
        ck.err(file, raw.span(), format!("bad condition {:?}: write question=value", raw.get_ref()));
    }
    c
}

fn build_bundle(ck: &mut Checker<'_>, file: usize, raw: &RawBundle, catalog: &Catalog, refs: &mut Vec<Ref>) -> Bundle {
    refs.push(Ref {
        file,
        span: raw.lead_department.span(),
        kind: "department",
        code: raw.lead_department.get_ref().clone(),
    });
    for s in &raw.shared_sources {
        refs.push(Ref { file, span: s.span(), kind: "source", code: s.get_ref().clone() });
    }
    let conclusion = match raw.conclusion.as_ref().map(|c| c.get_ref().as_str()) {
        None | Some("all_or_nothing") => ConclusionRule::AllOrNothing,
        Some("partial") => ConclusionRule::Partial,
        Some(other) => {
            let span = raw.conclusion.as_ref().map_or(raw.code.span(), Spanned::span);
            ck.err(file, span, format!("unknown conclusion rule {other:?}: expected all_or_nothing or partial"));
            ConclusionRule::AllOrNothing
        }
    };
    let promised_limit = duration(ck, file, &raw.promised_limit);
    let mut members = BTreeSet::new();
    for bi in &raw.items {
        if !members.insert(bi.code.get_ref().clone()) {
            ck.err(file, bi.code.span(), format!("item {:?} is in this bundle twice", bi.code.get_ref()));
        }
    }
    if raw.items.is_empty() {
        ck.err(file, raw.code.span(), "a bundle needs at least one item");
    }
    let items = raw
        .items
        .iter()
        .map(|bi| {
            let item = catalog.items.get(bi.code.get_ref());
            if item.is_none() {
                refs.push(Ref { file, span: bi.code.span(), kind: "item", code: bi.code.get_ref().clone() });
            }
            let limit = match &bi.limit {
                Some(l) => duration(ck, file, l),
                None => item.map_or(WorkingDuration::ZERO, |i| i.promised_limit),
            };
            for n in &bi.needs {
                if !members.contains(n.get_ref()) {
                    ck.err(file, n.span(), format!("needs {:?}, which is not an item of this bundle", n.get_ref()));
                }
                if n.get_ref() == bi.code.get_ref() {
                    ck.err(file, n.span(), "an item cannot need itself");
                }
            }
            BundleItem {
                item: bi.code.get_ref().clone(),
                limit,
                needs: bi.needs.iter().map(|n| n.get_ref().clone()).collect(),
            }
        })
        .collect();
    let mut qcodes = BTreeSet::new();
    let questions: Vec<Question> = raw
        .questions
        .iter()
        .map(|q| {
            check_code(ck, file, &q.code, "question");
            if !qcodes.insert(q.code.get_ref().clone()) {
                ck.err(file, q.code.span(), format!("duplicate question {:?}", q.code.get_ref()));
            }
            let options = choices(ck, file, &q.options);
            if options.is_empty() {
                ck.err(file, q.code.span(), "a question needs at least one option");
            }
            let default = match &q.default {
                Some(d) => {
                    if !options.iter().any(|o| &o.value == d.get_ref()) {
                        ck.err(file, d.span(), format!("default {:?} is not an option of this question", d.get_ref()));
                    }
                    d.get_ref().clone()
                }
                None => options.first().map(|o| o.value.clone()).unwrap_or_default(),
            };
            Question {
                code: q.code.get_ref().clone(),
                label: q.label.clone(),
                label_en: q.label_en.clone(),
                options,
                default,
            }
        })
        .collect();
    let rules = raw
        .rules
        .iter()
        .map(|r| {
            let when = condition(ck, file, Some(&r.when))
                .unwrap_or(Condition { question: String::new(), value: String::new() });
            for m in &r.off_materials {
                refs.push(Ref { file, span: m.span(), kind: "material", code: m.get_ref().clone() });
            }
            for i in &r.off_items {
                if !members.contains(i.get_ref()) {
                    ck.err(
                        file,
                        i.span(),
                        format!("switches off {:?}, which is not an item of this bundle", i.get_ref()),
                    );
                }
            }
            Rule {
                when,
                off_items: r.off_items.iter().map(|s| s.get_ref().clone()).collect(),
                off_materials: r.off_materials.iter().map(|s| s.get_ref().clone()).collect(),
                off_fields: r.off_fields.iter().map(|s| s.get_ref().clone()).collect(),
            }
        })
        .collect();
    Bundle {
        code: raw.code.get_ref().clone(),
        name: raw.name.clone(),
        name_en: raw.name_en.clone(),
        summary: raw.summary.clone(),
        lead_department: raw.lead_department.get_ref().clone(),
        promised_limit,
        conclusion,
        steps: raw.steps,
        shared_sources: raw.shared_sources.iter().map(|s| s.get_ref().clone()).collect(),
        items,
        questions,
        rules,
    }
}

/// Checks of a bundle that need the whole catalogue: conditions name real questions and options, switched-off
/// fields exist, the dependency graph has no cycle, no two items define one field differently, and the
/// promised limit is not shorter than the critical path.
fn check_bundle_semantics(ck: &mut Checker<'_>, file: usize, raw: &RawBundle, bundle: &Bundle, catalog: &Catalog) {
    let check_cond = |ck: &mut Checker<'_>, file: usize, span: Range<usize>, c: &Condition| match bundle
        .questions
        .iter()
        .find(|q| q.code == c.question)
    {
        None => ck.err(file, span, format!("unknown question {:?} in condition", c.question)),
        Some(q) if !q.options.iter().any(|o| o.value == c.value) => {
            ck.err(file, span, format!("{:?} is not an option of question {:?}", c.value, c.question));
        }
        Some(_) => {}
    };
    for (rr, r) in raw.rules.iter().zip(&bundle.rules) {
        if !r.when.question.is_empty() {
            check_cond(ck, file, rr.when.span(), &r.when);
        }
        for f in &rr.off_fields {
            let known = bundle
                .items
                .iter()
                .filter_map(|bi| catalog.items.get(&bi.item))
                .any(|it| it.fields.iter().any(|x| &x.def.code == f.get_ref()));
            if !known {
                ck.err(
                    file,
                    f.span(),
                    format!("switches off field {:?}, which no item of this bundle asks for", f.get_ref()),
                );
            }
        }
    }
    // Conditions inside items must be answerable by every bundle that uses the item.
    for (bi, rbi) in bundle.items.iter().zip(&raw.items) {
        let Some(item) = catalog.items.get(&bi.item) else {
            continue;
        };
        let conds = item
            .materials
            .iter()
            .filter_map(|m| m.when.as_ref())
            .chain(item.fields.iter().filter_map(|f| f.when.as_ref()));
        for c in conds {
            check_cond(ck, file, rbi.code.span(), c);
        }
    }
    // Field conflicts across items.
    let mut fields: BTreeMap<&str, (&str, &FieldDef)> = BTreeMap::new();
    for (bi, rbi) in bundle.items.iter().zip(&raw.items) {
        let Some(item) = catalog.items.get(&bi.item) else {
            continue;
        };
        for f in &item.fields {
            match fields.get(f.def.code.as_str()) {
                Some((other, def)) if def.conflicts_with(&f.def) => ck.err(
                    file,
                    rbi.code.span(),
                    format!("field {:?} is defined differently by items {other:?} and {:?}", f.def.code, item.code),
                ),
                Some(_) => {}
                None => {
                    fields.insert(&f.def.code, (&item.code, &f.def));
                }
            }
        }
    }
    match crate::plan::critical_path(&bundle.items) {
        Err(cycle) => {
            let span =
                raw.items.iter().find(|bi| bi.code.get_ref() == &cycle[0]).map_or(raw.code.span(), |bi| bi.code.span());
            ck.err(file, span, format!("dependency cycle: {}", cycle.join(" → ")));
        }
        Ok((path, limit)) => {
            if bundle.promised_limit.nominal_minutes() < limit.nominal_minutes() {
                ck.err(
                    file,
                    raw.promised_limit.span(),
                    format!(
                        "promised limit {} is shorter than the critical path {} ({})",
                        bundle.promised_limit,
                        limit,
                        path.join(" → ")
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_kebab_or_snake_ascii() {
        assert!(code_ok("open-transport-company"));
        assert!(code_ok("a1_b"));
        assert!(!code_ok("Open"));
        assert!(!code_ok("1a"));
        assert!(!code_ok(""));
        assert!(!code_ok("营业执照"));
    }
}
