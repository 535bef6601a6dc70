//! What can happen to a node: the faults an operator injects (in the lab, or as a drill on
//! real hosts), in the words of what would be done on the host.

/// A way of taking a node (or part of it) down that behaves differently in a real cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// `systemctl stop kubelet`: heartbeats stop, the static pods keep running.
    StopKubelet,
    /// Manifests moved out of `/etc/kubernetes/manifests`: the kubelet stops the
    /// control-plane pods cleanly (etcd hands over leadership, leases are released).
    StopControlPlane,
    /// Power off: everything dies at once; others wait for timeouts.
    PowerOff,
    /// `crictl stop` of the etcd container alone: the apiserver keeps running but cannot
    /// serve; the kubelet starts etcd again after its crash back-off.
    StopEtcd,
    /// Firewall rules dropping 2379, 2380 and 6443 between this master and the others: a
    /// partition. The load balancer and the workers still reach it.
    Partition,
    /// Power off and `kubectl delete node`: the etcd member is left behind (stale).
    DeleteNode,
    /// Undo any of the above.
    Restore,
}

impl FaultKind {
    /// What the operator would type (or do) on the host.
    pub fn describe(self) -> &'static str {
        match self {
            Self::StopKubelet => "systemctl stop kubelet (the control plane keeps running)",
            Self::StopControlPlane => {
                "manifests moved out of /etc/kubernetes/manifests (static pods stop cleanly)"
            }
            Self::PowerOff => "powered off (everything dies uncleanly)",
            Self::StopEtcd => {
                "crictl stop of the etcd container (SIGTERM; the apiserver keeps running without it)"
            }
            Self::Partition => {
                "iptables drops 2379, 2380 and 6443 to and from the other masters (a partition; \
                 the load balancer and the workers still reach it)"
            }
            Self::DeleteNode => {
                "powered off and kubectl delete node (its etcd member is left behind)"
            }
            Self::Restore => {
                "restored (powered on, manifests back, firewall rules removed, kubelet restarted)"
            }
        }
    }
}

/// A fault on one node, by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub node: String,
    pub kind: FaultKind,
}
