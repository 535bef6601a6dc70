//! Applying source events to the state, and deriving the timeline from what changed.

use jiff::Timestamp;

use super::flaps::{self, Say};
use super::heartbeat::CONTROLLER_MANAGER_LEASE;

use super::{
    ApiServerHealth, CertKey, Certificate, ClusterEvent, ClusterState, EndpointHealth, EtcdStatus,
    FeedKind, FeedStatus, Lease, Node, PodState, Quorum, QuorumView, Severity, StaticPods, Token,
};

impl ClusterState {
    /// Applies one event; returns whether anything visible changed (a redraw is due).
    pub fn apply(&mut self, event: ClusterEvent) -> bool {
        match event {
            ClusterEvent::Clock(now) => self.set_clock(now),
            ClusterEvent::Endpoint(ep) => self.apply_endpoint(ep),
            ClusterEvent::ApiServer(api) => self.apply_apiserver(api),
            ClusterEvent::NodeUpsert(node) => self.apply_node(node),
            ClusterEvent::NodeLeases(renewed) => self.apply_node_leases(renewed),
            ClusterEvent::NodeRemoved(name) => self.remove_node(&name),
            ClusterEvent::StaticPods(pods) => self.apply_static_pods(pods),
            ClusterEvent::Etcd(status) => self.apply_etcd(status),
            ClusterEvent::LeaseUpsert(lease) => self.apply_lease(lease),
            ClusterEvent::LeaseRemoved(name) => self.remove_lease(&name),
            ClusterEvent::TokenUpsert(token) => self.apply_token(token),
            ClusterEvent::TokenRemoved(id) => self.remove_token(&id),
            ClusterEvent::CertKey(ck) => self.apply_cert_key(ck),
            ClusterEvent::Certificate(cert) => self.apply_certificate(cert),
            ClusterEvent::Feed(kind, status) => self.apply_feed(kind, status),
            ClusterEvent::ControlPlaneEndpoint(endpoint) => {
                self.apply_control_plane_endpoint(endpoint)
            }
            ClusterEvent::Note(text) => {
                self.note(Severity::Info, text);
                true
            }
        }
    }

    fn note(&mut self, severity: Severity, text: impl Into<String>) {
        self.timeline.push(self.now, severity, text);
    }

    fn apply_node_leases(&mut self, renewed: Vec<(String, Timestamp)>) -> bool {
        for (node, at) in renewed {
            self.node_leases.insert(node, at);
        }
        // Shown as ages, which move with the clock: no redraw of their own.
        false
    }

    fn remove_lease(&mut self, name: &str) -> bool {
        self.released_by.remove(name);
        self.leases.remove(name).is_some()
    }

    fn apply_endpoint(&mut self, ep: EndpointHealth) -> bool {
        if let (Some(was), Some(is)) = (self.endpoint.ready, ep.ready)
            && was != is
        {
            let said = self.endpoint_flaps.changed(self.now, is);
            self.say_endpoint(said, &ep);
        }
        replace(&mut self.endpoint, ep)
    }

    fn say_endpoint(&mut self, said: Option<Say>, ep: &EndpointHealth) {
        let addr = &ep.address;
        let (severity, text) = match said {
            None => return,
            Some(Say::Changed(is)) => {
                let why = because(ep.detail.as_deref());
                (sev(is), format!("API endpoint {addr} {}{why}", up_down(is)))
            }
            Some(Say::Flapping { changes, over_s }) => {
                let why = because(ep.detail.as_deref().filter(|_| ep.ready == Some(false)));
                let text = format!(
                    "API endpoint {addr} flapping: {changes} changes in {over_s}s, some requests fail{why}"
                );
                (Severity::Warn, text)
            }
            Some(Say::Settled(is)) => {
                let steady = flaps::STEADY.as_secs();
                let text = if is {
                    format!("API endpoint {addr} ready again: every check passed for {steady}s")
                } else {
                    format!(
                        "API endpoint {addr} stays DOWN{}",
                        because(ep.detail.as_deref())
                    )
                };
                (sev(is), text)
            }
        };
        self.note(severity, text);
    }

    fn apply_apiserver(&mut self, api: ApiServerHealth) -> bool {
        if let Some(old) = self.apiservers.get(&api.node)
            && old.ready != api.ready
        {
            let why = because(api.detail.as_deref());
            let text = format!("apiserver on {} {}{why}", api.node, up_down(api.ready));
            self.note(sev(api.ready), text);
        }
        self.apiservers.insert(api.node.clone(), api.clone()) != Some(api)
    }

