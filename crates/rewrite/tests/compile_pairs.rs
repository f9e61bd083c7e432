//! Before/after source pairs for every rule: `candidates()` must produce exactly the
//! after-source, change no line outside the rewrite, and both versions must compile and
//! behave the same (a generated crate runs each pair's `run()` before and after).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use perf_fixer_rewrite::{Risk, Span, candidates, rules};

struct Pair {
    name: &'static str,
    rule: &'static str,
    risk: Risk,
    before: &'static str,
    after: &'static str,
}

const ALL: Span = Span {
    start_line: 1,
    end_line: u32::MAX,
};

fn pairs() -> Vec<Pair> {
    vec![
        Pair {
            name: "regex_receiver",
            rule: "regex_hoist",
            risk: Risk::Low,
            before: r#"use regex::Regex;

pub fn count_words(text: &str) -> usize {
    text.split(' ')
        .filter(|w| Regex::new(r"^[a-z]+$").unwrap().is_match(w))
        .count()
}

pub fn run() -> String {
    count_words("abc de F1 gh").to_string()
}
"#,
            after: r#"use regex::Regex;

pub fn count_words(text: &str) -> usize {
    static COUNT_WORDS_RE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| Regex::new(r"^[a-z]+$").unwrap());
    text.split(' ')
        .filter(|w| COUNT_WORDS_RE.is_match(w))
        .count()
}

pub fn run() -> String {
    count_words("abc de F1 gh").to_string()
}
"#,
        },
        Pair {
            name: "regex_let_binding",
            rule: "regex_hoist",
            risk: Risk::Low,
            before: r#"pub struct Parser;

impl Parser {
    pub fn first_number(&self, line: &str) -> Option<u32> {
        let re = regex::Regex::new(r"\d+").expect("valid pattern");
        re.find(line).and_then(|m| m.as_str().parse().ok())
    }
}

pub fn run() -> String {
    format!("{:?}", Parser.first_number("ab 42 c7"))
}
"#,
            after: r#"pub struct Parser;

impl Parser {
    pub fn first_number(&self, line: &str) -> Option<u32> {
        static FIRST_NUMBER_RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| regex::Regex::new(r"\d+").expect("valid pattern"));
        let re = &*FIRST_NUMBER_RE;
        re.find(line).and_then(|m| m.as_str().parse().ok())
    }
}

pub fn run() -> String {
    format!("{:?}", Parser.first_number("ab 42 c7"))
}
"#,
        },
        Pair {
            name: "regex_try",
            rule: "regex_hoist",
            risk: Risk::Low,
            before: r#"pub fn digits(s: &str) -> Result<usize, regex::Error> {
    let re = regex::Regex::new(r"\d")?;
    Ok(re.find_iter(s).count())
}

pub fn run() -> String {
    format!("{:?}", digits("a1b22"))
}
"#,
            after: r#"pub fn digits(s: &str) -> Result<usize, regex::Error> {
    static DIGITS_RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| regex::Regex::new(r"\d").expect("regex literal checked when hoisted"));
    let re = &*DIGITS_RE;
    Ok(re.find_iter(s).count())
}

pub fn run() -> String {
    format!("{:?}", digits("a1b22"))
}
"#,
        },
        Pair {
            name: "clone_in_for",
            rule: "needless_clone",
            risk: Risk::Low,
            before: r#"pub fn total(v: &mut Vec<u64>) -> u64 {
    let mut sum = 0;
    for x in v.clone().iter() {
        sum += x + v.len() as u64;
    }
    v.push(sum);
    sum
}

pub fn run() -> String {
    let mut v = vec![1, 2, 3];
    let t = total(&mut v);
    format!("{t} {v:?}")
}
"#,
            after: r#"pub fn total(v: &mut Vec<u64>) -> u64 {
    let mut sum = 0;
    for x in v.iter() {
        sum += x + v.len() as u64;
    }
    v.push(sum);
    sum
}

