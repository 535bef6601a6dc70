//! `hatui wizard --lab --yes`: the whole plan on the bare lab, on its virtual clock, with
//! each step printed as it finishes (or one JSON object at the end). Verify passing is
//! the only success.

use std::io::Write;
use std::time::Duration;

use color_eyre::Result;
use serde::Serialize;

use super::engine::{Engine, Fix, StepReport, StepStatus};
use super::exec::{Executor, LabExecutor};
use super::{inventory, lab, plan};
use crate::lab::LabConfig;
use crate::status::json::Snapshot;

/// Lines of output kept per step in the JSON.
pub const TAIL_LINES: usize = 20;

/// Something to practise, set up on the lab before or during the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// 3 h pass between init and the joins: the certificate key is gone.
    ExpiredCertificateKey,
    /// 25 h pass between init and the joins: the token is gone too.
    ExpiredToken,
    /// init already ran by hand, without `--control-plane-endpoint`: no master can join
    /// until the endpoint is patched in.
    NoControlPlaneEndpoint,
    /// Swap is on on the last worker (the first master without workers): preflight
    /// fails there, with the fix.
    SwapOn,
    /// The load balancer has no targets yet: init fails when it first goes through the
    /// endpoint.
    LbWithoutTargets,
}

impl Scenario {
    pub const NAMES: [&str; 5] = [
        "expired-certificate-key",
        "expired-token",
        "no-control-plane-endpoint",
        "swap-on",
        "lb-without-targets",
    ];

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "expired-certificate-key" => Some(Self::ExpiredCertificateKey),
            "expired-token" => Some(Self::ExpiredToken),
            "no-control-plane-endpoint" => Some(Self::NoControlPlaneEndpoint),
            "swap-on" => Some(Self::SwapOn),
            "lb-without-targets" => Some(Self::LbWithoutTargets),
            _ => None,
        }
    }

    /// Lab time that passes after the CNI step, before the joins.
    pub fn pause(self) -> Duration {
        match self {
            Self::ExpiredCertificateKey => Duration::from_secs(3 * 3600),
            Self::ExpiredToken => Duration::from_secs(25 * 3600),
            _ => Duration::ZERO,
        }
    }

    /// What happened on the lab before the wizard started.
    pub fn set_up(self, exec: &mut LabExecutor, plan: &plan::Plan) {
        match self {
            Self::NoControlPlaneEndpoint => {
                let Some(init) = plan.step("init") else {
                    return;
                };
                let first = &init.hosts[0];
                let by_hand = "kubeadm init --upload-certs --pod-network-cidr 192.168.0.0/16";
                super::exec::run(exec, first, by_hand);
            }
            Self::SwapOn => {
                let lab = exec.lab_mut();
                let last = lab.config().control_planes + lab.config().workers - 1;
                lab.set_swap(last, true);
            }
            Self::LbWithoutTargets => exec.lab_mut().set_lb_targets(false),
            Self::ExpiredCertificateKey | Self::ExpiredToken => {}
        }
    }
}

/// Fixes `--yes` runs in a whole plan, at most: a fix that does not fix stops it.
pub const MAX_FIXES: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabRun {
    pub control_planes: usize,
    pub workers: usize,
    pub scenario: Option<Scenario>,
    pub json: bool,
}

#[derive(Serialize)]
struct StepJson<'a> {
    id: &'a str,
    hosts: &'a [String],
    commands: &'a [String],
    status: StepStatus,
    attempts: u32,
    started_at: Option<String>,
    duration_s: Option<f64>,
    output_tail: &'a [String],
    notes: &'a [String],
    /// For a failed step: what is wrong and the commands that fix it.
    fix: Option<FixJson>,
    /// The fix that ran.
    fixed: Option<FixJson>,
}

#[derive(Serialize)]
struct FixJson {
    what: String,
    commands: Vec<String>,
}

fn fix_json(f: &Fix) -> FixJson {
    FixJson {
        what: f.what.clone(),
        commands: f.shown(),
    }
}

