//! What kubeadm prints, phase by phase, as the lab's kubeadm prints it. The texts are
//! kubeadm's own: init's phases and success block as captured from 1.32/1.33 (see
//! tests/fixtures/kubeadm/README.md), the success block from
//! `cmd/kubeadm/app/cmd/phases/init/showjoincommand.go` (1.32+ wording), the join
//! messages from `cmd/kubeadm/app/cmd/join.go` (`joinControlPlaneDoneTemp`,
//! `joinWorkerNodeDoneMsg`), the etcd join lines from `app/phases/etcd/local.go`, and the
//! errors from `app/discovery/token` and `app/phases/copycerts`.

pub(super) fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

pub(super) fn init_preflight(version: &str) -> Vec<String> {
    let mut out = vec![format!("[init] Using Kubernetes version: {version}")];
    out.extend(lines(
        "[preflight] Running pre-flight checks\n\
         [preflight] Pulling images required for setting up a Kubernetes cluster\n\
         [preflight] This might take a minute or two, depending on the speed of your internet connection\n\
         [preflight] You can also perform this action beforehand using 'kubeadm config images pull'",
    ));
    out
}

pub(super) fn init_certs(node: &str, ip: &str, endpoint_host: Option<&str>) -> Vec<String> {
    let names = match endpoint_host {
        Some(h) => format!(
            "{node} kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local {h}"
        ),
        None => format!(
            "{node} kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local"
        ),
    };
    lines(&format!(
        "[certs] Using certificateDir folder \"/etc/kubernetes/pki\"\n\
         [certs] Generating \"ca\" certificate and key\n\
         [certs] Generating \"apiserver\" certificate and key\n\
         [certs] apiserver serving cert is signed for DNS names [{names}] and IPs [10.96.0.1 {ip}]\n\
         [certs] Generating \"apiserver-kubelet-client\" certificate and key\n\
         [certs] Generating \"front-proxy-ca\" certificate and key\n\
         [certs] Generating \"front-proxy-client\" certificate and key\n\
         [certs] Generating \"etcd/ca\" certificate and key\n\
         [certs] Generating \"etcd/server\" certificate and key\n\
         [certs] etcd/server serving cert is signed for DNS names [{node} localhost] and IPs [{ip} 127.0.0.1 ::1]\n\
         [certs] Generating \"etcd/peer\" certificate and key\n\
         [certs] etcd/peer serving cert is signed for DNS names [{node} localhost] and IPs [{ip} 127.0.0.1 ::1]\n\
         [certs] Generating \"etcd/healthcheck-client\" certificate and key\n\
         [certs] Generating \"apiserver-etcd-client\" certificate and key\n\
         [certs] Generating \"sa\" key and public key\n\
         [kubeconfig] Using kubeconfig folder \"/etc/kubernetes\"\n\
         [kubeconfig] Writing \"admin.conf\" kubeconfig file\n\
         [kubeconfig] Writing \"super-admin.conf\" kubeconfig file\n\
         [kubeconfig] Writing \"kubelet.conf\" kubeconfig file\n\
         [kubeconfig] Writing \"controller-manager.conf\" kubeconfig file\n\
         [kubeconfig] Writing \"scheduler.conf\" kubeconfig file\n\
         [etcd] Creating static Pod manifest for local etcd in \"/etc/kubernetes/manifests\"\n\
         [control-plane] Using manifest folder \"/etc/kubernetes/manifests\"\n\
         [control-plane] Creating static Pod manifest for \"kube-apiserver\"\n\
         [control-plane] Creating static Pod manifest for \"kube-controller-manager\"\n\
         [control-plane] Creating static Pod manifest for \"kube-scheduler\"\n\
         [kubelet-start] Writing kubelet environment file with flags to file \"/var/lib/kubelet/kubeadm-flags.env\"\n\
         [kubelet-start] Writing kubelet configuration to file \"/var/lib/kubelet/config.yaml\"\n\
         [kubelet-start] Starting the kubelet\n\
         [wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory \"/etc/kubernetes/manifests\"\n\
         [kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. This can take up to 4m0s\n\
         [kubelet-check] The kubelet is healthy after 1.001893407s"
    ))
}

