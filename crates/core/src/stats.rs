//! Deciding whether head is slower than base, benchmark by benchmark (DESIGN.md, "Deciding").
//!
//! Input: one value per run of the bench command on each side (lower is better), taken A B A B
//! so that drift hits both sides. Output: medians with bootstrap intervals, the change of the
//! median with a bootstrap interval of the ratio of medians, a two-sided Mann-Whitney U p-value
//! and a verdict:
//!
//! - **regressed**: the whole interval lies above `+threshold_pct`, `p < alpha`, and the low
//!   quantiles agree (their change is above `low_quantile_agreement` times the threshold);
//! - **improved**: the mirror image;
//! - **unchanged**: the whole interval lies inside `(-threshold_pct, +threshold_pct)`, and so
//!   does the wider interval at `equivalence_confidence`;
//! - **inconclusive**: anything else (the runner asks for more pairs, see [`next_step`]).
//!
//! ## Why the low quantile
//!
//! On shared virtual machines the noise is one-sided: for stretches of a run memory-heavy code
//! runs up to ~1.6x slower, never faster. A stretch that lands on one side's runs moves that
//! side's median but barely its low quantile (the 25th percentile), which tracks the machine's
//! undisturbed speed. A real regression moves both. So a regression (or improvement) also needs
//! the low quantiles to move the same way by at least half the threshold; half, not all of it,
//! because the low quantile of a handful of runs is noisier than the median and would otherwise
//! cost power on real changes.
//!
//! ## Defaults, and why (checked by `tests/decision_simulation.rs`)
//!
//! The targets: with 3% run-to-run noise, identical sides are called regressed in under 1% of
//! trials, and a 10% slowdown is called regressed within 6 pairs in at least 95% of trials, the
//! whole sequential procedure included. The second target is the hard one: the median of 4 to
//! 6 runs moves by about 2.5% (ratio of two such medians), so the interval has only a 5-point
//! margin (10% true change, 5% threshold) to clear. Measured over 1,000 trials per setting
//! (seeds 2 to 7), a 10% slowdown found within 6 pairs:
//!
//! | confidence | found within 6 pairs | identical sides called regressed |
//! | --- | --- | --- |
//! | 0.80 | 89% | 0.0% |
//! | 0.70 | 94% | 0.1% |
//! | 0.60 | 94.5% to 96.5% | 0.0% to 0.2% |
//! | 0.50 | 96.4% to 97.5% | 0.0% to 0.2% |
//!
//! - `confidence = 0.50`: the interval is the central half of the bootstrap distribution of the
//!   ratio (its quartiles). It is not a 95% interval and reports must say so. It is a
//!   deliberately narrow band because it is never used alone: it must clear the threshold (not
//!   zero), the rank test must agree (`p < alpha`), the low quantiles must agree, and DESIGN.md
//!   asks for a second, independent round before acting. Together these keep false regressions
//!   on identical sides at 0.2% or less, while any wider band missed the power target.
//! - `alpha = 0.05`: reachable by the exact rank test from 4 pairs (its smallest two-sided p is
//!   2/70 = 0.029 at 4 v 4). In the simulations it never was the binding condition; it guards
//!   against a skewed bootstrap on few runs.
//! - `low_quantile = 0.25`, `low_quantile_agreement = 0.5`: see above; half the threshold so
//!   that the noisier low quantile costs no power on real changes.
//! - `resamples = 2000`: the quartiles of 2,000 draws move by well under 0.1% between seeds for
//!   2 x 100 runs, and a comparison of 2 x 100 runs costs a few milliseconds.
//! - [`SequentialPlan::default`]: `min_pairs = 4` (the first point where the rank test can say
//!   anything), `max_pairs = 12` (enough for noisy benchmarks to settle; identical sides are
//!   settled as unchanged in about 97% of trials, after 6 pairs on average).
//! - `equivalence_confidence = 0.90`: with the 50% interval alone, a real 10% slowdown was
//!   called unchanged (and sampling stopped) in 0.3% of trials; with the 90% interval, never in
//!   1,000. The price is about two more pairs on unchanged benchmarks.
//!
//! With one-sided slow outliers (10% of runs 1.3x to 1.6x slower, on both sides) identical
//! sides are called regressed in 0.3% to 0.7% of trials; with outliers on head only, in 0.5% to
//! 1.2%; a true 2% change (below the 5% threshold) is called regressed in 2% to 3%. The engine
//! should confirm a regression with a second round before bisecting and patching.
//!
//! Everything is seeded: the same samples and the same seed give the same answer.