    fn apply_node(&mut self, node: Node) -> bool {
        self.member_sightings.node_seen(&self.etcd, &node.name);
        let old = self.nodes.upsert(node.clone());
        if let Some(old) = &old
            && old.ready != node.ready
        {
            let good = node.ready == super::Readiness::Ready;
            self.note(
                sev(good),
                format!("node {} {:?} (was {:?})", node.name, node.ready, old.ready),
            );
        }
        let changed = old.as_ref() != Some(&node);
        if changed && self.control_plane_endpoint.is_some() {
            self.note_endpoint_problem();
        }
        changed
    }

    fn remove_node(&mut self, name: &str) -> bool {
        let gone = self.nodes.delete(name, self.now);
        if gone {
            self.note(Severity::Warn, format!("node {name} deleted"));
        }
        gone
    }

    fn apply_static_pods(&mut self, pods: StaticPods) -> bool {
        let old = self.static_pods.get(&pods.node).cloned();
        if let Some(old) = &old {
            self.note_pod_changes(old, &pods);
        }
        // Restarts are news for a while: when first seen (there were some before we
        // looked) and when seen rise; the node's note says so, then lets them go.
        let restarts = |p: &StaticPods| p.each().map(|(_, h)| h.restarts);
        let rose = match &old {
            Some(old) => restarts(old)
                .iter()
                .zip(restarts(&pods))
                .any(|(a, b)| b > *a),
            None => restarts(&pods).iter().any(|r| *r > 0),
        };
        if rose {
            self.restarts_seen.insert(pods.node.clone(), self.now);
        }
        self.static_pods.insert(pods.node.clone(), pods.clone()) != Some(pods)
    }

    fn apply_control_plane_endpoint(&mut self, endpoint: Option<String>) -> bool {
        let changed = self.control_plane_endpoint.as_ref() != Some(&endpoint);
        self.control_plane_endpoint = Some(endpoint);
        self.note_endpoint_problem();
        changed
    }

    fn apply_etcd(&mut self, status: EtcdStatus) -> bool {
        let was = self.etcd_quorum();
        let known = !self.etcd.members.is_empty();
        self.note_etcd_changes(&status);
        let nodes = &self.nodes;
        let has_node = |name: &str| nodes.get(name).is_some();
        self.member_sightings.saw(&status, has_node, self.now);
        let changed = replace(&mut self.etcd, status);
        if known {
            self.note_quorum_change(was);
        }
        changed
    }

    fn apply_lease(&mut self, lease: Lease) -> bool {
        let mut taken = false;
        if let Some(old) = self.leases.get(&lease.name) {
            taken = lease.name == CONTROLLER_MANAGER_LEASE
                && old.holder_identity != lease.holder_identity
                && lease.holder_node().is_some();
            self.note_lease_change(&old.clone(), &lease);
        }
        let changed = self.leases.insert(lease.name.clone(), lease.clone()) != Some(lease);
        if taken {
            self.note_grace_restart();
        }
        changed
    }

    /// A new controller-manager leader's node controller first sees every node when it
    /// starts: a silent node's grace period counts from then, and a countdown shown before
    /// is void. Says so once per takeover, naming a few of the silent nodes.
    fn note_grace_restart(&mut self) {
        let silent: Vec<&str> = self
            .nodes
            .iter()
            .filter(|n| n.ready == super::Readiness::Ready && self.silent(n).is_some())
            .map(|n| n.name.as_str())
            .collect();
        if silent.is_empty() {
            return;
        }
        let mut names = silent
            .iter()
            .take(3)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        if silent.len() > 3 {
            names += &format!(" and {} more", silent.len() - 3);
        }
        let grace = self.node_monitor_grace_s();
        let text = format!(
            "silent {names}: grace period restarted by the new controller-manager leader \
             (NotReady {grace}s after its takeover)"
        );
        self.note(Severity::Warn, text);
    }

    fn apply_token(&mut self, token: Token) -> bool {
        let warned = self.tokens.get(&token.id).and_then(|t| t.warning());
        if let Some(w) = token.warning().filter(|w| Some(w) != warned.as_ref()) {
            self.note(Severity::Warn, w);
        }
        self.tokens.insert(token.id.clone(), token.clone()) != Some(token)
    }

