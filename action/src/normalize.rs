//! Customer data as Meta matches it: one function per `user_data` key
//! (reference section 3), then SHA-256 for the keys Meta wants hashed.
//!
//! Every function takes the raw value and returns the normalised value or
//! the reason it was dropped. Hashing is separate so test vectors can check
//! both steps.

use crate::regions::{self, Country};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A `user_data` key of the Conversions API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UserKey {
    /// Email.
    Em,
    /// Phone, E.164 digits.
    Ph,
    /// First name.
    Fn,
    /// Last name.
    Ln,
    /// Gender.
    Ge,
    /// Date of birth.
    Db,
    /// City.
    Ct,
    /// State or province.
    St,
    /// Postal code.
    Zp,
    /// Country.
    Country,
    /// The advertiser's id of the person.
    ExternalId,
    /// IP address of the browser.
    ClientIpAddress,
    /// User agent of the browser.
    ClientUserAgent,
    /// Click id cookie `_fbc`.
    Fbc,
    /// Browser id cookie `_fbp`.
    Fbp,
    /// Subscription id.
    SubscriptionId,
    /// Facebook Login id.
    FbLoginId,
    /// Lead Ads lead id.
    LeadId,
    /// App install id.
    AnonId,
    /// Mobile advertiser id.
    Madid,
    /// Facebook page id.
    PageId,
    /// Page-scoped user id.
    PageScopedUserId,
    /// Click-to-WhatsApp click id.
    CtwaClid,
    /// Instagram account id.
    IgAccountId,
    /// Instagram-scoped user id.
    IgSid,
}

impl UserKey {
    /// Every key, in the order they are sent.
    pub const ALL: [UserKey; 25] = [
        UserKey::Em,
        UserKey::Ph,
        UserKey::Fn,
        UserKey::Ln,
        UserKey::Ge,
        UserKey::Db,
        UserKey::Ct,
        UserKey::St,
        UserKey::Zp,
        UserKey::Country,
        UserKey::ExternalId,
        UserKey::ClientIpAddress,
        UserKey::ClientUserAgent,
        UserKey::Fbc,
        UserKey::Fbp,
        UserKey::SubscriptionId,
        UserKey::FbLoginId,
        UserKey::LeadId,
        UserKey::AnonId,
        UserKey::Madid,
        UserKey::PageId,
        UserKey::PageScopedUserId,
        UserKey::CtwaClid,
        UserKey::IgAccountId,
        UserKey::IgSid,
    ];

    /// Meta's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            UserKey::Em => "em",
            UserKey::Ph => "ph",
            UserKey::Fn => "fn",
            UserKey::Ln => "ln",
            UserKey::Ge => "ge",
            UserKey::Db => "db",
            UserKey::Ct => "ct",
            UserKey::St => "st",
            UserKey::Zp => "zp",
            UserKey::Country => "country",
            UserKey::ExternalId => "external_id",
            UserKey::ClientIpAddress => "client_ip_address",
            UserKey::ClientUserAgent => "client_user_agent",
            UserKey::Fbc => "fbc",
            UserKey::Fbp => "fbp",
            UserKey::SubscriptionId => "subscription_id",
            UserKey::FbLoginId => "fb_login_id",
            UserKey::LeadId => "lead_id",
            UserKey::AnonId => "anon_id",
            UserKey::Madid => "madid",
            UserKey::PageId => "page_id",
            UserKey::PageScopedUserId => "page_scoped_user_id",
            UserKey::CtwaClid => "ctwa_clid",
            UserKey::IgAccountId => "ig_account_id",
            UserKey::IgSid => "ig_sid",
        }
    }

    /// Parses Meta's wire name.
    pub fn parse(s: &str) -> Option<UserKey> {
        UserKey::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether Meta requires (or, for `external_id`, recommends) a SHA-256.
    pub fn hashed(self) -> bool {
        matches!(
            self,
            UserKey::Em
                | UserKey::Ph
                | UserKey::Fn
                | UserKey::Ln
                | UserKey::Ge
                | UserKey::Db
                | UserKey::Ct
                | UserKey::St
                | UserKey::Zp
                | UserKey::Country
                | UserKey::ExternalId
        )
    }

    /// Whether Meta accepts several values (an array) for this key.
    pub fn multi(self) -> bool {
        self.hashed()
    }
}

/// The values of a field that holds several, as CRMs export a contact's
/// addresses or numbers in one column (`a@example.com; b@example.com`,
/// `650-555-1212 / 650-555-1313`): `None` unless the key takes several
/// and every part is a whole value by itself (an address with its `@`, a
/// number of seven digits or more), so that a name's comma
/// (`"Doe, John" <john@example.com>`) or an area code's slash
/// (`030/1234567`) never splits one.
pub fn list_items(key: UserKey, raw: &str) -> Option<impl Iterator<Item = &str>> {
    let (separators, whole): (&[char], fn(&str) -> bool) = match key {
        UserKey::Em => (&[',', ';'], |p| p.contains('@')),
        UserKey::Ph => (&[',', ';', '/'], |p| {
            p.chars().filter(|c| c.is_numeric()).count() >= 7
        }),
        _ => return None,
    };
    let parts = || raw.split(separators).filter(|p| !is_blank(p));
    (parts().nth(1).is_some() && parts().all(whole)).then(parts)
}

/// A value ready to hash, or a hash the platform already had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Normalized {
    /// The normalised plain value.
    Plain(String),
    /// Already a SHA-256 (64 hex): lowercased and passed through.
    Hashed(String),
}

impl Normalized {
    /// The value sent to Meta for a hashed key.
    pub fn hash(&self) -> String {
        match self {
            Normalized::Plain(v) => sha256_hex(v),
            Normalized::Hashed(h) => h.clone(),
        }
    }

    /// The digest sent to Meta for a hashed key: the plain value's, or the
    /// hash the platform had.
    pub fn digest(&self) -> Option<Sha256Digest> {
        match self {
            Normalized::Plain(v) => Some(Sha256Digest::of(v)),
            Normalized::Hashed(h) => Sha256Digest::from_hex(h),
        }
    }
}

/// A SHA-256 digest, kept as its 32 bytes and written as 64 lowercase hex
/// digits: an event holds a dozen, and 32 bytes in place cost no
/// allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    /// The digest of `value`'s UTF-8 bytes.
    pub fn of(value: &str) -> Sha256Digest {
        Sha256Digest(Sha256::digest(value.as_bytes()).into())
    }

    /// Reads 64 hex digits, any case.
    pub fn from_hex(hex: &str) -> Option<Sha256Digest> {
        if !is_sha256(hex) {
            return None;
        }
        let nibble = |b: u8| match b {
            b'0'..=b'9' => b - b'0',
            _ => (b | 0x20) - b'a' + 10,
        };
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
            *o = nibble(pair[0]) << 4 | nibble(pair[1]);
        }
        Some(Sha256Digest(out))
    }

    /// The 64 lowercase hex digits.
    pub fn hex(&self) -> [u8; 64] {
        // Each byte's two digits at once: a table lookup per byte, not
        // two shifts, masks and bounds checks.
        const PAIRS: [[u8; 2]; 256] = {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let mut pairs = [[0u8; 2]; 256];
            let mut i = 0;
            while i < 256 {
                pairs[i] = [HEX[i >> 4], HEX[i & 15]];
                i += 1;
            }
            pairs
        };
        let mut out = [[0u8; 2]; 32];
        for (pair, b) in out.iter_mut().zip(self.0) {
            *pair = PAIRS[usize::from(b)];
        }
        *out.as_flattened()
            .as_array()
            .expect("32 pairs are 64 digits")
    }
}

impl std::fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex = self.hex();
        f.write_str(std::str::from_utf8(&hex).expect("hex digits are ASCII"))
    }
}

impl std::fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sha256Digest({self})")
    }
}

/// Where the contact is, for the keys whose reading depends on it.
#[derive(Debug, Clone, Copy)]
pub struct Locale {
    /// The country that reads national phone numbers and written dates:
    /// the contact's own, else the action's default.
    pub country: &'static Country,
    /// The contact's own country, when it names a known one. Only this
    /// decides how a state or postal code is read: the default country
    /// never makes one be dropped.
    pub known: Option<&'static Country>,
    /// The time of the event (Unix seconds, UTC), in whose year a
    /// customer's age is reckoned: it reads a date of birth whose year has
    /// two digits (`05/26/90`). Unknown, such a date is refused.
    pub event_time: Option<i64>,
}

impl Locale {
    /// The locale of a contact: its own country when it names a known one,
    /// else the default (alpha-2) for phones and dates only.
    pub fn for_contact(contact_country: Option<&str>, default_alpha2: &str) -> Locale {
        let known = contact_country.and_then(named_country);
        let country = known
            .or_else(|| regions::by_alpha2(default_alpha2))
            .unwrap_or_else(|| regions::by_alpha2("US").expect("US is in the table"));
        Locale {
            country,
            known,
            event_time: None,
        }
    }

    /// This locale for an event at `event_time` (Unix seconds, UTC).
    pub fn at_event(self, event_time: i64) -> Locale {
        Locale {
            event_time: Some(event_time),
            ..self
        }
    }
}

/// Lowercase hex SHA-256 of the UTF-8 bytes.
pub fn sha256_hex(value: &str) -> String {
    Sha256Digest::of(value).to_string()
}

/// `s` without leading and trailing whitespace and [`invisible`]
/// characters (a byte order mark or a zero-width space that a spreadsheet
/// export left on a value), at once when both ends are ASCII and not
/// whitespace: the common case, where a general trim still decodes and
/// classifies a character at each end (about 2 % of an event).
pub fn trim(s: &str) -> &str {
    let solid = |b: u8| b.is_ascii() && !char::from(b).is_whitespace();
    match s.as_bytes() {
        [first, .., last] if solid(*first) && solid(*last) => s,
        [only] if solid(*only) => s,
        _ => s.trim_matches(|c: char| c.is_whitespace() || invisible(c)),
    }
}

/// A character that shows nothing and means nothing in a contact's value:
/// the soft hyphen, zero-width spaces and joiners, direction marks and
/// embeddings, word joiners and the byte order mark (Unicode format
/// characters that copying and exporting leave behind).
pub fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
    )
}

/// Whether `s` is empty or only whitespace.
pub fn is_blank(s: &str) -> bool {
    trim(s).is_empty()
}

