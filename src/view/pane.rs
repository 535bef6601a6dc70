//! What every pane shares: the bordered block with its title, the stale-data note, and
//! drawing a window of rows with one of them selected.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType};

use super::{format, theme};
use crate::app::Cursor;
use crate::model::{ClusterState, FeedKind};

/// Draws the pane's border and title; returns the inside.
pub fn frame(frame: &mut Frame, area: Rect, title: Vec<Span<'_>>, focused: bool) -> Rect {
    // Thick lines as well as colour, so focus shows without colour too.
    let kind = if focused {
        BorderType::Thick
    } else {
        BorderType::Rounded
    };
    let block = Block::bordered()
        .border_type(kind)
        .border_style(theme::border(focused))
        .title_style(theme::title(focused))
        .title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// The pane's name as the first title span.
pub fn name(text: &str) -> Span<'static> {
    Span::styled(format!(" {text} "), theme::BOLD)
}

/// `stale 42s: API endpoint unreachable` for the first of `kinds` whose data is not
/// current (the model decides, by error or by age): the data on screen is that old, and
/// this is why.
pub fn stale(cluster: &ClusterState, kinds: &[FeedKind]) -> Option<Span<'static>> {
    let stale = kinds.iter().find_map(|k| cluster.stale(*k))?;
    let age = match stale.age_s {
        Some(s) => format!("stale {}", format::duration(s)),
        None => "no data".to_string(),
    };
    let why = format::one_line(&stale.why);
    Some(Span::styled(format!(" {age}: {why} "), theme::ALARM))
}

/// Draws `lines` top-down, one per row, none selected.
pub fn text<'a>(frame: &mut Frame, area: Rect, lines: impl IntoIterator<Item = Line<'a>>) {
    rows(frame, area, lines, None, Style::new());
}

/// Draws `lines` top-down, one per row, patching `selected` (an index into `lines`) with
/// `highlight` across the full width.
pub fn rows<'a>(
    frame: &mut Frame,
    area: Rect,
    lines: impl IntoIterator<Item = Line<'a>>,
    selected: Option<usize>,
    highlight: Style,
) {
    let ys = area.top()..area.bottom();
    for (i, (y, mut line)) in ys.zip(lines).enumerate() {
        if selected == Some(i) {
            // An empty line would not paint its style: give the highlight a cell to fill.
            if line.width() == 0 {
                line.spans.push(Span::raw(" "));
            }
            line = line.patch_style(highlight);
        }
        frame.render_widget(
            line,
            Rect {
                y,
                height: 1,
                ..area
            },
        );
    }
}

/// Rows a pane needs to show `content_rows` rows inside its border.
pub fn height(content_rows: usize) -> u16 {
    u16::try_from(content_rows + 2).unwrap_or(u16::MAX)
}

/// The selected item's row inside the window, when the pane shows its selection.
pub fn selected_row(cursor: &Cursor, show: bool) -> Option<usize> {
    show.then(|| cursor.selected.checked_sub(cursor.offset))
        .flatten()
}
