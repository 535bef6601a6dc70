//! The verdict on the lab's own states (faults injected as the cockpit's keys do, its clock
//! run forward), and on a live cluster that never answered.

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::lab::LabConfig;
use crate::model::{ClusterEvent, Fault, FaultKind, FeedStatus, SourceKind};

fn lab(masters: usize, faults: &[(FaultKind, &str)], advance_s: i64) -> Verdict {
    let start: Timestamp = "2026-11-22T03:00:00Z".parse().unwrap();
    let faults: Vec<Fault> = faults
        .iter()
        .map(|(kind, node)| Fault {
            node: node.to_string(),
            kind: *kind,
        })
        .collect();
    let cfg = LabConfig::new(masters, 2, 7, start);
    let c = crate::status::lab_cluster(cfg, &faults, SignedDuration::from_secs(advance_s), false);
    judge(&c)
}

fn says(v: &Verdict, level: Health, part: &str) -> bool {
    v.reasons
        .iter()
        .any(|r| r.level == level && r.text.contains(part))
}

#[test]
fn a_healthy_lab_is_ok_with_no_reason() {
    let v = lab(3, &[], 60);
    assert_eq!(v.health, Health::Ok, "{v:?}");
    assert!(v.reasons.is_empty(), "{v:?}");
    assert_eq!(v.health.exit_code(), 0);
}

#[test]
fn one_master_of_three_off_is_degraded_with_each_reason() {
    let v = lab(3, &[(FaultKind::PowerOff, "cp-2")], 180);
    assert_eq!(v.health, Health::Degraded, "{v:#?}");
    assert_eq!(v.health.exit_code(), 1);
    assert!(
        says(&v, Health::Degraded, "etcd tolerates no more failures: 2/3"),
        "{v:#?}"
    );
    assert!(says(
        &v,
        Health::Degraded,
        "etcd member cp-2 does not answer"
    ));
    assert!(says(
        &v,
        Health::Degraded,
        "the apiserver on cp-2 is not ready"
    ));
    assert!(
        says(&v, Health::Degraded, "master cp-2 is Unknown"),
        "{v:#?}"
    );
}

#[test]
fn two_masters_of_three_off_is_critical_quorum_first() {
    let off = [(FaultKind::PowerOff, "cp-1"), (FaultKind::PowerOff, "cp-2")];
    let v = lab(3, &off, 120);
    assert_eq!(v.health, Health::Critical, "{v:#?}");
    assert_eq!(v.health.exit_code(), 2);
    assert!(says(&v, Health::Critical, "etcd has lost its quorum: 1/3"));
    assert!(says(&v, Health::Critical, "no apiserver is ready (0 of 3)"));
    assert!(
        says(&v, Health::Critical, "does not answer"),
        "the endpoint"
    );
    // Nobody can renew through an apiserver without etcd: the leases run out.
    assert!(
        says(&v, Health::Critical, "lease kube-scheduler expired"),
        "{v:#?}"
    );
    assert_eq!(v.reasons[0].level, Health::Critical, "worst first");
}

#[test]
fn a_stopped_kubelet_on_a_master_is_degraded_not_critical() {
    let v = lab(3, &[(FaultKind::StopKubelet, "cp-3")], 180);
    assert_eq!(v.health, Health::Degraded, "{v:#?}");
    assert!(says(&v, Health::Degraded, "master cp-3 is Unknown"));
    assert!(!says(&v, Health::Degraded, "etcd"), "etcd runs on: {v:#?}");
}

#[test]
fn a_single_master_tolerates_nothing() {
    let v = lab(1, &[], 30);
    assert_eq!(v.health, Health::Degraded);
    assert!(says(
        &v,
        Health::Degraded,
        "1/1 voting members healthy, 1 needed"
    ));
}

#[test]
fn a_deleted_masters_member_is_named_stale_with_its_removal() {
    let v = lab(3, &[(FaultKind::DeleteNode, "cp-3")], 120);
    assert!(
        says(&v, Health::Degraded, "stale etcd member cp-3"),
        "{v:#?}"
    );
    assert!(says(&v, Health::Degraded, "etcdctl member remove"));
}

#[test]
fn certificates_near_or_past_expiry_are_degraded_then_critical() {
    let start: Timestamp = "2026-11-22T03:00:00Z".parse().unwrap();
    let cfg = LabConfig::new(3, 2, 7, start);
    let mut c = crate::status::lab_cluster(cfg, &[], SignedDuration::ZERO, false);
    let mut cert = c.certificates["apiserver cp-1"].clone();
    cert.not_after = Timestamp::from_second(c.now.as_second() + 10 * 86_400).unwrap();
    c.apply(ClusterEvent::Certificate(cert.clone()));
    let v = judge(&c);
    assert!(says(&v, Health::Degraded, "apiserver cp-1 expires in 10d"));
    cert.not_after = Timestamp::from_second(c.now.as_second() - 2 * 86_400).unwrap();
    c.apply(ClusterEvent::Certificate(cert));
    let v = judge(&c);
    assert_eq!(v.health, Health::Critical);
    assert!(says(
        &v,
        Health::Critical,
        "certificate apiserver cp-1 EXPIRED 2d ago"
    ));
}

#[test]
fn a_cluster_that_never_answered_is_unknown_not_critical() {
    let now: Timestamp = "2026-11-22T03:00:00Z".parse().unwrap();
    let mut c = ClusterState::new(SourceKind::Live, "lb.example:6443", now);
    for kind in [FeedKind::Nodes, FeedKind::Leases, FeedKind::Endpoint] {
        let f = FeedStatus {
            last_ok: None,
            error: Some("connection refused".into()),
            every: None,
        };
        c.apply(ClusterEvent::Feed(kind, f));
    }
    let v = judge(&c);
    assert_eq!(v.health, Health::Unknown, "{v:#?}");
    assert_eq!(v.health.exit_code(), 3);
    assert_eq!(v.reasons.len(), 1, "{v:#?}");
    assert!(v.reasons[0].text.starts_with("cannot reach the cluster"));
}

#[test]
fn the_exit_codes_are_the_plugin_conventions() {
    let all = [
        Health::Ok,
        Health::Degraded,
        Health::Critical,
        Health::Unknown,
    ];
    let codes: Vec<_> = all
        .iter()
        .map(|h| (h.exit_code(), h.plugin_state()))
        .collect();
    assert_eq!(
        codes,
        [(0, "OK"), (1, "WARNING"), (2, "CRITICAL"), (3, "UNKNOWN")]
    );
    assert!(Health::Critical > Health::Unknown && Health::Unknown > Health::Degraded);
}
