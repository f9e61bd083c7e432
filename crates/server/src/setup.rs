//! Setup mode: registering the GitHub App from a browser with GitHub's manifest flow.
//!
//! `perf-fixer serve` with `PERF_FIXER_SETUP=1` needs no App settings and serves only this:
//!
//! 1. `GET /setup` shows a form that posts the manifest (`deploy/github-app.yml` with this
//!    server's URLs) to GitHub, with a random `state` kept here for an hour;
//! 2. the user confirms on GitHub, which registers the App and sends the browser to
//!    `GET /setup/callback?code=...&state=...`;
//! 3. the callback checks and uses up the state, trades the code for the App's ID, private key
//!    and webhook secret (`POST /app-manifests/{code}/conversions`), writes them to
//!    `PERF_FIXER_APP_ENV_FILE` (and the key beside it, both 0600, never over an existing
//!    file), and tells the user to restart without `PERF_FIXER_SETUP` and install the App.
//!
//! Webhooks answer 503 meanwhile. The key and the secret are never logged or shown.

mod conversion;
mod manifest;
mod states;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use octocrab::Octocrab;
use serde::Deserialize;
use serde_json::json;

pub use conversion::{ConversionError, NewApp};
pub use manifest::{ManifestError, manifest};
pub use states::{DEFAULT_TTL, StateCheck, States};

use crate::app_env;
use crate::pages::{esc, html_document};
use crate::service::ServiceError;
use crate::settings::SetupSettings;

/// What the setup routes share.
#[derive(Clone)]
pub struct SetupState {
    inner: Arc<Inner>,
}

struct Inner {
    settings: SetupSettings,
    /// The manifest JSON, built once at start-up (a broken manifest stops start-up).
    manifest: String,
    states: States,
    github: Octocrab,
}

impl SetupState {
    /// Needs a Tokio runtime (the GitHub client starts a background task).
    pub fn new(settings: SetupSettings, state_ttl: Duration) -> Result<Self, ServiceError> {
        let manifest = manifest(&settings.public_url)
            .map_err(|e| ServiceError::Settings(e.to_string()))?
            .to_string();
        let github =
            conversion::client(&settings.github_api_url).map_err(ServiceError::Settings)?;
        Ok(SetupState {
            inner: Arc::new(Inner {
                settings,
                manifest,
                states: States::new(state_ttl),
                github,
            }),
        })
    }
}

/// The routes of setup mode; everything else is 404.
pub fn router(state: SetupState) -> Router {
    Router::new()
        .route("/setup", get(setup_page))
        .route("/setup/callback", get(callback))
        .route("/webhooks/github", post(webhook))
        .route("/healthz", get(|| async { "ok\n" }))
        // Ready, so that a load balancer routes the browser to /setup.
        .route(
            "/readyz",
            get(|| async { "ready (setup mode: open /setup)\n" }),
        )
        .with_state(state)
}

/// `perf-fixer serve` in setup mode, until `shutdown` resolves.
pub async fn serve(
    settings: SetupSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let listen = settings.listen;
    let public_url = settings.public_url.clone();
    let env_file = settings.app_env_file.clone();
    let state = SetupState::new(settings, DEFAULT_TTL)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| ServiceError::Bind {
            addr: listen,
            source,
        })?;
    tracing::warn!(
        %listen,
        setup_url = %format!("{public_url}/setup"),
        app_env_file = %env_file.display(),
        "perf-fixer is in setup mode: no GitHub App yet, webhooks are refused; open the setup URL to register the App"
    );
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServiceError::Serve)
}

async fn webhook(State(state): State<SetupState>) -> Response {
    let message = format!(
        "perf-fixer is in setup mode: no GitHub App is configured yet. Register it at {}/setup, then restart without PERF_FIXER_SETUP",
        state.inner.settings.public_url
    );
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(json!({ "outcome": "setup_mode", "message": message })),
    )
        .into_response()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;max-width:48rem;line-height:1.5}\
code{background:#f3f3f3;padding:0 .2rem}.error{color:#cf222e}";

/// A page that is never cached, framed or followed by a referrer (the callback URL holds the
/// code).
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = html_document(title, STYLE, body);
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action https: http:; frame-ancestors 'none'"),
    );
    response
}

