//! `hatui drill` as a user runs it: the real binary's refusals and exit codes, the report's
//! JSON against its documented schema, no secrets.

use std::process::{Command, Output};

use serde_json::Value;

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
    assert_eq!(
        v["fault"]["commands"][0],
        "systemctl poweroff --force --force"
    );
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
    assert!(md.contains("# Failover drill: power cut of"), "{md}");
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
fn the_drill_page_documents_every_report_field() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "drill", "--lab", "--seed", "2", "--fault", "power", "--yes", "--json",
    ];
    let out = hatui(&args, dir.path());
    let v: Value = serde_json::from_slice(&out.stdout).expect("the JSON report");
    let mut found = Vec::new();
    keys(&v, false, &mut found);
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/drill.md"));
    let page = page.unwrap();
    let start = page.find("\n## The report").expect("a report section");
    let section = &page[start..];
    let section = &section[..section[4..].find("\n## ").map_or(section.len(), |e| e + 4)];
    // The report's own page holds the fields the chart and interruptions added.
    let report_page =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/drill-report.md"))
            .unwrap();
    let missing: Vec<&String> = found
        .iter()
        .filter(|k| !section.contains(k.as_str()) && !report_page.contains(k.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "neither docs/drill.md's report section nor docs/drill-report.md documents {missing:?}"
    );
    assert!(found.iter().any(|k| k == "p99") && !found.iter().any(|k| k == "cp-1"));
}

#[test]
fn the_same_seed_replays_the_same_drill() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "drill", "--lab", "--seed", "7", "--fault", "power", "--yes", "--json",
    ];
    let run = || {
        let out = hatui(&args, dir.path());
        let mut v: Value = serde_json::from_slice(&out.stdout).expect("the JSON report");
        // Only the wall-clock start of the lab differs.
        for at in ["started_at", "restored_at"] {
            v["fault"][at] = Value::Null;
        }
        v
    };
    let first = run();
    assert_eq!(first["lab"]["seed"], 7);
    assert_eq!(first, run());
}

/// A real cluster's inventory: three masters and a worker, reached as `admin` with sudo.
const INVENTORY: &str = r#"name = "prod"
endpoint = "k8s-api.example.internal:6443"
load_balancer = "nlb"
pod_cidr = "192.168.0.0/16"
service_cidr = "10.96.0.0/12"

[ssh]
user = "admin"
sudo = true

[[hosts]]
name = "controlplane-1"
address = "10.0.1.11"
role = "control-plane"

[[hosts]]
name = "controlplane-2"
address = "10.0.1.12"
role = "control-plane"

[[hosts]]
name = "controlplane-3"
address = "10.0.1.13"
role = "control-plane"
port = 2222
bastion = "ops@10.0.0.5"

[[hosts]]
name = "worker-1"
address = "10.0.2.11"
role = "worker"
"#;

#[test]
fn a_dry_run_on_an_inventory_prints_the_exact_commands_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("hatui.toml");
    std::fs::write(&inv, INVENTORY).unwrap();
    let inv = inv.to_str().unwrap();
    let drill = |extra: &[&str]| {
        let mut args = vec!["drill", "--inventory", inv, "--dry-run"];
        args.extend_from_slice(extra);
        hatui(&args, dir.path())
    };
    let out = drill(&["--fault", "network", "--target", "controlplane-3"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("Drill (dry run: nothing runs): network cut of controlplane-3 for 120 s"),
        "{text}"
    );
    assert!(
        text.contains(
            "On controlplane-3 (ssh -p 2222 admin@10.0.1.13 through the jump host \
             ops@10.0.0.5:22) this runs, as root, one script through `sudo -n sh -c`:"
        ),
        "{text}"
    );
    assert!(
        text.contains("  iptables -I INPUT -s 10.0.1.11,10.0.1.12 -p tcp -m multiport --dports 2379,2380,6443 -j DROP"),
        "the other masters' addresses, as root: {text}"
    );
    assert!(
        text.contains("  iptables -D INPUT -s 10.0.1.11,10.0.1.12"),
        "{text}"
    );
    let pid = "/run/hatui-drill-controlplane-3.pid";
    assert!(
        text.contains("  nohup sh -c 'sleep 135; iptables -D INPUT"),
        "the dead man's switch comes first: {text}"
    );
    assert!(
        text.contains(&format!("  kill $(cat {pid}) 2>/dev/null; rm -f {pid}\n")),
        "the restore disarms it first: {text}"
    );
    assert!(
        text.contains("3 members need 2 of 3; 2 left during the network fault"),
        "{text}"
    );
    assert!(
        !dir.path().join("hatui-reports").exists(),
        "nothing ran, nothing written"
    );

    let out = drill(&["--fault", "power"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--dry-run needs --target NODE"),
        "{}",
        stderr(&out)
    );
    let out = drill(&["--fault", "etcd", "--target", "worker-1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("worker-1 is a worker"),
        "{}",
        stderr(&out)
    );

    // Two masters: losing one loses the quorum; --force prints it anyway.
    let two = INVENTORY
        .replace("name = \"controlplane-3\"", "name = \"cp-3\"")
        .replace(
            "address = \"10.0.1.13\"\nrole = \"control-plane\"",
            "address = \"10.0.1.13\"\nrole = \"worker\"",
        );
    std::fs::write(dir.path().join("hatui.toml"), two).unwrap();
    let out = drill(&["--fault", "power", "--target", "controlplane-1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("Quorum needs 2 of 2"),
        "{}",
        stderr(&out)
    );
    let out = drill(&["--fault", "power", "--target", "controlplane-1", "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
