//! The App client end to end against the stateful fake GitHub (feature `testing`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use http::Method;
use perf_fixer_github::testing::{APP_BOT_LOGIN, FakeGitHub};
use perf_fixer_github::{
    AppCredentials, CheckConclusion, CheckRunState, CheckStatus, GitHub, GitHubError,
    InstallationClient, Permission, Reaction, RetryPolicy, job_marker,
};
use secrecy::ExposeSecret;

const REPO: &str = "octo/hello";
const INSTALLATION: u64 = 77;

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(5),
    }
}

async fn setup() -> (FakeGitHub, GitHub, InstallationClient) {
    let fake = FakeGitHub::start().await;
    fake.add_repo(REPO, "main");
    let github = GitHub::new(&fake.credentials(), &fake.uri())
        .unwrap()
        .with_retry(fast_retry());
    let client = github.installation(INSTALLATION).unwrap();
    (fake, github, client)
}

fn statuses(fake: &FakeGitHub, path_part: &str) -> Vec<u16> {
    fake.requests()
        .into_iter()
        .filter(|r| r.path.contains(path_part))
        .map(|r| r.status)
        .collect()
}

#[tokio::test]
async fn installation_token_is_minted_once_and_cached() {
    let (fake, github, client) = setup().await;
    assert_eq!(client.default_branch(REPO).await.unwrap(), "main");
    assert_eq!(client.default_branch(REPO).await.unwrap(), "main");
    // A second handle on the same installation shares the cache.
    let again = github.installation(INSTALLATION).unwrap();
    again.default_branch(REPO).await.unwrap();
    let token = github.installation_token(INSTALLATION).await.unwrap();
    assert!(token.expose_secret().starts_with("ghs_fake"));
    assert_eq!(fake.tokens_minted(), 1);
    // Another installation gets its own token.
    github.installation_token(INSTALLATION + 1).await.unwrap();
    assert_eq!(fake.tokens_minted(), 2);
}

#[tokio::test]
async fn a_jwt_signed_with_another_key_is_refused() {
    let (fake, _, _) = setup().await;
    let other = FakeGitHub::start().await;
    let stranger = AppCredentials::from_pem(fake.app_id(), other.private_key_pem()).unwrap();
    let github = GitHub::new(&stranger, &fake.uri())
        .unwrap()
        .with_retry(fast_retry());
    let err = github
        .installation(INSTALLATION)
        .unwrap()
        .default_branch(REPO)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    assert!(err.to_string().contains("get repository"), "{err}");
    assert_eq!(fake.tokens_minted(), 0);
    // Not retried: a 401 will not heal by waiting.
    assert_eq!(statuses(&fake, "access_tokens"), vec![401]);
}

#[tokio::test]
async fn collaborator_permissions() {
    let (fake, _, client) = setup().await;
    fake.set_permission(REPO, "alice", "admin");
    fake.set_permission(REPO, "bob", "maintain");
    fake.set_permission(REPO, "carol", "write");
    fake.set_permission(REPO, "dave", "triage");
    fake.set_permission(REPO, "erin", "read");
    let expect = [
        ("alice", Permission::Admin, true),
        ("bob", Permission::Maintain, true),
        ("carol", Permission::Write, true),
        ("dave", Permission::Triage, false),
        ("erin", Permission::Read, false),
        ("mallory", Permission::None, false),
    ];
    for (login, permission, write) in expect {
        let got = client.collaborator_permission(REPO, login).await.unwrap();
        assert_eq!(got, permission, "{login}");
        assert_eq!(got.has_write(), write, "{login}");
    }
}

#[tokio::test]
async fn files_at_a_ref() {
    let (fake, _, client) = setup().await;
    fake.put_file(
        REPO,
        "abc123",
        ".perf-fixer.toml",
        "[bench]\ncommand = \"x\"\n",
    );
    fake.put_file(REPO, "main", "benches/deep dir/a.rs", "fn main() {}");
    assert_eq!(
        client
            .get_file(REPO, ".perf-fixer.toml", "abc123")
            .await
            .unwrap()
            .as_deref(),
        Some("[bench]\ncommand = \"x\"\n")
    );
    assert_eq!(
        client
            .get_file(REPO, ".perf-fixer.toml", "main")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        client
            .get_file(REPO, "benches/deep dir/a.rs", "main")
            .await
            .unwrap()
            .as_deref(),
        Some("fn main() {}")
    );
}

