//! Structural rewrite rules for known slow Rust patterns.
//!
//! [`candidates`] parses a Rust source file (tree-sitter-rust through ast-grep-core), looks
//! for the catalogue's patterns inside the suspect functions' line spans only, and returns one
//! independently applicable [`Rewrite`] per match site. Every rewrite is a set of byte-range
//! edits; all bytes outside the replaced nodes are kept, so the rest of the file is unchanged.
//! [`apply_all`] combines several non-overlapping rewrites of the same source.
//!
//! Rules only fire on shapes they can check from syntax alone; when a rewrite's equivalence
//! depends on types or on effects the syntax cannot show, its [`Risk`] is raised and
//! `risk_notes` says what has to hold.

mod edit;
mod lang;
mod rules;
mod syntax;

use ast_grep_core::tree_sitter::LanguageExt;

pub use edit::TextEdit;
pub use lang::RustLang;
pub use perf_fixer_core::report::Risk;

/// A suspect function's lines, 1-based and inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start_line: u32,
    pub end_line: u32,
}

impl Span {
    pub fn new(start_line: u32, end_line: u32) -> Self {
        Self {
            start_line,
            end_line,
        }
    }

    fn contains_lines(&self, start: u32, end: u32) -> bool {
        self.start_line <= start && end <= self.end_line
    }
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    pub id: &'static str,
    pub title: &'static str,
    /// Why the rewritten code is faster.
    pub why_faster: &'static str,
    /// The rule's usual risk; a candidate may carry a higher one.
    pub risk: Risk,
}

/// One candidate edit of a source file.
#[derive(Debug, Clone, PartialEq)]
pub struct Rewrite {
    pub rule: &'static str,
    pub description: String,
    pub risk: Risk,
    pub risk_notes: String,
    /// First and last line (1-based, of the original source) touched by the edit.
    pub start_line: u32,
    pub end_line: u32,
    /// The whole file after this one rewrite.
    pub new_source: String,
    /// The edits, as byte ranges of the original source; used by [`apply_all`].
    pub edits: Vec<TextEdit>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RewriteError {
    #[error("the source could not be parsed as Rust: {0}")]
    Parse(String),
    #[error(
        "rewrites `{first}` (lines {first_lines}) and `{second}` (lines {second_lines}) edit the same code; apply them separately"
    )]
    Overlap {
        first: &'static str,
        first_lines: String,
        second: &'static str,
        second_lines: String,
    },
    #[error(
        "rewrite `{rule}` (lines {lines}) was not computed from this source; call `candidates` again on the current file"
    )]
    StaleRewrite { rule: &'static str, lines: String },
}

/// The catalogue.
pub fn rules() -> &'static [RuleInfo] {
    rules::INFOS
}

/// Every rewrite the catalogue proposes inside the `suspects` spans of `source`, one per
/// match site, each independently applicable to `source`.
pub fn candidates(source: &str, suspects: &[Span]) -> Result<Vec<Rewrite>, RewriteError> {
    if suspects.is_empty() {
        return Ok(Vec::new());
    }
    let root = ast_grep_core::AstGrep::try_new(source, RustLang).map_err(RewriteError::Parse)?;
    let ctx = rules::Ctx::new(source, root.root(), suspects);
    let baseline_errors = ctx.error_count();
    let mut out = Vec::new();
    for (info, find) in rules::RULES {
        for site in find(&ctx) {
            let edit_refs: Vec<&TextEdit> = site.edits.iter().collect();
            let Some(new_source) = edit::apply(source, &edit_refs) else {
                continue;
            };
            // A safety net: a rewrite must never make the code less parseable.
            if new_source == source
                || breaks_syntax(&ctx.root, source, &site.edits, &new_source, baseline_errors)
            {
                continue;
            }
            let (start_line, end_line) = edit_lines(source, &site.edits);
            out.push(Rewrite {
                rule: info.id,
                description: site.description,
                risk: site.risk,
                risk_notes: site.risk_notes,
                start_line,
                end_line,
                new_source,
                edits: site.edits,
            });
        }
    }
    Ok(out)
}

