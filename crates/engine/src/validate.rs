//! The validation gate: a candidate patch counts only if it stays inside `[fix] paths`, builds,
//! passes the test command, makes every regressed benchmark significantly faster than head,
//! and leaves no benchmark slower, nor the run hungrier for memory, than the slower (hungrier)
//! of base and head beyond the threshold. A candidate may give back part of an improvement the
//! culprit made elsewhere (a benchmark faster at head than at base): that is reported, not
//! refused.

use std::collections::{BTreeMap, BTreeSet};
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
    /// Benchmarks the candidate made significantly slower than head while staying within the
    /// slower of base and head: improvements of the culprit it gives back.
    pub given_back: Vec<GivenBack>,
}

/// A benchmark that was faster at head than at base and that the candidate slows down again,
/// within what the gate allows.
#[derive(Debug, Clone, PartialEq)]
pub struct GivenBack {
    pub name: String,
    /// The candidate against head, in percent (positive: slower).
    pub vs_head_pct: f64,
    /// The candidate against base, in percent, from head's change against base.
    pub vs_base_pct: f64,
}

impl GivenBack {
    /// `lookup: +9.4% against head, still -3.6% against base`.
    pub fn describe(&self) -> String {
        let still = if self.vs_base_pct <= 0.0 {
            "still "
        } else {
            ""
        };
        format!(
            "{}: {} against head, {still}{} against base",
            self.name,
            format_pct(self.vs_head_pct),
            format_pct(self.vs_base_pct)
        )
    }
}

/// What a candidate is held against: the regressed benchmarks it must speed up, and how the
/// side it is measured against (head, or head with an earlier culprit's fix) compares with
/// base, so that the gate can allow the slower of the two.
#[derive(Debug, Clone, Default)]
pub struct Reference {
    /// The reference side's change against base per benchmark, in percent (positive: slower).
    pub vs_base_pct: BTreeMap<String, f64>,
    /// Peak memory of the bench runs at base, KiB.
    pub base_peak_rss_kib: Option<u64>,
}

impl Reference {
    /// The largest change against the reference side the gate allows for `name`, in percent:
    /// up to the slower of base and the reference, plus the threshold.
    pub fn allowed_vs_reference_pct(&self, name: &str, threshold_pct: f64) -> f64 {
        let limit = 1.0 + threshold_pct / 100.0;
        match self.vs_base_pct.get(name) {
            // Faster than base: base / reference = 1 / (1 + change).
            Some(&change) if change < 0.0 => (limit / (1.0 + change / 100.0) - 1.0) * 100.0,
            _ => threshold_pct,
        }
    }

    /// The candidate's change against base, from its change against the reference.
    fn vs_base_pct(&self, name: &str, vs_reference_pct: f64) -> Option<f64> {
        let change = self.vs_base_pct.get(name)?;
        Some(((1.0 + change / 100.0) * (1.0 + vs_reference_pct / 100.0) - 1.0) * 100.0)
    }
}

/// Everything a candidate is validated against besides its own files.
pub struct Gate<'a> {
    pub regressed: &'a [String],
    pub fix_paths: &'a [String],
    pub test_command: &'a str,
    pub reference: &'a Reference,
}

