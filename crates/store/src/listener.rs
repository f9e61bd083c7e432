//! Waking workers when a job is queued.
//!
//! A background task owns the `PgListener` and turns notifications into a `Notify` permit, so
//! waiting with a timeout never cancels a half-read protocol message. Notifications can be
//! lost (connection drops, jobs whose backoff ends), so workers also re-scan when `wait`
//! times out.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::StoreError;

/// The channel `enqueue` notifies, with the job id as payload.
pub const JOBS_CHANNEL: &str = "perf_fixer_jobs";

/// Why [`JobListener::wait`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// A job was queued (or the listener reconnected and may have missed one): claim now.
    Notified,
    /// Nothing heard within the timeout: re-scan anyway.
    TimedOut,
}

/// Listens on [`JOBS_CHANNEL`] on a connection it keeps from the pool. Dropping it stops the
/// background task.
#[derive(Debug)]
pub struct JobListener {
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

impl JobListener {
    /// Subscribes before returning, so a job queued after this call wakes the listener.
    pub async fn connect(pool: &PgPool) -> Result<Self, StoreError> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(JOBS_CHANNEL).await?;
        let wake = Arc::new(Notify::new());
        let task = tokio::spawn(forward(listener, Arc::clone(&wake)));
        Ok(JobListener { wake, task })
    }

    /// Returns at the first notification since the previous `wait` (several coalesce into
    /// one), or after `timeout`.
    pub async fn wait(&self, timeout: Duration) -> Wake {
        match tokio::time::timeout(timeout, self.wake.notified()).await {
            Ok(()) => Wake::Notified,
            Err(_) => Wake::TimedOut,
        }
    }
}

impl Drop for JobListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(mut listener: PgListener, wake: Arc<Notify>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(_)) => wake.notify_one(),
            // The connection dropped and was re-established; a notification may have been
            // missed in between, so wake the worker to re-scan.
            Ok(None) => wake.notify_one(),
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => {
                tracing::warn!(%error, "job listener lost its connection; retrying in 1s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                wake.notify_one();
            }
        }
    }
}
