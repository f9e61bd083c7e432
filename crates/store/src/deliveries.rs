//! Webhook deliveries: `X-GitHub-Delivery` is stored in the same transaction as the job it
//! queues, so a redelivery queues nothing twice and a crash never keeps half of the pair.
//!
//! Each delivery costs one statement (a CTE that gates on the delivery id, inserts or joins the
//! job, logs its `queued` event and inserts the delivery pointing at the job), and deliveries
//! arriving together share one transaction and one synchronous commit (see
//! [`crate::group_commit`]): the commit's WAL flush, not the statements, is what a webhook
//! waits for, so a batch pays it once.

use std::time::Duration;

use sqlx::{Acquire, PgConnection, Postgres, Transaction};

use crate::model::{Delivery, DeliveryOutcome, DeliveryWrite, Enqueued, NewDelivery, NewJob};
use crate::queue::notify_jobs;
use crate::{Store, StoreError};

/// One delivery's statement. Steps, in data-flow order (each reads the previous one's output,
/// which fixes the order the data-modifying CTEs run in):
///
/// - `gate`: a fresh job id, only when a job is wanted and the delivery id is not stored yet
///   (as of the statement's snapshot; a concurrent duplicate is caught by `d` below).
/// - `j`: inserts the job under that id, or, when an active job has the same (repo, head SHA,
///   trigger), takes that job instead. `DO UPDATE` (a no-op write) rather than `DO NOTHING`
///   because it returns the conflicting row even when it was committed after this statement's
///   snapshot, so one round trip always yields the job id. `created` compares with the fresh
///   id: a joined job has another id.
/// - `ev`: the `queued` event of a new job.
/// - `note`: the caller's event for the job, new or joined (it reads `ev` only to run after
///   it, so the log reads in order).
/// - `d`: the delivery, pointing at the job. Its primary key is the idempotency check: a
///   redelivery inserts nothing.
///
/// Foreign keys (`deliveries.job_id`, `job_events.job_id`) are checked at the end of the
/// statement, so rows may point at the job inserted in the same statement.
const RECORD_SQL: &str = "WITH gate AS (
        SELECT nextval('jobs_id_seq'::regclass) AS new_id
        WHERE $7 AND NOT EXISTS (SELECT 1 FROM deliveries WHERE delivery_id = $1)
     ), j AS (
        INSERT INTO jobs (id, trigger, installation_id, repo, pr_number, base_sha, head_sha,
                          head_ref, base_ref, requested_by, bench_filter, max_attempts, run_after)
        SELECT new_id, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, COALESCE($19, now())
        FROM gate
        ON CONFLICT (repo, head_sha, trigger) WHERE state IN ('queued', 'running')
        DO UPDATE SET updated_at = jobs.updated_at
        RETURNING id, id = (SELECT new_id FROM gate) AS created
     ), ev AS (
        INSERT INTO job_events (job_id, stage, message) SELECT id, 'queued', $20 FROM j WHERE created
        RETURNING id
     ), note AS (
        INSERT INTO job_events (job_id, stage, message, data)
        SELECT id, $21, $22, $23 FROM j WHERE $21::text IS NOT NULL AND (SELECT count(*) FROM ev) >= 0
     ), d AS (
        INSERT INTO deliveries (delivery_id, event, action, installation_id, repo, outcome, job_id)
        VALUES ($1, $2, $3, $4, $5, $6, (SELECT id FROM j))
        ON CONFLICT (delivery_id) DO NOTHING
        RETURNING delivery_id
     )
     SELECT EXISTS (SELECT 1 FROM d), (SELECT id FROM j), (SELECT created FROM j)";

/// Empty strings and zeros stand in for the job columns of a delivery that queues nothing
/// (the `gate` step keeps them from being used).
fn placeholder_job() -> NewJob {
    NewJob::new(crate::JobTrigger::Manual, String::new(), String::new())
}

pub(crate) fn queued_message(job: &NewJob) -> String {
    match &job.requested_by {
        Some(who) => format!("queued by {} (requested by {who})", job.trigger),
        None => format!("queued by {}", job.trigger),
    }
}

