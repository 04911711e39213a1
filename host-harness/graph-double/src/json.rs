//! A borrowed JSON tree: how the double reads a request to check it. Its
//! strings point into the request body unless they hold escapes, and an
//! object is the list of its entries, so a 1,000-event request is read with
//! a few allocations per event instead of a map node and a string per
//! field. It answers as `serde_json::Value` does for what the checks ask:
//! of a key given twice, the last value counts.

use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// One JSON value, borrowing from the text it was read from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// The value of `key` in an object (the last one, as `serde_json`
    /// keeps it); `None` for a missing key or anything but an object.
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, Json::Object(_))
    }

    /// Whether this is a number.
    pub fn is_number(&self) -> bool {
        matches!(self, Json::Number(_))
    }

    /// The text of a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// A number that is a whole `i64`, as `Value::as_i64` reads it.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// The elements of an array.
    pub fn as_array(&self) -> Option<&[Json<'a>]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        Json::deserialize(d)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(n.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Json<'de>, E> {
        serde_json::Number::from_f64(n)
            .map(Json::Number)
            .ok_or_else(|| E::custom("a number JSON cannot hold"))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(s.to_string())))
    }

    fn visit_string<E>(self, s: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(key) = map.next_key::<Json<'de>>()? {
            let Json::String(key) = key else {
                return Err(A::Error::custom("an object key that is not a string"));
            };
            entries.push((key, map.next_value()?));
        }
        Ok(Json::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Every accessor answers as `serde_json::Value`'s does.
    #[test]
    fn reads_as_serde_json_reads() {
        let text = r#"{"a": "x", "b": 12, "c": 1.5, "d": -3, "e": [1, "two", null],
            "f": {"g": true}, "h": "esc\"aped\u00e9", "a": "last", "i": 18446744073709551615}"#;
        let json: Json = serde_json::from_str(text).unwrap();
        let value: Value = serde_json::from_str(text).unwrap();
        for key in ["a", "b", "c", "d", "e", "f", "h", "i", "missing"] {
            let (j, v) = (json.get(key), value.get(key));
            assert_eq!(j.is_some(), v.is_some(), "{key}");
            assert_eq!(j.and_then(Json::as_str), v.and_then(Value::as_str), "{key}");
            assert_eq!(j.and_then(Json::as_i64), v.and_then(Value::as_i64), "{key}");
            assert_eq!(
                j.is_some_and(Json::is_number),
                v.is_some_and(Value::is_number),
                "{key}"
            );
            assert_eq!(
                j.is_some_and(Json::is_object),
                v.is_some_and(Value::is_object),
                "{key}"
            );
            assert_eq!(
                j.and_then(Json::as_array).map(<[_]>::len),
                v.and_then(Value::as_array).map(Vec::len),
                "{key}"
            );
        }
        assert_eq!(json.get("f").unwrap().get("g"), Some(&Json::Bool(true)));
        assert!(matches!(json.get("b"), Some(Json::Number(_))));
        // Plain strings point into the text; escaped ones are decoded.
        assert!(matches!(
            json.get("a"),
            Some(Json::String(Cow::Borrowed("last")))
        ));
        assert_eq!(json.get("h").and_then(Json::as_str), Some("esc\"apedé"));
    }

    #[test]
    fn refuses_what_serde_json_refuses() {
        for text in ["{", "[1,]", "{\"a\" 1}", "nul", "\"\\x\""] {
            assert!(serde_json::from_str::<Json>(text).is_err(), "{text}");
            assert!(serde_json::from_str::<Value>(text).is_err(), "{text}");
        }
    }
}
