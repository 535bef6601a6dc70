//! The drill's observer on hand-made probes: what counts as a takeover, when the test pod
//! may be scheduled, which sentence of why goes with which class of event.

use hatui_model::Readiness;
use hatui_workflows::drill::DrillFault;
use hatui_workflows::drill::observe::Observer;
use hatui_workflows::drill::probe::{LeaseSeen, Probe, Readyz};

fn lease(holder: Option<&str>, transitions: u32, active: bool) -> LeaseSeen {
    LeaseSeen {
        holder: holder.map(String::from),
        transitions,
        active,
    }
}

fn ready(node: &str) -> Readyz {
    Readyz {
        node: node.into(),
        error: None,
        latency_ms: Some(2.0),
    }
}

/// A healthy 3-master cluster led by cp-1, which holds both leases.
fn healthy() -> Probe {
    Probe {
        endpoint_error: None,
        endpoint_latency_ms: Some(3.0),
        endpoint_backend: Some("cp-2".into()),
        masters: ["cp-1", "cp-2", "cp-3"].map(ready).to_vec(),
        etcd_leader: Some("cp-1".into()),
        etcd_term: 2,
        target_member_healthy: true,
        leases: [lease(Some("cp-1"), 0, true), lease(Some("cp-1"), 0, true)],
        target_node: Some(Readiness::Ready),
        grace_s: 50,
        target_pods_gone: false,
        schedulable_node: Some("worker-1".into()),
        keepalive: None,
        test_pod: None,
    }
}

#[test]
fn a_released_scheduler_lease_then_taken_says_released_and_the_pod_waits_for_it() {
    let mut o = Observer::new(DrillFault::ControlPlane, "cp-1", &healthy());
    // The API answers but no scheduler leads: the pod is created, not scheduled.
    let mut p = healthy();
    p.leases[0] = lease(None, 0, false);
    o.observe(100, None, &p);
    assert_eq!(o.got.lease_released_ms[0], Some(100));
    assert_eq!(o.got.pod_created_ms, Some(100));
    assert!(o.got.pod_scheduled.is_none());
    p.leases[0] = lease(Some("cp-3"), 1, true);
    o.observe(1_300, None, &p);
    assert_eq!(o.got.lease_taken[0], Some(("cp-3".into(), 1_300)));
    assert_eq!(o.got.pod_scheduled, Some(("worker-1".into(), 1_300)));
    let taken = o
        .timeline
        .iter()
        .find(|e| e.text.contains("taken by"))
        .unwrap();
    assert!(taken.why.contains("released"), "{taken:?}");
    let pod = o
        .timeline
        .iter()
        .find(|e| e.text.contains("scheduled"))
        .unwrap();
    assert!(pod.why.contains("after a wait"), "{pod:?}");
}

#[test]
fn the_same_host_acquiring_again_after_a_restart_is_a_takeover() {
    let mut o = Observer::new(DrillFault::Power, "cp-1", &healthy());
    let mut p = healthy();
    p.leases[1] = lease(Some("cp-1"), 1, true);
    o.observe(500, Some(0), &p);
    assert_eq!(o.got.lease_taken[1], Some(("cp-1".into(), 500)));
    let why = &o
        .timeline
        .iter()
        .find(|e| e.text.contains("taken"))
        .unwrap()
        .why;
    assert!(why.contains("expired"), "{why}");
}

#[test]
fn no_pod_is_scheduled_while_the_endpoint_fails_even_with_a_leading_scheduler() {
    let mut o = Observer::new(DrillFault::Network, "cp-1", &healthy());
    let mut p = healthy();
    p.endpoint_error = Some("connection closed by HAProxy: no server is available".into());
    o.observe(100, None, &p);
    assert!(o.got.pod_created_ms.is_none() && o.got.pod_scheduled.is_none());
    let failing = o
        .timeline
        .iter()
        .find(|e| e.text.contains("endpoint failing"));
    assert!(failing.unwrap().why.contains("no backend left"));
}

