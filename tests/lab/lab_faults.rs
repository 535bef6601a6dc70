//! The faults beyond power and kubelet, on the lab's virtual clock: etcd stopped alone,
//! a master partitioned off the others, a deleted node's stale etcd member.

use std::time::Duration;

use hatui_lab::{EtcdHost, Lab, LabConfig};
use hatui_model::{ClusterEvent, ClusterState, EtcdMember, Fault, FaultKind, SourceKind};

fn lab(seed: u64) -> Lab {
    Lab::new(LabConfig::new(3, 2, seed, LabConfig::default().start))
}

fn inject(lab: &mut Lab, node: &str, kind: FaultKind) -> Vec<ClusterEvent> {
    lab.inject(&Fault {
        node: node.into(),
        kind,
    })
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn member(lab: &Lab, name: &str) -> EtcdMember {
    let mut members = lab.etcd_status().members.into_iter();
    members.find(|m| m.name == name).unwrap()
}

/// Advances a second at a time until `done`; returns the seconds it took.
fn until(lab: &mut Lab, limit: u64, mut done: impl FnMut(&Lab) -> bool) -> Option<u64> {
    (1..=limit).find(|_| {
        lab.advance(secs(1));
        done(lab)
    })
}

#[test]
fn stopping_etcd_alone_leaves_a_running_apiserver_that_cannot_serve() {
    let mut lab = lab(3);
    lab.advance(secs(2));
    let events = inject(&mut lab, "cp-2", FaultKind::StopEtcd);
    let note = events.iter().find_map(|e| match e {
        ClusterEvent::Note(n) => Some(n.clone()),
        _ => None,
    });
    assert!(note.unwrap().contains("crictl stop"));
    assert_eq!(
        lab.etcd_hosts()[1],
        EtcdHost::Stopped,
        "a real etcd gets SIGTERM"
    );
    let api = lab.apiserver("cp-2").unwrap();
    assert!(!api.ready);
    assert_eq!(api.detail.as_deref(), Some("local etcd member down"));
    // Its apiserver still listens: the NLB's TCP check keeps passing.
    lab.advance(Duration::from_millis(500));
    assert!(lab.endpoint().backend("cp-2").unwrap().serving);
    let gone = member(&lab, "cp-2");
    assert!(!gone.reachable, "out of quorum: {gone:?}");
    let healthy = lab
        .etcd_status()
        .members
        .iter()
        .filter(|m| m.reachable)
        .count();
    assert_eq!(healthy, 2);
    // The kubelet starts it again at its next sync ...
    let back = until(&mut lab, 10, |l| l.apiserver("cp-2").unwrap().ready).unwrap();
    assert!(back <= 5, "{back} s");
    // ... but a second stop meets its crash back-off: 10 s.
    inject(&mut lab, "cp-2", FaultKind::StopEtcd);
    lab.advance(secs(9));
    assert_eq!(lab.etcd_hosts()[1], EtcdHost::Stopped);
    assert!(!lab.apiserver("cp-2").unwrap().ready);
    let back = until(&mut lab, 10, |l| l.etcd_hosts()[1] == EtcdHost::Running);
    assert!(back.is_some());
    // A third waits 20 s, unless the kubelet is restarted (R): its back-off is in memory.
    lab.advance(secs(3));
    inject(&mut lab, "cp-2", FaultKind::StopEtcd);
    lab.advance(secs(5));
    assert_eq!(lab.etcd_hosts()[1], EtcdHost::Stopped);
    inject(&mut lab, "cp-2", FaultKind::Restore);
    let back = until(&mut lab, 5, |l| l.apiserver("cp-2").unwrap().ready);
    assert!(back.is_some());
}

#[test]
fn a_partitioned_leader_keeps_answering_without_a_leader_while_the_majority_elects() {
    for seed in 1..=4 {
        let mut lab = lab(seed);
        lab.advance(secs(2));
        let old = lab.etcd_leader().unwrap();
        let term = lab.etcd_term();
        inject(&mut lab, &old, FaultKind::Partition);
        let took = until(&mut lab, 5, |l| l.etcd_leader().is_some_and(|n| n != old));
        assert!(took.is_some_and(|s| s <= 3), "seed {seed}: {took:?}");
        let cut = member(&lab, &old);
        assert!(cut.reachable, "it answers Status: {cut:?}");
        assert!(!cut.is_leader);
        assert_eq!(cut.errors, ["etcdserver: no leader"]);
        let status = lab.etcd_status();
        let leader = status.members.iter().find(|m| m.is_leader).unwrap();
        assert_eq!(status.leader, Some(leader.id));
        assert!(leader.errors.is_empty());
        lab.advance(secs(30));
        let cut = member(&lab, &old);
        assert_eq!(cut.errors, ["etcdserver: no leader"]);
        assert_eq!(
            cut.raft_term, term,
            "pre-vote: the minority never bumps the term"
        );
        let api = lab.apiserver(&old).unwrap();
        assert!(!api.ready);
        assert!(api.detail.unwrap().contains("cut off"));
        let new_term = lab.etcd_term();
        inject(&mut lab, &old, FaultKind::Restore);
        lab.advance(secs(3));
        let healed = member(&lab, &old);
        assert!(healed.errors.is_empty(), "{healed:?}");
        assert_eq!(lab.etcd_term(), new_term, "healing disrupts nothing");
        assert!(lab.apiserver(&old).unwrap().ready);
    }
}

#[test]
fn a_partitioned_follower_has_no_leader_and_the_others_keep_theirs() {
    let mut lab = lab(5);
    lab.advance(secs(2));
    let leader = lab.etcd_leader().unwrap();
    let follower = ["cp-1", "cp-2", "cp-3"]
        .into_iter()
        .find(|n| *n != leader)
        .unwrap();
    inject(&mut lab, follower, FaultKind::Partition);
    lab.advance(secs(5));
    assert_eq!(lab.etcd_leader().as_deref(), Some(leader.as_str()));
    assert_eq!(member(&lab, follower).errors, ["etcdserver: no leader"]);
}

#[test]
fn a_deleted_master_leaves_a_stale_member_with_the_exact_remove_command() {
    let mut lab = lab(2);
    let mut state = ClusterState::new(SourceKind::Lab, "lab-api.hatui.local:6443", lab.now());
    let apply = |state: &mut ClusterState, events: Vec<ClusterEvent>| {
        for e in events {
            state.apply(e);
        }
    };
    apply(&mut state, lab.full_state());
    lab.advance(secs(2));
    let stale = |s: &ClusterState| s.etcd_warnings().into_iter().find(|w| w.contains("stale"));
    assert_eq!(stale(&state), None);
    let id = member(&lab, "cp-3").id;
    let events = inject(&mut lab, "cp-3", FaultKind::DeleteNode);
    apply(&mut state, events);
    apply(&mut state, lab.advance(secs(5)));
    assert!(lab.node("cp-3").is_none());
    assert!(state.nodes.get("cp-3").is_none());
    let warning = stale(&state).expect("a stale member warning");
    assert!(
        warning.contains(&format!("etcdctl member remove {id:x}")),
        "{warning}"
    );
    // Relists after the endpoint flaps do not bring the Node back.
    apply(&mut state, lab.advance(secs(60)));
    assert!(state.nodes.get("cp-3").is_none());
    inject(&mut lab, "cp-3", FaultKind::Restore)
        .into_iter()
        .for_each(|e| {
            state.apply(e);
        });
    apply(&mut state, lab.advance(secs(10)));
    assert!(
        state.nodes.get("cp-3").is_some(),
        "the kubelet registered it again"
    );
    assert_eq!(stale(&state), None);
}

#[test]
fn new_faults_that_make_no_sense_do_nothing_and_say_why() {
    let mut lab = lab(1);
    for (node, kind, why) in [
        ("worker-1", FaultKind::StopEtcd, "no etcd runs there"),
        ("worker-1", FaultKind::Partition, "not a control-plane node"),
        ("worker-1", FaultKind::DeleteNode, "no etcd member"),
    ] {
        let events = inject(&mut lab, node, kind);
        let said = events.iter().any(|e| {
            matches!(e, ClusterEvent::Note(n) if n.contains("nothing happened") && n.contains(why))
        });
        assert!(said, "{kind:?}: {events:?}");
    }
    inject(&mut lab, "cp-2", FaultKind::Partition);
    let again = inject(&mut lab, "cp-2", FaultKind::Partition);
    assert!(
        again
            .iter()
            .any(|e| matches!(e, ClusterEvent::Note(n) if n.contains("already cut off")))
    );
}
