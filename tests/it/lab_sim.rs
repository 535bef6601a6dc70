//! The embedded lab behaves like a kubeadm HA cluster, on the virtual clock.

use std::time::Duration;

use hatui::lab::{Lab, LabConfig};
use hatui::model::{
    ClusterEvent, ClusterState, Fault, FaultKind, FeedKind, PodState, Readiness, SourceKind,
};

const MS: Duration = Duration::from_millis(10);

fn lab(seed: u64) -> Lab {
    Lab::new(LabConfig::new(3, 2, seed, LabConfig::default().start))
}

fn fault(node: &str, kind: FaultKind) -> Fault {
    Fault {
        node: node.into(),
        kind,
    }
}

/// Advances in 10 ms steps until `done` holds; returns the time it took.
fn until(lab: &mut Lab, limit: Duration, mut done: impl FnMut(&Lab) -> bool) -> Option<Duration> {
    let mut waited = Duration::ZERO;
    while waited < limit {
        lab.advance(MS);
        waited += MS;
        if done(lab) {
            return Some(waited);
        }
    }
    None
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn a_new_lab_is_warm_and_starts_at_its_start() {
    let cfg = LabConfig::default();
    let lab = Lab::new(cfg.clone());
    assert_eq!(lab.now(), cfg.start);
    assert_eq!(lab.etcd_leader().as_deref(), Some("cp-1"));
    assert!(lab.endpoint().ready == Some(true));
    for name in ["cp-1", "cp-2", "cp-3", "worker-1", "worker-2"] {
        assert_eq!(lab.node(name).unwrap().ready, Readiness::Ready, "{name}");
    }
    assert!(lab.lease_holder("kube-scheduler").is_some());
    assert!(lab.lease_holder("kube-controller-manager").is_some());
    let owner = lab
        .cert_key()
        .owner_token_id
        .expect("kubeadm-certs has an owner");
    let owner = lab.tokens().into_iter().find(|t| t.id == owner).unwrap();
    let left = owner.expires_in_s(lab.now()).unwrap();
    assert_eq!(left, 95 * 60, "1 h 35 min left on the certificate key");
    let status = lab.etcd_status();
    assert_eq!(status.members.len(), 3);
    assert!(
        status
            .members
            .iter()
            .all(|m| m.reachable && m.version == "3.5.21")
    );
    assert_eq!(status.members[1].client_urls, ["https://10.0.0.12:2379"]);
}

#[test]
fn full_state_lists_every_object() {
    let lab = lab(4);
    let events = lab.full_state();
    let count = |f: fn(&ClusterEvent) -> bool| events.iter().filter(|e| f(e)).count();
    assert!(matches!(events[0], ClusterEvent::Clock(t) if t == lab.now()));
    assert_eq!(count(|e| matches!(e, ClusterEvent::Endpoint(_))), 1);
    assert_eq!(count(|e| matches!(e, ClusterEvent::ApiServer(_))), 3);
    assert_eq!(count(|e| matches!(e, ClusterEvent::NodeUpsert(_))), 5);
    assert_eq!(count(|e| matches!(e, ClusterEvent::StaticPods(_))), 3);
    assert_eq!(count(|e| matches!(e, ClusterEvent::Etcd(_))), 1);
    assert_eq!(count(|e| matches!(e, ClusterEvent::LeaseUpsert(_))), 2);
    assert_eq!(count(|e| matches!(e, ClusterEvent::TokenUpsert(_))), 2);
    assert_eq!(count(|e| matches!(e, ClusterEvent::CertKey(_))), 1);
    assert_eq!(
        count(|e| matches!(e, ClusterEvent::Feed(_, s) if s.error.is_none())),
        5
    );
}

#[test]
fn powering_off_the_leader_reelects_after_an_election_timeout() {
    for seed in 1..=8 {
        let mut lab = lab(seed);
        lab.advance(Duration::from_millis(1_230 + 70 * seed));
        let old = lab.etcd_leader().unwrap();
        let term = lab.etcd_term();
        let events = lab.inject(&fault(&old, FaultKind::PowerOff));
        assert!(matches!(&events[0], ClusterEvent::Note(n) if n.contains("power cut")));
        assert_eq!(lab.etcd_leader(), None);
        let took = until(&mut lab, secs(3), |l| l.etcd_leader().is_some()).expect("re-elected");
        assert!(
            took >= Duration::from_millis(900) && took <= Duration::from_millis(2_100),
            "seed {seed}: {took:?}"
        );
        assert_ne!(lab.etcd_leader().unwrap(), old);
        assert!(lab.etcd_term() > term);
        let dead = lab
            .etcd_status()
            .members
            .into_iter()
            .find(|m| m.name == old);
        assert_eq!(
            dead.unwrap().error.as_deref(),
            Some("context deadline exceeded")
        );
    }
}

/// Three elections within minutes is what an expert calls flapping; after the window it
/// is history, not a warning.
#[test]
fn repeated_leader_power_offs_are_flapping_until_the_window_passes() {
    let mut lab = lab(3);
    let flapping = |l: &Lab| {
        l.etcd_status()
            .warnings()
            .iter()
            .any(|w| w.contains("flapping"))
    };
    assert!(!flapping(&lab));
    for round in 1..=3 {
        let leader = lab.etcd_leader().unwrap();
        lab.inject(&fault(&leader, FaultKind::PowerOff));
        until(&mut lab, secs(3), |l| l.etcd_leader().is_some()).expect("re-elected");
        assert_eq!(lab.etcd_status().leader_changes.len(), round);
        lab.inject(&fault(&leader, FaultKind::Restore));
        // Its boot (45 s), then it rejoins.
        lab.advance(secs(60));
    }
    assert!(flapping(&lab), "{:?}", lab.etcd_status().warnings());
    lab.advance(secs(5 * 60));
    assert!(!flapping(&lab));
    assert!(lab.etcd_status().leader_changes.is_empty());
}

#[test]
fn a_clean_stop_of_the_leader_hands_over_within_tens_of_ms() {
    let mut lab = lab(2);
    lab.advance(secs(5));
    let old = lab.etcd_leader().unwrap();
    let term = lab.etcd_term();
    lab.inject(&fault(&old, FaultKind::StopControlPlane));
    lab.advance(Duration::from_millis(900));
    assert_eq!(
        lab.etcd_leader().as_ref(),
        Some(&old),
        "the kubelet's inotify watch has not fired yet"
    );
    let took = until(&mut lab, secs(1), |l| {
        l.etcd_leader().as_ref() != Some(&old)
    })
    .unwrap();
    assert!(
        took <= Duration::from_millis(200),
        "{took:?} after the kubelet saw the manifests go (about a second)"
    );
    assert!(lab.etcd_leader().is_some(), "no leaderless gap");
    assert_eq!(lab.etcd_term(), term + 1);
    let member = lab
        .etcd_status()
        .members
        .into_iter()
        .find(|m| m.name == old)
        .unwrap();
    assert!(!member.reachable);
    assert!(member.error.unwrap().contains("connection refused"));
    // Pods are read through the load balancer, which still sends some requests to the
    // stopped apiserver: the next answered one shows them gone.
    until(&mut lab, secs(3), |l| l.endpoint().ready == Some(true)).unwrap();
    let pods = lab.static_pods(&old).unwrap();
    assert!(pods.each().iter().all(|(_, p)| p.state == PodState::Absent));
}

#[test]
fn losing_quorum_leaves_no_leader_and_no_api_until_restored() {
    let mut lab = lab(3);
    lab.advance(secs(2));
    lab.inject(&fault("cp-2", FaultKind::PowerOff));
    lab.advance(secs(3));
    lab.inject(&fault("cp-1", FaultKind::PowerOff));
    lab.advance(secs(5));
    assert_eq!(lab.etcd_leader(), None);
    let term = lab.etcd_term();
    lab.advance(secs(30));
    assert_eq!(lab.etcd_leader(), None);
    assert_eq!(
        lab.etcd_term(),
        term,
        "pre-vote: a lone member does not bump the term"
    );
    assert_eq!(lab.endpoint().ready, Some(false));
    let api = lab.apiserver("cp-3").unwrap();
    assert!(!api.ready);
    assert_eq!(api.detail.as_deref(), Some("etcd: no quorum"));
    lab.inject(&fault("cp-2", FaultKind::Restore));
    // Its boot (45 s), then etcd and the apiservers.
    let back = until(&mut lab, secs(60), |l| l.endpoint().ready == Some(true));
    assert!(back.is_some(), "the API returns once quorum does");
    assert!(lab.etcd_leader().is_some());
    assert!(lab.etcd_term() > term);
}

#[test]
fn while_the_endpoint_is_down_api_feeds_freeze_and_relist_after() {
    let mut lab = lab(3);
    let mut events = lab.inject(&fault("cp-2", FaultKind::PowerOff));
    events.extend(lab.inject(&fault("cp-3", FaultKind::PowerOff)));
    events.extend(lab.advance(secs(2)));
    let down =
        |e: &ClusterEvent| matches!(e, ClusterEvent::Feed(FeedKind::Nodes, s) if s.error.is_some());
    assert!(events.iter().any(down));
    let leaderless = |e: &ClusterEvent| matches!(e, ClusterEvent::Etcd(s) if s.leader.is_none());
    assert!(
        events.iter().any(leaderless),
        "etcd is asked directly: its changes still show"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ClusterEvent::Feed(FeedKind::Etcd, _)))
    );
    events = lab.advance(secs(120));
    let frozen = |e: &ClusterEvent| {
        matches!(
            e,
            ClusterEvent::NodeUpsert(_)
                | ClusterEvent::LeaseUpsert(_)
                | ClusterEvent::StaticPods(_)
                | ClusterEvent::TokenUpsert(_)
                | ClusterEvent::TokenRemoved(_)
                | ClusterEvent::CertKey(_)
        )
    };
    assert!(!events.iter().any(frozen), "{events:?}");
    lab.inject(&fault("cp-2", FaultKind::Restore));
    events = lab.advance(secs(60));
    let up = |e: &ClusterEvent| matches!(e, ClusterEvent::Feed(FeedKind::Leases, s) if s.error.is_none());
    assert!(events.iter().any(up));
    let nodes = events
        .iter()
        .filter(|e| matches!(e, ClusterEvent::NodeUpsert(_)));
    assert!(nodes.count() >= 5, "re-listed");
}

