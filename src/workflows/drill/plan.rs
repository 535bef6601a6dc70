//! Before anything is touched: which master, the quorum arithmetic, and whether the drill
//! may run at all. A refusal is data (the CLI exits 2 with its message).

use hatui_model::{Quorum, Readiness};

use super::fault::DrillFault;
use super::seen::Seen;

/// The lease names the drill watches.
pub const LEASES: [&str; 2] = ["kube-scheduler", "kube-controller-manager"];
/// The default `--duration`: how long the fault lasts before the restore.
pub const DEFAULT_DURATION_MS: i64 = 120_000;

/// `--target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The etcd leader, else a lease holder: the most instructive master.
    Leader,
    Node(String),
}

/// What to drill, as the command line (or the cockpit) asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrillSpec {
    pub fault: DrillFault,
    pub target: Target,
    /// How long the fault lasts, in ms of lab time.
    pub duration_ms: i64,
    /// Run even when the fault would lose etcd's quorum.
    pub force: bool,
}

impl DrillSpec {
    pub fn new(fault: DrillFault) -> Self {
        Self {
            fault,
            target: Target::Leader,
            duration_ms: DEFAULT_DURATION_MS,
            force: false,
        }
    }
}

/// The drill that passed the checks: the chosen node and what was said before it started.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub spec: DrillSpec,
    pub target: String,
    pub quorum: Quorum,
    /// Healthy voting members while the fault lasts.
    pub healthy_during: usize,
    /// The quorum arithmetic in one line.
    pub arithmetic: String,
    /// The other masters' IPs (the network fault's rules name them).
    pub others: Vec<String>,
    /// What runs on the target, and how it is undone (with the other masters' addresses).
    pub commands: Vec<String>,
    pub restore_commands: Vec<String>,
}

/// Why the drill did not start (exit 2): why, and what would let it run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String, pub Way);

/// Why a drill waits for a healthy cluster.
const HEALTHY_FIRST: &str =
    "A drill starts only from a healthy cluster, so that what it measures is the fault's doing";

/// What would let a refused drill run, said the command line's way ([`Refusal`]'s
/// `Display`) or the cockpit's ([`Refusal::in_cockpit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// Nothing to add to the why.
    Plain,
    /// It would lose etcd's quorum: bring members back, or force it.
    Force,
    /// The cluster is not healthy yet: wait for what the why names.
    Wait,
    /// Another target (the command line) or another fault (the cockpit).
    Other,
}

impl Refusal {
    /// A refusal whose why says it all.
    pub fn plain(why: impl Into<String>) -> Self {
        Self(why.into(), Way::Plain)
    }

    /// The cockpit's words: the key to press there, never a command-line flag.
    pub fn in_cockpit(&self) -> String {
        let why = &self.0;
        match self.1 {
            Way::Plain => why.clone(),
            Way::Force => format!(
                "{why}. Bring the other members back first (R restores a node), or press F to \
                 run it anyway"
            ),
            Way::Wait => format!(
                "{why}. {HEALTHY_FIRST}: wait for that (R restores a faulted node), then press d \
                 again"
            ),
            // The pane says which key picks another fault.
            Way::Other => why.clone(),
        }
    }

    /// Whether `F` (`--force`) would run it.
    pub fn forcible(&self) -> bool {
        self.1 == Way::Force
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = &self.0;
        match self.1 {
            Way::Plain => write!(f, "{why}"),
            Way::Force => write!(
                f,
                "refusing: {why}. Bring the other members back first, or pass --force to run \
                 it anyway"
            ),
            Way::Wait => write!(
                f,
                "refusing: {why}. {HEALTHY_FIRST}: wait for that, then run the drill again"
            ),
            Way::Other => write!(f, "{why}: pick another --target"),
        }
    }
}

/// The etcd leader, else a lease holder, else the first master.
fn default_target(lab: &dyn Seen) -> String {
    let holder = LEASES.iter().find_map(|l| lab.lease_holder(l));
    let first = || lab.masters().into_iter().next().unwrap_or_default();
    lab.etcd_leader().or(holder).unwrap_or_else(first)
}

fn is_master(lab: &dyn Seen, node: &str) -> bool {
    lab.masters().iter().any(|m| m == node)
}

