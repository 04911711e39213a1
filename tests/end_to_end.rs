//! The real component in the real wasmtime host, over loopback, against the
//! Graph API double.

use crate::common::*;
use action_host::{EgressPolicy, ExchangeResult, Secret, wit};
use graph_double::{Fault, GraphDouble};
use serde_json::{Value, json};
use std::sync::Arc;

fn policy(d: &GraphDouble) -> Arc<EgressPolicy> {
    Arc::new(
        EgressPolicy::graph(Some(d.url().parse().unwrap())).with_secrets(&[Secret::new(TOKEN)]),
    )
}

async fn execute(d: &GraphDouble, settings: &str, firing: &wit::Firing) -> action_host::Execution {
    engine()
        .execute(policy(d), settings, firing, &contact())
        .await
}

fn accepted(exec: &action_host::Execution) -> &wit::Outcome {
    match &exec.result {
        Ok(Ok(o)) => o,
        other => panic!("not accepted: {other:?}\nrequests: {:?}", exec.exchanges),
    }
}

fn failure(exec: &action_host::Execution) -> &wit::Failure {
    match &exec.result {
        Ok(Err(f)) => f,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn each_seed_event_and_a_custom_one_is_accepted_by_the_double() {
    let d = double().await;
    let cases = [
        (
            "Lead",
            "form_submitted",
            web(json!({"form": {"name": "Consultation"}})),
            "lead-1",
        ),
        (
            "Purchase",
            "order_placed",
            web(json!({"order": {"id": "ORD-9", "total": 19.99, "currency": "usd"}})),
            "ORD-9",
        ),
        ("PageView", "page_visited", web(json!({})), "pv-1"),
        (
            "InitiateCheckout",
            "checkout_started",
            web(json!({"checkout": {"id": "CHK-1", "total": 5, "currency": "EUR"}})),
            "CHK-1",
        ),
        (
            "CompleteRegistration",
            "registration_completed",
            web(json!({})),
            "reg-1",
        ),
        (
            "Booked Demo",
            "appointment_booked",
            json!({"value": 250, "currency": "GBP"}),
            "apt-1",
        ),
    ];
    for (event, trigger, data, expected_id) in cases {
        let source = if event == "Booked Demo" {
            "system_generated"
        } else {
            "website"
        };
        let s = settings(event, json!({"action_source": source}));
        let firing_id = if expected_id.starts_with("ORD") || expected_id.starts_with("CHK") {
            "f-x"
        } else {
            expected_id
        };
        let exec = execute(&d, &s, &firing(firing_id, trigger, data)).await;
        let o = accepted(&exec);
        assert_eq!(o.event_name, event);
        assert_eq!(
            o.event_id, expected_id,
            "{event}: the deterministic event id"
        );
        assert_eq!(o.events_received, 1);
        assert!(!o.fbtrace_id.is_empty());
        for key in [
            "em",
            "ph",
            "fn",
            "ln",
            "ge",
            "db",
            "ct",
            "st",
            "zp",
            "country",
            "external_id",
        ] {
            assert!(
                o.match_keys.names().any(|k| k == key),
                "{event} lacks {key}: {:?}",
                o.match_keys
            );
        }
        // The flags name exactly the keys the event carried.
        let sent = d.received().last().unwrap().event["user_data"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>();
        let named = o
            .match_keys
            .names()
            .map(str::to_string)
            .collect::<std::collections::BTreeSet<_>>();
        assert_eq!(named, sent, "{event}: the match keys are the keys sent");
        assert_eq!(exec.exchanges.len(), 1);
    }
    let received = d.received();
    assert_eq!(received.len(), 6);
    let purchase = received
        .iter()
        .find(|r| r.event_name == "Purchase")
        .unwrap();
    assert_eq!(purchase.event["custom_data"]["value"], json!(19.99));
    assert_eq!(purchase.event["custom_data"]["currency"], json!("usd"));
    assert_eq!(
        purchase.event["event_source_url"],
        json!("https://shop.example/thanks")
    );
}

/// Every `user_data` key Meta takes, each mapped to a value it accepts:
/// the outcome's flags name exactly the keys the event carried, so the
/// component's flag for each key and the host's name for each flag agree,
/// key by key (two keys' flags swapped would show) and all at once.
#[tokio::test]
async fn the_match_key_flags_name_every_key_sent() {
    let d = double().await;
    let values = [
        ("em", "a@example.com"),
        ("ph", "+16505550100"),
        ("fn", "Ada"),
        ("ln", "Lovelace"),
        ("ge", "f"),
        ("db", "1990-01-02"),
        ("ct", "Paris"),
        ("st", "California"),
        ("zp", "94025"),
        ("country", "US"),
        ("external_id", "x-1"),
        ("client_ip_address", "203.0.113.9"),
        ("client_user_agent", "Mozilla/5.0"),
        ("fbc", "fb.1.1554763741205.AbCdEf"),
        ("fbp", "fb.1.1596403881668.1116446470"),
        ("subscription_id", "sub-1"),
        ("fb_login_id", "1234567890"),
        ("lead_id", "1234567890123456"),
        ("anon_id", "anon-1"),
        ("madid", "38400000-8cf0-11bd-b23e-10b96e40000d"),
        ("page_id", "1234567890"),
        ("page_scoped_user_id", "psid-1"),
        ("ctwa_clid", "clid-1"),
        ("ig_account_id", "1234567890"),
        ("ig_sid", "igsid-1"),
    ];
    assert_eq!(values.len(), wit::MatchKeys::NAMES.len());
    // Meta refuses an event without one of these.
    let identifying = ["em", "ph", "external_id", "fbc", "fbp", "lead_id"];
    let mut events: Vec<Vec<&str>> = values
        .iter()
        .map(|(key, _)| match identifying.contains(key) {
            true => vec![*key],
            false => vec![*key, "em"],
        })
        .collect();
    events.push(values.iter().map(|(key, _)| *key).collect());
    for (i, keys) in events.iter().enumerate() {
        // Every key mapped: the ones under test to their value, the others
        // to nothing, so that no default fills them from the contact.
        let mapping: serde_json::Map<String, Value> = values
            .iter()
            .map(|(k, v)| {
                let value = if keys.contains(k) { *v } else { "" };
                (format!("user_data.{k}"), json!(value))
            })
            .collect();
        let s = settings(
            "Lead",
            json!({"action_source": "email", "mapping": mapping}),
        );
        let exec = execute(&d, &s, &firing(&format!("keys-{i}"), "t", json!({}))).await;
        let o = accepted(&exec);
        let named: std::collections::BTreeSet<&str> = o.match_keys.names().collect();
        let sent: std::collections::BTreeSet<String> = d.received()[i].event["user_data"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let expected: std::collections::BTreeSet<&str> = keys.iter().copied().collect();
        assert_eq!(named, expected, "{keys:?}: {:?}", o.warnings);
        assert_eq!(
            sent,
            expected.iter().map(|k| k.to_string()).collect(),
            "{keys:?}"
        );
    }
    assert_eq!(d.received().len(), values.len() + 1);
}

#[tokio::test]
async fn personal_data_arrives_normalised_and_hashed_as_meta_matches_it() {
    let d = double().await;
    let exec = execute(
        &d,
        &settings("Lead", json!({})),
        &firing("s-1", "form_submitted", web(json!({}))),
    )
    .await;
    accepted(&exec);
    let user = &d.received()[0].event["user_data"];
    // Reference section 3's examples, through the component.
    let expected = [
        ("em", "john.doe@example.com"),
        ("ph", "16505551212"),
        ("fn", "maryann"),
        ("ln", "obrien"),
        ("ge", "f"),
        ("db", "19900526"),
        ("ct", "menlopark"),
        ("st", "ca"),
        ("zp", "94025"),
        ("country", "us"),
        ("external_id", "c-1"),
    ];
    for (key, normalised) in expected {
        assert_eq!(user[key], json!(sha(normalised)), "{key}");
    }
    assert_eq!(
        user["client_ip_address"],
        json!("203.0.113.9"),
        "raw keys are not hashed"
    );
    assert_eq!(user["client_user_agent"], json!("Mozilla/5.0 (test)"));
    let sent = &exec.exchanges[0].request_body;
    for raw in ["John.Doe", "Mary Ann", "555-1212", "Menlo Park"] {
        assert!(
            !sent.contains(raw),
            "raw personal data left the component: {raw}"
        );
    }
}

/// The component reads a trigger's data and a contact's custom fields as
/// JSON is read everywhere else (the platform, the double): a key written
/// twice counts with its last value, escapes are undone, and an object of
/// many keys is searched as well as a small one.
#[tokio::test]
async fn the_component_reads_trigger_data_and_custom_fields_as_json_reads_them() {
    let d = double().await;
    let extra: Vec<String> = (0..40).map(|i| format!(r#""extra{i:02}": {i}"#)).collect();
    let data = format!(
        r#"{{{}, "order": {{"id": "first", "total": 5, "currency": "usd", "total": 42.5, "id": "ORD-LAST"}}, "page": {{"url": "https://shop.example/thanks"}}, "client": {{"user_agent": "Mozilla/5.0 (test)", "ip_address": "203.0.113.9", "user_agent": "Mozilla/5.0 (last)"}}}}"#,
        extra.join(", ")
    );
    let firing = wit::Firing {
        id: "f-json".into(),
        trigger_type: "order_placed".into(),
        occurred_at: now() - 60,
        data,
    };
    let contact = wit::Contact {
        custom_fields: r#"{"fbp": "fb.1.1700000000000.111", "fbp": "fb.1.1700000000000.222"}"#
            .into(),
        ..contact()
    };
    let exec = engine()
        .execute(
            policy(&d),
            &settings("Purchase", json!({})),
            &firing,
            &contact,
        )
        .await;
    assert_eq!(accepted(&exec).event_id, "ORD-LAST");
    let event = &d.received()[0].event;
    assert_eq!(
        event["event_id"],
        json!("ORD-LAST"),
        "the last id, unescaped"
    );
    assert_eq!(event["custom_data"]["value"], json!(42.5), "the last total");
    assert_eq!(event["custom_data"]["currency"], json!("usd"));
    assert_eq!(event["custom_data"]["order_id"], json!("ORD-LAST"));
    assert_eq!(
        event["event_source_url"],
        json!("https://shop.example/thanks"),
        "found among more than forty keys"
    );
    assert_eq!(
        event["user_data"]["client_user_agent"],
        json!("Mozilla/5.0 (last)")
    );
    assert_eq!(
        event["user_data"]["fbp"],
        json!("fb.1.1700000000000.222"),
        "the custom field's last value"
    );
}

/// The component hashes an event's values eight at a time in SIMD lanes,
/// and those too long for one block one by one: every value a contact
/// holds, in full groups, a part-full group and between long ones, arrives
/// as the SHA-256 of its normalised form, in its place, in a batch and
/// alone.
#[tokio::test]
async fn every_value_arrives_as_its_own_sha256_however_many_a_contact_holds() {
    let d = double().await;
    // From 23 to 96 bytes: SHA-256 takes a value of up to 55 bytes in one
    // block. (No part is longer than a mailbox's may be.)
    let emails: Vec<String> = (0..13)
        .map(|i| {
            let x = "X".repeat(i * 3);
            format!("User.{x}{i}@Mail{x}.Example.com")
        })
        .collect();
    let phones = ["+1 650 555 0100", "+44 20 7946 0958", "+49 30 901820"];
    let contact_n = |n: usize| wit::Contact {
        id: format!("c-{n}"),
        emails: emails[n..].to_vec(),
        phones: phones.map(String::from).to_vec(),
        first_name: Some(format!("Ada{}", "A".repeat(n * 20))),
        ..contact()
    };
    let expected = |n: usize| {
        let em: Vec<String> = emails[n..].iter().map(|e| sha(&e.to_lowercase())).collect();
        json!({
            "em": em,
            "ph": [sha("16505550100"), sha("442079460958"), sha("4930901820")],
            "fn": sha(&format!("ada{}", "a".repeat(n * 20))),
            "external_id": sha(&format!("c-{n}")),
            "ln": sha("obrien"),
            "ct": sha("menlopark"),
        })
    };
    let s = settings("Lead", json!({"action_source": "email"}));
    let items: Vec<wit::BatchItem> = (0..3)
        .map(|n| wit::BatchItem {
            firing: firing(&format!("f-{n}"), "form_submitted", json!({})),
            contact: contact_n(n),
        })
        .collect();
    let exec = engine().execute_batch(policy(&d), &s, &items).await;
    assert!(
        matches!(&exec.result, Ok(Ok(r)) if r.iter().all(Result::is_ok)),
        "{:?}",
        exec.result
    );
    let exec = engine()
        .execute(
            policy(&d),
            &s,
            &firing("f-3", "form_submitted", json!({})),
            &contact_n(3),
        )
        .await;
    accepted(&exec);
    let received = d.received();
    assert_eq!(received.len(), 4);
    for (n, event) in received.iter().enumerate() {
        let user_data = &event.event["user_data"];
        for (key, want) in expected(n).as_object().unwrap() {
            assert_eq!(&user_data[key], want, "contact {n}, {key}");
        }
    }
}

#[tokio::test]
async fn an_invalid_token_is_rejected_and_not_retriable() {
    let d = double().await;
    let s = serde_json::json!({"pixel_id": "1", "access_token": "EAAB-revoked", "event": "Lead", "action_source": "email"}).to_string();
    let exec = engine()
        .execute(
            Arc::new(
                EgressPolicy::graph(Some(d.url().parse().unwrap()))
                    .with_secrets(&[Secret::new("EAAB-revoked")]),
            ),
            &s,
            &firing("x", "t", json!({})),
            &contact(),
        )
        .await;
    let f = failure(&exec);
    let wit::ActionError::Rejected(e) = &f.error else {
        panic!("{f:?}")
    };
    assert_eq!(e.code, 190);
    assert!(!e.retriable);
    assert!(e.advice.contains("access token"), "{}", e.advice);
    assert!(e.fbtrace_id.is_some());
    assert_eq!(f.event_id.as_deref(), Some("x"));
    let recorded = serde_json::to_string(&exec.exchanges).unwrap();
    assert!(
        !recorded.contains("EAAB-revoked"),
        "the token was recorded: {recorded}"
    );
    assert!(d.received().is_empty());
}

#[tokio::test]
async fn server_errors_are_retriable() {
    let d = double().await;
    d.inject(Fault {
        status: 500,
        code: Some(2),
        subcode: None,
        is_transient: true,
        message: None,
        times: 1,
        when_event_id: None,
        when_user_data: None,
    });
    d.inject(Fault {
        status: 503,
        code: None,
        subcode: None,
        is_transient: false,
        message: None,
        times: 1,
        when_event_id: None,
        when_user_data: None,
    });
    let s = settings("Lead", json!({"action_source": "email"}));
    let first = execute(&d, &s, &firing("r-1", "t", json!({}))).await;
    let wit::ActionError::Rejected(e) = &failure(&first).error else {
        panic!()
    };
    assert!(e.retriable);
    assert_eq!(e.http_status, 500);
    let second = execute(&d, &s, &firing("r-1", "t", json!({}))).await;
    let wit::ActionError::Transport(t) = &failure(&second).error else {
        panic!()
    };
    assert!(t.retriable, "an HTML 503 from a proxy is worth retrying");
    // The retry carries the same event id, so Meta would deduplicate.
    let third = execute(&d, &s, &firing("r-1", "t", json!({}))).await;
    assert_eq!(accepted(&third).event_id, "r-1");
    assert_eq!(failure(&first).event_id.as_deref(), Some("r-1"));
}

#[tokio::test]
async fn egress_to_another_host_is_denied() {
    let d = double().await;
    let mut only_elsewhere = EgressPolicy::graph(Some(d.url().parse().unwrap()));
    only_elsewhere.allowed_hosts = vec!["api.example.com".into()];
    let exec = engine()
        .execute(
            Arc::new(only_elsewhere),
            &settings("Lead", json!({"action_source": "email"})),
            &firing("e-1", "t", json!({})),
            &contact(),
        )
        .await;
    let wit::ActionError::Transport(t) = &failure(&exec).error else {
        panic!("{:?}", exec.result)
    };
    assert!(
        !t.retriable,
        "a refused destination is configuration, not luck"
    );
    assert!(matches!(
        exec.exchanges[0].result,
        ExchangeResult::Denied { .. }
    ));
    assert!(d.requests().is_empty(), "nothing reached the network");
}

#[tokio::test]
async fn a_silent_graph_api_times_out_on_the_hosts_clock() {
    let (silent, _hold) = silent_server().await;
    let started = std::time::Instant::now();
    let exec = engine()
        .execute(
            Arc::new(EgressPolicy::graph(Some(silent.parse().unwrap()))),
            &settings("Lead", json!({"action_source": "email"})),
            &firing("t-1", "t", json!({})),
            &contact(),
        )
        .await;
    let wit::ActionError::Transport(t) = &failure(&exec).error else {
        panic!("{:?}", exec.result)
    };
    assert!(t.retriable);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(9),
        "bounded by the host's timeouts"
    );
}

#[tokio::test]
async fn the_double_deduplicates_a_repeated_event_id() {
    let d = double().await;
    let s = settings("Purchase", json!({"action_source": "email"}));
    let f = firing(
        "evt-1",
        "order_placed",
        json!({"order": {"id": "ORD-1", "total": 3, "currency": "USD"}}),
    );
    accepted(&execute(&d, &s, &f).await);
    accepted(&execute(&d, &s, &f).await);
    let r = d.received();
    assert_eq!(r.len(), 2);
    assert_eq!((r[0].deduplicated, r[1].deduplicated), (false, true));
    assert_eq!(r[0].event_id, r[1].event_id);
}

/// A batch whose items convert as it reaches them: an item whose trigger
/// data is not a JSON object gets its own failure in its own place, and
/// the others go out together in one request.
#[tokio::test]
async fn a_batch_answers_each_item_in_its_place_when_some_do_not_convert() {
    let d = double().await;
    let s = settings("Purchase", json!({"action_source": "email"}));
    let items: Vec<wit::BatchItem> = (0..7)
        .map(|i| {
            let mut f = firing(
                &format!("b{i}"),
                "order_placed",
                json!({"order": {"id": format!("o{i}"), "total": 3, "currency": "USD"}}),
            );
            if i % 3 == 1 {
                f.data = ["[1, 2]", "not json", "\"text\""][i / 3].into();
            }
            wit::BatchItem {
                firing: f,
                contact: contact(),
            }
        })
        .collect();
    let exec = engine().execute_batch(policy(&d), &s, &items).await;
    let results = match &exec.result {
        Ok(Ok(r)) => r,
        other => panic!("the batch failed: {other:?}"),
    };
    assert_eq!(results.len(), items.len(), "one result per item");
    for (i, r) in results.iter().enumerate() {
        match r {
            Ok(o) if i % 3 != 1 => assert_eq!(o.event_id, format!("o{i}"), "item {i}"),
            Err(wit::Failure {
                error: wit::ActionError::InvalidInput(p),
                ..
            }) if i % 3 == 1 => assert_eq!(p[0].path, "trigger.data", "item {i}"),
            other => panic!("item {i}: {other:?}"),
        }
    }
    let requests = d.requests();
    assert_eq!(requests.len(), 1, "the valid items go in one request");
    let sent: Vec<Option<String>> = d.received().iter().map(|e| e.event_id.clone()).collect();
    let expected: Vec<Option<String>> = [0, 2, 3, 5, 6].map(|i| Some(format!("o{i}"))).into();
    assert_eq!(sent, expected, "the valid items, in order");
}

/// A reused instance keeps what it read of the last settings document; a
/// platform that passes another one (an edited workflow) gets it read anew,
/// and a broken one never stands in for the valid one before it.
#[tokio::test]
async fn a_reused_instance_reads_changed_settings_anew() {
    let d = double().await;
    let mut worker = engine().worker(policy(&d), action_host::Reuse::default());
    let f = |id: &str| {
        firing(
            id,
            "order_placed",
            json!({"order": {"id": id, "total": 3, "currency": "USD"}}),
        )
    };
    let lead = settings("Lead", json!({"action_source": "email"}));
    let purchase = settings(
        "Purchase",
        json!({"action_source": "email", "mapping": {"custom_data.content_name": "edited"}}),
    );
    let broken = settings("Purchase", json!({"action_source": "telepathy"}));
    let mut names = Vec::new();
    for (i, s) in [&lead, &lead, &purchase, &broken, &purchase, &lead]
        .into_iter()
        .enumerate()
    {
        let exec = worker.execute(s, &f(&format!("f{i}")), &contact()).await;
        assert!(
            exec.reused || i == 0,
            "execution {i} ran in a fresh instance"
        );
        match &exec.result {
            Ok(Ok(o)) => names.push(o.event_name.clone()),
            Ok(Err(wit::Failure {
                error: wit::ActionError::InvalidSettings(p),
                ..
            })) => {
                assert_eq!(p[0].path, "/action_source");
                names.push("invalid".into());
            }
            other => panic!("execution {i}: {other:?}"),
        }
    }
    assert_eq!(
        names,
        ["Lead", "Lead", "Purchase", "invalid", "Purchase", "Lead"]
    );
    let received = d.received();
    assert_eq!(received.len(), 5);
    assert_eq!(
        received[2].event["custom_data"]["content_name"],
        json!("edited")
    );
    assert!(
        received[0].event["custom_data"]
            .get("content_name")
            .is_none()
    );
    assert_eq!(worker.instances(), 1);
}

#[tokio::test]
async fn checks_meta_would_fail_are_caught_before_sending() {
    let d = double().await;
    let mut old = firing("o-1", "order_placed", web(json!({"order": {"id": "o"}})));
    old.occurred_at = now() - 8 * 86_400;
    let exec = execute(&d, &settings("Purchase", json!({})), &old).await;
    let wit::ActionError::InvalidInput(p) = &failure(&exec).error else {
        panic!()
    };
    let paths: Vec<_> = p.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        ["event_time", "custom_data.value", "custom_data.currency"]
    );
    assert!(
        exec.exchanges.is_empty() && d.requests().is_empty(),
        "nothing was sent"
    );
}

#[tokio::test]
async fn invalid_settings_list_every_problem() {
    let problems = engine()
        .validate_settings(r#"{"pixel_id":"pixel","event":"Lead","action_source":"web","mapping":{"user_data.em":"{{email}}"}}"#)
        .await
        .unwrap();
    let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/pixel_id",
            "/access_token",
            "/action_source",
            "/mapping/user_data.em"
        ]
    );
}

#[tokio::test]
async fn the_component_imports_no_filesystem_and_no_sockets() {
    let imports = engine().imports();
    assert!(
        imports
            .iter()
            .any(|i| i.starts_with("wasi:http/outgoing-handler")),
        "{imports:?}"
    );
    for forbidden in ["wasi:filesystem", "wasi:sockets"] {
        assert!(
            !imports.iter().any(|i| i.starts_with(forbidden)),
            "{forbidden} in {imports:?}"
        );
    }
}

#[tokio::test]
async fn the_descriptor_carries_schema_and_defaults() {
    let d = engine().describe().await.unwrap();
    assert_eq!(d.name, "send-conversion-event");
    for e in [
        "Lead",
        "Purchase",
        "PageView",
        "InitiateCheckout",
        "CompleteRegistration",
    ] {
        assert!(d.supported_events.iter().any(|s| s == e));
    }
    let schema: Value = serde_json::from_str(&d.settings_schema).unwrap();
    assert_eq!(
        schema["properties"]["access_token"]["writeOnly"],
        json!(true)
    );
    assert_eq!(schema["properties"]["app_secret"]["writeOnly"], json!(true));
    assert_eq!(d.secret_fields, ["/access_token", "/app_secret"]);
}

#[tokio::test]
async fn each_check_before_sending_fires() {
    let d = double().await;
    let mut ahead = firing("a-1", "t", web(json!({})));
    ahead.occurred_at = now() + 3600;
    let exec = execute(&d, &settings("Lead", json!({})), &ahead).await;
    let wit::ActionError::InvalidInput(p) = &failure(&exec).error else {
        panic!()
    };
    assert_eq!(p[0].path, "event_time");
    assert!(p[0].message.contains("future"));

    let exec = execute(
        &d,
        &settings("Lead", json!({"action_source": "website"})),
        &firing("w-1", "t", json!({})),
    )
    .await;
    let wit::ActionError::InvalidInput(p) = &failure(&exec).error else {
        panic!()
    };
    let paths: Vec<_> = p.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["event_source_url", "user_data.client_user_agent"]);
    assert!(d.requests().is_empty());
}

#[tokio::test]
async fn too_little_customer_information_is_warned_and_refused_by_the_double() {
    let d = double().await;
    let s = settings(
        "Lead",
        json!({"action_source": "email", "mapping": {"user_data.external_id": ""}}),
    );
    let thin = wit::Contact {
        emails: vec![],
        phones: vec![],
        ..contact()
    };
    let exec = engine()
        .execute(policy(&d), &s, &firing("thin-1", "t", json!({})), &thin)
        .await;
    let f = failure(&exec);
    assert!(
        f.warnings
            .iter()
            .any(|w| w.field == "user_data" && w.message.contains("2804050")),
        "{:?}",
        f.warnings
    );
    let wit::ActionError::Rejected(e) = &f.error else {
        panic!("{f:?}")
    };
    assert_eq!((e.code, e.subcode), (100, Some(2804050)));
    assert!(!e.retriable);
}

#[tokio::test]
async fn a_contact_who_opted_out_is_skipped_not_sent() {
    let d = double().await;
    let s = settings(
        "Lead",
        json!({"action_source": "email", "consent_field": "dnd"}),
    );
    let opted_out = wit::Contact {
        custom_fields: r#"{"dnd": "yes"}"#.into(),
        ..contact()
    };
    let exec = engine()
        .execute(policy(&d), &s, &firing("s-9", "t", json!({})), &opted_out)
        .await;
    let o = accepted(&exec);
    assert!(o.skipped.as_deref().unwrap().contains("opted out"));
    assert_eq!(o.event_id, "s-9");
    assert_eq!(o.events_received, 0);
    assert!(exec.exchanges.is_empty() && d.requests().is_empty());
}

#[tokio::test]
async fn limited_data_use_crm_lead_stages_and_follow_ups_reach_the_double() {
    let d = double().await;
    let s = settings(
        "Qualified Lead",
        json!({
            "action_source": "system_generated",
            "lead_event_source": "Hoop CRM",
            "limited_data_use": "california_contacts",
            "mapping": {
                "original_event_data.event_name": "Lead",
                "original_event_data.event_id": "{{trigger.first_event_id}}"
            }
        }),
    );
    let f = firing(
        "stage-1",
        "lead_stage_changed",
        json!({"lead_id": "1234567890123456", "first_event_id": "sub-1"}),
    );
    accepted(&execute(&d, &s, &f).await);
    let e = &d.received()[0].event;
    assert_eq!(e["action_source"], json!("system_generated"));
    assert_eq!(
        e["user_data"]["lead_id"],
        json!("1234567890123456"),
        "lead_id goes raw"
    );
    assert_eq!(e["custom_data"]["event_source"], json!("crm"));
    assert_eq!(e["custom_data"]["lead_event_source"], json!("Hoop CRM"));
    assert_eq!(e["data_processing_options"], json!(["LDU"]));
    assert_eq!(
        (
            e["data_processing_options_country"].clone(),
            e["data_processing_options_state"].clone()
        ),
        (json!(1), json!(1000))
    );
    assert_eq!(
        e["original_event_data"],
        json!({"event_name": "Lead", "event_id": "sub-1"})
    );
}

#[tokio::test]
async fn the_double_refuses_what_meta_refuses() {
    let d = double().await;
    let t = now() - 10;
    let auth = format!("authorization: Bearer {TOKEN}\r\n");
    let cases = [
        (
            json!({"event_name": "Lead", "event_time": t, "action_source": "email", "user_data": {"em": "john@example.com"}}),
            None,
            "must be a SHA-256",
        ),
        (
            json!({"event_name": "Lead", "event_time": t, "action_source": "email", "user_data": {"em": sha("a"), "client_ip_address": sha("b")}}),
            None,
            "must not be hashed",
        ),
        (
            json!({"event_name": "Lead", "event_time": t, "action_source": "email", "user_data": {"fbc": "fb.1.x"}}),
            Some(2804001),
            "fbc",
        ),
        (
            json!({"event_name": "Lead", "event_time": t - 8 * 86_400, "action_source": "email", "user_data": {"em": sha("a")}}),
            Some(2804003),
            "past",
        ),
        (
            json!({"event_name": "Lead", "event_time": t, "action_source": "web", "user_data": {"em": sha("a")}}),
            None,
            "action_source",
        ),
        (
            json!({"event_name": "Lead", "event_time": t, "action_source": "website", "user_data": {"em": sha("a")}}),
            None,
            "event_source_url",
        ),
        (
            json!({"event_name": "Purchase", "event_time": t, "action_source": "email", "user_data": {"em": sha("a")}, "custom_data": {"value": 3}}),
            Some(2804009),
            "currency",
        ),
        (
            json!({"event_name": "Lead", "event_time": t, "action_source": "email", "user_data": {"em": sha("a")}, "custom_data": {"currency": "dollars"}}),
            None,
            "ISO 4217",
        ),
        (
            json!({"event_name": "Lead", "event_time": t, "action_source": "email", "user_data": {"client_ip_address": "1.2.3.4"}}),
            Some(2804050),
            "customer information",
        ),
    ];
    for (event, subcode, words) in cases {
        let (status, answer) = post_raw(
            &d.url(),
            "/v24.0/123/events",
            &auth,
            &json!({"data": [event]}).to_string(),
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["code"], json!(100), "{answer}");
        assert_eq!(
            answer["error"]["error_subcode"].as_i64(),
            subcode.map(i64::from),
            "{answer}"
        );
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(words),
            "{answer}"
        );
    }
    let batch: Vec<Value> = (0..1001).map(|i| json!({"event_name": "Lead", "event_time": t, "event_id": i, "action_source": "email", "user_data": {"em": sha("a")}})).collect();
    let (status, answer) = post_raw(
        &d.url(),
        "/v24.0/123/events",
        &auth,
        &json!({"data": batch}).to_string(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 1000")
    );
    let (status, answer) = post_raw(
        &d.url(),
        "/v24.0/123/events",
        "",
        &json!({"data": []}).to_string(),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (400, json!(104)),
        "no token"
    );
    assert!(d.received().is_empty());
}

/// Writes `head` and then `body_len` bytes of body to the double, ignoring
/// a connection closed early, and returns the status it answered.
async fn send_raw(addr: &str, head: &str, body_len: usize) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    sock.write_all(head.as_bytes()).await.ok()?;
    let chunk = vec![b' '; 1 << 20];
    let mut left = body_len;
    while left > 0 {
        let n = left.min(chunk.len());
        if sock.write_all(&chunk[..n]).await.is_err() {
            break;
        }
        left -= n;
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        sock.read_to_end(&mut answer),
    )
    .await;
    String::from_utf8_lossy(answer.get(9..12)?).parse().ok()
}

#[tokio::test]
async fn the_double_refuses_a_huge_body_without_keeping_it() {
    let d = double().await;
    let addr = d.addr().to_string();
    let len = 64 << 20;
    let head = format!(
        "POST /v24.0/1/events HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {TOKEN}\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n\r\n"
    );
    assert_eq!(send_raw(&addr, &head, len).await, Some(413));
    assert!(d.received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_neither_stall_the_double_nor_stay_forever() {
    use tokio::io::AsyncReadExt;
    let d = double().await;
    let mut idle = Vec::new();
    for _ in 0..60 {
        idle.push(tokio::net::TcpStream::connect(d.addr()).await.unwrap());
    }
    let answered = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        http_json("GET", &d.url(), "/_double/stats", None),
    )
    .await
    .expect("a real request is answered while 60 connections idle");
    assert_eq!(answered.0, 200);
    let mut buf = [0u8; 1];
    let closed =
        tokio::time::timeout(std::time::Duration::from_secs(15), idle[0].read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "a connection that never sends its headers is closed: {closed:?}"
    );
}

#[tokio::test]
async fn the_doubles_controls_refuse_other_origins_and_hosts() {
    let d = double().await;
    let addr = d.addr().to_string();
    let fault = r#"{"status":503,"times":1}"#;
    let post = |host: &str, extra: &str, content_type: &str| {
        format!(
            "POST /_double/faults HTTP/1.1\r\nhost: {host}\r\ncontent-type: {content_type}\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{fault}",
            fault.len()
        )
    };
    for (what, request) in [
        (
            "another origin",
            post(&addr, "origin: http://evil.example\r\n", "application/json"),
        ),
        (
            "a rebound host name",
            post("evil.example", "", "application/json"),
        ),
        (
            "a simple cross-site form",
            post(&addr, "sec-fetch-site: cross-site\r\n", "application/json"),
        ),
        (
            "text that needs no preflight",
            post(&addr, "", "text/plain"),
        ),
    ] {
        assert_eq!(send_raw(&addr, &request, 0).await, Some(403), "{what}");
    }
    assert_eq!(
        send_raw(
            &addr,
            &post(
                &addr,
                &format!("origin: http://{addr}\r\n"),
                "application/json"
            ),
            0
        )
        .await,
        Some(200),
        "its own page may"
    );
}

/// An app with "Require App Secret" on takes only requests that carry the
/// token's `appsecret_proof`: with the app's secret in the settings they
/// are accepted; without it, or with another, each says what to paste, and
/// the secret never leaves the component, nor shows in what is recorded.
#[tokio::test]
async fn an_app_that_requires_its_secret_takes_requests_with_the_proof_and_says_when_it_is_missing()
{
    const APP_SECRET: &str = "5f1b6c0e9d2a4b7c8e3f1a2b3c4d5e6f";
    let d = double_with_config(graph_double::DoubleConfig {
        app_secret: Some(APP_SECRET.into()),
        ..Default::default()
    })
    .await;
    let with = settings(
        "Lead",
        json!({"action_source": "email", "app_secret": APP_SECRET}),
    );
    let exec = execute(&d, &with, &firing("s-1", "t", json!({}))).await;
    accepted(&exec);
    // Sent, and kept only redacted: with the token, the proof would act as
    // the app.
    assert!(
        exec.exchanges[0]
            .request_body
            .contains(r#""appsecret_proof":"[redacted]""#),
        "{}",
        exec.exchanges[0].request_body
    );
    let recorded = serde_json::to_string(&exec.exchanges).unwrap();
    assert!(!recorded.contains(APP_SECRET), "{recorded}");
    assert!(
        !d.requests()
            .iter()
            .any(|r| format!("{r:?}").contains(APP_SECRET)),
        "the secret itself is never sent"
    );
    let other = settings(
        "Lead",
        json!({"action_source": "email", "app_secret": "another-apps-secret"}),
    );
    for (s, says) in [
        (
            settings("Lead", json!({"action_source": "email"})),
            "require an appsecret_proof",
        ),
        (other, "Invalid appsecret_proof"),
    ] {
        let exec = execute(&d, &s, &firing("s-2", "t", json!({}))).await;
        let f = failure(&exec);
        let wit::ActionError::Rejected(e) = &f.error else {
            panic!("{f:?}")
        };
        assert_eq!(e.code, 100);
        assert!(!e.retriable);
        assert!(e.message.contains(says), "{}", e.message);
        assert!(e.advice.contains("app_secret setting"), "{}", e.advice);
    }
    assert_eq!(d.received().len(), 1);
}

#[tokio::test]
async fn the_double_keeps_a_bounded_history_and_says_what_it_dropped() {
    let d = double_with_config(graph_double::DoubleConfig {
        max_kept: 10,
        ..Default::default()
    })
    .await;
    let s = settings("Lead", json!({"action_source": "email"}));
    for i in 0..25 {
        let exec = execute(&d, &s, &firing(&format!("b-{i}"), "t", json!({}))).await;
        accepted(&exec);
    }
    let stats = d.stats();
    assert_eq!((stats.kept_events, stats.dropped_events), (10, 15));
    assert_eq!((stats.kept_requests, stats.dropped_requests), (10, 15));
    assert_eq!(
        d.received().last().unwrap().event_id.as_deref(),
        Some("b-24"),
        "the newest are kept"
    );
}

/// A key given twice counts with its last value, as the double read
/// requests when it built `serde_json` values of them: `data` too.
#[tokio::test]
async fn the_double_reads_a_repeated_key_as_its_last_value() {
    let d = double().await;
    let auth = format!("authorization: Bearer {TOKEN}\r\n");
    let event = |id: &str| {
        json!({"event_name": "Lead", "event_time": now(), "event_id": id, "action_source": "email", "user_data": {"em": sha("a")}}).to_string()
    };
    let body = format!(
        r#"{{"data": [{}], "data": [{}, {}]}}"#,
        event("first"),
        event("second"),
        event("third")
    );
    let (status, answer) = post_raw(&d.url(), "/v24.0/123/events", &auth, &body).await;
    assert_eq!((status, &answer["events_received"]), (200, &json!(2)));
    let ids: Vec<_> = d
        .received()
        .into_iter()
        .map(|e| e.event_id.unwrap())
        .collect();
    assert_eq!(ids, ["second", "third"]);
    assert_eq!(d.received()[1].event["event_id"], json!("third"));
}

/// One request carrying more events than the double keeps: the last ones
/// are kept, the others counted as dropped, and every one is still
/// remembered for deduplication.
#[tokio::test]
async fn a_batch_larger_than_the_history_keeps_its_last_events_and_deduplicates_all() {
    let d = double_with_config(graph_double::DoubleConfig {
        max_kept: 10,
        ..Default::default()
    })
    .await;
    let auth = format!("authorization: Bearer {TOKEN}\r\n");
    let t = now();
    let batch: Vec<Value> = (0..25)
        .map(|i| json!({"event_name": "Lead", "event_time": t, "event_id": format!("b-{i}"), "action_source": "email", "user_data": {"em": sha("a")}}))
        .collect();
    let body = json!({"data": batch}).to_string();
    let (status, answer) = post_raw(&d.url(), "/v24.0/123/events", &auth, &body).await;
    assert_eq!((status, &answer["events_received"]), (200, &json!(25)));
    let stats = d.stats();
    assert_eq!((stats.kept_events, stats.dropped_events), (10, 15));
    let kept: Vec<_> = d
        .received()
        .into_iter()
        .map(|e| e.event_id.unwrap())
        .collect();
    let last: Vec<_> = (15..25).map(|i| format!("b-{i}")).collect();
    assert_eq!(
        kept, last,
        "the last events of the batch are kept, in order"
    );
    assert_eq!(d.received()[0].event["user_data"]["em"], json!(sha("a")));
    // What the Test Events page reads is what `received` gives.
    let (status, listed) = http_json("GET", &d.url(), "/_double/events", None).await;
    assert_eq!(status, 200);
    assert_eq!(listed, serde_json::to_value(d.received()).unwrap());

    // The same batch again: every event, kept or not the first time, is a
    // duplicate now.
    let (status, _) = post_raw(&d.url(), "/v24.0/123/events", &auth, &body).await;
    assert_eq!(status, 200);
    assert_eq!(d.stats().dedup_keys, 25);
    assert!(d.received().iter().all(|e| e.deduplicated));
}
