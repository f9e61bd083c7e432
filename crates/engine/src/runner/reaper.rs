//! The per-run reaper: a fresh, small process between the worker and a repository command.
//!
//! Why a separate process: the peak memory of a run is read from `getrusage(RUSAGE_CHILDREN)`,
//! which is cumulative over a process's life and, through `fork`, also carries the RSS of
//! whatever process the command was forked from. A process forked from the worker (tens or
//! hundreds of MiB) would report at least the worker's size. So every run re-executes the
//! current binary (`/proc/self/exe`) with [`REAPER_ENV`] set; an `.init_array` hook below catches
//! that before `main` and runs [`reaper_main`] instead: a process that is a few MiB large, forks
//! the command, is its child subreaper, reaps the whole tree and writes a [`Report`].
//!
//! The reaper:
//! 1. reads its [`Config`] (JSON) from stdin;
//! 2. starts a new session and becomes child subreaper, so orphans come back to it;
//! 3. forks the command, which puts itself in its own process group, joins the run's cgroups,
//!    sets its rlimits and `execve`s (bubblewrap, or `/bin/sh`);
//! 4. on SIGTERM (timeout or cancel, sent by the worker) or when the command exits, kills the
//!    command's process group with SIGKILL, then every remaining child and cgroup member,
//!    and reaps until nothing is left;
//! 5. writes the exit status and `ru_maxrss` of the tree to the report file.
//!
//! This is the only module of the crate that needs `unsafe`: raw syscalls.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Set (to `1`) in the environment of the re-executed binary to make it a reaper.
pub(crate) const REAPER_ENV: &str = "__PERF_FIXER_REAPER";
const REAPER_ENV_C: &CStr = c"__PERF_FIXER_REAPER";

/// How long the reaper keeps killing and reaping leftovers before it gives up and reports.
const CLEANUP_BUDGET: Duration = Duration::from_secs(10);

/// What the worker asks the reaper to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Config {
    /// Program (absolute path) and arguments.
    pub argv: Vec<String>,
    /// The complete environment of the command (already filtered by the allow-list).
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub rlimits: Rlimits,
    /// `cgroup.procs` files the command joins before exec.
    pub cgroup_procs: Vec<PathBuf>,
    /// Where the reaper writes its [`Report`].
    pub report: PathBuf,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Rlimits {
    pub cpu_secs: Option<u64>,
    pub address_space: Option<u64>,
    pub file_size: Option<u64>,
    pub processes: Option<u64>,
}

/// What the reaper tells the worker when the run is over.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Report {
    /// Pid (and process group) of the command, written as soon as it is forked.
    pub command_pid: i32,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// Peak RSS of the whole process tree, KiB.
    pub max_rss_kib: u64,
    /// Set when the command could not be started, or the reaper itself failed.
    pub error: Option<String>,
    /// Processes still alive when cleanup gave up (should be 0).
    pub leftovers: usize,
    pub finished: bool,
}

static HOOK_RAN: AtomicBool = AtomicBool::new(false);
static COMMAND_PGID: AtomicI32 = AtomicI32::new(0);
static TERMINATE: AtomicBool = AtomicBool::new(false);

extern "C" fn startup_hook() {
    HOOK_RAN.store(true, Ordering::Relaxed);
    // SAFETY: runs once at process start, before `main`, with a NUL-terminated name; `getenv`
    // only reads the environment block, which nothing modifies concurrently this early.
    let value = unsafe { libc::getenv(REAPER_ENV_C.as_ptr()) };
    if value.is_null() {
        return;
    }
    let code = reaper_main();
    // SAFETY: ends this process without running the host binary's `main` (it never should).
    unsafe { libc::_exit(code) }
}

/// Registered as an ELF constructor so that any binary linking this crate can serve as reaper.
#[used]
#[unsafe(link_section = ".init_array")]
static STARTUP_HOOK: extern "C" fn() = startup_hook;

/// True when the startup hook is part of this binary (it ran at start-up). Referencing the
/// hook here also keeps the linker from dropping it.
pub(crate) fn hook_installed() -> bool {
    std::hint::black_box(&STARTUP_HOOK);
    HOOK_RAN.load(Ordering::Relaxed)
}

