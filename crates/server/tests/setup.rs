//! Setup mode through the real router, with GitHub's manifest conversion on wiremock: the form,
//! the state check (unknown, expired, replayed), the files written (contents and 0600), errors
//! that write nothing, and the key and secret kept out of pages and logs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use perf_fixer_server::settings::SetupSettings;
use perf_fixer_server::setup::{DEFAULT_TTL, SetupState, router};
use serde_json::{Value, json};
use tower::ServiceExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PEM: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAtestkeymaterial\n-----END RSA PRIVATE KEY-----\n";
const WEBHOOK_SECRET: &str = "6f1ed002ab5595859014ebf0951522d9";
const CLIENT_SECRET: &str = "client-secret-1234567890";

fn settings(dir: &Path, api: &str) -> SetupSettings {
    SetupSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: "https://pf.example.org".to_owned(),
        github_web_url: "https://github.example".to_owned(),
        github_api_url: api.to_owned(),
        app_env_file: dir.join("conf").join("app.env"),
    }
}

fn conversion_body() -> Value {
    json!({
        "id": 424242,
        "slug": "perf-fixer-acme",
        "node_id": "A_kwDOAAA",
        "owner": { "login": "acme", "type": "Organization" },
        "name": "perf-fixer (acme)",
        "html_url": "https://github.example/apps/perf-fixer-acme",
        "client_id": "Iv23liXXXX",
        "client_secret": CLIENT_SECRET,
        "webhook_secret": WEBHOOK_SECRET,
        "pem": PEM,
        "permissions": { "checks": "write" },
        "events": ["check_run"]
    })
}

struct Page {
    status: StatusCode,
    html: String,
    headers: axum::http::HeaderMap,
}

async fn get(state: &SetupState, uri: &str) -> Page {
    let response = router(state.clone())
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Page {
        status,
        html: String::from_utf8(bytes.to_vec()).unwrap(),
        headers,
    }
}

/// The form's action and the manifest it posts, from `GET /setup`.
async fn form(state: &SetupState, uri: &str) -> (String, Value) {
    let page = get(state, uri).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let action = between(&page.html, "<form method=\"post\" action=\"", "\"");
    let manifest = between(&page.html, "name=\"manifest\" value=\"", "\"");
    let manifest = manifest
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    (action, serde_json::from_str(&manifest).unwrap())
}

fn between(text: &str, start: &str, end: &str) -> String {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {text}"))
        + start.len();
    let to = text[from..].find(end).unwrap() + from;
    text[from..to].to_owned()
}

fn state_of(action: &str) -> String {
    action.split_once("?state=").unwrap().1.to_owned()
}

async fn conversion_mock(server: &MockServer, code: &str, response: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path(format!("/app-manifests/{code}/conversions")))
        .respond_with(response)
        .expect(times)
        .mount(server)
        .await;
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let conf = dir.join("conf");
    if !conf.exists() {
        return Vec::new();
    }
    std::fs::read_dir(conf)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

/// A writer into memory for a JSON subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for Captured {
    type Writer = Captured;
    fn make_writer(&'w self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn the_callback_writes_the_app_settings_once_and_shows_no_secret() {
    let logs = Captured::default();
    let _log_guard = tracing::subscriber::set_default(perf_fixer_server::logging::json_subscriber(
        tracing_subscriber::EnvFilter::new("trace"),
        logs.clone(),
    ));
    let github = MockServer::start().await;
    conversion_mock(
        &github,
        "code-1",
        ResponseTemplate::new(201).set_body_json(conversion_body()),
        1,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let state = SetupState::new(settings(dir.path(), &github.uri()), DEFAULT_TTL).unwrap();

    let (action, manifest) = form(&state, "/setup").await;
    assert!(
        action.starts_with("https://github.example/settings/apps/new?state="),
        "{action}"
    );
    assert_eq!(
        manifest["redirect_url"],
        "https://pf.example.org/setup/callback"
    );
    assert_eq!(
        manifest["hook_attributes"]["url"],
        "https://pf.example.org/webhooks/github"
    );
    assert_eq!(manifest["default_permissions"]["pull_requests"], "write");
    let state_value = state_of(&action);

    let page = get(
        &state,
        &format!("/setup/callback?code=code-1&state={state_value}"),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(page.html.contains("424242"), "{}", page.html);
    assert!(
        page.html
            .contains("https://github.example/apps/perf-fixer-acme/installations/new"),
        "{}",
        page.html
    );
    assert!(page.html.contains("PERF_FIXER_SETUP"), "{}", page.html);
    for secret in [PEM.lines().nth(1).unwrap(), WEBHOOK_SECRET, CLIENT_SECRET] {
        assert!(!page.html.contains(secret), "page shows a secret");
    }

    let env_path = dir.path().join("conf/app.env");
    let key_path = dir.path().join("conf/app.pem");
    let env = std::fs::read_to_string(&env_path).unwrap();
    let lines: Vec<&str> = env.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        lines,
        [
            "GITHUB_APP_ID=424242".to_owned(),
            format!("GITHUB_PRIVATE_KEY_PATH={}", key_path.display()),
            format!("GITHUB_WEBHOOK_SECRET={WEBHOOK_SECRET}"),
        ]
    );
    assert!(!env.contains(CLIENT_SECRET), "the OAuth secret is not kept");
    assert_eq!(std::fs::read_to_string(&key_path).unwrap(), PEM);
    assert!(page.html.contains(&env_path.display().to_string()));
    {
        use std::os::unix::fs::PermissionsExt;
        for file in [&env_path, &key_path] {
            let mode = std::fs::metadata(file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", file.display());
        }
    }

    // The same link again: the state is used up; GitHub is not asked twice (expect(1)).
    let replay = get(
        &state,
        &format!("/setup/callback?code=code-1&state={state_value}"),
    )
    .await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.html);
    assert_eq!(
        std::fs::read_to_string(&env_path).unwrap(),
        env,
        "unchanged"
    );

    // Now that the settings exist, /setup refuses to register another App over them.
    let again = get(&state, "/setup").await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.html.contains("never overwrites"), "{}", again.html);

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("GitHub App registered"),
        "the success is logged: {logs}"
    );
    for secret in [PEM.lines().nth(1).unwrap(), WEBHOOK_SECRET, CLIENT_SECRET] {
        assert!(!logs.contains(secret), "a secret is in the logs");
    }
    github.verify().await;
}

