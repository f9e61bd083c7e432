//! Parsing GitHub's published example payloads (tests/fixtures/payloads, copied from
//! octokit/webhooks payload-examples) into our `Event`s.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use perf_fixer_github::event::{
    AuthorAssociation, AuthorType, CheckRunCompleted, Event, EventError, parse_event,
};
use serde_json::{Value, json};

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/payloads")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(name)).unwrap()
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

/// The event name is the file name up to the first dot, as README.md says.
fn event_of(file: &str) -> &str {
    file.split('.').next().unwrap()
}

fn parse(name: &str) -> Event {
    parse_event(event_of(name), &fixture(name))
        .unwrap_or_else(|e| panic!("{name} failed to parse: {e}"))
}

#[test]
fn every_fixture_parses() {
    let mut count = 0;
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let event = parse(&name);
        let expected_kind = match (event_of(&name), name.split('.').nth(1)) {
            ("check_run", Some("completed")) => "check_run_completed",
            ("issue_comment", Some("created")) => "issue_comment_created",
            ("issue_comment", _) => "issue_comment_other",
            ("pull_request", _) => "pull_request",
            ("installation", _) => "installation",
            ("installation_repositories", _) => "installation_repositories",
            ("ping", _) => "ping",
            _ => "other",
        };
        let kind = match event {
            Event::CheckRunCompleted(_) => "check_run_completed",
            Event::IssueCommentCreated(_) => "issue_comment_created",
            Event::IssueCommentOther(_) => "issue_comment_other",
            Event::PullRequest(_) => "pull_request",
            Event::Installation(_) => "installation",
            Event::InstallationRepositories(_) => "installation_repositories",
            Event::Ping(_) => "ping",
            Event::Other { .. } => "other",
        };
        assert_eq!(kind, expected_kind, "{name}");
        count += 1;
    }
    assert!(count >= 24, "expected all fixtures, read {count}");
}

