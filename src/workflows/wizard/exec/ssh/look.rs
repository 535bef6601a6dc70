//! The cluster as the engine's waits and its "already done" check need it, on real hosts
//! before admin.conf is on the bastion: looked at over the SSH sessions already open, as
//! root on the first master that has `/etc/kubernetes/admin.conf` (init and each
//! control-plane join write it):
//! - `kubectl get nodes,leases,secrets,configmaps -n kube-system -o json`: the nodes and
//!   their Ready condition, the leader leases, the bootstrap tokens and `kubeadm-certs`
//!   (the join material's countdowns), `kubeadm-config` (`controlPlaneEndpoint`), turned
//!   into events by the live watchers' projections, which drop token secrets on arrival;
//! - `kubectl get --raw /readyz`: admin.conf's server is the control-plane endpoint;
//! - each master's own `/readyz` with `curl -k`, as the verify step checks it;
//! - `etcdctl member list` and `endpoint status --cluster` in that master's etcd pod.

use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::Remote;
use crate::wizard::plan::{ADMIN_CONF, etcdctl_with};
use hatui_fleet::inventory::Inventory;
use hatui_fleet::ssh::{ExecOutput, shell_quote};
use hatui_model::{ApiServerHealth, ClusterEvent, EndpointHealth, FeedKind, FeedStatus};
use hatui_sources::live::listed::Listed;

/// How often the cluster is looked at while the engine waits with nothing running.
pub const EVERY: Duration = Duration::from_secs(2);
/// One look command, kubectl's own timeout included.
const TIMEOUT: Duration = Duration::from_secs(20);
/// What kubectl says on a master where kubeadm has not written admin.conf (yet):
/// `error: stat /etc/kubernetes/admin.conf: no such file or directory`.
const NO_ADMIN_CONF: &str = "no such file or directory";
/// The shell's exit code for a command it cannot find.
const COMMAND_NOT_FOUND: u32 = 127;
/// What the panes say while no master has admin.conf, as the bare lab says it.
const NO_API: &str =
    "no API yet: no master reached has /etc/kubernetes/admin.conf (kubeadm init has not run)";

fn kubectl() -> String {
    format!("kubectl --kubeconfig {ADMIN_CONF} --request-timeout=5s")
}

pub(super) struct Look {
    /// `(name, address)` of the masters, in inventory order.
    masters: Vec<(String, String)>,
    endpoint: String,
    listed: Listed,
    last: Option<Instant>,
    /// Commands ended since the last look: what they did is not seen yet.
    stale: bool,
}

impl Look {
    pub fn new(inv: &Inventory) -> Self {
        Self {
            masters: inv
                .control_planes()
                .map(|h| (h.name.clone(), h.address.clone()))
                .collect(),
            endpoint: inv.endpoint.to_string(),
            listed: Listed::new(hatui_sources::live::wall_clock()),
            last: None,
            stale: true,
        }
    }

    /// Looks through `first` before the others (the master a day-2 plan runs through,
    /// whose member stays), and leaves `leaving` out altogether: a master whose member was
    /// removed has an etcd pod that no longer answers, and its apiserver is going away.
    pub fn through(&mut self, first: &str, leaving: &[String]) {
        self.masters.retain(|(n, _)| !leaving.contains(n));
        if let Some(at) = self.masters.iter().position(|(n, _)| n == first) {
            let m = self.masters.remove(at);
            self.masters.insert(0, m);
        }
        self.stale = true;
    }

    pub fn commands_ended(&mut self) {
        self.stale = true;
    }

    pub fn stale(&self) -> bool {
        self.stale || self.last.is_none()
    }

    /// How long until the next look is due.
    pub fn due_in(&self) -> Duration {
        match self.last {
            Some(at) if !self.stale => EVERY.saturating_sub(at.elapsed()),
            _ => Duration::ZERO,
        }
    }

