use std::time::Duration;

use super::*;
use crate::model::{ClusterState, FeedKind, Readiness, SourceKind};

fn apply(c: &mut ClusterState, events: Vec<ClusterEvent>) {
    for ev in events {
        c.apply(ev);
    }
}

fn cluster(lab: &mut BareLab) -> ClusterState {
    let mut c = ClusterState::new(SourceKind::Lab, lab.config().endpoint.clone(), lab.now());
    apply(&mut c, lab.events());
    c
}

#[test]
fn a_bare_lab_says_there_is_no_api_and_no_etcd_yet() {
    let mut lab = BareLab::new(LabConfig::default());
    let c = cluster(&mut lab);
    assert!(c.nodes.is_empty() && c.etcd.members.is_empty() && c.leases.is_empty());
    assert!(c.tokens.is_empty() && c.apiservers.is_empty());
    assert_eq!(c.endpoint.ready, Some(false));
    assert!(c.endpoint.detail.as_deref().unwrap().contains("no API yet"));
    let nodes = c
        .stale(FeedKind::Nodes)
        .expect("nodes say why they are empty");
    assert!(nodes.why.contains("no API yet"), "{}", nodes.why);
    let etcd = c.stale(FeedKind::Etcd).expect("etcd says why it is empty");
    assert!(etcd.why.contains("no etcd yet"), "{}", etcd.why);
}

#[test]
fn membership_grows_learner_then_voter_and_nodes_turn_ready_after_the_cni() {
    let mut lab = BareLab::new(LabConfig::new(3, 1, 1, jiff::Timestamp::UNIX_EPOCH));
    lab.make_ca(Some(lab.config().endpoint.clone()));
    lab.add_member(0, false);
    lab.start_control_plane(0);
    lab.register_node(0);
    let token = lab.create_token();
    lab.upload_certs();
    assert!(lab.valid_token(&token));
    lab.advance(Duration::from_secs(5));
    assert_eq!(lab.lease_holder("kube-scheduler").as_deref(), Some("cp-1"));
    assert!(!lab.node_ready(0), "no CNI yet");
    lab.apply_cni();
    lab.advance(Duration::from_secs(30));
    assert!(lab.node_ready(0));
    lab.add_member(1, true);
    let c = cluster(&mut lab);
    let learner = c
        .etcd
        .members
        .iter()
        .find(|m| m.is_learner)
        .expect("learner");
    assert!(!learner.reachable && learner.name.is_empty());
    lab.start_member(1);
    lab.promote(1);
    lab.register_node(1);
    lab.advance(Duration::from_secs(15));
    let c = cluster(&mut lab);
    assert_eq!(c.etcd.members.iter().filter(|m| !m.is_learner).count(), 2);
    assert_eq!(c.nodes.get("cp-2").unwrap().ready, Readiness::Ready);
    assert!(c.cert_key_expires_in_s().is_some_and(|s| s > 7000));
    // 3 h later the certificate key is gone with its owner token; the join token stays.
    lab.advance(Duration::from_secs(3 * 3600));
    let c = cluster(&mut lab);
    assert!(lab.cert_key().is_none() && !c.cert_key.secret_present);
    assert!(lab.valid_token(&token));
    lab.advance(Duration::from_secs(24 * 3600));
    assert!(!lab.valid_token(&token));
    assert!(cluster(&mut lab).tokens.is_empty());
}
