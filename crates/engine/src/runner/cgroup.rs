//! Per-run cgroups: a process-count limit (`pids`) and a memory limit (`memory`) that, unlike
//! rlimits, hold for the whole process tree and also for root. Used when the worker can
//! create child cgroups of its own (cgroup v1 controllers, or a delegated v2 subtree);
//! otherwise the runner falls back to rlimits.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

const ROOT: &str = "/sys/fs/cgroup";

/// The cgroups of one run, removed on drop.
#[derive(Debug, Default)]
pub(crate) struct RunCgroups {
    dirs: Vec<PathBuf>,
    pub pids_limited: bool,
    pub memory_limited: bool,
}

impl RunCgroups {
    /// Creates the run's cgroups for the limits that are set. Any failure just means "not
    /// available": the caller falls back to rlimits.
    pub fn create(max_processes: Option<u64>, memory_bytes: Option<u64>) -> RunCgroups {
        let mut out = RunCgroups::default();
        let own = own_cgroups();
        let name = format!(
            "perf-fixer-run-{}-{}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed)
        );
        if let Some(max) = max_processes
            && let Some(dir) = make_dir(&own, "pids", &name)
        {
            if std::fs::write(dir.join("pids.max"), max.to_string()).is_ok() {
                out.pids_limited = true;
                out.dirs.push(dir);
            } else {
                let _ = std::fs::remove_dir(&dir);
            }
        }
        if let Some(bytes) = memory_bytes
            && let Some(dir) = make_dir(&own, "memory", &name)
        {
            let v1 = dir.join("memory.limit_in_bytes");
            let written = if v1.exists() {
                std::fs::write(&v1, bytes.to_string()).is_ok()
            } else {
                let ok = std::fs::write(dir.join("memory.max"), bytes.to_string()).is_ok();
                // No swapping around the limit either, where the knob exists.
                let _ = std::fs::write(dir.join("memory.swap.max"), "0");
                ok
            };
            if written {
                out.memory_limited = true;
                out.dirs.push(dir);
            } else {
                let _ = std::fs::remove_dir(&dir);
            }
        }
        out
    }

    /// The `cgroup.procs` files the command must join.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = self.dirs.iter().map(|d| d.join("cgroup.procs")).collect();
        files.dedup();
        files
    }
}

impl Drop for RunCgroups {
    fn drop(&mut self) {
        for dir in &self.dirs {
            // An emptied cgroup can take a moment before the kernel lets it go.
            for _ in 0..50 {
                if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// `(controllers, path)` of this process, from `/proc/self/cgroup`.
fn own_cgroups() -> Vec<(String, String)> {
    let text = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let _id = parts.next()?;
            Some((parts.next()?.to_string(), parts.next()?.to_string()))
        })
        .collect()
}

/// Creates `name` below this process's cgroup for `controller`, v1 first, then v2.
fn make_dir(own: &[(String, String)], controller: &str, name: &str) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    for (controllers, path) in own {
        let rel = path.trim_start_matches('/');
        if controllers.split(',').any(|c| c == controller) {
            candidates.push(Path::new(ROOT).join(controller).join(rel));
        }
        if controllers.is_empty() {
            let v2 = Path::new(ROOT);
            let has = std::fs::read_to_string(v2.join("cgroup.controllers"))
                .is_ok_and(|c| c.split_whitespace().any(|c| c == controller));
            if has {
                candidates.push(v2.join(rel));
            }
        }
    }
    let knob = match controller {
        "pids" => "pids.max",
        _ => "memory.max_usage_in_bytes",
    };
    for base in candidates {
        let dir = base.join(name);
        if std::fs::create_dir(&dir).is_ok() {
            let usable = dir.join(knob).exists()
                || (controller == "memory" && dir.join("memory.max").exists());
            if usable {
                return Some(dir);
            }
            let _ = std::fs::remove_dir(&dir);
        }
    }
    None
}
