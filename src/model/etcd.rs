//! etcd members as etcd itself reports them, and the quorum arithmetic.

use std::time::Duration;

use jiff::Timestamp;

use super::Severity;

/// etcd's default backend quota (`--quota-backend-bytes` unset): 2 GiB.
pub const DEFAULT_QUOTA_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// A learner is promotable once its log is within 90% of the leader's (etcd's rule).
const LEARNER_READY_PERCENT: u64 = 90;
/// This many leader changes inside the window a source keeps means an unstable cluster.
pub const FLAPPING_CHANGES: usize = 3;

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
    /// It answers Status but names no leader: a partitioned minority (or an election).
    pub no_leader: bool,
    pub raft_term: u64,
    pub raft_index: u64,
    pub db_size_bytes: u64,
    pub version: String,
    /// `NOSPACE`, `CORRUPT`.
    pub alarms: Vec<String>,
    pub applied_index: u64,
    /// Bytes of the db file actually in use (the rest is reclaimable by defrag).
    pub db_size_in_use_bytes: u64,
    /// The member's backend quota when it reports one (etcd >= 3.6); 0 = the 2 GiB default.
    pub db_quota_bytes: u64,
    /// Round trip of the last status request.
    pub rtt: Option<Duration>,
    /// Errors the member itself reports in its status (not ours reaching it).
    pub errors: Vec<String>,
    /// The endpoint this member was polled through, when one matches it.
    pub endpoint: Option<String>,
}

