//! The service in-process, on a temporary SQLite store, with a time source the tests step: the deadline
//! worker, escalations and interviews, the assessment, project imports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod assessment;
mod engine;
mod projects;
mod worker;

use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use onething_core::calendar::{WorkClock, china_tz};
use onething_core::source::SourceFile;
use onething_service::{CreateCase, Role, Service, ServiceConfig, TimeSource, User};
use serde_json::json;

/// A clock the test moves.
#[derive(Clone)]
pub struct FakeTime(Arc<Mutex<Timestamp>>);

impl FakeTime {
    pub fn at(s: &str) -> FakeTime {
        FakeTime(Arc::new(Mutex::new(china(s))))
    }
    pub fn set(&self, t: Timestamp) {
        *self.0.lock().unwrap() = t;
    }
    pub fn get(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
    pub fn advance_minutes(&self, m: i64) {
        let t = self.get() + jiff::SignedDuration::from_mins(m);
        self.set(t);
    }
}

impl TimeSource for FakeTime {
    fn now(&self) -> Timestamp {
        self.get()
    }
}

/// A China civil time, e.g. `2025-03-03T09:00`.
pub fn china(s: &str) -> Timestamp {
    let dt: jiff::civil::DateTime = s.parse().unwrap();
    dt.to_zoned(china_tz()).unwrap().timestamp()
}

pub fn catalog_files() -> Vec<SourceFile> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog");
    let mut out = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                out.push(SourceFile::new(
                    p.strip_prefix(&dir).unwrap().display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                ));
            }
        }
    }
    out
}

pub struct World {
    pub service: Service,
    /// The store under the service, for what a test checks behind it.
    pub store: Arc<dyn onething_store::Store>,
    pub time: FakeTime,
    _dir: tempfile::TempDir,
}

impl World {
    pub async fn new(start: &str) -> World {
        World::with_config(start, ServiceConfig::default()).await
    }

    pub async fn with_config(start: &str, config: ServiceConfig) -> World {
        let dir = tempfile::tempdir().unwrap();
        // On PostgreSQL when ONETHING_TEST_POSTGRES_URL names one (each world in a schema of its own).
        let store: Arc<dyn onething_store::Store> = match std::env::var("ONETHING_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => {
                let name = dir.path().file_name().unwrap().to_string_lossy().to_lowercase();
                let schema: String =
                    format!("svc_{name}").chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
                let mut options = onething_store_postgres::PostgresOptions::new(url);
                options.schema = Some(schema);
                Arc::new(onething_store_postgres::PostgresStore::open(options).await.unwrap())
            }
            _ => Arc::new(
                onething_store_sqlite::SqliteStore::open(onething_store_sqlite::SqliteOptions::new(
                    dir.path().join("db"),
                ))
                .await
                .unwrap(),
            ),
        };
        let time = FakeTime::at(start);
        let service =
            Service::start(Arc::clone(&store), catalog_files(), WorkClock::official(), Arc::new(time.clone()), config)
                .await
                .unwrap();
        World { service, store, time, _dir: dir }
    }

    pub async fn user(&self, name: &str, roles: &[Role], dept: Option<&str>) -> User {
        self.service.save_user(name, "password-123", roles, dept).await.unwrap()
    }

    /// Files, completes, submits and accepts a case of a bundle; returns its id.
    pub async fn accepted_case(&self, bundle: &str, form: serde_json::Value) -> String {
        let applicant = self.user("applicant", &[Role::Applicant], None).await;
        let clerk = self.user("clerk", &[Role::Clerk], None).await;
        let req: CreateCase = serde_json::from_value(json!({
            "bundle": bundle,
            "applicant": { "kind": "company", "name": "测试公司", "credit_code": "91330100799655058B" },
            "form": form,
        }))
        .unwrap();
        let created = self.service.create_case(&applicant, req, None).await.unwrap();
        let id = created.view.row.id.clone();
        for m in &created.view.plan.materials {
            self.service
                .upload_material(&applicant, &id, &m.code, format!("%PDF-1.4 {}", m.code).as_bytes())
                .await
                .unwrap();
        }
        self.service.submit(&applicant, &id).await.unwrap();
        self.service.accept(&clerk, &id).await.unwrap();
        id
    }
}

pub fn close_form() -> serde_json::Value {
    json!({
        "company_name": "旧时光商贸", "credit_code": "91330100799655058B", "legal_rep_name": "白先生",
        "legal_rep_id": "440524188001010014", "contact_phone": "13806351234", "deregistration_reason": "解散",
        "has_seals_on_file": true
    })
}
