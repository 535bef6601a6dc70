//! The step engine: runs a [`Plan`] step by step with an [`Executor`], no TUI. Control
//! planes join one at a time, workers together; each step's waits are checked against
//! the cluster on the executor's clock; before each join the countdowns are checked and
//! `upload-certs` / `token-create` inserted when the certificate key or the token would
//! expire during it. A TUI drives it with [`Engine::run_next`], one call per step.
//!
//! Resume: [`Engine::new`] looks at the cluster and reports the steps that already
//! happened as done; it never trusts a saved file.

pub mod fix;
pub mod look;
mod operator;
pub mod report;
mod run;

use jiff::SignedDuration;

use super::exec::Executor;
use super::material::JoinMaterial;
use super::plan::{self, Plan, Remaining, StepKind};
use hatui_model::ClusterState;

pub use fix::Fix;
pub use report::{StepReport, StepStatus};

/// How long a wait may take on the executor's clock before the step fails.
pub const WAIT_TIMEOUT: SignedDuration = SignedDuration::from_mins(5);
/// Attempts of one step, refreshes included, before the engine stops.
pub const MAX_ATTEMPTS: u32 = 3;

pub struct Engine {
    plan: Plan,
    material: JoinMaterial,
    reports: Vec<StepReport>,
    /// The first step not run yet.
    next: usize,
    /// A step failed for good: the rest is skipped.
    stopped: bool,
    /// Sees each output line as it comes (step id, line with secrets hidden).
    on_line: Option<OnLine>,
    /// Commands of a parallel group running at once, at most.
    parallel: usize,
}

/// A TUI's window on the output while a step runs: `(step id, line)`, secrets hidden.
pub type OnLine = Box<dyn FnMut(&str, &str) + Send>;

impl Engine {
    /// The engine for `plan` on the cluster as `cluster` shows it: steps that already
    /// happened are reported done.
    pub fn new(plan: Plan, cluster: &ClusterState) -> Self {
        let material = JoinMaterial::default();
        let mut reports: Vec<StepReport> = plan
            .steps
            .iter()
            .map(|s| StepReport::new(&s.id, &s.hosts, shown(&material, s)))
            .collect();
        for (step, report) in plan.steps.iter().zip(&mut reports) {
            if let Some(why) = look::done(cluster, step) {
                report.status = StepStatus::Ok;
                report.notes.push(why);
            } else if step.kind == StepKind::JoinControlPlane
                && let Some(why) = look::half_joined(cluster, &step.hosts[0])
            {
                report.notes.push(why);
            }
            if matches!(
                step.kind,
                StepKind::LoadBalancer | StepKind::LbTargets | StepKind::Check
            ) {
                // What the operator makes or checks by hand (the NLB's checklist), and a
                // day-2 check's quorum arithmetic: said with the step's result, not only
                // in the dry-run script.
                report.notes.extend(step.notes.iter().cloned());
            }
        }
        look::day2_before_done(&plan, &mut reports, cluster);
        let next = reports.iter().take_while(|r| r.already_done()).count();
        Self {
            plan,
            material,
            reports,
            next,
            stopped: false,
            on_line: None,
            parallel: usize::MAX,
        }
    }

    /// Runs at most `n` commands of a parallel group (the workers' joins) at once; the
    /// others start as those end. Unlimited by default.
    pub fn set_parallel(&mut self, n: usize) {
        self.parallel = n.max(1);
    }

