//! The component's core per event, natively, in batches of 1,000: the
//! target to profile it with (`perf record`, `valgrind --tool=callgrind`)
//! without wasmtime in the picture. The contacts follow the formula of
//! `host-harness bench` and Meta's Python SDK comparison.
//!
//! `cargo run --release -p send-conversion-event --example per_event [rounds]`

use send_conversion_event::input::{Contact, Firing};
use serde_json::json;
use std::time::Instant;

fn main() {
    let settings =
        json!({"pixel_id": "1234567890", "access_token": "bench-token", "event": "Purchase"})
            .to_string();
    let now = 1_790_000_000i64;
    let items: Vec<(Firing, Contact)> = (0..1000usize)
        .map(|i| {
            let c = Contact {
                id: format!("c{i}"),
                emails: vec![format!("User{i}@Example.com")],
                phones: vec![format!("(650) 555-{:04}", i % 10_000)],
                first_name: Some(format!("First{i}")),
                last_name: Some("Last".into()),
                gender: Some(if i % 2 == 0 { "female" } else { "male" }.into()),
                date_of_birth: Some(format!("1990-01-{:02}", i % 28 + 1)),
                city: Some("Menlo Park".into()),
                state: Some("California".into()),
                postal_code: Some("94025-1234".into()),
                country: Some("US".into()),
                custom_fields: Default::default(),
            };
            let f = Firing {
                id: format!("f{i}"),
                trigger_type: "order_placed".into(),
                occurred_at: now - 60,
                data: json!({
                    "order": {"id": format!("o{i}"), "total": 10.0 + i as f64, "currency": "USD"},
                    "page": {"url": "https://shop.example/thanks"},
                    "client": {"user_agent": "Mozilla/5.0", "ip_address": "203.0.113.9"}
                })
                .into(),
            };
            (f, c)
        })
        .collect();
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let t = Instant::now();
    for _ in 0..rounds {
        let r = send_conversion_event::execute_batch(&settings, &items, now, &mut |_r| {
            Ok((
                200,
                r#"{"events_received":1000,"messages":[],"fbtrace_id":"b"}"#.into(),
            ))
        });
        assert!(r.iter().all(|r| r.is_ok()));
        std::hint::black_box(r);
    }
    let per = t.elapsed().as_secs_f64() * 1e6 / (rounds * items.len()) as f64;
    println!("{per:.2} µs per event");
}
