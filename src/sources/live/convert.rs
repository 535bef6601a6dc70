//! Kubernetes objects → model types. Pure functions: the watchers call them, the tests feed
//! them realistic kubeadm objects.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::coordination::v1::Lease as K8sLease;
use k8s_openapi::api::core::v1::{Node as K8sNode, Pod, Secret};
use kube::{Resource, ResourceExt};

use hatui_model::{CertKey, Lease, Node, PodHealth, PodState, Readiness, StaticPods, Token};

const ROLE_PREFIX: &str = "node-role.kubernetes.io/";
const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";
/// apiserver identity leases live in kube-system too, but nobody is elected by them.
const APISERVER_IDENTITY: &str = "apiserver.kubernetes.io/identity";
pub const TOKEN_PREFIX: &str = "bootstrap-token-";
pub const CERTS_SECRET: &str = "kubeadm-certs";
const ADVERTISE_ENDPOINT: &str = "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint";

pub fn node(n: &K8sNode) -> Node {
    let mut roles: Vec<String> = n
        .labels()
        .keys()
        .filter_map(|k| k.strip_prefix(ROLE_PREFIX))
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    // Clusters from before v1.24 still carry `master`: it means the same thing.
    if roles.iter().any(|r| r == "master") && !roles.iter().any(|r| r == "control-plane") {
        roles.push("control-plane".into());
    }
    let status = n.status.as_ref();
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
    let taints = n
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .map(|ts| {
            ts.iter()
                .map(|t| match t.value.as_deref().filter(|v| !v.is_empty()) {
                    Some(v) => format!("{}={v}:{}", t.key, t.effect),
                    None => format!("{}:{}", t.key, t.effect),
                })
                .collect()
        })
        .unwrap_or_default();
    Node {
        name: n.name_any(),
        roles,
        ready: match ready.map(|c| c.status.as_str()) {
            Some("True") => Readiness::Ready,
            Some("False") => Readiness::NotReady,
            // No condition yet (a node still registering) is as good as no heartbeat.
            _ => Readiness::Unknown,
        },
        ready_since: ready
            .and_then(|c| c.last_transition_time.as_ref())
            .map(|t| t.0),
        created: n.metadata.creation_timestamp.as_ref().map(|t| t.0),
        kubelet_version: status
            .and_then(|s| s.node_info.as_ref())
            .map(|i| i.kubelet_version.clone())
            .unwrap_or_default(),
        internal_ip: status
            .and_then(|s| s.addresses.as_ref())
            .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
            .map(|a| a.address.clone()),
        hostname: n.labels().get(HOSTNAME_LABEL).cloned(),
        taints,
        last_heartbeat: ready
            .and_then(|c| c.last_heartbeat_time.as_ref())
            .map(|t| t.0),
    }
}

/// Which of the four kubeadm static pods this is, by its `component` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Component {
    ApiServer,
    Etcd,
    Scheduler,
    ControllerManager,
}

pub fn component(p: &Pod) -> Option<Component> {
    Some(match p.labels().get("component")?.as_str() {
        "kube-apiserver" => Component::ApiServer,
        "etcd" => Component::Etcd,
        "kube-scheduler" => Component::Scheduler,
        "kube-controller-manager" => Component::ControllerManager,
        _ => return None,
    })
}

pub fn pod_node(p: &Pod) -> Option<String> {
    p.spec.as_ref()?.node_name.clone()
}

pub fn pod_health(p: &Pod) -> PodHealth {
    let status = p.status.as_ref();
    let containers = status.and_then(|s| s.container_statuses.as_deref());
    let restarts = containers
        .map(|cs| cs.iter().map(|c| c.restart_count.max(0) as u32).sum())
        .unwrap_or(0);
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True");
    // A crash loop keeps the phase `Running`: the waiting container tells.
    let waiting = containers.is_some_and(|cs| {
        cs.iter()
            .any(|c| c.state.as_ref().is_some_and(|s| s.waiting.is_some()))
    });
    let state = match status.and_then(|s| s.phase.as_deref()) {
        Some("Running") if waiting => PodState::Failed,
        Some("Running") if ready => PodState::Running,
        Some("Running") => PodState::NotReady,
        _ => PodState::Failed,
    };
    // What the kubelet last reported: the node controller changes only the Ready condition.
    let containers_running = containers.is_some_and(|cs| {
        !cs.is_empty()
            && cs
                .iter()
                .all(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()))
    });
    PodHealth {
        state,
        restarts,
        containers_running,
    }
}

/// The static pods of one master from the control-plane pods on it; a missing one is
/// `Absent` (stopped, or its manifest moved away).
pub fn static_pods<'a>(node: &str, pods: impl IntoIterator<Item = &'a Pod>) -> StaticPods {
    let mut found: BTreeMap<Component, PodHealth> = BTreeMap::new();
    for p in pods {
        if pod_node(p).as_deref() == Some(node)
            && let Some(c) = component(p)
        {
            found.insert(c, pod_health(p));
        }
    }
    let get = |c| found.get(&c).copied().unwrap_or(PodHealth::ABSENT);
    StaticPods {
        node: node.to_string(),
        apiserver: get(Component::ApiServer),
        etcd: get(Component::Etcd),
        scheduler: get(Component::Scheduler),
        controller_manager: get(Component::ControllerManager),
    }
}

