//! Which way to a live cluster's etcd. The flags decide when they name the members;
//! otherwise kubeadm's etcd pods do: each names its member's client URL (annotation
//! `kubeadm.kubernetes.io/etcd.advertise-client-urls`), and etcd is asked there directly
//! when a client certificate is readable here (the flags', or kubeadm's own files when
//! hatui runs on a master), else through `etcdctl` in those pods: the last resort.
//! Without etcd pods, the control-plane nodes' addresses stand in for them.

use std::time::Duration;

use color_eyre::Result;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams};
use tokio::sync::mpsc;

use super::Sources;
use super::errors::{Resource, kube_error};
use crate::etcd::{EtcdAccess, EtcdSettings, PkiPaths, PollerConfig, TlsMaterial, spawn_poller};
use hatui_model::{ClusterEvent, FeedKind, FeedStatus};

const ADVERTISE: &str = "kubeadm.kubernetes.io/etcd.advertise-client-urls";
const ETCD_PODS: Resource = Resource {
    plural: "pods",
    namespace: Some("kube-system"),
};
const NODES: Resource = Resource {
    plural: "nodes",
    namespace: None,
};
const LIST_TIMEOUT: Duration = Duration::from_secs(5);
/// Discovery is asked again after this, doubling up to `REDISCOVER_MAX`, and at once
/// whenever the route to the API changes.
const REDISCOVER_FIRST: Duration = Duration::from_secs(2);
const REDISCOVER_MAX: Duration = Duration::from_secs(30);

/// One kubeadm etcd pod: its name (for exec) and its member's client URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdPod {
    pub pod: String,
    pub url: Option<String>,
}

/// The way in for this cluster; when there is none, `sources` is told why, for the pane.
/// When the API could not be reached (the load balancer down at launch), `sources.etcd_retry`
/// is set: [`rediscover`] tries again once the API answers, through a master if need be.
/// Fails only on flags that cannot work (a certificate file named that does not load).
pub async fn choose(sources: &mut Sources, args: &EtcdSettings) -> Result<Option<EtcdAccess>> {
    if args.explicit() {
        let access = args.access().await?;
        sources.etcd_missing = None;
        return Ok(access);
    }
    let found = find(&sources.client, args).await?;
    sources.etcd_retry = matches!(found, Err(Missing { retry: true, .. }));
    match found {
        Ok(access) => {
            sources.etcd_missing = None;
            Ok(Some(access))
        }
        Err(missing) => {
            sources.etcd_missing = Some(missing.why);
            Ok(None)
        }
    }
}

/// Why there is no way in; `retry`: the API could not be reached, asking again may work.
#[derive(Debug)]
struct Missing {
    why: String,
    retry: bool,
}

impl From<String> for Missing {
    fn from(why: String) -> Self {
        Self { why, retry: false }
    }
}

/// Discovery again, after [`choose`] could not reach the API: whenever the route changes
/// (the endpoint bypassed for a master, or back) and every few seconds meanwhile, through
/// whichever apiserver the route points at. Once found, etcd is polled into `tx` (and a
/// note says how it was found) until `tx` closes.
pub async fn rediscover<M>(sources: Sources, args: EtcdSettings, tx: mpsc::Sender<M>)
where
    M: From<Vec<ClusterEvent>> + Send + 'static,
{
    let mut restarts = sources.route.restarts();
    let mut wait = REDISCOVER_FIRST;
    let access = loop {
        tokio::select! {
            _ = tx.closed() => return,
            _ = tokio::time::timeout(wait, restarts.changed()) => {}
        }
        wait = (wait * 2).min(REDISCOVER_MAX);
        match find(&sources.client, &args).await {
            Ok(Ok(access)) => break access,
            Ok(Err(Missing { retry: true, .. })) => continue,
            Ok(Err(Missing { why, .. })) => return missing(&tx, why).await,
            Err(e) => return missing(&tx, e.to_string()).await,
        }
    };
    let path = match sources.route.via() {
        Some((node, addr)) => format!("through {node}'s apiserver ({addr})"),
        None => format!("through {}", sources.endpoint),
    };
    let note = access.note.clone().unwrap_or_else(|| "etcd found".into());
    let note = ClusterEvent::Note(format!("{note}; found {path} once the API answered"));
    if tx.send(vec![note].into()).await.is_err() {
        return;
    }
    // Both live as long as the session: the poller stops when they are dropped.
    let _poller = spawn_poller(access.config.clone(), tx.clone());
    tx.closed().await;
    drop(access);
}

