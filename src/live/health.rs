//! `/readyz` of the kubeconfig's server (normally the load balancer), every few seconds,
//! with a timeout so a hung apiserver shows as such instead of as silence.

use std::time::{Duration, Instant};

use futures::stream::{self, BoxStream, StreamExt};
use kube::Client;

use super::errors;
use super::sources::Sources;
use crate::model::{ClusterEvent, EndpointHealth};

/// The outcome of one probe: ready, or why not; and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub ready: bool,
    pub detail: Option<String>,
    pub latency_ms: f64,
}

pub async fn readyz(client: &Client, timeout: Duration) -> Probe {
    let start = Instant::now();
    let req = http::Request::get("/readyz")
        .body(Vec::new())
        .expect("a static request is valid");
    let result = tokio::time::timeout(timeout, client.request_text(req)).await;
    // Whole milliseconds: sub-millisecond jitter is not worth a redraw.
    let latency_ms = start.elapsed().as_millis() as f64;
    let (ready, detail) = match result {
        Ok(Ok(_)) => (true, None),
        Ok(Err(kube::Error::Api(s))) if s.code >= 500 => {
            // `/readyz` lists the failing checks as `[-]etcd failed: ...`.
            let failing: Vec<&str> = s
                .message
                .lines()
                .filter_map(|l| l.strip_prefix("[-]"))
                .collect();
            let why = if failing.is_empty() {
                format!("/readyz {}", s.code)
            } else {
                failing.join("; ")
            };
            (false, Some(why))
        }
        Ok(Err(e)) => {
            let what = errors::Resource {
                plural: "/readyz",
                namespace: None,
            };
            (false, Some(errors::kube_error(&e, "get", what)))
        }
        Err(_) => (false, Some(format!("timeout after {}s", timeout.as_secs()))),
    };
    Probe {
        ready,
        detail,
        latency_ms,
    }
}

/// Probes now, then every `probe_every`.
pub fn stream(sources: Sources) -> BoxStream<'static, Vec<ClusterEvent>> {
    let mut interval = tokio::time::interval(sources.probe_every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    stream::unfold((interval, sources), |(mut interval, s)| async move {
        interval.tick().await;
        let p = readyz(&s.client, s.probe_timeout).await;
        let ep = EndpointHealth {
            address: s.endpoint.clone(),
            ready: Some(p.ready),
            detail: p.detail,
            latency_ms: p.ready.then_some(p.latency_ms),
        };
        Some((vec![ClusterEvent::Endpoint(ep)], (interval, s)))
    })
    .boxed()
}