    fn remove_token(&mut self, id: &str) -> bool {
        let gone = self.tokens.remove(id).is_some();
        if gone && self.cert_key.owner_token_id.as_deref() == Some(id) {
            let text = format!(
                "certificate-key owner token {id} deleted: kubeadm-certs is about to be garbage-collected"
            );
            self.note(Severity::Bad, text);
        } else if gone {
            self.note(Severity::Warn, format!("bootstrap token {id} deleted"));
        }
        gone
    }

    fn apply_cert_key(&mut self, ck: CertKey) -> bool {
        if self.cert_key.secret_present && !ck.secret_present {
            self.note(
                Severity::Bad,
                "kubeadm-certs deleted: the certificate key is gone (renew: kubeadm init phase upload-certs --upload-certs)",
            );
        } else if self.cert_key_known && !self.cert_key.secret_present && ck.secret_present {
            self.note(
                Severity::Good,
                "kubeadm-certs uploaded: a new certificate key is valid for 2h",
            );
        }
        self.cert_key_known = true;
        replace(&mut self.cert_key, ck)
    }

    fn apply_certificate(&mut self, cert: Certificate) -> bool {
        // The first reading is the pane's news; a later notAfter means it was renewed.
        if let Some(old) = self.certificates.get(&cert.name)
            && old.not_after < cert.not_after
        {
            let text = format!("certificate {} renewed", cert.name);
            self.note(Severity::Good, text);
        }
        self.certificates.insert(cert.name.clone(), cert.clone()) != Some(cert)
    }

    fn apply_feed(&mut self, kind: FeedKind, status: FeedStatus) -> bool {
        let old = self.feeds.get(&kind);
        let status = dated(status, old.and_then(|f| f.last_ok), self.now);
        // A feed that fails from the start is the pane's news, not a change.
        let known = old.is_some();
        let old_err = old.and_then(|s| s.error.clone());
        // A first answer after failing from the start (a bare lab's init) is no "again".
        let had_data = old.is_some_and(|f| f.last_ok.is_some());
        let was_silent =
            old.is_some_and(|f| f.error.is_none() && f.stale(kind, self.now).is_some());
        match (&old_err, &status.error) {
            (None, Some(err)) if known => {
                self.note(Severity::Bad, format!("{kind:?} cannot refresh: {err}"))
            }
            (Some(_), None) if had_data => {
                self.note(Severity::Good, format!("{kind:?} refreshing again"))
            }
            (None, None) if was_silent => {
                self.note(Severity::Good, format!("{kind:?} refreshing again"))
            }
            _ => {}
        }
        self.feeds.insert(kind, status.clone()) != Some(status)
    }

    /// Time-driven changes: leases, tokens and certificates expire without any event saying so.
    fn set_clock(&mut self, now: Timestamp) -> bool {
        let before = self.now;
        self.now = now;
        let settled = self.endpoint_flaps.tick(now, self.endpoint.ready);
        self.say_endpoint(settled, &self.endpoint.clone());
        for lease in self.leases.values() {
            // A released lease was noted when it was released; it does not "expire".
            if let Some(holder) = lease.holder_node()
                && !lease.expired(before)
                && lease.expired(now)
            {
                let text = format!("lease {} expired: {holder} stopped renewing", lease.name);
                self.timeline.push(now, Severity::Warn, text);
            }
        }
        let crossed = |t: Option<Timestamp>| t.is_some_and(|e| e > before && e <= now);
        let owner = self.cert_key.owner_token_id.clone();
        for token in self.tokens.values() {
            if !crossed(token.expiration) {
                continue;
            }
            let text = if Some(&token.id) == owner.as_ref() {
                "certificate key expired (its owner token's 2h TTL ran out)".to_string()
            } else {
                format!("bootstrap token {} expired", token.id)
            };
            self.timeline.push(now, Severity::Bad, text);
        }
        for cert in self.certificates.values() {
            if let Some((severity, text)) = cert.crossing(before, now) {
                self.timeline.push(now, severity, text);
            }
        }
        for (kind, feed) in &self.feeds {
            let silent = |t| feed.error.is_none() && feed.stale(*kind, t).is_some();
            if !silent(before) && silent(now) {
                let text = format!("{kind:?} stale: no answer from {}", kind.answers_from());
                self.timeline.push(now, Severity::Bad, text);
            }
        }
        before.as_second() != now.as_second()
    }

