//! Trigger firings, one JSON object per line:
//! `{"id": "...", "type": "order_placed", "contact_id": "...",
//!   "occurred_at": "2026-11-26T10:00:00Z", "data": {...}}`.
//! `occurred_at` is RFC 3339 or Unix seconds.

use crate::input::{InputError, lines};
use action_host::wit;
use serde_json::Value;
use std::path::Path;

/// Largest trigger payload handed to the component.
pub const MAX_DATA: usize = 1 << 20;

/// One firing read from the file.
#[derive(Debug, Clone)]
pub struct FiringRecord {
    /// 1-based line in the file.
    pub line: usize,
    /// The contact it concerns.
    pub contact_id: String,
    /// The firing as the component receives it.
    pub firing: wit::Firing,
}

/// A line that could not be read, with what could be read of it.
#[derive(Debug, Clone)]
pub struct BadFiring {
    /// The firing id, when readable.
    pub id: Option<String>,
    /// What is wrong.
    pub error: InputError,
}

/// Every line of a firings file, read or refused, in order.
pub fn load(path: &Path) -> Result<Vec<Result<FiringRecord, BadFiring>>, InputError> {
    let bytes = std::fs::read(path)
        .map_err(|e| InputError::new(path, None, None, format!("cannot read the file: {e}")))?;
    Ok(lines(&bytes)
        .map(|(n, l)| match l {
            Ok(text) => parse_line(path, n, text),
            Err(()) => Err(BadFiring {
                id: None,
                error: InputError::new(path, Some(n), None, "the line is not valid UTF-8 text"),
            }),
        })
        .collect())
}

/// Reads one line.
pub fn parse_line(path: &Path, line: usize, text: &str) -> Result<FiringRecord, BadFiring> {
    let bad = |id: Option<String>, field: Option<&str>, message: String| BadFiring {
        id,
        error: InputError::new(path, Some(line), field, message),
    };
    let v: Value =
        serde_json::from_str(text).map_err(|e| bad(None, None, format!("not valid JSON: {e}")))?;
    let Value::Object(obj) = v else {
        return Err(bad(None, None, "a firing must be a JSON object".into()));
    };
    let id = match obj.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(bad(
                None,
                Some("id"),
                "every firing needs an id (text)".into(),
            ));
        }
    };
    let some_id = Some(id.clone());
    let trigger_type = match obj.get("type") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            return Err(bad(
                some_id,
                Some("type"),
                "every firing needs a trigger type (text)".into(),
            ));
        }
    };
    let contact_id = match obj.get("contact_id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(bad(
                some_id,
                Some("contact_id"),
                "every firing names its contact (text)".into(),
            ));
        }
    };
    let occurred_at = match obj.get("occurred_at") {
        Some(Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s.trim())
            .map(|t| t.timestamp())
            .map_err(|e| {
                bad(
                    some_id.clone(),
                    Some("occurred_at"),
                    format!("not an RFC 3339 time such as 2026-11-26T10:00:00Z: {e}"),
                )
            })?,
        Some(Value::Number(n)) => match n.as_i64() {
            // Milliseconds are common; Unix seconds stay below 1e11 until 5138.
            Some(t) if t > 100_000_000_000 => t / 1000,
            Some(t) if t > 0 => t,
            _ => {
                return Err(bad(
                    some_id,
                    Some("occurred_at"),
                    "not a positive Unix time".into(),
                ));
            }
        },
        _ => {
            return Err(bad(
                some_id,
                Some("occurred_at"),
                "every firing says when it happened".into(),
            ));
        }
    };
    let data = match obj.get("data") {
        None | Some(Value::Null) => "{}".to_string(),
        Some(v @ Value::Object(_)) => {
            let text = v.to_string();
            if text.len() > MAX_DATA {
                return Err(bad(
                    some_id,
                    Some("data"),
                    format!(
                        "the trigger's data is {:.1} MB; a firing carries at most {} KiB (a conversion event is a few KB)",
                        text.len() as f64 / 1e6,
                        MAX_DATA / 1024
                    ),
                ));
            }
            text
        }
        Some(_) => {
            return Err(bad(
                some_id,
                Some("data"),
                "data must be a JSON object".into(),
            ));
        }
    };
    Ok(FiringRecord {
        line,
        contact_id,
        firing: wit::Firing {
            id,
            trigger_type,
            occurred_at,
            data,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_line() {
        let r = parse_line(
            Path::new("f.jsonl"),
            3,
            r#"{"id":"o1","type":"order_placed","contact_id":"c1","occurred_at":"2026-11-26T10:00:00Z","data":{"order":{"total":5}}}"#,
        )
        .unwrap();
        assert_eq!(r.firing.occurred_at, 1_795_687_200);
        assert_eq!(r.firing.data, r#"{"order":{"total":5}}"#);
        assert_eq!(r.line, 3);
    }

    #[test]
    fn names_the_field_at_fault() {
        for (line, field) in [
            (
                r#"{"id":"a","type":"t","contact_id":"c","occurred_at":"yesterday"}"#,
                "occurred_at",
            ),
            (r#"{"id":"a","contact_id":"c","occurred_at":1}"#, "type"),
            (r#"{"id":"a","type":"t","occurred_at":1}"#, "contact_id"),
            (
                r#"{"id":"a","type":"t","contact_id":"c","occurred_at":1,"data":[1]}"#,
                "data",
            ),
            (r#"{"type":"t"}"#, "id"),
        ] {
            let e = parse_line(Path::new("f.jsonl"), 9, line).unwrap_err();
            assert_eq!(e.error.field.as_deref(), Some(field), "{line}");
            assert!(
                e.error.to_string().starts_with("f.jsonl:9: field"),
                "{}",
                e.error
            );
        }
    }
}
