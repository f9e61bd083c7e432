//! Which functions got more expensive between two profiles of the same benchmark.
//!
//! Raw counts of two runs are not directly comparable: a time-bounded harness (criterion)
//! runs fewer iterations when the code got slower, and a sampling profiler's totals wander
//! with run length. Shares of the total are comparable but move for every function when one
//! of them grows. So the after profile is rescaled by the ratio that the *unchanged* code
//! shows: the median, over functions with a meaningful cost on both sides, of
//! `before_self / after_self`. For deterministic instruction counts on the same workload that
//! ratio is 1 and the growth is exact; for samples it cancels the run-length difference.

use std::collections::HashMap;

use super::{FunctionCost, Profile};

/// How one function's cost changed from `before` to `after`, in `before`'s units.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionDelta {
    pub function: String,
    /// Location in the `after` profile when the function is there (the code under suspicion),
    /// else in `before`.
    pub file: Option<String>,
    pub start_line: Option<u32>,
    pub end_line: Option<u32>,
    pub before_self: u64,
    pub after_self: u64,
    pub before_inclusive: u64,
    pub after_inclusive: u64,
    /// `after_self` rescaled to the before run (see the module docs).
    pub after_self_normalized: f64,
    /// `after_self_normalized - before_self`: own cost the function gained (negative: lost).
    pub self_growth: f64,
    /// The same for inclusive cost: growth of the function and its callees.
    pub inclusive_growth: f64,
    /// `self_growth` as a fraction of the before run's total (0.25: the function alone added
    /// a quarter of what the whole base run cost).
    pub growth_share: f64,
    /// Standard deviation of `self_growth` expected from sampling alone (0 for instruction
    /// counts, Poisson for samples).
    pub noise: f64,
    /// The growth is beyond noise (more than 3 standard deviations) and at least 0.5% of the
    /// before total.
    pub significant: bool,
}

/// Smallest share of the total for a function to vote on the rescaling ratio.
const MIN_VOTER_SHARE: f64 = 0.005;
/// Smallest sample count on each side for a function to vote (sampling noise below that).
const MIN_VOTER_SAMPLES: u64 = 10;
const MIN_SIGNIFICANT_SHARE: f64 = 0.005;

