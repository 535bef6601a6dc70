//! The node list. Rows are built only for the visible window, so 5,000 nodes cost what
//! 30 do; columns are sized from that window and the least useful go first when narrow.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{format, pane, theme};
use crate::app::{App, Pane};
use crate::model::{ClusterState, FeedKind, GraceFrom, Node, PodState, Readiness, StaticPods};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Name,
    Role,
    Status,
    Pods,
    /// What the marks cannot say (a kubelet's countdown, pods not ready, restarts): it gets
    /// the room the expendable columns leave, before the name gives any up.
    Note,
    Version,
    Ip,
    Age,
}

const COLUMNS: [(Col, &str); 8] = [
    (Col::Name, "NAME"),
    (Col::Role, "ROLE"),
    (Col::Status, "STATUS"),
    (Col::Pods, "PODS"),
    (Col::Note, ""),
    (Col::Version, "VERSION"),
    (Col::Ip, "IP"),
    (Col::Age, "AGE"),
];

/// Dropped in this order when the pane is too narrow.
const EXPENDABLE: [Col; 3] = [Col::Ip, Col::Age, Col::Version];
const MIN_NAME: usize = 4;
/// A note cut shorter than this says nothing: it is left out.
const MIN_NOTE: usize = 8;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let c = &app.cluster;
    let ui = &mut app.ui;
    let focused = ui.focus == Pane::Nodes;
    let len = c.nodes.matching(&ui.filter).count();
    let title = title(c, &ui.filter, ui.filter_editing, len);
    let inner = pane::frame(frame, area, title, focused);
    let [head, list] = split_header(inner);
    let height = usize::from(list.height);
    ui.page = height.max(1);
    if len == 0 {
        let line = empty(c, &ui.filter);
        pane::text(frame, list, [line]);
        return;
    }

    ui.nodes.scroll_into_view(len, height);
    let window = c
        .nodes
        .matching(&ui.filter)
        .skip(ui.nodes.offset)
        .take(height);
    let cells: Vec<Vec<Vec<Span>>> = window.map(|n| row_cells(n, c)).collect();
    let widths = fit_columns(&cells, usize::from(inner.width));
    pane::text(frame, head, [header(&widths)]);
    let lines = cells.into_iter().map(|row| line(row, &widths));
    // The selection stays visible when another pane has focus: faults act on it.
    let selected = pane::selected_row(&ui.nodes, true);
    pane::rows(frame, list, lines, selected, theme::selected(focused));
}

/// `Nodes 5/5 ready`, then the filter (with a cursor while typing) and staleness.
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

/// One entry per column in [`COLUMNS`] order.
fn row_cells(n: &Node, c: &ClusterState) -> Vec<Vec<Span<'static>>> {
    let since = n.ready_since.map(|t| c.now.as_second() - t.as_second());
    COLUMNS
        .iter()
        .map(|(col, _)| match col {
            Col::Name => vec![Span::raw(n.name.clone())],
            Col::Role => vec![Span::raw(if n.is_control_plane() {
                "cp"
            } else {
                "worker"
            })],
            Col::Status => vec![Span::styled(
                format!("{:?}", n.ready),
                theme::readiness(n.ready),
            )],
            Col::Pods => pods(n, c),
            Col::Note => note(n, c),
            Col::Version => vec![Span::styled(n.kubelet_version.clone(), theme::DIM)],
            Col::Ip => vec![Span::raw(
                n.internal_ip.clone().unwrap_or_else(|| "-".into()),
            )],
            Col::Age => vec![Span::raw(since.map_or_else(|| "-".into(), format::age))],
        })
        .collect()
}

/// For a node whose kubelet went silent, the age of its last heartbeat and the countdown
/// to NotReady (what a student waits for after `systemctl stop kubelet`); for a master, its
/// pods not ready while their containers run (kubectl's `0/1 Running`) and restarts.
fn note(n: &Node, c: &ClusterState) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
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
        spans.extend(pod_notes(n, pods));
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
/// and restarts.
fn pod_notes(n: &Node, pods: &StaticPods) -> Vec<Span<'static>> {
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
    if !restarted.is_empty() {
        let text = format!(" restarts {}", restarted.join(" "));
        spans.push(Span::styled(text, theme::DIM));
    }
    spans
}

