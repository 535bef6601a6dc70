//! Whole-screen tests on the fixture; each pane's own tests live in its file.

use ratatui::style::Color;

use super::fixture::{self, find, render, screen, style_of, text};
use super::{Ask, stack};
use crate::app::Pane;
use crate::keys::BINDINGS;
use crate::model::SourceKind;

#[test]
fn the_lab_is_labelled_loudly_and_a_live_cluster_is_not() {
    let mut app = fixture::app();
    let buf = screen(&mut app, 100, 30);
    assert_eq!(find(&buf, "LAB · simulated cluster").map(|p| p.1), Some(0));
    assert_eq!(style_of(&buf, "LAB").bg, Some(Color::Magenta));
    assert!(text(&buf).lines().next().unwrap().contains("12:00:00 UTC"));

    app.cluster.source = SourceKind::Live;
    let buf = screen(&mut app, 100, 30);
    assert!(find(&buf, "LAB").is_none(), "{}", text(&buf));
    assert!(find(&buf, "10.0.0.10:6443").is_some());
}

#[test]
fn the_lab_badge_survives_a_narrow_terminal() {
    for width in [10, 30] {
        let buf = screen(&mut fixture::app(), width, 10);
        assert_eq!(find(&buf, " LAB ").map(|p| p.1), Some(0), "{}", text(&buf));
    }
}

#[test]
fn every_pane_title_shows_at_80x24() {
    let buf = screen(&mut fixture::app(), 80, 24);
    for title in [
        " Nodes ",
        " Timeline ",
        " Endpoint ",
        " etcd ",
        " Leases ",
        " TTLs ",
    ] {
        assert!(
            find(&buf, title).is_some(),
            "{title} missing:\n{}",
            text(&buf)
        );
    }
    assert_eq!(find(&buf, "q quit").map(|p| p.1), Some(23));
    // Still legible at the minimum size: the quorum and the certificate key.
    assert!(find(&buf, "3/3 healthy").is_some());
    assert!(find(&buf, "certificate key  1h34m").is_some());
}

#[test]
fn tiny_and_odd_sizes_draw_without_panicking() {
    let mut app = fixture::app();
    app.ui.filter_editing = true;
    app.ui.flash = Some("a flash".into());
    for help in [false, true] {
        app.ui.help = help;
        for (w, h) in [
            (0, 0),
            (1, 1),
            (10, 5),
            (80, 0),
            (0, 24),
            (20, 3),
            (40, 10),
            (300, 90),
        ] {
            render(&mut app, w, h);
        }
    }
}

#[test]
fn the_focused_pane_has_a_highlighted_border() {
    let mut app = fixture::app();
    app.ui.focus = Pane::Etcd;
    let buf = screen(&mut app, 100, 30);
    let (x, y) = find(&buf, " etcd ").unwrap();
    assert_eq!(buf[(x - 1, y)].symbol(), "┏");
    assert_eq!(buf[(x - 1, y)].fg, Color::Cyan);
    let (x, y) = find(&buf, " Nodes ").unwrap();
    assert_eq!(buf[(x - 1, y)].symbol(), "╭");
    assert_eq!(buf[(x - 1, y)].fg, Color::DarkGray);
}

#[test]
fn the_key_bar_comes_from_the_key_table() {
    let mut app = fixture::app();
    let bar = |app: &mut crate::app::App| {
        let buf = screen(app, 120, 30);
        text(&buf).lines().last().unwrap().trim_end().to_string()
    };
    assert!(bar(&mut app).starts_with("q quit  ? help  Tab pane"));
    assert!(bar(&mut app).contains("K kubelet"));
    app.cluster.source = SourceKind::Live;
    assert!(
        !bar(&mut app).contains("kubelet"),
        "lab keys only in the lab"
    );

    app.ui.flash = Some("no node selected: Tab to Nodes, then j/k".into());
    assert_eq!(bar(&mut app), " no node selected: Tab to Nodes, then j/k");
    app.ui.flash = None;
    app.ui.filter_editing = true;
    app.ui.filter = "cp".into();
    assert_eq!(bar(&mut app), "filter: cp█  Enter keep · Esc clear");
}

#[test]
fn help_lists_every_binding_that_applies() {
    for lab in [true, false] {
        let mut app = fixture::app();
        if !lab {
            app.cluster.source = SourceKind::Live;
        }
        app.ui.help = true;
        let buf = screen(&mut app, 120, 40);
        for b in BINDINGS {
            let shown = find(&buf, b.help).is_some();
            assert_eq!(
                shown,
                b.applies(app.here()),
                "{} (lab {lab}):\n{}",
                b.help,
                text(&buf)
            );
            if b.applies(app.here()) {
                assert!(find(&buf, &b.keys_label()).is_some(), "{}", b.keys_label());
            }
        }
        assert_eq!(
            find(&buf, "kubelet stop ≠ control plane down").is_some(),
            lab
        );
    }
}

#[test]
fn panes_share_a_column_by_priority() {
    let ask = |floor, want| Ask { floor, want };
    let asks = [ask(3, 6), ask(3, 6), ask(3, 4)];
    // Room for all: each gets what it wants, the spare pane the rest.
    assert_eq!(stack(30, asks, [0, 2, 1], 2), [6, 6, 18]);
    // Short: everyone gets a floor, then etcd and the TTLs grow first.
    assert_eq!(stack(13, asks, [0, 2, 1], 2), [6, 3, 4]);
    // Very short: etcd first, then the TTLs, then nothing.
    assert_eq!(stack(5, asks, [0, 2, 1], 2), [3, 0, 2]);
    // Nodes and the endpoint get their floors, then the nodes all their rows.
    assert_eq!(stack(15, [ask(6, 8), ask(6, 12)], [0, 1], 0), [8, 7]);
}

#[test]
fn the_fixture_renders_to_svg() {
    let t = render(&mut fixture::app(), 100, 30);
    let svg = hatui_testkit::svg::buffer_to_svg(t.backend().buffer());
    assert!(svg.contains("LAB · simulated cluster"));
    assert!(svg.contains(r##"fill="#bc3fbc""##), "the badge's magenta");
}

#[test]
fn fixture_100x30() {
    insta::assert_snapshot!(render(&mut fixture::app(), 100, 30).backend());
}

#[test]
fn fixture_80x24() {
    insta::assert_snapshot!(render(&mut fixture::app(), 80, 24).backend());
}

#[test]
fn a_bare_lab_says_no_api_and_no_etcd_yet_instead_of_empty_panes() {
    use crate::lab::{Lab, LabConfig};
    use crate::model::ClusterState;
    let lab = Lab::bare(LabConfig::default());
    let mut cluster = ClusterState::new(SourceKind::Lab, lab.config().endpoint.clone(), lab.now());
    for ev in lab.full_state() {
        cluster.apply(ev);
    }
    let mut app = crate::app::App::new(cluster);
    let buf = screen(&mut app, 160, 40);
    let all = text(&buf);
    assert!(
        find(&buf, "no data: no API yet: kubeadm init has not run").is_some(),
        "{all}"
    );
    assert!(find(&buf, "no etcd yet").is_some(), "{all}");
    assert!(find(&buf, "no nodes yet").is_some(), "{all}");
    assert!(find(&buf, "healthy").is_none(), "{all}");
}
