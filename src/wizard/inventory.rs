//! The inventory: the cluster the wizard builds, as a TOML file (commented example in
//! `assets/inventory.example.toml`). Loading checks shape and meaning, and an error names
//! the file, the line and the field: `hatui.toml:12: hosts[2].role: expected
//! "control-plane" or "worker", got "master"`.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

/// Calico's manifest, the seeds' CNI (their docs.projectcalico.org URL is gone).
pub const DEFAULT_CALICO_MANIFEST: &str =
    "https://raw.githubusercontent.com/projectcalico/calico/v3.29.1/manifests/calico.yaml";
pub const DEFAULT_CRI_SOCKET: &str = "unix:///var/run/containerd/containerd.sock";
pub const DEFAULT_POD_CIDR: &str = "192.168.0.0/16";
pub const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";

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
    pub cni: Cni,
    pub ssh: SshDefaults,
    /// In file order: the first control plane runs `kubeadm init`.
    pub hosts: Vec<Host>,
}

impl Inventory {
    pub fn control_planes(&self) -> impl Iterator<Item = &Host> {
        self.hosts.iter().filter(|h| h.role == Role::ControlPlane)
    }

    pub fn workers(&self) -> impl Iterator<Item = &Host> {
        self.hosts.iter().filter(|h| h.role == Role::Worker)
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
    /// HAProxy (with keepalived) in front of the masters, made outside hatui.
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    ControlPlane,
    Worker,
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
    let raw: Raw = toml::from_str(text).map_err(|e| {
        let message = e.message().trim().to_string();
        let at = e.span().map(|s| s.start);
        InventoryError {
            file: file.to_string(),
            line: at.map(|a| line_of(text, a)),
            field: at.map(|a| field_at(text, a)).unwrap_or_default(),
            message,
        }
    })?;
    Checker { file, text }.check(raw)
}

/// The dotted key whose line holds `offset` (`hosts[1].port`), from the table headers
/// above it: toml's errors say what is wrong and where, not which field.
fn field_at(text: &str, offset: usize) -> String {
    let line_no = line_of(text, offset);
    let mut table = String::new();
    let mut arrays: HashMap<String, usize> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if i + 1 == line_no {
            let Some((key, _)) = t.split_once('=') else {
                return table;
            };
            let key = key.trim().trim_matches('"');
            if key.is_empty() || key.starts_with('#') {
                return table;
            }
            return if table.is_empty() {
                key.to_string()
            } else {
                format!("{table}.{key}")
            };
        }
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.split_once("]]")) {
            let name = name.0.trim().to_string();
            let n = arrays.entry(name.clone()).or_insert(0);
            table = format!("{name}[{n}]");
            *n += 1;
        } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.split_once(']')) {
            table = name.0.trim().to_string();
        }
    }
    table
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

