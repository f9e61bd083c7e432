//! Profiler output into per-function costs.
