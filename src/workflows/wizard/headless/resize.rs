//! `hatui wizard --lab --add NODE[,NODE] --yes` and `--remove NODE[,NODE]`: the lab is
//! built as for `--lab --yes`, then grown or shrunk by the day-2 plans. For `--add`, the
//! lab's machines include the new masters from the start (bare, out of the load
//! balancer's targets), as an inventory lists hosts made ready before they join.

use std::io::Write;

use color_eyre::Result;

use super::lab::{LabRun, lab_plan_with, run_on};
use super::{Printer, drive};
use crate::wizard::engine::Engine;
use crate::wizard::exec::{Executor, LabExecutor};
use crate::wizard::{lab, plan};
use hatui_fleet::inventory;
use hatui_lab::LabConfig;
use hatui_model::ClusterState;

/// What to add or take out, and whether to go on when the checks say no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resize {
    pub add: Vec<String>,
    pub remove: Vec<String>,
    pub force: bool,
}

/// Builds the lab, then adds or removes the masters of `r`. Returns the exit code: 0
/// verified, 1 not verified, 2 refused.
pub fn resize(run: &LabRun, r: &Resize, out: &mut impl Write, err: &mut impl Write) -> Result<i32> {
    let answer = if r.add.is_empty() {
        remove(run, r, out)?
    } else {
        add(run, r, out)?
    };
    match answer {
        Ok(code) => Ok(code),
        Err(why) => {
            writeln!(err, "hatui wizard: {why}")?;
            Ok(2)
        }
    }
}

/// The lab's master number of `name` (`cp-4` is 4), if it is one the lab can have.
fn master_number(name: &str) -> Option<usize> {
    let n: usize = name.strip_prefix("cp-")?.parse().ok()?;
    (1..=LabConfig::MAX_CONTROL_PLANES)
        .contains(&n)
        .then_some(n)
}

/// A voter that answers and is not among `leaving`, the first in inventory order.
fn through(c: &ClusterState, leaving: &[String]) -> Option<String> {
    let mut voters: Vec<_> = c
        .etcd
        .members
        .iter()
        .filter(|m| m.reachable && !m.is_learner && !m.name.is_empty())
        .filter(|m| !leaving.contains(&m.name))
        .map(|m| m.name.clone())
        .collect();
    voters.sort_by_key(|n| master_number(n));
    voters.into_iter().next()
}

/// Builds the lab of `run` on `cfg` (spare masters out of the load balancer).
fn built(run: &LabRun, cfg: LabConfig) -> Result<LabExecutor> {
    let spare = run.control_planes..cfg.control_planes;
    let build = lab_plan_with(run.control_planes, run.workers, run.build_options())?;
    let mut exec = LabExecutor::new(cfg);
    for i in spare {
        exec.lab_mut().set_lb_target(i, false);
    }
    run_on(&mut exec, build, run.scenario, |_| {});
    exec.refresh();
    Ok(exec)
}

/// Runs `p` on `exec`, printed under `title`; 0 verified, else 1.
fn run_plan(
    run: &LabRun,
    exec: &mut LabExecutor,
    p: plan::Plan,
    title: &str,
    out: &mut impl Write,
) -> Result<i32> {
    let warnings = p.warnings.clone();
    let mut printer = Printer::new(out, run.json, title, &warnings);
    let mut engine = Engine::new(p, exec.cluster());
    drive(&mut engine, exec, |_, _| {}, |r| printer.step(r));
    let how = format!("lab time {}", exec.now());
    let verified = printer.finish(&engine, &warnings, exec.cluster(), &how)?;
    Ok(if verified { 0 } else { 1 })
}

fn add(run: &LabRun, r: &Resize, out: &mut impl Write) -> Result<Result<i32, String>> {
    let mut total = run.control_planes;
    for n in &r.add {
        let Some(k) = master_number(n) else {
            return Ok(Err(format!(
                "cannot add {n}: the lab's inventory lists control planes cp-1 to cp-{}",
                LabConfig::MAX_CONTROL_PLANES
            )));
        };
        total = total.max(k);
    }
    let cfg = LabConfig {
        control_planes: total,
        ..run.config()
    };
    let mut exec = built(run, cfg)?;
    let c = exec.cluster();
    if let Some(n) = r
        .add
        .iter()
        .find(|n| c.etcd.members.iter().any(|m| &m.name == *n))
    {
        return Ok(Err(format!(
            "refusing to add {n}: it is already an etcd member of the cluster"
        )));
    }
    let Some(healthy) = through(c, &r.add) else {
        return Ok(Err(
            "refusing to add: no master's etcd member answers to add it through".into(),
        ));
    };
    let inv = inventory::parse("lab", &lab::inventory_toml(total, run.workers))?;
    let p = match plan::grow(&inv, &r.add, &healthy, run.keep_cert_key) {
        Ok(p) => p,
        Err(why) => return Ok(Err(why)),
    };
    let title = format!(
        "hatui wizard on the lab: add {} (through {healthy})",
        r.add.join(", ")
    );
    Ok(Ok(run_plan(run, &mut exec, p, &title, out)?))
}

fn remove(run: &LabRun, r: &Resize, out: &mut impl Write) -> Result<Result<i32, String>> {
    let mut exec = built(run, run.config())?;
    let inv = inventory::parse("lab", &lab::inventory_toml(run.control_planes, run.workers))?;
    let c = exec.cluster();
    let voters: Vec<_> = c.etcd.members.iter().filter(|m| !m.is_learner).collect();
    let names = r.remove.join(",");
    for n in &r.remove {
        if !voters.iter().any(|m| &m.name == n) {
            return Ok(Err(format!(
                "refusing to remove {n}: it is not a voting etcd member of the cluster"
            )));
        }
    }
    let answering = voters
        .iter()
        .filter(|m| m.reachable && !r.remove.contains(&m.name))
        .count();
    let why = plan::shrink_refusal(voters.len(), r.remove.len(), answering);
    if let Some(why) = why.filter(|_| !r.force) {
        return Ok(Err(format!("refusing to remove {names}: {why}")));
    }
    let Some(healthy) = through(c, &r.remove) else {
        return Ok(Err(format!(
            "refusing to remove {names}: no master that stays has an etcd member that answers"
        )));
    };
    let p = match plan::shrink(&inv, &r.remove, &healthy) {
        Ok(p) => p,
        Err(why) => return Ok(Err(why)),
    };
    let title = format!("hatui wizard on the lab: remove {names} (through {healthy})");
    Ok(Ok(run_plan(run, &mut exec, p, &title, out)?))
}
