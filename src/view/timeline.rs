//! What changed, newest first, so the last thing that happened is always in view.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{format, pane, theme};
use crate::app::{App, Pane};
use crate::model::TimelineEntry;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let timeline = &app.cluster.timeline;
    let focused = app.ui.focus == Pane::Timeline;
    let count = Span::styled(format!("{} ", timeline.len()), theme::DIM);
    let inner = pane::frame(frame, area, vec![pane::name("Timeline"), count], focused);
    if timeline.is_empty() {
        let line = Line::styled("nothing has happened yet", theme::DIM);
        pane::text(frame, inner, [line]);
        return;
    }

    let cursor = &mut app.ui.timeline;
    cursor.scroll_into_view(timeline.len(), usize::from(inner.height));
    let lines = timeline.iter().rev().skip(cursor.offset).map(entry);
    let selected = pane::selected_row(cursor, focused);
    pane::rows(frame, inner, lines, selected, theme::selected(true));
}

fn entry(e: &TimelineEntry) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{} ", format::clock(e.at)), theme::DIM),
        Span::styled(format::one_line(&e.text), theme::severity(e.severity)),
    ])
}

#[cfg(test)]
mod tests {
    use ratatui::style::Color;

    use crate::app::Pane;
    use crate::model::Severity;
    use crate::view::fixture::{self, find, screen, style_of, text};

    #[test]
    fn newest_first_coloured_by_severity() {
        let mut app = fixture::app();
        let now = app.cluster.now;
        app.cluster
            .timeline
            .push(now, Severity::Bad, "etcd quorum lost (1/3 healthy)");
        let buf = screen(&mut app, 100, 30);
        let (_, title_y) = find(&buf, " Timeline 6 ").unwrap();
        let (x, y) = find(&buf, "12:00:00 etcd quorum lost").expect("newest entry");
        assert_eq!(y, title_y + 1, "{}", text(&buf));
        assert_eq!(buf[(x, y)].fg, Color::DarkGray);
        assert_eq!(style_of(&buf, "etcd quorum lost").fg, Some(Color::Red));
        assert_eq!(style_of(&buf, "node worker-2 Ready").fg, Some(Color::Green));
    }

    #[test]
    fn the_cursor_scrolls_back_in_time() {
        let mut app = fixture::app();
        let now = app.cluster.now;
        for i in 0..50 {
            app.cluster
                .timeline
                .push(now, Severity::Info, format!("event {i}"));
        }
        app.ui.focus = Pane::Timeline;
        app.ui.timeline.selected = 40;
        let buf = screen(&mut app, 100, 30);
        assert!(find(&buf, "event 49").is_none());
        assert_eq!(
            style_of(&buf, "event 9 ").bg,
            Some(Color::Blue),
            "{}",
            text(&buf)
        );
    }
}
