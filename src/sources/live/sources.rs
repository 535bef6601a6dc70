//! The live cluster's sources: one watcher per kind of object, the endpoint probe and the
//! wall clock, merged into `Message::Cluster` batches like the lab's.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use k8s_openapi::api::coordination::v1::Lease as K8sLease;
use k8s_openapi::api::core::v1::{ConfigMap, Node as K8sNode, Pod, Secret};
use kube::core::PartialObjectMeta;
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use tokio::sync::mpsc::Sender;

use super::clients::Sources;
use super::convert::{self, CERTS_SECRET};
use super::errors::Resource as What;
use super::failover::Route;
use super::watch::{self, Projection};
use super::{certs, health};
use crate::supervise::{Duty, supervise};
use hatui_model::{CertKey, ClusterEvent, FeedKind, FeedStatus, Lease, Node, StaticPods, Token};

pub(super) const NS: &str = "kube-system";
/// Where each kubelet renews its node Lease every 10 s.
const NODE_LEASE_NS: &str = "kube-node-lease";
pub const ETCD_NOT_CONFIGURED: &str =
    "etcd not configured: pass --etcd-endpoints (with --etcd-cacert, --etcd-cert, --etcd-key)";

/// A named stream of event batches; the name is what `status` says it waited for.
pub struct Named {
    pub name: &'static str,
    /// The feed whose pane shows this stream's data, if any.
    pub feed: Option<FeedKind>,
    pub stream: BoxStream<'static, Vec<ClusterEvent>>,
}

fn named(
    name: &'static str,
    feed: Option<FeedKind>,
    stream: BoxStream<'static, Vec<ClusterEvent>>,
) -> Named {
    Named { name, feed, stream }
}

impl Sources {
    pub fn streams(&self) -> Vec<Named> {
        let c = &self.client;
        let ns = |plural| What {
            plural,
            namespace: Some(NS),
        };
        let watch = |kind, what| watch::Watch {
            kind,
            what,
            clock: self.clock.clone(),
            restarts: self.route.restarts(),
        };
        let cfg = watcher::Config::default;
        let cluster_wide = What {
            plural: "nodes",
            namespace: None,
        };
        let pods = Pods {
            route: self.route.clone(),
        };
        let tokens = cfg().fields("type=bootstrap.kubernetes.io/token");
        let certs = cfg().fields(&format!("metadata.name={CERTS_SECRET}"));
        let config = cfg().fields("metadata.name=kubeadm-config");
        vec![
            named(
                "nodes",
                Some(FeedKind::Nodes),
                watch(FeedKind::Nodes, cluster_wide).stream(Api::all(c.clone()), cfg(), Nodes),
            ),
            named(
                "control-plane pods",
                Some(FeedKind::Pods),
                watch(FeedKind::Pods, ns("pods")).stream(
                    Api::namespaced(c.clone(), NS),
                    cfg().labels("tier=control-plane"),
                    pods,
                ),
            ),
            named(
                "leases",
                Some(FeedKind::Leases),
                watch(FeedKind::Leases, ns("leases")).stream(
                    Api::namespaced(c.clone(), NS),
                    cfg(),
                    Leases,
                ),
            ),
            named(
                "node leases",
                Some(FeedKind::NodeLeases),
                watch(
                    FeedKind::NodeLeases,
                    What {
                        plural: "leases",
                        namespace: Some(NODE_LEASE_NS),
                    },
                )
                .stream(
                    Api::namespaced(c.clone(), NODE_LEASE_NS),
                    cfg(),
                    NodeLeases,
                ),
            ),
            named(
                "bootstrap tokens",
                Some(FeedKind::Tokens),
                watch(FeedKind::Tokens, ns("secrets")).stream(
                    Api::namespaced(c.clone(), NS),
                    tokens,
                    Tokens,
                ),
            ),
            named(
                "kubeadm-certs",
                Some(FeedKind::Tokens),
                watch(FeedKind::Tokens, ns("secrets")).stream(
                    Api::<PartialObjectMeta<Secret>>::namespaced(c.clone(), NS),
                    certs,
                    Certs,
                ),
            ),
            named(
                "kubeadm-config",
                Some(FeedKind::Config),
                watch(FeedKind::Config, ns("configmaps")).stream(
                    Api::namespaced(c.clone(), NS),
                    config,
                    KubeadmConfig,
                ),
            ),
            named(
                "endpoint /readyz",
                Some(FeedKind::Endpoint),
                health::stream(self.clone()),
            ),
            named(
                "certificates",
                Some(FeedKind::Certificates),
                certs::stream(self.clone()),
            ),
            named("clock", None, self.ticks()),
        ]
    }

