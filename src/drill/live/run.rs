//! A live drill under way: the engine fed by its samplers on the wall clock, the fault and
//! the restore on the host, the test pod, the sources' state; interrupted through a channel
//! (Ctrl-C headless, Esc or quitting in the cockpit).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use kube::Client;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::host::{Host, Ran};
use super::sample::{self, Key, Sampled};
use super::{apply, direct, pod, seen};
use crate::drill::engine::{Drill, Next, Phase, SAMPLE_MS};
use crate::drill::fault::DrillFault;
use crate::drill::plan::{self, Plan};
use crate::drill::probe::{Answer, PodSeen, Probe};
use crate::model::{ClusterEvent, ClusterState};

/// A drill under way: the engine, its samplers and the host's fault and restore.
pub struct Run {
    pub drill: Drill,
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
    /// Runs the fault on `host` now and starts sampling.
    pub fn start(plan: Plan, state: &ClusterState, config: &kube::Config, host: Host) -> Run {
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

    /// Runs the drill to its end; a message on `aborts` restores at once. `progress` is
    /// told after every change.
    pub async fn until_done(
        &mut self,
        state: &mut ClusterState,
        rx: &mut mpsc::Receiver<Vec<ClusterEvent>>,
        aborts: &mut mpsc::Receiver<()>,
        progress: &mut (dyn FnMut(&Drill) + Send),
    ) {
        let mut interval = tokio::time::interval(Duration::from_millis(SAMPLE_MS as u64));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut aborts_open = true;
        while self.drill.phase() != Phase::Done {
            tokio::select! {
                _ = interval.tick() => self.tick(state),
                Some(s) = self.answers_rx.recv() => {
                    for t in s.ticks {
                        self.answers.entry(t).or_default().insert(s.key, s.answer.clone());
                    }
                    self.record(state);
                    progress(&self.drill);
                }
                Some(batch) = rx.recv() => apply(state, batch),
                Some(ran) = join(&mut self.fault) => self.fault_ran(ran),
                Some(ran) = join(&mut self.restore) => {
                    self.restore_ran(ran, state);
                    progress(&self.drill);
                }
                got = aborts.recv(), if aborts_open => match got {
                    Some(()) => self.interrupt(),
                    // Nobody can interrupt any more (the cockpit quit): restore now.
                    None => {
                        aborts_open = false;
                        self.interrupt();
                    }
                },
            }
        }
        progress(&self.drill);
    }

    /// Deletes the test pod; `Err` says how to do it by hand.
    pub async fn clean_up(&mut self) -> Result<(), String> {
        match self.pod_client.take() {
            Some(client) => pod::delete(client, &self.pod_name).await,
            None => Ok(()),
        }
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

    /// Ctrl-C, SIGTERM, Esc: restore now; again once restored: stop watching the recovery.
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