use crate::report::{BenchVerdict, BenchmarkReport, SideSummary};

/// What the decision depends on besides the samples.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionParams {
    /// Smallest change worth acting on, in percent (the `gate.threshold_pct`).
    pub threshold_pct: f64,
    /// Largest Mann-Whitney p-value that counts as significant.
    pub alpha: f64,
    /// Two-sided confidence level of the bootstrap intervals (0.50: the quartiles of the
    /// bootstrap distribution; see the module docs for why).
    pub confidence: f64,
    /// Bootstrap resamples per side.
    pub resamples: usize,
    /// Seed of the bootstrap; same samples and seed give the same answer.
    pub seed: u64,
    /// The low quantile reported beside the median and checked for agreement (0.25).
    pub low_quantile: f64,
    /// Confidence of the wider interval that must lie inside the threshold band for
    /// "unchanged" (0.90): stopping early on a real regression costs more than a few more
    /// pairs on a quiet benchmark.
    pub equivalence_confidence: f64,
    /// A regression (improvement) also needs the low quantile to move by more than this share
    /// of the threshold, in the same direction (0.5).
    pub low_quantile_agreement: f64,
}

impl DecisionParams {
    pub const DEFAULT_ALPHA: f64 = 0.05;
    pub const DEFAULT_CONFIDENCE: f64 = 0.50;
    pub const DEFAULT_RESAMPLES: usize = 2000;
    pub const DEFAULT_SEED: u64 = 0x5EED_F1CE_2024_0001;
    pub const DEFAULT_LOW_QUANTILE: f64 = 0.25;
    pub const DEFAULT_LOW_QUANTILE_AGREEMENT: f64 = 0.5;
    pub const DEFAULT_EQUIVALENCE_CONFIDENCE: f64 = 0.90;

    /// The documented defaults (see the module docs) around a threshold in percent.
    pub fn with_threshold(threshold_pct: f64) -> Self {
        DecisionParams {
            threshold_pct,
            alpha: Self::DEFAULT_ALPHA,
            confidence: Self::DEFAULT_CONFIDENCE,
            resamples: Self::DEFAULT_RESAMPLES,
            seed: Self::DEFAULT_SEED,
            low_quantile: Self::DEFAULT_LOW_QUANTILE,
            low_quantile_agreement: Self::DEFAULT_LOW_QUANTILE_AGREEMENT,
            equivalence_confidence: Self::DEFAULT_EQUIVALENCE_CONFIDENCE,
        }
    }

    /// The same parameters with another seed, e.g. one derived from the benchmark's name so
    /// that benchmarks do not share their resampling.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

impl DecisionParams {
    /// The same parameters with the seed mixed with the benchmark's name (FNV-1a), so that
    /// each benchmark gets its own reproducible resampling.
    pub fn for_benchmark(self, name: &str) -> Self {
        let hash = name.bytes().fold(0xCBF2_9CE4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
        });
        let seed = self.seed ^ hash;
        self.with_seed(seed)
    }
}

impl Default for DecisionParams {
    /// [`DecisionParams::with_threshold`] with DESIGN.md's default threshold of 5%.
    fn default() -> Self {
        Self::with_threshold(crate::config::DEFAULT_THRESHOLD_PCT)
    }
}

/// One side's samples, summarized. Fields are NaN when `n` is 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub median: f64,
    /// Bootstrap interval of the median at `params.confidence`.
    pub ci_low: f64,
    pub ci_high: f64,
    pub n: usize,
    /// The `params.low_quantile` quantile (linear interpolation between order statistics).
    pub low_quantile: f64,
}

impl Summary {
    /// The report's view of this side.
    pub fn to_side_summary(&self, peak_rss_kib: Option<u64>) -> SideSummary {
        SideSummary {
            median: self.median,
            ci_low: self.ci_low,
            ci_high: self.ci_high,
            samples: self.n,
            peak_rss_kib,
        }
    }
}

