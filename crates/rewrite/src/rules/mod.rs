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
}

impl<'r> Ctx<'r> {
    /// Whether the node lies inside one suspect span and inside a function whose syntax is
    /// complete (no parse errors: rewriting around them could not be checked).
    pub fn in_spans(&self, n: &N<'r>) -> bool {
        let (start, end) = (syntax::start_line(n), syntax::end_line(n));
        if !self.spans.iter().any(|s| s.contains_lines(start, end)) {
            return false;
        }
        match syntax::enclosing(n, "function_item") {
            Some(f) => !syntax::has_error(&f),
            None => false,
        }
    }

    /// All nodes of `kind` inside the suspect spans, in source order.
    pub fn nodes(&self, kind: &str) -> Vec<N<'r>> {
        self.root
            .dfs()
            .filter(|n| n.kind() == kind && self.in_spans(n))
            .collect()
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
    sort::UNSTABLE_INFO,
    sort::CLONED_KEY_INFO,
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
    (sort::UNSTABLE_INFO, sort::find_unstable),
    (sort::CLONED_KEY_INFO, sort::find_cloned_key),
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
