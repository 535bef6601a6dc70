//! Day 2: the plan that replaces a dead master. Its etcd member is removed first (a new
//! member cannot join while an unreachable one is listed: kubeadm's `check-etcd` refuses),
//! its Node deleted, the new machine reset, fresh join material made, the replacement
//! joined as a learner and promoted, the join material deleted, and the whole verified.

use super::lb_files::{
    CHECK_APISERVER_PATH, HAPROXY_CFG_PATH, KEEPALIVED_CONF_PATH, check_apiserver, haproxy_cfg,
    install, keepalived_conf,
};
use super::steps::{etcdctl, join_control_plane, token_create, upload_certs, verify};
use super::{ADMIN_CONF, Plan, Site, Step, StepKind, Wait, shape_warnings, step};
use crate::wizard::command::{Command, Var};
use hatui_fleet::inventory::{Host, Inventory, LoadBalancer};
use hatui_model::Quorum;

/// The plan replacing master `node` of `inv` (its entry carries the replacement's
/// address); the commands run through `healthy`, a master that is not `node`.
pub fn replace(inv: &Inventory, node: &str, healthy: &str) -> Option<Plan> {
    let host = inv.control_planes().find(|h| h.name == node)?;
    let ordinal = inv.control_planes().position(|h| h.name == node)? + 1;
    let h = healthy;
    let masters = inv.control_planes().count();
    let mut steps = Vec::new();

    let mut s = step(
        "check",
        StepKind::Check,
        "Before anything changes: the member list as etcd sees it. Removing the dead member \
         shrinks the voters by one, so the quorum is counted again on what is left.",
    );
    s.hosts.push(h.into());
    s.commands
        .push(Command::root(h, etcdctl(h, "member list -w table")));
    let (before, after) = (
        Quorum::of(masters, masters),
        Quorum::of(masters - 1, masters - 1),
    );
    s.notes.push(format!(
        "{masters} members need {} of {masters}; with {node}'s removed, {} voters need {} of \
         {}: {} may fail until the replacement has joined.",
        before.needed,
        after.members,
        after.needed,
        after.members,
        match after.tolerates {
            0 => "nothing else".to_string(),
            n => format!("{n} more"),
        },
    ));
    steps.push(s);

    let mut s = step(
        "snapshot",
        StepKind::Snapshot,
        "A snapshot of etcd before any change: if the removal goes wrong, it is the way back.",
    );
    s.hosts.push(h.into());
    let file = snapshot_file(node);
    s.commands.push(Command::root(
        h,
        etcdctl(h, &format!("snapshot save {file}")),
    ));
    s.notes.push(format!(
        "Saved on {h} in {file} (the etcd pod's data directory is the host's). Over SSH, \
         hatui then copies it to the bastion, checks it (its trailing SHA-256) and says where \
         it wrote it; the copy on {h} stays, readable by root only."
    ));
    steps.push(s);

    let mut s = step(
        format!("remove-member/{node}"),
        StepKind::RemoveMember,
        "The dead master's etcd member still counts in the quorum's denominator and blocks \
         every join (kubeadm's check-etcd finds it unreachable). Removing it is what nobody \
         does by hand in time.",
    );
    s.hosts.push(h.into());
    let list = etcdctl(h, "member list");
    let remove = etcdctl(h, "member remove \"$ID\"");
    // A list that fails is not an empty one: stop with etcdctl's error, never "removed".
    s.commands.push(Command::root(
        h,
        format!(
            "LIST=$({list}) || exit $?; \
             ID=$(echo \"$LIST\" | awk -F', ' '$3 == \"{node}\" {{print $1}}'); \
             if [ -z \"$ID\" ]; then echo '{node} has no etcd member: already removed'; \
             else {remove}; fi"
        ),
    ));
    steps.push(s);

    let mut s = step(
        format!("delete-node/{node}"),
        StepKind::DeleteNode,
        "The dead master's Node object (its pods go with it): the replacement registers a new \
         one under the same name.",
    );
    s.hosts.push(h.into());
    s.commands.push(Command::root(
        h,
        format!("kubectl --kubeconfig {ADMIN_CONF} delete node {node} --ignore-not-found"),
    ));
    steps.push(s);

    // The old machine: at `previous_address` when the replacement has another address.
    let old = host.previous().map_or_else(|| node.to_string(), |p| p.name);
    let mut s = step(
        format!("reset/{node}"),
        StepKind::Reset,
        "What kubeadm left on the old machine (its static pods, its etcd data) would bring \
         the removed member back if it booted again, and a half-run join on the machine at \
         the inventory's address would make the join refuse: `kubeadm reset -f` there. A \
         machine that does not answer over SSH is said and skipped, not a failure.",
    );
    s.hosts.push(old.clone());
    s.commands.push(Command::root(&old, "kubeadm reset -f"));
    steps.push(s);

    steps.push(upload_certs(
        "upload-certs",
        h,
        "The certificate key from init is gone after 2 h (or unknown here): a new one.",
    ));
    // The token's description is the plan's mark in the cluster (see [`marker`]).
    steps.push(token_create(
        "token-create",
        h,
        "A fresh join token (24 h) and the CA's hash.",
        &format!(" --description {}", marker(node)),
    ));

    let mut join = join_control_plane(inv, host, ordinal.max(3));
    join.why = format!(
        "The replacement joins as {node}: a learner first, promoted once it has caught up, \
         then its apiserver behind the endpoint."
    );
    load_balancer_targets(inv, host, &mut join);
    // What the operator does by hand (the NLB's targets) is said before the run too.
    let by_hand: Vec<String> = join.notes.clone();
    steps.push(join);

    let mut s = step(
        "cleanup",
        StepKind::Cleanup,
        "Every master has joined: the kubeadm-certs Secret (the control plane's keys, \
         encrypted with the certificate key) and the join token are no longer needed.",
    );
    s.hosts.push(h.into());
    s.commands.push(
        Command::root(
            h,
            format!(
                "kubectl --kubeconfig {ADMIN_CONF} -n kube-system delete secret kubeadm-certs \
                 --ignore-not-found && {{ kubeadm token delete "
            ),
        )
        .var(Var::Token)
        .text(" || echo 'the join token was already gone'; }"),
    );
    steps.push(s);

    let first = inv.hosts.iter().find(|x| x.name == h)?;
    let mut v = verify(inv, first);
    v.waits_for.push(Wait::EtcdVoter { node: node.into() });
    v.notes.clear();
    steps.push(v);
    let mut warnings = shape_warnings(masters);
    warnings.extend(by_hand);
    Some(Plan {
        steps,
        warnings,
        site: Site::of(inv),
    })
}

