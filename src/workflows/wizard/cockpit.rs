//! The wizard beside the cockpit, on the bare lab (`hatui lab --bare`, then `w`) or on
//! the inventory's hosts (`hatui --inventory FILE`, then `w`): one thread owns the
//! executor and the step engine. The engine runs a step to its end in one call; here each
//! wait is held to about a tick of real time ([`Driven`]: the lab's clock follows real
//! time times `speed`, real hosts are looked at when due), and every wait sends the
//! cluster's events and the output lines out, so the cockpit's panes assemble as the
//! operator watches.
//!
//! A thread, not a task: the engine is synchronous and a step runs for a minute. It talks
//! to the runtime only through channels and ends when the runtime's receiver is gone.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::sync::mpsc::Sender;

use super::engine::{Engine, StepReport, StepStatus};
use super::exec::lab::OnEvents;
use super::exec::ssh::HostKeyQuestion;
use super::exec::{Executor, HostKeyDesk, LabExecutor, RunEvent, RunId, SshExecutor};
use super::headless::ssh::admin_conf_to_bastion;
use super::plan::Plan;
use hatui_model::{ClusterEvent, ClusterState};

/// Real time between two looks at the lab while nothing runs.
const TICK: Duration = Duration::from_millis(50);
/// How long a revealed secret stays on screen (real time).
pub const REVEAL_FOR: Duration = Duration::from_secs(10);

/// What the operator asks of the wizard.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The operator's answer to an unknown host key: goes to the executor's
    /// [`HostKeyDesk`](super::exec::HostKeyDesk), not to this thread (which may be
    /// waiting on that very login).
    HostKey { id: u64, accept: bool },
    /// Put the plan that replaces this dead master in the pane, in place of the one there
    /// (the plan of `hatui wizard --lab --replace NODE`); its steps then run as any others.
    Replace(String),
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
    /// A host offered a key no known_hosts file has: accept it?
    HostKey(HostKeyQuestion),
    /// The pane now holds the plan replacing this master (`None`: it could not be made;
    /// the timeline says why).
    Replacing(Option<String>),
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

/// What the wizard's thread needs of an executor beyond running commands.
pub trait Driven: Executor {
    /// Each change of the cluster view goes to `f` (the cockpit's panes).
    fn stream_events(&mut self, f: OnEvents);
    /// Nothing ran for `real`: the lab's clock moves on; real hosts are looked at when due.
    fn idle(&mut self, real: Duration, speed: f64);
    /// One wait while a step runs, at most about [`TICK`] of real time.
    fn paced_wait(&mut self, limit: Duration, speed: f64) -> Vec<RunEvent>;
    /// A scenario's time before the first join (the lab's clock only).
    fn pause(&mut self, _time: Duration) {}
    /// Commands of a parallel group at once, at most.
    fn parallel(&self) -> usize {
        usize::MAX
    }
    /// The operator runs a failed step again (or its fix): what failed may be fixed now.
    fn retrying(&mut self) {}
    /// After each step: something to tell the operator in the timeline (real hosts:
    /// admin.conf brought to the bastion once init is done).
    fn after_step(&mut self, _engine: &Engine) -> Option<String> {
        None
    }
    /// The plan that replaces dead master `node` here, or why there is none.
    fn replace_plan(&self, node: &str) -> Result<Plan, String> {
        Err(format!(
            "replacing {node} from the cockpit runs on the lab only: use `hatui wizard \
             --inventory FILE --replace {node}`"
        ))
    }
}

impl Driven for LabExecutor {
    fn stream_events(&mut self, f: OnEvents) {
        self.on_events(f);
    }

    fn idle(&mut self, real: Duration, speed: f64) {
        self.pass(real.mul_f64(speed));
    }

    /// The lab moves at most one tick of lab time, and the thread sleeps as long as that
    /// takes at `speed`.
    fn paced_wait(&mut self, limit: Duration, speed: f64) -> Vec<RunEvent> {
        let before = self.now();
        let events = self.wait(limit.min(TICK.mul_f64(speed)));
        let lab = self.now().duration_since(before);
        let real = lab.as_secs_f64().max(0.0) / speed;
        std::thread::sleep(Duration::from_secs_f64(real.min(1.0)));
        events
    }

