//! `perf-fixer fix`: the whole engine on a local repository.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use perf_fixer_core::render::pr_body::{BodyOptions, pr_body, rejection_summary};
use perf_fixer_core::report::Report;
use perf_fixer_engine::fix::{self, FixOutcome, FixRequest, FixResult};

use crate::compare_cmd::{RevArgs, RunArgs, interrupt_token};
use crate::exit;
use crate::progress::StderrProgress;

#[derive(Args)]
pub struct FixArgs {
    #[command(flatten)]
    pub revs: RevArgs,
    /// Write the JSON report here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Write the markdown PR body (or, without a fix, the summary of what was tried) here.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Name of the new branch for the fix (default: perf-fixer/fix-<head sha>).
    #[arg(long)]
    pub branch: Option<String>,
    /// Fix only benchmarks whose name contains this text.
    #[arg(long)]
    pub bench: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(args: FixArgs) -> u8 {
    let request = FixRequest {
        repo: args.revs.repo.clone(),
        base: args.revs.base.clone(),
        head: args.revs.head.clone(),
        sandbox: args.run.sandbox,
        bench_filter: args.bench.clone(),
        cancel: interrupt_token(),
        command_timeout: Duration::from_secs(args.run.timeout_secs),
        branch: args.branch.clone(),
        scrubber: Default::default(),
    };
    let progress = StderrProgress::new();
    let result = fix::fix(&request, &progress);
    progress.finish();
    match result {
        Ok(result) => match write_outputs(&result, args.report.as_ref(), args.markdown.as_ref()) {
            Ok(body) => {
                println!("{body}");
                outcome_code(&result)
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

pub fn outcome_code(result: &FixResult) -> u8 {
    match result.outcome {
        FixOutcome::Fixed => exit::OK,
        FixOutcome::NoRegression => exit::REGRESSION_ABSENT,
        FixOutcome::NoFix => exit::NO_FIX,
        FixOutcome::Inconclusive => exit::INCONCLUSIVE,
    }
}

/// The markdown a person reads: the PR body for a fix, else what was found and tried.
pub fn body(report: &Report) -> String {
    if report.fix.is_some() {
        pr_body(
            report,
            &BodyOptions {
                job_url: None,
                reproduce: report.validation_commands.clone(),
            },
        )
    } else {
        rejection_summary(report)
    }
}

/// Writes the JSON report and the markdown body where asked; returns the body.
pub fn write_outputs(
    result: &FixResult,
    report: Option<&PathBuf>,
    markdown: Option<&PathBuf>,
) -> Result<String, String> {
    let text = body(&result.report);
    if let Some(path) = report {
        let json = serde_json::to_string_pretty(&result.report)
            .map_err(|e| format!("serializing the report: {e}"))?;
        std::fs::write(path, json + "\n")
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    if let Some(path) = markdown {
        std::fs::write(path, &text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(text)
}
