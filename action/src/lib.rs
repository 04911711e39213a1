//! Send Conversion Event: a workflow action that sends a conversion to
//! Meta's Conversions API.
//!
//! The core is plain Rust, compiled and tested natively: [`names`] holds
//! Meta's event names and action sources, [`settings`] reads what the
//! builder filled in, [`consent`] skips contacts who opted out,
//! [`mapping`] resolves merge fields in the trigger's data and the contact
//! (JSON read once into a [`json_tree`]),
//! [`normalize`] prepares customer data as Meta matches it
//! ([`sha256_lanes`] hashes an event's values together), [`event`] builds
//! and checks the event, [`graph`] speaks the Graph API. [`execute`] ties
//! them together around a transport function; on `wasm32` the component
//! glue supplies one that sends through `wasi:http`.

// The error types mirror the WIT records and are returned by value, once per
// execution: boxing them would only add an allocation.
#![allow(clippy::result_large_err)]

pub mod consent;
mod country_names;
pub mod digests;
pub mod event;
pub mod graph;
pub mod input;
pub mod json_tree;
pub mod mapping;
pub mod names;
pub mod normalize;
pub mod outcome;
pub mod regions;
pub mod settings;
pub mod sha256_lanes;
pub mod suggest;

#[cfg(target_arch = "wasm32")]
mod component;

use digests::Digests;
use input::{Contact, Firing};
use outcome::{ActionError, Failure, Outcome, Problem, TransportFailure, Warning};
use std::borrow::Borrow;

/// The action's machine name.
pub const NAME: &str = "send-conversion-event";

/// How the action presents itself to the workflow builder.
#[derive(Debug, Clone)]
pub struct Descriptor {
    /// Machine name.
    pub name: String,
    /// Title in the builder.
    pub title: String,
    /// Version.
    pub version: String,
    /// One paragraph for the side panel.
    pub description: String,
    /// Event names offered in the picker.
    pub supported_events: Vec<String>,
    /// JSON Schema of the settings.
    pub settings_schema: String,
    /// JSON pointers of secret settings.
    pub secret_fields: Vec<String>,
    /// Default mapping per event, JSON.
    pub default_mappings: String,
    /// Merge-field catalogue, JSON.
    pub merge_fields: String,
}

/// The action's descriptor.
pub fn descriptor() -> Descriptor {
    Descriptor {
        name: NAME.into(),
        title: "Send Conversion Event".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        description: "Sends the conversion from the platform's server to Meta's Conversions API, \
            so ad blockers, cookie limits and iOS opt-outs no longer hide it. Contact data is \
            normalised and SHA-256-hashed as Meta matches it; the event id lets Meta deduplicate \
            it with the website's Pixel."
            .into(),
        supported_events: names::STANDARD_EVENTS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        settings_schema: settings::schema().to_string(),
        secret_fields: settings::SECRET_FIELDS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        default_mappings: mapping::defaults_document().to_string(),
        merge_fields: mapping::catalogue().to_string(),
    }
}

/// Every problem of a settings document; empty when valid.
pub fn validate_settings(json: &str) -> Vec<Problem> {
    settings::parse(json).err().unwrap_or_default()
}

/// Sends one HTTP request and gives back the status and body, or why there
/// is no answer.
pub type Send<'a> = dyn FnMut(&graph::Request) -> Result<(u16, String), TransportFailure> + 'a;

/// What the action would send for one firing, without sending it.
#[derive(Debug, Clone)]
pub struct Preview {
    /// The event name.
    pub event_name: String,
    /// The deduplication id.
    pub event_id: String,
    /// The `event_time`.
    pub event_time: i64,
    /// The action source.
    pub action_source: names::ActionSource,
    /// Whether a test event code is attached.
    pub test_event: bool,
    /// The request, unless the event is skipped.
    pub request: Option<graph::Request>,
    /// The `user_data` keys that go out valid.
    pub match_keys: Vec<normalize::UserKey>,
    /// Fields dropped or corrected.
    pub warnings: Vec<outcome::Warning>,
    /// Why the event is deliberately not sent.
    pub skipped: Option<String>,
}

