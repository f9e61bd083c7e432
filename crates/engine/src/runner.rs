//! The command runner: every repository command (build, test, bench, profile) goes through
//! [`Runner::run`].
//!
//! A run: the worker re-executes its own binary as a small per-run reaper (see [`reaper`]),
//! which forks the command into its own process group, inside bubblewrap ([`crate::sandbox`])
//! unless the sandbox was explicitly turned off, with rlimits and per-run cgroups applied
//! before exec. The worker reads stdout and stderr concurrently (keeping the last
//! [`OUTPUT_CAP`] bytes of each), enforces the wall clock and the cancel token, and on any end
//! the whole tree is killed with SIGKILL and reaped. The reaper reports the exit status and the
//! peak RSS of the process tree (`ru_maxrss` of `RUSAGE_CHILDREN`, per run since the reaper is
//! fresh each time).
//!
//! Process-count limits: with a `pids` cgroup (created per run when the worker may), the
//! limit holds for the whole tree, also as root. Without one, `RLIMIT_NPROC` is set; the kernel
//! counts it per real uid (all of that user's processes, the worker's threads included) and
//! ignores it for root, so a worker running as root without cgroups has only the wall clock
//! against a fork bomb: [`Runner::new`] logs a warning in that case.
//! Memory: a `memory` cgroup when available, else `RLIMIT_AS` (address space, which counts more
//! than RSS; keep it generous).

mod cgroup;
mod reaper;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::sandbox::{self, Mounts, Toolchain};
use crate::secret::Scrubber;

/// The most of each of stdout and stderr kept per run; beyond it the oldest bytes are dropped.
pub const OUTPUT_CAP: usize = 16 << 20;

/// How long after SIGTERM (timeout, cancel) the reaper gets to kill, reap and report before
/// it is killed itself.
const REAPER_GRACE: Duration = Duration::from_secs(15);

/// How repository commands are isolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SandboxMode {
    /// bubblewrap: no network, read-only system, only the worktree and target dir writable.
    #[default]
    Bwrap,
    /// No isolation (limits and the process-group kill still apply). Only when set
    /// explicitly; every command run this way logs a warning.
    None,
}

impl std::fmt::Display for SandboxMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SandboxMode::Bwrap => "bwrap",
            SandboxMode::None => "none",
        })
    }
}

impl std::str::FromStr for SandboxMode {
    type Err = RunnerError;
    fn from_str(s: &str) -> Result<SandboxMode, RunnerError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bwrap" | "bubblewrap" => Ok(SandboxMode::Bwrap),
            "none" => Ok(SandboxMode::None),
            other => Err(RunnerError::UnknownSandbox {
                value: other.to_string(),
            }),
        }
    }
}

/// Resource limits of one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall clock; the whole process tree is killed when it runs out.
    pub wall: Duration,
    /// CPU seconds (RLIMIT_CPU, per process).
    pub cpu_secs: Option<u64>,
    /// Memory of the tree (memory cgroup), or address space per process (RLIMIT_AS) without one.
    pub memory_bytes: Option<u64>,
    /// Largest file a process may write (RLIMIT_FSIZE).
    pub file_size_bytes: Option<u64>,
    /// Processes and threads of the tree (pids cgroup), or RLIMIT_NPROC without one.
    pub max_processes: Option<u64>,
}

impl Default for Limits {
    /// 30 minutes, 8 GiB of memory, 4 GiB files, 1024 tasks, no CPU-time cap (the wall clock
    /// bounds it).
    fn default() -> Limits {
        Limits {
            wall: Duration::from_secs(30 * 60),
            cpu_secs: None,
            memory_bytes: Some(8 << 30),
            file_size_bytes: Some(4 << 30),
            max_processes: Some(1024),
        }
    }
}

