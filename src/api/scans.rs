//! Scanner stations upload scans; stations and officers read them and their rendered images.

use std::time::Duration;

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::{Caller, StationCaller};
use super::error::{ApiError, ErrorBody};
use super::extract::ApiQuery;
use crate::imaging::decode::{Energy, decode_scan};
use crate::imaging::render::{Window, grayscale, heatmap_layer, material_colour};
use crate::ingest::images::ImageStoreError;
use crate::ingest::intake::{Accepted, Upload};
use crate::queue::{ScanRecord, ScanState};

/// Largest metadata part: a declaration of 200 items is far smaller.
const MAX_METADATA_BYTES: usize = 1024 * 1024;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// Seconds (at most 30) to wait for the verdict before answering.
    wait: Option<u64>,
}

/// The multipart form of an upload.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the request for the OpenAPI document only
pub struct UploadForm {
    /// The scan's metadata JSON (docs/scan-format.md).
    metadata: String,
    /// High-energy image, 16-bit grayscale PNG or TIFF.
    #[schema(format = Binary, value_type = String)]
    high: Vec<u8>,
    /// Low-energy image of a dual-energy scan.
    #[schema(format = Binary, value_type = Option<String>)]
    low: Option<Vec<u8>>,
}

/// An acknowledged upload: the images are on disk and the record committed.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadAccepted {
    scan_id: String,
    status_url: String,
    /// The same upload was received before; this is the original scan.
    duplicate: bool,
}

/// The answer to an upload made with `wait` once the scan has settled.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettledUpload {
    #[serde(flatten)]
    scan: ScanView,
    /// The same upload was received before; this is the original scan.
    duplicate: bool,
}

/// A scan with its analysis.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScanView {
    #[serde(flatten)]
    scan: ScanRecord,
    #[schema(value_type = Option<crate::inference::analysis::Analysis>)]
    analysis: Option<Value>,
}

/// Upload a scan (stations).
#[utoipa::path(post, path = "/api/v1/scans", tag = "stations", security(("bearer" = [])), params(UploadQuery),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 202, description = "accepted", body = UploadAccepted),
        (status = 200, description = "a retry of an accepted upload (`UploadAccepted`), or the settled scan when `wait` was given", body = SettledUpload),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody),
        (status = 507, description = "no room on the service's disk; nothing was stored", body = ErrorBody)))]

pub async fn upload(
    State(app): State<AppState>,
    station: StationCaller,
    ApiQuery(query): ApiQuery<UploadQuery>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    if let Err(wait) = app.upload_limiter().take(&station.station_id) {
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many uploads from this station")
            .retry_after(wait.as_secs().max(1)));
    }
    // Refused before the images are read: a station retrying during a backlog should not
    // send megabytes each time to hear it. (The intake checks again, after the retry check.)
    if app.store.backlog().await? >= app.intake.config().max_backlog {
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "the analysis backlog is full; try again shortly")
            .retry_after(5));
    }
    let multipart = multipart.map_err(|e| multipart_error(e.status(), e.body_text()))?;
    let upload = read_upload(multipart).await?;
    // Subscribed before accepting, so a verdict reached in between is not missed.
    let mut settled = app.events.subscribe();
    let started = std::time::Instant::now();
    let accepted = app.intake.accept(Some(&station.station_id), &upload).await?;
    app.metrics.observe_stage("intake", started.elapsed().as_secs_f64());
    let scan_id = accepted.scan_id().to_owned();
    let duplicate = matches!(accepted, Accepted::Duplicate { .. });

    if let Some(seconds) = query.wait.filter(|&s| s > 0) {
        let wait = Duration::from_secs(seconds).min(app.config.max_wait);
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(scan) = app.store.scan(&scan_id).await?
                && is_settled(scan.state)
            {
                let settled = SettledUpload { scan: scan_view(&app, scan).await?, duplicate };
                return Ok((StatusCode::OK, Json(settled)).into_response());
            }
            // Any event (or a lagged channel) is a cue to look again; only the deadline stops.
            if tokio::time::timeout_at(deadline, settled.recv()).await.is_err() {
                break;
            }
        }
    }
    let status_url = format!("/api/v1/scans/{scan_id}");
    let status = if duplicate { StatusCode::OK } else { StatusCode::ACCEPTED };
    let body = UploadAccepted { scan_id, status_url: status_url.clone(), duplicate };
    Ok((status, [(header::LOCATION, status_url)], Json(body)).into_response())
}

fn is_settled(state: ScanState) -> bool {
    !matches!(state, ScanState::Received | ScanState::Analysing | ScanState::Analysed)
}

