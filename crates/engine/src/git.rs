//! The git side of the engine: resolving revisions, reading files at a commit, listing the
//! commits between two revisions, and private worktrees that never touch the user's checkout,
//! index or current branch.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use git2::{
    BranchType, Oid, Repository, WorktreeAddOptions, WorktreePruneOptions, build::CheckoutBuilder,
};

/// Prefix of every worktree (and temporary branch) the engine creates, so stale ones left by
/// a killed process can be recognised and pruned.
const WORKTREE_PREFIX: &str = "perf-fixer-";

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error(
        "{dir} is not a git repository (or any of its parents): {source}. Pass --repo with the path of a git checkout."
    )]
    NotARepository { dir: PathBuf, source: git2::Error },
    #[error(
        "unknown revision '{rev}' in {dir}: {message}. Use a branch, tag or commit SHA that exists locally (fetch it first if it is remote)."
    )]
    UnknownRevision {
        rev: String,
        dir: PathBuf,
        message: String,
    },
    #[error("{path} at commit {commit} is not valid UTF-8 text")]
    NotText { path: String, commit: String },
    #[error("git: {context}: {source}")]
    Git {
        context: String,
        source: git2::Error,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

fn git_err(context: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError {
    let context = context.into();
    move |source| GitError::Git { context, source }
}

/// Opens the repository that contains `dir` (a work tree or a bare repository).
pub fn open_repo(dir: &Path) -> Result<Repository, GitError> {
    Repository::discover(dir).map_err(|source| GitError::NotARepository {
        dir: dir.to_path_buf(),
        source,
    })
}

/// Resolves a revision (`main`, `HEAD~2`, a short or full SHA, a tag) to a commit id.
pub fn resolve(repo: &Repository, rev: &str) -> Result<Oid, GitError> {
    let unknown = |message: String| GitError::UnknownRevision {
        rev: rev.to_string(),
        dir: repo_dir(repo),
        message,
    };
    let object = repo
        .revparse_single(rev)
        .map_err(|e| unknown(e.message().to_string()))?;
    let commit = object
        .peel_to_commit()
        .map_err(|e| unknown(format!("it does not name a commit ({})", e.message())))?;
    Ok(commit.id())
}

/// Where the repository lives, for messages: the work tree if there is one, else the git dir.
pub fn repo_dir(repo: &Repository) -> PathBuf {
    repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf()
}

/// The text of `path` at `commit`, or `None` when the file does not exist there.
pub fn read_file_at(
    repo: &Repository,
    commit: Oid,
    path: &str,
) -> Result<Option<String>, GitError> {
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(git_err(format!("reading the tree of {commit}")))?;
    let entry = match tree.get_path(Path::new(path)) {
        Ok(entry) => entry,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(git_err(format!("looking up {path} at {commit}"))(e)),
    };
    let blob = entry
        .to_object(repo)
        .and_then(|o| o.peel_to_blob())
        .map_err(git_err(format!("reading {path} at {commit}")))?;
    String::from_utf8(blob.content().to_vec())
        .map(Some)
        .map_err(|_| GitError::NotText {
            path: path.to_string(),
            commit: commit.to_string(),
        })
}

/// The commits after `base` up to and including `head`, oldest first, following first parents
/// (the history a bisection walks).
pub fn commits_between(repo: &Repository, base: Oid, head: Oid) -> Result<Vec<Oid>, GitError> {
    let mut walk = repo
        .revwalk()
        .map_err(git_err("starting a revision walk"))?;
    walk.push(head)
        .map_err(git_err(format!("walking from {head}")))?;
    walk.hide(base).map_err(git_err(format!("hiding {base}")))?;
    walk.simplify_first_parent()
        .map_err(git_err("restricting the walk to first parents"))?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
        .map_err(git_err("sorting the walk"))?;
    walk.collect::<Result<Vec<_>, _>>().map_err(git_err(format!(
        "listing commits between {base} and {head}"
    )))
}

/// Which commit stands for `base` when measuring what `head` changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// `base` is `head` or one of its ancestors: measure it as asked.
    Base,
    /// The base branch moved on after `head` forked from it: measuring the base's tip would
    /// count the base branch's later changes as head's, so the merge-base stands for it.
    MergeBase(Oid),
    /// The two share no history: nothing better than `base` itself.
    Unrelated,
}

/// The baseline that isolates the change `head` makes on top of `base` (what a pull request
/// from `head` into `base` would merge), as `git merge-base base head` finds it.
pub fn baseline(repo: &Repository, base: Oid, head: Oid) -> Result<Baseline, GitError> {
    if base == head
        || repo
            .graph_descendant_of(head, base)
            .map_err(git_err(format!("checking whether {head} contains {base}")))?
    {
        return Ok(Baseline::Base);
    }
    match repo.merge_base(base, head) {
        Ok(merge_base) => Ok(Baseline::MergeBase(merge_base)),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(Baseline::Unrelated),
        Err(e) => Err(git_err(format!(
            "finding the merge-base of {base} and {head}"
        ))(e)),
    }
}

/// The first line of a commit message.
pub fn commit_summary(repo: &Repository, commit: Oid) -> Result<String, GitError> {
    let commit = repo
        .find_commit(commit)
        .map_err(git_err(format!("reading commit {commit}")))?;
    Ok(commit
        .summary_bytes()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default())
}

/// A private checkout of one commit, in its own git worktree under the repository's git dir
/// (`.git/perf-fixer/`), detached, so that the user's work tree, index and branches are never
/// touched. Removed (directory and worktree metadata) when dropped.
pub struct Checkout {
    name: String,
    path: PathBuf,
    repo_path: PathBuf,
    removed: bool,
}

impl std::fmt::Debug for Checkout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkout")
            .field("path", &self.path)
            .finish()
    }
}

