//! The inference engine end to end through the real ONNX Runtime (`make ort` installs it) and
//! the tiny real models in tests/fixtures/models/ (see make_fixtures.py there).

use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use ndarray::{Array2, Array4, Axis, s};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use scantriage::inference::runtime::ORT_VERSION;
use scantriage::inference::{
    AnomalyOutput, InferenceError, InferencePool, ModelRegistry, PoolConfig, PoolError, Runtime, RuntimeError,
    init_runtime, init_runtime_from,
};

const CLASSES: usize = 15;
const TOLERANCE: f32 = 1e-5;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models")
}

fn runtime() -> Runtime {
    init_runtime().expect("ONNX Runtime (run `make ort` first)")
}

fn registry() -> ModelRegistry {
    ModelRegistry::load(&fixtures().join("manifest.toml")).unwrap()
}

fn pool(workers: usize, max_batch: usize, queue_capacity: usize) -> InferencePool {
    let config = PoolConfig { workers, intra_threads: 1, max_batch, queue_capacity };
    InferencePool::start(&runtime(), registry(), config).unwrap()
}

/// The fixture manifest with one edit, written elsewhere with its paths made absolute.
fn edited_manifest(from: &str, to: &str) -> (tempfile::TempDir, PathBuf) {
    let text = std::fs::read_to_string(fixtures().join("manifest.toml")).unwrap();
    assert!(text.contains(from), "the fixture manifest has no {from:?}");
    let dir = fixtures();
    let text = text
        .replace(from, to)
        .replace("\"../../../models/", &format!("\"{}/", dir.join("../../../models").display()))
        .replace("file = \"", &format!("file = \"{}/", dir.display()));
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("manifest.toml");
    std::fs::write(&path, text).unwrap();
    (temp, path)
}

/// The error of starting a pool on the fixture manifest with one edit.
fn start_error(from: &str, to: &str) -> String {
    let (_dir, path) = edited_manifest(from, to);
    match ModelRegistry::load(&path) {
        Err(error) => error.to_string(),
        Ok(registry) => {
            InferencePool::start(&runtime(), registry, PoolConfig::default()).err().expect("refused").to_string()
        }
    }
}

fn random_tiles(n: usize, seed: u64) -> Array4<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array4::from_shape_simple_fn((n, 2, 64, 64), || rng.random_range(0.0..4.0))
}

/// make_fixtures.py's classifier, by hand: softmax of a linear map of the channel means.
fn expected_probabilities(tile: ndarray::ArrayView3<f32>) -> Vec<f32> {
    let mean = |c: usize| tile.index_axis(Axis(0), c).iter().map(|&v| f64::from(v)).sum::<f64>() / 4096.0;
    let (m0, m1) = (mean(0), mean(1));
    let logits: Vec<f64> = (0..CLASSES)
        .map(|k| m0 * (k as f64 - 7.0) / 4.0 + m1 * ((k % 5) as f64 - 2.0) / 2.0 + k as f64 / 100.0)
        .collect();
    let max = logits.iter().cloned().fold(f64::MIN, f64::max);
    let total: f64 = logits.iter().map(|l| (l - max).exp()).sum();
    logits.iter().map(|l| ((l - max).exp() / total) as f32).collect()
}

fn assert_close(found: &[f32], expected: &[f32]) {
    assert_eq!(found.len(), expected.len());
    for (i, (f, e)) in found.iter().zip(expected).enumerate() {
        assert!((f - e).abs() <= TOLERANCE, "element {i}: found {f}, expected {e}");
    }
}

#[test]
fn runtime_loads_once_per_process() {
    let runtime = runtime();
    assert_eq!(runtime.version(), ORT_VERSION);
    assert_eq!(init_runtime().unwrap().library(), runtime.library());
    assert_eq!(init_runtime_from(runtime.library()).unwrap().library(), runtime.library());
}

#[test]
fn missing_library_says_how_to_get_one() {
    let error = init_runtime_from(Path::new("/nonexistent/libonnxruntime.so")).unwrap_err();
    assert!(matches!(error, RuntimeError::NotFound { .. }), "{error:?}");
    let message = error.to_string();
    for part in
        ["/nonexistent/libonnxruntime.so", "run `make ort` (or scripts/fetch-onnxruntime.sh), or set ORT_DYLIB_PATH"]
    {
        assert!(message.contains(part), "{message}");
    }
}

#[test]
fn a_file_that_is_not_a_library_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("libonnxruntime.so");
    std::fs::write(&path, "not a library").unwrap();
    let error = init_runtime_from(&path).unwrap_err();
    assert!(matches!(error, RuntimeError::NotALibrary { .. }), "{error:?}");
    assert!(error.to_string().contains("make ort"), "{error}");
}

