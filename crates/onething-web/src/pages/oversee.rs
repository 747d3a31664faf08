//! Supervision pages: the supervisor's dashboard sections (recorded colours, the 30-day colour trend as inline
//! SVG, the red list), the escalation board (督办 and 约谈: notes, outcomes, closing, manual escalation), the
//! performance assessment (绩效考核, tables, SVG bars, CSV), the projects board (技改项目: colours, import,
//! milestone completion), everyone's inbox of notices, the applicant's rating of a concluded case (好差评) and
//! the department's reviews of poor ratings. Server-rendered, no JavaScript needed; every POST redirects to a
//! GET, or shows the page again with the error next to its field.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use onething_core::calendar::china_tz;
use onething_core::colour::Colour;
use onething_service::oversight::SupervisionKind;
use onething_service::records::{ColourSnapshot, Notice, NoticeKind, Record, Supervision};
use onething_service::{
    EscalationInput, Figures, NoteInput, OversightError, Period, RATING_LEVELS, RatingInput, ReadError, Role, User,
};
use onething_store::ColourCount;

use super::view::{self, Badge, Names};
use super::{Ctx, PageError, Posted, Session, html, html_status, see_other};
use crate::AppState;

// ---------------------------------------------------------------------------------------------------------
// Small helpers.

const COLOURS: [&str; 5] = ["green", "blue", "yellow", "red", "none"];

fn colour_index(c: &str) -> usize {
    COLOURS.iter().position(|x| *x == c).unwrap_or(4)
}

fn colour_of(c: &str) -> Option<Colour> {
    match c {
        "green" => Some(Colour::Green),
        "blue" => Some(Colour::Blue),
        "yellow" => Some(Colour::Yellow),
        "red" => Some(Colour::Red),
        _ => None,
    }
}

/// The five badges in order (green, blue, yellow, red, none).
fn colour_badges(s: &Session) -> Vec<Badge> {
    let t = s.t();
    COLOURS.iter().map(|c| Badge::of(&t, colour_of(c))).collect()
}

/// A date in China time.
fn day(t: Timestamp) -> String {
    t.to_zoned(china_tz()).date().to_string()
}

/// Working time from `since` to now, in words ("" when not yet).
fn late_text(s: &Session, since: Option<Timestamp>) -> String {
    let svc = &s.st.service;
    let Some(since) = since else { return String::new() };
    let now = svc.now();
    if since >= now {
        return String::new();
    }
    let minutes = svc.clock().used(since, now, &[]).unwrap_or(0);
    s.t().minutes(minutes, svc.clock().day_minutes())
}

/// A message of a use case's failure for a form field, with the field it belongs to: bad input names its
/// field; "not found" names what was not found.
fn field_error(s: &Session, e: &OversightError) -> Option<(String, String)> {
    let t = s.t();
    match e {
        OversightError::BadInput(b) => Some((b.field.clone(), t.key("error", b.code.as_str()))),
        OversightError::NotFound(what) => Some((what.to_string(), t.s("error.not_found").to_string())),
        OversightError::IllegalTransition { .. } => Some((String::new(), t.s("error.illegal_transition").to_string())),
        _ => None,
    }
}

fn opt_text(p: &Posted, name: &str) -> Option<String> {
    Some(p.get(name).trim().to_string()).filter(|x| !x.is_empty())
}

// ---------------------------------------------------------------------------------------------------------
// The dashboard's sections (on the supervisor's overview page).

pub struct RecordedRow {
    pub department: String,
    pub counts: [i64; 5],
    pub total: i64,
}

