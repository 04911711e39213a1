//! Any value for any user_data key: normalised or dropped with a reason,
//! never a panic; what comes out keeps Meta's formats.
#![no_main]

use libfuzzer_sys::fuzz_target;
use send_conversion_event::normalize::{Locale, Normalized, UserKey, is_sha256, normalize};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(value) = std::str::from_utf8(rest) else { return };
    let key = UserKey::ALL[selector as usize % UserKey::ALL.len()];
    let country = ["US", "GB", "DE", "IT", "FR", "BR", "JP", "RU", "HU", "IN"][(selector / 32) as usize % 10];
    match normalize(key, value, &Locale::for_contact(Some(country), "US")) {
        Ok(Normalized::Hashed(h)) => assert!(key.hashed() && is_sha256(&h) && h == h.to_ascii_lowercase()),
        Ok(Normalized::Plain(p)) => {
            assert!(!p.is_empty());
            match key {
                UserKey::Ph => assert!((7..=15).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())),
                UserKey::Db => assert!(p.len() == 8 && p.bytes().all(|b| b.is_ascii_digit())),
                UserKey::Ge => assert!(p == "f" || p == "m"),
                UserKey::Country => assert!(p.len() == 2 && p.bytes().all(|b| b.is_ascii_lowercase())),
                UserKey::Em => assert!(p.contains('@') && p == p.to_lowercase()),
                _ => {}
            }
            if !key.hashed() {
                assert!(!is_sha256(&p));
            }
        }
        Err(why) => assert!(!why.is_empty()),
    }
});
