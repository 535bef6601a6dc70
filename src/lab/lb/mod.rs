//! The load balancer in front of the apiservers: what it believes about each master, and
//! where it sends each request. It never asks `/readyz`, so it can disagree with it:
//! - `nlb` (the seed's AWS NLB, as AWS creates a TCP target group by default; AWS's
//!   CreateTargetGroup reference and "Health checks for Network Load Balancer target
//!   groups"): an active TCP check of 6443 every 30 s, timeout 10 s, 2 failures take a
//!   target out and 5 passes bring it back. A listening apiserver passes even when it
//!   cannot serve. Passive checks too: the NLB watches the connections it forwards and
//!   takes out a target whose connection fails before the active checks do (AWS documents
//!   no timing: the lab takes it out on one refused connection at once, or one unanswered
//!   for the check timeout, 10 s, and an active pass brings it back). With every target
//!   unhealthy it fails open: it sends to all of them.
//! - `haproxy` (kubeadm's HA doc, on the masters with keepalived, as the wizard installs
//!   it): `GET /healthz` over TLS, HAProxy's `check` defaults: every 2 s, `fall 3`,
//!   `rise 2`; a check to a host that does not answer fails after its connect timeout
//!   (2 s: the smaller of `timeout connect` and `inter`). `/healthz` includes the etcd
//!   check. A refused connection is retried once on another server (`retries 1`, `option
//!   redispatch`). In `mode tcp` with no server left HAProxy closes the connection (no 503).
//!   Clients reach it on a VIP that keepalived holds on one master (cp-1, priority 101;
//!   the others 100): when that master dies the VIP moves once the others stop hearing its
//!   advertisements, 3 x `advert_int` (1 s) + skew (0.6 s) after the last one.
//! - `kube-vip` (kubeadm's example manifest): no checks, a VIP held by the master whose
//!   kube-vip holds the `plndr-cp-lock` Lease (5 s / 3 s / 1 s); everything goes there.
//!
//! `--lb-check INTERVAL/UNHEALTHY/HEALTHY` replaces the active check's timing (nlb,
//! haproxy).
//!
//! Once a lab second a request goes through the endpoint to the next backend the balancer
//! considers healthy (round robin): the endpoint's readiness and the API feeds follow it.

mod kind;
pub(crate) mod view;
mod vip;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::endpoint::ApiHealth;
use super::hosts::{Component, Hosts};

pub use kind::{LbCheck, LbKind};
pub(crate) use vip::{Keepalived, VIP_LEASE, Vip};

/// One master as a checking balancer tracks it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    in_service: bool,
    /// Consecutive failed (while in service) or passed (while out) checks.
    streak: u32,
    /// The check runs in the seconds where `s % period == phase`.
    phase: i64,
    /// A check the target has not answered: it fails at this lab second.
    pending: Option<i64>,
    /// The NLB's passive check took it out (until an active check passes).
    passive_out: bool,
    /// A forwarded connection the target has not answered: it counts as failed then.
    passive_due: Option<i64>,
}

/// The last request sent through the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Request {
    /// The master it went to; `None` when the balancer had nowhere to send it.
    pub backend: Option<usize>,
    /// Why it failed; `None` when answered.
    pub error: Option<&'static str>,
    /// Nothing answers: the client waits for its own timeout (a SYN or a request left
    /// unanswered), where a refused or closed connection fails at once.
    pub hangs: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Lb {
    pub kind: LbKind,
    /// The active check's timing (`--lb-check`, else the kind's default).
    pub check: Option<LbCheck>,
    targets: Vec<Target>,
    /// Round-robin position: the master the last request went to.
    turn: usize,
    pub last: Request,
    /// Requests failed in a row: a client's watch retries once at once, so it is broken
    /// only when the retry fails too (a watch that breaks and resumes at once goes
    /// unnoticed, as the live cockpit treats it).
    failed_in_row: u32,
    pub vip: Vip,
    /// HAProxy's VIP (`haproxy` only).
    pub keepalived: Keepalived,
    /// The masters are its targets (a scenario starts with an empty target group).
    pub registered: bool,
    /// Per master: in the target group (HAProxy's backends). A master the inventory adds
    /// later starts out; a master taken out by a shrink leaves it.
    pub listed: Vec<bool>,
}

