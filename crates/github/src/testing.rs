//! A stateful fake GitHub on wiremock, for integration tests (feature `testing`).
//!
//! It mints installation tokens only for a JWT signed with the App's key (a fresh RSA key made
//! with `openssl genrsa` when the fake starts; no key is ever committed), refuses API calls
//! without a token it minted, and keeps what the client creates (pull requests, comments,
//! reactions, check runs) so tests can inspect it. Failures can be injected per path, such as
//! a 429 with `Retry-After`.
//!
//! ```ignore
//! let fake = FakeGitHub::start().await;
//! fake.add_repo("octo/hello", "main");
//! let github = GitHub::new(&fake.credentials(), &fake.uri())?;
//! ```

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use http::Method;
use octocrab::jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::auth::AppCredentials;

/// The login the fake gives to comments the App writes.
pub const APP_BOT_LOGIN: &str = "perf-fixer[bot]";

/// A repository the fake knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRepo {
    pub id: u64,
    pub full_name: String,
    pub default_branch: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePull {
    pub repo: String,
    pub number: u64,
    pub title: String,
    pub body: String,
    /// The head branch name.
    pub head: String,
    pub head_sha: String,
    /// `owner/name` of the head repository (another one for a fork).
    pub head_repo: String,
    pub base: String,
    pub base_sha: String,
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeComment {
    pub repo: String,
    pub issue_number: u64,
    pub id: u64,
    pub body: String,
    pub author: String,
    /// `User` or `Bot`.
    pub author_type: String,
    /// How many times the comment was edited.
    pub edits: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeReaction {
    pub repo: String,
    pub comment_id: u64,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeCheckRun {
    pub repo: String,
    pub id: u64,
    pub name: String,
    pub head_sha: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub title: String,
    pub summary: String,
    pub details_url: Option<String>,
    pub updates: u32,
}

/// One logged API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRequest {
    pub method: String,
    pub path: String,
    pub status: u16,
}

#[derive(Debug, Clone)]
struct Fault {
    method: Option<Method>,
    path_contains: String,
    status: u16,
    headers: Vec<(String, String)>,
    remaining: usize,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    repos: HashMap<String, FakeRepo>,
    branches: HashMap<(String, String), String>,
    files: HashMap<(String, String, String), String>,
    permissions: HashMap<(String, String), String>,
    tokens: HashMap<String, u64>,
    pulls: Vec<FakePull>,
    comments: Vec<FakeComment>,
    reactions: Vec<FakeReaction>,
    check_runs: Vec<FakeCheckRun>,
    faults: Vec<Fault>,
    log: Vec<FakeRequest>,
}

impl State {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// The fake GitHub server and its state.
pub struct FakeGitHub {
    server: MockServer,
    state: Arc<Mutex<State>>,
    app_id: u64,
    private_key_pem: String,
}

impl FakeGitHub {
    /// Starts the fake with a fresh App key (App id 4242).
    ///
    /// # Panics
    /// When `openssl` is missing: this is test support, where a panic is the report.
    #[allow(clippy::expect_used)]
    pub async fn start() -> Self {
        let (private_key_pem, public_key_pem) =
            generate_rsa_key().expect("the fake GitHub needs `openssl` to make a test App key");
        let decoding_key = DecodingKey::from_rsa_pem(public_key_pem.as_bytes())
            .expect("openssl made an unreadable public key");
        let app_id = 4242;
        let state = Arc::new(Mutex::new(State {
            next_id: 1000,
            ..State::default()
        }));
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(Router {
                state: Arc::clone(&state),
                app_id,
                decoding_key,
            })
            .mount(&server)
            .await;
        Self {
            server,
            state,
            app_id,
            private_key_pem,
        }
    }

    /// The base URL to give the client as `GITHUB_API_URL`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    pub fn app_id(&self) -> u64 {
        self.app_id
    }

    /// The App's PEM private key (a throwaway made for this fake), as `GITHUB_PRIVATE_KEY`.
    pub fn private_key_pem(&self) -> &str {
        &self.private_key_pem
    }

    /// Credentials that the fake accepts.
    ///
    /// # Panics
    /// Never in practice: the key was made by `openssl` for this purpose.
    #[allow(clippy::expect_used)]
    pub fn credentials(&self) -> AppCredentials {
        AppCredentials::from_pem(self.app_id, self.private_key_pem.clone())
            .expect("the fake's own key is valid")
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a repository (`owner/name`); calls about unknown repositories get 404.
    pub fn add_repo(&self, full_name: &str, default_branch: &str) -> FakeRepo {
        let mut state = self.state();
        let id = state.id();
        let repo = FakeRepo {
            id,
            full_name: full_name.to_owned(),
            default_branch: default_branch.to_owned(),
        };
        state.repos.insert(full_name.to_owned(), repo.clone());
        repo
    }

    /// Records where a branch points (used as the head SHA of pull requests opened from it).
    pub fn set_branch(&self, repo: &str, branch: &str, sha: &str) {
        self.state()
            .branches
            .insert((repo.to_owned(), branch.to_owned()), sha.to_owned());
    }

    /// Puts a file at `git_ref` (a branch name or a SHA).
    pub fn put_file(&self, repo: &str, git_ref: &str, path: &str, content: &str) {
        self.state().files.insert(
            (repo.to_owned(), git_ref.to_owned(), path.to_owned()),
            content.to_owned(),
        );
    }

    /// Sets a user's role (`admin`, `maintain`, `write`, `triage`, `read`); others have none.
    pub fn set_permission(&self, repo: &str, login: &str, role: &str) {
        self.state()
            .permissions
            .insert((repo.to_owned(), login.to_owned()), role.to_owned());
    }

    /// Adds an open pull request, as if someone had opened it; `head_repo` differs from
    /// `repo` for a fork.
    #[allow(clippy::too_many_arguments)]
    pub fn add_pull(
        &self,
        repo: &str,
        number: u64,
        head: &str,
        head_sha: &str,
        head_repo: &str,
        base: &str,
        base_sha: &str,
    ) {
        self.state().pulls.push(FakePull {
            repo: repo.to_owned(),
            number,
            title: format!("PR #{number}"),
            body: String::new(),
            head: head.to_owned(),
            head_sha: head_sha.to_owned(),
            head_repo: head_repo.to_owned(),
            base: base.to_owned(),
            base_sha: base_sha.to_owned(),
            state: "open".to_owned(),
        });
    }

    /// Adds a comment as someone else wrote it; returns its id.
    pub fn add_comment(
        &self,
        repo: &str,
        issue_number: u64,
        author: &str,
        author_type: &str,
        body: &str,
    ) -> u64 {
        let mut state = self.state();
        let id = state.id();
        state.comments.push(FakeComment {
            repo: repo.to_owned(),
            issue_number,
            id,
            body: body.to_owned(),
            author: author.to_owned(),
            author_type: author_type.to_owned(),
            edits: 0,
        });
        id
    }

    /// The next `times` calls whose path contains `path_contains` (and, if given, whose
    /// method is `method`) answer `status` with `headers`, before reaching the fake's logic.
    pub fn fail_next(
        &self,
        method: Option<Method>,
        path_contains: &str,
        status: u16,
        headers: &[(&str, &str)],
        times: usize,
    ) {
        self.state().faults.push(Fault {
            method,
            path_contains: path_contains.to_owned(),
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            remaining: times,
        });
    }

    pub fn pulls(&self) -> Vec<FakePull> {
        self.state().pulls.clone()
    }

    pub fn comments(&self) -> Vec<FakeComment> {
        self.state().comments.clone()
    }

    pub fn reactions(&self) -> Vec<FakeReaction> {
        self.state().reactions.clone()
    }

    pub fn check_runs(&self) -> Vec<FakeCheckRun> {
        self.state().check_runs.clone()
    }

    /// How many installation tokens were minted.
    pub fn tokens_minted(&self) -> usize {
        self.state().tokens.len()
    }

    /// Every call received, in order, with the status the fake answered.
    pub fn requests(&self) -> Vec<FakeRequest> {
        self.state().log.clone()
    }
}

/// Makes a 2048-bit RSA key pair with openssl: (PKCS#1 private PEM, public PEM), the form
/// GitHub hands out App keys in.
fn generate_rsa_key() -> Result<(String, String), String> {
    let private = Command::new("openssl")
        .args(["genrsa", "-traditional", "2048"])
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("running openssl genrsa: {e}"))?;
    if !private.status.success() {
        return Err("openssl genrsa failed".into());
    }
    let mut child = Command::new("openssl")
        .args(["rsa", "-pubout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("running openssl rsa: {e}"))?;
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().ok_or("openssl rsa has no stdin")?;
        stdin
            .write_all(&private.stdout)
            .map_err(|e| format!("writing to openssl rsa: {e}"))?;
    }
    let public = child
        .wait_with_output()
        .map_err(|e| format!("waiting for openssl rsa: {e}"))?;
    if !public.status.success() {
        return Err("openssl rsa -pubout failed".into());
    }
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).map_err(|_| "openssl wrote non-UTF-8");
    Ok((text(private.stdout)?, text(public.stdout)?))
}

struct Router {
    state: Arc<Mutex<State>>,
    app_id: u64,
    decoding_key: DecodingKey,
}

fn reply(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

fn not_found() -> ResponseTemplate {
    reply(
        404,
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
    )
}

fn unprocessable(message: &str) -> ResponseTemplate {
    reply(
        422,
        json!({"message": "Validation Failed", "errors": [{"message": message}]}),
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Respond for Router {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let path = request.url.path().to_owned();
        let (status, response) = match self.injected_fault(&mut state, request, &path) {
            Some(fault) => fault,
            None => {
                let response = self.route(&mut state, request, &path);
                (response.0, response.1)
            }
        };
        state.log.push(FakeRequest {
            method: request.method.to_string(),
            path,
            status,
        });
        response
    }
}

impl Router {
    fn injected_fault(
        &self,
        state: &mut State,
        request: &Request,
        path: &str,
    ) -> Option<(u16, ResponseTemplate)> {
        let fault = state.faults.iter_mut().find(|f| {
            f.remaining > 0
                && path.contains(&f.path_contains)
                && f.method.as_ref().is_none_or(|m| *m == request.method)
        })?;
        fault.remaining -= 1;
        let mut response = reply(
            fault.status,
            json!({"message": "injected failure", "documentation_url": "https://docs.github.com/rest"}),
        );
        for (k, v) in &fault.headers {
            response = response.insert_header(k.as_str(), v.as_str());
        }
        Some((fault.status, response))
    }

    fn bearer(request: &Request) -> Option<String> {
        let value = request.headers.get("authorization")?.to_str().ok()?;
        value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("token "))
            .map(str::to_owned)
    }

    fn valid_jwt(&self, request: &Request) -> bool {
        let Some(token) = Self::bearer(request) else {
            return false;
        };
        let mut validation = Validation::new(Algorithm::RS256);
        // octocrab sends `iss` as a number, which the library cannot check; it is checked below.
        validation.set_required_spec_claims(&["exp"]);
        let Ok(data) = decode::<Value>(&token, &self.decoding_key, &validation) else {
            return false;
        };
        let iss = &data.claims["iss"];
        iss.as_u64() == Some(self.app_id) || iss.as_str() == Some(&self.app_id.to_string())
    }

    fn route(&self, state: &mut State, request: &Request, path: &str) -> (u16, ResponseTemplate) {
        let segments: Vec<String> = path
            .trim_start_matches('/')
            .split('/')
            .map(percent_decode)
            .collect();
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let method = request.method.as_str();

        if let ["app", "installations", id, "access_tokens"] = segs.as_slice() {
            if method != "POST" {
                return (404, not_found());
            }
            if !self.valid_jwt(request) {
                return (
                    401,
                    reply(
                        401,
                        json!({"message": "A JSON web token could not be decoded"}),
                    ),
                );
            }
            let Ok(installation) = id.parse::<u64>() else {
                return (404, not_found());
            };
            let n = state.id();
            let token = format!("ghs_fake{n}x{installation}");
            state.tokens.insert(token.clone(), installation);
            let expires = now() + 3600;
            return (
                201,
                reply(
                    201,
                    json!({
                        "token": token,
                        "expires_at": unix_to_rfc3339(expires),
                        "permissions": {"contents": "write", "pull_requests": "write", "issues": "write", "checks": "write"},
                        "repository_selection": "all"
                    }),
                ),
            );
        }

        let authorized = Self::bearer(request).is_some_and(|t| state.tokens.contains_key(&t));
        if !authorized {
            return (401, reply(401, json!({"message": "Bad credentials"})));
        }

        let ["repos", owner, name, rest @ ..] = segs.as_slice() else {
            return (404, not_found());
        };
        let full_name = format!("{owner}/{name}");
        let Some(repo) = state.repos.get(&full_name).cloned() else {
            return (404, not_found());
        };
        let body: Value = request.body_json().unwrap_or(Value::Null);
        let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();

        match (method, rest) {
            ("GET", []) => (200, reply(200, repo_json(&repo))),
            ("GET", ["collaborators", login, "permission"]) => {
                let role = state
                    .permissions
                    .get(&(full_name.clone(), (*login).to_owned()))
                    .cloned()
                    .unwrap_or_else(|| "none".to_owned());
                let permission = match role.as_str() {
                    "maintain" => "write",
                    "triage" => "read",
                    other => other,
                }
                .to_owned();
                (
                    200,
                    reply(
                        200,
                        json!({"permission": permission, "role_name": role, "user": {"login": login}}),
                    ),
                )
            }
            ("GET", ["contents", file @ ..]) => {
                let file = file.join("/");
                let git_ref = query
                    .get("ref")
                    .cloned()
                    .unwrap_or_else(|| repo.default_branch.clone());
                match state.files.get(&(full_name.clone(), git_ref, file)) {
                    Some(content) => (
                        200,
                        ResponseTemplate::new(200).set_body_raw(
                            content.clone().into_bytes(),
                            "application/vnd.github.raw+json",
                        ),
                    ),
                    None => (404, not_found()),
                }
            }
            ("GET", ["pulls"]) => {
                let wanted_state = query.get("state").map_or("open", String::as_str);
                let head = query.get("head").cloned();
                let list: Vec<Value> = state
                    .pulls
                    .iter()
                    .filter(|p| p.repo == full_name)
                    .filter(|p| wanted_state == "all" || p.state == wanted_state)
                    .filter(|p| {
                        head.as_ref().is_none_or(|h| {
                            let owner = p.head_repo.split('/').next().unwrap_or_default();
                            *h == format!("{owner}:{}", p.head)
                        })
                    })
                    .map(|p| pull_json(p, state))
                    .collect();
                (200, reply(200, Value::Array(list)))
            }
            ("POST", ["pulls"]) => self.create_pull(state, &repo, &body),
            ("GET", ["pulls", number]) => {
                match state
                    .pulls
                    .iter()
                    .find(|p| p.repo == full_name && number.parse() == Ok(p.number))
                {
                    Some(p) => (200, reply(200, pull_json(p, state))),
                    None => (404, not_found()),
                }
            }
            ("PATCH", ["pulls", number]) => {
                let found = state
                    .pulls
                    .iter_mut()
                    .find(|p| p.repo == full_name && number.parse() == Ok(p.number));
                let Some(pull) = found else {
                    return (404, not_found());
                };
                if let Some(b) = body.get("body").and_then(Value::as_str) {
                    pull.body = b.to_owned();
                }
                if let Some(t) = body.get("title").and_then(Value::as_str) {
                    pull.title = t.to_owned();
                }
                if let Some(s) = body.get("state").and_then(Value::as_str) {
                    pull.state = s.to_owned();
                }
                let pull = pull.clone();
                (200, reply(200, pull_json(&pull, state)))
            }
            ("GET", ["issues", number, "comments"]) => {
                let per_page: usize = query
                    .get("per_page")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(30)
                    .clamp(1, 100);
                let page: usize = query
                    .get("page")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1)
                    .max(1);
                let all: Vec<&FakeComment> = state
                    .comments
                    .iter()
                    .filter(|c| c.repo == full_name && number.parse() == Ok(c.issue_number))
                    .collect();
                let list: Vec<Value> = all
                    .iter()
                    .skip((page - 1) * per_page)
                    .take(per_page)
                    .map(|c| comment_json(c))
                    .collect();
                (200, reply(200, Value::Array(list)))
            }
            ("POST", ["issues", number, "comments"]) => {
                let (Ok(issue_number), Some(text)) = (
                    number.parse::<u64>(),
                    body.get("body").and_then(Value::as_str),
                ) else {
                    return (422, unprocessable("body is required"));
                };
                if text.chars().count() > 65_536 {
                    return (
                        422,
                        unprocessable("body is too long (maximum is 65536 characters)"),
                    );
                }
                let id = state.id();
                let comment = FakeComment {
                    repo: full_name.clone(),
                    issue_number,
                    id,
                    body: text.to_owned(),
                    author: APP_BOT_LOGIN.to_owned(),
                    author_type: "Bot".to_owned(),
                    edits: 0,
                };
                let json = comment_json(&comment);
                state.comments.push(comment);
                (201, reply(201, json))
            }
            ("PATCH", ["issues", "comments", id]) => {
                let Some(text) = body.get("body").and_then(Value::as_str) else {
                    return (422, unprocessable("body is required"));
                };
                let found = state
                    .comments
                    .iter_mut()
                    .find(|c| c.repo == full_name && id.parse() == Ok(c.id));
                match found {
                    Some(comment) => {
                        comment.body = text.to_owned();
                        comment.edits += 1;
                        (200, reply(200, comment_json(comment)))
                    }
                    None => (404, not_found()),
                }
            }
            ("POST", ["issues", "comments", id, "reactions"]) => {
                let Ok(comment_id) = id.parse::<u64>() else {
                    return (404, not_found());
                };
                if !state
                    .comments
                    .iter()
                    .any(|c| c.repo == full_name && c.id == comment_id)
                {
                    return (404, not_found());
                }
                let content = body
                    .get("content")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                const VALID: [&str; 8] = [
                    "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes",
                ];
                if !VALID.contains(&content.as_str()) {
                    return (422, unprocessable("content is not a valid reaction"));
                }
                let reaction = FakeReaction {
                    repo: full_name.clone(),
                    comment_id,
                    content: content.clone(),
                };
                let existed = state.reactions.contains(&reaction);
                if !existed {
                    state.reactions.push(reaction);
                }
                let id = state.id();
                let status = if existed { 200 } else { 201 };
                (
                    status,
                    reply(
                        status,
                        json!({"id": id, "content": content, "user": {"login": APP_BOT_LOGIN, "type": "Bot"}}),
                    ),
                )
            }
            ("POST", ["check-runs"]) => {
                let (Some(name), Some(head_sha)) = (
                    body.get("name").and_then(Value::as_str),
                    body.get("head_sha").and_then(Value::as_str),
                ) else {
                    return (422, unprocessable("name and head_sha are required"));
                };
                let id = state.id();
                let mut run = FakeCheckRun {
                    repo: full_name.clone(),
                    id,
                    name: name.to_owned(),
                    head_sha: head_sha.to_owned(),
                    status: "queued".to_owned(),
                    conclusion: None,
                    title: String::new(),
                    summary: String::new(),
                    details_url: None,
                    updates: 0,
                };
                if let Err(message) = apply_check_run(&mut run, &body) {
                    return (422, unprocessable(message));
                }
                let json = check_run_json(&run);
                state.check_runs.push(run);
                (201, reply(201, json))
            }
            ("PATCH", ["check-runs", id]) => {
                let found = state
                    .check_runs
                    .iter_mut()
                    .find(|r| r.repo == full_name && id.parse() == Ok(r.id));
                let Some(run) = found else {
                    return (404, not_found());
                };
                let mut updated = run.clone();
                if let Err(message) = apply_check_run(&mut updated, &body) {
                    return (422, unprocessable(message));
                }
                updated.updates += 1;
                *run = updated.clone();
                (200, reply(200, check_run_json(&updated)))
            }
            _ => (404, not_found()),
        }
    }

    fn create_pull(
        &self,
        state: &mut State,
        repo: &FakeRepo,
        body: &Value,
    ) -> (u16, ResponseTemplate) {
        let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        let (Some(title), Some(head), Some(base)) = (field("title"), field("head"), field("base"))
        else {
            return (422, unprocessable("title, head and base are required"));
        };
        // `head` may be `owner:branch`.
        let head_branch = head
            .split_once(':')
            .map_or(head.clone(), |(_, b)| b.to_owned());
        if head_branch == base {
            return (422, unprocessable("head and base must differ"));
        }
        if state.pulls.iter().any(|p| {
            p.repo == repo.full_name && p.head == head_branch && p.base == base && p.state == "open"
        }) {
            return (
                422,
                unprocessable(&format!(
                    "A pull request already exists for {}:{head_branch}.",
                    repo.full_name.split('/').next().unwrap_or_default()
                )),
            );
        }
        let number = state
            .pulls
            .iter()
            .filter(|p| p.repo == repo.full_name)
            .map(|p| p.number)
            .max()
            .unwrap_or(0)
            + 1;
        let sha_of = |branch: &str| {
            state
                .branches
                .get(&(repo.full_name.clone(), branch.to_owned()))
                .cloned()
                .unwrap_or_else(|| "0".repeat(40))
        };
        let pull = FakePull {
            repo: repo.full_name.clone(),
            number,
            title,
            body: field("body").unwrap_or_default(),
            head_sha: sha_of(&head_branch),
            head: head_branch,
            head_repo: repo.full_name.clone(),
            base_sha: sha_of(&base),
            base,
            state: "open".to_owned(),
        };
        let json = pull_json(&pull, state);
        state.pulls.push(pull);
        (201, reply(201, json))
    }
}

fn apply_check_run(run: &mut FakeCheckRun, body: &Value) -> Result<(), &'static str> {
    if let Some(status) = body.get("status").and_then(Value::as_str) {
        if !["queued", "in_progress", "completed"].contains(&status) {
            return Err("status is not valid");
        }
        run.status = status.to_owned();
    }
    if let Some(conclusion) = body.get("conclusion").and_then(Value::as_str) {
        run.conclusion = Some(conclusion.to_owned());
        run.status = "completed".to_owned();
    }
    if run.status == "completed" && run.conclusion.is_none() {
        return Err("conclusion is required when status is completed");
    }
    if let Some(output) = body.get("output") {
        if let Some(title) = output.get("title").and_then(Value::as_str) {
            run.title = title.to_owned();
        }
        if let Some(summary) = output.get("summary").and_then(Value::as_str) {
            if summary.chars().count() > 65_535 {
                return Err("output.summary is too long");
            }
            run.summary = summary.to_owned();
        }
    }
    if let Some(url) = body.get("details_url").and_then(Value::as_str) {
        run.details_url = Some(url.to_owned());
    }
    Ok(())
}

fn repo_json(repo: &FakeRepo) -> Value {
    let (owner, name) = repo
        .full_name
        .split_once('/')
        .unwrap_or((repo.full_name.as_str(), ""));
    json!({
        "id": repo.id,
        "name": name,
        "full_name": repo.full_name,
        "owner": {"login": owner, "type": "User"},
        "private": false,
        "default_branch": repo.default_branch,
        "clone_url": format!("https://github.com/{}.git", repo.full_name),
    })
}

fn pull_json(pull: &FakePull, state: &State) -> Value {
    let repo_of = |full_name: &str| {
        state
            .repos
            .get(full_name)
            .map_or_else(|| json!({"id": 999_999, "full_name": full_name}), repo_json)
    };
    json!({
        "number": pull.number,
        "state": pull.state,
        "title": pull.title,
        "body": pull.body,
        "merged": false,
        "html_url": format!("https://github.com/{}/pull/{}", pull.repo, pull.number),
        "head": {"ref": pull.head, "sha": pull.head_sha, "repo": repo_of(&pull.head_repo)},
        "base": {"ref": pull.base, "sha": pull.base_sha, "repo": repo_of(&pull.repo)},
    })
}

fn comment_json(comment: &FakeComment) -> Value {
    json!({
        "id": comment.id,
        "body": comment.body,
        "user": {"login": comment.author, "type": comment.author_type},
        "html_url": format!("https://github.com/{}/issues/{}#issuecomment-{}", comment.repo, comment.issue_number, comment.id),
    })
}

fn check_run_json(run: &FakeCheckRun) -> Value {
    json!({
        "id": run.id,
        "name": run.name,
        "head_sha": run.head_sha,
        "status": run.status,
        "conclusion": run.conclusion,
        "details_url": run.details_url,
        "output": {"title": run.title, "summary": run.summary},
    })
}

/// Unix seconds to `YYYY-MM-DDTHH:MM:SSZ` (days-from-civil, valid for any date after 1970).
fn unix_to_rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(unix_to_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(unix_to_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(unix_to_rfc3339(1_764_288_000), "2025-11-28T00:00:00Z");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
