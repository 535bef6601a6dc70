//! The cockpit's offer to replace a dead master, end to end on the lab's virtual clock:
//! the app (keys in, commands out) and the wizard's thread (`hatui lab --bare --scenario
//! dead-master`), wired as the runtime wires them. `w` opens the wizard, which offers
//! "r: replace cp-1"; `r` puts the replace plan in the pane, `a` runs it to three healthy
//! voters, and nothing is offered any more.

use std::sync::mpsc;

use crossterm::event::{KeyCode, KeyEvent};
use hatui::app::App;
use hatui::lab::LabConfig;
use hatui::message::{Command, Message};
use hatui::wizard::cockpit::{self, WizardCommand, WizardSteps, WizardUpdate};
use hatui::wizard::exec::{Executor, LabExecutor};
use hatui::wizard::headless::{DEAD_MASTER, Scenario, lab_plan};

struct Cockpit {
    app: App,
    rx: tokio::sync::mpsc::Receiver<Message>,
    commands: mpsc::Sender<WizardCommand>,
}

impl Cockpit {
    /// The bare lab's cockpit after the dead-master scenario, as `run_bare_lab` starts it.
    fn start() -> Self {
        let plan = lab_plan(3, 1).unwrap();
        let mut exec = LabExecutor::new(LabConfig::new(3, 1, 5, LabConfig::default().start));
        Scenario::DeadMaster.set_up(&mut exec, &plan);
        let app = App::with_wizard(exec.cluster().clone());
        let (tx, rx) = tokio::sync::mpsc::channel(4096);
        let (commands, commands_rx) = mpsc::channel();
        std::thread::spawn(move || {
            cockpit::run(exec, plan, 1e6, tx, commands_rx, Default::default())
        });
        Self { app, rx, commands }
    }

    fn press(&mut self, c: char) {
        let out = self
            .app
            .update(Message::Key(KeyEvent::from(KeyCode::Char(c))));
        for command in out.commands {
            if let Command::Wizard(w) = command {
                self.commands.send(w).unwrap();
            }
        }
    }

    /// Applies the thread's messages until the pane's steps satisfy `done`.
    fn until(&mut self, done: impl Fn(&WizardSteps) -> bool) -> WizardSteps {
        loop {
            let msg = self.rx.blocking_recv().expect("the wizard runs");
            let steps = match &msg {
                Message::Wizard(WizardUpdate::Steps(s)) => Some(s.clone()),
                _ => None,
            };
            self.app.update(msg);
            if let Some(s) = steps.filter(|s| done(s)) {
                return s;
            }
        }
    }
}

fn ids(s: &WizardSteps) -> Vec<&str> {
    s.reports.iter().map(|r| r.id.as_str()).collect()
}

#[test]
fn w_offers_to_replace_the_dead_master_and_r_then_a_run_the_replace_plan_to_three_voters() {
    let mut c = Cockpit::start();
    c.until(|_| true);
    assert_eq!(c.app.replace_offer(), None, "the wizard is closed");
    c.press('w');
    let offer = c
        .app
        .replace_offer()
        .expect("cp-1 dead past its grace period");
    assert_eq!(offer.node, DEAD_MASTER);
    assert!(offer.silent_s.unwrap() > offer.grace_s, "{offer:?}");
    assert!(offer.line().starts_with("r: replace cp-1. It is dead"));

    c.press('r');
    let plan = c.until(|s| ids(s).contains(&"remove-member/cp-1"));
    let inv =
        hatui::fleet::inventory::parse("lab", &hatui::wizard::lab::inventory_toml(3, 1)).unwrap();
    let headless = hatui::wizard::plan::replace(&inv, DEAD_MASTER, "cp-2").unwrap();
    let want: Vec<&str> = headless.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids(&plan),
        want,
        "the plan of `hatui wizard --lab --replace cp-1`"
    );
    for id in [
        "snapshot",
        "remove-member/cp-1",
        "join-control-plane/cp-1",
        "verify",
    ] {
        assert!(want.contains(&id), "{want:?}");
    }
    assert!(!plan.finished, "shown before anything runs");
    assert_eq!(c.app.replace_offer(), None, "asked for: no second offer");

    c.press('a');
    let done = c.until(|s| s.finished);
    assert!(done.verified, "{:#?}", done.reports);
    // The pane's cluster, as the thread streamed it: three voters, all answering.
    let members = &c.app.cluster.etcd.members;
    assert_eq!(members.len(), 3, "{members:?}");
    assert!(
        members.iter().all(|m| m.reachable && !m.is_learner),
        "{members:?}"
    );
    let cp1 = c
        .app
        .cluster
        .nodes
        .get(DEAD_MASTER)
        .expect("cp-1 registered");
    assert_eq!(cp1.ready, hatui::model::Readiness::Ready);
    assert_eq!(c.app.replace_offer(), None, "nothing dead any more");
}

/// A replacement the checks refuse (cp-2 answers) changes nothing: the pane keeps its
/// plan, is told it has no replacement, and the timeline says why.
#[test]
fn a_live_master_is_not_replaced_and_the_timeline_says_why() {
    let mut c = Cockpit::start();
    let before = c.until(|_| true);
    c.commands
        .send(WizardCommand::Replace("cp-2".into()))
        .unwrap();
    loop {
        let msg = c.rx.blocking_recv().expect("the wizard runs");
        let answered = matches!(msg, Message::Wizard(WizardUpdate::Replacing(None)));
        assert!(
            !matches!(msg, Message::Wizard(WizardUpdate::Replacing(Some(_)))),
            "cp-2 is alive"
        );
        c.app.update(msg);
        if answered {
            break;
        }
    }
    let steps = c.app.wizard.as_ref().unwrap().steps.as_ref().unwrap();
    assert_eq!(ids(steps), ids(&before), "the pane keeps its plan");
    // The note follows the answer, among the lab's own events.
    let refusal = (0..10_000).find_map(|_| match c.rx.blocking_recv()? {
        Message::Cluster(events) => events.into_iter().find_map(|e| match e {
            hatui::model::ClusterEvent::Note(n) if n.starts_with("refusing to replace") => Some(n),
            _ => None,
        }),
        _ => None,
    });
    let note = refusal.expect("the timeline says why");
    assert!(
        note.starts_with("refusing to replace cp-2: cp-2 is not dead"),
        "{note}"
    );
}
