//! The live cluster's sources: one watcher per kind of object, the endpoint probe and the
//! wall clock, merged into `Message::Cluster` batches like the lab's.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use k8s_openapi::api::coordination::v1::Lease as K8sLease;
use k8s_openapi::api::core::v1::{ConfigMap, Node as K8sNode, Pod, Secret};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use tokio::sync::mpsc::Sender;

use super::convert::{self, CERTS_SECRET};
use super::errors::Resource as What;
use super::failover::Route;
use super::watch::{self, Projection};
use super::{Clock, certs, health};
use crate::message::Message;
use crate::model::{CertKey, ClusterEvent, FeedKind, FeedStatus, Lease, Node, StaticPods, Token};

const NS: &str = "kube-system";
/// Where each kubelet renews its node Lease every 10 s.
const NODE_LEASE_NS: &str = "kube-node-lease";
pub const ETCD_NOT_CONFIGURED: &str =
    "etcd not configured: pass --etcd-endpoints (with --etcd-cacert, --etcd-cert, --etcd-key)";

/// What the sources need: clients for the kubeconfig's server and a clock.
#[derive(Clone)]
pub struct Sources {
    /// Goes wherever `route` points: the endpoint, or a master while it is down.
    pub client: Client,
    /// Always the kubeconfig's server, for its probe.
    pub endpoint_client: Client,
    pub route: Arc<Route>,
    /// `host:port` of the kubeconfig's server, as the endpoint pane names it.
    pub endpoint: String,
    pub clock: Clock,
    pub probe_every: Duration,
    pub probe_timeout: Duration,
    /// How often the certificates are read again (their expiry moves in days).
    pub cert_every: Duration,
    /// Why etcd is not asked, for its pane; `None` when another source asks it.
    pub etcd_missing: Option<String>,
}

/// A named stream of event batches; the name is what `status` says it waited for.
pub type Named = (&'static str, BoxStream<'static, Vec<ClusterEvent>>);

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
            (
                "nodes",
                watch(FeedKind::Nodes, cluster_wide).stream(Api::all(c.clone()), cfg(), Nodes),
            ),
            (
                "control-plane pods",
                watch(FeedKind::Pods, ns("pods")).stream(
                    Api::namespaced(c.clone(), NS),
                    cfg().labels("tier=control-plane"),
                    pods,
                ),
            ),
            (
                "leases",
                watch(FeedKind::Leases, ns("leases")).stream(
                    Api::namespaced(c.clone(), NS),
                    cfg(),
                    Leases,
                ),
            ),
            (
                "node leases",
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
            (
                "bootstrap tokens",
                watch(FeedKind::Tokens, ns("secrets")).stream(
                    Api::namespaced(c.clone(), NS),
                    tokens,
                    Tokens,
                ),
            ),
            (
                "kubeadm-certs",
                watch(FeedKind::Tokens, ns("secrets")).stream(
                    Api::namespaced(c.clone(), NS),
                    certs,
                    Certs,
                ),
            ),
            (
                "kubeadm-config",
                watch(FeedKind::Config, ns("configmaps")).stream(
                    Api::namespaced(c.clone(), NS),
                    config,
                    KubeadmConfig,
                ),
            ),
            ("endpoint /readyz", health::stream(self.clone())),
            ("certificates", certs::stream(self.clone())),
            ("clock", self.ticks()),
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

    /// Runs until `tx` closes: every source's batches, as they come, sent as messages.
    pub async fn run(self, tx: Sender<Message>) {
        let merged = stream::select_all(self.streams().into_iter().map(|(_, s)| s));
        // Batches that arrive together go out as one message: one redraw.
        let mut chunks = merged.ready_chunks(64);
        while let Some(chunk) = chunks.next().await {
            let batch: Vec<ClusterEvent> = chunk.into_iter().flatten().collect();
            if !batch.is_empty() && tx.send(Message::Cluster(batch)).await.is_err() {
                return;
            }
        }
    }
}

struct Nodes;
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

struct Leases;
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

struct Tokens;
impl Projection for Tokens {
    type K = Secret;
    type Item = Token;
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

struct Certs;
impl Projection for Certs {
    type K = Secret;
    type Item = CertKey;
    fn keys(&self, _: &Secret) -> Vec<String> {
        vec![CERTS_SECRET.into()]
    }
    /// Absent is news too: the model needs to hear there is no key.
    fn fixed_keys(&self) -> Vec<String> {
        vec![CERTS_SECRET.into()]
    }
    fn project(&self, _: &str, objs: &BTreeMap<String, Secret>) -> Option<CertKey> {
        let certs = objs.get(&format!("{NS}/{CERTS_SECRET}"));
        Some(certs.map(convert::cert_key).unwrap_or_default())
    }
    fn events(&self, _: &str, item: Option<&CertKey>) -> Vec<ClusterEvent> {
        item.map(|c| ClusterEvent::CertKey(c.clone()))
            .into_iter()
            .collect()
    }
}

pub const NO_CONTROL_PLANE_ENDPOINT: &str = "kubeadm-config: the cluster was initialised \
without controlPlaneEndpoint, so every node talks to one master's address; fix: add \
controlPlaneEndpoint (a load balancer or DNS name) to the kubeadm-config ClusterConfiguration, \
re-issue the apiserver certificates with it in their SANs, then point the kubeconfigs at it";

/// `kubeadm-config`: only what an HA operator must know from it.
struct KubeadmConfig;
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
        match item {
            Some(None) => vec![ClusterEvent::Note(NO_CONTROL_PLANE_ENDPOINT.into())],
            _ => Vec::new(),
        }
    }
}
