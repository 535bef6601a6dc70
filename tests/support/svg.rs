//! A ratatui [`Buffer`] as a standalone SVG, for README screenshots drawn from the same
//! fixture states the tests use. Output is deterministic so a stale picture shows up as a
//! diff: fixed palette, fixed cell size, no timestamps.

use std::fmt::Write;

use ratatui::buffer::{Buffer, Cell, CellWidth};
use ratatui::style::{Color, Modifier};

/// Cell size in pixels: a 14 px monospace font's advance and line height.
pub const CELL_W: f64 = 8.4;
pub const CELL_H: f64 = 17.0;
const FONT_SIZE: u32 = 14;
/// Where the baseline sits inside a cell.
const BASELINE: f64 = 13.0;
const DEFAULT_FG: &str = "#cccccc";
const DEFAULT_BG: &str = "#1e1e1e";
const FONTS: &str = "'DejaVu Sans Mono', 'Cascadia Mono', Menlo, Consolas, monospace";

/// The 16 ANSI colours (VS Code's dark terminal palette), indexed like `Color::Indexed`.
const ANSI: [&str; 16] = [
    "#000000", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5",
    "#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff",
];

pub fn buffer_to_svg(buf: &Buffer) -> String {
    let (cols, rows) = (buf.area.width, buf.area.height);
    let (w, h) = (px(f64::from(cols) * CELL_W), px(f64::from(rows) * CELL_H));
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{FONTS}" font-size="{FONT_SIZE}">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" fill="{DEFAULT_BG}"/>"#
    );
    for y in 0..rows {
        let runs = row_runs(buf, y);
        backgrounds(&mut out, &runs, y);
        text(&mut out, &runs, y);
    }
    out.push_str("</svg>\n");
    out
}

/// Consecutive cells of one row drawn the same way.
#[derive(Debug)]
struct Run {
    col: u16,
    cells: u16,
    text: String,
    look: Look,
    /// One wide character: nothing joins its run.
    wide: bool,
}

/// What a run looks like once modifiers are resolved into colours and attributes.
#[derive(Debug, Clone, PartialEq)]
struct Look {
    fg: Option<String>,
    bg: Option<String>,
    bold: bool,
    italic: bool,
    underline: bool,
    strike: bool,
    dim: bool,
    hidden: bool,
}

impl Look {
    fn of(cell: &Cell) -> Self {
        let m = cell.modifier;
        let (mut fg, mut bg) = (colour(cell.fg), colour(cell.bg));
        if m.contains(Modifier::REVERSED) {
            // Reversing a default colour means the other default, not "none".
            let real_fg = fg.unwrap_or_else(|| DEFAULT_FG.into());
            let real_bg = bg.unwrap_or_else(|| DEFAULT_BG.into());
            (fg, bg) = (Some(real_bg), Some(real_fg));
        }
        Self {
            fg,
            bg,
            bold: m.contains(Modifier::BOLD),
            italic: m.contains(Modifier::ITALIC),
            underline: m.contains(Modifier::UNDERLINED),
            strike: m.contains(Modifier::CROSSED_OUT),
            dim: m.contains(Modifier::DIM),
            hidden: m.contains(Modifier::HIDDEN),
        }
    }
}

/// Splits a row into runs at every style change. A wide character gets a run of its own
/// so that everything after it is placed by column, not by the font's idea of its width.
fn row_runs(buf: &Buffer, y: u16) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    let mut x = 0;
    while x < buf.area.width {
        let cell = &buf[(buf.area.x + x, buf.area.y + y)];
        let width = cell.cell_width().max(1);
        let look = Look::of(cell);
        let wide = width > 1;
        match runs.last_mut() {
            Some(run) if !wide && !run.wide && run.look == look => {
                run.text.push_str(cell.symbol());
                run.cells += 1;
            }
            _ => runs.push(Run {
                col: x,
                cells: width.min(buf.area.width - x),
                text: cell.symbol().to_string(),
                look,
                wide,
            }),
        }
        // The cells a wide character covers hold nothing worth drawing.
        x += width;
    }
    runs
}

fn backgrounds(out: &mut String, runs: &[Run], y: u16) {
    // Merge neighbouring runs of one background: fewer, seamless rectangles.
    let mut i = 0;
    while i < runs.len() {
        let Some(bg) = &runs[i].look.bg else {
            i += 1;
            continue;
        };
        let mut cells = runs[i].cells;
        let mut j = i + 1;
        while j < runs.len() && runs[j].look.bg.as_ref() == Some(bg) {
            cells += runs[j].cells;
            j += 1;
        }
        let _ = writeln!(
            out,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{bg}"/>"#,
            px(f64::from(runs[i].col) * CELL_W),
            px(f64::from(y) * CELL_H),
            px(f64::from(cells) * CELL_W),
            px(CELL_H),
        );
        i = j;
    }
}

fn text(out: &mut String, runs: &[Run], y: u16) {
    let visible: Vec<&Run> = runs
        .iter()
        .filter(|r| !r.look.hidden && !r.text.trim().is_empty())
        .collect();
    if visible.is_empty() {
        return;
    }
    let baseline = px(f64::from(y) * CELL_H + BASELINE);
    let _ = write!(
        out,
        r#"<text y="{baseline}" fill="{DEFAULT_FG}" xml:space="preserve">"#
    );
    for run in visible {
        let _ = write!(
            out,
            r#"<tspan x="{}"{}>{}</tspan>"#,
            px(f64::from(run.col) * CELL_W),
            attributes(&run.look),
            escape(&run.text),
        );
    }
    out.push_str("</text>\n");
}

