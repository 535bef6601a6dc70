//! The bare lab as a client sees it: what exists so far, and honest words for what does
//! not exist yet (no API before init, no etcd member, no lease holder).

use crate::model::{
    ApiServerHealth, CertKey, ClusterEvent, EndpointHealth, EtcdMember, EtcdStatus, FeedKind,
    FeedStatus, Lease, Node, PodHealth, Readiness, StaticPods, Token,
    tokens::CERT_KEY_OWNER_DESCRIPTION,
};

use super::super::views::{ETCD_VERSION, KUBELET_VERSION, at};
use super::{BareLab, LEASE_NAMES};

const NO_API: &str = "no API yet: kubeadm init has not run";
const NO_ETCD: &str = "no etcd yet: kubeadm init makes the first member";
const CONTROL_PLANE_TAINT: &str = "node-role.kubernetes.io/control-plane:NoSchedule";
const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready:NoSchedule";

impl BareLab {
    /// Everything, as events: a consumer starting from nothing gets the whole picture.
    /// The leases come before the clock (they were renewed all along: a model moving its
    /// clock first would see them expire), the rest after it, so that what changed is
    /// dated now.
    pub fn events(&mut self) -> Vec<ClusterEvent> {
        let now = self.now();
        let mut events: Vec<ClusterEvent> = self
            .leases()
            .into_iter()
            .map(ClusterEvent::LeaseUpsert)
            .collect();
        events.push(ClusterEvent::Clock(now));
        events.push(ClusterEvent::Endpoint(self.endpoint()));
        let masters = 0..self.config().control_planes;
        let running = masters.filter(|&i| self.apiserver_running(i));
        let apiservers: Vec<_> = running.map(|i| self.apiserver(i)).collect();
        events.extend(apiservers.into_iter().map(ClusterEvent::ApiServer));
        let nodes: Vec<Node> = (0..self.nodes.len()).filter_map(|i| self.node(i)).collect();
        let pods: Vec<StaticPods> = nodes.iter().filter_map(|n| self.static_pods(n)).collect();
        let beats = nodes.iter().map(|n| (n.name.clone(), now)).collect();
        events.extend(nodes.into_iter().map(ClusterEvent::NodeUpsert));
        events.push(ClusterEvent::NodeLeases(beats));
        events.extend(pods.into_iter().map(ClusterEvent::StaticPods));
        events.push(ClusterEvent::Etcd(self.etcd_status()));
        let tokens = self.tokens_shown();
        let ids: Vec<String> = tokens.iter().map(|t| t.id.clone()).collect();
        let gone = self.shown_tokens.iter().filter(|id| !ids.contains(id));
        events.extend(gone.cloned().map(ClusterEvent::TokenRemoved));
        self.shown_tokens = ids;
        events.extend(tokens.into_iter().map(ClusterEvent::TokenUpsert));
        if self.api_up() {
            events.push(ClusterEvent::CertKey(CertKey {
                secret_present: self.cert_key.is_some(),
                owner_token_id: self.cert_key.as_ref().map(|k| k.owner.clone()),
            }));
        }
        if let Some(ep) = self.control_plane_endpoint().filter(|_| self.api_up()) {
            events.push(ClusterEvent::ControlPlaneEndpoint(ep));
        }
        events.extend(self.feeds());
        events
    }

    fn feeds(&self) -> Vec<ClusterEvent> {
        let now = self.now();
        let status = |error: Option<&str>| FeedStatus {
            last_ok: error.is_none().then_some(now),
            error: error.map(str::to_string),
            every: None,
        };
        let api = (!self.api_up()).then_some(NO_API);
        let etcd = self.members.is_empty().then_some(NO_ETCD);
        let mut feeds: Vec<_> = [FeedKind::Nodes, FeedKind::Pods, FeedKind::Leases]
            .into_iter()
            .chain([FeedKind::Tokens, FeedKind::Config])
            .map(|k| ClusterEvent::Feed(k, status(api)))
            .collect();
        feeds.push(ClusterEvent::Feed(FeedKind::Etcd, status(etcd)));
        feeds
    }

    pub fn endpoint(&self) -> EndpointHealth {
        let mut e = EndpointHealth::unknown(self.config().endpoint.clone());
        e.balancer = Some(self.config().lb.describe().to_string());
        if self.endpoint_up() {
            e.ready = Some(true);
            e.detail = Some("ok".into());
        } else if self.api_up() {
            e.ready = Some(false);
            e.detail = Some(format!(
                "the load balancer has no targets: nothing answers on {} although an apiserver runs",
                self.config().endpoint
            ));
        } else {
            e.ready = Some(false);
            e.detail = Some(format!(
                "{NO_API}: no master listens on :6443 behind the load balancer"
            ));
        }
        e
    }

