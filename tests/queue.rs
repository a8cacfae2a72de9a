//! The store and the officers' workflow, the same stories on SQLite and on a real PostgreSQL
//! server (started by `make test`, see scripts/with-postgres.sh).

mod support;

use std::collections::HashSet;
use std::time::Duration;

use scantriage::queue::{
    Decision, Inserted, NewScan, Outcome, QueueFilter, ScanState, Store, StoreError, StoredAnalysis, now_ms,
};
use scantriage::inference::analysis::Heatmap;
use scantriage::ingest::images::{FsImageStore, ImageStore, image_key};
use scantriage::queue::retention::{self, Purged};
use scantriage::review::{self, Action, Officer, ReviewError, Role};
use scantriage::triage::{Lane, Reason, ReasonCode, Verdict};
use serde_json::json;
use sqlx::Connection;

const LEASE: Duration = Duration::from_secs(60);

fn new_scan(station: &str, station_scan_id: &str, digest: &str) -> NewScan {
    NewScan {
        id: uuid::Uuid::now_v7().to_string(),
        station_id: station.into(),
        station_scan_id: station_scan_id.into(),
        content_digest: digest.into(),
        metadata: json!({ "station_id": station }).to_string(),
        high_image: "a".repeat(64),
        low_image: None,
        containers: "MSCU1234565".into(),
        declared_goods: "toys (950300)".into(),
        declaration_number: format!("2026/{station}/{station_scan_id}"),
    }
}

fn analysis() -> StoredAnalysis {
    StoredAnalysis {
        analysis: json!({ "anomaly_score": 0.1 }),
        heatmap: Some(Heatmap { cell: 16, columns: 3, rows: 2, values: vec![0.0, 0.5, 1.0, 0.25, 0.0, f32::MAX] }),
        models: json!([{ "name": "classifier", "version": "1", "sha256": "ab" }]),
    }
}

fn verdict(lane: Lane, risk_score: u32) -> Verdict {
    let reasons = match lane {
        Lane::Green => vec![],
        _ => vec![Reason {
            code: ReasonCode::UndeclaredGoods,
            sentence: "tobacco not declared".into(),
            evidence: json!({}),
            points: risk_score,
        }],
    };
    Verdict { risk_score, lane, reasons }
}

fn officer(name: &str) -> Officer {
    Officer { name: name.into(), role: Role::Officer }
}

async fn insert(store: &Store, station: &str, n: usize) -> String {
    match store.insert_scan(&new_scan(station, &format!("{n:04}"), &format!("digest-{n}"))).await.unwrap() {
        Inserted::New { id } => id,
        other => panic!("expected a new scan, got {other:?}"),
    }
}

/// Inserts a scan and takes it through analysis and triage into `lane`.
async fn routed(store: &Store, station: &str, n: usize, lane: Lane, risk: u32) -> String {
    let id = insert(store, station, n).await;
    let job = store.claim_analysis("w", LEASE, 3).await.unwrap().expect("a scan to analyse");
    assert_eq!(job.scan_id, id);
    assert!(store.finish_analysis(&job, &analysis()).await.unwrap());
    store.route(&id, &verdict(lane, risk)).await.unwrap();
    id
}

async fn state(store: &Store, id: &str) -> ScanState {
    store.scan(id).await.unwrap().unwrap().state
}

async fn uploads_are_idempotent_per_station_scan_id(store: Store) {
    let first = store.insert_scan(&new_scan("GATE-1", "0001", "d1")).await.unwrap();
    let Inserted::New { id } = first else { panic!("{first:?}") };
    let again = store.insert_scan(&new_scan("GATE-1", "0001", "d1")).await.unwrap();
    assert_eq!(again, Inserted::Duplicate { id: id.clone() });
    let changed = store.insert_scan(&new_scan("GATE-1", "0001", "d2")).await.unwrap();
    assert_eq!(changed, Inserted::Conflict { id: id.clone() });
    let other_station = store.insert_scan(&new_scan("GATE-2", "0001", "d2")).await.unwrap();
    assert!(matches!(other_station, Inserted::New { .. }));
    assert_eq!(store.backlog().await.unwrap(), 2);
    assert_eq!(state(&store, &id).await, ScanState::Received);
}