/// Runs one delivery's statement on `conn` (inside the caller's transaction). Returns the
/// outcome and, when a job was created, its id (to notify after the commit).
async fn record_one(
    conn: &mut PgConnection,
    write: &DeliveryWrite,
    default_max_attempts: i32,
) -> Result<DeliveryOutcome, StoreError> {
    let delivery = &write.delivery;
    let placeholder;
    let job = match &write.job {
        Some(job) => job,
        None => {
            placeholder = placeholder_job();
            &placeholder
        }
    };
    let (recorded, job_id, created): (bool, Option<i64>, Option<bool>) = sqlx::query_as(RECORD_SQL)
        .bind(&delivery.id)
        .bind(&delivery.event)
        .bind(&delivery.action)
        .bind(delivery.installation_id)
        .bind(&delivery.repo)
        .bind(&delivery.outcome)
        .bind(write.job.is_some())
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
        .bind(queued_message(job))
        .bind(write.note.as_ref().map(|n| n.stage.as_str()))
        .bind(write.note.as_ref().map(|n| n.message.as_str()))
        .bind(write.note.as_ref().and_then(|n| n.data.as_ref()))
        .fetch_one(&mut *conn)
        .await?;
    let enqueued = job_id.map(|job_id| Enqueued {
        job_id,
        created: created.unwrap_or(false),
    });
    if !recorded {
        // Another transaction stored the same delivery id after this statement's snapshot
        // (a concurrent duplicate, e.g. in another server process). A job this statement
        // created for it must go; a joined job was only locked, which is harmless.
        if let Some(Enqueued {
            job_id,
            created: true,
        }) = enqueued
        {
            sqlx::query("DELETE FROM jobs WHERE id = $1")
                .bind(job_id)
                .execute(&mut *conn)
                .await?;
        }
        return Ok(DeliveryOutcome::AlreadySeen);
    }
    if write.job.is_some() && enqueued.is_none() {
        // `gate` saw the delivery id stored (so it made no job), yet `d` inserted it: it was
        // pruned in between. Fail this try; the savepoint retry runs it afresh.
        return Err(StoreError::DeliveryRaced {
            delivery_id: delivery.id.clone(),
        });
    }
    Ok(DeliveryOutcome::Recorded { job: enqueued })
}

/// Jobs created by `outcomes` (to announce once their transaction committed).
pub(crate) fn created_jobs<'a>(
    outcomes: impl IntoIterator<Item = &'a Result<DeliveryOutcome, StoreError>>,
) -> Vec<i64> {
    outcomes
        .into_iter()
        .filter_map(|o| match o {
            Ok(DeliveryOutcome::Recorded {
                job:
                    Some(Enqueued {
                        job_id,
                        created: true,
                    }),
            }) => Some(*job_id),
            _ => None,
        })
        .collect()
}

/// A batch whose statements ran: its transaction, still open, and each delivery's outcome
/// should it commit.
pub(crate) enum Staged {
    Open {
        tx: Transaction<'static, Postgres>,
        outcomes: Vec<Result<DeliveryOutcome, StoreError>>,
    },
    /// Nothing to commit: the outcomes are final.
    Done(Vec<Result<DeliveryOutcome, StoreError>>),
}

impl Staged {
    /// Commits (synchronously: the WAL is flushed before this returns) and gives the final
    /// outcomes. If the commit fails, none of the batch is known to be stored: every delivery
    /// that had succeeded fails (a redelivery of one that did commit answers "duplicate").
    pub(crate) async fn commit(self) -> Vec<Result<DeliveryOutcome, StoreError>> {
        match self {
            Staged::Done(outcomes) => outcomes,
            Staged::Open { tx, outcomes } => match tx.commit().await {
                Ok(()) => outcomes,
                Err(error) => outcomes
                    .into_iter()
                    .map(|o| o.and_then(|_| Err(batch_failed(&error))))
                    .collect(),
            },
        }
    }
}

impl Store {
    /// Records `delivery` and, when it is new, queues `job` (or joins the active job with the
    /// same key) in one transaction. A delivery id seen before returns
    /// [`DeliveryOutcome::AlreadySeen`] and changes nothing. Returns once the delivery is
    /// durably committed (synchronous commit), with new jobs announced on
    /// [`crate::JOBS_CHANNEL`].
    ///
    /// Concurrent calls are committed together by the store's delivery writer (group commit);
    /// each still gets its own outcome, and one that fails does not fail the others.
    pub async fn record_delivery_and_enqueue(
        &self,
        delivery: &NewDelivery,
        job: Option<&NewJob>,
    ) -> Result<DeliveryOutcome, StoreError> {
        self.record_delivery_write(DeliveryWrite {
            delivery: delivery.clone(),
            job: job.cloned(),
            note: None,
        })
        .await
    }

