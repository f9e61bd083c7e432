//! `parse_event` on any `X-GitHub-Event` header and body: `Ok` or `Err`, never a panic.
//!
//! Input: the event name on the first line, the raw body after it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perf_fixer_github::event::parse_event;

fuzz_target!(|data: &[u8]| {
    let (name, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let name = String::from_utf8_lossy(name);
    match parse_event(&name, body) {
        Ok(event) => {
            std::hint::black_box(event.installation_id());
        }
        Err(err) => {
            // Messages are shown to users and logged: rendering them must not panic either.
            std::hint::black_box(err.to_string());
        }
    }
});
