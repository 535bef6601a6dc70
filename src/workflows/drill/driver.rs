//! The one drill loop: tick -> probe -> record, over a [`DrillTarget`] (the lab on its
//! virtual clock, the lab with real etcd processes, a live cluster on the wall clock). The
//! driver owns the timing: a sample every [`SAMPLE_MS`], the restore when the duration is
//! over or at once on an interruption, the recovery watch and its once-a-second health
//! check; the target only applies and restores the fault and takes the probes.
//!
//! - On the lab's clock, [`Drill::step_on`] is one sample (the target moves its clock by
//!   100 ms and probes at once); [`Drill::advance_on`] and [`Drill::run_to_end_on`] repeat
//!   it. The headless lab drill and the cockpit's lab task drive it so.
//! - Paced by the wall clock ([`run_paced`]): a [`Paced`] target's samples are ticked every
//!   100 ms of real time, its own news (answers, the fault or the restore ending) taken in
//!   as they come, interruptions from a channel.

use std::future::Future;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use super::engine::{Drill, Next, Phase, SAMPLE_MS};
use super::plan::{Plan, Refusal};
use super::probe::Probe;
use hatui_lab::LabConfig;
use hatui_model::ClusterEvent;

/// The clock a target's samples are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The lab's: every sample is taken, the target moving its clock 100 ms for each.
    Lab,
    /// The wall clock: sample `k` is due `k` x 100 ms after the fault; a late tick skips.
    Wall,
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    /// It did what it should (or found nothing left to undo).
    pub ok: bool,
    /// Its output, or what the lab said.
    pub said: String,
    /// When it ran, on the target's clock.
    pub at: Timestamp,
    /// The cluster right after it.
    pub after: Probe,
}

/// What a drill runs on.
pub trait DrillTarget {
    fn clock(&self) -> Clock;
    /// Cluster time now.
    fn now(&self) -> Timestamp;
    /// The lab drilled (for the report); `None` on a live cluster.
    fn lab(&self) -> Option<LabConfig> {
        None
    }
    /// The cluster right before the fault.
    fn before(&mut self) -> Probe;
    /// Applies `plan`'s fault now (or starts it: a failure comes back through
    /// [`DrillTarget::fault_failed`]); the lab's events.
    fn apply(&mut self, plan: &Plan) -> Result<Vec<ClusterEvent>, Refusal>;
    /// Sample `k` (`k` x 100 ms since the fault) is due: the lab moves its clock there, a
    /// live cluster sends its requests. The lab's events.
    fn tick(&mut self, k: u64) -> Vec<ClusterEvent>;
    /// Sample `k`, once all of it is in (asked only for ticked samples, in order).
    fn probe(&mut self, k: u64) -> Option<Probe>;
    /// The fault's commands failed: their output (asked once per poll).
    fn fault_failed(&mut self) -> Option<String> {
        None
    }
    /// Runs `plan`'s restore (or starts it); its outcome comes through
    /// [`DrillTarget::restored`]. The lab's events.
    fn restore(&mut self, plan: &Plan) -> Vec<ClusterEvent>;
    /// The restore's outcome, once it ran (taken out).
    fn restored(&mut self) -> Option<Restored>;
    /// The cluster as a whole is healthy now.
    fn healthy(&self) -> bool;
}

/// A target paced by the wall clock, with news of its own between the ticks.
pub trait Paced: DrillTarget {
    /// Waits for something the target measures or runs (an answer, a state change, the
    /// fault or the restore ending) and takes it in. Cancel-safe.
    fn news(&mut self) -> impl Future<Output = ()> + Send;
}

/// Applies `plan`'s fault to `target` now: the drill and the lab's events.
pub fn begin<T: DrillTarget>(
    target: &mut T,
    plan: Plan,
) -> Result<(Drill, Vec<ClusterEvent>), Refusal> {
    let before = target.before();
    let events = target.apply(&plan)?;
    let drill = Drill::begin(plan, &before, target.now(), target.lab());
    Ok((drill, events))
}

impl Drill {
    /// One sample on the lab's clock.
    pub fn step_on<T: DrillTarget>(&mut self, target: &mut T) -> Vec<ClusterEvent> {
        let k = self.driving.ticked + 1;
        self.tick(target, k)
    }

    /// Runs the drill forward by `dt` on the lab's clock, a sample every 100 ms; the lab's
    /// events. Does nothing once done.
    pub fn advance_on<T: DrillTarget>(
        &mut self,
        target: &mut T,
        dt: Duration,
    ) -> Vec<ClusterEvent> {
        let mut events = Vec::new();
        let total = self.driving.carry_ms + dt.as_millis().min(i64::MAX as u128) as i64;
        let (steps, carry) = (total / SAMPLE_MS, total % SAMPLE_MS);
        self.driving.carry_ms = carry;
        for _ in 0..steps {
            if self.phase() == Phase::Done {
                break;
            }
            events.extend(self.step_on(target));
        }
        events
    }

