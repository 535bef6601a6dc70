//! Drawing the cockpit from state. No I/O and no clock reads (the time is
//! `cluster.now`); the only writes go to `app.ui` scroll offsets and `ui.page`, the way
//! ratatui's stateful widgets keep their offset.
//!
//! ```text
//! title ───────────────────────────────────────────────
//! Nodes                     │ Endpoint
//!                           │ etcd
//! ──────────────────────────│ Leases
//! Timeline                  │ TTLs
//! key bar ─────────────────────────────────────────────
//! ```

mod certs;
mod endpoint;
mod etcd;
pub mod format;
mod help;
mod keybar;
mod leases;
mod nodes;
mod pane;
mod theme;
mod timeline;
mod title;
mod tokens;

#[cfg(test)]
pub(crate) mod fixture;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use crate::app::App;

/// The timeline never gets less than this when there is room for it.
const MIN_TIMELINE: u16 = 5;
/// A bordered pane with one row inside.
const MIN_PANE: u16 = 3;

pub fn draw(frame: &mut Frame, app: &mut App) {
    let area = frame.area();
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    title::draw(frame, top, &app.cluster);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
    draw_left(frame, left, app);
    draw_right(frame, right, app);
    keybar::draw(frame, bottom, app);
    if app.ui.help {
        help::draw(frame, area, app.is_lab());
    }
}

/// Nodes fill; the timeline takes a third (at least [`MIN_TIMELINE`] rows).
fn draw_left(frame: &mut Frame, area: Rect, app: &mut App) {
    let timeline_h = (area.height / 3)
        .max(MIN_TIMELINE)
        .min(area.height.saturating_sub(MIN_PANE));
    let [nodes_area, timeline_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(timeline_h)]).areas(area);
    nodes::draw(frame, nodes_area, app);
    timeline::draw(frame, timeline_area, app);
}

/// Endpoint, etcd, Leases, TTLs: each as tall as its content when that fits.
fn draw_right(frame: &mut Frame, area: Rect, app: &mut App) {
    let c = &app.cluster;
    let inner_w = area.width.saturating_sub(2);
    let wanted = [
        pane::height(endpoint::wanted(c)),
        pane::height(etcd::wanted(c, inner_w)),
        pane::height(leases::wanted(c, inner_w)),
        pane::height(tokens::wanted(c, inner_w)),
    ];
    // When short, etcd and the endpoint are what an outage is about; TTLs before leases.
    let heights = stack(area.height, wanted, [1, 0, 3, 2]);
    let mut y = area.y;
    let mut next = |h: u16| {
        let rect = Rect {
            y,
            height: h,
            ..area
        };
        y += h;
        rect
    };
    endpoint::draw(frame, next(heights[0]), app);
    etcd::draw(frame, next(heights[1]), app);
    leases::draw(frame, next(heights[2]), app);
    tokens::draw(frame, next(heights[3]), app);
}

/// Splits `avail` rows among panes that want `wanted` rows: first a minimal pane each,
/// then the rest of what they want, both in `priority` order. Spare rows go to the last
/// pane, so the column ends at the bottom.
fn stack<const N: usize>(avail: u16, wanted: [u16; N], priority: [usize; N]) -> [u16; N] {
    let mut out = [0; N];
    let mut left = avail;
    for floor in [MIN_PANE, u16::MAX] {
        for &i in &priority {
            let give = wanted[i].min(floor).saturating_sub(out[i]).min(left);
            out[i] += give;
            left -= give;
        }
    }
    if let Some(last) = out.last_mut() {
        *last += left;
    }
    out
}

#[cfg(test)]
mod tests;
