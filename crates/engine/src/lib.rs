//! See the crate description in Cargo.toml.

pub mod runner;
pub mod sandbox;
pub mod secret;
