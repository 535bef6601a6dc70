//! Checks that need the lab's insides.

use std::time::Duration;

use super::raft::{ELECTION_MS, Raft};
use super::{Lab, LabConfig, stream};
use hatui_model::{Fault, FaultKind};

fn fault(node: &str, kind: FaultKind) -> Fault {
    Fault {
        node: node.into(),
        kind,
    }
}

/// Jumping between due moments must give exactly what visiting every 10 ms step gives.
#[test]
fn jumping_ahead_equals_stepping_every_10ms() {
    for (masters, seed) in [(3, 21), (1, 3), (2, 4), (5, 5), (3, 6)] {
        same_either_way(masters, seed);
    }
}

fn same_either_way(masters: usize, seed: u64) {
    let script = |exact| {
        let cfg = LabConfig::new(masters, 4, seed, LabConfig::default().start);
        let mut lab = Lab::build(cfg, exact);
        let mut events = lab.full_state();
        let mut go = |lab: &mut Lab, ms| events.extend(lab.advance(Duration::from_millis(ms)));
        go(&mut lab, 4_321);
        let leader = lab.etcd_leader().unwrap();
        lab.inject(&fault(&leader, FaultKind::PowerOff));
        go(&mut lab, 30_000);
        lab.inject(&fault("worker-2", FaultKind::StopKubelet));
        lab.inject(&fault("cp-3", FaultKind::StopControlPlane));
        go(&mut lab, 75_000);
        lab.inject(&fault(&leader, FaultKind::Restore));
        lab.inject(&fault("cp-3", FaultKind::Restore));
        go(&mut lab, 60_000);
        // Quorum loss long enough for the lease holders to give up and restart.
        lab.inject(&fault("cp-1", FaultKind::PowerOff));
        lab.inject(&fault("cp-2", FaultKind::PowerOff));
        go(&mut lab, 25_005);
        lab.inject(&fault("cp-2", FaultKind::Restore));
        lab.inject(&fault("cp-3", FaultKind::StopKubelet));
        lab.inject(&fault("cp-3", FaultKind::StopControlPlane));
        go(&mut lab, 40_000);
        lab.inject(&fault("cp-3", FaultKind::Restore));
        lab.inject(&fault("cp-1", FaultKind::Restore));
        go(&mut lab, 70_000);
        (events, lab.etcd_term(), lab.etcd_leader())
    };
    let (exact, jumped) = (script(true), script(false));
    let first = exact.0.iter().zip(&jumped.0).position(|(a, b)| a != b);
    if let Some(i) = first {
        let from = i.saturating_sub(3);
        panic!(
            "{masters} masters, seed {seed}: event {i} differs\nexact:  {:#?}\njumped: {:#?}",
            &exact.0[from..=i],
            &jumped.0[from..=i]
        );
    }
    assert_eq!(exact, jumped);
}

/// The same with each load balancer and the faults on etcd alone, partitions and deletes.
#[test]
fn jumping_ahead_equals_stepping_with_every_balancer_and_the_newer_faults() {
    use super::LbKind;
    for (lb, seed) in [
        (LbKind::Nlb, 8),
        (LbKind::Haproxy, 9),
        (LbKind::KubeVip, 10),
    ] {
        let script = |exact| {
            let cfg = LabConfig::new(3, 2, seed, LabConfig::default().start);
            let mut lab = Lab::build(LabConfig { lb, ..cfg }, exact);
            let mut events = lab.full_state();
            let mut go = |lab: &mut Lab, ms| events.extend(lab.advance(Duration::from_millis(ms)));
            go(&mut lab, 1_234);
            let leader = lab.etcd_leader().unwrap();
            lab.inject(&fault(&leader, FaultKind::Partition));
            go(&mut lab, 20_000);
            lab.inject(&fault("cp-2", FaultKind::StopEtcd));
            go(&mut lab, 3_000);
            lab.inject(&fault("cp-2", FaultKind::StopEtcd));
            go(&mut lab, 30_000);
            lab.inject(&fault(&leader, FaultKind::Restore));
            lab.inject(&fault("cp-3", FaultKind::DeleteNode));
            go(&mut lab, 40_000);
            lab.inject(&fault("cp-3", FaultKind::Restore));
            go(&mut lab, 30_000);
            (events, lab.etcd_term(), lab.etcd_leader())
        };
        assert_eq!(script(true), script(false), "{lb}");
    }
}

