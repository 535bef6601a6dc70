//! Messages into the state owner, and commands out of it.

use crossterm::event::KeyEvent;

use crate::model::ClusterEvent;

/// The lab's faults travel as commands; they live with the faults (`lab/faults.rs`).
pub use crate::lab::{Fault, FaultKind};

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Key(KeyEvent),
    /// The terminal changed size: redraw.
    Resize,
    /// A batch of events from one source, applied together before the next frame.
    Cluster(Vec<ClusterEvent>),
    Quit,
}

/// Sources send model events; this is where they become the app's message.
impl From<Vec<ClusterEvent>> for Message {
    fn from(batch: Vec<ClusterEvent>) -> Self {
        Self::Cluster(batch)
    }
}

/// Side effects `update` asks the runtime to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Fault(Fault),
}