async fn missing<M: From<Vec<ClusterEvent>>>(tx: &mpsc::Sender<M>, why: String) {
    let feed = FeedStatus {
        error: Some(why),
        ..FeedStatus::default()
    };
    let _ = tx
        .send(vec![ClusterEvent::Feed(FeedKind::Etcd, feed)].into())
        .await;
}

/// One more try for `hatui status`, when its snapshot found a master to ask instead of
/// the endpoint that could not be reached.
pub async fn retry_once(sources: &mut Sources, args: &EtcdSettings) -> Result<Option<EtcdAccess>> {
    if !sources.etcd_retry || sources.route.via().is_none() {
        return Ok(None);
    }
    match find(&sources.client, args).await? {
        Ok(access) => {
            sources.etcd_missing = None;
            sources.etcd_retry = false;
            Ok(Some(access))
        }
        Err(_) => Ok(None),
    }
}

/// The way in, or why there is none.
async fn find(client: &kube::Client, args: &EtcdSettings) -> Result<Result<EtcdAccess, Missing>> {
    let pods = match etcd_pods_or_unreachable(client, args.etcd_port).await {
        Ok(pods) => pods,
        Err((why, retry)) => {
            let retrying = if retry {
                "; asking again once the API answers"
            } else {
                ""
            };
            return Ok(Err(Missing {
                why: format!(
                    "cannot find etcd through the API ({why}){retrying}: pass --etcd-endpoints \
                     or --etcd-ssh"
                ),
                retry,
            }));
        }
    };
    let tls = client_tls(args)?;
    if pods.is_empty() {
        return Ok(by_nodes(client, args, tls).await.map_err(Missing::from));
    }
    let exec = |note: String| {
        let names = pods.iter().map(|p| p.pod.clone()).collect();
        let config = PollerConfig::kube_exec(client.clone(), names);
        Ok(Ok(EtcdAccess::new(config, Some(note))))
    };
    if args.etcd_exec {
        return exec("etcd: asking etcdctl in the etcd pods (--etcd-exec)".into());
    }
    let tls = match tls {
        Ok(tls) => tls,
        Err(why) => {
            return exec(format!(
                "etcd: {why}; asking etcdctl in the etcd pods through the apiserver instead: \
                 the last resort (give --etcd-cacert, --etcd-cert, --etcd-key or --etcd-ssh to \
                 ask etcd itself)"
            ));
        }
    };
    let urls: Vec<String> = pods.iter().filter_map(|p| p.url.clone()).collect();
    if urls.is_empty() {
        return exec(
            "etcd: the etcd pods name no address; asking etcdctl in them instead (last resort)"
                .into(),
        );
    }
    let note = format!(
        "etcd: asking the members the etcd pods name ({})",
        urls.join(", ")
    );
    Ok(Ok(EtcdAccess::new(
        PollerConfig::new(urls, Some(tls)),
        Some(note),
    )))
}

/// No etcd pod (their mirror pods not posted, or an external etcd): the control-plane
/// nodes' addresses at `--etcd-port`, as kubeadm's stacked etcd listens there.
async fn by_nodes(
    client: &kube::Client,
    args: &EtcdSettings,
    tls: Result<TlsMaterial, String>,
) -> Result<EtcdAccess, String> {
    if args.etcd_exec {
        return Err(
            "--etcd-exec: no kubeadm etcd pod (component=etcd) in kube-system to run \
                    etcdctl in"
                .into(),
        );
    }
    let urls = control_plane_urls(client, args.etcd_port).await?;
    if urls.is_empty() {
        return Err(
            "no kubeadm etcd pod (component=etcd) in kube-system and no control-plane node: \
             for an external etcd pass --etcd-endpoints (with --etcd-cacert, --etcd-cert, \
             --etcd-key)"
                .into(),
        );
    }
    let tls = tls.map_err(|why| {
        format!(
            "no etcd pod to run etcdctl in, and {why}: pass --etcd-cacert, --etcd-cert, \
             --etcd-key (or --etcd-ssh)"
        )
    })?;
    let note = format!(
        "etcd: no etcd pod in kube-system; asking the control-plane nodes' addresses ({}); \
         an external etcd needs --etcd-endpoints",
        urls.join(", ")
    );
    Ok(EtcdAccess::new(
        PollerConfig::new(urls, Some(tls)),
        Some(note),
    ))
}

