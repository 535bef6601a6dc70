//! Key bindings as data. The dispatcher, the key bar and the help overlay all read this
//! one table, so help never drifts from what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::model::FaultKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    ToggleHelp,
    FocusNext,
    FocusPrev,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Filter,
    JumpToLeader,
    Fault(FaultKind),
    Drill,
    DrillNextFault,
    DrillForce,
    ToggleWizard,
    WizardRun,
    WizardRunAll,
    WizardSkip,
    WizardReveal,
    WizardFix,
    /// Accept the wizard's offer to replace a dead master.
    WizardReplace,
    HostKeyAccept,
    HostKeyRefuse,
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Always,
    /// Only in the lab: these act on the simulated cluster.
    Lab,
    /// Where a wizard can run (the bare lab): opens and closes it.
    Wizard,
    /// While the wizard's pane is open.
    WizardOpen,
    /// Where a failover drill can run: the full lab, or a live cluster whose hosts an
    /// inventory names (`hatui --inventory FILE`).
    Drill,
    /// While the wizard's pane asks about an unknown host key.
    HostKey,
    /// While the wizard's pane offers to replace a dead master.
    ReplaceOffer,
    /// While the wizard's failed step offers a fix.
    WizardFix,
}

/// What applies here: which scopes' keys do something.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Here {
    /// The lab's fault keys (built at start, or being built by the wizard).
    pub lab_faults: bool,
    pub wizard: bool,
    pub wizard_open: bool,
    /// A drill can run here.
    pub drill: bool,
    /// An unknown host key waits for an answer.
    pub host_key: bool,
    /// The open wizard offers to replace a dead master.
    pub replace_offer: bool,
    /// The wizard's failed step offers a fix (`f` runs it).
    pub wizard_fix: bool,
}

impl Here {
    pub fn lab() -> Self {
        Self {
            lab_faults: true,
            drill: true,
            ..Self::default()
        }
    }

