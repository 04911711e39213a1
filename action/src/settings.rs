//! The action's settings: what a workflow builder fills in, parsed from the
//! settings JSON document with every problem collected at once.

use crate::mapping::{self, Template};
use crate::names::{ActionSource, EventName, STANDARD_EVENTS};
use crate::outcome::Problem;
use crate::regions;
use crate::suggest;
use serde_json::{Map, Value};

/// The Graph API version used when the settings name none.
pub const DEFAULT_API_VERSION: &str = "v24.0";

/// The country that reads national phone numbers and dates when neither the
/// contact nor the settings name one.
pub const DEFAULT_COUNTRY: &str = "US";

/// Meta's Limited Data Use (reference section 2, `data_processing_options`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitedDataUse {
    /// Not flagged.
    Off,
    /// Every event flagged; Meta geolocates who it applies to.
    Always,
    /// Events of contacts in California flagged (country 1, state 1000).
    CaliforniaContacts,
}

/// How the contact's consent field is read.
#[derive(Debug, Clone, PartialEq)]
pub struct Consent {
    /// The contact field (standard or custom) holding the flag.
    pub field: String,
    /// `{{contact.<field>}}`, read once with the settings.
    pub template: Template,
    /// `true`: a truthy value means the contact opted out (a DND flag);
    /// `false`: it means the contact opted in (a marketing consent box), and
    /// anything else skips the event.
    pub flag_means_opt_out: bool,
}

/// Valid settings of one Send Conversion Event action.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The pixel (dataset) id.
    pub pixel_id: String,
    /// The Conversions API access token.
    pub access_token: Secret,
    /// `appsecret_proof`: the HMAC-SHA256 of the token keyed by the app's
    /// secret, in lowercase hex, which Meta asks of every call once the
    /// app's "Require App Secret" setting is on. Kept rather than the
    /// secret, which nothing else needs.
    pub appsecret_proof: Option<Secret>,
    /// Graph API version, e.g. `v24.0`.
    pub api_version: String,
    /// The event sent.
    pub event: EventName,
    /// How the conversion happened.
    pub action_source: ActionSource,
    /// `event_source_url` when the firing carries no page URL.
    pub event_source_url: Option<String>,
    /// Meta's Test Events code, for testing before going live.
    pub test_event_code: Option<String>,
    /// ISO alpha-2 country for contacts without one.
    pub default_country: &'static str,
    /// Whether `external_id` is hashed (the default) or sent as is.
    pub hash_external_id: bool,
    /// The merge-field mapping: Meta parameter to template, explicit entries
    /// over the event's defaults.
    pub mapping: Vec<(String, Template)>,
    /// The mapping in force, built once: the explicit entries, then the
    /// event's defaults for the parameters they leave out, each with
    /// whether it was explicit. Every event of these settings reads it, so
    /// no template is parsed again per event.
    pub effective: Vec<mapping::Mapped>,
    /// Limited Data Use flagging.
    pub limited_data_use: LimitedDataUse,
    /// The contact's marketing consent, when the account tracks it.
    pub consent: Option<Consent>,
    /// The CRM's name, for CRM lead stage events (`event_source: crm`).
    pub lead_event_source: Option<String>,
}

/// The JSON pointers of secret settings fields.
pub const SECRET_FIELDS: [&str; 2] = ["/access_token", "/app_secret"];

/// A credential: its `Debug` form never shows it, so no settings printed
/// while debugging carry it into a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The credential, where it must go (a request's header or body).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// `appsecret_proof` of `token` under `app_secret`: HMAC-SHA256, lowercase
/// hex.
fn appsecret_proof(app_secret: &str, token: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key");
    mac.update(token.as_bytes());
    crate::normalize::Sha256Digest(mac.finalize().into_bytes().into()).to_string()
}