/// Leader moves as hatui saw them, so the timeline can say "cp-1 → cp-2 after 1.3 s
/// without a leader" even though etcd reports the gap as a separate state.
#[derive(Debug, Clone, Default)]
pub struct LeaderHistory {
    /// The last leader seen, kept while there is none.
    pub last: Option<String>,
    /// When the leader went missing, while it is.
    pub lost_at: Option<Timestamp>,
}

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
    /// When the source saw a new leader, over a recent window (the source prunes it).
    pub leader_changes: Vec<Timestamp>,
    /// How etcd was reached when that is worth saying (kube exec: slow, last resort).
    pub via: Option<String>,
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
    /// The member the answering members name as leader, whether or not it answers itself
    /// (the drill's target choice wants it; what to show is [`Self::live_leader`]).
    pub fn leader_member(&self) -> Option<&EtcdMember> {
        let id = self.leader?;
        self.members.iter().find(|m| m.id == id)
    }

    /// The leader, as the pane, the timeline and `status` all say it: the member the
    /// answering members name, when it answers itself. After an unclean leader death its
    /// followers keep naming it until their election timeout fires and they start an
    /// election: from the moment it stops answering there is no leader.
    /// A leader that was not asked (no endpoint of its own among those polled) is taken
    /// at its followers' word: nothing says it is gone.
    pub fn live_leader(&self) -> Option<&EtcdMember> {
        self.leader_member()
            .filter(|m| m.reachable || (m.endpoint.is_none() && !m.client_urls.is_empty()))
    }

    /// Learners do not vote, so they count for neither side of the quorum. A member that
    /// answers but names no leader while the cluster has one is cut off from the majority
    /// (a partitioned minority): it answers Status locally but serves nothing, so it does
    /// not count as healthy. Without any leader, an election is under way.
    pub fn quorum(&self) -> Quorum {
        let voters = self.members.iter().filter(|m| !m.is_learner);
        let led = self.live_leader().is_some();
        let healthy = |m: &EtcdMember| m.reachable && !(m.no_leader && led);
        let (members, healthy) =
            voters.fold((0, 0), |(n, h), m| (n + 1, h + usize::from(healthy(m))));
        Quorum::of(members, healthy)
    }

    /// Whether a count of healthy members means anything: not when no member was ever
    /// seen (etcd not configured) nor when none has answered (the way in may be what fails).
    pub fn quorum_known(&self) -> Option<Quorum> {
        (!self.members.is_empty() && !self.nobody_answered()).then(|| self.quorum())
    }

    /// Members are only the endpoints asked and none has ever said who it is: whether
    /// etcd has quorum is unknown, not lost (the way in may be what fails).
    pub fn nobody_answered(&self) -> bool {
        !self.members.is_empty() && self.members.iter().all(|m| m.id == 0)
    }

    /// What an expert would warn about in this membership, worst first.
    pub fn warnings(&self) -> Vec<String> {
        if self.nobody_answered() {
            return Vec::new();
        }
        let q = self.quorum();
        let mut out = Vec::new();
        if q.members > 0 && !q.has_quorum() {
            out.push(format!(
                "quorum lost: {}/{} healthy, {} needed; the API cannot write",
                q.healthy, q.members, q.needed
            ));
        } else if q.has_quorum() && self.live_leader().is_none() {
            out.push("no leader yet: election in progress".to_string());
        }
        self.alarm_warnings(&mut out);
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
        if self.leader_changes.len() >= FLAPPING_CHANGES {
            out.push(format!(
                "leader flapping: {} leader changes recently; check disk fsync latency, \
                 network between masters and CPU starvation",
                self.leader_changes.len()
            ));
        }
        self.learner_warnings(&mut out);
        self.quota_warnings(&mut out);
        for m in &self.members {
            if q.has_quorum() && !m.reachable {
                let why = m.error.as_deref().unwrap_or("unreachable");
                out.push(format!("member {} down: {why}", m.label()));
            } else if m.reachable && m.no_leader && self.live_leader().is_some() {
                out.push(format!(
                    "member {} answers but has no leader: cut off from the majority \
                     (check 2379/2380 between the masters)",
                    m.label()
                ));
            }
            for e in &m.errors {
                out.push(format!("member {} reports: {e}", m.label()));
            }
        }
        out
    }

    fn alarm_warnings(&self, out: &mut Vec<String>) {
        for m in &self.members {
            for a in &m.alarms {
                let why = match a.as_str() {
                    "NOSPACE" => {
                        "the cluster takes no writes until you compact, defragment and \
                         `etcdctl alarm disarm`"
                    }
                    "CORRUPT" => "its data differs from the others: restore it from a snapshot",
                    _ => "see `etcdctl alarm list`",
                };
                out.push(format!("alarm {a} on {}: {why}", m.label()));
            }
        }
    }

    /// etcd refuses to promote a learner until it has 90% of the leader's log.
    fn learner_warnings(&self, out: &mut Vec<String>) {
        let leader_index = self.live_leader().map_or(0, |l| l.raft_index);
        for m in self.members.iter().filter(|m| m.is_learner) {
            if !m.reachable {
                out.push(format!(
                    "learner {} unreachable: it cannot catch up",
                    m.label()
                ));
            } else if leader_index > 0 && m.raft_index * 100 < leader_index * LEARNER_READY_PERCENT
            {
                out.push(format!(
                    "learner {} is behind: raft index {} of the leader's {} \
                     (promotable at {LEARNER_READY_PERCENT}%)",
                    m.label(),
                    m.raft_index,
                    leader_index
                ));
            }
        }
    }

    fn quota_warnings(&self, out: &mut Vec<String>) {
        for m in self.members.iter().filter(|m| m.reachable) {
            let quota = m.quota_bytes();
            // At 80% there is still time to compact and defragment before NOSPACE.
            if m.db_size_bytes * 5 >= quota * 4 {
                out.push(format!(
                    "db of {} near its quota: {} MiB of {} MiB ({} MiB in use; defragment \
                     reclaims the rest)",
                    m.label(),
                    m.db_size_bytes >> 20,
                    quota >> 20,
                    m.db_size_in_use_bytes >> 20
                ));
            }
        }
    }
}

impl EtcdMember {
    /// The name, or the hex id for a member that was added but never started.
    pub fn label(&self) -> String {
        if self.name.is_empty() {
            format!("{:x}", self.id)
        } else {
            self.name.clone()
        }
    }

