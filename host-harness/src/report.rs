//! The run report: one entry per firing (every line of the firings file),
//! one per action it ran, with Meta's answer or the error, the warnings and
//! the requests made. JSON for machines, a summary for people.

use crate::input::InputError;
use crate::quality::Quality;
use crate::tally::Tally;
use action_host::{Exchange, ExchangeResult, Execution, HostFailure, Redactor, wit};
use serde::Serialize;
use std::collections::BTreeMap;

/// How an execution or a firing ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Meta accepted the event.
    Accepted,
    /// Deliberately not sent (the contact opted out of marketing).
    Skipped,
    /// Dry run: built and shown, not sent.
    DryRun,
    /// Meta refused the event.
    Rejected,
    /// No answer from Meta (timeout, connection, refused egress).
    Failed,
    /// The settings or the firing's data cannot make an event; nothing sent.
    Invalid,
    /// The firing could not be run (bad line, unknown contact or trigger) or
    /// the host stopped the component.
    Error,
}

/// The whole run. Its JSON puts the firings before the counts: a long
/// run's report is written as its firings finish (see [`ReportFile`]), and
/// the counts are known last.
///
/// [`ReportFile`]: crate::report_file::ReportFile
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The component that ran.
    pub component: ComponentInfo,
    /// Where Graph API requests went, when redirected.
    pub graph_url: Option<String>,
    /// When the run started, RFC 3339.
    pub started_at: String,
    /// One entry per firing, in file order; empty when the run gave them
    /// to a sink as they finished (see [`crate::run::run_to`]).
    pub firings: Vec<FiringReport>,
    /// Wall-clock milliseconds.
    pub elapsed_ms: u64,
    /// Counts.
    pub totals: Totals,
    /// Per event name, the match quality estimate of the events sent.
    pub match_quality: BTreeMap<String, Quality>,
    /// Problems with the workflow and contact files.
    pub input_errors: Vec<InputError>,
    /// What the summary is made of, counted as the firings went by.
    #[serde(skip)]
    pub tally: Tally,
}

/// Name and version of the component.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentInfo {
    /// Machine name.
    pub name: String,
    /// Version.
    pub version: String,
}

/// Counts over the run.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    /// Firings read (good and bad lines).
    pub firings: usize,
    /// Action executions.
    pub executions: usize,
    /// Executions Meta accepted.
    pub accepted: usize,
    /// Executions deliberately not sent.
    pub skipped: usize,
    /// Executions built and not sent (dry run).
    pub dry_run: usize,
    /// Executions Meta refused.
    pub rejected: usize,
    /// Executions without an answer.
    pub failed: usize,
    /// Executions refused before sending.
    pub invalid: usize,
    /// Firings that could not run, plus host failures.
    pub errors: usize,
    /// Problems in workflow and contact files.
    pub input_errors: usize,
}

impl Totals {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &Totals) {
        let Totals {
            firings,
            executions,
            accepted,
            skipped,
            dry_run,
            rejected,
            failed,
            invalid,
            errors,
            input_errors,
        } = other;
        self.firings += firings;
        self.executions += executions;
        self.accepted += accepted;
        self.skipped += skipped;
        self.dry_run += dry_run;
        self.rejected += rejected;
        self.failed += failed;
        self.invalid += invalid;
        self.errors += errors;
        self.input_errors += input_errors;
    }
}

/// One firing.
#[derive(Debug, Clone, Serialize)]
pub struct FiringReport {
    /// The firing's id, when readable.
    pub firing_id: Option<String>,
    /// `file:line`.
    pub source: String,
    /// Trigger type, when readable.
    pub trigger_type: Option<String>,
    /// Contact id, when readable; one that is an email address or a phone
    /// number is shown as `sha256:` and its hash (see
    /// [`shown_id`](crate::contacts::shown_id)).
    pub contact_id: Option<String>,
    /// Accepted when every execution was; else the worst other status.
    pub status: Status,
    /// Why the firing could not run at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<InputError>,
    /// One per action run.
    pub executions: Vec<ExecutionReport>,
}

