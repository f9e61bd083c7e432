//! Rows and inputs of the store: jobs, their events, deliveries and installations.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// A stored text value that names no known variant (a newer schema, or a manual edit).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownVariant {
    pub kind: &'static str,
    pub value: String,
}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal, { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text stored in the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownVariant;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownVariant { kind: $kind, value: s.to_owned() }),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownVariant;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }
    };
}

text_enum!(
    /// Where a job is in its life. `queued` and `running` are *active*; the others are final.
    JobState, "job state", {
        Queued => "queued",
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

impl JobState {
    /// Queued or running: at most one such job exists per (repo, head SHA, trigger).
    pub fn is_active(self) -> bool {
        matches!(self, JobState::Queued | JobState::Running)
    }
}

text_enum!(
    /// What asked for a job.
    JobTrigger, "job trigger", {
        /// A failed performance gate check run.
        CheckRun => "check_run",
        /// A `/perf-fix` comment on a pull request.
        Comment => "comment",
        /// An operator (command line, admin page).
        Manual => "manual",
    }
);

/// One row of `jobs`.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub state: JobState,
    #[sqlx(try_from = "String")]
    pub trigger: JobTrigger,
    pub installation_id: Option<i64>,
    /// `owner/name`.
    pub repo: String,
    pub pr_number: Option<i64>,
    pub base_sha: Option<String>,
    pub head_sha: String,
    pub head_ref: Option<String>,
    pub base_ref: Option<String>,
    pub requested_by: Option<String>,
    pub bench_filter: Option<String>,
    /// Claims so far, including the current one while running.
    pub attempts: i32,
    pub max_attempts: i32,
    /// Not claimable before this instant (retry backoff).
    pub run_after: DateTime<Utc>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub cancel_requested: bool,
    pub result: Option<Value>,
    pub error: Option<String>,
    pub comment_id: Option<i64>,
    pub check_run_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// First claim.
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// What to enqueue. Build with [`NewJob::new`] and set the optional fields directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub trigger: JobTrigger,
    pub installation_id: Option<i64>,
    pub repo: String,
    pub pr_number: Option<i64>,
    pub base_sha: Option<String>,
    pub head_sha: String,
    pub head_ref: Option<String>,
    pub base_ref: Option<String>,
    pub requested_by: Option<String>,
    pub bench_filter: Option<String>,
    /// `None`: the store's [`QueueConfig::default_max_attempts`](crate::QueueConfig).
    pub max_attempts: Option<i32>,
    /// `None`: claimable at once.
    pub run_after: Option<DateTime<Utc>>,
}

impl NewJob {
    pub fn new(trigger: JobTrigger, repo: impl Into<String>, head_sha: impl Into<String>) -> Self {
        NewJob {
            trigger,
            installation_id: None,
            repo: repo.into(),
            pr_number: None,
            base_sha: None,
            head_sha: head_sha.into(),
            head_ref: None,
            base_ref: None,
            requested_by: None,
            bench_filter: None,
            max_attempts: None,
            run_after: None,
        }
    }
}

/// The result of an enqueue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    pub job_id: i64,
    /// False when an active job for the same (repo, head SHA, trigger) already existed and
    /// `job_id` is that job.
    pub created: bool,
}

/// A webhook delivery to record (`X-GitHub-Delivery` and what was decided about it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// `X-GitHub-Delivery`.
    pub id: String,
    /// `X-GitHub-Event`.
    pub event: String,
    pub action: Option<String>,
    pub installation_id: Option<i64>,
    pub repo: Option<String>,
    /// What the service decided, e.g. `queued`, `ignored: not a gate check`.
    pub outcome: String,
}

/// A delivery to record with the job it asks for, if any (an item of
/// [`Store::record_deliveries`](crate::Store::record_deliveries)).
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryWrite {
    pub delivery: NewDelivery,
    /// Queued (or the active job with its key joined) only when the delivery is new.
    pub job: Option<NewJob>,
    /// Logged on that job (new or joined) in the same statement, e.g. the comment that asked
    /// for it: stored exactly when the delivery is.
    pub note: Option<JobNote>,
}

/// An event for a job's log (see [`JobEvent`]).
#[derive(Debug, Clone, PartialEq)]
pub struct JobNote {
    pub stage: String,
    pub message: String,
    pub data: Option<Value>,
}

/// One row of `deliveries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Delivery {
    pub delivery_id: String,
    pub event: String,
    pub action: Option<String>,
    pub installation_id: Option<i64>,
    pub repo: Option<String>,
    pub received_at: DateTime<Utc>,
    pub outcome: String,
    pub job_id: Option<i64>,
}

