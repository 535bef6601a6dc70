//! The lab's load balancer on the virtual clock: where requests through the endpoint go
//! while a master is dead, per kind of balancer.

use std::time::Duration;

use hatui_lab::{Lab, LabConfig, LbKind};
use hatui_model::{Fault, FaultKind};

fn lab(lb: LbKind, seed: u64) -> Lab {
    let cfg = LabConfig::new(3, 2, seed, LabConfig::default().start);
    Lab::new(LabConfig { lb, ..cfg })
}

fn inject(lab: &mut Lab, node: &str, kind: FaultKind) {
    lab.inject(&Fault {
        node: node.into(),
        kind,
    });
}

/// One request a second goes through the endpoint: for each of the next `secs` seconds,
/// whether it failed and what the endpoint said.
fn requests(lab: &mut Lab, secs: u64) -> Vec<(u64, bool, String)> {
    (1..=secs)
        .map(|s| {
            lab.advance(Duration::from_secs(1));
            let ep = lab.endpoint();
            (s, ep.ready == Some(false), ep.detail.unwrap_or_default())
        })
        .collect()
}

/// Seconds after the fault at which a request through the endpoint failed.
fn failures(log: &[(u64, bool, String)]) -> Vec<u64> {
    log.iter().filter(|r| r.1).map(|r| r.0).collect()
}

fn serving(lab: &Lab, node: &str) -> bool {
    let ep = lab.endpoint();
    ep.backend(node)
        .expect("the LB's view of every master")
        .serving
}

/// AWS's NLB as it comes for a TCP target group: active checks every 30 s (2 fails out,
/// 5 passes back) and passive checks: the first connection to a powered-off master goes
/// unanswered, and the NLB stops sending it new ones after the check timeout (10 s), long
/// before two active checks could.
#[test]
fn an_nlb_sends_to_a_powered_off_master_until_its_passive_check_takes_it_out() {
    for seed in 1..=5 {
        let mut lab = lab(LbKind::Nlb, seed);
        lab.advance(Duration::from_millis(1_500));
        inject(&mut lab, "cp-3", FaultKind::PowerOff);
        assert!(
            !lab.apiserver("cp-3").unwrap().ready,
            "/readyz fails at once"
        );
        let log = requests(&mut lab, 60);
        let failed = failures(&log);
        let (first, last) = (
            failed[0],
            *failed.last().expect("requests to cp-3 time out"),
        );
        assert!(first <= 3, "round robin reaches cp-3 at once: {log:?}");
        assert!(
            (first + 9..=first + 11).contains(&last),
            "seed {seed}: out 10 s after the first unanswered connection: {log:?}"
        );
        let answered = (first..last).filter(|s| !failed.contains(s)).count();
        assert!(answered > 0, "intermittent, not down: {log:?}");
        let (_, _, why) = log.iter().find(|r| r.1).unwrap();
        assert!(why.contains("via cp-3: timed out"), "{why}");
        assert!(why.contains("the nlb still sends it traffic"), "{why}");
        assert!(!serving(&lab, "cp-3"), "dropped in the end");
        assert!(serving(&lab, "cp-1") && serving(&lab, "cp-2"));
        let ep = lab.endpoint();
        assert!(ep.balancer.unwrap().contains("every 30s, fall 2, rise 5"));
    }
}

/// Its active check's healthy threshold decides the way back: 5 passes 30 s apart by
/// default (2 to 2.5 minutes after the master is back), `--lb-check 5/2/2` in 5 to 15 s
/// (a check in flight at the restore may still fail).
#[test]
fn an_nlb_takes_a_master_back_after_its_healthy_threshold_or_the_operators() {
    let own = "5/2/2".parse().ok();
    for (check, back) in [(None, 120..=155), (own, 5..=15)] {
        let cfg = LabConfig::new(3, 2, 3, LabConfig::default().start);
        // No boot time: the balancer's threshold alone.
        let mut lab = Lab::new(LabConfig {
            lb_check: check,
            boot_time_ms: 0,
            ..cfg
        });
        inject(&mut lab, "cp-3", FaultKind::PowerOff);
        lab.advance(Duration::from_secs(90));
        assert!(!serving(&lab, "cp-3"), "out by its active checks");
        inject(&mut lab, "cp-3", FaultKind::Restore);
        let at = (1..=200)
            .find(|_| {
                lab.advance(Duration::from_secs(1));
                serving(&lab, "cp-3")
            })
            .expect("back in service");
        assert!(
            back.contains(&at),
            "{check:?}: back {at} s after the restore"
        );
    }
}

