//! How long a node's kubelet has been silent, and when the node lifecycle controller will
//! mark it NotReady (Ready=Unknown): `--node-monitor-grace-period` (40 s; 50 s from v1.32)
//! after the later of its last heartbeat and the moment the controller started watching.
//! The heartbeat is the node Lease, renewed every 10 s; the Ready condition's
//! `lastHeartbeatTime` moves only every 5 min on a healthy node. The controller runs in the
//! kube-controller-manager that holds its Lease: a new leader's controller starts every
//! node's grace period afresh, and while nobody holds the Lease nobody marks anything.

use jiff::Timestamp;

use super::{ClusterState, FeedKind, Node, Readiness};

/// A kubelet renews its node Lease every 10 s; older than this, it has missed one.
pub const SILENT_AFTER_S: i64 = 12;
/// The controller-manager's leader-election Lease: its holder runs the node controller.
pub const CONTROLLER_MANAGER_LEASE: &str = "kube-controller-manager";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// Seconds since the kubelet was last heard from.
    pub age_s: i64,
    /// Seconds until the grace period runs out, for a silent node still Ready (0 once
    /// over: the node controller, if one runs, marks it at its next check). `None` once
    /// it is not Ready, and while no node controller runs.
    pub not_ready_in_s: Option<i64>,
    /// What the grace period counts from.
    pub grace_from: GraceFrom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraceFrom {
    /// The kubelet's last heartbeat.
    Heartbeat,
    /// A controller-manager took its Lease after that heartbeat: its node controller
    /// first saw the node then, and counts the grace period from there.
    Takeover,
    /// The controller-manager Lease is expired or released: no node controller runs, and
    /// the next leader will start the grace period afresh.
    NoController,
}

