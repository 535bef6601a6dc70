//! The executor for real hosts: each command runs over the host's SSH session (one per
//! host, opened on first use and reused), as root through `sudo -n` when the inventory says
//! so (a sudo that wants a password is reported, never waited on), with a timeout, its
//! output streamed line by line as it arrives, and every run in the audit log with its
//! secrets hidden. The engine is synchronous: commands run as tasks on a tokio runtime and
//! their lines come back through a channel.
//!
//! The cluster the engine waits on is looked at over the same sessions (`look.rs`): after
//! commands ended, when the engine asks ([`Executor::refresh`]), and every
//! [`look::EVERY`] while it waits with nothing running.

mod ask;
mod fetch;
mod job;
mod look;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use jiff::Timestamp;
use tokio::runtime::Handle;
use tokio::sync::Mutex;

use super::lab::OnEvents;
use super::{Executor, RunEvent, RunId};
pub use ask::{HostKeyDesk, HostKeyQuestion};
use hatui_fleet::audit::Audit;
use hatui_fleet::inventory::Inventory;
use hatui_fleet::root::{Ended, Root};
use hatui_fleet::ssh::{ExecOutput, SshError, SshHandle, SshTarget};
use hatui_fleet::{SshOverrides, target};
use hatui_model::{ClusterState, SourceKind};
use job::Job;
use look::Look;

/// A command that says nothing for this long has failed (a join takes a minute or two).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// Reading a small file (admin.conf) over an open session.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// `timeout(1)`'s exit code, for a command hatui gave up on.
pub const TIMED_OUT: i32 = 124;

/// The host's login once tried: a failed one is kept (every command and look would
/// otherwise wait on a host that is down) until the operator retries a step.
type Session = Arc<Mutex<Option<Result<SshHandle, String>>>>;

/// One inventory host: how to reach it, and its session once opened.
#[derive(Clone)]
struct Host {
    target: SshTarget,
    session: Session,
    /// Where an unknown host key is asked about (the cockpit); `None`: refused.
    ask: Option<HostKeyDesk>,
}

impl Host {
    async fn session(&self) -> Result<SshHandle, String> {
        let mut session = self.session.lock().await;
        if let Some(tried) = &*session {
            return tried.clone();
        }
        let tried = self.connect().await;
        *session = Some(tried.clone());
        tried
    }

    /// Logs in; an unknown key (of the jump host, then of the host) is asked about and,
    /// accepted, recorded by the next login, which accepts exactly that key.
    async fn connect(&self) -> Result<SshHandle, String> {
        let mut target = self.target.clone();
        loop {
            let e = match SshHandle::connect(&target).await {
                Ok(ssh) => return Ok(ssh),
                Err(e) => e,
            };
            let (
                Some(desk),
                SshError::UnknownHost {
                    target: who,
                    offered,
                    ..
                },
            ) = (&self.ask, &e)
            else {
                return Err(e.to_string());
            };
            let (kind, fingerprint) = offered.split_once(' ').unwrap_or(("", offered));
            let again = target.accept_key.as_deref() == Some(fingerprint);
            if again || !desk.ask(who, kind, fingerprint).await {
                return Err(e.to_string());
            }
            target.accept_key = Some(fingerprint.to_string());
        }
    }
}

/// What every run on the hosts shares.
#[derive(Clone)]
struct Remote {
    hosts: Arc<HashMap<String, Host>>,
    root: Root,
}

impl Remote {
    /// Runs `command` as root on `host` to its end, within `limit` (its login included),
    /// audited: what it gave back, sudo's complaint included.
    async fn capture(
        &self,
        host: &str,
        command: &str,
        limit: Duration,
    ) -> Result<ExecOutput, String> {
        let session = async {
            let h = self
                .hosts
                .get(host)
                .ok_or_else(|| format!("{host} is not in the inventory"))?;
            h.session().await
        };
        let ran = self.root.run(host, session, command, limit, None).await;
        // A log that cannot be written is said by the plan's own commands.
        match ran.ended {
            Ended::Exited(out) | Ended::SudoPassword(out) => Ok(out),
            Ended::Failed(e) => Err(e),
            Ended::TimedOut(limit) => Err(format!(
                "no answer from {host} within {} s",
                limit.as_secs()
            )),
        }
    }
}

pub struct SshExecutor {
    rt: Handle,
    remote: Remote,
    timeout: Duration,
    tx: Sender<RunEvent>,
    rx: Receiver<RunEvent>,
    next: RunId,
    /// Started and not exited yet.
    running: usize,
    look: Look,
    cluster: ClusterState,
    on_events: Option<OnEvents>,
    /// Where admin.conf goes once init is done, in the cockpit's wizard.
    pub admin_conf: Option<AdminConf>,
    /// Where a replacement's etcd snapshot is copied to (a directory on the bastion).
    snapshots: Option<std::path::PathBuf>,
    cluster_name: String,
}

/// admin.conf to the bastion, once: the inventory (its file, for the line that opens the
/// cockpit on it) and the home it goes under (`None`: `$HOME`).
#[derive(Debug, Clone)]
pub struct AdminConf {
    pub inventory: Inventory,
    pub file: std::path::PathBuf,
    pub home: Option<std::path::PathBuf>,
    pub fetched: bool,
}

