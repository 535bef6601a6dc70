//! The event loop: terminal input, source messages and signals in; one `update`, and a
//! redraw only when something changed.

use color_eyre::{Result, eyre::bail};
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::app::App;
use crate::cli::{EtcdArgs, LabArgs};
use crate::etcd::{EtcdAccess, Poller, spawn_poller};
use crate::lab::{self, Lab, real_etcd::RealEtcd};
use crate::live::{self, Target};
use crate::message::{Command, Fault, Message};
use crate::model::{ClusterEvent, ClusterState, SourceKind};
use crate::terminal::TerminalGuard;
use crate::view;

/// Opens the cockpit on the embedded lab.
/// With `--real-etcd`, the real members are started (and answer) before the terminal is
/// taken over; they live in the lab task, which stops them when it ends.
pub async fn run_lab(args: LabArgs, etcd: &EtcdArgs) -> Result<()> {
    if let Some(conflict) = args.etcd_conflict(etcd) {
        bail!(conflict);
    }
    let etcd = etcd.access().await?;
    let mut cfg = args.topology.lab_config();
    let real = if args.real_etcd {
        lab::real_etcd::find_etcd()?;
        for note in lab::real_etcd::sweep(&std::env::temp_dir()) {
            eprintln!("{note}");
        }
        let n = cfg.control_planes;
        eprintln!("starting {n} real etcd members on 127.0.0.1...");
        Some(RealEtcd::start(n).await?)
    } else {
        None
    };
    cfg.external_etcd = etcd.is_some() || real.is_some();
    let lab = Lab::new(cfg);
    let mut cluster = ClusterState::new(SourceKind::Lab, lab.config().endpoint.clone(), lab.now());
    let (tx, rx) = mpsc::channel(64);
    let (fault_tx, fault_rx) = mpsc::channel(8);
    // Kept alive for the whole session: dropping the poller (or `etcd`, which owns any SSH
    // tunnels) stops it.
    let _poller = etcd.as_ref().map(|e| start_etcd(e, &mut cluster, &tx));
    let _real_poller = real
        .as_ref()
        .map(|r| spawn_poller(r.poller_config(), tx.clone()));
    let source = match real {
        Some(mut real) => tokio::spawn(lab::run_following(
            lab,
            args.speed,
            tx,
            fault_rx,
            move |lab: &Lab| real.follow(lab),
        )),
        None => tokio::spawn(lab::run(lab, args.speed, tx, fault_rx)),
    };
    let mut guard = TerminalGuard::enter()?;
    let app = App::new(cluster);
    event_loop(&mut guard, app, (rx, source), Some(fault_tx)).await
}

/// Opens the cockpit on the cluster of the kubeconfig: a bad kubeconfig fails here, before
/// the terminal is taken over, with the file and field to fix.
pub async fn run_live(target: Target, etcd_args: &EtcdArgs) -> Result<()> {
    let mut sources = live::connect(&target, live::wall_clock()).await?;
    let etcd = live::etcd_way::choose(&mut sources, etcd_args).await?;
    let mut cluster = live::empty_state(&sources);
    let (tx, rx) = mpsc::channel(64);
    let _poller = etcd.as_ref().map(|e| start_etcd(e, &mut cluster, &tx));
    // The API was not reachable for discovery: again once it is (through a master).
    if sources.etcd_retry {
        let retry = live::etcd_way::rediscover(sources.clone(), etcd_args.clone(), tx.clone());
        tokio::spawn(retry);
    }
    let source = live::spawn(sources, tx);
    let mut guard = TerminalGuard::enter()?;
    event_loop(&mut guard, App::new(cluster), (rx, source), None).await
}

/// Starts the etcd poller; masters SSH could not reach go in the timeline first.
fn start_etcd(etcd: &EtcdAccess, cluster: &mut ClusterState, tx: &mpsc::Sender<Message>) -> Poller {
    if let Some(note) = &etcd.note {
        cluster.apply(ClusterEvent::Note(note.clone()));
    }
    for why in &etcd.unreachable {
        cluster.apply(ClusterEvent::Note(format!("etcd over SSH: {why}")));
    }
    spawn_poller(etcd.config.clone(), tx.clone())
}

/// Shared by the lab and live clusters: `faults` is where fault keys go (the lab only).
/// The source task is watched: if it dies (a panic), the cockpit says so and exits rather
/// than going on showing data that will never refresh.
async fn event_loop(
    guard: &mut TerminalGuard,
    mut app: App,
    (mut source, mut task): (mpsc::Receiver<Message>, JoinHandle<()>),
    faults: Option<mpsc::Sender<Fault>>,
) -> Result<()> {
    let mut input = EventStream::new();
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut redraw = true;
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
            ended = &mut task => {
                let why = ended.err().map_or("it returned".to_string(), |e| e.to_string());
                bail!("the data source stopped unexpectedly ({why}); nothing on screen would refresh");
            }
            _ = sigterm.recv() => Message::Quit,
            _ = sighup.recv() => Message::Quit,
            _ = sigint.recv() => Message::Quit,
        };
        redraw |= handle(&mut app, msg, faults.as_ref()).await;
        // Apply whatever else is queued before drawing: only the latest state is drawn.
        while let Ok(msg) = source.try_recv() {
            redraw |= handle(&mut app, msg, faults.as_ref()).await;
        }
    }
    Ok(())
}

async fn handle(app: &mut App, msg: Message, faults: Option<&mpsc::Sender<Fault>>) -> bool {
    let outcome = app.update(msg);
    for command in outcome.commands {
        match command {
            // A closed queue means the lab is gone; without a lab the key does nothing.
            Command::Fault(fault) => {
                if let Some(faults) = faults {
                    let _ = faults.send(fault).await;
                }
            }
        }
    }
    outcome.redraw
}
