//! Service settings: from the environment (12-factor), each also settable by a flag. Every
//! missing or invalid setting is reported at once, in one message, before anything starts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use secrecy::SecretString;

use crate::app_env::AppEnv;
use crate::worker::DEFAULT_DELIVERY_RETENTION;

/// The raw settings as given; validated by [`ServiceArgs::validate`].
#[derive(Debug, Clone, Default, Args)]
pub struct ServiceArgs {
    /// Postgres connection URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Address the HTTP server listens on.
    #[arg(long, env = "PERF_FIXER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The GitHub App's numeric ID.
    #[arg(long, env = "GITHUB_APP_ID")]
    pub github_app_id: Option<String>,
    /// Path of the App's private key (PEM).
    #[arg(long, env = "GITHUB_PRIVATE_KEY_PATH")]
    pub github_private_key_path: Option<PathBuf>,
    /// The App's private key itself (PEM), instead of a path.
    #[arg(long, env = "GITHUB_PRIVATE_KEY", hide_env_values = true)]
    pub github_private_key: Option<String>,
    /// Webhook secret; a comma-separated list accepts any of them (rotation).
    #[arg(long, env = "GITHUB_WEBHOOK_SECRET", hide_env_values = true)]
    pub github_webhook_secret: Option<String>,
    /// GitHub's REST API root.
    #[arg(long, env = "GITHUB_API_URL", default_value = "https://api.github.com")]
    pub github_api_url: String,
    /// Clone and build cache.
    #[arg(long, env = "PERF_FIXER_WORKDIR")]
    pub workdir: Option<PathBuf>,
    /// Check-run names whose failure queues a fix (comma-separated).
    #[arg(long, env = "PERF_FIXER_GATE_CHECKS", default_value = "gate:perf")]
    pub gate_checks: String,
    /// Public base URL of this service, for links in PR bodies.
    #[arg(long, env = "PERF_FIXER_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// In-process workers (`serve`) or workers of this process (`worker`).
    #[arg(long, env = "PERF_FIXER_WORKERS", default_value = "1")]
    pub workers: String,
    /// Sandbox for repository commands: bwrap, or none (unsafe).
    #[arg(long, env = "PERF_FIXER_SANDBOX", default_value = "bwrap")]
    pub sandbox: String,
    /// Days webhook deliveries are kept to recognise redeliveries (default 7; GitHub
    /// redelivers deliveries of the past 3 days). Workers prune older ones.
    #[arg(long, env = "PERF_FIXER_DELIVERY_RETENTION_DAYS")]
    pub delivery_retention_days: Option<String>,
    /// Setup mode (`serve` only): no App yet; serve only /setup, which registers one on GitHub
    /// and writes its settings to PERF_FIXER_APP_ENV_FILE. Needs PERF_FIXER_PUBLIC_URL.
    #[arg(
        long,
        env = "PERF_FIXER_SETUP",
        value_parser = clap::builder::BoolishValueParser::new(),
        default_value = "false",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub setup: bool,
    /// The App settings file: /setup writes it; serve and worker read the App settings left
    /// unset from it. Default: $XDG_CONFIG_HOME/perf-fixer/app.env (~/.config/...).
    #[arg(long, env = "PERF_FIXER_APP_ENV_FILE")]
    pub app_env_file: Option<PathBuf>,
    /// GitHub's web root, where /setup sends the App manifest (GitHub Enterprise: https://HOST).
    #[arg(long, env = "GITHUB_WEB_URL", default_value = "https://github.com")]
    pub github_web_url: String,
}

/// What a process is started for decides which settings it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// HTTP server (and in-process workers when `workers > 0`).
    Serve,
    /// Workers only.
    Worker,
    /// Database migrations only.
    Migrate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sandbox {
    Bwrap,
    None,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: SecretString,
    pub listen: SocketAddr,
    pub github: Option<GitHubSettings>,
    pub workdir: PathBuf,
    pub gate_checks: Vec<String>,
    pub public_url: Option<String>,
    pub workers: usize,
    pub sandbox: Sandbox,
    /// How long deliveries are kept for duplicate detection.
    pub delivery_retention: Duration,
}

#[derive(Debug, Clone)]
pub struct GitHubSettings {
    pub app_id: u64,
    pub private_key_pem: SecretString,
    pub webhook_secrets: Vec<SecretString>,
    pub api_url: String,
}

/// Validated settings of setup mode ([`ServiceArgs::validate_setup`]).
#[derive(Debug, Clone)]
pub struct SetupSettings {
    pub listen: SocketAddr,
    /// Without a trailing slash.
    pub public_url: String,
    pub github_web_url: String,
    pub github_api_url: String,
    pub app_env_file: PathBuf,
}

