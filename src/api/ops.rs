//! Health, readiness, metrics, the console's files and the answer for unknown paths.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::AppState;
use super::auth::Caller;
use super::error::{ApiError, ErrorBody};

/// Alive.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready once serving: the models were loaded before the port opened; the database must answer.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200), (status = 503)))]
pub async fn readyz(State(app): State<AppState>) -> Response {
    match app.store.ping().await {
        Ok(()) => (StatusCode::OK, axum::Json(json!({ "status": "ready", "database": app.store.backend() }))).into_response(),
        Err(error) => {
            tracing::warn!(%error, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({ "status": "database unreachable" }))).into_response()
        }
    }
}

/// Prometheus metrics (any credential).
#[utoipa::path(get, path = "/metrics", tag = "operations", security(("bearer" = [])),
    responses((status = 200, content_type = "application/openmetrics-text"), (status = 401, body = ErrorBody)))]
pub async fn metrics(State(app): State<AppState>, _caller: Caller) -> Result<Response, ApiError> {
    app.metrics.set_scan_counts(&app.store.counts_by_state().await?);
    if let Some(free) = app.images.free_bytes().await {
        app.metrics.set_image_store_free(free);
    }
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    Ok(([(header::CONTENT_TYPE, content_type)], app.metrics.render()).into_response())
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see /api/openapi.json")
}

/// The console loads nothing from elsewhere and is never framed.
const CONSOLE_POLICY: &str =
    "default-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The console's page and assets, built into the binary.
pub fn console_routes() -> Router<AppState> {
    Router::new().route("/", get(|| asset(String::new()))).route("/assets/{*path}", get(|Path(path): Path<String>| asset(format!("/assets/{path}"))))
}

async fn asset(path: String) -> Response {
    match crate::web::asset(if path.is_empty() { "/" } else { &path }) {
        Some((content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type),
                // A new binary's console must be picked up at once.
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::CONTENT_SECURITY_POLICY, CONSOLE_POLICY),
            ],
            bytes,
        )
            .into_response(),
        None => not_found().await.into_response(),
    }
}
