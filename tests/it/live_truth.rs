//! What the live panes must not get wrong, against the test API server through the real
//! kube client: lease holders mapped to Nodes, token secrets never kept, a bad token
//! expiration, the certificate key's state, the controlPlaneEndpoint check, an unknown
//! etcd quorum, and etcd found after the load balancer was down at launch.

use crate::support;

use hatui::etcd::EtcdSettings;
use hatui::etcd::{PollerConfig, spawn_poller};
use hatui::live::etcd_way;
use hatui::model::quorum::PATH_BROKEN;
use hatui::model::{ClusterState, Snapshot};
use serde_json::{Value, json};
use support::{ADMIN, Cluster, Cockpit, MASTERS, RunCockpit, VIEWER};

fn synced(s: &ClusterState) -> bool {
    support::fixtures_synced(s)
}

fn said(c: &Cockpit, text: &str) -> bool {
    c.state().timeline.iter().any(|e| e.text.contains(text))
}

/// `status --json` of the cockpit's state.
fn json_of(c: &Cockpit) -> Value {
    serde_json::to_value(Snapshot::of(c.state())).unwrap()
}

fn lease(cluster: &Cluster, name: &str, holder: &str) -> Value {
    let mut l = cluster.get("leases", "kube-scheduler");
    l["metadata"]["name"] = json!(name);
    l["spec"]["holderIdentity"] = json!(holder);
    l
}

#[tokio::test]
async fn lease_holders_are_mapped_to_nodes_or_shown_with_a_question_mark() {
    let cluster = Cluster::start().await;
    // cp-2 joined with --node-name; its host is master-b.
    let mut cp2 = cluster.get("nodes", "cp-2");
    cp2["metadata"]["labels"]["kubernetes.io/hostname"] = json!("master-b");
    cluster.apply("nodes", cp2);
    let uuid = "_6d513da3-5616-4452-b5f2-aead4b29525b";
    for (name, host) in [
        ("kube-scheduler", "cp-1.example.internal"),
        ("kube-controller-manager", "master-b"),
        ("plndr-cp-lock", "ip-127-0-0-13"),
        ("cloud-controller-manager", "cp-3"),
        ("ingress-controller-leader", "ip-10-9-9-9"),
    ] {
        cluster.apply("leases", lease(&cluster, name, &format!("{host}{uuid}")));
    }
    let mut c = cluster.cockpit(ADMIN).await;
    c.until("the five leases", |s| synced_with(s, 5)).await;
    let v = json_of(&c);
    let holder = |name: &str| {
        let mut leases = v["leases"].as_array().unwrap().iter();
        let l = leases.find(|l| l["name"] == name).unwrap();
        (l["holder_node"].clone(), l["holder_host"].clone())
    };
    assert_eq!(
        holder("kube-scheduler").0,
        "cp-1",
        "the short name of an FQDN"
    );
    assert_eq!(
        holder("kube-controller-manager").0,
        "cp-2",
        "the hostname label"
    );
    assert_eq!(holder("plndr-cp-lock").0, "cp-3", "EC2 name to InternalIP");
    assert_eq!(
        holder("cloud-controller-manager").0,
        "cp-3",
        "the exact name"
    );
    let none = holder("ingress-controller-leader");
    assert_eq!(none, (Value::Null, json!("ip-10-9-9-9")));
    let screen = c.screen(140, 40);
    assert!(screen.contains("→ ip-10-9-9-9?"), "{screen}");
    assert!(
        screen.contains("kube-controller-manager   → cp-2"),
        "{screen}"
    );

    // The Node that host is arrives: the mapping follows.
    let mut node = cluster.get("nodes", "worker-2");
    node["metadata"]["name"] = json!("worker-3");
    node["status"]["addresses"] = json!([{"type": "InternalIP", "address": "10.9.9.9"}]);
    cluster.apply("nodes", node);
    c.until("the new node", |s| s.nodes.get("worker-3").is_some())
        .await;
    assert_eq!(
        holder_of(c.state(), "ingress-controller-leader"),
        Some("worker-3".into())
    );
}

fn synced_with(s: &ClusterState, leases: usize) -> bool {
    s.nodes.len() == 5 && s.leases.len() == leases && s.endpoint.ready == Some(true)
}

fn holder_of(s: &ClusterState, lease: &str) -> Option<String> {
    s.holder_node(&s.leases[lease]).map(str::to_string)
}

