//! The live sources against the test API server, through the real kube-rs client: what a
//! kubeadm cluster's objects become in the cockpit's state.

use crate::support;

use hatui::live::sources::{ETCD_NOT_CONFIGURED, NO_CONTROL_PLANE_ENDPOINT};
use hatui::model::{FeedKind, PodState, Readiness};
use support::{ADMIN, Cluster, Cockpit, RunCockpit, VIEWER};

fn synced(s: &hatui::model::ClusterState) -> bool {
    support::fixtures_synced(s)
}

#[tokio::test]
async fn the_fixtures_arrive_with_client_certificate_auth() {
    let cluster = Cluster::start().await;
    let mut c = cluster.cockpit(ADMIN).await;
    c.until("the initial lists", synced).await;
    let s = c.state();
    let names: Vec<&str> = s.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["cp-1", "cp-2", "cp-3", "worker-1", "worker-2"]);
    assert_eq!(s.nodes.get("cp-1").unwrap().ready, Readiness::Ready);
    let cp3 = &s.static_pods["cp-3"];
    assert_eq!(cp3.scheduler.state, PodState::Running);
    assert_eq!(cp3.scheduler.restarts, 3);
    assert_eq!(
        s.leases["kube-controller-manager"].holder_node(),
        Some("cp-2")
    );
    assert!(s.leases.contains_key("plndr-cp-lock"), "kube-vip's lease");
    assert_eq!(s.endpoint.address, cluster.server.addr.to_string());
    let etcd = s.feed(FeedKind::Etcd).unwrap();
    assert_eq!(etcd.error.as_deref(), Some(ETCD_NOT_CONFIGURED));
}

#[tokio::test]
async fn token_and_certificate_key_countdowns() {
    let cluster = Cluster::start().await;
    let mut c = cluster.cockpit(VIEWER).await;
    c.until("the initial lists", synced).await;
    let s = c.state();
    let now = s.now;
    let expires = |id: &str| s.tokens[id].expires_in_s(now);
    assert_eq!(expires("q41ujq"), Some(22 * 3600), "the default 24h token");
    assert_eq!(
        expires("ci7lnb"),
        None,
        "a token without expiration never expires"
    );
    assert_eq!(expires("x9y8z7"), Some(-90 * 60), "expired 90 minutes ago");
    // The certificate key lives as long as its hidden owner token.
    assert_eq!(s.cert_key.owner_token_id.as_deref(), Some("8l5wp2"));
    assert_eq!(s.cert_key_expires_in_s(), Some(95 * 60));
    let join: Vec<&str> = s.join_tokens().map(|t| t.id.as_str()).collect();
    assert!(
        !join.contains(&"8l5wp2"),
        "the owner is not a join token: {join:?}"
    );
}

#[tokio::test]
async fn kubeadm_certs_whose_owner_token_is_gone_is_about_to_vanish() {
    let cluster = Cluster::start().await;
    let mut c = cluster.cockpit(ADMIN).await;
    c.until("the initial lists", synced).await;
    assert!(!c.state().cert_key_orphaned());

    // The token cleaner deletes the expired owner; the garbage collector has not yet run.
    cluster.delete("secrets", "bootstrap-token-8l5wp2");
    c.until("the owner token deleted", |s| {
        !s.tokens.contains_key("8l5wp2")
    })
    .await;
    assert!(c.state().cert_key_orphaned());
    assert_eq!(c.state().cert_key_expires_in_s(), None);
    let said =
        |c: &support::Cockpit, text: &str| c.state().timeline.iter().any(|e| e.text.contains(text));
    assert!(said(&c, "certificate-key owner token 8l5wp2 deleted"));

    cluster.delete("secrets", "kubeadm-certs");
    c.until("kubeadm-certs deleted", |s| !s.cert_key.secret_present)
        .await;
    assert!(said(
        &c,
        "kubeadm-certs deleted: the certificate key is gone"
    ));
}

#[tokio::test]
async fn a_cluster_without_control_plane_endpoint_is_flagged_with_the_fix() {
    let cluster = Cluster::start().await;
    let mut cm = cluster.get("configmaps", "kubeadm-config");
    let cfg = cm["data"]["ClusterConfiguration"].as_str().unwrap();
    let without: String = cfg
        .lines()
        .filter(|l| !l.starts_with("controlPlaneEndpoint:"))
        .map(|l| format!("{l}\n"))
        .collect();
    cm["data"]["ClusterConfiguration"] = without.into();
    cluster.apply("configmaps", cm);
    let mut c = cluster.cockpit(ADMIN).await;
    c.until("the flag", |s| {
        s.timeline
            .iter()
            .any(|e| e.text == NO_CONTROL_PLANE_ENDPOINT)
    })
    .await;
}

#[tokio::test]
async fn token_secrets_never_reach_the_state() {
    let cluster = Cluster::start().await;
    let mut c = cluster.cockpit(ADMIN).await;
    c.until("the initial lists", synced).await;
    let dump = format!("{:?}", c.state());
    for secret in ["kx7f2m9p0d3s8v1b", "zq8w3n5r7t1y6u4e", "m2c4e6g8i0k1l3n5"] {
        assert!(!dump.contains(secret), "token secret {secret} in the state");
    }
    let screen = c.screen(120, 36);
    assert!(!screen.contains("kx7f2m9p0d3s8v1b"), "{screen}");
}

