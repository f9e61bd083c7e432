//! Webhook payloads parsed into our own [`Event`] enum.
//!
//! Payloads are read as raw JSON and walked field by field (DESIGN asks this for `check_run`,
//! and doing the same everywhere keeps one error style): a missing or mistyped field is an
//! error naming the event and the field's path (`check_run.pull_requests[0].head.sha`), while
//! fields we do not use may be absent, null or anything. Unknown events and actions are not
//! errors: they become [`Event::Other`] so the server can answer 202 and ignore them.

use serde_json::Value;

use crate::prune::{self, Want};

/// Every payload field the parsers below read; the rest is skipped while parsing.
/// A field read below but missing here would read as absent: the payload tests catch that.
static PAYLOAD: Want = {
    const ALL: Want = Want::All;
    const REPO: Want = Want::Fields(&[
        ("id", ALL),
        ("name", ALL),
        ("full_name", ALL),
        ("owner", Want::Fields(&[("login", ALL)])),
        ("default_branch", ALL),
        ("clone_url", ALL),
        ("private", ALL),
        ("url", ALL),
    ]);
    const BRANCH: Want = Want::Fields(&[("sha", ALL), ("ref", ALL), ("repo", REPO)]);
    const SHORT_REPOS: Want = Want::Items(&Want::Fields(&[
        ("id", ALL),
        ("full_name", ALL),
        ("private", ALL),
    ]));
    Want::Fields(&[
        ("action", ALL),
        (
            "installation",
            Want::Fields(&[("id", ALL), ("account", Want::Fields(&[("login", ALL)]))]),
        ),
        ("repository", REPO),
        (
            "check_run",
            Want::Fields(&[
                ("id", ALL),
                ("name", ALL),
                ("conclusion", ALL),
                ("head_sha", ALL),
                ("check_suite", Want::Fields(&[("head_branch", ALL)])),
                ("app", Want::Fields(&[("id", ALL)])),
                (
                    "pull_requests",
                    Want::Items(&Want::Fields(&[
                        ("number", ALL),
                        ("head", BRANCH),
                        ("base", BRANCH),
                    ])),
                ),
            ]),
        ),
        (
            "issue",
            Want::Fields(&[("number", ALL), ("pull_request", ALL)]),
        ),
        (
            "comment",
            Want::Fields(&[
                ("id", ALL),
                ("body", ALL),
                ("user", Want::Fields(&[("login", ALL), ("type", ALL)])),
                ("author_association", ALL),
                ("performed_via_github_app", Want::Fields(&[("id", ALL)])),
            ]),
        ),
        (
            "pull_request",
            Want::Fields(&[
                ("number", ALL),
                ("state", ALL),
                ("merged", ALL),
                ("draft", ALL),
                ("head", BRANCH),
                ("base", BRANCH),
            ]),
        ),
        ("number", ALL),
        ("before", ALL),
        ("after", ALL),
        ("repositories", SHORT_REPOS),
        ("repositories_added", SHORT_REPOS),
        ("repositories_removed", SHORT_REPOS),
        ("zen", ALL),
        ("hook_id", ALL),
        ("hook", Want::Fields(&[("app_id", ALL)])),
    ])
};

/// A webhook delivery we understand.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `check_run` with action `completed`.
    CheckRunCompleted(CheckRunCompleted),
    /// `issue_comment` with action `created`.
    IssueCommentCreated(IssueCommentCreated),
    /// `issue_comment` edited or deleted: ignored by design (only new comments run commands).
    IssueCommentOther(IssueCommentOther),
    /// `pull_request`, any action (the server acts on `synchronize` and `closed`).
    PullRequest(PullRequestEvent),
    /// `installation` (created, deleted, suspend, ...).
    Installation(InstallationEvent),
    /// `installation_repositories` (added, removed).
    InstallationRepositories(InstallationRepositoriesEvent),
    /// `ping`, sent when the hook is created.
    Ping(Ping),
    /// Anything else: acknowledged and ignored.
    Other {
        event: String,
        action: Option<String>,
    },
}