#[test]
fn haproxy_drops_a_powered_off_master_within_about_6_s() {
    for seed in 1..=5 {
        let mut lab = lab(LbKind::Haproxy, seed);
        lab.advance(Duration::from_millis(1_500));
        inject(&mut lab, "cp-3", FaultKind::PowerOff);
        let log = requests(&mut lab, 30);
        let failed = failures(&log);
        let last = *failed.last().unwrap_or(&0);
        assert!(last <= 6, "seed {seed}: last failure {last} s: {log:?}");
        assert!(!serving(&lab, "cp-3"));
        let ep = lab.endpoint();
        assert!(ep.balancer.unwrap().contains("GET /healthz"));
    }
}

/// HAProxy runs on the masters behind keepalived's VIP (kubeadm's HA guide). When the
/// VIP's master dies nothing answers on the VIP until a backup's keepalived has missed
/// three advertisements plus its skew (3.6 s), whatever HAProxy's checks say.
#[test]
fn haproxy_behind_keepalived_loses_every_request_while_the_vip_moves() {
    for seed in 1..=4 {
        let mut lab = lab(LbKind::Haproxy, seed);
        lab.advance(Duration::from_millis(1_400));
        assert!(lab.endpoint().balancer.unwrap().contains("VIP on cp-1"));
        inject(&mut lab, "cp-1", FaultKind::PowerOff);
        let mut down = Vec::new();
        for k in 1..=80 {
            lab.advance(Duration::from_millis(100));
            let ep = lab.endpoint_request(k);
            if ep.ready != Some(true) {
                down.push((k, ep.detail.unwrap_or_default()));
            }
        }
        // Every request fails from the fault on, until the VIP has moved.
        let vip = |k: u64| down.iter().any(|d| d.0 == k && d.1.contains("the VIP"));
        let run = (1..).take_while(|&k| vip(k)).count();
        assert!(
            (30..=37).contains(&run),
            "seed {seed}: 3.6 s after the last advertisement (at 1 s): {down:?}"
        );
        // Then the new holder's HAProxy sends to cp-1 until its checks drop it.
        let ep = lab.endpoint();
        assert!(ep.balancer.unwrap().contains("VIP on cp-3"));
    }
}

/// In `mode tcp` HAProxy has no 503 to give: with every server down it accepts the
/// connection and closes it.
#[test]
fn haproxy_closes_the_connection_when_no_server_is_left() {
    let mut lab = lab(LbKind::Haproxy, 1);
    lab.advance(Duration::from_millis(1_500));
    inject(&mut lab, "cp-2", FaultKind::PowerOff);
    inject(&mut lab, "cp-3", FaultKind::PowerOff);
    lab.advance(Duration::from_secs(30));
    assert!(
        !serving(&lab, "cp-1"),
        "quorum lost: /healthz fails everywhere"
    );
    let ep = lab.endpoint_request(1);
    let why = ep.detail.unwrap();
    assert!(why.contains("connection closed by HAProxy"), "{why}");
    assert!(!why.contains("503"), "{why}");
}

#[test]
fn an_nlb_never_drops_an_apiserver_that_listens_without_etcd_but_haproxy_does() {
    for kind in [LbKind::Nlb, LbKind::Haproxy] {
        let mut lab = lab(kind, 2);
        lab.advance(Duration::from_millis(1_500));
        // Cut off from the other masters, cp-3's apiserver listens but cannot serve.
        inject(&mut lab, "cp-3", FaultKind::Partition);
        let log = requests(&mut lab, 90);
        let late = failures(&log).into_iter().filter(|&s| s > 60).count();
        let api = lab.apiserver("cp-3").unwrap();
        assert!(!api.ready, "{api:?}");
        match kind {
            LbKind::Nlb => {
                assert!(late > 0, "the NLB only sees the TCP handshake: {log:?}");
                assert!(serving(&lab, "cp-3"));
            }
            _ => {
                assert_eq!(late, 0, "{log:?}");
                assert!(!serving(&lab, "cp-3"));
            }
        }
    }
}