pub(super) fn control_plane_check(ip: &str, api_after: &str) -> Vec<String> {
    lines(&format!(
        "[control-plane-check] Waiting for healthy control plane components. This can take up to 4m0s\n\
         [control-plane-check] Checking kube-apiserver at https://{ip}:6443/livez\n\
         [control-plane-check] Checking kube-controller-manager at https://127.0.0.1:10257/healthz\n\
         [control-plane-check] Checking kube-scheduler at https://127.0.0.1:10259/livez\n\
         [control-plane-check] kube-controller-manager is healthy after 2.950097ms\n\
         [control-plane-check] kube-scheduler is healthy after 6.396945ms\n\
         [control-plane-check] kube-apiserver is healthy after {api_after}"
    ))
}

pub(super) fn upload_config() -> Vec<String> {
    lines(
        "[upload-config] Storing the configuration used in ConfigMap \"kubeadm-config\" in the \"kube-system\" Namespace\n\
         [kubelet] Creating a ConfigMap \"kubelet-config\" in namespace kube-system with the configuration for the kubelets in the cluster",
    )
}

pub(super) fn upload_certs(key: &str) -> Vec<String> {
    vec![
        "[upload-certs] Storing the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace".into(),
        "[upload-certs] Using certificate key:".into(),
        key.into(),
    ]
}

pub(super) fn mark_control_plane(node: &str) -> Vec<String> {
    vec![
        format!(
            "[mark-control-plane] Marking the node {node} as control-plane by adding the labels: [node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]"
        ),
        format!(
            "[mark-control-plane] Marking the node {node} as control-plane by adding the taints [node-role.kubernetes.io/control-plane:NoSchedule]"
        ),
    ]
}

pub(super) fn bootstrap_token(token: &str) -> Vec<String> {
    let mut out = vec![format!("[bootstrap-token] Using token: {token}")];
    out.extend(lines(
        "[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles\n\
         [bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to get nodes\n\
         [bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get long term certificate credentials\n\
         [bootstrap-token] Configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a Node Bootstrap Token\n\
         [bootstrap-token] Configured RBAC rules to allow certificate rotation for all node client certificates in the cluster\n\
         [bootstrap-token] Creating the \"cluster-info\" ConfigMap in the \"kube-public\" namespace\n\
         [kubelet-finalize] Updating \"/etc/kubernetes/kubelet.conf\" to point to a rotatable kubelet client certificate and key\n\
         [addons] Applied essential addon: CoreDNS\n\
         [addons] Applied essential addon: kube-proxy",
    ));
    out
}

/// `showjoincommand.go`: the control-plane join only with an endpoint (and a key).
pub(super) fn init_done(endpoint: &str, token: &str, hash: &str, key: Option<&str>) -> Vec<String> {
    let mut out = lines(
        "\nYour Kubernetes control-plane has initialized successfully!\n\n\
         To start using your cluster, you need to run the following as a regular user:\n\n  \
         mkdir -p $HOME/.kube\n  \
         sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config\n  \
         sudo chown $(id -u):$(id -g) $HOME/.kube/config\n\n\
         Alternatively, if you are the root user, you can run:\n\n  \
         export KUBECONFIG=/etc/kubernetes/admin.conf\n\n\
         You should now deploy a pod network to the cluster.\n\
         Run \"kubectl apply -f [podnetwork].yaml\" with one of the options listed at:\n  \
         https://kubernetes.io/docs/concepts/cluster-administration/addons/\n",
    );
    if let Some(key) = key {
        out.extend(lines(&format!(
            "You can now join any number of control-plane nodes running the following command on each as root:\n\n  \
             kubeadm join {endpoint} --token {token} \\\n\
             \t--discovery-token-ca-cert-hash {hash} \\\n\
             \t--control-plane --certificate-key {key}\n\n\
             Please note that the certificate-key gives access to cluster sensitive data, keep it secret!\n\
             As a safeguard, uploaded-certs will be deleted in two hours; If necessary, you can use\n\
             \"kubeadm init phase upload-certs --upload-certs\" to reload certs afterward.\n"
        )));
    }
    out.extend(lines(&format!(
        "Then you can join any number of worker nodes by running the following on each as root:\n\n\
         kubeadm join {endpoint} --token {token} \\\n\
         \t--discovery-token-ca-cert-hash {hash} "
    )));
    out
}

