//! A live cluster with no `--etcd-endpoints`: hatui finds the members through kubeadm's
//! etcd pods (the test API server's, annotated with the client URLs of a real 3-member
//! TLS etcd listening on the masters' addresses 127.0.0.11-13) and asks them directly.

use crate::support;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use support::etcd_cluster::EtcdCluster;
use support::{Cluster, hatui_off_runtime};

/// Named after the fixture's masters, on their addresses, as kubeadm's stacked etcd is.
async fn etcd_on_the_masters() -> EtcdCluster {
    let start = || {
        EtcdCluster::start_on(&[
            ("cp-1", "127.0.0.11"),
            ("cp-2", "127.0.0.12"),
            ("cp-3", "127.0.0.13"),
        ])
    };
    tokio::task::spawn_blocking(start).await.unwrap()
}

fn leader_of(etcd: &EtcdCluster) -> String {
    tokio::task::block_in_place(|| etcd.leader_name_by_etcd()).expect("etcd has a leader")
}

/// What `reachable` gives for three healthy members.
fn all_up() -> Vec<(String, bool)> {
    ["cp-1", "cp-2", "cp-3"]
        .iter()
        .map(|n| (n.to_string(), true))
        .collect()
}

/// Points each `etcd-cp-N` pod's kubeadm annotation at the real member.
fn annotate(cluster: &Cluster, etcd: &EtcdCluster) {
    for (i, m) in etcd.members.iter().enumerate() {
        let name = format!("etcd-cp-{}", i + 1);
        let mut pod = cluster.get("pods", &name);
        pod["metadata"]["annotations"]["kubeadm.kubernetes.io/etcd.advertise-client-urls"] =
            json!(m.client_url);
        cluster.apply("pods", pod);
    }
}

async fn status_json(cluster: &Cluster, extra: &[&str]) -> Value {
    let mut args = vec!["status".to_string(), "--json".into(), "--kubeconfig".into()];
    args.push(cluster.kubeconfig.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = hatui_off_runtime(env!("CARGO_BIN_EXE_hatui"), args).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{stderr}"));
    // `status` exits with its health's plugin code (the fixture's old leases: critical).
    let codes = ["ok", "degraded", "critical", "unknown"];
    let health = codes.iter().position(|h| v["health"] == *h);
    assert_eq!(out.status.code(), health.map(|c| c as i32), "{stderr}");
    v
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// `(name, reachable)` by name (etcd lists members by id).
fn reachable(v: &Value) -> Vec<(String, bool)> {
    let mut all: Vec<(String, bool)> = v["etcd"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                m["reachable"] == true,
            )
        })
        .collect();
    all.sort();
    all
}

