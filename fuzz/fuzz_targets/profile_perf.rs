//! `parse_perf_script` on any text: `Ok` with a consistent profile that diffing and attribution can
//! read, or `Err`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perf_fixer_bench::profile::parse_perf_script;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse_perf_script(&text) {
        Ok(profile) => perf_fixer_fuzz::check_profile(&profile),
        Err(err) => {
            std::hint::black_box(err.to_string());
        }
    }
});