pub(super) fn join_preflight(control_plane: bool) -> Vec<String> {
    let mut out = lines(
        "[preflight] Running pre-flight checks\n\
         [preflight] Reading configuration from the \"kubeadm-config\" ConfigMap in namespace \"kube-system\"...\n\
         [preflight] Use 'kubeadm init phase upload-config kubeadm --config your-config-file' to re-upload it.",
    );
    if control_plane {
        out.extend(lines(
            "[preflight] Running pre-flight checks before initializing the new control plane instance\n\
             [preflight] Pulling images required for setting up a Kubernetes cluster\n\
             [preflight] This might take a minute or two, depending on the speed of your internet connection\n\
             [preflight] You can also perform this action beforehand using 'kubeadm config images pull'\n\
             [download-certs] Downloading the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace",
        ));
    }
    out
}

pub(super) fn join_certs(node: &str, ip: &str) -> Vec<String> {
    lines(&format!(
        "[download-certs] Saving the certificates to the folder: \"/etc/kubernetes/pki\"\n\
         [certs] Using certificateDir folder \"/etc/kubernetes/pki\"\n\
         [certs] Generating \"etcd/server\" certificate and key\n\
         [certs] etcd/server serving cert is signed for DNS names [{node} localhost] and IPs [{ip} 127.0.0.1 ::1]\n\
         [certs] Generating \"etcd/peer\" certificate and key\n\
         [certs] etcd/peer serving cert is signed for DNS names [{node} localhost] and IPs [{ip} 127.0.0.1 ::1]\n\
         [certs] Generating \"etcd/healthcheck-client\" certificate and key\n\
         [certs] Generating \"apiserver-etcd-client\" certificate and key\n\
         [certs] Generating \"apiserver\" certificate and key\n\
         [certs] Generating \"apiserver-kubelet-client\" certificate and key\n\
         [certs] Generating \"front-proxy-client\" certificate and key\n\
         [certs] Valid certificates and keys now exist in \"/etc/kubernetes/pki\"\n\
         [certs] Using the existing \"sa\" key\n\
         [kubeconfig] Generating kubeconfig files\n\
         [kubeconfig] Using kubeconfig folder \"/etc/kubernetes\"\n\
         [kubeconfig] Writing \"admin.conf\" kubeconfig file\n\
         [kubeconfig] Writing \"controller-manager.conf\" kubeconfig file\n\
         [kubeconfig] Writing \"scheduler.conf\" kubeconfig file\n\
         [control-plane] Using manifest folder \"/etc/kubernetes/manifests\"\n\
         [control-plane] Creating static Pod manifest for \"kube-apiserver\"\n\
         [control-plane] Creating static Pod manifest for \"kube-controller-manager\"\n\
         [control-plane] Creating static Pod manifest for \"kube-scheduler\"\n\
         [check-etcd] Checking that the etcd cluster is healthy"
    ))
}

pub(super) fn kubelet_start() -> Vec<String> {
    lines(
        "[kubelet-start] Writing kubelet configuration to file \"/var/lib/kubelet/config.yaml\"\n\
         [kubelet-start] Writing kubelet environment file with flags to file \"/var/lib/kubelet/kubeadm-flags.env\"\n\
         [kubelet-start] Starting the kubelet\n\
         [kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. This can take up to 4m0s\n\
         [kubelet-check] The kubelet is healthy after 1.005951104s\n\
         [kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap",
    )
}

pub(super) const ETCD_ANNOUNCED: &str =
    "[etcd] Announced new etcd member joining to the existing etcd cluster";
pub(super) const ETCD_MANIFEST: &str = "[etcd] Creating static Pod manifest for \"etcd\"";
pub(super) const ETCD_WAIT: &str =
    "[etcd] Waiting for the new etcd member to join the cluster. This can take up to 40s";

