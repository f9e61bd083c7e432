//! The App settings file that `/setup` writes and `serve`/`worker` read at start-up.
//!
//! It holds `KEY=value` lines that a shell (`set -a; . app.env`), systemd's `EnvironmentFile=`
//! and `docker run --env-file` all read the same way: the App ID, the webhook secret, and the
//! path of the private key, which lives in its own file beside it (a multi-line PEM has no
//! portable `KEY=value` form). Both files are created with mode 0600 and never overwritten.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

pub const APP_ID: &str = "GITHUB_APP_ID";
pub const PRIVATE_KEY_PATH: &str = "GITHUB_PRIVATE_KEY_PATH";
pub const WEBHOOK_SECRET: &str = "GITHUB_WEBHOOK_SECRET";

/// The App settings found in the file; each is `None` when the file does not set it.
#[derive(Debug, Default)]
pub struct AppEnv {
    pub app_id: Option<String>,
    pub private_key_path: Option<PathBuf>,
    pub webhook_secret: Option<String>,
}

/// Reads `path`; `Ok(None)` when it does not exist. Other keys are ignored, so the file may
/// carry comments and settings of its own. Errors name the file and line, never a value.
pub fn read(path: &Path) -> Result<Option<AppEnv>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: cannot read it ({e})", path.display())),
    };
    let mut env = AppEnv::default();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!(
                "{}:{}: expected KEY=value",
                path.display(),
                number + 1
            ));
        };
        let value = unquote(value.trim());
        match key.trim() {
            APP_ID => env.app_id = Some(value.to_owned()),
            PRIVATE_KEY_PATH => env.private_key_path = Some(PathBuf::from(value)),
            WEBHOOK_SECRET => env.webhook_secret = Some(value.to_owned()),
            _ => {}
        }
    }
    Ok(Some(env))
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(quote) && value.ends_with(quote) {
            return &value[1..value.len() - 1];
        }
    }
    value
}

/// The private key's file: `app.env` → `app.pem`, in the same directory.
pub fn key_path(env_path: &Path) -> PathBuf {
    env_path.with_extension("pem")
}

/// The first of the env file and its key file that already exists.
pub fn existing(env_path: &Path) -> Option<PathBuf> {
    [env_path.to_path_buf(), key_path(env_path)]
        .into_iter()
        .find(|p| p.exists())
}

/// What `/setup` writes: the App GitHub registered.
pub struct NewAppSettings<'a> {
    pub app_id: u64,
    pub private_key_pem: &'a SecretString,
    pub webhook_secret: &'a SecretString,
    /// First line of the file, a comment (which App, when).
    pub comment: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{} already exists; perf-fixer never overwrites it: move it away first", .0.display())]
    Exists(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("GitHub's {0} has characters an env file cannot hold unquoted")]
    Unsafe(&'static str),
}

/// Writes the key file, then the env file naming it, both 0600 and both new (an existing file
/// is an error, checked atomically). Returns the key file's path. On failure nothing is left.
pub fn write(env_path: &Path, app: &NewAppSettings<'_>) -> Result<PathBuf, WriteError> {
    let secret = app.webhook_secret.expose_secret();
    if secret.is_empty() || !secret.chars().all(is_plain) {
        return Err(WriteError::Unsafe("webhook secret"));
    }
    let key_path = key_path(env_path);
    let absolute_key = std::path::absolute(&key_path).map_err(|source| WriteError::Io {
        path: key_path.clone(),
        source,
    })?;
    let key_text = absolute_key.display().to_string();
    if !key_text.chars().all(is_plain) {
        return Err(WriteError::Unsafe("private key path"));
    }
    if let Some(parent) = env_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dir(parent)?;
    }
    let comment = app.comment.replace(['\n', '\r'], " ");
    let env_text = format!(
        "# {comment}\n{APP_ID}={}\n{PRIVATE_KEY_PATH}={key_text}\n{WEBHOOK_SECRET}={secret}\n",
        app.app_id
    );
    create_new_private(&key_path, app.private_key_pem.expose_secret().as_bytes())?;
    if let Err(err) = create_new_private(env_path, env_text.as_bytes()) {
        let _ = std::fs::remove_file(&key_path);
        return Err(err);
    }
    Ok(absolute_key)
}

