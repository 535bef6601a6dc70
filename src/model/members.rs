//! Whether an etcd member is a master's, a join in progress, or left behind.
//!
//! kubeadm names each stacked etcd member after its node. A member added by a join is
//! unstarted (no name) until its etcd starts, and with `ControlPlaneKubeletLocalMode`
//! kubeadm joins etcd (learner, then promoted) before the kubelet bootstraps and registers
//! the Node: a member with no Node is then the normal state of a control-plane join, and
//! telling a student to `etcdctl member remove` it breaks the join. (In kubeadm's default
//! order the kubelet-start phase waits for the TLS bootstrap before the etcd join.) A member is stale only when its Node is gone
//! (hatui saw the Node, then saw it deleted) or it stays without a Node, or unstarted,
//! past the join's time.

use std::collections::HashMap;

use jiff::Timestamp;

use super::{ClusterState, EtcdMember, EtcdStatus};

/// How long a join may run before a member with no Node means it failed. With
/// `ControlPlaneKubeletLocalMode` kubeadm joins etcd first, then (`kubelet-wait-bootstrap`)
/// waits up to `timeouts.kubeletHealthCheck` (4 min) for the kubelet and up to
/// `timeouts.tlsBootstrap` (5 min) for its TLS bootstrap, after which the Node registers
/// (kubeadm `cmd/phases/join/kubelet.go`, v1beta4 defaults): 10 min covers both.
pub const JOIN_TIMEOUT_S: i64 = 600;

/// What hatui saw of one member (by id) since it started watching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sighting {
    pub first_seen: Timestamp,
    /// Already there in the first membership hatui saw: it may be older than hatui.
    pub at_start: bool,
    /// A Node of its name existed while the member did.
    pub had_node: bool,
}

/// Members by id, as seen.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sightings(HashMap<u64, Sighting>);

/// A member's standing against the Nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Its Node is registered, or no Node is known at all (no Kubernetes access yet).
    HasNode,
    /// Added while hatui watched, no Node yet, within the join's time: a join in progress.
    Joining { for_s: i64 },
    /// No Node, already there when hatui started, and hatui has not watched for a join's
    /// time: a join in progress or one left behind; hatui cannot tell yet.
    NoNodeYet,
    /// Its Node was there and was deleted: what a removed master leaves behind.
    NodeGone,
    /// Still no Node (or never started) after the join's time: a join that failed.
    NeverJoined { for_s: i64 },
}

impl Standing {
    pub fn stale(self) -> bool {
        matches!(self, Self::NodeGone | Self::NeverJoined { .. })
    }
}

impl Sightings {
    /// Records the members of `status` (members by URL only, id 0, are nobody yet), and
    /// forgets removed ones.
    pub(crate) fn saw(
        &mut self,
        status: &EtcdStatus,
        has_node: impl Fn(&str) -> bool,
        now: Timestamp,
    ) {
        let at_start = self.0.is_empty();
        let ids: Vec<u64> = status.members.iter().map(|m| m.id).collect();
        if !status.nobody_answered() {
            self.0.retain(|id, _| ids.contains(id));
        }
        for m in status.members.iter().filter(|m| m.id != 0) {
            let s = self.0.entry(m.id).or_insert(Sighting {
                first_seen: now,
                at_start,
                had_node: false,
            });
            s.had_node |= !m.name.is_empty() && has_node(&m.name);
        }
    }

    /// A Node named `node` exists: the members of that name had one.
    pub(crate) fn node_seen(&mut self, status: &EtcdStatus, node: &str) {
        for m in status.members.iter().filter(|m| m.name == node) {
            if let Some(s) = self.0.get_mut(&m.id) {
                s.had_node = true;
            }
        }
    }

    pub(crate) fn get(&self, id: u64) -> Option<&Sighting> {
        self.0.get(&id)
    }
}

impl ClusterState {
    /// Whether `m` is a master's member, a join in progress, or left behind.
    pub fn member_standing(&self, m: &EtcdMember) -> Standing {
        let named_node = !m.name.is_empty() && self.nodes.get(&m.name).is_some();
        if self.nodes.is_empty() || named_node || m.id == 0 {
            return Standing::HasNode;
        }
        // Not seen through `apply` (a hand-built state): as if seen now.
        let seen = self
            .member_sightings
            .get(m.id)
            .copied()
            .unwrap_or(Sighting {
                first_seen: self.now,
                at_start: false,
                had_node: false,
            });
        if seen.had_node {
            return Standing::NodeGone;
        }
        let for_s = (self.now.as_second() - seen.first_seen.as_second()).max(0);
        match (for_s > JOIN_TIMEOUT_S, seen.at_start) {
            (true, _) => Standing::NeverJoined { for_s },
            (false, true) => Standing::NoNodeYet,
            (false, false) => Standing::Joining { for_s },
        }
    }

    /// What to say of members left behind, and of those hatui cannot place yet.
    pub(crate) fn member_warnings(&self, out: &mut Vec<String>) {
        if self.etcd.nobody_answered() {
            return;
        }
        for m in &self.etcd.members {
            let (id, label) = (m.id, m.label());
            let remove = format!("`etcdctl member remove {id:x}`");
            let text = match self.member_standing(m) {
                Standing::HasNode | Standing::Joining { .. } => continue,
                Standing::NoNodeYet => format!(
                    "member {label} ({id:x}) has no node: a join in progress, or what a removed \
                     master left behind; only if no join is running, remove it with {remove}"
                ),
                Standing::NodeGone => format!(
                    "stale member {label} ({id:x}): its node was deleted; remove it with \
                     {remove} before that master rejoins"
                ),
                Standing::NeverJoined { for_s } if m.name.is_empty() => format!(
                    "stale member {label}: added and never started in {}m (a failed join); \
                     remove it with {remove} before joining again",
                    for_s / 60
                ),
                Standing::NeverJoined { for_s } => format!(
                    "stale member {label} ({id:x}): no node of that name after {}m (a failed \
                     join); remove it with {remove} before joining again",
                    for_s / 60
                ),
            };
            out.push(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClusterEvent, Node, SourceKind};

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_000_000 + s).unwrap()
    }

