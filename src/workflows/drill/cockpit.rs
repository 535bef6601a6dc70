//! The drill in the cockpit (`d` on the lab): the lab task owns the lab, so it owns the
//! drill too. The app asks for a plan, confirms, may interrupt; the task advances the
//! drill with its clock, sends what was measured so far, and writes the report when done.

use std::path::PathBuf;
use std::time::Duration;

use hatui_lab::Lab;
use hatui_model::ClusterEvent;

use super::engine::{Drill, Phase};
use super::fault::DrillFault;
use super::headless::{DEFAULT_REPORT_DIR, plan_text, write_report};
use super::observe::Event;
use super::plan::{self, DrillSpec, Refusal};
use super::report::Report;

/// Samples per sparkline cell: one cell a second.
const CELL_SAMPLES: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrillCommand {
    /// Check the drill and say what it would do; nothing is touched.
    Plan(DrillSpec),
    /// The operator confirmed: apply the fault.
    Start(DrillSpec),
    /// Restore now (Esc, or quitting mid-drill).
    Abort,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DrillUpdate {
    /// What the drill would do, for the confirmation.
    Planned { spec: DrillSpec, text: String },
    /// The cockpit says it with [`Refusal::in_cockpit`]; `F` forces a forcible one.
    Refused(Refusal),
    /// Measured so far (and, when `phase` is done, the verdict and where the report went).
    Progress(DrillView),
}

/// What the drill pane shows.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillView {
    pub fault: DrillFault,
    pub target: String,
    pub phase: Phase,
    /// Lab seconds since the fault.
    pub elapsed_s: f64,
    pub timeline: Vec<Event>,
    /// Through the endpoint, one value a second: the share of requests answered (0-1).
    pub availability: Vec<f64>,
    /// Through the endpoint, one value a second: the slowest answered request, in ms.
    pub latency_ms: Vec<f64>,
    pub verdict: Vec<String>,
    /// Where the report was written, or why it was not.
    pub report: Option<String>,
}

/// The drill a lab task runs, if any.
pub struct Running {
    drill: Option<Drill>,
    progress: Progress,
}

/// What the drill pane was last told, and where the report goes once done.
pub struct Progress {
    /// The view last sent (a new one goes out when it differs).
    sent: Option<(usize, i64, Phase)>,
    /// Where reports go (`./hatui-reports`).
    report_dir: PathBuf,
}

impl Progress {
    pub fn new(report_dir: PathBuf) -> Self {
        Self {
            sent: None,
            report_dir,
        }
    }

    /// A new drill: its first view goes out whatever the last one was.
    pub fn reset(&mut self) {
        self.sent = None;
    }

    /// The view, when it changed since the last one sent; the report once done.
    pub fn update(&mut self, drill: &Drill) -> Option<DrillUpdate> {
        let key = (
            drill.timeline().len(),
            drill.elapsed().as_secs() as i64,
            drill.phase(),
        );
        if self.sent == Some(key) {
            return None;
        }
        self.sent = Some(key);
        let mut view = view(drill);
        if drill.phase() == Phase::Done {
            let report = Report::of(drill);
            view.verdict = report.verdict.clone();
            let dir = &self.report_dir;
            view.report = Some(match write_report(&report, dir) {
                Ok(written) => format!("report: {written}"),
                Err(e) => format!("the report could not be written to {}: {e}", dir.display()),
            });
        }
        Some(DrillUpdate::Progress(view))
    }
}

impl Default for Running {
    fn default() -> Self {
        Self::new(PathBuf::from(DEFAULT_REPORT_DIR))
    }
}

impl Running {
    pub fn new(report_dir: PathBuf) -> Self {
        Self {
            drill: None,
            progress: Progress::new(report_dir),
        }
    }

    pub fn active(&self) -> bool {
        self.drill
            .as_ref()
            .is_some_and(|d| d.phase() != Phase::Done)
    }

    /// Carries out `command`; returns the lab's events and what to tell the app.
    pub fn command(
        &mut self,
        lab: &mut Lab,
        command: DrillCommand,
    ) -> (Vec<ClusterEvent>, Option<DrillUpdate>) {
        match command {
            DrillCommand::Plan(spec) => match plan::check(lab, &spec) {
                Ok(p) => {
                    let text = plan_text(&p);
                    (Vec::new(), Some(DrillUpdate::Planned { spec, text }))
                }
                Err(r) => (Vec::new(), Some(DrillUpdate::Refused(r))),
            },
            DrillCommand::Start(_) if self.active() => (
                Vec::new(),
                Some(DrillUpdate::Refused(Refusal::plain(
                    "a drill is already running",
                ))),
            ),
            DrillCommand::Start(spec) => match Drill::start(lab, &spec) {
                Ok((drill, events)) => {
                    self.drill = Some(drill);
                    self.progress.reset();
                    (events, self.update())
                }
                Err(r) => (Vec::new(), Some(DrillUpdate::Refused(r))),
            },
            DrillCommand::Abort => {
                let Some(drill) = self.drill.as_mut() else {
                    return (Vec::new(), None);
                };
                let events = drill.abort(lab);
                (events, self.update())
            }
        }
    }

    /// The cockpit is going away (`q`, Ctrl-C, SIGTERM): a drill under way restores now,
    /// stops watching, and writes its report marked interrupted. What to tell the operator
    /// once the terminal is theirs again; `None` when no drill was running.
    pub fn quit(&mut self, lab: &mut Lab) -> Option<String> {
        if !self.active() {
            return None;
        }
        let drill = self.drill.as_mut()?;
        drill.mark_interrupted("quitting the cockpit");
        // Once restores (the lab's restore is done at once), twice stops the watch.
        drill.interrupt_lab(lab);
        if drill.phase() != Phase::Done {
            drill.interrupt_lab(lab);
        }
        let target = drill.target().to_string();
        let restored = if drill.restored {
            format!("{target} restored")
        } else {
            format!("{target} NOT restored")
        };
        let report = match self.update() {
            Some(DrillUpdate::Progress(v)) => v.report,
            _ => None,
        };
        Some(format!(
            "the drill was interrupted by quitting: {restored}; {}",
            report.unwrap_or_else(|| "no report was written".into())
        ))
    }

    /// Runs the drill (and with it the lab) forward by `dt`. `None`: no drill runs, the
    /// caller advances the lab itself.
    pub fn advance(
        &mut self,
        lab: &mut Lab,
        dt: Duration,
    ) -> Option<(Vec<ClusterEvent>, Option<DrillUpdate>)> {
        if !self.active() {
            return None;
        }
        let drill = self.drill.as_mut()?;
        let events = drill.advance(lab, dt);
        Some((events, self.update()))
    }

    fn update(&mut self) -> Option<DrillUpdate> {
        let drill = self.drill.as_ref()?;
        self.progress.update(drill)
    }
}

fn view(d: &Drill) -> DrillView {
    let cells = d.endpoint.samples.chunks(CELL_SAMPLES);
    let availability = cells
        .clone()
        .map(|c| c.iter().filter(|s| s.error.is_none()).count() as f64 / c.len() as f64)
        .collect();
    let latency_ms = cells
        .map(|c| c.iter().filter_map(|s| s.latency_ms).fold(0.0, f64::max))
        .collect();
    DrillView {
        fault: d.plan.spec.fault,
        target: d.target().to_string(),
        phase: d.phase(),
        elapsed_s: d.elapsed().as_secs_f64(),
        timeline: d.timeline().to_vec(),
        availability,
        latency_ms,
        verdict: Vec::new(),
        report: None,
    }
}