impl Event {
    /// The installation the delivery came through, when the payload names one.
    pub fn installation_id(&self) -> Option<u64> {
        match self {
            Event::CheckRunCompleted(e) => e.installation_id,
            Event::IssueCommentCreated(e) => e.installation_id,
            Event::IssueCommentOther(e) => e.installation_id,
            Event::PullRequest(e) => e.installation_id,
            Event::Installation(e) => Some(e.id),
            Event::InstallationRepositories(e) => Some(e.id),
            Event::Ping(_) | Event::Other { .. } => None,
        }
    }
}

/// A repository as webhook payloads describe it (the full `repository` object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub id: u64,
    pub owner: String,
    pub name: String,
    /// `owner/name`.
    pub full_name: String,
    pub default_branch: String,
    pub clone_url: String,
    pub private: bool,
}

/// A repository as `installation*` payloads list it (short form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationRepo {
    pub id: u64,
    pub full_name: String,
    pub private: bool,
}

/// A pull request listed in a `check_run` payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRunPullRequest {
    pub number: u64,
    pub head_sha: String,
    pub head_ref: String,
    pub base_sha: String,
    pub base_ref: String,
    /// `owner/name` of the head repository, derived from its API URL (check runs do not
    /// carry `full_name`); `None` when GitHub leaves it out.
    pub head_repo_full_name: Option<String>,
    /// True when the head lives in another repository than the base (a fork).
    pub is_fork: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRunCompleted {
    pub installation_id: Option<u64>,
    pub repo: Repo,
    pub check_run_id: u64,
    pub check_name: String,
    /// `success`, `failure`, `neutral`, `cancelled`, `skipped`, `timed_out`,
    /// `action_required`, `stale`.
    pub conclusion: String,
    pub head_sha: String,
    /// The branch of the check suite; `None` for some fork runs.
    pub head_branch: Option<String>,
    /// The App that created the check run, to recognise our own.
    pub app_id: Option<u64>,
    pub pull_requests: Vec<CheckRunPullRequest>,
}

impl CheckRunCompleted {
    /// True when the conclusion means the gate did not pass.
    pub fn is_failing(&self) -> bool {
        matches!(self.conclusion.as_str(), "failure" | "timed_out")
    }
}

/// Who wrote a comment, as GitHub classifies the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorType {
    User,
    Bot,
    Organization,
    Other(String),
}

