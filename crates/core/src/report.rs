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
    pub base: RevInfo,
    pub head: RevInfo,
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
            benchmarks,
            culprit: None,
            fix: None,
            validation_commands: Vec::new(),
            bisect: None,
            suspects: Vec::new(),
            attempts: Vec::new(),
            stage_timings: Vec::new(),
            notes: Vec::new(),
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
