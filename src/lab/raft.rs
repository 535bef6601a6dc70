//! etcd's Raft, at the level an operator can observe it: who leads, the term, the index, who
//! answers. Timings are etcd's defaults; elections use pre-vote and CheckQuorum as the etcd
//! 3.5 of kubeadm's images does by default (3.4 has pre-vote off unless `--pre-vote`, so
//! `--real-etcd` starts Debian's 3.4 with it), so a member that cannot win never bumps the
//! term.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub(crate) const HEARTBEAT_MS: i64 = 100;
pub(crate) const ELECTION_MS: i64 = 1_000;
/// Entries a lagging follower receives per heartbeat while it catches up.
const CATCH_UP: u64 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub id: u64,
    /// In the cluster's member list (`member add`, or init's first member).
    pub joined: bool,
    /// A voter; `false` for a learner (`member add --learner`), which takes the log but
    /// neither votes nor counts in the quorum until promoted.
    pub voter: bool,
    /// The etcd process runs (and answers).
    pub up: bool,
    role: Role,
    pub term: u64,
    /// The leader this member believes in; it reports it until its own election timeout.
    lead: Option<usize>,
    pub index: u64,
    pub db_bytes: u64,
    last_heard: i64,
    /// Randomized in [1 s, 2 s) on every term change, as etcd does.
    timeout: i64,
}

impl Member {
    pub(crate) fn is_leader(&self) -> bool {
        self.up && self.role == Role::Leader
    }

