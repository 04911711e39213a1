//! Secrets (the access token) in a type that cannot print itself, and the
//! one redaction every string leaving the host passes through: recorded
//! exchanges, reports, the outbox, the console. It replaces the secrets it
//! is given, and the values of the Graph API parameters that carry a
//! credential derived from one (`appsecret_proof`).

use std::borrow::Cow;
use std::fmt;

/// What a secret is replaced with wherever it would appear.
pub const REDACTED: &str = "[redacted]";

/// A secret value. `Debug` and `Display` print `[redacted]`; only
/// [`Secret::expose`] gives the value, for the one place that needs it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Replaces every known secret in text: as written, and in the encoded
/// forms a server or proxy may quote it back in (percent-encoded in a URL,
/// escaped in JSON).
#[derive(Clone, Default)]
pub struct Redactor {
    needles: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} forms of secrets)", self.needles.len())
    }
}

impl Redactor {
    /// A redactor for `secrets` (empty ones are ignored).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Self {
        let mut r = Redactor::default();
        r.extend(secrets);
        r
    }

    /// Adds `secrets`.
    pub fn extend<'a>(&mut self, secrets: impl IntoIterator<Item = &'a Secret>) {
        for s in secrets {
            let value = s.expose();
            if value.is_empty() {
                continue;
            }
            for form in [
                value.to_string(),
                percent_encoded(value),
                serde_json::to_string(value)
                    .map(|q| q[1..q.len() - 1].to_string())
                    .unwrap_or_default(),
            ] {
                if !form.is_empty() && !self.needles.contains(&form) {
                    self.needles.push(form);
                }
            }
        }
        // Longest first, so that a secret containing another is replaced whole.
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    }

    /// Whether there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `text` with every secret replaced by `[redacted]`, and the values
    /// of the parameters that carry a credential (`appsecret_proof`).
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if !self.needles.iter().any(|n| text.contains(n.as_str()))
            && !CREDENTIAL_PARAMS.iter().any(|p| text.contains(p))
        {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_string();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), REDACTED);
            }
        }
        for name in CREDENTIAL_PARAMS {
            redact_parameter(&mut out, name);
        }
        Cow::Owned(out)
    }

    /// The largest cut at or before byte `at` of `bytes` that splits no
    /// secret: what is kept of a text cut there holds each secret whole
    /// (to be redacted) or not at all, never a piece of one.
    pub fn safe_cut(&self, bytes: &[u8], at: usize) -> usize {
        let mut end = at.min(bytes.len());
        // A cut inside a character would be a broken character.
        while end > 0 && end < bytes.len() && bytes[end] & 0xC0 == 0x80 {
            end -= 1;
        }
        // Moving the cut back may split an earlier secret: until none.
        loop {
            let straddling = self
                .needles
                .iter()
                .map(String::as_bytes)
                .filter_map(|n| {
                    (end.saturating_sub(n.len() - 1)..end)
                        .find(|&s| s + n.len() > end && bytes[s..].starts_with(n))
                })
                .min();
            match straddling {
                Some(start) => end = start,
                None => return end,
            }
        }
    }

    /// Redacts `text` in place.
    pub fn scrub(&self, text: &mut String) {
        if let Cow::Owned(clean) = self.redact(text) {
            *text = clean;
        }
    }
}

/// Graph API parameters whose values are credentials derived from secrets
/// the host is not given: `appsecret_proof`, the HMAC of the token under the
/// app's secret, which with the token lets a caller act as the app even
/// when "Require App Secret" is on. What is recorded never keeps them.
const CREDENTIAL_PARAMS: [&str; 1] = ["appsecret_proof"];

/// Replaces in `text` the value of each `name` written as a parameter:
/// `"name":"value"` (JSON, with or without spaces) or `name=value` (a
/// query or a form). `name` elsewhere (in a sentence) is left as it is.
fn redact_parameter(text: &mut String, name: &str) {
    if !text.contains(name) {
        return;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find(name) {
        let (before, after) = rest.split_at(at + name.len());
        out.push_str(before);
        let after_quote = after.strip_prefix('"').unwrap_or(after).trim_start();
        let Some(value) = after_quote
            .strip_prefix([':', '='])
            .map(|v| v.trim_start())
            .map(|v| v.strip_prefix('"').unwrap_or(v))
        else {
            rest = after;
            continue;
        };
        let len = value
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'%'))
            .count();
        // Up to the value, as written; then the value's place.
        out.push_str(&after[..after.len() - value.len()]);
        if len > 0 {
            out.push_str(REDACTED);
        }
        rest = &value[len..];
    }
    out.push_str(rest);
    *text = out;
}

fn percent_encoded(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_secret_proof_is_never_recorded_wherever_it_is_written() {
        let proof = "a1789f09f5908a958518fd703276d56d7344520b4766f297c9940ba1eb4937eb";
        let redactor = Redactor::default();
        for (text, kept) in [
            (
                format!(r#"{{"data":[],"appsecret_proof":"{proof}","partner_agent":"x"}}"#),
                r#"{"data":[],"appsecret_proof":"[redacted]","partner_agent":"x"}"#.to_string(),
            ),
            (
                format!(r#"{{ "appsecret_proof" : "{proof}" }}"#),
                r#"{ "appsecret_proof" : "[redacted]" }"#.to_string(),
            ),
            (
                format!("/v24.0/1/events?appsecret_proof={proof}&x=1"),
                "/v24.0/1/events?appsecret_proof=[redacted]&x=1".to_string(),
            ),
            (
                "API calls from the server require an appsecret_proof argument".to_string(),
                "API calls from the server require an appsecret_proof argument".to_string(),
            ),
        ] {
            assert_eq!(redactor.redact(&text), kept);
        }
    }

    #[test]
    fn a_secret_never_prints_itself() {
        let s = Secret::new("EAAB-token");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
        assert_eq!(format!("{:?}", Some(&s)), "Some([redacted])");
        assert_eq!(s.expose(), "EAAB-token");
    }

    #[test]
    fn every_form_of_a_secret_is_redacted() {
        let r = Redactor::new(&[Secret::new("tok/en+1"), Secret::new("")]);
        assert_eq!(
            r.redact("bad token tok/en+1, url ?access_token=tok%2Fen%2B1"),
            "bad token [redacted], url ?access_token=[redacted]"
        );
        let quoted = serde_json::to_string("tok\"q").unwrap();
        let r = Redactor::new(&[Secret::new("tok\"q")]);
        assert_eq!(r.redact(&quoted), "\"[redacted]\"");
        assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_cut_never_keeps_a_piece_of_a_secret() {
        let token = "EAAB-secret-token-0123456789";
        let r = Redactor::new([&Secret::new(token)]);
        let text = format!("{token} and {token}{token} then {}", percent_encoded(token));
        let bytes = text.as_bytes();
        for at in 0..=bytes.len() {
            let end = r.safe_cut(bytes, at);
            assert!(end <= at);
            let kept = r.redact(std::str::from_utf8(&bytes[..end]).unwrap());
            // No prefix of any form of the token longer than a few bytes
            // survives at the end of what is kept.
            for form in [token.to_string(), percent_encoded(token)] {
                for n in 6..form.len() {
                    assert!(!kept.ends_with(&form[..n]), "cut at {at}: {kept}");
                }
            }
        }
        // Characters are not split either.
        let text = "été";
        assert_eq!(Redactor::default().safe_cut(text.as_bytes(), 1), 0);
    }
}
