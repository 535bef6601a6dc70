//! Turns successive [`Probe`]s into the drill's milestones (the report's figures) and its
//! timeline (events in seconds since the fault, each with a sentence of why).

use serde::Serialize;

use hatui_model::Readiness;

use super::fault::DrillFault;
use super::plan::LEASES;
use super::probe::{LeaseSeen, Probe};
use super::series::secs;
use super::why;

/// Outage starts through the endpoint put on the timeline; the rest are in the report.
const ENDPOINT_EVENTS: usize = 5;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Seconds since the fault.
    pub at_s: f64,
    pub text: String,
    pub why: String,
}

/// The cluster right before the fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Before {
    pub etcd_leader: Option<String>,
    pub raft_term: u64,
    pub leases: [LeaseSeen; 2],
}

/// Moments in ms since the fault (recovery ones since the restore).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Milestones {
    pub leader_lost_ms: Option<i64>,
    /// New leader, when, its term.
    pub new_leader: Option<(String, i64, u64)>,
    pub lease_released_ms: [Option<i64>; 2],
    /// New holder and when.
    pub lease_taken: [Option<(String, i64)>; 2],
    pub not_ready_ms: Option<i64>,
    pub pods_gone_ms: Option<i64>,
    pub pod_created_ms: Option<i64>,
    pub pod_scheduled: Option<(String, i64)>,
    pub api_ready_ms: Option<i64>,
    pub etcd_healthy_ms: Option<i64>,
    pub node_ready_ms: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Observer {
    pub fault: DrillFault,
    pub target: String,
    pub before: Before,
    pub got: Milestones,
    pub timeline: Vec<Event>,
    /// Each master's /readyz as last seen (ok?).
    readyz_ok: Vec<(String, bool)>,
    endpoint_failing: bool,
    endpoint_outages: usize,
    member_down_ms: Option<i64>,
    /// The restore ran: the target's comebacks are recovery events, not readyz ones.
    restored: bool,
}

impl Observer {
    pub fn new(fault: DrillFault, target: &str, before: &Probe) -> Self {
        Self {
            fault,
            target: target.to_string(),
            before: Before {
                etcd_leader: before.etcd_leader.clone(),
                raft_term: before.etcd_term,
                leases: before.leases.clone(),
            },
            got: Milestones::default(),
            timeline: Vec::new(),
            readyz_ok: before
                .masters
                .iter()
                .map(|m| (m.node.clone(), m.error.is_none()))
                .collect(),
            endpoint_failing: false,
            endpoint_outages: 0,
            member_down_ms: None,
            restored: false,
        }
    }

    pub fn note(&mut self, t: i64, text: impl Into<String>, why: impl Into<String>) {
        self.timeline.push(Event {
            at_s: secs(t),
            text: text.into(),
            why: why.into(),
        });
    }

    /// Takes in the probe at `t` ms since the fault; `restored`: when the restore ran.
    pub fn observe(&mut self, t: i64, restored: Option<i64>, p: &Probe) {
        self.restored = restored.is_some();
        self.etcd(t, p);
        self.leases(t, p);
        self.readyz(t, p);
        self.endpoint(t, p);
        self.node(t, p);
        self.test_pod(t, p);
        if let Some(r) = restored {
            self.recovery(t, r, p);
        }
    }

