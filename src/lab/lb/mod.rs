//! The load balancer in front of the apiservers: what it believes about each master, and
//! where it sends each request. It never asks `/readyz`, so it can disagree with it:
//! - `nlb` (the seed's AWS NLB): a TCP check on 6443 every 10 s, 3 failures drop a target
//!   and 3 passes take it back. A listening apiserver passes even when it cannot serve.
//! - `haproxy` (kubeadm's HA doc): `GET /healthz` over TLS, HAProxy's `check` defaults:
//!   every 2 s, `fall 3`, `rise 2`. `/healthz` includes the etcd check.
//! - `kube-vip` (kubeadm's example manifest): no checks, a VIP held by the master whose
//!   kube-vip holds the `plndr-cp-lock` Lease (5 s / 3 s / 1 s); everything goes there.
//!
//! Once a lab second a request goes through the endpoint to the next backend the balancer
//! considers healthy (round robin): the endpoint's readiness and the API feeds follow it.

pub(crate) mod view;
mod vip;

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::endpoint::ApiHealth;
use super::hosts::{Component, Hosts};

pub(crate) use vip::{VIP_LEASE, Vip};

/// Which load balancer fronts the apiservers (`hatui lab --lb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LbKind {
    /// AWS Network Load Balancer with a TCP health check, as the seed builds it.
    #[default]
    Nlb,
    /// HAProxy with kubeadm's HA-doc configuration.
    Haproxy,
    /// kube-vip in ARP mode: a VIP that follows a leader election.
    KubeVip,
}

impl LbKind {
    pub const ALL: [LbKind; 3] = [LbKind::Nlb, LbKind::Haproxy, LbKind::KubeVip];

    /// The `--lb` value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Nlb => "nlb",
            Self::Haproxy => "haproxy",
            Self::KubeVip => "kube-vip",
        }
    }

    /// How it decides where requests go, for the Endpoint pane.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Nlb => "nlb: TCP check of :6443 every 10s, out after 3 fails",
            Self::Haproxy => "haproxy: GET /healthz every 2s, fall 3, rise 2",
            Self::KubeVip => "kube-vip: VIP on the plndr-cp-lock holder (lease 5s)",
        }
    }

    /// Health-check period, failures to drop and passes to take back; `None`: no checks.
    fn checks(self) -> Option<(i64, u32, u32)> {
        match self {
            Self::Nlb => Some((10, 3, 3)),
            Self::Haproxy => Some((2, 3, 2)),
            Self::KubeVip => None,
        }
    }
}

impl fmt::Display for LbKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LbKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                format!("`{s}` is not a load balancer kind: use nlb, haproxy or kube-vip")
            })
    }
}

/// One master as a checking balancer tracks it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    in_service: bool,
    /// Consecutive failed (while in service) or passed (while out) checks.
    streak: u32,
    /// The check runs in the seconds where `s % period == phase`.
    phase: i64,
}

/// The last request sent through the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Request {
    /// The master it went to; `None` when the balancer had nowhere to send it.
    pub backend: Option<usize>,
    /// Why it failed; `None` when answered.
    pub error: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub(crate) struct Lb {
    pub kind: LbKind,
    targets: Vec<Target>,
    /// Round-robin position: the master the last request went to.
    turn: usize,
    pub last: Request,
    /// Requests failed in a row: a client's watch retries once at once, so it is broken
    /// only when the retry fails too (a watch that breaks and resumes at once goes
    /// unnoticed, as the live cockpit treats it).
    failed_in_row: u32,
    pub vip: Vip,
    /// The masters are its targets (a scenario starts with an empty target group).
    pub registered: bool,
}

impl Lb {
    pub(crate) fn new(kind: LbKind, hosts: &[String], now: i64, mut rng: ChaCha8Rng) -> Self {
        let period = kind.checks().map_or(1, |c| c.0);
        let targets = hosts
            .iter()
            .map(|_| Target {
                in_service: true,
                streak: 0,
                phase: rng.random_range(0..period),
            })
            .collect();
        Self {
            kind,
            targets,
            turn: hosts.len().saturating_sub(1),
            last: Request {
                backend: Some(0),
                error: None,
            },
            failed_in_row: 0,
            vip: Vip::new(hosts, now),
            registered: true,
        }
    }

