//! A replacement's etcd snapshot to the bastion: once `etcdctl snapshot save FILE` has
//! succeeded on the healthy master, `cat FILE` runs there as root (audited like any
//! command) and its bytes are written as they arrive to a temporary file on the bastion,
//! then fsynced, checked (bbolt's magic, the trailing SHA-256 etcd appends) and renamed,
//! mode 0600, by the etcd snapshot writer `hatui etcd snapshot` uses.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Host, Remote};
use hatui_fleet::root::Ended;
use hatui_sources::etcd::snapshot::{Incoming, default_name, human};

/// Reading the snapshot: a large database over a slow link.
const READ_TIMEOUT: Duration = Duration::from_secs(1800);

pub(crate) struct Fetch {
    /// On the master.
    file: String,
    /// On the bastion.
    to: PathBuf,
}

impl Fetch {
    /// `file` (on the master) to `dir`, named after the cluster, the file and the time.
    pub fn new(file: &str, dir: &Path, cluster: &str) -> Self {
        let stem = Path::new(file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let label = format!("{cluster}-{}", stem.trim_start_matches("hatui-"));
        Self {
            file: file.to_string(),
            to: dir.join(default_name(&label, jiff::Timestamp::now())),
        }
    }

    /// Copies it; `Ok`: the line that says where it is.
    pub async fn run(&self, remote: &Remote, name: &str, host: &Host) -> Result<String, String> {
        if let Some(dir) = self.to.parent() {
            make_private_dir(dir)?;
        }
        let mut file = Incoming::create(&self.to).map_err(|e| format!("{e:#}"))?;
        let (chunks, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let command = format!("cat {}", self.file);
        let session = host.session();
        let run = remote
            .root
            .run(name, session, &command, READ_TIMEOUT, Some(chunks));
        tokio::pin!(run);
        let mut broken = None;
        let mut stderr = Vec::new();
        let ran = loop {
            tokio::select! {
                done = &mut run => break done,
                Some((err, data)) = rx.recv() => {
                    if err {
                        stderr.extend_from_slice(&data);
                    } else if broken.is_none() && let Err(e) = file.write(&data) {
                        broken = Some(format!("{e:#}"));
                    }
                }
            }
        };
        while let Ok((err, data)) = rx.try_recv() {
            if err {
                stderr.extend_from_slice(&data);
            } else if broken.is_none()
                && let Err(e) = file.write(&data)
            {
                broken = Some(format!("{e:#}"));
            }
        }
        let failed =
            |why: String| format!("`{command}` on {name}: {why}; no snapshot on the bastion");
        match ran.ended {
            Ended::Exited(out) if out.exit == Some(0) => {}
            Ended::Exited(out) | Ended::SudoPassword(out) => {
                let why = String::from_utf8_lossy(&out.stderr);
                let why = why.lines().last().unwrap_or("no reason given").to_string();
                return Err(failed(why));
            }
            Ended::Failed(e) => return Err(failed(e)),
            Ended::TimedOut(limit) => {
                return Err(failed(format!("not read within {} s", limit.as_secs())));
            }
        }
        if let Some(e) = broken {
            return Err(e);
        }
        let checked = file
            .finish()
            .map_err(|e| format!("the copy of {} from {name} is not sound: {e:#}", self.file))?;
        Ok(format!(
            "hatui: snapshot on the bastion: {} ({}, sha256 {}, mode 0600), checked; \
             restore with etcdutl snapshot restore",
            self.to.display(),
            human(checked.bytes),
            checked.sha256
        ))
    }
}

/// The snapshots' directory, 0700: a snapshot holds every Secret of the cluster.
fn make_private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))
}
