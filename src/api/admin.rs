//! Admins manage station keys and officer accounts (the `keys` and `users` commands do the same
//! on the service's machine).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::auth::{AdminCaller, SupervisorCaller};
use super::error::{ApiError, ErrorBody};
use super::extract::ApiJson;
use crate::accounts::UserSummary;
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
    let (key_id, key) = app.accounts.create_station_key(&body.station_id).await?;
    tracing::info!(admin = %admin.name, %key_id, station = %body.station_id, "station key created");
    Ok((StatusCode::CREATED, Json(CreatedKey { key_id, station_id: body.station_id, key })).into_response())
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
    app.accounts.revoke_station_key(&key_id).await?;
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
    app.accounts.add_user(&body.name, body.role, &body.password).await?;
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
    app.accounts.disable_user(&name).await?;
    tracing::info!(admin = %admin.name, user = %name, "user disabled");
    Ok(StatusCode::NO_CONTENT)
}
