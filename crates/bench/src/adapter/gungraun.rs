//! gungraun / iai-callgrind `--output-format=json`: one JSON object per benchmark per line.
//!
//! The value is the instruction count (`Ir`) of the benchmark's total. The JSON layout moved
//! between versions:
//! - gungraun 0.20 (summary version 7):
//!   `profiles[].data.total.metrics.Ir.values.new`;
//! - iai-callgrind 0.14..0.16: `profiles[].summaries.total.summary.Callgrind.Ir.metrics`
//!   (`{"Left": {"Int": n}}` or `{"Both": [{"Int": new}, {"Int": old}]}`);
//! - iai-callgrind 0.10..0.13: `callgrind_summary.callgrind_run.total.Ir.new`.
//!
//! So the adapter looks for the `total` object holding `Ir` (in the Callgrind profile when
//! there are several tools) and reads the "new" side of that metric.

use perf_fixer_core::sample::BenchValue;
use serde_json::Value;

use super::{AdapterError, Collected};

const UNIT: &str = "instructions";
const METRIC: &str = "Ir";

pub(super) fn parse(text: &str, origin: &str) -> Result<Collected, AdapterError> {
    let mut collected = Collected::default();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        // Anything that is not a JSON object (a stray println! of the benchmarked code, an
        // empty line) is not ours to judge.
        if !line.starts_with('{') {
            continue;
        }
        let parse_error = |message: String| AdapterError::Parse {
            origin: origin.to_owned(),
            line: index + 1,
            message,
        };
        let summary: Value = serde_json::from_str(line)
            .map_err(|err| parse_error(format!("not a valid gungraun JSON summary: {err}")))?;
        let name = benchmark_name(&summary).ok_or_else(|| {
            parse_error("summary has no `module_path`; is this gungraun's JSON output?".to_owned())
        })?;
        match total_instructions(&summary) {
            Some(value) => collected.values.push(BenchValue {
                name,
                unit: UNIT.to_owned(),
                value,
            }),
            None => collected.warnings.push(format!(
                "{origin}:{}: benchmark `{name}` has no total instruction count (`Ir`); it is \
                 skipped. Run it with callgrind (the default tool) to compare it",
                index + 1
            )),
        }
    }
    Ok(collected)
}

/// `module_path` plus the `#[bench::id]`, as gungraun prints the benchmark's headline.
fn benchmark_name(summary: &Value) -> Option<String> {
    let module_path = summary.get("module_path")?.as_str()?;
    match summary.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => Some(format!("{module_path} {id}")),
        _ => Some(module_path.to_owned()),
    }
}

fn total_instructions(summary: &Value) -> Option<f64> {
    if let Some(profiles) = summary.get("profiles").and_then(Value::as_array) {
        let is_callgrind =
            |profile: &&Value| profile.get("tool").and_then(Value::as_str) == Some("Callgrind");
        let preferred = profiles.iter().filter(is_callgrind);
        let others = profiles.iter().filter(|p| !is_callgrind(p));
        return preferred
            .chain(others)
            .find_map(|profile| find_total(profile).and_then(new_value));
    }
    find_total(summary).and_then(new_value)
}

/// The `Ir` entry of the first `total` object (depth first) that has one.
fn find_total(value: &Value) -> Option<&Value> {
    let object = value.as_object()?;
    if let Some(total) = object.get("total")
        && let Some(ir) = find_metric(total)
    {
        return Some(ir);
    }
    object
        .iter()
        .filter(|(key, _)| key.as_str() != "total")
        .find_map(|(_, child)| match child {
            Value::Array(items) => items.iter().find_map(find_total),
            _ => find_total(child),
        })
}

fn find_metric(value: &Value) -> Option<&Value> {
    let object = value.as_object()?;
    object
        .get(METRIC)
        .or_else(|| object.values().find_map(find_metric))
}

/// The "new" side of a metric in any of the layouts above.
fn new_value(metric: &Value) -> Option<f64> {
    match metric {
        Value::Number(number) => number.as_f64().filter(|v| v.is_finite()),
        Value::String(text) => super::parse_number(text),
        Value::Array(items) => items.first().and_then(new_value),
        Value::Object(object) => ["values", "metrics", "new", "Left", "Both", "Int", "Float"]
            .iter()
            .find_map(|key| object.get(*key))
            .and_then(new_value),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn metric_layouts() {
        let v7: Value = serde_json::json!({"values": {"new": 1802, "old": 1700}});
        assert_eq!(new_value(&v7), Some(1802.0));
        let both: Value = serde_json::json!({"metrics": {"Both": [{"Int": 5}, {"Int": 4}]}});
        assert_eq!(new_value(&both), Some(5.0));
        let left: Value = serde_json::json!({"metrics": {"Left": {"Int": 7}}});
        assert_eq!(new_value(&left), Some(7.0));
        // Only an old value: nothing was measured in this run.
        let right: Value = serde_json::json!({"metrics": {"Right": {"Int": 7}}});
        assert_eq!(new_value(&right), None);
        let old: Value = serde_json::json!({"new": 9, "old": null});
        assert_eq!(new_value(&old), Some(9.0));
    }

    #[test]
    fn prefers_the_callgrind_profile() {
        let line = serde_json::json!({
            "module_path": "b::g::f", "id": "x",
            "profiles": [
                {"tool": "DHAT", "data": {"total": {"metrics": {"TotalBytes": {"values": {"new": 1}}}}}},
                {"tool": "Cachegrind", "data": {"total": {"metrics": {"Ir": {"values": {"new": 2}}}}}},
                {"tool": "Callgrind", "data": {"total": {"metrics": {"Ir": {"values": {"new": 3}}}}}}
            ]
        })
        .to_string();
        let collected = parse(&line, "stdout").unwrap();
        assert_eq!(collected.values[0].name, "b::g::f x");
        assert_eq!(collected.values[0].value, 3.0);
    }

    #[test]
    fn bad_line_is_named_and_missing_ir_warns() {
        let err = parse("noise\n{\"module_path\": ", "out")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("out:2:"), "{err}");
        let collected = parse(
            r#"{"module_path": "a", "profiles": [{"tool": "DHAT", "data": {"total": {}}}]}"#,
            "out",
        )
        .unwrap();
        assert!(collected.values.is_empty());
        assert!(collected.warnings[0].contains("`a`"));
    }
}
