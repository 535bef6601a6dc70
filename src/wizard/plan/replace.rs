//! Day 2: the plan that replaces a dead master. Its etcd member is removed first (a new
//! member cannot join while an unreachable one is listed: kubeadm's `check-etcd` refuses),
//! its Node deleted, the new machine reset, fresh join material made, the replacement
//! joined as a learner and promoted, the join material deleted, and the whole verified.

use super::steps::{etcdctl, join_control_plane, verify};
use super::{ADMIN_CONF, Plan, Site, StepKind, Wait, shape_warnings, step};
use crate::fleet::inventory::Inventory;
use crate::model::Quorum;
use crate::wizard::command::{Command, Var};

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
    let file = format!("/var/lib/etcd/hatui-before-replace-{node}.db");
    s.commands.push(Command::root(
        h,
        etcdctl(h, &format!("snapshot save {file}")),
    ));
    s.notes.push(format!(
        "Saved on {h} in {file} (the etcd pod's data directory is the host's); copy it off \
         the host, or take one to the bastion with `hatui etcd snapshot`."
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

    let mut s = step(
        format!("reset/{node}"),
        StepKind::Reset,
        "Whatever an earlier kubeadm left on the machine at the inventory's address (the old \
         host brought back, or a half-run join) would make the join refuse.",
    );
    s.hosts.push(node.into());
    s.commands.push(Command::root(node, "kubeadm reset -f"));
    steps.push(s);

    let mut s = step(
        "upload-certs",
        StepKind::UploadCerts,
        "The certificate key from init is gone after 2 h (or unknown here): a new one.",
    );
    s.hosts.push(h.into());
    s.commands.push(Command::root(
        h,
        "kubeadm init phase upload-certs --upload-certs",
    ));
    s.captures.push(Var::CertificateKey);
    steps.push(s);

    let mut s = step(
        "token-create",
        StepKind::TokenCreate,
        "A fresh join token (24 h) and the CA's hash.",
    );
    s.hosts.push(h.into());
    s.commands.push(Command::root(
        h,
        "kubeadm token create --print-join-command",
    ));
    s.captures = vec![Var::Token, Var::CaCertHash];
    steps.push(s);

    let mut join = join_control_plane(inv, host, ordinal.max(3));
    join.why = format!(
        "The replacement joins as {node}: a learner first, promoted once it has caught up, \
         then its apiserver behind the endpoint."
    );
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
    Some(Plan {
        steps,
        warnings: shape_warnings(masters),
        site: Site::of(inv),
    })
}
