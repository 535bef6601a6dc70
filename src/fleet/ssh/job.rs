//! What needs a live session: a command, or one tunnel connection's channel. The actor
//! holds jobs while it logs in again and runs each on the session it has.

use std::net::SocketAddr;
use std::sync::Arc;

use russh::Channel;
use russh::client::Msg;

use super::connect::Session;
use super::error::SshError;
use super::exec::{Chunks, ExecOutput, exec, exec_error};
use super::target::SshTarget;

/// Where the actor answers a request.
pub(crate) type Reply<T> = tokio::sync::oneshot::Sender<Result<T, SshError>>;

pub(crate) enum Job {
    Exec {
        cmd: String,
        /// Where output goes as it arrives, besides the collected reply.
        stream: Option<Chunks>,
        reply: Reply<ExecOutput>,
    },
    /// A `direct-tcpip` channel to `host:port` as the server sees it, for the local
    /// connection from `from`.
    Open {
        host: String,
        port: u16,
        from: SocketAddr,
        reply: Reply<Channel<Msg>>,
    },
}

/// A job whose channel could not be opened because the session `on` had died: nothing
/// was sent, so it can run again on a new session.
pub(crate) struct Retry {
    pub job: Job,
    pub on: Arc<Session>,
}

impl Job {
    /// Runs on `session`. With `may_retry`, a session found dead gives the job back
    /// instead of failing it: a session can die unnoticed until a channel open fails,
    /// and the connection that found out should be served by the next session.
    pub async fn run(
        self,
        session: Arc<Session>,
        target: SshTarget,
        may_retry: bool,
    ) -> Option<Retry> {
        let opened = match &self {
            Job::Exec { .. } => session.channel_open_session().await,
            Job::Open {
                host, port, from, ..
            } => {
                let (ip, from_port) = (from.ip().to_string(), from.port().into());
                let to = (*port).into();
                session
                    .channel_open_direct_tcpip(host.as_str(), to, ip, from_port)
                    .await
            }
        };
        match opened {
            Ok(ch) => {
                self.done(ch, &target).await;
                None
            }
            Err(e) if may_retry && gone(&session, &e) => Some(Retry {
                job: self,
                on: session,
            }),
            Err(e) => {
                let problem = format!("cannot open a channel: {e}");
                let e = match &self {
                    Job::Exec { cmd, .. } => exec_error(&target, cmd, problem),
                    Job::Open { host, port, .. } => SshError::Forward {
                        target: target.to_string(),
                        problem: format!("to {host}:{port}: {problem}"),
                    },
                };
                self.fail(e);
                None
            }
        }
    }

    async fn done(self, ch: Channel<Msg>, target: &SshTarget) {
        match self {
            Job::Exec { cmd, stream, reply } => {
                let _ = reply.send(exec(ch, target, &cmd, stream.as_ref()).await);
            }
            Job::Open { reply, .. } => {
                let _ = reply.send(Ok(ch));
            }
        }
    }

    /// Answers with `e`; the asker may have given up already, which is fine.
    pub fn fail(self, e: SshError) {
        match self {
            Job::Exec { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            Job::Open { reply, .. } => {
                let _ = reply.send(Err(e));
            }
        }
    }
}

/// The session itself is gone, as opposed to the server refusing this one channel
/// (nothing listening on the port, forwarding not allowed).
fn gone(session: &Session, e: &russh::Error) -> bool {
    session.is_closed() || matches!(e, russh::Error::Disconnect | russh::Error::SendError)
}
