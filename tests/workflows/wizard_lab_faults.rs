//! Faults during the build, on the one lab the wizard builds (virtual clock): what a real
//! cluster does at that stage, what the wizard says, and that a restore lets it finish.

use std::cell::Cell;
use std::time::Duration;

use hatui_lab::{Lab, LabConfig};
use hatui_model::ClusterState;
use hatui_model::{Fault, FaultKind};
use hatui_workflows::wizard::engine::{Engine, StepReport, StepStatus};
use hatui_workflows::wizard::exec::{Executor, LabExecutor, RunEvent, RunId};
use hatui_workflows::wizard::headless::lab_plan;
use jiff::Timestamp;

/// The lab executor with a hand on the lab between the waits: `act` sees the lab (and the
/// commands started so far) at every wait and may inject a fault.
struct Hand<F: FnMut(&mut Lab, &[(String, String)])> {
    exec: LabExecutor,
    started: Vec<(String, String)>,
    act: F,
}

impl<F: FnMut(&mut Lab, &[(String, String)])> Executor for Hand<F> {
    fn now(&self) -> Timestamp {
        self.exec.now()
    }
    fn start(&mut self, host: &str, command: &str) -> RunId {
        self.started.push((host.to_string(), command.to_string()));
        self.exec.start(host, command)
    }
    fn wait(&mut self, limit: Duration) -> Vec<RunEvent> {
        let events = self.exec.wait(limit);
        (self.act)(self.exec.lab_mut(), &self.started);
        events
    }
    fn cluster(&self) -> &ClusterState {
        self.exec.cluster()
    }
    fn refresh(&mut self) {
        self.exec.refresh();
    }
}

fn hand<F: FnMut(&mut Lab, &[(String, String)])>(cps: usize, workers: usize, act: F) -> Hand<F> {
    let cfg = LabConfig::new(cps, workers, 5, LabConfig::default().start);
    Hand {
        exec: LabExecutor::new(cfg),
        started: Vec::new(),
        act,
    }
}

fn fault(lab: &mut Lab, node: &str, kind: FaultKind) {
    lab.inject(&Fault {
        node: node.into(),
        kind,
    });
}

/// Runs steps until `id` has run (or the plan ends); returns its report.
fn run_until<E: Executor>(engine: &mut Engine, exec: &mut E, id: &str) -> StepReport {
    while !engine.finished() {
        let next = engine.next_step().map(|s| s.id.clone());
        engine.run_next(exec);
        if next.as_deref() == Some(id) {
            break;
        }
    }
    let r = engine.reports().iter().find(|r| r.id == id);
    r.cloned().expect("a step of the plan")
}

fn engine<E: Executor>(exec: &E, cps: usize, workers: usize) -> Engine {
    Engine::new(lab_plan(cps, workers).unwrap(), exec.cluster())
}

fn said(r: &StepReport) -> String {
    [r.output.join("\n"), r.notes.join("\n")].join("\n")
}

#[test]
fn the_first_master_powered_off_while_the_second_is_a_learner_stops_its_promotion_until_restored() {
    let off_at = Cell::new(None);
    let seen_no_quorum = Cell::new(false);
    let mut ex = hand(3, 0, |lab, _| {
        let learner = lab.member(1).is_some_and(|m| m.learner && m.started);
        if learner && off_at.get().is_none() {
            fault(lab, "cp-1", FaultKind::PowerOff);
            off_at.set(Some(lab.now_ms()));
        }
        if let Some(t) = off_at.get() {
            let down = lab.now_ms() - t;
            if (5_000..40_000).contains(&down) {
                // 1 voter, down: no leader, the learner cannot be promoted.
                let stuck = lab.etcd_leader().is_none()
                    && lab.member(1).is_some_and(|m| m.learner)
                    && lab.promote(1).is_err();
                seen_no_quorum.set(seen_no_quorum.get() || stuck);
            }
            if down >= 40_000 && !lab.powered(0) {
                fault(lab, "cp-1", FaultKind::Restore);
            }
        }
    });
    let mut e = engine(&ex, 3, 0);
    let r = run_until(&mut e, &mut ex, "join-control-plane/cp-2");
    assert!(seen_no_quorum.get(), "no quorum while cp-1 was off");
    assert_eq!(r.status, StepStatus::Ok, "{}", said(&r));
    let took = r.duration.unwrap().as_secs();
    assert!(took >= 40 + 20, "the join waited for the restore: {took}s");
    let c = ex.cluster();
    assert!(c.etcd.members.iter().all(|m| !m.is_learner));
    assert_eq!(c.etcd.members.len(), 2);
}

