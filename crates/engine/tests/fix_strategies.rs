//! Patch strategies: the path guard, build profile restores, numeric knobs, hunk reverts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fix_support;

use std::path::Path;

use fix_support::TempRepo;
use perf_fixer_core::report::Risk;
use perf_fixer_engine::hunks::{FileHunk, commit_hunks};
use perf_fixer_engine::localize::Suspect;
use perf_fixer_engine::strategies::build_profile::{self, ProfileChange};
use perf_fixer_engine::strategies::{Rejected, allowed, guard, knobs, partition_allowed, revert};

fn paths(p: &[&str]) -> Vec<String> {
    p.iter().map(|s| s.to_string()).collect()
}

#[test]
fn guard_follows_fix_paths_and_never_allows_github_or_build_scripts() {
    let fix = paths(&["src/**", "Cargo.toml", "crates/*/src/**"]);
    assert_eq!(allowed(Path::new("src/lib.rs"), &fix), Ok(()));
    assert_eq!(allowed(Path::new("src/deep/er/x.rs"), &fix), Ok(()));
    assert_eq!(allowed(Path::new("./Cargo.toml"), &fix), Ok(()));
    assert_eq!(allowed(Path::new("crates/core/src/a.rs"), &fix), Ok(()));
    assert!(matches!(
        allowed(Path::new("crates/core/Cargo.toml"), &fix),
        Err(Rejected::NotInFixPaths { .. })
    ));
    assert!(matches!(
        allowed(Path::new("tests/it.rs"), &fix),
        Err(Rejected::NotInFixPaths { .. })
    ));
    // Even a pattern that would match them does not open these.
    let everything = paths(&["**"]);
    assert!(matches!(
        allowed(Path::new(".github/workflows/ci.yml"), &everything),
        Err(Rejected::GithubDir { .. })
    ));
    assert!(matches!(
        allowed(Path::new("src/.github/x"), &everything),
        Err(Rejected::GithubDir { .. })
    ));
    assert!(matches!(
        allowed(Path::new("build.rs"), &everything),
        Err(Rejected::BuildScript { .. })
    ));
    assert!(matches!(
        allowed(Path::new("crates/x/build.rs"), &everything),
        Err(Rejected::BuildScript { .. })
    ));
    assert!(matches!(
        allowed(Path::new("../outside.rs"), &everything),
        Err(Rejected::OutsideRepo { .. })
    ));
    assert!(matches!(
        allowed(Path::new("/etc/passwd"), &everything),
        Err(Rejected::OutsideRepo { .. })
    ));
    let err = allowed(Path::new("src/a.rs"), &paths(&["src/[a"])).unwrap_err();
    assert!(err.to_string().contains("[fix] paths"), "{err}");
    let err = allowed(Path::new("benches/b.rs"), &fix).unwrap_err();
    assert!(err.to_string().contains("benches/b.rs"), "{err}");
}

const PARENT_TOML: &str = r#"[package]
name = "demo"   # the demo crate
version = "0.1.0"

[profile.release]
opt-level = 3      # keep fast
codegen-units = 1
debug = false

[profile.bench]
lto = "fat"
"#;

const CULPRIT_TOML: &str = r#"[package]
name = "demo"   # the demo crate
version = "0.1.0"

[profile.release]
opt-level = 1      # keep fast
codegen-units = 1
debug = false
panic = "abort"

[profile.bench]
"#;

