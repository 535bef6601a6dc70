//! Keys in, state changes and commands out.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::wizard::WizardAction;
use super::{App, Outcome, Pane, WizardPane};
use crate::keys::{self, Action};
use crate::message::Command;
use crate::model::{Fault, FaultKind};

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
        if key.code == KeyCode::Esc
            && let Some(commands) = self.drill_escape()
        {
            return Outcome {
                redraw: true,
                commands,
            };
        }
        if key.code == KeyCode::Esc && !self.ui.filter.is_empty() {
            self.ui.filter.clear();
            return redraw();
        }
        let action = keys::lookup(&key, self.here());
        if self.ui.help
            && let Some(rows) = action.and_then(|a| self.help_rows(a))
        {
            // The view clamps it to the help's length.
            self.ui.help_offset = self.ui.help_offset.saturating_add_signed(rows);
            return redraw();
        }
        match action {
            Some(action) => self.act(action),
            None => Outcome::default(),
        }
    }

    fn act(&mut self, action: Action) -> Outcome {
        let page = self.ui.page.max(1) as isize;
        match action {
            Action::Quit => self.quit = true,
            Action::ToggleHelp => {
                self.ui.help = !self.ui.help;
                self.ui.help_offset = 0;
            }
            Action::FocusNext => self.focus(Pane::next),
            Action::FocusPrev => self.focus(Pane::prev),
            Action::Up => self.scroll(-1),
            Action::Down => self.scroll(1),
            // In the wizard, pages move through the selected step's output.
            Action::PageUp if self.ui.focus == Pane::Wizard => self.scroll_output(1),
            Action::PageDown if self.ui.focus == Pane::Wizard => self.scroll_output(-1),
            Action::PageUp => self.scroll(-page),
            Action::PageDown => self.scroll(page),
            Action::Top => self.scroll(isize::MIN / 2),
            Action::Bottom => self.scroll(isize::MAX / 2),
            Action::Filter => {
                self.ui.focus = Pane::Nodes;
                self.ui.filter_editing = true;
            }
            Action::JumpToLeader => self.select_leader(),
            Action::Drill => {
                let commands = self.drill_key();
                return Outcome {
                    redraw: true,
                    commands,
                };
            }
            Action::DrillNextFault | Action::DrillForce => {
                let commands = if action == Action::DrillForce {
                    self.force_drill()
                } else {
                    self.next_drill_fault()
                };
                return Outcome {
                    redraw: true,
                    commands,
                };
            }
            Action::ToggleWizard => self.toggle_wizard(),
            Action::WizardRun => return self.wizard(WizardAction::Run),
            Action::WizardRunAll => return self.wizard(WizardAction::RunAll),
            Action::WizardSkip => return self.wizard(WizardAction::Skip),
            Action::WizardReveal => return self.wizard(WizardAction::Reveal),
            Action::WizardFix => return self.wizard(WizardAction::Fix),
            Action::WizardReplace => return self.accept_replace(),
            Action::HostKeyAccept | Action::HostKeyRefuse => {
                let commands = self.answer_host_key(action == Action::HostKeyAccept);
                return Outcome {
                    redraw: true,
                    commands,
                };
            }
            Action::Fault(kind) => {
                let Some(node) = self.fault_target(kind) else {
                    self.ui.flash = Some("no node selected: Tab to Nodes, then j/k".into());
                    return redraw();
                };
                self.faulted.retain(|n| *n != node);
                if kind != FaultKind::Restore {
                    self.faulted.push(node.clone());
                }
                let fault = Fault { node, kind };
                return Outcome {
                    redraw: true,
                    commands: vec![Command::Fault(fault)],
                };
            }
        }
        redraw()
    }

    /// While the help is open the moving keys scroll it: by how many rows.
    fn help_rows(&self, action: Action) -> Option<isize> {
        let page = self.ui.help_page.max(1) as isize;
        Some(match action {
            Action::Up => -1,
            Action::Down => 1,
            Action::PageUp => -page,
            Action::PageDown => page,
            Action::Top => isize::MIN / 2,
            Action::Bottom => isize::MAX / 2,
            _ => return None,
        })
    }

    fn wizard(&mut self, action: WizardAction) -> Outcome {
        Outcome {
            redraw: true,
            commands: self.wizard_command(action),
        }
    }

    /// Pages back (or forward, negative) through the selected step's output; the view
    /// clamps it to the output.
    fn scroll_output(&mut self, pages: isize) {
        if let Some(w) = self.wizard.as_mut() {
            let rows = pages.saturating_mul(w.output_page.max(1) as isize);
            w.output_back = w.output_back.saturating_add_signed(rows);
        }
    }

    /// Moves focus to the next pane on screen (the wizard's only while it is open).
    fn focus(&mut self, step: fn(Pane) -> Pane) {
        let mut pane = step(self.ui.focus);
        while pane == Pane::Wizard && !self.wizard_open() {
            pane = step(pane);
        }
        self.ui.focus = pane;
    }

    fn scroll(&mut self, delta: isize) {
        let pane = self.ui.focus;
        let len = self.rows_in(pane);
        self.ui.cursor_mut(pane).step(delta, len);
        if let (Pane::Wizard, Some(w)) = (pane, self.wizard.as_mut()) {
            w.follow = false;
            w.output_back = 0;
        }
    }

    /// How many rows the pane lists, so the cursor can stay inside.
    pub fn rows_in(&self, pane: Pane) -> usize {
        let c = &self.cluster;
        match pane {
            Pane::Nodes => c.nodes.listed(&self.ui.filter).count(),
            Pane::Etcd => c.etcd.members.len(),
            Pane::Leases => c.leases.len(),
            Pane::Tokens => 1 + c.join_tokens().count() + c.certificates.len(),
            Pane::Timeline => c.timeline.len(),
            Pane::Endpoint => c.apiservers.len() + 1,
            Pane::Wizard => self.wizard.as_ref().map_or(0, WizardPane::len),
        }
    }

    /// The node a fault key acts on: the selection in the node list; `R` from another
    /// pane restores the node last faulted (and not restored yet), if any.
    fn fault_target(&self, kind: FaultKind) -> Option<String> {
        let last = self.faulted.last().cloned();
        match kind {
            FaultKind::Restore if self.ui.focus != Pane::Nodes => {
                last.or_else(|| self.selected_node())
            }
            _ => self.selected_node(),
        }
    }

    /// The node under the cursor in the (filtered) node list.
    pub fn selected_node(&self) -> Option<String> {
        let mut listed = self.cluster.nodes.listed(&self.ui.filter);
        listed
            .nth(self.ui.nodes.selected)
            .map(|l| l.node.name.clone())
    }

    fn select_leader(&mut self) {
        let Some(leader) = self.cluster.etcd.live_leader().map(|m| m.name.clone()) else {
            self.ui.flash = Some("etcd has no leader right now".into());
            return;
        };
        self.ui.filter.clear();
        self.ui.focus = Pane::Nodes;
        match self
            .cluster
            .nodes
            .listed("")
            .position(|l| l.node.name == leader)
        {
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