/// Every problem found, one per line, each naming the variable and what to do.
#[derive(Debug, thiserror::Error)]
#[error("invalid settings:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct SettingsError {
    pub problems: Vec<String>,
}

impl ServiceArgs {
    pub fn validate(&self, role: Role) -> Result<Settings, SettingsError> {
        let mut problems = Vec::new();
        let mut need = |present: bool, message: &str| {
            if !present {
                problems.push(message.to_string());
            }
        };
        let database_url = self.database_url.clone().filter(|u| !u.trim().is_empty());
        need(
            database_url.is_some(),
            "DATABASE_URL is not set: give the Postgres URL, e.g. postgres://user@host:5432/perf_fixer",
        );
        if let Some(url) = &database_url {
            need(
                url.starts_with("postgres://") || url.starts_with("postgresql://"),
                "DATABASE_URL must start with postgres:// or postgresql://",
            );
        }

        let listen = self.listen.parse::<SocketAddr>();
        if listen.is_err() {
            problems.push(format!(
                "PERF_FIXER_LISTEN='{}' is not an address like 127.0.0.1:8080",
                self.listen
            ));
        }
        let workers = self.workers.trim().parse::<usize>();
        if !matches!(workers, Ok(n) if n <= 64) {
            problems.push(format!(
                "PERF_FIXER_WORKERS='{}' must be a whole number from 0 to 64",
                self.workers
            ));
        }
        let delivery_retention = self.delivery_retention(&mut problems);
        let sandbox = match self.sandbox.as_str() {
            "bwrap" => Sandbox::Bwrap,
            "none" => Sandbox::None,
            other => {
                problems.push(format!(
                    "PERF_FIXER_SANDBOX='{other}' must be bwrap or none"
                ));
                Sandbox::Bwrap
            }
        };
        if let Some(url) = &self.public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            problems.push(format!(
                "PERF_FIXER_PUBLIC_URL='{url}' must be an http(s) URL"
            ));
        }
        let gate_checks: Vec<String> = self
            .gate_checks
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if gate_checks.is_empty() {
            problems.push(
                "PERF_FIXER_GATE_CHECKS is empty: name at least one check, e.g. gate:perf"
                    .to_string(),
            );
        }

        let github = if role == Role::Migrate {
            None
        } else {
            self.github_settings(role, &mut problems)
        };

