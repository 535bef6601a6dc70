//! Pod exec on the tests' API server, through the real kube-rs client (`Api::exec`, the
//! websocket channel protocol): what a command's output and exit become, the apiserver's
//! refusals, and `etcdctl` in kubeadm's etcd pods against a real etcd cluster.

use hatui_testkit as support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::{Api, AttachParams};
use serde_json::Value;
use support::apiserver::{V4, V5};
use support::etcd_cluster::EtcdCluster;
use support::{ADMIN, Cluster, Exec, ExecOutput, VIEWER};
use tokio::io::AsyncReadExt;

struct Ran {
    stdout: String,
    stderr: String,
    status: Status,
}

impl Ran {
    /// The exit code as the status channel tells it.
    fn exit_code(&self) -> Option<i32> {
        if self.status.status.as_deref() == Some("Success") {
            return Some(0);
        }
        let causes = self.status.details.as_ref()?.causes.as_ref()?;
        let cause = causes
            .iter()
            .find(|c| c.reason.as_deref() == Some("ExitCode"))?;
        cause.message.as_ref()?.parse().ok()
    }
}

async fn exec(
    client: &kube::Client,
    pod: &str,
    ap: &AttachParams,
    command: &[&str],
) -> Result<Ran, kube::Error> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
    let mut p = pods.exec(pod, command.to_vec(), ap).await?;
    let (mut out, mut err) = (p.stdout().unwrap(), p.stderr().unwrap());
    let status = p.take_status().unwrap();
    let (mut stdout, mut stderr) = (String::new(), String::new());
    // Both at once: the client's pipes are small, a full one stalls the other.
    let read = async {
        tokio::try_join!(
            out.read_to_string(&mut stdout),
            err.read_to_string(&mut stderr)
        )
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("the exec ends")
        .unwrap();
    let status = status.await.expect("a status on the error channel");
    p.join().await.unwrap();
    Ok(Ran {
        stdout,
        stderr,
        status,
    })
}

fn api_error(result: Result<Ran, kube::Error>) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        Err(other) => panic!("not an API error: {other}"),
        Ok(ran) => panic!("the exec ran: {:?}", ran.status),
    }
}

/// Echoes what it was asked to run (`yes`: 20 000 times) and exits with the code the
/// command ends with.
fn echo(seen: Arc<Mutex<Vec<Exec>>>) -> impl Fn(Exec) -> std::future::Ready<ExecOutput> {
    move |e: Exec| {
        seen.lock().unwrap().push(e.clone());
        let code = e.command.last().and_then(|c| c.parse().ok()).unwrap_or(0);
        let times = if e.command[0] == "yes" { 20_000 } else { 1 };
        std::future::ready(ExecOutput {
            stdout: e.command.join("|").repeat(times).into(),
            stderr: format!("exiting {code}").into(),
            exit_code: code,
        })
    }
}

#[tokio::test]
async fn output_and_exit_code_arrive_through_the_channels_in_v5_and_v4() {
    let cluster = Cluster::start().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    cluster.on_exec(echo(seen.clone()));
    let client = cluster.client(ADMIN).await;
    let ap = AttachParams::default();
    // The client's order picks, not the server's: kube-rs offers v5 first.
    for protocols in [&[V5, V4][..], &[V4, V5], &[V4]] {
        cluster.server.exec_protocols(protocols);
        let ran = exec(&client, "etcd-cp-1", &ap, &["sh", "-c", "a b&c=d", "0"])
            .await
            .unwrap();
        assert_eq!(ran.stdout, "sh|-c|a b&c=d|0", "{protocols:?}");
        assert_eq!(ran.stderr, "exiting 0");
        assert_eq!(ran.status.status.as_deref(), Some("Success"));
        assert_eq!(ran.exit_code(), Some(0));

        let ran = exec(&client, "etcd-cp-1", &ap, &["false", "3"])
            .await
            .unwrap();
        assert_eq!(ran.status.status.as_deref(), Some("Failure"));
        assert_eq!(ran.status.reason.as_deref(), Some("NonZeroExitCode"));
        assert_eq!(
            ran.status.message.as_deref(),
            Some(
                "command terminated with non-zero exit code: error executing command [false 3], exit code 3"
            )
        );
        assert_eq!(ran.exit_code(), Some(3), "{:?}", ran.status);
        assert_eq!(ran.stdout, "false|3");

        // 100 kB: several frames, and far more than the client's pipe holds.
        let ran = exec(&client, "etcd-cp-1", &ap, &["yes", "2"])
            .await
            .unwrap();
        assert_eq!(ran.stdout, "yes|2".repeat(20_000));
        assert_eq!(ran.exit_code(), Some(2));
    }
    let seen = seen.lock().unwrap();
    let first = &seen[0];
    assert_eq!(
        (first.namespace.as_str(), first.pod.as_str()),
        ("kube-system", "etcd-cp-1")
    );
    assert_eq!(first.container, "etcd", "the pod's only container");
    let protocols: Vec<&str> = seen.iter().map(|e| e.protocol).collect();
    assert_eq!(protocols, [V5, V5, V5, V5, V5, V5, V4, V4, V4]);
}