/// Base against head for one benchmark. Percentages are NaN when undefined (see `reason`).
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub base: Summary,
    pub head: Summary,
    /// `(head median / base median - 1) x 100`: positive means head is slower.
    pub change_pct: f64,
    /// Bootstrap interval of that change (ratio of medians, sides resampled independently).
    pub ci_low_pct: f64,
    pub ci_high_pct: f64,
    /// The same change computed on the low quantiles.
    pub low_quantile_change_pct: f64,
    /// Two-sided Mann-Whitney U p-value.
    pub p_value: f64,
    pub verdict: BenchVerdict,
    /// Why the verdict is what it is when the numbers alone do not say (degenerate input,
    /// disagreement between the tests), for the report's reader.
    pub reason: Option<String>,
}

impl Comparison {
    /// The report's row for this benchmark (non-finite figures become `null`).
    pub fn to_report(
        &self,
        name: &str,
        unit: &str,
        base_peak_rss_kib: Option<u64>,
        head_peak_rss_kib: Option<u64>,
    ) -> BenchmarkReport {
        let finite = |x: f64| x.is_finite().then_some(x);
        let side = |s: &Summary, rss| (s.n > 0).then(|| s.to_side_summary(rss));
        BenchmarkReport {
            name: name.to_string(),
            unit: unit.to_string(),
            base: side(&self.base, base_peak_rss_kib),
            head: side(&self.head, head_peak_rss_kib),
            change_pct: finite(self.change_pct),
            change_ci_low_pct: finite(self.ci_low_pct),
            change_ci_high_pct: finite(self.ci_high_pct),
            p_value: finite(self.p_value),
            verdict: self.verdict,
        }
    }
}

/// Median, bootstrap interval of the median and low quantile of one side.
pub fn summarize(samples: &[f64], params: &DecisionParams) -> Summary {
    let mut rng = Xoshiro256::new(side_seed(params.seed, Side::Base));
    summarize_with(samples, params, &mut rng).0
}

/// Base against head; see the module docs for the rules.
pub fn compare(base: &[f64], head: &[f64], params: &DecisionParams) -> Comparison {
    let mut base_rng = Xoshiro256::new(side_seed(params.seed, Side::Base));
    let mut head_rng = Xoshiro256::new(side_seed(params.seed, Side::Head));
    let (base_summary, base_boot) = summarize_with(base, params, &mut base_rng);
    let (head_summary, head_boot) = summarize_with(head, params, &mut head_rng);
    let mut cmp = Comparison {
        base: base_summary,
        head: head_summary,
        change_pct: f64::NAN,
        ci_low_pct: f64::NAN,
        ci_high_pct: f64::NAN,
        low_quantile_change_pct: f64::NAN,
        p_value: f64::NAN,
        verdict: BenchVerdict::Inconclusive,
        reason: None,
    };
    if let Some(reason) = invalid_input(base, head) {
        cmp.reason = Some(reason);
        return cmp;
    }
    cmp.p_value = mann_whitney_p(base, head);
    if is_constant(base) && is_constant(head) && base.first() == head.first() {
        cmp.change_pct = 0.0;
        cmp.ci_low_pct = 0.0;
        cmp.ci_high_pct = 0.0;
        cmp.low_quantile_change_pct = 0.0;
        cmp.verdict = BenchVerdict::Unchanged;
        cmp.reason = Some("every run of both sides gave the same value".to_string());
        return cmp;
    }
    if cmp.base.median <= 0.0 || cmp.base.low_quantile <= 0.0 {
        cmp.reason = Some(
            "the base median or low quantile is 0: a relative change is undefined".to_string(),
        );
        return cmp;
    }
    cmp.change_pct = pct(cmp.head.median / cmp.base.median);
    cmp.low_quantile_change_pct = pct(cmp.head.low_quantile / cmp.base.low_quantile);
    let mut ratios: Vec<f64> = base_boot
        .iter()
        .zip(&head_boot)
        .map(|(b, h)| h / b)
        .filter(|r| !r.is_nan())
        .collect();
    ratios.sort_unstable_by(f64::total_cmp);
    let (lo, hi) = percentile_interval(&ratios, params.confidence);
    cmp.ci_low_pct = pct(lo);
    cmp.ci_high_pct = pct(hi);
    let (eq_lo, eq_hi) = percentile_interval(&ratios, params.equivalence_confidence);
    let (verdict, reason) = decide(&cmp, (pct(eq_lo), pct(eq_hi)), params);
    cmp.verdict = verdict;
    cmp.reason = reason;
    cmp
}

fn pct(ratio: f64) -> f64 {
    (ratio - 1.0) * 100.0
}

