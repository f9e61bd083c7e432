//! What one run of a benchmark command yields, before any statistics.

use serde::{Deserialize, Serialize};

/// One benchmark's figure from one run of the bench command: the adapter reduces whatever the
/// tool printed (criterion's samples, a libtest `bench:` line, an instruction count) to a single
/// value per run, so that runs of base and head can be compared pair by pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchValue {
    /// Stable identifier of the benchmark (criterion's full id, libtest's test path, ...).
    pub name: String,
    /// Unit of `value`, as shown to users: `ns/iter`, `instructions`, `ns`, ...
    pub unit: String,
    /// Lower is better for every unit perf-fixer compares (time, instructions, bytes).
    pub value: f64,
}

/// Everything a single run of the bench command produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub values: Vec<BenchValue>,
    /// Peak resident set size of the whole process tree, in KiB, when known.
    pub peak_rss_kib: Option<u64>,
}
