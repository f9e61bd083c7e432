//! Whole call stacks with their cost (the "folded stacks" of flame graphs): counted sample by
//! sample from perf, rebuilt from caller-callee costs for callgrind, which keeps no stacks.

use std::collections::{HashMap, HashSet};

use super::{CallCost, FunctionCost};

/// One call stack and its cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackCost {
    /// Function names, outermost caller first.
    pub frames: Vec<String>,
    pub cost: u64,
}

/// Counts identical stacks while a parser walks its samples; frame names are interned so
/// that a sample costs a small vector and one hash lookup.
#[derive(Default)]
pub(crate) struct StackCounter {
    ids: HashMap<String, u32>,
    names: Vec<String>,
    counts: HashMap<Vec<u32>, u64>,
    scratch: Vec<u32>,
}

impl StackCounter {
    /// Adds `cost` to the stack `frames` (innermost frame first, as profilers print them);
    /// `name` turns a raw frame into the name to show.
    pub(crate) fn add<'a>(
        &mut self,
        frames: impl DoubleEndedIterator<Item = &'a str>,
        cost: u64,
        name: impl Fn(&str) -> String,
    ) {
        self.scratch.clear();
        for raw in frames.rev() {
            let id = match self.ids.get(raw) {
                Some(id) => *id,
                None => {
                    let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
                    self.names.push(name(raw));
                    self.ids.insert(raw.to_owned(), id);
                    id
                }
            };
            self.scratch.push(id);
        }
        if self.scratch.is_empty() {
            return;
        }
        match self.counts.get_mut(self.scratch.as_slice()) {
            Some(total) => *total = total.saturating_add(cost),
            None => {
                self.counts.insert(self.scratch.clone(), cost);
            }
        }
    }

    /// The stacks, heaviest first (ties by name, so the order is deterministic).
    pub(crate) fn finish(self) -> Vec<StackCost> {
        let names = self.names;
        let mut stacks: Vec<StackCost> = self
            .counts
            .into_iter()
            .map(|(ids, cost)| StackCost {
                frames: ids
                    .iter()
                    .map(|id| names.get(*id as usize).cloned().unwrap_or_default())
                    .collect(),
                cost,
            })
            .collect();
        sort_heaviest_first(&mut stacks);
        stacks
    }
}

fn sort_heaviest_first(stacks: &mut [StackCost]) {
    stacks.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.frames.cmp(&b.frames)));
}

/// Expansion stops below this share of the total: the rebuilt tree then has at most this
/// many nodes per depth, whatever the call graph looks like.
const MIN_SHARE_DENOMINATOR: u64 = 4096;
/// Deeper call chains are cut here (their cost stays with the last frame kept).
const MAX_DEPTH: usize = 128;

/// Call stacks rebuilt from a call graph (callgrind): from each root (a function nobody
/// calls), every call's cost is split over the callee's own callees in proportion to what
/// the callee spends in each overall. That is exact when a function costs the same whoever
/// calls it, and an approximation otherwise, like gprof's. Cycles (mutual recursion) end the
/// chain at the repeated function; callees below 1/4096 of the total, and chains deeper than
/// 128, are left with their caller's own cost.
pub fn stacks_from_calls(functions: &[FunctionCost], calls: &[CallCost]) -> Vec<StackCost> {
    let inclusive: HashMap<&str, u64> = functions
        .iter()
        .map(|f| (f.function.as_str(), f.inclusive_cost))
        .collect();
    let mut callees: HashMap<&str, Vec<(&str, u64)>> = HashMap::new();
    let mut called: HashSet<&str> = HashSet::new();
    for call in calls {
        if call.caller == call.callee || call.cost == 0 {
            continue;
        }
        callees
            .entry(call.caller.as_str())
            .or_default()
            .push((call.callee.as_str(), call.cost));
        called.insert(call.callee.as_str());
    }
    for list in callees.values_mut() {
        list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    }
    let mut roots: Vec<(&str, u64)> = functions
        .iter()
        .filter(|f| f.inclusive_cost > 0 && !called.contains(f.function.as_str()))
        .map(|f| (f.function.as_str(), f.inclusive_cost))
        .collect();
    roots.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let total: u64 = roots.iter().map(|r| r.1).sum();
    let rebuild = Rebuild {
        inclusive,
        callees,
        min_cost: (total / MIN_SHARE_DENOMINATOR).max(1) as f64,
    };
    let mut out: HashMap<Vec<&str>, f64> = HashMap::new();
    let mut path = Vec::new();
    for (root, cost) in roots {
        rebuild.expand(root, cost as f64, &mut path, &mut out);
    }
    let mut stacks: Vec<StackCost> = out
        .into_iter()
        .filter_map(|(frames, cost)| {
            let cost = cost.round() as u64;
            (cost > 0).then(|| StackCost {
                frames: frames.into_iter().map(str::to_owned).collect(),
                cost,
            })
        })
        .collect();
    sort_heaviest_first(&mut stacks);
    stacks
}