impl Checkout {
    /// Creates a worktree for `slot` (`base`, `head`, `candidate`, ...) at `commit`.
    pub fn create(repo: &Repository, slot: &str, commit: Oid) -> Result<Checkout, GitError> {
        prune_stale(repo);
        let unique = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "{WORKTREE_PREFIX}{slot}-{}-{unique:08x}",
            std::process::id()
        );
        let parent = worktrees_dir(repo);
        std::fs::create_dir_all(&parent).map_err(|source| GitError::Io {
            context: format!("creating {}", parent.display()),
            source,
        })?;
        let path = parent.join(&name);

        // libgit2 needs a branch to create a worktree; make a temporary one, detach the new
        // worktree's HEAD at the commit, then delete the branch so no ref is left behind.
        let target = repo
            .find_commit(commit)
            .map_err(git_err(format!("finding commit {commit}")))?;
        let branch = repo
            .branch(&name, &target, true)
            .map_err(git_err(format!("creating temporary branch {name}")))?;
        let reference = branch.into_reference();
        let mut opts = WorktreeAddOptions::new();
        opts.reference(Some(&reference));
        let added = repo
            .worktree(&name, &path, Some(&opts))
            .map_err(git_err(format!("adding worktree {}", path.display())));
        let checkout = Checkout {
            name: name.clone(),
            path,
            repo_path: repo.path().to_path_buf(),
            removed: false,
        };
        let result = added.and_then(|_| {
            let wt_repo = Repository::open(&checkout.path).map_err(git_err(format!(
                "opening worktree {}",
                checkout.path.display()
            )))?;
            wt_repo
                .set_head_detached(commit)
                .map_err(git_err("detaching the worktree's HEAD"))?;
            Ok(())
        });
        delete_branch(repo, &name);
        result.map(|()| checkout)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves this worktree to another commit, discarding local edits to tracked files while
    /// keeping untracked files such as `target/` (so builds stay incremental).
    pub fn switch_to(&self, commit: Oid) -> Result<(), GitError> {
        let repo = self.open()?;
        let object = repo
            .find_object(commit, None)
            .map_err(git_err(format!("finding commit {commit}")))?;
        repo.checkout_tree(&object, Some(CheckoutBuilder::new().force()))
            .map_err(git_err(format!(
                "checking out {commit} in {}",
                self.path.display()
            )))?;
        repo.set_head_detached(commit)
            .map_err(git_err("detaching the worktree's HEAD"))
    }

    /// Discards edits to tracked files (a rejected candidate patch), keeping `target/`.
    pub fn restore(&self) -> Result<(), GitError> {
        let repo = self.open()?;
        repo.checkout_head(Some(CheckoutBuilder::new().force()))
            .map_err(git_err(format!("restoring {}", self.path.display())))
    }

