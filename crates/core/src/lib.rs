//! Plain data and pure logic shared by every perf-fixer crate: the repository config, benchmark
//! samples, statistics and verdicts, the report model and its rendering. No I/O lives here.

pub mod config;
pub mod render;
pub mod report;
pub mod sample;
pub mod stats;
pub mod units;
