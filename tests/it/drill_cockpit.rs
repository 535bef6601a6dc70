//! The drill as the cockpit's lab task runs it (`d`): planned without touching anything,
//! started, advanced with the lab's clock, interrupted (restored at once), and its report
//! written when done.

use std::time::Duration;

use hatui::drill::cockpit::{DrillCommand, DrillUpdate, Running};
use hatui::drill::{DrillFault, DrillSpec, Phase};
use hatui::lab::{Lab, LabConfig};

fn lab() -> Lab {
    Lab::new(LabConfig::new(3, 2, 4, LabConfig::default().start))
}

fn progress(update: Option<DrillUpdate>) -> Option<hatui::drill::cockpit::DrillView> {
    match update {
        Some(DrillUpdate::Progress(v)) => Some(v),
        _ => None,
    }
}

#[test]
fn the_cockpits_drill_plans_runs_and_writes_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut lab = lab();
    let mut drill = Running::new(dir.path().to_path_buf());
    let leader = lab.etcd_leader().unwrap();
    let spec = DrillSpec::new(DrillFault::Power);
    let (events, said) = drill.command(&mut lab, DrillCommand::Plan(spec.clone()));
    assert!(events.is_empty(), "planning touches nothing");
    let Some(DrillUpdate::Planned { text, .. }) = said else {
        panic!("{said:?}")
    };
    assert!(text.contains(&format!("power cut of {leader}")), "{text}");
    assert!(
        drill.advance(&mut lab, Duration::from_secs(1)).is_none(),
        "not started"
    );

    let (_, said) = drill.command(&mut lab, DrillCommand::Start(spec));
    assert_eq!(progress(said).unwrap().phase, Phase::Fault);
    assert_ne!(
        lab.etcd_leader().as_deref(),
        Some(leader.as_str()),
        "power is off"
    );
    let mut last = None;
    for _ in 0..400 {
        let Some((_, said)) = drill.advance(&mut lab, Duration::from_secs(1)) else {
            break;
        };
        last = progress(said).or(last);
    }
    let done = last.expect("progress was reported");
    assert_eq!(done.phase, Phase::Done);
    assert!(
        done.timeline
            .iter()
            .any(|e| e.text.starts_with("etcd leader")),
        "{:?}",
        done.timeline
    );
    assert!(!done.verdict.is_empty());
    assert!(done.availability.len() >= 120, "a cell a second");
    let report = done.report.unwrap();
    assert!(report.starts_with("report: "), "{report}");
    let written: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(written.len(), 3, "JSON, Markdown and the chart");
}

#[test]
fn esc_mid_drill_restores_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut lab = lab();
    let mut drill = Running::new(dir.path().to_path_buf());
    let spec = DrillSpec::new(DrillFault::Kubelet);
    drill.command(&mut lab, DrillCommand::Start(spec));
    drill.advance(&mut lab, Duration::from_secs(5));
    let (_, said) = drill.command(&mut lab, DrillCommand::Abort);
    let v = progress(said).unwrap();
    assert_eq!(v.phase, Phase::Recovering);
    assert!(
        v.timeline
            .iter()
            .any(|e| e.text == "drill interrupted: restoring now"),
        "{:?}",
        v.timeline
    );
    assert!(
        v.elapsed_s < 6.0,
        "restored at 5 s, not after the 120 s: {}",
        v.elapsed_s
    );
    assert!(drill.active(), "the recovery is still watched");
    // Watched to its end, the report says it was cut short, by Esc, during the fault.
    for _ in 0..400 {
        if drill.advance(&mut lab, Duration::from_secs(1)).is_none() {
            break;
        }
    }
    let report = report_json(dir.path());
    assert_eq!(
        report["interrupted"]["by"], "Esc in the cockpit",
        "{report}"
    );
    assert_eq!(report["interrupted"]["during"], "fault", "{report}");
    assert!(report["interrupted"]["at_s"].as_f64().unwrap() < 6.0);
    let md = report_file(dir.path(), "md");
    assert!(
        md.contains("**Interrupted** at 5.0 s during the fault (Esc in the cockpit)"),
        "{md}"
    );
}

fn report_file(dir: &std::path::Path, ext: &str) -> String {
    let path = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == ext))
        .unwrap_or_else(|| panic!("a .{ext} report in {}", dir.display()));
    std::fs::read_to_string(path).unwrap()
}

fn report_json(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&report_file(dir, "json")).unwrap()
}

