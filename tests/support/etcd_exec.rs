//! The test etcd cluster's members behind kubeadm's etcd pods, for
//! `kubectl exec etcd-<node> -- etcdctl ...` through the tests' API server.

use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;

use super::apiserver::{Exec, ExecOutput};
use super::etcd_cluster::{EtcdCluster, etcdctl_bin};

/// kubeadm's files in the etcd pod, and the test cluster's file for each.
const POD_FILES: [(&str, &str); 7] = [
    ("/etc/kubernetes/pki/etcd/ca.crt", "ca.crt"),
    (
        "/etc/kubernetes/pki/etcd/healthcheck-client.crt",
        "client.crt",
    ),
    (
        "/etc/kubernetes/pki/etcd/healthcheck-client.key",
        "client.key",
    ),
    ("/etc/kubernetes/pki/etcd/server.crt", "server.crt"),
    ("/etc/kubernetes/pki/etcd/server.key", "server.key"),
    // The test members use one certificate for clients and peers.
    ("/etc/kubernetes/pki/etcd/peer.crt", "server.crt"),
    ("/etc/kubernetes/pki/etcd/peer.key", "server.key"),
];

/// etcdctl in a pod of member `url`: kubeadm's paths become the test's, and the pod's own
/// etcd (hostNetwork, so `127.0.0.1:2379`, also etcdctl's default) becomes `url`.
async fn etcdctl(url: &str, files: &[(&str, PathBuf)], args: &[String]) -> ExecOutput {
    let own = url.strip_prefix("https://").unwrap();
    let mut args: Vec<String> = args
        .iter()
        .map(|arg| {
            let mut arg = arg
                .replace("127.0.0.1:2379", own)
                .replace("localhost:2379", own);
            for (in_pod, here) in files {
                arg = arg.replace(in_pod, &here.display().to_string());
            }
            arg
        })
        .collect();
    if !args.iter().any(|a| a.starts_with("--endpoints")) {
        args.insert(0, format!("--endpoints={url}"));
    }
    let out = tokio::process::Command::new(etcdctl_bin())
        .args(&args)
        // Nothing from the test's environment (an ETCDCTL_ENDPOINTS, say) leaks in.
        .env_clear()
        .env("ETCDCTL_API", "3")
        .kill_on_drop(true)
        .output()
        .await
        .expect("run etcdctl");
    let code = out.status.code();
    ExecOutput {
        stdout: out.stdout,
        stderr: out.stderr,
        exit_code: code.unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0)),
    }
}

impl EtcdCluster {
    /// What `pods/exec` runs in kubeadm's etcd pods, for `ApiServer::on_exec`: `pods` names
    /// each etcd pod's member (by index). There `etcdctl` (or the image's
    /// `/usr/local/bin/etcdctl`) is the real one against that member, so a killed member
    /// gives etcdctl's own error and exit code; any other program, or etcdctl in any other
    /// pod, is not found (exit 126).
    pub fn exec_handler(
        &self,
        pods: impl IntoIterator<Item = (String, usize)>,
    ) -> impl Fn(Exec) -> BoxFuture<'static, ExecOutput> + Send + Sync + 'static {
        let urls: HashMap<String, String> = pods
            .into_iter()
            .map(|(pod, i)| (pod, self.members[i].client_url.clone()))
            .collect();
        let files: Vec<(&str, PathBuf)> = POD_FILES
            .iter()
            .map(|(in_pod, here)| (*in_pod, self.dir.join(here)))
            .collect();
        let known = Arc::new((urls, files));
        move |exec: Exec| {
            let known = known.clone();
            Box::pin(async move {
                let (urls, files) = &*known;
                let (program, args) = exec.command.split_first().expect("a command");
                match urls.get(&exec.pod) {
                    Some(url)
                        if matches!(program.as_str(), "etcdctl" | "/usr/local/bin/etcdctl") =>
                    {
                        etcdctl(url, files, args).await
                    }
                    _ => ExecOutput::not_found(program),
                }
            })
        }
    }
}