    /// The repository handle of this worktree (for commits on a fix branch).
    pub fn open(&self) -> Result<Repository, GitError> {
        Repository::open(&self.path)
            .map_err(git_err(format!("opening worktree {}", self.path.display())))
    }

    /// Removes the worktree now, reporting failures (dropping does the same, silently).
    pub fn remove(mut self) -> Result<(), GitError> {
        self.removed = true;
        remove_worktree(&self.repo_path, &self.name, &self.path)
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        if !self.removed
            && let Err(e) = remove_worktree(&self.repo_path, &self.name, &self.path)
        {
            tracing::warn!(worktree = %self.path.display(), error = %e, "could not remove worktree");
        }
    }
}

fn worktrees_dir(repo: &Repository) -> PathBuf {
    repo.commondir().join("perf-fixer").join("worktrees")
}

fn delete_branch(repo: &Repository, name: &str) {
    if let Ok(mut branch) = repo.find_branch(name, BranchType::Local)
        && let Err(e) = branch.delete()
    {
        tracing::warn!(branch = name, error = %e, "could not delete temporary branch");
    }
}

fn remove_worktree(repo_path: &Path, name: &str, path: &Path) -> Result<(), GitError> {
    if path.exists() {
        std::fs::remove_dir_all(path).map_err(|source| GitError::Io {
            context: format!("removing worktree {}", path.display()),
            source,
        })?;
    }
    let repo = Repository::open(repo_path).map_err(git_err("reopening the repository"))?;
    if let Ok(worktree) = repo.find_worktree(name) {
        worktree
            .prune(Some(
                WorktreePruneOptions::new()
                    .valid(true)
                    .locked(true)
                    .working_tree(true),
            ))
            .map_err(git_err(format!("pruning worktree {name}")))?;
    }
    delete_branch(&repo, name);
    Ok(())
}

/// Removes worktrees left behind by a perf-fixer process that no longer runs (killed with
/// SIGKILL, or a crashed machine). Best effort: failures are logged, never fatal.
fn prune_stale(repo: &Repository) {
    let Ok(names) = repo.worktrees() else { return };
    for name in names.iter().filter_map(|n| n.ok().flatten()) {
        let Some(pid) = owner_pid(name) else { continue };
        if Path::new("/proc").join(pid.to_string()).exists() {
            continue;
        }
        let path = worktrees_dir(repo).join(name);
        if let Err(e) = remove_worktree(repo.path(), name, &path) {
            tracing::warn!(worktree = name, error = %e, "could not prune stale worktree");
        }
    }
}

