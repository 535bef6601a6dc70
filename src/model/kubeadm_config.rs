//! What the `kubeadm-config` ClusterConfiguration tells an HA operator: whether
//! `controlPlaneEndpoint` is a real HA endpoint. Checked against the nodes, so it is
//! re-evaluated when either changes.

use super::{ClusterState, Severity};

pub const NO_CONTROL_PLANE_ENDPOINT: &str = "kubeadm-config: the cluster was initialised \
without controlPlaneEndpoint, so every node talks to one master's address; fix: add \
controlPlaneEndpoint (a load balancer or DNS name) to the kubeadm-config ClusterConfiguration \
and as the server in kube-public/cluster-info (kubeadm join reads it first), re-issue the \
apiserver certificates with it in their SANs, then point the kubeconfigs at it";

impl ClusterState {
    /// What is wrong with `controlPlaneEndpoint`, once `kubeadm-config` has been read.
    pub fn control_plane_endpoint_problem(&self) -> Option<String> {
        let endpoint = self.control_plane_endpoint.as_ref()?;
        let Some(endpoint) = endpoint else {
            return Some(NO_CONTROL_PLANE_ENDPOINT.to_string());
        };
        let host = host_of(endpoint);
        let master = self
            .nodes
            .iter()
            .filter(|n| n.is_control_plane())
            .find(|n| {
                n.name == host
                    || n.internal_ip.as_deref() == Some(host)
                    || n.hostname.as_deref() == Some(host)
            })?;
        let node = &master.name;
        Some(format!(
            "kubeadm-config: controlPlaneEndpoint {endpoint} is {node}'s own address, not HA: \
             every node and client loses the API with {node}; fix: a load balancer or VIP \
             (in the apiserver certificates' SANs) as controlPlaneEndpoint in the kubeadm-config \
             ClusterConfiguration and as the server in kube-public/cluster-info (kubeadm join \
             reads it first), then in the kubeconfigs"
        ))
    }

    /// A new or changed problem goes in the timeline once.
    pub(super) fn note_endpoint_problem(&mut self) {
        let problem = self.control_plane_endpoint_problem();
        if problem != self.endpoint_problem_noted {
            if let Some(text) = &problem {
                self.timeline.push(self.now, Severity::Warn, text.clone());
            }
            self.endpoint_problem_noted = problem;
        }
    }
}

/// `host` of `host:port`, `[v6]:port` or a bare host.
fn host_of(endpoint: &str) -> &str {
    if let Some(rest) = endpoint.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match endpoint.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => host,
        _ => endpoint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClusterEvent, Node, SourceKind};
    use jiff::Timestamp;

    fn cluster() -> ClusterState {
        let mut c = ClusterState::new(SourceKind::Live, "lb:6443", Timestamp::UNIX_EPOCH);
        for (name, ip) in [("cp-1", "10.0.0.11"), ("cp-2", "10.0.0.12")] {
            let mut n = Node::ready_master(name);
            n.internal_ip = Some(ip.into());
            c.apply(ClusterEvent::NodeUpsert(n));
        }
        c
    }

    fn endpoint(c: &mut ClusterState, e: Option<&str>) {
        c.apply(ClusterEvent::ControlPlaneEndpoint(e.map(str::to_string)));
    }

    #[test]
    fn an_endpoint_that_is_a_masters_address_is_not_ha() {
        let mut c = cluster();
        endpoint(&mut c, Some("10.0.0.12:6443"));
        let problem = c.control_plane_endpoint_problem().unwrap();
        assert!(
            problem.contains("10.0.0.12:6443 is cp-2's own address, not HA"),
            "{problem}"
        );
        assert!(problem.contains("kube-public/cluster-info"), "{problem}");
        let noted: Vec<_> = c.timeline.iter().filter(|e| e.text == problem).collect();
        assert_eq!(noted.len(), 1);
        endpoint(&mut c, Some("cp-1:6443"));
        assert!(
            c.control_plane_endpoint_problem()
                .unwrap()
                .contains("is cp-1's own address")
        );
        endpoint(&mut c, Some("lb.example.internal:6443"));
        assert_eq!(c.control_plane_endpoint_problem(), None);
    }

    #[test]
    fn a_master_joining_with_the_endpoints_address_is_caught_too() {
        let mut c = cluster();
        endpoint(&mut c, Some("[fd00::13]:6443"));
        assert_eq!(c.control_plane_endpoint_problem(), None);
        let mut n = Node::ready_master("cp-3");
        n.internal_ip = Some("fd00::13".into());
        c.apply(ClusterEvent::NodeUpsert(n));
        assert!(
            c.timeline
                .iter()
                .any(|e| e.text.contains("is cp-3's own address"))
        );
    }

    #[test]
    fn no_endpoint_names_cluster_info_in_the_fix() {
        let mut c = cluster();
        assert_eq!(c.control_plane_endpoint_problem(), None, "not read yet");
        endpoint(&mut c, None);
        assert_eq!(
            c.control_plane_endpoint_problem().as_deref(),
            Some(NO_CONTROL_PLANE_ENDPOINT)
        );
        assert!(NO_CONTROL_PLANE_ENDPOINT.contains("kube-public/cluster-info"));
    }
}
