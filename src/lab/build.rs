//! What kubeadm has made of the hosts. A lab can start bare (`hatui lab --bare`: hosts with
//! containerd, kubelet and kubeadm, nothing initialised) and be built by the wizard's lab
//! kubeadm through the methods here: `init` makes the CA, the first etcd member, the
//! control plane, the Node, the token (24 h) and the certificate key (2 h); control-plane
//! joins add etcd learners that are promoted once caught up; nodes register NotReady and
//! turn Ready once the CNI runs. Everything else (elections, leases, the node controller,
//! the load balancer, faults, the drill) is the same simulation as a lab built at start.

use rand_chacha::ChaCha8Rng;

use super::Lab;
use super::hosts::Component;
use super::ids;
use super::leases::Election;
use super::out::Out;
use hatui_model::ClusterEvent;

/// After the CNI is applied, calico-node makes the nodes registered so far Ready this long
/// after; a node registered later, this long after its registration.
const READY_AFTER_CNI_MS: i64 = 20_000;
const READY_AFTER_REGISTER_MS: i64 = 12_000;
/// What the API feeds say before `kubeadm init`.
pub(crate) const NO_API: &str = "no API yet: kubeadm init has not run";
/// What the etcd feed says before the first member.
pub(crate) const NO_ETCD: &str = "no etcd yet: kubeadm init makes the first member";

#[derive(Debug, Clone)]
pub(crate) struct Build {
    /// The lab started from bare hosts (the wizard builds it).
    pub bare: bool,
    /// `sha256:<hex>` of the cluster CA, made by init.
    pub ca_hash: Option<String>,
    /// `controlPlaneEndpoint` as init wrote it into `kubeadm-config`.
    pub endpoint_set: Option<Option<String>>,
    /// When the pod network was applied.
    pub cni_at: Option<i64>,
    /// When init issued the certificates.
    pub init_at: Option<i64>,
    /// Hosts with swap on (the kubelet refuses to start there).
    pub swap: Vec<bool>,
    /// The server in kube-proxy's kubeconfig (its ConfigMap), as init wrote it.
    pub kube_proxy: Option<String>,
    /// kubeadm's own values (CA hash, tokens, key): a stream of their own.
    pub rng: ChaCha8Rng,
}

impl Build {
    /// A cluster that `kubeadm init` made at `init_at`.
    pub(crate) fn built(nodes: usize, endpoint: &str, init_at: i64, mut rng: ChaCha8Rng) -> Self {
        Self {
            bare: false,
            ca_hash: Some(format!("sha256:{}", ids::hex(&mut rng, 64))),
            endpoint_set: Some(Some(endpoint.to_string())),
            cni_at: Some(i64::MIN / 4),
            init_at: Some(init_at),
            swap: vec![false; nodes],
            kube_proxy: Some(endpoint.to_string()),
            rng,
        }
    }

    pub(crate) fn bare(nodes: usize, rng: ChaCha8Rng) -> Self {
        Self {
            bare: true,
            ca_hash: None,
            endpoint_set: None,
            cni_at: None,
            init_at: None,
            swap: vec![false; nodes],
            kube_proxy: None,
            rng,
        }
    }
}

/// An etcd member as `etcdctl member list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    pub id: u64,
    pub learner: bool,
    /// Its process runs (a learner announced by kubeadm starts a moment later).
    pub started: bool,
}

impl Lab {
    /// The hosts, nothing initialised; `now()` is `cfg.start`.
    pub fn bare(cfg: super::LabConfig) -> Lab {
        Self::build_bare(cfg)
    }

    /// The wizard's steps that built this lab, as they ended (for the drill's report).
    pub fn record_built(&mut self, steps: Vec<String>) {
        self.cfg.built_by_wizard = Some(steps);
    }

    pub fn now_ms(&self) -> i64 {
        self.now
    }

    /// Host `name`'s index (masters first), if the lab has it.
    pub fn host(&self, name: &str) -> Option<usize> {
        self.cfg.index_of(name)
    }

    pub fn host_name(&self, i: usize) -> String {
        self.cfg.name(i)
    }

