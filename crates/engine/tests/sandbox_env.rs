//! A hostile command that reads the worker's environment. The test process holds fake secrets
//! (an installation token, a database URL, the App key path); none may reach the command,
//! through its own environment or any process it can see.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Setting variables of this process needs `unsafe` since Rust 2024.
#![allow(unsafe_code)]

mod sandbox_common;

use perf_fixer_engine::runner::SandboxMode;
use sandbox_common::{both_modes, spec_in};

const FAKES: &[(&str, &str)] = &[
    ("GITHUB_TOKEN", "ghs_FAKE-SECRET-token-0001"),
    (
        "DATABASE_URL",
        "postgres://perf:FAKE-SECRET-pw@127.0.0.1/perf",
    ),
    ("GITHUB_PRIVATE_KEY_PATH", "/srv/FAKE-SECRET/app-key.pem"),
    ("GITHUB_WEBHOOK_SECRET", "FAKE-SECRET-webhook"),
    ("AWS_SECRET_ACCESS_KEY", "FAKE-SECRET-aws"),
];

// The only test in this binary, so nothing reads the environment while it is being set.
#[test]
fn worker_environment_does_not_reach_the_command() {
    for (name, value) in FAKES {
        // SAFETY: no other thread of this test binary runs or reads the environment now.
        unsafe { std::env::set_var(name, value) };
    }
    let me = std::process::id();
    for runner in both_modes() {
        let dir = tempfile::tempdir().unwrap();
        // Under bubblewrap the command also reads every process it can see; without a sandbox
        // it sees the whole host (other programs' environments), so only its own is checked.
        let snoop = if runner.mode() == SandboxMode::Bwrap {
            format!(
                "cat /proc/{me}/environ /proc/$PPID/environ 2>/dev/null | tr '\\0' '\\n'; \
                 for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ 2>/dev/null; done;"
            )
        } else {
            String::new()
        };
        let shell = format!("env; echo ---; {snoop} echo END");
        let outcome = runner.run(&spec_in(dir.path(), &shell)).unwrap();
        assert!(outcome.success(), "{outcome:?}");
        assert!(
            outcome.stdout.contains("CARGO_TERM_COLOR=never"),
            "the command ran: {}",
            outcome.stdout
        );
        assert!(outcome.stdout.ends_with("END\n"));
        for (name, _) in FAKES {
            assert!(
                !outcome.stdout.contains(&format!("{name}=")),
                "{:?} leaked {name}",
                runner.mode()
            );
        }
        assert!(
            !outcome.stdout.contains("FAKE-SECRET"),
            "{:?} leaked a secret value:\n{}",
            runner.mode(),
            outcome.stdout
        );
    }
}
