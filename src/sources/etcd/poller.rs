//! Polls every endpoint on its own schedule and sends one merged view to the state
//! owner. Each endpoint has its own tasks, so a dead member (up to its 1 s timeout)
//! never delays the others: a new leader is seen within one poll interval of any
//! surviving member knowing it.

use std::time::Duration;

use futures::future::join_all;
use jiff::Timestamp;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, MissedTickBehavior, interval};

use super::config::PollerConfig;
use super::merge::{Merger, significant};
use super::probe::{ListReport, StatusReport};
use crate::supervise::{Duty, supervise};
use hatui_model::{ClusterEvent, EtcdStatus, FeedKind, FeedStatus};

/// The running poller; dropping it stops every task it started.
pub struct Poller {
    task: JoinHandle<()>,
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.task.abort();
    }
}

enum Update {
    Status(usize, Result<StatusReport, String>),
    List(ListReport),
}

/// Starts polling; sends `[Etcd(..), Feed(Etcd, ..)]` (as the runtime's `M`) when the view
/// changes beyond raft indexes, db sizes and round trips, else once per `heartbeat` in
/// which some member answered: each message is news, so a poller that hangs goes quiet
/// and the model sees its pane go stale. Supervised: if it ends or panics it is reported
/// and started again (a fresh start only forgets the flapping window, which the model's
/// leader history keeps). Must be called inside a tokio runtime. Stops by itself when
/// `tx` is closed.
pub fn spawn_poller<M>(cfg: PollerConfig, tx: mpsc::Sender<M>) -> Poller
where
    M: From<Vec<ClusterEvent>> + Send + 'static,
{
    let duty = Duty::new("the etcd poller", &[FeedKind::Etcd]);
    let out = tx.clone();
    Poller {
        task: supervise(duty, tx, move || aggregate(cfg.clone(), out.clone())),
    }
}

/// Each endpoint's two polling tasks, aborted when this is dropped.
struct Probes {
    tasks: JoinSet<()>,
    up: mpsc::Sender<Update>,
}

