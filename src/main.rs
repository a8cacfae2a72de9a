use std::process::ExitCode;

use clap::Parser;
use scantriage::cli::Cli;

fn main() -> ExitCode {
    scantriage::keep_freed_memory();
    let cli = Cli::parse();
    scantriage::cli::init_logging();
    match cli.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, instead of a debug dump; a cause that an error's
/// own message already quotes is not repeated.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = error.to_string();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line
}
