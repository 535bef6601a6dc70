//! One kube-rs watcher (restarted with backoff) turned into model events: a small store of the
//! objects, a projection per key (a node name, a token id), and a feed status that says
//! how old the data is and why it cannot refresh.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use std::time::Duration;

use futures::stream::{self, BoxStream, Stream, StreamExt};
use kube::runtime::watcher;
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use super::Clock;
use super::errors::{self, Resource as What};
use hatui_model::{ClusterEvent, FeedKind, FeedStatus};

/// How one kind of object becomes model events.
pub trait Projection: Send + 'static {
    type K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static;
    type Item: PartialEq + Send;

    /// Drops what must never be kept (a token's secret) from an object as it arrives,
    /// before anything stores it.
    fn strip(&self, _obj: &mut Self::K) {}
    /// The projected keys an object contributes to (a pod → its node).
    fn keys(&self, obj: &Self::K) -> Vec<String>;
    /// Keys recomputed after every (re)list even when no object names them.
    fn fixed_keys(&self) -> Vec<String> {
        Vec::new()
    }
    /// The item for `key` from every object now present; `None`: the key is gone.
    fn project(&self, key: &str, objs: &BTreeMap<String, Self::K>) -> Option<Self::Item>;
    /// The events that tell the model `key` is now `item`.
    fn events(&self, key: &str, item: Option<&Self::Item>) -> Vec<ClusterEvent>;
}

pub(super) struct State<P: Projection> {
    projection: P,
    objs: BTreeMap<String, P::K>,
    /// Objects of a relist in progress, swapped in at `InitDone`.
    relist: Option<BTreeMap<String, P::K>>,
    items: BTreeMap<String, P::Item>,
    feed: FeedStatus,
    /// A first failure after fresh data, not reported yet (see `failed`).
    held: Option<String>,
    kind: FeedKind,
    what: What,
    clock: Clock,
}

/// Watches `api` and yields batches of events for the model (empty batches while a list
/// is still arriving). Errors are reported as the feed's status; the last data stays.
pub struct Watch {
    pub kind: FeedKind,
    pub what: What,
    pub clock: Clock,
    /// Changes when the route to the apiserver switches: start over on the new path.
    pub restarts: watch::Receiver<u64>,
}

impl Watch {
    pub fn stream<P: Projection>(
        self,
        api: Api<P::K>,
        config: watcher::Config,
        projection: P,
    ) -> BoxStream<'static, Vec<ClusterEvent>> {
        let mut state = State::new(projection, self.kind, self.what, self.clock);
        restarting(api, config, self.restarts)
            .map(move |ev| state.on(ev))
            .boxed()
    }
}

/// A watcher that starts over with a fresh list after any error, waiting longer after each
/// failure in a row (0.8 s doubling to 30 s, as kube-rs's default backoff).
///
/// kube-rs's own retry resumes the watch from the last resourceVersion, and a resumed
/// watch says nothing until the next change: a pane could not tell "refreshing again" from
/// "still broken" for minutes. A relist ends in `InitDone`, which says it.
fn restarting<K>(
    api: Api<K>,
    config: watcher::Config,
    restarts: watch::Receiver<u64>,
) -> impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    type Inner<K> = BoxStream<'static, Result<watcher::Event<K>, watcher::Error>>;
    struct Restart<K> {
        api: Api<K>,
        config: watcher::Config,
        inner: Option<Inner<K>>,
        failures: u32,
        restarts: watch::Receiver<u64>,
    }
    let start = Restart {
        api,
        config,
        inner: None,
        failures: 0,
        restarts,
    };
    stream::unfold(start, |mut st| async move {
        loop {
            if st.inner.is_none() && st.failures > 0 {
                // A route switch cuts the wait short: the new path may well work.
                let _ = tokio::time::timeout(backoff(st.failures), st.restarts.changed()).await;
            }
            let inner = st
                .inner
                .get_or_insert_with(|| watcher(st.api.clone(), st.config.clone()).boxed());
            let next = tokio::select! {
                next = inner.next() => next,
                Ok(()) = st.restarts.changed() => {
                    st.inner = None;
                    st.failures = 0;
                    continue;
                }
            };
            match next {
                Some(Ok(ev)) => {
                    if matches!(ev, watcher::Event::InitDone) {
                        st.failures = 0;
                    }
                    return Some((Ok(ev), st));
                }
                Some(Err(e)) => {
                    st.inner = None;
                    st.failures += 1;
                    return Some((Err(e), st));
                }
                None => st.inner = None,
            }
        }
    })
}

