//! Running one step, or a group of parallel steps: commands round by round (the steps'
//! first commands together, at most `parallel` at once, then their second, ...), output captured for the join
//! material and kept with secrets hidden, then the waits on the executor's clock.

use std::collections::HashMap;
use std::ops::Range;
use std::time::Duration;

use super::{Engine, StepStatus, WAIT_TIMEOUT, fix, look, shown};
use crate::wizard::exec::{Executor, NO_LOGIN, RunEvent};
use crate::wizard::plan::StepKind;
use hatui_fleet::scrub::scrub;

impl Engine {
    /// Runs the steps of `group` not done yet; returns the first that failed.
    pub(super) fn run_group(
        &mut self,
        exec: &mut dyn Executor,
        group: Range<usize>,
    ) -> Option<usize> {
        let steps: Vec<usize> = group
            .filter(|&i| self.reports[i].status != StepStatus::Ok)
            .collect();
        let start = exec.now();
        for &i in &steps {
            let commands = shown(&self.material, &self.plan.steps[i]);
            let r = &mut self.reports[i];
            r.attempts += 1;
            r.started_at = Some(start);
            r.commands = commands;
            r.status = StepStatus::Pending;
        }
        let mut failed: Vec<usize> = Vec::new();
        let mut raw: HashMap<usize, Vec<String>> = HashMap::new();
        let rounds = steps.iter().map(|&i| self.plan.steps[i].commands.len());
        for k in 0..rounds.max().unwrap_or(0) {
            self.run_round(exec, &steps, k, &mut failed, &mut raw);
        }
        let ran: Vec<usize> = steps
            .iter()
            .copied()
            .filter(|i| !failed.contains(i))
            .collect();
        for i in ran {
            let step = &self.plan.steps[i];
            let out = raw.remove(&i).unwrap_or_default().join("\n");
            if let Err(e) = self.material.absorb(step.kind, &out) {
                self.reports[i]
                    .notes
                    .push(format!("its output could not be read: {e}"));
                failed.push(i);
            }
        }
        let waiting: Vec<usize> = steps
            .iter()
            .copied()
            .filter(|i| !failed.contains(i))
            .collect();
        failed.extend(self.wait_for(exec, &waiting));
        let end = exec.now();
        for &i in &steps {
            let r = &mut self.reports[i];
            r.duration = Some(end.duration_since(start));
            r.status = if failed.contains(&i) {
                StepStatus::Failed
            } else {
                StepStatus::Ok
            };
        }
        steps.into_iter().find(|i| failed.contains(i))
    }

