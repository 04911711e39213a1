//! Any merge-field template: parsed or refused, never a panic; a parsed one
//! resolves against a contact and a firing without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use send_conversion_event::input::{Contact, Firing};
use send_conversion_event::mapping::{Context, Template};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(template) = Template::parse(text) else { return };
    let contact = Contact {
        id: "c1".into(),
        emails: vec!["a@example.com".into(), "b@example.com".into()],
        first_name: Some("Ada".into()),
        ..Contact::default()
    };
    let mut firing = Firing::new("f1", "order_placed", 1_700_000_000);
    firing.data =
        serde_json::json!({"order": {"id": "o1", "total": 12.5, "items": [{"id": "a"}, {"id": "b"}]}})
            .into();
    let _ = template.resolve(&Context::new(&contact, &firing));
});