/// The description of the join token a replacement of `node` creates: how a later run
/// (a fresh process, nothing saved on the bastion) sees in the cluster that the
/// replacement is under way once the new master answers, and so does not refuse it as
/// "not dead". Why a token: it exists anyway from `token-create` until `cleanup`, is
/// observed already (the look reads descriptions, never secrets), expires by itself
/// (24 h), and a healthy master nobody replaces never has one. kubeadm's
/// `token create --description` stores it in the token's Secret.
pub fn marker(node: &str) -> String {
    format!("hatui-replacing-{node}")
}

/// The cleanup also deletes the marked tokens an earlier, killed run left (`ids`, seen
/// before this run): their secrets are unknown now, a rerun makes a new token, and a mark
/// left behind would let a later `--replace` of the healthy master pass unrefused.
pub fn delete_leftover_marks(plan: &mut Plan, ids: &[String]) {
    let Some(cleanup) = plan.steps.iter_mut().find(|s| s.kind == StepKind::Cleanup) else {
        return;
    };
    let Some(h) = cleanup.hosts.first().cloned() else {
        return;
    };
    for id in ids {
        cleanup.commands.push(Command::root(
            &h,
            format!("kubeadm token delete {id} || echo 'token {id} was already gone'"),
        ));
    }
}

/// After the join, the load balancer's targets where hatui manages them: HAProxy's
/// backends name every master's address, so its file is installed again and reloaded on
/// every HAProxy host (a reload keeps the connections), and the replacement, when it is one
/// of them, gets keepalived too. kube-vip's manifest comes with the join itself; an NLB's
/// target group is the operator's (said as a note).
fn load_balancer_targets(inv: &Inventory, host: &Host, join: &mut Step) {
    let now = format!("{}:6443", host.address);
    let before = host.previous_address.as_ref().map(|a| format!("{a}:6443"));
    match (inv.load_balancer, &inv.vip) {
        (LoadBalancer::Nlb, _) => join.notes.push(match before.filter(|b| *b != now) {
            Some(old) => format!(
                "nlb checklist: register {now} in the target group and deregister {old} (the \
                 old machine), or the NLB sends a share of the API's connections nowhere."
            ),
            None => format!(
                "nlb checklist: the target group still holds {now}; it is healthy again once \
                 the replacement's apiserver answers."
            ),
        }),
        (LoadBalancer::Haproxy, Some(vip)) => {
            let cfg = haproxy_cfg(inv);
            let on_masters = inv.load_balancers.is_empty();
            let lbs: Vec<&Host> = if on_masters {
                inv.control_planes().collect()
            } else {
                inv.load_balancers.iter().collect()
            };
            for (i, lb) in lbs.into_iter().enumerate() {
                let n = &lb.name;
                if !join.hosts.contains(n) {
                    join.hosts.push(n.clone());
                }
                join.commands
                    .push(install(n, HAPROXY_CFG_PATH, "0644", &cfg));
                if n == &host.name {
                    let keepalived = keepalived_conf(inv, vip, i);
                    let check = check_apiserver(inv);
                    join.commands
                        .push(install(n, KEEPALIVED_CONF_PATH, "0644", &keepalived));
                    join.commands
                        .push(install(n, CHECK_APISERVER_PATH, "0755", &check));
                    join.commands.push(Command::root(
                        n,
                        "systemctl enable haproxy keepalived && systemctl restart haproxy keepalived",
                    ));
                } else {
                    join.commands
                        .push(Command::root(n, "systemctl reload haproxy"));
                }
            }
        }
        _ => {}
    }
}

