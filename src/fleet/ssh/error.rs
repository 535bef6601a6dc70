//! What went wrong over SSH, worded for the operator: each error says which host and
//! what to do. No key material ever goes into one (paths and fingerprints only).

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshError {
    /// A `[user@]host[:port]` that does not parse.
    Target(String),
    /// TCP connect or the SSH handshake failed.
    Connect { target: String, problem: String },
    /// The host key is in none of the known_hosts files.
    UnknownHost {
        target: String,
        /// The offered key as `ssh-ed25519 SHA256:...`.
        offered: String,
        files: Vec<PathBuf>,
        /// The `ssh-keyscan ... >> file` line that would add it.
        add_with: String,
    },
    /// known_hosts has a different key of the same type: maybe a reinstall, maybe an
    /// attack. Never accepted.
    HostKeyChanged {
        target: String,
        offered: String,
        file: PathBuf,
        line: usize,
    },
    /// Anything else about the host key (unreadable file, certificate offered).
    HostKey { target: String, problem: String },
    /// No key was accepted; `tried` lists what was offered and why each failed.
    Auth { target: String, tried: Vec<String> },
    /// `sudo -n` would have asked for a password.
    SudoPassword { target: String, user: String },
    /// A remote command failed.
    Remote {
        target: String,
        command: String,
        problem: String,
    },
    /// The local end of a tunnel.
    Forward { target: String, problem: String },
    /// The session is gone (server closed it, or the handle's task stopped).
    Closed { target: String, problem: String },
}

impl fmt::Display for SshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Target(why) => write!(f, "bad SSH target {why}"),
            Self::Connect { target, problem } => write!(f, "ssh {target}: {problem}"),
            Self::UnknownHost {
                target,
                offered,
                files,
                add_with,
            } => {
                let files: Vec<_> = files.iter().map(|p| p.display().to_string()).collect();
                write!(
                    f,
                    "ssh {target}: host key not known (offered {offered}; looked in {}). \
                     Check the fingerprint on the host (ssh-keygen -lf \
                     /etc/ssh/ssh_host_ed25519_key.pub), then add it: {add_with}",
                    files.join(", ")
                )
            }
            Self::HostKeyChanged {
                target,
                offered,
                file,
                line,
            } => write!(
                f,
                "ssh {target}: HOST KEY CHANGED! The host offered {offered}, which differs \
                 from the key in {}:{line}. Someone could be intercepting the connection, \
                 or the host was reinstalled. Refusing to connect; if the change is expected, \
                 remove that line and add the new key",
                file.display()
            ),
            Self::HostKey { target, problem } => write!(f, "ssh {target}: host key: {problem}"),
            Self::Auth { target, tried } => write!(
                f,
                "ssh {target}: authentication failed; tried: {}",
                if tried.is_empty() {
                    "nothing (no ssh-agent, no ~/.ssh/id_ed25519 or id_rsa; give an identity file)"
                        .to_string()
                } else {
                    tried.join("; ")
                }
            ),
            Self::SudoPassword { target, user } => write!(
                f,
                "ssh {target}: sudo wants a password for {user}; hatui only runs `sudo -n` \
                 and never asks. Log in as root, or allow {user} passwordless sudo for \
                 `cat /etc/kubernetes/pki/etcd/*` (sudoers NOPASSWD)"
            ),
            Self::Remote {
                target,
                command,
                problem,
            } => write!(f, "ssh {target}: `{command}`: {problem}"),
            Self::Forward { target, problem } => write!(f, "ssh {target}: tunnel: {problem}"),
            Self::Closed { target, problem } => {
                write!(f, "ssh {target}: session closed: {problem}")
            }
        }
    }
}

impl std::error::Error for SshError {}

impl SshError {
    /// The same error, said of the jump host on the way to `to`: which hop failed.
    pub(crate) fn at_jump_host(mut self, to: &str) -> Self {
        let target = match &mut self {
            Self::Target(_) => return self,
            Self::Connect { target, .. }
            | Self::UnknownHost { target, .. }
            | Self::HostKeyChanged { target, .. }
            | Self::HostKey { target, .. }
            | Self::Auth { target, .. }
            | Self::SudoPassword { target, .. }
            | Self::Remote { target, .. }
            | Self::Forward { target, .. }
            | Self::Closed { target, .. } => target,
        };
        *target = format!("jump host {target} (on the way to {to})");
        self
    }
}

/// russh's handler errors must come from its own; the target is filled in by the caller.
impl From<russh::Error> for SshError {
    fn from(e: russh::Error) -> Self {
        Self::Connect {
            target: String::new(),
            problem: e.to_string(),
        }
    }
}
