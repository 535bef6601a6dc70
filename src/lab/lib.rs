//! The embedded lab: an in-process, deterministic simulation of a kubeadm HA cluster with
//! stacked etcd. It is one data source among others: it speaks only [`ClusterEvent`]s.
//!
//! Time is virtual and moves only in [`Lab::advance`], on a 10 ms grid. Between moments
//! where something is due (a heartbeat, a timeout, a retry, the once-a-second checks) the
//! lab jumps ahead; the result is the same as visiting every 10 ms step.

mod build;
mod config;
mod day2;
mod emit;
mod endpoint;
mod faults;
mod feeds;
mod hosts;
mod ids;
mod lb;
mod leases;
mod liveness;
mod nodes;
mod out;
mod probes;
mod raft;
mod step;
mod tokens;
mod views;

use std::time::Duration;

use jiff::Timestamp;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use hatui_model::{
    ApiServerHealth, CertKey, ClusterEvent, EndpointHealth, EtcdStatus, Lease, Node, PodHealth,
    StaticPods, Token,
};

pub use build::MemberView;
pub use config::LabConfig;
pub use lb::{LbCheck, LbKind};
pub use probes::{DrillAnswer, DrillRequests, REQUEST_TIMEOUT_MS};

use build::Build;
use endpoint::ApiHealth;
use faults::FaultState;
use feeds::Feeds;
use hosts::{Component, Hosts};
use lb::Lb;
use lb::view::ShownLb;
use leases::Election;
use liveness::Liveness;
use nodes::NodeHealth;
use out::Out;
use raft::Raft;
use tokens::Tokens;

/// The grid the lab steps on.
const STEP_MS: i64 = 10;
/// Warm-up before `start`: etcd, leases and heartbeats settle before anyone looks.
const WARM_UP_MS: i64 = 30_000;
/// `kubeadm init --upload-certs` ran this long before `start` (the certificate key has
/// 1 h 35 min left, the join token 23 h 35 min).
const INIT_BEFORE_START_MS: i64 = 25 * 60_000;

/// A master's etcd container as the host runs it (see [`Lab::etcd_hosts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtcdHost {
    Running,
    /// Powered, but the container is not running (stopped cleanly, or not yet started).
    Stopped,
    /// The host lost power: the process died uncleanly.
    PoweredOff,
}

#[derive(Debug, Clone)]
pub struct Lab {
    cfg: LabConfig,
    /// Lab time in ms since `cfg.start` (negative during warm-up).
    now: i64,
    /// Nanoseconds asked for but not yet stepped (less than one step).
    carry_ns: u128,
    hosts: Hosts,
    etcd: Raft,
    /// `kube-scheduler`, `kube-controller-manager`.
    leases: Vec<Election>,
    nodes: NodeHealth,
    tokens: Tokens,
    api: ApiHealth,
    /// The kubelets' liveness probes of the apiservers.
    liveness: Liveness,
    feeds: Feeds,
    /// The load balancer in front of the apiservers, and what was last shown of it.
    lb: Lb,
    shown_lb: ShownLb,
    /// What `E`, `N` and `X` left behind (the partition itself lives in `etcd`).
    faults: FaultState,
    /// Static pods as the API last recorded them (only a running kubelet updates them).
    reported_pods: Vec<[PodHealth; 4]>,
    shown: emit::Shown,
    /// Leader-election identities and probe jitter (etcd has its own stream).
    rng: ChaCha8Rng,
    /// Visit every 10 ms step instead of jumping (tests compare the two).
    exact: bool,
    /// What kubeadm has made: CA, pod network, swap, `controlPlaneEndpoint`.
    build: Build,
    /// The drill's own requests, each out until answered or timed out.
    drill_clients: probes::DrillClients,
    /// What the lab's kubeadm and kubectl changed outside the clock (a deleted Node or
    /// token, the Secret, a note on kube-proxy): sent with the next batch.
    kubectl_said: Vec<ClusterEvent>,
}

fn stream(seed: u64, n: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(n);
    rng
}

impl Lab {
    /// The cluster some time after `kubeadm init --upload-certs` and all joins, warmed up so
    /// that etcd leads, leases are held and every node is Ready. `now()` is `cfg.start`.
    pub fn new(cfg: LabConfig) -> Lab {
        Self::build(cfg, false)
    }

