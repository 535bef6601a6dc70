//! `hatui drill --lab --real-etcd`: the lab drilled on the wall clock while its etcd runs
//! as real processes that follow the lab's hosts (SIGTERM when the kubelet stops the pod,
//! SIGKILL on a power-off, started again on the restore). The drill's etcd figures (the
//! leader, the term, the target's member) come from the real members, polled every 100
//! ms; everything else from the lab.

use std::io::Write;
use std::time::Duration;

use color_eyre::Result;
use jiff::Timestamp;
use tokio::sync::mpsc;

use super::driver::{self, Clock, DrillTarget, Paced, Restored};
use super::engine::SAMPLE_MS;
use super::headless::{LabDrill, finish, plan_text, say_then_confirm};
use super::lab_target;
use super::plan::{self, Plan, Refusal};
use super::probe::Probe;
use super::report::Report;
use super::seen::Seen;
use hatui_lab::{Lab, LabConfig};
use hatui_model::{ApiServerHealth, ClusterEvent, EndpointHealth, EtcdStatus, Readiness};
use hatui_sources::etcd::{PollerConfig, spawn_poller};
use hatui_sources::real_etcd::RealEtcd;

/// The lab, with etcd as the real members say it is.
struct WithRealEtcd<'a> {
    lab: &'a Lab,
    etcd: &'a EtcdStatus,
}

impl Seen for WithRealEtcd<'_> {
    fn masters(&self) -> Vec<String> {
        self.lab.masters()
    }
    fn readiness(&self, node: &str) -> Option<Readiness> {
        self.lab.readiness(node)
    }
    fn apiserver(&self, node: &str) -> Option<ApiServerHealth> {
        Seen::apiserver(self.lab, node)
    }
    fn etcd_status(&self) -> EtcdStatus {
        self.etcd.clone()
    }
    fn etcd_leader(&self) -> Option<String> {
        self.etcd.leader_member().map(|m| m.name.clone())
    }
    fn lease_holder(&self, name: &str) -> Option<String> {
        Seen::lease_holder(self.lab, name)
    }
    fn lease_active(&self, name: &str) -> bool {
        Seen::lease_active(self.lab, name)
    }
    fn endpoint(&self) -> EndpointHealth {
        Seen::endpoint(self.lab)
    }
}

/// The probe's etcd fields from the real members.
fn overlay(p: &mut Probe, etcd: &EtcdStatus, target: &str) {
    let leader = etcd.leader_member();
    p.etcd_leader = leader.map(|m| m.name.clone());
    p.etcd_term = leader.map_or(p.etcd_term, |m| m.raft_term);
    p.target_member_healthy = leader.is_some()
        && etcd
            .members
            .iter()
            .any(|m| m.name == target && m.reachable && !m.is_learner && m.errors.is_empty());
}

/// The latest status the poller sent.
fn latest(rx: &mut mpsc::Receiver<Vec<ClusterEvent>>, status: &mut EtcdStatus) {
    while let Ok(batch) = rx.try_recv() {
        for ev in batch {
            if let ClusterEvent::Etcd(s) = ev {
                *status = s;
            }
        }
    }
}

/// The lab with its real etcd members, on the lab's clock paced by the wall clock: a sample
/// moves the lab 100 ms, the processes follow its hosts, the probe's etcd figures are the
/// members' latest status.
struct Target {
    node: String,
    lab: Lab,
    real: RealEtcd,
    rx: mpsc::Receiver<Vec<ClusterEvent>>,
    status: EtcdStatus,
    restored: Option<Restored>,
}

impl Target {
    fn probe_at(&self, seq: u64) -> Probe {
        let mut p = Probe::of(&self.lab, &self.node, seq);
        overlay(&mut p, &self.status, &self.node);
        p
    }
}

