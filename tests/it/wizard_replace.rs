//! Day 2 on the lab (virtual clock): a dead master replaced by the wizard's plan; the
//! join that the plan's order prevents; refusals.

use std::process::{Command, Output};

use hatui::lab::LabConfig;
use hatui::wizard::engine::Engine;
use hatui::wizard::exec::Executor;
use hatui::wizard::exec::{self, LabExecutor};
use hatui::wizard::headless::{
    LabRun, Replace, Scenario, drive, lab_plan, replace, replace_on, replace_refusal,
    replacement_under_way,
};

fn hatui(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hatui"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run hatui")
}

fn run(scenario: Option<Scenario>) -> LabRun {
    LabRun {
        control_planes: 3,
        workers: 2,
        scenario,
        json: true,
        seed: 4,
        lb: hatui::lab::LbKind::Nlb,
        boot_time_ms: 45_000,
        lb_check: None,
        keep_cert_key: false,
    }
}

#[test]
fn a_dead_master_is_replaced_three_healthy_voters_no_stale_member_no_kubeadm_certs() {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let r = Replace {
        node: "cp-1".into(),
        force: false,
    };
    let code = replace(&run(Some(Scenario::DeadMaster)), &r, &mut out, &mut err).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    assert_eq!(v["verified"], true);
    let ids: Vec<&str> = v["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "check",
            "snapshot",
            "remove-member/cp-1",
            "delete-node/cp-1",
            "reset/cp-1",
            "upload-certs",
            "token-create",
            "join-control-plane/cp-1",
            "cleanup",
            "verify"
        ]
    );
    let members = v["status"]["etcd"]["members"].as_array().unwrap();
    assert_eq!(members.len(), 3);
    for m in members {
        assert_eq!(m["reachable"], true, "{m}");
        assert_eq!(m["is_learner"], false, "{m}");
    }
    let warnings = v["status"]["etcd"]["warnings"].to_string();
    assert!(!warnings.contains("stale"), "{warnings}");
    assert!(!warnings.contains("member remove"), "{warnings}");
    assert_eq!(v["status"]["certificate_key"]["present"], false);
    // The removed member's id is gone: the new cp-1 is another member.
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("removed from cluster"), "etcdctl's line");
}

#[test]
fn a_join_before_the_member_removal_fails_with_kubeadms_check_etcd_text() {
    let plan = lab_plan(3, 0).unwrap();
    let cfg = LabConfig::new(3, 0, 4, LabConfig::default().start);
    let mut ex = LabExecutor::new(cfg);
    Scenario::DeadMaster.set_up(&mut ex, &plan);
    assert!(
        ex.lab().etcd_leader().is_some_and(|l| l != "cp-1"),
        "a new leader meanwhile"
    );
    let (key_out, code) = exec::run(
        &mut ex,
        "cp-2",
        "kubeadm init phase upload-certs --upload-certs",
    );
    assert_eq!(code, 0);
    let key = key_out.last().unwrap().clone();
    let token = ex.lab_mut().create_token();
    let hash = ex.lab().ca_hash().unwrap().to_string();
    let join = format!(
        "kubeadm join lab-api.hatui.local:6443 --token {token} --discovery-token-ca-cert-hash {hash} --control-plane --certificate-key {key} --node-name cp-1"
    );
    let (out, code) = exec::run(&mut ex, "cp-1", &join);
    assert_eq!(code, 1);
    let text = out.join("\n");
    assert!(
        text.contains("error execution phase check-etcd: etcd cluster is not healthy: failed to dial endpoint https://10.0.0.11:2379"),
        "{text}"
    );
    // Nothing was added: still three members, one of them the dead cp-1.
    assert_eq!(ex.lab().etcd_status().members.len(), 3);
}

