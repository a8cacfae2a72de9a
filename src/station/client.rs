//! The station's HTTP client: one upload attempt, and what its answer means for the scan —
//! done, refused for good, or worth another try.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::multipart::{Form, Part};
use reqwest::{StatusCode, Url};
use serde_json::{Value, json};

use super::error_chain;
use super::folder::{FolderError, Image, read_scan};
use super::retry::parse_retry_after;

/// A station's API key. It goes into the `Authorization` header and nowhere else: `Debug`
/// hides it, so it cannot end up in a log line.
#[derive(Clone)]
pub struct StationKey(String);

impl fmt::Debug for StationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StationKey(…)")
    }
}

impl FromStr for StationKey {
    type Err = &'static str;

    fn from_str(key: &str) -> Result<Self, Self::Err> {
        let key = key.trim();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("a station key is non-empty printable ASCII without spaces");
        }
        Ok(Self(key.to_owned()))
    }
}

/// The answer to one upload attempt.
#[derive(Debug)]
pub enum Outcome {
    /// The service holds the scan: new, a duplicate of an earlier upload, or settled.
    Done(Receipt),
    /// The service (or the station, for a broken folder) refuses the scan as it is; sending it
    /// again cannot help.
    Rejected(Rejection),
    /// The service or the network is unavailable; the same upload may succeed later.
    Retry(Transient),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub scan_id: String,
    /// Whether the service had this upload already; unknown when the answer is the settled scan
    /// (`?wait=`), which does not say.
    pub duplicate: Option<bool>,
    /// The scan itself when it settled within `?wait=`.
    pub verdict: Option<Verdict>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub state: String,
    pub lane: Option<String>,
    pub risk_score: Option<i64>,
    pub failure: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// `None` when the station refused the folder before sending anything.
    pub status: Option<StatusCode>,
    /// The service's error document, or one of the same shape (`{"error": {"code", "message"}}`).
    pub error: Value,
}

impl Rejection {
    fn local(error: &FolderError) -> Self {
        Self { status: None, error: json!({ "error": { "code": error.code(), "message": error_chain(error) } }) }
    }

    /// One line: status, code, message and each field error, as a station operator needs it.
    pub fn summary(&self) -> String {
        let error = &self.error["error"];
        let status = self.status.map(|s| format!("HTTP {}", s.as_u16()));
        let parts = [status.as_deref(), error["code"].as_str(), error["message"].as_str()];
        parts.into_iter().flatten().collect::<Vec<_>>().join(": ")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transient {
    pub reason: String,
    /// The service's `Retry-After`.
    pub retry_after: Option<Duration>,
    /// Waiting alone will not help: the station's key or service URL must be fixed.
    pub needs_operator: bool,
}

/// Uploads scans to one service with one station key.
#[derive(Debug, Clone)]
pub struct StationClient {
    http: reqwest::Client,
    scans_url: Url,
    key: StationKey,
    timeout: Duration,
}

impl StationClient {
    /// `base_url` is the service's root, such as `http://scantriage.customs.local:8080`.
    /// `timeout` bounds each attempt, on top of any `?wait=`.
    pub fn new(base_url: &str, key: StationKey, timeout: Duration) -> anyhow::Result<Self> {
        let mut base = Url::parse(base_url).map_err(|e| anyhow::anyhow!("{base_url:?} is not a URL: {e}"))?;
        // This build speaks plain HTTP only (Cargo.toml): TLS terminates at the site's proxy.
        anyhow::ensure!(base.scheme() == "http", "the service URL must start with http://, got {base_url:?}");
        // The service may live under a path prefix, which `join` keeps only behind a slash.
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let scans_url = base.join("api/v1/scans").map_err(|e| anyhow::anyhow!("{base_url:?}: {e}"))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10).min(timeout))
            // A redirect would turn the POST into a GET; it means the URL is wrong.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { http, scans_url, key, timeout })
    }

