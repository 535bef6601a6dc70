//! The node list's tests (beside it, so `nodes.rs` stays about drawing).

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
    let mut pods = app.cluster.static_pods["cp-2"].clone();
    for p in [
        &mut pods.apiserver,
        &mut pods.etcd,
        &mut pods.scheduler,
        &mut pods.controller_manager,
    ] {
        p.state = PodState::NotReady;
    }
    pods.apiserver.restarts = 3;
    // Seen rise: the note says so for 10 minutes, then lets it go.
    app.cluster
        .apply(crate::model::ClusterEvent::StaticPods(pods));
    let buf = screen(&mut app, 200, 40);
    assert!(
        text(&buf).contains("↳ not ready (last seen running) restarts A:3"),
        "{}",
        text(&buf)
    );
    assert_eq!(
        style_of(&buf, "not ready (last seen running)").fg,
        Some(Color::Yellow)
    );
    app.cluster
        .apply(crate::model::ClusterEvent::Clock(fixture::at(601)));
    let buf = screen(&mut app, 200, 40);
    let text = text(&buf);
    assert!(
        text.contains("not ready (last seen running)") && !text.contains("restarts"),
        "{text}"
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
        row("cp-2").contains("10.0.0.12 3d4h  silent 18s, NotReady in 32s"),
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
    let waits = "↳ silent 48s, NotReady 50s after a controller-manager takes over";
    assert!(text(&buf).contains(waits), "{}", text(&buf));
    lease.holder_identity = Some("cp-3_9d2e".into());
    (lease.acquire_time, lease.renew_time) = (Some(fixture::at(-5)), Some(fixture::at(-1)));
    app.cluster.apply(ClusterEvent::LeaseUpsert(lease));
    let buf = screen(&mut app, 200, 40);
    assert!(
        text(&buf).contains("↳ silent 48s, NotReady in 45s (grace restarted at takeover)"),
        "{}",
        text(&buf)
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
fn columns_give_way_ip_first_then_version_then_age_and_the_header_says_so() {
    let header = |w| {
        let buf = screen(&mut fixture::app(), w, 30);
        let (_, y) = find(&buf, "NAME").unwrap();
        text(&buf).lines().nth(usize::from(y)).unwrap().to_string()
    };
    let wide = header(140);
    assert!(
        wide.contains("STATUS FOR") && wide.contains("VERSION IP") && wide.contains("AGE"),
        "{wide}"
    );
    assert!(!wide.contains('…'), "{wide}");
    let medium = header(100);
    assert!(
        medium.contains("AGE") && !medium.contains(" IP ") && medium.contains('…'),
        "{medium}"
    );
    let narrow = header(80);
    assert!(
        narrow.contains("FOR") && !narrow.contains("AGE") && narrow.contains('…'),
        "{narrow}"
    );
    let tiny = header(60);
    assert!(tiny.contains("PODS") && !tiny.contains("VERSION"), "{tiny}");
}

/// AGE is kubectl's (since the Node was created); FOR is how long in its STATUS.
#[test]
fn age_counts_from_creation_and_for_from_the_last_status_change() {
    let mut app = fixture::app();
    let mut node = app.cluster.nodes.get("cp-2").unwrap().clone();
    node.created = Some(fixture::at(-3 * 86_400));
    node.ready_since = Some(fixture::at(-18));
    app.cluster.nodes.upsert(node);
    let buf = screen(&mut app, 200, 40);
    let row = node_row(&buf, "cp-2");
    assert!(row.contains("Ready  18s"), "{row}");
    assert!(row.contains("10.0.0.12 3d"), "{row}");
}

/// A note never costs the other nodes their columns: it goes beside them when it fits
/// whole, else on a row of its own under its node.
#[test]
fn a_note_keeps_every_column_and_takes_its_own_row_when_narrow() {
    use crate::model::ClusterEvent;
    let mut app = fixture::app();
    let beats = vec![("cp-2".to_string(), fixture::at(-18))];
    app.cluster.apply(ClusterEvent::NodeLeases(beats));
    let buf = screen(&mut app, 140, 30);
    let text = text(&buf);
    let row = node_row(&buf, "cp-1");
    assert!(
        row.contains("v1.33.2") && row.contains("10.0.0.11"),
        "{text}"
    );
    let below = text
        .lines()
        .skip_while(|l| !l.starts_with("┃cp-2 "))
        .nth(1)
        .unwrap_or_default();
    assert!(below.contains("↳ silent 18s, NotReady in 32s"), "{text}");
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
