//! Profiling the regressed benchmark at the culprit's parent and at the culprit: the bench
//! executables are built with debug line tables (through cargo's environment overrides, never
//! by editing the user's files) into a target dir of their own, run under `perf record -e
//! cpu-clock` (or callgrind where perf is not allowed), and the functions whose cost grew most
//! become the suspects, with their files and line spans.

use std::path::{Path, PathBuf};

use git2::{Oid, Repository};
use perf_fixer_bench::profile::{self, Profile};
use perf_fixer_core::report::{FlameGraphData, SuspectReport};

use crate::git::Checkout;
use crate::localize::Suspect;
use crate::measure::{Context, MeasureError, Site};

mod flame;
pub use flame::{MAX_DEPTH, MAX_FRAME_CHARS, MAX_NAME_BYTES, MAX_STACKS, flame_graph_data};

/// Suspects kept: the functions that explain most of the growth.
const MAX_SUSPECTS: usize = 8;
/// A function must account for this share of the growth to be a suspect.
const MIN_SHARE: f64 = 0.02;

#[derive(Debug, thiserror::Error)]
pub enum ProfilingError {
    #[error("the bench command is not `cargo bench ...`; profiling needs the bench executables")]
    NotCargoBench,
    #[error("building the benchmarks with line tables failed at {side}: {status}\n{tail}")]
    Build {
        side: String,
        status: String,
        tail: String,
    },
    #[error("no bench executable found in cargo's build output at {side}")]
    NoExecutable { side: String },
    #[error("{tool} failed at {side}: {status}\n{tail}")]
    Profiler {
        tool: &'static str,
        side: String,
        status: String,
        tail: String,
    },
    #[error("reading the profile at {side}: {source}")]
    Parse {
        side: String,
        source: profile::ProfileError,
    },
    #[error(transparent)]
    Measure(#[from] MeasureError),
    #[error(transparent)]
    Git(#[from] crate::git::GitError),
}

/// What the two profiles say.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    /// Functions of the repository's own code whose cost grew, with files relative to the
    /// repository root, largest growth first.
    pub suspects: Vec<Suspect>,
    /// The same, for the report.
    pub reports: Vec<SuspectReport>,
    /// Functions outside the repository (std, dependencies) whose cost grew, with their share
    /// of the growth: the culprit may have started calling them.
    pub library: Vec<(String, f64)>,
    /// Both profiles' call stacks, capped, for the report's differential flame graph (see
    /// [`flame_graph_data`]); `None` when the profiles hold no stacks.
    pub flame_graph: Option<FlameGraphData>,
}

/// Profiles `parent` and `culprit` and ranks what grew.
pub fn suspects(
    ctx: &Context<'_>,
    repo: &Repository,
    parent: Oid,
    culprit: Oid,
) -> Result<Findings, ProfilingError> {
    let cargo_args =
        cargo_bench_args(&ctx.config.bench.command).ok_or(ProfilingError::NotCargoBench)?;
    let before_site = Site::new("parent", Checkout::create(repo, "parent", parent)?);
    let before = profile_site(ctx, &before_site, &cargo_args)?;
    let after_site = Site::new("culprit", Checkout::create(repo, "culprit", culprit)?);
    let after = profile_site(ctx, &after_site, &cargo_args)?;
    let mut findings = rank(&before, &after, before_site.dir(), after_site.dir());
    findings.flame_graph = flame::flame_graph_data(&before, &after);
    Ok(findings)
}

/// The suspects: functions of the repository's own code whose cost grew, largest first; and
/// the library functions whose cost grew.
fn rank(before: &Profile, after: &Profile, parent_root: &Path, culprit_root: &Path) -> Findings {
    // Library functions, from the raw profiles: the culprit may have started calling them.
    let library: Vec<(String, f64)> = profile::diff_profiles(before, after)
        .into_iter()
        .filter(|d| d.significant && d.growth_share >= MIN_SHARE)
        .filter(|d| {
            after
                .function(&d.function)
                .is_some_and(|f| f.file_in(culprit_root).is_none())
        })
        .take(MAX_SUSPECTS)
        .map(|d| (d.function, d.growth_share))
        .collect();
    // The repository's own functions, with the library code they call charged to them, so a
    // function that started calling something slow carries that cost.
    let own_before = before.attributed_where(|f| f.file_in(parent_root).is_some());
    let own_after = after.attributed_where(|f| f.file_in(culprit_root).is_some());
    let mut suspects = Vec::new();
    for d in profile::diff_profiles(&own_before, &own_after) {
        if !d.significant || d.growth_share < MIN_SHARE || suspects.len() >= MAX_SUSPECTS {
            continue;
        }
        let Some(cost) = own_after.function(&d.function) else {
            continue;
        };
        let Some(file) = cost.file_in(culprit_root) else {
            continue;
        };
        let (Some(start_line), Some(end_line)) = (cost.start_line, cost.end_line) else {
            continue;
        };
        suspects.push(Suspect {
            function: d.function.clone(),
            file,
            start_line,
            end_line,
            cost_delta: d.self_growth,
            share: d.growth_share,
        });
    }
    let mut reports: Vec<SuspectReport> = suspects
        .iter()
        .map(|s| SuspectReport {
            function: s.function.clone(),
            file: Some(s.file.clone()),
            start_line: Some(s.start_line),
            end_line: Some(s.end_line),
            share_pct: s.share * 100.0,
        })
        .collect();
    reports.extend(library.iter().map(|(function, share)| SuspectReport {
        function: function.clone(),
        file: None,
        start_line: None,
        end_line: None,
        share_pct: share * 100.0,
    }));
    Findings {
        suspects,
        reports,
        library,
        flame_graph: None,
    }
}

/// `cargo bench ARGS -- BENCH_ARGS` → (ARGS, BENCH_ARGS).
fn cargo_bench_args(command: &str) -> Option<(String, String)> {
    let rest = command.trim().strip_prefix("cargo bench")?;
    if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
        return None;
    }
    let (cargo, bench) = rest.split_once(" -- ").unwrap_or((rest, ""));
    Some((cargo.trim().to_string(), bench.trim().to_string()))
}

