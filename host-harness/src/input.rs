//! The input files: read as the text they hold, and their problems
//! located. Every problem with a file names the file, the line and the
//! field, so the user can fix it without searching.

mod gzip;
mod text;
mod utf16;

pub use text::Text;

use serde::Serialize;
use std::fmt;
use std::path::Path;

/// One problem with an input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputError {
    /// The file.
    pub file: String,
    /// 1-based line, when the problem has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The field (column, key or settings path), when the problem has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl InputError {
    /// A problem at `file`, `line`, `field`.
    pub fn new(
        file: &Path,
        line: Option<usize>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        InputError {
            file: file.display().to_string(),
            line,
            field: field.map(str::to_string),
            message: message.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for InputError {}

/// The problems of one file: the first [`Problems::KEPT`] of them, those
/// said once for the whole file, and how many more. A file whose every row is broken (a million rows each with
/// a field the header lacks) is said in full to its first problems, and
/// counted beyond: a run does not hold, nor write into its report, a
/// million copies of one mistake.
#[derive(Debug, Default)]
pub struct Problems {
    kept: Vec<InputError>,
    more: usize,
}

impl Problems {
    /// The problems of a file kept in full, at most.
    pub const KEPT: usize = 10_000;

    /// Notes a problem: kept while there are fewer than [`Problems::KEPT`],
    /// counted after.
    pub fn push(&mut self, problem: InputError) {
        if self.kept.len() < Self::KEPT {
            self.kept.push(problem);
        } else {
            self.more += 1;
        }
    }

    /// Notes a problem said once for the whole file (its encoding, a
    /// mistake its every row repeats): kept past [`Problems::KEPT`] too, as
    /// it explains the rest.
    pub fn push_summary(&mut self, problem: InputError) {
        self.kept.push(problem);
    }

    /// The problems kept, in line order, and one more at the start, for
    /// `path`, that says how many were not kept.
    pub fn into_sorted(self, path: &Path) -> Vec<InputError> {
        let mut kept = self.kept;
        kept.sort_by_key(|e| e.line);
        if self.more > 0 {
            kept.insert(
                0,
                InputError::new(
                    path,
                    None,
                    None,
                    format!(
                        "{} problems in all, of which the first {} and those said once for the \
                         whole file are listed; {} more are not",
                        kept.len() + self.more,
                        Self::KEPT,
                        self.more
                    ),
                ),
            );
        }
        kept
    }
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The UTF-8 byte-order mark some editors and spreadsheet exports put
/// first in a file.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Whether a file starting with `head` is UTF-16 text rather than UTF-8:
/// it starts with UTF-16's byte-order mark, or its first character has a
/// zero byte beside it, which UTF-8 text never has.
pub fn is_utf16(head: &[u8]) -> bool {
    match head {
        [0xFF, 0xFE, ..] | [0xFE, 0xFF, ..] => true,
        [a, b, ..] => (*a == 0) != (*b == 0),
        _ => false,
    }
}

/// `bytes` compressed with gzip, as test files are.
#[cfg(test)]
pub(crate) fn gzipped(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The problem with a file starting with `head` that is no text at all: a
/// workbook, a document, an archive or other binary data passed where a
/// CSV or JSON file goes. Said once for the file, where its bytes would
/// otherwise be quoted back as a header row's column names or line after
/// line of invalid JSON.
pub fn not_text(path: &Path, head: &[u8]) -> Option<InputError> {
    let what = match head {
        [b'P', b'K', 3, 4, ..] => {
            "a ZIP archive, as an Excel (.xlsx), Numbers or OpenDocument workbook is"
        }
        [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, ..] => {
            "an Excel 97–2003 workbook (.xls) or another Office document of that format"
        }
        [b'%', b'P', b'D', b'F', b'-', ..] => "a PDF document",
        [0x1F, 0x8B, ..] => "gzip-compressed",
        [b'B', b'Z', b'h', ..] => "bzip2-compressed",
        [0xFD, b'7', b'z', b'X', b'Z', 0, ..] => "xz-compressed",
        [0x28, 0xB5, 0x2F, 0xFD, ..] => "zstd-compressed",
        _ if !is_utf16(head) && head.contains(&0) => {
            "binary data (it has zero bytes, which text never has)"
        }
        _ => return None,
    };
    Some(InputError::new(
        path,
        None,
        None,
        format!(
            "the file is {what}, not text: inputs are CSV or JSON text; save a workbook's \
             sheet as \"CSV UTF-8\", and decompress a compressed file first"
        ),
    ))
}

/// Reads a file as UTF-8 text (a byte-order mark is dropped, UTF-16 text
/// decoded), or says why not.
pub fn read_text(path: &Path) -> Result<String, InputError> {
    let mut bytes = std::fs::read(path)
        .map_err(|e| InputError::new(path, None, None, format!("cannot read the file: {e}")))?;
    if let Some(problem) = not_text(path, &bytes[..bytes.len().min(8192)]) {
        return Err(problem);
    }
    if is_utf16(&bytes) {
        return Ok(utf16::decode(&bytes));
    }
    if bytes.starts_with(BOM) {
        bytes.drain(..BOM.len());
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = line_of(&String::from_utf8_lossy(&e.as_bytes()[..offset]), offset);
        InputError::new(path, Some(line), None, "the file is not valid UTF-8 text")
    })
}

/// One non-blank line of a file.
#[derive(Debug, PartialEq)]
pub struct Line<'a> {
    /// 1-based line number.
    pub number: usize,
    /// Byte offset of the line's start in the file.
    pub offset: u64,
    /// The text without its line ending; `Err` when it is not UTF-8, so
    /// that one broken line does not stop the others.
    pub text: Result<&'a str, ()>,
}

/// The non-blank lines of a file, read one at a time: a run holds one line
/// of a large file, not the file. A leading byte-order mark is not part of
/// line 1.
pub struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    number: usize,
    offset: u64,
}

impl Lines<std::io::BufReader<std::fs::File>> {
    /// The lines of the file at `path`.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        Lines::new(std::io::BufReader::new(std::fs::File::open(path)?))
    }
}

