//! The runner on ordinary commands: exit codes, signals, output, peak memory, timeouts, and a
//! real offline cargo build inside the sandbox.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sandbox_common;

use std::time::{Duration, Instant};

use perf_fixer_engine::runner::{CancelToken, CommandSpec, RunnerError, SandboxMode};
use sandbox_common::{both_modes, bwrap_runner, spec_in};

#[test]
fn exit_codes_and_output_are_reported() {
    for runner in both_modes() {
        let dir = tempfile::tempdir().unwrap();
        let outcome = runner
            .run(&spec_in(dir.path(), "echo out; echo err >&2; exit 3"))
            .unwrap();
        assert_eq!(outcome.exit_code, Some(3), "{:?}", runner.mode());
        assert_eq!(outcome.signal, None);
        assert!(!outcome.success());
        assert_eq!(outcome.stdout, "out\n");
        assert_eq!(outcome.stderr, "err\n");
        assert_eq!(outcome.tail(5), "out\nerr");
        let ok = runner.run(&spec_in(dir.path(), "true")).unwrap();
        assert!(ok.success());
    }
}

#[test]
fn a_signal_is_reported_as_a_signal() {
    for runner in both_modes() {
        let dir = tempfile::tempdir().unwrap();
        let outcome = runner.run(&spec_in(dir.path(), "kill -SEGV $$")).unwrap();
        assert_eq!(
            outcome.signal,
            Some(libc_sigsegv()),
            "{:?}: {outcome:?}",
            runner.mode()
        );
        assert_eq!(outcome.exit_code, None);
        assert!(outcome.status_text().contains("signal 11"));
    }
}

fn libc_sigsegv() -> i32 {
    11
}

#[test]
fn peak_rss_of_a_200_mib_command_is_measured() {
    // The worker itself is large: its size must not leak into the figures of its commands.
    let ballast = vec![1u8; 300 << 20];
    std::hint::black_box(&ballast);
    for runner in both_modes() {
        let dir = tempfile::tempdir().unwrap();
        // dd reads 210 MiB from /dev/zero into one buffer, touching every page.
        let outcome = runner
            .run(&spec_in(
                dir.path(),
                "dd if=/dev/zero of=/dev/null bs=210M count=1 2>/dev/null",
            ))
            .unwrap();
        assert!(outcome.success(), "{outcome:?}");
        assert!(
            outcome.peak_rss_kib >= 200 * 1024,
            "{:?}: {} KiB",
            runner.mode(),
            outcome.peak_rss_kib
        );
        // And a small command is measured small: the worker's own size does not leak in.
        let small = runner.run(&spec_in(dir.path(), "true")).unwrap();
        assert!(
            small.peak_rss_kib < 50 * 1024,
            "{:?}: {} KiB",
            runner.mode(),
            small.peak_rss_kib
        );
    }
}

#[test]
fn a_child_of_a_child_counts_for_peak_rss() {
    let runner = bwrap_runner();
    let dir = tempfile::tempdir().unwrap();
    let outcome = runner
        .run(&spec_in(
            dir.path(),
            "sh -c 'sh -c \"dd if=/dev/zero of=/dev/null bs=120M count=1 2>/dev/null\"'; echo done",
        ))
        .unwrap();
    assert!(outcome.success());
    assert!(
        outcome.peak_rss_kib >= 120 * 1024,
        "{}",
        outcome.peak_rss_kib
    );
}

#[test]
fn cancel_stops_the_command() {
    let runner = bwrap_runner();
    let dir = tempfile::tempdir().unwrap();
    let token = CancelToken::new();
    let mut spec = spec_in(dir.path(), "sleep 30");
    spec.cancel = Some(token.clone());
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        token.cancel();
    });
    let started = Instant::now();
    let outcome = runner.run(&spec).unwrap();
    canceller.join().unwrap();
    assert!(outcome.cancelled);
    assert!(!outcome.success());
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn an_already_cancelled_token_ends_the_run_at_once() {
    for runner in both_modes() {
        let dir = tempfile::tempdir().unwrap();
        let token = CancelToken::new();
        token.cancel();
        let mut spec = spec_in(dir.path(), "sleep 30");
        spec.cancel = Some(token);
        let outcome = runner.run(&spec).unwrap();
        assert!(outcome.cancelled, "{outcome:?}");
        assert!(outcome.wall < Duration::from_secs(10));
        assert_eq!(outcome.status_text(), "cancelled");
    }
}