/// One action run for one firing.
#[derive(Debug, Clone, Serialize)]
pub struct ExecutionReport {
    /// Workflow name.
    pub workflow: String,
    /// Action name.
    pub action: String,
    /// How it ended.
    pub status: Status,
    /// Event name.
    pub event_name: Option<String>,
    /// Event id sent or built.
    pub event_id: Option<String>,
    /// Meta's acknowledgement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    /// Why the event was deliberately not sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Dry run: the request that would be sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_send: Option<WouldSend>,
    /// The error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
    /// Fields dropped or corrected.
    pub warnings: Vec<WarningReport>,
    /// `user_data` keys that went out valid, written as Meta's names.
    #[serde(serialize_with = "match_key_names")]
    pub match_keys: wit::MatchKeys,
    /// Every request made, token redacted.
    pub requests: Vec<Exchange>,
    /// Attempts made in this run (0: settled by an earlier run).
    pub attempts: u32,
    /// Settled by an earlier run, read from the outbox; not sent again.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub from_outbox: bool,
    /// Wall-clock milliseconds.
    pub elapsed_ms: u64,
}

/// Meta's acknowledgement.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// `events_received`.
    pub events_received: u32,
    /// `fbtrace_id`.
    pub fbtrace_id: String,
    /// `messages`.
    pub messages: Vec<String>,
    /// Sent with a test event code.
    pub test_event: bool,
    /// `event_time` sent.
    pub event_time: i64,
}

/// A request a dry run would have sent.
#[derive(Debug, Clone, Serialize)]
pub struct WouldSend {
    /// `POST` URL (no token in it).
    pub url: String,
    /// The body: customer data hashed, no token.
    pub body: serde_json::Value,
}

/// A warning.
#[derive(Debug, Clone, Serialize)]
pub struct WarningReport {
    /// The parameter.
    pub field: String,
    /// What happened.
    pub message: String,
}

/// An error, flattened for JSON.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ErrorReport {
    /// `invalid_settings`, `invalid_input`, `rejected`, `transport` or `host`.
    pub class: &'static str,
    /// One line.
    pub message: String,
    /// Problems with their paths.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<ProblemReport>,
    /// Whether a later retry can succeed.
    pub retriable: bool,
    /// HTTP status from Meta.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Meta's code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// Meta's subcode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subcode: Option<i32>,
    /// Meta's trace id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fbtrace_id: Option<String>,
    /// What to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
}

impl ErrorReport {
    /// One line for the outbox and logs: class, message, Meta's codes.
    pub fn summary(&self) -> String {
        let mut s = format!("{}: {}", self.class, self.message);
        if let Some(code) = self.code {
            s.push_str(&format!(" [code {code}"));
            if let Some(sub) = self.subcode {
                s.push_str(&format!("/{sub}"));
            }
            s.push(']');
        }
        s
    }
}

/// A problem with its path.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemReport {
    /// Settings pointer or Meta parameter.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Match keys as the list of Meta's names the report has always shown.
fn match_key_names<S: serde::Serializer>(
    keys: &wit::MatchKeys,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(keys.names())
}

fn problems(list: &[wit::Problem]) -> Vec<ProblemReport> {
    list.iter()
        .map(|p| ProblemReport {
            path: p.path.clone(),
            message: p.message.clone(),
        })
        .collect()
}

fn warnings(list: &[wit::Warning]) -> Vec<WarningReport> {
    list.iter()
        .map(|w| WarningReport {
            field: w.field.clone(),
            message: w.message.clone(),
        })
        .collect()
}

impl ExecutionReport {
    /// The report of one execution.
    pub fn from_execution(workflow: &str, action: &str, exec: Execution) -> Self {
        Self::from_result(workflow, action, exec.result, exec.exchanges, exec.elapsed)
    }

    /// The report of one execution's result; `exchanges` are the requests it
    /// made (shared by every item of a batch).
    pub fn from_result(
        workflow: &str,
        action: &str,
        result: Result<Result<wit::Outcome, wit::Failure>, HostFailure>,
        exchanges: Vec<Exchange>,
        elapsed: std::time::Duration,
    ) -> Self {
        let exec = Execution {
            result,
            exchanges,
            elapsed,
            cpu: std::time::Duration::ZERO,
            memory: 0,
            reused: false,
        };
        let mut r = ExecutionReport {
            workflow: workflow.to_string(),
            action: action.to_string(),
            status: Status::Error,
            event_name: None,
            event_id: None,
            answer: None,
            skipped: None,
            would_send: None,
            error: None,
            warnings: Vec::new(),
            match_keys: wit::MatchKeys::empty(),
            requests: exec.exchanges,
            attempts: 1,
            from_outbox: false,
            elapsed_ms: exec.elapsed.as_millis() as u64,
        };
        match exec.result {
            Ok(Ok(o)) => {
                r.status = if o.skipped.is_some() {
                    Status::Skipped
                } else {
                    Status::Accepted
                };
                r.skipped = o.skipped;
                r.event_name = Some(o.event_name);
                r.event_id = Some(o.event_id);
                r.warnings = warnings(&o.warnings);
                r.match_keys = o.match_keys;
                r.answer = Some(Answer {
                    events_received: o.events_received,
                    fbtrace_id: o.fbtrace_id,
                    messages: o.messages,
                    test_event: o.test_event,
                    event_time: o.event_time,
                });
            }
            Ok(Err(f)) => {
                r.event_name = f.event_name;
                r.event_id = f.event_id;
                r.warnings = warnings(&f.warnings);
                let (status, error) = error_report(&f.error);
                r.status = status;
                r.error = Some(error);
            }
            Err(host) => {
                r.error = Some(ErrorReport {
                    class: "host",
                    message: host.to_string(),
                    retriable: host.retriable(),
                    ..ErrorReport::default()
                });
            }
        }
        r
    }

