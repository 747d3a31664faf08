//! onething-web: the HTTP face of onething (axum). It owns every HTTP shape: routes, status codes, the JSON
//! bodies and the error body `{"code", "message", "details"}` with its stable code list, bearer-token
//! authentication, the OpenAPI description, `/healthz` and `/metrics`. It holds no domain rules and opens no
//! transaction: handlers parse the request, call one use case of the service and map the outcome.

mod api;
mod error;
mod json;
mod metrics;
#[cfg(test)]
mod openapi_tests;
mod pages;
mod supervision_api;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use onething_service::Service;

pub use error::{ApiError, error_codes, status};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    pub metrics: Arc<metrics::Metrics>,
}

impl AppState {
    pub fn new(service: Arc<Service>) -> Self {
        Self { service, metrics: Arc::new(metrics::Metrics::default()) }
    }
}

/// The router of the whole service.
pub fn router(state: AppState) -> Router {
    // Uploads may be as large as the configured limit; everything else is small JSON.
    let upload_limit = state.service.config().max_upload_bytes + 1;
    let api = Router::new()
        .route("/sessions", post(api::create_session))
        .route("/track", get(api::track))
        .route("/bundles", get(api::list_bundles))
        .route("/bundles/{code}", get(api::get_bundle))
        .route("/bundles/{code}/plan", post(api::plan_bundle))
        .route("/cases", post(api::create_case).get(api::list_cases))
        .route("/cases/{id}", get(api::get_case).patch(api::update_case))
        .route(
            "/cases/{id}/materials/{material}",
            put(api::upload_material).get(api::download_material).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/cases/{id}/submit", post(api::submit_case))
        .route("/cases/{id}/accept", post(api::accept_case))
        .route("/cases/{id}/return", post(api::return_case))
        .route("/cases/{id}/withdraw", post(api::withdraw_case))
        .route("/cases/{id}/events", get(api::case_events))
        .route("/tasks", get(api::list_tasks))
        .route("/tasks/{id}", get(api::get_task))
        .route("/tasks/{id}/approve", post(api::approve_task))
        .route("/tasks/{id}/reject", post(api::reject_task))
        .route("/tasks/{id}/return", post(api::return_task))
        .route("/openapi.json", get(api::openapi))
        .route("/supervision/overview", get(supervision_api::overview))
        .route("/escalations", get(supervision_api::list_escalations).post(supervision_api::open_escalation))
        .route("/escalations/{id}/notes", post(supervision_api::escalation_note))
        .route("/escalations/{id}/close", post(supervision_api::close_escalation))
        .route("/interviews", get(supervision_api::list_interviews))
        .route("/interviews/{id}/notes", post(supervision_api::interview_note))
        .route("/interviews/{id}/close", post(supervision_api::close_interview))
        .route("/notices", get(supervision_api::notices))
        .route("/notices/{id}/read", post(supervision_api::read_notice))
        .route("/cases/{id}/rating", post(supervision_api::rate_case))
        .route("/reviews", get(supervision_api::list_reviews))
        .route("/reviews/{id}/answer", post(supervision_api::answer_review))
        .route("/assessment", get(supervision_api::assessment))
        .route("/projects", get(supervision_api::list_projects))
        .route("/projects/import", post(supervision_api::import_projects))
        .route("/projects/{id}/milestones/{code}/complete", post(supervision_api::complete_milestone));
    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(metrics::render))
        .nest("/api/v1", api)
        .merge(pages::routes(&state))
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), pages::html_errors))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .with_state(state)
}

/// Serves the router on a bound listener until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
