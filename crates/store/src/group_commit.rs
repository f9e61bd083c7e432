//! Group commit for webhook deliveries.
//!
//! A 202 tells GitHub the delivery is stored, so each delivery's transaction commits
//! synchronously, and the WAL flush of that commit (~2 ms or more on an ordinary disk) is most
//! of the cost of a delivery. Committing each delivery on its own caps the service at one
//! flush per delivery per connection. Instead, requests hand their delivery to one writer task
//! through a channel; the writer takes everything pending (up to [`MAX_BATCH`]), runs their
//! statements in one transaction (see [`Store::record_deliveries`]), commits once, and answers
//! each request with its own outcome. The commit runs in its own task, so the next batch's
//! statements run during the previous batch's WAL flush (a pipeline of up to [`IN_FLIGHT`]
//! transactions on as many connections). Under load a batch fills while the previous one
//! flushes; when idle a batch is a single delivery and nothing waits for company.
//!
//! The writer is started on the Tokio runtime of the first delivery and stops when the last
//! clone of its [`Store`] is dropped (a store is meant to be used within one runtime). If it
//! is gone, a delivery is stored directly instead.

use std::sync::{Arc, OnceLock};

use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::deliveries::created_jobs;
use crate::model::{DeliveryOutcome, DeliveryWrite};
use crate::{Store, StoreError};

/// Most deliveries in one transaction. It bounds a batch's statement time (each delivery is one
/// round trip, ~0.1 ms) and keeps a batch's savepoint retry within the 64 subtransactions
/// Postgres tracks per backend without overflowing to `pg_subtrans`.
pub const MAX_BATCH: usize = 64;

/// Batches committing at once. Only one batch runs its statements at a time; the others are
/// only committing, which waits for the WAL flush but for no lock, so a batch that waits on a
/// row of a committing one (the same delivery or job key) cannot deadlock with it.
const IN_FLIGHT: usize = 3;

/// Deliveries waiting for the writer before senders wait too (back-pressure).
const QUEUE_LEN: usize = 4096;

type Reply = oneshot::Sender<Result<DeliveryOutcome, StoreError>>;

struct Pending {
    write: DeliveryWrite,
    reply: Reply,
}

/// A handle to the store's delivery writer, shared by the store's clones.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeliveryWriter {
    sender: Arc<OnceLock<mpsc::Sender<Pending>>>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("delivery", &self.write.delivery.id)
            .finish_non_exhaustive()
    }
}

impl DeliveryWriter {
    /// Hands `write` to the writer and waits for its batch to commit.
    pub(crate) async fn submit(
        &self,
        store: &Store,
        write: DeliveryWrite,
    ) -> Result<DeliveryOutcome, StoreError> {
        let sender = self.sender.get_or_init(|| start(store));
        let (reply, answer) = oneshot::channel();
        let delivery_id = write.delivery.id.clone();
        match sender.send(Pending { write, reply }).await {
            Ok(()) => answer
                .await
                .unwrap_or(Err(StoreError::WriterStopped { delivery_id })),
            // The writer's runtime is gone: store this one directly.
            Err(mpsc::error::SendError(pending)) => {
                let mut outcomes = store.record_deliveries(&[pending.write]).await;
                outcomes
                    .pop()
                    .unwrap_or(Err(StoreError::WriterStopped { delivery_id }))
            }
        }
    }
}

fn start(store: &Store) -> mpsc::Sender<Pending> {
    let (sender, receiver) = mpsc::channel(QUEUE_LEN);
    // The task's own store has no writer handle, so it does not keep its channel open: it
    // ends when every request-side store is dropped.
    let own = Store {
        pool: store.pool.clone(),
        config: store.config,
        writer: DeliveryWriter::default(),
    };
    tokio::spawn(run(own, receiver));
    sender
}

async fn run(store: Store, mut receiver: mpsc::Receiver<Pending>) {
    let committing = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut pending = Vec::with_capacity(MAX_BATCH);
    loop {
        // Wait for a commit slot first, so deliveries keep gathering into this batch meanwhile.
        let Ok(slot) = Arc::clone(&committing).acquire_owned().await else {
            return;
        };
        if receiver.recv_many(&mut pending, MAX_BATCH).await == 0 {
            break;
        }
        let (writes, replies): (Vec<DeliveryWrite>, Vec<Reply>) =
            pending.drain(..).map(|p| (p.write, p.reply)).unzip();
        // Statements run here, one batch at a time; the commit (the WAL flush) runs in its own
        // task while the next batch's statements run.
        let staged = store.stage_deliveries(&writes).await;
        let store = store.clone();
        tokio::spawn(async move {
            let outcomes = staged.commit().await;
            let created = created_jobs(&outcomes);
            // Answer first: the requests wait for the commit, not for the notification.
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                // A request that went away (client disconnected) still had its delivery stored.
                let _ = reply.send(outcome);
            }
            store.announce(&created).await;
            drop(slot);
        });
    }
    // Let the last commits finish (and answer) before the pool handle goes.
    let _ = committing.acquire_many(IN_FLIGHT as u32).await;
}