#[test]
fn an_older_onnx_runtime_is_refused_with_its_version() {
    // A stand-in for ONNX Runtime 1.20: its API base reports that version and no API 31.
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("old.c");
    std::fs::write(
        &source,
        r#"
        static const void *get_api(unsigned version) { (void)version; return 0; }
        static const char *version_string(void) { return "1.20.1"; }
        static const struct { const void *(*get_api)(unsigned); const char *(*version)(void); } base = { get_api, version_string };
        const void *OrtGetApiBase(void) { return &base; }
        "#,
    )
    .unwrap();
    let library = dir.path().join("libonnxruntime.so.1.20.1");
    let status =
        std::process::Command::new("cc").args(["-shared", "-fPIC", "-o"]).arg(&library).arg(&source).status().unwrap();
    assert!(status.success());

    let error = init_runtime_from(&library).unwrap_err();
    assert!(matches!(&error, RuntimeError::WrongVersion { found, .. } if found == "1.20.1"), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("is ONNX Runtime 1.20.1, which lacks API version 31"), "{message}");
}

#[test]
fn registry_accepts_the_fixtures() {
    let registry = registry();
    let manifest = registry.manifest();
    let taxonomy_ids: Vec<&str> = registry.taxonomy().labels().collect();
    assert_eq!(manifest.models.classifier.labels, taxonomy_ids);
    assert_eq!(manifest.models.anomaly.thresholds.tile_score, 0.5);
    assert_eq!(manifest.preprocessing.tile_size, 64);
    // Training's free-form tables are kept.
    assert!(manifest.models.classifier.model.extra.contains_key("training"));
    assert!(manifest.models.anomaly.model.extra.contains_key("metrics"));
}

