//! The station side end to end: `scantriage upload` and the station agent against a real
//! service on a loopback port, directly or through a front that plays an unreliable network.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use scantriage::config::ConfigFile;
use scantriage::queue::Store;
use scantriage::station::agent::{self, AgentConfig, Summary};
use scantriage::station::client::{Outcome, StationClient};
use scantriage::station::retry::RetryPolicy;
use serde_json::{Value, json};
use support::server::{TestServer, client, sample_dir};

/// One service for every test; each test uploads as its own station, so counts do not mix.
static SERVER: LazyLock<TestServer> = LazyLock::new(|| TestServer::start(ConfigFile::default()));

/// A dual-energy, a single-energy and an empty-container sample.
const SAMPLES: [&str; 3] = ["SIM-65-000000", "SIM-6e-000009", "SIM-67-000002"];

/// Copies a sample into `dir/<station_scan_id>/` as `station` would export it, `edit`ed.
fn export_scan(sample: &str, dir: &Path, station: &str, station_scan_id: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let (from, to) = (sample_dir(sample), dir.join(station_scan_id));
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    let mut metadata: Value = serde_json::from_slice(&std::fs::read(from.join("meta.json")).unwrap()).unwrap();
    metadata["station_id"] = json!(station);
    metadata["station_scan_id"] = json!(station_scan_id);
    edit(&mut metadata);
    std::fs::write(to.join("meta.json"), serde_json::to_vec_pretty(&metadata).unwrap()).unwrap();
    to
}

/// The samples exported under `ids`, one each.
fn export_samples(dir: &Path, station: &str, ids: &[&str]) -> Vec<PathBuf> {
    ids.iter().zip(SAMPLES).map(|(id, sample)| export_scan(sample, dir, station, id, |_| {})).collect()
}

async fn station_client(url: &str, station: &str) -> StationClient {
    let key = SERVER.station_key(station).await.parse().unwrap();
    StationClient::new(url, key, Duration::from_secs(60)).unwrap()
}

/// Fast enough for tests, slow enough to see the backoff.
fn agent_config(watch: &Path) -> AgentConfig {
    AgentConfig {
        poll_interval: Duration::from_millis(50),
        settle: Duration::from_millis(300),
        retry: RetryPolicy { initial: Duration::from_millis(100), max: Duration::from_secs(2) },
        ..AgentConfig::new(watch)
    }
}

