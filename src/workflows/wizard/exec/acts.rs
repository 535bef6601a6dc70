//! What a command does on the lab, as the lab's kubeadm and kubectl script it: lines printed
//! and effects on the lab at offsets from the command's start, then its exit code.

use super::show::Show;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Effect {
    /// init's `[certs]`: the CA; `Some(endpoint)` with `--control-plane-endpoint`.
    MakeCa(Option<String>),
    FirstMember(usize),
    StartControlPlane(usize),
    RegisterNode(usize),
    /// init's `[upload-certs]` (with `--upload-certs`) and the phase alone.
    UploadCerts,
    InitToken,
    /// The success block, from what init made.
    InitDone {
        with_endpoint: bool,
    },
    /// Token discovery: the token must be known and valid.
    Discover(String),
    /// `[download-certs]`: `kubeadm-certs` must exist and open with this key.
    DownloadCerts(String),
    AddLearner(usize),
    StartMember(usize),
    Promote(usize),
    ApplyCni,
    /// `kubeadm token create [--description TEXT]`.
    TokenCreate(String, Option<String>),
    /// `kubeadm token delete ID || echo 'token ID was already gone'`.
    TokenDelete(String),
    /// `kubectl get nodes`, `etcdctl member list`, `kubectl get lease`, `/readyz`.
    Show(Show),
    /// `swapoff -a` on a host.
    SwapOff(usize),
    /// The masters registered as the load balancer's targets.
    RegisterTargets,
    /// `kubeadm reset -f` on a host.
    Reset(usize),
    /// `controlPlaneEndpoint` patched into `kubeadm-config`.
    SetEndpoint(String),
    /// join's `check-etcd`: every listed member must answer.
    CheckEtcd,
    /// kube-proxy's ConfigMap names the endpoint and its pods restart.
    KubeProxyEndpoint(String),
    /// `etcdctl member remove` of the member with this name.
    RemoveMember(String),
    /// `kubectl delete node NAME --ignore-not-found`.
    DeleteNode(String),
    /// `kubectl delete secret kubeadm-certs`, then `kubeadm token delete TOKEN` if given.
    Cleanup(Option<String>),
    /// `etcdctl move-leader` through the first master's member, to the second's, when
    /// the first leads.
    MoveLeader(String, String),
    /// `kubectl drain NODE`.
    Drain(String),
    /// A master's address into (`true`) or out of the load balancer's targets.
    Target(String, bool),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Act {
    Line(String),
    Do(Effect),
    Exit(i32),
}

pub(super) struct Script(pub(super) Vec<(i64, Act)>);

impl Script {
    pub(super) fn lines(&mut self, at_s: f64, lines: Vec<String>) {
        let at = (at_s * 1000.0) as i64;
        self.0.extend(lines.into_iter().map(|l| (at, Act::Line(l))));
    }
    pub(super) fn line(&mut self, at_s: f64, line: &str) {
        self.lines(at_s, vec![line.to_string()]);
    }
    pub(super) fn act(&mut self, at_s: f64, e: Effect) {
        self.0.push(((at_s * 1000.0) as i64, Act::Do(e)));
    }
    pub(super) fn exit(mut self, at_s: f64, code: i32) -> Vec<(i64, Act)> {
        self.0.push(((at_s * 1000.0) as i64, Act::Exit(code)));
        self.0
    }
}
