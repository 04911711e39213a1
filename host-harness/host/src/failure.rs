//! Why the host stopped an execution, typed so that embedders match on the
//! kind of limit rather than on message text.

use crate::egress::{EgressCap, human_bytes};
use std::time::Duration;

/// The host stopped the component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostFailure {
    /// The execution ran past its wall-clock limit (HTTP wait included).
    WallClock(Duration),
    /// The execution used up its CPU time.
    Cpu(Duration),
    /// The execution asked for more linear memory than it may have.
    Memory(usize),
    /// A request went past a cap of the egress policy.
    Egress(EgressCap),
    /// The component panicked.
    Panic,
    /// The component trapped otherwise, or could not be instantiated.
    Trap(String),
    /// The component broke the action's contract: `execute-batch` answered
    /// another number of results than the items it was given, so no result
    /// can be told to be whose.
    BatchResults {
        /// Items in the batch.
        items: usize,
        /// Results the component answered.
        results: usize,
    },
    /// The component reported an event as accepted by Meta, but no request
    /// of the execution was answered with that acknowledgement (see
    /// [`Execution::require_acknowledgement`](crate::Execution::require_acknowledgement)).
    Unacknowledged {
        /// The trace id the component named as Meta's.
        fbtrace_id: String,
    },
}

impl HostFailure {
    /// Whether the same execution may succeed later: only a wall-clock
    /// stop, which a slow network causes.
    pub fn retriable(&self) -> bool {
        matches!(self, HostFailure::WallClock(_))
    }

    /// Whether the failure is a host limit that a smaller batch may stay
    /// within.
    pub fn is_limit(&self) -> bool {
        !matches!(
            self,
            HostFailure::Panic
                | HostFailure::Trap(_)
                | HostFailure::BatchResults { .. }
                | HostFailure::Unacknowledged { .. }
        )
    }
}

impl std::fmt::Display for HostFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostFailure::WallClock(d) => {
                write!(f, "stopped after {} ms (wall-clock limit)", d.as_millis())
            }
            HostFailure::Cpu(d) => write!(
                f,
                "CPU time limit reached: the component computed for more than {} ms",
                d.as_millis()
            ),
            HostFailure::Memory(cap) => write!(
                f,
                "memory limit reached: the component asked for more than {} of linear memory",
                human_bytes(*cap)
            ),
            HostFailure::Egress(cap) => write!(f, "{cap}"),
            HostFailure::Panic => f.write_str("the component panicked"),
            HostFailure::Trap(t) => write!(f, "the component crashed: {t}"),
            HostFailure::BatchResults { items, results } => write!(
                f,
                "the component broke the action contract: it answered {results} results for a batch of {items}"
            ),
            HostFailure::Unacknowledged { fbtrace_id } => write!(
                f,
                "the component broke the action contract: it reported an event as accepted by Meta (fbtrace_id `{fbtrace_id}`), but none of its requests was answered so; not counted as delivered"
            ),
        }
    }
}

/// Carried through wasmtime's error from the call that found it.
impl std::error::Error for HostFailure {}
