//! The event loop: terminal input, source messages and signals in; one `update`, and a
//! redraw only when something changed.

use std::path::PathBuf;
use std::time::Duration;

use color_eyre::Result;
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::app::App;
use crate::drill::headless::DEFAULT_REPORT_DIR;
use crate::drill::live::{LiveCluster, cockpit as live_drill};
use crate::etcd::{EtcdAccess, EtcdSettings, Poller, PollerConfig, spawn_poller};
use crate::lab::{Lab, LabConfig};
use crate::live::{self, Target};
use crate::message::{Command, DrillCommand, Message, WizardCommand};
use crate::model::{ClusterEvent, ClusterState, FeedKind, SourceKind};
use crate::real_etcd::{self, RealEtcd};
use crate::supervise::{self, Duty};
use crate::terminal::TerminalGuard;
use crate::view;
use crate::wizard::{
    self,
    exec::{Executor, LabExecutor},
};

mod inventory;
pub mod lab_task;
pub mod workshop;
pub use inventory::run_inventory;
pub use lab_task::LabCommand;

/// The lab the command line asks for.
#[derive(Debug, Clone)]
pub struct LabSettings {
    pub config: LabConfig,
    /// How many times faster than real time the lab clock runs.
    pub speed: f64,
    /// The lab's etcd as real etcd processes on loopback.
    pub real_etcd: bool,
    /// Hosts only, nothing initialised: the wizard builds the cluster.
    pub bare: bool,
    /// With `bare`: what to practise, set up as `hatui wizard --lab --scenario` does.
    pub scenario: Option<wizard::headless::Scenario>,
}

/// Opens the cockpit on the embedded lab.
/// With `--real-etcd`, the real members are started (and answer) before the terminal is
/// taken over; they live in the lab task, which stops them when it ends.
pub async fn run_lab(args: LabSettings, etcd: &EtcdSettings) -> Result<()> {
    if args.bare {
        return run_bare_lab(args).await;
    }
    let etcd = etcd.access().await?;
    let mut cfg = args.config;
    let real = if args.real_etcd {
        real_etcd::find_etcd()?;
        for note in real_etcd::sweep(&std::env::temp_dir()) {
            eprintln!("{note}");
        }
        let n = cfg.control_planes;
        eprintln!("starting {n} real etcd members on 127.0.0.1...");
        Some(RealEtcd::start(n).await?)
    } else {
        None
    };
    cfg.external_etcd = etcd.is_some() || real.is_some();
    let external_etcd = cfg.external_etcd;
    let lab = Lab::new(cfg);
    let mut cluster = ClusterState::new(SourceKind::Lab, lab.config().endpoint.clone(), lab.now());
    let (tx, rx) = mpsc::channel(64);
    let (fault_tx, fault_rx) = mpsc::channel(8);
    // Kept alive for the whole session: dropping the poller (or `etcd`, which owns any SSH
    // tunnels) stops it. Its heartbeat is promised in lab time: `--speed` times faster.
    let _poller = etcd
        .as_ref()
        .map(|e| start_etcd(e, &mut cluster, &tx, args.speed));
    let _real_poller = real.as_ref().map(|r| {
        let cfg = PollerConfig {
            clock_rate: args.speed,
            ..r.poller_config()
        };
        spawn_poller(cfg, tx.clone())
    });
    let watched = tx.clone();
    // The lab task's last word: a drill cut short by quitting, restored and reported.
    let (last_tx, last_word) = tokio::sync::oneshot::channel();
    let source = tokio::spawn(async move {
        let said = match real {
            Some(mut real) => {
                let follow = move |lab: &Lab| real.follow(lab);
                lab_task::run_following_then(lab, args.speed, tx, fault_rx, follow).await
            }
            None => lab_task::run_then(lab, args.speed, tx, fault_rx).await,
        };
        let _ = last_tx.send(said);
    });
    // The lab's whole simulation lives in its task: a new one would be another cluster
    // (its clock back at the start, faults forgotten), so a lab that stops is only reported.
    let feeds = if external_etcd {
        &LAB_FEEDS[..4]
    } else {
        &LAB_FEEDS[..]
    };
    let duty = Duty::new("the lab", feeds);
    let why_not = "not restarted: the simulated cluster died with it, its panes are frozen";
    let _lab = supervise::watch_once(duty, watched, source, why_not);
    let mut guard = TerminalGuard::enter()?;
    supervise::quiet_task_panics();
    let app = App::new(cluster);
    let sinks = Sinks {
        faults: Some(fault_tx),
        ..Sinks::default()
    };
    let ended = event_loop(&mut guard, app, rx, sinks).await;
    // The terminal first: what the lab task says after it is printed on a normal screen.
    drop(guard);
    say_last_word(last_word).await;
    ended
}

