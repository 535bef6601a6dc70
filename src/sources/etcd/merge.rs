//! Many members' answers into one [`EtcdStatus`]: the membership from `member_list`,
//! each member's own status from the endpoint that reaches it, and the leader from the
//! member that knows the newest raft term.

use std::time::Duration;

use jiff::Timestamp;

use super::probe::{ListReport, ListedMember, StatusReport};
use hatui_model::{EtcdMember, EtcdStatus, FeedStatus};

struct Endpoint {
    url: String,
    /// The member URL this endpoint stands for, when it is not `url` (a tunnel end).
    member_url: Option<String>,
    /// Learned from the first answer and kept, so a dead endpoint still maps to its member.
    member_id: Option<u64>,
    status: Option<Result<StatusReport, String>>,
}

pub(crate) struct Merger {
    endpoints: Vec<Endpoint>,
    /// The last membership any member gave; kept when nobody answers any more.
    members: Vec<ListedMember>,
    alarms: Vec<(u64, String)>,
    /// (leader id, term) last seen, to notice elections.
    leader: Option<(u64, u64)>,
    leader_changes: Vec<Timestamp>,
    window: Duration,
    last_ok: Option<Timestamp>,
    /// How etcd is reached, when the pane should say so.
    via: Option<String>,
}

impl Merger {
    pub fn new(urls: &[String], window: Duration, via: Option<String>) -> Self {
        Self {
            endpoints: urls
                .iter()
                .map(|url| Endpoint {
                    url: url.clone(),
                    member_url: None,
                    member_id: None,
                    status: None,
                })
                .collect(),
            members: Vec::new(),
            alarms: Vec::new(),
            leader: None,
            leader_changes: Vec::new(),
            window,
            last_ok: None,
            via,
        }
    }

    /// Tells which member URL each endpoint stands for (see `PollerConfig::member_urls`).
    pub fn standing_for(mut self, member_urls: &[String]) -> Self {
        for (e, url) in self.endpoints.iter_mut().zip(member_urls) {
            e.member_url = Some(url.clone());
        }
        self
    }

    /// One more endpoint (a member the list named that no endpoint reached); its index.
    pub fn add_endpoint(&mut self, url: String) -> usize {
        self.endpoints.push(Endpoint {
            url,
            member_url: None,
            member_id: None,
            status: None,
        });
        self.endpoints.len() - 1
    }

    /// Listed members that no endpoint reaches.
    pub fn unpolled(&self) -> impl Iterator<Item = &ListedMember> {
        self.members
            .iter()
            .filter(|m| self.endpoint_of(m).is_none())
    }

    pub fn on_status(&mut self, i: usize, r: Result<StatusReport, String>, now: Timestamp) {
        if let Ok(s) = &r {
            self.endpoints[i].member_id = Some(s.member_id);
            self.last_ok = Some(now);
        }
        self.endpoints[i].status = Some(r);
    }

    pub fn on_list(&mut self, r: ListReport) {
        if !r.members.is_empty() {
            self.members = r.members;
        }
        if let Some(alarms) = r.alarms {
            self.alarms = alarms;
        }
    }

    /// Every endpoint has answered (or failed) once and the membership is known: a view
    /// sent before that shows members by URL and healthy counts still climbing.
    pub fn settled(&self) -> bool {
        !self.members.is_empty() && self.endpoints.iter().all(|e| e.status.is_some())
    }

    /// A reachable member that says it leads, the newest term first; else the leader
    /// according to the reachable member with the newest term: during an election the
    /// candidates are ahead of followers that still name the dead leader. (A partitioned
    /// minority without pre-vote also runs ahead in term, but the majority's leader answers.)
    fn current_leader(&self) -> Option<(u64, u64)> {
        let answers = || {
            self.endpoints
                .iter()
                .filter_map(|e| e.status.as_ref()?.as_ref().ok())
        };
        let leading = answers()
            .filter(|s| s.leader != 0 && s.leader == s.member_id)
            .max_by_key(|s| s.raft_term);
        if let Some(l) = leading {
            return Some((l.leader, l.raft_term));
        }
        let newest = answers().max_by_key(|s| s.raft_term)?;
        (newest.leader != 0).then_some((newest.leader, newest.raft_term))
    }

