//! One SSH session as an actor: [`SshHandle`] wraps an mpsc sender; the task that owns
//! the russh session (`actor.rs`) answers each request on a oneshot. When the session
//! is gone (host rebooted, sshd restarted, keepalives unanswered), the next request that
//! needs it logs in again. When the last handle is dropped the task aborts every command
//! and tunnel and disconnects.

use std::fmt;
use std::net::SocketAddr;

use tokio::sync::{mpsc, oneshot};

use super::actor;
use super::auth::AuthSources;
use super::connect::{Session, open_session};
use super::error::SshError;
use super::exec::{Chunks, ExecOutput};
use super::job::Job;
use super::request::Request;
use super::target::SshTarget;

/// A session to one host, re-established on use after it is lost. Cheap to clone; the
/// session (and its tunnels) live while any clone does.
#[derive(Clone)]
pub struct SshHandle {
    target: SshTarget,
    tx: mpsc::Sender<Request>,
}

impl fmt::Debug for SshHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SshHandle({})", self.target)
    }
}

impl SshHandle {
    /// Connects, checks the host key against known_hosts, logs in with keys from
    /// [`AuthSources::from_env`] (or the target's identity file). The session task runs
    /// on the current tokio runtime and ends with it.
    pub async fn connect(target: &SshTarget) -> Result<Self, SshError> {
        Self::connect_with(target, &AuthSources::from_env()).await
    }

    /// As [`SshHandle::connect`]; reconnects use the same `sources`.
    pub async fn connect_with(target: &SshTarget, sources: &AuthSources) -> Result<Self, SshError> {
        let session = open_session(target, sources).await?;
        Ok(Self::spawn(target, sources, Ok(session)))
    }

    /// A handle to a host that could not be reached (`why`): tunnels can be set up now,
    /// and their first use after a short backoff logs in, so a master that comes up
    /// later is seen. Must be called inside a tokio runtime.
    pub fn unconnected(target: &SshTarget, sources: &AuthSources, why: SshError) -> Self {
        Self::spawn(target, sources, Err(why))
    }

    fn spawn(target: &SshTarget, sources: &AuthSources, first: Result<Session, SshError>) -> Self {
        let (tx, rx) = mpsc::channel(16);
        actor::spawn(target.clone(), sources.clone(), first, tx.downgrade(), rx);
        Self {
            target: target.clone(),
            tx,
        }
    }

    pub fn target(&self) -> &SshTarget {
        &self.target
    }

    /// Runs `cmd` in a remote shell and collects its output. A non-zero exit is not an
    /// error here: the caller knows what the command's failure means.
    pub async fn exec(&self, cmd: &str) -> Result<ExecOutput, SshError> {
        self.exec_streaming(cmd, None).await
    }

    /// As [`SshHandle::exec`], sending each piece of output to `stream` as it arrives.
    pub async fn exec_streaming(
        &self,
        cmd: &str,
        stream: Option<Chunks>,
    ) -> Result<ExecOutput, SshError> {
        let (reply, rx) = oneshot::channel();
        let job = Job::Exec {
            cmd: cmd.to_string(),
            stream,
            reply,
        };
        self.ask(Request::Job(job), rx).await
    }

    /// Listens on `127.0.0.1:0` and tunnels each connection to `remote_host:remote_port`
    /// as the server sees it (`127.0.0.1:2379` is the master's own etcd). Returns the
    /// local address, which stays the same across reconnects; the listener lives as
    /// long as the handle.
    pub async fn forward_local(
        &self,
        remote_host: &str,
        remote_port: u16,
    ) -> Result<SocketAddr, SshError> {
        let (reply, rx) = oneshot::channel();
        let req = Request::Forward(remote_host.to_string(), remote_port, reply);
        self.ask(req, rx).await
    }

    async fn ask<T>(
        &self,
        req: Request,
        rx: oneshot::Receiver<Result<T, SshError>>,
    ) -> Result<T, SshError> {
        let gone = || SshError::Closed {
            target: self.target.to_string(),
            problem: "the session task has stopped".into(),
        };
        self.tx.send(req).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }
}
