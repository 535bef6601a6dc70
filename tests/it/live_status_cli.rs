//! `hatui status` and `hatui` on a live cluster, as a user runs them: the real binary with
//! `--kubeconfig` against the test API server.

use crate::support;

use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};
use support::etcd_cluster::EtcdCluster;
use support::{Cluster, VIEWER};

async fn hatui(args: Vec<String>) -> Output {
    support::hatui_off_runtime(env!("CARGO_BIN_EXE_hatui"), args).await
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// `level: text` of each reason, worst first.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_json_is_live_with_the_lab_schema() {
    let cluster = Cluster::start().await;
    let kc = cluster.kubeconfig.display().to_string();
    let out = hatui(args(&["status", "--json", "--kubeconfig", &kc])).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stderr}"));
    // The fixture's leases were last renewed on 2026-03-14: nobody has renewed them since,
    // which is critical; and etcd, not configured, is not known.
    assert_eq!(out.status.code(), Some(2), "{:#}", v["reasons"]);
    assert_eq!(v["health"], "critical");
    let said = reasons(&v);
    assert!(
        said.iter()
            .any(|r| r.starts_with("critical: lease kube-scheduler expired: cp-1 stopped renewing")),
        "{said:#?}"
    );
    assert!(
        said.iter()
            .any(|r| r.starts_with("unknown: etcd quorum unknown")),
        "{said:#?}"
    );
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
    let first = stdout.lines().next().unwrap_or_default();
    // The plugin state on the first line is the exit code's (the fixture's old leases).
    assert!(first.ends_with(": CRITICAL"), "{stdout}");
    assert_eq!(
        out.status.code(),
        Some(2),
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
    // Nothing answered from here: UNKNOWN, as a plugin says of a host it cannot reach.
    assert_eq!(out.status.code(), Some(3), "{:#?}", reasons(&v));
    assert_eq!(v["health"], "unknown");
    let addr = cluster.server.addr.to_string();
    assert_eq!(
        reasons(&v),
        [format!(
            "unknown: cannot reach the cluster: the endpoint {addr} (connection refused), and \
             nothing else answered from here"
        )]
    );
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

/// The fixture's leader leases renewed now, as running controllers keep them.
fn renew_leases(cluster: &Cluster) {
    let now = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap();
    for name in ["kube-scheduler", "kube-controller-manager", "plndr-cp-lock"] {
        let mut lease = cluster.get("leases", name);
        lease["spec"]["renewTime"] = json!(now.to_string());
        cluster.apply("leases", lease);
    }
}

/// `status --json` with `extra`: its exit code and JSON.
async fn verdict(cluster: &Cluster, extra: &[String]) -> (Option<i32>, Value) {
    let mut all = args(&["status", "--json", "--kubeconfig"]);
    all.push(cluster.kubeconfig.display().to_string());
    all.extend(extra.iter().cloned());
    let out = hatui(all).await;
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), v)
}

/// A live cluster with a real etcd on its masters: OK, one member down (WARNING), then
/// the quorum lost with every apiserver failing its etcd check (CRITICAL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_exit_codes_follow_a_live_clusters_etcd() {
    let start = || {
        EtcdCluster::start_on(&[
            ("cp-1", "127.0.0.11"),
            ("cp-2", "127.0.0.12"),
            ("cp-3", "127.0.0.13"),
        ])
    };
    let mut etcd = tokio::task::spawn_blocking(start).await.unwrap();
    let cluster = Cluster::start().await;
    for (i, m) in etcd.members.iter().enumerate() {
        let mut pod = cluster.get("pods", &format!("etcd-cp-{}", i + 1));
        pod["metadata"]["annotations"]["kubeadm.kubernetes.io/etcd.advertise-client-urls"] =
            json!(m.client_url);
        cluster.apply("pods", pod);
    }
    let c = &etcd.certs;
    let flags: Vec<String> = [
        ("--etcd-cacert", &c.ca),
        ("--etcd-cert", &c.client_cert),
        ("--etcd-key", &c.client_key),
    ]
    .iter()
    .flat_map(|(flag, file)| [flag.to_string(), file.display().to_string()])
    .collect();

    renew_leases(&cluster);
    let (code, v) = verdict(&cluster, &flags).await;
    assert_eq!(code, Some(0), "{:#?}", reasons(&v));
    assert_eq!(v["health"], "ok");

    // A follower goes: the leader stays, so no election is under way when status looks.
    let leader = tokio::task::block_in_place(|| etcd.wait_for_leader(Duration::from_secs(20)));
    let followers: Vec<usize> = (0..3).filter(|&i| etcd.members[i].name != leader).collect();
    let (first, second) = (followers[0], followers[1]);
    let gone = etcd.members[first].name.clone();
    tokio::task::block_in_place(|| etcd.kill(first));
    renew_leases(&cluster);
    let (code, v) = verdict(&cluster, &flags).await;
    let said = reasons(&v);
    assert_eq!(code, Some(1), "{said:#?}");
    assert_eq!(
        said[..2],
        [
            "degraded: etcd tolerates no more failures: 2/3 voting members healthy, 2 needed"
                .to_string(),
            format!("degraded: etcd member {gone} does not answer: connection refused"),
        ],
    );

    tokio::task::block_in_place(|| etcd.kill(second));
    for api in cluster.masters.iter().chain([&cluster.server]) {
        api.set_unready(Some("etcd"));
    }
    renew_leases(&cluster);
    let (code, v) = verdict(&cluster, &flags).await;
    let said = reasons(&v);
    assert_eq!(code, Some(2), "{said:#?}");
    assert!(
        said.iter()
            .any(|r| r.starts_with("critical: etcd has lost its quorum: 1/3")),
        "{said:#?}"
    );
    let addr = cluster.server.addr;
    let down =
        format!("critical: the endpoint {addr} does not answer: etcd failed: reason withheld");
    assert!(said.contains(&down), "{said:#?}");
}
