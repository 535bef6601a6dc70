//! Keys in, state changes and commands out.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{App, Outcome, Pane};
use crate::keys::{self, Action};
use crate::message::{Command, Fault};

impl App {
    pub(super) fn on_key(&mut self, key: KeyEvent) -> Outcome {
        if key.kind == KeyEventKind::Release {
            return Outcome::default();
        }
        self.ui.flash = None;
        if self.ui.filter_editing && !is_ctrl_c(&key) {
            self.edit_filter(key);
            return redraw();
        }
        if self.ui.help && matches!(key.code, KeyCode::Esc) {
            self.ui.help = false;
            return redraw();
        }
        if key.code == KeyCode::Esc && !self.ui.filter.is_empty() {
            self.ui.filter.clear();
            return redraw();
        }
        match keys::lookup(&key, self.is_lab()) {
            Some(action) => self.act(action),
            None => Outcome::default(),
        }
    }

    fn act(&mut self, action: Action) -> Outcome {
        let page = self.ui.page.max(1) as isize;
        match action {
            Action::Quit => self.quit = true,
            Action::ToggleHelp => self.ui.help = !self.ui.help,
            Action::FocusNext => self.ui.focus = self.ui.focus.next(),
            Action::FocusPrev => self.ui.focus = self.ui.focus.prev(),
            Action::Up => self.scroll(-1),
            Action::Down => self.scroll(1),
            Action::PageUp => self.scroll(-page),
            Action::PageDown => self.scroll(page),
            Action::Top => self.scroll(isize::MIN / 2),
            Action::Bottom => self.scroll(isize::MAX / 2),
            Action::Filter => {
                self.ui.focus = Pane::Nodes;
                self.ui.filter_editing = true;
            }
            Action::JumpToLeader => self.select_leader(),
            Action::Fault(kind) => {
                let Some(node) = self.selected_node() else {
                    self.ui.flash = Some("no node selected: Tab to Nodes, then j/k".into());
                    return redraw();
                };
                let fault = Fault { node, kind };
                return Outcome {
                    redraw: true,
                    commands: vec![Command::Fault(fault)],
                };
            }
        }
        redraw()
    }

    fn scroll(&mut self, delta: isize) {
        let pane = self.ui.focus;
        let len = self.rows_in(pane);
        self.ui.cursor_mut(pane).step(delta, len);
    }

    /// How many rows the pane lists, so the cursor can stay inside.
    pub fn rows_in(&self, pane: Pane) -> usize {
        let c = &self.cluster;
        match pane {
            Pane::Nodes => c.nodes.matching(&self.ui.filter).count(),
            Pane::Etcd => c.etcd.members.len(),
            Pane::Leases => c.leases.len(),
            Pane::Tokens => 1 + c.join_tokens().count() + c.certificates.len(),
            Pane::Timeline => c.timeline.len(),
            Pane::Endpoint => c.apiservers.len() + 1,
        }
    }

    /// The node under the cursor in the (filtered) node list.
    pub fn selected_node(&self) -> Option<String> {
        let mut matching = self.cluster.nodes.matching(&self.ui.filter);
        matching.nth(self.ui.nodes.selected).map(|n| n.name.clone())
    }

    fn select_leader(&mut self) {
        let Some(leader) = self.cluster.etcd.leader_member().map(|m| m.name.clone()) else {
            self.ui.flash = Some("etcd has no leader right now".into());
            return;
        };
        self.ui.filter.clear();
        self.ui.focus = Pane::Nodes;
        match self.cluster.nodes.iter().position(|n| n.name == leader) {
            Some(i) => self.ui.nodes.selected = i,
            None => self.ui.flash = Some(format!("etcd leader {leader} has no matching node")),
        }
    }

    fn edit_filter(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Enter => self.ui.filter_editing = false,
            KeyCode::Esc => {
                self.ui.filter.clear();
                self.ui.filter_editing = false;
            }
            KeyCode::Backspace => {
                self.ui.filter.pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.ui.filter.push(c);
            }
            _ => {}
        }
        self.ui.nodes.selected = 0;
    }
}

fn is_ctrl_c(key: &KeyEvent) -> bool {
    key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL)
}

fn redraw() -> Outcome {
    Outcome {
        redraw: true,
        commands: Vec::new(),
    }
}
