//! `hatui wizard --inventory FILE --yes`: the whole plan on the inventory's hosts over SSH,
//! the same plan and engine as on the lab. A run on hosts where part of the plan already
//! happened (an earlier run was killed) starts where the cluster stands.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use color_eyre::Result;
use tokio::runtime::Handle;

use super::{Printer, drive};
use crate::wizard::audit::Audit;
use crate::wizard::engine::Engine;
use crate::wizard::exec::{Executor, SshExecutor};
use crate::wizard::preflight::SshOverrides;
use crate::wizard::{inventory, plan};

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
    let mut printer = Printer::new(out, run.json, &title, &warnings);
    let started = Instant::now();
    let mut exec = SshExecutor::new(&inv, &run.overrides, audit, rt);
    // What already happened (an earlier run) is found by looking, not read from a file.
    exec.refresh();
    let mut engine = Engine::new(plan, exec.cluster());
    engine.set_parallel(run.parallel);
    drive(&mut engine, &mut exec, |_, _| {}, |r| printer.step(r));
    let how = format!("{} in {:.0} s", inv.name, started.elapsed().as_secs_f64());
    printer.finish(&engine, &warnings, exec.cluster(), &how)
}
