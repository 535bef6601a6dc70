//! One real etcd member: its process, started again on the same data dir after a stop.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Instant;

use super::certs::{CA, SERVER_CERT, SERVER_KEY};

#[derive(Debug)]
pub(super) struct Member {
    pub name: String,
    pub client_url: String,
    pub peer_url: String,
    data_dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    /// SIGTERM sent: etcd is handing leadership over and will exit.
    terminating: bool,
    /// When the last process exited on its own (a crashing member is not restarted in a
    /// loop).
    pub crashed: Option<Instant>,
}

impl Member {
    pub(super) fn new(name: String, client_port: u16, peer_port: u16, dir: &Path) -> Self {
        Self {
            data_dir: dir.join(format!("{name}.etcd")),
            log: dir.join(format!("{name}.log")),
            client_url: format!("https://127.0.0.1:{client_port}"),
            peer_url: format!("https://127.0.0.1:{peer_port}"),
            name,
            child: None,
            terminating: false,
            crashed: None,
        }
    }

    pub(super) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Starts the process: `new` for the first start, `existing` when it rejoins with its
    /// data dir. Its own process group keeps the terminal's signals away from it; hatui
    /// stops it itself.
    pub(super) fn spawn(
        &mut self,
        etcd: &Path,
        dir: &Path,
        initial_cluster: &str,
        state: &str,
    ) -> std::io::Result<u32> {
        let args = self.args(dir, initial_cluster, state);
        // What etcd says before its logger is set up (a bad flag) lands in the log too.
        let stderr = File::options().create(true).append(true).open(&self.log)?;
        let child = Command::new(etcd)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .process_group(0)
            .spawn()?;
        let pid = child.id();
        self.child = Some(child);
        self.terminating = false;
        Ok(pid)
    }

    /// The command line. `--pre-vote`: kubeadm's etcd (3.5+) pre-votes by default, Debian's
    /// 3.4 does not; with it, the real members behave as the lab's Raft models them (a
    /// member that cannot win does not bump the term).
    fn args(&self, dir: &Path, initial_cluster: &str, state: &str) -> Vec<String> {
        let file = |f: &str| dir.join(f).display().to_string();
        let args = [
            ("name", self.name.clone()),
            ("data-dir", self.data_dir.display().to_string()),
            ("listen-client-urls", self.client_url.clone()),
            ("advertise-client-urls", self.client_url.clone()),
            ("listen-peer-urls", self.peer_url.clone()),
            ("initial-advertise-peer-urls", self.peer_url.clone()),
            ("initial-cluster", initial_cluster.to_string()),
            ("initial-cluster-state", state.to_string()),
            ("initial-cluster-token", "hatui-lab".to_string()),
            ("cert-file", file(SERVER_CERT)),
            ("key-file", file(SERVER_KEY)),
            ("trusted-ca-file", file(CA)),
            ("client-cert-auth", "true".to_string()),
            ("peer-cert-file", file(SERVER_CERT)),
            ("peer-key-file", file(SERVER_KEY)),
            ("peer-trusted-ca-file", file(CA)),
            ("peer-client-cert-auth", "true".to_string()),
            ("pre-vote", "true".to_string()),
            ("logger", "zap".to_string()),
            ("log-outputs", self.log.display().to_string()),
        ];
        args.iter().map(|(k, v)| format!("--{k}={v}")).collect()
    }

    /// SIGTERM, as the kubelet stops a container: etcd transfers leadership first.
    pub(super) fn terminate(&mut self) -> Option<u32> {
        let pid = self.pid()?;
        if self.terminating {
            return None;
        }
        let pid_t = libc::pid_t::try_from(pid).ok()?;
        // SAFETY: kill(2) with a pid we spawned and have not reaped (the child is still
        // held, so the pid cannot have been reused); no memory is involved.
        unsafe { libc::kill(pid_t, libc::SIGTERM) };
        self.terminating = true;
        Some(pid)
    }

    /// SIGKILL, as a power loss: nothing is handed over. Waits for the process.
    pub(super) fn kill(&mut self) -> Option<u32> {
        let mut child = self.child.take()?;
        let _ = child.kill();
        let _ = child.wait();
        self.terminating = false;
        Some(child.id())
    }

    /// The exit status if the process has exited (it is then forgotten) without being
    /// asked to.
    pub(super) fn reap(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.child = None;
        if std::mem::take(&mut self.terminating) {
            return None;
        }
        self.crashed = Some(Instant::now());
        Some(status)
    }

    /// The end of its log, for an error message.
    pub(super) fn log_tail(&self, max: u64) -> String {
        let Ok(mut f) = File::open(&self.log) else {
            return format!("(no log at {})", self.log.display());
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(max)));
        let mut bytes = Vec::new();
        let _ = f.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_run_with_pre_vote_as_the_lab_models_them() {
        let dir = Path::new("/tmp/hatui-lab");
        let m = Member::new("cp-2".into(), 22379, 22380, dir);
        let args = m.args(dir, "cp-2=https://127.0.0.1:22380", "new");
        assert!(args.contains(&"--pre-vote=true".to_string()), "{args:?}");
        assert!(args.contains(&"--initial-cluster-state=new".to_string()));
        assert!(args.contains(&"--listen-client-urls=https://127.0.0.1:22379".to_string()));
    }
}
