//! One target's samples (the endpoint, or one master's `/readyz`), and what a report says
//! of them: availability, outage intervals, the longest gap, latency percentiles. As
//! OpenShift's disruption monitors do, intervals are derived from the samples afterwards, so
//! a live view and the report come from the same data.

use serde::Serialize;

/// One request: when (ms since the fault), and its error or its latency.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub at_ms: i64,
    pub error: Option<String>,
    pub latency_ms: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub samples: Vec<Sample>,
    /// The sampling period: a failed sample stands for the interval it starts.
    pub period_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outage {
    pub start_s: f64,
    pub end_s: f64,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

/// `api.endpoint` and each of `api.masters` in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Availability {
    pub samples: usize,
    pub failed: usize,
    /// Answered / samples, 0..1.
    pub availability: f64,
    pub longest_gap_s: f64,
    pub outages: Vec<Outage>,
    pub latency_ms: Latency,
}

pub(crate) fn secs(ms: i64) -> f64 {
    (ms as f64 / 100.0).round() / 10.0
}

impl Series {
    pub fn new(period_ms: i64) -> Self {
        Self {
            samples: Vec::new(),
            period_ms,
        }
    }

    pub fn push(&mut self, at_ms: i64, error: Option<String>, latency_ms: Option<f64>) {
        self.samples.push(Sample {
            at_ms,
            error,
            latency_ms,
        });
    }

    /// Whether the latest sample failed.
    pub fn failing(&self) -> bool {
        self.samples.last().is_some_and(|s| s.error.is_some())
    }

    /// Outage intervals: a new one opens on a failure after a success, or on a different
    /// error; each ends where the next sample starts.
    pub fn outages(&self) -> Vec<Outage> {
        let mut out: Vec<Outage> = Vec::new();
        let mut open = false;
        for s in &self.samples {
            let end = secs(s.at_ms + self.period_ms);
            match (&s.error, out.last_mut()) {
                (Some(e), Some(last)) if open && last.error == *e => last.end_s = end,
                (Some(e), _) => {
                    out.push(Outage {
                        start_s: secs(s.at_ms),
                        end_s: end,
                        error: e.clone(),
                    });
                    open = true;
                }
                (None, _) => open = false,
            }
        }
        out
    }

    /// The longest run of consecutive failed samples, whatever their errors.
    fn longest_gap_ms(&self) -> i64 {
        let (mut best, mut run) = (0, 0);
        for s in &self.samples {
            run = if s.error.is_some() { run + 1 } else { 0 };
            best = best.max(run);
        }
        best * self.period_ms
    }

    pub fn summary(&self) -> Availability {
        let n = self.samples.len();
        let failed = self.samples.iter().filter(|s| s.error.is_some()).count();
        let mut lat: Vec<f64> = self.samples.iter().filter_map(|s| s.latency_ms).collect();
        lat.sort_by(f64::total_cmp);
        let pct = |p: f64| -> Option<f64> {
            // Nearest rank.
            let rank = ((p * lat.len() as f64).ceil() as usize).clamp(1, lat.len().max(1));
            lat.get(rank - 1).copied()
        };
        let availability = if n == 0 {
            1.0
        } else {
            ((n - failed) as f64 / n as f64 * 10_000.0).round() / 10_000.0
        };
        Availability {
            samples: n,
            failed,
            availability,
            longest_gap_s: secs(self.longest_gap_ms()),
            outages: self.outages(),
            latency_ms: Latency {
                p50: pct(0.50),
                p99: pct(0.99),
                max: lat.last().copied(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_split_on_recovery_and_on_a_new_error_and_percentiles_use_answers_only() {
        let mut s = Series::new(100);
        let plan = [None, Some("a"), Some("a"), None, Some("a"), Some("b"), None];
        for (k, e) in plan.iter().enumerate() {
            let lat = e.is_none().then_some(k as f64);
            s.push(100 * (k as i64 + 1), e.map(String::from), lat);
        }
        let sum = s.summary();
        assert_eq!((sum.samples, sum.failed), (7, 4));
        assert_eq!(sum.availability, 0.4286);
        assert_eq!(sum.longest_gap_s, 0.2);
        let spans: Vec<(f64, f64, &str)> = sum
            .outages
            .iter()
            .map(|o| (o.start_s, o.end_s, o.error.as_str()))
            .collect();
        assert_eq!(spans, [(0.2, 0.4, "a"), (0.5, 0.6, "a"), (0.6, 0.7, "b")]);
        assert_eq!(sum.latency_ms.p50, Some(3.0));
        assert_eq!(sum.latency_ms.max, Some(6.0));
    }
}
