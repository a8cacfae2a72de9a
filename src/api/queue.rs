//! The officers' queue: listing, claims, decisions, outcomes, audit, statistics, export and
//! live events.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use super::AppState;
use super::auth::{OfficerCaller, SupervisorCaller};
use super::error::ApiError;
use super::scans::scan_view;
use crate::queue::worker::ScanSettled;
use crate::queue::{Decision, Outcome, QueueFilter, ScanRecord};
use crate::review::{self, Action, Officer};
use crate::triage::Lane;

/// Longest claim an officer may ask for.
const MAX_CLAIM: Duration = Duration::from_secs(8 * 3600);

pub async fn list(
    State(app): State<AppState>,
    _officer: OfficerCaller,
    Query(filter): Query<QueueFilter>,
) -> Result<Json<Value>, ApiError> {
    let entries = app.store.queue(&filter).await?;
    Ok(Json(json!({ "entries": entries })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextRequest {
    lane: Option<Lane>,
    station: Option<String>,
}

pub async fn next(
    State(app): State<AppState>,
    OfficerCaller(officer): OfficerCaller,
    body: Option<Json<NextRequest>>,
) -> Result<Response, ApiError> {
    let request = body.map(|Json(b)| b).unwrap_or_default();
    let filter = QueueFilter { lane: request.lane, station: request.station, ..Default::default() };
    match review::claim_next(&app.store, &officer, &filter, app.config.claim_lease).await? {
        Some(scan) => respond(&app, scan).await,
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    lease_seconds: Option<u64>,
}

pub async fn claim(
    State(app): State<AppState>,
    OfficerCaller(officer): OfficerCaller,
    Path(id): Path<String>,
    body: Option<Json<ClaimRequest>>,
) -> Result<Response, ApiError> {
    let lease = body.and_then(|Json(b)| b.lease_seconds).map_or(app.config.claim_lease, Duration::from_secs).min(MAX_CLAIM);
    act(&app, &officer, &id, Action::Claim { lease }).await
}

pub async fn release(
    State(app): State<AppState>,
    OfficerCaller(officer): OfficerCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    act(&app, &officer, &id, Action::Release).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    officer: String,
}

pub async fn assign(
    State(app): State<AppState>,
    SupervisorCaller(supervisor): SupervisorCaller,
    Path(id): Path<String>,
    Json(body): Json<AssignRequest>,
) -> Result<Response, ApiError> {
    act(&app, &supervisor, &id, Action::Assign { officer: body.officer, lease: app.config.claim_lease }).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    decision: Decision,
    #[serde(default)]
    notes: String,
}

pub async fn decide(
    State(app): State<AppState>,
    OfficerCaller(officer): OfficerCaller,
    Path(id): Path<String>,
    Json(body): Json<DecisionRequest>,
) -> Result<Response, ApiError> {
    act(&app, &officer, &id, Action::Decide { decision: body.decision, notes: body.notes }).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRequest {
    outcome: Outcome,
    #[serde(default)]
    notes: String,
}

pub async fn record_outcome(
    State(app): State<AppState>,
    OfficerCaller(officer): OfficerCaller,
    Path(id): Path<String>,
    Json(body): Json<OutcomeRequest>,
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

pub async fn audit(
    State(app): State<AppState>,
    _officer: OfficerCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if app.store.scan(&id).await?.is_none() {
        return Err(ApiError::not_found(format!("no scan {id}")));
    }
    Ok(Json(json!({ "entries": app.store.audit_log(&id).await? })))
}

pub async fn stats(State(app): State<AppState>, _officer: OfficerCaller) -> Result<Json<Value>, ApiError> {
    Ok(Json(serde_json::to_value(app.store.stats().await?).unwrap_or(Value::Null)))
}

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    since: Option<chrono::DateTime<chrono::FixedOffset>>,
}

pub async fn export_outcomes(
    State(app): State<AppState>,
    _supervisor: SupervisorCaller,
    Query(query): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let outcomes = app.store.outcomes(query.since.map(|t| t.timestamp_millis())).await?;
    let mut body = Vec::new();
    review::write_jsonl(&outcomes, &mut body).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}

pub async fn events(
    State(app): State<AppState>,
    _officer: OfficerCaller,
) -> Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>> {
    let stream = BroadcastStream::new(app.events.subscribe()).map(|event| {
        Ok(match event {
            Ok(settled) => Event::default().event("scan").json_data(json!({ "scan_id": settled.scan_id, "state": settled.state })).unwrap_or_default(),
            // Missed events: the console reloads the queue.
            Err(_) => Event::default().event("resync").data("{}"),
        })
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
