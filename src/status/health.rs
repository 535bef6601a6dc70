//! `hatui status`'s verdict for scripts and monitoring: one health (`ok`, `degraded`,
//! `critical`, `unknown`) with a plain line per reason, and the exit code of a
//! Nagios/Icinga plugin (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). The rules are the
//! cockpit's own model (quorum arithmetic, lease expiry, readiness), judged once; they are
//! listed in docs/status.md.

use serde::Serialize;

use crate::model::{ClusterState, FeedKind, QuorumView, Readiness};

/// How long a released leader lease may stay unheld before nobody leading is critical:
/// kubeadm's `leaseDurationSeconds` for kube-scheduler and kube-controller-manager. A
/// standby copy normally takes a released lease at its next try, 2 to 4.4 s later.
const RELEASED_GRACE_S: i64 = 15;

/// The feeds whose data the rules below judge: stale, their verdict would be a guess.
const JUDGED_FEEDS: [FeedKind; 5] = [
    FeedKind::Etcd,
    FeedKind::Endpoint,
    FeedKind::Leases,
    FeedKind::Nodes,
    FeedKind::Certificates,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Ok,
    Degraded,
    /// Worse than degraded: a warning may hide a critical fact in what is not known.
    Unknown,
    Critical,
}

impl Health {
    /// The Nagios/Icinga plugin exit code.
    pub fn exit_code(self) -> i32 {
        match self {
            Self::Ok => 0,
            Self::Degraded => 1,
            Self::Critical => 2,
            Self::Unknown => 3,
        }
    }

    /// The plugin state's name, as monitoring shows it.
    pub fn plugin_state(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Degraded => "WARNING",
            Self::Critical => "CRITICAL",
            Self::Unknown => "UNKNOWN",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Degraded => "degraded",
            Self::Critical => "critical",
            Self::Unknown => "unknown",
        }
    }
}

/// One finding: how bad, and one plain line saying it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub level: Health,
    pub text: String,
}

/// The health and every reason for it, worst first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub health: Health,
    pub reasons: Vec<Reason>,
}

/// Judges `c`. Nothing known about the cluster at all (nothing answered from here) is
/// unknown, as a plugin says of a host it cannot reach; otherwise the worst reason wins.
pub fn judge(c: &ClusterState) -> Verdict {
    let mut r = Vec::new();
    if let Some(why) = unreachable(c) {
        r.push(reason(Health::Unknown, why));
        return Verdict {
            health: Health::Unknown,
            reasons: r,
        };
    }
    endpoint(c, &mut r);
    etcd(c, &mut r);
    leases(c, &mut r);
    masters(c, &mut r);
    certificates(c, &mut r);
    stale(c, &mut r);
    r.sort_by_key(|x| std::cmp::Reverse(x.level));
    let health = r.first().map_or(Health::Ok, |x| x.level);
    Verdict { health, reasons: r }
}

fn reason(level: Health, text: impl Into<String>) -> Reason {
    Reason {
        level,
        text: text.into(),
    }
}

/// The feeds that only the cluster itself answers (the CA's expiry, say, comes from the
/// kubeconfig).
const CLUSTER_FEEDS: [FeedKind; 5] = [
    FeedKind::Nodes,
    FeedKind::Pods,
    FeedKind::Leases,
    FeedKind::Tokens,
    FeedKind::Config,
];

/// Nothing of the cluster has answered from here: no API list ever read, no etcd member,
/// no apiserver ready, the endpoint not ready.
fn unreachable(c: &ClusterState) -> Option<String> {
    let api_read = CLUSTER_FEEDS
        .iter()
        .any(|k| c.feed(*k).is_some_and(|f| f.last_ok.is_some()));
    let etcd_answered = c.etcd_quorum() != QuorumView::Unknown;
    let api_ready = c.apiservers.values().any(|a| a.ready);
    if api_read || etcd_answered || api_ready || c.endpoint.ready == Some(true) {
        return None;
    }
    let why = c.endpoint.detail.as_deref().unwrap_or("no answer");
    Some(format!(
        "cannot reach the cluster: the endpoint {} ({why}), and nothing else answered from here",
        c.endpoint.address
    ))
}

fn endpoint(c: &ClusterState, r: &mut Vec<Reason>) {
    let ep = &c.endpoint;
    match ep.ready {
        Some(false) => {
            let why = ep.detail.as_deref().unwrap_or("not ready");
            r.push(reason(
                Health::Critical,
                format!("the endpoint {} does not answer: {why}", ep.address),
            ));
        }
        None => r.push(reason(
            Health::Unknown,
            format!("the endpoint {} has not been probed yet", ep.address),
        )),
        Some(true) => {}
    }
    let ready = c.apiservers.values().filter(|a| a.ready).count();
    if !c.apiservers.is_empty() && ready == 0 {
        r.push(reason(
            Health::Critical,
            format!("no apiserver is ready (0 of {})", c.apiservers.len()),
        ));
    } else {
        for a in c.apiservers.values().filter(|a| !a.ready) {
            let why = a.detail.as_deref().unwrap_or("not ready");
            r.push(reason(
                Health::Degraded,
                format!("the apiserver on {} is not ready: {why}", a.node),
            ));
        }
    }
    if let Some(problem) = c.control_plane_endpoint_problem() {
        r.push(reason(Health::Degraded, problem));
    }
}

