//! Input files compressed with gzip, as data warehouses unload tables
//! (Snowflake by default, BigQuery and Redshift when asked) and log
//! pipelines store events: read from a decompressed copy, where records
//! are found again by their byte offsets as in any other file.

use super::text::TextCopy;
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{BufReader, Error, Read};
use std::path::Path;
use tempfile::TempPath;

/// The first bytes of every gzip stream.
pub(super) const MAGIC: &[u8] = &[0x1F, 0x8B];

/// A decompressed copy of the gzip file at `path`, every member of it (a
/// file of gzip files joined, as `cat a.gz b.gz` or a multipart unload
/// makes, is their texts joined).
pub(super) fn decompress(path: &Path) -> std::io::Result<TempPath> {
    let mut input = MultiGzDecoder::new(BufReader::new(File::open(path)?));
    let mut out = TextCopy::new()?;
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = input.read(&mut buf).map_err(|e| {
            Error::new(
                e.kind(),
                format!("it is gzip-compressed and cannot be decompressed ({e})"),
            )
        })?;
        if n == 0 {
            break;
        }
        out.write(&buf[..n])?;
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::gzipped as gzip;

    #[test]
    fn every_member_is_decompressed_and_a_broken_stream_is_said_to_be_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.jsonl.gz");
        let first: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        std::fs::write(&path, [gzip(&first), gzip(b"last\n")].concat()).unwrap();
        let copy = decompress(&path).unwrap();
        assert_eq!(
            std::fs::read(&copy).unwrap(),
            [&first[..], b"last\n"].concat()
        );
        let whole = gzip(&first);
        std::fs::write(&path, &whole[..whole.len() / 2]).unwrap();
        let e = decompress(&path).unwrap_err().to_string();
        assert!(
            e.starts_with("it is gzip-compressed and cannot be decompressed ("),
            "{e}"
        );
    }
}