    pub fn status(&mut self, now: Timestamp) -> EtcdStatus {
        let leader = self.current_leader();
        if let Some(new) = leader {
            if self.leader.is_some_and(|old| old != new) {
                self.leader_changes.push(now);
            }
            self.leader = Some(new);
        }
        let window = i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX);
        self.leader_changes
            .retain(|t| now.duration_since(*t).as_millis() as i64 <= window);
        let leader_id = leader.map(|(id, _)| id);
        let members = if self.members.is_empty() {
            // Nobody has answered `member_list` yet: show the endpoints themselves.
            self.endpoints
                .iter()
                .map(|e| self.fill(placeholder(e), Some(e), leader_id))
                .collect()
        } else {
            self.members
                .iter()
                .map(|m| self.fill(listed(m), self.endpoint_of(m), leader_id))
                .collect()
        };
        EtcdStatus {
            members,
            leader: leader_id,
            leader_changes: self.leader_changes.clone(),
            via: self.via.clone(),
        }
    }

    pub fn feed(&self) -> FeedStatus {
        let answers: Vec<_> = self
            .endpoints
            .iter()
            .filter_map(|e| e.status.as_ref())
            .collect();
        let all_failed = !answers.is_empty()
            && answers.len() == self.endpoints.len()
            && answers.iter().all(|a| a.is_err());
        let error = all_failed.then(|| {
            let why: Vec<String> = self
                .endpoints
                .iter()
                .filter_map(|e| Some(format!("{}: {}", e.url, e.status.as_ref()?.as_ref().err()?)))
                .collect();
            format!("no etcd member answers ({})", why.join("; "))
        });
        FeedStatus {
            last_ok: self.last_ok,
            error,
            every: None,
        }
    }

    fn endpoint_of(&self, m: &ListedMember) -> Option<&Endpoint> {
        let by_id = self.endpoints.iter().find(|e| e.member_id == Some(m.id));
        // Before a member first answers, its endpoint is known by URL or, for kube exec, by
        // its pod: kubeadm names the member after its node and the pod `etcd-<node>`.
        let pod = format!("etcd-{}", m.name);
        by_id.or_else(|| {
            self.endpoints.iter().find(|e| {
                let reaches = |u: &String| {
                    same_url(u, &e.url) || e.member_url.as_ref().is_some_and(|m| same_url(u, m))
                };
                e.member_id.is_none() && (e.url == pod || m.client_urls.iter().any(reaches))
            })
        })
    }

    fn fill(&self, mut m: EtcdMember, e: Option<&Endpoint>, leader: Option<u64>) -> EtcdMember {
        m.is_leader = leader.is_some_and(|l| l == m.id && l != 0);
        m.alarms = self
            .alarms
            .iter()
            .filter(|(id, _)| *id == m.id)
            .map(|(_, a)| a.clone())
            .collect();
        let Some(e) = e else {
            if m.client_urls.is_empty() {
                m.error = Some("not started yet: added to the cluster, no client URL".into());
                return m;
            }
            m.error = Some(format!(
                "not polled: none of the etcd endpoints is this member's ({})",
                m.client_urls.join(", ")
            ));
            return m;
        };
        m.endpoint = Some(e.url.clone());
        match &e.status {
            None => m.error = Some("not asked yet".into()),
            Some(Err(err)) => m.error = Some(err.clone()),
            Some(Ok(s)) => {
                m.reachable = true;
                m.no_leader = s.leader == 0;
                m.raft_term = s.raft_term;
                m.raft_index = s.raft_index;
                m.applied_index = s.applied_index;
                m.db_size_bytes = s.db_size;
                m.db_size_in_use_bytes = s.db_size_in_use;
                m.db_quota_bytes = s.db_quota;
                m.version = s.version.clone();
                m.errors = s.errors.clone();
                m.rtt = s.rtt;
                m.is_learner |= s.is_learner;
            }
        }
        m
    }
}

fn listed(m: &ListedMember) -> EtcdMember {
    EtcdMember {
        id: m.id,
        name: m.name.clone(),
        client_urls: m.client_urls.clone(),
        peer_urls: m.peer_urls.clone(),
        is_learner: m.is_learner,
        ..Default::default()
    }
}

