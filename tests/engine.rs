//! The whole analysis of a scan through the real parts: decoding, container localisation,
//! preprocessing, the real ONNX Runtime with the tiny fixture models, mass and merging.
//! (The fixture models are real ONNX graphs with hand-set weights, so goods and anomaly
//! figures here check the plumbing, not the models' skill.)

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use scantriage::imaging::decode::Limits;
use scantriage::inference::{AnalysisError, Engine, InferencePool, ModelRegistry, PoolConfig, init_runtime};
use scantriage::ingest::ScanMetadata;
use scantriage::sim::truth::GroundTruth;

fn engine(workers: usize) -> Engine {
    let runtime = init_runtime().expect("ONNX Runtime (run `make ort` first)");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/manifest.toml");
    let registry = ModelRegistry::load(&manifest).unwrap();
    let config = PoolConfig { workers, intra_threads: 1, max_batch: 64, queue_capacity: 64 };
    Engine::new(InferencePool::start(&runtime, registry, config).unwrap(), Limits::default())
}

struct Sample {
    name: String,
    high: Vec<u8>,
    low: Option<Vec<u8>>,
    metadata: ScanMetadata,
    truth: GroundTruth,
}

fn samples() -> Vec<Sample> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut dirs: Vec<PathBuf> =
        fs::read_dir(root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.join("meta.json").is_file()).collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| Sample {
            name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            high: fs::read(dir.join("high.png")).unwrap(),
            low: fs::read(dir.join("low.png")).ok(),
            metadata: ScanMetadata::from_json(&fs::read(dir.join("meta.json")).unwrap()).unwrap(),
            truth: serde_json::from_slice(&fs::read(dir.join("truth.json")).unwrap()).unwrap(),
        })
        .collect()
}

#[test]
fn every_sample_is_analysed_with_its_containers_mass_and_model_versions() {
    let engine = engine(2);
    for s in samples() {
        let a = engine.analyse(&s.high, s.low.as_deref(), &s.metadata).unwrap_or_else(|e| panic!("{}: {e}", s.name));
        assert_eq!(a.containers.len(), s.truth.containers.len(), "{}", s.name);
        for (found, truth) in a.containers.iter().zip(&s.truth.containers) {
            let off = |a: u32, b: u32| a.abs_diff(b);
            let (f, t) = (found.outer, truth.outer);
            assert!(off(f.x0, t.x0) <= 6 && off(f.x1, t.x1) <= 6 && off(f.y0, t.y0) <= 6 && off(f.y1, t.y1) <= 6, "{}: {f:?} vs {t:?}", s.name);
            // Loads too dense to see through only give a lower bound.
            if truth.cargo_mass_kg > 2000.0 && found.mass.saturated_share < 0.01 {
                let error = found.mass.kg / truth.cargo_mass_kg - 1.0;
                assert!(error.abs() < 0.4, "{}: mass {} vs {}", s.name, found.mass.kg, truth.cargo_mass_kg);
            }
            let shares: f32 = found.composition.iter().map(|c| c.share).sum();
            assert!(found.composition.is_empty() || (shares - 1.0).abs() < 1e-4, "{}", s.name);
            assert!((0.0..=1.0).contains(&found.loaded_share));
        }
        assert_eq!(a.image.dual_energy, s.metadata.is_dual_energy());
        assert_eq!(a.models.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["classifier", "anomaly"]);
        assert!(a.models.iter().all(|m| m.version == "0.0.1-fixture" && m.sha256.len() == 64));
        for region in &a.anomaly_regions {
            assert!(region.score > a.anomaly_threshold && region.container < a.containers.len());
        }
        assert!(a.timings_ms.total >= a.timings_ms.decode + a.timings_ms.locate);
        let json = serde_json::to_value(&a).unwrap();
        for key in ["containers", "composition", "anomaly_score", "anomaly_regions", "cargo_mass_kg", "models", "timings_ms"] {
            assert!(json.get(key).is_some(), "{key} missing from the JSON");
        }
    }
}

#[test]
fn energy_mismatch_and_hostile_images_are_refused() {
    let engine = engine(1);
    let dual = samples().into_iter().find(|s| s.low.is_some()).unwrap();
    let error = engine.analyse(&dual.high, None, &dual.metadata).unwrap_err();
    assert!(matches!(error, AnalysisError::EnergyMismatch { .. }), "{error}");
    assert!(error.to_string().contains("dual-energy"));
    let truncated = &dual.high[..dual.high.len() / 2];
    let error = engine.analyse(truncated, dual.low.as_deref(), &dual.metadata).unwrap_err();
    assert!(matches!(error, AnalysisError::Decode(_)), "{error}");
    assert!(error.to_string().contains("high image"), "{error}");
    let error = engine.analyse(b"not an image", dual.low.as_deref(), &dual.metadata).unwrap_err();
    assert!(error.to_string().contains("PNG or TIFF"), "{error}");
}

/// Many analyses at once give exactly what one at a time gives.
#[test]
fn concurrent_analyses_match_sequential_ones() {
    let engine = Arc::new(engine(2));
    let samples = Arc::new(samples().into_iter().take(4).collect::<Vec<_>>());
    let strip = |mut v: serde_json::Value| {
        v.as_object_mut().unwrap().remove("timings_ms");
        v
    };
    let sequential: Vec<serde_json::Value> = samples
        .iter()
        .map(|s| strip(serde_json::to_value(engine.analyse(&s.high, s.low.as_deref(), &s.metadata).unwrap()).unwrap()))
        .collect();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let (engine, samples) = (Arc::clone(&engine), Arc::clone(&samples));
            std::thread::spawn(move || {
                let s = &samples[i % samples.len()];
                (i % samples.len(), serde_json::to_value(engine.analyse(&s.high, s.low.as_deref(), &s.metadata).unwrap()).unwrap())
            })
        })
        .collect();
    for handle in handles {
        let (index, value) = handle.join().unwrap();
        assert_eq!(strip(value), sequential[index]);
    }
}
