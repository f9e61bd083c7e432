//! The validation gate: a candidate patch counts only if it stays inside `[fix] paths`, builds,
//! passes the test command, makes every regressed benchmark significantly faster than head,
//! and makes no other benchmark slower or hungrier for memory.

use std::collections::BTreeSet;
use std::path::PathBuf;

use perf_fixer_core::report::{AttemptOutcome, BenchVerdict, BenchmarkReport};
use perf_fixer_core::units::{format_kib, format_pct, format_pct_interval};

use crate::hunks::write_files;
use crate::measure::{self, Context, MeasureError, Measurement, Site};
use crate::strategies::{Candidate, guard};

/// Extra peak memory tolerated before a candidate counts as trading time for memory, beyond
/// the gate's threshold: small absolute changes are allocator noise.
const MEMORY_SLACK_KIB: u64 = 1024;

/// What became of one candidate.
#[derive(Debug, Clone)]
pub struct Validation {
    pub outcome: AttemptOutcome,
    /// The evidence in words, for the report.
    pub reason: String,
    /// Head against the candidate, when it got that far.
    pub measurement: Option<Measurement>,
    /// Mean change of the regressed benchmarks against head, in percent (negative: faster).
    pub change_vs_head_pct: Option<f64>,
}

impl Validation {
    fn rejected(outcome: AttemptOutcome, reason: impl Into<String>) -> Validation {
        Validation {
            outcome,
            reason: reason.into(),
            measurement: None,
            change_vs_head_pct: None,
        }
    }

    pub fn accepted(&self) -> bool {
        self.outcome == AttemptOutcome::Accepted
    }
}

/// A checkout at head where candidates are applied one at a time.
pub struct CandidateSite {
    pub site: Site,
    /// Files written by the current candidate, to undo before the next one.
    written: BTreeSet<PathBuf>,
}

impl CandidateSite {
    pub fn new(site: Site) -> CandidateSite {
        CandidateSite {
            site,
            written: BTreeSet::new(),
        }
    }

    /// Puts the checkout back to head: tracked files restored, files a candidate created
    /// removed; `target/` is kept so the next build is incremental.
    pub fn reset(&mut self) -> Result<(), MeasureError> {
        self.site
            .checkout
            .restore()
            .map_err(MeasureError::from_git)?;
        let repo = self.site.checkout.open().map_err(MeasureError::from_git)?;
        let tree = repo.head().and_then(|h| h.peel_to_tree()).ok();
        for rel in std::mem::take(&mut self.written) {
            let full = self.site.dir().join(&rel);
            let tracked = tree.as_ref().is_some_and(|t| t.get_path(&rel).is_ok());
            if !tracked && full.exists() {
                let _ = std::fs::remove_file(&full);
            }
        }
        self.site.mark_dirty();
        Ok(())
    }

    /// Resets the checkout and writes the candidate's files.
    pub fn apply(&mut self, candidate: &Candidate) -> Result<(), MeasureError> {
        self.reset()?;
        write_files(self.site.dir(), &candidate.files)
            .map_err(|e| MeasureError::Patch(e.to_string()))?;
        self.written = candidate.files.keys().cloned().collect();
        Ok(())
    }
}