impl AuthorType {
    fn parse(s: &str) -> Self {
        match s {
            "User" => Self::User,
            "Bot" => Self::Bot,
            "Organization" => Self::Organization,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// The author's relation to the repository, from `author_association`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorAssociation {
    Owner,
    Member,
    Collaborator,
    Contributor,
    FirstTimeContributor,
    FirstTimer,
    Mannequin,
    None,
    Other(String),
}

impl AuthorAssociation {
    fn parse(s: &str) -> Self {
        match s {
            "OWNER" => Self::Owner,
            "MEMBER" => Self::Member,
            "COLLABORATOR" => Self::Collaborator,
            "CONTRIBUTOR" => Self::Contributor,
            "FIRST_TIME_CONTRIBUTOR" => Self::FirstTimeContributor,
            "FIRST_TIMER" => Self::FirstTimer,
            "MANNEQUIN" => Self::Mannequin,
            "NONE" => Self::None,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Owners and collaborators have been granted access to the repository; org members may
    /// have it. A hint only: the collaborator permission API is the authority on write access.
    pub fn may_have_write(&self) -> bool {
        matches!(self, Self::Owner | Self::Member | Self::Collaborator)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueCommentCreated {
    pub installation_id: Option<u64>,
    pub repo: Repo,
    pub issue_number: u64,
    /// Comments on pull requests arrive as `issue_comment` with `issue.pull_request` set.
    pub is_pull_request: bool,
    pub comment_id: u64,
    /// Empty when GitHub sends a null body.
    pub body: String,
    pub author_login: String,
    pub author_type: AuthorType,
    pub author_association: AuthorAssociation,
    /// Set when the comment was made through a GitHub App (possibly ours).
    pub via_app_id: Option<u64>,
}

impl IssueCommentCreated {
    /// Bots (including Apps) never trigger commands.
    pub fn is_from_bot(&self) -> bool {
        self.author_type == AuthorType::Bot || self.author_login.ends_with("[bot]")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueCommentOther {
    pub action: String,
    pub installation_id: Option<u64>,
    pub repo_full_name: Option<String>,
    pub issue_number: Option<u64>,
    pub comment_id: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestEvent {
    pub action: String,
    pub installation_id: Option<u64>,
    pub repo: Repo,
    pub number: u64,
    pub state: String,
    pub merged: bool,
    pub draft: bool,
    pub head_sha: String,
    pub head_ref: String,
    pub base_sha: String,
    pub base_ref: String,
    /// `None` when the head repository was deleted.
    pub head_repo_full_name: Option<String>,
    /// True when the head is in another repository (fork) or that repository is gone.
    pub is_fork: bool,
    /// For `synchronize`: the head before the push.
    pub before: Option<String>,
    /// For `synchronize`: the head after the push.
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationEvent {
    pub action: String,
    pub id: u64,
    /// The user or organisation the App is installed on.
    pub account: Option<String>,
    pub repositories: Vec<InstallationRepo>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationRepositoriesEvent {
    pub action: String,
    pub id: u64,
    pub account: Option<String>,
    pub added: Vec<InstallationRepo>,
    pub removed: Vec<InstallationRepo>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    pub zen: String,
    pub hook_id: Option<u64>,
    pub app_id: Option<u64>,
}

/// Why a delivery could not be parsed. Every variant names the event.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("the X-GitHub-Event header is empty: GitHub names the event in it")]
    MissingEventName,
    #[error("the `{event}` payload is not valid JSON: {source}")]
    Json {
        event: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("the `{event}` payload is not a JSON object")]
    NotAnObject { event: String },
    #[error("the `{event}` payload lacks the field `{field}`")]
    MissingField { event: String, field: String },
    #[error("the `{event}` payload's field `{field}` is not {expected}")]
    WrongType {
        event: String,
        field: String,
        expected: &'static str,
    },
}

/// Parses a delivery given its `X-GitHub-Event` header and raw body.
pub fn parse_event(event_header: &str, body: &[u8]) -> Result<Event, EventError> {
    let event = event_header.trim();
    if event.is_empty() {
        return Err(EventError::MissingEventName);
    }
    let root: Value = prune::parse(body, &PAYLOAD).map_err(|source| EventError::Json {
        event: event.to_owned(),
        source,
    })?;
    parse_value(event, &root)
}

/// Parses a payload already read as JSON (all of it, or the pruned part).
fn parse_value(event: &str, root: &Value) -> Result<Event, EventError> {
    if !root.is_object() {
        return Err(EventError::NotAnObject {
            event: event.to_owned(),
        });
    }
    let node = Node::root(event, root);
    let action = node.key("action").opt_str()?;
    match (event, action.as_deref()) {
        ("check_run", Some("completed")) => {
            check_run_completed(&node).map(Event::CheckRunCompleted)
        }
        ("issue_comment", Some("created")) => {
            issue_comment_created(&node).map(Event::IssueCommentCreated)
        }
        ("issue_comment", Some(action)) => Ok(Event::IssueCommentOther(IssueCommentOther {
            action: action.to_owned(),
            installation_id: node.key("installation").key("id").opt_u64()?,
            repo_full_name: node.key("repository").key("full_name").opt_str()?,
            issue_number: node.key("issue").key("number").opt_u64()?,
            comment_id: node.key("comment").key("id").opt_u64()?,
        })),
        ("pull_request", Some(action)) => pull_request(&node, action).map(Event::PullRequest),
        ("installation", Some(action)) => installation(&node, action).map(Event::Installation),
        ("installation_repositories", Some(action)) => {
            installation_repositories(&node, action).map(Event::InstallationRepositories)
        }
        ("ping", _) => Ok(Event::Ping(Ping {
            zen: node.key("zen").opt_str()?.unwrap_or_default(),
            hook_id: node.key("hook_id").opt_u64()?,
            app_id: node.key("hook").key("app_id").opt_u64()?,
        })),
        _ => Ok(Event::Other {
            event: event.to_owned(),
            action,
        }),
    }
}

fn check_run_completed(node: &Node<'_>) -> Result<CheckRunCompleted, EventError> {
    let run = node.key("check_run");
    let pull_requests = run
        .key("pull_requests")
        .opt_items()?
        .iter()
        .map(check_run_pull_request)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CheckRunCompleted {
        installation_id: node.key("installation").key("id").opt_u64()?,
        repo: repo(&node.key("repository"))?,
        check_run_id: run.key("id").u64()?,
        check_name: run.key("name").str()?,
        conclusion: run.key("conclusion").str()?,
        head_sha: run.key("head_sha").str()?,
        head_branch: run.key("check_suite").key("head_branch").opt_str()?,
        app_id: run.key("app").key("id").opt_u64()?,
        pull_requests,
    })
}

fn check_run_pull_request(pr: &Node<'_>) -> Result<CheckRunPullRequest, EventError> {
    let head = pr.key("head");
    let base = pr.key("base");
    let head_repo_id = head.key("repo").key("id").opt_u64()?;
    let base_repo_id = base.key("repo").key("id").opt_u64()?;
    let head_repo_full_name = head
        .key("repo")
        .key("url")
        .opt_str()?
        .and_then(|url| full_name_from_api_url(&url));
    Ok(CheckRunPullRequest {
        number: pr.key("number").u64()?,
        head_sha: head.key("sha").str()?,
        head_ref: head.key("ref").str()?,
        base_sha: base.key("sha").str()?,
        base_ref: base.key("ref").str()?,
        head_repo_full_name,
        is_fork: head_repo_id.is_none() || head_repo_id != base_repo_id,
    })
}

/// `https://api.github.com/repos/OWNER/NAME` (or a GHES `/api/v3/repos/...`) to `OWNER/NAME`.
fn full_name_from_api_url(url: &str) -> Option<String> {
    let (_, tail) = url.rsplit_once("/repos/")?;
    let mut parts = tail.trim_end_matches('/').split('/');
    let owner = parts.next().filter(|s| !s.is_empty())?;
    let name = parts.next().filter(|s| !s.is_empty())?;
    parts.next().is_none().then(|| format!("{owner}/{name}"))
}

fn issue_comment_created(node: &Node<'_>) -> Result<IssueCommentCreated, EventError> {
    let comment = node.key("comment");
    let user = comment.key("user");
    Ok(IssueCommentCreated {
        installation_id: node.key("installation").key("id").opt_u64()?,
        repo: repo(&node.key("repository"))?,
        issue_number: node.key("issue").key("number").u64()?,
        is_pull_request: node.key("issue").key("pull_request").is_present(),
        comment_id: comment.key("id").u64()?,
        body: comment.key("body").opt_str()?.unwrap_or_default(),
        author_login: user.key("login").str()?,
        author_type: AuthorType::parse(&user.key("type").str()?),
        author_association: AuthorAssociation::parse(&comment.key("author_association").str()?),
        via_app_id: comment
            .key("performed_via_github_app")
            .key("id")
            .opt_u64()?,
    })
}

fn pull_request(node: &Node<'_>, action: &str) -> Result<PullRequestEvent, EventError> {
    let pr = node.key("pull_request");
    let head = pr.key("head");
    let base = pr.key("base");
    let head_repo_id = head.key("repo").key("id").opt_u64()?;
    let base_repo_id = base.key("repo").key("id").opt_u64()?;
    Ok(PullRequestEvent {
        action: action.to_owned(),
        installation_id: node.key("installation").key("id").opt_u64()?,
        repo: repo(&node.key("repository"))?,
        number: node
            .key("number")
            .opt_u64()?
            .map_or_else(|| pr.key("number").u64(), Ok)?,
        state: pr.key("state").str()?,
        merged: pr.key("merged").opt_bool()?.unwrap_or(false),
        draft: pr.key("draft").opt_bool()?.unwrap_or(false),
        head_sha: head.key("sha").str()?,
        head_ref: head.key("ref").str()?,
        base_sha: base.key("sha").str()?,
        base_ref: base.key("ref").str()?,
        head_repo_full_name: head.key("repo").key("full_name").opt_str()?,
        is_fork: head_repo_id.is_none() || head_repo_id != base_repo_id,
        before: node.key("before").opt_str()?,
        after: node.key("after").opt_str()?,
    })
}

fn installation(node: &Node<'_>, action: &str) -> Result<InstallationEvent, EventError> {
    let inst = node.key("installation");
    Ok(InstallationEvent {
        action: action.to_owned(),
        id: inst.key("id").u64()?,
        account: inst.key("account").key("login").opt_str()?,
        repositories: installation_repos(&node.key("repositories"))?,
    })
}

fn installation_repositories(
    node: &Node<'_>,
    action: &str,
) -> Result<InstallationRepositoriesEvent, EventError> {
    let inst = node.key("installation");
    Ok(InstallationRepositoriesEvent {
        action: action.to_owned(),
        id: inst.key("id").u64()?,
        account: inst.key("account").key("login").opt_str()?,
        added: installation_repos(&node.key("repositories_added"))?,
        removed: installation_repos(&node.key("repositories_removed"))?,
    })
}

fn installation_repos(list: &Node<'_>) -> Result<Vec<InstallationRepo>, EventError> {
    list.opt_items()?
        .iter()
        .map(|r| {
            Ok(InstallationRepo {
                id: r.key("id").u64()?,
                full_name: r.key("full_name").str()?,
                private: r.key("private").opt_bool()?.unwrap_or(false),
            })
        })
        .collect()
}

fn repo(node: &Node<'_>) -> Result<Repo, EventError> {
    let full_name = node.key("full_name").str()?;
    let name = node.key("name").str()?;
    // `owner.login` is the reliable owner; fall back on the full name's first half.
    let owner = match node.key("owner").key("login").opt_str()? {
        Some(owner) => owner,
        None => full_name
            .split_once('/')
            .map(|(owner, _)| owner.to_owned())
            .ok_or_else(|| node.key("owner").key("login").missing())?,
    };
    Ok(Repo {
        id: node.key("id").u64()?,
        owner,
        name,
        full_name,
        default_branch: node.key("default_branch").str()?,
        clone_url: node.key("clone_url").str()?,
        private: node.key("private").opt_bool()?.unwrap_or(false),
    })
}

/// A position in the payload: the value there (if any) and its dotted path, for errors.
struct Node<'a> {
    event: &'a str,
    path: String,
    value: Option<&'a Value>,
}

impl<'a> Node<'a> {
    fn root(event: &'a str, value: &'a Value) -> Self {
        Self {
            event,
            path: String::new(),
            value: Some(value),
        }
    }

    fn key(&self, key: &str) -> Node<'a> {
        let path = if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        };
        Node {
            event: self.event,
            path,
            value: self.value.and_then(|v| v.get(key)),
        }
    }

    /// Present and not null.
    fn is_present(&self) -> bool {
        self.value.is_some_and(|v| !v.is_null())
    }

    /// The value, with null treated as absent.
    fn non_null(&self) -> Option<&'a Value> {
        self.value.filter(|v| !v.is_null())
    }

    fn missing(&self) -> EventError {
        EventError::MissingField {
            event: self.event.to_owned(),
            field: self.path.clone(),
        }
    }

    fn wrong(&self, expected: &'static str) -> EventError {
        EventError::WrongType {
            event: self.event.to_owned(),
            field: self.path.clone(),
            expected,
        }
    }

    fn opt_str(&self) -> Result<Option<String>, EventError> {
        match self.non_null() {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.wrong("a string")),
        }
    }

    fn str(&self) -> Result<String, EventError> {
        self.opt_str()?.ok_or_else(|| self.missing())
    }

    fn opt_u64(&self) -> Result<Option<u64>, EventError> {
        match self.non_null() {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.wrong("a non-negative integer")),
        }
    }

    fn u64(&self) -> Result<u64, EventError> {
        self.opt_u64()?.ok_or_else(|| self.missing())
    }

    fn opt_bool(&self) -> Result<Option<bool>, EventError> {
        match self.non_null() {
            None => Ok(None),
            Some(v) => v.as_bool().map(Some).ok_or_else(|| self.wrong("a boolean")),
        }
    }

    /// The items of an array; absent or null reads as empty.
    fn opt_items(&self) -> Result<Vec<Node<'a>>, EventError> {
        match self.non_null() {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, value)| Node {
                    event: self.event,
                    path: format!("{}[{i}]", self.path),
                    value: Some(value),
                })
                .collect()),
            Some(_) => Err(self.wrong("an array")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pruning schema must keep every field the parsers read: parsing the pruned payload
    /// gives the same event as parsing all of it, for every real payload.
    #[test]
    fn pruning_keeps_every_field_the_parsers_read() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/payloads");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            let event = name.split('.').next().unwrap();
            let body = std::fs::read(&path).unwrap();
            let full: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                parse_event(event, &body).unwrap(),
                parse_value(event, &full).unwrap(),
                "{name}"
            );
            seen += 1;
        }
        assert!(seen >= 24);
    }

    #[test]
    fn api_urls_give_full_names() {
        assert_eq!(
            full_name_from_api_url("https://api.github.com/repos/Codertocat/Hello-World"),
            Some("Codertocat/Hello-World".to_owned())
        );
        assert_eq!(
            full_name_from_api_url("https://ghe.example/api/v3/repos/o/r/"),
            Some("o/r".to_owned())
        );
        assert_eq!(
            full_name_from_api_url("https://api.github.com/repos/o"),
            None
        );
        assert_eq!(
            full_name_from_api_url("https://api.github.com/repos/o/r/pulls"),
            None
        );
        assert_eq!(full_name_from_api_url("nonsense"), None);
    }

    #[test]
    fn empty_event_name_is_an_error() {
        assert!(matches!(
            parse_event(" ", b"{}"),
            Err(EventError::MissingEventName)
        ));
    }

    #[test]
    fn malformed_json_names_the_event() {
        let err = parse_event("check_run", b"{\"action\":").unwrap_err();
        assert!(matches!(err, EventError::Json { .. }));
        assert!(err.to_string().contains("`check_run`"), "{err}");
        let err = parse_event("ping", b"[1,2]").unwrap_err();
        assert!(matches!(err, EventError::NotAnObject { .. }), "{err}");
    }

    #[test]
    fn unknown_events_are_other_not_errors() {
        let event = parse_event("star", br#"{"action":"created"}"#).unwrap();
        assert_eq!(
            event,
            Event::Other {
                event: "star".into(),
                action: Some("created".into())
            }
        );
        let event = parse_event("check_run", br#"{"action":"created"}"#).unwrap();
        assert!(matches!(event, Event::Other { .. }));
    }

    #[test]
    fn wrong_types_are_named() {
        let err = parse_event("check_run", br#"{"action": 7}"#).unwrap_err();
        match err {
            EventError::WrongType { event, field, .. } => {
                assert_eq!(event, "check_run");
                assert_eq!(field, "action");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
