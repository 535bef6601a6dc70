//! `hatui status` as text: what the cockpit shows, as lines a person reads or greps.

use std::fmt::Write;

use super::health::Verdict;
use crate::model::{ClusterState, FeedKind, QuorumView, Readiness, SourceKind};
use crate::view::format::{bytes, duration, validity};

/// Above this many nodes, only masters and nodes that are not Ready are listed.
const LIST_ALL_UP_TO: usize = 20;

pub fn render(c: &ClusterState, verdict: &Verdict) -> String {
    let mut out = String::new();
    let source = match c.source {
        SourceKind::Lab => "LAB (simulated cluster, not a real one)",
        SourceKind::Live => "live cluster",
    };
    let at = jiff::Timestamp::from_second(c.now.as_second()).unwrap_or(c.now);
    // The first line is what a monitoring system shows of a plugin's output: the state.
    let state = verdict.health.plugin_state();
    let _ = writeln!(out, "hatui status: {source} at {at}: {state}");
    health(&mut out, verdict);
    endpoint(&mut out, c);
    nodes(&mut out, c);
    etcd(&mut out, c);
    leases(&mut out, c);
    ttls(&mut out, c);
    certificates(&mut out, c);
    for s in c.stale_feeds() {
        let _ = writeln!(out, "STALE {:?}: {}", s.kind, s.why);
    }
    out
}

fn health(out: &mut String, v: &Verdict) {
    let code = v.health.exit_code();
    let _ = writeln!(out, "\nhealth: {} (exit {code})", v.health.name());
    for r in &v.reasons {
        let _ = writeln!(out, "  {}: {}", r.level.name(), r.text);
    }
}

/// A feed that has never delivered: its data is unknown, not empty.
fn never_read(c: &ClusterState, kind: FeedKind) -> bool {
    c.feed(kind).is_some_and(|f| f.last_ok.is_none())
}

fn endpoint(out: &mut String, c: &ClusterState) {
    let ep = &c.endpoint;
    let state = match ep.ready {
        Some(true) => "ready".to_string(),
        Some(false) => format!("DOWN: {}", ep.detail.as_deref().unwrap_or("not ready")),
        None => "unknown".to_string(),
    };
    let _ = writeln!(out, "\nendpoint {}: {state}", ep.address);
    if let Some(problem) = c.control_plane_endpoint_problem() {
        let _ = writeln!(out, "  warning: {problem}");
    }
    if let Some(b) = &ep.balancer {
        let _ = writeln!(out, "  load balancer {b}");
    }
    for api in c.apiservers.values() {
        let state = if api.ready {
            "ready".to_string()
        } else {
            format!("DOWN: {}", api.detail.as_deref().unwrap_or("not ready"))
        };
        let lb = ep
            .backend(&api.node)
            .map(|b| format!("; load balancer: {}", b.detail));
        let lb = lb.unwrap_or_default();
        let _ = writeln!(
            out,
            "  apiserver {} ({}): {state}{lb}",
            api.node, api.address
        );
    }
}

fn nodes(out: &mut String, c: &ClusterState) {
    let ready = c
        .nodes
        .iter()
        .filter(|n| n.ready == Readiness::Ready)
        .count();
    if never_read(c, FeedKind::Nodes) {
        let _ = writeln!(out, "\nnodes: unknown (no data)");
        return;
    }
    let _ = writeln!(out, "\nnodes: {ready}/{} Ready", c.nodes.len());
    let list_all = c.nodes.len() <= LIST_ALL_UP_TO;
    let shown = c
        .nodes
        .iter()
        .filter(|n| list_all || n.is_control_plane() || n.ready != Readiness::Ready);
    for n in shown {
        let role = if n.is_control_plane() {
            "control-plane"
        } else {
            "worker"
        };
        let ip = n.internal_ip.as_deref().unwrap_or("-");
        let _ = writeln!(
            out,
            "  {:<12} {:<13} {:<8} {} {ip}",
            n.name,
            role,
            format!("{:?}", n.ready),
            n.kubelet_version
        );
    }
    if !list_all {
        let _ = writeln!(out, "  (Ready workers not listed; --json lists every node)");
    }
}

fn etcd(out: &mut String, c: &ClusterState) {
    // No member ever seen is not a lost quorum: it is not knowing.
    if c.etcd.members.is_empty() {
        let why = c
            .feed(crate::model::FeedKind::Etcd)
            .and_then(|f| f.error.as_deref())
            .unwrap_or("no status yet");
        let _ = writeln!(out, "\netcd: quorum unknown ({why})");
        return;
    }
    let leader = c.etcd.live_leader().map_or("none", |m| m.name.as_str());
    let verdict = match c.etcd_quorum() {
        QuorumView::Unknown => "quorum unknown: no member has answered".to_string(),
        QuorumView::PathBroken => {
            "quorum unknown: members unreachable from here, every apiserver reads etcd".to_string()
        }
        QuorumView::Known(q) if q.has_quorum() => {
            let failures = if q.tolerates == 1 {
                "failure"
            } else {
                "failures"
            };
            let counts = format!("{}/{} healthy, needs {}", q.healthy, q.members, q.needed);
            format!("{counts}, tolerates {} more {failures}", q.tolerates)
        }
        QuorumView::Known(q) => format!(
            "{}/{} healthy, needs {}, QUORUM LOST",
            q.healthy, q.members, q.needed
        ),
    };
    let via = c
        .etcd
        .via
        .as_ref()
        .map_or(String::new(), |v| format!(" ({v})"));
    let _ = writeln!(out, "\netcd{via}: leader {leader}; {verdict}");
    for m in &c.etcd.members {
        let led = c.etcd.live_leader().is_some_and(|l| l.id == m.id);
        let mark = if led { "*" } else { " " };
        let learner = if m.is_learner { " learner" } else { "" };
        let state = match (&m.error, m.reachable) {
            (_, true) => format!(
                "term {} index {} db {}",
                m.raft_term,
                m.raft_index,
                bytes(m.db_size_bytes)
            ),
            (Some(err), false) => format!("unreachable: {err}"),
            (None, false) => "unreachable".to_string(),
        };
        let _ = writeln!(out, " {mark}{} {:x}{learner} {state}", m.name, m.id);
    }
    for w in c.etcd_warnings() {
        let _ = writeln!(out, "  warning: {w}");
    }
}