/// Where a master's own apiserver listens: kubeadm's advertise-address annotation on the
/// kube-apiserver pod, else its host IP on kubeadm's default port.
pub fn apiserver_endpoint(p: &Pod) -> Option<String> {
    if component(p) != Some(Component::ApiServer) {
        return None;
    }
    let annotated = p.annotations().get(ADVERTISE_ENDPOINT).cloned();
    annotated.or_else(|| {
        let ip = p.status.as_ref()?.host_ip.clone()?;
        Some(format!("{ip}:6443"))
    })
}

/// A leader-election lease, or `None` for kube-system leases nobody is elected by.
/// A kubelet's heartbeat: its node Lease's (`kube-node-lease/<node>`) renewTime.
pub fn node_lease_renewed(l: &K8sLease) -> Option<jiff::Timestamp> {
    l.spec.as_ref()?.renew_time.as_ref().map(|t| t.0)
}

pub fn lease(l: &K8sLease) -> Option<Lease> {
    if l.labels().contains_key(APISERVER_IDENTITY) {
        return None;
    }
    let spec = l.spec.clone().unwrap_or_default();
    Some(Lease {
        name: l.name_any(),
        namespace: l.namespace().unwrap_or_default(),
        holder_identity: spec.holder_identity.filter(|h| !h.is_empty()),
        acquire_time: spec.acquire_time.map(|t| t.0),
        renew_time: spec.renew_time.map(|t| t.0),
        duration_s: spec.lease_duration_seconds.unwrap_or(0).max(0) as u32,
        transitions: spec.lease_transitions.unwrap_or(0).max(0) as u32,
    })
}

/// Drops a bootstrap token's `token-secret` (and anything but the fields [`token`]
/// reads), so the Secret can be kept without the half of the token that authenticates.
pub fn strip_token_secret(s: &mut Secret) {
    const KEPT: [&str; 6] = [
        "token-id",
        "expiration",
        "description",
        "usage-bootstrap-authentication",
        "usage-bootstrap-signing",
        "auth-extra-groups",
    ];
    if let Some(data) = &mut s.data {
        data.retain(|k, _| KEPT.contains(&k.as_str()));
    }
    s.string_data = None;
    // `kubectl apply` would have left the whole object, secret included, in here.
    if let Some(a) = &mut s.metadata.annotations {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    s.metadata.managed_fields = None;
}

/// A bootstrap token without its secret: `token-secret` is never read.
pub fn token(s: &Secret) -> Option<Token> {
    let data = s.data.as_ref();
    let field = |key: &str| -> Option<String> {
        let ByteString(bytes) = data?.get(key)?;
        Some(String::from_utf8_lossy(bytes).trim().to_string())
    };
    let id = field("token-id").or_else(|| {
        s.metadata
            .name
            .as_deref()?
            .strip_prefix(TOKEN_PREFIX)
            .map(str::to_string)
    })?;
    let usages = ["signing", "authentication"]
        .into_iter()
        .filter(|u| field(&format!("usage-bootstrap-{u}")).as_deref() == Some("true"))
        .map(str::to_string)
        .collect();
    let groups = field("auth-extra-groups")
        .map(|g| {
            g.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    // An unparseable expiration makes the token expired, as the apiserver's bootstrap
    // authenticator treats it; kept as written for the warning.
    let raw = field("expiration").filter(|e| !e.is_empty());
    let expiration = raw.as_deref().map(str::parse::<jiff::Timestamp>);
    Some(Token {
        id,
        expiration: expiration.clone().and_then(Result::ok),
        bad_expiration: raw.filter(|_| expiration.is_some_and(|e| e.is_err())),
        usages,
        description: field("description").unwrap_or_default(),
        groups,
    })
}

/// `kubeadm-certs`: present, and the bootstrap token that owns it (its TTL is the key's).
/// Its metadata is all that is read: the encrypted certificates are never requested.
pub fn cert_key(s: &impl Resource) -> CertKey {
    let owner = s.owner_references().iter().find_map(|o| {
        (o.kind == "Secret")
            .then(|| o.name.strip_prefix(TOKEN_PREFIX))
            .flatten()
            .map(str::to_string)
    });
    CertKey {
        secret_present: true,
        owner_token_id: owner,
    }
}

/// `controlPlaneEndpoint` from the `kubeadm-config` ClusterConfiguration YAML, if set.
/// A top-level key scan: the document is kubeadm's own flat output.
pub fn control_plane_endpoint(cluster_configuration: &str) -> Option<String> {
    cluster_configuration.lines().find_map(|line| {
        let value = line.strip_prefix("controlPlaneEndpoint:")?.trim();
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        (!value.is_empty()).then(|| value.to_string())
    })
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
