//! What a repository command may see: the bubblewrap command line (mounts, namespaces) and the
//! environment, built from allow-lists. Nothing of the host is visible unless listed here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Size of the private `/tmp` of a sandboxed command (a tmpfs, so it counts as memory).
pub const SANDBOX_TMP_BYTES: u64 = 2 << 30;

/// `/etc` entries a Rust build needs (dynamic loader, users, `cc` alternatives, TLS roots and
/// name resolution for `cargo fetch`). Everything else of `/etc` (shadow, ssh keys, sudoers,
/// database configs) stays out.
const ETC_ALLOW: &[&str] = &[
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/resolv.conf",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/pki",
    "/etc/localtime",
    "/etc/protocols",
    "/etc/services",
];

/// Top-level system directories mounted read-only (or recreated as symlinks on merged-/usr
/// systems).
const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
];

/// Where the Rust toolchain lives on the host; mounted read-only at the same paths.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub cargo_home: PathBuf,
    pub rustup_home: Option<PathBuf>,
    /// `RUSTUP_TOOLCHAIN` of the worker, passed on when set.
    pub rustup_toolchain: Option<String>,
}

impl Toolchain {
    /// From the worker's environment (`CARGO_HOME`, `RUSTUP_HOME`, else `$HOME/.cargo`,
    /// `$HOME/.rustup`).
    pub fn from_env() -> Toolchain {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| "/root".into());
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".cargo"));
        let rustup_home = std::env::var_os("RUSTUP_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".rustup"));
        Toolchain {
            cargo_home,
            rustup_home: rustup_home.is_dir().then_some(rustup_home),
            rustup_toolchain: std::env::var("RUSTUP_TOOLCHAIN").ok(),
        }
    }

    /// The cargo cache directories that `cargo fetch` fills and builds read.
    pub fn cache_dirs(&self) -> [PathBuf; 2] {
        [
            self.cargo_home.join("registry"),
            self.cargo_home.join("git"),
        ]
    }

    fn path_var(&self) -> String {
        format!(
            "{}:/usr/local/bin:/usr/bin:/bin",
            self.cargo_home.join("bin").display()
        )
    }
}

/// Is `name` an environment variable that may carry a secret? Such names never reach a
/// repository command, whoever asks.
pub fn is_secret_env_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.starts_with("GITHUB_")
        || upper.starts_with("PERF_FIXER_")
        || upper.starts_with("AWS_")
        || upper == "DATABASE_URL"
        || [
            "TOKEN",
            "SECRET",
            "KEY",
            "PASS",
            "CREDENTIAL",
            "AUTH",
            "COOKIE",
            "SESSION",
        ]
        .iter()
        .any(|word| upper.contains(word))
}

/// A valid, portable environment variable name (letters, digits, `_`, not starting with a digit).
pub fn is_valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The environment of a repository command: a fixed base, then `extra` (already validated).
pub fn command_env(
    toolchain: &Toolchain,
    home: &Path,
    network: bool,
    extra: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert("PATH".into(), toolchain.path_var());
    env.insert("HOME".into(), home.display().to_string());
    env.insert("TMPDIR".into(), "/tmp".into());
    env.insert(
        "CARGO_HOME".into(),
        toolchain.cargo_home.display().to_string(),
    );
    if let Some(rustup_home) = &toolchain.rustup_home {
        env.insert("RUSTUP_HOME".into(), rustup_home.display().to_string());
    }
    if let Some(name) = &toolchain.rustup_toolchain {
        env.insert("RUSTUP_TOOLCHAIN".into(), name.clone());
    }
    // Never let rustup download a toolchain named by the repository.
    env.insert("RUSTUP_AUTO_INSTALL".into(), "0".into());
    let lang = std::env::var("LANG").ok().filter(|l| is_valid_locale(l));
    env.insert("LANG".into(), lang.unwrap_or_else(|| "C.UTF-8".into()));
    env.insert("TERM".into(), "dumb".into());
    env.insert("CARGO_TERM_COLOR".into(), "never".into());
    env.insert("CARGO_TERM_PROGRESS_WHEN".into(), "never".into());
    if !network {
        env.insert("CARGO_NET_OFFLINE".into(), "true".into());
    }
    // A repository's `.cargo/config.toml` may name programs for cargo to run while fetching
    // (git, credential providers); pin these to cargo's built-in behaviour.
    env.insert("CARGO_NET_GIT_FETCH_WITH_CLI".into(), "false".into());
    env.insert(
        "CARGO_REGISTRY_GLOBAL_CREDENTIAL_PROVIDERS".into(),
        "cargo:token".into(),
    );
    for (name, value) in extra {
        env.insert(name.clone(), value.clone());
    }
    env.into_iter().collect()
}