/// Width per column (`None` = dropped), sized to the window's content and the pane.
fn fit_columns(rows: &[Vec<Vec<Span>>], room: usize) -> Vec<Option<usize>> {
    let content = |i: usize| rows.iter().map(|r| cell_width(&r[i])).max().unwrap_or(0);
    let mut widths: Vec<Option<usize>> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, (_, head))| Some(content(i).max(head.len())))
        .collect();
    let total = |w: &[Option<usize>]| -> usize {
        let cols = w.iter().flatten();
        cols.clone().sum::<usize>() + cols.count().saturating_sub(1)
    };
    // No node has a note: no column for it (nor its separator).
    let note = COLUMNS
        .iter()
        .position(|(c, _)| *c == Col::Note)
        .unwrap_or(0);
    if widths[note] == Some(0) {
        widths[note] = None;
    }
    for col in EXPENDABLE {
        if total(&widths) <= room {
            break;
        }
        let i = COLUMNS.iter().position(|(c, _)| *c == col).unwrap_or(0);
        widths[i] = None;
    }
    // Still too wide: the note is cut (with `…`), then the name gives up cells.
    let over = total(&widths).saturating_sub(room);
    if let Some(w) = widths[note] {
        widths[note] = Some(w.saturating_sub(over)).filter(|w| *w >= MIN_NOTE);
    }
    let over = total(&widths).saturating_sub(room);
    if let Some(name) = widths[0].as_mut() {
        *name = name.saturating_sub(over).max(MIN_NAME);
    }
    widths
}

fn cell_width(spans: &[Span]) -> usize {
    spans.iter().map(Span::width).sum()
}

fn header(widths: &[Option<usize>]) -> Line<'static> {
    let cells = COLUMNS
        .iter()
        .map(|(_, head)| vec![Span::styled(head.to_string(), theme::HEADER)]);
    line(cells.collect(), widths)
}

