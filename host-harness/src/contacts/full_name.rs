//! A contact's first and last names from the one column of its full name
//! (`Name`, `Full Name`, as Stripe's and WooCommerce's exports have it), for
//! a contact that has neither. Meta matches the two apart; a name is split
//! only where its order is clear, since a first name sent as the last
//! matches nothing:
//! - `Lovelace, Ada` is last name first;
//! - two words are the first name and the last (`Ada Lovelace`), after a
//!   title or a suffix is set aside (`Dr. Ada Lovelace Jr.`);
//! - a last name may start with a particle (`Jan van der Berg`,
//!   `Ana de la Cruz`), after one first name;
//! - in Chinese, Japanese or Korean script, and in Hungary, the family name
//!   comes first (`山田 太郎`, `Kovács János`);
//! - anything else (`Ana María García López`, one word, a Vietnamese name
//!   whose given name may be one word or two) is left whole and not split.

use send_conversion_event::regions;

/// The first and last names in `full`, if its order is clear; `country` is
/// the contact's country as written, if any.
pub fn split(full: &str, country: Option<&str>) -> Option<(String, String)> {
    let full = full.trim();
    if let Some((last, first)) = full.split_once(',') {
        let (last, first) = (last.trim(), first.trim());
        let words = |s: &str| s.split_whitespace().count();
        return (!last.is_empty()
            && !first.is_empty()
            && !first.contains(',')
            && !is_suffix(first)
            && words(last) <= 3
            && words(first) <= 2)
            .then(|| (first.to_string(), last.to_string()));
    }
    let mut words: Vec<&str> = full.split_whitespace().collect();
    while words.first().is_some_and(|w| is_title(w)) {
        words.remove(0);
    }
    while words.last().is_some_and(|w| is_suffix(w)) {
        words.pop();
    }
    // One word is no first and last name, whatever the country: its lookup,
    // on each reading of the contact, is spared.
    if words.len() < 2 {
        return None;
    }
    let alpha2 = country.and_then(regions::country).map(|c| c.alpha2);
    if alpha2 == Some("VN") {
        return None;
    }
    let family_first = full.chars().any(is_east_asian) || alpha2 == Some("HU");
    match words.as_slice() {
        [one, other] if family_first => Some((other.to_string(), one.to_string())),
        [first, last] => Some((first.to_string(), last.to_string())),
        _ if family_first => None,
        [first, rest @ ..] if rest.len() >= 2 && is_particle(rest[0]) => {
            Some((first.to_string(), rest.join(" ")))
        }
        _ => None,
    }
}

/// Whether `c` is of a script whose names are written family name first.
fn is_east_asian(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30ff}' // Hiragana, Katakana
        | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' // Han
        | '\u{ac00}'..='\u{d7af}' | '\u{1100}'..='\u{11ff}') // Hangul
}

/// A word as the lists below are written: lowercase, without its dot.
fn word(w: &str) -> String {
    w.trim_end_matches('.').to_lowercase()
}

/// A title before a name; the French `M.` only with its dot, as an initial
/// is a name's.
fn is_title(w: &str) -> bool {
    match word(w).as_str() {
        "m" => w.ends_with('.'),
        t => matches!(
            t,
            "mr" | "mrs"
                | "ms"
                | "miss"
                | "mx"
                | "dr"
                | "prof"
                | "sir"
                | "herr"
                | "frau"
                | "mme"
                | "mlle"
                | "sr"
                | "sra"
                | "srta"
                | "dott"
                | "dottssa"
        ),
    }
}

fn is_suffix(w: &str) -> bool {
    matches!(
        word(w).as_str(),
        "jr" | "sr" | "ii" | "iii" | "iv" | "phd" | "md" | "esq" | "dds"
    )
}

/// The words a last name starts with in Dutch, German, French, Spanish,
/// Portuguese, Italian and Arabic (`Al Mansouri`; not `bin` nor `ibn`,
/// which start a father's name, not a family's).
fn is_particle(w: &str) -> bool {
    matches!(
        word(w).as_str(),
        "van"
            | "von"
            | "der"
            | "den"
            | "de"
            | "del"
            | "della"
            | "di"
            | "da"
            | "das"
            | "do"
            | "dos"
            | "du"
            | "la"
            | "le"
            | "ter"
            | "ten"
            | "zu"
            | "al"
            | "el"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(full: &str, country: Option<&str>) -> Option<(&'static str, &'static str)> {
        split(full, country).map(|(f, l)| {
            (
                &*Box::leak(f.into_boxed_str()),
                &*Box::leak(l.into_boxed_str()),
            )
        })
    }

    #[test]
    fn a_full_name_is_split_only_where_its_order_is_clear() {
        for (full, country, want) in [
            ("Ada Lovelace", None, Some(("Ada", "Lovelace"))),
            ("  Ada   Lovelace ", Some("GB"), Some(("Ada", "Lovelace"))),
            ("Lovelace, Ada", None, Some(("Ada", "Lovelace"))),
            (
                "García López, Ana María",
                None,
                Some(("Ana María", "García López")),
            ),
            ("Dr. Ada Lovelace", None, Some(("Ada", "Lovelace"))),
            ("Mrs Ada Lovelace", None, Some(("Ada", "Lovelace"))),
            ("John Smith Jr.", None, Some(("John", "Smith"))),
            ("John Smith, Jr.", None, None),
            (
                "Jan van der Berg",
                Some("NL"),
                Some(("Jan", "van der Berg")),
            ),
            ("Ana de la Cruz", None, Some(("Ana", "de la Cruz"))),
            ("Ahmed Al Mansouri", None, Some(("Ahmed", "Al Mansouri"))),
            ("Muhammad bin Salman Al Saud", None, None),
            ("山田 太郎", None, Some(("太郎", "山田"))),
            ("김 민준", Some("KR"), Some(("민준", "김"))),
            ("Kovács János", Some("Hungary"), Some(("János", "Kovács"))),
            ("Kovács János", Some("DE"), Some(("Kovács", "János"))),
            // Not clear: left whole.
            ("Ana María García López", None, None),
            ("Mary Ann Smith", None, None),
            ("山田太郎", None, None),
            ("Nguyễn Văn An", Some("VN"), None),
            ("Nguyễn An", Some("Vietnam"), None),
            ("Cher", None, None),
            ("", None, None),
            ("Smith, Ada, Jr.", None, None),
        ] {
            assert_eq!(names(full, country), want, "{full}");
        }
    }
}