/// The bare lab with the wizard open beside the cockpit: one thread owns the lab, the
/// wizard's engine and the executor; the cockpit's panes fill in as the steps run.
async fn run_bare_lab(args: LabSettings) -> Result<()> {
    let cfg = args.config;
    let plan = wizard::headless::lab_plan(cfg.control_planes, cfg.workers)?;
    let mut exec = LabExecutor::new(cfg);
    let pause = args
        .scenario
        .map_or(std::time::Duration::ZERO, |s| s.pause());
    if let Some(s) = args.scenario {
        s.set_up(&mut exec, &plan);
    }
    let (tx, rx) = mpsc::channel(256);
    let (wizard_tx, wizard_rx) = std::sync::mpsc::channel();
    // Faults and the drill act on the lab the wizard builds: its thread owns the lab and
    // moves its clock through them.
    let (fault_tx, fault_rx) = mpsc::channel(8);
    let (last_tx, last_word) = tokio::sync::oneshot::channel();
    let clock = lab_task::WizardLabClock::new(fault_rx, tx.clone()).with_last_word(last_tx);
    exec.drive(Box::new(clock));
    let app = App::with_wizard(exec.cluster().clone());
    std::thread::Builder::new()
        .name("wizard".into())
        .spawn(move || wizard::cockpit::run(exec, plan, args.speed, tx, wizard_rx, pause))?;
    let mut guard = TerminalGuard::enter()?;
    let sinks = Sinks {
        wizard: Some(wizard_tx),
        faults: Some(fault_tx),
        ..Sinks::default()
    };
    let ended = event_loop(&mut guard, app, rx, sinks).await;
    drop(guard);
    say_last_word(last_word).await;
    ended
}

/// What the lab says once the cockpit is gone: a drill cut short, restored and reported.
/// Printed on the normal screen (the terminal is restored first).
async fn say_last_word(last_word: tokio::sync::oneshot::Receiver<Option<String>>) {
    let said = tokio::time::timeout(Duration::from_secs(10), last_word).await;
    if let Ok(Ok(Some(said))) = said {
        eprintln!("hatui: {said}");
    }
}

/// The panes the lab feeds (etcd last: not when etcd is external).
const LAB_FEEDS: [FeedKind; 5] = [
    FeedKind::Nodes,
    FeedKind::Pods,
    FeedKind::Leases,
    FeedKind::Tokens,
    FeedKind::Etcd,
];

/// Opens the cockpit on the cluster of the kubeconfig: a bad kubeconfig fails here, before
/// the terminal is taken over, with the file and field to fix.
pub async fn run_live(target: Target, etcd_args: &EtcdSettings) -> Result<()> {
    let mut sources = live::connect(&target, live::wall_clock()).await?;
    let etcd = live::etcd_way::choose(&mut sources, etcd_args).await?;
    let mut cluster = live::empty_state(&sources);
    let (tx, rx) = mpsc::channel(64);
    let _poller = etcd.as_ref().map(|e| start_etcd(e, &mut cluster, &tx, 1.0));
    // The API was not reachable for discovery: again once it is (through a master).
    if sources.etcd_retry {
        let retry = live::etcd_way::rediscover(sources.clone(), etcd_args.clone(), tx.clone());
        tokio::spawn(retry);
    }
    let _sources = live::spawn(sources, tx);
    let mut guard = TerminalGuard::enter()?;
    supervise::quiet_task_panics();
    event_loop(&mut guard, App::new(cluster), rx, Sinks::default()).await
}

/// The live drill's task (`d` on a cluster the inventory names): its commands' sender and
/// the task, which ends once the sender is gone and any drill has restored.
fn start_live_drill(
    cluster: LiveCluster,
    tx: &mpsc::Sender<Message>,
) -> (
    mpsc::Sender<DrillCommand>,
    tokio::task::JoinHandle<Option<String>>,
) {
    let (drill_tx, drill_rx) = mpsc::channel(8);
    let dir = PathBuf::from(DEFAULT_REPORT_DIR);
    let task = tokio::spawn(live_drill::run(cluster, dir, drill_rx, tx.clone()));
    (drill_tx, task)
}

