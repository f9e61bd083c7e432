//! The GitHub App client: installation clients (tokens minted and cached by octocrab) and the
//! calls perf-fixer publishes with (pull requests, comments, reactions, check runs).
//!
//! Calls go through octocrab's authenticated transport but are built and decoded here, so that
//! every call has a name, retries honour `Retry-After` and `x-ratelimit-reset`, and errors carry
//! the call and the HTTP status, never a token.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, Method};
use octocrab::Octocrab;
use octocrab::models::{AppId, InstallationId};
use octocrab::service::middleware::retry::RetryConfig;
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::auth::{AppCredentials, CredentialsError};
use crate::retry::{RetryPolicy, is_rate_limit};

/// The public GitHub API, used when `GITHUB_API_URL` is not set.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// GitHub refuses comment and check-run summary bodies beyond 65,536 characters.
const MAX_BODY_CHARS: usize = 65_000;

const ACCEPT_JSON: &str = "application/vnd.github+json";
const ACCEPT_RAW: &str = "application/vnd.github.raw+json";

/// How many items a list page asks for (GitHub's maximum).
const PER_PAGE: usize = 100;
/// Pages read at most when searching a list, so a runaway thread cannot loop forever.
const MAX_PAGES: usize = 50;

/// A failed GitHub call. Messages name the call and the status; they never hold a token.
#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    #[error("GitHub call `{call}` failed with HTTP {status}: {message}")]
    Api {
        call: &'static str,
        status: u16,
        message: String,
    },
    #[error(
        "GitHub call `{call}` was still rate limited (HTTP {status}) after {attempts} attempts"
    )]
    RateLimited {
        call: &'static str,
        status: u16,
        attempts: u32,
    },
    #[error("GitHub call `{call}` could not reach GitHub: {message}")]
    Transport { call: &'static str, message: String },
    #[error("GitHub call `{call}` returned a response we could not read: {message}")]
    Decode { call: &'static str, message: String },
    #[error("`{repo}` is not a repository name of the form owner/name")]
    InvalidRepo { repo: String },
    #[error("GITHUB_API_URL `{url}` is not a usable URL")]
    InvalidApiUrl { url: String },
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
}

impl GitHubError {
    /// The HTTP status GitHub answered with, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            GitHubError::Api { status, .. } | GitHubError::RateLimited { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }
}

/// A collaborator's access to a repository, from the most to the least.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Permission {
    None,
    Read,
    Triage,
    Write,
    Maintain,
    Admin,
}

impl Permission {
    /// Write, maintain and admin may push, and so may ask perf-fixer to run.
    pub fn has_write(self) -> bool {
        self >= Permission::Write
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "admin" => Self::Admin,
            "maintain" => Self::Maintain,
            "write" => Self::Write,
            "triage" => Self::Triage,
            "read" => Self::Read,
            "none" => Self::None,
            _ => return None,
        })
    }
}

/// The reactions GitHub offers on comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    PlusOne,
    MinusOne,
    Laugh,
    Confused,
    Heart,
    Hooray,
    Rocket,
    Eyes,
}

impl Reaction {
    pub fn as_str(self) -> &'static str {
        match self {
            Reaction::PlusOne => "+1",
            Reaction::MinusOne => "-1",
            Reaction::Laugh => "laugh",
            Reaction::Confused => "confused",
            Reaction::Heart => "heart",
            Reaction::Hooray => "hooray",
            Reaction::Rocket => "rocket",
            Reaction::Eyes => "eyes",
        }
    }
}

impl FromStr for Reaction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "+1" => Reaction::PlusOne,
            "-1" => Reaction::MinusOne,
            "laugh" => Reaction::Laugh,
            "confused" => Reaction::Confused,
            "heart" => Reaction::Heart,
            "hooray" => Reaction::Hooray,
            "rocket" => Reaction::Rocket,
            "eyes" => Reaction::Eyes,
            other => return Err(format!("`{other}` is not a GitHub reaction")),
        })
    }
}

