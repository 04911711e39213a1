//! The Conversions API event: built from the settings, the mapping and one
//! firing, normalised and hashed, and checked the way Meta will check it so
//! that nothing Meta would refuse is sent.

use crate::digests::Digests;
use crate::input::{Contact, Firing};
use crate::mapping::{Context, Param, Resolved};
use crate::names::ActionSource;
use crate::normalize::{self, Locale, Normalized, UserKey};
use crate::outcome::{Problem, Warning};
use crate::regions;
use crate::settings::{LimitedDataUse, Settings};
use crate::sha256_lanes;
use serde_json::{Map, Value};

/// Meta refuses events older than this (reference section 2).
pub const MAX_AGE_SECS: i64 = 7 * 24 * 3600;
/// Events this far in the future are refused (clock skew allowance).
pub const MAX_FUTURE_SECS: i64 = 60;

/// One event of the `data` array, as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Standard or custom event name.
    pub event_name: String,
    /// When the conversion happened, Unix seconds.
    pub event_time: i64,
    /// How it happened.
    pub action_source: &'static str,
    /// The deduplication key shared with the Pixel's `eventID`.
    pub event_id: String,
    /// The page where it happened.
    pub event_source_url: Option<String>,
    /// The page before it.
    pub referrer_url: Option<String>,
    /// Attribution only, no ad optimisation.
    pub opt_out: Option<bool>,
    /// Limited Data Use: `["LDU"]` with its country and state (1 = USA and
    /// 1000 = California, or 0 for Meta to geolocate).
    pub data_processing: Option<(u32, u32)>,
    /// The earlier event this one follows up.
    pub original_event_data: Map<String, Value>,
    /// Customer information: hashed keys as SHA-256, raw keys as is.
    pub user_data: UserData,
    /// Value, currency, contents and custom properties.
    pub custom_data: Map<String, Value>,
}

impl Event {
    /// The event as JSON, as it goes in a request's `data`, appended to
    /// `out`. Written by hand rather than through `serde`: the dozen
    /// digests go out as hex without being scanned for characters to
    /// escape, and nothing is built just to be serialised.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut o = JsonObject::open(out);
        o.text("event_name", &self.event_name);
        o.json("event_time", &self.event_time);
        o.text("action_source", self.action_source);
        o.text("event_id", &self.event_id);
        if let Some(url) = &self.event_source_url {
            o.text("event_source_url", url);
        }
        if let Some(url) = &self.referrer_url {
            o.text("referrer_url", url);
        }
        if let Some(opt_out) = &self.opt_out {
            o.json("opt_out", opt_out);
        }
        if let Some((country, state)) = &self.data_processing {
            o.json("data_processing_options", &["LDU"]);
            o.json("data_processing_options_country", country);
            o.json("data_processing_options_state", state);
        }
        if !self.original_event_data.is_empty() {
            o.json("original_event_data", &self.original_event_data);
        }
        self.user_data.write_json(o.key("user_data"));
        if !self.custom_data.is_empty() {
            o.json("custom_data", &self.custom_data);
        }
        o.close();
    }

    /// The event as JSON text.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(1024);
        self.write_json(&mut out);
        String::from_utf8(out).expect("the writer writes UTF-8")
    }
}

/// A JSON object written field by field. Keys are the event's own
/// parameter names, which need no escaping.
struct JsonObject<'o> {
    out: &'o mut Vec<u8>,
    empty: bool,
}

impl<'o> JsonObject<'o> {
    fn open(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        JsonObject { out, empty: true }
    }

    /// Writes `"key":` and gives the buffer for its value.
    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    fn text(&mut self, key: &str, value: &str) {
        self.json(key, value);
    }

    fn json<T: serde::Serialize + ?Sized>(&mut self, key: &str, value: &T) {
        serde_json::to_writer(self.key(key), value).expect("JSON values serialise");
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

/// One `user_data` value as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserValue {
    /// A hashed key's SHA-256.
    Sha256(normalize::Sha256Digest),
    /// A key Meta wants in the clear, or an `external_id` the settings
    /// leave unhashed.
    Plain(String),
}

impl std::fmt::Display for UserValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserValue::Sha256(d) => d.fmt(f),
            UserValue::Plain(p) => f.write_str(p),
        }
    }
}

/// `user_data`: each key with its values, keys in the order they were
/// added, each value once. One value goes out as a string, several as a
/// list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserData(Vec<(UserKey, UserValue)>);

impl UserData {
    /// Removes every value of `key`; whether there was one.
    pub fn remove(&mut self, key: UserKey) -> bool {
        let before = self.0.len();
        self.0.retain(|(k, _)| *k != key);
        self.0.len() != before
    }

    /// Adds a value of `key` after the key's earlier ones, unless it is
    /// already there. A key's values are added together, before the next
    /// key's: a value is only compared with the values just before it.
    pub fn push(&mut self, key: UserKey, value: UserValue) {
        if !repeats(&self.0, key, &value) {
            self.0.push((key, value));
        }
    }

