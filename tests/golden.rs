//! The analysis of every committed sample with the committed models is stable: the figures in
//! tests/golden/analyses.json, within tolerances that allow for floating-point differences
//! between CPUs. After retraining the models or changing the pipeline on purpose, rewrite the
//! file with `SCANTRIAGE_UPDATE_GOLDEN=1 cargo test --test golden` and review its diff.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use scantriage::imaging::decode::Limits;
use scantriage::inference::{Analysis, Engine, InferencePool, ModelRegistry, PoolConfig, init_runtime};
use scantriage::ingest::ScanMetadata;
use scantriage::imaging::PixelBox;
use serde::{Deserialize, Serialize};

const SHARE_TOLERANCE: f32 = 0.03;
const SCORE_TOLERANCE: f32 = 0.01;
const MASS_TOLERANCE: f64 = 0.01;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Golden {
    containers: Vec<PixelBox>,
    /// Category → share of the loaded area, for shares of at least 5 %.
    composition: BTreeMap<String, f32>,
    anomaly_score: f32,
    cargo_mass_kg: f64,
}

impl Golden {
    fn of(analysis: &Analysis) -> Self {
        Self {
            containers: analysis.containers.iter().map(|c| c.outer).collect(),
            composition: analysis
                .composition
                .iter()
                .filter(|c| c.share >= 0.05)
                .map(|c| (c.category.clone(), (c.share * 1000.0).round() / 1000.0))
                .collect(),
            anomaly_score: (analysis.anomaly_score * 10_000.0).round() / 10_000.0,
            cargo_mass_kg: analysis.cargo_mass_kg.round(),
        }
    }

    /// Differences beyond the tolerances, in words.
    fn differences(&self, expected: &Golden) -> Vec<String> {
        let mut found = Vec::new();
        if self.containers != expected.containers {
            found.push(format!("containers {:?}, expected {:?}", self.containers, expected.containers));
        }
        let categories: std::collections::BTreeSet<&String> =
            self.composition.keys().chain(expected.composition.keys()).collect();
        for category in categories {
            let (a, b) = (self.composition.get(category).copied().unwrap_or(0.0), expected.composition.get(category).copied().unwrap_or(0.0));
            if (a - b).abs() > SHARE_TOLERANCE {
                found.push(format!("{category} share {a}, expected {b}"));
            }
        }
        if (self.anomaly_score - expected.anomaly_score).abs() > SCORE_TOLERANCE {
            found.push(format!("anomaly score {}, expected {}", self.anomaly_score, expected.anomaly_score));
        }
        if (self.cargo_mass_kg / expected.cargo_mass_kg.max(1.0) - 1.0).abs() > MASS_TOLERANCE
            && (self.cargo_mass_kg - expected.cargo_mass_kg).abs() > 10.0
        {
            found.push(format!("mass {} kg, expected {}", self.cargo_mass_kg, expected.cargo_mass_kg));
        }
        found
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn sample_analyses_match_the_golden_figures() {
    let runtime = init_runtime().expect("ONNX Runtime (run `make ort` first)");
    let registry = ModelRegistry::load(&root().join("models/manifest.toml")).unwrap();
    let pool = InferencePool::start(&runtime, registry, PoolConfig { workers: 2, ..PoolConfig::default() }).unwrap();
    let engine = Engine::new(pool, Limits::default());
    let mut dirs: Vec<PathBuf> = fs::read_dir(root().join("samples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("meta.json").is_file())
        .collect();
    dirs.sort();
    let actual: BTreeMap<String, Golden> = dirs
        .iter()
        .map(|dir| {
            let metadata = ScanMetadata::from_json(&fs::read(dir.join("meta.json")).unwrap()).unwrap();
            let high = fs::read(dir.join("high.png")).unwrap();
            let low = fs::read(dir.join("low.png")).ok();
            let analysis = engine.analyse(&high, low.as_deref(), &metadata).unwrap();
            (dir.file_name().unwrap().to_string_lossy().into_owned(), Golden::of(&analysis))
        })
        .collect();

    let path = root().join("tests/golden/analyses.json");
    if std::env::var_os("SCANTRIAGE_UPDATE_GOLDEN").is_some() {
        fs::write(&path, serde_json::to_string_pretty(&actual).unwrap() + "\n").unwrap();
        return;
    }
    let expected: BTreeMap<String, Golden> =
        serde_json::from_slice(&fs::read(&path).expect("tests/golden/analyses.json (see this file's doc)")).unwrap();
    assert_eq!(actual.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "the samples changed");
    let problems: Vec<String> = actual
        .iter()
        .flat_map(|(name, golden)| golden.differences(&expected[name]).into_iter().map(move |d| format!("{name}: {d}")))
        .collect();
    assert!(problems.is_empty(), "analyses moved from the golden figures:\n{}", problems.join("\n"));
}
