//! Cost of the statistics on 2 x 100 runs (a long session): the whole comparison (bootstrap
//! with the default resamples, rank test, verdict), the rank test alone, one side's summary.

use criterion::{Criterion, criterion_group, criterion_main};
use perf_fixer_core::stats::{DecisionParams, compare, mann_whitney_p, summarize};
use std::hint::black_box;

/// Deterministic, distinct, noisy-looking values around `mean` (no RNG dependency).
fn samples(n: usize, mean: f64, phase: f64) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let x = i as f64 + phase;
            mean * (1.0 + 0.03 * (x * 1.7).sin() + 0.01 * (x * 0.31).cos())
        })
        .collect()
}

fn bench_stats(c: &mut Criterion) {
    let base = samples(100, 100.0, 0.0);
    let head = samples(100, 110.0, 0.5);
    let params = DecisionParams::default();

    c.bench_function("compare_2x100_default_resamples", |b| {
        b.iter(|| compare(black_box(&base), black_box(&head), black_box(&params)))
    });
    c.bench_function("mann_whitney_2x100", |b| {
        b.iter(|| mann_whitney_p(black_box(&base), black_box(&head)))
    });
    c.bench_function("summarize_100", |b| {
        b.iter(|| summarize(black_box(&base), black_box(&params)))
    });
    let small_base = samples(6, 100.0, 0.0);
    let small_head = samples(6, 110.0, 0.5);
    c.bench_function("compare_2x6_default_resamples", |b| {
        b.iter(|| {
            compare(
                black_box(&small_base),
                black_box(&small_head),
                black_box(&params),
            )
        })
    });
    c.bench_function("mann_whitney_exact_2x20", |b| {
        let (a, h) = (samples(20, 100.0, 0.0), samples(20, 101.0, 0.25));
        b.iter(|| mann_whitney_p(black_box(&a), black_box(&h)))
    });
}

criterion_group!(benches, bench_stats);
criterion_main!(benches);
