//! `compare`: measure a base and a head revision and decide whether head regressed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use git2::{Oid, Repository};
use perf_fixer_core::config::{CONFIG_FILE, RepoConfig};
use perf_fixer_core::report::{BenchVerdict, BenchmarkReport, Report, RevInfo, Verdict};

use crate::git::{self, Baseline, Checkout, GitError};
use crate::measure::{self, Context, MeasureError, Progress, Site};
use crate::runner::{CancelToken, Runner, SandboxMode};
use crate::secret::Scrubber;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(
        "{file} not found at {rev} nor in the work tree of {dir}. Create it (see the README, \"Repository config\") with at least [bench] command and format."
    )]
    MissingConfig {
        file: &'static str,
        rev: String,
        dir: PathBuf,
    },
    #[error(transparent)]
    Config(#[from] perf_fixer_core::config::ConfigError),
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Measure(#[from] MeasureError),
    #[error(transparent)]
    Runner(#[from] crate::runner::RunnerError),
    #[error("finding the culprit: {0}")]
    Bisect(String),
    #[error("committing the fix: {0}")]
    Commit(String),
}

impl EngineError {
    /// Whether the user's input (config, arguments) is at fault rather than the run.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            EngineError::MissingConfig { .. }
                | EngineError::Config(_)
                | EngineError::Git(
                    GitError::NotARepository { .. } | GitError::UnknownRevision { .. }
                )
        )
    }

    pub fn is_cancelled(&self) -> bool {
        matches!(self, EngineError::Measure(MeasureError::Cancelled))
    }
}

/// What the caller asks `compare` to do.
pub struct CompareRequest {
    pub repo: PathBuf,
    pub base: String,
    pub head: String,
    pub sandbox: SandboxMode,
    pub bench_filter: Option<String>,
    pub cancel: CancelToken,
    /// Wall-clock limit of one build or bench run.
    pub command_timeout: Duration,
    /// Secrets to cut out of every command's output (tokens, keys), should one leak into it.
    pub scrubber: Scrubber,
}

/// Two resolved revisions of one repository and the config that governs them.
pub struct Resolved {
    pub repo: Repository,
    /// The baseline that is measured (see [`git::baseline`]).
    pub base: RevInfo,
    pub head: RevInfo,
    pub base_oid: Oid,
    pub head_oid: Oid,
    /// The base that was asked for, when the merge-base stands in for it.
    pub requested_base: Option<RevInfo>,
    /// What the report should say about the choice of baseline.
    pub notes: Vec<String>,
    pub config: RepoConfig,
}

impl Resolved {
    /// An empty report for these revisions, saying which baseline was measured.
    pub fn report(&self, verdict: Verdict, benchmarks: Vec<BenchmarkReport>) -> Report {
        let mut report = Report::new(verdict, self.base.clone(), self.head.clone(), benchmarks);
        report.requested_base = self.requested_base.clone();
        report.notes = self.notes.clone();
        report
    }
}

/// Opens the repository, resolves both revisions and the baseline (the merge-base when the
/// base branch moved on after head forked) and reads `.perf-fixer.toml` at head (or, for a
/// first try without committing it, from the work tree).
pub fn resolve(repo_dir: &Path, base: &str, head: &str) -> Result<Resolved, EngineError> {
    let repo = git::open_repo(repo_dir)?;
    let tip_oid = git::resolve(&repo, base)?;
    let head_oid = git::resolve(&repo, head)?;
    let config = load_config(&repo, head_oid, head)?;
    let asked = RevInfo {
        rev: base.to_string(),
        sha: tip_oid.to_string(),
    };
    let (base_oid, base_info, requested_base, notes) = match git::baseline(
        &repo, tip_oid, head_oid,
    )? {
        Baseline::Base => (tip_oid, asked, None, Vec::new()),
        Baseline::MergeBase(merge_base) => {
            let note = format!(
                "{base} ({}) is not an ancestor of {head}: measured {head} against their merge-base {}, so that only the change {head} makes counts, not what {base} gained since",
                short_sha(tip_oid),
                short_sha(merge_base)
            );
            let info = RevInfo {
                rev: format!("merge-base of {base} and {head}"),
                sha: merge_base.to_string(),
            };
            (merge_base, info, Some(asked), vec![note])
        }
        Baseline::Unrelated => {
            let note = format!(
                "{base} and {head} share no history: measured {base} itself as the baseline"
            );
            (tip_oid, asked, None, vec![note])
        }
    };
    Ok(Resolved {
        base: base_info,
        head: RevInfo {
            rev: head.to_string(),
            sha: head_oid.to_string(),
        },
        repo,
        base_oid,
        head_oid,
        requested_base,
        notes,
        config,
    })
}