// What the file holds, before checking; spans say where each checked value is.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: Option<Spanned<String>>,
    endpoint: Option<Spanned<String>>,
    load_balancer: Option<Spanned<String>>,
    pod_cidr: Option<Spanned<String>>,
    service_cidr: Option<Spanned<String>>,
    kubernetes_version: Option<Spanned<String>>,
    cri_socket: Option<String>,
    cni: Option<RawCni>,
    ssh: Option<RawSsh>,
    #[serde(default)]
    hosts: Vec<Spanned<RawHost>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCni {
    name: Option<String>,
    manifest: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSsh {
    user: Option<String>,
    port: Option<u16>,
    identity: Option<String>,
    known_hosts: Option<String>,
    sudo: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHost {
    name: Option<Spanned<String>>,
    address: Option<Spanned<String>>,
    role: Option<Spanned<String>>,
    user: Option<String>,
    port: Option<u16>,
}

struct Checker<'a> {
    file: &'a str,
    text: &'a str,
}

impl Checker<'_> {
    fn err(&self, span: Option<Range<usize>>, field: &str, message: String) -> InventoryError {
        InventoryError {
            file: self.file.to_string(),
            line: span.map(|s| line_of(self.text, s.start)),
            field: field.to_string(),
            message,
        }
    }

    fn at<T>(&self, v: &Spanned<T>, field: &str, message: String) -> InventoryError {
        self.err(Some(v.span()), field, message)
    }

    fn check(&self, raw: Raw) -> Result<Inventory, InventoryError> {
        let name = match &raw.name {
            Some(n) if is_dns_label(n.get_ref()) => n.get_ref().clone(),
            Some(n) => return Err(self.at(n, "name", dns_message(n.get_ref()))),
            None => "kubernetes".to_string(),
        };
        let Some(endpoint_raw) = &raw.endpoint else {
            return Err(self.err(
                Some(0..0),
                "endpoint",
                "missing: the load balancer's DNS name or VIP and port, e.g. \"k8s-api.example.internal:6443\"".into(),
            ));
        };
        let endpoint = parse_endpoint(endpoint_raw.get_ref())
            .map_err(|why| self.at(endpoint_raw, "endpoint", why))?;
        let load_balancer = match raw.load_balancer.as_ref() {
            None => LoadBalancer::Nlb,
            Some(lb) => match lb.get_ref().as_str() {
                "nlb" => LoadBalancer::Nlb,
                "haproxy" => LoadBalancer::Haproxy,
                "kube-vip" => LoadBalancer::KubeVip,
                other => {
                    return Err(self.at(
                        lb,
                        "load_balancer",
                        format!("expected \"nlb\", \"haproxy\" or \"kube-vip\", got \"{other}\""),
                    ));
                }
            },
        };
        let pod_cidr = self.cidr(raw.pod_cidr.as_ref(), "pod_cidr", DEFAULT_POD_CIDR)?;
        let service_cidr = self.cidr(
            raw.service_cidr.as_ref(),
            "service_cidr",
            DEFAULT_SERVICE_CIDR,
        )?;
        if overlaps(&pod_cidr, &service_cidr) {
            let span = raw
                .service_cidr
                .as_ref()
                .or(raw.pod_cidr.as_ref())
                .map(|s| s.span());
            return Err(self.err(
                span,
                "service_cidr",
                format!("{service_cidr} overlaps pod_cidr {pod_cidr}: Services and Pods need separate ranges"),
            ));
        }
        let kubernetes_version = match &raw.kubernetes_version {
            None => None,
            Some(v) => Some(normalise_version(v.get_ref()).ok_or_else(|| {
                self.at(
                    v,
                    "kubernetes_version",
                    format!(
                        "expected a version like \"1.33.1\" or \"v1.33.1\", got \"{}\"",
                        v.get_ref()
                    ),
                )
            })?),
        };
        let cni = raw.cni.map_or_else(
            || Cni {
                name: "calico".into(),
                manifest: DEFAULT_CALICO_MANIFEST.into(),
            },
            |c| Cni {
                name: c.name.unwrap_or_else(|| "calico".into()),
                manifest: c.manifest.unwrap_or_else(|| DEFAULT_CALICO_MANIFEST.into()),
            },
        );
        let ssh = raw.ssh.map_or_else(SshDefaults::default, |s| {
            let user = s.user.unwrap_or_else(|| "root".into());
            SshDefaults {
                sudo: s.sudo.unwrap_or(user != "root"),
                user,
                port: s.port.unwrap_or(22),
                identity: s.identity,
                known_hosts: s.known_hosts,
            }
        });
        let hosts = self.hosts(&raw.hosts, &endpoint)?;
        Ok(Inventory {
            name,
            endpoint,
            load_balancer,
            pod_cidr,
            service_cidr,
            kubernetes_version,
            cri_socket: raw.cri_socket.unwrap_or_else(|| DEFAULT_CRI_SOCKET.into()),
            cni,
            ssh,
            hosts,
        })
    }

    fn cidr(
        &self,
        v: Option<&Spanned<String>>,
        field: &str,
        default: &str,
    ) -> Result<String, InventoryError> {
        let Some(v) = v else {
            return Ok(default.to_string());
        };
        parse_cidr(v.get_ref())
            .map(|_| v.get_ref().clone())
            .ok_or_else(|| {
                self.at(
                    v,
                    field,
                    format!(
                        "expected a CIDR like \"{default}\", got \"{}\"",
                        v.get_ref()
                    ),
                )
            })
    }

    fn hosts(
        &self,
        raw: &[Spanned<RawHost>],
        endpoint: &Endpoint,
    ) -> Result<Vec<Host>, InventoryError> {
        let mut hosts = Vec::with_capacity(raw.len());
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut addresses: HashMap<String, usize> = HashMap::new();
        for (i, h) in raw.iter().enumerate() {
            let field = |f: &str| format!("hosts[{i}].{f}");
            let table = h.get_ref();
            let missing = |f: &str, example: &str| {
                self.at(h, &field(f), format!("missing, e.g. {f} = {example}"))
            };
            let name = table
                .name
                .as_ref()
                .ok_or_else(|| missing("name", "\"cp-1\""))?;
            if !is_dns_label(name.get_ref()) {
                return Err(self.at(name, &field("name"), dns_message(name.get_ref())));
            }
            if let Some(first) = names.insert(name.get_ref().clone(), i) {
                return Err(self.at(
                    name,
                    &field("name"),
                    format!(
                        "\"{}\" is already hosts[{first}]'s name: Node names must be unique",
                        name.get_ref()
                    ),
                ));
            }
            let address = table
                .address
                .as_ref()
                .ok_or_else(|| missing("address", "\"10.0.0.11\""))?;
            if !is_host(address.get_ref()) {
                return Err(self.at(
                    address,
                    &field("address"),
                    format!(
                        "expected an IP address or DNS name, got \"{}\"",
                        address.get_ref()
                    ),
                ));
            }
            if let Some(first) = addresses.insert(address.get_ref().clone(), i) {
                return Err(self.at(
                    address,
                    &field("address"),
                    format!(
                        "{} is already hosts[{first}]'s address: one host per address",
                        address.get_ref()
                    ),
                ));
            }
            let role_raw = table
                .role
                .as_ref()
                .ok_or_else(|| missing("role", "\"control-plane\""))?;
            let role = match role_raw.get_ref().as_str() {
                "control-plane" => Role::ControlPlane,
                "worker" => Role::Worker,
                other => {
                    return Err(self.at(
                        role_raw,
                        &field("role"),
                        format!("expected \"control-plane\" or \"worker\", got \"{other}\""),
                    ));
                }
            };
            if role == Role::ControlPlane && same_host(address.get_ref(), &endpoint.host) {
                return Err(self.at(
                    address,
                    &field("address"),
                    format!(
                        "this control plane's address is the endpoint ({endpoint}): that is not HA, every node and kubeconfig would depend on this one master. Make the endpoint the load balancer's DNS name or VIP"
                    ),
                ));
            }
            hosts.push(Host {
                name: name.get_ref().clone(),
                address: address.get_ref().clone(),
                role,
                user: table.user.clone(),
                port: table.port,
            });
        }
        if !hosts.iter().any(|h| h.role == Role::ControlPlane) {
            let span = raw.first().map(|h| h.span()).unwrap_or(0..0);
            return Err(self.err(
                Some(span),
                "hosts",
                "no host has role = \"control-plane\": kubeadm init needs one, and HA needs 3 or 5"
                    .into(),
            ));
        }
        Ok(hosts)
    }
}