/// `etcdutil.MemberPromote` logs this with klog at `--v=1`; the lab shows it always, so
/// that the promotion can be seen.
pub(super) fn promoting(id: u64) -> String {
    format!("[etcd] Promoting a learner as a voting member: {id:016x}")
}

/// `joinControlPlaneDoneTemp` with the stacked etcd message.
pub(super) fn join_control_plane_done() -> Vec<String> {
    lines(
        "\nThis node has joined the cluster and a new control plane instance was created:\n\n\
         * Certificate signing request was sent to apiserver and approval was received.\n\
         * The Kubelet was informed of the new secure connection details.\n\
         * Control plane label and taint were applied to the new node.\n\
         * The Kubernetes control plane instances scaled up.\n\
         * A new etcd member was added to the local/stacked etcd cluster.\n\n\
         To start administering your cluster from this node, you need to run the following as a regular user:\n\n\
         \tmkdir -p $HOME/.kube\n\
         \tsudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config\n\
         \tsudo chown $(id -u):$(id -g) $HOME/.kube/config\n\n\
         Run 'kubectl get nodes' to see this node join the cluster.\n",
    )
}

/// `joinWorkerNodeDoneMsg`.
pub(super) fn join_worker_done() -> Vec<String> {
    lines(
        "\nThis node has joined the cluster:\n\
         * Certificate signing request was sent to apiserver and a response was received.\n\
         * The Kubelet was informed of the new secure connection details.\n\n\
         Run 'kubectl get nodes' on the control-plane to see this node join the cluster.\n",
    )
}

const STACK_HINT: &str = "To see the stack trace of this error execute with --v=5 or higher";

/// Token discovery with a token the cluster does not know (expired and cleaned up).
pub(super) fn bad_token(id: &str) -> Vec<String> {
    vec![
        format!(
            "error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID {id:?}"
        ),
        STACK_HINT.into(),
    ]
}

/// Token discovery with nothing behind the endpoint.
pub(super) fn no_api(endpoint: &str) -> Vec<String> {
    vec![
        format!(
            "error execution phase preflight: couldn't validate the identity of the API Server: Get \"https://{endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s\": dial tcp {endpoint}: connect: connection refused"
        ),
        STACK_HINT.into(),
    ]
}

/// `kubeadm-certs` is gone (its 2 h owner token expired).
pub(super) fn certs_expired() -> Vec<String> {
    vec![
        "error execution phase control-plane-prepare/download-certs: error downloading certs: error downloading the secret: Secret \"kubeadm-certs\" was not found in the \"kube-system\" Namespace. This Secret might have expired. Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one".into(),
        STACK_HINT.into(),
    ]
}

/// `kubeadm-certs` exists but was encrypted with another key (a newer upload).
pub(super) fn certs_wrong_key() -> Vec<String> {
    vec![
        "error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding secret data with provided key: cipher: message authentication failed".into(),
        STACK_HINT.into(),
    ]
}

/// kubectl with nothing listening behind the endpoint.
pub(super) fn kubectl_refused(endpoint: &str) -> Vec<String> {
    vec![format!(
        "The connection to the server {endpoint} was refused - did you specify the right host or port?"
    )]
}

/// `kubeadm init` on a master that already runs a control plane (captured 1.29 output).
pub(super) fn init_again() -> Vec<String> {
    lines(
        "error execution phase preflight: [preflight] Some fatal errors occurred:\n\
         \t[ERROR Port-6443]: Port 6443 is in use\n\
         \t[ERROR Port-10259]: Port 10259 is in use\n\
         \t[ERROR Port-10257]: Port 10257 is in use\n\
         \t[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: /etc/kubernetes/manifests/kube-apiserver.yaml already exists\n\
         \t[ERROR FileAvailable--etc-kubernetes-manifests-kube-controller-manager.yaml]: /etc/kubernetes/manifests/kube-controller-manager.yaml already exists\n\
         \t[ERROR FileAvailable--etc-kubernetes-manifests-kube-scheduler.yaml]: /etc/kubernetes/manifests/kube-scheduler.yaml already exists\n\
         \t[ERROR FileAvailable--etc-kubernetes-manifests-etcd.yaml]: /etc/kubernetes/manifests/etcd.yaml already exists\n\
         \t[ERROR Port-10250]: Port 10250 is in use\n\
         \t[ERROR Port-2379]: Port 2379 is in use\n\
         \t[ERROR Port-2380]: Port 2380 is in use\n\
         \t[ERROR DirAvailable--var-lib-etcd]: /var/lib/etcd is not empty\n\
         [preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`\n\
         To see the stack trace of this error execute with --v=5 or higher",
    )
}