/// Cancels a running command (and the ones after it) from another thread.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// One command to run.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    /// A command line, run as `sh -c <shell>`.
    pub shell: String,
    /// The worktree; always writable.
    pub cwd: PathBuf,
    /// Added on top of the allow-listed base environment. Names that may carry a secret
    /// (`GITHUB_*`, `DATABASE_URL`, `*TOKEN*`, `*SECRET*`, `*KEY*`, ...) are refused.
    pub env: BTreeMap<String, String>,
    /// Further writable directories (the target dir); created when missing.
    pub writable: Vec<PathBuf>,
    /// Network access: only for `cargo fetch`.
    pub network: bool,
    pub limits: Limits,
    pub cancel: Option<CancelToken>,
}

impl CommandSpec {
    /// A command in `cwd` with default limits, no network and nothing else writable.
    pub fn new(shell: impl Into<String>, cwd: impl Into<PathBuf>) -> CommandSpec {
        CommandSpec {
            shell: shell.into(),
            cwd: cwd.into(),
            env: BTreeMap::new(),
            writable: Vec::new(),
            network: false,
            limits: Limits::default(),
            cancel: None,
        }
    }
}

/// How a command ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub exit_code: Option<i32>,
    /// The signal that killed the command. Under bubblewrap, an exit status of 128 + n
    /// (n < 64) is reported as signal n, as bubblewrap and shells encode it that way.
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub cancelled: bool,
    pub stdout: String,
    pub stderr: String,
    /// Peak RSS of the process tree, KiB.
    pub peak_rss_kib: u64,
    pub wall: Duration,
}

impl Outcome {
    /// Exited with status 0, in time and not cancelled.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && self.signal.is_none() && !self.timed_out && !self.cancelled
    }

    /// The last `lines` lines of the output for error messages: stderr, preceded by the end of
    /// stdout when stderr is shorter than that.
    pub fn tail(&self, lines: usize) -> String {
        let err: Vec<&str> = self.stderr.lines().collect();
        let mut out: Vec<&str> = Vec::new();
        if err.len() < lines {
            let out_lines: Vec<&str> = self.stdout.lines().collect();
            let want = lines - err.len();
            out.extend(&out_lines[out_lines.len().saturating_sub(want)..]);
        }
        out.extend(&err[err.len().saturating_sub(lines)..]);
        out.join("\n")
    }

    /// A short description of how the command ended (`exit status 3`, `killed by signal 9`,
    /// `timed out after 60s`, `cancelled`).
    pub fn status_text(&self) -> String {
        if self.cancelled {
            "cancelled".to_string()
        } else if self.timed_out {
            format!("timed out after {:.0?}", self.wall)
        } else if let Some(signal) = self.signal {
            format!("killed by signal {signal}")
        } else if let Some(code) = self.exit_code {
            format!("exit status {code}")
        } else {
            "unknown status".to_string()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error(
        "the sandbox needs bubblewrap (`bwrap`), but {detail}. Install it (Debian/Ubuntu: \
         `apt-get install bubblewrap`; Fedora: `dnf install bubblewrap`), or set \
         `sandbox = \"none\"` to run repository code without isolation (not for untrusted code)"
    )]
    BwrapUnavailable { detail: String },
    #[error("unknown sandbox `{value}`: use \"bwrap\" or \"none\"")]
    UnknownSandbox { value: String },
    #[error(
        "environment variable `{name}` may carry a secret and is never passed to repository \
         commands; remove it from the command's environment"
    )]
    SecretEnv { name: String },
    #[error("`{name}` is not a valid environment variable name")]
    InvalidEnvName { name: String },
    #[error("the working directory {path} is not a directory")]
    NoWorkingDir { path: PathBuf },
    #[error(
        "refusing to make {path} writable for a repository command: it is or contains a system \
         directory, the toolchain or the worker's home; use a dedicated worktree and target dir"
    )]
    UnsafeWritable { path: PathBuf },
    #[error("could not create the writable directory {path}: {source}")]
    Writable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the command runner needs its reaper hook, which is missing from this binary (link \
         perf-fixer-engine as an ordinary Rust dependency on Linux)"
    )]
    NoReaper,
    #[error("could not start the command runner: {0}")]
    Spawn(std::io::Error),
    #[error("the command runner failed: {0}")]
    Reaper(String),
}

