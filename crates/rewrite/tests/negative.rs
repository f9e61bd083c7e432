//! Shapes the rules must leave alone, and the suspect-span restriction.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use perf_fixer_rewrite::{Span, candidates};

const ALL: Span = Span {
    start_line: 1,
    end_line: u32::MAX,
};

fn rules_firing(src: &str) -> Vec<&'static str> {
    candidates(src, &[ALL])
        .unwrap()
        .iter()
        .map(|r| r.rule)
        .collect()
}

fn assert_no(rule: &str, src: &str) {
    let fired = rules_firing(src);
    assert!(
        !fired.contains(&rule),
        "`{rule}` must not fire on:\n{src}\nfired: {fired:?}"
    );
}

#[test]
fn nothing_outside_the_suspect_spans() {
    let src = "fn hot(w: &Vec<u32>) -> usize {\n    w.clone().len()\n}\n\n\
               fn cold(v: &Vec<u32>) -> usize {\n    v.clone().len()\n}\n";
    // Only `hot` (lines 1-3) is a suspect: `cold`'s clone stays.
    let found = candidates(src, &[Span::new(1, 3)]).unwrap();
    assert!(found.iter().all(|r| r.end_line <= 3), "{found:#?}");
    assert!(!found.is_empty(), "the clone in `hot` is a candidate");
    let cold_only = candidates(src, &[Span::new(5, 7)]).unwrap();
    assert_eq!(cold_only.len(), 1);
    assert_eq!(cold_only[0].start_line, 6);
    assert!(candidates(src, &[]).unwrap().is_empty());
    // A span that cuts a function in half covers only what lies wholly inside it.
    assert!(candidates(src, &[Span::new(5, 5)]).unwrap().is_empty());
}

#[test]
fn every_line_outside_an_edit_is_kept() {
    let src = "use regex::Regex;\n// keep   odd   spacing\nfn f(s: &str) -> bool {\n\tlet ok =   Regex::new(\"a\").unwrap().is_match(s);\n\tok\n}\n";
    let found = candidates(src, &[ALL]).unwrap();
    assert_eq!(found.len(), 1);
    let r = &found[0];
    let (before, after): (Vec<&str>, Vec<&str>) =
        (src.lines().collect(), r.new_source.lines().collect());
    // One inserted line after the `{`, one changed line.
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(before[..3], after[..3]);
    assert_eq!(before[4..], after[5..]);
    assert_eq!(
        after[3],
        "\tstatic F_RE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| Regex::new(\"a\").unwrap());"
    );
    assert_eq!(after[4], "\tlet ok =   F_RE.is_match(s);");
}

#[test]
fn regex_shapes_left_alone() {
    // Pattern not a literal: it may differ per call.
    assert_no(
        "regex_hoist",
        "fn f(p: &str, s: &str) -> bool { Regex::new(p).unwrap().is_match(s) }",
    );
    // An invalid pattern whose error the caller handles: hoisting would turn an `Err` into
    // a panic.
    assert_no(
        "regex_hoist",
        "fn f(s: &str) -> Result<bool, regex::Error> { Ok(Regex::new(\"(a\")?.is_match(s)) }",
    );
    let valid =
        "fn f(s: &str) -> Result<bool, regex::Error> { Ok(Regex::new(\"a\")?.is_match(s)) }";
    assert_eq!(rules_firing(valid), ["regex_hoist"]);
    // The compiled regex is moved (returned): a reference would not do.
    assert_no(
        "regex_hoist",
        "fn f() -> Regex { let re = Regex::new(\"a\").unwrap(); re }",
    );
    assert_no(
        "regex_hoist",
        "fn f() -> Regex { Regex::new(\"a\").unwrap() }",
    );
    // Not the regex type.
    assert_no(
        "regex_hoist",
        "fn f(s: &str) -> bool { Pattern::new(\"a\").unwrap().is_match(s) }",
    );
}

#[test]
fn clones_that_are_needed_stay() {
    // The loop mutates the vector it iterates over: the clone is what makes that legal.
    assert_no(
        "needless_clone",
        "fn f(v: &mut Vec<u32>) { for x in v.clone().iter() { v.push(*x); } }",
    );
    // Consumed by value.
    assert_no(
        "needless_clone",
        "fn f(v: &Vec<u32>) -> Vec<u32> { v.clone().into_iter().collect() }",
    );
    // `Itertools::get` and `Iterator::last` take the iterator by value.
    assert_no(
        "needless_clone",
        "fn f(it: std::ops::Range<u32>) -> Option<u32> { it.clone().last() }",
    );
    // Conflicting mutable use in the same statement.
    assert_no(
        "needless_clone",
        "fn f(v: &mut Vec<u32>) -> usize { g(v.clone().iter(), &mut v) }",
    );
}

#[test]
fn format_keys_of_unknown_type_stay() {
    // `id` may be a number: `id.as_str()` would not compile.
    assert_no(
        "format_key",
        "fn f(m: &HashMap<String, u32>, id: u64) -> bool { m.contains_key(&format!(\"{}\", id)) }",
    );
    // A key with a prefix really needs the new String.
    assert_no(
        "format_key",
        "fn f(m: &HashMap<String, u32>, id: &str) -> bool { m.contains_key(&format!(\"user:{}\", id)) }",
    );
    // Rebound by a pattern: the type is no longer known.
    assert_no(
        "format_key",
        "fn f(m: &HashMap<String, u32>, k: &str) -> bool { if let Some(k) = g(k) { return m.contains_key(&k.to_string()); } false }",
    );
    // `Vec::contains` is not generic over `Borrow`.
    assert_no(
        "format_key",
        "fn f(v: &Vec<String>, k: &str) -> bool { v.contains(&k.to_string()) }",
    );
}