#[test]
fn a_lease_is_taken_over_when_its_holder_dies() {
    for seed in 1..=4 {
        let mut lab = lab(seed);
        lab.advance(secs(3));
        for name in ["kube-scheduler", "kube-controller-manager"] {
            let mut lab = Lab::new(lab.config().clone());
            lab.advance(Duration::from_millis(500 * seed));
            let before = lab.lease(name).unwrap();
            let holder = lab.lease_holder(name).unwrap();
            lab.inject(&fault(&holder, FaultKind::PowerOff));
            let took = until(&mut lab, secs(30), |l| {
                l.lease_holder(name).is_some_and(|h| h != holder)
            });
            let took = took.expect("taken over");
            // 15 s after the other copy saw the last renewal (up to 2 s before the cut, seen
            // up to 4.4 s after it), at its next jittered try (2 to 4.4 s apart).
            assert!(
                took >= secs(13) && took <= Duration::from_millis(23_800),
                "{name} seed {seed}: {took:?}"
            );
            assert_eq!(lab.lease(name).unwrap().transitions, before.transitions + 1);
        }
    }
}

/// A clean stop (`C`): kube-scheduler releases its lease (ReleaseOnCancel) and another takes
/// it at its next try (2 to 4.4 s apart); kube-controller-manager does not release, so its
/// lease waits out its 15 s, counted from when the other copy saw the last renewal, then
/// its next jittered try.
#[test]
fn a_clean_stop_releases_the_scheduler_lease_but_the_controller_manager_waits_15s() {
    for seed in 1..=6 {
        for (name, fastest, slowest) in [
            (
                "kube-scheduler",
                Duration::ZERO,
                Duration::from_millis(4_500),
            ),
            ("kube-controller-manager", secs(13), secs(24)),
        ] {
            let mut lab = lab(seed);
            lab.advance(Duration::from_millis(700 * seed));
            let before = lab.lease(name).unwrap();
            let holder = lab.lease_holder(name).unwrap();
            lab.inject(&fault(&holder, FaultKind::StopControlPlane));
            let stopped = |l: &Lab| {
                let pods = l.static_pods(&holder).unwrap();
                pods.each().iter().all(|(_, p)| p.state == PodState::Absent)
            };
            until(&mut lab, secs(21), stopped).expect("the kubelet stops the pods");
            let released = lab.lease(name).unwrap().holder_identity.is_none();
            assert_eq!(released, name == "kube-scheduler", "{name} seed {seed}");
            let took = until(&mut lab, secs(30), |l| {
                l.lease_holder(name).is_some_and(|h| h != holder)
            });
            let took = took.expect("taken over");
            assert!(
                took >= fastest && took <= slowest,
                "{name} seed {seed}: {took:?} after the pods stopped"
            );
            assert_eq!(lab.lease(name).unwrap().transitions, before.transitions + 1);
        }
    }
}