    /// The wall clock once a second, for countdowns and data ages; first of all, what is
    /// not watched here.
    fn ticks(&self) -> BoxStream<'static, Vec<ClusterEvent>> {
        let clock = self.clock.clone();
        let mut first = vec![ClusterEvent::Clock(clock())];
        if let Some(why) = &self.etcd_missing {
            let etcd = FeedStatus {
                last_ok: None,
                error: Some(why.clone()),
                every: None,
            };
            first.push(ClusterEvent::Feed(FeedKind::Etcd, etcd));
        }
        let first = stream::iter([first]);
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let ticks = stream::unfold(interval, move |mut i| {
            let clock = clock.clone();
            async move {
                i.tick().await;
                Some((vec![ClusterEvent::Clock(clock())], i))
            }
        });
        first.chain(ticks).boxed()
    }

    /// Runs until `tx` closes: each source as a task of its own, its batches sent as
    /// messages as they come. A source task that ends or panics is reported on its pane and
    /// started again with backoff: a watch starts over with a fresh list, a probe with its
    /// next round.
    pub async fn run<M: From<Vec<ClusterEvent>> + Send + 'static>(self, tx: Sender<M>) {
        let tasks: Vec<_> = self
            .streams()
            .into_iter()
            .map(|first| {
                let (name, out, sources) = (first.name, tx.clone(), self.clone());
                let duty = Duty::new(format!("source {name}"), first.feed.as_slice());
                let mut first = Some(first.stream);
                supervise(duty, tx.clone(), move || {
                    let stream = first.take().unwrap_or_else(|| sources.stream(name));
                    send_all(stream, out.clone())
                })
            })
            .collect();
        tx.closed().await;
        for task in tasks {
            task.abort();
        }
    }

    /// A fresh stream for the source called `name` (to restart it).
    fn stream(&self, name: &str) -> BoxStream<'static, Vec<ClusterEvent>> {
        self.streams()
            .into_iter()
            .find(|s| s.name == name)
            .map_or_else(|| stream::empty().boxed(), |s| s.stream)
    }
}

/// Sends a stream's batches until it ends or `tx` closes; batches that arrive together go
/// out as one message (one redraw).
async fn send_all<M: From<Vec<ClusterEvent>>>(
    stream: BoxStream<'static, Vec<ClusterEvent>>,
    tx: Sender<M>,
) {
    let mut chunks = stream.ready_chunks(64);
    while let Some(chunk) = chunks.next().await {
        let batch: Vec<ClusterEvent> = chunk.into_iter().flatten().collect();
        if !batch.is_empty() && tx.send(batch.into()).await.is_err() {
            return;
        }
    }
}

pub(super) struct Nodes;
impl Projection for Nodes {
    type K = K8sNode;
    type Item = Node;
    fn keys(&self, obj: &K8sNode) -> Vec<String> {
        vec![obj.name_any()]
    }
    fn project(&self, key: &str, objs: &BTreeMap<String, K8sNode>) -> Option<Node> {
        objs.get(&format!("/{key}")).map(convert::node)
    }
    fn events(&self, key: &str, item: Option<&Node>) -> Vec<ClusterEvent> {
        vec![match item {
            Some(n) => ClusterEvent::NodeUpsert(n.clone()),
            None => ClusterEvent::NodeRemoved(key.to_string()),
        }]
    }
}

