//! Bisection over the commits between base and head to the first one that regresses.
//!
//! The caller supplies the probe (build + measure + decide with the same statistics as
//! `compare`); this module only decides which commit to probe next. It follows `git bisect`:
//! base is known good, head is known bad, commits that cannot be judged (they do not build,
//! their benchmarks are missing) are skipped and a neighbour is tried instead. When skips hide
//! the boundary, the answer is the set of commits the culprit must be among.

use std::collections::BTreeSet;

/// What probing one commit said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// As fast as base.
    Good,
    /// As slow as head.
    Bad,
    /// Cannot be judged; the reason is reported (e.g. "does not build").
    Skip(String),
}

/// A commit the bisection could not judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedCommit {
    pub commit: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BisectResult {
    /// The commits the culprit is among, oldest first. The last one is the oldest commit known
    /// to be bad; the ones before it were skipped. One element: the culprit is known exactly.
    pub candidates: Vec<String>,
    /// Every commit that was skipped, in the order they were probed.
    pub skipped: Vec<SkippedCommit>,
    /// How many times the probe ran.
    pub probes: usize,
    /// Every probe in order, for the report's log.
    pub log: Vec<(String, Probe)>,
}

impl BisectResult {
    /// The culprit, when skips did not hide it.
    pub fn culprit(&self) -> Option<&str> {
        match self.candidates.as_slice() {
            [only] => Some(only),
            _ => None,
        }
    }

