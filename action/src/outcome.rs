//! What an execution reports back: Rust twins of the WIT `outcome`,
//! `failure` and error records.

use crate::names::ActionSource;
use crate::normalize::UserKey;

/// One problem in the settings or in a firing's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON pointer into the settings, or the Meta parameter concerned.
    pub path: String,
    /// What is wrong, in words a marketer understands.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Something dropped or doubtful that did not stop the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The Meta parameter or settings field concerned.
    pub field: String,
    /// What happened and why.
    pub message: String,
}

impl Warning {
    /// A warning about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Warning {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Meta accepted the event, or the action deliberately did not send it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The event name sent.
    pub event_name: String,
    /// The deduplication id sent.
    pub event_id: String,
    /// The `event_time` sent.
    pub event_time: i64,
    /// The action source sent.
    pub action_source: ActionSource,
    /// Meta's `events_received`.
    pub events_received: u32,
    /// Meta's trace id.
    pub fbtrace_id: String,
    /// Meta's `messages`.
    pub messages: Vec<String>,
    /// The `user_data` keys that went out valid.
    pub match_keys: Vec<UserKey>,
    /// Whether a test event code was attached.
    pub test_event: bool,
    /// Fields dropped or corrected on the way.
    pub warnings: Vec<Warning>,
    /// Why the event was deliberately not sent; nothing was sent then.
    pub skipped: Option<String>,
}

/// Meta answered with an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaError {
    /// HTTP status of the answer.
    pub http_status: u16,
    /// `error.code`.
    pub code: i32,
    /// `error.error_subcode`.
    pub subcode: Option<i32>,
    /// `error.type`.
    pub error_type: String,
    /// `error.message`.
    pub message: String,
    /// `error_user_title` and `error_user_msg`, joined.
    pub user_message: Option<String>,
    /// `error.fbtrace_id`.
    pub fbtrace_id: Option<String>,
    /// Whether the same event can succeed later.
    pub retriable: bool,
    /// What the user should do.
    pub advice: String,
}

/// No usable answer from Meta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportFailure {
    /// What happened.
    pub message: String,
    /// Whether the same event can succeed later.
    pub retriable: bool,
}

/// Why an execution did not deliver its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionError {
    /// The settings are unusable.
    InvalidSettings(Vec<Problem>),
    /// The firing's data cannot make a valid event.
    InvalidInput(Vec<Problem>),
    /// Meta answered with an error.
    Rejected(MetaError),
    /// No usable answer from Meta.
    Transport(TransportFailure),
}

impl ActionError {
    /// Whether sending the same event again later can succeed.
    pub fn retriable(&self) -> bool {
        match self {
            ActionError::InvalidSettings(_) | ActionError::InvalidInput(_) => false,
            ActionError::Rejected(e) => e.retriable,
            ActionError::Transport(t) => t.retriable,
        }
    }
}

/// A failed execution, with what is known of its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Why it failed.
    pub error: ActionError,
    /// The event name, when the settings were readable.
    pub event_name: Option<String>,
    /// The event id built or sent.
    pub event_id: Option<String>,
    /// Fields dropped or corrected before the failure.
    pub warnings: Vec<Warning>,
}

impl Failure {
    /// A failure that happened before any event existed.
    pub fn bare(error: ActionError) -> Self {
        Failure {
            error,
            event_name: None,
            event_id: None,
            warnings: Vec::new(),
        }
    }
}