#[test]
fn stopping_the_kubelet_only_stops_heartbeats() {
    let mut lab = lab(5);
    lab.advance(secs(3));
    let leader = lab.etcd_leader().unwrap();
    let term = lab.etcd_term();
    let pods = lab.static_pods(&leader).unwrap();
    lab.inject(&fault(&leader, FaultKind::StopKubelet));
    let mut unknown_after = None;
    for s in 1..=70 {
        lab.advance(secs(1));
        if unknown_after.is_none() && lab.node(&leader).unwrap().ready == Readiness::Unknown {
            unknown_after = Some(s);
        }
    }
    let s = unknown_after.expect("node went Unknown");
    assert!((40..=61).contains(&s), "Unknown after {s} s");
    // The node controller marked its pods not ready (containers untouched) and tainted it.
    let marked = lab.static_pods(&leader).unwrap();
    for ((label, was), (_, is)) in pods.each().into_iter().zip(marked.each()) {
        assert_eq!(was.state, PodState::Running, "{label}");
        assert_eq!(is.state, PodState::NotReady, "{label} marked not ready");
        assert!(is.not_ready_but_running(), "{label}: containers still run");
        assert_eq!(is.restarts, was.restarts, "{label} not restarted");
    }
    let taints = lab.node(&leader).unwrap().taints;
    for effect in ["NoSchedule", "NoExecute"] {
        let taint = format!("node.kubernetes.io/unreachable:{effect}");
        assert!(taints.contains(&taint), "{taints:?}");
    }
    assert_eq!(lab.etcd_leader(), Some(leader.clone()), "leader unchanged");
    assert_eq!(lab.etcd_term(), term);
    assert!(lab.etcd_status().members.iter().all(|m| m.reachable));
    assert!(lab.apiserver(&leader).unwrap().ready);
    lab.inject(&fault(&leader, FaultKind::Restore));
    lab.advance(secs(3));
    assert_eq!(lab.node(&leader).unwrap().ready, Readiness::Ready);
    assert_eq!(
        lab.static_pods(&leader).unwrap(),
        pods,
        "reported ready again"
    );
    let taints = lab.node(&leader).unwrap().taints;
    assert!(
        !taints.iter().any(|t| t.contains("unreachable")),
        "{taints:?}"
    );
}

