//! Running counts over a run's firings, and the summary people read from
//! them. A run keeps these as its firings go by, not the firings: its
//! memory does not grow with its length (but for about 16 bytes per event sent,
//! to count events that reuse an id).

use crate::input::InputError;
use crate::quality::{Coverage, Quality};
use crate::report::{FiringReport, Status, Totals};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};

/// Counts over the firings seen so far.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Every count but the input errors, known only at the end.
    totals: Totals,
    /// Per event name: match keys of the events that went out.
    coverage: BTreeMap<String, Coverage>,
    /// Per event name: runs, sent, duplicates, skipped, failed.
    per_event: BTreeMap<String, [usize; 5]>,
    /// Per event name: fingerprints of the event ids sent.
    sent: BTreeMap<String, HashSet<u64>>,
    /// Executions an earlier run settled.
    from_outbox: usize,
    /// The first [`Tally::KEPT_PROBLEMS`] problems, and how many in all.
    problems: Vec<String>,
    problem_count: usize,
    /// Whether every firing so far was delivered or deliberately skipped.
    all_delivered: bool,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            totals: Totals::default(),
            coverage: BTreeMap::new(),
            per_event: BTreeMap::new(),
            sent: BTreeMap::new(),
            from_outbox: 0,
            problems: Vec::new(),
            problem_count: 0,
            all_delivered: true,
        }
    }
}

impl Tally {
    /// Problems kept word for word for the summary; the report has all.
    pub const KEPT_PROBLEMS: usize = 50;

