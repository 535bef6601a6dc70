//! Public-key login: the given identity file only; without one, every ssh-agent key,
//! then `~/.ssh/id_ed25519` and `~/.ssh/id_rsa`. Passphrase-protected files are not
//! prompted for (hatui owns the terminal): they belong in the agent.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::client::{AuthResult, Handle};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, load_secret_key};

use super::error::SshError;
use super::known_hosts::HostKeyCheck;
use super::target::SshTarget;

/// Where keys come from when the target names no identity file. [`AuthSources::from_env`]
/// is what `ssh` does; tests point it elsewhere.
#[derive(Debug, Clone, Default)]
pub struct AuthSources {
    /// The ssh-agent socket (`$SSH_AUTH_SOCK`).
    pub agent_socket: Option<PathBuf>,
    /// Key files tried after the agent, in order; missing ones are skipped.
    pub default_keys: Vec<PathBuf>,
}

impl AuthSources {
    pub fn from_env() -> Self {
        let home = std::env::home_dir().unwrap_or_default();
        Self {
            agent_socket: std::env::var_os("SSH_AUTH_SOCK")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            default_keys: ["id_ed25519", "id_rsa"]
                .iter()
                .map(|k| home.join(".ssh").join(k))
                .collect(),
        }
    }
}

type Session = Handle<HostKeyCheck>;

pub(crate) async fn authenticate(
    session: &mut Session,
    target: &SshTarget,
    sources: &AuthSources,
) -> Result<(), SshError> {
    let mut tried = Vec::new();
    if let Some(file) = &target.identity_file {
        if try_file(session, target, file, &mut tried).await? {
            return Ok(());
        }
    } else {
        if let Some(sock) = &sources.agent_socket
            && try_agent(session, target, sock, &mut tried).await?
        {
            return Ok(());
        }
        for file in sources.default_keys.iter().filter(|f| f.exists()) {
            if try_file(session, target, file, &mut tried).await? {
                return Ok(());
            }
        }
    }
    Err(SshError::Auth {
        target: target.to_string(),
        tried,
    })
}

async fn try_file(
    session: &mut Session,
    target: &SshTarget,
    file: &Path,
    tried: &mut Vec<String>,
) -> Result<bool, SshError> {
    let shown = file.display();
    let key = match load_secret_key(file, None) {
        Ok(k) => k,
        Err(russh::keys::Error::KeyIsEncrypted) => {
            tried.push(format!(
                "{shown}: protected by a passphrase; load it into ssh-agent (ssh-add {shown})"
            ));
            return Ok(false);
        }
        // The error names what is wrong with the file, never its contents.
        Err(e) => {
            tried.push(format!("{shown}: cannot load: {e}"));
            return Ok(false);
        }
    };
    let hash = rsa_hash(session).await;
    let r = session
        .authenticate_publickey(
            &target.user,
            PrivateKeyWithHashAlg::new(Arc::new(key), hash),
        )
        .await
        .map_err(|e| closed(target, e))?;
    note(tried, format!("{shown}"), &r);
    Ok(r.success())
}

async fn try_agent(
    session: &mut Session,
    target: &SshTarget,
    sock: &Path,
    tried: &mut Vec<String>,
) -> Result<bool, SshError> {
    let what = format!("ssh-agent {}", sock.display());
    let mut agent = match AgentClient::connect_uds(sock).await {
        Ok(a) => a,
        Err(e) => {
            tried.push(format!("{what}: cannot connect: {e}"));
            return Ok(false);
        }
    };
    let ids = match agent.request_identities().await {
        Ok(ids) => ids,
        Err(e) => {
            tried.push(format!("{what}: cannot list keys: {e}"));
            return Ok(false);
        }
    };
    if ids.is_empty() {
        tried.push(format!("{what}: holds no keys"));
    }
    let hash = rsa_hash(session).await;
    for id in ids {
        let AgentIdentity::PublicKey { key, comment } = id else {
            continue; // certificates: not supported here
        };
        let name = format!("{what} key {comment:?}");
        match session
            .authenticate_publickey_with(&target.user, key, hash, &mut agent)
            .await
        {
            Ok(r) => {
                note(tried, name, &r);
                if r.success() {
                    return Ok(true);
                }
            }
            Err(e) => tried.push(format!("{name}: agent failed to sign: {e}")),
        }
    }
    Ok(false)
}

/// RSA keys sign with SHA-2 unless the server says otherwise: OpenSSH has refused
/// SHA-1 `ssh-rsa` by default since 8.8.
async fn rsa_hash(session: &Session) -> Option<HashAlg> {
    match session.best_supported_rsa_hash().await {
        Ok(Some(h)) => h,
        _ => Some(HashAlg::Sha256),
    }
}

fn note(tried: &mut Vec<String>, what: String, r: &AuthResult) {
    if !r.success() {
        tried.push(format!("{what}: rejected by the server"));
    }
}

fn closed(target: &SshTarget, e: russh::Error) -> SshError {
    SshError::Closed {
        target: target.to_string(),
        problem: format!("during authentication: {e}"),
    }
}
