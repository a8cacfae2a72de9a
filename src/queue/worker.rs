//! Analysis workers: each takes the oldest received scan under a lease, analyses it off the
//! async runtime, stores the analysis, triages it and routes it to the queue or release. A
//! scan whose worker died is taken up again when its lease lapses (at once after a restart on
//! SQLite); the lease's attempt number keeps a late worker from storing a second result.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;

use super::early::EarlyAnalyses;
use super::{PendingAnalysis, ScanState, Store, StoreError, StoredAnalysis, now_ms};
use crate::inference::analysis::Analysis;
use crate::inference::engine::AnalysisError;
use crate::inference::InferenceError;
use crate::ingest::ScanMetadata;
use crate::ingest::images::ImageStore;
use crate::metrics::Metrics;
use crate::taxonomy::Taxonomy;
use crate::triage::{TriageConfig, select_at_random, triage};

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Scans analysed at once; each uses the inference pool, which bounds the cores used.
    pub workers: usize,
    /// How long a worker holds a scan before others may assume it died.
    pub lease: Duration,
    /// Interrupted attempts after which a scan fails instead of being tried again.
    pub max_attempts: i64,
    /// How often idle workers look for scans other instances received.
    pub poll: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self { workers: 2, lease: Duration::from_secs(120), max_attempts: 3, poll: Duration::from_secs(1) }
    }
}

/// A scan that reached a resting state: analysed and routed, or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSettled {
    pub scan_id: String,
    pub state: ScanState,
}

/// What turns a received scan into a routed one.
pub struct Analyst {
    pub store: Store,
    pub images: Arc<dyn ImageStore>,
    /// The engine, with the slots that bound the analyses running at once and the results
    /// of analyses started at upload.
    pub analyses: Arc<EarlyAnalyses>,
    pub taxonomy: Taxonomy,
    pub triage: TriageConfig,
    pub settled: broadcast::Sender<ScanSettled>,
    pub metrics: Arc<Metrics>,
}

/// Running workers; [`Workers::shutdown`] lets each finish its scan and stops them.
pub struct Workers {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Routes scans analysed before a crash, then starts the workers. `arrivals` wakes them
    /// when a scan comes in.
    pub async fn start(analyst: Arc<Analyst>, arrivals: Arc<Notify>, config: WorkerConfig) -> Result<Self, StoreError> {
        analyst.store.requeue_interrupted().await?;
        analyst.route_analysed().await?;
        let (stop, stopped) = watch::channel(false);
        let instance = uuid::Uuid::now_v7().simple().to_string();
        let handles = (0..config.workers.max(1))
            .map(|n| {
                let worker = Worker {
                    id: format!("{}-{n}", &instance[instance.len() - 8..]),
                    analyst: analyst.clone(),
                    arrivals: arrivals.clone(),
                    config: config.clone(),
                    stopped: stopped.clone(),
                };
                tokio::spawn(worker.run())
            })
            .collect();
        Ok(Self { stop, handles })
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

struct Worker {
    id: String,
    analyst: Arc<Analyst>,
    arrivals: Arc<Notify>,
    config: WorkerConfig,
    stopped: watch::Receiver<bool>,
}

impl Worker {
    async fn run(mut self) {
        while !*self.stopped.borrow() {
            let claimed = self.analyst.store.claim_analysis(&self.id, self.config.lease, self.config.max_attempts).await;
            match claimed {
                Ok(Some(job)) => self.analyst.process(&job).await,
                Ok(None) => self.idle().await,
                Err(error) => {
                    tracing::error!(worker = %self.id, %error, "cannot take a scan for analysis");
                    self.idle().await;
                }
            }
        }
    }

    async fn idle(&mut self) {
        tokio::select! {
            _ = self.arrivals.notified() => {}
            _ = tokio::time::sleep(self.config.poll) => {}
            _ = self.stopped.changed() => {}
        }
    }
}

impl Analyst {
    /// Analyses, stores, triages and routes one claimed scan. Failures of the scan itself
    /// (undecodable image, no container found) fail it with the reason; failures of storage
    /// leave it to be taken up again when the lease lapses.
    #[tracing::instrument(skip_all, fields(scan_id = %job.scan_id, attempt = job.attempt))]
    pub async fn process(&self, job: &PendingAnalysis) {
        self.metrics.observe_stage("queueing", (now_ms() - job.received_at).max(0) as f64 / 1000.0);
        let analysis = match self.analyse(job).await {
            Ok(analysis) => analysis,
            Err(Failure::Scan(reason)) => {
                tracing::warn!(%reason, "scan cannot be analysed");
                match self.store.fail_analysis(job, &reason).await {
                    Ok(true) => self.announce(&job.scan_id, ScanState::Failed),
                    Ok(false) => tracing::warn!("another worker took the scan over"),
                    Err(error) => tracing::error!(%error, "cannot record the failure; the scan will be retried"),
                }
                return;
            }
            Err(Failure::Transient(error)) => {
                tracing::error!(%error, "analysis interrupted; the scan will be retried when its lease lapses");
                return;
            }
        };
        self.metrics.observe_analysis(&analysis.timings_ms);
        let storing = Instant::now();
        let stored = match stored_analysis(&analysis) {
            Ok(stored) => stored,
            Err(error) => return tracing::error!(%error, "cannot serialise the analysis"),
        };
        match self.store.finish_analysis(job, &stored).await {
            Ok(true) => {}
            Ok(false) => return tracing::warn!("another worker took the scan over; this result is dropped"),
            Err(error) => return tracing::error!(%error, "cannot store the analysis; the scan will be retried"),
        }
        self.metrics.observe_stage("storage", storing.elapsed().as_secs_f64());
        match serde_json::from_str::<ScanMetadata>(&job.metadata) {
            Ok(metadata) => self.triage_and_route(&job.scan_id, &analysis, &metadata).await,
            Err(error) => tracing::error!(%error, "stored metadata cannot be read"),
        }
    }

    async fn analyse(&self, job: &PendingAnalysis) -> Result<Analysis, Failure> {
        match self.analyses.take(&job.scan_id).await.map(|result| result.map_err(Failure::from)) {
            Some(Ok(analysis)) => {
                self.metrics.count_early_analysis();
                return Ok(analysis);
            }
            // The scan itself failed: analysing it again would fail the same way.
            Some(Err(failure @ Failure::Scan(_))) => return Err(failure),
            Some(Err(Failure::Transient(error))) => {
                tracing::warn!(%error, "the analysis started at upload was interrupted; analysing again");
            }
            None => {}
        }
        let metadata: ScanMetadata =
            serde_json::from_str(&job.metadata).map_err(|e| Failure::Scan(format!("stored metadata cannot be read: {e}")))?;
        let high = self.images.get(&job.high_image).await.map_err(Failure::storage)?;
        let low = match &job.low_image {
            Some(key) => Some(self.images.get(key).await.map_err(Failure::storage)?),
            None => None,
        };
        let slot = self.analyses.slot().await;
        let engine = self.analyses.engine().clone();
        let analysis = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            engine.analyse(&high, low.as_deref(), &metadata)
        })
        .await
        .map_err(|e| Failure::Scan(format!("the analysis crashed: {e}")))?;
        analysis.map_err(Failure::from)
    }

