//! The applicant's pages (and the clerk's, when filing for an applicant at the window): the bundles with what
//! each saves, the guided filing — situation questions and who applies, the integrated form, the materials with
//! an upload each (and why the others are not asked for), a review, submit — "my cases", and the case page with
//! its progress, corrections and results.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use onething_core::case::{CaseState, ReturnedBy};
use onething_core::form::{self, FieldProblem};
use onething_core::plan::{self, Plan};
use onething_service::{ApplicantInput, CaseActionError, CaseQuery, CaseView, CreateCase, Role, User};
use serde::Deserialize;

use super::view::{self, Badge, FieldVm, Names, Rows};
use super::{Ctx, PageError, Posted, Session, html, html_status, see_other};
use crate::AppState;

// ---------------------------------------------------------------------------------------------------------
// The portal: every bundle with its reduction report.

pub struct BundleVm {
    pub code: String,
    pub name: String,
    pub summary: String,
    pub lead: String,
    pub items: usize,
    pub limit: String,
    pub materials: (u32, u32),
    pub steps: (u32, u32),
    pub submissions: (u32, u32),
    pub departments: (u32, u32),
    pub time: (String, String),
    pub cut: String,
}

fn bundle_vm(names: &Names, code: &str) -> Option<BundleVm> {
    let b = names.catalog.bundles.get(code)?;
    let t = &names.t;
    let plan = plan::compile(&names.catalog, code, &BTreeMap::new()).ok()?;
    let r = &plan.reduction;
    Some(BundleVm {
        code: b.code.clone(),
        name: t.pick(&b.name, &b.name_en).to_string(),
        summary: b.summary.clone(),
        lead: names.department(&b.lead_department),
        items: b.items.len(),
        limit: t.limit(b.promised_limit),
        materials: (r.materials.before, r.materials.after),
        steps: (r.steps.before, r.steps.after),
        submissions: (r.submissions.before, r.submissions.after),
        departments: (r.departments.before, r.departments.after),
        time: (t.limit(r.time_limit.before), t.limit(r.time_limit.after)),
        cut: format!("{:.1}", r.time_limit.cut_percent),
    })
}

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    c: Ctx,
    bundles: Vec<BundleVm>,
    assisted: bool,
}

pub async fn portal(s: Session) -> Response {
    let catalog = s.st.service.catalog();
    let names = Names { catalog: catalog.clone(), t: s.t() };
    let bundles = catalog.bundles.keys().filter_map(|code| bundle_vm(&names, code)).collect();
    let assisted = s.user.as_ref().is_some_and(|u| u.has(Role::Clerk));
    let page = PortalPage { c: s.ctx(), bundles, assisted };
    s.finish(Ok(html(&page)))
}

// ---------------------------------------------------------------------------------------------------------
// A bundle: what it needs (一次告知), and the first step of filing: who applies and the situation questions.

pub struct QuestionVm {
    pub code: String,
    pub label: String,
    /// (value, label, checked)
    pub options: Vec<(String, String, bool)>,
}

pub struct TaskVm {
    pub item: String,
    pub department: String,
    pub limit: String,
    pub needs: String,
}

pub struct MaterialLine {
    pub name: String,
    pub required: bool,
}

pub struct DroppedVm {
    pub name: String,
    pub why: String,
}

#[derive(Template)]
#[template(path = "bundle.html")]
struct BundlePage {
    c: Ctx,
    b: BundleVm,
    tasks: Vec<TaskVm>,
    materials: Vec<MaterialLine>,
    dropped: Vec<DroppedVm>,
    questions: Vec<QuestionVm>,
    can_file: bool,
    signed_in: bool,
    kind: String,
    name: String,
    credit_code: String,
    id_number: String,
    errors: BTreeMap<String, String>,
}

impl BundlePage {
    fn error(&self, field: &str) -> &str {
        self.errors.get(field).map_or("", String::as_str)
    }
}

/// Why a material is not asked for, in words.
pub fn dropped_vm(names: &Names, plan: &Plan) -> Vec<DroppedVm> {
    let t = &names.t;
    plan.dropped
        .iter()
        .map(|d| {
            let why = match d.reason {
                plan::DropReason::SharedData => t.f1("drop.shared_data", names.source(&d.by)),
                plan::DropReason::ProducedInBundle => t.f1("drop.produced_in_bundle", names.item(&d.by)),
                plan::DropReason::SwitchedOff => t.f1("drop.switched_off", &d.by),
                plan::DropReason::Duplicate => t.f1("drop.duplicate", names.item(&d.by)),
            };
            DroppedVm { name: format!("{} ({})", names.material(&d.code), names.item(&d.item)), why }
        })
        .collect()
}

