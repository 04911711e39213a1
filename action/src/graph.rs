//! The Graph API exchange: the request the action sends, and Meta's answer
//! read into an acknowledgement or a classified error with advice.

use crate::event::Event;
use crate::outcome::{MetaError, TransportFailure};
use crate::settings::Settings;
use serde::Deserialize;

/// Where Meta's Graph API lives. A host may redirect it (to a local double).
pub const GRAPH_BASE: &str = "https://graph.facebook.com";

/// The name this integration gives itself in Meta's dataset quality views.
pub const PARTNER_AGENT: &str = concat!("hoop-send-conversion-event-", env!("CARGO_PKG_VERSION"));

/// Meta's limit of events in one request.
pub const MAX_BATCH: usize = 1000;

/// Meta's recommended client timeout.
pub const TIMEOUT_MS: u64 = 1500;

/// One POST to the Graph API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Full URL, no token in it.
    pub url: String,
    /// The `Authorization` header value. Secret.
    pub authorization: String,
    /// JSON body.
    pub body: String,
}

/// The request that sends `events` with `settings`.
pub fn request(settings: &Settings, events: &[Event]) -> Request {
    let mut body = BodyWriter::with_capacity(events.len());
    for e in events {
        body.push(e);
    }
    body.finish(settings)
}

/// A request body written an event at a time, so that a batch holds each
/// event only while it is written, not all of them until the request.
/// The body is `{"data": [events], "test_event_code": code (when testing),
/// "partner_agent": this integration's name}`.
#[derive(Debug)]
pub struct BodyWriter {
    out: Vec<u8>,
    events: usize,
}

impl BodyWriter {
    /// An empty body with room for about `events` events: growing a
    /// megabyte body by doubling would copy it a dozen times.
    pub fn with_capacity(events: usize) -> BodyWriter {
        let mut out = Vec::with_capacity(512 + events.min(MAX_BATCH) * 1536);
        out.extend_from_slice(br#"{"data":["#);
        BodyWriter { out, events: 0 }
    }

    /// Adds one event.
    pub fn push(&mut self, event: &Event) {
        if self.events > 0 {
            self.out.push(b',');
        }
        event.write_json(&mut self.out);
        self.events += 1;
    }

    /// How many events it holds.
    pub fn len(&self) -> usize {
        self.events
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.events == 0
    }

    /// The request that sends the body with `settings`.
    pub fn finish(mut self, settings: &Settings) -> Request {
        let out = &mut self.out;
        out.push(b']');
        if let Some(code) = &settings.test_event_code {
            out.extend_from_slice(br#","test_event_code":"#);
            serde_json::to_writer(&mut *out, code).expect("text serialises");
        }
        if let Some(proof) = &settings.appsecret_proof {
            // Lowercase hex: nothing to escape.
            out.extend_from_slice(br#","appsecret_proof":""#);
            out.extend_from_slice(proof.expose().as_bytes());
            out.push(b'"');
        }
        out.extend_from_slice(br#","partner_agent":"#);
        serde_json::to_writer(&mut *out, PARTNER_AGENT).expect("text serialises");
        out.push(b'}');
        Request {
            url: format!(
                "{GRAPH_BASE}/{}/{}/events",
                settings.api_version, settings.pixel_id
            ),
            authorization: format!("Bearer {}", settings.access_token.expose()),
            body: String::from_utf8(self.out).expect("serde_json writes UTF-8"),
        }
    }
}

/// Meta's acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Ack {
    /// How many events Meta received.
    pub events_received: u32,
    /// Meta's messages.
    #[serde(default)]
    pub messages: Vec<String>,
    /// Meta's trace id.
    #[serde(default)]
    pub fbtrace_id: String,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default, rename = "type")]
    error_type: String,
    #[serde(default)]
    code: i32,
    error_subcode: Option<i32>,
    #[serde(default)]
    is_transient: bool,
    error_user_title: Option<String>,
    error_user_msg: Option<String>,
    fbtrace_id: Option<String>,
}

/// Meta's answer, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Accepted.
    Ack(Ack),
    /// Meta's error.
    Rejected(MetaError),
    /// Not an answer Meta gives (HTML from a proxy, a cut body, ...).
    Garbled(TransportFailure),
}

