//! The public progress lookup (办件进度查询): a form for the receipt number and the last 4 characters of the
//! applicant's code, and the case's progress department by department. No account needed; a wrong second
//! factor reads as "not found".

use askama::Template;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::response::Response;
use onething_service::{ErrorCode, ReadError};
use serde::Deserialize;

use super::view;
use super::{Ctx, Session, html, html_status};

#[derive(Deserialize, Default)]
pub struct TrackQuery {
    #[serde(default)]
    number: String,
    #[serde(default)]
    check: String,
}

pub struct TrackStepVm {
    pub department: String,
    pub item: String,
    pub state: String,
    pub state_word: String,
    pub when: String,
}

pub struct TrackVm {
    pub number: String,
    pub receipt: String,
    pub bundle: String,
    pub state: String,
    pub state_word: String,
    pub outcome: String,
    pub accepted: String,
    pub due: String,
    pub concluded: String,
    pub promised: String,
    pub paused: bool,
    pub steps: Vec<TrackStepVm>,
}

#[derive(Template)]
#[template(path = "track.html")]
struct TrackPage {
    c: Ctx,
    number: String,
    check: String,
    error: String,
    found: Option<TrackVm>,
}

pub async fn track_page(s: Session, q: Result<Query<TrackQuery>, QueryRejection>) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let t = s.t();
    let mut page =
        TrackPage { c: s.ctx(), number: q.number.clone(), check: q.check.clone(), error: String::new(), found: None };
    if q.number.trim().is_empty() && q.check.trim().is_empty() {
        return s.finish(Ok(html(&page)));
    }
    let status = match s.st.service.track(&q.number, &q.check).await {
        Ok(k) => {
            page.found = Some(TrackVm {
                number: k.number,
                receipt: k.receipt_number.unwrap_or_default(),
                bundle: k.bundle,
                state_word: t.key("state", &k.state),
                state: k.state,
                outcome: k.outcome.map(|o| t.key("outcome", &o)).unwrap_or_default(),
                accepted: view::opt_ts(k.accepted_at),
                due: view::opt_ts(k.due_at),
                concluded: view::opt_ts(k.concluded_at),
                promised: t.limit(k.promised_limit),
                paused: k.paused,
                steps: k
                    .steps
                    .into_iter()
                    .map(|x| TrackStepVm {
                        department: x.department,
                        item: x.item,
                        state_word: t.key("task_state", &x.state),
                        when: match (x.decided_at, x.due_at) {
                            (Some(d), _) => t.f1("track.decided", view::ts(d)),
                            (None, Some(d)) => t.f1("track.due", view::ts(d)),
                            (None, None) => String::new(),
                        },
                        state: x.state,
                    })
                    .collect(),
            });
            StatusCode::OK
        }
        Err(ReadError::NotFound(_)) => {
            page.error = t.s("track.not_found").to_string();
            StatusCode::NOT_FOUND
        }
        Err(ReadError::BadInput(b)) => {
            page.error = t.key("error", b.code.describe().0);
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(e) => {
            tracing::error!(error = %e, "the public lookup");
            page.error = t.key("error", ErrorCode::Internal.describe().0);
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    s.finish(Ok(html_status(&page, status)))
}
