//! The lab's state as a client sees it: the model types the panes draw, built from the
//! simulation's records.

use jiff::Timestamp;

use hatui_model::{
    ApiServerHealth, Certificate, EtcdMember, EtcdStatus, Lease, Node, PodHealth, PodState,
    Readiness, StaticPods, Token,
};

use super::config::LabConfig;
use super::endpoint::ApiHealth;
use super::hosts::{Component, Hosts};
use super::leases::Election;
use super::nodes::{KUBELET_VERSION, NodeState};
use super::raft::Raft;
use super::tokens::TokenRecord;

pub(crate) const ETCD_VERSION: &str = "3.5.21";
const CONTROL_PLANE_TAINT: &str = "node-role.kubernetes.io/control-plane:NoSchedule";
/// What the node lifecycle controller puts on a node whose Ready condition is Unknown.
const UNREACHABLE_TAINTS: [&str; 2] = [
    "node.kubernetes.io/unreachable:NoSchedule",
    "node.kubernetes.io/unreachable:NoExecute",
];

/// Lab time: milliseconds since `LabConfig::start` (negative during warm-up).
pub(crate) fn at(cfg: &LabConfig, ms: i64) -> Timestamp {
    cfg.start
        .checked_add(jiff::SignedDuration::from_millis(ms))
        .expect("lab time within jiff's range")
}

pub(crate) fn node(cfg: &LabConfig, i: usize, n: &NodeState) -> Node {
    let master = i < cfg.control_planes;
    Node {
        name: cfg.name(i),
        roles: if master {
            vec!["control-plane".into()]
        } else {
            vec![]
        },
        ready: n.ready,
        ready_since: Some(at(cfg, n.since)),
        created: Some(at(cfg, n.created)),
        kubelet_version: KUBELET_VERSION.into(),
        internal_ip: Some(cfg.ip(i)),
        hostname: None,
        taints: {
            let mut taints: Vec<String> = Vec::new();
            if master {
                taints.push(CONTROL_PLANE_TAINT.into());
            }
            if n.ready == Readiness::Unknown {
                taints.extend(UNREACHABLE_TAINTS.map(String::from));
            }
            taints
        },
        // The lab's heartbeats are its node Leases (ClusterEvent::NodeLeases).
        last_heartbeat: None,
    }
}

/// The four pods as the kubelet on master `i` would report them right now.
pub(crate) fn pod_health(hosts: &Hosts, api: &ApiHealth, i: usize) -> [PodHealth; 4] {
    let cp = &hosts.cps[i];
    Component::ALL.map(|c| {
        let pod = cp.pod(c);
        let state = if pod.running {
            // The apiserver's readiness probe is its /readyz.
            if c == Component::ApiServer && api.problems[i].is_some() {
                PodState::NotReady
            } else {
                PodState::Running
            }
        } else if !cp.manifests || !pod.installed {
            PodState::Absent
        } else if cp.starting(c) {
            PodState::NotReady
        } else {
            PodState::Failed
        };
        PodHealth {
            state,
            restarts: pod.restarts,
            containers_running: pod.running,
        }
    })
}

pub(crate) fn static_pods(cfg: &LabConfig, i: usize, pods: [PodHealth; 4]) -> StaticPods {
    let [etcd, apiserver, scheduler, controller_manager] = pods;
    StaticPods {
        node: cfg.name(i),
        apiserver,
        etcd,
        scheduler,
        controller_manager,
    }
}

