//! Merge fields: the templates a workflow builder writes to say where each
//! Meta parameter comes from (`{{contact.email}}`, `{{trigger.order.total}}`,
//! literals), the defaults per event, and their resolution for one firing.
//!
//! Template syntax: text with `{{ ... }}` parts. Inside, one or more
//! alternatives separated by `|`, tried in order until one has a value:
//! a path (`contact.<field>`, `trigger.<path>`, with `*` to collect every
//! element of a list) or a quoted literal (`"USD"`). A template that is one
//! `{{ ... }}` alone keeps the value's JSON type (a number stays a number, a
//! list stays a list); mixed text renders as text.

use crate::input::{Contact, Firing};
use crate::json_tree::{JsonNode, Kind};
use crate::names::EventName;
use crate::normalize::{UserKey, is_blank};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Parameters outside `user_data` and `custom_data` that a mapping can set.
pub const EVENT_PARAMS: [&str; 4] = ["event_id", "event_source_url", "referrer_url", "opt_out"];

/// The standard `custom_data` fields.
pub const CUSTOM_DATA_FIELDS: [&str; 13] = [
    "value",
    "currency",
    "content_ids",
    "contents",
    "content_type",
    "content_name",
    "content_category",
    "order_id",
    "num_items",
    "predicted_ltv",
    "status",
    "search_string",
    "delivery_category",
];

/// Every named mappable parameter (custom properties `custom_data.<name>`
/// come on top).
pub const MAPPABLE_PARAMS: [&str; 46] = [
    "event_id",
    "original_event_data.event_name",
    "original_event_data.event_time",
    "original_event_data.order_id",
    "original_event_data.event_id",
    "event_source_url",
    "referrer_url",
    "opt_out",
    "user_data.em",
    "user_data.ph",
    "user_data.fn",
    "user_data.ln",
    "user_data.ge",
    "user_data.db",
    "user_data.ct",
    "user_data.st",
    "user_data.zp",
    "user_data.country",
    "user_data.external_id",
    "user_data.client_ip_address",
    "user_data.client_user_agent",
    "user_data.fbc",
    "user_data.fbp",
    "user_data.subscription_id",
    "user_data.fb_login_id",
    "user_data.lead_id",
    "user_data.anon_id",
    "user_data.madid",
    "user_data.page_id",
    "user_data.page_scoped_user_id",
    "user_data.ctwa_clid",
    "user_data.ig_account_id",
    "user_data.ig_sid",
    "custom_data.value",
    "custom_data.currency",
    "custom_data.content_ids",
    "custom_data.contents",
    "custom_data.content_type",
    "custom_data.content_name",
    "custom_data.content_category",
    "custom_data.order_id",
    "custom_data.num_items",
    "custom_data.predicted_ltv",
    "custom_data.status",
    "custom_data.search_string",
    "custom_data.delivery_category",
];

/// Whether a mapping may set `param`.
pub fn is_mappable(param: &str) -> bool {
    Param::parse(param).is_some()
}

/// Where a mapped value goes in the event: the parameter name a builder
/// writes, read once when the settings are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    /// `event_id`.
    EventId,
    /// `event_source_url`.
    EventSourceUrl,
    /// `referrer_url`.
    ReferrerUrl,
    /// `opt_out`.
    OptOut,
    /// `original_event_data.<field>`.
    OriginalEventData(String),
    /// `user_data.<key>`.
    UserData(UserKey),
    /// `custom_data.<field>`, standard or a custom property.
    CustomData(String),
}

impl Param {
    /// Reads a parameter name; `None` when a mapping may not set it.
    pub fn parse(name: &str) -> Option<Param> {
        match name {
            "event_id" => return Some(Param::EventId),
            "event_source_url" => return Some(Param::EventSourceUrl),
            "referrer_url" => return Some(Param::ReferrerUrl),
            "opt_out" => return Some(Param::OptOut),
            _ => {}
        }
        if let Some(key) = name.strip_prefix("user_data.") {
            return UserKey::parse(key).map(Param::UserData);
        }
        if let Some(field) = name.strip_prefix("original_event_data.") {
            return MAPPABLE_PARAMS
                .contains(&name)
                .then(|| Param::OriginalEventData(field.to_string()));
        }
        name.strip_prefix("custom_data.")
            .filter(|field| {
                !field.is_empty()
                    && field.len() <= 64
                    && field
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            })
            .map(|field| Param::CustomData(field.to_string()))
    }
}

