//! Whether Meta's answers back what the action reports as delivered.
//!
//! The action says Meta accepted an event by returning an outcome that
//! names Meta's `fbtrace_id`. The host saw every answer of the execution,
//! so it need not take the component's word for it: an outcome counts as a
//! delivery only when a success answer of the same execution carries that
//! trace id. Otherwise a component that claims an acknowledgement it never
//! got (a bug, or a hostile build) would have its events marked delivered
//! and never sent.

use crate::{Exchange, ExchangeResult, Execution, HostFailure, wit};

/// Whether one of `exchanges` is a success answer (2xx) that names
/// `fbtrace_id` (an empty one matches a success answer without one).
fn acknowledges(exchanges: &[Exchange], fbtrace_id: &str) -> bool {
    exchanges.iter().any(|x| match &x.result {
        ExchangeResult::Answered {
            status,
            fbtrace_id: answered,
            ..
        } => (200..300).contains(status) && answered.as_deref().unwrap_or("") == fbtrace_id,
        _ => false,
    })
}

/// The first outcome among `outcomes` that reports a delivery none of
/// `exchanges` acknowledges; skipped events were not sent and need none.
fn unacknowledged<'a>(
    outcomes: impl IntoIterator<Item = &'a wit::Outcome>,
    exchanges: &[Exchange],
) -> Option<HostFailure> {
    outcomes
        .into_iter()
        .find(|o| o.skipped.is_none() && !acknowledges(exchanges, &o.fbtrace_id))
        .map(|o| HostFailure::Unacknowledged {
            fbtrace_id: o.fbtrace_id.clone(),
        })
}

impl Execution<wit::Outcome> {
    /// The execution, its outcome replaced by
    /// [`HostFailure::Unacknowledged`] when it reports a delivery that no
    /// answer of the execution acknowledges. A platform that records
    /// deliveries calls it on every execution, as `host-harness run` does.
    pub fn require_acknowledgement(mut self) -> Self {
        if let Ok(Ok(outcome)) = &self.result
            && let Some(failure) = unacknowledged([outcome], &self.exchanges)
        {
            self.result = Err(failure);
        }
        self
    }
}

impl Execution<Vec<Result<wit::Outcome, wit::Failure>>> {
    /// The batch's execution, its results replaced by
    /// [`HostFailure::Unacknowledged`] when any of them reports a delivery
    /// that no answer of the execution acknowledges: a component that
    /// claims one acknowledgement falsely cannot be trusted with the others.
    pub fn require_acknowledgement(mut self) -> Self {
        if let Ok(Ok(results)) = &self.result
            && let Some(failure) = unacknowledged(
                results.iter().filter_map(|r| r.as_ref().ok()),
                &self.exchanges,
            )
        {
            self.result = Err(failure);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn answered(status: u16, fbtrace_id: Option<&str>) -> Exchange {
        Exchange {
            method: "POST".into(),
            url: "https://graph.facebook.com/v24.0/1/events".into(),
            sent_to: None,
            request_headers: Vec::new(),
            request_body: String::new(),
            result: ExchangeResult::Answered {
                status,
                body: String::new(),
                fbtrace_id: fbtrace_id.map(str::to_string),
            },
            elapsed_ms: 0,
        }
    }

    fn outcome(fbtrace_id: &str, skipped: Option<&str>) -> wit::Outcome {
        wit::Outcome {
            event_name: "Lead".into(),
            event_id: "e1".into(),
            event_time: 1,
            action_source: wit::ActionSource::Website,
            events_received: 1,
            fbtrace_id: fbtrace_id.into(),
            messages: Vec::new(),
            match_keys: wit::MatchKeys::empty(),
            test_event: false,
            warnings: Vec::new(),
            skipped: skipped.map(str::to_string),
        }
    }

    fn execution<T>(result: T, exchanges: Vec<Exchange>) -> Execution<T> {
        Execution {
            result: Ok(Ok(result)),
            exchanges,
            elapsed: Duration::ZERO,
            cpu: Duration::ZERO,
            memory: 0,
            reused: false,
        }
    }

    fn kept(exec: Execution) -> bool {
        matches!(exec.require_acknowledgement().result, Ok(Ok(_)))
    }

    #[test]
    fn an_outcome_counts_only_with_a_success_answer_naming_its_trace_id() {
        let answers = vec![answered(400, Some("A")), answered(200, Some("B"))];
        assert!(kept(execution(outcome("B", None), answers.clone())));
        assert!(
            !kept(execution(outcome("A", None), answers.clone())),
            "a refusal acknowledges nothing"
        );
        assert!(
            !kept(execution(outcome("C", None), answers)),
            "another trace id"
        );
        assert!(
            !kept(execution(outcome("B", None), Vec::new())),
            "no request at all"
        );
        assert!(
            kept(execution(outcome("", None), vec![answered(200, None)])),
            "a success answer without a trace id backs an outcome without one"
        );
        assert!(!kept(execution(
            outcome("", None),
            vec![answered(503, None)]
        )));
        assert!(
            kept(execution(outcome("", Some("no consent")), Vec::new())),
            "a skipped event was not sent"
        );
        let refused = execution(outcome("B", None), Vec::new())
            .require_acknowledgement()
            .result;
        assert_eq!(
            refused.unwrap_err(),
            HostFailure::Unacknowledged {
                fbtrace_id: "B".into()
            }
        );
    }

    #[test]
    fn one_false_acknowledgement_fails_the_whole_batch() {
        let failure = wit::Failure {
            error: wit::ActionError::InvalidInput(Vec::new()),
            event_name: None,
            event_id: None,
            warnings: Vec::new(),
        };
        let answers = vec![answered(200, Some("B1")), answered(200, Some("B2"))];
        let batch = |ids: &[&str]| {
            let mut results: Vec<Result<wit::Outcome, wit::Failure>> = Vec::new();
            for id in ids {
                results.push(Ok(outcome(id, None)));
            }
            results.push(Err(failure.clone()));
            execution(results, answers.clone()).require_acknowledgement()
        };
        assert!(matches!(batch(&["B1", "B2", "B1"]).result, Ok(Ok(r)) if r.len() == 4));
        assert_eq!(
            batch(&["B1", "X", "B2"]).result.unwrap_err(),
            HostFailure::Unacknowledged {
                fbtrace_id: "X".into()
            }
        );
    }
}
