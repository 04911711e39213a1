//! When to send again: an execution's result classified (Meta's answer by
//! reference section 5, the host's stops by kind), and exponential backoff
//! with jitter, longer for rate limits.

use action_host::{HostFailure, wit};
use std::time::Duration;

/// How hard to try.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per execution in one run, the first included.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubled for each next one.
    pub base: Duration,
    /// Longest backoff.
    pub cap: Duration,
    /// Backoff before the second attempt after a rate limit.
    pub rate_limit_base: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(60),
            rate_limit_base: Duration::from_secs(10),
        }
    }
}

/// What an execution's result means for delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Meta has it (or it was deliberately skipped): done.
    Done,
    /// Worth sending again later.
    Retry {
        /// Meta said to slow down.
        rate_limited: bool,
    },
    /// Sending again cannot help: dead-letter it.
    Dead,
}

/// Meta's codes that mean "too many requests".
const RATE_LIMIT_CODES: [i32; 6] = [4, 17, 32, 341, 613, 80004];

/// What one execution returned: the action's result, or why the host
/// stopped it.
pub type ExecutionResult = Result<Result<wit::Outcome, wit::Failure>, HostFailure>;

/// Classifies one execution's result.
pub fn verdict(result: &ExecutionResult) -> Verdict {
    match result {
        // Accepted, or deliberately skipped.
        Ok(Ok(_)) => Verdict::Done,
        Ok(Err(failure)) => match &failure.error {
            wit::ActionError::InvalidSettings(_) | wit::ActionError::InvalidInput(_) => {
                Verdict::Dead
            }
            wit::ActionError::Rejected(m) if m.retriable => Verdict::Retry {
                rate_limited: m.http_status == 429 || RATE_LIMIT_CODES.contains(&m.code),
            },
            wit::ActionError::Transport(t) if t.retriable => Verdict::Retry {
                rate_limited: false,
            },
            wit::ActionError::Rejected(_) | wit::ActionError::Transport(_) => Verdict::Dead,
        },
        Err(stopped) if stopped.retriable() => Verdict::Retry {
            rate_limited: false,
        },
        Err(_) => Verdict::Dead,
    }
}

/// Whether Meta refused a whole request as invalid (code 100): in a batch,
/// one bad event does that to all, so the batch is split to find it.
pub fn refused_as_invalid(result: &ExecutionResult) -> bool {
    matches!(result, Ok(Err(wit::Failure { error: wit::ActionError::Rejected(m), .. })) if m.code == 100 && !m.retriable)
}

impl RetryPolicy {
    /// The pause before attempt `attempt + 1` (attempt counts from 1):
    /// exponential, capped, with "equal jitter" (between half and all of it)
    /// so that many retries do not hit Meta at the same instant.
    pub fn backoff(&self, attempt: u32, rate_limited: bool, jitter: f64) -> Duration {
        let base = if rate_limited {
            self.rate_limit_base
        } else {
            self.base
        };
        let full = base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.cap);
        full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// A uniform draw in [0, 1) from the clock, for jitter.
pub fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut x = u64::from(nanos) ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_longer_for_rate_limits() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1, false, 1.0), Duration::from_millis(500));
        assert_eq!(p.backoff(2, false, 1.0), Duration::from_secs(1));
        assert_eq!(
            p.backoff(3, false, 0.0),
            Duration::from_secs(1),
            "half with no jitter"
        );
        assert_eq!(p.backoff(30, false, 1.0), Duration::from_secs(60));
        assert_eq!(p.backoff(1, true, 1.0), Duration::from_secs(10));
        let j = jitter();
        assert!((0.0..1.0).contains(&j));
    }
}
