//! Regression scenarios for `perf-fixer fix`: each is a real crate (no dependencies) in a temp
//! git repository with a base commit, an unrelated commit, the culprit, and an unrelated head
//! commit. The benchmark is a `harness = false` binary that takes the median of 15 timed
//! repetitions per workload and writes the github-action-benchmark JSON.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use super::FixtureRepo;

/// A repository with a known regression (or a known non-regression).
pub struct Scenario {
    pub repo: FixtureRepo,
    pub base: String,
    pub culprit: String,
    pub head: String,
    /// The culprit's subject line.
    pub culprit_summary: &'static str,
    /// The benchmark the culprit slows down.
    pub bench: &'static str,
}

/// What one kind of regression writes: the crate's library before and after the culprit, and
/// optionally the manifest's extra lines before and after.
struct Kind {
    crate_name: &'static str,
    lib_base: String,
    lib_culprit: String,
    manifest_extra_base: &'static str,
    manifest_extra_culprit: &'static str,
    /// Statements of the bench's `main`, using `median_ns` and pushing `(name, ns)` into
    /// `results`.
    bench_body: &'static str,
    bench: &'static str,
    culprit_summary: &'static str,
}

const BENCH_PRELUDE: &str = r#"//! Times the library's hot path; writes the github-action-benchmark JSON format.

use std::hint::black_box;
use std::time::Instant;

fn median_ns(mut f: impl FnMut()) -> f64 {
    f();
    let mut times = Vec::new();
    for _ in 0..15 {
        let start = Instant::now();
        f();
        times.push(start.elapsed().as_nanos() as f64);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    times[times.len() / 2]
}

/// Deterministic pseudo-random numbers (xorshift), so both sides time the same input.
fn numbers(n: usize, seed: u64) -> Vec<u64> {
    let mut state = seed | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        })
        .collect()
}

fn main() {
    let mut results: Vec<(&str, f64)> = Vec::new();
"#;

const BENCH_EPILOGUE: &str = r#"
    let entries: Vec<String> = results
        .iter()
        .map(|(name, ns)| format!("{{\"name\": \"{name}\", \"unit\": \"ns/iter\", \"value\": {ns}}}"))
        .collect();
    std::fs::write("target/bench.json", format!("[{}]", entries.join(", ")))
        .expect("write target/bench.json");
}
"#;

/// Appended to the library by the unrelated commit before the culprit.
const VERSION_FN: &str = r#"
/// The crate's version, for diagnostics.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
"#;

fn manifest(crate_name: &str, extra: &str) -> String {
    format!(
        r#"[package]
name = "{crate_name}"
version = "0.1.0"
edition = "2021"

[[bench]]
name = "speed"
harness = false
{extra}"#
    )
}

const CONFIG: &str = r#"[bench]
command = "cargo bench --bench speed"
format = "json"
output = "target/bench.json"

[test]
command = "cargo test --release"

[gate]
threshold_pct = 5
max_attempts = 2
"#;

fn build(kind: Kind) -> Scenario {
    let repo = FixtureRepo::new();
    repo.write(".gitignore", "/target\n");
    repo.write(".perf-fixer.toml", CONFIG);
    repo.write(
        "Cargo.toml",
        &manifest(kind.crate_name, kind.manifest_extra_base),
    );
    repo.write(
        "benches/speed.rs",
        &format!("{BENCH_PRELUDE}{}{BENCH_EPILOGUE}", kind.bench_body),
    );
    repo.write("src/lib.rs", &kind.lib_base);
    let base = repo.commit("Initial version");

    repo.write(
        "README.md",
        &format!("# {}\n\nA small library.\n", kind.crate_name),
    );
    repo.write("src/lib.rs", &format!("{}{VERSION_FN}", kind.lib_base));
    repo.commit("Add a README and version()");

    repo.write(
        "Cargo.toml",
        &manifest(kind.crate_name, kind.manifest_extra_culprit),
    );
    repo.write("src/lib.rs", &format!("{}{VERSION_FN}", kind.lib_culprit));
    let culprit = repo.commit(kind.culprit_summary);

    repo.write(
        "CHANGELOG.md",
        "# Changelog\n\n## 0.1.0\n\n- First release.\n",
    );
    let head = repo.commit("Add a changelog");
    Scenario {
        repo,
        base,
        culprit,
        head,
        culprit_summary: kind.culprit_summary,
        bench: kind.bench,
    }
}