/// `kubeadm join` on a host that already joined.
pub(super) fn join_again() -> Vec<String> {
    lines(
        "error execution phase preflight: [preflight] Some fatal errors occurred:\n\
         \t[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists\n\
         \t[ERROR Port-10250]: Port 10250 is in use\n\
         \t[ERROR FileAvailable--etc-kubernetes-pki-ca.crt]: /etc/kubernetes/pki/ca.crt already exists\n\
         [preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`\n\
         To see the stack trace of this error execute with --v=5 or higher",
    )
}

/// init's client to the API through the endpoint (`upload-config`, after the control-plane
/// checks that go to the master directly): `EnsureAdminClusterRoleBinding` retries for
/// the API-call timeout (1m0s), then `initData.Client()` wraps its last error
/// (`app/cmd/init.go`, `app/phases/kubeconfig/kubeconfig.go`).
pub(super) fn endpoint_unanswered(endpoint: &str) -> Vec<String> {
    vec![
        format!(
            "error execution phase upload-config/kubeadm: could not bootstrap the admin user in file admin.conf: unable to create ClusterRoleBinding: Post \"https://{endpoint}/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?timeout=10s\": context deadline exceeded"
        ),
        STACK_HINT.into(),
    ]
}

/// `SwapCheck` (`app/preflight/checks.go`): a warning since 1.28, not an error.
pub(super) const SWAP_WARNING: &str = "\t[WARNING Swap]: swap is supported for cgroup v2 only. The kubelet must be properly configured to use swap. Please refer to https://kubernetes.io/docs/concepts/architecture/nodes/#swap-memory, or disable swap on the node";

/// The kubelet exits at start with swap on (`pkg/kubelet/cm/container_manager_linux.go`),
/// so `WaitForKubelet` times out (`app/util/apiclient/wait.go`) and join prints
/// `kubeadmJoinFailMsg` (`app/cmd/phases/join/kubelet.go`).
pub(super) fn kubelet_never_healthy() -> Vec<String> {
    let cause = "The HTTP call equal to 'curl -sSL http://127.0.0.1:10248/healthz' returned error: Get \"http://127.0.0.1:10248/healthz\": dial tcp 127.0.0.1:10248: connect: connection refused";
    let mut out = vec!["[kubelet-check] The kubelet is not healthy after 4m0.000521914s".into()];
    out.extend(join_failed(cause));
    out
}

/// The join's TLS bootstrap never wrote kubelet.conf (the kubelet stopped after its
/// health check): `waitForTLSBootstrappedClient` times out after `timeouts.tlsBootstrap`
/// (5m) and join prints `kubeadmJoinFailMsg` (`app/cmd/phases/join/kubelet.go`).
pub(super) fn tls_bootstrap_timed_out() -> Vec<String> {
    join_failed("context deadline exceeded")
}

/// `kubeadmJoinFailMsg` with `cause`, then kubeadm's phase error.
fn join_failed(cause: &str) -> Vec<String> {
    let mut out = lines(&format!(
        "\nUnfortunately, an error has occurred:\n\
         \t{cause}\n\n\n\
         This error is likely caused by:\n\
         \t- The kubelet is not running\n\
         \t- The kubelet is unhealthy due to a misconfiguration of the node in some way (required cgroups disabled)\n\n\
         If you are on a systemd-powered system, you can try to troubleshoot the error with the following commands:\n\
         \t- 'systemctl status kubelet'\n\
         \t- 'journalctl -xeu kubelet'\n\
         error execution phase kubelet-start: {cause}"
    ));
    out.push(STACK_HINT.into());
    out
}