/// The parts `metadata`, `high` and optional `low`; anything else is refused. A refused upload's
/// remaining parts are read before answering: a client still sending would otherwise see a
/// broken connection instead of the reason.
async fn read_upload(mut multipart: Multipart) -> Result<Upload, ApiError> {
    let result = read_parts(&mut multipart).await;
    if result.is_err() {
        while let Ok(Some(field)) = multipart.next_field().await {
            if field.bytes().await.is_err() {
                break;
            }
        }
    }
    result
}

async fn read_parts(multipart: &mut Multipart) -> Result<Upload, ApiError> {
    let (mut metadata, mut high, mut low) = (None, None, None);
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(e.status(), e.body_text())),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let content_type = field.content_type().map(str::to_owned);
        let (slot, allowed): (&mut Option<bytes::Bytes>, &[&str]) = match name.as_str() {
            "metadata" => (&mut metadata, &["application/json", "text/plain", "application/octet-stream"]),
            "high" => (&mut high, &["image/png", "image/tiff", "application/octet-stream"]),
            "low" => (&mut low, &["image/png", "image/tiff", "application/octet-stream"]),
            other => {
                return Err(ApiError::bad_request(
                    "unexpected_part",
                    format!("unexpected part {other:?}: an upload has the parts metadata, high and (dual-energy) low"),
                ));
            }
        };
        if let Some(content_type) = content_type.filter(|t| !allowed.iter().any(|a| t.starts_with(a))) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "wrong_content_type",
                format!("part {name:?} has content type {content_type}; expected one of {}", allowed.join(", ")),
            ));
        }
        if slot.is_some() {
            return Err(ApiError::bad_request("duplicate_part", format!("part {name:?} appears twice")));
        }
        let bytes = field.bytes().await.map_err(|e| multipart_error(e.status(), e.body_text()))?;
        if name == "metadata" && bytes.len() > MAX_METADATA_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "metadata_too_large",
                format!("the metadata part is {} bytes; at most {MAX_METADATA_BYTES} are accepted", bytes.len()),
            ));
        }
        *slot = Some(bytes);
    }
    let missing = |part: &str| ApiError::bad_request("missing_part", format!("the upload has no {part:?} part"));
    Ok(Upload { metadata: metadata.ok_or_else(|| missing("metadata"))?, high: high.ok_or_else(|| missing("high"))?, low })
}

/// A form that is not multipart, or breaks off (axum's `MultipartRejection` and `MultipartError`).
fn multipart_error(status: StatusCode, text: String) -> ApiError {
    let code = if status == StatusCode::PAYLOAD_TOO_LARGE { "too_large" } else { "bad_multipart" };
    ApiError::new(status, code, text)
}

/// A scan the caller may see, or why not.
async fn visible_scan(app: &AppState, caller: &Caller, id: &str) -> Result<ScanRecord, ApiError> {
    let scan = app.store.scan(id).await?.ok_or_else(|| ApiError::not_found(format!("no scan {id}")))?;
    if !caller.may_read_station(&scan.station_id) {
        return Err(ApiError::forbidden("stations read only their own scans"));
    }
    Ok(scan)
}

/// Retention deletes a settled scan's images and heatmap after the configured days.
fn images_kept(scan: &ScanRecord) -> Result<(), ApiError> {
    match scan.images_purged_at {
        Some(at) => Err(ApiError::new(
            StatusCode::GONE,
            "images_purged",
            format!("the images of scan {} were deleted on {} under the retention policy", scan.id, crate::queue::to_rfc3339(at)),
        )),
        None => Ok(()),
    }
}

/// `410` when a purge marked the scan since `scan` was read: it marks before it deletes the
/// files, so an image that could not be read may have gone in between.
async fn purged_since(app: &AppState, scan: &ScanRecord) -> Option<ApiError> {
    match app.store.scan(&scan.id).await {
        Ok(Some(now)) => images_kept(&now).err(),
        _ => None,
    }
}

/// A scan record with its analysis, as `GET /api/v1/scans/{id}` answers.
pub(super) async fn scan_view(app: &AppState, scan: ScanRecord) -> Result<ScanView, ApiError> {
    let analysis = app.store.analysis_summary(&scan.id).await?;
    Ok(ScanView { scan, analysis })
}

/// A scan: state, verdict with reasons, analysis (stations: their own scans only).
#[utoipa::path(get, path = "/api/v1/scans/{id}", tag = "scans", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ScanView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn show(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<ScanView>, ApiError> {
    let scan = visible_scan(&app, &caller, &id).await?;
    Ok(Json(scan_view(&app, scan).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImageQuery {
    /// `high` (default) or `low`.
    energy: Option<String>,
    /// Contrast window width in attenuation units (default 6).
    window: Option<f32>,
    /// Attenuation shown mid-grey (default 3).
    level: Option<f32>,
    /// `gray` (default) or `material` (dual-energy scans: organic orange, inorganic green, metal blue).
    mode: Option<String>,
}

/// The scan image as an 8-bit PNG for people.
#[utoipa::path(get, path = "/api/v1/scans/{id}/image.png", tag = "scans", security(("bearer" = [])),
    params(("id" = String, Path), ImageQuery),
    responses((status = 200, content_type = "image/png"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 410, description = "the images were deleted under the retention policy", body = ErrorBody)))]