    /// Runs the drill to its end on the lab's clock (the headless command).
    pub fn run_to_end_on<T: DrillTarget>(&mut self, target: &mut T) {
        while self.phase() != Phase::Done {
            self.step_on(target);
        }
    }

    /// Sample `k` is due: ticks the target, then takes in what it has.
    pub fn tick<T: DrillTarget>(&mut self, target: &mut T, k: u64) -> Vec<ClusterEvent> {
        if k <= self.driving.ticked {
            return Vec::new();
        }
        self.driving.ticked = k;
        let mut events = target.tick(k);
        events.extend(self.poll(target));
        events
    }

    /// Takes in what the target has: its samples in order, the fault failing, the
    /// restore's outcome.
    pub fn poll<T: DrillTarget>(&mut self, target: &mut T) -> Vec<ClusterEvent> {
        let mut events = Vec::new();
        while self.phase() != Phase::Done && self.driving.next <= self.driving.ticked {
            let k = self.driving.next;
            let Some(p) = target.probe(k) else {
                break;
            };
            self.driving.next += 1;
            match self.record(k as i64 * SAMPLE_MS, &p) {
                Next::Restore => events.extend(self.start_restore(target)),
                Next::CheckHealth => self.health(target.healthy()),
                Next::Sample => {}
            }
        }
        if let Some(out) = target.fault_failed() {
            self.observer.note(
                self.t(),
                format!("the fault failed on {}: {out}", self.target()),
                "a command of the fault exited non-zero: the drill restores at once",
            );
            if self.interrupt() {
                events.extend(self.start_restore(target));
            }
        }
        self.take_restored(target);
        events
    }

    /// Restores now if the fault is still in place (Esc in the lab's cockpit); the
    /// recovery is watched on.
    pub fn abort_on<T: DrillTarget>(&mut self, target: &mut T) -> Vec<ClusterEvent> {
        if self.phase() == Phase::Fault {
            self.mark_interrupted("Esc in the cockpit");
        }
        if !self.interrupt() {
            return Vec::new();
        }
        self.start_restore(target)
    }

    /// Ctrl-C, SIGTERM, Esc on a live drill: restore now; again once restored, stop
    /// watching the recovery. A restore still running when interrupted ends the watch.
    pub fn interrupt_on<T: DrillTarget>(&mut self, target: &mut T) -> Vec<ClusterEvent> {
        self.mark_interrupted("Esc, Ctrl-C or SIGTERM");
        let events = if self.interrupt() {
            self.start_restore(target)
        } else {
            if self.phase() == Phase::Recovering {
                self.stop();
            }
            Vec::new()
        };
        self.driving.interrupted = true;
        events
    }

    fn start_restore<T: DrillTarget>(&mut self, target: &mut T) -> Vec<ClusterEvent> {
        if self.driving.restoring {
            return Vec::new();
        }
        self.driving.restoring = true;
        let events = target.restore(&self.plan);
        self.take_restored(target);
        events
    }

    fn take_restored<T: DrillTarget>(&mut self, target: &mut T) {
        if let Some(r) = target.restored() {
            self.restored(r.ok, r.said, r.at, &r.after);
            if self.driving.interrupted {
                self.stop();
            }
        }
    }
}

/// Runs `drill` on `target` to its end, paced by the wall clock; a message on `aborts`
/// (or its closing) interrupts. `progress` is told after every change.
pub async fn run_paced<T: Paced>(
    drill: &mut Drill,
    target: &mut T,
    aborts: &mut mpsc::Receiver<()>,
    progress: &mut (dyn FnMut(&Drill) + Send),
) {
    let lab = target.clock() == Clock::Lab;
    let mut ticks = tokio::time::interval(Duration::from_millis(SAMPLE_MS as u64));
    if lab {
        // Every sample is taken: late ones come late, none is skipped.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticks.tick().await;
    } else {
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    }
    let mut aborts_open = true;
    while drill.phase() != Phase::Done {
        tokio::select! {
            _ = ticks.tick() => {
                let k = if lab {
                    drill.driving.ticked + 1
                } else {
                    (drill.driving.started.elapsed().as_millis() / SAMPLE_MS as u128) as u64
                };
                drill.tick(target, k);
            }
            () = target.news() => {
                drill.poll(target);
            }
            got = aborts.recv(), if aborts_open => {
                // Nobody can interrupt any more (the cockpit quit): restore now.
                if got.is_none() {
                    aborts_open = false;
                    drill.mark_interrupted("quitting the cockpit");
                }
                drill.interrupt_on(target);
            }
        }
        progress(drill);
    }
    progress(drill);
}