/// One entry of the mapping in force.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The parameter as the builder wrote it, for messages.
    pub name: String,
    /// Where the value goes.
    pub param: Param,
    /// Where the value comes from.
    pub template: Template,
    /// Whether the builder set it (else it is the event's default).
    pub explicit: bool,
}

/// One alternative inside `{{ ... }}`, read once when the template is
/// parsed so that resolving it for each firing matches no names.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    /// A field of the contact record.
    Contact(ContactField),
    /// A custom field of the contact, then a path into its value.
    Custom(String, Vec<String>),
    /// The firing's own id, type or time.
    Firing(FiringField),
    /// A path into the trigger's data.
    Data(Vec<String>),
    /// A quoted literal.
    Literal(String),
    /// A path that names nothing: a record field with a path after it
    /// (`contact.email.domain`), or `contact.custom` alone. Always empty.
    Nothing,
}

/// The fields of the contact record a merge field can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContactField {
    Id,
    Email,
    Emails,
    Phone,
    Phones,
    FirstName,
    LastName,
    FullName,
    Gender,
    DateOfBirth,
    City,
    State,
    PostalCode,
    Country,
}

impl ContactField {
    fn parse(name: &str) -> Option<ContactField> {
        Some(match name {
            "id" => ContactField::Id,
            "email" => ContactField::Email,
            "emails" => ContactField::Emails,
            "phone" => ContactField::Phone,
            "phones" => ContactField::Phones,
            "first_name" => ContactField::FirstName,
            "last_name" => ContactField::LastName,
            "full_name" => ContactField::FullName,
            "gender" => ContactField::Gender,
            "date_of_birth" => ContactField::DateOfBirth,
            "city" => ContactField::City,
            "state" => ContactField::State,
            "postal_code" => ContactField::PostalCode,
            "country" => ContactField::Country,
            _ => return None,
        })
    }
}

/// The firing's own fields a merge field can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FiringField {
    Id,
    Type,
    OccurredAt,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Field(Vec<Source>),
}

/// A parsed merge-field template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
    source: String,
}

impl Template {
    /// Parses a template; `Err` says what is wrong in words a builder
    /// understands.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::with_capacity(1);
        let mut rest = text;
        while let Some(open) = find_pair(rest, b"{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let Some(close) = find_pair(after, b"}}") else {
                return Err(format!(
                    "`{text}` opens a merge field with {{{{ but never closes it with }}}}"
                ));
            };
            let inner = &after[..close];
            let mut sources = Vec::with_capacity(inner.bytes().filter(|&b| b == b'|').count() + 1);
            for_each_alternative(inner, &mut |alt| {
                sources.push(parse_source(alt.trim())?);
                Ok(())
            })?;
            parts.push(Part::Field(sources));
            rest = &after[close + 2..];
        }
        if find_pair(rest, b"}}").is_some() {
            return Err(format!(
                "`{text}` closes a merge field with }}}} that was never opened"
            ));
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template {
            parts,
            source: text.to_string(),
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the template is a literal with no merge field.
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    /// The template's value for one firing; `None` when every merge field it
    /// reads is empty. The value borrows from the contact, the firing and
    /// the template: only text a template writes around its merge fields is
    /// copied.
    pub fn resolve<'a>(&'a self, ctx: &Context<'a>) -> Option<Resolved<'a>> {
        if let [Part::Field(sources)] = self.parts.as_slice() {
            return sources.iter().find_map(|s| ctx.lookup(s));
        }
        let mut out = String::new();
        let mut any_field = false;
        let mut any_value = false;
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field(sources) => {
                    any_field = true;
                    if let Some(v) = sources.iter().find_map(|s| ctx.lookup(s)) {
                        any_value = true;
                        v.write_scalar(&mut out);
                    }
                }
            }
        }
        if any_field && !any_value {
            return None;
        }
        let trimmed = out.trim();
        if trimmed.is_empty() {
            None
        } else if trimmed.len() == out.len() {
            Some(Resolved::Text(Cow::Owned(out)))
        } else {
            Some(Resolved::Text(Cow::Owned(trimmed.to_string())))
        }
    }
}