fn member<'a>(v: &'a Value, name: &str) -> &'a Value {
    let members = v["etcd"]["members"].as_array().unwrap();
    members.iter().find(|m| m["name"] == name).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_without_endpoints_ask_the_members_the_etcd_pods_name() {
    let mut etcd = etcd_on_the_masters().await;
    let cluster = Cluster::start().await;
    annotate(&cluster, &etcd);
    let c = &etcd.certs;
    let flags = [
        "--etcd-cacert",
        &path(&c.ca),
        "--etcd-cert",
        &path(&c.client_cert),
        "--etcd-key",
        &path(&c.client_key),
    ]
    .map(String::from);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let v = status_json(&cluster, &flags).await;
    let leader = leader_of(&etcd);
    assert_eq!(v["etcd"]["leader"], leader.as_str(), "{:#}", v["etcd"]);
    assert_eq!(v["etcd"]["via"], Value::Null, "asked directly");
    let all = all_up();
    assert_eq!(reachable(&v), all);
    assert_eq!(
        member(&v, "cp-1")["client_urls"][0],
        etcd.members[0].client_url.as_str()
    );

    // A dead member is still known by the URL its pod names, and counted as down.
    etcd.kill(1);
    let v = status_json(&cluster, &flags).await;
    let mut want = all.clone();
    want[1].1 = false;
    assert_eq!(reachable(&v), want, "{:#}", v["etcd"]);
    assert_eq!(v["etcd"]["quorum"]["healthy"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_etcd_flags_on_a_master_use_kubeadms_own_certificates() {
    let etcd = etcd_on_the_masters().await;
    let cluster = Cluster::start().await;
    annotate(&cluster, &etcd);
    // What kubeadm leaves in /etc/kubernetes/pki/etcd on a master.
    let pki = tempfile::tempdir().unwrap();
    etcd.write_kubeadm_pki(pki.path());
    let v = status_json(&cluster, &["--etcd-pki-dir", &path(pki.path())]).await;
    assert_eq!(v["etcd"]["quorum"]["healthy"], 3, "{:#}", v["etcd"]);
    assert_eq!(v["etcd"]["via"], Value::Null);
    let stale: Vec<&Value> = v["stale"].as_array().unwrap().iter().collect();
    assert!(stale.iter().all(|s| s["kind"] != "Etcd"), "{stale:?}");
}

/// The etcd pods' mirror pods missing: the control-plane nodes' addresses at
/// `--etcd-port` stand in for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_etcd_pods_the_control_plane_nodes_addresses_are_asked() {
    let masters = [
        ("cp-1", "127.0.0.11"),
        ("cp-2", "127.0.0.12"),
        ("cp-3", "127.0.0.13"),
    ];
    let start = move || EtcdCluster::start_on_one_port(&masters);
    let etcd = tokio::task::spawn_blocking(start).await.unwrap();
    let cluster = Cluster::start().await;
    for i in 1..=3 {
        cluster.delete("pods", &format!("etcd-cp-{i}"));
    }
    let port = etcd.client_port(0);
    let c = &etcd.certs;
    let (ca, cert, key) = (path(&c.ca), path(&c.client_cert), path(&c.client_key));
    let flags = [
        "--etcd-port",
        &port,
        "--etcd-cacert",
        &ca,
        "--etcd-cert",
        &cert,
        "--etcd-key",
        &key,
    ];
    let v = status_json(&cluster, &flags).await;
    assert_eq!(reachable(&v), all_up(), "{:#}", v["etcd"]);
    assert_eq!(v["etcd"]["leader"], leader_of(&etcd).as_str());

    // No etcd pod to exec in and no certificate: say what to pass.
    let v = status_json(&cluster, &["--etcd-pki-dir", "/nonexistent/pki"]).await;
    let etcd = v["stale"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "Etcd")
        .expect("etcd is stale");
    let why = etcd["error"].as_str().unwrap();
    assert!(
        why.contains("no etcd pod to run etcdctl in")
            && why.contains("/nonexistent/pki/")
            && why.contains("--etcd-cacert"),
        "{why}"
    );
}

/// Control-plane nodes only, by their InternalIP: workers run no etcd.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_plane_nodes_addresses_leave_the_workers_out() {
    let cluster = Cluster::start().await;
    let client = cluster.client(support::ADMIN).await;
    let urls = hatui::live::etcd_way::control_plane_urls(&client, 2379)
        .await
        .unwrap();
    assert_eq!(
        urls,
        [
            "https://127.0.0.11:2379",
            "https://127.0.0.12:2379",
            "https://127.0.0.13:2379"
        ]
    );
}

#[test]
fn the_lab_refuses_ways_that_need_a_live_clusters_pods() {
    for flags in [
        &["--etcd-exec"][..],
        &["--etcd-cacert", "/etc/kubernetes/pki/etcd/ca.crt"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_hatui"))
            .args(["status", "--lab"])
            .args(flags)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flags:?} accepted");
        assert!(
            stderr.contains("the lab has none") && stderr.contains("--etcd-endpoints"),
            "{stderr}"
        );
    }
}

const VIA_EXEC: &str = "via kube exec (last resort, every 2 s)";

/// No certificate here: etcdctl in each `etcd-<node>` pod through the apiserver, labelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_certificate_here_falls_back_to_etcdctl_in_the_pods() {
    let mut etcd = etcd_on_the_masters().await;
    let cluster = Cluster::start().await;
    cluster.on_exec(etcd.exec_handler(support::etcd_pods()));
    let nowhere = ["--etcd-pki-dir", "/nonexistent/pki/etcd"];
    let v = status_json(&cluster, &nowhere).await;
    assert_eq!(v["etcd"]["via"], VIA_EXEC, "{:#}", v["etcd"]);
    let leader = leader_of(&etcd);
    assert_eq!(v["etcd"]["leader"], leader.as_str(), "{:#}", v["etcd"]);
    let all = all_up();
    assert_eq!(reachable(&v), all);
    assert!(member(&v, "cp-2")["raft_term"].as_u64().unwrap() > 0);

    // A dead member's pod still execs, and etcdctl says why it cannot reach its etcd.
    etcd.kill(2);
    let v = status_json(&cluster, &nowhere).await;
    let mut want = all.clone();
    want[2].1 = false;
    assert_eq!(reachable(&v), want, "{:#}", v["etcd"]);
    let err = member(&v, "cp-3")["error"].as_str().unwrap();
    assert!(err.starts_with("etcdctl in etcd-cp-3: "), "{err}");
    assert_eq!(v["etcd"]["quorum"]["healthy"], 2);

    // The text says how etcd was reached too.
    let mut args = vec!["status".to_string(), "--kubeconfig".into()];
    args.push(cluster.kubeconfig.display().to_string());
    args.extend(["--etcd-exec".to_string()]);
    let out = hatui_off_runtime(env!("CARGO_BIN_EXE_hatui"), args).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("etcd ({VIA_EXEC}): leader")),
        "{text}"
    );
}

