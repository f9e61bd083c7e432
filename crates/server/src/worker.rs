//! The worker: claims jobs, keeps their lease alive, fetches the repository, runs the engine
//! and publishes what it found (a pull request, a patch comment, a progress comment and a
//! `perf-fixer` check run).
//!
//! A job that fails with attempts left is re-queued with backoff; a worker that dies leaves a
//! lease that expires, and the reaper re-queues the job. Publishing is idempotent (the
//! progress comment is found by its marker, the fix pull request by its branch), so a job that
//! runs twice opens one pull request.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use perf_fixer_core::config::{CONFIG_FILE, RepoConfig};
use perf_fixer_core::render::pr_body::{BodyOptions, pr_body, rejection_summary};
use perf_fixer_engine::fix::{FixOutcome, FixRequest, FixResult};
use perf_fixer_engine::measure::Progress;
use perf_fixer_engine::runner::{CancelToken, SandboxMode};
use perf_fixer_github::{
    CheckConclusion, CheckRunState, CheckStatus, GitHub, GitHubError, InstallationClient, Reaction,
    job_marker,
};
use perf_fixer_store::{Heartbeat, Job, JobTrigger, Store, StoreError, Wake};
use serde_json::json;
use tokio::sync::watch;

use crate::decide::is_placeholder;
use crate::git::{GitError, RemoteTemplate, RepoCache};
use crate::metrics::Metrics;

/// Name of the check run perf-fixer keeps on the head commit.
pub const CHECK_NAME: &str = "perf-fixer";

/// How long deliveries are remembered by default: GitHub redelivers (from the App's settings
/// page or through its API) deliveries of the past 3 days only, so a week keeps every possible
/// redelivery a duplicate, with room to spare.
pub const DEFAULT_DELIVERY_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// How a worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Unique per worker (host, process, index).
    pub worker_id: String,
    /// How long a claim lasts without a heartbeat.
    pub lease: Duration,
    /// How often the lease is extended (well under `lease`).
    pub heartbeat_every: Duration,
    /// Longest wait for a notification before re-scanning the queue.
    pub rescan_every: Duration,
    /// How often this worker runs the reaper and prunes old deliveries.
    pub reap_every: Duration,
    /// How long webhook deliveries are kept for duplicate detection.
    pub delivery_retention: Duration,
    pub workdir: PathBuf,
    pub remote: RemoteTemplate,
    pub sandbox: SandboxMode,
    /// Wall-clock limit of one build, test or bench command.
    pub command_timeout: Duration,
    pub public_url: Option<String>,
    /// On shutdown, how long a running job may go on before it is stopped and re-queued.
    pub shutdown_grace: Duration,
    /// The service's secrets (webhook secrets, the App key), cut out of command output.
    pub scrubber: perf_fixer_engine::secret::Scrubber,
}

impl WorkerConfig {
    pub fn new(worker_id: String, workdir: PathBuf, remote: RemoteTemplate) -> Self {
        WorkerConfig {
            worker_id,
            lease: Duration::from_secs(90),
            heartbeat_every: Duration::from_secs(20),
            rescan_every: Duration::from_secs(10),
            reap_every: Duration::from_secs(30),
            delivery_retention: DEFAULT_DELIVERY_RETENTION,
            workdir,
            remote,
            sandbox: SandboxMode::Bwrap,
            command_timeout: Duration::from_secs(20 * 60),
            public_url: None,
            shutdown_grace: Duration::from_secs(30),
            scrubber: Default::default(),
        }
    }
}

/// A worker ID unique across hosts and processes: `host:pid:index`.
pub fn worker_id(index: usize) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    format!("{host}:{}:{index}", std::process::id())
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error(transparent)]
    Git(#[from] GitError),
    /// The repository's configuration is missing or wrong: retrying will not help.
    #[error("{0}")]
    Config(String),
    #[error("the engine failed: {0}")]
    Engine(String),
    /// The engine's input is wrong (a revision that does not exist, a bad config).
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    Internal(String),
}

