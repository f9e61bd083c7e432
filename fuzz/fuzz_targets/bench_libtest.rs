//! The libtest adapter on any bench command stdout: `Ok` with finite values, or `Err`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perf_fixer_bench::collect;
use perf_fixer_core::config::BenchFormat;

fuzz_target!(|data: &[u8]| {
    let stdout = String::from_utf8_lossy(data);
    match collect(BenchFormat::Libtest, &stdout, None) {
        Ok(collected) => perf_fixer_fuzz::check_collected(&collected),
        Err(err) => {
            std::hint::black_box(err.to_string());
        }
    }
});
