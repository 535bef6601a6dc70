//! The wizard's pane as the operator sees it: the steps as the wizard last reported them,
//! the running step's output as it streams, a skip waiting for its confirmation, and the
//! secrets while revealed. Keys become [`WizardCommand`]s for the wizard's thread.

use std::collections::VecDeque;

use super::{App, Outcome, Pane};
use crate::message::{Command, WizardCommand, WizardUpdate};
use crate::wizard::cockpit::WizardSteps;
use crate::wizard::engine::StepStatus;
use crate::wizard::exec::HostKeyQuestion;

/// Lines of a running step's output kept on screen.
const LIVE_LINES: usize = 500;

#[derive(Debug, Clone, Default)]
pub struct WizardPane {
    pub open: bool,
    /// `None` until the wizard first reported.
    pub steps: Option<WizardSteps>,
    /// The step running now, and its output so far.
    pub running: Option<String>,
    pub live: Vec<String>,
    /// `s` was pressed once: the next `s` skips this step.
    pub confirm_skip: Option<String>,
    pub revealed: Option<Vec<String>>,
    /// The selection follows the running (or next) step until the operator moves it.
    pub follow: bool,
    /// Rows of the selected step's output scrolled back from its end (PgUp/PgDn).
    pub output_back: usize,
    /// Rows of output on screen, as last drawn: what a page moves.
    pub output_page: usize,
    /// Unknown host keys waiting for the operator's answer; the first is shown.
    pub host_keys: VecDeque<HostKeyQuestion>,
    /// It builds the lab (faults and the drill act on the same cluster).
    pub on_lab: bool,
    /// The master whose replacement plan the pane holds (or was asked for).
    pub replacing: Option<String>,
}

impl WizardPane {
    pub fn new() -> Self {
        Self {
            follow: true,
            ..Self::default()
        }
    }

    /// The step a run would start with: the failed one, else the first pending one.
    pub fn current(&self) -> Option<usize> {
        let steps = self.steps.as_ref()?;
        let r = &steps.reports;
        let failed = r.iter().position(|r| r.status == StepStatus::Failed);
        failed.or_else(|| r.iter().position(|r| r.status == StepStatus::Pending))
    }

