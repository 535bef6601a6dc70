//! The load balancer's parts of the inventory: `[[load_balancers]]` (HAProxy's own hosts)
//! and `[vip]` (the address keepalived or kube-vip holds on the masters).

use toml::Spanned;

use super::{Checker, Raw, RawLbHost, dns_message, is_dns_label, same_host};
use crate::inventory::{
    DEFAULT_KUBE_VIP_IMAGE, DEFAULT_ROUTER_ID, Endpoint, Host, InventoryError, LoadBalancer, Role,
    SshDefaults, Vip,
};

impl Checker<'_> {
    /// `[[load_balancers]]`: HAProxy's own hosts, reached like the nodes.
    pub(super) fn load_balancers(
        &self,
        raw: &[Spanned<RawLbHost>],
        lb: LoadBalancer,
        nodes: &[Host],
        ssh: &SshDefaults,
    ) -> Result<Vec<Host>, InventoryError> {
        let mut out: Vec<Host> = Vec::new();
        for (i, h) in raw.iter().enumerate() {
            let field = |f: &str| format!("load_balancers[{i}].{f}");
            if lb != LoadBalancer::Haproxy {
                return Err(self.at(
                    h,
                    "load_balancers",
                    format!(
                        "hosts of their own run HAProxy and keepalived, for load_balancer = \"haproxy\", not \"{}\"",
                        lb.as_str()
                    ),
                ));
            }
            let t = h.get_ref();
            let missing =
                |f: &str, e: &str| self.at(h, &field(f), format!("missing, e.g. {f} = {e}"));
            let name = t.name.as_ref().ok_or_else(|| missing("name", "\"lb-1\""))?;
            if !is_dns_label(name.get_ref()) {
                return Err(self.at(name, &field("name"), dns_message(name.get_ref())));
            }
            let address = t
                .address
                .as_ref()
                .ok_or_else(|| missing("address", "\"10.0.0.21\""))?;
            self.host_address(address, &field("address"))?;
            let taken = nodes.iter().chain(&out);
            for other in taken {
                let what = if other.name == *name.get_ref() {
                    (name, "name")
                } else if same_host(&other.address, address.get_ref()) {
                    (address, "address")
                } else {
                    continue;
                };
                return Err(self.at(
                    what.0,
                    &field(what.1),
                    format!(
                        "\"{}\" is already {}'s {}: one host each",
                        what.0.get_ref(),
                        other.name,
                        what.1
                    ),
                ));
            }
            let bastion = match &t.bastion {
                Some(b) => self.bastion(b, &field("bastion"), &ssh.user)?,
                None => ssh.bastion.clone(),
            };
            out.push(Host {
                name: name.get_ref().clone(),
                address: address.get_ref().clone(),
                role: Role::LoadBalancer,
                user: t.user.clone(),
                port: t.port,
                bastion,
                previous_address: None,
            });
        }
        Ok(out)
    }

    /// `[vip]`, which `haproxy` (keepalived) and `kube-vip` need: they hold an IP on a NIC
    /// of the masters. HAProxy runs on the masters too, beside the apiserver's 6443.
    pub(super) fn vip(
        &self,
        raw: &Raw,
        lb: LoadBalancer,
        endpoint: &Endpoint,
    ) -> Result<Option<Vip>, InventoryError> {
        if lb == LoadBalancer::Nlb {
            return Ok(None);
        }
        let name = lb.as_str();
        let lb_span = raw.load_balancer.as_ref().map(|l| l.span());
        let Some(table) = &raw.vip else {
            return Err(self.err(
                lb_span,
                "load_balancer",
                format!(
                    "\"{name}\" holds a VIP on the masters: add a [vip] table with interface = \"eth0\" (the NIC that carries it; `ip -br addr` lists them)"
                ),
            ));
        };
        let v = table.get_ref();
        let interface = v.interface.as_ref().ok_or_else(|| {
            self.at(
                table,
                "vip.interface",
                "missing, e.g. interface = \"eth0\": the NIC that carries the VIP on the masters"
                    .into(),
            )
        })?;
        let nic = interface.get_ref();
        let nic_ok = !nic.is_empty()
            && nic.len() <= 15
            && nic
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b));
        if !nic_ok {
            return Err(self.at(
                interface,
                "vip.interface",
                format!("\"{nic}\" is not a network interface name, e.g. \"eth0\" or \"ens192\""),
            ));
        }
        let ep_span = raw.endpoint.as_ref().map(|e| e.span());
        let address = match &v.address {
            Some(a) if a.get_ref().parse::<std::net::IpAddr>().is_ok() => a.get_ref().clone(),
            Some(a) => {
                return Err(self.at(
                    a,
                    "vip.address",
                    format!("expected an IP address, got \"{}\"", a.get_ref()),
                ));
            }
            None if endpoint.host.parse::<std::net::IpAddr>().is_ok() => endpoint.host.clone(),
            None => {
                return Err(self.err(
                    ep_span,
                    "endpoint",
                    format!(
                        "{} is a DNS name, and {name} holds an IP: set [vip] address = \"10.0.0.100\", the address the name resolves to",
                        endpoint.host
                    ),
                ));
            }
        };
        if lb == LoadBalancer::Haproxy && endpoint.port == 6443 && raw.load_balancers.is_empty() {
            return Err(self.err(
                ep_span,
                "endpoint",
                format!(
                    "haproxy runs on the masters, where the apiserver holds port 6443: give the endpoint another port, e.g. \"{}:8443\", as kubeadm's HA guide does, or give HAProxy hosts of its own ([[load_balancers]])",
                    endpoint.host
                ),
            ));
        }
        if lb == LoadBalancer::KubeVip && endpoint.port != 6443 {
            return Err(self.err(
                ep_span,
                "endpoint",
                format!(
                    "kube-vip (ARP mode) moves the VIP to a master and proxies nothing: clients reach the apiserver's own port on it, so the endpoint's port must be 6443, e.g. \"{}:6443\"",
                    endpoint.host
                ),
            ));
        }
        let router_id = match &v.router_id {
            None => DEFAULT_ROUTER_ID,
            Some(r) => u8::try_from(*r.get_ref())
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| {
                    self.at(
                        r,
                        "vip.router_id",
                        format!("expected a number from 1 to 255, got {}", r.get_ref()),
                    )
                })?,
        };
        Ok(Some(Vip {
            address,
            interface: nic.clone(),
            router_id,
            image: self.word(v.image.as_ref(), "vip.image", DEFAULT_KUBE_VIP_IMAGE)?,
        }))
    }
}
