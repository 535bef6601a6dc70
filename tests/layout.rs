//! Every lab scene at 80x24, 120x40 and 200x60 is drawn in whole rows, or in rows that say
//! they are not: text cut to fit ends in `…`. "Cut" is checked two ways:
//! - Edges: the word touching a pane's right border, the screen's right edge or the title
//!   bar's clock must end in `…` or be a whole word, one the same scene shows somewhere on
//!   a 400-column screen, where nothing needs cutting. `10.0.0.11:644` is not.
//! - Sentences: each timeline entry shown must read whole (its rows joined), from its
//!   clock to its last word. Below 120x40 (or for the last entry of a full pane) it may
//!   instead be the start of its text, ending in `…`.

use hatui::scenes::{Driver, SCENES};
use hatui::screen;
use hatui::view::format;
use ratatui::buffer::Buffer;

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 60)];
/// Wide enough that no scene cuts anything: its words are the vocabulary of whole words.
const WIDE: u16 = 400;
/// `" 09:01:20 UTC"`, right-aligned on the title bar.
const CLOCK_W: usize = 13;

#[test]
fn no_scene_cuts_a_row_without_an_ellipsis() {
    let mut failures = Vec::new();
    for scene in SCENES {
        let mut driver = scene.driver();
        let vocabulary = words(&driver.render(WIDE, 100));
        for (w, h) in SIZES {
            let buf = driver.render(w, h);
            let mut found = edge_cuts(&buf, &vocabulary);
            // A drill pane takes the timeline's place.
            if driver.app.drill.is_none() {
                found.extend(timeline_cuts(&buf, &driver, w >= 120 && h >= 40));
            }
            if !found.is_empty() {
                failures.push(format!(
                    "{} at {w}x{h}:\n  {}\n{}",
                    scene.name,
                    found.join("\n  "),
                    screen::text(&buf)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn is_border(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| ('\u{2500}'..='\u{257f}').contains(&c))
}

/// A border a row of text can run into from its left.
fn is_right_edge(s: &str) -> bool {
    matches!(s, "│" | "┃" | "╮" | "┓" | "╯" | "┛" | "┐" | "┘")
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && !is_border(s) && !s.chars().all(char::is_whitespace)
}

/// Each row's cells, a wide character's hidden neighbour as "".
fn cells(buf: &Buffer) -> Vec<Vec<String>> {
    (0..buf.area.height)
        .map(|y| {
            screen::cells(buf, y)
                .into_iter()
                .map(String::from)
                .collect()
        })
        .collect()
}

/// Every word on screen, split at blanks and borders.
fn words(buf: &Buffer) -> Vec<String> {
    let mut out = Vec::new();
    for row in cells(buf) {
        let mut word = String::new();
        for cell in row.iter().chain([&" ".to_string()]) {
            if is_word(cell) {
                word.push_str(cell);
            } else if !cell.is_empty() && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Words that run into an edge cut and unmarked.
fn edge_cuts(buf: &Buffer, vocabulary: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (y, row) in cells(buf).iter().enumerate() {
        let width = row.len();
        let mut edges: Vec<usize> = (1..width).filter(|&x| is_right_edge(&row[x])).collect();
        edges.push(width);
        let text: String = row.concat();
        if y == 0 && text.trim_end().ends_with(" UTC") && width > CLOCK_W {
            edges.push(width - CLOCK_W);
        }
        for x in edges {
            let mut start = x;
            while start > 0 && (is_word(&row[start - 1]) || row[start - 1].is_empty()) {
                start -= 1;
            }
            let word = row[start..x].concat();
            if word.is_empty() || word.ends_with('…') || vocabulary.contains(&word) {
                continue;
            }
            out.push(format!("row {y}: {word:?} cut at column {x} without …"));
        }
    }
    out
}

/// Timeline entries shown cut, or cut without `…`, against the state's own text.
fn timeline_cuts(buf: &Buffer, driver: &Driver, whole: bool) -> Vec<String> {
    let Some(shown) = timeline_entries(buf) else {
        return vec!["no Timeline pane on screen".to_string()];
    };
    let timeline = &driver.app.cluster.timeline;
    let offset = driver.app.ui.timeline.offset;
    let expected: Vec<String> = timeline
        .iter()
        .rev()
        .skip(offset)
        .map(|e| squeeze(&format!("{} {}", format::clock(e.at), e.text)))
        .collect();
    let mut out = Vec::new();
    for (i, got) in shown.iter().enumerate() {
        let Some(want) = expected.get(i) else {
            out.push(format!("timeline row {got:?} is no entry"));
            continue;
        };
        if got == want {
            continue;
        }
        let last_of_full_pane = i + 1 == shown.len() && expected.len() > shown.len();
        let marked = got
            .strip_suffix('…')
            .is_some_and(|start| want.starts_with(start.trim_end()));
        if !marked {
            out.push(format!("timeline entry {want:?} shown as {got:?}"));
        } else if whole && !last_of_full_pane {
            out.push(format!("timeline entry {want:?} cut to {got:?}"));
        }
    }
    out
}

/// The entries in the Timeline pane, newest first: a row starting with a clock begins one,
/// an indented row continues it.
fn timeline_entries(buf: &Buffer) -> Option<Vec<String>> {
    let rows = cells(buf);
    let (top, left) = rows.iter().enumerate().find_map(|(y, row)| {
        let text = row.concat();
        let at = text.find(" Timeline ")?;
        let x = format::width(&text[..at]);
        (x > 0 && matches!(row[x - 1].as_str(), "╭" | "┏")).then_some((y, x - 1))
    })?;
    let right =
        (left + 1..rows[top].len()).find(|&x| matches!(rows[top][x].as_str(), "╮" | "┓"))?;
    let mut entries: Vec<String> = Vec::new();
    for row in &rows[top + 1..] {
        if !matches!(row[left].as_str(), "│" | "┃") {
            break;
        }
        let inner = row[left + 1..right].concat();
        let starts_entry = inner.len() >= 9
            && inner.as_bytes()[2] == b':'
            && inner.as_bytes()[5] == b':'
            && inner[..8].bytes().all(|b| b.is_ascii_digit() || b == b':');
        match entries.last_mut() {
            _ if starts_entry => entries.push(squeeze(&inner)),
            Some(last) if inner.starts_with(' ') && !inner.trim().is_empty() => {
                last.push(' ');
                last.push_str(&squeeze(&inner));
            }
            _ => {}
        }
    }
    Some(entries)
}

fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