fn attributes(look: &Look) -> String {
    let mut a = String::new();
    if let Some(fg) = &look.fg {
        let _ = write!(a, r#" fill="{fg}""#);
    }
    if look.bold {
        a.push_str(r#" font-weight="bold""#);
    }
    if look.italic {
        a.push_str(r#" font-style="italic""#);
    }
    if look.dim {
        a.push_str(r#" fill-opacity="0.6""#);
    }
    let decoration = match (look.underline, look.strike) {
        (true, true) => Some("underline line-through"),
        (true, false) => Some("underline"),
        (false, true) => Some("line-through"),
        (false, false) => None,
    };
    if let Some(d) = decoration {
        let _ = write!(a, r#" text-decoration="{d}""#);
    }
    a
}

/// `None` for `Reset`: the default foreground or background applies.
fn colour(c: Color) -> Option<String> {
    let named = |i: usize| Some(ANSI[i].to_string());
    match c {
        Color::Reset => None,
        Color::Black => named(0),
        Color::Red => named(1),
        Color::Green => named(2),
        Color::Yellow => named(3),
        Color::Blue => named(4),
        Color::Magenta => named(5),
        Color::Cyan => named(6),
        Color::Gray => named(7),
        Color::DarkGray => named(8),
        Color::LightRed => named(9),
        Color::LightGreen => named(10),
        Color::LightYellow => named(11),
        Color::LightBlue => named(12),
        Color::LightMagenta => named(13),
        Color::LightCyan => named(14),
        Color::White => named(15),
        Color::Rgb(r, g, b) => Some(hex(r, g, b)),
        Color::Indexed(i) => Some(indexed(i)),
    }
}

/// The xterm 256-colour table: 16 ANSI, a 6×6×6 cube, then 24 greys.
fn indexed(i: u8) -> String {
    match i {
        0..16 => ANSI[usize::from(i)].to_string(),
        16..232 => {
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            let v = i - 16;
            hex(level(v / 36), level(v / 6 % 6), level(v % 6))
        }
        _ => {
            let grey = 8 + (i - 232) * 10;
            hex(grey, grey, grey)
        }
    }
}

fn hex(r: u8, g: u8, b: u8) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Pixels with at most one decimal, trailing `.0` dropped: stable text for stable diffs.
fn px(v: f64) -> String {
    let tenths = (v * 10.0).round() as i64;
    if tenths % 10 == 0 {
        format!("{}", tenths / 10)
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

/// XML text: markup characters escaped, characters XML forbids dropped.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    use super::*;

    fn buffer(lines: &[&str]) -> Buffer {
        Buffer::with_lines(lines.iter().copied())
    }

    #[test]
    fn size_follows_the_cell_grid() {
        let svg = buffer_to_svg(&Buffer::empty(Rect::new(0, 0, 10, 2)));
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"84\" height=\"34\" viewBox=\"0 0 84 34\""));
        assert!(svg.ends_with("</svg>\n"));
        assert!(!svg.contains("<text"), "blank rows draw no text");
    }

    #[test]
    fn markup_is_escaped() {
        let svg = buffer_to_svg(&buffer(&["<a & 'b'>"]));
        assert!(svg.contains("&lt;a &amp; &apos;b&apos;&gt;"), "{svg}");
        assert!(!svg.contains("<a "));
    }

    #[test]
    fn colours_bold_and_reverse_are_honoured() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 12, 1));
        buf.set_string(0, 0, "ok", Style::new().green().bold());
        buf.set_string(3, 0, "rgb", Style::new().fg(Color::Rgb(1, 2, 255)));
        buf.set_string(7, 0, "sel", Style::new().reversed());
        buf.set_string(11, 0, "x", Style::new().on_magenta());
        let svg = buffer_to_svg(&buf);
        assert!(
            svg.contains(r##"<tspan x="0" fill="#0dbc79" font-weight="bold">ok</tspan>"##),
            "{svg}"
        );
        assert!(
            svg.contains(r##"<tspan x="25.2" fill="#0102ff">rgb</tspan>"##),
            "{svg}"
        );
        // Reversed default colours: background-coloured text on a foreground-coloured box.
        assert!(
            svg.contains(r##"<rect x="58.8" y="0" width="25.2" height="17" fill="#cccccc"/>"##),
            "{svg}"
        );
        assert!(
            svg.contains(r##"<tspan x="58.8" fill="#1e1e1e">sel</tspan>"##),
            "{svg}"
        );
        assert!(svg.contains(r##"fill="#bc3fbc"/>"##), "{svg}");
        assert_eq!(colour(Color::Reset), None);
        assert_eq!(indexed(237), "#3a3a3a");
        assert_eq!(indexed(196), "#ff0000");
    }

    #[test]
    fn text_after_a_wide_character_stays_on_its_column() {
        let svg = buffer_to_svg(&buffer(&["日b"]));
        assert!(
            svg.contains(r#"<tspan x="0">日</tspan><tspan x="16.8">b</tspan>"#),
            "{svg}"
        );
    }

    #[test]
    fn output_is_deterministic() {
        let buf = buffer(&["hatui", "LAB"]);
        assert_eq!(buffer_to_svg(&buf), buffer_to_svg(&buf));
    }
}