#[test]
fn without_the_restore_the_join_fails_in_its_etcd_phase_and_the_wizard_says_why() {
    let done = Cell::new(false);
    let mut ex = hand(3, 0, |lab, _| {
        if !done.get() && lab.member(1).is_some_and(|m| m.learner && m.started) {
            fault(lab, "cp-1", FaultKind::PowerOff);
            done.set(true);
        }
    });
    let mut e = engine(&ex, 3, 0);
    let r = run_until(&mut e, &mut ex, "join-control-plane/cp-2");
    assert_eq!(r.status, StepStatus::Failed);
    let text = said(&r);
    // kubeadm polls the promotion for its etcdAPICall timeout (2 min), then gives up.
    assert!(
        text.contains("error execution phase control-plane-join/etcd"),
        "{text}"
    );
    assert!(!text.contains("timed out after"), "{text}");
    assert!(text.contains("etcd has no quorum"), "{text}");
    assert!(
        text.contains("(cp-1)"),
        "names the member that is down: {text}"
    );
    assert!(e.finished(), "the wizard stops there");
}

#[test]
fn the_second_master_powered_off_right_after_its_promotion_leaves_two_voters_without_quorum() {
    let done = Cell::new(false);
    let mut ex = hand(3, 0, |lab, _| {
        let voter = lab.member(1).is_some_and(|m| !m.learner);
        if voter && !done.get() {
            fault(lab, "cp-2", FaultKind::PowerOff);
            done.set(true);
        }
    });
    let mut e = engine(&ex, 3, 0);
    let r = run_until(&mut e, &mut ex, "join-control-plane/cp-2");
    assert!(done.get());
    assert_eq!(r.status, StepStatus::Failed, "{}", said(&r));
    let text = said(&r);
    assert!(text.contains("closed by remote host"), "{text}");
    assert!(
        text.contains("etcd has no quorum: 1 of its 2 voting member(s) do not answer (cp-2)"),
        "{text}"
    );
    let lab = ex.exec.lab();
    assert_eq!(lab.etcd_leader(), None);
    let api = lab.apiserver("cp-1").unwrap();
    assert!(
        !api.ready,
        "cp-1's apiserver fails /readyz: {:?}",
        api.detail
    );
    assert!(!lab.endpoint_up());
    assert!(e.finished());
}

#[test]
fn a_kubelet_stopped_on_a_worker_during_its_join_leaves_the_tls_bootstrap_waiting() {
    let stopped = Cell::new(false);
    let mut ex = hand(1, 1, |lab, started| {
        let joining = started
            .iter()
            .any(|(h, c)| h == "worker-1" && c.starts_with("kubeadm join"));
        // After kubeadm started the kubelet (3 s in), before the bootstrap finished.
        if joining && !stopped.get() && lab.kubelet_running(1) && !lab.node_registered(1) {
            fault(lab, "worker-1", FaultKind::StopKubelet);
            stopped.set(true);
        }
    });
    let mut e = engine(&ex, 1, 1);
    let r = run_until(&mut e, &mut ex, "join-worker/worker-1");
    assert!(stopped.get());
    assert_eq!(r.status, StepStatus::Failed);
    let text = said(&r);
    assert!(
        text.contains("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap"),
        "{text}"
    );
    assert!(
        text.contains("error execution phase kubelet-start: context deadline exceeded"),
        "{text}"
    );
    let took = r.duration.unwrap().as_secs();
    assert!(took >= 300, "the TLS bootstrap waited its 5 min: {took}s");
    assert!(!ex.exec.lab().node_registered(1));
}

#[test]
fn a_master_partitioned_during_verify_fails_verify_on_its_apiserver() {
    let mut ex = hand(3, 1, |_, _| {});
    let mut e = engine(&ex, 3, 1);
    while e.next_step().is_some_and(|s| s.id != "verify") {
        e.run_next(&mut ex);
    }
    assert!(
        e.reports()
            .iter()
            .all(|r| r.id == "verify" || r.status == StepStatus::Ok)
    );
    fault(ex.exec.lab_mut(), "cp-1", FaultKind::Partition);
    let r = run_until(&mut e, &mut ex, "verify");
    assert_eq!(r.status, StepStatus::Failed, "{}", said(&r));
    let text = said(&r);
    assert!(text.contains("cp-1's apiserver is not ready"), "{text}");
    // The other two keep the quorum: etcd has a leader, and it is not cp-1.
    let leader = ex.exec.lab().etcd_leader();
    assert!(leader.as_deref().is_some_and(|l| l != "cp-1"), "{leader:?}");
}