#[test]
fn check_run_completed_fields() {
    let Event::CheckRunCompleted(run) = parse("check_run.completed.json") else {
        panic!("not a completed check run")
    };
    assert_eq!(run.installation_id, None);
    assert_eq!(run.repo.full_name, "Codertocat/Hello-World");
    assert_eq!(run.repo.owner, "Codertocat");
    assert_eq!(run.repo.name, "Hello-World");
    assert_eq!(run.repo.id, 186853002);
    assert_eq!(run.repo.default_branch, "master");
    assert_eq!(
        run.repo.clone_url,
        "https://github.com/Codertocat/Hello-World.git"
    );
    assert_eq!(run.check_run_id, 128620228);
    assert_eq!(run.check_name, "Octocoders-linter");
    assert_eq!(run.conclusion, "success");
    assert!(!run.is_failing());
    assert_eq!(run.head_sha, "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
    assert_eq!(run.head_branch.as_deref(), Some("changes"));
    assert_eq!(run.app_id, Some(29310));
    assert_eq!(run.pull_requests.len(), 1);
    let pr = &run.pull_requests[0];
    assert_eq!(pr.number, 2);
    assert_eq!(pr.head_ref, "changes");
    assert_eq!(pr.head_sha, "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
    assert_eq!(pr.base_ref, "master");
    assert_eq!(pr.base_sha, "f95f852bd8fca8fcc58a9a2d6c842781e32a215e");
    assert_eq!(
        pr.head_repo_full_name.as_deref(),
        Some("Codertocat/Hello-World")
    );
    assert!(!pr.is_fork);
}

#[test]
fn check_run_variants() {
    for name in [
        "check_run.completed.1.json",
        "check_run.completed.with-organization.json",
    ] {
        let Event::CheckRunCompleted(run) = parse(name) else {
            panic!("{name}")
        };
        assert_eq!(run.repo.full_name, "Codertocat/Hello-World", "{name}");
    }
    // Not completed: acknowledged, not acted on.
    assert_eq!(
        parse("check_run.rerequested.json"),
        Event::Other {
            event: "check_run".into(),
            action: Some("rerequested".into())
        }
    );
}

/// What a failing `gate:perf` run looks like: the example with name, conclusion and SHA changed.
fn failing_gate() -> Value {
    let mut v = fixture_json("check_run.completed.json");
    v["check_run"]["name"] = json!("gate:perf");
    v["check_run"]["conclusion"] = json!("failure");
    v["check_run"]["head_sha"] = json!("1111111111111111111111111111111111111111");
    v["installation"] = json!({"id": 42, "node_id": "x"});
    v
}

#[test]
fn failing_gate_check_run() {
    let body = serde_json::to_vec(&failing_gate()).unwrap();
    let Event::CheckRunCompleted(run) = parse_event("check_run", &body).unwrap() else {
        panic!()
    };
    assert_eq!(
        run,
        CheckRunCompleted {
            installation_id: Some(42),
            check_name: "gate:perf".into(),
            conclusion: "failure".into(),
            head_sha: "1111111111111111111111111111111111111111".into(),
            ..run.clone()
        }
    );
    assert!(run.is_failing());
}

#[test]
fn check_run_on_a_branch_has_no_pull_requests() {
    let mut v = failing_gate();
    v["check_run"]["pull_requests"] = json!([]);
    v["check_run"]["check_suite"]["head_branch"] = json!("main");
    let Event::CheckRunCompleted(run) =
        parse_event("check_run", &serde_json::to_vec(&v).unwrap()).unwrap()
    else {
        panic!()
    };
    assert!(run.pull_requests.is_empty());
    assert_eq!(run.head_branch.as_deref(), Some("main"));
}

#[test]
fn check_run_from_a_fork_is_marked() {
    let mut v = failing_gate();
    v["check_run"]["pull_requests"][0]["head"]["repo"] = json!({
        "id": 999, "url": "https://api.github.com/repos/someone/Hello-World", "name": "Hello-World"
    });
    let Event::CheckRunCompleted(run) =
        parse_event("check_run", &serde_json::to_vec(&v).unwrap()).unwrap()
    else {
        panic!()
    };
    assert!(run.pull_requests[0].is_fork);
    assert_eq!(
        run.pull_requests[0].head_repo_full_name.as_deref(),
        Some("someone/Hello-World")
    );
}

#[test]
fn missing_fields_name_the_event_and_the_field() {
    let mut v = failing_gate();
    v["check_run"].as_object_mut().unwrap().remove("head_sha");
    let err = parse_event("check_run", &serde_json::to_vec(&v).unwrap()).unwrap_err();
    match &err {
        EventError::MissingField { event, field } => {
            assert_eq!(event, "check_run");
            assert_eq!(field, "check_run.head_sha");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("check_run.head_sha"), "{err}");

    let mut v = failing_gate();
    v["check_run"]["conclusion"] = Value::Null;
    let err = parse_event("check_run", &serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert!(
        matches!(&err, EventError::MissingField { field, .. } if field == "check_run.conclusion")
    );

    let mut v = failing_gate();
    v["check_run"]["pull_requests"][0]["head"]
        .as_object_mut()
        .unwrap()
        .remove("sha");
    let err = parse_event("check_run", &serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert!(
        matches!(&err, EventError::MissingField { field, .. } if field == "check_run.pull_requests[0].head.sha"),
        "{err}"
    );

    let mut v = failing_gate();
    v.as_object_mut().unwrap().remove("repository");
    let err = parse_event("check_run", &serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert!(
        matches!(&err, EventError::MissingField { field, .. } if field.starts_with("repository.")),
        "{err}"
    );

    let mut v = failing_gate();
    v["check_run"]["id"] = json!("not a number");
    let err = parse_event("check_run", &serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert!(
        matches!(&err, EventError::WrongType { field, .. } if field == "check_run.id"),
        "{err}"
    );
}

#[test]
fn issue_comment_created_fields() {
    let Event::IssueCommentCreated(c) = parse("issue_comment.created.with-installation.json")
    else {
        panic!()
    };
    assert_eq!(c.installation_id, Some(1));
    assert_eq!(c.repo.full_name, "Codertocat/Hello-World");
    assert_eq!(c.issue_number, 1);
    assert!(!c.is_pull_request);
    assert_eq!(c.comment_id, 492700400);
    assert_eq!(
        c.body,
        "You are totally right! I'll get this fixed right away."
    );
    assert_eq!(c.author_login, "Codertocat");
    assert_eq!(c.author_type, AuthorType::User);
    assert_eq!(c.author_association, AuthorAssociation::Owner);
    assert!(c.author_association.may_have_write());
    assert_eq!(c.via_app_id, None);
    assert!(!c.is_from_bot());

    for name in [
        "issue_comment.created.json",
        "issue_comment.created.1.json",
        "issue_comment.created.with-organization.json",
    ] {
        let Event::IssueCommentCreated(c) = parse(name) else {
            panic!("{name}")
        };
        assert_eq!(c.installation_id, None, "{name}");
    }
}

#[test]
fn issue_comment_on_a_pull_request_by_a_bot() {
    let mut v = fixture_json("issue_comment.created.with-installation.json");
    v["issue"]["pull_request"] =
        json!({"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"});
    v["comment"]["body"] = json!("/perf-fix");
    v["comment"]["user"]["login"] = json!("perf-fixer[bot]");
    v["comment"]["user"]["type"] = json!("Bot");
    v["comment"]["author_association"] = json!("NONE");
    v["comment"]["performed_via_github_app"] = json!({"id": 77, "slug": "perf-fixer"});
    let Event::IssueCommentCreated(c) =
        parse_event("issue_comment", &serde_json::to_vec(&v).unwrap()).unwrap()
    else {
        panic!()
    };
    assert!(c.is_pull_request);
    assert_eq!(c.body, "/perf-fix");
    assert!(c.is_from_bot());
    assert_eq!(c.author_type, AuthorType::Bot);
    assert_eq!(c.author_association, AuthorAssociation::None);
    assert!(!c.author_association.may_have_write());
    assert_eq!(c.via_app_id, Some(77));
}

#[test]
fn null_comment_body_reads_as_empty() {
    let mut v = fixture_json("issue_comment.created.json");
    v["comment"]["body"] = Value::Null;
    let Event::IssueCommentCreated(c) =
        parse_event("issue_comment", &serde_json::to_vec(&v).unwrap()).unwrap()
    else {
        panic!()
    };
    assert_eq!(c.body, "");
}

#[test]
fn issue_comment_edits_and_deletions_are_set_apart() {
    for (name, action) in [
        ("issue_comment.edited.json", "edited"),
        ("issue_comment.deleted.json", "deleted"),
    ] {
        let Event::IssueCommentOther(c) = parse(name) else {
            panic!("{name}")
        };
        assert_eq!(c.action, action);
        assert_eq!(c.comment_id, Some(492700400));
        assert_eq!(c.repo_full_name.as_deref(), Some("Codertocat/Hello-World"));
    }
}

#[test]
fn pull_request_events() {
    for (name, action) in [
        ("pull_request.opened.json", "opened"),
        ("pull_request.closed.json", "closed"),
        ("pull_request.reopened.json", "reopened"),
        ("pull_request.synchronize.json", "synchronize"),
    ] {
        let Event::PullRequest(pr) = parse(name) else {
            panic!("{name}")
        };
        assert_eq!(pr.action, action);
        assert_eq!(pr.installation_id, Some(1));
        assert_eq!(pr.number, 2);
        assert_eq!(pr.head_ref, "changes");
        assert_eq!(pr.head_sha, "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
        assert_eq!(pr.base_ref, "master");
        assert_eq!(pr.base_sha, "f95f852bd8fca8fcc58a9a2d6c842781e32a215e");
        assert_eq!(
            pr.head_repo_full_name.as_deref(),
            Some("Codertocat/Hello-World")
        );
        assert!(!pr.is_fork);
        assert!(!pr.merged);
    }
    let Event::PullRequest(pr) = parse("pull_request.synchronize.json") else {
        panic!()
    };
    assert_eq!(
        pr.before.as_deref(),
        Some("f95f852bd8fca8fcc58a9a2d6c842781e32a215e")
    );
    assert_eq!(
        pr.after.as_deref(),
        Some("ec26c3e57ca3a959ca5aad62de7213c562f8c821")
    );
    let Event::PullRequest(pr) = parse("pull_request.closed.json") else {
        panic!()
    };
    assert_eq!(pr.state, "closed");
}

#[test]
fn pull_request_from_a_deleted_fork() {
    let mut v = fixture_json("pull_request.opened.json");
    v["pull_request"]["head"]["repo"] = Value::Null;
    let Event::PullRequest(pr) =
        parse_event("pull_request", &serde_json::to_vec(&v).unwrap()).unwrap()
    else {
        panic!()
    };
    assert!(pr.is_fork);
    assert_eq!(pr.head_repo_full_name, None);
}

#[test]
fn installation_events() {
    let Event::Installation(i) = parse("installation.created.json") else {
        panic!()
    };
    assert_eq!(i.action, "created");
    assert_eq!(i.id, 957387);
    assert_eq!(i.account.as_deref(), Some("Codertocat"));
    assert_eq!(i.repositories.len(), 1);
    assert_eq!(i.repositories[0].full_name, "Codertocat/Hello-World");
    assert_eq!(i.repositories[0].id, 186853002);

    let Event::Installation(i) = parse("installation.deleted.json") else {
        panic!()
    };
    assert_eq!((i.action.as_str(), i.id), ("deleted", 2));

    let Event::InstallationRepositories(r) = parse("installation_repositories.added.json") else {
        panic!()
    };
    assert_eq!((r.action.as_str(), r.id), ("added", 957387));
    assert_eq!(r.added.len(), 1);
    assert_eq!(r.added[0].full_name, "Codertocat/Space");
    assert!(r.removed.is_empty());

    let Event::InstallationRepositories(r) = parse("installation_repositories.removed.json") else {
        panic!()
    };
    assert_eq!(r.removed[0].full_name, "octocat/Hello-World");
    assert!(r.added.is_empty());
    assert_eq!(
        Event::InstallationRepositories(r).installation_id(),
        Some(2)
    );
}

#[test]
fn ping_events() {
    let Event::Ping(p) = parse("ping.json") else {
        panic!()
    };
    assert_eq!(p.zen, "Anything added dilutes everything else.");
    assert_eq!(p.hook_id, Some(109948940));
    assert_eq!(p.app_id, None);
    let Event::Ping(p) = parse("ping.with-app_id.json") else {
        panic!()
    };
    assert_eq!(p.app_id, Some(29310));
}

#[test]
fn unhandled_events_are_other() {
    assert_eq!(
        parse("workflow_run.completed.json"),
        Event::Other {
            event: "workflow_run".into(),
            action: Some("completed".into())
        }
    );
    assert!(matches!(
        parse("check_suite.completed.json"),
        Event::Other { .. }
    ));
}

#[test]
fn truncated_real_payload_is_a_json_error() {
    let body = fixture("check_run.completed.json");
    let err = parse_event("check_run", &body[..body.len() / 2]).unwrap_err();
    assert!(matches!(err, EventError::Json { .. }), "{err}");
}
