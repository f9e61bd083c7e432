//! The perf-fixer service: the HTTP server that receives GitHub's webhooks, and the workers
//! that claim jobs and drive the engine.

pub mod settings;
