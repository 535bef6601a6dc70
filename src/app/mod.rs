//! The one owner of state: the cluster as last reported, and what the operator is looking at.

mod input;
pub mod ui;

use crate::message::{Command, Message};
use crate::model::{ClusterState, SourceKind};

pub use ui::{Cursor, Pane, Ui};

pub struct App {
    pub cluster: ClusterState,
    pub ui: Ui,
    pub quit: bool,
}

/// What one message did: whether the screen is stale, and what the runtime must do.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub redraw: bool,
    pub commands: Vec<Command>,
}

impl App {
    pub fn new(cluster: ClusterState) -> Self {
        Self {
            cluster,
            ui: Ui::default(),
            quit: false,
        }
    }

    pub fn is_lab(&self) -> bool {
        self.cluster.source == SourceKind::Lab
    }

    pub fn update(&mut self, msg: Message) -> Outcome {
        match msg {
            Message::Key(key) => self.on_key(key),
            Message::Resize => Outcome {
                redraw: true,
                ..Outcome::default()
            },
            Message::Cluster(events) => {
                // Fold, do not short-circuit: every event must be applied.
                let redraw = events
                    .into_iter()
                    .fold(false, |changed, ev| self.cluster.apply(ev) | changed);
                Outcome {
                    redraw,
                    ..Outcome::default()
                }
            }
            Message::Quit => {
                self.quit = true;
                Outcome::default()
            }
        }
    }
}
