//! Queue behaviour against a real Postgres: each test gets a fresh database with the
//! migrations applied. Run with
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test -p perf-fixer-store`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::time::Duration;

use perf_fixer_store::{
    CancelTarget, FailOutcome, Heartbeat, JobState, JobTrigger, NewJob, QueueConfig, Store,
    StoreError,
};
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const LEASE: Duration = Duration::from_secs(60);

fn new_job(repo: &str, sha: &str) -> NewJob {
    NewJob::new(JobTrigger::CheckRun, repo, sha)
}

fn store_with_backoff(pool: PgPool, base_secs: u64, max_attempts: i32) -> Store {
    Store::with_config(
        pool,
        QueueConfig {
            default_max_attempts: max_attempts,
            backoff_base: Duration::from_secs(base_secs),
            backoff_max: Duration::from_secs(3600),
        },
    )
}

/// Simulates the passage of time: makes a queued job due now.
async fn make_due(pool: &PgPool, id: i64) {
    sqlx::query("UPDATE jobs SET run_after = now() WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .unwrap();
}

/// Lets the lease of a running job run out.
async fn expire_lease(pool: &PgPool, id: i64) {
    sqlx::query("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn enqueue_then_claim_then_complete(pool: PgPool) {
    let store = Store::new(pool);
    let mut new = new_job("o/r", "abc");
    new.pr_number = Some(7);
    new.requested_by = Some("alice".into());
    new.bench_filter = Some("parse".into());
    let enqueued = store.enqueue(&new).await.unwrap();
    assert!(enqueued.created);

    let claimed = store.claim("w1", LEASE).await.unwrap().expect("a due job");
    assert_eq!(claimed.id, enqueued.job_id);
    assert_eq!(claimed.state, JobState::Running);
    assert_eq!(claimed.trigger, JobTrigger::CheckRun);
    assert_eq!(claimed.attempts, 1);
    assert_eq!(claimed.max_attempts, 3);
    assert_eq!(claimed.lease_owner.as_deref(), Some("w1"));
    assert_eq!(claimed.pr_number, Some(7));
    assert_eq!(claimed.bench_filter.as_deref(), Some("parse"));
    assert!(claimed.lease_expires_at.unwrap() > claimed.started_at.unwrap());
    assert!(
        store.claim("w2", LEASE).await.unwrap().is_none(),
        "only one job was queued"
    );

    store
        .complete(claimed.id, "w1", &json!({"verdict": "fixed"}))
        .await
        .unwrap();
    let done = store.job(claimed.id).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(done.result, Some(json!({"verdict": "fixed"})));
    assert!(done.lease_owner.is_none() && done.finished_at.is_some());

    let stages: Vec<String> = store
        .events(claimed.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.stage)
        .collect();
    assert_eq!(stages, ["queued", "claimed", "succeeded"]);
}

#[sqlx::test(migrations = "../../migrations")]
async fn one_active_job_per_repo_head_and_trigger(pool: PgPool) {
    let store = Store::new(pool);
    let first = store.enqueue(&new_job("o/r", "abc")).await.unwrap();
    let again = store.enqueue(&new_job("o/r", "abc")).await.unwrap();
    assert!(first.created && !again.created);
    assert_eq!(first.job_id, again.job_id);

    // Another trigger, head or repo is another job.
    let comment = store
        .enqueue(&NewJob::new(JobTrigger::Comment, "o/r", "abc"))
        .await
        .unwrap();
    let other_sha = store.enqueue(&new_job("o/r", "def")).await.unwrap();
    let other_repo = store.enqueue(&new_job("o/other", "abc")).await.unwrap();
    let ids: HashSet<i64> = [
        first.job_id,
        comment.job_id,
        other_sha.job_id,
        other_repo.job_id,
    ]
    .into();
    assert_eq!(ids.len(), 4);

    // Still active while running; once finished, the key may be queued again.
    let mut running = None;
    while let Some(job) = store.claim("w", LEASE).await.unwrap() {
        if job.id == first.job_id {
            running = Some(job);
        }
    }
    let running = running.unwrap();
    assert_eq!(
        store.enqueue(&new_job("o/r", "abc")).await.unwrap().job_id,
        running.id
    );
    store.complete(running.id, "w", &json!({})).await.unwrap();
    let requeued = store.enqueue(&new_job("o/r", "abc")).await.unwrap();
    assert!(requeued.created);
    assert_ne!(requeued.job_id, running.id);
}

#[sqlx::test(migrations = "../../migrations")]
async fn concurrent_enqueues_of_one_key_create_one_job(
    opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = opts.max_connections(8).connect_with(connect).await.unwrap();
    let store = Store::new(pool);
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.enqueue(&new_job("o/r", "abc")).await.unwrap() })
        })
        .collect();
    let mut created = 0;
    let mut ids = HashSet::new();
    for task in tasks {
        let enqueued = task.await.unwrap();
        created += usize::from(enqueued.created);
        ids.insert(enqueued.job_id);
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn concurrent_claimers_never_share_a_job(opts: PgPoolOptions, connect: PgConnectOptions) {
    let pool = opts.max_connections(8).connect_with(connect).await.unwrap();
    let store = Store::new(pool.clone());
    const JOBS: usize = 300;
    for i in 0..JOBS {
        store
            .enqueue(&new_job("o/r", &format!("sha{i}")))
            .await
            .unwrap();
    }
    let workers: Vec<_> = (0..12)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let worker = format!("worker-{w}");
                let mut mine = Vec::new();
                while let Some(job) = store.claim(&worker, LEASE).await.unwrap() {
                    assert_eq!(job.lease_owner.as_deref(), Some(worker.as_str()));
                    store
                        .complete(job.id, &worker, &json!({"by": worker}))
                        .await
                        .unwrap();
                    mine.push(job.id);
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut busy_workers = 0;
    for worker in workers {
        let mine = worker.await.unwrap();
        busy_workers += usize::from(!mine.is_empty());
        all.extend(mine);
    }
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), JOBS, "every job claimed exactly once");
    assert_eq!(distinct.len(), JOBS);
    assert!(
        busy_workers > 1,
        "the claims were spread over several workers"
    );

    let depth = store.queue_depth_by_state().await.unwrap();
    assert_eq!(depth.succeeded, JOBS as i64);
    assert_eq!((depth.queued, depth.running), (0, 0));
    let max_attempts: i32 = sqlx::query_scalar("SELECT max(attempts) FROM jobs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(max_attempts, 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn claim_respects_run_after(pool: PgPool) {
    let store = Store::new(pool);
    let mut later = new_job("o/r", "later");
    later.run_after = Some(chrono::Utc::now() + chrono::Duration::hours(1));
    store.enqueue(&later).await.unwrap();
    assert!(store.claim("w", LEASE).await.unwrap().is_none());
    let now = store.enqueue(&new_job("o/r", "now")).await.unwrap();
    assert_eq!(
        store.claim("w", LEASE).await.unwrap().unwrap().id,
        now.job_id
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn expired_leases_are_requeued_with_backoff_then_failed(pool: PgPool) {
    let store = store_with_backoff(pool.clone(), 60, 2);
    let id = store.enqueue(&new_job("o/r", "abc")).await.unwrap().job_id;

    // Attempt 1: the worker dies.
    store.claim("dead-1", LEASE).await.unwrap().unwrap();
    assert_eq!(
        store.reap_expired().await.unwrap().total(),
        0,
        "lease still valid"
    );
    expire_lease(&pool, id).await;
    let reaped = store.reap_expired().await.unwrap();
    assert_eq!(reaped.requeued, [id]);
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.attempts, 1, "the lost attempt counts");
    assert!(job.lease_owner.is_none());
    let delay = (job.run_after - chrono::Utc::now()).num_seconds();
    assert!(
        (55..=60).contains(&delay),
        "first retry after ~60s, got {delay}s"
    );
    assert!(
        store.claim("w", LEASE).await.unwrap().is_none(),
        "backoff not over yet"
    );

    // Attempt 2 (the last): the worker dies again, so the job fails for good.
    make_due(&pool, id).await;
    let again = store.claim("dead-2", LEASE).await.unwrap().unwrap();
    assert_eq!(again.attempts, 2);
    expire_lease(&pool, id).await;
    let reaped = store.reap_expired().await.unwrap();
    assert_eq!(reaped.failed, [id]);
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Failed);
    assert!(
        job.error.as_deref().unwrap().contains("dead-2"),
        "{:?}",
        job.error
    );
    assert!(job.finished_at.is_some());
    assert!(store.claim("w", LEASE).await.unwrap().is_none());

    let lease_events = store
        .events(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.stage == "lease_expired")
        .count();
    assert_eq!(lease_events, 2);
}

#[sqlx::test(migrations = "../../migrations")]
async fn failures_back_off_exponentially_until_max_attempts(pool: PgPool) {
    let store = store_with_backoff(pool.clone(), 10, 3);
    let id = store.enqueue(&new_job("o/r", "abc")).await.unwrap().job_id;
    let mut delays = Vec::new();
    for attempt in 1..=3 {
        let claimed = store.claim("w", LEASE).await.unwrap().unwrap();
        assert_eq!(claimed.attempts, attempt);
        match store
            .fail(id, "w", "GitHub answered 502", true)
            .await
            .unwrap()
        {
            FailOutcome::Retrying { run_after } => {
                delays.push((run_after - chrono::Utc::now()).num_milliseconds());
                make_due(&pool, id).await;
            }
            FailOutcome::Failed => assert_eq!(attempt, 3, "fails for good only at max attempts"),
            FailOutcome::Cancelled => panic!("not cancelled"),
        }
    }
    assert_eq!(delays.len(), 2);
    assert!((9_000..=10_000).contains(&delays[0]), "{delays:?}");
    assert!((19_000..=20_000).contains(&delays[1]), "{delays:?}");
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.error.as_deref(), Some("GitHub answered 502"));
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_non_retryable_failure_is_final(pool: PgPool) {
    let store = Store::new(pool);
    let id = store.enqueue(&new_job("o/r", "abc")).await.unwrap().job_id;
    store.claim("w", LEASE).await.unwrap().unwrap();
    assert_eq!(
        store
            .fail(id, "w", "no .perf-fixer.toml", false)
            .await
            .unwrap(),
        FailOutcome::Failed
    );
    assert_eq!(store.job(id).await.unwrap().unwrap().attempts, 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_lost_lease_stops_the_worker(pool: PgPool) {
    let store = Store::new(pool.clone());
    let id = store.enqueue(&new_job("o/r", "abc")).await.unwrap().job_id;
    store.claim("w1", LEASE).await.unwrap().unwrap();
    assert_eq!(
        store.heartbeat(id, "w1", LEASE).await.unwrap(),
        Heartbeat::Continue
    );

    let err = store.heartbeat(id, "impostor", LEASE).await.unwrap_err();
    assert!(err.is_lease_lost(), "{err}");

    expire_lease(&pool, id).await;
    store.reap_expired().await.unwrap();
    let err = store.heartbeat(id, "w1", LEASE).await.unwrap_err();
    assert!(
        matches!(err, StoreError::LeaseLost { job_id, .. } if job_id == id),
        "{err}"
    );
    assert!(
        store
            .complete(id, "w1", &json!({}))
            .await
            .unwrap_err()
            .is_lease_lost()
    );
    assert!(
        store
            .fail(id, "w1", "boom", true)
            .await
            .unwrap_err()
            .is_lease_lost()
    );

    // The new owner carries on normally.
    make_due(&pool, id).await;
    let job = store.claim("w2", LEASE).await.unwrap().unwrap();
    assert_eq!(job.id, id);
    store.complete(id, "w2", &json!({})).await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn heartbeats_extend_the_lease(pool: PgPool) {
    let store = Store::new(pool);
    let id = store.enqueue(&new_job("o/r", "abc")).await.unwrap().job_id;
    let job = store
        .claim("w", Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    store
        .heartbeat(id, "w", Duration::from_secs(600))
        .await
        .unwrap();
    let after = store.job(id).await.unwrap().unwrap();
    let gained = after.lease_expires_at.unwrap() - job.lease_expires_at.unwrap();
    assert!(gained.num_seconds() >= 590, "{gained}");
}

#[sqlx::test(migrations = "../../migrations")]
async fn cancelling_a_queued_job_is_immediate(pool: PgPool) {
    let store = Store::new(pool);
    let id = store.enqueue(&new_job("o/r", "abc")).await.unwrap().job_id;
    let done = store
        .request_cancel(
            "o/r",
            &CancelTarget::HeadSha("abc".into()),
            "/perf-fix cancel by bob",
        )
        .await
        .unwrap();
    assert_eq!(done.cancelled, [id]);
    assert!(done.signalled.is_empty());
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Cancelled);
    assert!(store.claim("w", LEASE).await.unwrap().is_none());
    let last = store.events(id).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.stage.as_str(), last.message.as_str()),
        ("cancelled", "/perf-fix cancel by bob")
    );

    // Other repositories are never touched, and nothing is left to cancel.
    let other = store
        .enqueue(&new_job("o/other", "abc"))
        .await
        .unwrap()
        .job_id;
    assert!(
        store
            .request_cancel("o/r", &CancelTarget::Job(other), "x")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .request_cancel("o/r", &CancelTarget::Job(id), "x")
            .await
            .unwrap()
            .is_empty()
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn cancelling_a_running_job_signals_its_worker(pool: PgPool) {
    let store = Store::new(pool.clone());
    let id = store.enqueue(&new_job("o/r", "abc")).await.unwrap().job_id;
    store.claim("w", LEASE).await.unwrap().unwrap();
    let done = store
        .request_cancel("o/r", &CancelTarget::Job(id), "cancel")
        .await
        .unwrap();
    assert_eq!(done.signalled, [id]);
    assert_eq!(
        store.job(id).await.unwrap().unwrap().state,
        JobState::Running
    );
    assert_eq!(
        store.heartbeat(id, "w", LEASE).await.unwrap(),
        Heartbeat::CancelRequested
    );
    store.finish_cancelled(id, "w").await.unwrap();
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Cancelled);
    assert!(job.finished_at.is_some() && job.lease_owner.is_none());

    // A cancelled job whose worker died is not retried.
    let id = store.enqueue(&new_job("o/r", "def")).await.unwrap().job_id;
    store.claim("w", LEASE).await.unwrap().unwrap();
    store
        .request_cancel("o/r", &CancelTarget::HeadSha("def".into()), "cancel")
        .await
        .unwrap();
    expire_lease(&pool, id).await;
    assert_eq!(store.reap_expired().await.unwrap().cancelled, [id]);
    assert_eq!(
        store.job(id).await.unwrap().unwrap().state,
        JobState::Cancelled
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_new_head_cancels_the_superseded_jobs_of_the_pull_request(pool: PgPool) {
    let store = Store::new(pool);
    let on_pr = |sha: &str, pr: i64| {
        let mut j = new_job("o/r", sha);
        j.pr_number = Some(pr);
        j
    };
    let running = store.enqueue(&on_pr("a1", 7)).await.unwrap().job_id;
    store.claim("w", LEASE).await.unwrap().unwrap();
    let queued = store.enqueue(&on_pr("a2", 7)).await.unwrap().job_id;
    let current = store.enqueue(&on_pr("a3", 7)).await.unwrap().job_id;
    let other_pr = store.enqueue(&on_pr("b1", 8)).await.unwrap().job_id;

    let done = store.cancel_superseded("o/r", 7, Some("a3")).await.unwrap();
    assert_eq!(done.cancelled, [queued]);
    assert_eq!(done.signalled, [running]);
    assert_eq!(
        store.job(current).await.unwrap().unwrap().state,
        JobState::Queued
    );
    assert_eq!(
        store.job(other_pr).await.unwrap().unwrap().state,
        JobState::Queued
    );
    let reason = store.events(queued).await.unwrap().pop().unwrap().message;
    assert!(reason.contains("a3"), "{reason}");

    // Closing the pull request cancels the rest of it.
    let done = store.cancel_superseded("o/r", 7, None).await.unwrap();
    assert_eq!(done.cancelled, [current]);
    assert_eq!(
        done.signalled,
        [running],
        "still running until its worker stops"
    );
    assert_eq!(
        store.job(other_pr).await.unwrap().unwrap().state,
        JobState::Queued
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn events_and_github_ids_are_kept(pool: PgPool) {
    let store = Store::new(pool);
    let id = store.enqueue(&new_job("o/r", "abc")).await.unwrap().job_id;
    store
        .add_event(
            id,
            "measure",
            "measuring base",
            Some(&json!({"rev": "base"})),
        )
        .await
        .unwrap();
    store
        .add_event(id, "measure", "measuring head", None)
        .await
        .unwrap();
    let events = store.events(id).await.unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[1].data, Some(json!({"rev": "base"})));
    assert!(events[1].at <= events[2].at);
    assert!(matches!(
        store.add_event(id + 100, "x", "y", None).await,
        Err(StoreError::JobNotFound(_))
    ));

    store.set_comment_id(id, 1234).await.unwrap();
    store.set_check_run_id(id, 5678).await.unwrap();
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!((job.comment_id, job.check_run_id), (Some(1234), Some(5678)));
    assert!(matches!(
        store.set_comment_id(id + 100, 1).await,
        Err(StoreError::JobNotFound(_))
    ));
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_comment_job_records_its_resolved_shas_unless_another_job_has_that_head(pool: PgPool) {
    let store = Store::new(pool);
    let placeholder = "refs/pull/7/head";
    let comment = store
        .enqueue(&NewJob::new(JobTrigger::Comment, "o/r", placeholder))
        .await
        .unwrap()
        .job_id;
    assert!(store.set_job_shas(comment, "h1", "b1").await.unwrap());
    let job = store.job(comment).await.unwrap().unwrap();
    assert_eq!(
        (job.head_sha.as_str(), job.base_sha.as_deref()),
        ("h1", Some("b1"))
    );

    // Another active comment job for the same pull request cannot take the same head: it
    // keeps its placeholder.
    let second = store
        .enqueue(&NewJob::new(JobTrigger::Comment, "o/r", placeholder))
        .await
        .unwrap()
        .job_id;
    assert!(!store.set_job_shas(second, "h1", "b1").await.unwrap());
    assert_eq!(
        store.job(second).await.unwrap().unwrap().head_sha,
        placeholder
    );
    assert!(matches!(
        store.set_job_shas(second + 100, "h", "b").await,
        Err(StoreError::JobNotFound(_))
    ));
}

#[sqlx::test(migrations = "../../migrations")]
async fn listing_and_queue_depth(pool: PgPool) {
    let store = Store::new(pool);
    for i in 0..5 {
        let mut j = new_job("o/r", &format!("s{i}"));
        j.pr_number = Some(if i < 3 { 1 } else { 2 });
        store.enqueue(&j).await.unwrap();
    }
    let first = store.claim("w", LEASE).await.unwrap().unwrap();
    store.complete(first.id, "w", &json!({})).await.unwrap();
    store.claim("w", LEASE).await.unwrap().unwrap();

    let page: Vec<i64> = store
        .list_jobs(2, 1)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    let all: Vec<i64> = store
        .list_jobs(10, 0)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(all.len(), 5);
    assert!(all.windows(2).all(|w| w[0] > w[1]), "newest first: {all:?}");
    assert_eq!(page, all[1..3]);
    assert_eq!(store.jobs_for_pr("o/r", 2, 10).await.unwrap().len(), 2);

    let depth = store.queue_depth_by_state().await.unwrap();
    assert_eq!(
        (depth.queued, depth.running, depth.succeeded, depth.failed),
        (3, 1, 1, 0)
    );
    assert_eq!(depth.get(JobState::Queued), 3);
}
