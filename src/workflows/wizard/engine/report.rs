//! What happened to each step: the engine's record, shown by the headless run (and the
//! TUI pane next). Commands and output are stored with secrets hidden.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::fix::Fix;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Pending,
    Ok,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    pub id: String,
    pub hosts: Vec<String>,
    /// As shown: `--token abcdef.<hidden>`, `--certificate-key <hidden>`.
    pub commands: Vec<String>,
    pub status: StepStatus,
    /// Runs of its commands; 0 for a step found already done.
    pub attempts: u32,
    pub started_at: Option<Timestamp>,
    pub duration: Option<SignedDuration>,
    /// Every line its commands printed, secrets hidden.
    pub output: Vec<String>,
    pub notes: Vec<String>,
    /// For a failed step: what to run to fix it (no secret in it).
    pub fix: Option<Fix>,
    /// The fix that ran, once it did.
    pub fixed: Option<Fix>,
}

impl StepReport {
    pub fn new(id: &str, hosts: &[String], commands: Vec<String>) -> Self {
        Self {
            id: id.to_string(),
            hosts: hosts.to_vec(),
            commands,
            status: StepStatus::Pending,
            attempts: 0,
            started_at: None,
            duration: None,
            output: Vec::new(),
            notes: Vec::new(),
            fix: None,
            fixed: None,
        }
    }

    /// Found done by looking at the cluster: not run again.
    pub fn already_done(&self) -> bool {
        self.status == StepStatus::Ok && self.attempts == 0
    }

    pub fn output_tail(&self, n: usize) -> &[String] {
        &self.output[self.output.len().saturating_sub(n)..]
    }

    /// One line for a terminal: status, id, hosts, duration, first note.
    pub fn line(&self) -> String {
        let status = match self.status {
            StepStatus::Ok if self.already_done() => "done",
            StepStatus::Ok => "ok",
            StepStatus::Failed => "FAILED",
            StepStatus::Skipped => "skipped",
            StepStatus::Pending => "pending",
        };
        let took = self
            .duration
            .map(|d| format!(" {:.1}s", d.as_secs_f64()))
            .unwrap_or_default();
        let mut line = format!("{status:<8} {} ({}){took}", self.id, self.hosts.join(", "));
        for n in &self.notes {
            line.push_str(&format!("\n         {n}"));
        }
        if let Some(fix) = self
            .fix
            .as_ref()
            .filter(|_| self.status == StepStatus::Failed)
        {
            line.push_str(&format!("\n         fix: {}", fix.what));
            for c in fix.shown() {
                line.push_str(&format!("\n           {c}"));
            }
        }
        line
    }
}
