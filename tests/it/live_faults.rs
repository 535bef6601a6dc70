//! What changes and failures on a live cluster look like: changes arriving by watch, RBAC
//! refusals, and the endpoint going away, through the real kube client.

use crate::support;

use hatui::model::{ClusterState, FeedKind, Readiness};
use serde_json::json;
use support::{ADMIN, Cluster, Cockpit, RunCockpit, VIEWER};

fn synced(s: &ClusterState) -> bool {
    s.nodes.len() == 5 && s.leases.len() == 3 && s.endpoint.ready == Some(true)
}

fn said(c: &Cockpit, text: &str) -> bool {
    c.state().timeline.iter().any(|e| e.text.contains(text))
}

#[tokio::test]
async fn a_lease_holder_change_arrives_by_watch_and_shows_in_the_timeline() {
    let cluster = Cluster::start().await;
    let mut c = cluster.cockpit(ADMIN).await;
    c.until("the initial lists", synced).await;

    // cp-1's scheduler died; cp-3's acquired the lease after it expired.
    let mut lease = cluster.get("leases", "kube-scheduler");
    lease["spec"]["holderIdentity"] = json!("cp-3_9a4c2f1e-7b3d-4e5f-8a6b-0c1d2e3f4a5b");
    lease["spec"]["acquireTime"] = json!("2026-03-14T08:59:59.500000Z");
    lease["spec"]["renewTime"] = json!("2026-03-14T08:59:59.500000Z");
    lease["spec"]["leaseTransitions"] = json!(4);
    cluster.apply("leases", lease);

    c.until("the new holder", |s| {
        s.leases["kube-scheduler"].holder_node() == Some("cp-3")
    })
    .await;
    assert!(
        said(
            &c,
            "lease kube-scheduler taken over: cp-1 → cp-3 (transitions 4)"
        ),
        "{:?}",
        c.state().timeline
    );
}

#[tokio::test]
async fn a_node_going_not_ready_is_seen_and_noted() {
    let cluster = Cluster::start().await;
    let mut c = cluster.cockpit(ADMIN).await;
    c.until("the initial lists", synced).await;

    // The node controller's view after 50 s without heartbeats from cp-2's kubelet.
    let mut node = cluster.get("nodes", "cp-2");
    for cond in node["status"]["conditions"].as_array_mut().unwrap() {
        cond["status"] = json!("Unknown");
        cond["reason"] = json!("NodeStatusUnknown");
        cond["message"] = json!("Kubelet stopped posting node status.");
        cond["lastTransitionTime"] = json!("2026-03-14T08:59:40Z");
    }
    cluster.apply("nodes", node);

    c.until("cp-2 not ready", |s| {
        s.nodes.get("cp-2").unwrap().ready == Readiness::Unknown
    })
    .await;
    let cp2 = c.state().nodes.get("cp-2").unwrap();
    assert_eq!(
        cp2.ready_since,
        Some("2026-03-14T08:59:40Z".parse().unwrap())
    );
    assert!(said(&c, "node cp-2 Unknown (was Ready)"));
    // The kubelet stopped; its static pods, as the API last saw them, did not.
    assert!(c.state().static_pods["cp-2"].apiserver.state == hatui::model::PodState::Running);
}

#[tokio::test]
async fn a_403_is_shown_as_such_and_the_rest_still_works() {
    let cluster = Cluster::start().await;
    cluster.forbid("secrets");
    let mut c = cluster.cockpit(VIEWER).await;
    c.until("the tokens feed refused", |s| {
        s.feed(FeedKind::Tokens)
            .and_then(|f| f.error.as_deref())
            .is_some()
    })
    .await;
    c.until("the other lists", synced).await;
    let feed = c.state().feed(FeedKind::Tokens).unwrap();
    assert_eq!(
        feed.error.as_deref(),
        Some("403 Forbidden: cannot list secrets in kube-system")
    );
    assert_eq!(feed.last_ok, None, "no token data was ever read");
    assert!(c.state().tokens.is_empty());
    let screen = c.screen(120, 36);
    assert!(
        screen.contains("TTLs  no data: 403 Forbidden: cannot list secrets"),
        "{screen}"
    );
    // Unread is not absent: no "upload the certs again" advice on data never seen.
    assert!(
        screen.contains("certificate key  unknown: no data"),
        "{screen}"
    );
    assert!(!screen.contains("upload-certs"), "{screen}");
}

#[tokio::test]
async fn a_wrong_token_is_a_401() {
    let cluster = Cluster::start().await;
    let text = std::fs::read_to_string(&cluster.kubeconfig).unwrap();
    std::fs::write(&cluster.kubeconfig, text.replace(support::TOKEN, "wrong")).unwrap();
    let mut c = cluster.cockpit(VIEWER).await;
    c.until("the nodes feed refused", |s| {
        s.feed(FeedKind::Nodes)
            .and_then(|f| f.error.as_deref())
            .is_some()
    })
    .await;
    let err = c
        .state()
        .feed(FeedKind::Nodes)
        .unwrap()
        .error
        .clone()
        .unwrap();
    assert!(err.starts_with("401 Unauthorized"), "{err}");
}

