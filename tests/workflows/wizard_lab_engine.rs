//! The step engine and the lab's kubeadm on the bare lab: kubeadm's texts and errors, a
//! learner seen mid-join, resuming on a half-built cluster, refresh and retry, stopping.
//! What a cockpit needs to watch it (streamed lines and events, pacing):
//! `wizard_lab_stream.rs`.

use std::time::Duration;

use hatui_lab::{Lab, LabConfig};
use hatui_workflows::wizard::engine::{Engine, StepStatus};
use hatui_workflows::wizard::exec::{self, Executor, LabExecutor};
use hatui_workflows::wizard::headless::lab_plan;

fn lab(cps: usize, workers: usize) -> LabExecutor {
    LabExecutor::new(LabConfig::new(cps, workers, 3, LabConfig::default().start))
}

const INIT: &str = "kubeadm init --control-plane-endpoint lab-api.hatui.local:6443 --upload-certs --pod-network-cidr 192.168.0.0/16";

#[test]
fn the_labs_kubeadm_prints_kubeadms_phases_and_assembles_the_cluster() {
    let mut ex = lab(3, 0);
    let t0 = ex.now();
    let (out, code) = exec::run(&mut ex, "cp-1", INIT);
    assert_eq!(code, 0);
    let took = ex.now().duration_since(t0).as_secs();
    assert!((40..=75).contains(&took), "init took {took}s of lab time");
    for phase in [
        "[preflight]",
        "[certs]",
        "[kubeconfig]",
        "[etcd]",
        "[control-plane]",
        "[wait-control-plane]",
        "[upload-certs]",
        "[bootstrap-token]",
        "[addons]",
        "Your Kubernetes control-plane has initialized successfully!",
    ] {
        assert!(out.iter().any(|l| l.contains(phase)), "{phase}");
    }
    let mut material = hatui_workflows::wizard::material::JoinMaterial::default();
    material
        .absorb(
            hatui_workflows::wizard::plan::StepKind::Init,
            &out.join("\n"),
        )
        .unwrap();
    let c = ex.cluster();
    assert_eq!(c.etcd.members.len(), 1);
    assert_eq!(c.cert_key_expires_in_s().map(|s| s / 60), Some(119));
    let key = material.certificate_key.unwrap();
    let token = material.token.unwrap();
    let hash = material.ca_cert_hash.unwrap();
    // A control-plane join: the member shows up as a learner, then a voter.
    let join = format!(
        "kubeadm join lab-api.hatui.local:6443 --token {} --discovery-token-ca-cert-hash {hash} --control-plane --certificate-key {}",
        token.expose(),
        key.expose()
    );
    let id = ex.start("cp-2", &join);
    let mut lines = Vec::new();
    let mut saw_learner = false;
    loop {
        let evs = ex.wait(Duration::from_secs(1));
        saw_learner |= ex.cluster().etcd.members.iter().any(|m| m.is_learner);
        let done = evs
            .iter()
            .any(|e| matches!(e, exec::RunEvent::Exited(i, 0) if *i == id));
        lines.extend(evs.into_iter().filter_map(|e| match e {
            exec::RunEvent::Line(_, l) => Some(l),
            _ => None,
        }));
        if done {
            break;
        }
    }
    assert!(saw_learner, "the joining member was a learner for a while");
    let text = lines.join("\n");
    assert!(
        text.contains("[etcd] Announced new etcd member joining to the existing etcd cluster"),
        "{text}"
    );
    assert!(
        text.contains("[etcd] Promoting a learner as a voting member"),
        "{text}"
    );
    assert!(
        text.contains(
            "This node has joined the cluster and a new control plane instance was created"
        ),
        "{text}"
    );
    let members = &ex.cluster().etcd.members;
    assert_eq!(members.iter().filter(|m| !m.is_learner).count(), 2);
    // Three hours later the certificate key is gone: kubeadm's own error.
    ex.pass(Duration::from_secs(3 * 3600));
    let (out, code) = exec::run(&mut ex, "cp-3", &join);
    assert_eq!(code, 1);
    assert!(out.iter().any(|l| l.contains("Secret \"kubeadm-certs\" was not found in the \"kube-system\" Namespace. This Secret might have expired. Please, run `kubeadm init phase upload-certs --upload-certs`")), "{out:?}");
    let bad = "kubeadm join lab-api.hatui.local:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:00";
    let (out, code) = exec::run(&mut ex, "cp-3", bad);
    assert_eq!(code, 1);
    assert!(
        out[out.len() - 2].contains(
            "could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\""
        ),
        "{out:?}"
    );
}

#[test]
fn a_bare_lab_joins_fail_until_init_and_kubectl_is_refused() {
    let mut ex = lab(1, 1);
    let (out, code) = exec::run(
        &mut ex,
        "cp-1",
        "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes",
    );
    assert_eq!(code, 1);
    assert!(
        out[0].contains("was refused - did you specify the right host or port?"),
        "{out:?}"
    );
    let c = ex.cluster();
    assert!(c.endpoint.detail.as_deref().unwrap().contains("no API yet"));
}

