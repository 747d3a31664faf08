//! Why a use case failed: one error type per family of use cases (signing in, changing a case, working a task,
//! reading, supervision, projects, the assessment, accounts), each saying only what its use cases can fail
//! with, and one list of stable codes ([`ErrorCode`]) — the contract of the API, which the web layer maps to
//! HTTP statuses with an exhaustive match.

use onething_core::case::CaseError;
use onething_core::form::FieldProblem;
use onething_core::plan::PlanError;
use onething_store::StoreError;

/// Every stable error code (snake_case on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCode {
    BadRequestBody,
    BadQuery,
    BadIdempotencyKey,
    Unauthenticated,
    BadCredentials,
    PasswordChangeRequired,
    Forbidden,
    NotFound,
    UnknownBundle,
    UnknownTask,
    MethodNotAllowed,
    IllegalTransition,
    TaskNotReady,
    TaskCountMismatch,
    IdempotencyKeyReused,
    Conflict,
    Duplicate,
    FieldConflict,
    DependencyCycle,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    CorrectionUnresolved,
    UnknownQuestion,
    BadAnswer,
    UnknownItem,
    UnknownMaterial,
    UnknownField,
    EmptyReasons,
    Required,
    BadCreditCode,
    BadIdNumber,
    BadPhone,
    BadEnum,
    BadUser,
    WeakPassword,
    Clock,
    BadPeriod,
    BadCsv,
    TooLong,
    TooMany,
    TooManyRequests,
    HeadersTooLarge,
    Internal,
    InconsistentHistory,
    Unavailable,
    StorageFull,
}

impl ErrorCode {
    /// Every code, in the order of the documentation.
    pub const ALL: [ErrorCode; 47] = [
        ErrorCode::BadRequestBody,
        ErrorCode::BadQuery,
        ErrorCode::BadIdempotencyKey,
        ErrorCode::Unauthenticated,
        ErrorCode::BadCredentials,
        ErrorCode::PasswordChangeRequired,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::UnknownBundle,
        ErrorCode::UnknownTask,
        ErrorCode::MethodNotAllowed,
        ErrorCode::IllegalTransition,
        ErrorCode::TaskNotReady,
        ErrorCode::TaskCountMismatch,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::Conflict,
        ErrorCode::Duplicate,
        ErrorCode::FieldConflict,
        ErrorCode::DependencyCycle,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::ValidationFailed,
        ErrorCode::CorrectionUnresolved,
        ErrorCode::UnknownQuestion,
        ErrorCode::BadAnswer,
        ErrorCode::UnknownItem,
        ErrorCode::UnknownMaterial,
        ErrorCode::UnknownField,
        ErrorCode::EmptyReasons,
        ErrorCode::Required,
        ErrorCode::BadCreditCode,
        ErrorCode::BadIdNumber,
        ErrorCode::BadPhone,
        ErrorCode::BadEnum,
        ErrorCode::BadUser,
        ErrorCode::WeakPassword,
        ErrorCode::Clock,
        ErrorCode::BadPeriod,
        ErrorCode::BadCsv,
        ErrorCode::TooLong,
        ErrorCode::TooMany,
        ErrorCode::TooManyRequests,
        ErrorCode::HeadersTooLarge,
        ErrorCode::Internal,
        ErrorCode::InconsistentHistory,
        ErrorCode::Unavailable,
        ErrorCode::StorageFull,
    ];