    fn etcd(&mut self, t: i64, p: &Probe) {
        let old = self.before.etcd_leader.clone().unwrap_or_default();
        if self.got.leader_lost_ms.is_none() && p.etcd_leader.as_deref() != Some(old.as_str()) {
            self.got.leader_lost_ms = Some(t);
            let why = why::leader_lost(self.fault, &old);
            self.note(t, format!("etcd leader {old} lost"), why);
        }
        if let (Some(_), None, Some(new)) = (
            self.got.leader_lost_ms,
            &self.got.new_leader,
            &p.etcd_leader,
        ) {
            self.got.new_leader = Some((new.clone(), t, p.etcd_term));
            let lost = self.got.leader_lost_ms.unwrap_or(t);
            let why = why::new_leader(self.fault, &old, new, secs(t), secs(t - lost));
            let text = format!("etcd leader {new} (term {})", p.etcd_term);
            self.note(t, text, why);
        }
        // The target's own member, while the fault lasts.
        match (p.target_member_healthy, self.member_down_ms) {
            (false, None) if self.fault.takes_etcd_member() && self.is_member(p) => {
                self.member_down_ms = Some(t);
                let text = format!("{}'s etcd member out of the quorum", self.target);
                let why = "a member that does not answer, or cannot reach its peers, does not \
                           count towards the quorum";
                self.note(t, text, why);
            }
            (true, Some(_)) if self.got.etcd_healthy_ms.is_none() && !self.restored => {
                self.member_down_ms = None;
                let text = format!("{}'s etcd member healthy again", self.target);
                let why = if self.fault == DrillFault::Etcd && self.got.api_ready_ms.is_none() {
                    "the kubelet started the stopped container again (crash back-off: the first \
                     restart comes at its next sync)"
                } else {
                    "it answers, votes and follows the leader again"
                };
                self.note(t, text, why);
            }
            _ => {}
        }
    }

    fn is_member(&self, p: &Probe) -> bool {
        p.readyz(&self.target).is_some()
    }

    fn leases(&mut self, t: i64, p: &Probe) {
        for (k, is) in p.leases.iter().enumerate() {
            let was = self.before.leases[k].clone();
            let old = was.holder.clone().unwrap_or_default();
            if self.got.lease_released_ms[k].is_none()
                && self.got.lease_taken[k].is_none()
                && is.holder.is_none()
            {
                self.got.lease_released_ms[k] = Some(t);
                let text = format!("{} lease released by {old}", LEASES[k]);
                self.note(t, text, why::lease_released(LEASES[k], &old));
            }
            let moved = is.holder.is_some()
                && (is.holder != was.holder || is.transitions > was.transitions);
            if self.got.lease_taken[k].is_none() && moved {
                let new = is.holder.clone().unwrap_or_default();
                self.got.lease_taken[k] = Some((new.clone(), t));
                let released = self.got.lease_released_ms[k].is_some();
                let text = format!("{} lease taken by {new}", LEASES[k]);
                self.note(t, text, why::lease_taken(LEASES[k], &old, &new, released));
            }
        }
    }

    fn readyz(&mut self, t: i64, p: &Probe) {
        for m in &p.masters {
            let ok = m.error.is_none();
            let Some(k) = self.readyz_ok.iter().position(|(n, _)| *n == m.node) else {
                continue;
            };
            if self.readyz_ok[k].1 == ok {
                continue;
            }
            self.readyz_ok[k].1 = ok;
            match &m.error {
                Some(e) => {
                    let text = format!("{} /readyz failing: {e}", m.node);
                    self.note(t, text, why::readyz(e));
                }
                None if self.restored && m.node == self.target => {}
                None => {
                    let text = format!("{} /readyz ready again", m.node);
                    self.note(
                        t,
                        text,
                        "its apiserver runs and its local etcd member serves",
                    );
                }
            }
        }
    }

    fn endpoint(&mut self, t: i64, p: &Probe) {
        let failing = p.endpoint_error.is_some();
        if failing && !self.endpoint_failing {
            self.endpoint_outages += 1;
            let e = p.endpoint_error.clone().unwrap_or_default();
            if self.endpoint_outages <= ENDPOINT_EVENTS {
                let text = format!("API through the endpoint failing: {e}");
                self.note(t, text, why::endpoint(&e));
            } else if self.endpoint_outages == ENDPOINT_EVENTS + 1 {
                let text = "API through the endpoint keeps flapping (further outages only in \
                            the report)";
                self.note(t, text, why::endpoint(&e));
            }
        }
        self.endpoint_failing = failing;
    }

    fn node(&mut self, t: i64, p: &Probe) {
        let not_ready = p.target_node.is_some_and(|r| r != Readiness::Ready);
        if self.got.not_ready_ms.is_none() && not_ready {
            self.got.not_ready_ms = Some(t);
            let text = format!("node {} NotReady (Ready=Unknown)", self.target);
            let cm_moved = self.got.lease_taken[1].as_ref().map(|(_, t)| secs(*t));
            self.note(t, text, why::not_ready(&self.target, p.grace_s, cm_moved));
        }
        if self.got.pods_gone_ms.is_none() && p.target_pods_gone {
            self.got.pods_gone_ms = Some(t);
            let text = format!("{}'s control-plane pods stopped", self.target);
            self.note(t, text, why::pods_gone(&self.target));
        }
    }