/// Runs repository commands under the chosen sandbox.
#[derive(Debug, Clone)]
pub struct Runner {
    mode: SandboxMode,
    bwrap: Option<PathBuf>,
    toolchain: Toolchain,
    scrubber: Scrubber,
}

impl Runner {
    /// A runner for `mode`. With [`SandboxMode::Bwrap`], checks that bubblewrap exists and can
    /// create its namespaces here, and explains how to install it when not.
    pub fn new(mode: SandboxMode) -> Result<Runner, RunnerError> {
        if !reaper::hook_installed() {
            return Err(RunnerError::NoReaper);
        }
        let bwrap = match mode {
            SandboxMode::Bwrap => Some(find_working_bwrap()?),
            SandboxMode::None => {
                tracing::warn!(
                    "sandbox = \"none\": repository commands will run WITHOUT isolation \
                     (network, the worker's files and processes are reachable)"
                );
                None
            }
        };
        let cgroups = cgroup::RunCgroups::create(Some(1_000_000), None);
        // Root ignores RLIMIT_NPROC: read our uid from /proc.
        let root = std::fs::read_to_string("/proc/self/status")
            .map(|s| {
                s.lines()
                    .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
            })
            .unwrap_or(false);
        if !cgroups.pids_limited && root {
            tracing::warn!(
                "no pids cgroup available and running as root: the process limit of repository \
                 commands is not enforced (only the wall clock bounds a fork bomb)"
            );
        }
        drop(cgroups);
        Ok(Runner {
            mode,
            bwrap,
            toolchain: Toolchain::from_env(),
            scrubber: Scrubber::new(),
        })
    }

    /// Scrub these secrets from every output and tail this runner returns.
    pub fn with_scrubber(mut self, scrubber: Scrubber) -> Runner {
        self.scrubber = scrubber;
        self
    }

    /// Use this toolchain layout instead of the worker's `CARGO_HOME`/`RUSTUP_HOME`.
    pub fn with_toolchain(mut self, toolchain: Toolchain) -> Runner {
        self.toolchain = toolchain;
        self
    }

    pub fn mode(&self) -> SandboxMode {
        self.mode
    }