    /// `user_data` from each key's values in order, those marked to be
    /// hashed hashed first, sixteen at a time: [`sha256_lanes`] hashes
    /// eight at once in WebAssembly. A value repeated within its key (two
    /// emails alike once normalised) is kept once, as [`UserData::push`]
    /// keeps it.
    fn hashed(mut values: Vec<(UserKey, UserValue, bool)>) -> UserData {
        for group in values.chunks_mut(16) {
            let mut texts: [&[u8]; 16] = [&[]; 16];
            let mut n = 0;
            for (_, value, to_hash) in group.iter() {
                if let (UserValue::Plain(text), true) = (value, to_hash) {
                    texts[n] = text.as_bytes();
                    n += 1;
                }
            }
            let mut digests = [normalize::Sha256Digest([0; 32]); 16];
            sha256_lanes::digest_into(&texts[..n], &mut digests[..n]);
            let marked = group.iter_mut().filter(|(_, _, to_hash)| *to_hash);
            for ((_, value, _), digest) in marked.zip(&digests) {
                *value = UserValue::Sha256(*digest);
            }
        }
        // Collected in place: the list keeps its allocation.
        let mut data: Vec<(UserKey, UserValue)> =
            values.into_iter().map(|(k, v, _)| (k, v)).collect();
        let mut kept = 0;
        for i in 0..data.len() {
            let (key, value) = &data[i];
            if !repeats(&data[..kept], *key, value) {
                data.swap(kept, i);
                kept += 1;
            }
        }
        data.truncate(kept);
        UserData(data)
    }

