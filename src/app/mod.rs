//! The one owner of state: the cluster as last reported, and what the operator is looking at.

pub mod drill;
mod input;
pub mod replace;
pub mod ui;
pub mod wizard;

use crate::message::{Command, Message};
use crate::model::{ClusterState, SourceKind};

pub use drill::DrillPane;
pub use ui::{Cursor, Pane, Ui};
pub use wizard::WizardPane;

use std::time::{Duration, Instant};

use crate::keys::Here;

/// How long a status line stays in the key bar's place (a key press clears it sooner).
pub const FLASH: Duration = Duration::from_secs(5);

pub struct App {
    pub cluster: ClusterState,
    pub ui: Ui,
    /// The wizard beside the cockpit, where one runs (the bare lab).
    pub wizard: Option<WizardPane>,
    /// The failover drill's prompt, progress or result.
    pub drill: Option<DrillPane>,
    /// A live cluster whose hosts an inventory names: `d` drills it over SSH.
    pub live_drill: bool,
    /// Nodes a fault key acted on and `R` has not restored, the last one last.
    pub faulted: Vec<String>,
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
            wizard: None,
            drill: None,
            live_drill: false,
            faulted: Vec::new(),
            quit: false,
        }
    }

    /// The cockpit with a wizard to open beside it (`w`).
    pub fn with_wizard(cluster: ClusterState) -> Self {
        let mut app = Self::new(cluster);
        app.wizard = Some(WizardPane {
            on_lab: app.is_lab(),
            ..WizardPane::new()
        });
        app.ui.flash = Some(match replace::dead_master(&app.cluster) {
            _ if app.cluster.nodes.is_empty() => {
                "nothing is initialised yet: w opens the wizard that builds the cluster".into()
            }
            Some(dead) => format!(
                "{} is dead: w opens the wizard, which offers its replacement",
                dead.node
            ),
            None => "w opens the wizard".into(),
        });
        app
    }

    /// Which keys do something here.
    pub fn here(&self) -> Here {
        Here {
            // One lab: faults and the drill act on it whether it was built at start or is
            // being built by the wizard.
            lab_faults: self.is_lab(),
            wizard: self.wizard.is_some(),
            wizard_open: self.wizard_open(),
            drill: self.is_lab() || self.live_drill,
            host_key: self
                .wizard
                .as_ref()
                .is_some_and(|w| !w.host_keys.is_empty()),
            replace_offer: self.replace_offer().is_some(),
            wizard_fix: self.wizard_open()
                && self
                    .wizard
                    .as_ref()
                    .is_some_and(|w| w.running.is_none() && w.fix().is_some()),
        }
    }

    /// The wizard's pane is shown (a drill's pane, while there is one, takes its place
    /// and its keys until Esc closes it).
    pub fn wizard_open(&self) -> bool {
        self.wizard.as_ref().is_some_and(|w| w.open) && self.drill.is_none()
    }

    pub fn is_lab(&self) -> bool {
        self.cluster.source == SourceKind::Lab
    }

    pub fn update(&mut self, msg: Message) -> Outcome {
        let flash = self.ui.flash.clone();
        let mut out = self.handle(msg);
        // Also a status line set before the first message (the wizard's opening hint).
        if self.ui.flash.is_some() && (self.ui.flash != flash || self.ui.flash_at.is_none()) {
            self.ui.flash_at = self.ui.wall;
        }
        // A status line says something about a moment: it goes once that has passed.
        let shown = |at: Instant| self.ui.wall.map(|now| now.saturating_duration_since(at));
        if self.ui.flash.is_some() && self.ui.flash_at.and_then(shown) >= Some(FLASH) {
            self.ui.flash = None;
            self.ui.flash_at = None;
            out.redraw = true;
        }
        out
    }

    fn handle(&mut self, msg: Message) -> Outcome {
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
            Message::Wizard(update) => self.on_wizard(update),
            Message::Drill(update) => self.on_drill(update),
            Message::Tick(now) => {
                self.ui.wall = Some(now);
                Outcome::default()
            }
            Message::Quit => {
                self.quit = true;
                Outcome::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use jiff::Timestamp;

    use super::*;
    use crate::model::{ClusterEvent, Fault, FaultKind, Node, Readiness};

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn node(name: &str) -> Node {
        Node::ready_master(name)
    }

    fn app() -> App {
        let mut app = App::new(ClusterState::new(
            SourceKind::Lab,
            "lb:6443",
            t("2026-01-01T00:00:00Z"),
        ));
        let nodes = ["cp-1", "cp-2", "cp-3"].map(|n| ClusterEvent::NodeUpsert(node(n)));
        app.update(Message::Cluster(nodes.to_vec()));
        app
    }

    fn key(c: char) -> Message {
        Message::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    #[test]
    fn unchanged_data_asks_for_no_redraw() {
        let mut app = app();
        let same = Message::Cluster(vec![ClusterEvent::NodeUpsert(node("cp-2"))]);
        assert!(!app.update(same).redraw);
        let mut changed = node("cp-2");
        changed.ready = Readiness::Unknown;
        assert!(
            app.update(Message::Cluster(vec![ClusterEvent::NodeUpsert(changed)]))
                .redraw
        );
    }

    #[test]
    fn the_clock_redraws_once_a_second_not_more() {
        let mut app = app();
        let tick = |s| Message::Cluster(vec![ClusterEvent::Clock(t(s))]);
        assert!(!app.update(tick("2026-01-01T00:00:00.500Z")).redraw);
        assert!(app.update(tick("2026-01-01T00:00:01.000Z")).redraw);
    }

    #[test]
    fn a_fault_key_targets_the_selected_node() {
        let mut app = app();
        app.update(key('j'));
        let out = app.update(key('P'));
        let fault = Fault {
            node: "cp-2".into(),
            kind: FaultKind::PowerOff,
        };
        assert_eq!(out.commands, vec![Command::Fault(fault)]);
    }

    #[test]
    fn the_filter_narrows_the_list_and_esc_clears_it() {
        let mut app = app();
        app.update(key('/'));
        app.update(key('3'));
        assert_eq!(app.rows_in(Pane::Nodes), 1);
        assert_eq!(app.selected_node().as_deref(), Some("cp-3"));
        app.update(Message::Key(KeyEvent::new(
            KeyCode::Esc,
            KeyModifiers::NONE,
        )));
        assert_eq!(app.rows_in(Pane::Nodes), 3);
        assert!(!app.ui.filter_editing);
    }

    #[test]
    fn r_from_another_pane_restores_the_node_last_faulted() {
        let mut app = app();
        app.update(key('j'));
        app.update(key('X'));
        app.update(Message::Cluster(vec![ClusterEvent::NodeRemoved(
            "cp-2".into(),
        )]));
        // Still listed (as deleted), so the filter finds it.
        app.update(key('/'));
        for c in "cp-2".chars() {
            app.update(key(c));
        }
        assert_eq!(app.rows_in(Pane::Nodes), 1);
        app.update(Message::Key(KeyEvent::new(
            KeyCode::Esc,
            KeyModifiers::NONE,
        )));
        app.update(key('k'));
        app.update(Message::Key(KeyEvent::new(
            KeyCode::Tab,
            KeyModifiers::NONE,
        )));
        assert_ne!(app.ui.focus, Pane::Nodes);
        let out = app.update(key('R'));
        let restore = Fault {
            node: "cp-2".into(),
            kind: FaultKind::Restore,
        };
        assert_eq!(out.commands, vec![Command::Fault(restore)]);
        assert!(app.faulted.is_empty());
    }

    #[test]
    fn a_status_line_goes_after_five_seconds_of_wall_time() {
        let mut app = app();
        let start = Instant::now();
        let tick = |s| Message::Tick(start + Duration::from_secs(s));
        app.update(tick(0));
        app.update(Message::Cluster(vec![ClusterEvent::Etcd(
            Default::default(),
        )]));
        app.update(key('L'));
        assert!(app.ui.flash.is_some(), "no leader: a status line");
        // Lab time racing ahead (a sped-up lab) does not take it away.
        let late = Message::Cluster(vec![ClusterEvent::Clock(t("2026-01-01T01:00:00Z"))]);
        app.update(late);
        app.update(tick(4));
        assert!(app.ui.flash.is_some());
        assert!(app.update(tick(5)).redraw);
        assert_eq!(app.ui.flash, None);
    }

    #[test]
    fn q_quits_but_not_while_typing_a_filter() {
        let mut app = app();
        app.update(key('/'));
        app.update(key('q'));
        assert!(!app.quit);
        assert_eq!(app.ui.filter, "q");
        app.update(Message::Key(KeyEvent::new(
            KeyCode::Enter,
            KeyModifiers::NONE,
        )));
        app.update(key('q'));
        assert!(app.quit);
    }
}
