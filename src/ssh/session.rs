//! One SSH session as an actor: [`SshHandle`] wraps an mpsc sender; the task that owns
//! the russh session answers each request on a oneshot. Commands and tunnels run as
//! tasks of their own, so a slow command never holds up a tunnel. When the last handle
//! is dropped the task aborts every command and tunnel and disconnects.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, Handle};
use russh::{ChannelMsg, Disconnect, Preferred};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use super::auth::{AuthSources, authenticate};
use super::error::SshError;
use super::forward::forward_local;
use super::known_hosts::HostKeyCheck;
use super::target::SshTarget;

/// TCP connect plus handshake; a powered-off master must not hang the caller.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a remote command gave back. `Debug` shows sizes only: stdout may be a key.
pub struct ExecOutput {
    /// `None` when the command died from a signal or the server sent no status.
    pub exit: Option<u32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl fmt::Debug for ExecOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecOutput")
            .field("exit", &self.exit)
            .field("stdout_bytes", &self.stdout.len())
            .field("stderr_bytes", &self.stderr.len())
            .finish()
    }
}

enum Request {
    Exec(String, oneshot::Sender<Result<ExecOutput, SshError>>),
    Forward(String, u16, oneshot::Sender<Result<SocketAddr, SshError>>),
}

/// A logged-in session. Cheap to clone; the session lives while any clone does.
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

    pub async fn connect_with(target: &SshTarget, sources: &AuthSources) -> Result<Self, SshError> {
        let check = HostKeyCheck::new(target);
        let preferred = Preferred {
            key: check.preferred_algorithms().into(),
            ..Preferred::DEFAULT
        };
        let config = Arc::new(client::Config {
            preferred,
            // A master that vanishes is noticed in ~15 s instead of never.
            keepalive_interval: Some(Duration::from_secs(5)),
            keepalive_max: 3,
            nodelay: true,
            ..Default::default()
        });
        let addr = (target.host.as_str(), target.port);
        let connecting = client::connect(config, addr, check);
        let mut session = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| SshError::Connect {
                target: target.to_string(),
                problem: format!("no answer within {CONNECT_TIMEOUT:?}"),
            })?
            .map_err(|e| with_target(e, target))?;
        authenticate(&mut session, target, sources).await?;
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(run(session, target.clone(), rx));
        Ok(Self {
            target: target.clone(),
            tx,
        })
    }

    pub fn target(&self) -> &SshTarget {
        &self.target
    }

    /// Runs `cmd` in a remote shell and collects its output. A non-zero exit is not an
    /// error here: the caller knows what the command's failure means.
    pub async fn exec(&self, cmd: &str) -> Result<ExecOutput, SshError> {
        let (reply, rx) = oneshot::channel();
        self.ask(Request::Exec(cmd.to_string(), reply), rx).await
    }

    /// Listens on `127.0.0.1:0` and tunnels each connection to `remote_host:remote_port`
    /// as the server sees it (`127.0.0.1:2379` is the master's own etcd). Returns the
    /// local address; the listener lives as long as the session.
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

fn with_target(e: SshError, target: &SshTarget) -> SshError {
    match e {
        SshError::Connect { target: t, problem } if t.is_empty() => SshError::Connect {
            target: target.to_string(),
            problem,
        },
        other => other,
    }
}

async fn run(session: Handle<HostKeyCheck>, target: SshTarget, mut rx: mpsc::Receiver<Request>) {
    let session = Arc::new(session);
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            req = rx.recv() => match req {
                Some(Request::Exec(cmd, reply)) => {
                    let (s, t) = (session.clone(), target.clone());
                    tasks.spawn(async move {
                        let _ = reply.send(exec(&s, &t, &cmd).await);
                    });
                }
                Some(Request::Forward(host, port, reply)) => {
                    match forward_local(session.clone(), target.clone(), host, port).await {
                        Ok((addr, task)) => {
                            tasks.spawn(task);
                            let _ = reply.send(Ok(addr));
                        }
                        Err(e) => {
                            let _ = reply.send(Err(e));
                        }
                    }
                }
                None => break,
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    // Tunnels first (their listeners and pipes), then the session itself.
    tasks.shutdown().await;
    let _ = session
        .disconnect(Disconnect::ByApplication, "hatui done", "en")
        .await;
}

async fn exec(
    session: &Handle<HostKeyCheck>,
    target: &SshTarget,
    cmd: &str,
) -> Result<ExecOutput, SshError> {
    let fail = |problem: String| SshError::Remote {
        target: target.to_string(),
        command: cmd.to_string(),
        problem,
    };
    let mut ch = session
        .channel_open_session()
        .await
        .map_err(|e| fail(format!("cannot open a session channel: {e}")))?;
    ch.exec(true, cmd)
        .await
        .map_err(|e| fail(format!("cannot start: {e}")))?;
    let mut out = ExecOutput {
        exit: None,
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    // The exit status may come before or after EOF; the channel ends with Close.
    while let Some(msg) = ch.wait().await {
        match msg {
            ChannelMsg::Data { data } => out.stdout.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, ext: 1 } => out.stderr.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => out.exit = Some(exit_status),
            ChannelMsg::Failure => return Err(fail("the server refused to run it".into())),
            _ => {}
        }
    }
    Ok(out)
}
