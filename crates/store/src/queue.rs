//! The job queue: enqueue, claim, heartbeat, complete, fail, reap, cancel, and reads.
//!
//! Every state change is one statement (CTEs write the job and its event together), so each
//! costs one round trip and cannot be half applied. A claim is a single statement too (pick
//! the oldest due job with `SKIP LOCKED`, lease it, log it), so a job costs the queue two round
//! trips, claim and complete, neither of which waits for a WAL flush.
//!
//! Durability: enqueues (and the deliveries they come with) commit synchronously, since GitHub
//! is told 202 afterwards. The worker-side statements (claim, heartbeat, complete) set
//! `synchronous_commit = off` for their own transaction only (`set_config(.., true)` in a
//! CTE, the one-statement form of `SET LOCAL`): they do not wait for the WAL flush (0.3 to
//! 2.4 ms per fdatasync on this class of disk, depending on what else writes), which would
//! cap a worker at a few hundred jobs per second. Postgres stays consistent and writes these
//! commits out within `wal_writer_delay` (200 ms); only a database crash in that window
//! forgets them, which the queue already tolerates:
//!
//! - a forgotten claim leaves the job queued, so it is claimed again (the worker that had it
//!   loses its lease at its next heartbeat and stops);
//! - a forgotten heartbeat only shortens the lease back to the previous one;
//! - a forgotten complete leaves the job running until its lease expires and the reaper
//!   re-queues it; the re-run is idempotent (the progress comment is found by its marker, the
//!   fix pull request by its branch), so the cost is a repeated run, never a wrong result.
//!
//! `fail` and `finish_cancelled` stay synchronous: they happen once per failed or cancelled
//! attempt, not per job, so the flush costs nothing measurable, and a failure's retry time and
//! error stay exactly as reported on the pull request.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;

use crate::model::{
    CancelTarget, Cancelled, Enqueued, FailOutcome, Heartbeat, Job, JobEvent, JobState, NewJob,
    QueueDepth, Reaped,
};
use crate::{Store, StoreError};

/// Wakes listeners for committed jobs (one notification per job, the id as payload). Sent
/// after the jobs' own (durable) commit and not inside it: a transaction that notifies holds
/// Postgres' global notify lock through its WAL flush, which would serialise every enqueue
/// behind one fsync at a time. This statement commits asynchronously (nothing durable
/// depends on it); a notification lost to a crash in between is caught by the workers'
/// periodic re-scan.
pub(crate) async fn notify_jobs<'e, E>(executor: E, job_ids: &[i64]) -> Result<(), StoreError>
where
    E: sqlx::PgExecutor<'e>,
{
    sqlx::query(
        "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))
         SELECT pg_notify('perf_fixer_jobs', id::text) FROM relaxed, unnest($1::bigint[]) AS id",
    )
    .bind(job_ids)
    .execute(executor)
    .await?;
    Ok(())
}

/// How often an enqueue retries when the conflicting active job finishes between the insert
/// and the look-up (each retry is a fresh attempt that normally succeeds).
const ENQUEUE_RETRIES: usize = 5;

