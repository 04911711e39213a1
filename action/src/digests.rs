//! The digests of values that recur from one contact to the next, computed
//! once per batch.
//!
//! A gender is one of two letters, a country one of some 250 codes, a
//! state one of a country's few dozen regions: across a batch of contacts,
//! these keys hash the same few values again and again. SHA-256 is a fifth
//! of an event's cost in WebAssembly, which has no SHA instructions, and
//! these three keys are three of an event's eleven hashes. Keys whose
//! values are as many as the contacts (email, phone, name, date of birth,
//! postal code, external id) or open-ended (city) are always hashed.
//!
//! The memo lives as long as the batch that made it, and holds only the
//! normalised values of these three keys.

use crate::normalize::{Sha256Digest, UserKey};
use std::collections::HashMap;

/// The most values a memo keeps; past this, values are hashed each time.
/// A batch that meets more distinct genders, countries and states than
/// this is not one whose values recur.
pub const CAPACITY: usize = 512;

/// Digests of recurring values, by normalised value.
#[derive(Debug, Default)]
pub struct Digests {
    known: HashMap<String, Sha256Digest>,
}

impl Digests {
    /// An empty memo.
    pub fn new() -> Digests {
        Digests::default()
    }

    /// Whether `key`'s values recur across contacts, so that their digests
    /// are worth keeping.
    pub fn recurs(key: UserKey) -> bool {
        matches!(key, UserKey::Ge | UserKey::Country | UserKey::St)
    }

    /// The digest of `value`, a normalised value of `key`: from the memo
    /// when `key`'s values recur and `value` was hashed before.
    pub fn of(&mut self, key: UserKey, value: &str) -> Sha256Digest {
        if !Digests::recurs(key) {
            return Sha256Digest::of(value);
        }
        if let Some(d) = self.known.get(value) {
            return *d;
        }
        let d = Sha256Digest::of(value);
        if self.known.len() < CAPACITY {
            self.known.insert(value.to_string(), d);
        }
        d
    }

    /// How many values the memo holds.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    /// Whether the memo holds no value.
    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_digest_is_the_digest() {
        let mut memo = Digests::new();
        for round in 0..3 {
            for value in ["f", "m", "us", "de", "ca", "bayern", ""] {
                assert_eq!(
                    memo.of(UserKey::St, value),
                    Sha256Digest::of(value),
                    "{value}, round {round}"
                );
            }
        }
        assert_eq!(memo.len(), 7, "each value is kept once");
    }

    #[test]
    fn values_of_other_keys_are_hashed_and_not_kept() {
        let mut memo = Digests::new();
        for key in [
            UserKey::Em,
            UserKey::Ph,
            UserKey::Fn,
            UserKey::Ct,
            UserKey::Zp,
        ] {
            assert_eq!(
                memo.of(key, "ada@example.com"),
                Sha256Digest::of("ada@example.com")
            );
        }
        assert!(memo.is_empty(), "an email is never kept");
    }

    #[test]
    fn a_full_memo_keeps_no_more_and_still_answers() {
        let mut memo = Digests::new();
        for i in 0..CAPACITY + 100 {
            let value = format!("state{i}");
            assert_eq!(memo.of(UserKey::St, &value), Sha256Digest::of(&value));
        }
        assert_eq!(memo.len(), CAPACITY);
        let late = format!("state{}", CAPACITY + 50);
        assert_eq!(memo.of(UserKey::St, &late), Sha256Digest::of(&late));
    }
}