/// A bench executable and the directory cargo would run it in (its package root).
struct BenchExecutable {
    path: PathBuf,
    package_root: PathBuf,
}

fn profile_site(
    ctx: &Context<'_>,
    site: &Site,
    (cargo_args, bench_args): &(String, String),
) -> Result<Profile, ProfilingError> {
    let target = site.dir().join("target").join("perf-fixer-profile");
    let mut spec = site.spec(
        ctx,
        &format!("cargo bench {cargo_args} --no-run --message-format=json"),
    );
    spec.env
        .insert("CARGO_TARGET_DIR".into(), target.display().to_string());
    spec.env.insert(
        "CARGO_PROFILE_BENCH_DEBUG".into(),
        "line-tables-only".into(),
    );
    spec.env.insert(
        "CARGO_PROFILE_RELEASE_DEBUG".into(),
        "line-tables-only".into(),
    );
    spec.env
        .insert("CARGO_PROFILE_BENCH_STRIP".into(), "none".into());
    spec.env
        .insert("CARGO_PROFILE_RELEASE_STRIP".into(), "none".into());
    let built = ctx.runner.run(&spec).map_err(MeasureError::from)?;
    if built.cancelled {
        return Err(MeasureError::Cancelled.into());
    }
    if !built.success() {
        return Err(ProfilingError::Build {
            side: site.label.to_string(),
            status: built.status_text(),
            tail: built.tail(15),
        });
    }
    let executables = bench_executables(&built.stdout);
    let Some(exe) = executables.first() else {
        return Err(ProfilingError::NoExecutable {
            side: site.label.to_string(),
        });
    };
    let bench_args = if bench_args.is_empty() {
        "--bench".to_string()
    } else {
        format!("--bench {bench_args}")
    };
    let run = |shell: String| -> Result<crate::runner::Outcome, ProfilingError> {
        let mut spec = site.spec(ctx, &shell);
        spec.cwd = exe.package_root.clone();
        spec.writable.push(target.clone());
        let outcome = ctx.runner.run(&spec).map_err(MeasureError::from)?;
        if outcome.cancelled {
            return Err(MeasureError::Cancelled.into());
        }
        Ok(outcome)
    };
    let exe_path = shell_path(&exe.path);
    let data = target.join("perf.data");
    let recorded = run(format!(
        "perf record -q -e cpu-clock -c 1000000 --call-graph dwarf,16384 -o {} -- {exe_path} {bench_args} >/dev/null",
        shell_path(&data)
    ))?;
    if recorded.success() {
        let script = run(format!(
            "perf script -i {} -F comm,ip,sym,srcline --full-source-path",
            shell_path(&data)
        ))?;
        if script.success() {
            return profile::parse_perf_script(&script.stdout).map_err(|source| {
                ProfilingError::Parse {
                    side: site.label.to_string(),
                    source,
                }
            });
        }
    }
    // perf is often refused in containers: callgrind counts instructions without it.
    let out = target.join("callgrind.out");
    let cg = run(format!(
        "valgrind --tool=callgrind --dump-instr=no --callgrind-out-file={} {exe_path} {bench_args} >/dev/null",
        shell_path(&out)
    ))?;
    if !cg.success() {
        return Err(ProfilingError::Profiler {
            tool: "perf and callgrind",
            side: site.label.to_string(),
            status: cg.status_text(),
            tail: format!("{}\n{}", recorded.tail(5), cg.tail(10)),
        });
    }
    let text = std::fs::read_to_string(&out).map_err(|e| ProfilingError::Profiler {
        tool: "callgrind",
        side: site.label.to_string(),
        status: format!("no output file ({e})"),
        tail: cg.tail(10),
    })?;
    profile::parse_callgrind(&text).map_err(|source| ProfilingError::Parse {
        side: site.label.to_string(),
        source,
    })
}

