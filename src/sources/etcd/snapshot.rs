//! `hatui etcd snapshot`: etcd's maintenance snapshot of one healthy member, streamed to
//! a file here, written atomically and checked before it takes its name.
//!
//! The member: every endpoint is asked for its status; a healthy one answers, names the
//! leader most members name, reports no error and is no learner. A follower is preferred
//! (the leader has the cluster's work to do), the leader taken when no follower is healthy.
//!
//! The file: a temporary file in the target directory (mode 0600: the snapshot holds every
//! Secret of the cluster), fsynced, checked by [`verify_snapshot`], then renamed and the
//! directory fsynced. Whatever goes wrong, the temporary file is removed.
//!
//! The check: etcd appends to the database it streams the SHA-256 of everything before it
//! (as `etcdctl snapshot restore` checks it), and a bbolt database is a whole number of
//! pages; so a snapshot is `N * 512 + 32` bytes whose last 32 are the SHA-256 of the rest,
//! and it starts with bbolt's meta page (magic `0xED0CDAED`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use color_eyre::{
    Result,
    eyre::{WrapErr, bail, eyre},
};
use etcd_client::{Client, ConnectOptions};
use futures::future::join_all;

mod file;

use file::{Progress, TempFile};
pub use file::{human, verify_snapshot};

use super::config::{PollerConfig, Via};
use super::probe::{Prober, StatusReport};

/// How long a member has to answer its status, and to connect.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);
/// A stream that sends nothing for this long is given up.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// A snapshot written, as `hatui etcd snapshot` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Taken {
    pub path: PathBuf,
    pub bytes: u64,
    /// The member's revision when the snapshot started streaming (its response header).
    pub revision: i64,
    /// The member's name (its endpoint when the member list could not be read).
    pub member: String,
    /// The member's client URL (an SSH tunnel's member, not its local end).
    pub endpoint: String,
    /// Whether the member led when asked.
    #[serde(skip)]
    pub leader: bool,
    /// SHA-256 of the whole file, as `sha256sum` prints it.
    pub sha256: String,
}

/// What [`verify_snapshot`] found in a sound snapshot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verified {
    pub bytes: u64,
    /// SHA-256 of the whole file, as `sha256sum` prints it.
    pub sha256: String,
}

/// Where the snapshot goes: `--to FILE`, or a file named after the cluster in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    File(PathBuf),
    Dir(PathBuf),
}

impl Destination {
    /// `--to` as given (`None`: the current directory). An existing directory, or a path
    /// ending in `/`, is a directory (which must exist); anything else is the file, whose
    /// directory must exist. An existing file is replaced, once the new one is verified.
    pub fn parse(to: Option<&Path>) -> Result<Self> {
        let Some(to) = to else {
            return Ok(Self::Dir(PathBuf::from(".")));
        };
        if to.as_os_str().is_empty() {
            bail!("--to: give a file or a directory");
        }
        if to.is_dir() {
            return Ok(Self::Dir(to.to_path_buf()));
        }
        if to.as_os_str().to_string_lossy().ends_with('/') {
            bail!(
                "--to {}: no such directory: create it first (mkdir -p {})",
                to.display(),
                to.display()
            );
        }
        let parent = match to.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if !parent.is_dir() {
            bail!(
                "--to {}: no such directory {}: create it first, or name another file",
                to.display(),
                parent.display()
            );
        }
        Ok(Self::File(to.to_path_buf()))
    }

    /// The file's path; `label` names the cluster (or its endpoint) in a default name.
    pub fn path(&self, label: &str, now: jiff::Timestamp) -> PathBuf {
        match self {
            Self::File(p) => p.clone(),
            Self::Dir(d) => d.join(default_name(label, now)),
        }
    }
}

/// `etcd-snapshot-<label>-<UTC time>.db`, the label kept to file-name characters.
pub fn default_name(label: &str, now: jiff::Timestamp) -> String {
    let label: String = label
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let label = label.trim_matches('-');
    let label = if label.is_empty() { "etcd" } else { label };
    let time = now.strftime("%Y%m%dT%H%M%SZ");
    format!("etcd-snapshot-{label}-{time}.db")
}

/// One member picked to stream from.
#[derive(Debug, Clone)]
pub struct Chosen {
    /// Where to dial it (a URL, or an SSH tunnel's local end).
    pub dial: String,
    /// Its own client URL.
    pub endpoint: String,
    pub name: String,
    pub leader: bool,
}