/// Reads a settings document, listing every problem at once.
pub fn parse(json: &str) -> Result<Settings, Vec<Problem>> {
    let doc: Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => {
            return Err(vec![Problem::new(
                "",
                format!("the settings are not valid JSON: {e}"),
            )]);
        }
    };
    let Some(obj) = doc.as_object() else {
        return Err(vec![Problem::new("", "the settings must be a JSON object")]);
    };
    let mut problems = Vec::new();
    for key in obj.keys() {
        if !KNOWN_FIELDS.contains(&key.as_str()) {
            let message = match suggest::closest(key, &KNOWN_FIELDS) {
                Some(meant) => format!("unknown setting `{key}`: did you mean `{meant}`?"),
                None => format!(
                    "unknown setting `{key}`; known settings: {}",
                    KNOWN_FIELDS.join(", ")
                ),
            };
            problems.push(Problem::new(format!("/{key}"), message));
        }
    }

    let pixel_id = required_string(obj, "pixel_id", &mut problems).and_then(|p| {
        if !p.is_empty() && p.len() <= 20 && p.bytes().all(|b| b.is_ascii_digit()) {
            Some(p)
        } else {
            problems.push(Problem::new(
                "/pixel_id",
                "the pixel id is the number shown in Meta Events Manager under the pixel's name (digits only)",
            ));
            None
        }
    });
    let access_token = required_string(obj, "access_token", &mut problems).and_then(|t| {
        // The token travels in an HTTP header: whitespace or a control
        // character there would fail every request, forever.
        if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
            problems.push(Problem::new(
                "/access_token",
                "the access token contains spaces, line breaks or control characters; paste it again from Events Manager",
            ));
            None
        } else if !t.is_ascii() {
            problems.push(Problem::new(
                "/access_token",
                "the access token contains characters Meta's tokens never have (they are plain ASCII letters and digits); paste it again from Events Manager",
            ));
            None
        } else {
            Some(t)
        }
    });
    let api_version = optional_string(obj, "api_version", &mut problems)
        .map(|v| {
            if valid_api_version(&v) {
                v
            } else {
                problems.push(Problem::new(
                    "/api_version",
                    format!(
                        "`{v}` is not a Graph API version; write it like `{DEFAULT_API_VERSION}`"
                    ),
                ));
                String::new()
            }
        })
        .unwrap_or_else(|| DEFAULT_API_VERSION.to_string());
    let event = required_string(obj, "event", &mut problems).and_then(|e| {
        let problem = if e.trim() != e {
            Some("the event name has leading or trailing spaces")
        } else if e.chars().count() > 50 {
            Some("a custom event name has at most 50 characters")
        } else if !e
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == ' ' || c == '-')
        {
            Some("an event name has letters, digits, spaces, `_` and `-` only")
        } else {
            None
        };
        match problem {
            Some(p) => {
                problems.push(Problem::new("/event", p));
                None
            }
            None => Some(EventName::parse(&e)),
        }
    });
    let action_source = optional_string(obj, "action_source", &mut problems)
        .and_then(|s| match ActionSource::parse(&s) {
            Some(a) => Some(a),
            None => {
                let names: Vec<_> = ActionSource::ALL.iter().map(|a| a.as_str()).collect();
                problems.push(Problem::new(
                    "/action_source",
                    format!(
                        "`{s}` is not an action source; use one of {}",
                        names.join(", ")
                    ),
                ));
                None
            }
        })
        .unwrap_or(ActionSource::Website);
    let event_source_url = optional_string(obj, "event_source_url", &mut problems).and_then(|u| {
        if u.starts_with("http://") || u.starts_with("https://") {
            Some(u)
        } else {
            problems.push(Problem::new(
                "/event_source_url",
                "the event source URL must start with http:// or https://",
            ));
            None
        }
    });
    let test_event_code =
        optional_string(obj, "test_event_code", &mut problems).filter(|c| !c.is_empty());
    let app_secret = optional_string(obj, "app_secret", &mut problems).and_then(|s| {
        if s.is_ascii() && !s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Some(s)
        } else {
            problems.push(Problem::new(
                "/app_secret",
                "the app secret contains spaces, line breaks or characters an app secret never has (it is letters and digits); copy it again from the app's Basic settings in Meta for Developers",
            ));
            None
        }
    });
    let default_country = optional_string(obj, "default_country", &mut problems)
        .and_then(|c| match regions::country_code(&c) {
            Some(code) => Some(code),
            None => {
                problems.push(Problem::new(
                    "/default_country",
                    format!("`{c}` is not a country Meta knows; use a two-letter ISO code such as US or GB"),
                ));
                None
            }
        })
        .unwrap_or(DEFAULT_COUNTRY);
    let hash_external_id = match obj.get("hash_external_id") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            problems.push(Problem::new("/hash_external_id", "must be true or false"));
            true
        }
    };
    let limited_data_use = match optional_string(obj, "limited_data_use", &mut problems).as_deref()
    {
        None | Some("off") => LimitedDataUse::Off,
        Some("always") => LimitedDataUse::Always,
        Some("california_contacts") => LimitedDataUse::CaliforniaContacts,
        Some(other) => {
            problems.push(Problem::new(
                "/limited_data_use",
                format!("`{other}` is not a choice; use off, always or california_contacts"),
            ));
            LimitedDataUse::Off
        }
    };
    let consent = optional_string(obj, "consent_field", &mut problems).and_then(|field| {
        let template = Template::parse(&format!("{{{{contact.{field}}}}}"));
        if template.is_err() {
            problems.push(Problem::new(
                "/consent_field",
                "the name of a contact field, such as dnd or marketing_consent",
            ));
        }
        let flag_means_opt_out = match optional_string(obj, "consent_field_means", &mut problems).as_deref() {
            None | Some("opted_out") => true,
            Some("opted_in") => false,
            Some(other) => {
                problems.push(Problem::new(
                    "/consent_field_means",
                    format!("`{other}` is not a choice; use opted_out (a do-not-disturb flag) or opted_in (a consent box)"),
                ));
                true
            }
        };
        // A field that makes no template leaves the settings invalid.
        template.ok().map(|template| Consent {
            field,
            template,
            flag_means_opt_out,
        })
    });
    let lead_event_source = optional_string(obj, "lead_event_source", &mut problems);
    if lead_event_source.is_some() && action_source != ActionSource::SystemGenerated {
        problems.push(Problem::new(
            "/action_source",
            "CRM lead stages (lead_event_source is set) are sent with action source system_generated",
        ));
    }
    let mapping = match obj.get("mapping") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(m)) => parse_mapping(m, &mut problems),
        Some(_) => {
            problems.push(Problem::new(
                "/mapping",
                "the mapping must be an object from Meta parameter to merge-field template",
            ));
            Vec::new()
        }
    };

    match (pixel_id, access_token, event) {
        (Some(pixel_id), Some(access_token), Some(event)) if problems.is_empty() => Ok(Settings {
            pixel_id,
            appsecret_proof: app_secret.map(|s| Secret(appsecret_proof(&s, &access_token))),
            access_token: Secret(access_token),
            api_version,
            effective: mapping::effective(&event, &mapping),
            event,
            action_source,
            event_source_url,
            test_event_code,
            default_country,
            hash_external_id,
            mapping,
            limited_data_use,
            consent,
            lead_event_source,
        }),
        _ => Err(problems),
    }
}

