//! One login: TCP connect, handshake with the known_hosts check, public-key auth. Used
//! for the first session and for every reconnect, so both check the same things.

use std::sync::Arc;
use std::time::Duration;

use russh::Preferred;
use russh::client::{self, Handle};

use super::auth::{AuthSources, authenticate};
use super::error::SshError;
use super::known_hosts::HostKeyCheck;
use super::target::SshTarget;

/// The whole login; a powered-off master or one stuck mid-handshake must not hang the
/// caller (nor the tunnel connections waiting for a reconnect).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) type Session = Handle<HostKeyCheck>;

pub(crate) async fn open_session(
    target: &SshTarget,
    sources: &AuthSources,
) -> Result<Session, SshError> {
    let login = async {
        let check = HostKeyCheck::new(target);
        let preferred = Preferred {
            key: check.preferred_algorithms().into(),
            ..Preferred::DEFAULT
        };
        let config = Arc::new(client::Config {
            preferred,
            // A master that vanishes without a word (power off) is noticed in ~15 s and
            // the session closed, so the next tunnel connection reconnects.
            keepalive_interval: Some(Duration::from_secs(5)),
            keepalive_max: 3,
            nodelay: true,
            ..Default::default()
        });
        let addr = (target.host.as_str(), target.port);
        let mut session = client::connect(config, addr, check)
            .await
            .map_err(|e| with_target(e, target))?;
        authenticate(&mut session, target, sources).await?;
        Ok(session)
    };
    tokio::time::timeout(CONNECT_TIMEOUT, login)
        .await
        .map_err(|_| SshError::Connect {
            target: target.to_string(),
            problem: format!("no answer within {CONNECT_TIMEOUT:?}"),
        })?
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
