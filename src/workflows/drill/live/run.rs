//! A live drill under way: the live cluster as a target of the one driver
//! ([`crate::drill::driver`]) on the wall clock: its samplers, the fault and the restore on
//! the host, the test pod, the sources' state; interrupted through a channel (Ctrl-C
//! headless, Esc or quitting in the cockpit).

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use kube::Client;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::host::{Host, Ran};
use super::sample::{self, Key, Sampled};
use super::{Watched, apply, direct, pod, seen};
use crate::drill::driver::{self, Clock, DrillTarget, Paced, Restored};
use crate::drill::engine::Drill;
use crate::drill::fault::DrillFault;
use crate::drill::plan::{self, Plan, Refusal};
use crate::drill::probe::{Answer, PodSeen, Probe};
use hatui_model::{ClusterEvent, ClusterState};

/// A drill under way: the record the one driver keeps, and the live cluster it runs on.
pub struct Run {
    pub drill: Drill,
    live: Live,
}

/// The drill's own half of a live cluster: its samplers, the host's fault and restore, the
/// test pod.
struct Live {
    node: String,
    fault_kind: DrillFault,
    host: Host,
    masters: Vec<String>,
    ticks: watch::Sender<u64>,
    answers_rx: mpsc::Receiver<Sampled>,
    /// Each tick's answers, by target, until all are in.
    answers: BTreeMap<u64, HashMap<Key, Answer>>,
    /// The state's half of each tick's probe, taken at the tick.
    halves: BTreeMap<u64, Probe>,
    last: Probe,
    fault: Option<JoinHandle<Ran>>,
    fault_ran: Option<Ran>,
    restore: Option<JoinHandle<Ran>>,
    restore_ran: Option<Ran>,
    /// The test pod as last seen.
    pod: watch::Receiver<PodSeen>,
    pod_name: String,
    pod_client: Option<Client>,
}

/// The live cluster as a [`DrillTarget`], on the wall clock: the drill's half and the
/// cluster as its sources see it.
struct LiveTarget<'a> {
    live: &'a mut Live,
    w: &'a mut Watched,
}

impl Live {
    /// Starts sampling (nothing sent before the first tick) and the test pod.
    fn new(plan: &Plan, state: &ClusterState, config: &kube::Config, host: Host) -> Live {
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
        Live {
            halves: BTreeMap::from([(0, seen::of_state(state, &target))]),
            node: target,
            fault_kind: plan.spec.fault,
            host,
            masters,
            ticks,
            answers_rx,
            answers: BTreeMap::new(),
            last: before,
            fault: None,
            fault_ran: None,
            restore: None,
            restore_ran: None,
            pod,
            pod_name,
            pod_client,
        }
    }
}

impl Run {
    /// Runs the fault on `host` now and starts sampling.
    pub fn start(plan: Plan, w: &mut Watched, host: Host) -> Run {
        let mut live = Live::new(&plan, &w.state, &w.config, host);
        let mut target = LiveTarget { live: &mut live, w };
        let (drill, _) =
            driver::begin(&mut target, plan).expect("a live fault is started, never refused");
        Run { drill, live }
    }

    /// Runs the drill to its end; a message on `aborts` restores at once. `progress` is
    /// told after every change.
    pub async fn until_done(
        &mut self,
        w: &mut Watched,
        aborts: &mut mpsc::Receiver<()>,
        progress: &mut (dyn FnMut(&Drill) + Send),
    ) {
        let mut target = LiveTarget {
            live: &mut self.live,
            w,
        };
        driver::run_paced(&mut self.drill, &mut target, aborts, progress).await;
    }

    /// Deletes the test pod; `Err` says how to do it by hand.
    pub async fn clean_up(&mut self) -> Result<(), String> {
        match self.live.pod_client.take() {
            Some(client) => pod::delete(client, &self.live.pod_name).await,
            None => Ok(()),
        }
    }
}

