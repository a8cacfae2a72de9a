use std::process::ExitCode;

use clap::Parser;
use scantriage::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    scantriage::cli::init_logging();
    match cli.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One readable line, with the causes, instead of a debug dump.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
