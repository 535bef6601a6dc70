//! The lab and the app driven together on the virtual clock, without a terminal.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jiff::Timestamp;
use ratatui::{Terminal, backend::TestBackend, buffer::Buffer};

use crate::app::App;
use crate::lab::{Lab, LabConfig};
use crate::message::{Command, Message};
use crate::model::{ClusterState, SourceKind};

/// The lab and the app wired together without a terminal, on the virtual clock: what the
/// runtime does, minus real time. A wizard scene has the app alone (its bare lab ran
/// ahead of it, see `scenes/wizard.rs`).
pub struct Driver {
    pub(super) lab: Option<Lab>,
    pub app: App,
}

impl Driver {
    pub fn new(cfg: LabConfig) -> Self {
        let lab = Lab::new(cfg);
        let cluster = ClusterState::new(SourceKind::Lab, lab.config().endpoint.clone(), lab.now());
        let mut app = App::new(cluster);
        app.update(Message::Cluster(lab.full_state()));
        Self {
            lab: Some(lab),
            app,
        }
    }

    /// An app state built some other way (the wizard's scenes).
    pub fn of_app(app: App) -> Self {
        Self { lab: None, app }
    }

    /// The full lab behind a lab scene.
    pub fn lab(&self) -> &Lab {
        self.lab.as_ref().expect("a lab scene")
    }

    /// Runs the lab clock forward, delivering events a second at a time as the runtime would.
    pub fn advance(&mut self, total: Duration) {
        let Some(lab) = self.lab.as_mut() else {
            return;
        };
        let mut left = total;
        while !left.is_zero() {
            let dt = left.min(Duration::from_secs(1));
            let events = lab.advance(dt);
            self.app.update(Message::Cluster(events));
            left -= dt;
        }
    }

    /// Presses a key; faults it produces are carried out on the lab at once.
    pub fn press(&mut self, code: KeyCode) {
        let outcome = self
            .app
            .update(Message::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        for command in outcome.commands {
            if let (Command::Fault(fault), Some(lab)) = (command, self.lab.as_mut()) {
                let events = lab.inject(&fault);
                self.app.update(Message::Cluster(events));
            }
        }
    }

    pub fn render(&mut self, width: u16, height: u16) -> Buffer {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
        terminal
            .draw(|frame| crate::view::draw(frame, &mut self.app))
            .expect("draw");
        terminal.backend().buffer().clone()
    }
}

/// A fixed moment, so scenes render the same clock every time.
pub fn scene_start() -> Timestamp {
    "2026-03-14T09:00:00Z".parse().expect("valid timestamp")
}
