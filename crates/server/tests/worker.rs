//! The worker against the fake GitHub, a real Postgres and a bare git repository as the remote:
//! permission refusals, configuration errors shown on the pull request, the token kept out of
//! the git cache, and a clean shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use perf_fixer_github::testing::{APP_BOT_LOGIN, FakeGitHub};
use perf_fixer_store::{JobState, PgPool, Store};
use support::*;

async fn fake_with_pr(remote_repo: &str, head: &str, base: &str) -> FakeGitHub {
    let fake = FakeGitHub::start().await;
    fake.add_repo(remote_repo, "main");
    fake.add_pull(remote_repo, 7, "feature", head, remote_repo, "main", base);
    fake
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_comment_from_someone_without_write_access_gets_a_polite_refusal(pool: PgPool) {
    let fake = fake_with_pr("o/r", &"a".repeat(40), &"b".repeat(40)).await;
    fake.set_permission("o/r", "eve", "read");
    let state = state(pool.clone(), None);
    let sent = send(
        &state,
        signed(
            "issue_comment",
            "d-1",
            &comment("o/r", 7, "/perf-fix", "eve", "CONTRIBUTOR"),
        ),
    )
    .await;
    assert_eq!(sent.body["outcome"], "queued");

    let remote = BareRemote::new("o/r");
    let workdir = tempfile::tempdir().unwrap();
    let worker = worker(pool.clone(), &fake, &remote, workdir.path(), "w-1");
    let job_id = worker.run_one(None).await.unwrap().expect("a job to claim");

    let comments = fake.comments();
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0].author, APP_BOT_LOGIN);
    assert!(comments[0].body.contains("@eve"), "{}", comments[0].body);
    assert!(
        comments[0].body.contains("write access"),
        "{}",
        comments[0].body
    );
    assert!(
        fake.check_runs().is_empty(),
        "nothing runs for a refused request"
    );
    assert!(fake.pulls().iter().all(|p| p.number == 7));
    let job = Store::new(pool).job(job_id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Succeeded);
    assert_eq!(job.result.unwrap()["outcome"], "refused");
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_missing_config_file_is_named_on_the_pull_request_and_fails_the_job(pool: PgPool) {
    let remote = BareRemote::new("o/r");
    remote.write("README.md", "hello\n");
    let base = remote.commit_and_push("base", "main");
    remote.write("README.md", "hello again\n");
    let head = remote.commit_and_push("head", "feature");
    let fake = fake_with_pr("o/r", &head, &base).await;
    fake.set_permission("o/r", "ann", "write");
    let trigger = fake.add_comment("o/r", 7, "ann", "User", "/perf-fix");

    let state = state(pool.clone(), None);
    let mut payload = comment("o/r", 7, "/perf-fix", "ann", "MEMBER");
    payload["comment"]["id"] = serde_json::json!(trigger);
    send(&state, signed("issue_comment", "d-1", &payload)).await;
    let workdir = tempfile::tempdir().unwrap();
    let worker = worker(pool.clone(), &fake, &remote, workdir.path(), "w-1");
    let job_id = worker.run_one(None).await.unwrap().unwrap();

    let job = Store::new(pool.clone()).job(job_id).await.unwrap().unwrap();
    assert_eq!(
        job.state,
        JobState::Failed,
        "a config problem is not retried"
    );
    assert!(
        job.error.as_deref().unwrap().contains(".perf-fixer.toml"),
        "{:?}",
        job.error
    );
    // The comment job now carries the SHAs it ran on.
    assert_eq!(job.head_sha, head);
    assert_eq!(job.base_sha.as_deref(), Some(base.as_str()));

    let progress: Vec<_> = fake
        .comments()
        .into_iter()
        .filter(|c| c.body.contains(&perf_fixer_github::job_marker(job_id)))
        .collect();
    assert_eq!(progress.len(), 1, "one progress comment, edited in place");
    assert!(
        progress[0].body.contains(".perf-fixer.toml"),
        "{}",
        progress[0].body
    );
    assert!(progress[0].edits >= 1);
    let runs = fake.check_runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].name, "perf-fixer");
    assert_eq!(runs[0].head_sha, head);
    assert_eq!(runs[0].conclusion.as_deref(), Some("failure"));
    assert!(
        fake.reactions()
            .iter()
            .any(|r| r.content == "eyes" && r.comment_id == trigger),
        "{:?}",
        fake.reactions()
    );

    // The git cache is a bare repository that never saw the token.
    let cache = workdir.path().join("repos/o/r.git");
    let config = std::fs::read_to_string(cache.join("config")).unwrap();
    assert!(!config.contains("ghs_"), "{config}");
    assert!(!config.contains("remote \"origin\""), "{config}");
    let mut stack = vec![cache];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                assert!(!text.contains("ghs_fake"), "token in {}", path.display());
            }
        }
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_invalid_config_names_the_key(pool: PgPool) {
    let remote = BareRemote::new("o/r");
    remote.write("README.md", "hello\n");
    let base = remote.commit_and_push("base", "main");
    remote.write(
        ".perf-fixer.toml",
        "[bench]\ncommand = \"cargo bench\"\nformat = \"xml\"\n",
    );
    let head = remote.commit_and_push("head", "feature");
    let fake = fake_with_pr("o/r", &head, &base).await;

    let state = state(pool.clone(), None);
    let payload = check_run(
        "o/r",
        "gate:perf",
        "failure",
        &head,
        Some((7, "feature", &base, "main")),
    );
    send(&state, signed("check_run", "d-1", &payload)).await;
    let workdir = tempfile::tempdir().unwrap();
    let worker = worker(pool.clone(), &fake, &remote, workdir.path(), "w-1");
    let job_id = worker.run_one(None).await.unwrap().unwrap();
    let job = Store::new(pool).job(job_id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Failed);
    let error = job.error.unwrap();
    assert!(error.contains("bench.format"), "{error}");
    let comment = fake
        .comments()
        .into_iter()
        .find(|c| c.author == APP_BOT_LOGIN)
        .unwrap();
    assert!(comment.body.contains("bench.format"), "{}", comment.body);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_worker_stops_claiming_on_shutdown(pool: PgPool) {
    let fake = FakeGitHub::start().await;
    let remote = BareRemote::new("o/r");
    let workdir = tempfile::tempdir().unwrap();
    let worker = worker(pool.clone(), &fake, &remote, workdir.path(), "w-1");
    let (tx, rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(async move { worker.run(rx).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the worker stops within its rescan period")
        .unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_running_worker_forgets_deliveries_older_than_the_retention(pool: PgPool) {
    let state = state(pool.clone(), None);
    for id in ["d-old", "d-new"] {
        let ping = serde_json::json!({"zen": "Keep it simple.", "hook_id": 5});
        send(&state, signed("ping", id, &ping)).await;
    }
    sqlx::query(
        "UPDATE deliveries SET received_at = now() - interval '3 days' WHERE delivery_id = 'd-old'",
    )
    .execute(&pool)
    .await
    .unwrap();
    let fake = FakeGitHub::start().await;
    let remote = BareRemote::new("o/r");
    let workdir = tempfile::tempdir().unwrap();
    let worker = worker_with_config(
        pool.clone(),
        &fake,
        &remote,
        workdir.path(),
        "w-1",
        Default::default(),
        |c| c.delivery_retention = Duration::from_secs(2 * 86_400),
    );
    let (tx, rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(async move { worker.run(rx).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.send(true).unwrap();
    running.await.unwrap();
    let store = Store::new(pool);
    assert!(store.delivery("d-old").await.unwrap().is_none());
    assert!(store.delivery("d-new").await.unwrap().is_some());
}

#[sqlx::test(migrations = "../../migrations")]
async fn help_status_and_refused_cancel_get_replies_in_the_background(pool: PgPool) {
    let fake = fake_with_pr("o/r", &"a".repeat(40), &"b".repeat(40)).await;
    let github = perf_fixer_github::GitHub::new(&fake.credentials(), &fake.uri()).unwrap();
    let state = state(pool.clone(), Some(github));
    let mut sent_ids = Vec::new();
    for (i, (body, association)) in [
        ("/perf-fix help", "NONE"),
        ("/perf-fix status", "NONE"),
        ("/perf-fix cancel", "CONTRIBUTOR"),
    ]
    .into_iter()
    .enumerate()
    {
        let id = fake.add_comment("o/r", 7, "eve", "User", body);
        sent_ids.push(id);
        let mut payload = comment("o/r", 7, body, "eve", association);
        payload["comment"]["id"] = serde_json::json!(id);
        let sent = send(&state, signed("issue_comment", &format!("d-{i}"), &payload)).await;
        assert_eq!(sent.body["outcome"], "reply", "{}", sent.body);
    }
    let started = std::time::Instant::now();
    let replies = loop {
        let replies: Vec<_> = fake
            .comments()
            .into_iter()
            .filter(|c| c.author == APP_BOT_LOGIN)
            .collect();
        if replies.len() == 3 || started.elapsed() > Duration::from_secs(10) {
            break replies;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(replies.len(), 3, "{replies:?}");
    assert!(
        replies.iter().any(|c| c.body.contains("/perf-fix bench=")),
        "help: {replies:?}"
    );
    assert!(
        replies.iter().any(|c| c.body.contains("no jobs")),
        "status: {replies:?}"
    );
    assert!(
        replies
            .iter()
            .any(|c| c.body.contains("only people with write access")),
        "cancel: {replies:?}"
    );
    assert_eq!(count(&pool, "jobs").await, 0);
}
