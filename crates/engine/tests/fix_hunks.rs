//! The culprit's hunks from a real git history, and reverting subsets of them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fix_support;

use fix_support::{TempRepo, numbered};
use perf_fixer_engine::hunks::{
    ChangeKind, FileHunk, HunkError, commit_hunks, plan_reverts, revert_hunks, write_files,
};

fn replace_line(text: &str, n: usize, with: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == n {
                format!("{with}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

#[test]
fn hunks_have_zero_context_and_exact_spans() {
    let r = TempRepo::new();
    let base = numbered(30);
    r.commit(&[("src/lib.rs", Some(&base))], "base");
    // Change line 5, delete lines 12-13, add two lines after 20.
    let mut lines: Vec<String> = base.lines().map(|l| format!("{l}\n")).collect();
    lines[4] = "line 5 changed\n".into();
    lines.insert(20, "added a\n".into());
    lines.insert(21, "added b\n".into());
    lines.remove(12);
    lines.remove(11);
    let new = lines.concat();
    let c = r.commit(&[("src/lib.rs", Some(&new))], "change");

    let hunks = commit_hunks(&r.repo, c).unwrap();
    assert_eq!(hunks.len(), 3, "{hunks:#?}");
    let h = &hunks[0];
    assert_eq!(h.path, "src/lib.rs");
    assert_eq!(h.kind, ChangeKind::Modified);
    assert_eq!(
        (h.old_start, h.old_count, h.new_start, h.new_count),
        (5, 1, 5, 1)
    );
    assert_eq!(h.old_lines, vec!["line 5\n"]);
    assert_eq!(h.new_lines, vec!["line 5 changed\n"]);
    assert_eq!(h.context_before, vec!["line 2\n", "line 3\n", "line 4\n"]);
    assert_eq!(h.context_after, vec!["line 6\n", "line 7\n", "line 8\n"]);

    let d = &hunks[1];
    assert_eq!((d.old_start, d.old_count, d.new_count), (12, 2, 0));
    assert_eq!(d.new_start, 11, "a deletion follows the line before it");
    assert_eq!(d.new_span(), (11, 11));
    assert_eq!(d.old_lines, vec!["line 12\n", "line 13\n"]);

    let a = &hunks[2];
    assert_eq!((a.old_count, a.new_start, a.new_count), (0, 19, 2));
    assert_eq!(a.new_lines, vec!["added a\n", "added b\n"]);
    assert_eq!(a.location(), "src/lib.rs:19-20");

    // Reverting all hunks gives the parent back byte for byte; any subset keeps the others.
    let all: Vec<&FileHunk> = hunks.iter().collect();
    assert_eq!(revert_hunks(&new, &all).unwrap(), base);
    for mask in 0u32..8 {
        let subset: Vec<&FileHunk> = (0..3)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| &hunks[i])
            .collect();
        let got = revert_hunks(&new, &subset).unwrap();
        assert_eq!(got.contains("line 5 changed"), mask & 1 == 0, "mask {mask}");
        assert_eq!(got.contains("line 12\n"), mask & 2 != 0, "mask {mask}");
        assert_eq!(got.contains("added a"), mask & 4 == 0, "mask {mask}");
    }
}

#[test]
fn added_deleted_and_renamed_files() {
    let r = TempRepo::new();
    let big = numbered(40);
    r.commit(
        &[
            ("a.rs", Some("fn a() {}\n")),
            ("gone.rs", Some("x\ny\n")),
            ("old_name.rs", Some(&big)),
        ],
        "base",
    );
    let renamed = replace_line(&big, 10, "line ten");
    let c = r.commit(
        &[
            ("b.rs", Some("fn b() {}\n")),
            ("gone.rs", None),
            ("old_name.rs", None),
            ("new_name.rs", Some(&renamed)),
        ],
        "add, delete, rename",
    );
    let hunks = commit_hunks(&r.repo, c).unwrap();
    let find = |p: &str| hunks.iter().find(|h| h.path == p).unwrap();
    assert_eq!(find("b.rs").kind, ChangeKind::Added);
    assert_eq!(find("b.rs").new_lines, vec!["fn b() {}\n"]);
    let gone = find("gone.rs");
    assert_eq!(gone.kind, ChangeKind::Deleted);
    assert_eq!(gone.old_lines, vec!["x\n", "y\n"]);
    let ren = find("new_name.rs");
    assert_eq!(ren.kind, ChangeKind::Renamed);
    assert_eq!(ren.old_path, "old_name.rs");
    assert_eq!(ren.new_lines, vec!["line ten\n"]);

    // Reverting in the worktree brings the deleted file back and the renamed one's line.
    let chosen = vec![gone, ren];
    let plan = plan_reverts(r.path(), &chosen).unwrap();
    assert_eq!(plan[std::path::Path::new("gone.rs")], "x\ny\n");
    assert_eq!(plan[std::path::Path::new("new_name.rs")], big);
    write_files(r.path(), &plan).unwrap();
    assert_eq!(r.read("gone.rs"), "x\ny\n");
    assert_eq!(r.read("new_name.rs"), big);
}

#[test]
fn missing_final_newline_is_kept_exact() {
    let r = TempRepo::new();
    r.commit(&[("f.txt", Some("a\nb"))], "base");
    let c = r.commit(&[("f.txt", Some("a\nb\nc\n"))], "append");
    let hunks = commit_hunks(&r.repo, c).unwrap();
    let all: Vec<&FileHunk> = hunks.iter().collect();
    assert_eq!(revert_hunks("a\nb\nc\n", &all).unwrap(), "a\nb");
}

#[test]
fn revert_applies_at_head_after_later_commits_moved_the_region() {
    let r = TempRepo::new();
    let base = numbered(20);
    r.commit(&[("src/x.rs", Some(&base))], "base");
    let culprit_text = replace_line(&base, 10, "slow line");
    let culprit = r.commit(&[("src/x.rs", Some(&culprit_text))], "culprit");
    // A later commit adds a header, moving everything down by three lines.
    let head_text = format!("// one\n// two\n// three\n{culprit_text}");
    r.commit(&[("src/x.rs", Some(&head_text))], "later");

    let hunks = commit_hunks(&r.repo, culprit).unwrap();
    let chosen: Vec<&FileHunk> = hunks.iter().collect();
    let plan = plan_reverts(r.path(), &chosen).unwrap();
    assert_eq!(
        plan[std::path::Path::new("src/x.rs")],
        format!("// one\n// two\n// three\n{base}")
    );

    // A later commit that rewrote the region makes the revert an error, not a guess.
    r.commit(
        &[(
            "src/x.rs",
            Some(&replace_line(&culprit_text, 10, "rewritten")),
        )],
        "rewrite",
    );
    let err = plan_reverts(r.path(), &chosen).unwrap_err();
    assert!(matches!(err, HunkError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("src/x.rs"));
}

#[test]
fn binary_files_are_left_out() {
    let r = TempRepo::new();
    r.commit(&[("a.rs", Some("x\n"))], "base");
    let dir = r.path().join("blob.bin");
    std::fs::write(&dir, [0u8, 1, 2, 0, 255]).unwrap();
    let mut index = r.repo.index().unwrap();
    index.add_path(std::path::Path::new("blob.bin")).unwrap();
    index.write().unwrap();
    let c = r.commit(&[("a.rs", Some("y\n"))], "binary and text");
    let hunks = commit_hunks(&r.repo, c).unwrap();
    assert_eq!(hunks.len(), 1);
    assert_eq!(hunks[0].path, "a.rs");
}

#[test]
fn root_commit_diffs_against_the_empty_tree() {
    let r = TempRepo::new();
    let c = r.commit(&[("a.rs", Some("x\ny\n"))], "root");
    let hunks = commit_hunks(&r.repo, c).unwrap();
    assert_eq!(hunks.len(), 1);
    assert_eq!(hunks[0].kind, ChangeKind::Added);
    assert_eq!(hunks[0].new_span(), (1, 2));
}

/// A small deterministic generator, so failures reproduce without a seed file.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

/// The hunks of `new` against `old`, as (old lines, new lines) pairs, with zero context.
fn hunk_contents(old: &str, new: &str) -> Vec<(Vec<String>, Vec<String>)> {
    let mut opts = git2::DiffOptions::new();
    opts.context_lines(0).interhunk_lines(0);
    let patch =
        git2::Patch::from_buffers(old.as_bytes(), None, new.as_bytes(), None, Some(&mut opts))
            .unwrap();
    (0..patch.num_hunks())
        .map(|h| {
            let (_, n) = patch.hunk(h).unwrap();
            let mut pair = (Vec::new(), Vec::new());
            for l in 0..n {
                let line = patch.line_in_hunk(h, l).unwrap();
                let text = String::from_utf8_lossy(line.content()).into_owned();
                match line.origin() {
                    '-' => pair.0.push(text),
                    '+' => pair.1.push(text),
                    _ => {}
                }
            }
            pair
        })
        .collect()
}

#[test]
fn reverting_any_subset_leaves_exactly_the_other_hunks() {
    let mut rng = Lcg(0x5eed);
    let mut unique = 0u32;
    let mut fresh = move || {
        unique += 1;
        format!("l{unique}\n")
    };
    for round in 0..25 {
        let r = TempRepo::new();
        let base: Vec<String> = (0..(5 + rng.next(40))).map(|_| fresh()).collect();
        let base_text = base.concat();
        r.commit(&[("src/f.rs", Some(&base_text))], "base");
        // Random replacements, insertions and deletions, on distinct lines so that the diff
        // of every version against every other is unambiguous.
        let mut new: Vec<String> = Vec::new();
        for line in &base {
            match rng.next(6) {
                0 => {}                 // delete
                1 => new.push(fresh()), // replace
                2 => {
                    new.push(line.clone()); // keep, then insert
                    new.push(fresh());
                }
                _ => new.push(line.clone()),
            }
        }
        if rng.next(3) == 0 {
            new.insert(0, fresh());
        }
        let new_text = new.concat();
        if new_text == base_text {
            continue;
        }
        let c = r.commit(&[("src/f.rs", Some(&new_text))], "edit");
        let hunks = commit_hunks(&r.repo, c).unwrap();
        let all: Vec<&FileHunk> = hunks.iter().collect();
        assert_eq!(
            revert_hunks(&new_text, &all).unwrap(),
            base_text,
            "round {round}"
        );

        for _ in 0..6 {
            let chosen: Vec<usize> = (0..hunks.len()).filter(|_| rng.next(2) == 0).collect();
            let subset: Vec<&FileHunk> = chosen.iter().map(|&i| &hunks[i]).collect();
            let reverted = revert_hunks(&new_text, &subset).unwrap();
            let left = hunk_contents(&base_text, &reverted);
            let expected: Vec<(Vec<String>, Vec<String>)> = (0..hunks.len())
                .filter(|i| !chosen.contains(i))
                .map(|i| (hunks[i].old_lines.clone(), hunks[i].new_lines.clone()))
                .collect();
            assert_eq!(left, expected, "round {round}, reverted {chosen:?}");
        }
    }
}
