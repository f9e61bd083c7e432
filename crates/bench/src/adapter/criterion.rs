//! criterion: `<output>/<id...>/new/{benchmark.json, estimates.json, sample.json}`.
//!
//! Group, function and value ids nest directories, so the output tree is walked and every
//! directory holding `new/benchmark.json` is one benchmark. Key spellings differ between
//! criterion versions (`full_id` / `FullId`, `median` / `Median`, `point_estimate` /
//! `PointEstimate`), so keys are matched ignoring case and underscores.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use perf_fixer_core::sample::BenchValue;
use regex::Regex;
use serde_json::Value;

use super::{AdapterError, Collected, STDOUT, median};

const UNIT: &str = "ns/iter";

/// Directories criterion writes beside `new/` (and its HTML report) that never hold a current
/// result.
const NOT_BENCHMARKS: &[&str] = &["report", "base", "change", "new"];

/// A criterion throughput declaration (`{"Bytes": 600}`, `{"Elements": 10}`, ...). Parsed so
/// that a malformed one is reported, and kept for callers that want to show rates.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Throughput {
    pub kind: String,
    pub per_iteration: f64,
}

pub(super) fn collect_dir(root: &Path) -> Result<Collected, AdapterError> {
    if !root.exists() {
        return Err(AdapterError::NoResults {
            format: "criterion",
            looked: format!("{} (the directory does not exist)", root.display()),
            hint: "check that `bench.command` runs criterion benchmarks and that `bench.output` \
                   is criterion's output directory (usually target/criterion)",
        });
    }
    if !root.is_dir() {
        return Err(AdapterError::BadOutput {
            path: root.to_owned(),
            problem: "is not a directory",
            hint: "for criterion `bench.output` is its output directory (usually target/criterion)",
        });
    }
    let mut bench_dirs = Vec::new();
    find_benchmark_dirs(root, &mut bench_dirs)?;
    // Directory order is file-system order; sort so that runs list benchmarks alike.
    bench_dirs.sort();
    let mut collected = Collected::default();
    for dir in bench_dirs {
        let (value, within_run) = read_benchmark(root, &dir.join("new"), &mut collected.warnings)?;
        if let Some(samples) = within_run {
            collected.within_run.insert(value.name.clone(), samples);
        }
        collected.values.push(value);
    }
    Ok(collected)
}

/// Remove every `new/` result directory so that a benchmark deleted (or failing) in this run
/// cannot be read from an earlier one. `base/` and reports are left alone.
pub(super) fn remove_stale(root: &Path) -> Result<(), AdapterError> {
    if !root.exists() {
        return Ok(());
    }
    if !root.is_dir() {
        return Err(AdapterError::BadOutput {
            path: root.to_owned(),
            problem: "is not a directory",
            hint: "for criterion `bench.output` is its output directory (usually target/criterion)",
        });
    }
    let mut bench_dirs = Vec::new();
    find_benchmark_dirs(root, &mut bench_dirs)?;
    for dir in bench_dirs {
        let new = dir.join("new");
        std::fs::remove_dir_all(&new)
            .map_err(|source| AdapterError::Cleanup { path: new, source })?;
    }
    Ok(())
}

fn find_benchmark_dirs(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), AdapterError> {
    if dir.join("new").join("benchmark.json").is_file() {
        found.push(dir.to_owned());
    }
    let entries = std::fs::read_dir(dir).map_err(|source| AdapterError::Io {
        path: dir.to_owned(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| AdapterError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let file_type = entry.file_type().map_err(|source| AdapterError::Io {
            path: entry.path(),
            source,
        })?;
        // Symlinks are not followed: a loop must not hang a run.
        if !file_type.is_dir() {
            continue;
        }
        let name = entry.file_name();
        if NOT_BENCHMARKS.iter().any(|skip| name == *skip) {
            continue;
        }
        find_benchmark_dirs(&entry.path(), found)?;
    }
    Ok(())
}

/// Keys compared without case or underscores: `full_id` == `FullId` == `fullid`.
fn normalized(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    let wanted = normalized(key);
    value
        .as_object()?
        .iter()
        .find(|(k, _)| normalized(k) == wanted)
        .map(|(_, v)| v)
}

fn read_json(path: &Path) -> Result<Value, AdapterError> {
    let text = std::fs::read_to_string(path).map_err(|source| AdapterError::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|err| AdapterError::Parse {
        origin: path.display().to_string(),
        line: err.line().max(1),
        message: format!("not valid criterion JSON: {err}"),
    })
}

fn key_error(path: &Path, key: &str, message: &str) -> AdapterError {
    AdapterError::Key {
        origin: path.display().to_string(),
        key: key.to_owned(),
        message: message.to_owned(),
    }
}

/// One benchmark's value and, when `sample.json` has them, its per-iteration times of the run.
fn read_benchmark(
    root: &Path,
    new: &Path,
    warnings: &mut Vec<String>,
) -> Result<(BenchValue, Option<Vec<f64>>), AdapterError> {
    let benchmark_path = new.join("benchmark.json");
    let benchmark = read_json(&benchmark_path)?;
    let name = benchmark_name(&benchmark).unwrap_or_else(|| {
        let relative = new
            .parent()
            .and_then(|dir| dir.strip_prefix(root).ok())
            .map(|dir| dir.display().to_string())
            .unwrap_or_default();
        warnings.push(format!(
            "{} has no `full_id`; the benchmark is named after its directory `{relative}`",
            benchmark_path.display()
        ));
        relative
    });
    throughput(&benchmark, &benchmark_path)?;

    let sample_path = new.join("sample.json");
    if sample_path.is_file() {
        let sample = read_json(&sample_path)?;
        let per_iteration = per_iteration(&sample, &sample_path)?;
        if let Some(value) = median(&per_iteration) {
            let value = BenchValue {
                name,
                unit: UNIT.to_owned(),
                value,
            };
            return Ok((value, Some(per_iteration)));
        }
    }
    let estimates_path = new.join("estimates.json");
    if !estimates_path.is_file() {
        return Err(AdapterError::NoResults {
            format: "criterion",
            looked: format!(
                "{} (no usable sample.json nor estimates.json)",
                new.display()
            ),
            hint: "the benchmark did not finish; check the bench command's output for a panic",
        });
    }
    let estimates = read_json(&estimates_path)?;
    let value = get(&estimates, "median")
        .and_then(|median| get(median, "point_estimate"))
        .and_then(Value::as_f64)
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            key_error(
                &estimates_path,
                "median.point_estimate",
                "expected a finite number",
            )
        })?;
    warnings.push(format!(
        "{}: no per-iteration samples; using the median estimate of estimates.json",
        new.display()
    ));
    let value = BenchValue {
        name,
        unit: UNIT.to_owned(),
        value,
    };
    Ok((value, None))
}