pub fn run() -> String {
    let mut v = vec![1, 2, 3];
    let t = total(&mut v);
    format!("{t} {v:?}")
}
"#,
        },
        Pair {
            name: "clone_len",
            rule: "needless_clone",
            risk: Risk::Low,
            before: r#"pub struct Doc {
    pub words: Vec<String>,
}

pub fn long_enough(d: &Doc) -> bool {
    d.words.clone().len() > 2
}

pub fn run() -> String {
    let d = Doc { words: vec!["a".into(), "b".into(), "c".into()] };
    long_enough(&d).to_string()
}
"#,
            after: r#"pub struct Doc {
    pub words: Vec<String>,
}

pub fn long_enough(d: &Doc) -> bool {
    d.words.len() > 2
}

pub fn run() -> String {
    let d = Doc { words: vec!["a".into(), "b".into(), "c".into()] };
    long_enough(&d).to_string()
}
"#,
        },
        Pair {
            name: "format_key_str",
            rule: "format_key",
            risk: Risk::Low,
            before: r#"use std::collections::HashMap;

pub fn lookup(m: &HashMap<String, u32>, name: &str) -> u32 {
    *m.get(&format!("{}", name)).unwrap_or(&0)
}

pub fn run() -> String {
    let m: HashMap<String, u32> = [("a".to_string(), 7)].into_iter().collect();
    format!("{} {}", lookup(&m, "a"), lookup(&m, "b"))
}
"#,
            after: r#"use std::collections::HashMap;

pub fn lookup(m: &HashMap<String, u32>, name: &str) -> u32 {
    *m.get(name).unwrap_or(&0)
}

pub fn run() -> String {
    let m: HashMap<String, u32> = [("a".to_string(), 7)].into_iter().collect();
    format!("{} {}", lookup(&m, "a"), lookup(&m, "b"))
}
"#,
        },
        Pair {
            name: "format_key_string",
            rule: "format_key",
            risk: Risk::Low,
            before: r#"use std::collections::HashMap;

pub fn known(m: &HashMap<String, u32>, key: String) -> bool {
    m.contains_key(&key.to_string())
}

pub fn run() -> String {
    let m: HashMap<String, u32> = [("a".to_string(), 7)].into_iter().collect();
    format!("{} {}", known(&m, "a".into()), known(&m, "b".into()))
}
"#,
            after: r#"use std::collections::HashMap;

pub fn known(m: &HashMap<String, u32>, key: String) -> bool {
    m.contains_key(key.as_str())
}

pub fn run() -> String {
    let m: HashMap<String, u32> = [("a".to_string(), 7)].into_iter().collect();
    format!("{} {}", known(&m, "a".into()), known(&m, "b".into()))
}
"#,
        },
        Pair {
            name: "with_capacity_vec",
            rule: "with_capacity",
            risk: Risk::Low,
            before: r#"pub fn squares(xs: &[u32]) -> Vec<u32> {
    let mut out = Vec::new();
    for x in xs.iter() {
        out.push(x * x);
    }
    out
}

pub fn run() -> String {
    format!("{:?}", squares(&[1, 2, 3]))
}
"#,
            after: r#"pub fn squares(xs: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(xs.len());
    for x in xs.iter() {
        out.push(x * x);
    }
    out
}

pub fn run() -> String {
    format!("{:?}", squares(&[1, 2, 3]))
}
"#,
        },
        Pair {
            name: "with_capacity_string",
            rule: "with_capacity",
            risk: Risk::Low,
            before: r#"pub fn upper(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        out.push(c.to_ascii_uppercase());
    }
    out
}

pub fn run() -> String {
    upper("héllo")
}
"#,
            after: r#"pub fn upper(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        out.push(c.to_ascii_uppercase());
    }
    out
}

