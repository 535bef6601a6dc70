//! How the poller reaches etcd and how often it asks: gRPC to each member (directly or
//! through an SSH tunnel's local end), or `etcdctl` in each member's pod (kube exec).

use std::time::Duration;

use super::exec::PodProber;
use super::probe::{ListReport, ListedMember, Prober, StatusReport};
use super::tls::TlsMaterial;

/// How to reach etcd and how often to ask.
#[derive(Debug, Clone)]
pub struct PollerConfig {
    /// One client URL per member, e.g. `https://10.0.0.11:2379`; with [`Via::KubeExec`],
    /// one pod name per member, e.g. `etcd-cp-1`.
    pub endpoints: Vec<String>,
    /// `None` for plain `http://` endpoints.
    pub tls: Option<TlsMaterial>,
    pub via: Via,
    /// A member the list names but no endpoint reaches gets one of its own (its client
    /// URL, or its pod), so a master that joins later is asked too. Off for SSH tunnels:
    /// their endpoints are local ends, a member's own URL is not reachable from here.
    pub follow_members: bool,
    /// By endpoint, the member URL it stands for when it is not that URL itself (an SSH
    /// tunnel's local end stands for `https://<master>:2379`), so a member that never
    /// answered still shows its own endpoint's error. Empty: each endpoint is its URL.
    pub member_urls: Vec<String>,
    /// `Maintenance.Status` on every member: this bounds how late a new leader is seen.
    pub status_interval: Duration,
    /// `member_list` and alarms (alarms go through raft, so they are slower).
    pub list_interval: Duration,
    /// Connect timeout and per-request timeout.
    pub timeout: Duration,
    /// Without a significant change, still send the view this often (fresh counters).
    pub heartbeat: Duration,
    /// How long leader changes are remembered for the flapping warning.
    pub flap_window: Duration,
    /// Cluster seconds per real second: 1 for a live cluster, the lab's `--speed` in the
    /// lab. The heartbeat the model is promised is stated in cluster time.
    pub clock_rate: f64,
}

/// How each endpoint is asked.
#[derive(Clone)]
pub enum Via {
    /// gRPC to the endpoint URL (a member, or the local end of an SSH tunnel).
    Grpc,
    /// `etcdctl` in the endpoint's pod through the apiserver: the last resort.
    KubeExec(kube::Client),
    /// Members answering from memory, for tests on the paused clock.
    #[cfg(test)]
    Scripted(super::scripted::Scripted),
}

impl std::fmt::Debug for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Grpc => "Grpc",
            Self::KubeExec(_) => "KubeExec",
            #[cfg(test)]
            Self::Scripted(_) => "Scripted",
        })
    }
}

impl PollerConfig {
    pub fn new(endpoints: Vec<String>, tls: Option<TlsMaterial>) -> Self {
        Self {
            endpoints,
            tls,
            via: Via::Grpc,
            follow_members: true,
            member_urls: Vec::new(),
            status_interval: Duration::from_millis(100),
            list_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            heartbeat: Duration::from_secs(1),
            flap_window: Duration::from_secs(5 * 60),
            clock_rate: 1.0,
        }
    }

    /// `etcdctl` in these kubeadm etcd pods (`etcd-<node>`): each answer is an exec
    /// through the apiserver, so members are asked every 2 s rather than 100 ms.
    pub fn kube_exec(client: kube::Client, pods: Vec<String>) -> Self {
        Self {
            via: Via::KubeExec(client),
            status_interval: Duration::from_secs(2),
            list_interval: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
            ..Self::new(pods, None)
        }
    }

    /// How the etcd pane names this way in, when it is not the direct one.
    pub fn via_label(&self) -> Option<String> {
        match self.via {
            #[cfg(test)]
            Via::Scripted(_) => None,
            Via::Grpc => None,
            Via::KubeExec(_) => Some(format!(
                "via kube exec (last resort, every {} s)",
                self.status_interval.as_secs()
            )),
        }
    }

    /// Where a listed member not yet polled would be asked, if it can be.
    pub(super) fn endpoint_for(&self, m: &ListedMember) -> Option<String> {
        if !self.follow_members {
            return None;
        }
        match self.via {
            #[cfg(test)]
            Via::Scripted(_) => None,
            Via::Grpc => m.client_urls.first().cloned(),
            // kubeadm names the member after its node, and the pod `etcd-<node>`.
            Via::KubeExec(_) => (!m.name.is_empty()).then(|| format!("etcd-{}", m.name)),
        }
    }

    pub(super) fn prober(&self, endpoint: &str) -> AnyProber {
        match &self.via {
            Via::Grpc => AnyProber::Grpc(Prober::new(endpoint, self.tls.clone(), self.timeout)),
            Via::KubeExec(client) => {
                let pods = kube::Api::namespaced(client.clone(), "kube-system");
                AnyProber::Exec(PodProber::new(pods, endpoint, self.timeout))
            }
            #[cfg(test)]
            Via::Scripted(s) => AnyProber::Scripted(s.clone()),
        }
    }
}

// One per polling task, made once and never moved again: the size does not matter.
#[allow(clippy::large_enum_variant)]
pub(super) enum AnyProber {
    Grpc(Prober),
    Exec(PodProber),
    #[cfg(test)]
    Scripted(super::scripted::Scripted),
}

impl AnyProber {
    pub(super) async fn status(&mut self) -> Result<StatusReport, String> {
        match self {
            Self::Grpc(p) => p.status().await,
            Self::Exec(p) => p.status().await,
            #[cfg(test)]
            Self::Scripted(p) => p.status().await,
        }
    }

    pub(super) async fn list(&mut self) -> Result<ListReport, String> {
        match self {
            Self::Grpc(p) => p.list().await,
            Self::Exec(p) => p.list().await,
            #[cfg(test)]
            Self::Scripted(p) => p.list().await,
        }
    }
}