/// The CA from the kubeconfig and each master's serving certificate from its own TLS
/// handshake (the masters' certificates end one day apart), counted down on the sources'
/// clock: moved to 20 days before cp-1's certificate ends, so the renew command shows.
#[tokio::test]
async fn the_ca_and_each_masters_serving_certificate_count_down() {
    use support::tls::{CA_DAYS, SERVING_DAYS};
    const DAY: i64 = 86_400;
    let cluster = Cluster::start().await;
    let mut sources = cluster.sources(ADMIN).await;
    let cp1_ends = support::fixture_now().as_second() + (SERVING_DAYS + 1) * DAY;
    let now = jiff::Timestamp::from_second(cp1_ends - 20 * DAY).unwrap();
    sources.clock = std::sync::Arc::new(move || now);
    let mut c = Cockpit::run(sources);
    c.until("the certificates", |s| s.certificates.len() == 4)
        .await;
    let s = c.state();
    let left = |name: &str| s.certificates[name].expires_in_s(s.now);
    let ca_ends = support::fixture_now().as_second() + CA_DAYS * DAY;
    assert_eq!(left("CA"), ca_ends - now.as_second());
    assert_eq!(left("apiserver cp-1"), 20 * DAY);
    assert_eq!(left("apiserver cp-2"), 21 * DAY);
    assert_eq!(left("apiserver cp-3"), 22 * DAY);
    let cp2 = &s.certificates["apiserver cp-2"];
    assert_eq!(cp2.node.as_deref(), Some("cp-2"));
    assert!(cp2.sans.iter().any(|n| n == "127.0.0.12"), "{:?}", cp2.sans);
    let screen = c.screen(120, 40);
    assert!(screen.contains("apiserver cp-1  20d00h"), "{screen}");
    assert!(screen.contains("$ kubeadm certs renew all"), "{screen}");
}

/// A source task that panics is named in the timeline and started again: here the clock
/// the sources are given breaks once, and whichever source asked it first goes down.
#[tokio::test]
async fn a_panicking_source_is_reported_and_restarted() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let cluster = Cluster::start().await;
    let mut sources = cluster.sources(ADMIN).await;
    let broken = Arc::new(AtomicBool::new(false));
    let (b, started) = (broken.clone(), std::time::Instant::now());
    // Wall time from the fixtures' moment on: answers are dated as a live cluster's are.
    sources.clock = Arc::new(move || {
        if b.swap(false, Ordering::SeqCst) {
            panic!("the test's clock broke");
        }
        let elapsed = jiff::SignedDuration::try_from(started.elapsed()).unwrap();
        support::fixture_now() + elapsed
    });
    let mut c = Cockpit::run(sources);
    c.until("the initial lists", synced).await;
    broken.store(true, Ordering::SeqCst);
    let said = |s: &hatui::model::ClusterState| {
        s.timeline.iter().any(|e| {
            e.text
                .contains("stopped (panicked: the test's clock broke); restarting in 1s")
        })
    };
    c.until("the panic reported", said).await;
    let then = c.state().now;
    c.until("the clock ticking again", |s| s.now > then).await;
    let stale: Vec<_> = c
        .state()
        .stale_feeds()
        .into_iter()
        .map(|s| s.kind)
        .collect();
    assert_eq!(stale, [FeedKind::Etcd], "only etcd, not configured here");
}

/// The kubelets' heartbeats are their node Leases in kube-node-lease: a Ready node whose
/// lease stopped moving counts down to NotReady; one renewed lately does not.
#[tokio::test]
async fn a_silent_kubelet_counts_down_to_not_ready_from_its_node_lease() {
    let cluster = Cluster::start().await;
    let mut c = cluster.cockpit(VIEWER).await;
    c.until("the initial lists", synced).await;
    let now = c.state().now;
    let ago = |s: i64| {
        let t = now - jiff::SignedDuration::from_secs(s);
        t.strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string()
    };
    for (node, renewed) in [("cp-1", ago(3)), ("cp-2", ago(18))] {
        let lease = serde_json::json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": node, "namespace": "kube-node-lease"},
            "spec": {
                "holderIdentity": node,
                "leaseDurationSeconds": 40,
                "renewTime": renewed,
            },
        });
        cluster.server.apply("node-leases", lease);
    }
    // Its status was last posted 4 min ago, as a healthy kubelet does (every 5 min).
    let mut node = cluster.server.get("nodes", "cp-2");
    for cond in node["status"]["conditions"].as_array_mut().unwrap() {
        cond["lastHeartbeatTime"] = serde_json::json!(ago(240));
    }
    cluster.server.apply("nodes", node);
    c.until("both node leases and cp-2's status", |s| {
        let posted = s.nodes.get("cp-2").and_then(|n| n.last_heartbeat);
        s.node_leases.len() == 2 && posted.is_some_and(|t| now.as_second() - t.as_second() >= 240)
    })
    .await;
    let s = c.state();
    let cp1 = s.nodes.get("cp-1").unwrap();
    assert_eq!(s.silent(cp1), None, "renewed 3 s ago");
    let cp2 = s.nodes.get("cp-2").unwrap();
    let h = s.silent(cp2).expect("silent for 18 s");
    // v1.33 kubelets: a 50 s grace period. The clock may have ticked once since.
    assert!((18..=19).contains(&h.age_s), "{h:?}");
    assert_eq!(h.not_ready_in_s, Some(50 - h.age_s), "{h:?}");
}
