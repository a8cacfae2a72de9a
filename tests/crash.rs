//! Fault test: the service is killed (SIGKILL) while scans are being uploaded and analysed,
//! restarted on the same data directory, and every scan it acknowledged must come out with
//! exactly one analysis.

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use scantriage::queue::{ScanState, Store};
use serde_json::{Value, json};
use sqlx::{Connection, Row};
use scantriage::review::Role;
use support::server::{PASSWORD, client, form, sample_parts};

const UPLOADS: usize = 24;
const KILL_AFTER_ACKS: usize = 8;
const SAMPLES: [&str; 4] = ["SIM-67-000002", "SIM-69-000004", "SIM-6a-000005", "SIM-6c-000007"];

fn start_service(data: &Path) -> (Child, String) {
    let port_file = data.join("port");
    let _ = std::fs::remove_file(&port_file);
    let log = std::fs::OpenOptions::new().create(true).append(true).open(data.join("service.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_scantriage"))
        .args(["serve", "--listen", "127.0.0.1:0", "--port-file"])
        .arg(&port_file)
        .arg("--data-dir")
        .arg(data)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        if let Some(port) = std::fs::read_to_string(&port_file).ok().filter(|p| !p.is_empty()) {
            return (child, format!("http://127.0.0.1:{port}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the service did not start; see {}", data.join("service.log").display());
}

/// Uploads scan `n` (a sample under a station scan id of its own); `Some(scan id)` once acknowledged.
async fn upload(url: &str, key: &str, n: usize) -> Option<String> {
    let (mut metadata, high, low) = sample_parts(SAMPLES[n % SAMPLES.len()]);
    metadata["station_id"] = json!("CRASH-GATE");
    metadata["station_scan_id"] = json!(format!("crash-{n:03}"));
    let response = client()
        .post(format!("{url}/api/v1/scans"))
        .bearer_auth(key)
        .multipart(form(&metadata, &high, low.as_deref()))
        .send()
        .await
        .ok()?;
    if !matches!(response.status(), StatusCode::ACCEPTED | StatusCode::OK) {
        return None;
    }
    response.json::<Value>().await.ok()?["scan_id"].as_str().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_scan_survives_a_kill_with_exactly_one_analysis() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let database_url = format!("sqlite://{}", data.join("scantriage.db").display());
    let key = scantriage::accounts::Accounts::new(Store::open(&database_url).await.unwrap())
        .create_station_key("CRASH-GATE")
        .await
        .unwrap()
        .1;

    let (mut service, url) = start_service(data);
    let (acks, mut acknowledged) = tokio::sync::mpsc::unbounded_channel();
    let uploads: Vec<_> = (0..UPLOADS)
        .map(|n| {
            let (url, key, acks) = (url.clone(), key.clone(), acks.clone());
            tokio::spawn(async move {
                if let Some(id) = upload(&url, &key, n).await {
                    let _ = acks.send((n, id));
                }
            })
        })
        .collect();
    drop(acks);
    let mut acked = Vec::new();
    while acked.len() < KILL_AFTER_ACKS {
        match tokio::time::timeout(Duration::from_secs(60), acknowledged.recv()).await {
            Ok(Some(ack)) => acked.push(ack),
            _ => panic!("only {} uploads were acknowledged", acked.len()),
        }
    }
    service.kill().unwrap(); // SIGKILL
    service.wait().unwrap();
    for upload in uploads {
        upload.await.unwrap();
    }
    while let Ok(ack) = acknowledged.try_recv() {
        acked.push(ack);
    }

    // Restarted, the stations retry what was not acknowledged, as the upload agent does.
    let (mut service, url) = start_service(data);
    let acked_uploads: HashSet<usize> = acked.iter().map(|(n, _)| *n).collect();
    for n in (0..UPLOADS).filter(|n| !acked_uploads.contains(n)) {
        upload(&url, &key, n).await.unwrap_or_else(|| panic!("upload {n} retried after the restart"));
    }

    let store = Store::open(&database_url).await.unwrap();
    let started = Instant::now();
    loop {
        let counts = store.counts_by_state().await.unwrap();
        let unsettled: i64 = counts
            .iter()
            .filter(|(s, _)| matches!(s, ScanState::Received | ScanState::Analysing | ScanState::Analysed))
            .map(|(_, n)| n)
            .sum();
        if unsettled == 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(180), "scans still unsettled: {counts:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // SIGTERM: a graceful stop, exit status 0, though an officer's console is listening to the
    // event stream, a response that never ends by itself.
    let accounts = scantriage::accounts::Accounts::new(store.clone());
    accounts.add_user("crash-officer", Role::Officer, PASSWORD).await.unwrap();
    let session = accounts.login("crash-officer", PASSWORD).await.unwrap();
    let events = client().get(format!("{url}/api/v1/events")).bearer_auth(&session.token).send().await.unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    let terminated = Command::new("kill").args(["-TERM", &service.id().to_string()]).status().unwrap();
    assert!(terminated.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = service.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the service did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "graceful stop: {status}");
    drop(events);

    let counts = store.counts_by_state().await.unwrap();
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    assert_eq!(total, UPLOADS as i64, "one scan per upload, retries included: {counts:?}");
    assert!(counts.iter().all(|(s, _)| matches!(s, ScanState::Queued | ScanState::Released)), "{counts:?}");
    for (n, id) in &acked {
        let scan = store.scan(id).await.unwrap().unwrap_or_else(|| panic!("acknowledged upload {n} was lost"));
        assert_eq!(scan.station_scan_id, format!("crash-{n:03}"));
        assert!(store.analysis(id).await.unwrap().is_some(), "upload {n} has its analysis");
    }
    let mut connection = sqlx::AnyConnection::connect(&database_url).await.unwrap();
    let row = sqlx::query("SELECT COUNT(*) AS analyses, COUNT(DISTINCT scan_id) AS scans FROM analyses")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    let (analyses, scans): (i64, i64) = (row.get("analyses"), row.get("scans"));
    assert_eq!((analyses, scans), (UPLOADS as i64, UPLOADS as i64), "exactly one analysis per scan");
    let finished: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'analysed'")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(finished, UPLOADS as i64, "no scan was analysed into two results");
    let interrupted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'analysis_requeued'")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    eprintln!("{} uploads acknowledged around the kill, {interrupted} analyses interrupted by it", acked.len());
}
