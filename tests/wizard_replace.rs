//! Day 2 on the lab (virtual clock): a dead master replaced by the wizard's plan; the
//! join that the plan's order prevents; refusals.

use std::process::{Command, Output};

use hatui::lab::LabConfig;
use hatui::wizard::exec::{self, LabExecutor};
use hatui::wizard::headless::{LabRun, Replace, Scenario, lab_plan, replace};

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
