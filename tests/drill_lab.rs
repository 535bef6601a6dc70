//! The failover drill on the lab's virtual clock: each fault's figures (library calls), the
//! refusals and the report (the real binary).

use std::process::{Command, Output};
use std::time::Duration;

use hatui::drill::plan::{self, DrillSpec, Target};
use hatui::drill::{Drill, DrillFault, Phase, Report};
use hatui::lab::{Fault, FaultKind, Lab, LabConfig};
use serde_json::Value;

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

fn lease<'a>(r: &'a Report, name: &str) -> &'a hatui::drill::report::LeaseJson {
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
fn powering_off_the_leader_reelects_in_1_to_2_5_s_and_leases_move_after_their_15_s() {
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
                // The lease duration counts from the last renewal: 15-17 s after it.
                let since_renewal = took + ago;
                assert!(
                    (15.0..=17.2).contains(&since_renewal),
                    "{} seed {seed}: {since_renewal}",
                    l.name
                );
                // 15 s after the last renewal (up to one retry period before the fault),
                // then the next retry of another copy (every 2 s).
                assert!(
                    (13.0..=17.0).contains(&took),
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
        let rec = &r.recovery;
        for s in [
            rec.apiserver_ready_after_s,
            rec.etcd_healthy_after_s,
            rec.node_ready_after_s,
        ] {
            assert!(s.is_some_and(|s| s <= 30.0), "seed {seed}: {rec:?}");
        }
        let why = &r
            .timeline
            .iter()
            .find(|e| e.text.contains("(term"))
            .unwrap()
            .why;
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
        // The kubelet notices the manifests gone at its next check of the directory (20 s).
        let gone = said_at(&r, "control-plane pods stopped").expect("the pods stop");
        assert!((19.0..=21.0).contains(&gone), "seed {seed}: {gone}");
        // etcd handed over on SIGTERM: no election timeout.
        let new = r.etcd.new_leader_after_s.unwrap();
        assert!(new - gone <= 0.3, "seed {seed}: {gone} {new}");
        let s = lease(&r, "kube-scheduler");
        let cm = lease(&r, "kube-controller-manager");
        if s.holder_before.as_deref() == Some(target.as_str()) {
            let took = s.taken_over_after_s.unwrap() - gone;
            assert!((0.0..=3.0).contains(&took), "seed {seed}: scheduler {took}");
            assert!(said_at(&r, "kube-scheduler lease released").is_some());
        }
        if cm.holder_before.as_deref() == Some(target.as_str()) {
            let took = cm.taken_over_after_s.unwrap() - gone;
            assert!(
                (13.0..=18.0).contains(&took),
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

// The real binary.

fn hatui(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hatui"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("hatui runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_two_master_cluster_is_refused_with_exit_2_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "drill",
        "--lab",
        "--control-planes",
        "2",
        "--fault",
        "power",
        "--yes",
    ];
    let out = hatui(&args, dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("needs 2 of 2") && err.contains("--force"),
        "{err}"
    );
    assert!(!dir.path().join("hatui-reports").exists(), "nothing ran");
    // A kubelet stop takes no etcd member: it runs.
    let kubelet = [
        "drill",
        "--lab",
        "--control-planes",
        "2",
        "--fault",
        "kubelet",
        "--yes",
    ];
    assert_eq!(hatui(&kubelet, dir.path()).status.code(), Some(0));
    let mut forced = args.to_vec();
    forced.push("--force");
    let out = hatui(&forced, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Did not hold: etcd had no leader"), "{text}");
}

#[test]
fn without_yes_the_drill_says_what_it_would_run_and_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["drill", "--lab", "--fault", "network", "--target", "cp-1"];
    let out = hatui(&args, dir.path());
    assert_eq!(out.status.code(), Some(2));
    let plan = String::from_utf8_lossy(&out.stdout);
    // cp-1 cut off from cp-2 and cp-3, both ways.
    let cut = "-s 10.0.0.12,10.0.0.13 -p tcp -m multiport --dports 2379,2380,6443 -j DROP";
    assert!(plan.contains(&format!("iptables -I INPUT {cut}")), "{plan}");
    assert!(
        plan.contains("iptables -I OUTPUT -d 10.0.0.12,10.0.0.13"),
        "{plan}"
    );
    assert!(plan.contains(&format!("iptables -D INPUT {cut}")), "{plan}");
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    let out = hatui(&["drill", "--fault", "power", "--yes"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--lab"), "{}", stderr(&out));
}

/// `path` in `v` has the JSON type `ty` ("string", "number", "bool", "array", "object",
/// "null", or "number|null" ...).
fn typed(v: &Value, path: &str, ty: &str) {
    let mut at = v;
    for key in path.split('.') {
        at = at
            .get(key)
            .unwrap_or_else(|| panic!("{path}: `{key}` missing in {at}"));
    }
    let is = match at {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    assert!(
        ty.split('|').any(|t| t == is),
        "{path}: {is}, wanted {ty}: {at}"
    );
}

fn availability(v: &Value, path: &str) {
    for (k, ty) in [
        ("samples", "number"),
        ("failed", "number"),
        ("availability", "number"),
        ("longest_gap_s", "number"),
        ("outages", "array"),
        ("latency_ms.p50", "number|null"),
        ("latency_ms.p99", "number|null"),
        ("latency_ms.max", "number|null"),
    ] {
        typed(v, &format!("{path}.{k}"), ty);
    }
    let at = path.split('.').fold(v, |v, k| &v[k]);
    for o in at["outages"].as_array().unwrap() {
        for (k, ty) in [
            ("start_s", "number"),
            ("end_s", "number"),
            ("error", "string"),
        ] {
            typed(o, k, ty);
        }
    }
}

#[test]
fn the_json_report_has_the_documented_schema_and_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "drill", "--lab", "--seed", "5", "--fault", "power", "--yes", "--json",
    ];
    let out = hatui(&args, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is the JSON alone");
    assert_eq!(v["source"], "lab");
    for (path, ty) in [
        ("fault.kind", "string"),
        ("fault.target", "string"),
        ("fault.commands", "array"),
        ("fault.restore_commands", "array"),
        ("fault.started_at", "string"),
        ("fault.restored_at", "string"),
        ("before.etcd_leader", "string"),
        ("before.raft_term", "number"),
        ("before.leases.kube-scheduler", "string"),
        ("before.leases.kube-controller-manager", "string"),
        ("etcd.leader_lost_after_s", "number"),
        ("etcd.new_leader", "string"),
        ("etcd.new_leader_after_s", "number"),
        ("etcd.new_term", "number"),
        ("leases", "array"),
        ("api.masters", "object"),
        ("node.not_ready_after_s", "number"),
        ("test_pod.created_after_s", "number"),
        ("test_pod.scheduled_after_s", "number"),
        ("test_pod.node", "string"),
        ("recovery.restored", "bool"),
        ("recovery.apiserver_ready_after_s", "number"),
        ("recovery.etcd_healthy_after_s", "number"),
        ("recovery.node_ready_after_s", "number"),
        ("verdict", "array"),
    ] {
        typed(&v, path, ty);
    }
    assert_eq!(v["fault"]["kind"], "power");
    assert_eq!(v["fault"]["commands"][0], "systemctl poweroff");
    availability(&v, "api.endpoint");
    availability(&v, "api.keepalive");
    for m in ["cp-1", "cp-2", "cp-3"] {
        availability(&v, &format!("api.masters.{m}"));
    }
    for l in v["leases"].as_array().unwrap() {
        typed(l, "name", "string");
        typed(l, "holder_before", "string");
        typed(l, "new_holder", "string|null");
        typed(l, "taken_over_after_s", "number|null");
    }
    assert!(
        v["verdict"]
            .as_array()
            .unwrap()
            .iter()
            .all(Value::is_string)
    );
    // Both files, the same JSON.
    let reports = dir.path().join("hatui-reports");
    let files: Vec<_> = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let json = files
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    let md = files
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "md"))
        .unwrap();
    let written: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(written, v);
    let md = std::fs::read_to_string(md).unwrap();
    assert!(md.contains("# Failover drill: power on"), "{md}");
    for text in [String::from_utf8_lossy(&out.stdout).into_owned(), md] {
        assert_no_secrets(&text);
    }
}

/// No bootstrap token (`abcdef.0123456789abcdef`) and no certificate key (64 hex).
fn assert_no_secrets(text: &str) {
    let words = text.split(|c: char| !c.is_ascii_alphanumeric() && c != '.');
    for w in words {
        let token = w.split_once('.').is_some_and(|(id, secret)| {
            id.len() == 6 && secret.len() == 16 && secret.chars().all(|c| c.is_ascii_alphanumeric())
        });
        let key = w.len() == 64 && w.chars().all(|c| c.is_ascii_hexdigit());
        assert!(!token && !key, "a secret-looking string in the report: {w}");
    }
    assert!(!text.contains("certificate-key") && !text.contains("token-secret"));
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

/// Every key the report has (less node and lease names, which are data).
fn keys(v: &Value, dynamic: bool, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if !dynamic {
                    out.push(k.clone());
                }
                keys(
                    child,
                    k == "masters" || k == "leases" && child.is_object(),
                    out,
                );
            }
        }
        Value::Array(a) => a.iter().for_each(|c| keys(c, false, out)),
        _ => {}
    }
}

#[test]
fn the_readme_documents_every_report_field() {
    let mut lab = warm(2);
    let (_, r) = drill(&mut lab, DrillFault::Power);
    let v: Value = serde_json::from_str(&r.to_json()).unwrap();
    let mut found = Vec::new();
    keys(&v, false, &mut found);
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
    let readme = readme.unwrap();
    let start = readme.find("## Drill").expect("a Drill section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").unwrap_or(section.len())];
    let missing: Vec<&String> = found
        .iter()
        .filter(|k| !section.contains(k.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "README's Drill section lacks {missing:?}"
    );
    assert!(found.iter().any(|k| k == "p99") && !found.iter().any(|k| k == "cp-1"));
}

#[test]
fn stopping_etcd_alone_hands_over_and_the_kubelet_starts_it_again() {
    for seed in 1..=4 {
        let mut lab = warm(seed);
        let (_, r) = drill(&mut lab, DrillFault::Etcd);
        let new = r.etcd.new_leader_after_s.unwrap();
        assert!(new <= 0.2, "seed {seed}: SIGTERM hands over at once: {new}");
        let why = &r
            .timeline
            .iter()
            .find(|e| e.text.contains("(term"))
            .unwrap()
            .why;
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
    }
}

#[test]
fn a_partitioned_leader_is_replaced_and_an_nlb_keeps_sending_it_requests_but_haproxy_does_not() {
    for lb in [hatui::lab::LbKind::Nlb, hatui::lab::LbKind::Haproxy] {
        let cfg = LabConfig::new(3, 2, 3, LabConfig::default().start);
        let mut lab = Lab::new(LabConfig { lb, ..cfg });
        let (_, r) = drill(&mut lab, DrillFault::Network);
        let new = r.etcd.new_leader_after_s.unwrap();
        assert!((1.0..=2.5).contains(&new), "{lb}: {new}");
        let why = &r
            .timeline
            .iter()
            .find(|e| e.text.contains("(term"))
            .unwrap()
            .why;
        assert!(why.contains("was cut off"), "{why}");
        let target = &r.api.masters[&r.fault.target];
        assert!(target.longest_gap_s >= 119.0, "{lb}: {target:?}");
        let last = r.api.endpoint.outages.last().unwrap().end_s;
        match lb {
            hatui::lab::LbKind::Nlb => assert!(last >= 119.0, "the TCP check passes: {last}"),
            _ => assert!(last <= 8.0, "{lb}: GET /healthz fails: {last}"),
        }
    }
}