impl Probes {
    fn start(&mut self, cfg: &PollerConfig, i: usize, endpoint: &str) {
        let (mut prober, t) = (cfg.prober(endpoint), self.up.clone());
        let mut tick = ticker(cfg.status_interval);
        self.tasks.spawn(async move {
            loop {
                tick.tick().await;
                if t.send(Update::Status(i, prober.status().await))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        let (mut prober, t) = (cfg.prober(endpoint), self.up.clone());
        let mut tick = ticker(cfg.list_interval);
        self.tasks.spawn(async move {
            loop {
                tick.tick().await;
                // A failed list says nothing new: the status poll reports the error.
                if let Ok(r) = prober.list().await
                    && t.send(Update::List(r)).await.is_err()
                {
                    return;
                }
            }
        });
    }

    /// Waits for a polling task to end, which only a panic makes it do while the
    /// aggregator listens; never resolves while there is none.
    async fn ended(&mut self) -> Result<(), tokio::task::JoinError> {
        match self.tasks.join_next().await {
            Some(ended) => ended,
            None => std::future::pending().await,
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
        tasks: JoinSet::new(),
        up,
    };
    for (i, endpoint) in cfg.endpoints.iter().enumerate() {
        probes.start(&cfg, i, endpoint);
    }
    let mut merger = Merger::new(&cfg.endpoints, cfg.flap_window, cfg.via_label())
        .standing_for(&cfg.member_urls);
    let mut sent: Option<(EtcdStatus, Option<String>, Instant)> = None;
    // Some member answered (or failed) since the last message.
    let mut answered = false;
    // An answer (or a timeout) is due every status interval, and a message at least every
    // heartbeat while they come. A lab clock slower than real time keeps the real-time
    // promise: the later one is the safe one.
    let every = cfg
        .heartbeat
        .max(cfg.status_interval)
        .max(cfg.timeout)
        .mul_f64(cfg.clock_rate.max(1.0));
    let mut heartbeat = ticker(cfg.heartbeat);
    // The first view waits for every member's first answer and the member list, for at
    // most this long: otherwise the timeline starts with members "added" one by one.
    let first_by = Instant::now() + cfg.timeout + cfg.list_interval;
    loop {
        tokio::select! {
            update = rx.recv() => {
                answered = true;
                match update {
                    Some(Update::Status(i, r)) => merger.on_status(i, r, Timestamp::now()),
                    Some(Update::List(r)) => {
                        merger.on_list(r);
                        for (i, endpoint) in follow(&cfg, &mut merger) {
                            probes.start(&cfg, i, &endpoint);
                        }
                    }
                    None => return,
                }
            }
            _ = heartbeat.tick() => {}
            ended = probes.ended() => {
                // One member's data would freeze unseen: start the whole poller over.
                if let Err(e) = ended && e.is_panic() {
                    std::panic::resume_unwind(e.into_panic());
                }
                panic!("an etcd polling task ended");
            }
        }
        if !answered || (sent.is_none() && !merger.settled() && Instant::now() < first_by) {
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
        answered = false;
        let feed = FeedStatus {
            every: Some(every),
            ..feed
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etcd::Via;
    use crate::etcd::scripted::{Mode, Scripted};
    use hatui_model::{ClusterState, SourceKind};

    /// The poller's messages applied to a model whose clock is tokio's (paused) clock, as
    /// the cockpit's live clock would tick it.
    struct Cockpit {
        cluster: ClusterState,
        rx: mpsc::Receiver<Vec<ClusterEvent>>,
        start: Instant,
        _poller: Poller,
    }

    impl Cockpit {
        fn start(script: &Scripted) -> Self {
            let mut cfg = PollerConfig::new(vec!["scripted://cp-1".into()], None);
            cfg.via = Via::Scripted(script.clone());
            let (tx, rx) = mpsc::channel(64);
            let epoch = Timestamp::from_second(1_800_000_000).unwrap();
            Self {
                cluster: ClusterState::new(SourceKind::Live, "lb:6443", epoch),
                rx,
                start: Instant::now(),
                _poller: spawn_poller(cfg, tx),
            }
        }

        fn elapsed(&self) -> Duration {
            self.start.elapsed()
        }

        /// Runs until `until` after the start, the clock ticking every 100 ms.
        async fn run_until(&mut self, until: Duration) {
            let epoch = Timestamp::from_second(1_800_000_000).unwrap();
            while self.elapsed() < until {
                tokio::select! {
                    Some(batch) = self.rx.recv() => {
                        for ev in batch {
                            self.cluster.apply(ev);
                        }
                    }
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
                let now = epoch + self.elapsed();
                self.cluster.apply(ClusterEvent::Clock(now));
            }
        }

        fn said(&self, text: &str) -> bool {
            self.cluster.timeline.iter().any(|e| e.text.contains(text))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_poller_that_hangs_without_erroring_turns_its_pane_stale_within_three_intervals() {
        let script = Scripted::default();
        let mut c = Cockpit::start(&script);
        c.run_until(Duration::from_secs(10)).await;
        assert!(
            c.cluster.feed(FeedKind::Etcd).is_some(),
            "the poller answered"
        );
        assert_eq!(c.cluster.stale(FeedKind::Etcd), None, "answering: fresh");
        assert_eq!(c.cluster.etcd.members.len(), 1);

        script.set(Mode::Hang);
        let hung = c.elapsed();
        // Three intervals of 1 s, plus one clock tick.
        c.run_until(hung + Duration::from_millis(3100)).await;
        let stale = c
            .cluster
            .stale(FeedKind::Etcd)
            .expect("stale within three intervals");
        assert_eq!(stale.why, "no answer from the etcd poller");
        assert!(stale.age_s.is_some_and(|s| s >= 3), "{stale:?}");
        assert!(c.said("Etcd stale: no answer from the etcd poller"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_poller_is_reported_and_restarted() {
        let script = Scripted::default();
        let mut c = Cockpit::start(&script);
        c.run_until(Duration::from_secs(5)).await;
        assert_eq!(c.cluster.stale(FeedKind::Etcd), None);

        script.set(Mode::Panic);
        c.run_until(Duration::from_millis(5300)).await;
        let stale = c
            .cluster
            .stale(FeedKind::Etcd)
            .expect("a dead poller is stale");
        assert_eq!(
            stale.why,
            "the etcd poller stopped (panicked: scripted panic); restarting in 1s"
        );
        assert!(c.said("Etcd cannot refresh: the etcd poller stopped (panicked: scripted panic)"));

        script.set(Mode::Answer);
        c.run_until(Duration::from_secs(8)).await;
        assert_eq!(
            c.cluster.stale(FeedKind::Etcd),
            None,
            "restarted and answering"
        );
        assert!(c.said("Etcd refreshing again"));
    }
}
