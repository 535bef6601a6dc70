//! What the drill's checks ask of a cluster before it starts and during the recovery, so
//! the same plan and health rules hold for the lab and a live cluster (fed by the
//! cockpit's own sources).

use hatui_lab::Lab;
use hatui_model::{ApiServerHealth, ClusterState, EndpointHealth, EtcdStatus, Readiness};

pub trait Seen {
    /// The control-plane nodes, in order.
    fn masters(&self) -> Vec<String>;
    /// A node's Ready condition; `None` when there is no such node.
    fn readiness(&self, node: &str) -> Option<Readiness>;
    fn apiserver(&self, node: &str) -> Option<ApiServerHealth>;
    fn etcd_status(&self) -> EtcdStatus;
    fn etcd_leader(&self) -> Option<String>;
    fn lease_holder(&self, name: &str) -> Option<String>;
    /// Held by a leader that can do its work (not merely named in an expired record).
    fn lease_active(&self, name: &str) -> bool;
    fn endpoint(&self) -> EndpointHealth;
}

impl Seen for Lab {
    fn masters(&self) -> Vec<String> {
        (1..=self.config().control_planes)
            .map(|i| format!("cp-{i}"))
            .collect()
    }

    fn readiness(&self, node: &str) -> Option<Readiness> {
        self.node(node).map(|n| n.ready)
    }

    fn apiserver(&self, node: &str) -> Option<ApiServerHealth> {
        Lab::apiserver(self, node)
    }

    fn etcd_status(&self) -> EtcdStatus {
        Lab::etcd_status(self)
    }

    fn etcd_leader(&self) -> Option<String> {
        Lab::etcd_leader(self)
    }

    fn lease_holder(&self, name: &str) -> Option<String> {
        Lab::lease_holder(self, name)
    }

    fn lease_active(&self, name: &str) -> bool {
        Lab::lease_active(self, name)
    }

    fn endpoint(&self) -> EndpointHealth {
        Lab::endpoint(self)
    }
}

impl Seen for ClusterState {
    /// The control-plane Nodes and the masters whose apiservers the sources know (from
    /// kubeadm's advertise-address annotation): a master not probed yet counts as one.
    fn masters(&self) -> Vec<String> {
        let nodes = self.nodes.iter().filter(|n| n.is_control_plane());
        let mut all: Vec<String> = nodes.map(|n| n.name.clone()).collect();
        all.extend(self.apiservers.keys().cloned());
        all.sort();
        all.dedup();
        all
    }

    fn readiness(&self, node: &str) -> Option<Readiness> {
        self.nodes.get(node).map(|n| n.ready)
    }

    fn apiserver(&self, node: &str) -> Option<ApiServerHealth> {
        self.apiservers.get(node).cloned()
    }

    fn etcd_status(&self) -> EtcdStatus {
        self.etcd.clone()
    }

    fn etcd_leader(&self) -> Option<String> {
        self.etcd.leader_member().map(|m| m.name.clone())
    }

    fn lease_holder(&self, name: &str) -> Option<String> {
        let lease = self.leases.get(name)?;
        lease.holder_node().map(str::to_string)
    }

    /// Held and renewed within its duration: on a live cluster that is all the API says.
    fn lease_active(&self, name: &str) -> bool {
        self.leases
            .get(name)
            .is_some_and(|l| l.holder_node().is_some() && !l.expired(self.now))
    }

    fn endpoint(&self) -> EndpointHealth {
        self.endpoint.clone()
    }
}
