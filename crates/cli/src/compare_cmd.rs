//! `perf-fixer compare`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use perf_fixer_core::render::compare_table;
use perf_fixer_core::report::{Report, Verdict};
use perf_fixer_engine::compare::{self, CompareRequest};
use perf_fixer_engine::runner::{CancelToken, SandboxMode};

use crate::exit;
use crate::progress::StderrProgress;

#[derive(Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub revs: RevArgs,
    /// Write the JSON report here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write a markdown table (for PR bodies and job summaries) here.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Compare only benchmarks whose name contains this text.
    #[arg(long)]
    pub bench: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// The repository and the two revisions; shared by `compare` and `fix`.
#[derive(Args)]
pub struct RevArgs {
    /// The git repository (any directory inside it).
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// The reference revision (branch, tag or SHA).
    #[arg(long)]
    pub base: String,
    /// The revision to check: the one that may be slower.
    #[arg(long)]
    pub head: String,
}

/// How repository commands run; shared by `compare` and `fix`.
#[derive(Args)]
pub struct RunArgs {
    /// Sandbox for the repository's commands: `bwrap` (default) or `none` (unsafe: only for
    /// code you trust).
    #[arg(long, env = "PERF_FIXER_SANDBOX", default_value = "bwrap")]
    pub sandbox: SandboxMode,
    /// Wall-clock limit of one build or bench run, in seconds.
    #[arg(long, default_value_t = 1800)]
    pub timeout_secs: u64,
}

/// A cancel token tripped by Ctrl-C, so that running commands are killed and worktrees removed.
pub fn interrupt_token() -> CancelToken {
    let cancel = CancelToken::new();
    let handle = cancel.clone();
    if let Err(e) = ctrlc::set_handler(move || {
        eprintln!("perf-fixer: interrupted, stopping and cleaning up");
        handle.cancel();
    }) {
        tracing::warn!("could not install the Ctrl-C handler: {e}");
    }
    cancel
}

pub fn run(args: CompareArgs) -> u8 {
    let progress = StderrProgress::new();
    let request = CompareRequest {
        repo: args.revs.repo.clone(),
        base: args.revs.base.clone(),
        head: args.revs.head.clone(),
        sandbox: args.run.sandbox,
        bench_filter: args.bench.clone(),
        cancel: interrupt_token(),
        command_timeout: Duration::from_secs(args.run.timeout_secs),
        scrubber: Default::default(),
    };
    let result = compare::compare(&request, &progress);
    progress.finish();
    match result {
        Ok(report) => match write_outputs(&report, args.json.as_ref(), args.markdown.as_ref()) {
            Ok(()) => {
                print!("{}", compare_table::terminal_table(&report));
                verdict_code(report.verdict)
            }
            Err(message) => {
                eprintln!("perf-fixer: {message}");
                exit::ERROR
            }
        },
        Err(e) if e.is_cancelled() => {
            eprintln!("perf-fixer: interrupted; worktrees removed, nothing of yours changed");
            exit::INTERRUPTED
        }
        Err(e) => {
            eprintln!("perf-fixer: {e}");
            if e.is_bad_input() {
                exit::BAD_INPUT
            } else {
                exit::ERROR
            }
        }
    }
}

pub fn verdict_code(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::NoRegression => exit::OK,
        Verdict::Regression => exit::REGRESSION,
        Verdict::Inconclusive => exit::INCONCLUSIVE,
    }
}

/// Writes the JSON report and the markdown table where asked.
pub fn write_outputs(
    report: &Report,
    json: Option<&PathBuf>,
    markdown: Option<&PathBuf>,
) -> Result<(), String> {
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(report)
            .map_err(|e| format!("serializing the report: {e}"))?;
        std::fs::write(path, text + "\n")
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    if let Some(path) = markdown {
        std::fs::write(path, compare_table::markdown_table(report))
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(())
}
