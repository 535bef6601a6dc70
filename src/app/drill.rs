//! The drill as the operator drives it: `d` asks the lab task what a drill on the etcd
//! leader would do (target, quorum arithmetic, commands, what a real cluster does), `n`
//! picks another fault, `d` again starts it, Esc cancels, interrupts (the lab task
//! restores at once) or closes the result.

use super::{App, Outcome};
use crate::drill::cockpit::DrillView;
use crate::drill::{DrillFault, DrillSpec, Phase};
use crate::message::{Command, DrillCommand, DrillUpdate};

#[derive(Debug, Clone, PartialEq)]
pub enum DrillPane {
    /// Waiting for the operator: what the drill would do, or why it will not run.
    Prompt {
        spec: DrillSpec,
        /// The plan as the lab task said it; `None` until it answered.
        plan: Option<String>,
        refused: Option<String>,
        /// `F` runs it anyway (it was refused for the quorum alone).
        forcible: bool,
    },
    /// Started, or done (the view's phase says which).
    Running(DrillView),
}

impl App {
    /// `d`: show the plan, or start the drill it shows.
    pub(super) fn drill_key(&mut self) -> Vec<Command> {
        match &self.drill {
            None => self.plan_drill(DrillFault::Power),
            Some(DrillPane::Prompt {
                spec,
                plan: Some(_),
                refused: None,
                ..
            }) => vec![Command::Drill(DrillCommand::Start(spec.clone()))],
            Some(DrillPane::Prompt { forcible, .. }) => {
                let how = if *forcible {
                    "this drill cannot start: F runs it anyway, n picks another fault"
                } else {
                    "this drill cannot start: n picks another fault"
                };
                self.ui.flash = Some(how.into());
                Vec::new()
            }
            Some(DrillPane::Running(v)) if v.phase != Phase::Done => {
                self.ui.flash = Some("a drill is running: Esc interrupts it".into());
                Vec::new()
            }
            Some(DrillPane::Running(_)) => self.plan_drill(DrillFault::Power),
        }
    }

    /// `n` in the prompt: the next of the five faults.
    pub(super) fn next_drill_fault(&mut self) -> Vec<Command> {
        let Some(DrillPane::Prompt { spec, .. }) = &self.drill else {
            self.ui.flash = Some("n picks a drill's fault: press d first".into());
            return Vec::new();
        };
        let all = DrillFault::ALL;
        let at = all.iter().position(|f| *f == spec.fault).unwrap_or(0);
        self.plan_drill(all[(at + 1) % all.len()])
    }

    fn plan_drill(&mut self, fault: DrillFault) -> Vec<Command> {
        let spec = DrillSpec::new(fault);
        self.drill = Some(DrillPane::Prompt {
            spec: spec.clone(),
            plan: None,
            refused: None,
            forcible: false,
        });
        vec![Command::Drill(DrillCommand::Plan(spec))]
    }

    /// `F` in a prompt refused for the quorum: start it anyway.
    pub(super) fn force_drill(&mut self) -> Vec<Command> {
        match &self.drill {
            Some(DrillPane::Prompt {
                spec,
                forcible: true,
                ..
            }) => {
                let spec = DrillSpec {
                    force: true,
                    ..spec.clone()
                };
                vec![Command::Drill(DrillCommand::Start(spec))]
            }
            _ => {
                self.ui.flash =
                    Some("F runs a drill refused for etcd's quorum: nothing to force".into());
                Vec::new()
            }
        }
    }

    /// Esc with a drill pane: cancel the prompt, interrupt a drill, close a result.
    /// `None`: there was no drill pane.
    pub(super) fn drill_escape(&mut self) -> Option<Vec<Command>> {
        match self.drill.as_ref()? {
            DrillPane::Running(v) if v.phase == Phase::Fault => {
                Some(vec![Command::Drill(DrillCommand::Abort)])
            }
            DrillPane::Running(v) if v.phase == Phase::Recovering => {
                self.ui.flash = Some("restored: the drill watches the recovery to its end".into());
                Some(Vec::new())
            }
            _ => {
                self.drill = None;
                Some(Vec::new())
            }
        }
    }

