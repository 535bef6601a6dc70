//! The node list. Rows are built only for the visible window, so 5,000 nodes cost what
//! 30 do; columns are sized from that window and the least useful go first when narrow,
//! the header ending in `…` then. A node's note (a silent kubelet, pods not ready,
//! restarts) takes the room the columns leave, or a row of its own under the node: it
//! never pushes a column out. Nodes seen deleted stay listed, marked, until they register
//! again; rows below the window are counted on the bottom border.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{format, pane, theme};
use crate::app::{App, Pane};
use crate::model::{
    ClusterState, FeedKind, GraceFrom, Listed, Node, PodState, Readiness, SourceKind, StaticPods,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Name,
    Role,
    Status,
    /// How long in that STATUS (the Ready condition's last transition).
    For,
    Pods,
    Version,
    Ip,
    /// kubectl's AGE: since the Node's creationTimestamp.
    Age,
}

const COLUMNS: [(Col, &str); 8] = [
    (Col::Name, "NAME"),
    (Col::Role, "ROLE"),
    (Col::Status, "STATUS"),
    (Col::For, "FOR"),
    (Col::Pods, "PODS"),
    (Col::Version, "VERSION"),
    (Col::Ip, "IP"),
    (Col::Age, "AGE"),
];

/// Dropped in this order when the pane is too narrow.
const EXPENDABLE: [Col; 4] = [Col::Ip, Col::Version, Col::Age, Col::For];
const MIN_NAME: usize = 4;
/// How long a rise in restarts stays in a node's note.
const RESTARTS_NOTE_S: i64 = 600;
/// Ends the header when columns were left out.
const DROPPED: &str = " …";
const PODS_LEGEND: &str = "A E S C: apiserver etcd scheduler controller-manager";

/// One node's cells and its note.
struct Row {
    cells: Vec<Vec<Span<'static>>>,
    note: Vec<Span<'static>>,
}

/// The columns' widths (`None`: left out) and where notes go.
struct Fit {
    widths: Vec<Option<usize>>,
    dropped: bool,
    /// The note column's width, or `None`: a row under the node.
    note: Option<usize>,
}

/// Content rows wanted: the header, a row per listed node and one per note that may need
/// its own (counted for a list short enough to look at every node's).
pub fn wanted(app: &App) -> usize {
    let c = &app.cluster;
    let len = c.nodes.listed(&app.ui.filter).count();
    let notes = if len <= 200 {
        let listed = c.nodes.listed(&app.ui.filter);
        listed.filter(|l| !row(*l, c).note.is_empty()).count()
    } else {
        0
    };
    1 + len.max(1) + notes
}

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let c = &app.cluster;
    let ui = &mut app.ui;
    let focused = ui.focus == Pane::Nodes;
    let len = c.nodes.listed(&ui.filter).count();
    let title = title(c, &ui.filter, ui.filter_editing, len);
    let inner = ratatui::widgets::Block::bordered().inner(area);
    let [head, list] = split_header(inner);
    let height = usize::from(list.height);
    ui.page = height.max(1);
    if len == 0 {
        pane::frame(frame, area, title, focused);
        let line = empty(c, &ui.filter);
        pane::text(frame, list, [line]);
        return;
    }

    ui.nodes.scroll_into_view(len, height);
    let room = usize::from(inner.width);
    // Note rows can push the selection out of the window: start lower until it is in.
    let (fit, lines, selected, shown) = loop {
        let window: Vec<Row> = c
            .nodes
            .listed(&ui.filter)
            .skip(ui.nodes.offset)
            .take(height)
            .map(|l| row(l, c))
            .collect();
        let fit = fit_columns(&window, room);
        let (lines, selected, shown) =
            layout(window, &fit, ui.nodes.selected - ui.nodes.offset, height);
        if selected.is_some() || ui.nodes.offset >= ui.nodes.selected {
            break (fit, lines, selected, shown);
        }
        ui.nodes.offset += 1;
    };
    let below = len.saturating_sub(ui.nodes.offset + shown);
    pane::frame_with(frame, area, title, focused, pane::more(below));
    pane::text(frame, head, [header(&fit)]);
    let spare = height.saturating_sub(lines.len());
    let mut lines = lines;
    let masters = c.nodes.iter().any(Node::is_control_plane);
    if spare >= 2 && masters && format::width(PODS_LEGEND) <= room {
        // Room to spare: what the marks mean, at the bottom.
        lines.extend(std::iter::repeat_n(Line::default(), spare - 1));
        lines.push(Line::styled(PODS_LEGEND, theme::DIM));
    }
    // The selection stays visible when another pane has focus: faults act on it.
    pane::rows(frame, list, lines, selected, theme::selected(focused));
}