fn placeholder(e: &Endpoint) -> EtcdMember {
    EtcdMember {
        id: e.member_id.unwrap_or_default(),
        name: e.url.clone(),
        client_urls: vec![e.url.clone()],
        ..Default::default()
    }
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// What is worth a redraw: everything but the counters that move on every write.
pub(crate) fn significant(s: &EtcdStatus) -> EtcdStatus {
    let mut s = s.clone();
    for m in &mut s.members {
        m.raft_index = 0;
        m.applied_index = 0;
        m.db_size_bytes = 0;
        m.db_size_in_use_bytes = 0;
        m.rtt = None;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(id: u64, leader: u64, term: u64) -> StatusReport {
        StatusReport {
            member_id: id,
            leader,
            raft_term: term,
            raft_index: 10,
            applied_index: 10,
            db_size: 1,
            db_size_in_use: 1,
            db_quota: 0,
            version: "3.4.23".into(),
            errors: vec![],
            is_learner: false,
            rtt: Some(Duration::from_millis(1)),
        }
    }

    fn member(id: u64, port: u16) -> ListedMember {
        ListedMember {
            id,
            name: format!("m{id}"),
            peer_urls: vec![],
            client_urls: vec![format!("https://127.0.0.1:{port}")],
            is_learner: false,
        }
    }

    #[test]
    fn settled_once_every_endpoint_answered_or_failed_and_the_list_is_known() {
        let urls: Vec<String> = (1..=2).map(|p| format!("https://127.0.0.1:{p}")).collect();
        let mut m = Merger::new(&urls, Duration::from_secs(300), None);
        let t = Timestamp::UNIX_EPOCH;
        m.on_status(0, Ok(report(1, 1, 2)), t);
        m.on_list(ListReport {
            members: (1..=2).map(|i| member(i, i as u16)).collect(),
            alarms: None,
        });
        assert!(!m.settled(), "endpoint 2 has not answered");
        m.on_status(1, Err("connection refused".into()), t);
        assert!(m.settled());
        let fresh = Merger::new(&urls, Duration::from_secs(300), None);
        assert!(!fresh.settled());
    }

    #[test]
    fn newest_term_names_the_leader_and_dead_members_keep_their_identity() {
        let urls: Vec<String> = (1..=3).map(|p| format!("https://127.0.0.1:{p}")).collect();
        let mut m = Merger::new(&urls, Duration::from_secs(300), None);
        let t = Timestamp::UNIX_EPOCH;
        for i in 0..3 {
            m.on_status(i, Ok(report(i as u64 + 1, 1, 2)), t);
        }
        m.on_list(ListReport {
            members: (1..=3).map(|i| member(i, i as u16)).collect(),
            alarms: Some(vec![(2, "NOSPACE".into())]),
        });
        let s = m.status(t);
        assert_eq!(s.leader, Some(1));
        assert!(s.members[0].is_leader && s.members[1].alarms == ["NOSPACE"]);
        // Member 1 dies; 2 is a candidate in term 3, 3 still names the dead leader.
        m.on_status(0, Err("connection refused".into()), t);
        m.on_status(1, Ok(report(2, 0, 3)), t);
        let s = m.status(t);
        assert_eq!(s.leader, None);
        assert_eq!(s.members[0].error.as_deref(), Some("connection refused"));
        assert_eq!(s.quorum().healthy, 2);
        m.on_status(2, Ok(report(3, 2, 3)), t);
        assert_eq!(m.status(t).leader, Some(2));
        assert_eq!(m.status(t).leader_changes.len(), 1);
        assert_eq!(m.feed().error, None);
    }

    #[test]
    fn a_partitioned_minority_answers_but_is_not_healthy() {
        let urls: Vec<String> = (1..=3).map(|p| format!("https://127.0.0.1:{p}")).collect();
        let mut m = Merger::new(&urls, Duration::from_secs(300), None);
        let t = Timestamp::UNIX_EPOCH;
        m.on_list(ListReport {
            members: (1..=3).map(|i| member(i, i as u16)).collect(),
            alarms: None,
        });
        // 3 is cut off: without pre-vote it campaigns, its term runs ahead, it has no leader.
        m.on_status(0, Ok(report(1, 1, 2)), t);
        m.on_status(1, Ok(report(2, 1, 2)), t);
        m.on_status(2, Ok(report(3, 0, 7)), t);
        let s = m.status(t);
        assert_eq!(s.leader, Some(1), "the majority's leader answers");
        assert!(s.members[2].reachable && s.members[2].no_leader);
        let q = s.quorum();
        assert_eq!((q.healthy, q.tolerates), (2, 0));
    }

    #[test]
    fn nobody_answering_is_a_feed_error_naming_each_endpoint() {
        let urls = vec!["https://127.0.0.1:1".to_string()];
        let mut m = Merger::new(&urls, Duration::from_secs(300), None);
        m.on_status(0, Err("connection refused".into()), Timestamp::UNIX_EPOCH);
        let err = m.feed().error.unwrap();
        assert!(
            err.contains("https://127.0.0.1:1: connection refused"),
            "{err}"
        );
        let s = m.status(Timestamp::UNIX_EPOCH);
        assert_eq!(s.members.len(), 1);
        assert!(!s.quorum().has_quorum());
    }
}