    /// The code as the API writes it.
    pub fn as_str(self) -> &'static str {
        self.describe().0
    }

    /// The code and what it means.
    pub fn describe(self) -> (&'static str, &'static str) {
        match self {
            ErrorCode::BadRequestBody => ("bad_request_body", "the body is not the JSON the route expects"),
            ErrorCode::BadQuery => ("bad_query", "a query parameter is malformed"),
            ErrorCode::BadIdempotencyKey => {
                ("bad_idempotency_key", "the Idempotency-Key header is empty or longer than 200 characters")
            }
            ErrorCode::Unauthenticated => ("unauthenticated", "no valid bearer token or session"),
            ErrorCode::BadCredentials => ("bad_credentials", "wrong username or password"),
            ErrorCode::PasswordChangeRequired => {
                ("password_change_required", "the password was reset: change it before anything else")
            }
            ErrorCode::Forbidden => ("forbidden", "the role may not do this"),
            ErrorCode::NotFound => ("not_found", "no such resource, or not visible to this user"),
            ErrorCode::UnknownBundle => ("unknown_bundle", "no such bundle"),
            ErrorCode::UnknownTask => ("unknown_task", "no such task in this case"),
            ErrorCode::MethodNotAllowed => ("method_not_allowed", "the route does not take this method"),
            ErrorCode::IllegalTransition => {
                ("illegal_transition", "the case or task is not in a state that allows this action")
            }
            ErrorCode::TaskNotReady => ("task_not_ready", "the task is not ready for a decision"),
            ErrorCode::TaskCountMismatch => ("task_count_mismatch", "internal mismatch between plan and tasks"),
            ErrorCode::IdempotencyKeyReused => {
                ("idempotency_key_reused", "the Idempotency-Key was used with another body")
            }
            ErrorCode::Conflict => ("conflict", "a concurrent change of the same record; retry"),
            ErrorCode::Duplicate => ("duplicate", "the resource exists already"),
            ErrorCode::FieldConflict => ("field_conflict", "the catalogue defines a field two ways"),
            ErrorCode::DependencyCycle => ("dependency_cycle", "the catalogue has a dependency cycle"),
            ErrorCode::PayloadTooLarge => ("payload_too_large", "the body or upload exceeds its size limit"),
            ErrorCode::UnsupportedMediaType => {
                ("unsupported_media_type", "the upload is not PDF, JPEG, PNG or OFD (or the body is not JSON)")
            }
            ErrorCode::ValidationFailed => (
                "validation_failed",
                "missing materials or invalid fields: details.problems and details.missing_materials",
            ),
            ErrorCode::CorrectionUnresolved => {
                ("correction_unresolved", "a material or field the correction names is not replaced yet: details.items")
            }
            ErrorCode::UnknownQuestion => ("unknown_question", "an answer names no situation question of the bundle"),
            ErrorCode::BadAnswer => ("bad_answer", "an answer is not an option of its question"),
            ErrorCode::UnknownItem => ("unknown_item", "no such item in the catalogue"),
            ErrorCode::UnknownMaterial => ("unknown_material", "the material is not asked for by this application"),
            ErrorCode::UnknownField => ("unknown_field", "the form has no such field"),
            ErrorCode::EmptyReasons => ("empty_reasons", "a correction or rejection needs a reason"),
            ErrorCode::Required => ("required", "a required value is missing"),
            ErrorCode::BadCreditCode => ("bad_credit_code", "the unified social credit code is invalid"),
            ErrorCode::BadIdNumber => ("bad_id_number", "the resident ID number is invalid"),
            ErrorCode::BadPhone => ("bad_phone", "the phone number is not a mainland mobile or landline number"),
            ErrorCode::BadEnum => ("bad_enum", "a value is not one of the allowed options"),
            ErrorCode::BadUser => ("bad_user", "a user needs a name, a role and a department where the role has one"),
            ErrorCode::WeakPassword => ("weak_password", "the password does not meet the policy"),
            ErrorCode::Clock => ("clock", "the working-time clock cannot compute a deadline involved"),
            ErrorCode::BadPeriod => {
                ("bad_period", "the assessment period is not a year (2026), quarter (2026-Q1) or month (2026-03)")
            }
            ErrorCode::BadCsv => ("bad_csv", "the CSV has no usable header line"),
            ErrorCode::TooLong => ("too_long", "a value is longer than its limit"),
            ErrorCode::TooMany => ("too_many", "more items than the limit allows"),
            ErrorCode::TooManyRequests => ("too_many_requests", "too many attempts: wait for Retry-After seconds"),
            ErrorCode::HeadersTooLarge => ("headers_too_large", "the request headers are too large"),
            ErrorCode::Internal => ("internal", "a server fault, never caused by input"),
            ErrorCode::InconsistentHistory => ("inconsistent_history", "a stored history does not rebuild its record"),
            ErrorCode::Unavailable => ("unavailable", "the service is shutting down; try again"),
            ErrorCode::StorageFull => ("storage_full", "the storage is full: nothing was written"),
        }
    }
}