pub fn run() -> String {
    upper("héllo")
}
"#,
        },
        Pair {
            name: "collect_for",
            rule: "intermediate_collect",
            risk: Risk::Medium,
            before: r#"pub fn evens(xs: &[i64]) -> i64 {
    let mut acc = 0;
    for x in xs.iter().filter(|x| *x % 2 == 0).collect::<Vec<_>>() {
        acc += x * xs.len() as i64;
    }
    acc
}

pub fn run() -> String {
    evens(&[1, 2, 3, 4]).to_string()
}
"#,
            after: r#"pub fn evens(xs: &[i64]) -> i64 {
    let mut acc = 0;
    for x in xs.iter().filter(|x| *x % 2 == 0) {
        acc += x * xs.len() as i64;
    }
    acc
}

pub fn run() -> String {
    evens(&[1, 2, 3, 4]).to_string()
}
"#,
        },
        Pair {
            name: "collect_len",
            rule: "intermediate_collect",
            risk: Risk::Low,
            before: r#"pub fn count_long(words: &[&str]) -> usize {
    words.iter().filter(|w| w.len() > 3).collect::<Vec<_>>().len()
}

pub fn run() -> String {
    count_long(&["a", "abcd", "hello"]).to_string()
}
"#,
            after: r#"pub fn count_long(words: &[&str]) -> usize {
    words.iter().filter(|w| w.len() > 3).count()
}

pub fn run() -> String {
    count_long(&["a", "abcd", "hello"]).to_string()
}
"#,
        },
        Pair {
            name: "collect_into_iter",
            rule: "intermediate_collect",
            risk: Risk::Medium,
            before: r#"pub fn sum_sq(xs: &[u64]) -> u64 {
    let s: u64 = xs.iter().map(|x| x * x).collect::<Vec<u64>>().into_iter().sum();
    s
}

pub fn run() -> String {
    sum_sq(&[1, 2, 3]).to_string()
}
"#,
            after: r#"pub fn sum_sq(xs: &[u64]) -> u64 {
    let s: u64 = xs.iter().map(|x| x * x).sum();
    s
}

pub fn run() -> String {
    sum_sq(&[1, 2, 3]).to_string()
}
"#,
        },
        Pair {
            name: "sort_primitive",
            rule: "sort_unstable",
            risk: Risk::Low,
            before: r#"pub fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort();
    v
}

pub fn run() -> String {
    format!("{:?}", sorted(vec![3, 1, 2, 1]))
}
"#,
            after: r#"pub fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v
}

pub fn run() -> String {
    format!("{:?}", sorted(vec![3, 1, 2, 1]))
}
"#,
        },
        Pair {
            name: "sort_by_medium",
            rule: "sort_unstable",
            risk: Risk::Medium,
            before: r#"pub fn by_len(words: &mut [String]) {
    words.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
}

pub fn run() -> String {
    let mut w = vec!["ccc".to_string(), "a".into(), "bb".into(), "b".into()];
    by_len(&mut w);
    format!("{w:?}")
}
"#,
            after: r#"pub fn by_len(words: &mut [String]) {
    words.sort_unstable_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
}

