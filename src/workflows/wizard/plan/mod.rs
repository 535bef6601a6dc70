//! The plan as data: ordered steps with stable ids, their hosts, exact commands, why they
//! are run and what must be true before the next. One plan for the lab and real hosts; the
//! dry run prints it, executors run it.

mod grow;
pub mod lb_files;
mod refresh;
mod replace;
mod shrink;
mod steps;

use jiff::SignedDuration;

use super::command::{Command, Var};
use hatui_fleet::inventory::{Host, Inventory, LoadBalancer};

pub use grow::grow;
pub use refresh::{Remaining, SAFETY_MARGIN, insert_refreshes};
pub use replace::{delete_leftover_marks, marker, replace, snapshot_file, snapshot_saved};
pub use shrink::{day2_snapshot_saved, shrink, shrink_refusal};
pub use steps::{ENDPOINT_STEP, SWAP_ON, control_plane_endpoint, etcdctl, etcdctl_with};
use steps::{
    cleanup, cni, init, join_control_plane, join_worker, load_balancer, preflight, verify,
};

/// kubeadm's admin kubeconfig on a master (cluster-admin once init has finished).
pub const ADMIN_CONF: &str = "/etc/kubernetes/admin.conf";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Preflight,
    LoadBalancer,
    Init,
    Cni,
    JoinControlPlane,
    JoinWorker,
    UploadCerts,
    TokenCreate,
    /// Inserted before a control-plane join when the cluster was initialised without
    /// `controlPlaneEndpoint` (or with one master's address): seed 003's fix.
    ControlPlaneEndpoint,
    Verify,
    /// Day 2, replacing a master: the member list and the quorum before and after.
    Check,
    /// An etcd snapshot before any change.
    Snapshot,
    /// `etcdctl member remove` of the dead master's member.
    RemoveMember,
    /// `kubectl delete node`.
    DeleteNode,
    /// `kubeadm reset -f` on the machine that takes the master's place.
    Reset,
    /// `kubeadm-certs` and the join token deleted once every master joined.
    Cleanup,
    /// Day 2, growing or shrinking: a master added to or taken out of the load
    /// balancer's targets (HAProxy's backends, the NLB's target group).
    LbTargets,
    /// `etcdctl move-leader` off a master about to leave, when it leads.
    MoveLeader,
    /// `kubectl drain` of a master about to leave.
    Drain,
    /// Shrinking: a live master's member, Node and kubeadm state taken away (not the
    /// replacement's removals, which a rejoined node makes done).
    Retire(Retire),
}

/// What a shrink takes away from a master that leaves for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retire {
    /// `etcdctl member remove`.
    Member,
    /// `kubectl delete node`.
    Node,
    /// `kubeadm reset -f` on it.
    Reset,
}

/// Something that must hold before the next step starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wait {
    /// `/readyz` answers through the control-plane endpoint.
    EndpointReady { endpoint: String },
    /// The Node's Ready condition is True.
    NodeReady { node: String },
    /// The node's etcd member is started and a voter (promoted from learner).
    EtcdVoter { node: String },
}