/// Per-function changes sorted by self-cost growth, largest first (ties: inclusive growth,
/// then name). Functions present on one side only are included.
pub fn diff_profiles(before: &Profile, after: &Profile) -> Vec<FunctionDelta> {
    let sampled = before.unit == "samples" || after.unit == "samples";
    let scale = rescaling_ratio(before, after, sampled);
    let before_total = before.total.max(1) as f64;

    let mut names: Vec<&str> = before
        .functions
        .iter()
        .chain(&after.functions)
        .map(|f| f.function.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();

    let (before_index, after_index) = (name_index(before), name_index(after));
    let mut deltas: Vec<FunctionDelta> = names
        .into_iter()
        .map(|name| {
            let b = before_index.get(name).map(|i| &before.functions[*i]);
            let a = after_index.get(name).map(|i| &after.functions[*i]);
            let located = a.or(b);
            let before_self = b.map_or(0, |f| f.self_cost);
            let after_self = a.map_or(0, |f| f.self_cost);
            let before_inclusive = b.map_or(0, |f| f.inclusive_cost);
            let after_inclusive = a.map_or(0, |f| f.inclusive_cost);
            let after_self_normalized = after_self as f64 * scale;
            let self_growth = after_self_normalized - before_self as f64;
            let noise = if sampled {
                (before_self as f64 + scale * scale * after_self as f64).sqrt()
            } else {
                0.0
            };
            let growth_share = self_growth / before_total;
            FunctionDelta {
                function: name.to_owned(),
                file: located.and_then(|f| f.file.clone()),
                start_line: located.and_then(|f| f.start_line),
                end_line: located.and_then(|f| f.end_line),
                before_self,
                after_self,
                before_inclusive,
                after_inclusive,
                after_self_normalized,
                self_growth,
                inclusive_growth: after_inclusive as f64 * scale - before_inclusive as f64,
                growth_share,
                noise,
                significant: self_growth > 3.0 * noise && growth_share >= MIN_SIGNIFICANT_SHARE,
            }
        })
        .collect();
    deltas.sort_by(|x, y| {
        y.self_growth
            .total_cmp(&x.self_growth)
            .then(y.inclusive_growth.total_cmp(&x.inclusive_growth))
            .then(x.function.cmp(&y.function))
    });
    deltas
}

fn name_index(profile: &Profile) -> HashMap<&str, usize> {
    profile
        .functions
        .iter()
        .enumerate()
        .map(|(i, f)| (f.function.as_str(), i))
        .collect()
}

/// Median of `before_self / after_self` over functions with a meaningful cost on both sides;
/// the ratio of totals when fewer than three functions qualify.
fn rescaling_ratio(before: &Profile, after: &Profile, sampled: bool) -> f64 {
    let qualifies = |f: &FunctionCost, total: u64| {
        let share = f.self_cost as f64 / total.max(1) as f64;
        share >= MIN_VOTER_SHARE && (!sampled || f.self_cost >= MIN_VOTER_SAMPLES)
    };
    let after_by_name: HashMap<&str, &FunctionCost> = after
        .functions
        .iter()
        .map(|f| (f.function.as_str(), f))
        .collect();
    let mut ratios: Vec<f64> = before
        .functions
        .iter()
        .filter(|b| qualifies(b, before.total))
        .filter_map(|b| {
            let a = after_by_name.get(b.function.as_str())?;
            qualifies(a, after.total).then(|| b.self_cost as f64 / a.self_cost as f64)
        })
        .collect();
    if ratios.len() < 3 {
        return if after.total == 0 {
            1.0
        } else if sampled {
            before.total as f64 / after.total as f64
        } else {
            // Instruction counts of the same workload are comparable as they are.
            1.0
        };
    }
    ratios.sort_by(f64::total_cmp);
    let mid = ratios.len() / 2;
    if ratios.len() % 2 == 1 {
        ratios[mid]
    } else {
        (ratios[mid - 1] + ratios[mid]) / 2.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn profile(unit: &str, functions: &[(&str, u64)]) -> Profile {
        let total = functions.iter().map(|(_, c)| c).sum();
        Profile {
            unit: unit.into(),
            total,
            functions: functions
                .iter()
                .map(|(name, cost)| FunctionCost {
                    function: (*name).into(),
                    file: Some("/r/src/lib.rs".into()),
                    start_line: Some(1),
                    end_line: Some(2),
                    self_cost: *cost,
                    inclusive_cost: *cost,
                })
                .collect(),
            calls: Vec::new(),
            lines: Vec::new(),
            stacks: Vec::new(),
        }
    }

    #[test]
    fn instructions_compare_as_they_are() {
        let before = profile("instructions", &[("a", 1000), ("b", 500), ("c", 200)]);
        let after = profile(
            "instructions",
            &[("a", 1000), ("b", 2500), ("c", 200), ("d", 50)],
        );
        let deltas = diff_profiles(&before, &after);
        assert_eq!(deltas[0].function, "b");
        assert_eq!(deltas[0].self_growth, 2000.0);
        assert!(deltas[0].significant);
        assert_eq!(deltas[1].function, "d");
        assert_eq!(deltas[1].before_self, 0);
        assert_eq!(deltas.last().unwrap().self_growth, 0.0);
        assert!(!deltas.last().unwrap().significant);
    }

    #[test]
    fn samples_are_rescaled_by_the_unchanged_functions() {
        // The after run was half as long (a time-bounded harness did fewer iterations), and
        // `hot` tripled its per-iteration cost.
        let before = profile(
            "samples",
            &[("hot", 100), ("x", 400), ("y", 300), ("z", 200), ("w", 100)],
        );
        let after = profile(
            "samples",
            &[("hot", 150), ("x", 200), ("y", 150), ("z", 100), ("w", 50)],
        );
        let deltas = diff_profiles(&before, &after);
        assert_eq!(deltas[0].function, "hot");
        assert!((deltas[0].self_growth - 200.0).abs() < 1e-9);
        assert!(deltas[0].significant);
        for d in &deltas[1..] {
            assert!(d.self_growth.abs() < 1e-9, "{d:?}");
            assert!(!d.significant);
        }
    }

    #[test]
    fn small_sample_growth_is_not_significant() {
        let before = profile("samples", &[("a", 500), ("b", 500), ("c", 500), ("d", 5)]);
        let after = profile("samples", &[("a", 500), ("b", 500), ("c", 500), ("d", 9)]);
        let deltas = diff_profiles(&before, &after);
        assert_eq!(deltas[0].function, "d");
        assert!(!deltas[0].significant, "{:?}", deltas[0]);
    }
}
