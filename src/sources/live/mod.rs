//! A live kubeadm cluster as a source: kube-rs watchers and probes that speak only
//! `ClusterEvent`s, so the panes cannot tell it from the lab.

pub mod certs;
mod clients;
mod convert;
pub mod errors;
pub mod etcd_way;
pub mod failover;
pub mod health;
pub mod kubeconfig;
pub mod listed;
pub mod sources;
mod watch;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use color_eyre::{Result, eyre::eyre};
use futures::StreamExt;
use jiff::Timestamp;
use tokio::sync::mpsc;

use hatui_model::{ClusterEvent, ClusterState, SourceKind};

pub use clients::Sources;
pub use kubeconfig::{Loaded, Target};

/// Where "now" comes from: the wall clock, or a fixed moment in tests and snapshots.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

pub fn wall_clock() -> Clock {
    Arc::new(Timestamp::now)
}

/// Loads the kubeconfig and makes the sources for its cluster.
pub async fn connect(target: &Target, clock: Clock) -> Result<Sources> {
    let loaded = kubeconfig::load(target).await?;
    sources(&loaded, clock)
}

pub fn sources(loaded: &Loaded, clock: Clock) -> Result<Sources> {
    let mut config = loaded.config.clone();
    // A dead server should say so in seconds; watches keep their long read timeout.
    config.connect_timeout = Some(Duration::from_secs(5));
    let endpoint_client = kube::Client::try_from(config.clone())
        .map_err(|e| eyre!("kubeconfig {}: cannot build a client: {e}", loaded.file))?;
    let route = failover::Route::new(endpoint_client.clone(), config);
    Ok(Sources {
        client: route.client(),
        endpoint_client,
        route,
        endpoint: loaded.server.clone(),
        clock,
        probe_every: Duration::from_secs(2),
        probe_timeout: Duration::from_secs(2),
        cert_every: Duration::from_secs(60),
        etcd_missing: Some(sources::ETCD_NOT_CONFIGURED.into()),
        etcd_retry: false,
    })
}

/// An empty state for this cluster, at the sources' time.
pub fn empty_state(sources: &Sources) -> ClusterState {
    ClusterState::new(
        SourceKind::Live,
        sources.endpoint.clone(),
        (sources.clock)(),
    )
}

/// One snapshot: every source's first answer (data or the reason there is none), applied
/// to a fresh state. Fails naming the sources that did not answer within `timeout`.
pub async fn snapshot(sources: &Sources, timeout: Duration) -> Result<ClusterState> {
    let mut state = empty_state(sources);
    let streams = sources.streams();
    let mut pending: BTreeSet<&'static str> = streams
        .iter()
        .map(|s| s.name)
        .filter(|n| *n != "clock")
        .collect();
    let tagged = streams.into_iter().map(|s| {
        let name = s.name;
        s.stream.map(move |batch| (name, batch))
    });
    let mut merged = futures::stream::select_all(tagged);
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    while !pending.is_empty() {
        let (name, batch) = tokio::select! {
            next = merged.next() => match next {
                Some(item) => item,
                None => break,
            },
            _ = &mut deadline => {
                let names: Vec<&str> = pending.into_iter().collect();
                return Err(eyre!(
                    "timed out after {}s waiting for {} from {}",
                    timeout.as_secs(), names.join(", "), sources.endpoint
                ));
            }
        };
        let answered = batch.iter().any(|e| {
            matches!(
                e,
                ClusterEvent::Feed(..) | ClusterEvent::Endpoint(_) | ClusterEvent::Certificate(_)
            )
        });
        if answered {
            pending.remove(name);
        }
        for ev in batch {
            state.apply(ev);
        }
    }
    state.apply(ClusterEvent::Clock((sources.clock)()));
    Ok(state)
}

/// Runs the sources into `tx` in the background, each supervised; they stop when `tx`'s
/// receiver is gone.
pub fn spawn<M>(sources: Sources, tx: mpsc::Sender<M>) -> tokio::task::JoinHandle<()>
where
    M: From<Vec<ClusterEvent>> + Send + 'static,
{
    tokio::spawn(sources.run(tx))
}
