//! `hatui wizard --lab --yes`: the whole plan on the bare lab, on its virtual clock, and
//! the scenarios to practise on it.

use std::io::Write;
use std::time::Duration;

use color_eyre::Result;

use super::{Printer, drive};
use crate::wizard::engine::{Engine, StepReport};
use crate::wizard::exec::{Executor, LabExecutor};
use crate::wizard::{lab, plan};
use hatui_fleet::inventory;
use hatui_lab::{LabConfig, LbKind};

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
    /// Day 2: the cluster is built, then cp-1 loses power for good; 3 minutes later a
    /// fresh machine takes its name and address. Its etcd member and Node are left
    /// behind: `--replace cp-1` is the way back to three healthy masters.
    DeadMaster,
}

/// The master the `dead-master` scenario loses.
pub const DEAD_MASTER: &str = "cp-1";

impl Scenario {
    pub const NAMES: [&str; 6] = [
        "expired-certificate-key",
        "expired-token",
        "no-control-plane-endpoint",
        "swap-on",
        "lb-without-targets",
        "dead-master",
    ];

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "expired-certificate-key" => Some(Self::ExpiredCertificateKey),
            "expired-token" => Some(Self::ExpiredToken),
            "no-control-plane-endpoint" => Some(Self::NoControlPlaneEndpoint),
            "swap-on" => Some(Self::SwapOn),
            "lb-without-targets" => Some(Self::LbWithoutTargets),
            "dead-master" => Some(Self::DeadMaster),
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
                crate::wizard::exec::run(exec, first, by_hand);
            }
            Self::SwapOn => {
                let lab = exec.lab_mut();
                let last = lab.config().control_planes + lab.config().workers - 1;
                lab.set_swap(last, true);
            }
            Self::LbWithoutTargets => exec.lab_mut().set_lb_targets(false),
            Self::DeadMaster => {
                let mut engine = Engine::new(plan.clone(), exec.cluster());
                drive(&mut engine, exec, |_, _| {}, |_| {});
                let lab = exec.lab_mut();
                let i = lab.host(DEAD_MASTER).unwrap_or(0);
                lab.inject(&hatui_model::Fault {
                    node: DEAD_MASTER.into(),
                    kind: hatui_model::FaultKind::PowerOff,
                });
                exec.pass(Duration::from_secs(180));
                exec.lab_mut().provision(i);
                exec.pass(Duration::from_secs(5));
            }
            Self::ExpiredCertificateKey | Self::ExpiredToken => {}
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabRun {
    pub control_planes: usize,
    pub workers: usize,
    pub scenario: Option<Scenario>,
    pub json: bool,
    /// The lab's seed (`--seed`, default 1): the same seed builds the same cluster.
    pub seed: u64,
    /// The load balancer the lab puts in front of the apiservers (`--lb`).
    pub lb: LbKind,
    /// The balancer's own active check (`--lb-check`), else the kind's defaults.
    pub lb_check: Option<hatui_lab::LbCheck>,
    /// How long a powered-off master boots after its power-on (`--boot-time`), in ms.
    pub boot_time_ms: i64,
    /// Leave `kubeadm-certs` after the joins (`--keep-cert-key`): no `cleanup` step.
    pub keep_cert_key: bool,
}

impl LabRun {
    /// The bare lab this run builds: a fixed start, so that the same seed prints the same.
    pub fn config(&self) -> LabConfig {
        LabConfig {
            lb: self.lb,
            lb_check: self.lb_check,
            boot_time_ms: self.boot_time_ms,
            ..LabConfig::new(
                self.control_planes,
                self.workers,
                self.seed,
                LabConfig::default().start,
            )
        }
    }
}