    /// Replaces every secret in the report's text: Meta's messages, advice,
    /// warnings, problems and requests may quote back what was sent.
    pub fn redact(&mut self, redactor: &Redactor) {
        if redactor.is_empty() {
            return;
        }
        let texts = self
            .answer
            .iter_mut()
            .flat_map(|a| a.messages.iter_mut().chain([&mut a.fbtrace_id]))
            .chain(self.skipped.iter_mut())
            .chain(self.event_id.iter_mut())
            .chain(self.warnings.iter_mut().map(|w| &mut w.message))
            .chain(self.error.iter_mut().flat_map(|e| {
                [&mut e.message]
                    .into_iter()
                    .chain(e.advice.iter_mut())
                    .chain(e.fbtrace_id.iter_mut())
                    .chain(e.problems.iter_mut().map(|p| &mut p.message))
            }));
        for t in texts {
            redactor.scrub(t);
        }
        for x in &mut self.requests {
            redactor.scrub(&mut x.url);
            redactor.scrub(&mut x.request_body);
            match &mut x.result {
                ExchangeResult::Answered { body, .. } => redactor.scrub(body),
                ExchangeResult::Denied { reason, .. } => redactor.scrub(reason),
                ExchangeResult::Failed { error } => redactor.scrub(error),
            }
        }
        if let Some(w) = &mut self.would_send {
            let text = w.body.to_string();
            if let std::borrow::Cow::Owned(clean) = redactor.redact(&text) {
                w.body = serde_json::from_str(&clean).unwrap_or(serde_json::Value::String(clean));
            }
        }
    }

    /// An execution an earlier run settled, as the outbox recorded it.
    pub fn from_outbox(workflow: &str, action: &str, entry: &crate::outbox::Entry) -> Self {
        use crate::outbox::State;
        let mut r = ExecutionReport::invalid_settings(workflow, action, &[]);
        r.error = None;
        r.from_outbox = true;
        r.event_name = entry.event_name.clone();
        r.event_id = entry.event_id.clone();
        match entry.state {
            State::Pending => {
                r.status = Status::Failed;
                r.error = Some(ErrorReport {
                    class: "pending",
                    message: "not yet acknowledged by Meta; the next run sends it".into(),
                    retriable: true,
                    ..ErrorReport::default()
                });
            }
            State::Delivered => {
                r.status = Status::Accepted;
                r.answer = Some(Answer {
                    events_received: 1,
                    fbtrace_id: entry.fbtrace_id.clone().unwrap_or_default(),
                    messages: Vec::new(),
                    test_event: false,
                    event_time: 0,
                });
            }
            State::Skipped => r.status = Status::Skipped,
            State::Dead => {
                r.status = dead_status(entry.last_error.as_deref());
                r.error = Some(ErrorReport {
                    class: "dead_letter",
                    message: format!(
                        "dead-lettered by an earlier run: {} (`host-harness outbox retry` sends it again)",
                        entry.last_error.as_deref().unwrap_or("no answer")
                    ),
                    fbtrace_id: entry.fbtrace_id.clone(),
                    ..ErrorReport::default()
                });
            }
        }
        r
    }

