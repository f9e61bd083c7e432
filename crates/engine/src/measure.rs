//! Measuring two checkouts against each other: build each once, then run the bench command
//! alternately (A B, B A, ...) so that drift on a shared machine hits both sides, until every
//! benchmark is decided or the run budget is spent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use perf_fixer_core::config::RepoConfig;
use perf_fixer_core::report::{BenchVerdict, BenchmarkReport};
use perf_fixer_core::sample::RunResult;
use perf_fixer_core::stats::{self, DecisionParams, SequentialPlan, Step};

use crate::git::Checkout;
use crate::runner::{CancelToken, CommandSpec, Limits, Outcome, Runner};

/// Which of the two sides of a measurement a run belongs to, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideLabel(pub String);

impl std::fmt::Display for SideLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error("the build failed at {side} ({command}, {status}). Last lines of its output:\n{tail}")]
    BuildFailed {
        side: SideLabel,
        command: String,
        status: String,
        tail: String,
    },
    #[error(
        "the bench command failed at {side} ({command}, {status}). Last lines of its output:\n{tail}"
    )]
    BenchFailed {
        side: SideLabel,
        command: String,
        status: String,
        tail: String,
    },
    #[error("the bench command at {side} produced no usable results: {source}")]
    NoResults {
        side: SideLabel,
        source: perf_fixer_bench::AdapterError,
    },
    #[error(
        "no benchmark ran at both sides ({base} and {head}): nothing to compare. Check [bench] command and format in .perf-fixer.toml"
    )]
    NothingInCommon { base: SideLabel, head: SideLabel },
    #[error("cancelled")]
    Cancelled,
    #[error(transparent)]
    Git(#[from] crate::git::GitError),
    #[error("applying a patch: {0}")]
    Patch(String),
    #[error(transparent)]
    Runner(#[from] crate::runner::RunnerError),
}

impl MeasureError {
    pub fn from_git(e: crate::git::GitError) -> MeasureError {
        MeasureError::Git(e)
    }
}

/// Things the measurement tells whoever watches it (a progress bar, the job's event log).
pub trait Progress: Send + Sync {
    /// A new stage begins (`building base`, `measuring`, ...).
    fn stage(&self, message: &str);
    /// One bench run finished: `done` of at most `budget` runs so far.
    fn run_finished(&self, done: usize, budget: usize);
}

/// A progress sink that says nothing, for tests and nested measurements.
pub struct Silent;

impl Progress for Silent {
    fn stage(&self, _message: &str) {}
    fn run_finished(&self, _done: usize, _budget: usize) {}
}

/// What every command of one engine run shares.
pub struct Context<'a> {
    pub runner: &'a Runner,
    pub config: &'a RepoConfig,
    pub cancel: CancelToken,
    pub progress: &'a dyn Progress,
    /// Wall-clock limit of one build or one bench run.
    pub command_timeout: Duration,
    /// Keep only benchmarks whose name contains this text (`/perf-fix bench=...`).
    pub bench_filter: Option<String>,
    pub params: DecisionParams,
    pub plan: SequentialPlan,
}

/// A checkout that can be built and benchmarked.
pub struct Site {
    pub label: SideLabel,
    pub checkout: Checkout,
    built: bool,
}

impl Site {
    pub fn new(label: impl Into<String>, checkout: Checkout) -> Site {
        Site {
            label: SideLabel(label.into()),
            checkout,
            built: false,
        }
    }

    pub fn dir(&self) -> &Path {
        self.checkout.path()
    }

    /// Forget that the site was built (its sources changed: a candidate patch, another commit).
    pub fn mark_dirty(&mut self) {
        self.built = false;
    }

    /// The command spec for `shell` in this checkout: writable worktree, no network.
    pub fn spec(&self, ctx: &Context<'_>, shell: &str) -> CommandSpec {
        CommandSpec {
            shell: shell.to_string(),
            cwd: self.dir().to_path_buf(),
            env: BTreeMap::new(),
            writable: vec![self.dir().to_path_buf()],
            network: false,
            limits: Limits {
                wall: ctx.command_timeout,
                ..Limits::default()
            },
            cancel: Some(ctx.cancel.clone()),
        }
    }

    /// Runs a command line in this checkout under the context's runner and limits.
    pub fn run(&self, ctx: &Context<'_>, shell: &str) -> Result<Outcome, MeasureError> {
        if ctx.cancel.is_cancelled() {
            return Err(MeasureError::Cancelled);
        }
        let outcome = ctx.runner.run(&self.spec(ctx, shell))?;
        if outcome.cancelled {
            return Err(MeasureError::Cancelled);
        }
        Ok(outcome)
    }

