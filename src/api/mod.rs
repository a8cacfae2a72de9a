//! The HTTP service: thin axum handlers over intake, queue and review. Handlers parse, check
//! who is calling, call one domain function and shape the answer; nothing else lives here.

mod auth;
mod error;
mod ops;
mod queue;
mod rate_limit;
mod scans;
mod session;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use auth::SESSION_COOKIE;
pub use error::ApiError;
pub use rate_limit::RateLimit;

use crate::accounts::Accounts;
use crate::ingest::images::ImageStore;
use crate::ingest::intake::Intake;
use crate::metrics::Metrics;
use crate::queue::Store;
use crate::queue::worker::ScanSettled;

#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest request body; uploads are the large ones.
    pub body_limit_bytes: usize,
    /// Longest `?wait=` an upload may ask for.
    pub max_wait: Duration,
    /// How long an officer's claim lasts unless the request says otherwise.
    pub claim_lease: Duration,
    pub upload_rate: RateLimit,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            body_limit_bytes: 64 * 1024 * 1024,
            max_wait: Duration::from_secs(30),
            claim_lease: Duration::from_secs(15 * 60),
            upload_rate: RateLimit { per_minute: 600, burst: 60 },
        }
    }
}

/// Everything handlers share.
pub struct Services {
    pub store: Store,
    pub images: Arc<dyn ImageStore>,
    pub intake: Intake,
    pub accounts: Accounts,
    pub metrics: Arc<Metrics>,
    /// Scans that settled or changed: waiting uploads and the console's live queue listen.
    pub events: broadcast::Sender<ScanSettled>,
    pub config: ApiConfig,
}

#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

pub struct AppInner {
    services: Services,
    uploads: rate_limit::StationLimiter,
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0.services
    }
}

impl AppState {
    pub fn new(services: Services) -> Self {
        let uploads = rate_limit::StationLimiter::new(services.config.upload_rate);
        Self(Arc::new(AppInner { services, uploads }))
    }

    fn upload_limiter(&self) -> &rate_limit::StationLimiter {
        &self.0.uploads
    }
}

/// Every route of the service.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.body_limit_bytes;
    let api = Router::new()
        .route("/api/v1/session", post(session::sign_in).get(session::current).delete(session::sign_out))
        .route("/api/v1/scans", post(scans::upload).layer(DefaultBodyLimit::max(body_limit)))
        .route("/api/v1/scans/{id}", get(scans::show))
        .route("/api/v1/scans/{id}/image.png", get(scans::image))
        .route("/api/v1/scans/{id}/heatmap.png", get(scans::heatmap))
        .route("/api/v1/scans/{id}/audit", get(queue::audit))
        .route("/api/v1/scans/{id}/claim", post(queue::claim))
        .route("/api/v1/scans/{id}/release", post(queue::release))
        .route("/api/v1/scans/{id}/assign", post(queue::assign))
        .route("/api/v1/scans/{id}/decision", post(queue::decide))
        .route("/api/v1/scans/{id}/outcome", post(queue::record_outcome))
        .route("/api/v1/queue", get(queue::list))
        .route("/api/v1/queue/next", post(queue::next))
        .route("/api/v1/stats", get(queue::stats))
        .route("/api/v1/outcomes.jsonl", get(queue::export_outcomes))
        .route("/api/v1/events", get(queue::events))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(ops::console_routes());
    api.fallback(ops::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
            }),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Request latency by matched route (not raw path, so scan ids do not explode the labels).
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let method = request.method().to_string();
    let response = next.run(request).await;
    state.metrics.observe_request(&route, &method, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

/// Serves until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