/// Characters that need no quoting in a shell, systemd or docker env file.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_-.,/:@+%".contains(c)
}

fn create_private_dir(dir: &Path) -> Result<(), WriteError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| WriteError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

fn create_new_private(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let io = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(WriteError::Exists(path.to_path_buf()));
        }
        Err(e) => return Err(io(e)),
    };
    let written = file.write_all(contents).and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(io(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n";

    fn settings<'a>(pem: &'a SecretString, secret: &'a SecretString) -> NewAppSettings<'a> {
        NewAppSettings {
            app_id: 77,
            private_key_pem: pem,
            webhook_secret: secret,
            comment: "perf-fixer test\nsecond line",
        }
    }

    #[test]
    fn written_files_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("conf/app.env");
        let (pem, secret) = (SecretString::from(PEM), SecretString::from("abc123"));
        let key = write(&env, &settings(&pem, &secret)).unwrap();
        assert_eq!(key, dir.path().join("conf/app.pem"));
        assert_eq!(std::fs::read_to_string(&key).unwrap(), PEM);
        let text = std::fs::read_to_string(&env).unwrap();
        assert!(
            text.starts_with("# perf-fixer test second line\n"),
            "{text}"
        );
        let back = read(&env).unwrap().unwrap();
        assert_eq!(back.app_id.as_deref(), Some("77"));
        assert_eq!(back.webhook_secret.as_deref(), Some("abc123"));
        assert_eq!(back.private_key_path.as_deref(), Some(key.as_path()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for path in [&env, &key] {
                let mode = std::fs::metadata(path).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{}", path.display());
            }
        }
    }

    #[test]
    fn an_existing_file_is_never_overwritten_and_nothing_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("app.env");
        std::fs::write(&env, "GITHUB_APP_ID=1\n").unwrap();
        let (pem, secret) = (SecretString::from(PEM), SecretString::from("abc"));
        let err = write(&env, &settings(&pem, &secret)).unwrap_err();
        assert!(
            matches!(err, WriteError::Exists(ref p) if p == &env),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&env).unwrap(), "GITHUB_APP_ID=1\n");
        assert!(!key_path(&env).exists(), "the key file is removed again");
    }

    #[test]
    fn a_secret_that_needs_quoting_is_refused_without_echoing_it() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("app.env");
        let (pem, secret) = (SecretString::from(PEM), SecretString::from("a b'c"));
        let err = write(&env, &settings(&pem, &secret)).unwrap_err();
        assert!(!err.to_string().contains("a b'c"), "{err}");
        assert!(existing(&env).is_none());
    }

    #[test]
    fn reading_accepts_export_quotes_and_comments_and_names_a_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("app.env");
        std::fs::write(
            &env,
            "# c\n\nexport GITHUB_APP_ID=\"9\"\nGITHUB_WEBHOOK_SECRET='s'\nOTHER=x\n",
        )
        .unwrap();
        let back = read(&env).unwrap().unwrap();
        assert_eq!(back.app_id.as_deref(), Some("9"));
        assert_eq!(back.webhook_secret.as_deref(), Some("s"));
        assert!(back.private_key_path.is_none());
        std::fs::write(&env, "GITHUB_APP_ID=9\nsecret-without-key\n").unwrap();
        let err = read(&env).unwrap_err();
        assert!(err.ends_with("app.env:2: expected KEY=value"), "{err}");
        assert!(!err.contains("secret-without-key"), "{err}");
        assert!(read(&dir.path().join("absent.env")).unwrap().is_none());
    }
}