/// The mixing step of the needless-clone scenario, replicated to pin its test's value.
fn mix(mut x: u64) -> u64 {
    for _ in 0..16 {
        x = x.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(23);
    }
    x
}

/// A needless `.clone()` of a `Vec` inside a hot loop.
pub fn needless_clone() -> Scenario {
    let weights = [1u64, 2, 3];
    let expected = [0usize, 1, 5]
        .iter()
        .fold(0u64, |acc, &q| mix(acc ^ weights[q % weights.len()]));
    let lib = |body: &str| {
        format!(
            r#"//! Weighted lookups.

/// Mixes the weights of the queried slots (wrapping around the table) into one value.
pub fn weighted_sum(weights: &Vec<u64>, queries: &[usize]) -> u64 {{
    let mut acc = 0u64;
    for &q in queries {{
{body}
        acc = mix(acc ^ w);
    }}
    acc
}}

/// Sixteen rounds of multiply and rotate.
fn mix(mut x: u64) -> u64 {{
    for _ in 0..16 {{
        x = x.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(23);
    }}
    x
}}

#[cfg(test)]
mod tests {{
    #[test]
    fn mixes_queried_weights() {{
        let weights = vec![1, 2, 3];
        assert_eq!(super::weighted_sum(&weights, &[0, 1, 5]), {expected}u64);
    }}
}}
"#
        )
    };
    build(Kind {
        crate_name: "lookups",
        lib_base: lib("        let w = weights[q % weights.len()];"),
        lib_culprit: lib(
            "        let table = weights.clone();\n        let w = table[q % table.len()];",
        ),
        manifest_extra_base: "",
        manifest_extra_culprit: "",
        bench_body: r#"    let weights: Vec<u64> = numbers(1_000, 7);
    let queries: Vec<usize> = numbers(20_000, 11).into_iter().map(|x| x as usize).collect();
    results.push(("weighted_sum", median_ns(|| {
        black_box(lookups::weighted_sum(black_box(&weights), black_box(&queries)));
    })));
"#,
        bench: "weighted_sum",
        culprit_summary: "Read weights through a local table",
    })
}

/// `HashMap` replaced by `BTreeMap` on a hot lookup path where order is never observed.
pub fn btree_lookup() -> Scenario {
    let lib = |map: &str| {
        format!(
            r#"//! An index from keys to their positions.

use std::collections::{map};

pub struct Index {{
    positions: {map}<u64, u32>,
}}

impl Index {{
    pub fn new(keys: &[u64]) -> Index {{
        Index {{
            positions: keys.iter().enumerate().map(|(i, &k)| (k, i as u32)).collect(),
        }}
    }}

    /// Sum of the positions of the probes that are in the index.
    pub fn hits(&self, probes: &[u64]) -> u64 {{
        let mut sum = 0u64;
        for p in probes {{
            if let Some(&i) = self.positions.get(p) {{
                sum += u64::from(i);
            }}
        }}
        sum
    }}
}}

#[cfg(test)]
mod tests {{
    #[test]
    fn finds_positions() {{
        let index = super::Index::new(&[10, 20, 30]);
        assert_eq!(index.hits(&[20, 30, 40]), 3);
    }}
}}
"#
        )
    };
    build(Kind {
        crate_name: "keyindex",
        lib_base: lib("HashMap"),
        lib_culprit: lib("BTreeMap"),
        manifest_extra_base: "",
        manifest_extra_culprit: "",
        bench_body: r#"    let keys: Vec<u64> = numbers(200_000, 3);
    let index = keyindex::Index::new(&keys);
    let mut probes: Vec<u64> = numbers(20_000, 5);
    probes.extend(keys.iter().step_by(10).copied());
    results.push(("index_hits", median_ns(|| {
        black_box(index.hits(black_box(&probes)));
    })));
"#,
        bench: "index_hits",
        culprit_summary: "Keep the index in a BTreeMap",
    })
}

