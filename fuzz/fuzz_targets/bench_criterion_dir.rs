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
    // The directories stay from one input to the next; only the files are replaced.
    let root = perf_fixer_fuzz::scratch_dir().join("criterion");
    let new = root.join("group").join("bench").join("new");
    std::fs::create_dir_all(&new).unwrap_or_else(|e| panic!("cannot create {new:?}: {e}"));
    let parts = perf_fixer_fuzz::split_files(data, FILES.len());
    for (i, name) in FILES.iter().enumerate() {
        let path = new.join(name);
        match parts.get(i).filter(|content| !content.is_empty()) {
            Some(content) => std::fs::write(&path, content),
            None => std::fs::remove_file(&path).or_else(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            }),
        }
        .unwrap_or_else(|e| panic!("cannot write {path:?}: {e}"));
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