    /// One look; the events say what changed (nothing while no master has admin.conf).
    pub async fn look(&mut self, r: &Remote) -> Vec<ClusterEvent> {
        self.last = Some(Instant::now());
        self.stale = false;
        let mut events = vec![ClusterEvent::Clock(Timestamp::now())];
        let (m, objects) = match self.first_master(r).await {
            Ok(found) => found,
            Err(Some(why)) => {
                events.push(endpoint(&self.endpoint, false, Some(why)));
                return events;
            }
            Err(None) => {
                events.push(endpoint(&self.endpoint, false, Some(NO_API.into())));
                let kinds = [FeedKind::Nodes, FeedKind::Leases, FeedKind::Tokens];
                let kinds = kinds
                    .into_iter()
                    .chain([FeedKind::Etcd, FeedKind::Endpoint]);
                events.extend(kinds.map(|k| feed(k, Some(NO_API.into()))));
                return events;
            }
        };
        match self.listed.relist(&objects) {
            Ok(ev) => events.extend(ev),
            Err(e) => events.push(feed(FeedKind::Nodes, Some(format!("kubectl on {m}: {e}")))),
        }
        drop(objects);
        let readyz = format!("{} get --raw /readyz", kubectl());
        let members = etcdctl_with(&kubectl(), &m, "member list -w json");
        let statuses = etcdctl_with(&kubectl(), &m, "endpoint status --cluster -w json");
        let probes = self.apiserver_probes();
        let (readyz, apis, members, statuses) = tokio::join!(
            r.capture(&m, &readyz, TIMEOUT),
            r.capture(&m, &probes, TIMEOUT),
            r.capture(&m, &members, TIMEOUT),
            r.capture(&m, &statuses, TIMEOUT),
        );
        events.push(match readyz {
            Ok(out) if out.exit == Some(0) => endpoint(&self.endpoint, true, None),
            Ok(out) => endpoint(&self.endpoint, false, Some(said(&out))),
            Err(e) => endpoint(&self.endpoint, false, Some(e)),
        });
        events.push(feed(FeedKind::Endpoint, None));
        if let Ok(out) = apis {
            events.extend(self.apiservers(&String::from_utf8_lossy(&out.stdout)));
        }
        // kubectl exec rather than crictl exec: it reaches the pod from wherever
        // admin.conf is, by the name kubeadm gives it, without looking up a container
        // id first, and it is what the verify step runs; etcdctl is not on the host.
        let pod = format!("etcd-{m}");
        let etcd = match (members, statuses) {
            (Ok(list), statuses) if list.exit == Some(0) => {
                // etcdctl prints the members that answered and exits 1 if one did not.
                let statuses = statuses.map(|s| s.stdout).unwrap_or_default();
                let via = Some(format!("etcdctl in {pod} over SSH"));
                hatui_sources::etcd::etcdctl::status(&list.stdout, &statuses, via, Timestamp::now())
            }
            (Ok(list), _) => Err(said(&list)),
            (Err(e), _) => Err(e),
        };
        match etcd {
            Ok(status) => {
                events.push(ClusterEvent::Etcd(status));
                events.push(feed(FeedKind::Etcd, None));
            }
            Err(e) => events.push(feed(FeedKind::Etcd, Some(format!("etcdctl in {pod}: {e}")))),
        }
        events
    }

    /// The first master whose admin.conf answers, and the objects it listed. `Err(None)`:
    /// no master has admin.conf (or none is reachable); `Err(Some(why))`: one has, but the
    /// API does not answer through it (the others' name the same endpoint).
    async fn first_master(&self, r: &Remote) -> Result<(String, Vec<u8>), Option<String>> {
        let objects = format!(
            "{} -n kube-system get nodes,leases,secrets,configmaps -o json",
            kubectl()
        );
        for (name, _) in &self.masters {
            match r.capture(name, &objects, TIMEOUT).await {
                Ok(out) if out.exit == Some(0) => return Ok((name.clone(), out.stdout)),
                // No kubectl (yet): a machine racked to replace a dead master, say.
                Ok(out) if out.exit == Some(COMMAND_NOT_FOUND) => {}
                Ok(out) if !said(&out).contains(NO_ADMIN_CONF) => {
                    return Err(Some(format!("kubectl on {name}: {}", said(&out))));
                }
                _ => {}
            }
        }
        Err(None)
    }

    /// One shell loop: `<url> ok`, or `<url> <curl's error>`, per master.
    fn apiserver_probes(&self) -> String {
        let urls: Vec<String> = self
            .masters
            .iter()
            .map(|(_, a)| shell_quote(&url(a)))
            .collect();
        format!(
            "for u in {}; do if out=$(curl -fsSk --max-time 5 \"$u\" 2>&1); then echo \"$u ok\"; else echo \"$u $out\"; fi; done",
            urls.join(" ")
        )
    }

    fn apiservers(&self, said: &str) -> Vec<ClusterEvent> {
        let mut out = Vec::new();
        for (name, addr) in &self.masters {
            let u = url(addr);
            let Some(rest) = said.lines().find_map(|l| l.strip_prefix(&format!("{u} "))) else {
                continue;
            };
            let ready = rest == "ok";
            out.push(ClusterEvent::ApiServer(ApiServerHealth {
                node: name.clone(),
                address: u
                    .trim_start_matches("https://")
                    .trim_end_matches("/readyz")
                    .into(),
                ready,
                detail: (!ready).then(|| rest.to_string()),
                latency_ms: None,
                etcd_ok: None,
            }));
        }
        out
    }
}

fn url(address: &str) -> String {
    if address.contains(':') {
        format!("https://[{address}]:6443/readyz")
    } else {
        format!("https://{address}:6443/readyz")
    }
}

/// The last thing a failed command said (stderr first), or its exit code.
fn said(out: &ExecOutput) -> String {
    let text = [&out.stderr, &out.stdout].map(|b| String::from_utf8_lossy(b).into_owned());
    let last = text.iter().find_map(|t| {
        t.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(str::to_string)
    });
    last.unwrap_or_else(|| format!("exit code {}", out.exit.map_or(-1, |c| c as i64)))
}

fn endpoint(address: &str, ready: bool, detail: Option<String>) -> ClusterEvent {
    ClusterEvent::Endpoint(EndpointHealth {
        ready: Some(ready),
        detail,
        ..EndpointHealth::unknown(address.to_string())
    })
}

fn feed(kind: FeedKind, error: Option<String>) -> ClusterEvent {
    ClusterEvent::Feed(
        kind,
        FeedStatus {
            last_ok: error.is_none().then(Timestamp::now),
            error,
            every: Some(EVERY),
        },
    )
}
