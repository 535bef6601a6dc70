//! `hatui status` as a user runs it: the real binary, its JSON schema, its errors.

use std::process::{Command, Output};

use serde_json::Value;

fn hatui(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hatui"))
        .args(args)
        .output()
        .expect("hatui runs")
}

fn json(args: &[&str]) -> Value {
    let out = hatui(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

#[test]
fn lab_json_has_the_documented_schema() {
    let v = json(&["status", "--lab", "--json", "--seed", "7"]);
    assert_eq!(v["source"], "lab");
    assert!(v["observed_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(v["endpoint"]["address"], "lab-api.hatui.local:6443");
    assert_eq!(v["endpoint"]["ready"], true);
    assert!(
        v["endpoint"]["balancer"]
            .as_str()
            .unwrap()
            .starts_with("nlb: ")
    );
    assert_eq!(v["apiservers"][0]["lb"]["serving"], true);
    let haproxy = json(&["status", "--lab", "--json", "--lb", "haproxy"]);
    assert!(
        haproxy["endpoint"]["balancer"]
            .as_str()
            .unwrap()
            .starts_with("haproxy: ")
    );

    let nodes = v["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 5);
    let cp1 = &nodes[0];
    assert_eq!(cp1["name"], "cp-1");
    assert_eq!(cp1["roles"][0], "control-plane");
    assert_eq!(cp1["ready"], true);
    assert_eq!(cp1["kubelet_version"], "v1.33.2");
    assert_eq!(cp1["internal_ip"], "10.0.0.11");
    assert_eq!(
        cp1["taints"][0],
        "node-role.kubernetes.io/control-plane:NoSchedule"
    );
    assert!(cp1["heartbeat_age_s"].as_i64().unwrap() < 10, "{cp1}");
    assert_eq!(cp1["not_ready_in_s"], Value::Null, "a healthy kubelet");

    let etcd = &v["etcd"];
    let members = etcd["members"].as_array().unwrap();
    assert_eq!(members.len(), 3);
    let leaders: Vec<_> = members.iter().filter(|m| m["is_leader"] == true).collect();
    assert_eq!(leaders.len(), 1);
    assert_eq!(etcd["leader"], leaders[0]["name"]);
    for m in members {
        for key in [
            "id",
            "name",
            "client_urls",
            "is_learner",
            "reachable",
            "raft_term",
            "raft_index",
            "db_size_bytes",
        ] {
            assert!(m.get(key).is_some(), "member without {key}: {m}");
        }
    }
    assert_eq!(etcd["quorum"]["members"], 3);
    assert_eq!(etcd["quorum"]["healthy"], 3);
    assert_eq!(etcd["quorum"]["needed"], 2);
    assert_eq!(etcd["quorum"]["tolerates"], 1);

    let leases = v["leases"].as_array().unwrap();
    let names: Vec<_> = leases.iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["kube-controller-manager", "kube-scheduler"]);
    for l in leases {
        let identity = l["holder_identity"].as_str().unwrap();
        let node = l["holder_node"].as_str().unwrap();
        assert!(
            identity.starts_with(&format!("{node}_")),
            "{identity} vs {node}"
        );
        assert_eq!(l["duration_s"], 15);
        assert_eq!(l["expired"], false);
        assert_eq!(l["released"], false);
        assert!(l["renewed_ago_s"].as_i64().unwrap() <= 2);
    }

    let key = &v["certificate_key"];
    assert_eq!(key["present"], true);
    // Uploaded 25 minutes before the lab started: 1h35m left.
    assert_eq!(key["expires_in_s"], 95 * 60);
    let owner = key["owner_token_id"].as_str().unwrap();
    let tokens = v["tokens"].as_array().unwrap();
    let owner_token = tokens
        .iter()
        .find(|t| t["id"] == owner)
        .expect("owner listed");
    assert_eq!(
        owner_token["usages"].as_array().unwrap().len(),
        0,
        "the owner is no join token"
    );
    let join = tokens
        .iter()
        .find(|t| t["id"] != owner)
        .expect("a join token");
    assert_eq!(
        join["usages"],
        serde_json::json!(["signing", "authentication"])
    );
    assert_eq!(join["expires_in_s"], 24 * 3600 - 25 * 60);
}

#[test]
fn no_secret_reaches_the_output() {
    let out = hatui(&["status", "--lab", "--json", "--seed", "7"]);
    let text = String::from_utf8(out.stdout).unwrap();
    // A bootstrap token secret is 16 [a-z0-9]; a token as used is "<id>.<secret>".
    assert!(!text.contains("token-secret") && !text.contains("certificate-key\""));
    let v: Value = serde_json::from_str(&text).unwrap();
    for t in v["tokens"].as_array().unwrap() {
        assert!(
            !text.contains(&format!("{}.", t["id"].as_str().unwrap())),
            "a full token leaked"
        );
    }
}

#[test]
fn advancing_past_two_hours_removes_the_certificate_key() {
    let v = json(&[
        "status",
        "--lab",
        "--json",
        "--seed",
        "7",
        "--advance",
        "2h",
    ]);
    assert_eq!(v["certificate_key"]["present"], false);
    assert_eq!(v["certificate_key"]["expires_in_s"], Value::Null);
    assert_eq!(
        v["tokens"].as_array().unwrap().len(),
        1,
        "the owner token was cleaned up"
    );
}

#[test]
fn text_output_is_labelled_as_the_lab() {
    let out = hatui(&["status", "--lab", "--seed", "7", "--control-planes", "4"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("hatui status: LAB"), "{text}");
    assert!(text.contains("even member count"), "{text}");
    assert!(text.contains("tolerates 1 more failure"), "{text}");
}

#[test]
fn bad_input_says_what_to_do() {
    let out = hatui(&["lab", "--control-planes", "9"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--control-planes") && err.contains("1..=7"),
        "{err}"
    );

    let out = hatui(&["status", "--lab", "--advance", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a duration like 90s"));

    // No kubeconfig anywhere: say where it was looked for, and offer the lab.
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hatui"))
        .arg("status")
        .env("HOME", home.path())
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(".kube/config") && err.contains("does not exist"),
        "{err}"
    );
    assert!(err.contains("hatui status --lab"), "{err}");
}
