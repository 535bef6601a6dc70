//! Where the cluster stands, found by looking at it (as kubeadm would), not from a saved
//! file: which steps already happened, and the waits' conditions.

use super::report::{StepReport, StepStatus};
use crate::wizard::plan::{Plan, Retire, Step, StepKind, Wait};
use hatui_model::{CertKeyState, ClusterState, Readiness};

pub fn initialised(c: &ClusterState) -> bool {
    !c.etcd.members.is_empty() || !c.apiservers.is_empty()
}

pub fn node_ready(c: &ClusterState, node: &str) -> bool {
    c.nodes
        .get(node)
        .is_some_and(|n| n.ready == Readiness::Ready)
}

pub fn etcd_voter(c: &ClusterState, node: &str) -> bool {
    let m = c.etcd.members.iter().find(|m| m.name == node);
    m.is_some_and(|m| !m.is_learner && m.reachable)
}

fn has_member(c: &ClusterState, node: &str) -> bool {
    c.etcd.members.iter().any(|m| m.name == node)
}

pub fn holds(c: &ClusterState, wait: &Wait) -> bool {
    match wait {
        Wait::EndpointReady { .. } => c.endpoint.ready == Some(true),
        Wait::NodeReady { node } => node_ready(c, node),
        Wait::EtcdVoter { node } => etcd_voter(c, node),
    }
}

/// `Some(why)` when `step` has already happened on this cluster.
pub fn done(c: &ClusterState, step: &Step) -> Option<String> {
    let host = step.hosts.first().map(String::as_str).unwrap_or_default();
    // Day 2's steps run through a healthy master; the node they are about ends their id.
    let about = step.id.rsplit_once('/').map_or(host, |(_, n)| n);
    match step.kind {
        StepKind::Preflight | StepKind::LoadBalancer => initialised(c)
            .then(|| "already done: the control plane is initialised, so it passed".into()),
        StepKind::Init => initialised(c).then(|| {
            format!(
                "already done: etcd has {} member(s) and the API answers",
                c.etcd.members.len()
            )
        }),
        StepKind::Cni => c
            .nodes
            .iter()
            .any(|n| n.ready == Readiness::Ready)
            .then(|| "already done: nodes are Ready, so a pod network runs".into()),
        StepKind::JoinControlPlane => (etcd_voter(c, host) && c.nodes.get(host).is_some())
            .then(|| format!("already done: {host} is an etcd voter and a node")),
        StepKind::JoinWorker => c
            .nodes
            .get(host)
            .is_some()
            .then(|| format!("already done: node {host} is registered")),
        // Day 2: once the replacement is a healthy voter with a Ready node, what came
        // before it is done (a rerun must not reset the new master).
        StepKind::RemoveMember | StepKind::DeleteNode | StepKind::Reset
            if etcd_voter(c, about) && node_ready(c, about) =>
        {
            Some(format!(
                "already done: {about} has been replaced and joined"
            ))
        }
        StepKind::RemoveMember => (!c.etcd.members.iter().any(|m| m.name == about))
            .then(|| format!("already done: {about} has no etcd member")),
        StepKind::DeleteNode => c
            .nodes
            .get(about)
            .is_none()
            .then(|| format!("already done: there is no Node {about}")),
        // Day 2, shrinking: each removal is done when what it removes is gone.
        StepKind::Retire(Retire::Member) => {
            (!has_member(c, about)).then(|| format!("already done: {about} has no etcd member"))
        }
        StepKind::Drain | StepKind::Retire(Retire::Node) => c
            .nodes
            .get(about)
            .is_none()
            .then(|| format!("already done: there is no Node {about}")),
        StepKind::Retire(Retire::Reset) => (!has_member(c, about)
            && c.nodes.get(about).is_none()
            && !c.apiservers.contains_key(about))
        .then(|| format!("already done: {about} has no member, Node or apiserver left")),
        // Whether it leads is asked when it runs (leadership can move in between); once
        // its member is gone (a rerun), there is nothing left to move.
        StepKind::MoveLeader => (!c.etcd.members.is_empty() && !has_member(c, about))
            .then(|| format!("already done: {about} has no etcd member left to lead")),
        StepKind::UploadCerts
        | StepKind::LbTargets
        | StepKind::TokenCreate
        | StepKind::ControlPlaneEndpoint
        | StepKind::Verify
        | StepKind::Check
        | StepKind::Snapshot
        | StepKind::Reset
        | StepKind::Cleanup => None,
    }
}

