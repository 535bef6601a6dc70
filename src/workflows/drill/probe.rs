//! What the drill reads from the cluster at one moment, and how it reads it from the lab
//! (the only file that knows the lab). A live drill fills the same [`Probe`] from its own
//! requests, `/readyz`, etcd and the API (`live::seen`).

use hatui_lab::Lab;
use hatui_model::heartbeat::node_monitor_grace_s;
use hatui_model::{PodState, Readiness};

use super::plan::LEASES;

/// A lease as the drill follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSeen {
    /// The holder's node; `None` when released (or never held).
    pub holder: Option<String>,
    pub transitions: u32,
    /// The holder's copy leads and its apiserver answers: its controllers work.
    pub active: bool,
}

/// One master's `/readyz`, asked directly.
#[derive(Debug, Clone, PartialEq)]
pub struct Readyz {
    pub node: String,
    pub error: Option<String>,
    pub latency_ms: Option<f64>,
}

/// One request's outcome: its error, or its latency.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub error: Option<String>,
    pub latency_ms: Option<f64>,
}

/// The drill's own test pod on a live cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSeen {
    /// The API accepted it.
    pub created: bool,
    /// `spec.nodeName` once the scheduler bound it.
    pub node: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// One request through the endpoint: its error, or its latency.
    pub endpoint_error: Option<String>,
    pub endpoint_latency_ms: Option<f64>,
    /// The master that request reached, when it reached one.
    pub endpoint_backend: Option<String>,
    pub masters: Vec<Readyz>,
    pub etcd_leader: Option<String>,
    pub etcd_term: u64,
    /// The target's member answers, votes, knows a leader (and there is one).
    pub target_member_healthy: bool,
    /// `LEASES` in order.
    pub leases: [LeaseSeen; 2],
    /// The target's Node Ready condition; `None` when it has no Node.
    pub target_node: Option<Readiness>,
    /// `node-monitor-grace-period` for the cluster's version, in seconds.
    pub grace_s: i64,
    /// The API reports none of the target's control-plane pods (the kubelet stopped them).
    pub target_pods_gone: bool,
    /// Where a test pod would go: the first Ready worker, else the first Ready master other
    /// than the target (the pod tolerates the control-plane taint).
    pub schedulable_node: Option<String>,
    /// A request on the one kept-alive connection (the lab's and the live drill's own;
    /// `None` leaves the engine to derive it from the masters' `/readyz`).
    pub keepalive: Option<Answer>,
    /// The real test pod (live); the lab reasons with `schedulable_node` instead.
    pub test_pod: Option<PodSeen>,
}

fn masters(lab: &Lab) -> Vec<String> {
    (1..=lab.config().control_planes)
        .map(|i| format!("cp-{i}"))
        .collect()
}

fn ready(lab: &Lab, node: &str) -> bool {
    lab.node(node).is_some_and(|n| n.ready == Readiness::Ready)
}

fn schedulable(lab: &Lab, target: &str) -> Option<String> {
    let workers = (1..=lab.config().workers).map(|i| format!("worker-{i}"));
    let found = workers.take(50).find(|w| w != target && ready(lab, w));
    found.or_else(|| {
        let others = masters(lab).into_iter().filter(|m| m != target);
        others.into_iter().find(|m| ready(lab, m))
    })
}

impl Probe {
    /// The cluster now, and the drill's requests at tick `seq` (every 100 ms from 1; 0
    /// looks without sending). The lab answers them as the live sampler gets its answers:
    /// one request out per target at a time, and one nothing answers lasts the client's
    /// timeout (1 s), standing for every tick it spans; so availability, the longest gap
    /// and the latency percentiles come out of the same [`super::series::Series`] the same
    /// way on the lab and live.
    pub fn of(lab: &Lab, target: &str, seq: u64) -> Probe {
        let asked = lab.drill_requests(target, seq);
        let ep = asked.endpoint;
        let keepalive = Answer {
            error: asked.keepalive.error,
            latency_ms: asked.keepalive.latency_ms,
        };
        let masters = asked
            .masters
            .into_iter()
            .map(|(node, a)| Readyz {
                error: a.error,
                latency_ms: a.latency_ms,
                node,
            })
            .collect();
        let status = lab.etcd_status();
        let etcd_leader = lab.etcd_leader();
        let target_member_healthy = etcd_leader.is_some()
            && status
                .members
                .iter()
                .any(|m| m.name == target && m.reachable && !m.is_learner && m.errors.is_empty());
        let lease = |name: &str| {
            let l = lab.lease(name);
            LeaseSeen {
                holder: l.as_ref().and_then(|l| l.holder_node().map(str::to_string)),
                transitions: l.map_or(0, |l| l.transitions),
                active: lab.lease_active(name),
            }
        };
        // The target's kubelet version is the cluster's (one version in the lab).
        let version = lab
            .node(target)
            .map(|n| n.kubelet_version)
            .unwrap_or_default();
        let target_pods_gone = lab
            .static_pods(target)
            .is_some_and(|p| p.each().iter().all(|(_, h)| h.state == PodState::Absent));
        Probe {
            endpoint_error: ep.error,
            endpoint_latency_ms: ep.latency_ms,
            endpoint_backend: ep.backend,
            masters,
            etcd_leader,
            etcd_term: lab.etcd_term(),
            target_member_healthy,
            leases: LEASES.map(lease),
            target_node: lab.node(target).map(|n| n.ready),
            grace_s: node_monitor_grace_s(&version),
            target_pods_gone,
            schedulable_node: schedulable(lab, target),
            keepalive: Some(keepalive),
            test_pod: None,
        }
    }

    pub fn readyz(&self, node: &str) -> Option<&Readyz> {
        self.masters.iter().find(|m| m.node == node)
    }
}
