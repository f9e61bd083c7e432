//! `.perf-fixer.toml`: the repository's own settings (DESIGN.md, "Repository config").

use serde::{Deserialize, Serialize};

/// Where the config lives, relative to the repository root.
pub const CONFIG_FILE: &str = ".perf-fixer.toml";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepoConfig {
    pub bench: BenchConfig,
    pub test: Option<TestConfig>,
    pub gate: GateConfig,
    pub fix: FixConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BenchFormat {
    Criterion,
    Gungraun,
    Libtest,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchConfig {
    /// Shell command line, run from the repository root.
    pub command: String,
    pub format: BenchFormat,
    /// Where results land, relative to the repository root (criterion: its output directory;
    /// json: the file the command writes). `None` means the command's stdout is parsed.
    pub output: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestConfig {
    pub command: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateConfig {
    /// Smallest change worth acting on, in percent.
    pub threshold_pct: f64,
    /// Patch rounds per regression.
    pub max_attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixConfig {
    /// Globs (relative to the repository root) of the files patches may touch.
    pub paths: Vec<String>,
}
