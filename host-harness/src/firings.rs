//! Trigger firings, one JSON object per line:
//! `{"id": "...", "type": "order_placed", "contact_id": "...",
//!   "occurred_at": "2026-11-26T10:00:00Z", "data": {...}}`.
//! `occurred_at` is RFC 3339 (or another form with its zone, as PHP, Ruby
//! and HTTP write times) or a Unix time in seconds or milliseconds.

use crate::input::{InputError, Line, Lines, Text, fingerprint, json_problem, not_text};
use action_host::wit;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Take};
use std::path::{Path, PathBuf};

/// Largest trigger payload handed to the component.
pub const MAX_DATA: usize = 1 << 20;

/// One firing read from the file.
#[derive(Debug, Clone)]
pub struct FiringRecord {
    /// 1-based line in the file.
    pub line: usize,
    /// The contact it concerns.
    pub contact_id: String,
    /// The firing as the component receives it.
    pub firing: wit::Firing,
}

/// A line that could not be read, with what could be read of it.
#[derive(Debug, Clone)]
pub struct BadFiring {
    /// The firing id, when readable.
    pub id: Option<String>,
    /// What is wrong.
    pub error: InputError,
}

/// The lines of a firings file, read or refused, in order, one at a time:
/// a run holds the firings it is working on, not the file.
pub struct Reader {
    path: PathBuf,
    lines: Lines<BufReader<Take<File>>>,
    failed: bool,
}

impl Reader {
    /// Opens the file at `path`.
    pub fn open(path: &Path) -> Result<Reader, InputError> {
        let text = Text::open(path).map_err(|e| cannot_read(path, e))?;
        Reader::open_stretch(&text, &Stretch::WHOLE)
    }

    /// Opens one stretch of `text`, as a [`Scan`] cut it.
    pub fn open_stretch(text: &Text, stretch: &Stretch) -> Result<Reader, InputError> {
        let path = text.path();
        let mut file = File::open(text.file()).map_err(|e| cannot_read(path, e))?;
        let lines = if stretch.offset == 0 {
            // The first stretch starts at the file's start, where a
            // byte-order mark may be.
            Lines::new(BufReader::new(file.take(stretch.end))).map_err(|e| cannot_read(path, e))?
        } else {
            file.seek(SeekFrom::Start(stretch.offset))
                .map_err(|e| cannot_read(path, e))?;
            Lines::starting_at(
                BufReader::new(file.take(stretch.end.saturating_sub(stretch.offset))),
                stretch.offset,
                stretch.lines_before,
            )
        };
        Ok(Reader {
            path: path.to_path_buf(),
            lines,
            failed: false,
        })
    }
}

impl Iterator for Reader {
    type Item = Result<FiringRecord, BadFiring>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        Some(match self.lines.next_line()? {
            Ok(Line {
                number,
                text: Ok(text),
                ..
            }) => parse_line(&self.path, number, text),
            Ok(Line { number, .. }) => Err(BadFiring {
                id: None,
                error: InputError::new(
                    &self.path,
                    Some(number),
                    None,
                    "the line is not valid UTF-8 text",
                ),
            }),
            Err(e) => {
                // The rest of the file cannot be read: say so once.
                self.failed = true;
                Err(BadFiring {
                    id: None,
                    error: cannot_read(&self.path, e),
                })
            }
        })
    }
}

fn cannot_read(path: &Path, e: std::io::Error) -> InputError {
    InputError::new(path, None, None, format!("cannot read the file: {e}"))
}

/// What a first pass over a firings file learns, keeping 8 bytes per line
/// only while it reads: how many lines there are, which ids are on more
/// than one line, and where to cut the file into stretches, longest first,
/// that separate runners can read.
#[derive(Debug)]
pub struct Scan {
    /// Non-blank lines.
    pub lines: usize,
    /// Of the ids on more than one line (and any whose fingerprint is
    /// another's), the first line each is read well on: the one firing
    /// that id stands for. Empty in a file without repeats.
    first_good: HashMap<String, usize>,
    /// The stretches, in file order.
    stretches: Vec<Stretch>,
    /// The file, and the one its text is read from.
    text: Text,
}

impl Default for Scan {
    fn default() -> Self {
        Scan {
            lines: 0,
            first_good: HashMap::new(),
            stretches: vec![Stretch::WHOLE],
            text: Text::default(),
        }
    }
}

/// A stretch of a firings file: whole lines, from one line's start up to
/// the next stretch's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stretch {
    /// Byte offset of its first line.
    pub offset: u64,
    /// Byte offset just past it.
    pub end: u64,
    /// Lines of the file before it, blank ones included.
    pub lines_before: usize,
}