pub(crate) fn etcd(cfg: &LabConfig, raft: &Raft, hosts: &Hosts) -> EtcdStatus {
    let members = raft
        .listed()
        .map(|(i, m)| {
            let ip = cfg.ip(i);
            let error = (!m.up).then(|| {
                if hosts.machines[i].powered {
                    format!("dial tcp {ip}:2379: connect: connection refused")
                } else {
                    "context deadline exceeded".to_string()
                }
            });
            // A member that does not answer reports nothing about itself.
            let answered = |v: u64| if m.up { v } else { 0 };
            EtcdMember {
                id: m.id,
                // A learner announced but never started has no name yet (etcd's rule).
                name: if m.up || m.term > 0 || m.index > 0 {
                    cfg.name(i)
                } else {
                    String::new()
                },
                client_urls: vec![format!("https://{ip}:2379")],
                peer_urls: vec![format!("https://{ip}:2380")],
                is_learner: !m.voter,
                reachable: m.up,
                error,
                is_leader: m.is_leader(),
                raft_term: answered(m.term),
                raft_index: answered(m.index),
                db_size_bytes: answered(m.db_bytes),
                version: if m.up {
                    ETCD_VERSION.into()
                } else {
                    String::new()
                },
                alarms: vec![],
                applied_index: answered(m.index),
                endpoint: Some(format!("https://{ip}:2379")),
                // etcd's Status says so itself (v3rpc maintenance: ErrNoLeader).
                errors: if m.leaderless() {
                    vec!["etcdserver: no leader".to_string()]
                } else {
                    vec![]
                },
                ..EtcdMember::default()
            }
        })
        .collect();
    EtcdStatus {
        members,
        leader: raft.reported_leader().map(|l| raft.members[l].id),
        leader_changes: raft.elected_at.iter().map(|&t| at(cfg, t)).collect(),
        ..EtcdStatus::default()
    }
}

pub(crate) fn lease(cfg: &LabConfig, e: &Election) -> Lease {
    let r = &e.record;
    Lease {
        name: e.name.into(),
        namespace: "kube-system".into(),
        holder_identity: (!r.holder.is_empty()).then(|| r.holder.clone()),
        acquire_time: Some(at(cfg, r.acquired)),
        renew_time: Some(at(cfg, r.renewed)),
        duration_s: r.duration_s,
        transitions: r.transitions,
    }
}

pub(crate) fn token(cfg: &LabConfig, t: &TokenRecord) -> Token {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    Token {
        id: t.id.clone(),
        expiration: Some(at(cfg, t.expires)),
        bad_expiration: None,
        usages: if t.joins {
            strings(&["signing", "authentication"])
        } else {
            vec![]
        },
        description: t.description.clone(),
        groups: if t.joins {
            strings(&["system:bootstrappers:kubeadm:default-node-token"])
        } else {
            vec![]
        },
    }
}

pub(crate) fn apiserver(cfg: &LabConfig, api: &ApiHealth, i: usize) -> ApiServerHealth {
    let ready = api.problems[i].is_none();
    ApiServerHealth {
        node: cfg.name(i),
        address: format!("{}:6443", cfg.ip(i)),
        ready,
        detail: api.problems[i].map(str::to_string),
        latency_ms: ready.then_some(api.latency_ms[i]),
        etcd_ok: None,
    }
}

/// kubeadm's validity periods: the CA 10 years, leaf certificates 1 year.
const CA_DAYS: i64 = 3_650;
const LEAF_DAYS: i64 = 365;

/// The cluster CA and each master's apiserver serving certificate, as `kubeadm init` and
/// the joins issued them at `issued` (lab ms), with kubeadm's SANs.
pub(crate) fn certificates(cfg: &LabConfig, issued: i64) -> Vec<Certificate> {
    // Whole seconds, as X.509 validity is.
    let until = |days: i64| {
        let t = at(cfg, issued + days * 86_400_000);
        Timestamp::from_second(t.as_second()).unwrap_or(t)
    };
    let ca = Certificate {
        name: Certificate::CA.to_string(),
        node: None,
        not_after: until(CA_DAYS),
        sans: Vec::new(),
    };
    let endpoint = cfg
        .endpoint
        .rsplit_once(':')
        .map_or(&*cfg.endpoint, |(h, _)| h);
    let apiserver = |i: usize| {
        let node = cfg.name(i);
        let mut sans = vec![node.clone()];
        sans.extend(
            [
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
                endpoint,
                "10.96.0.1",
            ]
            .map(str::to_string),
        );
        sans.push(cfg.ip(i));
        Certificate {
            name: Certificate::apiserver_name(&node),
            node: Some(node),
            not_after: until(LEAF_DAYS),
            sans,
        }
    };
    std::iter::once(ca)
        .chain((0..cfg.control_planes).map(apiserver))
        .collect()
}