/// Every settings field the action reads.
pub const KNOWN_FIELDS: [&str; 15] = [
    "pixel_id",
    "access_token",
    "app_secret",
    "api_version",
    "event",
    "action_source",
    "event_source_url",
    "test_event_code",
    "default_country",
    "hash_external_id",
    "mapping",
    "limited_data_use",
    "consent_field",
    "consent_field_means",
    "lead_event_source",
];

fn parse_mapping(m: &Map<String, Value>, problems: &mut Vec<Problem>) -> Vec<(String, Template)> {
    let mut out = Vec::with_capacity(m.len());
    for (param, template) in m {
        let path = format!("/mapping/{param}");
        if !mapping::is_mappable(param) {
            let meant = suggest::closest(param, &mapping::MAPPABLE_PARAMS)
                .map(|p| format!("; did you mean `{p}`?"))
                .unwrap_or_else(|| " (see the README for the list)".into());
            problems.push(Problem::new(
                path,
                format!("`{param}` is not a Meta parameter this action can set{meant}"),
            ));
            continue;
        }
        let Some(text) = template.as_str() else {
            problems.push(Problem::new(
                path,
                "a mapping value is a template string such as \"{{contact.email}}\" or a literal",
            ));
            continue;
        };
        match Template::parse(text) {
            Ok(t) => out.push((param.clone(), t)),
            Err(e) => problems.push(Problem::new(path, e)),
        }
    }
    out
}

