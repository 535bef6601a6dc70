//! Host key checking against known_hosts. russh's handler rejects every key by default;
//! this one accepts exactly the keys recorded for `[host]:port`, and turns "unknown" and
//! "changed" into errors that say what to do. It adds a key only when the target asks
//! for OpenSSH's `accept-new`, and only for a host it has no key for.

use std::path::{Path, PathBuf};

use russh::Preferred;
use russh::keys::known_hosts::known_host_keys_path;
use russh::keys::{Algorithm, HashAlg, PublicKey, PublicKeyOrCertificate, check_known_hosts_path};

use super::error::SshError;
use super::target::SshTarget;

/// The russh client handler: only checks the server key.
pub(crate) struct HostKeyCheck {
    target: SshTarget,
    files: Vec<PathBuf>,
}

impl HostKeyCheck {
    pub fn new(target: &SshTarget) -> Self {
        let files = match &target.known_hosts {
            Some(f) => vec![f.clone()],
            None => {
                let home = std::env::home_dir().map(|h| h.join(".ssh/known_hosts"));
                home.into_iter()
                    .chain([PathBuf::from("/etc/ssh/ssh_known_hosts")])
                    .collect()
            }
        };
        Self {
            target: target.clone(),
            files,
        }
    }

    /// Host key algorithms to ask for, those already recorded for this host first (as
    /// OpenSSH does): a host known by its RSA key must not be "unknown" just because
    /// it also has an ed25519 key that russh prefers.
    pub fn preferred_algorithms(&self) -> Vec<Algorithm> {
        let t = &self.target;
        let known: Vec<Algorithm> = self
            .files
            .iter()
            .filter_map(|f| known_host_keys_path(&t.host, t.port, f).ok())
            .flatten()
            .map(|(_, k)| k.algorithm())
            .collect();
        let rsa = |a: &Algorithm| matches!(a, Algorithm::Rsa { .. });
        let is_known = |a: &Algorithm| known.iter().any(|k| k == a || (rsa(k) && rsa(a)));
        let all = Preferred::DEFAULT.key;
        let (mut first, rest): (Vec<_>, Vec<_>) = all.iter().cloned().partition(is_known);
        first.extend(rest);
        first
    }

    fn check(&self, key: &PublicKey) -> Result<(), SshError> {
        let t = &self.target;
        let offered = describe(key);
        for file in &self.files {
            match check_known_hosts_path(&t.host, t.port, key, file) {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(russh::keys::Error::KeyChanged { line }) => {
                    return Err(SshError::HostKeyChanged {
                        target: t.to_string(),
                        offered,
                        file: file.clone(),
                        line: real_line(file, line),
                    });
                }
                Err(e) => {
                    return Err(SshError::HostKey {
                        target: t.to_string(),
                        problem: format!("cannot use {}: {e}", file.display()),
                    });
                }
            }
        }
        let accepted = t.accept_key.as_deref() == Some(fingerprint(key).as_str());
        if (t.accept_new_host_keys || accepted)
            && let Some(file) = self.files.first()
        {
            return record(t, key, file).map_err(|e| SshError::HostKey {
                target: t.to_string(),
                problem: format!("cannot record its key in {}: {e}", file.display()),
            });
        }
        let first = self.files.first().map(|f| f.display().to_string());
        let file = match (&t.known_hosts, first) {
            (None, _) | (_, None) => "~/.ssh/known_hosts".to_string(),
            (Some(_), Some(f)) => f,
        };
        // Behind a jump host, only the jump host reaches it: ssh-keyscan runs there.
        let keyscan = format!("ssh-keyscan -p {} {}", t.port, t.host);
        let add_with = match &t.jump {
            None => format!("{keyscan} >> {file}"),
            Some(j) => format!(
                "ssh -p {} {}@{} {keyscan} >> {file}",
                j.port, j.user, j.host
            ),
        };
        Err(SshError::UnknownHost {
            target: t.to_string(),
            offered,
            files: self.files.clone(),
            add_with,
        })
    }
}

impl russh::client::Handler for HostKeyCheck {
    type Error = SshError;

    async fn check_server_key(&mut self, key: &PublicKeyOrCertificate) -> Result<bool, SshError> {
        match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => self.check(key).map(|()| true),
            PublicKeyOrCertificate::Certificate(_) => Err(SshError::HostKey {
                target: self.target.to_string(),
                problem: "the host offered a certificate; @cert-authority is not supported, \
                          record its plain host key in known_hosts"
                    .into(),
            }),
        }
    }
}

/// Appends `[host]:port key` (plain `host` on port 22) to `file`, as OpenSSH's
/// accept-new does (russh's own helper starts an empty file with a blank line).
fn record(t: &SshTarget, key: &PublicKey, file: &Path) -> Result<(), String> {
    use std::io::Write;
    let openssh = key.to_openssh().map_err(|e| e.to_string())?;
    let host = if t.port == 22 {
        t.host.clone()
    } else {
        format!("[{}]:{}", t.host, t.port)
    };
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let before = std::fs::read(file).unwrap_or_default();
    let newline = if before.is_empty() || before.ends_with(b"\n") {
        ""
    } else {
        "\n"
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .map_err(|e| e.to_string())?;
    writeln!(f, "{newline}{host} {openssh}").map_err(|e| e.to_string())
}

/// `ssh-ed25519 SHA256:...`: what `ssh-keygen -lf` shows, so the operator can compare.
fn describe(key: &PublicKey) -> String {
    format!("{} {}", key.algorithm(), fingerprint(key))
}

/// OpenSSH's `SHA256:` form (unpadded base64).
fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// russh numbers known_hosts lines without counting `#` comments; find the line as
/// an editor shows it, so "remove line N" removes the right one.
fn real_line(file: &Path, russh_line: usize) -> usize {
    let Ok(text) = std::fs::read_to_string(file) else {
        return russh_line;
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#'))
        .nth(russh_line.saturating_sub(1))
        .map_or(russh_line, |(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_key_line_counts_comments() {
        let dir = std::env::temp_dir().join(format!("hatui-kh-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("known_hosts");
        std::fs::write(
            &f,
            "# a\n# b\nother ssh-ed25519 AAAA\n\n[h]:2 ssh-ed25519 AAAA\n",
        )
        .unwrap();
        // russh says line 3: the third non-comment line.
        assert_eq!(real_line(&f, 3), 5);
        assert_eq!(real_line(&dir.join("gone"), 3), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
