//! etcd through SSH, for when only SSH reaches the masters: per master a tunnel to its
//! own etcd (kubeadm: `127.0.0.1:2379`, whose server certificate has 127.0.0.1 in its
//! SANs), and the client certificates read with `sudo -n cat` over the same session.
//! The certificates stay in memory: never written to disk, never logged.

use std::time::Duration;

use futures::future::join_all;

use super::tls::LabelledPem;
use super::{PollerConfig, TlsMaterial};
use hatui_fleet::ssh::{AuthSources, ExecOutput, SshError, SshHandle, SshTarget, shell_quote};

/// `cat` of a small file: anything slower is a hung host or a stuck sudo.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the etcd client certificates are on the masters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiPaths {
    pub ca: String,
    pub cert: String,
    pub key: String,
}

impl Default for PkiPaths {
    /// kubeadm's: the healthcheck client is the least-privileged client certificate.
    fn default() -> Self {
        Self::in_dir("/etc/kubernetes/pki/etcd")
    }
}

impl PkiPaths {
    /// `ca.crt`, `healthcheck-client.crt` and `healthcheck-client.key` in `dir`.
    pub fn in_dir(dir: &str) -> Self {
        let dir = dir.trim_end_matches('/');
        Self {
            ca: format!("{dir}/ca.crt"),
            cert: format!("{dir}/healthcheck-client.crt"),
            key: format!("{dir}/healthcheck-client.key"),
        }
    }
}

/// A master and the port its etcd listens on at 127.0.0.1 (kubeadm: 2379).
#[derive(Debug, Clone)]
pub struct EtcdMaster {
    pub ssh: SshTarget,
    pub etcd_port: u16,
}

impl From<SshTarget> for EtcdMaster {
    fn from(ssh: SshTarget) -> Self {
        Self {
            ssh,
            etcd_port: 2379,
        }
    }
}

/// A poller config whose endpoints are local tunnel ends, one per master in the order
/// given. The tunnels live as long as `sessions`: keep this value for as long as the
/// config is used.
#[derive(Debug)]
pub struct EtcdOverSsh {
    pub config: PollerConfig,
    /// One per master, in the order given; each logs in again after losing its session.
    pub sessions: Vec<SshHandle>,
    /// Masters that could not be reached at the start. Their tunnels keep trying on
    /// use, so such a master's member answers once it is up.
    pub unreachable: Vec<SshError>,
}

/// Connects to every master at once, tunnels to each one's etcd and reads the client
/// certificates from the first that answers (one etcd CA signs them all). Fails only
/// when no master is reachable or the certificates cannot be read.
pub async fn etcd_over_ssh(
    masters: &[EtcdMaster],
    pki: &PkiPaths,
) -> Result<EtcdOverSsh, SshError> {
    let sources = AuthSources::from_env();
    let connects = masters.iter().map(|m| async {
        let (ssh, down) = match SshHandle::connect_with(&m.ssh, &sources).await {
            Ok(ssh) => (ssh, None),
            Err(e) => (SshHandle::unconnected(&m.ssh, &sources, e.clone()), Some(e)),
        };
        let local = ssh.forward_local("127.0.0.1", m.etcd_port).await?;
        // What the member advertises when the SSH host is its address, as usual.
        let host = if m.ssh.host.contains(':') {
            format!("[{}]", m.ssh.host)
        } else {
            m.ssh.host.clone()
        };
        let member = format!("https://{host}:{}", m.etcd_port);
        Ok::<_, SshError>((ssh, format!("https://{local}"), member, down))
    });
    let mut sessions = Vec::new();
    let mut endpoints = Vec::new();
    let mut member_urls = Vec::new();
    let mut unreachable = Vec::new();
    let mut first_up = None;
    for r in join_all(connects).await {
        let (ssh, url, member, down) = r?;
        match down {
            Some(e) => unreachable.push(e),
            None => first_up = first_up.or(Some(sessions.len())),
        }
        sessions.push(ssh);
        endpoints.push(url);
        member_urls.push(member);
    }
    let Some(first) = first_up else {
        let none = || SshError::Target("(none): no masters given".into());
        return Err(unreachable.into_iter().next().unwrap_or_else(none));
    };
    let tls = read_tls(&sessions[first], pki).await?;
    Ok(EtcdOverSsh {
        config: PollerConfig {
            follow_members: false,
            member_urls,
            ..PollerConfig::new(endpoints, Some(tls))
        },
        sessions,
        unreachable,
    })
}

