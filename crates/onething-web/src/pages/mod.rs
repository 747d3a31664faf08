//! The web pages: server-rendered HTML (askama) for every role — the applicant portal, the window clerk's
//! workbench, the department officer's queue and the supervisor's overview — with cookie sessions, CSRF
//! tokens on every form, Chinese first and English a click away. htmx (vendored, served from the binary)
//! only enhances: every form works without JavaScript (POST, then redirect to a GET).
//!
//! Handlers follow the API's rule: parse the request, call one use case of the service, shape the answer.
//! Errors become a page in the reader's language (never JSON, never a trace); a form's validation errors are
//! shown next to its fields.

mod applicant;
mod assets;
mod desk;
pub(crate) mod i18n;
mod oversee;
mod session;
mod track;
mod view;

#[cfg(test)]
mod desk_tests;
#[cfg(test)]
mod supervision_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

use askama::Template;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use session::html_errors;
pub(crate) use session::{Posted, Session};

use crate::AppState;
use i18n::{Lang, Tr};

/// The page routes, merged beside the API's.
pub fn routes(state: &AppState) -> Router<AppState> {
    // A multipart upload carries the file and a few small fields.
    let upload_limit = state.service.config().max_upload_bytes + 64 * 1024;
    Router::new()
        .route("/", get(applicant::portal))
        .route("/assets/{name}", get(assets::serve))
        .route("/login", get(session::login_page).post(session::login))
        .route("/track", get(track::track_page))
        .route("/logout", post(session::logout))
        .route("/lang/{code}", get(session::switch_lang))
        .route("/bundles/{code}", get(applicant::bundle_page).post(applicant::start))
        .route("/cases", get(applicant::my_cases))
        .route("/cases/{id}", get(applicant::case_page))
        .route("/cases/{id}/form", get(applicant::form_page).post(applicant::save_form))
        .route("/cases/{id}/materials", get(applicant::materials_page))
        .route("/cases/{id}/materials/{code}", post(applicant::upload).layer(DefaultBodyLimit::max(upload_limit)))
        .route("/cases/{id}/materials/{code}/file", get(applicant::material_file))
        .route("/cases/{id}/review", get(applicant::review_page))
        .route("/cases/{id}/submit", post(applicant::submit))
        .route("/cases/{id}/withdraw", post(applicant::withdraw))
        .route("/cases/{id}/accept", post(desk::accept))
        .route("/cases/{id}/return", post(desk::return_case))
        .route("/cases/{id}/receipt", get(desk::receipt))
        .route("/clerk", get(desk::clerk_queue))
        .route("/officer", get(desk::officer_queue))
        .route("/officer/tasks/{id}", get(desk::task_page))
        .route("/officer/tasks/{id}/approve", post(desk::approve))
        .route("/officer/tasks/{id}/reject", post(desk::reject))
        .route("/officer/tasks/{id}/return", post(desk::return_task))
        .route("/supervisor", get(desk::supervisor))
        .route("/supervisor/escalations", get(oversee::escalations).post(oversee::open_escalation))
        .route("/supervisor/{kind}/{id}/note", post(oversee::add_note))
        .route("/supervisor/{kind}/{id}/close", post(oversee::close_record))
        .route("/supervisor/assessment", get(oversee::assessment))
        .route("/supervisor/assessment.csv", get(oversee::assessment_csv))
        .route(
            "/supervisor/projects",
            get(oversee::projects).post(oversee::import_projects).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/supervisor/projects/{id}/milestones/{code}/complete", post(oversee::complete_milestone))
        .route("/inbox", get(oversee::inbox))
        .route("/inbox/{id}/read", post(oversee::mark_read))
        .route("/cases/{id}/rate", post(oversee::rate_case))
        .route("/officer/reviews", get(oversee::reviews))
        .route("/officer/reviews/{id}/answer", post(oversee::answer_review))
}

/// A link of the navigation bar.
pub struct Nav {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// What every page template needs: messages, the signed-in user, the CSRF token, the navigation.
pub struct Ctx {
    pub t: Tr,
    pub lang: &'static str,
    pub switch_href: String,
    pub switch_label: &'static str,
    /// The signed-in user's name, empty when signed out.
    pub user: String,
    pub role: String,
    pub nav: Vec<Nav>,
    pub csrf: String,
    pub version: &'static str,
    /// Unread notices, shown as a badge on the inbox link.
    pub unread: i64,
}

impl Ctx {
    /// The context of a page for a reader (signed in or not) at `path`.
    pub fn new(lang: Lang, user: Option<&onething_service::User>, csrf: &str, path: &str, department: &str) -> Ctx {
        let t = Tr::new(lang);
        let next = view::url_encode(path);
        let mut nav = Vec::new();
        let mut push = |href: &'static str, key: &'static str| {
            let current = match href {
                "/" => path == "/" || path.starts_with("/bundles"),
                // The overview and the officer's queue have sub-pages of their own in the navigation.
                "/supervisor" => path == "/supervisor",
                "/officer" => path == "/officer" || path.starts_with("/officer/tasks"),
                _ => path.starts_with(href),
            };
            nav.push(Nav { href, label: t.s(key), current });
        };
        let mut role = String::new();
        match user {
            None => {
                push("/", "nav.portal");
                push("/track", "nav.track");
            }
            Some(u) => {
                use onething_service::Role;
                if u.has(Role::Applicant) {
                    push("/", "nav.portal");
                    push("/cases", "nav.my_cases");
                }
                if u.has(Role::Clerk) {
                    push("/clerk", "nav.clerk");
                    push("/", "nav.assisted");
                }
                if u.has(Role::Officer) {
                    push("/officer", "nav.officer");
                    push("/officer/reviews", "nav.reviews");
                }
                if u.has(Role::Supervisor) || u.has(Role::Admin) {
                    push("/supervisor", "nav.supervisor");
                    push("/supervisor/escalations", "nav.escalations");
                    push("/supervisor/assessment", "nav.assessment");
                }
                if u.has(Role::Supervisor) || u.has(Role::Admin) || u.has(Role::Officer) {
                    push("/supervisor/projects", "nav.projects");
                }
                push("/inbox", "nav.inbox");
                role = u.roles.iter().map(|r| t.key("role", r.as_str())).collect::<Vec<_>>().join(" / ");
                if !department.is_empty() {
                    role = format!("{role} · {department}");
                }
            }
        }
        Ctx {
            t,
            lang: lang.code(),
            switch_href: format!("/lang/{}?next={next}", lang.other().code()),
            switch_label: t.s("nav.switch"),
            user: user.map(|u| u.username.clone()).unwrap_or_default(),
            role,
            nav,
            csrf: csrf.to_string(),
            version: env!("CARGO_PKG_VERSION"),
            unread: 0,
        }
    }
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in (or the session ended): go to the sign-in page.
    SignIn,
    /// A use case failed: its answer as the API gives it.
    Service(crate::ApiError),
    /// A status with an error code (or `csrf`).
    Code(StatusCode, &'static str),
}

macro_rules! page_error_from {
    ($($t:ty),*) => {
        $(impl From<$t> for PageError {
            fn from(e: $t) -> Self {
                PageError::Service(crate::error::failure(&e))
            }
        })*
    };
}

page_error_from!(
    onething_service::AuthError,
    onething_service::CaseActionError,
    onething_service::ReadError,
    onething_service::OversightError,
    onething_service::AssessmentError,
    onething_service::AccountError,
    onething_service::BadInput
);

impl From<onething_core::plan::PlanError> for PageError {
    fn from(e: onething_core::plan::PlanError) -> Self {
        PageError::Service(e.into())
    }
}

pub type PageResult = Result<Response, PageError>;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    c: Ctx,
    status: u16,
    code: String,
    message: String,
}

/// The page of an error code, in the reader's language.
pub fn error_page(c: Ctx, status: StatusCode, code: &str) -> Response {
    let message = c.t.key("error", code);
    let page = ErrorPage { status: status.as_u16(), code: code.to_string(), message, c };
    let mut resp = html(&page);
    *resp.status_mut() = status;
    resp
}

/// Renders a template as a 200 HTML page (a rendering failure is a 500 page without details).
pub fn html<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(body) => {
            let mut resp = body.into_response();
            resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, "rendering a page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                "<!doctype html><meta charset=utf-8><title>500</title><p>服务器内部错误 / Internal error</p>",
            )
                .into_response()
        }
    }
}

/// Renders with a status (e.g. 422 for a form shown again with its errors).
pub fn html_status<T: Template>(t: &T, status: StatusCode) -> Response {
    let mut resp = html(t);
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    resp
}

/// A 303 redirect (POST → GET).
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}
