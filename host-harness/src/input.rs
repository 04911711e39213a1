//! Bad input, located: every problem with a file names the file, the line
//! and the field, so the user can fix it without searching.

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

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The 1-based line of a slice that borrows from `text`.
pub fn line_of_slice(text: &str, slice: &str) -> usize {
    let offset = (slice.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    line_of(text, offset)
}

/// The UTF-8 byte-order mark some editors and spreadsheet exports put
/// first in a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `bytes` without a leading byte-order mark.
pub fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(BOM).unwrap_or(bytes)
}

/// Reads a file as UTF-8 (a byte-order mark is dropped), or says why not.
pub fn read_text(path: &Path) -> Result<String, InputError> {
    let mut bytes = std::fs::read(path)
        .map_err(|e| InputError::new(path, None, None, format!("cannot read the file: {e}")))?;
    if bytes.starts_with(BOM) {
        bytes.drain(..BOM.len());
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = line_of(&String::from_utf8_lossy(&e.as_bytes()[..offset]), offset);
        InputError::new(path, Some(line), None, "the file is not valid UTF-8 text")
    })
}

/// The non-blank lines of a file, numbered from 1, each decoded on its own:
/// a line that is not UTF-8 is `Err` and the others still read. A leading
/// byte-order mark is not part of line 1.
pub fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, Result<&str, ()>)> {
    without_bom(bytes)
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, l)| {
            (
                i + 1,
                std::str::from_utf8(l.strip_suffix(b"\r").unwrap_or(l)).map_err(|_| ()),
            )
        })
        .filter(|(_, l)| l.as_ref().map_or(true, |t| !t.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_line() {
        let text = b"\xEF\xBB\xBF{\"a\":1}\r\n\n{\"b\":2}\n";
        let got: Vec<_> = lines(text).collect();
        assert_eq!(got, [(1, Ok("{\"a\":1}")), (3, Ok("{\"b\":2}"))]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.json");
        std::fs::write(&path, b"\xEF\xBB\xBF[1]").unwrap();
        assert_eq!(read_text(&path).unwrap(), "[1]");
    }
}
