//! From what the TOML holds to a checked [`Inventory`]: defaults, values and the HA rules,
//! each mistake placed by the span of the value at fault.

use std::collections::HashMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::place::line_of;
use super::values::{
    dns_message, is_dns_label, is_host, is_one_word, normalise_version, overlaps, parse_cidr,
    parse_endpoint, same_host,
};
use super::{
    Bastion, Cni, DEFAULT_CALICO_MANIFEST, DEFAULT_CRI_SOCKET, DEFAULT_POD_CIDR,
    DEFAULT_SERVICE_CIDR, Endpoint, Host, Inventory, InventoryError, LoadBalancer, Role,
    SshDefaults,
};
use crate::ssh::SshTarget;

mod balancers;
mod previous;

// What the file holds, before checking; spans say where each checked value is.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    name: Option<Spanned<String>>,
    endpoint: Option<Spanned<String>>,
    load_balancer: Option<Spanned<String>>,
    pod_cidr: Option<Spanned<String>>,
    service_cidr: Option<Spanned<String>>,
    kubernetes_version: Option<Spanned<String>>,
    drill_state_dir: Option<Spanned<String>>,
    cri_socket: Option<Spanned<String>>,
    cni: Option<RawCni>,
    ssh: Option<RawSsh>,
    vip: Option<Spanned<RawVip>>,
    #[serde(default)]
    hosts: Vec<Spanned<RawHost>>,
    #[serde(default)]
    load_balancers: Vec<Spanned<RawLbHost>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLbHost {
    name: Option<Spanned<String>>,
    address: Option<Spanned<String>>,
    user: Option<String>,
    port: Option<u16>,
    bastion: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVip {
    address: Option<Spanned<String>>,
    interface: Option<Spanned<String>>,
    router_id: Option<Spanned<i64>>,
    image: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCni {
    name: Option<String>,
    manifest: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSsh {
    user: Option<String>,
    port: Option<u16>,
    identity: Option<String>,
    known_hosts: Option<String>,
    sudo: Option<bool>,
    bastion: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHost {
    name: Option<Spanned<String>>,
    address: Option<Spanned<String>>,
    role: Option<Spanned<String>>,
    user: Option<String>,
    port: Option<u16>,
    bastion: Option<Spanned<String>>,
    previous_address: Option<Spanned<String>>,
}

pub(super) struct Checker<'a> {
    pub(super) file: &'a str,
    pub(super) text: &'a str,
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

    pub(super) fn check(&self, raw: Raw) -> Result<Inventory, InventoryError> {
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
        let vip = self.vip(&raw, load_balancer, &endpoint)?;
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
        let (cni_name, manifest) = raw.cni.map_or((None, None), |c| (c.name, c.manifest));
        let cni = Cni {
            name: cni_name.unwrap_or_else(|| "calico".into()),
            manifest: self.word(manifest.as_ref(), "cni.manifest", DEFAULT_CALICO_MANIFEST)?,
        };
        let cri_socket = self.word(raw.cri_socket.as_ref(), "cri_socket", DEFAULT_CRI_SOCKET)?;
        let drill_state_dir = self.word(raw.drill_state_dir.as_ref(), "drill_state_dir", "/run")?;
        if !drill_state_dir.starts_with('/') {
            return Err(self.err(
                raw.drill_state_dir.as_ref().map(|v| v.span()),
                "drill_state_dir",
                format!(
                    "\"{drill_state_dir}\" is not an absolute path: the masters' directory for \
                     the drill's dead man's switch, e.g. \"/run\""
                ),
            ));
        }
        let ssh = match raw.ssh {
            None => SshDefaults::default(),
            Some(s) => {
                let user = s.user.unwrap_or_else(|| "root".into());
                let bastion = match &s.bastion {
                    Some(b) => self.bastion(b, "ssh.bastion", &user)?,
                    None => None,
                };
                SshDefaults {
                    sudo: s.sudo.unwrap_or(user != "root"),
                    user,
                    port: s.port.unwrap_or(22),
                    identity: s.identity,
                    known_hosts: s.known_hosts,
                    bastion,
                }
            }
        };
        let hosts = self.hosts(&raw.hosts, &endpoint, &ssh)?;
        let load_balancers =
            self.load_balancers(&raw.load_balancers, load_balancer, &hosts, &ssh)?;
        Ok(Inventory {
            name,
            endpoint,
            load_balancer,
            pod_cidr,
            service_cidr,
            kubernetes_version,
            cri_socket,
            drill_state_dir,
            cni,
            ssh,
            vip,
            hosts,
            load_balancers,
        })
    }

    /// A value that goes into the hosts' command lines as one word.
    fn word(
        &self,
        v: Option<&Spanned<String>>,
        field: &str,
        default: &str,
    ) -> Result<String, InventoryError> {
        match v {
            None => Ok(default.to_string()),
            Some(v) if is_one_word(v.get_ref()) => Ok(v.get_ref().clone()),
            Some(v) => Err(self.at(
                v,
                field,
                format!(
                    "\"{}\" is not one path or URL: no spaces, quotes or shell characters",
                    v.get_ref()
                ),
            )),
        }
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

    /// `[user@]host[:port]` (the user defaults to `[ssh] user`), or `"none"`: directly.
    fn bastion(
        &self,
        v: &Spanned<String>,
        field: &str,
        user: &str,
    ) -> Result<Option<Bastion>, InventoryError> {
        let text = v.get_ref();
        if text == "none" {
            return Ok(None);
        }
        let t = SshTarget::parse(text).map_err(|e| self.at(v, field, e.to_string()))?;
        Ok(Some(Bastion {
            user: if text.contains('@') {
                t.user
            } else {
                user.to_string()
            },
            host: t.host,
            port: t.port,
        }))
    }

    /// A host's `address`: an IP address or a DNS name.
    fn host_address(&self, address: &Spanned<String>, field: &str) -> Result<(), InventoryError> {
        if is_host(address.get_ref()) {
            return Ok(());
        }
        let got = address.get_ref();
        let why = format!("expected an IP address or DNS name, got \"{got}\"");
        Err(self.at(address, field, why))
    }

    fn hosts(
        &self,
        raw: &[Spanned<RawHost>],
        endpoint: &Endpoint,
        ssh: &SshDefaults,
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
            self.host_address(address, &field("address"))?;
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
            if role == Role::Worker && same_host(address.get_ref(), &endpoint.host) {
                return Err(self.at(
                    address,
                    &field("address"),
                    format!(
                        "this worker's address is the endpoint ({endpoint}): no apiserver runs on a worker. Make the endpoint the load balancer's DNS name or VIP"
                    ),
                ));
            }
            let bastion = match &table.bastion {
                Some(b) => self.bastion(b, &field("bastion"), &ssh.user)?,
                None => ssh.bastion.clone(),
            };
            let previous_address = self.previous_address(table, role, &field)?;
            hosts.push(Host {
                name: name.get_ref().clone(),
                address: address.get_ref().clone(),
                role,
                user: table.user.clone(),
                port: table.port,
                bastion,
                previous_address,
            });
        }
        self.previous_not_taken(raw, &hosts)?;
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
