//! The WebAssembly export: converts between the WIT types and the core's,
//! and sends the request through `wasi:http` with waki.

use crate::graph;
use crate::input::{Contact, Firing};
use crate::json_tree::{JsonTree, Kind};
use crate::names::ActionSource;
use crate::normalize::UserKey;
use crate::outcome::{self, ActionError};
use crate::settings::Settings;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

wit_bindgen::generate!({
    world: "send-conversion-event",
    path: "../wit",
});

use exports::hoop::workflow::action as wit;

/// The component's allocator. An event costs dozens of allocations, and in
/// an instance that serves many executions talc's size-class bins reuse
/// freed memory faster than the standard library's dlmalloc: a batched
/// event about 4 % faster, one event per call 2 to 4 %. In a fresh instance
/// each allocation is carved from new heap, where dlmalloc is quicker: a
/// firing in a fresh instance costs about 10 to 13 µs (8 to 10 %) more.
/// Hosts reuse instances by default, so the common case wins.
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

struct Component;

impl wit::Guest for Component {
    fn describe() -> wit::Descriptor {
        let d = crate::descriptor();
        wit::Descriptor {
            name: d.name,
            title: d.title,
            version: d.version,
            description: d.description,
            supported_events: d.supported_events,
            settings_schema: d.settings_schema,
            secret_fields: d.secret_fields,
            default_mappings: d.default_mappings,
            merge_fields: d.merge_fields,
        }
    }

    fn validate_settings(settings: String) -> Vec<wit::Problem> {
        crate::validate_settings(&settings)
            .into_iter()
            .map(problem)
            .collect()
    }

    fn preview(
        settings: String,
        firing: wit::Firing,
        contact: wit::Contact,
    ) -> Result<wit::EventPreview, wit::Failure> {
        let (firing, contact) = inputs(firing, contact)?;
        let settings = read_settings(&settings).map_err(failure)?;
        crate::preview_with(&settings, &firing, &contact, now())
            .map(|p| {
                let (url, body) = p.request.map(|r| (r.url, r.body)).unwrap_or_default();
                wit::EventPreview {
                    event_name: p.event_name,
                    event_id: p.event_id,
                    event_time: p.event_time,
                    action_source: action_source(p.action_source),
                    test_event: p.test_event,
                    url,
                    body,
                    match_keys: match_keys(&p.match_keys),
                    warnings: p.warnings.into_iter().map(warning).collect(),
                    skipped: p.skipped,
                }
            })
            .map_err(failure)
    }

    fn execute(
        settings: String,
        firing: wit::Firing,
        contact: wit::Contact,
    ) -> Result<wit::Outcome, wit::Failure> {
        let (firing, contact) = inputs(firing, contact)?;
        let settings = read_settings(&settings).map_err(failure)?;
        crate::execute_with(&settings, &firing, &contact, now(), &mut send)
            .map(outcome)
            .map_err(failure)
    }

    fn execute_batch(
        settings: String,
        items: Vec<wit::BatchItem>,
    ) -> Vec<Result<wit::Outcome, wit::Failure>> {
        let settings = match read_settings(&settings) {
            Ok(settings) => settings,
            Err(f) => return items.iter().map(|_| Err(failure(f.clone()))).collect(),
        };
        let count = items.len();
        // Items are converted as the batch reaches them, each given by
        // value and freed once written into the body: a batch never holds
        // every item's trigger data parsed at once. Those whose records do
        // not convert get their failure and are left out of the request.
        let mut refused: Vec<(usize, wit::Failure)> = Vec::new();
        let converted = items.into_iter().enumerate().filter_map(|(i, item)| {
            match inputs(item.firing, item.contact) {
                Ok(pair) => Some(pair),
                Err(f) => {
                    refused.push((i, f));
                    None
                }
            }
        });
        let mut sent =
            crate::execute_batch_with(&settings, converted, now(), &mut send).into_iter();
        let mut refused = refused.into_iter().peekable();
        (0..count)
            .map(|i| match refused.next_if(|(at, _)| *at == i) {
                Some((_, f)) => Err(f),
                None => sent
                    .next()
                    .expect("one result per converted item")
                    .map(outcome)
                    .map_err(failure),
            })
            .collect()
    }
}

