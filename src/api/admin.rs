//! Admins manage station keys and officer accounts (the `keys` and `users` commands do the same
//! on the service's machine).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::{AdminCaller, SupervisorCaller};
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery};
use crate::accounts::{AccountLogEntry, StationKeySummary, UserSummary};
use crate::queue::now_ms;
use crate::queue::retention;
use crate::review::Role;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    station_id: String,
}

/// A new station key: shown once, stored only as its hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    key_id: String,
    station_id: String,
    key: String,
}

/// Create a key for a station (admins).
#[utoipa::path(post, path = "/api/v1/admin/keys", tag = "admin", security(("bearer" = [])), request_body = NewKey,
    responses((status = 201, body = CreatedKey), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_key(
    State(app): State<AppState>,
    AdminCaller(admin): AdminCaller,
    ApiJson(body): ApiJson<NewKey>,
) -> Result<Response, ApiError> {
    let (key_id, key) = app.accounts.acting_as(&admin.name).create_station_key(&body.station_id).await?;
    tracing::info!(admin = %admin.name, %key_id, station = %body.station_id, "station key created");
    Ok((StatusCode::CREATED, Json(CreatedKey { key_id, station_id: body.station_id, key })).into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    keys: Vec<StationKeySummary>,
}

/// Every station key with its station and dates, valid ones first (admins). The keys
/// themselves are not stored and cannot be shown again.
#[utoipa::path(get, path = "/api/v1/admin/keys", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = KeyList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_keys(State(app): State<AppState>, _caller: AdminCaller) -> Result<Json<KeyList>, ApiError> {
    Ok(Json(KeyList { keys: app.accounts.station_keys().await? }))
}

/// Revoke a station key (admins).
#[utoipa::path(delete, path = "/api/v1/admin/keys/{key_id}", tag = "admin", security(("bearer" = [])),
    params(("key_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_key(
    State(app): State<AppState>,
    AdminCaller(admin): AdminCaller,
    Path(key_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.accounts.acting_as(&admin.name).revoke_station_key(&key_id).await?;
    tracing::info!(admin = %admin.name, %key_id, "station key revoked");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    name: String,
    role: Role,
    /// At least 10 characters.
    password: String,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser").field("name", &self.name).field("role", &self.role).finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    name: String,
    role: Role,
}

/// Add an officer, supervisor or admin (admins).
#[utoipa::path(post, path = "/api/v1/admin/users", tag = "admin", security(("bearer" = [])), request_body = NewUser,
    responses((status = 201, body = CreatedUser), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn add_user(
    State(app): State<AppState>,
    AdminCaller(admin): AdminCaller,
    ApiJson(body): ApiJson<NewUser>,
) -> Result<Response, ApiError> {
    app.accounts.acting_as(&admin.name).add_user(&body.name, body.role, &body.password).await?;
    tracing::info!(admin = %admin.name, user = %body.name, role = ?body.role, "user added");
    Ok((StatusCode::CREATED, Json(CreatedUser { name: body.name, role: body.role })).into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    users: Vec<UserSummary>,
}

/// Every user with their role, active ones first (supervisors, to assign scans; admins).
#[utoipa::path(get, path = "/api/v1/users", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = UserList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_users(State(app): State<AppState>, _caller: SupervisorCaller) -> Result<Json<UserList>, ApiError> {
    Ok(Json(UserList { users: app.accounts.users().await? }))
}

/// Disable a user and end their sessions (admins).
#[utoipa::path(delete, path = "/api/v1/admin/users/{name}", tag = "admin", security(("bearer" = [])),
    params(("name" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn disable_user(
    State(app): State<AppState>,
    AdminCaller(admin): AdminCaller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.accounts.acting_as(&admin.name).disable_user(&name).await?;
    tracing::info!(admin = %admin.name, user = %name, "user disabled");
    Ok(StatusCode::NO_CONTENT)
}

/// Let a disabled user sign in again, with their old password (admins).
#[utoipa::path(post, path = "/api/v1/admin/users/{name}/enable", tag = "admin", security(("bearer" = [])),
    params(("name" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "no disabled user of that name", body = ErrorBody)))]
pub async fn enable_user(
    State(app): State<AppState>,
    AdminCaller(admin): AdminCaller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.accounts.acting_as(&admin.name).enable_user(&name).await?;
    tracing::info!(admin = %admin.name, user = %name, "user enabled");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AccountLogQuery {
    /// At most this many entries, newest first (1 to 1000, default 100).
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountLog {
    entries: Vec<AccountLogEntry>,
}

/// Who added, disabled or reset which user, and created or revoked which station key, newest
/// first (admins). The log is append-only.
#[utoipa::path(get, path = "/api/v1/admin/account-log", tag = "admin", security(("bearer" = [])), params(AccountLogQuery),
    responses((status = 200, body = AccountLog), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn account_log(
    State(app): State<AppState>,
    _caller: AdminCaller,
    ApiQuery(query): ApiQuery<AccountLogQuery>,
) -> Result<Json<AccountLog>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("invalid_query", "limit is 1 to 1000"));
    }
    Ok(Json(AccountLog { entries: app.accounts.account_log(limit).await? }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    /// At least 10 characters.
    password: String,
}

impl std::fmt::Debug for PasswordReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordReset").finish_non_exhaustive()
    }
}

/// Set a user's password, e.g. when they forgot it (admins); their sessions end.
#[utoipa::path(put, path = "/api/v1/admin/users/{name}/password", tag = "admin", security(("bearer" = [])),
    params(("name" = String, Path)), request_body = PasswordReset,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "no active user of that name", body = ErrorBody)))]