    /// Fetches dependencies (with network, no secrets) and builds the benchmarks once, so that
    /// bench runs measure the code and not the compiler.
    pub fn build(&mut self, ctx: &Context<'_>) -> Result<(), MeasureError> {
        if self.built {
            return Ok(());
        }
        ctx.progress.stage(&format!("building {}", self.label));
        if self.dir().join("Cargo.toml").exists() {
            let fetched = ctx
                .runner
                .cargo_fetch(self.dir(), &self.dir().join("target"))?;
            if !fetched.success() {
                return Err(MeasureError::BuildFailed {
                    side: self.label.clone(),
                    command: "cargo fetch".to_string(),
                    status: fetched.status_text(),
                    tail: fetched.tail(20),
                });
            }
        }
        if let Some(build) = build_command(&ctx.config.bench.command) {
            let outcome = self.run(ctx, &build)?;
            if !outcome.success() {
                return Err(MeasureError::BuildFailed {
                    side: self.label.clone(),
                    command: build,
                    status: outcome.status_text(),
                    tail: outcome.tail(20),
                });
            }
        }
        self.built = true;
        Ok(())
    }

    /// Runs the bench command once and parses what it produced.
    pub fn bench_once(&self, ctx: &Context<'_>) -> Result<RunResult, MeasureError> {
        let bench = &ctx.config.bench;
        let output = bench.output.as_ref().map(|o| self.dir().join(o));
        perf_fixer_bench::prepare(bench.format, output.as_deref()).map_err(|source| {
            MeasureError::NoResults {
                side: self.label.clone(),
                source,
            }
        })?;
        let outcome = self.run(ctx, &bench.command)?;
        if !outcome.success() {
            return Err(MeasureError::BenchFailed {
                side: self.label.clone(),
                command: bench.command.clone(),
                status: outcome.status_text(),
                tail: outcome.tail(20),
            });
        }
        let collected = perf_fixer_bench::collect(bench.format, &outcome.stdout, output.as_deref())
            .map_err(|source| MeasureError::NoResults {
                side: self.label.clone(),
                source,
            })?;
        for warning in &collected.warnings {
            tracing::warn!(side = %self.label, "{warning}");
        }
        let values = match &ctx.bench_filter {
            Some(filter) => collected
                .values
                .into_iter()
                .filter(|v| v.name.contains(filter.as_str()))
                .collect(),
            None => collected.values,
        };
        Ok(RunResult {
            values,
            peak_rss_kib: Some(outcome.peak_rss_kib),
        })
    }
}

/// `cargo bench ARGS -- BENCH_ARGS` builds with `cargo bench ARGS --no-run`; other commands
/// have no separate build step (their first run builds).
fn build_command(bench_command: &str) -> Option<String> {
    let trimmed = bench_command.trim();
    let rest = trimmed.strip_prefix("cargo bench")?;
    if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
        return None;
    }
    let cargo_args = rest.split(" -- ").next().unwrap_or("").trim();
    if cargo_args.is_empty() {
        Some("cargo bench --no-run".to_string())
    } else {
        Some(format!("cargo bench {cargo_args} --no-run"))
    }
}

/// All runs of one side, per benchmark.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    /// name → (unit, one value per run)
    pub values: BTreeMap<String, (String, Vec<f64>)>,
    pub peak_rss_kib: Vec<u64>,
}

impl Samples {
    fn add(&mut self, run: RunResult) {
        for v in run.values {
            let entry = self
                .values
                .entry(v.name)
                .or_insert_with(|| (v.unit.clone(), Vec::new()));
            entry.1.push(v.value);
        }
        if let Some(rss) = run.peak_rss_kib {
            self.peak_rss_kib.push(rss);
        }
    }

    pub fn peak_rss(&self) -> Option<u64> {
        self.peak_rss_kib.iter().copied().max()
    }
}

/// The outcome of measuring `a` (the reference, e.g. base) against `b` (e.g. head).
#[derive(Debug, Clone)]
pub struct Measurement {
    pub a: Samples,
    pub b: Samples,
    pub benchmarks: Vec<BenchmarkReport>,
    pub pairs: usize,
    pub budget_exhausted: bool,
}

impl Measurement {
    pub fn regressed(&self) -> impl Iterator<Item = &BenchmarkReport> {
        self.benchmarks
            .iter()
            .filter(|b| b.verdict == BenchVerdict::Regressed)
    }
}

