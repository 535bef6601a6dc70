//! The conversions on the realistic kubeadm objects the test API server serves.

use k8s_openapi::api::coordination::v1::Lease as K8sLease;
use k8s_openapi::api::core::v1::{Node as K8sNode, Pod, Secret};
use serde::de::DeserializeOwned;

use super::*;

fn fixture<K: DeserializeOwned>(file: &str) -> Vec<K> {
    let path = format!(
        "{}/../../tests/fixtures/kubeadm/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("fixture");
    serde_json::from_str(&text).expect("fixture parses as the k8s type")
}

fn t(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

#[test]
fn nodes_have_roles_readiness_version_ip_and_taints() {
    let nodes: Vec<K8sNode> = fixture("nodes.json");
    let cp1 = node(&nodes[0]);
    assert_eq!(cp1.name, "cp-1");
    assert_eq!(cp1.roles, ["control-plane"]);
    assert!(cp1.is_control_plane());
    assert_eq!(cp1.ready, Readiness::Ready);
    assert_eq!(cp1.ready_since, Some(t("2026-03-14T07:42:10Z")));
    // The Ready condition's: posted on a change or every 5 min, not every 10 s.
    assert_eq!(cp1.last_heartbeat, Some(t("2026-03-14T08:59:52Z")));
    assert_eq!(cp1.kubelet_version, "v1.33.2");
    assert_eq!(cp1.internal_ip.as_deref(), Some("127.0.0.11"));
    assert_eq!(
        cp1.taints,
        ["node-role.kubernetes.io/control-plane:NoSchedule"]
    );
    let w = node(&nodes[3]);
    assert!(w.roles.is_empty() && w.taints.is_empty());
}

#[test]
fn node_ready_condition_maps_false_and_unknown() {
    let mut n: Vec<K8sNode> = fixture("nodes.json");
    let cond = |n: &mut K8sNode| {
        let cs = n.status.as_mut().unwrap().conditions.as_mut().unwrap();
        cs.iter_mut().find(|c| c.type_ == "Ready").unwrap().status = "Unknown".into();
    };
    cond(&mut n[1]);
    assert_eq!(node(&n[1]).ready, Readiness::Unknown);
    let cs = n[2].status.as_mut().unwrap().conditions.as_mut().unwrap();
    cs.iter_mut().find(|c| c.type_ == "Ready").unwrap().status = "False".into();
    assert_eq!(node(&n[2]).ready, Readiness::NotReady);
}

#[test]
fn static_pods_are_grouped_per_master_by_component() {
    let mut pods: Vec<Pod> = fixture("pods.json");
    let cp3 = static_pods("cp-3", &pods);
    assert_eq!(cp3.apiserver, PodHealth::RUNNING);
    assert_eq!(cp3.scheduler.restarts, 3);
    // The etcd pod of cp-2 is gone (manifest moved away): absent, the others unchanged.
    pods.retain(|p| p.metadata.name.as_deref() != Some("etcd-cp-2"));
    let cp2 = static_pods("cp-2", &pods);
    assert_eq!(cp2.etcd.state, PodState::Absent);
    assert_eq!(cp2.apiserver.state, PodState::Running);
}

#[test]
fn a_masters_apiserver_address_comes_from_kubeadms_annotation() {
    let mut pods: Vec<Pod> = fixture("pods.json");
    assert_eq!(
        apiserver_endpoint(&pods[0]).as_deref(),
        Some("127.0.0.11:6443")
    );
    assert_eq!(
        apiserver_endpoint(&pods[1]),
        None,
        "etcd is not an apiserver"
    );
    pods[0].metadata.annotations = None;
    assert_eq!(
        apiserver_endpoint(&pods[0]).as_deref(),
        Some("127.0.0.11:6443")
    );
}

#[test]
fn pod_health_tells_not_ready_and_crash_loops() {
    let pods: Vec<Pod> = fixture("pods.json");
    let mut p = pods[0].clone();
    let st = p.status.as_mut().unwrap();
    st.conditions.as_mut().unwrap()[2].status = "False".into();
    assert_eq!(pod_health(&p).state, PodState::NotReady);
    // As the node controller leaves a pod of an unreachable node: 0/1, still Running.
    assert!(
        pod_health(&p).not_ready_but_running(),
        "{:?}",
        pod_health(&p)
    );
    let st = p.status.as_mut().unwrap();
    let cs = &mut st.container_statuses.as_mut().unwrap()[0];
    cs.state = Some(serde_json::from_str(r#"{"waiting":{"reason":"CrashLoopBackOff"}}"#).unwrap());
    cs.restart_count = 7;
    assert_eq!(
        pod_health(&p),
        PodHealth {
            restarts: 7,
            ..PodHealth::FAILED
        }
    );
}

#[test]
fn leader_leases_convert_and_identity_leases_are_skipped() {
    let leases: Vec<K8sLease> = fixture("leases.json");
    let converted: Vec<Lease> = leases.iter().filter_map(lease).collect();
    let names: Vec<&str> = converted.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        ["kube-controller-manager", "kube-scheduler", "plndr-cp-lock"]
    );
    let kcm = &converted[0];
    assert_eq!(kcm.holder_node(), Some("cp-2"));
    assert_eq!((kcm.duration_s, kcm.transitions), (15, 4));
    assert_eq!(kcm.renew_time, Some(t("2026-03-14T08:59:58.512345Z")));
    // kube-vip's identity is the bare node name.
    assert_eq!(converted[2].holder_node(), Some("cp-1"));
}

#[test]
fn tokens_convert_without_their_secret() {
    let secrets: Vec<Secret> = fixture("secrets.json");
    let tokens: Vec<Token> = secrets
        .iter()
        .filter(|s| s.type_.as_deref() == Some("bootstrap.kubernetes.io/token"))
        .filter_map(token)
        .collect();
    assert_eq!(tokens.len(), 4);
    let default = &tokens[0];
    assert_eq!(default.id, "q41ujq");
    assert_eq!(default.usages, ["signing", "authentication"]);
    assert_eq!(
        default.groups,
        ["system:bootstrappers:kubeadm:default-node-token"]
    );
    assert_eq!(default.expiration, Some(t("2026-03-15T07:00:00Z")));
    let owner = &tokens[1];
    assert!(owner.usages.is_empty() && !owner.can_join());
    assert_eq!(tokens[2].expiration, None, "no expiration: never expires");
    let printed = format!("{tokens:?}");
    for secret in ["kx7f2m9p0d3s8v1b", "zq8w3n5r7t1y6u4e"] {
        assert!(!printed.contains(secret), "secret leaked: {printed}");
    }
}

#[test]
fn kubeadm_certs_points_at_its_owner_token() {
    let secrets: Vec<Secret> = fixture("secrets.json");
    let certs = secrets
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some(CERTS_SECRET))
        .unwrap();
    assert_eq!(
        cert_key(certs),
        CertKey {
            secret_present: true,
            owner_token_id: Some("8l5wp2".into())
        }
    );
}

#[test]
fn control_plane_endpoint_is_read_or_missing() {
    let cfg = "apiVersion: kubeadm.k8s.io/v1beta4\ncontrolPlaneEndpoint: lb.example:6443\n";
    assert_eq!(
        control_plane_endpoint(cfg).as_deref(),
        Some("lb.example:6443")
    );
    assert_eq!(control_plane_endpoint("controlPlaneEndpoint: \"\"\n"), None);
    assert_eq!(control_plane_endpoint("kind: ClusterConfiguration\n"), None);
}

#[test]
fn an_unparseable_expiration_is_expired_and_named() {
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "bootstrap-token-abcdef", "namespace": "kube-system"},
        "type": "bootstrap.kubernetes.io/token",
        "data": {
            "token-id": "YWJjZGVm",
            // "tomorrow"
            "expiration": "dG9tb3Jyb3c=",
            "usage-bootstrap-authentication": "dHJ1ZQ=="
        }
    }))
    .unwrap();
    let tok = token(&secret).unwrap();
    assert_eq!(tok.expiration, None);
    assert_eq!(tok.bad_expiration.as_deref(), Some("tomorrow"));
    assert_eq!(tok.expires_in_s(t("2026-03-14T09:00:00Z")), Some(0));
    let warning = tok.warning().unwrap();
    assert!(
        warning.starts_with("bootstrap token abcdef: expiration \"tomorrow\""),
        "{warning}"
    );
}
