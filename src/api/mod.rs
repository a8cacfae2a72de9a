//! The HTTP service: thin axum handlers over intake, queue and review. Handlers parse, check
//! who is calling, call one domain function and shape the answer; nothing else lives here.

mod admin;
mod auth;
mod error;
mod extract;
mod ops;
mod queue;
mod rate_limit;
mod scans;
mod session;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

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
    /// Failed sign-ins by client address: slows down trying a password against many names,
    /// which the limit per name does not, while officers signing in correctly from one office's
    /// address are never held up.
    pub failed_sign_in_rate: RateLimit,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            body_limit_bytes: 64 * 1024 * 1024,
            max_wait: Duration::from_secs(30),
            claim_lease: Duration::from_secs(15 * 60),
            upload_rate: RateLimit { per_minute: 600, burst: 60 },
            failed_sign_in_rate: RateLimit { per_minute: 10, burst: 30 },
            trusted_proxies: Vec::new(),
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
    uploads: rate_limit::Limiter,
    sign_ins: rate_limit::Limiter,
    failed_sign_ins: rate_limit::Limiter,
    /// Set once the service stops: responses that never end by themselves (event streams) end
    /// then, or the graceful stop would wait for their clients to leave.
    stopping: watch::Sender<bool>,
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0.services
    }
}

impl AppState {
    pub fn new(services: Services) -> Self {
        let uploads = rate_limit::Limiter::new(services.config.upload_rate);
        let sign_ins = rate_limit::Limiter::new(session::SIGN_IN_RATE);
        let failed_sign_ins = rate_limit::Limiter::new(services.config.failed_sign_in_rate);
        Self(Arc::new(AppInner { services, uploads, sign_ins, failed_sign_ins, stopping: watch::Sender::new(false) }))
    }

    /// Completes once the service has begun to stop.
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + use<> {
        let mut stopping = self.0.stopping.subscribe();
        async move {
            // An error means the state was dropped, which only happens once serving ended.
            let _ = stopping.wait_for(|stopping| *stopping).await;
        }
    }

    fn upload_limiter(&self) -> &rate_limit::Limiter {
        &self.0.uploads
    }

    /// Sign-in attempts by user name.
    fn sign_in_limiter(&self) -> &rate_limit::Limiter {
        &self.0.sign_ins
    }

    /// Failed sign-ins by client address.
    fn failed_sign_in_limiter(&self) -> &rate_limit::Limiter {
        &self.0.failed_sign_ins
    }
}

/// The OpenAPI document's frame; paths and schemas come from the handlers.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "scantriage", description = "Triage of container X-ray scans against customs declarations (see docs/api.md)."),
    modifiers(&BearerAuth),
    tags(
        (name = "stations", description = "Scanner stations upload scans"),
        (name = "scans", description = "Scans, their analyses and images"),
        (name = "queue", description = "The officers' risk queue"),
        (name = "session", description = "Officers' sign-in"),
        (name = "operations", description = "Health and metrics"),
        (name = "admin", description = "Station keys, accounts, image retention and failed scans"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("A station's API key (stk_…) or an officer's session token"))
            .build();
        openapi.components.get_or_insert_with(Default::default).add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The documented routes and the OpenAPI document describing exactly them.
fn documented_routes(body_limit: usize) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(session::sign_in, session::current, session::sign_out))
        .routes(routes!(session::change_password))
        .routes(routes!(scans::upload).layer(DefaultBodyLimit::max(body_limit)))
        .routes(routes!(scans::show))
        .routes(routes!(scans::image))
        .routes(routes!(scans::heatmap))
        .routes(routes!(queue::audit))
        .routes(routes!(queue::claim))
        .routes(routes!(queue::release))
        .routes(routes!(queue::assign))
        .routes(routes!(queue::decide))
        .routes(routes!(queue::record_outcome))
        .routes(routes!(queue::list))
        .routes(routes!(queue::find))
        .routes(routes!(queue::next))
        .routes(routes!(queue::stats))
        .routes(routes!(queue::export_outcomes))
        .routes(routes!(queue::events))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(admin::create_key, admin::list_keys))
        .routes(routes!(admin::revoke_key))
        .routes(routes!(admin::add_user))
        .routes(routes!(admin::disable_user))
        .routes(routes!(admin::reset_password))
        .routes(routes!(admin::enable_user))
        .routes(routes!(admin::account_log))
        .routes(routes!(admin::list_users))
        .routes(routes!(admin::purge_images))
        .routes(routes!(admin::reanalyse_failed))
        .split_for_parts()
}

/// The OpenAPI 3.1 document of the service.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented_routes(ApiConfig::default().body_limit_bytes).1
}

/// Every route of the service.
pub fn router(state: AppState) -> Router {
    let (api, document) = documented_routes(state.config.body_limit_bytes);
    let document = Arc::new(document);
    let api = api
        .route("/api/openapi.json", get(move |_caller: auth::Caller| async move { axum::Json(document.as_ref().clone()) }))
        .merge(ops::console_routes());
    api.fallback(ops::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
        }))
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
    let app = state.clone();
    let shutdown = async move {
        shutdown.await;
        tracing::info!("stopping: no new requests; ending event streams, finishing the requests in flight");
        app.0.stopping.send_replace(true);
    };
    axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(shutdown).await
}
