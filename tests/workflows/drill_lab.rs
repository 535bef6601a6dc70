//! The failover drill on the lab's virtual clock, through library calls: each fault's figures,
//! the refusals, an interrupted drill. The real binary: tests/it/drill_cli.rs.

use std::time::Duration;

use hatui_lab::{Lab, LabConfig};
use hatui_model::{Fault, FaultKind};
use hatui_workflows::drill::plan::{self, DrillSpec, Target};
use hatui_workflows::drill::{Drill, DrillFault, Phase, Report};

fn lab(masters: usize, seed: u64) -> Lab {
    Lab::new(LabConfig::new(masters, 2, seed, LabConfig::default().start))
}

/// A lab warmed a little (so the seeds differ in where heartbeats and renewals stand).
fn warm(seed: u64) -> Lab {
    let mut lab = lab(3, seed);
    lab.advance(Duration::from_millis(700 * seed));
    lab
}

fn drill(lab: &mut Lab, fault: DrillFault) -> (Drill, Report) {
    let (mut d, _) = Drill::start(lab, &DrillSpec::new(fault)).expect("the drill starts");
    d.run_to_end(lab);
    let r = Report::of(&d);
    (d, r)
}

fn lease<'a>(r: &'a Report, name: &str) -> &'a hatui_workflows::drill::report::LeaseJson {
    r.leases.iter().find(|l| l.name == name).unwrap()
}

/// When the timeline says something containing `what`.
fn said_at(r: &Report, what: &str) -> Option<f64> {
    r.timeline
        .iter()
        .find(|e| e.text.contains(what))
        .map(|e| e.at_s)
}

#[test]
fn a_power_cut_of_the_leader_reelects_in_1_to_2_5_s_and_leases_move_15_to_24_s_after_renewal() {
    for seed in 1..=6 {
        let mut lab = warm(seed);
        let leader = lab.etcd_leader().unwrap();
        // Seconds since each lease's last renewal, at the fault.
        let renewed_ago = |lab: &Lab, name: &str| {
            let renewed = lab.lease(name).unwrap().renew_time.unwrap();
            lab.now().duration_since(renewed).as_secs_f64()
        };
        let ago = ["kube-scheduler", "kube-controller-manager"].map(|n| renewed_ago(&lab, n));
        let (d, r) = drill(&mut lab, DrillFault::Power);
        assert_eq!(
            r.fault.target, leader,
            "the default target is the etcd leader"
        );
        assert_eq!(r.before.etcd_leader.as_deref(), Some(leader.as_str()));
        assert_eq!(r.etcd.leader_lost_after_s, Some(0.1), "seed {seed}");
        let new = r.etcd.new_leader_after_s.expect("a new leader");
        assert!((1.0..=2.5).contains(&new), "seed {seed}: {new} s");
        assert_ne!(r.etcd.new_leader.as_deref(), Some(leader.as_str()));
        assert!(r.etcd.new_term.unwrap() > r.before.raft_term);
        for (l, ago) in r.leases.iter().zip(ago) {
            if l.holder_before.as_deref() == Some(leader.as_str()) {
                let took = l.taken_over_after_s.expect("taken over");
                // 15 s after another copy saw the last renewal (its tries are 2 to 4.4 s
                // apart), at its first try after that: 15 to ~24 s after the renewal.
                let since_renewal = took + ago;
                assert!(
                    (15.0..=24.0).contains(&since_renewal),
                    "{} seed {seed}: {since_renewal}",
                    l.name
                );
                assert!(
                    (13.0..=24.0).contains(&took),
                    "{} seed {seed}: {took}",
                    l.name
                );
                assert_ne!(l.new_holder.as_deref(), Some(leader.as_str()));
            }
        }
        // Pods schedule only once a scheduler holds the lease and the API answers.
        let scheduled = r.test_pod.scheduled_after_s.expect("scheduled");
        let sched = lease(&r, "kube-scheduler");
        if sched.holder_before.as_deref() == Some(leader.as_str()) {
            assert!(
                scheduled >= sched.taken_over_after_s.unwrap(),
                "seed {seed}"
            );
        }
        assert_eq!(r.test_pod.node.as_deref(), Some("worker-1"));
        assert!(r.recovery.restored && d.observer.recovered(), "seed {seed}");
        // Powered on, it boots (45 s) before anything runs: nothing is back a second after
        // the power-on.
        let rec = &r.recovery;
        for s in [
            rec.apiserver_ready_after_s,
            rec.etcd_healthy_after_s,
            rec.node_ready_after_s,
        ] {
            assert!(
                s.is_some_and(|s| (45.0..=75.0).contains(&s)),
                "seed {seed}: {rec:?}"
            );
        }
        assert_eq!(r.fault.commands, ["systemctl poweroff --force --force"]);
        let why = election_why(&r);
        assert!(
            why.contains("election timeout") && why.contains("without handing over"),
            "{why}"
        );
    }
}