    fn member(id: u64, name: &str, learner: bool) -> EtcdMember {
        EtcdMember {
            id,
            name: name.into(),
            is_learner: learner,
            reachable: !name.is_empty(),
            ..EtcdMember::default()
        }
    }

    fn etcd(members: Vec<EtcdMember>) -> ClusterEvent {
        ClusterEvent::Etcd(EtcdStatus {
            leader: Some(members[0].id),
            members,
            ..EtcdStatus::default()
        })
    }

    /// cp-1 alone, watched since t(0).
    fn one_master() -> ClusterState {
        let mut c = ClusterState::new(SourceKind::Lab, "lb:6443", t(0));
        c.apply(ClusterEvent::NodeUpsert(Node::ready_master("cp-1")));
        c.apply(etcd(vec![member(0xa1, "cp-1", false)]));
        c
    }

    fn at(c: &mut ClusterState, s: i64) {
        c.apply(ClusterEvent::Clock(t(s)));
    }

    fn stale(c: &ClusterState) -> Vec<String> {
        let ws = c.etcd_warnings();
        ws.into_iter().filter(|w| w.contains("remove")).collect()
    }

    #[test]
    fn a_joining_learner_and_its_promoted_member_are_not_stale_until_the_join_s_time() {
        let mut c = one_master();
        at(&mut c, 60);
        // `member add --learner`: unstarted (no name), then started, then promoted.
        c.apply(etcd(vec![
            member(0xa1, "cp-1", false),
            member(0xb2, "", true),
        ]));
        at(&mut c, 70);
        c.apply(etcd(vec![
            member(0xa1, "cp-1", false),
            member(0xb2, "cp-2", true),
        ]));
        let learner = c.etcd.members[1].clone();
        assert_eq!(c.member_standing(&learner), Standing::Joining { for_s: 10 });
        assert_eq!(stale(&c), Vec::<String>::new());
        at(&mut c, 100);
        c.apply(etcd(vec![
            member(0xa1, "cp-1", false),
            member(0xb2, "cp-2", false),
        ]));
        assert_eq!(
            stale(&c),
            Vec::<String>::new(),
            "promoted, Node not yet there"
        );
        // Its Node registers: a master's member, for good.
        c.apply(ClusterEvent::NodeUpsert(Node::ready_master("cp-2")));
        at(&mut c, 60 + JOIN_TIMEOUT_S + 100);
        assert_eq!(c.member_standing(&c.etcd.members[1]), Standing::HasNode);
        assert_eq!(stale(&c), Vec::<String>::new());
    }

    #[test]
    fn a_member_whose_node_was_deleted_is_stale_at_once() {
        let mut c = one_master();
        c.apply(ClusterEvent::NodeUpsert(Node::ready_master("cp-3")));
        c.apply(etcd(vec![
            member(0xa1, "cp-1", false),
            member(0xc3, "cp-3", false),
        ]));
        assert_eq!(stale(&c), Vec::<String>::new());
        c.apply(ClusterEvent::NodeRemoved("cp-3".into()));
        let ws = stale(&c);
        assert_eq!(ws.len(), 1, "{ws:?}");
        assert!(
            ws[0].starts_with("stale member cp-3 (c3): its node was deleted"),
            "{ws:?}"
        );
        assert!(ws[0].contains("`etcdctl member remove c3`"), "{ws:?}");
        // The master rejoins under the same name: a new member, a join in progress.
        c.apply(etcd(vec![
            member(0xa1, "cp-1", false),
            member(0xd4, "cp-3", true),
        ]));
        assert_eq!(stale(&c), Vec::<String>::new());
    }

    #[test]
    fn a_join_that_never_registers_or_never_starts_goes_stale_after_the_join_s_time() {
        let mut c = one_master();
        at(&mut c, 10);
        let three = vec![
            member(0xa1, "cp-1", false),
            member(0xb2, "cp-2", true),
            member(0xe5, "", false),
        ];
        c.apply(etcd(three));
        at(&mut c, 10 + JOIN_TIMEOUT_S);
        assert_eq!(stale(&c), Vec::<String>::new(), "the join may still finish");
        at(&mut c, 10 + JOIN_TIMEOUT_S + 60);
        let ws = stale(&c);
        assert_eq!(ws.len(), 2, "{ws:?}");
        assert!(ws[0].starts_with("stale member cp-2 (b2): no node of that name after 11m"));
        assert!(ws[1].starts_with("stale member e5: added and never started in 11m"));
    }

    #[test]
    fn a_member_without_a_node_when_hatui_starts_is_not_called_stale_at_once() {
        let mut c = ClusterState::new(SourceKind::Live, "lb:6443", t(0));
        c.apply(ClusterEvent::NodeUpsert(Node::ready_master("cp-1")));
        c.apply(etcd(vec![
            member(0xa1, "cp-1", false),
            member(0xc3, "cp-3", false),
        ]));
        let ws = stale(&c);
        assert_eq!(ws.len(), 1, "{ws:?}");
        assert!(ws[0].contains("a join in progress, or what a removed master left behind"));
        assert!(ws[0].contains("only if no join is running"), "{ws:?}");
        at(&mut c, JOIN_TIMEOUT_S + 1);
        assert!(
            stale(&c)[0].starts_with("stale member cp-3"),
            "{:?}",
            stale(&c)
        );
    }
}