/// Reads an HTTP answer from the Graph API.
pub fn answer(status: u16, body: &str) -> Answer {
    if (200..300).contains(&status) {
        return match serde_json::from_str::<Ack>(body) {
            Ok(ack) => Answer::Ack(ack),
            Err(_) => Answer::Garbled(TransportFailure {
                message: format!(
                    "Meta answered {status} with a body that is not an acknowledgement"
                ),
                retriable: true,
            }),
        };
    }
    match serde_json::from_str::<ErrorEnvelope>(body) {
        Ok(ErrorEnvelope { error: e }) => {
            let retriable =
                e.is_transient || status >= 500 || retriable_code(e.code, e.error_subcode);
            let user_message = match (e.error_user_title, e.error_user_msg) {
                (Some(t), Some(m)) => Some(format!("{t}: {m}")),
                (t, m) => t.or(m),
            };
            Answer::Rejected(MetaError {
                http_status: status,
                // Meta tells a missing or wrong appsecret_proof only in its
                // message, under the code of any invalid parameter.
                advice: if e.code == 100 && e.message.contains("appsecret_proof") {
                    APP_SECRET_ADVICE.to_string()
                } else {
                    advice(e.code, e.error_subcode, retriable)
                },
                code: e.code,
                subcode: e.error_subcode,
                error_type: e.error_type,
                message: e.message,
                user_message,
                fbtrace_id: e.fbtrace_id,
                retriable,
            })
        }
        Err(_) => Answer::Garbled(TransportFailure {
            message: format!(
                "Meta (or a proxy on the way) answered HTTP {status} without a Graph API error"
            ),
            retriable: status >= 500 || status == 429 || status == 408,
        }),
    }
}

/// Why a request got no answer, in words, from the error of the HTTP
/// client: a `wasi:http` error code as the client names it
/// (`ErrorCode::ConnectionRefused`, `ErrorCode::DnsError(..)`), kept in
/// parentheses for whoever reads the logs. Only a request the platform
/// refused outright is not worth sending again.
pub fn unanswered(error: &str) -> TransportFailure {
    let code = error.split("ErrorCode::").nth(1).map(|rest| {
        let end = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        &rest[..end]
    });
    let what = match code.unwrap_or_default() {
        "HttpRequestDenied" => {
            return TransportFailure {
                message: "the platform does not allow this action to reach the Graph API host"
                    .into(),
                retriable: false,
            };
        }
        "HttpRequestBodySize" => "the request is larger than the platform lets an action send",
        "DnsTimeout" | "DnsError" | "DestinationNotFound" => {
            "the Graph API's address could not be looked up"
        }
        "DestinationUnavailable"
        | "DestinationIpProhibited"
        | "DestinationIpUnroutable"
        | "ConnectionRefused"
        | "ConnectionLimitReached" => "the Graph API could not be reached",
        "ConnectionTimeout" => "connecting to the Graph API took too long",
        "ConnectionReadTimeout" | "HttpResponseTimeout" => "Meta took too long to answer",
        "ConnectionTerminated" => "the connection closed before Meta answered",
        "HttpResponseIncomplete" => {
            "the answer was cut off, too slow, or larger than the platform reads"
        }
        c if c.starts_with("Tls") => "the secure connection to the Graph API failed",
        c if c.starts_with("HttpResponse") || c == "HttpProtocolError" => {
            "the answer was not readable HTTP"
        }
        _ => "the request failed",
    };
    TransportFailure {
        message: format!("no answer from Meta: {what} ({})", code.unwrap_or(error)),
        retriable: true,
    }
}

/// Whether Meta's code says to try again later (reference section 5).
pub fn retriable_code(code: i32, _subcode: Option<i32>) -> bool {
    matches!(code, 1 | 2 | 4 | 17 | 32 | 341 | 368 | 613 | 80004)
}

/// Whether the code is a rate or application limit (back off longer).
pub fn rate_limited(code: i32) -> bool {
    matches!(code, 4 | 17 | 32 | 341 | 613 | 80004)
}

/// What to do when Meta asks for an `appsecret_proof` the request lacks or
/// got wrong.
pub const APP_SECRET_ADVICE: &str = "The token's app requires its app secret (\"Require App Secret\" is on): paste the app's secret, from Meta for Developers > the app > Settings > Basic, into the action's app_secret setting, or check that the one there is that app's.";