/// A check run's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    Queued,
    InProgress,
    Completed,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Queued => "queued",
            CheckStatus::InProgress => "in_progress",
            CheckStatus::Completed => "completed",
        }
    }
}

/// How a completed check run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckConclusion {
    Success,
    Failure,
    Neutral,
    Cancelled,
    Skipped,
    TimedOut,
    ActionRequired,
}

impl CheckConclusion {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckConclusion::Success => "success",
            CheckConclusion::Failure => "failure",
            CheckConclusion::Neutral => "neutral",
            CheckConclusion::Cancelled => "cancelled",
            CheckConclusion::Skipped => "skipped",
            CheckConclusion::TimedOut => "timed_out",
            CheckConclusion::ActionRequired => "action_required",
        }
    }
}

/// What a check run shows: its state and its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRunState {
    pub status: CheckStatus,
    /// Required by GitHub when `status` is `Completed`.
    pub conclusion: Option<CheckConclusion>,
    pub title: String,
    /// Markdown; cut to GitHub's limit when longer.
    pub summary: String,
    /// A link to the job page, when there is one.
    pub details_url: Option<String>,
}

/// A pull request, as perf-fixer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    pub state: String,
    pub title: String,
    pub body: Option<String>,
    pub html_url: String,
    pub merged: bool,
    pub head_sha: String,
    pub head_ref: String,
    pub base_sha: String,
    pub base_ref: String,
    /// `None` when the head repository was deleted.
    pub head_repo_full_name: Option<String>,
    /// The head is in another repository than the base (the App cannot push there).
    pub is_fork: bool,
}

/// The handle of a pull request perf-fixer opened or found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrRef {
    pub number: u64,
    pub html_url: String,
    pub head_ref: String,
    pub base_ref: String,
}

/// The hidden marker that identifies a job's progress comment.
pub fn job_marker(job_id: impl fmt::Display) -> String {
    format!("<!-- perf-fixer:job={job_id} -->")
}

/// The App, authenticated with its JWT; hands out installation clients.
#[derive(Clone)]
pub struct GitHub {
    app: Octocrab,
    retry: RetryPolicy,
    /// One octocrab per installation, shared through `Arc`: cloning an `Octocrab` copies its
    /// token cache instead of sharing it, so clones would each mint their own token.
    installations: Arc<Mutex<HashMap<u64, Arc<Octocrab>>>>,
}

impl fmt::Debug for GitHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHub")
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl GitHub {
    /// A client for the API at `api_url` (`GITHUB_API_URL`; [`DEFAULT_API_URL`] for github.com).
    ///
    /// Needs a Tokio runtime (octocrab starts a background task).
    pub fn new(credentials: &AppCredentials, api_url: &str) -> Result<Self, GitHubError> {
        let url = api_url.trim().trim_end_matches('/');
        let invalid = || GitHubError::InvalidApiUrl {
            url: api_url.to_owned(),
        };
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(invalid());
        }
        let app = Octocrab::builder()
            .base_uri(url)
            .map_err(|_| invalid())?
            // Retries are ours (they honour Retry-After and name the call); octocrab's would
            // multiply with them.
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(60)))
            .app(AppId(credentials.app_id()), credentials.encoding_key()?)
            .build()
            .map_err(|e| GitHubError::Transport {
                call: "build client",
                message: short_message(&e.to_string()),
            })?;
        Ok(Self {
            app,
            retry: RetryPolicy::default(),
            installations: Arc::default(),
        })
    }

    /// Replaces the retry policy (tests use short waits).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    fn installation_crab(&self, installation_id: u64) -> Result<Arc<Octocrab>, GitHubError> {
        let mut map = self
            .installations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(crab) = map.get(&installation_id) {
            return Ok(Arc::clone(crab));
        }
        let crab = Arc::new(
            self.app
                .installation(InstallationId(installation_id))
                .map_err(|e| GitHubError::Transport {
                    call: "installation client",
                    message: short_message(&e.to_string()),
                })?,
        );
        map.insert(installation_id, Arc::clone(&crab));
        Ok(crab)
    }

    /// A client acting as the installation; its token is minted on first use and cached.
    pub fn installation(&self, installation_id: u64) -> Result<InstallationClient, GitHubError> {
        Ok(InstallationClient {
            crab: self.installation_crab(installation_id)?,
            retry: self.retry.clone(),
        })
    }

    /// An installation access token (valid for at least 30 more seconds), for git over HTTPS.
    /// Keep it out of logs, errors, files and child processes' environments.
    pub async fn installation_token(
        &self,
        installation_id: u64,
    ) -> Result<SecretString, GitHubError> {
        let crab = self.installation_crab(installation_id)?;
        let call = "mint installation token";
        let mut attempt = 0;
        loop {
            match crab.installation_token().await {
                Ok(token) => return Ok(token),
                Err(err) => {
                    let failure = Failure::from_octocrab(err);
                    match failure.retry_delay(&self.retry, attempt) {
                        Some(delay) => {
                            failure.log_retry(call, attempt, delay);
                            tokio::time::sleep(delay).await;
                            attempt += 1;
                        }
                        None => return Err(failure.into_error(call, attempt)),
                    }
                }
            }
        }
    }
}

