//! Case use cases (办件): file, upload, submit, accept (受理), return for correction (补正), work tasks, withdraw,
//! and the reads each role is allowed. Every mutation is: load → check the actor → let the core decide →
//! commit one changeset (case row, its task rows, exactly one event) → answer. A concurrent change of the same
//! case (version conflict) is retried from a fresh read.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use jiff::Timestamp;
use onething_core::case::{Applicant, ApplicantKind, Case, Reason, TaskResult, TaskState};
use onething_core::catalog::{Catalog, FieldDef, LicenceType};
use onething_core::codes::{CreditCode, IdNumber};
use onething_core::colour::Colour;
use onething_core::form::{self, FieldProblem};
use onething_core::plan::{self, Plan, PlanField, PlanMaterial};
use onething_store::{
    CaseFilter, CaseRow, CaseWrite, Changeset, IdempotencyRow, MaterialRow, NewEvent, TaskFilter, TaskRow,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::{Role, User};
use crate::{Service, ServiceError, new_id};

/// How many times a use case is retried after a concurrent change of the same case.
const RETRIES: usize = 5;

/// Who acts: a signed-in user.
pub type Actor = User;

/// The stored document of a case: the core's case plus what only the service tracks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseDoc {
    pub case: Case,
    /// The user who filed it (the applicant, or a clerk filing for one: 帮办代办).
    pub filed_by: String,
    /// 受理编号, once accepted.
    pub receipt_number: Option<String>,
}

/// A request to file a case.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCase {
    pub bundle: String,
    pub applicant: ApplicantInput,
    #[serde(default)]
    pub answers: BTreeMap<String, String>,
    #[serde(default)]
    pub form: BTreeMap<String, serde_json::Value>,
}

/// The applicant as the request names it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicantInput {
    pub kind: String,
    pub name: String,
    pub credit_code: Option<String>,
    pub id_number: Option<String>,
}

/// The outcome of filing: the case, and whether it was created now or found by its idempotency key.
#[derive(Debug, Clone)]
pub struct Created {
    pub view: CaseView,
    pub created: bool,
}

/// A reason for a correction, as the request names it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonInput {
    pub material: Option<String>,
    pub field: Option<String>,
    pub reason: String,
}

/// An officer's approval: the result's surface fields, and optionally its number and validity.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    #[serde(default)]
    pub result: BTreeMap<String, serde_json::Value>,
    pub number: Option<String>,
    pub valid_to: Option<String>,
}

/// A case as a reader sees it.
#[derive(Debug, Clone)]
pub struct CaseView {
    pub row: CaseRow,
    pub doc: CaseDoc,
    pub materials: Vec<MaterialRow>,
    pub colour: Option<Colour>,
    /// The colour of each task, in the order of `doc.case.tasks`.
    pub task_colours: Vec<Option<Colour>>,
    pub plan: Plan,
}

/// A field of a task's view, with the applicant's value.
#[derive(Debug, Clone)]
pub struct TaskViewField {
    pub field: PlanField,
    pub value: Option<serde_json::Value>,
}

/// A material of a task's view, with its upload.
#[derive(Debug, Clone)]
pub struct TaskViewMaterial {
    pub material: PlanMaterial,
    pub upload: Option<MaterialRow>,
}

/// A task as its department sees it: only what this item needs.
#[derive(Debug, Clone)]
pub struct TaskView {
    pub task: onething_core::case::Task,
    /// The item's name (事项名称).
    pub item_name: String,
    pub task_row: TaskRow,
    pub case_id: String,
    pub case_number: String,
    pub case_state: String,
    pub bundle: String,
    pub applicant: Applicant,
    pub colour: Option<Colour>,
    pub fields: Vec<TaskViewField>,
    pub materials: Vec<TaskViewMaterial>,
    pub licence: Option<LicenceType>,
    pub result_fields: Vec<FieldDef>,
}

fn parse_doc(row: &CaseRow) -> Result<CaseDoc, ServiceError> {
    serde_json::from_value(row.doc.clone()).map_err(|e| ServiceError::Internal(format!("case {} doc: {e}", row.id)))
}