pub struct TrendBar {
    pub x: String,
    pub w: String,
    /// (class, y, height, tooltip) from the bottom up.
    pub parts: Vec<(&'static str, String, String, String)>,
    /// The axis label under the bar ("" for most bars).
    pub tick: String,
}

pub struct TrendVm {
    pub bars: Vec<TrendBar>,
    pub max: i64,
    /// Rows of the table behind the chart: date and the four counts.
    pub rows: Vec<(String, [i64; 4])>,
    pub summary: String,
}

pub struct RedLine {
    pub case_id: String,
    pub task_id: String,
    pub department: String,
    pub due: String,
    pub late: String,
}

pub struct Dashboard {
    pub recorded: Vec<RecordedRow>,
    pub recorded_totals: [i64; 5],
    pub trend: TrendVm,
    pub red: Vec<RedLine>,
}

/// Chart geometry of the trend (the viewBox is 640 × 220; bars sit between y = 10 and y = 190).
const TREND_LEFT: f64 = 44.0;
const TREND_WIDTH: f64 = 588.0;
const TREND_TOP: f64 = 10.0;
const TREND_HEIGHT: f64 = 180.0;

fn trend_vm(s: &Session, snapshots: &[ColourSnapshot]) -> TrendVm {
    let t = s.t();
    let rows: Vec<(String, [i64; 4])> = snapshots
        .iter()
        .map(|snap| {
            let mut c = [0i64; 4];
            // Open tasks of cases and open milestones of projects run under the same colours.
            for e in snap.tasks.iter().chain(&snap.milestones) {
                let i = colour_index(&e.colour);
                if i < 4 {
                    c[i] += e.count;
                }
            }
            (snap.date.clone(), c)
        })
        .collect();
    let max = rows.iter().map(|(_, c)| c.iter().sum::<i64>()).max().unwrap_or(0).max(1);
    let n = rows.len().max(1) as f64;
    let slot = TREND_WIDTH / n.max(10.0);
    let words: Vec<String> = COLOURS[..4].iter().map(|c| t.key("colour", c)).collect();
    let bars = rows
        .iter()
        .enumerate()
        .map(|(i, (date, c))| {
            let mut y = TREND_TOP + TREND_HEIGHT;
            let mut parts = Vec::new();
            for (k, n) in c.iter().enumerate() {
                if *n == 0 {
                    continue;
                }
                let h = *n as f64 * TREND_HEIGHT / max as f64;
                y -= h;
                parts.push((COLOURS[k], format!("{y:.1}"), format!("{h:.1}"), format!("{date} {} {n}", words[k])));
            }
            let tick = if i == 0 || i + 1 == rows.len() || i % 7 == 0 {
                date.get(5..).unwrap_or("").to_string()
            } else {
                String::new()
            };
            TrendBar {
                x: format!("{:.1}", TREND_LEFT + i as f64 * slot + slot * 0.1),
                w: format!("{:.1}", slot * 0.8),
                parts,
                tick,
            }
        })
        .collect();
    let summary = match (rows.first(), rows.last()) {
        (Some((from, _)), Some((to, last))) => t.f2("dashboard.trend_summary", format!("{from} – {to}"), last[3]),
        _ => String::new(),
    };
    TrendVm { bars, max, rows, summary }
}

/// The dashboard's sections: recorded colours by department, the trend, the red list.
pub async fn dashboard(s: &Session, user: &User) -> Result<Dashboard, PageError> {
    let svc = &s.st.service;
    let names = Names { catalog: svc.catalog(), t: s.t() };
    let counts: Vec<ColourCount> = svc.colour_overview(user).await?;
    let mut by_dept: BTreeMap<String, [i64; 5]> = BTreeMap::new();
    let mut totals = [0i64; 5];
    for c in &counts {
        let i = colour_index(&c.colour);
        by_dept.entry(c.department.clone().unwrap_or_default()).or_default()[i] += c.count;
        totals[i] += c.count;
    }
    let recorded = by_dept
        .into_iter()
        .map(|(d, c)| RecordedRow { department: names.department(&d), counts: c, total: c.iter().sum() })
        .collect();
    let trend = trend_vm(s, &svc.colour_trend(user, 30).await?);
    let red = svc
        .red_list(user, None, 100)
        .await?
        .iter()
        .map(|w| RedLine {
            case_id: w.case_id.clone().unwrap_or_default(),
            task_id: w.subject.strip_prefix("task:").unwrap_or("").to_string(),
            department: names.department(w.department.as_deref().unwrap_or("")),
            due: view::opt_ts(w.due_at),
            late: late_text(s, w.due_at),
        })
        .collect();
    Ok(Dashboard { recorded, recorded_totals: totals, trend, red })
}

// ---------------------------------------------------------------------------------------------------------
// The escalation board.

pub struct NoteVm {
    pub at: String,
    pub by: String,
    pub text: String,
    pub outcome: String,
}

pub struct RecordVm {
    pub kind: &'static str,
    pub id: String,
    pub case_id: String,
    pub what: String,
    pub department: String,
    pub reason: String,
    pub opened: String,
    pub late: String,
    pub open: bool,
    pub outcome: String,
    pub closed: String,
    pub notes: Vec<NoteVm>,
    pub note_error: String,
    pub close_error: String,
    pub text: String,
}

fn record_vm(s: &Session, kind: &'static str, r: &Record<Supervision>) -> RecordVm {
    let t = s.t();
    let names = Names { catalog: s.st.service.catalog(), t };
    let doc = &r.doc;
    let by = doc.opened_by.as_str();
    let reason = if by.is_empty() || by == "system" { t.key("esc_reason", &doc.reason) } else { doc.reason.clone() };
    let open = r.state == "open";
    RecordVm {
        kind,
        id: r.id.clone(),
        case_id: r.case_id.clone().unwrap_or_default(),
        what: doc.what.clone(),
        department: r.department.as_deref().map(|d| names.department(d)).unwrap_or_default(),
        reason,
        opened: view::ts(r.created_at),
        late: if open { late_text(s, doc.since) } else { String::new() },
        open,
        outcome: doc.outcome.clone().unwrap_or_default(),
        closed: doc.closed_at.map(view::ts).unwrap_or_default(),
        notes: doc
            .notes
            .iter()
            .map(|n| NoteVm {
                at: view::ts(n.at),
                by: n.by.clone(),
                text: n.text.clone(),
                outcome: n.outcome.clone().unwrap_or_default(),
            })
            .collect(),
        note_error: String::new(),
        close_error: String::new(),
        text: String::new(),
    }
}

/// How many records each list of the board shows.
const BOARD_LIMIT: usize = 100;

#[derive(Template)]
#[template(path = "escalations.html")]
struct EscalationsPage {
    c: Ctx,
    can_act: bool,
    open: Vec<RecordVm>,
    closed: Vec<RecordVm>,
    interviews: Vec<RecordVm>,
    /// Records beyond [`BOARD_LIMIT`] not shown: open escalations, interviews, closed escalations.
    hidden_open: usize,
    hidden_interviews: usize,
    hidden_closed: usize,
    case: String,
    task: String,
    reason: String,
    case_error: String,
    task_error: String,
    reason_error: String,
}

async fn escalations_page(s: &Session, user: &User) -> Result<EscalationsPage, PageError> {
    let svc = &s.st.service;
    let esc = svc.list_supervision(user, SupervisionKind::Escalation, None).await?;
    let (open, closed): (Vec<_>, Vec<_>) = esc.iter().map(|r| record_vm(s, "escalation", r)).partition(|r| r.open);
    let mut interviews: Vec<_> = svc
        .list_supervision(user, SupervisionKind::Interview, None)
        .await?
        .iter()
        .map(|r| record_vm(s, "interview", r))
        .collect();
    interviews.sort_by_key(|r| !r.open);
    // A board stays readable and light: the newest records of each list, with how many more there are.
    let more = |v: &mut Vec<RecordVm>| {
        let n = v.len().saturating_sub(BOARD_LIMIT);
        v.truncate(BOARD_LIMIT);
        n
    };
    let (mut open, mut closed) = (open, closed);
    let (hidden_open, hidden_interviews, hidden_closed) = (more(&mut open), more(&mut interviews), more(&mut closed));
    let q = query_of(&s.path);
    Ok(EscalationsPage {
        c: s.ctx(),
        can_act: user.has(Role::Supervisor),
        open,
        closed,
        interviews,
        hidden_open,
        hidden_interviews,
        hidden_closed,
        case: q.get("case").cloned().unwrap_or_default(),
        task: q.get("task").cloned().unwrap_or_default(),
        reason: String::new(),
        case_error: String::new(),
        task_error: String::new(),
        reason_error: String::new(),
    })
}

/// The query parameters of a path.
fn query_of(path: &str) -> BTreeMap<String, String> {
    let q = path.split_once('?').map_or("", |(_, q)| q);
    url_decode_pairs(q)
}

fn url_decode_pairs(q: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(decode(k), decode(v));
    }
    out
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or(""), 16) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub async fn escalations(s: Session) -> Response {
    let r = async {
        let user = s.with_role(&[Role::Supervisor, Role::Admin])?;
        Ok(html(&escalations_page(&s, user).await?))
    }
    .await;
    s.finish(r)
}