#[test]
fn an_unclean_loss_waits_an_election_timeout_and_a_clean_one_hands_over() {
    // The why is read from the leaderless gap the run saw, not assumed from the fault.
    for (fault, new_at, says, at) in [
        (DrillFault::Power, 1_400, "election timeout", "1.4 s"),
        (DrillFault::Network, 1_400, "was cut off", "1.4 s"),
        (DrillFault::ControlPlane, 200, "handed over", "0.2 s"),
        (DrillFault::Etcd, 200, "handed over", "0.2 s"),
        (DrillFault::Shutdown, 200, "handed over", "0.2 s"),
        (DrillFault::Shutdown, 1_400, "did not hand over", "1.4 s"),
    ] {
        let mut o = Observer::new(fault, "cp-1", &healthy());
        let mut p = healthy();
        p.etcd_leader = None;
        o.observe(100, None, &p);
        p.etcd_leader = Some("cp-2".into());
        p.etcd_term = 3;
        o.observe(new_at, None, &p);
        assert_eq!(o.got.leader_lost_ms, Some(100));
        assert_eq!(o.got.new_leader, Some(("cp-2".into(), new_at, 3)));
        let e = o
            .timeline
            .iter()
            .find(|e| e.text.contains("(term 3)"))
            .unwrap();
        assert!(e.why.contains(says), "{fault}: {}", e.why);
        assert!(e.why.contains(at), "{}", e.why);
    }
}

/// node-monitor-grace-period is the cluster's version's (40 s up to v1.31), not 50 s.
#[test]
fn not_ready_says_the_grace_period_of_the_cluster_s_version() {
    let mut o = Observer::new(DrillFault::Kubelet, "cp-1", &healthy());
    let mut p = healthy();
    (p.grace_s, p.target_node) = (40, Some(Readiness::Unknown));
    o.observe(41_000, None, &p);
    let e = o
        .timeline
        .iter()
        .find(|e| e.text.contains("NotReady"))
        .unwrap();
    assert!(
        e.why.contains("node-monitor-grace-period (40 s)"),
        "{}",
        e.why
    );
}

#[test]
fn recovery_counts_from_the_restore_and_needs_apiserver_etcd_and_node() {
    let mut o = Observer::new(DrillFault::Power, "cp-1", &healthy());
    let mut p = healthy();
    p.masters[0].error = Some("powered off (no route to host)".into());
    p.target_member_healthy = false;
    p.target_node = Some(Readiness::Unknown);
    o.observe(60_000, None, &p);
    o.observe(120_000, Some(120_000), &p);
    assert!(!o.recovered());
    p.target_node = Some(Readiness::Ready);
    o.observe(121_000, Some(120_000), &p);
    p.target_member_healthy = true;
    o.observe(122_000, Some(120_000), &p);
    assert!(!o.recovered(), "the apiserver is not ready yet");
    p.masters[0].error = None;
    o.observe(124_000, Some(120_000), &p);
    assert!(o.recovered());
    let g = &o.got;
    let got = (g.node_ready_ms, g.etcd_healthy_ms, g.api_ready_ms);
    assert_eq!(got, (Some(1_000), Some(2_000), Some(4_000)));
}

/// A host powered on at the restore still boots: its Node, Ready at the restore only
/// because its grace period had not run out, goes NotReady meanwhile. It is back when Ready
/// again, not at the restore.
#[test]
fn a_node_ready_at_the_restore_then_not_ready_while_it_boots_is_back_only_when_ready_again() {
    let mut o = Observer::new(DrillFault::Power, "cp-1", &healthy());
    let mut p = healthy();
    o.observe(3_000, Some(3_000), &p);
    assert_eq!(o.got.node_ready_ms, Some(0));
    p.target_node = Some(Readiness::Unknown);
    o.observe(45_000, Some(3_000), &p);
    assert_eq!(o.got.node_ready_ms, None, "NotReady while it boots");
    p.target_node = Some(Readiness::Ready);
    o.observe(50_000, Some(3_000), &p);
    assert_eq!(o.got.node_ready_ms, Some(47_000));
}