    fn apiserver(&self, i: usize) -> ApiServerHealth {
        ApiServerHealth {
            node: self.host_name(i),
            address: format!("{}:6443", self.config().ip(i)),
            ready: true,
            detail: None,
            latency_ms: Some(3.0),
            etcd_ok: Some(true),
        }
    }

    /// A registered master's control-plane pods: kubeadm started all four together, and
    /// nothing in the bare lab stops them.
    fn static_pods(&self, node: &Node) -> Option<StaticPods> {
        let i = self.host(&node.name)?;
        (self.is_master(i) && self.apiserver_running(i)).then(|| StaticPods {
            node: node.name.clone(),
            apiserver: PodHealth::RUNNING,
            etcd: PodHealth::RUNNING,
            scheduler: PodHealth::RUNNING,
            controller_manager: PodHealth::RUNNING,
        })
    }

    pub fn node(&self, i: usize) -> Option<Node> {
        let rec = self.nodes.get(i)?.as_ref()?;
        let ready = self.node_ready(i);
        let master = self.is_master(i);
        let mut taints = Vec::new();
        if master {
            taints.push(CONTROL_PLANE_TAINT.to_string());
        }
        if !ready {
            taints.push(NOT_READY_TAINT.to_string());
        }
        let since = if ready { rec.ready_since } else { None };
        Some(Node {
            name: self.host_name(i),
            roles: if master {
                vec!["control-plane".into()]
            } else {
                vec![]
            },
            ready: if ready {
                Readiness::Ready
            } else {
                Readiness::NotReady
            },
            ready_since: Some(at(self.config(), since.unwrap_or(rec.registered))),
            kubelet_version: KUBELET_VERSION.into(),
            internal_ip: Some(self.config().ip(i)),
            hostname: None,
            taints,
            last_heartbeat: None,
        })
    }

    pub fn etcd_status(&self) -> EtcdStatus {
        let leader = self.members.first().map(|m| m.id);
        let members = self.members.iter().map(|m| {
            let ip = self.config().ip(m.host);
            EtcdMember {
                id: m.id,
                // A learner announced but not started has no name yet (etcd's rule).
                name: if m.started {
                    self.host_name(m.host)
                } else {
                    String::new()
                },
                client_urls: vec![format!("https://{ip}:2379")],
                peer_urls: vec![format!("https://{ip}:2380")],
                is_learner: m.learner,
                reachable: m.started,
                error: (!m.started)
                    .then(|| format!("dial tcp {ip}:2379: connect: connection refused")),
                is_leader: Some(m.id) == leader,
                raft_term: 2,
                raft_index: 1000,
                db_size_bytes: 4 * 1024 * 1024,
                version: ETCD_VERSION.into(),
                applied_index: 1000,
                db_size_in_use_bytes: 3 * 1024 * 1024,
                endpoint: Some(format!("https://{ip}:2379")),
                ..EtcdMember::default()
            }
        });
        EtcdStatus {
            members: members.collect(),
            leader,
            ..EtcdStatus::default()
        }
    }

    /// The leader-election Leases once init's control plane has created them.
    pub fn leases(&self) -> Vec<Lease> {
        let now = self.now_ms();
        let cfg = self.config();
        let held = self.leases.iter().zip(LEASE_NAMES);
        held.filter_map(|(rec, name)| {
            let rec = rec.as_ref().filter(|r| r.acquired <= now)?;
            Some(Lease {
                name: name.into(),
                namespace: "kube-system".into(),
                holder_identity: Some(rec.identity.clone()),
                acquire_time: Some(at(cfg, rec.acquired)),
                renew_time: Some(at(cfg, now - (now - rec.acquired) % 2_000)),
                duration_s: 15,
                transitions: 0,
            })
        })
        .collect()
    }

    /// The holder of lease `name`, once it is held.
    pub fn lease_holder(&self, name: &str) -> Option<String> {
        let lease = self.leases().into_iter().find(|l| l.name == name)?;
        lease.holder_node().map(str::to_string)
    }

    fn tokens_shown(&self) -> Vec<Token> {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        let tokens = self.tokens.iter().map(|t| Token {
            id: t.id.clone(),
            expiration: Some(at(self.config(), t.expires)),
            bad_expiration: None,
            usages: if t.cert_owner {
                vec![]
            } else {
                strings(&["signing", "authentication"])
            },
            description: if t.cert_owner {
                CERT_KEY_OWNER_DESCRIPTION.into()
            } else {
                String::new()
            },
            groups: if t.cert_owner {
                vec![]
            } else {
                strings(&["system:bootstrappers:kubeadm:default-node-token"])
            },
        });
        tokens.collect()
    }
}