pub async fn open_escalation(State(st): State<AppState>, p: Posted) -> Response {
    let s = &p.session;
    let r = async {
        let user = s.with_role(&[Role::Supervisor])?;
        let case = p.get("case").trim().to_string();
        let task = p.get("task").trim().to_string();
        let reason = p.get("reason").trim().to_string();
        let mut page_errors: Vec<(String, String)> = Vec::new();
        if case.is_empty() {
            page_errors.push(("case".into(), s.t().s("error.required").to_string()));
        }
        // The task may be given by its id or by its item's code.
        let mut task_id = None;
        if page_errors.is_empty() && !task.is_empty() {
            let found = match st.service.get_case(user, &case).await {
                Err(ReadError::NotFound(_)) => st.service.case_by_number(user, &case).await,
                other => other,
            };
            match found {
                Ok(v) => match v.case.tasks.iter().find(|k| k.id == task || k.item == task) {
                    Some(k) => task_id = Some(k.id.clone()),
                    None => page_errors.push(("task".into(), s.t().s("error.unknown_task").to_string())),
                },
                Err(ReadError::NotFound(_)) => {
                    page_errors.push(("case".into(), s.t().s("error.not_found").to_string()))
                }
                Err(e) => return Err(e.into()),
            }
        }
        if page_errors.is_empty() {
            let input = EscalationInput { case_id: case.clone(), task_id, reason: reason.clone() };
            match st.service.open_escalation(user, input).await {
                Ok(_) => return Ok(see_other("/supervisor/escalations")),
                Err(e) => match field_error(s, &e) {
                    Some(fe) => page_errors.push(fe),
                    None => return Err(e.into()),
                },
            }
        }
        let mut page = escalations_page(s, user).await?;
        page.case = case;
        page.task = task;
        page.reason = reason;
        for (field, message) in page_errors {
            match field.as_str() {
                "task" => page.task_error = message,
                "reason" => page.reason_error = message,
                _ => page.case_error = message,
            }
        }
        Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
    }
    .await;
    s.finish(r)
}

