//! perf-fixer's GitHub side: webhook signatures, event parsing, the `/perf-fix` command parser,
//! and (in [`client`]) the GitHub App client that publishes results.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod command;
pub mod event;
pub mod webhook;

pub use command::{Command, CommandError, parse_commands};
pub use event::{Event, EventError, parse_event};
pub use webhook::{SignatureError, WebhookSecrets, verify_signature};
