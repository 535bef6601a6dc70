//! Which way to a live cluster's etcd. The flags decide when they name the members;
//! otherwise kubeadm's etcd pods do: each names its member's client URL (annotation
//! `kubeadm.kubernetes.io/etcd.advertise-client-urls`), and etcd is asked there directly
//! when a client certificate is readable here (the flags', or kubeadm's own files when
//! hatui runs on a master), else through `etcdctl` in those pods: the last resort.

use std::time::Duration;

use color_eyre::Result;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use super::Sources;
use super::errors::{Resource, kube_error};
use crate::cli::EtcdArgs;
use crate::etcd::{EtcdAccess, PollerConfig, TlsMaterial};
use crate::ssh::PkiPaths;

const ADVERTISE: &str = "kubeadm.kubernetes.io/etcd.advertise-client-urls";
const ETCD_PODS: Resource = Resource {
    plural: "pods",
    namespace: Some("kube-system"),
};
const LIST_TIMEOUT: Duration = Duration::from_secs(5);

/// One kubeadm etcd pod: its name (for exec) and its member's client URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdPod {
    pub pod: String,
    pub url: Option<String>,
}

/// The way in for this cluster; when there is none, `sources` is told why, for the pane.
pub async fn choose(sources: &mut Sources, args: &EtcdArgs) -> Result<Option<EtcdAccess>> {
    if args.explicit() {
        let access = args.access().await?;
        sources.etcd_missing = None;
        return Ok(access);
    }
    let pods = match etcd_pods(&sources.client, args.etcd_port).await {
        Ok(pods) if !pods.is_empty() => pods,
        Ok(_) => {
            sources.etcd_missing = Some(
                "no kubeadm etcd pod (component=etcd) in kube-system: for an external etcd pass \
                 --etcd-endpoints (with --etcd-cacert, --etcd-cert, --etcd-key)"
                    .into(),
            );
            return Ok(None);
        }
        Err(why) => {
            sources.etcd_missing = Some(format!(
                "cannot find etcd through the API ({why}): pass --etcd-endpoints or --etcd-ssh"
            ));
            return Ok(None);
        }
    };
    sources.etcd_missing = None;
    let names = || pods.iter().map(|p| p.pod.clone()).collect::<Vec<_>>();
    let exec = |note: String| {
        let config = PollerConfig::kube_exec(sources.client.clone(), names());
        Some(EtcdAccess::new(config, Some(note)))
    };
    if args.etcd_exec {
        return Ok(exec(
            "etcd: asking etcdctl in the etcd pods (--etcd-exec)".into(),
        ));
    }
    let tls = match &args.etcd_cacert {
        // Files the operator named must work: their error names the file.
        Some(ca) => {
            TlsMaterial::from_files(ca, args.etcd_cert.as_deref(), args.etcd_key.as_deref())?
        }
        None => {
            let pki = PkiPaths::in_dir(&args.etcd_pki_dir);
            match TlsMaterial::from_files(
                pki.ca.as_ref(),
                Some(pki.cert.as_ref()),
                Some(pki.key.as_ref()),
            ) {
                Ok(tls) => tls,
                Err(e) => {
                    return Ok(exec(format!(
                        "etcd: no client certificate here ({e}); asking etcdctl in the etcd pods \
                         through the apiserver instead: the last resort (give --etcd-cacert, \
                         --etcd-cert, --etcd-key or --etcd-ssh to ask etcd itself)"
                    )));
                }
            }
        }
    };
    let urls: Vec<String> = pods.iter().filter_map(|p| p.url.clone()).collect();
    if urls.is_empty() {
        return Ok(exec(
            "etcd: the etcd pods name no address; asking etcdctl in them instead (last resort)"
                .into(),
        ));
    }
    let note = format!(
        "etcd: asking the members the etcd pods name ({})",
        urls.join(", ")
    );
    Ok(Some(EtcdAccess::new(
        PollerConfig::new(urls, Some(tls)),
        Some(note),
    )))
}

/// kubeadm's etcd static pods, by name: one per stacked-etcd master.
pub async fn etcd_pods(client: &kube::Client, port: u16) -> Result<Vec<EtcdPod>, String> {
    let api: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
    let params = ListParams::default().labels("component=etcd,tier=control-plane");
    let list = tokio::time::timeout(LIST_TIMEOUT, api.list(&params))
        .await
        .map_err(|_| format!("no answer within {} s", LIST_TIMEOUT.as_secs()))?
        .map_err(|e| kube_error(&e, "list", ETCD_PODS))?;
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
    let by_ip = || {
        let ip = p.status.as_ref()?.pod_ip.as_ref()?;
        let host = if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip.clone()
        };
        Some(format!("https://{host}:{port}"))
    };
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
