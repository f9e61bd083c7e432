//! Hostile commands against the machine: fork bombs, filling the disk, eating memory and CPU,
//! running forever, leaving processes behind. Each is stopped by a limit, the run ends with a
//! clear outcome, and no process of it survives.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sandbox_common;

use std::time::{Duration, Instant};

use sandbox_common::{both_modes, bwrap_runner, processes_with_arg, spec_in, unique_number};

/// Waits a little for processes to disappear (the kernel reaps asynchronously).
fn gone(needle: &str) -> bool {
    for _ in 0..50 {
        if processes_with_arg(needle).is_empty() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn fork_bomb_is_bounded_by_the_process_limit_and_killed() {
    for runner in both_modes() {
        let dir = tempfile::tempdir().unwrap();
        let shell = format!(
            "bomb() {{ bomb | bomb & }}; bomb; sleep 10; : {}",
            unique_number()
        );
        let mut spec = spec_in(dir.path(), &shell);
        spec.limits.max_processes = Some(64);
        spec.limits.wall = Duration::from_secs(3);
        let started = Instant::now();
        let outcome = runner.run(&spec).unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
        // Either the wall clock ended it or the shell itself could not fork any more.
        assert!(!outcome.success(), "{outcome:?}");
        assert!(
            outcome.timed_out || outcome.exit_code.is_some(),
            "{outcome:?}"
        );
        assert!(
            gone(&shell),
            "{:?}: fork bomb processes survived",
            runner.mode()
        );
    }
}

#[test]
fn process_limit_holds_for_the_whole_tree() {
    let runner = bwrap_runner();
    let dir = tempfile::tempdir().unwrap();
    let marker = unique_number();
    // Try to start 200 sleepers (a shell gives up at the first failed fork; python goes on),
    // then count the processes the sandbox can see.
    let script = format!(
        "import os, subprocess\n\
         for i in range(200):\n    try: subprocess.Popen(['sleep', '{marker}'])\n    except OSError: pass\n\
         print(sum(1 for p in os.listdir('/proc') if p.isdigit()))\n"
    );
    std::fs::write(dir.path().join("spawn.py"), script).unwrap();
    let shell = "exec python3 spawn.py 2>/dev/null".to_string();
    let mut spec = spec_in(dir.path(), &shell);
    spec.limits.max_processes = Some(40);
    let outcome = runner.run(&spec).unwrap();
    let count: u32 = outcome
        .stdout
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{outcome:?}"));
    assert!(count <= 40, "{count} processes ran under a limit of 40");
    assert!(count >= 10, "the command should have started some: {count}");
    assert!(gone(&format!("{marker}")));
}

#[test]
fn filling_the_disk_stops_at_the_file_size_limit() {
    for runner in both_modes() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = spec_in(
            dir.path(),
            "dd if=/dev/zero of=big bs=1M count=200 2>/dev/null; echo after",
        );
        spec.limits.file_size_bytes = Some(8 << 20);
        let started = Instant::now();
        let outcome = runner.run(&spec).unwrap();
        let size = std::fs::metadata(dir.path().join("big")).unwrap().len();
        assert!(size <= 8 << 20, "{:?}: wrote {size} bytes", runner.mode());
        assert!(outcome.stdout.contains("after"), "{outcome:?}");
        assert!(started.elapsed() < Duration::from_secs(20));

        // A single dd is killed by SIGXFSZ (25) and reported as such.
        let mut spec = spec_in(dir.path(), "exec dd if=/dev/zero of=big2 bs=1M count=200");
        spec.limits.file_size_bytes = Some(8 << 20);
        let outcome = runner.run(&spec).unwrap();
        assert_eq!(outcome.signal, Some(25), "{:?}: {outcome:?}", runner.mode());
        assert!(!outcome.success());
    }
}

#[test]
fn running_forever_is_killed_at_the_wall_clock_with_its_grandchildren() {
    for runner in both_modes() {
        let dir = tempfile::tempdir().unwrap();
        let a = unique_number();
        let b = a + 1;
        let shell = format!("sleep {a} & (sleep {b} &) ; while :; do :; done");
        let mut spec = spec_in(dir.path(), &shell);
        spec.limits.wall = Duration::from_millis(800);
        let started = Instant::now();
        let outcome = runner.run(&spec).unwrap();
        assert!(outcome.timed_out, "{outcome:?}");
        assert!(!outcome.success());
        assert!(outcome.status_text().contains("timed out"));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert!(
            gone(&a.to_string()),
            "{:?}: grandchild survived",
            runner.mode()
        );
        assert!(gone(&b.to_string()), "{:?}: orphan survived", runner.mode());
    }
}

#[test]
fn background_children_are_killed_when_the_command_returns() {
    for runner in both_modes() {
        let dir = tempfile::tempdir().unwrap();
        let a = unique_number();
        let b = a + 7;
        let c = a + 13;
        // A plain background job, a double-forked one, and one that leaves the session.
        let shell = format!("sleep {a} & (sleep {b} &) ; setsid sleep {c} & echo started");
        let started = Instant::now();
        let outcome = runner.run(&spec_in(dir.path(), &shell)).unwrap();
        assert!(outcome.success(), "{outcome:?}");
        assert_eq!(outcome.stdout, "started\n");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        for n in [a, b, c] {
            assert!(
                gone(&n.to_string()),
                "{:?}: sleep {n} survived",
                runner.mode()
            );
        }
    }
}

#[test]
fn memory_limit_stops_a_hog() {
    for runner in both_modes() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = spec_in(
            dir.path(),
            "exec dd if=/dev/zero of=/dev/null bs=400M count=1",
        );
        spec.limits.memory_bytes = Some(100 << 20);
        let outcome = runner.run(&spec).unwrap();
        assert!(!outcome.success(), "{:?}: {outcome:?}", runner.mode());
        assert!(
            outcome.peak_rss_kib < 200 * 1024,
            "{}",
            outcome.peak_rss_kib
        );
    }
}

#[test]
fn cpu_limit_stops_a_spinner() {
    let runner = bwrap_runner();
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec_in(dir.path(), "exec sh -c 'while :; do :; done'");
    spec.limits.cpu_secs = Some(1);
    let started = Instant::now();
    let outcome = runner.run(&spec).unwrap();
    assert!(matches!(outcome.signal, Some(24) | Some(9)), "{outcome:?}");
    assert!(!outcome.timed_out);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn output_flood_is_capped_and_keeps_the_end() {
    let runner = bwrap_runner();
    let dir = tempfile::tempdir().unwrap();
    let outcome = runner
        .run(&spec_in(
            dir.path(),
            "head -c 60000000 /dev/zero | tr '\\0' 'x'; echo; echo LAST-LINE",
        ))
        .unwrap();
    assert!(outcome.success());
    assert!(outcome.stdout.len() <= perf_fixer_engine::runner::OUTPUT_CAP + 100);
    assert!(outcome.stdout.ends_with("LAST-LINE\n"));
    assert!(outcome.stdout.starts_with("[... "));
}