/// Sends `signal` to one process. Errors (no such process) are ignored: the caller only wants
/// it gone.
pub(crate) fn send_signal(pid: i32, signal: i32) {
    if pid > 0 {
        // SAFETY: kill(2) has no memory-safety preconditions; pid > 0 targets one process.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// Sends SIGKILL to a whole process group.
pub(crate) fn kill_group(pgid: i32) {
    if pgid > 1 {
        // SAFETY: kill(2) with a negative pid signals a process group; pgid > 1 never means
        // "every process" (-1) or our own group (0).
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

extern "C" fn on_terminate(_signal: libc::c_int) {
    TERMINATE.store(true, Ordering::SeqCst);
    kill_group(COMMAND_PGID.load(Ordering::SeqCst));
}

fn reaper_main() -> i32 {
    let mut input = Vec::new();
    if std::io::stdin().read_to_end(&mut input).is_err() {
        return 120;
    }
    let config: Config = match serde_json::from_slice(&input) {
        Ok(config) => config,
        Err(_) => return 121,
    };
    let mut report = Report::default();
    match run(&config, &mut report) {
        Ok(()) => {}
        Err(message) => report.error = Some(message),
    }
    report.max_rss_kib = children_max_rss_kib();
    report.finished = true;
    write_report(&config, &report);
    0
}

fn write_report(config: &Config, report: &Report) {
    if let Ok(json) = serde_json::to_vec(report) {
        let tmp = config.report.with_extension("tmp");
        if std::fs::write(&tmp, json).is_ok() {
            let _ = std::fs::rename(&tmp, &config.report);
        }
    }
}

fn last_os_error(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

fn cstring(value: &str, what: &str) -> Result<CString, String> {
    CString::new(value).map_err(|_| format!("{what} contains a NUL byte"))
}

fn run(config: &Config, report: &mut Report) -> Result<(), String> {
    // SAFETY: plain syscalls on this single-threaded process; the handler only touches atomics
    // and calls kill(2), both async-signal-safe.
    unsafe {
        // The reaper was spawned in the worker's process group: a new session makes it the
        // leader of its own, so that nothing we signal ever reaches the worker.
        libc::setsid();
        if libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0 {
            return Err(last_os_error("prctl(PR_SET_CHILD_SUBREAPER)"));
        }
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_terminate as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        action.sa_flags = 0; // no SA_RESTART: a blocking waitpid returns EINTR
        libc::sigaction(libc::SIGTERM, &action, std::ptr::null_mut());
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
        libc::sigaction(libc::SIGHUP, &action, std::ptr::null_mut());
        // If the worker dies, so does the run.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0);
    }

    let program = config.argv.first().ok_or("empty command line")?;
    let program = cstring(program, "program")?;
    let argv: Vec<CString> = config
        .argv
        .iter()
        .map(|a| cstring(a, "argument"))
        .collect::<Result<_, _>>()?;
    let envp: Vec<CString> = config
        .env
        .iter()
        .map(|(k, v)| cstring(&format!("{k}={v}"), "environment"))
        .collect::<Result<_, _>>()?;
    let cwd = cstring(&config.cwd.to_string_lossy(), "working directory")?;
    let procs: Vec<CString> = config
        .cgroup_procs
        .iter()
        .map(|p| cstring(&p.to_string_lossy(), "cgroup path"))
        .collect::<Result<_, _>>()?;
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut envp_ptrs: Vec<*const libc::c_char> = envp.iter().map(|a| a.as_ptr()).collect();
    envp_ptrs.push(std::ptr::null());
    let limits = rlimit_list(&config.rlimits);

    let mut error_pipe = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two fds into the array we own.
    if unsafe { libc::pipe2(error_pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(last_os_error("pipe2"));
    }
    let [error_read, error_write] = error_pipe;

    // SAFETY: the reaper is single-threaded (it runs before `main`), so the child may run any
    // code; it only makes syscalls on data prepared above and ends in execve or _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(last_os_error("fork"));
    }
    if pid == 0 {
        // SAFETY: see `exec_child`; never returns.
        unsafe {
            exec_child(
                &program,
                &argv_ptrs,
                &envp_ptrs,
                &cwd,
                &procs,
                &limits,
                error_write,
            )
        }
    }
    COMMAND_PGID.store(pid, Ordering::SeqCst);
    report.command_pid = pid;
    write_report(config, report);
    if TERMINATE.load(Ordering::SeqCst) {
        kill_group(pid);
    }
    // SAFETY: closing our copy of the write end, then reading at most 4 bytes into a local.
    let exec_errno = unsafe {
        libc::close(error_write);
        let mut buf = [0u8; 4];
        let mut got = 0usize;
        loop {
            let n = libc::read(error_read, buf.as_mut_ptr().add(got).cast(), 4 - got);
            if n > 0 {
                got += n as usize;
                if got == 4 {
                    break;
                }
            } else if n == 0
                || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
            {
                break;
            }
        }
        libc::close(error_read);
        (got == 4).then(|| i32::from_ne_bytes(buf))
    };
    if let Some(errno) = exec_errno {
        report.error = Some(format!(
            "could not start `{}`: {}",
            config.argv.first().map(String::as_str).unwrap_or_default(),
            std::io::Error::from_raw_os_error(errno)
        ));
    }

    // Wait for the command itself, reaping orphans that come back to us meanwhile.
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: waitpid writes the status into a local.
        let reaped = unsafe { libc::waitpid(-1, &mut status, 0) };
        if reaped == pid {
            if libc::WIFEXITED(status) {
                report.exit_code = Some(libc::WEXITSTATUS(status));
            } else if libc::WIFSIGNALED(status) {
                report.signal = Some(libc::WTERMSIG(status));
            }
            break;
        }
        if reaped < 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::ECHILD) {
                break;
            }
        }
    }
    report.leftovers = kill_and_reap_everything(pid, config);
    Ok(())
}

/// Kills the command's group, our remaining children and every cgroup member, and reaps them,
/// until no child is left or the budget is spent. Returns how many were still alive then.
fn kill_and_reap_everything(pgid: i32, config: &Config) -> usize {
    let started = Instant::now();
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() };
    loop {
        kill_group(pgid);
        let mut alive = children_of(me);
        for procs in &config.cgroup_procs {
            if let Ok(text) = std::fs::read_to_string(procs) {
                alive.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
            }
        }
        alive.retain(|&p| p != me);
        for &p in &alive {
            send_signal(p, libc::SIGKILL);
        }
        // Reap whatever is dead.
        loop {
            let mut status: libc::c_int = 0;
            // SAFETY: waitpid writes the status into a local.
            let reaped = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if reaped > 0 {
                continue;
            }
            if reaped < 0
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD)
                && alive.is_empty()
            {
                return 0;
            }
            break;
        }
        if started.elapsed() > CLEANUP_BUDGET {
            return alive.len().max(1);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Pids whose parent is `parent`, from `/proc/*/stat` (the `children` file of procfs is not
/// compiled into every kernel).
fn children_of(parent: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name is in parentheses and may contain spaces: parse after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let _state = fields.next();
        if fields.next().and_then(|f| f.parse::<i32>().ok()) == Some(parent) {
            out.push(pid);
        }
    }
    out
}

fn children_max_rss_kib() -> u64 {
    // SAFETY: getrusage writes into a zeroed local struct.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) == 0 {
            u64::try_from(usage.ru_maxrss).unwrap_or(0)
        } else {
            0
        }
    }
}

type RlimitList = Vec<(libc::__rlimit_resource_t, libc::rlim_t, libc::rlim_t)>;

fn rlimit_list(limits: &Rlimits) -> RlimitList {
    let mut out: RlimitList = vec![(libc::RLIMIT_CORE, 0, 0)];
    if let Some(cpu) = limits.cpu_secs {
        // SIGXCPU at the soft limit, SIGKILL one second later.
        out.push((libc::RLIMIT_CPU, cpu, cpu.saturating_add(1)));
    }
    if let Some(bytes) = limits.address_space {
        out.push((libc::RLIMIT_AS, bytes, bytes));
    }
    if let Some(bytes) = limits.file_size {
        out.push((libc::RLIMIT_FSIZE, bytes, bytes));
    }
    if let Some(n) = limits.processes {
        out.push((libc::RLIMIT_NPROC, n, n));
    }
    // An unprivileged process cannot raise a hard limit: never ask for more than we have.
    for (resource, soft, hard) in &mut out {
        // SAFETY: getrlimit writes into a zeroed local struct.
        let current = unsafe {
            let mut current: libc::rlimit = std::mem::zeroed();
            (libc::getrlimit(*resource, &mut current) == 0).then_some(current.rlim_max)
        };
        if let Some(max) = current {
            *hard = (*hard).min(max);
            *soft = (*soft).min(*hard);
        }
    }
    out
}

/// The forked command: own process group, cgroups, rlimits, stdin from /dev/null, exec.
///
/// # Safety
/// Must run in the freshly forked child of the single-threaded reaper; all pointers come from
/// live `CString`s of the parent's stack frame (copied by fork). Never returns.
unsafe fn exec_child(
    program: &CStr,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    cwd: &CStr,
    cgroup_procs: &[CString],
    limits: &RlimitList,
    error_write: libc::c_int,
) -> ! {
    let fail = |error_write: libc::c_int| -> ! {
        let errno = std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL);
        let bytes = errno.to_ne_bytes();
        // SAFETY: writes 4 bytes from a local to the error pipe, then exits the child.
        unsafe {
            libc::write(error_write, bytes.as_ptr().cast(), 4);
            libc::_exit(127)
        }
    };
    // SAFETY: syscalls on valid, NUL-terminated buffers owned by the caller.
    unsafe {
        libc::setpgid(0, 0);
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        let mut default_action: libc::sigaction = std::mem::zeroed();
        default_action.sa_sigaction = libc::SIG_DFL;
        for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGPIPE] {
            libc::sigaction(signal, &default_action, std::ptr::null_mut());
        }
        let pid = libc::getpid().to_string();
        for procs in cgroup_procs {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                fail(error_write);
            }
            if libc::write(fd, pid.as_ptr().cast(), pid.len()) < 0 {
                fail(error_write);
            }
            libc::close(fd);
        }
        for &(resource, soft, hard) in limits {
            let limit = libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            };
            if libc::setrlimit(resource, &limit) != 0 {
                fail(error_write);
            }
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
        if null < 0 || libc::dup2(null, 0) < 0 {
            fail(error_write);
        }
        if null > 2 {
            libc::close(null);
        }
        if libc::chdir(cwd.as_ptr()) != 0 {
            fail(error_write);
        }
        libc::execve(program.as_ptr(), argv.as_ptr(), envp.as_ptr());
        fail(error_write)
    }
}