impl Default for SshDefaults {
    fn default() -> Self {
        Self {
            user: "root".into(),
            port: 22,
            identity: None,
            known_hosts: None,
            sudo: false,
        }
    }
}

fn parse_endpoint(s: &str) -> Result<Endpoint, String> {
    let example = "expected HOST:PORT, e.g. \"k8s-api.example.internal:6443\"";
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest
            .split_once("]:")
            .ok_or_else(|| format!("{example}, got \"{s}\""))?;
        (h, p)
    } else {
        s.rsplit_once(':')
            .ok_or_else(|| format!("{example}, got \"{s}\" (no port)"))?
    };
    if s.contains("://") {
        return Err(format!("{example}, without a scheme, got \"{s}\""));
    }
    let port: u16 = port
        .parse()
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| format!("port \"{port}\" is not a number from 1 to 65535"))?;
    if !is_host(host) {
        return Err(format!("{example}, got \"{s}\""));
    }
    Ok(Endpoint {
        host: host.to_string(),
        port,
    })
}

fn is_host(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
        || (!s.is_empty()
            && s.len() <= 253
            && s.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            }))
}

fn same_host(a: &str, b: &str) -> bool {
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a.eq_ignore_ascii_case(b),
    }
}

/// A Node name must be a DNS-1123 subdomain; hatui asks for the simpler label.
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn dns_message(s: &str) -> String {
    format!(
        "\"{s}\" is not a valid name: lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit"
    )
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, len) = s.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((ip, len))
}

/// Two valid CIDRs share an address.
fn overlaps(a: &str, b: &str) -> bool {
    let (Some((IpAddr::V4(x), lx)), Some((IpAddr::V4(y), ly))) = (parse_cidr(a), parse_cidr(b))
    else {
        return false;
    };
    let shorter = lx.min(ly);
    let mask = if shorter == 0 {
        0
    } else {
        u32::MAX << (32 - shorter)
    };
    (u32::from(x) & mask) == (u32::from(y) & mask)
}

fn normalise_version(s: &str) -> Option<String> {
    let bare = s.strip_prefix('v').unwrap_or(s);
    let parts: Vec<&str> = bare.split('.').collect();
    let ok = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    ok.then(|| format!("v{bare}"))
}