fn record_kind(segment: &str) -> Result<SupervisionKind, PageError> {
    match segment {
        "escalations" => Ok(SupervisionKind::Escalation),
        "interviews" => Ok(SupervisionKind::Interview),
        _ => Err(PageError::Code(StatusCode::NOT_FOUND, "not_found")),
    }
}

/// Shows the board again with an error next to one record's note or close form.
async fn board_with_error(
    s: &Session,
    user: &User,
    id: &str,
    close: bool,
    text: String,
    message: String,
) -> Result<Response, PageError> {
    let mut page = escalations_page(s, user).await?;
    for r in page.open.iter_mut().chain(page.closed.iter_mut()).chain(page.interviews.iter_mut()) {
        if r.id == id {
            if close {
                r.close_error = message.clone();
            } else {
                r.note_error = message.clone();
            }
            r.text = text.clone();
        }
    }
    Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
}

pub async fn add_note(State(st): State<AppState>, Path((kind, id)): Path<(String, String)>, p: Posted) -> Response {
    let s = &p.session;
    let r = async {
        let user = s.with_role(&[Role::Supervisor])?;
        let kind = record_kind(&kind)?;
        let text = p.get("text").trim().to_string();
        let note = NoteInput { text: text.clone(), outcome: opt_text(&p, "outcome") };
        match st.service.add_note(user, kind, &id, note).await {
            Ok(_) => Ok(see_other(&format!("/supervisor/escalations#r-{id}"))),
            Err(e @ OversightError::BadInput(_)) => {
                let message = field_error(s, &e).map(|f| f.1).unwrap_or_default();
                board_with_error(s, user, &id, false, text, message).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    s.finish(r)
}

pub async fn close_record(State(st): State<AppState>, Path((kind, id)): Path<(String, String)>, p: Posted) -> Response {
    let s = &p.session;
    let r = async {
        let user = s.with_role(&[Role::Supervisor])?;
        let kind = record_kind(&kind)?;
        let outcome = p.get("outcome").trim().to_string();
        match st.service.close_record(user, kind, &id, outcome.clone()).await {
            Ok(_) => Ok(see_other(&format!("/supervisor/escalations#r-{id}"))),
            Err(e @ OversightError::BadInput(_)) => {
                let message = field_error(s, &e).map(|f| f.1).unwrap_or_default();
                board_with_error(s, user, &id, true, outcome, message).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    s.finish(r)
}

// ---------------------------------------------------------------------------------------------------------
// The assessment.

pub struct FigVm {
    pub name: String,
    pub handled: u64,
    pub cases: u64,
    pub on_time_rate: String,
    pub mean_hours: String,
    pub p90_hours: String,
    pub correction_rate: String,
    pub overdue: u64,
    pub escalations: u64,
    pub interviews: u64,
    pub satisfaction: String,
}

pub struct BundleLine {
    pub name: String,
    pub concluded: u64,
    pub mean_hours: String,
    pub baseline_hours: String,
    pub cut: String,
}

pub struct HBar {
    pub label: String,
    pub y: String,
    pub text_y: String,
    pub rate_w: String,
    pub rate: String,
    pub rate_text_x: String,
    pub handled_y: String,
    pub handled_w: String,
    pub handled: u64,
    pub handled_text_x: String,
    pub handled_text_y: String,
}

pub struct PeriodOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "assessment.html")]
struct AssessmentPage {
    c: Ctx,
    period: String,
    period_label: String,
    period_error: String,
    groups: Vec<(String, Vec<PeriodOption>)>,
    departments: Vec<FigVm>,
    items: Vec<FigVm>,
    bundles: Vec<BundleLine>,
    bars: Vec<HBar>,
    chart_height: String,
    csv_href: String,
}

fn opt1(x: Option<f64>) -> String {
    x.map_or_else(|| "—".to_string(), |v| format!("{v:.1}"))
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "—".to_string(), |v| format!("{v:.1}%"))
}

fn fig_vm(name: String, f: &Figures) -> FigVm {
    FigVm {
        name,
        handled: f.handled,
        cases: f.cases,
        on_time_rate: pct(f.on_time_rate),
        mean_hours: opt1(f.mean_hours),
        p90_hours: opt1(f.p90_hours),
        correction_rate: pct(f.correction_rate),
        overdue: f.overdue,
        escalations: f.escalations,
        interviews: f.interviews,
        satisfaction: f.satisfaction.map_or_else(|| "—".to_string(), |v| format!("{v:.1}（{}）", f.ratings)),
    }
}

fn period_label(s: &Session, p: &str) -> String {
    let t = s.t();
    match p.split_once('-') {
        None => t.f1("period.year", p),
        Some((y, q)) if q.starts_with(['Q', 'q']) => t.f2("period.quarter", y, q.get(1..).unwrap_or("")),
        Some((y, m)) => t.f2("period.month", y, m.trim_start_matches('0')),
    }
}

fn period_groups(s: &Session, year: i16, selected: &str) -> Vec<(String, Vec<PeriodOption>)> {
    let mut groups = Vec::new();
    for y in [year, year - 1, year - 2] {
        let mut values = vec![y.to_string()];
        values.extend((1..=4).map(|q| format!("{y}-Q{q}")));
        values.extend((1..=12).map(|m| format!("{y}-{m:02}")));
        let options = values
            .into_iter()
            .map(|v| PeriodOption { label: period_label(s, &v), selected: v == selected, value: v })
            .collect();
        groups.push((s.t().f1("period.year", y), options));
    }
    groups
}

/// Chart geometry of the assessment bars: 150 px of labels, then 330 px of bars and their figures.
const BAR_LEFT: f64 = 150.0;
const BAR_WIDTH: f64 = 330.0;
const BAR_ROW: f64 = 34.0;

fn assessment_bars(names: &Names, departments: &BTreeMap<String, Figures>) -> (Vec<HBar>, String) {
    let max = departments.values().map(|f| f.handled).max().unwrap_or(0).max(1);
    let bars: Vec<HBar> = departments
        .iter()
        .enumerate()
        .map(|(i, (code, f))| {
            let y = 24.0 + i as f64 * BAR_ROW;
            let rate = f.on_time_rate.unwrap_or(0.0);
            let rate_w = rate / 100.0 * BAR_WIDTH;
            let handled_w = f.handled as f64 / max as f64 * BAR_WIDTH;
            HBar {
                label: names.department(code),
                y: format!("{y:.1}"),
                text_y: format!("{:.1}", y + 13.0),
                rate_w: format!("{rate_w:.1}"),
                rate: pct(f.on_time_rate),
                rate_text_x: format!("{:.1}", BAR_LEFT + rate_w + 4.0),
                handled_y: format!("{:.1}", y + 13.0),
                handled_w: format!("{handled_w:.1}"),
                handled: f.handled,
                handled_text_x: format!("{:.1}", BAR_LEFT + handled_w + 4.0),
                handled_text_y: format!("{:.1}", y + 23.0),
            }
        })
        .collect();
    let height = format!("{:.0}", 30.0 + bars.len().max(1) as f64 * BAR_ROW);
    (bars, height)
}

fn period_of(s: &Session) -> (String, i16) {
    let year = s.st.service.now().to_zoned(china_tz()).year();
    let given = query_of(&s.path).get("period").cloned().unwrap_or_default();
    let period = if given.trim().is_empty() { year.to_string() } else { given.trim().to_string() };
    (period, year)
}

pub async fn assessment(s: Session) -> Response {
    let r = async {
        let user = s.with_role(&[Role::Supervisor, Role::Admin])?;
        let (period, year) = period_of(&s);
        let names = Names { catalog: s.st.service.catalog(), t: s.t() };
        let mut page = AssessmentPage {
            c: s.ctx(),
            period_label: period_label(&s, &period),
            period_error: String::new(),
            groups: period_groups(&s, year, &period),
            departments: Vec::new(),
            items: Vec::new(),
            bundles: Vec::new(),
            bars: Vec::new(),
            chart_height: "60".into(),
            csv_href: format!("/supervisor/assessment.csv?period={}", view::url_encode(&period)),
            period,
        };
        let parsed = match Period::parse(&page.period) {
            Ok(p) => p,
            Err(e) => {
                page.period_error = field_error(&s, &OversightError::BadInput(e)).map(|f| f.1).unwrap_or_default();
                page.period_label = page.period.clone();
                return Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY));
            }
        };
        let a = s.st.service.assessment(user, &parsed).await?;
        page.departments = a.departments.iter().map(|(d, f)| fig_vm(names.department(d), f)).collect();
        page.items = a.items.iter().map(|(d, f)| fig_vm(names.item(d), f)).collect();
        page.bundles = a
            .bundles
            .iter()
            .map(|(b, f)| BundleLine {
                name: names.bundle(b),
                concluded: f.concluded,
                mean_hours: opt1(f.mean_hours),
                baseline_hours: opt1(f.baseline_hours),
                cut: pct(f.realised_cut_percent),
            })
            .collect();
        let (bars, height) = assessment_bars(&names, &a.departments);
        page.bars = bars;
        page.chart_height = height;
        Ok(html(&page))
    }
    .await;
    s.finish(r)
}

pub async fn assessment_csv(s: Session) -> Response {
    let r = async {
        let user = s.with_role(&[Role::Supervisor, Role::Admin])?;
        let (period, _) = period_of(&s);
        let parsed = Period::parse(&period)?;
        let a = s.st.service.assessment(user, &parsed).await?;
        let mut resp = onething_service::assessment_csv(&a).into_response();
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
        let name = parsed.label.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect::<String>();
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"assessment-{name}.csv\"")) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(resp)
    }
    .await;
    s.finish(r)
}

