//! Service settings: from the environment (12-factor), each also settable by a flag. Every
//! missing or invalid setting is reported at once, in one message, before anything starts.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use secrecy::SecretString;

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
}

#[derive(Debug, Clone)]
pub struct GitHubSettings {
    pub app_id: u64,
    pub private_key_pem: SecretString,
    pub webhook_secrets: Vec<SecretString>,
    pub api_url: String,
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
        })
    }

    fn github_settings(&self, role: Role, problems: &mut Vec<String>) -> Option<GitHubSettings> {
        let before = problems.len();
        let app_id = match self.github_app_id.as_deref().map(str::trim) {
            None | Some("") => {
                problems.push(
                    "GITHUB_APP_ID is not set: the App's numeric ID from its settings page"
                        .to_string(),
                );
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
        let key = match (&self.github_private_key, &self.github_private_key_path) {
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
                problems.push(
                    "neither GITHUB_PRIVATE_KEY_PATH nor GITHUB_PRIVATE_KEY is set: give the App's private key (PEM)".to_string(),
                );
                None
            }
        };
        if let Some(pem) = &key
            && (!pem.contains("-----BEGIN") || !pem.contains("PRIVATE KEY-----"))
        {
            problems.push("the GitHub App private key is not a PEM private key (expected -----BEGIN RSA PRIVATE KEY-----)".to_string());
        }
        let secrets: Vec<SecretString> = self
            .github_webhook_secret
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| SecretString::from(s.to_string()))
            .collect();
        if role == Role::Serve && secrets.is_empty() {
            problems.push("GITHUB_WEBHOOK_SECRET is not set: the webhook secret of the App (comma-separated for rotation)".to_string());
        }
        if !(self.github_api_url.starts_with("https://")
            || self.github_api_url.starts_with("http://"))
        {
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
}