    /// A tally of `firings`.
    pub fn of<'a>(firings: impl IntoIterator<Item = &'a FiringReport>) -> Tally {
        let mut tally = Tally::default();
        for f in firings {
            tally.add(f);
        }
        tally
    }

    /// Counts one settled firing.
    pub fn add(&mut self, f: &FiringReport) {
        self.totals.firings += 1;
        if !matches!(
            f.status,
            Status::Accepted | Status::Skipped | Status::DryRun
        ) {
            self.all_delivered = false;
        }
        if let Some(e) = &f.error {
            self.totals.errors += 1;
            self.problem(e.to_string());
        }
        for e in &f.executions {
            let t = &mut self.totals;
            t.executions += 1;
            match e.status {
                Status::Accepted => t.accepted += 1,
                Status::Skipped => t.skipped += 1,
                Status::DryRun => t.dry_run += 1,
                Status::Rejected => t.rejected += 1,
                Status::Failed => t.failed += 1,
                Status::Invalid => t.invalid += 1,
                Status::Error => t.errors += 1,
            }
            if e.from_outbox {
                self.from_outbox += 1;
            }
            let name = e.event_name.as_deref().unwrap_or("(no event)");
            let row = match self.per_event.get_mut(name) {
                Some(row) => row,
                None => self.per_event.entry(name.to_string()).or_default(),
            };
            row[0] += 1;
            match e.status {
                Status::Accepted | Status::DryRun => {
                    row[1] += 1;
                    // Meta keeps the first event of a name and id.
                    let sent = match self.sent.get_mut(name) {
                        Some(sent) => sent,
                        None => self.sent.entry(name.to_string()).or_default(),
                    };
                    if !sent.insert(id_print(e.event_id.as_deref())) {
                        row[2] += 1;
                    }
                    // An event an earlier run settled comes back from the
                    // outbox without its match keys: the estimate is of the
                    // events this run sent.
                    if !e.from_outbox {
                        let name = e.event_name.as_deref().unwrap_or_default();
                        match self.coverage.get_mut(name) {
                            Some(c) => c.add(e.match_keys),
                            None => self
                                .coverage
                                .entry(name.to_string())
                                .or_default()
                                .add(e.match_keys),
                        }
                    }
                }
                Status::Skipped => row[3] += 1,
                _ => row[4] += 1,
            }
            if e.status == Status::Accepted {
                continue;
            }
            let Some(err) = &e.error else { continue };
            if self.problems.len() >= Self::KEPT_PROBLEMS {
                self.problem_count += 1;
                continue;
            }
            let mut line = format!(
                "{} firing {} → {} ({}): {}",
                f.source,
                f.firing_id.as_deref().unwrap_or("?"),
                e.event_name.as_deref().unwrap_or(&e.action),
                err.class,
                err.message
            );
            if let Some(code) = err.code {
                let _ = write!(line, " [code {code}");
                if let Some(s) = err.subcode {
                    let _ = write!(line, "/{s}");
                }
                if let Some(t) = &err.fbtrace_id {
                    let _ = write!(line, ", fbtrace_id {t}");
                }
                line.push(']');
            }
            if let Some(a) = &err.advice {
                let _ = write!(line, "\n      {a}");
            }
            self.problem(line);
        }
    }

    /// Adds the counts of `later`, a tally of the firings that come after
    /// this one's: as if it had counted them too, in order.
    pub fn append(&mut self, later: Tally) {
        let Tally {
            totals,
            coverage,
            per_event,
            sent,
            from_outbox,
            problems,
            problem_count,
            all_delivered,
        } = later;
        self.totals.add(&totals);
        for (name, c) in coverage {
            self.coverage.entry(name).or_default().append(&c);
        }
        for (name, row) in per_event {
            let mine = self.per_event.entry(name).or_default();
            for (m, l) in mine.iter_mut().zip(row) {
                *m += l;
            }
        }
        // An event the later firings sent first was a duplicate if these
        // sent it already.
        for (name, ids) in sent {
            if let Some(row) = self.per_event.get_mut(&name) {
                let mine = self.sent.get(&name);
                row[2] += ids
                    .iter()
                    .filter(|id| mine.is_some_and(|m| m.contains(*id)))
                    .count();
            }
            self.sent.entry(name).or_default().extend(ids);
        }
        self.from_outbox += from_outbox;
        let room = Self::KEPT_PROBLEMS.saturating_sub(self.problems.len());
        self.problems.extend(problems.into_iter().take(room));
        self.problem_count += problem_count;
        self.all_delivered &= all_delivered;
    }

    fn problem(&mut self, line: String) {
        self.problem_count += 1;
        if self.problems.len() < Self::KEPT_PROBLEMS {
            self.problems.push(line);
        }
    }

    /// The counts, with the run's input errors.
    pub fn totals(&self, input_errors: usize) -> Totals {
        Totals {
            input_errors,
            ..self.totals.clone()
        }
    }

    /// Per event name, the match quality estimate of the events sent.
    pub fn match_quality(&self) -> BTreeMap<String, Quality> {
        self.coverage
            .iter()
            .map(|(name, c)| (name.clone(), c.estimate()))
            .collect()
    }

    /// Whether every firing was delivered or deliberately skipped.
    pub fn all_delivered(&self) -> bool {
        self.all_delivered
    }

    /// A summary for people: per event name, then the input errors and the
    /// first `max_problems` problems.
    pub fn summary(
        &self,
        elapsed_ms: u64,
        input_errors: &[InputError],
        max_problems: usize,
    ) -> String {
        let mut out = String::new();
        let t = &self.totals;
        let _ = writeln!(
            out,
            "{} firings, {} action runs in {:.1} s: {} accepted, {} skipped, {} refused by Meta, {} without answer, {} invalid, {} errors",
            t.firings,
            t.executions,
            elapsed_ms as f64 / 1000.0,
            t.accepted,
            t.skipped,
            t.rejected,
            t.failed,
            t.invalid,
            t.errors
        );
        if t.dry_run > 0 {
            let _ = writeln!(out, "{} events built and not sent (dry run)", t.dry_run);
        }
        if self.from_outbox > 0 {
            let _ = writeln!(
                out,
                "{} of them were settled by an earlier run (the outbox says so) and not sent again",
                self.from_outbox
            );
        }
        if !self.per_event.is_empty() {
            let sent = if t.dry_run > 0 { "built" } else { "accepted" };
            let _ = writeln!(
                out,
                "\n  {:<24} {:>6} {:>9} {:>10} {:>8} {:>7}   match quality (estimate, 0-10)",
                "event", "runs", sent, "duplicates", "skipped", "failed"
            );
            for (name, [runs, ok, dupes, skipped, bad]) in &self.per_event {
                let quality = match self.coverage.get(name).map(Coverage::estimate) {
                    Some(q) if q.add_to_improve.is_empty() => format!("{:.1}", q.estimate),
                    Some(q) => format!(
                        "{:.1}  add {} to raise it",
                        q.estimate,
                        q.add_to_improve.join(" or ")
                    ),
                    None => "-".into(),
                };
                let _ = writeln!(
                    out,
                    "  {name:<24} {runs:>6} {ok:>9} {dupes:>10} {skipped:>8} {bad:>7}   {quality}"
                );
            }
            let dupes: usize = self.per_event.values().map(|r| r[2]).sum();
            if dupes > 0 {
                let _ = writeln!(
                    out,
                    "\n  {dupes} event(s) reused an event name and id already sent in this run: Meta keeps only the first. \
                     If they are different conversions, map event_id to an id unique to each (the order or submission id)."
                );
            }
        }
        let count = input_errors.len() + self.problem_count;
        if count > 0 {
            let _ = writeln!(out, "\nProblems ({count}):");
            let lines = input_errors
                .iter()
                .map(ToString::to_string)
                .chain(self.problems.iter().cloned());
            let shown = max_problems.min(input_errors.len() + self.problems.len());
            for l in lines.take(shown) {
                let _ = writeln!(out, "  {l}");
            }
            if count > shown {
                let _ = writeln!(out, "  … and {} more in the report", count - shown);
            }
        }
        out
    }
}

