//! The JSON API under `/api/v1`: one handler per route, each parsing its request, calling one use case and
//! shaping the answer. Authentication is a bearer token (`Authorization: Bearer …`). The catalogue routes
//! (bundles and plans) are public: the list of services and what they need is public information (一次告知).

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onething_core::plan::{self, PlanError};
use onething_service::{ApproveRequest, AuthError, CaseActionError, CreateCase, ErrorCode, ReasonInput, User};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::{AppState, json};

type ApiResult = Result<Response, ApiError>;

/// The signed-in user of a request.
pub struct Auth(pub User);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        let token = header.strip_prefix("Bearer ").map(str::trim).unwrap_or("");
        if token.is_empty() || token.len() > 256 {
            return Err(AuthError::Unauthenticated.into());
        }
        Ok(Auth(state.service.authenticate(token).await?))
    }
}

pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /api/v1/track?number=…&check=…`: the public progress lookup (no account).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackQuery {
    number: String,
    check: String,
}

pub async fn track(State(s): State<AppState>, q: Result<Query<TrackQuery>, QueryRejection>) -> ApiResult {
    let Query(q) = q?;
    let tracked = s.service.track(&q.number, &q.check).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(tracked)).into_response())
}

pub async fn not_found() -> ApiError {
    ApiError::of(ErrorCode::NotFound, "no such resource")
}

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], include_str!("openapi.json")).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    username: String,
    password: String,
}

pub async fn create_session(State(s): State<AppState>, body: Result<Json<SessionRequest>, JsonRejection>) -> ApiResult {
    let Json(req) = body?;
    let (token, user) = s.service.login(&req.username, &req.password).await?;
    let body = json!({
        "token": token,
        "user": { "username": user.username, "roles": user.roles, "department": user.department },
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub async fn list_bundles(State(s): State<AppState>) -> ApiResult {
    let catalog = s.service.catalog();
    let mut list = Vec::new();
    for b in catalog.bundles.values() {
        // The default plan gives what the bundle saves (the reduction report) for the list.
        let reduction = plan::compile(&catalog, &b.code, &BTreeMap::new()).ok().map(|p| p.reduction);
        list.push(json!({
            "code": b.code, "name": b.name, "name_en": b.name_en, "summary": b.summary,
            "lead_department": b.lead_department, "items": b.items.len(),
            "promised_limit": b.promised_limit.to_string(), "reduction": reduction,
        }));
    }
    Ok(Json(list).into_response())
}

pub async fn get_bundle(State(s): State<AppState>, Path(code): Path<String>) -> ApiResult {
    let catalog = s.service.catalog();
    let bundle = catalog.bundle(&code).ok_or_else(|| PlanError::UnknownBundle(code.clone()))?;
    Ok(Json(bundle).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    #[serde(default)]
    answers: BTreeMap<String, String>,
}

pub async fn plan_bundle(
    State(s): State<AppState>,
    Path(code): Path<String>,
    body: Result<Json<PlanRequest>, JsonRejection>,
) -> ApiResult {
    let Json(req) = body?;
    let plan = plan::compile(&s.service.catalog(), &code, &req.answers)?;
    Ok(Json(plan).into_response())
}

pub async fn create_case(
    State(s): State<AppState>,
    Auth(user): Auth,
    headers: HeaderMap,
    body: Result<Json<CreateCase>, JsonRejection>,
) -> ApiResult {
    let Json(req) = body?;
    let key = match headers.get("idempotency-key") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError::of(ErrorCode::BadIdempotencyKey, "the Idempotency-Key must be visible ASCII"))?,
        ),
        None => None,
    };
    let created = s.service.create_case(&user, req, key).await.map_err(|e| match e {
        // The bundle is named in the body: an unknown one is invalid input, not a missing resource.
        CaseActionError::Plan(PlanError::UnknownBundle(b)) => {
            let mut e = ApiError::of(ErrorCode::UnknownBundle, format!("unknown bundle {b:?}"));
            e.status = StatusCode::UNPROCESSABLE_ENTITY;
            e
        }
        other => other.into(),
    })?;
    let status = if created.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(json::case(&created.view))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    state: Option<String>,
    bundle: Option<String>,
}

pub async fn list_cases(
    State(s): State<AppState>,
    Auth(user): Auth,
    q: Result<Query<CaseQuery>, QueryRejection>,
) -> ApiResult {
    let Query(q) = q?;
    let rows = s.service.list_cases(&user, q.state, q.bundle).await?;
    Ok(Json(rows.iter().map(json::case_summary).collect::<Vec<_>>()).into_response())
}

pub async fn get_case(State(s): State<AppState>, Auth(user): Auth, Path(id): Path<String>) -> ApiResult {
    let view = s.service.get_case(&user, &id).await?;
    Ok(Json(json::case(&view)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateCase {
    answers: Option<BTreeMap<String, String>>,
    form: Option<BTreeMap<String, serde_json::Value>>,
}

pub async fn update_case(
    State(s): State<AppState>,
    Auth(user): Auth,
    Path(id): Path<String>,
    body: Result<Json<UpdateCase>, JsonRejection>,
) -> ApiResult {
    let Json(req) = body?;
    let view = s.service.update_case(&user, &id, req.answers, req.form).await?;
    Ok(Json(json::case(&view)).into_response())
}

pub async fn upload_material(
    State(s): State<AppState>,
    Auth(user): Auth,
    Path((id, material)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let bytes = body?;
    let m = s.service.upload_material(&user, &id, &material, &bytes).await?;
    Ok((StatusCode::CREATED, Json(json!({ "sha256": m.sha256, "size": m.size, "media_type": m.media_type })))
        .into_response())
}

pub async fn download_material(
    State(s): State<AppState>,
    Auth(user): Auth,
    Path((id, material)): Path<(String, String)>,
) -> ApiResult {
    let (m, bytes) = s.service.material_file(&user, &id, &material).await?;
    Ok(([(header::CONTENT_TYPE, m.media_type), (header::CONTENT_DISPOSITION, "inline".to_string())], bytes)
        .into_response())
}

pub async fn submit_case(State(s): State<AppState>, Auth(user): Auth, Path(id): Path<String>) -> ApiResult {
    let view = s.service.submit(&user, &id).await?;
    Ok(Json(json::case(&view)).into_response())
}

pub async fn accept_case(State(s): State<AppState>, Auth(user): Auth, Path(id): Path<String>) -> ApiResult {
    let view = s.service.accept(&user, &id).await?;
    Ok(Json(json::case(&view)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnRequest {
    reasons: Vec<ReasonInput>,
}

pub async fn return_case(
    State(s): State<AppState>,
    Auth(user): Auth,
    Path(id): Path<String>,
    body: Result<Json<ReturnRequest>, JsonRejection>,
) -> ApiResult {
    let Json(req) = body?;
    let view = s.service.return_case(&user, &id, req.reasons).await?;
    Ok(Json(json::case(&view)).into_response())
}

pub async fn withdraw_case(State(s): State<AppState>, Auth(user): Auth, Path(id): Path<String>) -> ApiResult {
    let view = s.service.withdraw(&user, &id).await?;
    Ok(Json(json::case(&view)).into_response())
}

pub async fn case_events(State(s): State<AppState>, Auth(user): Auth, Path(id): Path<String>) -> ApiResult {
    let events = s.service.case_events(&user, &id).await?;
    Ok(Json(events.iter().map(json::event).collect::<Vec<_>>()).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskQuery {
    state: Option<String>,
}

pub async fn list_tasks(
    State(s): State<AppState>,
    Auth(user): Auth,
    q: Result<Query<TaskQuery>, QueryRejection>,
) -> ApiResult {
    let Query(q) = q?;
    let tasks = s.service.list_tasks(&user, q.state).await?;
    Ok(Json(tasks.iter().map(json::task_view).collect::<Vec<_>>()).into_response())
}

pub async fn get_task(State(s): State<AppState>, Auth(user): Auth, Path(id): Path<String>) -> ApiResult {
    let view = s.service.get_task(&user, &id).await?;
    Ok(Json(json::task_view(&view)).into_response())
}

pub async fn approve_task(
    State(s): State<AppState>,
    Auth(user): Auth,
    Path(id): Path<String>,
    body: Result<Json<ApproveRequest>, JsonRejection>,
) -> ApiResult {
    let Json(req) = body?;
    let view = s.service.approve(&user, &id, req).await?;
    Ok(Json(json::task_view(&view)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    reason: String,
}

pub async fn reject_task(
    State(s): State<AppState>,
    Auth(user): Auth,
    Path(id): Path<String>,
    body: Result<Json<RejectRequest>, JsonRejection>,
) -> ApiResult {
    let Json(req) = body?;
    let view = s.service.reject(&user, &id, req.reason).await?;
    Ok(Json(json::task_view(&view)).into_response())
}

pub async fn return_task(
    State(s): State<AppState>,
    Auth(user): Auth,
    Path(id): Path<String>,
    body: Result<Json<ReturnRequest>, JsonRejection>,
) -> ApiResult {
    let Json(req) = body?;
    let view = s.service.return_task(&user, &id, req.reasons).await?;
    Ok(Json(json::task_view(&view)).into_response())
}