/// The pid encoded in a worktree name `perf-fixer-<slot>-<pid>-<nonce>`.
fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(WORKTREE_PREFIX)?;
    let mut parts = rest.rsplitn(3, '-');
    let _nonce = parts.next()?;
    parts.next()?.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::testutil::commit_file;

    #[test]
    fn worktree_checks_out_commit_without_touching_user_checkout() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let first = commit_file(&repo, "src/lib.rs", "fn a() {}\n", "first");
        let second = commit_file(&repo, "src/lib.rs", "fn b() {}\n", "second");
        std::fs::write(dir.path().join("src/lib.rs"), "user edit\n").unwrap();
        let head_before = repo.head().unwrap().name().unwrap().to_string();
        let branches_before = repo.branches(None).unwrap().count();

        let checkout = Checkout::create(&repo, "base", first).unwrap();
        assert_eq!(
            std::fs::read_to_string(checkout.path().join("src/lib.rs")).unwrap(),
            "fn a() {}\n"
        );
        checkout.switch_to(second).unwrap();
        assert_eq!(
            std::fs::read_to_string(checkout.path().join("src/lib.rs")).unwrap(),
            "fn b() {}\n"
        );
        let path = checkout.path().to_path_buf();
        drop(checkout);

        assert!(!path.exists(), "worktree directory removed");
        assert_eq!(repo.head().unwrap().name().unwrap(), head_before);
        assert_eq!(
            repo.branches(None).unwrap().count(),
            branches_before,
            "no branch left"
        );
        assert_eq!(repo.worktrees().unwrap().len(), 0);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("src/lib.rs")).unwrap(),
            "user edit\n",
            "user's uncommitted edit untouched"
        );
    }

    #[test]
    fn restore_discards_edits_but_keeps_untracked_target() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let first = commit_file(&repo, "src/lib.rs", "fn a() {}\n", "first");
        let checkout = Checkout::create(&repo, "head", first).unwrap();
        std::fs::write(checkout.path().join("src/lib.rs"), "patched\n").unwrap();
        std::fs::create_dir_all(checkout.path().join("target")).unwrap();
        std::fs::write(checkout.path().join("target/artifact"), "x").unwrap();
        checkout.restore().unwrap();
        assert_eq!(
            std::fs::read_to_string(checkout.path().join("src/lib.rs")).unwrap(),
            "fn a() {}\n"
        );
        assert!(checkout.path().join("target/artifact").exists());
    }

    #[test]
    fn resolves_and_lists_commits() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let a = commit_file(&repo, "f", "1", "one");
        let b = commit_file(&repo, "f", "2", "two");
        let c = commit_file(&repo, "f", "3", "three");
        assert_eq!(resolve(&repo, "HEAD").unwrap(), c);
        assert_eq!(resolve(&repo, "HEAD~2").unwrap(), a);
        assert_eq!(commits_between(&repo, a, c).unwrap(), vec![b, c]);
        assert_eq!(commit_summary(&repo, b).unwrap(), "two");
        assert_eq!(read_file_at(&repo, b, "f").unwrap().as_deref(), Some("2"));
        assert_eq!(read_file_at(&repo, b, "missing").unwrap(), None);
        let err = resolve(&repo, "no-such-branch").unwrap_err().to_string();
        assert!(err.contains("unknown revision 'no-such-branch'"), "{err}");
    }

    #[test]
    fn baseline_is_the_merge_base_once_the_base_branch_moved_on() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let fork = commit_file(&repo, "f", "1", "fork point");
        let base_tip = commit_file(&repo, "f", "2", "base moves on");
        assert_eq!(baseline(&repo, fork, base_tip).unwrap(), Baseline::Base);
        assert_eq!(baseline(&repo, base_tip, base_tip).unwrap(), Baseline::Base);

        // A feature branch from the fork point.
        let fork_commit = repo.find_commit(fork).unwrap();
        repo.branch("feature", &fork_commit, false).unwrap();
        repo.set_head("refs/heads/feature").unwrap();
        repo.checkout_head(Some(CheckoutBuilder::new().force()))
            .unwrap();
        let feature = commit_file(&repo, "g", "x", "feature work");
        assert_eq!(
            baseline(&repo, base_tip, feature).unwrap(),
            Baseline::MergeBase(fork)
        );

        // An orphan commit shares no history with either.
        let sig = git2::Signature::now("Test", "test@example.com").unwrap();
        let tree = repo.find_commit(fork).unwrap().tree().unwrap();
        let orphan = repo.commit(None, &sig, &sig, "orphan", &tree, &[]).unwrap();
        assert_eq!(
            baseline(&repo, base_tip, orphan).unwrap(),
            Baseline::Unrelated
        );
    }

    #[test]
    fn not_a_repository_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = open_repo(dir.path()).err().unwrap().to_string();
        assert!(err.contains("is not a git repository"), "{err}");
    }

    #[test]
    fn stale_worktree_of_dead_process_is_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let first = commit_file(&repo, "f", "1", "one");
        let checkout = Checkout::create(&repo, "base", first).unwrap();
        // Pretend a dead process owned it: rename the metadata as if pid were not running.
        let name = checkout.name.clone();
        std::mem::forget(checkout);
        assert_eq!(owner_pid(&name), Some(std::process::id()));
        assert_eq!(
            owner_pid("perf-fixer-base-999999999-0000abcd"),
            Some(999_999_999)
        );
        assert_eq!(owner_pid("other"), None);
        // Our own pid is alive, so it stays.
        prune_stale(&repo);
        assert_eq!(repo.worktrees().unwrap().len(), 1);
        remove_worktree(repo.path(), &name, &worktrees_dir(&repo).join(&name)).unwrap();
        assert_eq!(repo.worktrees().unwrap().len(), 0);
    }
}
