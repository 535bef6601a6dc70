//! What a data source tells the state owner. Every source (lab, kube watchers, etcd
//! pollers) speaks only these, so no pane knows where its data came from.

use jiff::Timestamp;

use super::{
    ApiServerHealth, CertKey, Certificate, EndpointHealth, EtcdStatus, FeedKind, FeedStatus, Lease,
    Node, StaticPods, Token,
};

#[derive(Debug, Clone, PartialEq)]
pub enum ClusterEvent {
    /// The cluster's clock moved (the lab clock, or wall time for a live cluster).
    Clock(Timestamp),
    Endpoint(EndpointHealth),
    ApiServer(ApiServerHealth),
    NodeUpsert(Node),
    NodeRemoved(String),
    /// Node Leases (`kube-node-lease/<node>`) renewed: `(node, renewTime)`. The kubelet
    /// renews its lease every 10 s; this, not the Node's status, is its heartbeat.
    NodeLeases(Vec<(String, Timestamp)>),
    StaticPods(StaticPods),
    /// A complete etcd view, as one poll of every member gives it.
    Etcd(EtcdStatus),
    LeaseUpsert(Lease),
    LeaseRemoved(String),
    TokenUpsert(Token),
    TokenRemoved(String),
    CertKey(CertKey),
    /// A certificate as last read; a newer one (renewed) replaces it by name.
    Certificate(Certificate),
    Feed(FeedKind, FeedStatus),
    /// `controlPlaneEndpoint` of the `kubeadm-config` ClusterConfiguration (`None`: unset).
    ControlPlaneEndpoint(Option<String>),
    /// Something the source did or saw that belongs in the timeline as it is
    /// (for example a lab fault being injected).
    Note(String),
}