#[test]
fn stopping_mid_plan_and_resuming_continues_from_what_the_cluster_shows() {
    let plan = lab_plan(3, 2).unwrap();
    let mut ex = lab(3, 2);
    let mut engine = Engine::new(plan.clone(), ex.cluster());
    while engine
        .next_step()
        .is_some_and(|s| s.id != "join-control-plane/cp-3")
    {
        engine.run_next(&mut ex);
    }
    // Quit here: a new executor on the same lab, a new engine, no saved file.
    let lab: Lab = ex.into_lab();
    let mut ex = LabExecutor::on(lab);
    let mut engine = Engine::new(plan, ex.cluster());
    let done: Vec<&str> = engine
        .reports()
        .iter()
        .filter(|r| r.already_done())
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(
        done,
        [
            "preflight",
            "load-balancer",
            "init",
            "cni",
            "join-control-plane/cp-2"
        ]
    );
    assert_eq!(engine.next_step().unwrap().id, "join-control-plane/cp-3");
    let mut finished = Vec::new();
    // The key is looked at before the build's cleanup deletes it.
    while engine.next_step().is_some_and(|s| s.id != "cleanup") {
        for i in engine.run_next(&mut ex) {
            let r = &engine.reports()[i];
            if r.status != StepStatus::Pending {
                finished.push(r.id.clone());
            }
        }
    }
    let key = ex.lab().cert_key_value().unwrap();
    engine.run_all(&mut ex, |r| finished.push(r.id.clone()));
    assert_eq!(
        ex.lab().cert_key_value(),
        None,
        "cleanup deleted kubeadm-certs"
    );
    assert!(engine.verified(), "{:#?}", engine.reports());
    // The resumed engine held no join material: it made fresh material before the join.
    let at = |id: &str| {
        finished
            .iter()
            .position(|i| i == id)
            .unwrap_or_else(|| panic!("{id}: {finished:?}"))
    };
    assert!(at("upload-certs/cp-3") < at("join-control-plane/cp-3"));
    assert!(at("token-create/cp-3") < at("join-control-plane/cp-3"));
    let cp2 = engine
        .reports()
        .iter()
        .find(|r| r.id == "join-control-plane/cp-2")
        .unwrap();
    assert_eq!((cp2.status, cp2.attempts), (StepStatus::Ok, 0));
    assert!(cp2.notes[0].starts_with("already done"), "{:?}", cp2.notes);
    // No secret the lab made is in any report.
    let lab = ex.lab();
    let token = lab.join_token().unwrap();
    for r in engine.reports() {
        let all = format!("{:?}{:?}", r.commands, r.output);
        assert!(
            !all.contains(&token[7..]) && !all.contains(&key),
            "{}",
            r.id
        );
    }
}

#[test]
fn a_join_that_fails_on_a_replaced_certificate_key_is_refreshed_and_retried() {
    let plan = lab_plan(3, 0).unwrap();
    let mut ex = lab(3, 0);
    let mut engine = Engine::new(plan, ex.cluster());
    while engine
        .next_step()
        .is_some_and(|s| s.id != "join-control-plane/cp-2")
    {
        engine.run_next(&mut ex);
    }
    // Someone re-uploads the certificates by hand: the key the wizard holds no longer opens them.
    let (_, code) = exec::run(
        &mut ex,
        "cp-1",
        "kubeadm init phase upload-certs --upload-certs",
    );
    assert_eq!(code, 0);
    engine.run_next(&mut ex);
    let cp2 = engine
        .reports()
        .iter()
        .find(|r| r.id == "join-control-plane/cp-2")
        .unwrap();
    assert_eq!(cp2.status, StepStatus::Pending, "{cp2:#?}");
    assert!(
        cp2.output
            .iter()
            .any(|l| l.contains("error decoding secret data with provided key")),
        "{cp2:#?}"
    );
    assert_eq!(engine.next_step().unwrap().id, "upload-certs/cp-2");
    engine.run_all(&mut ex, |_| {});
    assert!(engine.verified(), "{:#?}", engine.reports());
    let cp2 = engine
        .reports()
        .iter()
        .find(|r| r.id == "join-control-plane/cp-2")
        .unwrap();
    assert_eq!((cp2.status, cp2.attempts), (StepStatus::Ok, 2));
}

/// A 3+1 plan past preflight, with init run by hand behind the engine's back: the
/// engine's own init then fails in preflight (port 6443 in use), every time.
fn init_by_hand_after_preflight() -> (LabExecutor, Engine) {
    let plan = lab_plan(3, 1).unwrap();
    let mut ex = lab(3, 1);
    let mut engine = Engine::new(plan, ex.cluster());
    engine.run_next(&mut ex);
    let (_, code) = exec::run(&mut ex, "cp-1", INIT);
    assert_eq!(code, 0);
    (ex, engine)
}

