//! perf-fixer's GitHub side: webhook signatures, event parsing, the `/perf-fix` command parser,
//! and (in [`client`]) the GitHub App client that publishes results.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod command;
pub mod event;
mod prune;
pub mod webhook;

pub use command::{Command, CommandError, parse_commands};
pub use event::{Event, EventError, parse_event};
pub use webhook::{SignatureError, WebhookSecrets, verify_signature};
pub mod auth;
pub mod client;
pub mod retry;

pub use auth::{AppCredentials, CredentialsError};
pub use client::{
    CheckConclusion, CheckRunState, CheckStatus, DEFAULT_API_URL, GitHub, GitHubError,
    InstallationClient, Permission, PrRef, PullRequest, Reaction, job_marker,
};
pub use retry::RetryPolicy;

#[cfg(feature = "testing")]
pub mod testing;
