//! `scantriage backup` while the service runs, and the copy served as a data directory of its
//! own: the restore.

mod support;

use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use scantriage::config::ConfigFile;
use scantriage::review::Role;
use serde_json::{Value, json};
use support::server::{TestServer, client, sample_parts, upload};

/// A sample's upload, waiting for its verdict.
async fn settled(server: &TestServer, key: &str, sample: &str) -> Value {
    let (metadata, high, low) = sample_parts(sample);
    let (status, scan) = upload(server, key, &metadata, &high, low.as_deref(), "?wait=30").await;
    assert_eq!(status, StatusCode::OK, "{scan}");
    scan
}

async fn get(server: &TestServer, token: &str, path: &str) -> (StatusCode, Value) {
    let response = client().get(format!("{}{path}", server.url)).bearer_auth(token).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn backup(from: &std::path::Path, to: &std::path::Path, previous: Option<&std::path::Path>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scantriage"));
    command.arg("backup").arg("--data-dir").arg(from).arg("--to").arg(to).env("RUST_LOG", "warn");
    if let Some(previous) = previous {
        command.arg("--previous").arg(previous);
    }
    let run = tokio::task::spawn_blocking(move || command.output().unwrap());
    tokio::time::timeout(Duration::from_secs(120), run).await.expect("the backup finishes").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_the_service_runs_is_a_data_directory_that_serves() {
    let server = TestServer::start(ConfigFile::default());
    let station = sample_parts("SIM-65-000000").0["station_id"].as_str().unwrap().to_owned();
    let key = server.station_key(&station).await;
    let (dual, flagged) = (settled(&server, &key, "SIM-65-000000").await, settled(&server, &key, "SIM-69-000004").await);
    let admin = server.sign_in("root-backup", Role::Admin).await;
    let purge = json!({ "settled_before": chrono::Utc::now().to_rfc3339() });
    let response = client().post(format!("{}/api/v1/admin/purge-images", server.url)).bearer_auth(&admin).json(&purge).send().await.unwrap();
    assert_eq!(response.json::<Value>().await.unwrap()["scans"], 1, "the released scan's images are deleted, the queued one's kept");

    let copy = tempfile::tempdir().unwrap();
    let output = backup(server.data_dir(), copy.path(), None).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let kept_images = 1 + usize::from(sample_parts("SIM-69-000004").2.is_some());
    assert!(stdout.starts_with(&format!("backed up the database and {kept_images} images")), "{stdout}");
    assert!(!copy.path().join("scantriage.db-wal").exists(), "the copy is one database file, its log folded in");
    let again = backup(server.data_dir(), copy.path(), None).await;
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"), "{}", String::from_utf8_lossy(&again.stderr));

    // The next day's backup beside it links what it already holds.
    let next = tempfile::tempdir().unwrap();
    let next_day = next.path().join("tuesday");
    let linked = backup(server.data_dir(), &next_day, Some(copy.path())).await;
    let stdout = String::from_utf8_lossy(&linked.stdout);
    assert!(linked.status.success(), "{stdout}{}", String::from_utf8_lossy(&linked.stderr));
    assert!(stdout.contains(&format!("{kept_images} images (0 MB copied, {kept_images} linked")), "{stdout}");
    let not_a_backup = backup(server.data_dir(), &next.path().join("wednesday"), Some(next.path())).await;
    assert!(String::from_utf8_lossy(&not_a_backup.stderr).contains("is not a backup"), "{}", String::from_utf8_lossy(&not_a_backup.stderr));

    let restored = TestServer::start_in(ConfigFile::default(), None, copy);
    let officer = restored.sign_in("olga-restored", Role::Officer).await;
    for scan in [&dual, &flagged] {
        let path = format!("/api/v1/scans/{}", scan["id"].as_str().unwrap());
        let (before, after) = (get(&server, &admin, &path).await, get(&restored, &officer, &path).await);
        assert_eq!(after.0, StatusCode::OK);
        assert_eq!((&after.1["verdict"], &after.1["state"]), (&before.1["verdict"], &before.1["state"]));
        assert_eq!(get(&restored, &officer, &format!("{path}/audit")).await.1, get(&server, &admin, &format!("{path}/audit")).await.1);
    }
    let image = |scan: &Value| format!("/api/v1/scans/{}/image.png", scan["id"].as_str().unwrap());
    let status = |path: String| {
        let (restored, officer) = (&restored, officer.clone());
        async move { client().get(format!("{}{path}", restored.url)).bearer_auth(officer).send().await.unwrap().status() }
    };
    assert_eq!(status(image(&flagged)).await, StatusCode::OK);
    assert_eq!(status(image(&dual)).await, StatusCode::GONE);
    // The station's key came along.
    let (mut metadata, high, low) = sample_parts("SIM-65-000000");
    metadata["station_scan_id"] = json!("after-restore");
    let (status, _) = upload(&restored, &key, &metadata, &high, low.as_deref(), "").await;
    assert_eq!(status, StatusCode::ACCEPTED);
}
