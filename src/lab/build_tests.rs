//! The lab built by its kubeadm, from bare hosts: what exists when, and what etcd allows.

use std::time::Duration;

use super::*;
use hatui_model::{ClusterState, Fault, FaultKind, FeedKind, Readiness, SourceKind};

fn cluster(lab: &Lab) -> ClusterState {
    let mut c = ClusterState::new(SourceKind::Lab, lab.config().endpoint.clone(), lab.now());
    for ev in lab.full_state() {
        c.apply(ev);
    }
    c
}

/// init on cp-1: CA, the first member, the control plane, the Node, a token and a key.
fn init(lab: &mut Lab) -> String {
    lab.make_ca(Some(lab.config().endpoint.clone()));
    lab.add_member(0, false);
    lab.start_control_plane(0);
    assert!(lab.register_node(0));
    lab.upload_certs();
    lab.create_token()
}

#[test]
fn a_bare_lab_says_there_is_no_api_and_no_etcd_yet() {
    let mut lab = Lab::bare(LabConfig::default());
    lab.advance(Duration::from_secs(5));
    let c = cluster(&lab);
    assert!(c.nodes.is_empty() && c.etcd.members.is_empty() && c.leases.is_empty());
    assert!(c.tokens.is_empty() && c.apiservers.is_empty());
    assert_eq!(c.endpoint.ready, Some(false));
    let nodes = c
        .stale(FeedKind::Nodes)
        .expect("nodes say why they are empty");
    assert!(nodes.why.contains("no API yet"), "{}", nodes.why);
    let etcd = c.stale(FeedKind::Etcd).expect("etcd says why it is empty");
    assert!(etcd.why.contains("no etcd yet"), "{}", etcd.why);
}

#[test]
fn membership_grows_learner_then_voter_and_nodes_turn_ready_after_the_cni() {
    let mut lab = Lab::bare(LabConfig::new(3, 1, 1, jiff::Timestamp::UNIX_EPOCH));
    let token = init(&mut lab);
    assert!(lab.valid_token(&token));
    lab.advance(Duration::from_secs(8));
    assert_eq!(
        lab.etcd_leader().as_deref(),
        Some("cp-1"),
        "one voter elects itself"
    );
    assert_eq!(lab.lease_holder("kube-scheduler").as_deref(), Some("cp-1"));
    assert!(lab.endpoint_up());
    assert!(!lab.node_ready(0), "no CNI yet");
    lab.apply_cni();
    lab.advance(Duration::from_secs(30));
    assert!(lab.node_ready(0));
    lab.add_member(1, true);
    let c = cluster(&lab);
    let learner = c.etcd.members.iter().find(|m| m.is_learner);
    let learner = learner.expect("learner");
    assert!(!learner.reachable && learner.name.is_empty());
    assert!(lab.promote(1).is_err(), "not started: not in sync");
    lab.start_member(1);
    lab.advance(Duration::from_secs(1));
    assert!(lab.promote(1).is_ok(), "caught up within a second");
    lab.start_control_plane(1);
    assert!(lab.register_node(1));
    lab.advance(Duration::from_secs(25));
    let c = cluster(&lab);
    assert_eq!(c.etcd.members.iter().filter(|m| !m.is_learner).count(), 2);
    assert_eq!(c.nodes.get("cp-2").unwrap().ready, Readiness::Ready);
    assert!(c.cert_key_expires_in_s().is_some_and(|s| s > 7000));
    // 3 h later the certificate key is gone with its owner token; the join token stays.
    lab.advance(Duration::from_secs(3 * 3600));
    let c = cluster(&lab);
    assert!(lab.cert_key_value().is_none() && !c.cert_key.secret_present);
    assert!(lab.valid_token(&token));
    lab.advance(Duration::from_secs(24 * 3600));
    assert!(!lab.valid_token(&token));
    assert!(cluster(&lab).tokens.is_empty());
}

#[test]
fn a_learner_cannot_be_promoted_while_the_only_voter_is_powered_off() {
    let mut lab = Lab::bare(LabConfig::new(3, 0, 2, jiff::Timestamp::UNIX_EPOCH));
    init(&mut lab);
    lab.advance(Duration::from_secs(8));
    lab.add_member(1, true);
    lab.start_member(1);
    lab.advance(Duration::from_secs(1));
    lab.inject(&Fault {
        node: "cp-1".into(),
        kind: FaultKind::PowerOff,
    });
    lab.advance(Duration::from_secs(5));
    assert_eq!(lab.etcd_leader(), None, "1 voter of 1 down: no quorum");
    assert_eq!(lab.promote(1), Err("etcdserver: no leader"));
    assert!(!lab.endpoint_up(), "the only apiserver is gone");
    let status = lab.etcd_status();
    assert!(status.members.iter().any(|m| m.is_learner && m.reachable));
    lab.inject(&Fault {
        node: "cp-1".into(),
        kind: FaultKind::Restore,
    });
    // Its boot (45 s), then etcd.
    lab.advance(Duration::from_secs(55));
    assert_eq!(lab.etcd_leader().as_deref(), Some("cp-1"));
    assert!(
        lab.promote(1).is_ok(),
        "the join can finish after the restore"
    );
}

#[test]
fn two_voters_one_down_have_no_quorum_and_no_ready_apiserver() {
    let mut lab = Lab::bare(LabConfig::new(3, 0, 3, jiff::Timestamp::UNIX_EPOCH));
    init(&mut lab);
    lab.advance(Duration::from_secs(8));
    lab.add_member(1, true);
    lab.start_member(1);
    lab.advance(Duration::from_secs(1));
    lab.promote(1).expect("promoted");
    lab.start_control_plane(1);
    lab.advance(Duration::from_secs(10));
    lab.inject(&Fault {
        node: "cp-2".into(),
        kind: FaultKind::PowerOff,
    });
    lab.advance(Duration::from_secs(10));
    assert_eq!(lab.etcd_leader(), None, "2 voters, 1 down: no leader");
    let api = lab.apiserver("cp-1").expect("cp-1's apiserver");
    assert!(!api.ready, "{:?}", api.detail);
    assert!(!lab.endpoint_up());
}