/// What every use-case error tells its caller: a stable code, and where it has them the field it is about, the
/// problems of a form, or the core's own error (for the details of the answer).
pub trait Failure: std::error::Error {
    fn code(&self) -> ErrorCode;
    /// The request field the failure is about.
    fn field(&self) -> Option<&str> {
        None
    }
    /// The invalid fields and missing materials of an application.
    fn problems(&self) -> Option<(&[FieldProblem], &[String])> {
        None
    }
    /// The case's own refusal.
    fn case_error(&self) -> Option<&CaseError> {
        None
    }
    /// The bundle compiler's refusal.
    fn plan_error(&self) -> Option<&PlanError> {
        None
    }
    /// How long to wait before trying again (throttling).
    fn retry_after(&self) -> Option<u64> {
        None
    }
    /// The limit a value went over.
    fn limit(&self) -> Option<u64> {
        None
    }
}

/// The code of a storage failure: a lost race, a taken key, a full disk, a closing store, or a fault.
pub fn store_code(e: &StoreError) -> ErrorCode {
    match e {
        StoreError::Conflict { .. } => ErrorCode::Conflict,
        StoreError::Duplicate { .. } => ErrorCode::Duplicate,
        StoreError::Full(_) => ErrorCode::StorageFull,
        StoreError::Closed => ErrorCode::Unavailable,
        StoreError::Backend(_) | StoreError::NotEmpty { .. } => ErrorCode::Internal,
    }
}

/// The code of the case's own refusal.
pub fn case_code(e: &CaseError) -> ErrorCode {
    match e {
        CaseError::IllegalTransition { .. } => ErrorCode::IllegalTransition,
        CaseError::TaskNotReady { .. } => ErrorCode::TaskNotReady,
        CaseError::UnknownTask(_) => ErrorCode::UnknownTask,
        CaseError::EmptyReasons => ErrorCode::EmptyReasons,
        CaseError::TaskCountMismatch { .. } => ErrorCode::TaskCountMismatch,
        CaseError::CorrectionUnresolved { .. } => ErrorCode::CorrectionUnresolved,
        CaseError::Clock(_) => ErrorCode::Clock,
        CaseError::Inconsistent(_) => ErrorCode::InconsistentHistory,
    }
}

/// The code of the bundle compiler's refusal.
pub fn plan_code(e: &PlanError) -> ErrorCode {
    match e {
        PlanError::UnknownBundle(_) => ErrorCode::UnknownBundle,
        PlanError::UnknownQuestion { .. } => ErrorCode::UnknownQuestion,
        PlanError::BadAnswer { .. } => ErrorCode::BadAnswer,
        PlanError::FieldConflict { .. } => ErrorCode::FieldConflict,
        PlanError::Cycle(_) => ErrorCode::DependencyCycle,
        PlanError::UnknownItem { .. } => ErrorCode::UnknownItem,
    }
}

/// Bad input named after its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BadInput {
    pub code: ErrorCode,
    pub field: String,
    pub message: String,
}

impl BadInput {
    pub fn new(code: ErrorCode, field: impl Into<String>, message: impl Into<String>) -> BadInput {
        BadInput { code, field: field.into(), message: message.into() }
    }
}