/// Whether a value is already a SHA-256: 64 hex digits, any case.
pub fn is_sha256(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Normalises one raw value for `key`. `Err` carries the reason it is
/// dropped. Raw (unhashed) keys come back as [`Normalized::Plain`].
pub fn normalize(key: UserKey, raw: &str, locale: &Locale) -> Result<Normalized, String> {
    let trimmed = trim(raw);
    if trimmed.is_empty() {
        return Err("empty".into());
    }
    if key.hashed() && is_sha256(trimmed) {
        return Ok(Normalized::Hashed(trimmed.to_ascii_lowercase()));
    }
    let plain = match key {
        UserKey::Em => email(trimmed),
        UserKey::Ph => phone(trimmed, locale.country),
        UserKey::Fn => first_name(trimmed),
        UserKey::Ln => last_name(trimmed),
        UserKey::Ge => gender(trimmed),
        UserKey::Db => date_of_birth(trimmed, locale.country, locale.event_time),
        UserKey::Ct => city(trimmed),
        UserKey::St => state(trimmed, locale.known),
        UserKey::Zp => postal_code(trimmed, locale.known),
        UserKey::Country => country(trimmed),
        UserKey::ExternalId => Ok(trimmed.to_string()),
        UserKey::ClientIpAddress => ip_address(trimmed),
        UserKey::ClientUserAgent => Ok(trimmed.to_string()),
        UserKey::Fbc => fbc(trimmed),
        UserKey::Fbp => fbp(trimmed),
        UserKey::LeadId | UserKey::FbLoginId | UserKey::PageId | UserKey::IgAccountId => {
            digits_id(trimmed)
        }
        UserKey::SubscriptionId
        | UserKey::AnonId
        | UserKey::Madid
        | UserKey::PageScopedUserId
        | UserKey::CtwaClid
        | UserKey::IgSid => raw_id(trimmed),
    }?;
    if plain.is_empty() {
        return Err("nothing is left after normalisation".into());
    }
    if !key.hashed() && is_sha256(&plain) {
        return Err("Meta wants this key unhashed, but the value is a SHA-256".into());
    }
    Ok(Normalized::Plain(plain))
}

/// Words written before an address to name it, lowercase.
#[rustfmt::skip]
const EMAIL_LABELS: &[&str] = &[
    "email", "e-mail", "e mail", "mail", "courriel", "correo", "e-post", "epost", "メール",
    "邮箱", "이메일", "почта",
];

/// `em`: trimmed, NFC, lowercase, `local@domain.tld`. Unicode letters
/// allowed; a local part that starts or ends with a dot or has two dots in
/// a row is refused, as Meta's libraries refuse it, and so is an address
/// longer than a mailbox can be (RFC 5321). What mail programs and
/// exports wrap around an address is removed (`mailto:`, `Name <…>`,
/// `… (Name)`, a label such as `Email:`, a domain's final dot, a list's
/// `,` or `;`, quotes or brackets), and so
/// are [`invisible`] characters; full-width forms are read as ASCII, as
/// IDNA maps them in a domain.
///
/// An address refused as written is read again without the spaces typed
/// beside its `@` or a dot (`john @gmail.com`, `gmail. com`, as a phone's
/// keyboard leaves them) and without a `mailto:` link's query
/// (`?subject=…`). A space anywhere else is no typing slip one can undo
/// (`john doe@…` could be `john.doe` or `john_doe`): still refused.
pub fn email(s: &str) -> Result<String, String> {
    email_as_written(s).or_else(|why| match mended_email(s) {
        Some(mended) => email_as_written(&mended).map_err(|_| why),
        None => Err(why),
    })
}

/// `s` without the whitespace beside an `@` or a dot and, in a `mailto:`
/// link, without its query; `None` when there is neither.
fn mended_email(s: &str) -> Option<String> {
    let written = trim(s);
    let link = written
        .get(..7)
        .is_some_and(|head| head.eq_ignore_ascii_case("mailto:"));
    let address = match written.find('?') {
        Some(query) if link => &written[..query],
        _ => written,
    };
    let mut mended = String::with_capacity(address.len());
    let mut rest = address;
    let mark = |c: Option<char>| matches!(c, Some('@' | '.'));
    // Each run of whitespace goes when the character before it or after
    // it is `@` or a dot.
    while let Some(start) = rest.find(char::is_whitespace) {
        let (before, run) = rest.split_at(start);
        let end = run.find(|c: char| !c.is_whitespace()).unwrap_or(run.len());
        mended.push_str(before);
        if !mark(before.chars().next_back()) && !mark(run[end..].chars().next()) {
            mended.push_str(&run[..end]);
        }
        rest = &run[end..];
    }
    mended.push_str(rest);
    (mended != written).then_some(mended)
}

fn email_as_written(s: &str) -> Result<String, String> {
    let mut e = if s.is_ascii() {
        trim(s).to_ascii_lowercase()
    } else {
        let visible: String = trim(s)
            .chars()
            .filter(|c| !invisible(*c))
            .map(ascii_form)
            .collect();
        visible.nfc().collect::<String>().to_lowercase()
    };
    // `Name <address>`, as a mail program copies it.
    if let Some(open) = e.rfind('<')
        && let Some(len) = e[open + 1..].find('>')
    {
        e = e[open + 1..open + 1 + len].trim().to_string();
    }
    // `address (Name)`, the older form of it.
    if e.ends_with(')')
        && let Some(open) = e.rfind(" (")
        && e[..open].contains('@')
    {
        e.truncate(open);
    }
    if e.starts_with("mailto:") {
        e.drain(.."mailto:".len());
    }
    // A label before the address, as a form or a note writes it
    // (`Email: john@example.com`).
    if let Some((label, rest)) = e.split_once(':')
        && EMAIL_LABELS.contains(&label.trim())
        && rest.contains('@')
    {
        e = rest.trim_start().to_string();
    }
    // What a list or a quotation leaves around an address: `a@b.com,`,
    // `"a@b.com"`, `'a@b.com'`, `(a@b.com)`. None of them can end a domain.
    let bare = e.trim_end_matches([',', ';']).trim_end();
    let bare = match (bare.as_bytes().first(), bare.as_bytes().last()) {
        (Some(b'"'), Some(b'"')) | (Some(b'\''), Some(b'\'')) | (Some(b'('), Some(b')'))
            if bare.len() > 2 =>
        {
            bare[1..bare.len() - 1].trim()
        }
        _ => bare,
    };
    if bare.len() != e.len() {
        e = bare.to_string();
    }
    if e.ends_with('.') && !e.ends_with("..") {
        e.pop();
    }
    let Some((local, domain)) = e.rsplit_once('@') else {
        return Err("not an email address: there is no @".into());
    };
    let bad = |c: char| {
        c.is_whitespace()
            || c.is_control()
            || matches!(
                c,
                '@' | ',' | ';' | ':' | '<' | '>' | '(' | ')' | '[' | ']' | '"' | '\\'
            )
    };
    // RFC 5321's limits, in bytes: no mailbox is longer.
    if local.len() > 64 || e.len() > 254 {
        return Err("longer than an email address can be (64 bytes before @, 254 in all)".into());
    }
    if local.is_empty() || local.chars().any(bad) {
        return Err("the part before @ is empty or has spaces or forbidden characters".into());
    }
    // Two dots in a row found bytewise: a substring search sets up more
    // than it saves on a few characters.
    let two_dots = local.as_bytes().windows(2).any(|w| w == b"..");
    if local.starts_with('.') || local.ends_with('.') || two_dots {
        return Err("the part before @ starts or ends with a dot, or has two dots in a row".into());
    }
    let tld = domain.rsplit('.').next().unwrap_or_default();
    let tld_ok = tld.chars().count() >= 2 && tld.chars().all(char::is_alphanumeric);
    if !domain.contains('.')
        || !tld_ok
        || domain.split('.').any(|l| {
            l.is_empty()
                || l.len() > 63
                || l.starts_with('-')
                || l.ends_with('-')
                || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
    {
        return Err("the domain after @ is not a valid domain such as example.com".into());
    }
    Ok(e)
}

/// `s` with the decimal digits of every script written as ASCII digits, and
/// the full-width forms of ASCII as ASCII (`０９０－１２３４`, `＋８１`, the
/// ideographic space as a space): how phone numbers, dates and postal codes
/// are often typed in Japan, China and Korea, the Arab world, Iran and
/// India. ASCII text is returned as it is.
pub fn ascii_forms(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().map(ascii_form).collect())
}

/// The zero of each script's decimal digits that people write numbers in;
/// Unicode keeps each script's ten digits in a row, zero first.
const DIGIT_ZEROS: [u32; 19] = [
    0x0660, // Arabic-Indic
    0x06F0, // Extended Arabic-Indic (Persian, Urdu)
    0x07C0, // N'Ko
    0x0966, // Devanagari
    0x09E6, // Bengali
    0x0A66, // Gurmukhi
    0x0AE6, // Gujarati
    0x0B66, // Oriya
    0x0BE6, // Tamil
    0x0C66, // Telugu
    0x0CE6, // Kannada
    0x0D66, // Malayalam
    0x0DE6, // Sinhala
    0x0E50, // Thai
    0x0ED0, // Lao
    0x0F20, // Tibetan
    0x1040, // Myanmar
    0x17E0, // Khmer
    0x1810, // Mongolian
];

fn ascii_form(c: char) -> char {
    let code = c as u32;
    match code {
        // Full-width `!` to `~`, digits and Latin letters among them.
        0xFF01..=0xFF5E => char::from_u32(code - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => DIGIT_ZEROS
            .iter()
            .find(|&&zero| (zero..zero + 10).contains(&code))
            .map_or(c, |zero| char::from(b'0' + (code - zero) as u8)),
    }
}

/// `ph`: digits with the country calling code, no `+`, no leading zeros.
///
/// A number written with `+` (before its first digit: `tel:+33…`), `00` or
/// the international prefix its country dials (`011` in North America,
/// `010` in Japan) is international; otherwise the national trunk prefix
/// is removed and the calling code of `country` put in front. `(0)` after
/// a country code is a trunk marker and is dropped, and so is a `0` there
/// where it can only be one. Extensions and letters are removed. Digits of
/// any script and full-width forms are read as ASCII ([`ascii_forms`]).
pub fn phone(s: &str, country: &Country) -> Result<String, String> {
    let folded = ascii_forms(trim(s));
    let trimmed: &str = without_decimal_zero(&folded);
    // Most numbers are ASCII digits and punctuation: nothing to lowercase.
    let mut text = if trimmed.bytes().any(|b| b.is_ascii_uppercase()) || !trimmed.is_ascii() {
        Cow::Owned(trimmed.to_lowercase())
    } else {
        Cow::Borrowed(trimmed)
    };
    // Extensions: "x17", "x 17", "ext 17", "ext. 17", "extension 17", "#17",
    // ";ext=17", once six digits or more came before them.
    if let Some(pos) = extension_start(&text) {
        text = match text {
            Cow::Borrowed(t) => Cow::Borrowed(&t[..pos]),
            Cow::Owned(mut t) => {
                t.truncate(pos);
                Cow::Owned(t)
            }
        };
    }
    if text.as_bytes().windows(3).any(|w| w == b"(0)") {
        text = Cow::Owned(text.replace("(0)", ""));
    }
    if scientific_notation(&text) {
        match written_out(&text) {
            Some(number) => text = Cow::Owned(number),
            None => {
                return Err(
                    "a spreadsheet wrote this number in scientific notation (like 6.50555E+9), which lost its last digits: format the column as text and export it again"
                        .into(),
                );
            }
        }
    }
    // A `+` before the first digit, after a label or a URI's scheme
    // (`Tel: +33 …`, `tel:+33…`) or in brackets (`(+33) …`).
    let intl_plus = text
        .find(|c: char| c == '+' || c.is_ascii_digit())
        .is_some_and(|at| text[at..].starts_with('+'));
    let mut digits = String::with_capacity(text.len());
    digits.extend(text.bytes().filter(u8::is_ascii_digit).map(char::from));
    if digits.is_empty() {
        return Err("no digits".into());
    }
    // Where the number after an international prefix starts, if it has one.
    let international = if intl_plus {
        Some(0)
    } else if let Some(prefix) = own_exit_code(&digits, country) {
        Some(prefix.len())
    } else if digits.starts_with("00") {
        Some(2)
    } else {
        None
    };
    let mut full = match international {
        Some(prefix) => {
            let zeros = digits[prefix..].bytes().take_while(|b| *b == b'0').count();
            digits.drain(..prefix + zeros);
            drop_trunk_after_code(&mut digits);
            drop_old_trunk_after_code(&mut digits);
            // Argentina's national `15` kept after the country code
            // (`+54 11 15 1234 5678`, `+54 9 11 15 …`) is no part of it.
            match digits.strip_prefix("54") {
                Some(national) => argentine_mobile(national.strip_prefix('9').unwrap_or(national))
                    .unwrap_or(digits),
                None => digits,
            }
        }
        None => national_to_international(&digits, country).map_err(|why| vanity(&text, why))?,
    };
    // Mexico's mobile `1` after the country code went with its dialling
    // prefixes in 2019: `+52 1 55 1234 5678` is `52 55 1234 5678`.
    if full.len() == 13 && full.starts_with("521") {
        full.remove(2);
    }
    if !(7..=15).contains(&full.len()) {
        return Err(vanity(
            &text,
            format!(
                "{} digits with the country code; a phone number has 7 to 15",
                full.len()
            ),
        ));
    }
    Ok(full)
}

/// `why` a number was refused, and that its letters were not read as the
/// digits they stand for on a keypad when it has some after its first
/// digit (`1-800-FLOWERS`): a business's number, or one to write in digits.
fn vanity(text: &str, why: String) -> String {
    let after_digit = text
        .find(|c: char| c.is_ascii_digit())
        .map_or("", |at| &text[at..]);
    if after_digit.bytes().filter(u8::is_ascii_alphabetic).count() >= 3 {
        format!("{why}; letters are not read as a keypad's digits: write the number in digits")
    } else {
        why
    }
}

/// Takes out a trunk `0` written after the country code (`+49 030 1234567`
/// is `+49 30 1234567`), as people write the national number they know
/// after the code, where every country of that code dials `0` before its
/// national numbers (which then never start with `0`). Italy's `0`, and
/// those of the countries whose numbers start with it, are part of the
/// number and stay.
fn drop_trunk_after_code(digits: &mut String) {
    // A country code is one to three digits: most numbers have no `0`
    // in the places after one, and are spared the search.
    let Some(places) = digits.as_bytes().get(1..4) else {
        return;
    };
    if !places.contains(&b'0') {
        return;
    }
    // Country codes are a prefix code: every country that matches has
    // the same one.
    let mut countries = regions::COUNTRIES.iter().filter(|c| {
        digits.starts_with(c.calling_code) && digits[c.calling_code.len()..].starts_with('0')
    });
    let Some(first) = countries.next() else {
        return;
    };
    if first.trunk_prefix == "0" && countries.all(|c| c.trunk_prefix == "0") {
        digits.remove(first.calling_code.len());
    }
}

/// Where a phone number's extension starts, if it has one.
fn extension_start(text: &str) -> Option<usize> {
    // Every marker starts with one of these: most numbers have none.
    if !text.bytes().any(|b| matches!(b, b';' | b'e' | b'#' | b'x')) {
        return None;
    }
    let digits_before = |pos: usize| text[..pos].bytes().filter(u8::is_ascii_digit).count();
    let markers = [";ext=", "extension", "ext.", "ext", "#", "x"];
    text.char_indices()
        .filter(|(pos, _)| markers.iter().any(|m| text[*pos..].starts_with(m)))
        .find(|(pos, _)| {
            let after = text[*pos..].trim_start_matches(|c: char| !c.is_ascii_digit());
            // A marker counts when digits follow it and a whole number
            // came before it.
            !after.is_empty() && digits_before(*pos) >= 6
        })
        .map(|(pos, _)| pos)
}

fn national_to_international(digits: &str, country: &Country) -> Result<String, String> {
    let cc = country.calling_code;
    // Mexico dropped its `01` (long distance) and `044`/`045` (mobile)
    // dialling prefixes in 2019: a number is ten digits.
    if cc == "52" {
        let national = match digits.len() {
            13 if digits.starts_with("044") || digits.starts_with("045") => &digits[3..],
            12 if digits.starts_with("01") => &digits[2..],
            _ => digits,
        };
        if national.len() == 10 {
            return Ok(prefixed(cc, national));
        }
    }
    if cc == "54"
        && let Some(full) = argentine_mobile(digits.strip_prefix('0').unwrap_or(digits))
    {
        return Ok(full);
    }
    if cc == "1" {
        // North America: 10 national digits; 11 starting with 1 already
        // carry the country code. No number there starts with 0.
        // Fewer than ten is a local number without its area code, which
        // no country code can complete; more is taken as international
        // written without its `+`.
        let digits = digits.trim_start_matches('0');
        return match digits.len() {
            ..10 => Err(format!(
                "{} digits: a {} number needs its area code (ten digits)",
                digits.len(),
                country.name
            )),
            10 => Ok(prefixed("1", digits)),
            _ => Ok(digits.to_string()),
        };
    }
    if let Some(national) = after_old_trunk(digits, cc) {
        return Ok(prefixed(cc, national));
    }
    // Brazil's long-distance calls name a carrier after the trunk `0`
    // (`0 21 11 91234-5678`, Claro's 21): the number is what follows it.
    if cc == "55"
        && digits.starts_with('0')
        && matches!(digits.len(), 13 | 14)
        && BRAZILIAN_CARRIERS.contains(&&digits[1..3])
    {
        return Ok(prefixed(cc, &digits[3..]));
    }
    let trunk = country.trunk_prefix;
    if !trunk.is_empty() && digits.starts_with(trunk) {
        return Ok(prefixed(cc, &digits[trunk.len()..]));
    }
    // Written without `+` but already with the country code, as CRMs often
    // store it: `447911123456`. National numbers are shorter than
    // international ones, so a long number starting with the code is taken
    // as international.
    if digits.starts_with(cc) && digits.len() >= 10 + cc.len().saturating_sub(1) {
        let mut full = digits.to_string();
        drop_trunk_after_code(&mut full);
        drop_old_trunk_after_code(&mut full);
        return Ok(full);
    }
    Ok(prefixed(cc, digits))
}

/// International call prefixes other than `00`, by the calling code of
/// the country that dials them, longest first where one starts another.
/// Each is read only before a calling code: `010 44 20 7946 0018`, written
/// in Japan, is a London number.
const EXIT_CODES: &[(&str, &[&str])] = &[
    // North America.
    ("1", &["011"]),
    // Russia and Kazakhstan: `8`, a pause, then `10`.
    ("7", &["810"]),
    // Belarus, as Russia.
    ("375", &["810"]),
    ("61", &["0011"]),
    ("81", &["010"]),
    // South Korea: each carrier's own.
    ("82", &["00700", "001", "002", "005", "006", "008"]),
    // Colombia: `00` and the carrier's digit.
    ("57", &["005", "007", "009"]),
];

/// The carrier selection codes of Brazil's main carriers, dialled after
/// `0` (long distance) or `00` (international).
const BRAZILIAN_CARRIERS: &[&str] = &["12", "14", "15", "21", "23", "25", "31", "41", "43"];

/// The international call prefix `digits` starts with, among those of
/// `country` beyond `00`, when a calling code follows it.
fn own_exit_code<'a>(digits: &'a str, country: &Country) -> Option<&'a str> {
    let cc = country.calling_code;
    let mut own = EXIT_CODES
        .iter()
        .filter(|(code, _)| *code == cc)
        .flat_map(|(_, prefixes)| prefixes.iter().copied());
    let prefix = own.find(|p| digits.starts_with(p)).or_else(|| {
        // Brazil: `00`, then the carrier.
        let prefix = digits.get(..4)?;
        (cc == "55" && prefix.starts_with("00") && BRAZILIAN_CARRIERS.contains(&&prefix[2..]))
            .then_some(prefix)
    })?;
    let rest = &digits[prefix.len()..];
    regions::COUNTRIES
        .iter()
        .any(|c| rest.starts_with(c.calling_code))
        .then_some(&digits[..prefix.len()])
}

/// Trunk prefixes of before, still written in contacts: `(calling code,
/// prefix, digits of the national number after it)`.
const OLD_TRUNKS: &[(&str, &str, usize)] = &[
    // Lithuania dialled `8` before its national numbers until 2025, and
    // `0` since.
    ("370", "8", 8),
    // Belarus dials `8`, then the area code written with its `0` (`8 029
    // 123-45-67`, `8 017 …`); the `0` alone is read as its trunk prefix.
    ("375", "80", 9),
    ("375", "8", 9),
    // Ukraine dialled `8` before the `0` it dials now (`8 067 …`).
    ("380", "80", 9),
    // Chile, Poland and Czechia dialled `0` before national numbers until
    // they closed their numbering plans (2016, 2005, 2002), and many still
    // write it (`09 8765 4321`, `022 123 45 67`).
    ("56", "0", 9),
    ("48", "0", 9),
    ("420", "0", 9),
];

/// Takes out an old trunk prefix written after the country code, as a
/// national number written the old way is (`+48 022 123 45 67`).
fn drop_old_trunk_after_code(digits: &mut String) {
    let Some(&(code, ..)) = OLD_TRUNKS
        .iter()
        .find(|(code, ..)| digits.starts_with(code))
    else {
        return;
    };
    if let Some(national) = after_old_trunk(&digits[code.len()..], code) {
        *digits = prefixed(code, national);
    }
}

/// The national number after an old trunk prefix of the country with
/// calling code `cc`, when `digits` are written with one.
fn after_old_trunk<'a>(digits: &'a str, cc: &str) -> Option<&'a str> {
    OLD_TRUNKS
        .iter()
        .find(|(code, prefix, rest)| {
            *code == cc && digits.len() == prefix.len() + rest && digits.starts_with(prefix)
        })
        .map(|(_, prefix, _)| &digits[prefix.len()..])
}