/// The cockpit is gone (its drill commands closed): a drill under way restores first.
async fn wait_for_restore(task: tokio::task::JoinHandle<Option<String>>) {
    let mut task = task;
    let said = match tokio::time::timeout(Duration::from_secs(1), &mut task).await {
        Ok(said) => said,
        Err(_) => {
            eprintln!("hatui: a drill was running: restoring its target before exit...");
            match tokio::time::timeout(Duration::from_secs(120), task).await {
                Ok(said) => said,
                Err(_) => {
                    eprintln!(
                        "hatui: the restore did not finish within 120 s; the switch armed on \
                         the host restores it after the drill's duration"
                    );
                    return;
                }
            }
        }
    };
    if let Ok(Some(said)) = said {
        eprintln!("hatui: {said}; the report is in {DEFAULT_REPORT_DIR}");
    }
}

/// Starts the etcd poller (`clock_rate`: cluster seconds per real second); masters SSH
/// could not reach go in the timeline first.
fn start_etcd(
    etcd: &EtcdAccess,
    cluster: &mut ClusterState,
    tx: &mpsc::Sender<Message>,
    clock_rate: f64,
) -> Poller {
    if let Some(note) = &etcd.note {
        cluster.apply(ClusterEvent::Note(note.clone()));
    }
    for why in &etcd.unreachable {
        cluster.apply(ClusterEvent::Note(format!("etcd over SSH: {why}")));
    }
    let cfg = PollerConfig {
        clock_rate,
        ..etcd.config.clone()
    };
    spawn_poller(cfg, tx.clone())
}

/// Where the commands of keys go: faults to the lab, wizard steps to the wizard, a live
/// drill's to its task (the lab's go to the lab, which owns its drill).
#[derive(Default)]
struct Sinks {
    faults: Option<mpsc::Sender<LabCommand>>,
    wizard: Option<std::sync::mpsc::Sender<WizardCommand>>,
    drill: Option<mpsc::Sender<DrillCommand>>,
    /// Where the logins waiting on an unknown host key get the operator's answer.
    host_keys: Option<wizard::exec::HostKeyDesk>,
}

/// Shared by the lab and live clusters.
/// Source tasks are supervised where they are started: one that dies is reported on its
/// panes and in the timeline (and restarted where that is safe), the cockpit stays up.
async fn event_loop(
    guard: &mut TerminalGuard,
    mut app: App,
    mut source: mpsc::Receiver<Message>,
    sinks: Sinks,
) -> Result<()> {
    let mut input = EventStream::new();
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut redraw = true;
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(1));
    while !app.quit {
        if redraw {
            guard.terminal.draw(|frame| view::draw(frame, &mut app))?;
            redraw = false;
        }
        let msg = tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(Event::Key(key))) => Message::Key(key),
                Some(Ok(Event::Resize(..))) => Message::Resize,
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => Message::Quit,
            },
            Some(msg) = source.recv() => msg,
            now = ticks.tick() => Message::Tick(now.into_std()),
            _ = sigterm.recv() => Message::Quit,
            _ = sighup.recv() => Message::Quit,
            _ = sigint.recv() => Message::Quit,
        };
        redraw |= handle(&mut app, msg, &sinks).await;
        // Apply whatever else is queued before drawing: only the latest state is drawn.
        while let Ok(msg) = source.try_recv() {
            redraw |= handle(&mut app, msg, &sinks).await;
        }
    }
    Ok(())
}

async fn handle(app: &mut App, msg: Message, sinks: &Sinks) -> bool {
    let outcome = app.update(msg);
    for command in outcome.commands {
        match command {
            // A closed queue means the lab is gone; without a lab the key does nothing.
            Command::Fault(fault) => {
                if let Some(faults) = &sinks.faults {
                    let _ = faults.send(fault.into()).await;
                }
            }
            Command::Drill(command) => {
                if let Some(drill) = &sinks.drill {
                    let _ = drill.send(command).await;
                } else if let Some(lab) = &sinks.faults {
                    let _ = lab.send(LabCommand::Drill(command)).await;
                }
            }
            Command::Wizard(WizardCommand::HostKey { id, accept }) => {
                if let Some(desk) = &sinks.host_keys {
                    desk.answer(id, accept);
                }
            }
            // A gone wizard thread is reported by its silence; the keys do nothing then.
            Command::Wizard(command) => {
                if let Some(wizard) = &sinks.wizard {
                    let _ = wizard.send(command);
                }
            }
        }
    }
    outcome.redraw
}
