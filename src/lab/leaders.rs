//! Who actually does a leader's work right now: read-only views for the failover drill.

use super::Lab;

impl Lab {
    /// Whether a copy of the component behind Lease `name` (`kube-scheduler`,
    /// `kube-controller-manager`) leads and can work: it holds the lease, believes it leads,
    /// and its local apiserver answers. A lease still naming a dead master is not active.
    pub fn lease_active(&self, name: &str) -> bool {
        let e = self.leases.iter().find(|e| e.name == name);
        e.is_some_and(|e| e.active(|i| self.api.ready(i)))
    }
}