/// The flags' client certificate (which must load), else kubeadm's files here; the
/// inner error says why there is none.
fn client_tls(args: &EtcdSettings) -> Result<Result<TlsMaterial, String>> {
    if let Some(ca) = &args.etcd_cacert {
        let tls = TlsMaterial::from_files(ca, args.etcd_cert.as_deref(), args.etcd_key.as_deref())?;
        return Ok(Ok(tls));
    }
    let pki = PkiPaths::in_dir(&args.etcd_pki_dir);
    let files = TlsMaterial::from_files(
        pki.ca.as_ref(),
        Some(pki.cert.as_ref()),
        Some(pki.key.as_ref()),
    );
    Ok(files.map_err(|e| format!("no client certificate here ({e})")))
}

/// `https://<InternalIP>:<port>` of each control-plane node, by name.
pub async fn control_plane_urls(client: &kube::Client, port: u16) -> Result<Vec<String>, String> {
    let api: Api<Node> = Api::all(client.clone());
    let params = ListParams::default().labels("node-role.kubernetes.io/control-plane");
    let list = tokio::time::timeout(LIST_TIMEOUT, api.list(&params))
        .await
        .map_err(|_| format!("no answer within {} s", LIST_TIMEOUT.as_secs()))?
        .map_err(|e| kube_error(&e, "list", NODES))?;
    let mut nodes: Vec<(String, String)> = list
        .items
        .iter()
        .filter_map(|n| {
            let ip = n
                .status
                .as_ref()?
                .addresses
                .as_ref()?
                .iter()
                .find(|a| a.type_ == "InternalIP")?;
            Some((n.metadata.name.clone()?, url(&ip.address, port)))
        })
        .collect();
    nodes.sort();
    Ok(nodes.into_iter().map(|(_, url)| url).collect())
}

fn url(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("https://[{ip}]:{port}")
    } else {
        format!("https://{ip}:{port}")
    }
}

/// kubeadm's etcd static pods, by name: one per stacked-etcd master.
pub async fn etcd_pods(client: &kube::Client, port: u16) -> Result<Vec<EtcdPod>, String> {
    etcd_pods_or_unreachable(client, port)
        .await
        .map_err(|(why, _)| why)
}

/// [`etcd_pods`]; an error says whether the API could not be reached (no answer, or not an
/// apiserver's own refusal), which is worth asking again.
async fn etcd_pods_or_unreachable(
    client: &kube::Client,
    port: u16,
) -> Result<Vec<EtcdPod>, (String, bool)> {
    let api: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
    let params = ListParams::default().labels("component=etcd,tier=control-plane");
    let list = tokio::time::timeout(LIST_TIMEOUT, api.list(&params))
        .await
        .map_err(|_| {
            (
                format!("no answer within {} s", LIST_TIMEOUT.as_secs()),
                true,
            )
        })?
        .map_err(|e| {
            let refused_by_apiserver = matches!(&e, kube::Error::Api(s) if s.code < 500);
            (kube_error(&e, "list", ETCD_PODS), !refused_by_apiserver)
        })?;
    let mut pods: Vec<EtcdPod> = list.items.iter().map(|p| etcd_pod(p, port)).collect();
    pods.sort_by(|a, b| a.pod.cmp(&b.pod));
    Ok(pods)
}

/// The pod's member URL: kubeadm's annotation, else the pod's (host network) IP.
fn etcd_pod(p: &Pod, port: u16) -> EtcdPod {
    let annotated = p
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ADVERTISE))
        .and_then(|urls| urls.split(',').next())
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty());
    let by_ip = || Some(url(p.status.as_ref()?.pod_ip.as_ref()?, port));
    EtcdPod {
        pod: p.metadata.name.clone().unwrap_or_default(),
        url: annotated.or_else(by_ip),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: serde_json::Value) -> Pod {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_annotation_names_the_url_else_the_pod_ip_and_port() {
        let annotated = pod(serde_json::json!({
            "metadata": {"name": "etcd-cp-1", "annotations": {ADVERTISE: "https://10.0.0.11:2379"}},
            "status": {"podIP": "10.0.0.99"}
        }));
        assert_eq!(
            etcd_pod(&annotated, 2379).url.as_deref(),
            Some("https://10.0.0.11:2379")
        );
        let bare = pod(serde_json::json!({
            "metadata": {"name": "etcd-cp-2"}, "status": {"podIP": "fd00::12"}
        }));
        assert_eq!(
            etcd_pod(&bare, 12379).url.as_deref(),
            Some("https://[fd00::12]:12379")
        );
        let nothing = pod(serde_json::json!({"metadata": {"name": "etcd-cp-3"}}));
        assert_eq!(etcd_pod(&nothing, 2379).url, None);
    }
}
