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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hunk {
    pub file: String,
    pub start_line: u32,
    pub end_line: u32,
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AfterSummary {
    pub name: String,
    pub median: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub peak_rss_kib: Option<u64>,
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
}