fn event(case_id: &str, kind: &str, actor: &User, at: Timestamp, payload: serde_json::Value) -> NewEvent {
    NewEvent {
        id: new_id(),
        case_id: Some(case_id.to_string()),
        kind: kind.to_string(),
        actor: actor.id.clone(),
        at,
        payload: payload.to_string(),
    }
}

fn task_rows(case: &Case, now: Timestamp) -> Result<Vec<TaskRow>, ServiceError> {
    case.tasks
        .iter()
        .map(|t| {
            Ok(TaskRow {
                id: t.id.clone(),
                case_id: case.id.clone(),
                item: t.item.clone(),
                department: t.department.clone(),
                state: t.state.as_str().to_string(),
                due_at: t.due_at,
                updated_at: now,
                doc: serde_json::to_value(t).map_err(|e| ServiceError::Internal(e.to_string()))?,
            })
        })
        .collect()
}

fn reasons(input: Vec<ReasonInput>) -> Result<Vec<Reason>, ServiceError> {
    if input.is_empty() {
        return Err(ServiceError::bad("empty_reasons", "reasons", "give at least one reason"));
    }
    input
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            if r.reason.trim().is_empty() {
                return Err(ServiceError::bad(
                    "empty_reasons",
                    format!("reasons[{i}].reason"),
                    "a reason needs a text",
                ));
            }
            Ok(Reason { material: r.material, field: r.field, reason: r.reason })
        })
        .collect()
}

/// The China calendar date of an instant, e.g. for "today" in birth-date checks.
fn china_date(ts: Timestamp) -> jiff::civil::Date {
    ts.to_zoned(onething_core::calendar::china_tz()).date()
}

impl Service {
    fn can_read(&self, user: &User, row: &CaseRow) -> bool {
        user.reads_all() || (user.has(Role::Applicant) && row.owner.as_deref() == Some(user.id.as_str()))
    }

    /// Loads a case the user may see; others' cases are "not found", never "forbidden", so existence is not
    /// revealed.
    async fn load(&self, user: &User, case_id: &str) -> Result<(CaseRow, CaseDoc), ServiceError> {
        let row = self.store.case(case_id).await?.ok_or(ServiceError::NotFound("case"))?;
        if !self.can_read(user, &row) {
            return Err(ServiceError::NotFound("case"));
        }
        let doc = parse_doc(&row)?;
        Ok((row, doc))
    }

    async fn plan_of(&self, doc: &CaseDoc) -> Result<(Arc<Catalog>, Plan), ServiceError> {
        let catalog = self.catalog_of(&doc.case.catalog_version).await?;
        let plan = plan::compile(&catalog, &doc.case.bundle, &doc.case.answers)?;
        Ok((catalog, plan))
    }

    async fn view(&self, row: CaseRow, doc: CaseDoc) -> Result<CaseView, ServiceError> {
        let materials = self.store.materials(&row.id).await?;
        let (_, plan) = self.plan_of(&doc).await?;
        let now = self.now();
        let t = &self.config.thresholds;
        let colour = doc.case.colour(&self.clock, now, t);
        let task_colours =
            doc.case.tasks.iter().map(|task| task.colour(&doc.case.pauses, &self.clock, now, t)).collect();
        Ok(CaseView { row, doc, materials, colour, task_colours, plan })
    }