#[test]
fn capacity_needs_one_push_per_element() {
    assert_no(
        "with_capacity",
        "fn f(xs: &[u32]) -> Vec<u32> { let mut v = Vec::new(); for x in xs.iter() { if *x > 1 { v.push(*x); } } v }",
    );
    assert_no(
        "with_capacity",
        "fn f(xs: &[u32]) -> Vec<u32> { let mut v = Vec::new(); for x in xs.iter() { v.push(*x); v.push(*x); } v }",
    );
    // An iterator of unknown length.
    assert_no(
        "with_capacity",
        "fn f(s: &str) -> Vec<&str> { let mut v = Vec::new(); for w in s.split(' ') { v.push(w); } v }",
    );
    // Something between the declaration and the loop.
    assert_no(
        "with_capacity",
        "fn f(xs: &[u32]) -> Vec<u32> { let mut v = Vec::new(); v.push(0); for x in xs.iter() { v.push(*x); } v }",
    );
}

#[test]
fn collects_that_matter_stay() {
    // The loop mutates what the iterator borrows: collecting first is required.
    assert_no(
        "intermediate_collect",
        "fn f(v: &mut Vec<u32>) { for x in v.iter().copied().collect::<Vec<_>>() { v.push(x); } }",
    );
    // The Vec is kept.
    assert_no(
        "intermediate_collect",
        "fn f(v: &[u32]) -> Vec<u32> { let w = v.iter().copied().collect::<Vec<_>>(); w }",
    );
    // `rev()` needs a double-ended iterator, which `Vec::into_iter` is and a filter may not be.
    assert_no(
        "intermediate_collect",
        "fn f(v: &[u32]) -> u32 { v.iter().filter(|x| **x > 1).collect::<Vec<_>>().into_iter().rev().sum() }",
    );
    // Not a Vec.
    assert_no(
        "intermediate_collect",
        "fn f(v: &[u32]) -> usize { v.iter().collect::<HashSet<_>>().len() }",
    );
}

#[test]
fn sorts_that_are_not_statements_stay() {
    assert_no(
        "sort_unstable",
        "fn f(h: &mut Heap) -> u32 { h.sort().unwrap_or(0) }",
    );
    // A key that is not a clone of a field of the element.
    assert_no(
        "sort_by_cloned_key",
        "fn f(v: &mut Vec<User>) { v.sort_by_key(|u| u.name.len()); }",
    );
    assert_no(
        "sort_by_cloned_key",
        "fn f(v: &mut Vec<User>) { v.sort_by_key(|u| other.name.clone()); }",
    );
}

#[test]
fn ordered_maps_whose_order_is_seen_stay() {
    // Iterated.
    assert_no(
        "btree_to_hash",
        "fn f(xs: &[u32]) -> Vec<u32> { let mut m = BTreeMap::new(); for x in xs { m.insert(*x, 1); } m.keys().copied().collect() }",
    );
    // Returned.
    assert_no(
        "btree_to_hash",
        "fn f() -> BTreeMap<u32, u32> { let mut m = BTreeMap::new(); m.insert(1, 2); m }",
    );
    // Printed.
    assert_no(
        "btree_to_hash",
        "fn f() { let mut m = BTreeMap::new(); m.insert(1, 2); println!(\"{m:?}\"); }",
    );
    // Passed to a function that may need a BTreeMap.
    assert_no(
        "btree_to_hash",
        "fn f() { let mut m = BTreeMap::new(); m.insert(1, 2); g(&m); }",
    );
    // Entry matched on its type.
    assert_no(
        "btree_to_hash",
        "fn f() { let mut m = BTreeMap::new(); match m.entry(1) { Entry::Vacant(v) => { v.insert(2); } _ => {} } }",
    );
}

#[test]
fn format_pushes_that_read_the_target_stay() {
    assert_no(
        "format_push_string",
        "fn f(s: &mut String) { s.push_str(&format!(\"{}\", s.len())); }",
    );
    assert_no(
        "format_push_string",
        "fn f(mut s: String) -> String { s = format!(\"{}{}\", s, s); s }",
    );
    // Prepending is not appending.
    assert_no(
        "format_push_string",
        "fn f(mut s: String, p: &str) -> String { s = format!(\"{}{}\", p, s); s }",
    );
}

#[test]
fn broken_functions_are_not_rewritten() {
    let src = "fn f(v: &Vec<u32>) -> usize {\n    let x = ;\n    v.clone().len()\n}\n";
    assert!(candidates(src, &[ALL]).unwrap().is_empty());
}

#[test]
fn contains_on_unknown_or_changing_collections_stays() {
    // `s` is a string: `contains` takes a pattern.
    assert_no(
        "contains_in_loop",
        "fn f(xs: &[char], s: &str) -> usize { let mut n = 0; for c in xs { if s.contains(*c) { n += 1; } } n }",
    );
    // The vector grows inside the loop.
    assert_no(
        "contains_in_loop",
        "fn f(xs: &[u32], mut seen: Vec<u32>) { for x in xs { if !seen.contains(x) { seen.push(*x); } } }",
    );
    // Not in a loop.
    assert_no(
        "contains_in_loop",
        "fn f(x: u32, v: Vec<u32>) -> bool { v.contains(&x) }",
    );
}
