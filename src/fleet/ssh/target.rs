//! Which master to log in to, and how: `[user@]host[:port]` plus the files to use.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::error::SshError;

/// One SSH destination. `identity_file: None` means ssh-agent, then `~/.ssh/id_ed25519`
/// and `~/.ssh/id_rsa`; `known_hosts: None` means `~/.ssh/known_hosts` and
/// `/etc/ssh/ssh_known_hosts`, as OpenSSH does. With a `jump` host (OpenSSH's
/// `ProxyJump`), `host:port` is where the jump host connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub identity_file: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    /// OpenSSH's `StrictHostKeyChecking accept-new`: an unknown host's key is recorded in
    /// the first known_hosts file and accepted; a changed key is still refused.
    pub accept_new_host_keys: bool,
    /// The `SHA256:...` fingerprint the operator accepted for an unknown host (asked in
    /// the wizard's pane): a host offering exactly this key is recorded as with
    /// `accept-new`; any other unknown key is still refused.
    pub accept_key: Option<String>,
    /// Reached through this host: logged in to first (its key checked, the same login
    /// ways), then a `direct-tcpip` channel from it to `host:port` carries this session.
    pub jump: Option<Box<SshTarget>>,
}

impl SshTarget {
    pub fn new(user: impl Into<String>, host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            user: user.into(),
            identity_file: None,
            known_hosts: None,
            accept_new_host_keys: false,
            accept_key: None,
            jump: None,
        }
    }

    /// Through `jump` (its `user@host:port`; the files are this target's).
    pub fn via(mut self, jump: SshTarget) -> Self {
        self.jump = Some(Box::new(jump));
        self
    }

    /// The jump host as logged in to: with this target's identity, known_hosts and host
    /// key policy (one set of settings for both hops), and no jump of its own.
    pub(crate) fn jump_host(&self) -> Option<SshTarget> {
        self.jump.as_deref().map(|j| SshTarget {
            identity_file: self.identity_file.clone(),
            known_hosts: self.known_hosts.clone(),
            accept_new_host_keys: self.accept_new_host_keys,
            accept_key: self.accept_key.clone(),
            jump: None,
            ..j.clone()
        })
    }

    /// `user@host:port` alone, without the jump host.
    pub fn hop(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{}@{host}:{}", self.user, self.port)
    }

    /// `[user@]host[:port]`, IPv6 as `[::1]:22`. Without a user, `$USER` (else root),
    /// like `ssh` itself.
    pub fn parse(s: &str) -> Result<Self, SshError> {
        let bad =
            |why: &str| SshError::Target(format!("{s:?}: {why} (expected [user@]host[:port])"));
        let (user, rest) = match s.rsplit_once('@') {
            Some((u, r)) if !u.is_empty() => (u.to_string(), r),
            Some(_) => return Err(bad("empty user")),
            None => (default_user(), s),
        };
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            match after {
                "" => (h, None),
                p => (
                    h,
                    Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ]"))?),
                ),
            }
        } else if rest.matches(':').count() > 1 {
            return Err(bad("IPv6 addresses need brackets"));
        } else {
            match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            }
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(bad("bad host"));
        }
        let port = match port {
            None => 22,
            Some(p) => p
                .parse()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| bad("bad port"))?,
        };
        Ok(Self::new(user, host, port))
    }
}

fn default_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "root".into())
}

impl FromStr for SshTarget {
    type Err = SshError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// `user@host:port`, and `via jump host user@host:port` when there is one: every error
/// about this target then says which way it was reached.
impl fmt::Display for SshTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hop())?;
        match &self.jump {
            Some(j) => write!(f, " via jump host {}", j.hop()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_host_port_forms() {
        let t = SshTarget::parse("admin@cp-1:2222").unwrap();
        assert_eq!(
            (t.user.as_str(), t.host.as_str(), t.port),
            ("admin", "cp-1", 2222)
        );
        assert_eq!(t.to_string(), "admin@cp-1:2222");
        let t = SshTarget::parse("root@10.0.0.11").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("10.0.0.11", 22));
        let t = SshTarget::parse("u@[fd00::1]:22").unwrap();
        assert_eq!(t.host, "fd00::1");
        assert_eq!(t.to_string(), "u@[fd00::1]:22");
        assert!(!SshTarget::parse("cp-2").unwrap().user.is_empty());
        for bad in [
            "",
            "@h",
            "u@",
            "u@h:0",
            "u@h:x",
            "u@fd00::1",
            "u@[::1",
            "u@h p",
        ] {
            let e = SshTarget::parse(bad).unwrap_err().to_string();
            assert!(e.contains("expected [user@]host[:port]"), "{bad}: {e}");
        }
    }
}