/// Where `pair` (two ASCII bytes, so a match is always at a character
/// boundary) first occurs in `s`. Reading a settings document parses every
/// default template, and `str::find` prepares a general substring search
/// for each call: for two bytes, a scan is several times cheaper.
fn find_pair(s: &str, pair: &[u8; 2]) -> Option<usize> {
    s.as_bytes().windows(2).position(|w| w == pair)
}

/// Calls `each` with every `|`-separated alternative inside a merge field,
/// in order; a `|` inside quotes is part of a literal.
fn for_each_alternative(
    inner: &str,
    each: &mut dyn FnMut(&str) -> Result<(), String>,
) -> Result<(), String> {
    // An unclosed quote is the first thing to say, whatever else is wrong.
    if inner.bytes().filter(|&b| b == b'"').count() % 2 == 1 {
        return Err(format!(
            "`{{{{{inner}}}}}` has a quote that is never closed"
        ));
    }
    let mut start = 0;
    let mut in_quote = false;
    for (i, b) in inner.bytes().enumerate() {
        match b {
            b'"' => in_quote = !in_quote,
            b'|' if !in_quote => {
                each(&inner[start..i])?;
                start = i + 1;
            }
            _ => {}
        }
    }
    each(&inner[start..])
}

fn parse_source(alt: &str) -> Result<Source, String> {
    if let Some(lit) = alt.strip_prefix('"') {
        return lit
            .strip_suffix('"')
            .map(|l| Source::Literal(l.to_string()))
            .ok_or_else(|| format!("`{alt}` is missing its closing quote"));
    }
    let mut segs = alt.split('.');
    let root = segs.next().unwrap_or_default();
    let path: Vec<String> = segs.map(str::to_string).collect();
    if path.is_empty()
        || path
            .iter()
            .any(|s| s.is_empty() || s.contains(char::is_whitespace))
    {
        return Err(format!(
            "`{alt}` is not a merge field; write contact.<field> or trigger.<path>, e.g. contact.email"
        ));
    }
    match root {
        "contact" => Ok(contact_source(path)),
        "trigger" => Ok(trigger_source(path)),
        _ => Err(format!(
            "`{alt}` starts with `{root}`; merge fields start with contact. or trigger."
        )),
    }
}

/// `contact.<path>`: a record field, else a custom field (`contact.<name>`
/// or `contact.custom.<name>`) and a path into it.
fn contact_source(mut path: Vec<String>) -> Source {
    if let Some(field) = ContactField::parse(&path[0]) {
        return if path.len() == 1 {
            Source::Contact(field)
        } else {
            Source::Nothing
        };
    }
    if path[0] == "custom" {
        path.remove(0);
        if path.is_empty() {
            return Source::Nothing;
        }
    }
    let name = path.remove(0);
    Source::Custom(name, path)
}

/// `trigger.<path>`: the firing's id, type or time, else a path into its
/// data (`trigger.data.<path>` says so explicitly).
fn trigger_source(mut path: Vec<String>) -> Source {
    let field = match path.as_slice() {
        [one] if one == "id" => Some(FiringField::Id),
        [one] if one == "type" => Some(FiringField::Type),
        [one] if one == "occurred_at" => Some(FiringField::OccurredAt),
        _ => None,
    };
    if let Some(field) = field {
        return Source::Firing(field);
    }
    if path[0] == "data" {
        path.remove(0);
    }
    Source::Data(path)
}

