//! Day 2: the plan that takes live masters out, one at a time: out of the load balancer,
//! leadership moved off it when it leads (`etcdctl move-leader`: one quick, planned
//! election instead of the one its disappearance would force), its member removed, its
//! Node drained and deleted, and `kubeadm reset -f` on it. Refused when it would end
//! with fewer than three masters or an even number.

use super::grow::lb_targets;
use super::steps::{etcdctl, verify};
use super::{ADMIN_CONF, Plan, Retire, Site, StepKind, shape_warnings, step};
use crate::wizard::command::Command;
use hatui_fleet::inventory::{Host, Inventory};
use hatui_model::Quorum;

/// Where the shrink's `snapshot` step saves etcd on the master it runs through.
pub const SNAPSHOT_FILE: &str = "/var/lib/etcd/hatui-before-remove.db";

/// The snapshot file a day-2 command saves (the replacement's or the shrink's), which
/// the SSH executor and the dry-run script copy to the bastion.
pub fn day2_snapshot_saved(command: &str) -> Option<&str> {
    super::snapshot_saved(command).or_else(|| {
        let at = command.find(" snapshot save ")? + " snapshot save ".len();
        let file = command[at..].split_whitespace().next()?;
        (file == SNAPSHOT_FILE).then_some(file)
    })
}

/// Why taking `removing` of `voters` masters out is refused (`--force` overrides), with
/// `answering` of the voters left answering: fewer than three left, an even count, or no
/// quorum among those left.
pub fn shrink_refusal(voters: usize, removing: usize, answering: usize) -> Option<String> {
    let left = voters.saturating_sub(removing);
    let q = Quorum::of(left, left);
    if left < 3 {
        return Some(format!(
            "it would leave {left} master(s): {left} voter(s) need {} of {left} and tolerate {}, \
             so losing {} stops the cluster. Keep at least three (--force to go on anyway).",
            q.needed,
            failures(q.tolerates),
            if left <= 1 { "that one" } else { "either" },
        ));
    }
    if left.is_multiple_of(2) {
        let odd = Quorum::of(left - 1, left - 1);
        return Some(format!(
            "it would leave {left} masters, an even number: quorum {} of {left} tolerates {}, \
             no more than {} masters do (quorum {} of {}, {}), with one more machine that can \
             fail. Remove one more or one fewer (--force to go on anyway).",
            q.needed,
            failures(q.tolerates),
            left - 1,
            odd.needed,
            left - 1,
            failures(odd.tolerates),
        ));
    }
    let live = Quorum::of(left, answering);
    (!live.has_quorum()).then(|| {
        format!(
            "of the {left} voters left only {answering} answer: {} are needed, so etcd could \
             not commit the removals. Bring the others back first (--force to try anyway).",
            live.needed
        )
    })
}

fn failures(n: usize) -> String {
    match n {
        0 => "no failure".into(),
        1 => "1 failure".into(),
        n => format!("{n} failures"),
    }
}