#[derive(Serialize)]
struct RunJson<'a> {
    plan: Vec<StepJson<'a>>,
    warnings: &'a [String],
    verified: bool,
    status: Snapshot,
}

fn step_json(r: &StepReport) -> StepJson<'_> {
    StepJson {
        id: &r.id,
        hosts: &r.hosts,
        commands: &r.commands,
        status: r.status,
        attempts: r.attempts,
        started_at: r.started_at.map(|t| t.to_string()),
        duration_s: r.duration.map(|d| d.as_secs_f64()),
        output_tail: r.output_tail(TAIL_LINES),
        notes: &r.notes,
        fix: r.fix.as_ref().map(fix_json),
        fixed: r.fixed.as_ref().map(fix_json),
    }
}

/// Runs the plan for the lab of `run` to its end on `exec`; the engine is returned so
/// that callers can look at every report.
pub fn run_on(
    exec: &mut LabExecutor,
    plan: plan::Plan,
    scenario: Option<Scenario>,
    mut each: impl FnMut(&StepReport),
) -> Engine {
    if let Some(s) = scenario {
        s.set_up(exec, &plan);
    }
    let mut engine = Engine::new(plan, exec.cluster());
    for r in engine.reports().iter().take_while(|r| r.already_done()) {
        each(r);
    }
    let mut paused = false;
    let mut fixes = 0;
    loop {
        if engine.finished() {
            let fixable = engine
                .failed_step()
                .is_some_and(|i| engine.reports()[i].fix.is_some());
            if !fixable || fixes >= MAX_FIXES {
                break;
            }
            fixes += 1;
            for i in engine.run_fix(exec) {
                let r = &engine.reports()[i];
                if r.status != StepStatus::Pending {
                    each(r);
                }
            }
            continue;
        }
        let joins_next = engine
            .next_step()
            .is_some_and(|s| s.id.starts_with("join-") || s.id.starts_with("verify"));
        if let (Some(s), false, true) = (scenario, paused, joins_next) {
            exec.pass(s.pause());
            paused = true;
        }
        for i in engine.run_next(exec) {
            let r = &engine.reports()[i];
            if r.status != StepStatus::Pending {
                each(r);
            }
        }
    }
    for r in engine
        .reports()
        .iter()
        .filter(|r| r.status == StepStatus::Skipped)
    {
        each(r);
    }
    engine
}

/// The lab's plan: the inventory `hatui wizard --lab --print-inventory` prints.
pub fn lab_plan(control_planes: usize, workers: usize) -> Result<plan::Plan> {
    let inv = inventory::parse("lab", &lab::inventory_toml(control_planes, workers))?;
    Ok(plan::build(&inv))
}

/// Runs the whole plan; prints each step (or the JSON) to `out`. `Ok(true)`: verified.
pub fn run(run: &LabRun, out: &mut impl Write) -> Result<bool> {
    let plan = lab_plan(run.control_planes, run.workers)?;
    let cfg = LabConfig::new(
        run.control_planes,
        run.workers,
        1,
        LabConfig::default().start,
    );
    let mut exec = LabExecutor::new(cfg);
    if !run.json {
        writeln!(
            out,
            "hatui wizard on the lab: {} control plane(s), {} worker(s)",
            run.control_planes, run.workers
        )?;
        for w in &plan.warnings {
            writeln!(out, "warning: {w}")?;
        }
    }
    let warnings = plan.warnings.clone();
    let mut printed = Ok(());
    let engine = run_on(&mut exec, plan, run.scenario, |r| {
        if !run.json && printed.is_ok() {
            printed = writeln!(out, "{}", r.line());
        }
    });
    printed?;
    let verified = engine.verified();
    if run.json {
        let json = RunJson {
            plan: engine.reports().iter().map(step_json).collect(),
            warnings: &warnings,
            verified,
            status: Snapshot::of(exec.cluster()),
        };
        serde_json::to_writer_pretty(&mut *out, &json)?;
        writeln!(out)?;
    } else {
        let word = if verified { "verified" } else { "NOT verified" };
        writeln!(out, "{word}: lab time {}", exec.now())?;
    }
    Ok(verified)
}