    pub(super) fn on_drill(&mut self, update: DrillUpdate) -> Outcome {
        match update {
            DrillUpdate::Planned { spec, text } => {
                if let Some(DrillPane::Prompt {
                    spec: asked, plan, ..
                }) = &mut self.drill
                    && *asked == spec
                {
                    *plan = Some(text);
                }
            }
            DrillUpdate::Refused(r) => match &mut self.drill {
                Some(DrillPane::Prompt {
                    refused, forcible, ..
                }) => {
                    *refused = Some(r.in_cockpit());
                    *forcible = r.forcible();
                }
                _ => self.ui.flash = Some(format!("drill: {}", r.in_cockpit())),
            },
            DrillUpdate::Progress(view) => self.drill = Some(DrillPane::Running(view)),
        }
        Outcome {
            redraw: true,
            commands: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent};

    use super::*;
    use crate::drill::Refusal;
    use crate::drill::plan::Way;
    use crate::message::Message;
    use crate::model::{ClusterState, SourceKind};

    fn app() -> App {
        App::new(ClusterState::new(
            SourceKind::Lab,
            "lb:6443",
            jiff::Timestamp::UNIX_EPOCH,
        ))
    }

    fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
        app.update(Message::Key(KeyEvent::from(code))).commands
    }

    fn view(phase: Phase) -> DrillView {
        DrillView {
            fault: DrillFault::Power,
            target: "cp-1".into(),
            phase,
            elapsed_s: 1.0,
            timeline: vec![],
            availability: vec![],
            latency_ms: vec![],
            verdict: vec![],
            report: None,
        }
    }

    #[test]
    fn d_shows_the_plan_then_starts_it_and_esc_interrupts() {
        let mut a = app();
        let power = DrillSpec::new(DrillFault::Power);
        assert_eq!(
            press(&mut a, KeyCode::Char('d')),
            [Command::Drill(DrillCommand::Plan(power.clone()))]
        );
        assert!(press(&mut a, KeyCode::Char('d')).is_empty(), "no plan yet");
        a.update(Message::Drill(DrillUpdate::Planned {
            spec: power.clone(),
            text: "Drill: power cut of cp-1".into(),
        }));
        assert_eq!(
            press(&mut a, KeyCode::Char('d')),
            [Command::Drill(DrillCommand::Start(power))]
        );
        a.update(Message::Drill(DrillUpdate::Progress(view(Phase::Fault))));
        assert_eq!(
            press(&mut a, KeyCode::Esc),
            [Command::Drill(DrillCommand::Abort)]
        );
        a.update(Message::Drill(DrillUpdate::Progress(view(Phase::Done))));
        assert!(press(&mut a, KeyCode::Esc).is_empty());
        assert_eq!(a.drill, None, "Esc closes the result");
    }

    #[test]
    fn n_cycles_the_fault_and_a_refusal_blocks_the_start() {
        let mut a = app();
        press(&mut a, KeyCode::Char('d'));
        let kubelet = DrillSpec::new(DrillFault::Kubelet);
        assert_eq!(
            press(&mut a, KeyCode::Char('n')),
            [Command::Drill(DrillCommand::Plan(kubelet.clone()))],
            "after power comes kubelet"
        );
        a.update(Message::Drill(DrillUpdate::Refused(Refusal::plain(
            "needs 2 of 2",
        ))));
        assert!(press(&mut a, KeyCode::Char('d')).is_empty());
        assert!(a.ui.flash.as_deref().unwrap().contains("cannot start"));
        assert!(press(&mut a, KeyCode::Char('F')).is_empty(), "not forcible");
    }

    #[test]
    fn a_quorum_refusal_reads_once_names_f_and_f_runs_it_anyway() {
        let mut a = app();
        press(&mut a, KeyCode::Char('d'));
        let why = "etcd quorum: 2 members need 2 of 2; 2 healthy now, 1 during the power fault \
                   on cp-1. Quorum needs 2 of 2: the API would stop answering until the restore";
        a.update(Message::Drill(DrillUpdate::Refused(Refusal(
            why.into(),
            Way::Force,
        ))));
        let Some(DrillPane::Prompt {
            refused: Some(said),
            ..
        }) = &a.drill
        else {
            panic!("a prompt with the refusal: {:?}", a.drill)
        };
        assert!(said.contains("press F to run it anyway"), "{said}");
        assert!(!said.contains("--force"), "no command-line flag: {said}");
        assert!(
            !said.contains("refusing"),
            "said once (the pane says refused): {said}"
        );
        let forced = DrillSpec {
            force: true,
            ..DrillSpec::new(DrillFault::Power)
        };
        assert_eq!(
            press(&mut a, KeyCode::Char('F')),
            [Command::Drill(DrillCommand::Start(forced))]
        );
    }
}