impl<R: std::io::BufRead> Lines<R> {
    /// The lines `reader` gives, from its start.
    pub fn new(mut reader: R) -> std::io::Result<Self> {
        let offset = if reader.fill_buf()?.starts_with(BOM) {
            reader.consume(BOM.len());
            BOM.len() as u64
        } else {
            0
        };
        Ok(Lines {
            reader,
            buf: Vec::new(),
            number: 0,
            offset,
        })
    }

    /// The lines `reader` gives, which starts at byte `offset` of a file
    /// after `lines_before` lines of it (blank ones included).
    pub fn starting_at(reader: R, offset: u64, lines_before: usize) -> Self {
        Lines {
            reader,
            buf: Vec::new(),
            number: lines_before,
            offset,
        }
    }

    /// The bytes ahead, without reading past them (none at the end).
    pub fn peek(&mut self) -> std::io::Result<&[u8]> {
        self.reader.fill_buf()
    }

    /// The next non-blank line, or `None` at the end of the file.
    pub fn next_line(&mut self) -> Option<std::io::Result<Line<'_>>> {
        loop {
            self.buf.clear();
            let read = match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(n) => n,
                Err(e) => return Some(Err(e)),
            };
            self.number += 1;
            let offset = self.offset;
            self.offset += read as u64;
            let mut bytes = self.buf.as_slice();
            bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
            bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
            let text = std::str::from_utf8(bytes).map_err(|_| ());
            if text.is_ok_and(|t| t.trim().is_empty()) {
                continue;
            }
            // Decoded again to hand out a borrow of the buffer itself.
            let end = bytes.len();
            let text = std::str::from_utf8(&self.buf[..end]).map_err(|_| ());
            return Some(Ok(Line {
                number: self.number,
                offset,
                text,
            }));
        }
    }
}

/// A 64-bit fingerprint of an id, the same in every run: what the run
/// keeps per record instead of the id itself. Two ids may share one, so a
/// match is always confirmed on the ids themselves.
pub fn fingerprint(id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

/// Why a line is not one JSON value, in the user's words: a value nested
/// deeper than the reader follows is valid JSON, and is said to be too deep.
pub fn json_problem(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.strip_prefix("recursion limit exceeded") {
        Some(at) => format!("nested more than 128 levels deep{at}"),
        None => format!("not valid JSON: {text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workbook_document_or_archive_is_said_to_be_no_text() {
        let path = Path::new("contacts.csv");
        for (head, what) in [
            (
                &b"PK\x03\x04\x14\x00\x06\x00"[..],
                "a ZIP archive, as an Excel (.xlsx)",
            ),
            (
                b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00",
                "an Excel 97–2003 workbook (.xls)",
            ),
            (b"%PDF-1.7\n", "a PDF document"),
            (b"\x1F\x8B\x08\x00", "gzip-compressed"),
            (b"BZh91AY", "bzip2-compressed"),
            (b"\xFD7zXZ\x00\x00", "xz-compressed"),
            (b"\x28\xB5\x2F\xFD", "zstd-compressed"),
            (b"id,email\nc1,\x00\x00", "binary data (it has zero bytes"),
        ] {
            let problem = not_text(path, head).expect(what).to_string();
            assert!(
                problem.starts_with(&format!("contacts.csv: the file is {what}")),
                "{problem}"
            );
            assert!(
                problem.contains("save a workbook's sheet as \"CSV UTF-8\""),
                "{problem}"
            );
        }
        // Text, of any encoding, is text.
        for head in [
            &b"id,email\nc1,a@x.com\n"[..],
            b"\xEF\xBB\xBFid\n",
            b"id,name\nc1,M\xFCller\n",
            b"\xFF\xFEi\x00d\x00",
            b"i\x00d\x00",
            b"",
            b"PK",
        ] {
            assert_eq!(not_text(path, head), None, "{head:?}");
        }
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_line() {
        let text = b"\xEF\xBB\xBF{\"a\":1}\r\n\n \n{\"b\":2}\n\xff\n{\"c\":3}";
        let mut lines = Lines::new(&text[..]).unwrap();
        let mut got = Vec::new();
        while let Some(line) = lines.next_line() {
            let line = line.unwrap();
            got.push((line.number, line.offset, line.text.map(str::to_string)));
        }
        assert_eq!(
            got,
            [
                (1, 3, Ok("{\"a\":1}".to_string())),
                (4, 15, Ok("{\"b\":2}".to_string())),
                (5, 23, Err(())),
                (6, 25, Ok("{\"c\":3}".to_string())),
            ]
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.json");
        std::fs::write(&path, b"\xEF\xBB\xBF[1]").unwrap();
        assert_eq!(read_text(&path).unwrap(), "[1]");
    }
}