/// The verdict rules of the module docs, on a comparison whose figures are all defined.
/// `equivalence` is the interval at `params.equivalence_confidence`, in percent.
fn decide(
    cmp: &Comparison,
    equivalence: (f64, f64),
    params: &DecisionParams,
) -> (BenchVerdict, Option<String>) {
    let threshold = params.threshold_pct;
    let significant = cmp.p_value < params.alpha;
    let agreement = threshold * params.low_quantile_agreement;
    let agree_up = cmp.low_quantile_change_pct > agreement;
    let agree_down = cmp.low_quantile_change_pct < -agreement;
    if cmp.ci_low_pct > threshold {
        return match (significant, agree_up) {
            (true, true) => (BenchVerdict::Regressed, None),
            (false, _) => (
                BenchVerdict::Inconclusive,
                Some(format!(
                    "slower beyond the threshold, but p = {:.3}",
                    cmp.p_value
                )),
            ),
            (true, false) => (
                BenchVerdict::Inconclusive,
                Some(format!(
                    "the median is slower but the fast runs are not ({:+.1}%): likely machine \
                     noise",
                    cmp.low_quantile_change_pct
                )),
            ),
        };
    }
    if cmp.ci_high_pct < -threshold {
        return match (significant, agree_down) {
            (true, true) => (BenchVerdict::Improved, None),
            (false, _) => (
                BenchVerdict::Inconclusive,
                Some(format!(
                    "faster beyond the threshold, but p = {:.3}",
                    cmp.p_value
                )),
            ),
            (true, false) => (
                BenchVerdict::Inconclusive,
                Some(format!(
                    "the median is faster but the fast runs are not ({:+.1}%): likely machine \
                     noise at base",
                    cmp.low_quantile_change_pct
                )),
            ),
        };
    }
    if equivalence.0 > -threshold && equivalence.1 < threshold {
        return (BenchVerdict::Unchanged, None);
    }
    if cmp.ci_low_pct > -threshold && cmp.ci_high_pct < threshold {
        return (
            BenchVerdict::Inconclusive,
            Some(format!(
                "probably unchanged, but the {:.0}% interval [{:+.1}%, {:+.1}%] reaches the \
                 threshold",
                params.equivalence_confidence * 100.0,
                equivalence.0,
                equivalence.1
            )),
        );
    }
    (
        BenchVerdict::Inconclusive,
        Some("the interval straddles the threshold".to_string()),
    )
}

/// Why these samples cannot be compared at all, if they cannot.
fn invalid_input(base: &[f64], head: &[f64]) -> Option<String> {
    for (side, samples) in [("base", base), ("head", head)] {
        if samples.len() < 2 {
            return Some(format!(
                "{side} has {} run(s); at least 2 are needed",
                samples.len()
            ));
        }
        if let Some(bad) = samples.iter().find(|x| !x.is_finite() || **x < 0.0) {
            return Some(format!("{side} has an invalid value ({bad})"));
        }
    }
    None
}

fn is_constant(samples: &[f64]) -> bool {
    samples.windows(2).all(|w| w[0] == w[1])
}

#[derive(Clone, Copy)]
enum Side {
    Base,
    Head,
}

/// Independent streams for the two sides (the same indices on both would pair the runs).
fn side_seed(seed: u64, side: Side) -> u64 {
    match side {
        Side::Base => seed,
        Side::Head => splitmix64(&mut (seed ^ 0xA5A5_5A5A_C3C3_3C3C)),
    }
}

/// The summary and the bootstrap distribution of the median (empty when n < 1 or the
/// samples are not all finite).
fn summarize_with(
    samples: &[f64],
    params: &DecisionParams,
    rng: &mut Xoshiro256,
) -> (Summary, Vec<f64>) {
    let n = samples.len();
    let nan = Summary {
        median: f64::NAN,
        ci_low: f64::NAN,
        ci_high: f64::NAN,
        n,
        low_quantile: f64::NAN,
    };
    if n == 0 || samples.iter().any(|x| x.is_nan()) {
        return (nan, Vec::new());
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let median = quantile_sorted(&sorted, 0.5);
    let low_quantile = quantile_sorted(&sorted, params.low_quantile);
    // Kept in resample order: `compare` pairs base draw b with head draw b, an independent
    // pairing because the sides use independent streams (sorted order would pair low with low).
    let boot = bootstrap_medians(samples, params.resamples.max(1), rng);
    let mut sorted_boot = boot.clone();
    sorted_boot.sort_unstable_by(f64::total_cmp);
    let (ci_low, ci_high) = percentile_interval(&sorted_boot, params.confidence);
    (
        Summary {
            median,
            ci_low,
            ci_high,
            n,
            low_quantile,
        },
        boot,
    )
}

/// Medians of `resamples` resamples (with replacement) of `samples`.
fn bootstrap_medians(samples: &[f64], resamples: usize, rng: &mut Xoshiro256) -> Vec<f64> {
    let n = samples.len();
    let mut scratch = vec![0.0; n];
    (0..resamples)
        .map(|_| {
            for slot in scratch.iter_mut() {
                *slot = samples[rng.below(n)];
            }
            median_in_place(&mut scratch)
        })
        .collect()
}

/// Median by selection (O(n)); reorders `values`. `values` must not be empty.
fn median_in_place(values: &mut [f64]) -> f64 {
    let n = values.len();
    let mid = n / 2;
    let (left, upper, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        upper
    } else {
        let lower = left.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower + upper) / 2.0
    }
}

