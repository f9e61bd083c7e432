//! The perf-fixer service: the HTTP server that receives GitHub's webhooks, and the workers
//! that claim jobs and drive the engine.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod app_env;
pub mod decide;
pub mod git;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod pages;
mod replies;
pub mod service;
pub mod settings;
pub mod setup;
pub mod worker;

pub use http::{AppState, BODY_LIMIT, router};
pub use worker::{Worker, WorkerConfig};
