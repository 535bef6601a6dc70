//! The cockpit on the inventory's hosts (`hatui --inventory FILE`), with the wizard a `w`
//! away: its thread drives the plan over SSH. Before the cluster has a kubeconfig the
//! panes show the cluster as the wizard's looks over SSH see it ("no API yet" until a
//! master has admin.conf); with `--kubeconfig` they show the live sources, as `hatui` does.

use std::path::Path;

use color_eyre::Result;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use super::{Sinks, event_loop, start_etcd, start_live_drill, wait_for_restore};
use crate::app::App;
use crate::drill::live::LiveCluster;
use crate::etcd::EtcdSettings;
use crate::fleet::audit::Audit;
use crate::fleet::inventory::{self, SshOverrides};
use crate::live::{self, Target};
use crate::message::Message;
use crate::model::{ClusterState, SourceKind};
use crate::supervise;
use crate::terminal::TerminalGuard;
use crate::wizard::exec::SshExecutor;
use crate::wizard::exec::ssh::AdminConf;
use crate::wizard::{cockpit, plan};

/// A bad inventory or kubeconfig fails here, before the terminal is taken over.
pub async fn run_inventory(
    target: Target,
    file: &Path,
    etcd: &EtcdSettings,
    ssh: &SshOverrides,
) -> Result<()> {
    let inv = inventory::load(file)?;
    let plan = plan::build(&inv);
    let (tx, rx) = mpsc::channel(256);
    let desk = cockpit::host_key_desk(&tx);
    let audit = Audit::for_cluster(&inv.name);
    let mut exec =
        SshExecutor::new(&inv, ssh, audit, Handle::current()).ask_host_keys(desk.clone());
    // After init, admin.conf comes to ~/.kube and the timeline says how to open it.
    exec.admin_conf = Some(AdminConf {
        inventory: inv.clone(),
        file: file.to_path_buf(),
        home: None,
        fetched: false,
    });
    let mut _live = None;
    let mut drill = None;
    let (cluster, wizard_out) = if target.kubeconfig.is_some() {
        // A cluster to watch: `d` drills it on the inventory's hosts.
        let hosts = LiveCluster {
            inventory: inv.clone(),
            kubeconfig: target.clone(),
            etcd: etcd.clone(),
            ssh: ssh.clone(),
        };
        drill = Some(start_live_drill(hosts, &tx));
        let mut sources = live::connect(&target, live::wall_clock()).await?;
        let way = live::etcd_way::choose(&mut sources, etcd).await?;
        let mut cluster = live::empty_state(&sources);
        let poller = way.as_ref().map(|e| start_etcd(e, &mut cluster, &tx, 1.0));
        _live = Some((poller, way, live::spawn(sources, tx.clone())));
        (cluster, without_cluster_events(tx))
    } else {
        let now = jiff::Timestamp::now();
        let cluster = ClusterState::new(SourceKind::Live, inv.endpoint.to_string(), now);
        (cluster, tx)
    };
    let mut app = App::with_wizard(cluster);
    app.live_drill = drill.is_some();
    app.ui.flash = Some(format!(
        "w opens the wizard that builds {} on the inventory's hosts over SSH",
        inv.name
    ));
    let (wizard_tx, wizard_rx) = std::sync::mpsc::channel();
    let zero = std::time::Duration::ZERO;
    std::thread::Builder::new()
        .name("wizard".into())
        .spawn(move || cockpit::run(exec, plan, 1.0, wizard_out, wizard_rx, zero))?;
    let mut guard = TerminalGuard::enter()?;
    supervise::quiet_task_panics();
    let (drill_tx, drill_task) = drill.unzip();
    let sinks = Sinks {
        faults: None,
        wizard: Some(wizard_tx),
        host_keys: Some(desk),
        drill: drill_tx,
    };
    let ended = event_loop(&mut guard, app, rx, sinks).await;
    drop(guard);
    if let Some(task) = drill_task {
        wait_for_restore(task).await;
    }
    ended
}

/// With live sources, the panes are theirs: the wizard's own looks stay with the wizard.
fn without_cluster_events(tx: mpsc::Sender<Message>) -> mpsc::Sender<Message> {
    let (out, mut rx) = mpsc::channel::<Message>(256);
    tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            if !matches!(msg, Message::Cluster(_)) && tx.send(msg).await.is_err() {
                return;
            }
        }
    });
    out
}
