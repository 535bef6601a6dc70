//! One login: TCP connect (or, through a jump host, a `direct-tcpip` channel from its
//! session), handshake with the known_hosts check, public-key auth. Used for the first
//! session and for every reconnect, so both check the same things.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, Handle};
use russh::{ChannelOpenFailure, Disconnect, Preferred};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::auth::{AuthSources, authenticate};
use super::error::SshError;
use super::known_hosts::HostKeyCheck;
use super::target::SshTarget;

/// Each hop's whole login; a powered-off master or one stuck mid-handshake must not hang
/// the caller (nor the tunnel connections waiting for a reconnect).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

type Handshaken = Handle<HostKeyCheck>;

/// A logged-in session, and the jump host's that carries it, if any: the jump host's
/// session lives as long as the one inside it.
pub(crate) struct Session {
    handle: Handshaken,
    jump: Option<Handshaken>,
}

impl Deref for Session {
    type Target = Handshaken;
    fn deref(&self) -> &Handshaken {
        &self.handle
    }
}

impl Session {
    /// Says goodbye to the host, then to the jump host.
    pub async fn close(&self) {
        for h in std::iter::once(&self.handle).chain(&self.jump) {
            let _ = h
                .disconnect(Disconnect::ByApplication, "hatui done", "en")
                .await;
        }
    }
}

pub(crate) async fn open_session(
    target: &SshTarget,
    sources: &AuthSources,
) -> Result<Session, SshError> {
    let Some(jump) = target.jump_host() else {
        let handle = within(target, direct(target, sources)).await?;
        return Ok(Session { handle, jump: None });
    };
    let to = target.hop();
    let via = within(&jump, direct(&jump, sources))
        .await
        .map_err(|e| e.at_jump_host(&to))?;
    let handle = within(target, through(&via, target, sources)).await?;
    Ok(Session {
        handle,
        jump: Some(via),
    })
}

async fn within(
    target: &SshTarget,
    login: impl Future<Output = Result<Handshaken, SshError>>,
) -> Result<Handshaken, SshError> {
    tokio::time::timeout(CONNECT_TIMEOUT, login)
        .await
        .map_err(|_| SshError::Connect {
            target: target.to_string(),
            problem: format!("no answer within {CONNECT_TIMEOUT:?}"),
        })?
}

async fn direct(target: &SshTarget, sources: &AuthSources) -> Result<Handshaken, SshError> {
    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| SshError::Connect {
            target: target.to_string(),
            problem: e.to_string(),
        })?;
    let _ = tcp.set_nodelay(true);
    login_over(tcp, target, sources).await
}

/// The jump host connects to `target`'s `host:port`, as `ssh -J` has it do.
async fn through(
    jump: &Handshaken,
    target: &SshTarget,
    sources: &AuthSources,
) -> Result<Handshaken, SshError> {
    let channel = jump
        .channel_open_direct_tcpip(target.host.as_str(), target.port.into(), "127.0.0.1", 0)
        .await
        .map_err(|e| SshError::Connect {
            target: target.to_string(),
            problem: unreachable_from_jump(e),
        })?;
    login_over(channel.into_stream(), target, sources).await
}

async fn login_over<S>(
    stream: S,
    target: &SshTarget,
    sources: &AuthSources,
) -> Result<Handshaken, SshError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let check = HostKeyCheck::new(target);
    let mut session = client::connect_stream(config(&check), stream, check)
        .await
        .map_err(|e| with_target(e, target))?;
    authenticate(&mut session, target, sources).await?;
    Ok(session)
}

fn config(check: &HostKeyCheck) -> Arc<client::Config> {
    let preferred = Preferred {
        key: check.preferred_algorithms().into(),
        ..Preferred::DEFAULT
    };
    Arc::new(client::Config {
        preferred,
        // A master that vanishes without a word (power off) is noticed in ~15 s and
        // the session closed, so the next tunnel connection reconnects.
        keepalive_interval: Some(Duration::from_secs(5)),
        keepalive_max: 3,
        ..Default::default()
    })
}

/// Why the jump host could not open the way on (russh keeps no reason text for the
/// standard codes).
fn unreachable_from_jump(e: russh::Error) -> String {
    match e {
        russh::Error::ChannelOpenFailure(ChannelOpenFailure::ConnectFailed) => {
            "the jump host cannot connect to it (host down, nothing listening on that port, \
             or a firewall)"
                .into()
        }
        russh::Error::ChannelOpenFailure(ChannelOpenFailure::AdministrativelyProhibited) => {
            "the jump host refuses to forward there (its sshd_config: AllowTcpForwarding, \
             PermitOpen)"
                .into()
        }
        russh::Error::ChannelOpenFailure(ChannelOpenFailure::Other { reason, .. }) => {
            format!("the jump host cannot connect to it: {reason}")
        }
        other => format!("the jump host cannot connect to it: {other}"),
    }
}

fn with_target(e: SshError, target: &SshTarget) -> SshError {
    match e {
        SshError::Connect { target: t, problem } if t.is_empty() => SshError::Connect {
            target: target.to_string(),
            problem,
        },
        other => other,
    }
}
