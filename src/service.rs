//! The running service assembled from its parts, in a fixed order: models (loaded and warmed
//! up), storage (migrated), analysis workers (unfinished scans taken up again), then the HTTP
//! port. `scantriage serve` and the integration tests start it the same way.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Notify, broadcast};

use crate::accounts::Accounts;
use crate::api::{self, ApiConfig, AppState, RateLimit, Services};
use crate::config::ConfigFile;
use crate::imaging::decode::Limits;
use crate::inference::registry::default_manifest_path;
use crate::inference::{Engine, InferencePool, ModelRegistry, PoolConfig, init_runtime};
use crate::ingest::images::{FsImageStore, RecentImages};
use crate::ingest::intake::{Intake, IntakeConfig};
use crate::metrics::Metrics;
use crate::queue::Store;
use crate::queue::early::EarlyAnalyses;
use crate::queue::retention::Retention;
use crate::queue::worker::{Analyst, WorkerConfig, Workers};

/// Where the service keeps its state.
#[derive(Debug, Clone)]
pub struct Storage {
    pub database_url: String,
    pub images_dir: std::path::PathBuf,
}

/// A started service: workers running, ready to serve HTTP.
pub struct Service {
    state: AppState,
    workers: Workers,
    retention: Option<Retention>,
}

impl Service {
    pub async fn start(config: &ConfigFile, storage: &Storage) -> anyhow::Result<Self> {
        let analysis = &config.analysis;
        let runtime = init_runtime()?;
        let registry = ModelRegistry::load(&analysis.models.clone().unwrap_or_else(default_manifest_path))?;
        let models = registry.model_versions();
        let taxonomy = registry.taxonomy().clone();
        let mut pool_config = PoolConfig { intra_threads: analysis.intra_threads, ..PoolConfig::default() };
        if let Some(workers) = analysis.inference_workers {
            pool_config.workers = workers;
        }
        let pool = tokio::task::spawn_blocking(move || InferencePool::start(&runtime, registry, pool_config)).await??;
        let intake = &config.intake;
        let limits = Limits { max_width: intake.max_width, max_height: intake.max_height, max_pixels: intake.max_pixels };
        tracing::info!(models = ?models.iter().map(|m| format!("{} {}", m.name, m.version)).collect::<Vec<_>>(), "models loaded");

        let store = Store::open(&storage.database_url).await?;
        let images = Arc::new(RecentImages::new(
            Arc::new(FsImageStore::new(&storage.images_dir)?.keeping_free(intake.keep_free_disk_mb.saturating_mul(1 << 20))),
            intake.recent_images_mb.saturating_mul(1 << 20),
        ));
        let metrics = Arc::new(Metrics::default());
        metrics.set_models(&models);
        let (events, _) = broadcast::channel(1024);
        let arrivals = Arc::new(Notify::new());
        let analyses = Arc::new(EarlyAnalyses::new(Arc::new(Engine::new(pool, limits)), analysis.workers));
        let analyst = Arc::new(Analyst {
            store: store.clone(),
            images: images.clone(),
            analyses: analyses.clone(),
            taxonomy,
            triage: config.triage.clone(),
            settled: events.clone(),
            metrics: metrics.clone(),
        });
        let worker_config = WorkerConfig {
            workers: analysis.workers,
            lease: Duration::from_secs(analysis.lease_seconds),
            max_attempts: analysis.max_attempts,
            ..WorkerConfig::default()
        };
        let workers = Workers::start(analyst, arrivals.clone(), worker_config).await?;
        let retention = match config.retention.keep_images_days {
            0 => None,
            days => Some(Retention::start(store.clone(), images.clone(), Duration::from_secs(u64::from(days) * 86_400), metrics.clone())),
        };

        let server = &config.server;
        let services = Services {
            intake: Intake::new(
                store.clone(),
                images.clone(),
                IntakeConfig { limits, max_backlog: intake.max_backlog },
                arrivals,
                Some(analyses),
            ),
            accounts: Accounts::new(store.clone()),
            store,
            images,
            metrics,
            events,
            config: ApiConfig {
                body_limit_bytes: server.body_limit_mb * 1024 * 1024,
                max_wait: Duration::from_secs(server.max_wait_seconds),
                claim_lease: Duration::from_secs(config.review.claim_lease_minutes * 60),
                upload_rate: RateLimit {
                    per_minute: server.uploads_per_minute_per_station,
                    burst: server.upload_burst_per_station,
                },
                failed_sign_in_rate: RateLimit {
                    per_minute: server.failed_sign_ins_per_minute_per_address,
                    burst: server.failed_sign_in_burst_per_address,
                },
                trusted_proxies: server.trusted_proxies.clone(),
            },
        };
        Ok(Self { state: AppState::new(services), workers, retention })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, finishes the requests in flight, then lets the
    /// analyses in progress finish; scans not yet analysed stay durable for the next start.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let address = listener.local_addr()?;
        tracing::info!("listening on http://{address}; the officers' console is at http://{address}/");
        api::serve(listener, self.state, shutdown).await?;
        tracing::info!("requests finished; letting the analyses in progress finish");
        self.workers.shutdown().await;
        if let Some(retention) = self.retention {
            retention.shutdown().await;
        }
        tracing::info!("stopped");
        Ok(())
    }
}