    /// Files a case (draft). With an idempotency key, the same key and body give the same case back.
    pub async fn create_case(
        &self,
        user: &User,
        req: CreateCase,
        idempotency_key: Option<&str>,
    ) -> Result<Created, ServiceError> {
        if !(user.has(Role::Applicant) || user.has(Role::Clerk)) {
            return Err(ServiceError::Forbidden("only applicants and window clerks file cases"));
        }
        let body_sha = onething_store::hex(&Sha256::digest(
            serde_json::to_vec(&req).map_err(|e| ServiceError::Internal(e.to_string()))?,
        ));
        if let Some(key) = idempotency_key {
            if key.is_empty() || key.len() > 200 {
                return Err(ServiceError::bad("bad_idempotency_key", "Idempotency-Key", "use 1 to 200 characters"));
            }
            if let Some(found) = self.store.idempotency(&user.id, key).await? {
                return self.replay(user, &found.body_sha256, &body_sha, &found.case_id).await;
            }
        }
        let applicant = parse_applicant(&req.applicant, china_date(self.now()))?;
        let plan = plan::compile(&self.current, &req.bundle, &req.answers)?;
        let now = self.now();
        let id = new_id();
        let case = Case::new(id.clone(), &plan, applicant, plan.answers.clone(), req.form.clone(), now);
        let doc = CaseDoc { case, filed_by: user.id.clone(), receipt_number: None };
        let owner = user.has(Role::Applicant).then(|| user.id.clone());
        let row = CaseRow {
            id: id.clone(),
            number: String::new(),
            bundle: plan.bundle.clone(),
            catalog_version: plan.catalog_version.clone(),
            state: doc.case.state.as_str().to_string(),
            owner,
            due_at: None,
            created_at: now,
            updated_at: now,
            version: 0,
            doc: serde_json::to_value(&doc).map_err(|e| ServiceError::Internal(e.to_string()))?,
        };
        let prefix = format!("YJS{}", china_date(now).strftime("%Y%m%d"));
        let payload = serde_json::json!({
            "bundle": plan.bundle,
            "catalog_version": plan.catalog_version,
            "applicant": doc.case.applicant,
            "assisted": user.has(Role::Clerk),
        });
        let change = Changeset {
            case: Some(CaseWrite { row, expected_version: None, number_prefix: prefix }),
            idempotency: idempotency_key.map(|key| IdempotencyRow {
                scope: user.id.clone(),
                key: key.to_string(),
                body_sha256: body_sha.clone(),
                case_id: id.clone(),
                created_at: now,
            }),
            event: Some(event(&id, "case_filed", user, now, payload)),
            ..Changeset::default()
        };
        match self.store.commit(change).await {
            Ok(committed) => {
                let row = committed.case.ok_or_else(|| ServiceError::Internal("commit returned no case".into()))?;
                Ok(Created { view: self.view(row, doc).await?, created: true })
            }
            // Two requests with one key raced: the other one won; answer as a replay.
            Err(onething_store::StoreError::Duplicate { .. }) if idempotency_key.is_some() => {
                let key = idempotency_key.unwrap_or_default();
                let found = self.store.idempotency(&user.id, key).await?.ok_or(ServiceError::Conflict)?;
                self.replay(user, &found.body_sha256, &body_sha, &found.case_id).await
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn replay(&self, user: &User, stored: &str, given: &str, case_id: &str) -> Result<Created, ServiceError> {
        if stored != given {
            return Err(ServiceError::IdempotencyMismatch);
        }
        let (row, doc) = self.load(user, case_id).await?;
        Ok(Created { view: self.view(row, doc).await?, created: false })
    }

    /// Reads a case.
    pub async fn get_case(&self, user: &User, case_id: &str) -> Result<CaseView, ServiceError> {
        let (row, doc) = self.load(user, case_id).await?;
        self.view(row, doc).await
    }

    /// Lists cases the user may see (applicants: their own; clerks, supervisors, admins: all).
    pub async fn list_cases(
        &self,
        user: &User,
        state: Option<String>,
        bundle: Option<String>,
    ) -> Result<Vec<CaseRow>, ServiceError> {
        let mut filter = CaseFilter { state, bundle, limit: 500, ..CaseFilter::default() };
        if !user.reads_all() {
            if user.has(Role::Applicant) {
                filter.owner = Some(user.id.clone());
            } else {
                return Err(ServiceError::Forbidden("officers work tasks, not cases: use /tasks"));
            }
        }
        filter.oldest_first = user.has(Role::Clerk);
        Ok(self.store.cases(&filter).await?)
    }

    /// The events of a case, in order, with their hashes.
    pub async fn case_events(&self, user: &User, case_id: &str) -> Result<Vec<onething_store::EventRow>, ServiceError> {
        self.load(user, case_id).await?;
        Ok(self.store.case_events(case_id).await?)
    }

    /// Applies a core transition to a case and commits it with one event; retried on a concurrent change.
    async fn mutate<T>(
        &self,
        user: &User,
        case_id: &str,
        mut decide: impl FnMut(&mut CaseDoc, &CaseRow, Timestamp) -> Result<(String, serde_json::Value, T), ServiceError>,
    ) -> Result<(CaseView, T), ServiceError> {
        let _serial = self.case_lock(case_id).lock().await;
        for attempt in 0..RETRIES {
            if attempt > 0 {
                // Another node changed the case: back off a little before reading it again.
                tokio::time::sleep(std::time::Duration::from_millis(5 << attempt)).await;
            }
            let (row, mut doc) = self.load(user, case_id).await?;
            let now = self.now();
            let (kind, payload, out) = decide(&mut doc, &row, now)?;
            let mut new_row = row.clone();
            new_row.state = doc.case.state.as_str().to_string();
            new_row.due_at = doc.case.due_at;
            new_row.updated_at = now;
            new_row.doc = serde_json::to_value(&doc).map_err(|e| ServiceError::Internal(e.to_string()))?;
            let watches = self.watch_writes(&doc, now).await?;
            let change = Changeset {
                watches,
                case: Some(CaseWrite {
                    row: new_row,
                    expected_version: Some(row.version),
                    number_prefix: String::new(),
                }),
                tasks: task_rows(&doc.case, now)?,
                event: Some(event(case_id, &kind, user, now, payload)),
                ..Changeset::default()
            };
            match self.store.commit(change).await {
                Ok(committed) => {
                    let row = committed.case.ok_or_else(|| ServiceError::Internal("commit returned no case".into()))?;
                    return Ok((self.view(row, doc).await?, out));
                }
                Err(onething_store::StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Conflict)
    }

    fn owner_or_clerk(user: &User, row: &CaseRow) -> Result<(), ServiceError> {
        if user.has(Role::Clerk) || row.owner.as_deref() == Some(user.id.as_str()) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden("only the applicant or a window clerk may change an application"))
        }
    }

    /// Changes the form and answers of a draft (or a case returned for correction).
    pub async fn update_case(
        &self,
        user: &User,
        case_id: &str,
        answers: Option<BTreeMap<String, String>>,
        form: Option<BTreeMap<String, serde_json::Value>>,
    ) -> Result<CaseView, ServiceError> {
        let current = self.current.clone();
        let (view, ()) = self
            .mutate(user, case_id, |doc, row, now| {
                Self::owner_or_clerk(user, row)?;
                if let Some(a) = &answers {
                    let plan = plan::compile(&current, &doc.case.bundle, a)?;
                    doc.case.set_answers(plan.answers, now)?;
                }
                if let Some(f) = &form {
                    doc.case.set_form(f.clone(), now)?;
                }
                Ok(("case_updated".into(), serde_json::json!({ "answers": answers, "form": form }), ()))
            })
            .await?;
        Ok(view)
    }

    /// Stores a material file of a case (draft or returned for correction).
    pub async fn upload_material(
        &self,
        user: &User,
        case_id: &str,
        material: &str,
        bytes: &[u8],
    ) -> Result<MaterialRow, ServiceError> {
        if bytes.len() > self.config.max_upload_bytes {
            return Err(ServiceError::TooLarge { limit: self.config.max_upload_bytes });
        }
        let media = onething_core::media::sniff(bytes).ok_or(ServiceError::UnsupportedMedia)?;
        let (row, doc) = self.load(user, case_id).await?;
        Self::owner_or_clerk(user, &row)?;
        let (_, plan) = self.plan_of(&doc).await?;
        if !plan.materials.iter().any(|m| m.code == material) {
            return Err(ServiceError::bad(
                "unknown_material",
                "material_code",
                format!("{material:?} is not a material this application asks for"),
            ));
        }
        use onething_core::case::CaseState;
        if !matches!(doc.case.state, CaseState::Draft | CaseState::Returned) {
            return Err(ServiceError::Case(onething_core::case::CaseError::IllegalTransition {
                action: "upload a material to",
                state: doc.case.state,
            }));
        }
        let files = self.files.clone();
        let data = bytes.to_vec();
        let sha256 = tokio::task::spawn_blocking(move || files.put(&data))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .map_err(|e| ServiceError::Internal(format!("writing the file: {e}")))?;
        let now = self.now();
        let m = MaterialRow {
            case_id: case_id.to_string(),
            material: material.to_string(),
            sha256: sha256.clone(),
            size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            media_type: media.as_str().to_string(),
            uploaded_at: now,
        };
        // The upload changes no case state, but it is recorded: the material row and its event commit together.
        let payload =
            serde_json::json!({ "material": material, "sha256": sha256, "size": m.size, "media_type": m.media_type });
        let change = Changeset {
            materials: vec![m.clone()],
            event: Some(event(case_id, "material_uploaded", user, now, payload)),
            ..Changeset::default()
        };
        self.store.commit(change).await?;
        Ok(m)
    }

    /// The bytes and media type of a case's material, for whoever may see the case or works one of its tasks.
    pub async fn material_file(
        &self,
        user: &User,
        case_id: &str,
        material: &str,
    ) -> Result<(MaterialRow, Vec<u8>), ServiceError> {
        let row = self.store.case(case_id).await?.ok_or(ServiceError::NotFound("case"))?;
        let allowed = self.can_read(user, &row) || self.officer_needs(user, &row, material).await?;
        if !allowed {
            return Err(ServiceError::NotFound("case"));
        }
        let m = self
            .store
            .materials(case_id)
            .await?
            .into_iter()
            .find(|m| m.material == material)
            .ok_or(ServiceError::NotFound("material"))?;
        let files = self.files.clone();
        let sha = m.sha256.clone();
        let bytes = tokio::task::spawn_blocking(move || files.get(&sha))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .map_err(|e| ServiceError::Internal(format!("reading the file: {e}")))?;
        Ok((m, bytes))
    }

    /// Whether an officer works a task of this case whose item uses this material.
    async fn officer_needs(&self, user: &User, row: &CaseRow, material: &str) -> Result<bool, ServiceError> {
        let Some(dept) = user.department.as_deref().filter(|_| user.has(Role::Officer)) else { return Ok(false) };
        let doc = parse_doc(row)?;
        let (_, plan) = self.plan_of(&doc).await?;
        Ok(doc.case.tasks.iter().any(|t| {
            t.department == dept
                && plan.materials.iter().any(|m| m.code == material && m.items.iter().any(|i| i == &t.item))
        }))
    }

    /// Submits (or resubmits after a correction): every required material uploaded, every field valid.
    pub async fn submit(&self, user: &User, case_id: &str) -> Result<CaseView, ServiceError> {
        let materials: BTreeSet<String> =
            self.store.materials(case_id).await?.into_iter().map(|m| m.material).collect();
        let (_, doc) = self.load(user, case_id).await?;
        let (_, plan) = self.plan_of(&doc).await?;
        let clock = self.clock.clone();
        let (view, ()) = self
            .mutate(user, case_id, |doc, row, now| {
                Self::owner_or_clerk(user, row)?;
                let problems: Vec<FieldProblem> = form::validate_values(&plan.form, &doc.case.form, china_date(now));
                let missing = form::missing_materials(&plan, &materials);
                if !problems.is_empty() || !missing.is_empty() {
                    return Err(ServiceError::Validation { problems, missing_materials: missing });
                }
                let resubmission = doc.case.open_correction().is_some();
                doc.case.submit(now, &clock)?;
                let kind = if resubmission { "case_resubmitted" } else { "case_submitted" };
                Ok((kind.into(), serde_json::json!({ "state": doc.case.state.as_str() }), ()))
            })
            .await?;
        Ok(view)
    }

    /// Accepts a submitted case (受理): tasks and deadlines are created, a receipt number is given.
    pub async fn accept(&self, user: &User, case_id: &str) -> Result<CaseView, ServiceError> {
        if !user.has(Role::Clerk) {
            return Err(ServiceError::Forbidden("only a window clerk accepts applications"));
        }
        let (_, doc) = self.load(user, case_id).await?;
        let (_, plan) = self.plan_of(&doc).await?;
        let clock = self.clock.clone();
        let (view, ()) = self
            .mutate(user, case_id, |doc, row, now| {
                let ids: Vec<String> = plan.tasks.iter().map(|_| new_id()).collect();
                doc.case.accept(now, &clock, &plan, &ids)?;
                let receipt = format!("SL{}", row.number.trim_start_matches("YJS"));
                doc.receipt_number = Some(receipt.clone());
                let payload = serde_json::json!({
                    "receipt_number": receipt,
                    "due_at": doc.case.due_at,
                    "tasks": doc.case.tasks.iter().map(|t| serde_json::json!({
                        "id": t.id, "item": t.item, "department": t.department, "state": t.state.as_str(), "due_at": t.due_at,
                    })).collect::<Vec<_>>(),
                });
                Ok(("case_accepted".into(), payload, ()))
            })
            .await?;
        Ok(view)
    }

    /// Returns a submitted case for correction (补正), with a reason per material or field.
    pub async fn return_case(
        &self,
        user: &User,
        case_id: &str,
        input: Vec<ReasonInput>,
    ) -> Result<CaseView, ServiceError> {
        if !user.has(Role::Clerk) {
            return Err(ServiceError::Forbidden("only a window clerk returns applications for correction"));
        }
        let reasons = reasons(input)?;
        let (view, ()) = self
            .mutate(user, case_id, |doc, _, now| {
                doc.case.return_for_correction(now, reasons.clone())?;
                Ok(("case_returned".into(), serde_json::json!({ "reasons": reasons }), ()))
            })
            .await?;
        Ok(view)
    }

    /// Withdraws a case (撤回), by its applicant or a clerk.
    pub async fn withdraw(&self, user: &User, case_id: &str) -> Result<CaseView, ServiceError> {
        let (view, ()) = self
            .mutate(user, case_id, |doc, row, now| {
                Self::owner_or_clerk(user, row)?;
                doc.case.withdraw(now)?;
                Ok(("case_withdrawn".into(), serde_json::json!({}), ()))
            })
            .await?;
        Ok(view)
    }

    // ----------------------------------------------------------------------------------------------------
    // Tasks (部门审批环节).

    fn officer_department(user: &User) -> Result<&str, ServiceError> {
        match user.department.as_deref() {
            Some(d) if user.has(Role::Officer) => Ok(d),
            _ => Err(ServiceError::Forbidden("only a department officer works tasks")),
        }
    }

    /// The tasks of the officer's department (or, for supervisors, of any department), most urgent first.
    pub async fn list_tasks(&self, user: &User, state: Option<String>) -> Result<Vec<TaskView>, ServiceError> {
        let department = if user.has(Role::Supervisor) || user.has(Role::Admin) {
            None
        } else {
            Some(Self::officer_department(user)?.to_string())
        };
        let rows = self.store.tasks(&TaskFilter { department, state, case_id: None, limit: 500 }).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.task_view(r).await?);
        }
        Ok(out)
    }

    /// One task, if it is of the officer's department.
    pub async fn get_task(&self, user: &User, task_id: &str) -> Result<TaskView, ServiceError> {
        let row = self.store.task(task_id).await?.ok_or(ServiceError::NotFound("task"))?;
        let visible = user.has(Role::Supervisor)
            || user.has(Role::Admin)
            || (user.has(Role::Officer) && user.department.as_deref() == Some(row.department.as_str()));
        if !visible {
            return Err(ServiceError::NotFound("task"));
        }
        self.task_view(row).await
    }

    async fn task_view(&self, task_row: TaskRow) -> Result<TaskView, ServiceError> {
        let row = self.store.case(&task_row.case_id).await?.ok_or(ServiceError::NotFound("case"))?;
        let doc = parse_doc(&row)?;
        let (catalog, plan) = self.plan_of(&doc).await?;
        let task =
            doc.case.tasks.iter().find(|t| t.id == task_row.id).cloned().ok_or(ServiceError::NotFound("task"))?;
        let uploads = self.store.materials(&row.id).await?;
        let fields = plan
            .form
            .iter()
            .filter(|f| f.items.contains(&task.item))
            .map(|f| TaskViewField { field: f.clone(), value: doc.case.form.get(&f.code).cloned() })
            .collect();
        let materials = plan
            .materials
            .iter()
            .filter(|m| m.items.contains(&task.item))
            .map(|m| TaskViewMaterial {
                material: m.clone(),
                upload: uploads.iter().find(|u| u.material == m.code).cloned(),
            })
            .collect();
        let licence = task.licence.as_ref().and_then(|l| catalog.licences.get(l)).cloned();
        let result_fields = licence.as_ref().map(|l| l.fields.clone()).unwrap_or_default();
        let colour = task.colour(&doc.case.pauses, &self.clock, self.now(), &self.config.thresholds);
        let item_name = plan.tasks.iter().find(|t| t.item == task.item).map_or_else(String::new, |t| t.name.clone());
        Ok(TaskView {
            task,
            item_name,
            task_row,
            case_id: row.id.clone(),
            case_number: row.number.clone(),
            case_state: row.state.clone(),
            bundle: row.bundle.clone(),
            applicant: doc.case.applicant.clone(),
            colour,
            fields,
            materials,
            licence,
            result_fields,
        })
    }

    /// The case of a task the officer may work.
    async fn task_case(&self, user: &User, task_id: &str) -> Result<(TaskRow, String), ServiceError> {
        let dept = Self::officer_department(user)?;
        let row = self.store.task(task_id).await?.ok_or(ServiceError::NotFound("task"))?;
        if row.department != dept {
            return Err(ServiceError::NotFound("task"));
        }
        let case_id = row.case_id.clone();
        Ok((row, case_id))
    }

    /// Mutations of a task go through the case, with the officer's read right granted by the task.
    async fn mutate_as_officer<T>(
        &self,
        user: &User,
        case_id: &str,
        decide: impl FnMut(&mut CaseDoc, &CaseRow, Timestamp) -> Result<(String, serde_json::Value, T), ServiceError>,
    ) -> Result<(CaseView, T), ServiceError> {
        // An officer reads the case only for the task's sake: act with a reader's right for this call.
        let reader = User { roles: vec![Role::Supervisor], ..user.clone() };
        self.mutate(&reader, case_id, decide).await
    }

    /// Approves a task with its result (办理结果); the case concludes when every task is decided.
    pub async fn approve(&self, user: &User, task_id: &str, req: ApproveRequest) -> Result<TaskView, ServiceError> {
        let (task_row, case_id) = self.task_case(user, task_id).await?;
        let row = self.store.case(&case_id).await?.ok_or(ServiceError::NotFound("case"))?;
        let doc = parse_doc(&row)?;
        let (catalog, _) = self.plan_of(&doc).await?;
        let task = doc.case.task(task_id).cloned().ok_or(ServiceError::NotFound("task"))?;
        let licence = task.licence.as_ref().and_then(|l| catalog.licences.get(l)).cloned();
        let today = china_date(self.now());
        let mut problems = match &licence {
            Some(l) => form::validate_values(&l.fields, &req.result, today),
            None => Vec::new(),
        };
        let valid_to = match req.valid_to.as_deref() {
            None | Some("") => None,
            Some(s) => match s.parse::<jiff::civil::Date>() {
                Ok(d) if d >= today => Some(d),
                _ => {
                    problems.push(FieldProblem {
                        field: "valid_to".into(),
                        code: "bad_date",
                        message: "write a date (YYYY-MM-DD) not before today".into(),
                    });
                    None
                }
            },
        };
        if !problems.is_empty() {
            return Err(ServiceError::Validation { problems, missing_materials: Vec::new() });
        }
        let clock = self.clock.clone();
        let user_id = user.id.clone();
        let (_, ()) = self
            .mutate_as_officer(user, &case_id, |doc, row, now| {
                let index = doc.case.tasks.iter().filter(|t| t.result.is_some()).count() + 1;
                let number = req
                    .number
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| format!("{}-{index:02}", row.number.trim_start_matches("YJS")));
                let result = TaskResult {
                    licence: task.licence.clone().unwrap_or_default(),
                    number: number.clone(),
                    holder: doc.case.applicant.name.clone(),
                    valid_from: china_date(now),
                    valid_to,
                    fields: req.result.clone(),
                    issued_at: now,
                };
                doc.case.approve(task_id, now, &clock, result)?;
                let payload = serde_json::json!({
                    "task": task_id, "item": task.item, "department": task.department, "officer": user_id,
                    "licence": task.licence, "number": number, "case_state": doc.case.state.as_str(),
                    "outcome": doc.case.outcome.map(|o| o.as_str()),
                });
                Ok(("task_approved".into(), payload, ()))
            })
            .await?;
        self.task_view(self.store.task(&task_row.id).await?.ok_or(ServiceError::NotFound("task"))?).await
    }

