//! The desks: the window clerk's workbench (queue, accept with a receipt, return for correction), the
//! department officer's queue and task page (approve with the licence's result fields, reject, ask for a
//! correction), and the supervisor's overview (open tasks by department × colour, the red and yellow list).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use onething_core::case::TaskState;
use onething_core::form::FieldProblem;
use onething_service::{ApproveRequest, CaseActionError, CaseQuery, ErrorCode, OpenTask, ReasonInput, Role, TaskView};

use super::applicant::{CaseLine, case_line, case_page_of};
use super::view::{self, Badge, FieldVm, Names, Rows};
use super::{Ctx, PageError, Posted, Session, html, html_status, see_other};
use crate::AppState;

// ---------------------------------------------------------------------------------------------------------
// The window clerk.

#[derive(Template)]
#[template(path = "clerk.html")]
struct ClerkPage {
    c: Ctx,
    queue: Vec<CaseLine>,
    running: Vec<CaseLine>,
    returned: Vec<CaseLine>,
}

pub async fn clerk_queue(s: Session) -> Response {
    let r = async {
        let user = s.with_role(&[Role::Clerk])?;
        let svc = &s.st.service;
        let q = |state: &str, oldest_first: bool, limit: i64| CaseQuery {
            state: Some(state.into()),
            search: None,
            oldest_first,
            limit,
        };
        let queue = svc.case_list(user, q("submitted", true, 50)).await?;
        let returned = svc.case_list(user, q("returned", false, 20)).await?;
        let mut running = svc.case_list(user, q("accepted", false, 20)).await?;
        running.extend(svc.case_list(user, q("in_progress", false, 20)).await?);
        running.sort_by(|a, b| b.colour.cmp(&a.colour).then(a.row.due_at.cmp(&b.row.due_at)));
        Ok(html(&ClerkPage {
            c: s.ctx(),
            queue: queue.iter().map(|c| case_line(&s, c)).collect(),
            running: running.iter().map(|c| case_line(&s, c)).collect(),
            returned: returned.iter().map(|c| case_line(&s, c)).collect(),
        }))
    }
    .await;
    s.finish(r)
}

pub async fn accept(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let s = &p.session;
    let r = async {
        let user = s.with_role(&[Role::Clerk])?;
        st.service.accept(user, &id).await?;
        Ok(see_other(&format!("/cases/{id}/receipt")))
    }
    .await;
    s.finish(r)
}

/// Reasons from a posted form: `reason_m_<material>`, `reason_f_<field>` and `reason_general`.
fn posted_reasons(p: &Posted) -> Vec<ReasonInput> {
    let mut out = Vec::new();
    for (k, v) in &p.fields {
        let text = v.trim();
        if text.is_empty() {
            continue;
        }
        let reason = text.to_string();
        if let Some(m) = k.strip_prefix("reason_m_") {
            out.push(ReasonInput { material: Some(m.to_string()), field: None, reason });
        } else if let Some(f) = k.strip_prefix("reason_f_") {
            out.push(ReasonInput { material: None, field: Some(f.to_string()), reason });
        } else if k == "reason_general" {
            out.push(ReasonInput { material: None, field: None, reason });
        }
    }
    out
}

