//! Nodes and the control-plane static pods on each master.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    NotReady,
    /// The node controller lost the kubelet's heartbeats (Ready=Unknown).
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub name: String,
    pub roles: Vec<String>,
    pub ready: Readiness,
    /// When the Ready condition last changed.
    pub ready_since: Option<Timestamp>,
    /// `metadata.creationTimestamp`: kubectl's AGE counts from it.
    pub created: Option<Timestamp>,
    pub kubelet_version: String,
    pub internal_ip: Option<String>,
    /// The `kubernetes.io/hostname` label: the host name when the Node is named otherwise.
    pub hostname: Option<String>,
    pub taints: Vec<String>,
    /// The Ready condition's `lastHeartbeatTime`: the kubelet posts its status only on a
    /// change or every 5 min (`nodeStatusReportFrequency`), so it is not a heartbeat by
    /// itself; the node Lease is (see `ClusterState::heartbeat`).
    pub last_heartbeat: Option<Timestamp>,
}

impl Node {
    pub fn is_control_plane(&self) -> bool {
        self.roles.iter().any(|r| r == "control-plane")
    }

    /// A Ready control-plane node of today's version, as a test or a scene starts from.
    pub fn ready_master(name: &str) -> Self {
        Self {
            name: name.into(),
            roles: vec!["control-plane".into()],
            ready: Readiness::Ready,
            ready_since: None,
            created: None,
            kubelet_version: "v1.33.2".into(),
            internal_ip: None,
            hostname: None,
            taints: vec![],
            last_heartbeat: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodState {
    Running,
    /// Running but not passing its readiness probe.
    NotReady,
    /// Pending, crash-looping or otherwise not running.
    Failed,
    /// No such pod on this node (stopped, or its manifest was moved away).
    Absent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodHealth {
    pub state: PodState,
    /// Container restarts (a liveness probe's kills count here).
    pub restarts: u32,
    /// Its containers were last reported running. With `NotReady` this is kubectl's
    /// `0/1 Running`: a failing readiness probe, or the node controller marking every pod
    /// of a node whose heartbeats stopped not ready while its containers may run on.
    pub containers_running: bool,
}

impl PodHealth {
    pub const RUNNING: Self = Self {
        state: PodState::Running,
        restarts: 0,
        containers_running: true,
    };
    pub const ABSENT: Self = Self {
        state: PodState::Absent,
        restarts: 0,
        containers_running: false,
    };
    pub const FAILED: Self = Self {
        state: PodState::Failed,
        restarts: 0,
        containers_running: false,
    };

    /// Not ready although its containers run (`0/1 Running`).
    pub fn not_ready_but_running(&self) -> bool {
        self.state == PodState::NotReady && self.containers_running
    }
}

/// The four kubeadm static pods of one master, as the API (not the host) reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticPods {
    pub node: String,
    pub apiserver: PodHealth,
    pub etcd: PodHealth,
    pub scheduler: PodHealth,
    pub controller_manager: PodHealth,
}

impl StaticPods {
    /// `(short label, health)` in the order the panes show them.
    pub fn each(&self) -> [(&'static str, PodHealth); 4] {
        [
            ("api", self.apiserver),
            ("etcd", self.etcd),
            ("sched", self.scheduler),
            ("cm", self.controller_manager),
        ]
    }
}

/// Sort order of the node list: control planes first, then names in natural order
/// (`worker-2` before `worker-10`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct NodeKey {
    workers_last: bool,
    name: NaturalName,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct NaturalName(String);

impl Ord for NaturalName {
    fn cmp(&self, other: &Self) -> Ordering {
        natural_cmp(&self.0, &other.0)
    }
}

impl PartialOrd for NaturalName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares runs of digits by value and everything else by character.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (trim_zeros(&a[..da]), trim_zeros(&b[..db]));
                let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if ord != Ordering::Equal {
                    return ord;
                }
                (a, b) = (&a[da..], &b[db..]);
            }
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => (a, b) = (&a[1..], &b[1..]),
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&c| c == b'0').count();
    &digits[zeros.min(digits.len().saturating_sub(1))..]
}

/// All nodes, kept in display order so drawing a window of 5,000 costs no sort. Nodes
/// seen deleted are kept apart (not counted, not in [`Nodes::iter`]) and listed, marked,
/// until a Node of that name registers again: a class can see what `X` did and undo it.
#[derive(Debug, Clone, Default)]
pub struct Nodes {
    ordered: BTreeMap<NodeKey, Node>,
    keys: HashMap<String, NodeKey>,
    /// Deleted nodes as last seen, with when their deletion was seen.
    deleted: BTreeMap<NodeKey, (Node, Timestamp)>,
}

/// A row of the node list: a node, or one seen deleted (and when).
#[derive(Debug, Clone, Copy)]
pub struct Listed<'a> {
    pub node: &'a Node,
    pub deleted: Option<Timestamp>,
}

