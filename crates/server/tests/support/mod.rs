//! Test support: an app over a test database, signed deliveries, and payload builders.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use perf_fixer_github::WebhookSecrets;
use perf_fixer_github::webhook::sign;
use perf_fixer_server::metrics::Metrics;
use perf_fixer_server::{AppState, router};
use perf_fixer_store::{PgPool, Store};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const SECRET: &str = "test-webhook-secret";

pub fn state(pool: PgPool, github: Option<perf_fixer_github::GitHub>) -> AppState {
    AppState {
        store: Store::new(pool),
        secrets: WebhookSecrets::parse(&format!("old-secret,{SECRET}")).unwrap(),
        gate_checks: Arc::new(vec!["gate:perf".to_owned()]),
        app_id: Some(4242),
        github,
        metrics: Arc::new(Metrics::default()),
        public_url: Some("https://perf-fixer.example".to_owned()),
    }
}

pub struct Sent {
    pub status: StatusCode,
    pub body: Value,
}

/// Sends a request into the router and reads the JSON answer (Null when not JSON).
pub async fn send(state: &AppState, request: Request<Body>) -> Sent {
    let response = router(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Sent {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

pub fn delivery(
    event: &str,
    delivery_id: &str,
    body: &[u8],
    signature: Option<String>,
) -> Request<Body> {
    let mut builder = Request::post("/webhooks/github")
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery_id);
    if let Some(sig) = signature {
        builder = builder.header("x-hub-signature-256", sig);
    }
    builder.body(Body::from(body.to_vec())).unwrap()
}

pub fn signed(event: &str, delivery_id: &str, payload: &Value) -> Request<Body> {
    let body = serde_json::to_vec(payload).unwrap();
    let sig = sign(SECRET, &body);
    delivery(event, delivery_id, &body, Some(sig))
}

pub fn repository(full_name: &str, clone_url: &str) -> Value {
    let (owner, name) = full_name.split_once('/').unwrap();
    json!({
        "id": 101, "name": name, "full_name": full_name, "owner": {"login": owner, "type": "User"},
        "default_branch": "main", "clone_url": clone_url, "private": false
    })
}

pub fn check_run(
    repo: &str,
    name: &str,
    conclusion: &str,
    head_sha: &str,
    pr: Option<(u64, &str, &str, &str)>,
) -> Value {
    let pull_requests = match pr {
        Some((number, head_ref, base_sha, base_ref)) => json!([{
            "number": number,
            "head": {"sha": head_sha, "ref": head_ref, "repo": {"id": 101, "url": format!("https://api.github.com/repos/{repo}")}},
            "base": {"sha": base_sha, "ref": base_ref, "repo": {"id": 101, "url": format!("https://api.github.com/repos/{repo}")}}
        }]),
        None => json!([]),
    };
    json!({
        "action": "completed",
        "installation": {"id": 77},
        "repository": repository(repo, &format!("https://github.com/{repo}.git")),
        "check_run": {
            "id": 9001, "name": name, "status": "completed", "conclusion": conclusion,
            "head_sha": head_sha, "check_suite": {"head_branch": "feature"},
            "app": {"id": 15368}, "pull_requests": pull_requests
        }
    })
}

pub fn comment(repo: &str, issue: u64, body: &str, login: &str, association: &str) -> Value {
    json!({
        "action": "created",
        "installation": {"id": 77},
        "repository": repository(repo, &format!("https://github.com/{repo}.git")),
        "issue": {"number": issue, "pull_request": {"url": format!("https://api.github.com/repos/{repo}/pulls/{issue}")}},
        "comment": {"id": 31337, "body": body, "user": {"login": login, "type": "User"},
                    "author_association": association}
    })
}

pub fn pull_request(repo: &str, action: &str, number: u64, head_sha: &str) -> Value {
    json!({
        "action": action,
        "number": number,
        "installation": {"id": 77},
        "repository": repository(repo, &format!("https://github.com/{repo}.git")),
        "before": "0000000000000000000000000000000000000000",
        "after": head_sha,
        "pull_request": {
            "number": number, "state": if action == "closed" { "closed" } else { "open" },
            "head": {"sha": head_sha, "ref": "feature", "repo": {"id": 101, "full_name": repo}},
            "base": {"sha": "b".repeat(40), "ref": "main", "repo": {"id": 101, "full_name": repo}}
        }
    })
}

pub async fn count(pool: &PgPool, table: &str) -> i64 {
    let sql = match table {
        "jobs" => "SELECT count(*) FROM jobs",
        "deliveries" => "SELECT count(*) FROM deliveries",
        "job_events" => "SELECT count(*) FROM job_events",
        other => panic!("no count query for {other}"),
    };
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// Runs git in `dir`, panicking with its stderr on failure.
pub fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "Dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A "GitHub" remote on disk: `<root>/remotes/<owner>/<name>.git` (bare), filled from a work
/// repository the test commits into.
pub struct BareRemote {
    pub root: tempfile::TempDir,
    pub repo: String,
}

impl BareRemote {
    pub fn new(repo: &str) -> Self {
        let root = tempfile::tempdir().unwrap();
        let bare = root.path().join("remotes").join(format!("{repo}.git"));
        std::fs::create_dir_all(&bare).unwrap();
        git(&bare, &["init", "-q", "--bare", "-b", "main"]);
        let work = root.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        git(&work, &["init", "-q", "-b", "main"]);
        git(&work, &["config", "commit.gpgsign", "false"]);
        git(&work, &["remote", "add", "origin", bare.to_str().unwrap()]);
        BareRemote {
            root,
            repo: repo.to_owned(),
        }
    }

    pub fn work(&self) -> std::path::PathBuf {
        self.root.path().join("work")
    }

    pub fn bare(&self) -> std::path::PathBuf {
        self.root
            .path()
            .join("remotes")
            .join(format!("{}.git", self.repo))
    }

    /// `file://<root>/remotes/{repo}.git`, as a worker's remote template.
    pub fn template(&self) -> perf_fixer_server::git::RemoteTemplate {
        perf_fixer_server::git::RemoteTemplate(format!(
            "file://{}/remotes/{{repo}}.git",
            self.root.path().display()
        ))
    }

    pub fn write(&self, path: &str, content: &str) {
        let full = self.work().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }

    /// Commits everything on the current branch and pushes it; returns the SHA.
    pub fn commit_and_push(&self, message: &str, branch: &str) -> String {
        let work = self.work();
        git(&work, &["checkout", "-q", "-B", branch]);
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", message]);
        git(
            &work,
            &[
                "push",
                "-q",
                "-f",
                "origin",
                &format!("HEAD:refs/heads/{branch}"),
            ],
        );
        git(&work, &["rev-parse", "HEAD"])
    }

    /// The SHA of a branch in the bare remote, if it exists.
    pub fn branch_sha(&self, branch: &str) -> Option<String> {
        let out = std::process::Command::new("git")
            .args([
                "rev-parse",
                "--verify",
                "-q",
                &format!("refs/heads/{branch}"),
            ])
            .current_dir(self.bare())
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8(out.stdout).unwrap().trim().to_owned())
    }
}

/// A worker against the fake GitHub and a bare remote, with short timings.
pub fn worker(
    pool: PgPool,
    fake: &perf_fixer_github::testing::FakeGitHub,
    remote: &BareRemote,
    workdir: &std::path::Path,
    id: &str,
) -> perf_fixer_server::Worker {
    worker_with_metrics(
        pool,
        fake,
        remote,
        workdir,
        id,
        Arc::new(Metrics::default()),
    )
}

/// [`worker`] counting into `metrics` (share the app's to scrape `/metrics` after a job).
pub fn worker_with_metrics(
    pool: PgPool,
    fake: &perf_fixer_github::testing::FakeGitHub,
    remote: &BareRemote,
    workdir: &std::path::Path,
    id: &str,
    metrics: Arc<Metrics>,
) -> perf_fixer_server::Worker {
    worker_with_config(pool, fake, remote, workdir, id, metrics, |_| {})
}

/// [`worker_with_metrics`] with a last say on the configuration.
pub fn worker_with_config(
    pool: PgPool,
    fake: &perf_fixer_github::testing::FakeGitHub,
    remote: &BareRemote,
    workdir: &std::path::Path,
    id: &str,
    metrics: Arc<Metrics>,
    tweak: impl FnOnce(&mut perf_fixer_server::WorkerConfig),
) -> perf_fixer_server::Worker {
    let github = perf_fixer_github::GitHub::new(&fake.credentials(), &fake.uri())
        .unwrap()
        .with_retry(perf_fixer_github::RetryPolicy {
            max_retries: 2,
            base_delay: std::time::Duration::from_millis(10),
            max_delay: std::time::Duration::from_millis(50),
        });
    let mut config = perf_fixer_server::WorkerConfig::new(
        id.to_owned(),
        workdir.to_path_buf(),
        remote.template(),
    );
    config.lease = std::time::Duration::from_secs(30);
    config.heartbeat_every = std::time::Duration::from_millis(500);
    config.rescan_every = std::time::Duration::from_millis(200);
    config.command_timeout = std::time::Duration::from_secs(600);
    config.public_url = Some("https://perf-fixer.example".to_owned());
    tweak(&mut config);
    perf_fixer_server::Worker::new(Store::new(pool), github, config, metrics)
}
