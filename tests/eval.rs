//! `scantriage eval` on a small simulated set, through its public function and the binary,
//! with the committed models.

use std::path::Path;
use std::process::Command;

use scantriage::eval::evaluate;
use scantriage::imaging::decode::Limits;
use scantriage::inference::{Engine, InferencePool, ModelRegistry, PoolConfig, init_runtime};
use scantriage::sim::cargo::Goods;
use scantriage::sim::detector::Dose;
use scantriage::sim::output::{PngCompression, write_scan};
use scantriage::sim::scenario::Scenario;
use scantriage::sim::{Layout, SimOptions, simulate};
use scantriage::taxonomy::Taxonomy;
use scantriage::triage::TriageConfig;

fn manifest() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/manifest.toml")
}

/// Honest loads of known goods, concealments and goods misdeclarations, in both lengths and
/// both doses.
fn simulate_set(out: &Path) {
    let taxonomy = Taxonomy::built_in();
    let honest = |goods, layout, dose| SimOptions {
        scenario: Some(Scenario::Honest),
        goods: Some(goods),
        layout: Some(layout),
        dose: Some(dose),
        ..SimOptions::default()
    };
    let concealment = |layout, dose| SimOptions {
        scenario: Some(Scenario::Concealment),
        layout: Some(layout),
        dose: Some(dose),
        ..SimOptions::default()
    };
    let misdeclared = |scenario, layout, dose| SimOptions { scenario: Some(scenario), ..concealment(layout, dose) };
    let sets = [
        honest(Goods::Textiles, Layout::Twenty, Dose::Normal),
        honest(Goods::TyresRubber, Layout::Forty, Dose::Low),
        honest(Goods::Tobacco, Layout::Forty, Dose::Normal),
        honest(Goods::Footwear, Layout::Twenty, Dose::Low),
        concealment(Layout::Twenty, Dose::Normal),
        concealment(Layout::Forty, Dose::Low),
        misdeclared(Scenario::Misdeclared, Layout::Forty, Dose::Normal),
        misdeclared(Scenario::Undeclared, Layout::Twenty, Dose::Low),
    ];
    // Two cores: simulate in two threads.
    std::thread::scope(|scope| {
        for half in sets.chunks(4).enumerate() {
            let taxonomy = &taxonomy;
            scope.spawn(move || {
                let (h, options) = half;
                for (i, o) in options.iter().enumerate() {
                    let index = (h * 4 + i) as u64;
                    let scan = simulate(&SimOptions { seed: 40000 + index, ..o.clone() }, index, taxonomy);
                    write_scan(out, &scan, PngCompression::Fast).unwrap();
                }
            });
        }
    });
}

#[test]
fn eval_measures_a_simulated_set_through_the_function_and_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    simulate_set(dir.path());

    let runtime = init_runtime().expect("ONNX Runtime (run `make ort` first)");
    let registry = ModelRegistry::load(&manifest()).unwrap();
    let pool = InferencePool::start(&runtime, registry, PoolConfig { workers: 2, ..PoolConfig::default() }).unwrap();
    let engine = Engine::new(pool, Limits::default());
    let report = evaluate(&engine, dir.path(), &TriageConfig::default()).unwrap();
    println!("{}", report.table());

    let json = serde_json::to_value(&report).unwrap();
    for key in [
        "tile_accuracy",
        "mismatch_recall",
        "false_flag_rate",
        "concealment_auroc",
        "anomaly_model_auroc",
        "concealment_localised",
        "concealment_false_alarm_rate",
        "mass_error_median",
        "scans",
        "by_length",
        "by_dose",
        "by_concealment_kind",
    ] {
        assert!(json.get(key).is_some(), "{key} missing from the JSON");
    }
    assert_eq!(json["scans"], 8);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    for group in ["20ft", "40ft"] {
        assert_eq!(json["by_length"][group]["scans"], 4, "{group}");
    }
    for group in ["normal", "low"] {
        assert_eq!(json["by_dose"][group]["scans"], 4, "{group}");
    }
    let scenarios: Vec<&str> = report.per_scan.iter().map(|o| o.scenario.as_str()).collect();
    for scenario in ["honest", "concealment", "misdeclared", "undeclared"] {
        assert!(scenarios.contains(&scenario), "{scenario} missing from {scenarios:?}");
    }
    // Each concealment scan counts under the kind of its objects, each against the same honest scans.
    let objects: usize = report.per_scan.iter().map(|s| s.concealed.len()).sum();
    let kinds = &report.by_concealment_kind;
    assert!(!kinds.is_empty());
    assert_eq!(kinds.values().map(|k| k.objects).sum::<usize>(), objects, "{kinds:?}");
    assert_eq!(kinds.values().map(|k| k.scans).sum::<usize>(), 2, "{kinds:?}");
    for k in kinds.values() {
        for value in [k.auroc, k.anomaly_model_auroc, k.localised] {
            assert!((0.0..=1.0).contains(&value.expect("defined for every kind present")), "{kinds:?}");
        }
    }
    let o = &report.overall;
    let metrics = [
        o.tile_accuracy,
        o.mismatch_recall,
        o.false_flag_rate,
        o.concealment_auroc,
        o.anomaly_model_auroc,
        o.concealment_localised,
        o.concealment_false_alarm_rate,
        o.mass_error_median,
    ];
    for value in metrics {
        let value = value.expect("every metric is defined on this set");
        assert!((0.0..=1.0).contains(&value), "{value}");
    }
    // Bars below the targets (docs/models.md), with room for eight scans' chance: a classifier or
    // triage change that loses ground shows here. Concealment has no bar: the anomaly model is
    // far from its targets (docs/models.md), and one concealment scan among eight proves nothing.
    assert!(o.tile_accuracy.unwrap() > 0.9, "tile accuracy {:?}", o.tile_accuracy);
    assert_eq!(o.mismatch_recall, Some(1.0), "a goods misdeclaration went unflagged");
    assert_eq!(o.false_flag_rate, Some(0.0), "an honest declaration was flagged");
    assert!(o.mass_error_median.unwrap() < 0.15, "mass error {:?}", o.mass_error_median);
    for scan in report.per_scan.iter().filter(|o| o.flagged) {
        assert!(!scan.goods_reasons.is_empty(), "{scan:?}");
    }
    let tiles: usize = report.confusion.iter().flatten().sum();
    assert_eq!(tiles, o.tiles);

    let json_out = dir.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_scantriage"))
        .args(["eval", "--data"])
        .arg(dir.path())
        .arg("--models")
        .arg(manifest())
        .arg("--json")
        .arg(&json_out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("tile accuracy"));
    let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&json_out).unwrap()).unwrap();
    assert_eq!(written["scans"], 8);
    assert_eq!(written["per_scan"].as_array().map(Vec::len), Some(8));

    // Other triage thresholds: with none able to see or miss goods, no misdeclaration is flagged.
    let blind = dir.path().join("blind.toml");
    std::fs::write(&blind, "min_share = 1.01\nnot_seen_below = 0.0\n").unwrap();
    let eval_with = |triage: &Path| {
        Command::new(env!("CARGO_BIN_EXE_scantriage"))
            .args(["eval", "--format", "json", "--data"])
            .arg(dir.path())
            .arg("--models")
            .arg(manifest())
            .arg("--triage")
            .arg(triage)
            .output()
            .unwrap()
    };
    let output = eval_with(&blind);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let blind_report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(blind_report["mismatch_recall"], 0.0);
    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, "min_shares = 0.1\n").unwrap();
    let output = eval_with(&typo);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid triage thresholds"), "{}", String::from_utf8_lossy(&output.stderr));
}