    /// The oldest commit known to be bad (always defined).
    pub fn first_known_bad(&self) -> &str {
        self.candidates
            .last()
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// The report's `bisect` section for a bisection over `commits` commits.
    pub fn to_report(&self, commits: usize) -> perf_fixer_core::report::BisectReport {
        perf_fixer_core::report::BisectReport {
            commits,
            probes: self.probes,
            skipped: self
                .skipped
                .iter()
                .map(|s| perf_fixer_core::report::SkippedCommit {
                    commit: s.commit.clone(),
                    reason: s.reason.clone(),
                })
                .collect(),
            candidates: if self.candidates.len() > 1 {
                self.candidates.clone()
            } else {
                Vec::new()
            },
        }
    }

    /// A sentence for the report: "culprit is abc1234" or "culprit is one of X, Y".
    pub fn describe(&self) -> String {
        let short: Vec<&str> = self
            .candidates
            .iter()
            .map(|c| c.get(..10).unwrap_or(c))
            .collect();
        match short.as_slice() {
            [only] => format!("culprit is {only}"),
            many => format!(
                "culprit is one of {} (skipped commits could not be judged)",
                many.join(", ")
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BisectError<E> {
    #[error("nothing to bisect: no commits between base and head")]
    NoCommits,
    #[error("probing a commit failed: {0}")]
    Test(E),
}

/// Finds the first bad commit among `commits` (oldest first, base excluded, head included and
/// last). Head is known bad and base known good, so they are never probed; a single commit is
/// returned without probing.
pub fn bisect<F, E>(commits: &[String], mut test: F) -> Result<BisectResult, BisectError<E>>
where
    F: FnMut(&str) -> Result<Probe, E>,
{
    if commits.is_empty() {
        return Err(BisectError::NoCommits);
    }
    // Invariant: `good` is the index of the newest commit known good (None: base), `bad` the
    // index of the oldest known bad. The first bad commit lies in (good, bad].
    let mut good: Option<usize> = None;
    let mut bad = commits.len() - 1;
    let mut skipped_idx: BTreeSet<usize> = BTreeSet::new();
    let mut skipped = Vec::new();
    let mut log = Vec::new();
    let mut probes = 0;

    loop {
        let lo = good.map_or(0, |g| g + 1);
        // Untested commits strictly between good and bad.
        let Some(next) = pick(lo, bad, &skipped_idx) else {
            break;
        };
        probes += 1;
        let outcome = test(&commits[next]).map_err(BisectError::Test)?;
        log.push((commits[next].clone(), outcome.clone()));
        match outcome {
            Probe::Good => good = Some(next),
            Probe::Bad => bad = next,
            Probe::Skip(reason) => {
                skipped_idx.insert(next);
                skipped.push(SkippedCommit {
                    commit: commits[next].clone(),
                    reason,
                });
            }
        }
    }

    let lo = good.map_or(0, |g| g + 1);
    let candidates = (lo..=bad)
        .filter(|i| *i == bad || skipped_idx.contains(i))
        .map(|i| commits[i].clone())
        .collect();
    Ok(BisectResult {
        candidates,
        skipped,
        probes,
        log,
    })
}

/// The index to probe next in `[lo, bad)`: the midpoint, or the untested commit nearest to it
/// (trying below and above alternately, as `git bisect skip` moves away from a skipped commit).
fn pick(lo: usize, bad: usize, skipped: &BTreeSet<usize>) -> Option<usize> {
    if lo >= bad {
        return None;
    }
    let mid = lo + (bad - lo) / 2;
    let width = bad - lo;
    for step in 0..=width {
        let below = mid.checked_sub(step).filter(|i| *i >= lo);
        let above = Some(mid + step).filter(|i| *i < bad);
        for i in [below, above].into_iter().flatten() {
            if !skipped.contains(&i) {
                return Some(i);
            }
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn history(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    fn idx(c: &str) -> usize {
        c[1..].parse().unwrap()
    }

    /// A synthetic history whose first bad commit is `first_bad` and whose `skips` do not build.
    fn run(n: usize, first_bad: usize, skips: &[usize]) -> BisectResult {
        let commits = history(n);
        let mut probed = Vec::new();
        let result = bisect(&commits, |c| {
            let i = idx(c);
            probed.push(i);
            Ok::<_, Infallible>(if skips.contains(&i) {
                Probe::Skip("does not build".into())
            } else if i >= first_bad {
                Probe::Bad
            } else {
                Probe::Good
            })
        })
        .unwrap();
        assert!(!probed.contains(&(n - 1)), "head is never probed");
        let mut unique = probed.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), probed.len(), "no commit is probed twice");
        assert_eq!(result.probes, probed.len());
        result
    }

    #[test]
    fn single_commit_is_the_culprit_without_probing() {
        let commits = history(1);
        let result = bisect(&commits, |_| -> Result<Probe, Infallible> {
            panic!("must not probe")
        })
        .unwrap();
        assert_eq!(result.culprit(), Some("c0"));
        assert_eq!(result.probes, 0);
    }

    #[test]
    fn empty_history_is_an_error() {
        let r = bisect(&[], |_| Ok::<_, Infallible>(Probe::Bad));
        assert!(matches!(r, Err(BisectError::NoCommits)));
    }

    #[test]
    fn finds_every_possible_culprit_in_log_probes() {
        for n in 1..=40 {
            for first_bad in 0..n {
                let r = run(n, first_bad, &[]);
                assert_eq!(r.culprit(), Some(format!("c{first_bad}").as_str()), "n={n}");
                let bound = (usize::BITS - n.leading_zeros()) as usize;
                assert!(r.probes <= bound, "n={n} probes={} bound={bound}", r.probes);
            }
        }
    }

    #[test]
    fn skipped_commit_away_from_boundary_is_worked_around() {
        // Midpoint of 16 is 7; it does not build, so a neighbour is tried.
        let r = run(16, 11, &[7]);
        assert_eq!(r.culprit(), Some("c11"));
        assert_eq!(
            r.skipped,
            vec![SkippedCommit {
                commit: "c7".into(),
                reason: "does not build".into()
            }]
        );
    }

    #[test]
    fn skip_just_before_the_culprit_makes_it_ambiguous() {
        let r = run(10, 5, &[4]);
        assert_eq!(r.culprit(), None);
        assert_eq!(r.candidates, vec!["c4".to_string(), "c5".to_string()]);
        assert_eq!(
            r.describe(),
            "culprit is one of c4, c5 (skipped commits could not be judged)"
        );
        let report = r.to_report(10);
        assert_eq!(report.candidates, vec!["c4", "c5"]);
        assert_eq!(report.skipped[0].commit, "c4");
        assert_eq!(report.probes, r.probes);
    }

    #[test]
    fn skipped_culprit_is_reported_with_the_next_bad_commit() {
        let r = run(10, 5, &[5, 6]);
        assert_eq!(r.candidates, vec!["c5", "c6", "c7"]);
        assert_eq!(r.first_known_bad(), "c7");
    }

    #[test]
    fn every_commit_but_head_skipped() {
        let r = run(5, 2, &[0, 1, 2, 3]);
        assert_eq!(r.candidates, history(5));
        assert_eq!(r.probes, 4);
    }

    #[test]
    fn culprit_is_first_commit_after_base() {
        let r = run(7, 0, &[3]);
        assert_eq!(r.culprit(), Some("c0"));
    }

    #[test]
    fn probe_error_stops_the_bisection() {
        let commits = history(8);
        let r = bisect(&commits, |_| Err::<Probe, _>("disk full"));
        assert!(matches!(r, Err(BisectError::Test("disk full"))));
    }
}
