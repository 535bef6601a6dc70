//! `hatui wizard --inventory FILE --add NODE[,NODE] --yes|--dry-run` and `--remove
//! NODE[,NODE]`: the day-2 plans of the lab (`resize.rs`) on the inventory's hosts over
//! SSH, through a master whose etcd member answers and stays. The refusals are the lab's,
//! decided on what the SSH executor's look observes. What already happened (an earlier run
//! was killed) is found by looking: a rerun continues where the cluster is.

use std::io::Write;
use std::path::{Path, PathBuf};

use color_eyre::Result;
use tokio::runtime::Handle;

use super::Resize;
use super::ssh::{SshRun, run_day2};
use crate::wizard::engine::fix::LOAD_BALANCER;
use crate::wizard::exec::{Executor, SshExecutor};
use crate::wizard::plan::{self, Plan, StepKind};
use hatui_fleet::SshOverrides;
use hatui_fleet::audit::Audit;
use hatui_fleet::inventory::{self, Inventory, Role};
use hatui_model::ClusterState;

/// Adds or removes the masters of `r` on the hosts. Returns the exit code: 0 verified,
/// 1 not verified, 2 refused (nothing ran).
pub fn resize_ssh(
    run: &SshRun,
    r: &Resize,
    rt: Handle,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<i32> {
    let inv = inventory::load(&run.inventory)?;
    if let Err(why) = names_in(&inv, r, &run.inventory) {
        writeln!(err, "hatui wizard: {why}")?;
        return Ok(2);
    }
    let audit = Audit::for_cluster(&inv.name);
    let snapshots = audit
        .path()
        .parent()
        .map_or_else(|| PathBuf::from("snapshots"), |d| d.join("snapshots"));
    let log = audit.path().display().to_string();
    let mut exec = SshExecutor::new(&inv, &run.overrides, audit, rt).snapshots_to(snapshots);
    // A leaving master whose member is already removed (a rerun) has nothing to say.
    exec.look_through("", &r.remove);
    exec.refresh();
    let answer = if r.add.is_empty() {
        shrink_here(&inv, r, exec.cluster())
    } else {
        grow_here(&inv, r, exec.cluster(), run.keep_cert_key)
    };
    let (plan, through, what) = match answer {
        Ok(found) => found,
        Err(why) => {
            writeln!(err, "hatui wizard: {why}")?;
            return Ok(2);
        }
    };
    exec.look_through(&through, &r.remove);
    let title = format!(
        "hatui wizard on {} over SSH: {what} (through {through}); every command is logged in {log}",
        inv.name
    );
    run_day2(plan, &mut exec, &inv.name, run.json, &title, out)
}

/// `--add`/`--remove` with `--dry-run`: the plan as a script (no `cleanup` with
/// `keep_cert_key`), through the first master
/// that neither joins nor leaves (nothing is looked at: every other master of the
/// inventory is taken for a member). `Err`: why not.
pub fn resize_script(
    path: &Path,
    r: &Resize,
    keep_cert_key: bool,
    overrides: &SshOverrides,
) -> Result<std::result::Result<String, String>> {
    let inv = inventory::load(path)?.with_overrides(overrides);
    if let Err(why) = names_in(&inv, r, path) {
        return Ok(Err(why));
    }
    let named: Vec<&String> = r.add.iter().chain(&r.remove).collect();
    let Some(through) = inv.control_planes().find(|h| !named.contains(&&h.name)) else {
        return Ok(Err(format!(
            "every master of {} is named: the plan needs one that stays",
            path.display()
        )));
    };
    let through = through.name.clone();
    let (mut plan, what) = if r.add.is_empty() {
        match plan::shrink(&inv, &r.remove, &through) {
            Ok(p) => (p, format!("remove the masters {}", r.remove.join(", "))),
            Err(why) => return Ok(Err(why)),
        }
    } else {
        match plan::grow(&inv, &r.add, &through, keep_cert_key) {
            Ok(p) => (p, format!("add the masters {}", r.add.join(", "))),
            Err(why) => return Ok(Err(why)),
        }
    };
    nlb_by_hand(&mut plan);
    let what = format!(
        "{what} of \"{}\" (through {through}: the first master that stays; edit FIRST below \
         to go through another whose etcd member answers)",
        inv.name
    );
    let source = path.display().to_string();
    let done = format!("==> done: {} and the cluster verified", named_done(r));
    Ok(Ok(crate::wizard::script::render_day2(
        &inv, &plan, &source, &what, &through, &done,
    )))
}

fn named_done(r: &Resize) -> String {
    if r.add.is_empty() {
        format!("{} removed", r.remove.join(", "))
    } else {
        format!("{} added", r.add.join(", "))
    }
}

/// Every name is a control plane of the inventory (the new ones included: their
/// `[[hosts]]` entries come first).
fn names_in(inv: &Inventory, r: &Resize, path: &Path) -> std::result::Result<(), String> {
    let flag = if r.add.is_empty() { "remove" } else { "add" };
    for n in r.add.iter().chain(&r.remove) {
        if !inv.control_planes().any(|h| &h.name == n) {
            return Err(format!(
                "refusing to {flag} {n}: it is not a control plane in {}: add its [[hosts]] \
                 entry (role = \"control-plane\") first",
                path.display()
            ));
        }
    }
    Ok(())
}

/// A voter whose member answers, not among `named`, the first in inventory order.
fn through(inv: &Inventory, c: &ClusterState, named: &[String]) -> Option<String> {
    let answering = |n: &str| {
        let m = c.etcd.members.iter().find(|m| m.name == n);
        m.is_some_and(|m| m.reachable && !m.is_learner)
    };
    inv.control_planes()
        .map(|h| h.name.clone())
        .find(|n| !named.contains(n) && answering(n))
}

/// The grow plan on what the look saw: the inventory's masters that are neither members
/// nor named are left out (they are not part of this change). A named master already a
/// voter is found joined by the engine (a rerun).
fn grow_here(
    inv: &Inventory,
    r: &Resize,
    c: &ClusterState,
    keep_cert_key: bool,
) -> std::result::Result<(Plan, String, String), String> {
    let names = r.add.join(", ");
    let Some(healthy) = through(inv, c, &r.add) else {
        return Err(format!(
            "refusing to add {names}: no master's etcd member answers to add it through. {}",
            seen(c)
        ));
    };
    let member = |n: &str| c.etcd.members.iter().any(|m| m.name == n);
    let mut now = inv.clone();
    now.hosts
        .retain(|h| h.role != Role::ControlPlane || member(&h.name) || r.add.contains(&h.name));
    let mut p = plan::grow(&now, &r.add, &healthy, keep_cert_key)?;
    nlb_by_hand(&mut p);
    Ok((p, healthy, format!("add {names}")))
}

/// The shrink plan, refused as on the lab (fewer than three left, an even count, no
/// quorum among those left) unless forced.
fn shrink_here(
    inv: &Inventory,
    r: &Resize,
    c: &ClusterState,
) -> std::result::Result<(Plan, String, String), String> {
    let names = r.remove.join(",");
    if c.etcd.members.is_empty() {
        return Err(format!(
            "refusing to remove {names}: no etcd member list to decide on. {}",
            seen(c)
        ));
    }
    let voters: Vec<_> = c.etcd.members.iter().filter(|m| !m.is_learner).collect();
    // A named master already gone (an earlier run removed its member) still counts as
    // leaving: the rest of its removal is found done or finished.
    let still: Vec<&String> = r
        .remove
        .iter()
        .filter(|n| voters.iter().any(|m| &&m.name == n))
        .collect();
    if still.is_empty() && !r.force {
        return Err(format!(
            "refusing to remove {names}: none of them is a voting etcd member of the cluster \
             (--force to finish an earlier removal: its steps are found done)"
        ));
    }
    let gone = r.remove.len() - still.len();
    let answering = voters
        .iter()
        .filter(|m| m.reachable && !r.remove.contains(&m.name))
        .count();
    let why = plan::shrink_refusal(voters.len() + gone, r.remove.len(), answering);
    if let Some(why) = why.filter(|_| !r.force) {
        return Err(format!(
            "refusing to remove {names}: {why} Seen: {}",
            seen(c)
        ));
    }
    let Some(healthy) = through(inv, c, &r.remove) else {
        return Err(format!(
            "refusing to remove {names}: no master that stays has an etcd member that answers. {}",
            seen(c)
        ));
    };
    let mut p = plan::shrink(inv, &r.remove, &healthy)?;
    nlb_by_hand(&mut p);
    Ok((p, healthy, format!("remove {names}")))
}

/// What the look saw of etcd: each member, voter or learner, answering or not.
fn seen(c: &ClusterState) -> String {
    let via = c.etcd.via.clone().unwrap_or_else(|| "etcdctl".into());
    if c.etcd.members.is_empty() {
        let why = c
            .feed(hatui_model::FeedKind::Etcd)
            .and_then(|f| f.error.clone());
        return format!(
            "{via}: no member list ({})",
            why.unwrap_or_else(|| "no master answered".into())
        );
    }
    let each: Vec<String> = c
        .etcd
        .members
        .iter()
        .map(|m| {
            format!(
                "{} {}{}",
                m.name,
                if m.is_learner { "learner" } else { "voter" },
                if m.reachable {
                    " answers"
                } else {
                    " does not answer"
                }
            )
        })
        .collect();
    format!("{via}: {}.", each.join(", "))
}

/// The NLB's target group is on the cloud's side: hatui reaches no `load-balancer` host
/// over SSH, so `lb-targets` becomes its checklist line (a step with nothing to run,
/// its note said with its result) and a warning, as the replacement does for the NLB.
fn nlb_by_hand(p: &mut Plan) {
    for s in &mut p.steps {
        if s.kind != StepKind::LbTargets || !s.hosts.iter().any(|h| h == LOAD_BALANCER) {
            continue;
        }
        s.hosts.clear();
        s.commands.clear();
        if let Some(line) = s.notes.first() {
            p.warnings.push(format!("{}: by hand, {line}", s.id));
        }
    }
}