impl Validation {
    fn rejected(outcome: AttemptOutcome, reason: impl Into<String>) -> Validation {
        Validation {
            outcome,
            reason: reason.into(),
            measurement: None,
            change_vs_head_pct: None,
            given_back: Vec::new(),
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
    gate: &Gate<'_>,
) -> Result<Validation, MeasureError> {
    let test_command = gate.test_command;
    if let Err(refused) = guard(candidate, gate.fix_paths) {
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
    let threshold = ctx.params.threshold_pct;
    let verdict = judge(measurement, gate.regressed, gate.reference, threshold);
    if verdict.outcome != AttemptOutcome::RegressedOther {
        return Ok(verdict);
    }
    // Another benchmark got slower. Code layout shifts and slow stretches of a shared machine
    // can do that to an untouched benchmark for one round; a real side effect does it again.
    // So the candidate is rejected only when an independent round agrees.
    ctx.progress
        .stage("re-measuring: another benchmark looked slower");
    let again = match measure::measure(ctx, head, &mut cand.site) {
        Ok(m) => judge(m, gate.regressed, gate.reference, threshold),
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

/// The verdict on a measured candidate (the reference, head, is side `a`; the candidate side
/// `b`).
pub fn judge(
    measurement: Measurement,
    regressed: &[String],
    reference: &Reference,
    threshold_pct: f64,
) -> Validation {
    let find = |name: &str| measurement.benchmarks.iter().find(|b| b.name == name);
    let mut changes = Vec::new();
    let verdict = |outcome, reason: String, changes: &[f64], given_back| Validation {
        outcome,
        reason,
        change_vs_head_pct: mean(changes),
        given_back,
        measurement: None,
    };
    let mut result = None;
    for name in regressed {
        let Some(bench) = find(name) else {
            result = Some(verdict(
                AttemptOutcome::NotFaster,
                format!("{name}: no result with the patch"),
                &[],
                Vec::new(),
            ));
            break;
        };
        if let Some(change) = bench.change_pct {
            changes.push(change);
        }
        if bench.verdict != BenchVerdict::Improved {
            result = Some(verdict(
                AttemptOutcome::NotFaster,
                format!(
                    "{}, not significantly faster than head",
                    describe_change(bench)
                ),
                &changes,
                Vec::new(),
            ));
            break;
        }
    }
    let result = result.unwrap_or_else(|| {
        let (too_slow, given_back) =
            side_effects(&measurement, regressed, reference, threshold_pct);
        if let Some(reason) =
            too_slow.or_else(|| memory_growth(&measurement, reference, threshold_pct))
        {
            return verdict(AttemptOutcome::RegressedOther, reason, &changes, given_back);
        }
        let mut reason = regressed
            .iter()
            .filter_map(|n| find(n))
            .map(|b| format!("{} against head", describe_change(b)))
            .collect::<Vec<_>>()
            .join("; ");
        for g in &given_back {
            reason.push_str(&format!("; gives back {}", g.describe()));
        }
        verdict(AttemptOutcome::Accepted, reason, &changes, given_back)
    });
    Validation {
        measurement: Some(measurement),
        ..result
    }
}

/// The other benchmarks the candidate made significantly slower than head: the first that
/// ends up beyond the slower of base and head (with the threshold), in words, and those that
/// stay within it (improvements of the culprit given back).
fn side_effects(
    measurement: &Measurement,
    regressed: &[String],
    reference: &Reference,
    threshold_pct: f64,
) -> (Option<String>, Vec<GivenBack>) {
    let mut given_back = Vec::new();
    for b in measurement
        .benchmarks
        .iter()
        .filter(|b| b.verdict == BenchVerdict::Regressed && !regressed.contains(&b.name))
    {
        let allowed = reference.allowed_vs_reference_pct(&b.name, threshold_pct);
        let (Some(change), Some(low)) = (b.change_pct, b.change_ci_low_pct) else {
            continue;
        };
        if low > allowed {
            let limit = if allowed > threshold_pct {
                format!(
                    "beyond base's speed by more than the {} threshold",
                    format_pct(threshold_pct)
                )
            } else {
                "slower than head".to_string()
            };
            return (Some(format!("{} {limit}", describe_change(b))), given_back);
        }
        if let Some(vs_base_pct) = reference.vs_base_pct(&b.name, change) {
            given_back.push(GivenBack {
                name: b.name.clone(),
                vs_head_pct: change,
                vs_base_pct,
            });
        }
    }
    (None, given_back)
}

/// Why the candidate's peak memory is too high: above the larger of base's and head's, plus
/// the threshold and a slack for allocator noise.
fn memory_growth(
    measurement: &Measurement,
    reference: &Reference,
    threshold_pct: f64,
) -> Option<String> {
    let head_rss = measurement.a.peak_rss()?;
    let cand_rss = measurement.b.peak_rss()?;
    let ceiling = reference.base_peak_rss_kib.unwrap_or(0).max(head_rss);
    let allowed = ceiling as f64 * (1.0 + threshold_pct / 100.0);
    (cand_rss as f64 > allowed && cand_rss.saturating_sub(ceiling) > MEMORY_SLACK_KIB).then(|| {
        format!(
            "peak memory grows from {} to {}",
            format_kib(ceiling),
            format_kib(cand_rss)
        )
    })
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
        let v = judge(m, &["parse".to_string()], &Reference::default(), 5.0);
        assert_eq!(v.outcome, AttemptOutcome::Accepted, "{}", v.reason);
        assert_eq!(v.change_vs_head_pct, Some(-40.0));
    }

    #[test]
    fn not_faster_when_a_regressed_benchmark_does_not_improve() {
        let m = measurement(
            vec![bench("parse", -3.0, BenchVerdict::Inconclusive)],
            (1, 1),
        );
        let v = judge(m, &["parse".to_string()], &Reference::default(), 5.0);
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
        let v = judge(m, &["parse".to_string()], &Reference::default(), 5.0);
        assert_eq!(v.outcome, AttemptOutcome::RegressedOther);
        assert!(v.reason.contains("emit: +12.0%"), "{}", v.reason);
    }

    #[test]
    fn rejected_when_it_trades_time_for_memory() {
        let m = measurement(
            vec![bench("parse", -40.0, BenchVerdict::Improved)],
            (20_000, 60_000),
        );
        let v = judge(m, &["parse".to_string()], &Reference::default(), 5.0);
        assert_eq!(v.outcome, AttemptOutcome::RegressedOther);
        assert!(v.reason.contains("peak memory"), "{}", v.reason);
    }

    /// Head made `lookup` 11.9% faster than base; the fix gives back 9.4% of it against head,
    /// which leaves it faster than base: allowed, and reported.
    fn lookup_improved_at_head() -> Reference {
        Reference {
            vs_base_pct: BTreeMap::from([
                ("lookup".to_string(), -11.9),
                ("parse".to_string(), 60.0),
            ]),
            base_peak_rss_kib: Some(30_000),
        }
    }

    #[test]
    fn giving_back_part_of_an_improvement_is_accepted_and_reported() {
        let m = measurement(
            vec![
                bench("parse", -81.0, BenchVerdict::Improved),
                bench("lookup", 9.4, BenchVerdict::Regressed),
            ],
            (20_000, 20_000),
        );
        let v = judge(m, &["parse".to_string()], &lookup_improved_at_head(), 5.0);
        assert_eq!(v.outcome, AttemptOutcome::Accepted, "{}", v.reason);
        assert_eq!(v.given_back.len(), 1);
        let g = &v.given_back[0];
        assert_eq!(g.name, "lookup");
        // 0.881 * 1.094 = 0.9638: still 3.6% faster than base.
        assert!((g.vs_base_pct - -3.62).abs() < 0.01, "{g:?}");
        assert!(
            v.reason
                .contains("gives back lookup: +9.4% against head, still -3.6% against base"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn slower_than_base_beyond_the_threshold_is_refused_even_after_an_improvement() {
        // 0.881 * 1.30 = 1.145: 14.5% slower than base, beyond the 5% threshold.
        let m = measurement(
            vec![
                bench("parse", -81.0, BenchVerdict::Improved),
                bench("lookup", 30.0, BenchVerdict::Regressed),
            ],
            (20_000, 20_000),
        );
        let reference = lookup_improved_at_head();
        assert!((reference.allowed_vs_reference_pct("lookup", 5.0) - 19.18).abs() < 0.01);
        let v = judge(m, &["parse".to_string()], &reference, 5.0);
        assert_eq!(v.outcome, AttemptOutcome::RegressedOther, "{}", v.reason);
        assert!(v.reason.contains("beyond base's speed"), "{}", v.reason);
    }

    #[test]
    fn memory_up_to_the_larger_of_base_and_head_is_allowed() {
        // Head used 20 MB, base 30 MB: a fix at 31 MB is within 5% of base.
        let m = measurement(
            vec![bench("parse", -40.0, BenchVerdict::Improved)],
            (20_000, 31_000),
        );
        let v = judge(
            m.clone(),
            &["parse".to_string()],
            &lookup_improved_at_head(),
            5.0,
        );
        assert_eq!(v.outcome, AttemptOutcome::Accepted, "{}", v.reason);
        let v = judge(m, &["parse".to_string()], &Reference::default(), 5.0);
        assert_eq!(v.outcome, AttemptOutcome::RegressedOther, "{}", v.reason);
    }
}