/// `v1.33.2` → 33; `None` unless it reads as `v1.<minor>`. A `const fn` so that the lab's
/// constants can be computed from its version.
const fn minor(version: &str) -> Option<u32> {
    let b = version.as_bytes();
    if b.len() < 4 || b[0] != b'v' || b[1] != b'1' || b[2] != b'.' {
        return None;
    }
    let (mut i, mut m) = (3, 0u32);
    while i < b.len() && b[i].is_ascii_digit() && m < 100_000 {
        m = m * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    if i == 3 { None } else { Some(m) }
}

/// `--node-monitor-grace-period`'s default for a Kubernetes version (`v1.31.4`): 40 s up
/// to v1.31, 50 s from v1.32. 50 s for a version that does not read as `v1.<minor>`.
pub const fn node_monitor_grace_s(version: &str) -> i64 {
    match minor(version) {
        Some(m) if m < 32 => 40,
        _ => 50,
    }
}

impl ClusterState {
    /// The node controller's grace period, from the version it most likely runs: the newest
    /// control-plane kubelet (kubeadm upgrades the control plane before the kubelets).
    /// 50 s when no version is known.
    pub fn node_monitor_grace_s(&self) -> i64 {
        let masters = self.nodes.iter().filter(|n| n.is_control_plane());
        let newest = masters.max_by_key(|n| minor(&n.kubelet_version));
        node_monitor_grace_s(newest.map_or("", |n| n.kubelet_version.as_str()))
    }

    /// When `node`'s kubelet was last heard from: its node Lease, or its status if newer.
    /// `None` without its node Lease (the status alone can be 5 min old on a healthy node).
    pub fn last_heartbeat(&self, node: &Node) -> Option<Timestamp> {
        let lease = *self.node_leases.get(&node.name)?;
        Some(node.last_heartbeat.map_or(lease, |t| t.max(lease)))
    }

    /// The heartbeat age of every node whose heartbeat is known.
    pub fn heartbeat_age_s(&self, node: &Node) -> Option<i64> {
        let last = self.last_heartbeat(node)?;
        Some((self.now.as_second() - last.as_second()).max(0))
    }

    /// When the running node controller started watching, as far as the
    /// kube-controller-manager Lease tells: `Some(Some(acquireTime))` while it is held,
    /// `Some(None)` while expired or released (no controller runs), `None` when the Lease
    /// is not known. A Lease not current (its watch failing) claims no expiry.
    fn node_controller_since(&self) -> Option<Option<Timestamp>> {
        let lease = self.leases.get(CONTROLLER_MANAGER_LEASE)?;
        let current = self.stale(FeedKind::Leases).is_none();
        if current && (lease.released() || lease.expired(self.now)) {
            return Some(None);
        }
        lease.holder_node()?;
        Some(lease.acquire_time)
    }

    /// For a node whose kubelet stopped posting: how long ago, and (while still Ready) the
    /// countdown to NotReady. `None` for a node heard from lately, or never, and while the
    /// nodes cannot be read (then the silence is ours, not the kubelet's).
    pub fn silent(&self, node: &Node) -> Option<Heartbeat> {
        if self
            .feed(FeedKind::Nodes)
            .is_some_and(|f| f.error.is_some())
        {
            return None;
        }
        let age_s = self.heartbeat_age_s(node).filter(|&a| a > SILENT_AFTER_S)?;
        let heard = self.now.as_second() - age_s;
        let (grace_from, counted_from) = match self.node_controller_since() {
            Some(None) => (GraceFrom::NoController, None),
            Some(Some(takeover)) if takeover.as_second() > heard => {
                (GraceFrom::Takeover, Some(takeover.as_second()))
            }
            _ => (GraceFrom::Heartbeat, Some(heard)),
        };
        let grace = self.node_monitor_grace_s();
        let not_ready_in_s = counted_from
            .filter(|_| node.ready == Readiness::Ready)
            .map(|from| (grace - (self.now.as_second() - from)).max(0));
        Some(Heartbeat {
            age_s,
            not_ready_in_s,
            grace_from,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClusterEvent, SourceKind};

    fn state(version: &str) -> ClusterState {
        let now = Timestamp::from_second(1_000_000).unwrap();
        let mut c = ClusterState::new(SourceKind::Live, "lb:6443", now);
        let mut m = Node::ready_master("cp-1");
        m.kubelet_version = version.into();
        // The status was posted 4 min ago: on a healthy node that says nothing.
        m.last_heartbeat = Some(Timestamp::from_second(1_000_000 - 240).unwrap());
        c.nodes.upsert(m);
        c
    }

    fn beat(c: &mut ClusterState, ago: i64) {
        let at = Timestamp::from_second(c.now.as_second() - ago).unwrap();
        c.apply(ClusterEvent::NodeLeases(vec![("cp-1".into(), at)]));
    }

    #[test]
    fn the_grace_period_is_a_function_of_the_version() {
        assert_eq!(node_monitor_grace_s("v1.31.9"), 40);
        assert_eq!(node_monitor_grace_s("v1.32.0"), 50);
        assert_eq!(node_monitor_grace_s("v1.34.1"), 50);
        assert_eq!(node_monitor_grace_s("unknown"), 50);
        let mut c = state("v1.31.4");
        assert_eq!(c.node_monitor_grace_s(), 40);
        let mut newer = Node::ready_master("cp-2");
        newer.kubelet_version = "v1.32.1".into();
        c.nodes.upsert(newer);
        assert_eq!(c.node_monitor_grace_s(), 50, "the newest master's");
    }

    fn cm_lease(c: &mut ClusterState, holder: &str, acquired_ago: i64, renewed_ago: i64) {
        let ago = |s: i64| Some(Timestamp::from_second(c.now.as_second() - s).unwrap());
        let lease = crate::Lease {
            name: CONTROLLER_MANAGER_LEASE.into(),
            namespace: "kube-system".into(),
            holder_identity: Some(format!("{holder}_0c1d")),
            acquire_time: ago(acquired_ago),
            renew_time: ago(renewed_ago),
            duration_s: 15,
            transitions: 1,
        };
        c.apply(ClusterEvent::LeaseUpsert(lease));
    }

    /// The node lifecycle controller of a new controller-manager leader first sees every
    /// node when it starts, and counts the grace period from then.
    #[test]
    fn a_controller_manager_takeover_restarts_the_countdown() {
        let mut c = state("v1.33.2");
        beat(&mut c, 18);
        let node = c.nodes.get("cp-1").unwrap().clone();
        cm_lease(&mut c, "cp-2", 3_600, 1);
        let h = c.silent(&node).unwrap();
        assert_eq!(
            (h.not_ready_in_s, h.grace_from),
            (Some(32), GraceFrom::Heartbeat)
        );
        // cp-1 held the lease and went silent with it: nobody marks anything meanwhile.
        cm_lease(&mut c, "cp-1", 3_600, 18);
        let h = c.silent(&node).unwrap();
        assert_eq!(
            (h.not_ready_in_s, h.grace_from),
            (None, GraceFrom::NoController)
        );
        // cp-3 takes over 5 s ago: 50 s from then, not from the last heartbeat.
        cm_lease(&mut c, "cp-3", 5, 1);
        let h = c.silent(&node).unwrap();
        assert_eq!((h.age_s, h.not_ready_in_s), (18, Some(45)));
        assert_eq!(h.grace_from, GraceFrom::Takeover);
        let said = &c.timeline.iter().last().unwrap().text;
        assert!(
            said.starts_with("silent cp-1: grace period restarted by the new controller-manager leader (NotReady 50s after its takeover)"),
            "{said}"
        );
    }

    #[test]
    fn a_silent_node_counts_down_to_not_ready_by_its_version_s_grace_period() {
        let mut c = state("v1.33.2");
        let node = c.nodes.get("cp-1").unwrap().clone();
        assert_eq!(
            c.silent(&node),
            None,
            "no node Lease: the status alone is no heartbeat"
        );
        beat(&mut c, 4);
        assert_eq!(c.heartbeat_age_s(&node), Some(4));
        assert_eq!(c.silent(&node), None, "heard from lately");
        beat(&mut c, 18);
        let h = c.silent(&node).unwrap();
        assert_eq!((h.age_s, h.not_ready_in_s), (18, Some(32)));
        let mut old = state("v1.31.4");
        beat(&mut old, 18);
        let node = old.nodes.get("cp-1").unwrap().clone();
        assert_eq!(old.silent(&node).unwrap().not_ready_in_s, Some(22));
        let mut unknown = node.clone();
        unknown.ready = Readiness::Unknown;
        old.nodes.upsert(unknown.clone());
        beat(&mut old, 75);
        let h = old.silent(&unknown).unwrap();
        assert_eq!((h.age_s, h.not_ready_in_s), (75, None));
        let down = crate::FeedStatus {
            error: Some("API endpoint unreachable".into()),
            ..Default::default()
        };
        old.apply(ClusterEvent::Feed(FeedKind::Nodes, down));
        assert_eq!(old.silent(&unknown), None, "our silence, not the kubelet's");
    }
}
