//! `perf-fixer demo` end to end: the bundled crate's regression is found, bisected to the
//! right commit, fixed on a new branch that passes the tests, and the PR body is printed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;

use support::{describe, perf_fixer};

#[test]
fn demo_fixes_the_bundled_regression() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("wordstats");
    let report_path = dir.path().join("report.json");
    let out = perf_fixer(&[
        "demo",
        "--dir",
        repo.to_str().unwrap(),
        "--report",
        report_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));

    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        body.contains("### Before and after") && body.contains("`top_words`"),
        "{body}"
    );
    assert!(body.contains("revert_hunks"), "{body}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(report["verdict"], "regression");
    assert_eq!(
        report["culprit"]["summary"],
        "Count words case-insensitively, keep counts sorted"
    );
    let fix = &report["fix"];
    let branch = fix["branch"].as_str().unwrap();
    assert!(fix["recovered_pct"].as_f64().unwrap() > 50.0, "{fix}");
    let stages: Vec<&str> = report["stage_timings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    for stage in [
        "measure", "bisect", "profile", "localize", "patch", "validate",
    ] {
        assert!(stages.contains(&stage), "{stage} timed: {stages:?}");
    }

    // The fix keeps the commit's intent (case-insensitive counting, whose test still passes)
    // and changes only src/lib.rs.
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        git(&["diff", "--name-only", &format!("{}~1", branch), branch]).trim(),
        "src/lib.rs"
    );
    let fixed_lib = git(&["show", &format!("{branch}:src/lib.rs")]);
    assert!(
        fixed_lib.contains("HashMap") && fixed_lib.contains("to_lowercase"),
        "{fixed_lib}"
    );
    assert_eq!(
        git(&["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "main",
        "the user's branch is untouched"
    );
    assert_eq!(git(&["status", "--porcelain"]).trim(), "");
}
