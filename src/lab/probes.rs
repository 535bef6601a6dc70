//! What a failover drill samples between the lab's own once-a-second checks: who actually
//! does a leader's work, and the drill's own requests.
//!
//! The drill's requests are answered as the live sampler's are
//! (`drill::live::sample`): one request out per target at a time (through the endpoint on
//! a new connection, on one kept-alive connection, each master's `/readyz`); a request
//! that nothing answers (a powered-off host, an apiserver waiting for etcd, a VIP nobody
//! holds) lasts the client's timeout, 1 s, and its answer stands for every 100 ms tick it
//! spans; a refused or closed connection fails at once.

use std::collections::BTreeMap;
use std::sync::Mutex;

use hatui_model::EndpointHealth;

use super::Lab;
use super::hosts::Component;
use super::views;

/// How long a drill's request waits for an answer (`drill::live::sample::TIMEOUT`).
pub const REQUEST_TIMEOUT_MS: i64 = 1_000;

/// One request's outcome as the drill records it.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillAnswer {
    pub error: Option<String>,
    pub latency_ms: Option<f64>,
    /// The master it reached, when it reached one.
    pub backend: Option<String>,
}

/// The drill's requests at one tick.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillRequests {
    /// Through the endpoint, on a new connection.
    pub endpoint: DrillAnswer,
    /// Through the endpoint, on the one kept-alive connection.
    pub keepalive: DrillAnswer,
    /// Each master's `/readyz`, asked directly (masters in order).
    pub masters: Vec<(String, DrillAnswer)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Endpoint,
    KeepAlive,
    Master(usize),
}

/// A request out: when it was sent, when its answer comes (lab ms), and the answer.
#[derive(Debug, Clone)]
struct Out {
    sent: i64,
    ends: i64,
    answer: DrillAnswer,
}

#[derive(Debug, Clone, Default)]
struct Requests {
    out: BTreeMap<Key, Out>,
    /// New connections opened through the endpoint (they spread over the backends).
    opened: u64,
    /// The master the kept-alive connection is on; `None`: the next request opens one.
    kept: Option<usize>,
}

impl Requests {
    /// The request for `key` still out at `now`, else a new one `ask` answers (with how
    /// long it takes).
    fn ask(
        &mut self,
        key: Key,
        now: i64,
        ask: impl FnOnce(&mut Self) -> (DrillAnswer, i64),
    ) -> DrillAnswer {
        if let Some(o) = self
            .out
            .get(&key)
            .filter(|o| o.sent <= now && now <= o.ends)
        {
            return o.answer.clone();
        }
        let (answer, lasts) = ask(self);
        let out = Out {
            sent: now,
            ends: now + lasts,
            answer: answer.clone(),
        };
        self.out.insert(key, out);
        answer
    }
}

/// The drill's requests, kept with the lab they ask (a lab is asked by one drill at a
/// time). Behind a lock only so that asking needs no `&mut Lab`.
#[derive(Debug, Default)]
pub(crate) struct DrillClients(Mutex<Requests>);

impl Clone for DrillClients {
    fn clone(&self) -> Self {
        let r = self.0.lock().unwrap_or_else(|e| e.into_inner());
        Self(Mutex::new(r.clone()))
    }
}

/// How long an answer took: its latency, or the timeout when nothing answers.
fn lasts(error: bool, hangs: bool, latency_ms: Option<f64>) -> i64 {
    match (error, hangs) {
        (true, true) => REQUEST_TIMEOUT_MS,
        (true, false) => 0,
        (false, _) => latency_ms.map_or(0, |ms| ms.ceil() as i64),
    }
}

impl Lab {
    /// Whether a copy of the component behind Lease `name` (`kube-scheduler`,
    /// `kube-controller-manager`) leads and can work: it holds the lease, believes it leads,
    /// and its local apiserver answers. A lease still naming a dead master is not active.
    pub fn lease_active(&self, name: &str) -> bool {
        let e = self.leases.iter().find(|e| e.name == name);
        e.is_some_and(|e| e.active(|i| self.api.ready(i)))
    }

