//! `hatui lab --real-etcd`: the lab's etcd as real etcd processes on loopback, one member
//! per master (`cp-1`..), with TLS for clients and peers made in process, in a private temp
//! directory. The processes follow the lab's hosts ([`RealEtcd::follow`]): a master whose
//! etcd pod the kubelet stops gets SIGTERM, a master powered off SIGKILL, and a restored one
//! starts its member again on the same data dir. Everything is killed and removed on drop.

mod certs;
mod leftovers;
mod member;
mod setup;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use color_eyre::{Result, eyre::bail};

use crate::etcd::{PollerConfig, poll_once};
use hatui_model::ClusterEvent;

use hatui_lab::{EtcdHost, Lab};
use member::Member;
use setup::TempDir;

pub use leftovers::sweep;
pub use setup::{MISSING_ETCD, executable_on_path, find_etcd};

/// A member that exits on its own is started again no sooner than this.
const RESTART_BACKOFF: Duration = Duration::from_secs(1);

/// The running cluster. Dropping it SIGKILLs every member and removes the directory.
#[derive(Debug)]
pub struct RealEtcd {
    etcd: PathBuf,
    config: PollerConfig,
    /// Dropped before `dir`: the processes die before their files go.
    members: Vec<Member>,
    dir: TempDir,
}

impl RealEtcd {
    /// `n` members on free loopback ports, with `etcd` from `$PATH`; returns once every
    /// member answers and one leads (at most 30 s, then an error with the members' logs).
    pub async fn start(n: usize) -> Result<Self> {
        Self::start_with(&find_etcd()?, n, Duration::from_secs(30)).await
    }

    pub async fn start_with(etcd: &Path, n: usize, within: Duration) -> Result<Self> {
        let mut cluster = Self::spawn(etcd, n)?;
        cluster.wait_ready(within).await?;
        Ok(cluster)
    }

    /// Certificates, ports and processes, without waiting for them to answer.
    fn spawn(etcd: &Path, n: usize) -> Result<Self> {
        let dir = TempDir::new()?;
        let tls = certs::make(&dir.0)?;
        let ports = setup::free_ports(2 * n)?;
        let members: Vec<Member> = (0..n)
            .map(|i| {
                Member::new(
                    format!("cp-{}", i + 1),
                    ports[2 * i],
                    ports[2 * i + 1],
                    &dir.0,
                )
            })
            .collect();
        let endpoints = members.iter().map(|m| m.client_url.clone()).collect();
        let mut cluster = Self {
            etcd: etcd.to_path_buf(),
            config: PollerConfig::new(endpoints, Some(tls)),
            members,
            dir,
        };
        let initial = cluster.initial_cluster();
        for m in &mut cluster.members {
            m.spawn(&cluster.etcd, &cluster.dir.0, &initial, "new")
                .map_err(|e| color_eyre::eyre::eyre!("starting {}: {e}", cluster.etcd.display()))?;
        }
        Ok(cluster)
    }