/// The result of [`Store::record_delivery_and_enqueue`](crate::Store::record_delivery_and_enqueue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The delivery id was stored before: nothing was recorded or enqueued.
    AlreadySeen,
    /// The delivery is new and recorded, with the job it queued or joined, if any.
    Recorded { job: Option<Enqueued> },
}

/// One row of `job_events`: the progress log behind the status page.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct JobEvent {
    pub id: i64,
    pub job_id: i64,
    pub at: DateTime<Utc>,
    pub stage: String,
    pub message: String,
    pub data: Option<Value>,
}

/// What a heartbeat tells the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    /// Lease extended; keep going.
    Continue,
    /// Lease extended, but cancellation was requested: kill the job's process group and call
    /// [`Store::finish_cancelled`](crate::Store::finish_cancelled).
    CancelRequested,
}

/// What [`Store::fail`](crate::Store::fail) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Re-queued; claimable again at `run_after`.
    Retrying { run_after: DateTime<Utc> },
    /// Final: out of attempts, or not retryable.
    Failed,
    /// Final: cancellation had been requested, so the failure counts as the cancellation.
    Cancelled,
}

/// What [`Store::reap_expired`](crate::Store::reap_expired) did to jobs whose lease expired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reaped {
    /// Back in the queue (with backoff).
    pub requeued: Vec<i64>,
    /// Out of attempts: failed for good.
    pub failed: Vec<i64>,
    /// Cancellation had been requested: cancelled.
    pub cancelled: Vec<i64>,
}

impl Reaped {
    pub fn total(&self) -> usize {
        self.requeued.len() + self.failed.len() + self.cancelled.len()
    }
}

/// Which active jobs a cancellation targets (always within one repository).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelTarget {
    /// One job by id.
    Job(i64),
    /// Every active job of this head SHA.
    HeadSha(String),
    /// Every active job of this pull request whose head is not `keep_head_sha`
    /// (`None`: all of them, e.g. the pull request was closed).
    SupersededOnPr {
        pr_number: i64,
        keep_head_sha: Option<String>,
    },
}

/// What a cancellation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cancelled {
    /// Queued jobs, now cancelled.
    pub cancelled: Vec<i64>,
    /// Running jobs, now flagged: their next heartbeat returns [`Heartbeat::CancelRequested`].
    pub signalled: Vec<i64>,
}

impl Cancelled {
    pub fn is_empty(&self) -> bool {
        self.cancelled.is_empty() && self.signalled.is_empty()
    }
}

/// Number of jobs in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueDepth {
    pub queued: i64,
    pub running: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub cancelled: i64,
}

impl QueueDepth {
    pub fn get(&self, state: JobState) -> i64 {
        match state {
            JobState::Queued => self.queued,
            JobState::Running => self.running,
            JobState::Succeeded => self.succeeded,
            JobState::Failed => self.failed,
            JobState::Cancelled => self.cancelled,
        }
    }

    pub(crate) fn set(&mut self, state: JobState, n: i64) {
        match state {
            JobState::Queued => self.queued = n,
            JobState::Running => self.running = n,
            JobState::Succeeded => self.succeeded = n,
            JobState::Failed => self.failed = n,
            JobState::Cancelled => self.cancelled = n,
        }
    }
}

/// A GitHub App installation as the `installation` webhook describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInstallation {
    pub id: i64,
    pub account_login: String,
    /// `User` or `Organization`.
    pub account_type: String,
}

/// One row of `installations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Installation {
    pub id: i64,
    pub account_login: String,
    pub account_type: String,
    pub suspended_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A repository an installation can access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct InstallationRepo {
    /// GitHub repository id.
    pub repo_id: i64,
    /// `owner/name`.
    pub full_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_text() {
        for state in JobState::ALL {
            assert_eq!(state.as_str().parse::<JobState>(), Ok(*state));
        }
        for trigger in JobTrigger::ALL {
            assert_eq!(JobTrigger::try_from(trigger.to_string()), Ok(*trigger));
        }
    }

    #[test]
    fn unknown_text_is_an_error_naming_the_kind() {
        let err = "paused".parse::<JobState>().unwrap_err();
        assert_eq!(err.to_string(), "unknown job state \"paused\"");
    }

    #[test]
    fn only_queued_and_running_are_active() {
        let active: Vec<_> = JobState::ALL.iter().filter(|s| s.is_active()).collect();
        assert_eq!(active, [&JobState::Queued, &JobState::Running]);
    }
}
