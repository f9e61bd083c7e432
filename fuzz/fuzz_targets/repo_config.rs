//! `.perf-fixer.toml`: `RepoConfig::parse` returns `Ok` or an error naming the file, never a
//! panic, on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perf_fixer_core::config::RepoConfig;

const FILE: &str = ".perf-fixer.toml at fuzz";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match RepoConfig::parse(text, FILE) {
        Ok(config) => {
            std::hint::black_box(config);
        }
        Err(err) => {
            let message = err.to_string();
            assert!(message.contains(FILE), "error does not name the file: {message}");
            if let Some(line) = err.line {
                let lines = text.split('\n').count();
                assert!((1..=lines).contains(&line), "line {line} of {lines}: {message}");
            }
            if let Some(column) = err.column {
                assert!(column >= 1, "column {column}: {message}");
            }
        }
    }
});