/// After `systemctl stop kubelet` the node Lease stops moving: the state counts down the
/// 50 s grace period (v1.33 kubelets) and the node turns Unknown as the countdown ends.
#[test]
fn a_stopped_kubelet_counts_down_to_not_ready() {
    let mut lab = lab(5);
    lab.advance(secs(3));
    let mut c = ClusterState::new(SourceKind::Lab, "lab", lab.now());
    let feed = |c: &mut ClusterState, events: Vec<ClusterEvent>| {
        events.into_iter().for_each(|e| {
            c.apply(e);
        })
    };
    feed(&mut c, lab.full_state());
    let node = |c: &ClusterState| c.nodes.get("cp-2").unwrap().clone();
    assert_eq!(c.silent(&node(&c)), None, "a healthy kubelet");
    assert!(c.heartbeat_age_s(&node(&c)).unwrap() < 10);
    feed(&mut c, lab.inject(&fault("cp-2", FaultKind::StopKubelet)));
    let last = lab.node_heartbeat("cp-2").unwrap().as_second();
    let mut countdown = Vec::new();
    while node(&c).ready == Readiness::Ready {
        assert!(c.now.as_second() - last < 60, "went Unknown: {countdown:?}");
        feed(&mut c, lab.advance(secs(1)));
        let age = c.now.as_second() - last;
        match c.silent(&node(&c)) {
            Some(h) if node(&c).ready == Readiness::Ready => {
                assert_eq!(h.age_s, age);
                countdown.push(h.not_ready_in_s.unwrap());
            }
            Some(h) => assert_eq!(h.not_ready_in_s, None, "Unknown: no countdown"),
            None => assert!(age <= 12, "silent after {age} s"),
        }
    }
    assert_eq!(countdown.first(), Some(&(50 - 13)), "{countdown:?}");
    assert!(
        countdown.contains(&32),
        "NotReady in 32s at 18 s: {countdown:?}"
    );
    assert!(
        countdown.last().unwrap() <= &1,
        "Unknown as it ends: {countdown:?}"
    );
    assert_eq!(lab.node_heartbeat("cp-2").unwrap().as_second(), last);
}

