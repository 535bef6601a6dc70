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
use crate::fleet::SshOverrides;
use crate::fleet::audit::Audit;
use crate::fleet::inventory::{self, Inventory};
use crate::wizard::engine::{Engine, StepStatus};
use crate::wizard::exec::{Executor, SshExecutor};
use crate::wizard::{kubeconfig, plan};

/// Worker joins at once, by default.
pub const DEFAULT_PARALLEL: usize = 10;

#[derive(Debug, Clone)]
pub struct SshRun {
    pub inventory: PathBuf,
    pub json: bool,
    /// Worker joins at once, at most.
    pub parallel: usize,
    pub overrides: SshOverrides,
}

/// Runs the whole plan on the hosts, SSH tasks on `rt`; prints each step (or the JSON) to
/// `out`. `Ok(true)`: verified.
pub fn run_ssh(run: &SshRun, rt: Handle, out: &mut impl Write) -> Result<bool> {
    let inv = inventory::load(&run.inventory)?;
    let plan = plan::build(&inv);
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