async fn a_scan_moves_through_every_state_and_the_log_tells_it(store: Store) {
    let red = routed(&store, "GATE-1", 1, Lane::Red, 75).await;
    let green = routed(&store, "GATE-1", 2, Lane::Green, 5).await;
    assert_eq!(state(&store, &red).await, ScanState::Queued);
    assert_eq!(state(&store, &green).await, ScanState::Released, "green scans are recorded, not queued");
    assert_eq!(store.backlog().await.unwrap(), 0);

    let ana = officer("ana");
    review::act(&store, &ana, &red, &Action::Claim { lease: LEASE }).await.unwrap();
    let decided = review::act(
        &store,
        &ana,
        &red,
        &Action::Decide { decision: Decision::PhysicalInspectionOrdered, notes: "dense block".into() },
    )
    .await
    .unwrap();
    assert_eq!(decided.state, ScanState::Decided);
    assert_eq!(decided.claim, None);
    let closed = review::act(&store, &officer("ben"), &red, &Action::RecordOutcome { outcome: Outcome::Seizure, notes: "".into() })
        .await
        .unwrap();
    assert_eq!(closed.state, ScanState::Closed);

    let log = store.audit_log(&red).await.unwrap();
    let actions: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["received", "analysis_started", "analysed", "queued", "claimed", "decided", "outcome_recorded"]);
    let actors: Vec<_> = log.iter().map(|e| e.actor.as_str()).collect();
    assert_eq!(actors, ["GATE-1", "system", "system", "system", "ana", "ana", "ben"]);
    assert_eq!(log[5].previous_state, Some(ScanState::Queued));
    assert_eq!(log[5].new_state, Some(ScanState::Decided));
    assert_eq!(log[5].details["decision"], "physical_inspection_ordered");
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq && w[0].at <= w[1].at));

    let outcomes = store.outcomes(None).await.unwrap();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].scan_id, red);
    assert_eq!(outcomes[0].reasons, ["undeclared_goods"]);
    assert_eq!(outcomes[0].models[0]["name"], "classifier");
    assert_eq!(outcomes[0].outcome, Some(Outcome::Seizure));
    let mut jsonl = Vec::new();
    review::write_jsonl(&outcomes, &mut jsonl).unwrap();
    let line: serde_json::Value = serde_json::from_slice(jsonl.split(|&b| b == b'\n').next().unwrap()).unwrap();
    assert_eq!(line["decision"], "physical_inspection_ordered");
}

async fn a_lapsed_analysis_is_taken_over_and_the_late_result_dropped(store: Store) {
    let id = insert(&store, "GATE-1", 1).await;
    let first = store.claim_analysis("w1", Duration::from_millis(1), 3).await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = match store.claim_analysis("w2", LEASE, 3).await.unwrap() {
        Some(job) => job,
        None => panic!("the lapsed analysis is taken over"),
    };
    assert_eq!((second.scan_id.as_str(), second.attempt), (id.as_str(), 2));
    assert!(!store.finish_analysis(&first, &analysis()).await.unwrap(), "the first worker lost its lease");
    assert!(store.finish_analysis(&second, &analysis()).await.unwrap());
    assert!(!store.finish_analysis(&second, &analysis()).await.unwrap(), "one analysis per scan");
    assert_eq!(state(&store, &id).await, ScanState::Analysed);
    assert_eq!(store.awaiting_triage().await.unwrap().len(), 1);
    assert_eq!(store.analysis(&id).await.unwrap().unwrap().heatmap, analysis().heatmap);
}

