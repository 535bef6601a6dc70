//! Freshness of what is read through the API. While the endpoint is down a real client's
//! watches stall: the panes keep their data and say how old it is.

use hatui_model::{ClusterEvent, FeedKind, FeedStatus};

/// Read through the API endpoint; etcd is asked directly and stays fresh.
pub(crate) const API_FEEDS: [FeedKind; 4] = [
    FeedKind::Nodes,
    FeedKind::Pods,
    FeedKind::Leases,
    FeedKind::Tokens,
];

/// The lab's feeds are pushed, like watches (`every: None`): its events and its clock come
/// from the same task, so none can be late while the lab runs; a lab task that stops is
/// reported by the runtime instead.
#[derive(Debug, Clone)]
pub(crate) struct Feeds {
    pub api_up: bool,
    /// When the endpoint last went down (the data's age from then on).
    pub down_since: jiff::Timestamp,
    pub endpoint: String,
    /// What the last failed request through it said.
    pub why: String,
}

impl Feeds {
    pub(crate) fn status(&self, now: jiff::Timestamp) -> FeedStatus {
        if self.api_up {
            FeedStatus {
                last_ok: Some(now),
                error: None,
                every: None,
            }
        } else {
            // Before init nothing ever answered: say so plainly.
            let never = self.why == super::build::NO_API;
            FeedStatus {
                last_ok: (!never).then_some(self.down_since),
                error: Some(if never {
                    self.why.clone()
                } else {
                    format!("API endpoint {}: {}", self.endpoint, self.why)
                }),
                every: None,
            }
        }
    }

    /// One `Feed` event per API-read kind, plus etcd (always fresh) when `with_etcd`.
    pub(crate) fn events(&self, now: jiff::Timestamp, with_etcd: bool) -> Vec<ClusterEvent> {
        let mut events: Vec<_> = API_FEEDS
            .iter()
            .map(|&k| ClusterEvent::Feed(k, self.status(now)))
            .collect();
        if with_etcd {
            let fresh = FeedStatus {
                last_ok: Some(now),
                error: None,
                every: None,
            };
            events.push(ClusterEvent::Feed(FeedKind::Etcd, fresh));
        }
        events
    }
}
