//! `/perf-fix` comment parsing: any comment body yields results, never a panic, and every
//! error renders to a message that can be posted back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perf_fixer_github::command::{Command, parse_commands};

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    let results = parse_commands(&body);
    for result in results {
        match result {
            Ok(Command::Run {
                bench_filter: Some(filter),
            }) => {
                assert!(!filter.is_empty(), "an empty bench filter was accepted");
                assert!(!filter.contains('\n'), "a bench filter spans lines: {filter:?}");
            }
            Ok(command) => {
                std::hint::black_box(command.name());
            }
            Err(err) => {
                std::hint::black_box(err.to_string());
            }
        }
    }
});
