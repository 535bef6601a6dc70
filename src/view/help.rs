//! The help overlay: every binding that applies here, read from the key table itself so
//! it cannot drift from what the keys do, then what the panes' marks mean. It scrolls
//! when the terminal is shorter than the help, and says so on its border.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Clear;

use super::{format, pane, theme};
use crate::app::Ui;
use crate::keys::{BINDINGS, Binding, Here, Scope};

const MAX_WIDTH: u16 = 78;
/// Operators expect "stop the kubelet" to take a master down; it does not.
const FAULTS: &str = "kubelet stop ≠ control plane down: stopping the kubelet only stops \
    heartbeats (the Node turns NotReady after 50 s; 40 s before v1.32) while the static pods keep serving; \
    moving the four control-plane manifests away stops them cleanly within a second (etcd hands \
    over, the scheduler releases its lease, the controller-manager's expires after 15 s), as \
    does a shutdown; a power cut kills everything at once and the others wait for timeouts.";

/// What the panes' marks mean: `(mark, sentence)`.
const MARKS: [(&str, &str); 7] = [
    (
        "A E S C",
        "PODS: the master's kube-apiserver, etcd, kube-scheduler and \
         kube-controller-manager static pods; green running, yellow not ready, red failed, \
         - absent (its manifest moved away)",
    ),
    (
        "? ? ? ?",
        "PODS: no static pod reported for that master yet (pods not listed)",
    ),
    (
        "FOR/AGE",
        "Nodes: FOR is how long the node has had its STATUS (the Ready \
         condition's last change); AGE is since the Node was created (kubectl's AGE)",
    ),
    (
        "silent",
        "Nodes: a note beside or under the node: no kubelet heartbeat for that long \
         and the countdown to NotReady; restarts A:1 (apiserver restarted once) for 10 min \
         after they were seen",
    ),
    (
        "→ cp-1?",
        "Leases: the holder's host (holderIdentity is host_id) matches no Node's name",
    ),
    (
        "… +2",
        "a row or header cut, or columns left out, for lack of room; +2 more: \
         rows hidden below (Tab to the pane, then j/k)",
    ),
    (
        "deleted",
        "Nodes: a Node deleted (X in the lab) stays listed until it registers again (R)",
    ),
];
/// The drill pane's sparklines.
const SPARKS: (&str, &str) = (
    "▁▄█",
    "Drill sparklines: one cell a second, newest on the right; answered: the share of \
     probes through the endpoint answered (█ all, ▁ none); latency: █ is the highest latency \
     of the run, in ms beside it",
);

/// Draws the help over `area` from `ui.help_offset`, clamped to the end (and kept so).
pub fn draw(frame: &mut Frame, area: Rect, here: Here, ui: &mut Ui) {
    let width = area.width.min(MAX_WIDTH);
    let text_w = usize::from(width.saturating_sub(4));
    let lines = content(here, text_w);
    let height = pane::height(lines.len()).min(area.height);
    let rows = usize::from(height.saturating_sub(2));
    let offset = ui.help_offset.min(lines.len().saturating_sub(rows));
    (ui.help_offset, ui.help_page) = (offset, rows.max(1));
    let below = lines.len().saturating_sub(offset + rows);
    let mut title = vec![pane::name("Help")];
    if offset > 0 {
        title.push(Span::styled(" ↑ more ", theme::WARN));
    }
    let bottom = if below > 0 {
        vec![Span::styled(" ↓ more: j/↓ PgDn ", theme::WARN)]
    } else {
        Vec::new()
    };
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, popup);
    let inner = pane::frame_with(frame, popup, title, true, bottom);
    let padded = Rect {
        x: inner.x.saturating_add(1).min(inner.right()),
        width: inner.width.saturating_sub(2),
        ..inner
    };
    pane::text(frame, padded, lines.into_iter().skip(offset));
}

/// Every row of the help, top to bottom, at text width `width`.
pub fn content(here: Here, width: usize) -> Vec<Line<'static>> {
    let applies = |scope| {
        BINDINGS
            .iter()
            .filter(move |b| b.applies(here) && b.scope == scope)
    };
    let key_w = BINDINGS
        .iter()
        .map(|b| format::width(&b.keys_label()))
        .max()
        .unwrap_or(0);
    let mut lines = vec![Line::styled("Keys", theme::HEADER)];
    lines.extend(applies(Scope::Always).flat_map(|b| binding(b, key_w, width, theme::KEY)));
    if here.wizard {
        lines.push(Line::default());
        let head = "Wizard: builds the cluster step by step (on the lab: simulated hosts)";
        lines.push(Line::styled(head, theme::HEADER));
        // Every wizard key, also those that act only in some of its states.
        let wizard = [
            Scope::Wizard,
            Scope::WizardOpen,
            Scope::WizardFix,
            Scope::ReplaceOffer,
        ];
        let keys = BINDINGS.iter().filter(|b| wizard.contains(&b.scope));
        lines.extend(keys.flat_map(|b| binding(b, key_w, width, theme::LAB_KEY)));
    }
    if here.drill {
        lines.push(Line::default());
        let head = "Drill: takes one master down and measures (lab: simulated; live: over SSH)";
        lines.push(Line::styled(head, theme::HEADER));
        lines.extend(applies(Scope::Drill).flat_map(|b| binding(b, key_w, width, theme::LAB_KEY)));
    }
    if here.lab_faults {
        lines.push(Line::default());
        let head = "Lab: these act on the simulated cluster only";
        lines.push(Line::styled(head, theme::HEADER));
        lines.extend(applies(Scope::Lab).flat_map(|b| binding(b, key_w, width, theme::LAB_KEY)));
        lines.extend(
            format::wrap(FAULTS, width)
                .into_iter()
                .map(|l| Line::styled(l, theme::WARN)),
        );
    }
    lines.push(Line::default());
    lines.push(Line::styled("Marks on screen", theme::HEADER));
    let mut marks = MARKS.to_vec();
    if here.drill {
        marks.push(SPARKS);
    }
    for (mark, text) in marks {
        lines.extend(row(mark.to_string(), text, key_w, width, theme::BOLD));
    }
    lines.push(Line::default());
    let close = "↑/↓ j/k PgUp/PgDn scroll · Esc or ? closes this help";
    lines.push(Line::styled(close, theme::DIM));
    lines
}

/// `k/↑       Move up in the focused pane`, the sentence wrapped under itself.
fn binding(
    b: &Binding,
    key_w: usize,
    width: usize,
    style: ratatui::style::Style,
) -> Vec<Line<'static>> {
    row(b.keys_label(), b.help, key_w, width, style)
}

fn row(
    key: String,
    help: &str,
    key_w: usize,
    width: usize,
    style: ratatui::style::Style,
) -> Vec<Line<'static>> {
    let indent = key_w + 2;
    let text = format::wrap(help, width.saturating_sub(indent).max(10));
    text.into_iter()
        .enumerate()
        .map(|(i, t)| {
            let key = if i == 0 { key.clone() } else { String::new() };
            Line::from(vec![
                Span::styled(format::pad(&key, key_w), style),
                Span::raw("  "),
                Span::raw(t),
            ])
        })
        .collect()
}