fn error_page(status: StatusCode, title: &str, message_html: &str) -> Response {
    page(
        status,
        title,
        &format!(
            "<h1 class=\"error\">{}</h1><p>{message_html}</p><p><a href=\"/setup\">Back to setup</a></p>",
            esc(title)
        ),
    )
}

/// When the App settings were already written, a second App is not registered over them.
fn already_configured(path: &std::path::Path) -> Response {
    error_page(
        StatusCode::CONFLICT,
        "The App settings already exist",
        &format!(
            "<code>{}</code> exists, and perf-fixer never overwrites it. To use it, restart perf-fixer without <code>PERF_FIXER_SETUP</code>. To register another App, move it and its <code>.pem</code> away (or set <code>PERF_FIXER_APP_ENV_FILE</code> to another path) and reload this page.",
            esc(&path.display().to_string())
        ),
    )
}

#[derive(Debug, Deserialize)]
struct SetupQuery {
    org: Option<String>,
}

/// GitHub logins: letters, digits and single hyphens, at most 39 characters.
fn valid_login(login: &str) -> bool {
    !login.is_empty()
        && login.len() <= 39
        && login.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !login.starts_with('-')
}

async fn setup_page(State(state): State<SetupState>, Query(query): Query<SetupQuery>) -> Response {
    let settings = &state.inner.settings;
    if let Some(existing) = app_env::existing(&settings.app_env_file) {
        return already_configured(&existing);
    }
    let org = query
        .org
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty());
    if let Some(org) = org
        && !valid_login(org)
    {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Not an organisation name",
            "An organisation's login has only letters, digits and hyphens.",
        );
    }
    let target = match org {
        Some(org) => format!(
            "{}/organizations/{org}/settings/apps/new",
            settings.github_web_url
        ),
        None => format!("{}/settings/apps/new", settings.github_web_url),
    };
    let owner = org.map_or_else(
        || "your personal account".to_owned(),
        |o| format!("the organisation <strong>{}</strong>", esc(o)),
    );
    let state_value = state.inner.states.issue();
    let body = format!(
        concat!(
            "<h1>Register the perf-fixer GitHub App</h1>",
            "<p>GitHub will create the App under {owner}, with the permissions and events of ",
            "<code>deploy/github-app.yml</code>, its webhook at <code>{hook}</code>, and send you ",
            "back here. perf-fixer then writes the App's ID, webhook secret and private key to ",
            "<code>{file}</code>.</p>",
            "<form method=\"post\" action=\"{action}\">",
            "<input type=\"hidden\" name=\"manifest\" value=\"{manifest}\">",
            "<button type=\"submit\">Register on GitHub</button></form>",
            "<h2>Under an organisation</h2>",
            "<form method=\"get\" action=\"/setup\"><label>Organisation login ",
            "<input name=\"org\" value=\"{org}\" pattern=\"[A-Za-z0-9-]+\"></label> ",
            "<button type=\"submit\">Use this organisation</button></form>",
            "<p>Leave it empty for your personal account. The form above is good for one hour.</p>",
        ),
        owner = owner,
        hook = esc(&format!("{}/webhooks/github", settings.public_url)),
        file = esc(&settings.app_env_file.display().to_string()),
        action = esc(&format!("{target}?state={state_value}")),
        manifest = esc(&state.inner.manifest),
        org = esc(org.unwrap_or("")),
    );
    page(StatusCode::OK, "perf-fixer setup", &body)
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
}