/// Checks `spec` against the cluster as it is now: the quorum first, then the health.
pub fn check(lab: &dyn Seen, spec: &DrillSpec) -> Result<Plan, Refusal> {
    let target = match &spec.target {
        Target::Leader => default_target(lab),
        Target::Node(n) => n.clone(),
    };
    if lab.readiness(&target).is_none() {
        let masters = lab.masters().join(", ");
        return Err(Refusal(
            format!(
                "{target} is not a node of this cluster (masters: {masters}; workers by name): \
                 the drill touches only hosts it knows"
            ),
            Way::Other,
        ));
    }
    let master = is_master(lab, &target);
    if spec.fault.needs_master() && !master {
        return Err(Refusal(
            format!(
                "a {} fault needs a control-plane node and {target} is a worker (drill the \
                 etcd leader or a cp-N)",
                spec.fault
            ),
            Way::Other,
        ));
    }
    let status = lab.etcd_status();
    let quorum = status.quorum();
    let target_counts = status
        .members
        .iter()
        .any(|m| m.name == target && m.reachable && m.errors.is_empty());
    let loses = master && spec.fault.takes_etcd_member() && target_counts;
    let healthy_during = quorum.healthy - usize::from(loses);
    let arithmetic = format!(
        "etcd quorum: {} members need {} of {}; {} healthy now, {} during the {} fault on {}",
        quorum.members,
        quorum.needed,
        quorum.members,
        quorum.healthy,
        healthy_during,
        spec.fault,
        target
    );
    if healthy_during < quorum.needed && !spec.force {
        return Err(Refusal(
            format!(
                "{arithmetic}. Quorum needs {} of {}: the API would stop answering until the \
                 restore",
                quorum.needed, quorum.members
            ),
            Way::Force,
        ));
    }
    let target_ready = lab.readiness(&target) == Some(Readiness::Ready);
    let not_ready = (!target_ready).then(|| format!("node {target} is not Ready"));
    if let Some(why) = unhealthy(lab).or(not_ready) {
        return Err(Refusal(
            format!("the cluster is not healthy yet ({why})"),
            Way::Wait,
        ));
    }
    // The other masters' addresses, from their apiservers' advertise addresses.
    let others: Vec<String> = lab
        .masters()
        .into_iter()
        .filter(|m| *m != target)
        .filter_map(|m| lab.apiserver(&m))
        .filter_map(|a| a.address.rsplit_once(':').map(|(ip, _)| ip.to_string()))
        .collect();
    Ok(Plan {
        commands: spec.fault.commands(&others),
        restore_commands: spec.fault.restore_commands(&others),
        others,
        spec: spec.clone(),
        target,
        quorum,
        healthy_during,
        arithmetic,
    })
}

/// Every member healthy with a leader, both leases held by a working leader, the endpoint
/// and every apiserver ready; else what is not.
pub fn unhealthy(lab: &dyn Seen) -> Option<String> {
    // A live cluster's watches may not have listed the nodes yet: nothing is known healthy.
    if lab.masters().is_empty() {
        return Some("no control-plane node seen yet".into());
    }
    let status = lab.etcd_status();
    let sick: Vec<&str> = status
        .members
        .iter()
        .filter(|m| !m.reachable || !m.errors.is_empty())
        .map(|m| m.name.as_str())
        .collect();
    if !sick.is_empty() {
        return Some(format!("etcd member(s) not healthy: {}", sick.join(", ")));
    }
    if lab.etcd_leader().is_none() {
        return Some("etcd has no leader".into());
    }
    // Held by a copy that leads and can work, not merely named in an expired record.
    if let Some(l) = LEASES.iter().find(|l| !lab.lease_active(l)) {
        return Some(format!("lease {l} is not held by a working leader"));
    }
    let ep = lab.endpoint();
    if ep.ready != Some(true) {
        let why = ep.detail.unwrap_or_default();
        return Some(format!("the API endpoint is not ready: {why}"));
    }
    let down: Vec<String> = lab
        .masters()
        .into_iter()
        .filter(|n| !lab.apiserver(n).is_some_and(|a| a.ready))
        .collect();
    if !down.is_empty() {
        return Some(format!("apiserver not ready on {}", down.join(", ")));
    }
    None
}