/// A `[profile.release]` change: debug assertions turned on in a crate whose hot path has an
/// O(n) `debug_assert!`, in the same manifest hunk as a wanted, tested default feature, so
/// that only restoring the build setting fixes it.
pub fn build_profile() -> Scenario {
    let lib = |feature: &str, feature_test: &str| {
        format!(
            r#"//! Ranks in a sorted table.

/// Number of table entries below `q`.
fn rank(table: &[u32], q: u32) -> usize {{
    debug_assert!(table.windows(2).all(|w| w[0] <= w[1]), "table must be sorted");
    table.partition_point(|&x| x < q)
}}

/// Sum of the ranks of all queries.
pub fn rank_all(table: &[u32], queries: &[u32]) -> u64 {{
    queries.iter().map(|&q| rank(table, q) as u64).sum()
}}
{feature}
#[cfg(test)]
mod tests {{
    #[test]
    fn ranks() {{
        assert_eq!(super::rank_all(&[1, 3, 5, 7], &[0, 4, 8]), 6);
    }}
{feature_test}}}
"#
        )
    };
    let feature = r#"
/// The rank of each query (with the `each` feature, on by default).
#[cfg(feature = "each")]
pub fn ranks(table: &[u32], queries: &[u32]) -> Vec<usize> {
    queries.iter().map(|&q| rank(table, q)).collect()
}
"#;
    let feature_test = r#"
    #[test]
    fn ranks_each_query() {
        assert_eq!(super::ranks(&[1, 3, 5, 7], &[0, 4, 8]), [0, 2, 4]);
    }
"#;
    build(Kind {
        crate_name: "ranks",
        lib_base: lib("", ""),
        lib_culprit: lib(feature, feature_test),
        manifest_extra_base: "",
        // One hunk: the wanted feature (its test needs it) and the slow build setting.
        manifest_extra_culprit: "\n[features]\ndefault = [\"each\"]\neach = []\n\n[profile.release]\ndebug-assertions = true\n",
        bench_body: r#"    let mut table: Vec<u32> = numbers(20_000, 9).into_iter().map(|x| x as u32).collect();
    table.sort_unstable();
    let queries: Vec<u32> = numbers(1_000, 13).into_iter().map(|x| x as u32).collect();
    results.push(("rank_all", median_ns(|| {
        black_box(ranks::rank_all(black_box(&table), black_box(&queries)));
    })));
"#,
        bench: "rank_all",
        culprit_summary: "Add ranks() behind a default feature; check table invariants in release builds",
    })
}

/// An integer knob: the block size of a chunked loop cut from 4096 to 8, in a commit that
/// also adds a tested feature and, in the same hunk as the block size, bumps the tested format
/// version: no revert passes the tests, only setting the knob back does.
pub fn chunk_knob() -> Scenario {
    let lib = |chunk: &str, format: &str, feature: &str, feature_test: &str| {
        format!(
            r#"//! Position-weighted checksums.

// Bytes copied and summed per block, and the version prefix of the hex form.
const CHUNK: usize = {chunk};
pub const FORMAT: &str = "{format}";

/// A checksum where each byte is weighted by its position.
pub fn checksum(data: &[u8]) -> u64 {{
    let mut total = 0u64;
    let mut offset = 0usize;
    for chunk in data.chunks(CHUNK) {{
        let block: Vec<u8> = chunk.to_vec();
        for (i, &b) in block.iter().enumerate() {{
            total = total.wrapping_add(u64::from(b) * (((offset + i) as u64 & 255) + 1));
        }}
        offset += block.len();
    }}
    total
}}
{feature}
#[cfg(test)]
mod tests {{
    fn reference(data: &[u8]) -> u64 {{
        data.iter()
            .enumerate()
            .map(|(i, &b)| u64::from(b) * ((i as u64 & 255) + 1))
            .fold(0u64, u64::wrapping_add)
    }}

    #[test]
    fn matches_the_reference() {{
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 256) as u8).collect();
        assert_eq!(super::checksum(&data), reference(&data));
    }}
{feature_test}}}
"#
        )
    };
    let feature = r#"
/// The checksum as 16 hex digits after the format's version.
pub fn checksum_hex(data: &[u8]) -> String {
    format!("{FORMAT}:{:016x}", checksum(data))
}
"#;
    let feature_test = r#"
    #[test]
    fn hex_has_sixteen_digits() {
        assert_eq!(super::checksum_hex(&[1, 2]), "v2:0000000000000005");
    }
