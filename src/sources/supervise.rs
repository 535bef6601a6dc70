//! Source tasks under watch. A task that ends or panics while the cockpit still listens is
//! reported in the timeline and on its panes, and, where that is safe, started again after
//! a backoff: a watcher, probe or poller holds nothing a fresh start cannot rebuild.

use std::any::Any;
use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc::Sender;
use tokio::task::{JoinError, JoinHandle};
use tokio::time::Instant;

use hatui_model::{ClusterEvent, FeedKind, FeedStatus};

/// What a supervised task is called and which panes show its data.
#[derive(Debug, Clone)]
pub struct Duty {
    /// As the timeline names it: `the etcd poller`, `source nodes`.
    pub name: String,
    /// Feeds whose panes say that the task stopped.
    pub feeds: Vec<FeedKind>,
}

impl Duty {
    pub fn new(name: impl Into<String>, feeds: &[FeedKind]) -> Self {
        Self {
            name: name.into(),
            feeds: feeds.to_vec(),
        }
    }

    /// The events that say the task stopped and what happens next.
    pub fn stopped(&self, ended: Result<(), JoinError>, next: &str) -> Vec<ClusterEvent> {
        let text = format!("{} stopped ({}); {next}", self.name, why(ended));
        if self.feeds.is_empty() {
            return vec![ClusterEvent::Note(text)];
        }
        // An error with no date: the model keeps the age of the last data it saw. Each
        // feed's "cannot refresh" entry is the timeline's record.
        let status = FeedStatus {
            error: Some(text),
            ..FeedStatus::default()
        };
        self.feeds
            .iter()
            .map(|k| ClusterEvent::Feed(*k, status.clone()))
            .collect()
    }
}

/// The first wait before a restart; it doubles with each failure in a row.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A run this long was not a failure in a row: the backoff starts over.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// Runs what `start` makes as a task of its own; whenever it ends or panics, says so and
/// starts it again after the backoff. Stops when `tx`'s receiver is gone; aborting the
/// returned handle aborts the task it watches too.
pub fn supervise<M, F, Fut>(duty: Duty, tx: Sender<M>, mut start: F) -> JoinHandle<()>
where
    M: From<Vec<ClusterEvent>> + Send + 'static,
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut failures = 0u32;
        loop {
            let began = Instant::now();
            let ended = Child(tokio::spawn(start())).wait().await;
            if tx.is_closed() {
                return;
            }
            failures = if began.elapsed() >= HEALTHY_RUN {
                1
            } else {
                failures + 1
            };
            let wait = backoff(failures);
            let next = format!("restarting in {}s", wait.as_secs());
            let report = duty.stopped(ended, &next).into();
            if tx.send(report).await.is_err() {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = tx.closed() => return,
            }
        }
    })
}

/// Watches a task that cannot be restarted: when it ends or panics, says so once (with
/// `why_not`, why it is not restarted) and ends.
pub fn watch_once<M: From<Vec<ClusterEvent>> + Send + 'static>(
    duty: Duty,
    tx: Sender<M>,
    task: JoinHandle<()>,
    why_not: &'static str,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let ended = Child(task).wait().await;
        if !tx.is_closed() {
            let _ = tx.send(duty.stopped(ended, why_not).into()).await;
        }
    })
}

/// 1 s, 2 s, 4 s ... up to 30 s.
pub fn backoff(failures: u32) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(5);
    FIRST_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

/// A watched task, aborted when its supervisor is (dropping a `JoinHandle` would not).
struct Child(JoinHandle<()>);

impl Child {
    async fn wait(&mut self) -> Result<(), JoinError> {
        (&mut self.0).await
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn why(ended: Result<(), JoinError>) -> String {
    match ended {
        Ok(()) => "it ended".to_string(),
        Err(e) if e.is_panic() => format!("panicked: {}", panic_text(&e.into_panic())),
        Err(_) => "cancelled".to_string(),
    }
}

/// The text a panic was raised with, as `panic!` formats it.
fn panic_text(payload: &Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "no message".to_string()
    }
}

/// Chains a panic hook that keeps quiet about panics on tokio's worker threads, where only
/// source tasks run (the cockpit itself runs on the main thread): their supervisor reports
/// them on screen, and the next hook (ratatui's) would otherwise restore the terminal
/// under a cockpit that goes on running.
pub fn quiet_task_panics() {
    let next = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let on_worker = std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with("tokio-runtime-worker"));
        if !on_worker {
            next(info);
        }
    }));
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use std::sync::atomic::{AtomicU32, Ordering};

    use tokio::sync::mpsc;

    use super::*;

    fn events(msg: Option<Vec<ClusterEvent>>) -> Vec<ClusterEvent> {
        match msg {
            Some(batch) => batch,
            other => panic!("expected a batch, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_source_is_reported_on_its_pane_and_restarted_after_the_backoff() {
        let (tx, mut rx) = mpsc::channel(8);
        let runs = Arc::new(AtomicU32::new(0));
        let (count, out) = (runs.clone(), tx.clone());
        let duty = Duty::new("source nodes", &[FeedKind::Nodes]);
        let _task = supervise(duty, tx, move || {
            let (count, out) = (count.clone(), out.clone());
            async move {
                if count.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("boom");
                }
                let hello = vec![ClusterEvent::Note("running".into())];
                let _ = out.send(hello).await;
                std::future::pending::<()>().await;
            }
        });
        let reported = events(rx.recv().await);
        let Some(ClusterEvent::Feed(FeedKind::Nodes, status)) = reported.first() else {
            panic!("{reported:?}");
        };
        assert_eq!(
            status.error.as_deref(),
            Some("source nodes stopped (panicked: boom); restarting in 1s")
        );
        let began = Instant::now();
        assert_eq!(
            events(rx.recv().await),
            [ClusterEvent::Note("running".into())]
        );
        assert_eq!(
            began.elapsed(),
            FIRST_BACKOFF,
            "restarted after the backoff"
        );
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_without_a_pane_that_ends_is_noted_and_backs_off_longer_each_time() {
        let (tx, mut rx) = mpsc::channel(8);
        let _task = supervise(Duty::new("source clock", &[]), tx, || async {});
        let mut waits = Vec::new();
        for _ in 0..3 {
            let batch = events(rx.recv().await);
            let [ClusterEvent::Note(text)] = batch.as_slice() else {
                panic!("{batch:?}");
            };
            waits.push(text.clone());
        }
        assert_eq!(
            waits,
            [1, 2, 4].map(|s| format!("source clock stopped (it ended); restarting in {s}s"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_cannot_restart_is_reported_once_with_why_not() {
        let (tx, mut rx) = mpsc::channel(8);
        let lab = tokio::spawn(async { panic!("lab broke") });
        let duty = Duty::new("the lab", &[FeedKind::Nodes, FeedKind::Etcd]);
        let watcher = watch_once(duty, tx, lab, "not restarted");
        let batch = events(rx.recv().await);
        let text = "the lab stopped (panicked: lab broke); not restarted";
        let kinds: Vec<_> = batch
            .iter()
            .map(|e| match e {
                ClusterEvent::Feed(k, s) if s.error.as_deref() == Some(text) => *k,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(kinds, [FeedKind::Nodes, FeedKind::Etcd]);
        watcher.await.unwrap();
        assert!(rx.recv().await.is_none(), "reported once, then done");
    }

    #[test]
    fn backoff_doubles_from_one_second_up_to_thirty() {
        let s = |n| backoff(n).as_secs();
        assert_eq!([s(1), s(2), s(3), s(5), s(6), s(40)], [1, 2, 4, 16, 30, 30]);
    }
}
