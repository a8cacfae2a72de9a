//! The service's configuration as one value: a TOML file, overridden by command-line flags
//! and their environment variables, over defaults good enough to run with none.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::triage::TriageConfig;

/// The `--config` file. Every section and key is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigFile {
    pub server: ServerSection,
    pub intake: IntakeSection,
    pub analysis: AnalysisSection,
    pub review: ReviewSection,
    pub retention: RetentionSection,
    pub triage: TriageConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    pub listen: Option<SocketAddr>,
    pub body_limit_mb: usize,
    pub max_wait_seconds: u64,
    pub uploads_per_minute_per_station: u32,
    pub upload_burst_per_station: u32,
    /// Failed sign-ins from one client address (whatever the names) before it waits, and how
    /// many a minute after that.
    pub failed_sign_in_burst_per_address: u32,
    pub failed_sign_ins_per_minute_per_address: u32,
    /// Reverse proxies in front of the service: for requests from them the client is the
    /// address they append to `X-Forwarded-For`, not the proxy.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: None,
            body_limit_mb: 64,
            max_wait_seconds: 30,
            uploads_per_minute_per_station: 600,
            upload_burst_per_station: 60,
            failed_sign_in_burst_per_address: 30,
            failed_sign_ins_per_minute_per_address: 10,
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntakeSection {
    /// Scans waiting for analysis beyond which uploads get 503.
    pub max_backlog: i64,
    pub max_width: u32,
    pub max_height: u32,
    pub max_pixels: u64,
    /// Memory for the images uploaded last, which analysis then need not read back from the
    /// image store (a 40 ft dual-energy scan is about 6 MB).
    pub recent_images_mb: usize,
    /// Uploads get 507 rather than leave less than this free on the image store's disk, so that
    /// the database beside it can still record analyses and decisions.
    pub keep_free_disk_mb: u64,
}

impl Default for IntakeSection {
    fn default() -> Self {
        let limits = crate::imaging::decode::Limits::default();
        Self {
            max_backlog: 64,
            max_width: limits.max_width,
            max_height: limits.max_height,
            max_pixels: limits.max_pixels,
            recent_images_mb: 128,
            keep_free_disk_mb: 1024,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisSection {
    /// Scans analysed at once.
    pub workers: usize,
    /// Inference threads, each with a session of both models [default: one per core].
    pub inference_workers: Option<usize>,
    /// ONNX Runtime intra-op threads per session.
    pub intra_threads: usize,
    pub lease_seconds: u64,
    pub max_attempts: i64,
    /// Model manifest [default: models/manifest.toml].
    pub models: Option<PathBuf>,
}

impl Default for AnalysisSection {
    fn default() -> Self {
        Self { workers: 2, inference_workers: None, intra_threads: 1, lease_seconds: 120, max_attempts: 3, models: None }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewSection {
    pub claim_lease_minutes: u64,
}

impl Default for ReviewSection {
    fn default() -> Self {
        Self { claim_lease_minutes: 15 }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSection {
    /// Days after a settled scan's last change that its images and heatmap are deleted (its
    /// record, verdict, decision and audit log stay); 0, the default, keeps them for ever.
    pub keep_images_days: u32,
}

impl ConfigFile {
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let config: Self = toml::from_str(&text).with_context(|| format!("invalid configuration in {}", path.display()))?;
        config.triage.check().map_err(|e| anyhow::anyhow!("invalid configuration in {}: {e}", path.display()))?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_random_selection_share_outside_0_to_1_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scantriage.toml");
        std::fs::write(&path, "[triage]\nrandom_selection = 0.02\n").unwrap();
        assert_eq!(ConfigFile::load(Some(&path)).unwrap().triage.random_selection, 0.02);
        std::fs::write(&path, "[triage]\nrandom_selection = 2.0\n").unwrap();
        let error = format!("{:#}", ConfigFile::load(Some(&path)).unwrap_err());
        assert!(error.contains("random_selection is a share from 0 to 1, not 2"), "{error}");
    }
}