"#;
    build(Kind {
        crate_name: "blocksum",
        lib_base: lib("4096", "v1", "", ""),
        lib_culprit: lib("8", "v2", feature, feature_test),
        manifest_extra_base: "",
        manifest_extra_culprit: "",
        bench_body: r#"    let data: Vec<u8> = numbers(128 * 1024, 17).into_iter().flat_map(|x| x.to_le_bytes()).collect();
    results.push(("checksum", median_ns(|| {
        black_box(blocksum::checksum(black_box(&data)));
    })));
"#,
        bench: "checksum",
        culprit_summary: "Add checksum_hex; smaller blocks",
    })
}

/// A commit that mixes a wanted, tested feature (case- and punctuation-insensitive words) with
/// a slow hunk (a `Vec::contains` scan replacing a `HashSet`).
pub fn mixed_feature() -> Scenario {
    let lib_base = r#"//! Distinct words of a text.

use std::collections::HashSet;

/// The distinct words of `text`, in order of first appearance.
pub fn distinct_words(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let word = normalize(word);
        if seen.insert(word.clone()) {
            out.push(word);
        }
    }
    out
}

/// The form in which words are compared.
fn normalize(word: &str) -> String {
    word.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_first_appearance_order() {
        assert_eq!(super::distinct_words("b a b c a"), ["b", "a", "c"]);
    }
}
"#;
    let lib_culprit = r#"//! Distinct words of a text.

/// The distinct words of `text`, in order of first appearance.
pub fn distinct_words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        let word = normalize(word);
        if !out.contains(&word) {
            out.push(word);
        }
    }
    out
}

/// The form in which words are compared: lower case, without surrounding punctuation.
fn normalize(word: &str) -> String {
    word.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_first_appearance_order() {
        assert_eq!(super::distinct_words("b a b c a"), ["b", "a", "c"]);
    }

    #[test]
    fn ignores_case_and_punctuation() {
        assert_eq!(super::distinct_words("Apple, apple. APPLE pear"), ["apple", "pear"]);
    }
}
"#;
    build(Kind {
        crate_name: "distinct",
        lib_base: lib_base.to_string(),
        lib_culprit: lib_culprit.to_string(),
        manifest_extra_base: "",
        manifest_extra_culprit: "",
        bench_body: r#"    let text: String = numbers(8_000, 21)
        .into_iter()
        .map(|x| format!("Word{} ", x % 1_000))
        .collect();
    results.push(("distinct_words", median_ns(|| {
        black_box(distinct::distinct_words(black_box(&text)));
    })));
"#,
        bench: "distinct_words",
        culprit_summary: "Compare words without case and punctuation",
    })
}

/// `sort_unstable_by_key` on an id replaced by `sort_by_key` with a cloned `String` key (a
/// wanted change of order, tested, so only a rewrite keeps it and is fast).
pub fn cloned_sort_key() -> Scenario {
    let lib = |sort: &str, test: &str| {
        format!(
            r#"//! A directory of entries.

#[derive(Clone, Debug)]
pub struct Entry {{
    pub id: u64,
    pub name: String,
}}

/// The entries in listing order.
pub fn listing(mut entries: Vec<Entry>) -> Vec<Entry> {{
    {sort}
    entries
}}

#[cfg(test)]
mod tests {{
    use super::Entry;

    fn entries() -> Vec<Entry> {{
        [(3, "carol"), (1, "dave"), (2, "alice"), (4, "bob")]
            .into_iter()
            .map(|(id, name)| Entry {{ id, name: name.to_string() }})
            .collect()
    }}

    #[test]
    fn lists_in_order() {{
        let ids: Vec<u64> = super::listing(entries()).iter().map(|e| e.id).collect();
        assert_eq!(ids, {test});
    }}
}}
"#
        )
    };
    build(Kind {
        crate_name: "directory",
        lib_base: lib("entries.sort_unstable_by_key(|e| e.id);", "[1, 2, 3, 4]"),
        lib_culprit: lib("entries.sort_by_key(|e| e.name.clone());", "[2, 4, 3, 1]"),
        manifest_extra_base: "",
        manifest_extra_culprit: "",
        bench_body: r#"    let entries: Vec<directory::Entry> = numbers(10_000, 23)
        .into_iter()
        .enumerate()
        .map(|(i, x)| directory::Entry { id: x, name: format!("user-{:08}-{i}", x % 100_000_000) })
        .collect();
    results.push(("listing", median_ns(|| {
        black_box(directory::listing(black_box(entries.clone())));
    })));
"#,
        bench: "listing",
        culprit_summary: "List entries by name",
    })
}

