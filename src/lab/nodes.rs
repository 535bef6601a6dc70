//! Node readiness: kubelets heartbeat every 10 s through the API endpoint; the node
//! controller (inside the controller-manager that holds its lease) marks a node Unknown once
//! it has heard nothing for the grace period. Checked once per simulated second, so 5,000
//! nodes cost nothing between checks.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use hatui_model::Readiness;

use super::hosts::Machine;

/// The kubelet every lab node runs (its version sets the grace period below).
pub(crate) const KUBELET_VERSION: &str = "v1.33.2";
pub(crate) const HEARTBEAT_MS: i64 = 10_000;
/// `--node-monitor-grace-period`: 50 s since v1.32 (40 s before).
pub(crate) const GRACE_MS: i64 =
    hatui_model::heartbeat::node_monitor_grace_s(KUBELET_VERSION) * 1000;
/// How often [`NodeHealth::check`] runs.
pub(crate) const CHECK_MS: i64 = 1_000;

#[derive(Debug, Clone)]
pub(crate) struct NodeState {
    /// The kubelet's TLS bootstrap made the Node object (init or join).
    pub registered: bool,
    /// Its kubelet posts this Node's status (a replacement machine's kubelet does not,
    /// until its own join registers it).
    pub posting: bool,
    /// When a pod network (the CNI's agent on this node) runs; until then the kubelet
    /// reports NotReady ("container runtime network not ready").
    pub network_at: Option<i64>,
    pub ready: Readiness,
    /// Last transition of the Ready condition.
    pub since: i64,
    /// When its Node object was created (registered; again after a deletion).
    pub created: i64,
    /// The kubelet's last node Lease renewal that got through.
    pub last_heartbeat: i64,
    /// The kubelet's heartbeats land at `phase` modulo 10 s.
    phase: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct NodeHealth {
    pub nodes: Vec<NodeState>,
}

impl NodeHealth {
    /// Every node Ready since it joined (masters one after another after `init_at`, workers
    /// later), each kubelet on its own heartbeat phase.
    pub(crate) fn new(
        masters: usize,
        total: usize,
        init_at: i64,
        now: i64,
        rng: &mut ChaCha8Rng,
    ) -> Self {
        let nodes = (0..total)
            .map(|i| {
                let joined = if i < masters {
                    init_at + 40_000 + 90_000 * i as i64
                } else {
                    init_at + 600_000 + rng.random_range(0..600_000)
                };
                let phase = rng.random_range(0..HEARTBEAT_MS);
                NodeState {
                    registered: true,
                    posting: true,
                    network_at: Some(i64::MIN),
                    ready: Readiness::Ready,
                    since: joined,
                    created: joined,
                    last_heartbeat: last_beat(now, phase),
                    phase,
                }
            })
            .collect();
        Self { nodes }
    }

    /// No Node yet (hosts before their join).
    pub(crate) fn bare(total: usize, rng: &mut ChaCha8Rng) -> Self {
        let nodes = (0..total)
            .map(|_| NodeState {
                registered: false,
                posting: false,
                network_at: None,
                ready: Readiness::NotReady,
                since: 0,
                created: 0,
                last_heartbeat: 0,
                phase: rng.random_range(0..HEARTBEAT_MS),
            })
            .collect();
        Self { nodes }
    }

    /// The kubelet's TLS bootstrap registered node `i`: NotReady until its network runs.
    pub(crate) fn register(&mut self, i: usize, now: i64, network_at: Option<i64>) {
        let n = &mut self.nodes[i];
        (n.registered, n.ready, n.since, n.last_heartbeat) = (true, Readiness::NotReady, now, now);
        n.created = now;
        n.posting = true;
        n.network_at = network_at;
        n.phase = (now + CHECK_MS).rem_euclid(HEARTBEAT_MS);
    }

    /// `kubeadm reset`: the Node object stays until deleted; the kubelet stops posting.
    pub(crate) fn forget(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        (n.registered, n.network_at, n.ready) = (false, None, Readiness::NotReady);
    }

    /// A kubelet (re)started: it posts status right away, then every 10 s.
    pub(crate) fn kubelet_started(&mut self, i: usize, now: i64) {
        self.nodes[i].phase = (now + CHECK_MS).rem_euclid(HEARTBEAT_MS);
    }

    /// Once a second: heartbeats that got through in the last second, then the node
    /// controller's verdict. `controller_since`: when the current node controller started
    /// watching (it gives every node a fresh grace period then), `None` if none runs.
    pub(crate) fn check(
        &mut self,
        now: i64,
        machines: &[Machine],
        api_up: bool,
        controller_since: Option<i64>,
        changed: &mut Vec<usize>,
    ) {
        for (i, (n, m)) in self.nodes.iter_mut().zip(machines).enumerate() {
            if !n.registered {
                continue;
            }
            let beat = last_beat(now, n.phase);
            if api_up && m.healthy() && n.posting && beat > now - CHECK_MS {
                n.last_heartbeat = beat;
                let posted = if n.network_at.is_some_and(|t| t <= beat) {
                    Readiness::Ready
                } else {
                    Readiness::NotReady
                };
                if n.ready != posted {
                    (n.ready, n.since) = (posted, beat);
                    changed.push(i);
                }
            }
            let Some(watching) = controller_since else {
                continue;
            };
            let heard = n.last_heartbeat.max(watching);
            if n.ready != Readiness::Unknown && now - heard > GRACE_MS {
                (n.ready, n.since) = (Readiness::Unknown, now);
                changed.push(i);
            }
        }
    }
}

/// The latest heartbeat moment at or before `now` for a kubelet on `phase`.
fn last_beat(now: i64, phase: i64) -> i64 {
    now - (now - phase).rem_euclid(HEARTBEAT_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn silence_turns_unknown_after_the_grace_period_and_a_beat_heals_it() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut h = NodeHealth::new(1, 1, -600_000, 0, &mut rng);
        let mut machines = [Machine {
            powered: true,
            kubelet: false,
        }];
        let mut changed = Vec::new();
        let mut unknown_at = None;
        for t in (1..=70).map(|s| s * CHECK_MS) {
            h.check(t, &machines, true, Some(-600_000), &mut changed);
            if unknown_at.is_none() && h.nodes[0].ready == Readiness::Unknown {
                unknown_at = Some(t);
            }
        }
        let at = unknown_at.expect("went Unknown");
        assert!((40_000..=51_000).contains(&at), "{at}");
        machines[0].kubelet = true;
        h.kubelet_started(0, 70_000);
        h.check(71_000, &machines, true, Some(-600_000), &mut changed);
        assert_eq!(h.nodes[0].ready, Readiness::Ready);
        assert_eq!(changed, [0, 0]);
    }
}
