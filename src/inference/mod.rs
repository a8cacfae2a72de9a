//! Third step of a scan's journey: the ONNX models run over the scan's tiles.
//!
//! - [`runtime`]: finds and loads the ONNX Runtime shared library (`make ort` installs it in
//!   `.cache/onnxruntime/`; `ORT_DYLIB_PATH` overrides), once per process.
//! - [`manifest`]: `models/manifest.toml`: every model's file, checksum, inputs and outputs,
//!   the classifier's labels and the anomaly thresholds, as training writes them.
//! - [`registry`]: the manifest checked at start-up against the model files (checksums), the
//!   taxonomy (labels are its ids, in order), what each session reports (input and output
//!   names, types, shapes) and what the pool needs; any disagreement is refused with the model,
//!   the field, what was expected and what was found.
//! - [`composition`]: which goods a load holds, voted stack by stack from the tiles' probabilities.
//! - [`pool`]: the [`InferencePool`], worker threads that each own a session of every model and
//!   take requests from a bounded queue, in batches of at most `max_batch` tiles.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use scantriage::inference::{InferencePool, ModelRegistry, PoolConfig, init_runtime};
//!
//! let runtime = init_runtime()?;
//! let registry = ModelRegistry::load("models/manifest.toml".as_ref())?;
//! let pool = InferencePool::start(&runtime, registry, PoolConfig::default())?;
//! let probabilities = pool.classify(ndarray::Array4::zeros((8, 2, 64, 64)))?; // 8 × labels
//! # Ok(()) }
//! ```
//!
//! Execution providers: sessions run on the CPU. The cargo feature `cuda` registers ONNX
//! Runtime's CUDA provider on every session; it needs a CUDA-enabled ONNX Runtime library
//! (from the `onnxruntime-gpu` wheel, given with `ORT_DYLIB_PATH`) and falls back to the CPU,
//! with a logged error, when the library or the machine has no CUDA.

pub mod analysis;
pub mod composition;
pub mod engine;
pub mod manifest;
pub mod pool;
pub mod registry;
pub mod runtime;
mod session;

pub use analysis::Analysis;
pub use engine::{AnalysisError, Engine};
pub use manifest::{Manifest, ModelKind};
pub use pool::{AnomalyOutput, InferenceError, InferencePool, Pending, PoolConfig, PoolError};
pub use registry::{ModelRegistry, RegistryError};
pub use runtime::{Runtime, RuntimeError, init_runtime, init_runtime_from};
