//! The drill as a small state machine on the lab's virtual clock: apply the fault, observe
//! every 100 ms, restore after the duration (or at once on [`Drill::abort`]), observe the
//! recovery until the master is back and the cluster healthy (bounded), then done. It owns
//! no lab: whoever owns the lab (the headless command, later the cockpit) lends it to
//! [`Drill::advance`] and applies the events it hands back.

use std::time::Duration;

use jiff::Timestamp;

use crate::lab::{Fault, FaultKind, Lab, LabConfig};
use crate::model::ClusterEvent;

use super::observe::{Event, Observer};
use super::plan::{self, DrillSpec, Plan, Refusal};
use super::probe::Probe;
use super::series::Series;

/// Sampling period, in ms of lab time.
pub const SAMPLE_MS: i64 = 100;
/// How long the recovery is watched at most after the restore.
pub const RECOVERY_LIMIT_MS: i64 = 300_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The fault is in place.
    Fault,
    /// Restored; watching the master come back.
    Recovering,
    Done,
}

#[derive(Debug, Clone)]
pub struct Drill {
    pub plan: Plan,
    /// The lab drilled (its shape and seed, for the report).
    pub lab: LabConfig,
    pub observer: Observer,
    pub endpoint: Series,
    /// One kept-alive connection through the endpoint, on the target at the fault (when a
    /// master): it stays on its master until a request on it fails, then the next request
    /// opens a new one (a real client would first wait for its timeout).
    pub keepalive: Series,
    /// The master the kept-alive connection is on.
    conn: Option<String>,
    /// Each master's `/readyz`, masters in order.
    pub masters: Vec<(String, Series)>,
    /// Lab time at the fault.
    pub started_at: Timestamp,
    pub restored_at: Option<Timestamp>,
    /// The restore ran (or found nothing left to undo).
    pub restored: bool,
    /// What the lab said when the restore ran.
    pub restore_note: Option<String>,
    /// Ms since the fault.
    t: i64,
    restored_ms: Option<i64>,
    phase: Phase,
    /// Time asked for but less than a sample.
    carry_ms: i64,
    /// The cluster as a whole was healthy again after the restore (checked each second).
    healthy: bool,
}

fn note(events: &[ClusterEvent]) -> Option<String> {
    events.iter().find_map(|e| match e {
        ClusterEvent::Note(n) => Some(n.clone()),
        _ => None,
    })
}