/// The three PEM files over SSH, labelled `host:path` so TLS errors name them.
pub async fn read_tls(ssh: &SshHandle, pki: &PkiPaths) -> Result<TlsMaterial, SshError> {
    let (ca, cert, key) = tokio::try_join!(
        read_file(ssh, &pki.ca),
        read_file(ssh, &pki.cert),
        read_file(ssh, &pki.key),
    )?;
    TlsMaterial::from_pem(ca, Some((cert, key))).map_err(|e| SshError::Remote {
        target: ssh.target().to_string(),
        command: "read the etcd client certificates".into(),
        problem: e.to_string(),
    })
}

async fn read_file(ssh: &SshHandle, path: &str) -> Result<LabelledPem, SshError> {
    let cmd = format!("sudo -n cat -- {}", shell_quote(path));
    let out = tokio::time::timeout(READ_TIMEOUT, ssh.exec(&cmd))
        .await
        .map_err(|_| SshError::Remote {
            target: ssh.target().to_string(),
            command: cmd.clone(),
            problem: format!("no answer within {READ_TIMEOUT:?}"),
        })??;
    let label = format!("{}:{path}", ssh.target().host);
    check_read(ssh.target(), &cmd, out).map(|bytes| (label, bytes))
}

/// Turns what `sudo -n cat` said into the file or into what to fix.
fn check_read(target: &SshTarget, cmd: &str, out: ExecOutput) -> Result<Vec<u8>, SshError> {
    if out.exit == Some(0) && !out.stdout.is_empty() {
        return Ok(out.stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if stderr.contains("password is required") || stderr.contains("a terminal is required") {
        return Err(SshError::SudoPassword {
            target: target.to_string(),
            user: target.user.clone(),
        });
    }
    let problem = if out.exit == Some(127) {
        format!("sudo is not installed on the host ({stderr})")
    } else if out.exit == Some(0) {
        "the file is empty".to_string()
    } else {
        let exit = out.exit.map_or("a signal".into(), |c| format!("exit {c}"));
        format!("{exit}: {stderr}")
    };
    Err(SshError::Remote {
        target: target.to_string(),
        command: cmd.to_string(),
        problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(exit: Option<u32>, stdout: &str, stderr: &str) -> ExecOutput {
        ExecOutput {
            exit,
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn sudo_answers_become_what_to_fix() {
        let t = SshTarget::new("ops", "cp-1", 22);
        let read = |o| check_read(&t, "sudo -n cat -- 'x'", o);
        assert_eq!(read(out(Some(0), "PEM", "")).unwrap(), b"PEM");
        let e = read(out(Some(1), "", "sudo: a password is required\n")).unwrap_err();
        assert!(matches!(e, SshError::SudoPassword { .. }), "{e}");
        assert!(e.to_string().contains("wants a password for ops"), "{e}");
        let e = read(out(Some(1), "", "cat: x: No such file or directory")).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("exit 1: cat: x: No such file or directory"),
            "{e}"
        );
        let e = read(out(Some(127), "", "sh: 1: sudo: not found")).unwrap_err();
        assert!(e.to_string().contains("sudo is not installed"), "{e}");
    }

    #[test]
    fn paths_are_quoted_and_default_to_kubeadm() {
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
        let p = PkiPaths::default();
        assert_eq!(p.key, "/etc/kubernetes/pki/etcd/healthcheck-client.key");
        assert_eq!(PkiPaths::in_dir("/x/").ca, "/x/ca.crt");
    }
}