/// Builds both sites, then runs them alternately until every benchmark present at both is
/// decided (or the budget of pairs is spent), and compares each benchmark.
pub fn measure(ctx: &Context<'_>, a: &mut Site, b: &mut Site) -> Result<Measurement, MeasureError> {
    a.build(ctx)?;
    b.build(ctx)?;
    ctx.progress
        .stage(&format!("measuring {} against {}", b.label, a.label));
    let mut samples_a = Samples::default();
    let mut samples_b = Samples::default();
    let budget = ctx.plan.max_pairs.max(1);
    let mut pairs = 0;
    let mut decided = false;
    while pairs < budget {
        // A B, then B A: neither side always runs first, so slow stretches and warm caches
        // fall on both alike.
        let order: [&Site; 2] = if pairs % 2 == 0 { [a, b] } else { [b, a] };
        for site in order {
            let run = site.bench_once(ctx)?;
            if std::ptr::eq(site, a) {
                samples_a.add(run)
            } else {
                samples_b.add(run)
            }
            ctx.progress.run_finished(
                pairs * 2 + if std::ptr::eq(site, order[0]) { 1 } else { 2 },
                budget * 2,
            );
        }
        pairs += 1;
        if pairs >= ctx.plan.min_pairs && all_decided(ctx, &samples_a, &samples_b) {
            decided = true;
            break;
        }
    }
    let benchmarks = compare_all(ctx, &samples_a, &samples_b);
    if !benchmarks
        .iter()
        .any(|b| b.base.is_some() && b.head.is_some())
    {
        return Err(MeasureError::NothingInCommon {
            base: a.label.clone(),
            head: b.label.clone(),
        });
    }
    Ok(Measurement {
        a: samples_a,
        b: samples_b,
        benchmarks,
        pairs,
        budget_exhausted: !decided,
    })
}

fn all_decided(ctx: &Context<'_>, a: &Samples, b: &Samples) -> bool {
    a.values
        .iter()
        .all(|(name, (_, base))| match b.values.get(name) {
            Some((_, head)) => !matches!(
                stats::next_step(base, head, &ctx.params, &ctx.plan),
                Step::NeedMore
            ),
            None => true,
        })
}

/// Compares every benchmark seen at either side; those seen at one side only are reported
/// as such and not compared.
pub fn compare_all(ctx: &Context<'_>, a: &Samples, b: &Samples) -> Vec<BenchmarkReport> {
    let mut names: Vec<&String> = a.values.keys().chain(b.values.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let side_a = a.values.get(name);
            let side_b = b.values.get(name);
            let unit = side_a
                .or(side_b)
                .map(|(u, _)| u.clone())
                .unwrap_or_default();
            match (side_a, side_b) {
                (Some((_, va)), Some((_, vb))) => {
                    let c = stats::compare(va, vb, &ctx.params.clone().for_benchmark(name));
                    BenchmarkReport {
                        name: name.clone(),
                        unit,
                        base: Some(c.base.to_side_summary(a.peak_rss())),
                        head: Some(c.head.to_side_summary(b.peak_rss())),
                        change_pct: Some(c.change_pct),
                        change_ci_low_pct: Some(c.ci_low_pct),
                        change_ci_high_pct: Some(c.ci_high_pct),
                        p_value: Some(c.p_value),
                        verdict: c.verdict,
                    }
                }
                (va, vb) => {
                    let only = |v: Option<&(String, Vec<f64>)>, rss| {
                        v.map(|(_, values)| {
                            stats::summarize(values, &ctx.params).to_side_summary(rss)
                        })
                    };
                    BenchmarkReport {
                        name: name.clone(),
                        unit,
                        base: only(va, a.peak_rss()),
                        head: only(vb, b.peak_rss()),
                        change_pct: None,
                        change_ci_low_pct: None,
                        change_ci_high_pct: None,
                        p_value: None,
                        verdict: if va.is_some() {
                            BenchVerdict::OnlyBase
                        } else {
                            BenchVerdict::OnlyHead
                        },
                    }
                }
            }
        })
        .collect()
}

/// The directory a site's results and build artifacts live in.
pub fn target_dir(site: &Site) -> PathBuf {
    site.dir().join("target")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_step_is_derived_from_cargo_bench() {
        assert_eq!(
            build_command("cargo bench --bench parse -- --noplot").as_deref(),
            Some("cargo bench --bench parse --no-run")
        );
        assert_eq!(
            build_command("cargo bench").as_deref(),
            Some("cargo bench --no-run")
        );
        assert_eq!(build_command("cargo benchmark"), None);
        assert_eq!(build_command("./run-benches.sh"), None);
    }
}