fn raft_until(raft: &mut Raft, from: i64, to: i64, done: impl Fn(&Raft) -> bool) -> Option<i64> {
    (from..=to).step_by(10).find(|&t| {
        raft.step(t);
        done(raft)
    })
}

#[test]
fn a_leader_that_loses_quorum_steps_down_after_an_election_timeout() {
    let mut raft = Raft::new(3, 3, 0, stream(1, 1));
    raft.step(100);
    raft.kill(1);
    raft.kill(2);
    let down = raft_until(&mut raft, 110, 5_000, |r| r.leader().is_none()).unwrap();
    assert!((ELECTION_MS..=ELECTION_MS + 100).contains(&down), "{down}");
    let term = raft.term();
    raft_until(&mut raft, down, 60_000, |_| false);
    assert_eq!(
        raft.term(),
        term,
        "pre-vote: a candidate that cannot win does not bump the term"
    );
    raft.start(1, 60_000);
    let back = raft_until(&mut raft, 60_010, 65_000, |r| r.leader().is_some()).unwrap();
    assert!(back - 60_000 <= 2_100, "{back}");
    assert_eq!(raft.term(), term + 1);
}

#[test]
fn a_clean_stop_transfers_to_the_most_up_to_date_follower() {
    let mut raft = Raft::new(3, 3, 0, stream(2, 1));
    raft.step(100);
    let term = raft.term();
    raft.stop_clean(0, 100);
    assert_eq!(raft.leader(), Some(0), "it leads until the transfer lands");
    let moved = raft_until(&mut raft, 110, 1_000, |r| r.leader() != Some(0)).unwrap();
    assert!(moved - 100 <= 60, "{moved}");
    assert!(raft.leader().is_some_and(|l| l != 0));
    assert!(!raft.members[0].up);
    assert_eq!(raft.term(), term + 1);
}

#[test]
fn a_restored_member_catches_up_and_cannot_win_while_behind() {
    let mut raft = Raft::new(3, 3, 0, stream(3, 1));
    raft.kill(2);
    raft_until(&mut raft, 10, 30_000, |_| false);
    let behind = raft.members[2].index;
    raft.start(2, 30_000);
    raft_until(&mut raft, 30_010, 31_000, |_| false);
    assert!(raft.members[2].index > behind);
    assert_eq!(raft.members[2].index, raft.members[0].index);
    assert_eq!(
        raft.leader(),
        Some(0),
        "a rejoining member does not disturb the leader"
    );
}

/// kubeadm's periods from the init time: the CA 10 years, each apiserver's cert 1 year;
/// and a fresh state's timeline says nothing about them.
#[test]
fn the_lab_shows_kubeadm_certificates_issued_at_init() {
    use hatui_model::{ClusterState, SourceKind};

    let lab = Lab::new(LabConfig::new(3, 1, 7, LabConfig::default().start));
    let mut state = ClusterState::new(SourceKind::Lab, "lb", lab.now());
    for ev in lab.full_state() {
        state.apply(ev);
    }
    let left = |name: &str| state.certificates[name].expires_in_s(state.now);
    let init_ago = super::INIT_BEFORE_START_MS / 1_000;
    assert_eq!(left("CA"), 3_650 * 86_400 - init_ago);
    for node in ["cp-1", "cp-2", "cp-3"] {
        let cert = &state.certificates[&format!("apiserver {node}")];
        assert_eq!(cert.node.as_deref(), Some(node));
        assert_eq!(cert.expires_in_s(state.now), 365 * 86_400 - init_ago);
    }
    assert!(
        state.certificates["apiserver cp-2"]
            .sans
            .contains(&"10.0.0.12".to_string())
    );
    assert_eq!(state.certificates.len(), 4);
    let noise = state
        .timeline
        .iter()
        .any(|e| e.text.contains("certificate"));
    assert!(!noise, "no timeline entries for certificates at start");
}