    /// [`Store::record_delivery_and_enqueue`] with a [`DeliveryWrite::note`] for the job's log,
    /// stored in the same statement (so exactly when the delivery is).
    pub async fn record_delivery_write(
        &self,
        write: DeliveryWrite,
    ) -> Result<DeliveryOutcome, StoreError> {
        self.writer().submit(self, write).await
    }

    /// Records a delivery that queues nothing; false when its id was seen before.
    pub async fn record_delivery(&self, delivery: &NewDelivery) -> Result<bool, StoreError> {
        let outcome = self.record_delivery_and_enqueue(delivery, None).await?;
        Ok(outcome != DeliveryOutcome::AlreadySeen)
    }

    /// Records several deliveries in one transaction, one outcome per delivery in order, and
    /// announces the jobs created. This is what the delivery writer runs for each batch; call
    /// it directly to store a known batch.
    ///
    /// The batch first runs without savepoints (the common case: every delivery goes
    /// through). If any statement fails, the transaction is rolled back and the batch runs
    /// again with a savepoint around each delivery, so the failing ones get their error and
    /// leave nothing behind while the others are stored.
    pub async fn record_deliveries(
        &self,
        writes: &[DeliveryWrite],
    ) -> Vec<Result<DeliveryOutcome, StoreError>> {
        let outcomes = self.stage_deliveries(writes).await.commit().await;
        self.announce(&created_jobs(&outcomes)).await;
        outcomes
    }

    /// Runs a batch's statements in a transaction left open for [`Staged::commit`].
    pub(crate) async fn stage_deliveries(&self, writes: &[DeliveryWrite]) -> Staged {
        match self.stage_batch(writes).await {
            Ok(staged) => staged,
            Err(error) => {
                tracing::warn!(%error, deliveries = writes.len(),
                    "a delivery batch failed; storing its deliveries one savepoint each");
                self.stage_batch_isolated(writes).await
            }
        }
    }

    /// Wakes workers for committed new jobs. Best effort: workers also re-scan periodically.
    pub(crate) async fn announce(&self, created: &[i64]) {
        if created.is_empty() {
            return;
        }
        if let Err(error) = notify_jobs(&self.pool, created).await {
            tracing::warn!(%error, jobs = ?created, "could not announce new jobs; workers find them at their next re-scan");
        }
    }

    async fn stage_batch(&self, writes: &[DeliveryWrite]) -> Result<Staged, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut outcomes = Vec::with_capacity(writes.len());
        for write in writes {
            // On an error `tx` is dropped, which rolls the whole batch back.
            outcomes.push(Ok(record_one(
                &mut tx,
                write,
                self.config.default_max_attempts,
            )
            .await?));
        }
        Ok(Staged::Open { tx, outcomes })
    }

    async fn stage_batch_isolated(&self, writes: &[DeliveryWrite]) -> Staged {
        let mut tx = match self.pool.begin().await {
            Ok(tx) => tx,
            Err(error) => {
                return Staged::Done(writes.iter().map(|_| Err(batch_failed(&error))).collect());
            }
        };
        let mut outcomes = Vec::with_capacity(writes.len());
        for write in writes {
            outcomes
                .push(record_in_savepoint(&mut tx, write, self.config.default_max_attempts).await);
        }
        Staged::Open { tx, outcomes }
    }

    pub async fn delivery(&self, id: &str) -> Result<Option<Delivery>, StoreError> {
        let delivery =
            sqlx::query_as::<_, Delivery>("SELECT * FROM deliveries WHERE delivery_id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(delivery)
    }

    /// Forgets deliveries received more than `older_than` ago (GitHub redelivers for days,
    /// not months); returns how many.
    pub async fn prune_deliveries(&self, older_than: Duration) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM deliveries WHERE received_at < now() - make_interval(secs => $1)",
        )
        .bind(older_than.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

async fn record_in_savepoint(
    conn: &mut PgConnection,
    write: &DeliveryWrite,
    default_max_attempts: i32,
) -> Result<DeliveryOutcome, StoreError> {
    // A nested transaction is a savepoint; dropping it uncommitted rolls back to it.
    let mut savepoint = conn.begin().await?;
    let outcome = record_one(&mut savepoint, write, default_max_attempts).await?;
    savepoint.commit().await?;
    Ok(outcome)
}

/// `sqlx::Error` is not `Clone`: a failure shared by a whole batch is repeated by message.
fn batch_failed(error: &sqlx::Error) -> StoreError {
    StoreError::BatchFailed {
        reason: error.to_string(),
    }
}
