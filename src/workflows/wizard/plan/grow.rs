//! Day 2: the plan that adds masters the inventory lists to a running control plane, one
//! at a time (etcd takes one learner at a time): fresh join material, each join (a
//! learner, promoted once caught up), the load balancer's targets, the join material
//! deleted, and the whole verified. Also the load balancer's step both grow and shrink use.

use super::lb_files::{
    CHECK_APISERVER_PATH, HAPROXY_CFG_PATH, KEEPALIVED_CONF_PATH, check_apiserver, haproxy_cfg,
    install, keepalived_conf,
};
use super::steps::{cleanup, etcdctl, join_control_plane, token_create, upload_certs, verify};
use super::{Plan, Site, Step, StepKind, Wait, shape_warnings, step};
use crate::wizard::command::Command;
use crate::wizard::engine::fix::LOAD_BALANCER;
use hatui_fleet::inventory::{Host, Inventory, LoadBalancer};
use hatui_model::Quorum;

/// The plan adding `nodes` (control planes of `inv` that are not members yet) through
/// `healthy`, a master already in the cluster. `inv` lists every master, the new ones
/// included. Err: a name that is not a control plane of `inv`.
pub fn grow(
    inv: &Inventory,
    nodes: &[String],
    healthy: &str,
    keep_cert_key: bool,
) -> Result<Plan, String> {
    let masters: Vec<&Host> = inv.control_planes().collect();
    let mut adding = Vec::new();
    for n in nodes {
        let at = masters.iter().position(|h| &h.name == n).ok_or_else(|| {
            format!("{n} is not a control plane of the inventory: add its [[hosts]] entry (role = \"control-plane\") first")
        })?;
        adding.push((at, masters[at]));
    }
    let h = healthy;
    let after = masters.len();
    let before = after - adding.len();
    let mut steps = Vec::new();

    let mut s = step(
        "check",
        StepKind::Check,
        "Before anything changes: the member list as etcd sees it, and the quorum before and \
         after. Each new member joins as a learner, which neither votes nor counts in the \
         quorum until it is promoted, so a join never leaves the cluster weaker.",
    );
    s.hosts.push(h.into());
    s.commands
        .push(Command::root(h, etcdctl(h, "member list -w table")));
    let (from, to) = (Quorum::of(before, before), Quorum::of(after, after));
    s.notes.push(format!(
        "{before} voters need {} and tolerate {} failure(s); {after} need {} of {after} and \
         tolerate {}.",
        from.needed, from.tolerates, to.needed, to.tolerates
    ));
    s.notes.push(format!(
        "One at a time: each new master joins as a learner (the voters stay as they are \
         until it is promoted), so no join leaves fewer than {before} voters.",
    ));
    steps.push(s);

    steps.push(upload_certs(
        "upload-certs",
        h,
        "The certificate key from init is gone after 2 h (or deleted by the build's cleanup): \
         a new one, and a new kubeadm-certs Secret for the joins to fetch.",
    ));
    steps.push(token_create(
        "token-create",
        h,
        "A fresh join token (24 h) and the CA's hash.",
        "",
    ));

    for (k, (at, host)) in adding.iter().enumerate() {
        let mut join = join_control_plane(inv, host, at + 1);
        let n = before + k + 1;
        let q = Quorum::of(n, n);
        join.notes.push(format!(
            "{} joins as a learner (the voters stay {}), then is promoted: {n} voters, quorum \
             {} of {n}, {} failure(s) tolerated.",
            host.name,
            n - 1,
            q.needed,
            q.tolerates
        ));
        steps.push(join);
        // The balancer as it stands after this join: masters still to come are not in it.
        let mut now = inv.clone();
        let later: Vec<&str> = adding[k + 1..]
            .iter()
            .map(|(_, h)| h.name.as_str())
            .collect();
        now.hosts.retain(|x| !later.contains(&x.name.as_str()));
        steps.extend(lb_targets(&now, host, true));
    }

    if !keep_cert_key {
        steps.push(cleanup(h, true));
    }

    let first = inv
        .hosts
        .iter()
        .find(|x| x.name == h)
        .ok_or_else(|| format!("{h} is not a host of the inventory"))?;
    let mut v = verify(inv, first);
    for (_, host) in &adding {
        v.waits_for.push(Wait::EtcdVoter {
            node: host.name.clone(),
        });
    }
    v.notes.clear();
    steps.push(v);
    Ok(Plan {
        steps,
        warnings: shape_warnings(after),
        site: Site::of(inv),
    })
}

/// `lb-targets/NODE`: `node` into the load balancer's targets (`joining`) or out of
/// them, `inv` being the inventory after the change. HAProxy's backends are rewritten
/// where it runs (a joining master that runs it gets keepalived too; a leaving one stops
/// both); the NLB's target group is changed with the AWS CLI; kube-vip needs nothing (the
/// join writes its manifest, `kubeadm reset` removes it).
pub(super) fn lb_targets(inv: &Inventory, node: &Host, joining: bool) -> Option<Step> {
    let (why, verb) = if joining {
        (
            "The new master's apiserver is up: the load balancer sends it connections from now on.",
            "register-targets",
        )
    } else {
        (
            "The master leaves the load balancer first, so that no client is sent to an \
             apiserver about to lose its etcd.",
            "deregister-targets",
        )
    };
    let mut s = step(
        format!("lb-targets/{}", node.name),
        StepKind::LbTargets,
        why,
    );
    match inv.load_balancer {
        LoadBalancer::KubeVip => return None,
        LoadBalancer::Nlb => {
            s.hosts.push(LOAD_BALANCER.into());
            s.commands.push(Command {
                root: false,
                ..Command::root(
                    LOAD_BALANCER,
                    format!(
                        "aws elbv2 {verb} --target-group-arn \"$TARGET_GROUP_ARN\" --targets Id={},Port=6443",
                        node.address
                    ),
                )
            });
            s.notes.push(format!(
                "nlb checklist: {} {}:6443 {} the target group (hatui holds no AWS credentials: \
                 run it where the AWS CLI is set up, with TARGET_GROUP_ARN set).",
                if joining { "register" } else { "deregister" },
                node.address,
                if joining { "in" } else { "from" },
            ));
        }
        LoadBalancer::Haproxy => {
            let cfg = haproxy_cfg(inv);
            let own = !inv.load_balancers.is_empty();
            let on: Vec<&Host> = if own {
                inv.load_balancers.iter().collect()
            } else {
                inv.control_planes().collect()
            };
            for (i, h) in on.into_iter().enumerate() {
                let n = &h.name;
                s.hosts.push(n.clone());
                s.commands.push(install(n, HAPROXY_CFG_PATH, "0644", &cfg));
                let new_here = joining && !own && n == &node.name;
                match (&inv.vip, new_here) {
                    (Some(vip), true) => {
                        let conf = keepalived_conf(inv, vip, i);
                        s.commands
                            .push(install(n, KEEPALIVED_CONF_PATH, "0644", &conf));
                        s.commands.push(install(
                            n,
                            CHECK_APISERVER_PATH,
                            "0755",
                            &check_apiserver(inv),
                        ));
                        s.commands.push(Command::root(
                            n,
                            "systemctl enable haproxy keepalived && systemctl restart haproxy keepalived",
                        ));
                    }
                    _ => s
                        .commands
                        .push(Command::root(n, "systemctl reload haproxy")),
                }
            }
            if !joining && !own {
                s.hosts.push(node.name.clone());
                s.commands.push(Command::root(
                    &node.name,
                    "systemctl disable --now haproxy keepalived",
                ));
            }
        }
    }
    Some(s)
}
