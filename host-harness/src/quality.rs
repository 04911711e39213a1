//! A local estimate of Meta's Event Match Quality: per event name, the share
//! of events that carried each customer key valid, a 0–10 score, and the
//! keys whose addition would raise it most.
//!
//! Meta publishes no weights; these follow what practitioners observe (email
//! and phone weigh most, then the external id and the click id). The score is
//! an estimate to compare runs and mappings, not Meta's number.

use action_host::wit::MatchKeys;
use serde::Serialize;
use std::collections::BTreeMap;

/// Weight of each key in the estimate.
pub const WEIGHTS: [(MatchKeys, f64); 15] = [
    (MatchKeys::EM, 3.0),
    (MatchKeys::PH, 3.0),
    (MatchKeys::EXTERNAL_ID, 1.5),
    (MatchKeys::FBC, 1.5),
    (MatchKeys::FBP, 1.0),
    (MatchKeys::CLIENT_IP_ADDRESS, 0.5),
    (MatchKeys::CLIENT_USER_AGENT, 0.5),
    (MatchKeys::FN, 0.5),
    (MatchKeys::LN, 0.5),
    (MatchKeys::DB, 0.5),
    (MatchKeys::ZP, 0.5),
    (MatchKeys::CT, 0.25),
    (MatchKeys::ST, 0.25),
    (MatchKeys::COUNTRY, 0.25),
    (MatchKeys::GE, 0.25),
];

/// The estimate for one event name.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Quality {
    /// Events that went out.
    pub events: usize,
    /// Per key, the share of events that carried it valid (0–1).
    pub coverage: BTreeMap<String, f64>,
    /// 0–10, one decimal. An estimate: Meta publishes no weights.
    pub estimate: f64,
    /// The one or two keys whose addition would raise the estimate most.
    pub add_to_improve: Vec<String>,
}

/// The estimate over the match keys of each sent event.
pub fn estimate(events: impl IntoIterator<Item = MatchKeys>) -> Quality {
    let mut coverage = Coverage::default();
    for keys in events {
        coverage.add(keys);
    }
    coverage.estimate()
}

/// Per key, how many of the events so far carried it: what the estimate is
/// made of, counted as events go by.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    events: usize,
    /// In the order of [`WEIGHTS`].
    counts: [usize; WEIGHTS.len()],
}

impl Coverage {
    /// Counts one event's match keys.
    pub fn add(&mut self, keys: MatchKeys) {
        self.events += 1;
        for ((key, _), count) in WEIGHTS.iter().zip(&mut self.counts) {
            if keys.contains(*key) {
                *count += 1;
            }
        }
    }

    /// Adds the events `other` counted.
    pub fn append(&mut self, other: &Coverage) {
        self.events += other.events;
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine += theirs;
        }
    }

    /// The estimate over the events counted.
    pub fn estimate(&self) -> Quality {
        let n = self.events;
        let shares: Vec<f64> = self
            .counts
            .iter()
            .map(|c| if n == 0 { 0.0 } else { *c as f64 / n as f64 })
            .collect();
        let total: f64 = WEIGHTS.iter().map(|(_, w)| w).sum();
        let score = WEIGHTS
            .iter()
            .zip(&shares)
            .map(|((_, w), share)| w * share)
            .sum::<f64>()
            / total
            * 10.0;
        let mut gains: Vec<(&str, f64)> = WEIGHTS
            .iter()
            .zip(&shares)
            .map(|((k, w), share)| (name(*k), w * (1.0 - share)))
            .filter(|(_, g)| *g > 0.05)
            .collect();
        gains.sort_by(|a, b| b.1.total_cmp(&a.1));
        Quality {
            events: n,
            coverage: WEIGHTS
                .iter()
                .zip(&shares)
                .map(|((k, _), share)| (name(*k).to_string(), (share * 1000.0).round() / 1000.0))
                .collect(),
            estimate: (score * 10.0).round() / 10.0,
            add_to_improve: gains
                .into_iter()
                .take(2)
                .map(|(k, _)| k.to_string())
                .collect(),
        }
    }
}

/// Meta's name of one key.
fn name(key: MatchKeys) -> &'static str {
    key.names().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[&str]) -> MatchKeys {
        list.iter()
            .map(|k| MatchKeys::from_name(k).unwrap())
            .fold(MatchKeys::empty(), |set, k| set | k)
    }

    #[test]
    fn every_key_everywhere_scores_ten() {
        let all = WEIGHTS
            .iter()
            .fold(MatchKeys::empty(), |set, (k, _)| set | *k);
        let q = estimate([all, all]);
        assert_eq!(q.coverage.len(), WEIGHTS.len());
        assert_eq!(q.estimate, 10.0);
        assert!(q.add_to_improve.is_empty());
    }

    #[test]
    fn missing_phone_is_the_first_advice() {
        let a = keys(&[
            "em",
            "external_id",
            "fbc",
            "fbp",
            "client_ip_address",
            "client_user_agent",
        ]);
        let b = keys(&["em", "external_id"]);
        let q = estimate([a, b]);
        assert_eq!(q.events, 2);
        assert_eq!(q.coverage["em"], 1.0);
        assert_eq!(q.coverage["fbc"], 0.5);
        assert_eq!(q.add_to_improve[0], "ph");
        assert!(q.estimate > 3.0 && q.estimate < 6.0, "{}", q.estimate);
    }
}
