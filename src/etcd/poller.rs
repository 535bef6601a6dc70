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

use super::config::PollerConfig;
use super::merge::{Merger, significant};
use super::probe::{ListReport, StatusReport};
use crate::model::{ClusterEvent, EtcdStatus, FeedKind, FeedStatus};

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

/// Starts polling; sends `[Etcd(..), Feed(Etcd, ..)]` (as the runtime's `M`) when the view
/// changes beyond raft indexes, db sizes and round trips, else once per `heartbeat`.
/// Must be called inside a tokio runtime. Stops by itself when `tx` is closed.
pub fn spawn_poller<M>(cfg: PollerConfig, tx: mpsc::Sender<M>) -> Poller
where
    M: From<Vec<ClusterEvent>> + Send + 'static,
{
    Poller {
        tasks: vec![tokio::spawn(aggregate(cfg, tx))],
    }
}

/// Each endpoint's two polling tasks, aborted when this is dropped.
struct Probes {
    tasks: Vec<JoinHandle<()>>,
    up: mpsc::Sender<Update>,
}

impl Probes {
    fn start(&mut self, cfg: &PollerConfig, i: usize, endpoint: &str) {
        let (mut prober, t) = (cfg.prober(endpoint), self.up.clone());
        let mut tick = ticker(cfg.status_interval);
        self.tasks.push(tokio::spawn(async move {
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
        let (mut prober, t) = (cfg.prober(endpoint), self.up.clone());
        let mut tick = ticker(cfg.list_interval);
        self.tasks.push(tokio::spawn(async move {
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
}

impl Drop for Probes {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Endpoints for the members the list names and nobody polls (a master that joined);
/// only once every endpoint has answered or failed, so none is taken for unpolled
/// merely because it has not said who it is yet.
fn follow(cfg: &PollerConfig, merger: &mut Merger) -> Vec<(usize, String)> {
    if !merger.settled() {
        return Vec::new();
    }
    let new: Vec<String> = merger
        .unpolled()
        .filter_map(|m| cfg.endpoint_for(m))
        .collect();
    new.into_iter()
        .map(|e| (merger.add_endpoint(e.clone()), e))
        .collect()
}

fn ticker(period: Duration) -> tokio::time::Interval {
    let mut tick = interval(period);
    // After a slow (timed-out) request, poll again at once rather than in a burst.
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick
}

async fn aggregate<M: From<Vec<ClusterEvent>>>(cfg: PollerConfig, tx: mpsc::Sender<M>) {
    let (up, mut rx) = mpsc::channel(64);
    let mut probes = Probes {
        tasks: Vec::new(),
        up,
    };
    for (i, endpoint) in cfg.endpoints.iter().enumerate() {
        probes.start(&cfg, i, endpoint);
    }
    let mut merger = Merger::new(&cfg.endpoints, cfg.flap_window, cfg.via_label())
        .standing_for(&cfg.member_urls);
    let mut sent: Option<(EtcdStatus, Option<String>, Instant)> = None;
    let mut heartbeat = ticker(cfg.heartbeat);
    // The first view waits for every member's first answer and the member list, for at
    // most this long: otherwise the timeline starts with members "added" one by one.
    let first_by = Instant::now() + cfg.timeout + cfg.list_interval;
    loop {
        tokio::select! {
            update = rx.recv() => match update {
                Some(Update::Status(i, r)) => merger.on_status(i, r, Timestamp::now()),
                Some(Update::List(r)) => {
                    merger.on_list(r);
                    for (i, endpoint) in follow(&cfg, &mut merger) {
                        probes.start(&cfg, i, &endpoint);
                    }
                }
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
        let batch = vec![
            ClusterEvent::Etcd(status),
            ClusterEvent::Feed(FeedKind::Etcd, feed),
        ];
        if tx.send(batch.into()).await.is_err() {
            return;
        }
    }
}

/// Asks every endpoint once, concurrently, for `hatui status`: returns within about
/// two request timeouts even when members are down.
pub async fn poll_once(cfg: &PollerConfig) -> (EtcdStatus, FeedStatus) {
    let mut merger = Merger::new(&cfg.endpoints, cfg.flap_window, cfg.via_label())
        .standing_for(&cfg.member_urls);
    let first: Vec<(usize, String)> = cfg.endpoints.iter().cloned().enumerate().collect();
    ask_all(cfg, &mut merger, &first).await;
    // Members the list names that no endpoint reached: one more round for them.
    let more = follow(cfg, &mut merger);
    ask_all(cfg, &mut merger, &more).await;
    (merger.status(Timestamp::now()), merger.feed())
}

async fn ask_all(cfg: &PollerConfig, merger: &mut Merger, endpoints: &[(usize, String)]) {
    let asks = endpoints.iter().map(|(i, url)| async move {
        let (mut a, mut b) = (cfg.prober(url), cfg.prober(url));
        (*i, tokio::join!(a.status(), b.list()))
    });
    let now = Timestamp::now();
    for (i, (status, list)) in join_all(asks).await {
        merger.on_status(i, status, now);
        if let Ok(list) = list {
            merger.on_list(list);
        }
    }
}
