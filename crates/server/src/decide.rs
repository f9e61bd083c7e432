//! What a webhook delivery asks of us, decided from the parsed event alone: no database and no
//! GitHub call, so the handler can answer within milliseconds. Permission checks that need the
//! API happen in the worker.

use perf_fixer_github::Command;
use perf_fixer_github::event::{
    CheckRunCompleted, CheckRunPullRequest, Event, InstallationEvent,
    InstallationRepositoriesEvent, IssueCommentCreated, PullRequestEvent,
};
use perf_fixer_store::{JobTrigger, NewJob};

/// The git ref that stands for a pull request's head until the worker resolves the real SHA
/// (an `issue_comment` payload does not carry it, and the request path makes no API calls).
pub fn pr_head_placeholder(number: u64) -> String {
    format!("refs/pull/{number}/head")
}

/// True for a job head that [`pr_head_placeholder`] made.
pub fn is_placeholder(head_sha: &str) -> bool {
    head_sha.starts_with("refs/pull/")
}

/// Check-run conclusions that queue a fix. `failure` and `timed_out` mean the gate ran and did
/// not pass (a benchmark that runs past its limit is a slowdown too). `cancelled`,
/// `action_required`, `stale`, `neutral` and `skipped` say nothing about speed: someone stopped
/// the run or it never ran, so they queue nothing.
pub const FAILING_CONCLUSIONS: [&str; 2] = ["failure", "timed_out"];

/// A reply the service owes a commenter (posted in the background: never in the request path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Help,
    Status,
    /// Jobs of the pull request were cancelled (the handler fills in which).
    Cancelled,
    /// The commenter may not cancel.
    CancelRefused,
    /// A `/perf-fix` line that could not be parsed: the parser's message.
    BadCommand(String),
}

/// What to do with a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Acknowledge and do nothing; the reason is stored with the delivery.
    Ignore(String),
    /// Queue a job.
    Enqueue(Box<NewJob>),
    /// Queue a job for the pull request again, with the last job's benchmark filter.
    Retry(Box<NewJob>),
    /// Cancel the active jobs of a pull request whose head is not `keep_head_sha` (`None`: all).
    CancelOnPr {
        repo: String,
        pr_number: i64,
        keep_head_sha: Option<String>,
        reason: String,
    },
    /// Reply on a pull request (help, status, cancel ...).
    Comment {
        installation_id: i64,
        repo: String,
        issue_number: u64,
        trigger_comment_id: u64,
        reply: Reply,
        requested_by: String,
    },
    /// Keep the installations table current.
    Installation(InstallationChange),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallationChange {
    Created(InstallationEvent),
    Deleted(i64),
    Suspended(i64, bool),
    Repositories(InstallationRepositoriesEvent),
}

impl Decision {
    /// A short label for the delivery's stored outcome and for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Decision::Ignore(_) => "ignored",
            Decision::Enqueue(_) | Decision::Retry(_) => "queued",
            Decision::CancelOnPr { .. } => "cancel",
            Decision::Comment { .. } => "reply",
            Decision::Installation(_) => "installation",
        }
    }
}

/// What the decision needs beyond the event.
#[derive(Debug, Clone)]
pub struct DecideContext<'a> {
    pub gate_checks: &'a [String],
    /// Our own App id: its check runs and comments never trigger anything.
    pub app_id: Option<u64>,
}

pub fn decide(event: &Event, cx: &DecideContext<'_>) -> Decision {
    match event {
        Event::CheckRunCompleted(run) => check_run(run, cx),
        Event::IssueCommentCreated(comment) => issue_comment(comment, cx),
        Event::IssueCommentOther(other) => Decision::Ignore(format!(
            "issue_comment {}: only new comments run commands",
            other.action
        )),
        Event::PullRequest(pr) => pull_request(pr),
        Event::Installation(inst) => installation(inst),
        Event::InstallationRepositories(change) => {
            Decision::Installation(InstallationChange::Repositories(change.clone()))
        }
        Event::Ping(_) => Decision::Ignore("ping".to_owned()),
        Event::Other { event, action } => Decision::Ignore(match action {
            Some(action) => format!("{event} {action}: not an event perf-fixer acts on"),
            None => format!("{event}: not an event perf-fixer acts on"),
        }),
    }
}

