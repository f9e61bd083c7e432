//! The webhook endpoint against a real Postgres per test: signatures first, then headers,
//! parsing, the decision, and one transaction storing the delivery with its job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use perf_fixer_github::webhook::sign;
use perf_fixer_store::{JobState, JobTrigger, PgPool, Store};
use serde_json::json;
use support::*;

const HEAD: &str = "1111111111111111111111111111111111111111";
const BASE: &str = "2222222222222222222222222222222222222222";

#[sqlx::test(migrations = "../../migrations")]
async fn unsigned_or_wrongly_signed_deliveries_are_refused_and_nothing_is_stored(pool: PgPool) {
    let state = state(pool.clone(), None);
    let body = serde_json::to_vec(&check_run("o/r", "gate:perf", "failure", HEAD, None)).unwrap();
    let unsigned = send(&state, delivery("check_run", "d-1", &body, None)).await;
    assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED);
    let wrong = send(
        &state,
        delivery("check_run", "d-2", &body, Some(sign("attacker", &body))),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let garbage = send(
        &state,
        delivery("check_run", "d-3", &body, Some("sha256=zz".to_owned())),
    )
    .await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    // A signature over another body does not carry over.
    let other = send(
        &state,
        delivery("check_run", "d-4", &body, Some(sign(SECRET, b"{}"))),
    )
    .await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
    // Malformed JSON with no signature is refused for the signature, before parsing.
    let junk = send(&state, delivery("check_run", "d-5", b"{not json", None)).await;
    assert_eq!(junk.status, StatusCode::UNAUTHORIZED);
    assert_eq!(count(&pool, "deliveries").await, 0);
    assert_eq!(count(&pool, "jobs").await, 0);
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_previous_secret_still_verifies_during_a_rotation(pool: PgPool) {
    let state = state(pool.clone(), None);
    let body = serde_json::to_vec(&json!({"zen": "Design for failure.", "hook_id": 1})).unwrap();
    let sent = send(
        &state,
        delivery("ping", "d-rot", &body, Some(sign("old-secret", &body))),
    )
    .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED);
}

#[sqlx::test(migrations = "../../migrations")]
async fn missing_headers_and_malformed_json_are_bad_requests_and_queue_nothing(pool: PgPool) {
    let state = state(pool.clone(), None);
    let body = serde_json::to_vec(&check_run("o/r", "gate:perf", "failure", HEAD, None)).unwrap();
    let no_event = Request::post("/webhooks/github")
        .header("x-github-delivery", "d-1")
        .header("x-hub-signature-256", sign(SECRET, &body))
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(send(&state, no_event).await.status, StatusCode::BAD_REQUEST);
    let no_delivery = Request::post("/webhooks/github")
        .header("x-github-event", "check_run")
        .header("x-hub-signature-256", sign(SECRET, &body))
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(
        send(&state, no_delivery).await.status,
        StatusCode::BAD_REQUEST
    );

    let junk = b"{\"action\": \"completed\", ";
    let sent = send(
        &state,
        delivery("check_run", "d-2", junk, Some(sign(SECRET, junk))),
    )
    .await;
    assert_eq!(sent.status, StatusCode::BAD_REQUEST);
    assert!(
        sent.body["message"].as_str().unwrap().contains("check_run"),
        "{}",
        sent.body
    );
    // Valid JSON missing a field the decision needs.
    let partial =
        serde_json::to_vec(&json!({"action": "completed", "check_run": {"name": "gate:perf"}}))
            .unwrap();
    let sent = send(
        &state,
        delivery("check_run", "d-3", &partial, Some(sign(SECRET, &partial))),
    )
    .await;
    assert_eq!(sent.status, StatusCode::BAD_REQUEST);
    assert_eq!(count(&pool, "deliveries").await, 0);
    assert_eq!(count(&pool, "jobs").await, 0);
}

