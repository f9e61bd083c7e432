//! The HTTP side: `POST /webhooks/github`, `GET /healthz`, `GET /readyz`.
//!
//! A delivery goes through, in this order: the body limit (413), the signature on the raw
//! bytes (401, nothing stored), the headers (400), parsing (400, nothing queued), the decision,
//! and one statement that stores the delivery with its job, committed (durably, before the 202)
//! together with the deliveries arriving at the same time (the store's group commit). No GitHub
//! call is made on the way, so the answer (202) comes within milliseconds.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use perf_fixer_github::{Event, GitHub, WebhookSecrets, parse_event, verify_signature};
use perf_fixer_store::{
    DeliveryOutcome, DeliveryWrite, InstallationRepo, JobNote, NewDelivery, NewInstallation, Store,
};
use serde_json::json;

use crate::decide::{DecideContext, Decision, InstallationChange, decide};
use crate::metrics::Metrics;
use crate::replies;

/// GitHub caps payloads at 25 MB; anything larger is refused before it is read.
pub const BODY_LIMIT: usize = 25 * 1024 * 1024;

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub secrets: WebhookSecrets,
    pub gate_checks: Arc<Vec<String>>,
    /// Our App id: our own check runs and comments are ignored.
    pub app_id: Option<u64>,
    /// For replies to `/perf-fix help|status|cancel` (posted in the background). `None` in
    /// tests that only look at the queue.
    pub github: Option<GitHub>,
    pub metrics: Arc<Metrics>,
    /// Base URL for links to job pages.
    pub public_url: Option<String>,
}

/// The service's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/webhooks/github", post(webhook))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::metrics_handler))
        .route("/jobs", get(crate::pages::jobs_page))
        .route("/jobs/{id}", get(crate::pages::job_page))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the database answers; a pool reconnects by itself, so this recovers on its own.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
        }
    }
}

fn answer(status: StatusCode, outcome: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "outcome": outcome, "message": message })),
    )
        .into_response()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let event_name = header(&headers, "x-github-event")
        .unwrap_or("unknown")
        .to_owned();
    let response = handle_webhook(&state, &headers, &body).await;
    let (status, outcome) = response;
    state
        .metrics
        .delivery(&event_name, outcome.label(), started.elapsed());
    outcome.into_response_with(status)
}

/// How a delivery ended, for the reply and the metrics.
enum Outcome {
    Rejected(&'static str, String),
    Duplicate,
    Done(&'static str, String, Option<i64>),
    Error(String),
}

impl Outcome {
    fn label(&self) -> &'static str {
        match self {
            Outcome::Rejected(label, _) => label,
            Outcome::Duplicate => "duplicate",
            Outcome::Done(label, _, _) => label,
            Outcome::Error(_) => "error",
        }
    }

    fn into_response_with(self, status: StatusCode) -> Response {
        match self {
            Outcome::Rejected(label, message) => answer(status, label, &message),
            Outcome::Duplicate => answer(status, "duplicate", "delivery already received"),
            Outcome::Done(label, message, job) => (
                status,
                axum::Json(json!({ "outcome": label, "message": message, "job_id": job })),
            )
                .into_response(),
            Outcome::Error(message) => answer(status, "error", &message),
        }
    }
}

async fn handle_webhook(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> (StatusCode, Outcome) {
    // 1. Authenticity, on the raw bytes, before anything else looks at them.
    if let Err(err) = verify_signature(&state.secrets, header(headers, "x-hub-signature-256"), body)
    {
        tracing::warn!(error = %err, "webhook refused: bad signature");
        return (
            StatusCode::UNAUTHORIZED,
            Outcome::Rejected("unauthorized", err.to_string()),
        );
    }
    // 2. The headers GitHub always sends.
    let (Some(event_name), Some(delivery_id)) = (
        header(headers, "x-github-event"),
        header(headers, "x-github-delivery"),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            Outcome::Rejected(
                "bad_request",
                "the X-GitHub-Event and X-GitHub-Delivery headers are required".to_owned(),
            ),
        );
    };
    if delivery_id.len() > 200 {
        return (
            StatusCode::BAD_REQUEST,
            Outcome::Rejected("bad_request", "X-GitHub-Delivery is too long".to_owned()),
        );
    }
    let span = tracing::info_span!("delivery", delivery_id = %delivery_id, event = %event_name);
    let _enter = span.enter();
    // 3. Parse.
    let event = match parse_event(event_name, body) {
        Ok(event) => event,
        Err(err) => {
            tracing::warn!(error = %err, "webhook refused: unreadable payload");
            return (
                StatusCode::BAD_REQUEST,
                Outcome::Rejected("bad_request", err.to_string()),
            );
        }
    };
    drop(_enter);
    // 4. Decide and store.
    let cx = DecideContext {
        gate_checks: &state.gate_checks,
        app_id: state.app_id,
    };
    let decision = decide(&event, &cx);
    let stored = tracing::Instrument::instrument(
        apply(state, delivery_id, event_name, &event, body, decision),
        span.clone(),
    )
    .await;
    match stored {
        Ok(outcome) => (StatusCode::ACCEPTED, outcome),
        Err(err) => {
            tracing::error!(parent: &span, error = %err, "webhook not stored");
            // 503 makes GitHub's redelivery (manual or automatic) worth trying later.
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Outcome::Error("the delivery could not be stored; redeliver it later".to_owned()),
            )
        }
    }
}

