//! The culprit's diff as hunks, and reverting a chosen subset of them.
//!
//! Hunks are taken with zero context lines so that each one is exactly a changed region and
//! hunks can be reverted independently. A few lines around each hunk (from the culprit's version
//! of the file) are kept separately as anchors: the revert is applied to head, where later
//! commits may have moved the region, and the anchors let it be found again without guessing.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use git2::{DiffOptions, Oid, Patch, Repository};

/// How many lines around a hunk are kept as anchors for finding it again.
const ANCHOR_LINES: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Deleted,
    Modified,
    Renamed,
}

/// One changed region of one file in a commit, against its first parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHunk {
    /// Path in the commit (for a deleted file: its path in the parent), relative to the root.
    pub path: String,
    /// Path in the parent (differs from `path` for a rename).
    pub old_path: String,
    pub kind: ChangeKind,
    /// 1-based first line in the parent's file; for a pure addition, the line it follows
    /// (0: the start of the file), as in a unified diff.
    pub old_start: u32,
    pub old_count: u32,
    /// 1-based first line in the commit's file; for a pure deletion, the line it follows.
    pub new_start: u32,
    pub new_count: u32,
    /// The removed lines, each with its line terminator when it had one.
    pub old_lines: Vec<String>,
    /// The added lines, each with its line terminator when it had one.
    pub new_lines: Vec<String>,
    /// Up to three lines of the commit's file before and after the hunk.
    pub context_before: Vec<String>,
    pub context_after: Vec<String>,
}

impl FileHunk {
    /// The inclusive span of lines this hunk occupies in the commit's file. A pure deletion
    /// occupies the line it follows (at least line 1), so that it can still meet a function.
    pub fn new_span(&self) -> (u32, u32) {
        if self.new_count == 0 {
            let at = self.new_start.max(1);
            (at, at)
        } else {
            (self.new_start, self.new_start + self.new_count - 1)
        }
    }

    /// Lines changed on either side: a rough measure of the hunk's size.
    pub fn changed_lines(&self) -> u32 {
        self.old_count.max(self.new_count).max(1)
    }

