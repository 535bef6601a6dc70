//! The wizard's pane: the plan's steps with their state, then the selected step: why it
//! runs (a sentence to read aloud), its exact commands per host, and its output (streamed
//! while it runs), with what to press next. Secrets are shown only while revealed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{format, pane, theme};
use crate::app::{App, Pane, WizardPane};
use crate::wizard::cockpit::WizardSteps;
use crate::wizard::engine::{StepReport, StepStatus};

/// The step list takes at most this share of the pane (in percent) before it scrolls.
const LIST_SHARE: usize = 45;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let focused = app.ui.focus == Pane::Wizard;
    let Some(w) = app.wizard.as_ref() else {
        return;
    };
    let inner = pane::frame(frame, area, title(w), focused);
    let width = usize::from(inner.width);
    let mut head = host_key(w, width);
    if let Some(offer) = app.replace_offer() {
        head.extend(wrapped(&offer.line(), width, theme::ALARM));
    }
    let Some(steps) = w.steps.as_ref() else {
        head.push(Line::styled("planning…", theme::DIM));
        pane::text(frame, inner, head);
        return;
    };
    for warning in &steps.warnings {
        head.extend(wrapped(&format!("⚠ {warning}"), width, theme::WARN));
    }
    if let Some(secrets) = &w.revealed {
        // Cut anywhere, never with `…`: a student types every character.
        for s in secrets {
            let chars: Vec<char> = s.chars().collect();
            for row in chars.chunks(width.max(1)) {
                head.push(Line::styled(row.iter().collect::<String>(), theme::ALARM));
            }
        }
        head.push(Line::styled("hidden again in 10 s", theme::DIM));
    }
    let height = usize::from(inner.height);
    let list_h = steps
        .reports
        .len()
        .min((height * LIST_SHARE / 100).max(3))
        .min(height.saturating_sub(head.len()));
    let head_h = head.len().min(height);
    let [head_area, list_area, detail_area] = rows(inner, [head_h, list_h]);
    pane::text(frame, head_area, head);
    let selected = app
        .ui
        .wizard
        .selected
        .min(steps.reports.len().saturating_sub(1));
    let len = steps.reports.len();
    let list = |i: usize| vec![step_row(&steps.reports[i], w, width)];
    pane::items(
        frame,
        list_area,
        len,
        list,
        &mut app.ui.wizard,
        true,
        theme::selected(focused),
    );
    let detail = detail(steps, selected, w, width);
    let height = usize::from(detail_area.height);
    let (lines, back, room) = tail_fit(detail, height, w.output_back);
    pane::text(frame, detail_area, lines);
    // Kept as drawn, like a list's offset: PgUp past the start stays at the start.
    if let Some(w) = app.wizard.as_mut() {
        w.output_back = back;
        w.output_page = room.max(1);
    }
}

/// The unknown host key waiting for an answer, as OpenSSH asks it: the fingerprint is
/// cut anywhere, never with `…` (it is compared character by character).
fn host_key(w: &WizardPane, width: usize) -> Vec<Line<'static>> {
    let Some(q) = w.host_keys.front() else {
        return Vec::new();
    };
    let mut lines = wrapped(
        &format!("? {} offers a host key no known_hosts file has:", q.target),
        width,
        theme::ALARM,
    );
    let key = format!("{} {}", q.key_type, q.fingerprint);
    let chars: Vec<char> = key.chars().collect();
    for row in chars.chunks(width.max(1)) {
        lines.push(Line::styled(row.iter().collect::<String>(), theme::ALARM));
    }
    let more = match w.host_keys.len() - 1 {
        0 => String::new(),
        n => format!(" ({n} more host(s) asked after this one)"),
    };
    let ask = format!(
        "Compare it with `ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub` on the host. \
         y accepts it (appended to known_hosts), x refuses it{more}"
    );
    lines.extend(wrapped(&ask, width, theme::WARN));
    lines
}

fn title(w: &WizardPane) -> Vec<Span<'static>> {
    let mut spans = vec![pane::name("Wizard")];
    let Some(steps) = &w.steps else {
        return spans;
    };
    let ok = steps.reports.iter().filter(|r| r.status == StepStatus::Ok);
    let text = format!(" {}/{} done ", ok.count(), steps.reports.len());
    spans.push(Span::raw(text));
    if let Some(id) = &w.running {
        spans.push(Span::styled(format!(" running {id} "), theme::WARN));
    } else if steps.verified {
        spans.push(Span::styled(" verified ", theme::GOOD));
    } else if steps.reports.iter().any(|r| r.status == StepStatus::Failed) {
        spans.push(Span::styled(" a step failed ", theme::ALARM));
    }
    spans
}

