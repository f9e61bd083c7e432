//! Helpers shared by the runner and sandbox tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use perf_fixer_engine::runner::{CommandSpec, Runner, SandboxMode};

pub fn bwrap_runner() -> Runner {
    Runner::new(SandboxMode::Bwrap).expect("bubblewrap works on the test machine")
}

pub fn both_modes() -> Vec<Runner> {
    vec![bwrap_runner(), Runner::new(SandboxMode::None).unwrap()]
}

/// A command in `dir` with a short wall clock, so that a failing test stays fast.
pub fn spec_in(dir: &Path, shell: &str) -> CommandSpec {
    let mut spec = CommandSpec::new(shell, dir);
    spec.limits.wall = Duration::from_secs(30);
    spec
}

/// Pids of host processes whose command line contains `needle` (as a whole argument).
pub fn processes_with_arg(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if cmdline
            .split(|b| *b == 0)
            .any(|arg| arg == needle.as_bytes())
        {
            out.push(pid);
        }
    }
    out
}

/// A number unlikely to appear in any other process's command line.
pub fn unique_number() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    100_000 + (nanos ^ u64::from(std::process::id())) % 800_000
}
