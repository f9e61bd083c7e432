//! Committing a validated fix on a new branch, built from head's tree and the patch's files
//! alone: the user's work tree, index and current branch are never touched, and the commit
//! carries exactly the files the engine meant to change (checked before the branch is made).

use std::collections::BTreeSet;

use git2::{DiffFormat, FileMode, Oid, Repository, Signature, build::TreeUpdateBuilder};
use perf_fixer_core::report::{PatchReport, Report};
use perf_fixer_core::units::format_pct;

use crate::compare::EngineError;
use crate::git::Checkout;
use crate::strategies::Candidate;

/// The fix as committed.
#[derive(Debug, Clone)]
pub struct Committed {
    pub branch: String,
    pub commit: String,
    /// Unified diff of the fix against head.
    pub patch: String,
}

fn git_err(context: &str) -> impl FnOnce(git2::Error) -> EngineError + '_ {
    move |e| EngineError::Commit(format!("{context}: {}", e.message()))
}

/// Commits `candidate` on top of `head` and points a new branch `branch` (or `branch-2`, ...
/// when taken) at it.
pub fn commit_fix(
    repo: &Repository,
    _checkout: &Checkout,
    head: Oid,
    branch: &str,
    candidate: &Candidate,
    message: &str,
) -> Result<Committed, EngineError> {
    let head_commit = repo.find_commit(head).map_err(git_err("reading head"))?;
    let head_tree = head_commit.tree().map_err(git_err("reading head's tree"))?;
    let mut update = TreeUpdateBuilder::new();
    for (path, text) in &candidate.files {
        let blob = repo
            .blob(text.as_bytes())
            .map_err(git_err("writing a blob"))?;
        let mode = head_tree
            .get_path(path)
            .ok()
            .map(|entry| entry.filemode())
            .filter(|m| *m == i32::from(FileMode::BlobExecutable))
            .map_or(FileMode::Blob, |_| FileMode::BlobExecutable);
        update.upsert(path, blob, mode);
    }
    let tree_id = update
        .create_updated(repo, &head_tree)
        .map_err(git_err("building the fix's tree"))?;
    let tree = repo
        .find_tree(tree_id)
        .map_err(git_err("reading the fix's tree"))?;

    let diff = repo
        .diff_tree_to_tree(Some(&head_tree), Some(&tree), None)
        .map_err(git_err("diffing the fix against head"))?;
    let changed: BTreeSet<String> = diff
        .deltas()
        .filter_map(|d| {
            d.new_file()
                .path()
                .map(|p| p.to_string_lossy().into_owned())
        })
        .collect();
    let intended: BTreeSet<String> = candidate.file_names().into_iter().collect();
    if changed.is_empty() || !changed.is_subset(&intended) {
        return Err(EngineError::Commit(format!(
            "the fix would change {changed:?}, but the patch meant to change {intended:?}; refusing to commit"
        )));
    }
    let mut patch = Vec::new();
    diff.print(DiffFormat::Patch, |_, _, line| {
        if matches!(line.origin(), '+' | '-' | ' ') {
            patch.push(line.origin() as u8);
        }
        patch.extend_from_slice(line.content());
        true
    })
    .map_err(git_err("printing the patch"))?;

    let signature = Signature::now("perf-fixer", "perf-fixer@users.noreply.github.com")
        .map_err(git_err("making the commit signature"))?;
    let commit = repo
        .commit(
            None,
            &signature,
            &signature,
            message,
            &tree,
            &[&head_commit],
        )
        .map_err(git_err("committing the fix"))?;
    let commit_obj = repo
        .find_commit(commit)
        .map_err(git_err("reading the fix commit"))?;
    let name = free_branch_name(repo, branch);
    repo.branch(&name, &commit_obj, false)
        .map_err(git_err("creating the fix branch"))?;
    Ok(Committed {
        branch: name,
        commit: commit.to_string(),
        patch: String::from_utf8_lossy(&patch).into_owned(),
    })
}

/// `name`, or `name-2`, `name-3`, ... when a branch of that name exists already.
fn free_branch_name(repo: &Repository, name: &str) -> String {
    let taken = |n: &str| repo.find_branch(n, git2::BranchType::Local).is_ok();
    if !taken(name) {
        return name.to_string();
    }
    (2..)
        .map(|i| format!("{name}-{i}"))
        .find(|n| !taken(n))
        .unwrap_or_else(|| name.to_string())
}

