use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::loadgen::{self, Load, LoadConfig};

/// Act as scanner stations uploading scans to a service, and report throughput and latency.
#[derive(Debug, Args)]
pub struct LoadgenArgs {
    /// The service, e.g. http://127.0.0.1:8080 (scantriage or the Python baseline).
    #[arg(long)]
    url: String,
    /// Scanner stations to act as; their ids are LOADGEN-01, LOADGEN-02, …
    #[arg(long, default_value_t = 4)]
    stations: usize,
    /// Open loop: uploads per second, whatever the answers.
    #[arg(long, conflicts_with = "concurrency", required_unless_present = "concurrency")]
    rate: Option<f64>,
    /// Closed loop: uploads in flight at all times.
    #[arg(long)]
    concurrency: Option<usize>,
    /// How long to send, e.g. 30s, 2m.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    duration: Duration,
    /// Folder of scan folders to upload in turn [default: samples/].
    #[arg(long, default_value = "samples")]
    samples: PathBuf,
    /// File of "STATION KEY" lines; without it and --data-dir, uploads carry no credentials.
    #[arg(long)]
    keys: Option<PathBuf>,
    /// Create keys for the stations in this service's data directory (same machine).
    #[arg(long, conflicts_with = "keys")]
    data_dir: Option<PathBuf>,
    /// Seconds each upload waits for its verdict.
    #[arg(long, default_value_t = 30)]
    wait: u64,
    /// Name of the system under test in the report.
    #[arg(long, default_value = "scantriage")]
    label: String,
    /// Write NAME.json, NAME.md and plots to this folder.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Base name of the written files [default: the label].
    #[arg(long)]
    name: Option<String>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len()));
    let value: f64 = number.parse().map_err(|_| format!("{text:?} is not a duration like 30s or 2m"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        _ => return Err(format!("{text:?}: units are ms, s or m")),
    };
    if !(seconds > 0.0 && seconds <= 3600.0) {
        return Err("durations run from above 0 to 1 hour".into());
    }
    Ok(Duration::from_secs_f64(seconds))
}

pub fn run(args: LoadgenArgs) -> anyhow::Result<()> {
    let load = match (args.rate, args.concurrency) {
        (Some(rate), _) if rate > 0.0 && rate <= 10_000.0 => Load::Rate(rate),
        (Some(rate), _) => anyhow::bail!("--rate {rate}: between 0 and 10000 uploads per second"),
        (None, Some(c)) if (1..=1024).contains(&c) => Load::Concurrency(c),
        (None, c) => anyhow::bail!("--concurrency {c:?}: between 1 and 1024"),
    };
    anyhow::ensure!((1..=999).contains(&args.stations), "--stations: between 1 and 999");
    let scans = loadgen::load_scans(&args.samples)?;
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        let ids: Vec<String> = (1..=args.stations).map(|n| format!("LOADGEN-{n:02}")).collect();
        let stations = station_keys(&ids, args.keys.as_deref(), args.data_dir.as_deref()).await?;
        let config = LoadConfig {
            url: args.url.trim_end_matches('/').to_owned(),
            load,
            duration: args.duration,
            stations,
            wait_seconds: args.wait,
            max_in_flight: 512,
            label: args.label.clone(),
        };
        tracing::info!(scans = scans.len(), "uploading for {:?}", args.duration);
        let report = loadgen::run(config, scans).await?;
        println!("{}", report.summary());
        if let Some(out) = &args.out {
            loadgen::write_outputs(&report, out, args.name.as_deref().unwrap_or(&args.label))?;
        }
        Ok(())
    })
}

async fn station_keys(
    ids: &[String],
    keys: Option<&std::path::Path>,
    data_dir: Option<&std::path::Path>,
) -> anyhow::Result<Vec<(String, Option<String>)>> {
    if let Some(path) = keys {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let pairs: Vec<_> = text
            .lines()
            .filter_map(|line| line.split_once(char::is_whitespace))
            .map(|(station, key)| (station.to_owned(), Some(key.trim().to_owned())))
            .collect();
        anyhow::ensure!(!pairs.is_empty(), "no \"STATION KEY\" lines in {}", path.display());
        return Ok(pairs);
    }
    let Some(data_dir) = data_dir else {
        return Ok(ids.iter().map(|id| (id.clone(), None)).collect());
    };
    let storage = super::storage::StorageArgs { data_dir: data_dir.to_owned(), database: None };
    let accounts = crate::accounts::Accounts::new(storage.open_store().await?);
    let mut stations = Vec::new();
    for id in ids {
        stations.push((id.clone(), Some(accounts.create_station_key(id).await?.1)));
    }
    Ok(stations)
}

/// Put load runs side by side: their JSON reports (from `loadgen --out`) as one Markdown table.
#[derive(Debug, Args)]
pub struct LoadReportArgs {
    /// JSON reports written by `loadgen --out`.
    #[arg(required = true)]
    runs: Vec<PathBuf>,
}

pub fn run_report(args: LoadReportArgs) -> anyhow::Result<()> {
    let reports = args
        .runs
        .iter()
        .map(|path| {
            let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_slice(&text).with_context(|| format!("{} is not a loadgen report", path.display()))
        })
        .collect::<anyhow::Result<Vec<loadgen::Report>>>()?;
    print!("{}", loadgen::comparison_table(&reports));
    Ok(())
}
