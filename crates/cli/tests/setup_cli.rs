//! `perf-fixer serve` in setup mode and with the App settings file, as an operator runs it: no
//! database and no App needed for /setup, exit 2 without a public URL, and the settings /setup
//! writes picked up at the next start.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
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

/// One HTTP/1.1 request; the whole answer, or None while nothing listens.
fn http(listen: &str, request: &str) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(listen).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

#[test]
fn setup_mode_serves_setup_without_database_or_app_and_refuses_webhooks() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let env_file = dir.path().join("app.env");
    let mut child = perf_fixer(
        &["serve"],
        &[
            ("PERF_FIXER_SETUP", "1"),
            ("PERF_FIXER_PUBLIC_URL", "https://pf.example.org"),
            ("PERF_FIXER_LISTEN", &listen),
            ("PERF_FIXER_APP_ENV_FILE", env_file.to_str().unwrap()),
        ],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();

    let started = Instant::now();
    let mut page = None;
    while started.elapsed() < Duration::from_secs(30) {
        if let Some(answer) = http(
            &listen,
            "GET /setup HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        ) {
            page = Some(answer);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let webhook = http(
        &listen,
        "POST /webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
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
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();

    let page = page.unwrap_or_else(|| panic!("/setup never answered; stderr:\n{stderr}"));
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains("action=\"https://github.com/settings/apps/new?state="),
        "{page}"
    );
    assert!(page.contains(env_file.to_str().unwrap()), "{page}");
    let webhook = webhook.unwrap();
    assert!(webhook.starts_with("HTTP/1.1 503"), "{webhook}");
    assert!(
        webhook.contains("https://pf.example.org/setup"),
        "{webhook}"
    );
    assert!(
        stderr.contains("\"setup_url\":\"https://pf.example.org/setup\""),
        "{stderr}"
    );
    assert_eq!(status.map(|s| s.code()), Some(Some(0)), "{stderr}");
    assert!(!env_file.exists(), "nothing is written before a callback");
}

#[test]
fn setup_mode_without_a_public_url_exits_2() {
    let out = perf_fixer(&["serve", "--setup"], &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("PERF_FIXER_PUBLIC_URL is not set"),
        "{stderr}"
    );
    assert!(!stderr.contains("DATABASE_URL"), "{stderr}");
}

#[test]
fn serve_takes_the_app_settings_from_the_file_setup_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("app.pem");
    std::fs::write(
        &key,
        "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n",
    )
    .unwrap();
    let env_file = dir.path().join("app.env");
    std::fs::write(
        &env_file,
        format!(
            "# written by /setup\nGITHUB_APP_ID=77\nGITHUB_PRIVATE_KEY_PATH={}\nGITHUB_WEBHOOK_SECRET=abc\n",
            key.display()
        ),
    )
    .unwrap();
    // Without a database the start stops at exit 2, listing what is missing: the App settings
    // are not among them.
    let out = perf_fixer(
        &["serve"],
        &[("PERF_FIXER_APP_ENV_FILE", env_file.to_str().unwrap())],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("DATABASE_URL is not set"), "{stderr}");
    assert!(!stderr.contains("GITHUB_"), "{stderr}");

    // Without the file, the same start names every App setting.
    std::fs::remove_file(&env_file).unwrap();
    let out = perf_fixer(
        &["serve"],
        &[("PERF_FIXER_APP_ENV_FILE", env_file.to_str().unwrap())],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    for name in [
        "GITHUB_APP_ID",
        "GITHUB_PRIVATE_KEY_PATH",
        "GITHUB_WEBHOOK_SECRET",
    ] {
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
}
