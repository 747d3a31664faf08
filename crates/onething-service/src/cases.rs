//! Case use cases (办件): file, change, upload, submit, accept (受理), return for correction (补正), work tasks,
//! withdraw, and the reads each role is allowed. Every mutation is: one read of the case with its materials and
//! watches → check the actor → let the core decide, which gives the typed event → commit one changeset (the
//! case row, the task rows and watches that changed, the file if any, exactly one event) → answer from what is
//! in hand. A concurrent change of the same case (a lost version check) is retried from a fresh read.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::Timestamp;
use onething_core::case::{Applicant, ApplicantKind, Case, CaseEvent, Reason, TaskResult, TaskState, Upload};
use onething_core::catalog::{FieldDef, LicenceType};
use onething_core::codes::{CreditCode, IdNumber};
use onething_core::colour::Colour;
use onething_core::form::{self, FieldProblem};
use onething_core::plan::{Plan, PlanField, PlanMaterial};
use onething_store::{
    BlobRow, CaseBundle, CaseFilter, CaseRow, CaseWrite, Changeset, IdempotencyRow, MaterialRow, StoreError,
    TaskFilter, TaskRow,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::{Role, User};
use crate::errors::{BadInput, CaseActionError, ErrorCode, ReadError, json_fault};
use crate::events::Event;
use crate::{Service, new_id};

/// Who acts: a signed-in user.
pub type Actor = User;

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
    pub case: Case,
    /// The uploads, as rows (by material code).
    pub materials: Vec<MaterialRow>,
    pub colour: Option<Colour>,
    /// The colour of each task, in the order of `case.tasks`.
    pub task_colours: Vec<Option<Colour>>,
    pub plan: Arc<Plan>,
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

/// A case as read: its row and the case it holds.
pub(crate) struct Loaded {
    pub(crate) bundle: CaseBundle,
    pub(crate) case: Case,
}

pub(crate) fn parse_case(row: &CaseRow) -> Result<Case, String> {
    serde_json::from_str(&row.doc).map_err(|e| format!("case {}: {}", row.id, json_fault(e)))
}

fn reasons(input: Vec<ReasonInput>) -> Result<Vec<Reason>, BadInput> {
    if input.is_empty() {
        return Err(BadInput::new(ErrorCode::EmptyReasons, "reasons", "give at least one reason"));
    }
    input
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            if r.reason.trim().is_empty() {
                return Err(BadInput::new(
                    ErrorCode::EmptyReasons,
                    format!("reasons[{i}].reason"),
                    "a reason needs a text",
                ));
            }
            Ok(Reason { material: r.material, field: r.field, reason: r.reason })
        })
        .collect()
}

/// The China calendar date of an instant, e.g. for "today" in birth-date checks.
pub(crate) fn china_date(ts: Timestamp) -> jiff::civil::Date {
    ts.to_zoned(onething_core::calendar::china_tz()).date()
}

/// The material rows of a case's uploads.
fn material_rows(case: &Case) -> Vec<MaterialRow> {
    case.materials
        .iter()
        .map(|(code, u)| MaterialRow {
            case_id: case.id.clone(),
            material: code.clone(),
            sha256: u.sha256.clone(),
            size: i64::try_from(u.size).unwrap_or(i64::MAX),
            media_type: u.media_type.clone(),
            uploaded_at: u.uploaded_at,
        })
        .collect()
}

/// The row a case is stored as (its number and version are the store's).
fn case_row(case: &Case, number: &str, owner: Option<String>, now: Timestamp) -> Result<CaseRow, String> {
    Ok(CaseRow {
        id: case.id.clone(),
        number: number.to_string(),
        bundle: case.bundle.clone(),
        catalog_version: case.catalog_version.clone(),
        state: case.state.as_str().to_string(),
        owner,
        applicant_name: case.applicant.name.clone(),
        applicant_code: case.applicant.credit_code.clone().or_else(|| case.applicant.id_number.clone()),
        due_at: case.due_at,
        created_at: case.created_at,
        updated_at: now,
        version: 0,
        doc: serde_json::to_string(case).map_err(json_fault)?,
    })
}

