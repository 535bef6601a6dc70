//! What kubeadm does on a replacement master, against the test etcd cluster: a member
//! added as a learner, then a new etcd process that joins the existing cluster
//! (`--initial-cluster-state=existing`), SIGKILLed on drop (also when a test panics); and
//! `kubectl` as a test double that runs `kubectl exec etcd-<node> -- etcdctl ...` (the
//! plan's command text) with the real etcdctl against that node's member.
//! Uses `super::etcd_cluster` (include both with `#[path]`).

#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::etcd_cluster::{EtcdCluster, etcd_bin, etcdctl_bin};

/// One etcd process started by a test beside the cluster's own members.
pub struct Joined {
    pub name: String,
    pub client_url: String,
    pub peer_url: String,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    child: Child,
}

impl Joined {
    /// Starts member `name` with kubeadm's flags for a joining member: the cluster as
    /// `etcdctl member add` printed it (`ETCD_INITIAL_CLUSTER`), state `existing`, a fresh
    /// data dir in the cluster's directory, the cluster's TLS files.
    pub fn start(
        cluster: &EtcdCluster,
        name: &str,
        client_url: &str,
        peer_url: &str,
        initial_cluster: &str,
    ) -> Self {
        let d = |f: &str| cluster.dir.join(f).display().to_string();
        let data_dir = cluster.dir.join(format!("{name}-joined.etcd"));
        let log = cluster.dir.join(format!("{name}-joined.log"));
        let args = [
            ("name", name.to_string()),
            ("data-dir", data_dir.display().to_string()),
            ("listen-client-urls", client_url.into()),
            ("advertise-client-urls", client_url.into()),
            ("listen-peer-urls", peer_url.into()),
            ("initial-advertise-peer-urls", peer_url.into()),
            ("initial-cluster", initial_cluster.into()),
            ("initial-cluster-state", "existing".into()),
            ("cert-file", d("server.crt")),
            ("key-file", d("server.key")),
            ("trusted-ca-file", d("ca.crt")),
            ("client-cert-auth", "true".into()),
            ("peer-cert-file", d("server.crt")),
            ("peer-key-file", d("server.key")),
            ("peer-trusted-ca-file", d("ca.crt")),
            ("peer-client-cert-auth", "true".into()),
            ("logger", "zap".into()),
            ("log-outputs", log.display().to_string()),
        ];
        let mut etcd = Command::new(etcd_bin());
        etcd.args(args.iter().map(|(k, v)| format!("--{k}={v}")))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = super::reaper::spawn_tied(etcd).expect("start the joining etcd");
        Self {
            name: name.into(),
            client_url: client_url.into(),
            peer_url: peer_url.into(),
            data_dir,
            log,
            child,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The end of its log, for a failing assertion.
    pub fn log_tail(&self) -> String {
        let bytes = std::fs::read(&self.log).unwrap_or_default();
        let start = bytes.len().saturating_sub(3000);
        String::from_utf8_lossy(&bytes[start..]).into_owned()
    }
}

impl Drop for Joined {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory with `kubectl` as a test double for the plan's etcd commands on the
/// masters: `kubectl ... exec etcd-<node> -- etcdctl ARGS` runs the real etcdctl with
/// ARGS, kubeadm's in-pod paths and `https://127.0.0.1:2379` swapped for the test
/// cluster's files and `<node>`'s client URL (members by name, as kubeadm names them).
/// Any other pod is not found, as the API server would say.
pub fn kubectl_double(cluster: &EtcdCluster, dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let pods: String = cluster
        .members
        .iter()
        .map(|m| format!("  {}) ep={} ;;\n", m.name, m.client_url))
        .collect();
    let d = |f: &str| cluster.dir.join(f).display().to_string();
    let script = format!(
        r#"#!/bin/sh
# kubectl ... exec etcd-<node> -- etcdctl ARGS, with etcdctl against <node>'s member.
pod=
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
  case "$1" in etcd-*) pod="${{1#etcd-}}" ;; esac
  shift
done
[ "$#" -gt 0 ] && shift
if [ "$1" != etcdctl ]; then
  echo "kubectl double: only etcdctl runs in the etcd pod, not: $*" >&2
  exit 126
fi
shift
case "$pod" in
{pods}  *) echo "Error from server (NotFound): pods \"etcd-$pod\" not found" >&2; exit 1 ;;
esac
for a; do
  shift
  case "$a" in
    https://127.0.0.1:2379) a="$ep" ;;
    /etc/kubernetes/pki/etcd/ca.crt) a="{ca}" ;;
    /etc/kubernetes/pki/etcd/healthcheck-client.crt) a="{cert}" ;;
    /etc/kubernetes/pki/etcd/healthcheck-client.key) a="{key}" ;;
  esac
  set -- "$@" "$a"
done
ETCDCTL_API=3 exec "{etcdctl}" "$@"
"#,
        ca = d("ca.crt"),
        cert = d("client.crt"),
        key = d("client.key"),
        etcdctl = etcdctl_bin().display(),
    );
    let path = bin.join("kubectl");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}