#[test]
fn quitting_mid_drill_restores_writes_the_report_marked_interrupted_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let mut lab = lab();
    let mut drill = Running::new(dir.path().to_path_buf());
    assert_eq!(drill.quit(&mut lab), None, "no drill: nothing to say");
    let spec = DrillSpec::new(DrillFault::Power);
    drill.command(&mut lab, DrillCommand::Start(spec));
    let powered = |lab: &Lab, n: &str| lab.powered(lab.host(n).unwrap());
    let target = ["cp-1", "cp-2", "cp-3"]
        .into_iter()
        .find(|n| !powered(&lab, n));
    let target = target.expect("a master powered off");
    drill.advance(&mut lab, Duration::from_secs(7));
    let said = drill.quit(&mut lab).expect("a drill was running");
    assert!(!drill.active(), "nothing runs after the quit");
    // Powered on by the restore: back once booted (else it stays off for good).
    let boot = Duration::from_millis(lab.config().boot_time_ms as u64 + 1_000);
    lab.advance(boot);
    assert!(powered(&lab, target), "the lab's fault was restored");
    assert!(said.contains(&format!("{target} restored")), "{said}");
    let json = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    assert!(
        said.contains(&json.display().to_string()),
        "says where: {said}"
    );
    let report = report_json(dir.path());
    assert_eq!(
        report["interrupted"]["by"], "quitting the cockpit",
        "{report}"
    );
    assert_eq!(report["recovery"]["restored"], true, "{report}");
    assert_eq!(report["fault"]["restored_after_s"], 7.0, "{report}");
    let md = report_file(dir.path(), "md");
    assert!(
        md.contains("**Interrupted** at 7.0 s during the fault (quitting the cockpit)"),
        "{md}"
    );
}

#[test]
fn the_cockpits_refusals_name_its_keys_and_what_to_wait_for() {
    let dir = tempfile::tempdir().unwrap();
    // Two masters: losing one loses the quorum; F (force) runs it anyway.
    let mut two = Lab::new(LabConfig::new(2, 1, 4, LabConfig::default().start));
    let mut drill = Running::new(dir.path().to_path_buf());
    let spec = DrillSpec::new(DrillFault::Power);
    let (_, said) = drill.command(&mut two, DrillCommand::Plan(spec.clone()));
    let Some(DrillUpdate::Refused(r)) = said else {
        panic!("{said:?}")
    };
    let text = r.in_cockpit();
    assert!(r.forcible(), "{text}");
    assert!(text.contains("needs 2 of 2") && text.contains("press F to run it anyway"));
    assert!(
        !text.contains("--force") && !text.contains("refusing"),
        "{text}"
    );
    assert!(
        r.to_string().contains("pass --force"),
        "the command line's way: {r}"
    );
    let forced = DrillSpec {
        force: true,
        ..spec
    };
    let (_, said) = drill.command(&mut two, DrillCommand::Start(forced));
    assert_eq!(progress(said).expect("it runs").phase, Phase::Fault);

    // Not healthy: which member, and what to do in the cockpit.
    let mut lab = lab();
    lab.inject(&hatui::model::Fault {
        node: "cp-3".into(),
        kind: hatui::model::FaultKind::PowerOff,
    });
    lab.advance(Duration::from_secs(5));
    let mut drill = Running::new(dir.path().to_path_buf());
    let kubelet = DrillSpec::new(DrillFault::Kubelet);
    let (_, said) = drill.command(&mut lab, DrillCommand::Plan(kubelet));
    let Some(DrillUpdate::Refused(r)) = said else {
        panic!("{said:?}")
    };
    let text = r.in_cockpit();
    assert!(!r.forcible(), "{text}");
    assert!(
        text.contains("not healthy yet (etcd member(s) not healthy: cp-3)"),
        "{text}"
    );
    assert!(
        text.contains("wait for that") && text.contains("press d again"),
        "{text}"
    );
    assert!(!text.contains("refusing"), "{text}");
}

/// The bare lab (`hatui lab --bare`): the wizard's thread moves the lab through this clock;
/// once the cockpit's commands close mid-drill, the next tick restores and reports.
#[test]
fn the_wizards_lab_clock_restores_and_reports_a_drill_when_the_cockpit_quits() {
    use hatui::runtime::LabCommand;
    use hatui::runtime::lab_task::WizardLabClock;
    use hatui::wizard::exec::lab::Clock;

    let work = tempfile::tempdir().unwrap();
    let reports = work.path().join("hatui-reports");
    let mut lab = lab();
    let (commands, commands_rx) = tokio::sync::mpsc::channel(8);
    let (tx, mut news) = tokio::sync::mpsc::channel::<DrillUpdate>(1024);
    let (last_tx, mut last_word) = tokio::sync::oneshot::channel();
    let mut clock = WizardLabClock::new(commands_rx, tx)
        .with_last_word(last_tx)
        .with_report_dir(reports.clone());
    let start = DrillCommand::Start(DrillSpec::new(DrillFault::Power));
    commands.blocking_send(LabCommand::Drill(start)).unwrap();
    clock.advance(&mut lab, Duration::from_secs(4));
    assert!(
        last_word.try_recv().is_err(),
        "nothing said while the cockpit is there"
    );
    drop(commands);
    clock.advance(&mut lab, Duration::from_millis(50));
    let said = last_word
        .try_recv()
        .expect("said at once")
        .expect("a drill ran");
    let expected = format!("restored; report: {}/drill-power-", reports.display());
    assert!(said.contains(&expected), "{said}");
    let mut last = None;
    while let Ok(u) = news.try_recv() {
        last = progress(Some(u)).or(last);
    }
    assert_eq!(
        last.expect("progress").phase,
        Phase::Fault,
        "it ran until the quit"
    );
    let report = report_json(&reports);
    assert_eq!(
        report["interrupted"]["by"], "quitting the cockpit",
        "{report}"
    );
}