impl Stretch {
    /// The whole file.
    pub const WHOLE: Stretch = Stretch {
        offset: 0,
        end: u64::MAX,
        lines_before: 0,
    };
}

impl Scan {
    /// The first line a firing with `id` is read well on, when `id` may be
    /// on more than one line; none when it is not.
    pub fn first_line_of(&self, id: &str) -> Option<usize> {
        self.first_good.get(id).copied()
    }

    /// The file cut into stretches, in order, each shorter than or about
    /// as long as the one before; at least one, and one only for one
    /// runner.
    pub fn stretches(&self) -> &[Stretch] {
        &self.stretches
    }

    /// The file scanned, whose stretches [`Reader::open_stretch`] opens.
    pub fn text(&self) -> &Text {
        &self.text
    }
}

/// The least a stretch is cut to, bytes: a few hundred firings, so that
/// a stretch costs far more to run than to start.
pub const LEAST_STRETCH: u64 = 64 << 10;

/// Reads the file at `path` for [`Scan`], with cuts for `threads` runners
/// that take its stretches in turn (one stretch for one); a second time,
/// and only then, when an id is on more than one line.
pub fn scan(path: &Path, threads: usize) -> Result<Scan, InputError> {
    scan_cut(path, threads, LEAST_STRETCH)
}

/// The most stretches a file is cut into: each is opened, and given its
/// part of the report (a file of its own), before the run starts.
pub const MOST_STRETCHES: usize = 128;

/// Where to cut `size` bytes for `threads` runners that each take the next
/// stretch once done with theirs. Each stretch is a `2 × threads`th of what
/// is left, and no less than `least`: the first are long, so that there are
/// few, and the last short, so that the runners end close together, whichever
/// ran faster. With more than [`MOST_STRETCHES`], the least is doubled.
fn cuts(size: u64, threads: usize, mut least: u64) -> Vec<u64> {
    loop {
        let mut cuts = Vec::new();
        if threads > 1 {
            let mut at = 0;
            loop {
                at += ((size - at) / (2 * threads as u64)).max(least).max(1);
                if at >= size {
                    break;
                }
                cuts.push(at);
            }
        }
        if cuts.len() < MOST_STRETCHES {
            return cuts;
        }
        least = least.max(1) * 2;
    }
}

fn scan_cut(path: &Path, threads: usize, least: u64) -> Result<Scan, InputError> {
    // A gzip-compressed or UTF-16 file (Windows PowerShell's `>` writes
    // one) is scanned, cut and read in its UTF-8 copy, whose lines are the
    // file's.
    let text = Text::open(path).map_err(|e| cannot_read(path, e))?;
    let mut lines = Lines::open(text.file()).map_err(|e| cannot_read(path, e))?;
    let head = lines.peek().map_err(|e| cannot_read(path, e))?;
    if let Some(problem) = not_text(path, head) {
        return Err(problem);
    }
    let size = std::fs::metadata(text.file())
        .map_err(|e| cannot_read(path, e))?
        .len();
    let cuts = cuts(size, threads, least);
    let mut next_cut = 0;
    let mut starts = vec![(0u64, 0usize)];
    let mut prints = Vec::new();
    let mut count = 0;
    // The line of a first line that opens a JSON array and is a whole one.
    let mut one_line_array = None;
    while let Some(line) = lines.next_line() {
        let line = line.map_err(|e| cannot_read(path, e))?;
        count += 1;
        // A JSON array of firings, as an API or `jq` writes a list, is said
        // to be one once, rather than each of its lines not to be a firing:
        // one that spreads over lines, or the file's one line. A first line
        // that is a whole array followed by firings is one bad line.
        if count == 1
            && let Ok(text) = line.text
            && text.trim_start().starts_with('[')
        {
            if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
                return Err(json_array(path, line.number));
            }
            one_line_array = Some(line.number);
        }
        // A stretch starts at the first line at or past a cut; a line
        // past more than one starts one stretch.
        if cuts.get(next_cut).is_some_and(|&cut| line.offset >= cut) && line.offset > 0 {
            starts.push((line.offset, line.number - 1));
            while cuts.get(next_cut).is_some_and(|&cut| cut <= line.offset) {
                next_cut += 1;
            }
        }
        if let Ok(text) = line.text
            && let Some(id) = quick_id(text)
        {
            prints.push(fingerprint(&id));
        }
    }
    if let Some(number) = one_line_array.filter(|_| count == 1) {
        return Err(json_array(path, number));
    }
    prints.sort_unstable();
    let repeated: HashSet<u64> = prints
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    drop(prints);
    let mut first_good = HashMap::new();
    if !repeated.is_empty() {
        let mut lines = Lines::open(text.file()).map_err(|e| cannot_read(path, e))?;
        while let Some(line) = lines.next_line() {
            let line = line.map_err(|e| cannot_read(path, e))?;
            if let Ok(text) = line.text
                && quick_id(text).is_some_and(|id| repeated.contains(&fingerprint(&id)))
                && let Ok(rec) = parse_line(path, line.number, text)
            {
                first_good.entry(rec.firing.id).or_insert(line.number);
            }
        }
    }
    let stretches = starts
        .iter()
        .enumerate()
        .map(|(i, &(offset, lines_before))| Stretch {
            offset,
            end: starts.get(i + 1).map_or(u64::MAX, |next| next.0),
            lines_before,
        })
        .collect();
    Ok(Scan {
        lines: count,
        first_good,
        stretches,
        text,
    })
}

