//! Profiler output into per-function costs with source spans, and the comparison of two
//! profiles that names the functions whose cost grew (the suspects of `fix`).
//!
//! Two sources, one model:
//! - callgrind (`valgrind --tool=callgrind --dump-instr=no`), costs in instructions: see
//!   [`parse_callgrind`];
//! - perf (`perf record -e cpu-clock` + `perf script`), costs in samples: see
//!   [`parse_perf_script`] for the exact flags.

mod callgrind;
mod diff;
mod perf;
mod stacks;

pub use callgrind::parse_callgrind;
pub use diff::{FunctionDelta, diff_profiles};
pub use perf::parse_perf_script;
pub use stacks::{StackCost, stacks_from_calls};

use std::path::Path;

/// One function's cost in a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionCost {
    /// Demangled path without the `::h0123...` hash suffix, e.g. `mycrate::parse::records`.
    pub function: String,
    /// Source file of the function's own code as the debug info names it (absolute for the
    /// user's crate, `/rustc/<hash>/library/...` for std). `None` without debug line tables.
    pub file: Option<String>,
    /// Smallest and largest line of `file` seen with cost in this function: an approximation
    /// of its span that is good enough to intersect with diff hunks.
    pub start_line: Option<u32>,
    pub end_line: Option<u32>,
    /// Cost spent in the function's own code (including code inlined into it).
    pub self_cost: u64,
    /// Cost of the function and everything it called (recursion counted once).
    pub inclusive_cost: u64,
}

/// Per-function costs of one profiled run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// `instructions` (callgrind) or `samples` (perf).
    pub unit: String,
    /// Cost of the whole run, the denominator for shares.
    pub total: u64,
    /// Sorted by self cost, largest first.
    pub functions: Vec<FunctionCost>,
    /// Direct calls with the inclusive cost of the callee on behalf of that caller (callgrind:
    /// the `calls=` costs; perf: samples with the caller frame directly above the callee).
    pub calls: Vec<CallCost>,
    /// Cost per source line, whichever function the line was compiled into: inlining moves
    /// a function's code into its callers, but its lines keep their file and number, so
    /// diff hunks can be matched against these directly. Sorted by file, then line.
    pub lines: Vec<LineCost>,
    /// Whole call stacks, heaviest first, for flame graphs: perf's sampled stacks (inlined
    /// frames included), or for callgrind stacks rebuilt from the call costs (see
    /// [`stacks_from_calls`]). Empty in attributed profiles.
    pub stacks: Vec<StackCost>,
}

/// Cost of one source line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineCost {
    pub file: String,
    pub line: u32,
    /// Cost of the line's own instructions (callgrind) or samples whose innermost location
    /// it is (perf).
    pub self_cost: u64,
    /// Plus the cost of calls made from the line (callgrind: `calls=` at that line; perf:
    /// samples with the line anywhere on the stack, inlined frames included, once each).
    pub inclusive_cost: u64,
}

impl Profile {
    /// Self and inclusive cost of `file` lines `start..=end` (file as the profile names it).
    pub fn cost_of_lines(&self, file: &str, start: u32, end: u32) -> (u64, u64) {
        self.lines
            .iter()
            .filter(|l| l.file == file && (start..=end).contains(&l.line))
            .fold((0, 0), |(s, i), l| {
                (
                    s.saturating_add(l.self_cost),
                    i.saturating_add(l.inclusive_cost),
                )
            })
    }
}

/// Cost of `callee` (and what it called) when called directly from `caller`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallCost {
    pub caller: String,
    pub callee: String,
    pub cost: u64,
}

/// Why profiler output could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{format} profile, line {line}: {message}")]
    Parse {
        format: &'static str,
        line: usize,
        message: String,
    },
    #[error("{format} profile holds no samples or costs; {hint}")]
    Empty {
        format: &'static str,
        hint: &'static str,
    },
}

/// Crate roots that ship with the toolchain.
const TOOLCHAIN_CRATES: &[&str] = &["std", "core", "alloc", "proc_macro", "test", "panic_unwind"];

