//! `hatui drill --inventory FILE --fault KIND --yes`: the drill on a live cluster. The
//! cockpit's own sources (kube watches, the etcd poller) keep a [`ClusterState`]; the drill
//! checks it is healthy and the quorum arithmetic, runs the fault on the target over SSH
//! with a dead man's switch armed on the host, samples its own requests every 100 ms
//! (`sample`), and restores after `--duration`, on Ctrl-C or SIGTERM, or when the fault
//! failed. The same engine, report and verdict as the lab's.

pub mod host;
pub mod pod;
pub mod sample;
pub mod seen;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use color_eyre::Result;
use jiff::Timestamp;
use kube::Client;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::engine::{Drill, Next, Phase, SAMPLE_MS};
use super::fault::DrillFault;
use super::headless::{finish, plan_text};
use super::plan::{self, DrillSpec, Plan};
use super::probe::{Answer, PodSeen, Probe};
use super::report::Report;
use crate::etcd::{EtcdSettings, spawn_poller};
use crate::live::{self, kubeconfig};
use crate::model::{ClusterEvent, ClusterState};
use crate::wizard::audit::Audit;
use crate::wizard::inventory::Inventory;
use crate::wizard::preflight::SshOverrides;
use host::{Host, Ran};
use sample::{Key, Sampled};

/// How long the cluster may take to look healthy before the drill refuses.
const SETTLE: Duration = Duration::from_secs(20);
/// The dead man's switch restores this long after the duration, should the drill not.
pub const GUARD_MARGIN_S: i64 = 15;

/// What `hatui drill --inventory FILE` was asked, as plain settings.
#[derive(Debug, Clone)]
pub struct LiveDrill {
    pub inventory: Inventory,
    pub kubeconfig: live::Target,
    pub etcd: EtcdSettings,
    pub ssh: SshOverrides,
    pub spec: DrillSpec,
    pub yes: bool,
    pub json: bool,
    pub report_dir: PathBuf,
}

