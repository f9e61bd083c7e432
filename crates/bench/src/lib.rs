//! Running-side helpers of perf-fixer that know about benchmark tools but not about git or
//! GitHub: adapters that reduce one run's output to one value per benchmark (`collect`), and
//! parsers that turn profiler output into per-function costs (`profile`).

mod adapter;
pub mod profile;

pub use adapter::{AdapterError, Collected, collect, prepare};