#[test]
fn build_profile_changes_and_restore_keep_the_rest_byte_for_byte() {
    let changes = build_profile::profile_changes("Cargo.toml", PARENT_TOML, CULPRIT_TOML).unwrap();
    let summary: Vec<(String, String, Option<String>, Option<String>)> = changes
        .iter()
        .map(|c| {
            (
                c.profile.clone(),
                c.key_name(),
                c.before.clone(),
                c.after.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("bench".into(), "lto".into(), Some("\"fat\"".into()), None),
            (
                "release".into(),
                "opt-level".into(),
                Some("3".into()),
                Some("1".into())
            ),
            (
                "release".into(),
                "panic".into(),
                None,
                Some("\"abort\"".into())
            ),
        ]
    );

    // Head added a dependency after the culprit: it must survive the restore untouched.
    let head = CULPRIT_TOML.replace(
        "version = \"0.1.0\"\n",
        "version = \"0.1.0\"\n\n[dependencies]\nregex = \"1\"\n",
    );
    let cands = build_profile::candidates("Cargo.toml", &head, "abcdef1234567", &changes).unwrap();
    assert_eq!(cands.len(), 4, "all together, then one per setting");
    let all = &cands[0];
    assert_eq!(all.strategy, "build_profile");
    assert_eq!(all.risk, Risk::High, "panic strategy changes behaviour");
    assert!(all.risk_notes.contains("unwinds"));
    let text = &all.files[Path::new("Cargo.toml")];
    let expected = PARENT_TOML.replace(
        "version = \"0.1.0\"\n",
        "version = \"0.1.0\"\n\n[dependencies]\nregex = \"1\"\n",
    );
    assert_eq!(text, &expected);

    let opt_only = cands
        .iter()
        .find(|c| c.description.contains("opt-level") && !c.description.contains("panic"))
        .unwrap();
    assert_eq!(opt_only.risk, Risk::Low);
    assert_eq!(
        opt_only.files[Path::new("Cargo.toml")],
        head.replace(
            "opt-level = 1      # keep fast",
            "opt-level = 3      # keep fast"
        )
    );
    assert!(
        opt_only
            .description
            .contains("[profile.release] opt-level: 1 → 3")
    );
    assert!(opt_only.description.contains("abcdef1234"));
}

#[test]
fn build_profile_creates_a_missing_profile_and_reports_bad_toml() {
    let parent = "[package]\nname = \"x\"\n\n[profile.release]\nlto = true\n";
    let culprit = "[package]\nname = \"x\"\n";
    let changes = build_profile::profile_changes("Cargo.toml", parent, culprit).unwrap();
    assert_eq!(changes.len(), 1);
    let restored = build_profile::restore("Cargo.toml", culprit, &[&changes[0]]).unwrap();
    assert_eq!(
        restored,
        "[package]\nname = \"x\"\n\n[profile.release]\nlto = true\n"
    );

    let err = build_profile::profile_changes("Cargo.toml", "[profile", culprit).unwrap_err();
    assert!(err.to_string().contains("Cargo.toml"), "{err}");
    assert!(
        build_profile::profile_changes("Cargo.toml", culprit, culprit)
            .unwrap()
            .is_empty()
    );
    let none: Vec<ProfileChange> = vec![];
    assert!(
        build_profile::candidates("Cargo.toml", culprit, "c", &none)
            .unwrap()
            .is_empty()
    );
}

const KNOB_BASE: &str = "\
const CHUNK: usize = 4_096;

pub fn sum(data: &[u8]) -> u64 {
    let mut out = Vec::with_capacity(1024);
    for c in data.chunks(CHUNK) {
        out.push(c.iter().map(|b| u64::from(*b)).sum::<u64>());
    }
    let scratch = [0u8; 64];
    out.iter().sum::<u64>() + scratch.len() as u64
}

pub fn other() -> usize {
    let v: Vec<u8> = Vec::with_capacity(10);
    v.capacity()
}
";

fn knob_culprit() -> String {
    KNOB_BASE
        .replace("CHUNK: usize = 4_096", "CHUNK: usize = 8")
        .replace("with_capacity(1024)", "with_capacity(1)")
        .replace("with_capacity(10)", "with_capacity(1)")
        .replace("[0u8; 64]", "[0u8; 65]")
}

#[test]
fn knobs_found_in_suspect_code_and_searched_around_base() {
    let r = TempRepo::new();
    r.commit(&[("src/lib.rs", Some(KNOB_BASE))], "base");
    let culprit_text = knob_culprit();
    let c = r.commit(&[("src/lib.rs", Some(&culprit_text))], "smaller buffers");
    // At head a doc comment moved everything down by one line.
    let head_text = format!("//! Sums.\n{culprit_text}");
    r.commit(&[("src/lib.rs", Some(&head_text))], "docs");
    let hunks = commit_hunks(&r.repo, c).unwrap();

    let suspects = vec![Suspect {
        function: "demo::sum".into(),
        file: "/work/wt/src/lib.rs".into(),
        start_line: 3,
        end_line: 10,
        cost_delta: 1e6,
        share: 0.9,
    }];
    let culprit_file = |p: &str| (p == "src/lib.rs").then(|| culprit_text.clone());
    let found = knobs::find_knobs(&hunks, &suspects, &culprit_file);
    let summary: Vec<(&str, u64, u64)> = found
        .iter()
        .map(|k| (k.context.as_str(), k.base, k.head))
        .collect();
    // `other`'s capacity is outside the suspect: not a knob.
    assert_eq!(
        summary,
        vec![
            ("const CHUNK", 4096, 8),
            ("with_capacity", 1024, 1),
            ("array length", 64, 65)
        ]
    );

    // Without suspects (profiling failed), every knob of the commit is tried.
    let all = knobs::find_knobs(&hunks, &[], &culprit_file);
    assert_eq!(all.len(), 4);
    assert_eq!(all[3].culprit_line, 13);

    let head_file = |p: &str| (p == "src/lib.rs").then(|| head_text.clone());
    let cands = knobs::candidates(&found[..1], "0123456789abcdef", &head_file);
    let values: Vec<String> = cands.iter().map(|c| c.description.clone()).collect();
    assert_eq!(cands.len(), 4, "{values:#?}");
    let base_cand = &cands[0];
    assert_eq!(base_cand.strategy, "knobs");
    assert_eq!(base_cand.risk, Risk::Low);
    assert_eq!(
        base_cand.files[Path::new("src/lib.rs")],
        format!("//! Sums.\n{}", culprit_text.replace("= 8;", "= 4_096;")),
        "base's literal is restored as written, the rest byte for byte"
    );
    assert!(cands[1].files[Path::new("src/lib.rs")].contains("CHUNK: usize = 2048;"));
    assert!(cands[2].files[Path::new("src/lib.rs")].contains("CHUNK: usize = 8192;"));
    assert!(cands[3].files[Path::new("src/lib.rs")].contains("CHUNK: usize = 181;"));
    assert!(cands[1..].iter().all(|c| c.risk == Risk::Medium));
}

#[test]
fn revert_candidate_keeps_the_rest_of_the_commit() {
    let r = TempRepo::new();
    let base = "fn a() -> u32 {\n    1\n}\n\nfn b() -> u32 {\n    2\n}\n";
    r.commit(&[("src/lib.rs", Some(base))], "base");
    let culprit_text = base
        .replace(
            "    1\n",
            "    (0..1000).map(|x| x % 2).sum::<u32>() * 0 + 1\n",
        )
        .replace("    2\n", "    2 + 0\n");
    let c = r.commit(&[("src/lib.rs", Some(&culprit_text))], "culprit");
    let hunks = commit_hunks(&r.repo, c).unwrap();
    assert_eq!(hunks.len(), 2);
    let chosen: Vec<&FileHunk> = vec![&hunks[0]];
    let cand = revert::revert_candidate(r.path(), &c.to_string(), &chosen, hunks.len()).unwrap();
    assert_eq!(cand.strategy, "revert_hunks");
    assert_eq!(cand.risk, Risk::Low);
    assert!(
        cand.description.starts_with("Revert 1 of 2 hunks of"),
        "{}",
        cand.description
    );
    assert!(cand.description.contains("src/lib.rs:2"));
    assert!(cand.risk_notes.contains("The other 1 hunk(s)"));
    assert_eq!(
        cand.files[Path::new("src/lib.rs")],
        base.replace("    2\n", "    2 + 0\n")
    );
    assert_eq!(guard(&cand, &paths(&["src/**"])), Ok(()));
    let (ok, rejected) = partition_allowed(vec![cand], &paths(&["lib/**"]));
    assert!(ok.is_empty());
    assert!(matches!(rejected[0].1, Rejected::NotInFixPaths { .. }));
}

#[test]
fn reverting_a_public_signature_is_high_risk() {
    let r = TempRepo::new();
    r.commit(
        &[("src/lib.rs", Some("pub fn f(x: u32) -> u32 {\n    x\n}\n"))],
        "base",
    );
    let c = r.commit(
        &[(
            "src/lib.rs",
            Some("pub fn f(x: &u32) -> u32 {\n    *x\n}\n"),
        )],
        "by ref",
    );
    let hunks = commit_hunks(&r.repo, c).unwrap();
    let chosen: Vec<&FileHunk> = hunks.iter().collect();
    let cand = revert::revert_candidate(r.path(), &c.to_string(), &chosen, hunks.len()).unwrap();
    assert_eq!(cand.risk, Risk::High);
    assert!(cand.risk_notes.contains("public item"));
    assert!(cand.description.starts_with("Revert commit"));
}

#[test]
fn cargo_config_profiles_are_restored_too() {
    assert!(build_profile::is_profile_source("Cargo.toml"));
    assert!(build_profile::is_profile_source("crates/x/Cargo.toml"));
    assert!(build_profile::is_profile_source(".cargo/config.toml"));
    assert!(build_profile::is_profile_source(".cargo/config"));
    assert!(!build_profile::is_profile_source("src/Cargo.toml.rs"));
    assert!(!build_profile::is_profile_source("rust-toolchain.toml"));

    let parent = "[build]\njobs = 2\n\n[profile.bench]\ncodegen-units = 1\n";
    let culprit = "[build]\njobs = 2\n\n[profile.bench]\ncodegen-units = 256\n";
    let changes = build_profile::profile_changes(".cargo/config.toml", parent, culprit).unwrap();
    let cands =
        build_profile::candidates(".cargo/config.toml", culprit, "c0ffee", &changes).unwrap();
    assert_eq!(cands.len(), 1);
    assert_eq!(cands[0].files[Path::new(".cargo/config.toml")], parent);
    assert_eq!(cands[0].risk, Risk::Low);
}
