//! Whether etcd's quorum is known from here, and what it is. A count of healthy members
//! is only evidence when members answered: silence from every member, or members lost from
//! here while every apiserver still reads its etcd, is a broken path, not a lost quorum.

use super::{ClusterState, Quorum};

/// Said instead of "quorum lost" when the apiservers prove etcd serves.
pub const PATH_BROKEN: &str = "etcd members unreachable from here, but every apiserver \
reports [+]etcd ok: the path from here to etcd is broken, not the quorum";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuorumView {
    /// No member was ever seen (etcd not configured) or none has answered.
    Unknown,
    /// Too few members answer from here, but every apiserver's `/readyz?verbose` says
    /// `[+]etcd ok`: the quorum is not what fails.
    PathBroken,
    Known(Quorum),
}

impl QuorumView {
    /// The quorum, when the members' answers tell it.
    pub fn known(self) -> Option<Quorum> {
        match self {
            Self::Known(q) => Some(q),
            _ => None,
        }
    }

    pub fn has_quorum(self) -> bool {
        self.known().is_some_and(|q| q.has_quorum())
    }

    pub fn lost(self) -> bool {
        self.known().is_some_and(|q| !q.has_quorum())
    }
}

impl ClusterState {
    pub fn etcd_quorum(&self) -> QuorumView {
        let Some(q) = self.etcd.quorum_known() else {
            return QuorumView::Unknown;
        };
        let unreachable = self.etcd.members.iter().any(|m| !m.reachable);
        if !q.has_quorum() && unreachable && self.apiservers_read_etcd() {
            QuorumView::PathBroken
        } else {
            QuorumView::Known(q)
        }
    }

    /// Every master's apiserver (at least one known) reports `[+]etcd ok`.
    pub fn apiservers_read_etcd(&self) -> bool {
        !self.apiservers.is_empty() && self.apiservers.values().all(|a| a.etcd_ok == Some(true))
    }

    /// etcd's warnings, with stale members (see [`Self::member_standing`]) once nodes are
    /// known, and the broken path said instead of a lost quorum when the apiservers
    /// disprove it.
    pub fn etcd_warnings(&self) -> Vec<String> {
        let mut out = self.etcd.warnings();
        self.member_warnings(&mut out);
        let silent = self.etcd.nobody_answered() && self.apiservers_read_etcd();
        if self.etcd_quorum() == QuorumView::PathBroken || silent {
            out.retain(|w| !w.starts_with("quorum lost"));
            out.insert(0, PATH_BROKEN.to_string());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ApiServerHealth, EtcdMember, EtcdStatus, SourceKind};
    use jiff::Timestamp;

    fn member(id: u64, reachable: bool) -> EtcdMember {
        EtcdMember {
            id,
            name: format!("cp-{id}"),
            reachable,
            error: (!reachable).then(|| "connection refused".into()),
            ..EtcdMember::default()
        }
    }

    fn api(node: &str, etcd_ok: Option<bool>) -> ApiServerHealth {
        ApiServerHealth {
            node: node.into(),
            address: format!("{node}:6443"),
            ready: etcd_ok == Some(true),
            detail: None,
            latency_ms: None,
            etcd_ok,
        }
    }

    fn state(members: Vec<EtcdMember>) -> ClusterState {
        let mut c = ClusterState::new(SourceKind::Live, "lb:6443", Timestamp::UNIX_EPOCH);
        c.etcd = EtcdStatus {
            leader: members.iter().find(|m| m.reachable).map(|m| m.id),
            members,
            ..EtcdStatus::default()
        };
        c
    }

    #[test]
    fn no_member_seen_or_answering_is_unknown_not_lost() {
        assert_eq!(state(vec![]).etcd_quorum(), QuorumView::Unknown);
        let asked = EtcdMember {
            name: "https://10.0.0.11:2379".into(),
            error: Some("connection refused".into()),
            ..EtcdMember::default()
        };
        let c = state(vec![asked.clone(), asked]);
        assert_eq!(c.etcd_quorum(), QuorumView::Unknown);
        assert!(!c.etcd_quorum().lost());
    }

    #[test]
    fn lost_from_here_while_every_apiserver_reads_etcd_is_a_broken_path() {
        let mut c = state(vec![member(1, true), member(2, false), member(3, false)]);
        assert!(c.etcd_quorum().lost(), "no apiserver evidence: lost");
        for n in ["cp-1", "cp-2", "cp-3"] {
            c.apiservers.insert(n.into(), api(n, Some(true)));
        }
        assert_eq!(c.etcd_quorum(), QuorumView::PathBroken);
        let ws = c.etcd_warnings();
        assert_eq!(ws[0], PATH_BROKEN);
        assert!(!ws.iter().any(|w| w.starts_with("quorum lost")), "{ws:?}");
        // One apiserver whose etcd check fails: the quorum may well be lost.
        c.apiservers.insert("cp-3".into(), api("cp-3", Some(false)));
        assert!(c.etcd_quorum().lost());
    }

    #[test]
    fn a_member_without_a_leader_is_not_healthy_while_others_have_one() {
        let mut minority = member(3, true);
        minority.no_leader = true;
        let c = state(vec![member(1, true), member(2, true), minority]);
        let q = c.etcd_quorum().known().unwrap();
        assert_eq!((q.healthy, q.tolerates), (2, 0));
        assert!(
            c.etcd_warnings()
                .iter()
                .any(|w| w.contains("member cp-3 answers but has no leader")),
            "{:?}",
            c.etcd_warnings()
        );
    }
}
