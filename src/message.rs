//! Messages into the state owner, and commands out of it.

use crossterm::event::KeyEvent;

use crate::model::ClusterEvent;

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Key(KeyEvent),
    /// The terminal changed size: redraw.
    Resize,
    /// A batch of events from one source, applied together before the next frame.
    Cluster(Vec<ClusterEvent>),
    Quit,
}

/// Sources send model events; this is where they become the app's message.
impl From<Vec<ClusterEvent>> for Message {
    fn from(batch: Vec<ClusterEvent>) -> Self {
        Self::Cluster(batch)
    }
}

/// Side effects `update` asks the runtime to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Fault(Fault),
}

/// A way of taking a node down that behaves differently in a real cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// `systemctl stop kubelet`: heartbeats stop, the static pods keep running.
    StopKubelet,
    /// Manifests moved out of `/etc/kubernetes/manifests`: the kubelet stops the
    /// control-plane pods cleanly (etcd hands over leadership, leases are released).
    StopControlPlane,
    /// Power off: everything dies at once; others wait for timeouts.
    PowerOff,
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
            Self::Restore => "restored (powered on, manifests back, kubelet started)",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub node: String,
    pub kind: FaultKind,
}
