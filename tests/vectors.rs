//! The normalisation vectors of `tests/vectors/user_data.jsonl`, through the
//! real component in wasmtime against the Graph API double: what arrives at
//! the double is what the vector expects.

use crate::common::*;
use action_host::{EgressPolicy, wit};
use serde_json::{Value, json};
use std::sync::Arc;

#[tokio::test]
async fn every_vector_arrives_at_the_double_as_expected() {
    let d = double().await;
    let policy = Arc::new(EgressPolicy::graph(Some(d.url().parse().unwrap())));
    let text = include_str!("vectors/user_data.jsonl");
    let mut failures = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap();
        let key = v["key"].as_str().unwrap();
        let settings = settings(
            "Lead",
            json!({"action_source": "other", "mapping": {format!("user_data.{key}"): "{{trigger.v}}"}}),
        );
        let contact = wit::Contact {
            id: "vector-contact".into(),
            country: v["country"].as_str().map(str::to_string),
            ..host_harness::contacts::empty_contact()
        };
        let f = firing(&format!("vector-{i}"), "test", json!({"v": v["input"]}));
        let exec = engine()
            .execute(policy.clone(), &settings, &f, &contact)
            .await;
        let outcome = match &exec.result {
            Ok(Ok(o)) => o,
            other => {
                failures.push(format!("line {}: not accepted: {other:?}", i + 1));
                continue;
            }
        };
        let received = d.received().pop().expect("the double received the event");
        assert_eq!(
            received.event_id.as_deref(),
            Some(format!("vector-{i}").as_str())
        );
        let sent = received.event["user_data"].get(key).cloned();
        let expected = if v["hash"].is_string() {
            v["hash"].clone()
        } else {
            v["normalized"].clone()
        };
        let ok = match (&sent, expected.is_null()) {
            (None, true) => outcome
                .warnings
                .iter()
                .any(|w| w.field == format!("user_data.{key}")),
            (Some(s), false) => *s == expected,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "line {}: {key} {} sent {sent:?}, expected {expected}",
                i + 1,
                v["input"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} vectors fail through the component:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
