//! Polls every endpoint on its own schedule and sends one merged view to the state
//! owner. Each endpoint has its own tasks, so a dead member (up to its 1 s timeout)
//! never delays the others: a new leader is seen within one poll interval of any
//! surviving member knowing it.

use std::time::{Duration, Instant};

use futures::future::join_all;
use jiff::Timestamp;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{MissedTickBehavior, interval};

use super::exec::PodProber;
use super::merge::{Merger, significant};
use super::probe::{ListReport, Prober, StatusReport};
use super::tls::TlsMaterial;
use crate::message::Message;
use crate::model::{ClusterEvent, EtcdStatus, FeedKind, FeedStatus};

/// How to reach etcd and how often to ask.
#[derive(Debug, Clone)]
pub struct PollerConfig {
    /// One client URL per member, e.g. `https://10.0.0.11:2379`; with [`Via::KubeExec`],
    /// one pod name per member, e.g. `etcd-cp-1`.
    pub endpoints: Vec<String>,
    /// `None` for plain `http://` endpoints.
    pub tls: Option<TlsMaterial>,
    pub via: Via,
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
}

/// How each endpoint is asked.
#[derive(Clone)]
pub enum Via {
    /// gRPC to the endpoint URL (a member, or the local end of an SSH tunnel).
    Grpc,
    /// `etcdctl` in the endpoint's pod through the apiserver: the last resort.
    KubeExec(kube::Client),
}

impl std::fmt::Debug for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Grpc => "Grpc",
            Self::KubeExec(_) => "KubeExec",
        })
    }
}

impl PollerConfig {
    pub fn new(endpoints: Vec<String>, tls: Option<TlsMaterial>) -> Self {
        Self {
            endpoints,
            tls,
            via: Via::Grpc,
            status_interval: Duration::from_millis(100),
            list_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            heartbeat: Duration::from_secs(1),
            flap_window: Duration::from_secs(5 * 60),
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
            Via::Grpc => None,
            Via::KubeExec(_) => Some(format!(
                "via kube exec (last resort, every {} s)",
                self.status_interval.as_secs()
            )),
        }
    }

    fn prober(&self, endpoint: &str) -> AnyProber {
        match &self.via {
            Via::Grpc => AnyProber::Grpc(Prober::new(endpoint, self.tls.clone(), self.timeout)),
            Via::KubeExec(client) => {
                let pods = kube::Api::namespaced(client.clone(), "kube-system");
                AnyProber::Exec(PodProber::new(pods, endpoint, self.timeout))
            }
        }
    }
}

// One per polling task, made once and never moved again: the size does not matter.
#[allow(clippy::large_enum_variant)]
enum AnyProber {
    Grpc(Prober),
    Exec(PodProber),
}

impl AnyProber {
    async fn status(&mut self) -> Result<StatusReport, String> {
        match self {
            Self::Grpc(p) => p.status().await,
            Self::Exec(p) => p.status().await,
        }
    }

    async fn list(&mut self) -> Result<ListReport, String> {
        match self {
            Self::Grpc(p) => p.list().await,
            Self::Exec(p) => p.list().await,
        }
    }
}

/// The running poller; dropping it stops every task it started.
pub struct Poller {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Poller {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

enum Update {
    Status(usize, Result<StatusReport, String>),
    List(ListReport),
}

/// Starts polling; sends `Message::Cluster([Etcd(..), Feed(Etcd, ..)])` when the view
/// changes beyond raft indexes, db sizes and round trips, else once per `heartbeat`.
/// Must be called inside a tokio runtime. Stops by itself when `tx` is closed.
pub fn spawn_poller(cfg: PollerConfig, tx: mpsc::Sender<Message>) -> Poller {
    let (up_tx, up_rx) = mpsc::channel(64);
    let mut tasks = Vec::new();
    for (i, url) in cfg.endpoints.iter().enumerate() {
        let (mut prober, t) = (cfg.prober(url), up_tx.clone());
        let mut tick = ticker(cfg.status_interval);
        tasks.push(tokio::spawn(async move {
            loop {
                tick.tick().await;
                if t.send(Update::Status(i, prober.status().await))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }));
        let (mut prober, t) = (cfg.prober(url), up_tx.clone());
        let mut tick = ticker(cfg.list_interval);
        tasks.push(tokio::spawn(async move {
            loop {
                tick.tick().await;
                // A failed list says nothing new: the status poll reports the error.
                if let Ok(r) = prober.list().await
                    && t.send(Update::List(r)).await.is_err()
                {
                    return;
                }
            }
        }));
    }
    tasks.push(tokio::spawn(aggregate(cfg, up_rx, tx)));
    Poller { tasks }
}

fn ticker(period: Duration) -> tokio::time::Interval {
    let mut tick = interval(period);
    // After a slow (timed-out) request, poll again at once rather than in a burst.
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick
}

async fn aggregate(cfg: PollerConfig, mut rx: mpsc::Receiver<Update>, tx: mpsc::Sender<Message>) {
    let mut merger = Merger::new(&cfg.endpoints, cfg.flap_window, cfg.via_label());
    let mut sent: Option<(EtcdStatus, Option<String>, Instant)> = None;
    let mut heartbeat = ticker(cfg.heartbeat);
    // The first view waits for every member's first answer and the member list, for at
    // most this long: otherwise the timeline starts with members "added" one by one.
    let first_by = Instant::now() + cfg.timeout + cfg.list_interval;
    loop {
        tokio::select! {
            update = rx.recv() => match update {
                Some(Update::Status(i, r)) => merger.on_status(i, r, Timestamp::now()),
                Some(Update::List(r)) => merger.on_list(r),
                None => return,
            },
            _ = heartbeat.tick() => {}
        }
        if sent.is_none() && !merger.settled() && Instant::now() < first_by {
            continue;
        }
        let status = merger.status(Timestamp::now());
        let feed = merger.feed();
        let key = significant(&status);
        let due = match &sent {
            None => true,
            Some((old, err, at)) => {
                *old != key || *err != feed.error || at.elapsed() >= cfg.heartbeat
            }
        };
        if !due {
            continue;
        }
        sent = Some((key, feed.error.clone(), Instant::now()));
        let msg = Message::Cluster(vec![
            ClusterEvent::Etcd(status),
            ClusterEvent::Feed(FeedKind::Etcd, feed),
        ]);
        if tx.send(msg).await.is_err() {
            return;
        }
    }
}

/// Asks every endpoint once, concurrently, for `hatui status`: returns within about
/// two request timeouts even when members are down.
pub async fn poll_once(cfg: &PollerConfig) -> (EtcdStatus, FeedStatus) {
    let asks = cfg.endpoints.iter().map(|url| async move {
        let (mut a, mut b) = (cfg.prober(url), cfg.prober(url));
        tokio::join!(a.status(), b.list())
    });
    let answers = join_all(asks).await;
    let mut merger = Merger::new(&cfg.endpoints, cfg.flap_window, cfg.via_label());
    let now = Timestamp::now();
    for (i, (status, list)) in answers.into_iter().enumerate() {
        merger.on_status(i, status, now);
        if let Ok(list) = list {
            merger.on_list(list);
        }
    }
    (merger.status(now), merger.feed())
}
