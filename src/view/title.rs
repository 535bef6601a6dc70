//! The top row: what this is, whether it is real, which cluster, and its time.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};

use super::{format, theme};
use crate::model::{ClusterState, SourceKind};

const LAB: &str = " LAB · simulated cluster ";
/// What is left of the badge when the terminal is very narrow: never nothing.
const LAB_SHORT: &str = " LAB ";

pub fn draw(frame: &mut Frame, area: Rect, cluster: &ClusterState) {
    let time = format!(" {} UTC", format::clock(cluster.now));
    let time_w = u16::try_from(time.len()).unwrap_or(u16::MAX);
    // The clock gives way before the name or the lab badge does.
    let keep = u16::try_from(LAB_SHORT.len()).unwrap_or(u16::MAX);
    if area.width < time_w + keep {
        frame.render_widget(identity(cluster, usize::from(area.width)), area);
        return;
    }
    let [left, right] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(time_w)]).areas(area);
    frame.render_widget(identity(cluster, usize::from(left.width)), left);
    frame.render_widget(Line::styled(time, theme::BOLD), right);
}

/// `hatui  LAB · simulated cluster   10.0.0.10:6443`, the endpoint coloured by health.
fn identity(cluster: &ClusterState, room: usize) -> Line<'static> {
    let mut spans = Vec::new();
    if cluster.source == SourceKind::Lab {
        // The badge goes first when space is short: it matters more than the name.
        let short = room < "hatui ".len() + format::width(LAB);
        let badge = if short { LAB_SHORT } else { LAB };
        if !short {
            spans.push(Span::styled("hatui ", theme::BOLD));
        }
        spans.push(Span::styled(badge, theme::LAB_BADGE));
    } else {
        spans.push(Span::styled("hatui", theme::BOLD));
    }
    let ep = &cluster.endpoint;
    let style = match ep.ready {
        Some(true) => theme::GOOD,
        Some(false) => theme::ALARM,
        None => theme::DIM,
    };
    spans.push(Span::styled(format!("  {}", ep.address), style));
    format::fit_line(Line::from(spans), room)
}
