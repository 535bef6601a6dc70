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

    // Under `status`, a monitoring check, a usage error is UNKNOWN (3), not clap's 2.
    let out = hatui(&["status", "--lab", "--advance", "soon"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a duration like 90s"));

    // No kubeconfig anywhere: say where it was looked for, and offer the lab.
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hatui"))
        .arg("status")
        .env("HOME", home.path())
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "a cluster not reached is UNKNOWN"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(".kube/config") && err.contains("does not exist"),
        "{err}"
    );
    assert!(err.contains("hatui status --lab"), "{err}");
}

/// The exit code and the JSON of `status --lab --json` with `args`.
fn verdict(args: &[&str]) -> (Option<i32>, Value) {
    let all = [&["status", "--lab", "--json", "--seed", "7"], args].concat();
    let out = hatui(&all);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), v)
}

fn reasons(v: &Value) -> Vec<String> {
    v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}: {}",
                r["level"].as_str().unwrap(),
                r["text"].as_str().unwrap()
            )
        })
        .collect()
}

/// The Nagios/Icinga plugin codes against the lab's states: healthy, one master of three
/// powered off, two of three.
#[test]
fn status_exit_codes_follow_the_labs_state() {
    let (code, v) = verdict(&[]);
    assert_eq!((code, &v["health"]), (Some(0), &Value::from("ok")), "{v:#}");
    assert_eq!(reasons(&v), Vec::<String>::new());
    let raw = hatui(&["status", "--lab", "--json", "--seed", "7"]).stdout;
    let raw = String::from_utf8(raw).unwrap();
    assert!(
        raw.starts_with("{\n  \"health\": \"ok\",\n  \"reasons\": [],\n  \"source\": \"lab\""),
        "health comes first: {raw}"
    );

    let (code, v) = verdict(&["--fault", "power:cp-2", "--advance", "3m"]);
    assert_eq!(code, Some(1), "{:#?}", reasons(&v));
    assert_eq!(v["health"], "degraded");
    let said = reasons(&v);
    for want in [
        "degraded: etcd tolerates no more failures: 2/3 voting members healthy, 2 needed",
        "degraded: master cp-2 is Unknown (its kubelet stopped posting)",
    ] {
        assert!(said.iter().any(|r| r == want), "{want} not in {said:#?}");
    }

    let (code, v) = verdict(&[
        "--fault",
        "power:cp-1",
        "--fault",
        "power:cp-2",
        "--advance",
        "1m",
    ]);
    assert_eq!(code, Some(2), "{:#?}", reasons(&v));
    assert_eq!(v["health"], "critical");
    let said = reasons(&v);
    assert!(said[0].starts_with("critical: "), "worst first: {said:#?}");
    assert!(
        said.iter()
            .any(|r| r.starts_with("critical: etcd has lost its quorum: 1/3")),
        "{said:#?}"
    );

    // The text: the plugin state on the first line (what monitoring shows), then each reason.
    let out = hatui(&[
        "status",
        "--lab",
        "--seed",
        "7",
        "--fault",
        "kubelet:cp-3",
        "--advance",
        "3m",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("hatui status: LAB") && first.ends_with(": WARNING"),
        "{text}"
    );
    assert!(text.contains("\nhealth: degraded (exit 1)\n"), "{text}");
    assert!(
        text.contains("  degraded: master cp-3 is Unknown"),
        "{text}"
    );
}

/// What `status` cannot judge is UNKNOWN (3): a bad flag, a bad fault, nothing reached.
/// Other subcommands keep clap's 2 for a bad flag.
#[test]
fn status_usage_errors_are_unknown_elsewhere_clap_s_2() {
    for args in [
        &["status", "--bogus"][..],
        &[
            "--context",
            "status",
            "status",
            "--lab",
            "--fault",
            "melt:cp-1",
        ],
        &["status", "--lab", "--control-planes", "9"],
    ] {
        let out = hatui(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{err}");
    }
    let err = String::from_utf8_lossy(&hatui(&["status", "--lab", "--fault", "melt:cp-1"]).stderr)
        .into_owned();
    let out = hatui(&["status", "--lab", "--fault", "power:cp-9"]);
    let typo = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "a typo is no OK: {typo}");
    assert!(
        typo.contains("--fault: no node cp-9 in this lab (cp-1..cp-3, worker-1..worker-2)"),
        "{typo}"
    );
    assert!(
        err.contains("`melt` is not a lab fault: use kubelet"),
        "{err}"
    );
    assert_eq!(hatui(&["lab", "--bogus"]).status.code(), Some(2));
    assert_eq!(hatui(&["status", "--help"]).status.code(), Some(0));
}