fn repo_of(event: &Event) -> Option<String> {
    match event {
        Event::CheckRunCompleted(e) => Some(e.repo.full_name.clone()),
        Event::IssueCommentCreated(e) => Some(e.repo.full_name.clone()),
        Event::IssueCommentOther(e) => e.repo_full_name.clone(),
        Event::PullRequest(e) => Some(e.repo.full_name.clone()),
        _ => None,
    }
}

fn action_of(event: &Event) -> Option<String> {
    match event {
        Event::CheckRunCompleted(_) => Some("completed".to_owned()),
        Event::IssueCommentCreated(_) => Some("created".to_owned()),
        Event::IssueCommentOther(e) => Some(e.action.clone()),
        Event::PullRequest(e) => Some(e.action.clone()),
        Event::Installation(e) => Some(e.action.clone()),
        Event::InstallationRepositories(e) => Some(e.action.clone()),
        Event::Ping(_) => None,
        Event::Other { action, .. } => action.clone(),
    }
}

async fn apply(
    state: &AppState,
    delivery_id: &str,
    event_name: &str,
    event: &Event,
    body: &[u8],
    decision: Decision,
) -> Result<Outcome, perf_fixer_store::StoreError> {
    let mut delivery = NewDelivery {
        id: delivery_id.to_owned(),
        event: event_name.to_owned(),
        action: action_of(event),
        installation_id: event.installation_id().and_then(|i| i64::try_from(i).ok()),
        repo: repo_of(event),
        outcome: String::new(),
    };
    let label = decision.label();
    match decision {
        Decision::Ignore(reason) => {
            delivery.outcome = format!("ignored: {reason}");
            Ok(recorded(
                state.store.record_delivery(&delivery).await?,
                label,
                reason,
                None,
            ))
        }
        Decision::Enqueue(job) => enqueue(state, delivery, *job, event, label).await,
        Decision::Retry(job) => {
            let mut job = *job;
            // `/perf-fix retry` runs the pull request's last job again, with its filter.
            if let Some(pr) = job.pr_number
                && let Some(last) = state.store.jobs_for_pr(&job.repo, pr, 1).await?.first()
            {
                job.bench_filter = last.bench_filter.clone();
            }
            enqueue(state, delivery, job, event, label).await
        }
        Decision::CancelOnPr {
            repo,
            pr_number,
            keep_head_sha,
            reason,
        } => {
            delivery.outcome = format!("cancel: {reason}");
            if !state.store.record_delivery(&delivery).await? {
                return Ok(Outcome::Duplicate);
            }
            let target = perf_fixer_store::CancelTarget::SupersededOnPr {
                pr_number,
                keep_head_sha,
            };
            let cancelled = state.store.request_cancel(&repo, &target, &reason).await?;
            let message = format!(
                "cancelled {:?}, signalled {:?}",
                cancelled.cancelled, cancelled.signalled
            );
            Ok(Outcome::Done(label, message, None))
        }
        Decision::Comment {
            installation_id,
            repo,
            issue_number,
            trigger_comment_id,
            reply,
            requested_by,
        } => {
            delivery.outcome = format!("reply: {reply:?}");
            if !state.store.record_delivery(&delivery).await? {
                return Ok(Outcome::Duplicate);
            }
            let mut cancelled = None;
            if reply == crate::decide::Reply::Cancelled {
                let target = perf_fixer_store::CancelTarget::SupersededOnPr {
                    pr_number: i64::try_from(issue_number).unwrap_or(i64::MAX),
                    keep_head_sha: None,
                };
                let reason = format!("cancelled by @{requested_by}");
                cancelled = Some(state.store.request_cancel(&repo, &target, &reason).await?);
            }
            replies::spawn(
                state.clone(),
                replies::ReplyTask {
                    installation_id,
                    repo,
                    issue_number,
                    trigger_comment_id,
                    reply,
                    requested_by,
                    cancelled,
                },
            );
            Ok(Outcome::Done(label, "reply scheduled".to_owned(), None))
        }
        Decision::Installation(change) => {
            delivery.outcome = "installation".to_owned();
            if !state.store.record_delivery(&delivery).await? {
                return Ok(Outcome::Duplicate);
            }
            apply_installation(&state.store, change, body).await?;
            Ok(Outcome::Done(
                label,
                "installation updated".to_owned(),
                None,
            ))
        }
    }
}