    /// Streams every output line to `f` as the executor delivers it.
    pub fn on_output(&mut self, f: OnLine) {
        self.on_line = Some(f);
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn reports(&self) -> &[StepReport] {
        &self.reports
    }

    /// The step `run_next` would run, if any.
    pub fn next_step(&self) -> Option<&plan::Step> {
        (!self.stopped).then(|| self.plan.steps.get(self.next))?
    }

    pub fn finished(&self) -> bool {
        self.stopped || self.next >= self.plan.steps.len()
    }

    /// `verify` ran and passed.
    pub fn verified(&self) -> bool {
        let verify = self.plan.steps.iter().zip(&self.reports);
        let mut verify = verify.filter(|(s, _)| s.kind == StepKind::Verify);
        verify.any(|(_, r)| r.status == StepStatus::Ok && r.attempts > 0)
    }

    /// Runs the next step (or the next group of parallel steps) to its end, waits
    /// included. Returns the indices of the reports that changed.
    pub fn run_next(&mut self, exec: &mut dyn Executor) -> Vec<usize> {
        if self.finished() {
            return Vec::new();
        }
        if self.reports[self.next].already_done() {
            self.next += 1;
            return vec![self.next - 1];
        }
        exec.refresh();
        if let Some(problem) = self.endpoint_problem(exec.cluster()) {
            // Seed 003's fix, offered as a step before the join; once only: if the problem
            // is still there after it ran, the join stops and says so.
            if self.plan.step(plan::ENDPOINT_STEP).is_some() {
                let r = &mut self.reports[self.next];
                r.status = StepStatus::Failed;
                r.notes.push(problem);
                self.stop(self.next);
                return vec![self.next];
            }
            self.insert_endpoint_step(&problem);
        }
        self.check_countdowns(exec.cluster());
        let group = self.group_at(self.next);
        let failed = self.run_group(exec, group.clone());
        match failed {
            None => self.next = group.end,
            Some(i) => {
                exec.refresh();
                if !self.recover(exec.cluster(), i) {
                    self.stop(i);
                }
            }
        }
        group.collect()
    }

    /// Runs every remaining step; `each` sees each report as it finishes.
    pub fn run_all(&mut self, exec: &mut dyn Executor, mut each: impl FnMut(&StepReport)) {
        while !self.finished() {
            for i in self.run_next(exec) {
                if self.reports[i].status != StepStatus::Pending {
                    each(&self.reports[i]);
                }
            }
        }
        for r in self
            .reports
            .iter()
            .filter(|r| r.status == StepStatus::Skipped)
        {
            each(r);
        }
    }

    /// The step at `at` and the parallel steps that follow it in its group.
    fn group_at(&self, at: usize) -> std::ops::Range<usize> {
        let group = &self.plan.steps[at].parallel_group;
        let mut end = at + 1;
        if group.is_some() {
            while end < self.plan.steps.len() && &self.plan.steps[end].parallel_group == group {
                end += 1;
            }
        }
        at..end
    }

    /// Before a control-plane join: a cluster initialised without `controlPlaneEndpoint`
    /// (or with one master's address) cannot take another master; say what to do.
    fn endpoint_problem(&self, cluster: &ClusterState) -> Option<String> {
        let step = &self.plan.steps[self.next];
        if step.kind != StepKind::JoinControlPlane {
            return None;
        }
        let problem = cluster.control_plane_endpoint_problem()?;
        Some(format!("not run: {problem}"))
    }

    /// Inserts the `control-plane-endpoint` step before the next step (a join).
    fn insert_endpoint_step(&mut self, problem: &str) {
        let at = self.next;
        let problem = problem.strip_prefix("not run: ").unwrap_or(problem);
        let s = plan::control_plane_endpoint(&self.plan.site, problem);
        let mut r = StepReport::new(&s.id, &s.hosts, shown(&self.material, &s));
        r.notes.extend(s.notes.iter().cloned());
        self.plan.steps.insert(at, s);
        self.reports.insert(at, r);
    }

    /// Inserts `upload-certs` / `token-create` before the next join when its material
    /// would expire during it (or is not known: a resumed run).
    fn check_countdowns(&mut self, cluster: &ClusterState) {
        let step = &self.plan.steps[self.next];
        if !matches!(step.kind, StepKind::JoinControlPlane | StepKind::JoinWorker) {
            return;
        }
        let (id, expected) = (step.id.clone(), step.expected);
        let mut left = self.remaining(cluster);
        // Material refreshed by the steps just before (steps found done aside) is fresh,
        // whether or not the cluster view shows it yet: else it is refreshed again, and
        // again.
        for r in self.reports[..self.next].iter().rev() {
            if r.already_done() {
                continue;
            }
            match self.plan.step(&r.id).map(|s| s.kind) {
                Some(StepKind::UploadCerts) if r.status == StepStatus::Ok => {
                    left.certificate_key = Some(SignedDuration::MAX);
                }
                Some(StepKind::TokenCreate) if r.status == StepStatus::Ok => {
                    left.token = Some(SignedDuration::MAX);
                }
                _ => break,
            }
        }
        self.insert(&id, left, expected);
    }

    fn insert(&mut self, before: &str, left: Remaining, expected: SignedDuration) {
        let len = self.plan.steps.len();
        let inserted = plan::insert_refreshes(&mut self.plan, before, left, expected);
        for id in &inserted {
            let at = self.plan.steps.iter().position(|s| &s.id == id);
            let Some(at) = at else { continue };
            let s = &self.plan.steps[at];
            let mut r = StepReport::new(&s.id, &s.hosts, shown(&self.material, s));
            r.notes.push(s.why.clone());
            self.reports.insert(at, r);
            self.next = self.next.min(at);
        }
        debug_assert_eq!(self.plan.steps.len(), len + inserted.len());
    }

    /// Time left on the certificate key and the token the wizard holds.
    fn remaining(&self, c: &ClusterState) -> Remaining {
        let secs = SignedDuration::from_secs;
        let key = self.material.certificate_key.as_ref();
        let token = self.material.token.as_ref();
        Remaining {
            certificate_key: key.and(c.cert_key_expires_in_s()).map(secs),
            token: token
                .and_then(|t| c.tokens.get(&t.id))
                .map(|t| t.expires_in_s(c.now).map_or(SignedDuration::MAX, secs)),
        }
    }

    /// A join that failed on expired material: refresh it and try again.
    fn recover(&mut self, c: &ClusterState, i: usize) -> bool {
        let report = &self.reports[i];
        if report.attempts >= MAX_ATTEMPTS {
            return false;
        }
        // kubeadm's error lines only: the phases before name `kubeadm-certs` too.
        let errors = report.output.iter().filter(|l| l.starts_with("error"));
        let out: Vec<&str> = errors.map(String::as_str).collect();
        let out = out.join("\n");
        let mut left = self.remaining(c);
        if out.contains("error downloading certs") {
            left.certificate_key = None;
        } else if out.contains("could not find a JWS signature") {
            left.token = None;
        } else {
            return false;
        }
        let (id, expected) = (report.id.clone(), self.plan.steps[i].expected);
        let before = self.plan.steps.len();
        self.insert(&id, left, expected);
        let refreshed = self.plan.steps.len() > before;
        if refreshed {
            let r = self.reports.iter_mut().find(|r| r.id == id);
            if let Some(r) = r {
                r.status = StepStatus::Pending;
                r.notes
                    .push("refreshing the join material, then trying again".into());
            }
        }
        refreshed
    }

    fn stop(&mut self, failed: usize) {
        self.stopped = true;
        let id = self.reports[failed].id.clone();
        for r in &mut self.reports[failed + 1..] {
            if r.status == StepStatus::Pending {
                r.status = StepStatus::Skipped;
                r.notes.push(format!("not run: {id} failed"));
            }
        }
    }
}

fn shown(m: &JoinMaterial, s: &plan::Step) -> Vec<String> {
    s.commands.iter().map(|c| m.show(c)).collect()
}