/// `✓ init  cp-1  52.0s`: one row per step.
fn step_row(r: &StepReport, w: &WizardPane, width: usize) -> Line<'static> {
    let running = w.running.as_deref() == Some(r.id.as_str());
    let (mark, style) = if running {
        ("»", theme::WARN)
    } else {
        mark(r)
    };
    let took = r
        .duration
        .map(|d| format!("  {:.0}s", d.as_secs_f64()))
        .unwrap_or_default();
    let hosts = if r.hosts.len() > 3 {
        format!("{} hosts", r.hosts.len())
    } else {
        r.hosts.join(", ")
    };
    let line = Line::from(vec![
        Span::styled(format!("{mark} "), style),
        Span::styled(r.id.clone(), style),
        Span::styled(format!("  {hosts}{took}"), theme::DIM),
    ]);
    format::fit_line(line, width)
}

fn mark(r: &StepReport) -> (&'static str, Style) {
    match r.status {
        StepStatus::Ok if r.already_done() => ("=", theme::GOOD),
        StepStatus::Ok => ("✓", theme::GOOD),
        StepStatus::Failed => ("✗", theme::ALARM),
        StepStatus::Skipped => ("-", theme::DIM),
        StepStatus::Pending => ("·", Style::new()),
    }
}

/// The selected step: what it does and why, its commands, its notes, its output, and
/// the key to press.
fn detail(steps: &WizardSteps, at: usize, w: &WizardPane, width: usize) -> Vec<Line<'static>> {
    let Some(r) = steps.reports.get(at) else {
        return Vec::new();
    };
    let mut lines = vec![Line::default()];
    let running = w.running.as_deref() == Some(r.id.as_str());
    let (mark, style) = if running {
        ("»", theme::WARN)
    } else {
        mark(r)
    };
    let word = if running {
        "running".into()
    } else {
        status_word(r)
    };
    let head = format!("{mark} {}: {word}", r.id);
    lines.push(Line::styled(head, style.patch(theme::BOLD)));
    let failed = r.status == StepStatus::Failed;
    let mut about = Vec::new();
    if let Some(why) = steps.why.get(at).filter(|s| !s.is_empty()) {
        about.extend(wrapped(why, width, Style::new()));
    }
    let hosts = steps.command_hosts.get(at).map_or(&[][..], Vec::as_slice);
    for (command, on) in commands(&r.commands, hosts) {
        let on = format!("on {}:", on.join(", "));
        about.extend(wrapped(&on, width, theme::DIM));
        for row in format::shell(command, width) {
            about.push(Line::styled(row, theme::COMMAND));
        }
    }
    let note_style = if failed { theme::WARN } else { theme::DIM };
    let notes = r.notes.iter().flat_map(|n| wrapped(n, width, note_style));
    let key = wrapped(&next_key(steps, r, w), width, theme::KEY);
    if failed {
        // What to do first, while the pane is short: the fix and its key, then what
        // failed, then what the step was.
        lines.extend(fix(r, width));
        lines.extend(key);
        lines.extend(notes);
        lines.extend(about);
    } else {
        lines.extend(about);
        lines.extend(notes);
        lines.extend(key);
    }
    let output = if running { &w.live } else { &r.output };
    if !output.is_empty() {
        lines.push(Line::styled("output:", theme::DIM));
        for l in output {
            lines.extend(format::wrap_line(Line::raw(l.clone()), width, 2));
        }
    }
    lines
}

/// The fix a failed step offers: what it does, then its commands per host.
fn fix(r: &StepReport, width: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some(fix) = r.fix.as_ref() {
        lines.extend(wrapped(&format!("fix: {}", fix.what), width, theme::WARN));
        for c in &fix.commands {
            lines.extend(wrapped(&format!("on {}:", c.host), width, theme::DIM));
            for row in format::shell(&c.shown(), width) {
                lines.push(Line::styled(row, theme::COMMAND));
            }
        }
    }
    lines
}

/// Each command once, with the hosts it runs on (a preflight runs one on every host).
fn commands<'a>(commands: &'a [String], hosts: &'a [String]) -> Vec<(&'a str, Vec<&'a str>)> {
    let mut out: Vec<(&str, Vec<&str>)> = Vec::new();
    for (i, c) in commands.iter().enumerate() {
        let host = hosts.get(i).map_or("?", String::as_str);
        match out.iter_mut().find(|(seen, _)| seen == c) {
            Some((_, on)) => on.push(host),
            None => out.push((c, vec![host])),
        }
    }
    out
}

fn status_word(r: &StepReport) -> String {
    match r.status {
        StepStatus::Ok if r.already_done() => "already done".into(),
        StepStatus::Ok => format!("ok after {} attempt(s)", r.attempts),
        StepStatus::Failed => format!("FAILED after {} attempt(s)", r.attempts),
        StepStatus::Skipped => "skipped".into(),
        StepStatus::Pending => "to run".into(),
    }
}

