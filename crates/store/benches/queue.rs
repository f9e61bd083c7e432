//! Queue throughput against a real Postgres: claim+complete with K concurrent workers, and
//! enqueue with K concurrent producers. Each measured element is one job.
//!
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench -p perf-fixer-store --bench queue`
//!
//! The bench creates (and drops afterwards) its own database, `perf_fixer_queue_bench`, on the
//! server `DATABASE_URL` points at; the user needs CREATEDB.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use perf_fixer_store::{JobTrigger, NewJob, Store};
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Executor, PgPool};
use tokio::runtime::Runtime;

const BENCH_DB: &str = "perf_fixer_queue_bench";
const LEASE: Duration = Duration::from_secs(300);
const WORKERS: [usize; 3] = [1, 4, 8];

fn admin_options() -> PgConnectOptions {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    url.parse().expect("DATABASE_URL is a postgres:// URL")
}

async fn fresh_database(max_connections: u32) -> PgPool {
    let admin = admin_options();
    let mut conn = admin.connect().await.expect("connect to DATABASE_URL");
    conn.execute("DROP DATABASE IF EXISTS perf_fixer_queue_bench WITH (FORCE)")
        .await
        .unwrap();
    conn.execute("CREATE DATABASE perf_fixer_queue_bench")
        .await
        .unwrap();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(max_connections)
        .connect_with(admin.database(BENCH_DB))
        .await
        .unwrap();
    perf_fixer_store::migrate(&pool).await.unwrap();
    pool
}

async fn drop_database() {
    let mut conn = admin_options().connect().await.unwrap();
    conn.execute("DROP DATABASE IF EXISTS perf_fixer_queue_bench WITH (FORCE)")
        .await
        .unwrap();
}

/// Queues `n` distinct jobs in one statement (setup, not measured).
async fn fill(pool: &PgPool, n: u64) {
    sqlx::query(
        "INSERT INTO jobs (trigger, repo, head_sha, pr_number)
         SELECT 'check_run', 'bench/repo', md5(random()::text || g::text), g
         FROM generate_series(1, $1) AS g",
    )
    .bind(n as i64)
    .execute(pool)
    .await
    .unwrap();
}

async fn reset(pool: &PgPool) {
    pool.execute("TRUNCATE jobs, job_events, deliveries")
        .await
        .unwrap();
}

/// `workers` tasks claim and complete until the queue is empty; returns the elapsed time.
async fn drain(store: &Store, workers: usize) -> (Duration, u64) {
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let worker = format!("bench-worker-{w}");
                let mut done = 0u64;
                while let Some(job) = store.claim(&worker, LEASE).await.unwrap() {
                    store
                        .complete(job.id, &worker, &json!({"ok": true}))
                        .await
                        .unwrap();
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut done = 0;
    for task in tasks {
        done += task.await.unwrap();
    }
    (started.elapsed(), done)
}

async fn produce(store: &Store, producers: usize, n: u64, round: u64) -> Duration {
    let started = Instant::now();
    let tasks: Vec<_> = (0..producers as u64)
        .map(|p| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut i = p;
                while i < n {
                    let job =
                        NewJob::new(JobTrigger::CheckRun, "bench/repo", format!("{round}-{i}"));
                    store.enqueue(&job).await.unwrap();
                    i += producers as u64;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    started.elapsed()
}

fn queue(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let pool = rt.block_on(fresh_database(WORKERS[WORKERS.len() - 1] as u32 + 2));
    let store = Store::new(pool.clone());

    let mut group = c.benchmark_group("queue");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(1));
    for workers in WORKERS {
        group.bench_function(BenchmarkId::new("claim_complete", workers), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    reset(&pool).await;
                    fill(&pool, iters).await;
                    let (elapsed, done) = drain(&store, workers).await;
                    assert_eq!(
                        done, iters,
                        "every queued job was claimed and completed once"
                    );
                    elapsed
                })
            })
        });
    }
    let mut round = 0;
    for producers in WORKERS {
        group.bench_function(BenchmarkId::new("enqueue", producers), |b| {
            b.iter_custom(|iters| {
                round += 1;
                rt.block_on(async {
                    reset(&pool).await;
                    produce(&store, producers, iters, round).await
                })
            })
        });
    }
    group.finish();
    rt.block_on(async {
        pool.close().await;
        drop_database().await;
    });
}

criterion_group!(benches, queue);
criterion_main!(benches);