/// Lays cells out in their columns: each padded (or, for the name, cut) to its width.
fn line(cells: Vec<Vec<Span<'static>>>, widths: &[Option<usize>]) -> Line<'static> {
    let mut spans = Vec::new();
    for (cell, width) in cells.into_iter().zip(widths) {
        let Some(width) = *width else { continue };
        if !spans.is_empty() {
            spans.push(Span::raw(" "));
        }
        let used = cell_width(&cell);
        if used > width {
            // The name and the note can be wider than their column: cut with `…`.
            spans.extend(format::fit_line(Line::from(cell), width).spans);
            continue;
        }
        spans.extend(cell);
        spans.push(Span::raw(" ".repeat(width - used)));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use ratatui::style::Color;

    use crate::app::Pane;
    use crate::model::{PodHealth, PodState, Readiness};
    use crate::view::fixture::{self, find, screen, style_of, text};

    #[test]
    fn title_counts_ready_nodes_and_status_is_coloured() {
        let mut app = fixture::app();
        let mut sick = app.cluster.nodes.get("worker-2").unwrap().clone();
        sick.ready = Readiness::NotReady;
        app.cluster.nodes.upsert(sick);
        let buf = screen(&mut app, 100, 30);
        assert!(find(&buf, " Nodes 4/5 ready ").is_some(), "{}", text(&buf));
        assert_eq!(style_of(&buf, "4/5 ready").fg, Some(Color::Red));
        assert_eq!(style_of(&buf, "NotReady").fg, Some(Color::Red));
        assert_eq!(style_of(&buf, "Ready ").fg, Some(Color::Green));
    }

    #[test]
    fn static_pods_show_as_coloured_marks_on_masters_only() {
        let mut app = fixture::app();
        let pods = app.cluster.static_pods.get_mut("cp-2").unwrap();
        pods.etcd = PodHealth {
            restarts: 7,
            ..PodHealth::FAILED
        };
        pods.scheduler = PodHealth::ABSENT;
        pods.controller_manager.state = PodState::NotReady;
        let buf = screen(&mut app, 140, 30);
        let (x, y) = find(&buf, "A E - C").expect("cp-2's marks");
        assert_eq!(buf[(x, y)].fg, Color::Green);
        assert_eq!(buf[(x + 2, y)].fg, Color::Red);
        assert_eq!(buf[(x + 4, y)].fg, Color::DarkGray);
        assert_eq!(buf[(x + 6, y)].fg, Color::Yellow);
        let (_, worker_row) = find(&buf, "worker-1").unwrap();
        let row = text(&buf)
            .lines()
            .nth(usize::from(worker_row))
            .unwrap()
            .to_string();
        assert!(!row.contains('A'), "no marks for workers: {row}");
    }

    /// The Nodes pane's row of `name` (other panes on the same screen row name nodes too).
    fn node_row(buf: &ratatui::buffer::Buffer, name: &str) -> String {
        let text = text(buf);
        let row = text.lines().find(|l| l.starts_with(&format!("┃{name} ")));
        row.unwrap_or_else(|| panic!("no row for {name}: {text}"))
            .to_string()
    }

    #[test]
    fn pods_not_ready_with_running_containers_and_restarts_are_said_in_words() {
        let mut app = fixture::app();
        let mut node = app.cluster.nodes.get("cp-2").unwrap().clone();
        node.ready = Readiness::Unknown;
        app.cluster.nodes.upsert(node);
        let pods = app.cluster.static_pods.get_mut("cp-2").unwrap();
        for p in [
            &mut pods.apiserver,
            &mut pods.etcd,
            &mut pods.scheduler,
            &mut pods.controller_manager,
        ] {
            p.state = PodState::NotReady;
        }
        pods.apiserver.restarts = 3;
        let buf = screen(&mut app, 200, 40);
        let row = node_row(&buf, "cp-2");
        assert!(
            row.contains("A E S C not ready (last seen running) restarts A:3"),
            "{row}"
        );
        assert_eq!(
            style_of(&buf, "not ready (last seen running)").fg,
            Some(Color::Yellow)
        );
    }

    #[test]
    fn a_silent_kubelet_shows_its_heartbeat_age_and_the_countdown() {
        use crate::model::ClusterEvent;
        let mut app = fixture::app();
        let at = fixture::at(-18);
        let beats = vec![
            ("cp-2".to_string(), at),
            ("cp-1".to_string(), fixture::at(-3)),
        ];
        app.cluster.apply(ClusterEvent::NodeLeases(beats));
        let buf = screen(&mut app, 200, 40);
        let row = |name: &str| node_row(&buf, name);
        assert!(
            row("cp-2").contains("Ready  A E S C silent 18s, NotReady in 32s"),
            "{}",
            row("cp-2")
        );
        assert!(!row("cp-1").contains("silent"), "{}", row("cp-1"));
        assert_eq!(style_of(&buf, "silent 18s").fg, Some(Color::Yellow));
    }

    /// kube-controller-manager moved to cp-3 5 s ago: its node controller first saw cp-2
    /// then, so cp-2 goes NotReady 50 s after the takeover, not after its last heartbeat.
    #[test]
    fn after_a_controller_manager_takeover_the_countdown_restarts_and_says_why() {
        use crate::model::ClusterEvent;
        let mut app = fixture::app();
        let beats = vec![("cp-2".to_string(), fixture::at(-48))];
        app.cluster.apply(ClusterEvent::NodeLeases(beats));
        let mut lease = app.cluster.leases["kube-controller-manager"].clone();
        // Its holder stopped renewing 20 s ago: no node controller runs.
        lease.renew_time = Some(fixture::at(-20));
        app.cluster.apply(ClusterEvent::LeaseUpsert(lease.clone()));
        let buf = screen(&mut app, 200, 40);
        let row = node_row(&buf, "cp-2");
        let waits = "silent 48s, NotReady 50s after a controller-manager takes over";
        assert!(row.contains(waits), "{row}");
        lease.holder_identity = Some("cp-3_9d2e".into());
        (lease.acquire_time, lease.renew_time) = (Some(fixture::at(-5)), Some(fixture::at(-1)));
        app.cluster.apply(ClusterEvent::LeaseUpsert(lease));
        let buf = screen(&mut app, 200, 40);
        let row = node_row(&buf, "cp-2");
        assert!(
            row.contains("silent 48s, NotReady in 45s (grace restarted at takeover)"),
            "{row}"
        );
    }

    #[test]
    fn the_filter_narrows_rows_and_shows_in_the_title() {
        let mut app = fixture::app();
        app.ui.filter = "cp".into();
        app.ui.filter_editing = true;
        let buf = screen(&mut app, 100, 30);
        assert!(find(&buf, "/cp█").is_some(), "{}", text(&buf));
        assert!(find(&buf, "3 match").is_some());
        assert!(find(&buf, "cp-3").is_some());
        assert!(find(&buf, "worker-1").is_none());

        app.ui.filter = "nope".into();
        app.ui.filter_editing = false;
        let buf = screen(&mut app, 100, 30);
        assert!(find(&buf, "/nope ").is_some());
        assert!(find(&buf, "no node name contains \"nope\"").is_some());
    }

    #[test]
    fn columns_give_way_ip_first_then_age_then_version() {
        let header = |w| {
            let buf = screen(&mut fixture::app(), w, 30);
            let (_, y) = find(&buf, "NAME").unwrap();
            text(&buf).lines().nth(usize::from(y)).unwrap().to_string()
        };
        let wide = header(140);
        assert!(
            wide.contains("VERSION IP") && wide.contains("AGE"),
            "{wide}"
        );
        let medium = header(100);
        assert!(
            medium.contains("AGE") && !medium.contains(" IP "),
            "{medium}"
        );
        let narrow = header(80);
        assert!(
            narrow.contains("VERSION") && !narrow.contains("AGE"),
            "{narrow}"
        );
        let tiny = header(60);
        assert!(tiny.contains("PODS") && !tiny.contains("VERSION"), "{tiny}");
    }

    #[test]
    fn the_selection_is_highlighted_dimmer_without_focus() {
        let mut app = fixture::app();
        app.ui.nodes.selected = 1;
        let buf = screen(&mut app, 100, 30);
        assert_eq!(style_of(&buf, "cp-2     cp").bg, Some(Color::Blue));
        assert_eq!(style_of(&buf, "cp-1     cp").bg, Some(Color::Reset));
        app.ui.focus = Pane::Etcd;
        let buf = screen(&mut app, 100, 30);
        assert_eq!(style_of(&buf, "cp-2     cp").bg, Some(Color::Indexed(237)));
    }

    #[test]
    fn five_thousand_nodes_draw_only_the_window() {
        let mut app = fixture::app();
        for i in 3..=5_000 {
            let name = format!("worker-{i}");
            app.cluster
                .nodes
                .upsert(fixture::node(&name, false, "10.1.0.1", 60));
        }
        app.ui.nodes.selected = 4_000;
        let buf = screen(&mut app, 100, 30);
        // 3 masters first, so index 4000 is worker-3998; it is in view, the start is not.
        assert!(find(&buf, "worker-3998").is_some(), "{}", text(&buf));
        assert!(find(&buf, "worker-1 ").is_none());
        assert!(find(&buf, " Nodes 5003/5003 ready ").is_some());
        // 28 body rows: 7 to the timeline (its 5 entries), 6 to the endpoint below the
        // nodes, 2 borders, 1 header.
        let rows = 12;
        assert_eq!(app.ui.page, rows, "page = visible node rows");
        assert_eq!(app.ui.nodes.offset, 4_000 + 1 - rows);
    }
}
