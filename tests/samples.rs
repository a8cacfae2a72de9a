//! The committed samples meet the contract and match the simulator that made them.

use std::fs;
use std::path::{Path, PathBuf};

use scantriage::ingest::ScanMetadata;
use scantriage::sim::output::{HIGH_FILE, LABELS_FILE, LOW_FILE, METADATA_FILE, TRUTH_FILE};
use scantriage::sim::scan::SIMULATOR_VERSION;
use scantriage::sim::scenario::Scenario;
use scantriage::sim::truth::GroundTruth;

fn sample_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .expect("samples/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.join(METADATA_FILE).is_file())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn samples_cover_every_scenario_and_both_lengths_within_budget() {
    let dirs = sample_dirs();
    assert!((12..=20).contains(&dirs.len()), "{} samples", dirs.len());
    let truths: Vec<GroundTruth> =
        dirs.iter().map(|d| serde_json::from_slice(&fs::read(d.join(TRUTH_FILE)).unwrap()).unwrap()).collect();
    for scenario in Scenario::ALL {
        assert!(truths.iter().any(|t| t.scenario == scenario), "no {scenario:?} sample");
    }
    let lengths: Vec<_> = truths.iter().flat_map(|t| t.containers.iter().map(|c| c.length)).collect();
    assert!(lengths.contains(&scantriage::ingest::ContainerLength::Twenty));
    assert!(lengths.contains(&scantriage::ingest::ContainerLength::Forty));
    let bytes: u64 = dirs
        .iter()
        .flat_map(|d| fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(bytes < 30 * 1024 * 1024, "samples take {bytes} bytes");
}

#[test]
fn every_sample_meets_the_contract_and_its_truth() {
    for dir in sample_dirs() {
        let name = dir.display();
        let meta = ScanMetadata::from_json(&fs::read(dir.join(METADATA_FILE)).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let truth: GroundTruth = serde_json::from_slice(&fs::read(dir.join(TRUTH_FILE)).unwrap()).unwrap();
        assert_eq!(truth.simulator_version, SIMULATOR_VERSION, "{name}: stale sample, run `make samples`");
        assert_eq!(dir.file_name().unwrap().to_str(), Some(meta.station_scan_id.as_str()));
        let high = image::open(dir.join(HIGH_FILE)).unwrap();
        assert_eq!(high.color(), image::ColorType::L16, "{name}: high.png must be 16-bit grayscale");
        if meta.is_dual_energy() {
            let low = image::open(dir.join(LOW_FILE)).unwrap();
            assert_eq!((low.width(), low.height()), (high.width(), high.height()), "{name}");
        } else {
            assert!(!dir.join(LOW_FILE).exists(), "{name}: single-energy sample with low.png");
        }
        let labels = image::open(dir.join(LABELS_FILE)).unwrap();
        assert_eq!((labels.width(), labels.height()), (high.width(), high.height()), "{name}");
        assert_eq!(truth.containers.len(), meta.containers.len(), "{name}");
        for (c, info) in truth.containers.iter().zip(&meta.containers) {
            assert_eq!(c.number, info.number.as_str());
            assert!(c.outer.x1 <= high.width() && c.outer.y1 <= high.height(), "{name}");
        }
    }
}