/// A firings file that is a JSON array, whose array starts on `line`.
fn json_array(path: &Path, line: usize) -> InputError {
    InputError::new(
        path,
        Some(line),
        None,
        format!(
            "the file is a JSON array; a triggers file has one firing per line (JSON Lines): \
             write each on a line of its own, as `jq -c '.[]' {} > firings.jsonl` does",
            path.display()
        ),
    )
}

/// The id of a line as [`parse_line`] reads it, skipping the rest of the
/// line without building it. A line the quick reading refuses (a key given
/// twice, which `parse_line` reads as its last value) is read whole.
fn quick_id(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        #[serde(default)]
        id: Option<Value>,
    }
    match serde_json::from_str::<IdOnly>(text) {
        Ok(IdOnly { id: Some(id) }) => id_of_value(&id),
        Ok(IdOnly { id: None }) => None,
        Err(_) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(obj)) => id_of(&obj),
            _ => None,
        },
    }
}

/// A firing's id: non-blank text, or a number.
fn id_of(obj: &serde_json::Map<String, Value>) -> Option<String> {
    obj.get("id").and_then(id_of_value)
}

fn id_of_value(id: &Value) -> Option<String> {
    match id {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The fields of a firing's line that the run reads; any other key is
/// ignored.
#[derive(serde::Deserialize)]
struct Fields {
    id: Option<Value>,
    #[serde(rename = "type")]
    trigger_type: Option<Value>,
    contact_id: Option<Value>,
    occurred_at: Option<Value>,
    data: Option<Value>,
}

impl Fields {
    /// Reads the fields of `text`: straight into their places, or, for a
    /// line that reading refuses (a key given twice, which counts with its
    /// last value, or a line that is not a JSON object), through a whole
    /// `Value`, which says what is wrong.
    fn of(text: &str) -> Result<Fields, String> {
        // Only an object: a struct would read a JSON array by position.
        if text.trim_start().starts_with('{')
            && let Ok(fields) = serde_json::from_str::<Fields>(text)
        {
            return Ok(fields);
        }
        let v: Value = serde_json::from_str(text).map_err(|e| json_problem(&e))?;
        let Value::Object(mut obj) = v else {
            return Err("a firing must be a JSON object".into());
        };
        Ok(Fields {
            id: obj.remove("id"),
            trigger_type: obj.remove("type"),
            contact_id: obj.remove("contact_id"),
            occurred_at: obj.remove("occurred_at"),
            data: obj.remove("data"),
        })
    }
}

/// Reads one line.
pub fn parse_line(path: &Path, line: usize, text: &str) -> Result<FiringRecord, BadFiring> {
    let bad = |id: Option<String>, field: Option<&str>, message: String| BadFiring {
        id,
        error: InputError::new(path, Some(line), field, message),
    };
    let fields = Fields::of(text).map_err(|message| bad(None, None, message))?;
    let Some(id) = fields.id.as_ref().and_then(id_of_value) else {
        return Err(bad(
            None,
            Some("id"),
            "every firing needs an id (text)".into(),
        ));
    };
    let some_id = Some(id.clone());
    let trigger_type = match fields.trigger_type {
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        _ => {
            return Err(bad(
                some_id,
                Some("type"),
                "every firing needs a trigger type (text)".into(),
            ));
        }
    };
    // Trimmed, as a contacts file's ids are: `c1 ` from a CRM's field
    // finds the contact whose cell read `c1 `.
    let contact_id = match fields.contact_id {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(bad(
                some_id,
                Some("contact_id"),
                "every firing names its contact (text)".into(),
            ));
        }
    };
    let occurred_at = match fields.occurred_at.as_ref().map(unix_time) {
        Some(Ok(t)) => t,
        Some(Err(why)) => return Err(bad(some_id, Some("occurred_at"), why)),
        None => {
            return Err(bad(
                some_id,
                Some("occurred_at"),
                "every firing says when it happened".into(),
            ));
        }
    };
    let data = match fields.data {
        // A platform that keeps a trigger's data as text writes its JSON in
        // a string (`"data": "{\"order\": …}"`): the object it holds.
        Some(Value::String(text)) => match serde_json::from_str::<Value>(&text) {
            Ok(v @ Value::Object(_)) => Some(v),
            _ => {
                return Err(bad(
                    some_id,
                    Some("data"),
                    "data must be a JSON object; this is text that does not hold one".into(),
                ));
            }
        },
        other => other,
    };
    let data = match data {
        None | Some(Value::Null) => "{}".to_string(),
        Some(v @ Value::Object(_)) => {
            let text = v.to_string();
            if text.len() > MAX_DATA {
                return Err(bad(
                    some_id,
                    Some("data"),
                    format!(
                        "the trigger's data is {:.1} MB; a firing carries at most {} KiB (a conversion event is a few KB)",
                        text.len() as f64 / 1e6,
                        MAX_DATA / 1024
                    ),
                ));
            }
            text
        }
        Some(_) => {
            return Err(bad(
                some_id,
                Some("data"),
                "data must be a JSON object".into(),
            ));
        }
    };
    Ok(FiringRecord {
        line,
        contact_id,
        firing: wit::Firing {
            id,
            trigger_type,
            occurred_at,
            data,
        },
    })
}

/// When a firing happened, in Unix seconds: an RFC 3339 time, or a Unix time
/// in seconds or milliseconds, as a number (fractions dropped) or as digits
/// in a string, as exports write numbers.
fn unix_time(v: &Value) -> Result<i64, String> {
    let t = match v {
        Value::String(s) => {
            let s = s.trim();
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse::<i64>().ok()
            } else {
                return chrono::DateTime::parse_from_rfc3339(s)
                    .map(|t| t.timestamp())
                    .or_else(|e| zoned_time(s).ok_or(e))
                    .map_err(|e| {
                        // A local time parses whole only without a zone.
                        let local = [
                            "%Y-%m-%dT%H:%M:%S%.f",
                            "%Y-%m-%d %H:%M:%S%.f",
                            "%Y-%m-%dT%H:%M",
                            "%Y-%m-%d %H:%M",
                        ]
                        .iter()
                        .any(|f| chrono::NaiveDateTime::parse_from_str(s, f).is_ok());
                        if local {
                            "a time without its zone: add Z for UTC or its offset, such as \
                             2026-11-26T10:00:00+01:00"
                                .into()
                        } else if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
                            "a day without its time: Meta needs the moment of the event, such \
                             as 2026-11-26T10:00:00Z"
                                .into()
                        } else {
                            format!("not an RFC 3339 time such as 2026-11-26T10:00:00Z: {e}")
                        }
                    });
            }
        }
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 9e18)
                .map(|f| f as i64)
        }),
        _ => return Err("not a time: an RFC 3339 text or a Unix time".into()),
    };
    match t {
        // Milliseconds are common (JavaScript's and Java's clocks),
        // microseconds and nanoseconds less so (a warehouse's export,
        // Go's and Python's `time_ns`): Unix seconds stay below 1e11 until
        // 5138, and each finer unit below a thousand times as much.
        Some(t) if t >= 100_000_000_000_000_000 => Ok(t / 1_000_000_000),
        Some(t) if t >= 100_000_000_000_000 => Ok(t / 1_000_000),
        Some(t) if t > 100_000_000_000 => Ok(t / 1000),
        Some(t) if t > 0 => Ok(t),
        _ => Err("not a positive Unix time".into()),
    }
}

