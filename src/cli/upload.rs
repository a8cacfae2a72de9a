use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::station::agent::{self, AgentConfig};
use crate::station::client::{Outcome, StationClient, StationKey};
use crate::station::retry::RetryPolicy;
use crate::station::upload_with_retries;

/// Upload scan folders to the service, or, with --watch, run as a scanner station's agent
/// (see docs/station-agent.md).
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// Scan folders (meta.json, high.png or .tif, and low.png for dual energy) to upload once.
    #[arg(required_unless_present = "watch", conflicts_with = "watch")]
    paths: Vec<PathBuf>,
    /// The service, such as http://scantriage.customs.local:8080.
    #[arg(long, env = "SCANTRIAGE_URL")]
    url: String,
    /// The station's API key; better given in the environment, where other users cannot see it.
    #[arg(long, env = "SCANTRIAGE_KEY", hide_env_values = true)]
    key: StationKey,
    /// Seconds (at most 30) to wait for each verdict and print its lane and risk.
    #[arg(long, value_name = "SECONDS", conflicts_with = "watch")]
    wait: Option<u64>,
    /// Attempts per scan while the service is unavailable, before giving up on it.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..), conflicts_with = "watch")]
    max_attempts: u32,
    /// Seconds one attempt may take.
    #[arg(long, value_name = "SECONDS", default_value = "120", value_parser = seconds)]
    timeout: Duration,
    /// Watch this folder and upload every scan folder that appears in it, until Ctrl-C or SIGTERM.
    #[arg(long, value_name = "DIR")]
    watch: Option<PathBuf>,
    /// The agent's spool (pending/, done/, rejected/), on the watched folder's filesystem
    /// [default: DIR/.scantriage].
    #[arg(long, value_name = "SPOOL", requires = "watch")]
    spool: Option<PathBuf>,
    /// Seconds between looks at the watched folder.
    #[arg(long, value_name = "SECONDS", default_value = "1", value_parser = seconds, requires = "watch")]
    interval: Duration,
    /// Seconds a scan folder must stay unchanged, with meta.json present, to count as complete.
    #[arg(long, value_name = "SECONDS", default_value = "2", value_parser = seconds, requires = "watch")]
    settle: Duration,
}

fn seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("{text:?} is not a number of seconds"))
}

pub fn run(args: UploadArgs) -> anyhow::Result<()> {
    let client = StationClient::new(&args.url, args.key, args.timeout)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    match args.watch {
        Some(watch) => runtime.block_on(async move {
            let mut config = AgentConfig::new(watch);
            config.spool = args.spool.unwrap_or(config.spool);
            config.poll_interval = args.interval;
            config.settle = args.settle;
            agent::run(&client, &config, super::stop_requested()).await.map(drop)
        }),
        None => runtime.block_on(upload_each(&client, &args.paths, args.wait, args.max_attempts)),
    }
}

/// One result line per scan on stdout; an error when any was not uploaded.
async fn upload_each(client: &StationClient, paths: &[PathBuf], wait: Option<u64>, max_attempts: u32) -> anyhow::Result<()> {
    let mut failed = 0;
    for path in paths {
        let (outcome, attempts) = upload_with_retries(client, path, wait, RetryPolicy::default(), max_attempts).await;
        let result = match outcome {
            Outcome::Done(receipt) => match (receipt.verdict, receipt.duplicate) {
                (Some(verdict), duplicate) => {
                    let again = if duplicate == Some(true) { ", a duplicate" } else { "" };
                    match (verdict.lane, verdict.risk_score) {
                        (Some(lane), Some(risk)) => {
                            format!("scan {}: lane {lane}, risk {risk} ({}){again}", receipt.scan_id, verdict.state)
                        }
                        _ => format!("scan {}: {}, {}{again}", receipt.scan_id, verdict.state, verdict.failure.unwrap_or_default()),
                    }
                }
                (None, Some(true)) => format!("duplicate of scan {}", receipt.scan_id),
                (None, _) if wait.is_some() => format!("accepted as scan {}, no verdict yet", receipt.scan_id),
                (None, _) => format!("accepted as scan {}", receipt.scan_id),
            },
            Outcome::Rejected(rejection) => {
                failed += 1;
                format!("rejected: {}", rejection.summary())
            }
            Outcome::Retry(transient) => {
                failed += 1;
                match transient.needs_operator {
                    true => format!("not uploaded: {}", transient.reason),
                    false => format!("not uploaded after {attempts} attempts: {}", transient.reason),
                }
            }
        };
        println!("{}: {result}", path.display());
    }
    anyhow::ensure!(failed == 0, "{failed} of {} scans were not uploaded", paths.len());
    Ok(())
}