/// Runs the plan for the lab of `run` to its end on `exec`; the engine is returned so
/// that callers can look at every report.
pub fn run_on(
    exec: &mut LabExecutor,
    plan: plan::Plan,
    scenario: Option<Scenario>,
    each: impl FnMut(&StepReport),
) -> Engine {
    if let Some(s) = scenario {
        s.set_up(exec, &plan);
    }
    let mut engine = Engine::new(plan, exec.cluster());
    let mut paused = false;
    let pause = |engine: &Engine, exec: &mut LabExecutor| {
        let joins_next = engine
            .next_step()
            .is_some_and(|s| s.id.starts_with("join-") || s.id.starts_with("verify"));
        if let (Some(s), false, true) = (scenario, paused, joins_next) {
            exec.pass(s.pause());
            paused = true;
        }
    };
    drive(&mut engine, exec, pause, each);
    let steps = engine
        .reports()
        .iter()
        .map(|r| format!("{} {:?}", r.id, r.status));
    exec.lab_mut().record_built(steps.collect());
    engine
}

/// The lab's plan: the inventory `hatui wizard --lab --print-inventory` prints.
pub fn lab_plan(control_planes: usize, workers: usize) -> Result<plan::Plan> {
    lab_plan_with(control_planes, workers, plan::BuildOptions::default())
}

/// [`lab_plan`] with `opts` (`--keep-cert-key`).
pub fn lab_plan_with(
    control_planes: usize,
    workers: usize,
    opts: plan::BuildOptions,
) -> Result<plan::Plan> {
    let inv = inventory::parse("lab", &lab::inventory_toml(control_planes, workers))?;
    Ok(plan::build_with(&inv, opts))
}

impl LabRun {
    /// The build's options this run asks for.
    pub fn build_options(&self) -> plan::BuildOptions {
        plan::BuildOptions {
            keep_cert_key: self.keep_cert_key,
        }
    }
}

/// Runs the whole plan; prints each step (or the JSON) to `out`. `Ok(true)`: verified.
pub fn run(run: &LabRun, out: &mut impl Write) -> Result<bool> {
    Ok(build(run, out)?.0)
}

/// [`run`], handing back the executor with the lab it built (the workshop drills it).
pub fn build(run: &LabRun, out: &mut impl Write) -> Result<(bool, LabExecutor)> {
    let plan = lab_plan_with(run.control_planes, run.workers, run.build_options())?;
    let mut exec = LabExecutor::new(run.config());
    let title = format!(
        "hatui wizard on the lab: {} control plane(s), {} worker(s)",
        run.control_planes, run.workers
    );
    let warnings = plan.warnings.clone();
    let mut printer = Printer::new(out, run.json, &title, &warnings);
    let engine = run_on(&mut exec, plan, run.scenario, |r| printer.step(r));
    let how = format!("lab time {}", exec.now());
    let verified = printer.finish(&engine, &warnings, exec.cluster(), &how)?;
    Ok((verified, exec))
}

/// `hatui wizard --lab --replace NODE --yes`: what to replace, and whether to go on when
/// the checks say no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replace {
    pub node: String,
    pub force: bool,
}

/// What the cluster shows of a replacement of `node` under way: a join token marked for
/// it ([`plan::marker`], from `token-create` until `cleanup`). Once the replacement has
/// joined, `node`'s member answers and its Node is Ready like any healthy master's: the
/// mark is what tells a rerun (a fresh process, nothing saved) that it is finishing a
/// replacement, not removing a working member. `Some(why)`, or `None`: nobody replaces it.
pub fn replacement_under_way(c: &hatui_model::ClusterState, node: &str) -> Option<String> {
    let mark = plan::marker(node);
    let t = c.tokens.values().find(|t| t.description == mark)?;
    Some(format!(
        "a replacement of {node} is under way: join token {} is described {mark}",
        t.id
    ))
}

/// The ids of the join tokens marked for `node`'s replacement (an earlier run's).
pub fn replacement_marks(c: &hatui_model::ClusterState, node: &str) -> Vec<String> {
    let mark = plan::marker(node);
    let marked = c.tokens.values().filter(|t| t.description == mark);
    marked.map(|t| t.id.clone()).collect()
}