/// A client acting as one installation of the App.
#[derive(Clone)]
pub struct InstallationClient {
    crab: Arc<Octocrab>,
    retry: RetryPolicy,
}

impl fmt::Debug for InstallationClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstallationClient").finish_non_exhaustive()
    }
}

/// A response with a success status.
struct Reply {
    body: String,
}

/// A response with an error status, or no response at all.
struct Failure {
    status: Option<u16>,
    headers: HeaderMap,
    message: String,
}

impl Failure {
    fn from_octocrab(err: octocrab::Error) -> Self {
        match err {
            octocrab::Error::GitHub { source, .. } => Failure {
                status: Some(source.status_code.as_u16()),
                headers: source.headers.clone().unwrap_or_default(),
                message: short_message(&source.message),
            },
            other => Failure {
                status: None,
                headers: HeaderMap::new(),
                message: short_message(&other.to_string()),
            },
        }
    }

    fn retry_delay(&self, policy: &RetryPolicy, attempt: u32) -> Option<Duration> {
        if attempt >= policy.max_retries {
            return None;
        }
        match self.status {
            Some(status) => policy.delay_for(attempt, status, &self.headers, unix_now()),
            // No answer at all (connection refused, reset, timeout): worth another try.
            None => Some(policy.backoff(attempt)),
        }
    }

    fn log_retry(&self, call: &'static str, attempt: u32, delay: Duration) {
        tracing::warn!(
            call,
            status = self.status,
            attempt = attempt + 1,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "GitHub call failed; retrying"
        );
    }

    fn into_error(self, call: &'static str, attempt: u32) -> GitHubError {
        match self.status {
            Some(status) if is_rate_limit(status, &self.headers) => GitHubError::RateLimited {
                call,
                status,
                attempts: attempt + 1,
            },
            Some(status) => GitHubError::Api {
                call,
                status,
                message: self.message,
            },
            None => GitHubError::Transport {
                call,
                message: self.message,
            },
        }
    }
}

