//! The wizard's scene: a bare lab built by the real engine and executor up to the moment
//! the third master joins as an etcd learner, shown as the cockpit shows it then.

use std::sync::mpsc;
use std::time::Duration;

use jiff::Timestamp;

use super::driver::{Driver, scene_start};
use crate::app::App;
use crate::lab::LabConfig;
use crate::message::{Message, WizardUpdate};
use crate::model::ClusterState;
use crate::wizard::cockpit::WizardSteps;
use crate::wizard::engine::Engine;
use crate::wizard::exec::{Executor, LabExecutor, RunEvent, RunId};
use crate::wizard::headless;

/// 3 masters and 2 workers: cp-1 initialised, cp-2 joined, cp-3 a learner mid-join.
pub fn half_built() -> Driver {
    let cfg = LabConfig::new(3, 2, 7, scene_start());
    let plan = headless::lab_plan(3, 2).expect("the lab's plan");
    let mut exec = LabExecutor::new(cfg);
    let mut engine = Engine::new(plan, exec.cluster());
    let (line_tx, lines) = mpsc::channel();
    engine.on_output(Box::new(move |_, line| {
        let _ = line_tx.send(line.to_string());
    }));
    const JOINING: &str = "join-control-plane/cp-3";
    while engine.next_step().is_some_and(|s| s.id != JOINING) {
        engine.run_next(&mut exec);
    }
    let before = WizardSteps::of(&engine);
    lines.try_iter().for_each(drop);
    let mut snap = Snapshot {
        exec: &mut exec,
        lines,
        taken: None,
    };
    engine.run_next(&mut snap);
    let (cluster, upto) = snap.taken.expect("cp-3 was a learner during its join");
    let mut app = App::with_wizard(cluster.clone());
    app.ui.flash = None;
    app.update(Message::Key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Char('w'),
    )));
    app.update(Message::Wizard(WizardUpdate::Steps(before)));
    app.update(Message::Wizard(WizardUpdate::Running(JOINING.into())));
    for line in upto {
        app.update(Message::Wizard(WizardUpdate::Line(line)));
    }
    Driver::of_app(app)
}

/// The lab's executor, keeping a copy of the cluster and of the output so far the first
/// time an etcd learner is in it (one second at a time, as the cockpit's pacing does).
struct Snapshot<'a> {
    exec: &'a mut LabExecutor,
    lines: mpsc::Receiver<String>,
    taken: Option<(ClusterState, Vec<String>)>,
}

impl Executor for Snapshot<'_> {
    fn now(&self) -> Timestamp {
        self.exec.now()
    }

    fn start(&mut self, host: &str, command: &str) -> RunId {
        self.exec.start(host, command)
    }

    fn wait(&mut self, limit: Duration) -> Vec<RunEvent> {
        let events = self.exec.wait(limit.min(Duration::from_secs(1)));
        let c = self.exec.cluster();
        if self.taken.is_none() && c.etcd.members.iter().any(|m| m.is_learner) {
            self.taken = Some((c.clone(), self.lines.try_iter().collect()));
        }
        events
    }

    fn cluster(&self) -> &ClusterState {
        self.exec.cluster()
    }
}
