//! `perf-fixer demo`: a small word-statistics crate, bundled in the binary, committed into a
//! fresh git repository in four steps, one of which makes `top_words` about twice as slow
//! while also adding a wanted feature (case-insensitive counting). Then the whole `fix` runs
//! on it and the PR body it would open is printed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clap::Args;
use perf_fixer_engine::fix::{self, FixRequest};

use crate::compare_cmd::{RunArgs, interrupt_token};
use crate::exit;
use crate::fix_cmd::{outcome_code, write_outputs};
use crate::progress::StderrProgress;

const CARGO_TOML: &str = include_str!("../demo/Cargo.toml.txt");
const CONFIG: &str = include_str!("../demo/perf-fixer.toml.txt");
const BENCH: &str = include_str!("../demo/bench.rs.txt");
const LIB_V1: &str = include_str!("../demo/lib_v1.rs.txt");
const LIB_V2: &str = include_str!("../demo/lib_v2.rs.txt");
const LIB_V3: &str = include_str!("../demo/lib_v3.rs.txt");
const LIB_V4: &str = include_str!("../demo/lib_v4.rs.txt");
const TESTS_V1: &str = include_str!("../demo/tests_v1.rs.txt");
const TESTS_V2: &str = include_str!("../demo/tests_v2.rs.txt");
const TESTS_V3: &str = include_str!("../demo/tests_v3.rs.txt");

#[derive(Args)]
pub struct DemoArgs {
    /// Create the demo repository here (kept afterwards) instead of a temp dir (removed).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Write the JSON report here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// The demo history: (message, files) per commit, oldest first.
fn history() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    vec![
        (
            "Word statistics library",
            vec![
                ("Cargo.toml", CARGO_TOML),
                (".perf-fixer.toml", CONFIG),
                (".gitignore", "/target\n"),
                ("benches/words.rs", BENCH),
                ("src/lib.rs", LIB_V1),
                ("tests/words.rs", TESTS_V1),
            ],
        ),
        (
            "Add unique_words",
            vec![("src/lib.rs", LIB_V2), ("tests/words.rs", TESTS_V2)],
        ),
        (
            "Count words case-insensitively, keep counts sorted",
            vec![("src/lib.rs", LIB_V3), ("tests/words.rs", TESTS_V3)],
        ),
        ("Document top_words", vec![("src/lib.rs", LIB_V4)]),
    ]
}

/// Writes the demo history into a new git repository at `dir`; returns (base, head) SHAs.
pub fn create_repository(dir: &Path) -> Result<(String, String), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let git = |args: &[&str]| -> Result<String, String> {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=Demo",
                "-c",
                "user.email=demo@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(dir)
            .output()
            .map_err(|e| format!("running git (is it installed?): {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    git(&["init", "-q", "-b", "main"])?;
    let mut shas = Vec::new();
    for (message, files) in history() {
        for (path, content) in files {
            let full = dir.join(path);
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("creating {}: {e}", parent.display()))?;
            }
            std::fs::write(&full, content)
                .map_err(|e| format!("writing {}: {e}", full.display()))?;
        }
        git(&["add", "-A"])?;
        git(&["commit", "-q", "-m", message])?;
        shas.push(git(&["rev-parse", "HEAD"])?);
    }
    match (shas.first(), shas.last()) {
        (Some(base), Some(head)) => Ok((base.clone(), head.clone())),
        _ => Err("the demo history is empty".to_string()),
    }
}

pub fn run(args: DemoArgs) -> u8 {
    let temp;
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => match tempfile::Builder::new()
            .prefix("perf-fixer-demo-")
            .tempdir()
        {
            Ok(t) => {
                temp = t;
                temp.path().to_path_buf()
            }
            Err(e) => {
                eprintln!("perf-fixer: creating a temp dir for the demo: {e}");
                return exit::ERROR;
            }
        },
    };
    let (base, head) = match create_repository(&dir) {
        Ok(revs) => revs,
        Err(message) => {
            eprintln!("perf-fixer: {message}");
            return exit::ERROR;
        }
    };
    eprintln!(
        "perf-fixer: demo repository at {} (base {base:.10}, head {head:.10})",
        dir.display()
    );
    let request = FixRequest {
        repo: dir.clone(),
        base,
        head,
        sandbox: args.run.sandbox,
        bench_filter: None,
        cancel: interrupt_token(),
        command_timeout: Duration::from_secs(args.run.timeout_secs),
        branch: None,
        scrubber: Default::default(),
    };
    let progress = StderrProgress::new();
    let result = fix::fix(&request, &progress);
    progress.finish();
    match result {
        Ok(result) => match write_outputs(&result, args.report.as_ref(), None) {
            Ok(body) => {
                println!("{body}");
                if let (Some(branch), Some(_)) = (&result.branch, &args.dir) {
                    eprintln!(
                        "perf-fixer: the fix is on branch {branch} in {}",
                        dir.display()
                    );
                }
                outcome_code(&result)
            }
            Err(message) => {
                eprintln!("perf-fixer: {message}");
                exit::ERROR
            }
        },
        Err(e) if e.is_cancelled() => exit::INTERRUPTED,
        Err(e) => {
            eprintln!("perf-fixer: {e}");
            exit::ERROR
        }
    }
}
