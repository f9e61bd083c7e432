//! Delta debugging (Zeller and Hildebrandt's ddmin) over the culprit's hunks: the smallest set
//! whose reversal restores speed, so that the rest of the commit's intent is kept.
//!
//! Each test costs a build and a benchmark run, so the search has a budget and remembers every
//! answer. A subset that does not build or fails the tests counts as "does not restore": ddmin
//! treats unresolved outcomes that way.

use std::collections::BTreeMap;

/// What reverting one subset of hunks did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Speed is back (the regressed benchmarks recover significantly).
    Restores,
    /// Builds and passes, but still slow.
    DoesNot,
    /// Does not build, or the tests fail.
    Broken,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DdminResult {
    /// Indices (ascending) of a subset whose reversal restores speed.
    pub subset: Vec<usize>,
    /// How many distinct subsets were tested.
    pub tests_run: usize,
    /// True when the search ran to the end: removing any single element of `subset` no longer
    /// restores speed (1-minimal). False when the budget ran out first.
    pub minimal: bool,
    /// Every tested subset and its outcome, in order.
    pub log: Vec<(Vec<usize>, Outcome)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DdminError<E> {
    #[error("there are no hunks to revert")]
    Empty,
    #[error("reverting every hunk does not restore speed ({0:?}); no subset will")]
    FullSetFails(Outcome),
    #[error("the test budget is zero")]
    NoBudget,
    #[error("testing a subset failed: {0}")]
    Test(E),
}

/// Finds a small subset of `0..items` whose reversal restores speed. The full set is tested
/// first: it must restore, or be broken (then a part that restores is searched for); at most
/// `budget` subsets are tested in all.
pub fn minimal_subset<F, E>(
    items: usize,
    budget: usize,
    test: F,
) -> Result<DdminResult, DdminError<E>>
where
    F: FnMut(&[usize]) -> Result<Outcome, E>,
{
    if items == 0 {
        return Err(DdminError::Empty);
    }
    if budget == 0 {
        return Err(DdminError::NoBudget);
    }
    let mut t = Tester {
        test,
        cache: BTreeMap::new(),
        log: Vec::new(),
        budget,
    };
    let mut current: Vec<usize> = (0..items).collect();
    // A full set that breaks the build or the tests (it also undoes a tested feature of the
    // commit) may still hold a part that restores speed and passes: search on, and fail only
    // when no part is found. A full set that is merely still slow has no such part.
    let mut restoring = match t.run(&current)? {
        Some(Outcome::Restores) => true,
        Some(Outcome::Broken) => false,
        Some(other) => return Err(DdminError::FullSetFails(other)),
        None => return Err(DdminError::NoBudget),
    };

    let mut n = 2usize;
    let mut minimal = false;
    'outer: while current.len() >= 2 {
        let parts = split(&current, n);
        // Reduce to a subset.
        for part in &parts {
            match t.run(part)? {
                Some(Outcome::Restores) => {
                    current = part.clone();
                    restoring = true;
                    n = 2;
                    continue 'outer;
                }
                Some(_) => {}
                None => break 'outer,
            }
        }
        // Reduce to a complement (with two parts, the complements are the parts: skip).
        if n > 2 {
            for i in 0..parts.len() {
                let complement: Vec<usize> = parts
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .flat_map(|(_, p)| p.iter().copied())
                    .collect();
                match t.run(&complement)? {
                    Some(Outcome::Restores) => {
                        current = complement;
                        restoring = true;
                        n = (n - 1).max(2);
                        continue 'outer;
                    }
                    Some(_) => {}
                    None => break 'outer,
                }
            }
        }
        // Increase granularity, or stop: at one element per part nothing smaller restores.
        if n >= current.len() {
            minimal = true;
            break;
        }
        n = (2 * n).min(current.len());
    }
    if !restoring {
        return Err(DdminError::FullSetFails(Outcome::Broken));
    }
    if current.len() == 1 {
        minimal = true;
    }
    Ok(DdminResult {
        subset: current,
        tests_run: t.log.len(),
        minimal,
        log: t.log,
    })
}

struct Tester<F> {
    test: F,
    cache: BTreeMap<Vec<usize>, Outcome>,
    log: Vec<(Vec<usize>, Outcome)>,
    budget: usize,
}

impl<F> Tester<F> {
    /// The outcome for `subset` (from memory when tested before); None when out of budget.
    fn run<E>(&mut self, subset: &[usize]) -> Result<Option<Outcome>, DdminError<E>>
    where
        F: FnMut(&[usize]) -> Result<Outcome, E>,
    {
        if let Some(o) = self.cache.get(subset) {
            return Ok(Some(*o));
        }
        if self.log.len() >= self.budget {
            return Ok(None);
        }
        let outcome = (self.test)(subset).map_err(DdminError::Test)?;
        self.cache.insert(subset.to_vec(), outcome);
        self.log.push((subset.to_vec(), outcome));
        Ok(Some(outcome))
    }
}

