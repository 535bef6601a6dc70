//! `hatui status` and `hatui` on a live cluster, as a user runs them: the real binary with
//! `--kubeconfig` against the test API server.

mod support;

use std::process::{Command, Output};

use serde_json::Value;
use support::{Cluster, VIEWER};

async fn hatui(args: Vec<String>) -> Output {
    support::hatui_off_runtime(env!("CARGO_BIN_EXE_hatui"), args).await
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_json_is_live_with_the_lab_schema() {
    let cluster = Cluster::start().await;
    let kc = cluster.kubeconfig.display().to_string();
    let out = hatui(args(&["status", "--json", "--kubeconfig", &kc])).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["source"], "live");
    assert_eq!(v["endpoint"]["address"], cluster.server.addr.to_string());
    assert_eq!(v["endpoint"]["ready"], true);
    assert_eq!(v["nodes"].as_array().unwrap().len(), 5);
    assert_eq!(v["nodes"][0]["roles"][0], "control-plane");
    assert_eq!(v["nodes"][0]["internal_ip"], "127.0.0.11");
    assert_eq!(v["leases"].as_array().unwrap().len(), 3);
    assert_eq!(v["certificate_key"]["present"], true);
    assert_eq!(v["certificate_key"]["owner_token_id"], "8l5wp2");
    assert_eq!(v["tokens"].as_array().unwrap().len(), 4);
    let stale = v["stale"].as_array().unwrap();
    assert_eq!(
        stale.len(),
        1,
        "only etcd, which is not configured: {stale:?}"
    );
    assert_eq!(stale[0]["kind"], "Etcd");
    // No member asked is not a lost quorum: `healthy: 0` would read as one.
    assert!(v["etcd"]["quorum"].is_null(), "{}", v["etcd"]);
    // The same top-level schema as the lab's.
    let lab = Command::new(env!("CARGO_BIN_EXE_hatui"))
        .args(["status", "--lab", "--json", "--seed", "7"])
        .output()
        .unwrap();
    let lab: Value = serde_json::from_slice(&lab.stdout).unwrap();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&v), keys(&lab));
    for secret in ["kx7f2m9p0d3s8v1b", "zq8w3n5r7t1y6u4e", "m2c4e6g8i0k1l3n5"] {
        assert!(!stdout.contains(secret), "token secret printed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_text_uses_the_context_given() {
    let cluster = Cluster::start().await;
    cluster.forbid("secrets");
    let kc = cluster.kubeconfig.display().to_string();
    let out = hatui(args(&["--context", VIEWER, "status", "--kubeconfig", &kc])).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("LAB"), "{stdout}");
    // No etcd flag and no client certificate here: the last resort, labelled as such.
    assert!(
        stdout.contains("etcd (via kube exec (last resort, every 2 s))"),
        "{stdout}"
    );
    assert!(stdout.contains("quorum unknown"), "{stdout}");
    assert!(
        !stdout.contains("QUORUM LOST"),
        "no etcd data is not a lost quorum"
    );
    assert!(
        stdout.contains("certificate key: unknown (no data)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("bootstrap tokens: unknown (no data)"),
        "{stdout}"
    );
    assert!(stdout.contains("nodes: 5/5 Ready"), "{stdout}");
    assert!(
        stdout.contains("403 Forbidden: cannot list secrets in kube-system"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_kubeconfig_names_the_file_and_the_field() {
    let cluster = Cluster::start().await;
    let text = std::fs::read_to_string(&cluster.kubeconfig).unwrap();
    let broken = cluster.kubeconfig.with_file_name("broken-config");
    std::fs::write(&broken, text.replace("\"server\"", "\"srever\"")).unwrap();
    let path = broken.display().to_string();
    // The cockpit itself fails before taking over the terminal, with the same message.
    for cmd in [
        vec!["status", "--kubeconfig", &path],
        vec!["--kubeconfig", &path],
    ] {
        let out = hatui(args(&cmd)).await;
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&path), "{err}");
        assert!(
            err.contains("clusters[\"kubernetes\"].cluster.server: missing"),
            "{err}"
        );
    }
    let out = hatui(args(&[
        "status",
        "--kubeconfig",
        &path,
        "--context",
        "prod",
    ]))
    .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no context named \"prod\""), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_on_a_dead_endpoint_says_so_instead_of_hanging() {
    let cluster = Cluster::start().await;
    cluster.server.stop();
    let kc = cluster.kubeconfig.display().to_string();
    let started = std::time::Instant::now();
    let out = hatui(args(&["status", "--json", "--kubeconfig", &kc])).await;
    assert!(
        started.elapsed().as_secs() < 10,
        "took {:?}",
        started.elapsed()
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(v["endpoint"]["ready"], false);
    assert_eq!(v["endpoint"]["detail"], "connection refused");
    let stale = v["stale"].as_array().unwrap();
    assert!(
        stale
            .iter()
            .any(|s| s["kind"] == "Nodes" && s["error"] == "connection refused"),
        "{stale:?}"
    );
}