fn etcd(c: &ClusterState, r: &mut Vec<Reason>) {
    let needs = |q: crate::model::Quorum| {
        format!(
            "{}/{} voting members healthy, {} needed",
            q.healthy, q.members, q.needed
        )
    };
    match c.etcd_quorum() {
        QuorumView::Unknown => {
            let why = c
                .feed(FeedKind::Etcd)
                .and_then(|f| f.error.as_deref())
                .unwrap_or("no member has answered");
            r.push(reason(
                Health::Unknown,
                format!("etcd quorum unknown: {why}"),
            ));
            return;
        }
        QuorumView::PathBroken => {
            r.push(reason(
                Health::Degraded,
                "etcd members unreachable from here, but every apiserver reads etcd: its quorum \
                 holds, how many more failures it tolerates is unknown",
            ));
            return;
        }
        QuorumView::Known(q) if !q.has_quorum() => {
            r.push(reason(
                Health::Critical,
                format!(
                    "etcd has lost its quorum: {}; the API cannot write",
                    needs(q)
                ),
            ));
        }
        QuorumView::Known(q) if q.tolerates == 0 => {
            r.push(reason(
                Health::Degraded,
                format!("etcd tolerates no more failures: {}", needs(q)),
            ));
        }
        QuorumView::Known(_) => {}
    }
    let q = c.etcd.quorum();
    if q.has_quorum() && c.etcd.live_leader().is_none() {
        r.push(reason(
            Health::Degraded,
            "etcd has no leader: an election is under way",
        ));
    }
    for m in c.etcd.members.iter().filter(|m| !m.reachable) {
        let why = m.error.as_deref().unwrap_or("no answer");
        let text = format!("etcd member {} does not answer: {why}", m.label());
        r.push(reason(Health::Degraded, text));
    }
    for m in &c.etcd.members {
        for a in &m.alarms {
            let text = format!("etcd alarm {a} on {}: see `etcdctl alarm list`", m.label());
            r.push(reason(Health::Critical, text));
        }
        if c.member_standing(m).stale() {
            let text = format!(
                "stale etcd member {} ({:x}): remove it with `etcdctl member remove {:x}`",
                m.label(),
                m.id,
                m.id
            );
            r.push(reason(Health::Degraded, text));
        }
    }
}

fn leases(c: &ClusterState, r: &mut Vec<Reason>) {
    for l in c.leases.values() {
        let ago = l.renewed_ago_s(c.now).unwrap_or(i64::MAX);
        if l.expired(c.now) {
            let holder = l.holder_node().unwrap_or("its holder");
            r.push(reason(
                Health::Critical,
                format!(
                    "lease {} expired: {holder} stopped renewing it {ago}s ago (duration {}s) and \
                     nobody has taken it",
                    l.name, l.duration_s
                ),
            ));
        } else if l.released() {
            let by = c
                .lease_released_by(&l.name)
                .map_or(String::new(), |h| format!(" by {h}"));
            let (level, tail) = if ago > RELEASED_GRACE_S {
                (Health::Critical, " and nobody has taken it")
            } else {
                (
                    Health::Degraded,
                    ": a standby copy takes it at its next try",
                )
            };
            r.push(reason(
                level,
                format!("lease {} released{by} {ago}s ago{tail}", l.name),
            ));
        }
    }
}

fn masters(c: &ClusterState, r: &mut Vec<Reason>) {
    for n in c.nodes.iter().filter(|n| n.is_control_plane()) {
        let state = match n.ready {
            Readiness::Ready => continue,
            Readiness::NotReady => "NotReady",
            Readiness::Unknown => "Unknown (its kubelet stopped posting)",
        };
        r.push(reason(
            Health::Degraded,
            format!("master {} is {state}", n.name),
        ));
    }
}

fn certificates(c: &ClusterState, r: &mut Vec<Reason>) {
    for x in c.certificates.values() {
        let left = x.expires_in_s(c.now);
        if left <= 0 {
            let text = format!("certificate {} EXPIRED {}d ago", x.name, -left / 86_400);
            r.push(reason(Health::Critical, text));
        } else if x.needs_renewal(c.now) {
            let text = format!(
                "certificate {} expires in {}d: renew it",
                x.name,
                left / 86_400
            );
            r.push(reason(Health::Degraded, text));
        }
    }
}

/// Data the rules judge that is not current: the verdict on it would be a guess.
fn stale(c: &ClusterState, r: &mut Vec<Reason>) {
    for s in c.stale_feeds() {
        if !JUDGED_FEEDS.contains(&s.kind) {
            continue;
        }
        // etcd's silence is already said as the quorum's.
        if s.kind == FeedKind::Etcd && c.etcd_quorum() == QuorumView::Unknown {
            continue;
        }
        let age = s
            .age_s
            .map_or("never read".to_string(), |a| format!("{a}s old"));
        let text = format!("{:?} data not current ({age}): {}", s.kind, s.why);
        r.push(reason(Health::Unknown, text));
    }
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
