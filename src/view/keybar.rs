//! The bottom row: the keys that matter now, built from the same table the dispatcher
//! uses; a flash message or the filter being typed takes its place.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{format, theme};
use crate::app::App;
use crate::keys::{self, Here, Scope};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let ui = &app.ui;
    let line = if ui.filter_editing {
        filter(&ui.filter)
    } else if let Some(flash) = &ui.flash {
        Line::from(Span::styled(format!(" {flash} "), theme::FLASH))
    } else {
        bar(app.here(), usize::from(area.width))
    };
    frame.render_widget(format::fit_line(line, usize::from(area.width)), area);
}

fn filter(text: &str) -> Line<'static> {
    Line::from(vec![
        Span::styled("filter: ", theme::KEY),
        Span::raw(format!("{text}█")),
        Span::styled("  Enter keep · Esc clear", theme::DIM),
    ])
}

/// `q quit  ? help  Tab pane ...`: whole bindings only, as many as fit in `room`; the
/// gaps narrow before a binding is left out.
fn bar(here: Here, room: usize) -> Line<'static> {
    let wide = bindings(here, room, "  ");
    if wide.len() == keys::bar(here).count() {
        return Line::from(wide.concat());
    }
    Line::from(bindings(here, room, " ").concat())
}

fn bindings(here: Here, room: usize, gap: &'static str) -> Vec<Vec<Span<'static>>> {
    let mut out = Vec::new();
    let mut used = 0;
    for b in keys::bar(here) {
        let key = b.keys.first().map(|k| k.label()).unwrap_or_default();
        let gap = if out.is_empty() { "" } else { gap };
        let cost = gap.len() + format::width(&key) + 1 + format::width(b.short);
        if used + cost > room {
            break;
        }
        used += cost;
        let style = match b.scope {
            Scope::Lab
            | Scope::Wizard
            | Scope::WizardOpen
            | Scope::Drill
            | Scope::HostKey
            | Scope::ReplaceOffer => theme::LAB_KEY,
            Scope::Always => theme::KEY,
        };
        out.push(vec![
            Span::raw(gap),
            Span::styled(key, style),
            Span::raw(format!(" {}", b.short)),
        ]);
    }
    out
}