/// Runs the whole gate for one candidate. Errors are reserved for faults of the run itself
/// (cancellation, the runner); a candidate that fails is a `Validation` with the reason.
pub fn validate(
    ctx: &Context<'_>,
    head: &mut Site,
    cand: &mut CandidateSite,
    candidate: &Candidate,
    regressed: &[String],
    fix_paths: &[String],
    test_command: &str,
) -> Result<Validation, MeasureError> {
    if let Err(refused) = guard(candidate, fix_paths) {
        return Ok(Validation::rejected(
            AttemptOutcome::PathRefused,
            refused.to_string(),
        ));
    }
    cand.apply(candidate)?;
    ctx.progress
        .stage(&format!("validating: {}", candidate.description));
    match cand.site.build(ctx) {
        Ok(()) => {}
        Err(MeasureError::BuildFailed { tail, status, .. }) => {
            return Ok(Validation::rejected(
                AttemptOutcome::BuildFailed,
                format!("does not build ({status}): {}", last_line(&tail)),
            ));
        }
        Err(e) => return Err(e),
    }
    let tests = cand.site.run(ctx, test_command)?;
    if !tests.success() {
        return Ok(Validation::rejected(
            AttemptOutcome::TestsFailed,
            format!(
                "`{test_command}` fails ({}): {}",
                tests.status_text(),
                last_line(&tests.tail(15))
            ),
        ));
    }
    let measurement = match measure::measure(ctx, head, &mut cand.site) {
        Ok(m) => m,
        Err(MeasureError::BenchFailed { status, tail, .. }) => {
            return Ok(Validation::rejected(
                AttemptOutcome::BuildFailed,
                format!(
                    "the bench command fails with the patch ({status}): {}",
                    last_line(&tail)
                ),
            ));
        }
        Err(e) => return Err(e),
    };
    let verdict = judge(measurement, regressed, ctx.params.threshold_pct);
    if verdict.outcome != AttemptOutcome::RegressedOther {
        return Ok(verdict);
    }
    // Another benchmark got slower. Code layout shifts and slow stretches of a shared machine
    // can do that to an untouched benchmark for one round; a real side effect does it again.
    // So the candidate is rejected only when an independent round agrees.
    ctx.progress
        .stage("re-measuring: another benchmark looked slower");
    let again = match measure::measure(ctx, head, &mut cand.site) {
        Ok(m) => judge(m, regressed, ctx.params.threshold_pct),
        Err(MeasureError::BenchFailed { .. }) => return Ok(verdict),
        Err(e) => return Err(e),
    };
    if again.outcome == AttemptOutcome::RegressedOther {
        return Ok(Validation {
            reason: format!(
                "{} (and again in a second round: {})",
                verdict.reason, again.reason
            ),
            ..again
        });
    }
    Ok(again)
}

/// The verdict on a measured candidate (head is side `a`, the candidate side `b`).
pub fn judge(measurement: Measurement, regressed: &[String], threshold_pct: f64) -> Validation {
    let find = |name: &str| measurement.benchmarks.iter().find(|b| b.name == name);
    let mut changes = Vec::new();
    for name in regressed {
        let Some(bench) = find(name) else {
            return Validation {
                outcome: AttemptOutcome::NotFaster,
                reason: format!("{name}: no result with the patch"),
                measurement: Some(measurement),
                change_vs_head_pct: None,
            };
        };
        if let Some(change) = bench.change_pct {
            changes.push(change);
        }
        if bench.verdict != BenchVerdict::Improved {
            let change_vs_head_pct = mean(&changes);
            return Validation {
                outcome: AttemptOutcome::NotFaster,
                reason: format!(
                    "{}, not significantly faster than head",
                    describe_change(bench)
                ),
                measurement: Some(measurement),
                change_vs_head_pct,
            };
        }
    }
    let change_vs_head_pct = mean(&changes);
    if let Some(worse) = measurement
        .benchmarks
        .iter()
        .find(|b| b.verdict == BenchVerdict::Regressed && !regressed.contains(&b.name))
    {
        let reason = format!("{} slower than head", describe_change(worse));
        return Validation {
            outcome: AttemptOutcome::RegressedOther,
            reason,
            measurement: Some(measurement),
            change_vs_head_pct,
        };
    }
    if let (Some(head_rss), Some(cand_rss)) = (measurement.a.peak_rss(), measurement.b.peak_rss()) {
        let allowed = head_rss as f64 * (1.0 + threshold_pct / 100.0);
        if cand_rss as f64 > allowed && cand_rss.saturating_sub(head_rss) > MEMORY_SLACK_KIB {
            let reason = format!(
                "peak memory grows from {} to {}",
                format_kib(head_rss),
                format_kib(cand_rss)
            );
            return Validation {
                outcome: AttemptOutcome::RegressedOther,
                reason,
                measurement: Some(measurement),
                change_vs_head_pct,
            };
        }
    }
    let reason = regressed
        .iter()
        .filter_map(|n| find(n))
        .map(|b| format!("{} against head", describe_change(b)))
        .collect::<Vec<_>>()
        .join("; ");
    Validation {
        outcome: AttemptOutcome::Accepted,
        reason,
        measurement: Some(measurement),
        change_vs_head_pct,
    }
}

