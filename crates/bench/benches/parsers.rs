//! Cost of turning one run's output into values, per adapter, on captured real output.
//! The engine parses once per run (tens of runs per job), so anything under a millisecond is
//! noise next to the benchmarks themselves; these figures guard against accidental blow-ups.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use perf_fixer_bench::collect;
use perf_fixer_bench::profile::{diff_profiles, parse_callgrind, parse_perf_script};
use perf_fixer_core::config::BenchFormat;

fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}

/// `n` copies of the captured lines with distinct names, as a big suite would print.
fn repeated(text: &str, n: usize, rename: impl Fn(&str, usize) -> String) -> String {
    (0..n)
        .map(|i| rename(text, i))
        .collect::<Vec<_>>()
        .join("\n")
}

fn parsers(c: &mut Criterion) {
    let criterion_dir = fixture("criterion-0.8");
    c.bench_function("criterion dir (4 benchmarks)", |b| {
        b.iter(|| collect(BenchFormat::Criterion, "", Some(black_box(&criterion_dir))).unwrap())
    });

    let libtest = std::fs::read_to_string(fixture("libtest/nightly.stdout.txt")).unwrap();
    let libtest_big = repeated(&libtest, 50, |t, i| {
        t.replace("test ", &format!("test m{i}::"))
    });
    c.bench_function("libtest stdout (200 benchmarks)", |b| {
        b.iter(|| collect(BenchFormat::Libtest, black_box(&libtest_big), None).unwrap())
    });

    let gungraun =
        std::fs::read_to_string(fixture("gungraun/gungraun-0.20-second-run.jsonl")).unwrap();
    let gungraun_big = repeated(&gungraun, 33, |t, i| {
        t.replace(
            "\"module_path\":\"gg_bench",
            &format!("\"module_path\":\"m{i}"),
        )
    });
    c.bench_function("gungraun json lines (99 benchmarks)", |b| {
        b.iter(|| collect(BenchFormat::Gungraun, black_box(&gungraun_big), None).unwrap())
    });

    let action: String = format!(
        "[{}]",
        (0..200)
            .map(|i| format!(
                r#"{{"name": "bench {i}", "unit": "ns/iter", "value": {i}.5, "range": "± 3"}}"#
            ))
            .collect::<Vec<_>>()
            .join(",")
    );
    c.bench_function("json github-action-benchmark (200 entries)", |b| {
        b.iter(|| collect(BenchFormat::Json, black_box(&action), None).unwrap())
    });

    let bencher: String = format!(
        "{{{}}}",
        (0..200)
            .map(|i| format!(
                r#""bench {i}": {{"latency": {{"value": {i}.5, "lower_value": 1.0, "upper_value": 2.0}}}}"#
            ))
            .collect::<Vec<_>>()
            .join(",")
    );
    c.bench_function("json bencher metric format (200 entries)", |b| {
        b.iter(|| collect(BenchFormat::Json, black_box(&bencher), None).unwrap())
    });
}

fn profiles(c: &mut Criterion) {
    let callgrind = std::fs::read_to_string(fixture("profile/callgrind.after.out")).unwrap();
    c.bench_function("callgrind profile (139 KB, 370 functions)", |b| {
        b.iter(|| parse_callgrind(black_box(&callgrind)).unwrap())
    });
    let perf = std::fs::read_to_string(fixture("profile/perf.after.txt")).unwrap();
    c.bench_function("perf script profile (860 KB, 200 samples)", |b| {
        b.iter(|| parse_perf_script(black_box(&perf)).unwrap())
    });
    let before =
        parse_callgrind(&std::fs::read_to_string(fixture("profile/callgrind.before.out")).unwrap())
            .unwrap();
    let after = parse_callgrind(&callgrind).unwrap();
    c.bench_function("attribute to crate + diff (callgrind pair)", |b| {
        b.iter(|| {
            diff_profiles(
                &black_box(&before).attributed_to("prof"),
                &black_box(&after).attributed_to("prof"),
            )
        })
    });
}

criterion_group!(benches, parsers, profiles);
criterion_main!(benches);