    /// Before `kubeadm init`: nothing has answered through it yet.
    pub(crate) fn down_from_start(&mut self) {
        self.failed_in_row = 2;
        self.last = Request {
            backend: None,
            error: Some("connection refused (no apiserver listening)"),
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
        match self.kind.checks() {
            Some((period, fall, rise)) => {
                for (i, t) in self.targets.iter_mut().enumerate() {
                    if second.rem_euclid(period) == t.phase && is_target(hosts, i) {
                        t.check(check_passes(self.kind, i, hosts, api), fall, rise);
                    }
                }
            }
            None => self.vip.step(
                now,
                |i| kube_vip_runs(hosts, i),
                |i| hosts.machines[i].powered,
                |i| api.ready(i),
            ),
        }
        self.last = self.request(hosts, api);
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

    /// Where the balancer sends a new connection, and what comes back.
    fn request(&mut self, hosts: &Hosts, api: &ApiHealth) -> Request {
        let backend = match self.kind {
            LbKind::KubeVip => self.vip.holder_running(),
            kind => {
                let n = self.targets.len();
                let target = |i: usize| self.registered && is_target(hosts, i);
                let serving = |i: usize| target(i) && self.targets[i].in_service;
                // An NLB whose every target fails its checks fails open (sends to all);
                // HAProxy with no server left answers 503 itself.
                let any = (0..n).any(serving);
                let open = kind == LbKind::Nlb && !any;
                let next = (1..=n)
                    .map(|k| (self.turn + k) % n)
                    .find(|&i| serving(i) || (open && target(i)));
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
            kind => {
                let n = self.targets.len();
                let targets: Vec<usize> = (0..n)
                    .filter(|&i| self.registered && is_target(hosts, i))
                    .collect();
                let serving: Vec<usize> = targets
                    .iter()
                    .copied()
                    .filter(|&i| self.targets[i].in_service)
                    .collect();
                // As in `request`: an NLB with no target in service fails open.
                let pool: Vec<usize> = if serving.is_empty() && kind == LbKind::Nlb {
                    targets
                } else {
                    serving
                };
                (!pool.is_empty()).then(|| pool[(seq % pool.len() as u64) as usize])
            }
        };
        self.answer(backend, hosts, api)
    }

    fn answer(&self, backend: Option<usize>, hosts: &Hosts, api: &ApiHealth) -> Request {
        let error = match backend {
            None if !self.registered => {
                Some("timed out: the load balancer has no targets registered")
            }
            None if self.kind == LbKind::KubeVip => Some("timed out: no master holds the VIP"),
            None => Some("503 Service Unavailable: no server is available"),
            Some(i) => request_error(i, hosts, api),
        };
        Request { backend, error }
    }

    /// Whether the balancer sends new connections to master `i`.
    pub(crate) fn serving(&self, i: usize) -> bool {
        match self.kind {
            LbKind::KubeVip => self.vip.holder_running() == Some(i),
            _ => self.targets[i].in_service,
        }
    }
}

impl Target {
    fn check(&mut self, passed: bool, fall: u32, rise: u32) {
        if passed == self.in_service {
            self.streak = 0;
            return;
        }
        self.streak += 1;
        let needed = if self.in_service { fall } else { rise };
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

/// The balancer's own check of master `i`. The LB is not behind a partition (`N` cuts
/// masters off each other, not off the LB).
fn check_passes(kind: LbKind, i: usize, hosts: &Hosts, api: &ApiHealth) -> bool {
    let listening = hosts.machines[i].powered && hosts.cps[i].pod(Component::ApiServer).running;
    match kind {
        // A TCP handshake: anything listening on 6443 passes.
        LbKind::Nlb => listening,
        // `/healthz` fails with the apiserver's etcd check, as `/readyz` does.
        LbKind::Haproxy => listening && api.ready(i),
        LbKind::KubeVip => true,
    }
}

/// What a client sees from a request that reached master `i`.
fn request_error(i: usize, hosts: &Hosts, api: &ApiHealth) -> Option<&'static str> {
    if !hosts.machines[i].powered {
        Some("timed out (the master is powered off)")
    } else if !hosts.cps[i].pod(Component::ApiServer).running {
        Some("connection refused (no apiserver listening)")
    } else if !api.ready(i) {
        Some("timed out waiting for etcd (the apiserver cannot serve)")
    } else {
        None
    }
}

/// kube-vip is a static pod too: it runs while the host is powered and its manifest is in
/// place (after `C`, until the kubelet's check stops the pods with it).
fn kube_vip_runs(hosts: &Hosts, i: usize) -> bool {
    let cp = &hosts.cps[i];
    let any_pod = Component::ALL.iter().any(|&c| cp.pod(c).running);
    hosts.machines[i].powered && (cp.manifests || any_pod)
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
        };
        for passed in [false, false, true, false, false] {
            t.check(passed, 3, 2);
        }
        assert!(t.in_service, "a pass in between starts the count again");
        t.check(false, 3, 2);
        assert!(!t.in_service);
        t.check(true, 3, 2);
        assert!(!t.in_service);
        t.check(true, 3, 2);
        assert!(t.in_service);
    }

    #[test]
    fn kinds_parse_from_their_names() {
        for k in LbKind::ALL {
            assert_eq!(k.name().parse::<LbKind>(), Ok(k));
        }
        assert!(
            "elb"
                .parse::<LbKind>()
                .unwrap_err()
                .contains("nlb, haproxy or kube-vip")
        );
    }
}
