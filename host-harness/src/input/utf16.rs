//! Input files in UTF-16, as Excel's "Unicode Text" (the one way an older
//! Excel saves names of every script), Windows PowerShell's `>` and
//! Notepad's "Unicode" write them. A large file (contacts, firings) is read
//! from a UTF-8 copy, where records are found again by their byte offsets
//! as in any other file; a small one (a workflow) is decoded in memory.
//! Either way every line keeps its number.

use super::text::TextCopy;
use encoding_rs::{CoderResult, Encoding, UTF_16BE, UTF_16LE};
use std::fs::File;
use std::io::Read;
use std::path::Path;
use tempfile::TempPath;

/// A UTF-8 copy of the UTF-16 file at `path`, without its byte-order
/// mark; what is no UTF-16 (half a surrogate pair) reads as U+FFFD. Its
/// byte order is the mark's, or else the one that puts the first
/// character's zero byte where ASCII text has it.
pub(super) fn to_utf8(path: &Path) -> std::io::Result<TempPath> {
    let mut file = File::open(path)?;
    let mut input = vec![0; 64 * 1024];
    let mut filled = read_some(&mut file, &mut input)?;
    let mut decoder = byte_order(&input[..filled]).new_decoder_with_bom_removal();
    let mut out = TextCopy::new()?;
    let mut text = String::with_capacity(
        decoder
            .max_utf8_buffer_length(input.len())
            .unwrap_or(input.len() * 3),
    );
    loop {
        let last = filled == 0;
        let mut at = 0;
        // A chunk's text fits the buffer but for what the chunk before left
        // pending (half a surrogate pair): then it takes a second turn.
        loop {
            let (result, read, _) = decoder.decode_to_string(&input[at..filled], &mut text, last);
            at += read;
            out.write(text.as_bytes())?;
            text.clear();
            if result == CoderResult::InputEmpty {
                break;
            }
        }
        if last {
            break;
        }
        filled = read_some(&mut file, &mut input)?;
    }
    out.finish()
}

/// The text of UTF-16 `bytes`, as [`to_utf8`] copies it.
pub(super) fn decode(bytes: &[u8]) -> String {
    byte_order(bytes)
        .decode_with_bom_removal(bytes)
        .0
        .into_owned()
}

/// UTF-16's byte order for a text starting with `head`.
fn byte_order(head: &[u8]) -> &'static Encoding {
    match head {
        [0xFE, 0xFF, ..] | [0, _, ..] => UTF_16BE,
        _ => UTF_16LE,
    }
}

/// Fills `buf` from `file` as far as it goes; 0 at its end.
fn read_some(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::{decode, to_utf8};

    #[test]
    fn a_large_file_is_copied_whole_across_its_chunks() {
        // Surrogate pairs four bytes long after one of two: chunks of 64 KiB
        // part some of them in the middle.
        let text: String = std::iter::once("a".to_string())
            .chain((0..50_000).map(|i| format!("😀{i}\r\n")))
            .collect();
        for big_endian in [false, true] {
            let mut bytes = Vec::new();
            for unit in std::iter::once(0xFEFF).chain(text.encode_utf16()) {
                bytes.extend_from_slice(&if big_endian {
                    unit.to_be_bytes()
                } else {
                    unit.to_le_bytes()
                });
            }
            let f = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(f.path(), &bytes).unwrap();
            let copy = to_utf8(f.path()).unwrap();
            assert!(
                std::fs::read_to_string(&copy).unwrap() == text,
                "big-endian {big_endian}"
            );
            assert!(decode(&bytes) == text, "big-endian {big_endian}");
        }
    }
}
