//! Adapters on output captured from the real tools (see tests/fixtures/README.md for how each
//! file was produced) and on hand-written edge cases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use perf_fixer_bench::{AdapterError, Collected, collect, prepare};
use perf_fixer_core::config::BenchFormat;

fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(fixture(relative)).unwrap()
}

fn values(collected: &Collected) -> Vec<(&str, &str, f64)> {
    collected
        .values
        .iter()
        .map(|v| (v.name.as_str(), v.unit.as_str(), v.value))
        .collect()
}

fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() <= expected.abs() * 1e-9,
        "{actual} != {expected}"
    );
}

/// Copy a fixture tree into a temp dir, so that `prepare` can be exercised on it.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

// Expected medians of times[i]/iters[i], computed from the fixture files with Python's
// statistics.median, independently of this crate.
const CRITERION_05: &[(&str, f64)] = &[
    ("digits/sum/100", 1501.9121951219513),
    ("digits/sum/1000", 16696.73302017132),
    ("fib 15", 9339.436370481928),
    ("plain/group/x y", 857.9393029116602),
];
const CRITERION_08: &[(&str, f64)] = &[
    ("digits/sum/100", 1204.3037423648464),
    ("digits/sum/1000", 14457.265650741352),
    ("fib 15", 7803.18612463486),
    ("plain/group/x y", 787.9218615905406),
];

fn check_criterion(dir: &str, expected: &[(&str, f64)]) {
    let collected = collect(BenchFormat::Criterion, "", Some(&fixture(dir))).unwrap();
    assert!(collected.warnings.is_empty(), "{:?}", collected.warnings);
    let mut got = values(&collected);
    got.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(got.len(), expected.len(), "{got:?}");
    for ((name, unit, value), (want_name, want_value)) in got.iter().zip(expected) {
        // The full id keeps the `/` of the group name that criterion turns into `_` on disk.
        assert_eq!(name, want_name);
        assert_eq!(*unit, "ns/iter");
        assert_close(*value, *want_value);
        // The run's own samples come along, and their median is the run's value.
        let within = &collected.within_run[*name];
        assert!(within.len() >= 10, "{name}: {} samples", within.len());
        let mut sorted = within.clone();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[mid]
        } else {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        };
        assert_close(median, *want_value);
    }
}

#[test]
fn criterion_0_5_output_directory() {
    check_criterion("criterion-0.5", CRITERION_05);
}

#[test]
fn criterion_0_8_output_directory() {
    check_criterion("criterion-0.8", CRITERION_08);
}

#[test]
fn criterion_capitalised_keys_tuple_samples_and_estimates_fallback() {
    let collected = collect(
        BenchFormat::Criterion,
        "",
        Some(&fixture("criterion-capitalised")),
    )
    .unwrap();
    // `old style` has no sample.json: the median estimate (99, not the stale base's 5000).
    // `tuple` has [[iters], [times]]: per-iteration 20, 21, 20 -> median 20.
    assert_eq!(
        values(&collected),
        vec![("old style", "ns/iter", 99.0), ("tuple", "ns/iter", 20.0)]
    );
    assert_eq!(collected.warnings.len(), 1, "{:?}", collected.warnings);
    assert!(collected.warnings[0].contains("estimates.json"));
}

#[test]
fn criterion_stdout_when_no_output_dir() {
    let collected = collect(
        BenchFormat::Criterion,
        &read("criterion-0.8.stdout.txt"),
        None,
    )
    .unwrap();
    let names: Vec<_> = collected.values.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "fib 15",
            "digits/sum/100",
            "digits/sum/1000",
            "plain/group/x y"
        ]
    );
    // `digits/sum/100          time:   [978.06 ns 1.2549 µs 1.4117 µs]`
    assert_close(collected.values[1].value, 1254.9);
    assert!(!collected.warnings.is_empty());
}

