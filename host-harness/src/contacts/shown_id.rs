//! A contact's id as the harness's output shows it.
//!
//! A platform that keys its contacts by email address or phone number
//! writes them as the firings' `contact_id` and the contacts' `id`: shown
//! as they are, reports and messages would carry the personal data the
//! component only lets out hashed. Such an id is shown as the SHA-256 the
//! event's `external_id` carries by default, so it can still be looked up
//! in the requests sent; any other id is shown as written.

use send_conversion_event::normalize;
use std::borrow::Cow;

/// `id` as output may show it: `sha256:` and the hash of the trimmed id
/// when it is an email address or a phone number, else `id` itself.
pub fn shown_id(id: &str) -> Cow<'_, str> {
    if is_personal(id) {
        Cow::Owned(format!(
            "sha256:{}",
            normalize::sha256_hex(normalize::trim(id))
        ))
    } else {
        Cow::Borrowed(id)
    }
}

/// Whether `id` reads as an email address (an `@` between two parts) or a
/// phone number (7 to 15 digits written with a `+`, spaces, brackets,
/// dots or dashes). Digits alone stay an id: Shopify's, HubSpot's and
/// most databases' ids are numbers a phone's length.
fn is_personal(id: &str) -> bool {
    let id = normalize::trim(id);
    if let Some((local, domain)) = id.split_once('@') {
        return !local.is_empty() && !domain.is_empty();
    }
    let mut digits = 0;
    let mut separators = 0;
    for c in id.chars() {
        match c {
            '0'..='9' => digits += 1,
            '+' | ' ' | '(' | ')' | '.' | '-' => separators += 1,
            _ => return false,
        }
    }
    (7..=15).contains(&digits) && separators > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_or_phone_id_is_shown_hashed_and_any_other_as_written() {
        for personal in [
            "ada@example.com",
            " Ada.Lovelace@Example.COM ",
            "+33612345678",
            "+1 650 555 1212",
            "(650) 555-1212",
            "650-555-1212",
            "06.12.34.56.78",
        ] {
            let shown = shown_id(personal);
            assert_eq!(
                shown,
                format!("sha256:{}", normalize::sha256_hex(personal.trim())),
                "{personal}"
            );
            // Hashed as the event's external_id is, so the two can be matched.
            assert!(!shown.contains(personal.trim()), "{personal}");
        }
        for id in [
            "c1",
            "cus_NffrFeUfNV2Hib",
            "7012345678901",
            "852aaa9532cb36adfb5e9fef7a4206a9",
            "01GDDKASAP8TKDDA2GRZDSVP4H",
            "@",
            "user@",
            "12-34",
            "v1.2.3",
            "",
        ] {
            assert_eq!(shown_id(id), id, "{id}");
        }
    }
}