/// Argentina writes a mobile number nationally as area code (two to four
/// digits, the first 1, 2 or 3) + `15` + the rest, ten digits without the
/// `15`; internationally it is `54 9` + those ten digits. `national` is
/// the number after its trunk `0` or its country code; `None` when it is
/// not in that form.
fn argentine_mobile(national: &str) -> Option<String> {
    if national.len() != 12 || !matches!(national.as_bytes()[0], b'1'..=b'3') {
        return None;
    }
    let at = (2..=4).find(|&at| &national[at..at + 2] == "15")?;
    let mut out = String::with_capacity(13);
    out.push_str("549");
    out.push_str(&national[..at]);
    out.push_str(&national[at + 2..]);
    Some(out)
}

/// `code` then `digits`, in one allocation.
fn prefixed(code: &str, digits: &str) -> String {
    let mut out = String::with_capacity(code.len() + digits.len());
    out.push_str(code);
    out.push_str(digits);
    out
}

/// `fn`, `ln`: NFC, the whole string lowercased (a Greek final sigma stays
/// `ς`), then letters of every script with their combining marks (vowel
/// signs, viramas, tone marks, combining accents); spaces, punctuation,
/// digits and symbols removed. Full-width forms are read as ASCII
/// (`ＪＯＨＮ` is `john`).
pub fn name(s: &str) -> Result<String, String> {
    let n = letters(&ascii_forms(s), false);
    if n.is_empty() {
        return Err("no letters".into());
    }
    Ok(n)
}

/// Whether `word`, lowercased, is `lower` (a title's or a label's
/// lowercase spelling), without allocating.
fn reads_as(word: &str, lower: &str) -> bool {
    word.chars().flat_map(char::to_lowercase).eq(lower.chars())
}

/// Titles written before a first name, lowercase, without a final dot:
/// what a salutation field's value leaves in a first name (`Dr. John`).
/// None of them is a first name people go by.
#[rustfmt::skip]
const NAME_TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "rev", "sir", "herr", "frau", "mme",
    "mlle", "monsieur", "madame", "mademoiselle", "sr", "sra", "srta", "señor", "señora",
    "señorita", "senhor", "senhora", "sig", "sig.ra", "dott", "dott.ssa", "dhr", "mevr",
    "mevrouw",
];

/// `fn`: as [`name`], without the titles written before it (`Dr. John`,
/// `Prof. Dr. Anna`, `Sra. María`) and the nickname or middle initials
/// written after it (`Robert (Bob)`, `John Q.`): Meta matches the first
/// name alone. A title with no name after it is kept as the value it is.
pub fn first_name(s: &str) -> Result<String, String> {
    let mut rest = s;
    // A space found bytewise: most first names are one word, and a
    // character search costs more than the rest of the name's reading.
    while let Some(space) = rest.bytes().position(|b| b.is_ascii_whitespace()) {
        let (word, after) = (&rest[..space], &rest[space..]);
        let word = word.strip_suffix('.').unwrap_or(word);
        let title = NAME_TITLES.iter().any(|title| reads_as(word, title));
        let after = after.trim_start();
        if !title || after.is_empty() {
            break;
        }
        rest = after;
    }
    let rest = without_name_after(rest);
    name(rest).or_else(|why| {
        if rest.len() < s.len() {
            name(s)
        } else {
            Err(why)
        }
    })
}

/// The words that introduce a maiden name after a last name, lowercase:
/// German `geb.` (`geborene`), French and English `née`, Polish `z domu`,
/// Czech and Slovak `roz.` (`rozená`), Hungarian `szül.` (`született`).
const MAIDEN_NAME_MARKERS: &[&str] = &[
    "geb",
    "geb.",
    "geborene",
    "née",
    "nee",
    "z",
    "roz.",
    "rozená",
    "szül.",
    "született",
];

/// `ln`: as [`name`], without the maiden name written after it (`Müller
/// geb. Schmidt`, `Smith (née Jones)`, `Kowalska z domu Nowak`): Meta
/// matches the name a person goes by. A last name is never cut otherwise.
pub fn last_name(s: &str) -> Result<String, String> {
    // Most last names are one word, and are done at this search.
    if !s.bytes().any(|b| b == b' ') {
        return name(s);
    }
    let mut words = s.split(' ');
    let mut at = 0;
    while let Some(word) = words.next() {
        let marker = word.strip_prefix('(').unwrap_or(word);
        let maiden = at > 0
            && MAIDEN_NAME_MARKERS.iter().any(|m| reads_as(marker, m))
            // `z` alone is no marker; `z domu` is.
            && (!reads_as(marker, "z") || words.clone().next().is_some_and(|w| reads_as(w, "domu")));
        if maiden && let Ok(head) = name(&s[..at]) {
            return Ok(head);
        }
        at += word.len() + 1;
    }
    name(s)
}

/// A first name without what a form or a CRM writes after it: a nickname
/// in brackets or quotes (`Robert (Bob)`, `Johnny "JJ"`) and middle
/// initials (`John Q.`, `Mary J`). An initial is a Latin letter or a
/// capital of a script with capitals (`И.`): in Chinese or Japanese a
/// character alone is a part of the name.
fn without_name_after(s: &str) -> &str {
    let mut name = s.trim_end();
    loop {
        // An initial is one character (four bytes at most) and its dot:
        // the space before it is among the last six bytes, which spares
        // most names a search.
        let near_end = name.len().saturating_sub(6);
        let head = if let Some(inner) = name.strip_suffix([')', '"', '\'', '”', '’'])
            && let Some(open) = inner.rfind(['(', '"', '\'', '“', '‘'])
        {
            inner[..open].trim_end()
        } else if let Some(space) = name.as_bytes()[near_end..]
            .iter()
            .rposition(|&b| b == b' ')
            .map(|at| near_end + at)
            && let word = &name[space + 1..]
            && let mut letters = word.strip_suffix('.').unwrap_or(word).chars()
            && let (Some(initial), None) = (letters.next(), letters.next())
            && (initial.is_ascii_alphabetic() || initial.to_lowercase().ne([initial]))
        {
            name[..space].trim_end()
        } else {
            return name;
        };
        if head.chars().filter(|c| c.is_alphabetic()).count() < 2 {
            return name;
        }
        name = head;
    }
}

/// `ct`: as names: letters of every script with their combining marks,
/// lowercase (spaces, punctuation and digits removed). The state, province
/// or country an address's line writes after the city is removed
/// (`Menlo Park, CA`, `Austin, TX, USA`, `Berlin (Germany)`, `São
/// Paulo/SP`, `Sydney NSW 2000`): Meta matches the city alone.
pub fn city(s: &str) -> Result<String, String> {
    let mut city = s;
    while let Some(head) = without_place_after(city).or_else(|| without_district(city)) {
        city = head;
    }
    name(city)
}

/// A city without the last of the words an address writes after it to
/// name its district or its mail service: Paris's, Lyon's and Marseille's
/// arrondissements (`Paris 16e`, `Paris XVIe`, `Lyon 3e arrondissement`),
/// Budapest's districts (`Budapest XI.`, `Budapest XI. kerület`), and
/// France's Cedex (`Paris Cedex 08`). Meta's city is the city's name alone.
fn without_district(s: &str) -> Option<&str> {
    let s = s.trim_end();
    let space = s.bytes().rposition(|b| b == b' ')?;
    let head = s[..space].trim_end();
    (!head.is_empty() && district_word(&s[space + 1..])).then_some(head)
}

/// Whether `word` names a district or a mail service after a city: a
/// number, maybe with the ordinal's ending (`16`, `16e`, `1er`, `10.`), a
/// Roman one from I to XXXIX in capitals with its ending or two letters at
/// least (`XVIe`, `XI.`, `XI`), or the words `arrondissement`, `kerület`
/// and `Cedex`.
fn district_word(word: &str) -> bool {
    const WORDS: [&str; 7] = [
        "cedex",
        "arrondissement",
        "arr.",
        "arrdt",
        "kerület",
        "ker.",
        "ker",
    ];
    const ENDINGS: [&str; 8] = ["", ".", "e", "er", "re", "ère", "ème", "eme"];
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 {
        return ENDINGS.contains(&&word[digits..]);
    }
    let numerals = word.bytes().take_while(|b| b"IVX".contains(b)).count();
    if numerals > 0 {
        let ending = &word[numerals..];
        return roman_up_to_39(&word[..numerals])
            && ENDINGS.contains(&ending)
            && (numerals >= 2 || !ending.is_empty());
    }
    // Only these words' letters are searched: most last words start with
    // another letter and are done at it.
    matches!(word.as_bytes()[0] | 0x20, b'a' | b'c' | b'k')
        && WORDS.iter().any(|known| reads_as(word, known))
}

/// Whether `s` is a Roman numeral from I to XXXIX, written as numerals are
/// (`XIV`, not `XIIII` nor `IL`).
fn roman_up_to_39(s: &str) -> bool {
    let units = s.trim_start_matches('X');
    s.len() - units.len() <= 3
        && matches!(
            units,
            "" | "I" | "II" | "III" | "IV" | "V" | "VI" | "VII" | "VIII" | "IX"
        )
        && !s.is_empty()
}

/// A city without the state, province or country its address's line
/// writes after it: after a comma, a dash, a slash or in brackets
/// (`Menlo Park, CA`, `São Paulo/SP`, `Berlin (Germany)`), or a state's
/// postal code in capitals after a space, a postal code maybe after it
/// (`Austin TX`, `Sydney NSW 2000`). `None` when nothing is after it.
fn without_place_after(s: &str) -> Option<&str> {
    if let Some((head, tail)) = head_and_tail(s)
        && !head.is_empty()
        && (regions::region_code(tail, None).is_some()
            || regions::country(tail).is_some()
            || regions::state_after_city(without_number_after(tail)))
    {
        return Some(head);
    }
    let (head, code) = capital_code_after(s)?;
    regions::state_after_city(code).then_some(head)
}

/// `s` without the postal code written after it (`NSW 2000` → `NSW`).
fn without_number_after(s: &str) -> &str {
    s.trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ' || c == '-')
}

/// The words before the last one, and the last one, when that is two or
/// three capital letters as a state's postal code is written, a postal
/// code maybe after it (`Austin TX` → (`Austin`, `TX`), `Sydney NSW 2000`
/// → (`Sydney`, `NSW`)). Written in capitals after a space, such a word is
/// a code, not a part of the place's name.
fn capital_code_after(s: &str) -> Option<(&str, &str)> {
    let s = without_number_after(s);
    let bytes = s.as_bytes();
    // Read from the end by bytes: most cities end in a small letter, and
    // are done at the first.
    let capitals = bytes
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_uppercase())
        .count();
    if !(2..=3).contains(&capitals) || bytes.len() == capitals {
        return None;
    }
    let (head, word) = s.split_at(bytes.len() - capitals);
    let head = head.strip_suffix(' ')?.trim_end();
    (!head.is_empty()).then_some((head, word))
}

/// A value written as two parts, the second naming the place of the first
/// or the first again (`Menlo Park, CA`, `Germany (DE)`, `US - United
/// States`, `São Paulo/SP`): the part before and the part after the last
/// comma, dash between spaces, slash, or brackets closing the value.
fn head_and_tail(s: &str) -> Option<(&str, &str)> {
    // Most values have none of these: one pass over the bytes (`–` starts
    // with 0xE2) spares them the searches.
    if !s
        .bytes()
        .any(|b| matches!(b, b',' | b')' | b'-' | b'/' | 0xE2))
    {
        return None;
    }
    let s = s.trim_end();
    if let Some(inner) = s.strip_suffix(')')
        && let Some(open) = inner.rfind('(')
    {
        return Some((inner[..open].trim_end(), inner[open + 1..].trim()));
    }
    [",", " - ", " – ", "/"]
        .iter()
        .filter_map(|separator| s.rsplit_once(separator))
        .max_by_key(|(head, _)| head.len())
        .map(|(head, tail)| (head.trim_end(), tail.trim()))
}