#[test]
fn criterion_prepare_removes_only_new_results() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("criterion");
    copy_tree(&fixture("criterion-0.8"), &root);
    prepare(BenchFormat::Criterion, Some(&root)).unwrap();
    assert!(!root.join("fib 15/new").exists());
    assert!(root.join("fib 15/base/sample.json").exists());
    let err = collect(BenchFormat::Criterion, "", Some(&root)).unwrap_err();
    assert!(matches!(err, AdapterError::NoResults { .. }), "{err}");
    // A missing directory is fine to prepare and a clear error to collect.
    let missing = temp.path().join("nothing-here");
    prepare(BenchFormat::Criterion, Some(&missing)).unwrap();
    let err = collect(BenchFormat::Criterion, "", Some(&missing))
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn criterion_corrupt_files_are_named() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("criterion");
    copy_tree(&fixture("criterion-0.5"), &root);
    let sample = root.join("fib 15/new/sample.json");
    std::fs::write(&sample, "{\"iters\": [1.0,\n 2.0], \"times\": [").unwrap();
    let err = collect(BenchFormat::Criterion, "", Some(&root))
        .unwrap_err()
        .to_string();
    assert!(err.contains(&sample.display().to_string()), "{err}");
    assert!(err.contains(":2:"), "line number expected: {err}");

    std::fs::write(&sample, "{\"iters\": [1.0], \"times\": \"soon\"}").unwrap();
    let err = collect(BenchFormat::Criterion, "", Some(&root))
        .unwrap_err()
        .to_string();
    assert!(err.contains("`times`"), "{err}");

    std::fs::write(&sample, "").unwrap();
    assert!(collect(BenchFormat::Criterion, "", Some(&root)).is_err());
}

#[test]
fn libtest_real_nightly_output() {
    let collected = collect(
        BenchFormat::Libtest,
        &read("libtest/nightly.stdout.txt"),
        None,
    )
    .unwrap();
    assert_eq!(
        values(&collected),
        vec![
            ("benches::fib_20", "ns/iter", 92_361.24),
            ("benches::tiny", "ns/iter", 0.69),
            ("parse::benches::big", "ns/iter", 1_970_348.90),
            ("parse::benches::small", "ns/iter", 135.38),
        ]
    );
}

#[test]
fn libtest_edge_cases_from_a_file() {
    let path = fixture("libtest/edge.txt");
    // With `bench.output` set, the file wins over stdout.
    let collected = collect(BenchFormat::Libtest, "ignored", Some(&path)).unwrap();
    assert_eq!(
        values(&collected),
        vec![
            ("decode::utf8", "ns/iter", 7.0),
            ("decode::big", "ns/iter", 1_234_567.89),
            ("encode::small", "ns/iter", 0.25),
        ]
    );
}

#[test]
fn json_action_benchmark_and_bencher_files() {
    let collected = collect(
        BenchFormat::Json,
        "",
        Some(&fixture("json/action-benchmark.json")),
    )
    .unwrap();
    assert_eq!(
        values(&collected),
        vec![
            ("parse/big", "ns/iter", 1234.5),
            ("peak heap", "bytes", 20480.0)
        ]
    );
    let collected = collect(BenchFormat::Json, "", Some(&fixture("json/bencher.json"))).unwrap();
    assert_eq!(
        values(&collected),
        vec![
            ("parse::big", "ns", 1234.5),
            ("parse::instr", "ns", 42.0),
            ("alloc::count (allocations)", "allocations", 17.0),
        ]
    );
}

#[test]
fn json_from_stdout() {
    let text = read("json/action-benchmark.json");
    let collected = collect(BenchFormat::Json, &text, None).unwrap();
    assert_eq!(collected.values.len(), 2);
}

#[test]
fn json_empty_missing_and_invalid_files() {
    let empty = fixture("json/empty.json");
    let err = collect(BenchFormat::Json, "", Some(&empty))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no json benchmark results") && err.contains("empty.json"),
        "{err}"
    );

    let missing = fixture("json/missing.json");
    let err = collect(BenchFormat::Json, "", Some(&missing))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot read") && err.contains("missing.json"),
        "{err}"
    );

    let invalid = fixture("json/invalid.json");
    let err = collect(BenchFormat::Json, "", Some(&invalid))
        .unwrap_err()
        .to_string();
    assert!(err.contains("invalid.json:2:"), "{err}");

    let err = collect(BenchFormat::Json, "", Some(&fixture("json")))
        .unwrap_err()
        .to_string();
    assert!(err.contains("is a directory"), "{err}");
}

