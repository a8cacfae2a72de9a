use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::imaging::decode::Limits;
use crate::inference::registry::default_manifest_path;
use crate::inference::{Engine, InferencePool, ModelRegistry, PoolConfig, init_runtime};
use crate::triage::TriageConfig;

/// Evaluate the real pipeline on simulated scans with ground truth (from `simulate`).
///
/// Prints a table of tile accuracy (with a confusion matrix), concealment AUROC and
/// localisation, cargo mass error, and triage's mismatch recall and false flags, overall, by
/// container length and by dose, then the scans where triage's goods reasons and the truth
/// disagree. With `--json FILE` the full report (every scan included) is also written there as
/// JSON; `--format json` prints the JSON to stdout instead of the table. Metrics a set cannot
/// define (e.g. AUROC without concealment scans) are null / "-".
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Folder of scan folders (high.png, low.png, meta.json, truth.json, labels.png).
    #[arg(long)]
    data: PathBuf,
    /// Model manifest [default: models/manifest.toml here, else the one this binary was built with].
    #[arg(long)]
    models: Option<PathBuf>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// ONNX Runtime intra-op threads per session.
    #[arg(long, default_value_t = 1)]
    intra_threads: usize,
    /// Triage thresholds to evaluate, as a TOML file with the fields of the service's `[triage]`
    /// section [default: the service's defaults].
    #[arg(long)]
    triage: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let triage = match &args.triage {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            toml::from_str(&text).with_context(|| format!("invalid triage thresholds in {}", path.display()))?
        }
        None => TriageConfig::default(),
    };
    let runtime = init_runtime()?;
    let registry = ModelRegistry::load(&args.models.unwrap_or_else(default_manifest_path))?;
    let config = PoolConfig { workers: 2, intra_threads: args.intra_threads, ..PoolConfig::default() };
    let engine = Engine::new(InferencePool::start(&runtime, registry, config)?, Limits::default());
    let report = crate::eval::evaluate(&engine, &args.data, &triage)?;
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(path) = &args.json {
        std::fs::write(path, format!("{json}\n")).with_context(|| format!("cannot write {}", path.display()))?;
    }
    match args.format {
        Format::Table => print!("{}", report.table()),
        Format::Json => println!("{json}"),
    }
    Ok(())
}