#[tokio::test]
async fn pull_requests_are_found_before_being_opened() {
    let (fake, _, client) = setup().await;
    fake.add_pull(
        REPO,
        7,
        "feature",
        &"a".repeat(40),
        REPO,
        "main",
        &"b".repeat(40),
    );
    let pr = client.pull(REPO, 7).await.unwrap();
    assert_eq!(pr.head_ref, "feature");
    assert_eq!(pr.head_sha, "a".repeat(40));
    assert_eq!(pr.base_ref, "main");
    assert_eq!(pr.base_sha, "b".repeat(40));
    assert_eq!(pr.head_repo_full_name.as_deref(), Some(REPO));
    assert!(!pr.is_fork);

    let branch = "perf-fixer/job-1";
    assert_eq!(
        client.find_open_pr_by_head(REPO, branch).await.unwrap(),
        None
    );
    let created = client
        .create_pr(
            REPO,
            "perf: fix regression",
            branch,
            "feature",
            "| before | after |",
        )
        .await
        .unwrap();
    assert_eq!(created.number, 8);
    assert_eq!(created.head_ref, branch);
    assert_eq!(created.base_ref, "feature");
    let found = client.find_open_pr_by_head(REPO, branch).await.unwrap();
    assert_eq!(found, Some(created.clone()));

    // Opening it twice is GitHub's 422, surfaced with the call's name.
    let err = client
        .create_pr(REPO, "again", branch, "feature", "")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422));
    assert!(err.to_string().contains("create pull request"), "{err}");
    assert!(err.to_string().contains("Validation Failed"), "{err}");

    client
        .update_pr_body(REPO, created.number, "new body")
        .await
        .unwrap();
    let pulls = fake.pulls();
    assert_eq!(pulls.len(), 2);
    let ours = pulls.iter().find(|p| p.number == created.number).unwrap();
    assert_eq!(ours.body, "new body");
    assert_eq!(ours.title, "perf: fix regression");
}

#[tokio::test]
async fn fork_pull_requests_are_marked() {
    let (fake, _, client) = setup().await;
    fake.add_repo("someone/hello", "main");
    fake.add_pull(
        REPO,
        3,
        "patch",
        &"c".repeat(40),
        "someone/hello",
        "main",
        &"d".repeat(40),
    );
    let pr = client.pull(REPO, 3).await.unwrap();
    assert!(pr.is_fork);
    assert_eq!(pr.head_repo_full_name.as_deref(), Some("someone/hello"));
}

#[tokio::test]
async fn progress_comment_is_edited_in_place() {
    let (fake, _, client) = setup().await;
    let marker = job_marker(123);
    // Someone quoting the marker must not have their comment taken over.
    let quoted = fake.add_comment(REPO, 7, "mallory", "User", &format!("> {marker}"));
    let first = client
        .upsert_progress_comment(REPO, 7, &marker, "Queued")
        .await
        .unwrap();
    assert_ne!(first, quoted);
    let second = client
        .upsert_progress_comment(REPO, 7, &marker, "Measuring base and head")
        .await
        .unwrap();
    assert_eq!(first, second);
    let ours: Vec<_> = fake
        .comments()
        .into_iter()
        .filter(|c| c.author == APP_BOT_LOGIN)
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].edits, 1);
    assert!(ours[0].body.starts_with(&marker));
    assert!(ours[0].body.ends_with("Measuring base and head"));
    // Another job gets its own comment.
    let other = client
        .upsert_progress_comment(REPO, 7, &job_marker(124), "Queued")
        .await
        .unwrap();
    assert_ne!(other, first);
}

