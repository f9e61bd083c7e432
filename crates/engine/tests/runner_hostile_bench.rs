//! A hostile benchmark crate run the way perf-fixer runs benchmarks (`cargo bench --offline`
//! in the sandbox): it tries to exfiltrate, fork-bomb, fill the disk and run forever. Every
//! attack fails, and every run still ends with a clear outcome.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sandbox_common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use perf_fixer_engine::runner::{CommandSpec, Runner, SandboxMode};
use sandbox_common::{bwrap_runner, processes_with_arg, unique_number};

struct Fixture {
    root: tempfile::TempDir,
    worktree: PathBuf,
    target: PathBuf,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// The fixture copied into a fresh worktree, fetched and built once in the sandbox.
fn built_fixture(runner: &Runner) -> Fixture {
    let root = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let worktree = root.path().join("tree");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile-bench"),
        &worktree,
    );
    let target = root.path().join("target");
    let fetched = runner.cargo_fetch(&worktree, &target).unwrap();
    assert!(fetched.success(), "{}", fetched.tail(20));
    let fixture = Fixture {
        root,
        worktree,
        target,
    };
    let outcome = runner
        .run(&bench_spec(&fixture, "cargo bench --offline --no-run"))
        .unwrap();
    assert!(outcome.success(), "{}", outcome.tail(30));
    fixture
}

fn bench_spec(fixture: &Fixture, shell: &str) -> CommandSpec {
    let mut spec = CommandSpec::new(shell, &fixture.worktree);
    spec.env.insert(
        "CARGO_TARGET_DIR".into(),
        fixture.target.display().to_string(),
    );
    spec.writable.push(fixture.target.clone());
    spec.limits.wall = Duration::from_secs(300);
    spec
}

fn attack(fixture: &Fixture, mode: &str) -> CommandSpec {
    let mut spec = bench_spec(fixture, "cargo bench --offline --bench attack 2>&1");
    spec.env.insert("HOSTILE_MODE".into(), mode.into());
    spec
}

#[test]
fn hostile_benchmark_attacks_all_fail() {
    let runner = bwrap_runner();
    let fixture = built_fixture(&runner);

    // Exfiltration: network (Postgres and a port of ours), key file, writing outside.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let key = fixture.root.path().join("app-key.pem");
    std::fs::write(&key, "FAKE-SECRET key").unwrap();
    let outside = fixture.root.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let exfil = |runner: &Runner| {
        let mut spec = attack(&fixture, "exfil");
        let port = listener.local_addr().unwrap().port();
        spec.env.insert("HOSTILE_PORT".into(), port.to_string());
        spec.env
            .insert("HOSTILE_FILE".into(), key.display().to_string());
        spec.env
            .insert("HOSTILE_OUTSIDE".into(), outside.display().to_string());
        runner.run(&spec).unwrap()
    };
    let outcome = exfil(&runner);
    assert!(outcome.success(), "{}", outcome.tail(30));
    assert!(
        outcome.stdout.contains("BENCH-DONE"),
        "{}",
        outcome.tail(30)
    );
    assert!(outcome.stdout.contains("bench:"));
    assert!(!outcome.stdout.contains("LEAK"), "{}", outcome.stdout);
    assert!(!outside.join("pwned-by-bench").exists());
    // Control: the same benchmark without the sandbox gets through.
    let outcome = exfil(&Runner::new(SandboxMode::None).unwrap());
    assert!(outcome.stdout.contains("LEAK tcp"), "{}", outcome.stdout);
    assert!(outcome.stdout.contains("LEAK read key file"));
    std::fs::remove_file(outside.join("pwned-by-bench")).unwrap();

    // Fork bomb: bounded by the process limit, ended by the wall clock, nothing survives.
    let mut spec = attack(&fixture, "forkbomb");
    spec.limits.max_processes = Some(64);
    spec.limits.wall = Duration::from_secs(4);
    let started = Instant::now();
    let outcome = runner.run(&spec).unwrap();
    assert!(outcome.timed_out, "{outcome:?}");
    assert!(started.elapsed() < Duration::from_secs(30));

    // Filling the disk: stopped at the file size limit.
    let mut spec = attack(&fixture, "fill");
    spec.limits.file_size_bytes = Some(16 << 20);
    let outcome = runner.run(&spec).unwrap();
    let size = std::fs::metadata(fixture.worktree.join("fill.bin"))
        .unwrap()
        .len();
    assert!(size <= 16 << 20, "wrote {size} bytes");
    assert!(!outcome.success(), "{}", outcome.tail(10));
    assert!(!outcome.stdout.contains("BENCH-DONE"));

    // Running forever, with a child: both gone at the wall clock.
    let marker = unique_number().to_string();
    let mut spec = attack(&fixture, "forever");
    spec.env.insert("HOSTILE_MARKER".into(), marker.clone());
    spec.limits.wall = Duration::from_secs(3);
    let started = Instant::now();
    let outcome = runner.run(&spec).unwrap();
    assert!(outcome.timed_out, "{outcome:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        processes_with_arg(&marker).is_empty(),
        "the benchmark's child survived"
    );
}
