//! etcd members as etcd itself reports them, and the quorum arithmetic.

use std::collections::VecDeque;

use jiff::Timestamp;

use super::Severity;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct EtcdMember {
    pub id: u64,
    pub name: String,
    pub client_urls: Vec<String>,
    pub peer_urls: Vec<String>,
    pub is_learner: bool,
    pub reachable: bool,
    /// Why the member could not be asked, when it could not.
    pub error: Option<String>,
    pub is_leader: bool,
    pub raft_term: u64,
    pub raft_index: u64,
    pub db_size_bytes: u64,
    pub version: String,
    /// `NOSPACE`, `CORRUPT`.
    pub alarms: Vec<String>,
}

/// Leader moves as hatui saw them, so the timeline can say "cp-1 → cp-2 after 1.3 s
/// without a leader" even though etcd reports the gap as a separate state.
#[derive(Debug, Clone, Default)]
pub struct LeaderHistory {
    /// The last leader seen, kept while there is none.
    pub last: Option<String>,
    /// When the leader went missing, while it is.
    pub lost_at: Option<Timestamp>,
    /// When leadership moved, newest last.
    pub moves: VecDeque<Timestamp>,
}

const MOVES_KEPT: usize = 64;

impl LeaderHistory {
    /// Records the live leader (name, term) now seen; returns the timeline entry it
    /// deserves. A leader that followers still name but that no longer answers counts as
    /// gone: that is when the outage starts, not when the followers give up on it.
    pub fn observe(
        &mut self,
        leader: Option<(&str, u64)>,
        now: Timestamp,
    ) -> Option<(Severity, String)> {
        let first = self.last.is_none() && self.lost_at.is_none();
        let note = match (self.last.as_deref(), leader) {
            (Some(was), Some((is, _))) if was == is && self.lost_at.is_none() => None,
            (Some(was), None) if self.lost_at.is_none() => {
                self.lost_at = Some(now);
                Some((Severity::Bad, format!("etcd has no leader (was {was})")))
            }
            (_, None) => None,
            (was, Some((is, term))) => {
                let gap = self.lost_at.take().map(|t| {
                    let ms = now.duration_since(t).as_millis();
                    format!(", {:.1}s without a leader", ms as f64 / 1000.0)
                });
                let gap = gap.unwrap_or_default();
                let text = match was {
                    Some(was) if was != is => {
                        format!("etcd leader {was} → {is} (term {term}{gap})")
                    }
                    Some(_) => format!("etcd leader {is} again (term {term}{gap})"),
                    None => format!("etcd leader elected: {is} (term {term}{gap})"),
                };
                if was.is_some_and(|was| was != is) {
                    if self.moves.len() == MOVES_KEPT {
                        self.moves.pop_front();
                    }
                    self.moves.push_back(now);
                }
                self.last = Some(is.to_string());
                Some((Severity::Warn, text))
            }
        };
        if first { None } else { note }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct EtcdStatus {
    pub members: Vec<EtcdMember>,
    /// Member id of the leader, if any member reports one.
    pub leader: Option<u64>,
}

/// `members` voting members need `needed` = floor(n/2)+1 of them healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quorum {
    pub members: usize,
    pub healthy: usize,
    pub needed: usize,
    /// How many more voting members may fail before quorum is lost (0 once lost).
    pub tolerates: usize,
}

impl Quorum {
    pub fn of(members: usize, healthy: usize) -> Self {
        let needed = members / 2 + 1;
        Self {
            members,
            healthy,
            needed,
            tolerates: healthy.saturating_sub(needed),
        }
    }

    pub fn has_quorum(&self) -> bool {
        self.members > 0 && self.healthy >= self.needed
    }
}

impl EtcdStatus {
    pub fn leader_member(&self) -> Option<&EtcdMember> {
        let id = self.leader?;
        self.members.iter().find(|m| m.id == id)
    }

    /// Learners do not vote, so they count for neither side of the quorum.
    pub fn quorum(&self) -> Quorum {
        let voters = self.members.iter().filter(|m| !m.is_learner);
        let (members, healthy) =
            voters.fold((0, 0), |(n, h), m| (n + 1, h + usize::from(m.reachable)));
        Quorum::of(members, healthy)
    }

    /// What an expert would warn about in this membership, worst first.
    pub fn warnings(&self) -> Vec<String> {
        let q = self.quorum();
        let mut out = Vec::new();
        if q.members > 0 && !q.has_quorum() {
            out.push(format!(
                "quorum lost: {}/{} healthy, {} needed; the API cannot write",
                q.healthy, q.members, q.needed
            ));
        } else if q.has_quorum() && self.leader.is_none() {
            out.push("no leader yet: election in progress".to_string());
        }
        match q.members {
            2 => out.push("2 members tolerate 0 failures: worse than 1".to_string()),
            n if n > 2 && n % 2 == 0 => out.push(format!(
                "even member count: {n} tolerate {} failure(s), like {}",
                (n - 1) / 2,
                n - 1
            )),
            1 => out.push("1 member: no fault tolerance".to_string()),
            _ => {}
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_arithmetic_matches_etcd() {
        assert_eq!(Quorum::of(3, 3).tolerates, 1);
        assert_eq!(Quorum::of(3, 2).tolerates, 0);
        assert!(!Quorum::of(3, 1).has_quorum());
        assert_eq!(Quorum::of(5, 5).tolerates, 2);
        assert_eq!(Quorum::of(4, 4).tolerates, 1);
        assert_eq!(Quorum::of(2, 2).tolerates, 0);
        assert_eq!(Quorum::of(1, 1).needed, 1);
    }

    #[test]
    fn a_leaderless_gap_still_reads_as_a_move() {
        let t = |ms: i64| Timestamp::from_millisecond(ms).unwrap();
        let mut h = LeaderHistory::default();
        assert_eq!(
            h.observe(Some(("cp-1", 2)), t(0)),
            None,
            "the first leader is not news"
        );
        assert!(
            h.observe(None, t(1000))
                .unwrap()
                .1
                .contains("no leader (was cp-1)")
        );
        assert_eq!(h.observe(None, t(1500)), None);
        let (_, text) = h.observe(Some(("cp-2", 3)), t(2300)).unwrap();
        assert_eq!(
            text,
            "etcd leader cp-1 → cp-2 (term 3, 1.3s without a leader)"
        );
        assert_eq!(h.moves.len(), 1);
    }

    #[test]
    fn learners_do_not_vote() {
        let m = |id, learner, reachable| EtcdMember {
            id,
            is_learner: learner,
            reachable,
            ..Default::default()
        };
        let s = EtcdStatus {
            members: vec![m(1, false, true), m(2, false, true), m(3, true, true)],
            leader: Some(1),
        };
        assert_eq!(s.quorum(), Quorum::of(2, 2));
        assert!(s.warnings().iter().any(|w| w.contains("worse than 1")));
    }
}