fn backoff(failures: u32) -> Duration {
    let ms = 800u64.saturating_mul(1 << failures.saturating_sub(1).min(6));
    Duration::from_millis(ms.min(30_000))
}

fn key_of<K: Resource>(obj: &K) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

impl<P: Projection> State<P> {
    pub(super) fn new(projection: P, kind: FeedKind, what: What, clock: Clock) -> Self {
        Self {
            projection,
            objs: BTreeMap::new(),
            relist: None,
            items: BTreeMap::new(),
            feed: FeedStatus::default(),
            held: None,
            kind,
            what,
            clock,
        }
    }

    /// Everything this watch holds, as text: for tests that prove a secret is not kept.
    #[cfg(test)]
    pub(super) fn held(&self) -> String
    where
        P::Item: Debug,
    {
        format!("{:?} {:?} {:?}", self.objs, self.relist, self.items)
    }

    pub(super) fn on(
        &mut self,
        ev: Result<watcher::Event<P::K>, watcher::Error>,
    ) -> Vec<ClusterEvent> {
        // Stripped first: the secret never reaches the store below.
        let ev = match ev {
            Ok(ev) => ev.modify(|obj| self.projection.strip(obj)),
            Err(e) => return self.failed(errors::watch_error(&e, self.what)),
        };
        let mut out = Vec::new();
        let touched: BTreeSet<String> = match ev {
            watcher::Event::Init => {
                self.relist = Some(BTreeMap::new());
                return out;
            }
            watcher::Event::InitApply(obj) => {
                if let Some(relist) = &mut self.relist {
                    relist.insert(key_of(&obj), obj);
                }
                return out;
            }
            watcher::Event::InitDone => {
                let fresh = self.relist.take().unwrap_or_default();
                let old = std::mem::replace(&mut self.objs, fresh);
                let mut keys: BTreeSet<String> = self.items.keys().cloned().collect();
                keys.extend(self.projection.fixed_keys());
                keys.extend(
                    old.values()
                        .chain(self.objs.values())
                        .flat_map(|o| self.projection.keys(o)),
                );
                keys
            }
            watcher::Event::Apply(obj) => {
                let mut keys: BTreeSet<String> = self.projection.keys(&obj).into_iter().collect();
                if let Some(old) = self.objs.insert(key_of(&obj), obj) {
                    keys.extend(self.projection.keys(&old));
                }
                keys
            }
            watcher::Event::Delete(obj) => {
                let old = self.objs.remove(&key_of(&obj));
                let mut keys: BTreeSet<String> = self.projection.keys(&obj).into_iter().collect();
                keys.extend(old.iter().flat_map(|o| self.projection.keys(o)));
                keys
            }
        };
        for key in touched {
            let item = self.projection.project(&key, &self.objs);
            if item.as_ref() == self.items.get(&key) {
                continue;
            }
            out.extend(self.projection.events(&key, item.as_ref()));
            match item {
                Some(item) => self.items.insert(key, item),
                None => self.items.remove(&key),
            };
        }
        self.ok(&mut out);
        out
    }

    /// The stream answered: data is current now. Only a change of status is sent.
    fn ok(&mut self, out: &mut Vec<ClusterEvent>) {
        let now = (self.clock)();
        self.held = None;
        let was_fresh = self.feed.last_ok.is_some() && self.feed.error.is_none();
        self.feed.last_ok = Some(now);
        if !was_fresh {
            self.feed.error = None;
            out.push(ClusterEvent::Feed(self.kind, self.feed.clone()));
        }
    }

    /// The data stays as it was; its age counts from the last moment it was current.
    ///
    /// The first failure after fresh data is held back: a watch that resumes at once (an
    /// apiserver restart, the switch to a master) is not news. A second one in a row is,
    /// about a second later (the first backoff).
    fn failed(&mut self, error: String) -> Vec<ClusterEvent> {
        let fresh = self.feed.error.is_none() && self.feed.last_ok.is_some();
        if fresh && self.held.is_none() {
            self.feed.last_ok = Some((self.clock)());
            self.held = Some(error);
            return Vec::new();
        }
        self.held = None;
        if self.feed.error.as_deref() == Some(error.as_str()) {
            return Vec::new();
        }
        self.feed.error = Some(error);
        vec![ClusterEvent::Feed(self.kind, self.feed.clone())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let ms = |n| backoff(n).as_millis();
        assert_eq!([ms(1), ms(2), ms(3)], [800, 1600, 3200]);
        assert_eq!(ms(7), 30_000);
        assert_eq!(ms(1000), 30_000);
    }
}
