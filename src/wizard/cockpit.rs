//! The wizard beside the cockpit on the bare lab (`hatui lab --bare`, then `w`): one thread
//! owns the lab, its executor and the step engine. The engine runs a step to its end in
//! one call; here the executor is paced so that the lab's clock follows real time (times
//! `speed`) while it runs, and every wait sends the cluster's events and the output lines
//! out, so the cockpit's panes assemble as the class watches.
//!
//! A thread, not a task: the engine is synchronous and a step runs for a minute of lab
//! time. It talks to the runtime only through channels and ends when the runtime's
//! receiver is gone.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::sync::mpsc::Sender;

use super::engine::{Engine, StepReport, StepStatus};
use super::exec::{Executor, LabExecutor, RunEvent, RunId};
use super::plan::Plan;
use crate::model::{ClusterEvent, ClusterState};

/// Real time between two looks at the lab while nothing runs.
const TICK: Duration = Duration::from_millis(50);
/// How long a revealed secret stays on screen (real time).
pub const REVEAL_FOR: Duration = Duration::from_secs(10);

/// What the operator asks of the wizard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WizardCommand {
    /// Run the next step (or the next group of parallel steps).
    RunNext,
    /// Run every remaining step.
    RunAll,
    /// Run the step that failed again.
    Retry,
    /// Run the fix the failed step offers, then the step again.
    RunFix,
    /// Skip the step that failed (or the next one) and go on: the operator confirmed.
    Skip,
    /// Show the certificate key and the join token for [`REVEAL_FOR`].
    Reveal,
}

