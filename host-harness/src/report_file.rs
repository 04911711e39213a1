//! The JSON report written as a run goes: each firing as it is settled,
//! the counts at the end. A run of any length holds one firing's JSON at a
//! time, not its report.

use crate::report::{FiringReport, Report};
use crate::run::FiringSink;
use anyhow::{Context as _, Result};
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
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
        } else {
            self.out.write_all(b",")?;
        }
        self.out.write_all(b"\n    ")?;
        firing.serialize(&mut serde_json::Serializer::with_formatter(
            &mut self.out,
            nested(2)?,
        ))?;
        self.firings += 1;
        Ok(())
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
    fn firing(&mut self, report: &Report, firing: FiringReport) -> Result<()> {
        ReportFile::firing(self, report, &firing)
    }
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
}
