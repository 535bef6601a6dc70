//! `hatui wizard --inventory FILE --yes`: the whole plan on the inventory's hosts over SSH,
//! the same plan and engine as on the lab. A run on hosts where part of the plan already
//! happened (an earlier run was killed) starts where the cluster stands.

use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use color_eyre::Result;
use tokio::runtime::Handle;

use super::{KubeconfigJson, Printer, drive};
use crate::wizard::engine::{Engine, StepStatus};
use crate::wizard::exec::{Executor, SshExecutor};
use crate::wizard::{kubeconfig, plan};
use hatui_fleet::SshOverrides;
use hatui_fleet::audit::Audit;
use hatui_fleet::inventory::{self, Inventory};

/// Worker joins at once, by default.
pub const DEFAULT_PARALLEL: usize = 10;

#[derive(Debug, Clone)]
pub struct SshRun {
    pub inventory: PathBuf,
    pub json: bool,
    /// Worker joins at once, at most.
    pub parallel: usize,
    pub overrides: SshOverrides,
    /// Leave the kubeadm-certs Secret after the joins (no `cleanup` step).
    pub keep_cert_key: bool,
}

/// Runs the whole plan on the hosts, SSH tasks on `rt`; prints each step (or the JSON) to
/// `out`. `Ok(true)`: verified.
pub fn run_ssh(run: &SshRun, rt: Handle, out: &mut impl Write) -> Result<bool> {
    let inv = inventory::load(&run.inventory)?;
    let opts = plan::BuildOptions {
        keep_cert_key: run.keep_cert_key,
    };
    let plan = plan::build_with(&inv, opts);
    let audit = Audit::for_cluster(&inv.name);
    let title = format!(
        "hatui wizard on {} over SSH: {} control plane(s), {} worker(s); every command is logged in {}",
        inv.name,
        inv.control_planes().count(),
        inv.workers().count(),
        audit.path().display()
    );
    let warnings = plan.warnings.clone();
    let printer = RefCell::new(Printer::new(out, run.json, &title, &warnings));
    let started = Instant::now();
    let mut exec = SshExecutor::new(&inv, &run.overrides, audit, rt);
    // What already happened (an earlier run) is found by looking, not read from a file.
    exec.refresh();
    let mut engine = Engine::new(plan, exec.cluster());
    engine.set_parallel(run.parallel);
    // admin.conf comes to the bastion as soon as init is done (or found done).
    let mut fetched = false;
    let mut fetch = |engine: &Engine, exec: &mut SshExecutor| {
        let init_done = engine
            .reports()
            .iter()
            .any(|r| r.id == "init" && r.status == StepStatus::Ok);
        if init_done && !fetched {
            fetched = true;
            printer.borrow_mut().kubeconfig(admin_conf_to_bastion(
                &inv,
                &run.inventory,
                None,
                exec,
            ));
        }
    };
    drive(
        &mut engine,
        &mut exec,
        |e, x| fetch(e, x),
        |r| printer.borrow_mut().step(r),
    );
    fetch(&engine, &mut exec);
    let how = format!("{} in {:.0} s", inv.name, started.elapsed().as_secs_f64());
    printer
        .into_inner()
        .finish(&engine, &warnings, exec.cluster(), &how)
}

/// The first master's admin.conf, read over its session, written to
/// `~/.kube/hatui-<cluster>.conf` with the endpoint as its server; the cockpit to open on
/// it keeps the inventory, so its drill (`d`) and wizard (`w`) know the hosts.
pub(crate) fn admin_conf_to_bastion(
    inv: &Inventory,
    file: &std::path::Path,
    home: Option<&std::path::Path>,
    exec: &SshExecutor,
) -> KubeconfigJson {
    let first = &inv.first_control_plane().name;
    let server = format!("https://{}", inv.endpoint);
    let path = match home {
        Some(home) => Ok(kubeconfig::bastion_path_in(home, &inv.name)),
        None => kubeconfig::bastion_path(&inv.name),
    };
    let saved = path.and_then(|path| {
        let admin = exec.read_file(first, plan::ADMIN_CONF)?;
        let text = kubeconfig::with_server(&admin, &server)
            .map_err(|e| format!("{} from {first}: {e}", plan::ADMIN_CONF))?;
        kubeconfig::write_private(&path, &text)?;
        Ok(path)
    });
    match saved {
        Ok(path) => KubeconfigJson {
            open: Some(format!(
                "hatui --inventory {} --kubeconfig {}",
                file.display(),
                path.display()
            )),
            path: Some(path.display().to_string()),
            server,
            from: first.clone(),
            error: None,
        },
        Err(e) => KubeconfigJson {
            path: None,
            server,
            from: first.clone(),
            open: None,
            error: Some(e),
        },
    }
}