    pub fn len(&self) -> usize {
        self.steps.as_ref().map_or(0, |s| s.reports.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The fix the failed step offers, if any.
    pub fn fix(&self) -> Option<&crate::wizard::engine::Fix> {
        let steps = self.steps.as_ref()?;
        let failed = steps
            .reports
            .iter()
            .find(|r| r.status == StepStatus::Failed);
        failed?.fix.as_ref()
    }

    fn failed(&self) -> bool {
        let steps = self.steps.as_ref();
        steps.is_some_and(|s| s.reports.iter().any(|r| r.status == StepStatus::Failed))
    }
}

impl App {
    pub(super) fn on_wizard(&mut self, update: WizardUpdate) -> Outcome {
        let Some(w) = self.wizard.as_mut() else {
            return Outcome::default();
        };
        match update {
            WizardUpdate::Steps(steps) => {
                // A replacement verified is over: another master that dies is offered.
                if steps.finished && steps.verified {
                    w.replacing = None;
                }
                w.steps = Some(steps);
                w.running = None;
            }
            WizardUpdate::Running(id) => {
                w.running = Some(id);
                w.live.clear();
                w.output_back = 0;
            }
            WizardUpdate::Line(line) => {
                if w.live.len() == LIVE_LINES {
                    w.live.remove(0);
                }
                w.live.push(line);
            }
            WizardUpdate::Revealed(secrets) => w.revealed = secrets,
            WizardUpdate::Replacing(node) => w.replacing = node,
            // A login waits on it: the pane opens to ask.
            WizardUpdate::HostKey(question) => {
                w.host_keys.push_back(question);
                w.open = true;
                self.ui.focus = Pane::Wizard;
            }
        }
        if w.follow {
            let running = w.running.as_ref();
            let steps = w.steps.as_ref();
            let at = running
                .and_then(|id| steps?.reports.iter().position(|r| &r.id == id))
                .or_else(|| w.current());
            if let Some(at) = at {
                self.ui.wizard.selected = at;
            }
        }
        Outcome {
            redraw: true,
            commands: Vec::new(),
        }
    }

    /// `y` or `x` on the host key asked about: the answer for the login waiting on it.
    pub(super) fn answer_host_key(&mut self, accept: bool) -> Vec<Command> {
        let Some(q) = self.wizard.as_mut().and_then(|w| w.host_keys.pop_front()) else {
            return Vec::new();
        };
        self.ui.flash = Some(if accept {
            format!(
                "{} accepted for {}: recorded in known_hosts",
                q.fingerprint, q.target
            )
        } else {
            format!("{} refused for {}: its steps fail", q.fingerprint, q.target)
        });
        vec![Command::Wizard(WizardCommand::HostKey { id: q.id, accept })]
    }

    pub(super) fn toggle_wizard(&mut self) {
        let Some(w) = self.wizard.as_mut() else {
            return;
        };
        w.open = !w.open;
        self.ui.focus = if w.open { Pane::Wizard } else { Pane::Nodes };
    }

    /// A wizard key: the command for the wizard's thread, or what to tell the operator.
    pub(super) fn wizard_command(&mut self, action: WizardAction) -> Vec<Command> {
        let Some(w) = self.wizard.as_mut() else {
            return Vec::new();
        };
        let skip_confirmed = w.confirm_skip.take();
        if w.running.is_some() && action != WizardAction::Reveal {
            self.ui.flash = Some("a step is running: wait for it to end".into());
            return Vec::new();
        }
        let finished = w.steps.as_ref().is_some_and(|s| s.finished) && !w.failed();
        let command = match action {
            WizardAction::Reveal => WizardCommand::Reveal,
            _ if finished => {
                self.ui.flash = Some("every step has run: the cluster is built".into());
                return Vec::new();
            }
            WizardAction::Fix if w.fix().is_some() => WizardCommand::RunFix,
            WizardAction::Fix => {
                self.ui.flash = Some("no fix to run: only a failed step can offer one".into());
                return Vec::new();
            }
            WizardAction::Run if w.failed() => WizardCommand::Retry,
            WizardAction::Run => WizardCommand::RunNext,
            WizardAction::RunAll if w.failed() => {
                self.ui.flash =
                    Some("a step failed: Enter runs it again, f runs its fix, s skips it".into());
                return Vec::new();
            }
            WizardAction::RunAll => WizardCommand::RunAll,
            WizardAction::Skip => {
                let Some(at) = w.current() else {
                    return Vec::new();
                };
                let id = w.steps.as_ref().map(|s| s.reports[at].id.clone());
                if skip_confirmed.is_none() || skip_confirmed != id {
                    let id = id.unwrap_or_default();
                    self.ui.flash = Some(format!(
                        "skip {id}? later steps may fail without it: press s again to skip"
                    ));
                    w.confirm_skip = Some(id);
                    return Vec::new();
                }
                WizardCommand::Skip
            }
        };
        w.follow = true;
        let retry = command == WizardCommand::Retry;
        let mut commands = vec![Command::Wizard(command)];
        // After a retry the step runs at once.
        if retry {
            commands.push(Command::Wizard(WizardCommand::RunNext));
        }
        commands
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WizardAction {
    Run,
    RunAll,
    Skip,
    Reveal,
    Fix,
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent};

    use super::*;
    use crate::message::Message;
    use crate::model::{ClusterState, SourceKind};
    use crate::wizard::engine::StepReport;

    fn app(statuses: &[StepStatus]) -> App {
        let cluster = ClusterState::new(SourceKind::Lab, "lb:6443", jiff::Timestamp::UNIX_EPOCH);
        let mut app = App::with_wizard(cluster);
        let reports = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| StepReport {
                status: *s,
                ..StepReport::new(&format!("step-{i}"), &["cp-1".into()], vec![])
            })
            .collect();
        let steps = WizardSteps {
            reports,
            why: vec![],
            command_hosts: vec![],
            warnings: vec![],
            finished: statuses.contains(&StepStatus::Failed),
            verified: false,
        };
        app.update(Message::Wizard(WizardUpdate::Steps(steps)));
        app
    }

    fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
        app.update(Message::Key(KeyEvent::from(code))).commands
    }

    #[test]
    fn w_opens_the_wizard_and_only_then_enter_runs_a_step() {
        let mut a = app(&[StepStatus::Ok, StepStatus::Pending]);
        assert!(press(&mut a, KeyCode::Enter).is_empty(), "closed");
        press(&mut a, KeyCode::Char('w'));
        assert_eq!(a.ui.focus, Pane::Wizard);
        assert_eq!(
            press(&mut a, KeyCode::Enter),
            [Command::Wizard(WizardCommand::RunNext)]
        );
        assert_eq!(
            a.ui.wizard.selected, 1,
            "the selection follows the next step"
        );
    }

    #[test]
    fn a_failed_step_is_run_again_with_enter_and_skipped_only_when_confirmed() {
        let mut a = app(&[StepStatus::Ok, StepStatus::Failed, StepStatus::Skipped]);
        press(&mut a, KeyCode::Char('w'));
        assert!(
            press(&mut a, KeyCode::Char('a')).is_empty(),
            "run all refused"
        );
        assert!(
            a.ui.flash
                .as_deref()
                .unwrap()
                .contains("Enter runs it again")
        );
        assert!(press(&mut a, KeyCode::Char('s')).is_empty(), "asks first");
        assert!(a.ui.flash.as_deref().unwrap().contains("skip step-1?"));
        assert_eq!(
            press(&mut a, KeyCode::Char('s')),
            [Command::Wizard(WizardCommand::Skip)]
        );
        assert_eq!(
            press(&mut a, KeyCode::Enter),
            [
                Command::Wizard(WizardCommand::Retry),
                Command::Wizard(WizardCommand::RunNext)
            ]
        );
    }

    #[test]
    fn nothing_starts_while_a_step_runs_but_a_reveal_does() {
        let mut a = app(&[StepStatus::Pending]);
        press(&mut a, KeyCode::Char('w'));
        a.update(Message::Wizard(WizardUpdate::Running("step-0".into())));
        a.update(Message::Wizard(WizardUpdate::Line("[preflight] ok".into())));
        assert_eq!(a.wizard.as_ref().unwrap().live, ["[preflight] ok"]);
        assert!(press(&mut a, KeyCode::Enter).is_empty());
        assert_eq!(
            press(&mut a, KeyCode::Char('v')),
            [Command::Wizard(WizardCommand::Reveal)]
        );
    }

    fn question(id: u64, target: &str) -> HostKeyQuestion {
        HostKeyQuestion {
            id,
            target: target.into(),
            key_type: "ssh-ed25519".into(),
            fingerprint: format!("SHA256:key{id}"),
        }
    }

    #[test]
    fn an_unknown_host_key_is_asked_in_the_pane_y_accepts_x_refuses() {
        let mut a = app(&[StepStatus::Pending]);
        assert!(
            press(&mut a, KeyCode::Char('y')).is_empty(),
            "nothing asked"
        );
        a.update(Message::Wizard(WizardUpdate::HostKey(question(
            7,
            "root@10.0.0.11:22",
        ))));
        a.update(Message::Wizard(WizardUpdate::HostKey(question(
            8,
            "root@10.0.0.12:22",
        ))));
        assert!(a.wizard_open(), "the pane opens to ask");
        assert_eq!(a.ui.focus, Pane::Wizard);
        assert!(a.here().host_key);
        // A step running does not hold the answer back: the step is what waits on it.
        a.update(Message::Wizard(WizardUpdate::Running("step-0".into())));
        assert_eq!(
            press(&mut a, KeyCode::Char('y')),
            [Command::Wizard(WizardCommand::HostKey {
                id: 7,
                accept: true
            })]
        );
        assert!(
            a.ui.flash
                .as_deref()
                .unwrap()
                .contains("SHA256:key7 accepted")
        );
        assert_eq!(
            press(&mut a, KeyCode::Char('x')),
            [Command::Wizard(WizardCommand::HostKey {
                id: 8,
                accept: false
            })]
        );
        assert!(a.ui.flash.as_deref().unwrap().contains("refused"));
        assert!(!a.here().host_key, "nothing left to ask");
        assert!(press(&mut a, KeyCode::Char('y')).is_empty());
    }

    #[test]
    fn f_runs_the_fix_of_a_failed_step_that_offers_one() {
        let mut a = app(&[StepStatus::Ok, StepStatus::Failed]);
        press(&mut a, KeyCode::Char('w'));
        assert!(
            press(&mut a, KeyCode::Char('f')).is_empty(),
            "no fix offered"
        );
        assert!(a.ui.flash.as_deref().unwrap_or_default().contains("no fix"));
        let mut steps = a.wizard.as_ref().unwrap().steps.clone().unwrap();
        steps.reports[1].fix = Some(crate::wizard::engine::Fix {
            what: "swap is on".into(),
            commands: vec![crate::wizard::command::Command::root(
                "worker-1",
                "swapoff -a",
            )],
        });
        a.update(Message::Wizard(WizardUpdate::Steps(steps)));
        assert_eq!(
            press(&mut a, KeyCode::Char('f')),
            [Command::Wizard(WizardCommand::RunFix)]
        );
    }
}