    async fn triage_and_route(&self, scan_id: &str, analysis: &Analysis, metadata: &ScanMetadata) {
        let triaging = Instant::now();
        let mut verdict = triage(analysis, metadata, &self.taxonomy, &self.triage);
        if select_at_random(&mut verdict, self.triage.random_selection, rand::random()) {
            self.metrics.count_random_selection();
        }
        self.metrics.observe_stage("triage", triaging.elapsed().as_secs_f64());
        match self.store.route(scan_id, &verdict).await {
            Ok(state) => {
                self.metrics.count_routed(verdict.lane);
                tracing::info!(scan_id, lane = verdict.lane.as_str(), risk = verdict.risk_score, "scan triaged");
                self.announce(scan_id, state);
            }
            Err(error) => tracing::error!(scan_id, %error, "cannot store the verdict; it is triaged again at start-up"),
        }
    }

    /// Triage for scans whose analysis was stored just before a crash.
    async fn route_analysed(&self) -> Result<(), StoreError> {
        for (scan_id, metadata, analysis) in self.store.awaiting_triage().await? {
            let parsed = serde_json::from_str::<ScanMetadata>(&metadata)
                .map_err(|e| e.to_string())
                .and_then(|m| Ok((m, serde_json::from_str::<Analysis>(&analysis).map_err(|e| e.to_string())?)));
            match parsed {
                Ok((metadata, analysis)) => self.triage_and_route(&scan_id, &analysis, &metadata).await,
                Err(error) => tracing::error!(scan_id, %error, "stored analysis cannot be read"),
            }
        }
        Ok(())
    }

    fn announce(&self, scan_id: &str, state: ScanState) {
        // Nobody listening is fine: the state is in the store.
        let _ = self.settled.send(ScanSettled { scan_id: scan_id.to_owned(), state });
    }
}

enum Failure {
    /// Something about the scan: analysing it again would fail the same way.
    Scan(String),
    /// Something about the service: worth another attempt.
    Transient(String),
}

impl From<AnalysisError> for Failure {
    fn from(error: AnalysisError) -> Self {
        match error {
            AnalysisError::Inference(
                InferenceError::QueueFull { .. } | InferenceError::ShutDown | InferenceError::WorkerLost,
            ) => Failure::Transient(error.to_string()),
            other => Failure::Scan(other.to_string()),
        }
    }
}

impl Failure {
    fn storage(error: crate::ingest::images::ImageStoreError) -> Self {
        use crate::ingest::images::ImageStoreError::*;
        match error {
            // A missing or damaged image will not come back by trying again.
            Missing(_) | Damaged { .. } => Failure::Scan(error.to_string()),
            Io { .. } | Full { .. } => Failure::Transient(error.to_string()),
        }
    }
}

fn stored_analysis(analysis: &Analysis) -> Result<StoredAnalysis, serde_json::Error> {
    Ok(StoredAnalysis {
        analysis: serde_json::to_value(analysis)?,
        heatmap: Some(analysis.heatmap.clone()),
        models: serde_json::to_value(&analysis.models)?,
    })
}
