//! The command line: one subcommand per file.

mod eval;
mod render;
mod scan;
mod simulate;

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
}

impl Cli {
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Simulate(args) => simulate::run(args),
            Command::Render(args) => render::run(args),
            Command::Scan(args) => scan::run(args),
            Command::Eval(args) => eval::run(args),
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`, with ONNX Runtime's chatter at `warn`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,ort=warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
