//! The normalisation vectors of `tests/vectors/user_data.jsonl`, natively.
//! The same file is checked through the component in the host
//! (`tests/vectors.rs`).

use send_conversion_event::normalize::{Locale, Normalized, UserKey, normalize};
use serde_json::Value;

#[test]
fn every_vector_normalises_and_hashes_as_expected() {
    let text = include_str!("../../tests/vectors/user_data.jsonl");
    let mut failures = Vec::new();
    let mut count = 0;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for (i, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap();
        let key = UserKey::parse(v["key"].as_str().unwrap()).expect("known key");
        let input = v["input"].as_str().unwrap();
        // As through the component, whose events happen now.
        let locale = Locale::for_contact(v["country"].as_str(), "US").at_event(now);
        let got = normalize(key, input, &locale);
        let (normalized, hash) = match &got {
            Ok(Normalized::Plain(p)) => (
                Some(p.clone()),
                key.hashed().then(|| got.as_ref().unwrap().hash()),
            ),
            Ok(Normalized::Hashed(h)) => (Some(h.clone()), Some(h.clone())),
            Err(_) => (None, None),
        };
        if normalized.as_deref() != v["normalized"].as_str()
            || hash.as_deref() != v["hash"].as_str()
        {
            failures.push(format!(
                "line {}: {} {:?} ({}) gave {:?} / {:?}, expected {} / {}",
                i + 1,
                key.as_str(),
                input,
                v["country"],
                normalized,
                hash,
                v["normalized"],
                v["hash"]
            ));
        }
        count += 1;
    }
    assert!(count >= 150, "only {count} vectors");
    assert!(
        failures.is_empty(),
        "{} of {count} vectors fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