// ---------------------------------------------------------------------------------------------------------
// The projects board.

pub const PROJECTS_PER_PAGE: usize = 50;

pub struct MilestoneVm {
    pub code: String,
    pub name: String,
    pub department: String,
    pub due: String,
    pub done: String,
    pub badge: Badge,
    pub can_complete: bool,
}

pub struct ProjectVm {
    pub id: String,
    pub name: String,
    pub enterprise: String,
    pub credit_code: String,
    pub start: String,
    pub milestones: Vec<MilestoneVm>,
}

#[derive(Template)]
#[template(path = "projects.html")]
struct ProjectsPage {
    c: Ctx,
    can_import: bool,
    colours: Vec<Badge>,
    counts: [u64; 5],
    done: u64,
    total: usize,
    projects: Vec<ProjectVm>,
    page: usize,
    pages: usize,
    prev: String,
    next: String,
    csv: String,
    csv_error: String,
    imported: String,
    rejected: Vec<(usize, String)>,
}

fn page_number(path: &str) -> usize {
    query_of(path).get("page").and_then(|p| p.parse::<usize>().ok()).filter(|p| *p >= 1).unwrap_or(1)
}

async fn projects_page(s: &Session, user: &User, page: usize) -> Result<ProjectsPage, PageError> {
    let svc = &s.st.service;
    let t = s.t();
    let names = Names { catalog: svc.catalog(), t };
    let offset = (page - 1).saturating_mul(PROJECTS_PER_PAGE);
    let board = svc.project_board(user, offset, PROJECTS_PER_PAGE).await?;
    let pages = board.total.div_ceil(PROJECTS_PER_PAGE).max(1);
    let supervisor = user.has(Role::Supervisor);
    let own = |d: &str| user.has(Role::Officer) && user.department.as_deref() == Some(d);
    let projects = board
        .projects
        .iter()
        .map(|line| {
            let p = &line.project;
            ProjectVm {
                id: p.id.clone(),
                name: p.name.clone(),
                enterprise: p.enterprise.clone(),
                credit_code: p.credit_code.clone(),
                start: day(p.start),
                milestones: p
                    .milestones
                    .iter()
                    .zip(&line.colours)
                    .map(|(m, c)| {
                        let badge = match m.done_at {
                            Some(done) if m.due_at.is_some_and(|due| done > due) => {
                                Badge { class: "done late", word: t.s("projects.done_late").to_string() }
                            }
                            Some(_) => Badge { class: "done", word: t.s("projects.done").to_string() },
                            None => Badge::of(&t, *c),
                        };
                        MilestoneVm {
                            code: m.code.clone(),
                            name: m.name.clone(),
                            department: names.department(&m.department),
                            due: m.due_at.map(day).unwrap_or_default(),
                            done: m.done_at.map(day).unwrap_or_default(),
                            badge,
                            can_complete: m.done_at.is_none() && (supervisor || own(&m.department)),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let link = |n: usize| format!("/supervisor/projects?page={n}");
    Ok(ProjectsPage {
        c: s.ctx(),
        can_import: supervisor || user.has(Role::Admin),
        colours: colour_badges(s),
        counts: board.counts,
        done: board.done,
        total: board.total,
        projects,
        page,
        pages,
        prev: if page > 1 { link(page - 1) } else { String::new() },
        next: if page < pages { link(page + 1) } else { String::new() },
        csv: String::new(),
        csv_error: String::new(),
        imported: query_of(&s.path)
            .get("imported")
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            .cloned()
            .unwrap_or_default(),
        rejected: Vec::new(),
    })
}

pub async fn projects(s: Session) -> Response {
    let r = async {
        let user = s.with_role(&[Role::Supervisor, Role::Admin, Role::Officer])?;
        Ok(html(&projects_page(&s, user, page_number(&s.path)).await?))
    }
    .await;
    s.finish(r)
}

pub async fn import_projects(State(st): State<AppState>, p: Posted) -> Response {
    let s = &p.session;
    let r = async {
        let user = s.with_role(&[Role::Supervisor, Role::Admin])?;
        let file = p.file("file").filter(|f| !f.is_empty()).map(|f| String::from_utf8_lossy(f).into_owned());
        let csv = file.unwrap_or_else(|| p.get("csv").to_string());
        match st.service.import_projects(user, &csv).await {
            Ok(report) if report.rejected.is_empty() => {
                Ok(see_other(&format!("/supervisor/projects?imported={}", report.imported)))
            }
            Ok(report) => {
                let mut page = projects_page(s, user, 1).await?;
                page.imported = report.imported.to_string();
                page.rejected = report.rejected.iter().map(|e| (e.line, e.message.clone())).collect();
                page.csv = csv;
                Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
            }
            Err(e @ OversightError::BadInput(_)) => {
                let mut page = projects_page(s, user, 1).await?;
                let message = field_error(s, &e).map(|f| f.1).unwrap_or_default();
                page.csv_error = format!("{message} {e}");
                page.csv = csv;
                Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    s.finish(r)
}

pub async fn complete_milestone(
    State(st): State<AppState>,
    Path((id, code)): Path<(String, String)>,
    p: Posted,
) -> Response {
    let s = &p.session;
    let r = async {
        let user = s.with_role(&[Role::Supervisor, Role::Officer])?;
        st.service.complete_milestone(user, &id, &code).await?;
        let page = p.get("page").parse::<usize>().ok().filter(|n| *n >= 1).unwrap_or(1);
        Ok(see_other(&format!("/supervisor/projects?page={page}#p-{id}")))
    }
    .await;
    s.finish(r)
}

// ---------------------------------------------------------------------------------------------------------
// The inbox.

pub struct NoticeVm {
    pub id: String,
    pub unread: bool,
    pub at: String,
    pub kind: String,
    pub text: String,
    pub from: Option<Badge>,
    pub to: Option<Badge>,
    pub href: String,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    c: Ctx,
    notices: Vec<NoticeVm>,
    unread: i64,
}

fn notice_vm(s: &Session, user: &User, r: &Record<Notice>) -> NoticeVm {
    let t = s.t();
    let names = Names { catalog: s.st.service.catalog(), t };
    let d = &r.doc;
    let label = d.label.as_str();
    let reason = d.reason.as_deref().unwrap_or("");
    let department = r.department.as_deref().map(|d| names.department(d)).unwrap_or_default();
    let (kind, (text, from, to)) = match d.kind {
        NoticeKind::Colour => {
            let (from, to) = (d.from.as_deref().unwrap_or(""), d.to.as_deref().unwrap_or(""));
            let due = d.due_at.map(view::ts).unwrap_or_default();
            (
                "colour",
                (
                    t.f2("inbox.colour", label, due),
                    Some(Badge::of(&t, colour_of(from))),
                    Some(Badge::of(&t, colour_of(to))),
                ),
            )
        }
        NoticeKind::Escalation => ("escalation", (t.f2("inbox.escalation", label, reason), None, None)),
        NoticeKind::Interview => {
            ("interview", (t.f2("inbox.interview", label, t.key("esc_reason", reason)), None, None))
        }
        NoticeKind::Review => {
            // The notice carries the level's Chinese name; shown in the reader's language.
            let level = RATING_LEVELS
                .iter()
                .find(|(_, name)| *name == reason)
                .map_or_else(|| reason.to_string(), |(l, _)| t.key("rating", &format!("level_{l}")));
            ("review", (t.f2("inbox.review", label, &level), None, None))
        }
    };
    let text = if department.is_empty() { text } else { format!("{text}（{department}）") };
    let href = match (kind, &r.case_id) {
        ("review", _) if user.has(Role::Officer) => "/officer/reviews".to_string(),
        (_, Some(c)) => format!("/cases/{c}"),
        ("interview" | "escalation", None) if user.has(Role::Supervisor) => "/supervisor/escalations".to_string(),
        (_, None) if user.has(Role::Supervisor) || user.has(Role::Officer) => "/supervisor/projects".to_string(),
        _ => String::new(),
    };
    NoticeVm {
        id: r.id.clone(),
        unread: r.state == "unread",
        at: view::ts(r.created_at),
        kind: t.key("notice_kind", kind),
        text,
        from,
        to,
        href,
    }
}

pub async fn inbox(s: Session) -> Response {
    let r = async {
        let user = s.user()?;
        let (rows, unread) = s.st.service.inbox(user).await?;
        Ok(html(&InboxPage { c: s.ctx(), notices: rows.iter().map(|r| notice_vm(&s, user, r)).collect(), unread }))
    }
    .await;
    s.finish(r)
}

pub async fn mark_read(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let s = &p.session;
    let r = async {
        let user = s.user()?;
        st.service.mark_read(user, &id).await?;
        Ok(see_other(&format!("/inbox#n-{id}")))
    }
    .await;
    s.finish(r)
}

// ---------------------------------------------------------------------------------------------------------
// Ratings (好差评) and reviews.

/// The rating of a case as shown on its page.
pub struct RatingVm {
    pub level: u8,
    pub label: String,
    pub comment: String,
    pub at: String,
}

/// The five levels with their names in the reader's language, best first.
pub fn rating_levels(s: &Session) -> Vec<(u8, String)> {
    let t = s.t();
    RATING_LEVELS.iter().map(|(l, _)| (*l, t.key("rating", &format!("level_{l}")))).collect()
}

/// The rating of a case, if given and visible to the user.
pub async fn rating_of(s: &Session, user: &User, case_id: &str) -> Result<Option<RatingVm>, PageError> {
    let t = s.t();
    Ok(s.st.service.case_rating(user, case_id).await?.map(|r| RatingVm {
        level: r.doc.level,
        label: t.key("rating", &format!("level_{}", r.doc.level)),
        comment: r.doc.comment.clone(),
        at: view::ts(r.created_at),
    }))
}

pub async fn rate_case(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let s = &p.session;
    let r = async {
        let user = s.user()?;
        let level = p.get("level").trim().parse::<u8>().unwrap_or(0);
        let consent = if user.has(Role::Clerk) { opt_text(&p, "consent") } else { None };
        let input = RatingInput { level, comment: opt_text(&p, "comment"), consent };
        match st.service.rate_case(user, &id, input).await {
            Ok(_) => Ok(see_other(&format!("/cases/{id}#rating"))),
            Err(e @ OversightError::BadInput(_)) => {
                let v = st.service.get_case(user, &id).await?;
                let mut page = super::applicant::case_page_of(s, user, &v).await?;
                page.rating_error = field_error(s, &e).map(|f| f.1).unwrap_or_default();
                page.rating_comment = p.get("comment").to_string();
                Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    s.finish(r)
}

pub struct ReviewVm {
    pub id: String,
    pub case_id: String,
    pub case_number: String,
    pub department: String,
    pub level: String,
    pub comment: String,
    pub opened: String,
    pub open: bool,
    pub answer: String,
    pub answered: String,
    pub error: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "reviews.html")]
struct ReviewsPage {
    c: Ctx,
    department: String,
    open: Vec<ReviewVm>,
    answered: Vec<ReviewVm>,
}

async fn reviews_page(s: &Session, user: &User) -> Result<ReviewsPage, PageError> {
    let t = s.t();
    let names = Names { catalog: s.st.service.catalog(), t };
    let rows = s.st.service.list_reviews(user, None).await?;
    let (open, answered) = rows
        .iter()
        .map(|r| {
            let level = r.doc.level;
            ReviewVm {
                id: r.id.clone(),
                case_id: r.case_id.clone().unwrap_or_default(),
                case_number: r.doc.case_number.clone(),
                department: r.department.as_deref().map(|d| names.department(d)).unwrap_or_default(),
                level: t.key("rating", &format!("level_{level}")),
                comment: r.doc.comment.clone(),
                opened: view::ts(r.created_at),
                open: r.state == "open",
                answer: r.doc.answer.clone().unwrap_or_default(),
                answered: r.doc.answered_at.map(view::ts).unwrap_or_default(),
                error: String::new(),
                text: String::new(),
            }
        })
        .partition(|r| r.open);
    Ok(ReviewsPage {
        c: s.ctx(),
        department: user.department.as_deref().map(|d| names.department(d)).unwrap_or_default(),
        open,
        answered,
    })
}

pub async fn reviews(s: Session) -> Response {
    let r = async {
        let user = s.with_role(&[Role::Officer, Role::Supervisor, Role::Admin])?;
        Ok(html(&reviews_page(&s, user).await?))
    }
    .await;
    s.finish(r)
}

pub async fn answer_review(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let s = &p.session;
    let r = async {
        let user = s.with_role(&[Role::Officer, Role::Supervisor])?;
        let answer = p.get("answer").trim().to_string();
        match st.service.answer_review(user, &id, answer.clone()).await {
            Ok(_) => Ok(see_other("/officer/reviews")),
            Err(e @ OversightError::BadInput(_)) => {
                let mut page = reviews_page(s, user).await?;
                let message = field_error(s, &e).map(|f| f.1).unwrap_or_default();
                for r in page.open.iter_mut().filter(|r| r.id == id) {
                    r.error = message.clone();
                    r.text = answer.clone();
                }
                Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    s.finish(r)
}
