//! Quitting the lab's cockpit mid-drill, with the real binary in tmux: the fault is
//! restored, the report written and marked interrupted, and where it went is said on the
//! normal screen once the terminal is handed back.

use crate::support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::tmux::Tmux;

/// The screen with wrapped lines joined (the report's path is longer than a row).
fn joined(tmux: &Tmux) -> String {
    let out = tmux
        .cmd(&["capture-pane", "-p", "-J", "-t", "e2e"])
        .output()
        .expect("capture-pane");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn file(dir: &Path, ext: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    assert_eq!(found.len(), 1, "one .{ext} report: {found:?}");
    found[0].clone()
}

/// Starts a power drill in the lab's cockpit, presses `quit` while the fault is in place,
/// and checks what a person sees and what was written.
fn quit_mid_drill(name: &str, quit: &str) {
    let bin = env!("CARGO_BIN_EXE_hatui");
    let dir = std::env::temp_dir().join(format!("hatui-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // After quitting, the shell prints a marker: proof the terminal was handed back.
    let tmux = Tmux::start(
        name,
        &format!(
            "cd {} && {bin} lab --seed 5; echo HATUI-EXITED $?; sleep 60",
            dir.display()
        ),
        140,
        45,
    );
    tmux.wait_for("the lab cockpit", Duration::from_secs(20), |s| {
        s.contains('★')
    });
    tmux.keys("d");
    tmux.wait_for("the drill's plan", Duration::from_secs(10), |s| {
        s.contains("Drill: power cut of") && s.contains("d starts it")
    });
    tmux.keys("d");
    let screen = tmux.wait_for("the fault in place", Duration::from_secs(10), |s| {
        s.contains("fault in place · Esc restores now")
    });
    let target = screen
        .split("power cut of ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("the drill's target")
        .to_string();
    tmux.keys(quit);
    tmux.wait_for("hatui to exit", Duration::from_secs(20), |s| {
        s.contains("HATUI-EXITED")
    });
    let screen = joined(&tmux);
    assert!(screen.contains("HATUI-EXITED 0"), "{screen}");
    // The terminal is restored: off the alternate screen, the cockpit gone.
    let alt = tmux
        .cmd(&["display-message", "-p", "-t", "e2e", "#{alternate_on}"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&alt.stdout).trim(), "0", "{screen}");
    assert!(!screen.contains("fault in place"), "{screen}");

    let reports = dir.join("hatui-reports");
    let (json, md, svg) = (
        file(&reports, "json"),
        file(&reports, "md"),
        file(&reports, "svg"),
    );
    let said = screen
        .lines()
        .find(|l| l.starts_with("hatui: the drill was interrupted by quitting"))
        .unwrap_or_else(|| panic!("a line says what happened:\n{screen}"));
    assert!(said.contains(&format!("{target} restored")), "{said}");
    for f in [&json, &md, &svg] {
        let name = f.file_name().unwrap().to_str().unwrap();
        assert!(said.contains(&format!("./hatui-reports/{name}")), "{said}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["fault"]["target"], target.as_str(), "{report}");
    assert_eq!(
        report["interrupted"]["by"], "quitting the cockpit",
        "{report}"
    );
    assert_eq!(report["interrupted"]["during"], "fault", "{report}");
    assert_eq!(report["recovery"]["restored"], true, "{report}");
    let restore = report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["text"].as_str().unwrap().starts_with("restore: "));
    assert!(restore, "the restore ran: {report}");
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(
        text.contains("**Interrupted** at ") && text.contains("(quitting the cockpit)"),
        "{text}"
    );
    assert!(
        std::fs::read_to_string(&svg)
            .unwrap()
            .contains("restore (interrupted)"),
        "the chart marks the early restore"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn q_mid_drill_restores_reports_interrupted_and_says_where() {
    quit_mid_drill("drill-q", "q");
}

#[test]
fn ctrl_c_mid_drill_restores_reports_interrupted_and_says_where() {
    quit_mid_drill("drill-ctrl-c", "C-c");
}