/// A merge field's value for one firing, borrowed wherever it can be: an
/// event reads a dozen merge fields, and copying each into a fresh JSON
/// value was most of what resolving them cost.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved<'a> {
    /// One text: a contact field, a literal, or what a template wrote.
    Text(Cow<'a, str>),
    /// Every value of a contact's list field (`contact.emails`).
    Texts(&'a [String]),
    /// A value of the trigger's data or of a custom field.
    Json(JsonNode<'a>),
    /// What `*` collected from a list's members, in order; reads as a list.
    Each(Vec<Resolved<'a>>),
    /// A whole number the firing carries (`trigger.occurred_at`).
    Integer(i64),
}

impl<'a> Resolved<'a> {
    /// The value as JSON, with its type: a list stays a list, a number a
    /// number.
    pub fn into_value(self) -> Value {
        match self {
            Resolved::Text(t) => Value::String(t.into_owned()),
            Resolved::Texts(l) => Value::Array(l.iter().cloned().map(Value::String).collect()),
            Resolved::Json(v) => v.to_value(),
            Resolved::Each(l) => Value::Array(l.into_iter().map(Resolved::into_value).collect()),
            Resolved::Integer(i) => Value::from(i),
        }
    }

    /// The value as JSON, with its type.
    pub fn to_value(&self) -> Value {
        self.clone().into_value()
    }

    /// Calls `f` with every text in the value, in order: a list gives each
    /// element, a number its digits. A JSON object or `null` gives none.
    pub fn for_each_text(&self, f: &mut dyn FnMut(&str)) {
        match self {
            Resolved::Text(t) => f(t),
            Resolved::Texts(l) => l.iter().for_each(|t| f(t)),
            Resolved::Json(v) => json_texts(*v, f),
            Resolved::Each(l) => l.iter().for_each(|r| r.for_each_text(f)),
            Resolved::Integer(i) => f(&i.to_string()),
        }
    }

    /// The first text in the value, if it has one.
    pub fn first_text(&self) -> Option<Cow<'a, str>> {
        match self {
            Resolved::Text(t) => Some(t.clone()),
            Resolved::Texts(l) => l.first().map(|t| Cow::Borrowed(t.as_str())),
            Resolved::Json(v) => first_json_text(*v),
            Resolved::Each(l) => l.iter().find_map(Resolved::first_text),
            Resolved::Integer(i) => Some(Cow::Owned(i.to_string())),
        }
    }

    /// Whether the value holds nothing worth sending: no text but spaces,
    /// `null`, or a list of such.
    fn is_empty(&self) -> bool {
        match self {
            Resolved::Text(t) => is_blank(t),
            Resolved::Texts(l) => l.iter().all(|t| is_blank(t)),
            Resolved::Json(v) => is_empty(*v),
            Resolved::Each(l) => l.iter().all(Resolved::is_empty),
            Resolved::Integer(_) => false,
        }
    }

    /// Writes the value as text inside a template's text: a list gives its
    /// first element, other JSON its JSON text.
    fn write_scalar(&self, out: &mut String) {
        match self {
            Resolved::Text(t) => out.push_str(t),
            Resolved::Texts(l) => out.push_str(l.first().map_or("", String::as_str)),
            Resolved::Json(v) => write_json_scalar(*v, out),
            Resolved::Each(l) => {
                if let Some(first) = l.first() {
                    first.write_scalar(out);
                }
            }
            Resolved::Integer(i) => out.push_str(&i.to_string()),
        }
    }
}

/// Calls `f` with every text in a JSON value, as [`Resolved::for_each_text`].
fn json_texts(v: JsonNode<'_>, f: &mut dyn FnMut(&str)) {
    match v.kind() {
        Kind::String(s) => f(s),
        Kind::Array => v.items().for_each(|x| json_texts(x, f)),
        Kind::Number(n) => f(&n.to_string()),
        Kind::Bool(b) => f(if b { "true" } else { "false" }),
        Kind::Null | Kind::Object => {}
    }
}

/// The first text in a JSON value, as [`Resolved::first_text`].
fn first_json_text(v: JsonNode<'_>) -> Option<Cow<'_, str>> {
    match v.kind() {
        Kind::String(s) => Some(Cow::Borrowed(s)),
        Kind::Number(n) => Some(Cow::Owned(n.to_string())),
        Kind::Bool(b) => Some(Cow::Borrowed(if b { "true" } else { "false" })),
        Kind::Array => v.items().find_map(first_json_text),
        Kind::Null | Kind::Object => None,
    }
}

fn write_json_scalar(v: JsonNode<'_>, out: &mut String) {
    match v.kind() {
        Kind::String(s) => out.push_str(s),
        Kind::Array => {
            if let Some(first) = v.items().next() {
                write_json_scalar(first, out);
            }
        }
        Kind::Null => {}
        _ => out.push_str(&v.to_value().to_string()),
    }
}

/// What merge fields read: the contact and the firing.
pub struct Context<'a> {
    contact: &'a Contact,
    firing: &'a Firing,
}

impl<'a> Context<'a> {
    /// A context for one firing.
    pub fn new(contact: &'a Contact, firing: &'a Firing) -> Self {
        Context { contact, firing }
    }

    fn lookup(&self, source: &'a Source) -> Option<Resolved<'a>> {
        let v = match source {
            Source::Literal(l) => Some(Resolved::Text(Cow::Borrowed(l))),
            Source::Contact(field) => self.contact_field(*field),
            Source::Custom(name, path) => self
                .contact
                .custom_fields
                .root()
                .get(name)
                .and_then(|v| walk(v, path)),
            Source::Firing(FiringField::Id) => Some(Resolved::Text(Cow::Borrowed(&self.firing.id))),
            Source::Firing(FiringField::Type) => {
                Some(Resolved::Text(Cow::Borrowed(&self.firing.trigger_type)))
            }
            Source::Firing(FiringField::OccurredAt) => {
                Some(Resolved::Integer(self.firing.occurred_at))
            }
            Source::Data(path) => walk(self.firing.data.root(), path),
            Source::Nothing => None,
        }?;
        (!v.is_empty()).then_some(v)
    }

    fn contact_field(&self, field: ContactField) -> Option<Resolved<'a>> {
        let c = self.contact;
        let text = |s: &'a Option<String>| s.as_deref().map(|t| Resolved::Text(Cow::Borrowed(t)));
        match field {
            ContactField::Id => Some(Resolved::Text(Cow::Borrowed(&c.id))),
            ContactField::Email => c.emails.first().map(|t| Resolved::Text(Cow::Borrowed(t))),
            ContactField::Emails => Some(Resolved::Texts(&c.emails)),
            ContactField::Phone => c.phones.first().map(|t| Resolved::Text(Cow::Borrowed(t))),
            ContactField::Phones => Some(Resolved::Texts(&c.phones)),
            ContactField::FirstName => text(&c.first_name),
            ContactField::LastName => text(&c.last_name),
            ContactField::FullName => {
                let full = [&c.first_name, &c.last_name]
                    .iter()
                    .filter_map(|s| s.as_deref())
                    .collect::<Vec<_>>()
                    .join(" ");
                Some(Resolved::Text(Cow::Owned(full)))
            }
            ContactField::Gender => text(&c.gender),
            ContactField::DateOfBirth => text(&c.date_of_birth),
            ContactField::City => text(&c.city),
            ContactField::State => text(&c.state),
            ContactField::PostalCode => text(&c.postal_code),
            ContactField::Country => text(&c.country),
        }
    }
}

fn is_empty(v: JsonNode<'_>) -> bool {
    match v.kind() {
        Kind::Null => true,
        Kind::String(s) => is_blank(s),
        Kind::Array => v.items().all(is_empty),
        _ => false,
    }
}

/// Follows `path` into a JSON value; `*` maps the rest of the path over
/// every element of a list. A number segment indexes a list.
fn walk<'a>(v: JsonNode<'a>, path: &[String]) -> Option<Resolved<'a>> {
    let Some((head, tail)) = path.split_first() else {
        return Some(Resolved::Json(v));
    };
    match v.kind() {
        Kind::Object => v.get(head).and_then(|x| walk(x, tail)),
        Kind::Array if head == "*" => {
            let each: Vec<Resolved<'a>> = v.items().filter_map(|x| walk(x, tail)).collect();
            (!each.is_empty()).then_some(Resolved::Each(each))
        }
        Kind::Array => head
            .parse::<usize>()
            .ok()
            .and_then(|i| v.index(i))
            .and_then(|x| walk(x, tail)),
        _ => None,
    }
}