/// The live plan: the fault's commands with the dead man's switch armed first, and its
/// restore disarming it first.
pub fn guarded(mut plan: Plan) -> Plan {
    let after = plan.spec.duration_ms / 1000 + GUARD_MARGIN_S;
    if let Some((arm, disarm)) = plan.spec.fault.guard(&plan.target, &plan.others, after) {
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

/// Runs the drill; the exit code as `hatui drill --lab`'s: 0 ran and restored, 1 not
/// restored (or not started for a reason outside the cluster), 2 refused.
pub async fn run(req: &LiveDrill, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32> {
    let loaded = kubeconfig::load(&req.kubeconfig).await?;
    let mut config = loaded.config.clone();
    config.connect_timeout = Some(sample::TIMEOUT);
    let mut sources = live::sources(&loaded, live::wall_clock())?;
    let Some(etcd) = live::etcd_way::choose(&mut sources, &req.etcd).await? else {
        let why = sources.etcd_missing.clone().unwrap_or_default();
        writeln!(
            err,
            "hatui drill: the drill measures etcd and cannot reach it ({why}): pass \
             --etcd-endpoints with --etcd-cacert/--etcd-cert/--etcd-key, or --etcd-ssh"
        )?;
        return Ok(2);
    };
    let (tx, mut rx) = mpsc::channel::<Vec<ClusterEvent>>(256);
    let mut state = live::empty_state(&sources);
    let _poller = spawn_poller(etcd.config.clone(), tx.clone());
    let _sources = live::spawn(sources, tx);

    // The sources' first answers, until the cluster looks healthy (or long enough).
    let deadline = Instant::now() + SETTLE;
    while Instant::now() < deadline {
        tokio::select! {
            Some(batch) = rx.recv() => apply(&mut state, batch),
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        state.apply(ClusterEvent::Clock(Timestamp::now()));
        if plan::unhealthy(&state).is_none() {
            break;
        }
    }
    let plan = match plan::check(&state, &req.spec) {
        Ok(p) => guarded(p),
        Err(refusal) => {
            writeln!(err, "hatui drill: {refusal}")?;
            return Ok(2);
        }
    };
    let said: &mut dyn Write = if req.json { &mut *err } else { &mut *out };
    writeln!(
        said,
        "Live cluster {} (endpoint {}); etcd {}.",
        req.inventory.name,
        loaded.server,
        etcd.config
            .via_label()
            .unwrap_or_else(|| "asked directly".into())
    )?;
    write!(said, "{}", plan_text(&plan))?;
    if plan.spec.fault == DrillFault::Power {
        writeln!(
            said,
            "After {} s the drill cannot power {} on: you (or the cloud) must.",
            plan.spec.duration_ms / 1000,
            plan.target
        )?;
    }
    if !req.yes {
        writeln!(
            err,
            "hatui drill: refusing to start without confirmation: the drill takes {} down. \
             Pass --yes to run it.",
            plan.target
        )?;
        return Ok(2);
    }
    let audit = Audit::for_cluster(&req.inventory.name);
    let host = match Host::connect(&req.inventory, &plan.target, &req.ssh, audit).await {
        Ok(h) => h,
        Err(why) => {
            writeln!(err, "hatui drill: {why}; nothing was run")?;
            return Ok(1);
        }
    };
    let mut run = Run::start(plan, &state, &config, host);
    run.until_done(&mut state, &mut rx).await?;
    let report = Report::of(&run.drill);
    if let Some(client) = run.pod_client.take()
        && let Err(why) = pod::delete(client, &run.pod_name).await
    {
        writeln!(err, "hatui drill: {why}")?;
    }
    Ok(finish(&report, req.json, &req.report_dir, out, err)?)
}

/// A drill under way: the engine, its samplers and the host's fault and restore.
struct Run {
    drill: Drill,
    host: Host,
    masters: Vec<String>,
    started: Instant,
    ticks: watch::Sender<u64>,
    answers_rx: mpsc::Receiver<Sampled>,
    /// Each tick's answers, by target, until all are in.
    answers: BTreeMap<u64, HashMap<Key, Answer>>,
    /// The state's half of each tick's probe, taken at the tick.
    halves: BTreeMap<u64, Probe>,
    next: u64,
    last: Probe,
    fault: Option<JoinHandle<Ran>>,
    restore: Option<JoinHandle<Ran>>,
    interrupted: bool,
    /// The test pod as last seen.
    pod: watch::Receiver<PodSeen>,
    pod_name: String,
    pod_client: Option<Client>,
}

impl Run {
    fn start(plan: Plan, state: &ClusterState, config: &kube::Config, host: Host) -> Run {
        let target = plan.target.clone();
        let before = seen::before(state, &target);
        let masters: Vec<String> = before.masters.iter().map(|m| m.node.clone()).collect();
        let (ticks, ticks_rx) = watch::channel(0u64);
        let (answers_tx, answers_rx) = mpsc::channel(1024);
        let cfg = config.clone();
        sample::spawn(
            Key::Endpoint,
            ticks_rx.clone(),
            answers_tx.clone(),
            move || {
                let cfg = cfg.clone();
                async move { sample::api_get_new_connection(&cfg).await }
            },
        );
        let kept = Client::try_from(config.clone()).ok();
        sample::spawn(
            Key::KeepAlive,
            ticks_rx.clone(),
            answers_tx.clone(),
            move || {
                let kept = kept.clone();
                async move {
                    match kept {
                        Some(c) => sample::api_get(&c).await,
                        None => no_client(),
                    }
                }
            },
        );
        for (k, node) in masters.iter().enumerate() {
            let address = state.apiservers.get(node).map(|a| a.address.clone());
            let client = address.and_then(|a| direct(config, &a));
            sample::spawn(
                Key::Master(k),
                ticks_rx.clone(),
                answers_tx.clone(),
                move || {
                    let client = client.clone();
                    async move {
                        match client {
                            Some(c) => sample::readyz(&c).await,
                            None => no_client(),
                        }
                    }
                },
            );
        }
        let pod_name = format!("hatui-drill-{}", Timestamp::now().as_second());
        let (pod_tx, pod) = watch::channel(PodSeen {
            created: false,
            node: None,
        });
        let pod_client = Client::try_from(config.clone()).ok();
        if let Some(c) = &pod_client {
            pod::spawn(c.clone(), pod::manifest(&pod_name, &target), pod_tx);
        }
        let commands = plan.commands.clone();
        let fault_host = host.clone();
        let fault = tokio::spawn(async move { fault_host.run(&commands).await });
        let drill = Drill::begin(plan, &before, Timestamp::now(), None);
        Run {
            drill,
            host,
            masters,
            started: Instant::now(),
            ticks,
            answers_rx,
            answers: BTreeMap::new(),
            halves: BTreeMap::from([(0, seen::of_state(state, &target))]),
            next: 1,
            last: before,
            fault: Some(fault),
            restore: None,
            interrupted: false,
            pod,
            pod_name,
            pod_client,
        }
    }

    async fn until_done(
        &mut self,
        state: &mut ClusterState,
        rx: &mut mpsc::Receiver<Vec<ClusterEvent>>,
    ) -> Result<()> {
        let mut interval = tokio::time::interval(Duration::from_millis(SAMPLE_MS as u64));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut sigterm = signal(SignalKind::terminate())?;
        let mut sigint = signal(SignalKind::interrupt())?;
        while self.drill.phase() != Phase::Done {
            tokio::select! {
                _ = interval.tick() => self.tick(state),
                Some(s) = self.answers_rx.recv() => {
                    for t in s.ticks {
                        self.answers.entry(t).or_default().insert(s.key, s.answer.clone());
                    }
                    self.record(state);
                }
                Some(batch) = rx.recv() => apply(state, batch),
                Some(ran) = join(&mut self.fault) => self.fault_ran(ran),
                Some(ran) = join(&mut self.restore) => self.restore_ran(ran, state),
                _ = sigint.recv() => self.interrupt(),
                _ = sigterm.recv() => self.interrupt(),
            }
        }
        Ok(())
    }

    fn tick(&mut self, state: &mut ClusterState) {
        let k = (self.started.elapsed().as_millis() / SAMPLE_MS as u128) as u64;
        if k < self.next || self.halves.contains_key(&k) {
            return;
        }
        state.apply(ClusterEvent::Clock(Timestamp::now()));
        self.halves
            .insert(k, seen::of_state(state, self.drill.target()));
        self.ticks.send_replace(k);
    }

    /// Records every tick whose answers are all in, in order.
    fn record(&mut self, state: &ClusterState) {
        let keys = 2 + self.masters.len();
        while self
            .answers
            .get(&self.next)
            .is_some_and(|a| a.len() == keys)
        {
            let k = self.next;
            let mut got = self.answers.remove(&k).unwrap_or_default();
            // A tick the interval skipped takes the state as the tick before saw it.
            let half = self.halves.range(..=k).next_back().map(|(_, p)| p.clone());
            let half = half.unwrap_or_else(|| self.last.clone());
            self.halves.retain(|t, _| *t >= k);
            let mut take = |key| got.remove(&key).unwrap_or_else(no_client);
            let (endpoint, kept) = (take(Key::Endpoint), take(Key::KeepAlive));
            let readyz = (0..self.masters.len())
                .map(|m| take(Key::Master(m)))
                .collect();
            let pod = self.pod.borrow().clone();
            let p = seen::with_answers(half, endpoint, kept, &self.masters, readyz, pod);
            self.next += 1;
            match self.drill.record(k as i64 * SAMPLE_MS, &p) {
                Next::Restore => self.start_restore(),
                Next::CheckHealth => self.drill.health(plan::unhealthy(state).is_none()),
                Next::Sample => {}
            }
            self.last = p;
            if self.drill.phase() == Phase::Done {
                return;
            }
        }
    }

    fn at_ms(&self) -> i64 {
        (self.next.saturating_sub(1)) as i64 * SAMPLE_MS
    }

    fn fault_ran(&mut self, ran: Ran) {
        let t = self.at_ms();
        let fault = self.drill.plan.spec.fault;
        // A power-off takes the session down with the host.
        let applied = ran.ok() || (fault == DrillFault::Power && ran.exit.is_none());
        if applied {
            return;
        }
        let out = ran.output.trim().to_string();
        self.drill.observer.note(
            t,
            format!("the fault failed on {}: {out}", self.drill.target()),
            "a command of the fault exited non-zero: the drill restores at once",
        );
        if self.drill.interrupt() {
            self.start_restore();
        }
    }

    fn start_restore(&mut self) {
        if self.restore.is_some() {
            return;
        }
        let plan = &self.drill.plan;
        if plan.spec.fault == DrillFault::Power {
            // Nothing to run: the operator (or the cloud) powers it on.
            let host = self.host.name.clone();
            self.restore = Some(tokio::spawn(async move {
                Ran {
                    exit: None,
                    output: format!(
                        "{host} is powered off: power it on from the console, the hypervisor \
                         or the cloud"
                    ),
                }
            }));
            return;
        }
        let commands = plan.restore_commands.clone();
        let host = self.host.clone();
        self.restore = Some(tokio::spawn(async move { host.run_all(&commands).await }));
    }

    fn restore_ran(&mut self, ran: Ran, state: &ClusterState) {
        let mut p = self.last.clone();
        let fresh = seen::of_state(state, self.drill.target());
        p.etcd_leader = fresh.etcd_leader;
        p.etcd_term = fresh.etcd_term;
        p.target_member_healthy = fresh.target_member_healthy;
        p.target_node = fresh.target_node;
        let said = ran.output.trim().to_string();
        self.drill.restored(ran.ok(), said, Timestamp::now(), &p);
        if self.interrupted {
            self.drill.stop();
        }
    }

    /// Ctrl-C or SIGTERM: restore now; again once restored: stop watching the recovery.
    fn interrupt(&mut self) {
        if self.drill.interrupt() {
            self.start_restore();
        } else if self.drill.phase() == Phase::Recovering {
            self.drill.stop();
        }
        self.interrupted = true;
    }
}

fn no_client() -> Answer {
    Answer {
        error: Some("no client for this address".into()),
        latency_ms: None,
    }
}

/// The task's result once it ended (taking it out), never if there is none.
async fn join(task: &mut Option<JoinHandle<Ran>>) -> Option<Ran> {
    let handle = task.as_mut()?;
    let ran = handle.await.unwrap_or_else(|e| Ran {
        exit: None,
        output: format!("the SSH task died: {e}"),
    });
    // Ended: the engine's phase (restored, or the fault in place) says what comes next.
    *task = None;
    Some(ran)
}