/// The rows of the tasks that differ from `before` (all of them for a case without tasks before).
fn changed_task_rows(before: &Case, after: &Case, now: Timestamp) -> Result<Vec<TaskRow>, String> {
    after
        .tasks
        .iter()
        .filter(|t| before.task(&t.id) != Some(*t))
        .map(|t| {
            Ok(TaskRow {
                id: t.id.clone(),
                case_id: after.id.clone(),
                item: t.item.clone(),
                department: t.department.clone(),
                state: t.state.as_str().to_string(),
                due_at: t.due_at,
                updated_at: now,
                doc: serde_json::to_string(t).map_err(json_fault)?,
            })
        })
        .collect()
}

impl Service {
    /// Whether a user may read a case: supervisors, administrators and clerks every case, an applicant their
    /// own, an officer the cases with a task of their department.
    pub(crate) fn can_read(user: &User, row: &CaseRow, case: &Case) -> bool {
        user.reads_all()
            || (user.has(Role::Applicant) && row.owner.as_deref() == Some(user.id.as_str()))
            || (user.has(Role::Officer)
                && user.department.as_deref().is_some_and(|d| case.tasks.iter().any(|t| t.department == d)))
    }

    /// A case the user may see, read once with its materials and watches; others' cases are "not found",
    /// never "forbidden", so existence is not revealed.
    pub(crate) async fn load(&self, user: &User, case_id: &str) -> Result<Loaded, ReadError> {
        let bundle = self.store.case_bundle(case_id).await?.ok_or(ReadError::NotFound("case"))?;
        self.loaded(user, bundle).await
    }

    /// A case read, checked for the user, with its catalogue version at hand.
    async fn loaded(&self, user: &User, bundle: CaseBundle) -> Result<Loaded, ReadError> {
        let case = parse_case(&bundle.case).map_err(ReadError::Internal)?;
        if !Self::can_read(user, &bundle.case, &case) {
            return Err(ReadError::NotFound("case"));
        }
        self.ensure_catalog(&case.catalog_version).await?;
        Ok(Loaded { bundle, case })
    }

    /// The view of a case as loaded, at the service's now.
    pub(crate) fn view_of(&self, row: CaseRow, case: Case) -> Result<CaseView, ReadError> {
        let plan = self.plan_of(&case)?;
        let now = self.now();
        let t = &self.config.thresholds;
        let clock = self.clock();
        let colour = case.colour(&clock, now, t);
        let task_colours = case.tasks.iter().map(|task| task.colour(&case.pauses, &clock, now, t)).collect();
        let materials = material_rows(&case);
        Ok(CaseView { row, case, materials, colour, task_colours, plan })
    }

    /// The plan of a case: its bundle and answers compiled under the catalogue version it was filed with.
    pub(crate) fn plan_of(&self, case: &Case) -> Result<Arc<Plan>, ReadError> {
        let catalog = self.catalog_of(&case.catalog_version).map_err(ReadError::Internal)?;
        Ok(self.plans.compile(&catalog, &case.bundle, &case.answers)?)
    }