async fn a_scan_interrupted_too_often_fails(store: Store) {
    let id = insert(&store, "GATE-1", 1).await;
    for attempt in 1..=2 {
        let job = store.claim_analysis("w", Duration::from_millis(1), 2).await.unwrap().unwrap();
        assert_eq!(job.attempt, attempt);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(store.claim_analysis("w", LEASE, 2).await.unwrap().is_none());
    let scan = store.scan(&id).await.unwrap().unwrap();
    assert_eq!(scan.state, ScanState::Failed);
    assert_eq!(scan.failure.as_deref(), Some("analysis was interrupted 2 times"));

    // Once the cause is fixed, an admin queues it again with its attempts reset.
    assert_eq!(store.requeue_failed(now_ms() + 1, "root").await.unwrap(), Vec::<String>::new(), "failed before that time");
    assert_eq!(store.requeue_failed(scan.updated_at, "root").await.unwrap(), std::slice::from_ref(&id));
    let scan = store.scan(&id).await.unwrap().unwrap();
    assert_eq!((scan.state, scan.failure, scan.attempts), (ScanState::Received, None, 0));
    let last = store.audit_log(&id).await.unwrap().pop().unwrap();
    assert_eq!((last.action.as_str(), last.actor.as_str()), ("analysis_requeued", "root"));
    let job = store.claim_analysis("w", LEASE, 2).await.unwrap().expect("the scan to analyse again");
    assert_eq!((job.scan_id, job.attempt), (id, 1));
}

async fn the_queue_is_ordered_by_risk_then_age_and_filtered(store: Store) {
    let low_old = routed(&store, "GATE-1", 1, Lane::Yellow, 35).await;
    let high = routed(&store, "GATE-2", 2, Lane::Red, 90).await;
    let low_new = routed(&store, "GATE-1", 3, Lane::Yellow, 35).await;
    routed(&store, "GATE-1", 4, Lane::Green, 0).await;
    let ids = |entries: Vec<scantriage::queue::QueueEntry>| entries.into_iter().map(|e| e.id).collect::<Vec<_>>();

    assert_eq!(ids(store.queue(&QueueFilter::default()).await.unwrap()), [high.clone(), low_old.clone(), low_new.clone()]);
    let yellow = QueueFilter { lane: Some(Lane::Yellow), ..Default::default() };
    assert_eq!(ids(store.queue(&yellow).await.unwrap()), [low_old.clone(), low_new.clone()]);
    let gate2 = QueueFilter { station: Some("GATE-2".into()), ..Default::default() };
    assert_eq!(ids(store.queue(&gate2).await.unwrap()), vec![high.clone()]);
    let released = QueueFilter { state: Some(ScanState::Released), ..Default::default() };
    assert_eq!(store.queue(&released).await.unwrap().len(), 1);
    let page = QueueFilter { limit: Some(1), offset: Some(1), ..Default::default() };
    assert_eq!(ids(store.queue(&page).await.unwrap()), vec![low_old.clone()]);
    let entry = &store.queue(&gate2).await.unwrap()[0];
    assert_eq!(entry.reasons, ["undeclared_goods"]);
    assert_eq!(entry.risk_score, Some(90));
}

async fn concurrent_claimers_never_share_a_scan(store: Store) {
    const SCANS: usize = 24;
    for n in 0..SCANS {
        routed(&store, "GATE-1", n, Lane::Red, 40 + (n % 7) as u32).await;
    }
    let claimers = (0..6).map(|k| {
        let store = store.clone();
        tokio::spawn(async move {
            let me = officer(&format!("officer-{k}"));
            let mut mine = Vec::new();
            while let Some(scan) = review::claim_next(&store, &me, &QueueFilter::default(), LEASE).await.unwrap() {
                assert_eq!(scan.claim.as_ref().unwrap().officer, me.name);
                mine.push(scan.id);
            }
            mine
        })
    });
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.await.unwrap());
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), SCANS, "every scan claimed once");
    assert_eq!(distinct.len(), SCANS, "no scan claimed twice");

    // The same scan claimed by id from many tasks at once: exactly one officer gets it.
    let contested = routed(&store, "GATE-9", 99, Lane::Red, 99).await;
    let attempts = (0..6).map(|k| {
        let (store, id) = (store.clone(), contested.clone());
        tokio::spawn(async move { review::act(&store, &officer(&format!("o{k}")), &id, &Action::Claim { lease: LEASE }).await })
    });
    let mut won = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => won += 1,
            Err(ReviewError::ClaimedByOther { .. }) => {}
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!(won, 1);
}

