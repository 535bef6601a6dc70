//! The wizard without a screen, `--yes`: the whole plan, each step printed as it finishes
//! (or one JSON object at the end), on the lab (`lab.rs`, `hatui wizard --lab --yes`) or
//! on real hosts over SSH (`ssh.rs`, `hatui wizard --inventory FILE --yes`). Both print
//! the same way; verify passing is the only success.

mod lab;
mod resize;
pub(crate) mod ssh;
mod ssh_resize;

use std::io::Write;

use color_eyre::Result;
use serde::Serialize;

use super::engine::{Engine, Fix, StepReport, StepStatus};
use super::exec::Executor;
use hatui_model::{ClusterState, Snapshot};

pub use lab::{
    DEAD_MASTER, LabRun, Replace, Scenario, build, lab_plan, lab_plan_with, replace, replace_on,
    replace_refusal, replacement_marks, replacement_under_way, run, run_on,
};
pub use resize::{Resize, resize};
pub use ssh::{DEFAULT_PARALLEL, SshRun, replace_script, replace_ssh, run_ssh};
pub use ssh_resize::{resize_script, resize_ssh};

/// Lines of output kept per step in the JSON.
pub const TAIL_LINES: usize = 20;
/// Lines of a failed step's output printed under it (text).
pub const FAILED_TAIL_LINES: usize = 10;
/// Fixes `--yes` runs in a whole plan, at most: a fix that does not fix stops it.
pub const MAX_FIXES: usize = 3;

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
    /// On real hosts, once init is done: admin.conf on the bastion.
    #[serde(skip_serializing_if = "Option::is_none")]
    kubeconfig: Option<&'a KubeconfigJson>,
    status: Snapshot,
}

/// The first master's admin.conf, brought to the bastion (or why not).
#[derive(Debug, Clone, Serialize)]
pub struct KubeconfigJson {
    /// `~/.kube/hatui-<cluster>.conf`, mode 0600.
    pub path: Option<String>,
    /// Its clusters' server: `https://<endpoint>`.
    pub server: String,
    /// The master it was read from.
    pub from: String,
    /// The command line that opens the cockpit on it.
    pub open: Option<String>,
    pub error: Option<String>,
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

/// Runs `engine` to its end on `exec`: an offered fix runs (at most [`MAX_FIXES`]), `each`
/// sees every report as it finishes, `before` is called before each step (the lab's
/// scenarios let time pass there).
pub fn drive<E: Executor>(
    engine: &mut Engine,
    exec: &mut E,
    mut before: impl FnMut(&Engine, &mut E),
    mut each: impl FnMut(&StepReport),
) {
    // A step found done is said once (the engine hands it back when it passes it).
    let mut done = std::collections::HashSet::new();
    let mut each = |r: &StepReport| {
        if !r.already_done() || done.insert(r.id.clone()) {
            each(r);
        }
    };
    for r in engine.reports().iter().take_while(|r| r.already_done()) {
        each(r);
    }
    let mut fixes = 0;
    loop {
        let changed = if engine.finished() {
            let fixable = engine
                .failed_step()
                .is_some_and(|i| engine.reports()[i].fix.is_some());
            if !fixable || fixes >= MAX_FIXES {
                break;
            }
            fixes += 1;
            engine.run_fix(exec)
        } else {
            before(engine, exec);
            engine.run_next(exec)
        };
        for i in changed {
            let r = &engine.reports()[i];
            if r.status != StepStatus::Pending {
                each(r);
            }
        }
    }
    let skipped = engine.reports().iter();
    for r in skipped.filter(|r| r.status == StepStatus::Skipped) {
        each(r);
    }
}

/// Prints a run: the title and the plan's warnings first (text), each step as it
/// finishes, then the verdict line (text) or the one JSON object.
pub struct Printer<'a, W: Write> {
    out: &'a mut W,
    json: bool,
    /// The first write that failed; nothing more is written after it.
    failed: Option<std::io::Error>,
    kubeconfig: Option<KubeconfigJson>,
    /// Each step printed so far: how many of its notes were said then. A step printed again
    /// (it failed, its fix ran, it ran again) says only what is new, in the order it came.
    said: std::collections::HashMap<String, usize>,
}

impl<'a, W: Write> Printer<'a, W> {
    pub fn new(out: &'a mut W, json: bool, title: &str, warnings: &[String]) -> Self {
        let mut p = Self {
            out,
            json,
            failed: None,
            kubeconfig: None,
            said: std::collections::HashMap::new(),
        };
        if !json {
            p.line(title);
            for w in warnings {
                p.line(&format!("warning: {w}"));
            }
        }
        p
    }

    fn line(&mut self, text: &str) {
        if self.failed.is_none()
            && let Err(e) = writeln!(self.out, "{text}")
        {
            self.failed = Some(e);
        }
    }

    /// A finished step (text only): its line, and for a failure the end of its output. A
    /// step said before (it failed) comes back after its fix: the fix that ran, then its new
    /// line with only the notes that came since.
    pub fn step(&mut self, r: &StepReport) {
        if self.json {
            return;
        }
        let before = self.said.insert(r.id.clone(), r.notes.len());
        match before {
            None => self.line(&r.line()),
            Some(n) => {
                let new = r.notes.get(n..).unwrap_or_default();
                let (ran, rest): (Vec<&String>, Vec<&String>) =
                    new.iter().partition(|n| n.starts_with("the fix ran on "));
                if let Some(fix) = r.fixed.as_ref().filter(|_| !ran.is_empty()) {
                    self.line(&format!("{:<8} {}", "fix ran", r.id));
                    for c in fix.shown() {
                        self.line(&format!("           {c}"));
                    }
                }
                let mut again = r.clone();
                again.notes = rest.into_iter().cloned().collect();
                self.line(&again.line());
            }
        }
        if r.status == StepStatus::Failed {
            for l in r.output_tail(FAILED_TAIL_LINES) {
                self.line(&format!("         | {l}"));
            }
        }
    }

    /// admin.conf on the bastion (text: said at once; JSON: with the rest at the end).
    pub fn kubeconfig(&mut self, k: KubeconfigJson) {
        if !self.json {
            match (&k.path, &k.error) {
                (Some(path), _) => {
                    self.line(&format!(
                        "kubeconfig {path} ({}'s admin.conf, server {}, mode 0600)",
                        k.from, k.server
                    ));
                    if let Some(open) = &k.open {
                        self.line(&format!("         the cockpit on it: {open}"));
                    }
                }
                (None, Some(e)) => self.line(&format!(
                    "warning: {}'s admin.conf is not on this machine: {e}",
                    k.from
                )),
                (None, None) => {}
            }
        }
        self.kubeconfig = Some(k);
    }

    /// The verdict: `verified: <how>` (text), or the JSON of every step and the cluster.
    pub fn finish(
        mut self,
        engine: &Engine,
        warnings: &[String],
        cluster: &ClusterState,
        how: &str,
    ) -> Result<bool> {
        let verified = engine.verified();
        if self.json {
            let json = RunJson {
                plan: engine.reports().iter().map(step_json).collect(),
                warnings,
                verified,
                kubeconfig: self.kubeconfig.as_ref(),
                status: Snapshot::of(cluster),
            };
            serde_json::to_writer_pretty(&mut *self.out, &json)?;
            self.line("");
        } else {
            let word = if verified { "verified" } else { "NOT verified" };
            self.line(&format!("{word}: {how}"));
        }
        match self.failed {
            Some(e) => Err(e.into()),
            None => Ok(verified),
        }
    }
}
