//! Reads a JSON payload into a `serde_json::Value` that keeps only the fields we use.
//!
//! GitHub payloads are mostly URLs and repository metadata we never read (a `pull_request`
//! delivery is ~25 KB); building a full `Value` for them costs most of the parsing time.
//! The whole document is still checked to be valid JSON, but unwanted members are skipped
//! without allocation. The shape of the kept fields is described by a [`Want`] tree.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// What to keep of a JSON value.
pub(crate) enum Want {
    /// The whole value.
    All,
    /// Of an object, only these members (each pruned in turn); other values are kept whole.
    Fields(&'static [(&'static str, Want)]),
    /// Of an array, every item pruned by the inner want.
    Items(&'static Want),
}

/// Parses `body` as one JSON document, keeping what `want` asks for.
pub(crate) fn parse(body: &[u8], want: &'static Want) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = Pruned(want).deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

struct Pruned(&'static Want);

impl<'de> DeserializeSeed<'de> for Pruned {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        match self.0 {
            Want::All => serde::Deserialize::deserialize(deserializer),
            want => deserializer.deserialize_any(PrunedVisitor(want)),
        }
    }
}

struct PrunedVisitor(&'static Want);

impl<'de> Visitor<'de> for PrunedVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Pruned(self.0).deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let item_want: &'static Want = match self.0 {
            Want::Items(inner) => inner,
            _ => &Want::All,
        };
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Pruned(item_want))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let fields = match self.0 {
            Want::Fields(fields) => Some(*fields),
            _ => None,
        };
        let mut out = Map::new();
        match fields {
            Some(fields) => {
                while let Some(key) = map.next_key_seed(KeyIn(fields))? {
                    match key {
                        Some(index) => {
                            let (name, want) = &fields[index];
                            let value = map.next_value_seed(Pruned(want))?;
                            out.insert((*name).to_owned(), value);
                        }
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
            }
            None => {
                while let Some(key) = map.next_key::<String>()? {
                    let value = map.next_value_seed(Pruned(&Want::All))?;
                    out.insert(key, value);
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// Reads an object key and tells which wanted field it is, without allocating.
struct KeyIn(&'static [(&'static str, Want)]);

impl<'de> DeserializeSeed<'de> for KeyIn {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIn {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|(name, _)| *name == key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static WANT: Want = Want::Fields(&[
        ("a", Want::All),
        (
            "b",
            Want::Fields(&[
                ("keep", Want::All),
                ("deep", Want::Fields(&[("x", Want::All)])),
            ]),
        ),
        ("list", Want::Items(&Want::Fields(&[("id", Want::All)]))),
    ]);

    #[test]
    fn keeps_only_wanted_fields() {
        let body = br#"{"a": {"whole": [1, 2]}, "skip": {"big": [1, 2, 3]},
            "b": {"keep": "k", "drop": 1, "deep": {"x": null, "y": 2}},
            "list": [{"id": 1, "url": "u"}, {"id": 2}, 3]}"#;
        let value = parse(body, &WANT).unwrap();
        assert_eq!(
            value,
            json!({"a": {"whole": [1, 2]}, "b": {"keep": "k", "deep": {"x": null}},
                   "list": [{"id": 1}, {"id": 2}, 3]})
        );
    }

    #[test]
    fn unexpected_shapes_are_kept_for_the_caller_to_judge() {
        assert_eq!(
            parse(br#"{"b": "text"}"#, &WANT).unwrap(),
            json!({"b": "text"})
        );
        assert_eq!(
            parse(br#"{"list": {"id": 1}}"#, &WANT).unwrap(),
            json!({"list": {"id": 1}})
        );
        assert_eq!(
            parse(b"[1, {\"a\": 2}]", &WANT).unwrap(),
            json!([1, {"a": 2}])
        );
        assert_eq!(parse(b"7", &WANT).unwrap(), json!(7));
    }

    #[test]
    fn invalid_json_is_still_an_error_even_where_skipped() {
        assert!(parse(br#"{"skip": [1, 2,], "a": 1}"#, &WANT).is_err());
        assert!(parse(br#"{"a": 1} trailing"#, &WANT).is_err());
        assert!(parse(br#"{"a": 1"#, &WANT).is_err());
        assert!(parse(b"", &WANT).is_err());
    }

    #[test]
    fn escaped_keys_are_matched() {
        assert_eq!(parse(br#"{"\u0061": 1}"#, &WANT).unwrap(), json!({"a": 1}));
    }
}