/// Apply several rewrites of the same `source` together. They must not edit the same bytes.
pub fn apply_all(source: &str, rewrites: &[&Rewrite]) -> Result<String, RewriteError> {
    for r in rewrites {
        let own: Vec<&TextEdit> = r.edits.iter().collect();
        if edit::apply(source, &own).as_deref() != Some(r.new_source.as_str()) {
            return Err(RewriteError::StaleRewrite {
                rule: r.rule,
                lines: lines_label(r),
            });
        }
    }
    for (i, a) in rewrites.iter().enumerate() {
        for b in &rewrites[i + 1..] {
            let clash = a
                .edits
                .iter()
                .any(|ea| b.edits.iter().any(|eb| ea.conflicts_with(eb) || ea == eb));
            if clash {
                return Err(RewriteError::Overlap {
                    first: a.rule,
                    first_lines: lines_label(a),
                    second: b.rule,
                    second_lines: lines_label(b),
                });
            }
        }
    }
    let all: Vec<&TextEdit> = rewrites.iter().flat_map(|r| r.edits.iter()).collect();
    edit::apply(source, &all).ok_or_else(|| RewriteError::StaleRewrite {
        rule: rewrites.first().map_or("", |r| r.rule),
        lines: rewrites.first().map(|r| lines_label(r)).unwrap_or_default(),
    })
}

fn lines_label(r: &Rewrite) -> String {
    format!("{}-{}", r.start_line, r.end_line)
}

/// Whether the edited code parses with more errors than before. Only the innermost
/// function holding every edit is re-parsed (reparsing the whole file per candidate made
/// `candidates` quadratic on large files); edits outside any function re-parse the file.
fn breaks_syntax(
    root: &syntax::N<'_>,
    source: &str,
    edits: &[TextEdit],
    new_source: &str,
    baseline_errors: usize,
) -> bool {
    let lo = edits.iter().map(|e| e.start).min().unwrap_or(0);
    let hi = edits.iter().map(|e| e.end).max().unwrap_or(0);
    let Some(function) = innermost_function(root, lo, hi) else {
        return count_errors(new_source) > baseline_errors;
    };
    let range = function.range();
    let shifted: Vec<TextEdit> = edits
        .iter()
        .map(|e| TextEdit {
            start: e.start - range.start,
            end: e.end - range.start,
            text: e.text.clone(),
        })
        .collect();
    let Some(old_fn) = source.get(range) else {
        return true;
    };
    let refs: Vec<&TextEdit> = shifted.iter().collect();
    match edit::apply(old_fn, &refs) {
        Some(new_fn) => count_errors(&new_fn) > count_errors(old_fn),
        None => true,
    }
}

/// The innermost `function_item` whose body strictly contains `lo..hi`.
fn innermost_function<'r>(root: &syntax::N<'r>, lo: usize, hi: usize) -> Option<syntax::N<'r>> {
    let mut found = None;
    let mut node = root.clone();
    loop {
        let next = node.children().find(|c| {
            let r = c.range();
            r.start < lo && hi < r.end
        });
        let Some(child) = next else {
            return found;
        };
        if child.kind() == "function_item" {
            found = Some(child.clone());
        }
        node = child;
    }
}

fn count_errors(source: &str) -> usize {
    let root = RustLang.ast_grep(source);
    root.root()
        .dfs()
        .filter(|n| n.is_error() || n.is_missing())
        .count()
}

fn edit_lines(source: &str, edits: &[TextEdit]) -> (u32, u32) {
    let line_at = |byte: usize| {
        let upto = source.get(..byte).unwrap_or(source);
        u32::try_from(upto.matches('\n').count()).unwrap_or(u32::MAX) + 1
    };
    let start = edits.iter().map(|e| line_at(e.start)).min().unwrap_or(1);
    let end = edits
        .iter()
        .map(|e| line_at(e.end.max(e.start)))
        .max()
        .unwrap_or(start);
    (start, end)
}