/// What the wizard tells the cockpit.
#[derive(Debug, Clone, PartialEq)]
pub enum WizardUpdate {
    /// Every step's record, after anything changed.
    Steps(WizardSteps),
    /// A step started running.
    Running(String),
    /// A line of the running step's output, secrets hidden.
    Line(String),
    /// The secrets to show (`None`: hide them again).
    Revealed(Option<Vec<String>>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct WizardSteps {
    pub reports: Vec<StepReport>,
    /// Why each step runs, by report index (the plan's sentences).
    pub why: Vec<String>,
    /// The host of each of a report's commands, by report index.
    pub command_hosts: Vec<Vec<String>>,
    pub warnings: Vec<String>,
    pub finished: bool,
    pub verified: bool,
}

impl WizardSteps {
    pub fn of(engine: &Engine) -> Self {
        let steps = engine.reports().iter().map(|r| engine.plan().step(&r.id));
        let steps: Vec<_> = steps.collect();
        let why = steps
            .iter()
            .map(|s| s.map(|s| s.why.clone()).unwrap_or_default());
        let hosts = steps.iter().map(|s| {
            s.map(|s| s.commands.iter().map(|c| c.host.clone()).collect())
                .unwrap_or_default()
        });
        let mut reports = engine.reports().to_vec();
        for r in reports
            .iter_mut()
            .filter(|r| r.status == StepStatus::Pending)
        {
            if let Some(now) = engine.commands_now(&r.id) {
                r.commands = now;
            }
        }
        Self {
            reports,
            why: why.collect(),
            command_hosts: hosts.collect(),
            warnings: engine.plan().warnings.clone(),
            finished: engine.finished(),
            verified: engine.verified(),
        }
    }
}

/// Runs the wizard for `plan` on `exec` until `tx` is closed. The cockpit's events and
/// the wizard's updates both go out as `M`. `pause` is lab time that passes before the
/// first join (a scenario's, e.g. 3 h for an expired certificate key).
pub fn run<M>(
    mut exec: LabExecutor,
    plan: Plan,
    speed: f64,
    tx: Sender<M>,
    commands: Receiver<WizardCommand>,
    pause: Duration,
) where
    M: From<Vec<ClusterEvent>> + From<WizardUpdate> + Send + 'static,
{
    let events_tx = tx.clone();
    exec.on_events(Box::new(move |events| {
        let _ = events_tx.blocking_send(events.to_vec().into());
    }));
    let mut engine = Engine::new(plan, exec.cluster());
    let line_tx = tx.clone();
    engine.on_output(Box::new(move |_, line| {
        let _ = line_tx.blocking_send(WizardUpdate::Line(line.to_string()).into());
    }));
    let mut out = Out {
        tx,
        commands,
        queued: VecDeque::new(),
        speed: if speed.is_finite() && speed > 0.0 {
            speed.min(1e6)
        } else {
            1.0
        },
        gone: false,
        reveal_until: None,
        pause: (!pause.is_zero()).then_some(pause),
    };
    out.send(WizardUpdate::Steps(WizardSteps::of(&engine)));
    while !out.gone {
        let command = match out.queued.pop_front() {
            Some(c) => c,
            None => match out.commands.recv_timeout(TICK) {
                Ok(c) => c,
                Err(RecvTimeoutError::Timeout) => {
                    exec.pass(TICK.mul_f64(out.speed));
                    out.hide_when_due();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            },
        };
        match command {
            WizardCommand::Reveal => out.reveal(&engine),
            WizardCommand::RunNext => step(&mut engine, &mut exec, &mut out),
            WizardCommand::RunAll => {
                while !engine.finished() && !out.gone {
                    step(&mut engine, &mut exec, &mut out);
                }
            }
            WizardCommand::Retry => {
                engine.retry();
                out.send(WizardUpdate::Steps(WizardSteps::of(&engine)));
            }
            WizardCommand::RunFix => {
                if let Some(i) = engine.failed_step() {
                    out.send(WizardUpdate::Running(engine.reports()[i].id.clone()));
                }
                engine.run_fix(&mut Paced {
                    exec: &mut exec,
                    out: &mut out,
                });
                out.send(WizardUpdate::Steps(WizardSteps::of(&engine)));
            }
            WizardCommand::Skip => {
                engine.skip();
                out.send(WizardUpdate::Steps(WizardSteps::of(&engine)));
            }
        }
    }
}

fn step<M>(engine: &mut Engine, exec: &mut LabExecutor, out: &mut Out<M>)
where
    M: From<Vec<ClusterEvent>> + From<WizardUpdate> + Send + 'static,
{
    if let Some(next) = engine.next_step() {
        let joins = next.id.starts_with("join-") || next.id.starts_with("verify");
        if let Some(pause) = out.pause.take_if(|_| joins) {
            exec.pass(pause);
        }
        out.send(WizardUpdate::Running(next.id.clone()));
    }
    engine.run_next(&mut Paced { exec, out });
    out.send(WizardUpdate::Steps(WizardSteps::of(engine)));
}

struct Out<M> {
    tx: Sender<M>,
    commands: Receiver<WizardCommand>,
    /// Asked for while a step ran: run after it (a reveal is shown at once).
    queued: VecDeque<WizardCommand>,
    speed: f64,
    /// The cockpit quit: run on without pacing and end.
    gone: bool,
    reveal_until: Option<Instant>,
    /// A scenario's lab time to let pass before the first join.
    pause: Option<Duration>,
}

impl<M> Out<M>
where
    M: From<Vec<ClusterEvent>> + From<WizardUpdate> + Send + 'static,
{
    fn send(&mut self, update: WizardUpdate) {
        self.put(update.into());
    }

    fn put(&mut self, msg: M) {
        if !self.gone && self.tx.blocking_send(msg).is_err() {
            self.gone = true;
        }
    }

    fn reveal(&mut self, engine: &Engine) {
        self.show(engine.secrets());
    }

    fn show(&mut self, secrets: Vec<String>) {
        let shown = if secrets.is_empty() {
            vec!["nothing to reveal yet: init has not printed a token or a key".to_string()]
        } else {
            secrets
        };
        self.reveal_until = Some(Instant::now() + REVEAL_FOR);
        self.send(WizardUpdate::Revealed(Some(shown)));
    }

    /// While a step runs: what the operator asks waits for the step to end.
    fn poll(&mut self) {
        loop {
            match self.commands.try_recv() {
                Ok(c) => self.queued.push_back(c),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.gone = true;
                    break;
                }
            }
        }
    }

    fn hide_when_due(&mut self) {
        if self.reveal_until.is_some_and(|t| Instant::now() >= t) {
            self.reveal_until = None;
            self.send(WizardUpdate::Revealed(None));
        }
    }
}

/// The lab's executor with its clock held to real time: each wait moves the lab at most
/// one tick of lab time and sleeps as long as that takes at `speed` (what changed goes
/// out through the executor's `on_events`).
struct Paced<'a, M> {
    exec: &'a mut LabExecutor,
    out: &'a mut Out<M>,
}

impl<M> Executor for Paced<'_, M>
where
    M: From<Vec<ClusterEvent>> + From<WizardUpdate> + Send + 'static,
{
    fn now(&self) -> Timestamp {
        self.exec.now()
    }

    fn start(&mut self, host: &str, command: &str) -> RunId {
        self.exec.start(host, command)
    }

    fn wait(&mut self, limit: Duration) -> Vec<RunEvent> {
        if self.out.gone {
            return self.exec.wait(limit);
        }
        let before = self.exec.now();
        let events = self.exec.wait(limit.min(TICK.mul_f64(self.out.speed)));
        let lab = self.exec.now().duration_since(before);
        let real = lab.as_secs_f64().max(0.0) / self.out.speed;
        std::thread::sleep(Duration::from_secs_f64(real.min(1.0)));
        self.out.hide_when_due();
        self.out.poll();
        events
    }

    fn cluster(&self) -> &ClusterState {
        self.exec.cluster()
    }
}