#[test]
fn the_test_pod_waits_for_a_scheduler_that_holds_its_lease() {
    // The scheduler's lease on the leader: the pod waits for the takeover.
    let mut found = false;
    for seed in 1..=6 {
        let mut lab = warm(seed);
        let sched = lab.lease_holder("kube-scheduler").unwrap();
        let spec = DrillSpec {
            target: Target::Node(sched.clone()),
            ..DrillSpec::new(DrillFault::Power)
        };
        let (mut d, _) = Drill::start(&mut lab, &spec).unwrap();
        d.advance(&mut lab, Duration::from_secs(10));
        assert!(
            d.observer.got.pod_scheduled.is_none(),
            "no scheduler leads yet"
        );
        assert!(!lab.lease_active("kube-scheduler"));
        d.run_to_end(&mut lab);
        let r = Report::of(&d);
        let took = lease(&r, "kube-scheduler").taken_over_after_s.unwrap();
        let scheduled = r.test_pod.scheduled_after_s.unwrap();
        assert!(
            scheduled >= took && scheduled <= took + 1.0,
            "{took} {scheduled}"
        );
        found = true;
    }
    assert!(found);
}

#[test]
fn stopping_the_kubelet_moves_nothing_and_the_node_goes_not_ready_at_its_grace_period() {
    for seed in 1..=5 {
        let mut lab = warm(seed);
        let (_, r) = drill(&mut lab, DrillFault::Kubelet);
        assert_eq!(r.etcd.leader_lost_after_s, None, "seed {seed}");
        assert_eq!(r.etcd.new_leader, None);
        assert_eq!(r.etcd.new_term, None);
        for l in &r.leases {
            assert_eq!((l.new_holder.as_ref(), l.taken_over_after_s), (None, None));
        }
        // 50 s after the last heartbeat that got through (heartbeats every 10 s).
        let nr = r.node.not_ready_after_s.expect("NotReady");
        assert!((40.0..=51.0).contains(&nr), "seed {seed}: {nr}");
        assert_eq!(r.api.endpoint.failed, 0);
        assert!(r.test_pod.scheduled_after_s.unwrap() <= 0.2);
        assert!(
            r.verdict[0].contains("proves nothing about failover"),
            "{:?}",
            r.verdict
        );
        assert!(r.recovery.node_ready_after_s.unwrap() <= 11.0);
    }
}

#[test]
fn a_control_plane_stop_hands_etcd_over_and_moves_the_scheduler_lease_within_3_s() {
    for seed in 1..=6 {
        let mut lab = warm(seed);
        let (_, r) = drill(&mut lab, DrillFault::ControlPlane);
        let target = r.fault.target.clone();
        // The kubelet's inotify watch sees the manifests go within about a second.
        let gone = said_at(&r, "control-plane pods stopped").expect("the pods stop");
        assert!((0.5..=1.5).contains(&gone), "seed {seed}: {gone}");
        // etcd handed over on SIGTERM: no election timeout.
        let new = r.etcd.new_leader_after_s.unwrap();
        assert!(new - gone <= 0.3, "seed {seed}: {gone} {new}");
        let s = lease(&r, "kube-scheduler");
        let cm = lease(&r, "kube-controller-manager");
        if s.holder_before.as_deref() == Some(target.as_str()) {
            let took = s.taken_over_after_s.unwrap() - gone;
            assert!((0.0..=4.5).contains(&took), "seed {seed}: scheduler {took}");
            assert!(said_at(&r, "kube-scheduler lease released").is_some());
        }
        if cm.holder_before.as_deref() == Some(target.as_str()) {
            let took = cm.taken_over_after_s.unwrap() - gone;
            assert!(
                (13.0..=24.0).contains(&took),
                "seed {seed}: controller-manager {took}"
            );
        }
        assert!(r.recovery.restored && r.recovery.apiserver_ready_after_s.is_some());
        // A client kept alive on the target breaks once when its apiserver stops, then
        // reconnects through the balancer.
        let kept = &r.api.keepalive;
        assert!(
            kept.failed >= 1 && kept.failed <= 3,
            "seed {seed}: {kept:?}"
        );
        assert!(
            (gone - 0.1..=gone + 0.1).contains(&kept.outages[0].start_s),
            "{kept:?}"
        );
    }
}