/// Keyed by node: a master whose static pods all vanish shows them absent, not gone.
/// Also tells the route where each master's own apiserver listens.
struct Pods {
    route: Arc<Route>,
}
impl Projection for Pods {
    type K = Pod;
    type Item = StaticPods;
    fn keys(&self, obj: &Pod) -> Vec<String> {
        convert::component(obj)
            .and(convert::pod_node(obj))
            .into_iter()
            .collect()
    }
    fn project(&self, key: &str, objs: &BTreeMap<String, Pod>) -> Option<StaticPods> {
        let on_node = || {
            objs.values()
                .filter(|p| convert::pod_node(p).as_deref() == Some(key))
        };
        let apiserver = on_node().find_map(convert::apiserver_endpoint);
        self.route.set_master(key, apiserver);
        Some(convert::static_pods(key, on_node()))
    }
    fn events(&self, _: &str, item: Option<&StaticPods>) -> Vec<ClusterEvent> {
        item.map(|p| ClusterEvent::StaticPods(p.clone()))
            .into_iter()
            .collect()
    }
}

pub(super) struct Leases;
impl Projection for Leases {
    type K = K8sLease;
    type Item = Lease;
    fn keys(&self, obj: &K8sLease) -> Vec<String> {
        vec![obj.name_any()]
    }
    fn project(&self, key: &str, objs: &BTreeMap<String, K8sLease>) -> Option<Lease> {
        objs.get(&format!("{NS}/{key}")).and_then(convert::lease)
    }
    fn events(&self, key: &str, item: Option<&Lease>) -> Vec<ClusterEvent> {
        vec![match item {
            Some(l) => ClusterEvent::LeaseUpsert(l.clone()),
            None => ClusterEvent::LeaseRemoved(key.to_string()),
        }]
    }
}

/// The kubelets' heartbeats, by node (a node Lease is named after its Node).
struct NodeLeases;
impl Projection for NodeLeases {
    type K = K8sLease;
    type Item = jiff::Timestamp;
    fn keys(&self, obj: &K8sLease) -> Vec<String> {
        vec![obj.name_any()]
    }
    fn project(&self, key: &str, objs: &BTreeMap<String, K8sLease>) -> Option<jiff::Timestamp> {
        objs.get(&format!("{NODE_LEASE_NS}/{key}"))
            .and_then(convert::node_lease_renewed)
    }
    fn events(&self, key: &str, item: Option<&jiff::Timestamp>) -> Vec<ClusterEvent> {
        let renewed = item.map(|&t| (key.to_string(), t));
        renewed
            .map(|r| ClusterEvent::NodeLeases(vec![r]))
            .into_iter()
            .collect()
    }
}

pub(super) struct Tokens;
impl Projection for Tokens {
    type K = Secret;
    type Item = Token;
    /// The watch brings each token whole; its secret goes before anything keeps it.
    fn strip(&self, obj: &mut Secret) {
        convert::strip_token_secret(obj);
    }
    fn keys(&self, obj: &Secret) -> Vec<String> {
        convert::token(obj).map(|t| t.id).into_iter().collect()
    }
    fn project(&self, key: &str, objs: &BTreeMap<String, Secret>) -> Option<Token> {
        objs.values()
            .filter_map(convert::token)
            .find(|t| t.id == key)
    }
    fn events(&self, key: &str, item: Option<&Token>) -> Vec<ClusterEvent> {
        vec![match item {
            Some(t) => ClusterEvent::TokenUpsert(t.clone()),
            None => ClusterEvent::TokenRemoved(key.to_string()),
        }]
    }
}