impl Drill {
    /// Checks `spec` and applies the fault now. Returns the drill and the lab's events.
    pub fn start(lab: &mut Lab, spec: &DrillSpec) -> Result<(Drill, Vec<ClusterEvent>), Refusal> {
        let plan = plan::check(lab, spec)?;
        let target = plan.target.clone();
        let before = Probe::of(lab, &target, 0);
        let mut observer = Observer::new(spec.fault, &target, &before);
        let events = lab.inject(&Fault {
            node: target.clone(),
            kind: spec.fault.lab_kind(),
        });
        let said = note(&events).unwrap_or_default();
        if said.contains("nothing happened") {
            return Err(Refusal(format!("the lab refused the fault: {said}")));
        }
        observer.note(
            0,
            format!("fault: {} on {target}", spec.fault),
            spec.fault.expectation(),
        );
        let masters = before.masters.iter();
        let masters = masters.map(|m| (m.node.clone(), Series::new(SAMPLE_MS)));
        let drill = Drill {
            lab: lab.config().clone(),
            started_at: lab.now(),
            restored_at: None,
            restored: false,
            restore_note: None,
            endpoint: Series::new(SAMPLE_MS),
            keepalive: Series::new(SAMPLE_MS),
            // A client that was talking to the target when the fault struck.
            conn: before.readyz(&target).map(|_| target.clone()),
            masters: masters.collect(),
            plan,
            observer,
            t: 0,
            restored_ms: None,
            phase: Phase::Fault,
            carry_ms: 0,
            healthy: false,
        };
        Ok((drill, events))
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn target(&self) -> &str {
        &self.plan.target
    }

    /// Lab time since the fault.
    pub fn elapsed(&self) -> Duration {
        Duration::from_millis(self.t.max(0) as u64)
    }

    pub fn timeline(&self) -> &[Event] {
        &self.observer.timeline
    }

    /// Runs the drill forward by `dt` of lab time, a sample every 100 ms; returns the lab's
    /// events. Does nothing once done.
    pub fn advance(&mut self, lab: &mut Lab, dt: Duration) -> Vec<ClusterEvent> {
        let mut events = Vec::new();
        let total = self.carry_ms + dt.as_millis().min(i64::MAX as u128) as i64;
        let (steps, carry) = (total / SAMPLE_MS, total % SAMPLE_MS);
        self.carry_ms = carry;
        for _ in 0..steps {
            if self.phase == Phase::Done {
                break;
            }
            events.extend(self.step(lab));
        }
        events
    }

    /// Runs the drill to its end (the headless command).
    pub fn run_to_end(&mut self, lab: &mut Lab) {
        while self.phase != Phase::Done {
            self.step(lab);
        }
    }

    /// Ctrl-C, an error, the operator: restore now and watch the recovery.
    pub fn abort(&mut self, lab: &mut Lab) -> Vec<ClusterEvent> {
        if self.phase != Phase::Fault {
            return Vec::new();
        }
        self.observer.note(
            self.t,
            "drill interrupted: restoring now",
            "a drill always restores",
        );
        self.restore(lab)
    }

    fn step(&mut self, lab: &mut Lab) -> Vec<ClusterEvent> {
        let mut events = lab.advance(Duration::from_millis(SAMPLE_MS as u64));
        self.t += SAMPLE_MS;
        self.sample(lab);
        match self.phase {
            Phase::Fault if self.t >= self.plan.spec.duration_ms => {
                events.extend(self.restore(lab));
            }
            Phase::Recovering => {
                let since = self.t - self.restored_ms.unwrap_or(self.t);
                if since % 1_000 == 0 && !self.healthy {
                    self.healthy = plan::unhealthy(lab).is_none();
                }
                if (self.observer.recovered() && self.healthy) || since >= RECOVERY_LIMIT_MS {
                    self.finish();
                }
            }
            _ => {}
        }
        events
    }

    fn sample(&mut self, lab: &Lab) {
        let p = Probe::of(lab, &self.plan.target, (self.t / SAMPLE_MS) as u64);
        let t = self.t;
        self.endpoint
            .push(t, p.endpoint_error.clone(), p.endpoint_latency_ms);
        self.sample_keepalive(t, &p);
        for (node, series) in &mut self.masters {
            if let Some(r) = p.readyz(node) {
                series.push(t, r.error.clone(), r.latency_ms);
            }
        }
        self.observer.observe(t, self.restored_ms, &p);
    }

    /// A request on the kept-alive connection: the master it is on answers as its own
    /// `/readyz` says; without a connection, a new one goes through the balancer.
    fn sample_keepalive(&mut self, t: i64, p: &Probe) {
        let on = self.conn.as_deref().and_then(|n| p.readyz(n));
        let (error, latency) = match on {
            Some(r) => (
                r.error
                    .as_ref()
                    .map(|e| format!("via {} (kept alive): {e}", r.node)),
                r.latency_ms,
            ),
            None => {
                self.conn = p.endpoint_backend.clone();
                (p.endpoint_error.clone(), p.endpoint_latency_ms)
            }
        };
        if error.is_some() {
            self.conn = None;
        }
        self.keepalive.push(t, error, latency);
    }

    fn restore(&mut self, lab: &mut Lab) -> Vec<ClusterEvent> {
        let target = self.plan.target.clone();
        let events = lab.inject(&Fault {
            node: target.clone(),
            kind: FaultKind::Restore,
        });
        let said = note(&events).unwrap_or_default();
        // Nothing left to undo (the kubelet restarted etcd by itself) counts as restored.
        self.restored = !said.contains("nothing happened") || said.contains("nothing to restore");
        self.restore_note = Some(said);
        self.restored_at = Some(lab.now());
        self.restored_ms = Some(self.t);
        self.phase = Phase::Recovering;
        let cmds = self.plan.restore_commands.join("; ");
        self.observer.note(
            self.t,
            format!("restore: {cmds}"),
            "a drill always undoes its fault",
        );
        // The moment of the restore counts: what is already back needs no wait.
        let p = Probe::of(lab, &target, 0);
        self.observer.observe(self.t, self.restored_ms, &p);
        events
    }

    fn finish(&mut self) {
        self.phase = Phase::Done;
        if !(self.observer.recovered() && self.healthy) {
            let text = "recovery watch ended before the cluster was healthy again";
            self.observer.note(
                self.t,
                text,
                "the drill watches at most 300 s after the restore",
            );
        }
    }
}