#[test]
fn a_second_master_down_refuses_with_the_quorum_and_force_is_still_refused_unhealthy() {
    let mut lab = lab(3, 2);
    lab.inject(&Fault {
        node: "cp-3".into(),
        kind: FaultKind::PowerOff,
    });
    lab.advance(Duration::from_secs(5));
    let spec = DrillSpec::new(DrillFault::Power);
    let why = plan::check(&lab, &spec).unwrap_err().0;
    assert!(why.contains("needs 2 of 3"), "{why}");
    assert!(why.contains("2 healthy now, 1 during"), "{why}");
    let why = Drill::start(
        &mut lab,
        &DrillSpec {
            force: true,
            ..spec
        },
    )
    .unwrap_err()
    .0;
    assert!(why.contains("not healthy"), "{why}");
    // The kubelet fault takes no member: only the health check speaks.
    let why = plan::check(&lab, &DrillSpec::new(DrillFault::Kubelet))
        .unwrap_err()
        .0;
    assert!(why.contains("etcd member(s) not healthy: cp-3"), "{why}");
}

#[test]
fn an_interrupted_drill_restores_at_once_and_watches_the_recovery() {
    let mut lab = lab(3, 4);
    let (mut d, _) = Drill::start(&mut lab, &DrillSpec::new(DrillFault::Power)).unwrap();
    d.advance(&mut lab, Duration::from_secs(30));
    assert_eq!(d.phase(), Phase::Fault);
    d.abort(&mut lab);
    assert_eq!(d.phase(), Phase::Recovering);
    assert!(d.restored);
    d.run_to_end(&mut lab);
    let r = Report::of(&d);
    let restore = said_at(&r, "restore:").unwrap();
    assert_eq!(restore, 30.0);
    assert!(said_at(&r, "interrupted").is_some());
    assert!(r.recovery.restored && d.observer.recovered());
    assert!(plan::unhealthy(&lab).is_none(), "healthy again");
}

#[test]
fn a_worker_cannot_be_the_target_of_a_control_plane_fault() {
    let lab = lab(3, 1);
    let spec = DrillSpec {
        target: Target::Node("worker-1".into()),
        ..DrillSpec::new(DrillFault::Etcd)
    };
    let why = plan::check(&lab, &spec).unwrap_err().0;
    assert!(why.contains("needs a control-plane node"), "{why}");
    let spec = DrillSpec {
        target: Target::Node("cp-9".into()),
        ..DrillSpec::new(DrillFault::Power)
    };
    assert!(
        plan::check(&lab, &spec)
            .unwrap_err()
            .0
            .contains("not a node of this cluster")
    );
}

/// Why the drill says etcd elected its new leader.
fn election_why(r: &Report) -> &str {
    let e = r.timeline.iter().find(|e| e.text.contains("(term"));
    &e.expect("an election on the timeline").why
}

#[test]
fn stopping_etcd_alone_hands_over_and_the_kubelet_starts_it_again() {
    for seed in 1..=4 {
        let mut lab = warm(seed);
        let (_, r) = drill(&mut lab, DrillFault::Etcd);
        let new = r.etcd.new_leader_after_s.unwrap();
        assert!(new <= 0.2, "seed {seed}: SIGTERM hands over at once: {new}");
        let why = election_why(&r);
        assert!(why.contains("handed over"), "{why}");
        // The kubelet restarts the container at its next sync: back within a few seconds,
        // long before the restore, and no lease had time to move.
        let back = said_at(&r, "etcd member healthy again").expect("back by itself");
        assert!(back <= 5.0, "seed {seed}: {back}");
        assert!(
            r.leases.iter().all(|l| l.new_holder.is_none()),
            "{:?}",
            r.leases
        );
        assert!(r.recovery.restored);
        // The errors through the endpoint ended because etcd was back, which the run saw;
        // no 10 s health check had taken the master out by then.
        for v in &r.verdict {
            assert!(!v.contains("health checks had taken it out"), "{v}");
        }
        if let Some(v) = r.verdict.iter().find(|v| v.contains("Clients saw errors")) {
            assert!(
                v.contains("own apiserver answered again") && v.contains("etcd member was back at"),
                "seed {seed}: {v}"
            );
        }
    }
}

/// A clean shutdown hands etcd over at once and releases the scheduler's lease; it is
/// back only after its boot.
#[test]
fn a_clean_shutdown_hands_over_and_is_back_after_its_boot() {
    for seed in 1..=3 {
        let mut lab = warm(seed);
        let (_, r) = drill(&mut lab, DrillFault::Shutdown);
        assert_eq!(r.fault.commands, ["systemctl poweroff"]);
        let new = r.etcd.new_leader_after_s.unwrap();
        assert!(new <= 0.2, "seed {seed}: SIGTERM hands over at once: {new}");
        assert!(election_why(&r).contains("handed over"));
        let back = r.recovery.apiserver_ready_after_s.unwrap();
        assert!(back >= 45.0, "seed {seed}: booted first: {back}");
    }
}

