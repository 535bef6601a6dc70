//! The lab's executor: commands run against a [`BareLab`] on its virtual clock, each a
//! script of timed lines and effects (see `kubeadm.rs`); waiting jumps the clock to the
//! next thing due, so a whole plan runs as fast as the CPU allows.
//!
//! A cockpit that wants to watch the cluster assemble at a human pace gives it a
//! [`Pace`] (called with each second of lab time before it passes: sleep `dt / speed`
//! there) and an [`OnEvents`] that forwards what the lab publishes to its model.

use std::collections::VecDeque;
use std::time::Duration;

use jiff::Timestamp;

use super::kubeadm::{self, Act};
use super::{Executor, RunEvent, RunId};
use crate::lab::{BareLab, LabConfig};
use crate::model::{ClusterEvent, ClusterState, SourceKind};

struct Job {
    /// (lab ms, what), in time order.
    acts: VecDeque<(i64, Act)>,
}

pub struct LabExecutor {
    lab: BareLab,
    cluster: ClusterState,
    jobs: Vec<Option<Job>>,
    on_events: Option<OnEvents>,
    pace: Option<Pace>,
}

/// Sees each batch of events the lab publishes, as it is applied.
pub type OnEvents = Box<dyn FnMut(&[ClusterEvent]) + Send>;
/// Called with each stretch of lab time (at most [`PACE_STEP`]) before it passes.
pub type Pace = Box<dyn FnMut(Duration) + Send>;
/// With a [`Pace`], the clock moves in steps this long, events going out after each.
pub const PACE_STEP: Duration = Duration::from_secs(1);

impl LabExecutor {
    pub fn new(cfg: LabConfig) -> Self {
        Self::on(BareLab::new(cfg))
    }

    /// On a lab that may already have been assembled in part.
    pub fn on(mut lab: BareLab) -> Self {
        let mut cluster =
            ClusterState::new(SourceKind::Lab, lab.config().endpoint.clone(), lab.now());
        for ev in lab.events() {
            cluster.apply(ev);
        }
        Self {
            lab,
            cluster,
            jobs: Vec::new(),
            on_events: None,
            pace: None,
        }
    }

    /// Streams every batch of events to `f` as it is applied.
    pub fn on_events(&mut self, f: OnEvents) {
        self.on_events = Some(f);
    }

    /// Moves the clock in [`PACE_STEP`]s, calling `f` before each (a cockpit sleeps there).
    pub fn pace(&mut self, f: Pace) {
        self.pace = Some(f);
    }

    fn apply(&mut self, events: Vec<ClusterEvent>) {
        if let Some(f) = self.on_events.as_mut() {
            f(&events);
        }
        for ev in events {
            self.cluster.apply(ev);
        }
    }

    pub fn lab(&self) -> &BareLab {
        &self.lab
    }

    /// The lab, to set a scenario up; what changes shows at the next wait.
    pub fn lab_mut(&mut self) -> &mut BareLab {
        &mut self.lab
    }

    /// The lab, for a new executor (resume) or another consumer.
    pub fn into_lab(self) -> BareLab {
        self.lab
    }

    /// Lets lab time pass with nothing started (a scenario's pause).
    pub fn pass(&mut self, dt: Duration) {
        self.advance_to(self.lab.now_ms() + i64::try_from(dt.as_millis()).unwrap_or(0));
    }

    fn advance_to(&mut self, at: i64) {
        let step = i64::try_from(PACE_STEP.as_millis()).unwrap_or(1000);
        while self.lab.now_ms() < at {
            let mut dt = at - self.lab.now_ms();
            if let Some(pace) = self.pace.as_mut() {
                dt = dt.min(step);
                pace(Duration::from_millis(dt.unsigned_abs()));
            }
            let events = self.lab.advance(Duration::from_millis(dt.unsigned_abs()));
            self.apply(events);
        }
    }

    fn refresh(&mut self) {
        let events = self.lab.events();
        self.apply(events);
    }

    fn next_due(&self) -> Option<i64> {
        let fronts = self.jobs.iter().flatten().filter_map(|j| j.acts.front());
        fronts.map(|(at, _)| *at).min()
    }

    /// Runs the acts of every job due now; a failing effect ends its job.
    fn run_due(&mut self, out: &mut Vec<RunEvent>) {
        let now = self.lab.now_ms();
        for id in 0..self.jobs.len() {
            while let Some(job) = self.jobs[id].as_mut() {
                if job.acts.front().is_none_or(|(at, _)| *at > now) {
                    break;
                }
                let Some((_, act)) = job.acts.pop_front() else {
                    break;
                };
                let lines = |v: Vec<String>, out: &mut Vec<RunEvent>| {
                    out.extend(v.into_iter().map(|l| RunEvent::Line(id, l)));
                };
                match act {
                    Act::Line(l) => out.push(RunEvent::Line(id, l)),
                    Act::Do(effect) => match kubeadm::apply(&mut self.lab, effect) {
                        Ok(v) => lines(v, out),
                        Err(v) => {
                            lines(v, out);
                            out.push(RunEvent::Exited(id, 1));
                            self.jobs[id] = None;
                        }
                    },
                    Act::Exit(code) => {
                        out.push(RunEvent::Exited(id, code));
                        self.jobs[id] = None;
                    }
                }
            }
        }
    }
}

impl Executor for LabExecutor {
    fn now(&self) -> Timestamp {
        self.lab.now()
    }

    fn start(&mut self, host: &str, command: &str) -> RunId {
        let now = self.lab.now_ms();
        let script = kubeadm::script(&self.lab, host, command);
        let mut acts: VecDeque<(i64, Act)> =
            script.into_iter().map(|(t, a)| (now + t, a)).collect();
        if !acts.iter().any(|(_, a)| matches!(a, Act::Exit(_))) {
            let end = acts.back().map_or(now, |(t, _)| *t);
            acts.push_back((end, Act::Exit(0)));
        }
        self.jobs.push(Some(Job { acts }));
        self.jobs.len() - 1
    }

    fn wait(&mut self, limit: Duration) -> Vec<RunEvent> {
        let limit_at = self.lab.now_ms() + i64::try_from(limit.as_millis()).unwrap_or(i64::MAX / 4);
        let mut out = Vec::new();
        let target = self.next_due().map_or(limit_at, |t| t.min(limit_at));
        self.advance_to(target);
        self.run_due(&mut out);
        self.refresh();
        out
    }

    fn cluster(&self) -> &ClusterState {
        &self.cluster
    }
}
