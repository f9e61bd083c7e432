//! The report contract (DESIGN.md, "Report contract"): what `compare --json`, `fix --report`
//! and the service's stored job result hold. Fields may be added; none renamed.

use serde::{Deserialize, Serialize};

pub const SCHEMA_VERSION: u32 = 1;

/// The overall answer for a base/head pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Regression,
    NoRegression,
    Inconclusive,
}

/// The answer for one benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BenchVerdict {
    Regressed,
    Improved,
    Unchanged,
    Inconclusive,
    /// Present at head only: nothing to compare against.
    OnlyHead,
    /// Present at base only: removed or renamed at head.
    OnlyBase,
}

impl BenchVerdict {
    /// The verdict in words, for tables and pages.
    pub fn word(self) -> &'static str {
        match self {
            BenchVerdict::Regressed => "regressed",
            BenchVerdict::Improved => "improved",
            BenchVerdict::Unchanged => "unchanged",
            BenchVerdict::Inconclusive => "inconclusive",
            BenchVerdict::OnlyHead => "new at head",
            BenchVerdict::OnlyBase => "gone at head",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevInfo {
    /// What the user asked for (`main`, `HEAD~3`, a SHA).
    pub rev: String,
    /// The full commit SHA it resolved to.
    pub sha: String,
}

/// Summary of one side's samples for one benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideSummary {
    pub median: f64,
    /// Bootstrap confidence interval of the median.
    pub ci_low: f64,
    pub ci_high: f64,
    pub samples: usize,
    /// Largest peak RSS seen over this side's runs, in KiB.
    pub peak_rss_kib: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkReport {
    pub name: String,
    pub unit: String,
    pub base: Option<SideSummary>,
    pub head: Option<SideSummary>,
    /// Head median over base median, minus one, in percent (positive: slower).
    pub change_pct: Option<f64>,
    /// Bootstrap interval of that change, in percent.
    pub change_ci_low_pct: Option<f64>,
    pub change_ci_high_pct: Option<f64>,
    /// Two-sided Mann-Whitney U p-value.
    pub p_value: Option<f64>,
    pub verdict: BenchVerdict,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hunk {
    pub file: String,
    pub start_line: u32,
    pub end_line: u32,
    /// Estimated share of the loss attributed to this hunk, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Culprit {
    pub commit: String,
    pub summary: String,
    pub file: Option<String>,
    pub function: Option<String>,
    pub hunks: Vec<Hunk>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchReport {
    pub strategy: String,
    pub description: String,
    pub files: Vec<String>,
    pub risk: Risk,
    pub risk_notes: String,
    /// This patch's share of the recovered time, in percent of head's median.
    pub gain_pct: Option<f64>,
    /// How well the tests cover the changed lines, in words (e.g. "3 tests call `parse`").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_coverage: Option<String>,
    /// Half the width of the confidence interval of the patch's effect, in percent: gains
    /// smaller than this are within noise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_margin_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AfterSummary {
    pub name: String,
    pub median: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub peak_rss_kib: Option<u64>,
    /// Fixed median over head median, minus one, in percent (negative: faster), with its
    /// bootstrap interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_vs_head_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_vs_head_ci_low_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_vs_head_ci_high_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixReport {
    pub branch: String,
    pub commit: String,
    /// How much of the regression the fix wins back, in percent (100: back to base).
    pub recovered_pct: f64,
    pub patches: Vec<PatchReport>,
    pub after: Vec<AfterSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub verdict: Verdict,
    /// The revision measured as the baseline: what was asked for, or the merge-base of it and
    /// head when head does not contain it (then `requested_base` is set).
    pub base: RevInfo,
    pub head: RevInfo,
    /// The base that was asked for, when head does not contain it (the base branch moved on
    /// after head forked): `base` is then their merge-base, so that the comparison measures
    /// the change head makes rather than the base branch's later work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_base: Option<RevInfo>,
    pub benchmarks: Vec<BenchmarkReport>,
    pub culprit: Option<Culprit>,
    pub fix: Option<FixReport>,
    pub validation_commands: Vec<String>,
    /// How the culprit was found: probes and skipped commits (absent for `compare`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bisect: Option<BisectReport>,
    /// Functions whose cost grew between the culprit's parent and the culprit, largest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suspects: Vec<SuspectReport>,
    /// Every candidate patch that was tried, accepted or not, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
    /// Wall-clock time per stage of the run, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stage_timings: Vec<StageTiming>,
    /// Things a maintainer should know that fit nowhere else (a test failing at head, a
    /// widened localization, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The call stacks of the profiled benchmark at the culprit's parent and at the culprit,
    /// for a differential flame graph (absent when there was no culprit or profiling failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flame_graph: Option<FlameGraphData>,
}

impl Report {
    /// A report with no culprit, fix or diagnosis yet: `compare` fills the benchmarks, `fix`
    /// the rest. Building reports through this keeps callers compiling when fields are added.
    pub fn new(
        verdict: Verdict,
        base: RevInfo,
        head: RevInfo,
        benchmarks: Vec<BenchmarkReport>,
    ) -> Self {
        Report {
            schema_version: SCHEMA_VERSION,
            verdict,
            base,
            head,
            requested_base: None,
            benchmarks,
            culprit: None,
            fix: None,
            validation_commands: Vec::new(),
            bisect: None,
            suspects: Vec::new(),
            attempts: Vec::new(),
            stage_timings: Vec::new(),
            notes: Vec::new(),
            flame_graph: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedCommit {
    pub commit: String,
    /// Why it could not be judged (e.g. "does not build").
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BisectReport {
    /// Commits between base (exclusive) and head (inclusive).
    pub commits: usize,
    /// How many commits were built and measured.
    pub probes: usize,
    #[serde(default)]
    pub skipped: Vec<SkippedCommit>,
    /// When skipped commits hide the boundary: every commit the culprit may be (oldest first).
    /// Empty when the culprit is known exactly.
    #[serde(default)]
    pub candidates: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuspectReport {
    pub function: String,
    pub file: Option<String>,
    pub start_line: Option<u32>,
    pub end_line: Option<u32>,
    /// Share of the total cost growth, in percent.
    pub share_pct: f64,
}

/// What became of one candidate patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    Accepted,
    /// Refused before building: outside `[fix] paths`, under `.github/`, a build script.
    PathRefused,
    BuildFailed,
    TestsFailed,
    /// Built and passed, but the regressed benchmarks did not recover significantly.
    NotFaster,
    /// Recovered, but another benchmark got slower or used more memory.
    RegressedOther,
    /// Not run: the attempt budget (`max_attempts`) or time ran out.
    NotRun,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub strategy: String,
    pub description: String,
    #[serde(default)]
    pub files: Vec<String>,
    pub outcome: AttemptOutcome,
    /// The evidence, in words ("parse/big: -1.2% [-3.0%, +0.4%], not significant").
    pub reason: String,
    /// Change of the regressed benchmark versus head, in percent, when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_vs_head_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageTiming {
    /// `measure`, `bisect`, `profile`, `localize`, `patch`, `validate`, `report`.
    pub stage: String,
    pub seconds: f64,
}

/// Folded call stacks of both profiles, heaviest first and capped (the engine keeps at most a
/// few hundred stacks of bounded depth, see `perf_fixer_engine::profiling`), with frame names
/// stored once: what a differential flame graph needs and no more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlameGraphData {
    /// What the costs count: `samples` (perf) or `instructions` (callgrind).
    pub unit: String,
    /// `perf` (sampled call stacks) or `callgrind` (stacks rebuilt from caller-callee costs,
    /// an approximation: a function's callees are assumed to cost the same share whoever
    /// calls it).
    pub source: String,
    /// Every frame name the stacks use, once.
    pub frames: Vec<String>,
    /// The culprit's parent.
    pub before: Vec<FoldedStack>,
    /// The culprit.
    pub after: Vec<FoldedStack>,
    /// Cost of the stacks left out by the cap, per side, so that shares stay honest.
    #[serde(default)]
    pub before_omitted: u64,
    #[serde(default)]
    pub after_omitted: u64,
}

/// One call stack and its cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoldedStack {
    /// Indexes into [`FlameGraphData::frames`], outermost caller first.
    pub frames: Vec<u32>,
    pub cost: u64,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn rev(sha: &str) -> RevInfo {
        RevInfo {
            rev: sha.into(),
            sha: sha.into(),
        }
    }

    #[test]
    fn flame_graph_is_optional_both_ways() {
        let report = Report::new(Verdict::Regression, rev("a"), rev("b"), Vec::new());
        let json = serde_json::to_value(&report).unwrap();
        assert!(json.get("flame_graph").is_none(), "{json}");
        // A report stored before the field existed still reads.
        let old: Report = serde_json::from_value(json).unwrap();
        assert_eq!(old.flame_graph, None);

        let mut report = report;
        report.flame_graph = Some(FlameGraphData {
            unit: "samples".into(),
            source: "perf".into(),
            frames: vec!["main".into(), "parse".into()],
            before: vec![FoldedStack {
                frames: vec![0, 1],
                cost: 3,
            }],
            after: vec![FoldedStack {
                frames: vec![0, 1],
                cost: 9,
            }],
            before_omitted: 0,
            after_omitted: 1,
        });
        let json = serde_json::to_string(&report).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
    }
}
