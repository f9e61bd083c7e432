//! The `perf-fixer` command line.

mod compare_cmd;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit codes of the command-line contract (DESIGN.md).
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const BAD_INPUT: u8 = 2;
    pub const REGRESSION: u8 = 3;
    pub const NO_FIX: u8 = 4;
    pub const INCONCLUSIVE: u8 = 5;
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Parser)]
#[command(
    name = "perf-fixer",
    version,
    about = "Finds and fixes performance regressions in Rust repositories"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure base and head, print the verdict table. Exit 0: no regression, 3: regression, 5: inconclusive.
    Compare(compare_cmd::CompareArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let code = match cli.command {
        Command::Compare(args) => compare_cmd::run(args),
    };
    ExitCode::from(code)
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("PERF_FIXER_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