    pub fn is_master(&self, i: usize) -> bool {
        self.hosts.is_master(i)
    }

    pub fn powered(&self, i: usize) -> bool {
        self.hosts.machines.get(i).is_some_and(|m| m.powered)
    }

    pub fn kubelet_running(&self, i: usize) -> bool {
        self.hosts.machines.get(i).is_some_and(|m| m.kubelet)
    }

    /// `kubeadm init` has made the cluster (its CA exists).
    pub fn initialised(&self) -> bool {
        self.build.ca_hash.is_some()
    }

    pub fn ca_hash(&self) -> Option<&str> {
        self.build.ca_hash.as_deref()
    }

    pub fn control_plane_endpoint(&self) -> Option<Option<String>> {
        self.build.endpoint_set.clone()
    }

    /// A new connection through the endpoint reaches a ready apiserver.
    pub fn endpoint_up(&self) -> bool {
        self.lb.reaches_ready(&self.hosts, &self.api)
    }

    /// Whether the load balancer has the masters as targets (a scenario empties it).
    pub fn lb_targets(&self) -> bool {
        self.lb.registered
    }

    pub fn set_lb_targets(&mut self, registered: bool) {
        self.lb.registered = registered;
    }

    pub fn swap_on(&self, i: usize) -> bool {
        self.build.swap.get(i).copied().unwrap_or(false)
    }

    /// `swapon -a` / `swapoff -a` on host `i`.
    pub fn set_swap(&mut self, i: usize, on: bool) {
        if let Some(s) = self.build.swap.get_mut(i) {
            *s = on;
        }
    }

    pub fn apiserver_running(&self, i: usize) -> bool {
        self.is_master(i) && self.hosts.cps[i].pod(Component::ApiServer).running && self.powered(i)
    }

    /// kubeadm wrote a control plane on master `i` (init or join).
    pub fn control_plane_installed(&self, i: usize) -> bool {
        self.hosts.installed(i, Component::ApiServer)
    }

    pub fn member(&self, i: usize) -> Option<MemberView> {
        let m = self.etcd.members.get(i).filter(|m| m.joined)?;
        Some(MemberView {
            id: m.id,
            learner: !m.voter,
            started: m.up,
        })
    }

    /// kubeadm already made this machine a node (its kubelet.conf or a local etcd exists):
    /// init and join refuse to run again until `kubeadm reset`.
    pub fn kubeadm_ran_here(&self, i: usize) -> bool {
        let n = &self.nodes.nodes[i];
        (n.registered && n.posting) || self.hosts.installed(i, Component::Etcd)
    }

    pub fn node_registered(&self, i: usize) -> bool {
        let n = self.nodes.nodes.get(i);
        n.is_some_and(|n| n.registered) && !self.faults.deleted[i]
    }

    pub fn node_ready(&self, i: usize) -> bool {
        self.node_registered(i) && self.nodes.nodes[i].ready == hatui_model::Readiness::Ready
    }

    /// The live join token whose full text is `token` (`id.secret`).
    pub fn valid_token(&self, token: &str) -> bool {
        self.tokens.valid(token, self.now)
    }

    /// The newest live join token, `id.secret` (what init and `token create` print).
    pub fn join_token(&self) -> Option<String> {
        self.tokens.newest(self.now)
    }

    /// The certificate key, while `kubeadm-certs` exists.
    pub fn cert_key_value(&self) -> Option<String> {
        self.tokens.key().map(str::to_string)
    }

    // What the lab's kubeadm does to the hosts.

    /// `[certs]`: the cluster CA (its hash is what joins pin).
    pub fn make_ca(&mut self, endpoint: Option<String>) {
        let hash = format!("sha256:{}", ids::hex(&mut self.build.rng, 64));
        self.build.ca_hash = Some(hash);
        let first = format!("{}:6443", self.cfg.ip(0));
        let server = endpoint.clone().unwrap_or(first);
        if endpoint.is_none() {
            self.kubectl_said.push(ClusterEvent::Note(format!(
                "LAB: kube-proxy on every node talks to {server} ({}) directly, not through the \
                 load balancer: while that master is down no node's Service rules change",
                self.cfg.name(0)
            )));
        }
        self.build.kube_proxy = Some(server);
        self.build.endpoint_set = Some(endpoint);
        self.build.init_at = Some(self.now);
    }