/// Arabic's tatweel, the stroke that stretches a word.
const TATWEEL: char = '\u{0640}';

/// NFC, lowercased as a whole (Unicode's rules, as JavaScript's
/// `toLowerCase` and so the Pixel apply them), keeping letters (and digits
/// when `digits`) with the combining marks that belong to them: a mark
/// after a removed character (a space, an apostrophe) goes with it.
fn letters(s: &str, digits: bool) -> String {
    if s.is_ascii() {
        // ASCII is NFC already and has no combining marks.
        let kept: Vec<u8> = s
            .bytes()
            .filter(|b| b.is_ascii_alphabetic() || (digits && b.is_ascii_digit()))
            .map(|b| b.to_ascii_lowercase())
            .collect();
        return String::from_utf8(kept).expect("ASCII stays UTF-8");
    }
    // Half-width katakana and Hangul, as older Japanese and Korean systems
    // store names, are the letters people type at full width (`ﾀﾛｳ` is
    // `タロウ`, `ｶﾞ` is `ガ`): their compatibility forms.
    let lower = if s.chars().any(|c| ('\u{FF61}'..='\u{FFDC}').contains(&c)) {
        s.nfkc().collect::<String>().to_lowercase()
    } else {
        s.nfc().collect::<String>().to_lowercase()
    };
    let mut out = String::with_capacity(lower.len());
    let mut attached = false;
    for c in lower.nfc() {
        // Arabic's tatweel (`ـ`) stretches a word to fill a line: Unicode
        // counts it a letter, but it spells nothing (`محمـــد` is `محمد`).
        if (c.is_alphabetic() && c != TATWEEL) || (digits && c.is_numeric()) {
            out.push(c);
            attached = true;
        } else if is_combining_mark(c) {
            if attached {
                out.push(c);
            }
        } else {
            attached = false;
        }
    }
    out
}

/// `ge`: `f` or `m`, from the words people and forms use for them: at
/// least every word of Meta's parameter builders (capi-param-builder's
/// gender lists: titles, relations, pronouns), the common words and
/// titles in French, Spanish, Portuguese, German, Italian and Dutch, and
/// the common words in the Nordic and Baltic languages, Finnish, Polish,
/// Czech and Slovak, the South Slavic languages, Hungarian, Romanian,
/// Turkish, Russian, Ukrainian, Bulgarian, Greek, Arabic, Hebrew, Hindi,
/// Chinese and Japanese, Korean, Thai, Vietnamese and Indonesian,
/// full-width forms read as ASCII.
/// Anything else is dropped.
pub fn gender(s: &str) -> Result<String, String> {
    let g = ascii_forms(trim(s)).to_lowercase();
    let g = g.trim_end_matches('.');
    if FEMALE_WORDS.contains(&g) {
        Ok("f".into())
    } else if MALE_WORDS.contains(&g) {
        Ok("m".into())
    } else {
        Err("Meta accepts only female (f) or male (m)".into())
    }
}

const FEMALE_WORDS: &[&str] = &[
    // English.
    "f",
    "female",
    "woman",
    "women",
    "girl",
    "lady",
    "miss",
    "ms",
    "mrs",
    "madam",
    "ma'am",
    "daughter",
    "mother",
    "mom",
    "mum",
    "mama",
    "mommy",
    "aunt",
    "niece",
    "sister",
    "wife",
    "girlfriend",
    "bride",
    "widow",
    "queen",
    "princess",
    "duchess",
    "countess",
    "empress",
    "goddess",
    "maiden",
    "lass",
    "gal",
    "chick",
    "dame",
    "belle",
    "she",
    "her",
    "hers",
    "herself",
    "feminine",
    // French, Spanish, Portuguese, German, Italian, Dutch.
    "femme",
    "féminin",
    "feminin",
    "madame",
    "mme",
    "mademoiselle",
    "mlle",
    "fille",
    "mujer",
    "femenino",
    "señora",
    "senora",
    "sra",
    "señorita",
    "srta",
    "mulher",
    "feminino",
    "senhora",
    "w",
    "weiblich",
    "frau",
    "fr",
    "donna",
    "femmina",
    "femminile",
    "signora",
    "vrouw",
    "vrouwelijk",
    "mevrouw",
    "mevr",
    // Nordic, Polish, Turkish, Russian, Ukrainian, Greek, Arabic, Hebrew,
    // Hindi, Chinese and Japanese, Korean, Thai, Vietnamese, Indonesian.
    // (Not the one letter `k` of some of their forms: Meta's own library
    // refuses it.)
    "kvinde",
    "kvindelig",
    "kvinne",
    "kvinnelig",
    "kvinna",
    "kvinnlig",
    "kobieta",
    "żeńska",
    "kadın",
    "kadin",
    "bayan",
    "ж",
    "жен",
    "женский",
    "женщина",
    "жінка",
    "жіноча",
    "γυναίκα",
    "γυναικα",
    "θήλυ",
    "θηλυ",
    "أنثى",
    "انثى",
    "امرأة",
    "נקבה",
    "אישה",
    "महिला",
    "स्त्री",
    "女",
    "女性",
    "女子",
    "여",
    "여성",
    "여자",
    "หญิง",
    "nữ",
    "perempuan",
    "wanita",
    // Finnish, Estonian, Latvian, Lithuanian, Czech and Slovak, Croatian,
    // Serbian, Bosnian and Slovenian, Hungarian, Romanian, Bulgarian.
    "nainen",
    "naispuolinen",
    "naine",
    "sieviete",
    "moteris",
    "žena",
    "ženský",
    "ženská",
    "ženski",
    "ženska",
    "žensko",
    "nő",
    "női",
    "femeie",
    "жена",
    "женски",
];

const MALE_WORDS: &[&str] = &[
    // English.
    "m",
    "male",
    "man",
    "men",
    "boy",
    "gentleman",
    "guy",
    "sir",
    "mister",
    "mr",
    "son",
    "father",
    "dad",
    "daddy",
    "papa",
    "uncle",
    "nephew",
    "brother",
    "husband",
    "boyfriend",
    "groom",
    "widower",
    "king",
    "prince",
    "duke",
    "count",
    "emperor",
    "god",
    "lord",
    "lad",
    "fellow",
    "chap",
    "bloke",
    "dude",
    "he",
    "him",
    "his",
    "himself",
    "masculine",
    // French, Spanish, Portuguese, German, Italian, Dutch. The letter `h`
    // is how French and Spanish forms mark men (`H`/`F`, `H`/`M`), and no
    // language's forms mark women with it.
    "h",
    "homme",
    "masculin",
    "monsieur",
    "garçon",
    "hombre",
    "masculino",
    "varón",
    "varon",
    "señor",
    "senor",
    "sr",
    "homem",
    "senhor",
    "männlich",
    "maennlich",
    "mann",
    "herr",
    "uomo",
    "maschio",
    "maschile",
    "signore",
    "mannelijk",
    "heer",
    "dhr",
    // Nordic, Polish, Turkish, Russian, Ukrainian, Greek, Arabic, Hebrew,
    // Hindi, Chinese and Japanese, Korean, Thai, Vietnamese, Indonesian.
    "mand",
    "mandlig",
    "mannlig",
    "manlig",
    "mężczyzna",
    "męska",
    "erkek",
    "м",
    "муж",
    "мужской",
    "мужчина",
    "чоловік",
    "чоловіча",
    "άνδρας",
    "ανδρας",
    "άρρεν",
    "αρρεν",
    "ذكر",
    "رجل",
    "זכר",
    "גבר",
    "पुरुष",
    "男",
    "男性",
    "男子",
    "남",
    "남성",
    "남자",
    "ชาย",
    "nam",
    "pria",
    "laki-laki",
    // Finnish, Estonian, Latvian, Lithuanian, Czech and Slovak, Croatian,
    // Serbian, Bosnian and Slovenian, Hungarian, Romanian, Bulgarian.
    "mies",
    "miespuolinen",
    "mees",
    "vīrietis",
    "vyras",
    "muž",
    "mužský",
    "muškarac",
    "muški",
    "moški",
    "férfi",
    "bărbat",
    "barbat",
    "мъж",
    "мъжки",
];

const MONTH_FIRST: [&str; 12] = [
    "US", "PR", "GU", "VI", "AS", "MP", "UM", "FM", "MH", "PW", "PH", "BZ",
];

/// Month words by how they start, lowercase: English, then German, French,
/// Spanish, Portuguese, Italian, Dutch, the Nordic languages, Polish,
/// Turkish, Hungarian, Thai and Russian (whose dates name the month in the genitive,
/// `26 мая`). Where two languages share a start they share the month
/// (`mar` is March in eight of them); French's `juin` and `juillet` both
/// start `jui`, so each is told by four letters.
const MONTHS: &[(&str, u32)] = &[
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("apr", 4),
    ("may", 5),
    ("jun", 6),
    ("jul", 7),
    ("aug", 8),
    ("sep", 9),
    ("oct", 10),
    ("nov", 11),
    ("dec", 12),
    // German.
    ("mär", 3),
    ("mae", 3),
    ("mai", 5),
    ("okt", 10),
    ("dez", 12),
    // French.
    ("fév", 2),
    ("fev", 2),
    ("avr", 4),
    ("juin", 6),
    ("juil", 7),
    ("aoû", 8),
    ("aou", 8),
    ("déc", 12),
    // Spanish, Portuguese, Italian.
    ("ene", 1),
    ("gen", 1),
    ("abr", 4),
    ("mag", 5),
    ("giu", 6),
    ("lug", 7),
    ("ago", 8),
    ("set", 9),
    ("ott", 10),
    ("out", 10),
    ("dic", 12),
    // Dutch, the Nordic languages.
    ("maa", 3),
    ("mei", 5),
    ("maj", 5),
    // Polish.
    ("sty", 1),
    ("lut", 2),
    ("kwi", 4),
    ("cze", 6),
    ("lip", 7),
    ("sie", 8),
    ("wrz", 9),
    ("paź", 10),
    ("paz", 10),
    ("lis", 11),
    ("gru", 12),
    // Turkish.
    ("oca", 1),
    ("şub", 2),
    ("sub", 2),
    ("nis", 4),
    ("haz", 6),
    ("tem", 7),
    ("ağu", 8),
    ("agu", 8),
    ("eyl", 9),
    ("eki", 10),
    ("kas", 11),
    ("ara", 12),
    // Hungarian.
    ("már", 3),
    ("ápr", 4),
    ("máj", 5),
    ("jún", 6),
    ("júl", 7),
    ("sze", 9),
    // Thai.
    ("มกร", 1),
    ("กุม", 2),
    ("มีน", 3),
    ("เมษ", 4),
    ("พฤษ", 5),
    ("มิถ", 6),
    ("กรก", 7),
    ("สิง", 8),
    ("กัน", 9),
    ("ตุล", 10),
    ("พฤศ", 11),
    ("ธัน", 12),
    // Russian.
    ("янв", 1),
    ("фев", 2),
    ("мар", 3),
    ("апр", 4),
    ("мая", 5),
    ("май", 5),
    ("июн", 6),
    ("июл", 7),
    ("авг", 8),
    ("сен", 9),
    ("окт", 10),
    ("ноя", 11),
    ("дек", 12),
];

/// Words a written date may have besides its day, month and year:
/// `26 de mayo de 1990`, `le 1er mai 1990`, `the 1st of May`, `26 мая
/// 1990 г.`, `26 พฤษภาคม พ.ศ. 2533`.
const DATE_FILLERS: [&str; 11] = [
    "de", "del", "of", "the", "le", "el", "г", "r", "พ", "ศ", "feira",
];

/// The days of the week a spreadsheet's long date format writes before
/// the date (`Saturday, May 26, 1990`, `Samstag, 26. Mai 1990`, `sábado,
/// 26 de mayo de 1990`), and JavaScript's dates (`Sat May 26 1990`), in the
/// languages whose month names are read, each with its number (Monday is
/// 0). None starts a month's name. Portuguese names the weekdays by
/// number and `feira` (`segunda-feira`), which is read as a filler.
const WEEKDAYS: &[(&str, u32)] = &[
    // English.
    ("monday", 0),
    ("tuesday", 1),
    ("wednesday", 2),
    ("thursday", 3),
    ("friday", 4),
    ("saturday", 5),
    ("sunday", 6),
    ("mon", 0),
    ("tue", 1),
    ("tues", 1),
    ("wed", 2),
    ("thu", 3),
    ("thur", 3),
    ("thurs", 3),
    ("fri", 4),
    ("sat", 5),
    ("sun", 6),
    // German.
    ("montag", 0),
    ("dienstag", 1),
    ("mittwoch", 2),
    ("donnerstag", 3),
    ("freitag", 4),
    ("samstag", 5),
    ("sonnabend", 5),
    ("sonntag", 6),
    // French.
    ("lundi", 0),
    ("mardi", 1),
    ("mercredi", 2),
    ("jeudi", 3),
    ("vendredi", 4),
    ("samedi", 5),
    ("dimanche", 6),
    // Spanish.
    ("lunes", 0),
    ("martes", 1),
    ("miércoles", 2),
    ("miercoles", 2),
    ("jueves", 3),
    ("viernes", 4),
    ("sábado", 5),
    ("sabado", 5),
    ("domingo", 6),
    // Portuguese (`sábado` and `domingo` as in Spanish).
    ("segunda", 0),
    ("terça", 1),
    ("terca", 1),
    ("quarta", 2),
    ("quinta", 3),
    ("sexta", 4),
    // Italian.
    ("lunedì", 0),
    ("martedì", 1),
    ("mercoledì", 2),
    ("giovedì", 3),
    ("venerdì", 4),
    ("sabato", 5),
    ("domenica", 6),
    ("lunedi", 0),
    ("martedi", 1),
    ("mercoledi", 2),
    ("giovedi", 3),
    ("venerdi", 4),
    // Dutch.
    ("maandag", 0),
    ("dinsdag", 1),
    ("woensdag", 2),
    ("donderdag", 3),
    ("vrijdag", 4),
    ("zaterdag", 5),
    ("zondag", 6),
];

/// Japan's eras, as dates of birth are often written there (和暦): each
/// one's name, its letter (`H2.5.26`), and the Gregorian year before its
/// first (Heisei 1 is 1989).
const JAPANESE_ERAS: [(&str, char, u32); 5] = [
    ("明治", 'M', 1867),
    ("大正", 'T', 1911),
    ("昭和", 'S', 1925),
    ("平成", 'H', 1988),
    ("令和", 'R', 2018),
];

/// Taiwan's Minguo years (民國79年 is 1990), by the two ways of writing
/// the name, each with the Gregorian year before its first.
const MINGUO: [(&str, u32); 2] = [("民國", 1911), ("民国", 1911)];

