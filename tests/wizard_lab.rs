//! The wizard on the bare lab with the real binary (`hatui wizard --lab --yes --json`):
//! the whole plan for 1+0, 3+2, 5+3 and 2+1, the scenarios that need a refresh, and no
//! secret anywhere in what it prints. The engine and the lab's kubeadm on their own:
//! `wizard_lab_engine.rs`.

use std::process::{Command, Output};

use serde_json::Value;

fn hatui(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hatui"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run hatui")
}

fn run_json(cps: usize, workers: usize, scenario: Option<&str>) -> (Value, String) {
    let (cps_s, w_s) = (cps.to_string(), workers.to_string());
    let mut args = vec![
        "wizard",
        "--lab",
        "--control-planes",
        &cps_s,
        "--workers",
        &w_s,
    ];
    if let Some(s) = scenario {
        args.extend(["--scenario", s]);
    }
    args.extend(["--yes", "--json"]);
    let out = hatui(&args);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{cps}+{workers}: exit {:?}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (serde_json::from_str(&text).expect("one JSON object"), text)
}

/// Token secrets (`abcdef.0123456789abcdef`) and certificate keys (64 hex not after
/// `sha256:`) nowhere in `text`.
fn assert_no_secret(text: &str) {
    let words = text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == ':'));
    for w in words {
        let w = w.trim_end_matches('.');
        if let Some((id, secret)) = w.split_once('.') {
            let alnum = |s: &str| {
                s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            };
            assert!(
                !(id.len() == 6 && secret.len() == 16 && alnum(id) && alnum(secret)),
                "a token secret leaked: {w}"
            );
        }
        let hex = w.rsplit(':').next().unwrap_or(w);
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            assert!(w.starts_with("sha256:"), "a certificate key leaked: {w}");
        }
    }
}

fn assert_built(v: &Value, cps: usize, workers: usize) {
    let plan = v["plan"].as_array().unwrap();
    for s in plan {
        assert_eq!(s["status"], "ok", "{s}");
        assert!(s["attempts"].as_u64().unwrap() >= 1, "{s}");
        assert!(s["started_at"].as_str().unwrap().ends_with('Z'), "{s}");
        assert!(s["duration_s"].as_f64().is_some(), "{s}");
    }
    assert_eq!(plan.last().unwrap()["id"], "verify");
    assert_eq!(v["verified"], true);
    let status = &v["status"];
    let members = status["etcd"]["members"].as_array().unwrap();
    let voters = members.iter().filter(|m| m["is_learner"] == false).count();
    assert_eq!(voters, cps, "{members:?}");
    assert_eq!(members.len(), cps, "no learner left: {members:?}");
    for lease in ["kube-scheduler", "kube-controller-manager"] {
        let l = status["leases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == lease);
        assert!(
            l.is_some_and(|l| l["holder_node"].is_string()),
            "{lease} held"
        );
    }
    let nodes = status["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), cps + workers);
    assert!(nodes.iter().all(|n| n["ready"] == true), "{nodes:?}");
    assert!(
        status["stale"].as_array().unwrap().is_empty(),
        "{}",
        status["stale"]
    );
}

#[test]
fn the_whole_plan_builds_every_shape_and_verify_passes() {
    for (cps, workers) in [(1, 0), (3, 2), (5, 3), (2, 1)] {
        let (v, text) = run_json(cps, workers, None);
        assert_built(&v, cps, workers);
        assert_no_secret(&text);
        let ids: Vec<&str> = v["plan"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 5 + (cps - 1) + workers, "{ids:?}");
        let warnings = v["warnings"].to_string();
        assert_eq!(warnings.contains("an even number"), cps == 2, "{warnings}");
    }
}

#[test]
fn commands_and_output_hide_the_secrets_and_the_join_tail_says_it_joined() {
    let (v, _) = run_json(3, 1, None);
    let join = v["plan"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "join-control-plane/cp-2")
        .unwrap();
    let cmd = join["commands"][0].as_str().unwrap();
    assert!(cmd.contains("--certificate-key <hidden>"), "{cmd}");
    assert!(
        cmd.contains(".<hidden> --discovery-token-ca-cert-hash sha256:"),
        "{cmd}"
    );
    let tail = join["output_tail"].to_string();
    assert!(
        tail.contains(
            "This node has joined the cluster and a new control plane instance was created"
        ),
        "{tail}"
    );
}

#[test]
fn each_step_is_printed_as_it_finishes_and_the_exit_code_says_verified() {
    let out = hatui(&[
        "wizard",
        "--lab",
        "--control-planes",
        "3",
        "--workers",
        "2",
        "--yes",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for id in [
        "preflight",
        "init (cp-1)",
        "join-control-plane/cp-3",
        "join-worker/worker-2",
        "verify",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with("ok") && l.contains(id)),
            "{id}:\n{text}"
        );
    }
    assert!(text.contains("verified: lab time"), "{text}");
    assert_no_secret(&text);
}

#[test]
fn an_expired_certificate_key_or_token_is_refreshed_before_the_joins() {
    let (v, text) = run_json(3, 2, Some("expired-certificate-key"));
    assert_built(&v, 3, 2);
    assert_no_secret(&text);
    let ids: Vec<&str> = v["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    let at = |id: &str| {
        ids.iter()
            .position(|i| *i == id)
            .unwrap_or_else(|| panic!("{id} in {ids:?}"))
    };
    assert!(at("upload-certs/cp-2") < at("join-control-plane/cp-2"));
    assert!(
        !ids.iter().any(|i| i.starts_with("token-create")),
        "{ids:?}"
    );
    let (v, _) = run_json(3, 2, Some("expired-token"));
    assert_built(&v, 3, 2);
    let ids: Vec<&str> = v["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"upload-certs/cp-2") && ids.contains(&"token-create/cp-2"),
        "{ids:?}"
    );
}

#[test]
fn a_cluster_initialised_without_an_endpoint_stops_before_a_master_joins_with_the_fix() {
    let out = hatui(&[
        "wizard",
        "--lab",
        "--scenario",
        "no-control-plane-endpoint",
        "--yes",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    let line = |start: &str| {
        text.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("{start}:\n{text}"))
    };
    assert!(line("done     init").contains("init (cp-1)"), "{text}");
    assert!(line("FAILED   join-control-plane/cp-2").contains("cp-2"));
    assert!(
        text.contains("without controlPlaneEndpoint") && text.contains("kube-public/cluster-info"),
        "{text}"
    );
    assert!(line("skipped  verify").contains("verify"));
    assert!(text.contains("NOT verified"), "{text}");
}
