//! The service's JSON logs, with the subscriber the binary installs: every line perf-fixer
//! writes while it handles a delivery (its background reply included) carries the delivery's
//! `delivery_id`, and every line it writes while a worker runs a job (the engine's too, from
//! its blocking threads) carries the job's `job_id`.
//!
//! The subscriber is global (engine lines come from other threads), so this file holds one
//! test: nothing else logs into the capture meanwhile.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};

use perf_fixer_engine::runner::SandboxMode;
use perf_fixer_github::testing::FakeGitHub;
use perf_fixer_store::{JobState, PgPool, Store};
use serde_json::Value;
use support::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for Captured {
    type Writer = Captured;
    fn make_writer(&'w self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// perf-fixer's own lines written since byte `from`, parsed. Other crates' lines are left
    /// out: their background tasks (connection pools, HTTP clients) belong to no delivery.
    fn ours_since(&self, from: usize) -> Vec<Value> {
        let bytes = self.0.lock().unwrap()[from..].to_vec();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).expect("each line is one JSON object"))
            .filter(|line| {
                let target = line["target"].as_str().unwrap_or_default();
                target.starts_with("perf_fixer")
                    && !target.starts_with("perf_fixer_github::testing")
            })
            .collect()
    }
}

/// The value of `field` in the spans around the line (`spans` lists them all, outermost
/// first, with their fields).
fn span_field(line: &Value, field: &str) -> Option<Value> {
    line["spans"]
        .as_array()?
        .iter()
        .find_map(|span| span.get(field).cloned())
}

#[sqlx::test(migrations = "../../migrations")]
async fn every_line_of_a_delivery_and_of_a_job_carries_its_id(pool: PgPool) {
    let logs = Captured::default();
    tracing::subscriber::set_global_default(perf_fixer_server::logging::json_subscriber(
        tracing_subscriber::EnvFilter::new(
            "info,perf_fixer_server=trace,perf_fixer_engine=trace,perf_fixer_store=trace,perf_fixer_github=trace",
        ),
        logs.clone(),
    ))
    .expect("the only subscriber of this test binary");

    // A pull request whose head has a config with a bench command that leaves no output: the
    // job goes through fetch and into the engine, which runs repository commands and fails.
    let remote = BareRemote::new("o/r");
    remote.write("README.md", "base\n");
    let base = remote.commit_and_push("base", "main");
    remote.write(
        ".perf-fixer.toml",
        "[bench]\ncommand = \"true\"\nformat = \"json\"\noutput = \"bench.json\"\n",
    );
    let head = remote.commit_and_push("head", "feature");
    let fake = FakeGitHub::start().await;
    fake.add_repo("o/r", "main");
    fake.add_pull("o/r", 7, "feature", &head, "o/r", "main", &base);

    // The delivery.
    let state = state(pool.clone(), None);
    let payload = check_run(
        "o/r",
        "gate:perf",
        "failure",
        &head,
        Some((7, "feature", &base, "main")),
    );
    let before = logs.len();
    let sent = send(&state, signed("check_run", "d-logs-1", &payload)).await;
    assert_eq!(sent.body["outcome"], "queued", "{}", sent.body);
    let job_id = sent.body["job_id"].as_i64().unwrap();
    let lines = logs.ours_since(before);
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == format!("job {job_id} queued")),
        "the delivery logs its outcome: {lines:#?}"
    );
    for line in &lines {
        assert_eq!(
            span_field(line, "delivery_id"),
            Some(Value::from("d-logs-1")),
            "a line of the delivery without its delivery_id: {line}"
        );
    }

    // A reply posted in the background, after the answer, fails (the repository is unknown to
    // GitHub): that line too belongs to its delivery.
    let github = perf_fixer_github::GitHub::new(&fake.credentials(), &fake.uri()).unwrap();
    let replying = support::state(pool.clone(), Some(github));
    let before = logs.len();
    let sent = send(
        &replying,
        signed(
            "issue_comment",
            "d-logs-2",
            &comment("x/unknown", 3, "/perf-fix help", "eve", "NONE"),
        ),
    )
    .await;
    assert_eq!(sent.body["outcome"], "reply", "{}", sent.body);
    let started = std::time::Instant::now();
    let lines = loop {
        let lines = logs.ours_since(before);
        let failed = lines
            .iter()
            .any(|l| l["fields"]["message"] == "could not post a reply");
        if failed || started.elapsed() > std::time::Duration::from_secs(10) {
            break lines;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "could not post a reply"),
        "the failed reply is logged: {lines:#?}"
    );
    for line in &lines {
        assert_eq!(
            span_field(line, "delivery_id"),
            Some(Value::from("d-logs-2")),
            "a line of the delivery without its delivery_id: {line}"
        );
    }

    // The job.
    let workdir = tempfile::tempdir().unwrap();
    let worker = worker_with_config(
        pool.clone(),
        &fake,
        &remote,
        workdir.path(),
        "w-logs",
        Arc::default(),
        |config| config.sandbox = SandboxMode::None,
    );
    let before = logs.len();
    assert_eq!(worker.run_one(None).await.unwrap(), Some(job_id));
    let lines = logs.ours_since(before);
    let job = Store::new(pool).job(job_id).await.unwrap().unwrap();
    assert_ne!(job.state, JobState::Succeeded, "the bench leaves no output");
    assert!(
        lines.iter().any(|l| l["target"]
            .as_str()
            .unwrap()
            .starts_with("perf_fixer_engine")),
        "the engine's lines (from its blocking thread) are captured: {lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "job attempt failed"),
        "the worker logs the failure: {lines:#?}"
    );
    for line in &lines {
        assert_eq!(
            span_field(line, "job_id"),
            Some(Value::from(job_id)),
            "a line of the job without its job_id: {line}"
        );
    }
}
