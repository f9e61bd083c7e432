//! Real cargo builds inside the sandbox: `cargo fetch` (network, no secrets) then an offline
//! build of a tiny crate, and a hostile build script whose every attack must fail while the
//! build still succeeds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sandbox_common;

use std::net::TcpListener;
use std::path::Path;

use perf_fixer_engine::runner::{Runner, SandboxMode};
use sandbox_common::{bwrap_runner, spec_in};

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

#[test]
fn tiny_crate_builds_offline_in_the_sandbox_after_fetch() {
    let root = tempfile::tempdir().unwrap();
    let worktree = root.path().join("tree");
    std::fs::create_dir_all(worktree.join("src")).unwrap();
    std::fs::write(
        worktree.join("Cargo.toml"),
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(
        worktree.join("src/main.rs"),
        "fn main() { println!(\"tiny says hi\"); }\n",
    )
    .unwrap();
    let target = root.path().join("target");
    let runner = bwrap_runner();
    let fetched = runner.cargo_fetch(&worktree, &target).unwrap();
    assert!(fetched.success(), "{}", fetched.tail(20));

    let mut spec = spec_in(&worktree, "cargo build --offline && ./../target/debug/tiny");
    spec.env
        .insert("CARGO_TARGET_DIR".into(), target.display().to_string());
    spec.writable.push(target.clone());
    spec.limits.wall = std::time::Duration::from_secs(300);
    let outcome = runner.run(&spec).unwrap();
    assert!(outcome.success(), "{}", outcome.tail(30));
    assert!(outcome.stdout.contains("tiny says hi"));
    assert!(target.join("debug/tiny").is_file());
}

#[test]
fn hostile_build_script_gets_nothing_and_the_build_still_finishes() {
    let root = tempfile::tempdir().unwrap();
    let worktree = root.path().join("tree");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile-build"),
        &worktree,
    );
    let secret_file = root.path().join("app-key.pem");
    std::fs::write(&secret_file, "FAKE-SECRET key").unwrap();
    let outside = root.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let target = root.path().join("target");

    let build = |runner: &Runner| {
        let mut spec = spec_in(&worktree, "cargo build --offline -vv 2>&1");
        spec.env
            .insert("CARGO_TARGET_DIR".into(), target.display().to_string());
        spec.env.insert("HOSTILE_PORT".into(), port.to_string());
        spec.env
            .insert("HOSTILE_FILE".into(), secret_file.display().to_string());
        spec.env
            .insert("HOSTILE_OUTSIDE".into(), outside.display().to_string());
        spec.writable.push(target.clone());
        spec.limits.wall = std::time::Duration::from_secs(300);
        runner.run(&spec).unwrap()
    };
    let outcome = build(&bwrap_runner());
    assert!(outcome.success(), "{}", outcome.tail(30));
    assert!(
        outcome.stdout.contains("HOSTILE-DONE"),
        "{}",
        outcome.tail(30)
    );
    assert!(!outcome.stdout.contains("LEAK"), "{}", outcome.stdout);
    assert!(!outside.join("pwned-by-build-script").exists());

    // Control: unsandboxed, the same build script does get through.
    std::fs::remove_dir_all(&target).unwrap();
    let outcome = build(&Runner::new(SandboxMode::None).unwrap());
    assert!(outcome.stdout.contains("LEAK tcp"), "{}", outcome.stdout);
    assert!(outcome.stdout.contains("LEAK read HOSTILE_FILE"));
}
