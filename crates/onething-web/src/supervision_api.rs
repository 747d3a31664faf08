//! The supervision API: the overview of recorded colours, escalations (督办) and interviews (约谈) with their
//! notes, the notice inbox, ratings (好差评) and reviews, the performance assessment (绩效考核, JSON or CSV) and
//! upgrade projects (技改项目: list, CSV import, milestone completion).

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use onething_service::oversight::SupervisionKind;
use onething_service::records::{Record, RecordDoc};
use onething_service::{ErrorCode, EscalationInput, NoteInput, Period, RatingInput};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AppState;
use crate::api::Auth;
use crate::error::ApiError;
use crate::json::ts;

type ApiResult = Result<Response, ApiError>;

fn record_as<T: Serialize>(kind: &str, r: &Record<T>) -> serde_json::Value {
    json!({
        "kind": kind, "id": r.id, "case_id": r.case_id, "owner": r.owner, "department": r.department,
        "state": r.state, "created_at": ts(r.created_at), "updated_at": ts(r.updated_at), "version": r.version,
        "doc": r.doc,
    })
}

fn record<T: RecordDoc>(r: &Record<T>) -> serde_json::Value {
    record_as(T::KIND, r)
}

/// Recorded colours of open tasks by department, and the red list, from the watches the worker keeps.
pub async fn overview(State(s): State<AppState>, Auth(user): Auth) -> ApiResult {
    let counts = s.service.colour_overview(&user).await?;
    let red = s.service.red_list(&user, None, 100).await?;
    let red: Vec<_> = red
        .iter()
        .map(|w| json!({ "subject": w.subject, "case_id": w.case_id, "department": w.department, "due_at": w.due_at.map(ts) }))
        .collect();
    let trend = s.service.colour_trend(&user, 30).await?;
    Ok(Json(json!({ "counts": counts, "red": red, "trend": trend })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateQuery {
    state: Option<String>,
}

pub async fn list_escalations(
    State(s): State<AppState>,
    Auth(user): Auth,
    q: Result<Query<StateQuery>, QueryRejection>,
) -> ApiResult {
    let Query(q) = q?;
    let rows = s.service.list_supervision(&user, SupervisionKind::Escalation, q.state).await?;
    Ok(Json(rows.iter().map(|r| record_as("escalation", r)).collect::<Vec<_>>()).into_response())
}

pub async fn list_interviews(
    State(s): State<AppState>,
    Auth(user): Auth,
    q: Result<Query<StateQuery>, QueryRejection>,
) -> ApiResult {
    let Query(q) = q?;
    let rows = s.service.list_supervision(&user, SupervisionKind::Interview, q.state).await?;
    Ok(Json(rows.iter().map(|r| record_as("interview", r)).collect::<Vec<_>>()).into_response())
}

pub async fn open_escalation(
    State(s): State<AppState>,
    Auth(user): Auth,
    body: Result<Json<EscalationInput>, JsonRejection>,
) -> ApiResult {
    let Json(input) = body?;
    let r = s.service.open_escalation(&user, input).await?;
    Ok((StatusCode::CREATED, Json(record(&r))).into_response())
}

pub async fn escalation_note(
    State(s): State<AppState>,
    Auth(user): Auth,
    Path(id): Path<String>,
    body: Result<Json<NoteInput>, JsonRejection>,
) -> ApiResult {
    let Json(note) = body?;
    let r = s.service.add_note(&user, SupervisionKind::Escalation, &id, note).await?;
    Ok(Json(record_as("escalation", &r)).into_response())
}

pub async fn interview_note(
    State(s): State<AppState>,
    Auth(user): Auth,
    Path(id): Path<String>,
    body: Result<Json<NoteInput>, JsonRejection>,
) -> ApiResult {
    let Json(note) = body?;
    let r = s.service.add_note(&user, SupervisionKind::Interview, &id, note).await?;
    Ok(Json(record_as("interview", &r)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    outcome: String,
}

pub async fn close_escalation(
    State(s): State<AppState>,
    Auth(user): Auth,
    Path(id): Path<String>,
    body: Result<Json<CloseRequest>, JsonRejection>,
) -> ApiResult {
    let Json(req) = body?;
    let r = s.service.close_record(&user, SupervisionKind::Escalation, &id, req.outcome).await?;
    Ok(Json(record_as("escalation", &r)).into_response())
}

pub async fn close_interview(
    State(s): State<AppState>,
    Auth(user): Auth,
    Path(id): Path<String>,
    body: Result<Json<CloseRequest>, JsonRejection>,
) -> ApiResult {
    let Json(req) = body?;
    let r = s.service.close_record(&user, SupervisionKind::Interview, &id, req.outcome).await?;
    Ok(Json(record_as("interview", &r)).into_response())
}

pub async fn notices(State(s): State<AppState>, Auth(user): Auth) -> ApiResult {
    let (rows, unread) = s.service.inbox(&user).await?;
    Ok(Json(json!({ "unread": unread, "notices": rows.iter().map(record).collect::<Vec<_>>() })).into_response())
}

pub async fn read_notice(State(s): State<AppState>, Auth(user): Auth, Path(id): Path<String>) -> ApiResult {
    Ok(Json(record(&s.service.mark_read(&user, &id).await?)).into_response())
}

pub async fn rate_case(
    State(s): State<AppState>,
    Auth(user): Auth,
    Path(id): Path<String>,
    body: Result<Json<RatingInput>, JsonRejection>,
) -> ApiResult {
    let Json(input) = body?;
    let r = s.service.rate_case(&user, &id, input).await?;
    Ok((StatusCode::CREATED, Json(record(&r))).into_response())
}

pub async fn list_reviews(
    State(s): State<AppState>,
    Auth(user): Auth,
    q: Result<Query<StateQuery>, QueryRejection>,
) -> ApiResult {
    let Query(q) = q?;
    let rows = s.service.list_reviews(&user, q.state).await?;
    Ok(Json(rows.iter().map(record).collect::<Vec<_>>()).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    answer: String,
}

pub async fn answer_review(
    State(s): State<AppState>,
    Auth(user): Auth,
    Path(id): Path<String>,
    body: Result<Json<AnswerRequest>, JsonRejection>,
) -> ApiResult {
    let Json(req) = body?;
    Ok(Json(record(&s.service.answer_review(&user, &id, req.answer).await?)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentQuery {
    period: String,
    format: Option<String>,
}

pub async fn assessment(
    State(s): State<AppState>,
    Auth(user): Auth,
    q: Result<Query<AssessmentQuery>, QueryRejection>,
) -> ApiResult {
    let Query(q) = q?;
    let period = Period::parse(&q.period)?;
    let a = s.service.assessment(&user, &period).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(a).into_response()),
        Some("csv") => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"assessment-{}.csv\"", period.label)),
            ],
            onething_service::assessment_csv(&a),
        )
            .into_response()),
        Some(other) => Err(ApiError::of(ErrorCode::BadQuery, format!("format {other:?}: use json or csv"))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitQuery {
    limit: Option<i64>,
}

pub async fn list_projects(
    State(s): State<AppState>,
    Auth(user): Auth,
    q: Result<Query<LimitQuery>, QueryRejection>,
) -> ApiResult {
    let Query(q) = q?;
    let projects = s.service.list_projects(&user, q.limit.unwrap_or(100).clamp(1, 1000)).await?;
    Ok(Json(projects).into_response())
}

pub async fn import_projects(
    State(s): State<AppState>,
    Auth(user): Auth,
    body: Result<String, axum::extract::rejection::StringRejection>,
) -> ApiResult {
    let body = body.map_err(|e| ApiError::of(ErrorCode::BadRequestBody, e.body_text()))?;
    let report = s.service.import_projects(&user, &body).await?;
    Ok(Json(report).into_response())
}

pub async fn complete_milestone(
    State(s): State<AppState>,
    Auth(user): Auth,
    Path((id, code)): Path<(String, String)>,
) -> ApiResult {
    Ok(Json(s.service.complete_milestone(&user, &id, &code).await?).into_response())
}