/// Asks every endpoint for its status and picks a healthy member, a follower first.
pub async fn choose_member(config: &PollerConfig) -> Result<Chosen> {
    if !matches!(config.via, Via::Grpc) {
        bail!(
            "a snapshot streams from etcd's own API, and the only way in found is etcdctl in the \
             etcd pods (kube exec): pass --etcd-endpoints with --etcd-cacert, --etcd-cert and \
             --etcd-key, or --etcd-ssh, or --inventory"
        );
    }
    if config.endpoints.is_empty() {
        bail!("no etcd endpoint to ask: pass --etcd-endpoints, --etcd-ssh or --inventory");
    }
    let asks = config.endpoints.iter().map(|url| async move {
        let mut p = Prober::new(url.clone(), config.tls.clone(), ASK_TIMEOUT);
        let status = p.status().await;
        (p, status)
    });
    let mut answers: Vec<(Prober, Result<StatusReport, String>)> = join_all(asks).await;
    let member_url = |i: usize| {
        config
            .member_urls
            .get(i)
            .cloned()
            .unwrap_or_else(|| config.endpoints[i].clone())
    };
    let leader = majority_leader(answers.iter().filter_map(|(_, s)| s.as_ref().ok()));
    let healthy = |s: &StatusReport| {
        leader.is_some_and(|l| s.leader == l) && s.errors.is_empty() && !s.is_learner
    };
    let pick = answers
        .iter()
        .position(|(_, s)| {
            s.as_ref()
                .is_ok_and(|s| healthy(s) && s.member_id != s.leader)
        })
        .or_else(|| {
            answers
                .iter()
                .position(|(_, s)| s.as_ref().is_ok_and(healthy))
        });
    let Some(i) = pick else {
        let why: Vec<String> = answers
            .iter()
            .enumerate()
            .map(|(i, (_, s))| {
                let what = match s {
                    Err(e) => e.clone(),
                    Ok(s) if s.is_learner => "a learner".into(),
                    Ok(s) if !s.errors.is_empty() => s.errors.join("; "),
                    Ok(_) => "knows no leader the others agree on".into(),
                };
                format!("{}: {what}", member_url(i))
            })
            .collect();
        bail!(
            "no healthy etcd member to take a snapshot from ({}): check the endpoints and \
             certificates, or wait for the cluster to elect a leader",
            why.join("; ")
        );
    };
    let Ok(status) = answers[i].1.clone() else {
        unreachable!("picked an answer");
    };
    let name = match answers[i].0.list().await {
        Ok(list) => list
            .members
            .iter()
            .find(|m| m.id == status.member_id)
            .map(|m| m.name.clone())
            .filter(|n| !n.is_empty()),
        Err(_) => None,
    };
    let endpoint = member_url(i);
    Ok(Chosen {
        dial: config.endpoints[i].clone(),
        name: name.unwrap_or_else(|| endpoint.clone()),
        endpoint,
        leader: status.member_id == status.leader,
    })
}

/// The leader most answering members name (0, no leader, never counts).
fn majority_leader<'a>(answers: impl Iterator<Item = &'a StatusReport>) -> Option<u64> {
    let mut votes: Vec<(u64, usize)> = Vec::new();
    for s in answers.filter(|s| s.leader != 0) {
        match votes.iter_mut().find(|(l, _)| *l == s.leader) {
            Some((_, n)) => *n += 1,
            None => votes.push((s.leader, 1)),
        }
    }
    votes.into_iter().max_by_key(|(_, n)| *n).map(|(l, _)| l)
}