    /// The server kube-proxy's kubeconfig names (its ConfigMap).
    pub fn kube_proxy_server(&self) -> Option<&str> {
        self.build.kube_proxy.as_deref()
    }

    /// kube-proxy's ConfigMap patched to `endpoint`, its pods restarted.
    pub fn set_kube_proxy_server(&mut self, endpoint: String) {
        self.kubectl_said.push(ClusterEvent::Note(format!(
            "LAB: kube-proxy restarted on every node with {endpoint}: Service rules no longer \
             depend on one master"
        )));
        self.build.kube_proxy = Some(endpoint);
    }

    /// `controlPlaneEndpoint` patched into `kubeadm-config` after init.
    pub fn set_control_plane_endpoint(&mut self, endpoint: String) {
        if self.build.endpoint_set.is_some() {
            self.build.endpoint_set = Some(Some(endpoint));
        }
    }

    /// A member: init's first (a voter whose container starts at once), or a join's
    /// learner (in the member list; its container starts with [`Lab::start_member`]).
    pub fn add_member(&mut self, i: usize, learner: bool) -> u64 {
        self.etcd.join(i, !learner);
        if !learner {
            self.start_member(i);
        }
        self.etcd.members[i].id
    }

    /// kubeadm writes the etcd manifest: the kubelet starts the member.
    pub fn start_member(&mut self, i: usize) {
        self.hosts.install(i, Component::Etcd, self.now);
        self.run_kubelets();
    }

