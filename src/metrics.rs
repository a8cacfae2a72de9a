//! Prometheus metrics: request latency by route, per-stage durations of the scan pipeline,
//! scans by state and lane, retention's deletions, and the models in service.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::inference::analysis::{ModelVersion, StageTimings};
use crate::queue::ScanState;
use crate::queue::retention::{Purged, RetentionError};
use crate::triage::Lane;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LaneLabels {
    lane: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PasswordLabels {
    outcome: &'static str,
}

/// What became of a password given at sign-in or to change one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordOutcome {
    Accepted,
    /// Wrong name or password.
    Refused,
    /// Not checked: too many attempts for the name.
    Limited,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    name: String,
    version: String,
    sha256: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// The pipeline's stages as reported, in order.
/// `intake` is an upload's acknowledgement (checks, images and record made durable) once its
/// body is in; `analysis` is the engine's whole time for a scan: decode to merge, the two
/// models side by side; `storage` stores the analysis.
pub const STAGES: [&str; 11] = [
    "intake", "queueing", "decode", "locate", "preprocess", "classify", "anomaly", "merge", "analysis", "triage",
    "storage",
];

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Histograms<RequestLabels>,
    stages: Histograms<StageLabels>,
    routed: Family<LaneLabels, Counter>,
    random_selections: Counter,
    early_analyses: Counter,
    passwords: Family<PasswordLabels, Counter>,
    purged_scans: Counter,
    deleted_images: Counter,
    failed_purges: Counter,
    scans: Family<StateLabels, Gauge>,
    models: Family<ModelLabels, Gauge>,
    /// Without labels; absent until set, so a store that cannot tell shows nothing, not 0.
    image_store_free: Family<Vec<(String, String)>, Gauge>,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests: Histograms<RequestLabels> = Family::new_with_constructor(latency_histogram);
        let stages: Histograms<StageLabels> = Family::new_with_constructor(latency_histogram);
        let routed = Family::<LaneLabels, Counter>::default();
        let scans = Family::<StateLabels, Gauge>::default();
        let models = Family::<ModelLabels, Gauge>::default();
        registry.register("scantriage_http_request_duration_seconds", "HTTP requests by route and status", requests.clone());
        registry.register(
            "scantriage_stage_duration_seconds",
            "Time per scan in each pipeline stage (queueing: from acknowledgement to analysis start)",
            stages.clone(),
        );
        registry.register("scantriage_scans_routed", "Scans triaged into each lane", routed.clone());
        let random_selections = Counter::default();
        registry.register(
            "scantriage_random_selections",
            "Scans triage would have released, sent to the red lane at random ([triage] random_selection)",
            random_selections.clone(),
        );
        let early_analyses = Counter::default();
        registry.register(
            "scantriage_analyses_started_at_upload",
            "Analyses that ran while the upload was being made durable (a slot was free)",
            early_analyses.clone(),
        );
        let passwords = Family::<PasswordLabels, Counter>::default();
        registry.register(
            "scantriage_password_attempts",
            "Passwords given at sign-in or to change one, by outcome: accepted, refused (wrong name or password), limited (too many attempts)",
            passwords.clone(),
        );
        let (purged_scans, deleted_images, failed_purges) = (Counter::default(), Counter::default(), Counter::default());
        registry.register("scantriage_images_purged_scans", "Scans whose images and heatmap retention deleted", purged_scans.clone());
        registry.register("scantriage_images_purged_files", "Image files retention deleted", deleted_images.clone());
        registry.register("scantriage_images_purge_failures", "Retention runs that stopped on an error (see the log)", failed_purges.clone());
        registry.register("scantriage_scans", "Scans in each state (read at scrape time)", scans.clone());
        registry.register("scantriage_model_info", "Models in service", models.clone());
        let image_store_free = Family::<Vec<(String, String)>, Gauge>::default();
        registry.register(
            "scantriage_image_store_free_bytes",
            "Free space for new images (read at scrape time); uploads get 507 below [intake] keep_free_disk_mb",
            image_store_free.clone(),
        );
        Self {
            registry,
            requests,
            stages,
            routed,
            random_selections,
            early_analyses,
            passwords,
            purged_scans,
            deleted_images,
            failed_purges,
            scans,
            models,
            image_store_free,
        }
    }
}

impl Metrics {
    pub fn observe_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let labels = RequestLabels { route: route.to_owned(), method: method.to_owned(), status };
        self.requests.get_or_create(&labels).observe(seconds);
    }

    pub fn observe_stage(&self, stage: &'static str, seconds: f64) {
        self.stages.get_or_create(&StageLabels { stage }).observe(seconds);
    }

    /// The stages the engine timed itself.
    pub fn observe_analysis(&self, timings: &StageTimings) {
        for (stage, ms) in [
            ("decode", timings.decode),
            ("locate", timings.locate),
            ("preprocess", timings.preprocess),
            ("classify", timings.classify),
            ("anomaly", timings.anomaly),
            ("merge", timings.merge),
            ("analysis", timings.total),
        ] {
            self.observe_stage(stage, ms / 1000.0);
        }
    }

    pub fn count_routed(&self, lane: Lane) {
        self.routed.get_or_create(&LaneLabels { lane: lane.as_str() }).inc();
    }

    pub fn count_random_selection(&self) {
        self.random_selections.inc();
    }

    pub fn count_early_analysis(&self) {
        self.early_analyses.inc();
    }

    pub fn count_password(&self, outcome: PasswordOutcome) {
        let outcome = match outcome {
            PasswordOutcome::Accepted => "accepted",
            PasswordOutcome::Refused => "refused",
            PasswordOutcome::Limited => "limited",
        };
        self.passwords.get_or_create(&PasswordLabels { outcome }).inc();
    }

    /// A retention run, by hand or on schedule: what it deleted, or that it failed.
    pub fn count_purge(&self, purge: Result<&Purged, &RetentionError>) {
        match purge {
            Ok(purged) => {
                self.purged_scans.inc_by(purged.scans as u64);
                self.deleted_images.inc_by(purged.images as u64);
            }
            Err(_) => {
                self.failed_purges.inc();
            }
        }
    }

    pub fn set_scan_counts(&self, counts: &[(ScanState, i64)]) {
        self.scans.clear();
        for &(state, n) in counts {
            self.scans.get_or_create(&StateLabels { state: state.as_str() }).set(n);
        }
    }

    pub fn set_image_store_free(&self, bytes: u64) {
        self.image_store_free.get_or_create(&Vec::new()).set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    pub fn set_models(&self, models: &[ModelVersion]) {
        for model in models {
            let labels = ModelLabels { name: model.name.clone(), version: model.version.clone(), sha256: model.sha256.clone() };
            self.models.get_or_create(&labels).set(1);
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}