pub fn run() -> String {
    let mut w = vec!["ccc".to_string(), "a".into(), "bb".into(), "b".into()];
    by_len(&mut w);
    format!("{w:?}")
}
"#,
        },
        Pair {
            name: "sort_cloned_key",
            rule: "sort_by_cloned_key",
            risk: Risk::Low,
            before: r#"#[derive(Debug)]
pub struct User {
    pub name: String,
    pub id: u32,
}

pub fn order(users: &mut Vec<User>) {
    users.sort_by_key(|u| u.name.clone());
}

pub fn run() -> String {
    let mut u = vec![
        User { name: "b".into(), id: 1 },
        User { name: "a".into(), id: 2 },
        User { name: "b".into(), id: 0 },
    ];
    order(&mut u);
    format!("{u:?}")
}
"#,
            after: r#"#[derive(Debug)]
pub struct User {
    pub name: String,
    pub id: u32,
}

pub fn order(users: &mut Vec<User>) {
    users.sort_by(|a, b| a.name.cmp(&b.name));
}

pub fn run() -> String {
    let mut u = vec![
        User { name: "b".into(), id: 1 },
        User { name: "a".into(), id: 2 },
        User { name: "b".into(), id: 0 },
    ];
    order(&mut u);
    format!("{u:?}")
}
"#,
        },
        Pair {
            name: "btree_map_lookup",
            rule: "btree_to_hash",
            risk: Risk::Medium,
            before: r#"use std::collections::BTreeMap;

pub fn most_common(words: &[&str]) -> usize {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut best = 0;
    for w in words {
        let c = counts.entry(w.to_string()).or_insert(0);
        *c += 1;
        best = best.max(*c);
    }
    if counts.contains_key("zzz") { best += counts["zzz"]; }
    best
}

pub fn run() -> String {
    most_common(&["a", "b", "a", "zzz"]).to_string()
}
"#,
            after: r#"use std::collections::BTreeMap;

pub fn most_common(words: &[&str]) -> usize {
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut best = 0;
    for w in words {
        let c = counts.entry(w.to_string()).or_insert(0);
        *c += 1;
        best = best.max(*c);
    }
    if counts.contains_key("zzz") { best += counts["zzz"]; }
    best
}

pub fn run() -> String {
    most_common(&["a", "b", "a", "zzz"]).to_string()
}
"#,
        },
        Pair {
            name: "btree_set_lookup",
            rule: "btree_to_hash",
            risk: Risk::Medium,
            before: r#"pub fn has_dup(xs: &[u32]) -> bool {
    let mut seen = std::collections::BTreeSet::new();
    for x in xs {
        if !seen.insert(*x) {
            return true;
        }
    }
    false
}

pub fn run() -> String {
    format!("{} {}", has_dup(&[1, 2, 1]), has_dup(&[1, 2]))
}
"#,
            after: r#"pub fn has_dup(xs: &[u32]) -> bool {
    let mut seen = std::collections::HashSet::new();
    for x in xs {
        if !seen.insert(*x) {
            return true;
        }
    }
    false
}

pub fn run() -> String {
    format!("{} {}", has_dup(&[1, 2, 1]), has_dup(&[1, 2]))
}
"#,
        },
        Pair {
            name: "format_push_str",
            rule: "format_push_string",
            risk: Risk::Low,
            before: r#"pub fn csv(rows: &[(u32, f64)]) -> String {
    let mut out = String::new();
    for (id, v) in rows {
        out.push_str(&format!("{id},{:.2}\n", v));
    }
    out
}

pub fn run() -> String {
    csv(&[(1, 0.5), (2, 1.25)])
}
"#,
            after: r#"pub fn csv(rows: &[(u32, f64)]) -> String {
    let mut out = String::new();
    for (id, v) in rows {
        { use std::fmt::Write as _; let _ = write!(out, "{id},{:.2}\n", v); }
    }
    out
}

pub fn run() -> String {
    csv(&[(1, 0.5), (2, 1.25)])
}
"#,
        },
        Pair {
            name: "format_reassign",
            rule: "format_push_string",
            risk: Risk::Low,
            before: r#"pub fn join(parts: &[u32]) -> String {
    let mut s = String::new();
    for p in parts {
        s = format!("{}{}-", s, p);
    }
    s
}

pub fn run() -> String {
    join(&[1, 22, 333])
}
"#,
            after: r#"pub fn join(parts: &[u32]) -> String {
    let mut s = String::new();
    for p in parts {
        { use std::fmt::Write as _; let _ = write!(s, "{}-", p); }
    }
    s
}

pub fn run() -> String {
    join(&[1, 22, 333])
}
"#,
        },
        Pair {
            name: "contains_in_loop",
            rule: "contains_in_loop",
            risk: Risk::Medium,
            before: r#"pub fn common(a: &[u32], b: Vec<u32>) -> usize {
    let mut n = 0;
    for x in a {
        if b.contains(x) && !b.contains(&(x + 100)) {
            n += 1;
        }
    }
    n
}