    /// The values of `key`, in order.
    pub fn values(&self, key: UserKey) -> impl Iterator<Item = &UserValue> {
        self.0
            .iter()
            .filter(move |(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    /// Whether `key` goes out.
    pub fn contains(&self, key: UserKey) -> bool {
        self.values(key).next().is_some()
    }

    /// `user_data` as JSON, appended to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut o = JsonObject::open(out);
        for group in self.0.chunk_by(|(a, _), (b, _)| a == b) {
            let out = o.key(group[0].0.as_str());
            if let [(_, one)] = group {
                write_user_value(one, out);
            } else {
                out.push(b'[');
                for (i, (_, v)) in group.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_user_value(v, out);
                }
                out.push(b']');
            }
        }
        o.close();
    }
}

/// Whether `value` of `key` is already among the values of `key` at the end
/// of `kept` (a key's values are added together, before the next key's).
fn repeats(kept: &[(UserKey, UserValue)], key: UserKey, value: &UserValue) -> bool {
    let mut same_key = kept.iter().rev().take_while(|(k, _)| *k == key);
    same_key.any(|(_, v)| v == value)
}

fn write_user_value(value: &UserValue, out: &mut Vec<u8>) {
    match value {
        UserValue::Sha256(d) => {
            out.push(b'"');
            out.extend_from_slice(&d.hex());
            out.push(b'"');
        }
        UserValue::Plain(p) => serde_json::to_writer(out, p).expect("text serialises"),
    }
}

/// The most values of one key an event reads (a contact's emails, its
/// phones): more than a contact really has, and few enough that a field
/// holding thousands costs an event no more than a contact's usual handful.
pub const MAX_VALUES: usize = 32;

/// An event ready to send, with what was dropped on the way.
#[derive(Debug, Clone)]
pub struct Built {
    /// The event.
    pub event: Event,
    /// The `user_data` keys that went out valid.
    pub match_keys: Vec<UserKey>,
    /// Fields dropped or corrected.
    pub warnings: Vec<Warning>,
}

/// An event that cannot be sent: why, and what was known.
#[derive(Debug, Clone)]
pub struct Refused {
    /// What makes it unsendable.
    pub problems: Vec<Problem>,
    /// The event id it would have had.
    pub event_id: String,
    /// Fields dropped on the way.
    pub warnings: Vec<Warning>,
}

/// The event id of one firing: the mapped `event_id` (or the event's
/// default), else the firing's id. Deterministic, so a retry and the
/// website's Pixel can send the same.
pub fn event_id(settings: &Settings, contact: &Contact, firing: &Firing) -> String {
    let ctx = Context::new(contact, firing);
    settings
        .effective
        .iter()
        .find(|m| m.param == Param::EventId)
        .and_then(|m| m.template.resolve(&ctx))
        .and_then(|v| v.first_text())
        .filter(|id| !id.trim().is_empty())
        .map_or_else(|| firing.id.clone(), |id| id.into_owned())
}

/// Builds the event of one firing. `now` (Unix seconds) checks its age.
pub fn build(
    settings: &Settings,
    contact: &Contact,
    firing: &Firing,
    now: i64,
) -> Result<Built, Refused> {
    build_with(settings, contact, firing, now, &mut Digests::none())
}

/// [`build`] with the digests of recurring values kept in `digests`: a
/// batch builds all its events with one memo.
pub fn build_with(
    settings: &Settings,
    contact: &Contact,
    firing: &Firing,
    now: i64,
    digests: &mut Digests,
) -> Result<Built, Refused> {
    let ctx = Context::new(contact, firing);
    let locale = Locale::for_contact(contact.country.as_deref(), settings.default_country)
        .at_event(firing.occurred_at);
    let mut warnings = Vec::new();
    let mut problems = Vec::new();

    let mut event = Event {
        event_name: settings.event.as_str().to_string(),
        event_time: firing.occurred_at,
        action_source: settings.action_source.as_str(),
        event_id: String::new(),
        event_source_url: None,
        referrer_url: None,
        opt_out: None,
        data_processing: None,
        original_event_data: Map::new(),
        user_data: UserData::default(),
        custom_data: Map::new(),
    };
    // Each key's value, borrowed from the contact and the firing until it
    // is normalised.
    let mut user_values: Vec<(UserKey, Resolved<'_>)> =
        Vec::with_capacity(settings.effective.len());

    for entry in &settings.effective {
        let (name, template, explicit) = (entry.name.as_str(), &entry.template, entry.explicit);
        let Some(value) = template.resolve(&ctx) else {
            if explicit && !template.is_literal() {
                // Two parameters fall back to another value rather than
                // being left out: say which, as it decides deduplication
                // and attribution.
                let instead = match entry.param {
                    Param::EventId => {
                        "the firing's id is the event id instead, so a Pixel event sent with \
                         this order's or form's id is not deduplicated against it"
                    }
                    Param::EventSourceUrl if settings.event_source_url.is_some() => {
                        "the settings' event_source_url is sent instead"
                    }
                    _ => "the parameter is left out",
                };
                warnings.push(Warning::new(
                    name,
                    format!(
                        "`{}` is empty for this firing; {instead}",
                        template.as_str()
                    ),
                ));
            }
            continue;
        };
        match &entry.param {
            Param::UserData(key) => user_values.push((*key, value)),
            Param::CustomData(field) => match custom_data_value(field, &value) {
                Ok(v) => {
                    event.custom_data.insert(field.clone(), v);
                }
                Err(why) => warnings.push(Warning::new(name, format!("left out: {why}"))),
            },
            Param::OriginalEventData(field) if field == "event_time" => {
                match number(&value.to_value()).filter(|t| t.fract() == 0.0 && *t > 0.0) {
                    Some(t) => {
                        event
                            .original_event_data
                            .insert(field.clone(), Value::from(t as i64));
                    }
                    None => {
                        warnings.push(Warning::new(name, "left out: not a Unix time in seconds"))
                    }
                }
            }
            Param::OriginalEventData(field) => {
                let text = value.first_text().unwrap_or_default().into_owned();
                event
                    .original_event_data
                    .insert(field.clone(), Value::String(text));
            }
            Param::EventId => event.event_id = value.first_text().unwrap_or_default().into_owned(),
            Param::EventSourceUrl | Param::ReferrerUrl => {
                let url = value.first_text().unwrap_or_default().into_owned();
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    warnings.push(Warning::new(
                        name,
                        "left out: a URL must start with http:// or https://",
                    ));
                } else if entry.param == Param::EventSourceUrl {
                    event.event_source_url = Some(url);
                } else {
                    event.referrer_url = Some(url);
                }
            }
            Param::OptOut => match boolean(&value.to_value()) {
                Some(b) => event.opt_out = Some(b),
                None => warnings.push(Warning::new(name, "left out: must be true or false")),
            },
        }
    }

    if normalize::is_blank(&event.event_id) {
        event.event_id = firing.id.clone();
    }
    if event.event_source_url.is_none() {
        event.event_source_url = settings.event_source_url.clone();
    }

    // A click id in the landing URL is the fbc the Pixel would have set.
    if !user_values
        .iter()
        .any(|(k, v)| *k == UserKey::Fbc && v.first_text().is_some())
        && let Some(fbc) = event
            .event_source_url
            .as_deref()
            .and_then(|u| normalize::fbc_from_url(u, firing.occurred_at * 1000))
    {
        user_values.push((UserKey::Fbc, Resolved::Text(fbc.into())));
    }

    // Sized once: most keys give one value, and the list and the keys
    // would otherwise be grown three or four times per event.
    let mut match_keys = Vec::with_capacity(user_values.len());
    // Each value, with whether it still has to be hashed: the event's
    // plain values are hashed together once all are known.
    let mut values: Vec<(UserKey, UserValue, bool)> = Vec::with_capacity(user_values.len() + 1);
    user_values.sort_by_key(|(k, _)| *k);
    for (key, raws) in &user_values {
        let key = *key;
        let take = if key.multi() { MAX_VALUES } else { 1 };
        let (mut seen, mut sent) = (0, false);
        let mut dropped: Vec<String> = Vec::new();
        let mut one = |raw: &str| {
            seen += 1;
            if seen > take {
                return;
            }
            // The keys whose values recur are read through the batch's
            // memo; the others are read here.
            let value = if Digests::recurs(key) {
                digests
                    .digest(key, raw, &locale)
                    .map(|d| (UserValue::Sha256(d), false))
            } else {
                normalize::normalize(key, raw, &locale)
                    .and_then(|n| match n {
                        Normalized::Plain(born)
                            if key == UserKey::Db
                                && born.as_bytes()
                                    > latest_birth(firing.occurred_at).as_slice() =>
                        {
                            Err("a date of birth after the day of the event".into())
                        }
                        n => Ok(n),
                    })
                    .map(|n| sent_form(key, n, settings))
            };
            // A field that holds several addresses reads as no address, and
            // several numbers as none or as one of fourteen digits or more:
            // only then is it read as a list (`a@example.com; b@…`).
            let listed = match &value {
                Err(_) => true,
                Ok((UserValue::Plain(digits), _)) => key == UserKey::Ph && digits.len() >= 14,
                Ok(_) => false,
            };
            if listed && let Some(items) = normalize::list_items(key, raw) {
                seen -= 1;
                for item in items {
                    seen += 1;
                    if seen > take {
                        continue;
                    }
                    match normalize::normalize(key, item, &locale) {
                        Ok(n) => {
                            let (value, to_hash) = sent_form(key, n, settings);
                            values.push((key, value, to_hash));
                            sent = true;
                        }
                        Err(why) => dropped.push(why),
                    }
                }
                return;
            }
            match value {
                Ok((value, to_hash)) => {
                    values.push((key, value, to_hash));
                    sent = true;
                }
                Err(why) => dropped.push(why),
            }
        };
        raws.for_each_text(&mut one);
        if key.multi() && seen > take {
            warnings.push(Warning::new(
                format!("user_data.{}", key.as_str()),
                format!("{seen} values: the first {take} are read and the rest left out"),
            ));
        }
        for why in &dropped {
            let of = if seen > 1 {
                format!(" (one of {seen} values)")
            } else {
                String::new()
            };
            warnings.push(Warning::new(
                format!("user_data.{}", key.as_str()),
                format!("dropped{of}: {why}"),
            ));
        }
        if sent {
            match_keys.push(key);
        }
    }

    event.user_data = UserData::hashed(values);

    match settings.limited_data_use {
        LimitedDataUse::Off => {}
        LimitedDataUse::Always => {
            event.data_processing = Some((0, 0));
        }
        LimitedDataUse::CaliforniaContacts => {
            if locale.country.alpha2 == "US"
                && contact
                    .state
                    .as_deref()
                    .and_then(|s| regions::region_code(s, Some("US")))
                    == Some("CA")
            {
                event.data_processing = Some((1, 1000));
            }
        }
    }
    if let Some(crm) = &settings.lead_event_source {
        event
            .custom_data
            .insert("event_source".into(), Value::String("crm".into()));
        event
            .custom_data
            .insert("lead_event_source".into(), Value::String(crm.clone()));
    }
    if !event.original_event_data.is_empty()
        && !event.original_event_data.contains_key("event_name")
    {
        warnings.push(Warning::new(
            "original_event_data",
            "left out: it needs at least the original event_name",
        ));
        event.original_event_data.clear();
    }

    if let Some(Value::Array(items)) = event.custom_data.get("contents")
        && !event.custom_data.contains_key("num_items")
    {
        let n: i64 = items
            .iter()
            .map(|i| i.get("quantity").and_then(Value::as_i64).unwrap_or(1))
            .sum();
        event.custom_data.insert("num_items".into(), Value::from(n));
    }

    check(settings, &event, now, &mut problems, &mut warnings);

    if problems.is_empty() {
        Ok(Built {
            event,
            match_keys,
            warnings,
        })
    } else {
        Err(Refused {
            problems,
            event_id: event.event_id,
            warnings,
        })
    }
}

/// How a normalised value of `key` is sent: plain (for the keys Meta
/// wants raw, and an external id the settings send raw), or as its
/// SHA-256, with whether it is still to be hashed.
#[inline(always)]
fn sent_form(key: UserKey, n: Normalized, settings: &Settings) -> (UserValue, bool) {
    match n {
        Normalized::Plain(p) | Normalized::Hashed(p)
            if !key.hashed() || (key == UserKey::ExternalId && !settings.hash_external_id) =>
        {
            (UserValue::Plain(p), false)
        }
        Normalized::Plain(p) => (UserValue::Plain(p), true),
        n => (
            n.digest()
                .map_or_else(|| UserValue::Plain(n.hash()), UserValue::Sha256),
            false,
        ),
    }
}

/// The latest date of birth, `YYYYMMDD`, of a customer who took part in an
/// event at `event_time` (Unix seconds): its day in UTC, or the next, as the
/// customer's day may be a day ahead of UTC.
fn latest_birth(event_time: i64) -> [u8; 8] {
    let (year, month, day) = crate::normalize::civil_from_days(event_time.div_euclid(86_400) + 1);
    let mut out = [b'0'; 8];
    for (value, at, width) in [(year, 0, 4), (month, 4, 2), (day, 6, 2)] {
        let mut v = value;
        for place in (at..at + width).rev() {
            out[place] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    out
}

/// The checks Meta applies to a whole request, done before sending.
fn check(
    settings: &Settings,
    event: &Event,
    now: i64,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Warning>,
) {
    let age = now - event.event_time;
    if age > MAX_AGE_SECS {
        problems.push(Problem::new(
            "event_time",
            format!(
                "the trigger fired {} days ago; Meta refuses events older than 7 days",
                age / 86_400
            ),
        ));
    } else if -age > MAX_FUTURE_SECS {
        problems.push(Problem::new(
            "event_time",
            format!(
                "the trigger's time is {} seconds in the future; check the platform's clock",
                -age
            ),
        ));
    }
    if event.event_name == "Purchase" {
        for field in ["value", "currency"] {
            if !event.custom_data.contains_key(field) {
                problems.push(Problem::new(
                    format!("custom_data.{field}"),
                    format!(
                        "a Purchase needs a {field}; map custom_data.{field} to the order's {field}"
                    ),
                ));
            }
        }
    }
    if settings.action_source == ActionSource::Website {
        if event.event_source_url.is_none() {
            problems.push(Problem::new(
                "event_source_url",
                "a website event needs the page URL; map event_source_url or set a default in the settings",
            ));
        }
        if !event.user_data.contains(UserKey::ClientUserAgent) {
            problems.push(Problem::new(
                "user_data.client_user_agent",
                "a website event needs the browser's user agent; map user_data.client_user_agent, or choose another action source",
            ));
        }
    }
    const IDENTIFYING: [UserKey; 6] = [
        UserKey::Em,
        UserKey::Ph,
        UserKey::ExternalId,
        UserKey::Fbc,
        UserKey::Fbp,
        UserKey::LeadId,
    ];
    if !IDENTIFYING.iter().any(|k| event.user_data.contains(*k)) {
        warnings.push(Warning::new(
            "user_data",
            "no email, phone, external id, click id, browser id or lead id: Meta may refuse the event as too thin to match (2804050)",
        ));
    }
}

/// The first text in a line item's field, as merge fields read a value: a
/// list gives its first text, a number its digits.
fn first_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(a) => a.iter().find_map(first_text),
        Value::Null | Value::Object(_) => None,
    }
}

fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        _ => None,
    }
}