/// What a real etcd following the lab is told: a stopped kubelet leaves etcd running, moved
/// manifests stop it cleanly within about a second (inotify), power off kills it, restore starts it.
#[test]
fn etcd_hosts_follow_the_kubelet_and_the_power() {
    use super::EtcdHost::{PoweredOff, Running, Stopped};
    use super::hosts::MANIFEST_WATCH_MS;
    let mut lab = Lab::new(LabConfig::new(3, 1, 7, LabConfig::default().start));
    let secs = |s: u64| Duration::from_secs(s);
    assert_eq!(lab.etcd_hosts(), [Running; 3]);
    lab.inject(&fault("cp-1", FaultKind::StopKubelet));
    lab.advance(secs(120));
    assert_eq!(
        lab.etcd_hosts(),
        [Running; 3],
        "kubelet stop touches no pod"
    );
    lab.inject(&fault("cp-2", FaultKind::StopControlPlane));
    lab.advance(Duration::from_millis(MANIFEST_WATCH_MS as u64 - 100));
    assert_eq!(lab.etcd_hosts(), [Running; 3], "until the kubelet looks");
    lab.advance(secs(1));
    assert_eq!(lab.etcd_hosts(), [Running, Stopped, Running]);
    lab.inject(&fault("cp-3", FaultKind::PowerOff));
    assert_eq!(lab.etcd_hosts(), [Running, Stopped, PoweredOff], "at once");
    for node in ["cp-1", "cp-2", "cp-3"] {
        lab.inject(&fault(node, FaultKind::Restore));
    }
    lab.advance(secs(5));
    assert_eq!(
        lab.etcd_hosts(),
        [Running, Running, PoweredOff],
        "cp-3 is booting"
    );
    lab.advance(secs(40 + 3));
    assert_eq!(lab.etcd_hosts(), [Running; 3], "booted after 45 s");
}

/// `systemctl poweroff` stops everything with SIGTERM first: etcd hands its leadership over
/// at once. A power cut does not: the others wait an election timeout. Either way the host
/// is back only after its boot (`boot_time_ms`), not a second after its power-on.
#[test]
fn a_shutdown_hands_over_a_power_cut_does_not_and_both_boot_before_they_are_back() {
    for (kind, handed_over) in [(FaultKind::Shutdown, true), (FaultKind::PowerOff, false)] {
        let cfg = LabConfig::new(3, 1, 3, LabConfig::default().start);
        let mut lab = Lab::new(LabConfig {
            boot_time_ms: 30_000,
            ..cfg
        });
        lab.advance(Duration::from_secs(3));
        let leader = lab.etcd_leader().expect("a leader");
        lab.inject(&fault(&leader, kind));
        lab.advance(Duration::from_millis(300));
        let now = lab.etcd_leader();
        assert_eq!(
            now.as_ref().is_some_and(|l| *l != leader),
            handed_over,
            "{kind:?}: {now:?}"
        );
        lab.advance(Duration::from_secs(10));
        let events = lab.inject(&fault(&leader, FaultKind::Restore));
        assert!(
            format!("{events:?}").contains("it boots"),
            "{kind:?}: {events:?}"
        );
        lab.advance(Duration::from_secs(29));
        let ready = |lab: &Lab| lab.apiserver(&leader).is_some_and(|a| a.ready);
        assert!(!ready(&lab), "{kind:?}: still booting");
        lab.advance(Duration::from_secs(10));
        assert!(ready(&lab), "{kind:?}: booted, pods started");
    }
}

/// With a real etcd answering for the lab, the lab publishes no etcd view of its own, so
/// the two never overwrite each other in the etcd pane; everything else still flows.
#[test]
fn an_external_etcd_silences_only_the_labs_own_etcd() {
    use hatui_model::{ClusterEvent, FeedKind};
    let is_etcd = |e: &ClusterEvent| {
        matches!(
            e,
            ClusterEvent::Etcd(_) | ClusterEvent::Feed(FeedKind::Etcd, _)
        )
    };
    let own = Lab::new(LabConfig::default());
    assert!(own.publishable(own.full_state()).iter().any(is_etcd));
    let mut lab = Lab::new(LabConfig {
        external_etcd: true,
        ..LabConfig::default()
    });
    let first = lab.publishable(lab.full_state());
    assert!(!first.iter().any(is_etcd));
    assert!(
        first
            .iter()
            .any(|e| matches!(e, ClusterEvent::NodeUpsert(_)))
    );
    lab.inject(&fault("cp-1", FaultKind::PowerOff));
    let later = lab.advance(Duration::from_secs(5));
    assert!(later.iter().any(is_etcd), "the lab still simulates etcd");
    assert!(!lab.publishable(later).iter().any(is_etcd));
}

