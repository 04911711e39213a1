//! The digests of values that recur from one contact to the next, computed
//! once per batch.
//!
//! A gender is one of two letters, a country one of some 250 codes, a
//! state one of a country's few dozen regions: across a batch of contacts,
//! these keys read the same few values again and again. Reading a state
//! (matched against its country's regions by name) and hashing it are a
//! large part of an event's cost, and SHA-256 is a fifth of it in
//! WebAssembly, which has no SHA instructions. So a batch remembers the
//! digest of each value of these three keys as it was typed: the next
//! contact with the same value, read the same way, gets it without
//! normalising or hashing again. Keys whose values are as many as the
//! contacts (email, phone, name, date of birth, postal code, external id)
//! or open-ended (city) are always read and hashed.
//!
//! The memo lives as long as the batch that made it; a single event's
//! keeps nothing.

use crate::normalize::{self, Locale, Sha256Digest, UserKey};
use std::collections::HashMap;

/// The most values a memo keeps; past this, values are read and hashed
/// each time. A batch that meets more distinct genders, countries and
/// states than this is not one whose values recur.
pub const CAPACITY: usize = 512;

/// Digests of recurring values, by key and value as typed.
#[derive(Debug)]
pub struct Digests {
    /// Made at the first value kept: a map's hasher draws its keys from
    /// the platform's randomness, a call out of the instance, which a
    /// single event should not pay for.
    known: Option<HashMap<String, Sha256Digest>>,
    /// How many values it may keep: none for a single event, which has
    /// nothing to share them with.
    capacity: usize,
    /// The lookup key being built, kept to build the next without an
    /// allocation.
    scratch: String,
}

impl Default for Digests {
    /// An empty memo, for a batch.
    fn default() -> Self {
        Digests::new()
    }
}

impl Digests {
    /// An empty memo, for a batch.
    pub fn new() -> Digests {
        Digests {
            known: None,
            capacity: CAPACITY,
            scratch: String::new(),
        }
    }

    /// A memo that keeps nothing, for a single event: every value is read
    /// and hashed, at no cost beyond that.
    pub fn none() -> Digests {
        Digests {
            known: None,
            capacity: 0,
            scratch: String::new(),
        }
    }

    /// Whether `key`'s values recur across contacts, so that their digests
    /// are worth keeping. Every such key is hashed.
    pub fn recurs(key: UserKey) -> bool {
        matches!(key, UserKey::Ge | UserKey::Country | UserKey::St)
    }

    /// The digest Meta gets for `raw`, a value of `key` as typed, read in
    /// `locale`: remembered when `key`'s values recur and the same value
    /// was read the same way before, else normalised and hashed. `Err`
    /// says why the value is dropped; it is not remembered, so each
    /// contact with that value gets the warning.
    pub fn digest(
        &mut self,
        key: UserKey,
        raw: &str,
        locale: &Locale,
    ) -> Result<Sha256Digest, String> {
        if self.capacity == 0 || !Digests::recurs(key) {
            return read(key, raw, locale);
        }
        // A state is read by its contact's country; the other two keys
        // are read the same everywhere.
        let country = match key {
            UserKey::St => locale.known.map_or("", |c| c.alpha2),
            _ => "",
        };
        self.scratch.clear();
        for part in [key.as_str(), "\0", country, "\0", raw] {
            self.scratch.push_str(part);
        }
        if let Some(d) = self
            .known
            .as_ref()
            .and_then(|k| k.get(self.scratch.as_str()))
        {
            return Ok(*d);
        }
        let d = read(key, raw, locale)?;
        let known = self.known.get_or_insert_with(HashMap::new);
        if known.len() < self.capacity {
            known.insert(self.scratch.clone(), d);
        }
        Ok(d)
    }

    /// How many values the memo holds.
    pub fn len(&self) -> usize {
        self.known.as_ref().map_or(0, HashMap::len)
    }

    /// Whether the memo holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `raw` normalised and hashed, or why it is dropped.
fn read(key: UserKey, raw: &str, locale: &Locale) -> Result<Sha256Digest, String> {
    normalize::normalize(key, raw, locale)?
        .digest()
        .ok_or_else(|| "not a SHA-256".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUES: &[(UserKey, &str)] = &[
        (UserKey::Ge, "f"),
        (UserKey::Ge, "Female"),
        (UserKey::Ge, "m"),
        (UserKey::Ge, "unknown"),
        (UserKey::Country, "US"),
        (UserKey::Country, "United States"),
        (UserKey::Country, "Deutschland"),
        (UserKey::Country, "Atlantis"),
        (UserKey::St, "California"),
        (UserKey::St, "CA"),
        (UserKey::St, "Bayern"),
        (UserKey::St, "Quebec"),
        (UserKey::St, " "),
        (UserKey::Em, "Ada@Example.com"),
        (UserKey::Ct, "Menlo Park"),
    ];

    fn locales() -> Vec<Locale> {
        vec![
            Locale::for_contact(Some("US"), "US"),
            Locale::for_contact(Some("DE"), "US"),
            Locale::for_contact(Some("CA"), "US"),
            Locale::for_contact(None, "GB"),
        ]
    }

    #[test]
    fn a_remembered_digest_is_what_reading_the_value_gives() {
        let mut memo = Digests::new();
        for round in 0..3 {
            for locale in locales() {
                for (key, raw) in VALUES {
                    assert_eq!(
                        memo.digest(*key, raw, &locale),
                        read(*key, raw, &locale),
                        "{key:?} {raw:?} in {}, round {round}",
                        locale.country.alpha2
                    );
                }
            }
        }
        assert!(!memo.is_empty());
    }

    #[test]
    fn a_state_is_remembered_per_country_and_nothing_else_per_country() {
        let mut memo = Digests::new();
        for locale in locales() {
            memo.digest(UserKey::St, "California", &locale).ok();
            memo.digest(UserKey::Ge, "female", &locale).ok();
        }
        // "California" once per country that reads it (its own, and no
        // known country at least), "female" once.
        let read_as_a_state = locales()
            .iter()
            .filter(|l| read(UserKey::St, "California", l).is_ok())
            .count();
        assert!(read_as_a_state >= 2, "{read_as_a_state}");
        assert_eq!(memo.len(), read_as_a_state + 1);
        let before = memo.len();
        memo.digest(UserKey::Em, "ada@example.com", &locales()[0])
            .unwrap();
        assert_eq!(memo.len(), before, "an email is never kept");
    }

    #[test]
    fn a_memo_for_one_event_keeps_nothing_and_answers_the_same() {
        let mut memo = Digests::none();
        for locale in locales() {
            for (key, raw) in VALUES {
                assert_eq!(memo.digest(*key, raw, &locale), read(*key, raw, &locale));
            }
        }
        assert!(memo.is_empty());
    }

    #[test]
    fn a_full_memo_keeps_no_more_and_still_answers() {
        let mut memo = Digests::new();
        let locale = Locale::for_contact(None, "US");
        for i in 0..CAPACITY + 100 {
            let value = format!("state {i}");
            assert_eq!(
                memo.digest(UserKey::St, &value, &locale),
                read(UserKey::St, &value, &locale)
            );
        }
        assert_eq!(memo.len(), CAPACITY);
        let late = format!("state {}", CAPACITY + 50);
        assert_eq!(
            memo.digest(UserKey::St, &late, &locale),
            read(UserKey::St, &late, &locale)
        );
    }
}
