//! Applying source events to the state, and deriving the timeline from what changed.

use jiff::Timestamp;

use super::{ClusterEvent, ClusterState, EtcdStatus, Lease, PodState, Severity, StaticPods};

impl ClusterState {
    /// Applies one event; returns whether anything visible changed (a redraw is due).
    pub fn apply(&mut self, event: ClusterEvent) -> bool {
        match event {
            ClusterEvent::Clock(now) => self.set_clock(now),
            ClusterEvent::Endpoint(ep) => {
                if let (Some(was), Some(is)) = (self.endpoint.ready, ep.ready)
                    && was != is
                {
                    let why = ep
                        .detail
                        .as_deref()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default();
                    self.note(
                        sev(is),
                        format!("API endpoint {} {}{why}", ep.address, up_down(is)),
                    );
                }
                replace(&mut self.endpoint, ep)
            }
            ClusterEvent::ApiServer(api) => {
                if let Some(old) = self.apiservers.get(&api.node)
                    && old.ready != api.ready
                {
                    let why = api
                        .detail
                        .as_deref()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default();
                    let text = format!("apiserver on {} {}{why}", api.node, up_down(api.ready));
                    self.note(sev(api.ready), text);
                }
                self.apiservers.insert(api.node.clone(), api.clone()) != Some(api)
            }
            ClusterEvent::NodeUpsert(node) => {
                let old = self.nodes.upsert(node.clone());
                if let Some(old) = &old
                    && old.ready != node.ready
                {
                    let good = node.ready == super::Readiness::Ready;
                    let sev = if good { Severity::Good } else { Severity::Bad };
                    self.note(
                        sev,
                        format!("node {} {:?} (was {:?})", node.name, node.ready, old.ready),
                    );
                }
                old.as_ref() != Some(&node)
            }
            ClusterEvent::NodeLeases(renewed) => {
                for (node, at) in renewed {
                    self.node_leases.insert(node, at);
                }
                // Shown as ages, which move with the clock: no redraw of their own.
                false
            }
            ClusterEvent::NodeRemoved(name) => {
                let gone = self.nodes.remove(&name).is_some();
                if gone {
                    self.note(Severity::Warn, format!("node {name} deleted"));
                }
                gone
            }
            ClusterEvent::StaticPods(pods) => {
                if let Some(old) = self.static_pods.get(&pods.node) {
                    self.note_pod_changes(&old.clone(), &pods);
                }
                self.static_pods.insert(pods.node.clone(), pods.clone()) != Some(pods)
            }
            ClusterEvent::Etcd(status) => {
                self.note_etcd_changes(&status);
                replace(&mut self.etcd, status)
            }
            ClusterEvent::LeaseUpsert(lease) => {
                if let Some(old) = self.leases.get(&lease.name) {
                    self.note_lease_change(&old.clone(), &lease);
                }
                self.leases.insert(lease.name.clone(), lease.clone()) != Some(lease)
            }
            ClusterEvent::LeaseRemoved(name) => {
                self.released_by.remove(&name);
                self.leases.remove(&name).is_some()
            }
            ClusterEvent::TokenUpsert(token) => {
                self.tokens.insert(token.id.clone(), token.clone()) != Some(token)
            }
            ClusterEvent::TokenRemoved(id) => {
                let gone = self.tokens.remove(&id).is_some();
                if gone && self.cert_key.owner_token_id.as_deref() == Some(id.as_str()) {
                    let text = format!(
                        "certificate-key owner token {id} deleted: kubeadm-certs is about to be garbage-collected"
                    );
                    self.note(Severity::Bad, text);
                } else if gone {
                    self.note(Severity::Warn, format!("bootstrap token {id} deleted"));
                }
                gone
            }
            ClusterEvent::CertKey(ck) => {
                if self.cert_key.secret_present && !ck.secret_present {
                    self.note(
                        Severity::Bad,
                        "kubeadm-certs deleted: the certificate key is gone (renew: kubeadm init phase upload-certs --upload-certs)",
                    );
                } else if self.cert_key_known && !self.cert_key.secret_present && ck.secret_present
                {
                    self.note(
                        Severity::Good,
                        "kubeadm-certs uploaded: a new certificate key is valid for 2h",
                    );
                }
                self.cert_key_known = true;
                replace(&mut self.cert_key, ck)
            }
            ClusterEvent::Certificate(cert) => {
                // The first reading is the pane's news; a later notAfter means it was renewed.
                if let Some(old) = self.certificates.get(&cert.name)
                    && old.not_after < cert.not_after
                {
                    let text = format!("certificate {} renewed", cert.name);
                    self.note(Severity::Good, text);
                }
                self.certificates.insert(cert.name.clone(), cert.clone()) != Some(cert)
            }
            ClusterEvent::Feed(kind, status) => {
                // A feed that fails from the start is the pane's news, not a change.
                let known = self.feeds.contains_key(&kind);
                let old = self.feeds.get(&kind).and_then(|s| s.error.clone());
                match (&old, &status.error) {
                    (None, Some(err)) if known => {
                        self.note(Severity::Bad, format!("{kind:?} cannot refresh: {err}"))
                    }
                    (Some(_), None) => {
                        self.note(Severity::Good, format!("{kind:?} refreshing again"))
                    }
                    _ => {}
                }
                self.feeds.insert(kind, status.clone()) != Some(status)
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

    /// Time-driven changes: leases, tokens and certificates expire without any event saying so.
    fn set_clock(&mut self, now: Timestamp) -> bool {
        let before = self.now;
        self.now = now;
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
        before.as_second() != now.as_second()
    }

    fn note_etcd_changes(&mut self, new: &EtcdStatus) {
        let leader = new
            .leader_member()
            .filter(|m| m.reachable)
            .map(|m| (m.name.as_str(), m.raft_term));
        let moved = self.leader_history.observe(leader, self.now);
        let old = &self.etcd;
        if old.members.is_empty() {
            return;
        }
        let mut notes: Vec<_> = moved.into_iter().collect();
        for m in &new.members {
            let Some(prev) = old.members.iter().find(|o| o.id == m.id) else {
                notes.push((Severity::Info, format!("etcd member {} added", m.name)));
                continue;
            };
            if prev.reachable && !m.reachable {
                let err = m.error.as_deref().unwrap_or("unreachable");
                notes.push((Severity::Bad, format!("etcd member {} down: {err}", m.name)));
            } else if !prev.reachable && m.reachable {
                notes.push((
                    Severity::Good,
                    format!("etcd member {} reachable again", m.name),
                ));
            }
        }
        let (was, is) = (old.quorum(), new.quorum());
        if was.has_quorum() && !is.has_quorum() {
            notes.push((
                Severity::Bad,
                format!("etcd quorum lost ({}/{} healthy)", is.healthy, is.members),
            ));
        } else if !was.has_quorum() && is.has_quorum() {
            notes.push((
                Severity::Good,
                format!(
                    "etcd quorum restored ({}/{} healthy)",
                    is.healthy, is.members
                ),
            ));
        }
        for (severity, text) in notes {
            self.note(severity, text);
        }
    }

    fn note_lease_change(&mut self, old: &Lease, new: &Lease) {
        match (old.holder_node(), new.holder_node()) {
            (Some(a), None) => {
                // A clean stop (ReleaseOnCancel): the next candidate takes it within ~2 s.
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