/// `name: -31.2% [-33.0%, -29.5%]`.
pub fn describe_change(bench: &BenchmarkReport) -> String {
    match (
        bench.change_pct,
        bench.change_ci_low_pct,
        bench.change_ci_high_pct,
    ) {
        (Some(c), Some(lo), Some(hi)) => {
            format!(
                "{}: {} {}",
                bench.name,
                format_pct(c),
                format_pct_interval(lo, hi)
            )
        }
        _ => format!("{}: not compared", bench.name),
    }
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn last_line(text: &str) -> String {
    let interesting = text
        .lines()
        .rev()
        .find(|l| l.contains("error") || l.contains("panicked") || l.contains("FAILED"))
        .or_else(|| text.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("");
    interesting.trim().chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::Samples;

    fn bench(name: &str, change: f64, verdict: BenchVerdict) -> BenchmarkReport {
        BenchmarkReport {
            name: name.into(),
            unit: "ns".into(),
            base: None,
            head: None,
            change_pct: Some(change),
            change_ci_low_pct: Some(change - 2.0),
            change_ci_high_pct: Some(change + 2.0),
            p_value: Some(0.001),
            verdict,
        }
    }

    fn measurement(benchmarks: Vec<BenchmarkReport>, rss: (u64, u64)) -> Measurement {
        let side = |kib| Samples {
            values: Default::default(),
            peak_rss_kib: vec![kib],
        };
        Measurement {
            a: side(rss.0),
            b: side(rss.1),
            benchmarks,
            pairs: 6,
            budget_exhausted: false,
        }
    }

    #[test]
    fn accepted_when_regressed_benchmarks_improve_and_nothing_else_worsens() {
        let m = measurement(
            vec![
                bench("parse", -40.0, BenchVerdict::Improved),
                bench("other", 0.5, BenchVerdict::Unchanged),
            ],
            (20_000, 20_100),
        );
        let v = judge(m, &["parse".to_string()], 5.0);
        assert_eq!(v.outcome, AttemptOutcome::Accepted, "{}", v.reason);
        assert_eq!(v.change_vs_head_pct, Some(-40.0));
    }

    #[test]
    fn not_faster_when_a_regressed_benchmark_does_not_improve() {
        let m = measurement(
            vec![bench("parse", -3.0, BenchVerdict::Inconclusive)],
            (1, 1),
        );
        let v = judge(m, &["parse".to_string()], 5.0);
        assert_eq!(v.outcome, AttemptOutcome::NotFaster);
        assert!(v.reason.contains("parse: -3.0%"), "{}", v.reason);
    }

    #[test]
    fn rejected_when_another_benchmark_gets_slower() {
        let m = measurement(
            vec![
                bench("parse", -40.0, BenchVerdict::Improved),
                bench("emit", 12.0, BenchVerdict::Regressed),
            ],
            (1, 1),
        );
        let v = judge(m, &["parse".to_string()], 5.0);
        assert_eq!(v.outcome, AttemptOutcome::RegressedOther);
        assert!(v.reason.contains("emit: +12.0%"), "{}", v.reason);
    }

    #[test]
    fn rejected_when_it_trades_time_for_memory() {
        let m = measurement(
            vec![bench("parse", -40.0, BenchVerdict::Improved)],
            (20_000, 60_000),
        );
        let v = judge(m, &["parse".to_string()], 5.0);
        assert_eq!(v.outcome, AttemptOutcome::RegressedOther);
        assert!(v.reason.contains("peak memory"), "{}", v.reason);
    }
}
