//! The committed models: they match their manifest, and through the whole production
//! pipeline they recognise the goods of honest samples and mark hidden packages.

use std::fs;
use std::path::Path;

use scantriage::eval::evaluate;
use scantriage::imaging::decode::Limits;
use scantriage::inference::{Engine, InferencePool, ModelRegistry, PoolConfig, init_runtime};
use scantriage::ingest::ScanMetadata;
use scantriage::sim::truth::GroundTruth;
use scantriage::triage::TriageConfig;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn registry() -> ModelRegistry {
    ModelRegistry::load(&root().join("models/manifest.toml")).expect("committed models match their manifest")
}

fn engine() -> Engine {
    let runtime = init_runtime().expect("ONNX Runtime (run `make ort` first)");
    let pool = InferencePool::start(&runtime, registry(), PoolConfig { workers: 2, ..PoolConfig::default() }).unwrap();
    Engine::new(pool, Limits::default())
}

#[test]
fn committed_models_match_their_manifest() {
    let registry = registry();
    let labels: Vec<&str> = registry.taxonomy().labels().collect();
    assert_eq!(registry.manifest().models.classifier.labels, labels);
    for file in ["models/classifier.onnx", "models/anomaly.onnx"] {
        let size = fs::metadata(root().join(file)).unwrap().len();
        assert!(size < 20 * 1024 * 1024, "{file} is {size} bytes");
    }
}

/// Honest samples loaded with one category: the classifier's largest share is that category.
#[test]
fn honest_single_category_samples_are_recognised() {
    let engine = engine();
    let mut checked = 0;
    for entry in fs::read_dir(root().join("samples")).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(truth) = fs::read(dir.join("truth.json")) else { continue };
        let truth: GroundTruth = serde_json::from_slice(&truth).unwrap();
        let single = truth.containers.len() == 1 && truth.containers[0].contents.len() == 1;
        if !single || !truth.concealed_objects.is_empty() {
            continue;
        }
        let metadata = ScanMetadata::from_json(&fs::read(dir.join("meta.json")).unwrap()).unwrap();
        let high = fs::read(dir.join("high.png")).unwrap();
        let low = fs::read(dir.join("low.png")).ok();
        let analysis = engine.analyse(&high, low.as_deref(), &metadata).unwrap();
        let expected = serde_json::to_value(truth.containers[0].contents[0].goods).unwrap();
        let top = &analysis.containers[0].composition[0];
        assert_eq!(top.category, expected.as_str().unwrap(), "{}: {:?}", dir.display(), analysis.containers[0].composition);
        assert!(top.share > 0.6, "{}: {:?}", dir.display(), analysis.containers[0].composition);
        checked += 1;
    }
    assert!(checked >= 2, "only {checked} single-category honest samples");
}

/// Concealment through the pipeline: the dense-packages sample gets an anomaly region over its
/// hidden packages, the false-wall sample a wall across its hold, and no sample without
/// concealment gets either (each would be a false concealment alarm for an officer).
#[test]
fn hidden_packages_and_a_false_wall_are_marked_and_the_other_samples_spared() {
    let report = evaluate(&engine(), &root().join("samples"), &TriageConfig::default()).unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    for scan in report.per_scan.iter().filter(|s| s.concealed.is_empty()) {
        assert_eq!((scan.anomaly_regions, scan.partitions), (0, 0), "{scan:?}");
    }
    assert_eq!(report.overall.concealment_false_alarm_rate, Some(0.0));
    let packages = report.per_scan.iter().find(|s| s.name == "SIM-6d-000008").expect("the dense-packages sample");
    assert!(packages.concealed.iter().any(|c| c.localised), "{packages:?}");
    for scan in report.per_scan.iter().filter(|s| !s.concealed.is_empty()) {
        let wall = scan.name == "SIM-6f-000010";
        assert_eq!(scan.partitions, usize::from(wall), "{scan:?}");
        assert!(!wall || scan.concealed[0].localised, "{scan:?}");
    }
}
