//! `hatui drill --inventory FILE --fault KIND --yes`: the drill on a live cluster. The
//! cockpit's own sources (kube watches, the etcd poller) keep a [`ClusterState`]; the drill
//! checks it is healthy and the quorum arithmetic, runs the fault on the target over SSH
//! with a dead man's switch armed on the host, samples its own requests every 100 ms
//! (`sample`), and restores after `--duration`, on Ctrl-C or SIGTERM, or when the fault
//! failed. The same driver ([`super::driver`]), engine, report and verdict as the lab's.

pub mod cockpit;
pub mod host;
pub mod pod;
mod run;
pub mod sample;
pub mod seen;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use color_eyre::Result;
use jiff::Timestamp;
use kube::Client;
use tokio::sync::mpsc;

use super::driver;
use super::headless::{finish, plan_text, say_then_confirm};
use super::plan::{self, DrillSpec, Plan, Refusal};
use super::report::Report;
use hatui_fleet::SshOverrides;
use hatui_fleet::audit::Audit;
use hatui_fleet::inventory::Inventory;
use hatui_model::{ClusterEvent, ClusterState};
use hatui_sources::etcd::{EtcdAccess, EtcdSettings, Poller, spawn_poller};
use hatui_sources::live::{self, kubeconfig};
use host::Host;
pub use run::Run;

/// How long the cluster may take to look healthy before the drill refuses.
const SETTLE: Duration = Duration::from_secs(20);
/// The dead man's switch restores this long after the duration, should the drill not.
pub const GUARD_MARGIN_S: i64 = 15;

/// What `hatui drill --inventory FILE` was asked, as plain settings.
#[derive(Debug, Clone)]
pub struct LiveDrill {
    pub cluster: LiveCluster,
    pub spec: DrillSpec,
    pub yes: bool,
    pub json: bool,
    pub report_dir: PathBuf,
}

/// A live cluster a drill can run on: its hosts, how to watch it, how to reach them.
#[derive(Debug, Clone)]
pub struct LiveCluster {
    pub inventory: Inventory,
    pub kubeconfig: live::Target,
    pub etcd: EtcdSettings,
    pub ssh: SshOverrides,
}

/// The live plan: the fault's commands with the dead man's switch armed first, and its
/// restore disarming it first.
pub fn guarded(mut plan: Plan, dir: &str) -> Plan {
    let after = plan.spec.duration_ms / 1000 + GUARD_MARGIN_S;
    let guard = plan
        .spec
        .fault
        .guard(&plan.target, &plan.others, after, dir);
    if let Some((arm, disarm)) = guard {
        plan.commands.insert(0, arm);
        plan.restore_commands.insert(0, disarm);
    }
    plan
}

/// A client for one master's own apiserver, with the kubeconfig's credentials.
fn direct(config: &kube::Config, address: &str) -> Option<Client> {
    let mut config = config.clone();
    config.cluster_url = format!("https://{address}").parse().ok()?;
    Client::try_from(config).ok()
}

fn apply(state: &mut ClusterState, batch: Vec<ClusterEvent>) {
    for ev in batch {
        state.apply(ev);
    }
}

/// The cluster as the drill watches it: the cockpit's own sources (kube watches, the etcd
/// poller) folded into a state.
pub struct Watched {
    pub state: ClusterState,
    pub rx: mpsc::Receiver<Vec<ClusterEvent>>,
    /// The kubeconfig's, for the drill's own clients.
    pub config: kube::Config,
    /// The kubeconfig's server (the endpoint).
    pub server: String,
    /// How etcd is reached, in words.
    pub etcd_way: String,
    _poller: Poller,
    _etcd: EtcdAccess,
}

