//! libtest's `#[bench]` lines (`cargo +nightly bench`):
//! `test parse::big ... bench:       1,234.56 ns/iter (+/- 12) = 123 MB/s`.

use std::sync::LazyLock;

use perf_fixer_core::sample::BenchValue;
use regex::Regex;

use super::{AdapterError, Collected, parse_number};

// Older toolchains print integers (`1,234 ns/iter`), newer ones decimals (`1,234.56`); the
// throughput suffix appears when the bench sets `b.bytes`.
static BENCH_LINE: LazyLock<Result<Regex, regex::Error>> = LazyLock::new(|| {
    Regex::new(
        r"^test\s+(?P<name>\S+)\s+\.\.\.\s+bench:\s+(?P<value>[0-9][0-9,_]*(?:\.[0-9]+)?)\s+ns/iter\s+\(\+/-\s+(?P<dev>[0-9][0-9,_]*(?:\.[0-9]+)?)\)(?:\s+=\s+(?P<rate>[0-9][0-9,_]*(?:\.[0-9]+)?)\s+(?P<rate_unit>\S+))?\s*$",
    )
});

pub(super) fn parse(text: &str, origin: &str) -> Result<Collected, AdapterError> {
    let pattern = BENCH_LINE.as_ref().map_err(|err| AdapterError::Parse {
        origin: origin.to_owned(),
        line: 0,
        message: format!("internal pattern error: {err}"),
    })?;
    let mut collected = Collected::default();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        // Only result lines matter; `test x ... ok`, `running N tests` and the summary are
        // skipped. A `bench:` line we cannot read is an error, never a silent skip.
        if !(line.starts_with("test ") && line.contains(" bench:")) {
            continue;
        }
        let parse_error = |message: String| AdapterError::Parse {
            origin: origin.to_owned(),
            line: index + 1,
            message,
        };
        let captures = pattern.captures(line).ok_or_else(|| {
            parse_error(format!(
                "unrecognised libtest bench line `{line}`; expected \
                 `test NAME ... bench: N ns/iter (+/- D)`"
            ))
        })?;
        let value = parse_number(&captures["value"])
            .ok_or_else(|| parse_error(format!("bad number `{}`", &captures["value"])))?;
        collected.values.push(BenchValue {
            name: captures["name"].to_owned(),
            unit: "ns/iter".to_owned(),
            value,
        });
    }
    Ok(collected)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn commas_decimals_and_throughput() {
        let text = "\
running 3 tests
test parse::big   ... bench:       1,234.56 ns/iter (+/- 12)
test parse::small ... bench:          42 ns/iter (+/- 3) = 1523 MB/s
test other        ... bench:   1,000,000 ns/iter (+/- 1,234.5) = 1,024.5 MB/s
test normal_test ... ok

test result: ok. 0 passed; 0 failed; 1 ignored; 3 measured; 0 filtered out
";
        let collected = parse(text, "stdout").unwrap();
        let got: Vec<_> = collected
            .values
            .iter()
            .map(|v| (v.name.as_str(), v.value))
            .collect();
        assert_eq!(
            got,
            vec![
                ("parse::big", 1234.56),
                ("parse::small", 42.0),
                ("other", 1_000_000.0)
            ]
        );
        assert!(collected.values.iter().all(|v| v.unit == "ns/iter"));
    }

    #[test]
    fn crlf_line_endings() {
        let collected = parse("test a ... bench: 5 ns/iter (+/- 1)\r\n", "x").unwrap();
        assert_eq!(collected.values[0].value, 5.0);
    }

    #[test]
    fn malformed_bench_line_names_the_line() {
        let text = "running 1 test\ntest a ... bench: fast ns/iter\n";
        let err = parse(text, "out.txt").unwrap_err().to_string();
        assert!(err.starts_with("out.txt:2:"), "{err}");
    }
}
