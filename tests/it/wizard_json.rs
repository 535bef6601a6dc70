//! The real binary's `hatui wizard --lab --yes --json`, and what every run must show.

#![allow(dead_code)]

use std::process::{Command, Output};

use serde_json::Value;

pub fn hatui(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hatui"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run hatui")
}

pub fn run_json(cps: usize, workers: usize, scenario: Option<&str>) -> (Value, String) {
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

/// The plan's steps for 3 masters and 2 workers, in order.
pub const PLAN_3_2: [&str; 10] = [
    "preflight",
    "load-balancer",
    "init",
    "cni",
    "join-control-plane/cp-2",
    "join-control-plane/cp-3",
    "join-worker/worker-1",
    "join-worker/worker-2",
    "cleanup",
    "verify",
];

/// The ids of the plan's steps, in order.
pub fn step_ids(v: &Value) -> Vec<&str> {
    let plan = v["plan"].as_array().expect("plan[]");
    plan.iter().map(|s| s["id"].as_str().expect("id")).collect()
}

/// Token secrets (`abcdef.0123456789abcdef`) and certificate keys (64 hex not after
/// `sha256:`) nowhere in `text`.
pub fn assert_no_secret(text: &str) {
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

pub fn assert_built(v: &Value, cps: usize, workers: usize) {
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
