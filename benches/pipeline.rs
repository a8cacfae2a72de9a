//! The analysis of a 40 ft dual-energy sample, stage by stage and whole.
//!
//! The models are `models/manifest.toml` when trained models are there, otherwise the tiny
//! fixture models of tests/fixtures/models (then the inference figures measure only the
//! plumbing); `SCANTRIAGE_BENCH_MODELS` names another manifest.

use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use scantriage::imaging::decode::{Limits, decode_scan};
use scantriage::imaging::locate::locate_containers;
use scantriage::imaging::partition::find_partitions;
use scantriage::imaging::preprocess::{Attenuation, Preprocessing};
use scantriage::inference::{Engine, InferencePool, ModelRegistry, PoolConfig, init_runtime};
use scantriage::ingest::ScanMetadata;

const SAMPLE: &str = "samples/SIM-65-000000";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn manifest() -> PathBuf {
    if let Ok(path) = std::env::var("SCANTRIAGE_BENCH_MODELS") {
        return PathBuf::from(path);
    }
    let trained = root().join("models/manifest.toml");
    if trained.is_file() { trained } else { root().join("tests/fixtures/models/manifest.toml") }
}

fn bench_pipeline(c: &mut Criterion) {
    let dir = root().join(SAMPLE);
    let high = std::fs::read(dir.join("high.png")).expect("sample high.png");
    let low = std::fs::read(dir.join("low.png")).expect("sample low.png");
    let metadata = ScanMetadata::from_json(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap();
    let limits = Limits::default();
    let images = decode_scan(&high, Some(&low), &limits).unwrap();
    let attenuation = Attenuation::new(&images, 5.0);
    let containers = locate_containers(attenuation.high.view(), 5.0, 1).unwrap();
    let interiors: Vec<_> = containers.iter().map(|c| c.interior).collect();
    let preprocessing = Preprocessing::default();

    let mut group = c.benchmark_group("pipeline");
    group.sample_size(20);
    group.bench_function("decode_40ft_dual", |b| b.iter(|| decode_scan(&high, Some(&low), &limits).unwrap()));
    group.bench_function("attenuation", |b| b.iter(|| Attenuation::new(&images, 5.0)));
    group.bench_function("locate", |b| b.iter(|| locate_containers(attenuation.high.view(), 5.0, 1).unwrap()));
    group.bench_function("partitions", |b| b.iter(|| find_partitions(attenuation.high.view(), &containers[0].interior, 5.0)));
    group.bench_function("tiles", |b| b.iter(|| preprocessing.tiles(&attenuation, &interiors)));

    let manifest = manifest();
    eprintln!("pipeline bench models: {}", manifest.display());
    let runtime = init_runtime().expect("ONNX Runtime (run `make ort`)");
    let registry = ModelRegistry::load(&manifest).expect("model manifest");
    let pool = InferencePool::start(&runtime, registry, PoolConfig { workers: 2, ..PoolConfig::default() }).unwrap();
    let tiles = preprocessing.tiles(&attenuation, &interiors);
    group.bench_function("classify_tiles", |b| b.iter(|| pool.classify(tiles.data.clone()).unwrap()));
    group.bench_function("anomaly_tiles", |b| b.iter(|| pool.anomaly(tiles.data.clone()).unwrap()));
    let engine = Engine::new(pool, limits);
    group.bench_function("analyse_40ft_dual", |b| b.iter(|| engine.analyse(&high, Some(&low), &metadata).unwrap()));

    // The same scan as a station may also send it: uncompressed 16-bit TIFF, no inflating.
    let (high, low) = (as_tiff(&high), as_tiff(&low));
    group.bench_function("decode_40ft_dual_tiff", |b| b.iter(|| decode_scan(&high, Some(&low), &limits).unwrap()));
    group.bench_function("analyse_40ft_dual_tiff", |b| b.iter(|| engine.analyse(&high, Some(&low), &metadata).unwrap()));
    group.finish();
}

fn as_tiff(png: &[u8]) -> Vec<u8> {
    let mut tiff = std::io::Cursor::new(Vec::new());
    image::load_from_memory(png).unwrap().write_to(&mut tiff, image::ImageFormat::Tiff).unwrap();
    tiff.into_inner()
}

criterion_group!(benches, bench_pipeline);
criterion_main!(benches);
