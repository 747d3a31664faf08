//! onething-service: the use cases — sign in, file a case, upload a material, submit, accept or return it,
//! work a task, withdraw, read what one's role allows. Each mutating use case reads, lets the core decide
//! (`onething_core::case`), and hands the store ONE changeset holding every row it changes and exactly one
//! event; the caller gets its answer only after that changeset is committed. This crate is the only place
//! that decides what belongs in one transaction; it knows neither SQL nor HTTP.

mod assessment;
mod auth;
mod cases;
pub mod files;
mod oversight;
mod overview;
mod projects;
mod supervision;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jiff::Timestamp;
use onething_core::calendar::WorkClock;
use onething_core::case::CaseError;
use onething_core::catalog::Catalog;
use onething_core::colour::Thresholds;
use onething_core::form::FieldProblem;
use onething_core::plan::PlanError;
use onething_core::source::SourceFile;
use onething_store::{CatalogVersionRow, Changeset, Store, StoreError};

pub use assessment::{Assessment, BundleFigures, Figures, Period, assessment_csv};
pub use auth::{Role, User, random_password};
pub use cases::ApplicantInput;
pub use cases::{
    Actor, ApproveRequest, CaseDoc, CaseView, CreateCase, Created, ReasonInput, TaskView, TaskViewField,
    TaskViewMaterial,
};
pub use files::FileStore;
pub use oversight::{EscalationInput, NoteInput, RATING_LEVELS, RatingInput, recipient_keys};
pub use overview::{CaseQuery, CaseSummary, OpenTask, Supervision};
pub use projects::{ImportReport, Milestone, Project, ProjectBoard, ProjectLine, RowError};
pub use supervision::{SupervisionConfig, SweepReport};

/// Where "now" comes from: the system clock in production, a settable one in tests.
pub trait TimeSource: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemTime;

impl TimeSource for SystemTime {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// Settings of the service, validated at start-up.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The largest material file accepted, in bytes (default 20 MiB).
    pub max_upload_bytes: usize,
    /// How long a bearer token lives.
    pub token_ttl: jiff::SignedDuration,
    pub thresholds: Thresholds,
    pub supervision: SupervisionConfig,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: 20 * 1024 * 1024,
            token_ttl: jiff::SignedDuration::from_hours(12),
            thresholds: Thresholds::default(),
            supervision: SupervisionConfig::default(),
        }
    }
}

/// Why a use case failed. Each variant has a stable `code()`; the web layer maps it to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("sign in first: the request has no valid token")]
    Unauthenticated,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the application is incomplete or has invalid values")]
    Validation { problems: Vec<FieldProblem>, missing_materials: Vec<String> },
    #[error("{message}")]
    BadInput { code: &'static str, message: String, field: Option<String> },
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error("this Idempotency-Key was used with another request body")]
    IdempotencyMismatch,
    #[error("the case was changed at the same time by someone else: try again")]
    Conflict,
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the file is not a PDF, JPEG, PNG or OFD document")]
    UnsupportedMedia,
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// The stable snake_case code of the API contract.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Unauthenticated => "unauthenticated",
            ServiceError::BadCredentials => "bad_credentials",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::NotFound(_) => "not_found",
            ServiceError::Validation { .. } => "validation_failed",
            ServiceError::BadInput { code, .. } => code,
            ServiceError::Plan(e) => e.code(),
            ServiceError::Case(e) => e.code(),
            ServiceError::IdempotencyMismatch => "idempotency_key_reused",
            ServiceError::Conflict => "conflict",
            ServiceError::TooLarge { .. } => "payload_too_large",
            ServiceError::UnsupportedMedia => "unsupported_media_type",
            ServiceError::Internal(_) => "internal",
        }
    }

    pub(crate) fn bad(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        ServiceError::BadInput { code, message: message.into(), field: Some(field.into()) }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { .. } => ServiceError::Conflict,
            StoreError::Duplicate { what } => {
                ServiceError::BadInput { code: "duplicate", message: format!("{what} already exists"), field: None }
            }
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

/// The service: the store, the catalogues by version, the clock, the files.
pub struct Service {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) current: Arc<Catalog>,
    pub(crate) catalogs: RwLock<HashMap<String, Arc<Catalog>>>,
    pub(crate) clock: WorkClock,
    pub(crate) time: Arc<dyn TimeSource>,
    pub(crate) files: FileStore,
    pub(crate) config: ServiceConfig,
    /// Mutations of one case run one at a time on this node (sharded by case id), so parallel departments
    /// do not fight over the case's version; across nodes the store's version check still decides.
    pub(crate) case_locks: Vec<tokio::sync::Mutex<()>>,
}

impl Service {
    /// Builds the service and records the catalogue version it runs with (so cases can be pinned to it).
    pub async fn start(
        store: Arc<dyn Store>,
        catalog_files: Vec<SourceFile>,
        clock: WorkClock,
        time: Arc<dyn TimeSource>,
        files: FileStore,
        config: ServiceConfig,
    ) -> Result<Service, ServiceError> {
        let catalog = Catalog::load(&catalog_files).map_err(|errors| {
            ServiceError::Internal(format!(
                "the catalogue has errors:\n{}",
                errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
            ))
        })?;
        let catalog = Arc::new(catalog);
        if store.catalog_version(&catalog.version).await?.is_none() {
            let row = CatalogVersionRow {
                version: catalog.version.clone(),
                files: catalog_files.iter().map(|f| (f.name.clone(), f.text.clone())).collect(),
                loaded_at: time.now(),
            };
            store.commit(Changeset { catalog_version: Some(row), ..Changeset::default() }).await?;
        }
        let mut catalogs = HashMap::new();
        catalogs.insert(catalog.version.clone(), catalog.clone());
        let case_locks = (0..64).map(|_| tokio::sync::Mutex::new(())).collect();
        Ok(Service { store, current: catalog, catalogs: RwLock::new(catalogs), clock, time, files, config, case_locks })
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.current
    }

    pub fn clock(&self) -> &WorkClock {
        &self.clock
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    pub fn now(&self) -> Timestamp {
        self.time.now()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The catalogue of a version, loading it from the store the first time.
    pub(crate) async fn catalog_of(&self, version: &str) -> Result<Arc<Catalog>, ServiceError> {
        if let Ok(map) = self.catalogs.read()
            && let Some(c) = map.get(version)
        {
            return Ok(c.clone());
        }
        let row = self
            .store
            .catalog_version(version)
            .await?
            .ok_or_else(|| ServiceError::Internal(format!("catalogue version {version} is not stored")))?;
        let files: Vec<SourceFile> = row.files.into_iter().map(|(n, t)| SourceFile::new(n, t)).collect();
        let catalog = Arc::new(
            Catalog::load(&files)
                .map_err(|_| ServiceError::Internal(format!("stored catalogue version {version} does not load")))?,
        );
        if let Ok(mut map) = self.catalogs.write() {
            map.insert(version.to_string(), catalog.clone());
        }
        Ok(catalog)
    }

    /// The lock that serialises mutations of one case on this node.
    pub(crate) fn case_lock(&self, case_id: &str) -> &tokio::sync::Mutex<()> {
        let h = case_id.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        &self.case_locks[(h % self.case_locks.len() as u64) as usize]
    }

    /// Stops taking writes once pending ones are committed.
    pub async fn close(&self) {
        self.store.close().await;
    }
}

/// A new random identifier (UUID v7: time-ordered).
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
