//! onething-service: the use cases — sign in, file a case, upload a material, submit, accept or return it,
//! work a task, withdraw, supervise, read what one's role allows. Each mutating use case reads once, lets the
//! core decide (`onething_core::case`), and hands the store ONE changeset holding every row it changes and
//! exactly one typed event ([`events`]); the caller gets its answer only after that changeset is committed.
//! This crate is the only place that decides what belongs in one transaction; it knows neither SQL nor HTTP.

mod assessment;
mod audit;
mod auth;
mod cases;
pub mod errors;
pub mod events;
pub mod keys;
pub mod oversight;
mod overview;
mod people;
mod plans;
mod projects;
pub mod records;
mod supervision;
mod track;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jiff::Timestamp;
use onething_core::calendar::WorkClock;
use onething_core::catalog::Catalog;
use onething_core::colour::Thresholds;
use onething_core::source::SourceFile;
use onething_store::{CatalogVersionRow, Changeset, Store, StoreError};

pub use assessment::{Assessment, BundleFigures, Figures, Period, assessment_csv};
pub use audit::{AuditReport, Mismatch, audit_state};
pub use auth::{HASH_MEMORY_BYTES, NewUser, Role, User, random_password};
pub use cases::{
    Actor, ApplicantInput, ApproveRequest, CaseView, CreateCase, Created, ReasonInput, TaskView, TaskViewField,
    TaskViewMaterial,
};
pub use errors::{
    AccountError, AssessmentError, AuthError, BadInput, CaseActionError, ErrorCode, Failure, OversightError, ReadError,
};
pub use oversight::{EscalationInput, NoteInput, RATING_LEVELS, RatingInput, recipient_keys};
pub use overview::{CaseQuery, CaseSummary, OpenTask, Supervision};
pub use projects::{ImportReport, Milestone, Project, ProjectBoard, ProjectLine, RowError};
pub use supervision::{SupervisionConfig, SweepReport};
pub use track::{TrackStep, Tracked};

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
    /// The most bytes of files one case may hold (default 200 MiB).
    pub max_case_bytes: u64,
    /// How long a bearer token from `POST /sessions` lives.
    pub token_ttl: jiff::SignedDuration,
    /// How long a web session lives.
    pub session_ttl: jiff::SignedDuration,
    /// How many password hashes run at once (each takes [`HASH_MEMORY_BYTES`]).
    pub password_hashing: usize,
    pub thresholds: Thresholds,
    pub supervision: SupervisionConfig,
    /// Where the hall requires it (前台受理与帮办分离): a clerk who filed a case for an applicant (帮办代办) may
    /// not also accept it; another clerk does.
    pub separate_filing_and_acceptance: bool,
    /// The window (受理窗口) receipts name.
    pub hall_window: String,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: 20 * 1024 * 1024,
            max_case_bytes: 200 * 1024 * 1024,
            token_ttl: jiff::SignedDuration::from_hours(12),
            session_ttl: jiff::SignedDuration::from_hours(8),
            password_hashing: 4,
            thresholds: Thresholds::default(),
            supervision: SupervisionConfig::default(),
            separate_filing_and_acceptance: false,
            hall_window: "政务服务中心 综合窗口".to_string(),
        }
    }
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the catalogue has errors:\n{0}")]
    Catalog(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the installation's signing keys: {0}")]
    Keys(String),
}

/// The service: the store, the catalogues by version, the clock, the settings.
pub struct Service {
    pub(crate) store: Arc<dyn Store>,
    /// The catalogue new filings use.
    pub(crate) current: RwLock<Arc<Catalog>>,
    /// Every catalogue version a case of this node was read under (loaded from the store on first use).
    pub(crate) catalogs: RwLock<HashMap<String, Arc<Catalog>>>,
    pub(crate) clock: RwLock<Arc<WorkClock>>,
    pub(crate) time: Arc<dyn TimeSource>,
    pub(crate) config: ServiceConfig,
    /// Compiled plans by (catalogue version, bundle, answers): compiling is pure, so a cache is safe.
    pub(crate) plans: plans::PlanCache,
    /// Password hashes in flight.
    pub(crate) hashing: tokio::sync::Semaphore,
    /// Mutations of one case or record run one at a time on this node (sharded by key), so parallel
    /// departments or supervisors do not fight over its version; across nodes the store's version check still
    /// decides (and the loser retries from a fresh read).
    pub(crate) write_locks: Vec<tokio::sync::Mutex<()>>,
}

