//! The `perf-fixer` command line.

mod compare_cmd;
mod demo_cmd;
mod fix_cmd;
mod progress;
mod serve_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit codes of the command-line contract (DESIGN.md).
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const BAD_INPUT: u8 = 2;
    pub const REGRESSION: u8 = 3;
    /// `fix`: head is not slower, nothing to fix (the same number as `compare`'s regression:
    /// the contract gives 3 to "no regression" for `fix`).
    pub const REGRESSION_ABSENT: u8 = 3;
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
    /// The whole engine: bisect, profile, patch, validate. Exit 0: a fix is committed on a new
    /// branch; 3: no regression; 4: no patch passed validation; 5: inconclusive.
    Fix(fix_cmd::FixArgs),
    /// Build a small repository with a real regression in a temp dir and fix it.
    Demo(demo_cmd::DemoArgs),
    /// The GitHub App: webhooks over HTTP, and in-process workers (PERF_FIXER_WORKERS).
    Serve(serve_cmd::ServeArgs),
    /// Workers only (scale out beside `serve`).
    Worker(serve_cmd::ServeArgs),
    /// Apply the database migrations.
    Migrate(serve_cmd::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Serve(_) | Command::Worker(_) | Command::Migrate(_) => {
            serve_cmd::init_json_logging()
        }
        _ => init_logging(),
    }
    let code = match cli.command {
        Command::Compare(args) => compare_cmd::run(args),
        Command::Fix(args) => fix_cmd::run(args),
        Command::Demo(args) => demo_cmd::run(args),
        Command::Serve(args) => serve_cmd::serve(args),
        Command::Worker(args) => serve_cmd::worker(args),
        Command::Migrate(args) => serve_cmd::migrate(args),
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