/// The mapping an event uses when the builder leaves a parameter empty.
pub fn defaults(event: &EventName) -> Vec<(&'static str, &'static str)> {
    let mut m = vec![
        ("event_id", "{{trigger.event_id | trigger.id}}"),
        (
            "event_source_url",
            "{{trigger.page.url | trigger.page_url | trigger.url}}",
        ),
        (
            "referrer_url",
            "{{trigger.page.referrer | trigger.referrer_url}}",
        ),
        ("user_data.em", "{{contact.emails}}"),
        ("user_data.ph", "{{contact.phones}}"),
        ("user_data.fn", "{{contact.first_name}}"),
        ("user_data.ln", "{{contact.last_name}}"),
        ("user_data.ge", "{{contact.gender}}"),
        ("user_data.db", "{{contact.date_of_birth}}"),
        ("user_data.ct", "{{contact.city}}"),
        ("user_data.st", "{{contact.state}}"),
        ("user_data.zp", "{{contact.postal_code}}"),
        ("user_data.country", "{{contact.country}}"),
        ("user_data.external_id", "{{contact.id}}"),
        (
            "user_data.client_ip_address",
            "{{trigger.client.ip_address | trigger.ip_address}}",
        ),
        (
            "user_data.client_user_agent",
            "{{trigger.client.user_agent | trigger.user_agent}}",
        ),
        (
            "user_data.fbc",
            "{{trigger.client.fbc | trigger.fbc | contact.fbc}}",
        ),
        (
            "user_data.fbp",
            "{{trigger.client.fbp | trigger.fbp | contact.fbp}}",
        ),
        (
            "user_data.lead_id",
            "{{trigger.lead_id | contact.lead_id | contact.facebook_lead_id}}",
        ),
    ];
    let money = |total: &'static str, currency: &'static str| {
        [
            ("custom_data.value", total),
            ("custom_data.currency", currency),
        ]
    };
    match event.as_str() {
        "Purchase" => {
            m[0].1 = "{{trigger.event_id | trigger.order.id | trigger.id}}";
            m.extend(money(
                "{{trigger.order.total | trigger.order.value | trigger.value}}",
                "{{trigger.order.currency | trigger.currency}}",
            ));
            m.extend([
                ("custom_data.order_id", "{{trigger.order.id}}"),
                ("custom_data.contents", "{{trigger.order.items}}"),
                ("custom_data.content_type", "{{trigger.order.content_type}}"),
                ("custom_data.num_items", "{{trigger.order.item_count}}"),
            ]);
        }
        "InitiateCheckout" => {
            m[0].1 = "{{trigger.event_id | trigger.checkout.id | trigger.id}}";
            m.extend(money(
                "{{trigger.checkout.total | trigger.cart.total | trigger.value}}",
                "{{trigger.checkout.currency | trigger.cart.currency | trigger.currency}}",
            ));
            m.extend([
                (
                    "custom_data.contents",
                    "{{trigger.checkout.items | trigger.cart.items}}",
                ),
                (
                    "custom_data.num_items",
                    "{{trigger.checkout.item_count | trigger.cart.item_count}}",
                ),
            ]);
        }
        "Lead" | "CompleteRegistration" => {
            m.extend(money("{{trigger.value}}", "{{trigger.currency}}"));
            m.push((
                "custom_data.content_name",
                "{{trigger.form.name | trigger.funnel.name}}",
            ));
        }
        "PageView" => {
            m.push(("custom_data.content_name", "{{trigger.page.title}}"));
        }
        _ => {
            m.extend(money("{{trigger.value}}", "{{trigger.currency}}"));
        }
    }
    m
}

