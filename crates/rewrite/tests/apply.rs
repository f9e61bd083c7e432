//! Combining independent candidates.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use perf_fixer_rewrite::{RewriteError, Span, apply_all, candidates};

const SRC: &str = r#"use regex::Regex;

pub fn score(words: &[String], mut ids: Vec<u32>) -> usize {
    let a = Regex::new("^a").unwrap();
    let b = Regex::new("^b").unwrap();
    ids.sort();
    words.iter().filter(|w| a.is_match(w) || b.is_match(w)).count() + words.clone().len() + ids.len()
}
"#;

#[test]
fn non_overlapping_rewrites_combine_into_one_file() {
    let found = candidates(SRC, &[Span::new(3, 8)]).unwrap();
    let rules: Vec<&str> = found.iter().map(|r| r.rule).collect();
    assert_eq!(
        rules,
        [
            "regex_hoist",
            "regex_hoist",
            "needless_clone",
            "sort_unstable"
        ],
        "{found:#?}"
    );
    let all: Vec<_> = found.iter().collect();
    let combined = apply_all(SRC, &all).unwrap();
    let expected = r#"use regex::Regex;

pub fn score(words: &[String], mut ids: Vec<u32>) -> usize {
    static SCORE_RE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| Regex::new("^a").unwrap());
    static SCORE_RE_2: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| Regex::new("^b").unwrap());
    let a = &*SCORE_RE;
    let b = &*SCORE_RE_2;
    ids.sort_unstable();
    words.iter().filter(|w| a.is_match(w) || b.is_match(w)).count() + words.len() + ids.len()
}
"#;
    assert_eq!(combined, expected);
    // One alone equals its own new_source.
    assert_eq!(apply_all(SRC, &[&found[2]]).unwrap(), found[2].new_source);
    assert_eq!(apply_all(SRC, &[]).unwrap(), SRC);
}

#[test]
fn overlapping_rewrites_are_refused() {
    let src = "fn f(v: &mut Vec<User>) {\n    v.sort_by_key(|u| u.name.clone());\n}\n";
    let found = candidates(src, &[Span::new(1, 3)]).unwrap();
    let unstable = found.iter().find(|r| r.rule == "sort_unstable").unwrap();
    let cloned = found
        .iter()
        .find(|r| r.rule == "sort_by_cloned_key")
        .unwrap();
    let err = apply_all(src, &[unstable, cloned]).unwrap_err();
    assert!(matches!(err, RewriteError::Overlap { .. }), "{err}");
    assert!(err.to_string().contains("sort_unstable"));
}

#[test]
fn rewrites_of_another_source_are_refused() {
    let src = "fn f(v: &Vec<u32>) -> usize {\n    v.clone().len()\n}\n";
    let found = candidates(src, &[Span::new(1, 3)]).unwrap();
    let edited = src.replace("usize", "u64 ");
    let err = apply_all(&edited, &[&found[0]]).unwrap_err();
    assert!(matches!(err, RewriteError::StaleRewrite { .. }), "{err}");
}

#[test]
fn catalogue_describes_each_rule() {
    let rules = perf_fixer_rewrite::rules();
    assert!(rules.len() >= 8);
    let mut ids: Vec<&str> = rules.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), rules.len(), "rule ids are unique");
    for r in rules {
        assert!(!r.title.is_empty() && r.why_faster.len() > 20, "{r:?}");
    }
}
