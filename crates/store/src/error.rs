//! The one error type of the store. Messages say what failed and what to do; none of them
//! carries a database password (URLs are redacted before they reach an error).

/// Anything the store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `DATABASE_URL` could not be parsed.
    #[error(
        "invalid DATABASE_URL {url}: {reason}; expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
    )]
    InvalidUrl { url: String, reason: String },

    /// The database could not be reached or refused the login.
    #[error(
        "cannot connect to Postgres at {url}: {reason}; check DATABASE_URL and that the server is running"
    )]
    Connect { url: String, reason: String },

    /// Applying or reverting the embedded migrations failed.
    #[error(
        "database migration failed: {0}; run `perf-fixer migrate` against a reachable database"
    )]
    Migrate(#[from] sqlx::migrate::MigrateError),

    /// A query failed (connection lost, constraint violated, ...).
    #[error("database query failed: {0}")]
    Database(#[from] sqlx::Error),

    /// The worker no longer holds the job's lease: it expired and the reaper re-queued the job,
    /// or the job finished or was cancelled. The worker must stop working on the job.
    #[error(
        "job {job_id} is no longer leased to worker {worker_id} (the lease expired, or the job finished or was cancelled); stop working on it"
    )]
    LeaseLost { job_id: i64, worker_id: String },

    /// No job with this id.
    #[error("job {0} does not exist")]
    JobNotFound(i64),

    /// An enqueue kept racing with the active job of the same key finishing.
    #[error(
        "could not enqueue a job for {repo}@{head_sha}: the active job kept changing state; retry"
    )]
    EnqueueContended { repo: String, head_sha: String },

    /// A delivery batch's transaction could not be started or committed: none of its
    /// deliveries is known to be stored.
    #[error(
        "the webhook deliveries could not be committed: {reason}; GitHub's redelivery stores them (one already stored answers duplicate)"
    )]
    BatchFailed { reason: String },

    /// A delivery id vanished (pruned) between the duplicate check and the insert; retrying
    /// stores it.
    #[error("delivery {delivery_id} was pruned while it was being recorded; retry")]
    DeliveryRaced { delivery_id: String },

    /// The store's delivery writer stopped before answering: the delivery may or may not be
    /// stored.
    #[error(
        "the delivery writer stopped before delivery {delivery_id} was answered; redeliver it (if it was stored, the redelivery answers duplicate)"
    )]
    WriterStopped { delivery_id: String },
}

impl StoreError {
    /// True when the worker lost its lease and must abandon the job.
    pub fn is_lease_lost(&self) -> bool {
        matches!(self, StoreError::LeaseLost { .. })
    }
}
