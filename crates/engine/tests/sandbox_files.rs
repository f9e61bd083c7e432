//! Hostile commands against the file system: reading the App key file and other secrets
//! outside the worktree, reading another worktree, writing outside the worktree. Each must
//! fail under bubblewrap while the run still ends with a clear outcome.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sandbox_common;

use std::path::Path;

use perf_fixer_engine::runner::{Runner, SandboxMode};
use sandbox_common::{bwrap_runner, spec_in};

const FAKE_KEY: &str = "-----BEGIN RSA PRIVATE KEY-----\nFAKEKEYMATERIALdoNotUse0123456789\n-----END RSA PRIVATE KEY-----\n";

/// A worker-like layout: a secrets dir with the App key, and two worktrees side by side.
struct Layout {
    _root: tempfile::TempDir,
    key: std::path::PathBuf,
    worktree: std::path::PathBuf,
    other: std::path::PathBuf,
}

fn layout() -> Layout {
    // Outside the host's /tmp (the sandbox has its own /tmp), like a worker's data dir.
    let root = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let secrets = root.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    let key = secrets.join("app-key.pem");
    std::fs::write(&key, FAKE_KEY).unwrap();
    let worktree = root.path().join("worktrees/job-1");
    let other = root.path().join("worktrees/job-2");
    std::fs::create_dir_all(&worktree).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("private.txt"), "OTHER-JOB-DATA").unwrap();
    Layout {
        key,
        worktree,
        other,
        _root: root,
    }
}

fn read_attempts(l: &Layout) -> String {
    format!(
        "cat {key} 2>/dev/null; cat ../job-2/private.txt {other}/private.txt 2>/dev/null; \
         cat /etc/shadow ~/.ssh/id_rsa /root/.cargo/credentials.toml 2>/dev/null; \
         cat /root/.profile /root/.bashrc /root/.gitconfig 2>/dev/null; \
         cat {manifest} 2>/dev/null; ls /home /var/run /run /srv /var/lib 2>/dev/null; echo END",
        manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
        key = l.key.display(),
        other = l.other.display()
    )
}

#[test]
fn key_file_and_other_worktrees_are_invisible() {
    let l = layout();
    let outcome = bwrap_runner()
        .run(&spec_in(&l.worktree, &read_attempts(&l)))
        .unwrap();
    assert!(outcome.success(), "{outcome:?}");
    assert_eq!(
        outcome.stdout, "END\n",
        "the sandbox showed: {}",
        outcome.stdout
    );

    // Control: with the sandbox off, the same command reads the key, so the check above can fail.
    let open = Runner::new(SandboxMode::None).unwrap();
    let outcome = open.run(&spec_in(&l.worktree, &read_attempts(&l))).unwrap();
    assert!(outcome.stdout.contains("FAKEKEYMATERIAL"));
    assert!(outcome.stdout.contains("OTHER-JOB-DATA"));
}

#[test]
fn key_material_is_scrubbed_even_when_printed() {
    let l = layout();
    let scrubber = perf_fixer_engine::secret::Scrubber::new().with(FAKE_KEY);
    let open = Runner::new(SandboxMode::None)
        .unwrap()
        .with_scrubber(scrubber);
    let outcome = open
        .run(&spec_in(
            &l.worktree,
            &format!("cat {} >&2; exit 1", l.key.display()),
        ))
        .unwrap();
    assert!(
        !outcome.stderr.contains("FAKEKEYMATERIAL"),
        "{}",
        outcome.stderr
    );
    assert!(!outcome.tail(10).contains("FAKEKEYMATERIAL"));
    assert!(outcome.stderr.contains("[redacted]"));
}

fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

#[test]
fn writes_outside_the_worktree_fail_and_inside_succeed() {
    let l = layout();
    let outside = l.worktree.parent().unwrap().parent().unwrap().join("pwned");
    let shell = format!(
        "echo inside > inside.txt; \
         echo x > ../job-2/pwned && echo WROTE-SIBLING; \
         echo x > {outside}; \
         echo x > /usr/pwned-by-sandbox && echo WROTE-USR; \
         echo x > /pwned && echo WROTE-ROOT; \
         mkdir -p {cargo}/registry/pwned-dir && echo WROTE-REGISTRY; \
         echo x > {key} && echo WROTE-KEY; \
         echo END",
        outside = outside.display(),
        key = l.key.display(),
        cargo = std::env::var("CARGO_HOME")
            .unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap())),
    );
    let outcome = bwrap_runner().run(&spec_in(&l.worktree, &shell)).unwrap();
    assert!(outcome.success(), "{outcome:?}");
    assert_eq!(
        outcome.stdout, "END\n",
        "a write got through: {}",
        outcome.stdout
    );
    assert_eq!(
        std::fs::read_to_string(l.worktree.join("inside.txt")).unwrap(),
        "inside\n"
    );
    assert!(!exists(&l.other.join("pwned")));
    // (When the test's temp dir is under the host's /tmp, that write lands in the sandbox's
    // private /tmp, which is gone with the run: what matters is the host.)
    assert!(!exists(&outside));
    assert!(!exists(Path::new("/usr/pwned-by-sandbox")));
    assert_eq!(std::fs::read_to_string(&l.key).unwrap(), FAKE_KEY);
}

#[test]
fn sandbox_tmp_is_private_and_bounded() {
    let l = layout();
    let marker = l.worktree.parent().unwrap().join("host-tmp-marker");
    std::fs::write(&marker, "host").unwrap();
    let outcome = bwrap_runner()
        .run(&spec_in(
            &l.worktree,
            "ls -A /tmp; echo ---; df -B1 --output=size /tmp | tail -1",
        ))
        .unwrap();
    assert!(outcome.success(), "{outcome:?}");
    let (listing, size) = outcome.stdout.split_once("---\n").unwrap();
    // The worktree lives under the host's /tmp here, so its ancestors appear as mount points,
    // but nothing else of the host's /tmp does.
    for entry in listing.lines() {
        assert!(
            l.worktree.starts_with(format!("/tmp/{entry}"))
                || l.worktree
                    .starts_with(format!("{}/{entry}", std::env::temp_dir().display())),
            "host /tmp entry visible: {entry}"
        );
    }
    assert_eq!(
        size.trim().parse::<u64>().unwrap(),
        perf_fixer_engine::sandbox::SANDBOX_TMP_BYTES
    );
}
