//! The drill as a small state machine: apply the fault, observe every 100 ms, restore after
//! the duration (or at once on an interruption), observe the recovery until the master is
//! back and the cluster healthy (bounded), then done. The machine itself only takes
//! [`Probe`]s ([`Drill::begin`], [`Drill::record`], [`Drill::restored`]); the one loop that
//! feeds it, on the lab, on real etcd or on a live cluster, is [`super::driver`]'s.

use std::time::{Duration, Instant};

use jiff::Timestamp;

use hatui_lab::LabConfig;

use super::observe::{Event, Observer};
use super::plan::Plan;
use super::probe::Probe;
use super::series::Series;

/// Sampling period, in ms of lab time.
pub const SAMPLE_MS: i64 = 100;
/// How long the recovery is watched at most after the restore.
pub const RECOVERY_LIMIT_MS: i64 = 300_000;

/// What the driver of a drill does after a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Sample,
    /// The duration is over: run the restore, then call [`Drill::restored`].
    Restore,
    /// A second of recovery passed: say whether the cluster is healthy ([`Drill::health`]).
    CheckHealth,
}

/// When and how a drill was cut short.
#[derive(Debug, Clone, PartialEq)]
pub struct Interruption {
    /// Ms since the fault.
    pub at_ms: i64,
    /// The phase it was in then.
    pub during: Phase,
    /// What cut it short, as the report says it.
    pub by: String,
}

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
    /// The lab drilled (its shape and seed, for the report); `None` on a live cluster.
    pub lab: Option<LabConfig>,
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
    /// Cluster time at the fault (the lab's clock, or the wall clock).
    pub started_at: Timestamp,
    pub restored_at: Option<Timestamp>,
    /// The restore ran (or found nothing left to undo).
    pub restored: bool,
    /// What the lab said when the restore ran.
    pub restore_note: Option<String>,
    /// The operator cut the drill short (Esc, Ctrl-C, quitting the cockpit).
    pub interrupted: Option<Interruption>,
    /// Ms since the fault, of the latest sample.
    t: i64,
    restored_ms: Option<i64>,
    phase: Phase,
    /// The driver's timing ([`super::driver`]).
    pub(super) driving: Driving,
    /// The cluster as a whole was healthy again after the restore (checked each second).
    healthy: bool,
}