    /// The warning to show wherever this runner's results appear (job page, PR body, CLI),
    /// when repository code runs without isolation.
    pub fn sandbox_warning(&self) -> Option<&'static str> {
        (self.mode == SandboxMode::None).then_some(
            "sandbox = \"none\": repository code ran WITHOUT isolation (network, the worker's \
             files and processes were reachable)",
        )
    }

    pub fn scrubber(&self) -> &Scrubber {
        &self.scrubber
    }

    /// `cargo fetch` in `worktree`, with network but no secrets, so that builds can then run
    /// offline. The cargo registry cache is writable for this command only.
    pub fn cargo_fetch(&self, worktree: &Path, target_dir: &Path) -> Result<Outcome, RunnerError> {
        for dir in self.toolchain.cache_dirs() {
            std::fs::create_dir_all(&dir)
                .map_err(|source| RunnerError::Writable { path: dir, source })?;
        }
        let mut spec = CommandSpec::new("cargo fetch", worktree);
        spec.network = true;
        spec.writable = vec![target_dir.to_path_buf()];
        spec.env
            .insert("CARGO_TARGET_DIR".into(), target_dir.display().to_string());
        spec.limits.wall = Duration::from_secs(15 * 60);
        self.run_inner(&spec, true)
    }

    /// Runs one command to its end (blocking) and reports how it went.
    pub fn run(&self, spec: &CommandSpec) -> Result<Outcome, RunnerError> {
        self.run_inner(spec, false)
    }

    /// Refuses to make writable a directory that holds the system, the toolchain, the cargo
    /// credentials or the worker's home: a caller mistake that would hand them to the command.
    fn check_writable(&self, dir: &Path) -> Result<(), RunnerError> {
        let mut protected: Vec<PathBuf> = vec![self.toolchain.cargo_home.clone()];
        protected.extend(self.toolchain.rustup_home.clone());
        protected.extend(std::env::var_os("HOME").map(PathBuf::from));
        let system = [
            "/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64", "/boot", "/proc", "/sys", "/dev",
            "/var/run", "/run",
        ];
        let inside_system = system.iter().any(|s| dir.starts_with(s));
        let holds_protected = protected.iter().any(|p| p.starts_with(dir));
        let inside_toolchain = dir.starts_with(&self.toolchain.cargo_home)
            || self
                .toolchain
                .rustup_home
                .as_ref()
                .is_some_and(|r| dir.starts_with(r));
        if dir == Path::new("/") || inside_system || holds_protected || inside_toolchain {
            return Err(RunnerError::UnsafeWritable {
                path: dir.to_path_buf(),
            });
        }
        Ok(())
    }

    fn run_inner(&self, spec: &CommandSpec, cache_writable: bool) -> Result<Outcome, RunnerError> {
        for name in spec.env.keys() {
            if !sandbox::is_valid_env_name(name) {
                return Err(RunnerError::InvalidEnvName { name: name.clone() });
            }
            if sandbox::is_secret_env_name(name) {
                return Err(RunnerError::SecretEnv { name: name.clone() });
            }
        }
        let cwd = std::fs::canonicalize(&spec.cwd)
            .ok()
            .filter(|p| p.is_dir())
            .ok_or_else(|| RunnerError::NoWorkingDir {
                path: spec.cwd.clone(),
            })?;
        self.check_writable(&cwd)?;
        let mut writable = Vec::new();
        for dir in &spec.writable {
            std::fs::create_dir_all(dir).map_err(|source| RunnerError::Writable {
                path: dir.clone(),
                source,
            })?;
            let dir = std::fs::canonicalize(dir).map_err(|source| RunnerError::Writable {
                path: dir.clone(),
                source,
            })?;
            self.check_writable(&dir)?;
            writable.push(dir);
        }
        let (argv, home) = match (&self.mode, &self.bwrap) {
            (SandboxMode::Bwrap, Some(bwrap)) => {
                let mounts = Mounts {
                    toolchain: &self.toolchain,
                    cwd: &cwd,
                    writable: &writable,
                    network: spec.network,
                    cache_writable,
                };
                let mut argv = vec![bwrap.display().to_string()];
                argv.extend(sandbox::bwrap_args(&mounts, &spec.shell));
                (argv, PathBuf::from("/tmp"))
            }
            _ => {
                tracing::warn!(
                    command = %spec.shell,
                    "running a repository command WITHOUT sandbox (sandbox = \"none\")"
                );
                let argv = vec!["/bin/sh".to_string(), "-c".to_string(), spec.shell.clone()];
                (argv, std::env::temp_dir())
            }
        };
        let env = sandbox::command_env(&self.toolchain, &home, spec.network, &spec.env);
        let cgroups =
            cgroup::RunCgroups::create(spec.limits.max_processes, spec.limits.memory_bytes);
        let rlimits = reaper::Rlimits {
            cpu_secs: spec.limits.cpu_secs,
            address_space: if cgroups.memory_limited {
                None
            } else {
                spec.limits.memory_bytes
            },
            file_size: spec.limits.file_size_bytes,
            processes: if cgroups.pids_limited {
                None
            } else {
                spec.limits.max_processes
            },
        };
        let report_dir = tempfile::Builder::new()
            .prefix("perf-fixer-run-")
            .tempdir()
            .map_err(RunnerError::Spawn)?;
        let report_path = report_dir.path().join("report.json");
        let config = reaper::Config {
            argv,
            env,
            cwd,
            rlimits,
            cgroup_procs: cgroups.procs_files(),
            report: report_path.clone(),
        };
        let outcome = self.supervise(spec, &config)?;
        drop(cgroups);
        Ok(outcome)
    }

    fn supervise(
        &self,
        spec: &CommandSpec,
        config: &reaper::Config,
    ) -> Result<Outcome, RunnerError> {
        let config_json =
            serde_json::to_vec(config).map_err(|e| RunnerError::Reaper(e.to_string()))?;
        let started = Instant::now();
        let mut child = Command::new("/proc/self/exe")
            .arg0("perf-fixer-reaper")
            .env_clear()
            .env(reaper::REAPER_ENV, "1")
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(RunnerError::Spawn)?;
        let reaper_pid = i32::try_from(child.id()).unwrap_or(0);
        let stdout = Arc::new(Mutex::new(TailBuffer::default()));
        let stderr = Arc::new(Mutex::new(TailBuffer::default()));
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let mut readers = Vec::new();
        if let Some(pipe) = child.stdout.take() {
            readers.push(spawn_reader(pipe, stdout.clone(), done_tx.clone()));
        }
        if let Some(pipe) = child.stderr.take() {
            readers.push(spawn_reader(pipe, stderr.clone(), done_tx.clone()));
        }
        drop(done_tx);
        if let Some(mut stdin) = child.stdin.take() {
            // A failed write means the reaper died; its status below says so.
            let _ = stdin.write_all(&config_json);
        }

        let (exit_tx, exit_rx) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let status = child.wait();
            let _ = exit_tx.send(());
            status
        });
        let mut timed_out = false;
        let mut cancelled = false;
        let mut terminate_sent: Option<Instant> = None;
        loop {
            match exit_rx.recv_timeout(Duration::from_millis(20)) {
                Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if terminate_sent.is_none() {
                if started.elapsed() >= spec.limits.wall {
                    timed_out = true;
                } else if spec.cancel.as_ref().is_some_and(CancelToken::is_cancelled) {
                    cancelled = true;
                }
                if timed_out || cancelled {
                    reaper::send_signal(reaper_pid, libc::SIGTERM);
                    terminate_sent = Some(Instant::now());
                }
            } else if terminate_sent.is_some_and(|t| t.elapsed() > REAPER_GRACE) {
                // The reaper did not finish: kill the command's group and the reaper itself.
                if let Some(pid) = read_report(&config.report).map(|r| r.command_pid) {
                    reaper::kill_group(pid);
                }
                reaper::send_signal(reaper_pid, libc::SIGKILL);
                terminate_sent = Some(Instant::now() + Duration::from_secs(3600));
            }
        }
        let wall = started.elapsed();
        let reaper_status = waiter
            .join()
            .map_err(|_| RunnerError::Reaper("waiter panicked".into()))?;
        // Every writer of the pipes is dead now (the reaper reaped the tree), so the readers
        // reach EOF at once; the bound only guards against a process that escaped.
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut finished = 0;
        while finished < readers.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if done_rx.recv_timeout(left).is_err() {
                break;
            }
            finished += 1;
        }
        let report = read_report(&config.report);
        let stdout = self.scrubber.scrub(&take_text(&stdout));
        let stderr = self.scrubber.scrub(&take_text(&stderr));
        let report = match report {
            Some(report) if report.finished => report,
            // Stopped before the reaper was ready to handle it: nothing was started.
            _ if timed_out || cancelled => reaper::Report {
                finished: true,
                ..reaper::Report::default()
            },
            _ => {
                let status = reaper_status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|e| e.to_string());
                return Err(RunnerError::Reaper(format!(
                    "the reaper ended without a report ({status}); last output: {}",
                    last_lines(&stderr, 5)
                )));
            }
        };
        if let Some(error) = &report.error {
            return Err(RunnerError::Reaper(self.scrubber.scrub(error)));
        }
        if report.leftovers > 0 {
            tracing::error!(
                leftovers = report.leftovers,
                command = %spec.shell,
                "processes of a repository command survived the kill"
            );
        }
        let (mut exit_code, mut signal) = (report.exit_code, report.signal);
        if self.mode == SandboxMode::Bwrap
            && let Some(code) = exit_code
            && (129..128 + 64).contains(&code)
        {
            exit_code = None;
            signal = Some(code - 128);
        }
        Ok(Outcome {
            exit_code,
            signal,
            timed_out,
            cancelled,
            stdout,
            stderr,
            peak_rss_kib: report.max_rss_kib,
            wall,
        })
    }
}

