//! The HTTP service end to end: a real server on a loopback port with the committed models and
//! SQLite, driven by a real HTTP client.

mod support;

use std::collections::HashMap;
use std::sync::LazyLock;

use reqwest::StatusCode;
use scantriage::config::ConfigFile;
use scantriage::review::Role;
use serde_json::{Value, json};
use sqlx::Connection;
use support::server::{TestServer, client, form, sample_parts, upload};

const SAMPLES: [&str; 12] = [
    "SIM-65-000000",
    "SIM-66-000001",
    "SIM-67-000002",
    "SIM-68-000003",
    "SIM-69-000004",
    "SIM-6a-000005",
    "SIM-6b-000006",
    "SIM-6c-000007",
    "SIM-6d-000008",
    "SIM-6e-000009",
    "SIM-6f-000010",
    "SIM-70-000011",
];

/// One service for the tests that need no special configuration and do not count the queue.
static SERVER: LazyLock<TestServer> = LazyLock::new(|| TestServer::start(ConfigFile::default()));

async fn get(server: &TestServer, token: &str, path: &str) -> reqwest::Response {
    client().get(format!("{}{path}", server.url)).bearer_auth(token).send().await.unwrap()
}

async fn post(server: &TestServer, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let response = client().post(format!("{}{path}", server.url)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// An upload's status, `Retry-After` and body, for uploads the service refuses.
async fn refused_upload(server: &TestServer, key: &str, metadata: &Value, high: &[u8], low: Option<&[u8]>) -> (StatusCode, Option<String>, Value) {
    let response =
        client().post(format!("{}/api/v1/scans", server.url)).bearer_auth(key).multipart(form(metadata, high, low)).send().await.unwrap();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (response.status(), retry_after, response.json().await.unwrap_or(Value::Null))
}

fn reasons(scan: &Value) -> Vec<&str> {
    scan["verdict"]["reasons"].as_array().map_or(vec![], |r| r.iter().filter_map(|r| r["code"].as_str()).collect())
}

/// The station of a sample, which its key must belong to.
fn station_of(metadata: &Value) -> String {
    metadata["station_id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_scans_land_in_their_lanes_and_officers_work_them() {
    // A service of its own: the queue must hold exactly these scans.
    let server = &TestServer::start(ConfigFile::default());
    let mut keys = HashMap::new();
    let mut scans = HashMap::new();
    for sample in SAMPLES {
        let (metadata, high, low) = sample_parts(sample);
        let station = station_of(&metadata);
        if !keys.contains_key(&station) {
            keys.insert(station.clone(), server.station_key(&station).await);
        }
        let (status, scan) = upload(server, &keys[&station], &metadata, &high, low.as_deref(), "?wait=30").await;
        assert_eq!(status, StatusCode::OK, "{sample}: the verdict within the wait: {scan}");
        assert!(["queued", "released"].contains(&scan["state"].as_str().unwrap()), "{sample}: {scan}");
        assert_eq!(scan["analysis"]["models"].as_array().unwrap().len(), 2, "analyses record their models");
        scans.insert(sample, scan);
    }
    let lane = |sample: &str| scans[sample]["lane"].as_str().unwrap().to_owned();

    // Honest declarations raise no declaration mismatch (the anomaly model may still raise a
    // concealment alarm on an honest load: see docs/models.md); each kind of lie lands in the
    // queue with its reason.
    for honest in ["SIM-65-000000", "SIM-66-000001", "SIM-67-000002", "SIM-68-000003"] {
        let found = reasons(&scans[honest]);
        assert!(
            !found.iter().any(|r| ["undeclared_goods", "declared_goods_not_seen", "declared_empty_but_loaded", "weight_mismatch"].contains(r)),
            "{honest}: {}",
            scans[honest]["verdict"]
        );
    }
    assert_eq!(lane("SIM-67-000002"), "green", "an honest empty container is released");
    assert_eq!(scans["SIM-67-000002"]["state"], "released");
    for (sample, reason) in [
        ("SIM-69-000004", "undeclared_goods"),
        ("SIM-6a-000005", "undeclared_goods"),
        ("SIM-6a-000005", "declared_goods_not_seen"),
        ("SIM-6b-000006", "declared_empty_but_loaded"),
        ("SIM-6c-000007", "weight_mismatch"),
    ] {
        assert_ne!(lane(sample), "green", "{sample}");
        assert!(reasons(&scans[sample]).contains(&reason), "{sample} lacks {reason}: {}", scans[sample]["verdict"]);
        assert_eq!(scans[sample]["state"], "queued");
    }
    assert_eq!(lane("SIM-6b-000006"), "red");
    for scan in scans.values() {
        for reason in scan["verdict"]["reasons"].as_array().unwrap() {
            assert!(reason["sentence"].as_str().is_some_and(|s| s.len() > 10), "{reason}");
        }
    }

    // The queue: every flagged scan, highest risk first, none of the released ones.
    let ana = server.sign_in("ana", Role::Officer).await;
    let queue: Value = get(server, &ana, "/api/v1/queue").await.json().await.unwrap();
    let entries = queue["entries"].as_array().unwrap();
    let flagged: Vec<_> = scans.values().filter(|s| s["lane"] != "green").collect();
    assert_eq!(entries.len(), flagged.len());
    let risks: Vec<_> = entries.iter().map(|e| e["risk_score"].as_i64().unwrap()).collect();
    assert!(risks.windows(2).all(|w| w[0] >= w[1]), "{risks:?}");

    // Work the top scan: claim the next, decide, see the audit entry, record the outcome.
    let (status, claimed) = post(server, &ana, "/api/v1/queue/next", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(claimed["id"], entries[0]["id"]);
    assert_eq!(claimed["claim"]["officer"], "ana");
    let id = claimed["id"].as_str().unwrap();
    let ben = server.sign_in("ben", Role::Officer).await;
    let (status, refused) = post(server, &ben, &format!("/api/v1/scans/{id}/claim"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(refused["error"]["code"], "claimed_by_other");
    let decision = json!({ "decision": "physical_inspection_ordered", "notes": "dense area behind the door" });
    let (status, decided) = post(server, &ana, &format!("/api/v1/scans/{id}/decision"), decision).await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["state"], "decided");
    let audit: Value = get(server, &ana, &format!("/api/v1/scans/{id}/audit")).await.json().await.unwrap();
    let last = audit["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["action"].as_str(), last["actor"].as_str()), (Some("decided"), Some("ana")));
    let queue: Value = get(server, &ana, "/api/v1/queue").await.json().await.unwrap();
    assert_eq!(queue["entries"].as_array().unwrap().len(), flagged.len() - 1, "decided scans leave the queue");
    let (status, _) = post(server, &ben, &format!("/api/v1/scans/{id}/outcome"), json!({ "outcome": "seizure" })).await;
    assert_eq!(status, StatusCode::OK);

    // Outcomes for model feedback: supervisors only.
    assert_eq!(get(server, &ana, "/api/v1/outcomes.jsonl").await.status(), StatusCode::FORBIDDEN);
    let sue = server.sign_in("sue", Role::Supervisor).await;
    let export = get(server, &sue, "/api/v1/outcomes.jsonl").await.text().await.unwrap();
    let line: Value = serde_json::from_str(export.lines().next().unwrap()).unwrap();
    assert_eq!(line["scan_id"], id);
    assert_eq!(line["outcome"], "seizure");
    assert_eq!(line["models"].as_array().unwrap().len(), 2);

    let stats: Value = get(server, &ana, "/api/v1/stats").await.json().await.unwrap();
    assert_eq!(stats["by_state"]["closed"], 1, "{stats}");
    assert!(!reasons(&claimed).is_empty(), "{claimed}");
    for code in reasons(&claimed) {
        assert_eq!(stats["outcomes_by_reason"][code], json!({ "seizure": 1 }), "a hit for each of its reasons: {stats}");
    }

    // Supervisors hand scans to officers, and only to users who exist.
    let next = entries[1]["id"].as_str().unwrap();
    let (status, refused) = post(server, &sue, &format!("/api/v1/scans/{next}/assign"), json!({ "officer": "bne" })).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("unknown_officer")), "{refused}");
    let (status, assigned) = post(server, &sue, &format!("/api/v1/scans/{next}/assign"), json!({ "officer": "ben" })).await;
    assert_eq!(status, StatusCode::OK, "{assigned}");
    assert_eq!(assigned["claim"]["officer"], "ben");

    // Images for people: grayscale, material colouring of dual-energy scans, the heatmap layer.
    let dual = scans["SIM-65-000000"]["id"].as_str().unwrap();
    for query in ["", "?mode=material&window=4&level=2", "?energy=low"] {
        let response = get(server, &ana, &format!("/api/v1/scans/{dual}/image.png{query}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{query}");
        assert_eq!(response.headers()["content-type"], "image/png");
        let png = image::load_from_memory(&response.bytes().await.unwrap()).unwrap();
        assert_eq!((png.width(), png.height()), (3321, 780), "{query}");
    }
    let single = scans["SIM-69-000004"]["id"].as_str().unwrap();
    assert_eq!(get(server, &ana, &format!("/api/v1/scans/{single}/image.png?mode=material")).await.status(), StatusCode::BAD_REQUEST);
    let heatmap = get(server, &ana, &format!("/api/v1/scans/{single}/heatmap.png")).await;
    assert_eq!(heatmap.status(), StatusCode::OK);
    let layer = image::load_from_memory(&heatmap.bytes().await.unwrap()).unwrap();
    assert_eq!(layer.color(), image::ColorType::Rgba8);

    // Metrics: request latency by route, every pipeline stage, models in service.
    let metrics = get(server, &ana, "/metrics").await.text().await.unwrap();
    assert!(metrics.contains(r#"scantriage_http_request_duration_seconds_count{route="/api/v1/scans",method="POST",status="200"}"#), "{metrics}");
    for stage in scantriage::metrics::STAGES {
        assert!(metrics.contains(&format!("scantriage_stage_duration_seconds_count{{stage=\"{stage}\"}}")), "{stage}");
    }
    assert!(metrics.contains("scantriage_model_info{name=\"classifier\""));
    assert!(metrics.contains("scantriage_scans{state=\"queued\"}"));
    let free: u64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("scantriage_image_store_free_bytes{} "))
        .expect("the image store's free space")
        .parse()
        .unwrap();
    assert!(free > 0, "{free}");
    // One upload at a time: each found a free slot and was analysed while being made durable.
    assert!(
        metrics.contains(&format!("scantriage_analyses_started_at_upload_total {}\n", SAMPLES.len())),
        "{metrics}"
    );
}

/// An image that passes the intake's checks but shows no container: its analysis (started at
/// upload) fails, and the scan fails with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_without_a_container_fails_with_the_reason() {
    let server = &*SERVER;
    let (mut metadata, _, low) = sample_parts("SIM-65-000000");
    assert!(low.is_some(), "a dual-energy sample");
    metadata["station_scan_id"] = json!("only-air-0001");
    let air = image::ImageBuffer::<image::Luma<u16>, _>::from_pixel(1200, 400, image::Luma([60_000u16]));
    let mut png = std::io::Cursor::new(Vec::new());
    air.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let png = png.into_inner();
    let key = server.station_key(&station_of(&metadata)).await;
    let (status, scan) = upload(server, &key, &metadata, &png, Some(&png), "?wait=30").await;
    assert_eq!(status, StatusCode::OK, "{scan}");
    assert_eq!(scan["state"], "failed", "{scan}");
    assert!(scan["failure"].as_str().unwrap().contains("container"), "{scan}");
    assert!(scan["analysis"].is_null());

    // An admin has failed scans analysed again (here it fails again: the image has not changed).
    let admin = server.sign_in("root-reanalyse", Role::Admin).await;
    let id = scan["id"].as_str().unwrap();
    let (status, requeued) = post(server, &admin, "/api/v1/admin/reanalyse-failed", json!({ "failed_since": scan["updated_at"] })).await;
    assert_eq!(status, StatusCode::OK, "{requeued}");
    assert!(requeued["scans"].as_array().unwrap().contains(&json!(id)), "{requeued}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let actions = loop {
        let audit: Value = get(server, &admin, &format!("/api/v1/scans/{id}/audit")).await.json().await.unwrap();
        let actions: Vec<String> = audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
        if actions.last().is_some_and(|a| a == "analysis_failed") && actions.contains(&"analysis_requeued".to_owned()) {
            break actions;
        }
        assert!(std::time::Instant::now() < deadline, "no second analysis: {actions:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(actions.iter().filter(|a| *a == "analysis_started").count(), 2, "{actions:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_uploads_return_the_original_and_changed_ones_conflict() {
    let server = &*SERVER;
    let (mut metadata, high, low) = sample_parts("SIM-66-000001");
    metadata["station_scan_id"] = json!("retry-0001");
    let key = server.station_key(&station_of(&metadata)).await;
    let (status, first) = upload(server, &key, &metadata, &high, low.as_deref(), "").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    assert_eq!(first["duplicate"], false);
    let (status, again) = upload(server, &key, &metadata, &high, low.as_deref(), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((again["scan_id"].clone(), again["duplicate"].clone()), (first["scan_id"].clone(), json!(true)));
    let (status, settled) = upload(server, &key, &metadata, &high, low.as_deref(), "?wait=30").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((settled["id"].clone(), settled["duplicate"].clone()), (first["scan_id"].clone(), json!(true)), "{settled}");
    assert!(settled["lane"].is_string(), "{settled}");

    metadata["declaration"]["items"][0]["gross_weight_kg"] = json!(1234.0);
    let (status, conflict) = upload(server, &key, &metadata, &high, low.as_deref(), "").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(conflict["error"]["code"], "station_scan_id_conflict");
    assert_eq!(conflict["error"]["details"]["scan_id"], first["scan_id"]);

    let status_url = first["status_url"].as_str().unwrap();
    let scan: Value = get(server, &key, status_url).await.json().await.unwrap();
    assert_eq!(scan["station_scan_id"], "retry-0001");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_anonymous_access_and_least_privilege() {
    let server = &*SERVER;
    let (mut metadata, high, low) = sample_parts("SIM-67-000002");
    metadata["station_scan_id"] = json!("auth-0001");
    let station = station_of(&metadata);
    let key = server.station_key(&station).await;
    let other_key = server.station_key("SOMEWHERE-ELSE").await;

    // Anonymous: health only.
    assert_eq!(client().get(format!("{}/healthz", server.url)).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(client().get(format!("{}/readyz", server.url)).send().await.unwrap().status(), StatusCode::OK);
    for path in ["/api/v1/queue", "/metrics", "/api/v1/scans/x", "/api/v1/stats"] {
        let response = client().get(format!("{}{path}", server.url)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized", "{path}");
    }
    // Refused before the body is read: a small one, so that the client is still listening.
    let response = client().post(format!("{}/api/v1/scans", server.url)).multipart(form(&metadata, &tiny_png(), None)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(get(server, "stk_not-a-key", "/api/v1/queue").await.status(), StatusCode::UNAUTHORIZED);

    // Stations upload and read their own scans, nothing else.
    let (status, accepted) = upload(server, &key, &metadata, &high, low.as_deref(), "").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let url = accepted["status_url"].as_str().unwrap();
    assert_eq!(get(server, &key, url).await.status(), StatusCode::OK);
    assert_eq!(get(server, &other_key, url).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(get(server, &key, "/api/v1/queue").await.status(), StatusCode::FORBIDDEN);
    let (status, body) = upload(server, &other_key, &metadata, &high, low.as_deref(), "").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a key uploads only for its own station: {body}");
    assert_eq!(body["error"]["code"], "wrong_station");
    assert_eq!(body["error"]["details"]["metadata_station"], metadata["station_id"], "{body}");
    assert!(body["error"]["details"]["key_station"].is_string(), "{body}");

    // Officers do not upload; only supervisors assign; a revoked key and an ended session stop working.
    let ana = server.sign_in("ana-auth", Role::Officer).await;
    let (status, _) = upload(server, &ana, &metadata, &tiny_png(), None, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let id = accepted["scan_id"].as_str().unwrap();
    let (status, _) = post(server, &ana, &format!("/api/v1/scans/{id}/assign"), json!({ "officer": "ana-auth" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let response = client().delete(format!("{}/api/v1/session", server.url)).bearer_auth(&ana).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(get(server, &ana, "/api/v1/queue").await.status(), StatusCode::UNAUTHORIZED);
    let (key_id, revoked) = server.accounts().await.create_station_key(&station).await.unwrap();
    assert_eq!(get(server, &revoked, url).await.status(), StatusCode::OK);
    server.accounts().await.revoke_station_key(&key_id).await.unwrap();
    assert_eq!(get(server, &revoked, url).await.status(), StatusCode::UNAUTHORIZED);
    let response = client()
        .post(format!("{}/api/v1/session", server.url))
        .json(&json!({ "name": "ana-auth", "password": "wrong password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// An event stream is authenticated once, when it connects: it closes once its session ends,
/// and the streams of sessions still valid go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_close_when_their_session_ends() {
    let server = &*SERVER;
    let kept = server.sign_in("vera-stream", Role::Officer).await;
    let ended = server.sign_in("walt-stream", Role::Officer).await;
    let mut streams = Vec::new();
    for token in [&kept, &ended] {
        let response = get(server, token, "/api/v1/events").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        streams.push(response);
    }
    let (mut kept_stream, mut ended_stream) = (streams.remove(0), streams.remove(0));

    let response = client().delete(format!("{}/api/v1/session", server.url)).bearer_auth(&ended).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // Checked every 10 s.
    let drained = tokio::time::timeout(std::time::Duration::from_secs(40), async {
        while ended_stream.chunk().await.unwrap().is_some() {}
    });
    assert!(drained.await.is_ok(), "the signed-out session's stream is still open");

    let (metadata, high, low) = sample_parts(SAMPLES[0]);
    let key = server.station_key(&station_of(&metadata)).await;
    let (status, _) = upload(server, &key, &metadata, &high, low.as_deref(), "").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let heard = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        let mut text = String::new();
        while let Some(chunk) = kept_stream.chunk().await.unwrap() {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if text.contains("event: scan") {
                return true;
            }
        }
        false
    });
    assert_eq!(heard.await.ok(), Some(true), "the valid session's stream goes on");
}

/// While the database cannot take a write (here another process holds SQLite's write lock past
/// the service's 10 s busy wait; on PostgreSQL a server restarting), uploads are answered 503
/// with a time to retry, which the station agent does, and nothing is stored; then they work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_answers_503_and_the_retry_is_stored() {
    let server = TestServer::start(ConfigFile::default());
    let (metadata, high, low) = sample_parts(SAMPLES[0]);
    let key = server.station_key(&station_of(&metadata)).await;
    let mut holder = sqlx::AnyConnection::connect(&server.database_url).await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut holder).await.unwrap();

    let (status, retry_after, body) = refused_upload(&server, &key, &metadata, &high, low.as_deref()).await;
    assert_eq!((status, retry_after.as_deref()), (StatusCode::SERVICE_UNAVAILABLE, Some("5")));
    assert_eq!(body["error"]["code"], "database_unavailable", "{body}");
    sqlx::raw_sql("ROLLBACK").execute(&mut holder).await.unwrap();

    let scans: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM scans").fetch_one(&mut holder).await.unwrap();
    assert_eq!(scans, 0);
    let (status, body) = upload(&server, &key, &metadata, &high, low.as_deref(), "").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

/// With random selection at its maximum every scan that would be released goes to the red
/// lane, saying why; flagged scans keep their own reasons.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn released_scans_are_selected_at_random_for_inspection() {
    let mut config = ConfigFile::default();
    config.triage.random_selection = 1.0;
    let server = &TestServer::start(config);
    let mut verdicts = HashMap::new();
    for sample in ["SIM-67-000002", "SIM-6b-000006"] {
        let (metadata, high, low) = sample_parts(sample);
        let key = server.station_key(&station_of(&metadata)).await;
        let (status, scan) = upload(server, &key, &metadata, &high, low.as_deref(), "?wait=30").await;
        assert_eq!(status, StatusCode::OK, "{sample}: {scan}");
        verdicts.insert(sample, scan);
    }
    let honest = &verdicts["SIM-67-000002"];
    assert_eq!((honest["lane"].as_str(), honest["state"].as_str()), (Some("red"), Some("queued")), "{honest}");
    assert_eq!(reasons(honest), ["random_selection"], "{honest}");
    assert!(honest["verdict"]["reasons"][0]["sentence"].as_str().unwrap().contains("100.0 %"), "{honest}");
    let flagged = &verdicts["SIM-6b-000006"];
    assert!(!reasons(flagged).contains(&"random_selection") && reasons(flagged).contains(&"declared_empty_but_loaded"), "{flagged}");

    // Its inspection's outcome is counted apart from the rules' hits.
    let ana = server.sign_in("ana-random", Role::Officer).await;
    let id = honest["id"].as_str().unwrap();
    for (path, body) in [
        ("claim", json!({})),
        ("decision", json!({ "decision": "physical_inspection_ordered", "notes": "" })),
        ("outcome", json!({ "outcome": "nothing_found" })),
    ] {
        let (status, answer) = post(server, &ana, &format!("/api/v1/scans/{id}/{path}"), body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    }
    let stats: Value = get(server, &ana, "/api/v1/stats").await.json().await.unwrap();
    assert_eq!(stats["outcomes_by_reason"], json!({ "random_selection": { "nothing_found": 1 } }), "{stats}");
    let metrics = get(server, &ana, "/metrics").await.text().await.unwrap();
    assert!(metrics.lines().any(|line| line == "scantriage_random_selections_total 1"), "{metrics}");
}

/// A session unused for the idle limit ends on the server, whatever the console that opened it
/// does; one in use lives on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_unused_for_the_idle_limit_end() {
    let server = &*SERVER;
    let idle = server.sign_in("ida-idle", Role::Officer).await;
    let busy = server.sign_in("bo-busy", Role::Officer).await;
    assert_eq!(get(server, &idle, "/api/v1/queue").await.status(), StatusCode::OK);
    let limit = i64::try_from(scantriage::accounts::SESSION_IDLE.as_millis()).unwrap();
    let mut connection = sqlx::AnyConnection::connect(&server.database_url).await.unwrap();
    // Both opened two limits ago; Bo's last used now, Ida's just over a limit ago.
    sqlx::query(
        "UPDATE sessions SET last_used_at = CASE user_name WHEN 'bo-busy' THEN created_at ELSE created_at - $1 END, \
         created_at = created_at - $2 WHERE user_name IN ('ida-idle', 'bo-busy')",
    )
    .bind(limit + 1_000)
    .bind(2 * limit)
    .execute(&mut connection)
    .await
    .unwrap();
    let response = get(server, &idle, "/api/v1/queue").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "unauthorized");
    assert_eq!(get(server, &busy, "/api/v1/queue").await.status(), StatusCode::OK);
}

/// Trying a password against many names is cut short by address: after 30 failed sign-ins
/// (the default burst) from one client every sign-in from it waits, the right password too,
/// while other clients behind the same trusted reverse proxy sign in as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_are_limited_by_client_address() {
    let mut behind_proxy = ConfigFile::default();
    behind_proxy.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    // One a minute after the burst, so that no token comes back while the test runs.
    behind_proxy.server.failed_sign_ins_per_minute_per_address = 1;
    let server = TestServer::start(behind_proxy);
    server.accounts().await.add_user("sam-sprayed", Role::Officer, support::server::PASSWORD).await.unwrap();
    let sign_in = |from: &'static str, name: String, password: &'static str| {
        let request = client().post(format!("{}/api/v1/session", server.url)).json(&json!({ "name": name, "password": password }));
        let request = if from.is_empty() { request } else { request.header("x-forwarded-for", from) };
        async move { request.send().await.unwrap() }
    };
    for n in 0..30 {
        let response = sign_in("203.0.113.5", format!("name-{n}"), "summer2026!!").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let response = sign_in("203.0.113.5", "sam-sprayed".into(), support::server::PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "too_many_attempts");
    assert_eq!(sign_in("203.0.113.6", "sam-sprayed".into(), support::server::PASSWORD).await.status(), StatusCode::OK);
    assert_eq!(sign_in("", "sam-sprayed".into(), support::server::PASSWORD).await.status(), StatusCode::OK, "the proxy's own");

    // Attempts sent at once do not all get past the limit while the first are being checked.
    let at_once = (0..40).map(|n| sign_in("203.0.113.7", format!("other-{n}"), "summer2026!!"));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(at_once).await.iter().map(|r| r.status()).collect();
    let refused = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    assert_eq!(refused, 30, "checked of 40 sent at once");
    assert!(statuses.iter().all(|s| [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(s)), "{statuses:?}");
}

/// Officers find scans in any state by part of a container number or by a declaration's number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officers_find_scans_by_container_or_declaration_number() {
    let server = &*SERVER;
    let (mut metadata, high, low) = sample_parts("SIM-67-000002");
    metadata["station_scan_id"] = json!("find-0001");
    let key = server.station_key(&station_of(&metadata)).await;
    let (status, scan) = upload(server, &key, &metadata, &high, low.as_deref(), "?wait=30").await;
    assert_eq!(status, StatusCode::OK, "{scan}");
    let number = scan["containers"].as_str().unwrap().to_owned();
    let officer = server.sign_in("fay-finder", Role::Officer).await;
    let find = |text: String| {
        let officer = officer.clone();
        async move {
            let url = reqwest::Url::parse_with_params(&format!("{}/api/v1/scans", server.url), [("q", text.as_str())]).unwrap();
            client().get(url).bearer_auth(officer).send().await.unwrap()
        }
    };
    let spaced = format!("{} {}", &number[..4], &number[4..]);
    for fragment in [number.clone(), number[..7].to_lowercase(), number[4..10].to_owned(), spaced] {
        let found: Value = find(fragment.clone()).await.json().await.unwrap();
        let entries = found["entries"].as_array().unwrap();
        assert!(entries.iter().any(|e| e["id"] == scan["id"] && e["state"] == scan["state"]), "{fragment}: {found}");
        let letters = fragment.replace(' ', "").to_uppercase();
        assert!(entries.iter().all(|e| e["containers"].as_str().unwrap().contains(&letters)), "{found}");
    }
    let declaration = metadata["declaration"]["number"].as_str().unwrap().to_lowercase();
    let found: Value = find(declaration.clone()).await.json().await.unwrap();
    assert!(found["entries"].as_array().unwrap().iter().any(|e| e["id"] == scan["id"]), "{declaration}: {found}");
    // Not a container number's letters and digits: only a declaration's number, which it is not.
    let found: Value = find("MSCU%".into()).await.json().await.unwrap();
    assert_eq!(found["entries"], json!([]), "no pattern reaches the database");
    for bad in ["MSC".to_owned(), "X".repeat(65)] {
        assert_eq!(find(bad.clone()).await.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(get(server, &key, &format!("/api/v1/scans?q={number}")).await.status(), StatusCode::FORBIDDEN, "not for stations");
}

/// Password guessing gets a few tries per name, then 429 until the bucket refills; other
/// names are not affected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_a_password_is_cut_short() {
    let server = &*SERVER;
    server.sign_in("gus-guessed", Role::Officer).await;
    let attempt = |name: &'static str, password: &'static str| async move {
        client().post(format!("{}/api/v1/session", server.url)).json(&json!({ "name": name, "password": password })).send().await.unwrap()
    };
    let mut refused_after = None;
    for tries in 1..=12 {
        let response = attempt("gus-guessed", "not the password").await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(response.headers().get("retry-after").is_some());
            assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "too_many_attempts");
            refused_after = Some(tries);
            break;
        }
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Ten tries a name, one of them the sign-in above.
    assert_eq!(refused_after, Some(10), "the burst is ten attempts");
    assert_eq!(attempt("gus-guessed", support::server::PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS, "not even the right one");
    assert_eq!(attempt("GUS-GUESSED", "not the password").await.status(), StatusCode::TOO_MANY_REQUESTS, "names are counted ignoring case");
    let other = server.sign_in("gus-other", Role::Officer).await;

    // Counted for alerting; other tests sign in on this server too, hence at least.
    let metrics = get(server, &other, "/metrics").await.text().await.unwrap();
    let count = |outcome: &str| -> u64 {
        let prefix = format!("scantriage_password_attempts_total{{outcome=\"{outcome}\"}} ");
        metrics.lines().find_map(|line| line.strip_prefix(&prefix)).map_or(0, |n| n.parse().unwrap())
    };
    assert!(count("refused") >= 9 && count("limited") >= 3 && count("accepted") >= 2, "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_uploads_are_refused_with_clear_errors() {
    let server = &*SERVER;
    let (mut metadata, high, _) = sample_parts("SIM-68-000003");
    metadata["station_scan_id"] = json!("hostile-0001");
    let key = server.station_key(&station_of(&metadata)).await;
    let part = |bytes: &[u8], mime: &str| reqwest::multipart::Part::bytes(bytes.to_vec()).mime_str(mime).unwrap();
    let meta_bytes = metadata.to_string().into_bytes();
    let send = |form: reqwest::multipart::Form| {
        let key = key.clone();
        async move {
            let response =
                client().post(format!("{}/api/v1/scans", server.url)).bearer_auth(key).multipart(form).send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap_or(Value::Null)["error"]["code"].as_str().unwrap_or("").to_owned())
        }
    };
    use reqwest::multipart::Form;
    let cases = [
        (Form::new().part("metadata", part(&meta_bytes, "application/json")), StatusCode::BAD_REQUEST, "missing_part"),
        (Form::new().part("high", part(&high, "image/png")), StatusCode::BAD_REQUEST, "missing_part"),
        (
            Form::new().part("metadata", part(&meta_bytes, "application/json")).part("extra", part(b"x", "text/plain")),
            StatusCode::BAD_REQUEST,
            "unexpected_part",
        ),
        (
            Form::new().part("metadata", part(&meta_bytes, "application/json")).part("metadata", part(&meta_bytes, "application/json")),
            StatusCode::BAD_REQUEST,
            "duplicate_part",
        ),
        (
            Form::new().part("metadata", part(&meta_bytes, "image/png")).part("high", part(&high, "image/png")),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "wrong_content_type",
        ),
        (
            Form::new().part("metadata", part(&vec![b' '; 2 * 1024 * 1024], "application/json")).part("high", part(&high, "image/png")),
            StatusCode::PAYLOAD_TOO_LARGE,
            "metadata_too_large",
        ),
        (
            Form::new().part("metadata", part(b"{\"station_id\": 7", "application/json")).part("high", part(&high, "image/png")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_metadata",
        ),
        (
            Form::new().part("metadata", part(&meta_bytes, "application/json")).part("high", part(&high[..high.len() / 50], "image/png")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_image",
        ),
        (
            Form::new().part("metadata", part(&meta_bytes, "application/json")).part("high", part(b"GIF89a not a scan", "image/png")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_image",
        ),
        (
            Form::new()
                .part("metadata", part(&meta_bytes, "application/json"))
                .part("high", part(&high, "image/png"))
                .part("low", part(&high, "image/png")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "energy_mismatch",
        ),
    ];
    for (i, (form, status, code)) in cases.into_iter().enumerate() {
        assert_eq!(send(form).await, (status, code.to_owned()), "case {i}");
    }
    let not_multipart = client()
        .post(format!("{}/api/v1/scans", server.url))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(not_multipart.status(), StatusCode::BAD_REQUEST);
    assert_eq!(not_multipart.json::<Value>().await.unwrap()["error"]["code"], "bad_multipart");
    // The contract's errors name every field.
    let mut broken = metadata.clone();
    broken["declaration"]["number"] = json!("");
    broken["pixel_pitch_mm"] = json!(-1);
    let (status, body) = upload(server, &key, &broken, &high, None, "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<_> = body["error"]["details"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"declaration.number") && fields.contains(&"pixel_pitch_mm"), "{body}");
    // Nothing half-accepted: the station scan id is still free.
    let (status, _) = upload(server, &key, &metadata, &high, None, "").await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

/// A query string or JSON body that does not parse is answered with the error body of every
/// other error, and axum's status for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_queries_and_bodies_get_the_error_body() {
    let server = &*SERVER;
    let officer = server.sign_in("sam-malformed", Role::Supervisor).await;
    let (mut metadata, high, low) = sample_parts("SIM-65-000000");
    metadata["station_scan_id"] = json!("malformed-0001");
    let key = server.station_key(&station_of(&metadata)).await;
    let error_of = |response: reqwest::Response| async move {
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        (status, body["error"]["code"].as_str().unwrap_or_default().to_owned(), body["error"]["message"].is_string())
    };
    let invalid = |status: StatusCode, code: &str| (status, code.to_owned(), true);
    for path in ["/api/v1/stats?days=abc", "/api/v1/queue?lane=purple", "/api/v1/outcomes.jsonl?since=yesterday", "/api/v1/scans/x/image.png?window=wide"] {
        assert_eq!(error_of(get(server, &officer, path).await).await, invalid(StatusCode::BAD_REQUEST, "invalid_query"), "{path}");
    }
    // A value that parses but is not one the parameter takes.
    let (status, accepted) = upload(server, &key, &metadata, &high, low.as_deref(), "").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let scan = accepted["scan_id"].as_str().unwrap();
    let energy = get(server, &officer, &format!("/api/v1/scans/{scan}/image.png?energy=ultra")).await;
    assert_eq!(error_of(energy).await, invalid(StatusCode::BAD_REQUEST, "invalid_query"));
    let upload = client().post(format!("{}/api/v1/scans?wait=soon", server.url)).bearer_auth(&key).send().await.unwrap();
    assert_eq!(error_of(upload).await, invalid(StatusCode::BAD_REQUEST, "invalid_query"));

    let send = |path: &str, content_type: &str, body: &str| {
        client()
            .post(format!("{}{path}", server.url))
            .bearer_auth(&officer)
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
    };
    let json = "application/json";
    let cases = [
        ("/api/v1/scans/x/decision", json, "{\"decision\": ", StatusCode::BAD_REQUEST, "invalid_json"),
        ("/api/v1/scans/x/decision", json, "{\"notes\": \"no decision\"}", StatusCode::UNPROCESSABLE_ENTITY, "invalid_json"),
        ("/api/v1/scans/x/decision", "text/plain", "release", StatusCode::UNSUPPORTED_MEDIA_TYPE, "wrong_content_type"),
        // Optional bodies: none is fine, a broken one is not.
        ("/api/v1/queue/next", json, "{\"lane\": \"purple\"}", StatusCode::UNPROCESSABLE_ENTITY, "invalid_json"),
        ("/api/v1/scans/x/claim", json, "[", StatusCode::BAD_REQUEST, "invalid_json"),
        ("/api/v1/session", json, "{}", StatusCode::UNPROCESSABLE_ENTITY, "invalid_json"),
    ];
    for (path, content_type, body, status, code) in cases {
        assert_eq!(error_of(send(path, content_type, body).await.unwrap()).await, invalid(status, code), "{path} {body}");
    }
    let no_body = client().post(format!("{}/api/v1/scans/x/claim", server.url)).bearer_auth(&officer).send().await.unwrap();
    assert_eq!(error_of(no_body).await, invalid(StatusCode::NOT_FOUND, "not_found"));
}

/// Every image file of the server as if stored two days ago: retention keeps files stored in
/// the last hour, which may belong to a scan being taken in.
fn age_image_files(dir: &std::path::Path) {
    for sub in std::fs::read_dir(dir).unwrap() {
        for file in std::fs::read_dir(sub.unwrap().path()).unwrap() {
            let file = std::fs::File::options().write(true).open(file.unwrap().path()).unwrap();
            file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86_400)).unwrap();
        }
    }
}

fn image_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).unwrap().map(|sub| std::fs::read_dir(sub.unwrap().path()).unwrap().count()).sum()
}

/// Retention: an admin deletes the images of settled scans by hand, and `keep_images_days`
/// does it on its own; the scan, its verdict and its log stay, its pictures answer 410, and
/// the same images can be uploaded again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settled_scans_lose_their_images_by_hand_or_after_the_configured_days() {
    let server = TestServer::start(ConfigFile::default());
    let admin = server.sign_in("root-retention", Role::Admin).await;
    let settled = |sample: &'static str, station_scan_id: &'static str| {
        let server = &server;
        async move {
            let (mut metadata, high, low) = sample_parts(sample);
            metadata["station_scan_id"] = json!(station_scan_id);
            let key = server.station_key(&station_of(&metadata)).await;
            let (status, scan) = upload(server, &key, &metadata, &high, low.as_deref(), "?wait=30").await;
            assert_eq!((status, scan["state"].as_str()), (StatusCode::OK, Some("released")), "{scan}");
            (scan["id"].as_str().unwrap().to_owned(), 1 + usize::from(low.is_some()))
        }
    };
    let (first, first_files) = settled("SIM-65-000000", "retention-1").await;
    let (second, second_files) = settled("SIM-66-000001", "retention-2").await;
    let gone = |id: String| {
        let (server, admin) = (&server, admin.clone());
        async move {
            for picture in ["image.png", "heatmap.png"] {
                let response = get(server, &admin, &format!("/api/v1/scans/{id}/{picture}")).await;
                assert_eq!(response.status(), StatusCode::GONE, "{picture}");
                assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "images_purged");
            }
            let scan: Value = get(server, &admin, &format!("/api/v1/scans/{id}")).await.json().await.unwrap();
            assert!(scan["images_purged_at"].is_string() && scan["verdict"]["lane"] == "green", "{scan}");
        }
    };

    let purge = |body: Value| post(&server, &admin, "/api/v1/admin/purge-images", body);
    let supervisor = server.sign_in("sue-retention", Role::Supervisor).await;
    let (status, _) = post(&server, &supervisor, "/api/v1/admin/purge-images", json!({ "settled_before": "2026-01-01T00:00:00Z" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for refused in [json!({ "settled_before": "2999-01-01T00:00:00Z" }), json!({ "settled_before": "2026-01-01T00:00:00Z", "max_scans": 0 })] {
        let (status, answer) = purge(refused.clone()).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_purge")), "{refused}");
    }

    let files = image_files(&server.images_dir());
    age_image_files(&server.images_dir());
    let now = chrono::Utc::now().to_rfc3339();
    let (status, report) = purge(json!({ "settled_before": now, "max_scans": 1 })).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report, json!({ "scans": 1, "files": first_files, "more": true }), "oldest first, one at a time");
    assert_eq!(image_files(&server.images_dir()), files - first_files);
    gone(first.clone()).await;
    assert!(purges_counted(&server, &admin, 1, first_files).await, "the hand purge is counted");
    let audit: Value = get(&server, &admin, &format!("/api/v1/scans/{first}/audit")).await.json().await.unwrap();
    assert_eq!(audit["entries"].as_array().unwrap().last().unwrap()["action"], "images_purged");
    assert_eq!(get(&server, &admin, &format!("/api/v1/scans/{second}/image.png")).await.status(), StatusCode::OK);

    // A purge between the handler's reading of the scan and of its heatmap leaves the scan as
    // read without cells: 410, not a heatmap that looks corrupt.
    let mut connection = sqlx::AnyConnection::connect(&server.database_url).await.unwrap();
    let heatmap = format!("/api/v1/scans/{second}/heatmap.png");
    assert_eq!(get(&server, &admin, &heatmap).await.status(), StatusCode::OK);
    sqlx::query("UPDATE analyses SET heatmap_cells = NULL WHERE scan_id = $1").bind(&second).execute(&mut connection).await.unwrap();
    let response = get(&server, &admin, &heatmap).await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "images_purged");

    // On its own: the second scan settled two days ago, the service keeps images one day.
    sqlx::query("UPDATE scans SET updated_at = updated_at - $1 WHERE id = $2")
        .bind(2 * 86_400_000_i64)
        .bind(&second)
        .execute(&mut connection)
        .await
        .unwrap();
    let mut keeping_a_day = ConfigFile::default();
    keeping_a_day.retention.keep_images_days = 1;
    let server = server.restart(keeping_a_day);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // The scan is marked first, its files deleted right after.
    while get(&server, &admin, &format!("/api/v1/scans/{second}/image.png")).await.status() != StatusCode::GONE
        || image_files(&server.images_dir()) != 0
        || !purges_counted(&server, &admin, 1, second_files).await
    {
        assert!(std::time::Instant::now() < deadline, "the purge at start-up did not reach the second scan");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The same images come back for a new scan.
    let (mut metadata, high, low) = sample_parts("SIM-65-000000");
    metadata["station_scan_id"] = json!("retention-3");
    let key = server.station_key(&station_of(&metadata)).await;
    let (status, again) = upload(&server, &key, &metadata, &high, low.as_deref(), "?wait=30").await;
    assert_eq!((status, again["state"].as_str()), (StatusCode::OK, Some("released")), "{again}");
    let id = again["id"].as_str().unwrap();
    assert_eq!(get(&server, &admin, &format!("/api/v1/scans/{id}/image.png")).await.status(), StatusCode::OK);
}

/// Whether `/metrics` counts these scans and files purged since the server started, and no failure.
async fn purges_counted(server: &TestServer, token: &str, scans: usize, files: usize) -> bool {
    let metrics = get(server, token, "/metrics").await.text().await.unwrap();
    metrics.contains(&format!("scantriage_images_purged_scans_total {scans}\n"))
        && metrics.contains(&format!("scantriage_images_purged_files_total {files}\n"))
        && metrics.contains("scantriage_images_purge_failures_total 0\n")
}

/// A 16 × 16 16-bit PNG: passes the header checks at the door.
fn tiny_png() -> Vec<u8> {
    let image = image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::from_pixel(16, 16, image::Luma([30_000]));
    let mut png = std::io::Cursor::new(Vec::new());
    image.write_to(&mut png, image::ImageFormat::Png).unwrap();
    png.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_limit_backlog_and_rate_limit_answer_before_anything_is_stored() {
    let mut small_bodies = ConfigFile::default();
    small_bodies.server.body_limit_mb = 1;
    let server = TestServer::start(small_bodies);
    let (mut metadata, high, _) = sample_parts("SIM-68-000003");
    let key = server.station_key(&station_of(&metadata)).await;
    let (status, body) = upload(&server, &key, &metadata, &high, None, "").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "too_large");
    drop(server);

    let mut busy = ConfigFile::default();
    busy.server.uploads_per_minute_per_station = 1;
    busy.server.upload_burst_per_station = 3;
    busy.intake.max_backlog = 0;
    let server = TestServer::start(busy);
    let key = server.station_key(&station_of(&metadata)).await;
    metadata["station_scan_id"] = json!("tiny-0001");
    let send_tiny = || client().post(format!("{}/api/v1/scans", server.url)).bearer_auth(&key).multipart(form(&metadata, &tiny_png(), None)).send();
    for _ in 0..3 {
        let response = send_tiny().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key("retry-after"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "busy");
    }
    let response = send_tiny().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "the fourth upload of the burst of three");
    assert!(response.headers().contains_key("retry-after"));

    let store = scantriage::queue::Store::open(&server.database_url).await.unwrap();
    assert!(store.counts_by_state().await.unwrap().is_empty(), "nothing was stored");
}

/// No disk has the space this reserve asks for: every upload meets a "full" image store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_image_store_refuses_uploads_with_507_and_stores_nothing() {
    let mut full = ConfigFile::default();
    full.intake.keep_free_disk_mb = u64::MAX;
    let server = TestServer::start(full);
    let (metadata, high, low) = sample_parts("SIM-68-000003");
    let key = server.station_key(&station_of(&metadata)).await;
    let (status, retry_after, body) = refused_upload(&server, &key, &metadata, &high, low.as_deref()).await;
    assert_eq!((status, retry_after.as_deref()), (StatusCode::INSUFFICIENT_STORAGE, Some("60")));
    assert_eq!(body["error"]["code"], "storage_full", "{body}");
    assert!(!body["error"]["message"].as_str().unwrap().contains('/'), "no server paths in the answer: {body}");

    let store = scantriage::queue::Store::open(&server.database_url).await.unwrap();
    assert!(store.counts_by_state().await.unwrap().is_empty(), "nothing was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_every_route_the_server_answers() {
    let server = &*SERVER;
    let key = server.station_key("OPENAPI-GATE").await;
    assert_eq!(client().get(format!("{}/api/openapi.json", server.url)).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let document: Value = get(server, &key, "/api/openapi.json").await.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"), "{}", document["openapi"]);
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 18, "{:?}", paths.keys());
    for (path, operations) in paths {
        let concrete = path.replace("{id}", "no-such-scan");
        for method in operations.as_object().unwrap().keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = client().request(method.clone(), format!("{}{concrete}", server.url)).send().await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let unrouted = status == StatusCode::METHOD_NOT_ALLOWED
                || body["error"]["message"].as_str().is_some_and(|m| m.starts_with("no such endpoint"));
            assert!(!unrouted, "{method} {path} is documented but not served ({status})");
        }
    }
    // Undocumented paths fall through to the JSON 404.
    let response = client().get(format!("{}/api/v1/nothing-here", server.url)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(serde_json::to_value(scantriage::api::openapi()).unwrap(), document);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_keys_and_users_through_the_api() {
    let server = &*SERVER;
    let root = server.sign_in("root-admin", Role::Admin).await;
    let supervisor = server.sign_in("sue-admin-test", Role::Supervisor).await;
    let (status, _) = post(server, &supervisor, "/api/v1/admin/keys", json!({ "station_id": "GATE-ADMIN" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "supervisors do not manage keys");

    let (status, created) = post(server, &root, "/api/v1/admin/keys", json!({ "station_id": "GATE-ADMIN" })).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().unwrap();
    let me: Value = get(server, key, "/api/v1/session").await.json().await.unwrap();
    assert_eq!(me["station_id"], "GATE-ADMIN");
    let (status, body) = post(server, &root, "/api/v1/admin/keys", json!({ "station_id": "no spaces" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let revoke = client()
        .delete(format!("{}/api/v1/admin/keys/{}", server.url, created["key_id"].as_str().unwrap()))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    assert_eq!(get(server, key, "/api/v1/session").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(get(server, &supervisor, "/api/v1/admin/keys").await.status(), StatusCode::FORBIDDEN);
    let listed: Value = get(server, &root, "/api/v1/admin/keys").await.json().await.unwrap();
    let mine = listed["keys"].as_array().unwrap().iter().find(|k| k["key_id"] == created["key_id"]).expect("the key is listed");
    assert!(mine["station_id"] == "GATE-ADMIN" && mine["revoked_at"].is_string() && mine.get("key").is_none(), "{mine}");
    assert!(mine["last_used_at"].is_string(), "the key was used once: {mine}");

    let new_user = json!({ "name": "olga", "role": "officer", "password": "a long enough password" });
    let (status, user) = post(server, &root, "/api/v1/admin/users", new_user.clone()).await;
    assert_eq!((status, user["role"].as_str()), (StatusCode::CREATED, Some("officer")));
    let (status, _) = post(server, &root, "/api/v1/admin/users", new_user).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = post(server, &root, "/api/v1/admin/users", json!({ "name": "short", "role": "officer", "password": "short" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, session) =
        post(server, "", "/api/v1/session", json!({ "name": "olga", "password": "a long enough password" })).await;
    assert_eq!(status, StatusCode::OK);
    let olga = session["token"].as_str().unwrap();
    let disable = client().delete(format!("{}/api/v1/admin/users/olga", server.url)).bearer_auth(&root).send().await.unwrap();
    assert_eq!(disable.status(), StatusCode::NO_CONTENT);
    assert_eq!(get(server, olga, "/api/v1/queue").await.status(), StatusCode::UNAUTHORIZED, "disabling ends sessions");

    // Supervisors and admins see who there is (to assign scans); officers do not.
    let listed: Value = get(server, &supervisor, "/api/v1/users").await.json().await.unwrap();
    let user = |name: &str| listed["users"].as_array().unwrap().iter().find(|u| u["name"] == name).cloned();
    assert_eq!(user("olga"), Some(json!({ "name": "olga", "role": "officer", "active": false })));
    assert_eq!(user("root-admin"), Some(json!({ "name": "root-admin", "role": "admin", "active": true })));
    assert!(listed.to_string().find("root-admin") < listed.to_string().find("\"olga\""), "active users first: {listed}");
    let officer = server.sign_in("otto-admin-test", Role::Officer).await;
    assert_eq!(get(server, &officer, "/api/v1/users").await.status(), StatusCode::FORBIDDEN);

    // A user disabled by mistake comes back, with the old password.
    let enable = || client().post(format!("{}/api/v1/admin/users/olga/enable", server.url)).bearer_auth(&root).send();
    assert_eq!(enable().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(enable().await.unwrap().status(), StatusCode::NOT_FOUND, "olga is active");
    let (status, _) = post(server, "", "/api/v1/session", json!({ "name": "olga", "password": "a long enough password" })).await;
    assert_eq!(status, StatusCode::OK);

    // The account log says who did it; the server is shared, so only this test's entries.
    assert_eq!(get(server, &supervisor, "/api/v1/admin/account-log").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(get(server, &root, "/api/v1/admin/account-log?limit=0").await.status(), StatusCode::BAD_REQUEST);
    let log: Value = get(server, &root, "/api/v1/admin/account-log?limit=1000").await.json().await.unwrap();
    let mine: Vec<(&str, &str)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "root-admin")
        .map(|e| (e["action"].as_str().unwrap(), e["subject"].as_str().unwrap()))
        .collect();
    let key_id = created["key_id"].as_str().unwrap();
    assert_eq!(mine, [("user_enabled", "olga"), ("user_disabled", "olga"), ("user_added", "olga"), ("key_revoked", key_id), ("key_created", key_id)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officers_change_their_password_and_admins_reset_it() {
    let server = &*SERVER;
    let root = server.sign_in("root-passwords", Role::Admin).await;
    let first = "the first long password";
    let (status, _) = post(server, &root, "/api/v1/admin/users", json!({ "name": "pia", "role": "officer", "password": first })).await;
    assert_eq!(status, StatusCode::CREATED);
    let sign_in = |password: &str| post(server, "", "/api/v1/session", json!({ "name": "pia", "password": password }));
    let token = |answer: (StatusCode, Value)| answer.1["token"].as_str().unwrap().to_owned();
    let put = |token: String, path: String, body: Value| async move {
        let response = client().put(format!("{}{path}", server.url)).bearer_auth(token).json(&body).send().await.unwrap();
        let status = response.status();
        (status, response.json::<Value>().await.unwrap_or(Value::Null))
    };
    let change = |token: &str, current: &str, new: &str| {
        put(token.to_owned(), "/api/v1/session/password".into(), json!({ "current_password": current, "new_password": new }))
    };
    let (here, elsewhere) = (token(sign_in(first).await), token(sign_in(first).await));

    let (status, body) = change(&here, "not the password", "a second long password").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("wrong_password")), "{body}");
    let (status, body) = change(&here, first, "short").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_account")), "{body}");
    let station = server.station_key("GATE-PASSWORDS").await;
    assert_eq!(change(&station, first, "a second long password").await.0, StatusCode::FORBIDDEN);
    assert_eq!(change(&here, first, "a second long password").await.0, StatusCode::NO_CONTENT);
    assert_eq!(get(server, &here, "/api/v1/session").await.status(), StatusCode::OK, "the session that changed it goes on");
    assert_eq!(get(server, &elsewhere, "/api/v1/session").await.status(), StatusCode::UNAUTHORIZED, "the others end");
    assert_eq!(sign_in(first).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in("a second long password").await.0, StatusCode::OK);

    let reset = |token: &str, name: &str| put(token.to_owned(), format!("/api/v1/admin/users/{name}/password"), json!({ "password": "set by the admin" }));
    let supervisor = server.sign_in("sue-passwords", Role::Supervisor).await;
    assert_eq!(reset(&supervisor, "pia").await.0, StatusCode::FORBIDDEN);
    assert_eq!(reset(&root, "nobody-here").await.0, StatusCode::NOT_FOUND);
    assert_eq!(reset(&root, "pia").await.0, StatusCode::NO_CONTENT);
    assert_eq!(get(server, &here, "/api/v1/session").await.status(), StatusCode::UNAUTHORIZED, "a reset ends every session");
    assert_eq!(sign_in("set by the admin").await.0, StatusCode::OK);

    // The same on the service's machine, for another user: each name has ten password attempts.
    let (status, _) = post(server, &root, "/api/v1/admin/users", json!({ "name": "quinn", "role": "officer", "password": first })).await;
    assert_eq!(status, StatusCode::CREATED);
    let sign_in = |password: &str| post(server, "", "/api/v1/session", json!({ "name": "quinn", "password": password }));
    let users = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_scantriage"))
            .arg("users")
            .args(args)
            .arg("--data-dir")
            .arg(server.data_dir())
            .env("SCANTRIAGE_PASSWORD", "set on the command line")
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    users(&["set-password", "quinn"]);
    assert_eq!(sign_in("set on the command line").await.0, StatusCode::OK);
    users(&["disable", "quinn"]);
    assert_eq!(sign_in("set on the command line").await.0, StatusCode::UNAUTHORIZED);
    assert!(users(&["list"]).lines().any(|line| line == "quinn\tofficer\tdisabled"));
    users(&["enable", "quinn"]);
    assert_eq!(sign_in("set on the command line").await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_works_the_same_on_postgresql() {
    let server = TestServer::start_on(ConfigFile::default(), Some(support::postgres_url().await));
    let (metadata, high, low) = sample_parts("SIM-6b-000006");
    let key = server.station_key(&station_of(&metadata)).await;
    let (status, scan) = upload(&server, &key, &metadata, &high, low.as_deref(), "?wait=30").await;
    assert_eq!(status, StatusCode::OK, "{scan}");
    assert_eq!(scan["lane"], "red");
    assert!(reasons(&scan).contains(&"declared_empty_but_loaded"), "{}", scan["verdict"]);
    let (status, again) = upload(&server, &key, &metadata, &high, low.as_deref(), "").await;
    assert_eq!((status, again["duplicate"].as_bool()), (StatusCode::OK, Some(true)));

    let ana = server.sign_in("ana-pg", Role::Officer).await;
    let (status, claimed) = post(&server, &ana, "/api/v1/queue/next", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(claimed["id"], scan["id"]);
    let id = scan["id"].as_str().unwrap();
    let (status, decided) =
        post(&server, &ana, &format!("/api/v1/scans/{id}/decision"), json!({ "decision": "seizure", "notes": "" })).await;
    assert_eq!((status, decided["state"].as_str()), (StatusCode::OK, Some("decided")));
    let audit: Value = get(&server, &ana, &format!("/api/v1/scans/{id}/audit")).await.json().await.unwrap();
    let actions: Vec<_> = audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["received", "analysis_started", "analysed", "queued", "claimed", "decided"]);
    let stats: Value = get(&server, &ana, "/api/v1/stats").await.json().await.unwrap();
    assert_eq!(stats["by_state"]["decided"], 1, "{stats}");
}