impl FunctionCost {
    /// True when the function belongs to `crate_name` (a package name like `my-crate` works
    /// too), including its impl blocks (`<my_crate::X as core::fmt::Debug>::fmt`) and closures.
    /// Generic std code instantiated with the crate's types (`core::ptr::drop_in_place<my_crate::X>`)
    /// is not the crate's code.
    pub fn is_user_code(&self, crate_name: &str) -> bool {
        let crate_name = crate_name.replace('-', "_");
        let root = crate_root(&self.function);
        root == crate_name
    }

    /// True for functions of the Rust toolchain (std, core, alloc, ...), by path or by file.
    pub fn is_toolchain_code(&self) -> bool {
        TOOLCHAIN_CRATES.contains(&crate_root(&self.function))
            || self
                .file
                .as_deref()
                .is_some_and(|file| file.starts_with("/rustc/"))
    }

    /// The function's file relative to `root` when it lies inside it (for matching diff
    /// hunks), else `None`.
    pub fn file_in(&self, root: &Path) -> Option<String> {
        let file = Path::new(self.file.as_deref()?);
        let relative = file.strip_prefix(root).ok()?;
        Some(relative.to_string_lossy().replace('\\', "/"))
    }
}

impl Profile {
    /// The entry for `function`, if present.
    pub fn function(&self, function: &str) -> Option<&FunctionCost> {
        self.functions.iter().find(|f| f.function == function)
    }

    /// The profile as the user's crate sees it: only functions of `crate_name`, each charged
    /// with its own cost plus what it spent in code outside the crate that it called directly
    /// (std, dependencies), so that `format!` or `clone` costs land on the function that
    /// asked for them. Diff two attributed profiles to get suspects in the user's code.
    ///
    /// A callee's share that flows back into the crate one level down (a closure called by
    /// `Iterator::fold`) is not charged twice; deeper round trips are, which only over-states
    /// callers of such chains.
    pub fn attributed_to(&self, crate_name: &str) -> Profile {
        self.attributed_where(|f| f.is_user_code(crate_name))
    }

    /// [`Self::attributed_to`] with any notion of "the user's code", for example
    /// `|f| f.file_in(repo_root).is_some()` (functions whose source lies in the repository).
    pub fn attributed_where(&self, is_user_code: impl Fn(&FunctionCost) -> bool) -> Profile {
        use std::collections::{HashMap, HashSet};
        let user: HashSet<&str> = self
            .functions
            .iter()
            .filter(|f| is_user_code(f))
            .map(|f| f.function.as_str())
            .collect();
        let is_user = |name: &str| user.contains(name);
        let inclusive: HashMap<&str, u64> = self
            .functions
            .iter()
            .map(|f| (f.function.as_str(), f.inclusive_cost))
            .collect();
        // Cost each outside function spends back in the crate (calls into user functions).
        let mut back_in_crate: HashMap<&str, u64> = HashMap::new();
        for call in &self.calls {
            if !is_user(&call.caller) && is_user(&call.callee) {
                *back_in_crate.entry(call.caller.as_str()).or_default() += call.cost;
            }
        }
        let user_share = |outside: &str| -> f64 {
            match inclusive.get(outside) {
                Some(&total) if total > 0 => {
                    let back = back_in_crate.get(outside).copied().unwrap_or(0);
                    (back as f64 / total as f64).min(1.0)
                }
                _ => 0.0,
            }
        };
        let mut charged: HashMap<&str, f64> = HashMap::new();
        for call in &self.calls {
            if is_user(&call.caller) && !is_user(&call.callee) {
                *charged.entry(call.caller.as_str()).or_default() +=
                    call.cost as f64 * (1.0 - user_share(&call.callee));
            }
        }
        let mut functions: Vec<FunctionCost> = self
            .functions
            .iter()
            .filter(|f| is_user(&f.function))
            .map(|f| {
                let outside = charged.get(f.function.as_str()).copied().unwrap_or(0.0);
                FunctionCost {
                    self_cost: f.self_cost.saturating_add(outside.round() as u64),
                    ..f.clone()
                }
            })
            .collect();
        functions.sort_by(|a, b| {
            b.self_cost
                .cmp(&a.self_cost)
                .then(a.function.cmp(&b.function))
        });
        let calls = self
            .calls
            .iter()
            .filter(|c| is_user(&c.caller) && is_user(&c.callee))
            .cloned()
            .collect();
        Profile {
            unit: self.unit.clone(),
            total: self.total,
            functions,
            calls,
            lines: self.lines.clone(),
            stacks: Vec::new(),
        }
    }
}