    fn pause(&mut self, time: Duration) {
        self.pass(time);
    }

    /// As `hatui wizard --lab --replace NODE`: through a master whose member answers,
    /// refused when `node` is not dead or its removal would lose the quorum.
    fn replace_plan(&self, node: &str) -> Result<Plan, String> {
        let c = self.cluster();
        let healthy = c
            .etcd
            .members
            .iter()
            .find(|m| m.reachable && !m.is_learner && m.name != node && !m.name.is_empty());
        let Some(healthy) = healthy.map(|m| m.name.clone()) else {
            return Err(format!(
                "no other master's etcd member answers: nothing to replace {node} through"
            ));
        };
        if let Some(why) = super::headless::replace_refusal(c, node) {
            return Err(format!("refusing to replace {node}: {why}"));
        }
        let cfg = self.lab().config();
        let toml = super::lab::inventory_toml(cfg.control_planes, cfg.workers);
        let inv = hatui_fleet::inventory::parse("lab", &toml).map_err(|e| e.to_string())?;
        let mut plan = super::plan::replace(&inv, node, &healthy)
            .ok_or_else(|| format!("{node} is not a control plane of the lab"))?;
        let marks = super::headless::replacement_marks(c, node);
        super::plan::delete_leftover_marks(&mut plan, &marks);
        Ok(plan)
    }

    /// The lab remembers the plan that built it: a drill's report names it.
    fn after_step(&mut self, engine: &Engine) -> Option<String> {
        let steps = engine.reports().iter();
        let steps = steps.map(|r| format!("{} {:?}", r.id, r.status));
        self.lab_mut().record_built(steps.collect());
        None
    }
}

impl Driven for SshExecutor {
    fn stream_events(&mut self, f: OnEvents) {
        self.on_events(f);
    }

    fn idle(&mut self, _real: Duration, _speed: f64) {
        self.look_when_due();
    }

    fn paced_wait(&mut self, limit: Duration, _speed: f64) -> Vec<RunEvent> {
        self.wait(limit.min(TICK))
    }

    fn parallel(&self) -> usize {
        super::headless::DEFAULT_PARALLEL
    }

    fn retrying(&mut self) {
        self.forget_failed_logins();
    }

    fn after_step(&mut self, engine: &Engine) -> Option<String> {
        let conf = self.admin_conf.as_ref().filter(|c| !c.fetched)?;
        let init = engine.reports().iter().find(|r| r.id == "init");
        if !init.is_some_and(|r| r.status == StepStatus::Ok) {
            return None;
        }
        let (inv, file, home) = (conf.inventory.clone(), conf.file.clone(), conf.home.clone());
        let saved = admin_conf_to_bastion(&inv, &file, home.as_deref(), self);
        if let Some(c) = self.admin_conf.as_mut() {
            c.fetched = true;
        }
        Some(match (saved.path, saved.open, saved.error) {
            (Some(path), Some(open), _) => format!(
                "admin.conf saved to {path} (server {}): `{open}` opens the cockpit on the \
                 live cluster, with d for the drill",
                saved.server
            ),
            (_, _, error) => format!(
                "admin.conf could not be brought to the bastion: {}",
                error.unwrap_or_default()
            ),
        })
    }
}

/// The desk where real hosts' unknown keys are asked about: each question goes to `tx`
/// as a [`WizardUpdate::HostKey`], sent from the login's task without blocking it.
pub fn host_key_desk<M>(tx: &Sender<M>) -> HostKeyDesk
where
    M: From<WizardUpdate> + Send + 'static,
{
    let tx = tx.clone();
    HostKeyDesk::new(move |q| {
        let tx = tx.clone();
        tokio::spawn(async move { tx.send(WizardUpdate::HostKey(q).into()).await });
    })
}