#[tokio::test]
async fn with_no_apiserver_answering_the_data_is_marked_stale() {
    let cluster = Cluster::start().await;
    let mut c = cluster.cockpit(ADMIN).await;
    c.until("the initial lists", synced).await;

    cluster.stop_all();
    c.until("the endpoint down", |s| s.endpoint.ready == Some(false))
        .await;
    let detail = c.state().endpoint.detail.clone().unwrap_or_default();
    assert!(
        detail.starts_with("connection refused; no master's apiserver answers either"),
        "{detail}"
    );
    c.until("the nodes feed stale", |s| {
        s.feed(FeedKind::Nodes).is_some_and(|f| f.error.is_some())
    })
    .await;
    // The last data stays, marked with its age and the reason.
    let s = c.state();
    assert_eq!(s.nodes.len(), 5);
    assert!(s.feed(FeedKind::Nodes).unwrap().last_ok.is_some());
    assert!(said(&c, "DOWN: connection refused"));

    cluster.restart_all().await;
    c.until("the endpoint back", |s| s.endpoint.ready == Some(true))
        .await;
    c.until("the nodes feed fresh", |s| {
        s.feed(FeedKind::Nodes).is_some_and(|f| f.error.is_none())
    })
    .await;
    assert!(said(&c, "Nodes refreshing again"));
}

#[tokio::test]
async fn with_the_endpoint_down_the_cockpit_talks_to_a_master_and_says_so() {
    let cluster = Cluster::start().await;
    let mut c = cluster.cockpit(ADMIN).await;
    let all_up = |s: &ClusterState| {
        synced(s) && s.apiservers.len() == 3 && s.apiservers.values().all(|a| a.ready)
    };
    c.until("the endpoint and every master ready", all_up).await;
    let cp1 = &c.state().apiservers["cp-1"];
    assert_eq!(cp1.address, cluster.masters[0].addr.to_string());

    // cp-1's apiserver dies too: the cockpit must pick one that answers.
    cluster.masters[0].stop();
    cluster.server.stop();
    c.until("the fallback", |s| {
        s.endpoint.ready == Some(false)
            && s.endpoint
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("using cp-2's apiserver"))
    })
    .await;
    assert!(
        said(&c, "DOWN: connection refused; using cp-2's apiserver"),
        "{:?}",
        c.state().timeline
    );
    assert!(!c.state().apiservers["cp-1"].ready);

    // cp-2 goes too: on to cp-3, and the timeline says so.
    cluster.masters[1].stop();
    c.until("the move to cp-3", |s| {
        s.endpoint
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("using cp-3's apiserver"))
    })
    .await;
    assert!(said(&c, "now talking to cp-3's apiserver"));
    c.until("the watches back through cp-3", |s| {
        [FeedKind::Nodes, FeedKind::Leases, FeedKind::Pods]
            .iter()
            .all(|k| {
                s.feed(*k)
                    .is_some_and(|f| f.error.is_none() && f.last_ok.is_some())
            })
    })
    .await;

    // Changes still arrive, through the master.
    let mut lease = cluster.get("leases", "kube-controller-manager");
    lease["spec"]["holderIdentity"] = json!("cp-3_1f2e3d4c-5b6a-4789-9abc-def012345678");
    lease["spec"]["leaseTransitions"] = json!(5);
    cluster.apply("leases", lease);
    c.until("the takeover seen through cp-3", |s| {
        s.leases["kube-controller-manager"].holder_node() == Some("cp-3")
    })
    .await;

    // The endpoint is back: hatui goes back through it.
    cluster.server.restart().await;
    c.until("the endpoint back", |s| s.endpoint.ready == Some(true))
        .await;
    assert!(said(&c, "answers again: talking through it"));
}

#[tokio::test]
async fn a_hung_endpoint_times_out_and_the_cockpit_moves_to_a_master() {
    let cluster = Cluster::start().await;
    let mut c = cluster.cockpit(ADMIN).await;
    c.until("the initial lists and masters", |s| {
        synced(s) && s.apiservers.len() == 3 && s.apiservers.values().all(|a| a.ready)
    })
    .await;
    cluster.server.hang();
    c.until("the timeout and the fallback", |s| {
        s.endpoint.detail.as_deref().is_some_and(|d| {
            d.starts_with("timeout after 1s") && d.contains("using cp-1's apiserver")
        })
    })
    .await;
    // The watches left the hung path: a change only the masters serve arrives.
    let mut node = cluster.get("nodes", "worker-2");
    node["spec"]["unschedulable"] = json!(true);
    node["spec"]["taints"] =
        json!([{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]);
    for m in &cluster.masters {
        m.apply("nodes", node.clone());
    }
    c.until("the cordon seen", |s| {
        s.nodes.get("worker-2").unwrap().taints == ["node.kubernetes.io/unschedulable:NoSchedule"]
    })
    .await;
}