#[test]
fn kube_vip_moves_the_vip_with_its_lease() {
    for seed in 1..=4 {
        let mut lab = lab(LbKind::KubeVip, seed);
        lab.advance(Duration::from_millis(1_500));
        let before = lab.lease("plndr-cp-lock").expect("kube-vip's lease");
        assert_eq!(before.holder_identity.as_deref(), Some("cp-1"));
        assert_eq!(before.duration_s, 5);
        assert!(serving(&lab, "cp-1") && !serving(&lab, "cp-2"));
        inject(&mut lab, "cp-1", FaultKind::PowerOff);
        let log = requests(&mut lab, 20);
        let failed = failures(&log);
        // Every request fails until another kube-vip takes the expired lease (5 s after
        // the last renewal, tried every second), then all go to the new holder.
        let back = log.iter().find(|r| !r.1).expect("the VIP moved").0;
        assert!((4..=8).contains(&back), "seed {seed}: {log:?}");
        assert_eq!(failed, (1..back).collect::<Vec<_>>(), "{log:?}");
        let after = lab.lease("plndr-cp-lock").unwrap();
        let holder = after.holder_identity.clone().unwrap();
        assert_ne!(holder, "cp-1");
        assert_eq!(after.transitions, before.transitions + 1);
        assert!(serving(&lab, &holder));
        let ep = lab.endpoint();
        assert_eq!(ep.detail.as_deref(), Some(format!("via {holder}").as_str()));
    }
}

#[test]
fn without_kube_vip_there_is_no_vip_lease() {
    assert!(lab(LbKind::Nlb, 1).lease("plndr-cp-lock").is_none());
}

#[test]
fn kube_vip_releases_its_lease_on_a_clean_stop_so_the_vip_moves_at_once() {
    let mut lab = lab(LbKind::KubeVip, 3);
    lab.advance(Duration::from_millis(1_500));
    inject(&mut lab, "cp-1", FaultKind::Shutdown);
    // systemd stops every process with SIGTERM; kube-vip releases (ReleaseOnCancel).
    let log = requests(&mut lab, 30);
    let failed = failures(&log);
    assert!(
        failed.len() <= 2,
        "at most a retry period without the VIP: {log:?}"
    );
    let holder = lab.lease("plndr-cp-lock").unwrap().holder_identity.unwrap();
    assert_ne!(holder, "cp-1");
}

#[test]
fn the_timeline_sums_up_an_nlb_flapping_endpoint_instead_of_a_line_per_request() {
    use hatui_model::{ClusterState, SourceKind};
    let mut lab = lab(LbKind::Nlb, 3);
    let mut state = ClusterState::new(SourceKind::Lab, lab.config().endpoint.clone(), lab.now());
    for e in lab.full_state() {
        state.apply(e);
    }
    lab.advance(Duration::from_millis(1_500));
    inject(&mut lab, "cp-3", FaultKind::PowerOff);
    let mut flips = 0;
    let mut was = lab.endpoint().ready;
    for _ in 0..90 {
        for e in lab.advance(Duration::from_secs(1)) {
            state.apply(e);
        }
        flips += usize::from(lab.endpoint().ready != was);
        was = lab.endpoint().ready;
    }
    let said: Vec<&str> = state
        .timeline
        .iter()
        .map(|e| e.text.as_str())
        .filter(|t| t.starts_with("API endpoint"))
        .collect();
    assert!(flips >= 6, "the endpoint flapped ({flips} changes)");
    assert!(said.len() <= 5, "{said:#?}");
    assert!(said[0].contains("DOWN"), "{said:#?}");
    assert!(said.iter().any(|t| t.contains("flapping")), "{said:#?}");
    let last = said.last().unwrap();
    assert!(
        last.contains("ready again: every check passed"),
        "{said:#?}"
    );
}

/// kubeadm's HAProxy has `retries 1` and `option redispatch`: a connection a stopped
/// apiserver refuses is retried once on another server, so clients never see the refusal.
#[test]
fn haproxy_redispatches_a_refused_connection_to_another_server() {
    let mut lab = lab(LbKind::Haproxy, 1);
    lab.advance(Duration::from_millis(1_500));
    inject(&mut lab, "cp-3", FaultKind::StopControlPlane);
    let mut refused = 0;
    for _ in 0..400 {
        lab.advance(Duration::from_millis(100));
        for seq in 0..3 {
            let ep = lab.endpoint_request(seq);
            let why = ep.detail.unwrap_or_default();
            assert!(!why.contains("refused"), "{why}");
            if !lab.apiserver("cp-3").unwrap().ready && ep.ready == Some(true) {
                refused += 1;
            }
        }
    }
    assert!(refused > 0, "cp-3's apiserver did stop");
}