fn required_string(
    obj: &Map<String, Value>,
    key: &str,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    match obj.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            problems.push(Problem::new(
                format!("/{key}"),
                format!("`{key}` is required"),
            ));
            None
        }
        Some(_) => {
            problems.push(Problem::new(
                format!("/{key}"),
                format!("`{key}` must be text"),
            ));
            None
        }
    }
}

fn optional_string(
    obj: &Map<String, Value>,
    key: &str,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.push(Problem::new(
                format!("/{key}"),
                format!("`{key}` must be text"),
            ));
            None
        }
    }
}

fn valid_api_version(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else {
        return false;
    };
    let mut parts = rest.split('.');
    let (Some(major), Some(minor), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    [major, minor]
        .iter()
        .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// The JSON Schema of the settings document, for the builder's form.
pub fn schema() -> Value {
    let names: Vec<_> = ActionSource::ALL.iter().map(|a| a.as_str()).collect();
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Send Conversion Event",
        "type": "object",
        "required": ["pixel_id", "access_token", "event"],
        "additionalProperties": false,
        "properties": {
            "pixel_id": {"type": "string", "pattern": "^[0-9]{1,20}$", "title": "Pixel (dataset) ID",
                "description": "The number under the pixel's name in Meta Events Manager."},
            "access_token": {"type": "string", "title": "Conversions API access token", "writeOnly": true,
                "description": "Generated in Events Manager > Settings > Conversions API. Stored as a secret."},
            "app_secret": {"type": "string", "title": "App secret", "writeOnly": true,
                "description": "Only when the token's app has \"Require App Secret\" on (Meta for Developers > the app > Settings > Advanced): the app's secret, from its Basic settings. Every request then carries its appsecret_proof. Stored as a secret."},
            "api_version": {"type": "string", "pattern": "^v[0-9]{1,3}\\.[0-9]{1,3}$", "default": DEFAULT_API_VERSION,
                "title": "Graph API version"},
            "event": {"type": "string", "title": "Event", "maxLength": 50,
                "examples": STANDARD_EVENTS,
                "description": "A standard event or a custom event name."},
            "action_source": {"type": "string", "enum": names, "default": "website", "title": "Where the conversion happened"},
            "event_source_url": {"type": "string", "format": "uri", "title": "Event source URL",
                "description": "Sent when the trigger carries no page URL. Required by Meta for website events."},
            "test_event_code": {"type": "string", "title": "Test event code",
                "description": "From Events Manager > Test Events. Remove it to go live."},
            "default_country": {"type": "string", "default": DEFAULT_COUNTRY, "title": "Default country",
                "description": "Reads national phone numbers and written dates of contacts without a usable country, and nothing else: states and postal codes never depend on it."},
            "hash_external_id": {"type": "boolean", "default": true, "title": "Hash the external id",
                "description": "Turn off only if your Pixel sends external_id unhashed: both sides must send the same form."},
            "limited_data_use": {"type": "string", "enum": ["off", "always", "california_contacts"], "default": "off",
                "title": "Limited Data Use",
                "description": "Flags events for Meta's Limited Data Use (US state privacy laws): always (Meta geolocates), or only for contacts in California."},
            "consent_field": {"type": "string", "title": "Consent field",
                "description": "The contact field that records marketing consent, e.g. dnd. Contacts who opted out are skipped, not sent."},
            "consent_field_means": {"type": "string", "enum": ["opted_out", "opted_in"], "default": "opted_out",
                "title": "When the consent field is set, the contact has…"},
            "lead_event_source": {"type": "string", "title": "CRM name (lead stages)",
                "description": "For CRM lead stage events: the CRM's name. Sends event_source crm and the Lead Ads lead_id."},
            "mapping": {"type": "object", "title": "Field mapping",
                "description": "Meta parameter to merge-field template; empty entries use the event's defaults.",
                "propertyNames": {"anyOf": [{"enum": mapping::MAPPABLE_PARAMS.to_vec()}, {"pattern": "^custom_data\\.[A-Za-z0-9_]+$"}]},
                "additionalProperties": {"type": "string"}}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_settings_take_defaults() {
        let s = parse(r#"{"pixel_id":"123","access_token":"tok","event":"purchase"}"#).unwrap();
        assert_eq!(s.event, EventName::Standard("Purchase"));
        assert_eq!(s.api_version, "v24.0");
        assert_eq!(s.action_source, ActionSource::Website);
        assert_eq!(s.default_country, "US");
        assert!(s.hash_external_id);
    }

    #[test]
    fn a_misspelt_setting_or_parameter_is_told_what_was_meant() {
        let problems = parse(
            r#"{"pixel_id":"123","access_token":"tok","event":"Lead","evnt_source_url":"https://x",
                "mapping":{"user_data.email":"{{contact.email}}","custom_data.value":"1","event_idd":"x"}}"#,
        )
        .unwrap_err();
        let said = |path: &str| {
            problems
                .iter()
                .find(|p| p.path == path)
                .map(|p| p.message.clone())
                .unwrap_or_default()
        };
        assert!(said("/evnt_source_url").ends_with("did you mean `event_source_url`?"));
        assert!(said("/mapping/user_data.email").ends_with("did you mean `user_data.em`?"));
        assert!(said("/mapping/event_idd").ends_with("did you mean `event_id`?"));
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn every_problem_is_listed_with_its_path() {
        let problems = parse(
            r#"{"pixel_id":"abc","event":"","api_version":"24","action_source":"web",
                "event_source_url":"example.com","default_country":"Narnia","colour":1,
                "mapping":{"user_data.shoe_size":"{{contact.x}}","custom_data.value":"{{trigger.total"}}"#,
        )
        .unwrap_err();
        let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
        for expected in [
            "/colour",
            "/pixel_id",
            "/access_token",
            "/api_version",
            "/event",
            "/action_source",
            "/event_source_url",
            "/default_country",
            "/mapping/user_data.shoe_size",
            "/mapping/custom_data.value",
        ] {
            assert!(
                paths.contains(&expected),
                "{expected} missing from {paths:?}"
            );
        }
    }

    #[test]
    fn custom_event_names_are_kept_as_written() {
        let s = parse(r#"{"pixel_id":"1","access_token":"t","event":"Booked Demo"}"#).unwrap();
        assert_eq!(s.event, EventName::Custom("Booked Demo".into()));
    }

    #[test]
    fn a_token_that_cannot_travel_in_a_header_is_refused() {
        for token in [
            "EAAB\u{7}x",
            "EAAB\0x",
            "EAAB x",
            "EAAB\u{e9}x",
            "EAAB\u{7f}x",
        ] {
            let doc = serde_json::json!({"pixel_id": "1", "access_token": token, "event": "Lead"})
                .to_string();
            let problems = parse(&doc).unwrap_err();
            assert_eq!(problems.len(), 1, "{token:?}: {problems:?}");
            assert_eq!(problems[0].path, "/access_token");
        }
    }

    #[test]
    fn not_json_is_one_clear_problem() {
        let p = parse("{pixel").unwrap_err();
        assert_eq!(p.len(), 1);
        assert!(p[0].message.contains("not valid JSON"));
    }
}