    fn note_etcd_changes(&mut self, new: &EtcdStatus) {
        let leader = new.live_leader().map(|m| (m.name.as_str(), m.raft_term));
        let moved = self.leader_history.observe(leader, self.now);
        let old = &self.etcd;
        if old.members.is_empty() {
            return;
        }
        let mut notes: Vec<_> = moved.into_iter().collect();
        for m in &new.members {
            let Some(prev) = old.members.iter().find(|o| o.id == m.id) else {
                let what = if m.is_learner { " as a learner" } else { "" };
                let text = format!("etcd member {} added{what}", m.label());
                notes.push((Severity::Info, text));
                continue;
            };
            if prev.name.is_empty() && !m.name.is_empty() {
                notes.push((Severity::Info, format!("etcd member {} started", m.name)));
            } else if prev.reachable && !m.reachable {
                let err = m.error.as_deref().unwrap_or("unreachable");
                notes.push((Severity::Bad, format!("etcd member {} down: {err}", m.name)));
            } else if !prev.reachable && m.reachable {
                notes.push((
                    Severity::Good,
                    format!("etcd member {} reachable again", m.name),
                ));
            }
            if prev.is_learner && !m.is_learner {
                let text = format!("etcd member {} promoted from learner to voter", m.label());
                notes.push((Severity::Good, text));
            }
        }
        for (severity, text) in notes {
            self.note(severity, text);
        }
    }

    /// Quorum lost or restored, as far as the members' answers tell: silence, or members
    /// lost from here while the apiservers read etcd, is not a lost quorum.
    fn note_quorum_change(&mut self, was: QuorumView) {
        let is = self.etcd_quorum();
        let counts = |q: Quorum| format!("{}/{} healthy", q.healthy, q.members);
        let note = match (was, is) {
            (QuorumView::Known(w), QuorumView::Known(q)) if w.has_quorum() && !q.has_quorum() => {
                (Severity::Bad, format!("etcd quorum lost ({})", counts(q)))
            }
            (QuorumView::Known(w), QuorumView::Known(q)) if !w.has_quorum() && q.has_quorum() => (
                Severity::Good,
                format!("etcd quorum restored ({})", counts(q)),
            ),
            (QuorumView::Known(_), QuorumView::PathBroken) => {
                (Severity::Warn, super::quorum::PATH_BROKEN.to_string())
            }
            _ => return,
        };
        self.note(note.0, note.1);
    }

    fn note_lease_change(&mut self, old: &Lease, new: &Lease) {
        match (old.holder_node(), new.holder_node()) {
            (Some(a), None) => {
                // A clean stop (ReleaseOnCancel): the next candidate takes it at its next
                // try (2 to 4.4 s apart: client-go's retry period with jitter 1.2).
                let text = format!("lease {} released by {a}", new.name);
                self.released_by.insert(new.name.clone(), a.to_string());
                self.note(Severity::Warn, text);
            }
            (a, Some(b)) if old.holder_identity != new.holder_identity => {
                let from = match (a, self.released_by.remove(&new.name)) {
                    (Some(a), _) => a.to_string(),
                    (None, Some(by)) => format!("(released by {by})"),
                    (None, None) => "nobody".to_string(),
                };
                let text = format!(
                    "lease {} taken over: {from} → {b} (transitions {})",
                    new.name, new.transitions
                );
                self.note(Severity::Warn, text);
            }
            _ => {}
        }
    }

    /// One note per transition, naming every pod that made it together (the node controller
    /// marks all of a silent node's pods not ready at once).
    fn note_pod_changes(&mut self, old: &StaticPods, new: &StaticPods) {
        let mut groups: Vec<((PodState, PodState), Vec<&str>)> = Vec::new();
        for ((label, was), (_, is)) in old.each().into_iter().zip(new.each()) {
            if was.state == is.state {
                continue;
            }
            let key = (was.state, is.state);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, labels)) => labels.push(label),
                None => groups.push((key, vec![label])),
            }
        }
        for ((was, is), labels) in groups {
            let running = is == PodState::Running;
            let pods = if labels.len() == 1 { "pod" } else { "pods" };
            let text = format!(
                "{} {pods} on {}: {was:?} → {is:?}",
                labels.join(", "),
                new.node
            );
            self.note(sev(running), text);
        }
    }
}

/// A feed status dated in cluster time. A polled feed's event is its answer, dated on
/// arrival by the cluster's clock, not the source's (the lab's clock is not the wall
/// clock); an error that the source cannot date (a polled feed's, a stopped task's) keeps
/// the age of the last answer the model saw.
fn dated(mut status: FeedStatus, last_ok: Option<Timestamp>, now: Timestamp) -> FeedStatus {
    let polled = status.every.is_some();
    match &status.error {
        None if polled => status.last_ok = Some(now),
        Some(_) if polled || status.last_ok.is_none() => status.last_ok = last_ok,
        _ => {}
    }
    status
}

