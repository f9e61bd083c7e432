//! Localization: which of the culprit's hunks explain the slowdown.
//!
//! The profile diff names the functions whose cost grew (suspects) with their line spans; the
//! culprit's diff names the changed regions. Where they meet, the loss is attributed to hunks.
//! When nothing meets (inlining moved the cost, or the profile's spans are off), the answer
//! widens to the hunks in the suspects' files, then to every hunk, and says which it did.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use crate::hunks::FileHunk;

/// A function whose cost grew between the culprit's parent and the culprit. The lead maps the
/// bench crate's profile diff to this.
#[derive(Debug, Clone, PartialEq)]
pub struct Suspect {
    /// Demangled name, e.g. `mycrate::parse::tokenize`.
    pub function: String,
    /// Source file as the profiler saw it: absolute or relative.
    pub file: String,
    /// Inclusive 1-based line span in the culprit's version of the file.
    pub start_line: u32,
    pub end_line: u32,
    /// Growth of this function's cost (in the profile's unit).
    pub cost_delta: f64,
    /// This function's share of the total growth, 0..=1.
    pub share: f64,
}

/// How the hunks were chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Hunks whose lines meet a suspect's span.
    SpanIntersection,
    /// No hunk met a span: every hunk in a file where a suspect lives.
    SuspectFiles,
    /// No hunk in any suspect's file either: every hunk of the commit.
    AllHunks,
}

impl Method {
    pub fn describe(self) -> &'static str {
        match self {
            Method::SpanIntersection => "hunks inside the functions whose cost grew",
            Method::SuspectFiles => {
                "no hunk lies inside a function whose cost grew; taking every hunk in those functions' files"
            }
            Method::AllHunks => {
                "no hunk lies in a file whose functions' cost grew; taking every hunk of the commit"
            }
        }
    }
}

/// A hunk with its estimated share of the loss.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributedHunk {
    /// Index into the hunk list given to [`localize`].
    pub hunk: usize,
    /// Estimated share of the total loss, 0..=1.
    pub share: f64,
    /// The suspects this hunk meets (empty for the fallbacks' unrelated hunks).
    pub functions: Vec<String>,
}

/// A suspect with the hunks attributed to it.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionShare {
    pub function: String,
    pub file: String,
    pub share: f64,
    pub hunks: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Localization {
    pub method: Method,
    /// Largest share first.
    pub hunks: Vec<AttributedHunk>,
    /// Largest share first; suspects with no hunk are left out.
    pub functions: Vec<FunctionShare>,
}

impl Localization {
    pub fn hunk_indices(&self) -> Vec<usize> {
        self.hunks.iter().map(|h| h.hunk).collect()
    }

    /// The attributed hunks as the report's `culprit.hunks`, largest share first.
    pub fn report_hunks(&self, hunks: &[FileHunk]) -> Vec<perf_fixer_core::report::Hunk> {
        self.hunks
            .iter()
            .filter_map(|a| {
                let h = hunks.get(a.hunk)?;
                let (start_line, end_line) = h.new_span();
                Some(perf_fixer_core::report::Hunk {
                    file: h.path.clone(),
                    start_line,
                    end_line,
                    share_pct: Some(a.share * 100.0),
                })
            })
            .collect()
    }
}

/// Attributes the suspects' shares of the loss to `hunks` (the culprit's hunks; line numbers in
/// the culprit's version of each file).
pub fn localize(suspects: &[Suspect], hunks: &[FileHunk]) -> Localization {
    let mut weights: BTreeMap<usize, (f64, Vec<String>)> = BTreeMap::new();
    let mut functions = Vec::new();

    // Each suspect's share is spread over the hunks meeting its span, by lines in common.
    for s in suspects {
        let meets: Vec<(usize, u32)> = hunks
            .iter()
            .enumerate()
            .filter(|(_, h)| same_file(&s.file, &h.path))
            .filter_map(|(i, h)| overlap(h.new_span(), (s.start_line, s.end_line)).map(|n| (i, n)))
            .collect();
        let total: u32 = meets.iter().map(|(_, n)| n).sum();
        for (i, n) in &meets {
            let entry = weights.entry(*i).or_default();
            entry.0 += s.share * f64::from(*n) / f64::from(total);
            entry.1.push(s.function.clone());
        }
        if !meets.is_empty() {
            functions.push(FunctionShare {
                function: s.function.clone(),
                file: s.file.clone(),
                share: s.share,
                hunks: meets.iter().map(|(i, _)| *i).collect(),
            });
        }
    }

    let method = if !weights.is_empty() {
        Method::SpanIntersection
    } else {
        let in_suspect_files: Vec<usize> = (0..hunks.len())
            .filter(|i| suspects.iter().any(|s| same_file(&s.file, &hunks[*i].path)))
            .collect();
        let (method, chosen) = if in_suspect_files.is_empty() {
            (Method::AllHunks, (0..hunks.len()).collect())
        } else {
            (Method::SuspectFiles, in_suspect_files)
        };
        // Without a meeting point, the best guess is proportional to the size of each hunk.
        let total_share: f64 = suspects
            .iter()
            .map(|s| s.share)
            .sum::<f64>()
            .clamp(0.0, 1.0);
        let total_share = if total_share > 0.0 { total_share } else { 1.0 };
        let size: u32 = chosen
            .iter()
            .map(|i: &usize| hunks[*i].changed_lines())
            .sum();
        for i in chosen {
            let functions = suspects
                .iter()
                .filter(|s| same_file(&s.file, &hunks[i].path))
                .map(|s| s.function.clone())
                .collect();
            let share = total_share * f64::from(hunks[i].changed_lines()) / f64::from(size.max(1));
            weights.insert(i, (share, functions));
        }
        method
    };

    let mut attributed: Vec<AttributedHunk> = weights
        .into_iter()
        .map(|(hunk, (share, functions))| AttributedHunk {
            hunk,
            share,
            functions,
        })
        .collect();
    attributed.sort_by(|a, b| b.share.total_cmp(&a.share).then(a.hunk.cmp(&b.hunk)));
    functions.sort_by(|a, b| {
        b.share
            .total_cmp(&a.share)
            .then(a.function.cmp(&b.function))
    });
    Localization {
        method,
        hunks: attributed,
        functions,
    }
}

/// Lines two inclusive spans have in common.
fn overlap((a0, a1): (u32, u32), (b0, b1): (u32, u32)) -> Option<u32> {
    let lo = a0.max(b0);
    let hi = a1.min(b1);
    (lo <= hi).then(|| hi - lo + 1)
}

/// Whether the profiler's path (often absolute, inside a worktree) names the repo-relative
/// `repo_path`: its trailing components are the same.
pub fn same_file(profile_path: &str, repo_path: &str) -> bool {
    let normal = |p: &str| -> Vec<String> {
        Path::new(p)
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect()
    };
    let prof = normal(profile_path);
    let repo = normal(repo_path);
    !repo.is_empty() && prof.len() >= repo.len() && prof[prof.len() - repo.len()..] == repo[..]
}