fn bundle_page_of(s: &Session, code: &str, answers: &BTreeMap<String, String>) -> Result<BundlePage, PageError> {
    let catalog = s.st.service.catalog();
    let names = Names { catalog: catalog.clone(), t: s.t() };
    let t = s.t();
    let b = catalog.bundles.get(code).ok_or(PageError::Code(StatusCode::NOT_FOUND, "unknown_bundle"))?;
    let vm = bundle_vm(&names, code).ok_or(PageError::Code(StatusCode::NOT_FOUND, "unknown_bundle"))?;
    let plan = plan::compile(&catalog, code, answers)?;
    let tasks = plan
        .tasks
        .iter()
        .map(|k| TaskVm {
            item: t.pick(&k.name, &k.name_en).to_string(),
            department: names.department(&k.department),
            limit: t.limit(k.limit),
            needs: k.needs.iter().map(|n| names.item(n)).collect::<Vec<_>>().join("、"),
        })
        .collect();
    let materials = plan
        .materials
        .iter()
        .map(|m| MaterialLine { name: t.pick(&m.name, &m.name_en).to_string(), required: m.required })
        .collect();
    let questions = b
        .questions
        .iter()
        .map(|q| {
            let chosen = answers.get(&q.code).unwrap_or(&q.default);
            QuestionVm {
                code: q.code.clone(),
                label: t.pick(&q.label, &q.label_en).to_string(),
                options: q
                    .options
                    .iter()
                    .map(|o| (o.value.clone(), t.pick(&o.label, &o.label_en).to_string(), &o.value == chosen))
                    .collect(),
            }
        })
        .collect();
    let can_file = s.user.as_ref().is_some_and(|u| u.has(Role::Applicant) || u.has(Role::Clerk));
    Ok(BundlePage {
        c: s.ctx(),
        b: vm,
        tasks,
        materials,
        dropped: dropped_vm(&names, &plan),
        questions,
        can_file,
        signed_in: s.user.is_some(),
        kind: "company".into(),
        name: String::new(),
        credit_code: String::new(),
        id_number: String::new(),
        errors: BTreeMap::new(),
    })
}

pub async fn bundle_page(s: Session, Path(code): Path<String>) -> Response {
    let r = bundle_page_of(&s, &code, &BTreeMap::new()).map(|p| html(&p));
    s.finish(r)
}