/// `text` with its year written in a Japanese era (`平成2-5-26-`, once the
/// year, month and day marks are dashes; `H2.5.26`; `令和元` for an era's
/// first year) or in Taiwan's Minguo years (`民國79-5-26-`) written as the
/// Gregorian one (`1990-5-26-`); `None` when it starts with no era and its
/// year.
fn from_japanese_era(text: &str) -> Option<String> {
    // Most dates start with a digit: no era.
    if text.as_bytes().first().is_none_or(u8::is_ascii_digit) {
        return None;
    }
    let (rest, before_first) = JAPANESE_ERAS
        .iter()
        .find_map(|&(name, letter, year)| {
            text.strip_prefix(name)
                .or_else(|| text.strip_prefix([letter, letter.to_ascii_lowercase()]))
                .map(|rest| (rest.trim_start(), year))
        })
        .or_else(|| {
            MINGUO
                .iter()
                .find_map(|&(name, year)| text.strip_prefix(name).map(|r| (r.trim_start(), year)))
        })?;
    let (year, after) = match rest.strip_prefix('元') {
        Some(after) => (1, after),
        None => {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if !(1..=2).contains(&digits) {
                return None;
            }
            (rest[..digits].parse::<u32>().ok()?, &rest[digits..])
        }
    };
    // The era's year ends where a separator starts (not `May`, `Sept`).
    if after.starts_with(char::is_alphanumeric) {
        return None;
    }
    Some(format!("{}{after}", before_first + year))
}

/// Whether `part` is one of [`DATE_FILLERS`] (`Г` in capitals too).
fn date_filler(part: &str) -> bool {
    part == "Г" || DATE_FILLERS.iter().any(|f| part.eq_ignore_ascii_case(f))
}

/// The number of the day of the week `part` names (Monday is 0), if one
/// of [`WEEKDAYS`].
fn weekday_named(part: &str) -> Option<u32> {
    WEEKDAYS
        .iter()
        .find(|(name, _)| part.eq_ignore_ascii_case(name))
        .map(|&(_, day)| day)
}

/// The day of the week of a real date (Monday is 0), by Sakamoto's method.
fn weekday_of(y: u32, m: u32, d: u32) -> u32 {
    const OFFSETS: [u32; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
    let y = if m < 3 { y - 1 } else { y };
    let from_sunday = (y + y / 4 - y / 100 + y / 400 + OFFSETS[m as usize - 1] + d) % 7;
    (from_sunday + 6) % 7
}

/// A day written with its ordinal ending (`1st`, `26th`, `1er`, `1º`),
/// as its digits. `part` is not empty.
fn ordinal_day(part: &str) -> &str {
    if part.as_bytes()[part.len() - 1].is_ascii_digit() {
        return part;
    }
    let digits = part.len() - part.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    match &part[digits..] {
        "st" | "nd" | "rd" | "th" | "er" | "º" | "ª" | "o" if (1..=2).contains(&digits) => {
            &part[..digits]
        }
        _ => part,
    }
}

/// `db`: `YYYYMMDD`. ISO forms (`1990-05-26`, `1990/05/26`, `19900526`),
/// numeric forms read in the contact's country order (month first in the
/// US, day first elsewhere), and forms with a month's name in English,
/// German, French, Spanish, Portuguese, Italian, Dutch, the Nordic
/// languages, Polish, Turkish, Hungarian, Thai or Russian (`26 May 1990`, `May
/// 26th, 1990`, `26. Mai 1990`, `26 de mayo de 1990`, `26 мая 1990 г.`),
/// in digits of any script, with the
/// year, month and day marks of Chinese, Japanese and Korean
/// (`1990年5月26日`), with the year in a Japanese era (`平成2年5月26日`,
/// `H2.5.26`) or in Taiwan's Minguo years (`民國79年5月26日`), and, for a
/// contact in Thailand, in the Buddhist era (`26/05/2533`), and a date
/// written as its midnight in UTC in milliseconds (`643680000000`). Impossible
/// dates are refused, and so is a spreadsheet's date serial (`32999`),
/// whose epoch is not known. A year of two digits (`05/26/90`) is read in
/// the century that makes the customer 13 to 99 years old in the year of
/// `event_time` (Unix seconds; Meta's users are 13 or older), and refused
/// where neither century does, where the event's time is unknown, or where
/// a date's year may be of another calendar (Japan's eras, Taiwan's Minguo
/// years, Thailand's Buddhist era, the Hijri calendars…); Meta's own
/// parameter builder refuses every such year.
pub fn date_of_birth(
    s: &str,
    country: &Country,
    event_time: Option<i64>,
) -> Result<String, String> {
    let folded = match ascii_forms(trim(s)) {
        // Year, month and day marks (`1990年5月26日`, `1990년 5월 26일`)
        // separate the parts as a dash does.
        Cow::Owned(text) => Cow::Owned(text.replace(['年', '月', '日', '년', '월', '일'], "-")),
        ascii => ascii,
    };
    if let Some(days) = midnight_in_milliseconds(&folded) {
        let (y, m, d) = civil_from_days(days);
        return written_date(y, m, d);
    }
    // A spreadsheet's date serial (days since 1899-12-30, or since 1904-01-01
    // in older Mac workbooks: four years apart, so not read): 10000 is
    // 1927, 73050 is 2099. No date is written as five digits otherwise.
    if folded.len() == 5
        && folded
            .parse::<u32>()
            .is_ok_and(|serial| (10_000..=73_050).contains(&serial))
    {
        return Err(
            "a spreadsheet wrote this date as its serial number (like 32999): format the column as a date and export it again"
                .into(),
        );
    }
    let gregorian = from_japanese_era(&folded);
    let s: &str = gregorian.as_deref().unwrap_or(&folded);
    // ISO date-times: keep the date.
    let s = s
        .split(['T', ' '])
        .next()
        .filter(|d| {
            d.len() >= 8
                && d.chars().next().is_some_and(|c| c.is_ascii_digit())
                && d.chars().nth(4).is_some_and(|c| !c.is_ascii_digit())
        })
        .unwrap_or(s);
    // A time after the date (`May 26, 1990 12:00 AM`, JavaScript's `Sat May
    // 26 1990 00:00:00 GMT+0200 (…)`): the date is what comes before it.
    // A date written with colons (`12:31:1990`) has nothing before them.
    // (A byte search: most dates are a dozen bytes, too few for `find`'s
    // searcher to pay for itself.)
    let s = match s.bytes().position(|b| b == b':') {
        Some(colon) if s[..colon].ends_with(|c: char| c.is_ascii_digit()) => {
            let date = s[..colon].trim_end_matches(|c: char| c.is_ascii_digit());
            if date.trim().is_empty() { s } else { date }
        }
        _ => s,
    };
    // At most three parts are read; a fourth makes it no date.
    let mut parts = [""; 4];
    let mut count = 0;
    let mut weekday = None;
    for p in s.split(|c: char| !c.is_alphanumeric()) {
        if p.is_empty() {
            continue;
        }
        // Numbers, most parts, are no words: spare them the comparisons.
        if !p.as_bytes()[0].is_ascii_digit() {
            if date_filler(p) {
                continue;
            }
            if let Some(day) = weekday_named(p) {
                weekday = Some(day);
                continue;
            }
        }
        if count == parts.len() {
            break;
        }
        parts[count] = ordinal_day(p);
        count += 1;
    }
    let (mut y, m, d) = match &parts[..count] {
        [one] if one.len() == 8 && one.bytes().all(|b| b.is_ascii_digit()) => {
            (num(&one[0..4])?, num(&one[4..6])?, num(&one[6..8])?)
        }
        [a, b, c] => {
            let month_word = |p: &str| {
                // Digits are no month: spare them the lowercasing.
                if !p.chars().all(char::is_alphabetic) {
                    return None;
                }
                let l = p.to_lowercase();
                MONTHS
                    .iter()
                    .find(|(start, _)| l.starts_with(start))
                    .map(|&(_, month)| month)
            };
            if let Some(m) = month_word(a) {
                (written_year(c, country, event_time)?, m, num(b)?)
            } else if let Some(m) = month_word(b) {
                // The year first (`1990. május 26.`) or last (`26 May 1990`).
                if a.len() == 4 {
                    (num(a)?, m, num(c)?)
                } else {
                    (written_year(c, country, event_time)?, m, num(a)?)
                }
            } else if a.len() == 4 {
                only_real((num(a)?, num(b)?, num(c)?), (num(a)?, num(c)?, num(b)?))
            } else if c.len() == 4 {
                let (month_first, day_first) =
                    ((num(c)?, num(a)?, num(b)?), (num(c)?, num(b)?, num(a)?));
                // The country decides, unless only one reading is a real
                // date (`31/12/1990` is day first anywhere).
                if MONTH_FIRST.contains(&country.alpha2) {
                    only_real(month_first, day_first)
                } else {
                    only_real(day_first, month_first)
                }
            } else if a.len() == 2 && num(a)? > 31 {
                // A year first, as no day or month is more than 31.
                let y = two_digit_year(a, country, event_time)?;
                only_real((y, num(b)?, num(c)?), (y, num(c)?, num(b)?))
            } else if c.len() == 2 && !YEAR_FIRST.contains(&country.alpha2) {
                let y = two_digit_year(c, country, event_time)?;
                let (month_first, day_first) = ((y, num(a)?, num(b)?), (y, num(b)?, num(a)?));
                if MONTH_FIRST.contains(&country.alpha2) {
                    only_real(month_first, day_first)
                } else {
                    only_real(day_first, month_first)
                }
            } else {
                return Err(TWO_DIGIT_YEAR.into());
            }
        }
        _ => return Err("not a date Meta can read; write it like 1990-05-26".into()),
    };
    // Thailand counts years in the Buddhist era, 543 ahead: a Thai
    // contact born in 2533 was born in 1990.
    if country.alpha2 == "TH" && (2443..=2643).contains(&y) {
        y -= 543;
    }
    let date = written_date(y, m, d)?;
    // A day of the week that is not the date's says one of them is wrong.
    // (The reason names neither: it is a customer's date of birth.)
    if weekday.is_some_and(|named| named != weekday_of(y, m, d)) {
        return Err("the day of the week is not the date's: one of them is wrong".into());
    }
    Ok(date)
}

/// `YYYYMMDD` of a plausible date of birth.
#[inline]
fn written_date(y: u32, m: u32, d: u32) -> Result<String, String> {
    if !(1900..=2100).contains(&y) {
        return Err("the year is not a plausible year of birth".into());
    }
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return Err("not a real date".into());
    }
    // `YYYYMMDD`: the year is 1900 to 2100, month and day two digits.
    let mut out = String::with_capacity(8);
    for (value, width) in [(y, 4), (m, 2), (d, 2)] {
        for place in (0..width).rev() {
            let digit = (value / 10u32.pow(place)) % 10;
            out.push(char::from(b'0' + digit as u8));
        }
    }
    Ok(out)
}

/// The days since 1970-01-01 of a date written as its midnight in UTC in
/// milliseconds since then, as HubSpot's older APIs and exports write
/// date properties (`643680000000` is 1990-05-26): a whole number of days,
/// which no other number in a date of birth field is by chance.
fn midnight_in_milliseconds(s: &str) -> Option<i64> {
    const DAY: i64 = 86_400_000;
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !(8..=13).contains(&digits.len())
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || digits.starts_with('0')
    {
        return None;
    }
    let ms: i64 = s.parse().ok()?;
    (ms % DAY == 0).then_some(ms / DAY)
}

/// The civil date `days` after 1970-01-01 (Howard Hinnant's algorithm),
/// as year, month and day; a year before 0 is 0.
pub(crate) fn civil_from_days(days: i64) -> (u32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year.clamp(0, 9999) as u32, month as u32, day as u32)
}

/// `preferred`, unless it is no real date and `other` is.
fn only_real(preferred: (u32, u32, u32), other: (u32, u32, u32)) -> (u32, u32, u32) {
    let real =
        |(y, m, d): (u32, u32, u32)| (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m);
    if !real(preferred) && real(other) {
        other
    } else {
        preferred
    }
}

const TWO_DIGIT_YEAR: &str = "the year must have four digits (a year of two could be of either century): write it like 1990-05-26";

/// Countries whose dates may count years in another calendar, where a year
/// of two digits may not be the Gregorian one: Japan's eras, Taiwan's
/// Minguo years, Thailand's Buddhist era, the Solar Hijri years of Iran
/// and Afghanistan, Saudi Arabia's Hijri years, Nepal's Bikram Sambat and
/// Ethiopia's calendar.
const OTHER_CALENDARS: [&str; 8] = ["AF", "ET", "IR", "JP", "NP", "SA", "TH", "TW"];

/// Countries whose dates in numbers put the year first (`90.05.26`): a year
/// of two digits there is read only where it is more than 31, as no day or
/// month is.
const YEAR_FIRST: [&str; 6] = ["CN", "HU", "KP", "KR", "LT", "MN"];

/// The year of birth a year of two digits names for an event at
/// `event_time` (Unix seconds): the one in which the customer is 13 to 99
/// years old in the event's year (`90` is 1990 and `05` is 2005 in 2026;
/// `20` is refused, as a customer born in 2020 or in 1920 would be 6 or
/// 106).
fn two_digit_year(s: &str, country: &Country, event_time: Option<i64>) -> Result<u32, String> {
    let yy = num(s)?;
    let event = match event_time.map(|t| civil_from_days(t.div_euclid(86_400)).0) {
        Some(year) if !OTHER_CALENDARS.contains(&country.alpha2) && year >= 100 => year,
        _ => return Err(TWO_DIGIT_YEAR.into()),
    };
    let earliest = event - 99;
    let year = earliest + (yy + 100 - earliest % 100) % 100;
    if year > event - 13 {
        return Err("the year has two digits, and in either century the customer would be younger than 13 or older than 99 at the event: write it with four, like 1990-05-26".into());
    }
    Ok(year)
}

/// The year of a date written with its month's name (`26 May 1990`): four
/// digits, or two read by [`two_digit_year`].
fn written_year(s: &str, country: &Country, event_time: Option<i64>) -> Result<u32, String> {
    if s.len() == 2 {
        return two_digit_year(s, country, event_time);
    }
    num(s)
}

fn num(s: &str) -> Result<u32, String> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a date Meta can read; write it like 1990-05-26".into());
    }
    s.parse().map_err(|_| "not a number".to_string())
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        _ => 31,
    }
}

