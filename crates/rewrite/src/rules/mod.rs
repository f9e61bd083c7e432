//! The catalogue. Each rule is a function from the parsed file to match sites.

mod btree_to_hash;
mod collect;
mod contains_in_loop;
mod format_key;
mod format_push;
mod needless_clone;
mod regex_hoist;
mod sort;
mod with_capacity;

use crate::edit::TextEdit;
use crate::syntax::{self, N};
use crate::{Risk, RuleInfo, Span};

pub struct Ctx<'r> {
    pub src: &'r str,
    pub root: N<'r>,
    pub spans: &'r [Span],
    /// Byte offsets of parse errors, sorted.
    errors: Vec<usize>,
}

impl<'r> Ctx<'r> {
    pub fn new(src: &'r str, root: N<'r>, spans: &'r [Span]) -> Self {
        let mut errors: Vec<usize> = root
            .dfs()
            .filter(|n| n.is_error() || n.is_missing())
            .map(|n| n.range().start)
            .collect();
        errors.sort_unstable();
        Self {
            src,
            root,
            spans,
            errors,
        }
    }

    pub fn error_count(&self) -> usize {
        self.errors.len()
    }

    /// Whether the node lies inside one suspect span and inside a function (`function`, the
    /// byte range of the innermost enclosing `fn` item) whose syntax is complete (no parse
    /// errors: rewriting around them could not be checked).
    fn in_spans(&self, n: &N<'r>, function: Option<std::ops::Range<usize>>) -> bool {
        let (start, end) = (syntax::start_line(n), syntax::end_line(n));
        if !self.spans.iter().any(|s| s.contains_lines(start, end)) {
            return false;
        }
        let Some(r) = function else {
            return false;
        };
        let first_error_at_or_after = self.errors.partition_point(|&e| e < r.start);
        self.errors
            .get(first_error_at_or_after)
            .is_none_or(|&e| e >= r.end)
    }

    /// All nodes of `kind` inside the suspect spans, in source order.
    pub fn nodes(&self, kind: &str) -> Vec<N<'r>> {
        let mut out = Vec::new();
        // Pre-order walk that skips subtrees lying outside every span.
        // Each entry carries the innermost `fn` item above it, so that checking a match costs
        // nothing more (walking ancestors per match is quadratic in nesting depth).
        let mut stack: Vec<(N<'r>, Option<std::ops::Range<usize>>)> =
            vec![(self.root.clone(), None)];
        while let Some((n, function)) = stack.pop() {
            let (start, end) = (syntax::start_line(&n), syntax::end_line(&n));
            if !self
                .spans
                .iter()
                .any(|s| s.start_line <= end && start <= s.end_line)
            {
                continue;
            }
            if n.kind() == kind && self.in_spans(&n, function.clone()) {
                out.push(n.clone());
            }
            let inner = if n.kind() == "function_item" {
                Some(n.range())
            } else {
                function
            };
            let children: Vec<N<'r>> = n.children().collect();
            stack.extend(children.into_iter().rev().map(|c| (c, inner.clone())));
        }
        out
    }

    pub fn text(&self, n: &N<'_>) -> &'r str {
        self.src.get(n.range()).unwrap_or("")
    }
}

/// One match site: the edits and what they mean.
pub struct Site {
    pub edits: Vec<TextEdit>,
    pub description: String,
    pub risk: Risk,
    pub risk_notes: String,
}

pub type Finder = fn(&Ctx<'_>) -> Vec<Site>;

pub static INFOS: &[RuleInfo] = &[
    regex_hoist::INFO,
    needless_clone::INFO,
    format_key::INFO,
    with_capacity::INFO,
    collect::INFO,
    sort::CLONED_KEY_INFO,
    sort::UNSTABLE_INFO,
    btree_to_hash::INFO,
    format_push::INFO,
    contains_in_loop::INFO,
];

pub static RULES: &[(RuleInfo, Finder)] = &[
    (regex_hoist::INFO, regex_hoist::find),
    (needless_clone::INFO, needless_clone::find),
    (format_key::INFO, format_key::find),
    (with_capacity::INFO, with_capacity::find),
    (collect::INFO, collect::find),
    // Before `sort_unstable`, which edits the same call: when both apply, the engine keeps
    // the first one accepted, and the cloned key is the bigger cost (and the lower risk).
    (sort::CLONED_KEY_INFO, sort::find_cloned_key),
    (sort::UNSTABLE_INFO, sort::find_unstable),
    (btree_to_hash::INFO, btree_to_hash::find),
    (format_push::INFO, format_push::find),
    (contains_in_loop::INFO, contains_in_loop::find),
];

#[cfg(test)]
mod tests {
    #[test]
    fn catalogue_and_finders_agree() {
        let infos: Vec<&str> = super::INFOS.iter().map(|i| i.id).collect();
        let finders: Vec<&str> = super::RULES.iter().map(|(i, _)| i.id).collect();
        assert_eq!(infos, finders);
    }
}
