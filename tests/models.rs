//! The committed models: they match their manifest, and through the whole production
//! pipeline they recognise the goods of honest samples.

use std::fs;
use std::path::Path;

use scantriage::imaging::decode::Limits;
use scantriage::inference::{Engine, InferencePool, ModelRegistry, PoolConfig, init_runtime};
use scantriage::ingest::ScanMetadata;
use scantriage::sim::truth::GroundTruth;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn registry() -> ModelRegistry {
    ModelRegistry::load(&root().join("models/manifest.toml")).expect("committed models match their manifest")
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
    let runtime = init_runtime().expect("ONNX Runtime (run `make ort` first)");
    let pool = InferencePool::start(&runtime, registry(), PoolConfig { workers: 2, ..PoolConfig::default() }).unwrap();
    let engine = Engine::new(pool, Limits::default());
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
