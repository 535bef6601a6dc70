//! The real binary in a real terminal: tmux runs `hatui lab`, we read the screen and type
//! keys as an operator would (and `hatui --inventory` on real `sshd`s).

use crate::wizard_ssh_fleet;

use std::process::Command;
use std::time::Duration;

use crate::support::tmux::Tmux;

/// The member marked with the leader star in the etcd pane.
fn leader(screen: &str) -> Option<String> {
    let at = screen.find('★')?;
    let rest = &screen[at + '★'.len_utf8()..];
    rest.split_whitespace().next().map(str::to_string)
}

#[test]
fn powering_off_the_leader_moves_leadership_and_the_timeline_says_so() {
    let bin = env!("CARGO_BIN_EXE_hatui");
    // After quitting, the shell prints a marker: proof the terminal was handed back.
    let tmux = Tmux::start(
        "leader",
        &format!("{bin} lab --seed 11; echo HATUI-EXITED $?; sleep 30"),
        120,
        36,
    );

    let screen = tmux.wait_for(
        "the lab cockpit with an etcd leader",
        Duration::from_secs(20),
        |s| s.contains("LAB") && leader(s).is_some(),
    );
    let first = leader(&screen).unwrap();
    assert!(first.starts_with("cp-"), "leader {first:?} on\n{screen}");

    tmux.keys("L");
    tmux.keys("P");
    let screen = tmux.wait_for("a new etcd leader", Duration::from_secs(20), |s| {
        leader(s).is_some_and(|l| l != first)
    });
    let second = leader(&screen).unwrap();
    let entry = format!("etcd leader {first} → {second}");
    tmux.wait_for(
        "the leader move in the timeline",
        Duration::from_secs(5),
        |s| s.contains(&entry),
    );

    tmux.keys("q");
    let screen = tmux.wait_for("hatui to exit", Duration::from_secs(10), |s| {
        s.contains("HATUI-EXITED")
    });
    assert!(
        screen.contains("HATUI-EXITED 0"),
        "exit status not 0:\n{screen}"
    );
    assert!(
        !screen.contains("LAB"),
        "cockpit still on screen after quit:\n{screen}"
    );
}

/// The Nodes pane's row for `name` (the pane is on the left, so the row starts there).
fn node_row<'a>(screen: &'a str, name: &str) -> Option<&'a str> {
    let start = [format!("┃{name} "), format!("│{name} ")];
    screen
        .lines()
        .find(|l| start.iter().any(|s| l.starts_with(s.as_str())))
}

/// `X` deletes cp-2's Node: it stays listed as deleted, `/cp-2` finds it, and `R` pressed
/// with another pane focused restores it (the node last faulted).
#[test]
fn x_then_r_from_another_pane_brings_a_deleted_node_back() {
    let bin = env!("CARGO_BIN_EXE_hatui");
    let tmux = Tmux::start(
        "xr",
        &format!("{bin} lab --seed 11; echo HATUI-EXITED $?; sleep 30"),
        120,
        40,
    );
    tmux.wait_for("the lab cockpit", Duration::from_secs(20), |s| {
        s.contains("LAB") && node_row(s, "cp-2").is_some_and(|r| r.contains("Ready"))
    });
    tmux.keys("j");
    tmux.keys("X");
    // One screen, read whole (a capture may fall between two writes of a frame).
    tmux.wait_for("cp-2 listed as deleted", Duration::from_secs(10), |s| {
        node_row(s, "cp-2").is_some_and(|r| r.contains("deleted"))
            && s.contains("1 deleted")
            && s.contains("node cp-2 deleted")
    });

    tmux.keys("/cp-2");
    tmux.wait_for("the filter finding it", Duration::from_secs(5), |s| {
        s.contains("1 match") && node_row(s, "cp-2").is_some_and(|r| r.contains("deleted"))
    });
    tmux.keys("Escape");
    // Away from the Nodes pane, R acts on the node last faulted.
    tmux.keys("Tab");
    tmux.keys("Tab");
    tmux.wait_for("the Leases pane focused", Duration::from_secs(5), |s| {
        s.contains("┏ Leases")
    });
    tmux.keys("R");
    tmux.wait_for("cp-2 registered again", Duration::from_secs(10), |s| {
        node_row(s, "cp-2").is_some_and(|r| !r.contains("deleted"))
            && !s.contains("1 deleted")
            && s.contains("LAB: cp-2: restored")
    });

    tmux.keys("q");
    let screen = tmux.wait_for("hatui to exit", Duration::from_secs(10), |s| {
        s.contains("HATUI-EXITED")
    });
    assert!(screen.contains("HATUI-EXITED 0"), "{screen}");
}

