//! Messages into the state owner, and commands out of it.

use crossterm::event::KeyEvent;

use crate::model::{ClusterEvent, Fault};

/// The drill the lab task runs: what the operator asks, what it measured.
pub use crate::drill::cockpit::{DrillCommand, DrillUpdate};
/// The wizard beside the cockpit: what it reports, what the operator asks of it.
pub use crate::wizard::cockpit::{WizardCommand, WizardUpdate};

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Key(KeyEvent),
    /// The terminal changed size: redraw.
    Resize,
    /// A batch of events from one source, applied together before the next frame.
    Cluster(Vec<ClusterEvent>),
    Wizard(WizardUpdate),
    Drill(DrillUpdate),
    /// Wall time, once a second: status lines are read by a person, whatever the lab's
    /// speed.
    Tick(std::time::Instant),
    Quit,
}

/// Sources send model events; this is where they become the app's message.
impl From<Vec<ClusterEvent>> for Message {
    fn from(batch: Vec<ClusterEvent>) -> Self {
        Self::Cluster(batch)
    }
}

impl From<DrillUpdate> for Message {
    fn from(update: DrillUpdate) -> Self {
        Self::Drill(update)
    }
}

impl From<WizardUpdate> for Message {
    fn from(update: WizardUpdate) -> Self {
        Self::Wizard(update)
    }
}

/// Side effects `update` asks the runtime to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Fault(Fault),
    Drill(DrillCommand),
    Wizard(WizardCommand),
}
