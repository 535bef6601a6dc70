//! The inventory: the cluster the wizard builds, as a TOML file (commented example in
//! `assets/inventory.example.toml`). Loading checks shape and meaning, and an error names
//! the file, the line and the field: `hatui.toml:12: hosts[2].role: expected
//! "control-plane" or "worker", got "master"`.

mod check;
mod place;
mod reach;
mod values;

pub use reach::SshOverrides;

use std::fmt;
use std::net::IpAddr;
use std::path::Path;

/// Calico's manifest, the seeds' CNI (their docs.projectcalico.org URL is gone).
pub const DEFAULT_CALICO_MANIFEST: &str =
    "https://raw.githubusercontent.com/projectcalico/calico/v3.29.1/manifests/calico.yaml";
pub const DEFAULT_CRI_SOCKET: &str = "unix:///var/run/containerd/containerd.sock";
pub const DEFAULT_POD_CIDR: &str = "192.168.0.0/16";
pub const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";
/// kube-vip's release the static pod runs, unless `[vip] image` says another.
pub const DEFAULT_KUBE_VIP_IMAGE: &str = "ghcr.io/kube-vip/kube-vip:v0.8.9";
/// keepalived's `virtual_router_id` when `[vip]` names none (many distros' default).
pub const DEFAULT_ROUTER_ID: u8 = 51;

/// A checked inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    pub name: String,
    /// `HOST:PORT` of the load balancer or VIP, never one master's own address.
    pub endpoint: Endpoint,
    pub load_balancer: LoadBalancer,
    pub pod_cidr: String,
    pub service_cidr: String,
    /// `v1.33.1` form, when pinned.
    pub kubernetes_version: Option<String>,
    pub cri_socket: String,
    /// Where on a master the drill's dead man's switch keeps its pid file (`/run`).
    pub drill_state_dir: String,
    pub cni: Cni,
    pub ssh: SshDefaults,
    /// The VIP that keepalived (`haproxy`) or kube-vip holds on the masters; set exactly
    /// for those two load balancers.
    pub vip: Option<Vip>,
    /// In file order: the first control plane runs `kubeadm init`.
    pub hosts: Vec<Host>,
    /// `[[load_balancers]]`: hosts of their own for HAProxy and keepalived (else they run
    /// on the masters). Not nodes: no preflight, no join.
    pub load_balancers: Vec<Host>,
}

impl Inventory {
    pub fn control_planes(&self) -> impl Iterator<Item = &Host> {
        self.hosts.iter().filter(|h| h.role == Role::ControlPlane)
    }

    pub fn workers(&self) -> impl Iterator<Item = &Host> {
        self.hosts.iter().filter(|h| h.role == Role::Worker)
    }

    /// Every host hatui logs in to: the nodes, then the load-balancer hosts.
    pub fn reachable(&self) -> impl Iterator<Item = &Host> {
        self.hosts.iter().chain(&self.load_balancers)
    }

    /// The old machines of replaced masters ([`Host::previous`]).
    pub fn previous_hosts(&self) -> impl Iterator<Item = Host> + '_ {
        self.hosts.iter().filter_map(Host::previous)
    }

    /// The master that runs `kubeadm init` (validation guarantees one).
    pub fn first_control_plane(&self) -> &Host {
        self.control_planes()
            .next()
            .expect("validated: one control plane")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V6(_)) => write!(f, "[{}]:{}", self.host, self.port),
            _ => write!(f, "{}:{}", self.host, self.port),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadBalancer {
    /// A cloud TCP load balancer (the seed's AWS NLB), made outside hatui.
    Nlb,
    /// HAProxy with keepalived on the masters (or `[[load_balancers]]`), configured by the
    /// plan from kubeadm's HA guide.
    Haproxy,
    /// kube-vip as a static pod on the masters, holding the endpoint's VIP.
    KubeVip,
}

impl LoadBalancer {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nlb => "nlb",
            Self::Haproxy => "haproxy",
            Self::KubeVip => "kube-vip",
        }
    }
}

/// `[vip]`: the virtual IP on the masters and the NIC that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vip {
    /// `[vip] address`, else the endpoint's host (then an IP).
    pub address: String,
    pub interface: String,
    /// keepalived's `virtual_router_id`: the same on every master, unique in the subnet.
    pub router_id: u8,
    /// kube-vip's image.
    pub image: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cni {
    pub name: String,
    /// A URL, or a file on the machine running hatui.
    pub manifest: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshDefaults {
    pub user: String,
    pub port: u16,
    /// A private key file; without it the ssh-agent is used.
    pub identity: Option<String>,
    pub known_hosts: Option<String>,
    /// Prefix root commands with `sudo` (false when logging in as root).
    pub sudo: bool,
    /// Every host through this jump host, unless it says otherwise.
    pub bastion: Option<Bastion>,
}

/// A jump host (`bastion = "[user@]host[:port]"`, OpenSSH's `ProxyJump`), logged in to
/// with the same identity and known_hosts as the hosts behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bastion {
    /// `[ssh] user` when the value names none.
    pub user: String,
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Bastion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V6(_)) => write!(f, "{}@[{}]:{}", self.user, self.host, self.port),
            _ => write!(f, "{}@{}:{}", self.user, self.host, self.port),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    ControlPlane,
    Worker,
    /// A `[[load_balancers]]` host (HAProxy and keepalived), never a node.
    LoadBalancer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The Node name (`--node-name`).
    pub name: String,
    /// Where SSH reaches it, and the node's IP.
    pub address: String,
    pub role: Role,
    pub user: Option<String>,
    pub port: Option<u16>,
    /// The jump host SSH goes through: the host's own `bastion`, else `[ssh]`'s; `None`
    /// when directly (also `bastion = "none"`).
    pub bastion: Option<Bastion>,
    /// A control plane that replaces a dead master: where the old machine was, when not at
    /// `address` (`hatui wizard --replace` runs `kubeadm reset -f` there if it answers).
    pub previous_address: Option<String>,
}

impl Host {
    /// The old machine of a replaced master, as a host of its own named `NAME@ADDRESS`,
    /// when `previous_address` names another address than `address`.
    pub fn previous(&self) -> Option<Host> {
        let prev = self.previous_address.as_ref()?;
        (!values::same_host(prev, &self.address)).then(|| Host {
            name: format!("{}@{prev}", self.name),
            address: prev.clone(),
            previous_address: None,
            ..self.clone()
        })
    }
}

/// A mistake in the inventory, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryError {
    pub file: String,
    /// 1-based; absent when the mistake has no place (an empty file).
    pub line: Option<usize>,
    /// `hosts[2].role`; empty for a TOML syntax error.
    pub field: String,
    pub message: String,
}

impl fmt::Display for InventoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for InventoryError {}

/// Reads and checks `path`.
pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| InventoryError {
        file: file.clone(),
        line: None,
        field: String::new(),
        message: format!("cannot read it: {e}"),
    })?;
    parse(&file, &text)
}

/// Checks `text`; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Inventory, InventoryError> {
    let raw: check::Raw = toml::from_str(text).map_err(|e| {
        let message = e.message().trim().to_string();
        let at = e.span().map(|s| s.start);
        InventoryError {
            file: file.to_string(),
            line: at.map(|a| place::line_of(text, a)),
            field: at.map(|a| place::field_at(text, a)).unwrap_or_default(),
            message,
        }
    })?;
    check::Checker { file, text }.check(raw)
}

impl Default for SshDefaults {
    fn default() -> Self {
        Self {
            user: "root".into(),
            port: 22,
            identity: None,
            known_hosts: None,
            sudo: false,
            bastion: None,
        }
    }
}