/// `st`: a US state or Canadian province as its 2-letter code, lowercase;
/// any other state lowercase, letters (with their combining marks) and
/// digits only, never truncated. `known` is the contact's own country:
/// when it is the US or Canada the value must name one of theirs; when it
/// is unknown, a value naming a US state or Canadian province is still
/// coded, and any other is kept by the general rule, never dropped. A
/// city or country written beside a US state or Canadian province, as an
/// address's line writes them, is left out (`Paris, Texas`, `Austin TX`,
/// `NY, USA`).
pub fn state(s: &str, known: Option<&Country>) -> Result<String, String> {
    let folded = ascii_forms(s);
    let mut s: &str = &folded;
    let mut known = known;
    // An ISO 3166-2 code of a US state or Canadian province (`US-CA`,
    // `CA-ON`) names it after its country's code, which must be the
    // contact's when that is known. Other countries' states keep the
    // general rule, under which Meta reads them.
    if let Some((country, code)) = s.trim().split_once('-')
        && country.len() == 2
        && code.len() == 2
        && let Some(named) = regions::country(country)
        && matches!(named.alpha2, "US" | "CA")
        && known.is_none_or(|own| own.alpha2 == named.alpha2)
    {
        known = Some(named);
        s = code;
    }
    let scope = known.map(|c| c.alpha2);
    match scope {
        Some("US" | "CA") | None => {
            if let Some(code) = regions::region_code(s, scope) {
                return Ok(code.to_ascii_lowercase());
            }
        }
        Some(_) => {}
    }
    if let Some((head, tail)) = head_and_tail(s)
        && !head.is_empty()
    {
        let tail_code = regions::region_code(tail, scope);
        let tail_country = regions::country(tail);
        // The code and the name together (`California (CA)`, `CA -
        // California`).
        if let Some(code) = regions::region_code(head, scope)
            && tail_code == Some(code)
        {
            return Ok(code.to_ascii_lowercase());
        }
        // The city before the state (`Paris, Texas`, `Kansas City, MO`),
        // as an address's line writes them. Where the contact's country is
        // unknown, a tail that names a country too (`Tbilisi, Georgia`) is
        // read as the country.
        if let Some(code) = tail_code
            && (scope.is_some() || tail_country.is_none())
        {
            return Ok(code.to_ascii_lowercase());
        }
        // The country after the state (`NY, USA`, `Bavaria, Germany`).
        if tail_country.is_some() {
            return state(head, known);
        }
    }
    // The city before the state's code in capitals (`Austin TX`).
    if let Some((_, word)) = capital_code_after(s)
        && let Some(code) = regions::region_code(word, scope)
    {
        return Ok(code.to_ascii_lowercase());
    }
    if let Some(country) = known.filter(|c| matches!(c.alpha2, "US" | "CA")) {
        return Err(format!(
            "not a {} of {}",
            if country.alpha2 == "US" {
                "state"
            } else {
                "province"
            },
            country.name
        ));
    }
    let generic = letters(s, true);
    if !generic.chars().any(char::is_alphabetic) {
        return Err("a state's name has letters".into());
    }
    Ok(generic)
}

/// Whether `s` (lowercased) is a number as a spreadsheet shows a long one:
/// a digit, maybe a decimal part, then an exponent (`6.50555e+9`).
fn scientific_notation(s: &str) -> bool {
    let Some((mantissa, exponent)) = s.trim().split_once('e') else {
        return false;
    };
    let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
    let (whole, decimals) = mantissa.split_once(['.', ',']).unwrap_or((mantissa, "0"));
    [whole, decimals, exponent]
        .iter()
        .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `s` is a number a spreadsheet wrote in scientific notation and
/// so lost digits of (`7.01235E+12` for `7012345678901`): an id or a
/// number that is no longer the one it was. Spreadsheets write the
/// exponent's sign; without it, `12e4` may as well be a hexadecimal id.
pub fn lost_to_scientific_notation(s: &str) -> bool {
    let lower = s.trim().to_ascii_lowercase();
    lower.contains("e+") && scientific_notation(&lower) && written_out(&lower).is_none()
}

/// The digits of a number in scientific notation (lowercased) that still
/// has every one of them: as many decimals as its exponent
/// (`6.505551212e+09` is `6505551212`). `None` when digits were lost (or
/// it has a fraction).
fn written_out(s: &str) -> Option<String> {
    let (mantissa, exponent) = s.trim().split_once('e')?;
    let exponent: usize = exponent
        .strip_prefix('+')
        .unwrap_or(exponent)
        .parse()
        .ok()?;
    let (whole, decimals) = mantissa.split_once(['.', ',']).unwrap_or((mantissa, ""));
    (decimals.len() == exponent).then(|| [whole, decimals].concat())
}

/// `s` without the `.0` a data tool writes after a whole number it holds
/// as a floating-point one (pandas writes a column of numbers with a gap
/// in it so: `94025.0`, `6505551212.0`), when the rest is all digits. No
/// phone number or postal code is written so.
fn without_decimal_zero(s: &str) -> &str {
    match s.strip_suffix(".0") {
        Some(whole) if !whole.is_empty() && whole.bytes().all(|b| b.is_ascii_digit()) => whole,
        _ => s,
    }
}

/// `zp`: lowercase without spaces or dashes. When the contact's country is
/// known to be the US, the first five digits (ZIP+4 drops the +4), with
/// the leading zeros a spreadsheet took off put back (see `us_zip`); in a
/// European country whose codes have no letters, without the country's
/// letters written before it (`D-10115` is `10115`); with no known
/// country, the general rule, never dropped. Digits of any script
/// and full-width forms are read as ASCII (`１００－０００１` is `1000001`).
///
/// A label before the code is removed (`PLZ 10115`, `Zip: 94025`,
/// `CEP 01310-100`), and in a country whose codes are digits only, the code
/// is taken from among the words of its place, as a form's "postal code
/// and city" field or an address's last line holds it (`10115 Berlin`,
/// `Menlo Park, CA 94025`, `〒100-0001 東京都`): when the value holds one
/// number of the country's length and otherwise only words. So are the
/// UK's, Canada's and the Netherlands' codes, by their pattern of letters
/// and digits (`London SW1A 1AA`, `1012 AB Amsterdam`).
pub fn postal_code(s: &str, known: Option<&Country>) -> Result<String, String> {
    let folded = ascii_forms(s);
    let s = without_decimal_zero(without_postal_label(trim(&folded)));
    let among_words = known
        // Bytes, not characters: most codes are digits, and a byte of a
        // character beyond ASCII only costs the search for a number.
        .filter(|_| s.bytes().any(|b| b.is_ascii_alphabetic() || !b.is_ascii()))
        .and_then(|c| match postal_format(c)? {
            (digits, 0) => {
                let number = lone_number(s)?;
                (c.alpha2 == "US" || digits.contains(&number.len())).then_some(number)
            }
            _ => None,
        });
    let s = among_words.as_deref().unwrap_or(s);
    let z: String = if s.is_ascii() {
        s.bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|b| char::from(b.to_ascii_lowercase()))
            .collect()
    } else {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    if known.is_some_and(|c| c.alpha2 == "US") {
        return us_zip(&z).ok_or_else(|| "a US ZIP code has 5 digits (or ZIP+4)".into());
    }
    // The UK's, Canada's and the Netherlands' codes among words
    // (`London SW1A 1AA`, `Toronto ON M5V 3L9`, `1012 AB Amsterdam`).
    let z = match known.filter(|c| matches!(c.alpha2, "GB" | "CA" | "NL")) {
        Some(c) if !lettered_code(z.as_bytes(), c.alpha2) => {
            lettered_among_words(s, c.alpha2).unwrap_or(z)
        }
        _ => z,
    };
    let z = match known.and_then(|c| without_country_prefix(&z, c)) {
        Some(code) => code.to_string(),
        None => z,
    };
    let z = match known.and_then(|c| with_zeros_given_back(&z, c)) {
        Some(code) => code,
        None => z,
    };
    if z.chars().count() < 2 {
        return Err("a postal code has at least two characters".into());
    }
    Ok(z)
}

/// Words written before a postal code to name it, lowercase, a longer one
/// before a shorter one it starts with.
#[rustfmt::skip]
const POSTAL_LABELS: &[&str] = &[
    "zip code", "zipcode", "zip", "postal code", "postalcode", "postcode", "post code",
    "postnummer", "postnr", "postinumero", "plz", "cep", "c.p.", "cp", "c.a.p.", "cap",
    "pin code", "pincode", "pin", "code postal", "código postal", "codigo postal",
    "kod pocztowy", "psč", "irányítószám", "почтовый индекс", "индекс", "邮政编码", "邮编",
    "郵便番号", "우편번호",
];

/// `s` without a label before its code (`PLZ 10115`, `Zip: 94025`), when a
/// space or punctuation follows the label, and digits follow that.
fn without_postal_label(s: &str) -> &str {
    // Most codes start with a digit, and no label does.
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        return s;
    }
    POSTAL_LABELS
        .iter()
        .find_map(|label| {
            let head = s.get(..label.len())?;
            let rest = &s[label.len()..];
            let separated = label.ends_with('.')
                || rest.starts_with(|c: char| c.is_whitespace() || c.is_ascii_punctuation());
            (reads_as(head, label) && separated).then_some(rest)
        })
        .map(|rest| rest.trim_start_matches(|c: char| !c.is_alphanumeric()))
        .filter(|rest| rest.bytes().any(|b| b.is_ascii_digit()))
        .unwrap_or(s)
}

/// The digits of the one number among the words of `s`: digits in groups
/// joined by a single space, dash or dot (`01310-100`, `114 55`), with
/// no letter against them. `None` when `s` holds no number or more than
/// one, or a number runs into a word (`10115Berlin`, `Apt 4B`).
fn lone_number(s: &str) -> Option<String> {
    let mut digits = String::new();
    let (mut numbers, mut in_number, mut before) = (0, false, None::<char>);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            if !in_number {
                if before.is_some_and(char::is_alphanumeric) {
                    return None;
                }
                numbers += 1;
                in_number = true;
            }
            digits.push(c);
        } else if in_number
            && matches!(c, ' ' | '-' | '.')
            && chars.peek().is_some_and(char::is_ascii_digit)
        {
            // A joiner inside the number: it goes on.
        } else if in_number && c.is_alphanumeric() {
            return None;
        } else {
            in_number = false;
        }
        before = Some(c);
    }
    (numbers == 1).then_some(digits)
}

/// Whether `code` (lowercase letters and digits) has the shape of a postal
/// code of the UK (`sw1a1aa`: an outward code `A9`, `A99`, `A9A`, `AA9`,
/// `AA99` or `AA9A`, then `9AA`), Canada (`k1a0b1`) or the Netherlands
/// (`1012ab`), whose codes mix letters and digits in a fixed pattern.
fn lettered_code(code: &[u8], alpha2: &str) -> bool {
    let l = |b: u8| b.is_ascii_lowercase();
    let d = |b: u8| b.is_ascii_digit();
    match (alpha2, code) {
        ("CA", &[a, b, c, e, f, g]) => l(a) && d(b) && l(c) && d(e) && l(f) && d(g),
        ("NL", &[a, b, c, e, f, g]) => d(a) && d(b) && d(c) && d(e) && l(f) && l(g),
        ("GB", _) if (5..=7).contains(&code.len()) => {
            let (outward, inward) = code.split_at(code.len() - 3);
            let inward = d(inward[0]) && l(inward[1]) && l(inward[2]);
            let outward = match *outward {
                [a, b] => l(a) && d(b),
                [a, b, c] => l(a) && ((d(b) && (d(c) || l(c))) || (l(b) && d(c))),
                [a, b, c, e] => l(a) && l(b) && d(c) && (d(e) || l(e)),
                _ => false,
            };
            inward && outward
        }
        _ => false,
    }
}

/// The one postal code of the UK, Canada or the Netherlands (see
/// [`lettered_code`]) among the words of `s`, in one word or two
/// (`London SW1A 1AA`), lowercase; `None` when there is none, or more
/// than one, or another word has digits.
fn lettered_among_words(s: &str, alpha2: &str) -> Option<String> {
    let words: Vec<String> = s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let mut found = None;
    for start in 0..words.len() {
        for end in start + 1..(start + 3).min(words.len() + 1) {
            let code = words[start..end].concat();
            if lettered_code(code.as_bytes(), alpha2) {
                if found.is_some() {
                    return None;
                }
                found = Some((start..end, code));
            }
        }
    }
    let (at, code) = found?;
    let others_are_words = words
        .iter()
        .enumerate()
        .filter(|(i, _)| !at.contains(i))
        .all(|(_, w)| !w.bytes().any(|b| b.is_ascii_digit()));
    others_are_words.then_some(code)
}

/// The number of digits of a country's postal codes and of the letters
/// after them (the Netherlands' `1234 AB`), where every code has that
/// shape, in the order of the country codes. The US is here for its five
/// digits; `us_zip` reads its others.
#[rustfmt::skip]
const POSTAL_FORMATS: &[(&str, &[usize], usize)] = &[
    ("AL", &[4], 0), ("AM", &[4], 0), ("AT", &[4], 0), ("AU", &[4], 0), ("BA", &[5], 0),
    ("BD", &[4], 0), ("BE", &[4], 0), ("BG", &[4], 0), ("BR", &[8], 0), ("BY", &[6], 0),
    ("CH", &[4], 0), ("CL", &[7], 0), ("CN", &[6], 0), ("CO", &[6], 0), ("CY", &[4], 0),
    ("CZ", &[5], 0), ("DE", &[5], 0), ("DK", &[4], 0), ("DZ", &[5], 0), ("EE", &[5], 0),
    ("EG", &[5], 0), ("ES", &[5], 0), ("FI", &[5], 0), ("FR", &[5], 0), ("GE", &[4], 0),
    ("GR", &[5], 0), ("HR", &[5], 0), ("HU", &[4], 0), ("ID", &[5], 0), ("IL", &[7], 0),
    ("IN", &[6], 0), ("IS", &[3], 0), ("IT", &[5], 0), ("JP", &[7], 0), ("KE", &[5], 0),
    ("KR", &[5], 0), ("LI", &[4], 0), ("LK", &[5], 0), ("LU", &[4], 0), ("MA", &[5], 0),
    ("ME", &[5], 0), ("MK", &[4], 0), ("MX", &[5], 0), ("MY", &[5], 0), ("NG", &[6], 0),
    ("NL", &[4], 2), ("NO", &[4], 0), ("NP", &[5], 0), ("NZ", &[4], 0), ("PH", &[4], 0),
    ("PK", &[5], 0), ("PL", &[5], 0), ("PT", &[7, 4], 0), ("RO", &[6], 0), ("RS", &[5], 0),
    ("RU", &[6], 0), ("SA", &[5], 0), ("SE", &[5], 0), ("SG", &[6], 0), ("SI", &[4], 0),
    ("SK", &[5], 0), ("TH", &[5], 0), ("TN", &[4], 0), ("TR", &[5], 0), ("TW", &[3, 5, 6], 0),
    ("UA", &[5], 0), ("US", &[5], 0), ("VN", &[6, 5], 0), ("ZA", &[4], 0),
];

