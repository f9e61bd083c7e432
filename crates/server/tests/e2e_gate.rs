//! End to end: a signed failing `gate:perf` check run goes into the router, a worker claims the
//! job, the engine measures a real crate whose head is twice as slow, and the fix arrives as a
//! pull request in the fake GitHub (into the pull request's own branch) with the before/after
//! table, and as a branch in the bare remote. Slow: builds and benchmarks a crate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use perf_fixer_github::testing::FakeGitHub;
use perf_fixer_store::{JobState, PgPool, Store};
use support::*;

/// The crate of crates/cli/tests/support `json_bench_crate`: a `harness = false` bench that
/// writes github-action-benchmark JSON; `rounds` scales the hot loop.
fn json_bench_crate(remote: &BareRemote, rounds: u64) {
    remote.write(
        "Cargo.toml",
        "[package]\nname = \"fixture_json\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[[bench]]\nname = \"speed\"\nharness = false\n\n[profile.bench]\ndebug = false\n",
    );
    remote.write(
        ".perf-fixer.toml",
        "[bench]\ncommand = \"cargo bench --bench speed\"\nformat = \"json\"\noutput = \"target/bench.json\"\n\n[test]\ncommand = \"cargo test --release\"\n\n[gate]\nthreshold_pct = 5\n",
    );
    remote.write(
        "src/lib.rs",
        &format!(
            r#"//! A small library with one hot function.

/// Sums squares of a pseudo-random sequence, {rounds} rounds over the input.
pub fn sum_squares(input: &[u64]) -> u64 {{
    let mut acc = 0u64;
    for _ in 0..{rounds} {{
        for &x in input {{
            acc = acc.wrapping_add(x.wrapping_mul(x) ^ (acc >> 7));
        }}
    }}
    acc
}}

#[cfg(test)]
mod tests {{
    #[test]
    fn deterministic() {{
        assert_eq!(super::sum_squares(&[1, 2, 3]), super::sum_squares(&[1, 2, 3]));
    }}
}}
"#
        ),
    );
    remote.write(
        "benches/speed.rs",
        r#"use std::hint::black_box;
use std::time::Instant;

fn main() {
    let input: Vec<u64> = (0..20_000u64).map(|i| i.wrapping_mul(2654435761) % 1000).collect();
    let mut times = Vec::new();
    for _ in 0..31 {
        let start = Instant::now();
        black_box(fixture_json::sum_squares(black_box(&input)));
        times.push(start.elapsed().as_nanos() as f64);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = times[times.len() / 2];
    let json = format!(
        "[{{\"name\": \"sum_squares\", \"unit\": \"ns/iter\", \"value\": {median}, \"range\": \"± 0\"}}]"
    );
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_string());
    std::fs::write(format!("{target}/bench.json"), json).unwrap();
}
"#,
    );
    remote.write(".gitignore", "/target\n");
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_failing_gate_becomes_a_fix_pull_request(pool: PgPool) {
    let remote = BareRemote::new("octo/speedy");
    json_bench_crate(&remote, 20);
    let base = remote.commit_and_push("fast sum_squares", "main");
    json_bench_crate(&remote, 40);
    let head = remote.commit_and_push("twice the rounds", "feature");

    let fake = FakeGitHub::start().await;
    fake.add_repo("octo/speedy", "main");
    fake.add_pull(
        "octo/speedy",
        7,
        "feature",
        &head,
        "octo/speedy",
        "main",
        &base,
    );

    let state = state(pool.clone(), None);
    let payload = check_run(
        "octo/speedy",
        "gate:perf",
        "failure",
        &head,
        Some((7, "feature", &base, "main")),
    );
    let sent = send(&state, signed("check_run", "e2e-1", &payload)).await;
    assert_eq!(sent.body["outcome"], "queued", "{}", sent.body);

    let workdir = tempfile::tempdir().unwrap();
    let worker = worker_with_metrics(
        pool.clone(),
        &fake,
        &remote,
        workdir.path(),
        "w-e2e",
        std::sync::Arc::clone(&state.metrics),
    );
    let job_id = worker.run_one(None).await.unwrap().unwrap();

    let store = Store::new(pool.clone());
    let job = store.job(job_id).await.unwrap().unwrap();
    let events: Vec<String> = store
        .events(job_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| format!("{}: {}", e.stage, e.message))
        .collect();
    assert_eq!(
        job.state,
        JobState::Succeeded,
        "error {:?}\nevents:\n{}",
        job.error,
        events.join("\n")
    );
    let result = job.result.clone().unwrap();
    assert_eq!(
        result["outcome"],
        "fixed",
        "events:\n{}\nresult: {result}",
        events.join("\n")
    );

    let branch = format!("perf-fixer/{}", &head[..12]);
    let fixes: Vec<_> = fake
        .pulls()
        .into_iter()
        .filter(|p| p.head == branch)
        .collect();
    assert_eq!(fixes.len(), 1, "{:?}", fake.pulls());
    let pr = &fixes[0];
    assert_eq!(pr.base, "feature", "stacked on the pull request's branch");
    assert!(pr.body.contains("sum_squares"), "{}", pr.body);
    assert!(pr.body.contains('|'), "a table: {}", pr.body);
    let pushed = remote
        .branch_sha(&branch)
        .expect("fix branch pushed to the remote");
    assert_eq!(
        Some(pushed.as_str()),
        result["report"]["fix"]["commit"].as_str()
    );

    // The operator's view: metrics after the job, and the job page with its table.
    let metrics = get_text(&state, "/metrics").await;
    for line in [
        "perf_fixer_fixes_opened_total 1",
        "perf_fixer_jobs{state=\"succeeded\"} 1",
        "perf_fixer_webhook_deliveries_total{event=\"check_run\",outcome=\"queued\"} 1",
        "perf_fixer_github_api_calls_total{call=\"create pull request\"} 1",
        "perf_fixer_job_stage_seconds_count{stage=\"engine\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
    let page = get_text(&state, &format!("/jobs/{job_id}")).await;
    assert!(page.contains("id=\"before-after\""), "{page}");
    assert!(page.contains("sum_squares"), "{page}");
    assert!(page.contains(&branch), "{page}");
}

async fn get_text(state: &perf_fixer_server::AppState, path: &str) -> String {
    let response = tower::ServiceExt::oneshot(
        perf_fixer_server::router(state.clone()),
        axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), axum::http::StatusCode::OK, "{path}");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// A worker died after opening the fix pull request: its lease expires, the reaper re-queues
/// the job, another worker finishes it, and the existing pull request is updated, not doubled.
#[sqlx::test(migrations = "../../migrations")]
async fn a_job_whose_worker_died_finishes_once_with_one_pull_request(pool: PgPool) {
    let remote = BareRemote::new("octo/speedy");
    json_bench_crate(&remote, 20);
    let base = remote.commit_and_push("fast sum_squares", "main");
    json_bench_crate(&remote, 40);
    let head = remote.commit_and_push("twice the rounds", "feature");
    let branch = format!("perf-fixer/{}", &head[..12]);

    let fake = FakeGitHub::start().await;
    fake.add_repo("octo/speedy", "main");
    fake.add_pull(
        "octo/speedy",
        7,
        "feature",
        &head,
        "octo/speedy",
        "main",
        &base,
    );
    // What the dead worker got done: the fix pull request (with a stale body).
    fake.add_pull(
        "octo/speedy",
        8,
        &branch,
        &head,
        "octo/speedy",
        "feature",
        &head,
    );

    let state = state(pool.clone(), None);
    let payload = check_run(
        "octo/speedy",
        "gate:perf",
        "failure",
        &head,
        Some((7, "feature", &base, "main")),
    );
    send(&state, signed("check_run", "e2e-dead", &payload)).await;

    let store = Store::with_config(
        pool.clone(),
        perf_fixer_store::QueueConfig {
            backoff_base: std::time::Duration::ZERO,
            ..perf_fixer_store::QueueConfig::default()
        },
    );
    let claimed = store
        .claim("dead-worker", std::time::Duration::from_millis(200))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let reaped = store.reap_expired().await.unwrap();
    assert_eq!(reaped.requeued, vec![claimed.id]);

    let workdir = tempfile::tempdir().unwrap();
    let worker = worker(pool.clone(), &fake, &remote, workdir.path(), "w-alive");
    let job_id = worker
        .run_one(None)
        .await
        .unwrap()
        .expect("the re-queued job");
    assert_eq!(job_id, claimed.id);
    let job = store.job(job_id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.error);
    assert_eq!(job.attempts, 2);
    let fixes: Vec<_> = fake
        .pulls()
        .into_iter()
        .filter(|p| p.head == branch)
        .collect();
    assert_eq!(fixes.len(), 1, "{:?}", fake.pulls());
    assert!(fixes[0].body.contains("sum_squares"), "{}", fixes[0].body);
    assert!(
        worker.run_one(None).await.unwrap().is_none(),
        "nothing left to run"
    );
}

/// A pull request from a fork: the App cannot push there, so the patch is posted as a comment
/// and no branch or pull request is made.
#[sqlx::test(migrations = "../../migrations")]
async fn a_fork_gets_the_patch_as_a_comment(pool: PgPool) {
    let remote = BareRemote::new("octo/speedy");
    json_bench_crate(&remote, 20);
    let base = remote.commit_and_push("fast sum_squares", "main");
    json_bench_crate(&remote, 40);
    let head = remote.commit_and_push("twice the rounds", "feature");

    let fake = FakeGitHub::start().await;
    fake.add_repo("octo/speedy", "main");
    fake.add_pull(
        "octo/speedy",
        7,
        "feature",
        &head,
        "forker/speedy",
        "main",
        &base,
    );
    fake.set_permission("octo/speedy", "ann", "admin");

    let state = state(pool.clone(), None);
    let sent = send(
        &state,
        signed(
            "issue_comment",
            "e2e-fork",
            &comment("octo/speedy", 7, "/perf-fix", "ann", "OWNER"),
        ),
    )
    .await;
    assert_eq!(sent.body["outcome"], "queued");
    let workdir = tempfile::tempdir().unwrap();
    let worker = worker(pool.clone(), &fake, &remote, workdir.path(), "w-fork");
    let job_id = worker.run_one(None).await.unwrap().unwrap();
    let job = Store::new(pool).job(job_id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.error);
    assert_eq!(
        fake.pulls().len(),
        1,
        "no pull request for a fork: {:?}",
        fake.pulls()
    );
    let branch = format!("perf-fixer/{}", &head[..12]);
    assert_eq!(remote.branch_sha(&branch), None, "nothing pushed");
    let patch = fake
        .comments()
        .into_iter()
        .find(|c| c.body.contains("```diff"))
        .expect("a patch comment");
    assert!(patch.body.contains("sum_squares"), "{}", patch.body);
}

/// SIGTERM while a job runs: the worker stops claiming, gives the job its grace period (none
/// here), stops the engine and puts the job back in the queue for another worker.
#[sqlx::test(migrations = "../../migrations")]
async fn shutdown_requeues_the_running_job_after_the_grace_period(pool: PgPool) {
    let remote = BareRemote::new("octo/speedy");
    json_bench_crate(&remote, 20);
    let base = remote.commit_and_push("fast sum_squares", "main");
    json_bench_crate(&remote, 40);
    let head = remote.commit_and_push("twice the rounds", "feature");
    let fake = FakeGitHub::start().await;
    fake.add_repo("octo/speedy", "main");
    fake.add_pull(
        "octo/speedy",
        7,
        "feature",
        &head,
        "octo/speedy",
        "main",
        &base,
    );

    let state = state(pool.clone(), None);
    let payload = check_run(
        "octo/speedy",
        "gate:perf",
        "failure",
        &head,
        Some((7, "feature", &base, "main")),
    );
    send(&state, signed("check_run", "e2e-stop", &payload)).await;

    let workdir = tempfile::tempdir().unwrap();
    let worker = worker_with_config(
        pool.clone(),
        &fake,
        &remote,
        workdir.path(),
        "w-stop",
        std::sync::Arc::new(perf_fixer_server::metrics::Metrics::default()),
        |c| c.shutdown_grace = std::time::Duration::ZERO,
    );
    let (tx, rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(async move { worker.run(rx).await });

    // Wait until the engine is at work.
    let store = Store::new(pool.clone());
    let started = std::time::Instant::now();
    let job_id = loop {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the engine never started"
        );
        let jobs = store.list_jobs(1, 0).await.unwrap();
        let job = &jobs[0];
        let engine_started = store
            .events(job.id)
            .await
            .unwrap()
            .iter()
            .any(|e| e.stage == "engine");
        if job.state == JobState::Running && engine_started {
            break job.id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    tx.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(60), running)
        .await
        .expect("the worker stops soon after its grace period")
        .unwrap();
    let job = store.job(job_id).await.unwrap().unwrap();
    assert_eq!(
        job.state,
        JobState::Queued,
        "back in the queue: {:?}",
        job.error
    );
    assert!(
        job.error
            .as_deref()
            .unwrap_or_default()
            .contains("shut down"),
        "{:?}",
        job.error
    );
    assert!(
        fake.pulls().iter().all(|p| p.number == 7),
        "no fix published: {:?}",
        fake.pulls()
    );
}
