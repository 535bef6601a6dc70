//! The lab as a [`DrillTarget`]: the fault and the restore are the lab's own (`inject`), a
//! sample moves its virtual clock by 100 ms and reads it at once. The lab is lent for each
//! call: [`Drill::start`], [`Drill::advance`], [`Drill::run_to_end`], [`Drill::abort`].

use std::time::Duration;

use jiff::Timestamp;

use super::driver::{self, Clock, DrillTarget, Restored};
use super::engine::{Drill, SAMPLE_MS};
use super::plan::{self, DrillSpec, Plan, Refusal};
use super::probe::Probe;
use hatui_lab::{Lab, LabConfig};
use hatui_model::{ClusterEvent, Fault, FaultKind};

/// The lab, lent to the drill on `node`.
pub struct LabTarget<'a> {
    pub lab: &'a mut Lab,
    pub node: String,
    restored: Option<Restored>,
}

impl<'a> LabTarget<'a> {
    pub fn new(lab: &'a mut Lab, node: &str) -> Self {
        Self {
            lab,
            node: node.to_string(),
            restored: None,
        }
    }
}

fn note(events: &[ClusterEvent]) -> Option<String> {
    events.iter().find_map(|e| match e {
        ClusterEvent::Note(n) => Some(n.clone()),
        _ => None,
    })
}

/// Injects `node`'s fault of `kind`; the lab's events and what it said.
pub fn inject(lab: &mut Lab, node: &str, kind: FaultKind) -> (Vec<ClusterEvent>, String) {
    let events = lab.inject(&Fault {
        node: node.to_string(),
        kind,
    });
    let said = note(&events).unwrap_or_default();
    (events, said)
}

/// Restores `node` on the lab now: the lab's events and what the restore did.
pub fn restore(lab: &mut Lab, node: &str) -> (Vec<ClusterEvent>, Restored) {
    let (events, said) = inject(lab, node, FaultKind::Restore);
    // Nothing left to undo (the kubelet restarted etcd by itself) counts as restored.
    let ok = !said.contains("nothing happened") || said.contains("nothing to restore");
    let after = Probe::of(lab, node, 0);
    let at = lab.now();
    (
        events,
        Restored {
            ok,
            said,
            at,
            after,
        },
    )
}

impl DrillTarget for LabTarget<'_> {
    fn clock(&self) -> Clock {
        Clock::Lab
    }
    fn now(&self) -> Timestamp {
        self.lab.now()
    }
    fn lab(&self) -> Option<LabConfig> {
        Some(self.lab.config().clone())
    }
    fn before(&mut self) -> Probe {
        Probe::of(self.lab, &self.node, 0)
    }
    fn apply(&mut self, plan: &Plan) -> Result<Vec<ClusterEvent>, Refusal> {
        let (events, said) = inject(self.lab, &self.node, plan.spec.fault.lab_kind());
        if said.contains("nothing happened") {
            return Err(Refusal::plain(format!("the lab refused the fault: {said}")));
        }
        Ok(events)
    }
    fn tick(&mut self, _k: u64) -> Vec<ClusterEvent> {
        self.lab.advance(Duration::from_millis(SAMPLE_MS as u64))
    }
    fn probe(&mut self, k: u64) -> Option<Probe> {
        Some(Probe::of(self.lab, &self.node, k))
    }
    fn restore(&mut self, _plan: &Plan) -> Vec<ClusterEvent> {
        let (events, r) = restore(self.lab, &self.node);
        self.restored = Some(r);
        events
    }
    fn restored(&mut self) -> Option<Restored> {
        self.restored.take()
    }
    fn healthy(&self) -> bool {
        plan::unhealthy(&*self.lab).is_none()
    }
}

impl Drill {
    /// Checks `spec` and applies the fault to the lab now. Returns the drill and the lab's
    /// events.
    pub fn start(lab: &mut Lab, spec: &DrillSpec) -> Result<(Drill, Vec<ClusterEvent>), Refusal> {
        let plan = plan::check(lab, spec)?;
        let node = plan.target.clone();
        driver::begin(&mut LabTarget::new(lab, &node), plan)
    }

    fn on<'a>(&self, lab: &'a mut Lab) -> LabTarget<'a> {
        LabTarget::new(lab, self.target())
    }

    /// Runs the drill forward by `dt` of lab time, a sample every 100 ms; returns the lab's
    /// events. Does nothing once done.
    pub fn advance(&mut self, lab: &mut Lab, dt: Duration) -> Vec<ClusterEvent> {
        self.advance_on(&mut self.on(lab), dt)
    }

    /// Runs the drill to its end (the headless command).
    pub fn run_to_end(&mut self, lab: &mut Lab) {
        self.run_to_end_on(&mut self.on(lab));
    }

    /// Quitting the cockpit: restore now (once), stop watching the recovery (twice).
    pub fn interrupt_lab(&mut self, lab: &mut Lab) -> Vec<ClusterEvent> {
        self.interrupt_on(&mut self.on(lab))
    }

    /// Esc, an error, the operator: restore the lab now and watch the recovery.
    pub fn abort(&mut self, lab: &mut Lab) -> Vec<ClusterEvent> {
        self.abort_on(&mut self.on(lab))
    }
}
