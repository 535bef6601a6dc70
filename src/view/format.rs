//! Text for durations, sizes, clock times and column fitting. Pure functions, so the
//! status output can say things the same way the cockpit does.

use jiff::Timestamp;
use ratatui::buffer::CellWidth;
use ratatui::text::{Line, Span};

/// A countdown or an elapsed time: `42s`, `3m05s`, `1h34m`, `23h59m`, `2d03h`.
/// Two units, the second zero-padded, so a ticking countdown keeps its width.
/// Negative values are shown by their magnitude; callers say "ago" or "expired".
pub fn duration(secs: i64) -> String {
    let s = secs.unsigned_abs();
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m{:02}s", s / 60, s % 60),
        3_600..86_400 => format!("{}h{:02}m", s / 3_600, s % 3_600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3_600),
    }
}

/// A certificate's remaining validity: `9y364d`, `364d`; under 30 days as [`duration`]
/// (`19d23h`, `5h02m`), when hours start to matter. Years are 365 days, as kubeadm counts.
pub fn validity(secs: i64) -> String {
    let days = secs.unsigned_abs() / 86_400;
    match days {
        0..30 => duration(secs),
        30..365 => format!("{days}d"),
        _ => format!("{}y{}d", days / 365, days % 365),
    }
}

/// How long something has been in a state, the way `kubectl get` says it (`42s`, `5m30s`,
/// `15m`, `5h12m`, `20h`, `3d4h`, `30d`), so operators read it without thinking.
pub fn age(secs: i64) -> String {
    let s = secs.max(0).unsigned_abs();
    let (m, h, d) = (s / 60, s / 3_600, s / 86_400);
    match s {
        0..120 => format!("{s}s"),
        120..600 if s.is_multiple_of(60) => format!("{m}m"),
        120..600 => format!("{m}m{}s", s % 60),
        600..10_800 => format!("{m}m"),
        10_800..28_800 if m.is_multiple_of(60) => format!("{h}h"),
        10_800..28_800 => format!("{h}h{}m", m % 60),
        28_800..172_800 => format!("{h}h"),
        172_800..691_200 if h.is_multiple_of(24) => format!("{d}d"),
        172_800..691_200 => format!("{d}d{}h", h % 24),
        _ => format!("{d}d"),
    }
}

/// Decimal units as etcdctl prints them: `512 B`, `4.2 MB`, `1.1 GB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1_000 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1_000.0;
    let mut unit = 0;
    // Promote before rounding would print `1000.0 kB`.
    while value >= 999.95 && unit < UNITS.len() - 1 {
        value /= 1_000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `HH:MM:SS` of a UTC timestamp.
pub fn clock(at: Timestamp) -> String {
    let day = at.as_second().rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", day / 3_600, day % 3_600 / 60, day % 60)
}

/// Round-trip time of a probe: `<1ms`, `3ms`, `1.2s`.
pub fn latency(ms: f64) -> String {
    match ms {
        ms if ms < 1.0 => "<1ms".to_string(),
        ms if ms < 1_000.0 => format!("{ms:.0}ms"),
        ms => format!("{:.1}s", ms / 1_000.0),
    }
}

/// `1 failure`, `2 failures`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Terminal cells `s` takes.
pub fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    if c.is_control() {
        return 0;
    }
    usize::from(c.encode_utf8(&mut [0; 4]).cell_width())
}

/// `s` cut to `max` cells with a trailing `…` when it does not fit. Control characters
/// (an error message may carry a newline) become spaces so a row stays one row.
pub fn fit(s: &str, max: usize) -> String {
    let clean = one_line(s);
    if width(&clean) <= max {
        return clean;
    }
    if max == 0 {
        return String::new();
    }
    format!("{}…", cut(&clean, max - 1).trim_end())
}

/// The longest start of `s` that takes at most `max` cells.
fn cut(s: &str, max: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += char_width(c);
        if used > max {
            return &s[..i];
        }
    }
    s
}