async fn an_abandoned_claim_lapses(store: Store) {
    let id = routed(&store, "GATE-1", 1, Lane::Red, 80).await;
    // Long enough for the two refusals below on a busy 2-core machine (50 ms was not, once).
    review::act(&store, &officer("ana"), &id, &Action::Claim { lease: Duration::from_millis(1_000) }).await.unwrap();
    let err = review::act(&store, &officer("ben"), &id, &Action::Claim { lease: LEASE }).await.unwrap_err();
    assert!(matches!(err, ReviewError::ClaimedByOther { .. }), "{err}");
    assert!(review::claim_next(&store, &officer("ben"), &QueueFilter::default(), LEASE).await.unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let taken = review::claim_next(&store, &officer("ben"), &QueueFilter::default(), LEASE).await.unwrap().unwrap();
    assert_eq!(taken.id, id);
    assert!(taken.claim.unwrap().until > now_ms());
}

async fn the_audit_log_cannot_be_changed(store: Store, url: String) {
    let id = insert(&store, "GATE-1", 1).await;
    let mut connection = sqlx::AnyConnection::connect(&url).await.unwrap();
    for sql in ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"] {
        let err = sqlx::query(sql).execute(&mut connection).await.expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(store.audit_log(&id).await.unwrap().len(), 1);
}

/// Who changed which account stays on record: the account log takes no change either.
async fn the_account_log_records_who_and_cannot_be_changed(store: Store, url: String) {
    let accounts = scantriage::accounts::Accounts::new(store.clone());
    accounts.acting_as("root").add_user("lena", Role::Officer, "a long enough password").await.unwrap();
    let (key_id, _) = accounts.create_station_key("GATE-LOG").await.unwrap();
    accounts.acting_as("root").revoke_station_key(&key_id).await.unwrap();
    assert!(accounts.acting_as("root").disable_user("nobody").await.is_err());
    let log = accounts.account_log(10).await.unwrap();
    let entries: Vec<(&str, &str, &str)> = log.iter().map(|e| (e.actor.as_str(), e.action.as_str(), e.subject.as_str())).collect();
    assert_eq!(entries, [("root", "key_revoked", key_id.as_str()), ("command line", "key_created", key_id.as_str()), ("root", "user_added", "lena")]);
    assert_eq!(log[0].details, json!({ "station_id": "GATE-LOG" }));

    let mut connection = sqlx::AnyConnection::connect(&url).await.unwrap();
    for sql in ["UPDATE account_log SET actor = 'someone else'", "DELETE FROM account_log"] {
        let err = sqlx::query(sql).execute(&mut connection).await.expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}

/// Heatmaps stored before migration 3 kept their cells in the JSON; they read as before.
async fn heatmaps_stored_as_json_still_read(store: Store, url: String) {
    let id = routed(&store, "GATE-1", 1, Lane::Yellow, 40).await;
    let mut connection = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE analyses SET heatmap = $1, heatmap_cells = NULL")
        .bind(json!({ "cell": 16, "columns": 2, "rows": 1, "values": [0.5, 0.25] }).to_string())
        .execute(&mut connection)
        .await
        .unwrap();
    let heatmap = store.analysis(&id).await.unwrap().unwrap().heatmap.unwrap();
    assert_eq!((heatmap.cell, heatmap.columns, heatmap.rows, heatmap.values), (16, 2, 1, vec![0.5, 0.25]));

    sqlx::query("UPDATE analyses SET heatmap = $1").bind(json!({ "cell": 16, "columns": 5, "rows": 1 }).to_string()).execute(&mut connection).await.unwrap();
    assert_eq!(store.analysis(&id).await.unwrap().unwrap().heatmap, None, "a grid without cells is one a purge emptied");
    sqlx::query("UPDATE analyses SET heatmap_cells = $1").bind(vec![0u8; 8]).execute(&mut connection).await.unwrap();
    assert!(matches!(store.analysis(&id).await, Err(StoreError::Corrupt(_))), "cells that do not fill the grid are refused");
}

/// `by_day` covers the days asked for; the other counts cover every scan.
async fn statistics_count_recent_days_by_day_and_all_scans_by_state(store: Store, url: String) {
    let old = routed(&store, "GATE-1", 1, Lane::Red, 80).await;
    routed(&store, "GATE-1", 2, Lane::Green, 5).await;
    insert(&store, "GATE-1", 3).await;
    let mut connection = sqlx::AnyConnection::connect(&url).await.unwrap();
    let forty_days_ms = 40 * 86_400_000_i64;
    sqlx::query("UPDATE scans SET received_at = received_at - $1 WHERE id = $2")
        .bind(forty_days_ms)
        .bind(&old)
        .execute(&mut connection)
        .await
        .unwrap();

    let lanes_by_day = |stats: &scantriage::queue::QueueStats| {
        stats.by_day.values().map(|lanes| lanes.iter().map(|(lane, n)| (lane.clone(), *n)).collect::<Vec<_>>()).collect::<Vec<_>>()
    };
    let month = store.stats(31).await.unwrap();
    assert_eq!(month.by_state.values().sum::<i64>(), 3);
    assert_eq!(month.by_station["GATE-1"].values().sum::<i64>(), 3);
    assert_eq!(lanes_by_day(&month), [vec![("green".to_owned(), 1), ("none".to_owned(), 1)]]);
    let year = store.stats(366).await.unwrap();
    assert_eq!(lanes_by_day(&year), [vec![("red".to_owned(), 1)], vec![("green".to_owned(), 1), ("none".to_owned(), 1)]]);
}

/// An image file as if stored `days` ago.
fn stored_days_ago(dir: &std::path::Path, key: &str, days: u64) {
    let file = std::fs::File::options().write(true).open(dir.join(&key[..2]).join(key)).unwrap();
    file.set_modified(std::time::SystemTime::now() - Duration::from_secs(days * 86_400)).unwrap();
}

/// Retention deletes the images and heatmap cells of settled scans only, once, keeping an
/// image that a scan still waiting for an officer shares or that was just stored again.
async fn retention_deletes_the_images_of_settled_scans_only(store: Store, url: String) {
    let dir = tempfile::tempdir().unwrap();
    let images = FsImageStore::new(dir.path()).unwrap();
    let mut keys = vec![];
    for n in 0..4 {
        let bytes = format!("image {n}").into_bytes();
        keys.push(image_key(&bytes));
        images.put(&keys[n], bytes.into()).await.unwrap();
        stored_days_ago(dir.path(), &keys[n], 100);
    }
    let exists = |key: &str| dir.path().join(&key[..2]).join(key).exists();
    let started = now_ms();
    let with_images = |n: usize, high: &str, low: Option<&str>| NewScan {
        high_image: high.into(),
        low_image: low.map(str::to_owned),
        ..new_scan("GATE-1", &format!("{n:04}"), &format!("digest-{n}"))
    };
    let mut ids = vec![];
    for (n, (high, low, lane)) in [
        (&keys[0], Some(&keys[1]), Lane::Green),
        (&keys[2], None, Lane::Red),
        (&keys[2], None, Lane::Red),
        (&keys[3], None, Lane::Green),
    ]
    .into_iter()
    .enumerate()
    {
        let Inserted::New { id } = store.insert_scan(&with_images(n, high, low.map(String::as_str))).await.unwrap() else { panic!() };
        let job = store.claim_analysis("w", LEASE, 3).await.unwrap().unwrap();
        assert!(store.finish_analysis(&job, &analysis()).await.unwrap());
        store.route(&id, &verdict(lane, 50)).await.unwrap();
        ids.push(id);
    }
    let (released, decided, waiting, stored_again) = (&ids[0], &ids[1], &ids[2], &ids[3]);
    let clear = |id: &str| {
        let (store, id) = (store.clone(), id.to_owned());
        async move {
            review::act(&store, &officer("ana"), &id, &Action::Claim { lease: LEASE }).await.unwrap();
            review::act(&store, &officer("ana"), &id, &Action::Decide { decision: Decision::Cleared, notes: String::new() }).await.unwrap();
        }
    };
    clear(decided).await;
    // The fourth image is uploaded again, for a scan the database does not show yet.
    images.put(&keys[3], b"image 3".to_vec().into()).await.unwrap();

    let running = || true;
    let purge = |before| retention::purge(&store, &images, before, usize::MAX, &running);
    assert_eq!(purge(started).await.unwrap(), Purged::default(), "nothing settled before the scans came in");
    assert_eq!(purge(now_ms() + 1).await.unwrap(), Purged { scans: 3, images: 2 });
    assert_eq!(keys.iter().map(|k| exists(k)).collect::<Vec<_>>(), [false, false, true, true]);
    assert_eq!(purge(now_ms() + 1).await.unwrap(), Purged::default(), "each scan once");

    let purged_at = |id: &str| {
        let store = store.clone();
        let id = id.to_owned();
        async move { store.scan(&id).await.unwrap().unwrap().images_purged_at }
    };
    for id in [released, decided, stored_again] {
        assert!(purged_at(id).await.is_some(), "{id}");
    }
    assert_eq!(purged_at(waiting).await, None);
    let last = store.audit_log(released).await.unwrap().pop().unwrap();
    assert_eq!((last.action.as_str(), last.actor.as_str()), ("images_purged", "system"));
    let mut connection = sqlx::AnyConnection::connect(&url).await.unwrap();
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM analyses WHERE heatmap_cells IS NOT NULL AND scan_id = $1")
        .bind(waiting)
        .fetch_one(&mut connection)
        .await
        .unwrap();
    let all_kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM analyses WHERE heatmap_cells IS NOT NULL").fetch_one(&mut connection).await.unwrap();
    assert_eq!((kept, all_kept), (1, 1), "only the waiting scan keeps its heatmap");

    // Once the last scan sharing an image is settled, the image goes too.
    clear(waiting).await;
    assert_eq!(purge(now_ms() + 1).await.unwrap(), Purged { scans: 1, images: 1 });
    assert!(!exists(&keys[2]));
}

macro_rules! on_both_backends {
    ($($story:ident),+ ; with its url: $($raw:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $story() {
                let (store, _url, _dir) = crate::support::sqlite_store().await;
                super::$story(store).await;
            })+

            $(#[tokio::test]
            async fn $raw() {
                let (store, url, _dir) = crate::support::sqlite_store().await;
                super::$raw(store, url).await;
            })+
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $story() {
                let (store, _url) = crate::support::postgres_store().await;
                super::$story(store).await;
            })+

            $(#[tokio::test]
            async fn $raw() {
                let (store, url) = crate::support::postgres_store().await;
                super::$raw(store, url).await;
            })+
        }
    };
}

