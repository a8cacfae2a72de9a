//! The command line: one subcommand per file.

mod accounts;
mod backup;
mod eval;
mod loadgen;
mod render;
mod scan;
mod serve;
mod simulate;
mod storage;
mod upload;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "scantriage", version, about = "Triage of container X-ray scans against customs declarations")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Simulate(simulate::SimulateArgs),
    Render(render::RenderArgs),
    Scan(scan::ScanArgs),
    Eval(eval::EvalArgs),
    Serve(serve::ServeArgs),
    Users(accounts::UsersArgs),
    Keys(accounts::KeysArgs),
    Loadgen(loadgen::LoadgenArgs),
    Loadreport(loadgen::LoadReportArgs),
    Upload(upload::UploadArgs),
    Backup(backup::BackupArgs),
}

impl Cli {
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Simulate(args) => simulate::run(args),
            Command::Render(args) => render::run(args),
            Command::Scan(args) => scan::run(args),
            Command::Eval(args) => eval::run(args),
            Command::Serve(args) => serve::run(args),
            Command::Users(args) => accounts::run_users(args),
            Command::Keys(args) => accounts::run_keys(args),
            Command::Loadgen(args) => loadgen::run(args),
            Command::Loadreport(args) => loadgen::run_report(args),
            Command::Upload(args) => upload::run(args),
            Command::Backup(args) => backup::run(args),
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`, with ONNX Runtime's chatter at
/// `warn`); one JSON object per line when `SCANTRIAGE_LOG_FORMAT=json`.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,ort=warn,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("SCANTRIAGE_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Completes on Ctrl-C or SIGTERM: how long-running commands are asked to stop.
async fn stop_requested() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
