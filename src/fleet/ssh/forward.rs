//! Local port forwarding (`ssh -L`): a loopback listener whose every connection becomes
//! a `direct-tcpip` channel to a host:port as seen from the SSH server. The listener asks
//! the session actor for each channel instead of holding the session, so it outlives a
//! lost session: the same local address works again once the actor has logged back in.

use std::future::Future;
use std::net::SocketAddr;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use super::error::SshError;
use super::job::Job;
use super::request::Request;
use super::target::SshTarget;

/// Binds `127.0.0.1:0` (never a wider address: anyone who can connect would reach the
/// remote port with our login) and returns the address and the accept loop to run.
/// Dropping or aborting the loop closes the listener and every open connection.
pub(crate) async fn forward_local(
    session: mpsc::WeakSender<Request>,
    target: SshTarget,
    host: String,
    port: u16,
) -> Result<(SocketAddr, impl Future<Output = ()> + Send + 'static), SshError> {
    let fail = |problem: String| SshError::Forward {
        target: target.to_string(),
        problem,
    };
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| fail(format!("cannot listen on 127.0.0.1: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| fail(format!("no local address: {e}")))?;
    let accept = async move {
        let mut pipes = JoinSet::new();
        loop {
            tokio::select! {
                conn = listener.accept() => {
                    let Ok((tcp, peer)) = conn else {
                        // Out of file descriptors, say: don't spin while it lasts.
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    };
                    let (s, h) = (session.clone(), host.clone());
                    pipes.spawn(pipe(s, tcp, peer, h, port));
                }
                Some(_) = pipes.join_next(), if !pipes.is_empty() => {}
            }
        }
    };
    Ok((addr, accept))
}

/// One local connection through one channel. If the channel cannot be opened (host
/// down and the login failed, forwarding refused, nothing listening remotely) the local
/// connection is just closed: the client on it (the etcd poller) reports that as its
/// own error, and its next connection tries again.
async fn pipe(
    session: mpsc::WeakSender<Request>,
    mut tcp: TcpStream,
    from: SocketAddr,
    host: String,
    port: u16,
) {
    let (reply, rx) = oneshot::channel();
    let job = Job::Open {
        host,
        port,
        from,
        reply,
    };
    // Upgraded only to send: a strong sender held here would keep the actor alive.
    let Some(actor) = session.upgrade() else {
        return;
    };
    if actor.send(Request::Job(job)).await.is_err() {
        return;
    }
    drop(actor);
    if let Ok(Ok(channel)) = rx.await {
        let mut remote = channel.into_stream();
        let _ = copy_bidirectional(&mut tcp, &mut remote).await;
    }
}
