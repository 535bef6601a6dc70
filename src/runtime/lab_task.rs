//! The lab as an async source: real time drives the virtual clock. Not part of the
//! simulation: it runs the lab, and the faults and the drill the operator asks for on it.

use std::time::Duration;

use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::mpsc::{Receiver, Sender};
use tokio::time::MissedTickBehavior;

use crate::drill::cockpit::{DrillCommand, DrillUpdate, Running};
use crate::lab::Lab;
use crate::model::{ClusterEvent, Fault};
use crate::wizard::exec::lab::Clock;

/// What the cockpit asks of the lab task.
#[derive(Debug, Clone, PartialEq)]
pub enum LabCommand {
    Fault(Fault),
    Drill(DrillCommand),
}

impl From<Fault> for LabCommand {
    fn from(fault: Fault) -> Self {
        Self::Fault(fault)
    }
}

const TICK: Duration = Duration::from_millis(50);

/// Faults and the drill on one lab: whoever moves the lab's clock (this task, or the
/// wizard's thread on a lab it builds) moves it through here.
#[derive(Default)]
pub struct LabDriver {
    drill: Running,
}

impl LabDriver {
    /// Drill reports go to `report_dir` (the cockpit's default is `./hatui-reports`).
    pub fn with_report_dir(report_dir: std::path::PathBuf) -> Self {
        Self {
            drill: Running::new(report_dir),
        }
    }

    /// Applies a fault or a drill command now: the lab's events, and what to tell the app.
    pub fn command(
        &mut self,
        lab: &mut Lab,
        command: LabCommand,
    ) -> (Vec<ClusterEvent>, Option<DrillUpdate>) {
        match command {
            LabCommand::Fault(fault) => (lab.inject(&fault), None),
            LabCommand::Drill(c) => self.drill.command(lab, c),
        }
    }

    /// Moves the lab by `dt`: a running drill moves it itself, sampling as it goes.
    /// Returns the events, whether they hold more than refreshes, and the drill's news.
    /// The cockpit is gone: a drill under way restores and reports (see [`Running::quit`]).
    pub fn quit(&mut self, lab: &mut Lab) -> Option<String> {
        self.drill.quit(lab)
    }

    pub fn advance(
        &mut self,
        lab: &mut Lab,
        dt: Duration,
    ) -> (Vec<ClusterEvent>, bool, Option<DrillUpdate>) {
        match self.drill.advance(lab, dt) {
            Some((events, said)) => (events, said.is_some(), said),
            None => {
                let (events, urgent) = lab.advance_batch(dt);
                (events, urgent, None)
            }
        }
    }
}

/// The wizard's lab clock in the cockpit: between the wizard's waits, the operator's faults
/// and drill commands act on the lab the wizard is building; the drill's news goes out
/// as `M`.
pub struct WizardLabClock<M> {
    driver: LabDriver,
    commands: Receiver<LabCommand>,
    tx: Sender<M>,
    /// Where the last word goes once the cockpit is gone mid-drill (taken when said).
    last_word: Option<tokio::sync::oneshot::Sender<Option<String>>>,
}

impl<M> WizardLabClock<M> {
    pub fn new(commands: Receiver<LabCommand>, tx: Sender<M>) -> Self {
        Self {
            driver: LabDriver::default(),
            commands,
            tx,
            last_word: None,
        }
    }

    /// Once the cockpit's commands close, at the next advance, a drill under way restores
    /// and reports; what it says (`None`: no drill ran) goes to `last_word`.
    pub fn with_last_word(
        mut self,
        last_word: tokio::sync::oneshot::Sender<Option<String>>,
    ) -> Self {
        self.last_word = Some(last_word);
        self
    }

    /// Drill reports go to `dir` instead of `./hatui-reports`.
    pub fn with_report_dir(mut self, dir: std::path::PathBuf) -> Self {
        self.driver = LabDriver::with_report_dir(dir);
        self
    }
}

impl<M> Clock for WizardLabClock<M>
where
    M: From<DrillUpdate> + Send + 'static,
{
    fn advance(&mut self, lab: &mut Lab, dt: Duration) -> Vec<ClusterEvent> {
        let mut events = Vec::new();
        let mut said = Vec::new();
        loop {
            match self.commands.try_recv() {
                Ok(command) => {
                    let (more, news) = self.driver.command(lab, command);
                    events.extend(more);
                    said.extend(news);
                }
                // The cockpit quit: a drill under way restores and reports now.
                Err(TryRecvError::Disconnected) => {
                    if let Some(to) = self.last_word.take() {
                        let _ = to.send(self.driver.quit(lab));
                    }
                    break;
                }
                Err(TryRecvError::Empty) => break,
            }
        }
        let (more, _, news) = self.driver.advance(lab, dt);
        events.extend(more);
        said.extend(news);
        for news in said {
            let _ = self.tx.blocking_send(news.into());
        }
        events
    }
}