/// `etcdutil.MemberPromote` polls for `timeouts.etcdAPICall` (2m) and returns the last
/// error of etcd's client: the join fails in its etcd phase.
pub(super) fn promote_failed(why: &str) -> Vec<String> {
    let cause = if why.contains("no leader") {
        "context deadline exceeded"
    } else {
        why
    };
    vec![
        format!("error execution phase control-plane-join/etcd: {cause}"),
        STACK_HINT.into(),
    ]
}

/// join's `check-etcd` phase (`app/cmd/phases/join/checketcd.go`): a listed member that
/// does not answer fails the join before anything is added.
pub(super) fn etcd_not_healthy(url: &str) -> Vec<String> {
    vec![
        format!(
            "error execution phase check-etcd: etcd cluster is not healthy: failed to dial \
             endpoint {url} with maintenance client: context deadline exceeded"
        ),
        STACK_HINT.into(),
    ]
}

/// `etcdctl member remove` (`printer_simple.go`: `Member %16x removed from cluster %16x`,
/// so an id with leading zeros is padded with spaces).
pub(super) fn member_removed(id: u64) -> String {
    format!("Member {id:16x} removed from cluster a3b1c7d2e5f60718")
}

/// etcdctl's `move-leader` (`printer.go`: `types.ID` is unpadded hex).
pub(super) fn leadership_transferred(from: u64, to: u64) -> String {
    format!("Leadership transferred from {from:x} to {to:x}")
}

/// `kubeadm reset -f` (1.29+ output, the etcd member removed with it).
pub(super) fn reset() -> Vec<String> {
    lines(
        "[preflight] Running pre-flight checks\n\
         [reset] Deleted contents of the etcd data directory: /var/lib/etcd\n\
         [reset] Stopping the kubelet service\n\
         [reset] Unmounting mounted directories in \"/var/lib/kubelet\"\n\
         [reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]\n\
         [reset] Deleting files: [/etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf /etc/kubernetes/kubelet.conf /etc/kubernetes/bootstrap-kubelet.conf /etc/kubernetes/controller-manager.conf /etc/kubernetes/scheduler.conf]\n\n\
         The reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d\n\n\
         The reset process does not reset or clean up iptables rules or IPVS tables.\n\
         If you wish to reset iptables, you must do so manually by using the \"iptables\" command.\n\n\
         If your cluster was setup to utilize IPVS, run ipvsadm --clear (or similar)\n\
         to reset your system's IPVS tables.\n\n\
         The reset process does not clean your kubeconfig files and you must remove them manually.\n\
         Please, check the contents of the $HOME/.kube/config file.",
    )
}

/// What `kubectl apply -f calico.yaml` prints (the first objects of the manifest, then its
/// DaemonSet and Deployment).
pub(super) const CALICO_APPLIED: &str = "poddisruptionbudget.policy/calico-kube-controllers created\n\
serviceaccount/calico-kube-controllers created\n\
serviceaccount/calico-node created\n\
serviceaccount/calico-cni-plugin created\n\
configmap/calico-config created\n\
customresourcedefinition.apiextensions.k8s.io/ippools.crd.projectcalico.org created\n\
clusterrole.rbac.authorization.k8s.io/calico-kube-controllers created\n\
clusterrole.rbac.authorization.k8s.io/calico-node created\n\
clusterrolebinding.rbac.authorization.k8s.io/calico-kube-controllers created\n\
clusterrolebinding.rbac.authorization.k8s.io/calico-node created\n\
daemonset.apps/calico-node created\n\
deployment.apps/calico-kube-controllers created";

#[cfg(test)]
mod tests {
    /// etcdctl's `%16x`: a 15-digit id is right-aligned, one space wider than its digits.
    #[test]
    fn a_removed_members_id_is_padded_as_etcdctl_pads_it() {
        assert_eq!(
            super::member_removed(0x92e55cd7a113cf7),
            "Member  92e55cd7a113cf7 removed from cluster a3b1c7d2e5f60718"
        );
    }
}