/// A money amount or count: a JSON number, or text as shops, spreadsheets
/// and people in every market write amounts: `42.50`, `$1,234.50`, `12,50 €`,
/// `1.234,50`, `1 234,50`, `CHF 1'234.50`, `₹1,23,456.00`, `1.234,-`. The decimal mark
/// is the last of `,` and `.` when both appear, and a lone comma not
/// followed by three digits (`12,5`). A lone separator followed by three
/// digits is ambiguous; it is read as grouping when a comma (`1,234` is
/// 1234) and as the decimal mark when a dot (`1.234` is 1.234), as the
/// platforms' data mostly writes amounts.
pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => amount(s),
        _ => None,
    }
}

/// The amount written in `text`, its currency's sign or code around it.
fn amount(text: &str) -> Option<f64> {
    let from_digits = text
        .trim()
        .trim_start_matches(|c: char| !c.is_ascii_digit() && !matches!(c, '-' | '.' | ','));
    let t = from_digits.trim_end_matches(|c: char| !c.is_ascii_digit());
    // `12,-`, `1.234,-`, `1'234.-`: a whole amount, as German and Swiss
    // prices write one, whose every separator is a group's.
    let whole = ["-", "–"].iter().any(|dash| {
        let tail = &from_digits[t.len()..];
        tail.strip_prefix([',', '.'])
            .is_some_and(|rest| rest.starts_with(dash))
    });
    if !whole && let Ok(n) = t.parse::<f64>() {
        return n.is_finite().then_some(n);
    }
    let (sign, t) = match t.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, t),
    };
    let decimal = match (t.rfind(','), t.rfind('.')) {
        _ if whole => None,
        (Some(comma), Some(dot)) => Some(comma.max(dot)),
        (Some(comma), None) => {
            (t.matches(',').count() == 1 && t.len() - comma - 1 != 3).then_some(comma)
        }
        (None, Some(dot)) => (t.matches('.').count() == 1).then_some(dot),
        (None, None) => None,
    };
    let (int, fraction) = match decimal {
        Some(at) => (&t[..at], &t[at + 1..]),
        None => (t, ""),
    };
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut plain = grouped_digits(int)?;
    if plain.is_empty() && fraction.is_empty() {
        return None;
    }
    plain.push('.');
    plain.push_str(fraction);
    plain
        .parse::<f64>()
        .ok()
        .map(|n| sign * n)
        .filter(|n| n.is_finite())
}