fn next_key(steps: &WizardSteps, r: &StepReport, w: &WizardPane) -> String {
    if w.running.is_some() {
        return "running: its output follows".into();
    }
    if steps.verified && w.on_lab {
        return "verified: every node Ready, etcd's voters are the masters, both leases held. \
                Now break it: d plans the failover drill on this cluster (n another fault, d \
                again starts it), or select a node and press P (power off), C, E, K, N or X; \
                R restores."
            .into();
    }
    if steps.verified {
        return "verified: every node Ready, etcd's voters are the masters, both leases held."
            .into();
    }
    match r.status {
        StepStatus::Failed if r.fix.is_some() => {
            "f runs the fix, then the step again · Enter runs it again · s skips it (asks first)"
                .into()
        }
        StepStatus::Failed => "Enter runs it again · s skips it (asks first)".into(),
        StepStatus::Pending => "Enter runs the next step · a runs all the rest".into(),
        _ => String::new(),
    }
}

fn wrapped(text: &str, width: usize, style: Style) -> Vec<Line<'static>> {
    format::wrap(text, width)
        .into_iter()
        .map(|l| Line::styled(l, style))
        .collect()
}

/// The head of `lines` up to the output, then a window of the output that fits: its end,
/// or `back` rows before the end (PgUp), with how much more there is above and below.
/// Also returns `back` as it could be honoured and the rows the output had.
fn tail_fit(
    mut lines: Vec<Line<'static>>,
    height: usize,
    back: usize,
) -> (Vec<Line<'static>>, usize, usize) {
    if lines.len() <= height {
        return (lines, 0, height);
    }
    let output_at = lines.iter().position(|l| {
        l.spans
            .first()
            .is_some_and(|s| s.content.starts_with("output:"))
    });
    match output_at {
        Some(at) if at + 1 < height => {
            let output = lines.split_off(at + 1);
            let room = height - at - 1;
            let back = back.min(output.len().saturating_sub(room));
            let end = output.len() - back;
            let start = end.saturating_sub(room);
            let label = match (start, back) {
                (0, 0) => "output:".to_string(),
                (0, b) => format!("output: (PgDn: {b} newer rows)"),
                (a, 0) => format!("output: (PgUp: {a} older rows)"),
                (a, b) => format!("output: (PgUp: {a} older, PgDn: {b} newer rows)"),
            };
            lines[at] = Line::styled(label, theme::DIM);
            lines.extend(output.into_iter().skip(start).take(room));
            (lines, back, room)
        }
        _ => {
            // Never fewer without saying so.
            if height > 0 && lines.len() > height {
                let hidden = lines.len() + 1 - height;
                lines.truncate(height - 1);
                let more = format!("… +{hidden} rows below (a taller terminal shows more)");
                lines.push(Line::styled(more, theme::DIM));
            }
            (lines, 0, height)
        }
    }
}

/// `area` cut top-down into rows of `heights`, the rest last.
fn rows(area: Rect, heights: [usize; 2]) -> [Rect; 3] {
    let mut y = area.y;
    let mut left = area.height;
    let mut cut = |h: usize| {
        let h = u16::try_from(h).unwrap_or(u16::MAX).min(left);
        let r = Rect {
            y,
            height: h,
            ..area
        };
        y += h;
        left -= h;
        r
    };
    let a = cut(heights[0]);
    let b = cut(heights[1]);
    let c = cut(usize::from(u16::MAX));
    [a, b, c]
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent};

    use super::super::fixture::{screen, text};
    use crate::app::App;
    use crate::message::{Message, WizardUpdate};
    use crate::model::{ClusterState, SourceKind};
    use crate::wizard::cockpit::WizardSteps;
    use crate::wizard::engine::{StepReport, StepStatus};

    #[test]
    fn a_long_output_shows_its_end_and_pages_back_to_its_start() {
        let cluster = ClusterState::new(SourceKind::Lab, "lb:6443", jiff::Timestamp::UNIX_EPOCH);
        let mut app = App::with_wizard(cluster);
        let mut report = StepReport::new("init", &["cp-1".into()], vec!["kubeadm init".into()]);
        report.status = StepStatus::Ok;
        report.attempts = 1;
        report.output = (1..=100).map(|i| format!("line {i:03}")).collect();
        let steps = WizardSteps {
            reports: vec![report],
            why: vec!["why".into()],
            command_hosts: vec![vec!["cp-1".into()]],
            warnings: vec![],
            finished: true,
            verified: false,
        };
        app.update(Message::Wizard(WizardUpdate::Steps(steps)));
        let key = |app: &mut App, code| app.update(Message::Key(KeyEvent::from(code)));
        key(&mut app, KeyCode::Char('w'));
        let shown = text(&screen(&mut app, 120, 40));
        assert!(
            shown.contains("line 100") && !shown.contains("line 001"),
            "{shown}"
        );
        assert!(shown.contains("output: (PgUp: "), "{shown}");
        for _ in 0..5 {
            key(&mut app, KeyCode::PageUp);
        }
        let shown = text(&screen(&mut app, 120, 40));
        assert!(
            shown.contains("line 001") && !shown.contains("line 100"),
            "{shown}"
        );
        assert!(shown.contains("output: (PgDn: "), "{shown}");
        // Paging back past the start stays there: one PgDn moves at once.
        key(&mut app, KeyCode::PageDown);
        let shown = text(&screen(&mut app, 120, 40));
        assert!(!shown.contains("line 001"), "{shown}");
    }
}