    fn build(cfg: LabConfig, exact: bool) -> Lab {
        let cfg = cfg.clamped();
        let (masters, total) = (cfg.control_planes, cfg.nodes());
        let now = -WARM_UP_MS;
        let init_at = -INIT_BEFORE_START_MS;
        let mut setup = stream(cfg.seed, 0);
        let hosts_names: Vec<String> = (0..masters).map(|i| cfg.name(i)).collect();
        let mut election = |name, component| {
            Election::new(
                name,
                component,
                &hosts_names,
                now,
                init_at + 30_000,
                &mut setup,
            )
        };
        let leases = vec![
            election("kube-scheduler", Component::Scheduler),
            election("kube-controller-manager", Component::ControllerManager),
        ];
        let nodes = NodeHealth::new(masters, total, init_at, now, &mut setup);
        let tokens = Tokens::new(init_at, &mut setup, &mut stream(cfg.seed, 8));
        let feeds = Feeds {
            api_up: true,
            down_since: cfg.start,
            endpoint: cfg.endpoint.clone(),
            why: String::new(),
        };
        let mut lab = Lab {
            hosts: Hosts::new(masters, total),
            etcd: Raft::new(masters, total, now, stream(cfg.seed, 1)),
            leases,
            nodes,
            tokens,
            api: ApiHealth::new(masters),
            // Each apiserver started when its master joined (as NodeHealth dates them).
            liveness: Liveness::new((0..masters).map(|i| init_at + 40_000 + 90_000 * i as i64)),
            feeds,
            faults: FaultState::new(masters, total),
            lb: Lb::new(cfg.lb, cfg.lb_check, &hosts_names, now, stream(cfg.seed, 3)),
            shown_lb: ShownLb::default(),
            reported_pods: Vec::new(),
            shown: emit::Shown::default(),
            rng: stream(cfg.seed, 2),
            build: Build::built(total, &cfg.endpoint, init_at, stream(cfg.seed, 7)),
            kubectl_said: Vec::new(),
            cfg,
            now,
            carry_ns: 0,
            exact,
            drill_clients: Default::default(),
        };
        lab.api.update(lab.now, &lab.hosts, &lab.etcd);
        lab.api.jitter(&mut lab.rng);
        lab.reported_pods = (0..masters)
            .map(|i| views::pod_health(&lab.hosts, &lab.api, i))
            .collect();
        lab.shown = emit::Shown::of(&lab);
        lab.run_until(0, &mut Out::new(now));
        lab
    }

    /// The hosts before `kubeadm init` (see [`build`]): nothing runs, nothing is
    /// listed; the lab's kubeadm builds it.
    fn build_bare(cfg: LabConfig) -> Lab {
        let cfg = cfg.clamped();
        let (masters, total) = (cfg.control_planes, cfg.nodes());
        let mut setup = stream(cfg.seed, 0);
        let hosts_names: Vec<String> = (0..masters).map(|i| cfg.name(i)).collect();
        let feeds = Feeds {
            api_up: false,
            down_since: cfg.start,
            endpoint: cfg.endpoint.clone(),
            why: build::NO_API.to_string(),
        };
        let mut lb = Lb::new(cfg.lb, cfg.lb_check, &hosts_names, 0, stream(cfg.seed, 3));
        lb.down_from_start();
        let mut lab = Lab {
            hosts: Hosts::bare(masters, total),
            etcd: Raft::bare(masters, total, 0, stream(cfg.seed, 1)),
            leases: vec![
                Election::empty("kube-scheduler", Component::Scheduler, masters),
                Election::empty(
                    "kube-controller-manager",
                    Component::ControllerManager,
                    masters,
                ),
            ],
            nodes: NodeHealth::bare(total, &mut setup),
            tokens: Tokens::empty(&mut setup),
            api: ApiHealth::new(masters),
            // Probes start with each apiserver (`Liveness::started`).
            liveness: Liveness::new((0..masters).map(|_| i64::MAX / 4)),
            feeds,
            faults: FaultState::new(masters, total),
            lb,
            shown_lb: ShownLb::default(),
            reported_pods: Vec::new(),
            shown: emit::Shown::default(),
            rng: stream(cfg.seed, 2),
            build: Build::bare(total, stream(cfg.seed, 7)),
            kubectl_said: Vec::new(),
            cfg,
            now: 0,
            carry_ns: 0,
            exact: false,
            drill_clients: Default::default(),
        };
        lab.api.update(lab.now, &lab.hosts, &lab.etcd);
        lab.reported_pods = (0..masters)
            .map(|i| views::pod_health(&lab.hosts, &lab.api, i))
            .collect();
        lab.shown = emit::Shown::of(&lab);
        lab
    }