    /// Command `k` of each step still going, started together, run to their ends.
    fn run_round(
        &mut self,
        exec: &mut dyn Executor,
        steps: &[usize],
        k: usize,
        failed: &mut Vec<usize>,
        raw: &mut HashMap<usize, Vec<String>>,
    ) {
        let mut running = HashMap::new();
        let mut queued = std::collections::VecDeque::new();
        let going: Vec<usize> = steps
            .iter()
            .copied()
            .filter(|i| !failed.contains(i))
            .collect();
        for i in going {
            let Some(c) = self.plan.steps[i].commands.get(k) else {
                continue;
            };
            match self.material.expose(c) {
                Ok(text) => queued.push_back((i, c.host.clone(), text)),
                Err(var) => {
                    self.reports[i].notes.push(format!(
                        "needs {} from an earlier step's output, and none is known: run init (or token-create / upload-certs) first",
                        var.placeholder()
                    ));
                    failed.push(i);
                }
            }
        }
        loop {
            while running.len() < self.parallel {
                let Some((i, host, text)) = queued.pop_front() else {
                    break;
                };
                running.insert(exec.start(&host, &text), (i, host));
            }
            if running.is_empty() {
                break;
            }
            for ev in exec.wait(Duration::from_secs(3600)) {
                match ev {
                    RunEvent::Line(id, line) => {
                        let Some(&(i, _)) = running.get(&id) else {
                            continue;
                        };
                        let shown = scrub(&line);
                        if let Some(f) = self.on_line.as_mut() {
                            f(&self.reports[i].id, &shown);
                        }
                        self.reports[i].output.push(shown);
                        raw.entry(i).or_default().push(line);
                    }
                    RunEvent::Exited(id, code) => {
                        let Some((i, host)) = running.remove(&id) else {
                            continue;
                        };
                        let step = &self.plan.steps[i];
                        if code == NO_LOGIN && step.kind == StepKind::Reset {
                            // The old machine is gone (or not back): nothing to reset there now.
                            let said = self.reports[i]
                                .output
                                .iter()
                                .rev()
                                .find(|l| !l.trim().is_empty());
                            let why = said
                                .map(|l| format!(": {}", l.trim_end_matches('.')))
                                .unwrap_or_default();
                            self.reports[i].notes.push(format!(
                                "skipped: {host} did not answer over SSH{why}. If it ever comes back, run `kubeadm reset -f` on it before anything else"
                            ));
                            continue;
                        }
                        if code != 0 {
                            let out = raw.get(&i).map(Vec::as_slice).unwrap_or_default();
                            let fix = fix::diagnose(step.kind, &host, out, &self.plan.site);
                            let r = &mut self.reports[i];
                            // A failure with no diagnosis keeps the fix offered before (a
                            // retry without it fails again, on what is left over).
                            if fix.is_some() {
                                r.fix = fix;
                            }
                            // kubeadm's `error execution phase ...`, else the last thing said.
                            let last = r.output.iter().rev().find(|l| !l.trim().is_empty());
                            let error = r.output.iter().rev().find(|l| l.starts_with("error"));
                            let why = error.or(last).cloned();
                            r.notes.push(format!(
                                "exit code {code} on {host}{}",
                                why.map(|w| format!(": {w}")).unwrap_or_default()
                            ));
                            if let Some(t) = look::trouble(exec.cluster()) {
                                r.notes.push(t);
                            }
                            failed.push(i);
                        }
                    }
                }
            }
        }
    }

    /// Waits until every wait of `steps` holds (or times out); verify's checks last.
    /// Returns the steps that failed.
    fn wait_for(&mut self, exec: &mut dyn Executor, steps: &[usize]) -> Vec<usize> {
        exec.refresh();
        let deadline = exec.now() + WAIT_TIMEOUT;
        let pending = |e: &dyn Executor, plan: &crate::wizard::plan::Plan| {
            steps.iter().any(|&i| {
                let waits = &plan.steps[i].waits_for;
                !waits.iter().all(|w| look::holds(e.cluster(), w))
            })
        };
        while pending(exec, &self.plan) && exec.now() < deadline {
            exec.wait(Duration::from_secs(1));
        }
        let mut failed = Vec::new();
        for &i in steps {
            let step = &self.plan.steps[i];
            let mut notes: Vec<String> = step
                .waits_for
                .iter()
                .filter(|w| !look::holds(exec.cluster(), w))
                .map(|w| match look::trouble(exec.cluster()) {
                    Some(why) => format!("{} has not happened: {why}", w.describe()),
                    None => format!(
                        "timed out after {}m waiting until {}",
                        WAIT_TIMEOUT.as_mins(),
                        w.describe()
                    ),
                })
                .collect();
            if step.kind == StepKind::Verify && notes.is_empty() {
                notes = look::verify(exec.cluster(), &self.control_planes(), &self.nodes());
            }
            if !notes.is_empty() {
                self.reports[i].notes.extend(notes);
                failed.push(i);
            }
        }
        failed
    }

    /// Every master of the inventory (a day-2 plan joins only some of them).
    fn control_planes(&self) -> Vec<String> {
        let masters = self.plan.site.masters.iter();
        masters.map(|(name, _)| name.clone()).collect()
    }

    /// Every node verify waits for: the inventory's hosts.
    fn nodes(&self) -> Vec<String> {
        let verify = self
            .plan
            .steps
            .iter()
            .filter(|s| s.kind == StepKind::Verify);
        let waits = verify.flat_map(|s| s.waits_for.iter());
        let mut nodes: Vec<String> = waits
            .filter_map(|w| match w {
                crate::wizard::plan::Wait::NodeReady { node } => Some(node.clone()),
                _ => None,
            })
            .collect();
        nodes.dedup();
        nodes
    }
}