pub fn run() -> String {
    common(&[1, 2, 3, 4], vec![2, 4, 104, 9]).to_string()
}
"#,
            after: r#"pub fn common(a: &[u32], b: Vec<u32>) -> usize {
    let mut n = 0;
    let b_set: std::collections::HashSet<_> = b.iter().collect();
    for x in a {
        if b_set.contains(x) && !b_set.contains(&(x + 100)) {
            n += 1;
        }
    }
    n
}

pub fn run() -> String {
    common(&[1, 2, 3, 4], vec![2, 4, 104, 9]).to_string()
}
"#,
        },
    ]
}

/// Lines before `start_line` and after `end_line` are byte-identical.
fn assert_outside_unchanged(name: &str, before: &str, after: &str, start: u32, end: u32) {
    let b: Vec<&str> = before.split_inclusive('\n').collect();
    let a: Vec<&str> = after.split_inclusive('\n').collect();
    let head = (start - 1) as usize;
    assert_eq!(
        b[..head],
        a[..head],
        "{name}: lines before the edit changed"
    );
    let tail = b.len() - end as usize;
    assert_eq!(
        b[b.len() - tail..],
        a[a.len() - tail..],
        "{name}: lines after the edit changed"
    );
}

#[test]
fn every_rule_has_a_pair() {
    let covered: Vec<&str> = pairs().iter().map(|p| p.rule).collect();
    for info in rules() {
        assert!(covered.contains(&info.id), "rule {} has no pair", info.id);
    }
    assert!(rules().len() >= 8);
}

#[test]
fn candidates_produce_exactly_the_after_source() {
    for p in pairs() {
        let found = candidates(p.before, &[ALL]).unwrap();
        let mine: Vec<_> = found.iter().filter(|r| r.rule == p.rule).collect();
        assert_eq!(
            mine.len(),
            1,
            "{}: expected one `{}` candidate, got {:#?}",
            p.name,
            p.rule,
            found
        );
        let r = mine[0];
        assert_eq!(r.new_source, p.after, "{}: wrong rewrite", p.name);
        assert_eq!(r.risk, p.risk, "{}: risk", p.name);
        assert!(!r.risk_notes.is_empty() && !r.description.is_empty());
        assert_outside_unchanged(p.name, p.before, p.after, r.start_line, r.end_line);
        // The after-source is a fixed point for this rule.
        let again = candidates(p.after, &[ALL]).unwrap();
        assert!(
            again.iter().all(|r| r.rule != p.rule),
            "{}: rule fires again on its own output",
            p.name
        );
    }
}

#[test]
fn pairs_compile_and_behave_the_same() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rewrite-compile-pairs");
    let src = dir.join("src");
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"rewrite-pairs\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
         publish = false\n\n[dependencies]\nregex = \"1\"\n\n[workspace]\n",
    )
    .unwrap();
    let mut lib = String::from("#![allow(dead_code, unused, clippy::all)]\n");
    let mut checks = String::new();
    for p in pairs() {
        std::fs::write(src.join(format!("{}_before.rs", p.name)), p.before).unwrap();
        std::fs::write(src.join(format!("{}_after.rs", p.name)), p.after).unwrap();
        lib.push_str(&format!(
            "pub mod {n}_before;\npub mod {n}_after;\n",
            n = p.name
        ));
        checks.push_str(&format!(
            "    assert_eq!(crate::{n}_before::run(), crate::{n}_after::run(), \"{n}\");\n",
            n = p.name
        ));
    }
    lib.push_str(&format!("\n#[test]\nfn same_behaviour() {{\n{checks}}}\n"));
    std::fs::write(src.join("lib.rs"), lib).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["test", "--offline", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "generated crate failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