fn leases(out: &mut String, c: &ClusterState) {
    if never_read(c, FeedKind::Leases) {
        let _ = writeln!(out, "\nleases: unknown (no data)");
        return;
    }
    let _ = writeln!(out, "\nleases:");
    for l in c.leases.values() {
        let holder = holder(c, l);
        let ago = l
            .renewed_ago_s(c.now)
            .map_or("never".to_string(), |s| format!("{} ago", duration(s)));
        let expired = if l.expired(c.now) { " EXPIRED" } else { "" };
        let _ = writeln!(
            out,
            "  {:<24} {holder:<10} renewed {ago}, duration {}s, transitions {}{expired}",
            l.name, l.duration_s, l.transitions
        );
    }
}

/// The Node holding the lease, else its host marked `?` (no Node of that host).
fn holder(c: &ClusterState, l: &crate::model::Lease) -> String {
    match (
        c.holder_node(l),
        l.holder_node(),
        c.lease_released_by(&l.name),
    ) {
        (Some(node), _, _) => node.to_string(),
        (None, Some(host), _) => format!("{host}?"),
        (None, None, Some(by)) => format!("(released by {by})"),
        (None, None, None) if l.released() => "(released)".to_string(),
        (None, None, None) => "(none)".to_string(),
    }
}

fn ttls(out: &mut String, c: &ClusterState) {
    const RENEW_KEY: &str = "kubeadm init phase upload-certs --upload-certs";
    let key = match (c.cert_key.secret_present, c.cert_key_expires_in_s()) {
        (false, _) if never_read(c, FeedKind::Tokens) => "unknown (no data)".to_string(),
        (false, _) => format!("none (kubeadm-certs absent; to join a master: {RENEW_KEY})"),
        (true, _) if c.cert_key_orphaned() => {
            format!("owner token gone: kubeadm-certs is about to be deleted (renew: {RENEW_KEY})")
        }
        (true, Some(s)) if s <= 0 => format!("EXPIRED {} ago (renew: {RENEW_KEY})", duration(s)),
        (true, Some(s)) => format!("expires in {}", duration(s)),
        (true, None) => "present, expiry unknown".to_string(),
    };
    let _ = writeln!(out, "\ncertificate key: {key}");
    if never_read(c, FeedKind::Tokens) {
        let _ = writeln!(out, "bootstrap tokens: unknown (no data)");
        return;
    }
    let _ = writeln!(out, "bootstrap tokens:");
    for t in c.join_tokens() {
        let ttl = match t.expires_in_s(c.now) {
            _ if t.bad_expiration.is_some() => format!(
                "EXPIRED: expiration {:?} is not RFC 3339 (new one: kubeadm token create --print-join-command)",
                t.bad_expiration.as_deref().unwrap_or_default()
            ),
            None => "never expires".to_string(),
            Some(s) if s <= 0 => format!(
                "EXPIRED {} ago (new one: kubeadm token create --print-join-command)",
                duration(s)
            ),
            Some(s) => format!("expires in {}", duration(s)),
        };
        let _ = writeln!(out, "  {} {ttl} [{}]", t.id, t.usages.join(","));
    }
}

fn certificates(out: &mut String, c: &ClusterState) {
    if c.certificates.is_empty() {
        let _ = writeln!(out, "\ncertificates: unknown (no data)");
        return;
    }
    let _ = writeln!(out, "\ncertificates:");
    let mut certs: Vec<_> = c.certificates.values().collect();
    certs.sort_by_key(|x| (!x.is_ca(), x.name.clone()));
    for x in certs {
        let s = x.expires_in_s(c.now);
        let left = if s <= 0 {
            format!("EXPIRED {} ago", duration(s))
        } else {
            format!("expires in {}", validity(s))
        };
        let fix = match &x.node {
            _ if !x.needs_renewal(c.now) => String::new(),
            Some(node) => format!(
                " (renew on {node}: kubeadm certs renew all, then restart the control-plane static pods)"
            ),
            None => " (kubeadm cannot renew the CA: rotate it by hand)".to_string(),
        };
        let _ = writeln!(
            out,
            "  {:<16} {left}, not after {}{fix}",
            x.name, x.not_after
        );
    }
}