    /// Running, but following no leader (it would answer Status with "no leader").
    pub(crate) fn leaderless(&self) -> bool {
        self.up && self.lead.is_none()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Raft {
    pub members: Vec<Member>,
    /// Members cut off from all the others on 2379/2380 (a partition): they hear no one
    /// and no one hears them.
    pub cut: Vec<bool>,
    /// A candidate that won its pre-vote, and when the real vote completes.
    election: Option<(usize, i64)>,
    /// A leader stopping on SIGTERM hands over to `to` at the given time.
    transfer: Option<(usize, usize, i64)>,
    next_heartbeat: i64,
    /// Last time the leader heard from a quorum (CheckQuorum).
    quorum_seen: i64,
    /// Writes per heartbeat beyond the control plane's own: node leases renew every 10 s.
    node_writes: u64,
    rng: ChaCha8Rng,
    /// Bumped on leader, term, role or reachability changes: these are shown at once.
    pub changed: u64,
    /// Bumped when only index or db size grew: these ride the once-a-second update.
    pub grown: u64,
    /// When each leader since the start was elected (lab ms), for the flapping warning;
    /// only the last few minutes are kept.
    pub elected_at: Vec<i64>,
}

/// How long elections are remembered: the poller's flapping window.
pub(crate) const ELECTIONS_KEPT_MS: i64 = 5 * 60 * 1000;

impl Raft {
    /// A settled cluster: member 0 (where `kubeadm init` ran) leads, everyone caught up.
    pub(crate) fn new(members: usize, nodes: usize, now: i64, mut rng: ChaCha8Rng) -> Self {
        let node_writes = (nodes / 100) as u64;
        // About 25 minutes of history at the write rate this cluster has.
        let index = 15_000 * (2 + node_writes) + rng.random_range(0..5_000);
        let db_bytes = 4_000_000 + rng.random_range(0..1_000_000) + nodes as u64 * 8_192;
        let members: Vec<Member> = (0..members)
            .map(|i| Member {
                id: rng.random::<u64>() | 1,
                joined: true,
                voter: true,
                up: true,
                role: if i == 0 { Role::Leader } else { Role::Follower },
                term: 2,
                lead: Some(0),
                index,
                db_bytes,
                last_heard: now,
                timeout: election_timeout(&mut rng),
            })
            .collect();
        Self {
            cut: vec![false; members.len()],
            members,
            election: None,
            transfer: None,
            next_heartbeat: now + HEARTBEAT_MS,
            quorum_seen: now,
            node_writes,
            rng,
            changed: 0,
            grown: 0,
            elected_at: Vec::new(),
        }
    }

    /// No member yet (hosts before `kubeadm init`): [`Raft::join`] adds them.
    pub(crate) fn bare(members: usize, nodes: usize, now: i64, mut rng: ChaCha8Rng) -> Self {
        let mut raft = Self::new(members, nodes, now, rng.clone());
        for m in &mut raft.members {
            (m.joined, m.voter, m.up, m.role, m.lead) = (false, false, false, Role::Follower, None);
            (m.term, m.index, m.db_bytes) = (0, 0, 0);
            m.id = rng.random::<u64>() | 1;
        }
        raft.rng = rng;
        raft
    }

    /// `member add` (a learner: `voter` false) or init's first member: in the member list,
    /// not running until its container starts. A member re-added after a reset gets a new
    /// ID and an empty log.
    pub(crate) fn join(&mut self, i: usize, voter: bool) {
        let id = self.rng.random::<u64>() | 1;
        let first = !self.members.iter().any(|m| m.joined);
        let m = &mut self.members[i];
        (m.joined, m.voter, m.up, m.role, m.lead) = (true, voter, false, Role::Follower, None);
        (m.id, m.term, m.index) = (id, if first { 1 } else { 0 }, if first { 4 } else { 0 });
        m.db_bytes = if first { 20_480 } else { 0 };
        self.changed += 1;
    }

    /// `member promote`: only through a leader that has its quorum, and only for a learner
    /// that has caught up (etcd: `isLearnerReady`, 90% of the leader's log).
    pub(crate) fn promote(&mut self, i: usize) -> Result<(), &'static str> {
        let Some(l) = self.leader().filter(|&l| self.has_quorum_at(l)) else {
            return Err("etcdserver: no leader");
        };
        if !self.can_talk(i, l) {
            return Err("etcdserver: no leader");
        }
        let (leader, m) = (self.members[l].index, &self.members[i]);
        if !m.joined || m.voter {
            return Err("etcdserver: can only promote a learner member");
        }
        if !m.up || m.index * 10 < leader * 9 {
            return Err(
                "etcdserver: can only promote a learner member which is in sync with leader",
            );
        }
        self.members[i].voter = true;
        self.changed += 1;
        Ok(())
    }

    /// `member remove` (or a reset that removed it): out of the member list.
    pub(crate) fn remove(&mut self, i: usize) {
        self.kill(i);
        let m = &mut self.members[i];
        (m.joined, m.voter, m.term, m.index, m.db_bytes) = (false, false, 0, 0, 0);
        self.changed += 1;
    }

    /// Members in the member list, by host index.
    pub(crate) fn listed(&self) -> impl Iterator<Item = (usize, &Member)> {
        self.members.iter().enumerate().filter(|(_, m)| m.joined)
    }

    fn votes(&self, j: usize) -> bool {
        let m = &self.members[j];
        m.joined && m.voter
    }

    /// The live leader; during a partition a cut-off old leader may still believe it leads
    /// (for an election timeout): the newest term wins.
    pub(crate) fn leader(&self) -> Option<usize> {
        let leaders = self
            .members
            .iter()
            .enumerate()
            .filter(|(_, m)| m.is_leader());
        leaders.max_by_key(|(_, m)| m.term).map(|(i, _)| i)
    }

    /// Whether members `a` and `b` can exchange messages.
    pub(crate) fn can_talk(&self, a: usize, b: usize) -> bool {
        a == b || !(self.cut[a] || self.cut[b])
    }

    /// Cuts member `i` off from the others, or heals the cut. Nothing changes at once: the
    /// timers notice.
    pub(crate) fn set_cut(&mut self, i: usize, cut: bool) {
        self.cut[i] = cut;
        self.changed += 1;
    }

    /// Live voters member `i` can reach, itself included if it votes.
    fn reachable_up(&self, i: usize) -> usize {
        let up = self.members.iter().enumerate().filter(|(_, m)| m.up);
        up.filter(|&(j, _)| self.votes(j) && self.can_talk(i, j))
            .count()
    }

    /// Member `i` can reach a quorum (a cut-off minority cannot, even with every process up).
    pub(crate) fn has_quorum_at(&self, i: usize) -> bool {
        self.reachable_up(i) >= self.quorum()
    }

    /// A majority of the voters (learners do not count).
    pub(crate) fn quorum(&self) -> usize {
        self.voters() / 2 + 1
    }

    pub(crate) fn voters(&self) -> usize {
        (0..self.members.len()).filter(|&j| self.votes(j)).count()
    }

    /// The highest term any member has persisted.
    pub(crate) fn term(&self) -> u64 {
        self.members.iter().map(|m| m.term).max().unwrap_or(0)
    }

    /// The leader as the answering members report it (possibly a dead one, until they time
    /// out): the view of the member with the newest term wins.
    pub(crate) fn reported_leader(&self) -> Option<usize> {
        let up = self.members.iter().filter(|m| m.up);
        up.filter(|m| m.lead.is_some())
            .max_by_key(|m| m.term)
            .and_then(|m| m.lead)
    }

    /// Something visible changed without the Raft state changing (an error text).
    pub(crate) fn touch(&mut self) {
        self.changed += 1;
    }

    /// SIGKILL or power loss: others notice only when their election timeout fires.
    pub(crate) fn kill(&mut self, i: usize) {
        let m = &mut self.members[i];
        m.up = false;
        m.role = Role::Follower;
        m.lead = None;
        if self.election.is_some_and(|(c, _)| c == i) {
            self.election = None;
        }
        if let Some((from, to, _)) = self.transfer
            && (from == i || to == i)
        {
            self.transfer = None;
            if to == i {
                self.kill(from);
            }
        }
        self.changed += 1;
    }

    /// SIGTERM: a leader first hands leadership to the most up-to-date follower (etcd's
    /// TransferLeadership, tens of ms), then exits. A follower just leaves.
    pub(crate) fn stop_clean(&mut self, i: usize, now: i64) {
        let target = self
            .members
            .iter()
            .enumerate()
            .filter(|&(j, m)| j != i && m.up && m.voter && self.can_talk(i, j))
            .max_by_key(|&(j, m)| (m.index, std::cmp::Reverse(j)))
            .map(|(j, _)| j);
        match target {
            Some(to) if self.leader() == Some(i) && self.transfer.is_none() => {
                let at = now + 10 * self.rng.random_range(2..=5);
                self.transfer = Some((i, to, at));
            }
            _ => self.kill(i),
        }
    }

    /// The process starts with its persisted term and log; the leader catches it up.
    pub(crate) fn start(&mut self, i: usize, now: i64) {
        let timeout = election_timeout(&mut self.rng);
        let m = &mut self.members[i];
        if !m.joined {
            // Not in the member list: etcd refuses to start ("member ... has already been
            // bootstrapped" or no cluster to join); nothing answers.
            return;
        }
        m.up = true;
        m.role = Role::Follower;
        m.lead = None;
        m.last_heard = now;
        m.timeout = timeout;
        self.changed += 1;
    }

    pub(crate) fn step(&mut self, now: i64) {
        self.finish_transfer(now);
        self.finish_election(now);
        self.heartbeat(now);
        self.check_quorum(now);
        self.campaign(now);
    }

    /// The earliest moment [`Raft::step`] has something to do.
    pub(crate) fn next_due(&self) -> Option<i64> {
        let leader = self.leader().is_some();
        let idle = self.election.is_none() && self.transfer.is_none();
        let timers = self
            .members
            .iter()
            .filter(move |m| idle && m.up && m.voter && m.role != Role::Leader);
        let lost = self.leader().is_some_and(|l| !self.has_quorum_at(l));
        [
            self.election.map(|e| e.1),
            self.transfer.map(|t| t.2),
            leader.then_some(self.next_heartbeat),
            lost.then_some(self.quorum_seen + ELECTION_MS),
        ]
        .into_iter()
        .flatten()
        .chain(timers.map(|m| m.last_heard + m.timeout))
        .min()
    }

    fn finish_transfer(&mut self, now: i64) {
        let Some((from, to, _)) = self.transfer.filter(|t| t.2 <= now) else {
            return;
        };
        self.transfer = None;
        // TimeoutNow: the target campaigns at once, skipping pre-vote; the old leader votes.
        let term = self.term() + 1;
        self.become_leader(to, term, now);
        self.kill(from);
    }

    fn finish_election(&mut self, now: i64) {
        let Some((c, _)) = self.election.filter(|e| e.1 <= now) else {
            return;
        };
        self.election = None;
        if self.has_quorum_at(c) {
            let term = self.members[c].term;
            self.become_leader(c, term, now);
        } else {
            let timeout = election_timeout(&mut self.rng);
            let m = &mut self.members[c];
            (m.role, m.last_heard, m.timeout) = (Role::PreCandidate, now, timeout);
            self.changed += 1;
        }
    }

    pub(super) fn become_leader(&mut self, c: usize, term: u64, now: i64) {
        for j in 0..self.members.len() {
            let timeout = election_timeout(&mut self.rng);
            let reached = self.can_talk(c, j);
            let m = &mut self.members[j];
            if !m.up || !reached {
                continue;
            }
            m.role = if j == c { Role::Leader } else { Role::Follower };
            (m.term, m.lead, m.last_heard, m.timeout) = (term, Some(c), now, timeout);
        }
        // A new leader commits an empty entry of its term first.
        self.members[c].index += 1;
        self.next_heartbeat = now + HEARTBEAT_MS;
        self.quorum_seen = now;
        self.elected_at.retain(|t| now - t <= ELECTIONS_KEPT_MS);
        self.elected_at.push(now);
        self.changed += 1;
    }

    fn heartbeat(&mut self, now: i64) {
        let Some(l) = self.leader().filter(|_| self.next_heartbeat <= now) else {
            return;
        };
        self.next_heartbeat = now + HEARTBEAT_MS;
        if self.has_quorum_at(l) {
            self.quorum_seen = now;
            let writes = self.rng.random_range(1..=4) + self.node_writes;
            let leader = &mut self.members[l];
            leader.index += writes;
            leader.db_bytes += writes * self.rng.random_range(4..=16);
            self.grown += 1;
        }
        let (term, index, db) = {
            let m = &self.members[l];
            (m.term, m.index, m.db_bytes)
        };
        let reached: Vec<bool> = (0..self.members.len())
            .map(|j| self.can_talk(l, j))
            .collect();
        for (j, m) in self.members.iter_mut().enumerate() {
            if j == l || !m.up || !reached[j] {
                continue;
            }
            m.last_heard = now;
            if m.lead != Some(l) || m.term != term || m.role != Role::Follower {
                (m.lead, m.term, m.role) = (Some(l), term, Role::Follower);
                self.changed += 1;
            }
            if m.index < index {
                m.index = index.min(m.index + CATCH_UP);
                m.db_bytes = if m.index == index { db } else { m.db_bytes };
                self.grown += 1;
            }
        }
    }

    /// A leader that has not heard from a quorum for an election timeout steps down.
    fn check_quorum(&mut self, now: i64) {
        let Some(l) = self.leader() else {
            return;
        };
        if self.has_quorum_at(l) || now < self.quorum_seen + ELECTION_MS {
            return;
        }
        let m = &mut self.members[l];
        (m.role, m.lead, m.last_heard) = (Role::Follower, None, now);
        self.changed += 1;
    }

    fn campaign(&mut self, now: i64) {
        if self.election.is_some() || self.transfer.is_some() {
            return;
        }
        let mut due: Vec<usize> = (0..self.members.len())
            .filter(|&i| {
                let m = &self.members[i];
                m.up && m.voter && m.role != Role::Leader && m.last_heard + m.timeout <= now
            })
            .collect();
        due.sort_by_key(|&i| self.members[i].last_heard + self.members[i].timeout);
        for i in due {
            if self.pre_vote(i, now) {
                break;
            }
        }
    }

    /// Pre-vote: ask whether an election could be won before bumping the term. Voters
    /// refuse while they follow a live leader or when their log is newer.
    fn pre_vote(&mut self, c: usize, now: i64) -> bool {
        let timeout = election_timeout(&mut self.rng);
        let m = &mut self.members[c];
        if m.lead.is_some() || m.role != Role::PreCandidate {
            (m.lead, m.role) = (None, Role::PreCandidate);
            self.changed += 1;
        }
        (m.last_heard, m.timeout) = (now, timeout);
        let index = m.index;
        let leader = self.leader();
        // A voter that still hears its leader refuses; one cut off from it does not.
        let hears = |j: usize, l: usize| Some(l) == leader && self.can_talk(j, l);
        let grants = self
            .members
            .iter()
            .enumerate()
            .filter(|&(j, v)| {
                j == c
                    || (v.up
                        && v.voter
                        && v.joined
                        && self.can_talk(c, j)
                        && v.index <= index
                        && v.lead.is_none_or(|l| !hears(j, l)))
            })
            .count();
        if grants < self.quorum() {
            return false;
        }
        let term = self.term() + 1;
        let reached: Vec<bool> = (0..self.members.len())
            .map(|j| self.can_talk(c, j))
            .collect();
        for (j, v) in self.members.iter_mut().enumerate() {
            if v.up && reached[j] {
                v.role = if j == c {
                    Role::Candidate
                } else {
                    Role::Follower
                };
                (v.term, v.lead, v.last_heard) = (term, None, now);
            }
        }
        // Vote requests, replies and the fsyncs in between.
        let at = now + 10 * self.rng.random_range(1..=4);
        self.election = Some((c, at));
        self.changed += 1;
        true
    }
}

/// etcd picks each follower's timeout in [election, 2 x election), on the 10 ms grid the lab
/// steps on.
fn election_timeout(rng: &mut ChaCha8Rng) -> i64 {
    10 * rng.random_range(ELECTION_MS / 10..2 * ELECTION_MS / 10)
}
