//! The JSON report written as a run goes: each firing as it is settled,
//! the counts at the end. A run of any length holds one firing's JSON at a
//! time, not its report.

use crate::report::{FiringReport, Report};
use crate::run::FiringSink;
use anyhow::{Context as _, Result};
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A report file being written.
pub struct ReportFile {
    path: PathBuf,
    out: BufWriter<File>,
    firings: usize,
}

/// What the report says before its firings.
#[derive(Serialize)]
struct Head<'a> {
    component: &'a crate::report::ComponentInfo,
    graph_url: &'a Option<String>,
    started_at: &'a str,
}

/// What it says after them.
#[derive(Serialize)]
struct Tail<'a> {
    elapsed_ms: u64,
    totals: &'a crate::report::Totals,
    match_quality: &'a std::collections::BTreeMap<String, crate::quality::Quality>,
    input_errors: &'a [crate::input::InputError],
}

impl ReportFile {
    /// Creates (or empties) the file at `path`: before the run, so that a
    /// path that cannot be written stops it before anything is sent.
    pub fn create(path: &Path) -> Result<ReportFile> {
        let file = File::create(path)
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
        Ok(ReportFile {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            firings: 0,
        })
    }

    /// Writes a whole report.
    pub fn write(path: &Path, report: &Report) -> Result<()> {
        let mut file = ReportFile::create(path)?;
        for f in &report.firings {
            file.firing(report, f)?;
        }
        file.finish(report)
    }

    /// Writes one settled firing; `report` gives what comes before the
    /// firings, written with the first.
    pub fn firing(&mut self, report: &Report, firing: &FiringReport) -> Result<()> {
        self.write_firing(report, firing)
            .with_context(|| format!("cannot write the report to {}", self.path.display()))
    }

    fn write_firing(&mut self, report: &Report, firing: &FiringReport) -> std::io::Result<()> {
        if self.firings == 0 {
            self.head(report)?;
        }
        write_entry(&mut self.out, self.firings == 0, firing)?;
        self.firings += 1;
        Ok(())
    }

    /// Writes the firings of `part` after those written so far.
    pub fn append(&mut self, report: &Report, part: ReportPart) -> Result<()> {
        let append = || -> std::io::Result<()> {
            if part.firings == 0 {
                return Ok(());
            }
            if self.firings == 0 {
                self.head(report)?;
            } else {
                self.out.write_all(b",")?;
            }
            let mut written = part.out.into_inner().map_err(|e| e.into_error())?;
            written.seek(SeekFrom::Start(0))?;
            std::io::copy(&mut written, &mut self.out)?;
            self.firings += part.firings;
            Ok(())
        };
        append().with_context(|| format!("cannot write the report to {}", self.path.display()))
    }

    fn head(&mut self, report: &Report) -> std::io::Result<()> {
        let head = serde_json::to_string_pretty(&Head {
            component: &report.component,
            graph_url: &report.graph_url,
            started_at: &report.started_at,
        })?;
        // `{ …head fields… }` opened, with the firings list after them.
        let fields = head.strip_suffix("\n}").unwrap_or(&head);
        write!(self.out, "{fields},\n  \"firings\": [")
    }

    /// Writes what follows the firings (counts, match quality, input
    /// errors), from `report`, and closes the file.
    pub fn finish(mut self, report: &Report) -> Result<()> {
        let write = |this: &mut Self| -> std::io::Result<()> {
            if this.firings == 0 {
                this.head(report)?;
            } else {
                this.out.write_all(b"\n  ")?;
            }
            let tail = serde_json::to_string_pretty(&Tail {
                elapsed_ms: report.elapsed_ms,
                totals: &report.totals,
                match_quality: &report.match_quality,
                input_errors: &report.input_errors,
            })?;
            let fields = tail.strip_prefix("{\n").unwrap_or(&tail);
            write!(this.out, "],\n{fields}\n")?;
            this.out.flush()
        };
        write(&mut self)
            .with_context(|| format!("cannot write the report to {}", self.path.display()))
    }

    /// Where the report is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A run writes each firing to the file as it is settled.
impl FiringSink for ReportFile {
    type Part = ReportPart;

    fn firing(&mut self, report: &Report, firing: FiringReport) -> Result<()> {
        ReportFile::firing(self, report, &firing)
    }

    fn part(&self) -> Result<ReportPart> {
        ReportPart::beside(&self.path)
    }

    fn append(&mut self, report: &Report, part: ReportPart) -> Result<()> {
        ReportFile::append(self, report, part)
    }
}

/// Firings of a later stretch of a run, written as the report writes them
/// to a file of their own until the report takes them: a stretch run ahead
/// holds its firings on disk, not in memory.
pub struct ReportPart {
    out: BufWriter<File>,
    firings: usize,
}

impl ReportPart {
    /// An empty part, in an unnamed file beside the report at `report`
    /// (where there is room for the report), gone once dropped.
    pub fn beside(report: &Path) -> Result<ReportPart> {
        let folder = match report.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let file = tempfile::tempfile_in(folder)
            .with_context(|| format!("cannot write part of the report in {}", folder.display()))?;
        Ok(ReportPart {
            out: BufWriter::new(file),
            firings: 0,
        })
    }
}

impl FiringSink for ReportPart {
    type Part = ReportPart;

