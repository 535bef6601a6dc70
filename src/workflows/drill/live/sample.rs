//! The drill's own requests, every 100 ms from the fault on: through the endpoint on a new
//! connection each time and on one kept-alive connection (as OpenShift's disruption
//! monitors do, ten times finer), and each master's `/readyz` directly. One task per
//! target asks one request at a time; a request still out when the next tick comes covers
//! that tick too (a client would still be waiting), so every tick gets exactly one answer
//! per target and the report's intervals stay on the 100 ms grid.

use std::future::Future;
use std::ops::Range;
use std::time::{Duration, Instant};

use kube::Client;
use tokio::sync::{mpsc, watch};

use crate::drill::probe::Answer;
use hatui_sources::live::errors;
use hatui_sources::live::health;

/// A request not answered within this is an outage sample.
pub const TIMEOUT: Duration = Duration::from_secs(1);
/// What a client asks through the endpoint: a read that needs etcd's quorum.
pub const API_PATH: &str = "/api/v1/namespaces/kube-system/pods?limit=1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// A new connection through the endpoint per request.
    Endpoint,
    /// One connection through the endpoint, kept alive.
    KeepAlive,
    /// Master `n`'s `/readyz`, asked directly.
    Master(usize),
}

/// The answer for a run of ticks.
#[derive(Debug, Clone)]
pub struct Sampled {
    pub key: Key,
    pub ticks: Range<u64>,
    pub answer: Answer,
}

/// Asks with `ask` from tick `*ticks.borrow()` on until the ticks' sender is gone.
pub fn spawn<F, Fut>(
    key: Key,
    mut ticks: watch::Receiver<u64>,
    tx: mpsc::Sender<Sampled>,
    mut ask: F,
) where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Answer> + Send,
{
    tokio::spawn(async move {
        let mut next = *ticks.borrow();
        loop {
            while *ticks.borrow_and_update() < next {
                if ticks.changed().await.is_err() {
                    return;
                }
            }
            let answer = match tokio::time::timeout(TIMEOUT, ask()).await {
                Ok(a) => a,
                Err(_) => Answer {
                    error: Some(format!("no answer within {} s", TIMEOUT.as_secs())),
                    latency_ms: None,
                },
            };
            let now = *ticks.borrow();
            let end = now.max(next) + 1;
            let sampled = Sampled {
                key,
                ticks: next..end,
                answer,
            };
            if tx.send(sampled).await.is_err() {
                return;
            }
            next = end;
        }
    });
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_millis() as f64
}

/// One GET of [`API_PATH`] with `client`.
pub async fn api_get(client: &Client) -> Answer {
    let start = Instant::now();
    let req = http::Request::get(API_PATH)
        .body(Vec::new())
        .expect("a static request is valid");
    match client.request_text(req).await {
        Ok(_) => Answer {
            error: None,
            latency_ms: Some(ms(start)),
        },
        Err(e) => {
            let what = errors::Resource {
                plural: "pods",
                namespace: Some("kube-system"),
            };
            Answer {
                error: Some(errors::kube_error(&e, "list", what)),
                latency_ms: None,
            }
        }
    }
}

/// A new client (so a new TCP and TLS connection) per request, as a fresh `kubectl` does.
pub async fn api_get_new_connection(config: &kube::Config) -> Answer {
    let start = Instant::now();
    match Client::try_from(config.clone()) {
        Ok(client) => {
            let mut a = api_get(&client).await;
            // The handshake is part of what a new client waits for.
            a.latency_ms = a.latency_ms.map(|_| ms(start));
            a
        }
        Err(e) => Answer {
            error: Some(format!("cannot build a client: {e}")),
            latency_ms: None,
        },
    }
}

/// A master's `/readyz?verbose`, asked directly.
pub async fn readyz(client: &Client) -> Answer {
    let p = health::readyz(client, TIMEOUT).await;
    Answer {
        error: (!p.ready).then(|| p.detail.unwrap_or_else(|| "not ready".into())),
        latency_ms: p.ready.then_some(p.latency_ms),
    }
}