export!(Component);

thread_local! {
    /// The last valid settings document and what was read from it. A host
    /// that reuses an instance runs one action in it, so every call after
    /// the first passes the same document: comparing it is cheaper than
    /// reading it (JSON, checks, the mapping's templates) again.
    static LAST_SETTINGS: RefCell<Option<(String, Rc<Settings>)>> = const { RefCell::new(None) };
}

/// The settings of `json`, read once per instance while it stays the same.
fn read_settings(json: &str) -> Result<Rc<Settings>, outcome::Failure> {
    LAST_SETTINGS.with_borrow_mut(|last| {
        if let Some((text, settings)) = last.as_ref()
            && text == json
        {
            return Ok(settings.clone());
        }
        let settings = Rc::new(crate::read_settings(json)?);
        *last = Some((json.to_string(), settings.clone()));
        Ok(settings)
    })
}

fn outcome(o: outcome::Outcome) -> wit::Outcome {
    wit::Outcome {
        event_name: o.event_name,
        event_id: o.event_id,
        event_time: o.event_time,
        action_source: action_source(o.action_source),
        events_received: o.events_received,
        fbtrace_id: o.fbtrace_id,
        messages: o.messages,
        match_keys: match_keys(&o.match_keys),
        test_event: o.test_event,
        warnings: o.warnings.into_iter().map(warning).collect(),
        skipped: o.skipped,
    }
}