pub async fn reset_password(
    State(app): State<AppState>,
    AdminCaller(admin): AdminCaller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<PasswordReset>,
) -> Result<StatusCode, ApiError> {
    app.accounts.acting_as(&admin.name).reset_password(&name, &body.password).await?;
    tracing::info!(admin = %admin.name, user = %name, "password reset; the user's sessions ended");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurgeRequest {
    /// Settled scans (released, decided, closed, failed) not changed since this time lose their
    /// images and heatmap; at most now.
    #[schema(value_type = String, format = DateTime)]
    settled_before: chrono::DateTime<chrono::FixedOffset>,
    /// At most this many scans (1 to 100 000, default 1000), oldest first: run again while `more`.
    max_scans: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurgeReport {
    /// Scans whose images and heatmap were deleted.
    scans: usize,
    /// Image files deleted (scans may share one).
    files: usize,
    /// Whether scans settled before that time still have their images.
    more: bool,
}

const MAX_PURGE: u32 = 100_000;

/// Delete the images and heatmaps of scans settled before a time now, rather than waiting for
/// retention (admins): to free disk space.
#[utoipa::path(post, path = "/api/v1/admin/purge-images", tag = "admin", security(("bearer" = [])), request_body = PurgeRequest,
    responses((status = 200, body = PurgeReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn purge_images(
    State(app): State<AppState>,
    AdminCaller(admin): AdminCaller,
    ApiJson(body): ApiJson<PurgeRequest>,
) -> Result<Json<PurgeReport>, ApiError> {
    let before = body.settled_before.timestamp_millis();
    if before > now_ms() {
        return Err(ApiError::bad_request("invalid_purge", "settled_before is in the future"));
    }
    let max_scans = body.max_scans.unwrap_or(1000);
    if !(1..=MAX_PURGE).contains(&max_scans) {
        return Err(ApiError::bad_request("invalid_purge", format!("max_scans is 1 to {MAX_PURGE}")));
    }
    let purged = retention::purge(&app.store, app.images.as_ref(), before, max_scans as usize, &|| true).await;
    app.metrics.count_purge(purged.as_ref());
    let purged = purged?;
    let more = !app.store.scans_with_expired_images(before, 1).await?.is_empty();
    tracing::info!(admin = %admin.name, settled_before = %body.settled_before, scans = purged.scans, files = purged.images, more, "images purged by hand");
    Ok(Json(PurgeReport { scans: purged.scans, files: purged.images, more }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequeueRequest {
    /// Scans that failed at or after this time are analysed again.
    #[schema(value_type = String, format = DateTime)]
    failed_since: chrono::DateTime<chrono::FixedOffset>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Requeued {
    /// The scans queued for analysis again.
    scans: Vec<String>,
}

/// Analyse failed scans again once the cause of their failure is fixed (admins): a full disk,
/// a database outage, a broken model. Scans whose images were deleted stay failed.
#[utoipa::path(post, path = "/api/v1/admin/reanalyse-failed", tag = "admin", security(("bearer" = [])), request_body = RequeueRequest,
    responses((status = 200, body = Requeued), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn reanalyse_failed(
    State(app): State<AppState>,
    AdminCaller(admin): AdminCaller,
    ApiJson(body): ApiJson<RequeueRequest>,
) -> Result<Json<Requeued>, ApiError> {
    let scans = app.store.requeue_failed(body.failed_since.timestamp_millis(), &admin.name).await?;
    tracing::info!(admin = %admin.name, failed_since = %body.failed_since, scans = scans.len(), "failed scans queued for analysis again");
    Ok(Json(Requeued { scans }))
}
