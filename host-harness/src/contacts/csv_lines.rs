//! Where each CSV row starts, numbered as an editor numbers lines.
//!
//! The `csv` crate's own positions are off in two common cases: a row that
//! ends in `\r\n` (every Windows and Excel export) is emitted at its `\r`,
//! so its `\n` is counted with the next row, which then reports the line
//! before its own; and the blank lines before a row are counted as the
//! row's. [`Raw`] keeps the bytes the parser has read, and [`RowLines`]
//! reads each row's span of them for the line its first field is on.

use std::io::{Read, Seek, SeekFrom};

/// A reader that keeps what it hands out until [`Raw::forget_before`], so
/// the bytes of the row a parser just read can be looked at again.
pub(super) struct Raw<R> {
    inner: R,
    kept: Vec<u8>,
    /// The file offset of `kept[0]`.
    from: u64,
}

impl<R> Raw<R> {
    /// Reads through `inner`, whose next byte is at file offset `at`.
    pub(super) fn new(inner: R, at: u64) -> Self {
        Raw {
            inner,
            kept: Vec::new(),
            from: at,
        }
    }

    /// The bytes at file offsets `start..end`, which must have been read
    /// and not forgotten.
    fn span(&self, start: u64, end: u64) -> &[u8] {
        let at = |offset: u64| usize::try_from(offset - self.from).unwrap_or(usize::MAX);
        &self.kept[at(start)..at(end)]
    }

    /// Whether each quoted field of the row at file offsets `start..end`
    /// closes where a field ends (`"Flat 2,\nRoad 7",` or at the row's
    /// end): a row that ran over later lines only inside such fields meant
    /// to, where one whose quote closes inside a field (`"José,Madrid` …
    /// `"Ann`) opened a quote it never closed.
    pub(super) fn quotes_close_fields(&self, start: u64, end: u64, delimiter: u8) -> bool {
        let bytes = self.span(start, end);
        let ends_field = |b: u8| b == delimiter || matches!(b, b'\r' | b'\n');
        let mut at = 0;
        let mut field_start = true;
        while let Some(&b) = bytes.get(at) {
            at += 1;
            if !(field_start && b == b'"') {
                field_start = ends_field(b);
                continue;
            }
            // Its closing quote: the first not doubled.
            loop {
                match bytes.get(at..at + 2) {
                    Some(b"\"\"") => at += 2,
                    _ => match bytes.get(at) {
                        None => return false,
                        Some(b'"') => break,
                        Some(_) => at += 1,
                    },
                }
            }
            at += 1;
            match bytes.get(at) {
                None => return true,
                Some(&next) if ends_field(next) => {
                    at += 1;
                    field_start = true;
                }
                Some(_) => return false,
            }
        }
        true
    }

    /// Lets the bytes before file offset `at` go: they are dropped in one
    /// move once they are most of what is kept, not row by row.
    fn forget_before(&mut self, at: u64) {
        let forgotten = usize::try_from(at - self.from).unwrap_or(usize::MAX);
        if forgotten > 64 * 1024 && forgotten * 2 > self.kept.len() {
            self.kept.drain(..forgotten);
            self.from = at;
        }
    }
}

impl<R: Read> Read for Raw<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.kept.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl<R: Seek> Seek for Raw<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let at = self.inner.seek(to)?;
        self.kept.clear();
        self.from = at;
        Ok(at)
    }
}

/// Where a row is in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RowSpan {
    /// The file offset of its first byte (after any blank lines and line
    /// ends before it).
    pub start: u64,
    /// The line its first byte is on, from 1.
    pub first_line: usize,
    /// The line count where the row starts, for [`RowSpan::last_line`].
    at_start: RowLines,
    /// Where its bytes end before its line end.
    body_end: u64,
}

impl RowSpan {
    /// Whether the row is only white space: a blank line to whoever reads
    /// the file, which the parser took for a row of one empty-looking field.
    pub(super) fn is_blank<R>(&self, raw: &Raw<R>) -> bool {
        raw.span(self.start, self.body_end)
            .iter()
            .all(u8::is_ascii_whitespace)
    }