    pub fn quota_bytes(&self) -> u64 {
        if self.db_quota_bytes == 0 {
            DEFAULT_QUOTA_BYTES
        } else {
            self.db_quota_bytes
        }
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
            ..Default::default()
        };
        assert_eq!(s.quorum(), Quorum::of(2, 2));
        assert!(s.warnings().iter().any(|w| w.contains("worse than 1")));
    }

    fn three() -> EtcdStatus {
        let m = |id, name: &str| EtcdMember {
            id,
            name: name.into(),
            reachable: true,
            raft_index: 1000,
            ..Default::default()
        };
        EtcdStatus {
            members: vec![m(0xa1, "cp-1"), m(0xb2, "cp-2"), m(0xc3, "cp-3")],
            leader: Some(0xa1),
            ..Default::default()
        }
    }

    /// cp-1 led and died; cp-2 still names it, cp-3's election timeout fired (it answers
    /// with no leader). That is an election: no leader, and cp-3 is not cut off.
    #[test]
    fn a_dead_leader_still_named_by_a_follower_is_no_leader() {
        let mut s = three();
        (s.members[0].reachable, s.members[0].raft_term) = (false, 0);
        s.members[2].no_leader = true;
        assert_eq!(s.leader_member().map(|m| m.id), Some(0xa1));
        assert_eq!(s.live_leader(), None);
        assert_eq!(s.quorum(), Quorum::of(3, 2));
        let ws = s.warnings();
        assert!(has(&ws, "no leader yet: election in progress"), "{ws:?}");
        assert!(!has(&ws, "cut off from the majority"), "{ws:?}");
        s.members[0].reachable = true;
        assert_eq!(s.live_leader().map(|m| m.name.as_str()), Some("cp-1"));
    }

    #[test]
    fn endpoints_that_never_answered_are_not_a_lost_quorum_nor_stale_members() {
        let asked = |name: &str| EtcdMember {
            name: name.into(),
            error: Some("pod kube-system/etcd-cp-1 not found".into()),
            ..Default::default()
        };
        let s = EtcdStatus {
            members: vec![asked("etcd-cp-1"), asked("etcd-cp-2"), asked("etcd-cp-3")],
            ..Default::default()
        };
        assert!(s.nobody_answered());
        assert!(s.warnings().is_empty());
        // Once one has answered, the others being down is news.
        let mut one = s.clone();
        one.members[0].id = 0xa1;
        one.members[0].reachable = true;
        assert!(!one.nobody_answered());
        assert!(has(&one.warnings(), "quorum lost"));
    }

    fn has(ws: &[String], needle: &str) -> bool {
        ws.iter().any(|w| w.contains(needle))
    }

    #[test]
    fn a_healthy_cluster_has_no_warnings() {
        assert_eq!(three().warnings(), Vec::<String>::new());
    }

    #[test]
    fn lagging_learner_flapping_quota_and_alarms() {
        let mut s = three();
        s.members.push(EtcdMember {
            id: 0xd4,
            name: "cp-4".into(),
            is_learner: true,
            reachable: true,
            raft_index: 800,
            ..Default::default()
        });
        s.members[1].db_size_bytes = DEFAULT_QUOTA_BYTES / 10 * 9;
        s.members[2].alarms = vec!["NOSPACE".into()];
        s.leader_changes = vec![Timestamp::UNIX_EPOCH; FLAPPING_CHANGES];
        let ws = s.warnings();
        assert!(has(
            &ws,
            "learner cp-4 is behind: raft index 800 of the leader's 1000"
        ));
        assert!(has(&ws, "db of cp-2 near its quota"), "{ws:?}");
        assert!(has(&ws, "alarm NOSPACE on cp-3"), "{ws:?}");
        assert!(has(&ws, "leader flapping"), "{ws:?}");
        s.members[3].raft_index = 950;
        assert!(!has(&s.warnings(), "learner"));
    }
}