/// A postal code a spreadsheet held as a number, with the leading zeros
/// it took off given back (`1067` (DE) → `01067`, Dresden's; `100` (IT) →
/// `00100`, Rome's): for a country whose codes are all digits of one length
/// (four or more), when one or two are missing. Israel's codes had five
/// digits before they had seven, so a code of five there is an old one.
fn with_zeros_given_back(code: &str, country: &Country) -> Option<String> {
    let (&[length], 0) = postal_format(country)? else {
        return None;
    };
    let missing = length.checked_sub(code.len())?;
    ((1..=2).contains(&missing)
        && length >= 4
        && country.alpha2 != "IL"
        && code.bytes().all(|b| b.is_ascii_digit()))
    .then(|| format!("{}{code}", "0".repeat(missing)))
}

/// The shape of `country`'s postal codes, where [`POSTAL_FORMATS`] has it.
fn postal_format(country: &Country) -> Option<(&'static [usize], usize)> {
    let at = POSTAL_FORMATS
        .binary_search_by(|(alpha2, ..)| alpha2.cmp(&country.alpha2))
        .ok()?;
    let (_, digits, letters) = POSTAL_FORMATS[at];
    Some((digits, letters))
}

/// The letters written before a postal code to name its country, by the
/// European custom of addressing mail abroad (`D-10115`, `CH-8001`,
/// `F-75001`: the country's code or its old letters on cars). Latvia's
/// `LV-1010` and Lithuania's `LT-01100` are not here: the letters are part
/// of their codes.
#[rustfmt::skip]
const POSTAL_PREFIXES: &[(&str, &[&str])] = &[
    ("AT", &["at", "a"]), ("BE", &["be", "b"]), ("BG", &["bg"]), ("CH", &["ch"]),
    ("CZ", &["cz"]), ("DE", &["de", "d"]), ("DK", &["dk"]), ("ES", &["es", "e"]),
    ("FI", &["fin", "fi", "sf"]), ("FR", &["fr", "f"]), ("GR", &["gr"]), ("HR", &["hr"]),
    ("HU", &["hu", "h"]), ("IT", &["it", "i"]), ("LI", &["fl", "li"]), ("LU", &["lu", "l"]),
    ("NL", &["nl"]), ("NO", &["no", "n"]), ("PL", &["pl"]), ("PT", &["pt", "p"]),
    ("RO", &["ro"]), ("SE", &["se", "s"]), ("SI", &["slo", "si"]), ("SK", &["sk"]),
];

/// `code` (lowercase letters and digits) without the letters written
/// before it to name `country`, when they are there and the rest is a
/// whole code of that country.
fn without_country_prefix<'a>(code: &'a str, country: &Country) -> Option<&'a str> {
    let (_, prefixes) = POSTAL_PREFIXES
        .iter()
        .find(|(alpha2, _)| *alpha2 == country.alpha2)?;
    let (digits, letters) = postal_format(country)?;
    let whole = |rest: &str| {
        let rest = rest.as_bytes();
        digits.iter().any(|&d| {
            rest.len() == d + letters
                && rest[..d].iter().all(u8::is_ascii_digit)
                && rest[d..].iter().all(u8::is_ascii_lowercase)
        })
    };
    prefixes
        .iter()
        .filter_map(|prefix| code.strip_prefix(prefix))
        .find(|rest| whole(rest))
}

/// The five digits of a US ZIP code (or ZIP+4) written as digits only.
///
/// A spreadsheet reads a ZIP code as a number and drops its leading zeros:
/// every ZIP of New England and New Jersey (`02134`) comes out of one with
/// four digits, and those of Puerto Rico, the Virgin Islands and Holtsville
/// (`00601`, `00501`) with three. No ZIP code has fewer than five digits, so
/// the zeros are put back where the digits left are one of those: four not
/// starting with 0, three starting with 5 to 9, each also with a `+4`
/// after it. Anything else is not a ZIP code.
fn us_zip(digits: &str) -> Option<String> {
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let first = digits.bytes().next()?;
    let zeros = match digits.len() {
        5 | 9 => 0,
        4 | 8 if first != b'0' => 1,
        3 | 7 if (b'5'..=b'9').contains(&first) => 2,
        _ => return None,
    };
    let mut zip = "0".repeat(zeros);
    zip.push_str(&digits[..5 - zeros]);
    Some(zip)
}

/// `country`: ISO 3166-1 alpha-2, lowercase.
pub fn country(s: &str) -> Result<String, String> {
    named_country(s)
        .map(|c| c.alpha2.to_ascii_lowercase())
        .ok_or_else(|| "not a country name or ISO code Meta knows".to_string())
}

/// The country a value names, in every form [`country`] reads: a
/// contact's country so named decides how its phone numbers, dates,
/// states and postal codes are read too.
pub fn named_country(s: &str) -> Option<&'static Country> {
    // Most values are a code or a name as written: read once.
    if let Some(named) = regions::country(s) {
        return Some(named);
    }
    let s = ascii_forms(s);
    regions::country(&s)
        .or_else(|| flag(&s))
        .or_else(|| {
            // A name and a code of one country together (`Germany (DE)`,
            // `US - United States`), as a form's list of countries writes it.
            let (head, tail) = head_and_tail(&s)?;
            let named = regions::country(head)?;
            (regions::country(tail)?.alpha2 == named.alpha2).then_some(named)
        })
        // An ampersand for "and" (`Saint Kitts & Nevis`, `Sao Tome &
        // Principe`), as short lists of countries write it.
        .or_else(|| {
            let named = s.contains('&') && s.chars().any(char::is_alphabetic);
            regions::country(&named.then(|| s.replace('&', " and "))?)
        })
}

/// The country of a flag emoji (`🇩🇪`): two regional indicator symbols,
/// which spell its alpha-2 code.
fn flag(s: &str) -> Option<&'static Country> {
    let letter = |c: char| {
        let offset = u32::from(c).checked_sub(0x1F1E6).filter(|&o| o < 26)?;
        Some(b'A' + offset as u8)
    };
    let mut chars = s.trim().chars();
    let code = [letter(chars.next()?)?, letter(chars.next()?)?];
    if chars.next().is_some() {
        return None;
    }
    regions::by_alpha2(std::str::from_utf8(&code).ok()?)
}

/// `client_ip_address`: a valid IPv4 or IPv6 address on the public
/// internet. Servers and proxies record it in forms Meta does not read,
/// which are cut to the address: with a port (`203.0.113.7:51234`,
/// `[2001:db8::1]:443`), in brackets, as an `X-Forwarded-For` list
/// (`203.0.113.7, 10.0.0.2`) or a `Forwarded` header's `for=`
/// (`for="[2001:db8::1]:4711";proto=https`). Of a list, the first address
/// on the public internet is the customer's (the ones before it are their
/// own network's, the ones after it proxies'). A private, loopback or
/// link-local address is the platform's network, not the customer's as the
/// internet sees it: it is dropped, as Meta's parameter builder drops it.
/// An address Meta's parameter builder wrote, with its appendix
/// (`203.0.113.7.AQQAAQAA`), is sent as written, as the builder sends it.
pub fn ip_address(s: &str) -> Result<String, String> {
    const PRIVATE: &str = "a private network's address (or a loopback or link-local one), not the customer's as the internet sees it: have the platform record the visitor's public address (the first of X-Forwarded-For)";
    let (address, appendix) = match s.rsplit_once('.') {
        Some((address, appendix)) if builder_appendix(appendix) => (address, Some(appendix)),
        _ => (s, None),
    };
    if let Some(ip) = plain_ip(address) {
        if !public(ip) {
            return Err(PRIVATE.into());
        }
        return Ok(match appendix {
            Some(appendix) => format!("{}.{appendix}", canonical(ip)),
            None => written(s, ip),
        });
    }
    let mut private = false;
    for entry in s.split([',', ';']) {
        let entry = trim(entry);
        let entry = match entry.get(..4) {
            Some(name) if name.eq_ignore_ascii_case("for=") => &entry[4..],
            _ => entry,
        };
        let entry = entry.trim_matches('"');
        let Some(ip) = plain_ip(entry).or_else(|| without_port(entry)) else {
            continue;
        };
        if public(ip) {
            return Ok(canonical(ip));
        }
        private = true;
    }
    Err(if private {
        PRIVATE
    } else {
        "not an IPv4 or IPv6 address"
    }
    .into())
}

/// Whether `part` is the appendix Meta's parameter builder puts after the
/// values it writes (`Ag`, `AQQAAQAA`): two or eight characters of
/// base64url, the first a letter, so never an address's last part.
fn builder_appendix(part: &str) -> bool {
    matches!(part.len(), 2 | 8)
        && part.as_bytes()[0].is_ascii_alphabetic()
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn plain_ip(s: &str) -> Option<std::net::IpAddr> {
    s.parse().ok()
}

/// `ip` as Meta reads it, written from `text`, which parsed to it.
fn written(text: &str, ip: std::net::IpAddr) -> String {
    match ip {
        // The parser takes only the dotted form with no leading zeros, which
        // is how an IPv4 address is written back: the text is kept rather
        // than formatted again.
        std::net::IpAddr::V4(_) => text.to_string(),
        ip => canonical(ip),
    }
}

/// `ip` in its one canonical form: IPv6 as RFC 5952 writes it (lowercase,
/// zeros compressed), and an IPv4 address that a dual-stack server
/// recorded as IPv6 (`::ffff:203.0.113.7`) as the IPv4 address it is,
/// which is what the customer's browser showed the Pixel.
fn canonical(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        v4 => v4.to_string(),
    }
}

/// The address of `host:port`, `[v6]:port` or `[v6]`.
fn without_port(s: &str) -> Option<std::net::IpAddr> {
    if let Some(rest) = s.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| !p.is_empty() && p.parse::<u16>().is_ok());
        return v6
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .filter(|_| port_ok)
            .map(Into::into);
    }
    // One colon: an IPv4 address and its port (IPv6 has at least two).
    let (v4, port) = s.split_once(':')?;
    port.parse::<u16>().ok()?;
    v4.parse::<std::net::Ipv4Addr>().ok().map(Into::into)
}

/// Whether `ip` can be a customer's address as a server on the internet
/// sees it: not a private, shared (carrier-grade NAT), loopback, link-local
/// or unspecified one. The documentation ranges count as public, as
/// examples use them.
fn public(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (a == 100 && (64..128).contains(&b)))
        }
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public(v4.into()),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80)
            }
        },
    }
}

/// `fbc`: `fb.{subdomain index}.{creation time ms}.{fbclid}`; the fbclid is
/// case sensitive and kept as is.
pub fn fbc(s: &str) -> Result<String, String> {
    cookie(s, "fbc", |rest| {
        !rest.is_empty() && !rest.contains(char::is_whitespace)
    })
}

/// `fbp`: `fb.{subdomain index}.{creation time ms}.{random number}`, and
/// the appendix Meta's parameter builder adds to the cookies it writes
/// (`fb.1.1596403881668.1116446470.Ag`: base64url naming the builder),
/// which Meta reads.
pub fn fbp(s: &str) -> Result<String, String> {
    cookie(s, "fbp", |rest| {
        let (random, appendix) = match rest.split_once('.') {
            Some((random, appendix)) => (random, Some(appendix)),
            None => (rest, None),
        };
        !random.is_empty()
            && random.bytes().all(|b| b.is_ascii_digit())
            && appendix.is_none_or(builder_appendix)
    })
}

fn cookie(s: &str, what: &str, last_ok: impl Fn(&str) -> bool) -> Result<String, String> {
    let mut parts = s.splitn(4, '.');
    let ok = parts.next() == Some("fb")
        && parts.next().is_some_and(|i| matches!(i, "0" | "1" | "2"))
        && parts.next().is_some_and(|t| {
            t.len() >= 10 && t.len() <= 13 && t.bytes().all(|b| b.is_ascii_digit())
        })
        && parts.next().is_some_and(&last_ok);
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "not a well-formed {what} (fb.<index>.<time ms>.<{}>)",
            if what == "fbc" { "fbclid" } else { "random" }
        ))
    }
}

/// The `fbc` value for a landing URL carrying `fbclid`, or `None`. The
/// subdomain index is 1 (the registrable domain, as the Pixel writes it).
pub fn fbc_from_url(url: &str, time_ms: i64) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "fbclid" && !v.is_empty()).then(|| format!("fb.1.{time_ms}.{v}"))
    })
}

fn digits_id(s: &str) -> Result<String, String> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_string())
    } else {
        Err("this id is a number (digits only)".into())
    }
}

