//! The engine: everything perf-fixer does on a checkout, with no knowledge of GitHub or
//! Postgres. It takes a repository, a base and a head, and returns a report.

pub mod branch;
pub mod compare;
pub mod fix;
pub mod git;
pub mod measure;
pub mod profiling;
pub mod spans;
pub mod symbols;
pub mod validate;
#[cfg(test)]
mod testutil;
pub mod bisect;
pub mod ddmin;
pub mod hunks;
pub mod localize;
pub mod strategies;
pub mod runner;
pub mod sandbox;
pub mod secret;