/// Builds the request one firing makes, sending nothing. `now` is the
/// current Unix time in seconds.
pub fn preview(
    settings_json: &str,
    firing: &Firing,
    contact: &Contact,
    now: i64,
) -> Result<Preview, Failure> {
    preview_with(&read_settings(settings_json)?, firing, contact, now)
}

/// [`preview`] with settings already read.
pub fn preview_with(
    settings: &settings::Settings,
    firing: &Firing,
    contact: &Contact,
    now: i64,
) -> Result<Preview, Failure> {
    let (mut preview, event) = prepare(settings, firing, contact, now, &mut Digests::none())?;
    preview.request = event.map(|e| graph::request(settings, std::slice::from_ref(&e)));
    Ok(preview)
}

/// Reads a settings document, or the failure every firing of it gets.
pub fn read_settings(settings_json: &str) -> Result<settings::Settings, Failure> {
    settings::parse(settings_json).map_err(|p| Failure::bare(ActionError::InvalidSettings(p)))
}

/// The event of one firing and what is known of it, or why there is none.
/// The preview's `request` is left empty; the event is `None` when skipped.
fn prepare(
    settings: &settings::Settings,
    firing: &Firing,
    contact: &Contact,
    now: i64,
    digests: &mut Digests,
) -> Result<(Preview, Option<event::Event>), Failure> {
    let event_name = settings.event.as_str().to_string();
    if let Some(reason) = consent::refusal(settings, contact, firing) {
        let preview = Preview {
            event_name,
            event_id: event::event_id(settings, contact, firing),
            event_time: firing.occurred_at,
            action_source: settings.action_source,
            test_event: settings.test_event_code.is_some(),
            request: None,
            match_keys: Vec::new(),
            warnings: Vec::new(),
            skipped: Some(reason),
        };
        return Ok((preview, None));
    }
    let built =
        event::build_with(settings, contact, firing, now, digests).map_err(|r| Failure {
            error: ActionError::InvalidInput(r.problems),
            event_name: Some(event_name.clone()),
            event_id: Some(r.event_id),
            warnings: r.warnings,
        })?;
    let preview = Preview {
        event_name,
        event_id: built.event.event_id.clone(),
        event_time: built.event.event_time,
        action_source: settings.action_source,
        test_event: settings.test_event_code.is_some(),
        request: None,
        match_keys: built.match_keys,
        warnings: built.warnings,
        skipped: None,
    };
    Ok((preview, Some(built.event)))
}

/// The outcome of a prepared event: with Meta's acknowledgement and how many
/// events its request carried when it was sent, `None` when skipped.
fn outcome(mut p: Preview, sent: Option<(graph::Ack, usize)>) -> Outcome {
    let ack = match sent {
        Some((ack, carried)) => {
            if let Some(w) = miscounted(&ack, carried) {
                p.warnings.push(w);
            }
            ack
        }
        None => graph::Ack {
            events_received: 0,
            messages: Vec::new(),
            fbtrace_id: String::new(),
        },
    };
    Outcome {
        event_name: p.event_name,
        event_id: p.event_id,
        event_time: p.event_time,
        action_source: p.action_source,
        events_received: ack.events_received,
        fbtrace_id: ack.fbtrace_id,
        messages: ack.messages,
        match_keys: p.match_keys,
        test_event: p.test_event,
        warnings: p.warnings,
        skipped: p.skipped,
    }
}