fn read_report(path: &Path) -> Option<reaper::Report> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The last [`OUTPUT_CAP`] bytes of a stream, with a count of what was dropped.
#[derive(Debug, Default)]
struct TailBuffer {
    bytes: Vec<u8>,
    dropped: u64,
}

impl TailBuffer {
    fn push(&mut self, data: &[u8]) {
        self.bytes.extend_from_slice(data);
        if self.bytes.len() > 2 * OUTPUT_CAP {
            let excess = self.bytes.len() - OUTPUT_CAP;
            self.bytes.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    fn text(&self) -> String {
        let start = self.bytes.len().saturating_sub(OUTPUT_CAP);
        let dropped = self.dropped + start as u64;
        let body = String::from_utf8_lossy(&self.bytes[start..]);
        if dropped > 0 {
            format!("[... {dropped} earlier bytes dropped ...]\n{body}")
        } else {
            body.into_owned()
        }
    }
}

fn take_text(buffer: &Arc<Mutex<TailBuffer>>) -> String {
    match buffer.lock() {
        Ok(guard) => guard.text(),
        Err(poisoned) => poisoned.into_inner().text(),
    }
}

fn spawn_reader(
    mut pipe: impl Read + Send + 'static,
    buffer: Arc<Mutex<TailBuffer>>,
    done: mpsc::Sender<()>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => match buffer.lock() {
                    Ok(mut guard) => guard.push(&chunk[..n]),
                    Err(poisoned) => poisoned.into_inner().push(&chunk[..n]),
                },
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = done.send(());
    })
}

