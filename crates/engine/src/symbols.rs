//! Matching grown library functions to the culprit's hunks by name.
//!
//! Much of a regression's cost often lands in library code the culprit started to call: a
//! `BTreeMap` where a `HashMap` was, a `to_lowercase` per word, a `Regex::new` per call. The
//! profile names those functions (`alloc::collections::btree::map::BTreeMap<K,V>::entry`), but
//! their source lies outside the repository, so spans cannot meet the diff. Their names can:
//! a hunk whose added lines mention `BTreeMap`, or the `btree` module, or `to_lowercase`, is
//! where the call came from.

use crate::hunks::FileHunk;

/// Path segments too common to point at a hunk: crate roots, generic module and type names,
/// std traits and their methods.
const STOP_WORDS: &[&str] = &[
    "alloc",
    "core",
    "std",
    "collections",
    "impl",
    "dyn",
    "mut",
    "const",
    "as",
    "for",
    "where",
    "map",
    "vec",
    "string",
    "str",
    "slice",
    "iter",
    "iterator",
    "entry",
    "ops",
    "ptr",
    "mem",
    "cmp",
    "hash",
    "hasher",
    "fmt",
    "clone",
    "drop",
    "drop_in_place",
    "deref",
    "deref_mut",
    "from",
    "into",
    "new",
    "next",
    "call",
    "call_once",
    "call_mut",
    "fold",
    "option",
    "result",
    "some",
    "none",
    "boxed",
    "box",
    "raw",
    "sync",
    "cell",
    "rc",
    "arc",
    "default",
    "global",
    "partialeq",
    "partialord",
    "ord",
    "eq",
    "debug",
    "display",
    "sized",
    "send",
    "copy",
    "traits",
    "adapters",
    "closure",
    "shim",
    "vtable",
    "main",
    "lang_start",
    "rt",
    "panicking",
    "marker",
    "node",
    "handle",
    "borrowtype",
    "leaforinternal",
    "leaf",
    "internal",
    "mutable",
    "immut",
    "owned",
    "len",
    "get",
    "insert",
    "push",
    "with_capacity",
    "extend",
    "collect",
    "spec_extend",
    "spec_from_iter",
    "index",
    "index_mut",
    "unwrap",
    "expect",
    "grow_one",
    "reserve",
    "do_reserve_and_handle",
    "finish_grow",
    "realloc",
    "malloc",
    "free",
    "memcpy",
    "memmove",
    "memset",
    "memcmp",
    "bcmp",
    "generic",
];

/// Identifiers of a demangled symbol worth looking for in a diff, lower-cased.
pub fn tokens(symbol: &str) -> Vec<String> {
    let mut out: Vec<String> = symbol
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|t| t.len() >= 4 && !t.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_ascii_lowercase)
        .filter(|t| !STOP_WORDS.contains(&t.as_str()) && !t.starts_with("__") && !is_hash(t))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn is_hash(token: &str) -> bool {
    token.len() == 17 && token.starts_with('h') && token[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// Indices of the hunks whose added lines mention any token of `symbol` (as a substring of an
/// identifier, case-insensitively: `btree` meets `BTreeMap`).
pub fn matching_hunks(symbol: &str, hunks: &[FileHunk]) -> Vec<usize> {
    let wanted = tokens(symbol);
    if wanted.is_empty() {
        return Vec::new();
    }
    hunks
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            h.new_lines.iter().any(|line| {
                let code = line.split("//").next().unwrap_or("").to_ascii_lowercase();
                wanted.iter().any(|t| code.contains(t.as_str()))
            })
        })
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hunks::ChangeKind;

    fn hunk(new_lines: &[&str]) -> FileHunk {
        FileHunk {
            path: "src/lib.rs".into(),
            old_path: "src/lib.rs".into(),
            kind: ChangeKind::Modified,
            old_start: 1,
            old_count: 1,
            new_start: 1,
            new_count: new_lines.len() as u32,
            old_lines: vec![],
            new_lines: new_lines.iter().map(|l| format!("{l}\n")).collect(),
            context_before: vec![],
            context_after: vec![],
        }
    }

    #[test]
    fn library_symbols_yield_distinctive_tokens() {
        assert_eq!(
            tokens("alloc::collections::btree::map::entry::Entry<K,V,A>::or_insert"),
            vec!["btree", "or_insert"]
        );
        assert_eq!(
            tokens("alloc::str::<impl str>::to_lowercase"),
            vec!["to_lowercase"]
        );
        assert_eq!(tokens("regex::regex::string::Regex::new"), vec!["regex"]);
        assert!(tokens("<alloc::string::String as core::cmp::Ord>::cmp").is_empty());
        assert!(tokens("core::ptr::drop_in_place<alloc::vec::Vec<u8>>").is_empty());
    }

    #[test]
    fn hunks_mentioning_the_library_are_matched() {
        let hunks = vec![
            hunk(&["use std::collections::BTreeMap;"]),
            hunk(&[
                "pub fn word_counts(text: &str) -> BTreeMap<String, usize> {",
                "    let mut counts = BTreeMap::new();",
            ]),
            hunk(&["        let word = normalize(word);"]),
            hunk(&["    word.trim().to_lowercase() // BTreeMap in a comment does not count"]),
        ];
        assert_eq!(
            matching_hunks("alloc::collections::btree::search::search_tree", &hunks),
            vec![0, 1]
        );
        assert_eq!(
            matching_hunks("alloc::str::<impl str>::to_lowercase", &hunks),
            vec![3]
        );
        assert!(matching_hunks("core::fmt::write", &hunks).is_empty());
    }
}