#[test]
fn a_partitioned_leader_is_replaced_and_an_nlb_keeps_sending_it_requests_but_haproxy_does_not() {
    for lb in [hatui_lab::LbKind::Nlb, hatui_lab::LbKind::Haproxy] {
        let cfg = LabConfig::new(3, 2, 3, LabConfig::default().start);
        let mut lab = Lab::new(LabConfig { lb, ..cfg });
        let (_, r) = drill(&mut lab, DrillFault::Network);
        let new = r.etcd.new_leader_after_s.unwrap();
        assert!((1.0..=2.5).contains(&new), "{lb}: {new}");
        let why = election_why(&r);
        assert!(why.contains("was cut off"), "{why}");
        let target = &r.api.masters[&r.fault.target];
        assert!(target.longest_gap_s >= 119.0, "{lb}: {target:?}");
        let last = r.api.endpoint.outages.last().unwrap().end_s;
        match lb {
            hatui_lab::LbKind::Nlb => assert!(last >= 119.0, "the TCP check passes: {last}"),
            _ => assert!(last <= 8.0, "{lb}: GET /healthz fails: {last}"),
        }
    }
}

/// A request nothing answers lasts the client's timeout (1 s), in the lab as in the live
/// sampler: one request out per target at a time, its answer standing for every 100 ms
/// tick it spans, so the report's availability, longest gap and percentiles come out of
/// the same samples the live drill would have.
#[test]
fn a_request_to_a_powered_off_master_stands_for_the_second_it_waits() {
    assert_eq!(
        hatui_lab::REQUEST_TIMEOUT_MS,
        hatui_workflows::drill::live::sample::TIMEOUT.as_millis() as i64
    );
    for seed in 1..=3 {
        let mut lab = warm(seed);
        let (d, r) = drill(&mut lab, DrillFault::Power);
        let target = r.fault.target.clone();
        let via = format!("via {target}: timed out");
        let s = &d.endpoint.samples;
        let first = s
            .iter()
            .position(|x| x.error.as_deref().is_some_and(|e| e.starts_with(&via)))
            .expect("a request reaches the dead master");
        let span: Vec<_> = s[first..first + 11].iter().map(|x| &x.error).collect();
        assert!(
            span.iter().all(|e| *e == &s[first].error),
            "seed {seed}: one unanswered request covers 11 ticks (1 s): {span:?}"
        );
        let gap = r.api.endpoint.longest_gap_s;
        assert!(gap >= 1.1, "seed {seed}: longest gap {gap} s");
        // The kept-alive connection was on the target: its request hangs just as long.
        let k = &d.keepalive.samples;
        let kept: Vec<_> = k[..11].iter().map(|x| x.error.clone()).collect();
        assert!(
            kept.iter().all(|e| e
                .as_deref()
                .is_some_and(|e| e.contains("(kept alive): timed out"))),
            "seed {seed}: {kept:?}"
        );
    }
}

/// With HAProxy behind keepalived, a power cut of the VIP's master (cp-1) costs every
/// request the VIP's move: ~3-4 s with nothing answering on the VIP, whichever backends
/// HAProxy still has.
#[test]
fn a_power_cut_of_the_vips_master_is_a_full_outage_until_keepalived_moves_it() {
    for seed in 1..=3 {
        let cfg = LabConfig::new(3, 2, seed, LabConfig::default().start);
        let mut lab = Lab::new(LabConfig {
            lb: hatui_lab::LbKind::Haproxy,
            ..cfg
        });
        lab.advance(Duration::from_millis(300 * seed));
        let spec = DrillSpec {
            target: Target::Node("cp-1".into()),
            ..DrillSpec::new(DrillFault::Power)
        };
        let (mut d, _) = Drill::start(&mut lab, &spec).expect("the drill starts");
        d.run_to_end(&mut lab);
        let r = Report::of(&d);
        let first = &r.api.endpoint.outages[0];
        assert_eq!(first.start_s, 0.1, "seed {seed}: {first:?}");
        assert!(first.error.contains("VIP"), "{first:?}");
        assert!(
            (2.5..=4.5).contains(&first.end_s),
            "seed {seed}: the VIP moves 3.6 s after cp-1's last advertisement: {first:?}"
        );
        assert!(r.api.endpoint.longest_gap_s >= 2.5, "{:?}", r.api.endpoint);
    }
}