/// Quantile `q` of sorted values, interpolating linearly between order statistics (R type 7).
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            let frac = h - lo as f64;
            if frac == 0.0 {
                sorted[lo]
            } else {
                sorted[lo] + (sorted[hi] - sorted[lo]) * frac
            }
        }
    }
}

/// The central `confidence` interval of sorted bootstrap draws.
fn percentile_interval(sorted: &[f64], confidence: f64) -> (f64, f64) {
    let tail = (1.0 - confidence.clamp(0.0, 1.0)) / 2.0;
    (
        quantile_sorted(sorted, tail),
        quantile_sorted(sorted, 1.0 - tail),
    )
}

/// Two-sided Mann-Whitney U p-value of `a` against `b`: exact (no ties, both sides of at most
/// [`EXACT_MAX`] runs), otherwise the normal approximation with tie and continuity corrections.
/// NaN when a side is empty.
pub fn mann_whitney_p(a: &[f64], b: &[f64]) -> f64 {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 || a.iter().chain(b).any(|x| x.is_nan()) {
        return f64::NAN;
    }
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|x| (*x, true))
        .chain(b.iter().map(|x| (*x, false)))
        .collect();
    all.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
    let total = all.len();
    let mut rank_sum_a = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < total {
        let mut j = i + 1;
        while j < total && all[j].0 == all[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j share their mean.
        let mid_rank = (i + 1 + j) as f64 / 2.0;
        let in_a = all[i..j].iter().filter(|e| e.1).count();
        rank_sum_a += mid_rank * in_a as f64;
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        i = j;
    }
    let (nf, mf) = (n as f64, m as f64);
    let u = rank_sum_a - nf * (nf + 1.0) / 2.0;
    if tie_term == 0.0 && n <= EXACT_MAX && m <= EXACT_MAX {
        // With no ties, U is an integer.
        return exact_two_sided(n, m, u.round() as usize);
    }
    let mean = nf * mf / 2.0;
    let total_f = total as f64;
    let variance = nf * mf / 12.0 * ((total_f + 1.0) - tie_term / (total_f * (total_f - 1.0)));
    if variance <= 0.0 {
        return 1.0;
    }
    let distance = ((u - mean).abs() - 0.5).max(0.0);
    let z = distance / variance.sqrt();
    (2.0 * standard_normal_sf(z)).min(1.0)
}

/// Largest side size for which the exact distribution is computed (the table has
/// n·m·(n·m) entries at most; 30 keeps it under a millisecond).
pub const EXACT_MAX: usize = 30;

fn standard_normal_sf(z: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    Normal::standard().sf(z)
}

/// Exact two-sided p of U = `u` for sizes n and m without ties:
/// 2 · min(P(U ≤ u), P(U ≥ u)), capped at 1.
fn exact_two_sided(n: usize, m: usize, u: usize) -> f64 {
    let counts = u_counts(n, m);
    let total: f64 = counts.iter().sum();
    let u = u.min(counts.len() - 1);
    let below: f64 = counts[..=u].iter().sum();
    let above: f64 = counts[u..].iter().sum();
    (2.0 * below.min(above) / total).min(1.0)
}

