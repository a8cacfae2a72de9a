//! Identity as extractors: a handler that takes an [`Officer`] or a [`Station`] cannot be
//! reached without one.

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::accounts::{AccountError, Accounts, Principal};
use crate::review::{Officer, Role};

/// The session cookie the console signs in with.
pub const SESSION_COOKIE: &str = "scantriage_session";

/// Any authenticated caller, with the secret it presented.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub secret: String,
    pub session_expires_at: Option<i64>,
}

impl Caller {
    /// Whether the caller may see a scan of `station_id`: officers see all, stations their own.
    pub fn may_read_station(&self, station_id: &str) -> bool {
        match &self.principal {
            Principal::User(_) => true,
            Principal::Station { station_id: own, .. } => own == station_id,
        }
    }
}

/// A signed-in officer (any role from officer up).
#[derive(Debug, Clone)]
pub struct OfficerCaller(pub Officer);

/// A signed-in supervisor or admin.
#[derive(Debug, Clone)]
pub struct SupervisorCaller(pub Officer);

/// A signed-in admin.
#[derive(Debug, Clone)]
pub struct AdminCaller(pub Officer);

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        officer_with(parts, state, Role::Admin, "an admin").await.map(Self)
    }
}

/// A scanner station, by its API key.
#[derive(Debug, Clone)]
pub struct StationCaller {
    pub station_id: String,
}

fn presented_secret(parts: &Parts) -> Option<String> {
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_owned());
    bearer.or_else(|| {
        parts.headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(
            |pair| {
                let (name, value) = pair.trim().split_once('=')?;
                (name == SESSION_COOKIE && !value.is_empty()).then(|| value.to_owned())
            },
        )
    })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let secret = presented_secret(parts).ok_or_else(|| {
            ApiError::unauthorized("credentials required: send `Authorization: Bearer <station key or session token>`")
        })?;
        let (principal, session_expires_at) = state.accounts.authenticate(&secret).await.map_err(|e| match e {
            AccountError::BadCredentials => ApiError::unauthorized("unknown, revoked or expired credentials; sign in again"),
            other => other.into(),
        })?;
        let caller = Caller { principal, secret, session_expires_at };
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

impl FromRequestParts<AppState> for OfficerCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match Caller::from_request_parts(parts, state).await?.principal {
            Principal::User(officer) => Ok(Self(officer)),
            Principal::Station { .. } => Err(ApiError::forbidden("this needs an officer's session, not a station key")),
        }
    }
}

/// How often an open event stream checks that its session is still valid: a stream is
/// authenticated once, when it connects, and may stay open for hours.
pub const STREAM_SESSION_RECHECK: Duration = Duration::from_secs(10);

/// Completes once `secret` no longer authenticates (signed out, expired, idle, user disabled).
/// The checks do not count as uses. A failing database is not taken for an ended session.
pub async fn session_ended(accounts: Accounts, secret: String) {
    let mut checks = tokio::time::interval_at(tokio::time::Instant::now() + STREAM_SESSION_RECHECK, STREAM_SESSION_RECHECK);
    // Warned once per outage: every open console would otherwise repeat it every ten seconds.
    let mut failing = false;
    loop {
        checks.tick().await;
        match accounts.is_current(&secret).await {
            Ok(true) if failing => {
                failing = false;
                tracing::info!("an event stream's session can be checked again");
            }
            Ok(true) => {}
            Ok(false) => {
                tracing::info!("event stream closed: its session ended");
                return;
            }
            Err(e) if failing => tracing::debug!(error = %e, "still cannot check an event stream's session"),
            Err(e) => {
                failing = true;
                tracing::warn!(error = %e, "cannot check an event stream's session; keeping it open");
            }
        }
    }
}

/// An officer holding at least `role`.
async fn officer_with(parts: &mut Parts, state: &AppState, role: Role, needed: &str) -> Result<Officer, ApiError> {
    let OfficerCaller(officer) = OfficerCaller::from_request_parts(parts, state).await?;
    if officer.role < role {
        return Err(ApiError::forbidden(format!("this needs {needed}")));
    }
    Ok(officer)
}

impl FromRequestParts<AppState> for SupervisorCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        officer_with(parts, state, Role::Supervisor, "a supervisor").await.map(Self)
    }
}

impl FromRequestParts<AppState> for StationCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match Caller::from_request_parts(parts, state).await?.principal {
            Principal::Station { station_id, .. } => Ok(Self { station_id }),
            Principal::User(_) => Err(ApiError::forbidden("only scanner stations upload scans, with their API key")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tracing_subscriber::layer::{Context, SubscriberExt};

    use super::*;

    struct CountWarnings(Arc<AtomicUsize>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountWarnings {
        fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
            if *event.metadata().level() == tracing::Level::WARN && event.metadata().target() == "scantriage::api::auth" {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    #[tokio::test]
    async fn a_stream_whose_session_cannot_be_checked_stays_open_and_warns_once() {
        let (_dir, store, accounts) = crate::accounts::accounts_with_an_officer().await;
        let token = accounts.login("ana", crate::accounts::TEST_PASSWORD).await.unwrap().token;
        store.pool().close().await;
        let warnings = Arc::new(AtomicUsize::new(0));
        let _logs = tracing::subscriber::set_default(tracing_subscriber::registry().with(CountWarnings(warnings.clone())));

        tokio::time::pause();
        let outage = STREAM_SESSION_RECHECK * 4 + Duration::from_secs(1);
        assert!(tokio::time::timeout(outage, session_ended(accounts, token)).await.is_err(), "the stream was closed");
        assert_eq!(warnings.load(Ordering::Relaxed), 1);
    }
}
