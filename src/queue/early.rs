//! Analyses started at upload time, while the intake is still making the scan durable
//! (hashing, writing and syncing megabytes, committing the record): when an analysis slot is
//! free, the verdict no longer waits for the disk first. The scan's worker then takes the
//! result instead of analysing again; when there is none (no free slot, another instance, a
//! restart), the worker analyses as usual. Nothing here is durable, and nothing needs to be.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::inference::analysis::Analysis;
use crate::inference::engine::{AnalysisError, Engine};
use crate::ingest::ScanMetadata;

/// A result nobody took after this long belongs to an upload that failed, or that another
/// instance analysed: dropped.
const UNCLAIMED_AFTER: Duration = Duration::from_secs(300);

pub struct EarlyAnalyses {
    engine: Arc<Engine>,
    /// Analyses running at once, early or not: the workers hold these slots too, so early
    /// analyses never add to the cores' load, they only start sooner.
    slots: Arc<Semaphore>,
    started: Mutex<HashMap<String, Started>>,
}

struct Started {
    at: Instant,
    result: oneshot::Receiver<Result<Analysis, AnalysisError>>,
}

impl EarlyAnalyses {
    pub fn new(engine: Arc<Engine>, slots: usize) -> Self {
        Self { engine, slots: Arc::new(Semaphore::new(slots.max(1))), started: Mutex::default() }
    }

    /// Starts analysing the scan `scan_id` will be, if a slot is free; `false` if none is.
    pub fn start(&self, scan_id: &str, high: Bytes, low: Option<Bytes>, metadata: ScanMetadata) -> bool {
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            return false;
        };
        let (sender, result) = oneshot::channel();
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || {
            let analysis = engine.analyse(&high, low.as_deref(), &metadata);
            drop(slot);
            // Nobody waiting is fine: the upload failed, or the result is taken later.
            let _ = sender.send(analysis);
        });
        let mut started = self.lock();
        started.retain(|_, s| s.at.elapsed() < UNCLAIMED_AFTER);
        started.insert(scan_id.to_owned(), Started { at: Instant::now(), result });
        true
    }

    /// The analysis started for `scan_id`, once finished; `None` if none was started here.
    pub async fn take(&self, scan_id: &str) -> Option<Result<Analysis, AnalysisError>> {
        let started = self.lock().remove(scan_id)?;
        started.result.await.ok()
    }

    /// A slot for a worker's own analysis.
    pub async fn slot(&self) -> OwnedSemaphorePermit {
        self.slots.clone().acquire_owned().await.expect("the slots are never closed")
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Started>> {
        self.started.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