/// Number of arrangements of n + m distinct values giving each U in 0..=n·m, by the recurrence
/// f(i, j, u) = f(i-1, j, u-j) + f(i, j-1, u) (the largest value is either an `a` that beats all
/// j `b`s, or a `b`). Counts in f64: they reach C(60, 30) ≈ 1.2e17, exact enough for p-values.
fn u_counts(n: usize, m: usize) -> Vec<f64> {
    // prev[j] = f(i-1, j, ·); cur[j] = f(i, j, ·).
    let mut prev: Vec<Vec<f64>> = (0..=m).map(|_| vec![1.0]).collect();
    for i in 1..=n {
        let mut cur: Vec<Vec<f64>> = Vec::with_capacity(m + 1);
        cur.push(vec![1.0]); // f(i, 0, 0) = 1
        for j in 1..=m {
            let mut poly = vec![0.0; i * j + 1];
            for (u, c) in prev[j].iter().enumerate() {
                poly[u + j] += c;
            }
            for (u, c) in cur[j - 1].iter().enumerate() {
                poly[u] += c;
            }
            cur.push(poly);
        }
        prev = cur;
    }
    prev.pop().unwrap_or_else(|| vec![1.0])
}

/// The runner's budget: pairs of runs (one base, one head) per benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequentialPlan {
    /// Pairs before the first decision.
    pub min_pairs: usize,
    /// Pairs after which an undecided benchmark is reported inconclusive.
    pub max_pairs: usize,
}

impl SequentialPlan {
    /// Fewest pairs for which a decision is possible at the default alpha: the exact rank test
    /// on 4 v 4 can reach p = 0.029 < 0.05; on 3 v 3 only 0.1.
    pub const SMALLEST_USEFUL: usize = 4;
}

impl Default for SequentialPlan {
    fn default() -> Self {
        SequentialPlan {
            min_pairs: 4,
            max_pairs: 12,
        }
    }
}

/// What the runner should do next for one benchmark.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Regressed, improved or unchanged; or inconclusive because the samples are unusable
    /// (an invalid value), which more runs would not change. Stop running this benchmark.
    Decided(Comparison),
    /// Run another base/head pair.
    NeedMore,
    /// `max_pairs` reached without a decision: report it inconclusive (with its figures).
    BudgetExhausted(Comparison),
}

/// The sequential procedure, one step: with fewer than `plan.min_pairs` pairs ask for more;
/// otherwise decide if the comparison is conclusive, ask for more while the budget allows, and
/// give up as inconclusive once `plan.max_pairs` pairs are in.
///
/// Pairs are counted on the shorter side (a run that failed on one side leaves it shorter).
pub fn next_step(
    base: &[f64],
    head: &[f64],
    params: &DecisionParams,
    plan: &SequentialPlan,
) -> Step {
    let pairs = base.len().min(head.len());
    let has_invalid = base.iter().chain(head).any(|x| !x.is_finite() || *x < 0.0);
    if pairs < plan.min_pairs.max(2) && pairs < plan.max_pairs && !has_invalid {
        return Step::NeedMore;
    }
    let cmp = compare(base, head, params);
    if cmp.verdict != BenchVerdict::Inconclusive || has_invalid {
        Step::Decided(cmp)
    } else if pairs >= plan.max_pairs {
        Step::BudgetExhausted(cmp)
    } else {
        Step::NeedMore
    }
}

/// xoshiro256++ (Blackman and Vigna), seeded through SplitMix64: small, fast, and ours, so
/// results do not change with a `rand` release.
#[derive(Debug, Clone)]
struct Xoshiro256 {
    s: [u64; 4],
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Xoshiro256 {
    fn new(seed: u64) -> Self {
        let mut state = seed;
        Xoshiro256 {
            s: [
                splitmix64(&mut state),
                splitmix64(&mut state),
                splitmix64(&mut state),
                splitmix64(&mut state),
            ],
        }
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in 0..n (multiply-shift; the bias is below 2^-50 for any n we use).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn params() -> DecisionParams {
        DecisionParams::default()
    }

    #[test]
    fn quantiles_interpolate() {
        let sorted = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&sorted, 0.5), 2.5);
        assert_eq!(quantile_sorted(&sorted, 0.25), 1.75);
        assert_eq!(quantile_sorted(&sorted, 0.0), 1.0);
        assert_eq!(quantile_sorted(&sorted, 1.0), 4.0);
        let mut odd = [5.0, 1.0, 3.0];
        assert_eq!(median_in_place(&mut odd), 3.0);
        let mut even = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(median_in_place(&mut even), 2.5);
    }

