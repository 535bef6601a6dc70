//! Turning what changed in the simulation into events, no more often than a real watch or
//! poller would show it: changes at once, refreshes (latency, etcd index, renewTime) at most
//! once a simulated second or as they happen. Objects read through the API are frozen while
//! the endpoint is down and re-listed when it returns.

use hatui_model::{ClusterEvent, EtcdStatus, FeedKind, FeedStatus};

use super::Lab;
use super::nodes::CHECK_MS;
use super::out::{Out, Slot};
use super::tokens::TokenChange;
use super::views;

/// What the consumer was last given, to tell changes from refreshes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Shown {
    etcd: EtcdStatus,
    etcd_gens: (u64, u64),
    problems: Vec<Option<&'static str>>,
    jittered: u64,
    leases: Vec<(u64, u64)>,
    /// Each node's heartbeat (node Lease renewTime) as last sent.
    beats: Vec<i64>,
    /// The endpoint just came back: send every API object again.
    resync: bool,
}

impl Shown {
    pub(crate) fn of(lab: &Lab) -> Self {
        Self {
            etcd: lab.etcd_status(),
            etcd_gens: (lab.etcd.changed, lab.etcd.grown),
            problems: lab.api.problems.clone(),
            jittered: lab.api.jittered,
            leases: lab.leases.iter().map(|e| (e.changed, e.renewed)).collect(),
            beats: lab.nodes.nodes.iter().map(|n| n.last_heartbeat).collect(),
            resync: false,
        }
    }
}

/// What an operator must see at once: leader, terms, reachability, membership.
fn etcd_differs(a: &EtcdStatus, b: &EtcdStatus) -> bool {
    let key = |s: &EtcdStatus| {
        let m = s.members.iter();
        let each = m.map(|m| (m.id, m.reachable, m.is_leader, m.raft_term, m.error.clone()));
        (s.leader, each.collect::<Vec<_>>())
    };
    key(a) != key(b)
}

impl Lab {
    /// Feeds, apiservers, the endpoint and etcd.
    pub(super) fn emit_health(&mut self, out: &mut Out) {
        self.emit_feeds(out);
        self.emit_apiservers(out);
        self.emit_etcd(out);
    }

    fn emit_feeds(&mut self, out: &mut Out) {
        let up = self.lb.reads_work();
        if up == self.feeds.api_up {
            return;
        }
        self.feeds.api_up = up;
        if !up {
            let ep = self.lb.endpoint(&self.cfg, &self.api);
            self.feeds.why = ep.detail.unwrap_or_default();
        }
        let now = self.now();
        if up {
            self.shown.resync = true;
        } else {
            self.feeds.down_since = now;
        }
        for ev in self.feeds.events(now, false) {
            out.change(&self.cfg, self.now, None, ev);
        }
    }

    fn emit_apiservers(&mut self, out: &mut Out) {
        let (cfg, now) = (&self.cfg, self.now);
        let jittered = self.api.jittered != self.shown.jittered;
        self.shown.jittered = self.api.jittered;
        for (i, problem) in self.api.problems.iter().enumerate() {
            if !self.hosts.installed(i, super::hosts::Component::ApiServer) {
                continue;
            }
            let view = || ClusterEvent::ApiServer(views::apiserver(cfg, &self.api, i));
            if self.shown.problems[i] != *problem {
                self.shown.problems[i] = *problem;
                out.change(cfg, now, Some(Slot::ApiServer(i)), view());
            } else if jittered && problem.is_none() {
                out.refresh(Slot::ApiServer(i), view());
            }
        }
    }

    fn emit_etcd(&mut self, out: &mut Out) {
        let gens = (self.etcd.changed, self.etcd.grown);
        let changed = gens.0 != self.shown.etcd_gens.0;
        let grown = gens.1 != self.shown.etcd_gens.1;
        // Growth alone rides the once-a-second tick (always visited, in any stepping mode).
        let refresh = grown && self.now.rem_euclid(CHECK_MS) == 0;
        if !(changed || refresh) {
            return;
        }
        let status = self.etcd_status();
        let differs = etcd_differs(&status, &self.shown.etcd);
        if !(differs || refresh) {
            // Nothing an operator would notice yet: growth rides the next update.
            self.shown.etcd_gens.0 = gens.0;
            return;
        }
        let listed = |s: &EtcdStatus| s.members.is_empty();
        let first_member = listed(&status) != listed(&self.shown.etcd);
        self.shown.etcd = status.clone();
        self.shown.etcd_gens = gens;
        if first_member {
            out.change(&self.cfg, self.now, None, self.etcd_feed());
        }
        if differs {
            out.change(
                &self.cfg,
                self.now,
                Some(Slot::Etcd),
                ClusterEvent::Etcd(status),
            );
        } else {
            out.refresh(Slot::Etcd, ClusterEvent::Etcd(status));
        }
    }