impl InstallationClient {
    /// Sends one call, retrying per the policy; a non-success status is an error.
    async fn send(
        &self,
        call: &'static str,
        method: Method,
        route: &str,
        body: Option<&Value>,
        accept: &str,
    ) -> Result<Reply, GitHubError> {
        let mut attempt = 0;
        loop {
            let failure = match self.send_once(method.clone(), route, body, accept).await {
                Ok(Ok(reply)) => return Ok(reply),
                Ok(Err(failure)) | Err(failure) => failure,
            };
            match failure.retry_delay(&self.retry, attempt) {
                Some(delay) => {
                    failure.log_retry(call, attempt, delay);
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                None => return Err(failure.into_error(call, attempt)),
            }
        }
    }

    /// One HTTP exchange. The outer error is "no response"; the inner one an error status.
    async fn send_once(
        &self,
        method: Method,
        route: &str,
        body: Option<&Value>,
        accept: &str,
    ) -> Result<Result<Reply, Failure>, Failure> {
        let builder = http::Request::builder()
            .method(method)
            .uri(route)
            .header(http::header::ACCEPT, accept)
            .header(http::header::USER_AGENT, "perf-fixer");
        let request = self
            .crab
            .build_request(builder, body)
            .map_err(Failure::from_octocrab)?;
        let response = self
            .crab
            .execute(request)
            .await
            .map_err(Failure::from_octocrab)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = self
            .crab
            .body_to_string(response)
            .await
            .map_err(Failure::from_octocrab)?;
        if (200..300).contains(&status) {
            return Ok(Ok(Reply { body: text }));
        }
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(short_message))
            .unwrap_or_else(|| short_message(&text));
        Ok(Err(Failure {
            status: Some(status),
            headers,
            message,
        }))
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        call: &'static str,
        route: &str,
    ) -> Result<T, GitHubError> {
        let reply = self
            .send(call, Method::GET, route, None, ACCEPT_JSON)
            .await?;
        decode(call, &reply)
    }

    async fn send_json<T: DeserializeOwned>(
        &self,
        call: &'static str,
        method: Method,
        route: &str,
        body: &Value,
    ) -> Result<T, GitHubError> {
        let reply = self
            .send(call, method, route, Some(body), ACCEPT_JSON)
            .await?;
        decode(call, &reply)
    }

    /// The user's permission on `repo` (`owner/name`). Someone who is not a collaborator at
    /// all has `None`.
    pub async fn collaborator_permission(
        &self,
        repo: &str,
        login: &str,
    ) -> Result<Permission, GitHubError> {
        #[derive(Deserialize)]
        struct Body {
            permission: Option<String>,
            role_name: Option<String>,
        }
        let call = "get collaborator permission";
        let route = format!(
            "{}/collaborators/{}/permission",
            repo_route(repo)?,
            encode(login)
        );
        let body: Body = match self.get_json(call, &route).await {
            Ok(body) => body,
            Err(err) if err.status() == Some(404) => return Ok(Permission::None),
            Err(err) => return Err(err),
        };
        // `role_name` knows maintain and triage; `permission` folds them into write and read.
        Ok(body
            .role_name
            .as_deref()
            .and_then(Permission::parse)
            .or_else(|| body.permission.as_deref().and_then(Permission::parse))
            .unwrap_or(Permission::None))
    }