        if !problems.is_empty() {
            return Err(SettingsError { problems });
        }
        let (Some(database_url), Ok(listen), Ok(workers)) = (database_url, listen, workers) else {
            return Err(SettingsError {
                problems: vec!["internal: settings checked but not usable".to_string()],
            });
        };
        Ok(Settings {
            database_url: SecretString::from(database_url),
            listen,
            github,
            workdir: self.workdir.clone().unwrap_or_else(default_workdir),
            gate_checks,
            public_url: self
                .public_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string()),
            workers,
            sandbox,
            delivery_retention,
        })
    }

    fn delivery_retention(&self, problems: &mut Vec<String>) -> Duration {
        let Some(text) = self
            .delivery_retention_days
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            return DEFAULT_DELIVERY_RETENTION;
        };
        match text.parse::<u64>() {
            Ok(days @ 1..=3650) => Duration::from_secs(days * 24 * 3600),
            _ => {
                problems.push(format!(
                    "PERF_FIXER_DELIVERY_RETENTION_DAYS='{text}' must be a whole number of days from 1 to 3650 (GitHub redelivers deliveries of the past 3 days; default 7)"
                ));
                DEFAULT_DELIVERY_RETENTION
            }
        }
    }

    /// `app_env_file` set to its default when not given (the command line does this; tests
    /// leave it unset so that no file of the machine is read).
    pub fn with_default_app_env_file(mut self) -> Self {
        if self.app_env_file.is_none() {
            self.app_env_file = Some(default_app_env_file());
        }
        self
    }

    /// Setup mode needs only where to listen, the public URL GitHub sends the browser back to,
    /// GitHub's URLs and where to write the App settings; no database and no App yet.
    pub fn validate_setup(&self) -> Result<SetupSettings, SettingsError> {
        let mut problems = Vec::new();
        let listen = self.listen.parse::<SocketAddr>();
        if listen.is_err() {
            problems.push(format!(
                "PERF_FIXER_LISTEN='{}' is not an address like 127.0.0.1:8080",
                self.listen
            ));
        }
        let public_url = self
            .public_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        match public_url {
            None => problems.push(
                "PERF_FIXER_PUBLIC_URL is not set: setup mode (PERF_FIXER_SETUP) needs the public https URL GitHub reaches this server at, e.g. https://perf-fixer.example.com".to_string(),
            ),
            Some(url) if !is_http_url(url) || url.contains(['?', '#']) => problems.push(format!(
                "PERF_FIXER_PUBLIC_URL='{url}' must be an http(s) URL without query or fragment"
            )),
            Some(_) => {}
        }
        for (name, url) in [
            ("GITHUB_WEB_URL", &self.github_web_url),
            ("GITHUB_API_URL", &self.github_api_url),
        ] {
            if !is_http_url(url) {
                problems.push(format!("{name}='{url}' must be an http(s) URL"));
            }
        }
        if self.app_env_file.is_none() {
            problems.push(
                "PERF_FIXER_APP_ENV_FILE is not set: the file /setup writes the App settings to"
                    .to_string(),
            );
        }
        let (Ok(listen), Some(public_url), Some(app_env_file), true) = (
            listen,
            public_url,
            self.app_env_file.clone(),
            problems.is_empty(),
        ) else {
            return Err(SettingsError { problems });
        };
        Ok(SetupSettings {
            listen,
            public_url: public_url.trim_end_matches('/').to_string(),
            github_web_url: self.github_web_url.trim_end_matches('/').to_string(),
            github_api_url: self.github_api_url.trim_end_matches('/').to_string(),
            app_env_file,
        })
    }

    /// The App settings file, when one is configured and exists.
    fn app_env(&self, problems: &mut Vec<String>) -> Option<(AppEnv, String)> {
        let path = self.app_env_file.as_deref()?;
        match crate::app_env::read(path) {
            Ok(Some(env)) => Some((env, format!(" (nor in {})", path.display()))),
            Ok(None) => None,
            Err(message) => {
                problems.push(format!("PERF_FIXER_APP_ENV_FILE={message}"));
                None
            }
        }
    }

    fn github_settings(&self, role: Role, problems: &mut Vec<String>) -> Option<GitHubSettings> {
        let before = problems.len();
        // The environment and flags win over the file /setup wrote.
        let (file, nor_in_file) = self.app_env(problems).unwrap_or_default();
        let app_id_text = self
            .github_app_id
            .clone()
            .filter(|t| !t.trim().is_empty())
            .or(file.app_id);
        let app_id = match app_id_text.as_deref().map(str::trim) {
            None | Some("") => {
                problems.push(format!(
                    "GITHUB_APP_ID is not set{nor_in_file}: the App's numeric ID from its settings page, or register an App with PERF_FIXER_SETUP=1"
                ));
                None
            }
            Some(text) => match text.parse::<u64>() {
                Ok(id) if id > 0 => Some(id),
                _ => {
                    problems.push(format!("GITHUB_APP_ID='{text}' must be a positive number"));
                    None
                }
            },
        };
        let key_path = self
            .github_private_key_path
            .clone()
            .or(file.private_key_path);
        let key = match (&self.github_private_key, &key_path) {
            (Some(pem), _) if !pem.trim().is_empty() => Some(pem.clone()),
            (_, Some(path)) => match std::fs::read_to_string(path) {
                Ok(pem) => Some(pem),
                Err(e) => {
                    problems.push(format!(
                        "GITHUB_PRIVATE_KEY_PATH={}: cannot read it ({e})",
                        path.display()
                    ));
                    None
                }
            },
            _ => {
                problems.push(format!(
                    "neither GITHUB_PRIVATE_KEY_PATH nor GITHUB_PRIVATE_KEY is set{nor_in_file}: give the App's private key (PEM)"
                ));
                None
            }
        };
        if let Some(pem) = &key
            && (!pem.contains("-----BEGIN") || !pem.contains("PRIVATE KEY-----"))
        {
            problems.push("the GitHub App private key is not a PEM private key (expected -----BEGIN RSA PRIVATE KEY-----)".to_string());
        }
        let secret_text = self
            .github_webhook_secret
            .clone()
            .filter(|t| !t.trim().is_empty())
            .or(file.webhook_secret);
        let secrets: Vec<SecretString> = secret_text
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| SecretString::from(s.to_string()))
            .collect();
        if role == Role::Serve && secrets.is_empty() {
            problems.push(format!("GITHUB_WEBHOOK_SECRET is not set{nor_in_file}: the webhook secret of the App (comma-separated for rotation)"));
        }
        if !is_http_url(&self.github_api_url) {
            problems.push(format!(
                "GITHUB_API_URL='{}' must be an http(s) URL",
                self.github_api_url
            ));
        }
        if problems.len() > before {
            return None;
        }
        Some(GitHubSettings {
            app_id: app_id?,
            private_key_pem: SecretString::from(key?),
            webhook_secrets: secrets,
            api_url: self.github_api_url.trim_end_matches('/').to_string(),
        })
    }
}