impl Wait {
    pub fn describe(&self) -> String {
        match self {
            Self::EndpointReady { endpoint } => {
                format!("the API answers /readyz through {endpoint}")
            }
            Self::NodeReady { node } => format!("node {node} is Ready"),
            Self::EtcdVoter { node } => {
                format!("{node}'s etcd member is started and a voter (no longer a learner)")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Stable: `init`, `join-control-plane/cp-2`, `join-worker/worker-1`, ...
    pub id: String,
    pub kind: StepKind,
    /// Inventory names of the hosts it touches.
    pub hosts: Vec<String>,
    pub commands: Vec<Command>,
    /// One or two sentences a student can read aloud.
    pub why: String,
    /// Before the next step starts.
    pub waits_for: Vec<Wait>,
    /// Steps with the same group run together (the workers' joins).
    pub parallel_group: Option<String>,
    /// What the step's output provides for later commands.
    pub captures: Vec<Var>,
    /// About how long it takes on a healthy host: the countdown checks use it.
    pub expected: SignedDuration,
    /// Things the operator must know or do by hand.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// About the cluster's shape (an even number of masters, no HA).
    pub warnings: Vec<String>,
    /// What the fixes of failed steps need to know about the cluster being built.
    pub site: Site,
}

/// The inventory's facts a fix needs: the endpoint, its load balancer, the masters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub endpoint: String,
    /// The endpoint's DNS name or VIP, without the port.
    pub endpoint_host: String,
    pub load_balancer: LoadBalancer,
    /// `(name, address)` of each control plane, the first (init's) first.
    pub masters: Vec<(String, String)>,
    pub service_cidr: String,
    pub cri_socket: String,
}

impl Site {
    pub(super) fn of(inv: &Inventory) -> Self {
        Self {
            endpoint: inv.endpoint.to_string(),
            endpoint_host: inv.endpoint.host.clone(),
            load_balancer: inv.load_balancer,
            masters: inv
                .control_planes()
                .map(|h| (h.name.clone(), h.address.clone()))
                .collect(),
            service_cidr: inv.service_cidr.clone(),
            cri_socket: inv.cri_socket.clone(),
        }
    }
}

impl Plan {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    pub fn ids(&self) -> Vec<&str> {
        self.steps.iter().map(|s| s.id.as_str()).collect()
    }
}

/// A control-plane join: kubeadm's learner join, promotion and static pods.
pub const CONTROL_PLANE_JOIN: SignedDuration = SignedDuration::from_secs(60);
pub const WORKER_JOIN: SignedDuration = SignedDuration::from_secs(30);

/// How the build ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// Leave `kubeadm-certs` in place after the joins (`--keep-cert-key`): no `cleanup`.
    pub keep_cert_key: bool,
}

/// The plan for `inv`, ending with `cleanup` (kubeadm-certs deleted) and `verify`.
pub fn build(inv: &Inventory) -> Plan {
    build_with(inv, BuildOptions::default())
}

/// [`build`] with `opts`.
pub fn build_with(inv: &Inventory, opts: BuildOptions) -> Plan {
    let first = inv.first_control_plane();
    let mut steps = vec![
        preflight(inv),
        load_balancer(inv),
        init(inv, first),
        cni(inv, first),
    ];
    let masters: Vec<&Host> = inv.control_planes().collect();
    for (i, host) in masters.iter().enumerate().skip(1) {
        steps.push(join_control_plane(inv, host, i + 1));
    }
    for host in inv.workers() {
        steps.push(join_worker(inv, host));
    }
    if !opts.keep_cert_key {
        steps.push(cleanup(&first.name, false));
    }
    steps.push(verify(inv, first));
    Plan {
        steps,
        warnings: shape_warnings(masters.len()),
        site: Site::of(inv),
    }
}

/// Quorum is floor(n/2)+1: say what the number of masters means.
pub fn shape_warnings(control_planes: usize) -> Vec<String> {
    match control_planes {
        1 => vec!["1 control plane: no HA. Losing it stops the API; use 3 or 5.".into()],
        n if n % 2 == 0 => vec![format!(
            "{n} control planes: an even number. etcd's quorum is {q} of {n}, so it survives {f} failure(s), no more than {m} would, with one more machine that can fail. Use {p}.",
            q = n / 2 + 1,
            f = (n - 1) / 2,
            m = n - 1,
            p = n + 1,
        )],
        _ => Vec::new(),
    }
}

pub(super) fn step(id: impl Into<String>, kind: StepKind, why: &str) -> Step {
    Step {
        id: id.into(),
        kind,
        hosts: Vec::new(),
        commands: Vec::new(),
        why: why.to_string(),
        waits_for: Vec::new(),
        parallel_group: None,
        captures: Vec::new(),
        expected: SignedDuration::from_secs(10),
        notes: Vec::new(),
    }
}