    /// A file's text at `git_ref`, or `None` when there is no such file.
    pub async fn get_file(
        &self,
        repo: &str,
        path: &str,
        git_ref: &str,
    ) -> Result<Option<String>, GitHubError> {
        let call = "get file contents";
        let path = path.trim_start_matches('/');
        let encoded_path: Vec<String> = path.split('/').map(encode).collect();
        let route = format!(
            "{}/contents/{}?ref={}",
            repo_route(repo)?,
            encoded_path.join("/"),
            encode(git_ref)
        );
        match self.send(call, Method::GET, &route, None, ACCEPT_RAW).await {
            Ok(reply) => Ok(Some(reply.body)),
            Err(err) if err.status() == Some(404) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// A pull request by number.
    pub async fn pull(&self, repo: &str, number: u64) -> Result<PullRequest, GitHubError> {
        let route = format!("{}/pulls/{number}", repo_route(repo)?);
        let wire: WirePull = self.get_json("get pull request", &route).await?;
        Ok(wire.into_pull())
    }

    /// The open pull request whose head is `head_branch` in `repo` itself, if any: lets a
    /// retried job find the PR it opened before instead of opening a second one.
    pub async fn find_open_pr_by_head(
        &self,
        repo: &str,
        head_branch: &str,
    ) -> Result<Option<PrRef>, GitHubError> {
        let (owner, _) = split_repo(repo)?;
        let route = format!(
            "{}/pulls?state=open&head={}&per_page={PER_PAGE}",
            repo_route(repo)?,
            encode(&format!("{owner}:{head_branch}"))
        );
        let pulls: Vec<WirePull> = self.get_json("list pull requests", &route).await?;
        Ok(pulls
            .into_iter()
            .find(|p| p.head.r#ref == head_branch)
            .map(WirePull::into_ref))
    }

    /// Opens a pull request from `head` (a branch of `repo`) into `base`.
    pub async fn create_pr(
        &self,
        repo: &str,
        title: &str,
        head: &str,
        base: &str,
        body: &str,
    ) -> Result<PrRef, GitHubError> {
        let route = format!("{}/pulls", repo_route(repo)?);
        let payload = json!({
            "title": title,
            "head": head,
            "base": base,
            "body": fit_body(body),
            "maintainer_can_modify": true,
        });
        let wire: WirePull = self
            .send_json("create pull request", Method::POST, &route, &payload)
            .await?;
        Ok(wire.into_ref())
    }

    /// Replaces a pull request's description.
    pub async fn update_pr_body(
        &self,
        repo: &str,
        number: u64,
        body: &str,
    ) -> Result<(), GitHubError> {
        let route = format!("{}/pulls/{number}", repo_route(repo)?);
        let _: Value = self
            .send_json(
                "update pull request",
                Method::PATCH,
                &route,
                &json!({ "body": fit_body(body) }),
            )
            .await?;
        Ok(())
    }

    /// Posts a comment on an issue or pull request; returns its id.
    pub async fn post_comment(
        &self,
        repo: &str,
        issue_number: u64,
        body: &str,
    ) -> Result<u64, GitHubError> {
        let route = format!("{}/issues/{issue_number}/comments", repo_route(repo)?);
        let comment: WireComment = self
            .send_json(
                "create comment",
                Method::POST,
                &route,
                &json!({ "body": fit_body(body) }),
            )
            .await?;
        Ok(comment.id)
    }

    /// Replaces a comment's text.
    pub async fn update_comment(
        &self,
        repo: &str,
        comment_id: u64,
        body: &str,
    ) -> Result<(), GitHubError> {
        let route = format!("{}/issues/comments/{comment_id}", repo_route(repo)?);
        let _: Value = self
            .send_json(
                "update comment",
                Method::PATCH,
                &route,
                &json!({ "body": fit_body(body) }),
            )
            .await?;
        Ok(())
    }

    /// The job's one progress comment: found again by its hidden `marker` (see [`job_marker`])
    /// among the comments bots wrote, and edited in place; posted when there is none yet.
    /// The marker is put at the top of `body` when `body` lacks it. Returns the comment id.
    pub async fn upsert_progress_comment(
        &self,
        repo: &str,
        issue_number: u64,
        marker: &str,
        body: &str,
    ) -> Result<u64, GitHubError> {
        let body = if body.contains(marker) {
            body.to_owned()
        } else {
            format!("{marker}\n{body}")
        };
        match self.find_comment(repo, issue_number, marker).await? {
            Some(id) => {
                self.update_comment(repo, id, &body).await?;
                Ok(id)
            }
            None => self.post_comment(repo, issue_number, &body).await,
        }
    }

    /// The first comment written by a bot whose body holds `marker`, reading every page.
    pub async fn find_comment(
        &self,
        repo: &str,
        issue_number: u64,
        marker: &str,
    ) -> Result<Option<u64>, GitHubError> {
        let base = format!("{}/issues/{issue_number}/comments", repo_route(repo)?);
        for page in 1..=MAX_PAGES {
            let route = format!("{base}?per_page={PER_PAGE}&page={page}");
            let comments: Vec<WireComment> = self.get_json("list comments", &route).await?;
            // Only bots' comments count, so that a person quoting the marker cannot make us
            // edit their comment.
            if let Some(found) = comments.iter().find(|c| {
                c.user.as_ref().is_some_and(|u| u.r#type == "Bot")
                    && c.body.as_deref().is_some_and(|b| b.contains(marker))
            }) {
                return Ok(Some(found.id));
            }
            if comments.len() < PER_PAGE {
                break;
            }
        }
        Ok(None)
    }

    /// Reacts to a comment (`+1` to acknowledge a command, `eyes` while working, ...).
    pub async fn add_reaction(
        &self,
        repo: &str,
        comment_id: u64,
        reaction: Reaction,
    ) -> Result<(), GitHubError> {
        let route = format!(
            "{}/issues/comments/{comment_id}/reactions",
            repo_route(repo)?
        );
        let _: Value = self
            .send_json(
                "add reaction",
                Method::POST,
                &route,
                &json!({ "content": reaction.as_str() }),
            )
            .await?;
        Ok(())
    }

    /// Creates a check run named `name` on `head_sha`; returns its id.
    pub async fn create_check_run(
        &self,
        repo: &str,
        head_sha: &str,
        name: &str,
        state: &CheckRunState,
    ) -> Result<u64, GitHubError> {
        let route = format!("{}/check-runs", repo_route(repo)?);
        let mut payload = check_run_payload(state);
        payload["name"] = json!(name);
        payload["head_sha"] = json!(head_sha);
        let run: WireId = self
            .send_json("create check run", Method::POST, &route, &payload)
            .await?;
        Ok(run.id)
    }

    /// Updates a check run's state and output.
    pub async fn update_check_run(
        &self,
        repo: &str,
        check_run_id: u64,
        state: &CheckRunState,
    ) -> Result<(), GitHubError> {
        let route = format!("{}/check-runs/{check_run_id}", repo_route(repo)?);
        let _: Value = self
            .send_json(
                "update check run",
                Method::PATCH,
                &route,
                &check_run_payload(state),
            )
            .await?;
        Ok(())
    }

    /// The repository's default branch.
    pub async fn default_branch(&self, repo: &str) -> Result<String, GitHubError> {
        #[derive(Deserialize)]
        struct Body {
            default_branch: String,
        }
        let body: Body = self.get_json("get repository", &repo_route(repo)?).await?;
        Ok(body.default_branch)
    }
}

fn check_run_payload(state: &CheckRunState) -> Value {
    let mut payload = json!({
        "status": state.status.as_str(),
        "output": { "title": state.title, "summary": fit_body(&state.summary) },
    });
    if let Some(conclusion) = state.conclusion {
        payload["conclusion"] = json!(conclusion.as_str());
    }
    if let Some(url) = &state.details_url {
        payload["details_url"] = json!(url);
    }
    payload
}

fn decode<T: DeserializeOwned>(call: &'static str, reply: &Reply) -> Result<T, GitHubError> {
    serde_json::from_str(&reply.body).map_err(|e| GitHubError::Decode {
        call,
        message: e.to_string(),
    })
}

#[derive(Deserialize)]
struct WireId {
    id: u64,
}

#[derive(Deserialize)]
struct WireUser {
    #[serde(rename = "type", default)]
    r#type: String,
}

#[derive(Deserialize)]
struct WireComment {
    id: u64,
    body: Option<String>,
    user: Option<WireUser>,
}

#[derive(Deserialize)]
struct WireRepo {
    id: u64,
    full_name: Option<String>,
}

#[derive(Deserialize)]
struct WireBranch {
    r#ref: String,
    sha: String,
    repo: Option<WireRepo>,
}

#[derive(Deserialize)]
struct WirePull {
    number: u64,
    #[serde(default)]
    state: String,
    #[serde(default)]
    title: String,
    body: Option<String>,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    merged: bool,
    head: WireBranch,
    base: WireBranch,
}

impl WirePull {
    fn into_ref(self) -> PrRef {
        PrRef {
            number: self.number,
            html_url: self.html_url,
            head_ref: self.head.r#ref,
            base_ref: self.base.r#ref,
        }
    }

    fn into_pull(self) -> PullRequest {
        let head_repo_id = self.head.repo.as_ref().map(|r| r.id);
        let base_repo_id = self.base.repo.as_ref().map(|r| r.id);
        PullRequest {
            number: self.number,
            state: self.state,
            title: self.title,
            body: self.body,
            html_url: self.html_url,
            merged: self.merged,
            head_sha: self.head.sha,
            head_ref: self.head.r#ref,
            base_sha: self.base.sha,
            base_ref: self.base.r#ref,
            head_repo_full_name: self.head.repo.and_then(|r| r.full_name),
            is_fork: head_repo_id.is_none() || head_repo_id != base_repo_id,
        }
    }
}

fn split_repo(repo: &str) -> Result<(&str, &str), GitHubError> {
    let valid = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match repo.split_once('/') {
        Some((owner, name)) if valid(owner) && valid(name) => Ok((owner, name)),
        _ => Err(GitHubError::InvalidRepo {
            repo: repo.to_owned(),
        }),
    }
}

fn repo_route(repo: &str) -> Result<String, GitHubError> {
    let (owner, name) = split_repo(repo)?;
    Ok(format!("/repos/{owner}/{name}"))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Cuts a markdown body to what GitHub accepts, saying so at the end.
fn fit_body(body: &str) -> String {
    if body.chars().count() <= MAX_BODY_CHARS {
        return body.to_owned();
    }
    let cut: String = body.chars().take(MAX_BODY_CHARS).collect();
    format!("{cut}\n\n*(cut: the full text is longer than GitHub allows)*")
}

/// The first line of a message, at most 300 characters.
fn short_message(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default().trim();
    line.chars().take(300).collect()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_names_are_validated() {
        assert_eq!(split_repo("octo/hello.rs").unwrap(), ("octo", "hello.rs"));
        for bad in ["", "octo", "octo/", "/x", "a/b/c", "a/..", "a/b?x", "a b/c"] {
            assert!(split_repo(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn encoding_keeps_unreserved_only() {
        assert_eq!(encode("perf-fixer/job_1.x~"), "perf-fixer%2Fjob_1.x~");
        assert_eq!(encode("a b&c=d"), "a%20b%26c%3Dd");
        assert_eq!(encode("é"), "%C3%A9");
    }

    #[test]
    fn long_bodies_are_cut() {
        let long = "x".repeat(MAX_BODY_CHARS + 10);
        let fitted = fit_body(&long);
        assert!(fitted.chars().count() < 65_536);
        assert!(fitted.ends_with("longer than GitHub allows)*"));
        assert_eq!(fit_body("short"), "short");
    }

    #[test]
    fn permissions_order() {
        assert!(Permission::Admin.has_write());
        assert!(Permission::Maintain.has_write());
        assert!(Permission::Write.has_write());
        assert!(!Permission::Triage.has_write());
        assert!(!Permission::Read.has_write());
        assert!(!Permission::None.has_write());
    }

    #[test]
    fn reactions_round_trip() {
        for r in [
            Reaction::PlusOne,
            Reaction::MinusOne,
            Reaction::Laugh,
            Reaction::Confused,
            Reaction::Heart,
            Reaction::Hooray,
            Reaction::Rocket,
            Reaction::Eyes,
        ] {
            assert_eq!(r.as_str().parse::<Reaction>().unwrap(), r);
        }
        assert!("thumbsup".parse::<Reaction>().is_err());
    }

    #[test]
    fn markers_are_html_comments() {
        assert_eq!(job_marker(123), "<!-- perf-fixer:job=123 -->");
    }

    #[test]
    fn short_messages() {
        assert_eq!(short_message("first\nsecond"), "first");
        assert_eq!(short_message(&"y".repeat(500)).len(), 300);
    }
}
