//! Marketing consent: a contact who opted out is skipped, not sent. The
//! settings name the contact field that records it (a do-not-disturb flag,
//! or a consent box).

use crate::input::{Contact, Firing};
use crate::mapping::Context;
use crate::settings::Settings;
use serde_json::Value;

/// Whether a consent field's value is set ("yes", true, 1, ...).
pub fn is_set(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "true"
                | "yes"
                | "y"
                | "1"
                | "on"
                | "x"
                | "checked"
                | "opted_out"
                | "opted_in"
                | "unsubscribed"
                | "dnd"
        ),
        Value::Array(a) => a.iter().any(is_set),
        _ => false,
    }
}

/// Why this contact's event must not be sent, or `None` to send it.
pub fn refusal(settings: &Settings, contact: &Contact, firing: &Firing) -> Option<String> {
    let consent = settings.consent.as_ref()?;
    let set = consent
        .template
        .resolve(&Context::new(contact, firing))
        .is_some_and(|v| is_set(&v.to_value()));
    match (consent.flag_means_opt_out, set) {
        (true, true) => Some(format!(
            "the contact opted out of marketing (contact field `{}` is set); nothing was sent",
            consent.field
        )),
        (false, false) => Some(format!(
            "the contact has not opted in to marketing (contact field `{}` is not set); nothing was sent",
            consent.field
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings;
    use serde_json::json;

    fn contact(dnd: Value) -> Contact {
        let mut c = Contact {
            id: "c".into(),
            ..Contact::default()
        };
        c.custom_fields = json!({ "dnd": dnd }).into();
        c
    }

    #[test]
    fn opted_out_contacts_are_refused() {
        let s = settings::parse(
            r#"{"pixel_id":"1","access_token":"t","event":"Lead","consent_field":"dnd"}"#,
        )
        .unwrap();
        let f = Firing::new("f", "t", 1);
        assert!(
            refusal(&s, &contact(json!("Yes")), &f)
                .unwrap()
                .contains("opted out")
        );
        assert!(refusal(&s, &contact(json!(true)), &f).is_some());
        assert!(refusal(&s, &contact(json!("no")), &f).is_none());
        assert!(refusal(&s, &contact(Value::Null), &f).is_none());
    }

    #[test]
    fn opt_in_fields_refuse_the_unset() {
        let s = settings::parse(
            r#"{"pixel_id":"1","access_token":"t","event":"Lead","consent_field":"dnd","consent_field_means":"opted_in"}"#,
        )
        .unwrap();
        let f = Firing::new("f", "t", 1);
        assert!(
            refusal(&s, &contact(json!("")), &f)
                .unwrap()
                .contains("not opted in")
        );
        assert!(refusal(&s, &contact(json!("1")), &f).is_none());
    }
}
