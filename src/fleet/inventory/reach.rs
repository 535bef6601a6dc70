//! How to reach a host over SSH, as the inventory says: its user and port, the `[ssh]`
//! files, its jump host; the command line's files win over the inventory's.

use std::path::PathBuf;

use super::{Host, Inventory};
use crate::ssh::SshTarget;

/// The command line's SSH settings, which win over the inventory's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshOverrides {
    pub identity: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    /// `--accept-new-host-keys`: OpenSSH's `accept-new` (never a changed key).
    pub accept_new_host_keys: bool,
}

impl Inventory {
    /// `host` as an SSH target; its jump host logs in with the same files.
    pub fn ssh_target(&self, host: &Host, overrides: &SshOverrides) -> SshTarget {
        let user = host.user.clone().unwrap_or_else(|| self.ssh.user.clone());
        let port = host.port.unwrap_or(self.ssh.port);
        let mut t = SshTarget::new(user, host.address.clone(), port);
        let file = |s: &Option<String>| s.as_deref().map(expand_home);
        t.identity_file = overrides
            .identity
            .clone()
            .or_else(|| file(&self.ssh.identity));
        t.known_hosts = overrides
            .known_hosts
            .clone()
            .or_else(|| file(&self.ssh.known_hosts));
        t.accept_new_host_keys = overrides.accept_new_host_keys;
        match &host.bastion {
            Some(b) => t.via(SshTarget::new(b.user.clone(), b.host.clone(), b.port)),
            None => t,
        }
    }

    /// The inventory with the command line's files in `[ssh]`, for what reads them from
    /// there (the dry-run script).
    pub fn with_overrides(mut self, overrides: &SshOverrides) -> Self {
        let shown = |p: &PathBuf| p.display().to_string();
        if let Some(id) = &overrides.identity {
            self.ssh.identity = Some(shown(id));
        }
        if let Some(kh) = &overrides.known_hosts {
            self.ssh.known_hosts = Some(shown(kh));
        }
        self
    }
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INV: &str = "endpoint = \"lb.example:6443\"\n\
        [ssh]\nuser = \"ubuntu\"\nidentity = \"/keys/inv\"\nbastion = \"jump.example:2222\"\n\
        [[hosts]]\nname = \"cp-1\"\naddress = \"10.0.1.11\"\nrole = \"control-plane\"\n\
        [[hosts]]\nname = \"cp-2\"\naddress = \"10.0.1.12\"\nrole = \"control-plane\"\n\
        bastion = \"admin@10.0.0.5\"\n\
        [[hosts]]\nname = \"cp-3\"\naddress = \"10.0.1.13\"\nrole = \"control-plane\"\n\
        bastion = \"none\"\n";

    #[test]
    fn each_host_goes_through_its_bastion_with_the_command_lines_files() {
        let inv = super::super::parse("t.toml", INV).unwrap();
        let cli = SshOverrides {
            known_hosts: Some("/cli/known_hosts".into()),
            ..SshOverrides::default()
        };
        let t: Vec<SshTarget> = inv.hosts.iter().map(|h| inv.ssh_target(h, &cli)).collect();
        assert_eq!(
            t[0].to_string(),
            "ubuntu@10.0.1.11:22 via jump host ubuntu@jump.example:2222"
        );
        assert_eq!(
            t[1].to_string(),
            "ubuntu@10.0.1.12:22 via jump host admin@10.0.0.5:22"
        );
        assert_eq!(t[2].to_string(), "ubuntu@10.0.1.13:22");
        let jump = t[1].jump_host().unwrap();
        assert_eq!(jump.identity_file, Some(PathBuf::from("/keys/inv")));
        assert_eq!(jump.known_hosts, Some(PathBuf::from("/cli/known_hosts")));
        let inv = inv.with_overrides(&cli);
        assert_eq!(inv.ssh.known_hosts.as_deref(), Some("/cli/known_hosts"));
        assert_eq!(inv.ssh.identity.as_deref(), Some("/keys/inv"));
    }

    #[test]
    fn a_bad_bastion_is_placed() {
        let bad = INV.replace("admin@10.0.0.5", "admin@10.0.0.5:0");
        let e = super::super::parse("t.toml", &bad).unwrap_err().to_string();
        assert!(
            e.starts_with("t.toml:14: hosts[1].bastion: bad SSH target \"admin@10.0.0.5:0\""),
            "{e}"
        );
    }
}
