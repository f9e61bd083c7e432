//! `perf-fixer compare` end to end on real cargo crates built in temp git repositories: the
//! exit codes and reports of the command-line contract, and the user's checkout untouched.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{FixtureRepo, criterion_bench_crate, describe, json_bench_crate, perf_fixer};

fn status_snapshot(repo: &FixtureRepo) -> (String, String, String) {
    (
        repo.git(&["rev-parse", "HEAD"]),
        repo.git(&["symbolic-ref", "HEAD"]),
        repo.git(&["status", "--porcelain"]),
    )
}

#[test]
fn json_bench_twice_as_slow_is_a_regression_and_comment_change_is_not() {
    let repo = FixtureRepo::new();
    json_bench_crate(&repo, 40, "v1");
    let base = repo.commit("base");
    json_bench_crate(&repo, 40, "only a comment changed");
    let comment_only = repo.commit("comment only");
    json_bench_crate(&repo, 80, "v1");
    let slow = repo.commit("twice the work");
    let before = status_snapshot(&repo);

    let out_dir = tempfile::tempdir().unwrap();
    let json = out_dir.path().join("report.json");
    let md = out_dir.path().join("report.md");
    let repo_arg = repo.path().to_str().unwrap();
    let out = perf_fixer(&[
        "compare",
        "--repo",
        repo_arg,
        "--base",
        &base,
        "--head",
        &slow,
        "--json",
        json.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("sum_squares") && stdout.contains("regressed"),
        "{stdout}"
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["verdict"], "regression");
    assert_eq!(report["base"]["sha"], base.as_str());
    assert_eq!(report["head"]["sha"], slow.as_str());
    let bench = &report["benchmarks"][0];
    assert_eq!(bench["name"], "sum_squares");
    assert_eq!(bench["verdict"], "regressed");
    let change = bench["change_pct"].as_f64().unwrap();
    assert!(
        (60.0..160.0).contains(&change),
        "2x the work shows as about +100%: {change}"
    );
    assert!(bench["head"]["peak_rss_kib"].as_u64().unwrap() > 0);
    assert!(bench["p_value"].as_f64().unwrap() < 0.05);
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(
        markdown.contains("| `sum_squares` |") && markdown.contains("**regressed**"),
        "{markdown}"
    );

    let out = perf_fixer(&[
        "compare",
        "--repo",
        repo_arg,
        "--base",
        &base,
        "--head",
        &comment_only,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("unchanged"),
        "{}",
        describe(&out)
    );

    assert_eq!(
        status_snapshot(&repo),
        before,
        "the user's checkout, branch and status are untouched"
    );
    assert_eq!(
        repo.git(&["worktree", "list"]).lines().count(),
        1,
        "no worktree left behind"
    );
    assert!(
        !repo.git(&["branch", "--list"]).contains("perf-fixer"),
        "no branch left behind"
    );
}

#[test]
fn criterion_bench_twice_as_slow_is_a_regression() {
    let repo = FixtureRepo::new();
    criterion_bench_crate(&repo, 8);
    let base = repo.commit("base");
    criterion_bench_crate(&repo, 16);
    let head = repo.commit("twice the work");
    let out = perf_fixer(&[
        "compare",
        "--repo",
        repo.path().to_str().unwrap(),
        "--base",
        &base,
        "--head",
        &head,
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("checksum") && stdout.contains("regressed"),
        "{stdout}"
    );
}

#[test]
fn bad_input_gets_a_clear_message_and_exit_code() {
    let not_repo = tempfile::tempdir().unwrap();
    let out = perf_fixer(&[
        "compare",
        "--repo",
        not_repo.path().to_str().unwrap(),
        "--base",
        "a",
        "--head",
        "b",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a git repository"),
        "{}",
        describe(&out)
    );

    let repo = FixtureRepo::new();
    json_bench_crate(&repo, 1, "v1");
    let base = repo.commit("base");
    let repo_arg = repo.path().to_str().unwrap();

    let out = perf_fixer(&[
        "compare",
        "--repo",
        repo_arg,
        "--base",
        &base,
        "--head",
        "no-such-branch",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown revision 'no-such-branch'"),
        "{}",
        describe(&out)
    );

    let out = perf_fixer(&["compare", "--repo", repo_arg, "--base", &base]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "missing --head is a usage error: {}",
        describe(&out)
    );

    repo.write(
        ".perf-fixer.toml",
        "[bench]\ncommand = \"cargo bench\"\nformat = \"csv\"\n",
    );
    let bad_config = repo.commit("bad config");
    let out = perf_fixer(&[
        "compare",
        "--repo",
        repo_arg,
        "--base",
        &base,
        "--head",
        &bad_config,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(".perf-fixer.toml")
            && stderr.contains("bench.format")
            && stderr.contains("line 3"),
        "{stderr}"
    );

    repo.git(&["rm", "-q", ".perf-fixer.toml"]);
    let no_config = repo.commit("no config");
    let out = perf_fixer(&[
        "compare", "--repo", repo_arg, "--base", &base, "--head", &no_config,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(".perf-fixer.toml not found"),
        "{}",
        describe(&out)
    );
}

#[test]
fn bench_failure_names_the_side_and_shows_its_output() {
    let repo = FixtureRepo::new();
    json_bench_crate(&repo, 1, "v1");
    let base = repo.commit("base");
    repo.write(
        "benches/speed.rs",
        "fn main() { eprintln!(\"boom: the bench broke\"); std::process::exit(7); }\n",
    );
    let head = repo.commit("broken bench");
    let out = perf_fixer(&[
        "compare",
        "--repo",
        repo.path().to_str().unwrap(),
        "--base",
        &base,
        "--head",
        &head,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("at head") && stderr.contains("boom: the bench broke"),
        "{stderr}"
    );
    assert_eq!(
        repo.git(&["worktree", "list"]).lines().count(),
        1,
        "no worktree left behind"
    );
}

#[test]
fn benchmark_on_one_side_only_is_reported_and_the_rest_compared() {
    let repo = FixtureRepo::new();
    json_bench_crate(&repo, 20, "v1");
    let base = repo.commit("base");
    let bench = repo.read("benches/speed.rs").replace(
        "[{{\\\"name\\\": \\\"sum_squares\\\", \\\"unit\\\": \\\"ns/iter\\\", \\\"value\\\": {median}, \\\"range\\\": \\\"± 0\\\"}}]",
        "[{{\\\"name\\\": \\\"sum_squares\\\", \\\"unit\\\": \\\"ns/iter\\\", \\\"value\\\": {median}, \\\"range\\\": \\\"± 0\\\"}}, {{\\\"name\\\": \\\"extra\\\", \\\"unit\\\": \\\"ns/iter\\\", \\\"value\\\": 5.0}}]",
    );
    assert!(bench.contains("extra"), "fixture edit applied");
    repo.write("benches/speed.rs", &bench);
    let head = repo.commit("adds a benchmark");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = perf_fixer(&[
        "compare",
        "--repo",
        repo.path().to_str().unwrap(),
        "--base",
        &base,
        "--head",
        &head,
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let extra = report["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "extra")
        .unwrap();
    assert_eq!(extra["verdict"], "only_head");
    assert!(String::from_utf8_lossy(&out.stdout).contains("new at head"));
}

#[test]
fn ctrl_c_stops_the_run_and_removes_the_worktrees() {
    let repo = FixtureRepo::new();
    json_bench_crate(&repo, 40, "v1");
    let base = repo.commit("base");
    json_bench_crate(&repo, 80, "v1");
    let head = repo.commit("slow");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_perf-fixer"))
        .args([
            "compare",
            "--repo",
            repo.path().to_str().unwrap(),
            "--base",
            &base,
            "--head",
            &head,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the worktrees exist, then interrupt as a terminal's Ctrl-C would.
    let worktrees = repo.path().join(".git/perf-fixer/worktrees");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::read_dir(&worktrees)
        .map(|d| d.count())
        .unwrap_or(0)
        < 2
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("interrupted"),
        "{}",
        describe(&out)
    );
    assert_eq!(
        std::fs::read_dir(&worktrees)
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "worktree directories removed"
    );
    assert_eq!(
        repo.git(&["worktree", "list"]).lines().count(),
        1,
        "no worktree registered"
    );
    assert!(
        !repo.git(&["branch", "--list"]).contains("perf-fixer"),
        "no branch left behind"
    );
}

#[test]
fn unparsable_bench_output_names_the_file_and_side() {
    let repo = FixtureRepo::new();
    json_bench_crate(&repo, 1, "v1");
    let base = repo.commit("base");
    repo.write(
        "benches/speed.rs",
        "fn main() { std::fs::write(\"target/bench.json\", \"this is not json\").unwrap(); }\n",
    );
    let head = repo.commit("bench writes garbage");
    let out = perf_fixer(&[
        "compare",
        "--repo",
        repo.path().to_str().unwrap(),
        "--base",
        &base,
        "--head",
        &head,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("at head") && stderr.contains("bench.json"),
        "{stderr}"
    );
}

/// The base branch got twice as fast after the feature branch forked, and the feature branch
/// only touched its README: the pull request changes nothing, so measuring it against the base
/// branch's tip (a "regression") would blame it for what it never did. The merge-base is the
/// baseline, and the report says so.
#[test]
fn base_branch_that_moved_on_is_measured_from_the_merge_base() {
    let repo = FixtureRepo::new();
    json_bench_crate(&repo, 80, "v1");
    let fork = repo.commit("fork point");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("README.md", "# fixture\n\nNow with a README.\n");
    let feature = repo.commit("docs: a README");
    repo.git(&["checkout", "-q", "main"]);
    json_bench_crate(&repo, 40, "v1");
    let main_tip = repo.commit("twice as fast");
    repo.git(&["checkout", "-q", "feature"]);

    let out_dir = tempfile::tempdir().unwrap();
    let json = out_dir.path().join("report.json");
    let md = out_dir.path().join("report.md");
    let out = perf_fixer(&[
        "compare",
        "--repo",
        repo.path().to_str().unwrap(),
        "--base",
        "main",
        "--head",
        "feature",
        "--json",
        json.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["verdict"], "no_regression", "{report}");
    assert_eq!(report["base"]["sha"], fork.as_str());
    assert_eq!(report["base"]["rev"], "merge-base of main and feature");
    assert_eq!(report["requested_base"]["rev"], "main");
    assert_eq!(report["requested_base"]["sha"], main_tip.as_str());
    assert_eq!(report["head"]["sha"], feature.as_str());
    assert_eq!(report["benchmarks"][0]["verdict"], "unchanged", "{report}");
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(
        markdown.contains(&format!(
            "Baseline: the merge-base {} of main and feature, because main ({}) is not an ancestor of feature",
            &fork[..10],
            &main_tip[..10]
        )),
        "{markdown}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Baseline: the merge-base"), "{stdout}");
}