fn key_of(node: &Node) -> NodeKey {
    NodeKey {
        workers_last: !node.is_control_plane(),
        name: NaturalName(node.name.clone()),
    }
}

impl Nodes {
    /// Inserts or replaces; returns the previous value.
    pub fn upsert(&mut self, node: Node) -> Option<Node> {
        let key = key_of(&node);
        self.deleted.remove(&key);
        let old = self.remove(&node.name);
        self.keys.insert(node.name.clone(), key.clone());
        self.ordered.insert(key, node);
        old
    }

    pub fn remove(&mut self, name: &str) -> Option<Node> {
        let key = self.keys.remove(name)?;
        self.ordered.remove(&key)
    }

    /// Removes the node and keeps it listed as deleted at `at`. False if it was unknown.
    pub fn delete(&mut self, name: &str, at: Timestamp) -> bool {
        let Some(node) = self.remove(name) else {
            return false;
        };
        self.deleted.insert(key_of(&node), (node, at));
        true
    }

    /// The nodes seen deleted and not registered again, in display order.
    pub fn deleted(&self) -> impl Iterator<Item = (&Node, Timestamp)> {
        self.deleted.values().map(|(n, at)| (n, *at))
    }

    /// The node list's rows whose name contains `filter` (case-insensitive): the nodes
    /// and those seen deleted, each in its place in display order.
    pub fn listed<'a>(&'a self, filter: &'a str) -> impl Iterator<Item = Listed<'a>> + 'a {
        let needle = filter.to_lowercase();
        let mut live = self.ordered.iter().peekable();
        let mut gone = self.deleted.iter().peekable();
        std::iter::from_fn(move || {
            let take_gone = match (live.peek(), gone.peek()) {
                (None, None) => return None,
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some((a, _)), Some((b, _))) => b < a,
            };
            Some(if take_gone {
                let (_, (node, at)) = gone.next()?;
                Listed {
                    node,
                    deleted: Some(*at),
                }
            } else {
                let (_, node) = live.next()?;
                Listed {
                    node,
                    deleted: None,
                }
            })
        })
        .filter(move |l| needle.is_empty() || l.node.name.to_lowercase().contains(&needle))
    }

    pub fn get(&self, name: &str) -> Option<&Node> {
        self.ordered.get(self.keys.get(name)?)
    }

    pub fn len(&self) -> usize {
        self.ordered.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ordered.is_empty()
    }

    /// In display order.
    pub fn iter(&self) -> impl Iterator<Item = &Node> {
        self.ordered.values()
    }

    /// Nodes whose name contains `filter` (case-insensitive), in display order.
    pub fn matching<'a>(&'a self, filter: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        let needle = filter.to_lowercase();
        self.iter()
            .filter(move |n| needle.is_empty() || n.name.to_lowercase().contains(&needle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_puts_numbers_by_value() {
        let mut v = vec!["worker-10", "worker-2", "worker-1", "cp-1", "worker-02"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            ["cp-1", "worker-1", "worker-2", "worker-02", "worker-10"]
        );
    }

    #[test]
    fn control_planes_come_first_and_upsert_replaces() {
        let node = |name: &str, cp: bool| Node {
            name: name.into(),
            roles: if cp {
                vec!["control-plane".into()]
            } else {
                vec![]
            },
            ready: Readiness::Ready,
            ready_since: None,
            created: None,
            kubelet_version: "v1.33.2".into(),
            internal_ip: None,
            hostname: None,
            taints: vec![],
            last_heartbeat: None,
        };
        let mut nodes = Nodes::default();
        nodes.upsert(node("a-worker", false));
        nodes.upsert(node("z-master", true));
        let mut changed = node("a-worker", false);
        changed.ready = Readiness::NotReady;
        assert!(nodes.upsert(changed).is_some());
        let names: Vec<_> = nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["z-master", "a-worker"]);
        assert_eq!(nodes.get("a-worker").unwrap().ready, Readiness::NotReady);
        assert_eq!(nodes.len(), 2);

        // Deleted: not a node any more, still listed (in its place) until it registers.
        let at = Timestamp::UNIX_EPOCH;
        assert!(nodes.delete("z-master", at));
        assert_eq!((nodes.len(), nodes.get("z-master")), (1, None));
        let listed: Vec<_> = nodes
            .listed("")
            .map(|l| (l.node.name.as_str(), l.deleted.is_some()))
            .collect();
        assert_eq!(listed, [("z-master", true), ("a-worker", false)]);
        assert_eq!(nodes.listed("z-m").count(), 1);
        nodes.upsert(node("z-master", true));
        assert_eq!(nodes.deleted().count(), 0);
        assert_eq!(nodes.listed("").count(), 2);
    }
}
