//! How long a node's kubelet has been silent, and when the node lifecycle controller will
//! mark it NotReady (Ready=Unknown): `--node-monitor-grace-period` after its last heartbeat
//! (40 s; 50 s from v1.32). The heartbeat is the node Lease, renewed every 10 s; the Ready
//! condition's `lastHeartbeatTime` moves only every 5 min on a healthy node.

use jiff::Timestamp;

use super::{ClusterState, FeedKind, Node, Readiness};

/// A kubelet renews its node Lease every 10 s; older than this, it has missed one.
pub const SILENT_AFTER_S: i64 = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// Seconds since the kubelet was last heard from.
    pub age_s: i64,
    /// Seconds until the grace period runs out, for a silent node still Ready (0 once
    /// over: the node controller, if one runs, marks it at its next check).
    pub not_ready_in_s: Option<i64>,
}

/// `v1.33.2` → 33; `None` unless it reads as `v1.<minor>`.
fn minor(version: &str) -> Option<u32> {
    let rest = version.strip_prefix("v1.")?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

impl ClusterState {
    /// The node controller's grace period, from the version it most likely runs: the newest
    /// control-plane kubelet (kubeadm upgrades the control plane before the kubelets).
    /// 50 s when no version is known.
    pub fn node_monitor_grace_s(&self) -> i64 {
        let masters = self.nodes.iter().filter(|n| n.is_control_plane());
        match masters.filter_map(|n| minor(&n.kubelet_version)).max() {
            Some(m) if m < 32 => 40,
            _ => 50,
        }
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
        let grace = self.node_monitor_grace_s();
        let not_ready_in_s = (node.ready == Readiness::Ready).then(|| (grace - age_s).max(0));
        Some(Heartbeat {
            age_s,
            not_ready_in_s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClusterEvent, SourceKind};

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
        let down = crate::model::FeedStatus {
            error: Some("API endpoint unreachable".into()),
            ..Default::default()
        };
        old.apply(ClusterEvent::Feed(FeedKind::Nodes, down));
        assert_eq!(old.silent(&unknown), None, "our silence, not the kubelet's");
    }
}
