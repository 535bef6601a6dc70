//! The cluster as JSON: the `hatui status --json` schema, also in the wizard's and the
//! drill's reports. One schema for the lab and live clusters; docs/status.md documents it.
//! Secrets never appear: the model holds none.

use serde::Serialize;

use crate::{
    CertKeyState, Certificate, ClusterState, EtcdMember, Lease, Node, Readiness, SourceKind, Token,
};

#[derive(Debug, Serialize)]
pub struct Snapshot {
    pub source: SourceKind,
    /// RFC 3339, UTC: the cluster time of the snapshot (the lab clock in the lab).
    pub observed_at: String,
    pub endpoint: Endpoint,
    pub apiservers: Vec<ApiServer>,
    pub nodes: Vec<NodeJson>,
    pub etcd: Etcd,
    pub leases: Vec<LeaseJson>,
    pub certificate_key: CertificateKey,
    pub tokens: Vec<TokenJson>,
    /// The cluster CA and each master's apiserver serving certificate.
    pub certificates: Vec<CertificateJson>,
    /// Data that is not current, with why (its source's error, or `no answer from <what>`
    /// after three refresh intervals of silence): `{"kind": "Nodes", "error": "...", "age_s": 42}`.
    pub stale: Vec<Stale>,
}

#[derive(Debug, Serialize)]
pub struct Endpoint {
    pub address: String,
    pub ready: Option<bool>,
    pub detail: Option<String>,
    /// What is wrong with the kubeadm-config `controlPlaneEndpoint` (unset, or one
    /// master's own address), with the fix.
    pub warning: Option<String>,
    /// How the load balancer checks its backends, when known (the lab).
    pub balancer: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ApiServer {
    pub node: String,
    pub address: String,
    pub ready: bool,
    pub detail: Option<String>,
    /// Its `/readyz?verbose` etcd check (`[+]etcd ok`); `null` when not listed.
    pub etcd_ok: Option<bool>,
    /// The load balancer's view of this master, when known (the lab).
    pub lb: Option<LbJson>,
}

#[derive(Debug, Serialize)]
pub struct LbJson {
    pub serving: bool,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct NodeJson {
    pub name: String,
    pub roles: Vec<String>,
    pub ready: bool,
    /// `Ready`, `NotReady` or `Unknown` (heartbeats lost).
    pub condition: &'static str,
    pub kubelet_version: String,
    pub internal_ip: Option<String>,
    /// e.g. `node.kubernetes.io/unreachable:NoExecute` once its heartbeats stopped.
    pub taints: Vec<String>,
    /// Seconds since its kubelet renewed its node Lease; `null` when not known.
    pub heartbeat_age_s: Option<i64>,
    /// For a Ready node whose kubelet went silent: seconds until the node controller marks
    /// it NotReady: the grace period (40 s; 50 s from v1.32) from its last heartbeat, or
    /// from a later controller-manager takeover; `null` while no controller-manager leads.
    pub not_ready_in_s: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct Etcd {
    /// Name of the leader member, `null` without a leader.
    pub leader: Option<String>,
    /// How etcd was reached when not directly, e.g. "via kube exec (last resort, every 2 s)".
    pub via: Option<String>,
    pub members: Vec<Member>,
    /// `null` when the members' answers do not tell it: etcd not configured, no member
    /// answered, or members unreachable from here while every apiserver reads etcd.
    pub quorum: Option<Quorum>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Member {
    /// Hex, as etcdctl prints it (a u64 does not fit a JSON number safely).
    pub id: String,
    pub name: String,
    pub client_urls: Vec<String>,
    pub is_leader: bool,
    pub is_learner: bool,
    pub reachable: bool,
    pub error: Option<String>,
    pub raft_term: u64,
    pub raft_index: u64,
    pub db_size_bytes: u64,
    pub alarms: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Quorum {
    pub members: usize,
    pub healthy: usize,
    pub needed: usize,
    pub tolerates: usize,
}

#[derive(Debug, Serialize)]
pub struct LeaseJson {
    pub name: String,
    pub holder_identity: Option<String>,
    /// The host part of `holder_identity`.
    pub holder_host: Option<String>,
    /// The Node that host is (by name, short name, hostname label or EC2 `ip-a-b-c-d`
    /// name); `null` when no Node matches.
    pub holder_node: Option<String>,
    pub renewed_ago_s: Option<i64>,
    pub duration_s: u32,
    pub transitions: u32,
    /// The holder stopped renewing (`renewTime + leaseDurationSeconds < now`).
    pub expired: bool,
    /// The holder emptied it on a clean stop (kube-scheduler's `ReleaseOnCancel`).
    pub released: bool,
}

#[derive(Debug, Serialize)]
pub struct CertificateKey {
    /// `present`, `orphaned` (its owner token is gone: the Secret is about to be deleted),
    /// `absent`, or `unknown` (the secrets could not be read).
    pub state: CertKeyState,
    /// The `kubeadm-certs` Secret exists (orphaned included).
    pub present: bool,
    /// Seconds left (the owner token's expiration minus now); negative once expired.
    pub expires_in_s: Option<i64>,
    pub owner_token_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TokenJson {
    pub id: String,
    /// `null`: never expires; negative: expired and not yet cleaned up; 0 when the
    /// expiration cannot be parsed (the apiserver rejects such a token as expired).
    pub expires_in_s: Option<i64>,
    pub usages: Vec<String>,
    pub description: String,
    /// `join` (listed as a join token), `key-owner` (the owner of the current
    /// `kubeadm-certs`) or `old-key-owner` (an earlier upload's owner, left until it
    /// expires): neither owner can join.
    pub kind: &'static str,
    /// What is wrong with the token itself (an unparseable expiration), naming it.
    pub warning: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CertificateJson {
    /// `CA`, `apiserver cp-1`.
    pub name: String,
    /// The master serving it; `null` for the CA.
    pub node: Option<String>,
    /// Negative once expired.
    pub expires_in_s: i64,
    /// RFC 3339, UTC.
    pub not_after: String,
}

#[derive(Debug, Serialize)]
pub struct Stale {
    pub kind: String,
    pub error: String,
    pub age_s: Option<i64>,
}

impl Snapshot {
    pub fn of(c: &ClusterState) -> Self {
        Self {
            source: c.source,
            observed_at: jiff::Timestamp::from_second(c.now.as_second())
                .unwrap_or(c.now)
                .to_string(),
            endpoint: Endpoint {
                address: c.endpoint.address.clone(),
                ready: c.endpoint.ready,
                detail: c.endpoint.detail.clone(),
                warning: c.control_plane_endpoint_problem(),
                balancer: c.endpoint.balancer.clone(),
            },
            apiservers: c
                .apiservers
                .values()
                .map(|a| ApiServer {
                    node: a.node.clone(),
                    address: a.address.clone(),
                    ready: a.ready,
                    detail: a.detail.clone(),
                    etcd_ok: a.etcd_ok,
                    lb: c.endpoint.backend(&a.node).map(|b| LbJson {
                        serving: b.serving,
                        detail: b.detail.clone(),
                    }),
                })
                .collect(),
            nodes: c.nodes.iter().map(|n| node(n, c)).collect(),
            etcd: Etcd {
                leader: c.etcd.live_leader().map(|m| m.name.clone()),
                via: c.etcd.via.clone(),
                members: c.etcd.members.iter().map(|m| member(c, m)).collect(),
                quorum: c.etcd_quorum().known().map(|q| Quorum {
                    members: q.members,
                    healthy: q.healthy,
                    needed: q.needed,
                    tolerates: q.tolerates,
                }),
                warnings: c.etcd_warnings(),
            },
            leases: c.leases.values().map(|l| lease(l, c)).collect(),
            certificate_key: CertificateKey {
                state: c.cert_key_state(),
                present: c.cert_key.secret_present,
                expires_in_s: c.cert_key_expires_in_s(),
                owner_token_id: c.cert_key.owner_token_id.clone(),
            },
            tokens: c.tokens.values().map(|t| token(t, c)).collect(),
            certificates: c.certificates.values().map(|x| certificate(x, c)).collect(),
            stale: c
                .stale_feeds()
                .into_iter()
                .map(|s| Stale {
                    kind: format!("{:?}", s.kind),
                    error: s.why,
                    age_s: s.age_s,
                })
                .collect(),
        }
    }
}

fn node(n: &Node, c: &ClusterState) -> NodeJson {
    NodeJson {
        name: n.name.clone(),
        roles: n.roles.clone(),
        ready: n.ready == Readiness::Ready,
        condition: match n.ready {
            Readiness::Ready => "Ready",
            Readiness::NotReady => "NotReady",
            Readiness::Unknown => "Unknown",
        },
        kubelet_version: n.kubelet_version.clone(),
        internal_ip: n.internal_ip.clone(),
        taints: n.taints.clone(),
        heartbeat_age_s: c.heartbeat_age_s(n),
        not_ready_in_s: c.silent(n).and_then(|h| h.not_ready_in_s),
    }
}

fn member(c: &ClusterState, m: &EtcdMember) -> Member {
    Member {
        id: format!("{:x}", m.id),
        name: m.name.clone(),
        client_urls: m.client_urls.clone(),
        is_leader: c.etcd.live_leader().is_some_and(|l| l.id == m.id),
        is_learner: m.is_learner,
        reachable: m.reachable,
        error: m.error.clone(),
        raft_term: m.raft_term,
        raft_index: m.raft_index,
        db_size_bytes: m.db_size_bytes,
        alarms: m.alarms.clone(),
    }
}

fn lease(l: &Lease, c: &ClusterState) -> LeaseJson {
    LeaseJson {
        name: l.name.clone(),
        holder_identity: l.holder_identity.clone().filter(|h| !h.is_empty()),
        holder_host: l.holder_node().map(str::to_string),
        holder_node: c.holder_node(l).map(str::to_string),
        renewed_ago_s: l.renewed_ago_s(c.now),
        duration_s: l.duration_s,
        transitions: l.transitions,
        expired: l.expired(c.now),
        released: l.released(),
    }
}

fn token(t: &Token, c: &ClusterState) -> TokenJson {
    TokenJson {
        id: t.id.clone(),
        expires_in_s: t.expires_in_s(c.now),
        usages: t.usages.clone(),
        description: t.description.clone(),
        kind: if Some(t.id.as_str()) == c.cert_key.owner_token_id.as_deref() {
            "key-owner"
        } else if t.owns_cert_key() {
            "old-key-owner"
        } else {
            "join"
        },
        warning: t.warning(),
    }
}

fn certificate(x: &Certificate, c: &ClusterState) -> CertificateJson {
    CertificateJson {
        name: x.name.clone(),
        node: x.node.clone(),
        expires_in_s: x.expires_in_s(c.now),
        not_after: jiff::Timestamp::from_second(x.not_after.as_second())
            .unwrap_or(x.not_after)
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jiff::{SignedDuration, Timestamp};

    use super::*;
    use crate::{ClusterEvent, FeedKind, FeedStatus};

    #[test]
    fn a_feed_silent_for_three_intervals_is_listed_in_stale_with_its_age() {
        let t0 = Timestamp::from_second(1_800_000_000).unwrap();
        let mut c = ClusterState::new(SourceKind::Live, "lb:6443", t0);
        let answer = FeedStatus {
            every: Some(Duration::from_secs(1)),
            ..FeedStatus::default()
        };
        c.apply(ClusterEvent::Feed(FeedKind::Etcd, answer));
        c.apply(ClusterEvent::Clock(t0 + SignedDuration::from_secs(3)));
        assert!(Snapshot::of(&c).stale.is_empty());
        c.apply(ClusterEvent::Clock(t0 + SignedDuration::from_secs(12)));
        let json = serde_json::to_value(Snapshot::of(&c)).unwrap();
        assert_eq!(
            json["stale"],
            serde_json::json!([{
                "kind": "Etcd",
                "error": "no answer from the etcd poller",
                "age_s": 12
            }])
        );
    }
}
