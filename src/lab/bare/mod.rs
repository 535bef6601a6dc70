//! The bare lab: the lab's hosts (`cp-1..`, `worker-1..`, the load balancer) with
//! containerd, kubelet and kubeadm installed and nothing initialised: no etcd member, no
//! API, no lease, no node, no token. The wizard's lab kubeadm grows it: `init` makes the
//! first member, the API, the token (24 h) and the certificate key (2 h); control-plane
//! joins add etcd learners that kubeadm promotes to voters; nodes register NotReady and
//! turn Ready once the CNI runs; the scheduler and controller-manager take their leases.
//!
//! It speaks [`ClusterEvent`]s like [`super::Lab`], on its own virtual clock (1 ms grid),
//! and says honestly what does not exist yet ("no API yet").

mod views;

use std::time::Duration;

use jiff::Timestamp;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::ClusterEvent;

use super::LabConfig;

/// How long after `init`'s apiserver is up the scheduler and controller-manager hold
/// their leases; after the CNI, how long calico-node takes to make a node Ready.
const LEASE_AFTER_API_MS: i64 = 4_000;
const READY_AFTER_CNI_MS: i64 = 20_000;
/// A node registered after the CNI runs: calico-node starts on it this long after.
const READY_AFTER_REGISTER_MS: i64 = 12_000;
/// `kubeadm init --upload-certs` / `upload-certs`: the owner token of `kubeadm-certs`.
pub const CERT_KEY_TTL_MS: i64 = 2 * 3_600_000;
/// `kubeadm init` / `kubeadm token create`: the default token TTL.
pub const TOKEN_TTL_MS: i64 = 24 * 3_600_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRec {
    pub host: usize,
    pub id: u64,
    pub learner: bool,
    /// Its etcd container runs (a learner announced by kubeadm starts a moment later).
    pub started: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeRec {
    pub registered: i64,
    pub ready_since: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRec {
    pub id: String,
    /// The secret part: only the lab's kubeadm prints it (masked everywhere else).
    pub secret: String,
    pub expires: i64,
    /// The `kubeadm-certs` owner (2 h, no usages).
    pub cert_owner: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertKeyRec {
    pub key: String,
    pub owner: String,
}

#[derive(Debug, Clone)]
pub(crate) struct LeaseRec {
    pub identity: String,
    pub acquired: i64,
}

#[derive(Debug, Clone)]
pub struct BareLab {
    cfg: LabConfig,
    /// Lab time in ms since `cfg.start`.
    now: i64,
    rng: ChaCha8Rng,
    /// `sha256:<hex>` of the cluster CA, made by init.
    ca_hash: Option<String>,
    /// Masters whose apiserver runs.
    apiservers: Vec<bool>,
    pub(crate) members: Vec<MemberRec>,
    pub(crate) nodes: Vec<Option<NodeRec>>,
    cni_at: Option<i64>,
    pub(crate) tokens: Vec<TokenRec>,
    pub(crate) cert_key: Option<CertKeyRec>,
    /// `kube-scheduler`, `kube-controller-manager`.
    pub(crate) leases: [Option<LeaseRec>; 2],
    /// `controlPlaneEndpoint` as init wrote it into `kubeadm-config`.
    endpoint_set: Option<Option<String>>,
    /// What the model was last told (tokens and members removed since are announced).
    shown_tokens: Vec<String>,
    /// Hosts with swap on (the kubelet refuses to start there).
    swap: Vec<bool>,
    /// The load balancer forwards to the masters (false: its target group is empty).
    lb_targets: bool,
}

pub(crate) const LEASE_NAMES: [&str; 2] = ["kube-scheduler", "kube-controller-manager"];

impl BareLab {
    /// The hosts, nothing initialised. `now()` is `cfg.start`.
    pub fn new(cfg: LabConfig) -> BareLab {
        let cfg = cfg.clamped();
        let n = cfg.nodes();
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        rng.set_stream(7);
        BareLab {
            apiservers: vec![false; cfg.control_planes],
            nodes: vec![None; n],
            cfg,
            now: 0,
            rng,
            ca_hash: None,
            members: Vec::new(),
            cni_at: None,
            tokens: Vec::new(),
            cert_key: None,
            leases: [None, None],
            endpoint_set: None,
            shown_tokens: Vec::new(),
            swap: vec![false; n],
            lb_targets: true,
        }
    }

    pub fn config(&self) -> &LabConfig {
        &self.cfg
    }

    pub fn now(&self) -> Timestamp {
        super::views::at(&self.cfg, self.now)
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
        i < self.cfg.control_planes
    }

    /// `kubeadm init` has made the cluster (its CA exists).
    pub fn initialised(&self) -> bool {
        self.ca_hash.is_some()
    }

    pub fn ca_hash(&self) -> Option<&str> {
        self.ca_hash.as_deref()
    }

    /// Some master's apiserver runs.
    pub fn api_up(&self) -> bool {
        self.apiservers.iter().any(|&a| a)
    }

    /// The API answers through the endpoint: an apiserver runs and the load balancer
    /// forwards to it.
    pub fn endpoint_up(&self) -> bool {
        self.api_up() && self.lb_targets
    }

    /// Whether the load balancer has the masters as targets (a scenario empties it).
    pub fn lb_targets(&self) -> bool {
        self.lb_targets
    }

    pub fn set_lb_targets(&mut self, registered: bool) {
        self.lb_targets = registered;
    }

    pub fn swap_on(&self, i: usize) -> bool {
        self.swap.get(i).copied().unwrap_or(false)
    }

    /// Turns swap on or off on host `i` (`swapon -a` / `swapoff -a`).
    pub fn set_swap(&mut self, i: usize, on: bool) {
        if let Some(s) = self.swap.get_mut(i) {
            *s = on;
        }
    }

    pub fn apiserver_running(&self, i: usize) -> bool {
        self.apiservers.get(i).copied().unwrap_or(false)
    }

    pub fn cni_applied(&self) -> bool {
        self.cni_at.is_some()
    }

    pub fn member(&self, host: usize) -> Option<&MemberRec> {
        self.members.iter().find(|m| m.host == host)
    }

    pub fn node_registered(&self, i: usize) -> bool {
        self.nodes.get(i).is_some_and(Option::is_some)
    }

    pub fn node_ready(&self, i: usize) -> bool {
        self.nodes
            .get(i)
            .and_then(Option::as_ref)
            .is_some_and(|n| n.ready_since.is_some_and(|t| t <= self.now))
    }

    /// The live join token whose full text is `token` (`id.secret`), if any.
    pub fn valid_token(&self, token: &str) -> bool {
        let Some((id, secret)) = token.split_once('.') else {
            return false;
        };
        self.tokens
            .iter()
            .any(|t| !t.cert_owner && t.id == id && t.secret == secret && t.expires > self.now)
    }

    /// The newest live join token, `id.secret` (what init and `token create` print).
    pub fn join_token(&self) -> Option<String> {
        let mut live = self
            .tokens
            .iter()
            .filter(|t| !t.cert_owner && t.expires > self.now);
        live.next_back().map(|t| format!("{}.{}", t.id, t.secret))
    }

    pub fn cert_key(&self) -> Option<&CertKeyRec> {
        self.cert_key.as_ref()
    }

    /// Runs the clock forward by `dt` (1 ms grid). Returns what changed, ending with
    /// `Clock(now)`.
    pub fn advance(&mut self, dt: Duration) -> Vec<ClusterEvent> {
        let ms = i64::try_from(dt.as_millis()).unwrap_or(i64::MAX / 2);
        self.now = self.now.saturating_add(ms);
        self.expire();
        self.events()
    }

    /// The tokencleaner deletes expired tokens, and the garbage collector the
    /// `kubeadm-certs` Secret with its owner (both run in the controller-manager).
    fn expire(&mut self) {
        let now = self.now;
        self.tokens.retain(|t| t.expires > now);
        let owner_gone = |k: &CertKeyRec| !self.tokens.iter().any(|t| t.id == k.owner);
        if self.cert_key.as_ref().is_some_and(owner_gone) {
            self.cert_key = None;
        }
    }

    // What the lab's kubeadm does to the hosts.

    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from_digit(self.rng.random_range(0..16), 16).unwrap_or('0'))
            .collect()
    }

    fn alnum(&mut self, n: usize) -> String {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..n)
            .map(|_| char::from(CHARS[self.rng.random_range(0..CHARS.len())]))
            .collect()
    }

    /// `[certs]`: the cluster CA (its hash is what joins pin).
    pub fn make_ca(&mut self, endpoint: Option<String>) {
        let hash = format!("sha256:{}", self.hex(64));
        self.ca_hash = Some(hash);
        self.endpoint_set = Some(endpoint);
    }

    pub fn control_plane_endpoint(&self) -> Option<Option<String>> {
        self.endpoint_set.clone()
    }

    /// `controlPlaneEndpoint` patched into `kubeadm-config` after init.
    pub fn set_control_plane_endpoint(&mut self, endpoint: String) {
        if self.endpoint_set.is_some() {
            self.endpoint_set = Some(Some(endpoint));
        }
    }

    /// `kubeadm reset -f` on host `i`: its member, control plane and node are gone; when
    /// it was the cluster's only master, so is the cluster (CA, tokens, leases, CNI).
    pub fn reset(&mut self, i: usize) {
        self.members.retain(|m| m.host != i);
        if let Some(a) = self.apiservers.get_mut(i) {
            *a = false;
        }
        if let Some(n) = self.nodes.get_mut(i) {
            *n = None;
        }
        if self.members.is_empty() && !self.api_up() {
            self.ca_hash = None;
            self.endpoint_set = None;
            self.tokens.clear();
            self.cert_key = None;
            self.leases = [None, None];
            self.cni_at = None;
        }
    }

    /// A member: init's first (a voter that leads), or a join's learner (announced; its
    /// container starts with [`BareLab::start_member`]).
    pub fn add_member(&mut self, host: usize, learner: bool) -> u64 {
        let id = self.rng.random::<u64>() | 1;
        self.members.retain(|m| m.host != host);
        self.members.push(MemberRec {
            host,
            id,
            learner,
            started: !learner,
        });
        id
    }

    pub fn start_member(&mut self, host: usize) {
        if let Some(m) = self.members.iter_mut().find(|m| m.host == host) {
            m.started = true;
        }
    }

    pub fn promote(&mut self, host: usize) {
        if let Some(m) = self.members.iter_mut().find(|m| m.host == host) {
            m.learner = false;
        }
    }

    /// A master's apiserver, controller-manager and scheduler run: the first takes the
    /// leases shortly after.
    pub fn start_control_plane(&mut self, host: usize) {
        if let Some(a) = self.apiservers.get_mut(host) {
            *a = true;
        }
        for (k, lease) in self.leases.iter_mut().enumerate() {
            if lease.is_none() {
                let identity = format!("{}_{}", self.cfg.name(host), uuid_like(host, k));
                *lease = Some(LeaseRec {
                    identity,
                    acquired: self.now + LEASE_AFTER_API_MS,
                });
            }
        }
    }

    /// The kubelet's TLS bootstrap made its Node (NotReady until a pod network runs).
    pub fn register_node(&mut self, host: usize) {
        let ready = self.cni_at.map(|_| self.now + READY_AFTER_REGISTER_MS);
        if let Some(slot) = self.nodes.get_mut(host) {
            *slot = Some(NodeRec {
                registered: self.now,
                ready_since: ready,
            });
        }
    }

    /// `kubectl apply` of the CNI: calico-node makes every registered node Ready.
    pub fn apply_cni(&mut self) {
        if self.cni_at.is_some() {
            return;
        }
        self.cni_at = Some(self.now);
        let at = self.now + READY_AFTER_CNI_MS;
        for n in self.nodes.iter_mut().flatten() {
            n.ready_since.get_or_insert(at.max(n.registered));
        }
    }

    /// A join token valid 24 h; returns `id.secret`.
    pub fn create_token(&mut self) -> String {
        let (id, secret) = (self.alnum(6), self.alnum(16));
        self.tokens.push(TokenRec {
            id: id.clone(),
            secret: secret.clone(),
            expires: self.now + TOKEN_TTL_MS,
            cert_owner: false,
        });
        format!("{id}.{secret}")
    }

    /// `upload-certs`: a new key, and a new `kubeadm-certs` owned by a 2 h token.
    pub fn upload_certs(&mut self) -> String {
        let key = self.hex(64);
        let (id, secret) = (self.alnum(6), self.alnum(16));
        self.tokens.push(TokenRec {
            id: id.clone(),
            secret,
            expires: self.now + CERT_KEY_TTL_MS,
            cert_owner: true,
        });
        self.cert_key = Some(CertKeyRec {
            key: key.clone(),
            owner: id,
        });
        key
    }
}

/// A stable identity suffix, shaped like client-go's `<host>_<uuid>`.
fn uuid_like(host: usize, k: usize) -> String {
    format!(
        "{:08x}-6b1e-4c2a-9d3f-{:012x}",
        0x5eed_0000 + host,
        0xa11ce + k
    )
}

#[cfg(test)]
mod tests;
