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