/// `items` in `n` contiguous parts of nearly equal size.
fn split(items: &[usize], n: usize) -> Vec<Vec<usize>> {
    let n = n.min(items.len()).max(1);
    let mut parts = Vec::with_capacity(n);
    let mut start = 0;
    for i in 0..n {
        let end = start + (items.len() - start) / (n - i);
        parts.push(items[start..end].to_vec());
        start = end;
    }
    parts
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    /// Speed is restored when every element of `needed` is reverted.
    fn needs(needed: &[usize]) -> impl FnMut(&[usize]) -> Result<Outcome, Infallible> + '_ {
        move |s: &[usize]| {
            Ok(if needed.iter().all(|x| s.contains(x)) {
                Outcome::Restores
            } else {
                Outcome::DoesNot
            })
        }
    }

    #[test]
    fn finds_a_single_culprit_hunk() {
        for items in 1..=12 {
            for culprit in 0..items {
                let r = minimal_subset(items, 100, needs(&[culprit])).unwrap();
                assert_eq!(r.subset, vec![culprit], "items={items}");
                assert!(r.minimal);
            }
        }
    }

    #[test]
    fn finds_two_hunks_that_only_restore_together() {
        let r = minimal_subset(8, 100, needs(&[1, 6])).unwrap();
        assert_eq!(r.subset, vec![1, 6]);
        assert!(r.minimal);
    }

    #[test]
    fn finds_three_scattered_hunks() {
        let r = minimal_subset(10, 200, needs(&[0, 4, 9])).unwrap();
        assert_eq!(r.subset, vec![0, 4, 9]);
        assert!(r.minimal);
    }

    #[test]
    fn broken_subsets_are_not_taken() {
        // Reverting hunk 2 without hunk 3 does not compile; both together restore.
        let r = minimal_subset(6, 100, |s: &[usize]| {
            Ok::<_, Infallible>(if s.contains(&2) && !s.contains(&3) {
                Outcome::Broken
            } else if s.contains(&2) && s.contains(&3) {
                Outcome::Restores
            } else {
                Outcome::DoesNot
            })
        })
        .unwrap();
        assert_eq!(r.subset, vec![2, 3]);
    }

    #[test]
    fn full_set_must_restore() {
        let r = minimal_subset(4, 10, |_: &[usize]| Ok::<_, Infallible>(Outcome::DoesNot));
        assert_eq!(r, Err(DdminError::FullSetFails(Outcome::DoesNot)));
        assert_eq!(minimal_subset(0, 10, needs(&[])), Err(DdminError::Empty));
    }

    #[test]
    fn a_broken_full_set_still_yields_a_restoring_part() {
        // Reverting hunk 4 breaks a test (a wanted feature); hunks 0 and 1 are the slow part.
        let outcome = |s: &[usize]| {
            Ok::<_, Infallible>(if s.contains(&4) {
                Outcome::Broken
            } else if s.contains(&0) && s.contains(&1) {
                Outcome::Restores
            } else {
                Outcome::DoesNot
            })
        };
        let r = minimal_subset(6, 100, outcome).unwrap();
        assert_eq!(r.subset, vec![0, 1]);
        assert!(r.minimal);
        // When no part restores, the full set's failure is the answer.
        let never = |s: &[usize]| {
            Ok::<_, Infallible>(if s.contains(&4) {
                Outcome::Broken
            } else {
                Outcome::DoesNot
            })
        };
        assert_eq!(
            minimal_subset(6, 100, never),
            Err(DdminError::FullSetFails(Outcome::Broken))
        );
    }

    #[test]
    fn budget_is_respected_and_result_still_restores() {
        let mut calls = 0;
        let r = minimal_subset(16, 3, |s: &[usize]| {
            calls += 1;
            Ok::<_, Infallible>(if s.contains(&13) {
                Outcome::Restores
            } else {
                Outcome::DoesNot
            })
        })
        .unwrap();
        assert_eq!(calls, 3);
        assert_eq!(r.tests_run, 3);
        assert!(!r.minimal);
        assert!(r.subset.contains(&13));
        assert!(r.subset.len() < 16);
    }

    #[test]
    fn never_tests_the_same_subset_twice() {
        let mut seen = Vec::new();
        let r = minimal_subset(9, 100, |s: &[usize]| {
            assert!(!seen.contains(&s.to_vec()), "retested {s:?}");
            seen.push(s.to_vec());
            Ok::<_, Infallible>(if s.contains(&3) && s.contains(&7) {
                Outcome::Restores
            } else {
                Outcome::DoesNot
            })
        })
        .unwrap();
        assert_eq!(r.subset, vec![3, 7]);
    }

    #[test]
    fn any_needed_set_is_found_exactly_when_the_budget_allows() {
        // With "restores iff every needed hunk is reverted", the only 1-minimal subset is the
        // needed set itself.
        let mut seed = 7u64;
        let mut next = |bound: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            (seed >> 33) % bound
        };
        for _ in 0..200 {
            let items = 1 + next(24) as usize;
            let mut needed: Vec<usize> = (0..items).filter(|_| next(5) == 0).collect();
            if needed.is_empty() {
                needed.push(next(items as u64) as usize);
            }
            let r = minimal_subset(items, 1000, needs(&needed)).unwrap();
            assert_eq!(r.subset, needed, "items={items}");
            assert!(r.minimal);
            assert!(
                r.tests_run <= items * items,
                "items={items} tests={}",
                r.tests_run
            );
        }
    }

    #[test]
    fn split_covers_everything_once() {
        let items: Vec<usize> = (0..7).collect();
        let parts = split(&items, 3);
        assert_eq!(parts, vec![vec![0, 1], vec![2, 3], vec![4, 5, 6]]);
    }
}