    /// `src/x.rs:10-14` for reports.
    pub fn location(&self) -> String {
        let (a, b) = self.new_span();
        if a == b {
            format!("{}:{a}", self.path)
        } else {
            format!("{}:{a}-{b}", self.path)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HunkError {
    #[error("reading commit {commit} from the repository: {source}")]
    Git {
        commit: String,
        #[source]
        source: git2::Error,
    },
    #[error(
        "{path}: the hunk at line {line} of the culprit's version was not found in this version of the file (it changed since); it cannot be reverted"
    )]
    NotFound { path: String, line: u32 },
    #[error("{path}: two hunks to revert overlap near line {line}")]
    Overlap { path: String, line: u32 },
    #[error("{path}: not valid UTF-8, so it cannot be patched as text")]
    NotText { path: String },
    #[error("{path}: refusing a path that leaves the worktree")]
    UnsafePath { path: String },
    #[error(
        "{path}: every chosen hunk is test or benchmark code, which a fix must not change (the tests and benchmarks are what it is validated against)"
    )]
    OnlyTests { path: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The hunks of `commit` against its first parent (against the empty tree for a root commit),
/// with zero context lines. Binary files are left out: they cannot be reverted hunk by hunk.
pub fn commit_hunks(repo: &Repository, commit: Oid) -> Result<Vec<FileHunk>, HunkError> {
    let git = |source| HunkError::Git {
        commit: commit.to_string(),
        source,
    };
    let c = repo.find_commit(commit).map_err(git)?;
    let new_tree = c.tree().map_err(git)?;
    let old_tree = if c.parent_count() > 0 {
        Some(c.parent(0).map_err(git)?.tree().map_err(git)?)
    } else {
        None
    };
    let mut opts = DiffOptions::new();
    opts.context_lines(0).interhunk_lines(0);
    let mut diff = repo
        .diff_tree_to_tree(old_tree.as_ref(), Some(&new_tree), Some(&mut opts))
        .map_err(git)?;
    diff.find_similar(None).map_err(git)?;

    let mut out = Vec::new();
    for idx in 0..diff.deltas().len() {
        let Some(delta) = diff.get_delta(idx) else {
            continue;
        };
        let kind = match delta.status() {
            git2::Delta::Added => ChangeKind::Added,
            git2::Delta::Deleted => ChangeKind::Deleted,
            git2::Delta::Renamed => ChangeKind::Renamed,
            git2::Delta::Modified => ChangeKind::Modified,
            _ => continue,
        };
        let path_of = |f: git2::DiffFile<'_>| f.path().map(|p| p.to_string_lossy().into_owned());
        let old_path = path_of(delta.old_file());
        let new_path = path_of(delta.new_file());
        let (Some(path), Some(old_path)) = (
            new_path.clone().or_else(|| old_path.clone()),
            old_path.or(new_path),
        ) else {
            continue;
        };
        let new_text = if kind == ChangeKind::Deleted {
            String::new()
        } else {
            let blob = repo.find_blob(delta.new_file().id()).map_err(git)?;
            if blob.is_binary() {
                continue;
            }
            String::from_utf8_lossy(blob.content()).into_owned()
        };
        let new_file_lines: Vec<&str> = new_text.split_inclusive('\n').collect();

        let Some(patch) = Patch::from_diff(&diff, idx).map_err(git)? else {
            continue;
        };
        if patch.delta().flags().is_binary() {
            continue;
        }
        for h in 0..patch.num_hunks() {
            let (hunk, line_count) = patch.hunk(h).map_err(git)?;
            let mut old_lines = Vec::new();
            let mut new_lines = Vec::new();
            for l in 0..line_count {
                let line = patch.line_in_hunk(h, l).map_err(git)?;
                let text = String::from_utf8_lossy(line.content()).into_owned();
                match line.origin() {
                    '-' => old_lines.push(text),
                    '+' => new_lines.push(text),
                    _ => {}
                }
            }
            let (new_start, new_count) = (hunk.new_start(), hunk.new_lines());
            // Lines before the hunk end at index `new_start - 1` for a change, `new_start` for
            // a pure deletion (which follows line `new_start`).
            let before_end = if new_count == 0 {
                new_start as usize
            } else {
                (new_start as usize).saturating_sub(1)
            };
            let after_start = (before_end + new_count as usize).min(new_file_lines.len());
            let before_end = before_end.min(new_file_lines.len());
            let context_before = new_file_lines
                [before_end.saturating_sub(ANCHOR_LINES)..before_end]
                .iter()
                .map(|s| s.to_string())
                .collect();
            let context_after = new_file_lines
                [after_start..(after_start + ANCHOR_LINES).min(new_file_lines.len())]
                .iter()
                .map(|s| s.to_string())
                .collect();
            out.push(FileHunk {
                path: path.clone(),
                old_path: old_path.clone(),
                kind,
                old_start: hunk.old_start(),
                old_count: hunk.old_lines(),
                new_start,
                new_count,
                old_lines,
                new_lines,
                context_before,
                context_after,
            });
        }
    }
    Ok(out)
}

/// `new_file_text` with the given hunks (all of the same file) reverted and everything else
/// kept byte for byte. The text may be the culprit's version or a later one: each hunk is
/// looked for at its recorded line first, then at the nearest place where its lines and anchors
/// match; a hunk found nowhere is an error rather than a guess.
pub fn revert_hunks(new_file_text: &str, hunks: &[&FileHunk]) -> Result<String, HunkError> {
    let lines: Vec<&str> = new_file_text.split_inclusive('\n').collect();
    // (start index in `lines`, number of lines replaced, hunk)
    let mut placed: Vec<(usize, usize, &FileHunk)> = Vec::with_capacity(hunks.len());
    for hunk in hunks {
        let at = locate(&lines, hunk).ok_or_else(|| HunkError::NotFound {
            path: hunk.path.clone(),
            line: hunk.new_start,
        })?;
        placed.push((at, hunk.new_lines.len(), hunk));
    }
    placed.sort_by_key(|(at, len, _)| (*at, *len));
    let mut out = String::with_capacity(new_file_text.len());
    let mut cursor = 0;
    for (at, len, hunk) in placed {
        if at < cursor {
            return Err(HunkError::Overlap {
                path: hunk.path.clone(),
                line: hunk.new_start,
            });
        }
        out.extend(lines[cursor..at].iter().copied());
        out.extend(hunk.old_lines.iter().map(String::as_str));
        cursor = at + len;
    }
    out.extend(lines[cursor..].iter().copied());
    Ok(out)
}

/// Whether reverting `hunk` would change the project's tests or benchmarks, which are what a
/// fix is validated against: a file under a `tests/` or `benches/` directory, or lines inside
/// a `#[cfg(test)]` item or a `#[test]` function of `file_text` (the file where the revert
/// would apply). A hunk that cannot be found in `file_text` is judged by its path alone.
pub fn touches_tests(file_text: &str, hunk: &FileHunk) -> bool {
    let in_test_dir = |path: &str| {
        let mut dirs: Vec<&str> = path.split('/').collect();
        dirs.pop();
        dirs.iter().any(|d| *d == "tests" || *d == "benches")
    };
    if in_test_dir(&hunk.path) || in_test_dir(&hunk.old_path) {
        return true;
    }
    if !hunk.path.ends_with(".rs") {
        return false;
    }
    let lines: Vec<&str> = file_text.split_inclusive('\n').collect();
    let Some(at) = locate(&lines, hunk) else {
        return false;
    };
    // The lines the hunk occupies; a pure addition of old lines sits between two lines,
    // both of which must be inside the same test item.
    let (first, last) = if hunk.new_lines.is_empty() {
        (at.saturating_sub(1), at)
    } else {
        (at, at + hunk.new_lines.len() - 1)
    };
    test_item_spans(&lines).iter().any(|&(start, end)| {
        if hunk.new_lines.is_empty() {
            start <= first && last <= end
        } else {
            first <= end && start <= last
        }
    })
}

/// 0-based inclusive line spans of items marked `#[cfg(test)]` or `#[test]` (or a path ending
/// in `::test`, as `#[tokio::test]`), from the attribute to the item's closing brace.
fn test_item_spans(lines: &[&str]) -> Vec<(usize, usize)> {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim();
        let is_test_attr = t.starts_with("#[cfg(test)]")
            || t.starts_with("#[test]")
            || (t.starts_with("#[") && t.contains("::test]"));
        if is_test_attr {
            let end = item_end(lines, i).unwrap_or(lines.len().saturating_sub(1));
            spans.push((i, end));
            i = end + 1;
        } else {
            i += 1;
        }
    }
    spans
}

