//! Objects listed now and then instead of watched (the wizard's `kubectl get -o json` over
//! SSH on real hosts), turned into model events by the watchers' own projections: each
//! list is fed to them as a relist, so what is gone since the last list is reported gone,
//! and a token's secret is dropped before anything keeps it.

use k8s_openapi::api::coordination::v1::Lease as K8sLease;
use k8s_openapi::api::core::v1::{ConfigMap, Node as K8sNode, Secret};
use kube::core::PartialObjectMeta;
use kube::runtime::watcher::Event;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Clock;
use super::convert::CERTS_SECRET;
use super::errors::Resource as What;
use super::sources::{Certs, KubeadmConfig, Leases, NS, Nodes, Tokens};
use super::watch::{Projection, State};
use hatui_model::{ClusterEvent, FeedKind};

const TOKEN_TYPE: &str = "bootstrap.kubernetes.io/token";

/// What the live watchers of the same kinds would have said.
pub struct Listed {
    nodes: State<Nodes>,
    leases: State<Leases>,
    tokens: State<Tokens>,
    certs: State<Certs>,
    config: State<KubeadmConfig>,
}

impl Listed {
    pub fn new(clock: Clock) -> Self {
        let ns = |plural| What {
            plural,
            namespace: Some(NS),
        };
        let nodes = What {
            plural: "nodes",
            namespace: None,
        };
        Self {
            nodes: State::new(Nodes, FeedKind::Nodes, nodes, clock.clone()),
            leases: State::new(Leases, FeedKind::Leases, ns("leases"), clock.clone()),
            tokens: State::new(Tokens, FeedKind::Tokens, ns("secrets"), clock.clone()),
            certs: State::new(Certs, FeedKind::Tokens, ns("secrets"), clock.clone()),
            config: State::new(KubeadmConfig, FeedKind::Config, ns("configmaps"), clock),
        }
    }

    /// The answer of `kubectl -n kube-system get nodes,leases,secrets,configmaps -o json`
    /// (a `List`): the nodes, the leases, the bootstrap tokens, `kubeadm-certs` and
    /// `kubeadm-config`, as one relist each. Anything else listed is ignored.
    pub fn relist(&mut self, list: &[u8]) -> Result<Vec<ClusterEvent>, String> {
        #[derive(serde::Deserialize)]
        struct List {
            items: Vec<Value>,
        }
        let list: List = serde_json::from_slice(list).map_err(|e| format!("not a List: {e}"))?;
        let (mut nodes, mut leases, mut tokens, mut certs, mut config) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for item in list.items {
            let name = item["metadata"]["name"].as_str().unwrap_or_default();
            match item["kind"].as_str().unwrap_or_default() {
                "Node" => nodes.push(object::<K8sNode>(item)?),
                "Lease" => leases.push(object::<K8sLease>(item)?),
                "Secret" if item["type"] == TOKEN_TYPE => tokens.push(object::<Secret>(item)?),
                // Its metadata only: the encrypted certificates are not kept.
                "Secret" if name == CERTS_SECRET => {
                    certs.push(object::<PartialObjectMeta<Secret>>(item)?)
                }
                "ConfigMap" if name == "kubeadm-config" => config.push(object::<ConfigMap>(item)?),
                _ => {}
            }
        }
        let mut out = relist(&mut self.nodes, nodes);
        out.extend(relist(&mut self.leases, leases));
        out.extend(relist(&mut self.tokens, tokens));
        out.extend(relist(&mut self.certs, certs));
        out.extend(relist(&mut self.config, config));
        Ok(out)
    }
}

fn object<K: DeserializeOwned>(item: Value) -> Result<K, String> {
    let name = item["metadata"]["name"].to_string();
    serde_json::from_value(item).map_err(|e| format!("{name}: {e}"))
}

fn relist<P: Projection>(state: &mut State<P>, objs: Vec<P::K>) -> Vec<ClusterEvent> {
    let mut out = state.on(Ok(Event::Init));
    for o in objs {
        out.extend(state.on(Ok(Event::InitApply(o))));
    }
    out.extend(state.on(Ok(Event::InitDone)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(file: &str) -> Vec<Value> {
        let path = format!(
            "{}/../../tests/fixtures/kubeadm/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn list(files: &[&str]) -> Vec<u8> {
        let items: Vec<Value> = files.iter().flat_map(|f| fixture(f)).collect();
        serde_json::to_vec(&serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items}))
            .unwrap()
    }

    #[test]
    fn a_list_says_what_the_watchers_say_and_keeps_no_token_secret() {
        let mut listed = Listed::new(std::sync::Arc::new(jiff::Timestamp::now));
        let events = listed
            .relist(&list(&[
                "nodes.json",
                "leases.json",
                "secrets.json",
                "configmaps.json",
            ]))
            .unwrap();
        let text = format!("{events:?}");
        let count = |f: fn(&ClusterEvent) -> bool| events.iter().filter(|e| f(e)).count();
        assert!(
            count(|e| matches!(e, ClusterEvent::NodeUpsert(_))) >= 3,
            "{text}"
        );
        assert_eq!(
            count(|e| matches!(e, ClusterEvent::TokenUpsert(_))),
            4,
            "{text}"
        );
        assert!(
            events.iter().any(|e| matches!(e, ClusterEvent::CertKey(c)
                if c.secret_present && c.owner_token_id.as_deref() == Some("8l5wp2"))),
            "{text}"
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, ClusterEvent::LeaseUpsert(l)
                if l.name == "kube-scheduler")),
            "{text}"
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, ClusterEvent::ControlPlaneEndpoint(Some(_)))),
            "{text}"
        );
        // The fixture's token secrets (base64 in the file) never reach the model.
        assert!(!text.contains("kx7f2m9p0d3s8v1b") && !text.contains("token-secret"));

        // The next list without the nodes and kubeadm-certs: both reported gone.
        let events = listed
            .relist(&list(&["leases.json", "configmaps.json"]))
            .unwrap();
        assert!(
            events
                .iter()
                .any(|e| matches!(e, ClusterEvent::NodeRemoved(n) if n == "cp-1")),
            "{events:?}"
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, ClusterEvent::CertKey(c) if !c.secret_present)),
            "{events:?}"
        );
        assert!(listed.relist(b"Error from server").is_err());
    }
}