    /// Files a case (draft). With an idempotency key, the same key and body give the same case back.
    pub async fn create_case(
        &self,
        user: &User,
        req: CreateCase,
        idempotency_key: Option<&str>,
    ) -> Result<Created, CaseActionError> {
        if !(user.has(Role::Applicant) || user.has(Role::Clerk)) {
            return Err(CaseActionError::Forbidden("only applicants and window clerks file cases"));
        }
        let body = serde_json::to_vec(&req).map_err(|e| CaseActionError::Internal(json_fault(e)))?;
        let body_sha = onething_store::hex(&Sha256::digest(body));
        if let Some(key) = idempotency_key {
            if key.is_empty() || key.len() > 200 {
                return Err(
                    BadInput::new(ErrorCode::BadIdempotencyKey, "Idempotency-Key", "use 1 to 200 characters").into()
                );
            }
            if let Some(found) = self.store.idempotency(&user.id, key).await? {
                return self.replay_filing(user, &found.body_sha256, &body_sha, &found.case_id).await;
            }
        }
        let now = self.now();
        let applicant = parse_applicant(&req.applicant, china_date(now))?;
        let catalog = self.catalog();
        let plan = self.plans.compile(&catalog, &req.bundle, &req.answers)?;
        let id = new_id();
        let (case, event) =
            Case::file(id.clone(), &plan, applicant, plan.answers.clone(), req.form.clone(), user.id.clone(), now);
        let owner = user.has(Role::Applicant).then(|| user.id.clone());
        let row = case_row(&case, "", owner, now).map_err(CaseActionError::Internal)?;
        let prefix = format!("YJS{}", china_date(now).strftime("%Y%m%d"));
        let change = Changeset {
            case: Some(CaseWrite { row, expected_version: None, number_prefix: prefix }),
            idempotency: idempotency_key.map(|key| IdempotencyRow {
                scope: user.id.clone(),
                key: key.to_string(),
                body_sha256: body_sha.clone(),
                case_id: id.clone(),
                created_at: now,
            }),
            event: Some(Event::from(event).to_new(Some(&id), &user.id, now).map_err(CaseActionError::Internal)?),
            ..Changeset::default()
        };
        match self.store.commit(change).await {
            Ok(committed) => {
                let row = committed.case.ok_or_else(|| CaseActionError::Internal("commit returned no case".into()))?;
                Ok(Created { view: self.view_of(row, case).map_err(read_fault)?, created: true })
            }
            // Two requests with one key raced: the other one won; answer as a replay.
            Err(StoreError::Duplicate { .. }) if idempotency_key.is_some() => {
                let key = idempotency_key.unwrap_or_default();
                let found = self.store.idempotency(&user.id, key).await?.ok_or(CaseActionError::Conflict)?;
                self.replay_filing(user, &found.body_sha256, &body_sha, &found.case_id).await
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn replay_filing(
        &self,
        user: &User,
        stored: &str,
        given: &str,
        case_id: &str,
    ) -> Result<Created, CaseActionError> {
        if stored != given {
            return Err(CaseActionError::IdempotencyMismatch);
        }
        let loaded = self.load(user, case_id).await.map_err(read_fault)?;
        Ok(Created { view: self.view_of(loaded.bundle.case, loaded.case).map_err(read_fault)?, created: false })
    }

    /// Reads a case.
    pub async fn get_case(&self, user: &User, case_id: &str) -> Result<CaseView, ReadError> {
        let loaded = self.load(user, case_id).await?;
        self.view_of(loaded.bundle.case, loaded.case)
    }

    /// Reads a case by its number (办件编号) or its receipt's number (受理编号, `SL…`).
    pub async fn case_by_number(&self, user: &User, number: &str) -> Result<CaseView, ReadError> {
        let number = number.trim();
        let stored = match number.strip_prefix("SL") {
            Some(rest) => format!("YJS{rest}"),
            None => number.to_string(),
        };
        let row = self.store.case_by_number(&stored).await?.ok_or(ReadError::NotFound("case"))?;
        self.get_case(user, &row.id).await
    }

    /// Lists cases the user may see (applicants: their own; clerks, supervisors, admins: all).
    pub async fn list_cases(
        &self,
        user: &User,
        state: Option<String>,
        bundle: Option<String>,
    ) -> Result<Vec<CaseRow>, ReadError> {
        let mut filter = CaseFilter { state, bundle, limit: 500, ..CaseFilter::default() };
        if !user.reads_all() {
            if user.has(Role::Applicant) {
                filter.owner = Some(user.id.clone());
            } else {
                return Err(ReadError::Forbidden("officers work tasks, not cases: use /tasks"));
            }
        }
        filter.oldest_first = user.has(Role::Clerk);
        Ok(self.store.cases(&filter).await?)
    }

    /// The events of a case, in order, with their hashes.
    pub async fn case_events(&self, user: &User, case_id: &str) -> Result<Vec<onething_store::EventRow>, ReadError> {
        self.load(user, case_id).await?;
        Ok(self.store.case_events(case_id).await?)
    }

    /// Applies a core transition to a case and commits it with its event; retried on a concurrent change. The
    /// first attempt may start from a case already read (`first`), later ones read it again.
    async fn mutate<T>(
        &self,
        user: &User,
        case_id: &str,
        first: Option<Loaded>,
        mut decide: impl FnMut(&mut Case, &Loaded, Timestamp) -> Result<(Option<CaseEvent>, Extra, T), CaseActionError>,
    ) -> Result<(CaseView, T), CaseActionError> {
        let _serial = self.write_lock(case_id).lock().await;
        let mut first = first;
        for attempt in 0..crate::WRITE_ATTEMPTS {
            if attempt > 0 {
                // Another node changed the case: back off a little before reading it again.
                crate::back_off(attempt).await;
            }
            let loaded = match first.take() {
                Some(l) => l,
                None => self.load(user, case_id).await.map_err(read_fault)?,
            };
            let now = self.now();
            let mut case = loaded.case.clone();
            let (event, extra, out) = decide(&mut case, &loaded, now)?;
            let Some(event) = event else {
                // Nothing changed: nothing to commit.
                let view = self.view_of(loaded.bundle.case, case).map_err(read_fault)?;
                return Ok((view, out));
            };
            let stored = &loaded.bundle.case;
            let mut row =
                case_row(&case, &stored.number, stored.owner.clone(), now).map_err(CaseActionError::Internal)?;
            row.created_at = stored.created_at;
            let watches = self.watch_writes(&case, &loaded.bundle.watches, now)?;
            let change = Changeset {
                case: Some(CaseWrite { row, expected_version: Some(stored.version), number_prefix: String::new() }),
                tasks: changed_task_rows(&loaded.case, &case, now).map_err(CaseActionError::Internal)?,
                materials: extra.material.into_iter().collect(),
                blobs: extra.blob.into_iter().collect(),
                watches,
                event: Some(
                    Event::from(event).to_new(Some(case_id), &user.id, now).map_err(CaseActionError::Internal)?,
                ),
                ..Changeset::default()
            };
            match self.store.commit(change).await {
                Ok(committed) => {
                    let row =
                        committed.case.ok_or_else(|| CaseActionError::Internal("commit returned no case".into()))?;
                    return Ok((self.view_of(row, case).map_err(read_fault)?, out));
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(CaseActionError::Conflict)
    }

    fn owner_or_clerk(user: &User, row: &CaseRow) -> Result<(), CaseActionError> {
        if user.has(Role::Clerk) || row.owner.as_deref() == Some(user.id.as_str()) {
            Ok(())
        } else {
            Err(CaseActionError::Forbidden("only the applicant or a window clerk may change an application"))
        }
    }

    /// Changes the form and answers of a draft (or a case returned for correction); the event records only
    /// what changed, and a change that changes nothing commits nothing.
    pub async fn update_case(
        &self,
        user: &User,
        case_id: &str,
        answers: Option<BTreeMap<String, String>>,
        form: Option<BTreeMap<String, serde_json::Value>>,
    ) -> Result<CaseView, CaseActionError> {
        let catalog = self.catalog();
        let (view, ()) = self
            .mutate(user, case_id, None, |case, loaded, now| {
                Self::owner_or_clerk(user, &loaded.bundle.case)?;
                let answers = match &answers {
                    Some(a) => Some(self.plans.compile(&catalog, &case.bundle, a)?.answers.clone()),
                    None => None,
                };
                let event = case.update(answers, form.clone(), now)?;
                let empty = matches!(&event, CaseEvent::CaseUpdated { answers: None, set, removed }
                    if set.is_empty() && removed.is_empty());
                Ok(((!empty).then_some(event), Extra::default(), ()))
            })
            .await?;
        Ok(view)
    }

    /// Stores a material file of a case (draft or returned for correction): the file's bytes and the case's
    /// record of it commit together, so an acknowledged upload is durable and every node reads it; the state
    /// check is the case's, inside the versioned write, so a file never lands after the case was submitted.
    pub async fn upload_material(
        &self,
        user: &User,
        case_id: &str,
        material: &str,
        bytes: &[u8],
    ) -> Result<MaterialRow, CaseActionError> {
        let limit = self.config.max_upload_bytes;
        if bytes.len() > limit {
            return Err(CaseActionError::TooLarge { limit: limit as u64 });
        }
        let media = onething_core::media::sniff(bytes).ok_or(CaseActionError::UnsupportedMedia)?;
        let sha256 = onething_store::hex(&Sha256::digest(bytes));
        let size = bytes.len() as u64;
        let case_limit = self.config.max_case_bytes;
        let (view, ()) = self
            .mutate(user, case_id, None, |case, loaded, now| {
                Self::owner_or_clerk(user, &loaded.bundle.case)?;
                let plan = self.plan_of(case).map_err(read_fault)?;
                if !plan.materials.iter().any(|m| m.code == material) {
                    return Err(BadInput::new(
                        ErrorCode::UnknownMaterial,
                        "material_code",
                        format!("{material:?} is not a material this application asks for"),
                    )
                    .into());
                }
                let others: u64 =
                    case.materials.iter().filter(|(code, _)| *code != material).map(|(_, u)| u.size).sum();
                if others + size > case_limit {
                    return Err(CaseActionError::TooLarge { limit: case_limit });
                }
                let upload =
                    Upload { sha256: sha256.clone(), size, media_type: media.as_str().to_string(), uploaded_at: now };
                let event = case.upload(material, upload, now)?;
                let extra = Extra {
                    blob: Some(BlobRow {
                        sha256: sha256.clone(),
                        size: size as i64,
                        bytes: bytes.to_vec(),
                        created_at: now,
                    }),
                    material: Some(MaterialRow {
                        case_id: case_id.to_string(),
                        material: material.to_string(),
                        sha256: sha256.clone(),
                        size: size as i64,
                        media_type: media.as_str().to_string(),
                        uploaded_at: now,
                    }),
                };
                Ok((Some(event), extra, ()))
            })
            .await?;
        view.materials
            .into_iter()
            .find(|m| m.material == material)
            .ok_or_else(|| CaseActionError::Internal("the upload is not in the case".into()))
    }

    /// The bytes and media type of a case's material, for whoever may see the case.
    pub async fn material_file(
        &self,
        user: &User,
        case_id: &str,
        material: &str,
    ) -> Result<(MaterialRow, Vec<u8>), ReadError> {
        let loaded = self.load(user, case_id).await?;
        let m = material_rows(&loaded.case)
            .into_iter()
            .find(|m| m.material == material)
            .ok_or(ReadError::NotFound("material"))?;
        if user.has(Role::Officer) && !user.reads_all() && !self.officer_needs(user, &loaded.case, material)? {
            return Err(ReadError::NotFound("material"));
        }
        let bytes = self.store.blob(&m.sha256).await?.ok_or(ReadError::NotFound("file"))?;
        Ok((m, bytes))
    }

    /// Whether an officer works a task of this case whose item uses this material.
    fn officer_needs(&self, user: &User, case: &Case, material: &str) -> Result<bool, ReadError> {
        let Some(dept) = user.department.as_deref() else { return Ok(false) };
        let plan = self.plan_of(case)?;
        Ok(case.tasks.iter().any(|t| {
            t.department == dept
                && plan.materials.iter().any(|m| m.code == material && m.items.iter().any(|i| i == &t.item))
        }))
    }

    /// Submits (or resubmits after a correction): every required material uploaded, every field valid, every
    /// item of an open correction replaced.
    pub async fn submit(&self, user: &User, case_id: &str) -> Result<CaseView, CaseActionError> {
        let clock = self.clock();
        let (view, ()) = self
            .mutate(user, case_id, None, |case, loaded, now| {
                Self::owner_or_clerk(user, &loaded.bundle.case)?;
                let plan = self.plan_of(case).map_err(read_fault)?;
                let problems: Vec<FieldProblem> = form::validate_values(&plan.form, &case.form, china_date(now));
                let uploaded = case.materials.keys().cloned().collect();
                let missing = form::missing_materials(&plan, &uploaded);
                if !problems.is_empty() || !missing.is_empty() {
                    return Err(CaseActionError::Validation { problems, missing_materials: missing });
                }
                Ok((Some(case.submit(now, &clock)?), Extra::default(), ()))
            })
            .await?;
        Ok(view)
    }

    /// Accepts a submitted case (受理): tasks and deadlines are created, a receipt number is given.
    pub async fn accept(&self, user: &User, case_id: &str) -> Result<CaseView, CaseActionError> {
        if !user.has(Role::Clerk) {
            return Err(CaseActionError::Forbidden("only a window clerk accepts applications"));
        }
        let clock = self.clock();
        let (view, ()) = self
            .mutate(user, case_id, None, |case, loaded, now| {
                if self.config.separate_filing_and_acceptance && case.filed_by == user.id {
                    return Err(CaseActionError::Forbidden(
                        "the clerk who filed this case for the applicant may not also accept it: another clerk does",
                    ));
                }
                let plan = self.plan_of(case).map_err(read_fault)?;
                let ids: Vec<String> = plan.tasks.iter().map(|_| new_id()).collect();
                let receipt = format!("SL{}", loaded.bundle.case.number.trim_start_matches("YJS"));
                Ok((Some(case.accept(now, &clock, &plan, &ids, receipt)?), Extra::default(), ()))
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
    ) -> Result<CaseView, CaseActionError> {
        if !user.has(Role::Clerk) {
            return Err(CaseActionError::Forbidden("only a window clerk returns applications for correction"));
        }
        let reasons = reasons(input)?;
        let (view, ()) = self
            .mutate(user, case_id, None, |case, _, now| {
                self.check_reason_targets(case, &reasons)?;
                Ok((Some(case.return_for_correction(now, reasons.clone())?), Extra::default(), ()))
            })
            .await?;
        Ok(view)
    }

    /// A correction names only materials and fields the application has.
    fn check_reason_targets(&self, case: &Case, reasons: &[Reason]) -> Result<(), CaseActionError> {
        let plan = self.plan_of(case).map_err(read_fault)?;
        for (i, r) in reasons.iter().enumerate() {
            if let Some(m) = &r.material
                && !plan.materials.iter().any(|p| &p.code == m)
            {
                return Err(BadInput::new(
                    ErrorCode::UnknownMaterial,
                    format!("reasons[{i}].material"),
                    format!("{m:?} is not a material of this application"),
                )
                .into());
            }
            if let Some(f) = &r.field
                && !plan.form.iter().any(|p| &p.code == f)
            {
                return Err(BadInput::new(
                    ErrorCode::UnknownField,
                    format!("reasons[{i}].field"),
                    format!("{f:?} is not a field of this application"),
                )
                .into());
            }
        }
        Ok(())
    }

    /// Withdraws a case (撤回), by its applicant or a clerk.
    pub async fn withdraw(&self, user: &User, case_id: &str) -> Result<CaseView, CaseActionError> {
        let (view, ()) = self
            .mutate(user, case_id, None, |case, loaded, now| {
                Self::owner_or_clerk(user, &loaded.bundle.case)?;
                Ok((Some(case.withdraw(now)?), Extra::default(), ()))
            })
            .await?;
        Ok(view)
    }

    // ----------------------------------------------------------------------------------------------------
    // Tasks (部门审批环节).

    fn officer_department(user: &User) -> Option<&str> {
        user.department.as_deref().filter(|_| user.has(Role::Officer))
    }

    /// The tasks of the officer's department (or, for supervisors, of any department), most urgent first: one
    /// query for the tasks, one for their cases.
    pub async fn list_tasks(&self, user: &User, state: Option<String>) -> Result<Vec<TaskView>, ReadError> {
        let department = if user.has(Role::Supervisor) || user.has(Role::Admin) {
            None
        } else {
            Some(
                Self::officer_department(user)
                    .ok_or(ReadError::Forbidden("only a department officer works tasks"))?
                    .to_string(),
            )
        };
        let states = state.into_iter().collect();
        let rows = self.store.tasks(&TaskFilter { department, states, case_id: None, limit: 500 }).await?;
        let mut ids: Vec<String> = rows.iter().map(|r| r.case_id.clone()).collect();
        ids.sort();
        ids.dedup();
        let mut cases: HashMap<String, (CaseRow, Case)> = HashMap::new();
        for row in self.store.cases_by_ids(&ids).await? {
            let case = parse_case(&row).map_err(ReadError::Internal)?;
            self.ensure_catalog(&case.catalog_version).await?;
            cases.insert(row.id.clone(), (row, case));
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            if let Some((row, case)) = cases.get(&r.case_id) {
                out.push(self.task_view(r, row, case)?);
            }
        }
        Ok(out)
    }

    /// One task, if it is of the officer's department (or the reader is a supervisor or administrator).
    pub async fn get_task(&self, user: &User, task_id: &str) -> Result<TaskView, ReadError> {
        let (task_row, bundle) = self.store.task_bundle(task_id).await?.ok_or(ReadError::NotFound("task"))?;
        let visible = user.has(Role::Supervisor)
            || user.has(Role::Admin)
            || Self::officer_department(user) == Some(task_row.department.as_str());
        if !visible {
            return Err(ReadError::NotFound("task"));
        }
        let case = parse_case(&bundle.case).map_err(ReadError::Internal)?;
        self.ensure_catalog(&case.catalog_version).await?;
        self.task_view(task_row, &bundle.case, &case)
    }

    fn task_view(&self, task_row: TaskRow, row: &CaseRow, case: &Case) -> Result<TaskView, ReadError> {
        let catalog = self.catalog_of(&case.catalog_version).map_err(ReadError::Internal)?;
        let plan = self.plans.compile(&catalog, &case.bundle, &case.answers)?;
        let task = case.task(&task_row.id).cloned().ok_or(ReadError::NotFound("task"))?;
        let uploads = material_rows(case);
        let fields = plan
            .form
            .iter()
            .filter(|f| f.items.contains(&task.item))
            .map(|f| TaskViewField { field: f.clone(), value: case.form.get(&f.code).cloned() })
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
        let colour = task.colour(&case.pauses, &self.clock(), self.now(), &self.config.thresholds);
        let item_name = plan.tasks.iter().find(|t| t.item == task.item).map_or_else(String::new, |t| t.name.clone());
        Ok(TaskView {
            task,
            item_name,
            task_row,
            case_id: row.id.clone(),
            case_number: row.number.clone(),
            case_state: row.state.clone(),
            bundle: row.bundle.clone(),
            applicant: case.applicant.clone(),
            colour,
            fields,
            materials,
            licence,
            result_fields,
        })
    }

    /// The task an officer may work, read with its case in one call.
    async fn officer_task(&self, user: &User, task_id: &str) -> Result<(String, Loaded), CaseActionError> {
        let dept = Self::officer_department(user)
            .ok_or(CaseActionError::Forbidden("only a department officer works tasks"))?;
        let (task, bundle) = self.store.task_bundle(task_id).await?.ok_or(CaseActionError::NotFound("task"))?;
        if task.department != dept {
            return Err(CaseActionError::NotFound("task"));
        }
        let loaded = self.loaded(user, bundle).await.map_err(read_fault)?;
        Ok((task.case_id, loaded))
    }

    /// The task's view after a mutation, from the case in hand.
    fn task_view_after(&self, view: &CaseView, task_id: &str) -> Result<TaskView, CaseActionError> {
        let task = view.case.task(task_id).ok_or(CaseActionError::NotFound("task"))?;
        let row = TaskRow {
            id: task.id.clone(),
            case_id: view.case.id.clone(),
            item: task.item.clone(),
            department: task.department.clone(),
            state: task.state.as_str().to_string(),
            due_at: task.due_at,
            updated_at: view.row.updated_at,
            doc: serde_json::to_string(task).map_err(|e| CaseActionError::Internal(json_fault(e)))?,
        };
        self.task_view(row, &view.row, &view.case).map_err(read_fault)
    }

    /// Approves a task with its result (办理结果); the case concludes when every task is decided.
    pub async fn approve(&self, user: &User, task_id: &str, req: ApproveRequest) -> Result<TaskView, CaseActionError> {
        let (case_id, loaded) = self.officer_task(user, task_id).await?;
        let catalog = self.catalog_of(&loaded.case.catalog_version).map_err(CaseActionError::Internal)?;
        let task = loaded.case.task(task_id).cloned().ok_or(CaseActionError::NotFound("task"))?;
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
            return Err(CaseActionError::Validation { problems, missing_materials: Vec::new() });
        }
        let clock = self.clock();
        let (view, ()) = self
            .mutate(user, &case_id, Some(loaded), |case, loaded, now| {
                let index = case.tasks.iter().filter(|t| t.result.is_some()).count() + 1;
                let number =
                    req.number.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| {
                        format!("{}-{index:02}", loaded.bundle.case.number.trim_start_matches("YJS"))
                    });
                let result = TaskResult {
                    licence: task.licence.clone().unwrap_or_default(),
                    number,
                    holder: case.applicant.name.clone(),
                    valid_from: china_date(now),
                    valid_to,
                    fields: req.result.clone(),
                    issued_at: now,
                };
                Ok((Some(case.approve(task_id, now, &clock, result)?), Extra::default(), ()))
            })
            .await?;
        self.task_view_after(&view, task_id)
    }

    /// Rejects a task with a reason (不予许可).
    pub async fn reject(&self, user: &User, task_id: &str, reason: String) -> Result<TaskView, CaseActionError> {
        if reason.trim().is_empty() {
            return Err(BadInput::new(ErrorCode::EmptyReasons, "reason", "give the reason for the rejection").into());
        }
        let (case_id, loaded) = self.officer_task(user, task_id).await?;
        let (view, ()) = self
            .mutate(user, &case_id, Some(loaded), |case, _, now| {
                Ok((Some(case.reject(task_id, now, reason.clone())?), Extra::default(), ()))
            })
            .await?;
        self.task_view_after(&view, task_id)
    }

    /// A department asks for a correction during its task: the case's clocks stop until resubmission.
    pub async fn return_task(
        &self,
        user: &User,
        task_id: &str,
        input: Vec<ReasonInput>,
    ) -> Result<TaskView, CaseActionError> {
        let reasons = reasons(input)?;
        let (case_id, loaded) = self.officer_task(user, task_id).await?;
        let (view, ()) = self
            .mutate(user, &case_id, Some(loaded), |case, _, now| {
                self.check_reason_targets(case, &reasons)?;
                Ok((Some(case.return_by_task(task_id, now, reasons.clone())?), Extra::default(), ()))
            })
            .await?;
        self.task_view_after(&view, task_id)
    }

    /// Whether a task is in a state an officer acts on.
    pub fn is_open(state: TaskState) -> bool {
        matches!(state, TaskState::Ready | TaskState::Waiting | TaskState::Returned)
    }
}

/// What a mutation writes beside the case: an uploaded file and its material row.
#[derive(Default)]
struct Extra {
    blob: Option<BlobRow>,
    material: Option<MaterialRow>,
}

/// A read failure inside a mutation.
fn read_fault(e: ReadError) -> CaseActionError {
    match e {
        ReadError::NotFound(what) => CaseActionError::NotFound(what),
        ReadError::Forbidden(why) => CaseActionError::Forbidden(why),
        ReadError::BadInput(b) => CaseActionError::BadInput(b),
        ReadError::Plan(p) => CaseActionError::Plan(p),
        ReadError::Store(s) => CaseActionError::Store(s),
        ReadError::Internal(m) => CaseActionError::Internal(m),
    }
}

/// Parses the applicant: a company needs a valid credit code, a person a valid ID number.
fn parse_applicant(input: &ApplicantInput, today: jiff::civil::Date) -> Result<Applicant, BadInput> {
    if input.name.trim().is_empty() {
        return Err(BadInput::new(ErrorCode::Required, "applicant.name", "the applicant's name is required"));
    }
    if input.name.chars().count() > 200 {
        return Err(BadInput::new(ErrorCode::TooLong, "applicant.name", "the name is longer than 200 characters"));
    }
    match input.kind.as_str() {
        "company" => {
            let code = input.credit_code.as_deref().unwrap_or("");
            let cc = CreditCode::parse(code)
                .map_err(|e| BadInput::new(ErrorCode::BadCreditCode, "applicant.credit_code", e.to_string()))?;
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
                .map_err(|e| BadInput::new(ErrorCode::BadIdNumber, "applicant.id_number", e.to_string()))?;
            Ok(Applicant {
                kind: ApplicantKind::Person,
                name: input.name.trim().to_string(),
                credit_code: None,
                id_number: Some(n.as_str().to_string()),
            })
        }
        other => Err(BadInput::new(
            ErrorCode::BadEnum,
            "applicant.kind",
            format!("{other:?} is not an applicant kind: use company or person"),
        )),
    }
}

impl Service {
    /// Takes a material file an earlier version kept on disk into the store, if its bytes hash to its name:
    /// content, not state (the material rows naming it are already stored), so no event. True when taken.
    pub async fn adopt_file(&self, sha256: &str, bytes: Vec<u8>) -> Result<bool, ReadError> {
        if onething_store::hex(&Sha256::digest(&bytes)) != sha256 {
            return Ok(false);
        }
        let blob = BlobRow { sha256: sha256.to_string(), size: bytes.len() as i64, bytes, created_at: self.now() };
        self.store.commit(Changeset { blobs: vec![blob], ..Changeset::default() }).await?;
        Ok(true)
    }
}