/// The mapping in force: the builder's entries, then the event's defaults
/// for every parameter the builder left out.
/// Entries whose parameter a mapping may not set are left out (settings
/// report them).
pub fn effective(event: &EventName, explicit: &[(String, Template)]) -> Vec<Mapped> {
    let mapped = |name: &str, template: Template, explicit: bool| {
        Param::parse(name).map(|param| Mapped {
            name: name.to_string(),
            param,
            template,
            explicit,
        })
    };
    let mut out: Vec<Mapped> = explicit
        .iter()
        .filter_map(|(p, t)| mapped(p, t.clone(), true))
        .collect();
    for (param, text) in defaults(event) {
        if !explicit.iter().any(|(p, _)| p == param) {
            let t = Template::parse(text).expect("default templates parse");
            out.extend(mapped(param, t, false));
        }
    }
    out
}

/// The merge fields a builder can pick, for the descriptor: the contact's
/// fields, the envelope of every firing, and the data of the platform's
/// common trigger types (what the default mappings read).
pub fn catalogue() -> Value {
    let client = [
        ("trigger.client.ip_address", "the visitor's IP address"),
        (
            "trigger.client.user_agent",
            "the visitor's browser user agent",
        ),
        ("trigger.client.fbc", "the _fbc cookie (click id)"),
        ("trigger.client.fbp", "the _fbp cookie (browser id)"),
        (
            "trigger.page.url",
            "the page's URL (a fbclid in it becomes fbc)",
        ),
        ("trigger.page.referrer", "the previous page's URL"),
        (
            "trigger.event_id",
            "the id the website's Pixel used as eventID, when the page sends it",
        ),
    ];
    let obj = |pairs: &[(&str, &str)]| -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect(),
        )
    };
    let with_client = |extra: &[(&str, &str)]| {
        let mut all: Vec<(&str, &str)> = extra.to_vec();
        all.extend_from_slice(&client);
        obj(&all)
    };
    serde_json::json!({
        "contact": obj(&[
            ("contact.id", "the contact's id (default external_id)"),
            ("contact.email", "primary email"),
            ("contact.emails", "every email (a list)"),
            ("contact.phone", "primary phone"),
            ("contact.phones", "every phone (a list)"),
            ("contact.first_name", "first name"),
            ("contact.last_name", "last name"),
            ("contact.full_name", "first and last name"),
            ("contact.gender", "gender"),
            ("contact.date_of_birth", "date of birth"),
            ("contact.city", "city"),
            ("contact.state", "state or province"),
            ("contact.postal_code", "postal code"),
            ("contact.country", "country"),
            ("contact.<custom field>", "any custom field, by its name"),
        ]),
        "firing": obj(&[
            ("trigger.id", "the firing's id (default event_id)"),
            ("trigger.type", "the trigger type"),
            ("trigger.occurred_at", "when it happened (Unix seconds; the event_time)"),
            ("trigger.<path>", "any field of the trigger's data, e.g. trigger.order.total; * collects a list"),
        ]),
        "triggers": {
            "form_submitted": with_client(&[("trigger.form.name", "the form's name"), ("trigger.value", "a value, when the form has one"), ("trigger.currency", "its currency")]),
            "order_placed": with_client(&[
                ("trigger.order.id", "order id (the Purchase's event_id)"),
                ("trigger.order.total", "order total"),
                ("trigger.order.currency", "currency"),
                ("trigger.order.items", "line items: id or sku, quantity, price"),
                ("trigger.order.item_count", "number of items"),
            ]),
            "checkout_started": with_client(&[
                ("trigger.checkout.id", "checkout id (the event_id)"),
                ("trigger.checkout.total", "cart total"),
                ("trigger.checkout.currency", "currency"),
                ("trigger.checkout.items", "line items"),
            ]),
            "page_visited": with_client(&[("trigger.page.title", "the page's title")]),
            "registration_completed": with_client(&[("trigger.funnel.name", "the funnel or membership")]),
            "lead_stage_changed": obj(&[
                ("trigger.lead_id", "the Lead Ads lead id"),
                ("trigger.stage", "the new stage (send it as the event name)"),
            ]),
        }
    })
}