impl SshExecutor {
    /// For the inventory's hosts; commands run as tasks on `rt`.
    pub fn new(inv: &Inventory, overrides: &SshOverrides, audit: Audit, rt: Handle) -> Self {
        // The old machines of replaced masters (`NAME@ADDRESS`) too: their reset.
        let previous: Vec<_> = inv.previous_hosts().collect();
        let hosts = inv
            .reachable()
            .chain(&previous)
            .map(|h| {
                let host = Host {
                    target: target(inv, h, overrides),
                    session: Session::default(),
                    ask: None,
                };
                (h.name.clone(), host)
            })
            .collect();
        let (tx, rx) = channel();
        Self {
            rt,
            remote: Remote {
                hosts: Arc::new(hosts),
                root: Root {
                    sudo: inv.ssh.sudo,
                    audit,
                },
            },
            timeout: DEFAULT_TIMEOUT,
            tx,
            rx,
            next: 0,
            running: 0,
            look: Look::new(inv),
            cluster: ClusterState::new(
                SourceKind::Live,
                inv.endpoint.to_string(),
                Timestamp::now(),
            ),
            on_events: None,
            admin_conf: None,
            snapshots: None,
            cluster_name: inv.name.clone(),
        }
    }

    /// A replacement's `snapshot` step also copies its file to `dir` on the bastion.
    pub fn snapshots_to(mut self, dir: std::path::PathBuf) -> Self {
        self.snapshots = Some(dir);
        self
    }

    /// Day 2: the cluster is looked at through `first` (a master that stays), the
    /// `leaving` masters left out of the looks (see [`Look::through`]).
    pub fn look_through(&mut self, first: &str, leaving: &[String]) {
        self.look.through(first, leaving);
    }

    /// Unknown host keys are asked about at `desk` rather than refused.
    pub fn ask_host_keys(mut self, desk: HostKeyDesk) -> Self {
        let hosts = self.remote.hosts.iter().map(|(name, h)| {
            let host = Host {
                ask: Some(desk.clone()),
                ..h.clone()
            };
            (name.clone(), host)
        });
        self.remote.hosts = Arc::new(hosts.collect());
        self
    }

    /// Streams every look's events to `f` as they are applied (the cockpit's panes).
    pub fn on_events(&mut self, f: OnEvents) {
        self.on_events = Some(f);
    }

    /// Forgets the logins that failed: the next command logs in again (a step retried after
    /// the host, its key or the network was fixed). A login under way is left alone.
    pub fn forget_failed_logins(&mut self) {
        for host in self.remote.hosts.values() {
            if let Ok(mut s) = host.session.try_lock()
                && matches!(&*s, Some(Err(_)))
            {
                *s = None;
            }
        }
    }

    /// Looks at the cluster when a look is due (the cockpit, while no step runs).
    pub fn look_when_due(&mut self) {
        if self.look.due_in().is_zero() {
            self.look_now();
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `path` on `host`, read as root over its session: audited as `cat PATH`, its content
    /// neither logged nor streamed (admin.conf holds a client key).
    pub fn read_file(&self, host: &str, path: &str) -> Result<String, String> {
        let command = format!("cat {path}");
        let out = self
            .rt
            .block_on(self.remote.capture(host, &command, READ_TIMEOUT))?;
        if out.exit != Some(0) {
            let why = String::from_utf8_lossy(&out.stderr);
            let why = why.lines().next().unwrap_or("no reason given").to_string();
            return Err(format!("`{command}` on {host} failed: {why}"));
        }
        String::from_utf8(out.stdout).map_err(|_| format!("{path} on {host} is not text"))
    }

    /// Looks at the cluster now, over the masters' sessions.
    fn look_now(&mut self) {
        let events = self.rt.block_on(self.look.look(&self.remote));
        if let Some(f) = self.on_events.as_mut() {
            f(&events);
        }
        for ev in events {
            self.cluster.apply(ev);
        }
        self.cluster.now = Timestamp::now();
    }
}

impl Executor for SshExecutor {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn start(&mut self, host: &str, command: &str) -> RunId {
        let id = self.next;
        self.next += 1;
        self.running += 1;
        let tx = self.tx.clone();
        let Some(h) = self.remote.hosts.get(host) else {
            let _ = tx.send(RunEvent::Line(
                id,
                format!("hatui: {host} is not in the inventory"),
            ));
            let _ = tx.send(RunEvent::Exited(id, 1));
            return id;
        };
        let to_bastion = self.snapshots.as_ref().and_then(|dir| {
            let file = crate::wizard::plan::day2_snapshot_saved(command)?;
            Some(fetch::Fetch::new(file, dir, &self.cluster_name))
        });
        let job = Job {
            id,
            name: host.to_string(),
            host: h.clone(),
            command: command.to_string(),
            remote: self.remote.clone(),
            timeout: self.timeout,
            tx,
            to_bastion,
        };
        self.rt.spawn(job.run());
        id
    }

    fn wait(&mut self, limit: Duration) -> Vec<RunEvent> {
        if self.running == 0 {
            // Nothing runs: the engine waits on the cluster. Look again when due.
            let due = self.look.due_in();
            std::thread::sleep(due.min(limit));
            if due <= limit {
                self.look_now();
            }
            return Vec::new();
        }
        let mut out: Vec<RunEvent> = self.rx.recv_timeout(limit).into_iter().collect();
        out.extend(self.rx.try_iter());
        let exited = out.iter().filter(|e| matches!(e, RunEvent::Exited(..)));
        let exited = exited.count();
        if exited > 0 {
            self.running = self.running.saturating_sub(exited);
            self.look.commands_ended();
        }
        self.cluster.now = Timestamp::now();
        out
    }

    fn cluster(&self) -> &ClusterState {
        &self.cluster
    }

    fn refresh(&mut self) {
        if self.look.stale() {
            self.look_now();
        }
    }
}