    /// The etcd feed: answered directly, fresh, once a member exists.
    pub(super) fn etcd_feed(&self) -> ClusterEvent {
        let none = !self.etcd.members.iter().any(|m| m.joined);
        ClusterEvent::Feed(
            FeedKind::Etcd,
            FeedStatus {
                last_ok: (!none).then(|| self.now()),
                error: none.then(|| super::build::NO_ETCD.to_string()),
                every: None,
            },
        )
    }

    /// Leases and static pods, then everything else again if the endpoint just came back.
    pub(super) fn emit_objects(&mut self, out: &mut Out) {
        if !self.feeds.api_up {
            return;
        }
        let resync = std::mem::take(&mut self.shown.resync);
        let (cfg, now) = (&self.cfg, self.now);
        for i in 0..self.reported_pods.len() {
            // Only a running kubelet updates its mirror pods, once its Node exists.
            if !self.hosts.machines[i].healthy() || !self.nodes.nodes[i].registered {
                continue;
            }
            let pods = views::pod_health(&self.hosts, &self.api, i);
            if pods != self.reported_pods[i] {
                self.reported_pods[i] = pods;
                if !resync {
                    let ev = ClusterEvent::StaticPods(views::static_pods(cfg, i, pods));
                    out.change(cfg, now, None, ev);
                }
            }
        }
        for (k, e) in self.leases.iter().enumerate().filter(|(_, e)| e.exists) {
            let ev = || ClusterEvent::LeaseUpsert(views::lease(cfg, e));
            let shown = &mut self.shown.leases[k];
            if resync || shown.0 != e.changed {
                out.change(cfg, now, Some(Slot::Lease(k)), ev());
            } else if shown.1 != e.renewed {
                out.refresh(Slot::Lease(k), ev());
            }
            *shown = (e.changed, e.renewed);
        }
        self.emit_vip_lease(out, resync);
        if resync {
            self.relist(out);
        }
    }

    /// A client's watches re-listing after the endpoint returned.
    fn relist(&self, out: &mut Out) {
        let (cfg, now) = (&self.cfg, self.now);
        let nodes = self.nodes.nodes.iter().enumerate();
        for (i, n) in nodes.filter(|&(i, _)| self.node_registered(i)) {
            out.change(
                cfg,
                now,
                None,
                ClusterEvent::NodeUpsert(views::node(cfg, i, n)),
            );
        }
        let pods = self.reported_pods.iter().enumerate();
        for (i, &pods) in pods.filter(|&(i, _)| self.nodes.nodes[i].registered) {
            let ev = ClusterEvent::StaticPods(views::static_pods(cfg, i, pods));
            out.change(cfg, now, None, ev);
        }
        for t in self.tokens() {
            out.change(cfg, now, None, ClusterEvent::TokenUpsert(t));
        }
        if self.initialised() {
            out.change(cfg, now, None, ClusterEvent::CertKey(self.cert_key()));
        }
    }

    /// Node Leases renewed since the last batch, as one refresh (5,000 kubelets renew 500
    /// times a second: one event per batch, not one per renewal).
    pub(super) fn emit_heartbeats(&mut self, out: &mut Out) {
        let (cfg, shown) = (&self.cfg, &mut self.shown.beats);
        let mut renewed = Vec::new();
        for (i, n) in self.nodes.nodes.iter().enumerate() {
            if n.registered && shown[i] != n.last_heartbeat {
                shown[i] = n.last_heartbeat;
                renewed.push((cfg.name(i), views::at(cfg, n.last_heartbeat)));
            }
        }
        if !renewed.is_empty() {
            out.refresh(Slot::NodeLeases, ClusterEvent::NodeLeases(renewed));
        }
    }

    /// Every node Lease, for a consumer starting from nothing.
    pub(super) fn node_leases(&self) -> ClusterEvent {
        let cfg = &self.cfg;
        let nodes = self.nodes.nodes.iter().enumerate();
        ClusterEvent::NodeLeases(
            nodes
                .filter(|(_, n)| n.registered)
                .map(|(i, n)| (cfg.name(i), views::at(cfg, n.last_heartbeat)))
                .collect(),
        )
    }

    pub(super) fn emit_nodes(&self, changed: &[usize], out: &mut Out) {
        for &i in changed.iter().filter(|&&i| self.node_registered(i)) {
            let node = views::node(&self.cfg, i, &self.nodes.nodes[i]);
            out.change(&self.cfg, self.now, None, ClusterEvent::NodeUpsert(node));
        }
    }

    pub(super) fn emit_tokens(&self, changes: Vec<TokenChange>, out: &mut Out) {
        for c in changes {
            let ev = match c {
                TokenChange::Removed(id) => ClusterEvent::TokenRemoved(id),
                TokenChange::CertKey => ClusterEvent::CertKey(self.cert_key()),
            };
            out.change(&self.cfg, self.now, None, ev);
        }
    }
}