fn shell_path(path: &Path) -> String {
    crate::compare::shell_quote(&path.display().to_string())
}

/// Bench executables from `cargo --message-format=json` output, with their package roots.
fn bench_executables(stdout: &str) -> Vec<BenchExecutable> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact")
        .filter(|msg| {
            msg["target"]["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bench"))
        })
        .filter_map(|msg| {
            let path = PathBuf::from(msg["executable"].as_str()?);
            let src = PathBuf::from(msg["target"]["src_path"].as_str()?);
            let package_root = src
                .ancestors()
                .skip(1)
                .find(|d| d.join("Cargo.toml").exists())?
                .to_path_buf();
            Some(BenchExecutable { path, package_root })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cargo_bench_arguments() {
        assert_eq!(
            cargo_bench_args("cargo bench --bench parse -- --noplot"),
            Some(("--bench parse".to_string(), "--noplot".to_string()))
        );
        assert_eq!(
            cargo_bench_args("cargo bench"),
            Some((String::new(), String::new()))
        );
        assert_eq!(cargo_bench_args("make bench"), None);
    }

    #[test]
    fn finds_bench_executables_in_cargo_messages() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(dir.path().join("benches")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("Cargo.toml"), "").unwrap_or_else(|e| panic!("{e}"));
        let src = dir.path().join("benches/words.rs");
        let messages = format!(
            "{{\"reason\":\"compiler-artifact\",\"target\":{{\"kind\":[\"lib\"],\"src_path\":\"{0}\"}},\"executable\":null}}\n\
             {{\"reason\":\"compiler-artifact\",\"target\":{{\"kind\":[\"bench\"],\"src_path\":\"{0}\"}},\"executable\":\"/t/release/deps/words-123\"}}\n\
             {{\"reason\":\"build-finished\",\"success\":true}}\n",
            src.display()
        );
        let found = bench_executables(&messages);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, PathBuf::from("/t/release/deps/words-123"));
        assert_eq!(found[0].package_root, dir.path());
    }
}
