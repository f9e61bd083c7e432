//! Deliveries, installations, notifications, migrations and connection errors against a real
//! Postgres. Run with
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test -p perf-fixer-store`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use perf_fixer_store::{
    DeliveryOutcome, DeliveryWrite, Enqueued, InstallationRepo, JobNote, JobTrigger, NewDelivery,
    NewInstallation, NewJob, Store, StoreError, Wake,
};
use sqlx::PgPool;

fn delivery(id: &str) -> NewDelivery {
    NewDelivery {
        id: id.into(),
        event: "check_run".into(),
        action: Some("completed".into()),
        installation_id: Some(42),
        repo: Some("o/r".into()),
        outcome: "queued".into(),
    }
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    let sql = match table {
        "jobs" => "SELECT count(*) FROM jobs",
        "deliveries" => "SELECT count(*) FROM deliveries",
        other => panic!("no count query for {other}"),
    };
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_redelivered_delivery_queues_nothing_twice(pool: PgPool) {
    let store = Store::new(pool.clone());
    let job = NewJob::new(JobTrigger::CheckRun, "o/r", "abc");

    let first = store
        .record_delivery_and_enqueue(&delivery("d-1"), Some(&job))
        .await
        .unwrap();
    let DeliveryOutcome::Recorded {
        job: Some(enqueued),
    } = first
    else {
        panic!("{first:?}")
    };
    assert!(enqueued.created);

    let again = store
        .record_delivery_and_enqueue(&delivery("d-1"), Some(&job))
        .await
        .unwrap();
    assert_eq!(again, DeliveryOutcome::AlreadySeen);
    assert_eq!(
        (count(&pool, "jobs").await, count(&pool, "deliveries").await),
        (1, 1)
    );

    // Another delivery for the same commit joins the active job.
    let other = store
        .record_delivery_and_enqueue(&delivery("d-2"), Some(&job))
        .await
        .unwrap();
    assert_eq!(
        other,
        DeliveryOutcome::Recorded {
            job: Some(perf_fixer_store::Enqueued {
                job_id: enqueued.job_id,
                created: false
            })
        }
    );
    assert_eq!(count(&pool, "jobs").await, 1);

    let stored = store.delivery("d-2").await.unwrap().unwrap();
    assert_eq!(stored.job_id, Some(enqueued.job_id));
    assert_eq!(
        (stored.event.as_str(), stored.action.as_deref()),
        ("check_run", Some("completed"))
    );

    // A delivery that queues nothing is recorded once too.
    let mut ping = delivery("d-3");
    ping.event = "ping".into();
    ping.outcome = "ignored: ping".into();
    assert!(store.record_delivery(&ping).await.unwrap());
    assert!(!store.record_delivery(&ping).await.unwrap());
    assert_eq!(store.delivery("d-3").await.unwrap().unwrap().job_id, None);
}

#[sqlx::test(migrations = "../../migrations")]
async fn concurrent_redeliveries_record_one_delivery_and_one_job(
    opts: sqlx::postgres::PgPoolOptions,
    connect: sqlx::postgres::PgConnectOptions,
) {
    let pool = opts.max_connections(8).connect_with(connect).await.unwrap();
    let store = Store::new(pool.clone());
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let job = NewJob::new(JobTrigger::CheckRun, "o/r", "abc");
                store
                    .record_delivery_and_enqueue(&delivery("same"), Some(&job))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut recorded = 0;
    for task in tasks {
        recorded += usize::from(task.await.unwrap() != DeliveryOutcome::AlreadySeen);
    }
    assert_eq!(recorded, 1);
    assert_eq!(
        (count(&pool, "jobs").await, count(&pool, "deliveries").await),
        (1, 1)
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_failed_enqueue_leaves_no_delivery_behind(pool: PgPool) {
    let store = Store::new(pool.clone());
    let mut bad = NewJob::new(JobTrigger::CheckRun, "o/r", "abc");
    bad.max_attempts = Some(0); // violates the CHECK constraint
    assert!(
        store
            .record_delivery_and_enqueue(&delivery("d-1"), Some(&bad))
            .await
            .is_err()
    );
    assert_eq!(
        count(&pool, "deliveries").await,
        0,
        "rolled back, so GitHub's redelivery can succeed"
    );
}

fn write(id: &str, job: Option<NewJob>) -> DeliveryWrite {
    DeliveryWrite {
        delivery: delivery(id),
        job,
        note: None,
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn one_batch_gives_each_delivery_its_own_outcome(pool: PgPool) {
    let store = Store::new(pool.clone());
    let abc = NewJob::new(JobTrigger::CheckRun, "o/r", "abc");
    let def = NewJob::new(JobTrigger::CheckRun, "o/r", "def");
    let outcomes = store
        .record_deliveries(&[
            write("d-1", Some(abc.clone())),
            write("d-1", Some(abc.clone())), // the same delivery twice in one batch
            write("d-2", Some(abc.clone())), // another delivery for the same key
            write("d-3", Some(def)),
            write("d-4", None),
        ])
        .await;
    let outcomes: Vec<DeliveryOutcome> = outcomes.into_iter().map(Result::unwrap).collect();
    let DeliveryOutcome::Recorded {
        job: Some(first), ..
    } = outcomes[0]
    else {
        panic!("{outcomes:?}")
    };
    assert!(first.created);
    assert_eq!(outcomes[1], DeliveryOutcome::AlreadySeen);
    assert_eq!(
        outcomes[2],
        DeliveryOutcome::Recorded {
            job: Some(Enqueued {
                job_id: first.job_id,
                created: false
            })
        }
    );
    let DeliveryOutcome::Recorded {
        job: Some(other), ..
    } = outcomes[3]
    else {
        panic!("{outcomes:?}")
    };
    assert!(other.created && other.job_id != first.job_id);
    assert_eq!(outcomes[4], DeliveryOutcome::Recorded { job: None });
    assert_eq!(
        (count(&pool, "jobs").await, count(&pool, "deliveries").await),
        (2, 4)
    );
    let stages: Vec<String> = store
        .events(first.job_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.stage)
        .collect();
    assert_eq!(stages, ["queued"], "one queued event, not one per delivery");
    assert_eq!(
        store.delivery("d-2").await.unwrap().unwrap().job_id,
        Some(first.job_id)
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_note_is_logged_on_the_new_or_joined_job_exactly_when_the_delivery_is_stored(
    pool: PgPool,
) {
    let store = Store::new(pool.clone());
    let noted = |id: &str, comment: i64| DeliveryWrite {
        delivery: delivery(id),
        job: Some(NewJob::new(JobTrigger::Comment, "o/r", "refs/pull/7/head")),
        note: Some(JobNote {
            stage: "trigger".into(),
            message: "requested by a comment".into(),
            data: Some(serde_json::json!({ "comment_id": comment })),
        }),
    };
    let first = store.record_delivery_write(noted("d-1", 1)).await.unwrap();
    let DeliveryOutcome::Recorded { job: Some(job) } = first else {
        panic!("{first:?}")
    };
    assert!(job.created);
    let joined = store.record_delivery_write(noted("d-2", 2)).await.unwrap();
    assert_eq!(
        joined,
        DeliveryOutcome::Recorded {
            job: Some(Enqueued {
                job_id: job.job_id,
                created: false
            })
        }
    );
    let again = store.record_delivery_write(noted("d-2", 3)).await.unwrap();
    assert_eq!(again, DeliveryOutcome::AlreadySeen);

    let events = store.events(job.job_id).await.unwrap();
    let log: Vec<(&str, Option<i64>)> = events
        .iter()
        .map(|e| {
            let comment = e.data.as_ref().and_then(|d| d["comment_id"].as_i64());
            (e.stage.as_str(), comment)
        })
        .collect();
    assert_eq!(
        log,
        [("queued", None), ("trigger", Some(1)), ("trigger", Some(2))],
        "no note for the redelivery"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_failing_delivery_does_not_fail_the_rest_of_its_batch(pool: PgPool) {
    let store = Store::new(pool.clone());
    let mut bad = NewJob::new(JobTrigger::CheckRun, "o/r", "bad");
    bad.max_attempts = Some(0); // violates the CHECK constraint
    let mut nul = delivery("d-nul");
    nul.outcome = "a NUL \u{0} Postgres refuses in text".into();
    let outcomes = store
        .record_deliveries(&[
            write("d-1", Some(NewJob::new(JobTrigger::CheckRun, "o/r", "abc"))),
            write("d-bad", Some(bad)),
            DeliveryWrite {
                delivery: nul,
                job: None,
                note: None,
            },
            write("d-2", Some(NewJob::new(JobTrigger::CheckRun, "o/r", "abc"))),
            write("d-3", None),
        ])
        .await;
    assert!(outcomes[1].is_err(), "{outcomes:?}");
    assert!(outcomes[2].is_err(), "{outcomes:?}");
    let DeliveryOutcome::Recorded {
        job: Some(first), ..
    } = outcomes[0].as_ref().unwrap()
    else {
        panic!("{outcomes:?}")
    };
    assert!(first.created);
    assert_eq!(
        outcomes[3].as_ref().unwrap(),
        &DeliveryOutcome::Recorded {
            job: Some(Enqueued {
                job_id: first.job_id,
                created: false
            })
        }
    );
    assert_eq!(
        outcomes[4].as_ref().unwrap(),
        &DeliveryOutcome::Recorded { job: None }
    );
    assert!(store.delivery("d-bad").await.unwrap().is_none());
    assert!(store.delivery("d-nul").await.unwrap().is_none());
    assert_eq!(
        (count(&pool, "jobs").await, count(&pool, "deliveries").await),
        (1, 3)
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_duplicate_committed_by_another_transaction_meanwhile_leaves_no_job(pool: PgPool) {
    let store = Store::new(pool.clone());
    // Another process is storing the same delivery id (without a job, to tell them apart).
    let mut other = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO deliveries (delivery_id, event, outcome) VALUES ('d-1', 'check_run', 'other')",
    )
    .execute(&mut *other)
    .await
    .unwrap();
    let racing = {
        let store = store.clone();
        tokio::spawn(async move {
            let job = NewJob::new(JobTrigger::CheckRun, "o/r", "abc");
            store
                .record_delivery_and_enqueue(&delivery("d-1"), Some(&job))
                .await
        })
    };
    // Wait until our statement is blocked on the other transaction's delivery row.
    let started = Instant::now();
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "never blocked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    other.commit().await.unwrap();
    assert_eq!(racing.await.unwrap().unwrap(), DeliveryOutcome::AlreadySeen);
    assert_eq!(
        (count(&pool, "jobs").await, count(&pool, "deliveries").await),
        (0, 1),
        "the job created for the duplicate was removed"
    );
    assert_eq!(
        store.delivery("d-1").await.unwrap().unwrap().outcome,
        "other"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_delivery_that_creates_a_job_wakes_a_listener_and_a_joining_one_does_not(pool: PgPool) {
    let store = Store::new(pool);
    let listener = store.listener().await.unwrap();
    let job = NewJob::new(JobTrigger::CheckRun, "o/r", "abc");
    store
        .record_delivery_and_enqueue(&delivery("d-1"), Some(&job))
        .await
        .unwrap();
    assert_eq!(listener.wait(Duration::from_secs(10)).await, Wake::Notified);
    store
        .record_delivery_and_enqueue(&delivery("d-2"), Some(&job))
        .await
        .unwrap();
    assert_eq!(
        listener.wait(Duration::from_millis(300)).await,
        Wake::TimedOut
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn old_deliveries_are_pruned(pool: PgPool) {
    let store = Store::new(pool.clone());
    store.record_delivery(&delivery("old")).await.unwrap();
    store.record_delivery(&delivery("new")).await.unwrap();
    sqlx::query(
        "UPDATE deliveries SET received_at = now() - interval '30 days' WHERE delivery_id = 'old'",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        store
            .prune_deliveries(Duration::from_secs(7 * 86_400))
            .await
            .unwrap(),
        1
    );
    assert!(store.delivery("old").await.unwrap().is_none());
    assert!(store.delivery("new").await.unwrap().is_some());
}

#[sqlx::test(migrations = "../../migrations")]
async fn installations_follow_their_webhooks(pool: PgPool) {
    let store = Store::new(pool);
    let install = NewInstallation {
        id: 42,
        account_login: "octo".into(),
        account_type: "Organization".into(),
    };
    let repo = |id: i64, name: &str| InstallationRepo {
        repo_id: id,
        full_name: name.into(),
    };
    store.upsert_installation(&install).await.unwrap();
    store
        .replace_installation_repositories(42, &[repo(1, "octo/a"), repo(2, "octo/b")])
        .await
        .unwrap();
    assert_eq!(
        store.installation_for_repo("Octo/A").await.unwrap(),
        Some(42)
    );

    store
        .set_installation_repositories(42, &[repo(3, "octo/c"), repo(1, "octo/a-renamed")], &[2])
        .await
        .unwrap();
    let names: Vec<String> = store
        .installation_repositories(42)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.full_name)
        .collect();
    assert_eq!(names, ["octo/a-renamed", "octo/c"]);
    assert_eq!(store.installation_for_repo("octo/b").await.unwrap(), None);

    store.set_installation_suspended(42, true).await.unwrap();
    assert!(
        store
            .installation(42)
            .await
            .unwrap()
            .unwrap()
            .suspended_at
            .is_some()
    );
    assert_eq!(
        store.installation_for_repo("octo/c").await.unwrap(),
        None,
        "suspended"
    );
    store.set_installation_suspended(42, false).await.unwrap();
    assert_eq!(
        store.installation_for_repo("octo/c").await.unwrap(),
        Some(42)
    );

    store.remove_installation(42).await.unwrap();
    let removed = store.installation(42).await.unwrap().unwrap();
    assert!(removed.deleted_at.is_some());
    assert!(
        store
            .installation_repositories(42)
            .await
            .unwrap()
            .is_empty()
    );

    // Installing again revives it.
    store.upsert_installation(&install).await.unwrap();
    assert!(
        store
            .installation(42)
            .await
            .unwrap()
            .unwrap()
            .deleted_at
            .is_none()
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn enqueue_wakes_a_listener(pool: PgPool) {
    let store = Store::new(pool);
    let listener = store.listener().await.unwrap();
    assert_eq!(
        listener.wait(Duration::from_millis(200)).await,
        Wake::TimedOut
    );

    let waiter = tokio::spawn(async move {
        let started = Instant::now();
        (
            listener.wait(Duration::from_secs(30)).await,
            started.elapsed(),
        )
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    store
        .enqueue(&NewJob::new(JobTrigger::Manual, "o/r", "abc"))
        .await
        .unwrap();
    let (wake, waited) = waiter.await.unwrap();
    assert_eq!(wake, Wake::Notified);
    assert!(
        waited < Duration::from_secs(5),
        "woken by the notification, not the timeout: {waited:?}"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_notification_before_wait_is_not_lost(pool: PgPool) {
    let store = Store::new(pool);
    let listener = store.listener().await.unwrap();
    store
        .enqueue(&NewJob::new(JobTrigger::Manual, "o/r", "abc"))
        .await
        .unwrap();
    store
        .enqueue(&NewJob::new(JobTrigger::Manual, "o/r", "def"))
        .await
        .unwrap();
    // Both notifications arrive before anyone waits: they are kept as one wake-up (the
    // worker drains the whole queue after waking), not dropped and not counted twice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(listener.wait(Duration::from_secs(10)).await, Wake::Notified);
    assert_eq!(
        listener.wait(Duration::from_millis(200)).await,
        Wake::TimedOut
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_joined_job_does_not_notify(pool: PgPool) {
    let store = Store::new(pool);
    store
        .enqueue(&NewJob::new(JobTrigger::Manual, "o/r", "abc"))
        .await
        .unwrap();
    let listener = store.listener().await.unwrap();
    let joined = store
        .enqueue(&NewJob::new(JobTrigger::Manual, "o/r", "abc"))
        .await
        .unwrap();
    assert!(!joined.created);
    assert_eq!(
        listener.wait(Duration::from_millis(300)).await,
        Wake::TimedOut
    );
}

const TABLES: &str = "SELECT count(*) FROM information_schema.tables
     WHERE table_schema = 'public'
       AND table_name IN ('installations', 'installation_repositories', 'jobs', 'job_events', 'deliveries')";

#[sqlx::test(migrations = false)]
async fn migrations_apply_revert_and_apply_again(pool: PgPool) {
    let tables = || async {
        sqlx::query_scalar::<_, i64>(TABLES)
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(tables().await, 0);
    perf_fixer_store::migrate(&pool).await.unwrap();
    perf_fixer_store::migrate(&pool).await.unwrap(); // idempotent
    assert_eq!(tables().await, 5);

    perf_fixer_store::migrate_down(&pool, 0).await.unwrap();
    assert_eq!(tables().await, 0);
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(applied, 0);

    perf_fixer_store::migrate(&pool).await.unwrap();
    assert_eq!(tables().await, 5);
    let store = Store::new(pool.clone());
    let enqueued = store
        .enqueue(&NewJob::new(JobTrigger::Manual, "o/r", "abc"))
        .await
        .unwrap();
    assert!(enqueued.created);
}

#[test]
fn every_migration_is_reversible() {
    for migration in perf_fixer_store::MIGRATOR.iter() {
        if migration.migration_type.is_up_migration() {
            let has_down = perf_fixer_store::MIGRATOR
                .iter()
                .any(|m| m.version == migration.version && m.migration_type.is_down_migration());
            assert!(has_down, "migration {} has no .down.sql", migration.version);
        }
    }
}

#[tokio::test]
async fn connection_errors_never_show_the_password() {
    // Nothing listens on port 1: the connection is refused.
    let url = "postgres://perf:hunter2-secret@127.0.0.1:1/perf";
    let err = perf_fixer_store::connect(url).await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(matches!(err, StoreError::Connect { .. }), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("127.0.0.1:1"), "names where it tried: {text}");

    let err = perf_fixer_store::connect("postgres://perf:hunter2@127.0.0.1:99999999/x")
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("hunter2"), "{text}");
}
