//! Drawing the cockpit from state. No I/O and no clock reads (the time is
//! `cluster.now`); the only writes go to `app.ui` scroll offsets and `ui.page`, the way
//! ratatui's stateful widgets keep their offset.
//!
//! ```text
//! title ─────────────────────────────────────────────
//! Nodes (as tall as its rows) │ etcd
//! Endpoint                    │ Leases
//!                             │ TTLs
//! Timeline, the full width, entries wrapped whole
//! key bar ───────────────────────────────────────────
//! ```
//!
//! The panes above the timeline take the rows their content wants, the timeline the rest
//! (at least a third of the screen once it has that much to say). Rows wider than their
//! pane wrap where the pane has room and are cut with `…` where it has not.

mod certs;
mod drill;
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
mod wizard;

#[cfg(test)]
pub(crate) mod fixture;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use crate::app::App;

/// The timeline never gets less than this when it has that much to show.
const MIN_TIMELINE: u16 = 5;
/// Nodes keep their header and this many rows before other panes grow.
const MIN_NODE_ROWS: usize = 3;

pub fn draw(frame: &mut Frame, app: &mut App) {
    let area = frame.area();
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    title::draw(frame, top, &app.cluster);
    if app.wizard_open() {
        draw_with_wizard(frame, body, app);
    } else {
        draw_cockpit(frame, body, app);
    }
    keybar::draw(frame, bottom, app);
    if app.ui.help {
        let here = app.here();
        help::draw(frame, area, here, &mut app.ui);
    }
}

/// The wizard on the left, the panes that show the cluster assembling on the right:
/// nodes, etcd, leases, TTLs, the endpoint, then the timeline with the rest.
fn draw_with_wizard(frame: &mut Frame, body: Rect, app: &mut App) {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
    wizard::draw(frame, left, app);
    let c = &app.cluster;
    let inner = right.width.saturating_sub(2);
    let [nodes, _] = left_asks(app, right.width);
    let [etcd, leases, tokens] = right_asks(app, right.width);
    let endpoint = Ask::new(endpoint::needed(c), endpoint::wanted(c, inner));
    let timeline = timeline::wanted(&c.timeline, inner, usize::from(body.height));
    let timeline = Ask::new(timeline.min(3), timeline);
    let asks = [nodes, etcd, leases, tokens, endpoint, timeline];
    let heights = stack(right.height, asks, [1, 0, 3, 2, 5, 4], 5);
    let [n, e, l, t, ep, tl] = split(right, heights);
    nodes::draw(frame, n, app);
    etcd::draw(frame, e, app);
    leases::draw(frame, l, app);
    tokens::draw(frame, t, app);
    endpoint::draw(frame, ep, app);
    timeline::draw(frame, tl, app);
}

fn draw_cockpit(frame: &mut Frame, body: Rect, app: &mut App) {
    let columns = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]);
    let [left, right] = columns.areas(body);
    let (left_asks, right_asks) = (left_asks(app, left.width), right_asks(app, right.width));
    let band_h = band_height(app, body, &left_asks, &right_asks);
    let [band, timeline_area] =
        Layout::vertical([Constraint::Length(band_h), Constraint::Fill(1)]).areas(body);
    let [left, right] = columns.areas(band);

    // When short, etcd is what an outage is about; TTLs before leases. The endpoint has a
    // row per apiserver before nodes grow, and wraps only once the nodes have theirs.
    // Rows nobody asked for go to the node list and the TTLs, whose lists can use them.
    let [nodes_h, endpoint_h] = stack(left.height, left_asks, [0, 1], 0);
    let [nodes_area, endpoint_area] = split(left, [nodes_h, endpoint_h]);
    nodes::draw(frame, nodes_area, app);
    endpoint::draw(frame, endpoint_area, app);
    let heights = stack(right.height, right_asks, [0, 2, 1], 2);
    let [etcd_area, leases_area, tokens_area] = split(right, heights);
    etcd::draw(frame, etcd_area, app);
    leases::draw(frame, leases_area, app);
    tokens::draw(frame, tokens_area, app);
    if app.drill.is_some() {
        drill::draw(frame, timeline_area, app);
    } else {
        timeline::draw(frame, timeline_area, app);
    }
}

/// What a pane asks of its column: rows it cannot do without, rows it can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ask {
    floor: u16,
    want: u16,
}

impl Ask {
    fn new(floor: usize, want: usize) -> Self {
        let want = pane::height(want);
        Self {
            floor: pane::height(floor).min(want),
            want,
        }
    }
}

/// Nodes, as many rows as match (and a header); the endpoint, wrapped when it can be.
fn left_asks(app: &App, width: u16) -> [Ask; 2] {
    let c = &app.cluster;
    let inner = width.saturating_sub(2);
    let nodes = nodes::wanted(app);
    [
        Ask::new(nodes.min(MIN_NODE_ROWS + 1), nodes),
        Ask::new(endpoint::needed(c), endpoint::wanted(c, inner)),
    ]
}

fn right_asks(app: &App, width: u16) -> [Ask; 3] {
    let c = &app.cluster;
    let inner = width.saturating_sub(2);
    [
        Ask::new(1, etcd::wanted(c, inner)),
        Ask::new(1, leases::wanted(c, inner)),
        Ask::new(1, tokens::wanted(c, inner)),
    ]
}

/// Rows for the panes above the timeline: what the taller column wants (the TTLs with
/// every certificate), leaving the timeline a third of `body` or all it has to show.
fn band_height(app: &App, body: Rect, left: &[Ask; 2], right: &[Ask; 3]) -> u16 {
    let c = &app.cluster;
    let sum = |asks: &[Ask]| asks.iter().map(|a| a.want).fold(0u16, u16::saturating_add);
    let certs = u16::try_from(certs::not_due(c)).unwrap_or(u16::MAX);
    let wanted = sum(left).max(sum(right).saturating_add(certs));
    let most = usize::from(body.height);
    let timeline = timeline::wanted(&c.timeline, body.width.saturating_sub(2), most);
    let floor = (body.height / 3).max(MIN_TIMELINE);
    let timeline_min = pane::height(timeline).min(floor);
    wanted.min(body.height.saturating_sub(timeline_min))
}

/// `area` cut into rows of `heights`, top down.
fn split<const N: usize>(area: Rect, heights: [u16; N]) -> [Rect; N] {
    let mut y = area.y;
    heights.map(|height| {
        let rect = Rect { y, height, ..area };
        y = y.saturating_add(height);
        rect
    })
}

/// Splits `avail` rows among panes asking `asks`: first each pane's floor, then the rest
/// of what they want, both in `priority` order. Rows left over go to pane `spare`.
fn stack<const N: usize>(
    avail: u16,
    asks: [Ask; N],
    priority: [usize; N],
    spare: usize,
) -> [u16; N] {
    let mut out = [0; N];
    let mut left = avail;
    for floors in [true, false] {
        for &i in &priority {
            let ask = if floors { asks[i].floor } else { asks[i].want };
            let give = ask.saturating_sub(out[i]).min(left);
            out[i] += give;
            left -= give;
        }
    }
    if let Some(rows) = out.get_mut(spare) {
        *rows += left;
    }
    out
}

#[cfg(test)]
mod tests;