on_both_backends!(
    uploads_are_idempotent_per_station_scan_id,
    a_scan_moves_through_every_state_and_the_log_tells_it,
    a_lapsed_analysis_is_taken_over_and_the_late_result_dropped,
    a_scan_interrupted_too_often_fails,
    the_queue_is_ordered_by_risk_then_age_and_filtered,
    concurrent_claimers_never_share_a_scan,
    an_abandoned_claim_lapses;
    with its url: the_audit_log_cannot_be_changed, the_account_log_records_who_and_cannot_be_changed, heatmaps_stored_as_json_still_read,
    statistics_count_recent_days_by_day_and_all_scans_by_state, retention_deletes_the_images_of_settled_scans_only,
);

/// A database at schema 5 with scans, then opened by this version: migration 6 takes the
/// declaration's number out of the stored metadata and migration 8 lists the container
/// numbers, so older scans are found by either.
async fn declaration_numbers_of_older_scans_are_found(url: &str, schema_5: [&str; 5]) {
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::raw_sql("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        .execute(&mut connection)
        .await
        .unwrap();
    for (version, sql) in (1..).zip(schema_5) {
        sqlx::raw_sql(sql).execute(&mut connection).await.unwrap();
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)").bind(version).execute(&mut connection).await.unwrap();
    }
    let metadata = json!({ "station_id": "GATE-9", "declaration": { "number": "2026/gate-9/000123", "declarant": "x" } });
    sqlx::query(
        "INSERT INTO scans (id, station_id, station_scan_id, content_digest, metadata, high_image, containers, \
         declared_goods, state, received_at, updated_at) VALUES ('old', 'GATE-9', '1', 'd', $1, 'h', 'MSCU1234565', '', 'queued', 1, 1)",
    )
    .bind(metadata.to_string())
    .execute(&mut connection)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO scans (id, station_id, station_scan_id, content_digest, metadata, high_image, containers, \
         declared_goods, state, received_at, updated_at) VALUES ('twin', 'GATE-9', '2', 'e', '{}', 'h', 'TGHU0000010, CSQU3054383', '', 'queued', 2, 2)",
    )
    .execute(&mut connection)
    .await
    .unwrap();
    let store = Store::open(url).await.unwrap();
    let found = |text: &'static str| {
        let store = store.clone();
        async move { store.find_scans(text, 10).await.unwrap().into_iter().map(|e| e.id).collect::<Vec<_>>() }
    };
    assert_eq!(found("2026/GATE-9/000123").await, ["old"]);
    assert_eq!(found("2026/gate-9/000123").await, ["old"], "case ignored");
    // Migration 8 lists the container numbers of older scans, both of a twin load.
    assert_eq!(found("1234565").await, ["old"]);
    assert_eq!(found("tghu 000001").await, ["twin"]);
    assert_eq!(found("CSQU3054383").await, ["twin"]);
}