/// A warning when Meta's `events_received` is not the number of events the
/// request carried. Meta counts every event of a request it accepts
/// (duplicates included) and refuses a request with an invalid event whole,
/// so another count means the answer did not come from Meta as documented
/// (a proxy, a stub), or events were lost on the way. The event stays
/// accepted: the answer was a success, and sending it again could not tell
/// which events Meta lacks.
fn miscounted(ack: &graph::Ack, carried: usize) -> Option<Warning> {
    let received = ack.events_received as usize;
    (received != carried).then(|| {
        let fbtrace = if ack.fbtrace_id.is_empty() {
            String::new()
        } else {
            format!(" (fbtrace_id {})", ack.fbtrace_id)
        };
        let request = if carried == 1 {
            "the 1 event this request sent".to_string()
        } else {
            format!("the {carried} events this request sent")
        };
        Warning::new(
            "events_received",
            format!(
                "Meta acknowledged {received} of {request}{fbtrace}: check in Events Manager that this event arrived"
            ),
        )
    })
}

/// The failure of a prepared event.
fn failure(p: &Preview, error: ActionError) -> Failure {
    Failure {
        error,
        event_name: Some(p.event_name.clone()),
        event_id: Some(p.event_id.clone()),
        warnings: p.warnings.clone(),
    }
}

/// Meta's answer to one request, for every event it carried.
fn answered(sent: Result<(u16, String), TransportFailure>) -> Result<graph::Ack, ActionError> {
    let (status, body) = sent.map_err(ActionError::Transport)?;
    match graph::answer(status, &body) {
        graph::Answer::Ack(ack) => Ok(ack),
        graph::Answer::Rejected(e) => Err(ActionError::Rejected(e)),
        graph::Answer::Garbled(t) => Err(ActionError::Transport(t)),
    }
}

/// Runs the action for one firing: builds the event, sends it with `send`,
/// reads Meta's answer. `now` is the current Unix time in seconds.
pub fn execute(
    settings_json: &str,
    firing: &Firing,
    contact: &Contact,
    now: i64,
    send: &mut Send<'_>,
) -> Result<Outcome, Failure> {
    execute_with(&read_settings(settings_json)?, firing, contact, now, send)
}

/// [`execute`] with settings already read: a host that runs many firings of
/// one action reads its settings once.
pub fn execute_with(
    settings: &settings::Settings,
    firing: &Firing,
    contact: &Contact,
    now: i64,
    send: &mut Send<'_>,
) -> Result<Outcome, Failure> {
    let (mut p, event) = prepare(settings, firing, contact, now, &mut Digests::none())?;
    let Some(mut event) = event else {
        return Ok(outcome(p, None));
    };
    let mut answer = answered(send(&graph::request(
        settings,
        std::slice::from_ref(&event),
    )));
    if without_refused_click_id(&answer, &mut event, &mut p) {
        answer = answered(send(&graph::request(
            settings,
            std::slice::from_ref(&event),
        )));
    }
    match answer {
        Ok(ack) => Ok(outcome(p, Some((ack, 1)))),
        Err(e) => Err(failure(&p, e)),
    }
}

/// Meta refuses a whole event whose click id (`fbc`) it reads as malformed
/// (code 100, subcode 2804001), though the rest of it could match: when
/// `answer` is that refusal of `event` alone, its `fbc` is taken out, with
/// a warning, so that the event goes again without it. A request of many
/// events is refused whole and says not which: the host splits it until
/// the event at fault goes alone. Whether `event` is to be sent again.
fn without_refused_click_id(
    answer: &Result<graph::Ack, ActionError>,
    event: &mut event::Event,
    p: &mut Preview,
) -> bool {
    let refused = matches!(answer, Err(ActionError::Rejected(e)) if e.code == 100 && e.subcode == Some(2804001));
    if !refused || !event.user_data.remove(normalize::UserKey::Fbc) {
        return false;
    }
    p.match_keys.retain(|k| *k != normalize::UserKey::Fbc);
    p.warnings.push(Warning::new(
        "user_data.fbc",
        "Meta refused the click id (fbc) as malformed (2804001), so the event was sent again without it: map user_data.fbc to the _fbc cookie as the Pixel wrote it.",
    ));
    true
}

