//! The officers' queue: listing, claims, decisions, outcomes, audit, statistics, export and
//! live events.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use super::AppState;
use super::auth::{Caller, OfficerCaller, SupervisorCaller, session_ended};
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery};
use super::scans::{ScanView, scan_view};
use crate::queue::worker::ScanSettled;
use crate::queue::{AuditEntry, Decision, Outcome, OutcomeExport, QueueEntry, QueueFilter, QueueStats, ScanRecord};
use crate::review::{self, Action, Officer};
use crate::triage::Lane;

/// Longest claim an officer may ask for.
const MAX_CLAIM: Duration = Duration::from_secs(8 * 3600);

/// Entries of the risk queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueList {
    entries: Vec<QueueEntry>,
}

/// The risk queue, highest risk first, then oldest.
#[utoipa::path(get, path = "/api/v1/queue", tag = "queue", security(("bearer" = [])), params(QueueFilter),
    responses((status = 200, body = QueueList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(app): State<AppState>,
    _officer: OfficerCaller,
    ApiQuery(filter): ApiQuery<QueueFilter>,
) -> Result<Json<QueueList>, ApiError> {
    Ok(Json(QueueList { entries: app.store.queue(&filter).await? }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindQuery {
    /// A declaration's number (case ignored), or 4 to 11 letters and digits of a container
    /// number, e.g. `MSCU123`.
    q: String,
}

/// Most scans a search answers with.
const FOUND_AT_MOST: i64 = 50;
/// Longest text searched for: declaration numbers are shorter.
const LONGEST_SEARCH: usize = 64;

/// Scans in any state of a declaration, or whose container numbers contain the given letters
/// and digits, newest first (at most 50): for finding one container or declaration.
#[utoipa::path(get, path = "/api/v1/scans", tag = "queue", security(("bearer" = [])), params(FindQuery),
    responses((status = 200, body = QueueList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn find(
    State(app): State<AppState>,
    _officer: OfficerCaller,
    ApiQuery(query): ApiQuery<FindQuery>,
) -> Result<Json<QueueList>, ApiError> {
    let text = query.q.trim();
    if !(4..=LONGEST_SEARCH).contains(&text.chars().count()) || text.chars().any(char::is_control) {
        return Err(ApiError::bad_request("invalid_query", format!("q is 4 to {LONGEST_SEARCH} characters: a declaration or container number")));
    }
    Ok(Json(QueueList { entries: app.store.find_scans(text, FOUND_AT_MOST).await? }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NextRequest {
    lane: Option<Lane>,
    station: Option<String>,
}

/// Claim the next unclaimed scan of the queue.
#[utoipa::path(post, path = "/api/v1/queue/next", tag = "queue", security(("bearer" = [])), request_body(content = Option<NextRequest>),
    responses((status = 200, body = ScanView), (status = 204, description = "nothing is waiting"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn next(
    State(app): State<AppState>,
    OfficerCaller(officer): OfficerCaller,
    body: Option<ApiJson<NextRequest>>,
) -> Result<Response, ApiError> {
    let request = body.map(|ApiJson(b)| b).unwrap_or_default();
    let filter = QueueFilter { lane: request.lane, station: request.station, ..Default::default() };
    match review::claim_next(&app.store, &officer, &filter, app.config.claim_lease).await? {
        Some(scan) => respond(&app, scan).await,
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    lease_seconds: Option<u64>,
}

/// Claim a scan for review, until the lease lapses (default 15 minutes).
#[utoipa::path(post, path = "/api/v1/scans/{id}/claim", tag = "queue", security(("bearer" = [])), params(("id" = String, Path)),
    request_body(content = Option<ClaimRequest>),
    responses((status = 200, body = ScanView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn claim(
    State(app): State<AppState>,
    OfficerCaller(officer): OfficerCaller,
    Path(id): Path<String>,
    body: Option<ApiJson<ClaimRequest>>,
) -> Result<Response, ApiError> {
    let lease = body.and_then(|ApiJson(b)| b.lease_seconds).map_or(app.config.claim_lease, Duration::from_secs).min(MAX_CLAIM);
    act(&app, &officer, &id, Action::Claim { lease }).await
}

/// Give a claimed scan back to the queue.
#[utoipa::path(post, path = "/api/v1/scans/{id}/release", tag = "queue", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ScanView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn release(
    State(app): State<AppState>,
    OfficerCaller(officer): OfficerCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    act(&app, &officer, &id, Action::Release).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    officer: String,
}

/// Hand a scan to an officer (supervisors). The officer must be an active user.
#[utoipa::path(post, path = "/api/v1/scans/{id}/assign", tag = "queue", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = AssignRequest,
    responses((status = 200, body = ScanView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn assign(
    State(app): State<AppState>,
    SupervisorCaller(supervisor): SupervisorCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AssignRequest>,
) -> Result<Response, ApiError> {
    act(&app, &supervisor, &id, Action::Assign { officer: body.officer, lease: app.config.claim_lease }).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    decision: Decision,
    #[serde(default)]
    notes: String,
}

/// Decide on a claimed scan.
#[utoipa::path(post, path = "/api/v1/scans/{id}/decision", tag = "queue", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = DecisionRequest,
    responses((status = 200, body = ScanView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn decide(
    State(app): State<AppState>,
    OfficerCaller(officer): OfficerCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DecisionRequest>,
) -> Result<Response, ApiError> {
    act(&app, &officer, &id, Action::Decide { decision: body.decision, notes: body.notes }).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRequest {
    outcome: Outcome,
    #[serde(default)]
    notes: String,
}

/// Record what the inspection of a decided scan found.
#[utoipa::path(post, path = "/api/v1/scans/{id}/outcome", tag = "queue", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = OutcomeRequest,
    responses((status = 200, body = ScanView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn record_outcome(
    State(app): State<AppState>,
    OfficerCaller(officer): OfficerCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<OutcomeRequest>,
) -> Result<Response, ApiError> {
    act(&app, &officer, &id, Action::RecordOutcome { outcome: body.outcome, notes: body.notes }).await
}

async fn act(app: &AppState, officer: &Officer, id: &str, action: Action) -> Result<Response, ApiError> {
    let scan = review::act(&app.store, officer, id, &action).await?;
    respond(app, scan).await
}

/// Answers with the scan and tells live listeners it changed.
async fn respond(app: &AppState, scan: ScanRecord) -> Result<Response, ApiError> {
    let _ = app.events.send(ScanSettled { scan_id: scan.id.clone(), state: scan.state });
    Ok(Json(scan_view(app, scan).await?).into_response())
}

/// A scan's audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLog {
    entries: Vec<AuditEntry>,
}

/// Everything that happened to a scan, oldest first.
#[utoipa::path(get, path = "/api/v1/scans/{id}/audit", tag = "queue", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = AuditLog), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn audit(
    State(app): State<AppState>,
    _officer: OfficerCaller,
    Path(id): Path<String>,
) -> Result<Json<AuditLog>, ApiError> {
    if app.store.scan(&id).await?.is_none() {
        return Err(ApiError::not_found(format!("no scan {id}")));
    }
    Ok(Json(AuditLog { entries: app.store.audit_log(&id).await? }))
}

/// Counts by state, lane, station and day.
#[utoipa::path(get, path = "/api/v1/stats", tag = "queue", security(("bearer" = [])), params(StatsQuery),
    responses((status = 200, body = QueueStats), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn stats(
    State(app): State<AppState>,
    _officer: OfficerCaller,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> Result<Json<QueueStats>, ApiError> {
    Ok(Json(app.store.stats(query.days()).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct StatsQuery {
    /// UTC days counted in `by_day`, today included: 1 to 366, default 31.
    days: Option<u32>,
}

impl StatsQuery {
    fn days(&self) -> u32 {
        self.days.unwrap_or(31).clamp(1, 366)
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Only scans decided at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// Decided scans as JSON lines, for model feedback (supervisors).
#[utoipa::path(get, path = "/api/v1/outcomes.jsonl", tag = "queue", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, content_type = "application/x-ndjson", body = OutcomeExport, description = "one OutcomeExport per line"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]

pub async fn export_outcomes(
    State(app): State<AppState>,
    _supervisor: SupervisorCaller,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let outcomes = app.store.outcomes(query.since.map(|t| t.timestamp_millis())).await?;
    let mut body = Vec::new();
    review::write_jsonl(&outcomes, &mut body).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}

/// Server-sent events: `scan` with `{scan_id, state}` whenever a scan settles or changes. The
/// stream ends within 10 s of its session ending (signed out, expired, unused for 30 minutes, or
/// the user disabled), and when the service stops.
#[utoipa::path(get, path = "/api/v1/events", tag = "queue", security(("bearer" = [])), 
    responses((status = 200, content_type = "text/event-stream"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn events(
    State(app): State<AppState>,
    _officer: OfficerCaller,
    caller: Caller,
) -> Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>> {
    let stream = BroadcastStream::new(app.events.subscribe()).map(|event| {
        Ok(match event {
            Ok(settled) => Event::default().event("scan").json_data(json!({ "scan_id": settled.scan_id, "state": settled.state })).unwrap_or_default(),
            // Missed events: the console reloads the queue.
            Err(_) => Event::default().event("resync").data("{}"),
        })
    });
    let (session, stopping) = (session_ended(app.accounts.clone(), caller.secret), app.stopping());
    let ended = async move {
        tokio::select! {
            () = session => {}
            () = stopping => {}
        }
    };
    let stream = futures_util::StreamExt::take_until(stream, ended);
    Sse::new(stream).keep_alive(KeepAlive::default())
}