    pub fn now(&self) -> Timestamp {
        views::at(&self.cfg, self.now)
    }

    pub fn config(&self) -> &LabConfig {
        &self.cfg
    }

    /// Runs the virtual clock forward by `dt` (kept to the 10 ms grid; the remainder is
    /// carried into the next call). Returns what changed, ending with `Clock(now)`.
    pub fn advance(&mut self, dt: Duration) -> Vec<ClusterEvent> {
        self.advance_batch(dt).0
    }

    /// Like [`Lab::advance`], also saying whether the batch holds more than refreshes.
    pub fn advance_batch(&mut self, dt: Duration) -> (Vec<ClusterEvent>, bool) {
        let step_ns = (STEP_MS as u128) * 1_000_000;
        let total = self.carry_ns + dt.as_nanos();
        self.carry_ns = total % step_ns;
        let steps = i64::try_from(total / step_ns).unwrap_or(i64::MAX / STEP_MS);
        let mut out = Out::new(self.now);
        for ev in std::mem::take(&mut self.kubectl_said) {
            out.change(&self.cfg, self.now, None, ev);
        }
        self.run_until(self.now.saturating_add(steps * STEP_MS), &mut out);
        self.emit_heartbeats(&mut out);
        let urgent = out.urgent;
        (out.finish(&self.cfg, self.now), urgent)
    }

    /// Every object as events, for a consumer starting from nothing: clock, endpoint,
    /// apiservers, nodes, static pods, etcd, leases, tokens, certificate key, certificates,
    /// feeds.
    pub fn full_state(&self) -> Vec<ClusterEvent> {
        let (cfg, now) = (&self.cfg, self.now());
        let mut events = vec![
            ClusterEvent::Clock(now),
            ClusterEvent::Endpoint(self.endpoint()),
        ];
        let masters = (0..cfg.control_planes).filter(|&i| self.control_plane_installed(i));
        let apiservers = masters.map(|i| views::apiserver(cfg, &self.api, i));
        events.extend(apiservers.map(ClusterEvent::ApiServer));
        let nodes = self.nodes.nodes.iter().enumerate();
        let nodes = nodes.filter(|&(i, _)| self.node_registered(i));
        events.extend(nodes.map(|(i, n)| ClusterEvent::NodeUpsert(views::node(cfg, i, n))));
        events.push(self.node_leases());
        let pods = self.reported_pods.iter().enumerate();
        let pods = pods.filter(|&(i, _)| self.nodes.nodes[i].registered);
        let pods = pods.map(|(i, &p)| views::static_pods(cfg, i, p));
        events.extend(pods.map(ClusterEvent::StaticPods));
        events.push(ClusterEvent::Etcd(self.etcd_status()));
        let leases = self.leases.iter().filter(|e| e.exists);
        events.extend(leases.map(|e| ClusterEvent::LeaseUpsert(views::lease(cfg, e))));
        if self.lb.kind == LbKind::KubeVip && self.initialised() {
            events.push(ClusterEvent::LeaseUpsert(self.lb.vip_lease(cfg)));
        }
        events.extend(self.tokens().into_iter().map(ClusterEvent::TokenUpsert));
        if let Some(init_at) = self.build.init_at {
            events.push(ClusterEvent::CertKey(self.cert_key()));
            let certs = views::certificates(cfg, init_at);
            events.extend(certs.into_iter().map(ClusterEvent::Certificate));
        }
        if self.build.bare
            && let Some(ep) = self.control_plane_endpoint().filter(|_| self.feeds.api_up)
        {
            events.push(ClusterEvent::ControlPlaneEndpoint(ep));
        }
        events.extend(self.feeds.events(now, false));
        events.push(self.etcd_feed());
        events
    }

    /// What the lab may publish: everything, less its own etcd view when a real etcd
    /// answers for it.
    pub fn publishable(&self, mut events: Vec<ClusterEvent>) -> Vec<ClusterEvent> {
        if self.cfg.external_etcd {
            events.retain(|e| {
                !matches!(
                    e,
                    ClusterEvent::Etcd(_) | ClusterEvent::Feed(hatui_model::FeedKind::Etcd, _)
                )
            });
        }
        events
    }

