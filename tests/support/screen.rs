//! A drawn screen as text, the one way every test reads a ratatui [`Buffer`]: snapshots,
//! `find` in the view's tests, the live-screen tests and the layout checks.

use ratatui::buffer::{Buffer, CellWidth};

/// Row `y` cell by cell; the cell a wide character hides is "", so columns still line up.
pub fn cells(buf: &Buffer, y: u16) -> Vec<&str> {
    let mut hidden = 0;
    (0..buf.area.width)
        .map(|x| {
            let symbol = buf[(buf.area.x + x, buf.area.y + y)].symbol();
            let shown = if hidden == 0 { symbol } else { "" };
            hidden = usize::from(symbol.cell_width())
                .max(hidden)
                .saturating_sub(1);
            shown
        })
        .collect()
}

/// Row `y` as the terminal shows it: a wide character once, not its hidden neighbour too.
pub fn row(buf: &Buffer, y: u16) -> String {
    cells(buf, y).concat()
}

/// The whole screen, one line per row, trailing blanks trimmed.
pub fn text(buf: &Buffer) -> String {
    (0..buf.area.height)
        .map(|y| row(buf, y).trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;

    #[test]
    fn wide_characters_count_once_and_blanks_are_trimmed() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 6, 2));
        buf.set_string(0, 0, "日本 a", ratatui::style::Style::new());
        assert_eq!(super::row(&buf, 0), "日本 a");
        assert_eq!(super::cells(&buf, 0), ["日", "", "本", "", " ", "a"]);
        assert_eq!(super::text(&buf), "日本 a\n");
    }
}
