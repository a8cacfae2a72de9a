//! Officers sign in with name and password for a session token, kept by the console as an
//! HttpOnly cookie.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::auth::{Caller, SESSION_COOKIE};
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ClientAddress};
use super::rate_limit::RateLimit;
use crate::accounts::{AccountError, Principal, SESSION_LIFETIME};
use crate::metrics::PasswordOutcome;
use crate::queue::to_rfc3339;
use crate::review::Role;

#[derive(Deserialize, ToSchema)]
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

/// A new session: the token goes in `Authorization: Bearer` (or the cookie set alongside).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    name: String,
    role: Role,
    token: String,
    #[schema(format = DateTime)]
    expires_at: String,
}

/// Who the credentials belong to: an officer (name, role) or a station (station id, key id).
#[derive(Debug, Serialize, ToSchema)]
pub struct Identity {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    station_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
}

/// Sign-in attempts per user name: enough for a mistyped password or two, far too few to guess
/// one (passwords have at least 10 characters).
pub(super) const SIGN_IN_RATE: RateLimit = RateLimit { per_minute: 5, burst: 10 };

/// Sign in.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = SignIn,
    responses((status = 200, body = SessionInfo), (status = 401, body = ErrorBody),
        (status = 429, description = "too many attempts for this name, or failed sign-ins from this address; `Retry-After` says when to try again", body = ErrorBody)))]
pub async fn sign_in(
    State(app): State<AppState>,
    ClientAddress(client): ClientAddress,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<Response, ApiError> {
    let client = client.map(|address| address.to_string());
    password_attempt(&app, &body.name)?;
    // Reserved before the password is checked, so that parallel attempts cannot all pass, and
    // given back unless the sign-in fails.
    if let Some(address) = &client {
        app.failed_sign_in_limiter().take(address).map_err(|wait| {
            app.metrics.count_password(PasswordOutcome::Limited);
            tracing::warn!(user = %body.name, client = %address, "password refused unchecked: too many failed sign-ins from this address");
            too_many_attempts("too many failed sign-ins from this address", wait)
        })?;
    }
    let session = app.accounts.login(&body.name, &body.password).await;
    count_password(&app, &session);
    if let Some(address) = &client {
        if matches!(session, Err(AccountError::BadLogin)) {
            tracing::info!(user = %body.name, client = %address, "sign-in refused: wrong name or password");
        } else {
            app.failed_sign_in_limiter().give_back(address);
        }
    }
    let session = session?;
    tracing::info!(user = %session.officer.name, client = client.as_deref().unwrap_or("unknown"), "signed in");
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        session.token,
        SESSION_LIFETIME.as_secs()
    );
    let body = SessionInfo {
        name: session.officer.name,
        role: session.officer.role,
        token: session.token,
        expires_at: to_rfc3339(session.expires_at),
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// Takes one of the name's password attempts (sign-in or password change), or says when the
/// next one is allowed.
fn password_attempt(app: &AppState, name: &str) -> Result<(), ApiError> {
    app.sign_in_limiter().take(&name.to_lowercase()).map_err(|wait| {
        app.metrics.count_password(PasswordOutcome::Limited);
        tracing::warn!(user = %name, "password refused unchecked: too many attempts for this name");
        too_many_attempts("too many password attempts for this name", wait)
    })
}

fn too_many_attempts(what: &str, wait: std::time::Duration) -> ApiError {
    let seconds = wait.as_secs().max(1);
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", format!("{what}; try again in {seconds} s")).retry_after(seconds)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    /// At least 10 characters.
    new_password: String,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChange").finish_non_exhaustive()
    }
}

/// Change your own password, giving the current one. Your other sessions end; this one goes on.
#[utoipa::path(put, path = "/api/v1/session/password", tag = "session", security(("bearer" = [])), request_body = PasswordChange,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "`wrong_password`, or a station key (stations have no password)", body = ErrorBody),
        (status = 429, description = "too many attempts for this name", body = ErrorBody)))]
pub async fn change_password(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let Principal::User(officer) = &caller.principal else {
        return Err(ApiError::forbidden("stations sign in with keys, not passwords"));
    };
    password_attempt(&app, &officer.name)?;
    let changed =
        app.accounts.acting_as(&officer.name).change_password(&officer.name, &body.current_password, &body.new_password, &caller.secret).await;
    count_password(&app, &changed);
    match changed {
        // Not 401: the session is fine, and a client would take 401 for its end.
        Err(AccountError::BadLogin) => return Err(ApiError::new(StatusCode::FORBIDDEN, "wrong_password", "the current password is wrong")),
        done => done?,
    }
    tracing::info!(user = %officer.name, "password changed; the user's other sessions ended");
    Ok(StatusCode::NO_CONTENT)
}

/// A password checked: accepted unless refused as wrong (a weak new password still counts as the
/// right current one).
fn count_password<T>(app: &AppState, checked: &Result<T, AccountError>) {
    match checked {
        Err(AccountError::BadLogin) => app.metrics.count_password(PasswordOutcome::Refused),
        Ok(_) | Err(AccountError::WeakPassword) => app.metrics.count_password(PasswordOutcome::Accepted),
        Err(_) => {}
    }
}

/// Who is calling.
#[utoipa::path(get, path = "/api/v1/session", tag = "session", security(("bearer" = [])),
    responses((status = 200, body = Identity), (status = 401, body = ErrorBody)))]
pub async fn current(caller: Caller) -> Json<Identity> {
    Json(match caller.principal {
        Principal::User(officer) => Identity {
            name: Some(officer.name),
            role: Some(officer.role),
            expires_at: caller.session_expires_at.map(to_rfc3339),
            station_id: None,
            key_id: None,
        },
        Principal::Station { station_id, key_id } => Identity {
            name: None,
            role: None,
            expires_at: None,
            station_id: Some(station_id),
            key_id: Some(key_id),
        },
    })
}

/// Sign out: the session token stops working.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn sign_out(State(app): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    if matches!(caller.principal, Principal::User(_)) {
        app.accounts.logout(&caller.secret).await?;
    }
    let expired = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, expired)]).into_response())
}
