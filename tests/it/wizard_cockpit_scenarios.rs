//! The wizard's thread beside the cockpit (`hatui lab --bare --scenario S`): a scenario is
//! set up on the lab before it starts, its pause passes before the first join, and `f`
//! (`WizardCommand::RunFix`) runs a failed step's fix and the step again.

use std::sync::mpsc;

use hatui::lab::LabConfig;
use hatui::message::Message;
use hatui::wizard::cockpit::{self, WizardCommand, WizardSteps, WizardUpdate};
use hatui::wizard::engine::StepStatus;
use hatui::wizard::exec::LabExecutor;
use hatui::wizard::headless::{Scenario, lab_plan};

/// Starts the wizard's thread on a 3+1 lab with `scenario`; returns its channels.
fn start(
    scenario: Scenario,
) -> (
    tokio::sync::mpsc::Receiver<Message>,
    mpsc::Sender<WizardCommand>,
) {
    let plan = lab_plan(3, 1).unwrap();
    let mut exec = LabExecutor::new(LabConfig::new(3, 1, 9, LabConfig::default().start));
    scenario.set_up(&mut exec, &plan);
    let (tx, rx) = tokio::sync::mpsc::channel(4096);
    let (commands_tx, commands_rx) = mpsc::channel();
    let pause = scenario.pause();
    std::thread::spawn(move || cockpit::run(exec, plan, 1e6, tx, commands_rx, pause));
    (rx, commands_tx)
}

/// The next step report for which `done` holds, with every cluster event seen on the way.
fn until(
    rx: &mut tokio::sync::mpsc::Receiver<Message>,
    done: impl Fn(&WizardSteps) -> bool,
) -> (WizardSteps, Vec<String>) {
    let mut clock = Vec::new();
    loop {
        match rx.blocking_recv().expect("the wizard runs") {
            Message::Wizard(WizardUpdate::Steps(s)) if done(&s) => return (s, clock),
            Message::Cluster(events) => {
                for e in events {
                    if let hatui::model::ClusterEvent::Clock(t) = e {
                        clock.push(t.to_string());
                    }
                }
            }
            _ => {}
        }
    }
}

fn failed(s: &WizardSteps) -> bool {
    s.reports.iter().any(|r| r.status == StepStatus::Failed)
}

#[test]
fn f_runs_the_offered_fix_beside_the_cockpit_and_the_plan_goes_on_to_verify() {
    let (mut rx, commands) = start(Scenario::SwapOn);
    commands.send(WizardCommand::RunAll).unwrap();
    let (steps, _) = until(&mut rx, failed);
    let pre = steps
        .reports
        .iter()
        .find(|r| r.status == StepStatus::Failed);
    let pre = pre.unwrap();
    assert_eq!(pre.id, "preflight");
    let fix = pre.fix.as_ref().expect("offered");
    assert_eq!(fix.commands[0].host, "worker-1");
    commands.send(WizardCommand::RunFix).unwrap();
    let (steps, _) = until(&mut rx, |s| !failed(s));
    assert_eq!(steps.reports[0].status, StepStatus::Ok);
    commands.send(WizardCommand::RunAll).unwrap();
    let (steps, _) = until(&mut rx, |s| s.finished);
    assert!(steps.verified, "{:#?}", steps.reports);
}

#[test]
fn a_scenarios_pause_passes_before_the_first_join() {
    let (mut rx, commands) = start(Scenario::ExpiredCertificateKey);
    commands.send(WizardCommand::RunAll).unwrap();
    let (steps, clock) = until(&mut rx, |s| s.finished);
    assert!(steps.verified, "{:#?}", steps.reports);
    let ids: Vec<&str> = steps.reports.iter().map(|r| r.id.as_str()).collect();
    assert!(ids.contains(&"upload-certs/cp-2"), "{ids:?}");
    let first = LabConfig::default().start;
    let last: jiff::Timestamp = clock.last().unwrap().parse().unwrap();
    assert!(
        last.duration_since(first) > jiff::SignedDuration::from_hours(3),
        "3 h passed: {last}"
    );
}
