//! The engine: everything perf-fixer does on a checkout, with no knowledge of GitHub or
//! Postgres. It takes a repository, a base and a head, and returns a report.

pub mod bisect;
pub mod branch;
pub mod compare;
pub mod ddmin;
pub mod fix;
pub mod git;
pub mod hunks;
pub mod localize;
pub mod measure;
pub mod profiling;
pub mod runner;
pub mod sandbox;
pub mod secret;
pub mod spans;
pub mod strategies;
pub mod symbols;
#[cfg(test)]
mod testutil;
pub mod validate;