/// The plan taking `nodes` (masters of `inv`, members now) out through `healthy`, a
/// master that stays. Err: a name that is not a control plane of `inv`, or `healthy`
/// among those leaving.
pub fn shrink(inv: &Inventory, nodes: &[String], healthy: &str) -> Result<Plan, String> {
    let leaving: Vec<&Host> = nodes
        .iter()
        .map(|n| {
            inv.control_planes()
                .find(|h| &h.name == n)
                .ok_or_else(|| format!("{n} is not a control plane of the inventory"))
        })
        .collect::<Result<_, _>>()?;
    if nodes.iter().any(|n| n == healthy) {
        return Err(format!(
            "{healthy} leaves: the plan needs a master that stays"
        ));
    }
    let mut after = inv.clone();
    after.hosts.retain(|x| !nodes.contains(&x.name));
    let h = healthy;
    let before = inv.control_planes().count();
    let left = before - leaving.len();
    let mut steps = Vec::new();

    let mut s = step(
        "check",
        StepKind::Check,
        "Before anything changes: the member list as etcd sees it. Each removal shrinks the \
         voters by one, so the quorum is counted again on what is left.",
    );
    s.hosts.push(h.into());
    s.commands
        .push(Command::root(h, etcdctl(h, "member list -w table")));
    let (from, to) = (Quorum::of(before, before), Quorum::of(left, left));
    s.notes.push(format!(
        "{before} voters need {} and tolerate {} failure(s); {left} need {} of {left} and \
         tolerate {}.",
        from.needed, from.tolerates, to.needed, to.tolerates
    ));
    steps.push(s);

    let mut s = step(
        "snapshot",
        StepKind::Snapshot,
        "A snapshot of etcd before any member leaves: if a removal goes wrong, it is the way \
         back.",
    );
    s.hosts.push(h.into());
    let file = SNAPSHOT_FILE;
    s.commands.push(Command::root(
        h,
        etcdctl(h, &format!("snapshot save {file}")),
    ));
    s.notes.push(format!(
        "Saved on {h} in {file}; copy it off the host, or take one to the bastion with \
         `hatui etcd snapshot`."
    ));
    steps.push(s);

    for node in leaving {
        let n = &node.name;
        steps.extend(lb_targets(&after, node, false));
        steps.push(move_leader(n, h));

        let mut s = step(
            format!("remove-member/{n}"),
            StepKind::Retire(Retire::Member),
            "Its etcd member out of the member list, through a master that stays: the voters \
             and the quorum shrink by one.",
        );
        s.hosts.push(h.into());
        let list = etcdctl(h, "member list");
        let remove = etcdctl(h, "member remove \"$ID\"");
        s.commands.push(Command::root(
            h,
            format!(
                "ID=$({list} | awk -F', ' '$3 == \"{n}\" {{print $1}}'); if [ -z \"$ID\" ]; \
                 then echo '{n} has no etcd member: already removed'; else {remove}; fi"
            ),
        ));
        steps.push(s);

        let mut s = step(
            format!("drain/{n}"),
            StepKind::Drain,
            "Whatever runs there besides its static pods and DaemonSets (CoreDNS, say) moves \
             to the masters that stay before its Node goes.",
        );
        s.hosts.push(h.into());
        s.commands.push(Command::root(
            h,
            format!(
                "kubectl --kubeconfig {ADMIN_CONF} drain {n} --ignore-daemonsets --delete-emptydir-data --timeout 300s"
            ),
        ));
        steps.push(s);

        let mut s = step(
            format!("delete-node/{n}"),
            StepKind::Retire(Retire::Node),
            "Its Node object: the cluster no longer counts it.",
        );
        s.hosts.push(h.into());
        s.commands.push(Command::root(
            h,
            format!("kubectl --kubeconfig {ADMIN_CONF} delete node {n} --ignore-not-found"),
        ));
        steps.push(s);

        let mut s = step(
            format!("reset/{n}"),
            StepKind::Retire(Retire::Reset),
            "kubeadm's files, static pods and local etcd data off the machine, so that it \
             cannot come back as a member nobody expects.",
        );
        s.hosts.push(n.clone());
        s.commands.push(Command::root(n, "kubeadm reset -f"));
        steps.push(s);
    }

    let first = after.hosts.iter().find(|x| x.name == h).cloned();
    let first = first.ok_or_else(|| format!("{h} is not a host of the inventory"))?;
    let mut v = verify(&after, &first);
    v.notes.clear();
    steps.push(v);
    Ok(Plan {
        steps,
        warnings: shape_warnings(left),
        site: Site::of(&after),
    })
}

/// `move-leader/NODE`: when NODE's own member leads (its `endpoint status` names itself),
/// leadership goes to `to`'s member (etcdctl must talk to the leader: it refuses "no
/// leader endpoint given" otherwise); else nothing moves.
fn move_leader(node: &str, to: &str) -> super::Step {
    let mut s = step(
        format!("move-leader/{node}"),
        StepKind::MoveLeader,
        "A leader removed from the cluster steps down and the others wait out an election \
         timeout before one of them leads: writes stop meanwhile. Moving leadership first \
         is one planned handover instead.",
    );
    s.hosts.push(node.into());
    let status = etcdctl(node, "endpoint status -w json");
    let list = etcdctl(to, "member list");
    let moved = etcdctl(node, "move-leader \"$TO\"");
    s.commands.push(Command::root(
        node,
        format!(
            "S=$({status}); M=$(echo \"$S\" | sed -nE 's/.*\"member_id\":([0-9]+).*/\\1/p'); \
             L=$(echo \"$S\" | sed -nE 's/.*\"leader\":([0-9]+).*/\\1/p'); \
             if [ -n \"$M\" ] && [ \"$M\" = \"$L\" ]; then \
             TO=$({list} | awk -F', ' '$3 == \"{to}\" {{print $1}}'); {moved}; \
             else echo '{node} does not lead: nothing to move'; fi"
        ),
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shrinks_snapshot_is_recognised_as_the_replacements_is_and_nothing_else() {
        let save = etcdctl("cp-1", &format!("snapshot save {SNAPSHOT_FILE}"));
        assert_eq!(day2_snapshot_saved(&save), Some(SNAPSHOT_FILE));
        let other = etcdctl("cp-1", "snapshot save /tmp/elsewhere.db");
        assert_eq!(day2_snapshot_saved(&other), None);
        assert_eq!(day2_snapshot_saved(&etcdctl("cp-1", "member list")), None);
    }
}