/// The line where the item starting at `from` ends: its first `;` before any brace, or the
/// brace matching its first `{`. Strings, character literals and comments are skipped.
fn item_end(lines: &[&str], from: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut opened = false;
    let mut in_block_comment = false;
    let mut in_string = false;
    for (n, line) in lines.iter().enumerate().skip(from) {
        let chars: Vec<char> = line.chars().collect();
        let mut k = 0;
        // The attribute line itself: skip to after its `]` so `#[cfg(test)] mod t {` works.
        if n == from {
            k = chars
                .iter()
                .position(|&c| c == ']')
                .map_or(chars.len(), |p| p + 1);
        }
        while k < chars.len() {
            let c = chars[k];
            let next = chars.get(k + 1).copied();
            if in_block_comment {
                if c == '*' && next == Some('/') {
                    in_block_comment = false;
                    k += 1;
                }
            } else if in_string {
                if c == '\\' {
                    k += 1;
                } else if c == '"' {
                    in_string = false;
                }
            } else if c == '/' && next == Some('/') {
                break;
            } else if c == '/' && next == Some('*') {
                in_block_comment = true;
                k += 1;
            } else if c == '"' {
                in_string = true;
            } else if c == '\'' {
                // A character literal ('x', '\n', '{'); a lifetime has no closing quote.
                if next == Some('\\') {
                    let close = chars.iter().skip(k + 3).position(|&q| q == '\'');
                    k += close.map_or(1, |p| p + 3);
                } else if chars.get(k + 2) == Some(&'\'') {
                    k += 2;
                }
            } else if c == '{' {
                depth += 1;
                opened = true;
            } else if c == '}' {
                depth = depth.saturating_sub(1);
                if opened && depth == 0 {
                    return Some(n);
                }
            } else if c == ';' && !opened && depth == 0 {
                return Some(n);
            }
            k += 1;
        }
    }
    None
}

