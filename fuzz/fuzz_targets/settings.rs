//! Any settings document: parsed or refused with problems, never a panic;
//! a refusal always says why.
#![no_main]

use libfuzzer_sys::fuzz_target;
use send_conversion_event::settings;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match settings::parse(text) {
        Ok(s) => {
            assert!(!s.pixel_id.is_empty() && s.pixel_id.bytes().all(|b| b.is_ascii_digit()));
            assert!(!s.access_token.expose().is_empty());
        }
        Err(problems) => {
            assert!(!problems.is_empty());
            assert!(problems.iter().all(|p| !p.message.is_empty()));
        }
    }
});