#[tokio::test]
async fn progress_comment_is_found_on_a_later_page() {
    let (fake, _, client) = setup().await;
    for i in 0..140 {
        fake.add_comment(REPO, 9, "other-bot[bot]", "Bot", &format!("noise {i}"));
    }
    let marker = job_marker(5);
    let existing = fake.add_comment(REPO, 9, APP_BOT_LOGIN, "Bot", &format!("{marker}\nold"));
    for i in 0..20 {
        fake.add_comment(REPO, 9, "someone", "User", &format!("chatter {i}"));
    }
    let id = client
        .upsert_progress_comment(REPO, 9, &marker, &format!("{marker}\nnew"))
        .await
        .unwrap();
    assert_eq!(id, existing);
    assert_eq!(fake.comments().len(), 161);
    let page_two = fake
        .requests()
        .iter()
        .any(|r| r.path.ends_with("/issues/9/comments") && r.status == 200);
    assert!(page_two);
    let comment = fake
        .comments()
        .into_iter()
        .find(|c| c.id == existing)
        .unwrap();
    assert_eq!(comment.body, format!("{marker}\nnew"));
}

#[tokio::test]
async fn comments_and_reactions() {
    let (fake, _, client) = setup().await;
    let command = fake.add_comment(REPO, 7, "alice", "User", "/perf-fix");
    client
        .add_reaction(REPO, command, Reaction::Eyes)
        .await
        .unwrap();
    client
        .add_reaction(REPO, command, Reaction::PlusOne)
        .await
        .unwrap();
    let contents: Vec<String> = fake.reactions().into_iter().map(|r| r.content).collect();
    assert_eq!(contents, vec!["eyes", "+1"]);
    let id = client
        .post_comment(
            REPO,
            7,
            "Sorry, only users with write access may run `/perf-fix`.",
        )
        .await
        .unwrap();
    let posted = fake.comments().into_iter().find(|c| c.id == id).unwrap();
    assert_eq!(posted.issue_number, 7);
    assert!(posted.body.contains("write access"));
    let err = client
        .add_reaction(REPO, 999_999, Reaction::Heart)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
}

#[tokio::test]
async fn check_runs_are_created_and_updated() {
    let (fake, _, client) = setup().await;
    let sha = "e".repeat(40);
    let id = client
        .create_check_run(
            REPO,
            &sha,
            "perf-fixer",
            &CheckRunState {
                status: CheckStatus::InProgress,
                conclusion: None,
                title: "Measuring".into(),
                summary: "Benchmarking base and head".into(),
                details_url: Some("https://perf-fixer.example/jobs/1".into()),
            },
        )
        .await
        .unwrap();
    client
        .update_check_run(
            REPO,
            id,
            &CheckRunState {
                status: CheckStatus::Completed,
                conclusion: Some(CheckConclusion::Success),
                title: "Fixed: 97% recovered".into(),
                summary: "| bench | before | after |".into(),
                details_url: None,
            },
        )
        .await
        .unwrap();
    let runs = fake.check_runs();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.id, id);
    assert_eq!(run.name, "perf-fixer");
    assert_eq!(run.head_sha, sha);
    assert_eq!(run.status, "completed");
    assert_eq!(run.conclusion.as_deref(), Some("success"));
    assert_eq!(run.title, "Fixed: 97% recovered");
    assert_eq!(run.summary, "| bench | before | after |");
    assert_eq!(
        run.details_url.as_deref(),
        Some("https://perf-fixer.example/jobs/1")
    );
    assert_eq!(run.updates, 1);
}

#[tokio::test]
async fn too_many_requests_waits_for_retry_after_then_succeeds() {
    let (fake, _, client) = setup().await;
    client.default_branch(REPO).await.unwrap(); // token minted
    fake.fail_next(
        Some(Method::POST),
        "/check-runs",
        429,
        &[("retry-after", "1")],
        1,
    );
    let started = Instant::now();
    let id = client
        .create_check_run(
            REPO,
            &"f".repeat(40),
            "perf-fixer",
            &CheckRunState {
                status: CheckStatus::Queued,
                conclusion: None,
                title: "Queued".into(),
                summary: String::new(),
                details_url: None,
            },
        )
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was not honoured ({:?})",
        started.elapsed()
    );
    assert_eq!(statuses(&fake, "/check-runs"), vec![429, 201]);
    assert_eq!(fake.check_runs()[0].id, id);
}