impl Drill {
    /// The drill of `plan`, whose fault was just applied at `started_at`; `before`: the
    /// cluster right before it.
    pub fn begin(
        plan: Plan,
        before: &Probe,
        started_at: Timestamp,
        lab: Option<LabConfig>,
    ) -> Drill {
        let target = plan.target.clone();
        let mut observer = Observer::new(plan.spec.fault, &target, before);
        observer.note(
            0,
            format!("fault: {}", plan.spec.fault.headline(&target)),
            plan.spec.fault.expectation(),
        );
        let masters = before.masters.iter();
        let masters = masters.map(|m| (m.node.clone(), Series::new(SAMPLE_MS)));
        Drill {
            lab,
            started_at,
            restored_at: None,
            restored: false,
            restore_note: None,
            interrupted: None,
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
            driving: Driving::default(),
            healthy: false,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn target(&self) -> &str {
        &self.plan.target
    }

    /// Ms since the fault, of the latest sample.
    pub fn t(&self) -> i64 {
        self.t
    }

    /// Time since the fault.
    pub fn elapsed(&self) -> Duration {
        Duration::from_millis(self.t.max(0) as u64)
    }

    pub fn timeline(&self) -> &[Event] {
        &self.observer.timeline
    }

    /// The operator cut the drill short by `by` (the first cut counts); the report says so.
    pub fn mark_interrupted(&mut self, by: &str) {
        if self.interrupted.is_none() && self.phase != Phase::Done {
            self.interrupted = Some(Interruption {
                at_ms: self.t,
                during: self.phase,
                by: by.to_string(),
            });
        }
    }

    /// Ms since the fault, of the restore.
    pub fn restored_ms(&self) -> Option<i64> {
        self.restored_ms
    }

    /// Notes an interruption; `true` when a restore is due (the fault is still in place).
    pub fn interrupt(&mut self) -> bool {
        if self.phase != Phase::Fault {
            return false;
        }
        self.observer.note(
            self.t,
            "drill interrupted: restoring now",
            "a drill always restores",
        );
        true
    }

    /// Takes in the sample at `t` ms since the fault (every 100 ms); says what is due.
    pub fn record(&mut self, t: i64, p: &Probe) -> Next {
        self.t = t;
        self.sample(p);
        match self.phase {
            Phase::Fault if self.t >= self.plan.spec.duration_ms => Next::Restore,
            Phase::Recovering => {
                let since = self.t - self.restored_ms.unwrap_or(self.t);
                if since % 1_000 == 0 && !self.healthy {
                    return Next::CheckHealth;
                }
                self.finish_if_due();
                Next::Sample
            }
            _ => Next::Sample,
        }
    }

    /// Whether the whole cluster was healthy at the latest once-a-second check.
    pub fn health(&mut self, healthy: bool) {
        self.healthy = healthy;
        self.finish_if_due();
    }

    fn finish_if_due(&mut self) {
        if self.phase != Phase::Recovering {
            return;
        }
        let since = self.t - self.restored_ms.unwrap_or(self.t);
        if (self.observer.recovered() && self.healthy) || since >= RECOVERY_LIMIT_MS {
            self.finish();
        }
    }

    fn sample(&mut self, p: &Probe) {
        let t = self.t;
        self.endpoint
            .push(t, p.endpoint_error.clone(), p.endpoint_latency_ms);
        match &p.keepalive {
            Some(k) => self.keepalive.push(t, k.error.clone(), k.latency_ms),
            None => self.sample_keepalive(t, p),
        }
        for (node, series) in &mut self.masters {
            if let Some(r) = p.readyz(node) {
                series.push(t, r.error.clone(), r.latency_ms);
            }
        }
        self.observer.observe(t, self.restored_ms, p);
    }

    /// A request on the kept-alive connection, where the probe has none of its own (the
    /// lab): the master it is on answers as its own `/readyz` says; without a connection,
    /// a new one goes through the balancer.
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

    /// The restore ran at `at` (`ok`: it did what it should; `said`: its output); `p`: the
    /// cluster right after it.
    pub fn restored(&mut self, ok: bool, said: String, at: Timestamp, p: &Probe) {
        self.restored = ok;
        self.restore_note = Some(said);
        self.restored_at = Some(at);
        self.restored_ms = Some(self.t);
        self.phase = Phase::Recovering;
        let cmds = self.plan.restore_commands.join("; ");
        self.observer.note(
            self.t,
            format!("restore: {cmds}"),
            "a drill always undoes its fault",
        );
        // The moment of the restore counts: what is already back needs no wait.
        self.observer.observe(self.t, self.restored_ms, p);
    }

    /// Stops watching the recovery now (the operator asked twice).
    pub fn stop(&mut self) {
        if self.phase == Phase::Recovering {
            self.finish();
        }
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

/// The driver's own state (`driver.rs` moves it), kept in the [`Drill`] it records into.
#[derive(Debug, Clone)]
pub struct Driving {
    /// The latest sample ticked.
    pub(super) ticked: u64,
    /// The next sample to record.
    pub(super) next: u64,
    /// Lab time asked for but less than a sample.
    pub(super) carry_ms: i64,
    /// The restore was started.
    pub(super) restoring: bool,
    /// Interrupted (Ctrl-C, Esc on a live drill): a restore still running ends the watch.
    pub(super) interrupted: bool,
    /// The wall clock at the fault.
    pub(super) started: Instant,
}

impl Default for Driving {
    fn default() -> Self {
        Self {
            ticked: 0,
            next: 1,
            carry_ms: 0,
            restoring: false,
            interrupted: false,
            started: Instant::now(),
        }
    }
}