/// A power cut of the master holding the kube-controller-manager Lease: no node
/// controller runs until another takes the Lease, and the new one counts the grace period
/// from its takeover. The countdown waits meanwhile, then restarts and ends as the node
/// turns Unknown (it used to reach 0 while the node stayed Ready for 13 s more).
#[test]
fn the_countdown_restarts_at_a_controller_manager_takeover() {
    use hatui::model::GraceFrom;
    let mut lab = lab(5);
    lab.advance(secs(3));
    let mut c = ClusterState::new(SourceKind::Lab, "lab", lab.now());
    let feed = |c: &mut ClusterState, events: Vec<ClusterEvent>| {
        events.into_iter().for_each(|e| {
            c.apply(e);
        })
    };
    feed(&mut c, lab.full_state());
    let cm = lab.lease("kube-controller-manager").unwrap();
    let holder = cm.holder_node().unwrap().to_string();
    feed(&mut c, lab.inject(&fault(&holder, FaultKind::PowerOff)));
    let node = |c: &ClusterState| c.nodes.get(&holder).unwrap().clone();
    let mut seen = Vec::new();
    while node(&c).ready == Readiness::Ready {
        assert!(seen.len() < 120, "still Ready: {seen:?}");
        feed(&mut c, lab.advance(secs(1)));
        if let Some(h) = c
            .silent(&node(&c))
            .filter(|_| node(&c).ready == Readiness::Ready)
        {
            seen.push((c.now.as_second(), h.not_ready_in_s, h.grace_from));
        }
    }
    let unknown_at = c.now.as_second();
    assert!(
        seen.iter().any(|s| s.2 == GraceFrom::NoController),
        "no controller while the Lease is expired: {seen:?}"
    );
    let restarted: Vec<_> = seen.iter().filter(|s| s.2 == GraceFrom::Takeover).collect();
    assert!(!restarted.is_empty(), "{seen:?}");
    for (t, left, _) in &restarted {
        let due = t + left.unwrap();
        assert!(
            (due - unknown_at).abs() <= 1,
            "due {due}, Unknown at {unknown_at}: {seen:?}"
        );
    }
    assert!(restarted[0].1.unwrap() >= 45, "a fresh 50 s: {seen:?}");
}

#[test]
fn tokens_expire_and_take_the_certificate_key_with_them() {
    let mut lab = lab(1);
    let owner = lab.cert_key().owner_token_id.unwrap();
    let join = lab.tokens().into_iter().find(|t| t.id != owner).unwrap();
    assert_eq!(join.usages, ["signing", "authentication"]);
    lab.advance(secs(95 * 60 - 5));
    assert!(lab.cert_key().secret_present);
    assert_eq!(lab.tokens().len(), 2);
    let events = lab.advance(secs(25));
    assert!(events.contains(&ClusterEvent::TokenRemoved(owner.clone())));
    let gone = |e: &ClusterEvent| matches!(e, ClusterEvent::CertKey(c) if !c.secret_present);
    assert!(events.iter().any(gone));
    assert!(!lab.cert_key().secret_present);
    // The join token: 24 h after it was made, 25 min before the lab started.
    let until_expiry = secs(24 * 3600 - 25 * 60) - secs(95 * 60 + 20);
    for _ in 0..until_expiry.as_secs() / 3600 {
        lab.advance(secs(3600));
    }
    lab.advance(until_expiry - secs(until_expiry.as_secs() / 3600 * 3600) - secs(5));
    assert_eq!(lab.tokens().len(), 1, "not yet expired");
    let events = lab.advance(secs(15));
    assert!(events.contains(&ClusterEvent::TokenRemoved(join.id)));
    assert!(lab.tokens().is_empty());
}

