//! "Did you mean …?" for a setting or a mapped parameter typed wrong: the
//! known name it was most likely meant to be.

/// The long names people write for Meta's customer keys, with the key.
const LONG_NAMES: [(&str, &str); 16] = [
    ("email", "em"),
    ("emails", "em"),
    ("phone", "ph"),
    ("phones", "ph"),
    ("first_name", "fn"),
    ("firstname", "fn"),
    ("last_name", "ln"),
    ("lastname", "ln"),
    ("gender", "ge"),
    ("date_of_birth", "db"),
    ("dob", "db"),
    ("birthday", "db"),
    ("city", "ct"),
    ("state", "st"),
    ("zip", "zp"),
    ("postal_code", "zp"),
];

/// The name of `known` that `typed` was most likely meant to be: the key
/// Meta names by a long name (`user_data.email` is `user_data.em`), else
/// the one within a couple of typing mistakes, if one is.
pub fn closest<'a>(typed: &str, known: &[&'a str]) -> Option<&'a str> {
    let typed = typed.to_ascii_lowercase();
    if let Some((prefix, field)) = typed.rsplit_once('.')
        && let Some((_, key)) = LONG_NAMES.iter().find(|(long, _)| *long == field)
    {
        let meant = format!("{prefix}.{key}");
        if let Some(k) = known.iter().find(|k| **k == meant) {
            return Some(k);
        }
    }
    // One mistake in a short name, two in a longer one.
    let allowed = if typed.chars().count() < 6 { 1 } else { 2 };
    known
        .iter()
        .map(|k| (edits(&typed, k), *k))
        .filter(|(d, _)| *d <= allowed)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// The Levenshtein distance: characters inserted, removed or replaced.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typing_mistake_or_a_long_name_finds_what_was_meant() {
        let known = [
            "event_source_url",
            "event",
            "pixel_id",
            "user_data.em",
            "user_data.ph",
        ];
        for (typed, meant) in [
            ("evnt_source_url", Some("event_source_url")),
            ("event_souce_urll", Some("event_source_url")),
            ("evnt", Some("event")),
            ("Pixel_ID", Some("pixel_id")),
            ("user_data.email", Some("user_data.em")),
            ("user_data.phone", Some("user_data.ph")),
            ("user_data.emial", None),
            ("access", None),
            ("", None),
        ] {
            assert_eq!(closest(typed, &known), meant, "{typed}");
        }
    }

    #[test]
    fn edits_count_insertions_removals_and_replacements() {
        assert_eq!(edits("", "abc"), 3);
        assert_eq!(edits("kitten", "sitting"), 3);
        assert_eq!(edits("event", "evnt"), 1);
        assert_eq!(edits("same", "same"), 0);
    }
}