fn is_valid_locale(lang: &str) -> bool {
    !lang.is_empty()
        && lang.len() < 64
        && lang
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '@'))
}

/// What a sandboxed command may touch.
#[derive(Debug, Clone)]
pub struct Mounts<'a> {
    pub toolchain: &'a Toolchain,
    pub cwd: &'a Path,
    pub writable: &'a [PathBuf],
    pub network: bool,
    /// `cargo fetch` writes the registry cache; builds only read it.
    pub cache_writable: bool,
}

/// The full bubblewrap command line (after the `bwrap` program itself) for `sh -c shell`.
pub fn bwrap_args(mounts: &Mounts<'_>, shell: &str) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    let mut push = |items: &[&str]| a.extend(items.iter().map(|s| s.to_string()));
    push(&["--unshare-all"]);
    if mounts.network {
        push(&["--share-net"]);
    }
    push(&[
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--hostname",
        "sandbox",
    ]);
    for dir in SYSTEM_DIRS {
        let path = Path::new(dir);
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                if let Ok(target) = std::fs::read_link(path) {
                    push(&["--symlink", &target.to_string_lossy(), dir]);
                }
            }
            Ok(meta) if meta.is_dir() => push(&["--ro-bind", dir, dir]),
            _ => {}
        }
    }
    for entry in ETC_ALLOW {
        push(&["--ro-bind-try", entry, entry]);
    }
    push(&["--dev", "/dev", "--proc", "/proc"]);
    push(&["--size", &SANDBOX_TMP_BYTES.to_string(), "--tmpfs", "/tmp"]);
    let toolchain = mounts.toolchain;
    if let Some(rustup_home) = &toolchain.rustup_home {
        let p = rustup_home.to_string_lossy();
        push(&["--ro-bind", &p, &p]);
    }
    // CARGO_HOME itself is a small private tmpfs (cargo keeps its lock file there); only its
    // `bin`, `registry` and `git` come from the host, never `credentials.toml` or `config.toml`.
    let cargo_home = toolchain.cargo_home.to_string_lossy();
    push(&["--size", &(64u64 << 20).to_string(), "--tmpfs", &cargo_home]);
    let bin = toolchain.cargo_home.join("bin");
    let bin = bin.to_string_lossy();
    push(&["--ro-bind-try", &bin, &bin]);
    for cache in toolchain.cache_dirs() {
        let c = cache.to_string_lossy();
        let how = if mounts.cache_writable {
            "--bind-try"
        } else {
            "--ro-bind-try"
        };
        push(&[how, &c, &c]);
    }
    let cwd = mounts.cwd.to_string_lossy();
    push(&["--bind", &cwd, &cwd]);
    for dir in mounts.writable {
        let d = dir.to_string_lossy();
        push(&["--bind", &d, &d]);
    }
    // The sandbox's own root (where the mount points above were made) becomes read-only too.
    push(&[
        "--remount-ro",
        "/",
        "--chdir",
        &cwd,
        "--",
        "/bin/sh",
        "-c",
        shell,
    ]);
    a
}