#[test]
fn faults_that_make_no_sense_do_nothing_and_say_why() {
    let mut lab = lab(1);
    let note = |events: Vec<ClusterEvent>| match &events[..] {
        [ClusterEvent::Note(n)] => n.clone(),
        other => panic!("{other:?}"),
    };
    let n = note(lab.inject(&fault("worker-1", FaultKind::StopControlPlane)));
    assert!(n.starts_with("LAB: worker-1: nothing happened"), "{n}");
    assert!(note(lab.inject(&fault("cp-9", FaultKind::PowerOff))).contains("no such node"));
    assert!(note(lab.inject(&fault("cp-2", FaultKind::Restore))).contains("healthy"));
}

#[test]
fn the_same_seed_and_calls_give_the_same_events() {
    let script = |seed| {
        let mut lab = lab(seed);
        let mut events = lab.full_state();
        events.extend(lab.advance(secs(7)));
        events.extend(lab.inject(&fault("cp-1", FaultKind::PowerOff)));
        events.extend(lab.advance(Duration::from_millis(20_555)));
        events.extend(lab.inject(&fault("cp-2", FaultKind::StopControlPlane)));
        events.extend(lab.advance(secs(60)));
        events.extend(lab.inject(&fault("cp-1", FaultKind::Restore)));
        events.extend(lab.advance(secs(90)));
        events
    };
    assert_eq!(script(11), script(11));
    assert_ne!(script(11), script(12));
}

#[test]
fn five_thousand_workers_advance_without_per_step_node_work() {
    let mut lab = Lab::new(LabConfig::new(3, 5000, 9, LabConfig::default().start));
    let events = lab.advance(secs(10));
    let nodes = events
        .iter()
        .filter(|e| matches!(e, ClusterEvent::NodeUpsert(_)));
    assert_eq!(nodes.count(), 0, "an idle cluster does not resend nodes");
    assert_eq!(
        lab.node("worker-5000").unwrap().internal_ip.as_deref(),
        Some("10.0.20.174")
    );
    assert_eq!(lab.node("worker-5000").unwrap().ready, Readiness::Ready);
}

/// The real lab task on tokio's paused clock: time moves only when every task waits.
#[tokio::test(start_paused = true)]
async fn the_task_sends_state_then_about_a_message_a_second_and_applies_faults() {
    use hatui::message::Message;
    use tokio::sync::mpsc;
    use tokio::time::{Instant, timeout};

    let (tx, mut rx) = mpsc::channel(64);
    let (faults, fault_rx) = mpsc::channel(4);
    let task = tokio::spawn(hatui::runtime::lab_task::run(lab(1), 1.0, tx, fault_rx));
    let Some(Message::Cluster(first)) = rx.recv().await else {
        panic!("no full state")
    };
    assert!(
        first
            .iter()
            .any(|e| matches!(e, ClusterEvent::NodeUpsert(_)))
    );
    let clock = |events: &[ClusterEvent]| {
        events.iter().rev().find_map(|e| match e {
            ClusterEvent::Clock(t) => Some(*t),
            _ => None,
        })
    };
    let started = clock(&first).unwrap();
    let idle_until = Instant::now() + Duration::from_secs(10);
    let (mut idle, mut last) = (0, started);
    while let Ok(Some(Message::Cluster(events))) =
        timeout(idle_until - Instant::now(), rx.recv()).await
    {
        idle += 1;
        last = clock(&events).unwrap_or(last);
    }
    assert!(
        (9..=11).contains(&idle),
        "{idle} messages in 10 s of an idle cluster"
    );
    let lab_s = last.as_second() - started.as_second();
    assert!(
        (9..=10).contains(&lab_s),
        "lab clock moved {lab_s} s in 10 s"
    );
    faults
        .send(fault("cp-2", FaultKind::PowerOff).into())
        .await
        .unwrap();
    let noted = timeout(Duration::from_millis(100), async {
        while let Some(Message::Cluster(events)) = rx.recv().await {
            if events
                .iter()
                .any(|e| matches!(e, ClusterEvent::Note(n) if n.contains("cp-2")))
            {
                return true;
            }
        }
        false
    });
    assert!(
        noted.await.unwrap_or(false),
        "the fault's note arrives at once"
    );
    drop(rx);
    timeout(Duration::from_secs(2), task)
        .await
        .expect("ends when the receiver is gone")
        .unwrap();
}