fn short_sha(oid: Oid) -> String {
    oid.to_string()[..10].to_string()
}

/// The repository config as committed at `commit`, else as in the work tree.
pub fn load_config(repo: &Repository, commit: Oid, rev: &str) -> Result<RepoConfig, EngineError> {
    let short = short_sha(commit);
    if let Some(text) = git::read_file_at(repo, commit, CONFIG_FILE)? {
        return Ok(RepoConfig::parse(
            &text,
            &format!("{CONFIG_FILE} at {rev} ({short})"),
        )?);
    }
    if let Some(workdir) = repo.workdir() {
        let path = workdir.join(CONFIG_FILE);
        if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(|source| EngineError::Io {
                path: path.clone(),
                source,
            })?;
            tracing::warn!("{CONFIG_FILE} is not committed at {rev}; using the work tree's copy");
            return Ok(RepoConfig::parse(&text, &path.display().to_string())?);
        }
    }
    Err(EngineError::MissingConfig {
        file: CONFIG_FILE,
        rev: format!("{rev} ({short})"),
        dir: git::repo_dir(repo),
    })
}

/// Measures base against head and returns the report (culprit and fix left empty).
pub fn compare(request: &CompareRequest, progress: &dyn Progress) -> Result<Report, EngineError> {
    let resolved = resolve(&request.repo, &request.base, &request.head)?;
    let runner = Runner::new(request.sandbox)?.with_scrubber(request.scrubber.clone());
    let ctx = context(&resolved.config, &runner, request, progress);
    progress.stage("checking out base and head");
    let mut base = Site::new(
        "base",
        Checkout::create(&resolved.repo, "base", resolved.base_oid)?,
    );
    let mut head = Site::new(
        "head",
        Checkout::create(&resolved.repo, "head", resolved.head_oid)?,
    );
    let measurement = measure::measure(&ctx, &mut base, &mut head)?;
    let mut report = resolved.report(
        overall_verdict(&measurement.benchmarks),
        measurement.benchmarks,
    );
    report.validation_commands.push(reproduce_command(request));
    if measurement.budget_exhausted {
        report.notes.push(format!(
            "stopped after {} pairs of runs (the budget) with some benchmarks undecided",
            measurement.pairs
        ));
    }
    Ok(report)
}

/// The measurement context for a request under a repository's config.
pub fn context<'a>(
    config: &'a RepoConfig,
    runner: &'a Runner,
    request: &CompareRequest,
    progress: &'a dyn Progress,
) -> Context<'a> {
    let params = config.gate.decision_params();
    Context {
        runner,
        config,
        cancel: request.cancel.clone(),
        progress,
        command_timeout: request.command_timeout,
        bench_filter: request.bench_filter.clone(),
        params,
        plan: config.gate.sequential_plan(),
    }
}

/// Regression when any benchmark regressed; inconclusive when none did but some could not be
/// decided; otherwise no regression. Benchmarks present at one side only do not vote.
pub fn overall_verdict(benchmarks: &[BenchmarkReport]) -> Verdict {
    if benchmarks
        .iter()
        .any(|b| b.verdict == BenchVerdict::Regressed)
    {
        Verdict::Regression
    } else if benchmarks
        .iter()
        .any(|b| b.verdict == BenchVerdict::Inconclusive)
    {
        Verdict::Inconclusive
    } else {
        Verdict::NoRegression
    }
}

fn reproduce_command(request: &CompareRequest) -> String {
    format!(
        "perf-fixer compare --repo {} --base {} --head {}",
        shell_quote(&request.repo.display().to_string()),
        shell_quote(&request.base),
        shell_quote(&request.head)
    )
}

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=~^".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bench(verdict: BenchVerdict) -> BenchmarkReport {
        BenchmarkReport {
            name: "b".into(),
            unit: "ns".into(),
            base: None,
            head: None,
            change_pct: None,
            change_ci_low_pct: None,
            change_ci_high_pct: None,
            p_value: None,
            verdict,
        }
    }

    #[test]
    fn verdict_combines_benchmarks() {
        use BenchVerdict::*;
        assert_eq!(
            overall_verdict(&[bench(Unchanged), bench(Regressed), bench(Inconclusive)]),
            Verdict::Regression
        );
        assert_eq!(
            overall_verdict(&[bench(Unchanged), bench(Inconclusive)]),
            Verdict::Inconclusive
        );
        assert_eq!(
            overall_verdict(&[bench(Unchanged), bench(Improved), bench(OnlyHead)]),
            Verdict::NoRegression
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("HEAD~1"), "HEAD~1");
        assert_eq!(shell_quote("my repo"), "'my repo'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