const COMMON_2: &str = include_str!("../src/queue/migrations/common/0002_accounts.sql");
const COMMON_4: &str = include_str!("../src/queue/migrations/common/0004_scans_by_received.sql");
const COMMON_5: &str = include_str!("../src/queue/migrations/common/0005_image_retention.sql");

#[tokio::test]
async fn declaration_numbers_of_older_scans_are_found_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    let schema = [
        include_str!("../src/queue/migrations/sqlite/0001_scans.sql"),
        COMMON_2,
        include_str!("../src/queue/migrations/sqlite/0003_heatmap_cells.sql"),
        COMMON_4,
        COMMON_5,
    ];
    declaration_numbers_of_older_scans_are_found(&url, schema).await;
}

#[tokio::test]
async fn declaration_numbers_of_older_scans_are_found_on_postgresql() {
    let url = support::postgres_url().await;
    let schema = [
        include_str!("../src/queue/migrations/postgres/0001_scans.sql"),
        COMMON_2,
        include_str!("../src/queue/migrations/postgres/0003_heatmap_cells.sql"),
        COMMON_4,
        COMMON_5,
    ];
    declaration_numbers_of_older_scans_are_found(&url, schema).await;
}

#[tokio::test]
async fn postgresql_is_backed_up_with_its_own_tools() {
    let (store, _url) = support::postgres_store().await;
    let error = store.snapshot_into(std::path::Path::new("/nonexistent/copy.db")).await.unwrap_err();
    assert!(matches!(error, StoreError::NoSnapshot(_)), "{error}");
    assert!(error.to_string().contains("pg_dump"), "{error}");
}