/// Where the hunk's new lines start in `lines` (0-based), preferring the recorded position.
fn locate(lines: &[&str], hunk: &FileHunk) -> Option<usize> {
    let expected = if hunk.new_count == 0 {
        hunk.new_start as usize
    } else {
        (hunk.new_start as usize).saturating_sub(1)
    };
    let body_matches = |at: usize| {
        at + hunk.new_lines.len() <= lines.len()
            && hunk
                .new_lines
                .iter()
                .zip(&lines[at..])
                .all(|(want, have)| want == have)
    };
    let anchors_match = |at: usize| {
        let before = &hunk.context_before;
        let after_at = at + hunk.new_lines.len();
        at >= before.len()
            && before
                .iter()
                .zip(&lines[at - before.len()..])
                .all(|(w, h)| w == h)
            && after_at + hunk.context_after.len() <= lines.len()
            && hunk
                .context_after
                .iter()
                .zip(&lines[after_at..])
                .all(|(w, h)| w == h)
    };
    if body_matches(expected) && anchors_match(expected) {
        return Some(expected);
    }
    // The region moved: take the nearest place where both the lines and the anchors match.
    // Without any line to match on (a deletion with no anchors), do not guess.
    if hunk.new_lines.is_empty() && hunk.context_before.is_empty() && hunk.context_after.is_empty()
    {
        return None;
    }
    let anchored = (0..=lines.len())
        .filter(|&at| body_matches(at) && anchors_match(at))
        .min_by_key(|&at| at.abs_diff(expected));
    if anchored.is_some() || hunk.new_lines.is_empty() {
        return anchored;
    }
    // A later commit touched the lines around the hunk: accept the hunk's own lines when they
    // occur exactly once in the file, and refuse to choose between several places.
    let mut places = (0..lines.len()).filter(|&at| body_matches(at));
    match (places.next(), places.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// Reverts `hunks` (of any files) in the checkout at `worktree`: reads each file, reverts its
/// hunks and returns the new contents by path relative to the root, without writing anything.
/// A file the commit deleted is read as empty, so reverting its hunk brings it back.
pub fn plan_reverts(
    worktree: &Path,
    hunks: &[&FileHunk],
) -> Result<BTreeMap<PathBuf, String>, HunkError> {
    let mut by_file: BTreeMap<&str, Vec<&FileHunk>> = BTreeMap::new();
    for h in hunks {
        by_file.entry(h.path.as_str()).or_default().push(h);
    }
    let mut out = BTreeMap::new();
    for (path, file_hunks) in by_file {
        let rel = safe_relative(path)?;
        let full = worktree.join(&rel);
        let current = match std::fs::read(&full) {
            Ok(bytes) => String::from_utf8(bytes).map_err(|_| HunkError::NotText {
                path: path.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(HunkError::Io {
                    path: path.to_string(),
                    source,
                });
            }
        };
        out.insert(rel, revert_hunks(&current, &file_hunks)?);
    }
    Ok(out)
}

/// Writes `files` (paths relative to the root) into the checkout at `worktree`, creating
/// parent directories as needed.
pub fn write_files(worktree: &Path, files: &BTreeMap<PathBuf, String>) -> Result<(), HunkError> {
    for (rel, text) in files {
        let shown = rel.to_string_lossy().into_owned();
        let rel = safe_relative(&shown)?;
        let full = worktree.join(rel);
        let io = |source| HunkError::Io {
            path: shown.clone(),
            source,
        };
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&full, text).map_err(io)?;
    }
    Ok(())
}

/// A relative path with no `..`, root or prefix: it cannot leave the worktree.
pub(crate) fn safe_relative(path: &str) -> Result<PathBuf, HunkError> {
    let p = Path::new(path);
    if path.is_empty() || p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(HunkError::UnsafePath {
            path: path.to_string(),
        });
    }
    Ok(p.to_path_buf())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn hunk(new_start: u32, new_lines: &[&str], old_lines: &[&str]) -> FileHunk {
        FileHunk {
            path: "a.rs".into(),
            old_path: "a.rs".into(),
            kind: ChangeKind::Modified,
            old_start: new_start,
            old_count: old_lines.len() as u32,
            new_start,
            new_count: new_lines.len() as u32,
            old_lines: old_lines.iter().map(|s| s.to_string()).collect(),
            new_lines: new_lines.iter().map(|s| s.to_string()).collect(),
            context_before: vec![],
            context_after: vec![],
        }
    }

    #[test]
    fn reverts_a_replacement_in_place() {
        let h = hunk(2, &["b2\n"], &["b\n"]);
        assert_eq!(revert_hunks("a\nb2\nc\n", &[&h]).unwrap(), "a\nb\nc\n");
    }

    #[test]
    fn finds_a_hunk_that_moved() {
        let mut h = hunk(2, &["b2\n"], &["b\n"]);
        h.context_before = vec!["a\n".into()];
        let got = revert_hunks("x\ny\na\nb2\nc\n", &[&h]).unwrap();
        assert_eq!(got, "x\ny\na\nb\nc\n");
    }

    #[test]
    fn accepts_changed_anchors_only_when_the_lines_are_unique() {
        let mut h = hunk(2, &["b2\n"], &["b\n"]);
        h.context_before = vec!["a\n".into()];
        h.context_after = vec!["c\n".into()];
        // The line before the hunk changed at head; the hunk's line is still unique.
        assert_eq!(revert_hunks("A\nb2\nc\n", &[&h]).unwrap(), "A\nb\nc\n");
        // Twice in the file and no anchor matches: no guess.
        assert!(matches!(
            revert_hunks("A\nb2\nC\nb2\n", &[&h]),
            Err(HunkError::NotFound { .. })
        ));
    }

    #[test]
    fn refuses_a_hunk_that_is_gone() {
        let h = hunk(2, &["b2\n"], &["b\n"]);
        assert!(matches!(
            revert_hunks("a\nzzz\nc\n", &[&h]),
            Err(HunkError::NotFound { line: 2, .. })
        ));
    }

    #[test]
    fn rejects_paths_leaving_the_worktree() {
        assert!(safe_relative("../etc/passwd").is_err());
        assert!(safe_relative("/etc/passwd").is_err());
        assert!(safe_relative("src/lib.rs").is_ok());
    }

    const WITH_TESTS: &str = "pub fn f() -> u32 {\n    1\n}\n\n#[cfg(test)]\nmod tests {\n    const OPEN: char = '{';\n    #[test]\n    fn one() {\n        assert_eq!(super::f(), 1); // }\n    }\n}\n\npub fn g() -> &'static str {\n    \"}\"\n}\n";

    #[test]
    fn hunks_inside_test_modules_touch_tests() {
        // `assert_eq!` line, inside `mod tests`.
        assert!(touches_tests(
            WITH_TESTS,
            &hunk(10, &["        assert_eq!(super::f(), 1); // }\n"], &[])
        ));
        // The body of `f`, and of `g` after the module (braces in literals and comments skipped).
        assert!(!touches_tests(
            WITH_TESTS,
            &hunk(2, &["    1\n"], &["    2\n"])
        ));
        assert!(!touches_tests(WITH_TESTS, &hunk(15, &["    \"}\"\n"], &[])));
        // A deletion between two lines of the module, and one just after it.
        assert!(touches_tests(
            WITH_TESTS,
            &hunk(10, &[], &["        dbg!(1);\n"])
        ));
        assert!(!touches_tests(WITH_TESTS, &hunk(13, &[], &["// gone\n"])));
    }

    #[test]
    fn files_under_tests_or_benches_are_tests() {
        let mut h = hunk(1, &["x\n"], &[]);
        h.path = "tests/it.rs".into();
        assert!(touches_tests("", &h));
        h.path = "crates/a/benches/speed.rs".into();
        assert!(touches_tests("", &h));
        h.path = "src/tests.txt".into();
        h.old_path = h.path.clone();
        assert!(!touches_tests("x\n", &h));
    }
}