/// Sends the full state, then every 50 ms of real time advances the lab by 50 ms x `speed`.
/// Changes go out at once; refreshes and clock ticks wait for the displayed second to change
/// (an idle cluster at speed 1 sends about one message a second). Faults are applied as
/// they arrive. Ends when `tx` is closed. Each batch goes out as an `M` made from the
/// events: the runtime's envelope, which the lab does not know.
pub async fn run<M>(lab: Lab, speed: f64, tx: Sender<M>, faults: Receiver<LabCommand>)
where
    M: From<Vec<ClusterEvent>> + From<DrillUpdate> + Send,
{
    run_then(lab, speed, tx, faults).await;
}

/// [`run`], then, when the cockpit went away mid-drill, what its restore and report say.
pub async fn run_then<M>(
    lab: Lab,
    speed: f64,
    tx: Sender<M>,
    faults: Receiver<LabCommand>,
) -> Option<String>
where
    M: From<Vec<ClusterEvent>> + From<DrillUpdate> + Send,
{
    run_following_then(lab, speed, tx, faults, |_: &Lab| Vec::new()).await
}

/// [`run`], calling `follow` after every advance and every fault so that something outside
/// the simulation (real etcd processes) can follow the lab's hosts; what it returns (notes)
/// goes out at once with the lab's own events. `follow` is dropped when the task ends.
pub async fn run_following<F, M>(
    lab: Lab,
    speed: f64,
    tx: Sender<M>,
    faults: Receiver<LabCommand>,
    follow: F,
) where
    F: FnMut(&Lab) -> Vec<ClusterEvent> + Send,
    M: From<Vec<ClusterEvent>> + From<DrillUpdate> + Send,
{
    run_following_then(lab, speed, tx, faults, follow).await;
}

/// [`run_following`]; once the cockpit is gone (its commands or its receiver closed), a
/// drill under way restores and writes its report: what to tell the operator then.
pub async fn run_following_then<F, M>(
    mut lab: Lab,
    speed: f64,
    tx: Sender<M>,
    mut faults: Receiver<LabCommand>,
    mut follow: F,
) -> Option<String>
where
    F: FnMut(&Lab) -> Vec<ClusterEvent> + Send,
    M: From<Vec<ClusterEvent>> + From<DrillUpdate> + Send,
{
    let mut driver = LabDriver::default();
    let first = lab.publishable(lab.full_state());
    if tx.send(first.into()).await.is_err() {
        return driver.quit(&mut lab);
    }
    let step = if speed.is_finite() && speed > 0.0 {
        TICK.mul_f64(speed.min(1e6))
    } else {
        Duration::ZERO
    };
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut pending: Vec<ClusterEvent> = Vec::new();
    let mut shown_second = lab.now().as_second();
    let mut faults_open = true;
    'run: loop {
        let batch = tokio::select! {
            _ = ticks.tick() => {
                let (events, urgent, said) = driver.advance(&mut lab, step);
                if let Some(said) = said
                    && tx.send(said.into()).await.is_err()
                {
                    break 'run;
                }
                let notes = follow(&lab);
                let urgent = urgent || !notes.is_empty();
                merge(&mut pending, events);
                insert_before_clock(&mut pending, notes);
                let second = lab.now().as_second();
                if !urgent && second == shown_second {
                    continue;
                }
                shown_second = second;
                std::mem::take(&mut pending)
            }
            command = faults.recv(), if faults_open => {
                // The cockpit quit: whatever it was doing ends here.
                let Some(command) = command else {
                    faults_open = false;
                    if driver.drill.active() {
                        break 'run;
                    }
                    continue;
                };
                let mut batch = std::mem::take(&mut pending);
                let (events, said) = driver.command(&mut lab, command);
                batch.extend(events);
                if let Some(said) = said
                    && tx.send(said.into()).await.is_err()
                {
                    break 'run;
                }
                insert_before_clock(&mut batch, follow(&lab));
                batch
            }
            _ = tx.closed() => break 'run,
        };
        if tx.send(lab.publishable(batch).into()).await.is_err() {
            break 'run;
        }
    }
    driver.quit(&mut lab)
}

/// Appends a held-back batch; only the newest trailing clock is kept.
fn merge(pending: &mut Vec<ClusterEvent>, events: Vec<ClusterEvent>) {
    if matches!(pending.last(), Some(ClusterEvent::Clock(_))) {
        pending.pop();
    }
    pending.extend(events);
}

/// Adds events to a batch, keeping its trailing clock (if any) last.
fn insert_before_clock(batch: &mut Vec<ClusterEvent>, events: Vec<ClusterEvent>) {
    let at = match batch.last() {
        Some(ClusterEvent::Clock(_)) => batch.len() - 1,
        _ => batch.len(),
    };
    batch.splice(at..at, events);
}
