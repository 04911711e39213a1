//! Send Conversion Event: a workflow action that sends a conversion to
//! Meta's Conversions API.
//!
//! The core is plain Rust, compiled and tested natively: [`settings`] reads
//! what the builder filled in, [`consent`] skips contacts who opted out,
//! [`mapping`] resolves merge fields,
//! [`normalize`] prepares customer data as Meta matches it, [`event`] builds
//! and checks the event, [`graph`] speaks the Graph API. [`execute`] ties
//! them together around a transport function; on `wasm32` the component
//! glue supplies one that sends through `wasi:http`.

pub mod consent;
pub mod event;
pub mod graph;
pub mod input;
pub mod mapping;
pub mod normalize;
pub mod outcome;
pub mod regions;
pub mod settings;

#[cfg(target_arch = "wasm32")]
mod component;

use input::{Contact, Firing};
use outcome::{ActionError, Failure, Outcome, Problem, TransportFailure};

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
        supported_events: settings::STANDARD_EVENTS
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
    pub action_source: settings::ActionSource,
    /// Whether a test event code is attached.
    pub test_event: bool,
    /// The request, unless the event is skipped.
    pub request: Option<graph::Request>,
    /// The `user_data` keys that go out valid.
    pub match_keys: Vec<String>,
    /// Fields dropped or corrected.
    pub warnings: Vec<outcome::Warning>,
    /// Why the event is deliberately not sent.
    pub skipped: Option<String>,
}

/// Builds the request one firing makes, sending nothing. `now` is the
/// current Unix time in seconds.
// `Failure` is the WIT record, returned by value once per execution.
#[allow(clippy::result_large_err)]
pub fn preview(
    settings_json: &str,
    firing: &Firing,
    contact: &Contact,
    now: i64,
) -> Result<Preview, Failure> {
    let settings = settings::parse(settings_json)
        .map_err(|p| Failure::bare(ActionError::InvalidSettings(p)))?;
    let event_name = settings.event.as_str().to_string();
    if let Some(reason) = consent::refusal(&settings, contact, firing) {
        return Ok(Preview {
            event_name,
            event_id: event::event_id(&settings, contact, firing),
            event_time: firing.occurred_at,
            action_source: settings.action_source,
            test_event: settings.test_event_code.is_some(),
            request: None,
            match_keys: Vec::new(),
            warnings: Vec::new(),
            skipped: Some(reason),
        });
    }
    let built = event::build(&settings, contact, firing, now).map_err(|r| Failure {
        error: ActionError::InvalidInput(r.problems),
        event_name: Some(event_name.clone()),
        event_id: Some(r.event_id),
        warnings: r.warnings,
    })?;
    Ok(Preview {
        request: Some(graph::request(
            &settings,
            std::slice::from_ref(&built.event),
        )),
        event_name,
        event_id: built.event.event_id,
        event_time: built.event.event_time,
        action_source: settings.action_source,
        test_event: settings.test_event_code.is_some(),
        match_keys: built.match_keys,
        warnings: built.warnings,
        skipped: None,
    })
}

/// Runs the action for one firing: builds the event, sends it with `send`,
/// reads Meta's answer. `now` is the current Unix time in seconds.
#[allow(clippy::result_large_err)]
pub fn execute(
    settings_json: &str,
    firing: &Firing,
    contact: &Contact,
    now: i64,
    send: &mut Send<'_>,
) -> Result<Outcome, Failure> {
    let p = preview(settings_json, firing, contact, now)?;
    let outcome = |ack: Option<graph::Ack>, p: Preview| {
        let ack = ack.unwrap_or(graph::Ack {
            events_received: 0,
            messages: Vec::new(),
            fbtrace_id: String::new(),
        });
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
    };
    let Some(request) = &p.request else {
        return Ok(outcome(None, p));
    };
    let failure = |error| Failure {
        error,
        event_name: Some(p.event_name.clone()),
        event_id: Some(p.event_id.clone()),
        warnings: p.warnings.clone(),
    };
    let (status, body) = send(request).map_err(|t| failure(ActionError::Transport(t)))?;
    match graph::answer(status, &body) {
        graph::Answer::Ack(ack) => Ok(outcome(Some(ack), p)),
        graph::Answer::Rejected(e) => Err(failure(ActionError::Rejected(e))),
        graph::Answer::Garbled(t) => Err(failure(ActionError::Transport(t))),
    }
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
        assert_eq!(out.match_keys, ["em", "external_id"]);
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
        assert_eq!(d.secret_fields, ["/access_token"]);
    }
}
