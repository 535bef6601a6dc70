//! How fresh each kind of data is, and why it cannot refresh.

use jiff::Timestamp;

/// One stream of data behind a pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FeedKind {
    Nodes,
    Pods,
    Leases,
    /// Node Leases in kube-node-lease: the kubelets' heartbeats.
    NodeLeases,
    Tokens,
    Etcd,
    /// The `kubeadm-config` ConfigMap (the ClusterConfiguration).
    Config,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeedStatus {
    /// When the feed last delivered current data.
    pub last_ok: Option<Timestamp>,
    /// Set while the feed cannot refresh: the pane shows it with the age of its data.
    pub error: Option<String>,
}