/// `kubeadm-certs` as metadata only: its owner reference is all that is needed, and its
/// encrypted certificates are never requested.
pub(super) struct Certs;
impl Projection for Certs {
    type K = PartialObjectMeta<Secret>;
    type Item = CertKey;
    fn keys(&self, _: &Self::K) -> Vec<String> {
        vec![CERTS_SECRET.into()]
    }
    /// Absent is news too: the model needs to hear there is no key.
    fn fixed_keys(&self) -> Vec<String> {
        vec![CERTS_SECRET.into()]
    }
    fn project(&self, _: &str, objs: &BTreeMap<String, Self::K>) -> Option<CertKey> {
        let certs = objs.get(&format!("{NS}/{CERTS_SECRET}"));
        Some(certs.map(convert::cert_key).unwrap_or_default())
    }
    fn events(&self, _: &str, item: Option<&CertKey>) -> Vec<ClusterEvent> {
        item.map(|c| ClusterEvent::CertKey(c.clone()))
            .into_iter()
            .collect()
    }
}

pub use hatui_model::kubeadm_config::NO_CONTROL_PLANE_ENDPOINT;

/// `kubeadm-config`: only what an HA operator must know from it.
pub(super) struct KubeadmConfig;
impl Projection for KubeadmConfig {
    type K = ConfigMap;
    /// `controlPlaneEndpoint`, `None` when the cluster was initialised without it.
    type Item = Option<String>;
    fn keys(&self, obj: &ConfigMap) -> Vec<String> {
        vec![obj.name_any()]
    }
    fn project(&self, key: &str, objs: &BTreeMap<String, ConfigMap>) -> Option<Option<String>> {
        let cm = objs.get(&format!("{NS}/{key}"))?;
        let cfg = cm.data.as_ref()?.get("ClusterConfiguration")?;
        Some(convert::control_plane_endpoint(cfg))
    }
    fn events(&self, _: &str, item: Option<&Option<String>>) -> Vec<ClusterEvent> {
        // The model checks it against the masters' addresses.
        item.map(|e| ClusterEvent::ControlPlaneEndpoint(e.clone()))
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::watch::State;

    fn fixture<T: serde::de::DeserializeOwned>(file: &str) -> T {
        let path = format!(
            "{}/../../tests/fixtures/kubeadm/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    const SECRETS: [&str; 4] = [
        "kx7f2m9p0d3s8v1b",
        "zq8w3n5r7t1y6u4e",
        "m2c4e6g8i0k1l3n5",
        "p0o9i8u7y6t5r4e3",
    ];

    /// Whether `text` (a Debug dump) holds any token secret, as text or as bytes.
    fn leaks(text: &str) -> Option<&'static str> {
        SECRETS.into_iter().find(|x| {
            let bytes = format!("{:?}", k8s_openapi::ByteString(x.as_bytes().to_vec()));
            text.contains(x) || text.contains(&bytes)
        })
    }

    #[test]
    fn the_token_watch_keeps_no_token_secret() {
        let what = What {
            plural: "secrets",
            namespace: Some(NS),
        };
        let clock: crate::live::Clock = std::sync::Arc::new(jiff::Timestamp::now);
        let mut state = State::new(Tokens, FeedKind::Tokens, what, clock);
        let secrets: Vec<Secret> = fixture("secrets.json");
        let tokens: Vec<&Secret> = secrets
            .iter()
            .filter(|s| s.type_.as_deref() == Some("bootstrap.kubernetes.io/token"))
            .collect();
        assert_eq!(tokens.len(), 4);
        assert!(
            leaks(&format!("{tokens:?}")).is_some(),
            "the fixture has secrets"
        );
        let mut events = state.on(Ok(watcher::Event::Init));
        for s in &tokens {
            events.extend(state.on(Ok(watcher::Event::InitApply((*s).clone()))));
            // Mid-relist the objects wait in the relist store: stripped there too.
            assert_eq!(leaks(&state.held()), None, "{}", state.held());
        }
        events.extend(state.on(Ok(watcher::Event::InitDone)));
        for s in &tokens {
            events.extend(state.on(Ok(watcher::Event::Apply((*s).clone()))));
        }
        let held = state.held();
        assert!(held.contains("q41ujq"), "the tokens are kept: {held}");
        assert!(!held.contains("token-secret"), "{held}");
        assert_eq!(leaks(&held), None, "a secret in the watch's store");
        assert_eq!(
            leaks(&format!("{events:?}")),
            None,
            "a secret sent to the model"
        );
    }
}