struct Rebuild<'a> {
    inclusive: HashMap<&'a str, u64>,
    callees: HashMap<&'a str, Vec<(&'a str, u64)>>,
    min_cost: f64,
}

impl<'a> Rebuild<'a> {
    /// Charges `cost` spent in `function` (called along `path`) to stacks: its callees' shares
    /// to deeper stacks, the rest to `path + function` itself.
    fn expand(
        &self,
        function: &'a str,
        cost: f64,
        path: &mut Vec<&'a str>,
        out: &mut HashMap<Vec<&'a str>, f64>,
    ) {
        path.push(function);
        let inclusive = self.inclusive.get(function).copied().unwrap_or(0) as f64;
        let edges = self.callees.get(function).map(Vec::as_slice).unwrap_or(&[]);
        // Never hand callees more than the function's inclusive cost (rounding, recursion).
        let edge_sum: f64 = edges.iter().map(|e| e.1 as f64).sum();
        let scale = if inclusive > 0.0 {
            cost / inclusive.max(edge_sum)
        } else {
            0.0
        };
        let mut spent = 0.0;
        if path.len() < MAX_DEPTH {
            for &(callee, edge_cost) in edges {
                let share = edge_cost as f64 * scale;
                if share < self.min_cost {
                    continue;
                }
                spent += share;
                if path.contains(&callee) {
                    path.push(callee);
                    *out.entry(path.clone()).or_default() += share;
                    path.pop();
                } else {
                    self.expand(callee, share, path, out);
                }
            }
        }
        let own = cost - spent;
        if own >= 0.5 {
            *out.entry(path.clone()).or_default() += own;
        }
        path.pop();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn function(name: &str, self_cost: u64, inclusive_cost: u64) -> FunctionCost {
        FunctionCost {
            function: name.into(),
            file: None,
            start_line: None,
            end_line: None,
            self_cost,
            inclusive_cost,
        }
    }

    fn call(caller: &str, callee: &str, cost: u64) -> CallCost {
        CallCost {
            caller: caller.into(),
            callee: callee.into(),
            cost,
        }
    }

    fn folded(stacks: &[StackCost]) -> Vec<String> {
        stacks
            .iter()
            .map(|s| format!("{} {}", s.frames.join(";"), s.cost))
            .collect()
    }

    #[test]
    fn counter_merges_identical_stacks_outermost_first() {
        let mut counter = StackCounter::default();
        counter.add(["leaf", "mid", "main"].into_iter(), 1, str::to_uppercase);
        counter.add(["leaf", "mid", "main"].into_iter(), 2, str::to_uppercase);
        counter.add(["mid", "main"].into_iter(), 1, str::to_uppercase);
        counter.add(std::iter::empty(), 5, str::to_uppercase);
        assert_eq!(
            folded(&counter.finish()),
            vec!["MAIN;MID;LEAF 3", "MAIN;MID 1"]
        );
    }

    #[test]
    fn calls_split_in_proportion_to_the_callee_costs() {
        // main (10 own) calls parse (60) and print (30); parse calls alloc (40 of its 60).
        // print also calls alloc, for 10 of its 30.
        let functions = [
            function("main", 10, 100),
            function("parse", 20, 60),
            function("print", 20, 30),
            function("alloc", 50, 50),
        ];
        let calls = [
            call("main", "parse", 60),
            call("main", "print", 30),
            call("parse", "alloc", 40),
            call("print", "alloc", 10),
        ];
        let stacks = stacks_from_calls(&functions, &calls);
        assert_eq!(
            folded(&stacks),
            vec![
                "main;parse;alloc 40",
                "main;parse 20",
                "main;print 20",
                "main 10",
                "main;print;alloc 10",
            ]
        );
        let total: u64 = stacks.iter().map(|s| s.cost).sum();
        assert_eq!(total, 100);
    }

    #[test]
    fn cycles_end_the_chain_and_tiny_calls_stay_with_the_caller() {
        let functions = [
            function("main", 0, 10_000),
            function("a", 5_000, 9_999),
            function("b", 4_000, 4_999),
            function("tiny", 1, 1),
        ];
        let calls = [
            call("main", "a", 9_999),
            call("main", "tiny", 1),
            call("a", "b", 4_999),
            call("b", "a", 999),
        ];
        let stacks = stacks_from_calls(&functions, &calls);
        assert_eq!(
            folded(&stacks),
            vec!["main;a 5000", "main;a;b 4000", "main;a;b;a 999", "main 1"]
        );
    }
}
