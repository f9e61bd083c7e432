//! Small git histories for the `fix` tests, built with git2 in a temp dir.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::Path;

use git2::{Oid, Repository, Signature};

pub struct TempRepo {
    pub dir: tempfile::TempDir,
    pub repo: Repository,
}

impl TempRepo {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        TempRepo { dir, repo }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes (Some) or deletes (None) files, then commits them all.
    pub fn commit(&self, files: &[(&str, Option<&str>)], message: &str) -> Oid {
        let mut index = self.repo.index().unwrap();
        for (path, content) in files {
            let full = self.path().join(path);
            match content {
                Some(text) => {
                    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                    std::fs::write(&full, text).unwrap();
                    index.add_path(Path::new(path)).unwrap();
                }
                None => {
                    std::fs::remove_file(&full).unwrap();
                    index.remove_path(Path::new(path)).unwrap();
                }
            }
        }
        index.write().unwrap();
        let tree = self.repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = Signature::now("Test", "test@example.com").unwrap();
        let parent = self.repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<_> = parent.iter().collect();
        self.repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
            .unwrap()
    }

    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.path().join(path)).unwrap()
    }
}

/// `n` numbered lines `line 1\n` .. `line n\n`.
pub fn numbered(n: usize) -> String {
    (1..=n).map(|i| format!("line {i}\n")).collect()
}
