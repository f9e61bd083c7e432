//! Benchmark output adapters: one run of the bench command in, one value per benchmark out.
//!
//! Every adapter reduces whatever its tool wrote to a single figure per benchmark per run
//! (lower is better), so that runs of base and head can be compared pair by pair.

mod criterion;
mod divan;
mod gungraun;
mod json;
mod libtest;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use perf_fixer_core::config::BenchFormat;
use perf_fixer_core::sample::BenchValue;

/// What one run of the bench command yielded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Collected {
    pub values: Vec<BenchValue>,
    /// Things the user should know but that did not stop parsing (duplicate names, skipped
    /// directories, converted units). Shown once per side, not per run.
    pub warnings: Vec<String>,
    /// Per benchmark, the samples the harness itself took within this run (criterion's
    /// per-iteration times), when it reports them: one run then tells more than one value.
    pub within_run: BTreeMap<String, Vec<f64>>,
}

/// Why a run's output could not be turned into values. Each message names where perf-fixer
/// looked (file, line, key) and what the user can do about it.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot remove stale results at {}: {source}; remove them by hand or fix `bench.output`",
        path.display()
    )]
    Cleanup {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no {format} benchmark results found in {looked}; {hint}")]
    NoResults {
        format: &'static str,
        looked: String,
        hint: &'static str,
    },
    #[error("{origin}:{line}: {message}")]
    Parse {
        /// The file, or `bench command stdout`.
        origin: String,
        /// 1-based line number.
        line: usize,
        message: String,
    },
    #[error("{origin}: missing or invalid key `{key}`: {message}")]
    Key {
        origin: String,
        key: String,
        message: String,
    },
    #[error("`bench.output` = {} {problem}; {hint}", path.display())]
    BadOutput {
        path: PathBuf,
        problem: &'static str,
        hint: &'static str,
    },
}

/// Human name of a format, as written in `.perf-fixer.toml`.
fn format_name(format: BenchFormat) -> &'static str {
    format.as_str()
}

/// What a parse error calls text that came from the bench command's standard output.
pub(crate) const STDOUT: &str = "bench command stdout";

/// Remove results of a previous run so a run never reads stale files (criterion dir, json file).
///
/// Only files the tool itself writes are removed: for criterion the `new/` directory of each
/// benchmark (never the whole `bench.output` tree, in case it points somewhere precious); for
/// the other formats the output file, when it is a regular file.
pub fn prepare(format: BenchFormat, output: Option<&Path>) -> Result<(), AdapterError> {
    let Some(output) = output else {
        return Ok(());
    };
    match format {
        BenchFormat::Criterion => criterion::remove_stale(output),
        BenchFormat::Gungraun | BenchFormat::Libtest | BenchFormat::Divan | BenchFormat::Json => {
            remove_stale_file(output)
        }
    }
}

/// Parse one run: `stdout` of the bench command, `output` the absolute path from config (if any).
pub fn collect(
    format: BenchFormat,
    stdout: &str,
    output: Option<&Path>,
) -> Result<Collected, AdapterError> {
    let mut collected = match format {
        BenchFormat::Criterion => match output {
            Some(dir) => criterion::collect_dir(dir)?,
            None => criterion::collect_stdout(stdout)?,
        },
        BenchFormat::Gungraun => with_text(stdout, output, gungraun::parse)?,
        BenchFormat::Libtest => with_text(stdout, output, libtest::parse)?,
        BenchFormat::Divan => with_text(stdout, output, divan::parse)?,
        BenchFormat::Json => with_text(stdout, output, json::parse)?,
    };
    if collected.values.is_empty() {
        let looked = match output {
            Some(path) => path.display().to_string(),
            None => STDOUT.to_owned(),
        };
        return Err(AdapterError::NoResults {
            format: format_name(format),
            looked,
            hint: no_results_hint(format),
        });
    }
    drop_duplicates(&mut collected);
    Ok(collected)
}

