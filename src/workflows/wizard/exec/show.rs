//! What the lab's kubectl and etcdctl print for the verify step's commands.

use hatui_lab::Lab;

/// Which verify command's answer to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Show {
    Nodes,
    Members,
    Leases,
    Readyz,
}

pub(super) fn render(lab: &Lab, what: Show) -> Vec<String> {
    match what {
        Show::Nodes => nodes(lab),
        Show::Members => members(lab),
        Show::Leases => leases(lab),
        Show::Readyz => vec!["ok".into()],
    }
}

fn nodes(lab: &Lab) -> Vec<String> {
    let mut out = vec![format!(
        "{:<12} {:<9} {:<14} {:<8} {:<12}",
        "NAME", "STATUS", "ROLES", "VERSION", "INTERNAL-IP"
    )];
    let n = lab.config().control_planes + lab.config().workers;
    for node in (0..n).filter_map(|i| lab.node(&lab.host_name(i))) {
        let roles = if node.roles.is_empty() {
            "<none>".to_string()
        } else {
            node.roles.join(",")
        };
        out.push(format!(
            "{:<12} {:<9} {:<14} {:<8} {:<12}",
            node.name,
            format!("{:?}", node.ready),
            roles,
            node.kubelet_version,
            node.internal_ip.unwrap_or_default()
        ));
    }
    out
}

fn members(lab: &Lab) -> Vec<String> {
    let rule = "+------------------+---------+--------+-------------------------+-------------------------+------------+";
    let mut out = vec![
        rule.to_string(),
        "|        ID        | STATUS  |  NAME  |       PEER ADDRS        |      CLIENT ADDRS       | IS LEARNER |".into(),
        rule.to_string(),
    ];
    for m in lab.etcd_status().members {
        out.push(format!(
            "| {:016x} | {:<7} | {:<6} | {:<23} | {:<23} | {:<10} |",
            m.id,
            if m.reachable { "started" } else { "unstarted" },
            m.name,
            m.peer_urls.join(","),
            if m.reachable {
                m.client_urls.join(",")
            } else {
                String::new()
            },
            m.is_learner
        ));
    }
    out.push(rule.to_string());
    out
}

fn leases(lab: &Lab) -> Vec<String> {
    let mut out = vec![format!("{:<24} {:<60}", "NAME", "HOLDER")];
    let names = ["kube-scheduler", "kube-controller-manager"];
    for l in names.iter().filter_map(|n| lab.lease(n)) {
        out.push(format!(
            "{:<24} {:<60}",
            l.name,
            l.holder_identity.unwrap_or_default()
        ));
    }
    out
}
