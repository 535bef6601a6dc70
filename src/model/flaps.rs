//! What the timeline says about the API endpoint's readiness. A load balancer that still
//! sends part of the traffic to a dead master (an NLB takes 20-40 s to drop a target) makes
//! the endpoint fail one request and pass the next: noted one by one, that floods the
//! timeline and buries the failover's story. So the first changes are noted as they come,
//! then a flapping endpoint is summed up at most once per window, and where it settled is
//! noted once it held still.

use std::collections::VecDeque;

use jiff::{SignedDuration, Timestamp};

/// Changes counted together; also the least time between two flapping summaries.
pub const WINDOW: SignedDuration = SignedDuration::from_secs(30);
/// This many changes within [`WINDOW`] is flapping.
const FLAPPING: usize = 3;
/// A flapping endpoint has settled once it held one state this long.
pub const STEADY: SignedDuration = SignedDuration::from_secs(10);

/// What to put in the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Say {
    /// Ready or not, as it just became.
    Changed(bool),
    /// `changes` changes within the last `over_s` seconds (at most [`WINDOW`]).
    Flapping { changes: usize, over_s: i64 },
    /// Held this state for [`STEADY`] after flapping.
    Settled(bool),
}

#[derive(Debug, Clone, Default)]
pub struct Flaps {
    /// Recent changes, within [`WINDOW`].
    changes: VecDeque<Timestamp>,
    flapping: bool,
    last_summary: Option<Timestamp>,
}

impl Flaps {
    /// Readiness changed at `now` to `ready`.
    pub fn changed(&mut self, now: Timestamp, ready: bool) -> Option<Say> {
        self.changes.push_back(now);
        while self
            .changes
            .front()
            .is_some_and(|&t| now.duration_since(t) > WINDOW)
        {
            self.changes.pop_front();
        }
        if self.changes.len() >= FLAPPING {
            self.flapping = true;
            if self
                .last_summary
                .is_none_or(|s| now.duration_since(s) >= WINDOW)
            {
                self.last_summary = Some(now);
                let first = self.changes.front().copied().unwrap_or(now);
                return Some(Say::Flapping {
                    changes: self.changes.len(),
                    over_s: now.duration_since(first).as_secs(),
                });
            }
            return None;
        }
        (!self.flapping).then_some(Say::Changed(ready))
    }

    /// The clock moved to `now`; `ready` is the endpoint's current state.
    pub fn tick(&mut self, now: Timestamp, ready: Option<bool>) -> Option<Say> {
        let last = *self.changes.back()?;
        let ready = ready?;
        if !self.flapping || now.duration_since(last) < STEADY {
            return None;
        }
        self.flapping = false;
        self.last_summary = None;
        self.changes.clear();
        Some(Say::Settled(ready))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    #[test]
    fn a_clean_outage_is_told_as_it_happens() {
        let mut f = Flaps::default();
        assert_eq!(f.changed(at(0), false), Some(Say::Changed(false)));
        assert_eq!(f.tick(at(20), Some(false)), None);
        assert_eq!(f.changed(at(25), true), Some(Say::Changed(true)));
        // Far apart, a later outage is news again.
        assert_eq!(f.changed(at(100), false), Some(Say::Changed(false)));
    }

    #[test]
    fn flapping_is_summed_up_once_per_window_then_settles() {
        let mut f = Flaps::default();
        let mut said = Vec::new();
        // An NLB sending every third request to a dead master, for 30 s.
        for s in 0..30 {
            let ready = s % 3 != 0;
            let changed = s == 0 || s % 3 != 2;
            if changed && let Some(say) = f.changed(at(s), ready) {
                said.push((s, say));
            }
            if let Some(say) = f.tick(at(s), Some(ready)) {
                said.push((s, say));
            }
        }
        for s in 30..45 {
            if let Some(say) = f.tick(at(s), Some(true)) {
                said.push((s, say));
            }
        }
        let expected = vec![
            (0, Say::Changed(false)),
            (1, Say::Changed(true)),
            (
                3,
                Say::Flapping {
                    changes: 3,
                    over_s: 3,
                },
            ),
            (38, Say::Settled(true)),
        ];
        assert_eq!(said, expected);
    }
}