#[tokio::test]
async fn token_secrets_are_not_kept_and_kubeadm_certs_is_read_as_metadata_only() {
    let cluster = Cluster::start().await;
    let mut c = cluster.cockpit(ADMIN).await;
    c.until("the initial lists", synced).await;
    assert_eq!(c.state().cert_key.owner_token_id.as_deref(), Some("8l5wp2"));
    let servers = std::iter::once(&cluster.server).chain(&cluster.masters);
    for s in servers {
        assert!(
            !s.served_whole("secrets", "kubeadm-certs"),
            "the encrypted certificates were requested"
        );
    }
    // The tokens do come whole (there is no field selector for data): they are stripped
    // as they arrive, so neither the state nor the screen holds a token secret.
    assert!(
        cluster
            .server
            .served_whole("secrets", "bootstrap-token-q41ujq")
    );
    let dump = format!("{:?}", c.state());
    for secret in ["kx7f2m9p0d3s8v1b", "zq8w3n5r7t1y6u4e", "m2c4e6g8i0k1l3n5"] {
        assert!(!dump.contains(secret), "token secret {secret} in the state");
    }
}

#[tokio::test]
async fn a_token_whose_expiration_cannot_be_parsed_is_expired_with_a_warning() {
    let cluster = Cluster::start().await;
    let mut bad = cluster.get("secrets", "bootstrap-token-q41ujq");
    bad["metadata"]["name"] = json!("bootstrap-token-b4dexp");
    bad["data"]["token-id"] = json!("YjRkZXhw"); // b4dexp
    bad["data"]["expiration"] = json!("MjAyNi0wMy0xNSAwNzowMA=="); // 2026-03-15 07:00
    cluster.apply("secrets", bad);
    let mut c = cluster.cockpit(ADMIN).await;
    c.until("the token", |s| s.tokens.contains_key("b4dexp"))
        .await;
    assert_eq!(
        c.state().tokens["b4dexp"].expires_in_s(c.state().now),
        Some(0)
    );
    assert!(said(
        &c,
        "bootstrap token b4dexp: expiration \"2026-03-15 07:00\""
    ));
    let v = json_of(&c);
    let t = v["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "b4dexp")
        .unwrap();
    assert_eq!(t["expires_in_s"], 0);
    assert!(t["warning"].as_str().unwrap().contains("b4dexp"), "{t}");
}

#[tokio::test]
async fn the_certificate_key_state_is_present_orphaned_absent_or_unknown() {
    let cluster = Cluster::start().await;
    let state = |c: &Cockpit| json_of(c)["certificate_key"]["state"].clone();
    let mut c = cluster.cockpit(ADMIN).await;
    c.until("the initial lists", synced).await;
    assert_eq!(state(&c), "present");
    assert_eq!(json_of(&c)["certificate_key"]["present"], true);

    // upload-certs re-run: a new owner; the old one is no join token either.
    let mut old_owner = cluster.get("secrets", "bootstrap-token-8l5wp2");
    old_owner["metadata"]["name"] = json!("bootstrap-token-0ld0wn");
    old_owner["data"]["token-id"] = json!("MGxkMHdu"); // 0ld0wn
    cluster.apply("secrets", old_owner);
    c.until("the old owner", |s| s.tokens.contains_key("0ld0wn"))
        .await;
    let join: Vec<&str> = c.state().join_tokens().map(|t| t.id.as_str()).collect();
    assert!(!join.contains(&"0ld0wn"), "{join:?}");
    let kinds: Vec<(String, String)> = json_of(&c)["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().into(),
                t["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    for (id, kind) in [("0ld0wn", "old-key-owner"), ("8l5wp2", "key-owner")] {
        assert!(kinds.contains(&(id.into(), kind.into())), "{kinds:?}");
    }
    assert!(
        kinds.iter().any(|(_, k)| k == "join"),
        "the join tokens are still listed: {kinds:?}"
    );

    cluster.delete("secrets", "bootstrap-token-8l5wp2");
    c.until("the owner gone", |s| !s.tokens.contains_key("8l5wp2"))
        .await;
    assert_eq!(state(&c), "orphaned");
    cluster.delete("secrets", "kubeadm-certs");
    c.until("kubeadm-certs gone", |s| !s.cert_key.secret_present)
        .await;
    assert_eq!(state(&c), "absent");

    let forbidden = Cluster::start().await;
    forbidden.forbid("secrets");
    let mut c = forbidden.cockpit(VIEWER).await;
    c.until("the secrets refused", |s| {
        s.feed(hatui::model::FeedKind::Tokens)
            .is_some_and(|f| f.error.is_some())
    })
    .await;
    assert_eq!(state(&c), "unknown");
}

#[tokio::test]
async fn a_control_plane_endpoint_that_is_a_masters_address_is_flagged_with_the_fix() {
    let cluster = Cluster::start().await;
    let mut cm = cluster.get("configmaps", "kubeadm-config");
    let cfg = cm["data"]["ClusterConfiguration"].as_str().unwrap();
    let cfg = cfg.replace("lb.hatui.test:6443", "127.0.0.12:6443");
    cm["data"]["ClusterConfiguration"] = cfg.into();
    cluster.apply("configmaps", cm);
    let mut c = cluster.cockpit(ADMIN).await;
    c.until("the flag", |s| {
        s.control_plane_endpoint_problem()
            .is_some_and(|p| p.contains("127.0.0.12:6443 is cp-2's own address, not HA"))
    })
    .await;
    let problem = c.state().control_plane_endpoint_problem().unwrap();
    assert!(problem.contains("kube-public/cluster-info"), "{problem}");
    assert!(said(&c, "is cp-2's own address"));
    assert_eq!(json_of(&c)["endpoint"]["warning"], problem);
}

#[tokio::test]
async fn etcd_silent_from_here_while_every_apiserver_reads_it_is_a_broken_path() {
    let cluster = Cluster::start().await;
    let sources = cluster.sources(ADMIN).await;
    // Members nothing answers on (ports refused): a firewall between here and etcd.
    let urls = vec![
        "http://127.0.0.1:1".to_string(),
        "http://127.0.0.1:9".into(),
    ];
    let mut poller = None;
    let mut c = Cockpit::run_with(sources, |_, tx| {
        poller = Some(spawn_poller(PollerConfig::new(urls, None), tx));
    });
    let all_read_etcd = |s: &ClusterState| {
        s.apiservers.len() == 3
            && s.apiservers.values().all(|a| a.etcd_ok == Some(true))
            && !s.etcd.members.is_empty()
    };
    c.until("every apiserver's etcd check", all_read_etcd).await;
    let v = json_of(&c);
    assert!(v["etcd"]["quorum"].is_null(), "{}", v["etcd"]);
    assert_eq!(c.state().etcd_warnings()[0], PATH_BROKEN);
    let screen = c.screen(120, 40);
    assert!(screen.contains("quorum unknown"), "{screen}");
    assert!(!screen.contains("QUORUM LOST"), "{screen}");

    // One apiserver cannot read etcd either: not a path problem any more.
    cluster.masters[0].set_unready(Some("etcd"));
    c.until("cp-1's etcd check failing", |s| {
        s.apiservers["cp-1"].etcd_ok == Some(false)
    })
    .await;
    assert!(!c.state().etcd_warnings().iter().any(|w| w == PATH_BROKEN));
    assert!(
        json_of(&c)["etcd"]["quorum"].is_null(),
        "still nobody answered"
    );
    drop(poller);
}

#[tokio::test]
async fn etcd_discovery_is_retried_through_a_master_when_the_endpoint_was_down() {
    let cluster = Cluster::start().await;
    cluster.server.stop();
    let mut sources = cluster.sources(ADMIN).await;
    let args = EtcdSettings {
        etcd_exec: true,
        etcd_port: 2379,
        ..EtcdSettings::default()
    };
    let found = etcd_way::choose(&mut sources, &args).await.unwrap();
    assert!(found.is_none());
    assert!(
        sources.etcd_retry,
        "an unreachable API is worth asking again"
    );
    let why = sources.etcd_missing.clone().unwrap();
    assert!(why.contains("connection refused"), "{why}");
    // With the load balancer down from the start no object names the masters; here the
    // pods watch had named them (as it does whenever the endpoint answered once).
    for ((node, _), server) in MASTERS.iter().zip(&cluster.masters) {
        sources
            .route
            .set_master(node, Some(server.addr.to_string()));
    }
    let mut c = Cockpit::run_with(sources, |s, tx| {
        tokio::spawn(etcd_way::rediscover(s.clone(), args.clone(), tx));
    });
    c.until("etcd found through a master", |s| {
        s.timeline
            .iter()
            .any(|e| e.text.contains("found through cp-1's apiserver"))
    })
    .await;
    c.until("etcd polled through kube exec", |s| s.etcd.via.is_some())
        .await;
    assert!(c.state().endpoint.ready == Some(false));
}
