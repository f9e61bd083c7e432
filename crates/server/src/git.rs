//! The per-repository git cache: one bare repository per GitHub repository under
//! `PERF_FIXER_WORKDIR/repos/`, fetched incrementally, and the push of fix branches.
//!
//! The installation token lives only inside libgit2's credential callback: remotes are
//! anonymous (never written to the repository's config), URLs carry no credentials, and errors
//! are built from libgit2's messages, which never hold the password.

use std::path::{Path, PathBuf};

use git2::{Cred, FetchOptions, PushOptions, RemoteCallbacks, Repository};
use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git {op} for {repo} failed: {message}")]
    Git {
        op: &'static str,
        repo: String,
        message: String,
    },
    #[error(
        "commit {sha} of {repo} could not be fetched (was the branch force-pushed or deleted?)"
    )]
    MissingCommit { repo: String, sha: String },
    #[error("repository name `{0}` is not of the form owner/name")]
    BadName(String),
}

fn git_err(op: &'static str, repo: &str, err: &git2::Error) -> GitError {
    GitError::Git {
        op,
        repo: repo.to_owned(),
        message: err.message().to_owned(),
    }
}

/// Where repositories are fetched from: `{repo}` in the template is replaced by `owner/name`.
/// `https://github.com/{repo}.git` for github.com; tests use `file:///tmp/.../{repo}.git`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteTemplate(pub String);

impl RemoteTemplate {
    /// The web host for an API URL: `https://api.github.com` → `https://github.com`, and
    /// GitHub Enterprise `https://ghe.example/api/v3` → `https://ghe.example`.
    pub fn from_api_url(api_url: &str) -> Self {
        let api = api_url.trim_end_matches('/');
        let web = if let Some(rest) = api.strip_prefix("https://api.") {
            format!("https://{rest}")
        } else if let Some(host) = api.strip_suffix("/api/v3") {
            host.to_owned()
        } else {
            api.to_owned()
        };
        RemoteTemplate(format!("{web}/{{repo}}.git"))
    }

    pub fn url(&self, repo: &str) -> String {
        self.0.replace("{repo}", repo)
    }
}

/// The bare repository caching `repo` (`owner/name`) under `workdir`.
pub struct RepoCache {
    pub path: PathBuf,
    pub repo: String,
    url: String,
}

