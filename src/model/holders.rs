//! Which Node a lease holder is. `holderIdentity` is `<hostname>_<uuid>`: the host name,
//! which is often not the Node name (kubeadm join `--node-name controlplane-1` on an EC2
//! host named `ip-10-0-1-23`). Evaluated from the current nodes and leases each time, so
//! it follows either changing.

use super::{ClusterState, Lease, Node};

impl ClusterState {
    /// The Node holding `lease`, or `None` when no Node matches its host (or nobody holds it).
    pub fn holder_node(&self, lease: &Lease) -> Option<&str> {
        let host = lease.holder_node()?;
        self.node_of_host(host).map(|n| n.name.as_str())
    }

    /// The Node for a host name, in this order: the exact Node name, the short name of an
    /// FQDN, a Node whose `kubernetes.io/hostname` label matches, and the EC2 `ip-a-b-c-d`
    /// form to the Node with that InternalIP.
    pub fn node_of_host(&self, host: &str) -> Option<&Node> {
        if let Some(n) = self.nodes.get(host) {
            return Some(n);
        }
        let nodes = || self.nodes.iter();
        let host_short = short(host);
        nodes()
            .find(|n| short(&n.name) == host_short)
            .or_else(|| {
                nodes().find(|n| {
                    n.hostname
                        .as_deref()
                        .is_some_and(|h| h == host || short(h) == host_short)
                })
            })
            .or_else(|| {
                let ip = ec2_ip(host_short)?;
                nodes().find(|n| n.internal_ip.as_deref() == Some(ip.as_str()))
            })
    }
}

fn short(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// `ip-10-0-1-23` → `10.0.1.23`, the private DNS name EC2 gives a host.
fn ec2_ip(host: &str) -> Option<String> {
    let octets: Vec<&str> = host.strip_prefix("ip-")?.split('-').collect();
    let valid = octets.len() == 4 && octets.iter().all(|o| o.parse::<u8>().is_ok());
    valid.then(|| octets.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SourceKind;
    use jiff::Timestamp;

    fn lease(holder: &str) -> Lease {
        Lease {
            name: "kube-scheduler".into(),
            namespace: "kube-system".into(),
            holder_identity: Some(format!("{holder}_9a4c2f1e-7b3d-4e5f-8a6b-0c1d2e3f4a5b")),
            acquire_time: None,
            renew_time: None,
            duration_s: 15,
            transitions: 0,
        }
    }

    fn cluster(nodes: &[(&str, Option<&str>, &str)]) -> ClusterState {
        let mut c = ClusterState::new(SourceKind::Live, "lb:6443", Timestamp::UNIX_EPOCH);
        for (name, hostname, ip) in nodes {
            let mut n = Node::ready_master(name);
            n.hostname = hostname.map(str::to_string);
            n.internal_ip = Some(ip.to_string());
            c.nodes.upsert(n);
        }
        c
    }

    #[test]
    fn the_exact_node_name_first() {
        let c = cluster(&[("cp-1", None, "10.0.1.11"), ("cp-1.lan", None, "10.0.1.12")]);
        assert_eq!(c.holder_node(&lease("cp-1")), Some("cp-1"));
    }

    #[test]
    fn the_short_name_of_an_fqdn() {
        let c = cluster(&[("cp-2", None, "10.0.1.12")]);
        assert_eq!(c.holder_node(&lease("cp-2.example.internal")), Some("cp-2"));
        let fqdn_nodes = cluster(&[("cp-3.example.internal", None, "10.0.1.13")]);
        assert_eq!(
            fqdn_nodes.holder_node(&lease("cp-3")),
            Some("cp-3.example.internal")
        );
    }

    #[test]
    fn the_hostname_label() {
        let c = cluster(&[("controlplane-1", Some("master-a"), "10.0.1.11")]);
        assert_eq!(c.holder_node(&lease("master-a")), Some("controlplane-1"));
    }

    #[test]
    fn the_ec2_private_name_to_the_internal_ip() {
        let c = cluster(&[
            ("controlplane-1", None, "10.0.1.23"),
            ("controlplane-2", None, "10.0.2.24"),
        ]);
        assert_eq!(
            c.holder_node(&lease("ip-10-0-2-24")),
            Some("controlplane-2")
        );
        let fqdn = lease("ip-10-0-1-23.eu-west-1.compute.internal");
        assert_eq!(c.holder_node(&fqdn), Some("controlplane-1"));
    }

    #[test]
    fn no_match_is_none_and_follows_the_nodes() {
        let mut c = cluster(&[("controlplane-1", None, "10.0.1.23")]);
        assert_eq!(c.holder_node(&lease("ip-10-0-9-99")), None);
        assert_eq!(c.holder_node(&lease("ip-10-0-999-1")), None);
        let mut n = Node::ready_master("controlplane-9");
        n.internal_ip = Some("10.0.9.99".into());
        c.nodes.upsert(n);
        assert_eq!(
            c.holder_node(&lease("ip-10-0-9-99")),
            Some("controlplane-9")
        );
        let released = Lease {
            holder_identity: None,
            ..lease("x")
        };
        assert_eq!(c.holder_node(&released), None);
    }
}