/// Exec forbidden: each member says so, and nobody answering is not a lost quorum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_exec_is_named_and_the_quorum_is_unknown_not_lost() {
    let etcd = etcd_on_the_masters().await;
    let cluster = Cluster::start().await;
    cluster.on_exec(etcd.exec_handler(support::etcd_pods()));
    cluster.forbid("pods/exec");
    let v = status_json(&cluster, &["--etcd-exec"]).await;
    assert_eq!(v["etcd"]["via"], VIA_EXEC);
    for m in v["etcd"]["members"].as_array().unwrap() {
        let err = m["error"].as_str().unwrap_or_default();
        assert!(
            err.contains("forbidden") && err.contains("pods/exec"),
            "{err}"
        );
    }
    let warnings = v["etcd"]["warnings"].as_array().unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let stale = v["stale"].as_array().unwrap();
    let etcd_stale = stale
        .iter()
        .find(|s| s["kind"] == "Etcd")
        .expect("etcd stale");
    assert!(
        etcd_stale["error"].as_str().unwrap().contains("forbidden"),
        "{etcd_stale}"
    );
}

/// `hatui etcd snapshot` with no endpoint: the members the etcd pods name, asked with the
/// certificate given; the file named after the kubeconfig's endpoint. With no certificate
/// here, kube exec cannot stream a snapshot: refused, naming the flags to pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_comes_from_a_member_the_etcd_pods_name() {
    let etcd = etcd_on_the_masters().await;
    let cluster = Cluster::start().await;
    annotate(&cluster, &etcd);
    let dir = tempfile::tempdir().unwrap();
    let c = &etcd.certs;
    let mut args: Vec<String> = ["etcd", "snapshot", "--json", "--to"]
        .map(String::from)
        .into();
    args.push(path(dir.path()));
    args.extend(["--kubeconfig".into(), path(&cluster.kubeconfig)]);
    for (flag, p) in [
        ("--etcd-cacert", &c.ca),
        ("--etcd-cert", &c.client_cert),
        ("--etcd-key", &c.client_key),
    ] {
        args.extend([flag.to_string(), path(p)]);
    }
    let out = hatui_off_runtime(env!("CARGO_BIN_EXE_hatui"), args).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let member = v["member"].as_str().unwrap();
    assert!(["cp-1", "cp-2", "cp-3"].contains(&member), "{v}");
    assert!(
        etcd.endpoints().iter().any(|e| v["endpoint"] == e.as_str()),
        "{v}"
    );
    let file = v["path"].as_str().unwrap();
    let name = Path::new(file).file_name().unwrap().to_string_lossy();
    assert!(name.starts_with("etcd-snapshot-127.0.0.1-"), "{name}");
    assert!(hatui::etcd::verify_snapshot(Path::new(file)).is_ok());

    let args = [
        "etcd",
        "snapshot",
        "--to",
        &path(dir.path()),
        "--kubeconfig",
        &path(&cluster.kubeconfig),
        "--etcd-pki-dir",
        "/nonexistent/pki/etcd",
    ]
    .map(String::from)
    .into();
    let out = hatui_off_runtime(env!("CARGO_BIN_EXE_hatui"), args).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("a snapshot streams from etcd's own API") && err.contains("--etcd-ssh"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only the first"
    );
}
