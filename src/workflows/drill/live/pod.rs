//! "Pods still schedule", measured: a pause pod created through the endpoint right after
//! the fault (again every half second until the API takes it), watched until the
//! scheduler binds it, and deleted when the drill ends. It avoids the target and tolerates
//! the control-plane taint, so a 3-master cluster without workers can place it too.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;
use tokio::sync::watch;

use crate::drill::probe::PodSeen;

/// Where the test pod goes.
pub const NAMESPACE: &str = "default";
/// Its label, for `kubectl delete pod -l` should the drill not clean up.
pub const LABEL: &str = "app.kubernetes.io/managed-by=hatui-drill";
/// kubeadm 1.33's pause image.
const IMAGE: &str = "registry.k8s.io/pause:3.10";

/// The test pod of a drill on `target`.
pub fn manifest(name: &str, target: &str) -> Pod {
    let v = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/managed-by": "hatui-drill"},
        },
        "spec": {
            "containers": [{"name": "pause", "image": IMAGE}],
            "terminationGracePeriodSeconds": 0,
            "tolerations": [{
                "key": "node-role.kubernetes.io/control-plane",
                "operator": "Exists",
                "effect": "NoSchedule",
            }],
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{
                    "key": "kubernetes.io/hostname",
                    "operator": "NotIn",
                    "values": [target],
                }]}],
            }}},
        },
    });
    serde_json::from_value(v).expect("the test pod is a Pod")
}

/// Creates the pod and follows it into `seen`, until the drill drops the receiver.
pub fn spawn(client: Client, pod: Pod, seen: watch::Sender<PodSeen>) {
    tokio::spawn(async move {
        let api: Api<Pod> = Api::namespaced(client, NAMESPACE);
        let name = pod.metadata.name.clone().unwrap_or_default();
        let params = PostParams::default();
        loop {
            let create = api.create(&params, &pod);
            if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(2), create).await {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = seen.closed() => return,
            }
        }
        seen.send_modify(|s| s.created = true);
        let cfg = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let mut events = watcher(api, cfg).boxed();
        loop {
            let ev = tokio::select! {
                ev = events.next() => ev,
                _ = seen.closed() => return,
            };
            let node = match ev {
                Some(Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p))) => {
                    p.spec.and_then(|s| s.node_name)
                }
                Some(_) => None,
                None => return,
            };
            if let Some(node) = node {
                seen.send_modify(|s| s.node = Some(node));
                return;
            }
        }
    });
}

/// Deletes the test pod; `Err` says how to do it by hand.
pub async fn delete(client: Client, name: &str) -> Result<(), String> {
    let api: Api<Pod> = Api::namespaced(client, NAMESPACE);
    let params = DeleteParams::default();
    let gone = api.delete(name, &params);
    match tokio::time::timeout(Duration::from_secs(5), gone).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(kube::Error::Api(s))) if s.code == 404 => Ok(()),
        Ok(Err(e)) => Err(format!(
            "could not delete the test pod {NAMESPACE}/{name} ({e}): kubectl delete pod -n \
             {NAMESPACE} -l {LABEL}"
        )),
        Err(_) => Err(format!(
            "the API did not answer the test pod's deletion: kubectl delete pod -n {NAMESPACE} \
             -l {LABEL}"
        )),
    }
}
