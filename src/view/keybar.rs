//! The bottom row: the keys that matter now, built from the same table the dispatcher
//! uses; a flash message or the filter being typed takes its place.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{format, theme};
use crate::app::App;
use crate::keys::{self, Action, Binding, Here, Scope};

/// Ends a bar that could not show every key: `?` lists them all.
pub const MORE: &str = "… ? all keys";

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

/// `q quit  ? help  Tab pane ...`: whole bindings only. The gaps narrow first; then the
/// least important keys give way, in place of `? help` the bar ends in [`MORE`].
fn bar(here: Here, room: usize) -> Line<'static> {
    let all: Vec<&Binding> = keys::bar(here).collect();
    for gap in ["  ", " "] {
        if cost(&all, gap) <= room {
            return Line::from(spans(&all, gap));
        }
    }
    let mut shown: Vec<&Binding> = all
        .iter()
        .copied()
        .filter(|b| b.action != Action::ToggleHelp)
        .collect();
    let more = 1 + format::width(MORE);
    while !shown.is_empty() && cost(&shown, " ") + more > room {
        // The highest rank goes, the last of equals first.
        let worst = shown.iter().map(|b| b.bar).max().unwrap_or(0);
        let at = shown.iter().rposition(|b| b.bar == worst).unwrap_or(0);
        shown.remove(at);
    }
    let mut line = spans(&shown, " ");
    if !shown.is_empty() {
        line.push(Span::raw(" "));
    }
    line.push(Span::styled(MORE, theme::KEY));
    Line::from(line)
}

fn label(b: &Binding) -> String {
    b.keys.first().map(|k| k.label()).unwrap_or_default()
}

fn cost(bindings: &[&Binding], gap: &str) -> usize {
    let each = bindings
        .iter()
        .map(|b| format::width(&label(b)) + 1 + format::width(b.short));
    each.sum::<usize>() + gap.len() * bindings.len().saturating_sub(1)
}

fn spans(bindings: &[&Binding], gap: &'static str) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    for b in bindings {
        if !out.is_empty() {
            out.push(Span::raw(gap));
        }
        let style = match b.scope {
            Scope::Always => theme::KEY,
            _ => theme::LAB_KEY,
        };
        out.push(Span::styled(label(b), style));
        out.push(Span::raw(format!(" {}", b.short)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &Line) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn a_short_bar_keeps_help_and_the_drill_and_says_more_exist() {
        let wide = text(&bar(Here::lab(), 200));
        assert!(
            wide.contains("? help") && wide.contains("d drill"),
            "{wide}"
        );
        assert!(!wide.contains('…'), "{wide}");
        let short = text(&bar(Here::lab(), 80));
        assert!(short.ends_with(MORE), "{short}");
        assert!(
            short.contains("d drill") && short.contains("R restore"),
            "{short}"
        );
        assert!(format::width(&short) <= 80, "{short}");
        let tiny = text(&bar(Here::lab(), 20));
        assert!(tiny.contains("? all keys"), "{tiny}");
    }
}
