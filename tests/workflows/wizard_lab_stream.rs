//! What a cockpit needs to watch the wizard on the bare lab: each output line streamed
//! (secrets hidden), the lab's events as they are published, and lab time passing a
//! second at a time through a pacing callback.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hatui_lab::LabConfig;
use hatui_workflows::wizard::engine::Engine;
use hatui_workflows::wizard::exec::{self, Executor, LabExecutor};
use hatui_workflows::wizard::headless::lab_plan_with;
use hatui_workflows::wizard::plan::BuildOptions;

fn lab(cps: usize, workers: usize) -> LabExecutor {
    LabExecutor::new(LabConfig::new(cps, workers, 3, LabConfig::default().start))
}

const INIT: &str = "kubeadm init --control-plane-endpoint lab-api.hatui.local:6443 --upload-certs --pod-network-cidr 192.168.0.0/16";

#[test]
fn a_tui_can_stream_the_output_and_watch_the_cluster_assemble() {
    let mut ex = lab(3, 0);
    let published = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&published);
    ex.on_events(Box::new(move |evs| {
        log.lock().unwrap().extend_from_slice(evs)
    }));
    // The key stays (no cleanup) so that the stream can be searched for it at the end.
    let keep = BuildOptions {
        keep_cert_key: true,
    };
    let mut engine = Engine::new(lab_plan_with(3, 0, keep).unwrap(), ex.cluster());
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    engine.on_output(Box::new(move |id, line| {
        sink.lock().unwrap().push(format!("{id}: {line}"))
    }));
    let mut cockpit = hatui_model::ClusterState::new(
        hatui_model::SourceKind::Lab,
        "lab-api.hatui.local:6443",
        ex.now(),
    );
    let mut members_seen = Vec::new();
    // Every join has a member with no Node for a while: never a "remove it" advice.
    let (mut removals, mut joining) = (Vec::new(), 0);
    while !engine.finished() {
        engine.run_next(&mut ex);
        for ev in std::mem::take(&mut *published.lock().unwrap()) {
            cockpit.apply(ev);
            let ws = cockpit.etcd_warnings();
            removals.extend(ws.into_iter().filter(|w| w.contains("member remove")));
            let members = cockpit.etcd.members.iter();
            joining += members
                .filter(|m| {
                    matches!(
                        cockpit.member_standing(m),
                        hatui_model::Standing::Joining { .. }
                    )
                })
                .count();
        }
        members_seen.push(cockpit.etcd.members.len());
    }
    assert_eq!(removals, Vec::<String>::new());
    assert!(joining > 0, "members were seen joining");
    assert!(engine.verified());
    assert_eq!(members_seen.first(), Some(&0), "preflight: no member yet");
    assert_eq!(members_seen.last(), Some(&3));
    let lines = lines.lock().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("init: [upload-certs] Using certificate key:"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("join-control-plane/cp-3: [etcd] Announced new etcd member"))
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.contains(&ex.lab().cert_key_value().unwrap()))
    );
}

#[test]
fn a_paced_executor_lets_lab_time_pass_in_seconds_and_streams_the_events() {
    let mut ex = lab(1, 0);
    let slept = Arc::new(Mutex::new(Vec::new()));
    let batches = Arc::new(Mutex::new(0usize));
    let (s, b) = (Arc::clone(&slept), Arc::clone(&batches));
    ex.pace(Box::new(move |dt| s.lock().unwrap().push(dt)));
    ex.on_events(Box::new(move |_| *b.lock().unwrap() += 1));
    let t0 = ex.now();
    let (_, code) = exec::run(&mut ex, "cp-1", INIT);
    assert_eq!(code, 0);
    let slept = slept.lock().unwrap();
    let total: Duration = slept.iter().sum();
    assert_eq!(
        total.as_millis() as i128,
        ex.now().duration_since(t0).as_millis()
    );
    assert!(
        slept.iter().all(|d| *d <= Duration::from_secs(1)),
        "{slept:?}"
    );
    assert!(
        slept.len() >= 50,
        "one step a second of init: {}",
        slept.len()
    );
    assert!(*batches.lock().unwrap() >= slept.len());
}

#[test]
fn a_fast_lab_clock_does_not_expire_the_leases_it_renews() {
    let mut ex = lab(3, 0);
    // The key stays (no cleanup) so that the stream can be searched for it at the end.
    let keep = BuildOptions {
        keep_cert_key: true,
    };
    let mut engine = Engine::new(lab_plan_with(3, 0, keep).unwrap(), ex.cluster());
    engine.run_all(&mut ex, |_| {});
    assert!(engine.verified());
    // `--speed 1000`: the cockpit's thread lets 50 s pass at a time.
    for _ in 0..10 {
        ex.pass(Duration::from_secs(50));
    }
    let expired: Vec<&str> = ex
        .cluster()
        .timeline
        .iter()
        .map(|e| e.text.as_str())
        .filter(|t| t.contains("expired"))
        .collect();
    assert_eq!(expired, Vec::<&str>::new());
}