    /// The line its last byte before its line end is on. Only a row in
    /// error asks, so only then are its lines counted.
    pub(super) fn last_line<R>(&self, raw: &Raw<R>) -> usize {
        let mut count = self.at_start;
        count.advance(raw.span(self.start, self.body_end));
        count.line
    }
}

/// The line count at a file offset, carried from row to row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RowLines {
    /// The file offset counted up to.
    at: u64,
    /// The line that offset is on.
    line: usize,
    /// Whether the byte before `at` is a `\r`, whose line break depends on
    /// whether a `\n` follows.
    after_cr: bool,
}

impl RowLines {
    /// Counting from file offset `at`, the first byte of line `line`.
    pub(super) fn new(at: u64, line: usize) -> Self {
        RowLines {
            at,
            line,
            after_cr: false,
        }
    }

    /// Counts through `bytes`: a line ends at each `\n` and at each `\r`
    /// that no `\n` follows.
    fn advance(&mut self, bytes: &[u8]) {
        self.at += bytes.len() as u64;
        if bytes.is_empty() {
            return;
        }
        // A row's text rarely holds a line end (only a quoted field can):
        // two searches, not a look at every byte.
        if !bytes.contains(&b'\n') && !bytes.contains(&b'\r') {
            self.line += usize::from(self.after_cr);
            self.after_cr = false;
            return;
        }
        for &b in bytes {
            // `\r\n` is one line end, counted at its `\n`.
            self.line += usize::from(b == b'\n' || self.after_cr);
            self.after_cr = b == b'\r';
        }
    }

    /// The span of the row the parser read from file offset `start` (where
    /// the previous row ended) to `end`, and counts past it. `raw` forgets
    /// the bytes before `start` (the row's own stay until the next row).
    pub(super) fn row<R>(&mut self, raw: &mut Raw<R>, start: u64, end: u64) -> RowSpan {
        debug_assert_eq!(start, self.at, "rows are counted in order");
        raw.forget_before(start);
        let bytes = raw.span(start, end);
        let is_end = |b: &u8| matches!(b, b'\r' | b'\n');
        let lead = bytes.iter().take_while(|b| is_end(b)).count();
        let trail = bytes[lead..].iter().rev().take_while(|b| is_end(b)).count();
        let mut count = *self;
        count.advance(&bytes[..lead]);
        let at_start = count;
        // The row's first byte counts too: it decides whether a `\r`
        // before it ended a line.
        count.advance(&bytes[lead..(lead + 1).min(bytes.len())]);
        let first_line = count.line;
        // The line end apart, so that the row's text takes the fast count.
        let body_end = bytes.len() - trail;
        count.advance(&bytes[(lead + 1).min(body_end)..body_end]);
        count.advance(&bytes[body_end.max(lead + 1).min(bytes.len())..]);
        *self = count;
        RowSpan {
            start: start + lead as u64,
            first_line,
            at_start,
            body_end: start + body_end as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Raw;
    use std::io::Read;

    #[test]
    fn a_quote_is_left_open_only_where_it_closes_inside_a_field() {
        let closes = |row: &str, delimiter: u8| {
            let mut raw = Raw::new(row.as_bytes(), 0);
            raw.read_to_end(&mut Vec::new()).unwrap();
            raw.quotes_close_fields(0, row.len() as u64, delimiter)
        };
        for row in [
            "c1,\"Flat 2,\nRoad \"\"7\"\"\",x\r\n",
            "\r\n\"a\nb\",c",
            "c1,\"\",\"\"",
            "c1,O\"Brien,x",
        ] {
            assert!(closes(row, b','), "{row:?}");
        }
        assert!(closes("c1;\"a;\nb\";c", b';'));
        for row in [
            "c1,\"José,Madrid\nc3,\"Ann, Jr\",Paris",
            "c1,\"never",
            "c1,\"a\" ,b",
        ] {
            assert!(!closes(row, b','), "{row:?}");
        }
        assert!(!closes("c1;\"a\",b", b';'), "a comma ends no field here");
    }
}