impl Lb {
    pub(crate) fn new(
        kind: LbKind,
        check: Option<LbCheck>,
        hosts: &[String],
        now: i64,
        mut rng: ChaCha8Rng,
    ) -> Self {
        let check = kind.default_check().and(check.or(kind.default_check()));
        let period = check.map_or(1, |c| i64::from(c.interval_s));
        let targets = hosts
            .iter()
            .map(|_| Target {
                in_service: true,
                streak: 0,
                phase: rng.random_range(0..period),
                pending: None,
                passive_out: false,
                passive_due: None,
            })
            .collect();
        Self {
            kind,
            check,
            targets,
            turn: hosts.len().saturating_sub(1),
            last: Request {
                backend: Some(0),
                error: None,
                hangs: false,
            },
            failed_in_row: 0,
            vip: Vip::new(hosts, now),
            keepalived: Keepalived::new(hosts, now),
            registered: true,
            listed: vec![true; hosts.len()],
        }
    }

    /// Before `kubeadm init`: nothing has answered through it yet.
    pub(crate) fn down_from_start(&mut self) {
        self.failed_in_row = 2;
        self.last = Request {
            backend: None,
            error: Some("connection refused (no apiserver listening)"),
            hangs: false,
        };
    }

    /// A new connection would reach a ready apiserver (kubeadm's own clients retry until
    /// one does).
    pub(crate) fn reaches_ready(&self, hosts: &Hosts, api: &ApiHealth) -> bool {
        let n = self.targets.len() as u64;
        (0..n.max(1)).any(|seq| self.probe(seq, hosts, api).error.is_none())
    }

    /// The once-a-second work: health checks (or kube-vip's election), then one request.
    pub(crate) fn tick(&mut self, now: i64, hosts: &Hosts, api: &ApiHealth) {
        let second = now.div_euclid(1_000);
        match self.check {
            Some(c) => {
                let timeout = self.kind.check_timeout_s(c);
                let listed = &self.listed;
                for (i, t) in self.targets.iter_mut().enumerate() {
                    if t.pending.is_some_and(|due| second >= due) {
                        t.pending = None;
                        t.check(false, c);
                    }
                    let due = second.rem_euclid(i64::from(c.interval_s)) == t.phase;
                    if due && t.pending.is_none() && listed[i] && is_target(hosts, i) {
                        match check_answer(self.kind, i, hosts, api) {
                            CheckAnswer::Pass => t.check(true, c),
                            CheckAnswer::Fail => t.check(false, c),
                            CheckAnswer::NoAnswer => t.pending = Some(second + timeout),
                        }
                    }
                    if t.passive_due.is_some_and(|due| second >= due) {
                        t.passive_due = None;
                        t.passive_out = true;
                    }
                }
                if self.kind == LbKind::Haproxy {
                    self.keepalived.step(now, |i| hosts.machines[i].powered);
                }
            }
            None => self.vip.step(
                now,
                |i| kube_vip_runs(hosts, i),
                // A clean stop (or shutdown) releases the lease; a cut does not.
                |i| hosts.machines[i].powered || hosts.off_cleanly(i),
                |i| api.ready(i),
            ),
        }
        self.last = self.request(hosts, api);
        if self.kind == LbKind::Nlb
            && let Some(i) = self.last.backend
        {
            // The passive check: the NLB sees how the connection it forwarded went.
            let t = &mut self.targets[i];
            match (self.last.error, self.last.hangs) {
                (Some(_), false) if !listening(i, hosts) => t.passive_out = true,
                (Some(_), true) if !hosts.machines[i].powered => {
                    let timeout = self.check.map_or(10, |c| self.kind.check_timeout_s(c));
                    t.passive_due.get_or_insert(second + timeout);
                }
                _ => {}
            }
        }
        self.failed_in_row = match self.last.error {
            Some(_) => self.failed_in_row + 1,
            None => 0,
        };
    }

    /// Reads through the endpoint (the API feeds) work: the last request or its retry
    /// was answered.
    pub(crate) fn reads_work(&self) -> bool {
        self.failed_in_row < 2
    }

    /// Whether new connections go to target `i` (registered, installed, in service).
    fn takes(&self, i: usize, hosts: &Hosts) -> bool {
        let t = &self.targets[i];
        self.registered && self.listed[i] && is_target(hosts, i) && t.in_service && !t.passive_out
    }

