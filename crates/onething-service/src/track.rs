//! The public progress lookup (办件进度查询): anyone holding a receipt follows the case without an account, by
//! its receipt number (受理编号) or case number (办件编号) and a second factor — the last 4 characters of the
//! applicant's unified social credit code or resident ID number. A wrong second factor reads exactly as an
//! unknown number, so the lookup tells nothing to someone guessing.
//!
//! What it shows is what the receipt already says, and how far each department has got: no names of
//! officers, no form values, no materials.

use jiff::Timestamp;
use onething_core::case::{CaseState, TaskState};
use onething_core::duration::WorkingDuration;
use serde::Serialize;

use crate::Service;
use crate::cases::parse_case;
use crate::errors::{BadInput, ErrorCode, ReadError};

/// One department's part of the case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackStep {
    pub department: String,
    pub item: String,
    /// `waiting`, `ready`, `approved`, `rejected`, `returned`, … (the task's state).
    pub state: String,
    pub ready_at: Option<Timestamp>,
    pub due_at: Option<Timestamp>,
    pub decided_at: Option<Timestamp>,
}

/// A case as the public lookup shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tracked {
    pub number: String,
    pub receipt_number: Option<String>,
    pub bundle: String,
    pub state: String,
    /// `approved`, `rejected` once concluded.
    pub outcome: Option<String>,
    pub submitted_at: Option<Timestamp>,
    pub accepted_at: Option<Timestamp>,
    pub due_at: Option<Timestamp>,
    pub concluded_at: Option<Timestamp>,
    pub promised_limit: WorkingDuration,
    /// Waiting for the applicant's correction (补正中): the clocks are paused.
    pub paused: bool,
    pub steps: Vec<TrackStep>,
}

/// The second factor: the last 4 characters of a code, compared without case.
fn last4(code: &str) -> String {
    let chars: Vec<char> = code.trim().chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect::<String>().to_uppercase()
}

impl Service {
    /// Looks a case up by its receipt or case number and the last 4 characters of its applicant's code.
    pub async fn track(&self, number: &str, check: &str) -> Result<Tracked, ReadError> {
        let number = number.trim().to_uppercase();
        let check = check.trim().to_uppercase();
        if number.is_empty() || number.len() > 40 {
            return Err(BadInput::new(ErrorCode::Required, "number", "the receipt or case number").into());
        }
        if check.chars().count() != 4 || !check.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(BadInput::new(
                ErrorCode::Required,
                "check",
                "the last 4 characters of the credit code or ID number",
            )
            .into());
        }
        let case_number = match number.strip_prefix("SL") {
            Some(rest) => format!("YJS{rest}"),
            None => number.clone(),
        };
        let row = self.store.case_by_number(&case_number).await?.ok_or(ReadError::NotFound("case"))?;
        let case = parse_case(&row).map_err(ReadError::Internal)?;
        let code = case.applicant.credit_code.as_deref().or(case.applicant.id_number.as_deref()).unwrap_or("");
        // A draft is not the public's business; a wrong factor is an unknown number.
        if case.state == CaseState::Draft || code.chars().count() < 4 || last4(code) != check {
            return Err(ReadError::NotFound("case"));
        }
        let catalog = self.catalog();
        let name = |item: &str| catalog.items.get(item).map_or_else(|| item.to_string(), |i| i.name.clone());
        let department = |d: &str| catalog.departments.get(d).map_or_else(|| d.to_string(), |x| x.name.clone());
        let steps = case
            .tasks
            .iter()
            .map(|t| TrackStep {
                department: department(&t.department),
                item: name(&t.item),
                state: t.state.as_str().to_string(),
                ready_at: t.ready_at,
                due_at: (t.state == TaskState::Ready).then_some(t.due_at).flatten(),
                decided_at: t.decided_at,
            })
            .collect();
        Ok(Tracked {
            number: row.number.clone(),
            receipt_number: case.receipt_number.clone(),
            bundle: catalog.bundle(&case.bundle).map_or_else(|| case.bundle.clone(), |b| b.name.clone()),
            state: case.state.as_str().to_string(),
            outcome: case.outcome.map(|o| o.as_str().to_string()),
            submitted_at: case.submitted_at,
            accepted_at: case.accepted_at,
            due_at: case.due_at,
            concluded_at: case.concluded_at,
            promised_limit: case.promised_limit,
            paused: case.is_paused(),
            steps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::last4;

    #[test]
    fn the_second_factor_is_the_last_four_characters_without_case() {
        assert_eq!(last4("91330100799655058b"), "058B");
        assert_eq!(last4(" 11010519491231002X "), "002X");
        assert_eq!(last4("ab"), "AB");
    }
}
