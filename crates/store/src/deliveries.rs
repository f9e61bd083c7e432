//! Webhook deliveries: `X-GitHub-Delivery` is stored in the same transaction as the job it
//! queues, so a redelivery queues nothing twice and a crash never keeps half of the pair.

use std::time::Duration;

use crate::model::{Delivery, DeliveryOutcome, Enqueued, NewDelivery, NewJob};
use crate::queue::{enqueue_on, notify_job};
use crate::{Store, StoreError};

impl Store {
    /// Records `delivery` and, when it is new, queues `job` (or joins the active job with the
    /// same key) in one transaction. A delivery id seen before returns
    /// [`DeliveryOutcome::AlreadySeen`] and changes nothing.
    pub async fn record_delivery_and_enqueue(
        &self,
        delivery: &NewDelivery,
        job: Option<&NewJob>,
    ) -> Result<DeliveryOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO deliveries (delivery_id, event, action, installation_id, repo, outcome)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (delivery_id) DO NOTHING",
        )
        .bind(&delivery.id)
        .bind(&delivery.event)
        .bind(&delivery.action)
        .bind(delivery.installation_id)
        .bind(&delivery.repo)
        .bind(&delivery.outcome)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(DeliveryOutcome::AlreadySeen);
        }
        let enqueued = match job {
            Some(job) => {
                let enqueued = enqueue_on(&mut tx, job, self.config.default_max_attempts).await?;
                sqlx::query("UPDATE deliveries SET job_id = $2 WHERE delivery_id = $1")
                    .bind(&delivery.id)
                    .bind(enqueued.job_id)
                    .execute(&mut *tx)
                    .await?;
                Some(enqueued)
            }
            None => None,
        };
        tx.commit().await?;
        if let Some(Enqueued {
            job_id,
            created: true,
        }) = enqueued
        {
            let mut conn = self.pool.acquire().await?;
            notify_job(&mut conn, job_id).await?;
        }
        Ok(DeliveryOutcome::Recorded { job: enqueued })
    }

    /// Records a delivery that queues nothing; false when its id was seen before.
    pub async fn record_delivery(&self, delivery: &NewDelivery) -> Result<bool, StoreError> {
        let outcome = self.record_delivery_and_enqueue(delivery, None).await?;
        Ok(outcome != DeliveryOutcome::AlreadySeen)
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