    /// One attempt at uploading the scan in `folder`; `wait` asks the service to answer with
    /// the verdict if it comes within that many seconds.
    pub async fn send(&self, folder: &Path, wait: Option<u64>) -> Outcome {
        let scan = match read_scan(folder).await {
            Ok(scan) => scan,
            Err(error) => return Outcome::Rejected(Rejection::local(&error)),
        };
        let mut form = Form::new()
            .part("metadata", part(scan.metadata, "meta.json".into(), "application/json"))
            .part("high", image_part(scan.high));
        if let Some(low) = scan.low {
            form = form.part("low", image_part(low));
        }
        let mut url = self.scans_url.clone();
        if let Some(wait) = wait {
            url.query_pairs_mut().append_pair("wait", &wait.to_string());
        }
        let request = self
            .http
            .post(url)
            .bearer_auth(&self.key.0)
            .timeout(self.timeout + Duration::from_secs(wait.unwrap_or(0)))
            .multipart(form);
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => return Outcome::Retry(Transient { reason: error_chain(&error), retry_after: None, needs_operator: false }),
        };
        let status = response.status();
        let retry_after = retry_after(response.headers());
        match response.bytes().await {
            Ok(body) => classify(status, retry_after, &body),
            // The scan may be stored already; the idempotent retry will say so.
            Err(error) => Outcome::Retry(Transient { reason: error_chain(&error), retry_after, needs_operator: false }),
        }
    }
}

fn part(bytes: Vec<u8>, file_name: String, mime: &str) -> Part {
    Part::bytes(bytes).file_name(file_name).mime_str(mime).expect("a valid MIME type")
}

fn image_part(image: Image) -> Part {
    part(image.bytes, image.file_name, image.mime)
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    parse_retry_after(headers.get(RETRY_AFTER)?.to_str().ok()?, SystemTime::now())
}

/// What an answer means for the scan. Client errors are final (the same request gets the same
/// answer), except 408 and 429 which are about timing, and 401 and 403 `wrong_station` which
/// are about the station's key, not the scan; server errors, and anything the station cannot
/// read as the service's answer, are retried.
pub fn classify(status: StatusCode, retry_after: Option<Duration>, body: &[u8]) -> Outcome {
    let json = serde_json::from_slice::<Value>(body).ok();
    let transient = |reason: String| Outcome::Retry(Transient { reason, retry_after, needs_operator: false });
    let operator = |reason: String| Outcome::Retry(Transient { reason, retry_after, needs_operator: true });
    if status == StatusCode::UNAUTHORIZED {
        let reason = "HTTP 401: the service refuses the station key (unknown, revoked or expired); fix the key, the scan waits";
        return operator(reason.into());
    }
    // Either the key is another station's, which refuses every scan until it is fixed, or this
    // one scan names another station; the agent cannot tell which, and waiting loses nothing.
    if status == StatusCode::FORBIDDEN && json.as_ref().is_some_and(|j| j["error"]["code"] == "wrong_station") {
        let message = json.as_ref().and_then(|j| j["error"]["message"].as_str()).unwrap_or_default();
        return operator(format!("HTTP 403: {message}; fix the station key (or the scan's station_id), the scan waits"));
    }
    if status.is_success() {
        return match json.as_ref().and_then(receipt) {
            Some(receipt) => Outcome::Done(receipt),
            None => transient(format!("HTTP {}: the answer is not a scan receipt: {}", status.as_u16(), excerpt(body))),
        };
    }
    if status.is_client_error() && !matches!(status, StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS) {
        let error = match json {
            Some(json) if json["error"].is_object() => json,
            _ => json!({ "error": { "code": format!("http_{}", status.as_u16()), "message": excerpt(body) } }),
        };
        return Outcome::Rejected(Rejection { status: Some(status), error });
    }
    if status.is_redirection() {
        return operator(format!("HTTP {}: the service URL redirects elsewhere; check it", status.as_u16()));
    }
    let message = json.as_ref().and_then(|j| j["error"]["message"].as_str().map(str::to_owned));
    transient(format!("HTTP {}: {}", status.as_u16(), message.unwrap_or_else(|| excerpt(body))))
}

/// A receipt (`202`/`200` with `scan_id`) or, after `?wait=`, the settled scan (`id`, `lane`…).
fn receipt(json: &Value) -> Option<Receipt> {
    if let Some(scan_id) = json["scan_id"].as_str() {
        return Some(Receipt { scan_id: scan_id.to_owned(), duplicate: json["duplicate"].as_bool(), verdict: None });
    }
    let text = |key: &str| json[key].as_str().map(str::to_owned);
    Some(Receipt {
        scan_id: text("id")?,
        duplicate: json["duplicate"].as_bool(),
        verdict: Some(Verdict {
            state: text("state")?,
            lane: text("lane"),
            risk_score: json["risk_score"].as_i64(),
            failure: text("failure"),
        }),
    })
}

