//! Whole-screen snapshots of the live cockpit, drawn from the state hatui's live sources
//! built from the test API server's kubeadm fixtures (clock pinned to the fixtures' time).

use crate::support;

use hatui::model::{ClusterState, FeedKind, Readiness};
use serde_json::json;
use support::{ADMIN, Cluster, RunCockpit, VIEWER};

/// The fixtures, plus what the probes find: each master's apiserver and certificate.
fn synced(s: &ClusterState) -> bool {
    support::fixtures_synced(s)
        && s.apiservers.len() == 3
        && s.apiservers.values().all(|a| a.ready)
        && s.certificates.len() == 4
}

/// Addresses have random ports: pin them for the snapshot.
fn pinned(screen: String, cluster: &Cluster) -> String {
    cluster.pin_addresses(screen)
}

#[tokio::test]
async fn healthy_live_cluster() {
    let cluster = Cluster::start().await;
    let mut c = cluster.cockpit(ADMIN).await;
    c.until("the initial lists", synced).await;
    let screen = pinned(c.screen(120, 36), &cluster);
    assert!(
        !screen.contains("LAB"),
        "a live cluster is never labelled LAB"
    );
    insta::assert_snapshot!("live_healthy", screen);
}

#[tokio::test]
async fn live_takeover_and_not_ready_master() {
    let cluster = Cluster::start().await;
    let mut c = cluster.cockpit(ADMIN).await;
    c.until("the initial lists", synced).await;
    let mut node = cluster.get("nodes", "cp-1");
    for cond in node["status"]["conditions"].as_array_mut().unwrap() {
        cond["status"] = json!("Unknown");
        cond["lastTransitionTime"] = json!("2026-03-14T08:59:10Z");
    }
    cluster.apply("nodes", node);
    let not_ready = |s: &ClusterState| s.nodes.get("cp-1").unwrap().ready != Readiness::Ready;
    c.until("cp-1 not ready", not_ready).await;
    let mut lease = cluster.get("leases", "kube-scheduler");
    lease["spec"]["holderIdentity"] = json!("cp-3_9a4c2f1e-7b3d-4e5f-8a6b-0c1d2e3f4a5b");
    lease["spec"]["renewTime"] = json!("2026-03-14T08:59:59.500000Z");
    lease["spec"]["leaseTransitions"] = json!(4);
    cluster.apply("leases", lease);
    c.until("the takeover", |s| {
        s.leases["kube-scheduler"].holder_node() == Some("cp-3")
    })
    .await;
    cluster.delete("secrets", "bootstrap-token-8l5wp2");
    c.until("the owner token gone", |s| !s.tokens.contains_key("8l5wp2"))
        .await;
    insta::assert_snapshot!("live_takeover", pinned(c.screen(120, 36), &cluster));
}

#[tokio::test]
async fn live_nothing_answers_and_secrets_forbidden() {
    let cluster = Cluster::start().await;
    cluster.forbid("secrets");
    let mut c = cluster.cockpit(VIEWER).await;
    c.until("the lists", |s| {
        let listed = [
            FeedKind::Nodes,
            FeedKind::Leases,
            FeedKind::Pods,
            FeedKind::Config,
        ]
        .iter()
        .all(|k| s.feed(*k).is_some_and(|f| f.last_ok.is_some()));
        let probed = s.endpoint.ready == Some(true)
            && s.apiservers.len() == 3
            && s.apiservers.values().all(|a| a.ready);
        let certs = s.certificates.len() == 4;
        listed && probed && certs && s.feed(FeedKind::Tokens).is_some_and(|f| f.error.is_some())
    })
    .await;
    cluster.stop_all();
    // Open watches break first ("connection lost"); the relist after the backoff is refused.
    c.until("everything refused", |s| {
        s.endpoint.ready == Some(false)
            && s.apiservers.values().all(|a| !a.ready)
            && [
                FeedKind::Nodes,
                FeedKind::Leases,
                FeedKind::Pods,
                FeedKind::Config,
            ]
            .iter()
            .all(|k| {
                s.feed(*k)
                    .is_some_and(|f| f.error.as_deref() == Some("connection refused"))
            })
    })
    .await;
    c.sort_timeline();
    let screen = pinned(c.screen(120, 36), &cluster);
    assert!(screen.contains("✗ DOWN: connection"), "{screen}");
    insta::assert_snapshot!("live_nothing_answers", screen);
}

#[tokio::test]
async fn live_endpoint_down_fallback_to_a_master() {
    let cluster = Cluster::start().await;
    let mut c = cluster.cockpit(ADMIN).await;
    c.until("the initial lists", synced).await;
    cluster.server.stop();
    c.until("the watches back through cp-1", |s| {
        let via_cp1 = s
            .endpoint
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("using cp-1"));
        via_cp1
            && [
                FeedKind::Nodes,
                FeedKind::Leases,
                FeedKind::Pods,
                FeedKind::Tokens,
                FeedKind::Config,
            ]
            .iter()
            .all(|k| s.feed(*k).is_some_and(|f| f.error.is_none()))
    })
    .await;
    c.sort_timeline();
    insta::assert_snapshot!("live_fallback", pinned(c.screen(120, 36), &cluster));
}

#[tokio::test]
async fn live_small_terminal() {
    let cluster = Cluster::start().await;
    let mut c = cluster.cockpit(ADMIN).await;
    c.until("the initial lists", synced).await;
    insta::assert_snapshot!("live_80x24", pinned(c.screen(80, 24), &cluster));
}