#[sqlx::test(migrations = "../../migrations")]
async fn bodies_over_25_mib_are_refused(pool: PgPool) {
    let state = state(pool.clone(), None);
    let body = vec![b' '; 25 * 1024 * 1024 + 1];
    let sig = sign(SECRET, &body);
    let sent = send(&state, delivery("check_run", "d-big", &body, Some(sig))).await;
    assert_eq!(sent.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(count(&pool, "deliveries").await, 0);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_failing_gate_queues_one_job_and_a_redelivery_queues_nothing(pool: PgPool) {
    let state = state(pool.clone(), None);
    let payload = check_run(
        "o/r",
        "gate:perf",
        "failure",
        HEAD,
        Some((7, "feature", BASE, "main")),
    );
    let first = send(&state, signed("check_run", "d-gate", &payload)).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    assert_eq!(first.body["outcome"], "queued");
    let again = send(&state, signed("check_run", "d-gate", &payload)).await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert_eq!(again.body["outcome"], "duplicate");
    // Another delivery for the same head joins the active job.
    let other = send(&state, signed("check_run", "d-gate-2", &payload)).await;
    assert_eq!(other.status, StatusCode::ACCEPTED);
    assert_eq!(count(&pool, "jobs").await, 1);
    assert_eq!(count(&pool, "deliveries").await, 2);

    let store = Store::new(pool.clone());
    let job = store.list_jobs(10, 0).await.unwrap().remove(0);
    assert_eq!(job.trigger, JobTrigger::CheckRun);
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.repo, "o/r");
    assert_eq!(job.head_sha, HEAD);
    assert_eq!(job.base_sha.as_deref(), Some(BASE));
    assert_eq!(job.pr_number, Some(7));
    assert_eq!(job.installation_id, Some(77));
    let delivery = store.delivery("d-gate").await.unwrap().unwrap();
    assert_eq!(delivery.job_id, Some(job.id));
}

#[sqlx::test(migrations = "../../migrations")]
async fn concurrent_deliveries_each_get_their_own_answer(pool: PgPool) {
    // Deliveries arriving together are committed together; each still answers for itself.
    let state = state(pool.clone(), None);
    let heads: Vec<String> = (0..24).map(|i| format!("{i:040x}")).collect();
    let tasks: Vec<_> = (0..48)
        .map(|i| {
            let state = state.clone();
            // Pairs of distinct deliveries for the same head, and every 8th one sent twice.
            let payload = check_run("o/r", "gate:perf", "failure", &heads[i / 2], None);
            let id = format!("d-{}", if i % 8 == 7 { i - 1 } else { i });
            tokio::spawn(async move { send(&state, signed("check_run", &id, &payload)).await })
        })
        .collect();
    let mut outcomes = std::collections::HashMap::new();
    let mut job_ids = std::collections::HashSet::new();
    for task in tasks {
        let sent = task.await.unwrap();
        assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
        *outcomes
            .entry(sent.body["outcome"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
        if let Some(id) = sent.body["job_id"].as_i64() {
            job_ids.insert(id);
        }
    }
    assert_eq!(outcomes.get("duplicate"), Some(&6), "{outcomes:?}");
    assert_eq!(outcomes.get("queued"), Some(&42), "{outcomes:?}");
    assert_eq!(job_ids.len(), 24, "one job per head");
    assert_eq!(count(&pool, "jobs").await, 24);
    assert_eq!(count(&pool, "deliveries").await, 42);
}

#[sqlx::test(migrations = "../../migrations")]
async fn passing_gates_other_checks_and_unknown_events_are_acknowledged_and_ignored(pool: PgPool) {
    let state = state(pool.clone(), None);
    for (i, (name, conclusion)) in [
        ("gate:perf", "success"),
        ("gate:perf", "cancelled"),
        ("ci", "failure"),
    ]
    .into_iter()
    .enumerate()
    {
        let sent = send(
            &state,
            signed(
                "check_run",
                &format!("d-{i}"),
                &check_run("o/r", name, conclusion, HEAD, None),
            ),
        )
        .await;
        assert_eq!(sent.status, StatusCode::ACCEPTED);
        assert_eq!(sent.body["outcome"], "ignored");
    }
    let sent = send(
        &state,
        signed("star", "d-star", &json!({"action": "created"})),
    )
    .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED);
    let sent = send(
        &state,
        signed(
            "ping",
            "d-ping",
            &json!({"zen": "Keep it simple.", "hook_id": 5}),
        ),
    )
    .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED);
    assert_eq!(count(&pool, "jobs").await, 0);
    assert_eq!(count(&pool, "deliveries").await, 5);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_branch_gate_compares_with_the_default_branch(pool: PgPool) {
    let state = state(pool.clone(), None);
    let sent = send(
        &state,
        signed(
            "check_run",
            "d-b",
            &check_run("o/r", "gate:perf", "timed_out", HEAD, None),
        ),
    )
    .await;
    assert_eq!(sent.body["outcome"], "queued");
    let job = Store::new(pool).list_jobs(1, 0).await.unwrap().remove(0);
    assert_eq!(job.pr_number, None);
    assert_eq!(job.base_ref.as_deref(), Some("main"));
    assert_eq!(job.head_ref.as_deref(), Some("feature"));
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_perf_fix_comment_queues_a_comment_job_and_edits_or_bots_do_not(pool: PgPool) {
    let state = state(pool.clone(), None);
    let sent = send(
        &state,
        signed(
            "issue_comment",
            "d-c1",
            &comment("o/r", 7, "Please\n\n/perf-fix bench=parse", "ann", "NONE"),
        ),
    )
    .await;
    assert_eq!(sent.body["outcome"], "queued", "{}", sent.body);
    let job = Store::new(pool.clone())
        .list_jobs(1, 0)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(job.trigger, JobTrigger::Comment);
    assert_eq!(job.requested_by.as_deref(), Some("ann"));
    assert_eq!(job.bench_filter.as_deref(), Some("parse"));
    assert_eq!(job.pr_number, Some(7));

    let mut edited = comment("o/r", 7, "/perf-fix", "ann", "OWNER");
    edited["action"] = json!("edited");
    assert_eq!(
        send(&state, signed("issue_comment", "d-c2", &edited))
            .await
            .body["outcome"],
        "ignored"
    );
    let mut bot = comment("o/r", 7, "/perf-fix", "ci-bot[bot]", "NONE");
    bot["comment"]["user"]["type"] = json!("Bot");
    assert_eq!(
        send(&state, signed("issue_comment", "d-c3", &bot))
            .await
            .body["outcome"],
        "ignored"
    );
    let quoted = comment(
        "o/r",
        7,
        "> /perf-fix\n\n```\n/perf-fix\n```",
        "ann",
        "OWNER",
    );
    assert_eq!(
        send(&state, signed("issue_comment", "d-c4", &quoted))
            .await
            .body["outcome"],
        "ignored"
    );
    assert_eq!(count(&pool, "jobs").await, 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_push_to_the_pull_request_cancels_jobs_for_the_old_head(pool: PgPool) {
    let state = state(pool.clone(), None);
    let payload = check_run(
        "o/r",
        "gate:perf",
        "failure",
        HEAD,
        Some((7, "feature", BASE, "main")),
    );
    send(&state, signed("check_run", "d-1", &payload)).await;
    let new_head = "3".repeat(40);
    let sent = send(
        &state,
        signed(
            "pull_request",
            "d-2",
            &pull_request("o/r", "synchronize", 7, &new_head),
        ),
    )
    .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED);
    let store = Store::new(pool.clone());
    let job = store.list_jobs(1, 0).await.unwrap().remove(0);
    assert_eq!(job.state, JobState::Cancelled);

    // A job for the new head survives a redelivered synchronize for it, and a close cancels it.
    let payload = check_run(
        "o/r",
        "gate:perf",
        "failure",
        &new_head,
        Some((7, "feature", BASE, "main")),
    );
    send(&state, signed("check_run", "d-3", &payload)).await;
    send(
        &state,
        signed(
            "pull_request",
            "d-4",
            &pull_request("o/r", "synchronize", 7, &new_head),
        ),
    )
    .await;
    assert_eq!(
        store.list_jobs(1, 0).await.unwrap()[0].state,
        JobState::Queued
    );
    send(
        &state,
        signed(
            "pull_request",
            "d-5",
            &pull_request("o/r", "closed", 7, &new_head),
        ),
    )
    .await;
    assert_eq!(
        store.list_jobs(1, 0).await.unwrap()[0].state,
        JobState::Cancelled
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn perf_fix_cancel_needs_a_member_and_cancels_the_pr_jobs(pool: PgPool) {
    let state = state(pool.clone(), None);
    send(
        &state,
        signed(
            "issue_comment",
            "d-1",
            &comment("o/r", 7, "/perf-fix", "ann", "MEMBER"),
        ),
    )
    .await;
    let store = Store::new(pool.clone());
    send(
        &state,
        signed(
            "issue_comment",
            "d-2",
            &comment("o/r", 7, "/perf-fix cancel", "eve", "NONE"),
        ),
    )
    .await;
    assert_eq!(
        store.list_jobs(1, 0).await.unwrap()[0].state,
        JobState::Queued
    );
    send(
        &state,
        signed(
            "issue_comment",
            "d-3",
            &comment("o/r", 7, "/perf-fix cancel", "ann", "MEMBER"),
        ),
    )
    .await;
    assert_eq!(
        store.list_jobs(1, 0).await.unwrap()[0].state,
        JobState::Cancelled
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn installations_are_kept_current(pool: PgPool) {
    let state = state(pool.clone(), None);
    let created = json!({
        "action": "created",
        "installation": {"id": 77, "account": {"login": "octo-org", "type": "Organization"}},
        "repositories": [{"id": 1, "full_name": "octo-org/a", "private": false}, {"id": 2, "full_name": "octo-org/b", "private": true}]
    });
    assert_eq!(
        send(&state, signed("installation", "d-1", &created))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let store = Store::new(pool.clone());
    let inst = store.installation(77).await.unwrap().unwrap();
    assert_eq!(inst.account_type, "Organization");
    assert_eq!(store.installation_repositories(77).await.unwrap().len(), 2);
    let changed = json!({
        "action": "removed",
        "installation": {"id": 77, "account": {"login": "octo-org", "type": "Organization"}},
        "repositories_added": [{"id": 3, "full_name": "octo-org/c"}],
        "repositories_removed": [{"id": 1, "full_name": "octo-org/a"}]
    });
    send(&state, signed("installation_repositories", "d-2", &changed)).await;
    let names: Vec<String> = store
        .installation_repositories(77)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.full_name)
        .collect();
    assert_eq!(names, ["octo-org/b", "octo-org/c"]);
    let deleted =
        json!({"action": "deleted", "installation": {"id": 77, "account": {"login": "octo-org"}}});
    send(&state, signed("installation", "d-3", &deleted)).await;
    assert!(
        store
            .installation(77)
            .await
            .unwrap()
            .unwrap()
            .deleted_at
            .is_some()
    );
    assert_eq!(
        store.installation_for_repo("octo-org/b").await.unwrap(),
        None
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn health_and_readiness(pool: PgPool) {
    let state = state(pool.clone(), None);
    let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
    assert_eq!(send(&state, get("/healthz")).await.status, StatusCode::OK);
    assert_eq!(send(&state, get("/readyz")).await.status, StatusCode::OK);

    // A pool pointed at a port where nothing listens: not ready, but alive.
    let dead = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_millis(500))
        .connect_lazy("postgres://postgres@127.0.0.1:1/postgres")
        .unwrap();
    let dead_state = support::state(dead, None);
    assert_eq!(
        send(&dead_state, get("/readyz")).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        send(&dead_state, get("/healthz")).await.status,
        StatusCode::OK
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn metrics_count_deliveries_and_queue_depth(pool: PgPool) {
    let state = state(pool.clone(), None);
    let payload = check_run("o/r", "gate:perf", "failure", HEAD, None);
    send(&state, signed("check_run", "d-1", &payload)).await;
    send(&state, signed("check_run", "d-1", &payload)).await;
    let response = tower::ServiceExt::oneshot(
        perf_fixer_server::router(state.clone()),
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await
    .unwrap();
    let text = String::from_utf8(
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(
        text.contains(
            "perf_fixer_webhook_deliveries_total{event=\"check_run\",outcome=\"queued\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "perf_fixer_webhook_deliveries_total{event=\"check_run\",outcome=\"duplicate\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("perf_fixer_jobs{state=\"queued\"} 1"),
        "{text}"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn job_pages_list_and_show_jobs(pool: PgPool) {
    let state = state(pool.clone(), None);
    send(
        &state,
        signed(
            "check_run",
            "d-1",
            &check_run("o/r<script>", "gate:perf", "failure", HEAD, None),
        ),
    )
    .await;
    let job = Store::new(pool).list_jobs(1, 0).await.unwrap().remove(0);
    for path in ["/jobs".to_owned(), format!("/jobs/{}", job.id)] {
        let response = tower::ServiceExt::oneshot(
            perf_fixer_server::router(state.clone()),
            Request::get(&path).body(Body::empty()).unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let html = String::from_utf8(
            axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap()
                .to_vec(),
        )
        .unwrap();
        assert!(html.contains("o/r&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
    }
    let missing = send(
        &state,
        Request::get("/jobs/999999").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}