pub async fn image(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ImageQuery>,
) -> Result<Response, ApiError> {
    let scan = visible_scan(&app, &caller, &id).await?;
    images_kept(&scan)?;
    let energy = match query.energy.as_deref() {
        None | Some("high") => Energy::High,
        Some("low") => Energy::Low,
        Some(other) => return Err(ApiError::bad_request("invalid_query", format!("energy is high or low, not {other:?}"))),
    };
    let material = match query.mode.as_deref() {
        None | Some("gray") | Some("grey") => false,
        Some("material") => true,
        Some(other) => return Err(ApiError::bad_request("invalid_query", format!("mode is gray or material, not {other:?}"))),
    };
    let defaults = Window::default();
    let window = Window { level: query.level.unwrap_or(defaults.level), width: query.window.unwrap_or(defaults.width) };
    if !(window.width > 0.0 && window.width.is_finite() && window.level.is_finite()) {
        return Err(ApiError::bad_request("invalid_query", "window must be positive and level finite"));
    }
    let needs_low = energy == Energy::Low || material;
    let low_key = match (&scan.low_image, needs_low) {
        (Some(key), true) => Some(key.clone()),
        (None, true) => return Err(ApiError::bad_request("single_energy", "this scan has no low-energy image")),
        (_, false) => None,
    };
    let read = async {
        let high = app.images.get(&scan.high_image).await?;
        let low = match low_key {
            Some(key) => Some(app.images.get(&key).await?),
            None => None,
        };
        Ok::<_, ImageStoreError>((high, low))
    };
    let (high, low) = match read.await {
        Ok(images) => images,
        Err(error) => return Err(purged_since(&app, &scan).await.unwrap_or_else(|| error.into())),
    };
    let limits = app.intake.config().limits;
    let png = crate::on_blocking_thread(move || {
        let images = decode_scan(&high, low.as_deref(), &limits).map_err(|e| e.to_string())?;
        let (w, h) = (images.width, images.height);
        let low = images.low.as_deref().unwrap_or(&images.high);
        let shown = if energy == Energy::Low { low } else { &images.high };
        if material {
            encode_png(&material_colour(&images.high, low, w, h, window))
        } else {
            encode_png(&grayscale(shown, w, h, window))
        }
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "render_failed", e))?;
    Ok(png_response(png))
}

/// The anomaly heatmap as a transparent overlay of the image's size.
#[utoipa::path(get, path = "/api/v1/scans/{id}/heatmap.png", tag = "scans", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, content_type = "image/png"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 410, description = "the heatmap was deleted under the retention policy", body = ErrorBody)))]
pub async fn heatmap(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let scan = visible_scan(&app, &caller, &id).await?;
    images_kept(&scan)?;
    let stored = app
        .store
        .analysis(&scan.id)
        .await?
        .ok_or_else(|| ApiError::not_found("the scan has not been analysed yet"))?;
    // Only a purge deletes the cells, in the transaction that marks the scan: it ran since
    // the scan was read.
    let Some(map) = stored.heatmap else {
        return Err(ApiError::new(
            StatusCode::GONE,
            "images_purged",
            format!("the heatmap of scan {} was deleted under the retention policy", scan.id),
        ));
    };
    let number = |field: &str| stored.analysis["image"][field].as_u64().and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
    let (width, height) = (number("width"), number("height"));
    let threshold = stored.analysis["anomaly_threshold"].as_f64().unwrap_or(f64::MAX) as f32;
    let png = crate::on_blocking_thread(move || {
        encode_png(&heatmap_layer(&map.values, map.columns, map.cell, threshold, width, height))
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "render_failed", e))?;
    Ok(png_response(png))
}

fn encode_png<P, C>(image: &image::ImageBuffer<P, C>) -> Result<Vec<u8>, String>
where
    P: image::Pixel<Subpixel = u8> + image::PixelWithColorType,
    C: std::ops::Deref<Target = [u8]>,
{
    use image::ImageEncoder;
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let mut png = Vec::new();
    PngEncoder::new_with_quality(&mut png, CompressionType::Fast, FilterType::Adaptive)
        .write_image(image.as_raw(), image.width(), image.height(), P::COLOR_TYPE)
        .map_err(|e| e.to_string())?;
    Ok(png)
}

fn png_response(png: Vec<u8>) -> Response {
    // A scan's images never change: the browser may keep them for the shift.
    ([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "private, max-age=43200")], png).into_response()
}