#[tokio::test]
async fn spent_rate_limit_waits_for_the_reset() {
    let (fake, _, client) = setup().await;
    client.default_branch(REPO).await.unwrap();
    let reset = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs())
    .to_string();
    fake.fail_next(
        None,
        "/pulls",
        403,
        &[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset),
        ],
        1,
    );
    let started = Instant::now();
    assert_eq!(client.find_open_pr_by_head(REPO, "x").await.unwrap(), None);
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(statuses(&fake, "/pulls"), vec![403, 200]);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let (fake, _, client) = setup().await;
    fake.fail_next(None, "/collaborators/", 502, &[], 2);
    fake.set_permission(REPO, "alice", "write");
    let permission = client.collaborator_permission(REPO, "alice").await.unwrap();
    assert_eq!(permission, Permission::Write);
    assert_eq!(statuses(&fake, "/collaborators/"), vec![502, 502, 200]);
}

#[tokio::test]
async fn retries_are_bounded_and_errors_hold_no_token() {
    let (fake, github, client) = setup().await;
    let token = github.installation_token(INSTALLATION).await.unwrap();
    fake.fail_next(None, "/issues/", 429, &[("retry-after", "0")], 100);
    let err = client.post_comment(REPO, 7, "hello").await.unwrap_err();
    match &err {
        GitHubError::RateLimited {
            call,
            status,
            attempts,
        } => {
            assert_eq!(*call, "create comment");
            assert_eq!(*status, 429);
            assert_eq!(*attempts, 4);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(statuses(&fake, "/issues/"), vec![429; 4]);
    let text = format!("{err} {err:?}");
    assert!(!text.contains(token.expose_secret()), "{text}");
    assert!(!text.contains("ghs_"), "{text}");
}

#[tokio::test]
async fn plain_forbidden_is_not_retried() {
    let (fake, _, client) = setup().await;
    fake.fail_next(None, "/pulls", 403, &[], 1);
    let err = client
        .create_pr(REPO, "t", "branch", "main", "")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(matches!(
        err,
        GitHubError::Api {
            call: "create pull request",
            ..
        }
    ));
    assert_eq!(statuses(&fake, "/pulls"), vec![403]);
}

#[tokio::test]
async fn unknown_repositories_and_bad_names() {
    let (_, _, client) = setup().await;
    let err = client.default_branch("octo/missing").await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    let err = client.default_branch("not-a-repo").await.unwrap_err();
    assert!(matches!(err, GitHubError::InvalidRepo { .. }));
    let err = client.default_branch("../../etc").await.unwrap_err();
    assert!(matches!(err, GitHubError::InvalidRepo { .. }));
}

#[tokio::test]
async fn unreachable_github_is_a_transport_error_after_retries() {
    let fake = FakeGitHub::start().await;
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let github = GitHub::new(&fake.credentials(), &url)
        .unwrap()
        .with_retry(fast_retry());
    let err = github
        .installation(1)
        .unwrap()
        .default_branch(REPO)
        .await
        .unwrap_err();
    assert!(matches!(err, GitHubError::Transport { .. }), "{err:?}");
}

#[tokio::test]
async fn credentials_and_clients_do_not_print_the_key() {
    let fake = FakeGitHub::start().await;
    let credentials = fake.credentials();
    let text = format!("{credentials:?}");
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    assert!(text.contains("4242"));
    let github = GitHub::new(&credentials, &fake.uri()).unwrap();
    assert!(!format!("{github:?}").contains("PRIVATE KEY"));
    assert!(GitHub::new(&credentials, "ftp://example").is_err());
    assert!(GitHub::new(&credentials, "not a url").is_err());
}

#[tokio::test]
async fn overlong_bodies_are_cut_to_what_github_accepts() {
    let (fake, _, client) = setup().await;
    let long = "x".repeat(80_000);
    let id = client.post_comment(REPO, 7, &long).await.unwrap();
    let posted = fake.comments().into_iter().find(|c| c.id == id).unwrap();
    assert!(posted.body.chars().count() <= 65_536);
    assert!(posted.body.ends_with("longer than GitHub allows)*"));
}