    /// The report of a dry-run execution.
    pub fn from_preview(workflow: &str, action: &str, exec: Execution<wit::EventPreview>) -> Self {
        let mut r = ExecutionReport::invalid_settings(workflow, action, &[]);
        r.error = None;
        r.elapsed_ms = exec.elapsed.as_millis() as u64;
        match exec.result {
            Ok(Ok(p)) => {
                r.status = if p.skipped.is_some() {
                    Status::Skipped
                } else {
                    Status::DryRun
                };
                r.event_name = Some(p.event_name);
                r.event_id = Some(p.event_id);
                r.warnings = warnings(&p.warnings);
                r.match_keys = p.match_keys;
                r.skipped = p.skipped;
                if !p.url.is_empty() {
                    r.would_send = Some(WouldSend {
                        url: p.url,
                        body: serde_json::from_str(&p.body)
                            .unwrap_or(serde_json::Value::String(p.body)),
                    });
                }
            }
            Ok(Err(f)) => {
                r.event_name = f.event_name;
                r.event_id = f.event_id;
                r.warnings = warnings(&f.warnings);
                let (status, error) = error_report(&f.error);
                r.status = status;
                r.error = Some(error);
            }
            Err(host) => {
                r.status = Status::Error;
                r.error = Some(ErrorReport {
                    class: "host",
                    message: host.to_string(),
                    ..ErrorReport::default()
                });
            }
        }
        r
    }

    /// An execution not run because the action's settings are invalid.
    pub fn invalid_settings(workflow: &str, action: &str, list: &[wit::Problem]) -> Self {
        let (status, error) = error_report(&wit::ActionError::InvalidSettings(list.to_vec()));
        ExecutionReport {
            workflow: workflow.to_string(),
            action: action.to_string(),
            status,
            event_name: None,
            event_id: None,
            answer: None,
            skipped: None,
            would_send: None,
            error: Some(error),
            warnings: Vec::new(),
            match_keys: wit::MatchKeys::empty(),
            requests: Vec::new(),
            attempts: 0,
            from_outbox: false,
            elapsed_ms: 0,
        }
    }
}

/// The status a dead entry had when its run gave it up, from the class its
/// error summary starts with ([`ErrorReport::summary`]): only Meta's refusal
/// counts as refused by Meta.
fn dead_status(last_error: Option<&str>) -> Status {
    let class = last_error
        .and_then(|e| e.split_once(": "))
        .map(|(class, _)| class);
    match class {
        Some("rejected") => Status::Rejected,
        Some("invalid_settings" | "invalid_input") => Status::Invalid,
        Some("host") => Status::Error,
        _ => Status::Failed,
    }
}

fn error_report(e: &wit::ActionError) -> (Status, ErrorReport) {
    match e {
        wit::ActionError::InvalidSettings(p) => (
            Status::Invalid,
            ErrorReport {
                class: "invalid_settings",
                message: format!(
                    "the action's settings are invalid ({} problems); nothing was sent",
                    p.len()
                ),
                problems: problems(p),
                ..ErrorReport::default()
            },
        ),
        wit::ActionError::InvalidInput(p) => (
            Status::Invalid,
            ErrorReport {
                class: "invalid_input",
                message: p
                    .iter()
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect::<Vec<_>>()
                    .join("; "),
                problems: problems(p),
                ..ErrorReport::default()
            },
        ),
        wit::ActionError::Rejected(m) => (
            Status::Rejected,
            ErrorReport {
                class: "rejected",
                message: m.message.clone(),
                retriable: m.retriable,
                http_status: Some(m.http_status),
                code: Some(m.code),
                subcode: m.subcode,
                fbtrace_id: m.fbtrace_id.clone(),
                advice: Some(m.advice.clone()),
                ..ErrorReport::default()
            },
        ),
        wit::ActionError::Transport(t) => (
            Status::Failed,
            ErrorReport {
                class: "transport",
                message: t.message.clone(),
                retriable: t.retriable,
                ..ErrorReport::default()
            },
        ),
    }
}

impl FiringReport {
    /// Sets the firing's status from its executions.
    pub fn settle(&mut self) {
        self.status = if self.error.is_some() {
            Status::Error
        } else {
            self.executions
                .iter()
                .map(|e| e.status)
                .max()
                .unwrap_or(Status::Error)
        };
    }
}

impl Report {
    /// Whether every firing was delivered (or deliberately skipped) and
    /// every input was readable.
    pub fn succeeded(&self) -> bool {
        self.input_errors.is_empty() && self.tally.all_delivered()
    }

    /// A summary for people: per event name, then the first `max_problems`
    /// problems (at most [`Tally::KEPT_PROBLEMS`]).
    pub fn summary(&self, max_problems: usize) -> String {
        self.tally
            .summary(self.elapsed_ms, &self.input_errors, max_problems)
    }
}
