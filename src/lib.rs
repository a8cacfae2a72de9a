//! scantriage: triage of container X-ray scans against customs declarations.
//!
//! The modules follow a scan through the system: [`ingest`] (the contract a station speaks),
//! then [`imaging`], [`inference`], [`triage`], [`queue`] and [`review`]. [`sim`] is the scanner simulator that
//! produces scans for samples, tests, benchmarks and training; [`taxonomy`] is the goods
//! taxonomy shared by the simulator, the models and triage.

pub mod accounts;
pub mod api;
pub mod cli;
pub mod config;
pub mod eval;
pub mod imaging;
pub mod inference;
pub mod loadgen;
pub mod metrics;
pub mod ingest;
pub mod queue;
pub mod review;
pub mod service;
pub mod sim;
pub mod station;
pub mod taxonomy;
pub mod triage;
pub mod web;

/// Runs blocking work (file I/O, hashing, image codecs) off the async runtime's threads.
pub(crate) async fn on_blocking_thread<T: Send + 'static, E: Send + 'static>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, E> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))
}