#[test]
fn sigterm_restores_the_terminal() {
    let bin = env!("CARGO_BIN_EXE_hatui");
    let tmux = Tmux::start(
        "sigterm",
        &format!("{bin} lab --seed 3; echo HATUI-EXITED $?; sleep 30"),
        100,
        30,
    );
    tmux.wait_for("the lab cockpit", Duration::from_secs(20), |s| {
        s.contains("LAB")
    });
    let shell = tmux.pane_pid();
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
    let hatui = children
        .split_whitespace()
        .next()
        .expect("hatui runs under the pane's shell");
    assert!(
        Command::new("kill")
            .args(["-TERM", hatui])
            .status()
            .unwrap()
            .success()
    );
    let screen = tmux.wait_for("hatui to exit on SIGTERM", Duration::from_secs(10), |s| {
        s.contains("HATUI-EXITED")
    });
    assert!(screen.contains("HATUI-EXITED 0"), "{screen}");
    assert!(!screen.contains("LAB"), "cockpit left on screen:\n{screen}");
}

/// A workshop in one sitting: the wizard builds the bare lab, then `d` drills that same
/// cluster and its report says the wizard built it.
#[test]
fn the_wizard_builds_a_bare_lab_while_the_cockpit_watches_then_d_drills_it() {
    let bin = env!("CARGO_BIN_EXE_hatui");
    let dir = std::env::temp_dir().join(format!("hatui-e2e-workshop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tmux = Tmux::start(
        "wizard",
        &format!(
            "cd {} && {bin} lab --bare --speed 1000; echo HATUI-EXITED $?; sleep 30",
            dir.display()
        ),
        140,
        45,
    );
    let screen = tmux.wait_for("the bare lab", Duration::from_secs(20), |s| {
        s.contains("w opens the wizard") || s.contains("w wizard")
    });
    assert!(screen.contains("no API yet"), "says so honestly:\n{screen}");
    assert!(screen.contains("no etcd yet"), "{screen}");

    tmux.keys("w");
    tmux.wait_for("the wizard's plan", Duration::from_secs(10), |s| {
        s.contains("Wizard") && s.contains("· join-control-plane/cp-3")
    });
    tmux.keys("a");
    let screen = tmux.wait_for("the plan verified", Duration::from_secs(60), |s| {
        s.contains(" verified ")
    });
    assert!(screen.contains("10/10 done"), "{screen}");
    assert!(screen.contains("3/3 healthy"), "3 etcd voters:\n{screen}");
    assert!(screen.contains("Nodes 5/5 ready"), "{screen}");
    for lease in ["kube-scheduler", "kube-controller-manager"] {
        let held = screen
            .lines()
            .any(|l| l.contains(lease) && l.contains("→ cp-"));
        assert!(held, "{lease} held:\n{screen}");
    }
    assert!(screen.contains("d plans the failover drill"), "{screen}");

    // The same cluster, drilled: d shows the plan, d starts it.
    tmux.keys("d");
    tmux.wait_for("the drill's plan", Duration::from_secs(10), |s| {
        s.contains("Drill: power cut of") && s.contains("d starts it")
    });
    tmux.keys("d");
    let screen = tmux.wait_for("the drill done", Duration::from_secs(90), |s| {
        s.contains("done · Esc closes")
            && s.contains("etcd replaced its leader")
            && s.contains("report: ./hatui-reports/drill-power-")
    });
    assert!(screen.contains("LAB"), "still the lab:\n{screen}");
    let json = std::fs::read_dir(dir.join("hatui-reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("the JSON report");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["lab"]["built_by"], "wizard", "{report}");
    let steps = report["lab"]["wizard_steps"].as_array().expect("the steps");
    assert_eq!(steps.len(), 10, "{report}");

    tmux.keys("Escape");
    tmux.wait_for("the wizard back", Duration::from_secs(5), |s| {
        s.contains("Wizard") && s.contains("10/10 done")
    });
    tmux.keys("q");
    let screen = tmux.wait_for("hatui to exit", Duration::from_secs(10), |s| {
        s.contains("HATUI-EXITED")
    });
    assert!(screen.contains("HATUI-EXITED 0"), "{screen}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn d_runs_a_failover_drill_in_the_cockpit_and_writes_its_report() {
    let bin = env!("CARGO_BIN_EXE_hatui");
    let dir = std::env::temp_dir().join(format!("hatui-e2e-drill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tmux = Tmux::start(
        "drill",
        &format!(
            "cd {} && {bin} lab --seed 5 --speed 100; echo HATUI-EXITED $?; sleep 30",
            dir.display()
        ),
        140,
        45,
    );
    tmux.wait_for("the lab cockpit", Duration::from_secs(20), |s| {
        leader(s).is_some()
    });
    tmux.keys("d");
    tmux.wait_for("the drill's plan", Duration::from_secs(10), |s| {
        s.contains("Drill: power cut of") && s.contains("d starts it")
    });
    tmux.keys("d");
    // The whole result, not only the title: a capture can fall between two rows' updates.
    let screen = tmux.wait_for("the drill done", Duration::from_secs(60), |s| {
        s.contains("done · Esc closes")
            && s.contains("etcd replaced its leader")
            && s.contains("report: ./hatui-reports/drill-power-")
    });
    assert!(screen.contains("etcd replaced its leader"), "{screen}");
    assert!(
        screen.contains("report: ./hatui-reports/drill-power-"),
        "{screen}"
    );
    let reports: Vec<_> = std::fs::read_dir(dir.join("hatui-reports"))
        .unwrap()
        .collect();
    assert_eq!(reports.len(), 3, "JSON, Markdown and the chart");
    tmux.keys("Escape");
    tmux.wait_for("the timeline back", Duration::from_secs(5), |s| {
        s.contains("Timeline")
    });
    tmux.keys("q");
    tmux.wait_for("hatui to exit", Duration::from_secs(10), |s| {
        s.contains("HATUI-EXITED 0")
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// `hatui --inventory FILE` on five real `sshd`s (127.0.0.94-98, the fleet of
/// tests/support/fleet.rs), worker-1's host key unknown: `w`, `a`, and `y` when the pane
/// asks about it.
#[test]
fn w_then_a_builds_the_cluster_on_real_hosts_and_y_accepts_an_unknown_host_key() {
    use wizard_ssh_fleet::{Host, Site};
    const HOSTS: [Host; 5] = [
        ("cp-1", "127.0.0.94", true),
        ("cp-2", "127.0.0.95", true),
        ("cp-3", "127.0.0.96", true),
        ("worker-1", "127.0.0.97", false),
        ("worker-2", "127.0.0.98", false),
    ];
    let site = Site::on(&HOSTS);
    let line = site.forget_host_key("127.0.0.97");
    let one = site.dir.path().join("worker-1.key");
    std::fs::write(&one, format!("{line}\n")).unwrap();
    let out = Command::new("ssh-keygen").arg("-lf").arg(&one).output();
    let said = String::from_utf8(out.expect("ssh-keygen").stdout).unwrap();
    let sha = said.split_whitespace().nth(1).unwrap().to_string();
    let bin = env!("CARGO_BIN_EXE_hatui");
    let xdg = site.dir.path().join("xdg");
    let command = format!(
        "XDG_STATE_HOME={} {bin} --inventory {}; echo HATUI-EXITED $?; sleep 30",
        xdg.display(),
        site.inventory.display()
    );
    let tmux = Tmux::start("inventory", &command, 140, 45);
    let screen = tmux.wait_for("the cockpit", Duration::from_secs(20), |s| {
        (s.contains("w opens the wizard") || s.contains("w wizard")) && s.contains("no API yet")
    });
    assert!(screen.contains("k8s-api.example.internal:6443"), "{screen}");

    tmux.keys("w");
    tmux.wait_for("the wizard's plan", Duration::from_secs(20), |s| {
        s.contains("Wizard") && s.contains("· join-control-plane/cp-3")
    });
    tmux.keys("a");
    let screen = tmux.wait_for("the host key question", Duration::from_secs(60), |s| {
        s.contains("offers a host key no known_hosts file has")
    });
    assert!(screen.contains("root@127.0.0.97:"), "{screen}");
    // The fingerprint as `ssh-keygen -lf` prints it (its start: the pane may cut it).
    assert!(screen.contains(&sha[..30]), "{sha} not on\n{screen}");
    tmux.keys("y");
    let screen = tmux.wait_for("the plan verified", Duration::from_secs(120), |s| {
        s.contains(" verified ")
    });
    assert!(screen.contains("10/10 done"), "{screen}");
    assert!(screen.contains("Nodes 5/5 ready"), "{screen}");
    let known = std::fs::read_to_string(site.known_hosts()).unwrap();
    assert!(known.contains("[127.0.0.97]:"), "recorded:\n{known}");

    tmux.keys("q");
    let screen = tmux.wait_for("hatui to exit", Duration::from_secs(10), |s| {
        s.contains("HATUI-EXITED")
    });
    assert!(screen.contains("HATUI-EXITED 0"), "{screen}");
}

/// A fault during the build, in the cockpit: cp-1 powered off while cp-2 joins, the join
/// meets what a real cluster does (no API, or a learner that cannot be promoted), and
/// after `R` (and Enter if the step had failed) the join finishes.
#[test]
fn a_master_powered_off_during_a_join_and_restored_lets_the_join_finish() {
    let bin = env!("CARGO_BIN_EXE_hatui");
    let tmux = Tmux::start(
        "joinfault",
        &format!(
            "{bin} lab --bare --control-planes 3 --workers 0 --speed 20 --boot-time 5s; \
             echo HATUI-EXITED $?; sleep 30"
        ),
        140,
        45,
    );
    tmux.wait_for("the bare lab", Duration::from_secs(20), |s| {
        s.contains("w opens the wizard") || s.contains("w wizard")
    });
    tmux.keys("w");
    tmux.wait_for("the wizard's plan", Duration::from_secs(10), |s| {
        s.contains("· join-control-plane/cp-2")
    });
    for step in ["preflight", "load-balancer", "init", "cni"] {
        tmux.keys("Enter");
        tmux.wait_for(step, Duration::from_secs(60), |s| {
            s.contains(&format!("✓ {step} "))
        });
    }
    tmux.keys("Enter");
    tmux.wait_for("cp-2's join running", Duration::from_secs(10), |s| {
        s.contains("join-control-plane/cp-2: running")
    });
    // cp-1 is the only node, so the selected one.
    tmux.keys("P");
    let screen = tmux.wait_for("cp-1 off", Duration::from_secs(10), |s| {
        s.contains("cp-1: power cut") || s.contains("the master is powered off")
    });
    assert!(screen.contains("LAB"), "{screen}");
    std::thread::sleep(Duration::from_secs(1));
    tmux.keys("R");
    // Back: booted, its etcd member leading again, its apiserver behind the endpoint.
    tmux.wait_for("cp-1 back", Duration::from_secs(60), |s| {
        (s.contains("1/1 healthy") || s.contains("2/2 healthy")) && s.contains("LB   ● ready")
    });
    let screen = tmux.wait_for("the join ended", Duration::from_secs(60), |s| {
        s.contains("✓ join-control-plane/cp-2 ") || s.contains("join-control-plane/cp-2: FAILED")
    });
    if !screen.contains("✓ join-control-plane/cp-2 ") {
        // It failed on what a real cluster does without cp-1; cp-1 is back: run it again.
        tmux.keys("Enter");
    }
    let screen = tmux.wait_for(
        "the join done after the restore",
        Duration::from_secs(90),
        |s| s.contains("✓ join-control-plane/cp-2 ") && s.contains("2/2 healthy"),
    );
    assert!(screen.contains("2/2 healthy"), "{screen}");
    tmux.keys("q");
    tmux.wait_for("hatui to exit", Duration::from_secs(10), |s| {
        s.contains("HATUI-EXITED 0")
    });
}