fn is_http_url(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

/// `$XDG_CONFIG_HOME/perf-fixer/app.env`, else `~/.config/perf-fixer/app.env`: settings, not
/// cache, so not under the work directory.
pub fn default_app_env_file() -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("perf-fixer")
        .join("app.env")
}

fn default_workdir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("perf-fixer")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const PEM: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n";

    fn complete() -> ServiceArgs {
        ServiceArgs {
            database_url: Some("postgres://postgres@127.0.0.1/db".into()),
            listen: "127.0.0.1:8080".into(),
            github_app_id: Some("42".into()),
            github_private_key: Some(PEM.into()),
            github_webhook_secret: Some("old, new".into()),
            github_api_url: "https://api.github.com/".into(),
            gate_checks: "gate:perf, bench".into(),
            workers: "2".into(),
            sandbox: "bwrap".into(),
            ..ServiceArgs::default()
        }
    }

    #[test]
    fn complete_settings_validate() {
        let s = complete().validate(Role::Serve).unwrap();
        let gh = s.github.unwrap();
        assert_eq!(gh.app_id, 42);
        assert_eq!(gh.webhook_secrets.len(), 2);
        assert_eq!(gh.webhook_secrets[1].expose_secret(), "new");
        assert_eq!(gh.api_url, "https://api.github.com");
        assert_eq!(s.gate_checks, vec!["gate:perf", "bench"]);
        assert_eq!(s.workers, 2);
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let args = ServiceArgs {
            listen: "nowhere".into(),
            workers: "many".into(),
            sandbox: "docker".into(),
            gate_checks: "gate:perf".into(),
            github_api_url: "https://api.github.com".into(),
            ..ServiceArgs::default()
        };
        let err = args.validate(Role::Serve).unwrap_err();
        let text = err.to_string();
        for name in [
            "DATABASE_URL",
            "PERF_FIXER_LISTEN",
            "PERF_FIXER_WORKERS",
            "PERF_FIXER_SANDBOX",
            "GITHUB_APP_ID",
            "GITHUB_PRIVATE_KEY_PATH",
            "GITHUB_WEBHOOK_SECRET",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
        assert_eq!(err.problems.len(), 7, "{text}");
    }

    #[test]
    fn migrate_needs_only_the_database() {
        let args = ServiceArgs {
            database_url: Some("postgres://x@y/z".into()),
            listen: "127.0.0.1:1".into(),
            workers: "1".into(),
            sandbox: "bwrap".into(),
            gate_checks: "gate:perf".into(),
            github_api_url: "https://api.github.com".into(),
            ..ServiceArgs::default()
        };
        assert!(args.validate(Role::Migrate).is_ok());
        assert!(args.validate(Role::Worker).is_err());
    }

    #[test]
    fn worker_does_not_need_the_webhook_secret_but_needs_a_real_key() {
        let mut args = complete();
        args.github_webhook_secret = None;
        assert!(args.validate(Role::Worker).is_ok());
        args.github_private_key = Some("not a key".into());
        let text = args.validate(Role::Worker).unwrap_err().to_string();
        assert!(text.contains("not a PEM private key"), "{text}");
        assert!(
            !text.contains("not a key"),
            "the key text itself is never echoed: {text}"
        );
    }

    #[test]
    fn delivery_retention_defaults_to_a_week_and_takes_days() {
        let mut args = complete();
        let s = args.validate(Role::Worker).unwrap();
        assert_eq!(s.delivery_retention, Duration::from_secs(7 * 86_400));
        args.delivery_retention_days = Some(" 30 ".into());
        let s = args.validate(Role::Worker).unwrap();
        assert_eq!(s.delivery_retention, Duration::from_secs(30 * 86_400));
        for bad in ["0", "-1", "1.5", "week", "99999"] {
            args.delivery_retention_days = Some(bad.into());
            let text = args.validate(Role::Worker).unwrap_err().to_string();
            assert!(
                text.contains(&format!("PERF_FIXER_DELIVERY_RETENTION_DAYS='{bad}'")),
                "{text}"
            );
        }
    }

    #[test]
    fn unreadable_key_path_names_the_path() {
        let mut args = complete();
        args.github_private_key = None;
        args.github_private_key_path = Some("/nonexistent/key.pem".into());
        let text = args.validate(Role::Serve).unwrap_err().to_string();
        assert!(
            text.contains("GITHUB_PRIVATE_KEY_PATH=/nonexistent/key.pem"),
            "{text}"
        );
    }

    fn setup_args() -> ServiceArgs {
        ServiceArgs {
            listen: "0.0.0.0:8080".into(),
            public_url: Some("https://pf.example.org/".into()),
            github_web_url: "https://github.com".into(),
            github_api_url: "https://api.github.com".into(),
            app_env_file: Some("/etc/perf-fixer/app.env".into()),
            setup: true,
            ..ServiceArgs::default()
        }
    }

    #[test]
    fn setup_mode_needs_no_database_and_no_app() {
        let s = setup_args().validate_setup().unwrap();
        assert_eq!(s.public_url, "https://pf.example.org");
        assert_eq!(s.app_env_file, PathBuf::from("/etc/perf-fixer/app.env"));
        assert_eq!(s.github_web_url, "https://github.com");
    }

    #[test]
    fn setup_mode_lists_every_problem_at_once() {
        let args = ServiceArgs {
            listen: "nowhere".into(),
            public_url: None,
            github_web_url: "github.com".into(),
            app_env_file: None,
            ..setup_args()
        };
        let err = args.validate_setup().unwrap_err();
        let text = err.to_string();
        for name in [
            "PERF_FIXER_LISTEN",
            "PERF_FIXER_PUBLIC_URL",
            "GITHUB_WEB_URL",
            "PERF_FIXER_APP_ENV_FILE",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
        assert_eq!(err.problems.len(), 4, "{text}");
        let args = ServiceArgs {
            public_url: Some("https://pf.example.org/?x=1".into()),
            ..setup_args()
        };
        assert!(args.validate_setup().is_err());
    }

    #[test]
    fn setup_mode_is_a_flag_that_takes_an_optional_boolean() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            service: ServiceArgs,
        }
        use clap::Parser as _;
        let parse = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("perf-fixer").chain(args.iter().copied()))
                .unwrap()
                .service
                .setup
        };
        assert!(!parse(&[]));
        assert!(parse(&["--setup"]));
        assert!(parse(&["--setup=1"]));
        assert!(parse(&["--setup=true"]));
        assert!(!parse(&["--setup=0"]));
        assert!(!parse(&["--setup=false"]));
    }

    fn written_app_env(dir: &std::path::Path) -> PathBuf {
        let env = dir.join("app.env");
        crate::app_env::write(
            &env,
            &crate::app_env::NewAppSettings {
                app_id: 4242,
                private_key_pem: &SecretString::from(PEM),
                webhook_secret: &SecretString::from("from-file"),
                comment: "test",
            },
        )
        .unwrap();
        env
    }

    #[test]
    fn serve_reads_the_app_settings_setup_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let args = ServiceArgs {
            github_app_id: None,
            github_private_key: None,
            github_webhook_secret: None,
            app_env_file: Some(written_app_env(dir.path())),
            ..complete()
        };
        let gh = args.validate(Role::Serve).unwrap().github.unwrap();
        assert_eq!(gh.app_id, 4242);
        assert_eq!(gh.private_key_pem.expose_secret(), PEM);
        assert_eq!(gh.webhook_secrets.len(), 1);
        assert_eq!(gh.webhook_secrets[0].expose_secret(), "from-file");
    }

    #[test]
    fn the_environment_wins_over_the_app_env_file() {
        let dir = tempfile::tempdir().unwrap();
        let args = ServiceArgs {
            app_env_file: Some(written_app_env(dir.path())),
            ..complete()
        };
        let gh = args.validate(Role::Serve).unwrap().github.unwrap();
        assert_eq!(gh.app_id, 42);
        assert_eq!(gh.webhook_secrets[1].expose_secret(), "new");
    }

    #[test]
    fn a_missing_setting_names_the_app_env_file_it_was_looked_for_in() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("app.env");
        std::fs::write(&env, "# empty\n").unwrap();
        let args = ServiceArgs {
            github_app_id: None,
            app_env_file: Some(env.clone()),
            ..complete()
        };
        let text = args.validate(Role::Serve).unwrap_err().to_string();
        assert!(
            text.contains(&format!(
                "GITHUB_APP_ID is not set (nor in {})",
                env.display()
            )),
            "{text}"
        );
        std::fs::write(&env, "no equals sign\n").unwrap();
        let text = args.validate(Role::Serve).unwrap_err().to_string();
        assert!(text.contains("PERF_FIXER_APP_ENV_FILE="), "{text}");
        assert!(text.contains("app.env:1"), "{text}");
    }
}
