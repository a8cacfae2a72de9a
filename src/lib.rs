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

/// Every scan allocates and frees about 60 MB of large buffers (decoded images, attenuation
/// planes, tiles). glibc's malloc gave each back to the OS on free, so every scan faulted in
/// freshly zeroed pages again (a quarter of decoding's time in `benches/pipeline.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Keeps memory a scan freed for the next scan. mimalloc returns freed memory to the OS after
/// a delay (1 s), and in a service scans arrive further apart than that on each thread; the
/// memory kept is bounded by the scans analysed at once.
pub fn keep_freed_memory() {
    // `mi_option_purge_delay` in the bundled mimalloc's include/mimalloc.h (v3), which
    // libmimalloc-sys does not name; -1 means never.
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: sets a process-wide option; mimalloc reads options atomically.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) }
}