#[test]
fn replacing_a_live_master_is_refused_with_exit_2_unless_forced() {
    let out = hatui(&["wizard", "--lab", "--replace", "cp-2", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cp-2 is not dead"), "{err}");
    assert!(out.stdout.is_empty(), "nothing ran");
}

#[test]
fn the_cli_replaces_the_scenarios_dead_master() {
    let out = hatui(&[
        "wizard",
        "--lab",
        "--scenario",
        "dead-master",
        "--replace",
        "cp-1",
        "--yes",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verified"], true);
}

/// The plan's own mark, a join token described `hatui-replacing-NODE`, is how a rerun
/// tells a replacement that has joined (its member answers, its Node is Ready) from a
/// healthy master nobody replaces.
fn marked_tokens(v: &serde_json::Value, node: &str) -> usize {
    let tokens = v["status"]["tokens"].as_array().unwrap();
    let mark = format!("hatui-replacing-{node}");
    tokens.iter().filter(|t| t["description"] == mark).count()
}

#[test]
fn a_replacement_stopped_after_its_join_is_finished_by_a_rerun_without_force() {
    let lab = run(Some(Scenario::DeadMaster));
    let mut ex = LabExecutor::new(lab.config());
    Scenario::DeadMaster.set_up(&mut ex, &lab_plan(3, 2).unwrap());
    let inv =
        hatui::fleet::inventory::parse("lab", &hatui::wizard::lab::inventory_toml(3, 2)).unwrap();
    // The first run is killed once the join is done: no cleanup, no verify.
    let mut first = hatui::wizard::plan::replace(&inv, "cp-1", "cp-2").unwrap();
    let join = first
        .steps
        .iter()
        .position(|s| s.id == "join-control-plane/cp-1");
    first.steps.truncate(join.unwrap() + 1);
    let mut engine = Engine::new(first, ex.cluster());
    drive(&mut engine, &mut ex, |_, _| {}, |_| {});
    assert!(
        engine
            .reports()
            .iter()
            .all(|r| r.status == hatui::wizard::engine::StepStatus::Ok),
        "{:?}",
        engine.reports()
    );
    ex.refresh();
    let c = ex.cluster();
    let cp1 = c.etcd.members.iter().find(|m| m.name == "cp-1").unwrap();
    assert!(cp1.reachable && !cp1.is_learner, "the replacement answers");
    assert!(
        c.nodes
            .get("cp-1")
            .is_some_and(|n| n.ready == hatui::model::Readiness::Ready),
        "its Node is Ready"
    );
    assert!(c.cert_key.secret_present, "kubeadm-certs is still there");
    // What the old rule saw as "not dead" is a replacement under way, found by its mark.
    let seen = replacement_under_way(c, "cp-1").unwrap();
    assert!(seen.contains("is described hatui-replacing-cp-1"), "{seen}");
    assert_eq!(replace_refusal(c, "cp-1"), None);

    let r = Replace {
        node: "cp-1".into(),
        force: false,
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = replace_on(&mut ex, &lab, &r, &mut out, &mut err).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(code, 0, "{}\n{v}", String::from_utf8_lossy(&err));
    assert_eq!(v["verified"], true);
    let step = |id: &str| {
        let plan = v["plan"].as_array().unwrap();
        plan.iter().find(|s| s["id"] == id).unwrap().clone()
    };
    for id in [
        "check",
        "snapshot",
        "remove-member/cp-1",
        "delete-node/cp-1",
        "reset/cp-1",
        "join-control-plane/cp-1",
    ] {
        let s = step(id);
        assert_eq!(
            (&s["status"], &s["attempts"]),
            (&"ok".into(), &0.into()),
            "{s}"
        );
        let notes = s["notes"].as_array().unwrap();
        let said = |n: &serde_json::Value| n.as_str().unwrap().starts_with("already done");
        assert!(notes.iter().any(said), "{s}");
    }
    for id in ["upload-certs", "token-create", "cleanup", "verify"] {
        assert_eq!(step(id)["attempts"], 1, "{id}");
    }
    assert_eq!(v["status"]["certificate_key"]["present"], false);
    // The mark the killed run left and the rerun's own are both deleted.
    assert_eq!(marked_tokens(&v, "cp-1"), 0, "{}", v["status"]["tokens"]);
    let cleanup = step("cleanup")["output_tail"].to_string();
    assert_eq!(cleanup.matches("deleted").count(), 3, "{cleanup}");

    // Replaced and cleaned up: cp-1 is now a healthy master nobody replaces.
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = replace_on(&mut ex, &lab, &r, &mut out, &mut err).unwrap();
    let err = String::from_utf8_lossy(&err);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with("hatui wizard: refusing to replace cp-1: cp-1 is not dead"),
        "{err}"
    );
    assert!(
        err.contains("no join token described hatui-replacing-cp-1"),
        "{err}"
    );
    assert!(out.is_empty(), "nothing ran");
}

#[test]
fn a_healthy_master_with_a_foreign_token_is_still_refused() {
    // A join token someone made by hand (no description, or another's) is no mark.
    let lab = run(None);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut ex = LabExecutor::new(lab.config());
    let mut engine = Engine::new(lab_plan(3, 2).unwrap(), ex.cluster());
    drive(&mut engine, &mut ex, |_, _| {}, |_| {});
    let (said, code) = exec::run(
        &mut ex,
        "cp-2",
        "kubeadm token create --print-join-command --description hatui-replacing-cp-3",
    );
    assert_eq!(code, 0, "{said:?}");
    let r = Replace {
        node: "cp-2".into(),
        force: false,
    };
    let code = replace_on(&mut ex, &lab, &r, &mut out, &mut err).unwrap();
    assert_eq!(code, 2, "{}", String::from_utf8_lossy(&out));
    assert!(String::from_utf8_lossy(&err).contains("cp-2 is not dead"));
    assert!(out.is_empty());
}