#[test]
fn manifest_disagreements_are_refused_precisely() {
    let classifier_sha = "6b51c5dae5c936f677e837ab9791c54c001ed1987b7892a2db46c849434a0c26";
    let error = start_error(classifier_sha, &"0".repeat(64));
    let path = fixtures().join("classifier.onnx");
    assert_eq!(
        error,
        format!("model classifier: sha256 of {}: expected {}, found {classifier_sha}", path.display(), "0".repeat(64))
    );

    assert_eq!(
        start_error(r#"labels = ["empty", "textiles", "footwear""#, r#"labels = ["empty", "footwear", "textiles""#),
        r#"model classifier: labels[1]: expected "textiles" (the taxonomy's id at 1), found "footwear""#
    );
    assert_eq!(
        start_error(r#", "chemicals_drums"]"#, "]"),
        "model classifier: labels[14]: expected \"chemicals_drums\" (the taxonomy's id at 14), found none (the manifest lists 14 labels)"
    );
    assert_eq!(
        start_error(r#"shape = ["batch", 15]"#, r#"shape = ["batch", 14]"#),
        "model classifier: outputs[0].shape[1]: expected 15 (one per label), found 14"
    );
    assert_eq!(
        start_error(
            r#"inputs = [{ name = "tiles", dtype = "float32", shape = ["batch", 2, 64, 64] }]
outputs = [{ name = "probabilities""#,
            r#"inputs = [{ name = "x", dtype = "float32", shape = ["batch", 2, 64, 64] }]
outputs = [{ name = "probabilities""#
        ),
        r#"model classifier: inputs[0].name: expected x, found tiles"#
    );
    assert_eq!(
        start_error(r#"shape = ["batch", 1, 16, 16]"#, r#"shape = ["batch", 1, 8, 8]"#),
        "model anomaly: outputs[0].shape: expected [batch, 1, 8, 8], found [batch, 1, 16, 16]"
    );
    assert_eq!(
        start_error(r#"{ name = "score", dtype = "float32""#, r#"{ name = "score", dtype = "int64""#),
        "model anomaly: outputs[1].dtype: expected float32, found int64"
    );
    assert!(
        start_error("manifest_version = 1", "manifest_version = 2").ends_with("manifest_version: expected 1, found 2")
    );
    assert!(
        start_error("file = \"anomaly.onnx\"", "file = \"missing.onnx\"").starts_with("model anomaly: cannot read")
    );
}

#[test]
fn classifier_computes_what_the_fixture_defines() {
    let pool = pool(1, 32, 4);
    let mut tiles = Array4::zeros((3, 2, 64, 64));
    for (i, (c0, c1)) in [(0.0, 0.0), (1.0, -2.0), (0.25, 3.5)].into_iter().enumerate() {
        tiles.slice_mut(s![i, 0, .., ..]).fill(c0);
        tiles.slice_mut(s![i, 1, .., ..]).fill(c1);
    }
    tiles.append(Axis(0), random_tiles(2, 1).view()).unwrap();
    let probabilities = pool.classify(tiles.clone()).unwrap();
    assert_eq!(probabilities.dim(), (5, CLASSES));
    for (tile, row) in tiles.outer_iter().zip(probabilities.outer_iter()) {
        assert_close(row.as_slice().unwrap(), &expected_probabilities(tile));
    }
}

#[test]
fn anomaly_model_computes_what_the_fixture_defines() {
    let pool = pool(1, 32, 4);
    let tiles = random_tiles(3, 2);
    let AnomalyOutput { map, score } = pool.anomaly(tiles.clone()).unwrap();
    assert_eq!((map.dim(), score.dim()), ((3, 1, 16, 16), 3));
    for (i, tile) in tiles.outer_iter().enumerate() {
        let expected = Array2::from_shape_fn((16, 16), |(y, x)| {
            tile.slice(s![0, 4 * y..4 * y + 4, 4 * x..4 * x + 4]).sum() / 16.0
        });
        assert_close(map.slice(s![i, 0, .., ..]).to_owned().as_slice().unwrap(), expected.as_slice().unwrap());
        assert_close(&[score[i]], &[expected.iter().cloned().fold(f32::MIN, f32::max)]);
    }
}

#[test]
fn batches_give_the_results_of_one_tile_at_a_time() {
    let pool = pool(1, 32, 4);
    for n in [0, 1, 7, 100] {
        let tiles = random_tiles(n, n as u64);
        let batched = pool.classify(tiles.clone()).unwrap();
        let anomaly = pool.anomaly(tiles.clone()).unwrap();
        assert_eq!(batched.dim(), (n, CLASSES));
        for (i, tile) in tiles.outer_iter().enumerate() {
            let one = tile.to_owned().insert_axis(Axis(0));
            assert_eq!(pool.classify(one.clone()).unwrap().row(0), batched.row(i), "tile {i} of {n}");
            let single = pool.anomaly(one).unwrap();
            assert_eq!(single.map.index_axis(Axis(0), 0), anomaly.map.index_axis(Axis(0), i), "tile {i} of {n}");
            assert_eq!(single.score[0], anomaly.score[i]);
        }
    }
}

#[test]
fn concurrent_threads_get_the_sequential_results() {
    let pool = pool(2, 32, 64);
    let inputs: Vec<Array4<f32>> = (0..16).map(|i| random_tiles(1 + i % 5, 100 + i as u64)).collect();
    let sequential: Vec<Array2<f32>> = inputs.iter().map(|t| pool.classify(t.clone()).unwrap()).collect();
    let concurrent: Vec<Array2<f32>> = std::thread::scope(|scope| {
        let handles: Vec<_> = inputs.iter().map(|t| scope.spawn(|| pool.classify(t.clone()).unwrap())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(concurrent, sequential);
}

#[tokio::test]
async fn concurrent_tasks_get_the_sequential_results() {
    let pool = Arc::new(pool(2, 32, 64));
    let inputs: Vec<Array4<f32>> = (0..16).map(|i| random_tiles(1 + i % 5, 200 + i as u64)).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, tiles) in inputs.iter().cloned().enumerate() {
        let pool = pool.clone();
        tasks.spawn(async move { (i, pool.anomaly_async(tiles).await.unwrap()) });
    }
    let mut concurrent: Vec<(usize, AnomalyOutput)> = tasks.join_all().await;
    concurrent.sort_by_key(|(i, _)| *i);
    for ((_, found), tiles) in concurrent.into_iter().zip(inputs) {
        assert_eq!(found, pool.anomaly_async(tiles).await.unwrap());
    }
}

#[test]
fn a_full_queue_is_refused_at_once() {
    // One worker busy with a large request and a queue of one: a third request cannot wait.
    let pool = pool(1, 32, 1);
    let mut pending = Vec::new();
    let refused = loop {
        let started = Instant::now();
        match pool.submit_classify(Array4::zeros((512, 2, 64, 64))) {
            Ok(request) => pending.push(request),
            Err(error) => break (error, started.elapsed()),
        }
        assert!(pending.len() < 10, "the queue never filled");
    };
    assert!(matches!(refused.0, InferenceError::QueueFull { capacity: 1 }), "{:?}", refused.0);
    assert!(refused.1 < Duration::from_millis(50), "refusing took {:?}", refused.1);
    for request in pending {
        assert_eq!(request.wait().unwrap().dim(), (512, CLASSES));
    }
}

#[test]
fn dropping_the_pool_finishes_queued_requests_and_joins_the_workers() {
    let pool = pool(1, 32, 8);
    let pending: Vec<_> = (0..5).map(|i| pool.submit_classify(random_tiles(64, i)).unwrap()).collect();
    drop(pool);
    // Every answer is already there: the drop waited for the workers.
    let mut context = Context::from_waker(Waker::noop());
    for request in pending {
        let mut request = pin!(request);
        assert!(matches!(request.as_mut().poll(&mut context), Poll::Ready(Ok(_))));
    }
}

#[test]
fn bad_requests_and_configurations_are_refused() {
    let pool = pool(1, 32, 4);
    let error = pool.classify(Array4::zeros((1, 3, 64, 64))).unwrap_err();
    assert_eq!(error.to_string(), "model classifier: tiles of shape [1, 3, 64, 64] given, expected [n, 2, 64, 64]");
    let config = PoolConfig { max_batch: 0, ..PoolConfig::default() };
    let error = InferencePool::start(&runtime(), registry(), config).err().unwrap();
    assert!(matches!(error, PoolError::Config("max_batch must be at least 1")), "{error}");
}
