//! One error type for every handler, and the one table mapping domain errors to statuses.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::accounts::AccountError;
use crate::ingest::images::ImageStoreError;
use crate::ingest::intake::IntakeError;
use crate::queue::StoreError;
use crate::queue::retention::RetentionError;
use crate::review::ReviewError;

/// Freeing disk space takes an operator: stations retrying every few seconds would only add
/// to the log.
const STORAGE_FULL_RETRY_SECONDS: u64 = 60;
/// A database restarting or failing over is back within seconds.
const DATABASE_UNAVAILABLE_RETRY_SECONDS: u64 = 5;

/// An error answer: status, stable machine code, sentence, and optional details.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    pub retry_after_seconds: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: None, retry_after_seconds: None }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_seconds = Some(seconds);
        self
    }

    /// Something went wrong inside: logged in full, answered without internals.
    fn internal(error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; the service log has the details")
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine code, e.g. `claimed_by_other`.
    pub code: String,
    pub message: String,
    /// Field errors of invalid metadata, the existing scan of a conflict, …
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_owned(), message: self.message, details: self.details } };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<IntakeError> for ApiError {
    fn from(error: IntakeError) -> Self {
        let message = error.to_string();
        match error {
            IntakeError::Contract(contract) => Self {
                details: serde_json::to_value(&contract.errors).ok(),
                ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_metadata", message)
            },
            IntakeError::WrongStation { authenticated, declared } => Self {
                details: Some(json!({ "key_station": authenticated, "metadata_station": declared })),
                ..Self::new(StatusCode::FORBIDDEN, "wrong_station", message)
            },
            IntakeError::EnergyMismatch { .. } => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "energy_mismatch", message),
            IntakeError::Image(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_image", message),
            IntakeError::Conflict { scan_id, .. } => Self {
                details: Some(json!({ "scan_id": scan_id })),
                ..Self::new(StatusCode::CONFLICT, "station_scan_id_conflict", message)
            },
            IntakeError::Busy { .. } => Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message).retry_after(5),
            IntakeError::ImageStore(e) => e.into(),
            IntakeError::Store(e) => e.into(),
        }
    }
}

impl From<ReviewError> for ApiError {
    fn from(error: ReviewError) -> Self {
        let message = error.to_string();
        match error {
            ReviewError::NotFound(_) => Self::not_found(message),
            ReviewError::NotInQueue(_) => Self::new(StatusCode::CONFLICT, "not_in_queue", message),
            ReviewError::ClaimedByOther { .. } => Self::new(StatusCode::CONFLICT, "claimed_by_other", message),
            ReviewError::NotClaimed => Self::new(StatusCode::CONFLICT, "not_claimed", message),
            ReviewError::NotDecided(_) => Self::new(StatusCode::CONFLICT, "not_decided", message),
            ReviewError::Contended => Self::new(StatusCode::CONFLICT, "contended", message),
            ReviewError::NotSupervisor => Self::forbidden(message),
            ReviewError::NotesTooLong => Self::bad_request("notes_too_long", message),
            ReviewError::UnknownAssignee(_) => Self::bad_request("unknown_officer", message),
            ReviewError::Store(e) => e.into(),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        let message = error.to_string();
        match error {
            AccountError::BadLogin | AccountError::BadCredentials => Self::unauthorized(message),
            AccountError::BadName | AccountError::BadStation | AccountError::WeakPassword => Self::bad_request("invalid_account", message),
            AccountError::UserExists(_) => Self::new(StatusCode::CONFLICT, "exists", message),
            AccountError::NoSuchUser(_) | AccountError::NoSuchKey(_) => Self::not_found(message),
            AccountError::Store(e) => e.into(),
            AccountError::Hashing(_) => Self::internal(&message),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        if error.is_disk_full() {
            // Nothing of the request was written: the same request succeeds once space is freed.
            tracing::error!(%error, "request refused: the database has no disk space");
            return Self::new(StatusCode::INSUFFICIENT_STORAGE, "storage_full", "the service's database has no room; nothing was stored")
                .retry_after(STORAGE_FULL_RETRY_SECONDS);
        }
        if error.is_unavailable() {
            tracing::error!(%error, "request refused: the database is unavailable");
            return Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the service's database cannot be reached or is busy; nothing was stored, try again",
            )
            .retry_after(DATABASE_UNAVAILABLE_RETRY_SECONDS);
        }
        Self::internal(&error)
    }
}

impl From<RetentionError> for ApiError {
    fn from(error: RetentionError) -> Self {
        match error {
            RetentionError::Store(e) => e.into(),
            RetentionError::Images(e) => e.into(),
        }
    }
}

impl From<ImageStoreError> for ApiError {
    fn from(error: ImageStoreError) -> Self {
        match error {
            // The station keeps the scan and retries; an operator must free space.
            ImageStoreError::Full { .. } => {
                tracing::error!(%error, "upload refused for lack of disk space");
                Self::new(StatusCode::INSUFFICIENT_STORAGE, "storage_full", "the service has no room for new scans; nothing was stored")
                    .retry_after(STORAGE_FULL_RETRY_SECONDS)
            }
            _ => Self::internal(&error),
        }
    }
}