    fn test_pod(&mut self, t: i64, p: &Probe) {
        if let Some(pod) = &p.test_pod {
            return self.real_test_pod(t, pod.created, pod.node.as_deref(), &p.leases[0]);
        }
        let api = p.endpoint_error.is_none();
        if self.got.pod_created_ms.is_none() && api {
            self.got.pod_created_ms = Some(t);
            self.note(
                t,
                "test pod created through the endpoint",
                "a client creates a pod as soon as the API answers it",
            );
        }
        let sched = &p.leases[0];
        let can = api && sched.active && self.got.pod_created_ms.is_some();
        if let (true, None, Some(node)) = (can, &self.got.pod_scheduled, &p.schedulable_node) {
            self.got.pod_scheduled = Some((node.clone(), t));
            let holder = sched.holder.clone().unwrap_or_default();
            let waited = self.got.lease_taken[0].is_some();
            let text = format!("test pod scheduled on {node}");
            self.note(t, text, why::pod_scheduled(node, waited, &holder));
        }
    }

    /// A live cluster's test pod: created when the API took it, scheduled when the API
    /// says it is bound.
    fn real_test_pod(&mut self, t: i64, created: bool, node: Option<&str>, sched: &LeaseSeen) {
        if self.got.pod_created_ms.is_none() && created {
            self.got.pod_created_ms = Some(t);
            self.note(
                t,
                "test pod created through the endpoint",
                "the drill creates a pause pod as soon as the API answers it",
            );
        }
        if let (None, Some(node)) = (&self.got.pod_scheduled, node) {
            self.got.pod_scheduled = Some((node.to_string(), t));
            let holder = sched.holder.clone().unwrap_or_default();
            let waited = self.got.lease_taken[0].is_some();
            let text = format!("test pod scheduled on {node}");
            self.note(t, text, why::pod_scheduled(node, waited, &holder));
        }
    }

    fn recovery(&mut self, t: i64, restored: i64, p: &Probe) {
        let since = t - restored;
        let target = self.target.clone();
        let api_ok = p.readyz(&target).is_some_and(|r| r.error.is_none());
        if self.is_member(p) && self.got.api_ready_ms.is_none() && api_ok {
            self.got.api_ready_ms = Some(since);
            let text = format!("recovery: {target}'s apiserver ready");
            self.note(
                t,
                text,
                "its /readyz passes: the pod runs and its etcd member serves",
            );
        }
        if self.is_member(p) && self.got.etcd_healthy_ms.is_none() && p.target_member_healthy {
            self.got.etcd_healthy_ms = Some(since);
            let text = format!("recovery: {target}'s etcd member a healthy voter");
            self.note(
                t,
                text,
                "it caught up with the leader's log and votes again",
            );
        }
        let ready = p.target_node == Some(Readiness::Ready);
        if self.got.node_ready_ms.is_some() && p.target_node.is_some_and(|r| r != Readiness::Ready)
        {
            // Still Ready at the restore only because the grace period had not run out
            // (a host that boots goes NotReady meanwhile): it is back when Ready again.
            self.got.node_ready_ms = None;
        }
        if self.got.node_ready_ms.is_none() && ready {
            self.got.node_ready_ms = Some(since);
            let text = format!("recovery: node {target} Ready");
            self.note(
                t,
                text,
                "its kubelet's next heartbeat (every 10 s) got through",
            );
        }
    }

    /// Whether the target is back: apiserver, etcd member (masters) and node.
    pub fn recovered(&self) -> bool {
        let g = &self.got;
        let master = self.readyz_ok.iter().any(|(n, _)| *n == self.target);
        g.node_ready_ms.is_some()
            && (!master || (g.api_ready_ms.is_some() && g.etcd_healthy_ms.is_some()))
    }
}