    /// The targets a new connection may go to: those in service, else (an NLB failing
    /// open) every registered one.
    fn pool(&self, hosts: &Hosts) -> Vec<usize> {
        let n = self.targets.len();
        let serving: Vec<usize> = (0..n).filter(|&i| self.takes(i, hosts)).collect();
        if serving.is_empty() && self.kind == LbKind::Nlb {
            (0..n)
                .filter(|&i| self.registered && self.listed[i] && is_target(hosts, i))
                .collect()
        } else {
            serving
        }
    }

    /// Where the balancer sends a new connection, and what comes back.
    fn request(&mut self, hosts: &Hosts, api: &ApiHealth) -> Request {
        let backend = match self.kind {
            LbKind::KubeVip => self.vip.holder_running(),
            _ => {
                let pool = self.pool(hosts);
                let n = self.targets.len();
                let next = (1..=n)
                    .map(|k| (self.turn + k) % n)
                    .find(|i| pool.contains(i));
                if let Some(i) = next {
                    self.turn = i;
                }
                next
            }
        };
        self.answer(backend, hosts, api)
    }

    /// What a new connection opened now would get, without moving the balancer's own round
    /// robin: the `seq`-th backend in service, as a client's many connections spread over
    /// them (the drill's 100 ms requests; the balancer's own request stays once a second).
    pub(crate) fn probe(&self, seq: u64, hosts: &Hosts, api: &ApiHealth) -> Request {
        let backend = match self.kind {
            LbKind::KubeVip => self.vip.holder_running(),
            _ => {
                let pool = self.pool(hosts);
                (!pool.is_empty()).then(|| pool[(seq % pool.len() as u64) as usize])
            }
        };
        self.answer(backend, hosts, api)
    }

    fn answer(&self, backend: Option<usize>, hosts: &Hosts, api: &ApiHealth) -> Request {
        if self.kind == LbKind::Haproxy && self.keepalived.holder_down(hosts) {
            // Nobody answers on the VIP until keepalived moves it.
            return Request {
                backend: None,
                error: Some(
                    "timed out: the VIP is on a powered-off master until keepalived moves it",
                ),
                hangs: true,
            };
        }
        // HAProxy (`retries 1`, `option redispatch`) retries a refused connection once, on
        // another server: the client sees that one's answer. A connect that times out is
        // retried only after `timeout connect` (5 s), long after the client gave up.
        let backend = match backend {
            Some(i) if self.kind == LbKind::Haproxy && refuses(i, hosts) => {
                let pool = self.pool(hosts);
                let n = self.targets.len();
                let other = (1..n).map(|k| (i + k) % n).find(|j| pool.contains(j));
                other.or(backend)
            }
            b => b,
        };
        let fail = |error, hangs| Request {
            backend,
            error: Some(error),
            hangs,
        };
        match backend {
            None if !self.registered => fail(
                "timed out: the load balancer has no targets registered",
                true,
            ),
            None if self.kind == LbKind::KubeVip => {
                fail("timed out: no master holds the VIP", true)
            }
            None => fail(
                "connection closed by HAProxy: no server is available",
                false,
            ),
            Some(i) => match request_error(i, hosts, api) {
                Some((error, hangs)) => fail(error, hangs),
                None => Request {
                    backend,
                    error: None,
                    hangs: false,
                },
            },
        }
    }

    /// What a request on a connection already open to master `i` (through the balancer)
    /// gets, and whether it hangs: the master's own failure; with HAProxy, nothing while
    /// the VIP sits on a dead master; with an NLB, a reset once the target is unhealthy
    /// (AWS: unless it fails open).
    pub(crate) fn kept_connection_error(
        &self,
        i: usize,
        hosts: &Hosts,
        api: &ApiHealth,
    ) -> Option<(&'static str, bool)> {
        if self.kind == LbKind::Haproxy && self.keepalived.holder_down(hosts) {
            return Some(("timed out: the VIP is on a powered-off master", true));
        }
        let open = (0..self.targets.len()).all(|j| !self.takes(j, hosts));
        if self.kind == LbKind::Nlb && !self.serving(i) && !open {
            return Some((
                "connection reset by the NLB: its target is unhealthy",
                false,
            ));
        }
        match request_error(i, hosts, api) {
            Some((_, false)) => Some(("connection reset (the apiserver stopped)", false)),
            other => other,
        }
    }

