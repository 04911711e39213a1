//! The normalisation vectors of Meta's own parameter builder
//! (`tests/vectors/meta_param_builder.jsonl`: every input → expected pair of
//! the normaliser tests of facebook/capi-param-builder's Node.js library,
//! collected by `tests/vectors/harvest_meta_vectors.cjs`; each line names
//! its source file and commit). Every case either agrees with the action or
//! is one of the deliberate differences below, which the README lists with
//! the same reasons.

use send_conversion_event::normalize::{
    Locale, Normalized, UserKey, ascii_forms, is_sha256, normalize,
};
use serde_json::Value;

/// One deliberate difference: its reason, as the README gives it, and how
/// to recognise a case of it.
struct Difference {
    reason: &'static str,
    applies: fn(&Case) -> bool,
}

struct Case<'a> {
    key: UserKey,
    input: &'a str,
    meta: Option<&'a str>,
    ours: Option<&'a str>,
}

impl Case<'_> {
    fn ours_or_empty(&self) -> &str {
        self.ours.unwrap_or("")
    }
}

/// `s` without the characters `drop` says to drop.
fn without(s: &str, drop: impl Fn(char) -> bool) -> String {
    s.chars().filter(|c| !drop(*c)).collect()
}

fn ascii_letters(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

const DIFFERENCES: &[Difference] = &[
    Difference {
        reason: "a SHA-256 written in capitals is lowercased (Meta matches lowercase hex); the library passes it as written",
        applies: |c| {
            c.meta
                .is_some_and(|m| is_sha256(m) && c.ours == Some(&m.to_ascii_lowercase()))
        },
    },
    Difference {
        reason: "a string of 60 to 70 mostly hex characters that is no SHA-256 is normalised as the value it is; the library treats it as already hashed or pulls digits out of it",
        applies: |c| {
            let t = c.input.trim();
            (60..=70).contains(&t.len())
                && t.chars().filter(char::is_ascii_hexdigit).count() >= 60
                && !is_sha256(t)
        },
    },
    Difference {
        reason: "a value with nothing left after normalisation is dropped with a warning; the library returns an empty string, whose hash matches nobody",
        applies: |c| c.meta == Some("") && c.ours.is_none(),
    },
    Difference {
        reason: "a national phone number gets its country's calling code (the default country's when the contact has none); the library hashes it without, which never matches",
        applies: |c| {
            c.key == UserKey::Ph
                && c.meta
                    .is_some_and(|m| c.ours.is_some_and(|o| o.len() > m.len() && o.ends_with(m)))
        },
    },
    Difference {
        reason: "a phone number has 7 to 15 digits with its country code (E.164); the library keeps shorter and longer ones, and vanity letters' digits",
        applies: |c| {
            c.key == UserKey::Ph
                && c.ours.is_none()
                && c.meta.is_some_and(|m| !(7..=15).contains(&m.len()))
        },
    },
    Difference {
        reason: "a phone extension (x17, ext. 7, #7) is not part of the number; the library appends its digits",
        applies: |c| {
            c.key == UserKey::Ph
                && c.meta.is_some_and(|m| {
                    c.ours.is_some_and(|o| {
                        m.len() > o.len().saturating_sub(1)
                            && (m.starts_with(o)
                                || o.ends_with(&m[..o.len().saturating_sub(1).min(m.len())]))
                    })
                })
                && ["x", "ext", "#"]
                    .iter()
                    .any(|x| c.input.to_lowercase().contains(x))
        },
    },
    Difference {
        reason: "an unknown country or state is dropped (country) or kept whole (state), never guessed from its first two letters (the library's `Bavaria` → `ba`)",
        applies: |c| {
            matches!(c.key, UserKey::Country | UserKey::St)
                && c.meta
                    .is_some_and(|m| m.len() <= 2 && ascii_letters(c.input).starts_with(m))
                && c.ours != c.meta
        },
    },
    Difference {
        reason: "a country or state is coded only when the value names one; the library codes one whose name merely starts a longer value (`NewYorkCity` → `ny`, `GermanyEurope` → `de`)",
        applies: |c| {
            matches!(c.key, UserKey::St | UserKey::Country)
                && c.meta.is_some_and(|m| m.len() == 2)
                && c.ours.is_none_or(|o| o.len() > 2)
        },
    },
    Difference {
        reason: "names, cities and states keep the letters of every script (é, ø, Cyrillic, Greek, Arabic, Han…); the library drops letters outside ASCII",
        applies: |c| {
            matches!(c.key, UserKey::Fn | UserKey::Ln | UserKey::Ct | UserKey::St)
                && c.ours.is_some_and(|o| !o.is_ascii())
                && c.meta.is_none_or(|m| m.is_ascii())
        },
    },
    Difference {
        reason: "a space typed beside an email address's `@` or a dot is removed (`test @example.com`); the library drops the address",
        applies: |c| {
            c.key == UserKey::Em
                && c.meta.is_none()
                && c.ours
                    .is_some_and(|o| c.input.split_whitespace().collect::<String>() == o)
        },
    },
    Difference {
        reason: "the state or country an address's line writes after a city is removed (`New York, NY` → `newyork`); the library keeps it, so the hash is never that of the city alone",
        applies: |c| {
            c.key == UserKey::Ct
                && c.input.contains(',')
                && c.ours.is_some_and(|o| {
                    c.meta
                        .is_some_and(|m| m.len() > o.len() && m.starts_with(o))
                })
        },
    },
    Difference {
        reason: "a title a salutation left before a first name is removed (`Dr. John` → `john`); the library keeps it, so the hash is never that of the name a person goes by",
        applies: |c| {
            c.key == UserKey::Fn
                && c.meta.is_some_and(|m| {
                    ["mr", "mrs", "ms", "dr", "prof"]
                        .iter()
                        .any(|title| m.strip_prefix(title) == c.ours)
                })
        },
    },
    Difference {
        reason: "a nickname in brackets or quotes and middle initials after a first name are removed (`John (Johnny)` → `john`, `John Q.` → `john`); the library keeps them, so the hash is never that of the first name alone",
        applies: |c| {
            let nickname = c.input.trim_end().ends_with([')', '"', '\'', '”', '’']);
            let initial = c
                .input
                .trim_end()
                .trim_end_matches('.')
                .rsplit_once(' ')
                .is_some_and(|(_, last)| last.chars().count() == 1);
            c.key == UserKey::Fn
                && (nickname || initial)
                && c.ours.is_some_and(|o| {
                    c.meta
                        .is_some_and(|m| m.len() > o.len() && m.starts_with(o))
                })
        },
    },
    Difference {
        reason: "names and cities are letters only: digits are removed (the reference's rule); the library keeps them, and refuses a city that starts with one",
        applies: |c| {
            matches!(c.key, UserKey::Fn | UserKey::Ln | UserKey::Ct)
                && match c.meta {
                    Some(m) => {
                        without(m, |ch| ch.is_ascii_digit()) == c.ours_or_empty()
                            && m != c.ours_or_empty()
                    }
                    None => {
                        c.input.trim().starts_with(|ch: char| ch.is_ascii_digit())
                            && c.ours.is_some()
                    }
                }
        },
    },
    Difference {
        reason: "names and postal codes keep letters and digits only: emoji, dashes, symbols and control characters are removed; the library keeps them",
        applies: |c| {
            matches!(c.key, UserKey::Fn | UserKey::Ln | UserKey::Zp)
                && c.meta.is_some_and(|m| {
                    m != c.ours_or_empty()
                        && without(m, |ch| !ch.is_alphanumeric()) == c.ours_or_empty()
                })
        },
    },
    Difference {
        reason: "a postal code keeps every part (`01310-100` → `01310100`), and only a contact known to be in the US keeps 5 digits; the library keeps what comes before the first dash, whatever the country",
        applies: |c| {
            c.key == UserKey::Zp
                && c.input.contains('-')
                && c.meta
                    .is_some_and(|m| c.input.trim().to_lowercase().starts_with(m))
                && c.ours.is_some_and(|o| o.len() > c.meta.unwrap_or("").len())
        },
    },
    Difference {
        reason: "punctuation before a postal code is removed; the library refuses the code",
        applies: |c| {
            c.key == UserKey::Zp
                && c.meta.is_none()
                && c.ours.is_some()
                && c.input.trim().starts_with(|ch: char| !ch.is_alphanumeric())
        },
    },
    Difference {
        reason: "more gender words are read: titles and words in French, Spanish, Portuguese, German, Italian, Dutch, the Nordic languages, Polish, Turkish, Russian, Ukrainian, Greek, Arabic, Hebrew, Hindi, Chinese, Japanese, Korean, Thai, Vietnamese and Indonesian, and a title's trailing dot (`Mr.`); the library reads English words only",
        applies: |c| c.key == UserKey::Ge && c.meta.is_none() && c.ours.is_some(),
    },
    Difference {
        reason: "a date of birth is read only when the value is a date: text or a time around it is refused rather than searched",
        applies: |c| {
            let groups = c
                .input
                .split(|ch: char| !ch.is_ascii_digit())
                .filter(|g| !g.is_empty())
                .count();
            c.key == UserKey::Db
                && c.ours.is_none()
                && c.meta.is_some()
                && (groups > 3 || c.input.chars().any(|ch| ch.is_alphabetic()))
        },
    },
    Difference {
        reason: "a year of birth of two digits is read in the century that makes the customer 13 to 99 years old at the event (`12/31/90` → `19901231`); the library refuses it",
        applies: |c| {
            c.key == UserKey::Db
                && c.meta.is_none()
                && c.ours.is_some()
                && !c
                    .input
                    .split(|ch: char| !ch.is_numeric())
                    .any(|digits| digits.chars().count() >= 4)
        },
    },
    Difference {
        reason: "years of birth before 1900 are refused as implausible; the library accepts them",
        applies: |c| {
            c.key == UserKey::Db && c.ours.is_none() && c.meta.is_some_and(|m| m < "19000000")
        },
    },
    Difference {
        reason: "29 February is refused in a year without one (1900); the library accepts it",
        applies: |c| {
            c.key == UserKey::Db && c.ours.is_none() && c.meta.is_some_and(|m| m.ends_with("0229"))
        },
    },
    Difference {
        reason: "dates with an English month name are read (`Dec 31, 1990`); the library refuses them",
        applies: |c| {
            c.key == UserKey::Db
                && c.meta.is_none()
                && c.ours.is_some()
                && [
                    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                    "dec",
                ]
                .iter()
                .any(|m| c.input.to_lowercase().contains(m))
        },
    },
    Difference {
        reason: "a North American number of fewer than ten digits has no area code, which no country code can complete, and is dropped; the library hashes it, which never matches",
        applies: |c| {
            c.key == UserKey::Ph
                && c.ours.is_none()
                && c.meta.is_some_and(|m| {
                    m.len() < 10 && m.bytes().all(|b| b.is_ascii_digit()) && !m.starts_with('0')
                })
        },
    },
    Difference {
        reason: "an address's final dot (`test@example.com.`), as the end of a sentence leaves it, is removed; the library refuses the address",
        applies: |c| {
            c.key == UserKey::Em
                && c.meta.is_none()
                && c.input.trim().ends_with('.')
                && c.ours
                    == c.input
                        .trim()
                        .strip_suffix('.')
                        .map(str::to_lowercase)
                        .as_deref()
        },
    },
    Difference {
        reason: "digits of other scripts and full-width forms are read as ASCII (`１２－３１－１９９０`, `٠٥/٢٦/١٩٩٠`); the library refuses them",
        applies: |c| c.meta.is_none() && c.ours.is_some() && ascii_forms(c.input) != c.input,
    },
    Difference {
        reason: "a date after today is not refused by normalisation, which has no clock (a year up to 2100 is read); the event drops a date of birth after its day; the library refuses it",
        applies: |c| {
            c.key == UserKey::Db && c.meta.is_none() && c.ours.is_some_and(|o| o > "20261126")
        },
    },
];

#[test]
fn metas_own_vectors_agree_or_differ_for_a_listed_reason() {
    let text = include_str!("../../tests/vectors/meta_param_builder.jsonl");
    let mut agree = 0;
    let mut per_reason = vec![0usize; DIFFERENCES.len()];
    let mut unexplained = Vec::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for (i, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(
            v["source"]
                .as_str()
                .is_some_and(|s| s.starts_with("facebook/capi-param-builder@"))
        );
        let key = UserKey::parse(v["key"].as_str().unwrap()).expect("a user_data key");
        let input = v["input"].as_str().unwrap();
        // The library has no country: the action's default (US) reads
        // phones and dates, and nothing else. The event happens now.
        let locale = Locale::for_contact(None, "US").at_event(now);
        let ours = match normalize(key, input, &locale) {
            Ok(Normalized::Plain(p)) | Ok(Normalized::Hashed(p)) => Some(p),
            Err(_) => None,
        };
        let case = Case {
            key,
            input,
            meta: v["meta"].as_str(),
            ours: ours.as_deref(),
        };
        if case.meta == case.ours {
            agree += 1;
        } else if let Some(d) = DIFFERENCES.iter().position(|d| (d.applies)(&case)) {
            per_reason[d] += 1;
        } else {
            unexplained.push(format!(
                "line {}: {} {input:?}: Meta {:?}, ours {:?}",
                i + 1,
                key.as_str(),
                case.meta,
                case.ours
            ));
        }
    }
    for (d, n) in DIFFERENCES.iter().zip(&per_reason) {
        println!("{n:>4}  {}", d.reason);
    }
    println!("{agree:>4}  agree");
    assert!(agree > 1_000, "only {agree} agree");
    for (d, n) in DIFFERENCES.iter().zip(&per_reason) {
        assert!(
            *n > 0,
            "no case shows this listed difference any more: {}",
            d.reason
        );
    }
    assert!(
        unexplained.is_empty(),
        "{} cases differ for no listed reason:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
}
