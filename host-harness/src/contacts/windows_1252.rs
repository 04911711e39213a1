//! Text in Windows-1252, the encoding Excel on Windows writes a "CSV
//! (Comma delimited)" file in for Western European systems: `Müller` is
//! `M\xFCller` there, which is not UTF-8. Read as it was written, the
//! contact keeps its names instead of being lost.

/// The characters of bytes 0x80–0x9F, which Windows-1252 gives letters and
/// punctuation where Latin-1 has control codes (the five it leaves unused
/// read as those controls, as the WHATWG Encoding Standard reads them).
/// Bytes 0xA0–0xFF are the Unicode characters of the same number.
const HIGH_CONTROLS: [char; 32] = [
    '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}', '\u{8F}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}', '\u{178}',
];

use std::borrow::Cow;

/// `bytes` read as Windows-1252 text: every byte is a character.
fn decode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH_CONTROLS[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}

/// A CSV cell's text: UTF-8 as it is, anything else read as Windows-1252;
/// `true` with the text when it was.
pub(super) fn cell_text(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (Cow::Borrowed(text), false),
        Err(_) => (Cow::Owned(decode(bytes)), true),
    }
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn an_excel_export_reads_as_it_was_written() {
        assert_eq!(decode(b"M\xFCller"), "Müller");
        assert_eq!(decode(b"Jos\xE9 Garc\xEDa"), "José García");
        assert_eq!(
            decode(b"Fran\xE7ois \x80 \x93quoted\x94"),
            "François € “quoted”"
        );
        assert_eq!(
            decode(b"\x8Atefan\x9Ak\xE1 \x9Fves \xFF"),
            "Štefanšká Ÿves ÿ"
        );
        assert_eq!(decode(b"plain ASCII"), "plain ASCII");
    }
}
