//! The one error body of the API, `{"code", "message", "details"}`, and the HTTP status of every stable code
//! ([`status`], an exhaustive match over [`ErrorCode`]). Every failure of every route is one of these codes;
//! bad input is a 4xx, never a 500.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onething_core::case::CaseError;
use onething_core::plan::PlanError;
use onething_service::{ErrorCode, Failure};
use serde::Serialize;

/// The HTTP status of a code: the API contract.
pub fn status(code: ErrorCode) -> StatusCode {
    use ErrorCode as E;
    match code {
        E::BadRequestBody | E::BadQuery | E::BadIdempotencyKey => StatusCode::BAD_REQUEST,
        E::Unauthenticated | E::BadCredentials => StatusCode::UNAUTHORIZED,
        E::Forbidden | E::PasswordChangeRequired => StatusCode::FORBIDDEN,
        E::NotFound | E::UnknownBundle | E::UnknownTask => StatusCode::NOT_FOUND,
        E::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        E::IllegalTransition
        | E::TaskNotReady
        | E::TaskCountMismatch
        | E::IdempotencyKeyReused
        | E::Conflict
        | E::Duplicate
        | E::FieldConflict
        | E::DependencyCycle => StatusCode::CONFLICT,
        E::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        E::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        E::ValidationFailed
        | E::CorrectionUnresolved
        | E::UnknownQuestion
        | E::BadAnswer
        | E::UnknownItem
        | E::UnknownMaterial
        | E::UnknownField
        | E::EmptyReasons
        | E::Required
        | E::BadCreditCode
        | E::BadIdNumber
        | E::BadPhone
        | E::BadEnum
        | E::BadUser
        | E::WeakPassword
        | E::Clock
        | E::BadPeriod
        | E::BadCsv
        | E::TooLong
        | E::TooMany => StatusCode::UNPROCESSABLE_ENTITY,
        E::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        E::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        E::Internal | E::InconsistentHistory => StatusCode::INTERNAL_SERVER_ERROR,
        E::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        E::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
    }
}

/// The documented error codes with their HTTP status and meaning (the API contract), in the order of
/// [`ErrorCode::ALL`].
pub fn error_codes() -> Vec<(&'static str, u16, &'static str)> {
    ErrorCode::ALL
        .iter()
        .map(|c| {
            let (name, meaning) = c.describe();
            (name, status(*c).as_u16(), meaning)
        })
        .collect()
}

/// The error body.
#[derive(Debug, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: serde_json::Value,
    #[serde(skip)]
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn of(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: status(code),
            code: code.as_str(),
            message: message.into(),
            details: serde_json::Value::Null,
            retry_after: None,
        }
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
        let retry = self.retry_after;
        let mut response = (self.status, Json(&self)).into_response();
        if let Some(secs) = retry
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// The details of a bundle compiler's refusal.
fn plan_details(e: &PlanError) -> serde_json::Value {
    match e {
        PlanError::UnknownQuestion { question } => serde_json::json!({ "field": format!("answers.{question}") }),
        PlanError::BadAnswer { question, allowed, .. } => {
            serde_json::json!({ "field": format!("answers.{question}"), "allowed": allowed })
        }
        _ => serde_json::Value::Null,
    }
}

/// The details of the case's own refusal.
fn case_details(e: &CaseError) -> serde_json::Value {
    match e {
        CaseError::IllegalTransition { state, .. } => serde_json::json!({ "state": state.as_str() }),
        CaseError::TaskNotReady { task_id, state } => serde_json::json!({ "task": task_id, "state": state.as_str() }),
        CaseError::CorrectionUnresolved { materials, fields } => {
            let items: Vec<serde_json::Value> = materials
                .iter()
                .map(|m| serde_json::json!({ "material": m }))
                .chain(fields.iter().map(|f| serde_json::json!({ "field": f })))
                .collect();
            serde_json::json!({ "items": items, "materials": materials, "fields": fields })
        }
        _ => serde_json::Value::Null,
    }
}

/// Any use-case failure as the error body.
pub fn failure(e: &dyn Failure) -> ApiError {
    let code = e.code();
    if matches!(code, ErrorCode::Internal | ErrorCode::InconsistentHistory) {
        tracing::error!(error = %e, "internal error");
        return ApiError::of(code, "internal error; it has been logged");
    }
    let message = match e.problems() {
        Some((problems, missing)) => format!(
            "the application is incomplete or has invalid values: {} missing material(s), {} field problem(s)",
            missing.len(),
            problems.len()
        ),
        None => e.to_string(),
    };
    let details = if let Some((problems, missing)) = e.problems() {
        serde_json::json!({ "problems": problems, "missing_materials": missing })
    } else if let Some(p) = e.plan_error() {
        plan_details(p)
    } else if let Some(c) = e.case_error() {
        case_details(c)
    } else if let Some(limit) = e.limit() {
        serde_json::json!({ "limit": limit })
    } else if let Some(field) = e.field() {
        serde_json::json!({ "field": field })
    } else {
        serde_json::Value::Null
    };
    let mut out = ApiError::of(code, message).with_details(details);
    out.retry_after = e.retry_after();
    out
}

macro_rules! from_failure {
    ($($t:ty),*) => {
        $(impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                failure(&e)
            }
        })*
    };
}

from_failure!(
    onething_service::AuthError,
    onething_service::CaseActionError,
    onething_service::ReadError,
    onething_service::OversightError,
    onething_service::AssessmentError,
    onething_service::AccountError,
    onething_service::BadInput
);

impl From<PlanError> for ApiError {
    fn from(e: PlanError) -> Self {
        ApiError::of(onething_service::errors::plan_code(&e), e.to_string()).with_details(plan_details(&e))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        match e {
            JsonRejection::MissingJsonContentType(_) => {
                ApiError::of(ErrorCode::UnsupportedMediaType, "send Content-Type: application/json")
            }
            JsonRejection::BytesRejection(b) => b.into(),
            other => ApiError::of(ErrorCode::BadRequestBody, other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::of(ErrorCode::BadQuery, e.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::of(ErrorCode::PayloadTooLarge, "the body is larger than the limit of its route")
        } else {
            ApiError::of(ErrorCode::BadRequestBody, e.body_text())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_status_and_a_meaning() {
        let codes = error_codes();
        assert_eq!(codes.len(), ErrorCode::ALL.len());
        for (code, status, meaning) in codes {
            assert!((400..600).contains(&status), "{code}: {status}");
            assert!(!meaning.is_empty(), "{code}");
        }
    }
}