/// `hatui wizard --inventory FILE --replace NODE --yes`: the replacement plan on the hosts,
/// through a master whose etcd member answers; refused (exit 2, `--force` to override)
/// as on the lab, decided on what the SSH executor observes. Returns the exit code: 0
/// verified, 1 not verified, 2 refused.
pub fn replace_ssh(
    run: &SshRun,
    r: &super::Replace,
    rt: Handle,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<i32> {
    let inv = inventory::load(&run.inventory)?;
    if !inv.control_planes().any(|h| h.name == r.node) {
        writeln!(
            err,
            "hatui wizard: {} is not a control plane in {}: --replace takes a master's name, \
             its entry carrying the replacement's address",
            r.node,
            run.inventory.display()
        )?;
        return Ok(2);
    }
    let audit = Audit::for_cluster(&inv.name);
    let snapshots = audit
        .path()
        .parent()
        .map_or_else(|| PathBuf::from("snapshots"), |d| d.join("snapshots"));
    let log = audit.path().display().to_string();
    let mut exec = SshExecutor::new(&inv, &run.overrides, audit, rt).snapshots_to(snapshots);
    exec.refresh();
    let c = exec.cluster();
    let masters: Vec<&str> = inv.control_planes().map(|h| h.name.as_str()).collect();
    let healthy = c.etcd.members.iter().find(|m| {
        m.reachable && !m.is_learner && m.name != r.node && masters.contains(&m.name.as_str())
    });
    let healthy = healthy.map(|m| m.name.clone());
    let refusal = match &healthy {
        None => Some(format!(
            "no other master's etcd member answers, so there is nothing to replace it through. {}",
            observed(c, &r.node)
        )),
        Some(h) => super::replace_refusal(c, &r.node)
            .map(|why| format!("{why} Seen through {h}: {}", observed(c, &r.node))),
    };
    if let Some(why) = refusal.filter(|_| !r.force) {
        writeln!(err, "hatui wizard: refusing to replace {}: {why}", r.node)?;
        if why.contains(&format!("{} is not dead", r.node)) {
            // A replacement in progress is recognised by its mark (and goes on); without
            // one, an earlier --replace got through its cleanup: nothing is left to do.
            writeln!(
                err,
                "If an earlier --replace {0} ran its cleanup, {0} is replaced (only its verify \
                 may be left): `hatui status --inventory {1}` or the cockpit shows the cluster.",
                r.node,
                run.inventory.display()
            )?;
        }
        return Ok(2);
    }
    let healthy = healthy.unwrap_or_else(|| {
        let other = masters.iter().find(|m| **m != r.node);
        other.unwrap_or(&masters[0]).to_string()
    });
    let Some(mut plan) = plan::replace(&inv, &r.node, &healthy) else {
        writeln!(err, "hatui wizard: {} is not a control plane", r.node)?;
        return Ok(2);
    };
    let marks = super::replacement_marks(exec.cluster(), &r.node);
    plan::delete_leftover_marks(&mut plan, &marks);
    let title = format!(
        "hatui wizard on {} over SSH: replace {} (through {healthy}); every command is logged in {log}",
        inv.name, r.node
    );
    run_day2(plan, &mut exec, &inv.name, run.json, &title, out)
}

/// The line the SSH executor says once the snapshot is on the bastion.
const SNAPSHOT_SAID: &str = "hatui: snapshot on the bastion: ";

/// Runs a day-2 plan (replace, grow, shrink) through `exec`, printing each step (or the
/// JSON) to `out`. The exit code: 0 verified, 1 not.
pub(super) fn run_day2(
    plan: plan::Plan,
    exec: &mut SshExecutor,
    cluster: &str,
    json: bool,
    title: &str,
    out: &mut impl Write,
) -> Result<i32> {
    let warnings = plan.warnings.clone();
    let mut printer = Printer::new(out, json, title, &warnings);
    let started = Instant::now();
    let mut engine = Engine::new(plan, exec.cluster());
    drive(
        &mut engine,
        exec,
        |_, _| {},
        |rep| {
            // Where the snapshot went is said under its step, as the JSON's output has it.
            let mut rep = rep.clone();
            let said = rep.output.iter().find(|l| l.starts_with(SNAPSHOT_SAID));
            if let Some(l) = said.cloned() {
                rep.notes.push(l.trim_start_matches("hatui: ").to_string());
            }
            printer.step(&rep)
        },
    );
    let how = format!("{cluster} in {:.0} s", started.elapsed().as_secs_f64());
    let verified = printer.finish(&engine, &warnings, exec.cluster(), &how)?;
    Ok(if verified { 0 } else { 1 })
}

/// What the look saw of `node`: its etcd member as `etcdctl member list` and `endpoint
/// status` show it, its Node's Ready condition as `kubectl get nodes` shows it.
fn observed(c: &hatui_model::ClusterState, node: &str) -> String {
    use hatui_model::Readiness;
    let via = c.etcd.via.clone().unwrap_or_else(|| "etcdctl".into());
    let member = match c.etcd.members.iter().find(|m| m.name == node) {
        None if c.etcd.members.is_empty() => {
            let why = c
                .feed(hatui_model::FeedKind::Etcd)
                .and_then(|f| f.error.clone());
            format!(
                "no etcd member list ({})",
                why.unwrap_or_else(|| "no master answered".into())
            )
        }
        None => format!("{via}: {node} has no etcd member"),
        Some(m) if m.reachable => format!(
            "{via}: member {:x} ({node}) answers `endpoint status`",
            m.id
        ),
        Some(m) => format!(
            "{via}: member {:x} ({node}) does not answer `endpoint status`{}",
            m.id,
            m.error
                .as_ref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        ),
    };
    let ready = match c.nodes.get(node).map(|n| n.ready) {
        None => format!("kubectl get nodes: no Node {node}"),
        Some(Readiness::Ready) => {
            format!("kubectl get nodes: {node} Ready=True (its kubelet posts)")
        }
        Some(Readiness::NotReady) => format!("kubectl get nodes: {node} Ready=False"),
        Some(Readiness::Unknown) => {
            format!("kubectl get nodes: {node} Ready=Unknown (no kubelet heartbeat)")
        }
    };
    format!("{member}; {ready}.")
}

/// `hatui wizard --inventory FILE --replace NODE --dry-run`: the replacement plan as a
/// script, through the first other master. `Err`: NODE is no master of the inventory.
pub fn replace_script(
    path: &std::path::Path,
    node: &str,
    overrides: &SshOverrides,
) -> Result<std::result::Result<String, String>> {
    let inv = inventory::load(path)?.with_overrides(overrides);
    let through = inv.control_planes().find(|h| h.name != node);
    let (Some(through), true) = (through, inv.control_planes().any(|h| h.name == node)) else {
        return Ok(Err(format!(
            "{node} is not a control plane in {} (or it is the only one): --replace takes a \
             master's name, its entry carrying the replacement's address",
            path.display()
        )));
    };
    let through = through.name.clone();
    let Some(plan) = plan::replace(&inv, node, &through) else {
        return Ok(Err(format!("{node} is not a control plane")));
    };
    let source = path.display().to_string();
    Ok(Ok(crate::wizard::script::render_replace(
        &inv, &plan, &source, node, &through,
    )))
}
