//! Invariants over real code: the workspace's own sources. Whatever fires, every line
//! outside a candidate's reported lines is kept byte for byte, and candidates that do not
//! overlap combine.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use perf_fixer_rewrite::{Rewrite, Span, apply_all, candidates};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && !path.ends_with("target") {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn assert_only_reported_lines_change(path: &Path, src: &str, r: &Rewrite) {
    let old: Vec<&str> = src.split_inclusive('\n').collect();
    let new: Vec<&str> = r.new_source.split_inclusive('\n').collect();
    let head = (r.start_line - 1) as usize;
    let tail = old.len() - r.end_line as usize;
    assert!(new.len() >= head + tail, "{}: {r:#?}", path.display());
    assert_eq!(old[..head], new[..head], "{}: {}", path.display(), r.rule);
    assert_eq!(
        old[old.len() - tail..],
        new[new.len() - tail..],
        "{}: {}",
        path.display(),
        r.rule
    );
}

#[test]
fn workspace_sources_keep_every_other_line() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    rust_files(&crates, &mut files);
    assert!(files.len() > 5, "found the workspace sources");
    let whole = Span::new(1, u32::MAX);
    for path in files {
        let Ok(src) = std::fs::read_to_string(&path) else {
            continue;
        };
        let found = candidates(&src, &[whole]).unwrap();
        for r in &found {
            assert_only_reported_lines_change(&path, &src, r);
        }
        // Greedily combine the candidates that do not clash with those already taken.
        let mut taken: Vec<&Rewrite> = Vec::new();
        for r in &found {
            let mut with = taken.clone();
            with.push(r);
            if apply_all(&src, &with).is_ok() {
                taken = with;
            }
        }
        if let Some(first) = found.first() {
            assert!(taken.contains(&first));
        }
    }
}
