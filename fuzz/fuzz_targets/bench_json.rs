//! github-action-benchmark / Bencher Metric Format JSON, read from the `bench.output` file
//! (and from stdout, when `bench.output` is unset): `Ok` with finite values, or `Err`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perf_fixer_bench::collect;
use perf_fixer_core::config::BenchFormat;

fuzz_target!(|data: &[u8]| {
    let path = perf_fixer_fuzz::fresh_path("bench.json");
    std::fs::write(&path, data).unwrap_or_else(|e| panic!("cannot write {path:?}: {e}"));
    let from_file = collect(BenchFormat::Json, "", Some(&path));
    match &from_file {
        Ok(collected) => perf_fixer_fuzz::check_collected(collected),
        Err(err) => {
            std::hint::black_box(err.to_string());
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let from_stdout = collect(BenchFormat::Json, text, None);
        match &from_stdout {
            Ok(collected) => perf_fixer_fuzz::check_collected(collected),
            Err(err) => {
                std::hint::black_box(err.to_string());
            }
        }
        // Where the text came from changes only error labels, never the values.
        if let (Ok(a), Ok(b)) = (&from_file, &from_stdout) {
            assert_eq!(a.values, b.values);
        }
        assert_eq!(from_file.is_ok(), from_stdout.is_ok());
    }
});