    /// Rejects a task with a reason (不予许可).
    pub async fn reject(&self, user: &User, task_id: &str, reason: String) -> Result<TaskView, ServiceError> {
        if reason.trim().is_empty() {
            return Err(ServiceError::bad("empty_reasons", "reason", "give the reason for the rejection"));
        }
        let (task_row, case_id) = self.task_case(user, task_id).await?;
        self.mutate_as_officer(user, &case_id, |doc, _, now| {
            doc.case.reject(task_id, now, reason.clone())?;
            let payload = serde_json::json!({
                "task": task_id, "reason": reason, "case_state": doc.case.state.as_str(),
                "outcome": doc.case.outcome.map(|o| o.as_str()),
            });
            Ok(("task_rejected".into(), payload, ()))
        })
        .await?;
        self.task_view(self.store.task(&task_row.id).await?.ok_or(ServiceError::NotFound("task"))?).await
    }

    /// A department asks for a correction during its task: the case's clocks stop until resubmission.
    pub async fn return_task(
        &self,
        user: &User,
        task_id: &str,
        input: Vec<ReasonInput>,
    ) -> Result<TaskView, ServiceError> {
        let reasons = reasons(input)?;
        let (task_row, case_id) = self.task_case(user, task_id).await?;
        self.mutate_as_officer(user, &case_id, |doc, _, now| {
            doc.case.return_by_task(task_id, now, reasons.clone())?;
            Ok(("task_returned".into(), serde_json::json!({ "task": task_id, "reasons": reasons }), ()))
        })
        .await?;
        self.task_view(self.store.task(&task_row.id).await?.ok_or(ServiceError::NotFound("task"))?).await
    }

