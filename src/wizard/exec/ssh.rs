//! The executor for real hosts: each command runs over the host's SSH session (one per
//! host, opened on first use and reused), as root through `sudo -n` when the inventory says
//! so (a sudo that wants a password is reported, never waited on), with a timeout, its
//! output streamed line by line as it arrives, and every run in the audit log with its
//! secrets hidden. The engine is synchronous: commands run as tasks on a tokio runtime and
//! their lines come back through a channel.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::runtime::Handle;
use tokio::sync::OnceCell;

use super::{Executor, RunEvent, RunId};
use crate::model::{ClusterState, SourceKind};
use crate::ssh::{SshHandle, SshTarget, shell_quote};
use crate::wizard::audit::Audit;
use crate::wizard::inventory::Inventory;
use crate::wizard::preflight::{SshOverrides, target};

/// A command that says nothing for this long has failed (a join takes a minute or two).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// `timeout(1)`'s exit code, for a command hatui gave up on.
pub const TIMED_OUT: i32 = 124;

type Session = Arc<OnceCell<Result<SshHandle, String>>>;

pub struct SshExecutor {
    rt: Handle,
    targets: HashMap<String, SshTarget>,
    sessions: HashMap<String, Session>,
    sudo: bool,
    timeout: Duration,
    audit: Audit,
    tx: Sender<RunEvent>,
    rx: Receiver<RunEvent>,
    next: RunId,
    cluster: ClusterState,
}

impl SshExecutor {
    /// For the inventory's hosts; commands run as tasks on `rt`.
    pub fn new(inv: &Inventory, overrides: &SshOverrides, audit: Audit, rt: Handle) -> Self {
        let targets: HashMap<String, SshTarget> = inv
            .hosts
            .iter()
            .map(|h| (h.name.clone(), target(inv, h, overrides)))
            .collect();
        let sessions = targets
            .keys()
            .map(|k| (k.clone(), Session::default()))
            .collect();
        let (tx, rx) = channel();
        Self {
            rt,
            targets,
            sessions,
            sudo: inv.ssh.sudo,
            timeout: DEFAULT_TIMEOUT,
            audit,
            tx,
            rx,
            next: 0,
            cluster: ClusterState::new(
                SourceKind::Live,
                inv.endpoint.to_string(),
                Timestamp::now(),
            ),
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The cluster as the live sources see it, for the engine's waits.
    pub fn cluster_mut(&mut self) -> &mut ClusterState {
        &mut self.cluster
    }
}

impl Executor for SshExecutor {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn start(&mut self, host: &str, command: &str) -> RunId {
        let id = self.next;
        self.next += 1;
        let tx = self.tx.clone();
        let (Some(target), Some(session)) = (self.targets.get(host), self.sessions.get(host))
        else {
            let _ = tx.send(RunEvent::Line(
                id,
                format!("hatui: {host} is not in the inventory"),
            ));
            let _ = tx.send(RunEvent::Exited(id, 1));
            return id;
        };
        let job = Job {
            id,
            host: host.to_string(),
            target: target.clone(),
            session: Arc::clone(session),
            command: command.to_string(),
            sudo: self.sudo,
            timeout: self.timeout,
            audit: self.audit.clone(),
            tx,
        };
        self.rt.spawn(job.run());
        id
    }

    fn wait(&mut self, limit: Duration) -> Vec<RunEvent> {
        let mut out: Vec<RunEvent> = self.rx.recv_timeout(limit).into_iter().collect();
        out.extend(self.rx.try_iter());
        self.cluster.now = Timestamp::now();
        out
    }

    fn cluster(&self) -> &ClusterState {
        &self.cluster
    }
}

struct Job {
    id: RunId,
    host: String,
    target: SshTarget,
    session: Session,
    command: String,
    sudo: bool,
    timeout: Duration,
    audit: Audit,
    tx: Sender<RunEvent>,
}

impl Job {
    async fn run(self) {
        let started = Instant::now();
        let say = |line: String| {
            let _ = self.tx.send(RunEvent::Line(self.id, line));
        };
        let code = match tokio::time::timeout(self.timeout, self.exec(&say)).await {
            Ok(Ok(code)) => code,
            Ok(Err(e)) => {
                say(format!("hatui: {e}"));
                1
            }
            Err(_) => {
                say(format!(
                    "hatui: no answer from {} within {} s; the command may still run there",
                    self.host,
                    self.timeout.as_secs()
                ));
                TIMED_OUT
            }
        };
        if let Err(e) = self
            .audit
            .record(&self.host, &self.command, Some(code), started.elapsed())
        {
            say(format!("hatui: {e}"));
        }
        let _ = self.tx.send(RunEvent::Exited(self.id, code));
    }

    async fn exec(&self, say: &impl Fn(String)) -> Result<i32, String> {
        let ssh = self
            .session
            .get_or_init(|| async {
                SshHandle::connect(&self.target)
                    .await
                    .map_err(|e| e.to_string())
            })
            .await
            .clone()?;
        let cmd = if self.sudo {
            format!("sudo -n sh -c {}", shell_quote(&self.command))
        } else {
            self.command.clone()
        };
        let (chunks, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let run = ssh.exec_streaming(&cmd, Some(chunks));
        tokio::pin!(run);
        let mut lines = [String::new(), String::new()];
        let mut asked_password = false;
        let result = loop {
            tokio::select! {
                done = &mut run => break done,
                Some((err, data)) = rx.recv() => {
                    let buf = &mut lines[usize::from(err)];
                    buf.push_str(&String::from_utf8_lossy(&data));
                    while let Some(at) = buf.find('\n') {
                        let line: String = buf.drain(..=at).collect();
                        let line = line.trim_end_matches(['\n', '\r']).to_string();
                        asked_password |= err && line.contains("a password is required");
                        say(line);
                    }
                }
            }
        };
        while let Ok((err, data)) = rx.try_recv() {
            lines[usize::from(err)].push_str(&String::from_utf8_lossy(&data));
        }
        for rest in lines.iter().filter(|l| !l.is_empty()) {
            for line in rest.lines() {
                asked_password |= line.contains("a password is required");
                say(line.to_string());
            }
        }
        let out = result.map_err(|e| e.to_string())?;
        if self.sudo && asked_password {
            say(format!(
                "hatui: sudo on {} asks for a password: allow {} passwordless sudo (NOPASSWD) \
                 or log in as root",
                self.host, self.target.user
            ));
            return Ok(1);
        }
        Ok(out.exit.map_or(255, |c| i32::try_from(c).unwrap_or(255)))
    }
}
