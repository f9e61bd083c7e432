//! The rewrite catalogue on any source: `candidates` never panics, and each rewrite it
//! returns changes the source, applies alone through `apply_all` to exactly its
//! `new_source`, and names lines inside the file.
//!
//! Input: two bytes choosing a suspect span (first line, length in lines), then the source.
//! Each input is tried with that span and with the whole file as suspect.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perf_fixer_rewrite::{Span, apply_all, candidates};

fuzz_target!(|data: &[u8]| {
    let (span_bytes, source) = data.split_at(data.len().min(2));
    let Ok(source) = std::str::from_utf8(source) else {
        return;
    };
    let start = u32::from(span_bytes.first().copied().unwrap_or(1)).max(1);
    let len = u32::from(span_bytes.get(1).copied().unwrap_or(0));
    let line_count = u32::try_from(source.split('\n').count()).unwrap_or(u32::MAX);
    for spans in [
        vec![Span::new(start, start.saturating_add(len))],
        vec![Span::new(1, u32::MAX)],
    ] {
        let Ok(rewrites) = candidates(source, &spans) else {
            continue;
        };
        for rewrite in &rewrites {
            assert_ne!(rewrite.new_source, source, "{} changed nothing", rewrite.rule);
            assert!(
                1 <= rewrite.start_line
                    && rewrite.start_line <= rewrite.end_line
                    && rewrite.end_line <= line_count,
                "{} names lines {}-{} of {line_count}",
                rewrite.rule,
                rewrite.start_line,
                rewrite.end_line
            );
            assert_eq!(
                apply_all(source, &[rewrite]).as_deref(),
                Ok(rewrite.new_source.as_str()),
                "{} does not apply alone",
                rewrite.rule
            );
        }
    }
});
