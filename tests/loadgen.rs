//! Smoke run of the load generator against a real service: a few seconds, a few scans.

mod support;

use std::time::Duration;

use scantriage::config::ConfigFile;
use scantriage::loadgen::{self, Load, LoadConfig};
use support::server::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_run_reports_latency_throughput_and_the_services_stages() {
    let server = TestServer::start(ConfigFile::default());
    let mut stations = Vec::new();
    for n in 1..=2 {
        let id = format!("LOADGEN-{n:02}");
        stations.push((id.clone(), Some(server.station_key(&id).await)));
    }
    let scans = loadgen::load_scans(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")).unwrap();
    let config = LoadConfig {
        url: server.url.clone(),
        load: Load::Rate(3.0),
        duration: Duration::from_secs(2),
        stations,
        wait_seconds: 30,
        max_in_flight: 16,
        label: "scantriage".into(),
    };
    let report = tokio::time::timeout(Duration::from_secs(120), loadgen::run(config, scans)).await.unwrap().unwrap();
    assert!(report.requests >= 5, "{}", report.summary());
    assert_eq!(report.verdicts, report.requests, "{:?}", report.errors);
    let latency = report.latency.as_ref().unwrap();
    assert!(latency.p50_ms > 0.0 && latency.p50_ms <= latency.p99_ms && latency.p99_ms <= latency.max_ms);
    let stages = report.stages.as_ref().expect("scantriage reports its stages");
    for stage in ["queueing", "decode", "classify", "anomaly", "analysis", "triage", "storage"] {
        assert_eq!(stages[stage].scans as usize, report.verdicts, "{stage}");
    }
    assert!(report.overhead_share.is_some());
    // Each verdict's analysis is part of its latency.
    let overhead = report.overhead_share_p50.expect("verdicts report their analysis time");
    assert!(overhead > 0.0, "{overhead}");

    let out = tempfile::tempdir().unwrap();
    loadgen::write_outputs(&report, out.path(), "smoke").unwrap();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.path().join("smoke.json")).unwrap()).unwrap();
    assert_eq!(json["verdicts"], report.verdicts);
    assert!(std::fs::read_to_string(out.path().join("smoke.md")).unwrap().contains("| p99 |"));
    assert!(std::fs::read_to_string(out.path().join("smoke-histogram.svg")).unwrap().starts_with("<svg"));
}
