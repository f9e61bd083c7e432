//! criterion's output directory: `<output>/group/bench/new/{benchmark,sample,estimates}.json`
//! written from the input, then collected: `Ok` with finite values, or `Err`.
//!
//! Input: `benchmark.json NUL sample.json NUL estimates.json`; a file is absent when its part
//! is empty or missing, so the estimates fallback and missing-file paths are reached too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perf_fixer_bench::collect;
use perf_fixer_core::config::BenchFormat;

const FILES: [&str; 3] = ["benchmark.json", "sample.json", "estimates.json"];

fuzz_target!(|data: &[u8]| {
    let root = perf_fixer_fuzz::fresh_path("criterion");
    let new = root.join("group").join("bench").join("new");
    std::fs::create_dir_all(&new).unwrap_or_else(|e| panic!("cannot create {new:?}: {e}"));
    for (name, content) in FILES.iter().zip(perf_fixer_fuzz::split_files(data, FILES.len())) {
        if content.is_empty() {
            continue;
        }
        let path = new.join(name);
        std::fs::write(&path, content).unwrap_or_else(|e| panic!("cannot write {path:?}: {e}"));
    }
    match collect(BenchFormat::Criterion, "", Some(&root)) {
        Ok(collected) => {
            perf_fixer_fuzz::check_collected(&collected);
            assert_eq!(collected.values.len(), 1, "one benchmark directory: {collected:?}");
        }
        Err(err) => {
            std::hint::black_box(err.to_string());
        }
    }
});
