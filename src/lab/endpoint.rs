//! Each master's apiserver `/readyz` and the load balancer in front of them. With stacked
//! etcd an apiserver talks only to its local member, so a running apiserver is useless when
//! that member is down or etcd cannot commit.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::hosts::{Component, Hosts};
use super::raft::Raft;

/// During an election etcd requests wait rather than fail: `/readyz` fails only once they
/// time out (`--etcd-readycheck-timeout`, 2 s) and the once-a-second probe sees it. So an
/// ordinary re-election (at most ~2 s) does not take the apiservers out of the load balancer.
pub(crate) const LEADERLESS_GRACE_MS: i64 = 2_500;

/// Why an apiserver is not ready, in the operator's words; `None` when ready.
/// `leaderless_for`: how long etcd has had no live leader.
fn apiserver_problem(
    i: usize,
    hosts: &Hosts,
    etcd: &Raft,
    leaderless_for: Option<i64>,
) -> Option<&'static str> {
    let cp = &hosts.cps[i];
    if !cp.pod(Component::ApiServer).installed {
        Some("not installed: kubeadm has not run on this master yet")
    } else if !hosts.machines[i].powered {
        Some("powered off (no route to host)")
    } else if !cp.pod(Component::ApiServer).running {
        Some(if !cp.manifests {
            "stopped (static pod manifest moved away)"
        } else if cp.starting(Component::ApiServer) {
            "starting"
        } else {
            "stopped"
        })
    } else if !etcd.members[i].up {
        Some("local etcd member down")
    } else if etcd.cut[i] && !etcd.has_quorum_at(i) {
        // Its member answers locally but has no leader: requests time out.
        Some("etcd: no leader (local member cut off from its peers)")
    } else if !etcd.has_quorum_at(i) {
        Some("etcd: no quorum")
    } else if leaderless_for.is_some_and(|ms| ms > LEADERLESS_GRACE_MS) {
        Some("etcd: no leader (election in progress)")
    } else {
        None
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ApiHealth {
    pub problems: Vec<Option<&'static str>>,
    /// Probe round trips in ms, refreshed once a second.
    pub latency_ms: Vec<f64>,
    /// The load balancer's own hop.
    hop_ms: f64,
    /// Since when etcd has had no live leader.
    leaderless_since: Option<i64>,
    /// Bumped when readiness or a reason changes (shown at once); `jittered` on latency only.
    pub changed: u64,
    pub jittered: u64,
}

impl ApiHealth {
    pub(crate) fn new(masters: usize) -> Self {
        Self {
            problems: vec![Some("starting"); masters],
            latency_ms: vec![0.0; masters],
            hop_ms: 0.0,
            leaderless_since: None,
            changed: 0,
            jittered: 0,
        }
    }

    pub(crate) fn ready(&self, i: usize) -> bool {
        self.problems[i].is_none()
    }

    pub(crate) fn update(&mut self, now: i64, hosts: &Hosts, etcd: &Raft) {
        self.leaderless_since = match etcd.leader() {
            Some(_) => None,
            None => Some(self.leaderless_since.unwrap_or(now)),
        };
        let leaderless_for = self.leaderless_since.map(|t| now - t);
        for i in 0..self.problems.len() {
            let p = apiserver_problem(i, hosts, etcd, leaderless_for);
            if self.problems[i] != p {
                self.problems[i] = p;
                self.changed += 1;
            }
        }
    }

    /// When the leaderless grace runs out (the moment readiness changes on its own).
    pub(crate) fn next_due(&self, now: i64) -> Option<i64> {
        let due = self.leaderless_since.map(|t| t + LEADERLESS_GRACE_MS + 10);
        due.filter(|&t| t > now)
    }

    /// A new set of probe round trips: a few ms on a LAN.
    pub(crate) fn jitter(&mut self, rng: &mut ChaCha8Rng) {
        for ms in &mut self.latency_ms {
            *ms = f64::from(rng.random_range(12..60_u32)) / 10.0;
        }
        self.hop_ms = f64::from(rng.random_range(3..15_u32)) / 10.0;
        self.jittered += 1;
    }

    /// The load balancer's own hop, added to a backend's round trip.
    pub(crate) fn hop_ms(&self) -> f64 {
        self.hop_ms
    }
}