/// Streams the snapshot of `member` to `path`, atomically, and checks it. `progress`:
/// a line on stderr while it streams (give it only when stderr is a terminal).
pub async fn take_snapshot(
    config: &PollerConfig,
    member: &Chosen,
    path: &Path,
    progress: bool,
) -> Result<Taken> {
    let mut opts = ConnectOptions::new()
        .with_connect_timeout(ASK_TIMEOUT)
        .with_keep_alive(Duration::from_secs(5), IDLE_TIMEOUT);
    if let Some(tls) = &config.tls {
        opts = opts.with_tls(tls.options());
    }
    let who = format!("member {} ({})", member.name, member.endpoint);
    let mut client = Client::connect([member.dial.as_str()], Some(opts))
        .await
        .wrap_err_with(|| format!("cannot connect to etcd {who}"))?;
    let mut stream = tokio::time::timeout(IDLE_TIMEOUT, client.snapshot())
        .await
        .map_err(|_| eyre!("etcd {who} did not start the snapshot within {IDLE_TIMEOUT:?}"))?
        .wrap_err_with(|| format!("etcd {who} refused the snapshot"))?;

    let mut temp = TempFile::create(path)?;
    let mut written: u64 = 0;
    let mut revision = None;
    let mut bar = Progress::new(progress && std::io::stderr().is_terminal());
    loop {
        let next = tokio::time::timeout(IDLE_TIMEOUT, stream.message())
            .await
            .map_err(|_| {
                eyre!("etcd {who} sent nothing for {IDLE_TIMEOUT:?} after {written} bytes")
            })?
            .wrap_err_with(|| format!("the snapshot stream from etcd {who} broke"))?;
        let Some(chunk) = next else { break };
        if revision.is_none() {
            revision = chunk.header().map(|h| h.revision());
        }
        temp.write(chunk.blob())?;
        written += chunk.blob().len() as u64;
        bar.show(&member.name, written, chunk.remaining_bytes());
    }
    drop(bar);
    let revision = match revision {
        Some(r) => r,
        None => client
            .status()
            .await
            .ok()
            .and_then(|s| s.header().map(|h| h.revision()))
            .unwrap_or(0),
    };
    temp.sync()?;
    let verified = verify_snapshot(&temp.path).wrap_err_with(|| {
        format!(
            "the snapshot from etcd {who} is damaged; nothing was written to {}",
            path.display()
        )
    })?;
    temp.persist(path)?;
    Ok(Taken {
        path: path.to_path_buf(),
        bytes: verified.bytes,
        revision,
        member: member.name.clone(),
        endpoint: member.endpoint.clone(),
        leader: member.leader,
        sha256: verified.sha256,
    })
}

/// A snapshot arriving some other way than etcd's API (the file `etcdctl snapshot save`
/// left on a master, read over SSH): written beside `path` as it comes (mode 0600), then
/// [`Incoming::finish`] fsyncs, checks and renames it, as [`take_snapshot`] does.
pub struct Incoming {
    temp: TempFile,
    path: PathBuf,
}

impl Incoming {
    pub fn create(path: &Path) -> Result<Self> {
        Ok(Self {
            temp: TempFile::create(path)?,
            path: path.to_path_buf(),
        })
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.temp.write(bytes)
    }

    /// Checked and in place; on any error nothing is left at the path.
    pub fn finish(mut self) -> Result<Verified> {
        self.temp.sync()?;
        let verified = verify_snapshot(&self.temp.path)
            .wrap_err_with(|| format!("nothing was written to {}", self.path.display()))?;
        self.temp.persist(&self.path)?;
        Ok(verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_carry_the_cluster_and_utc_time() {
        let now: jiff::Timestamp = "2026-12-07T18:30:05Z".parse().unwrap();
        assert_eq!(
            default_name("https://10.0.0.11:2379", now),
            "etcd-snapshot-10.0.0.11-2379-20261207T183005Z.db"
        );
        assert_eq!(
            default_name("prod eu/1", now),
            "etcd-snapshot-prod-eu-1-20261207T183005Z.db"
        );
        assert_eq!(
            default_name("", now),
            "etcd-snapshot-etcd-20261207T183005Z.db"
        );
    }

    #[test]
    fn destinations_are_checked_before_connecting() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(
            Destination::parse(None).unwrap(),
            Destination::Dir(".".into())
        );
        assert_eq!(
            Destination::parse(Some(d)).unwrap(),
            Destination::Dir(d.to_path_buf())
        );
        let file = d.join("x.db");
        assert_eq!(
            Destination::parse(Some(&file)).unwrap(),
            Destination::File(file.clone())
        );
        let e = Destination::parse(Some(&d.join("nope/x.db"))).unwrap_err();
        assert!(e.to_string().contains("no such directory"), "{e}");
        let e = Destination::parse(Some(Path::new("/nonexistent-hatui/"))).unwrap_err();
        assert!(e.to_string().contains("mkdir -p"), "{e}");
    }

    #[test]
    fn the_majority_names_the_leader() {
        let s = |leader| StatusReport {
            member_id: 1,
            leader,
            raft_term: 2,
            raft_index: 3,
            applied_index: 3,
            db_size: 0,
            db_size_in_use: 0,
            db_quota: 0,
            version: "3.5.0".into(),
            errors: vec![],
            is_learner: false,
            rtt: None,
        };
        let all = [s(7), s(0), s(7), s(9)];
        assert_eq!(majority_leader(all.iter()), Some(7));
        assert_eq!(majority_leader([s(0)].iter()), None);
    }
}