impl DrillTarget for LiveTarget<'_> {
    fn clock(&self) -> Clock {
        Clock::Wall
    }

    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn before(&mut self) -> Probe {
        self.live.last.clone()
    }

    fn apply(&mut self, plan: &Plan) -> Result<Vec<ClusterEvent>, Refusal> {
        let commands = plan.commands.clone();
        let host = self.live.host.clone();
        self.live.fault = Some(tokio::spawn(async move { host.run(&commands).await }));
        Ok(Vec::new())
    }

    fn tick(&mut self, k: u64) -> Vec<ClusterEvent> {
        let state = &mut self.w.state;
        state.apply(ClusterEvent::Clock(Timestamp::now()));
        let live = &mut *self.live;
        live.halves.insert(k, seen::of_state(state, &live.node));
        live.ticks.send_replace(k);
        Vec::new()
    }

    fn probe(&mut self, k: u64) -> Option<Probe> {
        let live = &mut *self.live;
        let keys = 2 + live.masters.len();
        if live.answers.get(&k).is_none_or(|a| a.len() != keys) {
            return None;
        }
        let mut got = live.answers.remove(&k).unwrap_or_default();
        // A tick the interval skipped takes the state as the tick before saw it.
        let half = live.halves.range(..=k).next_back().map(|(_, p)| p.clone());
        let half = half.unwrap_or_else(|| live.last.clone());
        live.halves.retain(|t, _| *t >= k);
        let mut take = |key| got.remove(&key).unwrap_or_else(no_client);
        let (endpoint, kept) = (take(Key::Endpoint), take(Key::KeepAlive));
        let readyz = (0..live.masters.len())
            .map(|m| take(Key::Master(m)))
            .collect();
        let pod = live.pod.borrow().clone();
        let p = seen::with_answers(half, endpoint, kept, &live.masters, readyz, pod);
        live.last = p.clone();
        Some(p)
    }

    fn fault_failed(&mut self) -> Option<String> {
        let ran = self.live.fault_ran.take()?;
        // A power-off takes the session down with the host.
        let applied = ran.ok() || (self.live.fault_kind.powers_off() && ran.exit.is_none());
        (!applied).then(|| ran.output.trim().to_string())
    }

    fn restore(&mut self, plan: &Plan) -> Vec<ClusterEvent> {
        let live = &mut *self.live;
        if live.restore.is_some() {
            return Vec::new();
        }
        if plan.spec.fault.powers_off() {
            // Nothing to run: the operator (or the cloud) powers it on.
            let host = live.host.name.clone();
            live.restore = Some(tokio::spawn(async move {
                Ran {
                    exit: None,
                    output: format!(
                        "{host} is powered off: power it on from the console, the hypervisor \
                         or the cloud"
                    ),
                }
            }));
            return Vec::new();
        }
        let commands = plan.restore_commands.clone();
        let host = live.host.clone();
        live.restore = Some(tokio::spawn(async move { host.run_all(&commands).await }));
        Vec::new()
    }

    fn restored(&mut self) -> Option<Restored> {
        let ran = self.live.restore_ran.take()?;
        let mut p = self.live.last.clone();
        let fresh = seen::of_state(&self.w.state, &self.live.node);
        p.etcd_leader = fresh.etcd_leader;
        p.etcd_term = fresh.etcd_term;
        p.target_member_healthy = fresh.target_member_healthy;
        p.target_node = fresh.target_node;
        Some(Restored {
            ok: ran.ok(),
            said: ran.output.trim().to_string(),
            at: Timestamp::now(),
            after: p,
        })
    }

    fn healthy(&self) -> bool {
        plan::unhealthy(&self.w.state).is_none()
    }
}

impl Paced for LiveTarget<'_> {
    async fn news(&mut self) {
        let live = &mut *self.live;
        let w = &mut *self.w;
        tokio::select! {
            Some(s) = live.answers_rx.recv() => {
                for t in s.ticks {
                    live.answers.entry(t).or_default().insert(s.key, s.answer.clone());
                }
            }
            Some(batch) = w.rx.recv() => apply(&mut w.state, batch),
            Some(ran) = join(&mut live.fault) => live.fault_ran = Some(ran),
            Some(ran) = join(&mut live.restore) => live.restore_ran = Some(ran),
            // Nothing more can come: the ticks go on.
            else => std::future::pending::<()>().await,
        }
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