/// Runs the action for many firings with one request per
/// [`graph::MAX_BATCH`] events. Each firing is checked on its own first: one
/// that cannot make a valid event gets its failure and is left out, so Meta
/// never refuses the whole batch for it. One result per item, in order; an
/// accepted item's `events_received` is the request's.
pub fn execute_batch(
    settings_json: &str,
    items: &[(Firing, Contact)],
    now: i64,
    send: &mut Send<'_>,
) -> Vec<Result<Outcome, Failure>> {
    match read_settings(settings_json) {
        Ok(settings) => execute_batch_with(&settings, items, now, send),
        Err(f) => items.iter().map(|_| Err(f.clone())).collect(),
    }
}

/// [`execute_batch`] with settings already read. Items given by value are
/// dropped as soon as their event is written into the request body, so a
/// batch never holds its input, its events and its body all at once.
pub fn execute_batch_with<I>(
    settings: &settings::Settings,
    items: I,
    now: i64,
    send: &mut Send<'_>,
) -> Vec<Result<Outcome, Failure>>
where
    I: IntoIterator,
    I::Item: std::borrow::Borrow<(Firing, Contact)>,
{
    let items = items.into_iter();
    // Room for every item the iterator may give: one that converts items
    // as it goes (and leaves out those that do not convert) knows only
    // its upper bound.
    let (lower, upper) = items.size_hint();
    let expected = upper.unwrap_or(lower).min(1 << 20);
    let mut results: Vec<Option<Result<Outcome, Failure>>> = Vec::with_capacity(expected);
    // The items written into the body, waiting for its answer.
    let mut waiting: Vec<(usize, Preview)> = Vec::new();
    let mut body: Option<graph::BodyWriter> = None;
    // The event of a body that holds only one, kept to be sent again
    // without a click id Meta refuses (see `without_refused_click_id`).
    let mut alone: Option<event::Event> = None;
    let mut digests = Digests::new();
    let mut flush = |body: graph::BodyWriter,
                     alone: Option<event::Event>,
                     waiting: &mut Vec<(usize, Preview)>,
                     results: &mut Vec<Option<Result<Outcome, Failure>>>| {
        let mut answer = answered(send(&body.finish(settings)));
        if let (Some(mut event), [(_, p)]) = (alone, waiting.as_mut_slice())
            && without_refused_click_id(&answer, &mut event, p)
        {
            answer = answered(send(&graph::request(
                settings,
                std::slice::from_ref(&event),
            )));
        }
        let carried = waiting.len();
        for (i, p) in waiting.drain(..) {
            results[i] = Some(match &answer {
                Ok(ack) => Ok(outcome(p, Some((ack.clone(), carried)))),
                Err(e) => Err(failure(&p, e.clone())),
            });
        }
    };
    for (i, item) in items.enumerate() {
        let (firing, contact): &(Firing, Contact) = item.borrow();
        results.push(None);
        match prepare(settings, firing, contact, now, &mut digests) {
            Ok((p, Some(e))) => {
                let b = body.get_or_insert_with(|| {
                    graph::BodyWriter::with_capacity(expected.saturating_sub(i))
                });
                b.push(&e);
                alone = (b.len() == 1).then_some(e);
                waiting.push((i, p));
                if b.len() == graph::MAX_BATCH
                    && let Some(full) = body.take()
                {
                    flush(full, alone.take(), &mut waiting, &mut results);
                }
            }
            Ok((p, None)) => results[i] = Some(Ok(outcome(p, None))),
            Err(f) => results[i] = Some(Err(f)),
        }
    }
    if let Some(rest) = body.take() {
        flush(rest, alone.take(), &mut waiting, &mut results);
    }
    results
        .into_iter()
        .map(|r| r.expect("every item has its result"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SETTINGS: &str = r#"{"pixel_id":"123","access_token":"secret-token","event":"Lead","action_source":"email","test_event_code":"TEST1"}"#;

    fn contact() -> Contact {
        Contact {
            id: "c1".into(),
            emails: vec!["a@example.com".into()],
            ..Contact::default()
        }
    }

    /// When the click-id tests' firings happened, Unix seconds.
    const NOW: i64 = 1_790_000_000;

    /// A Lead whose landing URL carries a click id, so that it has an fbc.
    fn clicked(id: &str) -> Firing {
        let mut f = Firing::new(id, "form_submitted", NOW);
        f.data = json!({"page": {"url": "https://shop.example/?fbclid=IwAbC"}}).into();
        f
    }

    /// Meta's answer to a request: the click id refused as malformed
    /// (2804001) while any event carries one, else accepted.
    fn refusing_click_ids(
        requests: &mut Vec<serde_json::Value>,
        r: &graph::Request,
    ) -> (u16, String) {
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        let events = body["data"].as_array().unwrap().len();
        let with_fbc = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["user_data"].get("fbc").is_some());
        requests.push(body);
        if with_fbc {
            (
                400,
                r#"{"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"error_subcode":2804001,"fbtrace_id":"F"}}"#.into(),
            )
        } else {
            (
                200,
                format!(r#"{{"events_received":{events},"messages":[],"fbtrace_id":"T"}}"#),
            )
        }
    }

    #[test]
    fn a_click_id_meta_refuses_is_taken_out_and_the_event_sent_again() {
        let fbc = |body: &serde_json::Value| body["data"][0]["user_data"].get("fbc").is_some();
        // Alone, by `execute` and in a batch of one.
        let mut requests = Vec::new();
        let out = execute(
            SETTINGS,
            &clicked("sub-1"),
            &contact(),
            NOW + 10,
            &mut |r| Ok(refusing_click_ids(&mut requests, r)),
        )
        .unwrap();
        assert_eq!(requests.len(), 2);
        assert!(fbc(&requests[0]) && !fbc(&requests[1]));
        assert_eq!(
            requests[0]["data"][0]["event_id"],
            requests[1]["data"][0]["event_id"]
        );
        assert!(!out.match_keys.contains(&normalize::UserKey::Fbc));
        assert!(
            out.warnings
                .iter()
                .any(|w| w.field == "user_data.fbc" && w.message.contains("2804001")),
            "{:?}",
            out.warnings
        );
        let mut requests = Vec::new();
        let one = [(clicked("sub-1"), contact())];
        let results = execute_batch(SETTINGS, &one, NOW + 10, &mut |r| {
            Ok(refusing_click_ids(&mut requests, r))
        });
        assert_eq!(requests.len(), 2);
        assert!(
            results[0]
                .as_ref()
                .unwrap()
                .warnings
                .iter()
                .any(|w| w.field == "user_data.fbc")
        );
        // Refused for another reason, or without a click id to take out: no
        // second request.
        let mut sent = 0;
        let failed = execute(SETTINGS, &Firing::new("sub-2", "form_submitted", NOW), &contact(), NOW + 10, &mut |_| {
            sent += 1;
            Ok((400, r#"{"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"error_subcode":2804001}}"#.into()))
        })
        .unwrap_err();
        assert_eq!(sent, 1);
        assert!(matches!(failed.error, ActionError::Rejected(ref e) if e.subcode == Some(2804001)));
        let mut sent = 0;
        execute(SETTINGS, &clicked("sub-3"), &contact(), NOW + 10, &mut |_| {
            sent += 1;
            Ok((400, r#"{"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"error_subcode":2804050}}"#.into()))
        })
        .unwrap_err();
        assert_eq!(sent, 1);
        // Two events refused together: Meta does not say which one, so
        // neither loses its click id here (the host splits the batch).
        let mut requests = Vec::new();
        let two = [(clicked("sub-4"), contact()), (clicked("sub-5"), contact())];
        let results = execute_batch(SETTINGS, &two, NOW + 10, &mut |r| {
            Ok(refusing_click_ids(&mut requests, r))
        });
        assert_eq!(requests.len(), 1);
        assert!(results.iter().all(|r| r.is_err()));
    }

    #[test]
    fn sends_one_event_with_bearer_token_and_reads_the_ack() {
        let mut seen = None;
        let firing = Firing::new("sub-1", "form_submitted", 1_000);
        let out = execute(SETTINGS, &firing, &contact(), 1_010, &mut |r| {
            seen = Some(r.clone());
            Ok((
                200,
                r#"{"events_received":1,"messages":[],"fbtrace_id":"T"}"#.into(),
            ))
        })
        .unwrap();
        let req = seen.unwrap();
        assert_eq!(req.url, "https://graph.facebook.com/v24.0/123/events");
        assert_eq!(req.authorization, "Bearer secret-token");
        assert!(!req.body.contains("secret-token") && !req.url.contains("secret-token"));
        let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
        assert_eq!(body["test_event_code"], json!("TEST1"));
        assert_eq!(body["data"][0]["event_id"], json!("sub-1"));
        assert_eq!(body["data"][0]["action_source"], json!("email"));
        assert_eq!(out.event_id, "sub-1");
        assert_eq!(out.fbtrace_id, "T");
        assert!(out.test_event);
        assert_eq!(
            out.match_keys,
            [normalize::UserKey::Em, normalize::UserKey::ExternalId]
        );
    }

    #[test]
    fn the_same_firing_always_gets_the_same_event_id() {
        let firing = Firing::new("sub-1", "form_submitted", 1_000);
        let mut ids = Vec::new();
        for _ in 0..2 {
            let f = execute(SETTINGS, &firing, &contact(), 1_010, &mut |_| {
                Err(TransportFailure {
                    message: "timeout".into(),
                    retriable: true,
                })
            })
            .unwrap_err();
            assert!(f.error.retriable());
            ids.push(f.event_id.unwrap());
        }
        assert_eq!(ids[0], ids[1]);
    }

    #[test]
    fn a_batch_sends_each_event_as_it_would_go_alone() {
        // Genders, countries and states that repeat and that differ, some
        // already hashed by the platform, so that the batch's memo of their
        // digests is hit, missed and bypassed.
        let people = [
            ("f", "US", "California"),
            ("male", "us", "CA"),
            ("F", "Germany", "Bayern"),
            ("m", "US", "Texas"),
            ("female", "DE", "bayern"),
            ("f", "United States", "california"),
            (
                "m",
                "FR",
                "6959097001d10501ac7d54c0bdb8db61420f658f2922cc26e46d536119a31126",
            ),
            ("", "CA", "Quebec"),
        ];
        let items: Vec<(Firing, Contact)> = people
            .iter()
            .enumerate()
            .map(|(i, (gender, country, state))| {
                let contact = Contact {
                    id: format!("c{i}"),
                    emails: vec![format!("person{i}@example.com")],
                    gender: Some(gender.to_string()),
                    country: Some(country.to_string()),
                    state: Some(state.to_string()),
                    city: Some("Springfield".into()),
                    ..Contact::default()
                };
                (
                    Firing::new(format!("f{i}"), "form_submitted", 1_000),
                    contact,
                )
            })
            .collect();
        let mut batch = Vec::new();
        execute_batch(SETTINGS, &items, 1_010, &mut |r| {
            batch.push(r.body.clone());
            Ok((200, r#"{"events_received":8,"fbtrace_id":"B"}"#.into()))
        });
        let batch: serde_json::Value = serde_json::from_str(&batch[0]).unwrap();
        for (i, (firing, contact)) in items.iter().enumerate() {
            let alone = preview(SETTINGS, firing, contact, 1_010).unwrap();
            let alone: serde_json::Value =
                serde_json::from_str(&alone.request.unwrap().body).unwrap();
            assert_eq!(batch["data"][i], alone["data"][0], "item {i}");
        }
        let user_data = |i: usize| &batch["data"][i]["user_data"];
        assert_eq!(user_data(0)["st"], user_data(5)["st"], "the same state");
        assert_ne!(user_data(0)["st"], user_data(3)["st"], "another state");
        assert_eq!(user_data(2)["country"], user_data(4)["country"]);
        assert_eq!(user_data(0)["ge"], user_data(2)["ge"]);
        assert_ne!(user_data(0)["ge"], user_data(1)["ge"]);
    }

    #[test]
    fn a_batch_sets_aside_what_cannot_go_and_sends_the_rest_in_one_request() {
        let mut invalid = Firing::new("old", "form_submitted", 1);
        invalid.occurred_at = 1_000 - 8 * 86_400;
        let items = vec![
            (Firing::new("a", "form_submitted", 1_000), contact()),
            (invalid, contact()),
            (Firing::new("b", "form_submitted", 1_000), contact()),
        ];
        let mut requests = Vec::new();
        let results = execute_batch(SETTINGS, &items, 1_010, &mut |r| {
            requests.push(r.body.clone());
            Ok((200, r#"{"events_received":2,"fbtrace_id":"B"}"#.into()))
        });
        assert_eq!(requests.len(), 1);
        let body: serde_json::Value = serde_json::from_str(&requests[0]).unwrap();
        assert_eq!(body["data"].as_array().unwrap().len(), 2);
        assert_eq!(results[0].as_ref().unwrap().event_id, "a");
        assert!(matches!(
            results[1],
            Err(Failure {
                error: ActionError::InvalidInput(_),
                ..
            })
        ));
        assert_eq!(results[2].as_ref().unwrap().fbtrace_id, "B");
    }

    #[test]
    fn an_answer_that_counts_other_than_the_events_sent_warns_each_event() {
        let items: Vec<_> = ["a", "b", "c"]
            .iter()
            .map(|&id| (Firing::new(id, "form_submitted", 1_000), contact()))
            .collect();
        let counted = |received: u32| {
            execute_batch(SETTINGS, &items, 1_010, &mut |_| {
                Ok((
                    200,
                    format!(r#"{{"events_received":{received},"fbtrace_id":"B"}}"#),
                ))
            })
        };
        let warned = |results: &[Result<Outcome, Failure>]| -> Vec<Option<String>> {
            results
                .iter()
                .map(|r| {
                    let outcome = r.as_ref().expect("a 200 is accepted");
                    outcome
                        .warnings
                        .iter()
                        .find(|w| w.field == "events_received")
                        .map(|w| w.message.clone())
                })
                .collect()
        };
        assert_eq!(warned(&counted(3)), [None, None, None]);
        for received in [0, 1, 4] {
            for message in warned(&counted(received)) {
                assert_eq!(
                    message.as_deref(),
                    Some(
                        format!(
                            "Meta acknowledged {received} of the 3 events this request sent \
                             (fbtrace_id B): check in Events Manager that this event arrived"
                        )
                        .as_str()
                    )
                );
            }
        }
        let alone = execute(SETTINGS, &items[0].0, &items[0].1, 1_010, &mut |_| {
            Ok((200, r#"{"events_received":0}"#.into()))
        })
        .expect("a 200 is accepted");
        assert_eq!(
            alone.warnings.last().map(|w| w.message.as_str()),
            Some(
                "Meta acknowledged 0 of the 1 event this request sent: \
                 check in Events Manager that this event arrived"
            )
        );
    }
    #[test]
    fn a_batch_past_metas_limit_goes_in_requests_of_a_thousand_given_by_value() {
        let items: Vec<(Firing, Contact)> = (0..2_001)
            .map(|i| {
                let mut f = Firing::new(format!("f{i}"), "form_submitted", 1_000);
                if i == 1_000 {
                    f.occurred_at = 1_000 - 8 * 86_400;
                }
                (f, contact())
            })
            .collect();
        let settings = read_settings(SETTINGS).unwrap();
        let mut requests = Vec::new();
        let results = execute_batch_with(&settings, items, 1_010, &mut |r| {
            let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            let n = body["data"].as_array().unwrap().len();
            assert_eq!(body["test_event_code"], json!("TEST1"));
            assert_eq!(body["partner_agent"], json!(graph::PARTNER_AGENT));
            requests.push(n);
            Ok((
                200,
                format!(
                    r#"{{"events_received":{n},"fbtrace_id":"T{}"}}"#,
                    requests.len()
                ),
            ))
        });
        assert_eq!(requests, [1000, 1000]);
        assert_eq!(results.len(), 2_001);
        assert!(results[1_000].is_err());
        assert_eq!(results[999].as_ref().unwrap().fbtrace_id, "T1");
        assert_eq!(results[1_001].as_ref().unwrap().fbtrace_id, "T2");
        assert_eq!(results[2_000].as_ref().unwrap().event_id, "f2000");
    }

    #[test]
    fn invalid_settings_send_nothing() {
        let firing = Firing::new("x", "t", 1);
        let f = execute("{}", &firing, &contact(), 1, &mut |_| {
            panic!("must not send")
        })
        .unwrap_err();
        assert!(matches!(f.error, ActionError::InvalidSettings(ref p) if p.len() == 3));
    }

    #[test]
    fn descriptor_documents_are_json() {
        let d = descriptor();
        let schema: serde_json::Value = serde_json::from_str(&d.settings_schema).unwrap();
        assert_eq!(
            schema["required"],
            json!(["pixel_id", "access_token", "event"])
        );
        let defaults: serde_json::Value = serde_json::from_str(&d.default_mappings).unwrap();
        assert!(defaults["Purchase"]["custom_data.value"].is_string());
        assert_eq!(d.secret_fields, ["/access_token", "/app_secret"]);
    }

    #[test]
    fn with_an_app_secret_every_request_carries_its_proof_and_never_the_secret() {
        const APP_SECRET: &str = "0123456789abcdef0123456789abcdef";
        let settings = format!(
            r#"{{"pixel_id":"123","access_token":"EAAB1234TokenXYZ","app_secret":"{APP_SECRET}","event":"Lead","action_source":"email"}}"#
        );
        let items: Vec<_> = (0..3)
            .map(|i| {
                (
                    Firing::new(format!("f{i}"), "form_submitted", 1_000),
                    contact(),
                )
            })
            .collect();
        let mut bodies = Vec::new();
        let mut answer = |r: &graph::Request| {
            bodies.push(r.body.clone());
            Ok((200, r#"{"events_received":1,"fbtrace_id":"T"}"#.into()))
        };
        execute(&settings, &items[0].0, &contact(), 1_010, &mut answer).unwrap();
        execute_batch(&settings, &items, 1_010, &mut answer);
        assert_eq!(bodies.len(), 2);
        for body in &bodies {
            let body: serde_json::Value = serde_json::from_str(body).unwrap();
            // Python: hmac.new(secret, token, hashlib.sha256).hexdigest()
            assert_eq!(
                body["appsecret_proof"],
                json!("a1789f09f5908a958518fd703276d56d7344520b4766f297c9940ba1eb4937eb")
            );
            assert!(!body.to_string().contains(APP_SECRET));
        }
        // Without one, no proof; settings print neither credential.
        let plain = read_settings(SETTINGS).unwrap();
        assert!(!graph::request(&plain, &[]).body.contains("appsecret_proof"));
        let with = read_settings(&settings).unwrap();
        let printed = format!("{with:?}");
        assert!(
            !printed.contains("EAAB1234TokenXYZ") && !printed.contains("a1789f09"),
            "{printed}"
        );
        // A secret pasted with a line break is refused, naming the field.
        let broken = settings.replace(APP_SECRET, "0123456789abcdef\\n0123");
        let problems = validate_settings(&broken);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "/app_secret");
    }
}