async fn enqueue_on(
    conn: &mut PgConnection,
    job: &NewJob,
    default_max_attempts: i32,
) -> Result<Enqueued, StoreError> {
    let queued_message = crate::deliveries::queued_message(job);
    for _ in 0..ENQUEUE_RETRIES {
        let inserted: Option<i64> = sqlx::query_scalar(
            "WITH ins AS (
                INSERT INTO jobs (trigger, installation_id, repo, pr_number, base_sha, head_sha,
                                  head_ref, base_ref, requested_by, bench_filter, max_attempts,
                                  run_after)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, COALESCE($12, now()))
                ON CONFLICT (repo, head_sha, trigger) WHERE state IN ('queued', 'running')
                DO NOTHING
                RETURNING id
             ), ev AS (
                INSERT INTO job_events (job_id, stage, message) SELECT id, 'queued', $13 FROM ins
             )
             SELECT id FROM ins",
        )
        .bind(job.trigger.as_str())
        .bind(job.installation_id)
        .bind(&job.repo)
        .bind(job.pr_number)
        .bind(&job.base_sha)
        .bind(&job.head_sha)
        .bind(&job.head_ref)
        .bind(&job.base_ref)
        .bind(&job.requested_by)
        .bind(&job.bench_filter)
        .bind(job.max_attempts.unwrap_or(default_max_attempts))
        .bind(job.run_after)
        .bind(&queued_message)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(job_id) = inserted {
            return Ok(Enqueued {
                job_id,
                created: true,
            });
        }
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM jobs
             WHERE repo = $1 AND head_sha = $2 AND trigger = $3 AND state IN ('queued', 'running')",
        )
        .bind(&job.repo)
        .bind(&job.head_sha)
        .bind(job.trigger.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(job_id) = existing {
            return Ok(Enqueued {
                job_id,
                created: false,
            });
        }
        // The active job finished in between: try the insert again.
    }
    Err(StoreError::EnqueueContended {
        repo: job.repo.clone(),
        head_sha: job.head_sha.clone(),
    })
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl Store {
    /// Queues a job, or returns the active (queued or running) job with the same
    /// (repo, head SHA, trigger). A new job is announced on [`crate::JOBS_CHANNEL`].
    pub async fn enqueue(&self, job: &NewJob) -> Result<Enqueued, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let enqueued = enqueue_on(&mut conn, job, self.config.default_max_attempts).await?;
        if enqueued.created {
            notify_jobs(&mut *conn, &[enqueued.job_id]).await?;
        }
        Ok(enqueued)
    }

    /// Claims the oldest due queued job for `worker_id` (unique per worker process), leasing it
    /// for `lease` and counting an attempt. Concurrent claimers never get the same job; `None`
    /// when nothing is due.
    pub async fn claim(&self, worker_id: &str, lease: Duration) -> Result<Option<Job>, StoreError> {
        let job = sqlx::query_as::<_, Job>(
            "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true) AS sc),
             next AS (
                SELECT id FROM jobs
                WHERE state = 'queued' AND run_after <= now() AND attempts < max_attempts
                ORDER BY run_after, id
                LIMIT 1
                FOR UPDATE SKIP LOCKED
             ), claimed AS (
                UPDATE jobs j
                SET state = 'running', attempts = j.attempts + 1, lease_owner = $1,
                    lease_expires_at = now() + make_interval(secs => $2),
                    started_at = COALESCE(j.started_at, now()), updated_at = now()
                FROM next, relaxed WHERE j.id = next.id
                RETURNING j.*
             ), ev AS (
                INSERT INTO job_events (job_id, stage, message)
                SELECT id, 'claimed',
                       format('claimed by %s (attempt %s of %s)', lease_owner, attempts, max_attempts)
                FROM claimed
             )
             SELECT * FROM claimed",
        )
        .bind(worker_id)
        .bind(secs(lease))
        .fetch_optional(&self.pool)
        .await?;
        Ok(job)
    }

    /// Extends the lease of a running job by `lease` from now. Fails with
    /// [`StoreError::LeaseLost`] when `worker_id` no longer holds it: the worker must stop.
    pub async fn heartbeat(
        &self,
        job_id: i64,
        worker_id: &str,
        lease: Duration,
    ) -> Result<Heartbeat, StoreError> {
        let cancel_requested: Option<bool> = sqlx::query_scalar(
            "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true) AS sc)
             UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3), updated_at = now()
             FROM relaxed WHERE id = $1 AND state = 'running' AND lease_owner = $2
             RETURNING cancel_requested",
        )
        .bind(job_id)
        .bind(worker_id)
        .bind(secs(lease))
        .fetch_optional(&self.pool)
        .await?;
        match cancel_requested {
            Some(true) => Ok(Heartbeat::CancelRequested),
            Some(false) => Ok(Heartbeat::Continue),
            None => Err(lost(job_id, worker_id)),
        }
    }

    /// Marks a running job succeeded with its result.
    pub async fn complete(
        &self,
        job_id: i64,
        worker_id: &str,
        result: &Value,
    ) -> Result<(), StoreError> {
        let done: Option<i64> = sqlx::query_scalar(
            "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true) AS sc),
             done AS (
                UPDATE jobs
                SET state = 'succeeded', result = $3, error = NULL, lease_owner = NULL,
                    lease_expires_at = NULL, finished_at = now(), updated_at = now()
                FROM relaxed WHERE id = $1 AND state = 'running' AND lease_owner = $2
                RETURNING id
             ), ev AS (
                INSERT INTO job_events (job_id, stage, message) SELECT id, 'succeeded', 'finished' FROM done
             )
             SELECT id FROM done",
        )
        .bind(job_id)
        .bind(worker_id)
        .bind(result)
        .fetch_optional(&self.pool)
        .await?;
        done.map(|_| ()).ok_or_else(|| lost(job_id, worker_id))
    }

    /// Records a failed attempt. With `retry` and attempts left, the job is re-queued after an
    /// exponential backoff (`backoff_base * 2^(attempts-1)`, at most `backoff_max`); otherwise it
    /// fails for good. A job whose cancellation was requested ends cancelled.
    pub async fn fail(
        &self,
        job_id: i64,
        worker_id: &str,
        error: &str,
        retry: bool,
    ) -> Result<FailOutcome, StoreError> {
        let row: Option<(String, DateTime<Utc>)> = sqlx::query_as(
            "WITH f AS (
                UPDATE jobs
                SET state = CASE WHEN cancel_requested THEN 'cancelled'
                                 WHEN $4 AND attempts < max_attempts THEN 'queued'
                                 ELSE 'failed' END,
                    run_after = CASE WHEN NOT cancel_requested AND $4 AND attempts < max_attempts
                                     THEN now() + make_interval(secs =>
                                          LEAST($6, $5 * power(2, GREATEST(attempts - 1, 0))))
                                     ELSE run_after END,
                    finished_at = CASE WHEN NOT cancel_requested AND $4 AND attempts < max_attempts
                                       THEN NULL ELSE now() END,
                    error = $3, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
                WHERE id = $1 AND state = 'running' AND lease_owner = $2
                RETURNING id, state, run_after, attempts, max_attempts
             ), ev AS (
                INSERT INTO job_events (job_id, stage, message)
                SELECT id,
                       CASE state WHEN 'queued' THEN 'retry_scheduled' ELSE state END,
                       CASE state WHEN 'queued'
                            THEN format('attempt %s of %s failed: %s; retrying at %s',
                                        attempts, max_attempts, $3, run_after)
                            ELSE format('attempt %s of %s failed: %s', attempts, max_attempts, $3)
                       END
                FROM f
             )
             SELECT state, run_after FROM f",
        )
        .bind(job_id)
        .bind(worker_id)
        .bind(error)
        .bind(retry)
        .bind(secs(self.config.backoff_base))
        .bind(secs(self.config.backoff_max))
        .fetch_optional(&self.pool)
        .await?;
        let (state, run_after) = row.ok_or_else(|| lost(job_id, worker_id))?;
        Ok(match state.parse::<JobState>() {
            Ok(JobState::Queued) => FailOutcome::Retrying { run_after },
            Ok(JobState::Cancelled) => FailOutcome::Cancelled,
            _ => FailOutcome::Failed,
        })
    }

    /// Ends a running job as cancelled (after its worker killed the process group on
    /// [`Heartbeat::CancelRequested`]).
    pub async fn finish_cancelled(&self, job_id: i64, worker_id: &str) -> Result<(), StoreError> {
        let done: Option<i64> = sqlx::query_scalar(
            "WITH c AS (
                UPDATE jobs
                SET state = 'cancelled', lease_owner = NULL, lease_expires_at = NULL,
                    finished_at = now(), updated_at = now()
                WHERE id = $1 AND state = 'running' AND lease_owner = $2
                RETURNING id
             ), ev AS (
                INSERT INTO job_events (job_id, stage, message)
                SELECT id, 'cancelled', 'stopped by its worker after a cancel request' FROM c
             )
             SELECT id FROM c",
        )
        .bind(job_id)
        .bind(worker_id)
        .fetch_optional(&self.pool)
        .await?;
        done.map(|_| ()).ok_or_else(|| lost(job_id, worker_id))
    }

    /// Handles running jobs whose lease expired (their worker died or hung): re-queued with
    /// backoff while attempts remain (the lost attempt counts), failed once they are used up,
    /// cancelled if cancellation had been requested. Run it periodically from any process.
    pub async fn reap_expired(&self) -> Result<Reaped, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "WITH expired AS (
                SELECT id, lease_owner FROM jobs
                WHERE state = 'running' AND lease_expires_at < now()
                FOR UPDATE SKIP LOCKED
             ), r AS (
                UPDATE jobs j
                SET state = CASE WHEN j.cancel_requested THEN 'cancelled'
                                 WHEN j.attempts >= j.max_attempts THEN 'failed'
                                 ELSE 'queued' END,
                    run_after = CASE WHEN NOT j.cancel_requested AND j.attempts < j.max_attempts
                                     THEN now() + make_interval(secs =>
                                          LEAST($2, $1 * power(2, GREATEST(j.attempts - 1, 0))))
                                     ELSE j.run_after END,
                    error = CASE WHEN NOT j.cancel_requested AND j.attempts >= j.max_attempts
                                 THEN format('worker %s stopped renewing its lease on attempt %s of %s; giving up',
                                             expired.lease_owner, j.attempts, j.max_attempts)
                                 ELSE j.error END,
                    finished_at = CASE WHEN j.cancel_requested OR j.attempts >= j.max_attempts
                                       THEN now() ELSE NULL END,
                    lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
                FROM expired WHERE j.id = expired.id
                RETURNING j.id, j.state, j.attempts, j.max_attempts, expired.lease_owner AS previous_owner
             ), ev AS (
                INSERT INTO job_events (job_id, stage, message)
                SELECT id, 'lease_expired',
                       format('worker %s stopped renewing its lease on attempt %s of %s: %s',
                              previous_owner, attempts, max_attempts, state)
                FROM r
             )
             SELECT id, state FROM r ORDER BY id",
        )
        .bind(secs(self.config.backoff_base))
        .bind(secs(self.config.backoff_max))
        .fetch_all(&self.pool)
        .await?;
        let mut reaped = Reaped::default();
        for (id, state) in rows {
            match state.parse::<JobState>() {
                Ok(JobState::Queued) => reaped.requeued.push(id),
                Ok(JobState::Cancelled) => reaped.cancelled.push(id),
                _ => reaped.failed.push(id),
            }
        }
        if reaped.total() > 0 {
            tracing::info!(
                requeued = ?reaped.requeued,
                failed = ?reaped.failed,
                cancelled = ?reaped.cancelled,
                "reaped jobs whose lease expired"
            );
        }
        Ok(reaped)
    }

    /// Cancels the active jobs of `repo` that `target` names: queued ones at once, running
    /// ones by flagging them so their worker's next heartbeat says
    /// [`Heartbeat::CancelRequested`]. `reason` goes to each job's event log.
    pub async fn request_cancel(
        &self,
        repo: &str,
        target: &CancelTarget,
        reason: &str,
    ) -> Result<Cancelled, StoreError> {
        let (job_id, head_sha, pr_number, keep_head_sha) = match target {
            CancelTarget::Job(id) => (Some(*id), None, None, None),
            CancelTarget::HeadSha(sha) => (None, Some(sha.as_str()), None, None),
            CancelTarget::SupersededOnPr {
                pr_number,
                keep_head_sha,
            } => (None, None, Some(*pr_number), keep_head_sha.as_deref()),
        };
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "WITH targets AS (
                SELECT id FROM jobs
                WHERE repo = $1 AND state IN ('queued', 'running')
                  AND ($2::bigint IS NULL OR id = $2)
                  AND ($3::text IS NULL OR head_sha = $3)
                  AND ($4::bigint IS NULL OR pr_number = $4)
                  AND ($5::text IS NULL OR head_sha <> $5)
                ORDER BY id
                FOR UPDATE
             ), c AS (
                UPDATE jobs j
                SET state = CASE WHEN j.state = 'queued' THEN 'cancelled' ELSE j.state END,
                    cancel_requested = j.cancel_requested OR j.state = 'running',
                    finished_at = CASE WHEN j.state = 'queued' THEN now() ELSE j.finished_at END,
                    updated_at = now()
                FROM targets WHERE j.id = targets.id
                RETURNING j.id, j.state
             ), ev AS (
                INSERT INTO job_events (job_id, stage, message)
                SELECT id, CASE state WHEN 'cancelled' THEN 'cancelled' ELSE 'cancel_requested' END, $6
                FROM c
             )
             SELECT id, state FROM c ORDER BY id",
        )
        .bind(repo)
        .bind(job_id)
        .bind(head_sha)
        .bind(pr_number)
        .bind(keep_head_sha)
        .bind(reason)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Cancelled::default();
        for (id, state) in rows {
            if state == JobState::Cancelled.as_str() {
                out.cancelled.push(id);
            } else {
                out.signalled.push(id);
            }
        }
        Ok(out)
    }

    /// Cancels the active jobs of pull request `pr_number` whose head is not `new_head_sha`
    /// (`None`: all of them, for a closed pull request).
    pub async fn cancel_superseded(
        &self,
        repo: &str,
        pr_number: i64,
        new_head_sha: Option<&str>,
    ) -> Result<Cancelled, StoreError> {
        let reason = match new_head_sha {
            Some(sha) => format!("superseded: the pull request head moved to {sha}"),
            None => "the pull request was closed".to_owned(),
        };
        let target = CancelTarget::SupersededOnPr {
            pr_number,
            keep_head_sha: new_head_sha.map(str::to_owned),
        };
        self.request_cancel(repo, &target, &reason).await
    }

    /// Appends to a job's progress log; returns the event id.
    pub async fn add_event(
        &self,
        job_id: i64,
        stage: &str,
        message: &str,
        data: Option<&Value>,
    ) -> Result<i64, StoreError> {
        let id = sqlx::query_scalar(
            "INSERT INTO job_events (job_id, stage, message, data) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(job_id)
        .bind(stage)
        .bind(message)
        .bind(data)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::JobNotFound(job_id),
            _ => StoreError::Database(e),
        })?;
        Ok(id)
    }

    /// A job's progress log, oldest first.
    pub async fn events(&self, job_id: i64) -> Result<Vec<JobEvent>, StoreError> {
        let events = sqlx::query_as::<_, JobEvent>(
            "SELECT id, job_id, at, stage, message, data FROM job_events WHERE job_id = $1 ORDER BY id",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(events)
    }

    pub async fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        let job = sqlx::query_as::<_, Job>("SELECT * FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(job)
    }

    /// Jobs, newest first.
    pub async fn list_jobs(&self, limit: i64, offset: i64) -> Result<Vec<Job>, StoreError> {
        let jobs =
            sqlx::query_as::<_, Job>("SELECT * FROM jobs ORDER BY id DESC LIMIT $1 OFFSET $2")
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
        Ok(jobs)
    }

    /// Jobs of one pull request, newest first (for `/perf-fix status`).
    pub async fn jobs_for_pr(
        &self,
        repo: &str,
        pr_number: i64,
        limit: i64,
    ) -> Result<Vec<Job>, StoreError> {
        let jobs = sqlx::query_as::<_, Job>(
            "SELECT * FROM jobs WHERE repo = $1 AND pr_number = $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(repo)
        .bind(pr_number)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(jobs)
    }

    /// How many jobs are in each state.
    pub async fn queue_depth_by_state(&self) -> Result<QueueDepth, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, count(*) FROM jobs GROUP BY state")
                .fetch_all(&self.pool)
                .await?;
        let mut depth = QueueDepth::default();
        for (state, n) in rows {
            if let Ok(state) = state.parse::<JobState>() {
                depth.set(state, n);
            }
        }
        Ok(depth)
    }

    /// Remembers the job's progress comment, so later updates edit it in place.
    pub async fn set_comment_id(&self, job_id: i64, comment_id: i64) -> Result<(), StoreError> {
        self.set_id_column(
            "UPDATE jobs SET comment_id = $2, updated_at = now() WHERE id = $1",
            job_id,
            comment_id,
        )
        .await
    }

    /// Remembers the job's `perf-fixer` check run.
    pub async fn set_check_run_id(&self, job_id: i64, check_run_id: i64) -> Result<(), StoreError> {
        self.set_id_column(
            "UPDATE jobs SET check_run_id = $2, updated_at = now() WHERE id = $1",
            job_id,
            check_run_id,
        )
        .await
    }

    /// Records the commits a job turned out to be about (a comment job is queued with the pull
    /// request's ref as its head; its worker resolves the SHAs). False, with nothing changed,
    /// when another active job already has this head for the same repository and trigger
    /// (the one-active-job-per-key rule); [`StoreError::JobNotFound`] when there is no such job.
    pub async fn set_job_shas(
        &self,
        job_id: i64,
        head_sha: &str,
        base_sha: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET head_sha = $2, base_sha = $3, updated_at = now() WHERE id = $1",
        )
        .bind(job_id)
        .bind(head_sha)
        .bind(base_sha)
        .execute(&self.pool)
        .await;
        match done {
            Ok(done) if done.rows_affected() == 0 => Err(StoreError::JobNotFound(job_id)),
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(false),
            Err(e) => Err(StoreError::Database(e)),
        }
    }

    async fn set_id_column(
        &self,
        sql: &'static str,
        job_id: i64,
        value: i64,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(sql)
            .bind(job_id)
            .bind(value)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::JobNotFound(job_id));
        }
        Ok(())
    }
}

fn lost(job_id: i64, worker_id: &str) -> StoreError {
    StoreError::LeaseLost {
        job_id,
        worker_id: worker_id.to_owned(),
    }
}