fn as_i64(n: u64) -> Option<i64> {
    i64::try_from(n).ok()
}

fn check_run(run: &CheckRunCompleted, cx: &DecideContext<'_>) -> Decision {
    if run.app_id.is_some() && run.app_id == cx.app_id {
        return Decision::Ignore("check run of perf-fixer itself".to_owned());
    }
    if !cx.gate_checks.iter().any(|g| g == &run.check_name) {
        return Decision::Ignore(format!(
            "check run `{}` is not a gate check",
            run.check_name
        ));
    }
    if !FAILING_CONCLUSIONS.contains(&run.conclusion.as_str()) {
        return Decision::Ignore(format!(
            "gate check `{}` concluded {}: nothing to fix",
            run.check_name, run.conclusion
        ));
    }
    let Some(installation_id) = run.installation_id.and_then(as_i64) else {
        return Decision::Ignore("check run without an installation".to_owned());
    };
    let mut job = NewJob::new(JobTrigger::CheckRun, &run.repo.full_name, &run.head_sha);
    job.installation_id = Some(installation_id);
    // One active job exists per (repo, head SHA, trigger), so several pull requests with the
    // same head share one job: the one from this repository (not a fork) is preferred, since
    // a fix can be pushed there.
    let pr = pick_pull_request(&run.pull_requests, &run.head_sha);
    match pr {
        Some(pr) => {
            job.pr_number = as_i64(pr.number);
            job.base_sha = Some(pr.base_sha.clone());
            job.base_ref = Some(pr.base_ref.clone());
            job.head_ref = Some(pr.head_ref.clone());
        }
        None => {
            // A gate on a branch: compare with the default branch, or with the commit's parent
            // when the branch is the default branch itself.
            job.head_ref = run.head_branch.clone();
            if run.head_branch.as_deref() == Some(run.repo.default_branch.as_str()) {
                job.base_sha = Some(format!("{}~1", run.head_sha));
            }
            job.base_ref = Some(run.repo.default_branch.clone());
        }
    }
    Decision::Enqueue(Box::new(job))
}

fn pick_pull_request<'a>(
    prs: &'a [CheckRunPullRequest],
    head_sha: &str,
) -> Option<&'a CheckRunPullRequest> {
    prs.iter()
        .filter(|p| p.head_sha == head_sha)
        .min_by_key(|p| (p.is_fork, p.number))
        .or_else(|| prs.iter().min_by_key(|p| (p.is_fork, p.number)))
}

fn issue_comment(comment: &IssueCommentCreated, cx: &DecideContext<'_>) -> Decision {
    if !comment.is_pull_request {
        return Decision::Ignore("comment on an issue, not a pull request".to_owned());
    }
    if comment.is_from_bot() || (comment.via_app_id.is_some() && comment.via_app_id == cx.app_id) {
        return Decision::Ignore("comment by a bot".to_owned());
    }
    let commands = perf_fixer_github::parse_commands(&comment.body);
    let Some(first) = commands.into_iter().next() else {
        return Decision::Ignore("comment without a /perf-fix command".to_owned());
    };
    let Some(installation_id) = comment.installation_id.and_then(as_i64) else {
        return Decision::Ignore("comment without an installation".to_owned());
    };
    let reply = |reply: Reply| Decision::Comment {
        installation_id,
        repo: comment.repo.full_name.clone(),
        issue_number: comment.issue_number,
        trigger_comment_id: comment.comment_id,
        reply,
        requested_by: comment.author_login.clone(),
    };
    // The first command of a comment wins: one comment, one action.
    match first {
        Err(err) => reply(Reply::BadCommand(err.to_string())),
        Ok(Command::Help) => reply(Reply::Help),
        Ok(Command::Status) => reply(Reply::Status),
        Ok(Command::Cancel) => {
            // Cancelling happens now, in the request path, so it needs no API call: GitHub's
            // author association stands in for the permission check.
            if comment.author_association.may_have_write() {
                reply(Reply::Cancelled)
            } else {
                reply(Reply::CancelRefused)
            }
        }
        Ok(Command::Run { bench_filter }) => Decision::Enqueue(Box::new(comment_job(
            comment,
            installation_id,
            bench_filter,
        ))),
        Ok(Command::Retry) => {
            Decision::Retry(Box::new(comment_job(comment, installation_id, None)))
        }
    }
}