impl Watched {
    /// Starts the sources; `Ok(Err(why))` when etcd cannot be reached (the drill measures it).
    pub async fn connect(
        kubeconfig: &live::Target,
        etcd: &EtcdSettings,
    ) -> Result<Result<Watched, String>> {
        let loaded = kubeconfig::load(kubeconfig).await?;
        let mut config = loaded.config.clone();
        config.connect_timeout = Some(sample::TIMEOUT);
        let mut sources = live::sources(&loaded, live::wall_clock())?;
        let Some(access) = live::etcd_way::choose(&mut sources, etcd).await? else {
            let why = sources.etcd_missing.clone().unwrap_or_default();
            return Ok(Err(format!(
                "the drill measures etcd and cannot reach it ({why}): pass --etcd-endpoints \
                 with --etcd-cacert/--etcd-cert/--etcd-key, --etcd-ssh, or --inventory"
            )));
        };
        let (tx, rx) = mpsc::channel::<Vec<ClusterEvent>>(256);
        let state = live::empty_state(&sources);
        let poller = spawn_poller(access.config.clone(), tx.clone());
        let etcd_way = access
            .config
            .via_label()
            .unwrap_or_else(|| "asked directly".into());
        let _sources = live::spawn(sources, tx);
        Ok(Ok(Watched {
            state,
            rx,
            config,
            server: loaded.server.clone(),
            etcd_way,
            _poller: poller,
            _etcd: access,
        }))
    }

    /// Applies what the sources sent, until the cluster looks healthy or `within` passed.
    pub async fn settle(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            tokio::select! {
                Some(batch) = self.rx.recv() => apply(&mut self.state, batch),
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            self.state.apply(ClusterEvent::Clock(Timestamp::now()));
            if plan::unhealthy(&self.state).is_none() {
                break;
            }
        }
    }

    /// Applies what the sources sent so far.
    pub fn drain(&mut self) {
        while let Ok(batch) = self.rx.try_recv() {
            apply(&mut self.state, batch);
        }
        self.state.apply(ClusterEvent::Clock(Timestamp::now()));
    }

    /// The plan for `spec` on the cluster as it is now, with the switch armed first (its
    /// pid file in `dir` on the target).
    pub fn plan(&self, spec: &DrillSpec, dir: &str) -> Result<Plan, Refusal> {
        plan::check(&self.state, spec).map(|p| guarded(p, dir))
    }
}

/// Runs the drill; the exit code as `hatui drill --lab`'s: 0 ran and restored, 1 not
/// restored (or not started for a reason outside the cluster), 2 refused.
pub async fn run(req: &LiveDrill, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32> {
    let mut w = match Watched::connect(&req.cluster.kubeconfig, &req.cluster.etcd).await? {
        Ok(w) => w,
        Err(why) => {
            writeln!(err, "hatui drill: {why}")?;
            return Ok(2);
        }
    };
    w.settle(SETTLE).await;
    let plan = match w.plan(&req.spec, &req.cluster.inventory.drill_state_dir) {
        Ok(p) => p,
        Err(refusal) => {
            writeln!(err, "hatui drill: {refusal}")?;
            return Ok(2);
        }
    };
    let mut text = format!(
        "Live cluster {} (endpoint {}); etcd {}.\n{}",
        req.cluster.inventory.name,
        w.server,
        w.etcd_way,
        plan_text(&plan)
    );
    if plan.spec.fault.powers_off() {
        text += &format!("{}\n", power_note(&plan));
    }
    if !say_then_confirm(
        &text,
        &plan,
        req.yes,
        req.json,
        "Pass --yes to run it.",
        out,
        err,
    )? {
        return Ok(2);
    }
    let audit = Audit::for_cluster(&req.cluster.inventory.name);
    let host = match Host::connect(
        &req.cluster.inventory,
        &plan.target,
        &req.cluster.ssh,
        audit,
    )
    .await
    {
        Ok(h) => h,
        Err(why) => {
            writeln!(err, "hatui drill: {why}; nothing was run")?;
            return Ok(1);
        }
    };
    // Ctrl-C and SIGTERM restore at once.
    let mut aborts = driver::signals()?;
    let mut run = Run::start(plan, &mut w, host);
    run.until_done(&mut w, &mut aborts, &mut |_| {}).await;
    let report = Report::of(&run.drill);
    if let Err(why) = run.clean_up().await {
        writeln!(err, "hatui drill: {why}")?;
    }
    Ok(finish(&report, req.json, &req.report_dir, out, err)?)
}

/// Said before a power-off starts.
pub fn power_note(plan: &Plan) -> String {
    format!(
        "After {} s the drill cannot power {} on: you (or the cloud) must.",
        plan.spec.duration_ms / 1000,
        plan.target
    )
}