#[tokio::test]
async fn an_unknown_state_is_refused_before_github_is_asked() {
    let github = MockServer::start().await;
    conversion_mock(
        &github,
        "code-1",
        ResponseTemplate::new(201).set_body_json(conversion_body()),
        0,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let state = SetupState::new(settings(dir.path(), &github.uri()), DEFAULT_TTL).unwrap();
    let _issued = form(&state, "/setup").await;
    for uri in [
        "/setup/callback?code=code-1&state=forged",
        "/setup/callback?code=code-1",
        "/setup/callback?state=x",
    ] {
        let page = get(&state, uri).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{uri}: {}", page.html);
    }
    assert!(files(dir.path()).is_empty());
    github.verify().await;
}

#[tokio::test]
async fn an_expired_state_is_refused_and_nothing_is_written() {
    let github = MockServer::start().await;
    conversion_mock(
        &github,
        "code-1",
        ResponseTemplate::new(201).set_body_json(conversion_body()),
        0,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let state = SetupState::new(settings(dir.path(), &github.uri()), Duration::ZERO).unwrap();
    let (action, _) = form(&state, "/setup").await;
    let page = get(
        &state,
        &format!("/setup/callback?code=code-1&state={}", state_of(&action)),
    )
    .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.html.contains("expired"), "{}", page.html);
    assert!(files(dir.path()).is_empty());
    github.verify().await;
}

#[tokio::test]
async fn a_github_failure_gives_a_clear_page_and_writes_nothing() {
    let github = MockServer::start().await;
    conversion_mock(
        &github,
        "stale",
        ResponseTemplate::new(404).set_body_json(json!({
            "message": "Not Found",
            "documentation_url": "https://docs.github.com/rest/apps/apps#create-a-github-app-from-a-manifest"
        })),
        1,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let state = SetupState::new(settings(dir.path(), &github.uri()), DEFAULT_TTL).unwrap();
    let (action, _) = form(&state, "/setup").await;
    let uri = format!("/setup/callback?code=stale&state={}", state_of(&action));
    let page = get(&state, &uri).await;
    assert_eq!(page.status, StatusCode::BAD_GATEWAY, "{}", page.html);
    assert!(
        page.html.contains("GitHub answered 404: Not Found"),
        "{}",
        page.html
    );
    assert!(files(dir.path()).is_empty());
    // The state went with the attempt: the same link is not tried again.
    assert_eq!(get(&state, &uri).await.status, StatusCode::BAD_REQUEST);
    github.verify().await;
}

#[tokio::test]
async fn an_existing_settings_file_is_kept_and_the_link_still_works_once_it_is_moved() {
    let github = MockServer::start().await;
    conversion_mock(
        &github,
        "code-1",
        ResponseTemplate::new(201).set_body_json(conversion_body()),
        1,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let state = SetupState::new(settings(dir.path(), &github.uri()), DEFAULT_TTL).unwrap();
    let (action, _) = form(&state, "/setup").await;
    let env_path = dir.path().join("conf/app.env");
    std::fs::create_dir_all(env_path.parent().unwrap()).unwrap();
    std::fs::write(&env_path, "GITHUB_APP_ID=1\n").unwrap();

    let uri = format!("/setup/callback?code=code-1&state={}", state_of(&action));
    let page = get(&state, &uri).await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.html);
    assert!(
        page.html.contains(&env_path.display().to_string()),
        "{}",
        page.html
    );
    assert_eq!(
        std::fs::read_to_string(&env_path).unwrap(),
        "GITHUB_APP_ID=1\n"
    );

    std::fs::rename(&env_path, dir.path().join("old.env")).unwrap();
    let page = get(&state, &uri).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        std::fs::read_to_string(&env_path)
            .unwrap()
            .contains("GITHUB_APP_ID=424242")
    );
    github.verify().await;
}

#[tokio::test]
async fn an_organisation_gets_its_own_registration_url() {
    let dir = tempfile::tempdir().unwrap();
    let state = SetupState::new(settings(dir.path(), "http://127.0.0.1:9"), DEFAULT_TTL).unwrap();
    let (action, _) = form(&state, "/setup?org=acme-corp").await;
    assert!(
        action
            .starts_with("https://github.example/organizations/acme-corp/settings/apps/new?state="),
        "{action}"
    );
    let page = get(&state, "/setup?org=acme%2F..%2Fx").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn in_setup_mode_webhooks_are_refused_with_a_pointer_to_setup() {
    let dir = tempfile::tempdir().unwrap();
    let state = SetupState::new(settings(dir.path(), "http://127.0.0.1:9"), DEFAULT_TTL).unwrap();
    let response = router(state.clone())
        .oneshot(
            Request::post("/webhooks/github")
                .header("x-github-event", "ping")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = serde_json::from_slice(
        &axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("https://pf.example.org/setup"),
        "{body}"
    );
    assert_eq!(get(&state, "/healthz").await.status, StatusCode::OK);
    assert_eq!(get(&state, "/readyz").await.status, StatusCode::OK);
    assert_eq!(get(&state, "/jobs").await.status, StatusCode::NOT_FOUND);
}