#[test]
fn gungraun_real_json_lines_first_and_second_run() {
    // First run: `values: {"new": n}`; second run adds `old` and `change`. Both read "new".
    for file in [
        "gungraun/gungraun-0.20-first-run.jsonl",
        "gungraun/gungraun-0.20-second-run.jsonl",
    ] {
        let collected = collect(BenchFormat::Gungraun, &read(file), None).unwrap();
        assert!(collected.warnings.is_empty(), "{:?}", collected.warnings);
        assert_eq!(
            values(&collected),
            vec![
                (
                    "gg_bench::fib_group::bench_fib short",
                    "instructions",
                    1802.0
                ),
                (
                    "gg_bench::fib_group::bench_fib long",
                    "instructions",
                    221_505.0
                ),
                ("gg_bench::fib_group::bench_vec", "instructions", 2061.0),
            ],
            "{file}"
        );
    }
}

#[test]
fn iai_callgrind_older_layouts() {
    let collected = collect(
        BenchFormat::Gungraun,
        &read("gungraun/iai-callgrind-handwritten.jsonl"),
        None,
    )
    .unwrap();
    assert_eq!(
        values(&collected),
        vec![
            ("b::group::bench_parse small", "instructions", 12345.0),
            ("b::group::bench_build", "instructions", 777.0),
            ("old::bench_sum big", "instructions", 4242.0),
        ]
    );
}

#[test]
fn gungraun_truncated_line_is_an_error_with_its_line() {
    let mut text = read("gungraun/gungraun-0.20-second-run.jsonl");
    text.truncate(text.len() - 40);
    let err = collect(BenchFormat::Gungraun, &text, None)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("bench command stdout:3:"), "{err}");
}

#[test]
fn divan_real_output_of_two_bench_targets() {
    let collected = collect(
        BenchFormat::Divan,
        &read("divan-0.1/cargo-bench.stdout.txt"),
        None,
    )
    .unwrap();
    assert!(collected.warnings.is_empty(), "{:?}", collected.warnings);
    let got = values(&collected);
    let expected = [
        ("bytes::checksum", 2042.0),
        ("bytes::to_upper::a much longer line of text", 23.5),
        ("bytes::to_upper::short text", 22.26),
        ("parse::add", 0.577),
        ("parse::sum::1", 3.409),
        ("parse::sum::10", 3.427),
        ("parse::sum::100", 3.428),
        ("parse::collect::BTreeSet<u64>", 330.5),
        ("parse::collect::Vec<u64>", 34.33),
        ("parse::strings::upper", 39.8),
        ("parse::strings::repeat::8", 41.99),
        ("parse::strings::repeat::64", 56.22),
    ];
    assert_eq!(got.len(), expected.len(), "{got:?}");
    for ((name, unit, value), (want_name, want_value)) in got.iter().zip(expected) {
        assert_eq!(*name, want_name);
        assert_eq!(*unit, "ns/iter");
        assert_close(*value, want_value);
    }
}

#[test]
fn divan_list_output_has_no_medians_and_names_the_line() {
    let err = collect(BenchFormat::Divan, &read("divan-0.1/list.stdout.txt"), None).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, AdapterError::Parse { line: 2, .. }), "{text}");
    assert!(
        text.starts_with("bench command stdout:2: divan's benchmark tree without its table"),
        "{text}"
    );
}

#[test]
fn divan_with_no_output_says_where_it_looked() {
    let err = collect(BenchFormat::Divan, "running 0 tests\n", None).unwrap_err();
    assert!(
        err.to_string()
            .contains("no divan benchmark results found in bench command stdout"),
        "{err}"
    );
}
