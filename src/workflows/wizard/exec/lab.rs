//! The lab's executor: commands run against a [`Lab`] on its virtual clock, each a
//! script of timed lines and effects (see `kubeadm.rs`); waiting jumps the clock to the
//! next thing due, so a whole plan runs as fast as the CPU allows.
//!
//! A cockpit that wants to watch the cluster assemble at a human pace gives it a
//! [`Pace`] (called with each second of lab time before it passes: sleep `dt / speed`
//! there) and an [`OnEvents`] that forwards what the lab publishes to its model.

use std::collections::VecDeque;
use std::time::Duration;

use jiff::Timestamp;

use super::acts::Act;
use super::kubeadm::{self, Outcome};
use super::{Executor, RunEvent, RunId};
use hatui_lab::{Lab, LabConfig};
use hatui_model::{ClusterEvent, ClusterState, SourceKind};

struct Job {
    /// The host it runs on (over SSH: it dies with the host's power).
    host: Option<usize>,
    /// (lab ms, what), in time order.
    acts: VecDeque<(i64, Act)>,
    /// Since when the front act has been waiting (kubeadm polling).
    waiting_since: Option<i64>,
}

/// Moves the lab's clock: plain [`Lab::advance`], or a driver that also runs faults and a
/// drill on the same lab (the cockpit's).
pub trait Clock: Send {
    fn advance(&mut self, lab: &mut Lab, dt: Duration) -> Vec<ClusterEvent>;
}

struct Plain;

impl Clock for Plain {
    fn advance(&mut self, lab: &mut Lab, dt: Duration) -> Vec<ClusterEvent> {
        lab.advance(dt)
    }
}

pub struct LabExecutor {
    lab: Lab,
    clock: Box<dyn Clock>,
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
    /// On bare hosts: the wizard builds the cluster.
    pub fn new(cfg: LabConfig) -> Self {
        Self::on(Lab::bare(cfg))
    }

    /// On a lab that may already have been assembled in part.
    pub fn on(lab: Lab) -> Self {
        let mut cluster =
            ClusterState::new(SourceKind::Lab, lab.config().endpoint.clone(), lab.now());
        for ev in lab.full_state() {
            cluster.apply(ev);
        }
        Self {
            lab,
            clock: Box::new(Plain),
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

    /// Moves the lab's clock with `clock` from now on.
    pub fn drive(&mut self, clock: Box<dyn Clock>) {
        self.clock = clock;
    }

    pub fn lab(&self) -> &Lab {
        &self.lab
    }

    /// The lab, to set a scenario up; what changes shows at the next wait.
    pub fn lab_mut(&mut self) -> &mut Lab {
        &mut self.lab
    }

    /// The lab, for a new executor (resume) or another consumer (the drill).
    pub fn into_lab(self) -> Lab {
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
            let dt = Duration::from_millis(dt.unsigned_abs());
            let events = self.clock.advance(&mut self.lab, dt);
            self.apply(events);
        }
    }

    fn refresh(&mut self) {
        let events = self.lab.publishable(self.lab.full_state());
        self.apply(events);
    }

    fn next_due(&self) -> Option<i64> {
        let fronts = self.jobs.iter().flatten().filter_map(|j| j.acts.front());
        fronts.map(|(at, _)| *at).min()
    }

    /// Runs the acts of every job due now; a failing effect ends its job, a waiting one
    /// is tried again later (what follows it moves with it).
    fn run_due(&mut self, out: &mut Vec<RunEvent>) {
        let now = self.lab.now_ms();
        for id in 0..self.jobs.len() {
            while let Some(job) = self.jobs[id].as_mut() {
                if job.acts.front().is_none_or(|(at, _)| *at > now) {
                    break;
                }
                // Its host lost power: the SSH session is gone with it.
                if job.host.is_some_and(|h| !self.lab.powered(h)) {
                    let host = job.host.map(|h| self.lab.host_name(h)).unwrap_or_default();
                    out.push(RunEvent::Line(
                        id,
                        format!("Connection to {host} closed by remote host."),
                    ));
                    out.push(RunEvent::Exited(id, 255));
                    self.jobs[id] = None;
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
                    Act::Do(effect) => match kubeadm::apply(&mut self.lab, effect.clone()) {
                        Outcome::Done(v) => {
                            job.waiting_since = None;
                            lines(v, out);
                        }
                        Outcome::Failed(v) => {
                            lines(v, out);
                            out.push(RunEvent::Exited(id, 1));
                            self.jobs[id] = None;
                        }
                        Outcome::Wait {
                            every,
                            timeout,
                            failed,
                        } => {
                            let since = *job.waiting_since.get_or_insert(now);
                            if now - since >= timeout {
                                lines(failed, out);
                                out.push(RunEvent::Exited(id, 1));
                                self.jobs[id] = None;
                            } else {
                                for (at, _) in job.acts.iter_mut() {
                                    *at += every;
                                }
                                job.acts.push_front((now + every, Act::Do(effect)));
                            }
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
        // A host already off never had a session to lose: its script says so (`ssh:
        // connect to host ... No route to host`, exit 255).
        let host = self.lab.host(host).filter(|&i| self.lab.powered(i));
        self.jobs.push(Some(Job {
            host,
            acts,
            waiting_since: None,
        }));
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
