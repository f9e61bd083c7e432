//! Localization: attributing the loss to the culprit's hunks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use perf_fixer_engine::hunks::{ChangeKind, FileHunk};
use perf_fixer_engine::localize::{Method, Suspect, localize, same_file};

fn hunk(path: &str, new_start: u32, new_count: u32) -> FileHunk {
    FileHunk {
        path: path.into(),
        old_path: path.into(),
        kind: ChangeKind::Modified,
        old_start: new_start,
        old_count: 1,
        new_start,
        new_count,
        old_lines: vec!["old\n".into()],
        new_lines: (0..new_count).map(|i| format!("new {i}\n")).collect(),
        context_before: vec![],
        context_after: vec![],
    }
}

fn suspect(function: &str, file: &str, span: (u32, u32), share: f64) -> Suspect {
    Suspect {
        function: function.into(),
        file: file.into(),
        start_line: span.0,
        end_line: span.1,
        cost_delta: share * 1000.0,
        share,
    }
}

#[test]
fn hunks_inside_suspect_spans_get_the_loss() {
    let hunks = vec![
        hunk("src/parse.rs", 3, 1),  // outside any suspect
        hunk("src/parse.rs", 12, 2), // inside tokenize (10-20)
        hunk("src/parse.rs", 18, 6), // 3 lines inside tokenize (18-20), 3 outside
        hunk("src/emit.rs", 40, 1),  // inside write_out
        hunk("README.md", 1, 1),
    ];
    let suspects = vec![
        suspect(
            "crate::parse::tokenize",
            "/tmp/wt/src/parse.rs",
            (10, 20),
            0.8,
        ),
        suspect("crate::emit::write_out", "src/emit.rs", (35, 50), 0.1),
        suspect(
            "core::ptr::drop",
            "/rustc/abc/library/core/src/ptr/mod.rs",
            (1, 9),
            0.05,
        ),
    ];
    let loc = localize(&suspects, &hunks);
    assert_eq!(loc.method, Method::SpanIntersection);
    assert_eq!(loc.hunk_indices(), vec![2, 1, 3]);
    // tokenize's 0.8 is split by lines in common: 3 (hunk 2) and 2 (hunk 1).
    assert!((loc.hunks[0].share - 0.48).abs() < 1e-9);
    assert!((loc.hunks[1].share - 0.32).abs() < 1e-9);
    assert!((loc.hunks[2].share - 0.1).abs() < 1e-9);
    assert_eq!(loc.hunks[0].functions, vec!["crate::parse::tokenize"]);
    assert_eq!(
        loc.functions.len(),
        2,
        "the suspect without a hunk is left out"
    );
    assert_eq!(loc.functions[0].function, "crate::parse::tokenize");
    assert_eq!(loc.functions[0].hunks, vec![1, 2]);
}

#[test]
fn a_deletion_inside_a_function_meets_it() {
    let hunks = vec![hunk("src/a.rs", 15, 0)];
    let loc = localize(&[suspect("a::f", "src/a.rs", (10, 20), 0.5)], &hunks);
    assert_eq!(loc.method, Method::SpanIntersection);
    assert_eq!(loc.hunk_indices(), vec![0]);
}

#[test]
fn falls_back_to_hunks_in_suspect_files() {
    // The cost moved into an inlined callee: no span meets a hunk, but the file matches.
    let hunks = vec![
        hunk("src/a.rs", 100, 3),
        hunk("src/a.rs", 200, 1),
        hunk("src/b.rs", 5, 1),
    ];
    let loc = localize(&[suspect("a::f", "src/a.rs", (10, 20), 0.6)], &hunks);
    assert_eq!(loc.method, Method::SuspectFiles);
    assert_eq!(loc.hunk_indices(), vec![0, 1]);
    // By size: 3 lines and 1 line share 0.6.
    assert!((loc.hunks[0].share - 0.45).abs() < 1e-9);
    assert!((loc.hunks[1].share - 0.15).abs() < 1e-9);
    assert!(loc.method.describe().contains("no hunk lies inside"));
}

#[test]
fn falls_back_to_all_hunks() {
    let hunks = vec![hunk("src/a.rs", 1, 1), hunk("src/b.rs", 5, 1)];
    let loc = localize(
        &[suspect("std::x", "/rustc/lib/std/x.rs", (1, 9), 0.9)],
        &hunks,
    );
    assert_eq!(loc.method, Method::AllHunks);
    assert_eq!(loc.hunks.len(), 2);
    let loc = localize(&[], &hunks);
    assert_eq!(loc.method, Method::AllHunks);
    assert!((loc.hunks.iter().map(|h| h.share).sum::<f64>() - 1.0).abs() < 1e-9);
}

#[test]
fn file_matching_uses_whole_trailing_components() {
    assert!(same_file("/home/u/wt/src/lib.rs", "src/lib.rs"));
    assert!(same_file("src/lib.rs", "src/lib.rs"));
    assert!(same_file("./src/lib.rs", "src/lib.rs"));
    assert!(!same_file("/x/mysrc/lib.rs", "src/lib.rs"));
    assert!(!same_file("lib.rs", "src/lib.rs"));
    assert!(!same_file("/x/src/lib.rs", ""));
}

#[test]
fn report_hunks_carry_spans_and_shares() {
    let hunks = vec![hunk("src/a.rs", 12, 3), hunk("src/a.rs", 40, 0)];
    let loc = localize(&[suspect("a::f", "src/a.rs", (10, 45), 0.5)], &hunks);
    let report = loc.report_hunks(&hunks);
    assert_eq!(report.len(), 2);
    assert_eq!(
        (
            report[0].file.as_str(),
            report[0].start_line,
            report[0].end_line
        ),
        ("src/a.rs", 12, 14)
    );
    assert!((report[0].share_pct.unwrap() - 37.5).abs() < 1e-9);
    assert_eq!((report[1].start_line, report[1].end_line), (40, 40));
}