    /// Whether the balancer sends new connections to master `i`.
    pub(crate) fn serving(&self, i: usize) -> bool {
        match self.kind {
            LbKind::KubeVip => self.vip.holder_running() == Some(i),
            _ => self.targets[i].in_service && !self.targets[i].passive_out,
        }
    }
}

impl Target {
    fn check(&mut self, passed: bool, c: LbCheck) {
        if passed {
            // A passing active check ends a passive take-out.
            self.passive_out = false;
            self.passive_due = None;
        }
        if passed == self.in_service {
            self.streak = 0;
            return;
        }
        self.streak += 1;
        let needed = if self.in_service {
            c.unhealthy
        } else {
            c.healthy
        };
        if self.streak >= needed {
            self.in_service = !self.in_service;
            self.streak = 0;
        }
    }
}

/// A master joins the balancer's pool once kubeadm has put an apiserver there (the plan
/// registers the masters up front; a target with nothing installed is not counted).
fn is_target(hosts: &Hosts, i: usize) -> bool {
    hosts.installed(i, Component::ApiServer)
}

/// Master `i` is up but nothing listens on 6443: a connection is refused at once.
fn refuses(i: usize, hosts: &Hosts) -> bool {
    hosts.machines[i].powered && !hosts.cps[i].pod(Component::ApiServer).running
}

/// Something accepts connections on master `i`'s 6443.
fn listening(i: usize, hosts: &Hosts) -> bool {
    hosts.machines[i].powered && hosts.cps[i].pod(Component::ApiServer).running
}

enum CheckAnswer {
    Pass,
    Fail,
    /// The host does not answer: the check fails after its timeout.
    NoAnswer,
}

/// The balancer's own check of master `i`. The LB is not behind a partition (`N` cuts
/// masters off each other, not off the LB).
fn check_answer(kind: LbKind, i: usize, hosts: &Hosts, api: &ApiHealth) -> CheckAnswer {
    if !hosts.machines[i].powered {
        return CheckAnswer::NoAnswer;
    }
    let passes = match kind {
        // A TCP handshake: anything listening on 6443 passes.
        LbKind::Nlb => listening(i, hosts),
        // `/healthz` fails with the apiserver's etcd check, as `/readyz` does.
        LbKind::Haproxy => listening(i, hosts) && api.ready(i),
        LbKind::KubeVip => true,
    };
    if passes {
        CheckAnswer::Pass
    } else {
        CheckAnswer::Fail
    }
}

/// What a client sees from a request that reached master `i`, and whether it hangs until
/// the client's timeout.
fn request_error(i: usize, hosts: &Hosts, api: &ApiHealth) -> Option<(&'static str, bool)> {
    if !hosts.machines[i].powered {
        Some(("timed out (the master is powered off)", true))
    } else if !hosts.cps[i].pod(Component::ApiServer).running {
        Some(("connection refused (no apiserver listening)", false))
    } else if !api.ready(i) {
        Some((
            "timed out waiting for etcd (the apiserver cannot serve)",
            true,
        ))
    } else {
        None
    }
}

/// kube-vip is a static pod of its own: the control-plane fault (`C`) moves only the four
/// control-plane manifests, so it runs while the host is powered (see `Hosts`).
fn kube_vip_runs(hosts: &Hosts, i: usize) -> bool {
    hosts.kube_vip_runs(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_falls_after_fall_failures_and_rises_after_rise_passes() {
        let mut t = Target {
            in_service: true,
            streak: 0,
            phase: 0,
            pending: None,
            passive_out: false,
            passive_due: None,
        };
        let c = LbCheck {
            interval_s: 2,
            unhealthy: 3,
            healthy: 2,
        };
        for passed in [false, false, true, false, false] {
            t.check(passed, c);
        }
        assert!(t.in_service, "a pass in between starts the count again");
        t.check(false, c);
        assert!(!t.in_service);
        t.check(true, c);
        assert!(!t.in_service);
        t.check(true, c);
        assert!(t.in_service);
    }
}