/// The digits of a whole number written with one kind of group separator
/// (`,` `.` a space or an apostrophe) between groups of three, or of two
/// before the last three as in India (`1,23,456`); `None` if it is not one.
fn grouped_digits(int: &str) -> Option<String> {
    let separator = |c: char| {
        matches!(
            c,
            ',' | '.' | ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\'' | '’'
        )
    };
    let Some(used) = int.chars().find(|c| separator(*c)) else {
        return int
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| int.to_string());
    };
    let groups: Vec<&str> = int.split(used).collect();
    let (first, rest) = groups.split_first()?;
    let (last, middle) = rest.split_last()?;
    let digits = |g: &str| g.bytes().all(|b| b.is_ascii_digit());
    let middle_len = middle.first().map_or(3, |g| g.len());
    let fits = groups.iter().all(|g| digits(g))
        && (1..=3).contains(&first.len())
        && last.len() == 3
        && (middle_len == 3 || middle_len == 2)
        && middle.iter().all(|g| g.len() == middle_len);
    fits.then(|| groups.concat())
}

/// A `custom_data` field's value, read as Meta expects that field. Texts
/// are read borrowed from the merge field; only what is sent is copied.
fn custom_data_value(field: &str, v: &Resolved<'_>) -> Result<Value, String> {
    match field {
        "value" | "predicted_ltv" => match number(&v.to_value()) {
            Some(n) if n >= 0.0 => Ok(serde_json::Number::from_f64(n)
                .map(Value::Number)
                .unwrap_or(Value::Null)),
            _ => Err("not a non-negative amount".into()),
        },
        "currency" => {
            let c = v
                .first_text()
                .unwrap_or_default()
                .trim()
                .to_ascii_uppercase();
            if CURRENCIES.binary_search(&c.as_str()).is_ok() {
                Ok(Value::String(c.to_ascii_lowercase()))
            } else {
                Err("not an ISO 4217 currency code such as USD or EUR".into())
            }
        }
        "num_items" => match number(&v.to_value()) {
            Some(n) if n >= 0.0 && n.fract() == 0.0 => Ok(Value::from(n as i64)),
            _ => Err("not a whole number".into()),
        },
        "content_ids" => {
            let mut ids: Vec<Value> = Vec::new();
            v.for_each_text(&mut |s| {
                if !s.trim().is_empty() {
                    ids.push(Value::String(s.to_string()));
                }
            });
            if ids.is_empty() {
                Err("no ids".into())
            } else {
                Ok(Value::Array(ids))
            }
        }
        "contents" => contents(v.to_value()),
        "content_type" => match v
            .first_text()
            .map(|s| s.trim().to_ascii_lowercase())
            .as_deref()
        {
            Some(t @ ("product" | "product_group")) => Ok(Value::String(t.to_string())),
            _ => Err("content_type is product or product_group".into()),
        },
        "delivery_category" => match v
            .first_text()
            .map(|s| s.trim().to_ascii_lowercase())
            .as_deref()
        {
            Some(t @ ("in_store" | "curbside" | "home_delivery")) => {
                Ok(Value::String(t.to_string()))
            }
            _ => Err("delivery_category is in_store, curbside or home_delivery".into()),
        },
        "content_name" | "content_category" | "order_id" | "status" | "search_string" => Ok(
            Value::String(v.first_text().unwrap_or_default().into_owned()),
        ),
        _ => Ok(v.to_value()),
    }
}

