//! `format = "json"`: the github-action-benchmark array
//! (`[{"name", "unit", "value", "range", "extra"}]`) and the Bencher Metric Format
//! (`{"bench": {"latency": {"value", "lower_value", "upper_value"}}}`).

use std::fmt;

use perf_fixer_core::sample::BenchValue;
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::{AdapterError, Collected};

/// A JSON object with its keys in file order (serde_json's `Map` sorts them, and Bencher's
/// "first measure" means the first one written).
struct Ordered(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor;
        impl<'de> Visitor<'de> for OrderedVisitor {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((key, value)) = map.next_entry::<String, Value>()? {
                    entries.push((key, value));
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(OrderedVisitor)
    }
}

/// Bencher's measures in file order, per benchmark in file order.
struct BencherDocument(Vec<(String, Ordered)>);

impl<'de> Deserialize<'de> for BencherDocument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DocVisitor;
        impl<'de> Visitor<'de> for DocVisitor {
            type Value = BencherDocument;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Bencher Metric Format object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BencherDocument, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Ordered>()? {
                    entries.push((key, value));
                }
                Ok(BencherDocument(entries))
            }
        }
        deserializer.deserialize_map(DocVisitor)
    }
}

pub(super) fn parse(text: &str, origin: &str) -> Result<Collected, AdapterError> {
    let trimmed = text.trim_start();
    let syntax_error = |err: serde_json::Error, what: &str| AdapterError::Parse {
        origin: origin.to_owned(),
        line: err.line().max(1),
        message: format!("not a valid {what}: {err}"),
    };
    if trimmed.is_empty() {
        return Ok(Collected::default());
    }
    if trimmed.starts_with('[') {
        let entries: Vec<Value> = serde_json::from_str(text)
            .map_err(|err| syntax_error(err, "github-action-benchmark JSON array"))?;
        parse_action_benchmark(&entries, origin)
    } else if trimmed.starts_with('{') {
        let document: BencherDocument = serde_json::from_str(text)
            .map_err(|err| syntax_error(err, "Bencher Metric Format JSON object"))?;
        parse_bencher(document, origin)
    } else {
        Err(AdapterError::Parse {
            origin: origin.to_owned(),
            line: 1,
            message: "expected a JSON array (github-action-benchmark) or object (Bencher Metric \
                      Format)"
                .to_owned(),
        })
    }
}

fn key_error(origin: &str, key: String, message: impl Into<String>) -> AdapterError {
    AdapterError::Key {
        origin: origin.to_owned(),
        key,
        message: message.into(),
    }
}

fn parse_action_benchmark(entries: &[Value], origin: &str) -> Result<Collected, AdapterError> {
    let mut collected = Collected::default();
    for (index, entry) in entries.iter().enumerate() {
        let field = |name: &str| format!("[{index}].{name}");
        let object = entry
            .as_object()
            .ok_or_else(|| key_error(origin, format!("[{index}]"), "expected an object"))?;
        let name = object
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| key_error(origin, field("name"), "expected a string"))?;
        let unit = object.get("unit").and_then(Value::as_str).ok_or_else(|| {
            key_error(
                origin,
                field("unit"),
                "expected a string such as \"ns/iter\"",
            )
        })?;
        let value = object
            .get("value")
            .and_then(number_or_numeric_string)
            .ok_or_else(|| key_error(origin, field("value"), "expected a finite number"))?;
        push_lower_is_better(
            &mut collected,
            name.to_owned(),
            unit,
            value,
            origin,
            field("value"),
        )?;
    }
    Ok(collected)
}

fn parse_bencher(document: BencherDocument, origin: &str) -> Result<Collected, AdapterError> {
    let mut collected = Collected::default();
    for (bench, Ordered(measures)) in document.0 {
        let chosen = measures
            .iter()
            .find(|(measure, _)| measure == "latency")
            .or_else(|| measures.first())
            .ok_or_else(|| key_error(origin, bench.clone(), "benchmark has no measures"))?;
        let (measure, metric) = chosen;
        let value = metric
            .get("value")
            .and_then(number_or_numeric_string)
            .ok_or_else(|| {
                key_error(
                    origin,
                    format!("{bench}.{measure}.value"),
                    "expected a finite number",
                )
            })?;
        let (name, unit) = if measure == "latency" {
            // Bencher's latency measure is in nanoseconds.
            (bench.clone(), "ns".to_owned())
        } else {
            (format!("{bench} ({measure})"), measure.clone())
        };
        let key = format!("{bench}.{measure}.value");
        if measure == "throughput" {
            push_inverted(&mut collected, name, &unit, value, origin, key)?;
        } else {
            push_lower_is_better(&mut collected, name, &unit, value, origin, key)?;
        }
    }
    Ok(collected)
}