fn raw_id(s: &str) -> Result<String, String> {
    if s.chars().any(char::is_control) {
        Err("contains control characters".into())
    } else {
        Ok(s.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_district_s_roman_numeral_is_read_only_as_numerals_are_written() {
        let units = ["", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"];
        for n in 1..=39 {
            let numeral = format!("{}{}", "X".repeat(n / 10), units[n % 10]);
            assert!(roman_up_to_39(&numeral), "{numeral} ({n})");
        }
        for not_one in ["", "IIII", "VV", "IL", "XL", "XXXX", "IIX", "VX", "XIIII"] {
            assert!(!roman_up_to_39(not_one), "{not_one}");
        }
    }

    #[test]
    fn postal_tables_are_searchable_as_written() {
        // Searched by halves: out of order, a country's format goes unseen.
        assert!(POSTAL_FORMATS.windows(2).all(|pair| pair[0].0 < pair[1].0));
        for (alpha2, _) in POSTAL_PREFIXES {
            let country = regions::by_alpha2(alpha2).expect("a known country");
            assert!(postal_format(country).is_some(), "{alpha2} has no format");
        }
        // The first label a value starts with is removed: a shorter one
        // first would leave the rest of a longer one (`code` of `zip code`).
        for (i, long) in POSTAL_LABELS.iter().enumerate() {
            for short in &POSTAL_LABELS[..i] {
                assert!(!long.starts_with(short), "`{short}` before `{long}`");
            }
        }
    }

    #[test]
    fn no_month_word_hides_another_months() {
        // The first start that a word begins with decides its month: one
        // that began another month's start would take that month's words.
        for (i, (a, month_a)) in MONTHS.iter().enumerate() {
            for (b, month_b) in &MONTHS[i + 1..] {
                assert!(
                    month_a == month_b || !(b.starts_with(a) || a.starts_with(b)),
                    "`{a}` ({month_a}) and `{b}` ({month_b})"
                );
            }
        }
        // Each language's twelve months, written out, read as their number.
        let years = [
            (
                "GB",
                "January February March April May June July August September October November December",
            ),
            (
                "DE",
                "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
            ),
            (
                "FR",
                "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
            ),
            (
                "ES",
                "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
            ),
            (
                "PT",
                "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
            ),
            (
                "IT",
                "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
            ),
            (
                "NL",
                "januari februari maart april mei juni juli augustus september oktober november december",
            ),
            (
                "SE",
                "januari februari mars april maj juni juli augusti september oktober november december",
            ),
            (
                "PL",
                "stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października listopada grudnia",
            ),
            (
                "TR",
                "ocak şubat mart nisan mayıs haziran temmuz ağustos eylül ekim kasım aralık",
            ),
            (
                "HU",
                "január február március április május június július augusztus szeptember október november december",
            ),
            (
                "RU",
                "января февраля марта апреля мая июня июля августа сентября октября ноября декабря",
            ),
            (
                "TH",
                "มกราคม กุมภาพันธ์ มีนาคม เมษายน พฤษภาคม มิถุนายน กรกฎาคม สิงหาคม กันยายน ตุลาคม พฤศจิกายน ธันวาคม",
            ),
        ];
        for (country, months) in years {
            let country = regions::by_alpha2(country).unwrap();
            let months: Vec<&str> = months.split(' ').collect();
            assert_eq!(months.len(), 12);
            for (i, month) in months.iter().enumerate() {
                assert_eq!(
                    date_of_birth(&format!("2 {month} 1990"), country, None),
                    Ok(format!("1990{:02}02", i + 1)),
                    "{month}"
                );
            }
        }
    }

    #[test]
    fn digests_are_written_as_lowercase_hex() {
        let mut bytes = [0u8; 32];
        // Every byte value at every position.
        for round in 0..=255u8 {
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = round.wrapping_add(i as u8);
            }
            let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let digest = Sha256Digest(bytes);
            assert_eq!(std::str::from_utf8(&digest.hex()).unwrap(), expected);
            assert_eq!(digest.to_string(), expected);
            assert_eq!(Sha256Digest::from_hex(&expected), Some(digest));
        }
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn an_ip_address_is_written_as_its_parsed_form() {
        let mut texts: Vec<String> = [
            "0.0.0.0",
            "255.255.255.255",
            "203.0.113.9",
            "01.2.3.4",
            "1.2.3.04",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "2001:DB8::1",
            "2001:db8:0:0:0:0:0:1",
            "::ffff:1.2.3.4",
            "::1",
            "fe80::1%eth0",
        ]
        .map(String::from)
        .into();
        for a in [0, 1, 9, 10, 99, 100, 199, 200, 249, 255] {
            for b in [0, 7, 64, 255] {
                texts.push(format!("{a}.{b}.{a}.{b}"));
                texts.push(format!("{a}.0{b}.1.1"));
            }
        }
        for text in texts {
            let parsed = text
                .parse::<std::net::IpAddr>()
                .ok()
                .filter(|ip| public(*ip));
            assert_eq!(ip_address(&text).ok(), parsed.map(canonical), "{text}");
        }
        assert_eq!(ip_address("::ffff:1.2.3.4").as_deref(), Ok("1.2.3.4"));
    }

    #[test]
    fn an_address_meta_s_parameter_builder_wrote_keeps_its_appendix() {
        for (written, sent) in [
            ("8.8.8.8.AQQAAQAA", "8.8.8.8.AQQAAQAA"),
            ("2001:4860:4860::8888.Ag", "2001:4860:4860::8888.Ag"),
            (
                "2001:4860:4860:0::8888.AQQCAQAA",
                "2001:4860:4860::8888.AQQCAQAA",
            ),
        ] {
            assert_eq!(ip_address(written).as_deref(), Ok(sent), "{written}");
        }
        // A fifth number, or a word, is no appendix.
        for not_one in ["8.8.8.8.8", "8.8.8.8.abc", "8.8.8.8.A", "8.8.8.8.8g"] {
            assert!(ip_address(not_one).is_err(), "{not_one}");
        }
    }

    #[test]
    fn a_forwarded_list_gives_its_first_public_address() {
        for (list, customer) in [
            ("100.64.0.9, 203.0.113.7", "203.0.113.7"),
            ("127.0.0.1,169.254.1.1 , 198.51.100.4", "198.51.100.4"),
            ("fd00::1, fe80::2, ::1, 2001:db8::2", "2001:db8::2"),
            ("::ffff:10.0.0.1, [::ffff:203.0.113.7]:80", "203.0.113.7"),
            ("For=192.0.2.60;proto=http, for=unknown", "192.0.2.60"),
        ] {
            assert_eq!(ip_address(list).as_deref(), Ok(customer), "{list}");
        }
        // Private addresses only: the platform's network, not the
        // customer's, and the reason says so.
        for private in [
            "_hidden, 10.1.2.3:8080, 172.31.0.1",
            "10.0.0.1",
            "::1",
            "[fe80::1]:443",
            "192.168.1.1.Ag",
        ] {
            let why = ip_address(private).unwrap_err();
            assert!(why.contains("private network"), "{private}: {why}");
        }
        for not_one in [
            "1.2.3.4:",
            "[2001:db8::1",
            "[1.2.3.4]:80",
            "2001:db8::1:80:",
            ", ,",
        ] {
            assert!(ip_address(not_one).is_err(), "{not_one}");
        }
    }

    #[test]
    fn the_quick_trim_trims_as_str_trim_does() {
        for s in [
            "",
            " ",
            "a",
            "ab",
            " a",
            "a ",
            " a b ",
            "\u{b}a",
            "a\u{b}",
            "\u{85}a",
            "a\u{a0}",
            "\u{3000}名前\u{3000}",
            "é",
            " é ",
            "\t\n",
            "x\u{2028}",
            "\u{feff}a",
            "a\u{200b}",
            "\u{200e}\u{202a}a b\u{202c}",
            "\u{feff}",
        ] {
            let general = s.trim_matches(|c: char| c.is_whitespace() || invisible(c));
            assert_eq!(trim(s), general, "{s:?}");
            assert_eq!(is_blank(s), general.is_empty(), "{s:?}");
        }
        assert_eq!(trim("\u{feff} a\u{200b}b \u{200b}"), "a\u{200b}b");
    }

    fn at(alpha2: &str) -> Locale {
        Locale::for_contact(Some(alpha2), "US")
    }

    fn norm(key: UserKey, raw: &str, country: &str) -> Result<String, String> {
        normalize(key, raw, &at(country)).map(|n| match n {
            Normalized::Plain(p) => p,
            Normalized::Hashed(h) => h,
        })
    }

    #[test]
    fn reference_examples() {
        let cases = [
            (
                UserKey::Em,
                " John.Doe@Example.COM ",
                "US",
                "john.doe@example.com",
            ),
            (UserKey::Em, "tést@gmail.com", "US", "tést@gmail.com"),
            (UserKey::Ph, "+1 (650) 555-1212", "US", "16505551212"),
            (UserKey::Ph, "(650) 555-1212", "US", "16505551212"),
            (UserKey::Ph, "020 7946 0018", "GB", "442079460018"),
            (UserKey::Ph, "+44 (0)20 7946 0018", "GB", "442079460018"),
            (UserKey::Ph, "0044 20 7946 0018", "US", "442079460018"),
            (UserKey::Ph, "06 12 34 56 78", "FR", "33612345678"),
            (UserKey::Ph, "06 1234 5678", "IT", "390612345678"),
            (UserKey::Ph, "(650) 555-1212 ext. 42", "US", "16505551212"),
            (UserKey::Fn, "Mary Ann", "US", "maryann"),
            (UserKey::Ln, "O'Brien", "US", "obrien"),
            (UserKey::Fn, "José", "US", "josé"),
            (UserKey::Ge, "Female", "US", "f"),
            (UserKey::Ge, "M", "US", "m"),
            (UserKey::Db, "1990-05-26", "US", "19900526"),
            (UserKey::Db, "1990/05/26", "US", "19900526"),
            (UserKey::Db, "19900526", "US", "19900526"),
            (UserKey::Db, "05/26/1990", "US", "19900526"),
            (UserKey::Db, "26/05/1990", "GB", "19900526"),
            (UserKey::Db, "26 May 1990", "GB", "19900526"),
            (UserKey::Db, "May 26, 1990", "US", "19900526"),
            (UserKey::Ct, "Menlo Park", "US", "menlopark"),
            (UserKey::Ct, "São Paulo", "BR", "sãopaulo"),
            (UserKey::St, "California", "US", "ca"),
            (UserKey::St, "Bavaria", "DE", "bavaria"),
            (UserKey::Zp, "94025-1234", "US", "94025"),
            (UserKey::Zp, "SW1A 1AA", "GB", "sw1a1aa"),
            (UserKey::Country, "United States", "US", "us"),
            (UserKey::Country, "U.S.A.", "US", "us"),
            (UserKey::Country, "Great Britain", "US", "gb"),
            (UserKey::ClientIpAddress, "2001:db8::1", "US", "2001:db8::1"),
            (
                UserKey::Fbc,
                "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890",
                "US",
                "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890",
            ),
            (
                UserKey::Fbp,
                "fb.1.1596403881668.1116446470",
                "US",
                "fb.1.1596403881668.1116446470",
            ),
        ];
        for (key, raw, country, expected) in cases {
            assert_eq!(
                norm(key, raw, country).as_deref(),
                Ok(expected),
                "{key:?} {raw:?} {country}"
            );
        }
    }

    #[test]
    fn invalid_values_are_refused_with_a_reason() {
        let cases = [
            (UserKey::Em, "not-an-email"),
            (UserKey::Em, "a@b"),
            (UserKey::Ph, "12"),
            (UserKey::Ph, "+1234567890123456789"),
            (UserKey::Ge, "other"),
            (UserKey::Db, "1990-02-30"),
            (UserKey::Db, "13/13/1990"),
            (UserKey::Db, "26/05/90"),
            (UserKey::Country, "Narnia"),
            (UserKey::St, "Bavaria"),
            (UserKey::ClientIpAddress, "300.1.1.1"),
            (UserKey::Fbc, "fb.1.abc.def"),
            (UserKey::Fbp, "fb.1.1596403881668.abc"),
            (UserKey::Fn, "  "),
            (
                UserKey::Fbc,
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            ),
        ];
        for (key, raw) in cases {
            let r = norm(key, raw, "US");
            assert!(r.is_err(), "{key:?} {raw:?} gave {r:?}");
            assert!(!r.unwrap_err().is_empty());
        }
    }

    #[test]
    fn a_number_written_with_letters_is_said_to_need_digits() {
        for (raw, country) in [("1-800-FLOWERS", "US"), ("+1 800 FLOWERS", "GB")] {
            let why = norm(UserKey::Ph, raw, country).unwrap_err();
            assert!(why.contains("write the number in digits"), "{raw}: {why}");
        }
        // A label around a number is no vanity number, and a number too
        // short without letters is not said to have any.
        assert_eq!(
            norm(UserKey::Ph, "650 555 1212 mobile", "US"),
            Ok("16505551212".to_string())
        );
        assert!(
            !norm(UserKey::Ph, "Tel: 12", "US")
                .unwrap_err()
                .contains("letters")
        );
    }

    #[test]
    fn a_date_a_spreadsheet_wrote_as_its_serial_number_is_said_so() {
        for raw in ["32999", "10000", "73050"] {
            let why = norm(UserKey::Db, raw, "US").unwrap_err();
            assert!(why.contains("serial number"), "{raw}: {why}");
        }
        for raw in ["09999", "73051", "1990"] {
            let why = norm(UserKey::Db, raw, "US").unwrap_err();
            assert!(!why.contains("serial number"), "{raw}: {why}");
        }
    }

    #[test]
    fn a_phone_number_a_spreadsheet_wrote_in_scientific_notation_is_said_so() {
        for raw in ["6.50555E+9", "1,65055512E+10", "4.47946E+11", "6E9"] {
            let why = norm(UserKey::Ph, raw, "US").unwrap_err();
            assert!(why.contains("scientific notation"), "{raw}: {why}");
        }
        // With every digit still there, it is read.
        for raw in ["6.505551212E+09", "1,6505551212e10"] {
            assert_eq!(
                norm(UserKey::Ph, raw, "US"),
                Ok("16505551212".to_string()),
                "{raw}"
            );
        }
        for raw in ["+1 650 555 1212 ext 9", "650-555-1212 e"] {
            assert!(
                norm(UserKey::Ph, raw, "US").is_ok(),
                "{raw} is not in scientific notation"
            );
        }
    }

    #[test]
    fn a_field_is_split_only_where_every_part_is_a_whole_value() {
        let items = |key, raw| list_items(key, raw).map(Iterator::collect::<Vec<_>>);
        assert_eq!(
            items(UserKey::Em, "a@example.com, b@example.com;"),
            Some(vec!["a@example.com", " b@example.com"])
        );
        assert_eq!(
            items(UserKey::Ph, "+1 650 555 1212; ٠١٠٠ ١٢٣ ٤٥٦٧"),
            Some(vec!["+1 650 555 1212", " ٠١٠٠ ١٢٣ ٤٥٦٧"])
        );
        for (key, raw) in [
            // A display name's comma, an address alone.
            (UserKey::Em, "\"Doe, John\" <john@example.com>"),
            (UserKey::Em, "john@example.com,"),
            // An area code's slash, a dial string's pause, an extension.
            (UserKey::Ph, "030/1234567"),
            (UserKey::Ph, "5551212,,123"),
            (UserKey::Ph, "650 555 1212, ext. 12"),
            // Keys that take one value, or whose commas are their own.
            (UserKey::Fn, "Ada, Augusta"),
            (UserKey::Ct, "Washington, D.C."),
        ] {
            assert_eq!(items(key, raw), None, "{raw}");
        }
    }

    #[test]
    fn hashes_pass_through_once() {
        let h = sha256_hex("john.doe@example.com");
        assert_eq!(
            h,
            "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f"
        );
        let upper = h.to_ascii_uppercase();
        assert_eq!(
            normalize(UserKey::Em, &upper, &at("US")),
            Ok(Normalized::Hashed(h.clone()))
        );
        assert_eq!(Normalized::Hashed(h.clone()).hash(), h);
        let digest = Sha256Digest::of("john.doe@example.com");
        assert_eq!(
            Normalized::Hashed(h.clone()).digest(),
            Some(digest),
            "a hash the platform had is the same digest as the value's"
        );
        assert_eq!(Sha256Digest::from_hex(&upper), Some(digest), "any case");
        assert_eq!(digest.to_string(), h, "written lowercase");
        for bad in ["", "836f", &h[1..], &format!("{}g", &h[1..])] {
            assert_eq!(Sha256Digest::from_hex(bad), None, "{bad}");
        }
    }

    #[test]
    fn fbc_from_landing_url_keeps_case() {
        assert_eq!(
            fbc_from_url(
                "https://shop.example/?utm=x&fbclid=IwAR2xYz&b=1",
                1700000000000
            )
            .as_deref(),
            Some("fb.1.1700000000000.IwAR2xYz")
        );
        assert_eq!(fbc_from_url("https://shop.example/?a=b", 1), None);
    }
}
