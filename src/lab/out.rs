//! One batch of events. Changes an operator must see are appended in the order they
//! happened, each preceded by a `Clock` of its moment so a long `advance` still timestamps
//! the timeline right. Mere refreshes (renewTime, probe latency, etcd index growth) replace
//! their previous copy in the batch, so advancing a day does not queue a day of renewals.

use hatui_model::ClusterEvent;

use super::config::LabConfig;
use super::views::at;

/// What a refresh replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Etcd,
    Endpoint,
    ApiServer(usize),
    Lease(usize),
    VipLease,
    NodeLeases,
}

#[derive(Debug)]
pub(crate) struct Out {
    events: Vec<ClusterEvent>,
    /// Holds something beyond refreshes and clocks: worth sending at once.
    pub urgent: bool,
    slots: Vec<(Slot, usize)>,
    /// The moment of the batch's latest `Clock` (its start until one is added).
    stamp: i64,
}

impl Out {
    pub(crate) fn new(start: i64) -> Self {
        Self {
            events: Vec::new(),
            urgent: false,
            slots: Vec::new(),
            stamp: start,
        }
    }

    /// A change that happened at `ms`; a later refresh of `slot` must come after it.
    pub(crate) fn change(
        &mut self,
        cfg: &LabConfig,
        ms: i64,
        slot: Option<Slot>,
        ev: ClusterEvent,
    ) {
        if ms > self.stamp {
            self.events.push(ClusterEvent::Clock(at(cfg, ms)));
            self.stamp = ms;
        }
        if let Some(slot) = slot {
            self.slots.retain(|(s, _)| *s != slot);
        }
        self.events.push(ev);
        self.urgent = true;
    }

    pub(crate) fn refresh(&mut self, slot: Slot, ev: ClusterEvent) {
        match self.slots.iter().find(|(s, _)| *s == slot) {
            Some(&(_, pos)) => self.events[pos] = ev,
            None => {
                self.slots.push((slot, self.events.len()));
                self.events.push(ev);
            }
        }
    }

    /// The events, ending with `Clock(now)`.
    pub(crate) fn finish(mut self, cfg: &LabConfig, now: i64) -> Vec<ClusterEvent> {
        let clock = ClusterEvent::Clock(at(cfg, now));
        if self.events.last() != Some(&clock) {
            self.events.push(clock);
        }
        self.events
    }

    /// The events as they are (for `inject`: time did not move).
    pub(crate) fn into_events(self) -> Vec<ClusterEvent> {
        self.events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_coalesce_and_changes_get_their_moment() {
        let cfg = LabConfig::default();
        let mut out = Out::new(0);
        out.refresh(Slot::Etcd, ClusterEvent::Note("a".into()));
        out.refresh(Slot::Etcd, ClusterEvent::Note("b".into()));
        assert!(!out.urgent);
        out.change(&cfg, 500, Some(Slot::Etcd), ClusterEvent::Note("c".into()));
        out.refresh(Slot::Etcd, ClusterEvent::Note("d".into()));
        let events = out.finish(&cfg, 1_000);
        let note = |s: &str| ClusterEvent::Note(s.into());
        let clock = |ms| ClusterEvent::Clock(at(&cfg, ms));
        assert_eq!(
            events,
            [note("b"), clock(500), note("c"), note("d"), clock(1_000)]
        );
    }
}
