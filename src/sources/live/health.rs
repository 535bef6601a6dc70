//! `/readyz` of the kubeconfig's server (normally the load balancer) and of each master's
//! own apiserver, every few seconds, with a timeout so a hung apiserver shows as such
//! instead of as silence; and the decision to bypass a dead endpoint.

use std::time::{Duration, Instant};

use futures::stream::{self, BoxStream, StreamExt};
use kube::Client;

use super::clients::Sources;
use super::errors;
use hatui_model::{ApiServerHealth, ClusterEvent, EndpointHealth, FeedKind, FeedStatus};

/// The outcome of one probe: ready, or why not; and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub ready: bool,
    pub detail: Option<String>,
    pub latency_ms: f64,
    /// The `etcd` check as `/readyz?verbose` lists it, when it does.
    pub etcd_ok: Option<bool>,
}

/// `[+]etcd ok` → true, `[-]etcd failed: ...` → false; `None` when the check is not listed.
pub fn etcd_check(verbose: &str) -> Option<bool> {
    verbose.lines().map(str::trim).find_map(|l| {
        if l == "[+]etcd ok" {
            Some(true)
        } else {
            l.starts_with("[-]etcd ").then_some(false)
        }
    })
}

pub async fn readyz(client: &Client, timeout: Duration) -> Probe {
    let start = Instant::now();
    // Verbose: the etcd check tells a broken path to etcd from a lost quorum.
    let req = http::Request::get("/readyz?verbose")
        .body(Vec::new())
        .expect("a static request is valid");
    let result = tokio::time::timeout(timeout, client.request_text(req)).await;
    // Whole milliseconds: sub-millisecond jitter is not worth a redraw.
    let latency_ms = start.elapsed().as_millis() as f64;
    let etcd_ok = match &result {
        Ok(Ok(text)) => etcd_check(text),
        Ok(Err(kube::Error::Api(s))) => etcd_check(&s.message),
        _ => None,
    };
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
        etcd_ok,
    }
}

/// Probes the endpoint and every master now, then every `probe_every`; while the endpoint
/// is down, routes the watchers to a master that answers, and back when it is up again.
pub fn stream(sources: Sources) -> BoxStream<'static, Vec<ClusterEvent>> {
    let mut interval = tokio::time::interval(sources.probe_every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    stream::unfold(
        (interval, sources, None),
        |(mut interval, s, was)| async move {
            interval.tick().await;
            let (mut events, ready) = round(&s, was).await;
            // A round is the feed's answer (the endpoint's readiness says how it went).
            let answered = FeedStatus {
                every: Some(s.probe_every.max(s.probe_timeout)),
                ..FeedStatus::default()
            };
            events.push(ClusterEvent::Feed(FeedKind::Endpoint, answered));
            Some((events, (interval, s, Some(ready))))
        },
    )
    .boxed()
}

/// One probe of everything; `was_ready`: the endpoint's readiness in the round before.
async fn round(s: &Sources, was_ready: Option<bool>) -> (Vec<ClusterEvent>, bool) {
    let masters = s.route.masters();
    let direct = masters.iter().map(|(node, addr)| async move {
        let p = match s.route.direct(addr) {
            Some(client) => readyz(&client, s.probe_timeout).await,
            None => Probe {
                ready: false,
                detail: Some(format!("{addr} is not a usable address")),
                latency_ms: 0.0,
                etcd_ok: None,
            },
        };
        ApiServerHealth {
            node: node.clone(),
            address: addr.clone(),
            ready: p.ready,
            detail: p.detail,
            latency_ms: p.ready.then_some(p.latency_ms),
            etcd_ok: p.etcd_ok,
        }
    });
    let (lb, apis) = futures::join!(
        readyz(&s.endpoint_client, s.probe_timeout),
        futures::future::join_all(direct)
    );
    let mut events: Vec<ClusterEvent> = Vec::new();
    let via = s.route.via();
    let detail = if lb.ready {
        if let Some((node, _)) = via {
            s.route.switch(&s.endpoint_client, None);
            events.push(ClusterEvent::Note(format!(
                "API endpoint {} answers again: talking through it, no longer to {node} directly",
                s.endpoint
            )));
        }
        None
    } else {
        let why = lb.detail.unwrap_or_default();
        let current_ok = via
            .as_ref()
            .is_some_and(|(node, _)| apis.iter().any(|a| &a.node == node && a.ready));
        let pick = apis.iter().find(|a| a.ready);
        match (current_ok, pick) {
            (true, _) => {}
            (false, Some(a)) => {
                s.route.switch(
                    &s.endpoint_client,
                    Some((a.node.clone(), a.address.clone())),
                );
                // When the endpoint just went down, its own timeline entry says this.
                if was_ready == Some(false) {
                    events.push(ClusterEvent::Note(format!(
                        "endpoint still down: now talking to {}'s apiserver ({}) directly",
                        a.node, a.address
                    )));
                }
            }
            (false, None) => {
                if via.is_some() {
                    s.route.switch(&s.endpoint_client, None);
                }
            }
        }
        Some(match s.route.via() {
            Some((node, addr)) => format!("{why}; using {node}'s apiserver {addr} directly"),
            None if !apis.is_empty() => format!("{why}; no master's apiserver answers either"),
            None => why,
        })
    };
    events.push(ClusterEvent::Endpoint(EndpointHealth {
        address: s.endpoint.clone(),
        ready: Some(lb.ready),
        detail,
        latency_ms: lb.ready.then_some(lb.latency_ms),
        ..EndpointHealth::unknown(String::new())
    }));
    events.extend(apis.into_iter().map(ClusterEvent::ApiServer));
    (events, lb.ready)
}

#[cfg(test)]
mod tests {
    use super::etcd_check;

    #[test]
    fn the_etcd_check_is_read_from_the_verbose_list() {
        let ok = "[+]ping ok\n[+]etcd ok\n[+]etcd-readiness ok\nreadyz check passed\n";
        assert_eq!(etcd_check(ok), Some(true));
        let failed = "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed";
        assert_eq!(etcd_check(failed), Some(false));
        assert_eq!(etcd_check("[+]etcd-readiness ok\nok"), None);
    }
}
