//! `hatui drill --inventory FILE --fault KIND --target NODE --dry-run`: what a drill would
//! run on a real host over SSH, and how it would undo it, from the inventory alone. Nothing
//! is run; the quorum arithmetic assumes every member healthy when it starts (the live
//! drill checks that before it touches anything).

use super::fault::DrillFault;
use super::live::GUARD_MARGIN_S;
use super::plan::Refusal;
use hatui_fleet::inventory::{Inventory, Role};

/// The plan as text, or why the drill would not run.
pub fn render(
    inv: &Inventory,
    fault: DrillFault,
    target: &str,
    duration_s: i64,
    force: bool,
) -> Result<String, Refusal> {
    if target == "leader" {
        return Err(Refusal::plain(
            "--dry-run needs --target NODE: the etcd leader is known only on the running \
             cluster",
        ));
    }
    let Some(host) = inv.hosts.iter().find(|h| h.name == target) else {
        let names: Vec<&str> = inv.hosts.iter().map(|h| h.name.as_str()).collect();
        return Err(Refusal::plain(format!(
            "{target} is not in the inventory (hosts: {})",
            names.join(", ")
        )));
    };
    let master = host.role == Role::ControlPlane;
    if fault.needs_master() && !master {
        return Err(Refusal::plain(format!(
            "a {fault} fault needs a control-plane node; {target} is a worker"
        )));
    }
    let masters = inv.control_planes().count();
    let needed = masters / 2 + 1;
    let during = masters - usize::from(master && fault.takes_etcd_member());
    let arithmetic = format!(
        "etcd quorum: {masters} members need {needed} of {masters}; {during} left during the \
         {fault} fault on {target} (if all are healthy when it starts)"
    );
    if during < needed && !force {
        return Err(Refusal::plain(format!(
            "refusing: {arithmetic}. Quorum needs {needed} of {masters}: the API would stop \
             answering until the restore. Pass --force to run it anyway"
        )));
    }
    let others: Vec<String> = inv
        .control_planes()
        .filter(|h| h.name != target)
        .map(|h| h.address.clone())
        .collect();
    let user = host.user.as_deref().unwrap_or(&inv.ssh.user);
    let port = host.port.unwrap_or(inv.ssh.port);
    let root = if inv.ssh.sudo {
        "as root, one script through `sudo -n sh -c`"
    } else {
        "as one script"
    };
    let mut commands = fault.commands(&others);
    let mut restore = fault.restore_commands(&others);
    if let Some((arm, disarm)) = fault.guard(
        target,
        &others,
        duration_s + GUARD_MARGIN_S,
        &inv.drill_state_dir,
    ) {
        commands.insert(0, arm);
        restore.insert(0, disarm);
    }
    let via = match &host.bastion {
        Some(b) => format!(" through the jump host {b}"),
        None => String::new(),
    };
    let mut s = format!(
        "Drill (dry run: nothing runs): {} for {duration_s} s, then restore.\n\
         {arithmetic}\n\
         On {target} (ssh -p {port} {user}@{}{via}) this runs, {root}:\n",
        fault.headline(target),
        host.address
    );
    for c in commands {
        s += &format!("  {c}\n");
    }
    s += "and restores with:\n";
    for c in restore {
        s += &format!("  {c}\n");
    }
    if !fault.powers_off() {
        s += &format!(
            "The first line arms a switch on the host: should the drill die, the host restores \
             itself {} s after the fault.\n",
            duration_s + GUARD_MARGIN_S
        );
    }
    s += &format!("What a real cluster will do: {}\n", fault.expectation());
    Ok(s)
}