/// Reads a file that a sandboxed command wrote (criterion JSON, a profile, a report), from the
/// unsandboxed worker. The command controls that tree: it may have replaced the file with a
/// symlink to the App key or `/etc/shadow`, a FIFO that blocks forever, or a huge file. So the
/// path must resolve inside `root`, name a regular file, and hold at most `max_bytes`.
pub fn read_confined(root: &Path, path: &Path, max_bytes: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read};
    use std::os::unix::fs::OpenOptionsExt;
    let root = std::fs::canonicalize(root)?;
    let resolved = std::fs::canonicalize(path)?;
    if !resolved.starts_with(&root) {
        return Err(Error::new(
            ErrorKind::PermissionDenied,
            format!(
                "{} points outside {} (a symlink planted by the repository's code?)",
                path.display(),
                root.display()
            ),
        ));
    }
    // Checked before opening: opening a FIFO for reading would block. Nothing of the command
    // runs any more when the worker reads its files, so the check cannot be raced.
    if !std::fs::metadata(&resolved)?.is_file() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&resolved)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    if meta.len() > max_bytes {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("{} is larger than {max_bytes} bytes", path.display()),
        ));
    }
    let mut bytes = Vec::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!(
                "{} grew beyond {max_bytes} bytes while read",
                path.display()
            ),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn read_confined_refuses_escaping_symlinks_fifos_and_big_files() {
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("key.pem");
        std::fs::write(&secret, "SECRET").unwrap();
        let root = tempfile::tempdir().unwrap();
        let good = root.path().join("estimates.json");
        std::fs::write(&good, "{}").unwrap();
        assert_eq!(read_confined(root.path(), &good, 100).unwrap(), b"{}");
        // A symlink inside the tree to a file inside the tree is fine.
        let inner = root.path().join("link.json");
        std::os::unix::fs::symlink(&good, &inner).unwrap();
        assert_eq!(read_confined(root.path(), &inner, 100).unwrap(), b"{}");
        // One that leaves the tree is not, and the error does not carry the content.
        let planted = root.path().join("sample.json");
        std::os::unix::fs::symlink(&secret, &planted).unwrap();
        let err = read_confined(root.path(), &planted, 100).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(!err.to_string().contains("SECRET"));
        // A directory, a FIFO (would block a plain read forever), a file over the cap.
        assert!(read_confined(root.path(), root.path(), 100).is_err());
        let fifo = root.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let err = read_confined(root.path(), &fifo, 100).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        std::fs::write(&good, vec![b'x'; 101]).unwrap();
        assert_eq!(
            read_confined(root.path(), &good, 100).unwrap_err().kind(),
            std::io::ErrorKind::InvalidData
        );
    }

    #[test]
    fn secret_names_are_recognised() {
        for name in [
            "GITHUB_TOKEN",
            "github_app_id",
            "DATABASE_URL",
            "MY_API_KEY",
            "AWS_ACCESS_KEY_ID",
            "webhook_secret",
            "PGPASSWORD",
            "PERF_FIXER_PRIVATE_KEY_PATH",
            "NPM_AUTH",
        ] {
            assert!(is_secret_env_name(name), "{name}");
        }
        for name in ["RUSTFLAGS", "CARGO_TARGET_DIR", "BENCH_FILTER", "RUST_LOG"] {
            assert!(!is_secret_env_name(name), "{name}");
        }
    }

    #[test]
    fn env_is_built_from_the_allow_list_only() {
        let toolchain = Toolchain {
            cargo_home: "/h/.cargo".into(),
            rustup_home: Some("/h/.rustup".into()),
            rustup_toolchain: None,
        };
        let extra = BTreeMap::from([("RUSTFLAGS".to_string(), "-Copt-level=3".to_string())]);
        let env: BTreeMap<_, _> = command_env(&toolchain, Path::new("/tmp"), false, &extra)
            .into_iter()
            .collect();
        assert_eq!(env["CARGO_NET_OFFLINE"], "true");
        assert_eq!(env["RUSTFLAGS"], "-Copt-level=3");
        assert_eq!(env["HOME"], "/tmp");
        assert!(env["PATH"].starts_with("/h/.cargo/bin:"));
        // The one secret-sounding name is the pin that turns credential helpers off.
        assert!(
            env.keys().all(
                |k| !is_secret_env_name(k) || k == "CARGO_REGISTRY_GLOBAL_CREDENTIAL_PROVIDERS"
            )
        );
        let online: BTreeMap<_, _> =
            command_env(&toolchain, Path::new("/tmp"), true, &BTreeMap::new())
                .into_iter()
                .collect();
        assert!(!online.contains_key("CARGO_NET_OFFLINE"));
    }

    #[test]
    fn bwrap_line_has_no_network_and_only_listed_writable_paths() {
        let toolchain = Toolchain {
            cargo_home: "/h/.cargo".into(),
            rustup_home: None,
            rustup_toolchain: None,
        };
        let writable = vec![PathBuf::from("/w/target")];
        let mounts = Mounts {
            toolchain: &toolchain,
            cwd: Path::new("/w/tree"),
            writable: &writable,
            network: false,
            cache_writable: false,
        };
        let args = bwrap_args(&mounts, "cargo bench");
        assert!(args.contains(&"--unshare-all".to_string()));
        assert!(!args.contains(&"--share-net".to_string()));
        let binds: Vec<&String> = args
            .windows(2)
            .filter(|w| w[0] == "--bind" || w[0] == "--bind-try")
            .map(|w| &w[1])
            .collect();
        assert_eq!(binds, vec!["/w/tree", "/w/target"]);
        assert_eq!(&args[args.len() - 3..], ["/bin/sh", "-c", "cargo bench"]);
        assert!(
            !args
                .iter()
                .any(|a| a.contains("shadow") || a == "/etc" || a == "/root")
        );
    }
}
