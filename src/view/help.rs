//! The help overlay: every binding that applies here, read from the key table itself so
//! it cannot drift from what the keys do.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Clear;

use super::{format, pane, theme};
use crate::keys::{BINDINGS, Binding, Here, Scope};

const MAX_WIDTH: u16 = 78;
/// Operators expect "stop the kubelet" to take a master down; it does not.
const FAULTS: &str = "kubelet stop ≠ control plane down: stopping the kubelet only stops \
    heartbeats (the Node turns NotReady after 50 s; 40 s before v1.32) while the static pods keep serving; \
    moving the four control-plane manifests away stops them cleanly within a second (etcd hands \
    over, the scheduler releases its lease, the controller-manager's expires after 15 s), as \
    does a shutdown; a power cut kills everything at once and the others wait for timeouts.";

pub fn draw(frame: &mut Frame, area: Rect, here: Here) {
    let width = area.width.min(MAX_WIDTH);
    let text_w = usize::from(width.saturating_sub(4));
    let lines = content(here, text_w);
    let height = pane::height(lines.len()).min(area.height);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, popup);
    let inner = pane::frame(frame, popup, vec![pane::name("Help")], true);
    let padded = Rect {
        x: inner.x.saturating_add(1).min(inner.right()),
        width: inner.width.saturating_sub(2),
        ..inner
    };
    pane::text(frame, padded, lines);
}

fn content(here: Here, width: usize) -> Vec<Line<'static>> {
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
        for scope in [Scope::Wizard, Scope::WizardOpen, Scope::ReplaceOffer] {
            lines.extend(applies(scope).flat_map(|b| binding(b, key_w, width, theme::LAB_KEY)));
        }
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
    lines.push(Line::styled("Esc or ? closes this help", theme::DIM));
    lines
}

/// `k/↑       Move up in the focused pane`, the sentence wrapped under itself.
fn binding(
    b: &Binding,
    key_w: usize,
    width: usize,
    style: ratatui::style::Style,
) -> Vec<Line<'static>> {
    let indent = key_w + 2;
    let text = format::wrap(b.help, width.saturating_sub(indent).max(10));
    text.into_iter()
        .enumerate()
        .map(|(i, t)| {
            let key = if i == 0 {
                b.keys_label()
            } else {
                String::new()
            };
            Line::from(vec![
                Span::styled(format::pad(&key, key_w), style),
                Span::raw("  "),
                Span::raw(t),
            ])
        })
        .collect()
}