/// The fix commit's message: what it fixes, how much it recovers, and each patch.
pub fn commit_message(report: &Report, patches: &[PatchReport], regressed: &[String]) -> String {
    let culprit = report
        .culprit
        .as_ref()
        .map(|c| format!("{} ({})", &c.commit[..c.commit.len().min(10)], c.summary))
        .unwrap_or_else(|| "unknown".to_string());
    let mut message = format!(
        "perf: recover the slowdown of {} from {culprit}\n\n",
        regressed.join(", ")
    );
    for bench in report
        .benchmarks
        .iter()
        .filter(|b| regressed.contains(&b.name))
    {
        if let Some(change) = bench.change_pct {
            message.push_str(&format!(
                "{} was {} slower at head.\n",
                bench.name,
                format_pct(change)
            ));
        }
    }
    message.push('\n');
    for p in patches {
        message.push_str(&format!(
            "- {} [{}]: {}\n",
            p.strategy,
            risk_word(p),
            p.description
        ));
    }
    message.push_str("\nFound, validated and measured by perf-fixer.\n");
    message
}

fn risk_word(p: &PatchReport) -> &'static str {
    match p.risk {
        perf_fixer_core::report::Risk::Low => "low risk",
        perf_fixer_core::report::Risk::Medium => "medium risk",
        perf_fixer_core::report::Risk::High => "high risk",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::testutil::commit_file;
    use perf_fixer_core::report::Risk;
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    fn candidate(files: &[(&str, &str)]) -> Candidate {
        Candidate {
            strategy: "revert_hunks",
            description: "Revert 1 of 2 hunks".into(),
            files: files
                .iter()
                .map(|(p, t)| (PathBuf::from(p), t.to_string()))
                .collect::<BTreeMap<_, _>>(),
            risk: Risk::Low,
            risk_notes: String::new(),
        }
    }

    #[test]
    fn commits_only_the_patch_on_a_new_branch_without_moving_head() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        commit_file(&repo, "src/lib.rs", "fn slow() {}\n", "one");
        let head = commit_file(&repo, "src/other.rs", "fn other() {}\n", "two");
        let checkout = Checkout::create(&repo, "candidate", head).unwrap();
        let head_ref = repo.head().unwrap().name().unwrap().to_string();

        let c = candidate(&[("src/lib.rs", "fn fast() {}\n")]);
        let first = commit_fix(&repo, &checkout, head, "perf-fixer/fix", &c, "perf: fix").unwrap();
        assert_eq!(first.branch, "perf-fixer/fix");
        assert!(
            first.patch.contains("-fn slow() {}") && first.patch.contains("+fn fast() {}"),
            "{}",
            first.patch
        );
        let commit = repo
            .find_commit(Oid::from_str(&first.commit).unwrap())
            .unwrap();
        assert_eq!(commit.parent_id(0).unwrap(), head);
        let blob = commit
            .tree()
            .unwrap()
            .get_path(Path::new("src/lib.rs"))
            .unwrap()
            .to_object(&repo)
            .unwrap();
        assert_eq!(blob.as_blob().unwrap().content(), b"fn fast() {}\n");
        assert_eq!(
            repo.head().unwrap().name().unwrap(),
            head_ref,
            "the user's branch is untouched"
        );
        assert_eq!(repo.head().unwrap().target().unwrap(), head);

        let second = commit_fix(&repo, &checkout, head, "perf-fixer/fix", &c, "perf: fix").unwrap();
        assert_eq!(
            second.branch, "perf-fixer/fix-2",
            "an existing branch is never overwritten"
        );
    }

    #[test]
    fn a_patch_that_changes_nothing_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let head = commit_file(&repo, "src/lib.rs", "fn same() {}\n", "one");
        let checkout = Checkout::create(&repo, "candidate", head).unwrap();
        let c = candidate(&[("src/lib.rs", "fn same() {}\n")]);
        let err = commit_fix(&repo, &checkout, head, "perf-fixer/fix", &c, "m").unwrap_err();
        assert!(err.to_string().contains("refusing to commit"), "{err}");
    }
}