    /// Whether a task is in a state an officer acts on.
    pub fn is_open(state: TaskState) -> bool {
        matches!(state, TaskState::Ready | TaskState::Waiting | TaskState::Returned)
    }
}

/// Parses the applicant: a company needs a valid credit code, a person a valid ID number.
fn parse_applicant(input: &ApplicantInput, today: jiff::civil::Date) -> Result<Applicant, ServiceError> {
    if input.name.trim().is_empty() {
        return Err(ServiceError::bad("required", "applicant.name", "the applicant's name is required"));
    }
    match input.kind.as_str() {
        "company" => {
            let code = input.credit_code.as_deref().unwrap_or("");
            let cc = CreditCode::parse(code)
                .map_err(|e| ServiceError::bad("bad_credit_code", "applicant.credit_code", e.to_string()))?;
            Ok(Applicant {
                kind: ApplicantKind::Company,
                name: input.name.trim().to_string(),
                credit_code: Some(cc.as_str().to_string()),
                id_number: None,
            })
        }
        "person" => {
            let id = input.id_number.as_deref().unwrap_or("");
            let n = IdNumber::parse_at(id, today)
                .map_err(|e| ServiceError::bad("bad_id_number", "applicant.id_number", e.to_string()))?;
            Ok(Applicant {
                kind: ApplicantKind::Person,
                name: input.name.trim().to_string(),
                credit_code: None,
                id_number: Some(n.as_str().to_string()),
            })
        }
        other => Err(ServiceError::bad(
            "bad_enum",
            "applicant.kind",
            format!("{other:?} is not an applicant kind: use company or person"),
        )),
    }
}