impl Service {
    /// Builds the service and records the catalogue version it runs with (so cases can be pinned to it).
    pub async fn start(
        store: Arc<dyn Store>,
        catalog_files: Vec<SourceFile>,
        clock: WorkClock,
        time: Arc<dyn TimeSource>,
        config: ServiceConfig,
    ) -> Result<Service, StartError> {
        let catalog = Catalog::load(&catalog_files).map_err(|errors| {
            StartError::Catalog(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
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
        let write_locks = (0..64).map(|_| tokio::sync::Mutex::new(())).collect();
        let hashing = tokio::sync::Semaphore::new(config.password_hashing.max(1));
        let service = Service {
            store,
            current: RwLock::new(catalog),
            catalogs: RwLock::new(catalogs),
            clock: RwLock::new(Arc::new(clock)),
            time,
            config,
            plans: plans::PlanCache::default(),
            hashing,
            write_locks,
        };
        // The installation's signing keys are made at first start.
        service.key_ring().await.map_err(|e| StartError::Keys(e.to_string()))?;
        Ok(service)
    }

    /// The catalogue new filings use.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.current.read().map(|c| Arc::clone(&c)).unwrap_or_else(|poisoned| Arc::clone(&poisoned.into_inner()))
    }

    /// The working-time clock.
    pub fn clock(&self) -> Arc<WorkClock> {
        self.clock.read().map(|c| Arc::clone(&c)).unwrap_or_else(|poisoned| Arc::clone(&poisoned.into_inner()))
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// Now, to the millisecond the store keeps: what a case records is what its events replay to.
    pub fn now(&self) -> Timestamp {
        onething_store::to_millis(self.time.now())
    }

    /// How many cases the store holds (for the metrics).
    pub async fn count_cases(&self) -> Result<i64, ReadError> {
        Ok(self.store.count_cases().await?)
    }

    /// A catalogue version this node has loaded.
    pub(crate) fn catalog_of(&self, version: &str) -> Result<Arc<Catalog>, String> {
        let map = self.catalogs.read().map_err(|_| "the catalogue map is poisoned".to_string())?;
        map.get(version).cloned().ok_or_else(|| format!("catalogue version {version} is not loaded"))
    }

    /// Makes sure a catalogue version is loaded, reading it from the store the first time.
    pub(crate) async fn ensure_catalog(&self, version: &str) -> Result<(), ReadError> {
        if self.catalog_of(version).is_ok() {
            return Ok(());
        }
        let row = self
            .store
            .catalog_version(version)
            .await?
            .ok_or_else(|| ReadError::Internal(format!("catalogue version {version} is not stored")))?;
        let files: Vec<SourceFile> = row.files.into_iter().map(|(n, t)| SourceFile::new(n, t)).collect();
        let catalog = Arc::new(
            Catalog::load(&files)
                .map_err(|_| ReadError::Internal(format!("stored catalogue version {version} does not load")))?,
        );
        if let Ok(mut map) = self.catalogs.write() {
            map.insert(version.to_string(), catalog);
        }
        Ok(())
    }

    /// The lock that serialises mutations of one case (key: its id) or record (key: `kind:id`) on this node.
    /// Hold at most one at a time.
    pub(crate) fn write_lock(&self, key: &str) -> &tokio::sync::Mutex<()> {
        let h = key.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        &self.write_locks[(h % self.write_locks.len() as u64) as usize]
    }

    /// Stops taking writes once pending ones are committed.
    pub async fn close(&self) {
        self.store.close().await;
    }
}

/// How many times a versioned write is tried against concurrent writers on other nodes. Each lost attempt means
/// another writer's change committed, so the whole system progresses; on one node the write lock already
/// serialises writers of one key.
pub(crate) const WRITE_ATTEMPTS: usize = 32;

/// Waits before attempt `attempt` (from 1) of a versioned write that lost to another node: a random time up
/// to 2 ms × 2^attempt, at most 100 ms, so racing nodes fall out of step.
pub(crate) async fn back_off(attempt: usize) {
    let ceiling = (2u64 << attempt.min(10)).min(100);
    let mut bytes = [0u8; 8];
    let jitter = match getrandom::fill(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes) % (ceiling * 1000),
        Err(_) => ceiling * 500,
    };
    tokio::time::sleep(std::time::Duration::from_micros(jitter)).await;
}

/// A new random identifier (UUID v7: time-ordered).
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