fn replace<T: PartialEq>(slot: &mut T, new: T) -> bool {
    let changed = *slot != new;
    *slot = new;
    changed
}

fn sev(good: bool) -> Severity {
    if good { Severity::Good } else { Severity::Bad }
}

fn up_down(ready: bool) -> &'static str {
    if ready { "ready again" } else { "DOWN" }
}

/// `": detail"` when there is one, for "X DOWN: why".
fn because(detail: Option<&str>) -> String {
    detail.map(|d| format!(": {d}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::SourceKind;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(1_800_000_000_000 + ms).unwrap()
    }

    fn answer(source_clock: Timestamp) -> ClusterEvent {
        ClusterEvent::Feed(
            FeedKind::Etcd,
            FeedStatus {
                last_ok: Some(source_clock),
                error: None,
                every: Some(Duration::from_secs(1)),
            },
        )
    }

    #[test]
    fn a_polled_answer_is_dated_by_the_cluster_clock_and_ages_with_it() {
        let mut c = ClusterState::new(SourceKind::Lab, "lb:6443", at(0));
        // The poller's wall clock is a year off the lab's: only the arrival counts.
        c.apply(answer(at(365 * 86_400_000)));
        assert_eq!(c.feed(FeedKind::Etcd).unwrap().last_ok, Some(at(0)));
        c.apply(ClusterEvent::Clock(at(3000)));
        assert_eq!(
            c.stale(FeedKind::Etcd),
            None,
            "three intervals is not yet stale"
        );
        c.apply(ClusterEvent::Clock(at(4000)));
        let stale = c.stale(FeedKind::Etcd).expect("silent for four intervals");
        assert_eq!(stale.age_s, Some(4));
        assert_eq!(stale.why, "no answer from the etcd poller");
        assert_eq!(c.stale_feeds(), vec![stale]);
        let said = |c: &ClusterState, what: &str| c.timeline.iter().any(|e| e.text == what);
        assert!(said(&c, "Etcd stale: no answer from the etcd poller"));
        // The next answer makes it current again.
        c.apply(answer(at(0)));
        assert_eq!(c.stale(FeedKind::Etcd), None);
        assert!(said(&c, "Etcd refreshing again"));
    }

    #[test]
    fn an_error_without_a_date_keeps_the_age_of_the_last_answer() {
        let mut c = ClusterState::new(SourceKind::Live, "lb:6443", at(0));
        c.apply(answer(at(0)));
        c.apply(ClusterEvent::Clock(at(2000)));
        let stopped = FeedStatus {
            error: Some("the etcd poller stopped (panicked: boom); restarting in 1s".into()),
            ..FeedStatus::default()
        };
        c.apply(ClusterEvent::Feed(FeedKind::Etcd, stopped));
        c.apply(ClusterEvent::Clock(at(12_000)));
        let stale = c.stale(FeedKind::Etcd).unwrap();
        assert_eq!(stale.age_s, Some(12));
        assert!(
            stale.why.starts_with("the etcd poller stopped"),
            "{stale:?}"
        );
    }

    #[test]
    fn a_feed_answering_for_the_first_time_is_not_refreshing_again() {
        let mut c = ClusterState::new(SourceKind::Lab, "lb:6443", at(0));
        let failing = FeedStatus {
            error: Some("no API yet: kubeadm init has not run".into()),
            ..FeedStatus::default()
        };
        c.apply(ClusterEvent::Feed(FeedKind::Nodes, failing.clone()));
        c.apply(answer_for(FeedKind::Nodes, at(1000)));
        assert!(
            c.timeline.is_empty(),
            "{:?}",
            c.timeline.iter().collect::<Vec<_>>()
        );
        // Once it had data, losing and regaining the API is news.
        c.apply(ClusterEvent::Feed(FeedKind::Nodes, failing));
        c.apply(answer_for(FeedKind::Nodes, at(2000)));
        let said: Vec<&str> = c.timeline.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(said.last(), Some(&"Nodes refreshing again"), "{said:?}");
    }

    fn answer_for(kind: FeedKind, t: Timestamp) -> ClusterEvent {
        ClusterEvent::Feed(
            kind,
            FeedStatus {
                last_ok: Some(t),
                error: None,
                every: None,
            },
        )
    }
}
