//! The drill pane, in the timeline's place while a drill is planned, runs or has a result:
//! the plan to confirm, then sparklines of what clients saw through the endpoint (a cell a
//! second) and the measured events in seconds since the fault, each with its reason.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{format, pane, theme};
use crate::app::{App, DrillPane};
use crate::drill::Phase;
use crate::drill::cockpit::DrillView;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let Some(drill) = &app.drill else {
        return;
    };
    let width = usize::from(area.width.saturating_sub(2));
    let (title, lines) = match drill {
        DrillPane::Prompt { plan, refused, .. } => {
            prompt(plan.as_deref(), refused.as_deref(), width)
        }
        DrillPane::Running(v) => running(v, width),
    };
    let inner = pane::frame(frame, area, title, true);
    pane::text(frame, inner, lines);
}

fn wrapped(text: &str, width: usize, style: Style) -> Vec<Line<'static>> {
    format::wrap(text, width)
        .into_iter()
        .map(|l| Line::styled(l, style))
        .collect()
}

fn prompt(
    plan: Option<&str>,
    refused: Option<&str>,
    width: usize,
) -> (Vec<Span<'static>>, Vec<Line<'static>>) {
    let title = vec![
        pane::name("Drill"),
        Span::styled(" not started ", theme::WARN),
    ];
    let mut lines = Vec::new();
    match plan {
        None if refused.is_some() => {}
        None => lines.push(Line::styled(
            "asking the lab what this drill would do…",
            theme::DIM,
        )),
        Some(plan) => {
            for l in plan.lines() {
                lines.extend(wrapped(l, width, Style::new()));
            }
        }
    }
    if let Some(why) = refused {
        lines.extend(wrapped(&format!("refused: {why}"), width, theme::ALARM));
        lines.extend(wrapped(
            "n picks another fault · Esc closes",
            width,
            theme::KEY,
        ));
    } else {
        let keys = "d starts it · n picks another fault (kubelet, control-plane, etcd, network, power) · Esc cancels";
        lines.extend(wrapped(keys, width, theme::KEY));
    }
    (title, lines)
}

fn running(v: &DrillView, width: usize) -> (Vec<Span<'static>>, Vec<Line<'static>>) {
    let (state, style) = match v.phase {
        Phase::Fault => ("fault in place · Esc restores now", theme::ALARM),
        Phase::Recovering => ("restored · watching the recovery", theme::WARN),
        Phase::Done => ("done · Esc closes", theme::GOOD),
    };
    let title = vec![
        pane::name("Drill"),
        Span::raw(format!(
            " {} · {:.1} s ",
            v.fault.headline(&v.target),
            v.elapsed_s
        )),
        Span::styled(format!(" {state} "), style),
    ];
    let label_w = 12;
    let room = width.saturating_sub(label_w + 1);
    let top = max(&v.latency_ms);
    // Each sparkline says its scale after its bars, where it fits.
    let scales = [
        " █ all answered, ▁ none · a cell a second".to_string(),
        format!(" █ {top:.0} ms"),
    ];
    let fits = scales.iter().all(|s| format::width(s) + 10 <= room);
    let scale = |i: usize| {
        if fits {
            scales[i].clone()
        } else {
            String::new()
        }
    };
    let bars = |i: usize| room.saturating_sub(format::width(&scale(i)));
    let mut lines = vec![
        spark("answered", &v.availability, 1.0, bars(0), label_w, scale(0)),
        spark("latency", &v.latency_ms, top, bars(1), label_w, scale(1)),
    ];
    for e in v.timeline.iter().rev() {
        let head = format!("{:>6.1}s {}", e.at_s, e.text);
        lines.extend(format::wrap_line(Line::raw(head), width, 8));
        lines.extend(
            format::wrap(&e.why, width.saturating_sub(8))
                .into_iter()
                .map(|w| Line::styled(format!("        {w}"), theme::DIM)),
        );
    }
    if v.phase == Phase::Done {
        let mut end = Vec::new();
        for verdict in &v.verdict {
            end.extend(wrapped(&format!("• {verdict}"), width, theme::BOLD));
        }
        if let Some(report) = &v.report {
            end.extend(wrapped(report, width, theme::DIM));
        }
        // The verdict first: it is what the class came for.
        end.extend(lines);
        lines = end;
    }
    (title, lines)
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(1.0, f64::max)
}

/// `answered    ▇▇▇▁▁▃▇▇ █ all`: the last `room` values, each scaled against `top`, then
/// what the scale is.
fn spark(
    label: &str,
    values: &[f64],
    top: f64,
    room: usize,
    label_w: usize,
    scale: String,
) -> Line<'static> {
    let shown = &values[values.len().saturating_sub(room)..];
    let bars: String = shown
        .iter()
        .map(|v| {
            let level = (v / top).clamp(0.0, 1.0) * (BARS.len() - 1) as f64;
            BARS[level.round() as usize]
        })
        .collect();
    Line::from(vec![
        Span::styled(format::pad(label, label_w), theme::DIM),
        Span::raw(" "),
        Span::raw(bars),
        Span::styled(scale, theme::DIM),
    ])
}