pub async fn return_case(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let s = &p.session;
    let r = async {
        let user = s.with_role(&[Role::Clerk])?;
        match st.service.return_case(user, &id, posted_reasons(&p)).await {
            Ok(_) => Ok(see_other(&format!("/cases/{id}"))),
            Err(CaseActionError::BadInput(b)) if b.code == ErrorCode::EmptyReasons => {
                let v = st.service.get_case(user, &id).await?;
                let mut page = case_page_of(s, user, &v).await?;
                page.return_error = s.t().s("error.empty_reasons").to_string();
                Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    s.finish(r)
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    c: Ctx,
    id: String,
    receipt: String,
    number: String,
    bundle: String,
    applicant: String,
    applicant_code: String,
    accepted: String,
    promised: String,
    due: String,
    tasks: Vec<(String, String, String)>,
    /// The public progress lookup for this receipt, and its QR code (an SVG drawing).
    track: String,
    qr: String,
    window: String,
    accepted_by: String,
    /// The materials received: (name, when).
    received: Vec<(String, String)>,
}

/// A QR code as an inline SVG drawing (dark modules as one path; no script, no style attribute).
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(132, 132)
            .quiet_zone(true)
            .build()
            .replace("<?xml version=\"1.0\" standalone=\"yes\"?>", ""),
        Err(_) => String::new(),
    }
}

pub async fn receipt(s: Session, Path(id): Path<String>) -> Response {
    let r = async {
        let user = s.user()?;
        let v = s.st.service.get_case(user, &id).await?;
        let t = s.t();
        let names = Names { catalog: s.st.service.catalog(), t };
        let case = &v.case;
        let Some(receipt) = v.case.receipt_number.clone() else {
            return Err(PageError::Code(StatusCode::CONFLICT, "illegal_transition"));
        };
        let accepted_by = match s.st.service.case_events(user, &id).await {
            Ok(events) => match events.iter().rev().find(|e| e.kind == "case_accepted") {
                Some(e) => s.st.service.display_names(&[e.actor.as_str()]).await?.remove(&e.actor).unwrap_or_default(),
                None => String::new(),
            },
            Err(_) => String::new(),
        };
        let track = format!("{}/track?number={receipt}", s.origin());
        let received = v.materials.iter().map(|m| (names.material(&m.material), view::ts(m.uploaded_at))).collect();
        Ok(html(&ReceiptPage {
            qr: qr_svg(&track),
            track,
            window: s.st.service.config().hall_window.clone(),
            accepted_by,
            received,
            c: s.ctx(),
            id: v.row.id.clone(),
            receipt,
            number: v.row.number.clone(),
            bundle: names.bundle(&v.row.bundle),
            applicant: case.applicant.name.clone(),
            applicant_code: case
                .applicant
                .credit_code
                .clone()
                .or_else(|| case.applicant.id_number.clone())
                .unwrap_or_default(),
            accepted: view::opt_ts(case.accepted_at),
            promised: t.limit(case.promised_limit),
            due: view::opt_ts(case.due_at),
            tasks: case
                .tasks
                .iter()
                .map(|k| (names.department(&k.department), names.item(&k.item), t.limit(k.limit)))
                .collect(),
        }))
    }
    .await;
    s.finish(r)
}

// ---------------------------------------------------------------------------------------------------------
// The department officer.

pub struct TaskLine {
    pub id: String,
    pub case_id: String,
    pub case_number: String,
    pub item: String,
    pub department: String,
    pub applicant: String,
    pub state_word: String,
    pub ready: String,
    pub due: String,
    pub badge: Badge,
    /// "3 hours late" or "2 hours left".
    pub timing: String,
}

fn task_line(s: &Session, k: &OpenTask) -> TaskLine {
    let t = s.t();
    let names = Names { catalog: s.st.service.catalog(), t };
    let day = s.st.service.clock().day_minutes();
    let timing = match (k.late_minutes, k.left_minutes) {
        (Some(m), _) => t.f1("timing.late", t.minutes(m, day)),
        (None, Some(m)) => t.f1("timing.left", t.minutes(m, day)),
        _ => String::new(),
    };
    let timing = if k.paused { format!("{} · {}", t.s("timing.paused"), timing) } else { timing };
    TaskLine {
        id: k.row.id.clone(),
        case_id: k.row.case_id.clone(),
        case_number: k.case_number.clone(),
        item: t.pick(&k.item_name, &k.item_name_en).to_string(),
        department: names.department(&k.task.department),
        applicant: k.applicant.clone(),
        state_word: t.key("task_state", k.task.state.as_str()),
        ready: view::opt_ts(k.task.ready_at),
        due: view::opt_ts(k.task.due_at),
        badge: Badge::of(&t, k.colour),
        timing,
    }
}

#[derive(Template)]
#[template(path = "officer.html")]
struct OfficerPage {
    c: Ctx,
    department: String,
    tasks: Vec<TaskLine>,
}

pub async fn officer_queue(s: Session) -> Response {
    let r = async {
        let user = s.with_role(&[Role::Officer])?;
        let names = Names { catalog: s.st.service.catalog(), t: s.t() };
        let tasks = s.st.service.department_queue(user, 50).await?;
        Ok(html(&OfficerPage {
            c: s.ctx(),
            department: names.department(user.department.as_deref().unwrap_or("")),
            tasks: tasks.iter().map(|k| task_line(&s, k)).collect(),
        }))
    }
    .await;
    s.finish(r)
}

#[derive(Template)]
#[template(path = "task.html")]
struct TaskPage {
    c: Ctx,
    id: String,
    case_number: String,
    bundle: String,
    item: String,
    department: String,
    applicant: String,
    applicant_code: String,
    state: String,
    state_word: String,
    ready: String,
    due: String,
    badge: Badge,
    fields: Rows,
    field_codes: Vec<(String, String)>,
    materials: Vec<(String, String, bool, String)>,
    licence: String,
    result_fields: Vec<FieldVm>,
    number: String,
    valid_to: String,
    number_error: String,
    valid_to_error: String,
    result: Rows,
    reasons: String,
    reject_error: String,
    return_error: String,
}

fn task_page_of(s: &Session, v: &TaskView, posted: Option<&Posted>, problems: &[FieldProblem]) -> TaskPage {
    let t = s.t();
    let names = Names { catalog: s.st.service.catalog(), t };
    let k = &v.task;
    let field_value = |code: &str| posted.map(|p| p.get(&format!("r_{code}")).to_string());
    let result_fields = v
        .result_fields
        .iter()
        .map(|f| {
            let value = field_value(&f.code).map(serde_json::Value::String);
            view::field_vm(
                &t,
                "r_",
                &f.code,
                t.pick(&f.label, &f.label_en),
                f.field_type,
                f.required,
                &f.options,
                value.as_ref(),
                problems,
            )
        })
        .collect();
    let problem =
        |field: &str| problems.iter().find(|p| p.field == field).map(|p| view::problem_text(&t, p)).unwrap_or_default();
    let mut result = Vec::new();
    if let Some(r) = &k.result {
        result.push((t.s("result.number").to_string(), r.number.clone()));
        result.push((t.s("result.holder").to_string(), r.holder.clone()));
        result.push((t.s("result.valid_from").to_string(), r.valid_from.to_string()));
        result.extend(view::labelled(&names, &r.licence, &r.fields));
    }
    TaskPage {
        c: s.ctx(),
        id: k.id.clone(),
        case_number: v.case_number.clone(),
        bundle: names.bundle(&v.bundle),
        item: names.item(&k.item),
        department: names.department(&k.department),
        applicant: v.applicant.name.clone(),
        applicant_code: v.applicant.credit_code.clone().or_else(|| v.applicant.id_number.clone()).unwrap_or_default(),
        state: k.state.as_str().into(),
        state_word: t.key("task_state", k.state.as_str()),
        ready: view::opt_ts(k.ready_at),
        due: view::opt_ts(k.due_at),
        badge: Badge::of(&t, v.colour),
        fields: v
            .fields
            .iter()
            .map(|f| (t.pick(&f.field.label, &f.field.label_en).to_string(), view::value_text(f.value.as_ref())))
            .collect(),
        field_codes: v
            .fields
            .iter()
            .map(|f| (f.field.code.clone(), t.pick(&f.field.label, &f.field.label_en).to_string()))
            .collect(),
        materials: v
            .materials
            .iter()
            .map(|m| {
                (
                    m.material.code.clone(),
                    t.pick(&m.material.name, &m.material.name_en).to_string(),
                    m.upload.is_some(),
                    format!("/cases/{}/materials/{}/file", v.case_id, m.material.code),
                )
            })
            .collect(),
        licence: v.licence.as_ref().map(|l| t.pick(&l.name, &l.name_en).to_string()).unwrap_or_default(),
        result_fields,
        number: posted.map(|p| p.get("number").to_string()).unwrap_or_default(),
        valid_to: posted.map(|p| p.get("valid_to").to_string()).unwrap_or_default(),
        number_error: problem("number"),
        valid_to_error: problem("valid_to"),
        result,
        reasons: k.reasons.iter().map(|r| r.reason.clone()).collect::<Vec<_>>().join("；"),
        reject_error: String::new(),
        return_error: String::new(),
    }
}

pub async fn task_page(s: Session, Path(id): Path<String>) -> Response {
    let r = async {
        let user = s.with_role(&[Role::Officer, Role::Supervisor, Role::Admin])?;
        let v = s.st.service.get_task(user, &id).await?;
        Ok(html(&task_page_of(&s, &v, None, &[])))
    }
    .await;
    s.finish(r)
}

pub async fn approve(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let s = &p.session;
    let r = async {
        let user = s.with_role(&[Role::Officer])?;
        let v = st.service.get_task(user, &id).await?;
        let mut result = std::collections::BTreeMap::new();
        for f in &v.result_fields {
            if let Some(val) = view::posted_value(f.field_type, p.get(&format!("r_{}", f.code))) {
                result.insert(f.code.clone(), val);
            }
        }
        let opt = |k: &str| Some(p.get(k).trim().to_string()).filter(|x| !x.is_empty());
        let req = ApproveRequest { result, number: opt("number"), valid_to: opt("valid_to") };
        match st.service.approve(user, &id, req).await {
            Ok(_) => Ok(see_other(&format!("/officer/tasks/{id}"))),
            Err(CaseActionError::Validation { problems, .. }) => {
                Ok(html_status(&task_page_of(s, &v, Some(&p), &problems), StatusCode::UNPROCESSABLE_ENTITY))
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    s.finish(r)
}

pub async fn reject(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let s = &p.session;
    let r = async {
        let user = s.with_role(&[Role::Officer])?;
        match st.service.reject(user, &id, p.get("reason").trim().to_string()).await {
            Ok(_) => Ok(see_other(&format!("/officer/tasks/{id}"))),
            Err(CaseActionError::BadInput(b)) if b.code == ErrorCode::EmptyReasons => {
                let v = st.service.get_task(user, &id).await?;
                let mut page = task_page_of(s, &v, None, &[]);
                page.reject_error = s.t().s("error.empty_reasons").to_string();
                Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    s.finish(r)
}

pub async fn return_task(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let s = &p.session;
    let r = async {
        let user = s.with_role(&[Role::Officer])?;
        match st.service.return_task(user, &id, posted_reasons(&p)).await {
            Ok(_) => Ok(see_other(&format!("/officer/tasks/{id}"))),
            Err(CaseActionError::BadInput(b)) if b.code == ErrorCode::EmptyReasons => {
                let v = st.service.get_task(user, &id).await?;
                let mut page = task_page_of(s, &v, None, &[]);
                page.return_error = s.t().s("error.empty_reasons").to_string();
                Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    s.finish(r)
}

// ---------------------------------------------------------------------------------------------------------
// The supervisor.

pub struct CountRow {
    pub department: String,
    /// green, blue, yellow, red, none
    pub counts: [u64; 5],
    pub total: u64,
}

#[derive(Template)]
#[template(path = "supervisor.html")]
struct SupervisorPage {
    c: Ctx,
    rows: Vec<CountRow>,
    totals: [u64; 5],
    open: u64,
    alerts: Vec<TaskLine>,
    colours: Vec<Badge>,
    /// Recorded colours, the 30-day trend and the red list.
    d: super::oversee::Dashboard,
}

pub async fn supervisor(s: Session) -> Response {
    let r = async {
        let user = s.with_role(&[Role::Supervisor, Role::Admin])?;
        let t = s.t();
        let names = Names { catalog: s.st.service.catalog(), t };
        let o = s.st.service.supervision(user, 100).await?;
        let mut totals = [0u64; 5];
        let rows = o
            .counts
            .iter()
            .map(|(d, c)| {
                for (i, n) in c.iter().enumerate() {
                    totals[i] += n;
                }
                CountRow { department: names.department(d), counts: *c, total: c.iter().sum() }
            })
            .collect();
        use onething_core::colour::Colour;
        let colours = [Some(Colour::Green), Some(Colour::Blue), Some(Colour::Yellow), Some(Colour::Red), None]
            .into_iter()
            .map(|c| Badge::of(&t, c))
            .collect();
        Ok(html(&SupervisorPage {
            c: s.ctx(),
            rows,
            totals,
            open: o.open_tasks,
            alerts: o.alerts.iter().map(|k| task_line(&s, k)).collect(),
            colours,
            d: super::oversee::dashboard(&s, user).await?,
        }))
    }
    .await;
    s.finish(r)
}

/// Whether a task state is one an officer acts on (for templates).
#[allow(dead_code)]
fn is_open(state: TaskState) -> bool {
    matches!(state, TaskState::Ready | TaskState::Returned)
}