/// [`fit`] for a styled row: cut to `max` cells, the `…` in the style of the text it
/// replaces. Every row a pane draws goes through this, so nothing is cut unmarked.
pub fn fit_line(mut line: Line<'_>, max: usize) -> Line<'_> {
    if line.width() <= max {
        return line;
    }
    let mut used = 0;
    let mut kept = Vec::new();
    for span in line.spans.drain(..) {
        let room = max.saturating_sub(1 + used);
        let w = span.width();
        if w <= room {
            used += w;
            kept.push(span);
            continue;
        }
        let start = cut(&span.content, room).trim_end();
        if start.is_empty() {
            trim_end(&mut kept);
        }
        kept.push(Span::styled(format!("{start}…"), span.style));
        break;
    }
    if max == 0 {
        kept.clear();
    }
    line.spans = kept;
    line
}

/// Drops the blanks `spans` end with, so an `…` follows a word.
fn trim_end(spans: &mut Vec<Span<'_>>) {
    while let Some(last) = spans.last_mut() {
        let kept = last.content.trim_end().len();
        if kept == last.content.len() {
            return;
        }
        if kept > 0 {
            last.content = last.content[..kept].to_string().into();
            return;
        }
        spans.pop();
    }
}

/// `line` wrapped between words into rows of `max` cells, rows after the first indented
/// by `indent` cells, styles kept. A word longer than a row is left to [`fit_line`].
pub fn wrap_line(line: Line<'static>, max: usize, indent: usize) -> Vec<Line<'static>> {
    if line.width() <= max {
        return vec![line];
    }
    let (style, alignment) = (line.style, line.alignment);
    let new_row = |spans: Vec<Span<'static>>| Line {
        spans,
        style,
        alignment,
    };
    let mut rows = Vec::new();
    let mut row: Vec<Span<'static>> = Vec::new();
    let (mut used, mut has_word) = (0, false);
    for (gap, word) in words(line) {
        let (gap_w, word_w) = (spans_width(&gap), spans_width(&word));
        if word_w == 0 {
            continue;
        }
        if has_word && used + gap_w + word_w > max {
            rows.push(new_row(std::mem::take(&mut row)));
            row.push(Span::raw(" ".repeat(indent)));
            used = indent;
        } else {
            used += gap_w;
            row.extend(gap);
        }
        used += word_w;
        row.extend(word);
        has_word = true;
    }
    if !row.is_empty() {
        rows.push(new_row(row));
    }
    rows
}

fn spans_width(spans: &[Span]) -> usize {
    spans.iter().map(Span::width).sum()
}

/// The line as (blanks before, word) pairs, each a run of styled pieces.
fn words(line: Line<'static>) -> Vec<(Vec<Span<'static>>, Vec<Span<'static>>)> {
    let mut out: Vec<(Vec<Span>, Vec<Span>)> = vec![(Vec::new(), Vec::new())];
    for span in line.spans {
        let mut rest: &str = &span.content;
        while let Some(c) = rest.chars().next() {
            let blank = c == ' ';
            let end = rest
                .find(|c: char| (c == ' ') != blank)
                .unwrap_or(rest.len());
            let piece = Span::styled(rest[..end].to_string(), span.style);
            let last = out.last_mut().expect("never empty");
            if blank && !last.1.is_empty() {
                out.push((vec![piece], Vec::new()));
            } else if blank {
                last.0.push(piece);
            } else {
                last.1.push(piece);
            }
            rest = &rest[end..];
        }
    }
    out
}

/// `s` with control characters (a newline in an error message) turned into spaces.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `s` fitted into exactly `cells` cells: a table column.
pub fn pad(s: &str, cells: usize) -> String {
    let mut out = fit(s, cells);
    let fill = cells.saturating_sub(width(&out));
    out.extend(std::iter::repeat_n(' ', fill));
    out
}

/// Greedy word wrap to `max` cells; words longer than a line are cut.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let needed = width(&line) + usize::from(!line.is_empty()) + width(word);
        if !line.is_empty() && needed > max {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&fit(word, max));
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A shell command as `$ cmd`, continued with ` \\` over as many rows of `max` cells as it
/// needs: still correct when pasted into a shell.
pub fn shell(cmd: &str, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = "$".to_string();
    let mut words = cmd.split_whitespace().peekable();
    let mut empty = true;
    while let Some(word) = words.next() {
        // The word must fit, and so must the ` \` should more words follow.
        let tail = if words.peek().is_some() { 2 } else { 0 };
        if !empty && width(&line) + 1 + width(word) + tail > max {
            line.push_str(" \\");
            lines.push(std::mem::replace(&mut line, "  ".to_string()));
        }
        line.push(' ');
        line.push_str(word);
        empty = false;
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_keep_two_units() {
        assert_eq!(duration(42), "42s");
        assert_eq!(duration(185), "3m05s");
        assert_eq!(duration(5_640), "1h34m");
        assert_eq!(duration(86_399), "23h59m");
        assert_eq!(duration(2 * 86_400 + 3 * 3_600), "2d03h");
        assert_eq!(duration(-42), "42s");
    }

    #[test]
    fn validity_reads_in_years_and_days() {
        let day = 86_400;
        assert_eq!(validity(3_650 * day - 1_500), "9y364d");
        assert_eq!(validity(365 * day - 1_500), "364d");
        assert_eq!(validity(400 * day), "1y35d");
        assert_eq!(validity(20 * day + 3_600), "20d01h");
        assert_eq!(validity(90), "1m30s");
    }

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(age(5), "5s");
        assert_eq!(age(330), "5m30s");
        assert_eq!(age(900), "15m");
        assert_eq!(age(5 * 3_600 + 12 * 60), "5h12m");
        assert_eq!(age(20 * 3_600), "20h");
        assert_eq!(age(3 * 86_400 + 4 * 3_600), "3d4h");
        assert_eq!(age(30 * 86_400), "30d");
        assert_eq!(age(-3), "0s");
    }

    #[test]
    fn bytes_use_decimal_units() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(4_200_000), "4.2 MB");
        assert_eq!(bytes(999_990), "1.0 MB");
        assert_eq!(bytes(2_147_483_648), "2.1 GB");
    }

    #[test]
    fn clock_is_utc_time_of_day() {
        let t: Timestamp = "2025-06-01T09:05:07Z".parse().unwrap();
        assert_eq!(clock(t), "09:05:07");
        assert_eq!(latency(0.4), "<1ms");
        assert_eq!(latency(2.6), "3ms");
        assert_eq!(latency(1_234.0), "1.2s");
    }

    #[test]
    fn fit_cuts_with_an_ellipsis_and_flattens_newlines() {
        assert_eq!(fit("connection refused", 10), "connectio…");
        assert_eq!(fit("a\nb", 5), "a b");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(fit("日本語", 4), "日…");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(width(&pad("日本語", 5)), 5);
    }

    #[test]
    fn a_styled_row_is_cut_with_an_ellipsis_in_the_cut_text_style() {
        let bold = ratatui::style::Style::new().bold();
        let line = Line::from(vec![Span::raw("cp-1 "), Span::styled("powered off", bold)]);
        let cut = fit_line(line.clone(), 12);
        assert_eq!(cut.to_string(), "cp-1 powere…");
        assert_eq!(cut.spans[1].style, bold);
        assert_eq!(fit_line(line.clone(), 16), line);
        assert_eq!(fit_line(line.clone(), 6).to_string(), "cp-1…");
        assert_eq!(fit_line(line, 0).to_string(), "");
    }

    #[test]
    fn a_styled_row_wraps_between_words_under_its_indent() {
        let red = ratatui::style::Style::new().red();
        let line = Line::from(vec![
            Span::raw("cp-1 "),
            Span::styled("✗ DOWN: powered off", red),
            Span::raw("  10.0.0.11:6443"),
        ]);
        let rows = wrap_line(line.clone(), 20, 5);
        let text: Vec<String> = rows.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            ["cp-1 ✗ DOWN: powered", "     off", "     10.0.0.11:6443"]
        );
        assert_eq!(rows[1].spans[1].style, red);
        assert_eq!(wrap_line(line.clone(), 60, 5), [line]);
        let indented = Line::raw("  renewed 2s ago (15s)");
        let text: Vec<String> = wrap_line(indented, 12, 2)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(text, ["  renewed 2s", "  ago (15s)"]);
    }

    #[test]
    fn shell_commands_continue_with_a_backslash() {
        let cmd = "kubeadm init phase upload-certs --upload-certs";
        assert_eq!(shell(cmd, 60), [format!("$ {cmd}")]);
        assert_eq!(
            shell(cmd, 38),
            ["$ kubeadm init phase upload-certs \\", "   --upload-certs"]
        );
    }

    #[test]
    fn wrap_breaks_between_words() {
        assert_eq!(wrap("one two three four", 9), ["one two", "three", "four"]);
        assert_eq!(wrap("", 9), Vec::<String>::new());
    }
}