/// `contents` from a list of line items, reading the names shops use.
fn contents(v: Value) -> Result<Value, String> {
    let Value::Array(items) = v else {
        return Err("contents must be a list of items".into());
    };
    let mut out = Vec::new();
    for item in items {
        let Value::Object(o) = item else { continue };
        let pick = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| o.get(*n).filter(|v| !v.is_null()))
        };
        let Some(id) = pick(&["id", "sku", "product_id", "variant_id"]).and_then(first_text) else {
            continue;
        };
        let mut c = Map::new();
        c.insert("id".into(), Value::String(id));
        if let Some(q) = pick(&["quantity", "qty"]).and_then(number) {
            c.insert("quantity".into(), Value::from(q as i64));
        }
        if let Some(p) = pick(&["item_price", "price", "unit_price"]).and_then(number)
            && let Some(n) = serde_json::Number::from_f64(p)
        {
            c.insert("item_price".into(), Value::Number(n));
        }
        if let Some(d) = pick(&["delivery_category"]) {
            c.insert("delivery_category".into(), d.clone());
        }
        out.push(Value::Object(c));
    }
    if out.is_empty() {
        Err("no item has an id".into())
    } else {
        Ok(Value::Array(out))
    }
}

/// Active ISO 4217 currency codes, in alphabetical order (searched by
/// halves).
pub const CURRENCIES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings;
    use serde_json::json;

    const NOW: i64 = 1_767_000_000;

    fn settings(extra: &str) -> Settings {
        settings::parse(&format!(
            r#"{{"pixel_id":"1","access_token":"t","event":"Purchase"{extra}}}"#
        ))
        .unwrap()
    }

    fn contact() -> Contact {
        Contact {
            id: "c-1".into(),
            emails: vec![
                "Ada@Example.com".into(),
                "ada@example.com".into(),
                "broken".into(),
            ],
            phones: vec!["(650) 555-1212".into()],
            first_name: Some("Ada".into()),
            country: Some("United States".into()),
            ..Contact::default()
        }
    }

    fn order() -> Firing {
        let mut f = Firing::new("f-1", "order_placed", NOW - 60);
        f.data = json!({
            "order": {"id": "ord-1001", "total": "1,299.00", "currency": "usd",
                      "items": [{"sku": "A1", "qty": 2, "price": 600}, {"sku": "B2", "price": 99}]},
            "page": {"url": "https://shop.example/thanks?fbclid=IwAbC"},
            "client": {"user_agent": "Mozilla/5.0", "ip_address": "203.0.113.9"}
        })
        .into();
        f
    }

    #[test]
    fn an_empty_mapping_sends_what_the_contact_and_order_have() {
        let b = build(&settings(""), &contact(), &order(), NOW).unwrap();
        let e = &b.event;
        assert_eq!(e.event_id, "ord-1001", "Purchase dedups on the order id");
        assert_eq!(e.event_time, NOW - 60);
        assert_eq!(e.custom_data["value"], json!(1299.0));
        assert_eq!(e.custom_data["currency"], json!("usd"));
        assert_eq!(e.custom_data["num_items"], json!(3));
        let sent: Value = serde_json::from_str(&e.to_json()).unwrap();
        let user_data = &sent["user_data"];
        assert_eq!(
            user_data["em"],
            json!(normalize::sha256_hex("ada@example.com")),
            "duplicates collapse"
        );
        assert_eq!(user_data["ph"], json!(normalize::sha256_hex("16505551212")));
        assert_eq!(
            user_data["fbc"],
            json!(format!("fb.1.{}.IwAbC", (NOW - 60) * 1000))
        );
        assert_eq!(user_data["client_ip_address"], json!("203.0.113.9"));
        assert!(b.match_keys.contains(&UserKey::Em));
        assert!(
            b.warnings
                .iter()
                .any(|w| w.field == "user_data.em" && w.message.contains("one of 3"))
        );
        let body = e.to_json();
        assert!(!body.contains("Ada"), "no raw personal data in {body}");
    }

    #[test]
    fn a_date_of_birth_after_the_events_day_is_dropped() {
        // The order was placed on 2025-12-29 (UTC); the customer's day may
        // already be the 30th.
        for (born, kept) in [
            ("1990-05-26", true),
            ("2025-12-29", true),
            ("2025-12-30", true),
            ("2025-12-31", false),
            ("2026-01-01", false),
            ("12/31/2099", false),
        ] {
            let mut c = contact();
            c.date_of_birth = Some(born.into());
            let b = build(&settings(""), &c, &order(), NOW).unwrap();
            let sent: Value = serde_json::from_str(&b.event.to_json()).unwrap();
            assert_eq!(sent["user_data"].get("db").is_some(), kept, "{born}");
            let warned = b.warnings.iter().any(|w| {
                w.field == "user_data.db" && w.message.contains("after the day of the event")
            });
            assert_eq!(warned, !kept, "{born}: {:?}", b.warnings);
        }
    }

    #[test]
    fn a_two_digit_year_of_birth_is_read_in_the_events_century() {
        // 2025-12-29 and, 12 years on, 2037-12-29 (UTC): a customer is 13
        // to 99 years old at the event.
        let later = NOW + 4_383 * 86_400;
        for (at, born, sent) in [
            (NOW, "05/26/90", Some("19900526")),
            (NOW, "05/26/05", Some("20050526")),
            (NOW, "05/26/20", None),
            (NOW, "05/26/27", Some("19270526")),
            (later, "05/26/20", Some("20200526")),
            (later, "05/26/27", None),
            (later, "05/26/40", Some("19400526")),
        ] {
            let mut c = contact();
            c.date_of_birth = Some(born.into());
            let mut firing = order();
            firing.occurred_at = at - 60;
            let b = build(&settings(""), &c, &firing, at).unwrap();
            let event: Value = serde_json::from_str(&b.event.to_json()).unwrap();
            let expected = sent.map(|date| json!(normalize::sha256_hex(date)));
            assert_eq!(
                event["user_data"].get("db"),
                expected.as_ref(),
                "{born} at {at}"
            );
        }
    }

    #[test]
    fn the_latest_birth_is_the_day_after_the_events_in_utc() {
        for (at, day) in [
            (0, b"19700102"),
            (86_399, b"19700102"),
            (86_400, b"19700103"),
            (951_782_400, b"20000301"), // 2000-02-29, a leap day
            (1_767_225_599, b"20260101"),
            (-1, b"19700101"),
            (4_102_444_800, b"21000102"),
        ] {
            assert_eq!(&latest_birth(at), day, "{at}");
        }
    }

    #[test]
    fn a_value_repeated_within_its_key_goes_out_once() {
        // Alike once normalised, and alike once hashed: an address written
        // twice, and the platform's own hash of it.
        let mut c = contact();
        c.emails = vec![
            "Ada@Example.com".into(),
            "b@example.com".into(),
            " ada@example.com".into(),
            normalize::sha256_hex("ada@example.com").to_uppercase(),
            "b@example.com".into(),
        ];
        let b = build(&settings(""), &c, &order(), NOW).unwrap();
        let sent: Value = serde_json::from_str(&b.event.to_json()).unwrap();
        assert_eq!(
            sent["user_data"]["em"],
            json!([
                normalize::sha256_hex("ada@example.com"),
                normalize::sha256_hex("b@example.com")
            ])
        );
    }

    #[test]
    fn a_field_that_holds_several_values_sends_each() {
        let mut c = contact();
        c.emails = vec![
            "ada@example.com; Ada.Lovelace@Example.com".into(),
            "\"Lovelace, Ada\" <ada@example.org>".into(),
        ];
        c.phones = vec!["(650) 555-1212 / (650) 555-1313".into()];
        let b = build(&settings(""), &c, &order(), NOW).unwrap();
        let sent: Value = serde_json::from_str(&b.event.to_json()).unwrap();
        let hashes = |values: &[&str]| -> Value {
            values.iter().map(|v| normalize::sha256_hex(v)).collect()
        };
        assert_eq!(
            sent["user_data"]["em"],
            hashes(&[
                "ada@example.com",
                "ada.lovelace@example.com",
                "ada@example.org"
            ])
        );
        assert_eq!(
            sent["user_data"]["ph"],
            hashes(&["16505551212", "16505551313"])
        );
        assert!(b.warnings.is_empty(), "{:?}", b.warnings);

        // Two local numbers in one field are as long as one number with its
        // country code: each is read, and each lacks its area code.
        c.phones = vec!["555-1212; 555-1313".into()];
        let b = build(&settings(""), &c, &order(), NOW).unwrap();
        let sent: Value = serde_json::from_str(&b.event.to_json()).unwrap();
        assert_eq!(sent["user_data"].get("ph"), None);
        let dropped = b.warnings.iter().filter(|w| {
            w.field == "user_data.ph" && w.message.starts_with("dropped (one of 2 values)")
        });
        assert_eq!(dropped.count(), 2, "{:?}", b.warnings);
    }

    #[test]
    fn a_field_of_thousands_of_values_sends_the_first_and_says_so() {
        let mut c = contact();
        c.emails = (0..50_000).map(|i| format!("u{i}@example.com")).collect();
        // In one field, too, as a CRM's column of addresses holds them.
        c.phones = vec![
            (0..10_000)
                .map(|i| format!("+1 650 555 {:04}", i % 10_000))
                .collect::<Vec<_>>()
                .join("; "),
        ];
        let b = build(&settings(""), &c, &order(), NOW).unwrap();
        let sent: Value = serde_json::from_str(&b.event.to_json()).unwrap();
        let em: Vec<Value> = (0..MAX_VALUES)
            .map(|i| normalize::sha256_hex(&format!("u{i}@example.com")).into())
            .collect();
        assert_eq!(sent["user_data"]["em"], Value::Array(em));
        assert_eq!(
            sent["user_data"]["ph"].as_array().map(Vec::len),
            Some(MAX_VALUES)
        );
        let said: Vec<_> = b
            .warnings
            .iter()
            .map(|w| (w.field.as_str(), w.message.as_str()))
            .collect();
        assert_eq!(
            said,
            [
                (
                    "user_data.em",
                    "50000 values: the first 32 are read and the rest left out"
                ),
                (
                    "user_data.ph",
                    "10000 values: the first 32 are read and the rest left out"
                )
            ]
        );
    }

    #[test]
    fn meta_rejections_are_caught_before_sending() {
        let mut f = order();
        f.occurred_at = NOW - 8 * 86_400;
        f.data = json!({"order": {"id": "o"}}).into();
        let r = build(&settings(""), &contact(), &f, NOW).unwrap_err();
        let paths: Vec<_> = r.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "event_time",
                "custom_data.value",
                "custom_data.currency",
                "event_source_url",
                "user_data.client_user_agent"
            ]
        );
        assert_eq!(r.event_id, "o");
    }

    #[test]
    fn explicit_mapping_overrides_defaults_and_warns_when_empty() {
        let s = settings(
            r#","action_source":"system_generated","mapping":{"event_id":"{{trigger.order.number}}","custom_data.value":"{{trigger.order.total}}","custom_data.currency":"EUR"}"#,
        );
        let b = build(&s, &contact(), &order(), NOW).unwrap();
        assert_eq!(b.event.event_id, "f-1", "falls back to the firing id");
        assert_eq!(b.event.custom_data["currency"], json!("eur"));
        assert!(
            b.warnings.iter().any(|w| w.field == "event_id"
                && w.message
                    .contains("the firing's id is the event id instead")),
            "{:?}",
            b.warnings
        );
        // A page URL mapped but empty falls back to the settings' default.
        let s = settings(
            r#","event_source_url":"https://shop.example.com/","mapping":{"event_source_url":"{{trigger.page.nowhere}}"}"#,
        );
        let b = build(&s, &contact(), &order(), NOW).unwrap();
        assert_eq!(
            b.event.event_source_url.as_deref(),
            Some("https://shop.example.com/")
        );
        assert!(
            b.warnings.iter().any(|w| w.field == "event_source_url"
                && w.message
                    .contains("the settings' event_source_url is sent instead")),
            "{:?}",
            b.warnings
        );
    }

    #[test]
    fn the_written_event_is_the_json_meta_reads() {
        let s = settings(
            r#","limited_data_use":"always","hash_external_id":false,"mapping":{"opt_out":"yes","referrer_url":"https://ref.example/a\"b"}"#,
        );
        let mut c = contact();
        c.emails = vec!["b@example.com".into(), "a@example.com".into()];
        c.id = "crm \"7\"".into();
        let b = build(&s, &c, &order(), NOW).unwrap();
        let sent: Value = serde_json::from_str(&b.event.to_json()).unwrap();
        let ud = &sent["user_data"];
        assert_eq!(
            ud["em"],
            json!([
                normalize::sha256_hex("b@example.com"),
                normalize::sha256_hex("a@example.com")
            ]),
            "several values go as a list, in order"
        );
        assert_eq!(ud["ph"], json!(normalize::sha256_hex("16505551212")));
        assert_eq!(
            ud["external_id"],
            json!("crm \"7\""),
            "left unhashed, escaped"
        );
        assert_eq!(sent["referrer_url"], json!("https://ref.example/a\"b"));
        assert_eq!(sent["opt_out"], json!(true));
        assert_eq!(sent["data_processing_options"], json!(["LDU"]));
        assert_eq!(sent["data_processing_options_country"], json!(0));
        assert_eq!(sent["data_processing_options_state"], json!(0));
        assert_eq!(sent["event_time"], json!(NOW - 60));
        assert_eq!(sent["custom_data"]["currency"], json!("usd"));
        let keys: Vec<&str> = sent
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert!(
            !keys.contains(&"original_event_data"),
            "empty objects are left out"
        );
        assert_eq!(
            ud.as_object().unwrap().len(),
            b.match_keys.len(),
            "each key once"
        );
    }

    #[test]
    fn currencies_are_in_order_for_their_search() {
        assert!(
            CURRENCIES.is_sorted(),
            "a currency out of order is never found"
        );
        for c in ["AED", "EUR", "USD", "ZWG"] {
            assert!(CURRENCIES.binary_search(&c).is_ok(), "{c}");
        }
    }

    #[test]
    fn numbers_in_the_forms_people_type() {
        assert_eq!(number(&json!("$1,234.50")), Some(1234.5));
        assert_eq!(number(&json!("42")), Some(42.0));
        assert_eq!(number(&json!(7)), Some(7.0));
        assert_eq!(number(&json!("abc")), None);
        // As Europe, Switzerland, India and Brazil write amounts.
        for (text, amount) in [
            ("12,5", 12.5),
            ("12,50 €", 12.5),
            ("EUR 1.234,50", 1234.5),
            ("1 234,50", 1234.5),
            ("1\u{a0}234,50\u{a0}€", 1234.5),
            ("1\u{202f}234\u{202f}567,89", 1_234_567.89),
            ("CHF 1'234.50", 1234.5),
            ("1’234’567", 1_234_567.0),
            ("₹1,23,456.00", 123_456.0),
            ("12,34,56,789", 123_456_789.0),
            ("R$ 1.234,56", 1234.56),
            ("1.234.567", 1_234_567.0),
            (",5", 0.5),
            ("-12,50", -12.5),
            // Whole amounts, as German and Swiss prices write them.
            ("12,-", 12.0),
            ("1.234,-", 1234.0),
            ("1.234,– €", 1234.0),
            ("CHF 1'234.-", 1234.0),
        ] {
            assert_eq!(number(&json!(text)), Some(amount), "{text}");
        }
        // A lone separator before three digits, as most platforms write.
        assert_eq!(number(&json!("1,234")), Some(1234.0));
        assert_eq!(number(&json!("1.234")), Some(1.234));
        assert_eq!(number(&json!("1,2345")), Some(1.2345), "not three digits");
        // Groups that are not of three, two separators as the decimal mark,
        // two kinds of grouping.
        for text in [
            "1,23.45",
            "12,5,0",
            "1.2.3",
            "1,234.567,89",
            "1 234.567,89",
            "12,,5",
            "-",
            ",",
            ".",
        ] {
            assert_eq!(number(&json!(text)), None, "{text}");
        }
    }
}