    /// One request on a new connection through the endpoint right now (`ready`, `detail`,
    /// `latency_ms` as [`Lab::endpoint`] has them), sent to the `seq`-th backend the balancer
    /// has in service. Changes nothing: the balancer's own once-a-second request, and the
    /// API feeds that follow it, go on as before.
    pub fn endpoint_request(&self, seq: u64) -> EndpointHealth {
        let req = self.lb.probe(seq, &self.hosts, &self.api);
        self.lb.endpoint_after(req, &self.cfg, &self.api)
    }

    /// The drill's requests at the tick `seq` of a drill on `target` (ticks every 100 ms
    /// from 1; 0 looks without sending: before the fault, at the restore). Tick 1 starts a
    /// new drill: the kept-alive connection is on the target (a client that was talking
    /// to it when the fault struck), as the drill's engine assumes.
    pub fn drill_requests(&self, target: &str, seq: u64) -> DrillRequests {
        let mut lock = self
            .drill_clients
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if seq == 1 {
            *lock = Requests {
                kept: self
                    .cfg
                    .index_of(target)
                    .filter(|&i| self.hosts.is_master(i)),
                ..Requests::default()
            };
        }
        let mut look = (seq == 0).then(|| lock.clone());
        let r = look.as_mut().unwrap_or(&mut lock);
        let now = self.now;
        let endpoint = r.ask(Key::Endpoint, now, |r| self.new_connection(r));
        let keepalive = r.ask(Key::KeepAlive, now, |r| self.kept_alive(r));
        let masters = (0..self.cfg.control_planes)
            .map(|i| {
                let a = r.ask(Key::Master(i), now, |_| self.readyz(i));
                (self.cfg.name(i), a)
            })
            .collect();
        DrillRequests {
            endpoint,
            keepalive,
            masters,
        }
    }

    /// A request on a new connection through the endpoint.
    fn new_connection(&self, r: &mut Requests) -> (DrillAnswer, i64) {
        let req = self.lb.probe(r.opened, &self.hosts, &self.api);
        r.opened += 1;
        let ep = self.lb.endpoint_after(req, &self.cfg, &self.api);
        let error = match ep.ready {
            Some(true) => None,
            _ => Some(ep.detail.unwrap_or_else(|| "no answer".into())),
        };
        let took = lasts(error.is_some(), req.hangs, ep.latency_ms);
        let answer = DrillAnswer {
            error,
            latency_ms: ep.latency_ms,
            backend: req.backend.map(|i| self.cfg.name(i)),
        };
        (answer, took)
    }

    /// A request on the kept-alive connection: its master answers, or it fails and the
    /// client drops it (the next request opens a new one through the balancer).
    fn kept_alive(&self, r: &mut Requests) -> (DrillAnswer, i64) {
        let Some(i) = r.kept else {
            let (answer, took) = self.new_connection(r);
            if answer.error.is_none() {
                r.kept = answer.backend.as_deref().and_then(|n| self.cfg.index_of(n));
            }
            return (answer, took);
        };
        let failure = self.lb.kept_connection_error(i, &self.hosts, &self.api);
        let latency = failure
            .is_none()
            .then(|| ((self.api.latency_ms[i] + self.api.hop_ms()) * 10.0).round() / 10.0);
        if failure.is_some() {
            r.kept = None;
        }
        let hangs = failure.is_some_and(|f| f.1);
        let answer = DrillAnswer {
            error: failure.map(|(why, _)| format!("via {} (kept alive): {why}", self.cfg.name(i))),
            latency_ms: latency,
            backend: Some(self.cfg.name(i)),
        };
        (answer, lasts(failure.is_some(), hangs, latency))
    }

    /// Master `i`'s `/readyz`, asked directly: a powered-off host and an apiserver whose
    /// etcd check waits (longer than the client does) do not answer; one not listening
    /// refuses at once.
    fn readyz(&self, i: usize) -> (DrillAnswer, i64) {
        let a = views::apiserver(&self.cfg, &self.api, i);
        let running = self.hosts.cps[i].pod(Component::ApiServer).running;
        let hangs = !self.hosts.machines[i].powered || running;
        let error = (!a.ready).then(|| a.detail.unwrap_or_else(|| "not ready".into()));
        let took = lasts(error.is_some(), hangs, a.latency_ms);
        let answer = DrillAnswer {
            error,
            latency_ms: a.latency_ms,
            backend: Some(a.node),
        };
        (answer, took)
    }
}