/// A time with its zone in the forms platforms write besides RFC 3339:
/// PHP's `DATE_ISO8601` (`2026-11-26T10:00:00+0100`), Ruby's `Time#to_s`
/// (`2026-11-26 10:00:00 +0100`, `… UTC`), minutes without seconds
/// (`2026-11-26T10:00Z`), and HTTP's dates, as JavaScript's
/// `toUTCString` writes them (`Thu, 26 Nov 2026 10:00:00 GMT`).
fn zoned_time(s: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc2822(s) {
        return Some(t.timestamp());
    }
    let utc = [" UTC", " GMT", "Z", "z"]
        .iter()
        .find_map(|zone| s.strip_suffix(zone));
    let s = match utc {
        Some(local) => format!("{local}+0000"),
        None => s.to_string(),
    };
    [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%.f %z",
        "%Y-%m-%d %H:%M:%S%.f %z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%d %H:%M%z",
    ]
    .iter()
    .find_map(|f| chrono::DateTime::parse_from_str(&s, f).ok())
    .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::gzipped;

    #[test]
    fn reads_a_line() {
        let r = parse_line(
            Path::new("f.jsonl"),
            3,
            r#"{"id":"o1","type":"order_placed","contact_id":"c1","occurred_at":"2026-11-26T10:00:00Z","data":{"order":{"total":5}}}"#,
        )
        .unwrap();
        assert_eq!(r.firing.occurred_at, 1_795_687_200);
        assert_eq!(r.firing.data, r#"{"order":{"total":5}}"#);
        assert_eq!(r.line, 3);
    }

    #[test]
    fn data_written_as_a_string_of_json_is_read_as_its_object() {
        let r = parse_line(
            Path::new("f.jsonl"),
            1,
            r#"{"id":"o1","type":"order_placed","contact_id":"c1","occurred_at":1795687200,"data":"{\"order\": {\"total\": 5, \"currency\": \"EUR\"}}"}"#,
        )
        .unwrap();
        assert_eq!(r.firing.data, r#"{"order":{"currency":"EUR","total":5}}"#);
    }

    #[test]
    fn data_nested_too_deep_is_said_to_be_so() {
        let deep = format!("{}{}", "[".repeat(500), "]".repeat(500));
        let line = format!(
            r#"{{"id":"a","type":"t","contact_id":"c","occurred_at":1,"data":{{"x":{deep}}}}}"#
        );
        let e = parse_line(Path::new("f.jsonl"), 4, &line).unwrap_err();
        assert!(
            e.error
                .to_string()
                .starts_with("f.jsonl:4: nested more than 128 levels deep at line 1 column"),
            "{}",
            e.error
        );
    }

    #[test]
    fn a_time_is_read_in_the_forms_platforms_write_it() {
        for (written, at) in [
            (r#""2026-11-26T10:00:00Z""#, 1_795_687_200),
            (r#""2026-11-26 10:00:00+00:00""#, 1_795_687_200),
            (r#""2026-11-26T11:00:00.250+01:00""#, 1_795_687_200),
            ("1795687200", 1_795_687_200),
            ("1795687200.75", 1_795_687_200),
            ("1795687200000", 1_795_687_200),
            ("1795687200000000", 1_795_687_200),
            ("1795687200000000000", 1_795_687_200),
            ("1.7956872e15", 1_795_687_200),
            (r#""1795687200123456""#, 1_795_687_200),
            (r#""1795687200""#, 1_795_687_200),
            (r#"" 1795687200000 ""#, 1_795_687_200),
            // PHP's DATE_ISO8601, Ruby's Time#to_s, minutes alone, HTTP's.
            (r#""2026-11-26T11:00:00+0100""#, 1_795_687_200),
            (r#""2026-11-26 05:00:00 -0500""#, 1_795_687_200),
            (r#""2026-11-26 10:00:00 UTC""#, 1_795_687_200),
            (r#""2026-11-26T10:00Z""#, 1_795_687_200),
            (r#""2026-11-26T11:00+01:00""#, 1_795_687_200),
            (r#""Thu, 26 Nov 2026 10:00:00 GMT""#, 1_795_687_200),
            (r#""Thu, 26 Nov 2026 11:00:00 +0100""#, 1_795_687_200),
        ] {
            let line =
                format!(r#"{{"id":"a","type":"t","contact_id":"c","occurred_at":{written}}}"#);
            let r = parse_line(Path::new("f.jsonl"), 1, &line).unwrap();
            assert_eq!(r.firing.occurred_at, at, "{written}");
        }
        for (written, why) in [
            (r#""2026-11-26T10:00:00""#, "without its zone"),
            (r#""2026-11-26 10:00:00.5""#, "without its zone"),
            (r#""2026-11-26T10:00""#, "without its zone"),
            (r#""2026-11-26""#, "a day without its time"),
            (r#""Thu, 26 Nov 2026 10:00:00""#, "not an RFC 3339 time"),
            (r#""26/11/2026""#, "not an RFC 3339 time"),
            ("-5", "not a positive Unix time"),
            (r#""""#, "not an RFC 3339 time"),
            ("true", "not a time"),
        ] {
            let line =
                format!(r#"{{"id":"a","type":"t","contact_id":"c","occurred_at":{written}}}"#);
            let e = parse_line(Path::new("f.jsonl"), 1, &line).unwrap_err();
            assert!(e.error.to_string().contains(why), "{written}: {}", e.error);
        }
    }

    #[test]
    fn names_the_field_at_fault() {
        for (line, field) in [
            (
                r#"{"id":"a","type":"t","contact_id":"c","occurred_at":"yesterday"}"#,
                "occurred_at",
            ),
            (r#"{"id":"a","contact_id":"c","occurred_at":1}"#, "type"),
            (r#"{"id":"a","type":"t","occurred_at":1}"#, "contact_id"),
            (
                r#"{"id":"a","type":"t","contact_id":"c","occurred_at":1,"data":[1]}"#,
                "data",
            ),
            (
                r#"{"id":"a","type":"t","contact_id":"c","occurred_at":1,"data":"[1]"}"#,
                "data",
            ),
            (
                r#"{"id":"a","type":"t","contact_id":"c","occurred_at":1,"data":"not json"}"#,
                "data",
            ),
            (r#"{"type":"t"}"#, "id"),
        ] {
            let e = parse_line(Path::new("f.jsonl"), 9, line).unwrap_err();
            assert_eq!(e.error.field.as_deref(), Some(field), "{line}");
            assert!(
                e.error.to_string().starts_with("f.jsonl:9: field"),
                "{}",
                e.error
            );
        }
    }

    #[test]
    fn a_line_that_is_not_one_object_is_refused_as_such() {
        // An array with a firing's fields in order is not a firing either.
        for line in [
            r#"["f1","order_placed","c1",1795687200,{}]"#,
            r#""f1""#,
            "{\"id\":\"f1\"",
        ] {
            let e = parse_line(Path::new("f.jsonl"), 2, line).unwrap_err();
            assert_eq!(e.error.field, None, "{line}");
            assert!(
                e.error.to_string().contains("JSON object")
                    || e.error.to_string().contains("not valid JSON"),
                "{line}: {}",
                e.error
            );
        }
        // A key given twice counts with its last value.
        let r = parse_line(
            Path::new("f.jsonl"),
            3,
            r#"{"id":"a","type":"t","type":"order_placed","contact_id":"c","occurred_at":1,"data":{"x":1},"data":null}"#,
        )
        .unwrap();
        assert_eq!(r.firing.trigger_type, "order_placed");
        assert_eq!(r.firing.data, "{}");
    }

    #[test]
    fn a_contact_id_is_trimmed_as_the_contacts_ids_are() {
        let r = parse_line(
            Path::new("f.jsonl"),
            1,
            r#"{"id":"a","type":"t","contact_id":" c1\t","occurred_at":1}"#,
        )
        .unwrap();
        assert_eq!(r.contact_id, "c1");
    }

    #[test]
    fn a_json_array_of_firings_is_said_to_be_one_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        let firing = |id: &str| {
            format!(r#"{{"id":"{id}","type":"t","contact_id":"c","occurred_at":1,"data":{{}}}}"#)
        };
        let pretty = format!("\n[\n  {},\n  {}\n]\n", firing("a"), firing("b"));
        let minified = format!("[{},{}]", firing("a"), firing("b"));
        for (text, line) in [(pretty, 2), (minified, 1)] {
            std::fs::write(&path, &text).unwrap();
            let e = scan(&path, 2).unwrap_err();
            assert_eq!(e.line, Some(line), "{text}");
            assert!(e.to_string().contains("JSON array"), "{e}");
            assert!(e.to_string().contains("one firing per line"), "{e}");
        }
        // A first line that is a whole array, before firings, is one bad
        // line among good ones.
        std::fs::write(&path, format!("[1]\n{}\n{}\n", firing("a"), firing("b"))).unwrap();
        assert_eq!(scan(&path, 1).unwrap().lines, 3);
        let read: Vec<_> = Reader::open(&path).unwrap().collect();
        assert!(read[0].is_err());
        assert!(read[1].is_ok() && read[2].is_ok());
    }

    /// 300 lines of firings with ids in other scripts, Windows line ends,
    /// blank and broken lines, and an id on two lines.
    fn mixed_firings() -> String {
        (0..300)
            .map(|i| match i % 50 {
                7 => "\r\n".to_string(),
                11 => "{\"id\":\"broken\"\r\n".to_string(),
                13 => r#"{"id":"twice","type":"t","contact_id":"c","occurred_at":1}"#.to_string() + "\r\n",
                _ => format!(
                    r#"{{"id":"f{i}-Ἀλέξανδρος-😀","type":"t","contact_id":"c","occurred_at":1}}"#
                ) + "\r\n",
            })
            .collect()
    }

    /// Asserts that the file at `path`, scanned and cut for three runners
    /// into stretches of a few lines, reads as [`mixed_firings`] in UTF-8
    /// does, line for line, its problems named by `path`.
    fn assert_read_as_mixed_firings(path: &Path) {
        let lines = |reader: Reader| -> Vec<String> {
            reader
                .map(|r| match r {
                    Ok(rec) => format!("{} {}", rec.line, rec.firing.id),
                    Err(bad) => format!("{} {:?}", bad.error.file, bad.error.line),
                })
                .collect()
        };
        let dir = tempfile::tempdir().unwrap();
        let utf8 = dir.path().join("utf8.jsonl");
        std::fs::write(&utf8, mixed_firings()).unwrap();
        let expected: Vec<String> = lines(Reader::open(&utf8).unwrap())
            .into_iter()
            .map(|line| line.replace(&utf8.display().to_string(), &path.display().to_string()))
            .collect();
        assert_eq!(expected.len(), 294);
        assert_eq!(expected[10], format!("{} Some(12)", path.display()));
        let scan = scan_cut(path, 3, 1_000).unwrap();
        assert!(scan.stretches().len() > 3, "{:?}", scan.stretches());
        assert_eq!(scan.lines, 294);
        assert_eq!(scan.first_line_of("twice"), Some(14));
        let read: Vec<String> = scan
            .stretches()
            .iter()
            .flat_map(|s| lines(Reader::open_stretch(scan.text(), s).unwrap()))
            .collect();
        assert_eq!(read, expected);
    }

    #[test]
    fn a_utf16_file_of_firings_is_read_as_the_text_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.jsonl");
        let text = mixed_firings();
        // Windows PowerShell's `>` writes little-endian with a byte-order
        // mark; other tools big-endian, or without one.
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for bytes in [
            [&[0xFF, 0xFE][..], &le].concat(),
            [&[0xFE, 0xFF][..], &be].concat(),
            le,
        ] {
            std::fs::write(&path, &bytes).unwrap();
            assert_read_as_mixed_firings(&path);
        }
    }

    /// Event pipelines and data warehouses' unloads write gzip, often in
    /// parts joined afterwards; a UTF-16 file may be compressed too.
    #[test]
    fn a_gzip_file_of_firings_is_read_as_the_text_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.jsonl.gz");
        let text = mixed_firings();
        let half = text[..text.len() / 2].rfind('\n').unwrap() + 1;
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        for bytes in [
            gzipped(text.as_bytes()),
            [
                gzipped(&text.as_bytes()[..half]),
                gzipped(&text.as_bytes()[half..]),
            ]
            .concat(),
            gzipped(&utf16),
        ] {
            std::fs::write(&path, &bytes).unwrap();
            assert_read_as_mixed_firings(&path);
        }
        // Cut short, as a download that stopped: said once, not read in part.
        let whole = gzipped(text.as_bytes());
        std::fs::write(&path, &whole[..whole.len() - 100]).unwrap();
        let e = scan(&path, 2).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "{}: cannot read the file: it is gzip-compressed and cannot be decompressed (",
                path.display()
            )),
            "{e}"
        );
    }

    #[test]
    fn a_file_compressed_otherwise_is_said_to_be_no_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.jsonl.bz2");
        std::fs::write(&path, b"BZh91AY&SY\x00\x01\n\xFF").unwrap();
        let e = scan(&path, 2).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("f.jsonl.bz2: the file is bzip2-compressed, not text: inputs are CSV or JSON text; save a workbook's sheet as \"CSV UTF-8\", and decompress a compressed file first"),
            "{e}"
        );
    }

    #[test]
    fn the_first_pass_finds_the_first_good_line_of_each_id_on_more_than_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.jsonl");
        let good =
            |id: &str| format!(r#"{{"id":{id},"type":"t","contact_id":"c","occurred_at":1}}"#);
        std::fs::write(
            &path,
            [
                r#"{"id":"a"}"#.to_string(),
                String::new(),
                r#"{"id":7}"#.to_string(),
                good(r#""7""#),
                good(r#""b""#),
                "not json".into(),
                good(r#""x","id":"b""#),
                good("7"),
                good(r#""c""#),
            ]
            .join("\n"),
        )
        .unwrap();
        let scan = scan(&path, 1).unwrap();
        assert_eq!(scan.lines, 8);
        // A number and the same digits as text are one id, as the run reads
        // them; line 3 is not a firing (it has no type), line 4 is.
        assert_eq!(scan.first_line_of("7"), Some(4));
        assert_eq!(scan.first_line_of("a"), None);
        // A key given twice counts with its last value, as the run reads it.
        assert_eq!(scan.first_line_of("b"), Some(5));
        assert_eq!(scan.first_line_of("x"), None);
        assert_eq!(scan.first_line_of("c"), None);
        assert_eq!(scan.stretches(), [Stretch::WHOLE]);
        let read: Vec<_> = Reader::open(&path).unwrap().collect();
        assert_eq!(read.len(), 8);
        assert_eq!(read[5].as_ref().unwrap().firing.id, "b");
        assert_eq!(read[4].as_ref().unwrap_err().error.line, Some(6));
    }

    #[test]
    fn stretches_shrink_toward_the_end_of_the_file_down_to_the_least() {
        assert!(cuts(1 << 30, 1, LEAST_STRETCH).is_empty());
        assert!(cuts(LEAST_STRETCH, 2, LEAST_STRETCH).is_empty());
        for (size, threads) in [(1u64 << 30, 2), (5_600_000, 2), (300_000, 3), (1 << 30, 16)] {
            let cuts = cuts(size, threads, LEAST_STRETCH);
            let mut bounds = vec![0];
            bounds.extend(&cuts);
            bounds.push(size);
            let lengths: Vec<u64> = bounds.windows(2).map(|w| w[1] - w[0]).collect();
            let least = lengths[..lengths.len() - 1].iter().copied().min().unwrap();
            assert!(least >= LEAST_STRETCH);
            // The first is a (2 × threads)th of the file, or the least;
            // none after it longer than the one before it, and none shorter
            // than the least, except the last, which is what remains.
            assert_eq!(lengths[0], (size / (2 * threads as u64)).max(least));
            for pair in lengths[..lengths.len() - 1].windows(2) {
                assert!(pair[1] <= pair[0] && pair[1] >= least, "{lengths:?}");
            }
            assert!(lengths[lengths.len() - 1] <= least, "{lengths:?}");
            // A gigabyte on two threads: tens of stretches; on sixteen, at
            // most the most.
            assert!(lengths.len() <= if threads < 16 { 64 } else { MOST_STRETCHES });
        }
    }

    #[test]
    fn stretches_read_together_are_the_file_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.jsonl");
        let mut text = b"\xEF\xBB\xBF".to_vec();
        for i in 0..40 {
            // Blank lines, long and short lines, and one not UTF-8.
            let line = match i % 7 {
                0 => String::new(),
                3 => format!(r#"{{"id":"f{i}","pad":"{}"}}"#, "x".repeat(300)),
                _ => format!(r#"{{"id":"f{i}","type":"t","contact_id":"c","occurred_at":1}}"#),
            };
            text.extend_from_slice(line.as_bytes());
            text.extend_from_slice(if i == 11 { b"\xff\r\n" } else { b"\n" });
        }
        std::fs::write(&path, &text).unwrap();
        let lines = |reader: Reader| -> Vec<String> {
            reader
                .map(|r| match r {
                    Ok(rec) => format!("{} {}", rec.line, rec.firing.id),
                    Err(bad) => format!("{:?} {:?}", bad.error.line, bad.id),
                })
                .collect()
        };
        let whole = lines(Reader::open(&path).unwrap());
        assert_eq!(whole.len(), 34);
        // Cut to the least stretch of the run, and to single lines.
        for (threads, least) in [
            (1, 0),
            (2, 0),
            (3, 200),
            (5, 1),
            (64, 0),
            (2, LEAST_STRETCH),
        ] {
            let scan = scan_cut(&path, threads, least).unwrap();
            let stretches = scan.stretches();
            assert!(!stretches.is_empty());
            assert_eq!(stretches[0].offset, 0);
            for pair in stretches.windows(2) {
                assert_eq!(pair[0].end, pair[1].offset);
                assert!(pair[0].offset < pair[1].offset);
            }
            let read: Vec<String> = stretches
                .iter()
                .flat_map(|s| lines(Reader::open_stretch(scan.text(), s).unwrap()))
                .collect();
            assert_eq!(read, whole, "{threads} threads: {stretches:?}");
            // A file shorter than the least stretch is not cut.
            let cut = threads > 1 && least < text.len() as u64 / 2;
            assert_eq!(stretches.len() > 1, cut, "{threads}: {stretches:?}");
        }
    }
}
