//! The drill's [`Probe`] on a live cluster: the cluster as the cockpit's own sources see it
//! (etcd every 100 ms, the API by watch) at one tick, and the drill's requests at that tick.

use crate::drill::plan::LEASES;
use crate::drill::probe::{Answer, LeaseSeen, PodSeen, Probe, Readyz};
use crate::drill::seen::Seen;
use hatui_model::{ClusterState, PodState};

/// The state's half of a probe, taken at the tick (the requests' half comes later).
pub fn of_state(state: &ClusterState, target: &str) -> Probe {
    let etcd = &state.etcd;
    let leader = etcd.leader_member();
    let target_member_healthy = leader.is_some()
        && etcd
            .members
            .iter()
            .any(|m| m.name == target && m.reachable && !m.is_learner && m.errors.is_empty());
    let lease = |name: &str| {
        let l = state.leases.get(name);
        LeaseSeen {
            holder: l.and_then(|l| l.holder_node().map(str::to_string)),
            transitions: l.map_or(0, |l| l.transitions),
            active: state.lease_active(name),
        }
    };
    let target_pods_gone = state
        .static_pods
        .get(target)
        .is_some_and(|p| p.each().iter().all(|(_, h)| h.state == PodState::Absent));
    Probe {
        endpoint_error: None,
        endpoint_latency_ms: None,
        endpoint_backend: None,
        masters: Vec::new(),
        etcd_leader: leader.map(|m| m.name.clone()),
        etcd_term: leader.map_or(0, |m| m.raft_term),
        target_member_healthy,
        leases: LEASES.map(lease),
        target_node: state.nodes.get(target).map(|n| n.ready),
        grace_s: state.node_monitor_grace_s(),
        target_pods_gone,
        schedulable_node: None,
        keepalive: None,
        test_pod: None,
    }
}

/// The cluster right before the fault: the state, with each master's `/readyz` as the
/// sources last saw it.
pub fn before(state: &ClusterState, target: &str) -> Probe {
    let mut p = of_state(state, target);
    p.masters = state
        .apiservers
        .values()
        .map(|a| Readyz {
            node: a.node.clone(),
            error: (!a.ready).then(|| a.detail.clone().unwrap_or_default()),
            latency_ms: a.latency_ms,
        })
        .collect();
    p.test_pod = Some(PodSeen {
        created: false,
        node: None,
    });
    p
}

/// Completes `p` with the tick's answers: the endpoint, the kept-alive connection and each
/// of `masters` (in order).
pub fn with_answers(
    mut p: Probe,
    endpoint: Answer,
    keepalive: Answer,
    masters: &[String],
    readyz: Vec<Answer>,
    pod: PodSeen,
) -> Probe {
    p.endpoint_error = endpoint.error;
    p.endpoint_latency_ms = endpoint.latency_ms;
    p.keepalive = Some(keepalive);
    p.masters = masters
        .iter()
        .zip(readyz)
        .map(|(node, a)| Readyz {
            node: node.clone(),
            error: a.error,
            latency_ms: a.latency_ms,
        })
        .collect();
    p.test_pod = Some(pod);
    p
}
