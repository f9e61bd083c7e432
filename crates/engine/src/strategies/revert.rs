//! `revert_hunks`: revert a subset of the culprit's hunks at head, keeping the rest of the
//! commit. The subset comes from localization and delta debugging.

use std::path::Path;

use perf_fixer_core::report::Risk;

use super::Candidate;
use crate::hunks::{FileHunk, HunkError, plan_reverts, touches_tests};

/// Above this many reverted lines a revert is no longer "small and local".
const SMALL_REVERT_LINES: u32 = 20;

/// A candidate reverting `chosen` (hunks of `commit`) in the checkout at `head_worktree`.
/// `total_hunks` is the number of hunks in the whole commit, for the description.
/// Hunks in tests or benchmarks are left as they are (a fix that edits the tests it is checked
/// against proves nothing); when only such hunks are chosen there is no candidate.
pub fn revert_candidate(
    head_worktree: &Path,
    commit: &str,
    chosen: &[&FileHunk],
    total_hunks: usize,
) -> Result<Candidate, HunkError> {
    let kept: Vec<&FileHunk> = chosen
        .iter()
        .copied()
        .filter(|h| !is_test_hunk(head_worktree, h))
        .collect();
    if kept.is_empty() {
        return Err(HunkError::OnlyTests {
            path: chosen.first().map(|h| h.path.clone()).unwrap_or_default(),
        });
    }
    let chosen = kept.as_slice();
    let files = plan_reverts(head_worktree, chosen)?;
    let short = commit.get(..10).unwrap_or(commit);
    let locations: Vec<String> = chosen.iter().map(|h| h.location()).collect();
    let description = if chosen.len() == total_hunks {
        format!("Revert commit {short} ({})", locations.join(", "))
    } else {
        format!(
            "Revert {} of {total_hunks} hunks of {short} ({}); keep the rest of the commit",
            chosen.len(),
            locations.join(", ")
        )
    };
    let (risk, risk_notes) = assess(short, chosen, total_hunks);
    Ok(Candidate {
        strategy: "revert_hunks",
        description,
        files,
        risk,
        risk_notes,
    })
}

/// Whether `hunk` is test or benchmark code, judged on the file as it is in `worktree`.
fn is_test_hunk(worktree: &Path, hunk: &FileHunk) -> bool {
    let text = crate::hunks::safe_relative(&hunk.path)
        .ok()
        .and_then(|rel| std::fs::read_to_string(worktree.join(rel)).ok())
        .unwrap_or_default();
    touches_tests(&text, hunk)
}

/// The risk of reverting these hunks, and why.
pub fn assess(short: &str, chosen: &[&FileHunk], total_hunks: usize) -> (Risk, String) {
    let lines: u32 = chosen.iter().map(|h| h.changed_lines()).sum();
    let mut files: Vec<&str> = chosen.iter().map(|h| h.path.as_str()).collect();
    files.sort_unstable();
    files.dedup();
    let touches_api = chosen.iter().any(|h| {
        h.old_lines
            .iter()
            .chain(&h.new_lines)
            .any(|l| is_public_item(l))
    });
    let mut notes = vec![format!(
        "The reverted lines ({lines} changed, in {}) return to their form before {short}; \
         whatever behaviour {short} introduced there is undone.",
        files.join(", ")
    )];
    if chosen.len() < total_hunks {
        notes.push(format!(
            "The other {} hunk(s) of {short} are kept, so the commit's intent elsewhere stays.",
            total_hunks - chosen.len()
        ));
    }
    let risk = if touches_api {
        notes.push(
            "It changes a public item's declaration: callers in other crates may see a different API."
                .to_string(),
        );
        Risk::High
    } else if lines > SMALL_REVERT_LINES || files.len() > 1 {
        notes.push("It is not a small, single-place change: review it as a partial revert.".into());
        Risk::Medium
    } else {
        Risk::Low
    };
    (risk, notes.join(" "))
}

fn is_public_item(line: &str) -> bool {
    let t = line.trim_start();
    let Some(rest) = t.strip_prefix("pub") else {
        return false;
    };
    // `pub fn`, `pub(crate) struct` is not public outside the crate.
    let rest = rest.trim_start();
    [
        "fn ",
        "struct ",
        "enum ",
        "trait ",
        "type ",
        "const ",
        "static ",
        "mod ",
        "use ",
        "async fn ",
        "unsafe fn ",
    ]
    .iter()
    .any(|kw| rest.starts_with(kw))
}
