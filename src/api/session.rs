//! Officers sign in with name and password for a session token, kept by the console as an
//! HttpOnly cookie.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::{Caller, SESSION_COOKIE};
use super::error::ApiError;
use crate::accounts::{Principal, SESSION_LIFETIME, role_name};
use crate::queue::to_rfc3339;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    name: String,
    password: String,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn").field("name", &self.name).field("password", &"<redacted>").finish()
    }
}

pub async fn sign_in(State(app): State<AppState>, Json(body): Json<SignIn>) -> Result<Response, ApiError> {
    let session = app.accounts.login(&body.name, &body.password).await?;
    tracing::info!(user = %session.officer.name, "signed in");
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        session.token,
        SESSION_LIFETIME.as_secs()
    );
    let body = json!({
        "name": session.officer.name,
        "role": role_name(session.officer.role),
        "token": session.token,
        "expires_at": to_rfc3339(session.expires_at),
    });
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

pub async fn current(caller: Caller) -> Result<Json<Value>, ApiError> {
    match caller.principal {
        Principal::User(officer) => Ok(Json(json!({
            "name": officer.name,
            "role": role_name(officer.role),
            "expires_at": caller.session_expires_at.map(to_rfc3339),
        }))),
        Principal::Station { station_id, key_id } => Ok(Json(json!({ "station_id": station_id, "key_id": key_id }))),
    }
}

pub async fn sign_out(State(app): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    if matches!(caller.principal, Principal::User(_)) {
        app.accounts.logout(&caller.secret).await?;
    }
    let expired = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, expired)]).into_response())
}