/// The window's lines (a node's row, then its note's row when notes have no column), the
/// selected node's row among them if it is in, and how many nodes are shown whole.
fn layout(
    window: Vec<Row>,
    fit: &Fit,
    selected: usize,
    height: usize,
) -> (Vec<Line<'static>>, Option<usize>, usize) {
    let mut lines = Vec::new();
    let (mut at, mut shown) = (None, 0);
    for (i, r) in window.into_iter().enumerate() {
        let note_row = fit.note.is_none() && !r.note.is_empty();
        if lines.len() + 1 + usize::from(note_row) > height {
            break;
        }
        if i == selected {
            at = Some(lines.len());
        }
        let note = r.note;
        lines.push(line(r.cells, note.clone(), fit));
        if note_row {
            let mut spans = vec![Span::styled("  ↳ ", theme::DIM)];
            spans.extend(note);
            lines.push(Line::from(spans));
        }
        shown += 1;
    }
    (lines, at, shown)
}

/// `Nodes 5/5 ready`, the deleted ones, then the filter (with a cursor while typing) and
/// staleness.
fn title(c: &ClusterState, filter: &str, editing: bool, matching: usize) -> Vec<Span<'static>> {
    let ready = c
        .nodes
        .iter()
        .filter(|n| n.ready == Readiness::Ready)
        .count();
    let total = c.nodes.len();
    let style = if ready == total {
        theme::GOOD
    } else {
        theme::BAD
    };
    let mut spans = vec![
        pane::name("Nodes"),
        Span::styled(format!("{ready}/{total} ready "), style),
    ];
    let deleted = c.nodes.deleted().count();
    if deleted > 0 {
        spans.push(Span::styled(format!("{deleted} deleted "), theme::ALARM));
    }
    if editing || !filter.is_empty() {
        let cursor = if editing { "█" } else { "" };
        spans.push(Span::styled(format!("/{filter}{cursor} "), theme::WARN));
        spans.push(Span::styled(format!("{matching} match "), theme::DIM));
    }
    spans.extend(pane::stale(c, &[FeedKind::Nodes, FeedKind::Pods]));
    spans
}

fn empty(c: &ClusterState, filter: &str) -> Line<'static> {
    let text = if c.nodes.is_empty() {
        "no nodes yet".to_string()
    } else {
        format!("no node name contains \"{filter}\" (Esc clears)")
    };
    Line::styled(text, theme::DIM)
}

fn split_header(inner: Rect) -> [Rect; 2] {
    let head_h = inner.height.min(1);
    let head = Rect {
        height: head_h,
        ..inner
    };
    let list = Rect {
        y: inner.y + head_h,
        height: inner.height - head_h,
        ..inner
    };
    [head, list]
}