/// The fingerprint of an event id.
fn id_print(id: Option<&str>) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ExecutionReport;
    use action_host::wit::{MatchKeys, Problem};

    /// Firings of every kind a tally counts: accepted events (some reusing
    /// an event id, one from an earlier run), skipped and invalid ones,
    /// lines that ran nothing, more problems than are kept word for word.
    fn firings() -> Vec<FiringReport> {
        (0..140)
            .map(|i| {
                let mut e = ExecutionReport::invalid_settings(
                    "w",
                    "a",
                    &[Problem {
                        path: "/pixel_id".into(),
                        message: format!("missing {i}"),
                    }],
                );
                e.event_name = Some(["Purchase", "Lead"][i % 2].into());
                e.event_id = Some(format!("e{}", i % 37));
                e.match_keys = if i % 3 == 0 {
                    MatchKeys::EM
                } else {
                    MatchKeys::EM | MatchKeys::PH
                };
                e.from_outbox = i % 11 == 0;
                e.status = match i % 5 {
                    0..=2 => Status::Accepted,
                    3 => Status::Skipped,
                    _ => Status::Invalid,
                };
                let bad = i % 13 == 0;
                FiringReport {
                    firing_id: Some(format!("f{i}")),
                    source: format!("f.jsonl:{}", i + 1),
                    trigger_type: Some("t".into()),
                    contact_id: Some("c".into()),
                    status: if bad { Status::Error } else { e.status },
                    error: bad.then(|| {
                        InputError::new(std::path::Path::new("f.jsonl"), Some(i + 1), None, "bad")
                    }),
                    executions: if bad { Vec::new() } else { vec![e] },
                }
            })
            .collect()
    }

    /// An accepted `Purchase` with `keys`, sent by this run or settled by
    /// an earlier one.
    fn accepted(keys: MatchKeys, from_outbox: bool) -> FiringReport {
        let mut e = ExecutionReport::invalid_settings("w", "a", &[]);
        e.status = Status::Accepted;
        e.event_name = Some("Purchase".into());
        e.event_id = Some(format!("e{}", u8::from(from_outbox)));
        e.match_keys = keys;
        e.from_outbox = from_outbox;
        FiringReport {
            firing_id: Some("f".into()),
            source: "f.jsonl:1".into(),
            trigger_type: Some("t".into()),
            contact_id: Some("c".into()),
            status: Status::Accepted,
            error: None,
            executions: vec![e],
        }
    }

    #[test]
    fn events_settled_by_an_earlier_run_leave_the_estimate_to_those_sent() {
        // The outbox keeps no match keys: an earlier run's event comes back
        // without any, and would read as an event that carried none.
        let sent = accepted(MatchKeys::EM | MatchKeys::PH, false);
        let earlier = accepted(MatchKeys::empty(), true);
        let both = Tally::of(&[sent.clone(), earlier.clone()]);
        assert_eq!(
            format!("{:?}", both.match_quality()),
            format!("{:?}", Tally::of(&[sent]).match_quality())
        );
        let resumed = Tally::of(&[earlier]);
        assert!(resumed.match_quality().is_empty());
        let summary = resumed.summary(5, &[], usize::MAX);
        let row = summary
            .lines()
            .find(|l| l.trim_start().starts_with("Purchase"))
            .expect("a row for the event");
        assert!(row.trim_end().ends_with("   -"), "no estimate: {row}");
    }

    #[test]
    fn tallies_appended_in_order_count_as_one_over_all_the_firings() {
        let all = firings();
        let whole = Tally::of(&all);
        assert!(whole.per_event.values().any(|row| row[2] > 0));
        assert!(whole.problem_count > Tally::KEPT_PROBLEMS);
        for cuts in [
            vec![0],
            vec![1],
            vec![70],
            vec![139],
            vec![140],
            vec![20, 50, 51, 120],
        ] {
            let mut parts = Vec::new();
            let mut from = 0;
            for &cut in cuts.iter().chain([&all.len()]) {
                parts.push(Tally::of(&all[from..cut]));
                from = cut;
            }
            let mut tally = parts.remove(0);
            for later in parts {
                tally.append(later);
            }
            assert_eq!(tally.totals(3), whole.totals(3), "cut at {cuts:?}");
            assert_eq!(
                tally.summary(5, &[], usize::MAX),
                whole.summary(5, &[], usize::MAX),
                "cut at {cuts:?}"
            );
            assert_eq!(tally.all_delivered(), whole.all_delivered());
            assert_eq!(
                format!("{:?}", tally.match_quality()),
                format!("{:?}", whole.match_quality())
            );
        }
    }
}
