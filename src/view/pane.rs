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
    frame_with(frame, area, title, focused, Vec::new())
}

/// [`frame`] with a note on the bottom border, right-aligned: `+2 more`, `↓ more`.
pub fn frame_with(
    frame: &mut Frame,
    area: Rect,
    title: Vec<Span<'_>>,
    focused: bool,
    bottom: Vec<Span<'_>>,
) -> Rect {
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
        .title(format::fit_line(
            Line::from(title),
            usize::from(area.width.saturating_sub(2)),
        ));
    let block = if bottom.is_empty() {
        block
    } else {
        let room = usize::from(area.width.saturating_sub(2));
        let note = format::fit_line(Line::from(bottom), room).right_aligned();
        block.title_bottom(note)
    };
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
/// `highlight` across the full width. A row too long for the pane ends in `…`.
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
            line = highlighted(line, highlight);
        }
        frame.render_widget(
            format::fit_line(line, usize::from(area.width)),
            Rect {
                y,
                height: 1,
                ..area
            },
        );
    }
}

fn highlighted(mut line: Line<'_>, highlight: Style) -> Line<'_> {
    // An empty line would not paint its style: give the highlight a cell to fill.
    if line.width() == 0 {
        line.spans.push(Span::raw(" "));
    }
    line.patch_style(highlight)
}

/// Draws `len` items of one or more rows each (a sentence wrapped to the pane), moving
/// `cursor.offset` so the selected item is whole in view and, when `show`, highlighting
/// all its rows. An item cut off at the bottom ends in `…` on the last row there is.
pub fn items(
    frame: &mut Frame,
    area: Rect,
    len: usize,
    item: impl Fn(usize) -> Vec<Line<'static>>,
    cursor: &mut Cursor,
    show: bool,
    highlight: Style,
) {
    let height = usize::from(area.height);
    cursor.scroll_into_view(len, height);
    // Items above the selection give way until all of its rows fit.
    if cursor.offset < cursor.selected {
        let heights: Vec<usize> = (cursor.offset..=cursor.selected)
            .map(|i| item(i).len())
            .collect();
        let mut rows: usize = heights.iter().sum();
        for h in &heights[..heights.len() - 1] {
            if rows <= height {
                break;
            }
            rows -= h;
            cursor.offset += 1;
        }
    }
    let mut lines = Vec::new();
    for i in cursor.offset..len {
        let room = height.saturating_sub(lines.len());
        if room == 0 {
            break;
        }
        let mut rows = item(i);
        if rows.len() > room {
            rows = cut_rows(rows, room, usize::from(area.width));
        }
        if show && i == cursor.selected {
            rows = rows
                .into_iter()
                .map(|l| highlighted(l, highlight))
                .collect();
        }
        lines.extend(rows);
    }
    text(frame, area, lines);
}

/// The first `room` rows of a wrapped item, the rest run into the last one and cut.
fn cut_rows(mut rows: Vec<Line<'static>>, room: usize, width: usize) -> Vec<Line<'static>> {
    let rest = rows.split_off(room);
    if let Some(last) = rows.last_mut() {
        for row in rest {
            let text: String = row.spans.iter().map(|s| s.content.as_ref()).collect();
            let lead = text.len() - text.trim_start().len();
            let mut skip = lead;
            last.spans.push(Span::raw(" "));
            for span in row.spans {
                let n = skip.min(span.content.len());
                skip -= n;
                let content = span.content[n..].to_string();
                if !content.is_empty() {
                    last.spans.push(Span::styled(content, span.style));
                }
            }
        }
        *last = format::fit_line(std::mem::take(last), width);
    }
    rows
}

/// `+3 more`: rows of a list below the window (`hidden` of them), `None` when none are.
pub fn more(hidden: usize) -> Vec<Span<'static>> {
    if hidden == 0 {
        return Vec::new();
    }
    vec![Span::styled(format!(" +{hidden} more "), theme::WARN)]
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