/// Runs the wizard for `plan` on `exec` until `tx` is closed. The cockpit's events and
/// the wizard's updates both go out as `M`. `pause` is lab time that passes before the
/// first join (a scenario's, e.g. 3 h for an expired certificate key).
pub fn run<M, X>(
    mut exec: X,
    plan: Plan,
    speed: f64,
    tx: Sender<M>,
    commands: Receiver<WizardCommand>,
    pause: Duration,
) where
    M: From<Vec<ClusterEvent>> + From<WizardUpdate> + Send + 'static,
    X: Driven,
{
    let events_tx = tx.clone();
    exec.stream_events(Box::new(move |events| {
        let _ = events_tx.blocking_send(events.to_vec().into());
    }));
    // What already happened on real hosts (an earlier run) is found by looking.
    exec.refresh();
    let mut engine = new_engine(plan, &exec, &tx);
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
                    exec.idle(TICK, out.speed);
                    out.hide_when_due();
                    continue;
                }
                // One more tick of the lab's clock: it sees the cockpit gone, and a drill
                // under way restores and reports.
                Err(RecvTimeoutError::Disconnected) => {
                    exec.idle(TICK, out.speed);
                    return;
                }
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
                exec.retrying();
                engine.retry();
                out.send(WizardUpdate::Steps(WizardSteps::of(&engine)));
            }
            WizardCommand::RunFix => {
                exec.retrying();
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
            // Answered where the login waits (the runtime's sink): nothing to do here.
            WizardCommand::HostKey { .. } => {}
            WizardCommand::Replace(node) => match exec.replace_plan(&node) {
                Ok(plan) => {
                    engine = new_engine(plan, &exec, &out.tx);
                    out.send(WizardUpdate::Steps(WizardSteps::of(&engine)));
                    out.send(WizardUpdate::Replacing(Some(node)));
                }
                Err(why) => {
                    out.send(WizardUpdate::Replacing(None));
                    out.put(vec![ClusterEvent::Note(why)].into());
                }
            },
        }
    }
}

/// The engine for `plan` on what `exec` sees now (what is done already is found by
/// looking), its output lines going out as they come.
fn new_engine<M, X>(plan: Plan, exec: &X, tx: &Sender<M>) -> Engine
where
    M: From<WizardUpdate> + Send + 'static,
    X: Driven,
{
    let mut engine = Engine::new(plan, exec.cluster());
    engine.set_parallel(exec.parallel());
    let line_tx = tx.clone();
    engine.on_output(Box::new(move |_, line| {
        let _ = line_tx.blocking_send(WizardUpdate::Line(line.to_string()).into());
    }));
    engine
}

fn step<M, X>(engine: &mut Engine, exec: &mut X, out: &mut Out<M>)
where
    M: From<Vec<ClusterEvent>> + From<WizardUpdate> + Send + 'static,
    X: Driven,
{
    if let Some(next) = engine.next_step() {
        let joins = next.id.starts_with("join-") || next.id.starts_with("verify");
        if let Some(pause) = out.pause.take_if(|_| joins) {
            exec.pause(pause);
        }
        out.send(WizardUpdate::Running(next.id.clone()));
    }
    engine.run_next(&mut Paced { exec, out });
    out.send(WizardUpdate::Steps(WizardSteps::of(engine)));
    if let Some(said) = exec.after_step(engine) {
        let _ = out.tx.blocking_send(vec![ClusterEvent::Note(said)].into());
    }
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

/// The executor held to real time ([`Driven::paced_wait`]); between waits, the
/// operator's commands are queued and a reveal is hidden when due.
struct Paced<'a, M, X> {
    exec: &'a mut X,
    out: &'a mut Out<M>,
}

impl<M, X> Executor for Paced<'_, M, X>
where
    M: From<Vec<ClusterEvent>> + From<WizardUpdate> + Send + 'static,
    X: Driven,
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
        let events = self.exec.paced_wait(limit, self.out.speed);
        self.out.hide_when_due();
        self.out.poll();
        events
    }

    fn cluster(&self) -> &ClusterState {
        self.exec.cluster()
    }

    fn refresh(&mut self) {
        self.exec.refresh();
    }
}
