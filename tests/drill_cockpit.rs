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
    assert_eq!(written.len(), 2, "JSON and Markdown");
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
}