async fn callback(State(state): State<SetupState>, Query(query): Query<CallbackQuery>) -> Response {
    let inner = &state.inner;
    let (Some(code), Some(state_value)) = (query.code.as_deref(), query.state.as_deref()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Missing code or state",
            "GitHub sends the browser here with <code>code</code> and <code>state</code>. Start again from /setup.",
        );
    };
    match inner.states.check(state_value) {
        StateCheck::Valid => {}
        StateCheck::Expired => {
            tracing::warn!("setup callback refused: expired state");
            return error_page(
                StatusCode::BAD_REQUEST,
                "This setup link has expired",
                "The form is good for one hour. Start again from /setup (an App GitHub registered meanwhile can be deleted in its settings).",
            );
        }
        StateCheck::Unknown => {
            tracing::warn!("setup callback refused: unknown or used state");
            return error_page(
                StatusCode::BAD_REQUEST,
                "Unknown or already used setup link",
                "This link was not issued by this server's /setup page, was already used, or the server restarted since. Start again from /setup.",
            );
        }
    }
    if !conversion::code_is_well_formed(code) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Malformed code",
            "The <code>code</code> GitHub sends is letters, digits, <code>-</code> and <code>_</code>.",
        );
    }
    let env_file = inner.settings.app_env_file.clone();
    // Before the state is used: moving the file away and reloading this page then works.
    if let Some(existing) = app_env::existing(&env_file) {
        return already_configured(&existing);
    }
    if !inner.states.take(state_value) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Unknown or already used setup link",
            "This link was used meanwhile. Start again from /setup.",
        );
    }
    let app = match conversion::convert(&inner.github, &inner.settings.github_api_url, code).await {
        Ok(app) => app,
        Err(err) => {
            tracing::warn!(error = %err, "setup: GitHub did not convert the manifest code");
            return error_page(
                StatusCode::BAD_GATEWAY,
                "GitHub did not hand over the App's settings",
                &format!(
                    "{}. A code is good for one hour and one use. If GitHub registered the App, delete it in its settings (Developer settings → GitHub Apps) and start again from /setup, or generate its private key and webhook secret there and set them by hand.",
                    esc(&err.to_string())
                ),
            );
        }
    };
    written_page(&app, &env_file)
}

fn written_page(app: &NewApp, env_file: &std::path::Path) -> Response {
    let comment = format!(
        "GitHub App {} (ID {}, {}) registered by perf-fixer /setup on {}",
        app.name,
        app.id,
        app.html_url,
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    let settings = app_env::NewAppSettings {
        app_id: app.id,
        private_key_pem: &app.pem,
        webhook_secret: &app.webhook_secret,
        comment: &comment,
    };
    let key_file: PathBuf = match app_env::write(env_file, &settings) {
        Ok(path) => path,
        Err(err) => {
            tracing::error!(app_id = app.id, error = %err, "setup: the App settings could not be written");
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The App was registered, but its settings could not be written",
                &format!(
                    "{}. The private key is kept nowhere else: on <a href=\"{url}\">the App's page</a> → App settings, generate a new private key and a new webhook secret, and set <code>GITHUB_APP_ID={id}</code>, <code>GITHUB_PRIVATE_KEY_PATH</code> and <code>GITHUB_WEBHOOK_SECRET</code> by hand.",
                    esc(&err.to_string()),
                    url = esc(&app.html_url),
                    id = app.id,
                ),
            );
        }
    };
    tracing::info!(
        app_id = app.id,
        app_slug = %app.slug,
        app_env_file = %env_file.display(),
        key_file = %key_file.display(),
        "setup: GitHub App registered and its settings written"
    );
    let install = format!("{}/installations/new", app.html_url);
    let body = format!(
        concat!(
            "<h1>The GitHub App {name} is registered</h1>",
            "<p>App ID <strong>{id}</strong>{owner}.</p>",
            "<p>perf-fixer wrote (mode 0600, readable by its own user only):</p><ul>",
            "<li><code>{env}</code>: <code>GITHUB_APP_ID</code>, <code>GITHUB_WEBHOOK_SECRET</code> ",
            "and <code>GITHUB_PRIVATE_KEY_PATH</code></li>",
            "<li><code>{key}</code>: the App's private key</li></ul>",
            "<h2>Next</h2><ol>",
            "<li>Restart perf-fixer without <code>PERF_FIXER_SETUP</code>: <code>serve</code> and ",
            "<code>worker</code> read the settings they are not given from <code>{env}</code> ",
            "(<code>PERF_FIXER_APP_ENV_FILE</code>). Workers on other hosts or containers need the ",
            "same values: copy both files (in a container, before it is recreated).</li>",
            "<li><a href=\"{install}\">Install the App</a> on the repositories it should watch.</li>",
            "</ol>",
        ),
        name = esc(&app.name),
        id = app.id,
        owner = app
            .owner
            .as_deref()
            .map(|o| format!(", owned by {}", esc(o)))
            .unwrap_or_default(),
        env = esc(&env_file.display().to_string()),
        key = esc(&key_file.display().to_string()),
        install = esc(&install),
    );
    page(StatusCode::OK, "perf-fixer App registered", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins() {
        assert!(valid_login("acme-corp"));
        for bad in ["", "-acme", "a/b", "a b", "a\"", &"a".repeat(40)] {
            assert!(!valid_login(bad), "{bad}");
        }
    }
}