/// A replacement (a plan with a member removal) runs strictly in order: once a step is
/// found done, the steps before it happened too (the check, the snapshot, the reset leave
/// nothing to look at). The cleanup is done once the replacement joined and `kubeadm-certs`
/// is gone. Join material is made again only if a step still to run needs it.
pub fn day2_before_done(plan: &Plan, reports: &mut [StepReport], c: &ClusterState) {
    if !plan.steps.iter().any(|s| s.kind == StepKind::RemoveMember) {
        return;
    }
    // The master being replaced keeps its member and Node until they are removed: its join
    // is done once that name is a voter again with a Ready Node, not before.
    for (s, r) in plan.steps.iter().zip(reports.iter_mut()) {
        let host = s.hosts.first().map(String::as_str).unwrap_or_default();
        if s.kind == StepKind::JoinControlPlane && r.already_done() && !node_ready(c, host) {
            r.status = StepStatus::Pending;
            r.notes.clear();
        }
    }
    let joined = plan.steps.iter().zip(reports.iter());
    let joined = joined
        .filter(|(s, _)| s.kind == StepKind::JoinControlPlane)
        .all(|(_, r)| r.already_done());
    // The join token marked for this replacement goes with the cleanup: while one is
    // left, the cleanup is not done (a run killed between the Secret and the token).
    let node = plan.steps.iter().find(|s| s.kind == StepKind::RemoveMember);
    let node = node.and_then(|s| s.id.rsplit_once('/')).map(|(_, n)| n);
    let mark = node.map(crate::wizard::plan::marker);
    let marked = c
        .tokens
        .values()
        .any(|t| Some(&t.description) == mark.as_ref());
    for (s, r) in plan.steps.iter().zip(reports.iter_mut()) {
        let gone = c.cert_key_state() == CertKeyState::Absent && !marked;
        if s.kind == StepKind::Cleanup && joined && gone {
            r.status = StepStatus::Ok;
            r.notes.push(
                "already done: the replacement joined; kubeadm-certs and its token are gone".into(),
            );
        }
    }
    let Some(last) = reports.iter().rposition(|r| r.already_done()) else {
        return;
    };
    let later = plan.steps[last + 1..].iter().zip(&reports[last + 1..]);
    let needs_material = later
        .filter(|(_, r)| !r.already_done())
        .any(|(s, _)| s.commands.iter().any(|c| c.vars().next().is_some()));
    let after = plan.steps[last].id.clone();
    for (s, r) in plan.steps.iter().zip(reports.iter_mut()).take(last) {
        let material = matches!(s.kind, StepKind::UploadCerts | StepKind::TokenCreate);
        if r.already_done() || (material && needs_material) {
            continue;
        }
        r.status = StepStatus::Ok;
        r.notes.push(format!(
            "already done: {after}, which comes after it, is done"
        ));
    }
}

/// A control-plane join that half ran: its member or its node exists, not both.
pub fn half_joined(c: &ClusterState, host: &str) -> Option<String> {
    let member = c.etcd.members.iter().find(|m| m.name == host);
    let node = c.nodes.get(host).is_some();
    let learner = c.etcd.members.iter().any(|m| m.is_learner);
    (member.is_some() != node || learner).then(|| {
        format!(
            "{host}'s join half ran (etcd member: {}, node: {}): run `kubeadm reset -f` on {host}, remove its member with `etcdctl member remove <id>` if listed, then retry",
            if member.is_some() { "yes" } else { "no" },
            if node { "yes" } else { "no" },
        )
    })
}

/// What verify requires, as notes for each thing not true.
pub fn verify(c: &ClusterState, control_planes: &[String], nodes: &[String]) -> Vec<String> {
    let mut bad = Vec::new();
    for n in nodes.iter().filter(|n| !node_ready(c, n)) {
        bad.push(format!("node {n} is not Ready"));
    }
    let voters = c.etcd.members.iter().filter(|m| !m.is_learner).count();
    if voters != control_planes.len() {
        bad.push(format!(
            "etcd has {voters} voting member(s), not {}",
            control_planes.len()
        ));
    }
    if let Some(l) = c.etcd.members.iter().find(|m| m.is_learner) {
        bad.push(format!("etcd member {:x} is still a learner", l.id));
    }
    for lease in ["kube-scheduler", "kube-controller-manager"] {
        let held = c.leases.get(lease).and_then(|l| l.holder_node()).is_some();
        if !held {
            bad.push(format!("lease {lease} has no holder"));
        }
    }
    if c.endpoint.ready != Some(true) {
        bad.push(format!("the endpoint {} is not ready", c.endpoint.address));
    }
    for m in control_planes {
        if !c.apiservers.get(m).is_some_and(|a| a.ready) {
            bad.push(format!("{m}'s apiserver is not ready"));
        }
    }
    bad
}

/// What in the cluster stands in the way of any step, as the operator must hear it: etcd
/// without its quorum (nothing can be promoted, no apiserver serves), or an endpoint that
/// does not answer. `None` when neither.
pub fn trouble(c: &ClusterState) -> Option<String> {
    let voters: Vec<_> = c.etcd.members.iter().filter(|m| !m.is_learner).collect();
    let down: Vec<&str> = voters
        .iter()
        .filter(|m| !m.reachable)
        .map(|m| m.name.as_str())
        .collect();
    let q = hatui_model::Quorum::of(voters.len(), voters.len() - down.len());
    if q.members > 0 && !q.has_quorum() {
        let names = down.join(", ");
        let learners = c.etcd.members.iter().filter(|m| m.is_learner).count();
        let learner = if learners > 0 {
            " A learner cannot be promoted without a leader, so a join in progress waits."
        } else {
            ""
        };
        return Some(format!(
            "etcd has no quorum: {} of its {} voting member(s) do not answer ({names}) and {} \
             voters need {}: there is no leader, no apiserver can serve and the endpoint \
             answers nothing.{learner} Bring {names} back (R in the lab restores it), then run \
             this step again; if it cannot come back, it must be removed from etcd with \
             etcdctl member remove by hand, which needs a quorum too.",
            down.len(),
            q.members,
            q.members,
            q.needed,
        ));
    }
    if !c.etcd.members.is_empty() && c.endpoint.ready == Some(false) {
        let detail = c.endpoint.detail.clone().unwrap_or_default();
        return Some(format!(
            "the endpoint {} does not answer: {detail}",
            c.endpoint.address
        ));
    }
    None
}
