//! Contacts files in UTF-16, as Excel's "Unicode Text" (the one way an
//! older Excel saves names of every script) and Windows PowerShell's `>`
//! write them. The book reads a UTF-8 copy: it finds contacts again by
//! their byte offsets, as in any other file, and every line keeps its
//! number.

use encoding_rs::{CoderResult, UTF_16BE, UTF_16LE};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
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
    let encoding = match input[..filled.min(2)] {
        [0xFE, 0xFF] | [0, _] => UTF_16BE,
        _ => UTF_16LE,
    };
    let mut decoder = encoding.new_decoder_with_bom_removal();
    let (out, copy) = tempfile::NamedTempFile::new()?.into_parts();
    let mut out = BufWriter::new(out);
    let mut text = String::with_capacity(
        decoder
            .max_utf8_buffer_length(input.len())
            .unwrap_or(input.len() * 3),
    );
    loop {
        let last = filled == 0;
        let (result, _, _) = decoder.decode_to_string(&input[..filled], &mut text, last);
        // The buffer holds a whole chunk's text, so the chunk is read.
        debug_assert_eq!(result, CoderResult::InputEmpty);
        out.write_all(text.as_bytes())?;
        text.clear();
        if last {
            break;
        }
        filled = read_some(&mut file, &mut input)?;
    }
    out.flush()?;
    Ok(copy)
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