    #[test]
    fn exact_distribution_matches_known_values() {
        // 3 v 3: 20 arrangements, U distribution 1 1 2 3 3 3 3 2 1 1.
        assert_eq!(
            u_counts(3, 3),
            vec![1.0, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 2.0, 1.0, 1.0]
        );
        // Complete separation at 4 v 4: 2 / C(8, 4) = 2 / 70.
        let p = mann_whitney_p(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0]);
        assert!((p - 2.0 / 70.0).abs() < 1e-12, "{p}");
        // Symmetric in its arguments.
        assert_eq!(
            p,
            mann_whitney_p(&[5.0, 6.0, 7.0, 8.0], &[1.0, 2.0, 3.0, 4.0])
        );
        // Fully interleaved: no evidence.
        let p = mann_whitney_p(&[1.0, 3.0, 5.0, 7.0], &[2.0, 4.0, 6.0, 8.0]);
        assert!(p > 0.6, "{p}");
        assert_eq!(u_counts(5, 7).iter().sum::<f64>(), 792.0); // C(12, 5)
    }

    #[test]
    fn normal_approximation_agrees_with_scipy() {
        // By hand, with ties: x = [1,2,2,3,3,3], y = [3,4,4,5,6,6]. Mid-ranks of x: 1, 2.5,
        // 2.5, 5.5, 5.5, 5.5 -> R = 22.5, U = 1.5, mean 18; tie groups 2,4,2,2 -> sum(t^3-t)
        // = 78; var = 36/12 * (13 - 78/132) = 37.227; z = (16.5 - 0.5) / 6.1014 = 2.6224;
        // p = 2 * (1 - Phi(2.6224)) = 0.008733 (scipy's asymptotic method with continuity).
        let p = mann_whitney_p(
            &[1.0, 2.0, 2.0, 3.0, 3.0, 3.0],
            &[3.0, 4.0, 4.0, 5.0, 6.0, 6.0],
        );
        assert!((p - 0.008733).abs() < 2e-6, "{p}");
        // Large samples fall back to the normal approximation: 40 v 40 separated.
        let a: Vec<f64> = (0..40).map(f64::from).collect();
        let b: Vec<f64> = (40..80).map(f64::from).collect();
        assert!(mann_whitney_p(&a, &b) < 1e-10);
        // Everything tied: no evidence at all.
        assert_eq!(mann_whitney_p(&[2.0; 5], &[2.0; 5]), 1.0);
    }

    #[test]
    fn same_seed_same_answer_other_seed_other_draws() {
        // Distinct values, so that bootstrap quantiles differ between seeds.
        let base: Vec<f64> = (0..25).map(|i| 100.0 + 5.0 * f64::from(i).sin()).collect();
        let head: Vec<f64> = (0..25)
            .map(|i| 108.0 + 5.0 * f64::from(i * 7).cos())
            .collect();
        let a = compare(&base, &head, &params());
        let b = compare(&base, &head, &params());
        assert_eq!(a, b);
        let c = compare(&base, &head, &params().with_seed(7));
        assert_ne!((a.ci_low_pct, a.ci_high_pct), (c.ci_low_pct, c.ci_high_pct));
        assert_eq!(a.change_pct, c.change_pct);
        let named = params().for_benchmark("parse/small");
        assert_eq!(named, params().for_benchmark("parse/small"));
        assert_ne!(named.seed, params().for_benchmark("parse/large").seed);
        // summarize() agrees with compare()'s base side.
        assert_eq!(summarize(&base, &params()), a.base);
    }

    #[test]
    fn clear_regression_and_improvement() {
        let base = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2];
        let head: Vec<f64> = base.iter().map(|x| x * 1.3).collect();
        let cmp = compare(&base, &head, &params());
        assert_eq!(cmp.verdict, BenchVerdict::Regressed, "{cmp:?}");
        assert!((cmp.change_pct - 30.0).abs() < 0.5);
        assert!(cmp.ci_low_pct > 5.0 && cmp.ci_high_pct > cmp.ci_low_pct);
        assert!(cmp.p_value < 0.01);
        let back = compare(&head, &base, &params());
        assert_eq!(back.verdict, BenchVerdict::Improved, "{back:?}");
    }

    #[test]
    fn small_stable_change_is_unchanged_below_threshold() {
        let base = [100.0, 100.4, 99.6, 100.2, 99.8, 100.1];
        let head: Vec<f64> = base.iter().map(|x| x * 1.01).collect();
        let cmp = compare(&base, &head, &params());
        assert_eq!(cmp.verdict, BenchVerdict::Unchanged, "{cmp:?}");
    }

    #[test]
    fn one_slow_stretch_on_head_is_not_a_regression() {
        // Half of head's runs hit by a 1.5x stretch: the median moves, the fast runs do not.
        let base = [100.0, 100.5, 99.5, 100.2, 99.8, 100.1];
        let head = [100.3, 150.0, 99.9, 151.0, 149.0, 100.0];
        let cmp = compare(&base, &head, &params());
        assert_ne!(cmp.verdict, BenchVerdict::Regressed, "{cmp:?}");
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let p = params();
        for (base, head) in [
            (vec![], vec![]),
            (vec![1.0], vec![1.0]),
            (vec![1.0, f64::NAN, 2.0], vec![1.0, 2.0, 3.0]),
            (vec![1.0, 2.0], vec![f64::INFINITY, 2.0]),
            (vec![-1.0, 2.0], vec![1.0, 2.0]),
            (vec![0.0, 0.0, 0.0], vec![1.0, 2.0, 3.0]),
        ] {
            let cmp = compare(&base, &head, &p);
            assert_eq!(cmp.verdict, BenchVerdict::Inconclusive, "{base:?} {head:?}");
            assert!(cmp.reason.is_some());
            let row = cmp.to_report("b", "ns", None, None);
            assert_eq!(row.change_pct, None);
            let _ = summarize(&base, &p);
        }
    }

    #[test]
    fn constant_samples() {
        let cmp = compare(&[5.0; 4], &[5.0; 4], &params());
        assert_eq!(cmp.verdict, BenchVerdict::Unchanged);
        assert_eq!(cmp.change_pct, 0.0);
        // Instruction counts: constant per side, 10% apart, decided at 4 pairs.
        let cmp = compare(&[1000.0; 4], &[1100.0; 4], &params());
        assert_eq!(cmp.verdict, BenchVerdict::Regressed, "{cmp:?}");
        assert!((cmp.ci_low_pct - 10.0).abs() < 1e-9 && (cmp.ci_high_pct - 10.0).abs() < 1e-9);
        let cmp = compare(&[0.0; 4], &[0.0; 4], &params());
        assert_eq!(cmp.verdict, BenchVerdict::Unchanged);
    }

    #[test]
    fn sequential_steps() {
        let plan = SequentialPlan {
            min_pairs: 4,
            max_pairs: 6,
        };
        let p = params();
        assert_eq!(
            next_step(&[1.0, 2.0], &[1.0, 2.0], &p, &plan),
            Step::NeedMore
        );
        let base = [100.0, 101.0, 99.0, 100.5];
        let slower = [130.0, 131.0, 129.0, 130.5];
        assert!(
            matches!(next_step(&base, &slower, &p, &plan), Step::Decided(c) if c.verdict == BenchVerdict::Regressed)
        );
        // Noisy and straddling: more, then exhausted.
        let noisy_base = [100.0, 120.0, 90.0, 110.0];
        let noisy_head = [105.0, 125.0, 95.0, 115.0];
        assert_eq!(
            next_step(&noisy_base, &noisy_head, &p, &plan),
            Step::NeedMore
        );
        let b6 = [100.0, 120.0, 90.0, 110.0, 95.0, 118.0];
        let h6 = [105.0, 125.0, 95.0, 115.0, 100.0, 123.0];
        assert!(
            matches!(next_step(&b6, &h6, &p, &plan), Step::BudgetExhausted(c) if c.verdict == BenchVerdict::Inconclusive)
        );
        // Invalid values: decided at once, inconclusive, no point in more runs.
        assert!(
            matches!(next_step(&[1.0, f64::NAN], &[1.0, 2.0], &p, &plan), Step::Decided(c) if c.verdict == BenchVerdict::Inconclusive)
        );
    }

    #[test]
    fn report_row_carries_the_figures() {
        let base = [100.0, 101.0, 99.0, 100.5];
        let head = [130.0, 131.0, 129.0, 130.5];
        let row =
            compare(&base, &head, &params()).to_report("parse", "ns/iter", Some(10), Some(12));
        assert_eq!(row.verdict, BenchVerdict::Regressed);
        assert_eq!(row.base.as_ref().map(|s| s.samples), Some(4));
        assert_eq!(row.head.as_ref().and_then(|s| s.peak_rss_kib), Some(12));
        assert!(row.change_pct.is_some() && row.p_value.is_some());
    }
}