impl DrillTarget for Target {
    fn clock(&self) -> Clock {
        Clock::Lab
    }
    fn now(&self) -> Timestamp {
        self.lab.now()
    }
    fn lab(&self) -> Option<LabConfig> {
        Some(self.lab.config().clone())
    }
    fn before(&mut self) -> Probe {
        self.probe_at(0)
    }
    fn apply(&mut self, plan: &Plan) -> Result<Vec<ClusterEvent>, Refusal> {
        let kind = plan.spec.fault.lab_kind();
        let (events, _) = lab_target::inject(&mut self.lab, &self.node, kind);
        self.real.follow(&self.lab);
        Ok(events)
    }
    fn tick(&mut self, _k: u64) -> Vec<ClusterEvent> {
        let events = self.lab.advance(Duration::from_millis(SAMPLE_MS as u64));
        self.real.follow(&self.lab);
        latest(&mut self.rx, &mut self.status);
        events
    }
    fn probe(&mut self, k: u64) -> Option<Probe> {
        Some(self.probe_at(k))
    }
    fn restore(&mut self, _plan: &Plan) -> Vec<ClusterEvent> {
        let (events, r) = lab_target::restore(&mut self.lab, &self.node);
        self.real.follow(&self.lab);
        self.restored = Some(r);
        events
    }
    fn restored(&mut self) -> Option<Restored> {
        self.restored.take()
    }
    fn healthy(&self) -> bool {
        let seen = WithRealEtcd {
            lab: &self.lab,
            etcd: &self.status,
        };
        plan::unhealthy(&seen).is_none()
    }
}

impl Paced for Target {
    /// Nothing between the ticks: the poller's status is taken at each.
    fn news(&mut self) -> impl std::future::Future<Output = ()> + Send {
        std::future::pending()
    }
}

/// Runs the drill; exit codes as [`super::headless::run`]'s.
pub async fn run(req: &LabDrill, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32> {
    let mut cfg = req.config.clone();
    cfg.external_etcd = true;
    let n = cfg.control_planes;
    writeln!(err, "starting {n} real etcd members on 127.0.0.1...")?;
    let mut real = RealEtcd::start(n).await?;
    let lab = Lab::new(cfg);
    real.follow(&lab);
    let poll = PollerConfig {
        timeout: Duration::from_millis(500),
        ..real.poller_config()
    };
    let (tx, mut rx) = mpsc::channel(256);
    let _poller = spawn_poller(poll, tx);
    // The first status with a leader, before anything is decided on it.
    let mut status = EtcdStatus::default();
    for _ in 0..100 {
        latest(&mut rx, &mut status);
        if status.leader_member().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seen = WithRealEtcd {
        lab: &lab,
        etcd: &status,
    };
    let plan = match plan::check(&seen, &req.spec) {
        Ok(p) => p,
        Err(refusal) => {
            writeln!(err, "hatui drill: {refusal}")?;
            return Ok(2);
        }
    };
    let text = format!(
        "Lab: {} control planes, {} workers, {} in front, seed {}; etcd: {n} real members \
         (the etcd figures are theirs, on the wall clock).\n{}",
        lab.config().control_planes,
        lab.config().workers,
        lab.config().lb,
        lab.config().seed,
        plan_text(&plan)
    );
    let how = "Pass --yes to run it headless.";
    if !say_then_confirm(&text, &plan, req.yes, req.json, how, out, err)? {
        return Ok(2);
    }
    let mut target = Target {
        node: plan.target.clone(),
        lab,
        real,
        rx,
        status,
        restored: None,
    };
    // The lab's events feed no cockpit here: the report is what is shown.
    let (mut drill, _) = match driver::begin(&mut target, plan) {
        Ok(d) => d,
        Err(refusal) => {
            writeln!(err, "hatui drill: {refusal}")?;
            return Ok(2);
        }
    };
    let mut aborts = driver::signals()?;
    driver::run_paced(&mut drill, &mut target, &mut aborts, &mut |_| {}).await;
    let report = Report::of(&drill);
    Ok(finish(&report, req.json, &req.report_dir, out, err)?)
}