/// Ctrl-C and SIGTERM, as messages for [`run_paced`].
pub fn signals() -> std::io::Result<mpsc::Receiver<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let (abort, aborts) = mpsc::channel(4);
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = sigint.recv() => {}
                _ = sigterm.recv() => {}
            }
            if abort.send(()).await.is_err() {
                return;
            }
        }
    });
    Ok(aborts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::fault::DrillFault;
    use crate::drill::plan::{self, DrillSpec};
    use hatui_lab::Lab;

    /// A target whose probes are the lab's at the fault and whose restore comes back when
    /// the test says (as a live restore over SSH does).
    struct Slow {
        probe: Probe,
        at: Timestamp,
        restores: usize,
        restored: Option<Restored>,
        failed: Option<String>,
    }

    impl DrillTarget for Slow {
        fn clock(&self) -> Clock {
            Clock::Lab
        }
        fn now(&self) -> Timestamp {
            self.at
        }
        fn before(&mut self) -> Probe {
            self.probe.clone()
        }
        fn apply(&mut self, _plan: &Plan) -> Result<Vec<ClusterEvent>, Refusal> {
            Ok(Vec::new())
        }
        fn tick(&mut self, _k: u64) -> Vec<ClusterEvent> {
            Vec::new()
        }
        fn probe(&mut self, _k: u64) -> Option<Probe> {
            Some(self.probe.clone())
        }
        fn fault_failed(&mut self) -> Option<String> {
            self.failed.take()
        }
        fn restore(&mut self, _plan: &Plan) -> Vec<ClusterEvent> {
            self.restores += 1;
            Vec::new()
        }
        fn restored(&mut self) -> Option<Restored> {
            self.restored.take()
        }
        fn healthy(&self) -> bool {
            true
        }
    }

    fn slow() -> (Drill, Slow) {
        let lab = Lab::new(LabConfig::default());
        let mut spec = DrillSpec::new(DrillFault::Kubelet);
        spec.duration_ms = 1_000;
        let plan = plan::check(&lab, &spec).expect("the lab is healthy");
        let mut target = Slow {
            probe: Probe::of(&lab, &plan.target, 0),
            at: lab.now(),
            restores: 0,
            restored: None,
            failed: None,
        };
        let (drill, _) = begin(&mut target, plan).expect("never refused");
        (drill, target)
    }

    fn back(target: &mut Slow) {
        target.restored = Some(Restored {
            ok: true,
            said: String::new(),
            at: target.at,
            after: target.probe.clone(),
        });
    }

    #[test]
    fn a_restore_that_runs_on_is_started_once_and_the_samples_go_on_meanwhile() {
        let (mut d, mut t) = slow();
        d.advance_on(&mut t, Duration::from_millis(1_500));
        assert_eq!((t.restores, d.phase()), (1, Phase::Fault));
        assert_eq!(d.t(), 1_500, "sampled while the restore runs");
        back(&mut t);
        d.poll(&mut t);
        assert_eq!(d.phase(), Phase::Recovering, "the recovery is watched");
        assert!(d.restored);
    }

    #[test]
    fn interrupted_while_the_restore_runs_the_watch_ends_once_it_is_back() {
        let (mut d, mut t) = slow();
        d.advance_on(&mut t, Duration::from_millis(1_200));
        d.interrupt_on(&mut t);
        assert_eq!((t.restores, d.phase()), (1, Phase::Fault));
        back(&mut t);
        d.poll(&mut t);
        assert_eq!(d.phase(), Phase::Done);
    }

    #[test]
    fn a_restore_done_at_once_is_watched_on_after_an_interruption_until_asked_again() {
        let (mut d, mut t) = slow();
        d.advance_on(&mut t, Duration::from_millis(300));
        back(&mut t);
        d.interrupt_on(&mut t);
        assert_eq!(d.phase(), Phase::Recovering);
        let said: Vec<&str> = d.timeline().iter().map(|e| e.text.as_str()).collect();
        assert!(
            said.contains(&"drill interrupted: restoring now"),
            "{said:?}"
        );
        d.interrupt_on(&mut t);
        assert_eq!(d.phase(), Phase::Done);
    }

    #[test]
    fn a_failed_fault_restores_at_once() {
        let (mut d, mut t) = slow();
        d.step_on(&mut t);
        t.failed = Some("exit 1".into());
        d.poll(&mut t);
        assert_eq!(t.restores, 1);
        let said: Vec<&str> = d.timeline().iter().map(|e| e.text.as_str()).collect();
        assert!(
            said.iter().any(|s| s.starts_with("the fault failed on")),
            "{said:?}"
        );
    }
}