fn benchmark_name(benchmark: &Value) -> Option<String> {
    let text = |key: &str| {
        get(benchmark, key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    text("full_id").or_else(|| text("title")).or_else(|| {
        let parts: Vec<String> = ["group_id", "function_id", "value_str"]
            .iter()
            .filter_map(|key| text(key))
            .collect();
        (!parts.is_empty()).then(|| parts.join("/"))
    })
}

/// `throughput` is `null`, or an object with one kind (`Bytes`, `BytesDecimal`, `Elements`,
/// `Bits`, or lowercase spellings) and a per-iteration amount.
pub(crate) fn throughput(
    benchmark: &Value,
    path: &Path,
) -> Result<Option<Throughput>, AdapterError> {
    let Some(value) = get(benchmark, "throughput") else {
        return Ok(None);
    };
    match value {
        Value::Null => Ok(None),
        Value::Object(map) => {
            let (kind, amount) = map
                .iter()
                .next()
                .ok_or_else(|| key_error(path, "throughput", "empty object"))?;
            let per_iteration = amount
                .as_f64()
                .or_else(|| {
                    amount
                        .as_array()
                        .and_then(|a| a.first())
                        .and_then(Value::as_f64)
                })
                .ok_or_else(|| {
                    key_error(path, &format!("throughput.{kind}"), "expected a number")
                })?;
            Ok(Some(Throughput {
                kind: kind.clone(),
                per_iteration,
            }))
        }
        _ => Err(key_error(
            path,
            "throughput",
            "expected null or an object like {\"Bytes\": 1024}",
        )),
    }
}

/// Median of `times[i] / iters[i]` in ns. `None` when the file holds no samples (the caller
/// then falls back to estimates.json).
/// Time per iteration of each of criterion's samples.
fn per_iteration(sample: &Value, path: &Path) -> Result<Vec<f64>, AdapterError> {
    // Current criterion: {"sampling_mode", "iters": [...], "times": [...]}; the oldest ones
    // serialised a tuple: [[iters...], [times...]].
    let (iters, times) = match (get(sample, "iters"), get(sample, "times")) {
        (Some(iters), Some(times)) => (iters, times),
        _ => match sample.as_array().map(Vec::as_slice) {
            Some([iters, times]) => (iters, times),
            _ => {
                return Err(key_error(
                    path,
                    "iters",
                    "expected `iters` and `times` arrays",
                ));
            }
        },
    };
    let numbers = |value: &Value, key: &str| -> Result<Vec<f64>, AdapterError> {
        value
            .as_array()
            .ok_or_else(|| key_error(path, key, "expected an array of numbers"))?
            .iter()
            .map(|v| {
                v.as_f64()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| key_error(path, key, "expected an array of numbers"))
            })
            .collect()
    };
    let iters = numbers(iters, "iters")?;
    let times = numbers(times, "times")?;
    if iters.len() != times.len() {
        return Err(key_error(
            path,
            "times",
            &format!(
                "{} times for {} iteration counts; the file is truncated or corrupt",
                times.len(),
                iters.len()
            ),
        ));
    }
    let per_iteration: Vec<f64> = iters
        .iter()
        .zip(&times)
        .filter(|(iters, _)| **iters > 0.0)
        .map(|(iters, time)| time / iters)
        .collect();
    Ok(per_iteration)
}

// `fib 15                  time:   [1.2345 µs 1.2400 µs 1.2500 µs]`; a long id stands alone on
// the line before.
static TIME_LINE: LazyLock<Result<Regex, regex::Error>> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<name>.*?)\s*time:\s+\[\s*(?P<lo>\S+)\s+(?P<lo_unit>\S+)\s+(?P<mid>\S+)\s+(?P<mid_unit>\S+)\s+(?P<hi>\S+)\s+(?P<hi_unit>\S+)\s*\]\s*$",
    )
});