/// The lab's panes never go stale by age while it runs (an hour of lab time, quiet), and
/// while the endpoint is down the API panes say so with the age of their frozen data.
#[test]
fn lab_panes_stay_current_and_freeze_with_their_age_while_the_api_is_down() {
    use hatui_model::{ClusterEvent, ClusterState, FeedKind, SourceKind};
    let mut lab = Lab::new(LabConfig::default());
    let mut c = ClusterState::new(SourceKind::Lab, "lab-api:6443", lab.now());
    let apply = |c: &mut ClusterState, events: Vec<ClusterEvent>| {
        for ev in events {
            c.apply(ev);
        }
    };
    apply(&mut c, lab.full_state());
    for _ in 0..60 {
        apply(&mut c, lab.advance(Duration::from_secs(60)));
        assert_eq!(c.stale_feeds(), [], "at {}", c.now);
    }
    for node in ["cp-2", "cp-3"] {
        apply(&mut c, lab.inject(&fault(node, FaultKind::PowerOff)));
    }
    apply(&mut c, lab.advance(Duration::from_secs(2)));
    let down_at = c.now;
    apply(&mut c, lab.advance(Duration::from_secs(40)));
    let nodes = c
        .stale(FeedKind::Nodes)
        .expect("frozen while the API is down");
    let age = c.now.as_second() - down_at.as_second();
    assert!((age..=age + 2).contains(&nodes.age_s.unwrap()), "{nodes:?}");
    assert!(
        nodes
            .why
            .starts_with("API endpoint lab-api.hatui.local:6443: "),
        "{nodes:?}"
    );
    assert_eq!(c.stale(FeedKind::Etcd), None, "etcd is asked directly");
}

/// kubeadm's livenessProbe on /livez (period 10 s, failureThreshold 8): an apiserver whose
/// local etcd member is gone is killed after ~80 s and started again; started without etcd
/// it is under its startupProbe (24 x 10 s), so it is killed again only ~240 s later plus
/// the kubelet's back-off (10 s for a second exit), not every ~80 s.
#[test]
fn an_apiserver_without_its_etcd_is_restarted_by_its_liveness_then_startup_probe() {
    use super::hosts::Component;
    use hatui_model::PodState;

    for seed in [1, 7] {
        let mut lab = Lab::new(LabConfig::new(3, 1, seed, LabConfig::default().start));
        lab.advance(Duration::from_millis(2_345 * seed));
        let restarts = |lab: &Lab| lab.static_pods("cp-2").unwrap().apiserver.restarts;
        let before = restarts(&lab);
        let mut changes = Vec::new();
        lab.hosts.stop_for_good(1, Component::Etcd, &mut changes);
        lab.apply_pod_changes(&changes);
        let mut restarted = Vec::new();
        for s in 1..=700 {
            lab.advance(Duration::from_secs(1));
            if restarts(&lab) > before + restarted.len() as u32 {
                restarted.push(s);
            }
        }
        let first = restarted[0];
        assert!(
            (70..=82).contains(&first),
            "seed {seed}: restarted {first} s after etcd went ({restarted:?})"
        );
        // Started at `first`: 10 s of initial delay and 24 failed startup probes 10 s
        // apart (240 s), then the second exit's 10 s of back-off; the third waits 20 s.
        assert!(
            (248..=252).contains(&(restarted[1] - first)),
            "seed {seed}: and again: {restarted:?}"
        );
        assert!(
            (258..=262).contains(&(restarted[2] - restarted[1])),
            "seed {seed}: {restarted:?}"
        );
        let api = lab.static_pods("cp-2").unwrap().apiserver;
        assert!(api.restarts >= before + 2, "{api:?}");
        assert_ne!(api.state, PodState::Running, "still not ready without etcd");
        let others = lab.static_pods("cp-1").unwrap().apiserver;
        assert_eq!(
            others.state,
            PodState::Running,
            "healthy masters are left alone"
        );
    }
}