/// One entry per column in [`COLUMNS`] order, and the note.
fn row(l: Listed, c: &ClusterState) -> Row {
    let n = l.node;
    let ago = |t: Option<jiff::Timestamp>| {
        t.map_or_else(
            || "-".into(),
            |t| format::age(c.now.as_second() - t.as_second()),
        )
    };
    let (status, since) = match l.deleted {
        Some(at) => (Span::styled("deleted", theme::ALARM), Some(at)),
        None => (
            Span::styled(format!("{:?}", n.ready), theme::readiness(n.ready)),
            n.ready_since,
        ),
    };
    let cells = COLUMNS
        .iter()
        .map(|(col, _)| match col {
            Col::Name => vec![Span::raw(n.name.clone())],
            Col::Role => vec![Span::raw(if n.is_control_plane() {
                "cp"
            } else {
                "worker"
            })],
            Col::Status => vec![status.clone()],
            Col::For => vec![Span::raw(ago(since))],
            Col::Pods if l.deleted.is_some() => Vec::new(),
            Col::Pods => pods(n, c),
            Col::Version => vec![Span::styled(n.kubelet_version.clone(), theme::DIM)],
            Col::Ip => vec![Span::raw(
                n.internal_ip.clone().unwrap_or_else(|| "-".into()),
            )],
            Col::Age => vec![Span::raw(ago(n.created))],
        })
        .collect();
    let note = match l.deleted {
        Some(_) if c.source == SourceKind::Lab => {
            vec![Span::styled(
                "R restores it (registers it again)",
                theme::DIM,
            )]
        }
        // Live: listed until its kubelet registers it again, or hatui restarts.
        Some(_) => vec![Span::styled("gone from the API", theme::DIM)],
        None => note(n, c),
    };
    Row { cells, note }
}

/// For a node whose kubelet went silent, the age of its last heartbeat and the countdown
/// to NotReady (what a student waits for after `systemctl stop kubelet`); for a master, its
/// pods not ready while their containers run (kubectl's `0/1 Running`) and restarts.
fn note(n: &Node, c: &ClusterState) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    // Restarts are news for a while after they were seen to rise, then the note lets go.
    let recent = c
        .restarts_seen
        .get(&n.name)
        .is_some_and(|at| c.now.as_second() - at.as_second() < RESTARTS_NOTE_S);
    // Once the node is not Ready, AGE says for how long: the countdown is over.
    if let Some(h) = c.silent(n)
        && n.ready == Readiness::Ready
    {
        // "silent": no heartbeat (node Lease renewal) for that long.
        let silent = format!("silent {}", format::duration(h.age_s));
        let text = match (h.not_ready_in_s, h.grace_from) {
            (Some(left), GraceFrom::Takeover) => format!(
                "{silent}, NotReady in {} (grace restarted at takeover)",
                format::duration(left)
            ),
            (Some(left), _) => format!("{silent}, NotReady in {}", format::duration(left)),
            // The next controller-manager leader counts a full grace period from its start.
            (None, _) => format!(
                "{silent}, NotReady {} after a controller-manager takes over",
                format::duration(c.node_monitor_grace_s())
            ),
        };
        spans.push(Span::styled(text, theme::WARN));
    }
    if n.is_control_plane()
        && let Some(pods) = c.static_pods.get(&n.name)
    {
        spans.extend(pod_notes(n, pods, recent));
    }
    // One space between the parts, none before the first.
    if let Some(first) = spans.first_mut() {
        first.content = first.content.trim_start().to_string().into();
    }
    spans
}

/// `A E S C`: apiserver, etcd, scheduler, controller-manager, each coloured by state; then
/// what the marks cannot say: pods not ready whose containers run (kubectl's `0/1
/// Running`), and restarts.
fn pods(n: &Node, c: &ClusterState) -> Vec<Span<'static>> {
    if !n.is_control_plane() {
        return Vec::new();
    }
    let Some(pods) = c.static_pods.get(&n.name) else {
        return vec![Span::styled("? ? ? ?", theme::DIM)];
    };
    let mut spans = Vec::new();
    for (i, (letter, (_, health))) in ["A", "E", "S", "C"].iter().zip(pods.each()).enumerate() {
        if i > 0 {
            spans.push(Span::raw(" "));
        }
        let mark = if health.state == PodState::Absent {
            "-"
        } else {
            letter
        };
        spans.push(Span::styled(mark, theme::pod(health.state)));
    }
    spans
}