/// The start of a body that is not the service's JSON (a proxy's error page, say).
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "no body".to_owned();
    }
    let mut short: String = text.chars().take(200).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(status: u16, body: &str) -> Rejection {
        match classify(StatusCode::from_u16(status).unwrap(), None, body.as_bytes()) {
            Outcome::Rejected(rejection) => rejection,
            other => panic!("{status} should be final: {other:?}"),
        }
    }

    fn retried(status: u16, retry_after: Option<Duration>, body: &str) -> Transient {
        match classify(StatusCode::from_u16(status).unwrap(), retry_after, body.as_bytes()) {
            Outcome::Retry(transient) => transient,
            other => panic!("{status} should be retried: {other:?}"),
        }
    }

    #[test]
    fn receipts_new_duplicate_and_settled() {
        let body = r#"{"scan_id": "s1", "status_url": "/api/v1/scans/s1", "duplicate": false}"#;
        let Outcome::Done(receipt) = classify(StatusCode::ACCEPTED, None, body.as_bytes()) else { panic!() };
        assert_eq!(receipt, Receipt { scan_id: "s1".into(), duplicate: Some(false), verdict: None });
        let body = r#"{"scan_id": "s1", "duplicate": true}"#;
        let Outcome::Done(receipt) = classify(StatusCode::OK, None, body.as_bytes()) else { panic!() };
        assert_eq!(receipt.duplicate, Some(true));
        let body = r#"{"id": "s1", "state": "queued", "lane": "red", "risk_score": 72, "failure": null}"#;
        let Outcome::Done(receipt) = classify(StatusCode::OK, None, body.as_bytes()) else { panic!() };
        let verdict = receipt.verdict.unwrap();
        assert_eq!((verdict.lane.as_deref(), verdict.risk_score), (Some("red"), Some(72)));
    }

    #[test]
    fn client_errors_are_final_with_the_service_document() {
        let body = r#"{"error": {"code": "invalid_metadata", "message": "invalid scan metadata: station_id: missing", "details": []}}"#;
        for status in [400, 403, 409, 413, 415, 422] {
            let rejection = rejected(status, body);
            assert_eq!(rejection.error["error"]["code"], "invalid_metadata");
        }
        assert_eq!(rejected(422, body).summary(), "HTTP 422: invalid_metadata: invalid scan metadata: station_id: missing");
        let from_a_proxy = rejected(413, "<html>Request Entity Too Large</html>");
        assert_eq!(from_a_proxy.error["error"]["code"], "http_413");
        assert_eq!(from_a_proxy.error["error"]["message"], "<html>Request Entity Too Large</html>");
    }

    #[test]
    fn busy_down_and_unreadable_answers_are_retried() {
        let busy = r#"{"error": {"code": "busy", "message": "64 scans are waiting"}}"#;
        let transient = retried(503, Some(Duration::from_secs(5)), busy);
        assert_eq!(transient.retry_after, Some(Duration::from_secs(5)));
        assert_eq!(transient.reason, "HTTP 503: 64 scans are waiting");
        for status in [408, 429, 500, 502, 504, 507] {
            assert!(!retried(status, None, "").needs_operator);
        }
        assert!(retried(200, None, "<html>portal login</html>").reason.contains("not a scan receipt"));
        let redirect = retried(302, None, "");
        assert!(redirect.reason.contains("redirects") && redirect.needs_operator);
        let refused_key = retried(401, None, r#"{"error": {"code": "unauthorized", "message": "unknown key"}}"#);
        assert!(refused_key.reason.contains("station key") && refused_key.needs_operator);
        let other_station = r#"{"error": {"code": "wrong_station", "message": "this station is A but the metadata says station_id \"B\""}}"#;
        let wrong_key = retried(403, None, other_station);
        assert!(wrong_key.reason.contains("station_id \"B\"; fix the station key") && wrong_key.needs_operator, "{}", wrong_key.reason);
    }

    #[test]
    fn keys_are_checked_and_never_shown() {
        let key: StationKey = " stk_abc123 ".parse().unwrap();
        assert_eq!(key.0, "stk_abc123");
        assert!(!format!("{key:?}").contains("abc"));
        assert!("".parse::<StationKey>().is_err());
        assert!("stk abc".parse::<StationKey>().is_err());
    }
}