#[test]
fn secrets_in_env_are_refused() {
    let runner = bwrap_runner();
    let dir = tempfile::tempdir().unwrap();
    for name in ["GITHUB_TOKEN", "DATABASE_URL", "MY_SECRET", "APP_KEY"] {
        let mut spec = spec_in(dir.path(), "true");
        spec.env.insert(name.to_string(), "x".into());
        let err = runner.run(&spec).unwrap_err();
        assert!(
            matches!(err, RunnerError::SecretEnv { .. }),
            "{name}: {err}"
        );
        assert!(err.to_string().contains(name));
    }
    let mut spec = spec_in(dir.path(), "echo $RUSTFLAGS");
    spec.env.insert("RUSTFLAGS".into(), "-Cdebuginfo=0".into());
    assert_eq!(runner.run(&spec).unwrap().stdout, "-Cdebuginfo=0\n");
}

#[test]
fn registered_secrets_are_scrubbed_from_output() {
    let scrubber = perf_fixer_engine::secret::Scrubber::new().with("ghs_FAKEtoken0123456789");
    let runner = bwrap_runner().with_scrubber(scrubber);
    let dir = tempfile::tempdir().unwrap();
    let outcome = runner
        .run(&spec_in(
            dir.path(),
            "echo token=ghs_FAKEtoken0123456789; echo ghs_FAKEtoken0123456789 >&2; exit 1",
        ))
        .unwrap();
    assert_eq!(outcome.stdout, "token=[redacted]\n");
    assert!(!outcome.tail(10).contains("ghs_FAKE"));
}

#[test]
fn system_and_home_directories_are_never_writable() {
    let runner = bwrap_runner();
    let dir = tempfile::tempdir().unwrap();
    let home = std::env::var("HOME").unwrap();
    let registry = std::env::var("CARGO_HOME")
        .map(|c| format!("{c}/registry"))
        .unwrap_or_else(|_| format!("{home}/.cargo/registry"));
    std::fs::create_dir_all(&registry).unwrap();
    for bad in ["/", "/usr", "/etc", home.as_str(), registry.as_str()] {
        let mut spec = spec_in(dir.path(), "true");
        spec.writable.push(bad.into());
        let err = runner.run(&spec).unwrap_err();
        assert!(
            matches!(err, RunnerError::UnsafeWritable { .. }),
            "{bad}: {err}"
        );
        let err = runner
            .run(&spec_in(std::path::Path::new(bad), "true"))
            .unwrap_err();
        assert!(
            matches!(err, RunnerError::UnsafeWritable { .. }),
            "cwd {bad}: {err}"
        );
    }
}

#[test]
fn missing_working_dir_is_a_clear_error() {
    let runner = bwrap_runner();
    let err = runner
        .run(&CommandSpec::new("true", "/nonexistent/perf-fixer-wt"))
        .unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/perf-fixer-wt"),
        "{err}"
    );
}

#[test]
fn sandbox_none_still_runs_and_kills_on_timeout() {
    let runner = perf_fixer_engine::runner::Runner::new(SandboxMode::None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec_in(dir.path(), "sleep 30");
    spec.limits.wall = Duration::from_millis(300);
    let outcome = runner.run(&spec).unwrap();
    assert!(outcome.timed_out);
    assert!(outcome.wall < Duration::from_secs(10));
    assert!(
        runner
            .sandbox_warning()
            .unwrap()
            .contains("WITHOUT isolation")
    );
    assert_eq!(bwrap_runner().sandbox_warning(), None);
}