/// Finds `bwrap` on the PATH (or in /usr/bin) and checks that it can create the namespaces
/// the sandbox uses.
fn find_working_bwrap() -> Result<PathBuf, RunnerError> {
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let candidates = std::env::split_paths(&path_var)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join("bwrap"));
    let Some(bwrap) = candidates.into_iter().find(|p| p.is_file()) else {
        return Err(RunnerError::BwrapUnavailable {
            detail: "no `bwrap` executable is on the PATH".into(),
        });
    };
    let probe = Command::new(&bwrap)
        .args([
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
        ])
        .args(["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"])
        // Options the sandbox relies on that older bubblewrap releases lack.
        .args(["--size", "1048576", "--tmpfs", "/tmp", "--remount-ro", "/"])
        .args(["--", "/bin/true"])
        .env_clear()
        .stdin(Stdio::null())
        .output();
    match probe {
        Ok(out) if out.status.success() => Ok(bwrap),
        Ok(out) => Err(RunnerError::BwrapUnavailable {
            detail: format!(
                "`{}` does not work here ({}: {}); user namespaces may be disabled \
                 (check `sysctl kernel.unprivileged_userns_clone` and AppArmor's \
                 `kernel.apparmor_restrict_unprivileged_userns`)",
                bwrap.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        }),
        Err(e) => Err(RunnerError::BwrapUnavailable {
            detail: format!("`{}` could not be started: {e}", bwrap.display()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_prefers_stderr_and_fills_with_stdout() {
        let outcome = Outcome {
            stdout: "o1\no2\no3\n".into(),
            stderr: "e1\ne2\n".into(),
            ..Outcome::default()
        };
        assert_eq!(outcome.tail(3), "o3\ne1\ne2");
        assert_eq!(outcome.tail(1), "e2");
    }

    #[test]
    fn tail_buffer_keeps_the_end() {
        let mut buffer = TailBuffer::default();
        let block = vec![b'a'; OUTPUT_CAP];
        buffer.push(&block);
        buffer.push(&block);
        buffer.push(b"END");
        let text = buffer.text();
        assert!(text.ends_with("END"));
        assert!(text.starts_with("[... "));
        assert!(text.len() < OUTPUT_CAP + 100);
    }

    #[test]
    fn sandbox_mode_parses() {
        assert_eq!(
            "bwrap".parse::<SandboxMode>().ok(),
            Some(SandboxMode::Bwrap)
        );
        assert_eq!("none".parse::<SandboxMode>().ok(), Some(SandboxMode::None));
        assert!("docker".parse::<SandboxMode>().is_err());
    }
}