/// First path segment of a function name, skipping impl-block syntax: `<a::B as c::D>::f`
/// and `<&mut a::B>::f` give `a`.
fn crate_root(function: &str) -> &str {
    let mut rest = function.trim_start();
    loop {
        let before = rest;
        rest = rest.trim_start_matches(['<', '&', '*', ' ']);
        for prefix in ["mut ", "const ", "dyn ", "impl "] {
            if let Some(stripped) = rest.strip_prefix(prefix) {
                rest = stripped;
            }
        }
        if rest == before {
            break;
        }
    }
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// Demangle a symbol (legacy `_ZN...E` or v0 `_R...`) and drop the `::h0123456789abcdef`
/// hash, so that the same function has the same name in both profiles.
pub(crate) fn clean_symbol(symbol: &str) -> String {
    let symbol = symbol.trim();
    let demangled = match rustc_demangle::try_demangle(symbol) {
        // `{:#}` prints without the hash suffix.
        Ok(demangled) => format!("{demangled:#}"),
        Err(_) => symbol.to_owned(),
    };
    strip_hash(&demangled).to_owned()
}

fn strip_hash(name: &str) -> &str {
    if let Some(index) = name.rfind("::h") {
        let hash = &name[index + 3..];
        if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) {
            return &name[..index];
        }
    }
    name
}

/// Accumulates costs per function while a parser walks its input.
#[derive(Default)]
pub(crate) struct Accumulator {
    index: std::collections::HashMap<String, usize>,
    entries: Vec<Entry>,
    calls: std::collections::HashMap<(String, String), u64>,
    /// file -> line -> (self, inclusive); keyed by file first so that a lookup allocates
    /// nothing.
    lines: std::collections::HashMap<String, std::collections::HashMap<u32, (u64, u64)>>,
}

#[derive(Default)]
struct Entry {
    function: String,
    self_cost: u64,
    inclusive_cost: u64,
    /// Per file: cost and line range seen, to pick the function's own file and its span.
    files: Vec<FileStat>,
}

struct FileStat {
    file: String,
    cost: u64,
    lines: Option<(u32, u32)>,
}

impl Entry {
    fn record_position(&mut self, file: &str, line: u32, cost: u64) {
        let stat = self.file_stat(file);
        stat.cost = stat.cost.saturating_add(cost);
        if line > 0 {
            stat.lines = Some(match stat.lines {
                Some((low, high)) => (low.min(line), high.max(line)),
                None => (line, line),
            });
        }
    }

    fn file_stat(&mut self, file: &str) -> &mut FileStat {
        // The function's own file is nearly always the last one used: check it first.
        if let Some(last) = self.files.last()
            && last.file == file
        {
            let index = self.files.len() - 1;
            return &mut self.files[index];
        }
        let index = match self.files.iter().position(|s| s.file == file) {
            Some(index) => index,
            None => {
                self.files.push(FileStat {
                    file: file.to_owned(),
                    cost: 0,
                    lines: None,
                });
                self.files.len() - 1
            }
        };
        &mut self.files[index]
    }
}

impl Accumulator {
    /// Index of `function`'s entry, created on first use. Parsers that see many cost lines
    /// per function keep it to skip the name lookup.
    pub(crate) fn slot(&mut self, function: &str) -> usize {
        match self.index.get(function) {
            Some(index) => *index,
            None => {
                self.entries.push(Entry {
                    function: function.to_owned(),
                    ..Entry::default()
                });
                self.index
                    .insert(function.to_owned(), self.entries.len() - 1);
                self.entries.len() - 1
            }
        }
    }

    fn entry(&mut self, function: &str) -> &mut Entry {
        let slot = self.slot(function);
        &mut self.entries[slot]
    }