fn comment_job(
    comment: &IssueCommentCreated,
    installation_id: i64,
    bench_filter: Option<String>,
) -> NewJob {
    let mut job = NewJob::new(
        JobTrigger::Comment,
        &comment.repo.full_name,
        pr_head_placeholder(comment.issue_number),
    );
    job.installation_id = Some(installation_id);
    job.pr_number = as_i64(comment.issue_number);
    job.requested_by = Some(comment.author_login.clone());
    job.bench_filter = bench_filter;
    job
}

fn pull_request(pr: &PullRequestEvent) -> Decision {
    let Some(number) = as_i64(pr.number) else {
        return Decision::Ignore("pull request number out of range".to_owned());
    };
    match pr.action.as_str() {
        "synchronize" => {
            let head = pr.after.clone().unwrap_or_else(|| pr.head_sha.clone());
            Decision::CancelOnPr {
                repo: pr.repo.full_name.clone(),
                pr_number: number,
                reason: format!("superseded: the pull request head moved to {head}"),
                keep_head_sha: Some(head),
            }
        }
        "closed" => Decision::CancelOnPr {
            repo: pr.repo.full_name.clone(),
            pr_number: number,
            keep_head_sha: None,
            reason: "the pull request was closed".to_owned(),
        },
        other => Decision::Ignore(format!("pull_request {other}: nothing to do")),
    }
}