fn valid_name(repo: &str) -> bool {
    let mut parts = repo.split('/');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| {
            !p.is_empty()
                && p != "."
                && p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

fn callbacks(token: Option<&SecretString>) -> RemoteCallbacks<'_> {
    let mut callbacks = RemoteCallbacks::new();
    if let Some(token) = token {
        let mut tries = 0;
        callbacks.credentials(move |_url, _user, _allowed| {
            // libgit2 asks again when a credential is refused; give up after one refusal
            // instead of looping.
            tries += 1;
            if tries > 1 {
                return Err(git2::Error::from_str(
                    "the installation token was refused by the git server",
                ));
            }
            Cred::userpass_plaintext("x-access-token", token.expose_secret())
        });
    }
    callbacks
}

impl RepoCache {
    /// Opens (or creates) the cache of `repo`. Nothing about the remote is written to disk.
    pub fn open(workdir: &Path, repo: &str, remote: &RemoteTemplate) -> Result<Self, GitError> {
        if !valid_name(repo) {
            return Err(GitError::BadName(repo.to_owned()));
        }
        let path = workdir.join("repos").join(format!("{repo}.git"));
        if !path.join("HEAD").exists() {
            std::fs::create_dir_all(&path).map_err(|e| GitError::Git {
                op: "init",
                repo: repo.to_owned(),
                message: format!("{}: {e}", path.display()),
            })?;
            Repository::init_bare(&path).map_err(|e| git_err("init", repo, &e))?;
        }
        Ok(RepoCache {
            path,
            repo: repo.to_owned(),
            url: remote.url(repo),
        })
    }

    fn open_repo(&self) -> Result<Repository, GitError> {
        Repository::open_bare(&self.path).map_err(|e| git_err("open", &self.repo, &e))
    }

    fn fetch_refspecs(
        &self,
        refspecs: &[String],
        token: Option<&SecretString>,
    ) -> Result<(), GitError> {
        let repo = self.open_repo()?;
        let mut remote = repo
            .remote_anonymous(&self.url)
            .map_err(|e| git_err("fetch", &self.repo, &e))?;
        let mut options = FetchOptions::new();
        options.remote_callbacks(callbacks(token));
        options.download_tags(git2::AutotagOption::None);
        remote
            .fetch(refspecs, Some(&mut options), None)
            .map_err(|e| git_err("fetch", &self.repo, &e))
    }

    /// Fetches the branches (incrementally: only new objects travel), then, for commits still
    /// missing, the pull request's head ref, then the commits themselves.
    pub fn fetch(
        &self,
        token: Option<&SecretString>,
        pr_number: Option<u64>,
        need: &[&str],
    ) -> Result<(), GitError> {
        self.fetch_refspecs(&["+refs/heads/*:refs/remotes/origin/*".to_owned()], token)?;
        let missing = |cache: &RepoCache| -> Result<Vec<String>, GitError> {
            let repo = cache.open_repo()?;
            Ok(need
                .iter()
                .filter(|sha| repo.revparse_single(&format!("{sha}^{{commit}}")).is_err())
                .map(|s| (*s).to_owned())
                .collect())
        };
        let mut still = missing(self)?;
        if !still.is_empty()
            && let Some(n) = pr_number
        {
            // Best effort: a plain git server has no pull refs.
            let spec = format!("+refs/pull/{n}/head:refs/remotes/origin/pull/{n}");
            if let Err(err) = self.fetch_refspecs(&[spec], token) {
                tracing::debug!(repo = %self.repo, error = %err, "no pull ref to fetch");
            }
            still = missing(self)?;
        }
        for sha in &still {
            if sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()) {
                let _ = self.fetch_refspecs(std::slice::from_ref(sha), token);
            }
        }
        if let Some(sha) = missing(self)?.into_iter().next() {
            return Err(GitError::MissingCommit {
                repo: self.repo.clone(),
                sha,
            });
        }
        Ok(())
    }

    /// The full SHA a revision (SHA, `origin/<branch>`, `sha~1`) resolves to in the cache.
    pub fn resolve(&self, rev: &str) -> Result<String, GitError> {
        let repo = self.open_repo()?;
        let candidates = [
            format!("{rev}^{{commit}}"),
            format!("refs/remotes/origin/{rev}^{{commit}}"),
        ];
        for candidate in &candidates {
            if let Ok(obj) = repo.revparse_single(candidate) {
                return Ok(obj.id().to_string());
            }
        }
        Err(GitError::MissingCommit {
            repo: self.repo.clone(),
            sha: rev.to_owned(),
        })
    }

    /// A file's text at a commit, or `None` when the commit has no such file.
    pub fn read_file(&self, sha: &str, path: &str) -> Result<Option<String>, GitError> {
        let repo = self.open_repo()?;
        let commit = repo
            .revparse_single(&format!("{sha}^{{commit}}"))
            .and_then(|o| o.peel_to_commit())
            .map_err(|e| git_err("read", &self.repo, &e))?;
        let tree = commit.tree().map_err(|e| git_err("read", &self.repo, &e))?;
        let Ok(entry) = tree.get_path(Path::new(path)) else {
            return Ok(None);
        };
        let blob = repo
            .find_blob(entry.id())
            .map_err(|e| git_err("read", &self.repo, &e))?;
        Ok(Some(String::from_utf8_lossy(blob.content()).into_owned()))
    }

    /// Deletes a local branch left by an earlier attempt, so the engine can create it again.
    pub fn delete_branch(&self, branch: &str) -> Result<(), GitError> {
        let repo = self.open_repo()?;
        if let Ok(mut b) = repo.find_branch(branch, git2::BranchType::Local) {
            b.delete()
                .map_err(|e| git_err("delete branch", &self.repo, &e))?;
        }
        Ok(())
    }

    /// Pushes the local branch `branch` to the remote (forced: a retried job may have made a
    /// different commit for the same branch name).
    pub fn push_branch(&self, branch: &str, token: Option<&SecretString>) -> Result<(), GitError> {
        let repo = self.open_repo()?;
        let mut remote = repo
            .remote_anonymous(&self.url)
            .map_err(|e| git_err("push", &self.repo, &e))?;
        let rejected = std::rc::Rc::new(std::cell::RefCell::new(None::<String>));
        let mut cbs = callbacks(token);
        let seen = std::rc::Rc::clone(&rejected);
        cbs.push_update_reference(move |name, status| {
            if let Some(status) = status {
                *seen.borrow_mut() = Some(format!("{name}: {status}"));
            }
            Ok(())
        });
        let mut options = PushOptions::new();
        options.remote_callbacks(cbs);
        let spec = format!("+refs/heads/{branch}:refs/heads/{branch}");
        remote
            .push(&[spec], Some(&mut options))
            .map_err(|e| git_err("push", &self.repo, &e))?;
        drop(options);
        let rejected = rejected.borrow_mut().take();
        if let Some(message) = rejected {
            return Err(GitError::Git {
                op: "push",
                repo: self.repo.clone(),
                message: format!("the remote refused {message}"),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_follow_the_api_host() {
        assert_eq!(
            RemoteTemplate::from_api_url("https://api.github.com").url("o/r"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            RemoteTemplate::from_api_url("https://ghe.example/api/v3/").url("o/r"),
            "https://ghe.example/o/r.git"
        );
    }

    #[test]
    fn names_that_escape_the_workdir_are_refused() {
        for bad in ["../x", "o/..", "o", "o/r/x", "o/r s", ""] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert!(valid_name("rust-lang/rust.vim"));
    }
}