async fn enqueue(
    state: &AppState,
    mut delivery: NewDelivery,
    job: perf_fixer_store::NewJob,
    event: &Event,
    label: &'static str,
) -> Result<Outcome, perf_fixer_store::StoreError> {
    delivery.outcome = "queued".to_owned();
    // The worker reacts to the trigger comment and answers its author: the comment is noted on
    // the job (new or joined) in the delivery's own statement, so it is stored exactly when the
    // delivery is.
    let note = match event {
        Event::IssueCommentCreated(c) => Some(JobNote {
            stage: "trigger".to_owned(),
            message: "requested by a comment".to_owned(),
            data: Some(json!({ "comment_id": c.comment_id, "requested_by": c.author_login })),
        }),
        _ => None,
    };
    let write = DeliveryWrite {
        delivery,
        job: Some(job),
        note,
    };
    match state.store.record_delivery_write(write).await? {
        DeliveryOutcome::AlreadySeen => Ok(Outcome::Duplicate),
        DeliveryOutcome::Recorded { job: enqueued } => {
            let job_id = enqueued.map(|e| e.job_id);
            let message = match enqueued {
                Some(e) if e.created => format!("job {} queued", e.job_id),
                Some(e) => format!("joined active job {}", e.job_id),
                None => "queued".to_owned(),
            };
            tracing::info!("{message}");
            Ok(Outcome::Done(label, message, job_id))
        }
    }
}

fn recorded(new: bool, label: &'static str, message: String, job: Option<i64>) -> Outcome {
    if new {
        Outcome::Done(label, message, job)
    } else {
        Outcome::Duplicate
    }
}

/// `installation.account.type` (User or Organization), which the parsed event leaves out.
fn account_type(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/installation/account/type")
                .and_then(|t| t.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "User".to_owned())
}

fn repos(list: &[perf_fixer_github::event::InstallationRepo]) -> Vec<InstallationRepo> {
    list.iter()
        .filter_map(|r| {
            Some(InstallationRepo {
                repo_id: i64::try_from(r.id).ok()?,
                full_name: r.full_name.clone(),
            })
        })
        .collect()
}

async fn apply_installation(
    store: &Store,
    change: InstallationChange,
    body: &[u8],
) -> Result<(), perf_fixer_store::StoreError> {
    match change {
        InstallationChange::Created(inst) => {
            let id = i64::try_from(inst.id).unwrap_or(i64::MAX);
            store
                .upsert_installation(&NewInstallation {
                    id,
                    account_login: inst.account.clone().unwrap_or_default(),
                    account_type: account_type(body),
                })
                .await?;
            store
                .replace_installation_repositories(id, &repos(&inst.repositories))
                .await?;
        }
        InstallationChange::Deleted(id) => store.remove_installation(id).await?,
        InstallationChange::Suspended(id, suspended) => {
            store.set_installation_suspended(id, suspended).await?;
        }
        InstallationChange::Repositories(change) => {
            let id = i64::try_from(change.id).unwrap_or(i64::MAX);
            if store.installation(id).await?.is_none() {
                store
                    .upsert_installation(&NewInstallation {
                        id,
                        account_login: change.account.clone().unwrap_or_default(),
                        account_type: account_type(body),
                    })
                    .await?;
            }
            let removed: Vec<i64> = change
                .removed
                .iter()
                .filter_map(|r| i64::try_from(r.id).ok())
                .collect();
            store
                .set_installation_repositories(id, &repos(&change.added), &removed)
                .await?;
        }
    }
    Ok(())
}