#[tokio::test]
async fn no_handler_means_no_program_is_found() {
    let cluster = Cluster::start().await;
    let client = cluster.client(VIEWER).await;
    let ran = exec(&client, "etcd-cp-2", &AttachParams::default(), &["sh"])
        .await
        .unwrap();
    assert_eq!(ran.exit_code(), Some(126));
    assert!(
        ran.stderr
            .contains("exec: \"sh\": executable file not found in $PATH"),
        "{}",
        ran.stderr
    );
}

#[tokio::test]
async fn the_apiserver_refuses_as_kubernetes_does() {
    let cluster = Cluster::start().await;
    let client = cluster.client(ADMIN).await;
    let ap = AttachParams::default();

    let missing = api_error(exec(&client, "etcd-cp-9", &ap, &["etcdctl"]).await);
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    assert_eq!(missing.message, "pods \"etcd-cp-9\" not found");

    let ap_other = AttachParams::default().container("etcd-defrag");
    let container = api_error(exec(&client, "etcd-cp-1", &ap_other, &["etcdctl"]).await);
    assert_eq!(
        (container.code, container.reason.as_str()),
        (400, "BadRequest")
    );
    assert_eq!(
        container.message,
        "container etcd-defrag is not valid for pod etcd-cp-1"
    );

    let mut config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(&cluster.kubeconfig).unwrap(),
        &kube::config::KubeConfigOptions {
            context: Some(VIEWER.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    config.auth_info.token = Some("not-the-token".to_string().into());
    let stranger = kube::Client::try_from(config).unwrap();
    let unauthorized = api_error(exec(&stranger, "etcd-cp-1", &ap, &["etcdctl"]).await);
    assert_eq!(unauthorized.code, 401);

    cluster.forbid("pods/exec");
    let forbidden = api_error(exec(&client, "etcd-cp-1", &ap, &["etcdctl"]).await);
    assert_eq!(
        (forbidden.code, forbidden.reason.as_str()),
        (403, "Forbidden")
    );
    assert!(
        forbidden
            .message
            .contains("cannot create resource \"pods/exec\""),
        "{}",
        forbidden.message
    );
    // Listing pods stays allowed: exec is its own RBAC resource.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
    assert_eq!(
        pods.list(&Default::default()).await.unwrap().items.len(),
        12
    );
    // RBAC comes before the lookup: a missing pod is forbidden too.
    let missing = api_error(exec(&client, "etcd-cp-9", &ap, &["etcdctl"]).await);
    assert_eq!(missing.code, 403);
}

#[tokio::test]
async fn stopping_the_server_breaks_an_open_exec() {
    let cluster = Cluster::start().await;
    cluster.on_exec(|_| std::future::pending::<ExecOutput>());
    let pods: Api<Pod> = Api::namespaced(cluster.client(ADMIN).await, "kube-system");
    let command = ["etcdctl", "watch", "/registry"];
    let mut p = pods
        .exec("etcd-cp-1", command, &AttachParams::default())
        .await
        .unwrap();
    let status = p.take_status().unwrap();
    cluster.stop_all();
    let status = tokio::time::timeout(Duration::from_secs(10), status)
        .await
        .expect("the exec ends with the server");
    assert!(status.is_none(), "a status from a dead server: {status:?}");
}

/// etcdctl with the certificate flags of kubeadm's etcd pod manifest (its probes use the
/// healthcheck client).
fn etcdctl<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut command = vec![
        "etcdctl",
        "--cacert",
        "/etc/kubernetes/pki/etcd/ca.crt",
        "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt",
        "--key=/etc/kubernetes/pki/etcd/healthcheck-client.key",
    ];
    command.extend(args);
    command
}

#[tokio::test]
async fn etcdctl_in_an_etcd_pod_asks_that_member() {
    // The pods' etcdctl runs in the API server's exec handler: fail here, not there.
    support::etcd_cluster::etcdctl_bin();
    let mut etcd = tokio::task::spawn_blocking(|| EtcdCluster::start(3))
        .await
        .unwrap();
    let cluster = Cluster::start().await;
    cluster.on_exec(etcd.exec_handler(support::etcd_pods()));
    let client = cluster.client(ADMIN).await;
    let ap = AttachParams::default().container("etcd");

    // The pod's own member, as the last resort asks it.
    let endpoint_status = etcdctl(&[
        "--endpoints",
        "https://127.0.0.1:2379",
        "endpoint",
        "status",
        "-w",
        "json",
    ]);
    let ran = exec(&client, "etcd-cp-2", &ap, &endpoint_status)
        .await
        .unwrap();
    assert_eq!(ran.exit_code(), Some(0), "{}", ran.stderr);
    let status: Value = serde_json::from_str(&ran.stdout).expect(&ran.stdout);
    assert_eq!(status[0]["Endpoint"], etcd.members[1].client_url.as_str());
    // The member answering is m1 by etcd's own member list, asked in another pod with
    // etcdctl's default endpoint (the pod's own member).
    let member_id = status[0]["Status"]["header"]["member_id"].as_u64().unwrap();
    let list = etcdctl(&["member", "list", "-w", "json"]);
    let ran = exec(&client, "etcd-cp-1", &ap, &list).await.unwrap();
    assert_eq!(ran.exit_code(), Some(0), "{}", ran.stderr);
    let members: Value = serde_json::from_str(&ran.stdout).expect(&ran.stdout);
    let named = |id: u64| {
        let members = members["members"].as_array().unwrap();
        let m = members.iter().find(|m| m["ID"].as_u64() == Some(id));
        m.and_then(|m| m["name"].as_str()).map(str::to_string)
    };
    assert_eq!(named(member_id).as_deref(), Some("m1"), "{members}");
    assert_eq!(
        members["header"]["member_id"]
            .as_u64()
            .and_then(named)
            .as_deref(),
        Some("m0")
    );

    // The image has etcdctl and nothing else; the apiserver's pod has no etcdctl.
    let ran = exec(&client, "etcd-cp-2", &ap, &["sh", "-c", "etcdctl"])
        .await
        .unwrap();
    assert_eq!(ran.exit_code(), Some(126));
    let ran = exec(
        &client,
        "kube-apiserver-cp-2",
        &AttachParams::default(),
        &endpoint_status,
    )
    .await
    .unwrap();
    assert_eq!(ran.exit_code(), Some(126));

    etcd.kill(1);
    let ran = exec(&client, "etcd-cp-2", &ap, &endpoint_status)
        .await
        .unwrap();
    assert_eq!(ran.exit_code(), Some(1), "{:?} {}", ran.status, ran.stderr);
    assert_eq!(ran.status.reason.as_deref(), Some("NonZeroExitCode"));
    let url = &etcd.members[1].client_url;
    assert!(
        ran.stderr
            .contains(&format!("Failed to get the status of endpoint {url}")),
        "{}",
        ran.stderr
    );
    let ran = exec(&client, "etcd-cp-1", &ap, &endpoint_status)
        .await
        .unwrap();
    assert_eq!(ran.exit_code(), Some(0), "the other members still answer");
}