impl Failure for BadInput {
    fn code(&self) -> ErrorCode {
        self.code
    }

    fn field(&self) -> Option<&str> {
        Some(&self.field)
    }
}

/// Signing in, out, and who a token is (认证).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("sign in first: the request has no valid token")]
    Unauthenticated,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("too many sign-in attempts: try again in {retry_after} seconds")]
    Throttled { retry_after: u64 },
    #[error("the password was reset: change it first")]
    PasswordChangeRequired,
    #[error(transparent)]
    BadInput(#[from] BadInput),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Failure for AuthError {
    fn code(&self) -> ErrorCode {
        match self {
            AuthError::Unauthenticated => ErrorCode::Unauthenticated,
            AuthError::BadCredentials => ErrorCode::BadCredentials,
            AuthError::Throttled { .. } => ErrorCode::TooManyRequests,
            AuthError::PasswordChangeRequired => ErrorCode::PasswordChangeRequired,
            AuthError::BadInput(b) => b.code,
            AuthError::Store(e) => store_code(e),
            AuthError::Internal(_) => ErrorCode::Internal,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            AuthError::BadInput(b) => Some(&b.field),
            _ => None,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            AuthError::Throttled { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

/// Filing, changing, uploading to, submitting, accepting, returning and withdrawing a case, and working its
/// tasks (办件与审批).
#[derive(Debug, thiserror::Error)]
pub enum CaseActionError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    BadInput(#[from] BadInput),
    #[error("the application is incomplete or has invalid values")]
    Validation { problems: Vec<FieldProblem>, missing_materials: Vec<String> },
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error("this Idempotency-Key was used with another request body")]
    IdempotencyMismatch,
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the case holds {limit} material files already")]
    TooManyFiles { limit: u64 },
    #[error("the file is not a PDF, JPEG, PNG or OFD document")]
    UnsupportedMedia,
    #[error("the case was changed at the same time by someone else: try again")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Failure for CaseActionError {
    fn code(&self) -> ErrorCode {
        match self {
            CaseActionError::NotFound(_) => ErrorCode::NotFound,
            CaseActionError::Forbidden(_) => ErrorCode::Forbidden,
            CaseActionError::BadInput(b) => b.code,
            CaseActionError::Validation { .. } => ErrorCode::ValidationFailed,
            CaseActionError::Plan(e) => plan_code(e),
            CaseActionError::Case(e) => case_code(e),
            CaseActionError::IdempotencyMismatch => ErrorCode::IdempotencyKeyReused,
            CaseActionError::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            CaseActionError::TooManyFiles { .. } => ErrorCode::TooMany,
            CaseActionError::UnsupportedMedia => ErrorCode::UnsupportedMediaType,
            CaseActionError::Conflict => ErrorCode::Conflict,
            CaseActionError::Store(e) => store_code(e),
            CaseActionError::Internal(_) => ErrorCode::Internal,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            CaseActionError::BadInput(b) => Some(&b.field),
            _ => None,
        }
    }

    fn problems(&self) -> Option<(&[FieldProblem], &[String])> {
        match self {
            CaseActionError::Validation { problems, missing_materials } => Some((problems, missing_materials)),
            _ => None,
        }
    }

    fn case_error(&self) -> Option<&CaseError> {
        match self {
            CaseActionError::Case(e) => Some(e),
            _ => None,
        }
    }

    fn plan_error(&self) -> Option<&PlanError> {
        match self {
            CaseActionError::Plan(e) => Some(e),
            _ => None,
        }
    }

    fn limit(&self) -> Option<u64> {
        match self {
            CaseActionError::TooLarge { limit } | CaseActionError::TooManyFiles { limit } => Some(*limit),
            _ => None,
        }
    }
}

/// Reading cases, tasks, events and files (查询).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    BadInput(#[from] BadInput),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Failure for ReadError {
    fn code(&self) -> ErrorCode {
        match self {
            ReadError::NotFound(_) => ErrorCode::NotFound,
            ReadError::Forbidden(_) => ErrorCode::Forbidden,
            ReadError::BadInput(b) => b.code,
            ReadError::Plan(e) => plan_code(e),
            ReadError::Store(e) => store_code(e),
            ReadError::Internal(_) => ErrorCode::Internal,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ReadError::BadInput(b) => Some(&b.field),
            _ => None,
        }
    }

    fn plan_error(&self) -> Option<&PlanError> {
        match self {
            ReadError::Plan(e) => Some(e),
            _ => None,
        }
    }
}

/// Supervision: escalations, interviews, notices, ratings, reviews, the overview (督办).
#[derive(Debug, thiserror::Error)]
pub enum OversightError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    BadInput(#[from] BadInput),
    #[error("cannot {action}: it is {state}")]
    IllegalTransition { action: &'static str, state: String },
    #[error("{what} was changed at the same time by someone else: try again")]
    Conflict { what: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Failure for OversightError {
    fn code(&self) -> ErrorCode {
        match self {
            OversightError::NotFound(_) => ErrorCode::NotFound,
            OversightError::Forbidden(_) => ErrorCode::Forbidden,
            OversightError::BadInput(b) => b.code,
            OversightError::IllegalTransition { .. } => ErrorCode::IllegalTransition,
            OversightError::Conflict { .. } => ErrorCode::Conflict,
            OversightError::Store(e) => store_code(e),
            OversightError::Internal(_) => ErrorCode::Internal,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            OversightError::BadInput(b) => Some(&b.field),
            _ => None,
        }
    }
}

/// The performance assessment (绩效考核).
#[derive(Debug, thiserror::Error)]
pub enum AssessmentError {
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    BadInput(#[from] BadInput),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Failure for AssessmentError {
    fn code(&self) -> ErrorCode {
        match self {
            AssessmentError::Forbidden(_) => ErrorCode::Forbidden,
            AssessmentError::BadInput(b) => b.code,
            AssessmentError::Store(e) => store_code(e),
            AssessmentError::Internal(_) => ErrorCode::Internal,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            AssessmentError::BadInput(b) => Some(&b.field),
            _ => None,
        }
    }
}

/// Accounts and their administration (用户).
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    BadInput(#[from] BadInput),
    #[error("{0}")]
    Duplicate(String),
    #[error("the account was changed at the same time by someone else: try again")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Failure for AccountError {
    fn code(&self) -> ErrorCode {
        match self {
            AccountError::NotFound(_) => ErrorCode::NotFound,
            AccountError::Forbidden(_) => ErrorCode::Forbidden,
            AccountError::BadInput(b) => b.code,
            AccountError::Duplicate(_) => ErrorCode::Duplicate,
            AccountError::Conflict => ErrorCode::Conflict,
            AccountError::Store(e) => store_code(e),
            AccountError::Internal(_) => ErrorCode::Internal,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            AccountError::BadInput(b) => Some(&b.field),
            _ => None,
        }
    }
}

/// Internal faults of encoding or decoding a stored document.
pub(crate) fn json_fault(e: serde_json::Error) -> String {
    format!("a stored document does not encode or decode: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ErrorCode::ALL {
            let (name, meaning) = code.describe();
            assert!(seen.insert(name), "{name} twice");
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{name}");
            assert!(!meaning.is_empty());
        }
        assert_eq!(seen.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn core_codes_agree_with_the_core() {
        let e = CaseError::EmptyReasons;
        assert_eq!(case_code(&e).as_str(), e.code());
        let e = CaseError::CorrectionUnresolved { materials: vec![], fields: vec![] };
        assert_eq!(case_code(&e).as_str(), e.code());
        let p = PlanError::UnknownBundle("x".into());
        assert_eq!(plan_code(&p).as_str(), p.code());
    }
}