/// The fingerprint the exit-4 scenario's culprit computes, replicated here so its test can
/// pin the exact value: any change of the function's behaviour breaks that test.
fn strong_fingerprint(data: &[u64]) -> u64 {
    let mut h = 0x9e37_79b9_7f4a_7c15u64;
    for &x in data {
        h ^= x;
        for _ in 0..48 {
            h = h.rotate_left(5).wrapping_mul(0x0000_0100_0000_01b3) ^ (h >> 29);
        }
    }
    h
}

/// A regression that is the commit's whole, tested intent: a stronger fingerprint with 48
/// mixing rounds per word. Every revert (and every knob value) changes the pinned output.
pub fn slow_but_tested() -> Scenario {
    let lib = |mix: &str, expected: &str| {
        format!(
            r#"//! Fingerprints of word sequences.

/// A 64-bit fingerprint of `data`.
pub fn fingerprint(data: &[u64]) -> u64 {{
    let mut h = 0x9e37_79b9_7f4a_7c15u64;
    for &x in data {{
        h ^= x;
{mix}
    }}
    h
}}

#[cfg(test)]
mod tests {{
    #[test]
    fn pinned_value() {{
        assert_eq!(super::fingerprint(&[1, 2, 3, 4]), {expected});
    }}
}}
"#
        )
    };
    let weak = |data: &[u64]| {
        let mut h = 0x9e37_79b9_7f4a_7c15u64;
        for &x in data {
            h ^= x;
            h = h.rotate_left(5).wrapping_mul(0x0000_0100_0000_01b3) ^ (h >> 29);
        }
        h
    };
    build(Kind {
        crate_name: "fingerprint",
        lib_base: lib(
            "        h = h.rotate_left(5).wrapping_mul(0x0000_0100_0000_01b3) ^ (h >> 29);",
            &format!("{}u64", weak(&[1, 2, 3, 4])),
        ),
        lib_culprit: lib(
            "        for _ in 0..48 {\n            h = h.rotate_left(5).wrapping_mul(0x0000_0100_0000_01b3) ^ (h >> 29);\n        }",
            &format!("{}u64", strong_fingerprint(&[1, 2, 3, 4])),
        ),
        manifest_extra_base: "",
        manifest_extra_culprit: "",
        bench_body: r#"    let data: Vec<u64> = numbers(100_000, 29);
    results.push(("fingerprint", median_ns(|| {
        black_box(fingerprint::fingerprint(black_box(&data)));
    })));
"#,
        bench: "fingerprint",
        culprit_summary: "Stronger fingerprint mixing",
    })
}

/// A change that cannot affect speed: a comment reworded. Base and head are one commit apart.
pub fn comment_only() -> Scenario {
    let lib = |comment: &str| {
        format!(
            r#"//! Sums of squares.

/// {comment}
pub fn sum_squares(input: &[u64]) -> u64 {{
    let mut acc = 0u64;
    for _ in 0..20 {{
        for &x in input {{
            acc = acc.wrapping_add(x.wrapping_mul(x) ^ (acc >> 7));
        }}
    }}
    acc
}}

#[cfg(test)]
mod tests {{
    #[test]
    fn deterministic() {{
        assert_eq!(super::sum_squares(&[1, 2, 3]), super::sum_squares(&[1, 2, 3]));
    }}
}}
"#
        )
    };
    let repo = FixtureRepo::new();
    repo.write(".gitignore", "/target\n");
    repo.write(".perf-fixer.toml", CONFIG);
    repo.write("Cargo.toml", &manifest("squares", ""));
    repo.write(
        "benches/speed.rs",
        &format!(
            "{BENCH_PRELUDE}{}{BENCH_EPILOGUE}",
            r#"    let input: Vec<u64> = numbers(50_000, 31);
    results.push(("sum_squares", median_ns(|| {
        black_box(squares::sum_squares(black_box(&input)));
    })));
"#
        ),
    );
    repo.write("src/lib.rs", &lib("Sums squares, mixed."));
    let base = repo.commit("Initial version");
    repo.write(
        "src/lib.rs",
        &lib("Sums the squares of the input, mixing in the accumulator."),
    );
    let head = repo.commit("Reword the doc comment");
    Scenario {
        repo,
        base,
        culprit: head.clone(),
        head,
        culprit_summary: "Reword the doc comment",
        bench: "sum_squares",
    }
}