/// Where the `snapshot` step leaves its file on the healthy master.
pub fn snapshot_file(node: &str) -> String {
    format!("{SNAPSHOT_DIR}/hatui-before-replace-{node}.db")
}

/// The etcd data directory, the host's as the pod's (kubeadm's hostPath).
const SNAPSHOT_DIR: &str = "/var/lib/etcd";

/// The file a `snapshot` step's command saves (its `etcdctl snapshot save` argument), if
/// `command` is one: what the SSH executor then copies to the bastion.
pub fn snapshot_saved(command: &str) -> Option<&str> {
    let at = command.find(" snapshot save ")? + " snapshot save ".len();
    let file = command[at..].split_whitespace().next()?;
    let name = file
        .strip_prefix(SNAPSHOT_DIR)?
        .strip_prefix("/hatui-before-replace-")?;
    name.ends_with(".db").then_some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_steps_file_is_recognised_and_nothing_else() {
        let save = etcdctl("cp-2", &format!("snapshot save {}", snapshot_file("cp-1")));
        assert_eq!(
            snapshot_saved(&save),
            Some("/var/lib/etcd/hatui-before-replace-cp-1.db")
        );
        assert_eq!(snapshot_saved("etcdctl snapshot save /tmp/x.db"), None);
        assert_eq!(snapshot_saved("kubeadm reset -f"), None);
    }
}