    async fn wait_ready(&mut self, within: Duration) -> Result<()> {
        let end = Instant::now() + within;
        loop {
            let (status, _) = poll_once(&self.config).await;
            if status.leader.is_some() && status.members.iter().all(|m| m.reachable) {
                return Ok(());
            }
            let exited = self
                .members
                .iter_mut()
                .find_map(|m| Some((m.reap()?, m.name.clone())));
            if let Some((code, name)) = exited {
                bail!(
                    "real etcd {name} exited at start ({code}):\n{}",
                    self.logs()
                );
            }
            if Instant::now() >= end {
                bail!(
                    "the real etcd members did not all answer with a leader within {within:?}:\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn logs(&self) -> String {
        let tails = self
            .members
            .iter()
            .map(|m| format!("--- {} log (end):\n{}", m.name, m.log_tail(1500)));
        tails.collect::<Vec<_>>().join("\n")
    }

    fn initial_cluster(&self) -> String {
        let urls = self
            .members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url));
        urls.collect::<Vec<_>>().join(",")
    }

    /// How hatui's poller reaches the members (the client key stays in memory).
    pub fn poller_config(&self) -> PollerConfig {
        self.config.clone()
    }

    pub fn endpoints(&self) -> &[String] {
        &self.config.endpoints
    }

    /// The private directory (certificates, data dirs, logs); gone after drop.
    pub fn dir(&self) -> &Path {
        &self.dir.0
    }

    /// The process id of member `name` while its process lives.
    pub fn pid(&self, name: &str) -> Option<u32> {
        self.members.iter().find(|m| m.name == name)?.pid()
    }

    /// Brings the processes in line with the lab's hosts; notes what was done, for the
    /// timeline. For [`hatui::runtime::lab_task::run_following`].
    pub fn follow(&mut self, lab: &Lab) -> Vec<ClusterEvent> {
        let notes = self.reconcile(&lab.etcd_hosts());
        notes.into_iter().map(ClusterEvent::Note).collect()
    }

    /// Per member (masters in order): start, SIGTERM or SIGKILL what differs from `want`.
    pub fn reconcile(&mut self, want: &[EtcdHost]) -> Vec<String> {
        let initial = self.initial_cluster();
        let mut notes = Vec::new();
        for (m, &want) in self.members.iter_mut().zip(want) {
            let pid = m.pid().unwrap_or_default();
            if let Some(status) = m.reap() {
                notes.push(format!(
                    "LAB: {}: real etcd (pid {pid}) exited on its own: {status}",
                    m.name
                ));
            }
            let note = match want {
                EtcdHost::Running if m.pid().is_none() => {
                    if m.crashed.is_some_and(|t| t.elapsed() < RESTART_BACKOFF) {
                        continue;
                    }
                    match m.spawn(&self.etcd, &self.dir.0, &initial, "existing") {
                        Ok(pid) => format!("real etcd started again on its data dir (pid {pid})"),
                        Err(e) => format!("real etcd could not be started: {e}"),
                    }
                }
                EtcdHost::Stopped => match m.terminate() {
                    Some(pid) => {
                        format!("real etcd (pid {pid}) sent SIGTERM: it hands leadership over")
                    }
                    None => continue,
                },
                EtcdHost::PoweredOff => match m.kill() {
                    Some(pid) => format!("real etcd (pid {pid}) SIGKILLed with the power"),
                    None => continue,
                },
                EtcdHost::Running => continue,
            };
            notes.push(format!("LAB: {}: {note}", m.name));
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::EtcdHost::{PoweredOff, Running, Stopped};
    use super::*;

    /// Stands in for etcd: runs until signalled, whatever its flags.
    fn fake_etcd(dir: &TempDir) -> PathBuf {
        let bin = dir.0.join("etcd");
        std::fs::write(&bin, "#!/bin/sh\nexec sleep 600\n").unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        bin
    }

    /// Reconciles until `done` holds for the notes so far (the SIGTERMed process exits when
    /// it exits), for at most 20 s.
    fn reconcile_until(
        c: &mut RealEtcd,
        want: &[EtcdHost],
        done: impl Fn(&[String]) -> bool,
    ) -> Vec<String> {
        let end = Instant::now() + Duration::from_secs(20);
        let mut notes = Vec::new();
        while !done(&notes) {
            assert!(Instant::now() < end, "{notes:#?}");
            notes.extend(c.reconcile(want));
            std::thread::sleep(Duration::from_millis(20));
        }
        notes
    }

    #[test]
    fn processes_follow_the_hosts() {
        let bin_dir = TempDir::new().unwrap();
        let mut c = RealEtcd::spawn(&fake_etcd(&bin_dir), 3).unwrap();
        assert!(c.reconcile(&[Running; 3]).is_empty(), "all run already");
        assert!(
            std::fs::read_to_string(c.dir().join(certs::CA))
                .unwrap()
                .contains("BEGIN CERTIFICATE")
        );

        let notes = c.reconcile(&[Running, Stopped, PoweredOff]);
        assert_eq!(notes.len(), 2, "{notes:#?}");
        assert!(notes[0].starts_with("LAB: cp-2: ") && notes[0].contains("SIGTERM"));
        assert!(notes[1].starts_with("LAB: cp-3: ") && notes[1].contains("SIGKILL"));
        assert_eq!(c.pid("cp-3"), None, "killed and reaped at once");
        assert!(
            c.reconcile(&[Running, Stopped, PoweredOff]).is_empty(),
            "signalled once"
        );

        let restarted =
            |n: &[String]| n.iter().filter(|n| n.contains("started again")).count() == 2;
        let notes = reconcile_until(&mut c, &[Running; 3], restarted);
        assert!(
            !notes.iter().any(|n| n.contains("on its own")),
            "{notes:#?}"
        );
        assert!(c.pid("cp-2").is_some() && c.pid("cp-3").is_some());

        // A member that dies by itself is noted and started again after a pause.
        let pid = c.pid("cp-1").unwrap();
        // SAFETY: kill(2) on our own unreaped child.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        let crashed = |n: &[String]| n.iter().any(|n| n.contains("exited on its own"));
        let notes = reconcile_until(&mut c, &[Running; 3], crashed);
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with(&format!("LAB: cp-1: real etcd (pid {pid}) exited")))
        );
        let back = |n: &[String]| {
            n.iter()
                .any(|n| n.starts_with("LAB: cp-1: real etcd started again"))
        };
        reconcile_until(&mut c, &[Running; 3], back);

        let dir = c.dir().to_path_buf();
        drop(c);
        assert!(!dir.exists(), "{} removed", dir.display());
    }
}