impl JobError {
    fn retryable(&self) -> bool {
        match self {
            JobError::Config(_) | JobError::BadInput(_) => false,
            JobError::GitHub(err) => !matches!(err.status(), Some(401 | 403 | 404 | 422)),
            _ => true,
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            JobError::Config(_) | JobError::BadInput(_) => "config",
            JobError::GitHub(_) => "github",
            JobError::Git(_) => "git",
            _ => "error",
        }
    }
}

/// Why a run of a job stopped early.
enum Stop {
    Cancelled,
    LeaseLost,
    Shutdown,
}

/// A job's lease keeper: extends the lease and trips the engine's cancel token when the job is
/// cancelled, the lease is lost, or the process shuts down past its grace period.
struct Lease {
    cancel: CancelToken,
    cancelled: Arc<AtomicBool>,
    lost: Arc<AtomicBool>,
    shutdown: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Lease {
    fn stop_reason(&self) -> Option<Stop> {
        if self.lost.load(Ordering::SeqCst) {
            Some(Stop::LeaseLost)
        } else if self.cancelled.load(Ordering::SeqCst) {
            Some(Stop::Cancelled)
        } else if self.shutdown.load(Ordering::SeqCst) {
            Some(Stop::Shutdown)
        } else {
            None
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The worker.
#[derive(Clone)]
pub struct Worker {
    store: Store,
    github: GitHub,
    config: Arc<WorkerConfig>,
    metrics: Arc<Metrics>,
}

/// Feeds the engine's progress into the job's event log.
struct EventProgress {
    tx: tokio::sync::mpsc::UnboundedSender<String>,
}

impl Progress for EventProgress {
    fn stage(&self, message: &str) {
        let _ = self.tx.send(message.to_owned());
    }
    fn run_finished(&self, _done: usize, _budget: usize) {}
}

/// What the worker knows about the job's target after resolving it.
struct Target {
    head_sha: String,
    base_sha: String,
    /// The branch the fix PR goes into.
    pr_base_branch: String,
    /// The head is in a fork: the App cannot push there, so the patch goes in a comment.
    fork: bool,
    pr_number: Option<u64>,
}

impl Worker {
    pub fn new(store: Store, github: GitHub, config: WorkerConfig, metrics: Arc<Metrics>) -> Self {
        Worker {
            store,
            github,
            config: Arc::new(config),
            metrics,
        }
    }

    /// Claims and runs jobs until `shutdown` turns true. On shutdown it stops claiming, lets a
    /// running job go on for the grace period, then stops it and puts it back in the queue.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        let listener = match self.store.listener().await {
            Ok(l) => Some(l),
            Err(err) => {
                tracing::warn!(error = %err, "no LISTEN connection; the worker will poll");
                None
            }
        };
        let mut last_reap = Instant::now() - self.config.reap_every;
        tracing::info!(worker = %self.config.worker_id, "worker started");
        while !*shutdown.borrow() {
            if last_reap.elapsed() >= self.config.reap_every {
                last_reap = Instant::now();
                if let Err(err) = self.store.reap_expired().await {
                    tracing::warn!(error = %err, "reaper failed");
                }
                self.prune_deliveries().await;
            }
            match self.run_one(Some(shutdown.clone())).await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "claiming failed; retrying");
                }
            }
            let wait = self.config.rescan_every;
            tokio::select! {
                _ = shutdown.changed() => {}
                woke = async {
                    match &listener {
                        Some(l) => l.wait(wait).await,
                        None => { tokio::time::sleep(wait).await; Wake::TimedOut }
                    }
                } => { let _ = woke; }
            }
        }
        tracing::info!(worker = %self.config.worker_id, "worker stopped");
    }

    /// Forgets deliveries older than the retention (they only serve duplicate detection).
    /// Every worker does it with its reaper; concurrent prunes just find less to delete.
    async fn prune_deliveries(&self) {
        match self
            .store
            .prune_deliveries(self.config.delivery_retention)
            .await
        {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "forgot old webhook deliveries"),
            Err(err) => tracing::warn!(error = %err, "pruning old deliveries failed"),
        }
    }

    /// Claims one due job and runs it to its end; `None` when nothing was due.
    pub async fn run_one(
        &self,
        shutdown: Option<watch::Receiver<bool>>,
    ) -> Result<Option<i64>, StoreError> {
        let Some(job) = self
            .store
            .claim(&self.config.worker_id, self.config.lease)
            .await?
        else {
            return Ok(None);
        };
        let id = job.id;
        let span = tracing::info_span!("job", job_id = id, repo = %job.repo);
        let _ = tracing::Instrument::instrument(self.run_job(job, shutdown), span).await;
        Ok(Some(id))
    }

    fn start_lease(&self, job_id: i64, shutdown: Option<watch::Receiver<bool>>) -> Lease {
        let cancel = CancelToken::new();
        let cancelled = Arc::new(AtomicBool::new(false));
        let lost = Arc::new(AtomicBool::new(false));
        let stopping = Arc::new(AtomicBool::new(false));
        let store = self.store.clone();
        let config = Arc::clone(&self.config);
        let (c, k, l, s) = (
            cancel.clone(),
            Arc::clone(&cancelled),
            Arc::clone(&lost),
            Arc::clone(&stopping),
        );
        // In the job's span, so that its lines carry the job_id.
        let task = tokio::spawn(tracing::Instrument::in_current_span(async move {
            let mut shutdown = shutdown;
            let mut shutdown_at: Option<Instant> = None;
            let mut tick = tokio::time::interval(
                config
                    .heartbeat_every
                    .min(Duration::from_secs(1))
                    .max(Duration::from_millis(100)),
            );
            let mut last_beat = Instant::now();
            loop {
                tick.tick().await;
                if shutdown_at.is_none() && shutdown.as_ref().is_some_and(|s| *s.borrow()) {
                    shutdown_at = Some(Instant::now());
                    tracing::info!(job = job_id, grace = ?config.shutdown_grace, "shutting down: the running job has its grace period");
                }
                if let Some(at) = shutdown_at
                    && at.elapsed() >= config.shutdown_grace
                    && !s.swap(true, Ordering::SeqCst)
                {
                    c.cancel();
                }
                if shutdown.as_mut().is_some_and(|s| s.has_changed().is_err()) {
                    shutdown = None;
                }
                if last_beat.elapsed() < config.heartbeat_every {
                    continue;
                }
                last_beat = Instant::now();
                match store
                    .heartbeat(job_id, &config.worker_id, config.lease)
                    .await
                {
                    Ok(Heartbeat::Continue) => {}
                    Ok(Heartbeat::CancelRequested) => {
                        k.store(true, Ordering::SeqCst);
                        c.cancel();
                    }
                    Err(err) if err.is_lease_lost() => {
                        l.store(true, Ordering::SeqCst);
                        c.cancel();
                        return;
                    }
                    Err(err) => tracing::warn!(job = job_id, error = %err, "heartbeat failed"),
                }
            }
        }));
        Lease {
            cancel,
            cancelled,
            lost,
            shutdown: stopping,
            task,
        }
    }

    async fn event(
        &self,
        job_id: i64,
        stage: &str,
        message: &str,
        data: Option<serde_json::Value>,
    ) {
        if let Err(err) = self
            .store
            .add_event(job_id, stage, message, data.as_ref())
            .await
        {
            tracing::warn!(job = job_id, error = %err, "could not record a job event");
        }
    }

    async fn run_job(&self, job: Job, shutdown: Option<watch::Receiver<bool>>) {
        let started = Instant::now();
        let lease = self.start_lease(job.id, shutdown);
        let installation = match job
            .installation_id
            .and_then(|i| u64::try_from(i).ok())
            .map(|i| self.github.installation(i))
        {
            Some(Ok(client)) => client,
            Some(Err(err)) => {
                self.finish_error(&job, None, &lease, JobError::GitHub(err))
                    .await;
                return;
            }
            None => {
                self.finish_error(
                    &job,
                    None,
                    &lease,
                    JobError::Config("the job names no GitHub App installation".to_owned()),
                )
                .await;
                return;
            }
        };
        let result = self.work(&job, &installation, &lease).await;
        self.metrics.stage("total", started.elapsed());
        match result {
            Ok(()) => {}
            Err(err) => {
                self.finish_error(&job, Some(&installation), &lease, err)
                    .await
            }
        }
    }

    /// Ends a job that stopped with an error: cancelled, lease lost, shut down, or failed.
    async fn finish_error(
        &self,
        job: &Job,
        installation: Option<&InstallationClient>,
        lease: &Lease,
        err: JobError,
    ) {
        let worker = &self.config.worker_id;
        match lease.stop_reason() {
            Some(Stop::LeaseLost) => {
                tracing::warn!(job = job.id, "lease lost; abandoning the job");
                return;
            }
            Some(Stop::Cancelled) => {
                self.metrics.rejected("cancelled");
                self.metrics.job_finished("cancelled");
                if let Err(e) = self.store.finish_cancelled(job.id, worker).await {
                    tracing::warn!(job = job.id, error = %e, "could not mark the job cancelled");
                }
                if let Some(inst) = installation {
                    self.progress(job, inst, "⏹️ perf-fixer job cancelled.")
                        .await;
                    self.check_done(
                        job,
                        inst,
                        CheckConclusion::Cancelled,
                        "Cancelled",
                        "The job was cancelled.",
                    )
                    .await;
                }
                return;
            }
            Some(Stop::Shutdown) => {
                let _ = self
                    .store
                    .fail(
                        job.id,
                        worker,
                        "the worker shut down before the job finished; re-queued",
                        true,
                    )
                    .await;
                return;
            }
            None => {}
        }
        let message = err.to_string();
        tracing::warn!(job = job.id, error = %message, "job attempt failed");
        let outcome = self
            .store
            .fail(job.id, worker, &message, err.retryable())
            .await;
        let final_failure = !matches!(outcome, Ok(perf_fixer_store::FailOutcome::Retrying { .. }));
        if final_failure {
            self.metrics.rejected(err.reason());
            self.metrics.job_finished("failed");
        }
        if let Some(inst) = installation {
            let text = if final_failure {
                format!(
                    "❌ perf-fixer could not finish this job:\n\n> {}\n",
                    quote(&message)
                )
            } else {
                format!(
                    "⚠️ perf-fixer attempt {} of {} failed and will be retried:\n\n> {}\n",
                    job.attempts,
                    job.max_attempts,
                    quote(&message)
                )
            };
            self.progress(job, inst, &text).await;
            if final_failure {
                self.check_done(
                    job,
                    inst,
                    CheckConclusion::Failure,
                    "perf-fixer failed",
                    &text,
                )
                .await;
            }
        }
    }

    fn job_url(&self, job_id: i64) -> Option<String> {
        self.config
            .public_url
            .as_ref()
            .map(|u| format!("{u}/jobs/{job_id}"))
    }

    /// Updates the job's one progress comment (pull request jobs only; best effort).
    async fn progress(&self, job: &Job, inst: &InstallationClient, text: &str) {
        let Some(pr) = job.pr_number.and_then(|n| u64::try_from(n).ok()) else {
            return;
        };
        let mut body = format!("{}\n{text}", job_marker(job.id));
        if let Some(url) = self.job_url(job.id) {
            body.push_str(&format!("\n\n[Job #{} details]({url})", job.id));
        }
        let result = inst
            .upsert_progress_comment(&job.repo, pr, &job_marker(job.id), &body)
            .await;
        self.metrics
            .github_call("upsert progress comment", result.is_err());
        match result {
            Ok(id) => {
                if job.comment_id != i64::try_from(id).ok() {
                    let _ = self
                        .store
                        .set_comment_id(job.id, i64::try_from(id).unwrap_or_default())
                        .await;
                }
            }
            Err(err) => {
                tracing::warn!(job = job.id, error = %err, "could not update the progress comment")
            }
        }
    }

    async fn check_done(
        &self,
        job: &Job,
        inst: &InstallationClient,
        conclusion: CheckConclusion,
        title: &str,
        summary: &str,
    ) {
        let Some(id) = self
            .store
            .job(job.id)
            .await
            .ok()
            .flatten()
            .and_then(|j| j.check_run_id)
            .and_then(|i| u64::try_from(i).ok())
        else {
            return;
        };
        let state = CheckRunState {
            status: CheckStatus::Completed,
            conclusion: Some(conclusion),
            title: title.to_owned(),
            summary: summary.to_owned(),
            details_url: self.job_url(job.id),
        };
        let result = inst.update_check_run(&job.repo, id, &state).await;
        self.metrics
            .github_call("update check run", result.is_err());
        if let Err(err) = result {
            tracing::warn!(job = job.id, error = %err, "could not update the check run");
        }
    }

    /// The trigger comment's id, when a comment queued the job.
    async fn trigger_comment(&self, job: &Job) -> Option<u64> {
        let events = self.store.events(job.id).await.ok()?;
        events
            .iter()
            .filter(|e| e.stage == "trigger")
            .filter_map(|e| e.data.as_ref()?.get("comment_id")?.as_u64())
            .next_back()
    }

    async fn resolve_target(
        &self,
        job: &Job,
        inst: &InstallationClient,
    ) -> Result<Target, JobError> {
        match job.pr_number.and_then(|n| u64::try_from(n).ok()) {
            Some(number) => {
                let pr = inst.pull(&job.repo, number).await;
                self.metrics.github_call("get pull request", pr.is_err());
                let pr = pr?;
                // A comment job runs on the pull request's head as it is now; a gate job on
                // the commit whose check failed.
                let head_sha = if is_placeholder(&job.head_sha) {
                    pr.head_sha.clone()
                } else {
                    job.head_sha.clone()
                };
                let base_sha = match &job.base_sha {
                    Some(sha) if !is_placeholder(&job.head_sha) => sha.clone(),
                    _ => pr.base_sha.clone(),
                };
                Ok(Target {
                    head_sha,
                    base_sha,
                    pr_base_branch: pr.head_ref.clone(),
                    fork: pr.is_fork,
                    pr_number: Some(number),
                })
            }
            None => {
                let default_branch = match &job.base_ref {
                    Some(b) => b.clone(),
                    None => {
                        let b = inst.default_branch(&job.repo).await;
                        self.metrics.github_call("get repository", b.is_err());
                        b?
                    }
                };
                Ok(Target {
                    head_sha: job.head_sha.clone(),
                    base_sha: job
                        .base_sha
                        .clone()
                        .unwrap_or_else(|| default_branch.clone()),
                    pr_base_branch: default_branch,
                    fork: false,
                    pr_number: None,
                })
            }
        }
    }

    /// Records the SHAs a comment job resolved to, so cancellation on a new push finds it.
    async fn record_shas(&self, job: &Job, head: &str, base: &str) {
        if !is_placeholder(&job.head_sha) {
            return;
        }
        // Best effort: the SHAs only label the job in its pages and `/perf-fix status`; this
        // run already uses the resolved ones.
        match self.store.set_job_shas(job.id, head, base).await {
            Ok(true) => {}
            Ok(false) => tracing::info!(
                job = job.id,
                head,
                "another active job has this head; the job keeps its pull request ref"
            ),
            Err(err) => {
                tracing::warn!(job = job.id, error = %err, "could not record the job's SHAs")
            }
        }
    }

    async fn work(
        &self,
        job: &Job,
        inst: &InstallationClient,
        lease: &Lease,
    ) -> Result<(), JobError> {
        let worker = &self.config.worker_id;
        self.event(
            job.id,
            "started",
            &format!("worker {worker} started attempt {}", job.attempts),
            None,
        )
        .await;

        // Write access: only for comment triggers (a failed gate is the repository's own
        // signal).
        if job.trigger == JobTrigger::Comment {
            if let Some(login) = &job.requested_by {
                let permission = inst.collaborator_permission(&job.repo, login).await;
                self.metrics
                    .github_call("get collaborator permission", permission.is_err());
                let permission = permission?;
                if !permission.has_write() {
                    self.refuse(job, inst, login).await?;
                    return Ok(());
                }
            }
            if let Some(comment) = self.trigger_comment(job).await {
                let r = inst.add_reaction(&job.repo, comment, Reaction::Eyes).await;
                self.metrics.github_call("add reaction", r.is_err());
            }
        }

        let target = self.resolve_target(job, inst).await?;
        self.progress(
            job,
            inst,
            &format!(
                "⏳ perf-fixer is measuring `{}` against `{}`…",
                short(&target.head_sha),
                short(&target.base_sha)
            ),
        )
        .await;
        self.ensure_check_run(job, inst, &target.head_sha).await;

        // Fetch.
        let stage = Instant::now();
        let token = self
            .github
            .installation_token(
                u64::try_from(job.installation_id.unwrap_or_default()).unwrap_or_default(),
            )
            .await;
        self.metrics
            .github_call("mint installation token", token.is_err());
        let token = token?;
        let cache = {
            let workdir = self.config.workdir.clone();
            let remote = self.config.remote.clone();
            let repo = job.repo.clone();
            let head = target.head_sha.clone();
            let base = target.base_sha.clone();
            let pr = target.pr_number;
            let token = token.clone();
            // Blocking threads do not inherit the job's span: enter it there.
            let span = tracing::Span::current();
            tokio::task::spawn_blocking(move || -> Result<(RepoCache, String, String), GitError> {
                let _in_job = span.enter();
                let cache = RepoCache::open(&workdir, &repo, &remote)?;
                let base_rev = base.split('~').next().unwrap_or(&base).to_owned();
                let need: Vec<&str> = [head.as_str(), base_rev.as_str()]
                    .into_iter()
                    .filter(|s| s.len() == 40)
                    .collect();
                cache.fetch(Some(&token), pr, &need)?;
                let head = cache.resolve(&head)?;
                let base = cache.resolve(&base)?;
                Ok((cache, head, base))
            })
            .await
            .map_err(|e| JobError::Internal(format!("fetch task: {e}")))??
        };
        let (cache, head_sha, base_sha) = cache;
        self.metrics.stage("fetch", stage.elapsed());
        self.record_shas(job, &head_sha, &base_sha).await;
        self.event(
            job.id,
            "fetched",
            &format!("fetched {}: base {base_sha}, head {head_sha}", job.repo),
            None,
        )
        .await;

        // Config at head.
        let text = cache.read_file(&head_sha, CONFIG_FILE)?;
        let label = format!("{CONFIG_FILE} at {}", short(&head_sha));
        let Some(text) = text else {
            return Err(JobError::Config(format!(
                "`{CONFIG_FILE}` is missing at {}: add it at the repository root with at least `[bench] command` and `format` (see the perf-fixer README, \"Repository config\")",
                short(&head_sha)
            )));
        };
        if let Err(err) = RepoConfig::parse(&text, &label) {
            return Err(JobError::Config(err.to_string()));
        }

        // Engine.
        let stage = Instant::now();
        let branch = format!("perf-fixer/{}", short(&head_sha));
        cache.delete_branch(&branch)?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let events = {
            let store = self.store.clone();
            let job_id = job.id;
            tokio::spawn(async move {
                while let Some(message) = rx.recv().await {
                    let _ = store.add_event(job_id, "engine", &message, None).await;
                }
            })
        };
        // Carried into the job's events (failed jobs too) and result: the job page warns.
        if self.config.sandbox == SandboxMode::None {
            let message = "sandbox = \"none\": repository code runs WITHOUT isolation";
            let data = json!({ "sandbox": "none" });
            self.event(job.id, "sandbox", message, Some(data)).await;
        }
        let request = FixRequest {
            repo: cache.path.clone(),
            base: base_sha.clone(),
            head: head_sha.clone(),
            sandbox: self.config.sandbox,
            bench_filter: job.bench_filter.clone(),
            cancel: lease.cancel.clone(),
            command_timeout: self.config.command_timeout,
            branch: Some(branch.clone()),
            scrubber: {
                let mut scrubber = self.config.scrubber.clone();
                scrubber.add_secret(&token);
                scrubber
            },
        };
        let span = tracing::Span::current();
        let result = tokio::task::spawn_blocking(move || {
            let _in_job = span.enter();
            let progress = EventProgress { tx };
            perf_fixer_engine::fix::fix(&request, &progress)
        })
        .await
        .map_err(|e| JobError::Internal(format!("engine task: {e}")))?;
        let _ = events.await;
        self.metrics.stage("engine", stage.elapsed());
        if lease.stop_reason().is_some() {
            return Err(JobError::Engine("stopped".to_owned()));
        }
        let result = result.map_err(|e| {
            if e.is_bad_input() {
                JobError::BadInput(e.to_string())
            } else {
                JobError::Engine(e.to_string())
            }
        })?;

        // Publish.
        let stage = Instant::now();
        let outcome = self
            .publish(job, inst, &cache, &target, &result, &token)
            .await?;
        self.metrics.stage("publish", stage.elapsed());
        let mut value = json!({ "outcome": outcome_name(result.outcome), "report": result.report,
            "sandbox": self.config.sandbox.to_string() });
        if let Some(url) = outcome {
            value["pull_request"] = json!(url);
        }
        self.store.complete(job.id, worker, &value).await?;
        self.metrics.job_finished("succeeded");
        Ok(())
    }

    async fn ensure_check_run(&self, job: &Job, inst: &InstallationClient, head_sha: &str) {
        let state = CheckRunState {
            status: CheckStatus::InProgress,
            conclusion: None,
            title: "Measuring".to_owned(),
            summary: "perf-fixer is measuring base and head.".to_owned(),
            details_url: self.job_url(job.id),
        };
        match job.check_run_id.and_then(|i| u64::try_from(i).ok()) {
            Some(id) => {
                let r = inst.update_check_run(&job.repo, id, &state).await;
                self.metrics.github_call("update check run", r.is_err());
            }
            None => {
                let r = inst
                    .create_check_run(&job.repo, head_sha, CHECK_NAME, &state)
                    .await;
                self.metrics.github_call("create check run", r.is_err());
                match r {
                    Ok(id) => {
                        let _ = self
                            .store
                            .set_check_run_id(job.id, i64::try_from(id).unwrap_or_default())
                            .await;
                    }
                    Err(err) => {
                        tracing::warn!(job = job.id, error = %err, "could not create the check run")
                    }
                }
            }
        }
    }

    async fn refuse(
        &self,
        job: &Job,
        inst: &InstallationClient,
        login: &str,
    ) -> Result<(), JobError> {
        let Some(pr) = job.pr_number.and_then(|n| u64::try_from(n).ok()) else {
            return Ok(());
        };
        let body = format!(
            "@{login} thanks for asking! perf-fixer runs benchmarks and pushes branches, so only people with write access to this repository can start it. A maintainer can comment `/perf-fix` to run it."
        );
        let r = inst.post_comment(&job.repo, pr, &body).await;
        self.metrics.github_call("create comment", r.is_err());
        r?;
        self.event(
            job.id,
            "refused",
            &format!("@{login} lacks write access"),
            None,
        )
        .await;
        self.store
            .complete(
                job.id,
                &self.config.worker_id,
                &json!({ "outcome": "refused", "requested_by": login }),
            )
            .await?;
        self.metrics.rejected("refused");
        self.metrics.job_finished("succeeded");
        Ok(())
    }

    /// Publishes the engine's result; returns the fix PR's URL when one was opened.
    async fn publish(
        &self,
        job: &Job,
        inst: &InstallationClient,
        cache: &RepoCache,
        target: &Target,
        result: &FixResult,
        token: &secrecy::SecretString,
    ) -> Result<Option<String>, JobError> {
        let table = perf_fixer_core::render::compare_table::markdown_table(&result.report);
        let options = BodyOptions {
            job_url: self.job_url(job.id),
            reproduce: result.report.validation_commands.clone(),
        };
        match (result.outcome, &result.branch) {
            (FixOutcome::Fixed, Some(branch)) if target.fork => {
                let patch = result.patch.clone().unwrap_or_default();
                let body = format!(
                    "{}\n\nThis pull request comes from a fork, where perf-fixer cannot push. Apply the fix with `git apply`:\n\n<details><summary>patch</summary>\n\n```diff\n{patch}\n```\n</details>\n",
                    pr_body(&result.report, &options)
                );
                if let Some(pr) = target.pr_number {
                    let r = inst.post_comment(&job.repo, pr, &body).await;
                    self.metrics.github_call("create comment", r.is_err());
                    r?;
                }
                let _ = branch;
                self.metrics.fix_opened();
                self.progress(
                    job,
                    inst,
                    &format!(
                        "✅ perf-fixer found a fix; the patch is in a comment below.\n\n{table}"
                    ),
                )
                .await;
                self.check_done(job, inst, CheckConclusion::Success, "Fix proposed", &table)
                    .await;
                self.event(
                    job.id,
                    "published",
                    "patch posted as a comment (fork)",
                    None,
                )
                .await;
                Ok(None)
            }
            (FixOutcome::Fixed, Some(branch)) => {
                {
                    let path = cache.path.clone();
                    let repo = cache.repo.clone();
                    let remote = self.config.remote.clone();
                    let workdir = self.config.workdir.clone();
                    let branch = branch.clone();
                    let token = token.clone();
                    let _ = path;
                    let span = tracing::Span::current();
                    tokio::task::spawn_blocking(move || {
                        let _in_job = span.enter();
                        RepoCache::open(&workdir, &repo, &remote)?
                            .push_branch(&branch, Some(&token))
                    })
                    .await
                    .map_err(|e| JobError::Internal(format!("push task: {e}")))??;
                }
                self.event(job.id, "pushed", &format!("pushed branch {branch}"), None)
                    .await;
                let body = pr_body(&result.report, &options);
                let existing = inst.find_open_pr_by_head(&job.repo, branch).await;
                self.metrics
                    .github_call("list pull requests", existing.is_err());
                let pr = match existing? {
                    Some(pr) => {
                        let r = inst.update_pr_body(&job.repo, pr.number, &body).await;
                        self.metrics.github_call("update pull request", r.is_err());
                        r?;
                        pr
                    }
                    None => {
                        let title = match target.pr_number {
                            Some(n) => format!("perf: fix the slowdown of #{n}"),
                            None => {
                                format!("perf: fix the slowdown in {}", short(&target.head_sha))
                            }
                        };
                        let r = inst
                            .create_pr(&job.repo, &title, branch, &target.pr_base_branch, &body)
                            .await;
                        self.metrics.github_call("create pull request", r.is_err());
                        let pr = r?;
                        self.metrics.fix_opened();
                        pr
                    }
                };
                self.event(
                    job.id,
                    "published",
                    &format!("pull request #{} {}", pr.number, pr.html_url),
                    Some(json!({ "pull_request": pr.html_url })),
                )
                .await;
                self.progress(
                    job,
                    inst,
                    &format!("✅ perf-fixer opened #{} with a fix.\n\n{table}", pr.number),
                )
                .await;
                self.check_done(
                    job,
                    inst,
                    CheckConclusion::Success,
                    "Fix proposed",
                    &format!("Fix in #{}\n\n{table}", pr.number),
                )
                .await;
                Ok(Some(pr.html_url))
            }
            (outcome, _) => {
                let (reason, text, conclusion) = match outcome {
                    FixOutcome::NoRegression => (
                        "no_regression",
                        format!("✅ perf-fixer measured no regression.\n\n{table}"),
                        CheckConclusion::Success,
                    ),
                    FixOutcome::Inconclusive => (
                        "inconclusive",
                        format!(
                            "❔ perf-fixer could not decide: the measurements were too noisy.\n\n{table}"
                        ),
                        CheckConclusion::Neutral,
                    ),
                    _ => (
                        "no_fix",
                        format!(
                            "⚠️ perf-fixer confirmed the regression but no patch passed validation.\n\n{}",
                            rejection_summary(&result.report)
                        ),
                        CheckConclusion::Neutral,
                    ),
                };
                self.metrics.rejected(reason);
                self.progress(job, inst, &text).await;
                self.check_done(job, inst, conclusion, reason, &text).await;
                self.event(job.id, "published", reason, None).await;
                Ok(None)
            }
        }
    }
}

fn outcome_name(outcome: FixOutcome) -> &'static str {
    match outcome {
        FixOutcome::Fixed => "fixed",
        FixOutcome::NoRegression => "no_regression",
        FixOutcome::NoFix => "no_fix",
        FixOutcome::Inconclusive => "inconclusive",
    }
}

fn short(sha: &str) -> &str {
    if sha.len() >= 12 && sha.chars().all(|c| c.is_ascii_hexdigit()) {
        &sha[..12]
    } else {
        sha
    }
}

/// Quotes a message as a markdown block quote.
fn quote(text: &str) -> String {
    text.lines().collect::<Vec<_>>().join("\n> ")
}
