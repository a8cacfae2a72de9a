use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::imaging::decode::Limits;
use crate::imaging::render::{Window, grayscale, score_overlay};
use crate::inference::registry::default_manifest_path;
use crate::inference::{Engine, InferencePool, ModelRegistry, PoolConfig, init_runtime};
use crate::ingest::ScanMetadata;

/// Analyse one scan offline and print the analysis as JSON (the HTTP API's schema).
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// High-energy image (16-bit PNG or TIFF).
    #[arg(long)]
    high: PathBuf,
    /// Low-energy image, for dual-energy scans.
    #[arg(long)]
    low: Option<PathBuf>,
    /// The scan's metadata JSON.
    #[arg(long)]
    meta: PathBuf,
    /// Also write the image with the anomaly heatmap over it to this PNG.
    #[arg(long)]
    heatmap: Option<PathBuf>,
    /// Model manifest [default: models/manifest.toml here, else the one this binary was built with].
    #[arg(long)]
    models: Option<PathBuf>,
    /// ONNX Runtime intra-op threads per session.
    #[arg(long, default_value_t = 1)]
    intra_threads: usize,
}

pub fn run(args: ScanArgs) -> anyhow::Result<()> {
    let read = |path: &PathBuf| std::fs::read(path).with_context(|| format!("cannot read {}", path.display()));
    let metadata = ScanMetadata::from_json(&read(&args.meta)?)?;
    let high = read(&args.high)?;
    let low = args.low.as_ref().map(read).transpose()?;
    let runtime = init_runtime()?;
    let manifest = args.models.unwrap_or_else(default_manifest_path);
    let registry = ModelRegistry::load(&manifest)?;
    // One scan: two workers so that both models run at once.
    let config = PoolConfig { workers: 2, intra_threads: args.intra_threads, ..PoolConfig::default() };
    let engine = Engine::new(InferencePool::start(&runtime, registry, config)?, Limits::default());
    let analysis = engine.analyse(&high, low.as_deref(), &metadata)?;
    println!("{}", serde_json::to_string_pretty(&analysis)?);
    if let Some(path) = &args.heatmap {
        let images = crate::imaging::decode::decode_scan(&high, None, &Limits::default())?;
        let base = grayscale(&images.high, images.width, images.height, Window::default());
        let map = &analysis.heatmap;
        score_overlay(&base, &map.values, map.columns, map.cell, analysis.anomaly_threshold)
            .save(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
