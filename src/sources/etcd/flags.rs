//! From the `--etcd-*` settings to a poller configuration, with errors that say what to
//! pass.

use std::path::PathBuf;

use color_eyre::{Result, eyre::bail};

use super::over_ssh::{EtcdMaster, EtcdOverSsh, PkiPaths, etcd_over_ssh};
use super::{PollerConfig, TlsMaterial};
use hatui_fleet::ssh::SshTarget;

/// How to reach etcd, as the command line says (`cli` makes it from the flags). Fields
/// are named after the flags that set them: the errors name those flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdSettings {
    pub etcd_endpoints: Vec<String>,
    pub etcd_cacert: Option<PathBuf>,
    pub etcd_cert: Option<PathBuf>,
    pub etcd_key: Option<PathBuf>,
    /// Each master's `[user@]host[:port]`, as given.
    pub etcd_ssh: Vec<String>,
    pub ssh_identity: Option<PathBuf>,
    pub ssh_known_hosts: Option<PathBuf>,
    /// `--inventory`'s control planes, as SSH reaches them (its files, users, ports and
    /// bastion; the command line's files winning): the way to etcd when no other
    /// `--etcd-*` flag says how.
    pub inventory_masters: Vec<SshTarget>,
    pub etcd_exec: bool,
    pub etcd_port: u16,
    pub etcd_pki_dir: String,
}

impl Default for EtcdSettings {
    /// No flag given: kubeadm's port and certificate directory.
    fn default() -> Self {
        Self {
            etcd_endpoints: Vec::new(),
            etcd_cacert: None,
            etcd_cert: None,
            etcd_key: None,
            etcd_ssh: Vec::new(),
            ssh_identity: None,
            ssh_known_hosts: None,
            inventory_masters: Vec::new(),
            etcd_exec: false,
            etcd_port: 2379,
            etcd_pki_dir: "/etc/kubernetes/pki/etcd".into(),
        }
    }
}

/// etcd as the flags say to reach it. The SSH tunnels live as long as this value: keep it
/// while `config` is in use.
pub struct EtcdAccess {
    pub config: PollerConfig,
    /// Masters that could not be reached over SSH, in the operator's words.
    pub unreachable: Vec<String>,
    /// Why this way in was chosen, when hatui chose it (for the timeline).
    pub note: Option<String>,
    _tunnels: Option<EtcdOverSsh>,
}

impl EtcdAccess {
    /// A way in that needs nothing kept alive besides the config.
    pub fn new(config: PollerConfig, note: Option<String>) -> Self {
        Self {
            config,
            unreachable: Vec::new(),
            note,
            _tunnels: None,
        }
    }
}

impl EtcdSettings {
    /// The flags name the members themselves (`--etcd-endpoints`, `--etcd-ssh`, or
    /// `--inventory` with no other way to etcd asked for).
    pub fn explicit(&self) -> bool {
        !self.etcd_endpoints.is_empty() || !self.etcd_ssh.is_empty() || self.by_inventory()
    }

    fn by_inventory(&self) -> bool {
        !self.inventory_masters.is_empty()
            && self.etcd_endpoints.is_empty()
            && self.etcd_ssh.is_empty()
            && !self.etcd_exec
            && self.etcd_cacert.is_none()
    }

    /// Connects what must be connected first (SSH); `None` when etcd is not to be asked.
    /// Ways that need a live cluster's etcd pods (`--etcd-exec`, certificates without
    /// endpoints) are refused here: this is the lab's way in, and the live cluster's when
    /// the flags name the members.
    pub async fn access(&self) -> Result<Option<EtcdAccess>> {
        if !self.explicit() && (self.etcd_exec || self.etcd_cacert.is_some()) {
            let flag = if self.etcd_exec {
                "--etcd-exec"
            } else {
                "--etcd-cacert without --etcd-endpoints"
            };
            bail!(
                "{flag} finds etcd through a live cluster's etcd pods, and the lab has none: \
                 pass --etcd-endpoints (or --real-etcd)"
            );
        }
        let targets = if self.by_inventory() {
            self.inventory_masters.clone()
        } else if self.etcd_ssh.is_empty() {
            let direct = self.poller_config()?;
            return Ok(direct.map(|config| EtcdAccess::new(config, None)));
        } else {
            self.etcd_ssh
                .iter()
                .map(|m| {
                    let mut target = SshTarget::parse(m)
                        .map_err(|e| color_eyre::eyre::eyre!("--etcd-ssh `{m}`: {e}"))?;
                    target.identity_file = self.ssh_identity.clone();
                    target.known_hosts = self.ssh_known_hosts.clone();
                    Ok(target)
                })
                .collect::<Result<Vec<_>>>()?
        };
        let masters: Vec<EtcdMaster> = targets
            .into_iter()
            .map(|ssh| EtcdMaster {
                ssh,
                etcd_port: self.etcd_port,
            })
            .collect();
        let pki = PkiPaths::in_dir(&self.etcd_pki_dir);
        let tunnels = etcd_over_ssh(&masters, &pki).await?;
        Ok(Some(EtcdAccess {
            config: tunnels.config.clone(),
            unreachable: tunnels
                .unreachable
                .iter()
                .map(ToString::to_string)
                .collect(),
            note: None,
            _tunnels: Some(tunnels),
        }))
    }

    /// `None` when no endpoint was given: etcd is then not asked directly.
    pub fn poller_config(&self) -> Result<Option<PollerConfig>> {
        if self.etcd_endpoints.is_empty() {
            return Ok(None);
        }
        for url in &self.etcd_endpoints {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                bail!("--etcd-endpoints: `{url}` is not a URL like https://10.0.0.11:2379");
            }
        }
        let https = self
            .etcd_endpoints
            .iter()
            .any(|u| u.starts_with("https://"));
        let tls = match &self.etcd_cacert {
            Some(ca) => Some(TlsMaterial::from_files(
                ca,
                self.etcd_cert.as_deref(),
                self.etcd_key.as_deref(),
            )?),
            None if https => bail!(
                "https etcd endpoints need --etcd-cacert (kubeadm: /etc/kubernetes/pki/etcd/ca.crt), \
                 and usually --etcd-cert/--etcd-key (healthcheck-client.crt/.key)"
            ),
            None => None,
        };
        Ok(Some(PollerConfig::new(self.etcd_endpoints.clone(), tls)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(endpoints: &[&str]) -> EtcdSettings {
        EtcdSettings {
            etcd_endpoints: endpoints.iter().map(|s| s.to_string()).collect(),
            ..EtcdSettings::default()
        }
    }

    #[test]
    fn https_without_a_ca_says_which_flag_is_missing() {
        let err = args(&["https://10.0.0.11:2379"])
            .poller_config()
            .unwrap_err();
        assert!(err.to_string().contains("--etcd-cacert"), "{err}");
    }

    #[test]
    fn a_host_without_scheme_is_refused() {
        let err = args(&["10.0.0.11:2379"]).poller_config().unwrap_err();
        assert!(err.to_string().contains("not a URL"), "{err}");
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let mut a = args(&["https://127.0.0.1:2379"]);
        a.etcd_cacert = Some("/nonexistent/ca.crt".into());
        let err = a.poller_config().unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.crt"), "{err}");
    }

    #[test]
    fn no_endpoints_no_poller() {
        assert!(args(&[]).poller_config().unwrap().is_none());
    }
}