/// The default mappings of every standard event, for the descriptor.
pub fn defaults_document() -> Value {
    let mut doc = Map::new();
    for name in crate::names::STANDARD_EVENTS.iter().take(5) {
        let m: Map<String, Value> = defaults(&EventName::parse(name))
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        doc.insert(name.to_string(), Value::Object(m));
    }
    let custom: Map<String, Value> = defaults(&EventName::Custom(String::new()))
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    doc.insert("(custom event)".into(), Value::Object(custom));
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> (Contact, Firing) {
        let contact = Contact {
            id: "c-1".into(),
            emails: vec!["a@example.com".into(), "b@example.com".into()],
            first_name: Some("Ada".into()),
            custom_fields: json!({"loyalty_tier": "gold"}).into(),
            ..Contact::default()
        };
        let mut firing = Firing::new("f-9", "order_placed", 1_700_000_000);
        firing.data =
            json!({"order": {"id": "o-7", "total": 42.5, "items": [{"id": "sku1"}, {"id": "sku2"}]}})
                .into();
        (contact, firing)
    }

    fn resolve(t: &str) -> Option<Value> {
        let (c, f) = sample();
        Template::parse(t)
            .unwrap()
            .resolve(&Context::new(&c, &f))
            .map(Resolved::into_value)
    }

    #[test]
    fn merge_fields_resolve_with_their_type() {
        assert_eq!(resolve("{{contact.email}}"), Some(json!("a@example.com")));
        assert_eq!(
            resolve("{{contact.emails}}"),
            Some(json!(["a@example.com", "b@example.com"]))
        );
        assert_eq!(resolve("{{trigger.order.total}}"), Some(json!(42.5)));
        assert_eq!(
            resolve("{{trigger.order.items.*.id}}"),
            Some(json!(["sku1", "sku2"]))
        );
        assert_eq!(resolve("{{trigger.order.items.1.id}}"), Some(json!("sku2")));
        assert_eq!(resolve("{{trigger.id}}"), Some(json!("f-9")));
        assert_eq!(resolve("{{contact.loyalty_tier}}"), Some(json!("gold")));
        assert_eq!(
            resolve("{{contact.custom.loyalty_tier}}"),
            Some(json!("gold"))
        );
        assert_eq!(resolve("{{trigger.data.order.id}}"), Some(json!("o-7")));
        assert_eq!(resolve("{{trigger.type}}"), Some(json!("order_placed")));
        assert_eq!(
            resolve("{{trigger.occurred_at}}"),
            Some(json!(1_700_000_000))
        );
        assert_eq!(resolve("{{contact.full_name}}"), Some(json!("Ada")));
    }

    #[test]
    fn paths_that_name_nothing_are_empty() {
        for t in [
            "{{contact.email.domain}}",
            "{{contact.custom}}",
            "{{contact.loyalty_tier.level}}",
            "{{trigger.order.total.cents}}",
            "{{trigger.order.items.9.id}}",
            "{{trigger.id.x}}",
        ] {
            assert_eq!(resolve(t), None, "{t}");
        }
    }

    #[test]
    fn alternatives_literals_and_text() {
        assert_eq!(
            resolve("{{trigger.order.currency | \"EUR\"}}"),
            Some(json!("EUR"))
        );
        assert_eq!(
            resolve("order {{trigger.order.id}}"),
            Some(json!("order o-7"))
        );
        assert_eq!(resolve("USD"), Some(json!("USD")));
        assert_eq!(resolve("{{contact.last_name}}"), None);
        assert_eq!(resolve("x-{{contact.last_name}}"), None);
    }

    #[test]
    fn bad_templates_say_why() {
        for bad in [
            "{{contact.email",
            "{{email}}",
            "{{order.total}}",
            "x}}",
            "{{trigger.\"a}}",
            "{{contact.}}",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_default_template_parses_and_is_mappable() {
        for name in crate::names::STANDARD_EVENTS {
            for (param, t) in defaults(&EventName::parse(name)) {
                assert!(is_mappable(param), "{param}");
                Template::parse(t).unwrap();
            }
        }
    }
}