pub(super) fn to_nanos(value: f64, unit: &str) -> Option<f64> {
    let factor = match unit {
        "ps" => 1e-3,
        "ns" => 1.0,
        "µs" | "us" | "μs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        _ => return None,
    };
    Some(value * factor)
}

/// Without `bench.output` only criterion's terminal summary is left: its point estimate (the
/// middle of `time: [lo mid hi]`) is used, with a warning, since the files are more precise.
pub(super) fn collect_stdout(stdout: &str) -> Result<Collected, AdapterError> {
    let pattern = TIME_LINE.as_ref().map_err(|err| AdapterError::Parse {
        origin: STDOUT.to_owned(),
        line: 0,
        message: format!("internal pattern error: {err}"),
    })?;
    let mut collected = Collected::default();
    let mut previous = "";
    for (index, line) in stdout.lines().enumerate() {
        let line = line.trim_end();
        if let Some(captures) = pattern.captures(line) {
            let name = match captures["name"].trim() {
                "" => previous.trim(),
                name => name,
            };
            let value = captures["mid"]
                .parse::<f64>()
                .ok()
                .and_then(|v| to_nanos(v, &captures["mid_unit"]))
                .filter(|v| v.is_finite());
            let (Some(value), false) = (value, name.is_empty()) else {
                return Err(AdapterError::Parse {
                    origin: STDOUT.to_owned(),
                    line: index + 1,
                    message: format!("unrecognised criterion time line `{line}`"),
                });
            };
            collected.values.push(BenchValue {
                name: name.to_owned(),
                unit: UNIT.to_owned(),
                value,
            });
        }
        if !line.trim().is_empty() {
            previous = line;
        }
    }
    if !collected.values.is_empty() {
        collected.warnings.push(
            "`bench.output` is not set, so criterion's printed estimates were used; set it to \
             criterion's output directory (usually target/criterion) for per-sample medians"
                .to_owned(),
        );
    }
    Ok(collected)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_match_across_spellings() {
        let v = json!({"FullId": "a/b", "Median": {"PointEstimate": 2.0}});
        assert_eq!(get(&v, "full_id").and_then(Value::as_str), Some("a/b"));
        let median = get(&v, "median").unwrap();
        assert_eq!(
            get(median, "point_estimate").and_then(Value::as_f64),
            Some(2.0)
        );
    }

    #[test]
    fn per_iteration_median_in_both_layouts() {
        let path = Path::new("sample.json");
        let modern = json!({"sampling_mode": "Linear", "iters": [1.0, 2.0, 4.0], "times": [10.0, 30.0, 400.0]});
        assert_eq!(
            per_iteration(&modern, path).unwrap(),
            vec![10.0, 15.0, 100.0]
        );
        let tuple = json!([[1.0, 2.0], [10.0, 30.0]]);
        assert_eq!(per_iteration(&tuple, path).unwrap(), vec![10.0, 15.0]);
        let empty = json!({"iters": [], "times": []});
        assert_eq!(median(&per_iteration(&empty, path).unwrap()), None);
        let uneven = json!({"iters": [1.0], "times": []});
        assert!(per_iteration(&uneven, path).is_err());
    }

    #[test]
    fn throughput_kinds() {
        let path = Path::new("benchmark.json");
        let t = throughput(&json!({"throughput": {"Bytes": 600}}), path).unwrap();
        assert_eq!(
            t,
            Some(Throughput {
                kind: "Bytes".into(),
                per_iteration: 600.0
            })
        );
        assert_eq!(
            throughput(&json!({"throughput": null}), path).unwrap(),
            None
        );
        assert!(throughput(&json!({"throughput": "fast"}), path).is_err());
    }

    #[test]
    fn stdout_fallback_reads_inline_and_wrapped_names() {
        let out = "\
Benchmarking fib 15
fib 15                  time:   [1.2000 µs 1.5000 µs 1.7000 µs]
digits/sum/a-very-long-benchmark-name-that-wraps
                        time:   [100.00 ps 250.00 ps 300.00 ps]
                        thrpt:  [1.0 GiB/s 1.1 GiB/s 1.2 GiB/s]
";
        let collected = collect_stdout(out).unwrap();
        assert_eq!(collected.values[0].name, "fib 15");
        assert!((collected.values[0].value - 1500.0).abs() < 1e-9);
        assert_eq!(
            collected.values[1].name,
            "digits/sum/a-very-long-benchmark-name-that-wraps"
        );
        assert!((collected.values[1].value - 0.25).abs() < 1e-12);
        assert_eq!(collected.warnings.len(), 1);
    }
}
