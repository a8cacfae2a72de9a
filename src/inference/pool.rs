//! The inference pool: worker threads that own their sessions, fed through a bounded queue.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use ndarray::{Array1, Array2, Array4, ArrayD, Axis};
use tokio::sync::oneshot;
use tracing::Span;

use super::manifest::ModelKind;
use super::registry::{ModelRegistry, RegistryError};
use super::runtime::Runtime;
use super::session::ModelSession;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// Worker threads, each with its own session of every model.
    pub workers: usize,
    /// ONNX Runtime's intra-op threads per session. Keep `workers × intra_threads` at most the
    /// number of cores: more oversubscribes the CPU and latency collapses.
    pub intra_threads: usize,
    /// Most tiles per session call; larger requests are split.
    pub max_batch: usize,
    /// Requests waiting for a worker beyond which submissions fail with `QueueFull`.
    pub queue_capacity: usize,
}

impl Default for PoolConfig {
    /// One single-threaded worker per core: for small models under many concurrent requests,
    /// sessions side by side use the cores better than one session's parallel operators.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self { workers: cores, intra_threads: 1, max_batch: 32, queue_capacity: 4 * cores }
    }
}

/// Class probabilities are `Array2` (tiles × labels); the anomaly model gives this.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyOutput {
    /// Per-tile anomaly map, tiles × 1 × h × w.
    pub map: Array4<f32>,
    /// Per-tile anomaly score.
    pub score: Array1<f32>,
}

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("invalid inference pool configuration: {0}")]
    Config(&'static str),
    #[error(transparent)]
    Model(#[from] RegistryError),
    #[error("warm-up failed: {0}")]
    WarmUp(#[source] InferenceError),
    #[error("cannot start an inference worker thread: {0}")]
    Spawn(#[source] std::io::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum InferenceError {
    /// Backpressure: the caller should shed or retry the request (HTTP 503).
    #[error("inference queue is full ({capacity} requests waiting); retry later")]
    QueueFull { capacity: usize },
    #[error("the inference pool has shut down")]
    ShutDown,
    #[error("model {model}: tiles of shape {found:?} given, expected [n, {}]", expected.iter().map(usize::to_string).collect::<Vec<_>>().join(", "))]
    InputShape { model: ModelKind, expected: Vec<usize>, found: Vec<usize> },
    #[error("model {model}: inference failed: {source}")]
    Run { model: ModelKind, source: ort::Error },
    #[error("model {model}: output {output} has shape {found}, expected {expected}")]
    OutputShape { model: ModelKind, output: String, expected: String, found: String },
    #[error("the inference worker stopped before answering (it panicked, see the log)")]
    WorkerLost,
}

/// Runs the classifier and the anomaly model on dedicated OS threads. No mutex around sessions:
/// each worker owns one session per model; no inference on async threads: callers wait on a
/// one-shot reply, blocking (`wait`) or async (`.await`).
pub struct InferencePool {
    /// `None` only while dropping: closing it lets the workers drain the queue and stop.
    jobs: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
    registry: ModelRegistry,
    capacity: usize,
}

impl InferencePool {
    /// Builds and warms up every worker's sessions, then starts the workers. Fails if a model
    /// does not match the manifest or the configuration is unusable.
    pub fn start(runtime: &Runtime, registry: ModelRegistry, config: PoolConfig) -> Result<Self, PoolError> {
        let PoolConfig { workers, intra_threads, max_batch, queue_capacity } = config;
        for (value, message) in [
            (workers, "workers must be at least 1"),
            (intra_threads, "intra_threads must be at least 1"),
            (max_batch, "max_batch must be at least 1"),
            (queue_capacity, "queue_capacity must be at least 1"),
        ] {
            if value == 0 {
                return Err(PoolError::Config(message));
            }
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if workers * intra_threads > cores {
            tracing::warn!(workers, intra_threads, cores, "inference threads outnumber the cores; expect poor latency");
        }
        let open = |kind| -> Result<ModelSession, PoolError> {
            let mut session = ModelSession::open(runtime, &registry, kind, intra_threads)?;
            session.warm_up(max_batch).map_err(PoolError::WarmUp)?;
            Ok(session)
        };
        // Each worker's sessions, indexed by `ModelKind as usize`.
        let sessions: Vec<[ModelSession; 2]> = (0..workers)
            .map(|_| Ok([open(ModelKind::Classifier)?, open(ModelKind::Anomaly)?]))
            .collect::<Result<_, PoolError>>()?;

        let (sender, receiver) = crossbeam_channel::bounded(queue_capacity);
        // Built before spawning so that, if a spawn fails, dropping it stops the workers started.
        let mut pool =
            Self { jobs: Some(sender), workers: Vec::with_capacity(workers), registry, capacity: queue_capacity };
        for (index, sessions) in sessions.into_iter().enumerate() {
            let receiver = receiver.clone();
            let worker = std::thread::Builder::new()
                .name(format!("inference-{index}"))
                .spawn(move || work(&receiver, sessions, max_batch))
                .map_err(PoolError::Spawn)?;
            pool.workers.push(worker);
        }
        tracing::info!(workers, intra_threads, max_batch, queue_capacity, "inference pool started");
        Ok(pool)
    }

    pub fn registry(&self) -> &ModelRegistry {
        &self.registry
    }

    /// Class probabilities for each tile (tiles × labels, in taxonomy order). Blocks.
    pub fn classify(&self, tiles: Array4<f32>) -> Result<Array2<f32>, InferenceError> {
        self.submit_classify(tiles)?.wait()
    }

    pub async fn classify_async(&self, tiles: Array4<f32>) -> Result<Array2<f32>, InferenceError> {
        self.submit_classify(tiles)?.await
    }

    /// Queues tiles for the classifier, failing at once with `QueueFull` when the queue is full.
    pub fn submit_classify(&self, tiles: Array4<f32>) -> Result<Pending<Array2<f32>>, InferenceError> {
        self.submit(ModelKind::Classifier, tiles)
    }

    /// Anomaly map and score for each tile. Blocks.
    pub fn anomaly(&self, tiles: Array4<f32>) -> Result<AnomalyOutput, InferenceError> {
        self.submit_anomaly(tiles)?.wait()
    }

    pub async fn anomaly_async(&self, tiles: Array4<f32>) -> Result<AnomalyOutput, InferenceError> {
        self.submit_anomaly(tiles)?.await
    }

    /// Queues tiles for the anomaly model, failing at once with `QueueFull` when the queue is full.
    pub fn submit_anomaly(&self, tiles: Array4<f32>) -> Result<Pending<AnomalyOutput>, InferenceError> {
        self.submit(ModelKind::Anomaly, tiles)
    }

    fn submit<T: FromOutputs>(&self, model: ModelKind, tiles: Array4<f32>) -> Result<Pending<T>, InferenceError> {
        let expected = self.registry.spec(model).inputs[0].item_dims();
        if tiles.shape()[1..] != expected[..] {
            return Err(InferenceError::InputShape { model, expected, found: tiles.shape().to_vec() });
        }
        let (reply, receiver) = oneshot::channel();
        // The caller's span, so that the worker's logs and timings land in the request's trace.
        let job = Job { model, tiles, span: Span::current(), reply: Box::new(reply) };
        let jobs = self.jobs.as_ref().ok_or(InferenceError::ShutDown)?;
        jobs.try_send(job).map_err(|error| match error {
            TrySendError::Full(_) => InferenceError::QueueFull { capacity: self.capacity },
            TrySendError::Disconnected(_) => InferenceError::ShutDown,
        })?;
        Ok(Pending { receiver })
    }
}

impl Drop for InferencePool {
    /// Graceful: the workers finish every queued request, then exit, and are joined.
    fn drop(&mut self) {
        drop(self.jobs.take());
        for worker in self.workers.drain(..) {
            if worker.join().is_err() {
                tracing::error!("an inference worker panicked");
            }
        }
    }
}

/// A submitted request: `wait()` from synchronous code, `.await` from async code.
#[must_use = "the result arrives here"]
pub struct Pending<T> {
    receiver: oneshot::Receiver<Result<T, InferenceError>>,
}

impl<T> Pending<T> {
    /// Blocks until the result arrives. Panics when called on an async runtime thread (tokio's
    /// rule for blocking there): await the `Pending` instead.
    pub fn wait(self) -> Result<T, InferenceError> {
        self.receiver.blocking_recv().unwrap_or(Err(InferenceError::WorkerLost))
    }
}

impl<T> Future for Pending<T> {
    type Output = Result<T, InferenceError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.receiver).poll(cx).map(|reply| reply.unwrap_or(Err(InferenceError::WorkerLost)))
    }
}

struct Job {
    model: ModelKind,
    tiles: Array4<f32>,
    span: Span,
    reply: Box<dyn Reply>,
}

/// The one-shot reply of a job, with its result type erased so that one queue carries both
/// models' jobs.
trait Reply: Send {
    fn is_closed(&self) -> bool;
    fn send(self: Box<Self>, outputs: Result<Vec<ArrayD<f32>>, InferenceError>);
}

impl<T: FromOutputs> Reply for oneshot::Sender<Result<T, InferenceError>> {
    fn is_closed(&self) -> bool {
        oneshot::Sender::is_closed(self)
    }

    fn send(self: Box<Self>, outputs: Result<Vec<ArrayD<f32>>, InferenceError>) {
        // A caller that stopped waiting does not need the result.
        let _ = oneshot::Sender::send(*self, outputs.map(T::from_outputs));
    }
}

/// A model's typed result from its outputs in manifest order, whose ranks the registry checked.
trait FromOutputs: Send + 'static {
    fn from_outputs(outputs: Vec<ArrayD<f32>>) -> Self;
}

const RANKS_CHECKED: &str = "the registry checks output ranks";

impl FromOutputs for Array2<f32> {
    fn from_outputs(outputs: Vec<ArrayD<f32>>) -> Self {
        let [probabilities] = <[_; 1]>::try_from(outputs).expect(RANKS_CHECKED);
        probabilities.into_dimensionality().expect(RANKS_CHECKED)
    }
}

impl FromOutputs for AnomalyOutput {
    fn from_outputs(outputs: Vec<ArrayD<f32>>) -> Self {
        let [map, score] = <[_; 2]>::try_from(outputs).expect(RANKS_CHECKED);
        Self {
            map: map.into_dimensionality().expect(RANKS_CHECKED),
            score: score.into_dimensionality().expect(RANKS_CHECKED),
        }
    }
}

/// A worker's loop; it ends once the pool has closed the queue and the queue is empty.
fn work(jobs: &Receiver<Job>, mut sessions: [ModelSession; 2], max_batch: usize) {
    for job in jobs {
        if job.reply.is_closed() {
            continue; // the request was cancelled while it waited
        }
        let tiles = job.tiles.len_of(Axis(0));
        let span = tracing::debug_span!(parent: &job.span, "inference", model = %job.model, tiles);
        let outputs = span.in_scope(|| sessions[job.model as usize].run(job.tiles.view(), max_batch));
        job.reply.send(outputs);
    }
}