/// Why replacing `node` is refused on this cluster (`--force` overrides): the node is not
/// dead and nothing shows a replacement of it under way, or removing its member would
/// lose the quorum.
pub fn replace_refusal(c: &hatui_model::ClusterState, node: &str) -> Option<String> {
    let members = &c.etcd.members;
    let m = members.iter().find(|m| m.name == node)?;
    let heartbeat = c
        .nodes
        .get(node)
        .is_some_and(|n| n.ready == hatui_model::Readiness::Ready);
    if (m.reachable || heartbeat) && replacement_under_way(c, node).is_none() {
        return Some(format!(
            "{node} is not dead: its etcd member answers ({}) or its Node is Ready ({}); \
             replacing a live master removes a working member, and nothing shows a \
             replacement of {node} under way (no join token described {}: a --replace that \
             ran its cleanup has finished). Use --force if you mean it.",
            if m.reachable { "yes" } else { "no" },
            if heartbeat { "yes" } else { "no" },
            plan::marker(node),
        ));
    }
    let voters: Vec<_> = members
        .iter()
        .filter(|v| !v.is_learner && v.name != node)
        .collect();
    let live = voters.iter().filter(|v| v.reachable).count();
    let after = hatui_model::Quorum::of(voters.len(), live);
    (!after.has_quorum()).then(|| {
        format!(
            "removing {node}'s member leaves {} voter(s), {live} answering: {} are needed, \
             so etcd could not commit the removal. Bring a member back first (--force to try \
             anyway).",
            after.members, after.needed
        )
    })
}

/// Builds the lab (with the scenario), then runs the replacement plan for `r.node`.
/// Returns the exit code: 0 verified, 1 not verified, 2 refused.
pub fn replace(
    run: &LabRun,
    r: &Replace,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<i32> {
    let build = lab_plan_with(run.control_planes, run.workers, run.build_options())?;
    let mut exec = LabExecutor::new(run.config());
    if let Some(s) = run.scenario {
        s.set_up(&mut exec, &build);
    } else {
        let mut engine = Engine::new(build, exec.cluster());
        drive(&mut engine, &mut exec, |_, _| {}, |_| {});
    }
    replace_on(&mut exec, run, r, out, err)
}

/// The replacement plan for `r.node` on the lab `exec` holds as it stands (built, maybe
/// part replaced by an earlier run): what is refused and what is done are looked at.
pub fn replace_on(
    exec: &mut LabExecutor,
    run: &LabRun,
    r: &Replace,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<i32> {
    exec.refresh();
    let inv = inventory::parse("lab", &lab::inventory_toml(run.control_planes, run.workers))?;
    let healthy = exec
        .cluster()
        .etcd
        .members
        .iter()
        .find(|m| m.reachable && !m.is_learner && m.name != r.node && !m.name.is_empty());
    let healthy = healthy.map(|m| m.name.clone());
    let refusal = match &healthy {
        None => Some("no other master's etcd member answers: nothing to replace it through".into()),
        Some(_) => replace_refusal(exec.cluster(), &r.node),
    };
    if let Some(why) = refusal.filter(|_| !r.force) {
        writeln!(err, "hatui wizard: refusing to replace {}: {why}", r.node)?;
        return Ok(2);
    }
    let healthy = healthy.unwrap_or_default();
    let Some(mut plan) = plan::replace(&inv, &r.node, &healthy) else {
        writeln!(
            err,
            "hatui wizard: {} is not a control plane of the lab",
            r.node
        )?;
        return Ok(2);
    };
    plan::delete_leftover_marks(&mut plan, &replacement_marks(exec.cluster(), &r.node));
    let title = format!(
        "hatui wizard on the lab: replace {} (through {healthy})",
        r.node
    );
    let warnings = plan.warnings.clone();
    let mut printer = Printer::new(out, run.json, &title, &warnings);
    let mut engine = Engine::new(plan, exec.cluster());
    drive(&mut engine, exec, |_, _| {}, |r| printer.step(r));
    let how = format!("lab time {}", exec.now());
    let verified = printer.finish(&engine, &warnings, exec.cluster(), &how)?;
    Ok(if verified { 0 } else { 1 })
}