#[test]
fn a_failure_that_cannot_be_refreshed_stops_the_plan_and_skips_the_rest() {
    let (mut ex, mut engine) = init_by_hand_after_preflight();
    let mut seen = Vec::new();
    engine.run_all(&mut ex, |r| seen.push((r.id.clone(), r.status)));
    assert!(!engine.verified());
    let init = engine.reports().iter().find(|r| r.id == "init").unwrap();
    assert_eq!(init.status, StepStatus::Failed);
    assert!(
        init.notes[0].starts_with(
            "exit code 1 on cp-1: error execution phase preflight: [preflight] Some fatal errors occurred:"
        ),
        "{:?}",
        init.notes
    );
    assert!(
        init.output
            .iter()
            .any(|l| l == "\t[ERROR Port-6443]: Port 6443 is in use"),
        "{:?}",
        init.output
    );
    let verify = engine.reports().last().unwrap();
    assert_eq!(verify.status, StepStatus::Skipped);
    assert_eq!(verify.notes, ["not run: init failed"]);
    assert!(
        seen.contains(&("verify".to_string(), StepStatus::Skipped)),
        "{seen:?}"
    );
    // A new engine looks first: init is done, and the plan goes on from there.
    let mut engine = Engine::new(lab_plan(3, 1).unwrap(), ex.cluster());
    assert!(
        engine.reports()[2].already_done(),
        "{:?}",
        engine.reports()[2]
    );
    engine.run_all(&mut ex, |_| {});
    assert!(engine.verified(), "{:#?}", engine.reports());
}

#[test]
fn quitting_mid_join_leaves_a_half_run_step_that_is_named_with_its_fix() {
    let plan = lab_plan(3, 0).unwrap();
    let mut ex = lab(3, 0);
    let mut engine = Engine::new(plan.clone(), ex.cluster());
    while engine
        .next_step()
        .is_some_and(|s| s.id != "join-control-plane/cp-2")
    {
        engine.run_next(&mut ex);
    }
    // The join starts by hand and the session ends 22 s in: the learner was announced.
    let join = engine.reports().iter().find(|r| r.id == "init").unwrap();
    assert!(
        join.output
            .iter()
            .any(|l| l.contains("--control-plane --certificate-key <hidden>"))
    );
    let lab = ex.lab();
    let token = lab.join_token().unwrap();
    let key = lab.cert_key_value().unwrap();
    let hash = lab.ca_hash().unwrap().to_string();
    ex.start("cp-2", &format!("kubeadm join lab-api.hatui.local:6443 --token {token} --discovery-token-ca-cert-hash {hash} --control-plane --certificate-key {key}"));
    let t0 = ex.now();
    while ex.now().duration_since(t0).as_secs() < 22 {
        ex.wait(Duration::from_secs(1));
    }
    assert!(ex.cluster().etcd.members.iter().any(|m| m.is_learner));
    let mut ex = LabExecutor::on(ex.into_lab());
    let mut engine = Engine::new(plan, ex.cluster());
    let cp2 = engine
        .reports()
        .iter()
        .find(|r| r.id == "join-control-plane/cp-2")
        .unwrap();
    assert!(!cp2.already_done());
    assert!(
        cp2.notes[0].contains("half ran") && cp2.notes[0].contains("kubeadm reset -f"),
        "{:?}",
        cp2.notes
    );
    engine.run_all(&mut ex, |_| {});
    assert!(!engine.verified());
    let cp2 = engine
        .reports()
        .iter()
        .find(|r| r.id == "join-control-plane/cp-2")
        .unwrap();
    assert_eq!(cp2.status, StepStatus::Failed);
}

#[test]
fn the_operator_retries_a_failed_step_then_skips_it_and_the_plan_goes_on() {
    let (mut ex, mut engine) = init_by_hand_after_preflight();
    engine.run_all(&mut ex, |_| {});
    let status = |e: &Engine, id: &str| e.reports().iter().find(|r| r.id == id).unwrap().status;
    assert_eq!(status(&engine, "init"), StepStatus::Failed);
    assert_eq!(status(&engine, "verify"), StepStatus::Skipped);

    engine.retry();
    assert_eq!(status(&engine, "init"), StepStatus::Pending);
    assert_eq!(
        status(&engine, "verify"),
        StepStatus::Pending,
        "no longer skipped"
    );
    assert_eq!(engine.next_step().unwrap().id, "init");
    engine.run_next(&mut ex);
    assert_eq!(status(&engine, "init"), StepStatus::Failed, "still in use");
    assert!(engine.finished());

    engine.skip();
    assert_eq!(status(&engine, "init"), StepStatus::Skipped);
    let init = engine.reports().iter().find(|r| r.id == "init").unwrap();
    assert_eq!(init.notes.last().unwrap(), "skipped by the operator");
    engine.run_all(&mut ex, |_| {});
    assert!(engine.verified(), "{:#?}", engine.reports());
    assert!(engine.secrets().iter().any(|s| s.starts_with("token: ")));
}
