//! Whole-screen snapshots of the lab scenes (the same states as the README screenshots),
//! plus the facts each scene exists to show, asserted outright.

use hatui::scenes::SCENES;
use hatui_testkit::screen::text;

fn scene(name: &str) -> (hatui::scenes::Driver, String) {
    let s = SCENES
        .iter()
        .find(|s| s.name == name)
        .expect("scene exists");
    let mut driver = s.driver();
    let screen = text(&driver.render(s.width, s.height));
    (driver, screen)
}

#[test]
fn every_scene_matches_its_snapshot() {
    for s in SCENES {
        insta::assert_snapshot!(s.name, text(&s.render()));
    }
}

#[test]
fn every_scene_is_labelled_as_the_lab() {
    for s in SCENES {
        let screen = text(&s.render());
        let title = screen.lines().next().unwrap_or_default();
        assert!(
            title.contains("LAB"),
            "{}: title bar without LAB: {title:?}",
            s.name
        );
    }
}

#[test]
fn healthy_cluster_tolerates_one_failure() {
    let (d, screen) = scene("healthy");
    assert!(screen.contains("3/3 healthy"), "{screen}");
    assert!(screen.contains("tolerates 1 more failure"), "{screen}");
    let leader = d.lab().etcd_leader().expect("a leader");
    assert!(
        screen.contains(&format!("★ {leader}")),
        "leader {leader} not marked:\n{screen}"
    );
}

#[test]
fn powered_off_leader_is_replaced_and_the_timeline_says_so() {
    let (d, screen) = scene("leader-powered-off");
    let new_leader = d.lab().etcd_leader().expect("re-elected");
    assert!(screen.contains(&format!("★ {new_leader}")), "{screen}");
    assert!(
        screen.contains(&format!("→ {new_leader}")),
        "no timeline entry:\n{screen}"
    );
    assert!(screen.contains("2/3 healthy"), "{screen}");
}

#[test]
fn quorum_lost_is_shown_loudly() {
    let (d, screen) = scene("quorum-lost");
    assert_eq!(d.lab().etcd_leader(), None);
    assert!(screen.contains("QUORUM LOST"), "{screen}");
}

#[test]
fn kubelet_stop_leaves_the_control_plane_running() {
    let (d, screen) = scene("kubelet-stopped");
    let leader = d.lab().etcd_leader().expect("leader kept");
    let row = screen
        .lines()
        .find(|l| {
            l.trim_start_matches(['┃', '│'])
                .starts_with(&format!("{leader} "))
        })
        .unwrap_or_default();
    assert!(
        row.contains("Unknown") || row.contains("NotReady"),
        "{row:?}\n{screen}"
    );
    assert!(screen.contains("3/3 healthy"), "{screen}");
}

#[test]
fn expired_certificate_key_says_how_to_renew_it() {
    let (_, screen) = scene("cert-key-expired");
    assert!(screen.contains("upload-certs"), "{screen}");
}

#[test]
fn the_drill_pane_shows_the_measured_failover_in_seconds_since_the_fault() {
    let (d, screen) = scene("drill-power");
    let leader = d.lab().etcd_leader().expect("re-elected");
    assert!(screen.contains("Drill  power cut of cp-1"), "{screen}");
    assert!(screen.contains("answered     "), "the sparkline:\n{screen}");
    // The re-election is in the etcd pane; the timeline's latest entries are the leases
    // and the endpoint's outages (requests to the dead master wait 1 s each).
    assert!(
        screen.contains(&format!("etcd leader {leader} · term")),
        "{screen}"
    );
    assert!(screen.contains("lease taken by"), "{screen}");
    assert!(
        screen.contains("API through the endpoint failing: via cp-1: timed out"),
        "{screen}"
    );
}