/// One sentence that says what to do about a Meta error.
pub fn advice(code: i32, subcode: Option<i32>, retriable: bool) -> String {
    let s = match (code, subcode) {
        (190, _) | (102, _) => {
            "The access token is invalid, expired or revoked: generate a new one in Events Manager > Settings > Conversions API and paste it into the action."
        }
        (10, _) | (200..=299, _) => {
            "The access token lacks permission for this pixel: generate it from the pixel's own Conversions API settings, or give its system user access to the pixel."
        }
        (100, Some(33)) => {
            "Meta does not know this pixel id, or the token cannot reach it: copy the id from Events Manager and check the token belongs to the same business."
        }
        (100, Some(2804003)) => {
            "The event is more than 7 days old and Meta will never accept it: send conversions as they happen."
        }
        (100, Some(2804009)) => {
            "A Purchase needs a value and a currency: map custom_data.value and custom_data.currency to the order's total and currency."
        }
        (100, Some(2804001)) => {
            "The click id (fbc) is malformed: map user_data.fbc to the _fbc cookie as the Pixel wrote it."
        }
        (100, Some(2804050)) => {
            "The event carries too little customer information to match: map the contact's email or phone (or an external id)."
        }
        (100, _) => {
            "Meta refused a parameter of the event: see Meta's message, fix the mapping, then send again."
        }
        (368, _) => {
            "Meta has temporarily blocked sending for this token: the events are kept and sent again later."
        }
        _ if rate_limited(code) => {
            "Meta's rate limit was reached: the events are kept and sent again after a pause."
        }
        (1, _) | (2, _) => {
            "Meta had a temporary problem: the events are kept and sent again shortly."
        }
        _ if retriable => "Meta could not take the event now: it is kept and sent again later.",
        _ => {
            "Meta refused the event: see Meta's message and the fbtrace id when contacting Meta support."
        }
    };
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_without_answer_says_why_in_words_and_keeps_the_code() {
        let cases = [
            (
                "ErrorCode::ConnectionRefused",
                "no answer from Meta: the Graph API could not be reached (ConnectionRefused)",
            ),
            (
                "ErrorCode::DnsError(DnsErrorPayload { rcode: None, info_code: None })",
                "no answer from Meta: the Graph API's address could not be looked up (DnsError)",
            ),
            (
                "ErrorCode::HttpResponseIncomplete",
                "no answer from Meta: the answer was cut off, too slow, or larger than the platform reads (HttpResponseIncomplete)",
            ),
            (
                "ErrorCode::HttpResponseHeaderSectionSize(None)",
                "no answer from Meta: the answer was not readable HTTP (HttpResponseHeaderSectionSize)",
            ),
            (
                "ErrorCode::TlsCertificateError",
                "no answer from Meta: the secure connection to the Graph API failed (TlsCertificateError)",
            ),
            (
                "ErrorCode::ConnectionReadTimeout",
                "no answer from Meta: Meta took too long to answer (ConnectionReadTimeout)",
            ),
            (
                "connection reset",
                "no answer from Meta: the request failed (connection reset)",
            ),
        ];
        for (error, message) in cases {
            let failure = unanswered(error);
            assert_eq!(
                (failure.message.as_str(), failure.retriable),
                (message, true)
            );
        }
        let denied = unanswered("ErrorCode::HttpRequestDenied");
        assert!(!denied.retriable);
        assert_eq!(
            denied.message,
            "the platform does not allow this action to reach the Graph API host"
        );
    }

    #[test]
    fn acknowledgement() {
        let a = answer(
            200,
            r#"{"events_received":1,"messages":[],"fbtrace_id":"AbC"}"#,
        );
        assert_eq!(
            a,
            Answer::Ack(Ack {
                events_received: 1,
                messages: vec![],
                fbtrace_id: "AbC".into()
            })
        );
    }

    #[test]
    fn invalid_token_is_not_retriable() {
        let a = answer(
            400,
            r#"{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190,"fbtrace_id":"X1"}}"#,
        );
        let Answer::Rejected(e) = a else {
            panic!("{a:?}")
        };
        assert!(!e.retriable);
        assert_eq!(e.code, 190);
        assert_eq!(e.fbtrace_id.as_deref(), Some("X1"));
        assert!(e.advice.contains("new one"));
    }

    #[test]
    fn server_errors_rate_limits_and_transient_flags_are_retriable() {
        for (status, body) in [
            (
                500,
                r#"{"error":{"message":"x","type":"OAuthException","code":2}}"#,
            ),
            (
                400,
                r#"{"error":{"message":"x","type":"OAuthException","code":17}}"#,
            ),
            (
                400,
                r#"{"error":{"message":"x","type":"OAuthException","code":100,"is_transient":true}}"#,
            ),
        ] {
            let Answer::Rejected(e) = answer(status, body) else {
                panic!()
            };
            assert!(e.retriable, "{body}");
        }
        let Answer::Garbled(t) = answer(502, "<html>Bad gateway</html>") else {
            panic!()
        };
        assert!(t.retriable);
        let Answer::Garbled(t) = answer(200, "{\"events_rec") else {
            panic!()
        };
        assert!(t.retriable);
    }
}
