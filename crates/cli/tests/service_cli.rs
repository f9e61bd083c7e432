//! `perf-fixer serve | worker | migrate` as an operator runs them: settings problems listed at
//! once with exit 2, database errors without the password, and a clean exit on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn perf_fixer(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_perf-fixer"));
    cmd.args(args).env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

#[test]
fn missing_settings_are_all_listed_with_exit_2() {
    let out = perf_fixer(&["serve"], &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for name in [
        "DATABASE_URL",
        "GITHUB_APP_ID",
        "GITHUB_PRIVATE_KEY_PATH",
        "GITHUB_WEBHOOK_SECRET",
    ] {
        assert!(stderr.contains(name), "{name} missing from:\n{stderr}");
    }
    let out = perf_fixer(&["worker"], &[("PERF_FIXER_WORKERS", "lots")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PERF_FIXER_WORKERS='lots'"), "{stderr}");
    assert!(
        !stderr.contains("GITHUB_WEBHOOK_SECRET"),
        "workers need no webhook secret: {stderr}"
    );
}

#[test]
fn an_unreachable_database_is_an_error_without_the_password() {
    let out = perf_fixer(
        &["migrate"],
        &[(
            "DATABASE_URL",
            "postgres://user:hunter2@127.0.0.1:1/nothing",
        )],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("127.0.0.1:1"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

fn psql(sql: &str) -> bool {
    Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-qc",
            sql,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Needs Postgres on 127.0.0.1:5432 and `psql` and `openssl`: skipped (with a note) otherwise.
#[test]
fn serve_migrates_answers_health_checks_and_exits_cleanly_on_sigterm() {
    let db = format!("perf_fixer_cli_serve_{}", std::process::id());
    if !psql(&format!("CREATE DATABASE {db}")) {
        eprintln!("skipped: no Postgres reachable with psql on 127.0.0.1:5432");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    let made = Command::new("openssl")
        .args(["genrsa", "-traditional", "-out"])
        .arg(&key)
        .arg("2048")
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let url = format!("postgres://postgres@127.0.0.1:5432/{db}");
    let mut child = perf_fixer(
        &["serve"],
        &[
            ("DATABASE_URL", &url),
            ("GITHUB_APP_ID", "1"),
            ("GITHUB_PRIVATE_KEY_PATH", key.to_str().unwrap()),
            ("GITHUB_WEBHOOK_SECRET", "s3cret"),
            ("PERF_FIXER_LISTEN", &listen),
            ("PERF_FIXER_WORKERS", "1"),
            (
                "PERF_FIXER_WORKDIR",
                dir.path().join("work").to_str().unwrap(),
            ),
        ],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();

    let started = Instant::now();
    let mut ready = false;
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(mut stream) = std::net::TcpStream::connect(&listen) {
            use std::io::{Read, Write};
            stream
                .write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") {
                ready = true;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if stopping.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use std::io::Read;
        let _ = pipe.read_to_string(&mut stderr);
    }
    psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
    assert!(ready, "never ready:\n{stderr}");
    let status = status.expect("serve did not exit within 20 s of SIGTERM");
    assert_eq!(status.code(), Some(0), "{stderr}");
    // JSON log lines.
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with('{') && l.contains("perf-fixer serving")),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");
}
