//! What changed, newest first, so the last thing that happened is always in view.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{format, pane, theme};
use crate::app::{App, Pane};
use crate::model::{Timeline, TimelineEntry};

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

    let width = usize::from(inner.width);
    let item = |i: usize| {
        let e = timeline.iter().rev().nth(i);
        e.map(|e| entry(e, width)).unwrap_or_default()
    };
    let cursor = &mut app.ui.timeline;
    let highlight = theme::selected(true);
    pane::items(
        frame,
        inner,
        timeline.len(),
        item,
        cursor,
        focused,
        highlight,
    );
}

/// Rows wanted at inner width `width`: every entry, wrapped, up to `max` rows (the log
/// keeps a thousand; the layout never needs more than a screen).
pub fn wanted(timeline: &Timeline, width: u16, max: usize) -> usize {
    let mut rows = 0;
    for e in timeline.iter().rev() {
        if rows >= max {
            break;
        }
        rows += entry(e, usize::from(width)).len();
    }
    rows.clamp(1, max.max(1))
}

/// `09:01:01 etcd leader cp-1 → cp-2 (term 3)`, wrapped under its text.
fn entry(e: &TimelineEntry, width: usize) -> Vec<Line<'static>> {
    let clock = format!("{} ", format::clock(e.at));
    let indent = format::width(&clock);
    let line = Line::from(vec![
        Span::styled(clock, theme::DIM),
        Span::styled(format::one_line(&e.text), theme::severity(e.severity)),
    ]);
    format::wrap_line(line, width, indent)
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
    fn long_entries_wrap_whole_and_the_selected_one_stays_in_view() {
        let mut app = fixture::app();
        let now = app.cluster.now;
        let long = "etcd leader cp-1 → cp-2 (term 3, 1.6s without a leader), the end";
        for i in 0..6 {
            app.cluster
                .timeline
                .push(now, Severity::Info, format!("{i}: {long}"));
        }
        app.ui.focus = Pane::Timeline;
        app.ui.timeline.selected = 4;
        let buf = screen(&mut app, 60, 24);
        // Entry 1 (fifth newest) is selected: both its rows are shown and highlighted.
        let (x, y) = find(&buf, "12:00:00 1: etcd leader").expect("selected entry");
        assert_eq!(buf[(x, y)].bg, Color::Blue, "{}", text(&buf));
        let second = hatui_testkit::screen::row(&buf, y + 1);
        assert!(second.contains("the end"), "{}", text(&buf));
        assert_eq!(buf[(x, y + 1)].bg, Color::Blue);
        // The entry below it has one row left: it says it goes on.
        let (_, next) = find(&buf, "12:00:00 0: etcd").unwrap();
        let row = hatui_testkit::screen::row(&buf, next);
        assert!(row.contains("…┃"), "{}", text(&buf));
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