fn no_results_hint(format: BenchFormat) -> &'static str {
    match format {
        BenchFormat::Criterion => {
            "check that `bench.command` runs criterion benchmarks and that `bench.output` is \
             criterion's output directory (usually target/criterion)"
        }
        BenchFormat::Gungraun => {
            "check that `bench.command` passes `--output-format=json` to the gungraun / \
             iai-callgrind benchmarks"
        }
        BenchFormat::Libtest => {
            "check that `bench.command` runs `#[bench]` functions (cargo +nightly bench) and \
             that their `test ... bench:` lines reach stdout"
        }
        BenchFormat::Divan => {
            "check that `bench.command` runs divan benchmarks (`divan::main()` in a bench target \
             with `harness = false`) and that divan's table reaches stdout"
        }
        BenchFormat::Json => {
            "check that `bench.command` writes a github-action-benchmark array or Bencher \
             Metric Format object to `bench.output` (or stdout when unset)"
        }
    }
}

/// Text-based formats read `output` when it is set (the command redirects there), else stdout.
fn with_text(
    stdout: &str,
    output: Option<&Path>,
    parse: fn(&str, &str) -> Result<Collected, AdapterError>,
) -> Result<Collected, AdapterError> {
    match output {
        Some(path) => {
            if path.is_dir() {
                return Err(AdapterError::BadOutput {
                    path: path.to_owned(),
                    problem: "is a directory",
                    hint: "for this format `bench.output` must name the file the command writes",
                });
            }
            let text = std::fs::read_to_string(path).map_err(|source| AdapterError::Io {
                path: path.to_owned(),
                source,
            })?;
            parse(&text, &path.display().to_string())
        }
        None => parse(stdout, STDOUT),
    }
}

fn remove_stale_file(path: &Path) -> Result<(), AdapterError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => {
            std::fs::remove_file(path).map_err(|source| AdapterError::Cleanup {
                path: path.to_owned(),
                source,
            })
        }
        Ok(_) => Err(AdapterError::BadOutput {
            path: path.to_owned(),
            problem: "exists but is not a regular file",
            hint: "for this format `bench.output` must name the file the command writes",
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(AdapterError::Cleanup {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Two results under one name would be compared against each other's history: keep the first
/// and say so.
fn drop_duplicates(collected: &mut Collected) {
    let mut seen = HashSet::new();
    let mut duplicates = Vec::new();
    collected.values.retain(|value| {
        let fresh = seen.insert(value.name.clone());
        if !fresh {
            duplicates.push(value.name.clone());
        }
        fresh
    });
    for name in duplicates {
        collected.warnings.push(format!(
            "benchmark `{name}` was reported more than once in one run; only the first value is used"
        ));
    }
}

/// Parse a number as tools print it: `1,234.56`, `1_234`, `12`.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let cleaned: String = text.chars().filter(|c| *c != ',' && *c != '_').collect();
    let value: f64 = cleaned.parse().ok()?;
    value.is_finite().then_some(value)
}

/// Median of a non-empty slice (sorted copy; NaN never reaches here).
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn numbers_with_separators() {
        assert_eq!(parse_number("1,234.56"), Some(1234.56));
        assert_eq!(parse_number("1_000"), Some(1000.0));
        assert_eq!(parse_number("abc"), None);
        assert_eq!(parse_number("inf"), None);
    }

    #[test]
    fn median_odd_and_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn duplicates_are_dropped_with_a_warning() {
        let value = |name: &str, v| BenchValue {
            name: name.into(),
            unit: "ns/iter".into(),
            value: v,
        };
        let mut collected = Collected {
            values: vec![value("a", 1.0), value("b", 2.0), value("a", 3.0)],
            ..Collected::default()
        };
        drop_duplicates(&mut collected);
        assert_eq!(collected.values.len(), 2);
        assert_eq!(collected.values[0].value, 1.0);
        assert!(collected.warnings[0].contains("`a`"));
    }

    #[test]
    fn prepare_removes_a_json_file_but_refuses_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.json");
        std::fs::write(&file, "[]").unwrap();
        prepare(BenchFormat::Json, Some(&file)).unwrap();
        assert!(!file.exists());
        // Missing is fine: the first run has nothing to remove.
        prepare(BenchFormat::Json, Some(&file)).unwrap();
        let err = prepare(BenchFormat::Json, Some(dir.path())).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        assert!(dir.path().exists());
    }

    #[test]
    fn no_results_names_where_it_looked() {
        let err = collect(BenchFormat::Libtest, "running 0 tests\n", None).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("no libtest benchmark results found in bench command stdout"));
        let dir = tempfile::tempdir().unwrap();
        let err = collect(BenchFormat::Criterion, "", Some(dir.path())).unwrap_err();
        assert!(
            err.to_string().contains(&dir.path().display().to_string()),
            "{err}"
        );
    }
}
