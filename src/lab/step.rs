//! One moment of lab time: the kubelets act, etcd steps, health follows, leader election
//! retries, and once a second the node controller, the tokencleaner and the probes run.

use hatui_model::{ClusterEvent, PodState, Readiness};

use super::Lab;
use super::STEP_MS;
use super::hosts::{Component, PodChange};
use super::leases::Election;
use super::nodes::CHECK_MS;
use super::out::Out;
use super::views;

impl Lab {
    /// Runs the clock to `until`, visiting every moment where something is due (or every
    /// 10 ms step in exact mode: the outcome is the same).
    pub(super) fn run_until(&mut self, until: i64, out: &mut Out) {
        while self.now < until {
            let next = if self.exact {
                self.now + STEP_MS
            } else {
                self.next_due().max(self.now + STEP_MS)
            };
            if next > until {
                self.now = until;
                return;
            }
            self.now = next;
            self.step(out);
        }
    }

    fn next_due(&self) -> i64 {
        let second = (self.now.div_euclid(CHECK_MS) + 1) * CHECK_MS;
        let leases = self.leases.iter().filter_map(Election::next_due);
        [
            self.hosts.next_due(),
            self.etcd.next_due(),
            self.api.next_due(self.now),
        ]
        .into_iter()
        .flatten()
        .chain(leases)
        .fold(second, i64::min)
    }

    fn step(&mut self, out: &mut Out) {
        let mut changes = Vec::new();
        self.hosts.step(self.now, &mut changes);
        self.apply_pod_changes(&changes);
        self.etcd.step(self.now);
        let second = self.now.rem_euclid(CHECK_MS) == 0;
        self.api.update(self.now, &self.hosts, &self.etcd);
        if second {
            self.api.jitter(&mut self.rng);
            self.lb.tick(self.now, &self.hosts, &self.api);
        }
        self.emit_health(out);
        if second {
            self.emit_endpoint(out);
        }
        self.run_elections();
        if second {
            self.each_second(out);
        }
        self.emit_objects(out);
    }

    /// After a fault: what follows at once, without moving the clock.
    pub(super) fn settle(&mut self, out: &mut Out) {
        self.api.update(self.now, &self.hosts, &self.etcd);
        self.emit_health(out);
        self.emit_objects(out);
    }

    /// The etcd and leader-election models follow the containers.
    pub(super) fn apply_pod_changes(&mut self, changes: &[PodChange]) {
        let now = self.now;
        for &change in changes {
            match change {
                PodChange::Booted(i) => {
                    self.kubelet_started(i, true);
                    if self.hosts.is_master(i) {
                        // Its member's error turns from a timeout to "refused".
                        self.etcd.touch();
                    }
                }
                PodChange::Started(i, Component::Etcd) => self.etcd.start(i, now),
                PodChange::Started(i, Component::ApiServer) => self.liveness.started(i, now),
                PodChange::Stopped(i, Component::Etcd, true) => self.etcd.stop_clean(i, now),
                PodChange::Stopped(i, Component::Etcd, false) => self.etcd.kill(i),
                PodChange::Started(i, c) => {
                    let host = self.cfg.name(i);
                    if let Some(e) = self.leases.iter_mut().find(|e| e.component == c) {
                        e.start(i, &host, now, &mut self.rng);
                    }
                }
                PodChange::Stopped(i, c, clean) => {
                    let api_ready = self.api.ready(i);
                    if let Some(e) = self.leases.iter_mut().find(|e| e.component == c) {
                        e.stop(i, clean, api_ready, now);
                    }
                }
            }
        }
    }

    /// Leader election; a leader that could not renew in time exits and is restarted.
    fn run_elections(&mut self) {
        let api = &self.api;
        let mut crashed = Vec::new();
        for e in &mut self.leases {
            let mut lost = Vec::new();
            e.step(self.now, |i| api.ready(i), &mut self.rng, &mut lost);
            for i in lost {
                self.hosts.crash(i, e.component, self.now, &mut crashed);
            }
        }
        self.apply_pod_changes(&crashed);
    }

    fn controller_manager(&self) -> &Election {
        let cm = self
            .leases
            .iter()
            .find(|e| e.component == Component::ControllerManager);
        cm.expect("the lab always has a kube-controller-manager lease")
    }

    /// The node controller and the tokencleaner/garbage collector run inside the
    /// controller-manager that holds its lease.
    fn each_second(&mut self, out: &mut Out) {
        let cm = self.controller_manager();
        let active = cm.active(|i| self.api.ready(i));
        let watching_since = active.then_some(cm.record.acquired);
        let mut changed = Vec::new();
        let machines = &self.hosts.machines;
        let api_up = self.feeds.api_up;
        self.nodes
            .check(self.now, machines, api_up, watching_since, &mut changed);
        self.emit_nodes(&changed, out);
        self.mark_pods_not_ready(&changed, out);
        let mut tokens = Vec::new();
        self.tokens.check(self.now, active, &mut tokens);
        self.emit_tokens(tokens, out);
        self.probe_liveness();
    }

    /// The kubelet probes `/livez` (startupProbe, then livenessProbe); its etcd check fails
    /// at once (connection refused) while the local member is down. A stopped kubelet
    /// probes nothing. A killed apiserver is started again after the kubelet's back-off.
    fn probe_liveness(&mut self) {
        let (hosts, etcd) = (&self.hosts, &self.etcd);
        let probe = |i: usize| {
            let probed =
                hosts.machines[i].kubelet && hosts.cps[i].pod(Component::ApiServer).running;
            probed.then(|| etcd.members[i].up)
        };
        let kill = self.liveness.check(self.now, probe);
        let mut changes = Vec::new();
        for i in kill {
            let wait = self.faults.api_backoff[i].next(self.now);
            self.hosts
                .crash_for(i, Component::ApiServer, self.now, wait, &mut changes);
        }
        self.apply_pod_changes(&changes);
    }
}

impl Lab {
    /// The node lifecycle controller sets the Ready condition of every pod on a node gone
    /// Unknown to false (`MarkPodsNotReady`, mirror pods included); the containers are
    /// untouched, so the API shows them not ready yet running.
    fn mark_pods_not_ready(&mut self, changed: &[usize], out: &mut Out) {
        let unknown = |i: &&usize| self.nodes.nodes[**i].ready == Readiness::Unknown;
        let masters: Vec<usize> = changed
            .iter()
            .filter(unknown)
            .copied()
            .filter(|&i| self.hosts.is_master(i))
            .collect();
        for i in masters {
            let pods = &mut self.reported_pods[i];
            let before = *pods;
            for p in pods.iter_mut().filter(|p| p.state == PodState::Running) {
                p.state = PodState::NotReady;
            }
            if *pods != before {
                let ev = ClusterEvent::StaticPods(views::static_pods(&self.cfg, i, *pods));
                out.change(&self.cfg, self.now, None, ev);
            }
        }
    }
}