/// Runs the agent until `finished` holds, then a few more polls in which nothing else may
/// happen, then shuts it down; fails the test after a minute.
async fn run_agent(client: &StationClient, config: &AgentConfig, finished: impl Fn() -> bool) -> Summary {
    let shutdown = async {
        while !finished() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    tokio::time::timeout(Duration::from_secs(60), agent::run(client, config, shutdown))
        .await
        .expect("the agent finished its work within a minute")
        .expect("the agent starts")
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> =
        std::fs::read_dir(dir).map_or(vec![], |entries| entries.map(|e| e.unwrap().file_name().into_string().unwrap()).collect());
    names.sort();
    names
}

/// The station's scans on the service: their count, and which of `ids` it has.
async fn scans_on_server(station: &str, ids: &[&str]) -> (i64, usize) {
    let store = Store::open(&SERVER.database_url).await.unwrap();
    let count = store.stats(1).await.unwrap().by_station.get(station).map_or(0, |lanes| lanes.values().sum());
    let mut found = 0;
    for id in ids {
        found += usize::from(store.find_station_scan(station, id).await.unwrap().is_some());
    }
    (count, found)
}

/// `scantriage upload ARGS…` with the key in the environment.
async fn upload_command(key: &str, args: Vec<String>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scantriage"));
    command.arg("upload").args(args).env("SCANTRIAGE_KEY", key).env("NO_COLOR", "1");
    let run = tokio::task::spawn_blocking(move || command.output().unwrap());
    tokio::time::timeout(Duration::from_secs(120), run).await.expect("upload finishes").unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_command_reports_accepted_then_duplicate_then_verdict_and_fails_on_bad_folders() {
    let dir = tempfile::tempdir().unwrap();
    let station = "STATION-CLI";
    let scans: Vec<String> =
        export_samples(dir.path(), station, &["CLI-1", "CLI-2"]).iter().map(|p| p.display().to_string()).collect();
    let key = SERVER.station_key(station).await;
    let url = SERVER.url.clone();
    let with_url = |args: &[&str]| [&["--url", url.as_str()], args].concat().into_iter().map(str::to_owned).collect::<Vec<_>>();
    let all = |extra: &[&str]| with_url(&[extra, &scans.iter().map(String::as_str).collect::<Vec<_>>()].concat());

    let first = upload_command(&key, all(&[])).await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    let lines: Vec<String> = text(&first.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let mut ids = Vec::new();
    for (line, scan) in lines.iter().zip(&scans) {
        let id = line.strip_prefix(&format!("{scan}: accepted as scan ")).unwrap_or_else(|| panic!("{line}"));
        ids.push(id.to_owned());
    }

    let again = upload_command(&key, all(&[])).await;
    assert!(again.status.success(), "{}", text(&again.stderr));
    let expected: Vec<String> = scans.iter().zip(&ids).map(|(scan, id)| format!("{scan}: duplicate of scan {id}")).collect();
    assert_eq!(text(&again.stdout).lines().collect::<Vec<_>>(), expected);
    assert_eq!(scans_on_server(station, &["CLI-1", "CLI-2"]).await, (2, 2));

    let waited = upload_command(&key, with_url(&["--wait", "30", &scans[0]])).await;
    let line = text(&waited.stdout);
    assert!(line.starts_with(&format!("{}: scan {}: lane ", scans[0], ids[0])) && line.contains(", risk "), "{line}");
    assert!(line.trim_end().ends_with(", a duplicate"), "sent before: {line}");

    // A folder without meta.json is refused before sending; invalid metadata by the service.
    let incomplete = dir.path().join("incomplete");
    std::fs::create_dir(&incomplete).unwrap();
    let invalid = export_scan(SAMPLES[0], dir.path(), station, "CLI-bad", |m| m["pixel_pitch_mm"] = json!(0.1));
    let failed = upload_command(&key, with_url(&[&incomplete.display().to_string(), &invalid.display().to_string()])).await;
    assert!(!failed.status.success());
    let stdout = text(&failed.stdout);
    assert!(stdout.contains(&format!("{}: rejected: incomplete_scan: {} has no meta.json", incomplete.display(), incomplete.display())), "{stdout}");
    assert!(stdout.contains(&format!("{}: rejected: HTTP 422: invalid_metadata: ", invalid.display())), "{stdout}");
    assert!(stdout.contains("pixel_pitch_mm"), "the field at fault is named: {stdout}");
    assert!(text(&failed.stderr).contains("2 of 2 scans were not uploaded"), "{}", text(&failed.stderr));

    // Nothing listens: retried, then given up on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let args = vec!["--url".into(), format!("http://{closed}"), "--max-attempts".into(), "2".into(), scans[0].clone()];
    let down = upload_command(&key, args).await;
    assert!(!down.status.success());
    assert!(text(&down.stdout).contains("not uploaded after 2 attempts: ") && text(&down.stdout).contains("onnect"), "{}", text(&down.stdout));
    for output in [&first, &again, &waited, &failed, &down] {
        assert!(!text(&output.stdout).contains(&key) && !text(&output.stderr).contains(&key), "the key is never printed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_uploads_complete_scan_folders_and_moves_them_to_done() {
    let watch = tempfile::tempdir().unwrap();
    let station = "STATION-AGENT";
    let ids = ["AGENT-1", "AGENT-2", "AGENT-3"];
    export_samples(watch.path(), station, &ids);
    // Still being written by the scanner (no meta.json yet), and a stray file: both stay.
    std::fs::create_dir(watch.path().join("AGENT-4")).unwrap();
    std::fs::copy(sample_dir(SAMPLES[0]).join("high.png"), watch.path().join("AGENT-4/high.png")).unwrap();
    std::fs::write(watch.path().join("scanner.log"), "ok").unwrap();

    let client = station_client(&SERVER.url, station).await;
    let config = agent_config(watch.path());
    let done = config.spool.join("done");
    let summary = run_agent(&client, &config, || names(&done).len() == 3).await;

    assert_eq!(summary, Summary { uploaded: 3, ..Summary::default() });
    assert_eq!(names(&done), ids);
    assert_eq!(names(watch.path()), [".scantriage", "AGENT-4", "scanner.log"]);
    assert!(names(&config.spool.join("pending")).is_empty() && names(&config.spool.join("rejected")).is_empty());
    assert!(names(&done.join("AGENT-1")).contains(&"truth.json".to_owned()), "moved whole");
    assert_eq!(scans_on_server(station, &ids).await, (3, 3));
}

/// Per request, when it came and the status it got (`None` for a connection closed unanswered).
type RequestLog = Arc<Mutex<Vec<(Instant, Option<StatusCode>)>>>;

/// Where the front is and what it did.
struct Front {
    url: String,
    log: RequestLog,
}

struct Relay {
    backend: String,
    busy_left: AtomicUsize,
    log: RequestLog,
}

/// A front for `backend` on its own loopback port: it closes the first `drops` connections
/// unanswered (the network is down), answers the next `busy` requests 503 with
/// `Retry-After: 1` (the service is overloaded), then relays requests to `backend`.
async fn front(backend: &str, drops: usize, busy: usize) -> Front {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log = RequestLog::default();
    let relay = Arc::new(Relay { backend: backend.to_owned(), busy_left: AtomicUsize::new(busy), log: log.clone() });
    tokio::spawn(async move {
        for _ in 0..drops {
            let (connection, _) = listener.accept().await.unwrap();
            relay.log.lock().unwrap().push((Instant::now(), None));
            drop(connection);
        }
        axum::serve(listener, axum::Router::new().fallback(relay_request).with_state(relay)).await.unwrap();
    });
    Front { url, log }
}

async fn relay_request(State(relay): State<Arc<Relay>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // Read in full before answering, as the service does, so the client sees the answer.
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let arrived = Instant::now();
    let response = if relay.busy_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
        let error = json!({ "error": { "code": "busy", "message": "the analysis backlog is full" } });
        (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")], axum::Json(error)).into_response()
    } else {
        let mut forward = client().post(format!("{}{}", relay.backend, parts.uri)).body(body);
        for name in [header::AUTHORIZATION, header::CONTENT_TYPE] {
            if let Some(value) = parts.headers.get(&name) {
                forward = forward.header(name, value);
            }
        }
        let answer = forward.send().await.unwrap();
        (answer.status(), [(header::CONTENT_TYPE, "application/json")], answer.bytes().await.unwrap()).into_response()
    };
    relay.log.lock().unwrap().push((arrived, Some(response.status())));
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_retries_while_the_network_is_down_and_the_service_busy_and_sends_each_scan_once() {
    let watch = tempfile::tempdir().unwrap();
    let station = "STATION-FLAKY";
    let ids = ["FLAKY-1", "FLAKY-2", "FLAKY-3"];
    export_samples(watch.path(), station, &ids);
    let front = front(&SERVER.url, 2, 2).await;
    let client = station_client(&front.url, station).await;
    let config = agent_config(watch.path());
    let done = config.spool.join("done");
    let summary = run_agent(&client, &config, || names(&done).len() == 3).await;

    assert_eq!(summary, Summary { uploaded: 3, failed_attempts: 4, ..Summary::default() });
    assert_eq!(names(&done), ids);
    let log = front.log.lock().unwrap().clone();
    let statuses: Vec<_> = log.iter().map(|(_, status)| status.map(|s| s.as_u16())).collect();
    assert_eq!(statuses, [None, None, Some(503), Some(503), Some(202), Some(202), Some(202)], "each scan reaches the service once");
    for busy in [2, 3] {
        let waited = log[busy + 1].0 - log[busy].0;
        assert!(waited >= Duration::from_millis(950), "Retry-After: 1 is honoured, waited {waited:?}");
    }
    assert_eq!(scans_on_server(station, &ids).await, (3, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_scan_goes_to_rejected_with_the_reason_and_is_not_sent_again() {
    let watch = tempfile::tempdir().unwrap();
    let station = "STATION-REJECT";
    export_scan(SAMPLES[0], watch.path(), station, "REJECT-ok", |_| {});
    export_scan(SAMPLES[1], watch.path(), station, "REJECT-bad", |m| m["containers"][0]["number"] = json!("TRXU0730954"));
    let no_image = export_scan(SAMPLES[2], watch.path(), station, "REJECT-noimage", |_| {});
    std::fs::remove_file(no_image.join("high.png")).unwrap();

    let front = front(&SERVER.url, 0, 0).await;
    let client = station_client(&front.url, station).await;
    let config = agent_config(watch.path());
    let (done, rejected) = (config.spool.join("done"), config.spool.join("rejected"));
    let summary = run_agent(&client, &config, || names(&done).len() + names(&rejected).len() == 3).await;

    assert_eq!(summary, Summary { uploaded: 1, rejected: 2, ..Summary::default() });
    assert_eq!(names(&done), ["REJECT-ok"]);
    assert_eq!(names(&rejected), ["REJECT-bad", "REJECT-noimage"]);
    let error = |name: &str| -> Value { serde_json::from_slice(&std::fs::read(rejected.join(name).join("error.json")).unwrap()).unwrap() };
    let refused = error("REJECT-bad");
    assert_eq!(refused["error"]["code"], "invalid_metadata", "{refused}");
    assert_eq!(refused["error"]["details"][0]["field"], "containers[0].number", "{refused}");
    let incomplete = error("REJECT-noimage");
    assert_eq!(incomplete["error"]["code"], "incomplete_scan", "{incomplete}");
    assert!(incomplete["error"]["message"].as_str().unwrap().contains("no high-energy image"), "{incomplete}");
    let statuses: Vec<_> = front.log.lock().unwrap().iter().map(|(_, status)| status.map(|s| s.as_u16())).collect();
    assert_eq!(statuses, [Some(422), Some(202)], "one request each for the sendable scans, in name order, no retries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_wait_in_pending_while_the_key_is_refused_or_another_stations_and_go_once_it_is_fixed() {
    let watch = tempfile::tempdir().unwrap();
    let station = "STATION-REVOKED";
    let ids = ["REVOKED-1", "REVOKED-2"];
    let folders = export_samples(watch.path(), station, &ids);
    let accounts = SERVER.accounts().await;
    let (key_id, revoked) = accounts.create_station_key(station).await.unwrap();
    accounts.revoke_station_key(&key_id).await.unwrap();

    let output = upload_command(&revoked, vec!["--url".into(), SERVER.url.clone(), folders[0].display().to_string()]).await;
    assert!(!output.status.success());
    assert!(text(&output.stdout).contains("not uploaded: HTTP 401: the service refuses the station key"), "{}", text(&output.stdout));

    // A refused key is the station's problem, not the scans': they wait, none is rejected.
    let config = agent_config(watch.path());
    let (pending, done, rejected) = (config.spool.join("pending"), config.spool.join("done"), config.spool.join("rejected"));
    let refused = StationClient::new(&SERVER.url, revoked.parse().unwrap(), Duration::from_secs(60)).unwrap();
    let summary = run_agent(&refused, &config, || names(&pending).len() == 2).await;
    assert_eq!((summary.uploaded, summary.rejected), (0, 0), "{summary:?}");
    assert!(summary.failed_attempts >= 1, "{summary:?}");
    assert_eq!((names(&pending), names(&rejected)), (ids.map(String::from).to_vec(), vec![]));

    // So is another station's key: every scan would be refused, none is rejected.
    let neighbours = SERVER.station_key("STATION-NEIGHBOUR").await;
    let output = upload_command(&neighbours, vec!["--url".into(), SERVER.url.clone(), pending.join(ids[0]).display().to_string()]).await;
    assert!(!output.status.success());
    assert!(text(&output.stdout).contains("fix the station key"), "{}", text(&output.stdout));
    let other_station = StationClient::new(&SERVER.url, neighbours.parse().unwrap(), Duration::from_secs(60)).unwrap();
    let tried_for = Instant::now() + Duration::from_secs(2);
    let summary = run_agent(&other_station, &config, || Instant::now() >= tried_for).await;
    assert_eq!((summary.uploaded, summary.rejected), (0, 0), "{summary:?}");
    assert!(summary.failed_attempts >= 1, "{summary:?}");
    assert_eq!((names(&pending), names(&rejected)), (ids.map(String::from).to_vec(), vec![]));

    let client = station_client(&SERVER.url, station).await;
    let summary = run_agent(&client, &config, || names(&done).len() == 2).await;
    assert_eq!(summary, Summary { uploaded: 2, ..Summary::default() });
    assert_eq!(scans_on_server(station, &ids).await, (2, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_left_pending_by_a_crash_are_sent_again_on_restart_and_answered_as_duplicates() {
    let watch = tempfile::tempdir().unwrap();
    let station = "STATION-CRASH";
    let config = agent_config(watch.path());
    let pending = config.spool.join("pending");
    // The crash came after the first scan was uploaded but before it moved to done/, and
    // before the second was sent.
    let sent = export_scan(SAMPLES[0], &pending, station, "CRASH-1", |_| {});
    export_scan(SAMPLES[1], &pending, station, "CRASH-2", |_| {});
    let client = station_client(&SERVER.url, station).await;
    let Outcome::Done(receipt) = client.send(&sent, None).await else { panic!("the first upload is accepted") };
    assert_eq!(receipt.duplicate, Some(false));

    let done = config.spool.join("done");
    let summary = run_agent(&client, &config, || names(&done).len() == 2).await;

    assert_eq!(summary, Summary { uploaded: 1, duplicates: 1, ..Summary::default() });
    assert_eq!(names(&done), ["CRASH-1", "CRASH-2"]);
    assert!(names(&pending).is_empty());
    assert_eq!(scans_on_server(station, &["CRASH-1", "CRASH-2"]).await, (2, 2));
}