fn number_or_numeric_string(value: &Value) -> Option<f64> {
    let number = match value {
        Value::Number(number) => number.as_f64()?,
        Value::String(text) => super::parse_number(text.trim())?,
        _ => return None,
    };
    number.is_finite().then_some(number)
}

/// Units of "bigger is better" tools (`ops/sec`, `MB/s`): perf-fixer compares lower-is-better
/// values, so these are inverted rather than read backwards.
fn is_rate_unit(unit: &str) -> bool {
    let unit = unit.trim().to_ascii_lowercase();
    ["/s", "/sec", "/second", "per second", "ops/s", "hz"]
        .iter()
        .any(|suffix| unit.ends_with(suffix))
}

fn push_lower_is_better(
    collected: &mut Collected,
    name: String,
    unit: &str,
    value: f64,
    origin: &str,
    key: String,
) -> Result<(), AdapterError> {
    if is_rate_unit(unit) {
        return push_inverted(collected, name, unit, value, origin, key);
    }
    collected.values.push(BenchValue {
        name,
        unit: unit.to_owned(),
        value,
    });
    Ok(())
}

fn push_inverted(
    collected: &mut Collected,
    name: String,
    unit: &str,
    value: f64,
    origin: &str,
    key: String,
) -> Result<(), AdapterError> {
    if value <= 0.0 {
        return Err(key_error(
            origin,
            key,
            format!("a rate in `{unit}` must be positive to be compared"),
        ));
    }
    collected.warnings.push(format!(
        "`{name}` is a rate in `{unit}` (bigger is better); it is compared as its inverse, 1/({unit})"
    ));
    collected.values.push(BenchValue {
        name,
        unit: format!("1/({unit})"),
        value: 1.0 / value,
    });
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn action_benchmark_array() {
        let text = r#"[
          {"name": "parse big", "unit": "ns/iter", "value": 123.4, "range": "± 5", "extra": "100 samples"},
          {"name": "alloc", "unit": "bytes", "value": "2,048"}
        ]"#;
        let collected = parse(text, "bench.json").unwrap();
        assert_eq!(collected.values.len(), 2);
        assert_eq!(collected.values[0].name, "parse big");
        assert_eq!(collected.values[0].unit, "ns/iter");
        assert_eq!(collected.values[0].value, 123.4);
        assert_eq!(collected.values[1].value, 2048.0);
    }

    #[test]
    fn bencher_prefers_latency_else_first_measure_in_file_order() {
        let text = r#"{
          "b::z": {"throughput": {"value": 10.0}, "latency": {"value": 88.5, "lower_value": 80.0, "upper_value": 90.0}},
          "b::a": {"zeta": {"value": 3.0}, "alpha": {"value": 4.0}}
        }"#;
        let collected = parse(text, "bmf.json").unwrap();
        assert_eq!(collected.values[0].name, "b::z");
        assert_eq!(collected.values[0].unit, "ns");
        assert_eq!(collected.values[0].value, 88.5);
        assert_eq!(collected.values[1].name, "b::a (zeta)");
        assert_eq!(collected.values[1].value, 3.0);
    }

    #[test]
    fn rates_are_inverted_with_a_warning() {
        let text = r#"[{"name": "ops", "unit": "ops/sec", "value": 4.0}]"#;
        let collected = parse(text, "x").unwrap();
        assert_eq!(collected.values[0].value, 0.25);
        assert_eq!(collected.values[0].unit, "1/(ops/sec)");
        assert_eq!(collected.warnings.len(), 1);
        let zero = r#"[{"name": "ops", "unit": "MB/s", "value": 0}]"#;
        assert!(parse(zero, "x").is_err());
    }

    #[test]
    fn missing_keys_are_named() {
        let err = parse(r#"[{"name": "a", "unit": "ns"}]"#, "out.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("out.json") && err.contains("`[0].value`"),
            "{err}"
        );
        let err = parse(r#"{"a": {"latency": {"lower_value": 1}}}"#, "out.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`a.latency.value`"), "{err}");
        let err = parse(r#"{"a": {}}"#, "out.json").unwrap_err().to_string();
        assert!(err.contains("no measures"), "{err}");
    }

    #[test]
    fn invalid_json_names_the_line() {
        let err = parse("[\n{\"name\": \"a\",\n oops}]", "out.json")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("out.json:3:"), "{err}");
        let err = parse("hello", "out.json").unwrap_err().to_string();
        assert!(err.starts_with("out.json:1:"), "{err}");
    }
}
