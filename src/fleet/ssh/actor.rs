//! The task that owns one host's russh session and logs in again when it is lost.
//! Reconnecting is lazy: the next job (a command, a tunnel connection) after the loss
//! starts one login, bounded by the connect timeout, and every job that arrives meanwhile
//! waits for it. A failed login answers those jobs with its error and holds off further
//! attempts for a backoff, so a dead host is not hammered.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;

use super::auth::AuthSources;
use super::backoff::Backoff;
use super::connect::{Session, open_session};
use super::error::SshError;
use super::forward::forward_local;
use super::job::{Job, Reply, Retry};
use super::request::Request;
use super::target::SshTarget;

enum Link {
    Up(Arc<Session>),
    /// A login is under way (in `Actor::login`); these jobs wait for it.
    Connecting(Vec<Job>),
    /// The last login failed; jobs fail with `error` until `retry_at`.
    Down {
        error: SshError,
        retry_at: Instant,
    },
}

struct Actor {
    target: SshTarget,
    sources: AuthSources,
    link: Link,
    backoff: Backoff,
    /// Handed to tunnel listeners: weak, so they do not keep the actor alive.
    me: mpsc::WeakSender<Request>,
    /// Jobs and tunnel listeners; a job gives itself back when its session was dead.
    tasks: JoinSet<Option<Retry>>,
    /// At most one login at a time.
    login: JoinSet<Result<Session, SshError>>,
}

/// Runs the actor on the current runtime until every [`super::SshHandle`] is dropped.
pub(crate) fn spawn(
    target: SshTarget,
    sources: AuthSources,
    first: Result<Session, SshError>,
    me: mpsc::WeakSender<Request>,
    rx: mpsc::Receiver<Request>,
) {
    let mut backoff = Backoff::default();
    let link = match first {
        Ok(session) => Link::Up(Arc::new(session)),
        Err(error) => Link::Down {
            retry_at: Instant::now() + backoff.fail(&error),
            error,
        },
    };
    let actor = Actor {
        target,
        sources,
        link,
        backoff,
        me,
        tasks: JoinSet::new(),
        login: JoinSet::new(),
    };
    tokio::spawn(actor.run(rx));
}

impl Actor {
    async fn run(mut self, mut rx: mpsc::Receiver<Request>) {
        loop {
            tokio::select! {
                req = rx.recv() => match req {
                    Some(Request::Job(job)) => self.handle(job, true),
                    Some(Request::Forward(host, port, reply)) => {
                        self.forward(host, port, reply).await;
                    }
                    None => break,
                },
                Some(done) = self.login.join_next(), if !self.login.is_empty() => {
                    self.logged_in(done);
                }
                Some(done) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    if let Ok(Some(retry)) = done {
                        self.retry(retry);
                    }
                }
            }
        }
        // Tunnels first (their listeners and pipes), then the session itself.
        self.tasks.shutdown().await;
        if let Link::Up(session) = &self.link {
            session.close().await;
        }
    }

    /// `may_retry`: the job may find the session dead and come back once (see
    /// [`Job::run`]); not on a session that was just made.
    fn handle(&mut self, job: Job, may_retry: bool) {
        match &mut self.link {
            Link::Up(session) if !session.is_closed() => {
                let (s, t) = (session.clone(), self.target.clone());
                self.tasks.spawn(job.run(s, t, may_retry));
            }
            Link::Connecting(waiting) => waiting.push(job),
            Link::Down { error, retry_at } if Instant::now() < *retry_at => {
                job.fail(error.clone());
            }
            // Closed, or down long enough: try again.
            Link::Up(_) | Link::Down { .. } => self.reconnect(vec![job]),
        }
    }

    fn reconnect(&mut self, waiting: Vec<Job>) {
        let (target, sources) = (self.target.clone(), self.sources.clone());
        self.login
            .spawn(async move { open_session(&target, &sources).await });
        self.link = Link::Connecting(waiting);
    }

    fn logged_in(&mut self, done: Result<Result<Session, SshError>, JoinError>) {
        let done = done.unwrap_or_else(|e| {
            Err(SshError::Connect {
                target: self.target.to_string(),
                problem: format!("the login task failed: {e}"),
            })
        });
        let waiting = match std::mem::replace(&mut self.link, Link::Connecting(Vec::new())) {
            Link::Connecting(waiting) => waiting,
            _ => Vec::new(),
        };
        match done {
            Ok(session) => {
                self.backoff.reset();
                self.link = Link::Up(Arc::new(session));
                for job in waiting {
                    self.handle(job, false);
                }
            }
            Err(error) => {
                let retry_at = Instant::now() + self.backoff.fail(&error);
                for job in waiting {
                    job.fail(error.clone());
                }
                self.link = Link::Down { error, retry_at };
            }
        }
    }

    /// A job found its session dead. If that is still the current one, log in again;
    /// if a new session came up meanwhile, the job just runs there.
    fn retry(&mut self, Retry { job, on }: Retry) {
        match &self.link {
            Link::Up(current) if Arc::ptr_eq(current, &on) => self.reconnect(vec![job]),
            _ => self.handle(job, false),
        }
    }

    async fn forward(&mut self, host: String, port: u16, reply: Reply<SocketAddr>) {
        let target = self.target.clone();
        match forward_local(self.me.clone(), target, host, port).await {
            Ok((addr, accept)) => {
                self.tasks.spawn(async move {
                    accept.await;
                    None
                });
                let _ = reply.send(Ok(addr));
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }
}