    /// `etcdctl member promote` through the leader: `Err` with etcd's words when it
    /// cannot be done now (no leader with a quorum, or the learner has not caught up).
    pub fn promote(&mut self, i: usize) -> Result<u64, &'static str> {
        self.etcd.promote(i)?;
        Ok(self.etcd.members[i].id)
    }

    /// kubeadm writes the apiserver, controller-manager and scheduler manifests.
    pub fn start_control_plane(&mut self, i: usize) {
        for c in [
            Component::ApiServer,
            Component::ControllerManager,
            Component::Scheduler,
        ] {
            self.hosts.install(i, c, self.now);
        }
        self.run_kubelets();
    }

    /// The kubelet's TLS bootstrap made its Node (NotReady until a pod network runs).
    /// `false` while the kubelet does not run: the bootstrap waits for it.
    pub fn register_node(&mut self, i: usize) -> bool {
        if !self.kubelet_running(i) {
            return false;
        }
        let network = self
            .build
            .cni_at
            .map(|_| self.now + READY_AFTER_REGISTER_MS);
        self.nodes.register(i, self.now, network);
        self.faults.deleted[i] = false;
        true
    }

    /// `kubectl apply` of the CNI: calico-node makes every registered node Ready.
    pub fn apply_cni(&mut self) {
        if self.build.cni_at.is_some() {
            return;
        }
        self.build.cni_at = Some(self.now);
        let at = self.now + READY_AFTER_CNI_MS;
        for n in self.nodes.nodes.iter_mut().filter(|n| n.registered) {
            n.network_at.get_or_insert(at);
        }
    }

    /// A join token valid 24 h; returns `id.secret`.
    pub fn create_token(&mut self) -> String {
        self.tokens.create(self.now, &mut self.build.rng, None)
    }

    /// `kubeadm token create --description TEXT`: a join token carrying `description`
    /// (the replacement's mark).
    pub fn create_token_described(&mut self, description: &str) -> String {
        self.tokens
            .create(self.now, &mut self.build.rng, Some(description))
    }

    /// `upload-certs`: a new key, and a new `kubeadm-certs` owned by a 2 h token.
    pub fn upload_certs(&mut self) -> String {
        self.tokens.upload_certs(self.now, &mut self.build.rng)
    }

    /// `kubeadm reset -f` on host `i`: its member (removed through the cluster), control
    /// plane and kubelet config are gone; when it was the last master, so is the cluster.
    pub fn reset(&mut self, i: usize) {
        // A fresh machine (a replacement) has no local etcd or kubelet config to clean, and
        // no admin.conf to remove a member with: what the cluster knows stays.
        let fresh = !self.kubeadm_ran_here(i);
        let mut changes = Vec::new();
        let had_etcd = self.hosts.installed(i, Component::Etcd);
        self.hosts.uninstall(i, &mut changes);
        self.apply_pod_changes(&changes);
        if fresh {
            return;
        }
        if had_etcd && self.etcd.members[i].joined {
            self.etcd.remove(i);
        }
        self.nodes.forget(i);
        let members = self.etcd.listed().count();
        if members == 0 {
            self.build.ca_hash = None;
            self.build.endpoint_set = None;
            self.build.cni_at = None;
            self.build.init_at = None;
            self.tokens.clear();
            let masters = self.cfg.control_planes;
            for e in &mut self.leases {
                *e = Election::empty(e.name, e.component, masters);
            }
        }
    }

    // Day 2: replacing a dead master.

    /// Master `i`'s machine is gone for good and a fresh one with its name and address
    /// takes its place (the inventory's replacement): powered, nothing installed. What
    /// the cluster knew of the old one (its etcd member, its Node) stays until removed.
    pub fn provision(&mut self, i: usize) {
        let mut changes = Vec::new();
        self.hosts.power_off(i, false, &mut changes);
        self.hosts.uninstall(i, &mut changes);
        self.apply_pod_changes(&changes);
        self.hosts.restore(i, self.now, 0);
        self.nodes.nodes[i].posting = false;
        if self.etcd.members[i].joined {
            self.etcd.touch();
        }
    }

    /// Whether every listed etcd member answers (kubeadm join's `check-etcd`).
    pub fn etcd_unreachable(&self) -> Option<String> {
        let listed = self.etcd.listed();
        let mut down = listed.filter(|(_, m)| !m.up);
        down.next()
            .map(|(i, _)| format!("https://{}:2379", self.cfg.ip(i)))
    }

    /// `etcdctl member remove` of the member named `name`, through a leader with its
    /// quorum: its id, or etcd's error.
    pub fn remove_member(&mut self, name: &str) -> Result<u64, &'static str> {
        let i = self.host(name).filter(|&i| self.is_master(i));
        let Some(i) = i.filter(|&i| self.etcd.members[i].joined) else {
            return Err("etcdserver: member not found");
        };
        if self
            .etcd
            .leader()
            .is_none_or(|l| !self.etcd.has_quorum_at(l))
        {
            return Err("context deadline exceeded");
        }
        let id = self.etcd.members[i].id;
        self.etcd.remove(i);
        Ok(id)
    }

    /// `kubectl delete node`: the Node object is gone (its pods with it).
    pub fn kubectl_delete_node(&mut self, name: &str) -> bool {
        let Some(i) = self.host(name).filter(|&i| self.node_registered(i)) else {
            return false;
        };
        self.faults.deleted[i] = true;
        self.nodes.forget(i);
        self.kubectl_said
            .push(ClusterEvent::NodeRemoved(name.to_string()));
        true
    }

    /// `kubectl -n kube-system delete secret kubeadm-certs`.
    pub fn delete_cert_secret(&mut self) -> bool {
        let had = self.tokens.delete_cert_secret();
        if had {
            self.kubectl_said
                .push(ClusterEvent::CertKey(self.tokens.cert_key()));
        }
        had
    }

    /// `kubeadm token delete TOKEN`.
    pub fn delete_token(&mut self, token: &str) -> bool {
        let Some(id) = self.tokens.delete(token) else {
            return false;
        };
        self.kubectl_said.push(ClusterEvent::TokenRemoved(id));
        true
    }

    /// The kubelets act on what kubeadm just wrote, without moving the clock.
    fn run_kubelets(&mut self) {
        let mut changes = Vec::new();
        self.hosts.step(self.now, &mut changes);
        self.apply_pod_changes(&changes);
        self.settle(&mut Out::new(self.now));
    }
}
