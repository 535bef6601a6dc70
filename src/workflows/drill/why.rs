//! One sentence of why for each class of event on the drill's timeline: what a presenter
//! says next to the figure.

use super::fault::DrillFault;

/// Whether the fault stops etcd cleanly (SIGTERM: the leader hands over).
fn clean(fault: DrillFault) -> bool {
    matches!(
        fault,
        DrillFault::ControlPlane | DrillFault::Etcd | DrillFault::Shutdown
    )
}

pub fn leader_lost(fault: DrillFault, old: &str) -> String {
    if clean(fault) {
        format!("{old}'s etcd got SIGTERM and transferred its leadership before exiting")
    } else if fault == DrillFault::Network {
        format!("{old} was cut off from the majority, which stopped hearing its heartbeats")
    } else {
        format!("{old} died at once: its heartbeats (every 100 ms) stopped")
    }
}

/// `without_s`: how long the run saw no leader. A clean stop's handover is claimed only when
/// the run saw one (no leaderless gap); an unclean one cannot hand over (a cut-off leader
/// may still name itself until it steps down, so a short gap proves nothing there).
pub fn new_leader(fault: DrillFault, old: &str, new: &str, after_s: f64, without_s: f64) -> String {
    let handed_over = without_s < 0.5;
    if clean(fault) && handed_over {
        format!(
            "etcd leadership moved to {new} after {after_s:.1} s: {old} was stopped cleanly \
             (SIGTERM) and handed over within tens of ms, no election timeout"
        )
    } else if clean(fault) {
        format!(
            "etcd elected {new} after {after_s:.1} s: {without_s:.1} s without a leader, so \
             {old} did not hand over although it was stopped with SIGTERM"
        )
    } else {
        format!(
            "etcd elected {new} after {after_s:.1} s: the followers waited an election timeout \
             (1-2 s) because {old} {} without handing over",
            if fault == DrillFault::Network {
                "was cut off"
            } else {
                "died"
            }
        )
    }
}

pub fn lease_released(lease: &str, holder: &str) -> String {
    format!(
        "{lease}: {holder}'s copy got SIGTERM and emptied the lease (ReleaseOnCancel), so \
         another takes it at its next retry (every 2 to 4.4 s: 2 s with jitter 1.2)"
    )
}

pub fn lease_taken(lease: &str, old: &str, new: &str, released: bool) -> String {
    if released {
        format!(
            "{lease}: {new} took the lease {old} released, at its next retry (every 2 to 4.4 s)"
        )
    } else {
        format!(
            "{lease}: {old} stopped renewing; {new} could take the lease only once it expired \
             (leaseDuration 15 s after it last saw the lease renewed, tried every 2 to 4.4 s: \
             2 s with jitter 1.2)"
        )
    }
}

/// `cm_moved`: when a new controller-manager took its lease (its node controller gives
/// every node a fresh grace period when it starts).
pub fn not_ready(node: &str, grace_s: i64, cm_moved: Option<f64>) -> String {
    let from = match cm_moved {
        Some(at) => format!(
            ", counted from {at:.1} s when the new controller-manager leader started watching"
        ),
        None => String::new(),
    };
    format!(
        "the node controller set Ready=Unknown (and the unreachable taints) after hearing \
         nothing from {node}'s kubelet for node-monitor-grace-period ({grace_s} s){from}"
    )
}

pub fn pods_gone(node: &str) -> String {
    format!(
        "the kubelet on {node} watches its manifest directory (inotify): it stopped the \
         static pods whose manifests were moved out"
    )
}

pub fn readyz(error: &str) -> &'static str {
    if error.contains("powered off") {
        "a powered-off master answers nothing: requests time out"
    } else if error.contains("manifest") || error.contains("stopped") {
        "the kubelet stopped the apiserver's static pod"
    } else if error.contains("local etcd") {
        "with stacked etcd an apiserver talks only to its local member: without it, it cannot serve"
    } else if error.contains("no leader") || error.contains("quorum") {
        "etcd cannot commit without a leader a majority can reach, so /readyz fails its etcd check"
    } else {
        "its /readyz failed"
    }
}

pub fn endpoint(error: &str) -> &'static str {
    if error.contains("still sends it traffic") || error.contains("still holds the VIP") {
        "the load balancer has not dropped the dead backend yet: new connections that reach it \
         fail until its health checks do"
    } else if error.contains("no server") || error.contains("no master holds") {
        "the load balancer had no backend left to send the request to"
    } else {
        "the request through the load balancer failed"
    }
}

pub fn pod_scheduled(node: &str, waited_for_lease: bool, holder: &str) -> String {
    if waited_for_lease {
        format!(
            "pods still schedule, after a wait: only a scheduler holding the kube-scheduler \
             lease binds pods, and {holder}'s took it; it chose {node}"
        )
    } else {
        format!("pods still schedule: {holder}'s scheduler kept its lease and bound it to {node}")
    }
}