    /// Self and inclusive cost at `file:line` of the function in `slot` (see [`Self::slot`]).
    pub(crate) fn add_own_cost_at(&mut self, slot: usize, file: &str, line: u32, cost: u64) {
        let Some(entry) = self.entries.get_mut(slot) else {
            return;
        };
        entry.self_cost = entry.self_cost.saturating_add(cost);
        entry.inclusive_cost = entry.inclusive_cost.saturating_add(cost);
        entry.record_position(file, line, cost);
    }

    pub(crate) fn add_self(&mut self, function: &str, cost: u64) {
        let entry = self.entry(function);
        entry.self_cost = entry.self_cost.saturating_add(cost);
    }

    pub(crate) fn add_inclusive(&mut self, function: &str, cost: u64) {
        let entry = self.entry(function);
        entry.inclusive_cost = entry.inclusive_cost.saturating_add(cost);
    }

    /// Cost at a source line; `own` is false for costs of calls made from it.
    pub(crate) fn add_line(&mut self, file: &str, line: u32, cost: u64, own: bool) {
        if line == 0 || file.is_empty() || file == "???" {
            return;
        }
        if !self.lines.contains_key(file) {
            self.lines.insert(file.to_owned(), Default::default());
        }
        let Some(by_line) = self.lines.get_mut(file) else {
            return;
        };
        let (self_cost, inclusive) = by_line.entry(line).or_insert((0, 0));
        if own {
            *self_cost = self_cost.saturating_add(cost);
        }
        *inclusive = inclusive.saturating_add(cost);
    }

    pub(crate) fn add_call(&mut self, caller: &str, callee: &str, cost: u64) {
        let total = self
            .calls
            .entry((caller.to_owned(), callee.to_owned()))
            .or_insert(0);
        *total = total.saturating_add(cost);
    }

    /// Record that `function`'s own code at `file:line` carried `cost`.
    pub(crate) fn add_position(&mut self, function: &str, file: &str, line: u32, cost: u64) {
        self.entry(function).record_position(file, line, cost);
    }

    /// Record the function's own file when the format states it (callgrind's `fl=`).
    pub(crate) fn set_file(&mut self, function: &str, file: &str) {
        self.entry(function).file_stat(file);
    }

