//! The real binary in tmux: `hatui lab --bare --scenario dead-master` (cp-1 powered off for
//! good past its grace period, a fresh machine at its address), then `w` offers "r: replace
//! cp-1", `r` puts the replace plan in the wizard's pane and `a` runs it to three healthy
//! voters, after which nothing is offered any more.

use hatui_testkit::tmux;

use std::time::Duration;

use tmux::Tmux;

#[test]
fn w_offers_the_dead_masters_replacement_and_r_then_a_bring_back_three_voters() {
    let bin = env!("CARGO_BIN_EXE_hatui");
    let tmux = Tmux::start(
        "replace",
        &format!(
            "{bin} lab --bare --scenario dead-master --speed 1000; echo HATUI-EXITED $?; sleep 30"
        ),
        140,
        45,
    );
    let screen = tmux.wait_for(
        "the lab after the power cut",
        Duration::from_secs(30),
        |s| s.contains("LAB") && s.contains("cp-1"),
    );
    assert!(
        !screen.contains("r: replace"),
        "closed: no offer yet\n{screen}"
    );

    tmux.keys("w");
    // One frame may reach tmux in parts: wait for the pane's line and the key bar's.
    tmux.wait_for(
        "the offer, and r in the key bar",
        Duration::from_secs(10),
        |s| s.contains("r: replace cp-1. It is dead") && s.contains("r replace"),
    );

    tmux.keys("r");
    let screen = tmux.wait_for("the replace plan", Duration::from_secs(10), |s| {
        s.contains("remove-member/cp-1") && s.contains("join-control-plane/cp-1")
    });
    assert!(!screen.contains("r: replace cp-1"), "asked once:\n{screen}");

    tmux.keys("a");
    let screen = tmux.wait_for("the replacement verified", Duration::from_secs(90), |s| {
        s.contains(" verified ") && all_done(s) && s.contains("3/3 healthy")
    });
    assert!(
        !screen.contains("r: replace"),
        "nothing dead any more:\n{screen}"
    );

    tmux.keys("q");
    let screen = tmux.wait_for("hatui to exit", Duration::from_secs(10), |s| {
        s.contains("HATUI-EXITED")
    });
    assert!(screen.contains("HATUI-EXITED 0"), "{screen}");
}

/// The wizard's title says every step is done: `N/N done`.
fn all_done(screen: &str) -> bool {
    screen
        .split_whitespace()
        .zip(screen.split_whitespace().skip(1))
        .any(|(count, word)| {
            word == "done"
                && count
                    .split_once('/')
                    .is_some_and(|(a, b)| a == b && !a.is_empty())
        })
}