/// The keys as WIT flags: one integer across the boundary, where a list of
/// names cost an allocation per key on each side.
fn match_keys(keys: &[UserKey]) -> wit::MatchKeys {
    keys.iter().fold(wit::MatchKeys::empty(), |set, key| {
        set | match key {
            UserKey::Em => wit::MatchKeys::EM,
            UserKey::Ph => wit::MatchKeys::PH,
            UserKey::Fn => wit::MatchKeys::FN,
            UserKey::Ln => wit::MatchKeys::LN,
            UserKey::Ge => wit::MatchKeys::GE,
            UserKey::Db => wit::MatchKeys::DB,
            UserKey::Ct => wit::MatchKeys::CT,
            UserKey::St => wit::MatchKeys::ST,
            UserKey::Zp => wit::MatchKeys::ZP,
            UserKey::Country => wit::MatchKeys::COUNTRY,
            UserKey::ExternalId => wit::MatchKeys::EXTERNAL_ID,
            UserKey::ClientIpAddress => wit::MatchKeys::CLIENT_IP_ADDRESS,
            UserKey::ClientUserAgent => wit::MatchKeys::CLIENT_USER_AGENT,
            UserKey::Fbc => wit::MatchKeys::FBC,
            UserKey::Fbp => wit::MatchKeys::FBP,
            UserKey::SubscriptionId => wit::MatchKeys::SUBSCRIPTION_ID,
            UserKey::FbLoginId => wit::MatchKeys::FB_LOGIN_ID,
            UserKey::LeadId => wit::MatchKeys::LEAD_ID,
            UserKey::AnonId => wit::MatchKeys::ANON_ID,
            UserKey::Madid => wit::MatchKeys::MADID,
            UserKey::PageId => wit::MatchKeys::PAGE_ID,
            UserKey::PageScopedUserId => wit::MatchKeys::PAGE_SCOPED_USER_ID,
            UserKey::CtwaClid => wit::MatchKeys::CTWA_CLID,
            UserKey::IgAccountId => wit::MatchKeys::IG_ACCOUNT_ID,
            UserKey::IgSid => wit::MatchKeys::IG_SID,
        }
    })
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The core's inputs from the WIT records.
#[allow(clippy::result_large_err)]
fn inputs(firing: wit::Firing, contact: wit::Contact) -> Result<(Firing, Contact), wit::Failure> {
    let contact = contact_from(contact).map_err(|p| bare(ActionError::InvalidInput(vec![p])))?;
    let data = match JsonTree::parse(&firing.data) {
        Ok(tree) if tree.root().kind() == Kind::Object => tree,
        Ok(tree) if tree.root().kind() == Kind::Null => JsonTree::empty_object(),
        _ => {
            return Err(bare(ActionError::InvalidInput(vec![
                outcome::Problem::new("trigger.data", "the trigger's data is not a JSON object"),
            ])));
        }
    };
    let firing = Firing {
        id: firing.id,
        trigger_type: firing.trigger_type,
        occurred_at: firing.occurred_at,
        data,
    };
    Ok((firing, contact))
}

fn send(req: &graph::Request) -> Result<(u16, String), outcome::TransportFailure> {
    let response = waki::Client::new()
        .post(&req.url)
        .header("Authorization", req.authorization.as_str())
        .header("Content-Type", "application/json")
        // The host can make room for the body at once (a batch's is a
        // megabyte) rather than grow it as it arrives.
        .header("Content-Length", req.body.len().to_string())
        .body(req.body.as_bytes())
        .connect_timeout(Duration::from_millis(graph::TIMEOUT_MS))
        .send()
        .map_err(|e| transport(&e))?;
    let status = response.status_code();
    let body = response.body().map_err(|e| transport(&e))?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn transport(e: &anyhow::Error) -> outcome::TransportFailure {
    graph::unanswered(&format!("{e:#}"))
}

fn contact_from(c: wit::Contact) -> Result<Contact, outcome::Problem> {
    let custom_fields = match c.custom_fields.trim() {
        "" => Default::default(),
        text => match JsonTree::parse(text) {
            Ok(tree) if tree.root().kind() == Kind::Object => tree,
            _ => {
                return Err(outcome::Problem::new(
                    "contact.custom_fields",
                    "the contact's custom fields are not a JSON object",
                ));
            }
        },
    };
    Ok(Contact {
        id: c.id,
        emails: c.emails,
        phones: c.phones,
        first_name: c.first_name,
        last_name: c.last_name,
        gender: c.gender,
        date_of_birth: c.date_of_birth,
        city: c.city,
        state: c.state,
        postal_code: c.postal_code,
        country: c.country,
        custom_fields,
    })
}

fn problem(p: outcome::Problem) -> wit::Problem {
    wit::Problem {
        path: p.path,
        message: p.message,
    }
}

fn warning(w: outcome::Warning) -> wit::Warning {
    wit::Warning {
        field: w.field,
        message: w.message,
    }
}

fn bare(e: ActionError) -> wit::Failure {
    failure(outcome::Failure::bare(e))
}

fn failure(f: outcome::Failure) -> wit::Failure {
    let error = match f.error {
        ActionError::InvalidSettings(p) => {
            wit::ActionError::InvalidSettings(p.into_iter().map(problem).collect())
        }
        ActionError::InvalidInput(p) => {
            wit::ActionError::InvalidInput(p.into_iter().map(problem).collect())
        }
        ActionError::Rejected(e) => wit::ActionError::Rejected(wit::MetaError {
            http_status: e.http_status,
            code: e.code,
            subcode: e.subcode,
            error_type: e.error_type,
            message: e.message,
            user_message: e.user_message,
            fbtrace_id: e.fbtrace_id,
            retriable: e.retriable,
            advice: e.advice,
        }),
        ActionError::Transport(t) => wit::ActionError::Transport(wit::TransportFailure {
            message: t.message,
            retriable: t.retriable,
        }),
    };
    wit::Failure {
        error,
        event_name: f.event_name,
        event_id: f.event_id,
        warnings: f.warnings.into_iter().map(warning).collect(),
    }
}

fn action_source(a: ActionSource) -> wit::ActionSource {
    match a {
        ActionSource::Website => wit::ActionSource::Website,
        ActionSource::Email => wit::ActionSource::Email,
        ActionSource::App => wit::ActionSource::App,
        ActionSource::PhoneCall => wit::ActionSource::PhoneCall,
        ActionSource::Chat => wit::ActionSource::Chat,
        ActionSource::PhysicalStore => wit::ActionSource::PhysicalStore,
        ActionSource::SystemGenerated => wit::ActionSource::SystemGenerated,
        ActionSource::BusinessMessaging => wit::ActionSource::BusinessMessaging,
        ActionSource::Other => wit::ActionSource::Other,
    }
}