/// Files a draft: who applies and the situation answers; the form starts with what is known of the applicant.
pub async fn start(State(st): State<AppState>, Path(code): Path<String>, p: Posted) -> Response {
    let s = &p.session;
    let r = async {
        let user = s.with_role(&[Role::Applicant, Role::Clerk])?;
        let catalog = st.service.catalog();
        let bundle = catalog.bundles.get(&code).ok_or(PageError::Code(StatusCode::NOT_FOUND, "unknown_bundle"))?;
        let mut answers = BTreeMap::new();
        for q in &bundle.questions {
            let v = p.get(&format!("q_{}", q.code));
            answers.insert(q.code.clone(), if v.is_empty() { q.default.clone() } else { v.to_string() });
        }
        let kind = if p.get("kind") == "person" { "person" } else { "company" };
        let name = p.get("name").trim().to_string();
        let credit_code = p.get("credit_code").trim().to_uppercase();
        let id_number = p.get("id_number").trim().to_uppercase();
        let applicant = ApplicantInput {
            kind: kind.to_string(),
            name: name.clone(),
            credit_code: (kind == "company").then(|| credit_code.clone()),
            id_number: (kind == "person").then(|| id_number.clone()),
        };
        // Prefill the integrated form with what the applicant already told.
        let plan = plan::compile(&st.service.catalog(), &code, &answers)?;
        let mut form = BTreeMap::new();
        let has = |f: &str| plan.form.iter().any(|x| x.code == f);
        if kind == "company" {
            if has("company_name") {
                form.insert("company_name".to_string(), serde_json::Value::String(name.clone()));
            }
            if has("credit_code") {
                form.insert("credit_code".to_string(), serde_json::Value::String(credit_code.clone()));
            }
        }
        let req = CreateCase { bundle: code.clone(), applicant, answers: answers.clone(), form };
        match st.service.create_case(user, req, None).await {
            Ok(created) => Ok(see_other(&format!("/cases/{}/form", created.view.row.id))),
            Err(CaseActionError::BadInput(b)) => {
                let mut page = bundle_page_of(s, &code, &answers)?;
                let field = b.field.strip_prefix("applicant.").unwrap_or(&b.field).to_string();
                page.errors.insert(field, s.t().key("error", b.code.as_str()));
                page.kind = kind.into();
                page.name = name;
                page.credit_code = credit_code;
                page.id_number = id_number;
                Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    s.finish(r)
}

// ---------------------------------------------------------------------------------------------------------
// My cases.

pub struct CaseLine {
    pub id: String,
    pub number: String,
    pub bundle: String,
    pub applicant: String,
    pub state_word: String,
    pub badge: Badge,
    pub submitted: String,
    pub due: String,
    pub progress: String,
}

pub fn case_line(s: &Session, c: &onething_service::CaseSummary) -> CaseLine {
    let t = s.t();
    let names = Names { catalog: s.st.service.catalog(), t };
    let case = &c.case;
    let decided = case.tasks.iter().filter(|k| k.state.is_decided()).count();
    CaseLine {
        id: c.row.id.clone(),
        number: c.row.number.clone(),
        bundle: names.bundle(&c.row.bundle),
        applicant: case.applicant.name.clone(),
        state_word: t.key("state", &c.row.state),
        badge: Badge::of(&t, c.colour),
        submitted: view::opt_ts(case.submitted_at),
        due: view::opt_ts(case.due_at),
        progress: if case.tasks.is_empty() { String::new() } else { t.f2("case.progress", decided, case.tasks.len()) },
    }
}

#[derive(Template)]
#[template(path = "cases.html")]
struct CasesPage {
    c: Ctx,
    cases: Vec<CaseLine>,
    more: bool,
}

#[derive(Deserialize)]
pub struct LimitQuery {
    limit: Option<i64>,
}

pub async fn my_cases(s: Session, Query(q): Query<LimitQuery>) -> Response {
    let r = async {
        let user = s.with_role(&[Role::Applicant])?;
        let limit = q.limit.unwrap_or(50).clamp(1, 500);
        let rows =
            s.st.service.case_list(user, CaseQuery { state: None, search: None, oldest_first: false, limit }).await?;
        let more = rows.len() as i64 == limit && limit < 500;
        let cases = rows.iter().map(|c| case_line(&s, c)).collect();
        Ok(html(&CasesPage { c: s.ctx(), cases, more }))
    }
    .await;
    s.finish(r)
}

// ---------------------------------------------------------------------------------------------------------
// The integrated form (一表申请).

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage {
    c: Ctx,
    id: String,
    number: String,
    bundle: String,
    fields: Vec<FieldVm>,
    correction: Vec<ReasonVm>,
    error_count: usize,
}

fn editable(user: &User, v: &CaseView) -> bool {
    let state_ok = matches!(v.case.state, CaseState::Draft | CaseState::Returned);
    let who_ok = user.has(Role::Clerk) || v.row.owner.as_deref() == Some(user.id.as_str());
    state_ok && who_ok
}

fn form_page_of(
    s: &Session,
    v: &CaseView,
    values: &BTreeMap<String, serde_json::Value>,
    problems: &[FieldProblem],
) -> FormPage {
    let t = s.t();
    let names = Names { catalog: s.st.service.catalog(), t };
    let fields = v
        .plan
        .form
        .iter()
        .map(|f| {
            let choices: Vec<onething_core::catalog::Choice> = f.choices.clone();
            view::field_vm(
                &t,
                "f_",
                &f.code,
                t.pick(&f.label, &f.label_en),
                f.field_type,
                f.required,
                &choices,
                values.get(&f.code),
                problems,
            )
        })
        .collect();
    FormPage {
        c: s.ctx(),
        id: v.row.id.clone(),
        number: v.row.number.clone(),
        bundle: names.bundle(&v.row.bundle),
        fields,
        correction: open_correction(&names, v),
        error_count: problems.len(),
    }
}

pub async fn form_page(s: Session, Path(id): Path<String>) -> Response {
    let r = async {
        let user = s.user()?;
        let v = s.st.service.get_case(user, &id).await?;
        if !editable(user, &v) {
            return Ok(see_other(&format!("/cases/{id}")));
        }
        Ok(html(&form_page_of(&s, &v, &v.case.form, &[])))
    }
    .await;
    s.finish(r)
}

pub async fn save_form(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let s = &p.session;
    let r = async {
        let user = s.user()?;
        let v = st.service.get_case(user, &id).await?;
        let mut values = BTreeMap::new();
        for f in &v.plan.form {
            if let Some(val) = view::posted_value(f.field_type, p.get(&format!("f_{}", f.code))) {
                values.insert(f.code.clone(), val);
            }
        }
        let v = st.service.update_case(user, &id, None, Some(values.clone())).await?;
        let today = st.service.now().to_zoned(onething_core::calendar::china_tz()).date();
        let problems = form::validate_values(&v.plan.form, &values, today);
        if problems.is_empty() {
            Ok(see_other(&format!("/cases/{id}/materials")))
        } else {
            Ok(html_status(&form_page_of(s, &v, &values, &problems), StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
    .await;
    s.finish(r)
}

// ---------------------------------------------------------------------------------------------------------
// Materials (一套材料): one upload each, and why the others are not asked for.

#[derive(Debug, Clone)]
pub struct MatVm {
    pub code: String,
    pub name: String,
    pub required: bool,
    pub uploaded: bool,
    pub size: String,
    pub media: String,
    pub at: String,
    pub href: String,
    pub error: String,
    /// A correction asks for this material again.
    pub flagged: String,
    /// ... and it has been uploaded again since.
    pub replaced: bool,
    /// The items that need it (for the clerk's checklist).
    pub items: String,
}

pub fn materials_of(s: &Session, v: &CaseView) -> Vec<MatVm> {
    let t = s.t();
    let correction = v.case.open_correction();
    let reasons: Vec<(String, String)> = correction
        .map(|c| c.reasons.iter().filter_map(|r| r.material.clone().map(|m| (m, r.reason.clone()))).collect())
        .unwrap_or_default();
    let replaced: Vec<String> = correction.map(|c| c.replaced_materials.clone()).unwrap_or_default();
    let names = Names { catalog: s.st.service.catalog(), t };
    v.plan
        .materials
        .iter()
        .map(|m| {
            let up = v.materials.iter().find(|u| u.material == m.code);
            MatVm {
                code: m.code.clone(),
                name: t.pick(&m.name, &m.name_en).to_string(),
                required: m.required,
                uploaded: up.is_some(),
                size: up.map(|u| format!("{:.1} KB", u.size as f64 / 1024.0)).unwrap_or_default(),
                media: up.map(|u| u.media_type.clone()).unwrap_or_default(),
                at: up.map(|u| view::ts(u.uploaded_at)).unwrap_or_default(),
                href: format!("/cases/{}/materials/{}/file", v.row.id, m.code),
                error: String::new(),
                flagged: reasons.iter().find(|(c, _)| c == &m.code).map(|(_, r)| r.clone()).unwrap_or_default(),
                replaced: replaced.contains(&m.code),
                items: m.items.iter().map(|i| names.item(i)).collect::<Vec<_>>().join("、"),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "materials.html")]
struct MaterialsPage {
    c: Ctx,
    id: String,
    number: String,
    bundle: String,
    materials: Vec<MatVm>,
    dropped: Vec<DroppedVm>,
    correction: Vec<ReasonVm>,
    uploaded: usize,
    max_mb: usize,
}

#[derive(Template)]
#[template(path = "material_row.html")]
struct MaterialRow {
    c: Ctx,
    id: String,
    m: MatVm,
    /// For the page's counter, swapped out of band.
    uploaded: usize,
    total: usize,
}

impl MaterialRow {
    fn of(s: &Session, v: &CaseView, code: &str, error: Option<String>) -> Result<MaterialRow, PageError> {
        let all = materials_of(s, v);
        let uploaded = all.iter().filter(|m| m.uploaded).count();
        let total = all.len();
        let mut m = all
            .into_iter()
            .find(|m| m.code == code)
            .ok_or(PageError::Code(StatusCode::NOT_FOUND, "unknown_material"))?;
        if let Some(e) = error {
            m.error = e;
        }
        Ok(MaterialRow { c: s.ctx(), id: v.row.id.clone(), m, uploaded, total })
    }
}

fn materials_page_of(s: &Session, v: &CaseView, error: Option<(&str, String)>) -> MaterialsPage {
    let names = Names { catalog: s.st.service.catalog(), t: s.t() };
    let mut materials = materials_of(s, v);
    if let Some((code, e)) = error
        && let Some(m) = materials.iter_mut().find(|m| m.code == code)
    {
        m.error = e;
    }
    MaterialsPage {
        c: s.ctx(),
        id: v.row.id.clone(),
        number: v.row.number.clone(),
        bundle: names.bundle(&v.row.bundle),
        uploaded: materials.iter().filter(|m| m.uploaded).count(),
        materials,
        dropped: dropped_vm(&names, &v.plan),
        correction: open_correction(&names, v),
        max_mb: s.st.service.config().max_upload_bytes / (1024 * 1024),
    }
}

pub async fn materials_page(s: Session, Path(id): Path<String>) -> Response {
    let r = async {
        let user = s.user()?;
        let v = s.st.service.get_case(user, &id).await?;
        if !editable(user, &v) {
            return Ok(see_other(&format!("/cases/{id}")));
        }
        Ok(html(&materials_page_of(&s, &v, None)))
    }
    .await;
    s.finish(r)
}

pub async fn upload(State(st): State<AppState>, Path((id, code)): Path<(String, String)>, p: Posted) -> Response {
    let s = &p.session;
    let r = async {
        let user = s.user()?;
        let bytes = p.file("file").unwrap_or_default();
        let outcome = if bytes.is_empty() {
            Err(("required", StatusCode::UNPROCESSABLE_ENTITY))
        } else {
            match st.service.upload_material(user, &id, &code, bytes).await {
                Ok(_) => Ok(()),
                Err(
                    e @ (CaseActionError::UnsupportedMedia
                    | CaseActionError::TooLarge { .. }
                    | CaseActionError::BadInput(_)),
                ) => {
                    let api = crate::ApiError::from(e);
                    Err((api.code, api.status))
                }
                Err(e) => return Err(PageError::from(e)),
            }
        };
        let v = st.service.get_case(user, &id).await?;
        match outcome {
            Ok(()) if !s.hx => Ok(see_other(&format!("/cases/{id}/materials#m-{code}"))),
            Ok(()) => Ok(html(&MaterialRow::of(s, &v, &code, None)?)),
            Err((err, status)) => {
                let text = s.t().key("error", err);
                if s.hx {
                    // htmx swaps only 2xx answers: the row carries the error.
                    Ok(html(&MaterialRow::of(s, &v, &code, Some(text))?))
                } else {
                    Ok(html_status(&materials_page_of(s, &v, Some((&code, text))), status))
                }
            }
        }
    }
    .await;
    s.finish(r)
}

pub async fn material_file(s: Session, Path((id, code)): Path<(String, String)>) -> Response {
    let r = async {
        let user = s.user()?;
        let (m, bytes) = s.st.service.material_file(user, &id, &code).await?;
        Ok((
            [
                (header::CONTENT_TYPE, m.media_type),
                (header::CONTENT_DISPOSITION, "inline".to_string()),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
            ],
            bytes,
        )
            .into_response())
    }
    .await;
    s.finish(r)
}

// ---------------------------------------------------------------------------------------------------------
// Review and submit.

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    c: Ctx,
    id: String,
    number: String,
    bundle: String,
    applicant: Rows,
    answers: Rows,
    form: Rows,
    materials: Vec<MatVm>,
    problems: Vec<(String, String)>,
    missing: Vec<String>,
    correction: Vec<ReasonVm>,
    resubmit: bool,
}

fn review_of(s: &Session, v: &CaseView) -> ReviewPage {
    let t = s.t();
    let catalog = s.st.service.catalog();
    let names = Names { catalog: catalog.clone(), t };
    let case = &v.case;
    let mut applicant = vec![
        (t.s("apply.kind").to_string(), t.key("kind", case.applicant.kind.as_str())),
        (t.s("apply.name").to_string(), case.applicant.name.clone()),
    ];
    if let Some(c) = &case.applicant.credit_code {
        applicant.push((t.s("apply.credit_code").to_string(), c.clone()));
    }
    if let Some(c) = &case.applicant.id_number {
        applicant.push((t.s("apply.id_number").to_string(), c.clone()));
    }
    let bundle = catalog.bundles.get(&v.row.bundle);
    let answers = case
        .answers
        .iter()
        .map(|(q, a)| {
            let question = bundle.and_then(|b| b.questions.iter().find(|x| &x.code == q));
            let label = question.map_or_else(|| q.clone(), |x| t.pick(&x.label, &x.label_en).to_string());
            let value = question
                .and_then(|x| x.options.iter().find(|o| &o.value == a))
                .map_or_else(|| a.clone(), |o| t.pick(&o.label, &o.label_en).to_string());
            (label, value)
        })
        .collect();
    let form_rows = v
        .plan
        .form
        .iter()
        .map(|f| {
            let raw = view::value_text(case.form.get(&f.code));
            let shown = match (f.field_type, raw.as_str()) {
                (onething_core::catalog::FieldType::Bool, "true") => t.s("form.yes").to_string(),
                (onething_core::catalog::FieldType::Bool, "false") => t.s("form.no").to_string(),
                _ => f
                    .choices
                    .iter()
                    .find(|c| c.value == raw)
                    .map_or(raw.clone(), |c| t.pick(&c.label, &c.label_en).to_string()),
            };
            (t.pick(&f.label, &f.label_en).to_string(), shown)
        })
        .collect();
    let today = s.st.service.now().to_zoned(onething_core::calendar::china_tz()).date();
    let problems = form::validate_values(&v.plan.form, &case.form, today)
        .iter()
        .map(|p| {
            let label = v
                .plan
                .form
                .iter()
                .find(|f| f.code == p.field)
                .map_or_else(|| p.field.clone(), |f| t.pick(&f.label, &f.label_en).to_string());
            (label, view::problem_text(&t, p))
        })
        .collect();
    let uploaded: BTreeSet<String> = v.materials.iter().map(|m| m.material.clone()).collect();
    let missing = form::missing_materials(&v.plan, &uploaded).iter().map(|m| names.material(m)).collect();
    ReviewPage {
        c: s.ctx(),
        id: v.row.id.clone(),
        number: v.row.number.clone(),
        bundle: names.bundle(&v.row.bundle),
        applicant,
        answers,
        form: form_rows,
        materials: materials_of(s, v),
        problems,
        missing,
        correction: open_correction(&names, v),
        resubmit: case.state == CaseState::Returned,
    }
}

pub async fn review_page(s: Session, Path(id): Path<String>) -> Response {
    let r = async {
        let user = s.user()?;
        let v = s.st.service.get_case(user, &id).await?;
        if !editable(user, &v) {
            return Ok(see_other(&format!("/cases/{id}")));
        }
        Ok(html(&review_of(&s, &v)))
    }
    .await;
    s.finish(r)
}

pub async fn submit(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let s = &p.session;
    let r = async {
        let user = s.user()?;
        match st.service.submit(user, &id).await {
            Ok(_) => Ok(see_other(&format!("/cases/{id}"))),
            Err(
                CaseActionError::Validation { .. }
                | CaseActionError::Case(onething_core::case::CaseError::CorrectionUnresolved { .. }),
            ) => {
                let v = st.service.get_case(user, &id).await?;
                Ok(html_status(&review_of(s, &v), StatusCode::UNPROCESSABLE_ENTITY))
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    s.finish(r)
}

/// The applicant withdraws the application (撤回申请), having ticked the confirmation.
pub async fn withdraw(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let s = &p.session;
    let r = async {
        let user = s.user()?;
        if p.get("confirm") != "yes" {
            let v = st.service.get_case(user, &id).await?;
            return Ok(html_status(&case_page_of(s, user, &v).await?, StatusCode::UNPROCESSABLE_ENTITY));
        }
        st.service.withdraw(user, &id).await?;
        Ok(see_other(&format!("/cases/{id}")))
    }
    .await;
    s.finish(r)
}

// ---------------------------------------------------------------------------------------------------------
// The case page: progress, corrections, results; for the clerk, the checks and the actions.

pub struct ReasonVm {
    pub about: String,
    pub text: String,
    /// `done` (replaced or changed), `open` (still to do), or `general` (a reason about no one item).
    pub status: &'static str,
    pub status_word: String,
}

/// The reasons of the correction the case waits for, each with what it is about and whether it is done.
pub fn open_correction(names: &Names, v: &CaseView) -> Vec<ReasonVm> {
    v.case.open_correction().map(|c| correction_items(names, v, c)).unwrap_or_default()
}

/// The correction the case was last resubmitted from, item by item (for the clerk who checks it again).
pub fn last_resolved_correction(names: &Names, v: &CaseView) -> Vec<ReasonVm> {
    if v.case.open_correction().is_some() {
        return Vec::new();
    }
    v.case
        .corrections
        .last()
        .filter(|c| c.resolved_at.is_some())
        .map(|c| correction_items(names, v, c))
        .unwrap_or_default()
}

fn correction_items(names: &Names, v: &CaseView, c: &onething_core::case::Correction) -> Vec<ReasonVm> {
    let t = &names.t;
    c.reasons
        .iter()
        .map(|r| {
            let (about, done) = match (&r.material, &r.field) {
                (Some(m), _) => {
                    (t.f1("case.about_material", names.material(m)), Some(c.replaced_materials.contains(m)))
                }
                (None, Some(f)) => {
                    let label = v
                        .plan
                        .form
                        .iter()
                        .find(|x| &x.code == f)
                        .map_or_else(|| names.field_label(f), |x| t.pick(&x.label, &x.label_en).to_string());
                    (t.f1("case.about_field", label), Some(c.changed_fields.contains(f)))
                }
                (None, None) => (t.s("case.about_general").to_string(), None),
            };
            let status = match done {
                Some(true) => "done",
                Some(false) => "open",
                None => "general",
            };
            ReasonVm { about, text: r.reason.clone(), status, status_word: t.key("correction", status) }
        })
        .collect()
}

pub struct StepVm {
    pub department: String,
    pub item: String,
    pub state: String,
    pub state_word: String,
    pub ready: String,
    pub due: String,
    pub decided: String,
    pub badge: Badge,
    pub reasons: String,
    pub limit: String,
}

pub struct ResultVm {
    pub licence: String,
    pub item: String,
    /// Number, holder, validity, issue time, then the licence's own fields.
    pub rows: Rows,
}

pub struct EventVm {
    pub seq: i64,
    pub at: String,
    pub kind: String,
    pub hash: String,
}

#[derive(Template)]
#[template(path = "case.html")]
pub struct CasePage {
    pub c: Ctx,
    pub id: String,
    pub number: String,
    pub bundle: String,
    pub state: String,
    pub state_word: String,
    pub outcome: String,
    pub badge: Badge,
    pub applicant: String,
    pub applicant_code: String,
    pub created: String,
    pub submitted: String,
    pub accepted: String,
    pub due: String,
    pub concluded: String,
    pub receipt: String,
    pub promised: String,
    pub paused: bool,
    pub editable: bool,
    pub correction: Vec<ReasonVm>,
    pub correction_by_clerk: bool,
    pub timeline: Vec<StepVm>,
    pub results: Vec<ResultVm>,
    pub clerk: bool,
    pub form: Rows,
    pub materials: Vec<MatVm>,
    pub fields: Vec<(String, String)>,
    pub problems: Vec<(String, String)>,
    pub missing: Vec<String>,
    pub events: Vec<EventVm>,
    pub show_events: bool,
    pub return_error: String,
    /// The rating (好差评) once given; the form while the owner of a concluded case has not rated it.
    pub rating: Option<super::oversee::RatingVm>,
    pub can_rate: bool,
    pub rating_levels: Vec<(u8, String)>,
    pub rating_error: String,
    pub rating_comment: String,
    /// The situation answers (情形) that decided the materials and items: (question, answer).
    pub answers: Vec<(String, String)>,
    /// What the correction the case was resubmitted from asked, item by item.
    pub resolved: Vec<ReasonVm>,
    /// Who filed it for the applicant (帮办代办), when not the applicant.
    pub filed_by: String,
    /// The applicant may withdraw it (撤回申请).
    pub can_withdraw: bool,
}

/// The situation answers of a case's plan, as the bundle asks them.
pub fn answers_of(names: &Names, v: &CaseView) -> Vec<(String, String)> {
    let t = &names.t;
    let Some(bundle) = names.catalog.bundle(&v.row.bundle) else { return Vec::new() };
    bundle
        .questions
        .iter()
        .map(|q| {
            let chosen = v.plan.answers.get(&q.code).unwrap_or(&q.default);
            let answer = q
                .options
                .iter()
                .find(|o| &o.value == chosen)
                .map_or_else(|| chosen.clone(), |o| t.pick(&o.label, &o.label_en).to_string());
            (t.pick(&q.label, &q.label_en).to_string(), answer)
        })
        .collect()
}

pub async fn case_page_of(s: &Session, user: &User, v: &CaseView) -> Result<CasePage, PageError> {
    let t = s.t();
    let catalog = s.st.service.catalog();
    let names = Names { catalog: catalog.clone(), t };
    let case = &v.case;
    let timeline = if case.tasks.is_empty() {
        v.plan
            .tasks
            .iter()
            .map(|k| StepVm {
                department: names.department(&k.department),
                item: t.pick(&k.name, &k.name_en).to_string(),
                state: "planned".into(),
                state_word: t.s("task_state.planned").to_string(),
                ready: String::new(),
                due: String::new(),
                decided: String::new(),
                badge: Badge::of(&t, None),
                reasons: String::new(),
                limit: t.limit(k.limit),
            })
            .collect()
    } else {
        case.tasks
            .iter()
            .zip(&v.task_colours)
            .map(|(k, col)| StepVm {
                department: names.department(&k.department),
                item: names.item(&k.item),
                state: k.state.as_str().into(),
                state_word: t.key("task_state", k.state.as_str()),
                ready: view::opt_ts(k.ready_at),
                due: view::opt_ts(k.due_at),
                decided: view::opt_ts(k.decided_at),
                badge: Badge::of(&t, *col),
                reasons: k.reasons.iter().map(|r| r.reason.clone()).collect::<Vec<_>>().join("；"),
                limit: t.limit(k.limit),
            })
            .collect()
    };
    let results = case
        .tasks
        .iter()
        .filter_map(|k| k.result.as_ref().map(|r| (k, r)))
        .map(|(k, r)| {
            let mut rows = vec![
                (t.s("result.number").to_string(), r.number.clone()),
                (t.s("result.holder").to_string(), r.holder.clone()),
                (t.s("result.valid_from").to_string(), r.valid_from.to_string()),
                (
                    t.s("result.valid_to").to_string(),
                    r.valid_to.map_or_else(|| t.s("result.indefinite").to_string(), |d| d.to_string()),
                ),
                (t.s("result.issued").to_string(), view::ts(r.issued_at)),
            ];
            rows.extend(view::labelled(&names, &r.licence, &r.fields));
            ResultVm { licence: names.licence(&r.licence), item: names.item(&k.item), rows }
        })
        .collect();
    let clerk = user.has(Role::Clerk) && case.state == CaseState::Submitted;
    let review = review_of(s, v);
    let concluded = case.state == CaseState::Concluded;
    let rating = if concluded { super::oversee::rating_of(s, user, &v.row.id).await? } else { None };
    let can_rate = concluded && rating.is_none() && v.row.owner.as_deref() == Some(user.id.as_str());
    let filed_by = if v.row.owner.as_deref() == Some(case.filed_by.as_str()) {
        String::new()
    } else {
        s.st.service.display_names(&[case.filed_by.as_str()]).await?.remove(&case.filed_by).unwrap_or_default()
    };
    let show_events = user.reads_all();
    let events = if show_events {
        s.st.service
            .case_events(user, &v.row.id)
            .await?
            .iter()
            .map(|e| EventVm {
                seq: e.seq,
                at: view::ts(e.at),
                kind: t.key("event", &e.kind),
                hash: e.hash.chars().take(12).collect(),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(CasePage {
        c: s.ctx(),
        id: v.row.id.clone(),
        number: v.row.number.clone(),
        bundle: names.bundle(&v.row.bundle),
        state: case.state.as_str().into(),
        state_word: t.key("state", case.state.as_str()),
        outcome: case.outcome.map(|o| t.key("outcome", o.as_str())).unwrap_or_default(),
        badge: Badge::of(&t, v.colour),
        applicant: case.applicant.name.clone(),
        applicant_code: case
            .applicant
            .credit_code
            .clone()
            .or_else(|| case.applicant.id_number.clone())
            .unwrap_or_default(),
        created: view::ts(case.created_at),
        submitted: view::opt_ts(case.submitted_at),
        accepted: view::opt_ts(case.accepted_at),
        due: view::opt_ts(case.due_at),
        concluded: view::opt_ts(case.concluded_at),
        receipt: v.case.receipt_number.clone().unwrap_or_default(),
        promised: t.limit(case.promised_limit),
        paused: case.is_paused(),
        editable: editable(user, v),
        correction: open_correction(&names, v),
        correction_by_clerk: matches!(case.open_correction().map(|c| &c.by), Some(ReturnedBy::Clerk)),
        timeline,
        results,
        clerk,
        form: review.form,
        materials: review.materials,
        fields: v.plan.form.iter().map(|f| (f.code.clone(), t.pick(&f.label, &f.label_en).to_string())).collect(),
        problems: review.problems,
        missing: review.missing,
        events,
        show_events,
        return_error: String::new(),
        rating,
        can_rate,
        rating_levels: if can_rate { super::oversee::rating_levels(s) } else { Vec::new() },
        rating_error: String::new(),
        rating_comment: String::new(),
        answers: answers_of(&names, v),
        resolved: if clerk { last_resolved_correction(&names, v) } else { Vec::new() },
        filed_by,
        can_withdraw: v.row.owner.as_deref() == Some(user.id.as_str())
            && !matches!(case.state, CaseState::Concluded | CaseState::Withdrawn),
    })
}

pub async fn case_page(s: Session, Path(id): Path<String>) -> Response {
    let r = async {
        let user = s.user()?;
        let v = s.st.service.get_case(user, &id).await?;
        Ok(html(&case_page_of(&s, user, &v).await?))
    }
    .await;
    s.finish(r)
}