/// What the marks cannot say about a master's pods: not ready while their containers run,
/// and (when `restarts`: recently) restarts.
fn pod_notes(n: &Node, pods: &StaticPods, restarts: bool) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let each = pods.each();
    let letters = ["A", "E", "S", "C"];
    if each.iter().any(|(_, p)| p.not_ready_but_running()) {
        // kubectl's `0/1 Running`. On a node that is not Ready the node controller marked
        // them, and "running" is only the kubelet's last report (true after `systemctl
        // stop kubelet`, not after a power loss).
        let text = if n.ready == Readiness::Ready {
            " not ready (running)"
        } else {
            " not ready (last seen running)"
        };
        spans.push(Span::styled(
            text.to_string(),
            theme::pod(PodState::NotReady),
        ));
    }
    let restarted: Vec<String> = letters
        .iter()
        .zip(&each)
        .filter(|(_, (_, p))| p.restarts > 0)
        .map(|(letter, (_, p))| format!("{letter}:{}", p.restarts))
        .collect();
    if restarts && !restarted.is_empty() {
        let text = format!(" restarts {}", restarted.join(" "));
        spans.push(Span::styled(text, theme::DIM));
    }
    spans
}

/// Width per column, sized to the window's content and the pane; then the notes' room.
fn fit_columns(rows: &[Row], room: usize) -> Fit {
    let content = |i: usize| {
        rows.iter()
            .map(|r| cell_width(&r.cells[i]))
            .max()
            .unwrap_or(0)
    };
    let mut widths: Vec<Option<usize>> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, (_, head))| Some(content(i).max(head.len())))
        .collect();
    let total = |w: &[Option<usize>]| -> usize {
        let cols = w.iter().flatten();
        cols.clone().sum::<usize>() + cols.count().saturating_sub(1)
    };
    let mut dropped = false;
    for col in EXPENDABLE {
        let mark = if dropped { format::width(DROPPED) } else { 0 };
        if total(&widths) + mark <= room {
            break;
        }
        let i = COLUMNS.iter().position(|(c, _)| *c == col).unwrap_or(0);
        widths[i] = None;
        dropped = true;
    }
    // Still too wide: the name gives up cells.
    let mark = if dropped { format::width(DROPPED) } else { 0 };
    let over = (total(&widths) + mark).saturating_sub(room);
    if let Some(name) = widths[0].as_mut() {
        *name = name.saturating_sub(over).max(MIN_NAME);
    }
    // Notes whole beside the columns, or each on a row of its own (the full width).
    let left = room.saturating_sub(total(&widths) + mark + 1);
    let widest = rows.iter().map(|r| cell_width(&r.note)).max().unwrap_or(0);
    let note = (left >= widest).then_some(widest);
    Fit {
        widths,
        dropped,
        note,
    }
}

fn cell_width(spans: &[Span]) -> usize {
    spans.iter().map(Span::width).sum()
}

fn header(fit: &Fit) -> Line<'static> {
    let cells = COLUMNS
        .iter()
        .map(|(_, head)| vec![Span::styled(head.to_string(), theme::HEADER)]);
    let mut line = line(cells.collect(), Vec::new(), fit);
    if fit.dropped {
        // Columns left out for lack of room: the help's `…` says so.
        line.spans.push(Span::styled(DROPPED, theme::HEADER));
    }
    line
}

/// Lays cells out in their columns: each padded (or, for the name, cut) to its width; the
/// note last, in the room it was given.
fn line(cells: Vec<Vec<Span<'static>>>, note: Vec<Span<'static>>, fit: &Fit) -> Line<'static> {
    let mut spans = Vec::new();
    for (cell, width) in cells.into_iter().zip(&fit.widths) {
        let Some(width) = *width else { continue };
        if !spans.is_empty() {
            spans.push(Span::raw(" "));
        }
        let used = cell_width(&cell);
        if used > width {
            // The name can be wider than its column: cut with `…`.
            spans.extend(format::fit_line(Line::from(cell), width).spans);
            continue;
        }
        spans.extend(cell);
        spans.push(Span::raw(" ".repeat(width - used)));
    }
    if let (Some(width), false) = (fit.note, note.is_empty()) {
        spans.push(Span::raw(" "));
        spans.extend(format::fit_line(Line::from(note), width).spans);
    }
    Line::from(spans)
}

#[cfg(test)]
#[path = "nodes_tests.rs"]
mod tests;