fn installation(inst: &InstallationEvent) -> Decision {
    let Some(id) = as_i64(inst.id) else {
        return Decision::Ignore("installation id out of range".to_owned());
    };
    match inst.action.as_str() {
        "created" | "new_permissions_accepted" => {
            Decision::Installation(InstallationChange::Created(inst.clone()))
        }
        "unsuspend" => Decision::Installation(InstallationChange::Suspended(id, false)),
        "suspend" => Decision::Installation(InstallationChange::Suspended(id, true)),
        "deleted" => Decision::Installation(InstallationChange::Deleted(id)),
        other => Decision::Ignore(format!("installation {other}: nothing to do")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use perf_fixer_github::parse_event;

    fn cx() -> DecideContext<'static> {
        static GATES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        DecideContext {
            gate_checks: GATES.get_or_init(|| vec!["gate:perf".to_owned()]),
            app_id: Some(4242),
        }
    }

    fn check_run_body(name: &str, conclusion: &str, with_pr: bool, app_id: u64) -> Vec<u8> {
        let prs = if with_pr {
            serde_json::json!([{
                "number": 7,
                "head": {"sha": "h1", "ref": "feature", "repo": {"id": 1, "url": "https://api.github.com/repos/o/r"}},
                "base": {"sha": "b1", "ref": "main", "repo": {"id": 1, "url": "https://api.github.com/repos/o/r"}}
            }])
        } else {
            serde_json::json!([])
        };
        serde_json::to_vec(&serde_json::json!({
            "action": "completed",
            "installation": {"id": 9},
            "repository": {"id": 1, "name": "r", "full_name": "o/r", "owner": {"login": "o"},
                           "default_branch": "main", "clone_url": "https://github.com/o/r.git", "private": false},
            "check_run": {"id": 5, "name": name, "conclusion": conclusion, "head_sha": "h1",
                          "check_suite": {"head_branch": "feature"}, "app": {"id": app_id},
                          "pull_requests": prs}
        }))
        .unwrap()
    }

    fn decide_check_run(name: &str, conclusion: &str, with_pr: bool, app_id: u64) -> Decision {
        let event = parse_event(
            "check_run",
            &check_run_body(name, conclusion, with_pr, app_id),
        )
        .unwrap();
        decide(&event, &cx())
    }

    #[test]
    fn failing_gate_on_a_pull_request_queues_a_job_against_the_pr_base() {
        let Decision::Enqueue(job) = decide_check_run("gate:perf", "failure", true, 1) else {
            panic!("expected a job");
        };
        assert_eq!(job.repo, "o/r");
        assert_eq!(job.head_sha, "h1");
        assert_eq!(job.base_sha.as_deref(), Some("b1"));
        assert_eq!(job.pr_number, Some(7));
        assert_eq!(job.installation_id, Some(9));
        assert_eq!(job.trigger, JobTrigger::CheckRun);
    }

    #[test]
    fn failing_gate_on_a_branch_compares_with_the_default_branch() {
        let Decision::Enqueue(job) = decide_check_run("gate:perf", "timed_out", false, 1) else {
            panic!("expected a job");
        };
        assert_eq!(job.pr_number, None);
        assert_eq!(job.base_ref.as_deref(), Some("main"));
        assert_eq!(job.head_ref.as_deref(), Some("feature"));
    }

    #[test]
    fn other_checks_conclusions_and_our_own_runs_are_ignored() {
        assert!(matches!(
            decide_check_run("ci", "failure", true, 1),
            Decision::Ignore(_)
        ));
        for conclusion in [
            "success",
            "cancelled",
            "neutral",
            "action_required",
            "skipped",
        ] {
            assert!(matches!(
                decide_check_run("gate:perf", conclusion, true, 1),
                Decision::Ignore(_)
            ));
        }
        assert!(matches!(
            decide_check_run("gate:perf", "failure", true, 4242),
            Decision::Ignore(_)
        ));
    }

    fn comment_decision(body: &str, login: &str, user_type: &str, association: &str) -> Decision {
        let payload = serde_json::json!({
            "action": "created",
            "installation": {"id": 9},
            "repository": {"id": 1, "name": "r", "full_name": "o/r", "owner": {"login": "o"},
                           "default_branch": "main", "clone_url": "https://github.com/o/r.git", "private": false},
            "issue": {"number": 7, "pull_request": {"url": "x"}},
            "comment": {"id": 55, "body": body, "user": {"login": login, "type": user_type},
                        "author_association": association}
        });
        let event = parse_event("issue_comment", &serde_json::to_vec(&payload).unwrap()).unwrap();
        decide(&event, &cx())
    }

    #[test]
    fn comments_become_jobs_replies_or_nothing() {
        let Decision::Enqueue(job) =
            comment_decision("/perf-fix bench=parse", "ann", "User", "NONE")
        else {
            panic!("expected a job");
        };
        assert_eq!(job.head_sha, "refs/pull/7/head");
        assert_eq!(job.requested_by.as_deref(), Some("ann"));
        assert_eq!(job.bench_filter.as_deref(), Some("parse"));
        assert!(matches!(
            comment_decision("/perf-fix help", "ann", "User", "NONE"),
            Decision::Comment {
                reply: Reply::Help,
                ..
            }
        ));
        assert!(matches!(
            comment_decision("/perf-fix cancel", "ann", "User", "NONE"),
            Decision::Comment {
                reply: Reply::CancelRefused,
                ..
            }
        ));
        assert!(matches!(
            comment_decision("/perf-fix cancel", "ann", "User", "MEMBER"),
            Decision::Comment {
                reply: Reply::Cancelled,
                ..
            }
        ));
        assert!(matches!(
            comment_decision("/perf-fix retry", "ann", "User", "MEMBER"),
            Decision::Retry(_)
        ));
        assert!(matches!(
            comment_decision("/perf-fix", "ci[bot]", "Bot", "NONE"),
            Decision::Ignore(_)
        ));
        assert!(matches!(
            comment_decision("looks good", "ann", "User", "NONE"),
            Decision::Ignore(_)
        ));
        assert!(matches!(
            comment_decision("/perf-fix frobnicate", "ann", "User", "NONE"),
            Decision::Comment {
                reply: Reply::BadCommand(_),
                ..
            }
        ));
    }
}