    // Read-only views, for tests and for anyone who wants the lab's truth directly.

    /// The node name of the etcd member that currently leads (a live one), if any.
    pub fn etcd_leader(&self) -> Option<String> {
        self.etcd.leader().map(|i| self.cfg.name(i))
    }

    /// What each master's etcd process is doing (masters in order, `cp-1` first), for a
    /// real etcd that follows the lab: running, stopped by the kubelet (SIGTERM), or gone
    /// with the power (SIGKILL). A stopped kubelet alone leaves the container running.
    pub fn etcd_hosts(&self) -> Vec<EtcdHost> {
        let masters = self.hosts.cps.iter().zip(&self.hosts.machines);
        masters
            .map(
                |(cp, m)| match (cp.pod(Component::Etcd).running, m.powered) {
                    (true, _) => EtcdHost::Running,
                    (false, true) => EtcdHost::Stopped,
                    (false, false) => EtcdHost::PoweredOff,
                },
            )
            .collect()
    }

    /// The highest Raft term any member has persisted.
    pub fn etcd_term(&self) -> u64 {
        self.etcd.term()
    }

    /// etcd as a poll of every member reports it right now.
    pub fn etcd_status(&self) -> EtcdStatus {
        let mut status = views::etcd(&self.cfg, &self.etcd, &self.hosts);
        // Elections older than the window no longer count as flapping.
        let since = views::at(&self.cfg, self.now - raft::ELECTIONS_KEPT_MS);
        status.leader_changes.retain(|t| *t >= since);
        status
    }

    /// The node whose copy holds Lease `name` (`kube-scheduler`, `kube-controller-manager`);
    /// `None` when released or unknown.
    pub fn lease_holder(&self, name: &str) -> Option<String> {
        self.lease(name)?.holder_node().map(str::to_string)
    }

    /// Lease `name`: the two control-plane leases, and kube-vip's with `--lb kube-vip`.
    pub fn lease(&self, name: &str) -> Option<Lease> {
        if name == lb::VIP_LEASE && self.lb.kind == LbKind::KubeVip {
            return Some(self.lb.vip_lease(&self.cfg));
        }
        let e = self.leases.iter().find(|e| e.name == name)?;
        Some(views::lease(&self.cfg, e))
    }

    /// When `name`'s kubelet last renewed its node Lease.
    pub fn node_heartbeat(&self, name: &str) -> Option<jiff::Timestamp> {
        let i = self.cfg.index_of(name)?;
        Some(views::at(&self.cfg, self.nodes.nodes[i].last_heartbeat))
    }

    /// The Node object; `None` once deleted (`X`) until the kubelet registers it again.
    pub fn node(&self, name: &str) -> Option<Node> {
        let i = self
            .cfg
            .index_of(name)
            .filter(|&i| !self.faults.deleted[i])?;
        Some(views::node(&self.cfg, i, &self.nodes.nodes[i]))
    }

    /// The static pods of master `name` as the API reports them.
    pub fn static_pods(&self, name: &str) -> Option<StaticPods> {
        let i = self
            .cfg
            .index_of(name)
            .filter(|&i| self.hosts.is_master(i))?;
        Some(views::static_pods(&self.cfg, i, self.reported_pods[i]))
    }

    pub fn apiserver(&self, name: &str) -> Option<ApiServerHealth> {
        let i = self
            .cfg
            .index_of(name)
            .filter(|&i| self.hosts.is_master(i))?;
        Some(views::apiserver(&self.cfg, &self.api, i))
    }

    pub fn endpoint(&self) -> EndpointHealth {
        let mut e = self.lb.endpoint(&self.cfg, &self.api);
        if !self.control_plane_installed(0) && !self.initialised() {
            e.ready = Some(false);
            e.detail = Some(format!(
                "{}: no master listens on :6443 behind the load balancer",
                build::NO_API
            ));
        }
        e
    }

    pub fn tokens(&self) -> Vec<Token> {
        let tokens = self.tokens.tokens.iter();
        tokens.map(|t| views::token(&self.cfg, t)).collect()
    }

    pub fn cert_key(&self) -> CertKey {
        self.tokens.cert_key()
    }
}

#[cfg(test)]
mod build_tests;
#[cfg(test)]
mod tests;