    pub fn live() -> Self {
        Self::default()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

const fn key(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
    }
}

const fn code(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [Key],
    pub action: Action,
    /// One or two words for the key bar.
    pub short: &'static str,
    /// The help overlay's sentence.
    pub help: &'static str,
    pub scope: Scope,
    /// Its rank in the bottom key bar: 0 only in help; when the bar is short the highest
    /// ranks give way first (`?` never: it opens the rest).
    pub bar: u8,
}

const fn bind(
    keys: &'static [Key],
    action: Action,
    short: &'static str,
    help: &'static str,
    scope: Scope,
    bar: u8,
) -> Binding {
    Binding {
        keys,
        action,
        short,
        help,
        scope,
        bar,
    }
}

use Action as A;
use Scope::{Always, HostKey, Lab, Wizard, WizardOpen};

pub const BINDINGS: &[Binding] = &[
    bind(
        &[key('q'), ctrl('c')],
        A::Quit,
        "quit",
        "Quit and restore the terminal",
        Always,
        2,
    ),
    bind(
        &[key('?')],
        A::ToggleHelp,
        "help",
        "Show or hide this help",
        Always,
        1,
    ),
    bind(
        &[code(KeyCode::Tab)],
        A::FocusNext,
        "pane",
        "Focus the next pane",
        Always,
        4,
    ),
    bind(
        &[code(KeyCode::BackTab)],
        A::FocusPrev,
        "",
        "Focus the previous pane",
        Always,
        0,
    ),
    bind(
        &[key('k'), code(KeyCode::Up)],
        A::Up,
        "",
        "Move up in the focused pane",
        Always,
        0,
    ),
    bind(
        &[key('j'), code(KeyCode::Down)],
        A::Down,
        "",
        "Move down in the focused pane",
        Always,
        0,
    ),
    bind(
        &[code(KeyCode::PageUp)],
        A::PageUp,
        "",
        "Scroll a page up",
        Always,
        0,
    ),
    bind(
        &[code(KeyCode::PageDown)],
        A::PageDown,
        "",
        "Scroll a page down",
        Always,
        0,
    ),
    bind(
        &[key('g'), code(KeyCode::Home)],
        A::Top,
        "",
        "Go to the top",
        Always,
        0,
    ),
    bind(
        &[key('G'), code(KeyCode::End)],
        A::Bottom,
        "",
        "Go to the bottom",
        Always,
        0,
    ),
    bind(
        &[key('/')],
        A::Filter,
        "filter",
        "Filter nodes by name (Enter keeps, Esc clears)",
        Always,
        5,
    ),
    bind(
        &[key('L')],
        A::JumpToLeader,
        "leader",
        "Select the etcd leader's node",
        Always,
        3,
    ),
    bind(
        &[key('w')],
        A::ToggleWizard,
        "wizard",
        "Show or hide the wizard that builds the cluster, beside the cockpit",
        Wizard,
        2,
    ),
    bind(
        &[code(KeyCode::Enter)],
        A::WizardRun,
        "run step",
        "Wizard: run the next step (a failed one: run it again)",
        WizardOpen,
        2,
    ),
    bind(
        &[key('a')],
        A::WizardRunAll,
        "run all",
        "Wizard: run every remaining step, stopping at a failure",
        WizardOpen,
        3,
    ),
    bind(
        &[key('s')],
        A::WizardSkip,
        "skip",
        "Wizard: skip the failed (or next) step; press s again to confirm",
        WizardOpen,
        3,
    ),
    bind(
        &[key('f')],
        A::WizardFix,
        "runs the fix",
        "Wizard: run the fix the failed step offers, then the step again",
        Scope::WizardFix,
        1,
    ),
    bind(
        &[key('v')],
        A::WizardReveal,
        "reveal",
        "Wizard: show the token and certificate key for 10 s, to type them",
        WizardOpen,
        4,
    ),
    bind(
        &[key('r')],
        A::WizardReplace,
        "replace",
        "Wizard: replace the dead master it names (NotReady past its grace period, its \
         etcd member silent): its plan goes in the pane, Enter or a runs it",
        Scope::ReplaceOffer,
        1,
    ),
    bind(
        &[key('y')],
        A::HostKeyAccept,
        "accept key",
        "Wizard: accept the unknown host key shown (recorded in known_hosts)",
        HostKey,
        1,
    ),
    bind(
        &[key('x')],
        A::HostKeyRefuse,
        "refuse key",
        "Wizard: refuse the unknown host key shown (its steps fail)",
        HostKey,
        1,
    ),
    bind(
        &[key('K')],
        A::Fault(FaultKind::StopKubelet),
        "kubelet",
        "Lab: systemctl stop kubelet on the selected node",
        Lab,
        4,
    ),
    bind(
        &[key('C')],
        A::Fault(FaultKind::StopControlPlane),
        "cp stop",
        "Lab: move the selected master's control-plane manifests away",
        Lab,
        5,
    ),
    bind(
        &[key('P')],
        A::Fault(FaultKind::PowerOff),
        "power",
        "Lab: cut the selected node's power (everything dies at once)",
        Lab,
        3,
    ),
    bind(
        &[key('S')],
        A::Fault(FaultKind::Shutdown),
        "shutdown",
        "Lab: shut the selected node down cleanly (systemctl poweroff)",
        Lab,
        0,
    ),
    bind(
        &[key('E')],
        A::Fault(FaultKind::StopEtcd),
        "etcd stop",
        "Lab: crictl stop etcd on the selected master (apiserver stays)",
        Lab,
        0,
    ),
    bind(
        &[key('N')],
        A::Fault(FaultKind::Partition),
        "partition",
        "Lab: cut the selected master off the others on 2379/2380/6443",
        Lab,
        0,
    ),
    bind(
        &[key('X')],
        A::Fault(FaultKind::DeleteNode),
        "delete node",
        "Lab: power off and delete the selected master's Node",
        Lab,
        0,
    ),
    bind(
        &[key('R')],
        A::Fault(FaultKind::Restore),
        "restore",
        "Lab: restore the selected node",
        Lab,
        3,
    ),
    bind(
        &[key('d')],
        A::Drill,
        "drill",
        "Failover drill on the etcd leader (d again starts it)",
        Scope::Drill,
        2,
    ),
    bind(
        &[key('n')],
        A::DrillNextFault,
        "",
        "Before a drill starts, pick its next fault",
        Scope::Drill,
        0,
    ),
    bind(
        &[key('F')],
        A::DrillForce,
        "",
        "Run a drill refused for etcd's quorum anyway",
        Scope::Drill,
        0,
    ),
];

impl Key {
    fn matches(&self, ev: &KeyEvent) -> bool {
        // Shifted letters arrive as the upper-case char, sometimes with SHIFT set.
        let mods = ev.modifiers - KeyModifiers::SHIFT;
        self.code == ev.code && self.mods == mods
    }

    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "S-Tab".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            other => format!("{other:?}"),
        };
        if self.mods.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{}", base.to_uppercase())
        } else {
            base
        }
    }
}

impl Binding {
    pub fn applies(&self, here: Here) -> bool {
        match self.scope {
            Always => true,
            Lab => here.lab_faults,
            Wizard => here.wizard,
            WizardOpen => here.wizard_open,
            Scope::Drill => here.drill,
            HostKey => here.host_key,
            Scope::ReplaceOffer => here.replace_offer,
            // `f` answers in any wizard state ("no fix to run"); the bar shows it only
            // when there is one.
            Scope::WizardFix => here.wizard_open,
        }
    }

    /// All keys of the binding, as the help shows them: `k/↑`.
    pub fn keys_label(&self) -> String {
        self.keys
            .iter()
            .map(Key::label)
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// The action bound to a key press, if any applies here.
pub fn lookup(ev: &KeyEvent, here: Here) -> Option<Action> {
    BINDINGS
        .iter()
        .filter(|b| b.applies(here))
        .find(|b| b.keys.iter().any(|k| k.matches(ev)))
        .map(|b| b.action)
}

/// The first key of `action`'s binding, as the key bar shows it: for sentences that name
/// a key, so they follow the table.
pub fn key_of(action: Action) -> String {
    BINDINGS
        .iter()
        .find(|b| b.action == action)
        .and_then(|b| b.keys.first())
        .map_or_else(String::new, Key::label)
}

/// Bindings for the key bar, in table order.
pub fn bar(here: Here) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| {
        b.bar > 0 && b.applies(here) && (b.scope != Scope::WizardFix || here.wizard_fix)
    })
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
