//! An input file and the file its text is read from: a gzip-compressed or
//! UTF-16 file is read from a UTF-8 copy of its text in the temporary
//! folder, line for line the same, so that its records are found again by
//! their byte offsets and its problems named by its own lines.

use super::{gzip, is_utf16, utf16};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::TempPath;

/// An input file and the file its text is read from: the file itself or,
/// where it is gzip-compressed or UTF-16 text, a UTF-8 copy of its text,
/// line for line the same.
#[derive(Debug, Clone, Default)]
pub struct Text {
    path: PathBuf,
    /// The copy, which goes when the last reader does.
    copy: Option<Arc<TempPath>>,
}

impl Text {
    /// The file at `path`: decompressed first when it is gzip-compressed,
    /// then copied to UTF-8 when its text is UTF-16.
    pub fn open(path: &Path) -> std::io::Result<Text> {
        let mut text = Text {
            path: path.to_path_buf(),
            copy: None,
        };
        if head(path)?.starts_with(gzip::MAGIC) {
            text.copy = Some(Arc::new(gzip::decompress(path)?));
        }
        if is_utf16(&head(text.file())?) {
            text.copy = Some(Arc::new(utf16::to_utf8(text.file())?));
        }
        Ok(text)
    }

    /// The input file, as problems name it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file its text is read from.
    pub fn file(&self) -> &Path {
        self.copy.as_deref().map_or(&self.path, |copy| copy)
    }
}

/// A copy of an input's text being written to the temporary folder. Its
/// errors say so: a full disk there is no fault of the input file.
pub(super) struct TextCopy {
    out: std::io::BufWriter<std::fs::File>,
    path: TempPath,
}

impl TextCopy {
    pub(super) fn new() -> std::io::Result<TextCopy> {
        let (out, path) = tempfile::NamedTempFile::new()
            .map_err(TextCopy::failed)?
            .into_parts();
        Ok(TextCopy {
            out: std::io::BufWriter::new(out),
            path,
        })
    }

    pub(super) fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        std::io::Write::write_all(&mut self.out, bytes).map_err(TextCopy::failed)
    }

    /// The copy, written whole.
    pub(super) fn finish(mut self) -> std::io::Result<TempPath> {
        std::io::Write::flush(&mut self.out).map_err(TextCopy::failed)?;
        Ok(self.path)
    }

    fn failed(e: std::io::Error) -> std::io::Error {
        std::io::Error::new(
            e.kind(),
            format!(
                "its text is read from a copy, which cannot be written to the temporary folder {} ({e})",
                std::env::temp_dir().display()
            ),
        )
    }
}

/// The first two bytes of the file at `path`, or what it has of them.
fn head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(2);
    std::fs::File::open(path)?.take(2).read_to_end(&mut head)?;
    Ok(head)
}
