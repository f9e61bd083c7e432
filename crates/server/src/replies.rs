//! Replies to `/perf-fix help|status|cancel` and to unreadable commands, posted in the
//! background after the webhook was answered (GitHub calls never sit in the request path).
//! They are best effort: a reply lost to a crash is not retried, the command's effect (a
//! cancellation) is already stored.

use std::fmt::Write as _;

use perf_fixer_github::Reaction;
use perf_fixer_store::Cancelled;

use crate::decide::Reply;
use crate::http::AppState;

#[derive(Debug, Clone)]
pub struct ReplyTask {
    pub installation_id: i64,
    pub repo: String,
    pub issue_number: u64,
    pub trigger_comment_id: u64,
    pub reply: Reply,
    pub requested_by: String,
    pub cancelled: Option<Cancelled>,
}

pub fn spawn(state: AppState, task: ReplyTask) {
    let Some(github) = state.github.clone() else {
        tracing::debug!(repo = %task.repo, "no GitHub client: reply not posted");
        return;
    };
    // Still in the delivery's span, so that its lines carry the delivery_id.
    tokio::spawn(tracing::Instrument::in_current_span(async move {
        if let Err(err) = post(&state, &github, &task).await {
            state.metrics.github_call("reply", true);
            tracing::warn!(repo = %task.repo, issue = task.issue_number, error = %err, "could not post a reply");
        }
    }));
}

async fn post(
    state: &AppState,
    github: &perf_fixer_github::GitHub,
    task: &ReplyTask,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let installation = github.installation(u64::try_from(task.installation_id)?)?;
    let body = body(state, task).await?;
    let reaction = match task.reply {
        Reply::BadCommand(_) | Reply::CancelRefused => Reaction::Confused,
        _ => Reaction::PlusOne,
    };
    installation
        .add_reaction(&task.repo, task.trigger_comment_id, reaction)
        .await?;
    installation
        .post_comment(&task.repo, task.issue_number, &body)
        .await?;
    state.metrics.github_call("reply", false);
    Ok(())
}

async fn body(
    state: &AppState,
    task: &ReplyTask,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let who = &task.requested_by;
    Ok(match &task.reply {
        Reply::Help => format!("@{who} {}", perf_fixer_github::command::help_text()),
        Reply::BadCommand(message) => format!("@{who} I did not understand that: {message}."),
        Reply::CancelRefused => format!(
            "@{who} sorry, only people with write access to this repository can cancel perf-fixer jobs."
        ),
        Reply::Cancelled => match &task.cancelled {
            Some(c) if !c.is_empty() => {
                let ids: Vec<String> = c
                    .cancelled
                    .iter()
                    .chain(&c.signalled)
                    .map(|id| format!("#{id}"))
                    .collect();
                format!("@{who} cancelled perf-fixer job(s) {}.", ids.join(", "))
            }
            _ => format!("@{who} there is no active perf-fixer job on this pull request."),
        },
        Reply::Status => {
            let pr = i64::try_from(task.issue_number)?;
            let jobs = state.store.jobs_for_pr(&task.repo, pr, 5).await?;
            if jobs.is_empty() {
                format!(
                    "@{who} perf-fixer has no jobs for this pull request yet. Comment `/perf-fix` to start one."
                )
            } else {
                let mut out = format!(
                    "@{who} perf-fixer jobs of this pull request (newest first):\n\n| job | state | head | attempts | error |\n| --- | --- | --- | --- | --- |\n"
                );
                for job in jobs {
                    let job_ref = match &state.public_url {
                        Some(url) => format!("[#{}]({url}/jobs/{})", job.id, job.id),
                        None => format!("#{}", job.id),
                    };
                    let _ = writeln!(
                        out,
                        "| {job_ref} | {} | `{}` | {}/{} | {} |",
                        job.state,
                        short(&job.head_sha),
                        job.attempts,
                        job.max_attempts,
                        perf_fixer_core::render::compare_table::md_cell(
                            job.error.as_deref().unwrap_or("")
                        )
                    );
                }
                out
            }
        }
    })
}

fn short(sha: &str) -> &str {
    if sha.len() > 12 && sha.chars().all(|c| c.is_ascii_hexdigit()) {
        &sha[..12]
    } else {
        sha
    }
}
