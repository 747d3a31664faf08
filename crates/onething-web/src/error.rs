//! The one error body of the API and its stable code list. Every failure of every route is one of these
//! codes; bad input is a 4xx, never a 500.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onething_core::case::CaseError;
use onething_core::plan::PlanError;
use onething_service::ServiceError;
use serde::Serialize;

/// The documented error codes with their HTTP status and meaning (the API contract).
pub const ERROR_CODES: &[(&str, u16, &str)] = &[
    ("bad_request_body", 400, "the body is not the JSON the route expects"),
    ("bad_query", 400, "a query parameter is malformed"),
    ("bad_idempotency_key", 400, "the Idempotency-Key header is empty or longer than 200 characters"),
    ("unauthenticated", 401, "no valid bearer token"),
    ("bad_credentials", 401, "wrong username or password"),
    ("forbidden", 403, "the role may not do this"),
    ("not_found", 404, "no such resource, or not visible to this user"),
    ("unknown_bundle", 404, "no such bundle (422 when named in a request body)"),
    ("unknown_task", 404, "no such task in this case"),
    ("illegal_transition", 409, "the case or task is not in a state that allows this action"),
    ("task_not_ready", 409, "the task is not ready for a decision"),
    ("task_count_mismatch", 409, "internal mismatch between plan and tasks"),
    ("idempotency_key_reused", 409, "the Idempotency-Key was used with another body"),
    ("conflict", 409, "a concurrent change of the same case; retry"),
    ("duplicate", 409, "the resource exists already"),
    ("field_conflict", 409, "the catalogue defines a field two ways"),
    ("dependency_cycle", 409, "the catalogue has a dependency cycle"),
    ("payload_too_large", 413, "the upload exceeds the size limit"),
    ("unsupported_media_type", 415, "the upload is not PDF, JPEG, PNG or OFD (or the body is not JSON)"),
    ("validation_failed", 422, "missing materials or invalid fields: details.problems and details.missing_materials"),
    ("unknown_question", 422, "an answer names no situation question of the bundle"),
    ("bad_answer", 422, "an answer is not an option of its question"),
    ("unknown_material", 422, "the material is not asked for by this application"),
    ("empty_reasons", 422, "a correction or rejection needs a reason"),
    ("required", 422, "a required value is missing"),
    ("bad_credit_code", 422, "the unified social credit code is invalid"),
    ("bad_id_number", 422, "the resident ID number is invalid"),
    ("bad_enum", 422, "a value is not one of the allowed options"),
    ("bad_user", 422, "a user needs a name and a password of 8+ characters"),
    ("clock", 422, "the working-time clock has no calendar for a date involved"),
    ("bad_period", 422, "the assessment period is not a year (2026), quarter (2026-Q1) or month (2026-03)"),
    ("bad_csv", 422, "the CSV has no usable header line"),
    ("too_long", 422, "a text is longer than its limit"),
    ("internal", 500, "a server fault, never caused by input"),
];

/// The error body.
#[derive(Debug, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: serde_json::Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: serde_json::Value::Null }
    }

    fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, message = %self.message, "request failed");
        }
        (self.status, Json(&self)).into_response()
    }
}

fn status_of(code: &str) -> StatusCode {
    ERROR_CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .and_then(|(_, s, _)| StatusCode::from_u16(*s).ok())
        .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
}

impl From<PlanError> for ApiError {
    fn from(e: PlanError) -> Self {
        let details = match &e {
            PlanError::UnknownQuestion { question } => serde_json::json!({ "field": format!("answers.{question}") }),
            PlanError::BadAnswer { question, allowed, .. } => {
                serde_json::json!({ "field": format!("answers.{question}"), "allowed": allowed })
            }
            _ => serde_json::Value::Null,
        };
        ApiError::new(status_of(e.code()), e.code(), e.to_string()).with_details(details)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Plan(p) => p.into(),
            ServiceError::Validation { problems, missing_materials } => {
                let message = format!(
                    "the application is incomplete or has invalid values: {} missing material(s), {} field problem(s)",
                    missing_materials.len(),
                    problems.len()
                );
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", message)
                    .with_details(serde_json::json!({ "problems": problems, "missing_materials": missing_materials }))
            }
            ServiceError::BadInput { code, message, field } => {
                ApiError::new(status_of(code), code, message).with_details(serde_json::json!({ "field": field }))
            }
            ServiceError::Case(c) => {
                let details = match &c {
                    CaseError::IllegalTransition { state, .. } => serde_json::json!({ "state": state.as_str() }),
                    CaseError::TaskNotReady { task_id, state } => {
                        serde_json::json!({ "task": task_id, "state": state.as_str() })
                    }
                    _ => serde_json::Value::Null,
                };
                ApiError::new(status_of(c.code()), c.code(), c.to_string()).with_details(details)
            }
            ServiceError::TooLarge { limit } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", e.to_string())
                    .with_details(serde_json::json!({ "limit": limit }))
            }
            ServiceError::Internal(_) => {
                tracing::error!(error = %e, "internal error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; it has been logged")
            }
            other => ApiError::new(status_of(other.code()), other.code(), other.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        if matches!(e, JsonRejection::MissingJsonContentType(_)) {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send Content-Type: application/json",
            )
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_request_body", e.body_text())
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the file is larger than the upload limit",
            )
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_request_body", e.body_text())
        }
    }
}
