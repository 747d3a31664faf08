//! onething-web: the HTTP face of onething (axum). It owns every HTTP shape: routes, status codes, the JSON
//! error body `{"code", "message", "details"}`. It holds no domain rules: it parses requests, calls the core
//! (and, in later issues, the service layer) and maps each outcome to one response.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State, rejection::JsonRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use onething_core::catalog::Catalog;
use onething_core::plan::{self, PlanError};
use serde::{Deserialize, Serialize};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub catalog: Arc<Catalog>,
}

/// The one error body of the API. `code` is a stable snake_case contract; `message` is for people.
#[derive(Debug, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: serde_json::Value,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: serde_json::Value::Null }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(&self)).into_response()
    }
}

impl From<PlanError> for ApiError {
    fn from(e: PlanError) -> Self {
        let status = match e {
            PlanError::UnknownBundle(_) => StatusCode::NOT_FOUND,
            PlanError::UnknownQuestion { .. } | PlanError::BadAnswer { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            // A catalogue that loaded cannot conflict or cycle; should it happen, it is still the catalogue's
            // fault, reported as such rather than as a crash.
            PlanError::FieldConflict { .. } | PlanError::Cycle(_) => StatusCode::CONFLICT,
        };
        let details = match &e {
            PlanError::UnknownQuestion { question } => {
                serde_json::json!({ "field": format!("answers.{question}") })
            }
            PlanError::BadAnswer { question, allowed, .. } => {
                serde_json::json!({ "field": format!("answers.{question}"), "allowed": allowed })
            }
            _ => serde_json::Value::Null,
        };
        ApiError { status, code: e.code(), message: e.to_string(), details }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        let status = if matches!(e, JsonRejection::MissingJsonContentType(_)) {
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::new(status, "bad_request_body", e.body_text())
    }
}

/// The router of the whole service.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/bundles", get(list_bundles))
        .route("/api/v1/bundles/{code}", get(get_bundle))
        .route("/api/v1/bundles/{code}/plan", post(plan_bundle))
        .fallback(not_found)
        .with_state(state)
}

/// Serves the router on a bound listener until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}

async fn healthz() -> &'static str {
    "ok"
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
}

#[derive(Serialize)]
struct BundleSummary<'a> {
    code: &'a str,
    name: &'a str,
    name_en: &'a str,
    summary: &'a str,
    items: usize,
    promised_limit: String,
}

async fn list_bundles(State(state): State<AppState>) -> Json<Vec<serde_json::Value>> {
    let list = state
        .catalog
        .bundles
        .values()
        .map(|b| {
            serde_json::json!(BundleSummary {
                code: &b.code,
                name: &b.name,
                name_en: &b.name_en,
                summary: &b.summary,
                items: b.items.len(),
                promised_limit: b.promised_limit.to_string(),
            })
        })
        .collect();
    Json(list)
}

async fn get_bundle(State(state): State<AppState>, Path(code): Path<String>) -> Result<Response, ApiError> {
    let bundle = state.catalog.bundle(&code).ok_or_else(|| PlanError::UnknownBundle(code.clone()))?;
    Ok(Json(bundle).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PlanRequest {
    #[serde(default)]
    answers: BTreeMap<String, String>,
}

async fn plan_bundle(
    State(state): State<AppState>,
    Path(code): Path<String>,
    body: Result<Json<PlanRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body?;
    let plan = plan::compile(&state.catalog, &code, &req.answers)?;
    Ok(Json(plan).into_response())
}
