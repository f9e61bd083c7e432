//! Hostile commands that try to reach the network: Postgres on 127.0.0.1:5432, and a loopback
//! port the test itself listens on. Under bubblewrap both must fail (the command has its own
//! network namespace), and the run must still end with a clear outcome. The same command with
//! the sandbox off does connect, which shows the test can tell the difference.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sandbox_common;

use std::net::TcpListener;

use perf_fixer_engine::runner::{Runner, SandboxMode};
use sandbox_common::{bwrap_runner, spec_in};

fn connect_command(port: u16) -> String {
    format!(
        "if bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}' 2>/dev/null; then echo CONNECTED; \
         else echo REFUSED; exit 7; fi"
    )
}

fn accepted(listener: &TcpListener) -> bool {
    listener.set_nonblocking(true).unwrap();
    listener.accept().is_ok()
}

#[test]
fn loopback_port_of_the_test_is_unreachable() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let outcome = bwrap_runner()
        .run(&spec_in(dir.path(), &connect_command(port)))
        .unwrap();
    assert_eq!(outcome.stdout.trim(), "REFUSED", "{outcome:?}");
    assert_eq!(outcome.exit_code, Some(7));
    assert!(
        !accepted(&listener),
        "the sandboxed command reached the test's port"
    );

    // Control: without the sandbox the same command does connect.
    let open = Runner::new(SandboxMode::None).unwrap();
    let outcome = open
        .run(&spec_in(dir.path(), &connect_command(port)))
        .unwrap();
    assert_eq!(outcome.stdout.trim(), "CONNECTED");
    assert!(accepted(&listener));
}

#[test]
fn postgres_port_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = bwrap_runner()
        .run(&spec_in(dir.path(), &connect_command(5432)))
        .unwrap();
    assert_eq!(outcome.stdout.trim(), "REFUSED", "{outcome:?}");
    assert_eq!(outcome.exit_code, Some(7));
    assert!(!outcome.timed_out);
}

#[test]
fn postgres_unix_socket_is_not_visible() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = bwrap_runner()
        .run(&spec_in(
            dir.path(),
            "ls /var/run/postgresql /run/postgresql /tmp/.s.PGSQL.5432 2>/dev/null && echo VISIBLE; \
             bash -c 'exec 3<>/dev/tcp/localhost/5432' 2>/dev/null && echo CONNECTED; echo end",
        ))
        .unwrap();
    assert_eq!(outcome.stdout.trim(), "end", "{outcome:?}");
}

#[test]
fn only_loopback_exists_and_it_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = bwrap_runner()
        .run(&spec_in(dir.path(), "cat /proc/net/dev"))
        .unwrap();
    assert!(outcome.success(), "{outcome:?}");
    let interfaces: Vec<&str> = outcome
        .stdout
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(interfaces, vec!["lo"]);
}