/// A real PostgreSQL refusal: the server ends the connection (`57P01`, as when it shuts down).
/// Requests that meet it are answered 503 with a time to retry, not 500.
#[tokio::test]
async fn a_postgresql_server_going_away_is_told_apart_from_a_failure() {
    let (_store, url) = support::postgres_store().await;
    let mut connection = sqlx::AnyConnection::connect(&url).await.unwrap();
    let source = sqlx::query("SELECT pg_terminate_backend(pg_backend_pid())").execute(&mut connection).await.unwrap_err();
    let error = StoreError::Database { backend: "postgresql", source };
    assert!(error.is_unavailable(), "{error}");
    let mut connection = sqlx::AnyConnection::connect(&url).await.unwrap();
    let source = sqlx::query("SELECT * FROM no_such_table").execute(&mut connection).await.unwrap_err();
    assert!(!StoreError::Database { backend: "postgresql", source }.is_unavailable());
}

/// A loopback relay to the test server that a test cuts as a network outage would: the
/// relayed connections end and new ones are refused.
struct Relay {
    address: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    fn start(listener: tokio::net::TcpListener, server: &str) -> Self {
        let address = listener.local_addr().unwrap();
        let server = server.to_owned();
        let task = tokio::spawn(async move {
            // Dropped with this task when the relay is cut, which aborts every connection.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let server = server.clone();
                connections.spawn(async move {
                    let mut upstream = tokio::net::TcpStream::connect(&server).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
        });
        Self { address, task }
    }

    fn cut(self) {
        self.task.abort();
    }
}

/// The `host:port` of a URL on the test server.
fn server_of(url: &str) -> &str {
    url.split_once('@').unwrap().1.split_once('/').unwrap().0
}

/// The same database reached through `address`.
fn rerouted(url: &str, address: std::net::SocketAddr) -> String {
    url.replacen(server_of(url), &address.to_string(), 1)
}

/// While the server cannot be reached every request waits for a connection until the pool
/// gives up: that wait must be seconds, not the half minute that held every station's uploads.
#[tokio::test]
async fn an_unreachable_postgresql_server_is_reported_within_seconds() {
    let url = support::postgres_url().await;
    let relay = Relay::start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(), server_of(&url));
    let store = Store::open(&rerouted(&url, relay.address)).await.unwrap();
    store.ping().await.unwrap();
    relay.cut();
    // The first ping may fail on the pooled connection at once; the second must connect anew.
    for _ in 0..2 {
        let answer = tokio::time::timeout(Duration::from_secs(15), store.ping()).await;
        let error = answer.expect("the pool gives up within its wait").unwrap_err();
        assert!(error.is_unavailable(), "{error}");
    }
}

/// A server that comes up after the service (the two started together, say) is waited for
/// longer than a request waits.
#[tokio::test]
async fn start_up_waits_for_a_postgresql_server_that_comes_up_late() {
    let url = support::postgres_url().await;
    // Bound but not listening: connections are refused, and no other test can take the port.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let late = rerouted(&url, socket.local_addr().unwrap());
    let server_comes_up = async {
        // Longer than the pool's wait for a connection, so that start-up has to try again.
        tokio::time::sleep(Duration::from_secs(7)).await;
        Relay::start(socket.listen(16).unwrap(), server_of(&url))
    };
    let (opened, _relay) = tokio::join!(Store::open(&late), server_comes_up);
    opened.unwrap().ping().await.unwrap();
}

/// A server that never comes up ends start-up with where it was looked for and for how long
/// (the unit test of `address_of` checks that the password is left out).
#[tokio::test]
async fn start_up_gives_up_on_a_postgresql_server_that_never_answers_and_says_where() {
    let url = support::postgres_url().await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let address = socket.local_addr().unwrap();
    let err = Store::open(&rerouted(&url, address)).await.unwrap_err();
    let message = err.to_string();
    assert!(err.is_unavailable(), "{message}");
    assert!(message.contains(&format!("at {address} did not answer within 30 s")), "{message}");
}

#[tokio::test]
async fn unsupported_urls_are_refused_with_the_forms_that_work() {
    let err = Store::open("mysql://localhost/x").await.unwrap_err();
    assert!(err.to_string().contains("sqlite:///"), "{err}");
}
