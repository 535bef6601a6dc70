//! What the operator can do beside running steps, in the TUI: run a failed step again,
//! skip it (after confirming), and see the join secrets for a moment to type them.

use super::{Engine, StepStatus};

impl Engine {
    /// The failed step becomes pending again, and the steps its failure skipped too: the
    /// next run starts with it.
    pub fn retry(&mut self) {
        let Some(failed) = self.failed_step() else {
            return;
        };
        let id = self.reports[failed].id.clone();
        let note = format!("not run: {id} failed");
        for r in &mut self.reports[failed..] {
            if r.status == StepStatus::Failed
                || (r.status == StepStatus::Skipped && r.notes.last() == Some(&note))
            {
                r.status = StepStatus::Pending;
                r.notes.retain(|n| n != &note);
            }
        }
        self.stopped = false;
        self.next = failed;
    }

    /// Skips the failed step (or the next one) and goes on with the rest.
    pub fn skip(&mut self) {
        if let Some(failed) = self.failed_step() {
            self.retry();
            self.next = failed;
        }
        let Some(r) = self.reports.get_mut(self.next) else {
            return;
        };
        r.status = StepStatus::Skipped;
        r.notes.push("skipped by the operator".into());
        self.next += 1;
    }

    /// The first step that failed, if the engine stopped on it.
    pub fn failed_step(&self) -> Option<usize> {
        self.stopped.then_some(())?;
        self.reports
            .iter()
            .position(|r| r.status == StepStatus::Failed)
    }

    /// A step's commands as they would run now (secrets hidden): a pending join shows the
    /// token and key it will use once init has printed them.
    pub fn commands_now(&self, id: &str) -> Option<Vec<String>> {
        let step = self.plan.step(id)?;
        Some(super::shown(&self.material, step))
    }

    /// The join secrets as a student must type them, for the TUI's reveal: never logged,
    /// never in a report.
    pub fn secrets(&self) -> Vec<String> {
        let m = &self.material;
        let mut out = Vec::new();
        if let Some(t) = &m.token {
            out.push(format!("token: {}", t.expose()));
        }
        if let Some(k) = &m.certificate_key {
            out.push(format!("certificate key: {}", k.expose()));
        }
        out
    }
}