    fn firing(&mut self, _: &Report, firing: FiringReport) -> Result<()> {
        write_entry(&mut self.out, self.firings == 0, &firing)
            .context("cannot write part of the report")?;
        self.firings += 1;
        Ok(())
    }

    fn part(&self) -> Result<ReportPart> {
        anyhow::bail!("a part of a report is not split again")
    }

    fn append(&mut self, _: &Report, _: ReportPart) -> Result<()> {
        anyhow::bail!("a part of a report is not split again")
    }
}

/// One firing as an entry of the report's list: after a comma unless it
/// is the first, on a line of its own, indented as the list's entries.
fn write_entry(out: &mut impl Write, first: bool, firing: &FiringReport) -> std::io::Result<()> {
    if !first {
        out.write_all(b",")?;
    }
    out.write_all(b"\n    ")?;
    firing.serialize(&mut serde_json::Serializer::with_formatter(out, nested(2)?))?;
    Ok(())
}

/// Pretty JSON for a value nested `depth` levels deep in the report: its
/// lines indented to match. A pretty formatter counts its depth from the
/// arrays and objects it opens, so opening `depth` of them on nothing sets
/// it where the value sits.
fn nested(depth: usize) -> std::io::Result<serde_json::ser::PrettyFormatter<'static>> {
    use serde_json::ser::Formatter as _;
    let mut formatter = serde_json::ser::PrettyFormatter::new();
    for _ in 0..depth {
        formatter.begin_array(&mut std::io::sink())?;
    }
    Ok(formatter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ComponentInfo, Status};
    use crate::tally::Tally;

    fn report(firings: Vec<FiringReport>) -> Report {
        let tally = Tally::of(&firings);
        Report {
            component: ComponentInfo {
                name: "send-conversion-event".into(),
                version: "1".into(),
            },
            graph_url: None,
            started_at: "2026-11-26T10:00:00Z".into(),
            totals: tally.totals(0),
            match_quality: tally.match_quality(),
            firings,
            elapsed_ms: 5,
            input_errors: Vec::new(),
            tally,
        }
    }

    fn firing(id: &str) -> FiringReport {
        // An execution nests objects and arrays three levels deeper.
        let mut execution = crate::report::ExecutionReport::invalid_settings(
            "w",
            "a",
            &[action_host::wit::Problem {
                path: "/pixel_id".into(),
                message: "missing".into(),
            }],
        );
        execution.match_keys = action_host::wit::MatchKeys::EM | action_host::wit::MatchKeys::PH;
        FiringReport {
            firing_id: Some(id.into()),
            source: "f.jsonl:1".into(),
            trigger_type: Some("t".into()),
            contact_id: Some("c\n\"1".into()),
            status: Status::Error,
            error: None,
            executions: vec![execution],
        }
    }

    #[test]
    fn a_streamed_report_is_the_report_as_json() {
        let dir = tempfile::tempdir().unwrap();
        for n in [0, 1, 3] {
            let r = report((0..n).map(|i| firing(&format!("f{i}"))).collect());
            let path = dir.path().join(format!("r{n}.json"));
            ReportFile::write(&path, &r).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            let read: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(read, serde_json::to_value(&r).unwrap(), "{text}");
            // Laid out as pretty JSON: the same text, keys in the same order.
            assert_eq!(text.trim_end(), serde_json::to_string_pretty(&r).unwrap());
        }
    }

    #[test]
    fn a_report_written_in_parts_is_the_report_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let r = report((0..5).map(|i| firing(&format!("f{i}"))).collect());
        let whole = dir.path().join("whole.json");
        ReportFile::write(&whole, &r).unwrap();
        let whole = std::fs::read_to_string(&whole).unwrap();
        // Parts of every size, empty ones included, before and after
        // firings written straight to the file.
        for cuts in [
            vec![0, 0, 5],
            vec![0, 5, 5],
            vec![2, 2, 3, 5],
            vec![1, 4, 5],
        ] {
            let path = dir.path().join("parts.json");
            let mut file = ReportFile::create(&path).unwrap();
            let mut from = 0;
            for (n, &cut) in cuts.iter().enumerate() {
                if n == 0 {
                    for f in &r.firings[..cut] {
                        file.firing(&r, f).unwrap();
                    }
                } else {
                    let mut part = FiringSink::part(&file).unwrap();
                    for f in &r.firings[from..cut] {
                        part.firing(&r, f.clone()).unwrap();
                    }
                    file.append(&r, part).unwrap();
                }
                from = cut;
            }
            file.finish(&r).unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), whole, "{cuts:?}");
        }
        // A part's file is unnamed: nothing is left beside the report.
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 2);
    }
}
