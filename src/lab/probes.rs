//! What a failover drill samples between the lab's own once-a-second checks: who actually
//! does a leader's work, and one request through the endpoint at any moment.

use crate::model::EndpointHealth;

use super::Lab;

impl Lab {
    /// Whether a copy of the component behind Lease `name` (`kube-scheduler`,
    /// `kube-controller-manager`) leads and can work: it holds the lease, believes it leads,
    /// and its local apiserver answers. A lease still naming a dead master is not active.
    pub fn lease_active(&self, name: &str) -> bool {
        let e = self.leases.iter().find(|e| e.name == name);
        e.is_some_and(|e| e.active(|i| self.api.ready(i)))
    }

    /// One request on a new connection through the endpoint right now (`ready`, `detail`,
    /// `latency_ms` as [`Lab::endpoint`] has them), sent to the `seq`-th backend the balancer
    /// has in service. Changes nothing: the balancer's own once-a-second request, and the
    /// API feeds that follow it, go on as before.
    pub fn endpoint_request(&self, seq: u64) -> EndpointHealth {
        let req = self.lb.probe(seq, &self.hosts, &self.api);
        self.lb.endpoint_after(req, &self.cfg, &self.api)
    }
}
