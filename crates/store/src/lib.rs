#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

//! perf-fixer's Postgres storage: the job queue (claimed with `FOR UPDATE SKIP LOCKED`, woken
//! by `LISTEN/NOTIFY`, kept alive by leases and heartbeats, re-queued by a reaper), the job
//! event log, webhook deliveries (for idempotency) and App installations.
//!
//! Every query is checked at run time (`sqlx::query`), so building needs no database.
//! Start with [`connect`], [`migrate`] and [`Store::new`].

mod deliveries;
mod error;
mod group_commit;
mod installations;
mod listener;
mod model;
mod queue;
mod url;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

pub use error::StoreError;
pub use group_commit::MAX_BATCH as MAX_DELIVERY_BATCH;
pub use listener::{JOBS_CHANNEL, JobListener, Wake};
pub use model::{
    CancelTarget, Cancelled, Delivery, DeliveryOutcome, DeliveryWrite, Enqueued, FailOutcome,
    Heartbeat, Installation, InstallationRepo, Job, JobEvent, JobNote, JobState, JobTrigger,
    NewDelivery, NewInstallation, NewJob, QueueDepth, Reaped, UnknownVariant,
};
pub use sqlx::PgPool;
pub use url::redact_url;

/// The migrations of the top-level `migrations/` folder, embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Connections a pool opens at most when built by [`connect`].
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;

/// Connects a pool to `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`) with
/// [`DEFAULT_MAX_CONNECTIONS`]. Errors name the URL without its password.
pub async fn connect(url: &str) -> Result<PgPool, StoreError> {
    connect_with(url, DEFAULT_MAX_CONNECTIONS).await
}

/// [`connect`] with a chosen pool size (each worker needs one connection at a time, plus one
/// held by each [`JobListener`]).
pub async fn connect_with(url: &str, max_connections: u32) -> Result<PgPool, StoreError> {
    let options = PgConnectOptions::from_str(url).map_err(|e| StoreError::InvalidUrl {
        url: redact_url(url),
        reason: url::scrub(&e.to_string(), url),
    })?;
    PgPoolOptions::new()
        .max_connections(max_connections)
        // A dead database should fail a readiness probe or a webhook quickly, not hang it.
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(|e| StoreError::Connect {
            url: redact_url(url),
            reason: url::scrub(&e.to_string(), url),
        })
}

/// Applies every pending migration (idempotent; safe at each start-up).
pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Reverts applied migrations newer than `target` (0: all of them), newest first.
pub async fn migrate_down(pool: &PgPool, target: i64) -> Result<(), StoreError> {
    MIGRATOR.undo(pool, target).await?;
    Ok(())
}

/// Retry and attempt policy of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// Claims a job gets when [`NewJob::max_attempts`] is `None`.
    pub default_max_attempts: i32,
    /// Delay before the first retry; doubled for each further attempt.
    pub backoff_base: Duration,
    /// Longest delay between attempts.
    pub backoff_max: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            default_max_attempts: 3,
            backoff_base: Duration::from_secs(30),
            backoff_max: Duration::from_secs(30 * 60),
        }
    }
}

/// The store: a pool plus the queue policy. Cheap to clone (the pool and the delivery writer
/// are shared).
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
    config: QueueConfig,
    writer: group_commit::DeliveryWriter,
}

impl Store {
    pub fn new(pool: PgPool) -> Self {
        Store::with_config(pool, QueueConfig::default())
    }

    pub fn with_config(pool: PgPool, config: QueueConfig) -> Self {
        Store {
            pool,
            config,
            writer: group_commit::DeliveryWriter::default(),
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    pub(crate) fn writer(&self) -> &group_commit::DeliveryWriter {
        &self.writer
    }

    /// A round trip to the database (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// A listener for new-job notifications on its own connection from this pool.
    pub async fn listener(&self) -> Result<JobListener, StoreError> {
        JobListener::connect(&self.pool).await
    }
}
