//! Patch strategies: each turns what localization found into small, local candidate patches
//! with a stated risk. Every candidate passes the path guard before anything is written.

pub mod build_profile;
pub mod knobs;
pub mod revert;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobSetBuilder};
use perf_fixer_core::report::{Attempt, AttemptOutcome, PatchReport, Risk};

/// One candidate patch: the new full contents of the files it changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// `revert_hunks`, `rewrite`, `build_profile` or `knobs`.
    pub strategy: &'static str,
    /// One sentence for the PR body: what the patch does.
    pub description: String,
    /// New full contents, by path relative to the repository root.
    pub files: BTreeMap<PathBuf, String>,
    pub risk: Risk,
    /// What could change in behaviour, and why the risk is what it is.
    pub risk_notes: String,
}

impl Candidate {
    /// The report's entry for this candidate once validated; `gain_pct` is its share of the
    /// recovered time, `noise_margin_pct` half the width of its effect's interval.
    pub fn to_patch_report(
        &self,
        gain_pct: Option<f64>,
        test_coverage: Option<String>,
        noise_margin_pct: Option<f64>,
    ) -> PatchReport {
        PatchReport {
            strategy: self.strategy.to_string(),
            description: self.description.clone(),
            files: self.file_names(),
            risk: self.risk,
            risk_notes: self.risk_notes.clone(),
            gain_pct,
            test_coverage,
            noise_margin_pct,
        }
    }

    /// The report's record of trying this candidate.
    pub fn to_attempt(
        &self,
        outcome: AttemptOutcome,
        reason: impl Into<String>,
        change_vs_head_pct: Option<f64>,
    ) -> Attempt {
        Attempt {
            strategy: self.strategy.to_string(),
            description: self.description.clone(),
            files: self.file_names(),
            outcome,
            reason: reason.into(),
            change_vs_head_pct,
        }
    }

    /// The changed paths, as strings with `/` separators, for the report.
    pub fn file_names(&self) -> Vec<String> {
        self.files
            .keys()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect()
    }
}

/// Why a path may not be patched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("{path}: files under .github/ are never patched")]
    GithubDir { path: String },
    #[error("{path}: build scripts (build.rs) are never patched")]
    BuildScript { path: String },
    #[error("{path}: not a plain relative path inside the repository")]
    OutsideRepo { path: String },
    #[error(
        "{path}: outside `[fix] paths` in .perf-fixer.toml ({patterns}); widen that list to allow it"
    )]
    NotInFixPaths { path: String, patterns: String },
    #[error("`[fix] paths` in .perf-fixer.toml: invalid pattern {pattern:?}: {reason}")]
    BadPattern { pattern: String, reason: String },
}

/// Whether `path` (relative to the repository root) may be patched under `[fix] paths`.
/// Never `.github/`, never a `build.rs`, never a path leaving the repository.
pub fn allowed(path: &Path, fix_paths: &[String]) -> Result<(), Rejected> {
    let shown = path.to_string_lossy().replace('\\', "/");
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => return Err(Rejected::OutsideRepo { path: shown }),
        }
    }
    if parts.is_empty() {
        return Err(Rejected::OutsideRepo { path: shown });
    }
    if parts
        .iter()
        .any(|p| p.eq_ignore_ascii_case(".github") || p == ".git")
    {
        return Err(Rejected::GithubDir { path: shown });
    }
    if parts.last().is_some_and(|f| f == "build.rs") {
        return Err(Rejected::BuildScript { path: shown });
    }
    let mut set = GlobSetBuilder::new();
    for pattern in fix_paths {
        let glob = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| Rejected::BadPattern {
                pattern: pattern.clone(),
                reason: e.kind().to_string(),
            })?;
        set.add(glob);
    }
    let set = set.build().map_err(|e| Rejected::BadPattern {
        pattern: fix_paths.join(", "),
        reason: e.to_string(),
    })?;
    let normalized = parts.join("/");
    if set.is_match(&normalized) {
        Ok(())
    } else {
        Err(Rejected::NotInFixPaths {
            path: normalized,
            patterns: fix_paths.join(", "),
        })
    }
}

/// Checks every file of `candidate` with [`allowed`].
pub fn guard(candidate: &Candidate, fix_paths: &[String]) -> Result<(), Rejected> {
    candidate
        .files
        .keys()
        .try_for_each(|p| allowed(p, fix_paths))
}

/// Keeps the candidates whose files all pass the guard; the others come back with the reason,
/// for the report's list of what was tried.
pub fn partition_allowed(
    candidates: Vec<Candidate>,
    fix_paths: &[String],
) -> (Vec<Candidate>, Vec<(Candidate, Rejected)>) {
    let mut ok = Vec::new();
    let mut rejected = Vec::new();
    // The rejected ones are reported as `AttemptOutcome::PathRefused` with the error as reason.
    for c in candidates {
        match guard(&c, fix_paths) {
            Ok(()) => ok.push(c),
            Err(r) => rejected.push((c, r)),
        }
    }
    (ok, rejected)
}
