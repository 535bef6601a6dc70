//! What can happen to a node: the faults an operator injects (in the lab, or as a drill on
//! real hosts), in the words of what would be done on the host.

/// A way of taking a node (or part of it) down that behaves differently in a real cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// `systemctl stop kubelet`: heartbeats stop, the static pods keep running.
    StopKubelet,
    /// The control plane's four manifests moved out of `/etc/kubernetes/manifests` (a
    /// `kube-vip.yaml` stays): within about a second (inotify) the kubelet stops those pods
    /// cleanly (etcd hands over leadership, the scheduler releases its lease).
    StopControlPlane,
    /// A power cut: everything dies at once; others wait for timeouts.
    PowerOff,
    /// A clean shutdown (`systemctl poweroff`): everything gets SIGTERM (etcd hands over
    /// leadership, the scheduler releases its lease), then the host is off.
    Shutdown,
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
                "the four control-plane manifests moved out of /etc/kubernetes/manifests (static \
                 pods stop cleanly)"
            }
            Self::PowerOff => "power cut (everything dies at once, uncleanly)",
            Self::Shutdown => {
                "clean shutdown, systemctl poweroff (everything gets SIGTERM, then the power \
                 goes off)"
            }
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
                "restored (powered on and booting, manifests back, firewall rules removed, kubelet \
                 restarted)"
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