    pub(crate) fn finish(self, unit: &str, total: u64, pinned_files: bool) -> Profile {
        let mut functions: Vec<FunctionCost> = self
            .entries
            .into_iter()
            .map(|entry| {
                // callgrind names the function's file (the first one recorded); perf only
                // shows where costs landed, so the busiest file is taken.
                let own = if pinned_files {
                    entry.files.first()
                } else {
                    entry.files.iter().max_by_key(|stat| stat.cost)
                };
                let file = own.map(|stat| stat.file.clone());
                let (start_line, end_line) = own
                    .and_then(|stat| stat.lines)
                    .map_or((None, None), |(low, high)| (Some(low), Some(high)));
                FunctionCost {
                    function: entry.function,
                    file: file.filter(|f| !f.is_empty() && f != "???"),
                    start_line,
                    end_line,
                    self_cost: entry.self_cost,
                    inclusive_cost: entry
                        .inclusive_cost
                        .max(entry.self_cost)
                        .min(total.max(entry.self_cost)),
                }
            })
            .collect();
        functions.sort_by(|a, b| {
            b.self_cost
                .cmp(&a.self_cost)
                .then(b.inclusive_cost.cmp(&a.inclusive_cost))
                .then(a.function.cmp(&b.function))
        });
        let mut calls: Vec<CallCost> = self
            .calls
            .into_iter()
            .map(|((caller, callee), cost)| CallCost {
                caller,
                callee,
                cost,
            })
            .collect();
        calls.sort_by(|a, b| {
            b.cost
                .cmp(&a.cost)
                .then_with(|| a.caller.cmp(&b.caller))
                .then_with(|| a.callee.cmp(&b.callee))
        });
        let mut lines: Vec<LineCost> = self
            .lines
            .into_iter()
            .flat_map(|(file, by_line)| {
                by_line
                    .into_iter()
                    .map(move |(line, (self_cost, inclusive_cost))| LineCost {
                        file: file.clone(),
                        line,
                        self_cost,
                        inclusive_cost,
                    })
            })
            .collect();
        lines.sort_by(|a, b| a.file.cmp(&b.file).then(a.line.cmp(&b.line)));
        Profile {
            unit: unit.to_owned(),
            total,
            functions,
            calls,
            lines,
            stacks: Vec::new(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn cost(function: &str, file: Option<&str>) -> FunctionCost {
        FunctionCost {
            function: function.into(),
            file: file.map(Into::into),
            start_line: None,
            end_line: None,
            self_cost: 0,
            inclusive_cost: 0,
        }
    }

    #[test]
    fn demangles_and_strips_hashes() {
        assert_eq!(
            clean_symbol("_ZN4prof5parse9normalize17h0123456789abcdefE"),
            "prof::parse::normalize"
        );
        assert_eq!(
            clean_symbol("prof::tally::h0123456789abcdef"),
            "prof::tally"
        );
        // v0 mangling
        assert_eq!(clean_symbol("_RNvCs1234_4prof5tally"), "prof::tally");
        assert_eq!(clean_symbol("memcpy"), "memcpy");
        // Not a hash: kept.
        assert_eq!(clean_symbol("a::hello"), "a::hello");
    }

    #[test]
    fn user_code_and_toolchain_code() {
        assert!(cost("my_crate::parse", None).is_user_code("my-crate"));
        assert!(cost("<my_crate::X as core::fmt::Debug>::fmt", None).is_user_code("my_crate"));
        assert!(cost("<&mut my_crate::X>::go", None).is_user_code("my_crate"));
        assert!(cost("my_crate::main::{{closure}}", None).is_user_code("my_crate"));
        assert!(!cost("core::ptr::drop_in_place<my_crate::X>", None).is_user_code("my_crate"));
        assert!(!cost("my_crate_extra::f", None).is_user_code("my_crate"));
        assert!(cost("alloc::vec::Vec<T>::push", None).is_toolchain_code());
        assert!(
            cost(
                "hashbrown::raw::RawTable<T>::find",
                Some("/rustc/abc/library/std/src/x.rs")
            )
            .is_toolchain_code()
        );
        assert!(!cost("my_crate::parse", Some("/repo/src/lib.rs")).is_toolchain_code());
    }

    #[test]
    fn attribution_folds_outside_callees_into_user_callers() {
        let f = |name: &str, self_cost, inclusive_cost| FunctionCost {
            self_cost,
            inclusive_cost,
            ..cost(name, Some("/r/src/lib.rs"))
        };
        let call = |caller: &str, callee: &str, cost| CallCost {
            caller: caller.into(),
            callee: callee.into(),
            cost,
        };
        // app::run (10) -> alloc::fmt::format (40) ; app::run -> core::iter::fold (50 incl.)
        // -> app::run::{{closure}} (30): fold's own 20 goes to run, the closure keeps its 30.
        let profile = Profile {
            unit: "instructions".into(),
            total: 100,
            functions: vec![
                f("alloc::fmt::format", 40, 40),
                f("app::run::{{closure}}", 30, 30),
                f("core::iter::fold", 20, 50),
                f("app::run", 10, 100),
            ],
            calls: vec![
                call("app::run", "alloc::fmt::format", 40),
                call("app::run", "core::iter::fold", 50),
                call("core::iter::fold", "app::run::{{closure}}", 30),
            ],
            lines: Vec::new(),
            stacks: Vec::new(),
        };
        let user = profile.attributed_to("app");
        let costs: Vec<(&str, u64)> = user
            .functions
            .iter()
            .map(|f| (f.function.as_str(), f.self_cost))
            .collect();
        assert_eq!(costs, vec![("app::run", 70), ("app::run::{{closure}}", 30)]);
        assert_eq!(user.total, 100);
    }

    #[test]
    fn file_relative_to_a_root() {
        let f = cost("a::b", Some("/work/repo/src/lib.rs"));
        assert_eq!(
            f.file_in(Path::new("/work/repo")).as_deref(),
            Some("src/lib.rs")
        );
        assert_eq!(f.file_in(Path::new("/elsewhere")), None);
    }
}
